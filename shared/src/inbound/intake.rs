//! The intake pipeline, one code path for the intake Lambda and `serve`: find the integration
//! (cached) → verify the raw request with its provider's verifier → answer a handshake if the
//! provider wants one → dedupe and store the event `received` (one transaction) → queue its
//! processing job → accepted. Nothing is acknowledged before it is durable and queued: a job
//! that cannot be queued withdraws the event, and the sender is told to retry.

use super::Inbound;
use super::events::{self, Received, Stored};
use crate::error::DomainError;
use crate::jobs::{InboundJob, Job};
use crate::model::integration::is_sensitive_header;
use crate::model::{InboundEventId, IntegrationId};
use crate::signing::inbound::{ImmediateReply, Request};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

/// The most headers kept with an event.
pub const MAX_KEPT_HEADERS: usize = 64;
/// The longest header name and value kept with an event; longer ones are dropped.
pub const MAX_KEPT_HEADER_NAME: usize = 128;
pub const MAX_KEPT_HEADER_VALUE: usize = 2048;

/// The request as the provider sent it.
#[derive(Debug, Clone, Copy)]
pub struct IntakeRequest<'a> {
    pub method: &'a http::Method,
    /// The query string the provider called with (Twilio's JSON variant signs `bodySHA256`).
    pub query: Option<&'a str>,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// What the sender is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeAnswer {
    /// Stored and queued (202).
    Accepted(InboundEventId),
    /// This delivery was stored before, as this event (200, nothing processed twice).
    Duplicate(InboundEventId),
    /// The provider's handshake (Slack `url_verification`, Discord PING), answered 200.
    Reply(ImmediateReply),
}

/// Why the sender is refused. Which check failed is logged and counted, never answered.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No such integration, or an inactive one (404).
    #[error("integration not found")]
    NotFound,
    /// The request did not verify (401).
    #[error("signature verification failed")]
    Unauthorized,
    /// The store, the queue or the key provider is down (503): the sender retries.
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<DomainError> for IntakeError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(_) => Self::NotFound,
            DomainError::Unavailable(m) => Self::Unavailable(m),
            // A concurrent write to the same new keys: the sender's retry settles it.
            DomainError::Conflict(m) => Self::Unavailable(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Runs one webhook through the pipeline.
pub async fn receive(
    inb: &Inbound,
    id: IntegrationId,
    request: IntakeRequest<'_>,
) -> Result<IntakeAnswer, IntakeError> {
    let integration = inb
        .integration(id)
        .await?
        .filter(|i| i.active)
        .ok_or(IntakeError::NotFound)?;
    let verifier = inb.verifier(&integration).await?;
    let url = verification_url(inb, &integration, request.query);
    let view = Request {
        method: request.method,
        url: &url,
        headers: request.headers,
        body: request.body,
        now: chrono::Utc::now().timestamp(),
    };
    let verified = match verifier.verify(&view, integration.tolerance_seconds) {
        Ok(v) => v,
        Err(rejection) => {
            tracing::info!(tenant_id = %integration.tenant_id, integration_id = %id,
                provider = %integration.provider, reason = %rejection, "webhook refused");
            inb.rejections.record(id);
            inb.outbound()
                .usage()
                .inbound_rejected(integration.tenant_id);
            return Err(IntakeError::Unauthorized);
        }
    };
    if let Some(reply) = verified.immediate_reply {
        return Ok(IntakeAnswer::Reply(reply));
    }
    let dedupe = verified
        .dedupe_key
        .map(|k| format!("id:{k}"))
        .unwrap_or_else(|| fallback_key(request.headers, request.body));
    let stored = events::store_received(
        inb.store(),
        Received {
            id: InboundEventId::generate(),
            tenant: integration.tenant_id,
            integration: id,
            headers: kept_headers(request.headers),
            body: request.body,
            dedupe: dedupe.clone(),
            ttl: inb.expiry(),
        },
    )
    .await?;
    let event = match stored {
        Stored::Duplicate(first) => return Ok(IntakeAnswer::Duplicate(first)),
        Stored::New(event) => event,
    };
    let job = Job::Inbound(InboundJob {
        tenant: integration.tenant_id,
        integration: id,
        event: event.id,
        run: event.run,
    })
    .outgoing(Duration::ZERO)?;
    if let Err(e) = inb.queue().send(job).await {
        if let Err(undo) = events::withdraw(inb.store(), &event, &dedupe).await {
            tracing::error!(event_id = %event.id, error = %undo, "could not withdraw an unqueued webhook");
        }
        return Err(IntakeError::Unavailable(e.to_string()));
    }
    inb.outbound()
        .usage()
        .inbound_received(integration.tenant_id);
    Ok(IntakeAnswer::Accepted(event.id))
}

/// The URL the provider signed (Twilio, Square): the integration's `public_url`, else the
/// default hook URL, with the query the request carried.
fn verification_url(
    inb: &Inbound,
    integration: &crate::model::integration::Integration,
    query: Option<&str>,
) -> String {
    let base = integration
        .public_url
        .clone()
        .unwrap_or_else(|| inb.hook_url(integration.id));
    let base = base.split('?').next().unwrap_or(&base).to_owned();
    match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

/// The dedupe key of a provider that sends no delivery id: a hash of the signature and
/// timestamp headers (the ones never stored) and of the body, so a retry of one delivery
/// (same signature, same body) is a duplicate and two deliveries are not.
pub fn fallback_key(headers: &http::HeaderMap, body: &[u8]) -> String {
    let mut signed: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(name, _)| {
            is_sensitive_header(name.as_str()) || name.as_str().contains("timestamp")
        })
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    signed.sort();
    let mut hash = Sha256::new();
    for (name, value) in signed {
        hash.update(name.as_bytes());
        hash.update(b"\n");
        hash.update(value);
        hash.update(b"\n");
    }
    hash.update(Sha256::digest(body));
    format!("hash:{}", hex::encode(hash.finalize()))
}

/// The headers kept with an event, for mappings and routes: lower-case names, repeated headers
/// joined with `, `, never a header carrying credentials or signatures, at most
/// [`MAX_KEPT_HEADERS`] of bounded size (values that are not text are dropped).
pub fn kept_headers(headers: &http::HeaderMap) -> BTreeMap<String, String> {
    let mut kept: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        if is_sensitive_header(name) || name.len() > MAX_KEPT_HEADER_NAME {
            continue;
        }
        let Ok(text) = value.to_str() else {
            continue;
        };
        if !kept.contains_key(name) && kept.len() >= MAX_KEPT_HEADERS {
            continue;
        }
        let entry = kept.entry(name.to_owned()).or_default();
        if entry.len() + text.len() + 2 > MAX_KEPT_HEADER_VALUE {
            continue;
        }
        if !entry.is_empty() {
            entry.push_str(", ");
        }
        entry.push_str(text);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_kept() {
        let mut h = http::HeaderMap::new();
        h.insert("x-hub-signature-256", "sha256=00".parse().unwrap());
        h.insert("authorization", "Basic eA==".parse().unwrap());
        h.insert("x-github-event", "push".parse().unwrap());
        h.append("x-multi", "a".parse().unwrap());
        h.append("x-multi", "b".parse().unwrap());
        let kept = kept_headers(&h);
        assert_eq!(
            kept.into_iter().collect::<Vec<_>>(),
            [
                ("x-github-event".to_owned(), "push".to_owned()),
                ("x-multi".to_owned(), "a, b".to_owned())
            ]
        );
    }

    #[test]
    fn fallback_keys_follow_signature_and_body() {
        let mut h = http::HeaderMap::new();
        h.insert("x-signature", "abc".parse().unwrap());
        h.insert("user-agent", "x".parse().unwrap());
        let a = fallback_key(&h, b"{}");
        let mut other_agent = h.clone();
        other_agent.insert("user-agent", "y".parse().unwrap());
        assert_eq!(a, fallback_key(&other_agent, b"{}"));
        assert_ne!(a, fallback_key(&h, b"{ }"));
        h.insert("x-signature", "abd".parse().unwrap());
        assert_ne!(a, fallback_key(&h, b"{}"));
    }
}

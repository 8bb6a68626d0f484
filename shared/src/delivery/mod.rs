//! The delivery engine: one attempt of one message to one endpoint, with everything around it:
//! signing, the SSRF-guarded client, the attempt log, retries on the schedule, rate limits, and
//! the endpoint's health (410 and long failure disable it).
//!
//! Per delivery the hot path touches the store a small, fixed number of times: one read of the
//! delivery state, one transaction recording the attempt and the new state (plus one counter
//! update when the endpoint is rate limited). Endpoints, just-published messages and decrypted
//! signing secrets come from memory (see [`crate::outbound`]): no KMS call per delivery.

pub mod client;
pub mod schedule;

use crate::app::App;
use crate::error::DomainError;
use crate::jobs::{DeliverJob, Job, RecoverJob};
use crate::model::endpoint::Endpoint;
use crate::model::message::{Attempt, AttemptStatus, Delivery, DeliveryStatus, Message};
use crate::model::{AttemptId, EndpointId, MessageId, TenantId};
use crate::outbound::{endpoints, messages, publish};
use crate::queue::{Outcome, OutgoingJob};
use crate::signing::standard::signature_header;
use crate::store::{ItemKey, Update};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use client::SendResult;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;
use std::time::Duration;

/// How long a job waits before coming back when recording its outcome failed.
const STORE_DOWN_BACKOFF: Duration = Duration::from_secs(5);
/// The most failed deliveries one recovery re-sends.
pub const RECOVER_LIMIT: usize = 10_000;

fn retry_later(e: DomainError) -> Outcome {
    tracing::warn!(error = %e, "delivery could not complete; the job will come back");
    Outcome::RetryAfter(STORE_DOWN_BACKOFF)
}

fn ttl(app: &App) -> i64 {
    Utc::now().timestamp() + app.outbound.settings.retention.as_secs() as i64
}

/// Runs one delivery job.
pub async fn deliver(app: &App, job: &DeliverJob) -> Outcome {
    match try_deliver(app, job).await {
        Ok(outcome) => outcome,
        Err(e) => retry_later(e),
    }
}

async fn try_deliver(app: &App, job: &DeliverJob) -> Result<Outcome, DomainError> {
    let store = app.store.as_ref();
    let DeliverJob {
        tenant,
        message: message_id,
        endpoint: endpoint_id,
    } = *job;
    let Some(endpoint) = app.outbound.endpoint(store, tenant, endpoint_id).await? else {
        skip(app, tenant, message_id, endpoint_id, "endpoint deleted").await?;
        return Ok(Outcome::Done);
    };
    if !endpoint.enabled {
        skip(app, tenant, message_id, endpoint_id, "endpoint disabled").await?;
        return Ok(Outcome::Done);
    }
    let Some(message) = app.outbound.message(store, tenant, message_id).await? else {
        return Ok(Outcome::Dead(
            "the event expired before it could be delivered".into(),
        ));
    };
    let previous = messages::get_delivery(store, tenant, message_id, endpoint_id).await?;
    if previous
        .as_ref()
        .is_some_and(|d| d.status == DeliveryStatus::Succeeded)
    {
        return Ok(Outcome::Done); // a redelivered job whose attempt already succeeded
    }
    if let Some(wait) = rate_limited(app, &endpoint).await? {
        // A fresh job, so waiting does not use up the queue's receive count.
        let body = serde_json::to_string(&Job::Deliver(*job))
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        app.queue.send(OutgoingJob { body, delay: wait }).await?;
        return Ok(Outcome::Done);
    }
    let attempt_no = previous.map_or(0, |d| d.attempts) + 1;
    let result = send(app, &endpoint, &message).await?;
    let now = Utc::now();
    let gone = result.status == Some(410);
    let (status, outcome, next_at) = if result.succeeded() {
        (DeliveryStatus::Succeeded, Outcome::Done, None)
    } else if gone {
        (DeliveryStatus::Failed, Outcome::Done, None)
    } else if attempt_no >= endpoint.max_attempts {
        (
            DeliveryStatus::Failed,
            Outcome::Dead(format!("gave up after {attempt_no} attempts")),
            None,
        )
    } else {
        let wait = app.outbound.settings.schedule.delay(
            attempt_no + 1,
            result
                .retry_after
                .filter(|_| matches!(result.status, Some(429 | 503))),
        );
        (
            DeliveryStatus::Retrying,
            Outcome::RetryAfter(wait),
            Some(now + chrono::Duration::from_std(wait).unwrap_or_default()),
        )
    };
    let attempt = attempt_record(&message, &endpoint, attempt_no, &result, next_at, now);
    let delivery = Delivery {
        endpoint_id,
        status,
        attempts: attempt_no,
        last_status_code: result.status,
        last_error: result.error.as_ref().map(|(_, m)| m.clone()),
        next_attempt_at: next_at,
        updated_at: now,
    };
    messages::record_attempt(store, tenant, &attempt, &delivery, ttl(app)).await?;
    tracing::info!(%tenant, message_id = %message_id, endpoint_id = %endpoint_id, attempt = attempt_no,
        status = ?result.status, error = ?result.error.as_ref().map(|(c, _)| c), "delivery attempt");
    if gone {
        disable(app, &endpoint, "the endpoint answered 410 Gone").await?;
    } else if result.succeeded() {
        note_success(app, &endpoint).await?;
    } else {
        note_failure(app, &endpoint, now).await?;
    }
    Ok(outcome)
}

fn attempt_record(
    message: &Message,
    endpoint: &Endpoint,
    attempt_no: u32,
    result: &SendResult,
    next_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Attempt {
    Attempt {
        id: AttemptId::generate(),
        message_id: message.id,
        endpoint_id: endpoint.id,
        event_type: message.event_type.clone(),
        attempt: attempt_no,
        status: if result.succeeded() {
            AttemptStatus::Succeeded
        } else {
            AttemptStatus::Failed
        },
        status_code: result.status,
        duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        response_body: result.body.clone(),
        error_code: result.error.as_ref().map(|(c, _)| *c),
        error: result.error.as_ref().map(|(_, m)| m.clone()),
        next_attempt_at: next_at,
        created_at: now,
    }
}

/// Signs and POSTs a message to an endpoint.
async fn send(
    app: &App,
    endpoint: &Endpoint,
    message: &Message,
) -> Result<SendResult, DomainError> {
    let keys = app
        .outbound
        .signing_keys(app.keys.as_ref(), endpoint)
        .await?;
    let timestamp = Utc::now().timestamp();
    let id = message.id.to_string();
    let signature = signature_header(&keys, &id, timestamp, message.body.as_bytes());
    let mut headers = HeaderMap::with_capacity(4 + endpoint.headers.len());
    for (name, value) in &endpoint.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(n, v);
        }
    }
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let header =
        |v: &str| HeaderValue::from_str(v).map_err(|e| DomainError::Internal(e.to_string()));
    headers.insert("webhook-id", header(&id)?);
    headers.insert("webhook-timestamp", HeaderValue::from(timestamp));
    headers.insert("webhook-signature", header(&signature)?);
    Ok(app
        .outbound
        .client
        .post(
            &endpoint.url,
            headers,
            Bytes::from(message.body.clone()),
            Duration::from_millis(u64::from(endpoint.timeout_ms)),
        )
        .await)
}

/// `Some(wait)` when the endpoint has used up this second's deliveries. The window counter lives
/// in the store, so the limit holds across every worker and Lambda instance.
async fn rate_limited(app: &App, endpoint: &Endpoint) -> Result<Option<Duration>, DomainError> {
    let Some(limit) = endpoint.rate_limit_per_s else {
        return Ok(None);
    };
    let now_ms = Utc::now().timestamp_millis();
    let second = now_ms.div_euclid(1000);
    let window = app
        .store
        .update(
            &ItemKey::new(format!("RL#{}", endpoint.id), second.to_string()),
            &Update {
                add: vec![("n".into(), 1)],
                set: vec![("ttl".into(), json!(second + 120))],
            },
            None,
        )
        .await?;
    let used = window
        .get("n")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(0);
    if used <= i64::from(limit) {
        return Ok(None);
    }
    // Spread the overflow over the coming windows so they do not all return at once.
    let windows_ahead = (used - 1) / i64::from(limit);
    let until_next = 1000 - now_ms.rem_euclid(1000);
    let [r] = crate::crypto::random::bytes::<1>();
    let wait_ms = until_next + (windows_ahead - 1).max(0) * 1000 + i64::from(r) * 4;
    Ok(Some(Duration::from_millis(wait_ms.max(1) as u64)))
}

async fn skip(
    app: &App,
    tenant: TenantId,
    message: MessageId,
    endpoint: EndpointId,
    why: &str,
) -> Result<(), DomainError> {
    let delivery = Delivery {
        endpoint_id: endpoint,
        status: DeliveryStatus::Skipped,
        attempts: 0,
        last_status_code: None,
        last_error: Some(why.to_owned()),
        next_attempt_at: None,
        updated_at: Utc::now(),
    };
    messages::put_delivery(app.store.as_ref(), tenant, message, &delivery, ttl(app)).await
}

async fn note_success(app: &App, endpoint: &Endpoint) -> Result<(), DomainError> {
    if endpoint.failing_since.is_some() {
        endpoints::modify(app, endpoint.tenant_id, endpoint.id, |e| {
            e.failing_since = None;
            Ok(())
        })
        .await?;
    }
    Ok(())
}

async fn note_failure(
    app: &App,
    endpoint: &Endpoint,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    match endpoint.failing_since {
        None => {
            endpoints::modify(app, endpoint.tenant_id, endpoint.id, |e| {
                e.failing_since.get_or_insert(now);
                Ok(())
            })
            .await?;
        }
        Some(since)
            if (now - since).to_std().unwrap_or_default()
                >= app.outbound.settings.disable_after =>
        {
            disable(
                app,
                endpoint,
                &format!("no successful delivery since {}", since.to_rfc3339()),
            )
            .await?;
        }
        Some(_) => {}
    }
    Ok(())
}

/// Disables an endpoint and tells the tenant with a `webhook.disabled` event.
async fn disable(app: &App, endpoint: &Endpoint, reason: &str) -> Result<(), DomainError> {
    let disabled = endpoints::modify(app, endpoint.tenant_id, endpoint.id, |e| {
        e.enabled = false;
        e.disabled_reason = Some(reason.to_owned());
        Ok(())
    })
    .await?;
    tracing::warn!(tenant = %endpoint.tenant_id, endpoint_id = %endpoint.id, reason, "endpoint disabled");
    publish::publish_internal(
        app,
        endpoint.tenant_id,
        "webhook.disabled",
        json!({"endpoint_id": disabled.id, "url": disabled.url, "reason": reason}),
    )
    .await?;
    Ok(())
}

/// Puts the given destinations of a message back to `pending` before it is queued again.
pub async fn reset_deliveries(
    app: &App,
    tenant: TenantId,
    message: &Message,
    targets: &[EndpointId],
) -> Result<(), DomainError> {
    for &endpoint in targets {
        let delivery = Delivery {
            endpoint_id: endpoint,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: None,
            updated_at: Utc::now(),
        };
        messages::put_delivery(app.store.as_ref(), tenant, message.id, &delivery, ttl(app)).await?;
    }
    Ok(())
}

/// Sends a `webhook.test` event to one endpoint now (one attempt, no retries) and returns it.
pub async fn send_test(
    app: &App,
    tenant: TenantId,
    endpoint_id: EndpointId,
) -> Result<Attempt, DomainError> {
    let endpoint = endpoints::get(app.store.as_ref(), tenant, endpoint_id).await?;
    let now = Utc::now();
    let id = MessageId::generate();
    let message = Message {
        id,
        tenant_id: tenant,
        event_type: "webhook.test".into(),
        body: json!({"type": "webhook.test", "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                     "data": {"endpoint_id": endpoint_id}}).to_string(),
        created_at: now,
        destinations: vec![endpoint_id],
        ttl: ttl(app),
    };
    app.store
        .put(
            crate::store::to_item(&messages::message_key(tenant, id), &message)?,
            None,
        )
        .await?;
    let result = send(app, &endpoint, &message).await?;
    let attempt = attempt_record(&message, &endpoint, 1, &result, None, Utc::now());
    let delivery = Delivery {
        endpoint_id,
        status: if result.succeeded() {
            DeliveryStatus::Succeeded
        } else {
            DeliveryStatus::Failed
        },
        attempts: 1,
        last_status_code: result.status,
        last_error: result.error.as_ref().map(|(_, m)| m.clone()),
        next_attempt_at: None,
        updated_at: Utc::now(),
    };
    messages::record_attempt(app.store.as_ref(), tenant, &attempt, &delivery, ttl(app)).await?;
    Ok(attempt)
}

/// Re-sends every delivery to an endpoint that ended failed since `since` (bounded).
pub async fn recover(app: &App, job: &RecoverJob) -> Outcome {
    match try_recover(app, job).await {
        Ok(n) => {
            tracing::info!(tenant = %job.tenant, endpoint_id = %job.endpoint, requeued = n, "recovery done");
            Outcome::Done
        }
        Err(e) => retry_later(e),
    }
}

async fn try_recover(app: &App, job: &RecoverJob) -> Result<usize, DomainError> {
    let store = app.store.as_ref();
    let mut seen = std::collections::HashSet::new();
    let mut requeued = 0;
    let mut after = None;
    'pages: loop {
        let (page, last) =
            messages::attempts(store, job.tenant, job.endpoint, 250, after, None).await?;
        for attempt in page {
            if attempt.created_at < job.since {
                break 'pages;
            }
            if attempt.status != AttemptStatus::Failed || !seen.insert(attempt.message_id) {
                continue;
            }
            let state =
                messages::get_delivery(store, job.tenant, attempt.message_id, job.endpoint).await?;
            if state.is_some_and(|d| d.status == DeliveryStatus::Failed)
                && let Some(message) =
                    messages::get_message(store, job.tenant, attempt.message_id).await?
            {
                reset_deliveries(app, job.tenant, &message, &[job.endpoint]).await?;
                publish::enqueue(app, job.tenant, message.id, &[job.endpoint]).await?;
                requeued += 1;
                if requeued >= RECOVER_LIMIT {
                    break 'pages;
                }
            }
        }
        match last {
            Some(sk) => after = Some(sk),
            None => break,
        }
    }
    Ok(requeued)
}

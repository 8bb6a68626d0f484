//! Published events (messages), their per-destination delivery state, and delivery attempts.

use super::endpoint::validate_event_type;
use super::event_data;
use super::{AttemptId, Destination, MessageId, TenantId};
use crate::error::{DomainError, Errors, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The largest `data` a published event may carry.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
/// The longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// An event as stored: the exact body every destination receives, and who it fans out to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub tenant_id: TenantId,
    pub event_type: String,
    /// The JSON body POSTed to endpoints: `{"type", "timestamp", "data"}`. Signed as is.
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// Webhook endpoints and actions, each one delivery (stored as their ids).
    pub destinations: Vec<Destination>,
    pub ttl: i64,
}

impl Message {
    /// The event's `data` exactly as stored, signed and delivered. It is handed out raw, not
    /// re-parsed: data published before publish checked it (deeply nested, `1e999999`, lone
    /// surrogates) is still shown as it was sent, never as `null` and never as an error. A body
    /// with no `data` at all is corrupt: an error.
    pub fn data(&self) -> Result<Box<RawValue>, DomainError> {
        #[derive(Deserialize)]
        struct Body<'a> {
            #[serde(borrow)]
            data: &'a RawValue,
        }
        serde_json::from_str::<Body>(&self.body)
            .map(|b| b.data.to_owned())
            .map_err(|e| DomainError::Internal(format!("stored body of {}: {e}", self.id)))
    }
}

/// A validated publish: an event type, its data, and an optional idempotency key.
#[derive(Debug)]
pub struct NewEvent {
    pub event_type: String,
    pub data: Box<RawValue>,
    pub idempotency_key: Option<String>,
}

impl NewEvent {
    /// Checks the type's shape (and that it is not one of Switchboard's own), that `data` is
    /// JSON every reader accepts ([`event_data::check`]), and the key's length. `data` is at
    /// most 256 KiB: the API answers a larger one 413 before it gets here.
    pub fn parse(
        event_type: String,
        data: Box<RawValue>,
        idempotency_key: Option<String>,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        if errors
            .take(validate_event_type("type", &event_type))
            .is_some()
            && is_reserved(&event_type)
        {
            errors.push(FieldError::new(
                "type",
                "the namespaces `webhook.`, `integration.`, `api_key.` and `switchboard.` are \
                 reserved for Switchboard's own events",
            ));
        }
        if let Err(e) = event_data::check(data.get()) {
            errors.push(FieldError::new("data", e.to_string()));
        }
        if let Some(key) = &idempotency_key
            && (key.is_empty()
                || key.len() > MAX_IDEMPOTENCY_KEY
                || key.chars().any(char::is_control))
        {
            errors.push(FieldError::new(
                "idempotency_key",
                "must be 1–255 characters without control characters",
            ));
        }
        errors.finish()?;
        Ok(Self {
            event_type,
            data,
            idempotency_key,
        })
    }
}

/// The first segments of the event types Switchboard publishes itself (`webhook.disabled`,
/// `integration.event_failed`, `api_key.expiring`, …). A tenant may subscribe to them but not
/// publish into them, or a receiver could not tell a forged `webhook.disabled` from a real one.
pub const RESERVED_NAMESPACES: [&str; 4] = ["webhook", "integration", "api_key", "switchboard"];

/// Whether `event_type` lies in a reserved namespace. Compared without regard to ASCII case,
/// since receivers may compare types that way.
pub fn is_reserved(event_type: &str) -> bool {
    let first = event_type.split('.').next().unwrap_or(event_type);
    RESERVED_NAMESPACES
        .iter()
        .any(|ns| first.eq_ignore_ascii_case(ns))
}

/// The outcome of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub id: MessageId,
    /// How many destinations the event fans out to (0 is not an error).
    pub matched: usize,
    /// Whether this answers a repeat of an earlier publish with the same idempotency key.
    pub replayed: bool,
}

/// Where one message stands with one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// Failed at least once; another attempt is scheduled.
    Retrying,
    Succeeded,
    /// Every attempt failed (or the endpoint answered 410): dead.
    Failed,
    /// Not sent: the endpoint was deleted or disabled.
    Skipped,
}

impl DeliveryStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Retrying,
        Self::Succeeded,
        Self::Failed,
        Self::Skipped,
    ];
}

/// The delivery state of one message to one destination, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The endpoint or action (named `endpoint_id` in the store since before actions).
    #[serde(rename = "endpoint_id")]
    pub destination: Destination,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Delivery {
    /// A delivery in `status` with no attempt behind it (pending, reset, skipped).
    pub fn unattempted(
        destination: Destination,
        status: DeliveryStatus,
        why: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            destination,
            status,
            attempts: 0,
            last_status_code: None,
            last_error: why,
            next_attempt_at: None,
            updated_at: at,
        }
    }
}

/// Whether one attempt succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Succeeded,
    Failed,
}

impl AttemptStatus {
    pub const ALL: [Self; 2] = [Self::Succeeded, Self::Failed];
}

/// Why an attempt failed before or instead of getting a 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// No answer within the endpoint's timeout.
    Timeout,
    /// The connection could not be made or broke.
    Connection,
    /// The host has no address a delivery may reach: its name did not resolve, or resolved
    /// only to addresses the SSRF guard refuses, or the URL names such an address. One code
    /// (and one message) for all of these, so that a tenant cannot use the attempt log to learn
    /// which internal host names exist; the log records which it was. Attempts stored with the
    /// former `dns` code read as this one.
    #[serde(alias = "dns")]
    BlockedAddress,
    /// The receiver answered with a non-2xx status.
    HttpStatus,
    /// An action's connection was revoked: nothing to send with; not retried.
    ConnectionRevoked,
    /// An action's template could not be rendered for the event (an undefined variable):
    /// nothing was sent; not retried.
    Template,
    /// The provider refused the request for good (Slack `invalid_payload`, `invalid_token`…);
    /// not retried.
    Rejected,
}

impl ErrorCode {
    pub const ALL: [Self; 7] = [
        Self::Timeout,
        Self::Connection,
        Self::BlockedAddress,
        Self::HttpStatus,
        Self::ConnectionRevoked,
        Self::Template,
        Self::Rejected,
    ];
}

/// One delivery attempt, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: AttemptId,
    pub message_id: MessageId,
    /// The endpoint or action (named `endpoint_id` in the store since before actions).
    #[serde(rename = "endpoint_id")]
    pub destination: Destination,
    pub event_type: String,
    /// 1 for the first attempt of this message to this endpoint.
    pub attempt: u32,
    pub status: AttemptStatus,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    /// The first 4 KiB of the receiver's answer.
    pub response_body: Option<String>,
    pub error_code: Option<ErrorCode>,
    pub error: Option<String>,
    /// When the next attempt is due, if one is scheduled.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).expect("raw")
    }

    fn fields(result: Result<NewEvent, DomainError>) -> Vec<String> {
        match result {
            Err(DomainError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn reserved_namespaces_are_refused_to_tenants() {
        for t in [
            "webhook.disabled",
            "webhook.test",
            "Webhook.Disabled",
            "integration.event_failed",
            "api_key.expiring",
            "switchboard.anything.at.all",
            "webhook",
        ] {
            assert_eq!(
                fields(NewEvent::parse(t.into(), raw("{}"), None)),
                ["type"],
                "{t}"
            );
        }
        for t in [
            "webhooks.created",
            "ticket.webhook.disabled",
            "api-key.x",
            "integrations",
        ] {
            assert!(NewEvent::parse(t.into(), raw("{}"), None).is_ok(), "{t}");
        }
    }

    #[test]
    fn stored_data_is_returned_as_sent() {
        let message = Message {
            id: MessageId::generate(),
            tenant_id: TenantId::generate(),
            event_type: "x.y".into(),
            body: r#"{"type":"x.y","timestamp":"t","data":[1e999999,"\ud800"]}"#.into(),
            created_at: Utc::now(),
            destinations: vec![],
            ttl: 0,
        };
        assert_eq!(
            message.data().map(|d| d.get().to_owned()).ok().as_deref(),
            Some(r#"[1e999999,"\ud800"]"#)
        );
    }
}

//! Published events (messages), their per-destination delivery state, and delivery attempts.

use super::endpoint::validate_event_type;
use super::{AttemptId, EndpointId, MessageId, TenantId};
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
    pub destinations: Vec<EndpointId>,
    pub ttl: i64,
}

impl Message {
    /// The event's `data`, parsed from the stored body. A body that does not parse is corrupt
    /// data: an error, never a silent `null`.
    pub fn data(&self) -> Result<serde_json::Value, DomainError> {
        #[derive(Deserialize)]
        struct Body {
            data: serde_json::Value,
        }
        serde_json::from_str::<Body>(&self.body)
            .map(|b| b.data)
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
    /// Checks the type's shape and the key's length; `data` is any JSON up to 256 KiB (the API
    /// answers a larger one 413 before it gets here).
    pub fn parse(
        event_type: String,
        data: Box<RawValue>,
        idempotency_key: Option<String>,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        errors.take(validate_event_type("type", &event_type));
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
    pub endpoint_id: EndpointId,
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
        endpoint_id: EndpointId,
        status: DeliveryStatus,
        why: Option<String>,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            endpoint_id,
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
    /// The host name did not resolve.
    Dns,
    /// The host resolved only to addresses the SSRF guard refuses.
    BlockedAddress,
    /// The receiver answered with a non-2xx status.
    HttpStatus,
}

impl ErrorCode {
    pub const ALL: [Self; 5] = [
        Self::Timeout,
        Self::Connection,
        Self::Dns,
        Self::BlockedAddress,
        Self::HttpStatus,
    ];
}

/// One delivery attempt, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: AttemptId,
    pub message_id: MessageId,
    pub endpoint_id: EndpointId,
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

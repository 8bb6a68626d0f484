//! Published events (messages), their per-destination delivery state, and delivery attempts.

use super::endpoint::validate_event_type;
use super::{AttemptId, EndpointId, MessageId, TenantId};
use crate::delivery::client::ErrorCode;
use crate::error::{DomainError, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// The largest `data` a published event may carry.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

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

/// `POST /v1/events`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPublish {
    /// A dotted event type, e.g. `ticket.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Any JSON value, at most 256 KiB.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
    /// Repeat a publish safely: within 24 h the same key returns the original answer.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

impl EventPublish {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if let Err(e) = validate_event_type("type", &self.event_type) {
            errors.push(e);
        }
        if let Some(key) = &self.idempotency_key
            && (key.is_empty() || key.len() > 255 || key.chars().any(char::is_control))
        {
            errors.push(FieldError::new(
                "idempotency_key",
                "must be 1–255 characters without control characters",
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(errors))
        }
    }
}

/// The answer to a publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Published {
    pub id: MessageId,
    /// How many destinations the event fans out to (0 is not an error).
    pub matched: usize,
}

/// Where one message stands with one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

/// The delivery state of one message to one destination, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub endpoint_id: EndpointId,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /v1/events/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub id: MessageId,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub deliveries: Vec<Delivery>,
}

/// Whether one attempt succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Succeeded,
    Failed,
}

/// One delivery attempt, as stored and returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
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

/// `POST /v1/events/{id}/resend`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventResend {
    /// One destination; all of the event's destinations when absent.
    pub endpoint_id: Option<EndpointId>,
}

/// `POST /v1/webhooks/{id}/recover`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointRecover {
    /// Re-send every delivery to this endpoint that failed since then.
    pub since: DateTime<Utc>,
}

/// The answer to resend and recover: how many deliveries were queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Requeued {
    pub queued: usize,
}

//! Inbound events: one verified webhook as received (raw body, the headers a mapping may read),
//! and its lifecycle `received` → `processing` → `processed`, or `failed` (retried on the
//! schedule) → `dead`.

use super::{InboundEventId, IntegrationId, MessageId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most status changes an event keeps (the oldest are dropped past it), so that replays
/// cannot grow a record without bound.
pub const MAX_HISTORY: usize = 50;
/// The longest error text kept per status change.
pub const MAX_ERROR_LEN: usize = 1024;

/// Where an inbound event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboundStatus {
    /// Verified and stored; its processing job is queued.
    Received,
    /// A worker is mapping and routing it.
    Processing,
    /// Routed: `produced_event_id` is the event it became.
    Processed,
    /// Its last processing failed; another is scheduled.
    Failed,
    /// Every processing failed; `integration.event_failed` was published.
    Dead,
}

impl InboundStatus {
    pub const ALL: [Self; 5] = [
        Self::Received,
        Self::Processing,
        Self::Processed,
        Self::Failed,
        Self::Dead,
    ];
}

/// One step of an event's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: InboundStatus,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// How the raw body is kept: as text when it is UTF-8, else base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    Utf8,
    Base64,
}

/// An inbound event as stored (its body is stored beside it, in parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundEvent {
    pub id: InboundEventId,
    pub tenant_id: TenantId,
    pub integration_id: IntegrationId,
    pub status: InboundStatus,
    pub received_at: DateTime<Utc>,
    /// The request headers a mapping may read (lower-case names), never the ones carrying
    /// credentials or signatures.
    pub headers: BTreeMap<String, String>,
    /// The raw body's length in bytes.
    pub body_bytes: usize,
    pub body_encoding: BodyEncoding,
    /// How many body parts are stored beside the record.
    pub body_parts: u32,
    /// Processing attempts of the current run.
    pub attempts: u32,
    /// Incremented by each replay: a run publishes at most one event.
    pub run: u32,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub produced_event_id: Option<MessageId>,
    pub history: Vec<StatusChange>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
    /// When the event expires (epoch seconds).
    pub ttl: i64,
}

impl InboundEvent {
    /// Moves to `status` at `at`, recording it in the history.
    pub fn set_status(&mut self, status: InboundStatus, at: DateTime<Utc>, error: Option<String>) {
        let error = error.map(|e| truncate(&e, MAX_ERROR_LEN));
        self.status = status;
        self.error.clone_from(&error);
        self.history.push(StatusChange { status, at, error });
        if self.history.len() > MAX_HISTORY {
            let extra = self.history.len() - MAX_HISTORY;
            self.history.drain(..extra);
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_errors_truncated() {
        let now = Utc::now();
        let mut e = InboundEvent {
            id: InboundEventId::generate(),
            tenant_id: TenantId::generate(),
            integration_id: IntegrationId::generate(),
            status: InboundStatus::Received,
            received_at: now,
            headers: BTreeMap::new(),
            body_bytes: 0,
            body_encoding: BodyEncoding::Utf8,
            body_parts: 0,
            attempts: 0,
            run: 0,
            error: None,
            next_attempt_at: None,
            produced_event_id: None,
            history: Vec::new(),
            updated_at: now,
            version: 1,
            ttl: 0,
        };
        for _ in 0..(MAX_HISTORY + 10) {
            e.set_status(InboundStatus::Failed, now, Some("é".repeat(MAX_ERROR_LEN)));
        }
        assert_eq!(e.history.len(), MAX_HISTORY);
        assert!(e.error.as_ref().is_some_and(|t| t.len() <= MAX_ERROR_LEN));
    }
}

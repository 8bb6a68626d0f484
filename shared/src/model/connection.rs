//! A connection: one provider credential a tenant stored, sealed under its own data key, and
//! what views may show of it (the non-secret fields, a keyed fingerprint, when it was rotated).

use super::{ConnectionId, TenantId};
use crate::crypto::Envelope;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest `metadata` object, as JSON text.
pub const MAX_METADATA_BYTES: usize = 4 * 1024;
/// The most keys `metadata` may have.
pub const MAX_METADATA_KEYS: usize = 32;
/// The longest metadata key.
pub const MAX_METADATA_KEY_LEN: usize = 64;

/// Whether a connection's credentials can still be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Active,
    /// The ciphertext is destroyed; the record stays for the audit trail and for the actions
    /// that named it (they fail with `connection_revoked`).
    Revoked,
}

impl ConnectionStatus {
    pub const ALL: [ConnectionStatus; 2] = [ConnectionStatus::Active, ConnectionStatus::Revoked];
}

/// A connection as stored. The credentials exist only inside `sealed` (one JSON document of
/// every field, encrypted under `{tenant_id, record_id: connection_id, purpose: "connection"}`);
/// `public_fields` repeats the fields the provider registry marks non-secret, for views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub id: ConnectionId,
    pub tenant_id: TenantId,
    pub provider: String,
    pub name: String,
    /// The credential fields marked `secret: false` (`account_sid`, `base_url`), in clear.
    pub public_fields: Map<String, Value>,
    /// Free JSON the tenant filters by (`{"env": "sandbox"}`). Never a place for secrets.
    pub metadata: Map<String, Value>,
    pub status: ConnectionStatus,
    /// The sealed credentials; `None` once revoked (the ciphertext is destroyed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Envelope>,
    /// `***` + the last 4 characters of the main secret (when it is long enough to show them)
    /// and a short HMAC of every secret field under a key derived from the record's data key:
    /// recognisable, and useless for guessing the secret without the key provider. Kept after
    /// revocation, so the trail says which credential was revoked.
    pub fingerprint: String,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// Whether `value` (a metadata value) matches a filter's text: a string equal to it, or a
/// number or boolean written as it (`?metadata[tier]=2` matches `{"tier": 2}`).
pub fn metadata_matches(value: Option<&Value>, wanted: &str) -> bool {
    match value {
        Some(Value::String(s)) => s == wanted,
        Some(v @ (Value::Number(_) | Value::Bool(_))) => {
            serde_json::from_str::<Value>(wanted).is_ok_and(|parsed| parsed == *v)
        }
        _ => false,
    }
}

/// Whether `key` may be a metadata key: 1–64 of letters, digits, `_`, `-`, `.` (what a
/// `?metadata[key]=` filter can name without escaping).
pub fn valid_metadata_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_METADATA_KEY_LEN
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl Connection {
    /// Whether every `(key, value)` filter matches this connection's metadata.
    pub fn matches_metadata(&self, filters: &[(String, String)]) -> bool {
        filters
            .iter()
            .all(|(k, v)| metadata_matches(self.metadata.get(k), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_filters_match_strings_numbers_and_booleans() {
        assert!(metadata_matches(Some(&json!("sandbox")), "sandbox"));
        assert!(metadata_matches(Some(&json!(2)), "2"));
        assert!(metadata_matches(Some(&json!(true)), "true"));
        assert!(!metadata_matches(Some(&json!("2")), "02"));
        assert!(!metadata_matches(Some(&json!({"a": 1})), "{\"a\":1}"));
        assert!(!metadata_matches(None, ""));
        assert!(valid_metadata_key("env.region-1_a"));
        assert!(!valid_metadata_key("a]b"));
        assert!(!valid_metadata_key(""));
        assert!(!valid_metadata_key(&"k".repeat(65)));
    }
}

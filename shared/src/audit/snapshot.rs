//! What an audit entry shows of a resource, and the field-by-field difference between two
//! states of it.
//!
//! A snapshot holds the fields a person reviewing changes needs and never a secret: API keys
//! show their display prefix (`start`), never the hash; endpoints show header names with masked
//! values and the ids of their sealed signing secrets (a rotation changes the ids); integrations
//! show their options and the masked key material (`***` + the last 4 characters, as the view
//! shows it) with the id of its sealing.

use super::FieldChange;
use crate::model::api_key::ApiKey;
use crate::model::connection::Connection;
use crate::model::endpoint::Endpoint;
use crate::model::integration::Integration;
use crate::model::tenant::Tenant;
use serde_json::{Map, Value, json};

/// A resource as the audit log shows it.
pub trait Snapshot {
    fn snapshot(&self) -> Map<String, Value>;
}

impl Snapshot for Tenant {
    fn snapshot(&self) -> Map<String, Value> {
        object(json!({"name": self.name}))
    }
}

impl Snapshot for ApiKey {
    fn snapshot(&self) -> Map<String, Value> {
        object(json!({
            "name": self.name,
            "start": self.start,
            "scopes": self.scopes,
            "enabled": self.enabled,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "replaced_by": self.replaced_by,
        }))
    }
}

impl Snapshot for Endpoint {
    fn snapshot(&self) -> Map<String, Value> {
        let secret_ids: Vec<&str> = self.secrets.iter().map(|s| s.id.as_str()).collect();
        object(json!({
            "url": self.url,
            "event_types": self.event_types,
            "headers": self.masked_headers(),
            "description": self.description,
            "enabled": self.enabled,
            "timeout_ms": self.timeout_ms,
            "max_attempts": self.max_attempts,
            "rate_limit_per_s": self.rate_limit_per_s,
            "signing_secret_ids": secret_ids,
        }))
    }
}

impl Snapshot for Integration {
    fn snapshot(&self) -> Map<String, Value> {
        object(json!({
            "type": self.provider,
            "name": self.name,
            "config": self.masked_config(),
            "config_id": self.configs.first().map(|c| c.id.as_str()),
            "active": self.active,
            "mapping": self.mapping,
            "route": self.route,
            "tolerance_seconds": self.tolerance_seconds,
            "public_url": self.public_url,
        }))
    }
}

/// A connection shows its non-secret credential fields and its fingerprint (which changes when
/// the credentials rotate), never a secret.
impl Snapshot for crate::model::action::Action {
    fn snapshot(&self) -> Map<String, Value> {
        object(json!({
            "connection_id": self.connection_id,
            "kind": self.kind,
            "event_types": self.event_types,
            "template": self.template,
            "enabled": self.enabled,
            "rate_limit_per_s": self.rate_limit_per_s,
            "disabled_reason": self.disabled_reason,
        }))
    }
}

impl Snapshot for Connection {
    fn snapshot(&self) -> Map<String, Value> {
        object(json!({
            "provider": self.provider,
            "name": self.name,
            "credentials": self.public_fields,
            "metadata": self.metadata,
            "status": self.status,
            "fingerprint": self.fingerprint,
            "rotated_at": self.rotated_at,
            "revoked_at": self.revoked_at,
        }))
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The fields whose values differ between `before` and `after` (absent counts as `null`), in
/// field-name order.
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<FieldChange> {
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| {
            let old = before.get(field).filter(|v| !v.is_null());
            let new = after.get(field).filter(|v| !v.is_null());
            (old != new).then(|| FieldChange {
                field: field.clone(),
                old: old.cloned(),
                new: new.cloned(),
            })
        })
        .collect()
}

/// The changes of a resource coming into being: every field set.
pub fn created(after: &impl Snapshot) -> Vec<FieldChange> {
    diff(&Map::new(), &after.snapshot())
}

/// The changes of a resource going away: every field cleared.
pub fn deleted(before: &impl Snapshot) -> Vec<FieldChange> {
    diff(&before.snapshot(), &Map::new())
}

/// The changes from `before` to `after`.
pub fn changed<T: Snapshot>(before: &T, after: &T) -> Vec<FieldChange> {
    diff(&before.snapshot(), &after.snapshot())
}

/// One field set to `value` (facts of an action that are not fields of a resource: the event a
/// test sent, the time a recovery starts from).
pub fn set(field: &str, value: impl serde::Serialize) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        old: None,
        new: serde_json::to_value(value).ok().filter(|v| !v.is_null()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_fields_only_in_order() {
        let before = object(json!({"a": 1, "b": "x", "c": null}));
        let after = object(json!({"a": 1, "b": "y", "d": true}));
        let changes = diff(&before, &after);
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: "b".into(),
                    old: Some(json!("x")),
                    new: Some(json!("y"))
                },
                FieldChange {
                    field: "d".into(),
                    old: None,
                    new: Some(json!(true))
                },
            ]
        );
    }
}

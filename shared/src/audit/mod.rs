//! The audit log: one append-only entry for every write of every resource, written in the same
//! store transaction as the change it records, so that no change exists without its entry.
//!
//! A write path takes a [`Recorder`] (who is writing, from where, and how long entries are kept)
//! and adds `recorder.op(tenant, action, target, changes)?` to the ops it commits. That line is
//! all a new kind of write needs, plus its [`Action`] variant (and a [`TargetType`] for a new
//! kind of resource).
//!
//! What is not audited: publishing an event (`POST /v1/events`). It is the data plane, at
//! thousands of requests a second per tenant, and the event itself is the record of it (its id,
//! time and payload are kept for the retention period). What is done to an event afterwards
//! (a resend) is audited, like every write of the control plane.
//!
//! No entry holds a secret: changes are computed from [`snapshot::Snapshot`]s, which show
//! secrets only as masks (`***` and the last 4 characters, as the API's views do) or as the ids
//! of the sealed secrets.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod log;
pub mod snapshot;

use crate::model::{AuditId, TenantId};
use crate::store::{StoreError, TxOp};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// How long entries are kept unless configured (`SWITCHBOARD_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The longest request id, user agent or actor id an entry keeps (longer ones are cut).
const MAX_TEXT: usize = 256;

/// Declares [`Action`] with its dotted wire names in one place.
macro_rules! actions {
    ($($variant:ident => $name:literal, $outcome:ident;)*) => {
        /// What was done, as a dotted `resource.verb` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Action {
            $(#[serde(rename = $name)] $variant,)*
        }

        impl Action {
            /// Every action, in the order the API documents them.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The dotted name on the wire (`webhook.secret_rotated`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// What the entry of this action says about the outcome: a change committed with
            /// the entry, or work queued with it (whose own result the resource shows).
            pub fn outcome(self) -> Outcome {
                match self {
                    $(Action::$variant => Outcome::$outcome,)*
                }
            }
        }
    };
}

actions! {
    TenantCreated => "tenant.created", Succeeded;
    ApiKeyCreated => "api_key.created", Succeeded;
    ApiKeyUpdated => "api_key.updated", Succeeded;
    ApiKeyEnabled => "api_key.enabled", Succeeded;
    ApiKeyDisabled => "api_key.disabled", Succeeded;
    ApiKeyRevoked => "api_key.revoked", Succeeded;
    ApiKeyRolled => "api_key.rolled", Succeeded;
    ApiKeyDeleted => "api_key.deleted", Succeeded;
    ApiKeyRecoveryIssued => "api_key.recovery_issued", Succeeded;
    WebhookCreated => "webhook.created", Succeeded;
    WebhookUpdated => "webhook.updated", Succeeded;
    WebhookEnabled => "webhook.enabled", Succeeded;
    WebhookDisabled => "webhook.disabled", Succeeded;
    WebhookDeleted => "webhook.deleted", Succeeded;
    WebhookSecretRotated => "webhook.secret_rotated", Succeeded;
    WebhookTested => "webhook.tested", Succeeded;
    WebhookRecovered => "webhook.recovered", Accepted;
    EventResent => "event.resent", Accepted;
    IntegrationCreated => "integration.created", Succeeded;
    IntegrationUpdated => "integration.updated", Succeeded;
    IntegrationEnabled => "integration.enabled", Succeeded;
    IntegrationDisabled => "integration.disabled", Succeeded;
    IntegrationDeleted => "integration.deleted", Succeeded;
    IntegrationEventReplayed => "integration.event_replayed", Accepted;
    ConnectionCreated => "connection.created", Succeeded;
    ConnectionUpdated => "connection.updated", Succeeded;
    ConnectionRotated => "connection.rotated", Succeeded;
    ConnectionRevoked => "connection.revoked", Succeeded;
    ActionCreated => "action.created", Succeeded;
    ActionUpdated => "action.updated", Succeeded;
    ActionDisabled => "action.disabled", Succeeded;
    ActionDeleted => "action.deleted", Succeeded;
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Action {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or(())
    }
}

/// The action of a change whose only effect is to turn a resource on or off (`enabled`,
/// `active`): `on` or `off` then, else `updated`.
pub fn toggle_or(
    changes: &[FieldChange],
    field: &str,
    on: Action,
    off: Action,
    updated: Action,
) -> Action {
    match changes {
        [only] if only.field == field => match only.new {
            Some(Value::Bool(true)) => on,
            Some(Value::Bool(false)) => off,
            _ => updated,
        },
        _ => updated,
    }
}

/// Whether the entry records a change that committed with it, or work queued with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change is made (it committed in the entry's transaction).
    Succeeded,
    /// Work was queued (a resend, a recovery, a replay); its result shows on the resource.
    Accepted,
}

impl Outcome {
    pub const ALL: [Outcome; 2] = [Outcome::Succeeded, Outcome::Accepted];
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    /// A tenant's API key (its id).
    ApiKey,
    /// The deployment's root key.
    Root,
    /// Switchboard itself (demo data, background work).
    System,
}

impl ActorType {
    pub const ALL: [ActorType; 3] = [ActorType::ApiKey, ActorType::Root, ActorType::System];
}

/// Who made a change: the kind of principal and its id (`key_…`, `root`, or a system task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub id: String,
}

impl Actor {
    pub fn api_key(id: crate::model::KeyId) -> Self {
        Self {
            kind: ActorType::ApiKey,
            id: id.to_string(),
        }
    }

    pub fn root() -> Self {
        Self {
            kind: ActorType::Root,
            id: "root".into(),
        }
    }

    /// Switchboard itself, doing `task` (`demo`).
    pub fn system(task: &str) -> Self {
        Self {
            kind: ActorType::System,
            id: task.to_owned(),
        }
    }
}

/// The kinds of resource an entry can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetType {
    Tenant,
    ApiKey,
    Webhook,
    Event,
    Integration,
    InboundEvent,
    Connection,
    Action,
}

impl TargetType {
    pub const ALL: [TargetType; 8] = [
        TargetType::Tenant,
        TargetType::ApiKey,
        TargetType::Webhook,
        TargetType::Event,
        TargetType::Integration,
        TargetType::InboundEvent,
        TargetType::Connection,
        TargetType::Action,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TargetType::Tenant => "tenant",
            TargetType::ApiKey => "api_key",
            TargetType::Webhook => "webhook",
            TargetType::Event => "event",
            TargetType::Integration => "integration",
            TargetType::InboundEvent => "inbound_event",
            TargetType::Connection => "connection",
            TargetType::Action => "action",
        }
    }
}

impl std::str::FromStr for TargetType {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        TargetType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

/// The resource a change was made to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    #[serde(rename = "type")]
    pub kind: TargetType,
    pub id: String,
}

impl Target {
    pub fn new(kind: TargetType, id: impl std::fmt::Display) -> Self {
        Self {
            kind,
            id: id.to_string(),
        }
    }
}

/// One field a change touched: its value before and after (`null` when it had none, or the
/// resource did not exist). Secret values never appear: see [`snapshot`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// One audit entry as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: AuditId,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: TenantId,
    pub actor: Actor,
    pub action: Action,
    pub target: Target,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub outcome: Outcome,
    pub changes: Vec<FieldChange>,
}

/// Where a write came from: the actor and what the request said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// A write by Switchboard itself, outside any request.
    pub fn system(task: &str) -> Self {
        Self {
            actor: Actor::system(task),
            request_id: None,
            source_ip: None,
            user_agent: None,
        }
    }
}

/// Makes the entries of one request's writes: every write path takes one and adds
/// [`Recorder::op`] to the transaction it commits.
#[derive(Debug, Clone)]
pub struct Recorder {
    origin: Origin,
    retention: Duration,
}

impl Recorder {
    /// Entries for writes from `origin`, kept for `retention`.
    pub fn new(origin: Origin, retention: Duration) -> Self {
        let clean = |text: Option<String>| text.map(|t| printable(&t)).filter(|t| !t.is_empty());
        let origin = Origin {
            actor: Actor {
                kind: origin.actor.kind,
                id: printable(&origin.actor.id),
            },
            request_id: clean(origin.request_id),
            source_ip: clean(origin.source_ip),
            user_agent: clean(origin.user_agent),
        };
        Self { origin, retention }
    }

    /// Entries for Switchboard's own writes (`task` names them), kept for the default period.
    pub fn system(task: &str) -> Self {
        Self::new(Origin::system(task), DEFAULT_RETENTION)
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The entry for `action` on `target` in `tenant`, made now.
    pub fn entry(
        &self,
        tenant: TenantId,
        action: Action,
        target: Target,
        changes: Vec<FieldChange>,
    ) -> AuditEntry {
        let id = AuditId::generate();
        AuditEntry {
            id,
            occurred_at: id.created_at(),
            tenant_id: tenant,
            actor: self.origin.actor.clone(),
            action,
            target,
            request_id: self.origin.request_id.clone(),
            source_ip: self.origin.source_ip.clone(),
            user_agent: self.origin.user_agent.clone(),
            outcome: action.outcome(),
            changes,
        }
    }

    /// The write of a new entry, to add to the transaction of the change it records. The entry
    /// is appended (a put conditional on its key being free) and expires after the retention.
    pub fn op(
        &self,
        tenant: TenantId,
        action: Action,
        target: Target,
        changes: Vec<FieldChange>,
    ) -> Result<TxOp, StoreError> {
        let entry = self.entry(tenant, action, target, changes);
        log::append_op(&entry, self.expiry(entry.occurred_at))
    }

    /// Appends an entry on its own, for a request whose change is not a store write (a queued
    /// recovery): written before the work is queued, so the work never runs without it.
    pub async fn append(
        &self,
        store: &dyn crate::store::Store,
        tenant: TenantId,
        action: Action,
        target: Target,
        changes: Vec<FieldChange>,
    ) -> Result<(), StoreError> {
        let entry = self.entry(tenant, action, target, changes);
        let item = log::entry_item(&entry, self.expiry(entry.occurred_at))?;
        store.put(item, Some(crate::store::Condition::Absent)).await
    }

    /// When an entry made at `at` expires (epoch seconds).
    fn expiry(&self, at: DateTime<Utc>) -> i64 {
        at.timestamp()
            .saturating_add(i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX))
    }
}

/// `text` without control characters, at most [`MAX_TEXT`] characters: request ids and user
/// agents come from clients and end up in a log that people read.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for &action in Action::ALL {
            assert!(seen.insert(action.as_str()), "{action} twice");
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
            assert_eq!(
                serde_json::to_value(action).ok(),
                Some(Value::String(action.as_str().to_owned()))
            );
        }
        assert!("webhook.exploded".parse::<Action>().is_err());
    }

    #[test]
    fn toggles_are_named_only_when_nothing_else_changed() {
        let change = |field: &str, new: bool| FieldChange {
            field: field.into(),
            old: Some(Value::Bool(!new)),
            new: Some(Value::Bool(new)),
        };
        let pick = |changes: &[FieldChange]| {
            toggle_or(
                changes,
                "enabled",
                Action::WebhookEnabled,
                Action::WebhookDisabled,
                Action::WebhookUpdated,
            )
        };
        assert_eq!(pick(&[change("enabled", false)]), Action::WebhookDisabled);
        assert_eq!(pick(&[change("enabled", true)]), Action::WebhookEnabled);
        assert_eq!(
            pick(&[change("enabled", true), change("other", true)]),
            Action::WebhookUpdated
        );
        assert_eq!(pick(&[]), Action::WebhookUpdated);
    }

    #[test]
    fn client_text_is_cut_and_cleaned() {
        let recorder = Recorder::new(
            Origin {
                actor: Actor::root(),
                request_id: Some("id\nforged=1".into()),
                source_ip: None,
                user_agent: Some("x".repeat(1000)),
            },
            DEFAULT_RETENTION,
        );
        assert_eq!(recorder.origin().request_id.as_deref(), Some("idforged=1"));
        assert_eq!(
            recorder.origin().user_agent.as_ref().map(String::len),
            Some(MAX_TEXT)
        );
    }
}

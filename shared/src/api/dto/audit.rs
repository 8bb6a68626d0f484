//! `GET /v1/audit` wire types.

use crate::api::problem::Problem;
use crate::audit::log::AuditFilter;
use crate::audit::{
    Action, Actor, ActorType, AuditEntry, FieldChange, Outcome, Target, TargetType,
};
use crate::error::FieldError;
use crate::model::{AuditId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// The pattern of the `actor` and `target_id` filters: ids as Switchboard makes them.
pub const FILTER_ID_PATTERN: &str = r"^[A-Za-z0-9_.:-]{1,64}$";

/// `GET /v1/audit` query. A filter that is malformed or names an unknown value is a 422 naming
/// the parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Items per page, 1–250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only entries by this actor: an API key id (`key_…`), `root`, or a system task.
    #[param(pattern = r"^[A-Za-z0-9_.:-]{1,64}$")]
    pub actor: Option<String>,
    /// Only entries by this kind of actor.
    #[param(value_type = Option<ActorType>)]
    pub actor_type: Option<String>,
    /// Only entries of this action.
    #[param(value_type = Option<Action>)]
    pub action: Option<String>,
    /// Only entries about this kind of resource.
    #[param(value_type = Option<TargetType>)]
    pub target_type: Option<String>,
    /// Only entries about the resource with this id.
    #[param(pattern = r"^[A-Za-z0-9_.:-]{1,64}$")]
    pub target_id: Option<String>,
    /// Only entries made at or after this time (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub since: Option<String>,
    /// Only entries made at or before this time (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub until: Option<String>,
}

fn known<T: Copy>(all: &[T], name: impl Fn(T) -> String) -> String {
    all.iter()
        .map(|&v| format!("`{}`", name(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn id_filter(field: &str, raw: &Option<String>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw else { return Ok(None) };
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(Some(raw.clone()))
    } else {
        Err(FieldError::new(
            field,
            "must be 1 to 64 characters of letters, digits, `_`, `.`, `:` and `-`",
        ))
    }
}

fn time_filter(field: &str, raw: &Option<String>) -> Result<Option<DateTime<Utc>>, FieldError> {
    raw.as_deref()
        .map(|t| {
            // The parser of the other time filters (`GET /v1/events`), which serde uses.
            t.parse::<DateTime<Utc>>().map_err(|_| {
                FieldError::new(field, "must be an RFC 3339 time (`2025-01-31T12:00:00Z`)")
            })
        })
        .transpose()
}

/// Records a failed check in `errors`; the value when it passed.
fn take<T>(errors: &mut Vec<FieldError>, checked: Result<Option<T>, FieldError>) -> Option<T> {
    checked.unwrap_or_else(|e| {
        errors.push(e);
        None
    })
}

/// A filter naming one of `all` by its wire name.
fn one_of<T: Copy + Serialize>(
    field: &str,
    raw: &Option<String>,
    all: &[T],
) -> Result<Option<T>, FieldError> {
    let name = |v: T| {
        serde_json::to_value(v)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let Some(raw) = raw else { return Ok(None) };
    all.iter()
        .copied()
        .find(|&v| name(v) == *raw)
        .map(Some)
        .ok_or_else(|| FieldError::new(field, format!("must be one of {}", known(all, name))))
}

impl AuditQuery {
    /// The filter, or a 422 naming every bad parameter.
    pub fn filter(&self) -> Result<AuditFilter, Problem> {
        let mut errors = Vec::new();
        let actor_id = take(&mut errors, id_filter("actor", &self.actor));
        let actor_type = take(
            &mut errors,
            one_of("actor_type", &self.actor_type, &ActorType::ALL),
        );
        let action = take(&mut errors, one_of("action", &self.action, Action::ALL));
        let target_type = take(
            &mut errors,
            one_of("target_type", &self.target_type, &TargetType::ALL),
        );
        let target_id = take(&mut errors, id_filter("target_id", &self.target_id));
        let since = take(&mut errors, time_filter("since", &self.since));
        let until = take(&mut errors, time_filter("until", &self.until));
        if let (Some(since), Some(until)) = (since, until)
            && since > until
        {
            errors.push(FieldError::new("until", "must not be before `since`"));
        }
        if !errors.is_empty() {
            return Err(Problem::validation(errors));
        }
        Ok(AuditFilter {
            actor_type,
            actor_id,
            action,
            target_type,
            target_id,
            since,
            until,
        })
    }
}

/// Who made a change.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ActorView {
    #[serde(rename = "type")]
    pub kind: ActorType,
    /// An API key id (`key_…`), `root`, or the system task (`delivery`, `demo`).
    pub id: String,
}

/// The resource a change was made to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TargetView {
    #[serde(rename = "type")]
    pub kind: TargetType,
    pub id: String,
}

/// One field a change touched. Secret values never appear: key material shows as a mask
/// (`***` and its last 4 characters) or as the id of its sealed copy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldChangeView {
    pub field: String,
    /// The value before (`null`: none, or the resource did not exist).
    #[schema(value_type = Option<serde_json::Value>)]
    pub old: Option<Value>,
    /// The value after (`null`: none, or the resource is gone).
    #[schema(value_type = Option<serde_json::Value>)]
    pub new: Option<Value>,
}

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryView {
    pub id: AuditId,
    pub occurred_at: DateTime<Utc>,
    pub tenant_id: TenantId,
    pub actor: ActorView,
    pub action: Action,
    pub target: TargetView,
    /// The request's `x-request-id` (the one the response carried).
    pub request_id: Option<String>,
    /// The client's address as the server saw it (`null` when unknown).
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `succeeded`: the change is made. `accepted`: work was queued (a resend, a recovery, a
    /// replay); its result shows on the resource.
    pub outcome: Outcome,
    pub changes: Vec<FieldChangeView>,
}

impl From<AuditEntry> for AuditEntryView {
    fn from(e: AuditEntry) -> Self {
        let Actor { kind, id } = e.actor;
        let Target {
            kind: target_kind,
            id: target_id,
        } = e.target;
        Self {
            id: e.id,
            occurred_at: e.occurred_at,
            tenant_id: e.tenant_id,
            actor: ActorView { kind, id },
            action: e.action,
            target: TargetView {
                kind: target_kind,
                id: target_id,
            },
            request_id: e.request_id,
            source_ip: e.source_ip,
            user_agent: e.user_agent,
            outcome: e.outcome,
            changes: e
                .changes
                .into_iter()
                .map(|FieldChange { field, old, new }| FieldChangeView { field, old, new })
                .collect(),
        }
    }
}

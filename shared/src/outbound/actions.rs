//! The action repository and lifecycle: create (the connection checked: the tenant's, not
//! revoked, of a provider that serves the kind; the template checked for the kind), list, view,
//! update, delete, and the engine's disable. Every write is audited in its own transaction.
//!
//! Actions are keyed like endpoints: in the tenant partition (`TEN#ten_…` / `ACT#act_…`). They
//! change rarely and publishing reads all of a tenant's at once (cached for
//! [`super::ENDPOINT_CACHE_TTL`]), so the busy per-event and per-attempt records stay where the
//! endpoints' are: keyed by message and by action id.

use super::{Outbound, cap};
use crate::audit::snapshot::{changed, created, deleted};
use crate::audit::{Action as AuditAction, Recorder, Target, TargetType};
use crate::credentials::{connections, providers};
use crate::error::DomainError;
use crate::model::action::{self, Action, ActionKind};
use crate::model::connection::ConnectionStatus;
use crate::model::{ActionId, ConnectionId, TenantId};
use crate::store::versioned::{self, Versioned};
use crate::store::{Condition, ItemKey, Query, Store, TxOp, from_item, query_kept, to_item};
use crate::tenancy::tenant_pk;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The sort-key prefix of action records in the tenant partition.
pub const SK_PREFIX: &str = "ACT#";

impl Versioned for Action {
    fn version(&self) -> u64 {
        self.version
    }
    fn bump(&mut self, version: u64, now: DateTime<Utc>) {
        self.version = version;
        self.updated_at = now;
    }
}

pub fn record_key(tenant: TenantId, id: ActionId) -> ItemKey {
    ItemKey::new(tenant_pk(tenant), format!("{SK_PREFIX}{id}"))
}

/// The audit target of an action.
pub fn target(id: ActionId) -> Target {
    Target::new(TargetType::Action, id)
}

/// A new action, checked for shape; the connection and template are checked on create.
#[derive(Debug, Clone)]
pub struct ActionSettings {
    pub connection_id: ConnectionId,
    pub kind: ActionKind,
    pub event_types: Vec<String>,
    pub template: Map<String, Value>,
    pub enabled: bool,
    pub rate_limit_per_s: Option<u32>,
}

/// A checked change (`PATCH`): only the fields present change. The kind never changes.
#[derive(Debug, Clone, Default)]
pub struct ActionChange {
    pub connection_id: Option<ConnectionId>,
    pub event_types: Option<Vec<String>>,
    pub template: Option<Map<String, Value>>,
    pub enabled: Option<bool>,
    /// `Some(None)` removes the limit.
    pub rate_limit_per_s: Option<Option<u32>>,
}

/// Checks that the tenant's connection `id` exists (else 404), is not revoked and is of a
/// provider that serves `kind` (else 422).
async fn check_connection(
    store: &dyn Store,
    tenant: TenantId,
    id: ConnectionId,
    kind: ActionKind,
) -> Result<(), DomainError> {
    let connection = connections::get(store, tenant, id).await?;
    if connection.status == ConnectionStatus::Revoked {
        return Err(DomainError::invalid(
            "connection_id",
            "the connection is revoked; create a new one",
        ));
    }
    let serves = providers::find(&connection.provider)
        .is_some_and(|p| p.action_kinds.contains(&kind.as_str()));
    if !serves {
        return Err(DomainError::invalid(
            "kind",
            format!(
                "a `{}` connection cannot serve `{}`",
                connection.provider,
                kind.as_str()
            ),
        ));
    }
    Ok(())
}

fn check_template(kind: ActionKind, template: &Map<String, Value>) -> Result<(), DomainError> {
    action::check(kind, template).map_err(DomainError::Invalid)
}

/// Creates an action; nothing is written unless every check passes.
pub async fn create(
    ob: &Outbound,
    tenant: TenantId,
    settings: ActionSettings,
    audit: &Recorder,
) -> Result<Action, DomainError> {
    create_with_id(ob, tenant, ActionId::generate(), settings, audit).await
}

/// [`create`] with a known id (the demo's fixed actions).
pub async fn create_with_id(
    ob: &Outbound,
    tenant: TenantId,
    id: ActionId,
    settings: ActionSettings,
    audit: &Recorder,
) -> Result<Action, DomainError> {
    check_template(settings.kind, &settings.template)?;
    check_connection(ob.store(), tenant, settings.connection_id, settings.kind).await?;
    let now = Utc::now();
    let action = Action {
        id,
        tenant_id: tenant,
        connection_id: settings.connection_id,
        kind: settings.kind,
        event_types: settings.event_types,
        template: settings.template,
        enabled: settings.enabled,
        rate_limit_per_s: settings.rate_limit_per_s,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let item = to_item(&record_key(tenant, id), &action)?;
    let entry = audit.op(
        tenant,
        AuditAction::ActionCreated,
        target(id),
        created(&action),
    )?;
    cap::put_counted(ob.store(), tenant, ob.max_endpoints(), item, entry).await?;
    ob.evict_actions(tenant);
    Ok(action)
}

/// The tenant's action `id`.
pub async fn get(store: &dyn Store, tenant: TenantId, id: ActionId) -> Result<Action, DomainError> {
    let item = store
        .get(&record_key(tenant, id))
        .await?
        .ok_or(DomainError::NotFound("action"))?;
    let action: Action = from_item(item)?;
    if action.tenant_id != tenant {
        return Err(DomainError::NotFound("action"));
    }
    Ok(action)
}

/// A page of the tenant's actions, newest first. `after` is the last sort key of the previous page.
pub async fn list(
    store: &dyn Store,
    tenant: TenantId,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Action>, Option<String>), DomainError> {
    let query = Query::prefix(tenant_pk(tenant), SK_PREFIX)
        .backward()
        .start_after(after);
    Ok(query_kept(store, &query, limit, |a: &Action| a.tenant_id == tenant).await?)
}

/// Every action of `tenant` (for subscription matching).
pub async fn all(store: &dyn Store, tenant: TenantId) -> Result<Vec<Action>, DomainError> {
    crate::store::all_pages(|after| list(store, tenant, 250, after)).await
}

/// Applies a checked change; a new template is checked against the action's kind and a new
/// connection like on create, before anything is written.
pub async fn update(
    ob: &Outbound,
    tenant: TenantId,
    id: ActionId,
    change: &ActionChange,
    audit: &Recorder,
) -> Result<Action, DomainError> {
    let current = get(ob.store(), tenant, id).await?;
    if let Some(template) = &change.template {
        check_template(current.kind, template)?;
    }
    if let Some(connection) = change.connection_id {
        check_connection(ob.store(), tenant, connection, current.kind).await?;
    }
    modify(
        ob,
        tenant,
        id,
        |a| {
            if let Some(c) = change.connection_id {
                a.connection_id = c;
            }
            if let Some(t) = &change.event_types {
                a.event_types.clone_from(t);
            }
            if let Some(t) = &change.template {
                a.template.clone_from(t);
            }
            if let Some(r) = change.rate_limit_per_s {
                a.rate_limit_per_s = r;
            }
            if let Some(e) = change.enabled {
                a.enabled = e;
                if e {
                    a.disabled_reason = None;
                }
            }
            Ok(())
        },
        audit,
        AuditAction::ActionUpdated,
    )
    .await
}

/// Disables an action for good reason (the provider said the destination is gone). Audited as
/// `action.disabled` by whoever `audit` records (the system actor `delivery`).
pub async fn disable(
    ob: &Outbound,
    tenant: TenantId,
    id: ActionId,
    reason: &str,
    audit: &Recorder,
) -> Result<Action, DomainError> {
    modify(
        ob,
        tenant,
        id,
        |a| {
            a.enabled = false;
            a.disabled_reason = Some(reason.to_owned());
            Ok(())
        },
        audit,
        AuditAction::ActionDisabled,
    )
    .await
}

async fn modify(
    ob: &Outbound,
    tenant: TenantId,
    id: ActionId,
    change: impl Fn(&mut Action) -> Result<(), DomainError>,
    audit: &Recorder,
    what: AuditAction,
) -> Result<Action, DomainError> {
    let updated = versioned::modify(
        ob.store(),
        &record_key(tenant, id),
        "action",
        |a: &mut Action| {
            if a.tenant_id != tenant {
                return Err(DomainError::NotFound("action"));
            }
            change(a)
        },
        |before, after| {
            Ok(vec![audit.op(
                tenant,
                what,
                target(id),
                changed(before, after),
            )?])
        },
    )
    .await?;
    ob.evict_actions(tenant);
    Ok(updated)
}

/// Deletes an action: it stops firing at once (queued deliveries to it are skipped); its attempt
/// log stays until it expires.
pub async fn delete(
    ob: &Outbound,
    tenant: TenantId,
    id: ActionId,
    audit: &Recorder,
) -> Result<(), DomainError> {
    let store = ob.store();
    versioned::retrying("action", || async {
        let action = get(store, tenant, id).await?;
        let count = cap::read(store, tenant).await?;
        let ops = vec![
            TxOp::Delete {
                key: record_key(tenant, id),
                condition: Some(Condition::VersionEquals(action.version)),
            },
            cap::one_less(tenant, &count)?,
            audit.op(
                tenant,
                AuditAction::ActionDeleted,
                target(id),
                deleted(&action),
            )?,
        ];
        Ok::<_, DomainError>(versioned::commit(store, ops).await?.then_some(()))
    })
    .await?;
    ob.evict_actions(tenant);
    Ok(())
}

//! The endpoint repository and lifecycle: create (with a signing secret, within the tenant's
//! cap), list, view, update, soft delete, rotate the secret. Custom headers are sealed on the
//! way in ([`super::headers`]).

use super::{Outbound, cap, headers};
use crate::audit::snapshot::{changed, created, deleted};
use crate::audit::{Action, FieldChange, Recorder, Target, TargetType, toggle_or};
use crate::crypto::envelope;
use crate::error::DomainError;
use crate::model::endpoint::{
    Endpoint, EndpointChange, EndpointSettings, LegacyHeaders, MAX_SIGNING_SECRETS, SealedHeaders,
    StoredSecret,
};
use crate::model::{EndpointId, TenantId};
use crate::signing::standard::SigningKey;
use crate::store::versioned::{self, Versioned};
use crate::store::{Condition, ItemKey, Query, Store, TxOp, from_item, query_kept, to_item};
use crate::tenancy::tenant_pk;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

pub const SK_PREFIX: &str = "EP#";
/// Signing secrets are 32 random bytes (Standard Webhooks allows 24–64).
const SECRET_BYTES: usize = 32;

impl Versioned for Endpoint {
    fn version(&self) -> u64 {
        self.version
    }
    fn bump(&mut self, version: u64, now: DateTime<Utc>) {
        self.version = version;
        self.updated_at = now;
    }
}

pub fn record_key(tenant: TenantId, id: EndpointId) -> ItemKey {
    ItemKey::new(tenant_pk(tenant), format!("{SK_PREFIX}{id}"))
}

/// Makes a new signing secret for an endpoint, sealed under its own encryption context.
async fn new_secret(
    ob: &Outbound,
    tenant: TenantId,
    endpoint: EndpointId,
) -> Result<(StoredSecret, SecretString), DomainError> {
    let (key, text) = SigningKey::generate(SECRET_BYTES);
    let id = ulid::Ulid::new().to_string();
    let ctx = super::secret_context(tenant, endpoint, &id);
    let sealed = envelope::seal(ob.keys(), &ctx, key.as_bytes()).await?;
    Ok((
        StoredSecret {
            id,
            sealed,
            created_at: Utc::now(),
            expires_at: None,
        },
        text,
    ))
}

/// The audit target of an endpoint.
pub fn target(id: EndpointId) -> Target {
    Target::new(TargetType::Webhook, id)
}

/// Creates an endpoint; returns it and its `whsec_` secret (to show once).
pub async fn create(
    ob: &Outbound,
    tenant: TenantId,
    settings: EndpointSettings,
    audit: &Recorder,
) -> Result<(Endpoint, SecretString), DomainError> {
    create_with_id(ob, tenant, EndpointId::generate(), settings, audit).await
}

/// Creates an endpoint with a given id (demo data); fails with a conflict if it exists, or if the
/// tenant already has [`Outbound::max_endpoints`] live endpoints.
pub async fn create_with_id(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    settings: EndpointSettings,
    audit: &Recorder,
) -> Result<(Endpoint, SecretString), DomainError> {
    let max = ob.max_endpoints();
    // Checked before any key-provider call; checked again, atomically, when writing.
    cap::check(&cap::read(ob.store(), tenant).await?, max)?;
    let (secret, text) = new_secret(ob, tenant, id).await?;
    let sealed_headers = headers::seal(ob, tenant, id, &settings.headers).await?;
    let now = Utc::now();
    let endpoint = Endpoint {
        id,
        tenant_id: tenant,
        url: settings.url,
        event_types: settings.event_types,
        sealed_headers,
        legacy_headers: LegacyHeaders::default(),
        description: settings.description,
        enabled: settings.enabled,
        timeout_ms: settings.timeout_ms,
        max_attempts: settings.max_attempts,
        rate_limit_per_s: settings.rate_limit_per_s,
        secrets: vec![secret],
        created_at: now,
        updated_at: now,
        disabled_reason: None,
        failing_since: None,
        deleted_at: None,
        version: 1,
    };
    let item = to_item(&record_key(tenant, id), &endpoint)?;
    let entry = audit.op(
        tenant,
        Action::WebhookCreated,
        target(id),
        created(&endpoint),
    )?;
    cap::put_counted(ob.store(), tenant, max, item, entry).await?;
    ob.evict(tenant);
    Ok((endpoint, text))
}

/// One live endpoint of `tenant`.
pub async fn get(
    store: &dyn Store,
    tenant: TenantId,
    id: EndpointId,
) -> Result<Endpoint, DomainError> {
    let item = store
        .get(&record_key(tenant, id))
        .await?
        .ok_or(DomainError::NotFound("webhook endpoint"))?;
    let endpoint: Endpoint = from_item(item)?;
    if endpoint.deleted_at.is_some() {
        return Err(DomainError::NotFound("webhook endpoint"));
    }
    Ok(endpoint)
}

/// A page of live endpoints, newest first: full unless it is the last, however many deleted
/// endpoints lie between the live ones.
pub async fn list(
    store: &dyn Store,
    tenant: TenantId,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Endpoint>, Option<String>), DomainError> {
    let query = Query::prefix(tenant_pk(tenant), SK_PREFIX)
        .backward()
        .start_after(after);
    Ok(query_kept(store, &query, limit, |e: &Endpoint| e.deleted_at.is_none()).await?)
}

/// Every live endpoint of `tenant` (for subscription matching).
pub async fn all(store: &dyn Store, tenant: TenantId) -> Result<Vec<Endpoint>, DomainError> {
    crate::store::all_pages(|after| list(store, tenant, 250, after)).await
}

/// Changes a live endpoint with `change`, unaudited: the delivery engine's bookkeeping of an
/// endpoint's health (`failing_since`), which is no one's change of its settings. Every other
/// change goes through [`modify_audited`].
pub async fn modify(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    change: impl Fn(&mut Endpoint) -> Result<(), DomainError>,
) -> Result<Endpoint, DomainError> {
    modify_with(ob, tenant, id, change, |_, _| Ok(Vec::new())).await
}

/// Changes a live endpoint with `change`, with the audit entry of `action(changes)` in the
/// same transaction.
pub async fn modify_audited(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    change: impl Fn(&mut Endpoint) -> Result<(), DomainError>,
    audit: &Recorder,
    action: impl Fn(&[FieldChange]) -> Action,
) -> Result<Endpoint, DomainError> {
    modify_with(ob, tenant, id, change, |before, after| {
        let changes = changed(before, after);
        Ok(vec![audit.op(
            tenant,
            action(&changes),
            target(id),
            changes,
        )?])
    })
    .await
}

async fn modify_with(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    change: impl Fn(&mut Endpoint) -> Result<(), DomainError>,
    companions: impl Fn(&Endpoint, &Endpoint) -> Result<Vec<TxOp>, crate::store::StoreError>,
) -> Result<Endpoint, DomainError> {
    let updated = versioned::modify(
        ob.store(),
        &record_key(tenant, id),
        "webhook endpoint",
        |e: &mut Endpoint| {
            if e.deleted_at.is_some() {
                return Err(DomainError::NotFound("webhook endpoint"));
            }
            change(e)
        },
        companions,
    )
    .await?;
    ob.evict(tenant);
    Ok(updated)
}

/// Soft-deletes an endpoint: it stops receiving at once; its attempt log stays until it expires.
/// The tenant's count goes down in the same transaction.
pub async fn delete(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    audit: &Recorder,
) -> Result<Endpoint, DomainError> {
    let store = ob.store();
    let key = record_key(tenant, id);
    let deleted = versioned::retrying("webhook endpoint", || async {
        let mut endpoint: Endpoint = from_item(
            store
                .get(&key)
                .await?
                .ok_or(DomainError::NotFound("webhook endpoint"))?,
        )?;
        if endpoint.deleted_at.is_some() {
            return Err(DomainError::NotFound("webhook endpoint"));
        }
        let expected = endpoint.version;
        let now = Utc::now();
        let changes = deleted(&endpoint);
        endpoint.deleted_at = Some(now);
        endpoint.enabled = false;
        endpoint.bump(expected + 1, now);
        let mut ops = vec![TxOp::Put {
            item: to_item(&key, &endpoint)?,
            condition: Some(Condition::VersionEquals(expected)),
        }];
        // Read (or first counted, this endpoint still live) before the write, so a concurrent
        // create or delete makes one of the two transactions retry.
        let count = cap::read(store, tenant).await?;
        ops.push(cap::one_less(tenant, &count)?);
        ops.push(audit.op(tenant, Action::WebhookDeleted, target(id), changes)?);
        Ok(versioned::commit(store, ops).await?.then_some(endpoint))
    })
    .await?;
    ob.evict(tenant);
    Ok(deleted)
}

/// Headers of a record from before headers were sealed, sealed now so that the next write of
/// the record stops keeping them in clear (see [`LegacyHeaders`]).
async fn reseal_legacy(
    ob: &Outbound,
    current: &Endpoint,
) -> Result<Option<(LegacyHeaders, Option<SealedHeaders>)>, DomainError> {
    if current.legacy_headers.is_empty() || current.sealed_headers.is_some() {
        return Ok(None);
    }
    let values = headers::legacy_values(current);
    let sealed = headers::seal(ob, current.tenant_id, current.id, &values).await?;
    Ok(Some((current.legacy_headers.clone(), sealed)))
}

/// Swaps legacy headers for their sealed form, unless they changed since they were sealed.
fn apply_resealed(e: &mut Endpoint, resealed: &Option<(LegacyHeaders, Option<SealedHeaders>)>) {
    if let Some((legacy, sealed)) = resealed
        && e.legacy_headers == *legacy
        && e.sealed_headers.is_none()
    {
        e.sealed_headers.clone_from(sealed);
        e.legacy_headers = LegacyHeaders::default();
    }
}

/// Adds a new signing secret; the others keep signing until `grace` has passed, but at most
/// [`MAX_SIGNING_SECRETS`] sign at once: past that, the oldest stop signing now.
pub async fn rotate(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    grace: chrono::Duration,
    audit: &Recorder,
) -> Result<(SecretString, DateTime<Utc>), DomainError> {
    let current = get(ob.store(), tenant, id).await?;
    let resealed = reseal_legacy(ob, &current).await?;
    let (secret, text) = new_secret(ob, tenant, id).await?;
    let retire_at = Utc::now() + grace;
    let rotate = |e: &mut Endpoint| {
        let now = Utc::now();
        e.secrets.retain(|s| s.expires_at.is_none_or(|t| t > now));
        for old in &mut e.secrets {
            old.expires_at = Some(old.expires_at.map_or(retire_at, |t| t.min(retire_at)));
        }
        // Newest first, so truncating retires the oldest.
        e.secrets.insert(0, secret.clone());
        e.secrets.truncate(MAX_SIGNING_SECRETS);
        apply_resealed(e, &resealed);
        Ok(())
    };
    modify_audited(ob, tenant, id, rotate, audit, |_| {
        Action::WebhookSecretRotated
    })
    .await?;
    Ok((text, retire_at))
}

/// Applies a validated change to a live endpoint, sealing new headers first.
pub async fn update(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    change: &EndpointChange,
    audit: &Recorder,
) -> Result<Endpoint, DomainError> {
    let current = get(ob.store(), tenant, id).await?;
    let (new_headers, resealed) = match &change.headers {
        Some(values) => (Some(headers::seal(ob, tenant, id, values).await?), None),
        None => (None, reseal_legacy(ob, &current).await?),
    };
    let action = |changes: &[FieldChange]| {
        toggle_or(
            changes,
            "enabled",
            Action::WebhookEnabled,
            Action::WebhookDisabled,
            Action::WebhookUpdated,
        )
    };
    let apply = |e: &mut Endpoint| {
        change.apply(e);
        if let Some(sealed) = &new_headers {
            e.sealed_headers.clone_from(sealed);
            e.legacy_headers = LegacyHeaders::default();
        }
        apply_resealed(e, &resealed);
        Ok(())
    };
    modify_audited(ob, tenant, id, apply, audit, action).await
}

/// Whether a test send may go to `endpoint`. A disabled endpoint gets nothing unless the caller
/// forces it: Switchboard disables endpoints whose receiver is gone or asked (410) to be left
/// alone, and a tenant disables one to stop traffic to it.
pub fn ensure_testable(endpoint: &Endpoint, force: bool) -> Result<(), DomainError> {
    if endpoint.enabled || force {
        return Ok(());
    }
    let why = endpoint
        .disabled_reason
        .as_deref()
        .map_or_else(String::new, |r| format!(" ({r})"));
    Err(DomainError::Conflict(format!(
        "the endpoint is disabled{why}; enable it, or pass `force=true` to send the test anyway"
    )))
}

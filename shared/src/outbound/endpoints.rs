//! The endpoint repository and lifecycle: create (with a signing secret), list, view, update,
//! soft delete, rotate the secret.

use super::Outbound;
use crate::crypto::envelope;
use crate::error::DomainError;
use crate::model::endpoint::{Endpoint, EndpointChange, EndpointSettings, StoredSecret};
use crate::model::{EndpointId, TenantId};
use crate::signing::standard::SigningKey;
use crate::store::versioned::{self, Versioned};
use crate::store::{Condition, ItemKey, Query, Store, from_item, query_kept, to_item};
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

/// Creates an endpoint; returns it and its `whsec_` secret (to show once).
pub async fn create(
    ob: &Outbound,
    tenant: TenantId,
    settings: EndpointSettings,
) -> Result<(Endpoint, SecretString), DomainError> {
    create_with_id(ob, tenant, EndpointId::generate(), settings).await
}

/// Creates an endpoint with a given id (demo data); fails with a conflict if it exists.
pub async fn create_with_id(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    settings: EndpointSettings,
) -> Result<(Endpoint, SecretString), DomainError> {
    let (secret, text) = new_secret(ob, tenant, id).await?;
    let now = Utc::now();
    let endpoint = Endpoint {
        id,
        tenant_id: tenant,
        url: settings.url,
        event_types: settings.event_types,
        headers: settings.headers,
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
    ob.store()
        .put(
            to_item(&record_key(tenant, id), &endpoint)?,
            Some(Condition::Absent),
        )
        .await?;
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
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (page, last) = list(store, tenant, 250, after).await?;
        out.extend(page);
        match last {
            Some(sk) => after = Some(sk),
            None => return Ok(out),
        }
    }
}

/// Changes a live endpoint with `change`.
pub async fn modify(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    change: impl Fn(&mut Endpoint) -> Result<(), DomainError>,
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
        |_| Ok(Vec::new()),
    )
    .await?;
    ob.evict(tenant);
    Ok(updated)
}

/// Soft-deletes an endpoint: it stops receiving at once; its attempt log stays until it expires.
pub async fn delete(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
) -> Result<Endpoint, DomainError> {
    modify(ob, tenant, id, |e| {
        e.deleted_at = Some(Utc::now());
        e.enabled = false;
        Ok(())
    })
    .await
}

/// Adds a new signing secret; the others keep signing until `grace` has passed.
pub async fn rotate(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    grace: chrono::Duration,
) -> Result<(SecretString, DateTime<Utc>), DomainError> {
    let (secret, text) = new_secret(ob, tenant, id).await?;
    let retire_at = Utc::now() + grace;
    modify(ob, tenant, id, |e| {
        let now = Utc::now();
        e.secrets.retain(|s| s.expires_at.is_none_or(|t| t > now));
        for old in &mut e.secrets {
            old.expires_at = Some(old.expires_at.map_or(retire_at, |t| t.min(retire_at)));
        }
        e.secrets.insert(0, secret.clone());
        Ok(())
    })
    .await?;
    Ok((text, retire_at))
}

/// Applies a validated change to a live endpoint.
pub async fn update(
    ob: &Outbound,
    tenant: TenantId,
    id: EndpointId,
    change: &EndpointChange,
) -> Result<Endpoint, DomainError> {
    modify(ob, tenant, id, |e| {
        change.apply(e);
        Ok(())
    })
    .await
}

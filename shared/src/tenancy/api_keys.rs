//! The API key repository and lifecycle: create, list, view, update, revoke, roll, delete.

use super::{last_admin, tenant_pk};
use crate::audit::snapshot::{changed, created, deleted};
use crate::audit::{Action, FieldChange, Recorder, Target, TargetType, toggle_or};
use crate::error::DomainError;
use crate::model::api_key::{ApiKey, ApiKeyAuth, ApiKeyChange, NewApiKey, check_grant};
use crate::model::{KeyId, Scope, TenantId};
use crate::store::versioned::{self, Versioned};
use crate::store::{
    Condition, ItemKey, Query, Store, StoreError, TxOp, Update, from_item, query_records, to_item,
};
use crate::tenancy::key_format::{self, KeyHash};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

impl Versioned for ApiKey {
    fn version(&self) -> u64 {
        self.version
    }
    fn bump(&mut self, version: u64, now: DateTime<Utc>) {
        self.version = version;
        self.updated_at = now;
    }
}

/// Sort-key prefix of key records in a tenant partition.
pub const SK_PREFIX: &str = "KEY#";

/// Where a key's record lives.
pub(crate) fn record_key(tenant: TenantId, id: KeyId) -> ItemKey {
    ItemKey::new(tenant_pk(tenant), format!("{SK_PREFIX}{id}"))
}

fn auth_key(hash_hex: &str) -> ItemKey {
    ItemKey::new(format!("KEYHASH#{hash_hex}"), "KEYHASH")
}

/// A new key record for `tenant` with a fresh secret. Nothing is written.
pub fn new_record(tenant: TenantId, new: NewApiKey, secret: &SecretString) -> ApiKey {
    let now = Utc::now();
    ApiKey {
        id: KeyId::generate(),
        tenant_id: tenant,
        name: new.name,
        start: key_format::display_prefix(secret),
        hash: KeyHash::of(secret.expose_secret()).to_hex(),
        scopes: new.scopes,
        enabled: true,
        expires_at: new.expires_at,
        revoked_at: None,
        created_at: now,
        updated_at: now,
        usage_count: 0,
        last_used_at: None,
        replaced_by: None,
        version: 1,
    }
}

/// The writes that store a brand-new key (fails if its id or hash exist already).
pub fn insert_ops(key: &ApiKey) -> Result<Vec<TxOp>, StoreError> {
    Ok(vec![
        TxOp::Put {
            item: to_item(&record_key(key.tenant_id, key.id), key)?,
            condition: Some(Condition::Absent),
        },
        TxOp::Put {
            item: to_item(&auth_key(&key.hash), &ApiKeyAuth::from(key))?,
            condition: Some(Condition::Absent),
        },
    ])
}

/// The write of a key's auth projection, which follows every change to the key.
fn auth_put(key: &ApiKey) -> Result<TxOp, StoreError> {
    Ok(TxOp::Put {
        item: to_item(&auth_key(&key.hash), &ApiKeyAuth::from(key))?,
        condition: None,
    })
}

/// The writes that store a changed key whose stored version is `expected_version`.
fn replace_ops(key: &ApiKey, expected_version: u64) -> Result<Vec<TxOp>, StoreError> {
    Ok(vec![
        TxOp::Put {
            item: to_item(&record_key(key.tenant_id, key.id), key)?,
            condition: Some(Condition::VersionEquals(expected_version)),
        },
        auth_put(key)?,
    ])
}

/// The audit target of a key.
pub fn target(id: KeyId) -> Target {
    Target::new(TargetType::ApiKey, id)
}

/// Creates a key for a caller holding `grantor`; returns the record and the secret (to show
/// once). 403 when the key would hold a scope `grantor` lacks.
pub async fn create(
    store: &dyn Store,
    tenant: TenantId,
    grantor: &[Scope],
    new: NewApiKey,
    audit: &Recorder,
) -> Result<(ApiKey, SecretString), DomainError> {
    check_grant(grantor, &new.scopes, "grant")?;
    let secret = key_format::generate();
    let key = new_record(tenant, new, &secret);
    let mut ops = insert_ops(&key)?;
    ops.push(audit.op(tenant, Action::ApiKeyCreated, target(key.id), created(&key))?);
    store.transact(ops).await?;
    Ok((key, secret))
}

/// One key of `tenant`.
pub async fn get(store: &dyn Store, tenant: TenantId, id: KeyId) -> Result<ApiKey, DomainError> {
    let item = store
        .get(&record_key(tenant, id))
        .await?
        .ok_or(DomainError::NotFound("API key"))?;
    Ok(from_item(item)?)
}

/// A page of `tenant`'s keys, newest first. `after` is the `last_sk` of the previous page.
pub async fn list(
    store: &dyn Store,
    tenant: TenantId,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<ApiKey>, Option<String>), DomainError> {
    let query = Query::prefix(tenant_pk(tenant), SK_PREFIX)
        .backward()
        .limit(limit)
        .start_after(after);
    Ok(query_records(store, &query).await?)
}

/// Reads, changes with `change` (given the time of the read), and writes back a key and its
/// auth projection with the audit entry of `action(changes)`, retrying when a concurrent change
/// won. A change that takes the tenant's last active `admin` key out of service is refused
/// (409, see [`last_admin`]).
pub async fn modify(
    store: &dyn Store,
    tenant: TenantId,
    id: KeyId,
    change: impl Fn(&mut ApiKey, DateTime<Utc>) -> Result<(), DomainError>,
    audit: &Recorder,
    action: impl Fn(&[FieldChange]) -> Action,
) -> Result<ApiKey, DomainError> {
    versioned::retrying("API key", || async {
        let before = get(store, tenant, id).await?;
        let now = Utc::now();
        let mut key = before.clone();
        change(&mut key, now)?;
        key.bump(before.version + 1, now);
        let mut ops = replace_ops(&key, before.version)?;
        let changes = changed(&before, &key);
        ops.push(audit.op(tenant, action(&changes), target(id), changes)?);
        if before.is_active_admin(now) && !key.is_active_admin(now) {
            ops.push(last_admin::keep_another(store, tenant, id, now).await?);
        }
        Ok(versioned::commit(store, ops).await?.then_some(key))
    })
    .await
}

/// Applies a validated change to a key for a caller holding `grantor`: 403 when the new
/// scopes hold one `grantor` lacks, 409 when it would revive a rolled or expired key or take
/// the last active `admin` key out of service.
pub async fn update(
    store: &dyn Store,
    tenant: TenantId,
    id: KeyId,
    grantor: &[Scope],
    change: &ApiKeyChange,
    audit: &Recorder,
) -> Result<ApiKey, DomainError> {
    if let Some(scopes) = &change.scopes {
        check_grant(grantor, scopes, "grant")?;
    }
    let action = |changes: &[FieldChange]| {
        toggle_or(
            changes,
            "enabled",
            Action::ApiKeyEnabled,
            Action::ApiKeyDisabled,
            Action::ApiKeyUpdated,
        )
    };
    modify(
        store,
        tenant,
        id,
        |key, now| change.apply(key, now),
        audit,
        action,
    )
    .await
}

/// Revokes a key now. Revoking a revoked key changes nothing. 409 for the last active `admin`
/// key.
pub async fn revoke(
    store: &dyn Store,
    tenant: TenantId,
    id: KeyId,
    audit: &Recorder,
) -> Result<ApiKey, DomainError> {
    modify(
        store,
        tenant,
        id,
        |key, now| {
            key.revoked_at.get_or_insert(now);
            Ok(())
        },
        audit,
        |_| Action::ApiKeyRevoked,
    )
    .await
}

/// Deletes a key and its auth projection; returns what was deleted. 409 for the last active
/// `admin` key.
pub async fn delete(
    store: &dyn Store,
    tenant: TenantId,
    id: KeyId,
    audit: &Recorder,
) -> Result<ApiKey, DomainError> {
    versioned::retrying("API key", || async {
        let key = get(store, tenant, id).await?;
        let now = Utc::now();
        let mut ops = vec![
            TxOp::Delete {
                key: record_key(tenant, id),
                condition: Some(Condition::VersionEquals(key.version)),
            },
            TxOp::Delete {
                key: auth_key(&key.hash),
                condition: None,
            },
            audit.op(tenant, Action::ApiKeyDeleted, target(id), deleted(&key))?,
        ];
        if key.is_active_admin(now) {
            ops.push(last_admin::keep_another(store, tenant, id, now).await?);
        }
        Ok(versioned::commit(store, ops).await?.then_some(key))
    })
    .await
}

/// Replaces a key with a new one of the same settings for a caller holding `grantor`; the old
/// one expires after `grace` (or keeps its own earlier expiry) and is marked as replaced, so it
/// can be neither rolled again nor extended. Returns `(new, secret, old)`. 403 when the key
/// holds a scope `grantor` lacks: the new secret would hand it out.
pub async fn roll(
    store: &dyn Store,
    tenant: TenantId,
    id: KeyId,
    grantor: &[Scope],
    grace: chrono::Duration,
    audit: &Recorder,
) -> Result<(ApiKey, SecretString, ApiKey), DomainError> {
    versioned::retrying("API key", || async {
        let before = get(store, tenant, id).await?;
        let mut old = before.clone();
        let now = Utc::now();
        check_grant(grantor, &old.scopes, "roll a key with")?;
        if old.replaced_by.is_some() {
            return Err(DomainError::Conflict(
                "this API key was rolled already: roll the key that replaced it".into(),
            ));
        }
        if old.revoked_at.is_some() {
            return Err(DomainError::Conflict(
                "a revoked API key cannot be rolled".into(),
            ));
        }
        if old.expires_at.is_some_and(|t| t <= now) {
            return Err(DomainError::Conflict(
                "an expired API key cannot be rolled".into(),
            ));
        }
        let secret = key_format::generate();
        let mut fresh = new_record(
            tenant,
            NewApiKey {
                name: old.name.clone(),
                scopes: old.scopes.clone(),
                expires_at: old.expires_at,
            },
            &secret,
        );
        fresh.enabled = old.enabled;
        let expected = old.version;
        let grace_end = now + grace;
        old.expires_at = Some(old.expires_at.map_or(grace_end, |t| t.min(grace_end)));
        old.replaced_by = Some(fresh.id);
        old.bump(expected + 1, now);
        let mut ops = insert_ops(&fresh)?;
        ops.extend(replace_ops(&old, expected)?);
        let changes = changed(&before, &old);
        ops.push(audit.op(tenant, Action::ApiKeyRolled, target(id), changes)?);
        Ok(versioned::commit(store, ops)
            .await?
            .then_some((fresh, secret, old)))
    })
    .await
}

/// The auth projection of the key with this hash: the one read of authentication.
pub async fn find_auth(store: &dyn Store, hash: KeyHash) -> Result<Option<ApiKeyAuth>, StoreError> {
    store
        .get(&auth_key(&hash.to_hex()))
        .await?
        .map(from_item)
        .transpose()
}

/// Adds `count` uses to a key (one atomic update; nothing if the key was deleted).
pub async fn add_usage(
    store: &dyn Store,
    tenant: TenantId,
    id: KeyId,
    count: u64,
    last_used: DateTime<Utc>,
) -> Result<(), StoreError> {
    let update = Update {
        add: vec![
            (
                "usage_count".into(),
                i64::try_from(count).unwrap_or(i64::MAX),
            ),
            ("version".into(), 1),
        ],
        set: vec![("last_used_at".into(), json!(last_used))],
    };
    match store
        .update(&record_key(tenant, id), &update, Some(Condition::Exists))
        .await
    {
        Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

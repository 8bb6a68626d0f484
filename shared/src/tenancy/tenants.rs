//! The tenant repository: create (with the first admin key), list, and the operator's recovery
//! key for a tenant that locked itself out.

use super::api_keys;
use crate::audit::snapshot::{created, set};
use crate::audit::{Action, Recorder, Target, TargetType};
use crate::error::DomainError;
use crate::model::api_key::{ApiKey, NewApiKey};
use crate::model::tenant::Tenant;
use crate::model::{Scope, TenantId};
use crate::store::{Condition, ItemKey, Query, Store, TxOp, from_item, query_records, to_item};
use chrono::Utc;
use secrecy::SecretString;

const PK: &str = "TENANTS";

fn record_key(id: TenantId) -> ItemKey {
    ItemKey::new(PK, id.to_string())
}

/// Writes a tenant together with its first `admin` key, atomically.
pub async fn create(
    store: &dyn Store,
    name: String,
    audit: &Recorder,
) -> Result<(Tenant, ApiKey, SecretString), DomainError> {
    let tenant = Tenant {
        id: TenantId::generate(),
        name,
        created_at: Utc::now(),
    };
    let secret = crate::tenancy::key_format::generate();
    let key = api_keys::new_record(
        tenant.id,
        NewApiKey {
            name: "admin".into(),
            scopes: vec![Scope::Admin],
            expires_at: None,
        },
        &secret,
    );
    insert(store, &tenant, &key, audit).await?;
    Ok((tenant, key, secret))
}

/// Writes a tenant and a key record built by the caller, with the audit entry of the tenant's
/// creation (naming its first key).
pub async fn insert(
    store: &dyn Store,
    tenant: &Tenant,
    key: &ApiKey,
    audit: &Recorder,
) -> Result<(), DomainError> {
    let mut ops = vec![TxOp::Put {
        item: to_item(&record_key(tenant.id), tenant)?,
        condition: Some(Condition::Absent),
    }];
    ops.extend(api_keys::insert_ops(key)?);
    let mut changes = created(tenant);
    changes.push(set("api_key_id", key.id));
    let target = Target::new(TargetType::Tenant, tenant.id);
    ops.push(audit.op(tenant.id, Action::TenantCreated, target, changes)?);
    store.transact(ops).await?;
    Ok(())
}

/// The name of every recovery key, so that the tenant sees where it came from.
pub const RECOVERY_KEY_NAME: &str = "recovery (issued by the operator)";

/// A new `admin` key for a tenant that locked itself out (its admin keys expired, or were
/// lost), issued with the deployment's root key. 404 for an unknown tenant. The tenant's other
/// keys are left as they are: it reviews them with the new key.
///
/// Audited as `api_key.recovery_issued` (the root key, the tenant, the new key; never the
/// secret) in the transaction that inserts the key, so no recovery key exists without its entry.
pub async fn recovery_key(
    store: &dyn Store,
    id: TenantId,
    audit: &Recorder,
) -> Result<(ApiKey, SecretString), DomainError> {
    get(store, id).await?;
    let secret = crate::tenancy::key_format::generate();
    let key = api_keys::new_record(
        id,
        NewApiKey {
            name: RECOVERY_KEY_NAME.into(),
            scopes: vec![Scope::Admin],
            expires_at: None,
        },
        &secret,
    );
    let mut ops = api_keys::insert_ops(&key)?;
    let target = api_keys::target(key.id);
    ops.push(audit.op(id, Action::ApiKeyRecoveryIssued, target, created(&key))?);
    store.transact(ops).await?;
    Ok((key, secret))
}

/// One tenant.
pub async fn get(store: &dyn Store, id: TenantId) -> Result<Tenant, DomainError> {
    let item = store
        .get(&record_key(id))
        .await?
        .ok_or(DomainError::NotFound("tenant"))?;
    Ok(from_item(item)?)
}

/// A page of tenants, newest first.
pub async fn list(
    store: &dyn Store,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Tenant>, Option<String>), DomainError> {
    let query = Query::prefix(PK, "ten_")
        .backward()
        .limit(limit)
        .start_after(after);
    Ok(query_records(store, &query).await?)
}

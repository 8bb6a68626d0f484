//! The tenant repository: create (with the first admin key), list, and the operator's recovery
//! key for a tenant that locked itself out.

use super::api_keys;
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
    insert(store, &tenant, &key).await?;
    Ok((tenant, key, secret))
}

/// Writes a tenant and a key record built by the caller.
pub async fn insert(store: &dyn Store, tenant: &Tenant, key: &ApiKey) -> Result<(), DomainError> {
    let mut ops = vec![TxOp::Put {
        item: to_item(&record_key(tenant.id), tenant)?,
        condition: Some(Condition::Absent),
    }];
    ops.extend(api_keys::insert_ops(key)?);
    store.transact(ops).await?;
    Ok(())
}

/// The name of every recovery key, so that the tenant sees where it came from.
pub const RECOVERY_KEY_NAME: &str = "recovery (issued by the operator)";

/// A new `admin` key for a tenant that locked itself out (its admin keys expired, or were
/// lost), issued with the deployment's root key. 404 for an unknown tenant. The tenant's other
/// keys are left as they are: it reviews them with the new key.
///
/// Audit: this is the one place a recovery key is made, so the audit record of the issue (who:
/// the root key; what: `api_key.recovery_issued`, the tenant and the new key's id, never the
/// secret) is to be written here, as one more operation in the transaction that inserts the
/// key, so that no recovery key exists without its record.
pub async fn recovery_key(
    store: &dyn Store,
    id: TenantId,
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
    store.transact(api_keys::insert_ops(&key)?).await?;
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

//! The lockout guard: a tenant keeps at least one active `admin` key. Only an admin key can make
//! another admin key, so deleting, revoking, disabling or rescoping the last one would leave the
//! tenant with no way back but the operator's recovery key ([`super::tenants::recovery_key`]).
//!
//! A change that takes an active admin key out of service first finds another active admin key
//! and adds a check on that key's version to its own transaction. Two such changes racing on the
//! last two admin keys therefore cannot both commit: whichever commits second finds the other
//! key changed, retries, and then sees it is the last one.

use super::api_keys::{self, SK_PREFIX};
use super::tenant_pk;
use crate::error::DomainError;
use crate::model::api_key::ApiKey;
use crate::model::{KeyId, TenantId};
use crate::store::{Condition, Query, Store, TxOp, query_records};
use chrono::{DateTime, Utc};

/// How many keys one page of the search reads (the store's largest page).
const PAGE: usize = 1000;

/// The condition that must hold when `leaving` stops being an active admin key at `now`:
/// another active admin key of `tenant` is still as it was read. A conflict (409) when there
/// is none.
pub async fn keep_another(
    store: &dyn Store,
    tenant: TenantId,
    leaving: KeyId,
    now: DateTime<Utc>,
) -> Result<TxOp, DomainError> {
    let other = find_other(store, tenant, leaving, now).await?.ok_or_else(|| {
        DomainError::Conflict(
            "this is the tenant's last active `admin` key: create another admin key before \
             deleting, revoking, disabling or rescoping it"
                .into(),
        )
    })?;
    Ok(TxOp::Check {
        key: api_keys::record_key(tenant, other.id),
        condition: Condition::VersionEquals(other.version),
    })
}

/// An active admin key of `tenant` other than `leaving`, newest first.
async fn find_other(
    store: &dyn Store,
    tenant: TenantId,
    leaving: KeyId,
    now: DateTime<Utc>,
) -> Result<Option<ApiKey>, DomainError> {
    let mut after = None;
    loop {
        let query = Query::prefix(tenant_pk(tenant), SK_PREFIX)
            .backward()
            .limit(PAGE)
            .start_after(after);
        let (keys, last): (Vec<ApiKey>, _) = query_records(store, &query).await?;
        if let Some(found) = keys
            .into_iter()
            .find(|k| k.id != leaving && k.is_active_admin(now))
        {
            return Ok(Some(found));
        }
        match last {
            Some(sk) => after = Some(sk),
            None => return Ok(None),
        }
    }
}

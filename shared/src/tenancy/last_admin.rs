//! The lockout guard: a tenant keeps at least one active `admin` key. Only an admin key can make
//! another admin key, so deleting, revoking, disabling or rescoping the last one would leave the
//! tenant with no way back but the operator's recovery key ([`super::tenants::recovery_key`]).
//!
//! A change that takes an active admin key out of service first finds another active admin key
//! and adds a check on that key's version to its own transaction (a `ConditionCheck` in the same
//! `TransactWriteItems` on DynamoDB, the same SQLite transaction in `serve`). Both stores commit
//! such a transaction atomically and in a serial order, so at its commit the other key is still
//! exactly as read: an active admin key. Two removals racing on the last two admin keys
//! therefore cannot both commit: whichever commits second finds the other key changed, retries,
//! and then sees it is the last one. A chain of removals each checking the next key cannot
//! commit in full either: the last of them to commit checks a key that nothing removed.
//!
//! What it does not guard: time. The other key may carry an expiry and run out later; the
//! guard prefers a key without expiry, then the one expiring last. Setting an expiry on the last
//! admin key is allowed (it works until then); the root key's recovery key is the way back.
//! Changes that merely bump the other key's version (a usage count flush) make the removal
//! retry, never wrongly succeed.

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
    let other = find_other(store, tenant, leaving, now)
        .await?
        .ok_or_else(|| {
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

/// The active admin key of `tenant` other than `leaving` that lasts longest: the first one
/// without an expiry, else the one expiring last.
async fn find_other(
    store: &dyn Store,
    tenant: TenantId,
    leaving: KeyId,
    now: DateTime<Utc>,
) -> Result<Option<ApiKey>, DomainError> {
    let mut best: Option<ApiKey> = None;
    let mut after = None;
    loop {
        let query = Query::prefix(tenant_pk(tenant), SK_PREFIX)
            .backward()
            .limit(PAGE)
            .start_after(after);
        let (keys, last): (Vec<ApiKey>, _) = query_records(store, &query).await?;
        for key in keys
            .into_iter()
            .filter(|k| k.id != leaving && k.is_active_admin(now))
        {
            if key.expires_at.is_none() {
                return Ok(Some(key));
            }
            if best.as_ref().is_none_or(|b| key.expires_at > b.expires_at) {
                best = Some(key);
            }
        }
        match last {
            Some(sk) => after = Some(sk),
            None => return Ok(best),
        }
    }
}

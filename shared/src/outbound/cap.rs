//! The cap on a tenant's live destinations: webhook endpoints and actions together. Every
//! publish fans out to each matching destination, so their number bounds the work (and the
//! store writes) one publish can cause; one cap over both kinds keeps that bound whatever mix a
//! tenant chooses (`SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT`, default 1,000).

use super::{actions, endpoints};
use crate::error::DomainError;
use crate::model::TenantId;
use crate::store::versioned;
use crate::store::{Condition, Item, ItemKey, Store, TxOp, from_item, to_item};
use crate::tenancy::tenant_pk;
use serde::{Deserialize, Serialize};

/// How many live destinations a tenant has. Every create and delete of an endpoint or an action
/// changes it in the same transaction as the record, conditional on its version, so that
/// concurrent creates cannot pass the cap together.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct LiveCount {
    live: usize,
    version: u64,
}

/// A count as read, with the condition writing its successor needs.
pub(crate) struct Read {
    count: LiveCount,
    condition: Condition,
}

impl Read {
    pub(crate) fn live(&self) -> usize {
        self.count.live
    }
}

fn count_key(tenant: TenantId) -> ItemKey {
    ItemKey::new(tenant_pk(tenant), "EPCOUNT")
}

/// The tenant's count. A tenant without a count item yet (new, or from before the cap) has its
/// live endpoints and actions counted once.
pub(crate) async fn read(store: &dyn Store, tenant: TenantId) -> Result<Read, DomainError> {
    match store.get(&count_key(tenant)).await? {
        Some(item) => {
            let count: LiveCount = from_item(item)?;
            let condition = Condition::VersionEquals(count.version);
            Ok(Read { count, condition })
        }
        None => {
            let live = endpoints::all(store, tenant).await?.len()
                + actions::all(store, tenant).await?.len();
            Ok(Read {
                count: LiveCount { live, version: 0 },
                condition: Condition::Absent,
            })
        }
    }
}

/// Refuses a create when the tenant is at `max` (a 409 naming the cap).
pub(crate) fn check(read: &Read, max: usize) -> Result<(), DomainError> {
    if read.live() >= max {
        return Err(DomainError::Conflict(format!(
            "this tenant already has {max} destinations (webhook endpoints and actions), the most allowed; delete one to create another"
        )));
    }
    Ok(())
}

/// The write that adds one destination to the count read.
pub(crate) fn one_more(tenant: TenantId, read: &Read) -> Result<TxOp, DomainError> {
    write(tenant, read, read.live() + 1)
}

/// The write that takes one destination off the count read.
pub(crate) fn one_less(tenant: TenantId, read: &Read) -> Result<TxOp, DomainError> {
    write(tenant, read, read.live().saturating_sub(1))
}

fn write(tenant: TenantId, read: &Read, live: usize) -> Result<TxOp, DomainError> {
    let next = LiveCount {
        live,
        version: read.count.version + 1,
    };
    Ok(TxOp::Put {
        item: to_item(&count_key(tenant), &next)?,
        condition: Some(read.condition.clone()),
    })
}

/// Writes a new destination's record (`item`, which must not exist yet) with its `audit` entry
/// and the count one higher, in one transaction, if the tenant is below `max`; a concurrent
/// change of the count reads it again and retries.
pub(crate) async fn put_counted(
    store: &dyn Store,
    tenant: TenantId,
    max: usize,
    item: Item,
    audit: TxOp,
) -> Result<(), DomainError> {
    versioned::retrying("destination count", || async {
        let count = read(store, tenant).await?;
        check(&count, max)?;
        let ops = vec![
            TxOp::Put {
                item: item.clone(),
                condition: Some(Condition::Absent),
            },
            one_more(tenant, &count)?,
            audit.clone(),
        ];
        Ok::<_, DomainError>(versioned::commit(store, ops).await?.then_some(()))
    })
    .await
}

//! The stored side of usage: sharded monthly counters and the append-only ledger written with
//! them (one transaction per tenant, month and flush), and the reads that sum them.

use super::{Counter, Month, SHARDS, UsageKey};
use crate::model::TenantId;
use crate::store::{
    Condition, ItemKey, Query, Store, StoreError, TxOp, Update, from_item, to_item,
};
use crate::tally::{Batch, Counts, Sink};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The sort key of a shard's counters.
const TOTAL: &str = "TOTAL";
/// The prefix of ledger entries' sort keys.
const LEDGER_PREFIX: &str = "L#";
/// The prefix of counter attributes on the counters item (`c:events_published`).
const COUNTER_ATTR: &str = "c:";
/// Tries of one entry's transaction within a flush (conflicts with another worker on the same
/// shard, throttling) before it waits for the next flush.
const TRIES: u32 = 3;
/// Entries written at once within a flush.
const CONCURRENT_WRITES: usize = 8;

/// The partition of one shard of a tenant's month.
fn shard_pk(tenant: TenantId, month: Month, shard: u16) -> String {
    format!("USG#{tenant}#{month}#{shard:02}")
}

/// One ledger entry: what one worker counted for one tenant and month in one flush.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The flush's batch id (a retry of the batch writes the same id, so at most once).
    pub batch_id: String,
    pub tenant_id: TenantId,
    pub month: String,
    pub shard: u16,
    /// When the last of these counts was made.
    pub counted_until: DateTime<Utc>,
    pub written_at: DateTime<Utc>,
    pub counts: BTreeMap<String, u64>,
}

/// A tenant's usage of one month: the counters summed over every shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub tenant_id: TenantId,
    pub month: Month,
    /// Every counter that is not zero, by name (`events_published`, `actions.twilio`).
    pub counters: BTreeMap<String, u64>,
}

impl Usage {
    /// One counter of the fixed set.
    pub fn get(&self, counter: Counter) -> u64 {
        self.counters.get(counter.as_str()).copied().unwrap_or(0)
    }

    /// Actions fired, by provider.
    pub fn actions(&self) -> BTreeMap<String, u64> {
        self.counters
            .iter()
            .filter_map(|(name, n)| {
                name.strip_prefix(super::ACTIONS_PREFIX)
                    .map(|p| (p.to_owned(), *n))
            })
            .collect()
    }
}

/// Writes each batch entry as one transaction: the ledger entry (only if absent) and the adds
/// to the shard's counters.
pub(super) struct LedgerSink {
    store: Arc<dyn Store>,
}

impl LedgerSink {
    pub(super) fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    fn ops(
        batch_id: &str,
        shard: u16,
        key: &UsageKey,
        counts: &Counts,
    ) -> Result<Vec<TxOp>, StoreError> {
        let pk = shard_pk(key.tenant, key.month, shard);
        let entry = LedgerEntry {
            batch_id: batch_id.to_owned(),
            tenant_id: key.tenant,
            month: key.month.to_string(),
            shard,
            counted_until: counts.last_at,
            written_at: Utc::now(),
            counts: counts
                .counters
                .iter()
                .map(|(name, n)| (name.to_string(), *n))
                .collect(),
        };
        let add = counts
            .counters
            .iter()
            .map(|(name, n)| {
                (
                    format!("{COUNTER_ATTR}{name}"),
                    i64::try_from(*n).unwrap_or(i64::MAX),
                )
            })
            .collect();
        Ok(vec![
            TxOp::Put {
                item: to_item(
                    &ItemKey::new(&pk, format!("{LEDGER_PREFIX}{batch_id}")),
                    &entry,
                )?,
                condition: Some(Condition::Absent),
            },
            TxOp::Update {
                key: ItemKey::new(pk, TOTAL),
                update: Update {
                    add,
                    set: Vec::new(),
                },
                condition: None,
            },
        ])
    }

    /// Writes one entry; `true` when it is stored (now, or by an earlier try of the batch).
    async fn write_entry(
        &self,
        batch_id: &str,
        shard: u16,
        key: &UsageKey,
        counts: &Counts,
    ) -> bool {
        let ops = match Self::ops(batch_id, shard, key, counts) {
            Ok(ops) => ops,
            Err(e) => {
                tracing::error!(tenant_id = %key.tenant, error = %e, "usage entry cannot be stored");
                return false;
            }
        };
        for attempt in 1..=TRIES {
            match self.store.transact(ops.clone()).await {
                // The entry exists: an earlier try wrote it (and its adds).
                Ok(()) | Err(StoreError::ConditionFailed) => return true,
                Err(e) => {
                    tracing::warn!(tenant_id = %key.tenant, month = %key.month, attempt, error = %e,
                        "could not write usage; trying again");
                    if attempt < TRIES {
                        let [r] = crate::crypto::random::bytes::<1>();
                        let wait = 10 * u64::from(attempt) + u64::from(r) / 8;
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                }
            }
        }
        false
    }
}

#[async_trait]
impl Sink<UsageKey> for LedgerSink {
    async fn write(&self, batch: &Batch<UsageKey>) -> Vec<UsageKey> {
        let id = batch.id.to_string();
        let mut failed = Vec::new();
        for chunk in batch.entries.chunks(CONCURRENT_WRITES) {
            let written = futures::future::join_all(
                chunk
                    .iter()
                    .map(|(key, counts)| self.write_entry(&id, batch.shard, key, counts)),
            )
            .await;
            for ((key, _), ok) in chunk.iter().zip(written) {
                if !ok {
                    failed.push(*key);
                }
            }
        }
        failed
    }
}

/// A tenant's usage of `month`: the counters of every shard, summed.
pub async fn usage(store: &dyn Store, tenant: TenantId, month: Month) -> Result<Usage, StoreError> {
    let keys: Vec<ItemKey> = (0..SHARDS)
        .map(|shard| ItemKey::new(shard_pk(tenant, month, shard), TOTAL))
        .collect();
    let items = futures::future::try_join_all(keys.iter().map(|key| store.get(key))).await?;
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    for item in items.into_iter().flatten() {
        for (attr, value) in item {
            let Some(name) = attr.strip_prefix(COUNTER_ATTR) else {
                continue;
            };
            let n = value.as_u64().ok_or_else(|| {
                StoreError::Corrupt(format!("usage counter `{name}` is not a count"))
            })?;
            let sum = counters.entry(name.to_owned()).or_insert(0);
            *sum = sum.saturating_add(n);
        }
    }
    counters.retain(|_, n| *n > 0);
    Ok(Usage {
        tenant_id: tenant,
        month,
        counters,
    })
}

/// Every ledger entry of a tenant's month, shard by shard, oldest first within a shard.
pub async fn ledger(
    store: &dyn Store,
    tenant: TenantId,
    month: Month,
) -> Result<Vec<LedgerEntry>, StoreError> {
    let mut entries = Vec::new();
    for shard in 0..SHARDS {
        let mut after = None;
        loop {
            let query = Query::prefix(shard_pk(tenant, month, shard), LEDGER_PREFIX)
                .limit(1000)
                .start_after(after.take());
            let page = store.query(&query).await?;
            for item in page.items {
                entries.push(from_item::<LedgerEntry>(item)?);
            }
            match page.last_sk {
                Some(sk) => after = Some(sk),
                None => break,
            }
        }
    }
    Ok(entries)
}

/// The counters a set of ledger entries adds up to (what [`usage`] must answer).
pub fn sum(entries: &[LedgerEntry]) -> BTreeMap<String, u64> {
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for entry in entries {
        for (name, n) in &entry.counts {
            let sum = total.entry(name.clone()).or_insert(0);
            *sum = sum.saturating_add(*n);
        }
    }
    total.retain(|_, n| *n > 0);
    total
}

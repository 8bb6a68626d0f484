//! Key usage counters (`usage_count`, `last_used_at`), counted in the process's [`Tally`] and
//! written with one atomic add per key at most every [`FLUSH_EVERY`](crate::tally::FLUSH_EVERY): authenticating a request
//! must not cost a store write. A process killed between flushes loses at most that window of
//! counts. The counts are written onto the key's own record (its view shows them), so the
//! tally's shard is not used.

use crate::model::{KeyId, TenantId};
use crate::store::Store;
use crate::tally::{Batch, Sink, Tally};
use crate::tenancy::api_keys;
use async_trait::async_trait;
use std::borrow::Cow;
use std::sync::Arc;

/// The counter a key's uses are counted under.
const USES: &str = "uses";

/// Writes each key's uses onto its record.
struct KeyUsageSink {
    store: Arc<dyn Store>,
}

#[async_trait]
impl Sink<(TenantId, KeyId)> for KeyUsageSink {
    async fn write(&self, batch: &Batch<(TenantId, KeyId)>) -> Vec<(TenantId, KeyId)> {
        let mut failed = Vec::new();
        for ((tenant, key), counts) in &batch.entries {
            let uses = counts.get(USES);
            if let Err(e) =
                api_keys::add_usage(self.store.as_ref(), *tenant, *key, uses, counts.last_at).await
            {
                tracing::warn!(%tenant, %key, error = %e, "could not record key usage");
                failed.push((*tenant, *key));
            }
        }
        failed
    }
}

/// Collects uses and writes them in the background.
#[derive(Clone)]
pub struct UsageRecorder {
    tally: Tally<(TenantId, KeyId)>,
}

impl UsageRecorder {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            tally: Tally::new(Arc::new(KeyUsageSink { store })),
        }
    }

    /// Counts one use.
    pub fn record(&self, tenant: TenantId, key: KeyId) {
        self.tally.add((tenant, key), [(Cow::Borrowed(USES), 1)]);
    }

    /// Writes every pending counter now.
    pub async fn flush(&self) {
        self.tally.flush().await;
    }

    /// Writes the pending counters if the last write is a second old.
    pub async fn flush_if_due(&self) {
        self.tally.flush_if_due().await;
    }
}

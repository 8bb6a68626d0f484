//! Key usage counters (`usage_count`, `last_used_at`), batched in memory and written with one
//! atomic add per key at most every [`FLUSH_EVERY`]: authenticating a request must not cost a
//! store write. A process killed between flushes loses at most that window of counts.

use crate::model::{KeyId, TenantId};
use crate::store::Store;
use crate::tenancy::api_keys;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Pending {
    counts: HashMap<(TenantId, KeyId), (u64, DateTime<Utc>)>,
    last_flush: Option<Instant>,
}

/// Collects uses and writes them in the background.
#[derive(Clone)]
pub struct UsageRecorder {
    store: Arc<dyn Store>,
    pending: Arc<Mutex<Pending>>,
    flushing: Arc<AtomicBool>,
}

impl UsageRecorder {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            pending: Arc::new(Mutex::new(Pending::default())),
            flushing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Counts one use; starts a background flush when the last one is old enough.
    pub fn record(&self, tenant: TenantId, key: KeyId) {
        let due = {
            let Ok(mut pending) = self.pending.lock() else {
                return;
            };
            let entry = pending
                .counts
                .entry((tenant, key))
                .or_insert((0, Utc::now()));
            entry.0 += 1;
            entry.1 = Utc::now();
            let due = pending
                .last_flush
                .is_none_or(|t| t.elapsed() >= FLUSH_EVERY);
            if due {
                pending.last_flush = Some(Instant::now());
            }
            due
        };
        if due
            && !self.flushing.swap(true, Ordering::AcqRel)
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let recorder = self.clone();
            handle.spawn(async move {
                recorder.flush_inner().await;
            });
        } else if due {
            // A flush is running; the next due `record` starts another.
        }
    }

    /// Writes every pending counter now.
    pub async fn flush(&self) {
        while self.flushing.swap(true, Ordering::AcqRel) {
            tokio::task::yield_now().await;
        }
        self.flush_inner().await;
    }

    async fn flush_inner(&self) {
        let batch = match self.pending.lock() {
            Ok(mut pending) => std::mem::take(&mut pending.counts),
            Err(_) => HashMap::new(),
        };
        for ((tenant, key), (count, last_used)) in batch {
            if let Err(e) =
                api_keys::add_usage(self.store.as_ref(), tenant, key, count, last_used).await
            {
                tracing::warn!(%tenant, %key, error = %e, "could not record key usage");
            }
        }
        self.flushing.store(false, Ordering::Release);
    }
}

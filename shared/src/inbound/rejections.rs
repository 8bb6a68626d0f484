//! The per-integration count of refused webhooks (bad or missing signature, stale timestamp),
//! gathered in memory and written with one atomic add per integration at most every
//! [`FLUSH_EVERY`]: a flood of forged requests must cost the store nothing per request, and the
//! counter's key must not become a hot partition. A process killed between flushes loses at
//! most that window of counts.

use crate::model::IntegrationId;
use crate::store::{ItemKey, Store, StoreError, Update};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Where an integration's rejection count lives (beside the integration).
pub fn counter_key(integration: IntegrationId) -> ItemKey {
    ItemKey::new(format!("INT#{integration}"), "REJ")
}

/// The stored rejection count of an integration.
pub async fn stored_count(
    store: &dyn Store,
    integration: IntegrationId,
) -> Result<u64, StoreError> {
    Ok(store
        .get(&counter_key(integration))
        .await?
        .and_then(|item| item.get("n").and_then(serde_json::Value::as_u64))
        .unwrap_or(0))
}

#[derive(Default)]
struct Pending {
    counts: HashMap<IntegrationId, u64>,
    last_flush: Option<Instant>,
}

/// Collects rejections and writes them in the background.
#[derive(Clone)]
pub(super) struct RejectionCounter {
    store: Arc<dyn Store>,
    pending: Arc<Mutex<Pending>>,
    flushing: Arc<AtomicBool>,
}

impl RejectionCounter {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            pending: Arc::new(Mutex::new(Pending::default())),
            flushing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Counts one rejection; starts a background flush when the last one is old enough.
    pub fn record(&self, integration: IntegrationId) {
        let due = {
            let Ok(mut pending) = self.pending.lock() else {
                return;
            };
            *pending.counts.entry(integration).or_insert(0) += 1;
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
            let counter = self.clone();
            handle.spawn(async move {
                counter.flush_inner().await;
            });
        }
    }

    /// Writes every pending count now.
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
        for (integration, n) in batch {
            let update = Update {
                add: vec![("n".into(), i64::try_from(n).unwrap_or(i64::MAX))],
                set: Vec::new(),
            };
            if let Err(e) = self
                .store
                .update(&counter_key(integration), &update, None)
                .await
            {
                tracing::warn!(integration_id = %integration, error = %e,
                    "could not record rejected webhooks");
            }
        }
        self.flushing.store(false, Ordering::Release);
    }
}

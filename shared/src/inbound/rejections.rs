//! The per-integration count of refused webhooks (bad or missing signature, stale timestamp),
//! counted in the process's [`Tally`] and written with one atomic add per integration at most
//! every [`FLUSH_EVERY`](crate::tally::FLUSH_EVERY): a flood of forged requests must cost the store nothing per request,
//! and the counter's key must not become a hot partition. A process killed between flushes
//! loses at most that window of counts. The count lives beside the integration (its view shows
//! it), so the tally's shard is not used.

use crate::model::IntegrationId;
use crate::store::{ItemKey, Store, StoreError, Update};
use crate::tally::{Batch, Sink, Tally};
use async_trait::async_trait;
use std::borrow::Cow;
use std::sync::Arc;

/// The counter refusals are counted under.
const REJECTED: &str = "rejected";

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

/// Adds each integration's refusals to its counter.
struct RejectionSink {
    store: Arc<dyn Store>,
}

#[async_trait]
impl Sink<IntegrationId> for RejectionSink {
    async fn write(&self, batch: &Batch<IntegrationId>) -> Vec<IntegrationId> {
        let mut failed = Vec::new();
        for (integration, counts) in &batch.entries {
            let update = Update {
                add: vec![(
                    "n".into(),
                    i64::try_from(counts.get(REJECTED)).unwrap_or(i64::MAX),
                )],
                set: Vec::new(),
            };
            if let Err(e) = self
                .store
                .update(&counter_key(*integration), &update, None)
                .await
            {
                tracing::warn!(integration_id = %integration, error = %e,
                    "could not record rejected webhooks");
                failed.push(*integration);
            }
        }
        failed
    }
}

/// Collects rejections and writes them in the background.
#[derive(Clone)]
pub(super) struct RejectionCounter {
    tally: Tally<IntegrationId>,
}

impl RejectionCounter {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            tally: Tally::new(Arc::new(RejectionSink { store })),
        }
    }

    /// Counts one rejection.
    pub fn record(&self, integration: IntegrationId) {
        self.tally.add(integration, [(Cow::Borrowed(REJECTED), 1)]);
    }

    /// Writes every pending count now.
    pub async fn flush(&self) {
        self.tally.flush().await;
    }

    /// Writes the pending counts if the last write is a second old.
    pub async fn flush_if_due(&self) {
        self.tally.flush_if_due().await;
    }
}

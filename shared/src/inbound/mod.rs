//! Inbound webhooks: integrations (a tenant's hook URL for one provider), the intake pipeline
//! (find → verify → dedupe → store → enqueue, one code path for the intake Lambda and `serve`),
//! and processing (map → route → publish into the tenant's stream) run by the delivery worker.
//!
//! Access patterns (one table). Integrations change rarely and are read by id on every webhook
//! (cached); everything written per webhook has its own partition key or a write-sharded one:
//!
//! | item | PK | SK | serves | writes/s at 10,000 webhooks/s to one integration |
//! |---|---|---|---|---|
//! | integration | `INT#int_…` | `INT` | intake lookup (cached 2 s), view, update | ~0 |
//! | integration list | GSI1 `INTS#ten_…` | GSI1 `int_…` | `GET /v1/integrations` | ~0 |
//! | rejection counter | `INT#int_…` | `REJ` | the view's `rejected_count` | ≤ 1 per process (aggregated in memory) |
//! | inbound event | `IEV#evt_…` | `IEV` | status, processing, the event view | ~4 over its life (one event each) |
//! | body part | `IEV#evt_…` | `BODY#00`… | the raw body (256 KiB a part) | 1 |
//! | event list entry | `IEVL#int_…#00`–`#63` | `evt_…` | `GET …/events`, newest first | ~156 per shard |
//! | dedupe record | `IDD#int_…#<sha256 of key>` | `IDD` | duplicate deliveries (TTL = retention) | 1 |
//!
//! Records keyed by event id carry no tenant in their key: the record names its tenant and
//! integration, and every read checks both before answering.

pub mod events;
pub mod intake;
pub mod integrations;
pub mod processing;
mod rejections;

use crate::crypto::KeyProvider;
use crate::model::integration::Integration;
use crate::model::{IntegrationId, TenantId};
use crate::outbound::Outbound;
use crate::queue::Queue;
use crate::signing::inbound::ProviderConfig;
use crate::store::Store;
use moka::sync::Cache;
use rejections::RejectionCounter;
use std::sync::Arc;
use std::time::Duration;

/// How long an integration is served from memory at intake. Changes made through this process
/// evict it at once; other processes (other Lambda instances) see them within this bound. An
/// unknown id is remembered as unknown for as long, so a flood of them costs few store reads.
pub const INTEGRATION_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long an opened config (its verifier) stays in memory, so intake calls KMS at most once
/// per integration and period. Rotation adds a new sealing, which takes effect at once; a
/// sealing whose grace ends stops verifying within [`INTEGRATION_CACHE_TTL`].
pub const VERIFIER_CACHE_TTL: Duration = Duration::from_secs(300);
/// Processing attempts of one run before the event is dead (the default retry schedule's length).
pub const MAX_ATTEMPTS: u32 = 8;

/// The encryption context of an integration's config.
pub fn config_context(
    tenant: TenantId,
    integration: IntegrationId,
) -> crate::crypto::EncryptionContext {
    crate::crypto::EncryptionContext::new(tenant, integration, "integration")
}

/// The inbound context: the ports, the outbound publisher, and the per-process caches that
/// intake and processing share. Built once per process by the wiring.
pub struct Inbound {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    keys: Arc<dyn KeyProvider>,
    outbound: Arc<Outbound>,
    /// `SWITCHBOARD_PUBLIC_URL`: what hook URLs start with.
    public_base: Option<String>,
    /// How long inbound events and dedupe records are kept.
    retention: Duration,
    integrations: Cache<IntegrationId, Option<Arc<Integration>>>,
    /// Built verifiers by integration and the ids of the sealings they verify with.
    verifiers: Cache<(IntegrationId, String), ProviderConfig>,
    rejections: RejectionCounter,
}

impl Inbound {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        keys: Arc<dyn KeyProvider>,
        outbound: Arc<Outbound>,
        retention: Duration,
        public_base: Option<String>,
    ) -> Self {
        Self {
            rejections: RejectionCounter::new(Arc::clone(&store)),
            store,
            queue,
            keys,
            outbound,
            public_base: public_base.map(|b| b.trim_end_matches('/').to_owned()),
            retention,
            integrations: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(INTEGRATION_CACHE_TTL)
                .build(),
            verifiers: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(VERIFIER_CACHE_TTL)
                .build(),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn queue(&self) -> &dyn Queue {
        self.queue.as_ref()
    }

    pub fn keys(&self) -> &dyn KeyProvider {
        self.keys.as_ref()
    }

    /// The publisher routed events go through.
    pub fn outbound(&self) -> &Outbound {
        &self.outbound
    }

    /// When a record written now expires (epoch seconds).
    pub fn expiry(&self) -> i64 {
        chrono::Utc::now().timestamp() + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX)
    }

    /// The URL a provider is given for `integration`: `SWITCHBOARD_PUBLIC_URL` + `/hooks/{id}`
    /// (the path alone when no public URL is configured).
    pub fn hook_url(&self, integration: IntegrationId) -> String {
        format!(
            "{}/hooks/{integration}",
            self.public_base.as_deref().unwrap_or("")
        )
    }

    /// Forgets a cached integration (after this process changed it).
    pub fn evict(&self, integration: IntegrationId) {
        self.integrations.invalidate(&integration);
    }

    /// Writes the rejection counts gathered in memory now (shutdown, tests).
    pub async fn flush_rejections(&self) {
        self.rejections.flush().await;
    }

    /// Writes the rejection counts if the last write is a second old (end of a Lambda
    /// invocation).
    pub async fn flush_rejections_if_due(&self) {
        self.rejections.flush_if_due().await;
    }
}

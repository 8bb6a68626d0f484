//! Outbound webhooks: endpoints, publishing with fan-out, and the in-memory caches that keep the
//! delivery hot path off the store and off KMS.
//!
//! Access patterns (one table, all in the tenant partition `TEN#ten_…` unless noted):
//!
//! | item | SK | serves |
//! |---|---|---|
//! | endpoint | `EP#ep_…` | CRUD, subscription matching (all endpoints of a tenant, cached) |
//! | message | `MSG#msg_…` | the event and its destinations; `GET /v1/events/{id}` |
//! | delivery | `DLV#msg_…#ep_…` | per-destination status of one message |
//! | attempt | `ATM#ep_…#atm_…` | attempt log of an endpoint, newest first; recovery |
//! | idempotency | `IDEM#<sha256 of key>` | 24 h replay of a publish |
//! | rate window | PK `RL#ep_…`, SK epoch second | per-endpoint rate limit across workers |

pub mod endpoints;
pub mod messages;
pub mod publish;
pub mod recover;

use crate::crypto::{EncryptionContext, KeyProvider, envelope};
use crate::error::DomainError;
use crate::metrics::Metrics;
use crate::model::endpoint::{Endpoint, StoredSecret};
use crate::model::message::Message;
use crate::model::{EndpointId, MessageId, TenantId};
use crate::queue::{OutgoingJob, Queue};
use crate::signing::standard::SigningKey;
use crate::store::Store;
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;

/// How long a tenant's endpoint list is served from memory. Changes made through this process
/// evict it at once; other processes see them within this bound.
pub const ENDPOINT_CACHE_TTL: Duration = Duration::from_secs(2);
/// How long a decrypted signing secret stays in memory, so that deliveries never call KMS on
/// the hot path. Rotation adds a new secret id, so it takes effect at once regardless.
pub const SECRET_CACHE_TTL: Duration = Duration::from_secs(300);
/// How long a just-published message is kept in memory for its first delivery attempts.
pub const MESSAGE_CACHE_TTL: Duration = Duration::from_secs(120);

/// The encryption context of an endpoint's signing secret.
pub fn secret_context(
    tenant: TenantId,
    endpoint: EndpointId,
    secret_id: &str,
) -> EncryptionContext {
    EncryptionContext::new(tenant, endpoint, format!("signing_secret:{secret_id}"))
}

/// The outbound context: the ports and per-process caches that endpoints, publishing and the
/// delivery engine share. Built once per process by the wiring; every outbound operation takes
/// it instead of the whole application.
pub struct Outbound {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    keys: Arc<dyn KeyProvider>,
    /// How long events, deliveries and attempts are kept.
    retention: Duration,
    endpoints: Cache<TenantId, Arc<Vec<Arc<Endpoint>>>>,
    secrets: Cache<(EndpointId, String), SigningKey>,
    messages: Cache<MessageId, Arc<Message>>,
    metrics: Arc<Metrics>,
}

impl Outbound {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        keys: Arc<dyn KeyProvider>,
        retention: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            metrics,
            store,
            queue,
            keys,
            retention,
            endpoints: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ENDPOINT_CACHE_TTL)
                .build(),
            secrets: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SECRET_CACHE_TTL)
                .build(),
            messages: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(MESSAGE_CACHE_TTL)
                .build(),
        }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn keys(&self) -> &dyn KeyProvider {
        self.keys.as_ref()
    }

    pub fn queue(&self) -> &dyn Queue {
        self.queue.as_ref()
    }

    /// Where publishing and the delivery engine count what they do.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// When a record written now expires (epoch seconds).
    pub fn expiry(&self) -> i64 {
        chrono::Utc::now().timestamp() + i64::try_from(self.retention.as_secs()).unwrap_or(i64::MAX)
    }

    /// Queues jobs (in batches of up to 10 per call to the queue).
    pub async fn enqueue(&self, jobs: Vec<OutgoingJob>) -> Result<(), DomainError> {
        self.queue.send_batch(jobs).await?;
        Ok(())
    }

    /// The live (not deleted) endpoints of `tenant`.
    pub async fn tenant_endpoints(
        &self,
        tenant: TenantId,
    ) -> Result<Arc<Vec<Arc<Endpoint>>>, DomainError> {
        if let Some(found) = self.endpoints.get(&tenant) {
            return Ok(found);
        }
        let loaded = Arc::new(
            endpoints::all(self.store(), tenant)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        self.endpoints.insert(tenant, Arc::clone(&loaded));
        Ok(loaded)
    }

    /// One live endpoint, from the tenant cache when possible.
    pub async fn endpoint(
        &self,
        tenant: TenantId,
        id: EndpointId,
    ) -> Result<Option<Arc<Endpoint>>, DomainError> {
        let cached = self.tenant_endpoints(tenant).await?;
        if let Some(e) = cached.iter().find(|e| e.id == id) {
            return Ok(Some(Arc::clone(e))); // no copy of the endpoint per delivery
        }
        // Created since the cache was filled, possibly by another process.
        match endpoints::get(self.store(), tenant, id).await {
            Ok(e) => {
                self.evict(tenant);
                Ok(Some(Arc::new(e)))
            }
            Err(DomainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Forgets a tenant's cached endpoints (after this process changed one).
    pub fn evict(&self, tenant: TenantId) {
        self.endpoints.invalidate(&tenant);
    }

    /// The keys that sign for `endpoint` now, decrypted once per [`SECRET_CACHE_TTL`].
    pub async fn signing_keys(&self, endpoint: &Endpoint) -> Result<Vec<SigningKey>, DomainError> {
        let mut out = Vec::new();
        for secret in endpoint.signing_secrets(chrono::Utc::now()) {
            out.push(self.signing_key(endpoint, secret).await?);
        }
        Ok(out)
    }

    async fn signing_key(
        &self,
        endpoint: &Endpoint,
        secret: &StoredSecret,
    ) -> Result<SigningKey, DomainError> {
        let cache_key = (endpoint.id, secret.id.clone());
        if let Some(key) = self.secrets.get(&cache_key) {
            return Ok(key);
        }
        let ctx = secret_context(endpoint.tenant_id, endpoint.id, &secret.id);
        let plain = envelope::open(self.keys.as_ref(), &ctx, &secret.sealed).await?;
        let key = SigningKey::from_bytes(plain);
        self.secrets.insert(cache_key, key.clone());
        Ok(key)
    }

    /// A message, from memory when it was published recently.
    pub async fn message(
        &self,
        tenant: TenantId,
        id: MessageId,
    ) -> Result<Option<Arc<Message>>, DomainError> {
        if let Some(m) = self.messages.get(&id) {
            return Ok(Some(m));
        }
        let found = messages::get_message(self.store(), tenant, id)
            .await?
            .map(Arc::new);
        if let Some(m) = &found {
            self.messages.insert(id, Arc::clone(m));
        }
        Ok(found)
    }

    /// Keeps a just-published message in memory for its first deliveries.
    pub fn remember(&self, message: Arc<Message>) {
        self.messages.insert(message.id, message);
    }
}

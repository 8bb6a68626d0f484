//! Outbound webhooks: endpoints, publishing with fan-out, and the in-memory caches that keep the
//! delivery hot path off the store and off KMS.
//!
//! Access patterns (one table). Only what changes rarely lives in the tenant partition
//! `TEN#ten_…`; everything written per event or per delivery has its own partition key or a
//! write-sharded one, so one tenant's traffic spreads over the table (see
//! [`messages`] for the heat figures behind the choice):
//!
//! | item | PK | SK | serves |
//! |---|---|---|---|
//! | endpoint | `TEN#ten_…` | `EP#ep_…` | CRUD, subscription matching (all of a tenant's, cached) |
//! | endpoint count | `TEN#ten_…` | `EPCOUNT` | the tenant's live endpoints, for the per-tenant cap |
//! | message | `MSG#msg_…` | `MSG` | the event and its destinations; `GET /v1/events/{id}` |
//! | event list | GSI1 `EVT#ten_…#00`–`#15` | GSI1 `msg_…` | `GET /v1/events`, recovery since T |
//! | delivery | `MSG#msg_…` | `DLV#ep_…` | per-destination status of one message |
//! | attempt | `ATM#ep_…#00`–`#15` | `atm_…` | attempt log of an endpoint, newest first |
//! | idempotency | `IDEM#ten_…#<sha256 of key>` | `IDEM` | 24 h replay of a publish |
//! | rate window | `RL#ep_…` | epoch second | per-endpoint rate limit across workers |
//! | action | `TEN#ten_…` | `ACT#act_…` | CRUD, subscription matching (all of a tenant's, cached) |
//!
//! An action's deliveries and attempts are keyed like an endpoint's, by its id
//! (`DLV#act_…`, `ATM#act_…#00`–`#15`).

pub mod actions;
mod cap;
pub mod endpoints;
pub mod headers;
pub mod messages;
pub mod publish;
pub mod recover;

use crate::crypto::{EncryptionContext, KeyProvider, envelope};
use crate::error::DomainError;
use crate::metrics::Metrics;
use crate::model::action::Action;
use crate::model::endpoint::{Endpoint, HeaderValues, StoredSecret};
use crate::model::message::Message;
use crate::model::{ActionId, EndpointId, MessageId, TenantId};
use crate::queue::{OutgoingJob, Queue};
use crate::signing::standard::SigningKey;
use crate::store::Store;
use crate::usage::UsageMeter;
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
/// The default cap on a tenant's live endpoints (`SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT`).
pub const DEFAULT_MAX_ENDPOINTS: usize = 1_000;

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
    /// The most live endpoints a tenant may have: every event fans out to all of them.
    max_endpoints: usize,
    endpoints: Cache<TenantId, Arc<Vec<Arc<Endpoint>>>>,
    actions: Cache<TenantId, Arc<Vec<Arc<Action>>>>,
    secrets: Cache<(EndpointId, String), SigningKey>,
    /// Opened custom headers by endpoint and sealing id, like `secrets`.
    headers: Cache<(EndpointId, String), Arc<HeaderValues>>,
    messages: Cache<MessageId, Arc<Message>>,
    metrics: Arc<Metrics>,
    /// The process's usage counters (published events, attempts, egress).
    usage: UsageMeter,
}

impl Outbound {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn Queue>,
        keys: Arc<dyn KeyProvider>,
        retention: Duration,
    ) -> Self {
        Self {
            metrics: Arc::new(Metrics::new()),
            usage: UsageMeter::new(Arc::clone(&store)),
            store,
            queue,
            keys,
            retention,
            max_endpoints: DEFAULT_MAX_ENDPOINTS,
            endpoints: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ENDPOINT_CACHE_TTL)
                .build(),
            actions: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ENDPOINT_CACHE_TTL)
                .build(),
            secrets: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SECRET_CACHE_TTL)
                .build(),
            headers: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SECRET_CACHE_TTL)
                .build(),
            messages: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(MESSAGE_CACHE_TTL)
                .build(),
        }
    }

    /// Caps the live endpoints of each tenant at `max` (default [`DEFAULT_MAX_ENDPOINTS`]).
    pub fn with_max_endpoints(mut self, max: usize) -> Self {
        self.max_endpoints = max;
        self
    }

    /// Records into `metrics` (the process's instruments) instead of a private set.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Counts usage into `usage` (the process's meter) instead of a private one.
    pub fn with_usage(mut self, usage: UsageMeter) -> Self {
        self.usage = usage;
        self
    }

    /// The process's usage counters.
    pub fn usage(&self) -> &UsageMeter {
        &self.usage
    }

    /// The most live destinations (webhook endpoints and actions together) a tenant may have.
    pub fn max_endpoints(&self) -> usize {
        self.max_endpoints
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

    /// The actions of `tenant` (enabled or not), cached like endpoints.
    pub async fn tenant_actions(
        &self,
        tenant: TenantId,
    ) -> Result<Arc<Vec<Arc<Action>>>, DomainError> {
        if let Some(found) = self.actions.get(&tenant) {
            return Ok(found);
        }
        let loaded = Arc::new(
            actions::all(self.store(), tenant)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect(),
        );
        self.actions.insert(tenant, Arc::clone(&loaded));
        Ok(loaded)
    }

    /// One action, from the tenant cache when possible.
    pub async fn action(
        &self,
        tenant: TenantId,
        id: ActionId,
    ) -> Result<Option<Arc<Action>>, DomainError> {
        let cached = self.tenant_actions(tenant).await?;
        if let Some(a) = cached.iter().find(|a| a.id == id) {
            return Ok(Some(Arc::clone(a)));
        }
        match actions::get(self.store(), tenant, id).await {
            Ok(a) => {
                self.evict_actions(tenant);
                Ok(Some(Arc::new(a)))
            }
            Err(DomainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Forgets a tenant's cached actions (after this process changed one).
    pub fn evict_actions(&self, tenant: TenantId) {
        self.actions.invalidate(&tenant);
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

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

use crate::crypto::{EncryptionContext, KeyProvider, envelope};
use crate::delivery::client::DeliveryClient;
use crate::error::DomainError;
use crate::model::endpoint::{Endpoint, StoredSecret};
use crate::model::message::Message;
use crate::model::{EndpointId, MessageId, TenantId};
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

/// Delivery settings and caches shared by the publish path and the workers of one process.
pub struct Outbound {
    pub settings: crate::config::DeliverySettings,
    pub client: DeliveryClient,
    endpoints: Cache<TenantId, Arc<Vec<Arc<Endpoint>>>>,
    keys: Cache<(EndpointId, String), SigningKey>,
    messages: Cache<MessageId, Arc<Message>>,
}

impl Outbound {
    pub fn new(settings: crate::config::DeliverySettings, client: DeliveryClient) -> Self {
        Self {
            settings,
            client,
            endpoints: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ENDPOINT_CACHE_TTL)
                .build(),
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(SECRET_CACHE_TTL)
                .build(),
            messages: Cache::builder()
                .max_capacity(50_000)
                .time_to_live(MESSAGE_CACHE_TTL)
                .build(),
        }
    }

    /// The live (not deleted) endpoints of `tenant`.
    pub async fn tenant_endpoints(
        &self,
        store: &dyn Store,
        tenant: TenantId,
    ) -> Result<Arc<Vec<Arc<Endpoint>>>, DomainError> {
        if let Some(found) = self.endpoints.get(&tenant) {
            return Ok(found);
        }
        let loaded = Arc::new(
            endpoints::all(store, tenant)
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
        store: &dyn Store,
        tenant: TenantId,
        id: EndpointId,
    ) -> Result<Option<Arc<Endpoint>>, DomainError> {
        let cached = self.tenant_endpoints(store, tenant).await?;
        if let Some(e) = cached.iter().find(|e| e.id == id) {
            return Ok(Some(Arc::clone(e))); // no copy of the endpoint per delivery
        }
        // Created since the cache was filled, possibly by another process.
        match endpoints::get(store, tenant, id).await {
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
    pub async fn signing_keys(
        &self,
        keys: &dyn KeyProvider,
        endpoint: &Endpoint,
    ) -> Result<Vec<SigningKey>, DomainError> {
        let mut out = Vec::new();
        for secret in endpoint.signing_secrets(chrono::Utc::now()) {
            out.push(self.signing_key(keys, endpoint, secret).await?);
        }
        Ok(out)
    }

    async fn signing_key(
        &self,
        keys: &dyn KeyProvider,
        endpoint: &Endpoint,
        secret: &StoredSecret,
    ) -> Result<SigningKey, DomainError> {
        let cache_key = (endpoint.id, secret.id.clone());
        if let Some(key) = self.keys.get(&cache_key) {
            return Ok(key);
        }
        let ctx = secret_context(endpoint.tenant_id, endpoint.id, &secret.id);
        let plain = envelope::open(keys, &ctx, &secret.sealed).await?;
        let key = SigningKey::from_bytes(plain);
        self.keys.insert(cache_key, key.clone());
        Ok(key)
    }

    /// A message, from memory when it was published recently.
    pub async fn message(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        id: MessageId,
    ) -> Result<Option<Arc<Message>>, DomainError> {
        if let Some(m) = self.messages.get(&id) {
            return Ok(Some(m));
        }
        let found = messages::get_message(store, tenant, id)
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

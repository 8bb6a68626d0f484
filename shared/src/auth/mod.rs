//! Request authentication: who is calling (the root key or a tenant's API key) and with which
//! scopes.
//!
//! Cost: a key is checked offline first (shape and CRC32), then by its SHA-256 in a small cache
//! (TTL [`AUTH_CACHE_TTL`]); only a cache miss reads the store, once, from the key's hash item.
//! A revocation, disablement or rescope made through this process evicts the entry at once; in
//! other processes (other Lambda instances) it takes effect within the TTL. Expiry is checked on
//! every request against the cached expiry time, so it is exact.

pub mod usage;

use crate::model::api_key::ApiKeyAuth;
use crate::model::{KeyId, Scope, TenantId};
use crate::store::{Store, StoreError};
use crate::tenancy::api_keys;
use crate::tenancy::key_format::{self, KeyFormatError, KeyHash};
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How long a key's state may be served from memory.
pub const AUTH_CACHE_TTL: Duration = Duration::from_secs(5);

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The deployment's root key: may create and list tenants and issue a tenant's recovery
    /// key, nothing else.
    Root,
    /// A tenant's API key.
    Tenant(TenantCaller),
}

/// A tenant API key that authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCaller {
    pub tenant_id: TenantId,
    pub key_id: KeyId,
    pub scopes: Vec<Scope>,
}

impl TenantCaller {
    pub fn has(&self, scope: Scope) -> bool {
        Scope::any_grants(&self.scopes, scope)
    }
}

/// Why a request is not authenticated. Each says which, so a client can fix it.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("no API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`")]
    Missing,
    #[error("{0}")]
    Malformed(#[from] KeyFormatError),
    #[error("unknown API key")]
    Unknown,
    #[error("API key revoked")]
    Revoked,
    #[error("API key disabled")]
    Disabled,
    #[error("API key expired")]
    Expired,
    #[error("key store unavailable")]
    Unavailable(#[source] StoreError),
}

/// Checks presented keys against the root hash and the store.
pub struct Authenticator {
    store: Arc<dyn Store>,
    root_hash: Option<KeyHash>,
    cache: Cache<[u8; 32], Arc<ApiKeyAuth>>,
    usage: usage::UsageRecorder,
}

impl Authenticator {
    /// `root_hash` is the SHA-256 of the root key; `None` disables root access.
    pub fn new(store: Arc<dyn Store>, root_hash: Option<KeyHash>) -> Self {
        Self {
            usage: usage::UsageRecorder::new(Arc::clone(&store)),
            store,
            root_hash,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(AUTH_CACHE_TTL)
                .build(),
        }
    }

    /// Authenticates the raw key a request presented.
    pub async fn authenticate(&self, presented: Option<&str>) -> Result<Principal, AuthError> {
        let key = presented
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or(AuthError::Missing)?;
        key_format::check(key)?;
        let hash = KeyHash::of(key);
        if let Some(root) = &self.root_hash
            && bool::from(root.0.ct_eq(&hash.0))
        {
            return Ok(Principal::Root);
        }
        let auth = match self.cache.get(&hash.0) {
            Some(auth) => auth,
            None => {
                let found = api_keys::find_auth(self.store.as_ref(), hash)
                    .await
                    .map_err(AuthError::Unavailable)?
                    .ok_or(AuthError::Unknown)?;
                let found = Arc::new(found);
                self.cache.insert(hash.0, Arc::clone(&found));
                found
            }
        };
        // The stored hash is the lookup key, so it matched; compare again in constant time so
        // that a cache bug can never hand one key's identity to another.
        let stored = KeyHash::from_hex(&auth.hash).ok_or(AuthError::Unknown)?;
        if !bool::from(stored.0.ct_eq(&hash.0)) {
            return Err(AuthError::Unknown);
        }
        if auth.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if !auth.enabled {
            return Err(AuthError::Disabled);
        }
        if auth.expires_at.is_some_and(|t| t <= chrono::Utc::now()) {
            return Err(AuthError::Expired);
        }
        self.usage.record(auth.tenant_id, auth.key_id);
        Ok(Principal::Tenant(TenantCaller {
            tenant_id: auth.tenant_id,
            key_id: auth.key_id,
            scopes: auth.scopes.clone(),
        }))
    }

    /// Forgets a key's cached state (after this process changed it).
    pub fn evict(&self, hash_hex: &str) {
        if let Some(hash) = KeyHash::from_hex(hash_hex) {
            self.cache.invalidate(&hash.0);
        }
    }

    /// Writes pending usage counters now (shutdown, tests).
    pub async fn flush_usage(&self) {
        self.usage.flush().await;
    }

    /// Writes pending usage counters if the last write is a second old (end of a Lambda
    /// invocation).
    pub async fn flush_usage_if_due(&self) {
        self.usage.flush_if_due().await;
    }
}

//! API keys: scoped, expiring, revocable machine credentials of one tenant.

use super::tenant::validate_name;
use super::{KeyId, Scope, TenantId};
use crate::error::{DomainError, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An API key as stored in its tenant's partition. The secret itself is never stored: only its
/// SHA-256 (`hash`) and the first characters (`start`) for people to recognise it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: KeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub start: String,
    pub hash: String,
    pub scopes: Vec<Scope>,
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub usage_count: u64,
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
    /// Bumped by every change, usage flushes included; writes are conditional on it.
    pub version: u64,
}

/// What authentication needs of a key, stored under the key's hash so that a request costs one
/// read. Written in the same transaction as every change to the [`ApiKey`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyAuth {
    pub tenant_id: TenantId,
    pub key_id: KeyId,
    pub hash: String,
    pub scopes: Vec<Scope>,
    pub enabled: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyAuth {
    fn from(k: &ApiKey) -> Self {
        Self {
            tenant_id: k.tenant_id,
            key_id: k.id,
            hash: k.hash.clone(),
            scopes: k.scopes.clone(),
            enabled: k.enabled,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// Whether a key works now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    Active,
    Disabled,
    Expired,
    Revoked,
}

impl ApiKey {
    pub fn status(&self, now: DateTime<Utc>) -> ApiKeyStatus {
        if self.revoked_at.is_some() {
            ApiKeyStatus::Revoked
        } else if self.expires_at.is_some_and(|t| t <= now) {
            ApiKeyStatus::Expired
        } else if !self.enabled {
            ApiKeyStatus::Disabled
        } else {
            ApiKeyStatus::Active
        }
    }
}

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    pub name: String,
    /// At least one scope.
    pub scopes: Vec<Scope>,
    /// When the key stops working; must be in the future.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A validated key creation.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

fn validate_scopes(scopes: &[Scope]) -> Result<Vec<Scope>, FieldError> {
    if scopes.is_empty() {
        return Err(FieldError::new("scopes", "must list at least one scope"));
    }
    let mut out = scopes.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

fn validate_expiry(expires_at: Option<DateTime<Utc>>) -> Result<(), FieldError> {
    match expires_at {
        Some(t) if t <= Utc::now() => Err(FieldError::new("expires_at", "must be in the future")),
        _ => Ok(()),
    }
}

fn collect<T>(errors: Vec<FieldError>, ok: impl FnOnce() -> T) -> Result<T, DomainError> {
    if errors.is_empty() {
        Ok(ok())
    } else {
        Err(DomainError::Invalid(errors))
    }
}

impl ApiKeyCreate {
    pub fn validate(self) -> Result<NewApiKey, DomainError> {
        let mut errors = Vec::new();
        let name = validate_name("name", &self.name)
            .map_err(|e| errors.push(e))
            .ok();
        let scopes = validate_scopes(&self.scopes)
            .map_err(|e| errors.push(e))
            .ok();
        if let Err(e) = validate_expiry(self.expires_at) {
            errors.push(e);
        }
        collect(errors, || NewApiKey {
            name: name.unwrap_or_default(),
            scopes: scopes.unwrap_or_default(),
            expires_at: self.expires_at,
        })
    }
}

/// `PATCH /v1/api-keys/{id}`: every field optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub scopes: Option<Vec<Scope>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKeyUpdate {
    /// Checks the fields and applies them to `key`.
    pub fn apply(&self, key: &mut ApiKey) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if let Some(name) = &self.name {
            match validate_name("name", name) {
                Ok(n) => key.name = n,
                Err(e) => errors.push(e),
            }
        }
        if let Some(scopes) = &self.scopes {
            match validate_scopes(scopes) {
                Ok(s) => key.scopes = s,
                Err(e) => errors.push(e),
            }
        }
        if self.expires_at.is_some() {
            match validate_expiry(self.expires_at) {
                Ok(()) => key.expires_at = self.expires_at,
                Err(e) => errors.push(e),
            }
        }
        if let Some(enabled) = self.enabled {
            key.enabled = enabled;
        }
        collect(errors, || ())
    }
}

/// `POST /v1/api-keys/{id}/roll`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRoll {
    /// How long the old key keeps working, 0–2,592,000 seconds (default 3,600).
    pub grace_seconds: Option<i64>,
}

/// The default grace period of a rolled key.
pub const DEFAULT_ROLL_GRACE_SECONDS: i64 = 3600;
const MAX_ROLL_GRACE_SECONDS: i64 = 30 * 24 * 3600;

impl ApiKeyRoll {
    pub fn grace(&self) -> Result<chrono::Duration, DomainError> {
        let secs = self.grace_seconds.unwrap_or(DEFAULT_ROLL_GRACE_SECONDS);
        if !(0..=MAX_ROLL_GRACE_SECONDS).contains(&secs) {
            return Err(DomainError::invalid(
                "grace_seconds",
                format!("must be between 0 and {MAX_ROLL_GRACE_SECONDS}"),
            ));
        }
        Ok(chrono::Duration::seconds(secs))
    }
}

/// A key as returned: never the secret, never the hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyView {
    pub id: KeyId,
    pub name: String,
    /// The first characters of the key, to recognise it.
    pub start: String,
    pub scopes: Vec<Scope>,
    pub enabled: bool,
    pub status: ApiKeyStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub usage_count: u64,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            start: k.start.clone(),
            scopes: k.scopes.clone(),
            enabled: k.enabled,
            status: k.status(Utc::now()),
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
            updated_at: k.updated_at,
            usage_count: k.usage_count,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just created or rolled: the view plus the full secret, returned this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub api_key: ApiKeyView,
    /// The full key. It cannot be shown again.
    pub key: String,
}

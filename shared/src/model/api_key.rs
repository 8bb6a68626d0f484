//! API keys: scoped, expiring, revocable machine credentials of one tenant.

use super::tenant::validate_name;
use super::{KeyId, Scope, TenantId};
use crate::error::{DomainError, Errors, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// The key a roll replaced this one with. A rolled key only ever runs out: its expiry
    /// cannot be moved and it cannot be rolled again, so its secret cannot be revived.
    #[serde(default)]
    pub replaced_by: Option<KeyId>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyStatus {
    Active,
    Disabled,
    Expired,
    Revoked,
}

impl ApiKeyStatus {
    pub const ALL: [Self; 4] = [Self::Active, Self::Disabled, Self::Expired, Self::Revoked];
}

impl ApiKey {
    /// Whether the key works now and holds `admin`: what the lockout guard
    /// ([`crate::tenancy::last_admin`]) keeps at least one of per tenant.
    pub fn is_active_admin(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == ApiKeyStatus::Active && self.scopes.contains(&Scope::Admin)
    }

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

/// A validated key creation: what the domain creates a key from.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// 403 unless `held` (the caller's scopes) grants every scope of `requested`: a key may only
/// hand out what it could do itself. `doing` says what was refused (`grant`, `roll a key with`).
pub fn check_grant(held: &[Scope], requested: &[Scope], doing: &str) -> Result<(), DomainError> {
    match Scope::first_ungranted(held, requested) {
        None => Ok(()),
        Some(scope) => Err(DomainError::Forbidden(format!(
            "this API key cannot {doing} the `{scope}` scope: a key may only grant scopes it \
             holds (`admin` holds them all)"
        ))),
    }
}

fn parse_scopes(scopes: &[Scope]) -> Result<Vec<Scope>, FieldError> {
    if scopes.is_empty() {
        return Err(FieldError::new("scopes", "must list at least one scope"));
    }
    let mut out = scopes.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

fn parse_expiry(expires_at: DateTime<Utc>) -> Result<DateTime<Utc>, FieldError> {
    if expires_at <= Utc::now() {
        return Err(FieldError::new("expires_at", "must be in the future"));
    }
    Ok(expires_at)
}

impl NewApiKey {
    /// Checks a requested key: a display name, at least one scope, an expiry in the future.
    pub fn parse(
        name: &str,
        scopes: &[Scope],
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        let name = errors.take(validate_name("name", name));
        let scopes = errors.take(parse_scopes(scopes));
        let expires_at = expires_at.map(|t| errors.take(parse_expiry(t)));
        errors.finish()?;
        Ok(Self {
            name: name.unwrap_or_default(),
            scopes: scopes.unwrap_or_default(),
            expires_at: expires_at.flatten(),
        })
    }
}

/// A validated change to a key (`PATCH`): only the fields present are changed.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyChange {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub scopes: Option<Vec<Scope>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKeyChange {
    /// Checks each present field as [`NewApiKey::parse`] does.
    pub fn parse(
        name: Option<&str>,
        enabled: Option<bool>,
        scopes: Option<&[Scope]>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<Self, DomainError> {
        let mut errors = Errors::default();
        let change = Self {
            name: name.and_then(|n| errors.take(validate_name("name", n))),
            enabled,
            scopes: scopes.and_then(|s| errors.take(parse_scopes(s))),
            expires_at: expires_at.and_then(|t| errors.take(parse_expiry(t))),
        };
        errors.finish()?;
        Ok(change)
    }

    /// Applies the change to a key record at `now`. A new expiry is refused (409) on a key that
    /// was rolled or has expired: that would bring a retired secret back.
    pub fn apply(&self, key: &mut ApiKey, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.expires_at.is_some() {
            if key.replaced_by.is_some() {
                return Err(DomainError::Conflict(
                    "this API key was rolled: its old secret only runs out, so its expiry \
                     cannot be moved (change the new key instead)"
                        .into(),
                ));
            }
            if key.expires_at.is_some_and(|t| t <= now) {
                return Err(DomainError::Conflict(
                    "this API key has expired: its expiry cannot be moved; create a new key".into(),
                ));
            }
        }
        if let Some(name) = &self.name {
            key.name.clone_from(name);
        }
        if let Some(scopes) = &self.scopes {
            key.scopes.clone_from(scopes);
        }
        if self.expires_at.is_some() {
            key.expires_at = self.expires_at;
        }
        if let Some(enabled) = self.enabled {
            key.enabled = enabled;
        }
        Ok(())
    }
}

/// The default grace period of a rolled key.
pub const DEFAULT_ROLL_GRACE_SECONDS: i64 = 3600;
/// The longest grace period of a rolled key.
pub const MAX_ROLL_GRACE_SECONDS: i64 = 30 * 24 * 3600;

/// How long the old key of a roll keeps working, checked against the bounds above.
pub fn roll_grace(seconds: Option<i64>) -> Result<chrono::Duration, DomainError> {
    let secs = seconds.unwrap_or(DEFAULT_ROLL_GRACE_SECONDS);
    if !(0..=MAX_ROLL_GRACE_SECONDS).contains(&secs) {
        return Err(DomainError::invalid(
            "grace_seconds",
            format!("must be between 0 and {MAX_ROLL_GRACE_SECONDS}"),
        ));
    }
    Ok(chrono::Duration::seconds(secs))
}

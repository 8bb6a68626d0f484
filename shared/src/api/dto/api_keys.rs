//! `/v1/api-keys` wire types.

use crate::error::DomainError;
use crate::model::api_key::{ApiKey, ApiKeyChange, ApiKeyStatus, NewApiKey};
use crate::model::{KeyId, Scope};
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyCreate {
    /// A display name: 1–128 characters, not only spaces, no control, bidi or other invisible
    /// formatting characters (the pattern lists those of the Basic Multilingual Plane).
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb][^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$"
    )]
    pub name: String,
    /// At least one scope.
    #[schema(min_items = 1)]
    pub scopes: Vec<Scope>,
    /// When the key stops working; must be in the future.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKeyCreate {
    pub fn parse(&self) -> Result<NewApiKey, DomainError> {
        NewApiKey::parse(&self.name, &self.scopes, self.expires_at)
    }
}

/// `PATCH /v1/api-keys/{id}`: every field optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyUpdate {
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb][^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$"
    )]
    pub name: Option<String>,
    pub enabled: Option<bool>,
    #[schema(min_items = 1)]
    pub scopes: Option<Vec<Scope>>,
    /// Must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

impl ApiKeyUpdate {
    pub fn parse(&self) -> Result<ApiKeyChange, DomainError> {
        ApiKeyChange::parse(
            self.name.as_deref(),
            self.enabled,
            self.scopes.as_deref(),
            self.expires_at,
        )
    }
}

/// `POST /v1/api-keys/{id}/roll`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyRoll {
    /// How long the old key keeps working, 0–2,592,000 seconds (default 3,600).
    #[schema(minimum = 0, maximum = 2_592_000)]
    #[serde(default, deserialize_with = "super::whole")]
    pub grace_seconds: Option<i64>,
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
    /// The key that replaced this one when it was rolled; a rolled key only runs out (its
    /// expiry cannot be moved, it cannot be rolled again).
    pub replaced_by: Option<KeyId>,
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
            replaced_by: k.replaced_by,
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

impl ApiKeyCreated {
    pub fn new(key: &ApiKey, secret: &SecretString) -> Self {
        Self {
            api_key: ApiKeyView::from(key),
            key: secret.expose_secret().to_owned(),
        }
    }
}

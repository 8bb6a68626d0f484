//! Tenants: the customers of the SaaS that deploys Switchboard.

use super::TenantId;
use super::api_key::ApiKeyCreated;
use crate::error::{DomainError, FieldError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/tenants`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantCreate {
    /// A display name, 1–128 characters.
    pub name: String,
}

impl TenantCreate {
    pub fn validate(&self) -> Result<String, DomainError> {
        validate_name("name", &self.name).map_err(|e| DomainError::Invalid(vec![e]))
    }
}

/// A tenant as returned.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantView {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

/// The answer to `POST /v1/tenants`: the tenant and its first `admin` key, shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TenantCreated {
    pub tenant: TenantView,
    pub api_key: ApiKeyCreated,
}

/// Trims a display name and checks it is 1–128 characters with no control characters.
pub fn validate_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if name.chars().count() > 128 {
        return Err(FieldError::new(field, "must be at most 128 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(name.to_owned())
}

//! Tenants: the customers of the SaaS that deploys Switchboard.

use super::TenantId;
use crate::error::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A tenant as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// Checks a display name (at most 128 characters, not blank, none of the characters
/// [`super::text`] refuses) and trims it.
pub fn validate_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if raw.chars().count() > 128 {
        return Err(FieldError::new(field, "must be at most 128 characters"));
    }
    if let Some(code) = super::text::first_refused(raw) {
        return Err(FieldError::new(
            field,
            format!(
                "must not contain {code}: control, bidi and other invisible formatting \
                 characters are refused"
            ),
        ));
    }
    Ok(name.to_owned())
}

//! Tenants and their API keys: the repositories (written once over the store port) and the
//! operations the admin API calls.
//!
//! Access patterns (one table):
//!
//! | item | PK | SK | serves |
//! |---|---|---|---|
//! | tenant | `TENANTS` | `ten_…` | create/list tenants (root), tenant lookup |
//! | API key | `TEN#ten_…` | `KEY#key_…` | list keys newest first, view/update/delete |
//! | key auth projection | `KEYHASH#<sha256 hex>` | `KEYHASH` | authenticating a request: one read |

pub mod api_keys;
pub mod key_format;
pub mod last_admin;
pub mod tenants;

/// The partition holding everything of one tenant.
pub fn tenant_pk(tenant: crate::model::TenantId) -> String {
    format!("TEN#{tenant}")
}

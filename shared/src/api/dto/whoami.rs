//! `GET /v1/whoami` wire types.

use crate::model::{KeyId, Scope, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which kind of key made the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// The deployment's root key: it may only create and list tenants.
    Root,
    /// A tenant's API key.
    Tenant,
}

/// The key a request was made with: what a client (the console) needs to know to offer only
/// what the key may do. Never the secret or its hash.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WhoAmI {
    pub kind: PrincipalKind,
    /// The key's tenant (`null` for the root key).
    pub tenant_id: Option<TenantId>,
    pub tenant_name: Option<String>,
    /// The key's id (`null` for the root key).
    pub key_id: Option<KeyId>,
    /// The first characters of the key, as `start` in the key list.
    pub key_prefix: Option<String>,
    pub key_name: Option<String>,
    /// The key's scopes (empty for the root key).
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

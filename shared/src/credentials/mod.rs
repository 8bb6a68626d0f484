//! Provider credentials: the provider registry (which providers, which credential fields, what
//! each serves) and connections (a tenant's stored credential, sealed under a fresh data key per
//! record with the context `{tenant_id, record_id: connection_id, purpose: "connection"}`).
//!
//! Access patterns (one table). Connections change rarely; each is read by id when an action
//! fires, so each has its own partition, and the tenant's list is spread over write shards like
//! the event list:
//!
//! | item | PK | SK | serves |
//! |---|---|---|---|
//! | connection | `CONN#conn_…` | `CONN` | view, update, revoke, [`connections::open`] |
//! | connection list entry | GSI1 `CONNS#ten_…#00`–`#15` | GSI1 `conn_…` | `GET /v1/connections`, newest first |
//!
//! The record names its tenant; every read checks it before answering (another tenant's id is
//! not found).

pub mod connections;
pub mod providers;

use crate::crypto::EncryptionContext;
use crate::model::{ConnectionId, TenantId};

/// The label of the key a fingerprint is made with (derived from the record's data key).
pub const FINGERPRINT_LABEL: &[u8] = b"switchboard connection fingerprint v1";

/// The encryption context of a connection's credentials.
pub fn connection_context(tenant: TenantId, connection: ConnectionId) -> EncryptionContext {
    EncryptionContext::new(tenant, connection, "connection")
}

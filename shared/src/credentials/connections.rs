//! The connection repository and lifecycle: create (credentials checked against the provider
//! registry, then sealed), list (filtered by provider and metadata), view, update (rename,
//! metadata, rotation under a fresh data key), revoke (ciphertext destroyed, record kept), and
//! [`open`], the one way to the plaintext, for the action worker.

use super::providers::{self, Provider, wipe};
use super::{FINGERPRINT_LABEL, connection_context};
use crate::audit::snapshot::{changed, created};
use crate::audit::{Action, Recorder, Target, TargetType};
use crate::crypto::{CryptoError, Envelope, KeyProvider, envelope};
use crate::error::{DomainError, Errors, FieldError};
use crate::model::connection::{Connection, ConnectionStatus};
use crate::model::{ConnectionId, TenantId};
use crate::ssrf::AddressPolicy;
use crate::store::versioned::{self, Versioned};
use crate::store::{
    Condition, Index, Item, ItemKey, Query, SortKeyRange, Store, StoreError, TxOp, from_item,
    query_kept_shards, to_item,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

use crate::store::LIST_SHARDS;

/// What a connection-list cursor's sort key starts with (connection ids).
pub const CURSOR_PREFIX: &str = "conn_";

impl Versioned for Connection {
    fn version(&self) -> u64 {
        self.version
    }
    fn bump(&mut self, version: u64, now: DateTime<Utc>) {
        self.version = version;
        self.updated_at = now;
    }
}

/// Where connection `id` is stored: its own partition (ownership checked on read).
pub fn record_key(id: ConnectionId) -> ItemKey {
    ItemKey::new(format!("CONN#{id}"), "CONN")
}

/// The list partition a connection is listed in: one of [`LIST_SHARDS`] per tenant, chosen by
/// the low bits of the connection's own id.
pub fn list_partition(tenant: TenantId, shard: u128) -> String {
    format!("CONNS#{tenant}#{shard:02}")
}

fn record_item(connection: &Connection) -> Result<Item, StoreError> {
    let mut item = to_item(&record_key(connection.id), connection)?;
    let shard = connection.id.ulid().random() % LIST_SHARDS;
    item.insert(
        "GSI1PK".into(),
        json!(list_partition(connection.tenant_id, shard)),
    );
    item.insert("GSI1SK".into(), json!(connection.id.to_string()));
    Ok(item)
}

/// Credentials as the tenant sent them. `Debug` shows nothing, and every string in them is
/// wiped when they are dropped.
pub struct CredentialsInput(pub Value);

impl std::fmt::Debug for CredentialsInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialsInput(…)")
    }
}

impl Drop for CredentialsInput {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// The settings of a new connection, checked but for the credentials (checked against the
/// provider here, where the record is made).
#[derive(Debug)]
pub struct ConnectionSettings {
    pub provider: String,
    pub name: String,
    pub credentials: CredentialsInput,
    pub metadata: Map<String, Value>,
}

/// A checked change (`PATCH`): only the fields present change.
#[derive(Debug, Default)]
pub struct ConnectionChange {
    pub name: Option<String>,
    /// Replaces the metadata.
    pub metadata: Option<Map<String, Value>>,
    /// New credentials: sealed under a fresh data key, `rotated_at` set.
    pub credentials: Option<CredentialsInput>,
}

/// Which connections a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ConnectionFilter {
    pub provider: Option<String>,
    /// Every `(key, value)` must match the connection's metadata.
    pub metadata: Vec<(String, String)>,
}

/// Checks `credentials` against `provider` (every bad field named `credentials.<field>`), then
/// resolves its URL fields against `policy`. Gives the fields as strings.
async fn check_credentials(
    provider: &Provider,
    credentials: &CredentialsInput,
    policy: &AddressPolicy,
) -> Result<Map<String, Value>, Vec<FieldError>> {
    provider.check(&credentials.0)?.resolve(policy).await
}

/// The sealed credentials and their fingerprint.
struct Sealing {
    envelope: Envelope,
    fingerprint: String,
    public_fields: Map<String, Value>,
}

/// Seals `values` (every field, as one JSON document) for connection `id` under a fresh data key
/// and fingerprints its secret fields with a key derived from that data key.
async fn seal(
    keys: &dyn KeyProvider,
    tenant: TenantId,
    id: ConnectionId,
    provider: &Provider,
    mut values: Map<String, Value>,
) -> Result<Sealing, DomainError> {
    let plain = Zeroizing::new(
        serde_json::to_vec(&values).map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let (envelope, key) = envelope::seal_deriving(
        keys,
        &connection_context(tenant, id),
        &plain,
        FINGERPRINT_LABEL,
    )
    .await?;
    let fingerprint = fingerprint(&key, provider, &values)?;
    let public_fields = values
        .iter()
        .filter(|(name, _)| provider.field(name).is_some_and(|f| !f.secret))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    values.values_mut().for_each(wipe);
    Ok(Sealing {
        envelope,
        fingerprint,
        public_fields,
    })
}

/// `***` + the last 4 characters of the main secret (`***` alone when it is under 12
/// characters, so that little of a short secret shows) + `:` + the first 8 bytes, in hex, of
/// HMAC-SHA256(`key`, the secret fields as canonical JSON).
fn fingerprint(
    key: &[u8; 32],
    provider: &Provider,
    values: &Map<String, Value>,
) -> Result<String, DomainError> {
    let secrets: BTreeMap<&str, &Value> = values
        .iter()
        .filter(|(name, _)| provider.field(name).is_some_and(|f| f.secret))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let canonical = Zeroizing::new(
        serde_json::to_vec(&secrets).map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| DomainError::Internal("fingerprint key length".into()))?;
    mac.update(&canonical);
    let digest = mac.finalize().into_bytes();
    let main = provider
        .main_secret()
        .and_then(|f| values.get(f.name))
        .and_then(Value::as_str)
        .unwrap_or("");
    let chars: Vec<char> = main.chars().collect();
    let tail: String = if chars.len() >= 12 {
        chars[chars.len() - 4..].iter().collect()
    } else {
        String::new()
    };
    Ok(format!("***{tail}:{}", hex::encode(&digest[..8])))
}

/// The audit target of a connection.
fn target(id: ConnectionId) -> Target {
    Target::new(TargetType::Connection, id)
}

/// Creates a connection.
pub async fn create(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    policy: &AddressPolicy,
    tenant: TenantId,
    settings: ConnectionSettings,
    audit: &Recorder,
) -> Result<Connection, DomainError> {
    let id = ConnectionId::generate();
    create_with_id(store, keys, policy, tenant, id, settings, audit).await
}

/// [`create`] with a known id (the demo's fixed connections).
pub async fn create_with_id(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    policy: &AddressPolicy,
    tenant: TenantId,
    id: ConnectionId,
    settings: ConnectionSettings,
    audit: &Recorder,
) -> Result<Connection, DomainError> {
    let mut errors = Errors::default();
    let provider = errors.take(providers::lookup(&settings.provider));
    let values = match provider {
        Some(p) => match check_credentials(p, &settings.credentials, policy).await {
            Ok(values) => Some(values),
            Err(found) => {
                found.into_iter().for_each(|e| errors.push(e));
                None
            }
        },
        None => None,
    };
    errors.finish()?;
    let (Some(provider), Some(values)) = (provider, values) else {
        return Err(DomainError::Internal("credentials not checked".into()));
    };
    let sealing = seal(keys, tenant, id, provider, values).await?;
    let now = Utc::now();
    let connection = Connection {
        id,
        tenant_id: tenant,
        provider: provider.id.to_owned(),
        name: settings.name,
        public_fields: sealing.public_fields,
        metadata: settings.metadata,
        status: ConnectionStatus::Active,
        sealed: Some(sealing.envelope),
        fingerprint: sealing.fingerprint,
        rotated_at: None,
        revoked_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    store
        .transact(vec![
            TxOp::Put {
                item: record_item(&connection)?,
                condition: Some(Condition::Absent),
            },
            audit.op(
                tenant,
                Action::ConnectionCreated,
                target(id),
                created(&connection),
            )?,
        ])
        .await?;
    Ok(connection)
}

/// The tenant's connection `id` (another tenant's is not found). Revoked ones are found.
pub async fn get(
    store: &dyn Store,
    tenant: TenantId,
    id: ConnectionId,
) -> Result<Connection, DomainError> {
    let connection: Connection = from_item(
        store
            .get(&record_key(id))
            .await?
            .ok_or(DomainError::NotFound("connection"))?,
    )?;
    if connection.tenant_id != tenant {
        return Err(DomainError::NotFound("connection"));
    }
    Ok(connection)
}

/// A page of the tenant's connections that pass `filter`, newest first, merged from the list's
/// shards. `after` is the last connection id of the previous page.
pub async fn list(
    store: &dyn Store,
    tenant: TenantId,
    filter: &ConnectionFilter,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Connection>, Option<String>), DomainError> {
    let queries = (0..LIST_SHARDS)
        .map(|s| Query {
            index: Some(Index::Gsi1),
            pk: list_partition(tenant, s),
            range: SortKeyRange::Prefix(CURSOR_PREFIX.into()),
            forward: false,
            limit,
            start_after: after.clone(),
        })
        .collect();
    Ok(query_kept_shards(store, queries, limit, |c: &Connection| {
        c.tenant_id == tenant
            && filter.provider.as_ref().is_none_or(|p| *p == c.provider)
            && c.matches_metadata(&filter.metadata)
    })
    .await?)
}

/// Applies a checked change. New credentials are checked against the connection's provider and
/// sealed under a fresh data key before anything is written. A revoked connection cannot change
/// (409): it stays as it was revoked, for the trail.
pub async fn update(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    policy: &AddressPolicy,
    tenant: TenantId,
    id: ConnectionId,
    change: ConnectionChange,
    audit: &Recorder,
) -> Result<Connection, DomainError> {
    let current = get(store, tenant, id).await?;
    refuse_revoked(&current)?;
    let sealing = match &change.credentials {
        Some(credentials) => {
            let provider = providers::find(&current.provider).ok_or_else(|| {
                DomainError::Internal(format!("a stored provider `{}`", current.provider))
            })?;
            let values = check_credentials(provider, credentials, policy)
                .await
                .map_err(DomainError::Invalid)?;
            Some(seal(keys, tenant, id, provider, values).await?)
        }
        None => None,
    };
    let key = record_key(id);
    versioned::retrying("connection", || async {
        let mut connection: Connection = from_item(
            store
                .get(&key)
                .await?
                .ok_or(DomainError::NotFound("connection"))?,
        )?;
        if connection.tenant_id != tenant {
            return Err(DomainError::NotFound("connection"));
        }
        refuse_revoked(&connection)?;
        let before = connection.clone();
        let expected = connection.version;
        let now = Utc::now();
        if let Some(name) = &change.name {
            connection.name.clone_from(name);
        }
        if let Some(metadata) = &change.metadata {
            connection.metadata.clone_from(metadata);
        }
        if let Some(s) = &sealing {
            connection.sealed = Some(s.envelope.clone());
            connection.fingerprint.clone_from(&s.fingerprint);
            connection.public_fields.clone_from(&s.public_fields);
            connection.rotated_at = Some(now);
        }
        connection.bump(expected + 1, now);
        let action = if sealing.is_some() {
            Action::ConnectionRotated
        } else {
            Action::ConnectionUpdated
        };
        let ops = vec![
            TxOp::Put {
                item: record_item(&connection)?,
                condition: Some(Condition::VersionEquals(expected)),
            },
            audit.op(tenant, action, target(id), changed(&before, &connection))?,
        ];
        Ok(versioned::commit(store, ops).await?.then_some(connection))
    })
    .await
}

fn refuse_revoked(connection: &Connection) -> Result<(), DomainError> {
    match connection.status {
        ConnectionStatus::Active => Ok(()),
        ConnectionStatus::Revoked => Err(DomainError::Conflict(
            "the connection is revoked; create a new one".into(),
        )),
    }
}

/// Revokes a connection: its ciphertext is destroyed (the record is rewritten without it) and
/// the record stays, `revoked`, for the audit trail. Revoking a revoked connection changes
/// nothing and succeeds (idempotent).
pub async fn revoke(
    store: &dyn Store,
    tenant: TenantId,
    id: ConnectionId,
    audit: &Recorder,
) -> Result<Connection, DomainError> {
    let key = record_key(id);
    versioned::retrying("connection", || async {
        let mut connection: Connection = from_item(
            store
                .get(&key)
                .await?
                .ok_or(DomainError::NotFound("connection"))?,
        )?;
        if connection.tenant_id != tenant {
            return Err(DomainError::NotFound("connection"));
        }
        if connection.status == ConnectionStatus::Revoked {
            return Ok(Some(connection));
        }
        let before = connection.clone();
        let expected = connection.version;
        let now = Utc::now();
        connection.status = ConnectionStatus::Revoked;
        connection.sealed = None;
        connection.revoked_at = Some(now);
        connection.bump(expected + 1, now);
        let ops = vec![
            TxOp::Put {
                item: record_item(&connection)?,
                condition: Some(Condition::VersionEquals(expected)),
            },
            audit.op(
                tenant,
                Action::ConnectionRevoked,
                target(id),
                changed(&before, &connection),
            )?,
        ];
        Ok(versioned::commit(store, ops).await?.then_some(connection))
    })
    .await
}

/// A connection's credentials, opened: every field by name, each in a [`SecretString`] (wiped on
/// drop). `Debug` names the fields, never their values.
pub struct Credentials {
    provider: String,
    fields: BTreeMap<String, SecretString>,
}

impl Credentials {
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The field `name`, if the connection has it.
    pub fn field(&self, name: &str) -> Option<&SecretString> {
        self.fields.get(name)
    }

    /// The names of the fields present.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("provider", &self.provider)
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Why a connection's credentials could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// No such connection in the tenant.
    #[error("connection not found")]
    NotFound,
    /// The connection was revoked: there is nothing to open (an action's attempt records
    /// `connection_revoked`).
    #[error("the connection was revoked")]
    ConnectionRevoked,
    /// The key provider refused (the ciphertext does not belong to this record, tenant or
    /// purpose, or was tampered with) or is unreachable.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The opened document is not what was sealed (a bug or corrupt data).
    #[error("the stored credentials are corrupt")]
    Corrupt,
}

/// Opens the tenant's connection `id`: reads the record (ownership checked) and decrypts its
/// credentials under its encryption context. The worker calls this for each send (or keeps the
/// result for a bounded time); the plaintext never leaves the returned [`Credentials`].
pub async fn open(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    tenant: TenantId,
    id: ConnectionId,
) -> Result<Credentials, OpenError> {
    let connection: Connection = from_item(
        store
            .get(&record_key(id))
            .await?
            .ok_or(OpenError::NotFound)?,
    )?;
    if connection.tenant_id != tenant {
        return Err(OpenError::NotFound);
    }
    open_record(keys, &connection).await
}

/// Opens the credentials of a connection record already read.
pub async fn open_record(
    keys: &dyn KeyProvider,
    connection: &Connection,
) -> Result<Credentials, OpenError> {
    let sealed = match (&connection.status, &connection.sealed) {
        (ConnectionStatus::Revoked, _) | (_, None) => return Err(OpenError::ConnectionRevoked),
        (ConnectionStatus::Active, Some(sealed)) => sealed,
    };
    let ctx = connection_context(connection.tenant_id, connection.id);
    let plain = envelope::open(keys, &ctx, sealed).await?;
    let parsed: BTreeMap<String, String> =
        serde_json::from_slice(&plain).map_err(|_| OpenError::Corrupt)?;
    Ok(Credentials {
        provider: connection.provider.clone(),
        fields: parsed
            .into_iter()
            .map(|(k, v)| (k, SecretString::from(v)))
            .collect(),
    })
}

impl Credentials {
    /// Whether the field `name` holds exactly `expected` (constant time in the value): tests
    /// and diagnostics compare without exposing.
    pub fn field_equals(&self, name: &str, expected: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.fields
            .get(name)
            .is_some_and(|v| bool::from(v.expose_secret().as_bytes().ct_eq(expected.as_bytes())))
    }
}

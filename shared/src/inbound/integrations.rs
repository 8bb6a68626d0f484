//! The integration repository and lifecycle: create (config sealed), list, view, update (a new
//! config rotates the key material, the previous one verifying for a grace period), delete;
//! and, for intake, the cached integration and its verifier.

use super::{Inbound, config_context, rejections};
use crate::audit::snapshot::{changed, created, deleted};
use crate::audit::{Action, Recorder, Target, TargetType, toggle_or};
use crate::crypto::envelope;
use crate::error::{DomainError, Errors, FieldError};
use crate::model::integration::{
    EventTypeTemplate, Integration, MAX_VERIFYING_CONFIGS, Mapping, Route, SealedConfig,
    mask_secret,
};
use crate::model::{IntegrationId, TenantId};
use crate::signing::inbound::ProviderConfig;
use crate::store::versioned::{self, Versioned};
use crate::store::{
    Condition, Index, Item, ItemKey, Query, SortKeyRange, Store, StoreError, TxOp, from_item,
    query_kept, to_item,
};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use zeroize::Zeroizing;

/// What an integration-list cursor's sort key starts with (integration ids).
pub const CURSOR_PREFIX: &str = "int_";

impl Versioned for Integration {
    fn version(&self) -> u64 {
        self.version
    }
    fn bump(&mut self, version: u64, now: DateTime<Utc>) {
        self.version = version;
        self.updated_at = now;
    }
}

pub fn record_key(id: IntegrationId) -> ItemKey {
    ItemKey::new(format!("INT#{id}"), "INT")
}

/// The GSI1 partition listing a tenant's integrations.
pub fn list_partition(tenant: TenantId) -> String {
    format!("INTS#{tenant}")
}

/// The integration as stored: its record, listed in its tenant's integration list (GSI1).
fn record_item(integration: &Integration) -> Result<Item, StoreError> {
    let mut item = to_item(&record_key(integration.id), integration)?;
    item.insert(
        "GSI1PK".into(),
        json!(list_partition(integration.tenant_id)),
    );
    item.insert("GSI1SK".into(), json!(integration.id.to_string()));
    Ok(item)
}

/// A provider config as the tenant sent it (key material and options). `Debug` shows nothing.
#[derive(Clone)]
pub struct ConfigInput(pub Value);

impl std::fmt::Debug for ConfigInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigInput(…)")
    }
}

/// The settings of a new integration, checked but for the config (checked against the provider
/// here, where the record is made).
#[derive(Debug, Clone)]
pub struct IntegrationSettings {
    pub provider: String,
    pub name: String,
    pub config: ConfigInput,
    pub active: bool,
    pub mapping: BTreeMap<String, String>,
    pub route: Route,
    pub tolerance_seconds: u32,
    pub public_url: Option<String>,
}

/// A checked change (`PATCH`): only the fields present change.
#[derive(Debug, Clone, Default)]
pub struct IntegrationChange {
    pub name: Option<String>,
    /// A new config: its key material becomes current; the previous keeps verifying for `grace`.
    pub config: Option<ConfigInput>,
    pub grace: chrono::Duration,
    pub active: Option<bool>,
    pub mapping: Option<BTreeMap<String, String>>,
    pub route: Option<Route>,
    pub tolerance_seconds: Option<u32>,
    /// `Some(None)` goes back to the default URL.
    pub public_url: Option<Option<String>>,
}

/// Parses a config for `provider`; errors are field errors (`type` listing the known providers,
/// or `config.<field>`).
pub fn parse_config(provider: &str, config: &ConfigInput) -> Result<ProviderConfig, FieldError> {
    ProviderConfig::parse(provider, &config.0).map_err(|e| e.field_error())
}

/// Checks that the route's template names only variables of `mapping`.
fn check_route(route: &Route, mapping: &BTreeMap<String, String>) -> Result<(), FieldError> {
    let names: Vec<&str> = mapping.keys().map(String::as_str).collect();
    EventTypeTemplate::parse(&route.event_type, Some(names.as_slice())).map(|_| ())
}

/// Seals a parsed config under the integration's context.
async fn seal(
    inb: &Inbound,
    tenant: TenantId,
    id: IntegrationId,
    config: &ProviderConfig,
) -> Result<SealedConfig, DomainError> {
    let secret = config
        .secrets()
        .first()
        .ok_or_else(|| DomainError::Internal("a parsed config without key material".into()))?;
    let mut object = config.options().clone();
    object.insert(
        config.key_field().to_owned(),
        Value::String(secret.expose_secret().to_owned()),
    );
    let plain = Zeroizing::new(
        serde_json::to_vec(&Value::Object(object))
            .map_err(|e| DomainError::Internal(e.to_string()))?,
    );
    let sealed = envelope::seal(inb.keys(), &config_context(tenant, id), &plain).await?;
    Ok(SealedConfig {
        id: ulid::Ulid::new().to_string(),
        sealed,
        masked: mask_secret(secret.expose_secret()),
        created_at: Utc::now(),
        expires_at: None,
    })
}

/// The audit target of an integration.
fn target(id: IntegrationId) -> Target {
    Target::new(TargetType::Integration, id)
}

/// Creates an integration.
pub async fn create(
    inb: &Inbound,
    tenant: TenantId,
    settings: IntegrationSettings,
    audit: &Recorder,
) -> Result<Integration, DomainError> {
    create_with_id(inb, tenant, IntegrationId::generate(), settings, audit).await
}

/// Creates an integration with a chosen id (the demo data's fixed ids); a taken id is a
/// conflict.
pub async fn create_with_id(
    inb: &Inbound,
    tenant: TenantId,
    id: IntegrationId,
    settings: IntegrationSettings,
    audit: &Recorder,
) -> Result<Integration, DomainError> {
    let mut errors = Errors::default();
    let parsed = errors.take(parse_config(&settings.provider, &settings.config));
    errors.take(Mapping::compile(&settings.mapping));
    errors.take(check_route(&settings.route, &settings.mapping));
    errors.finish()?;
    let parsed = parsed.ok_or_else(|| DomainError::Internal("config not parsed".into()))?;
    let sealed = seal(inb, tenant, id, &parsed).await?;
    let now = Utc::now();
    let integration = Integration {
        id,
        tenant_id: tenant,
        provider: parsed.provider().to_owned(),
        name: settings.name,
        key_field: parsed.key_field().to_owned(),
        options: parsed.options().clone(),
        configs: vec![sealed],
        active: settings.active,
        mapping: settings.mapping,
        route: settings.route,
        tolerance_seconds: settings.tolerance_seconds,
        public_url: settings.public_url,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let changes = created(&integration);
    inb.store()
        .transact(vec![
            TxOp::Put {
                item: record_item(&integration)?,
                condition: Some(Condition::Absent),
            },
            audit.op(tenant, Action::IntegrationCreated, target(id), changes)?,
        ])
        .await?;
    inb.evict(id);
    Ok(integration)
}

/// The tenant's integration `id` (another tenant's is not found).
pub async fn get(
    store: &dyn Store,
    tenant: TenantId,
    id: IntegrationId,
) -> Result<Integration, DomainError> {
    let integration: Integration = from_item(
        store
            .get(&record_key(id))
            .await?
            .ok_or(DomainError::NotFound("integration"))?,
    )?;
    if integration.tenant_id != tenant {
        return Err(DomainError::NotFound("integration"));
    }
    Ok(integration)
}

/// How many webhooks to `id` were refused (stored counts; the last second's may be in memory).
pub async fn rejected_count(store: &dyn Store, id: IntegrationId) -> Result<u64, DomainError> {
    Ok(rejections::stored_count(store, id).await?)
}

/// A page of the tenant's integrations, newest first.
pub async fn list(
    store: &dyn Store,
    tenant: TenantId,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<Integration>, Option<String>), DomainError> {
    let query = Query {
        index: Some(Index::Gsi1),
        pk: list_partition(tenant),
        range: SortKeyRange::Prefix(CURSOR_PREFIX.into()),
        forward: false,
        limit,
        start_after: after,
    };
    Ok(query_kept(store, &query, limit, |i: &Integration| {
        i.tenant_id == tenant
    })
    .await?)
}

/// Applies a checked change. A new config is parsed against the integration's provider and
/// sealed; the previous configs keep verifying until `grace` has passed, at most
/// [`MAX_VERIFYING_CONFIGS`] at once (past that the oldest stop now).
pub async fn update(
    inb: &Inbound,
    tenant: TenantId,
    id: IntegrationId,
    change: &IntegrationChange,
    audit: &Recorder,
) -> Result<Integration, DomainError> {
    let current = get(inb.store(), tenant, id).await?;
    let sealed = match &change.config {
        Some(config) => {
            let parsed = parse_config(&current.provider, config)
                .map_err(|e| DomainError::Invalid(vec![e]))?;
            Some((seal(inb, tenant, id, &parsed).await?, parsed))
        }
        None => None,
    };
    if let Some(mapping) = &change.mapping {
        Mapping::compile(mapping).map_err(|e| DomainError::Invalid(vec![e]))?;
    }
    let key = record_key(id);
    let store = inb.store();
    let updated = versioned::retrying("integration", || async {
        let mut integration: Integration = from_item(
            store
                .get(&key)
                .await?
                .ok_or(DomainError::NotFound("integration"))?,
        )?;
        if integration.tenant_id != tenant {
            return Err(DomainError::NotFound("integration"));
        }
        let expected = integration.version;
        let before = integration.clone();
        apply(&mut integration, change, sealed.as_ref());
        check_route(&integration.route, &integration.mapping)
            .map_err(|e| DomainError::Invalid(vec![e]))?;
        integration.bump(expected + 1, Utc::now());
        let changes = changed(&before, &integration);
        let action = toggle_or(
            &changes,
            "active",
            Action::IntegrationEnabled,
            Action::IntegrationDisabled,
            Action::IntegrationUpdated,
        );
        let ops = vec![
            TxOp::Put {
                item: record_item(&integration)?,
                condition: Some(Condition::VersionEquals(expected)),
            },
            audit.op(tenant, action, target(id), changes)?,
        ];
        Ok(versioned::commit(store, ops).await?.then_some(integration))
    })
    .await?;
    inb.evict(id);
    Ok(updated)
}

fn apply(
    integration: &mut Integration,
    change: &IntegrationChange,
    sealed: Option<&(SealedConfig, ProviderConfig)>,
) {
    if let Some(name) = &change.name {
        integration.name.clone_from(name);
    }
    if let Some((new, parsed)) = sealed {
        let now = Utc::now();
        let retire_at = now + change.grace;
        integration
            .configs
            .retain(|c| c.expires_at.is_none_or(|t| t > now));
        for old in &mut integration.configs {
            old.expires_at = Some(old.expires_at.map_or(retire_at, |t| t.min(retire_at)));
        }
        integration.configs.insert(0, new.clone());
        integration.configs.truncate(MAX_VERIFYING_CONFIGS);
        integration.options = parsed.options().clone();
    }
    if let Some(active) = change.active {
        integration.active = active;
    }
    if let Some(mapping) = &change.mapping {
        integration.mapping.clone_from(mapping);
    }
    if let Some(route) = &change.route {
        integration.route.clone_from(route);
    }
    if let Some(t) = change.tolerance_seconds {
        integration.tolerance_seconds = t;
    }
    if let Some(url) = &change.public_url {
        integration.public_url.clone_from(url);
    }
}

/// Deletes an integration: its hook URL answers 404 at once in this process (within
/// [`super::INTEGRATION_CACHE_TTL`] in others); its received events expire with the retention.
pub async fn delete(
    inb: &Inbound,
    tenant: TenantId,
    id: IntegrationId,
    audit: &Recorder,
) -> Result<(), DomainError> {
    let current = get(inb.store(), tenant, id).await?;
    let changes = deleted(&current);
    inb.store()
        .transact(vec![
            TxOp::Delete {
                key: record_key(id),
                condition: Some(Condition::VersionEquals(current.version)),
            },
            TxOp::Delete {
                key: rejections::counter_key(id),
                condition: None,
            },
            audit.op(tenant, Action::IntegrationDeleted, target(id), changes)?,
        ])
        .await?;
    inb.evict(id);
    Ok(())
}

impl Inbound {
    /// An integration by id alone (intake: the URL carries no tenant), from memory for
    /// [`super::INTEGRATION_CACHE_TTL`].
    pub async fn integration(
        &self,
        id: IntegrationId,
    ) -> Result<Option<Arc<Integration>>, DomainError> {
        if let Some(found) = self.integrations.get(&id) {
            return Ok(found);
        }
        let loaded = self
            .store()
            .get(&record_key(id))
            .await?
            .map(from_item::<Integration>)
            .transpose()?
            .map(Arc::new);
        self.integrations.insert(id, loaded.clone());
        Ok(loaded)
    }

    /// The verifier of `integration` now: its current config plus the key material of the
    /// configs still in their grace period. Opened (one key-provider call per sealing) once per
    /// [`super::VERIFIER_CACHE_TTL`].
    pub async fn verifier(&self, integration: &Integration) -> Result<ProviderConfig, DomainError> {
        let configs: Vec<&SealedConfig> = integration.verifying_configs(Utc::now()).collect();
        let ids = configs
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let cache_key = (integration.id, ids);
        if let Some(found) = self.verifiers.get(&cache_key) {
            return Ok(found);
        }
        let ctx = config_context(integration.tenant_id, integration.id);
        let mut built: Option<ProviderConfig> = None;
        for sealed in configs {
            let plain = envelope::open(self.keys(), &ctx, &sealed.sealed).await?;
            let value: Value = serde_json::from_slice(&plain)
                .map_err(|e| DomainError::Internal(format!("a sealed config: {e}")))?;
            built = Some(match built {
                None => ProviderConfig::parse(&integration.provider, &value)
                    .map_err(|e| DomainError::Internal(format!("a stored config: {e}")))?,
                Some(current) => {
                    let secret = value
                        .get(&integration.key_field)
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            DomainError::Internal("a stored config without its key".into())
                        })?;
                    current
                        .with_grace_secret(secrecy::SecretString::from(secret.to_owned()))
                        .map_err(|e| DomainError::Internal(format!("a stored config: {e:?}")))?
                }
            });
        }
        let built =
            built.ok_or_else(|| DomainError::Internal("an integration without a config".into()))?;
        self.verifiers.insert(cache_key, built.clone());
        Ok(built)
    }
}

//! The registry of sealed record kinds: for each, how to list a tenant's records and where the
//! envelopes sit in one record, with the encryption context each was sealed for. A new kind of
//! sealed record adds one entry to [`registry`]; the walk in [`super`] is generic.

use crate::crypto::EncryptionContext;
use crate::model::TenantId;
use crate::model::connection::Connection;
use crate::model::endpoint::Endpoint;
use crate::model::integration::Integration;
use crate::store::{
    Index, Item, ItemKey, LIST_SHARDS, Query, SortKeyRange, Store, StoreError, from_item,
};
use async_trait::async_trait;
use serde_json::Value;
use std::str::FromStr;

/// How many records one listing page asks for.
pub const PAGE: usize = 100;

/// One envelope in a stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// A JSON pointer (RFC 6901) to the envelope object within the item.
    pub pointer: String,
    /// The context it was sealed for (and is rewrapped for).
    pub context: EncryptionContext,
}

/// One kind of record that holds envelopes.
#[async_trait]
pub trait SealedKind: Send + Sync {
    /// The kind's name in reports and progress lines.
    fn name(&self) -> &'static str;

    /// One page of the keys of `tenant`'s records of this kind, and where the next page starts
    /// (`None` after the last).
    async fn list(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        after: Option<String>,
    ) -> Result<(Vec<ItemKey>, Option<String>), StoreError>;

    /// The envelopes of one stored record of this kind.
    fn slots(&self, item: &Item) -> Result<Vec<Slot>, StoreError>;
}

/// Every kind of sealed record, in the order the walk visits them.
pub fn registry() -> Vec<Box<dyn SealedKind>> {
    vec![
        Box::new(Webhooks),
        Box::new(Integrations),
        Box::new(Connections),
    ]
}

/// The record keys of index entries that carry their record's `id` (of type `I`; `what` names
/// the kind in the error a malformed entry gives).
fn record_keys<I: FromStr>(
    items: &[Item],
    what: &str,
    record_key: fn(I) -> ItemKey,
) -> Result<Vec<ItemKey>, StoreError> {
    items
        .iter()
        .map(|item| {
            item.get("id")
                .and_then(Value::as_str)
                .and_then(|id| id.parse::<I>().ok())
                .map(record_key)
                .ok_or_else(|| StoreError::Corrupt(format!("{what} without an id")))
        })
        .collect()
}

/// Webhook endpoints: every signing secret (the current one and those still in their rotation
/// grace period) and the sealed custom headers. Soft-deleted endpoints are walked too: their
/// records are kept, and nothing may be left under a key that is about to be retired.
pub struct Webhooks;

#[async_trait]
impl SealedKind for Webhooks {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    async fn list(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        after: Option<String>,
    ) -> Result<(Vec<ItemKey>, Option<String>), StoreError> {
        let query = Query::prefix(
            crate::tenancy::tenant_pk(tenant),
            crate::outbound::endpoints::SK_PREFIX,
        )
        .limit(PAGE)
        .start_after(after);
        let page = store.query(&query).await?;
        let keys = page
            .items
            .iter()
            .map(ItemKey::of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((keys, page.last_sk))
    }

    fn slots(&self, item: &Item) -> Result<Vec<Slot>, StoreError> {
        let endpoint: Endpoint = from_item(item.clone())?;
        let mut slots: Vec<Slot> = endpoint
            .secrets
            .iter()
            .enumerate()
            .map(|(i, secret)| Slot {
                pointer: format!("/secrets/{i}/sealed"),
                context: crate::outbound::secret_context(
                    endpoint.tenant_id,
                    endpoint.id,
                    &secret.id,
                ),
            })
            .collect();
        if let Some(headers) = &endpoint.sealed_headers {
            slots.push(Slot {
                pointer: "/sealed_headers/sealed".into(),
                context: crate::outbound::headers::headers_context(
                    endpoint.tenant_id,
                    endpoint.id,
                    &headers.id,
                ),
            });
        }
        Ok(slots)
    }
}

/// Inbound integrations: every sealed config (the current one and those in rotation grace).
pub struct Integrations;

#[async_trait]
impl SealedKind for Integrations {
    fn name(&self) -> &'static str {
        "integrations"
    }

    async fn list(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        after: Option<String>,
    ) -> Result<(Vec<ItemKey>, Option<String>), StoreError> {
        let query = Query {
            index: Some(Index::Gsi1),
            pk: crate::inbound::integrations::list_partition(tenant),
            range: SortKeyRange::Prefix(crate::inbound::integrations::CURSOR_PREFIX.into()),
            forward: true,
            limit: PAGE,
            start_after: after,
        };
        let page = store.query(&query).await?;
        let keys = record_keys(
            &page.items,
            "an integration",
            crate::inbound::integrations::record_key,
        )?;
        Ok((keys, page.last_sk))
    }

    fn slots(&self, item: &Item) -> Result<Vec<Slot>, StoreError> {
        let integration: Integration = from_item(item.clone())?;
        let context = crate::inbound::config_context(integration.tenant_id, integration.id);
        Ok((0..integration.configs.len())
            .map(|i| Slot {
                pointer: format!("/configs/{i}/sealed"),
                context: context.clone(),
            })
            .collect())
    }
}

/// Provider connections: the sealed credentials of every connection not revoked (a revoked one
/// has no ciphertext left). Their list is spread over [`LIST_SHARDS`] partitions; the walk reads
/// them one after another, so its cursor is `{shard}/{last connection id}`.
pub struct Connections;

impl Connections {
    /// Where a cursor says to go on: the shard, and the last id read in it.
    fn position(after: Option<&str>) -> Result<(u128, Option<String>), StoreError> {
        let Some(cursor) = after else {
            return Ok((0, None));
        };
        let (shard, last) = cursor
            .split_once('/')
            .ok_or_else(|| StoreError::Corrupt(format!("connection cursor {cursor:?}")))?;
        let shard = shard
            .parse::<u128>()
            .map_err(|_| StoreError::Corrupt(format!("connection cursor {cursor:?}")))?;
        Ok((shard, (!last.is_empty()).then(|| last.to_owned())))
    }
}

#[async_trait]
impl SealedKind for Connections {
    fn name(&self) -> &'static str {
        "connections"
    }

    async fn list(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        after: Option<String>,
    ) -> Result<(Vec<ItemKey>, Option<String>), StoreError> {
        let (mut shard, mut last) = Self::position(after.as_deref())?;
        while shard < LIST_SHARDS {
            let query = Query {
                index: Some(Index::Gsi1),
                pk: crate::credentials::connections::list_partition(tenant, shard),
                range: SortKeyRange::Prefix(crate::credentials::connections::CURSOR_PREFIX.into()),
                forward: true,
                limit: PAGE,
                start_after: last.take(),
            };
            let page = store.query(&query).await?;
            let keys = record_keys(
                &page.items,
                "a connection",
                crate::credentials::connections::record_key,
            )?;
            match page.last_sk {
                Some(sk) if keys.is_empty() => last = Some(sk),
                Some(sk) => return Ok((keys, Some(format!("{shard}/{sk}")))),
                None => {
                    shard += 1;
                    if !keys.is_empty() {
                        let next = (shard < LIST_SHARDS).then(|| format!("{shard}/"));
                        return Ok((keys, next));
                    }
                }
            }
        }
        Ok((Vec::new(), None))
    }

    fn slots(&self, item: &Item) -> Result<Vec<Slot>, StoreError> {
        let connection: Connection = from_item(item.clone())?;
        Ok(match connection.sealed {
            Some(_) => vec![Slot {
                pointer: "/sealed".into(),
                context: crate::credentials::connection_context(
                    connection.tenant_id,
                    connection.id,
                ),
            }],
            None => Vec::new(),
        })
    }
}

//! Where audit entries live in the store, keyed for heat like the outbound records
//! (`outbound::messages`):
//!
//! | record | partition key | sort key | written |
//! |---|---|---|---|
//! | entry | `AUD#{entry}` | `AUD` | once, with the change it records |
//! | tenant's log | GSI1 `AUDL#{tenant}#{shard}` | GSI1 `{entry}` | with the entry |
//!
//! Each entry has its own partition; the tenant's log is spread over [`LIST_SHARDS`] index
//! partitions by the low bits of the entry's ULID, and a listing reads them all and merges by id
//! (ids sort by time, so a time range is an id range). An entry is written with
//! `attribute_not_exists` (append-only: never overwritten) and a `ttl` (the retention).

use super::{Action, ActorType, AuditEntry, TargetType};
use crate::error::DomainError;
use crate::model::{AuditId, TenantId};
use crate::store::{
    Condition, Index, Item, ItemKey, Query, SortKeyRange, Store, StoreError, TxOp, from_item,
    query_kept_shards, to_item,
};
use chrono::{DateTime, Utc};
use serde_json::json;

// Index partitions per tenant log: audit entries come with control-plane writes (tens a second
// for a busy tenant at most), so the common `LIST_SHARDS` keep each index partition far below
// DynamoDB's 1,000 writes a second even for a tenant scripting thousands of changes.
use crate::store::LIST_SHARDS;

/// What a log cursor's sort key starts with (entry ids).
pub const CURSOR_PREFIX: &str = "aud_";

fn shard(id: AuditId) -> u128 {
    id.ulid().random() % LIST_SHARDS
}

pub fn entry_key(id: AuditId) -> ItemKey {
    ItemKey::new(format!("AUD#{id}"), "AUD")
}

fn list_partition(tenant: TenantId, shard: u128) -> String {
    format!("AUDL#{tenant}#{shard:02}")
}

/// The entry as stored: its record, expiring at `ttl`, listed in its tenant's log (GSI1).
pub fn entry_item(entry: &AuditEntry, ttl: i64) -> Result<Item, StoreError> {
    let mut item = to_item(&entry_key(entry.id), entry)?;
    item.insert("ttl".into(), json!(ttl));
    item.insert(
        "GSI1PK".into(),
        json!(list_partition(entry.tenant_id, shard(entry.id))),
    );
    item.insert("GSI1SK".into(), json!(entry.id.to_string()));
    Ok(item)
}

/// The append of `entry`: a put that fails rather than overwrite an entry.
pub fn append_op(entry: &AuditEntry, ttl: i64) -> Result<TxOp, StoreError> {
    Ok(TxOp::Put {
        item: entry_item(entry, ttl)?,
        condition: Some(Condition::Absent),
    })
}

/// Which entries a listing returns; every given filter must match.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    pub actor_type: Option<ActorType>,
    /// Exactly this actor id (`key_…`, `root`).
    pub actor_id: Option<String>,
    pub action: Option<Action>,
    pub target_type: Option<TargetType>,
    /// Exactly this target id.
    pub target_id: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// At or before.
    pub until: Option<DateTime<Utc>>,
}

impl AuditFilter {
    fn matches(&self, entry: &AuditEntry, tenant: TenantId) -> bool {
        entry.tenant_id == tenant
            && self.actor_type.is_none_or(|t| t == entry.actor.kind)
            && self.actor_id.as_ref().is_none_or(|a| *a == entry.actor.id)
            && self.action.is_none_or(|a| a == entry.action)
            && self.target_type.is_none_or(|t| t == entry.target.kind)
            && self
                .target_id
                .as_ref()
                .is_none_or(|t| *t == entry.target.id)
            && self.since.is_none_or(|t| entry.occurred_at >= t)
            && self.until.is_none_or(|t| entry.occurred_at <= t)
    }
}

/// The first (or last) entry id of `at`'s millisecond.
fn id_at(at: DateTime<Utc>, last: bool) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let random = if last { u128::MAX } else { 0 };
    AuditId::from_ulid(ulid::Ulid::from_parts(ms, random)).to_string()
}

/// A page of `tenant`'s entries, newest first. `after` is the last entry id of the previous
/// page. A filter that skips many entries may answer a short page with a cursor (see
/// `store::query_kept`).
pub async fn list(
    store: &dyn Store,
    tenant: TenantId,
    filter: &AuditFilter,
    limit: usize,
    after: Option<String>,
) -> Result<(Vec<AuditEntry>, Option<String>), DomainError> {
    let from = filter
        .since
        .map_or_else(|| CURSOR_PREFIX.to_owned(), |t| id_at(t, false));
    let to = filter
        .until
        .map_or_else(|| format!("{CURSOR_PREFIX}~"), |t| id_at(t, true));
    let queries = (0..LIST_SHARDS)
        .map(|s| Query {
            index: Some(Index::Gsi1),
            pk: list_partition(tenant, s),
            range: SortKeyRange::Between(from.clone(), to.clone()),
            forward: false,
            limit,
            start_after: after.clone(),
        })
        .collect();
    Ok(query_kept_shards(store, queries, limit, |e: &AuditEntry| {
        filter.matches(e, tenant)
    })
    .await?)
}

/// One entry of `tenant` (another tenant's is absent).
pub async fn get(
    store: &dyn Store,
    tenant: TenantId,
    id: AuditId,
) -> Result<Option<AuditEntry>, DomainError> {
    let entry: Option<AuditEntry> = store
        .get(&entry_key(id))
        .await?
        .map(from_item)
        .transpose()?;
    Ok(entry.filter(|e| e.tenant_id == tenant))
}

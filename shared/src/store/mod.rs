//! The one storage port, shaped like DynamoDB, and its two adapters.
//!
//! Repositories are written once against [`Store`]; the DynamoDB adapter serves Lambda and the
//! embedded SQLite adapter serves `switchboard serve`. Both pass [`conformance`], which is what
//! lets a repository trust the semantics below without knowing which adapter it runs on.
//!
//! Item layout: an item is a JSON object whose `PK` and `SK` string attributes form its key. An
//! optional numeric `ttl` (epoch seconds) marks when it expires; an expired item is invisible to
//! every read and counts as absent for conditions in both adapters, since emulators (and DynamoDB
//! itself, for up to days) keep expired items around. An optional numeric `version` attribute is
//! what [`Condition::VersionEquals`] compares.

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod dynamo;
#[cfg(feature = "heat")]
pub mod heat;
mod item;
#[cfg(feature = "embedded")]
pub mod sqlite;
pub mod versioned;

pub use item::{ItemKey, from_item, now_epoch_seconds, to_item};

use async_trait::async_trait;
use serde_json::Value;

/// A stored record: a JSON object carrying `PK`, `SK` and its attributes.
pub type Item = serde_json::Map<String, Value>;

/// A precondition on the current state of one item, checked atomically with the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// No live item has this key (an expired one counts as absent).
    Absent,
    /// A live item has this key.
    Exists,
    /// A live item exists and its attribute equals this value.
    AttrEquals(String, Value),
    /// A live item exists and its `version` attribute equals this number.
    VersionEquals(u64),
}

/// Which sort keys of a partition a query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKeyRange {
    /// Every item of the partition.
    All,
    /// Sort keys that start with this string.
    Prefix(String),
    /// Sort keys between the two, both inclusive.
    Between(String, String),
}

/// The secondary index a query may read instead of the table. An item is in the index when it
/// carries both of the index's key attributes (strings); the index's sort key must be unique
/// within its partition key, since a page resumes after it. Index reads are eventually consistent
/// on DynamoDB (milliseconds behind a write); the embedded adapter's are immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Index {
    /// `GSI1PK` / `GSI1SK`: lists spread over sharded partition keys (see `outbound::messages`).
    Gsi1,
}

impl Index {
    /// The item attributes holding this index's partition and sort key.
    pub const fn key_attributes(self) -> (&'static str, &'static str) {
        match self {
            Index::Gsi1 => ("GSI1PK", "GSI1SK"),
        }
    }

    /// The name of the index in the DynamoDB table (and `template.yaml`).
    pub const fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "GSI1",
        }
    }
}

/// A read of one partition, in sort-key order.
#[derive(Debug, Clone)]
pub struct Query {
    /// Reads this index instead of the table: `pk`, `range` and `start_after` then name the
    /// index's keys, and `Page::last_sk` is an index sort key.
    pub index: Option<Index>,
    pub pk: String,
    pub range: SortKeyRange,
    /// Ascending sort keys when true, descending when false.
    pub forward: bool,
    /// At most this many items are returned (1..=1000).
    pub limit: usize,
    /// Resume after this sort key (the `last_sk` of the previous page).
    pub start_after: Option<String>,
}

impl Query {
    /// A forward query of every sort key starting with `prefix`.
    pub fn prefix(pk: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            index: None,
            pk: pk.into(),
            range: SortKeyRange::Prefix(prefix.into()),
            forward: true,
            limit: 100,
            start_after: None,
        }
    }

    /// The same query over `index`.
    pub fn on(mut self, index: Index) -> Self {
        self.index = Some(index);
        self
    }

    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }

    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    pub fn start_after(mut self, sk: Option<String>) -> Self {
        self.start_after = sk;
        self
    }
}

/// One page of a query.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub items: Vec<Item>,
    /// Set when more items may follow: pass it as `start_after` to read on.
    pub last_sk: Option<String>,
}

/// Changes to numeric and plain attributes of one item, made atomically without reading it first.
/// Like DynamoDB's `UpdateItem`, it creates the item when it is absent (unless a condition says
/// otherwise): counters such as rate-limit windows rely on that.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// Attributes to add to (a missing attribute counts as 0).
    pub add: Vec<(String, i64)>,
    /// Attributes to set.
    pub set: Vec<(String, Value)>,
}

/// One write of an all-or-nothing transaction.
#[derive(Debug, Clone)]
pub enum TxOp {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    Delete {
        key: ItemKey,
        condition: Option<Condition>,
    },
    Check {
        key: ItemKey,
        condition: Condition,
    },
    /// [`Store::update`] inside the transaction: atomic adds and sets without reading first
    /// (counters written together with the record of what they counted, e.g. usage and its
    /// ledger).
    Update {
        key: ItemKey,
        update: Update,
        condition: Option<Condition>,
    },
}

/// What can go wrong in a store call; repositories map these to domain errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition did not hold; nothing was written.
    #[error("condition failed")]
    ConditionFailed,
    /// Another transaction touched the same items concurrently; nothing was written. Retry.
    #[error("transaction conflict")]
    Conflict,
    /// The backing service is unreachable or throttling; the caller should answer 503.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The caller asked for something the store cannot represent (a bug, not user input).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// A stored item could not be decoded.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

/// The storage port. Every method is atomic on its own; `transact` spans up to 25 items.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The live item at `key`, if any.
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError>;
    /// Writes `item` (replacing any item at its key) if `condition` holds.
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError>;
    /// Removes the item at `key` if `condition` holds. Removing nothing is not an error.
    async fn delete(&self, key: &ItemKey, condition: Option<Condition>) -> Result<(), StoreError>;
    /// Reads one page of a partition.
    async fn query(&self, query: &Query) -> Result<Page, StoreError>;
    /// Applies `update` atomically and returns the item as it is afterwards.
    async fn update(
        &self,
        key: &ItemKey,
        update: &Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError>;
    /// Applies every op or none.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError>;
    /// A short name for `/health` and start-up logs.
    fn kind(&self) -> &'static str;
}

/// One page of a partition decoded into records, and where the next page starts.
pub async fn query_records<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    query: &Query,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let page = store.query(query).await?;
    let records = page
        .items
        .into_iter()
        .map(from_item)
        .collect::<Result<Vec<T>, _>>()?;
    Ok((records, page.last_sk))
}

/// How many stored records a filtered list reads at most for one page ([`query_kept`]), so a
/// filter that skips almost everything (a tenant with thousands of deleted endpoints or failed
/// attempts) cannot make one request read a whole partition.
pub const MAX_SCANNED: usize = 2_000;

/// Every item of a paged list: calls `page` with the cursor of the previous page (`None` first)
/// until one comes back without a next cursor.
pub async fn all_pages<T, E, F, Fut>(mut page: F) -> Result<Vec<T>, E>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), E>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let (items, last) = page(after).await?;
        out.extend(items);
        match last {
            Some(sk) => after = Some(sk),
            None => return Ok(out),
        }
    }
}

/// Up to `limit` records of `query` that `keep` accepts, in query order, and the position to
/// resume after, for lists that hide some stored records (soft-deleted endpoints, attempts of
/// another status). Reads on until `limit` records are kept, so a page is not short (or empty)
/// because hidden records filled the store's page; the position is given only when one more kept
/// record is known to follow, so no page ends in an empty one. After [`MAX_SCANNED`] records
/// without filling the page, it answers what it has (possibly nothing) with the position of the
/// last record read: the contract tells clients to follow `next_cursor` until it is absent.
/// `query.limit` is ignored.
pub async fn query_kept<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    query: &Query,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    query_kept_within(store, vec![query.clone()], limit, MAX_SCANNED, keep).await
}

/// Write shards of a spread list (an endpoint's attempts, a tenant's events, connections, audit
/// entries): an item goes to one of them by its id's random bits, and a list reads them all and
/// merges by id. At 10,000 deliveries a second to 10 endpoints, each attempt shard takes ~63
/// writes a second; control-plane lists (connections, audit) take far less.
pub const LIST_SHARDS: u128 = 16;

/// [`query_kept`] over the write shards of one list (see [`query_shards`]).
pub async fn query_kept_shards<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    queries: Vec<Query>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    query_kept_within(store, queries, limit, MAX_SCANNED, keep).await
}

/// [`query_kept`] over `queries` (one partition, or the write shards of one list read as one)
/// with a read budget of `budget` records instead of [`MAX_SCANNED`] (tests exercise the budget
/// with a few records instead of thousands).
pub async fn query_kept_within<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    queries: Vec<Query>,
    limit: usize,
    budget: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<(Vec<T>, Option<String>), StoreError> {
    let mut queries = queries;
    // One more than the page, to know whether another kept record follows.
    for q in &mut queries {
        q.limit = limit.saturating_add(1).clamp(1, 1000);
    }
    let sk_attr = queries
        .first()
        .and_then(|q| q.index)
        .map_or("SK", |i| i.key_attributes().1);
    let mut kept: Vec<T> = Vec::new();
    let mut last_kept_sk: Option<String> = None;
    let mut scanned = 0usize;
    loop {
        let page = query_shards(store, queries.clone()).await?;
        for item in page.items {
            let sk = item
                .get(sk_attr)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| StoreError::Corrupt("an item without a sort key".into()))?;
            let record: T = from_item(item)?;
            scanned += 1;
            if !keep(&record) {
                continue;
            }
            if kept.len() >= limit {
                return Ok((kept, last_kept_sk));
            }
            kept.push(record);
            last_kept_sk = Some(sk);
        }
        let Some(next) = page.last_sk else {
            return Ok((kept, None));
        };
        if scanned >= budget {
            return Ok((kept, Some(next)));
        }
        for q in &mut queries {
            q.start_after = Some(next.clone());
        }
    }
}

/// One page across several partitions whose sort keys are unique across all of them (write
/// shards of one list): each partition is read for a full page after `start_after`, concurrently,
/// and the pages are merged in sort-key order. `last_sk` is the sort key of the last item kept,
/// a valid `start_after` for every partition, and is set only when more may follow.
pub async fn query_shards(store: &dyn Store, queries: Vec<Query>) -> Result<Page, StoreError> {
    let Some(first) = queries.first() else {
        return Ok(Page::default());
    };
    let (limit, forward) = (first.limit, first.forward);
    let sk_attr = first.index.map_or("SK", |i| i.key_attributes().1);
    let pages = futures::future::try_join_all(queries.iter().map(|q| store.query(q))).await?;
    let more_behind = pages.iter().any(|p| p.last_sk.is_some());
    let sort_key = |item: &Item| {
        item.get(sk_attr)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut items: Vec<Item> = pages.into_iter().flat_map(|p| p.items).collect();
    items.sort_by_cached_key(sort_key);
    if !forward {
        items.reverse();
    }
    let dropped = items.len() > limit;
    items.truncate(limit);
    let last_sk = (dropped || more_behind)
        .then(|| items.last().map(sort_key))
        .flatten();
    Ok(Page { items, last_sk })
}

/// Whether `condition` holds for `current` (the live item, or `None`). Shared by the embedded
/// adapter and by tests that stub the port, so both evaluate conditions the way DynamoDB does.
pub fn condition_holds(condition: &Condition, current: Option<&Item>) -> bool {
    match (condition, current) {
        (Condition::Absent, current) => current.is_none(),
        (Condition::Exists, current) => current.is_some(),
        (Condition::AttrEquals(name, value), Some(item)) => item.get(name) == Some(value),
        (Condition::VersionEquals(version), Some(item)) => {
            item.get("version").and_then(Value::as_u64) == Some(*version)
        }
        (_, None) => false,
    }
}

/// Whether `item` has expired at `now` (epoch seconds).
pub fn is_expired(item: &Item, now: i64) -> bool {
    item.get("ttl")
        .and_then(Value::as_i64)
        .is_some_and(|ttl| ttl < now)
}

//! Store errors, counted where every store call passes: a decorator over the store port, so
//! neither adapter nor any repository needs a line of instrumentation.

use super::Metrics;
use crate::store::{Condition, Item, ItemKey, Page, Query, Store, StoreError, TxOp, Update};
use async_trait::async_trait;
use std::sync::Arc;

/// A store call, as the `op` label names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreOp {
    Get,
    Put,
    Delete,
    Query,
    Update,
    Transact,
}

impl StoreOp {
    pub const ALL: [Self; 6] = [
        Self::Get,
        Self::Put,
        Self::Delete,
        Self::Query,
        Self::Update,
        Self::Transact,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Put => "put",
            Self::Delete => "delete",
            Self::Query => "query",
            Self::Update => "update",
            Self::Transact => "transact",
        }
    }
}

/// The `error` label values, one per counted [`StoreError`] variant.
pub const ERROR_KINDS: [&str; 4] = ["conflict", "unavailable", "invalid", "corrupt"];

/// The `error` label of a store error; `None` for a failed condition, which is how conditional
/// writes answer "no" (idempotency, optimistic locking), not a fault.
pub fn error_kind(error: &StoreError) -> Option<&'static str> {
    match error {
        StoreError::ConditionFailed => None,
        StoreError::Conflict => Some("conflict"),
        StoreError::Unavailable(_) => Some("unavailable"),
        StoreError::Invalid(_) => Some("invalid"),
        StoreError::Corrupt(_) => Some("corrupt"),
    }
}

/// Any store, with its errors counted in `metrics`. Calls pass through unchanged.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    fn count<T>(&self, op: StoreOp, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e) = &result {
            self.metrics.store_error(op, e);
        }
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.count(StoreOp::Get, self.inner.get(key).await)
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.count(StoreOp::Put, self.inner.put(item, condition).await)
    }

    async fn delete(&self, key: &ItemKey, condition: Option<Condition>) -> Result<(), StoreError> {
        self.count(StoreOp::Delete, self.inner.delete(key, condition).await)
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        self.count(StoreOp::Query, self.inner.query(query).await)
    }

    async fn update(
        &self,
        key: &ItemKey,
        update: &Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.count(
            StoreOp::Update,
            self.inner.update(key, update, condition).await,
        )
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        self.count(StoreOp::Transact, self.inner.transact(ops).await)
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

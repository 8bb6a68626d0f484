//! Optimistic read-modify-write of a versioned record: read, change, write back only if nobody
//! wrote in between (`version` unchanged), retrying a few times when someone did.

use super::{Condition, ItemKey, Store, StoreError, TxOp, from_item, to_item};
use crate::error::DomainError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How often a change is retried when a concurrent write won the race.
const MAX_RETRIES: usize = 5;

/// A record with an optimistic-concurrency version.
pub trait Versioned {
    fn version(&self) -> u64;
    /// Sets the version and the update time.
    fn bump(&mut self, version: u64, now: chrono::DateTime<chrono::Utc>);
}

/// Runs `attempt` until it finishes, retrying while it loses an optimistic-concurrency race
/// (`Ok(None)`), at most [`MAX_RETRIES`] times. `what` names the record in the final 409.
pub async fn retrying<T, F, Fut>(what: &'static str, mut attempt: F) -> Result<T, DomainError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, DomainError>>,
{
    for _ in 0..MAX_RETRIES {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(DomainError::Conflict(format!(
        "the {what} kept changing concurrently; retry"
    )))
}

/// Commits `ops`; `Ok(false)` when a condition failed or a concurrent transaction won (retry).
pub async fn commit(store: &dyn Store, ops: Vec<TxOp>) -> Result<bool, DomainError> {
    match store.transact(ops).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed | StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Reads the record at `key`, applies `change`, and writes it back with `companions(record)`
/// in the same transaction, conditional on the version it read. `what` names the record in a
/// 404. Returns the record as written.
pub async fn modify<T, F, C>(
    store: &dyn Store,
    key: &ItemKey,
    what: &'static str,
    change: F,
    companions: C,
) -> Result<T, DomainError>
where
    T: Versioned + Serialize + DeserializeOwned,
    F: Fn(&mut T) -> Result<(), DomainError>,
    C: Fn(&T) -> Result<Vec<TxOp>, StoreError>,
{
    retrying(what, || async {
        let item = store.get(key).await?.ok_or(DomainError::NotFound(what))?;
        let mut record: T = from_item(item)?;
        let expected = record.version();
        change(&mut record)?;
        record.bump(expected + 1, chrono::Utc::now());
        let mut ops = vec![TxOp::Put {
            item: to_item(key, &record)?,
            condition: Some(Condition::VersionEquals(expected)),
        }];
        ops.extend(companions(&record)?);
        Ok(commit(store, ops).await?.then_some(record))
    })
    .await
}

//! Optimistic read-modify-write of a versioned record: read, change, write back only if nobody
//! wrote in between (`version` unchanged), retrying a few times when someone did.
//!
//! The helpers are generic over the caller's error type (see [`VersionedError`]) so that the
//! store layer does not depend on any domain error.

use super::{Condition, ItemKey, Store, StoreError, TxOp, from_item, to_item};
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

/// What a caller's error type must be able to say about an optimistic change.
pub trait VersionedError: From<StoreError> {
    /// The record to change does not exist; `what` names it.
    fn not_found(what: &'static str) -> Self;
    /// Every retry lost a race with a concurrent writer.
    fn contended(what: &'static str) -> Self;
}

/// Runs `attempt` until it finishes, retrying while it loses an optimistic-concurrency race
/// (`Ok(None)`), at most [`MAX_RETRIES`] times. `what` names the record in the final error.
pub async fn retrying<T, E, F, Fut>(what: &'static str, mut attempt: F) -> Result<T, E>
where
    E: VersionedError,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    for _ in 0..MAX_RETRIES {
        if let Some(done) = attempt().await? {
            return Ok(done);
        }
    }
    Err(E::contended(what))
}

/// Commits `ops`; `Ok(false)` when a condition failed or a concurrent transaction won (retry).
pub async fn commit(store: &dyn Store, ops: Vec<TxOp>) -> Result<bool, StoreError> {
    match store.transact(ops).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed | StoreError::Conflict) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads the record at `key`, applies `change`, and writes it back with
/// `companions(before, after)` (an audit entry of the change) in the same transaction,
/// conditional on the version it read. `what` names the record in a
/// not-found error. Returns the record as written.
pub async fn modify<T, E, F, C>(
    store: &dyn Store,
    key: &ItemKey,
    what: &'static str,
    change: F,
    companions: C,
) -> Result<T, E>
where
    T: Versioned + Serialize + DeserializeOwned + Clone,
    E: VersionedError,
    F: Fn(&mut T) -> Result<(), E>,
    C: Fn(&T, &T) -> Result<Vec<TxOp>, StoreError>,
{
    retrying(what, || async {
        let item = store.get(key).await?.ok_or_else(|| E::not_found(what))?;
        let before: T = from_item(item)?;
        let expected = before.version();
        let mut record = before.clone();
        change(&mut record)?;
        record.bump(expected + 1, chrono::Utc::now());
        let mut ops = vec![TxOp::Put {
            item: to_item(key, &record)?,
            condition: Some(Condition::VersionEquals(expected)),
        }];
        ops.extend(companions(&before, &record)?);
        Ok(commit(store, ops).await?.then_some(record))
    })
    .await
}

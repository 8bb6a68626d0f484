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
    for _ in 0..MAX_RETRIES {
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
        match store.transact(ops).await {
            Ok(()) => return Ok(record),
            Err(StoreError::ConditionFailed | StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::Conflict(format!(
        "the {what} kept changing concurrently; retry"
    )))
}

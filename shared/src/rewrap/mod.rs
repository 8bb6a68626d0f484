//! Master-key rotation without downtime: every envelope of every sealed record (see
//! [`kinds::registry`]) gets its data key wrapped again under a new master key. The data key
//! itself, and so the record's ciphertext, does not change; on KMS the unwrapping and wrapping
//! happen inside KMS (`ReEncrypt`).
//!
//! Reads keep working throughout: each envelope names its master key, and the providers open
//! envelopes under any key they hold (KMS: any key the role may use; local: every key file of
//! the ring). The walk is:
//!
//! - idempotent and resumable: an envelope already under the target key is left alone, so a
//!   run that was stopped (killed, or `limit` reached) and run again does only what is left;
//! - safe beside the API: each record is written back conditional on the `version` read (and
//!   with it bumped), so a concurrent change is never overwritten; the rewrap reads again and
//!   retries, and the API's own conditional writes retry in the same way against the rewrap's;
//! - gentle on the store: one record at a time, tenant by tenant.
//!
//! New envelopes are sealed under the provider's active key (`KMS_KEY_ID`, or
//! `SWITCHBOARD_LOCAL_KEY` for the local ring): switch it to the target key as well, before the
//! rewrap (then one run is enough) or after it (then run the rewrap again to move what was
//! sealed in between).

pub mod kinds;

use crate::crypto::{CryptoError, Envelope, KeyProvider, envelope};
use crate::store::{Condition, Item, ItemKey, Store, StoreError};
use kinds::SealedKind;
use serde_json::Value;
use std::collections::BTreeMap;

/// How often one record is read again and retried when a concurrent write won the race.
pub const MAX_RECORD_RETRIES: usize = 10;
/// How many tenants one listing page asks for.
const TENANT_PAGE: usize = 100;

/// What a run does.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target master key as the operator named it (see [`KeyProvider::target_key`]).
    pub to_key: String,
    /// Count what would be rewrapped and write nothing.
    pub dry_run: bool,
    /// Stop after rewrapping this many records (the rest is done by the next run).
    pub limit: Option<u64>,
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every envelope was already under the target key (or it has none).
    Current,
    /// This many envelopes were rewrapped and the record written back.
    Rewrapped(u64),
    /// Dry run: this many envelopes would be rewrapped.
    WouldRewrap(u64),
    /// Deleted between listing and reading.
    Gone,
    /// It could not be rewrapped (see [`Report::failures`]); it is left as it was.
    Failed,
}

/// Told about every record as the walk passes it (a progress bar, log lines).
pub trait Progress: Send + Sync {
    fn record(&self, kind: &'static str, outcome: Outcome);
}

/// A [`Progress`] that shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn record(&self, _: &'static str, _: Outcome) {}
}

/// Counts for one kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCounts {
    /// Records read.
    pub records: u64,
    /// Records already entirely under the target key.
    pub current: u64,
    /// Records rewrapped (or, in a dry run, that would be).
    pub rewrapped: u64,
    /// Envelopes rewrapped (or that would be).
    pub envelopes: u64,
    /// Records that failed.
    pub failed: u64,
}

/// One record that could not be rewrapped: its key and why (never any secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: &'static str,
    pub key: ItemKey,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The id envelopes under the target key name.
    pub target_key_id: String,
    pub dry_run: bool,
    /// Per kind, by name.
    pub kinds: BTreeMap<&'static str, KindCounts>,
    /// False when the run stopped at its limit before the end.
    pub complete: bool,
    pub failures: Vec<Failure>,
}

impl Report {
    /// Records rewrapped (or that would be) over every kind.
    pub fn rewrapped(&self) -> u64 {
        self.kinds.values().map(|k| k.rewrapped).sum()
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum RewrapError {
    /// The target key cannot be used.
    #[error("target key: {0}")]
    Target(CryptoError),
    /// The store or key provider is unreachable: nothing more can be done now; run again.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why one record failed.
enum RecordError {
    /// Stops the run (the store or the key provider is unreachable).
    Fatal(RewrapError),
    /// Recorded; the walk goes on.
    Skip(String),
}

impl From<StoreError> for RecordError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::Fatal(RewrapError::Unavailable(m)),
            other => Self::Skip(other.to_string()),
        }
    }
}

impl From<CryptoError> for RecordError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::Unavailable(m) => Self::Fatal(RewrapError::Unavailable(m)),
            other => Self::Skip(other.to_string()),
        }
    }
}

/// Rewraps every sealed record of every kind in `kinds` under `options.to_key`.
pub async fn run(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    kinds: &[Box<dyn SealedKind>],
    options: &Options,
    progress: &dyn Progress,
) -> Result<Report, RewrapError> {
    let target = keys
        .target_key(&options.to_key)
        .await
        .map_err(RewrapError::Target)?;
    let mut report = Report {
        target_key_id: target.clone(),
        dry_run: options.dry_run,
        kinds: kinds
            .iter()
            .map(|k| (k.name(), KindCounts::default()))
            .collect(),
        complete: true,
        failures: Vec::new(),
    };
    let mut written = 0u64;
    let mut tenants_after: Option<String> = None;
    loop {
        let (tenants, next) =
            crate::tenancy::tenants::list(store, TENANT_PAGE, tenants_after.clone())
                .await
                .map_err(|e| RewrapError::Unavailable(e.to_string()))?;
        for tenant in tenants {
            for kind in kinds {
                let mut after: Option<String> = None;
                loop {
                    let (records, next_page) = kind.list(store, tenant.id, after).await?;
                    for key in records {
                        if options.limit.is_some_and(|limit| written >= limit) {
                            report.complete = false;
                            return Ok(report);
                        }
                        let outcome = match record(
                            store,
                            keys,
                            kind.as_ref(),
                            &key,
                            &target,
                            options,
                        )
                        .await
                        {
                            Ok(outcome) => outcome,
                            Err(RecordError::Fatal(e)) => return Err(e),
                            Err(RecordError::Skip(reason)) => {
                                report.failures.push(Failure {
                                    kind: kind.name(),
                                    key: key.clone(),
                                    reason,
                                });
                                Outcome::Failed
                            }
                        };
                        if matches!(outcome, Outcome::Rewrapped(_)) {
                            written += 1;
                        }
                        count(&mut report, kind.name(), outcome);
                        progress.record(kind.name(), outcome);
                    }
                    match next_page {
                        Some(sk) => after = Some(sk),
                        None => break,
                    }
                }
            }
        }
        match next {
            Some(sk) => tenants_after = Some(sk),
            None => break,
        }
    }
    Ok(report)
}

fn count(report: &mut Report, kind: &'static str, outcome: Outcome) {
    let counts = report.kinds.entry(kind).or_default();
    match outcome {
        Outcome::Gone => return,
        Outcome::Current => counts.current += 1,
        Outcome::Rewrapped(n) | Outcome::WouldRewrap(n) => {
            counts.rewrapped += 1;
            counts.envelopes += n;
        }
        Outcome::Failed => counts.failed += 1,
    }
    counts.records += 1;
}

/// Rewraps one record: read it, rewrap the envelopes not under `target`, write it back with its
/// version bumped, conditional on the version read; read again and retry when a concurrent
/// write came first.
async fn record(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    kind: &dyn SealedKind,
    key: &ItemKey,
    target: &str,
    options: &Options,
) -> Result<Outcome, RecordError> {
    for _ in 0..MAX_RECORD_RETRIES {
        let Some(mut item) = store.get(key).await? else {
            return Ok(Outcome::Gone);
        };
        let mut pending: Vec<(kinds::Slot, Envelope)> = Vec::new();
        for slot in kind.slots(&item)? {
            let envelope = envelope_at(&item, &slot.pointer)?;
            if envelope.key_id != target {
                pending.push((slot, envelope));
            }
        }
        if pending.is_empty() {
            return Ok(Outcome::Current);
        }
        let n = pending.len() as u64;
        if options.dry_run {
            return Ok(Outcome::WouldRewrap(n));
        }
        let version = item
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| RecordError::Skip("a sealed record without a version".into()))?;
        let mut object = Value::Object(std::mem::take(&mut item));
        for (slot, old) in pending {
            let new = envelope::rewrap(keys, &slot.context, &old, target).await?;
            let at = object
                .pointer_mut(&slot.pointer)
                .ok_or_else(|| RecordError::Skip(format!("no envelope at {}", slot.pointer)))?;
            *at = serde_json::to_value(new).map_err(|e| RecordError::Skip(e.to_string()))?;
        }
        let Value::Object(mut item) = object else {
            return Err(RecordError::Skip("a record that is not an object".into()));
        };
        item.insert("version".into(), Value::from(version + 1));
        match store
            .put(item, Some(Condition::VersionEquals(version)))
            .await
        {
            Ok(()) => return Ok(Outcome::Rewrapped(n)),
            Err(StoreError::ConditionFailed | StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(RecordError::Skip(format!(
        "changed concurrently {MAX_RECORD_RETRIES} times in a row; run again"
    )))
}

fn envelope_at(item: &Item, pointer: &str) -> Result<Envelope, RecordError> {
    let value = pointer_get(item, pointer)
        .ok_or_else(|| RecordError::Skip(format!("no envelope at {pointer}")))?;
    serde_json::from_value(value.clone())
        .map_err(|e| RecordError::Skip(format!("the envelope at {pointer}: {e}")))
}

/// The value at a JSON pointer within an item (an object).
fn pointer_get<'a>(item: &'a Item, pointer: &str) -> Option<&'a Value> {
    let rest = pointer.strip_prefix('/')?;
    let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let value = item.get(first)?;
    if tail.is_empty() {
        Some(value)
    } else {
        value.pointer(&format!("/{tail}"))
    }
}

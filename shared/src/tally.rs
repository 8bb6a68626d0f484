//! The one in-memory aggregating counter behind every count that must not cost a store write
//! per event: API key usage, refused inbound webhooks, and usage metering. Counting is an add
//! to a map under a short lock; the store sees one write per key and [`Sink`] batch, at most
//! every [`FLUSH_EVERY`] per process (a worker), however many events were counted.
//!
//! Each tally draws a random shard out of the number its owner asks for, once per process, and
//! hands it to its sink with every batch: a sink that writes sharded items (usage) spreads the
//! writes of many workers over that many partition keys, so one busy tenant never makes one
//! item hot. Sinks that write onto an existing record (an API key, an integration) ignore it.
//!
//! A flush is scheduled by the first count after the last one and runs once a second has
//! passed since the last flush, so counts reach the store within about a second even when the
//! traffic stops. [`Tally::flush`] writes at once (shutdown, tests); [`Tally::flush_if_due`]
//! writes only when a second has passed (the end of a Lambda invocation, where a scheduled task
//! may not run before the instance is frozen). What a sink could not write is kept, under the
//! same batch id, and tried again at the next flush, so a sink that records batches by id
//! (the usage ledger) writes each batch exactly once. A process killed between flushes loses
//! what it counted since the last one (at most about a second).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The least time between two scheduled flushes of one tally.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Batches kept for another try while the store is down (about ten minutes of flushes); the
/// oldest are dropped beyond it, with an error in the log.
pub const MAX_RETRY_BATCHES: usize = 600;

/// A counter's name: static for the fixed counters, owned for open families
/// (`actions.<provider>`).
pub type Name = Cow<'static, str>;

/// What one key gathered since the last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counts {
    pub counters: BTreeMap<Name, u64>,
    /// When the last count was added.
    pub last_at: DateTime<Utc>,
}

impl Counts {
    fn new(at: DateTime<Utc>) -> Self {
        Self {
            counters: BTreeMap::new(),
            last_at: at,
        }
    }

    /// The count of `name` (0 when never counted).
    pub fn get(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }
}

/// One flush's worth of counts. The id stays the same when the batch (or what is left of it)
/// is tried again.
#[derive(Debug, Clone)]
pub struct Batch<K> {
    pub id: ulid::Ulid,
    /// This process's shard (`0..shards`).
    pub shard: u16,
    pub entries: Vec<(K, Counts)>,
}

/// Where a tally's batches go.
#[async_trait]
pub trait Sink<K>: Send + Sync + 'static {
    /// Writes every entry of `batch`; answers the keys of those it could not write, which are
    /// tried again in the same batch at the next flush.
    async fn write(&self, batch: &Batch<K>) -> Vec<K>;
}

/// What a tally key needs.
pub trait Key: Clone + Eq + Hash + Send + Sync + 'static {}
impl<T: Clone + Eq + Hash + Send + Sync + 'static> Key for T {}

struct State<K> {
    pending: HashMap<K, Counts>,
    /// Batches (or parts of them) the sink could not write yet, oldest first.
    retry: VecDeque<Batch<K>>,
    last_flush: Option<Instant>,
    /// A flush task is waiting to run.
    scheduled: bool,
}

struct Inner<K> {
    sink: Arc<dyn Sink<K>>,
    shard: u16,
    state: Mutex<State<K>>,
    /// One flush writes at a time.
    writing: tokio::sync::Mutex<()>,
}

/// The counter. Clones share their counts.
pub struct Tally<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for Tally<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K: Key> Tally<K> {
    /// A tally writing to `sink` as shard 0 of 1.
    pub fn new(sink: Arc<dyn Sink<K>>) -> Self {
        Self::with_shard(sink, 0)
    }

    /// A tally writing to `sink` as a random one of `shards` shards.
    pub fn sharded(sink: Arc<dyn Sink<K>>, shards: u16) -> Self {
        let [a, b] = crate::crypto::random::bytes::<2>();
        Self::with_shard(sink, u16::from_le_bytes([a, b]) % shards.max(1))
    }

    /// A tally writing to `sink` as shard `shard` (tests simulating many workers).
    pub fn with_shard(sink: Arc<dyn Sink<K>>, shard: u16) -> Self {
        Self {
            inner: Arc::new(Inner {
                sink,
                shard,
                state: Mutex::new(State {
                    pending: HashMap::new(),
                    retry: VecDeque::new(),
                    last_flush: None,
                    scheduled: false,
                }),
                writing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// This process's shard.
    pub fn shard(&self) -> u16 {
        self.inner.shard
    }

    fn state(&self) -> MutexGuard<'_, State<K>> {
        // A panic while the lock was held cannot leave the maps half-updated in a way that
        // matters more than losing the counts: keep counting.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `n` of each named counter for `key`: an in-memory add; schedules a flush when
    /// none is waiting.
    pub fn add<I>(&self, key: K, counts: I)
    where
        I: IntoIterator<Item = (Name, u64)>,
    {
        let now = Utc::now();
        let schedule = {
            let mut state = self.state();
            let entry = state.pending.entry(key).or_insert_with(|| Counts::new(now));
            for (name, n) in counts {
                let slot = entry.counters.entry(name).or_insert(0);
                *slot = slot.saturating_add(n);
            }
            entry.last_at = now;
            !std::mem::replace(&mut state.scheduled, true)
        };
        if schedule {
            self.schedule();
        }
    }

    /// Starts the task that flushes once the last flush is [`FLUSH_EVERY`] old. Outside a
    /// runtime nothing is scheduled; the owner's explicit flush writes the counts.
    fn schedule(&self) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let tally = self.clone();
                handle.spawn(async move {
                    loop {
                        let wait = tally.until_due();
                        if wait.is_zero() {
                            break;
                        }
                        tokio::time::sleep(wait).await;
                    }
                    tally.flush().await;
                });
            }
            Err(_) => self.state().scheduled = false,
        }
    }

    /// How long until a scheduled flush may run.
    fn until_due(&self) -> Duration {
        self.state()
            .last_flush
            .map_or(Duration::ZERO, |t| FLUSH_EVERY.saturating_sub(t.elapsed()))
    }

    /// Writes what is pending if the last flush is at least [`FLUSH_EVERY`] old (the end of a
    /// Lambda invocation: at most one write per key and second, however often it is called).
    pub async fn flush_if_due(&self) {
        let has_work = {
            let state = self.state();
            !state.pending.is_empty() || !state.retry.is_empty()
        };
        if has_work && self.until_due().is_zero() {
            self.flush().await;
        }
    }

    /// Writes everything pending now, and tries again what could not be written before.
    pub async fn flush(&self) {
        let _writing = self.inner.writing.lock().await;
        let batches: Vec<Batch<K>> = {
            let mut state = self.state();
            state.scheduled = false;
            state.last_flush = Some(Instant::now());
            let pending = std::mem::take(&mut state.pending);
            let mut batches: Vec<Batch<K>> = state.retry.drain(..).collect();
            if !pending.is_empty() {
                batches.push(Batch {
                    id: ulid::Ulid::new(),
                    shard: self.inner.shard,
                    entries: pending.into_iter().collect(),
                });
            }
            batches
        };
        if batches.is_empty() {
            return;
        }
        let mut unwritten = Vec::new();
        for mut batch in batches {
            let failed = self.inner.sink.write(&batch).await;
            if !failed.is_empty() {
                batch.entries.retain(|(key, _)| failed.contains(key));
                unwritten.push(batch);
            }
        }
        if unwritten.is_empty() {
            return;
        }
        let schedule = {
            let mut state = self.state();
            for batch in unwritten.into_iter().rev() {
                state.retry.push_front(batch);
            }
            let excess = state.retry.len().saturating_sub(MAX_RETRY_BATCHES);
            if excess > 0 {
                state.retry.drain(..excess);
                tracing::error!(
                    dropped_batches = excess,
                    "counts could not be written for too long; the oldest are dropped"
                );
            }
            !std::mem::replace(&mut state.scheduled, true)
        };
        if schedule {
            self.schedule();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Records every batch; refuses the first `fail` writes of key "b".
    #[derive(Default)]
    struct Recording {
        batches: Mutex<Vec<Batch<&'static str>>>,
        fail: AtomicUsize,
    }

    #[async_trait]
    impl Sink<&'static str> for Recording {
        async fn write(&self, batch: &Batch<&'static str>) -> Vec<&'static str> {
            self.batches.lock().unwrap().push(batch.clone());
            let failing = self
                .fail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing && batch.entries.iter().any(|(k, _)| *k == "b") {
                vec!["b"]
            } else {
                Vec::new()
            }
        }
    }

    fn one(name: &'static str, n: u64) -> [(Name, u64); 1] {
        [(Cow::Borrowed(name), n)]
    }

    #[tokio::test]
    async fn aggregates_and_flushes_once() {
        let sink = Arc::new(Recording::default());
        let tally = Tally::with_shard(sink.clone(), 3);
        for _ in 0..1000 {
            tally.add("a", one("x", 1));
        }
        tally.add("a", [(Cow::Owned("actions.slack".to_owned()), 2)]);
        tally.add("b", one("y", 5));
        tally.flush().await;
        let batches = sink.batches.lock().unwrap().clone();
        assert_eq!(batches.len(), 1, "one batch however many counts");
        let batch = &batches[0];
        assert_eq!(batch.shard, 3);
        let a = &batch.entries.iter().find(|(k, _)| *k == "a").unwrap().1;
        assert_eq!(
            (a.get("x"), a.get("actions.slack"), a.get("y")),
            (1000, 2, 0)
        );
        tally.flush().await;
        assert_eq!(
            sink.batches.lock().unwrap().len(),
            1,
            "nothing pending, nothing written"
        );
    }

    #[tokio::test]
    async fn unwritten_entries_are_retried_under_the_same_batch_id() {
        let sink = Arc::new(Recording::default());
        sink.fail.store(1, Ordering::SeqCst);
        let tally = Tally::new(sink.clone());
        tally.add("a", one("x", 1));
        tally.add("b", one("x", 2));
        tally.flush().await;
        tally.add("b", one("x", 3));
        tally.flush().await;
        let batches = sink.batches.lock().unwrap().clone();
        assert_eq!(
            batches.len(),
            3,
            "the failed part again, then the new counts"
        );
        assert_eq!(batches[1].id, batches[0].id);
        assert_eq!(batches[1].entries.len(), 1);
        assert_eq!(batches[1].entries[0].0, "b");
        assert_eq!(batches[1].entries[0].1.get("x"), 2);
        assert_ne!(batches[2].id, batches[0].id);
        assert_eq!(batches[2].entries[0].1.get("x"), 3);
    }

    #[tokio::test]
    async fn scheduled_flushes_come_at_most_once_a_second() {
        let sink = Arc::new(Recording::default());
        let tally = Tally::new(sink.clone());
        tally.add("a", one("x", 1));
        let written = || sink.batches.lock().unwrap().len();
        let first = std::time::Instant::now();
        while written() < 1 {
            assert!(
                first.elapsed() < Duration::from_secs(5),
                "the first count flushes soon"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..10 {
            tally.add("a", one("x", 1));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(written(), 1, "no second flush within the second");
        while written() < 2 {
            assert!(first.elapsed() < Duration::from_secs(5), "the rest follows");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(first.elapsed() >= FLUSH_EVERY);
        let total: u64 = sink
            .batches
            .lock()
            .unwrap()
            .iter()
            .flat_map(|b| b.entries.iter().map(|(_, c)| c.get("x")))
            .sum();
        assert_eq!(total, 11, "every count written once");
    }
}

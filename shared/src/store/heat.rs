//! A store wrapper that counts what each partition key is asked to write, per second, the way
//! DynamoDB bills it: a write costs one unit per started KiB of the item, twice inside a
//! transaction (condition checks included), and an item that carries index keys costs its index
//! partition a write too. A DynamoDB partition serves at most 1,000 write units per second, so
//! the hottest key of a workload says how far that workload scales on one table. Test and bench
//! only (feature `heat`): production never pays for the bookkeeping.

use super::{Condition, Index, Item, ItemKey, Page, Query, Store, StoreError, TxOp, Update};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Writes and write units one partition key took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Heat {
    pub writes: u64,
    pub units: u64,
}

/// What a whole run cost, summed over every key: the capacity model's per-delivery inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Write requests (each item of a transaction counts once).
    pub writes: u64,
    /// Write units, as billed (index writes included).
    pub write_units: u64,
    /// Read requests (gets and query pages).
    pub reads: u64,
    /// Read units, as billed: one per started 4 KiB of a strongly consistent read, half that for
    /// an eventually consistent one (index queries).
    pub read_units_x2: u64,
    /// Bytes of the items written (the last write of an item is what stays stored).
    pub bytes_written: u64,
}

/// What the clock says: seconds since some start. The meter buckets counts by it, so a test can
/// squeeze a simulated second of traffic into one bucket however long it takes to run.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The metering wrapper around any [`Store`].
pub struct HeatMeter {
    inner: Arc<dyn Store>,
    clock: Clock,
    counts: Mutex<HashMap<(String, i64), Heat>>,
    totals: Mutex<Totals>,
}

/// The partition name under which an index partition is counted.
pub fn index_partition(index: Index, pk: &str) -> String {
    format!("{}:{pk}", index.name())
}

impl HeatMeter {
    /// Meters `inner`, bucketing by wall-clock second.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self::with_clock(inner, Arc::new(super::now_epoch_seconds))
    }

    /// Meters `inner`, bucketing by `clock`.
    pub fn with_clock(inner: Arc<dyn Store>, clock: Clock) -> Self {
        Self {
            inner,
            clock,
            counts: Mutex::new(HashMap::new()),
            totals: Mutex::new(Totals::default()),
        }
    }

    /// Every (partition key, second) with what it took.
    pub fn snapshot(&self) -> HashMap<(String, i64), Heat> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The partition key and second that took the most write units (ties: most writes).
    pub fn hottest(&self) -> Option<(String, i64, Heat)> {
        self.snapshot()
            .into_iter()
            .max_by_key(|(_, heat)| (heat.units, heat.writes))
            .map(|((pk, second), heat)| (pk, second, heat))
    }

    /// The sums over the whole run since the last reset.
    pub fn totals(&self) -> Totals {
        *self.totals.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forgets everything counted so far (a bench's warm-up).
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        *self.totals.lock().unwrap_or_else(PoisonError::into_inner) = Totals::default();
    }

    fn charge_read(&self, bytes: usize, eventual: bool) {
        let units = u64::try_from(bytes.div_ceil(4096).max(1)).unwrap_or(u64::MAX);
        let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
        totals.reads += 1;
        totals.read_units_x2 += if eventual { units } else { units * 2 };
    }

    fn charge(&self, item: Option<&Item>, pk: &str, multiplier: u64) {
        let second = (self.clock)();
        let units = item.map_or(1, units_of) * multiplier;
        {
            let mut totals = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
            totals.writes += 1;
            totals.write_units += units;
            totals.bytes_written += item.map_or(0, |i| size_of_item(i) as u64);
            if item.is_some_and(|i| i.contains_key(Index::Gsi1.key_attributes().0)) {
                totals.write_units += item.map_or(1, units_of);
            }
        }
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut add = |pk: String, units: u64| {
            let heat = counts.entry((pk, second)).or_default();
            heat.writes += 1;
            heat.units += units;
        };
        add(pk.to_owned(), units);
        // Index replication is a plain write of the item to the index partition.
        if let Some(item) = item {
            let (pk_attr, sk_attr) = Index::Gsi1.key_attributes();
            if let (Some(Value::String(ipk)), Some(Value::String(_))) =
                (item.get(pk_attr), item.get(sk_attr))
            {
                add(index_partition(Index::Gsi1, ipk), units_of(item));
            }
        }
    }
}

/// DynamoDB's write units for an item: one per started KiB of its size (attribute names plus
/// values; the JSON text is a close, slightly generous stand-in).
fn units_of(item: &Item) -> u64 {
    u64::try_from(size_of_item(item).div_ceil(1024).max(1)).unwrap_or(u64::MAX)
}

/// An item's size as DynamoDB counts it, approximated by its JSON text.
fn size_of_item(item: &Item) -> usize {
    serde_json::to_string(item).map_or(1, |s| s.len())
}

#[async_trait]
impl Store for HeatMeter {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        let item = self.inner.get(key).await?;
        self.charge_read(item.as_ref().map_or(0, size_of_item), false);
        Ok(item)
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        let key = ItemKey::of(&item)?;
        self.charge(Some(&item), &key.pk, 1);
        self.inner.put(item, condition).await
    }

    async fn delete(&self, key: &ItemKey, condition: Option<Condition>) -> Result<(), StoreError> {
        // Billed by the deleted item's size, which the caller does not hold: counted as 1.
        self.charge(None, &key.pk, 1);
        self.inner.delete(key, condition).await
    }

    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let page = self.inner.query(query).await?;
        let bytes = page.items.iter().map(size_of_item).sum();
        self.charge_read(bytes, query.index.is_some());
        Ok(page)
    }

    async fn update(
        &self,
        key: &ItemKey,
        update: &Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        let result = self.inner.update(key, update, condition).await;
        match &result {
            Ok(item) => self.charge(Some(item), &key.pk, 1),
            Err(_) => self.charge(None, &key.pk, 1),
        }
        result
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        for op in &ops {
            match op {
                TxOp::Put { item, .. } => {
                    let pk = ItemKey::of(item)?.pk;
                    self.charge(Some(item), &pk, 2);
                }
                // Billed by the item's size after the update, which is not known here: counted
                // as one unit (twice, transactional), like a delete.
                TxOp::Delete { key, .. } | TxOp::Check { key, .. } | TxOp::Update { key, .. } => {
                    self.charge(None, &key.pk, 2);
                }
            }
        }
        self.inner.transact(ops).await
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// A store that accepts every write and holds nothing: the meter is what is under test.
    struct Sink;

    #[async_trait]
    impl Store for Sink {
        async fn get(&self, _: &ItemKey) -> Result<Option<Item>, StoreError> {
            Ok(None)
        }
        async fn put(&self, _: Item, _: Option<Condition>) -> Result<(), StoreError> {
            Ok(())
        }
        async fn delete(&self, _: &ItemKey, _: Option<Condition>) -> Result<(), StoreError> {
            Ok(())
        }
        async fn query(&self, _: &Query) -> Result<Page, StoreError> {
            Ok(Page::default())
        }
        async fn update(
            &self,
            key: &ItemKey,
            _: &Update,
            _: Option<Condition>,
        ) -> Result<Item, StoreError> {
            Ok(item(&key.pk, 10))
        }
        async fn transact(&self, _: Vec<TxOp>) -> Result<(), StoreError> {
            Ok(())
        }
        fn kind(&self) -> &'static str {
            "sink"
        }
    }

    fn item(pk: &str, padding: usize) -> Item {
        let mut item = Item::new();
        item.insert("PK".into(), pk.into());
        item.insert("SK".into(), "S".into());
        item.insert("pad".into(), "x".repeat(padding).into());
        item
    }

    #[tokio::test]
    async fn bills_like_dynamodb() {
        let meter = HeatMeter::with_clock(Arc::new(Sink), Arc::new(|| 7));
        meter.put(item("A", 10), None).await.unwrap();
        meter.put(item("A", 3000), None).await.unwrap(); // 3 KiB: 3 units
        let mut indexed = item("B", 10);
        indexed.insert("GSI1PK".into(), "LIST#1".into());
        indexed.insert("GSI1SK".into(), "x".into());
        meter
            .transact(vec![
                TxOp::Put {
                    item: indexed,
                    condition: None,
                },
                TxOp::Check {
                    key: ItemKey::new("A", "S"),
                    condition: Condition::Exists,
                },
            ])
            .await
            .unwrap();
        let counts = meter.snapshot();
        assert_eq!(
            counts[&("A".to_owned(), 7)],
            Heat {
                writes: 3,
                units: 1 + 3 + 2
            }
        );
        assert_eq!(
            counts[&("B".to_owned(), 7)],
            Heat {
                writes: 1,
                units: 2
            }
        );
        assert_eq!(
            counts[&(index_partition(Index::Gsi1, "LIST#1"), 7)],
            Heat {
                writes: 1,
                units: 1
            }
        );
        let (pk, second, heat) = meter.hottest().unwrap();
        assert_eq!((pk.as_str(), second, heat.units), ("A", 7, 6));
        let totals = meter.totals();
        assert_eq!((totals.writes, totals.write_units), (4, 1 + 3 + 2 + 1 + 2));
        assert!(totals.bytes_written > 3000);
        meter.get(&ItemKey::new("A", "S")).await.unwrap();
        assert_eq!((meter.totals().reads, meter.totals().read_units_x2), (1, 2));
        meter.reset();
        assert!(meter.hottest().is_none());
        assert_eq!(meter.totals(), Totals::default());
    }
}

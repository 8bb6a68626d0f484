//! The store conformance suite on both adapters: the embedded SQLite file and DynamoDB (moto).

use switchboard::store::conformance::{CASES, run};
use switchboard::store::sqlite::{Durability, SqliteStore};
use switchboard::store::{ItemKey, Store};
use switchboard_tests::{dynamo_store, sqlite_db};

switchboard_tests::conformance_suite! {
    cases: CASES,
    run: run,
    adapters: {
        embedded => {
            let (db, dir) = sqlite_db();
            (SqliteStore::new(db), dir)
        },
        dynamodb => (dynamo_store().await, ()),
    },
    tests: [
        round_trip,
        conditional_put,
        conditional_delete,
        query_order_and_pages,
        ttl_hides_expired,
        atomic_update,
        transactions_all_or_nothing,
        transactional_update,
        concurrent_adds,
        index_query,
    ],
}

/// The audit log's layout (append-only entries, sharded newest-first lists) on both adapters.
mod audit_log {
    use switchboard::audit::conformance::{CASES, run};
    use switchboard::store::sqlite::SqliteStore;
    use switchboard_tests::{dynamo_store, sqlite_db};

    switchboard_tests::conformance_suite! {
        cases: CASES,
        run: run,
        adapters: {
            embedded => {
                let (db, dir) = sqlite_db();
                (SqliteStore::new(db), dir)
            },
            dynamodb => (dynamo_store().await, ()),
        },
        tests: [append_only, newest_first_in_pages, scoped_and_expiring],
    }
}

/// Usage metering (sharded counters and their ledger, written by many workers at once) on both
/// adapters.
mod usage_ledger {
    use std::sync::Arc;
    use switchboard::store::Store;
    use switchboard::store::sqlite::SqliteStore;
    use switchboard::usage::conformance::CASES;
    use switchboard_tests::{dynamo_store, sqlite_db};

    /// The meters share the store, as a process's services do.
    async fn run<S: Store + Clone>(store: &S, case: &str) {
        switchboard::usage::conformance::run(Arc::new(store.clone()), case).await;
    }

    switchboard_tests::conformance_suite! {
        cases: CASES,
        run: run,
        adapters: {
            embedded => {
                let (db, dir) = sqlite_db();
                (SqliteStore::new(db), dir)
            },
            dynamodb => (dynamo_store().await, ()),
        },
        tests: [ledger_equals_counters_after_a_concurrent_burst, tenants_and_months_apart],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_store_survives_reopening_its_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.db");
    let key = ItemKey::new("P", "S");
    {
        let store = SqliteStore::open(&path, Durability::Normal).expect("open");
        let mut item = switchboard::store::Item::new();
        item.insert("PK".into(), "P".into());
        item.insert("SK".into(), "S".into());
        item.insert("kept".into(), true.into());
        store.put(item, None).await.expect("put");
    }
    let reopened = SqliteStore::open(&path, Durability::Full).expect("reopen");
    let item = reopened
        .get(&key)
        .await
        .expect("get")
        .expect("item survived");
    assert_eq!(item["kept"], serde_json::json!(true));
}

/// Checkpoints run beside the writer, and the WAL still starts over under sustained writes: a
/// background checkpoint alone never catches up with a busy writer, so without the writer's own
/// backstop checkpoint the WAL file grows with every page ever written (it reached 640 MB in one
/// inbound bench run). Concurrent writers keep the writer thread busy the whole time here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_wal_stays_bounded_under_sustained_writes() {
    const TASKS: usize = 16;
    const WRITES: usize = 1_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("data.db");
    let store = std::sync::Arc::new(SqliteStore::open(&path, Durability::Normal).expect("open"));
    let pad = "x".repeat(2048);
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let store = std::sync::Arc::clone(&store);
        let pad = pad.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0..WRITES {
                let mut item = switchboard::store::Item::new();
                item.insert("PK".into(), format!("P#{t}#{n}").into());
                item.insert("SK".into(), "S".into());
                item.insert("pad".into(), pad.clone().into());
                store.put(item, None).await.expect("put");
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    // 16,000 items of 2 KiB make about 60,000 WAL frames here (240 MiB); started over at 8,000
    // pages (16,000 at worst) and truncated to 64 MiB when it starts over, the file stays small.
    let wal = std::fs::metadata(dir.path().join("data.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(
        wal <= 80 << 20,
        "the WAL file is {wal} bytes: it did not start over"
    );
    let last = store
        .get(&ItemKey::new(
            format!("P#{}#{}", TASKS - 1, WRITES - 1),
            "S",
        ))
        .await
        .expect("get");
    assert!(last.is_some(), "every write is readable");
}

//! The behaviour every [`Store`] adapter must show. The `tests` crate runs each case against the
//! embedded adapter (a real file) and the DynamoDB adapter (moto server over HTTP); an adapter
//! that fails any case does not ship. Each case works in partitions of its own, so cases can
//! share one store.

// A test suite (compiled only with the `conformance` feature): a failed step panics the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::{
    Condition, Index, Item, ItemKey, Query, SortKeyRange, Store, StoreError, TxOp, Update,
};
use serde_json::{Value, json};

/// Names every conformance case, so test crates can generate one test per case and adapter.
pub const CASES: &[&str] = &[
    "round_trip",
    "conditional_put",
    "conditional_delete",
    "query_order_and_pages",
    "ttl_hides_expired",
    "atomic_update",
    "transactions_all_or_nothing",
    "transactional_update",
    "concurrent_adds",
    "index_query",
];

/// Runs one case by name.
pub async fn run(store: &dyn Store, case: &str) {
    match case {
        "round_trip" => round_trip(store).await,
        "conditional_put" => conditional_put(store).await,
        "conditional_delete" => conditional_delete(store).await,
        "query_order_and_pages" => query_order_and_pages(store).await,
        "ttl_hides_expired" => ttl_hides_expired(store).await,
        "atomic_update" => atomic_update(store).await,
        "transactions_all_or_nothing" => transactions_all_or_nothing(store).await,
        "transactional_update" => transactional_update(store).await,
        "concurrent_adds" => concurrent_adds(store).await,
        "index_query" => index_query(store).await,
        other => panic!("unknown conformance case {other}"),
    }
}

fn partition(name: &str) -> String {
    format!("CONF#{name}#{}", ulid::Ulid::new())
}

fn item(pk: &str, sk: &str, extra: Value) -> Item {
    let mut item = Item::new();
    item.insert("PK".into(), json!(pk));
    item.insert("SK".into(), json!(sk));
    if let Value::Object(map) = extra {
        item.extend(map);
    }
    item
}

fn assert_condition_failed<T: std::fmt::Debug>(result: Result<T, StoreError>, what: &str) {
    match result {
        Err(StoreError::ConditionFailed) => {}
        other => panic!("{what}: expected ConditionFailed, got {other:?}"),
    }
}

async fn round_trip(store: &dyn Store) {
    let pk = partition("rt");
    let key = ItemKey::new(&pk, "A");
    assert!(store.get(&key).await.expect("get").is_none());
    let written = item(
        &pk,
        "A",
        json!({"name": "ü ✓", "n": 42, "neg": -7, "f": 1.5, "flag": true,
               "list": [1, "two", {"three": 3}], "map": {"nested": {"deep": "x"}}, "none": null}),
    );
    store.put(written.clone(), None).await.expect("put");
    let read = store.get(&key).await.expect("get").expect("item present");
    assert_eq!(read, written, "an item reads back exactly as written");
    store.delete(&key, None).await.expect("delete");
    assert!(store.get(&key).await.expect("get").is_none());
    store
        .delete(&key, None)
        .await
        .expect("deleting nothing is fine");
}

async fn conditional_put(store: &dyn Store) {
    let pk = partition("cp");
    let key = ItemKey::new(&pk, "A");
    let v1 = item(&pk, "A", json!({"version": 1, "state": "new"}));
    store
        .put(v1.clone(), Some(Condition::Absent))
        .await
        .expect("create");
    assert_condition_failed(
        store.put(v1.clone(), Some(Condition::Absent)).await,
        "create twice",
    );
    let v2 = item(&pk, "A", json!({"version": 2, "state": "next"}));
    assert_condition_failed(
        store
            .put(v2.clone(), Some(Condition::VersionEquals(7)))
            .await,
        "stale version",
    );
    store
        .put(v2.clone(), Some(Condition::VersionEquals(1)))
        .await
        .expect("matching version");
    assert_condition_failed(
        store
            .put(
                v2.clone(),
                Some(Condition::AttrEquals("state".into(), json!("new"))),
            )
            .await,
        "attr mismatch",
    );
    store
        .put(
            v2.clone(),
            Some(Condition::AttrEquals("state".into(), json!("next"))),
        )
        .await
        .expect("attr match");
    let other = item(&pk, "B", json!({}));
    assert_condition_failed(
        store.put(other.clone(), Some(Condition::Exists)).await,
        "exists on absent",
    );
    assert!(
        store
            .get(&ItemKey::new(&pk, "B"))
            .await
            .expect("get")
            .is_none()
    );
    assert_eq!(
        store.get(&key).await.expect("get").expect("present")["state"],
        json!("next")
    );
}

async fn conditional_delete(store: &dyn Store) {
    let pk = partition("cd");
    let key = ItemKey::new(&pk, "A");
    store
        .put(item(&pk, "A", json!({"version": 3})), None)
        .await
        .expect("put");
    assert_condition_failed(
        store.delete(&key, Some(Condition::VersionEquals(2))).await,
        "stale delete",
    );
    assert!(store.get(&key).await.expect("get").is_some());
    store
        .delete(&key, Some(Condition::VersionEquals(3)))
        .await
        .expect("delete");
    assert_condition_failed(
        store.delete(&key, Some(Condition::Exists)).await,
        "delete absent with Exists",
    );
}

async fn query_order_and_pages(store: &dyn Store) {
    let pk = partition("q");
    for i in 0..25 {
        store
            .put(item(&pk, &format!("ITEM#{i:03}"), json!({"i": i})), None)
            .await
            .expect("put");
    }
    store
        .put(item(&pk, "OTHER#1", json!({})), None)
        .await
        .expect("put");
    // Another partition must never leak in.
    let other_pk = partition("q-other");
    store
        .put(item(&other_pk, "ITEM#000", json!({"i": -1})), None)
        .await
        .expect("put");

    let all_forward = collect(store, Query::prefix(&pk, "ITEM#").limit(7)).await;
    assert_eq!(all_forward, (0..25).collect::<Vec<_>>(), "forward pages");
    let all_backward = collect(store, Query::prefix(&pk, "ITEM#").limit(10).backward()).await;
    assert_eq!(
        all_backward,
        (0..25).rev().collect::<Vec<_>>(),
        "backward pages"
    );

    let exact = store
        .query(&Query::prefix(&pk, "ITEM#").limit(25))
        .await
        .expect("query");
    assert_eq!(exact.items.len(), 25);
    assert!(
        exact.last_sk.is_none(),
        "no cursor when nothing follows the page"
    );

    let between = Query {
        index: None,
        pk: pk.clone(),
        range: SortKeyRange::Between("ITEM#005".into(), "ITEM#009".into()),
        forward: true,
        limit: 100,
        start_after: None,
    };
    assert_eq!(collect(store, between).await, vec![5, 6, 7, 8, 9]);

    let all = Query {
        index: None,
        range: SortKeyRange::All,
        ..Query::prefix(&pk, "").limit(100)
    };
    let page = store.query(&all).await.expect("query all");
    assert_eq!(page.items.len(), 26, "the whole partition, nothing else");
}

async fn collect(store: &dyn Store, mut query: Query) -> Vec<i64> {
    let mut out = Vec::new();
    for _ in 0..100 {
        let page = store.query(&query).await.expect("query");
        assert!(page.items.len() <= query.limit, "page larger than limit");
        out.extend(page.items.iter().map(|i| i["i"].as_i64().expect("i")));
        match page.last_sk {
            Some(sk) => query.start_after = Some(sk),
            None => return out,
        }
    }
    panic!("query never ended");
}

async fn ttl_hides_expired(store: &dyn Store) {
    let pk = partition("ttl");
    let past = super::now_epoch_seconds() - 10;
    let future = super::now_epoch_seconds() + 3600;
    store
        .put(item(&pk, "OLD", json!({"ttl": past})), None)
        .await
        .expect("put");
    store
        .put(item(&pk, "NEW", json!({"ttl": future})), None)
        .await
        .expect("put");
    assert!(
        store
            .get(&ItemKey::new(&pk, "OLD"))
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .get(&ItemKey::new(&pk, "NEW"))
            .await
            .expect("get")
            .is_some()
    );
    let page = store
        .query(&Query::prefix(&pk, "").limit(10))
        .await
        .expect("query");
    let sks: Vec<_> = page.items.iter().map(|i| i["SK"].clone()).collect();
    assert_eq!(sks, vec![json!("NEW")]);
    // An expired item counts as absent for conditions, so a claim can take its place.
    store
        .put(
            item(&pk, "OLD", json!({"claimed": true})),
            Some(Condition::Absent),
        )
        .await
        .expect("claim over expired item");
    assert_condition_failed(
        store
            .put(item(&pk, "X", json!({"ttl": past})), None)
            .await
            .and(
                store
                    .put(item(&pk, "X", json!({})), Some(Condition::Exists))
                    .await,
            ),
        "Exists over an expired item",
    );
}

async fn atomic_update(store: &dyn Store) {
    let pk = partition("upd");
    let key = ItemKey::new(&pk, "COUNTER");
    let add = |n: i64| Update {
        add: vec![("count".into(), n), ("version".into(), 1)],
        set: vec![("last".into(), json!(format!("n={n}")))],
    };
    let after = store
        .update(&key, &add(5), None)
        .await
        .expect("create by add");
    assert_eq!(after["count"], json!(5));
    assert_eq!(after["PK"], json!(pk));
    let after = store.update(&key, &add(-2), None).await.expect("add");
    assert_eq!(after["count"], json!(3));
    assert_eq!(after["version"], json!(2));
    assert_eq!(after["last"], json!("n=-2"));
    assert_condition_failed(
        store
            .update(
                &ItemKey::new(&pk, "MISSING"),
                &add(1),
                Some(Condition::Exists),
            )
            .await,
        "update absent with Exists",
    );
    assert!(
        store
            .get(&ItemKey::new(&pk, "MISSING"))
            .await
            .expect("get")
            .is_none(),
        "a failed conditional update creates nothing"
    );
    let read = store.get(&key).await.expect("get").expect("present");
    assert_eq!(read["count"], json!(3));
}

async fn transactions_all_or_nothing(store: &dyn Store) {
    let pk = partition("tx");
    store
        .put(item(&pk, "GUARD", json!({"version": 1})), None)
        .await
        .expect("put");
    let failing = vec![
        TxOp::Put {
            item: item(&pk, "A", json!({})),
            condition: Some(Condition::Absent),
        },
        TxOp::Check {
            key: ItemKey::new(&pk, "GUARD"),
            condition: Condition::VersionEquals(2),
        },
    ];
    assert_condition_failed(store.transact(failing).await, "failed check");
    assert!(
        store
            .get(&ItemKey::new(&pk, "A"))
            .await
            .expect("get")
            .is_none(),
        "nothing written when one condition fails"
    );
    let ok = vec![
        TxOp::Put {
            item: item(&pk, "A", json!({"a": 1})),
            condition: Some(Condition::Absent),
        },
        TxOp::Put {
            item: item(&pk, "B", json!({"b": 1})),
            condition: None,
        },
        TxOp::Delete {
            key: ItemKey::new(&pk, "GUARD"),
            condition: Some(Condition::VersionEquals(1)),
        },
    ];
    store.transact(ok).await.expect("transaction");
    assert!(
        store
            .get(&ItemKey::new(&pk, "A"))
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        store
            .get(&ItemKey::new(&pk, "B"))
            .await
            .expect("get")
            .is_some()
    );
    assert!(
        store
            .get(&ItemKey::new(&pk, "GUARD"))
            .await
            .expect("get")
            .is_none()
    );
}

/// An update inside a transaction adds and sets like [`Store::update`] (creating the item), and
/// is undone with the rest when another op's condition fails; its own condition counts too.
async fn transactional_update(store: &dyn Store) {
    let pk = partition("txupd");
    let counter = ItemKey::new(&pk, "COUNTER");
    let add = |n: i64| Update {
        add: vec![("n".into(), n), ("m".into(), 2 * n)],
        set: vec![("last".into(), json!(n))],
    };
    let entry = |sk: &str| TxOp::Put {
        item: item(&pk, sk, json!({"n": 1})),
        condition: Some(Condition::Absent),
    };
    let bump = |n: i64, condition: Option<Condition>| TxOp::Update {
        key: counter.clone(),
        update: add(n),
        condition,
    };
    store
        .transact(vec![entry("L#1"), bump(3, None)])
        .await
        .expect("create by a transactional add");
    store
        .transact(vec![entry("L#2"), bump(4, Some(Condition::Exists))])
        .await
        .expect("add to the item");
    let read = store.get(&counter).await.expect("get").expect("created");
    assert_eq!(
        (read["n"].clone(), read["m"].clone()),
        (json!(7), json!(14))
    );
    assert_eq!(read["last"], json!(4));
    // A repeated entry (the retry of a batch already written) adds nothing.
    assert_condition_failed(
        store.transact(vec![entry("L#2"), bump(4, None)]).await,
        "entry written twice",
    );
    // The update's own condition.
    assert_condition_failed(
        store
            .transact(vec![
                entry("L#3"),
                bump(5, Some(Condition::AttrEquals("last".into(), json!(0)))),
            ])
            .await,
        "update condition",
    );
    assert!(
        store
            .get(&ItemKey::new(&pk, "L#3"))
            .await
            .expect("get")
            .is_none(),
        "nothing written when the update's condition fails"
    );
    let read = store.get(&counter).await.expect("get").expect("present");
    assert_eq!(read["n"], json!(7), "no add from a failed transaction");
}

async fn concurrent_adds(store: &dyn Store) {
    let pk = partition("conc");
    let key = ItemKey::new(&pk, "C");
    let update = Update {
        add: vec![("n".into(), 1)],
        set: vec![],
    };
    let adds = (0..20).map(|_| store.update(&key, &update, None));
    for result in futures::future::join_all(adds).await {
        result.expect("add");
    }
    let read = store.get(&key).await.expect("get").expect("present");
    assert_eq!(read["n"], json!(20), "no add is lost under concurrency");
}

/// The secondary index: items carrying both index keys are listed by them, in index-key order,
/// across table partitions, page by page; items without them, expired items and deleted items
/// are not; a changed index key moves the item; updates and transactions keep the index too.
async fn index_query(store: &dyn Store) {
    let ipk = partition("index");
    let other = partition("index-other");
    // Items spread over many table partitions, written out of index order.
    for i in [3, 0, 4, 1, 2, 6, 5, 7, 9, 8] {
        let extra = json!({"GSI1PK": ipk, "GSI1SK": format!("AT#{i:03}"), "i": i});
        store
            .put(item(&partition("row"), "ROW", extra), None)
            .await
            .expect("put");
    }
    // Not in this index partition: another index key, no index key, only half an index key.
    let elsewhere = json!({"GSI1PK": other, "GSI1SK": "AT#005", "i": 100});
    store
        .put(item(&partition("row"), "ROW", elsewhere), None)
        .await
        .expect("put");
    let unindexed = item(&partition("row"), "ROW", json!({"i": 101}));
    store.put(unindexed, None).await.expect("put");
    let half = item(&partition("row"), "ROW", json!({"GSI1PK": ipk, "i": 102}));
    store.put(half, None).await.expect("put");
    let past = super::now_epoch_seconds() - 10;
    let expired = json!({"GSI1PK": ipk, "GSI1SK": "AT#010", "i": 103, "ttl": past});
    store
        .put(item(&partition("row"), "ROW", expired), None)
        .await
        .expect("put");

    let on = |q: Query| q.on(Index::Gsi1);
    // DynamoDB's index follows its table within milliseconds: poll with a deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let forward = loop {
        let got = collect(store, on(Query::prefix(&ipk, "AT#").limit(3))).await;
        if got.len() == 10 || std::time::Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(forward, (0..10).collect::<Vec<_>>(), "forward pages of 3");
    let backward = collect(store, on(Query::prefix(&ipk, "AT#").limit(4).backward())).await;
    assert_eq!(
        backward,
        (0..10).rev().collect::<Vec<_>>(),
        "backward pages"
    );
    let between = Query {
        range: SortKeyRange::Between("AT#002".into(), "AT#006".into()),
        ..on(Query::prefix(&ipk, "").limit(2))
    };
    assert_eq!(collect(store, between.clone()).await, vec![2, 3, 4, 5, 6]);
    assert_eq!(
        collect(store, between.backward()).await,
        vec![6, 5, 4, 3, 2],
        "a resumed backward page stays inside the range"
    );
    let all = Query {
        range: SortKeyRange::All,
        ..on(Query::prefix(&ipk, "").limit(100))
    };
    assert_eq!(store.query(&all).await.expect("all").items.len(), 10);
    let exact = store
        .query(&on(Query::prefix(&ipk, "AT#").limit(10)))
        .await
        .expect("exact");
    assert_eq!(exact.items.len(), 10);
    assert!(exact.last_sk.is_none(), "no cursor when nothing follows");

    // Moving and removing: an update that changes the index key, a transaction that deletes.
    let moved_pk = partition("row");
    let moved = json!({"GSI1PK": ipk, "GSI1SK": "AT#011", "i": 11});
    store
        .put(item(&moved_pk, "ROW", moved), None)
        .await
        .expect("put");
    let key = ItemKey::new(moved_pk, "ROW");
    let update = Update {
        add: vec![],
        set: vec![("GSI1PK".into(), json!(other))],
    };
    store.update(&key, &update, None).await.expect("update");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mine = collect(store, on(Query::prefix(&ipk, "AT#").limit(50))).await;
        let theirs = collect(store, on(Query::prefix(&other, "AT#").limit(50))).await;
        if (mine.len() == 10 && theirs == vec![100, 11]) || std::time::Instant::now() > deadline {
            assert_eq!(mine, (0..10).collect::<Vec<_>>(), "moved out");
            assert_eq!(theirs, vec![100, 11], "moved in");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    store
        .transact(vec![TxOp::Delete {
            key,
            condition: None,
        }])
        .await
        .expect("delete");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let theirs = collect(store, on(Query::prefix(&other, "AT#").limit(50))).await;
        if theirs == vec![100] || std::time::Instant::now() > deadline {
            assert_eq!(theirs, vec![100], "deleted from the index");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

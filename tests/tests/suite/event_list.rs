//! `GET /v1/events` over real HTTP on both adapter sets: newest first, the `type`, `status`,
//! `since` and `until` filters, cursor pagination (bound to its tenant and its filter), and
//! problem+json answers naming a malformed parameter.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use switchboard_tests::receiver::Reply;
use switchboard_tests::{Backend, Harness, TenantClient, WAIT};

/// The ids of a listing's page, in order.
fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data: {page}"))
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect()
}

/// The ids `query` lists, in order (one page; the listing is small).
async fn listed(client: &TenantClient, query: &str) -> Vec<String> {
    ids(&client.get(&format!("/v1/events?{query}")).await)
}

/// Every id `query` lists, walking pages of one with `next_cursor`.
async fn walk(client: &TenantClient, query: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let path = match &cursor {
            Some(c) => format!("/v1/events?{query}&limit=1&cursor={c}"),
            None => format!("/v1/events?{query}&limit=1"),
        };
        let page = client.get(&path).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 1, "limit=1 gave {page}");
        seen.extend(page_ids);
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
    panic!("{query}: pagination did not end after 20 pages: {seen:?}");
}

/// A time in a later millisecond than now (the API's time filters are millisecond-grained),
/// so that events published before and after it fall on different sides of it.
async fn next_millisecond() -> DateTime<Utc> {
    let start = Utc::now().timestamp_millis();
    loop {
        tokio::time::sleep(Duration::from_millis(1)).await;
        let now = Utc::now();
        if now.timestamp_millis() > start {
            return DateTime::from_timestamp_millis(now.timestamp_millis()).expect("time");
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    // `+` would need escaping in a query string; `Z` does not.
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn lists_filters_and_pages(backend: Backend) {
    let h = Harness::start(backend).await;
    h.receiver
        .script("bad", (0..10).map(|_| Reply::Status(500)));
    let (ok_ep, _) = h.endpoint("ok", json!({"event_types": ["good.*"]})).await;
    let (bad_ep, _) = h
        .endpoint("bad", json!({"event_types": ["bad.*"], "max_attempts": 1}))
        .await;
    let other = h.new_tenant("other").await;
    let foreign = other.publish("good.one", json!({"theirs": true})).await;

    let e1 = h.publish_id("good.one").await;
    let t1 = next_millisecond().await;
    let e2 = h.publish_id("bad.one").await;
    let e3 = h.publish_id("good.two").await;
    let t2 = next_millisecond().await;
    next_millisecond().await;
    let e4 = h.publish_id("bad.two").await;
    let (e1, e2, e3, e4) = (e1.as_str(), e2.as_str(), e3.as_str(), e4.as_str());

    let worker = h.worker();
    for (id, status) in [
        (e1, "succeeded"),
        (e2, "failed"),
        (e3, "succeeded"),
        (e4, "failed"),
    ] {
        h.delivery_status(id, status, WAIT).await;
    }
    worker.stop().await;

    // Newest first, only this tenant's events, each with its deliveries.
    let all = h.get("/v1/events").await;
    assert_eq!(ids(&all), [e4, e3, e2, e1], "{all}");
    assert!(all["next_cursor"].is_null(), "{all}");
    assert!(!ids(&all).contains(&foreign["id"].as_str().expect("id").to_owned()));
    let stamps: Vec<DateTime<Utc>> = all["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| {
            e["created_at"]
                .as_str()
                .expect("created_at")
                .parse()
                .expect("time")
        })
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");
    let newest = &all["data"][0];
    assert_eq!(newest["type"], json!("bad.two"));
    assert_eq!(newest["data"], json!({}));
    assert_eq!(newest["deliveries"][0]["endpoint_id"], json!(bad_ep));
    assert_eq!(newest["deliveries"][0]["status"], json!("failed"));
    assert_eq!(newest["deliveries"][0]["attempts"], json!(1));
    assert_eq!(newest["deliveries"][0]["last_status_code"], json!(500));
    assert_eq!(all["data"][1]["deliveries"][0]["endpoint_id"], json!(ok_ep));
    assert_eq!(
        all["data"][1]["deliveries"][0]["status"],
        json!("succeeded")
    );
    assert_eq!(
        listed(&other, "").await,
        [foreign["id"].as_str().expect("id")],
        "the other tenant sees only its own"
    );

    // `type` is exact.
    assert_eq!(listed(&h, "type=good.one").await, [e1]);
    assert_eq!(listed(&h, "type=good.two").await, [e3]);
    assert_eq!(listed(&h, "type=good").await, Vec::<String>::new());

    // `status`: events with a delivery in that state.
    assert_eq!(listed(&h, "status=failed").await, [e4, e2]);
    assert_eq!(listed(&h, "status=succeeded").await, [e3, e1]);
    assert_eq!(listed(&h, "status=retrying").await, Vec::<String>::new());
    assert_eq!(listed(&h, "status=failed&type=bad.one").await, [e2]);

    // `since` and `until` are inclusive bounds on creation time.
    let (since, until) = (rfc3339(t1), rfc3339(t2));
    assert_eq!(
        listed(&h, &format!("since={since}&until={until}")).await,
        [e3, e2]
    );
    assert_eq!(listed(&h, &format!("since={since}")).await, [e4, e3, e2]);
    assert_eq!(listed(&h, &format!("until={until}")).await, [e3, e2, e1]);
    assert_eq!(
        listed(&h, &format!("since={since}&status=succeeded")).await,
        [e3]
    );

    // An event's own `created_at`, as shown, bounds it inclusively on both sides, and a
    // millisecond later excludes it.
    let shown = h.get(&format!("/v1/events/{e3}")).await;
    let at: DateTime<Utc> = shown["created_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("created_at");
    let (at_text, after) = (rfc3339(at), rfc3339(at + chrono::Duration::milliseconds(1)));
    assert_eq!(
        listed(&h, &format!("since={at_text}&until={at_text}")).await,
        [e3]
    );
    assert!(
        !listed(&h, &format!("since={after}"))
            .await
            .iter()
            .any(|id| id == e3)
    );

    // Pages of one walk every event once, with or without a filter.
    assert_eq!(walk(&h, "").await, [e4, e3, e2, e1]);
    assert_eq!(walk(&h, "status=failed").await, [e4, e2]);
    assert_eq!(walk(&h, &format!("until={until}")).await, [e3, e2, e1]);

    // A cursor belongs to its tenant and its filter.
    let first = h.get("/v1/events?limit=1").await;
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let second = h
        .fetch(&format!("/v1/events?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(ids(&second.body), [e3]);
    for query in [
        format!("status=failed&cursor={cursor}"),
        format!("type=good.one&cursor={cursor}"),
        format!("since={since}&cursor={cursor}"),
    ] {
        h.fetch(&format!("/v1/events?{query}"))
            .await
            .assert_field(StatusCode::BAD_REQUEST, "cursor");
    }
    other
        .fetch(&format!("/v1/events?cursor={cursor}"))
        .await
        .assert_field(StatusCode::BAD_REQUEST, "cursor");

    // Malformed parameters: 400 problem+json naming the parameter.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=251", "limit"),
        ("limit=many", "limit"),
        ("status=bogus", "status"),
        ("type=bad%20type", "type"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("cursor=%25%25%25", "cursor"),
    ] {
        h.fetch(&format!("/v1/events?{query}"))
            .await
            .assert_field(StatusCode::BAD_REQUEST, field);
    }
    h.fetch(&format!("/v1/events?since={until}&until={since}"))
        .await
        .assert_field(StatusCode::BAD_REQUEST, "until");
}

/// An event whose deliveries have not been attempted shows them `pending`, so `status=pending`
/// lists it.
async fn pending_filter_matches_unattempted_deliveries(backend: Backend) {
    let h = Harness::start(backend).await;
    h.endpoint("later", json!({})).await;
    // No worker: nothing is attempted.
    let id = h.publish_id("order.placed").await;
    let event = h.get(&format!("/v1/events/{id}")).await;
    assert_eq!(
        event["deliveries"][0]["status"],
        json!("pending"),
        "{event}"
    );
    assert_eq!(listed(&h, "status=pending").await, [id.as_str()]);
}

switchboard_tests::on_both_backends!(
    lists_filters_and_pages,
    pending_filter_matches_unattempted_deliveries,
);

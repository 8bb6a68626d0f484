//! Security issue #7, the event and list items, over real HTTP on both adapter sets:
//! event `data` no reader accepts is refused at publish (7), text after a JSON body is a
//! malformed body (10), tenants cannot publish Switchboard's own event types (12), list pages are
//! filled with live items (13), and an unresolvable host looks like an internal one in the
//! attempt log (15), and IPv6 forms of internal addresses are refused (16; the guard itself is
//! unit-tested in `shared/src/ssrf.rs`).

use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;
use switchboard::delivery::client::{DeliveryClient, ErrorCode};
use switchboard::model::message::{Attempt, AttemptStatus, Delivery, DeliveryStatus, Message};
use switchboard::model::{AttemptId, EndpointId, MessageId, TenantId};
use switchboard::outbound::{messages, publish};
use switchboard::ssrf::AddressPolicy;
use switchboard::store::{Query, query_kept_within};
use switchboard_tests::{Backend, Harness, Reply, TenantClient};

/// Sends `body` as is (not re-encoded: `json!` cannot say `1e999999` or `"\ud800"`) with the
/// tenant's key.
async fn send_raw(client: &TenantClient, method: Method, path: &str, body: String) -> Reply {
    let resp = client
        .api
        .http
        .request(method, client.api.url(path))
        .bearer_auth(&client.key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    Reply::read(resp).await.0
}

/// GETs `path` and returns the status and the body text unparsed.
async fn get_text(client: &TenantClient, path: &str) -> (StatusCode, String) {
    let resp = client
        .api
        .http
        .get(client.api.url(path))
        .bearer_auth(&client.key)
        .send()
        .await
        .expect("request");
    (resp.status(), resp.text().await.expect("body"))
}

fn nested(levels: usize) -> String {
    format!("{}{}", "[".repeat(levels), "]".repeat(levels))
}

fn publish_body(data: &str) -> String {
    format!(r#"{{"type":"ticket.created","data":{data}}}"#)
}

/// The number of events the tenant has stored.
async fn stored_events(client: &TenantClient) -> usize {
    client.get("/v1/events?limit=250").await["data"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn event_data_no_reader_accepts_is_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    h.endpoint("all", json!({"event_types": ["*"]})).await;
    for (what, data) in [
        ("10,000 nested arrays", nested(10_000)),
        ("65 nested arrays", nested(65)),
        (
            "65 nested objects",
            format!("{}1{}", r#"{"a":"#.repeat(65), "}".repeat(65)),
        ),
        ("a lone high surrogate", r#""\ud800""#.to_owned()),
        ("a lone low surrogate", r#"{"s":"x\udc00y"}"#.to_owned()),
        ("an infinite number", "1e999999".to_owned()),
        ("a negative infinite number", "[-1e999999]".to_owned()),
    ] {
        let reply = send_raw(&h, Method::POST, "/v1/events", publish_body(&data)).await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "data");
        assert_eq!(reply.fields(), ["data"], "{what}: {}", reply.body);
    }
    assert_eq!(stored_events(&h).await, 0, "nothing refused was stored");

    // 64 levels is the limit, and the stored data is shown back exactly, never as null.
    let deepest = nested(64);
    let reply = send_raw(&h, Method::POST, "/v1/events", publish_body(&deepest)).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    let id = reply.body["id"].as_str().expect("id").to_owned();
    let (status, text) = get_text(&h, &format!("/v1/events/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains(&format!(r#""data":{deepest}"#)), "{text}");
    let (status, text) = get_text(&h, "/v1/events").await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains(&format!(r#""data":{deepest}"#)), "{text}");
}

/// An event stored before publish checked `data` (here a number no double holds) is shown as
/// it was signed and delivered: not `null`, and not a 500 that would break the whole listing.
async fn data_stored_before_the_checks_is_shown_as_sent(backend: Backend) {
    let h = Harness::start(backend).await;
    let tenant: TenantId = h.id.parse().expect("tenant id");
    let id = MessageId::generate();
    let message = Message {
        id,
        tenant_id: tenant,
        event_type: "legacy.event".into(),
        body: r#"{"type":"legacy.event","timestamp":"2024-01-01T00:00:00.000Z","data":[1e999999,"\ud800"]}"#
            .into(),
        created_at: chrono::Utc::now(),
        destinations: vec![],
        ttl: chrono::Utc::now().timestamp() + 3600,
    };
    let item = messages::message_item(&message).expect("item");
    h.app.store.put(item, None).await.expect("put");
    for path in [format!("/v1/events/{id}"), "/v1/events".to_owned()] {
        let (status, text) = get_text(&h, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {text}");
        assert!(
            text.contains(r#""data":[1e999999,"\ud800"]"#),
            "{path}: {text}"
        );
    }
}

async fn text_after_the_json_body_is_malformed(backend: Backend) {
    let h = Harness::start(backend).await;
    let event = r#"{"type":"ticket.created","data":{}}"#;
    let key = r#"{"name":"k","scopes":["webhooks:read"]}"#;
    let hook = r#"{"url":"https://example.com/hook"}"#;
    for (path, body) in [
        ("/v1/events", format!("{event} garbage")),
        ("/v1/events", format!("{event}{event}")),
        ("/v1/events", format!("{event}]]]")),
        ("/v1/events", format!("{event} 1")),
        // A value error first must not hide that the body is not one JSON document.
        ("/v1/events", r#"{"nope":1} garbage"#.to_owned()),
        ("/v1/api-keys", format!("{key}{key}")),
        ("/v1/api-keys", format!("{key}}}")),
        ("/v1/webhooks", format!("{hook} x")),
        ("/v1/webhooks", format!("{hook}[]")),
    ] {
        let reply = send_raw(&h, Method::POST, path, body.clone()).await;
        reply.assert_field(StatusCode::BAD_REQUEST, "body");
        assert!(
            reply.body["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("malformed-json")),
            "{path} {body}: {}",
            reply.body
        );
    }
    assert_eq!(stored_events(&h).await, 0, "nothing was published");
    assert_eq!(
        h.get("/v1/webhooks").await["data"],
        json!([]),
        "no endpoint was created"
    );
    // Whitespace after the document is fine.
    let reply = send_raw(&h, Method::POST, "/v1/events", format!("{event} \n\t ")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // A body that is JSON but not an object (serde would read `[]` as a struct with no fields
    // given) is refused naming `body`, on routes whose fields are all optional too.
    let created = h
        .post(
            "/v1/api-keys",
            json!({"name": "k", "scopes": ["webhooks:read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().expect("key id").to_owned();
    for (path, body) in [
        (format!("/v1/api-keys/{id}/roll"), "[]"),
        (format!("/v1/api-keys/{id}/roll"), "1"),
        ("/v1/events".to_owned(), r#"["ticket.created", {}]"#),
    ] {
        let reply = send_raw(&h, Method::POST, &path, body.to_owned()).await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "body");
    }
}

async fn tenants_cannot_publish_switchboard_event_types(backend: Backend) {
    let h = Harness::start(backend).await;
    h.endpoint("ops", json!({"event_types": ["*"]})).await;
    for reserved in [
        "webhook.disabled",
        "webhook.failing",
        "webhook.test",
        "integration.event_failed",
        "api_key.expiring",
        "switchboard.anything",
        "Webhook.Disabled",
        "webhook",
    ] {
        let reply = h
            .post("/v1/events", json!({"type": reserved, "data": {}}))
            .await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "type");
    }
    assert_eq!(stored_events(&h).await, 0, "nothing reserved was stored");
    // Names that only resemble a reserved namespace are the tenant's own.
    for own in ["webhooks.created", "ticket.webhook.disabled"] {
        h.publish_id(own).await;
    }
    // Switchboard itself still publishes into its namespace.
    let tenant: TenantId = h.id.parse().expect("tenant id");
    let published = publish::publish_internal(
        &h.app.outbound,
        tenant,
        "webhook.disabled",
        json!({"endpoint_id": "ep_x"}),
    )
    .await
    .expect("internal publish");
    assert_eq!(published.matched, 1);
    let listed = h.get("/v1/events?type=webhook.disabled").await;
    assert_eq!(listed["data"][0]["id"], json!(published.id.to_string()));
}

/// Walks a list with `limit`, asserting that a page with a cursor is full (so never empty);
/// returns every id seen, in order.
async fn walk(client: &TenantClient, key: &str, path: &str, limit: usize) -> Vec<String> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = client.api.get(&url, key).await;
        assert_eq!(page.status, StatusCode::OK, "{url}: {}", page.body);
        let data = page.body["data"].as_array().expect("data");
        let next = page.body["next_cursor"].as_str();
        if next.is_some() {
            assert_eq!(
                data.len(),
                limit,
                "{url}: a page with a cursor is full: {}",
                page.body
            );
        }
        seen.extend(
            data.iter()
                .map(|e| e["id"].as_str().expect("id").to_owned()),
        );
        match next {
            Some(c) => cursor = Some(c.to_owned()),
            None => return seen,
        }
    }
    panic!("{path}: paging did not end: {seen:?}");
}

/// The ids at the indexes `keep` of `ids` (created oldest first), newest first as lists show them.
fn kept_newest_first(ids: &[String], keep: &[usize]) -> Vec<String> {
    keep.iter().rev().map(|&i| ids[i].clone()).collect()
}

async fn list_pages_are_filled_with_live_items(backend: Backend) {
    let h = Harness::start(backend).await;
    let keep = [0, 5, 11];

    // Webhooks: soft-deleted endpoints lie between the live ones.
    let mut hooks = Vec::new();
    for i in 0..12 {
        hooks.push(h.endpoint(&format!("h{i}"), json!({})).await.0);
    }
    for (i, id) in hooks.iter().enumerate().filter(|(i, _)| !keep.contains(i)) {
        let reply = h
            .call(Method::DELETE, &format!("/v1/webhooks/{id}"), None)
            .await;
        assert!(reply.status.is_success(), "delete {i}: {}", reply.body);
    }
    for limit in [1, 2, 5] {
        assert_eq!(
            walk(&h, &h.key, "/v1/webhooks", limit).await,
            kept_newest_first(&hooks, &keep),
            "limit {limit}"
        );
    }

    // API keys: deleted keys lie between the live ones (the tenant's admin key is the oldest).
    let mut keys = Vec::new();
    for i in 0..12 {
        let reply = h
            .post(
                "/v1/api-keys",
                json!({"name": format!("k{i}"), "scopes": ["webhooks:read"]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        keys.push(reply.body["id"].as_str().expect("id").to_owned());
    }
    for id in keys
        .iter()
        .enumerate()
        .filter(|(i, _)| !keep.contains(i))
        .map(|(_, id)| id)
    {
        let reply = h
            .call(Method::DELETE, &format!("/v1/api-keys/{id}"), None)
            .await;
        assert!(reply.status.is_success(), "{}", reply.body);
    }
    let listed = walk(&h, &h.key, "/v1/api-keys", 2).await;
    assert_eq!(listed.len(), keep.len() + 1, "{listed:?}");
    assert_eq!(listed[..keep.len()], kept_newest_first(&keys, &keep));

    // Attempts filtered by status: attempts of the other status lie between.
    let endpoint: EndpointId = hooks[0].parse().expect("endpoint id");
    let message = MessageId::generate();
    let ttl = chrono::Utc::now().timestamp() + 3600;
    let mut attempts = Vec::new();
    for n in 0..12u32 {
        let succeeded = keep.contains(&(n as usize));
        let attempt = Attempt {
            id: AttemptId::generate(),
            message_id: message,
            destination: endpoint.into(),
            event_type: "x.y".into(),
            attempt: n + 1,
            status: if succeeded {
                AttemptStatus::Succeeded
            } else {
                AttemptStatus::Failed
            },
            status_code: Some(if succeeded { 200 } else { 500 }),
            duration_ms: 1,
            response_body: None,
            error_code: (!succeeded).then_some(ErrorCode::HttpStatus),
            error: None,
            next_attempt_at: None,
            created_at: chrono::Utc::now(),
        };
        let delivery = Delivery::unattempted(
            endpoint.into(),
            DeliveryStatus::Retrying,
            None,
            chrono::Utc::now(),
        );
        messages::record_attempt(h.app.store.as_ref(), &attempt, &delivery, ttl)
            .await
            .expect("record attempt");
        attempts.push(attempt.id.to_string());
    }
    let path = format!("/v1/webhooks/{endpoint}/attempts?status=succeeded");
    for limit in [1, 2] {
        assert_eq!(
            walk(&h, &h.key, &path, limit).await,
            kept_newest_first(&attempts, &keep),
            "limit {limit}"
        );
    }

    // Events filtered by type: events of other types lie between.
    let mut events = Vec::new();
    for i in 0..12 {
        let t = if keep.contains(&i) {
            "kept.one"
        } else {
            "other.one"
        };
        events.push(
            h.publish(t, json!({"i": i})).await["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    assert_eq!(
        walk(&h, &h.key, "/v1/events?type=kept.one", 2).await,
        kept_newest_first(&events, &keep)
    );

    // Tenants (the root key's list): every tenant once.
    for i in 0..4 {
        h.new_tenant(&format!("t{i}")).await;
    }
    let tenants = walk(&h, &h.root, "/v1/tenants", 2).await;
    assert_eq!(tenants.len(), 5, "{tenants:?}");
    assert!(tenants.contains(&h.id));
    let mut unique = tenants.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tenants.len(), "{tenants:?}");
}

/// A filter that skips more stored records than one page may read answers a short (even empty)
/// page, but always with a cursor until the records run out, and following the cursor finds
/// every kept record: the contract's "follow `next_cursor` until it is absent".
async fn a_page_cut_short_by_the_read_budget_still_leads_on(backend: Backend) {
    #[derive(serde::Deserialize)]
    struct Row {
        n: u32,
        keep: bool,
    }
    let h = Harness::start(backend).await;
    let store = h.app.store.as_ref();
    let pk = format!("BUDGET#{}", MessageId::generate());
    // Oldest first: kept 0, then six hidden, kept 7, two hidden (read backward: 9..0).
    for n in 0..10u32 {
        let mut item = switchboard::store::Item::new();
        item.insert("PK".into(), json!(pk));
        item.insert("SK".into(), json!(format!("R#{n:02}")));
        item.insert("n".into(), json!(n));
        item.insert("keep".into(), json!(n == 0 || n == 7));
        store.put(item, None).await.expect("put");
    }
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages < 20, "paging did not end: {seen:?}");
        let query = Query::prefix(pk.clone(), "R#")
            .backward()
            .start_after(after);
        let (rows, next) = query_kept_within(store, vec![query], 1, 3, |r: &Row| r.keep)
            .await
            .expect("query");
        assert!(rows.len() <= 1);
        seen.extend(rows.iter().map(|r| r.n));
        match next {
            Some(sk) => after = Some(sk),
            None => break,
        }
    }
    assert_eq!(seen, [7, 0]);
    assert!(pages > 2, "the budget cut some page short ({pages} pages)");
    // Without a budget in the way, each page is full and the last one carries no cursor.
    let query = Query::prefix(pk.clone(), "R#").backward();
    let (rows, next) = query_kept_within(store, vec![query], 2, 100, |r: &Row| r.keep)
        .await
        .expect("query");
    assert_eq!(rows.iter().map(|r| r.n).collect::<Vec<_>>(), [7, 0]);
    assert_eq!(next, None);
}

/// An endpoint URL naming an internal address in the IPv4-translated form `::ffff:0:a.b.c.d`
/// (RFC 2765), or any other IPv6 form that carries an IPv4 address, is refused at save.
async fn ipv6_forms_of_internal_addresses_are_refused_at_save(backend: Backend) {
    let h = Harness::start(backend).await;
    for host in [
        "[::ffff:0:169.254.169.254]",
        "[::ffff:0:a9fe:a9fe]",
        "[::ffff:0:10.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[64:ff9b::169.254.169.254]",
        "[2002:a9fe:a9fe::1]",
        "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
        "[::10.0.0.1]",
    ] {
        let reply = h
            .post(
                "/v1/webhooks",
                json!({"url": format!("http://{host}/hook")}),
            )
            .await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, "url");
    }
    assert_eq!(h.get("/v1/webhooks").await["data"], json!([]));
}

switchboard_tests::on_both_backends!(
    a_page_cut_short_by_the_read_budget_still_leads_on,
    ipv6_forms_of_internal_addresses_are_refused_at_save,
    event_data_no_reader_accepts_is_refused,
    data_stored_before_the_checks_is_shown_as_sent,
    text_after_the_json_body_is_malformed,
    tenants_cannot_publish_switchboard_event_types,
    list_pages_are_filled_with_live_items,
);

/// A host name that does not resolve and one that resolves only to refused addresses give the
/// same code and the same text, so the attempt log cannot tell a tenant which internal names
/// exist.
#[tokio::test]
async fn unresolvable_and_internal_hosts_look_the_same() {
    let client = DeliveryClient::new(AddressPolicy::default()).expect("client");
    let mut seen = Vec::new();
    for url in [
        "http://localhost:9/hook",
        "http://nothing-here.invalid/hook",
    ] {
        let sent = client
            .post(
                url,
                http::HeaderMap::new(),
                "{}".into(),
                Duration::from_secs(10),
            )
            .await;
        assert_eq!(sent.status, None, "{url}");
        let (code, message) = sent.error.expect("an error");
        assert_eq!(code, ErrorCode::BlockedAddress, "{url}: {message}");
        seen.push(message);
    }
    assert_eq!(seen[0], seen[1]);
    // Attempts stored with the former `dns` code still read, as the one code.
    assert_eq!(
        serde_json::from_str::<ErrorCode>(r#""dns""#).expect("old code"),
        ErrorCode::BlockedAddress
    );
    assert_eq!(
        serde_json::to_value(ErrorCode::BlockedAddress).expect("json"),
        json!("blocked_address")
    );
}

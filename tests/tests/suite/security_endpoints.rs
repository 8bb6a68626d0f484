//! Security issue #7, the endpoint items: bounded secret rotation and endpoint records (3),
//! custom header values treated as secrets (8), events to more endpoints than one store page
//! and the per-tenant endpoint cap (9), port 0 (16), and test sends to disabled endpoints (17).

use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::Arc;
use switchboard::app::App;
use switchboard::config::MAX_ENDPOINTS_PER_TENANT_LIMIT;
use switchboard::model::endpoint::{
    MAX_EVENT_TYPES, MAX_HEADER_NAME, MAX_HEADER_VALUE, MAX_HEADERS, MAX_SIGNING_SECRETS,
    MAX_URL_LEN,
};
use switchboard::model::message::{MAX_PAYLOAD_BYTES, Message};
use switchboard::model::{EndpointId, MessageId, TenantId};
use switchboard::outbound::endpoints::record_key;
use switchboard::outbound::messages::message_item;
use switchboard::signing::standard::SigningKey;
use switchboard::store::{Condition, Item, ItemKey, Page, Query, Store, StoreError, TxOp, Update};
use switchboard::tenancy::key_format::{self, KeyHash};
use switchboard_tests::receiver::Receiver;
use switchboard_tests::{
    Backend, Harness, TenantClient, TestApp, TestServer, WAIT, Worker, assert_problem, eventually,
};

/// DynamoDB's item size limit (400 KB); a record must stay below it.
const ITEM_LIMIT: usize = 400 * 1024;

/// The endpoint record exactly as stored, read through the Store port.
async fn stored_endpoint(app: &App, tenant: &str, endpoint: &str) -> Item {
    let tenant: TenantId = tenant.parse().expect("tenant id");
    let endpoint: EndpointId = endpoint.parse().expect("endpoint id");
    app.store
        .get(&record_key(tenant, endpoint))
        .await
        .expect("store")
        .expect("endpoint stored")
}

/// The size DynamoDB counts for a value: UTF-8 bytes of strings and attribute names, at most 21
/// bytes per number, 1 per boolean or null, 3 per map or list plus 1 per element.
fn dynamo_size(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::Number(_) => 21,
        Value::String(s) => s.len(),
        Value::Array(items) => 3 + items.iter().map(|v| 1 + dynamo_size(v)).sum::<usize>(),
        Value::Object(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + dynamo_size(v))
                .sum::<usize>()
        }
    }
}

/// Item 3: rotating a thousand times would make a thousand signatures; at most five sign.
async fn rotations_keep_at_most_five_secrets(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let (ep, first) = h.endpoint("rotating", json!({})).await;
    let mut secrets = vec![first];
    for _ in 0..12 {
        let rotated = h
            .post(
                &format!("/v1/webhooks/{ep}/secret/rotate"),
                json!({"grace_seconds": 86_400}),
            )
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
        secrets.push(rotated.body["secret"].as_str().expect("secret").to_owned());
    }
    let stored = stored_endpoint(&h.app, &h.id, &ep).await;
    let kept = stored["secrets"].as_array().expect("secrets").len();
    assert!(
        kept <= MAX_SIGNING_SECRETS,
        "{kept} secrets stored after 12 rotations"
    );

    h.publish("a.b", json!({})).await;
    let got = h.receiver.wait_for("rotating", 1, WAIT).await;
    let header = got[0].headers["webhook-signature"]
        .to_str()
        .expect("sig")
        .to_owned();
    let signatures: Vec<&str> = header.split(' ').collect();
    assert_eq!(
        signatures.len(),
        MAX_SIGNING_SECRETS,
        "the newest and four in grace sign: {header}"
    );
    let id = got[0].headers["webhook-id"].to_str().expect("id");
    let ts: i64 = got[0].headers["webhook-timestamp"]
        .to_str()
        .expect("ts")
        .parse()
        .expect("ts number");
    let signs = |secret: &str| {
        let key = SigningKey::parse(secret).expect("whsec_ secret");
        signatures.contains(&key.sign(id, ts, &got[0].body).as_str())
    };
    let (retired, valid) = secrets.split_at(secrets.len() - MAX_SIGNING_SECRETS);
    assert!(valid.iter().all(|s| signs(s)), "the five newest sign");
    assert!(
        !retired.iter().any(|s| signs(s)),
        "older secrets were retired early"
    );
    worker.stop().await;
}

/// Item 3: every field of an endpoint is bounded, one past each bound is refused, and the
/// largest record the API accepts (rotated to its most secrets) is far below 400 KB.
async fn a_maximal_endpoint_record_stays_under_the_item_limit(backend: Backend) {
    let h = Harness::start(backend).await;
    let base = h.receiver.url("/");
    let url = format!("{base}{}", "u".repeat(MAX_URL_LEN - base.len()));
    assert_eq!(url.len(), MAX_URL_LEN);
    // Prefix globs of the longest pattern allowed: 128 characters each.
    let event_types: Vec<String> = (0..MAX_EVENT_TYPES)
        .map(|i| format!("{i:02}{}.{}.*", "e".repeat(62), "t".repeat(61)))
        .collect();
    // Values full of `"` and `\`, which JSON escapes to twice their size.
    let headers: serde_json::Map<String, Value> = (0..MAX_HEADERS)
        .map(|i| {
            let name = format!("x-{i:02}{}", "h".repeat(MAX_HEADER_NAME - 4));
            let value = format!("{i:02}{}", "\"\\".repeat((MAX_HEADER_VALUE - 2) / 2));
            (name, json!(value))
        })
        .collect();
    let description = "😀".repeat(512);
    let body = json!({
        "url": url, "event_types": event_types, "headers": headers,
        "description": description, "timeout_ms": 30_000, "max_attempts": 12,
        "rate_limit_per_s": 10_000,
    });

    // One past each bound is refused, naming the field.
    let past = |field: &str, value: Value| {
        let mut b = body.clone();
        b[field] = value;
        b
    };
    let mut long_name = headers.clone();
    long_name.insert(format!("x-{}", "n".repeat(MAX_HEADER_NAME - 1)), json!("v"));
    let mut long_value = headers.clone();
    long_value.insert("x-00".into(), json!("v".repeat(MAX_HEADER_VALUE + 1)));
    let mut many = event_types.clone();
    many.push("one.more".into());
    let cases = [
        ("url", past("url", json!(format!("{url}u")))),
        // Short as sent, over 2048 characters once percent-encoded.
        (
            "url",
            past("url", json!(format!("{base}{}", "<".repeat(700)))),
        ),
        ("event_types", past("event_types", json!(many))),
        (
            "event_types[0]",
            past("event_types", json!([format!("{}.x", "e".repeat(65))])),
        ),
        ("headers", past("headers", Value::Object(long_name))),
        ("headers.x-00", past("headers", Value::Object(long_value))),
        ("description", past("description", json!("d".repeat(513)))),
    ];
    for (field, bad) in cases {
        let mut bad = bad;
        if field == "headers" || field == "headers.x-00" {
            // Keep the count at 20 so that only the length is wrong.
            if let Some(map) = bad["headers"].as_object_mut() {
                map.remove(&format!("x-19{}", "h".repeat(MAX_HEADER_NAME - 4)));
            }
        }
        h.post("/v1/webhooks", bad)
            .await
            .assert_field(StatusCode::UNPROCESSABLE_ENTITY, field);
    }

    let created = h.post("/v1/webhooks", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let ep = created.body["id"].as_str().expect("id").to_owned();
    for _ in 0..(MAX_SIGNING_SECRETS + 2) {
        let rotated = h
            .post(&format!("/v1/webhooks/{ep}/secret/rotate"), json!({}))
            .await;
        assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    }
    let stored = Value::Object(stored_endpoint(&h.app, &h.id, &ep).await);
    assert_eq!(
        stored["secrets"].as_array().map(Vec::len),
        Some(MAX_SIGNING_SECRETS)
    );
    let json_size = serde_json::to_vec(&stored).expect("json").len();
    let item_size = dynamo_size(&stored);
    assert!(
        json_size < ITEM_LIMIT && item_size < ITEM_LIMIT,
        "a maximal endpoint record is {json_size} bytes of JSON, {item_size} as a DynamoDB item"
    );
    // Far below, not just below: the margin is what keeps it safe as fields are added.
    assert!(
        json_size < ITEM_LIMIT / 4 && item_size < ITEM_LIMIT / 4,
        "{json_size} bytes leaves too little margin"
    );
}

/// Item 3: an event record lists every destination, so the cap on endpoints per tenant is what
/// bounds it: at the highest cap allowed, with the largest payload, it is below 400 KB.
#[test]
fn a_maximal_event_record_stays_under_the_item_limit() {
    let event_type = format!("{}.{}", "e".repeat(63), "t".repeat(64));
    // Characters DynamoDB counts as one byte each, as the payload limit counts them.
    let data = format!("\"{}\"", "d".repeat(MAX_PAYLOAD_BYTES - 2));
    let now = chrono::Utc::now();
    let message = Message {
        id: MessageId::generate(),
        tenant_id: TenantId::generate(),
        body: format!(
            r#"{{"type":"{event_type}","timestamp":"{}","data":{data}}}"#,
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        event_type,
        created_at: now,
        destinations: (0..MAX_ENDPOINTS_PER_TENANT_LIMIT)
            .map(|_| EndpointId::generate().into())
            .collect(),
        ttl: now.timestamp(),
    };
    let item = message_item(&message).expect("item");
    let size = dynamo_size(&Value::Object(item));
    assert!(
        size < ITEM_LIMIT - 16 * 1024,
        "the largest event record is {size} bytes"
    );
}

/// Item 8: header values never come back and are not stored in clear; deliveries carry them.
async fn header_values_are_sealed_masked_and_delivered(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let token = format!("Bearer {}", ulid::Ulid::new());
    let short = "abc123";
    let created = h
        .post(
            "/v1/webhooks",
            json!({"url": h.receiver.url("hdr"),
                   "headers": {"Authorization": token, "X-Short": short}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let ep = created.body["id"].as_str().expect("id").to_owned();
    let mask = format!("***{}", &token[token.len() - 4..]);
    let never_shown = |what: &str, body: &Value| {
        let text = body.to_string();
        assert!(
            !text.contains(&token) && !text.contains(short),
            "{what} shows a value: {text}"
        );
    };
    never_shown("create", &created.body);
    assert_eq!(created.body["headers"]["authorization"], json!(mask));
    let view = h.get(&format!("/v1/webhooks/{ep}")).await;
    never_shown("get", &view);
    assert_eq!(view["headers"]["authorization"], json!(mask));
    assert_eq!(
        view["headers"]["x-short"],
        json!("***"),
        "short values masked whole"
    );
    let list = h.get("/v1/webhooks").await;
    never_shown("list", &list);
    assert_eq!(list["data"][0]["headers"]["authorization"], json!(mask));

    let raw = Value::Object(stored_endpoint(&h.app, &h.id, &ep).await).to_string();
    assert!(
        !raw.contains(&token) && !raw.contains(short),
        "stored in clear: {raw}"
    );

    h.publish("a.b", json!({})).await;
    let got = h.receiver.wait_for("hdr", 1, WAIT).await;
    assert_eq!(got[0].headers["authorization"], token.as_str());
    assert_eq!(got[0].headers["x-short"], short);

    // New values take effect at once (no stale cache), and stay out of the answer.
    let rotated_token = format!("Bearer {}", ulid::Ulid::new());
    let patched = h
        .call(
            Method::PATCH,
            &format!("/v1/webhooks/{ep}"),
            Some(json!({"headers": {"authorization": rotated_token}})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert!(!patched.body.to_string().contains(&rotated_token));
    assert!(patched.body["headers"].get("x-short").is_none());
    h.publish("a.b", json!({})).await;
    let got = h.receiver.wait_for("hdr", 2, WAIT).await;
    assert_eq!(got[1].headers["authorization"], rotated_token.as_str());
    assert!(got[1].headers.get("x-short").is_none());
    worker.stop().await;
}

/// A store that answers at most two items per query page, so that any reader that stops after
/// one page misses records.
struct SmallPages(Arc<dyn Store>);

#[async_trait]
impl Store for SmallPages {
    async fn get(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.0.get(key).await
    }
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), StoreError> {
        self.0.put(item, condition).await
    }
    async fn delete(&self, key: &ItemKey, condition: Option<Condition>) -> Result<(), StoreError> {
        self.0.delete(key, condition).await
    }
    async fn query(&self, query: &Query) -> Result<Page, StoreError> {
        let mut small = query.clone();
        small.limit = query.limit.min(2);
        self.0.query(&small).await
    }
    async fn update(
        &self,
        key: &ItemKey,
        update: &Update,
        condition: Option<Condition>,
    ) -> Result<Item, StoreError> {
        self.0.update(key, update, condition).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), StoreError> {
        self.0.transact(ops).await
    }
    fn kind(&self) -> &'static str {
        "small-pages"
    }
}

/// An app with at most 3 endpoints per tenant over a store paging 2 items at a time, served,
/// with a tenant and a receiver.
async fn capped_app(backend: Backend) -> (Arc<App>, TenantClient, Receiver, TestApp) {
    let root = key_format::generate();
    let mut settings = switchboard_tests::test_settings(Some(KeyHash::of(root.expose_secret())));
    settings.max_endpoints_per_tenant = 3;
    let base = switchboard_tests::app_with(backend, settings.clone()).await;
    let app = App::new(
        Arc::new(SmallPages(Arc::clone(&base.app.store))),
        Arc::clone(&base.app.queue),
        Arc::clone(&base.app.keys),
        settings,
    )
    .expect("app");
    let api = TestServer::start(switchboard::api::router(Arc::clone(&app))).await;
    let tenant = TenantClient::create(api, root.expose_secret(), "capped").await;
    (app, tenant, Receiver::start().await, base)
}

/// Item 9: an event's deliveries are read across store pages, and a tenant has at most the
/// configured number of endpoints, even when creating them concurrently.
async fn deliveries_span_pages_and_endpoints_are_capped(backend: Backend) {
    let (app, t, receiver, _guard) = capped_app(backend).await;
    let worker = Worker::start(&app);
    // Six creates against a cap of 3. Concurrent on the embedded store; one after another on
    // moto, whose transact_write_items is not isolated (a failed transaction restores a copy of
    // the whole table taken before it began, undoing transactions committed meanwhile), so it
    // cannot stand for DynamoDB, whose transactions are serializable, under concurrency.
    let creates = (0..6).map(|i| {
        let t = t.clone();
        let url = receiver.url(&format!("cap{i}"));
        async move { t.post("/v1/webhooks", json!({"url": url})).await }
    });
    let replies = match backend {
        Backend::Sqlite => futures::future::join_all(creates).await,
        Backend::Aws => {
            let mut replies = Vec::new();
            for create in creates {
                replies.push(create.await);
            }
            replies
        }
    };
    let created: Vec<String> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.body["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(created.len(), 3, "exactly the cap: {replies:?}");
    for refused in replies.iter().filter(|r| r.status != StatusCode::CREATED) {
        assert_problem(refused, StatusCode::CONFLICT, "the most allowed");
    }
    let mut listed = 0;
    let mut path = "/v1/webhooks".to_owned();
    loop {
        let page = t.get(&path).await;
        listed += page["data"].as_array().map_or(0, Vec::len);
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/webhooks?cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(listed, 3);

    // Deleting one makes room for exactly one more.
    let deleted = t
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/{}", created[0]),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    t.endpoint_at(receiver.url("again"), json!({})).await;
    let over = t
        .post("/v1/webhooks", json!({"url": receiver.url("over")}))
        .await;
    assert_problem(&over, StatusCode::CONFLICT, "the most allowed");

    // Three destinations, two to a store page: every one is seen delivered.
    let id = t.publish_id("a.b").await;
    let event = eventually(WAIT, || async {
        let e = t.get(&format!("/v1/events/{id}")).await;
        let statuses: Vec<Value> = e["deliveries"]
            .as_array()
            .map(|d| d.iter().map(|d| d["status"].clone()).collect())
            .unwrap_or_default();
        (statuses.len() == 3 && statuses.iter().all(|s| *s == json!("succeeded"))).then_some(e)
    })
    .await;
    assert!(
        event.is_some(),
        "all three deliveries succeeded: {}",
        t.get(&format!("/v1/events/{id}")).await
    );
    let delivered: usize = (0..6)
        .map(|i| receiver.seen(&format!("cap{i}")).len())
        .sum::<usize>()
        + receiver.seen("again").len();
    assert_eq!(delivered, 3, "one delivery per live endpoint");
    assert_eq!(receiver.seen("again").len(), 1);
    worker.stop().await;

    // Actions share the cap with endpoints (each is a destination a publish fans out to): at 3
    // endpoints an action is refused; with one endpoint deleted it fits, and then a webhook
    // is refused again.
    let connection = t
        .post(
            "/v1/connections",
            json!({"provider": "twilio", "name": "cap",
                   "credentials": {"account_sid": "AC0123456789abcdef0123456789abcdef",
                                   "auth_token": "cap-token-0123456789"}}),
        )
        .await;
    assert_eq!(
        connection.status,
        StatusCode::CREATED,
        "{}",
        connection.body
    );
    let action = json!({"connection_id": connection.body["id"], "kind": "twilio_sms",
                        "event_types": ["never.*"],
                        "template": {"to": "+15550100", "from": "+15550101", "body": "hi"}});
    let refused = t.post("/v1/actions", action.clone()).await;
    assert_problem(&refused, StatusCode::CONFLICT, "the most allowed");
    let deleted = t
        .call(
            Method::DELETE,
            &format!("/v1/webhooks/{}", created[1]),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let fits = t.post("/v1/actions", action).await;
    assert_eq!(fits.status, StatusCode::CREATED, "{}", fits.body);
    let over = t
        .post("/v1/webhooks", json!({"url": receiver.url("over")}))
        .await;
    assert_problem(&over, StatusCode::CONFLICT, "the most allowed");
    // Deleting the action frees its place for a webhook.
    let gone = t
        .call(
            Method::DELETE,
            &format!("/v1/actions/{}", fits.body["id"].as_str().expect("id")),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    t.endpoint_at(receiver.url("last"), json!({})).await;
}

/// Item 16: a URL on port 0 is refused when saved.
async fn port_zero_is_refused(backend: Backend) {
    let h = Harness::start(backend).await;
    h.post("/v1/webhooks", json!({"url": "http://127.0.0.1:0/hook"}))
        .await
        .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "url");
    let (ep, _) = h.endpoint("fine", json!({})).await;
    h.call(
        Method::PATCH,
        &format!("/v1/webhooks/{ep}"),
        Some(json!({"url": "https://example.com:0/"})),
    )
    .await
    .assert_field(StatusCode::UNPROCESSABLE_ENTITY, "url");
}

/// Item 17: a disabled endpoint gets a test send only when forced.
async fn testing_a_disabled_endpoint_needs_force(backend: Backend) {
    let h = Harness::start(backend).await;
    let (ep, _) = h.endpoint("off", json!({"enabled": false})).await;
    let refused = h.post(&format!("/v1/webhooks/{ep}/test"), json!({})).await;
    assert_problem(&refused, StatusCode::CONFLICT, "force=true");
    let not_forced = h
        .post(&format!("/v1/webhooks/{ep}/test?force=false"), json!({}))
        .await;
    assert_eq!(
        not_forced.status,
        StatusCode::CONFLICT,
        "{}",
        not_forced.body
    );
    assert!(h.receiver.seen("off").is_empty(), "nothing sent");
    h.post(&format!("/v1/webhooks/{ep}/test?force=maybe"), json!({}))
        .await
        .assert_field(StatusCode::BAD_REQUEST, "force");

    let forced = h
        .post(&format!("/v1/webhooks/{ep}/test?force=true"), json!({}))
        .await;
    assert_eq!(forced.status, StatusCode::OK, "{}", forced.body);
    assert_eq!(forced.body["status"], json!("succeeded"));
    assert_eq!(h.receiver.seen("off").len(), 1);
}

/// Item 17: the OpenAPI document shows `force` and what the 409 means on the test operation.
#[test]
fn the_test_operation_documents_force_and_its_409() {
    let doc = serde_json::to_value(switchboard::api::openapi::document()).expect("json");
    let op = &doc["paths"]["/v1/webhooks/{id}/test"]["post"];
    let params = op["parameters"].as_array().expect("parameters");
    assert!(
        params
            .iter()
            .any(|p| p["name"] == json!("force") && p["in"] == json!("query")),
        "{params:?}"
    );
    let conflict = op["responses"]["409"]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(conflict.contains("force=true"), "{conflict}");
    let headers = &doc["components"]["schemas"]["EndpointCreate"]["properties"]["headers"];
    assert_eq!(headers["maxProperties"], json!(MAX_HEADERS));
    assert_eq!(
        headers["propertyNames"]["maxLength"],
        json!(MAX_HEADER_NAME)
    );
}

switchboard_tests::on_both_backends!(
    rotations_keep_at_most_five_secrets,
    a_maximal_endpoint_record_stays_under_the_item_limit,
    header_values_are_sealed_masked_and_delivered,
    deliveries_span_pages_and_endpoints_are_capped,
    port_zero_is_refused,
    testing_a_disabled_endpoint_needs_force,
);

//! The audit log, on both adapter sets: every write route of the API leaves exactly one entry
//! (with its action, target, actor and request id), failed writes leave none, no secret value
//! reaches an entry, and `GET /v1/audit` filters, paginates, needs `audit:read` and shows only
//! the caller's tenant.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use switchboard_tests::{Backend, Harness, Reply, TestServer};

const GITHUB_SECRET: &str = "gh-secret-audit-0123456789-wxyz";
const HEADER_SECRET: &str = "Bearer receiver-credential-0123456789";

/// Routes that write but are not audited, and why.
const UNAUDITED: [(&str, &str); 2] = [
    // Publishing is the data plane (thousands a second); the event is its own record.
    ("POST", "/v1/events"),
    // Inbound intake: a provider's webhook, stored as an inbound event, not anyone's change.
    ("POST", "/hooks/{integration_id}"),
];

/// Every (method, path) the router serves, read from the router's source: a route added there
/// is seen here whether or not it is documented.
fn router_routes() -> BTreeSet<(String, String)> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/api/mod.rs");
    let source = std::fs::read_to_string(path).expect("read the router");
    let mut out = BTreeSet::new();
    let mut rest = source.as_str();
    while let Some(at) = rest.find(".route(") {
        rest = rest[at + ".route(".len()..].trim_start();
        rest = rest
            .strip_prefix('"')
            .expect("a route's path is a string literal");
        let end = rest.find('"').expect("closing quote");
        let route = rest[..end].to_owned();
        // The handlers: up to the parenthesis closing `.route(`.
        let mut depth = 1;
        let mut close = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let handlers = &rest[end..close];
        for method in ["get", "post", "put", "patch", "delete"] {
            let called = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            if called {
                out.insert((method.to_uppercase(), route.clone()));
            }
        }
    }
    out
}

/// The write routes (every method but GET) of the router.
fn write_routes() -> BTreeSet<(String, String)> {
    router_routes()
        .into_iter()
        .filter(|(method, _)| method != "GET")
        .collect()
}

#[test]
fn the_router_is_read_and_documented() {
    let routes = router_routes();
    assert!(routes.contains(&("POST".into(), "/v1/api-keys/{id}/roll".into())));
    assert!(routes.contains(&("DELETE".into(), "/v1/integrations/{id}".into())));
    assert!(routes.contains(&("GET".into(), "/v1/audit".into())));
    // Every route the router serves is in the OpenAPI document with the same methods, but the
    // admin console's static files (a page, not JSON API; kept out of the document on purpose,
    // see the console suite).
    let doc = switchboard::api::openapi::document_json();
    let doc: Value = serde_json::from_str(&doc).expect("json");
    for (method, path) in routes.iter().filter(|(_, p)| !p.starts_with("/console")) {
        assert!(
            doc["paths"][path].get(method.to_lowercase()).is_some(),
            "{method} {path} is served but not documented"
        );
    }
}

/// One request with a chosen request id and user agent.
async fn send(
    api: &TestServer,
    method: Method,
    path: &str,
    key: &str,
    body: Option<Value>,
    request_id: &str,
) -> Reply {
    let mut req = api
        .http
        .request(method, api.url(path))
        .bearer_auth(key)
        .header("x-request-id", request_id)
        .header("user-agent", "audit-test/1.0");
    if let Some(body) = body {
        req = req.json(&body);
    }
    Reply::read(req.send().await.expect("request")).await.0
}

/// Every entry of a tenant's log, newest first (all pages).
async fn all_entries(api: &TestServer, key: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/audit?limit=250{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let reply = api.get(&path, key).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        out.extend(reply.body["data"].as_array().cloned().unwrap_or_default());
        match reply.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// What one write must leave in the log.
struct Expect<'a> {
    action: &'a str,
    target_type: &'a str,
    target_id: String,
    actor: (&'a str, String),
}

/// Runs writes and checks each leaves exactly one entry in the log of `key`'s tenant.
struct Auditor<'a> {
    api: &'a TestServer,
    /// Reads the log (an admin key of the tenant whose log is checked).
    reader: String,
    covered: BTreeMap<(String, String), usize>,
    count: usize,
    log_text: String,
}

impl<'a> Auditor<'a> {
    async fn new(api: &'a TestServer, reader: &str) -> Self {
        let count = all_entries(api, reader, "").await.len();
        Self {
            api,
            reader: reader.to_owned(),
            covered: BTreeMap::new(),
            count,
            log_text: String::new(),
        }
    }

    /// Sends a write (as `key`) that must answer `status` and leave exactly the `expect`ed entry
    /// in the log; `route` is the router's path of it. Returns the answer.
    #[allow(clippy::too_many_arguments)]
    async fn write(
        &mut self,
        route: (&str, &str),
        path: &str,
        key: &str,
        body: Option<Value>,
        status: StatusCode,
        expect: impl FnOnce(&Reply) -> Expect<'static>,
    ) -> Reply {
        let request_id = format!("audit-{}-{}", self.covered.len(), self.count);
        let method = Method::from_bytes(route.0.as_bytes()).expect("method");
        let reply = send(self.api, method, path, key, body, &request_id).await;
        assert_eq!(reply.status, status, "{} {path}: {}", route.0, reply.body);
        let expect = expect(&reply);
        let entries = all_entries(self.api, &self.reader, "").await;
        assert_eq!(
            entries.len(),
            self.count + 1,
            "{} {path} must leave exactly one entry: {entries:#?}",
            route.0
        );
        self.count = entries.len();
        let entry = &entries[0];
        assert_eq!(entry["action"], json!(expect.action), "{entry}");
        assert_eq!(
            entry["target"]["type"],
            json!(expect.target_type),
            "{entry}"
        );
        assert_eq!(entry["target"]["id"], json!(expect.target_id), "{entry}");
        assert_eq!(entry["actor"]["type"], json!(expect.actor.0), "{entry}");
        assert_eq!(entry["actor"]["id"], json!(expect.actor.1), "{entry}");
        assert_eq!(entry["request_id"], json!(request_id), "{entry}");
        assert_eq!(entry["user_agent"], json!("audit-test/1.0"), "{entry}");
        assert_eq!(entry["source_ip"], json!("127.0.0.1"), "{entry}");
        let outcome = if reply.status == StatusCode::ACCEPTED {
            "accepted"
        } else {
            "succeeded"
        };
        assert_eq!(entry["outcome"], json!(outcome), "{entry}");
        *self
            .covered
            .entry((route.0.to_owned(), route.1.to_owned()))
            .or_default() += 1;
        self.log_text.push_str(&entry.to_string());
        reply
    }

    /// Sends a write that must fail with `status` and leave no entry.
    async fn refused(
        &mut self,
        method: Method,
        path: &str,
        key: &str,
        body: Value,
        status: StatusCode,
    ) {
        let reply = send(self.api, method.clone(), path, key, Some(body), "refused").await;
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        let entries = all_entries(self.api, &self.reader, "").await;
        assert_eq!(
            entries.len(),
            self.count,
            "{method} {path} failed but left an entry"
        );
    }
}

fn str_of(reply: &Reply, pointer: &str) -> String {
    reply
        .body
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} in {}", reply.body))
        .to_owned()
}

async fn every_write_route_leaves_exactly_one_entry(backend: Backend) {
    let h = Harness::start(backend).await;
    let api = &h.api;
    let admin = h.key.clone();
    let admin_id = str_of(&api.get("/v1/api-keys", &admin).await, "/data/0/id");
    let me = || ("api_key", admin_id.clone());
    let mut secrets: Vec<String> = vec![admin.clone(), GITHUB_SECRET.into(), HEADER_SECRET.into()];

    // Root: a tenant (its entry is in its own log) and a recovery key for it.
    let created = send(
        api,
        Method::POST,
        "/v1/tenants",
        &h.root,
        Some(json!({"name": "second"})),
        "root-1",
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let t2 = str_of(&created, "/tenant/id");
    let t2_key = str_of(&created, "/api_key/key");
    secrets.push(t2_key.clone());
    let mut root_log = Auditor::new(api, &t2_key).await;
    assert_eq!(
        root_log.count, 1,
        "the tenant's creation is its first entry"
    );
    let first = &all_entries(api, &t2_key, "").await[0];
    assert_eq!(first["action"], "tenant.created");
    assert_eq!(first["target"], json!({"type": "tenant", "id": t2}));
    assert_eq!(first["actor"], json!({"type": "root", "id": "root"}));
    assert_eq!(first["request_id"], "root-1");
    root_log
        .covered
        .insert(("POST".into(), "/v1/tenants".into()), 1);
    let recovery = root_log
        .write(
            ("POST", "/v1/tenants/{id}/recovery-key"),
            &format!("/v1/tenants/{t2}/recovery-key"),
            &h.root,
            None,
            StatusCode::CREATED,
            |r| Expect {
                action: "api_key.recovery_issued",
                target_type: "api_key",
                target_id: str_of(r, "/id"),
                actor: ("root", "root".into()),
            },
        )
        .await;
    secrets.push(str_of(&recovery, "/key"));

    let mut log = Auditor::new(api, &admin).await;
    // API keys.
    let key = log
        .write(
            ("POST", "/v1/api-keys"),
            "/v1/api-keys",
            &admin,
            Some(json!({"name": "ci", "scopes": ["webhooks:read"]})),
            StatusCode::CREATED,
            |r| Expect {
                action: "api_key.created",
                target_type: "api_key",
                target_id: str_of(r, "/id"),
                actor: me(),
            },
        )
        .await;
    let key_id = str_of(&key, "/id");
    secrets.push(str_of(&key, "/key"));
    log.write(
        ("PATCH", "/v1/api-keys/{id}"),
        &format!("/v1/api-keys/{key_id}"),
        &admin,
        Some(json!({"name": "ci renamed"})),
        StatusCode::OK,
        |_| Expect {
            action: "api_key.updated",
            target_type: "api_key",
            target_id: key_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("PATCH", "/v1/api-keys/{id}"),
        &format!("/v1/api-keys/{key_id}"),
        &admin,
        Some(json!({"enabled": false})),
        StatusCode::OK,
        |_| Expect {
            action: "api_key.disabled",
            target_type: "api_key",
            target_id: key_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("PATCH", "/v1/api-keys/{id}"),
        &format!("/v1/api-keys/{key_id}"),
        &admin,
        Some(json!({"enabled": true})),
        StatusCode::OK,
        |_| Expect {
            action: "api_key.enabled",
            target_type: "api_key",
            target_id: key_id.clone(),
            actor: me(),
        },
    )
    .await;
    let rolled = log
        .write(
            ("POST", "/v1/api-keys/{id}/roll"),
            &format!("/v1/api-keys/{key_id}/roll"),
            &admin,
            Some(json!({})),
            StatusCode::CREATED,
            |_| Expect {
                action: "api_key.rolled",
                target_type: "api_key",
                target_id: key_id.clone(),
                actor: me(),
            },
        )
        .await;
    let new_key_id = str_of(&rolled, "/id");
    secrets.push(str_of(&rolled, "/key"));
    log.write(
        ("POST", "/v1/api-keys/{id}/revoke"),
        &format!("/v1/api-keys/{new_key_id}/revoke"),
        &admin,
        None,
        StatusCode::OK,
        |_| Expect {
            action: "api_key.revoked",
            target_type: "api_key",
            target_id: new_key_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("DELETE", "/v1/api-keys/{id}"),
        &format!("/v1/api-keys/{key_id}"),
        &admin,
        None,
        StatusCode::NO_CONTENT,
        |_| Expect {
            action: "api_key.deleted",
            target_type: "api_key",
            target_id: key_id.clone(),
            actor: me(),
        },
    )
    .await;

    // Webhooks, and an event to resend.
    let ep = log
        .write(
            ("POST", "/v1/webhooks"),
            "/v1/webhooks",
            &admin,
            Some(
                json!({"url": h.receiver.url("audit"), "event_types": ["audit.*"],
                        "headers": {"authorization": HEADER_SECRET}}),
            ),
            StatusCode::CREATED,
            |r| Expect {
                action: "webhook.created",
                target_type: "webhook",
                target_id: str_of(r, "/id"),
                actor: me(),
            },
        )
        .await;
    let ep_id = str_of(&ep, "/id");
    secrets.push(str_of(&ep, "/secret"));
    log.write(
        ("PATCH", "/v1/webhooks/{id}"),
        &format!("/v1/webhooks/{ep_id}"),
        &admin,
        Some(json!({"description": "audited"})),
        StatusCode::OK,
        |_| Expect {
            action: "webhook.updated",
            target_type: "webhook",
            target_id: ep_id.clone(),
            actor: me(),
        },
    )
    .await;
    let rotated = log
        .write(
            ("POST", "/v1/webhooks/{id}/secret/rotate"),
            &format!("/v1/webhooks/{ep_id}/secret/rotate"),
            &admin,
            Some(json!({})),
            StatusCode::OK,
            |_| Expect {
                action: "webhook.secret_rotated",
                target_type: "webhook",
                target_id: ep_id.clone(),
                actor: me(),
            },
        )
        .await;
    secrets.push(str_of(&rotated, "/secret"));
    log.write(
        ("POST", "/v1/webhooks/{id}/test"),
        &format!("/v1/webhooks/{ep_id}/test"),
        &admin,
        None,
        StatusCode::OK,
        |_| Expect {
            action: "webhook.tested",
            target_type: "webhook",
            target_id: ep_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("POST", "/v1/webhooks/{id}/recover"),
        &format!("/v1/webhooks/{ep_id}/recover"),
        &admin,
        Some(json!({"since": "2024-01-01T00:00:00Z"})),
        StatusCode::ACCEPTED,
        |_| Expect {
            action: "webhook.recovered",
            target_type: "webhook",
            target_id: ep_id.clone(),
            actor: me(),
        },
    )
    .await;
    // Publishing leaves no entry (the data plane); resending does.
    let published = h.publish("audit.created", json!({"n": 1})).await;
    let event_id = published["id"].as_str().expect("event id").to_owned();
    assert_eq!(
        all_entries(api, &admin, "").await.len(),
        log.count,
        "publishing is not audited"
    );
    log.write(
        ("POST", "/v1/events/{id}/resend"),
        &format!("/v1/events/{event_id}/resend"),
        &admin,
        Some(json!({})),
        StatusCode::ACCEPTED,
        |_| Expect {
            action: "event.resent",
            target_type: "event",
            target_id: event_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("DELETE", "/v1/webhooks/{id}"),
        &format!("/v1/webhooks/{ep_id}"),
        &admin,
        None,
        StatusCode::NO_CONTENT,
        |_| Expect {
            action: "webhook.deleted",
            target_type: "webhook",
            target_id: ep_id.clone(),
            actor: me(),
        },
    )
    .await;

    // Integrations, and a received webhook to replay.
    let int = log
        .write(
            ("POST", "/v1/integrations"),
            "/v1/integrations",
            &admin,
            Some(
                json!({"type": "github", "name": "repo", "config": {"secret": GITHUB_SECRET},
                        "route": {"event_type": "github.push"}}),
            ),
            StatusCode::CREATED,
            |r| Expect {
                action: "integration.created",
                target_type: "integration",
                target_id: str_of(r, "/id"),
                actor: me(),
            },
        )
        .await;
    let int_id = str_of(&int, "/id");
    let rotated_secret = "gh-secret-rotated-9876543210-qrst";
    secrets.push(rotated_secret.into());
    log.write(
        ("PATCH", "/v1/integrations/{id}"),
        &format!("/v1/integrations/{int_id}"),
        &admin,
        Some(json!({"config": {"secret": rotated_secret}})),
        StatusCode::OK,
        |_| Expect {
            action: "integration.updated",
            target_type: "integration",
            target_id: int_id.clone(),
            actor: me(),
        },
    )
    .await;
    let hook = h
        .api
        .github_push(
            &int_id,
            rotated_secret,
            &json!({"repository": {"full_name": "acme/app"}}),
        )
        .await;
    assert_eq!(hook.status, StatusCode::ACCEPTED, "{}", hook.body);
    let evt = str_of(&hook, "/id");
    assert_eq!(
        all_entries(api, &admin, "").await.len(),
        log.count,
        "intake is not audited"
    );
    log.write(
        ("POST", "/v1/integrations/{id}/events/{event_id}/replay"),
        &format!("/v1/integrations/{int_id}/events/{evt}/replay"),
        &admin,
        None,
        StatusCode::ACCEPTED,
        |_| Expect {
            action: "integration.event_replayed",
            target_type: "inbound_event",
            target_id: evt.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("PATCH", "/v1/integrations/{id}"),
        &format!("/v1/integrations/{int_id}"),
        &admin,
        Some(json!({"active": false})),
        StatusCode::OK,
        |_| Expect {
            action: "integration.disabled",
            target_type: "integration",
            target_id: int_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("DELETE", "/v1/integrations/{id}"),
        &format!("/v1/integrations/{int_id}"),
        &admin,
        None,
        StatusCode::NO_CONTENT,
        |_| Expect {
            action: "integration.deleted",
            target_type: "integration",
            target_id: int_id.clone(),
            actor: me(),
        },
    )
    .await;

    // Connections: created, renamed, rotated and revoked; their secrets never in an entry.
    const CONNECTION_SECRET: &str = "SG.audit-first-credential-0123456789";
    const ROTATED_SECRET: &str = "SG.audit-second-credential-9876543210";
    secrets.extend([CONNECTION_SECRET.to_owned(), ROTATED_SECRET.to_owned()]);
    let conn = log
        .write(
            ("POST", "/v1/connections"),
            "/v1/connections",
            &admin,
            Some(json!({"provider": "sendgrid", "name": "mail",
                        "credentials": {"api_key": CONNECTION_SECRET}})),
            StatusCode::CREATED,
            |r| Expect {
                action: "connection.created",
                target_type: "connection",
                target_id: str_of(r, "/id"),
                actor: me(),
            },
        )
        .await;
    let conn_id = str_of(&conn, "/id");
    let conn_path = format!("/v1/connections/{conn_id}");
    for (body, action) in [
        (json!({"name": "mail renamed"}), "connection.updated"),
        (
            json!({"credentials": {"api_key": ROTATED_SECRET}}),
            "connection.rotated",
        ),
    ] {
        log.write(
            ("PATCH", "/v1/connections/{id}"),
            &conn_path,
            &admin,
            Some(body),
            StatusCode::OK,
            |_| Expect {
                action,
                target_type: "connection",
                target_id: conn_id.clone(),
                actor: me(),
            },
        )
        .await;
    }
    // Actions on that connection: created, updated, deleted.
    let action = log
        .write(
            ("POST", "/v1/actions"),
            "/v1/actions",
            &admin,
            Some(json!({"connection_id": conn_id, "kind": "sendgrid_email",
                        "event_types": ["order.*"],
                        "template": {"to": "{{ event.data.email }}", "from": "shop@example.com",
                                     "subject": "Order {{ event.id }}", "text": "Thanks"}})),
            StatusCode::CREATED,
            |r| Expect {
                action: "action.created",
                target_type: "action",
                target_id: str_of(r, "/id"),
                actor: me(),
            },
        )
        .await;
    let action_id = str_of(&action, "/id");
    let action_path = format!("/v1/actions/{action_id}");
    log.write(
        ("PATCH", "/v1/actions/{id}"),
        &action_path,
        &admin,
        Some(json!({"enabled": false})),
        StatusCode::OK,
        |_| Expect {
            action: "action.updated",
            target_type: "action",
            target_id: action_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("DELETE", "/v1/actions/{id}"),
        &action_path,
        &admin,
        None,
        StatusCode::NO_CONTENT,
        |_| Expect {
            action: "action.deleted",
            target_type: "action",
            target_id: action_id.clone(),
            actor: me(),
        },
    )
    .await;
    log.write(
        ("DELETE", "/v1/connections/{id}"),
        &conn_path,
        &admin,
        None,
        StatusCode::NO_CONTENT,
        |_| Expect {
            action: "connection.revoked",
            target_type: "connection",
            target_id: conn_id.clone(),
            actor: me(),
        },
    )
    .await;

    // Every write route of the router was exercised (or is exempt, with its reason above).
    let mut covered: BTreeSet<(String, String)> = log
        .covered
        .keys()
        .chain(root_log.covered.keys())
        .cloned()
        .collect();
    covered.extend(
        UNAUDITED
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned())),
    );
    let routes = write_routes();
    let missing: Vec<_> = routes.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "write routes without an audit check: {missing:?}"
    );

    // Failed writes leave nothing.
    log.refused(
        Method::POST,
        "/v1/api-keys",
        &admin,
        json!({"name": "", "scopes": ["nope"]}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    log.refused(
        Method::POST,
        "/v1/webhooks",
        &admin,
        json!({"url": "ftp://x"}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    log.refused(
        Method::POST,
        "/v1/integrations",
        &admin,
        json!({"type": "nope", "name": "x", "config": {}}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    log.refused(
        Method::POST,
        "/v1/connections",
        &admin,
        json!({"provider": "twilio", "name": "sms", "credentials": {"account_sid": "XX"}}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    log.refused(
        Method::PATCH,
        &format!("/v1/api-keys/{admin_id}"),
        &admin,
        json!({"name": " "}),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // No secret reaches an entry, in either log.
    let everything = format!(
        "{}{}",
        serde_json::to_string(&all_entries(api, &admin, "").await).expect("json"),
        serde_json::to_string(&all_entries(api, &t2_key, "").await).expect("json")
    );
    for secret in &secrets {
        assert!(
            !everything.contains(secret.as_str()),
            "a secret is in the audit log"
        );
    }
    // Changes are shown, secrets as masks.
    let rename = all_entries(api, &admin, "&action=api_key.updated").await;
    assert_eq!(
        rename[0]["changes"],
        json!([{"field": "name", "old": "ci", "new": "ci renamed"}])
    );
    let created_ep = &all_entries(api, &admin, "&action=webhook.created").await[0];
    let headers = created_ep["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["field"] == "headers"))
        .expect("headers change");
    assert_eq!(headers["new"]["authorization"], json!("***6789"));
}

async fn listing_filters_paginates_and_is_scoped(backend: Backend) {
    let h = Harness::start(backend).await;
    let api = &h.api;
    let admin = h.key.clone();
    // A few entries: three keys, one webhook.
    let mut key_ids = Vec::new();
    for name in ["a", "b", "c"] {
        let r = h
            .post(
                "/v1/api-keys",
                json!({"name": name, "scopes": ["audit:read"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        key_ids.push((str_of(&r, "/id"), str_of(&r, "/key")));
    }
    let (ep, _) = h.endpoint("f", json!({})).await;
    let all = all_entries(api, &admin, "").await;
    // tenant.created, 3 keys, 1 webhook.
    assert_eq!(all.len(), 5, "{all:#?}");
    let times: Vec<&str> = all.iter().map(|e| e["id"].as_str().expect("id")).collect();
    assert!(
        times.windows(2).all(|w| w[0] > w[1]),
        "newest first: {times:?}"
    );

    // Pagination: pages of 2 walk every entry once, in order.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/audit?limit=2&cursor={c}"),
            None => "/v1/audit?limit=2".to_owned(),
        };
        let page = h.get(&path).await;
        let data = page["data"].as_array().expect("data").clone();
        assert!(data.len() <= 2);
        walked.extend(
            data.iter()
                .map(|e| e["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, times);

    // Filters.
    let created = all_entries(api, &admin, "&action=api_key.created").await;
    assert_eq!(created.len(), 3);
    let by_target = all_entries(api, &admin, &format!("&target_id={}", key_ids[1].0)).await;
    assert_eq!(by_target.len(), 1);
    assert_eq!(by_target[0]["target"]["id"], json!(key_ids[1].0));
    let webhooks = all_entries(api, &admin, "&target_type=webhook").await;
    assert_eq!(webhooks.len(), 1);
    assert_eq!(webhooks[0]["target"]["id"], json!(ep));
    let by_root = all_entries(api, &admin, "&actor_type=root").await;
    assert_eq!(by_root.len(), 1);
    assert_eq!(by_root[0]["action"], "tenant.created");
    let admin_id = str_of(
        &api.get("/v1/api-keys?limit=250", &admin).await,
        "/data/3/id",
    );
    let by_admin = all_entries(api, &admin, &format!("&actor={admin_id}")).await;
    assert_eq!(by_admin.len(), 4, "{by_admin:#?}");
    let cut = time(&all[2]);
    let text = urlencode(&cut.to_rfc3339());
    let since = all_entries(api, &admin, &format!("&since={text}")).await;
    assert!(since.iter().all(|e| time(e) >= cut));
    assert!(since.len() >= 3 && since.len() < 5, "{since:#?}");
    let until = all_entries(api, &admin, &format!("&until={text}")).await;
    assert!(until.iter().all(|e| time(e) <= cut));
    assert!(until.len() >= 3 && until.len() < 5, "{until:#?}");
    assert_eq!(
        all_entries(api, &admin, "&action=tenant.created&target_type=webhook")
            .await
            .len(),
        0
    );

    // Bad filters: 422 naming the parameter.
    for (query, field) in [
        ("action=webhook.exploded", "action"),
        ("actor_type=robot", "actor_type"),
        ("target_type=planet", "target_type"),
        ("target_id=a%20b", "target_id"),
        ("actor=", "actor"),
        ("since=yesterday", "since"),
        ("until=2025-13-01T00:00:00Z", "until"),
        (
            "since=2025-02-01T00:00:00Z&until=2025-01-01T00:00:00Z",
            "until",
        ),
    ] {
        let reply = api.get(&format!("/v1/audit?{query}"), &admin).await;
        reply.assert_field(StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    // A cursor is bound to its filter.
    let page = h.get("/v1/audit?limit=1&action=api_key.created").await;
    let c = page["next_cursor"].as_str().expect("more");
    api.get(&format!("/v1/audit?limit=1&cursor={c}"), &admin)
        .await
        .assert_field(StatusCode::BAD_REQUEST, "cursor");

    // audit:read is required; a key holding only it may read.
    let no_scope = h
        .post(
            "/v1/api-keys",
            json!({"name": "w", "scopes": ["webhooks:write"]}),
        )
        .await;
    let no_scope = str_of(&no_scope, "/key");
    let denied = api.get("/v1/audit", &no_scope).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.body);
    assert!(
        denied.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("audit:read")
    );
    let reader = api.get("/v1/audit", &key_ids[0].1).await;
    assert_eq!(reader.status, StatusCode::OK, "{}", reader.body);

    // Another tenant sees only its own log; the first tenant's ids find nothing there.
    let other = h.new_tenant("other").await;
    let theirs = all_entries(api, &other.key, "").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["tenant_id"], json!(other.id));
    assert!(
        all_entries(api, &other.key, &format!("&target_id={ep}"))
            .await
            .is_empty()
    );
    let mine = all_entries(api, &admin, "").await;
    assert!(mine.iter().all(|e| e["tenant_id"] == json!(h.id)));
    // A cursor of another tenant is refused.
    let c = h.get("/v1/audit?limit=1").await["next_cursor"]
        .as_str()
        .expect("more")
        .to_owned();
    api.get(&format!("/v1/audit?limit=1&cursor={c}"), &other.key)
        .await
        .assert_field(StatusCode::BAD_REQUEST, "cursor");
}

fn time(entry: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(entry["occurred_at"].as_str().expect("occurred_at"))
        .expect("RFC 3339")
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

switchboard_tests::on_both_backends!(
    every_write_route_leaves_exactly_one_entry,
    listing_filters_paginates_and_is_scoped,
);

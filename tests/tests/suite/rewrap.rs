//! Master-key rotation (`switchboard rewrap`) on both adapter sets: KMS on moto (`ReEncrypt`)
//! and the local key ring with a real SQLite file. Records are made through the API; the rewrap
//! runs over the same store, the way the CLI does, while the API keeps serving and delivering.

use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use switchboard::app::App;
use switchboard::crypto::kms::KmsKeyProvider;
use switchboard::crypto::local::LocalKeyProvider;
use switchboard::crypto::{CryptoError, EncryptionContext, Envelope, KeyProvider, envelope};
use switchboard::rewrap::{self, Options, Report, RewrapError, Silent, kinds};
use switchboard::store::{Item, ItemKey, Store};
use switchboard_tests::receiver::independently_verified;
use switchboard_tests::{
    Backend, Harness, TenantClient, TestServer, WAIT, Worker, sdk_config, test_settings,
};

const GITHUB_SECRET: &str = "gh-secret-0123456789-abcd";
const HEADER_VALUE: &str = "Bearer receiver-token-0123456789";

/// A key provider for the rewrap, as a separate `switchboard rewrap` process would have it (its
/// own KMS client; its own view of the key ring), with `active` sealing new envelopes; and the
/// operator's name for the target key (a fresh KMS key by alias; the local key `k2`).
async fn rewrap_keys(h: &Harness, active: Option<&str>) -> (Arc<dyn KeyProvider>, String) {
    match h.backend {
        Backend::Sqlite => {
            let dir = h.data_dir().expect("data dir");
            let keys = LocalKeyProvider::open(dir, active.unwrap_or("master")).expect("ring");
            (Arc::new(keys), "k2".to_owned())
        }
        Backend::Aws => {
            let client = aws_sdk_kms::Client::new(&sdk_config().await);
            let key = client
                .create_key()
                .send()
                .await
                .expect("create key")
                .key_metadata
                .expect("metadata")
                .key_id;
            let alias = format!("alias/{}", switchboard_tests::unique("rewrap"));
            client
                .create_alias()
                .alias_name(&alias)
                .target_key_id(&key)
                .send()
                .await
                .expect("alias");
            let old = sealed_key_id(h).await;
            (
                Arc::new(KmsKeyProvider::new(client, active.unwrap_or(&old))),
                alias,
            )
        }
    }
}

/// The key id the app seals under now (from a fresh envelope).
async fn sealed_key_id(h: &Harness) -> String {
    let ctx = EncryptionContext::new("ten_x", "rec_x", "probe");
    envelope::seal(h.app.keys.as_ref(), &ctx, b"x")
        .await
        .expect("seal")
        .key_id
}

async fn run(h: &Harness, keys: &dyn KeyProvider, options: &Options) -> Report {
    rewrap::run(
        h.app.store.as_ref(),
        keys,
        &kinds::registry(),
        options,
        &Silent,
    )
    .await
    .expect("rewrap")
}

fn options(to_key: &str) -> Options {
    Options {
        to_key: to_key.to_owned(),
        dry_run: false,
        limit: None,
    }
}

/// The stored record of a webhook.
fn webhook_key(tenant: &str, id: &str) -> ItemKey {
    ItemKey::new(format!("TEN#{tenant}"), format!("EP#{id}"))
}

fn integration_key(id: &str) -> ItemKey {
    ItemKey::new(format!("INT#{id}"), "INT")
}

fn connection_key(id: &str) -> ItemKey {
    ItemKey::new(format!("CONN#{id}"), "CONN")
}

async fn item(store: &dyn Store, key: &ItemKey) -> Item {
    store.get(key).await.expect("get").expect("record")
}

/// Every envelope of a record with the context it is sealed for (read from the record itself,
/// not from the registry under test).
fn envelopes(item: &Item) -> Vec<(EncryptionContext, Envelope)> {
    let tenant = item["tenant_id"].as_str().expect("tenant");
    let id = item["id"].as_str().expect("id");
    let parse = |v: &Value| serde_json::from_value::<Envelope>(v.clone()).expect("envelope");
    let mut out = Vec::new();
    for s in item
        .get("secrets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let purpose = format!("signing_secret:{}", s["id"].as_str().expect("secret id"));
        out.push((
            EncryptionContext::new(tenant, id, purpose),
            parse(&s["sealed"]),
        ));
    }
    if let Some(h) = item.get("sealed_headers") {
        let purpose = format!("endpoint_headers:{}", h["id"].as_str().expect("headers id"));
        out.push((
            EncryptionContext::new(tenant, id, purpose),
            parse(&h["sealed"]),
        ));
    }
    for c in item
        .get("configs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push((
            EncryptionContext::new(tenant, id, "integration"),
            parse(&c["sealed"]),
        ));
    }
    if let Some(sealed) = item.get("sealed") {
        out.push((
            EncryptionContext::new(tenant, id, "connection"),
            parse(sealed),
        ));
    }
    assert!(!out.is_empty(), "a sealed record without envelopes: {id}");
    out
}

fn version(item: &Item) -> u64 {
    item["version"].as_u64().expect("version")
}

/// What the test made, to check after the rewrap.
struct Made {
    /// (record, whsec secrets that must still open, in any order)
    webhooks: Vec<(ItemKey, Vec<String>)>,
    integrations: Vec<(ItemKey, Vec<String>)>,
    /// (record, its Twilio auth token now)
    connections: Vec<(ItemKey, Vec<String>)>,
}

impl Made {
    fn keys(&self) -> Vec<ItemKey> {
        self.webhooks
            .iter()
            .chain(&self.integrations)
            .chain(&self.connections)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// `n` webhooks on the receiver (every other with a sealed header; the first rotated with a
/// grace period, so two secrets), `m` integrations (the first with its config replaced, so two
/// sealings), `c` Twilio connections (the first rotated: a fresh data key) spread over the
/// connection list's shards, one revoked connection (no ciphertext: nothing to rewrap), and one
/// webhook of a second tenant.
async fn make(h: &Harness, n: usize, m: usize, c: usize) -> Made {
    let mut webhooks = Vec::new();
    for i in 0..n {
        let extra = if i % 2 == 0 {
            json!({"headers": {"authorization": HEADER_VALUE}})
        } else {
            json!({})
        };
        let (id, secret) = h.endpoint(&format!("hook{i}"), extra).await;
        let mut secrets = vec![secret];
        if i == 0 {
            let rotated = h
                .post(
                    &format!("/v1/webhooks/{id}/secret/rotate"),
                    json!({"grace_seconds": 3600}),
                )
                .await;
            assert_eq!(rotated.status, 200, "{}", rotated.body);
            secrets.push(rotated.body["secret"].as_str().expect("secret").to_owned());
        }
        webhooks.push((webhook_key(&h.id, &id), secrets));
    }
    let other = h.new_tenant("other tenant").await;
    let (id, secret) = other.endpoint_at(h.receiver.url("other"), json!({})).await;
    webhooks.push((webhook_key(&other.id, &id), vec![secret]));
    let mut integrations = Vec::new();
    for i in 0..m {
        let created = h
            .post(
                "/v1/integrations",
                json!({
                    "type": "github",
                    "name": format!("repo {i}"),
                    "config": {"secret": GITHUB_SECRET},
                    "route": {"event_type": "github.push"}
                }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().expect("id").to_owned();
        let mut secrets = vec![GITHUB_SECRET.to_owned()];
        if i == 0 {
            let newer = format!("{GITHUB_SECRET}-newer");
            let patched = h
                .call(
                    http::Method::PATCH,
                    &format!("/v1/integrations/{id}"),
                    Some(json!({"config": {"secret": newer}, "grace_seconds": 3600})),
                )
                .await;
            assert_eq!(patched.status, 200, "{}", patched.body);
            secrets.push(newer);
        }
        integrations.push((integration_key(&id), secrets));
    }
    let mut connections = Vec::new();
    for i in 0..=c {
        let token = format!("twilio-token-{i}-{}", switchboard_tests::unique("t"));
        let created = h
            .post(
                "/v1/connections",
                json!({
                    "provider": "twilio",
                    "name": format!("twilio {i}"),
                    "credentials": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": token},
                }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().expect("id").to_owned();
        if i == c {
            let revoked = h
                .call(http::Method::DELETE, &format!("/v1/connections/{id}"), None)
                .await;
            assert!(revoked.status.is_success(), "{}", revoked.body);
            continue;
        }
        let mut token = token;
        if i == 0 {
            token = format!("{token}-rotated");
            let rotated = h
                .call(
                    http::Method::PATCH,
                    &format!("/v1/connections/{id}"),
                    Some(json!({"credentials": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": token}})),
                )
                .await;
            assert_eq!(rotated.status, 200, "{}", rotated.body);
        }
        connections.push((connection_key(&id), vec![token]));
    }
    Made {
        webhooks,
        integrations,
        connections,
    }
}

/// Every envelope of every record names `target` and opens with `keys` to one of the record's
/// known secrets; the ciphertext is the one sealed originally (`before`), only re-wrapped.
async fn assert_all_under(
    store: &dyn Store,
    keys: &dyn KeyProvider,
    made: &Made,
    target: &str,
    before: &BTreeMap<String, Item>,
) {
    let b64 = base64::engine::general_purpose::STANDARD;
    for (key, secrets) in made
        .webhooks
        .iter()
        .chain(&made.integrations)
        .chain(&made.connections)
    {
        let now = item(store, key).await;
        let old = envelopes(&before[&format!("{}/{}", key.pk, key.sk)]);
        let new = envelopes(&now);
        assert_eq!(old.len(), new.len(), "{key:?}");
        for ((ctx, env), (old_ctx, old_env)) in new.iter().zip(&old) {
            assert_eq!(ctx, old_ctx);
            assert_eq!(
                env.key_id,
                target,
                "{key:?} {ctx:?}: {}",
                Value::Object(now.clone())
            );
            assert_ne!(env.key_id, old_env.key_id, "{key:?}: moved");
            assert_ne!(env.wrapped_key, old_env.wrapped_key, "{key:?}: rewrapped");
            assert_eq!(env.ciphertext, old_env.ciphertext, "{key:?}: same data key");
            assert_eq!(env.nonce, old_env.nonce);
            let plain = envelope::open(keys, ctx, env)
                .await
                .unwrap_or_else(|e| panic!("{key:?} {ctx:?} does not open: {e}"));
            let ok = if ctx.purpose.starts_with("signing_secret:") {
                secrets.iter().any(|s| {
                    b64.decode(s.trim_start_matches("whsec_")).expect("b64") == plain.as_slice()
                })
            } else if ctx.purpose.starts_with("endpoint_headers:") {
                serde_json::from_slice::<Value>(&plain).expect("headers")
                    == json!({"authorization": HEADER_VALUE})
            } else if ctx.purpose == "connection" {
                let credentials: Value = serde_json::from_slice(&plain).expect("credentials");
                secrets
                    .iter()
                    .any(|s| credentials["auth_token"] == json!(s))
            } else {
                let config: Value = serde_json::from_slice(&plain).expect("config");
                secrets.iter().any(|s| config["secret"] == json!(s))
            };
            assert!(ok, "{key:?} {ctx:?} opens to something else");
        }
    }
}

async fn snapshot(store: &dyn Store, made: &Made) -> BTreeMap<String, Item> {
    let mut out = BTreeMap::new();
    for key in made.keys() {
        out.insert(format!("{}/{}", key.pk, key.sk), item(store, &key).await);
    }
    out
}

/// Every delivery to `hook{i}` so far is signed by each of that webhook's secrets.
fn assert_signed(h: &Harness, made: &Made, at_least: usize) {
    for (i, (_, secrets)) in made
        .webhooks
        .iter()
        .take(made.webhooks.len() - 1)
        .enumerate()
    {
        let seen = h.receiver.seen(&format!("hook{i}"));
        assert!(seen.len() >= at_least, "hook{i}: {} deliveries", seen.len());
        for got in &seen {
            for secret in secrets {
                assert!(
                    independently_verified(secret, &got.headers, &got.body),
                    "hook{i}: a delivery not signed by its secret"
                );
            }
        }
    }
}

async fn rewrap_moves_every_envelope_and_everything_keeps_working(backend: Backend) {
    let h = Harness::start(backend).await;
    let worker = h.worker();
    let made = make(&h, 6, 3, 20).await;
    let store = h.app.store.as_ref();
    let before = snapshot(store, &made).await;
    let (keys, to_key) = rewrap_keys(&h, None).await;

    // The dry run counts per kind and writes nothing.
    let plan = run(
        &h,
        keys.as_ref(),
        &Options {
            dry_run: true,
            ..options(&to_key)
        },
    )
    .await;
    let webhooks = plan.kinds["webhooks"];
    assert_eq!(
        (webhooks.records, webhooks.rewrapped, webhooks.current),
        (7, 7, 0)
    );
    // 7 signing secrets + 1 in grace + 3 sealed header sets.
    assert_eq!(webhooks.envelopes, 11);
    let integrations = plan.kinds["integrations"];
    assert_eq!(
        (
            integrations.records,
            integrations.rewrapped,
            integrations.envelopes
        ),
        (3, 3, 4)
    );
    // 20 live connections over the list's shards, one revoked (read, nothing to move).
    let connections = plan.kinds["connections"];
    assert_eq!(
        (
            connections.records,
            connections.rewrapped,
            connections.envelopes,
            connections.current
        ),
        (21, 20, 20, 1)
    );
    assert!(plan.complete && plan.failures.is_empty(), "{plan:?}");
    assert_eq!(
        snapshot(store, &made).await,
        before,
        "a dry run writes nothing"
    );

    // The rewrap, while events are published and delivered and webhooks are edited. Edits
    // race the rewrap on the embedded store only: moto's transact_write_items is not isolated
    // (a failed transaction restores a copy of the table taken before it began, undoing the
    // rewrap's write committed meanwhile), so on moto they follow the rewrap instead.
    let concurrent_edits = matches!(backend, Backend::Sqlite);
    let traffic = {
        let tenant: TenantClient = h.tenant.clone();
        let ids: Vec<String> = made
            .webhooks
            .iter()
            .take(6)
            .map(|(k, _)| k.sk.trim_start_matches("EP#").to_owned())
            .collect();
        tokio::spawn(async move {
            for round in 0..4 {
                tenant
                    .publish("order.created", json!({"round": round}))
                    .await;
                if !concurrent_edits {
                    continue;
                }
                let patched = tenant
                    .call(
                        http::Method::PATCH,
                        &format!("/v1/webhooks/{}", ids[round % ids.len()]),
                        Some(json!({"description": format!("edited during the rewrap {round}")})),
                    )
                    .await;
                assert_eq!(patched.status, 200, "{}", patched.body);
            }
        })
    };
    let report = run(&h, keys.as_ref(), &options(&to_key)).await;
    traffic.await.expect("traffic");
    if !concurrent_edits {
        for round in 0..4usize {
            let id = made.webhooks[round % 6]
                .0
                .sk
                .trim_start_matches("EP#")
                .to_owned();
            let patched = h
                .call(
                    http::Method::PATCH,
                    &format!("/v1/webhooks/{id}"),
                    Some(json!({"description": format!("edited during the rewrap {round}")})),
                )
                .await;
            assert_eq!(patched.status, 200, "{}", patched.body);
        }
    }
    assert!(report.complete && report.failures.is_empty(), "{report:?}");
    assert_eq!(report.rewrapped(), 30, "{report:?}");
    assert_eq!(report.kinds["webhooks"].envelopes, 11);
    let target = report.target_key_id.clone();
    assert_ne!(target, sealed_key_id(&h).await);

    // Every secret opens, under the new key, with the same ciphertext; no edit was lost.
    assert_all_under(store, keys.as_ref(), &made, &target, &before).await;
    assert_all_under(store, h.app.keys.as_ref(), &made, &target, &before).await;
    for round in 0..4usize {
        let (key, _) = &made.webhooks[round % 6];
        assert_eq!(
            item(store, key).await["description"],
            json!(format!("edited during the rewrap {round}")),
            "{key:?}: the concurrent edit survived"
        );
    }
    // The API delivered throughout, signed with each webhook's secrets.
    for i in 0..6 {
        h.receiver.wait_for(&format!("hook{i}"), 4, WAIT).await;
    }
    assert_signed(&h, &made, 4);

    // A second run has nothing left; a dry run agrees.
    let again = run(&h, keys.as_ref(), &options(&to_key)).await;
    assert_eq!(again.rewrapped(), 0, "{again:?}");
    assert_eq!(again.kinds["webhooks"].current, 7);
    assert_eq!(again.kinds["integrations"].current, 3);
    assert_eq!(again.kinds["connections"].current, 21);

    // A restarted process (fresh caches, its own key provider, sealing under the new key)
    // serves the same records: deliveries signed with the same secrets, hooks verified, and new
    // secrets sealed under the new key.
    worker.stop().await;
    let (restarted_keys, _) = rewrap_keys(&h, Some(&target_name(&h, &target))).await;
    let restarted = App::new(
        Arc::clone(&h.app.store),
        Arc::clone(&h.app.queue),
        restarted_keys,
        test_settings(None),
    )
    .expect("restarted app");
    let api = TestServer::start(switchboard::api::router(Arc::clone(&restarted))).await;
    let tenant = TenantClient {
        api: api.clone(),
        ..h.tenant.clone()
    };
    let worker = Worker::start(&restarted);
    tenant
        .publish("order.created", json!({"after": true}))
        .await;
    for i in 0..6 {
        h.receiver.wait_for(&format!("hook{i}"), 5, WAIT).await;
    }
    assert_signed(&h, &made, 5);
    let hook_id = made.integrations[0]
        .0
        .pk
        .trim_start_matches("INT#")
        .to_owned();
    for secret in &made.integrations[0].1 {
        let body = json!({"repository": {"full_name": "acme/app"}});
        let reply = api.github_push(&hook_id, secret, &body).await;
        assert_eq!(
            reply.status, 202,
            "a hook signed with a rewrapped secret: {}",
            reply.body
        );
    }
    let (new_id, _) = tenant.endpoint_at(h.receiver.url("fresh"), json!({})).await;
    let fresh = item(store, &webhook_key(&h.id, &new_id)).await;
    assert!(
        envelopes(&fresh).iter().all(|(_, e)| e.key_id == target),
        "new secrets are sealed under the active (new) key"
    );
    worker.stop().await;
}

/// The operator's name of the key `target` for the restarted process's active key setting.
fn target_name(h: &Harness, target: &str) -> String {
    match h.backend {
        Backend::Sqlite => "k2".to_owned(),
        Backend::Aws => target.to_owned(),
    }
}

async fn a_stopped_rewrap_resumes_and_touches_nothing_twice(backend: Backend) {
    let h = Harness::start(backend).await;
    let made = make(&h, 7, 3, 4).await;
    let store = h.app.store.as_ref();
    let before = snapshot(store, &made).await;
    let total = made.keys().len() as u64; // 8 webhooks, 3 integrations, 4 connections
    let (keys, to_key) = rewrap_keys(&h, None).await;

    // Stopped after 4 records, as a kill would leave it: 4 records moved, the rest untouched.
    let first = run(
        &h,
        keys.as_ref(),
        &Options {
            limit: Some(4),
            ..options(&to_key)
        },
    )
    .await;
    assert!(!first.complete, "{first:?}");
    assert_eq!(first.rewrapped(), 4);
    let target = first.target_key_id.clone();
    let mut moved = 0;
    for key in made.keys() {
        let now = item(store, &key).await;
        let was = &before[&format!("{}/{}", key.pk, key.sk)];
        let under: Vec<bool> = envelopes(&now)
            .iter()
            .map(|(_, e)| e.key_id == target)
            .collect();
        if version(&now) == version(was) + 1 {
            assert!(under.iter().all(|u| *u), "{key:?} half moved");
            moved += 1;
        } else {
            assert_eq!(&now, was, "{key:?} changed without being rewrapped");
        }
    }
    assert_eq!(moved, 4);
    let left = run(
        &h,
        keys.as_ref(),
        &Options {
            dry_run: true,
            ..options(&to_key)
        },
    )
    .await;
    assert_eq!(
        left.rewrapped(),
        total - 4,
        "the dry run counts what is left"
    );

    // Run again: it finishes the rest and skips the 4 done.
    let second = run(&h, keys.as_ref(), &options(&to_key)).await;
    assert!(second.complete && second.failures.is_empty(), "{second:?}");
    assert_eq!(second.rewrapped(), total - 4);
    let current: u64 = second.kinds.values().map(|k| k.current).sum();
    assert_eq!(current, 4 + 1, "the 4 done and the revoked connection");
    for key in made.keys() {
        assert_eq!(
            version(&item(store, &key).await),
            version(&before[&format!("{}/{}", key.pk, key.sk)]) + 1,
            "{key:?} written exactly once over both runs"
        );
    }
    assert_all_under(store, h.app.keys.as_ref(), &made, &target, &before).await;
    let last = run(&h, keys.as_ref(), &options(&to_key)).await;
    assert_eq!(last.rewrapped(), 0);
}

async fn rewrap_keeps_the_context_binding_and_refuses_unknown_keys(backend: Backend) {
    let h = Harness::start(backend).await;
    let (keys, to_key) = rewrap_keys(&h, None).await;
    let target = keys.target_key(&to_key).await.expect("target");
    let ctx = EncryptionContext::new("ten_A", "ep_1", "signing_secret:1");
    let other = EncryptionContext::new("ten_B", "ep_1", "signing_secret:1");
    let sealed = envelope::seal(keys.as_ref(), &ctx, b"secret")
        .await
        .expect("seal");
    // A rewrap for another record's context is refused by the provider (KMS: `ReEncrypt`
    // checks the source context).
    match envelope::rewrap(keys.as_ref(), &other, &sealed, &target).await {
        Err(CryptoError::Decrypt) => {}
        other => panic!("expected Decrypt, got {:?}", other.map(|e| e.key_id)),
    }
    let moved = envelope::rewrap(keys.as_ref(), &ctx, &sealed, &target)
        .await
        .expect("rewrap");
    assert_eq!(moved.key_id, target);
    assert_eq!(
        envelope::open(keys.as_ref(), &ctx, &moved)
            .await
            .expect("opens")
            .as_slice(),
        b"secret"
    );
    // The destination context is the record's own: the moved key opens for nothing else.
    assert!(matches!(
        envelope::open(keys.as_ref(), &other, &moved).await,
        Err(CryptoError::Decrypt)
    ));

    let unknown = match h.backend {
        Backend::Sqlite => "../escape".to_owned(),
        Backend::Aws => "alias/no-such-key".to_owned(),
    };
    match rewrap::run(
        h.app.store.as_ref(),
        keys.as_ref(),
        &kinds::registry(),
        &options(&unknown),
        &Silent,
    )
    .await
    {
        Err(RewrapError::Target(CryptoError::UnknownKey(_))) => {}
        other => panic!(
            "expected an unknown key, got {:?}",
            other.map(|r| r.rewrapped())
        ),
    }
}

switchboard_tests::on_both_backends!(
    rewrap_moves_every_envelope_and_everything_keeps_working,
    a_stopped_rewrap_resumes_and_touches_nothing_twice,
    rewrap_keeps_the_context_binding_and_refuses_unknown_keys,
);

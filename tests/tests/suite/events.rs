//! Every file in `events/` is loaded and driven through the handler of the function it is for,
//! exactly as the Lambda runtime would: API Gateway v2 events through the admin or intake router
//! (via `lambda_http`'s own request conversion), SQS batches through the delivery batch handler.

use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use switchboard::tenancy::key_format::KeyHash;

use switchboard::demo;
use switchboard::lambda::handle_sqs_batch;
use switchboard::queue::Queue;
use switchboard_tests::receiver::{Receiver, Reply};
use switchboard_tests::{Backend, app, sqs_queue};
use tower::ServiceExt;

/// The status each API Gateway sample must produce against a freshly seeded demo store, and a
/// JSON pointer into the answer that must hold a value (the resource the operation returns;
/// empty for answers without a body; for a page of the console, a string the page contains).
const HTTP_EXPECTED: &[(&str, u16, &str)] = &[
    ("admin-create-api-key-invalid.json", 422, "/errors/0/field"),
    ("admin-create-api-key.json", 201, "/key"),
    ("admin-create-tenant.json", 201, "/api_key/key"),
    ("admin-delete-api-key.json", 204, ""),
    ("admin-get-api-key.json", 200, "/scopes/0"),
    ("admin-health.json", 200, "/status"),
    ("admin-whoami.json", 200, "/tenant_name"),
    ("admin-console.json", 200, "/console/assets/app.js"),
    ("admin-list-api-keys-no-key.json", 401, "/detail"),
    ("admin-list-api-keys.json", 200, "/data/0/id"),
    ("admin-list-tenants.json", 200, "/data/0/id"),
    ("admin-tenant-recovery-key.json", 201, "/key"),
    ("admin-openapi.json", 200, "/paths/~1v1~1events"),
    ("admin-revoke-api-key.json", 200, "/revoked_at"),
    ("admin-roll-api-key.json", 201, "/key"),
    ("admin-update-api-key.json", 200, "/id"),
    ("admin-create-webhook.json", 201, "/secret"),
    ("admin-list-webhooks.json", 200, "/data/0/url"),
    ("admin-get-webhook.json", 200, "/url"),
    ("admin-update-webhook.json", 200, "/id"),
    ("admin-delete-webhook.json", 204, ""),
    ("admin-rotate-webhook-secret.json", 200, "/secret"),
    ("admin-test-webhook.json", 200, "/status_code"),
    ("admin-list-webhook-attempts.json", 200, "/data"),
    ("admin-recover-webhook.json", 202, "/queued"),
    ("admin-publish-event.json", 202, "/id"),
    ("admin-get-event.json", 200, "/deliveries/0/status"),
    ("admin-resend-event.json", 202, "/queued"),
    ("intake-unknown-integration.json", 404, "/detail"),
    ("intake-github-push.json", 202, "/id"),
    ("intake-slack-url-verification.json", 200, "/challenge"),
    ("intake-stripe-event.json", 202, "/id"),
];
const SQS_SAMPLES: &[&str] = &[
    "delivery-inbound-job.json",
    "delivery-undeliverable-jobs.json",
    "delivery-deliver-success.json",
    "delivery-deliver-retry.json",
    "delivery-action-twilio-sms.json",
    "delivery-action-sendgrid-email.json",
    "delivery-action-slack-message.json",
    "delivery-action-http-request.json",
];

fn event_files() -> BTreeMap<String, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    std::fs::read_dir(&dir)
        .expect("events/ exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("read event"))
        })
        .collect()
}

#[test]
fn every_event_file_has_an_expectation() {
    let files: Vec<String> = event_files().into_keys().collect();
    let mut expected: Vec<String> = HTTP_EXPECTED
        .iter()
        .map(|(n, _, _)| n.to_string())
        .chain(SQS_SAMPLES.iter().map(|n| n.to_string()))
        .collect();
    expected.sort();
    assert_eq!(
        files, expected,
        "each events/ file needs an expected outcome here"
    );
}

/// Slack and Stripe sign a timestamp, so their samples go stale after the tolerance (300 s):
/// they are signed again here for now with the demo secret, as `switchboard sign` would, headers
/// replaced and everything else as in the file. Other samples are returned as they are.
fn signed_now(name: &str, event: &str) -> String {
    let (provider, secret) = match name {
        "intake-slack-url-verification.json" => ("slack", demo::SLACK_SECRET),
        "intake-stripe-event.json" => ("stripe", demo::STRIPE_SECRET),
        _ => return event.to_owned(),
    };
    let mut event: serde_json::Value = serde_json::from_str(event).expect("sample is JSON");
    let body = event["body"].as_str().expect("sample body").to_owned();
    let now = chrono::Utc::now().timestamp();
    let signed = switchboard::signing::inbound::sign_request(
        provider,
        secret,
        &serde_json::json!({}),
        body.as_bytes(),
        "https://example.invalid/hooks",
        now,
    )
    .expect("sign");
    for (header, value) in &signed.headers {
        event["headers"][header.as_str()] =
            serde_json::Value::from(value.to_str().expect("ASCII header"));
    }
    event.to_string()
}

#[test]
fn timestamped_samples_verify_as_written_at_their_time() {
    // The files themselves are real signatures (made at their timestamp), not placeholders.
    for (name, provider, secret) in [
        (
            "intake-slack-url-verification.json",
            "slack",
            demo::SLACK_SECRET,
        ),
        ("intake-stripe-event.json", "stripe", demo::STRIPE_SECRET),
        ("intake-github-push.json", "github", demo::GITHUB_SECRET),
    ] {
        let event: serde_json::Value =
            serde_json::from_str(&event_files()[name]).expect("sample is JSON");
        let mut headers = http::HeaderMap::new();
        for (k, v) in event["headers"].as_object().expect("headers") {
            headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                v.as_str().expect("value").parse().expect("value"),
            );
        }
        let config = switchboard::signing::inbound::ProviderConfig::parse(
            provider,
            &serde_json::json!({ "secret": secret }),
        )
        .expect("config");
        let request = switchboard::signing::inbound::Request {
            method: &http::Method::POST,
            headers: &headers,
            body: event["body"].as_str().expect("body").as_bytes(),
            url: "https://example.invalid/hooks",
            now: 1_795_500_000,
        };
        assert!(
            config.verify(&request, 300).is_ok(),
            "{name} does not verify at its own timestamp"
        );
    }
}

async fn drive_http_events(backend: Backend) {
    let files = event_files();
    for (name, expected, pointer) in HTTP_EXPECTED {
        // A fresh, seeded store per event, so samples do not depend on each other's order.
        let root = KeyHash::from_hex(&demo::root_key_sha256());
        let test_app = app(backend, root).await;
        demo::seed(test_app.app.store.as_ref())
            .await
            .expect("seed demo data");
        let receiver = Receiver::start().await;
        demo::seed_outbound(&test_app.app.outbound, &receiver.base)
            .await
            .expect("seed demo endpoints");
        demo::seed_inbound(&test_app.app.inbound)
            .await
            .expect("seed demo integrations");
        let router = if name.starts_with("intake-") {
            switchboard::api::intake_router(Arc::clone(&test_app.app))
        } else {
            switchboard::api::admin_router(Arc::clone(&test_app.app))
        };
        let request = lambda_http::request::from_str(&signed_now(name, &files[*name]))
            .unwrap_or_else(|e| panic!("{name} is not an API Gateway event: {e}"));
        let response = router.oneshot(request).await.expect("router is infallible");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        assert_eq!(
            status,
            *expected,
            "{name} on {backend:?}: {}",
            String::from_utf8_lossy(&body)
        );
        if status == 204 {
            assert!(body.is_empty(), "{name}: 204 with a body");
            continue;
        }
        if content_type.starts_with("text/html") {
            let page = String::from_utf8_lossy(&body);
            assert!(page.contains(pointer), "{name}: no `{pointer}` in the page");
            continue;
        }
        let json: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{name}: the answer is not JSON ({e})"));
        if status >= 400 {
            assert_eq!(content_type, "application/problem+json", "{name}");
            assert_eq!(json["status"], serde_json::json!(status), "{name}: {json}");
        } else {
            assert_eq!(content_type, "application/json", "{name}");
        }
        assert!(
            json.pointer(pointer).is_some_and(|v| !v.is_null()),
            "{name}: no `{pointer}` in {json}"
        );
        if *name == "admin-health.json" {
            let expected = match backend {
                Backend::Sqlite => ["sqlite", "sqlite", "local"],
                Backend::Aws => ["dynamodb", "sqs", "kms"],
            };
            assert_eq!(
                [&json["store"], &json["queue"], &json["keys"]],
                expected.map(serde_json::Value::from).each_ref(),
                "health names the adapters in use"
            );
        }
    }
}

switchboard_tests::on_both_backends!(drive_http_events);

/// Drives one SQS sample through the delivery handler on a fresh seeded app; returns the batch
/// response, the SQS queue pair it settled on, the receiver, the record count and the app.
async fn drive_sqs(
    name: &str,
) -> (
    aws_lambda_events::event::sqs::SqsBatchResponse,
    switchboard::queue::sqs::SqsQueue,
    Receiver,
    usize,
    switchboard_tests::TestApp,
) {
    let files = event_files();
    let test_app = app(Backend::Sqlite, None).await;
    demo::seed(test_app.app.store.as_ref()).await.expect("seed");
    let receiver = Receiver::start().await;
    receiver.script("demo-retry", [Reply::Status(500)]);
    demo::seed_outbound(&test_app.app.outbound, &receiver.base)
        .await
        .expect("seed endpoints");
    demo::seed_inbound(&test_app.app.inbound)
        .await
        .expect("seed integrations");
    let queue = sqs_queue().await;
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&files[name]).expect("SQS event");
    let records = event.records.len();
    let response = handle_sqs_batch(&queue, test_app.app.job_handler().as_ref(), event).await;
    (response, queue, receiver, records, test_app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_undeliverable_jobs_are_dead_lettered() {
    let name = "delivery-undeliverable-jobs.json";
    let (response, queue, _receiver, records, _) = drive_sqs(name).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "undeliverable jobs are dead-lettered, not retried: {:?}",
        response
            .batch_item_failures
            .iter()
            .map(|f| &f.item_identifier)
            .collect::<Vec<_>>()
    );
    let mut letters = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while letters.len() < records && std::time::Instant::now() < deadline {
        letters.extend(queue.dead_letters(10).await.expect("dlq"));
    }
    assert_eq!(
        letters.len(),
        records,
        "{name}: every record reaches the DLQ: {letters:?}"
    );
    let reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.starts_with("malformed job")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("unknown job kind `from_the_future`")),
        "{reasons:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_inbound_job_processes_the_stored_webhook() {
    let (response, _queue, _receiver, _, test_app) = drive_sqs("delivery-inbound-job.json").await;
    assert!(
        response.batch_item_failures.is_empty(),
        "the inbound job is done: {:?}",
        response.batch_item_failures
    );
    let id: switchboard::model::InboundEventId =
        demo::INBOUND_EVENT_ID.parse().expect("demo event id");
    let stored = test_app
        .app
        .store
        .get(&switchboard::inbound::events::event_key(id))
        .await
        .expect("store")
        .expect("the demo webhook is stored");
    assert_eq!(stored["status"], "processed", "{stored:?}");
    let produced = stored["produced_event_id"]
        .as_str()
        .expect("the routed event's id");
    // The routed event is the tenant's own, typed by the route template from the stored header.
    let message = test_app
        .app
        .outbound
        .message(
            demo::TENANT_ID.parse().expect("tenant"),
            produced.parse().expect("message id"),
        )
        .await
        .expect("store")
        .expect("the routed event exists");
    assert_eq!(message.event_type, "demo.github.push");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_delivery_success_is_acknowledged() {
    let (response, _queue, receiver, _, _) = drive_sqs("delivery-deliver-success.json").await;
    assert!(response.batch_item_failures.is_empty());
    let got = receiver.seen("demo");
    assert_eq!(got.len(), 1, "delivered once");
    assert_eq!(got[0].headers["webhook-id"], demo::MESSAGE_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_delivery_failure_is_reported_for_retry() {
    let (response, _queue, receiver, _, _) = drive_sqs("delivery-deliver-retry.json").await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        vec!["8f6f4d1e-0000-4000-8000-000000000011"],
        "the failed delivery stays on the queue"
    );
    assert_eq!(receiver.seen("demo-retry").len(), 1);
}

/// Drives one action sample (`delivery-action-*`) through the delivery handler on a fresh app
/// whose provider URLs point at loopback fakes that accept the demo credentials; returns the
/// batch response and the fakes.
async fn drive_action_sqs(
    name: &str,
) -> (
    aws_lambda_events::event::sqs::SqsBatchResponse,
    switchboard_tests::fakes::Fakes,
) {
    use switchboard::delivery::provider::ProviderUrls;
    use switchboard_tests::fakes::Fakes;
    let fakes = Fakes::start().await;
    fakes.accept(
        "twilio",
        format!("{}:{}", demo::TWILIO_ACCOUNT_SID, demo::TWILIO_AUTH_TOKEN),
    );
    fakes.accept("sendgrid", demo::SENDGRID_API_KEY.to_owned());
    fakes.accept("rest", demo::REST_AUTH_VALUE.to_owned());
    let mut settings = switchboard_tests::test_settings(None);
    settings.delivery.providers = ProviderUrls {
        twilio: fakes.base.clone(),
        sendgrid: fakes.base.clone(),
        slack: fakes.base.clone(),
        generic_rest: Some(fakes.base.clone()),
    };
    let test_app = switchboard_tests::app_with(Backend::Sqlite, settings).await;
    demo::seed(test_app.app.store.as_ref()).await.expect("seed");
    demo::seed_actions(&test_app.app.outbound, test_app.app.delivery.policy())
        .await
        .expect("seed actions");
    let queue = sqs_queue().await;
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_str(&event_files()[name]).expect("SQS event");
    let response = handle_sqs_batch(&queue, test_app.app.job_handler().as_ref(), event).await;
    (response, fakes)
}

/// What a test expects of one request a fake saw.
type SeenCheck = dyn Fn(&switchboard_tests::fakes::Seen);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_action_jobs_reach_each_provider_once_rendered() {
    let cases: [(&str, &str, &SeenCheck); 4] = [
        ("delivery-action-twilio-sms.json", "/2010-04-01/", &|seen| {
            let form: BTreeMap<String, String> =
                form_urlencoded::parse(&seen.body).into_owned().collect();
            assert_eq!(form["To"], "+15551234567");
            assert_eq!(
                form["Body"],
                format!("Hello Ada, event {}", demo::ACTION_MESSAGE_ID)
            );
        }),
        (
            "delivery-action-sendgrid-email.json",
            "/v3/mail/send",
            &|seen| {
                let body: serde_json::Value = serde_json::from_slice(&seen.body).expect("json");
                assert_eq!(
                    body["personalizations"][0]["to"][0]["email"],
                    "ada@example.com"
                );
                assert_eq!(body["subject"], "Hello Ada");
            },
        ),
        (
            "delivery-action-slack-message.json",
            "/services/",
            &|seen| {
                let body: serde_json::Value = serde_json::from_slice(&seen.body).expect("json");
                assert_eq!(body["text"], "demo.customer_created for Ada");
            },
        ),
        ("delivery-action-http-request.json", "/demo-api/", &|seen| {
            assert_eq!(seen.path, "/demo-api/customers/Ada");
            assert_eq!(
                switchboard_tests::fakes::header(&seen.headers, "x-api-key"),
                demo::REST_AUTH_VALUE
            );
        }),
    ];
    for (name, prefix, check) in cases {
        let (response, fakes) = drive_action_sqs(name).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{name}: {:?}",
            response.batch_item_failures
        );
        let seen = fakes.seen(prefix);
        assert_eq!(seen.len(), 1, "{name}: sent once");
        check(&seen[0]);
    }
}

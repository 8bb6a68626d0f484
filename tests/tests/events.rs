//! Every file in `events/` is loaded and driven through the handler of the function it is for,
//! exactly as the Lambda runtime would: API Gateway v2 events through the admin or intake router
//! (via `lambda_http`'s own request conversion), SQS batches through the delivery batch handler.

use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use switchboard::auth::key_format::KeyHash;
use switchboard::jobs::Dispatcher;
use switchboard::lambda::handle_sqs_batch;
use switchboard::queue::Queue;
use switchboard::tenancy::demo;
use switchboard_tests::{Backend, app, sqs_queue};
use tower::ServiceExt;

/// The status each API Gateway sample must produce against a freshly seeded demo store.
const HTTP_EXPECTED: &[(&str, u16)] = &[
    ("admin-create-api-key-invalid.json", 422),
    ("admin-create-api-key.json", 201),
    ("admin-create-tenant.json", 201),
    ("admin-delete-api-key.json", 204),
    ("admin-get-api-key.json", 200),
    ("admin-health.json", 200),
    ("admin-list-api-keys-no-key.json", 401),
    ("admin-list-api-keys.json", 200),
    ("admin-list-tenants.json", 200),
    ("admin-openapi.json", 200),
    ("admin-revoke-api-key.json", 200),
    ("admin-roll-api-key.json", 201),
    ("admin-update-api-key.json", 200),
    ("intake-unknown-integration.json", 404),
];
const SQS_SAMPLES: &[&str] = &["delivery-undeliverable-jobs.json"];

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
        .map(|(n, _)| n.to_string())
        .chain(SQS_SAMPLES.iter().map(|n| n.to_string()))
        .collect();
    expected.sort();
    assert_eq!(
        files, expected,
        "each events/ file needs an expected outcome here"
    );
}

async fn drive_http_events(backend: Backend) {
    let files = event_files();
    for (name, expected) in HTTP_EXPECTED {
        // A fresh, seeded store per event, so samples do not depend on each other's order.
        let root = KeyHash::from_hex(&demo::root_key_sha256());
        let test_app = app(backend, root).await;
        demo::seed(test_app.app.store.as_ref())
            .await
            .expect("seed demo data");
        let router = if name.starts_with("intake-") {
            switchboard::api::intake_router(Arc::clone(&test_app.app))
        } else {
            switchboard::api::admin_router(Arc::clone(&test_app.app))
        };
        let request = lambda_http::request::from_str(&files[*name])
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
        if status >= 400 {
            assert_eq!(content_type, "application/problem+json", "{name}");
        } else if status != 204 {
            let _: serde_json::Value = serde_json::from_slice(&body).expect("JSON response");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gateway_events_on_embedded_adapters() {
    drive_http_events(Backend::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gateway_events_on_aws_adapters() {
    drive_http_events(Backend::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_batches_through_the_delivery_handler() {
    let files = event_files();
    for name in SQS_SAMPLES {
        let test_app = app(Backend::Embedded, None).await;
        let queue = sqs_queue().await;
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_str(&files[*name]).expect("SQS event");
        let records = event.records.len();
        let response =
            handle_sqs_batch(&queue, &Dispatcher::new(Arc::clone(&test_app.app)), event).await;
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
}

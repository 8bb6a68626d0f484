//! What the logs say, captured through the subscriber the Lambdas and `serve` install (JSON
//! lines), on both adapter sets: every log line of a delivery carries its tenant, message and
//! endpoint ids, and no credential a connection stores ever reaches a line. Its own test binary
//! because the subscriber is process-wide (scoped subscribers set on several threads at once
//! race in tracing's callsite-interest cache and miss lines).

use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use switchboard_tests::receiver::Reply;
use switchboard_tests::{Backend, Harness, WAIT, eventually};

/// The lines every test of this binary logs (one global subscriber per process).
fn captured() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    Arc::clone(LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        switchboard::telemetry::init_with_writer(true, move || Sink(Arc::clone(&sink)));
        logs
    }))
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn lines(logs: &Mutex<Vec<u8>>) -> Vec<Value> {
    let bytes = logs.lock().expect("lock").clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// Whether `line` mentions `needle` anywhere (fields or spans).
fn mentions(line: &Value, needle: &str) -> bool {
    line.to_string().contains(needle)
}

async fn every_line_of_a_delivery_names_tenant_message_and_endpoint(backend: Backend) {
    let logs = captured();
    let h = Harness::start(backend).await;
    let worker = h.worker();
    // 410 Gone: the attempt is logged, then the endpoint is disabled (a warning of its own).
    let (gone, _) = h.endpoint("gone", serde_json::json!({})).await;
    h.receiver.script("gone", [Reply::Status(410)]);
    let message = h.publish_id("thing.happened").await;
    h.delivery_status(&message, "failed", WAIT).await;
    let disabled = eventually(WAIT, || async {
        lines(&logs)
            .into_iter()
            .find(|l| l["fields"]["message"] == "endpoint disabled" && mentions(l, &gone))
    })
    .await
    .expect("the endpoint-disabled warning is logged");
    worker.stop().await;

    let attempt = lines(&logs)
        .into_iter()
        .find(|l| l["fields"]["message"] == "delivery attempt" && mentions(l, &message))
        .expect("the attempt is logged");
    for line in [&attempt, &disabled] {
        let span = &line["span"];
        assert_eq!(span["name"], "delivery", "{line}");
        assert_eq!(span["tenant_id"], h.tenant.id.as_str(), "{line}");
        assert_eq!(span["message_id"], message.as_str(), "{line}");
        assert_eq!(span["endpoint_id"], gone.as_str(), "{line}");
    }
    // Whatever else the delivery logged carries them too.
    let of_this_delivery: Vec<Value> = lines(&logs)
        .into_iter()
        .filter(|l| l["span"]["message_id"] == message.as_str())
        .collect();
    assert!(of_this_delivery.len() >= 2);
    for line in &of_this_delivery {
        assert_eq!(line["span"]["tenant_id"], h.tenant.id.as_str(), "{line}");
        assert_eq!(line["span"]["endpoint_id"], gone.as_str(), "{line}");
    }
}

switchboard_tests::on_both_backends!(every_line_of_a_delivery_names_tenant_message_and_endpoint);

/// A fresh Twilio credential pair no other test uses.
fn twilio_secrets() -> (String, String) {
    let unique = ulid::Ulid::new().to_string().to_lowercase();
    (format!("AC{unique}012345"), format!("logtok{unique}"))
}

async fn no_connection_secret_reaches_a_log_line(backend: Backend) {
    let logs = captured();
    let h = Harness::start(backend).await;
    let (sid, token) = twilio_secrets();
    let (_, rotated) = twilio_secrets();
    let (_, refused) = twilio_secrets();
    let created = h
        .post(
            "/v1/connections",
            serde_json::json!({"provider": "twilio", "name": "logged",
                "credentials": {"account_sid": sid, "auth_token": token}}),
        )
        .await;
    assert_eq!(
        created.status,
        reqwest::StatusCode::CREATED,
        "{}",
        created.body
    );
    let id = created.body["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/connections/{id}");
    let patched = h
        .call(
            reqwest::Method::PATCH,
            &path,
            Some(serde_json::json!({"credentials": {"account_sid": sid, "auth_token": rotated}})),
        )
        .await;
    assert_eq!(patched.status, reqwest::StatusCode::OK);
    let bad = h
        .post(
            "/v1/connections",
            serde_json::json!({"provider": "twilio", "name": "bad",
                "credentials": {"account_sid": "XX", "auth_token": refused}}),
        )
        .await;
    assert_eq!(bad.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    h.get("/v1/connections").await;
    h.get(&path).await;
    assert_eq!(
        h.call(reqwest::Method::DELETE, &path, None).await.status,
        reqwest::StatusCode::NO_CONTENT
    );
    let text = String::from_utf8_lossy(&logs.lock().expect("lock")).into_owned();
    let logged = |what: &str| text.lines().any(|l| l.contains(what) && l.contains(&id));
    assert!(
        logged("connection created") && logged("connection credentials rotated"),
        "the capture sees this connection's handlers"
    );
    for s in [&token, &rotated, &refused] {
        assert!(!text.contains(s.as_str()), "a secret in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_secret_reaches_a_log_line_sqlite() {
    no_connection_secret_reaches_a_log_line(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_secret_reaches_a_log_line_aws() {
    no_connection_secret_reaches_a_log_line(Backend::Aws).await;
}

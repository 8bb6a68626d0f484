//! Issue 7 hardening of `switchboard serve`, each test failing on the code before it: clients
//! that never finish a request are cut off and cannot starve others (2), a start that fails
//! keeps no root key hash nobody saw (4), the data directory and its files are private (8),
//! client request ids cannot forge log fields (11), and an over-long request line is a
//! problem+json 414 (16).

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::serve::ServeLimits;
use switchboard::serve::root_key;
use switchboard_tests::served::{RawClient, Served, loopback, raise_fd_limit, start_at};
use tokio::time::Instant;

const HALF_HEAD: &[u8] = b"GET /health HTTP/1.1\r\nhost: localhost\r\n";
const FULL_HEAD: &[u8] = b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n";

fn limits(header_ms: u64, idle_ms: u64) -> ServeLimits {
    ServeLimits {
        header_timeout: Duration::from_millis(header_ms),
        idle_timeout: Duration::from_millis(idle_ms),
        ..ServeLimits::default()
    }
}

// ---- 2: slow clients ----

#[tokio::test]
async fn a_trickled_half_request_is_closed_within_the_header_timeout() {
    let served = Served::start(limits(1_000, 60_000)).await;
    let mut client = RawClient::connect(served.addr()).await;
    let opened = Instant::now();
    client.send(HALF_HEAD).await;
    // One more header byte every 100 ms: trickling must not extend the deadline.
    let (mut read, mut write) = client.stream.into_split();
    let trickle = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"x").await.is_err() {
                break;
            }
        }
    });
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 256];
        while let Ok(n) = read.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
        opened.elapsed()
    })
    .await;
    trickle.abort();
    let closed = closed.expect("serve never closed a connection that sent half a request");
    assert!(
        closed >= Duration::from_millis(900) && closed < Duration::from_secs(4),
        "closed after {closed:?}, header timeout 1 s"
    );
    served.stop().await;
}

#[tokio::test]
async fn serve_answers_while_2000_half_requests_are_open_then_closes_them_all() {
    const SLOW: usize = 2_000;
    // Both ends of every connection live in this process.
    let fds = raise_fd_limit(2 * SLOW as u64 + 512);
    assert!(
        fds >= 2 * SLOW as u64 + 256,
        "the open-file limit ({fds}) is too low for {SLOW} loopback connections; raise `ulimit -Hn`"
    );
    let header = Duration::from_secs(8);
    let served = Served::start(limits(header.as_millis() as u64, 60_000)).await;
    let first_opened = Instant::now();
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut client = RawClient::connect(served.addr()).await;
        client.send(HALF_HEAD).await;
        slow.push(client);
    }

    let health = reqwest::Client::new()
        .get(served.url("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/health answers while the slow connections are open");
    assert_eq!(health.status(), StatusCode::OK);
    assert!(
        first_opened.elapsed() < header,
        "/health came after the header timeout; the slow connections may have been closed"
    );

    // Every slow connection is closed by the header deadline (counted from its accept).
    let deadline = first_opened + header + Duration::from_secs(20);
    let waits = slow.into_iter().map(|mut client| async move {
        let left = deadline.saturating_duration_since(Instant::now());
        client.closed_within(left).await.is_some()
    });
    let closed = futures::future::join_all(waits).await;
    let open = closed.iter().filter(|c| !**c).count();
    assert_eq!(open, 0, "{open} of {SLOW} half-requests still open");
    served.stop().await;
}

#[tokio::test]
async fn a_kept_alive_connection_gets_the_idle_timeout_not_the_header_timeout() {
    let served = Served::start(limits(300, 1_500)).await;
    let mut client = RawClient::connect(served.addr()).await;
    client.send(FULL_HEAD).await;
    let (head, _) = client
        .response(Duration::from_secs(5))
        .await
        .expect("a response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let idle = client
        .closed_within(Duration::from_secs(10))
        .await
        .expect("an idle kept-alive connection is closed");
    assert!(
        idle >= Duration::from_millis(1_300) && idle < Duration::from_secs(5),
        "closed {idle:?} after its response; idle timeout 1.5 s, header timeout 0.3 s"
    );
    served.stop().await;
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let served = Served::start(ServeLimits {
        max_connections: 2,
        ..ServeLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut client = RawClient::connect(served.addr()).await;
        client.send(FULL_HEAD).await;
        client
            .response(Duration::from_secs(5))
            .await
            .expect("within the cap: answered");
        held.push(client);
    }
    let mut third = RawClient::connect(served.addr()).await;
    third.send(FULL_HEAD).await;
    assert!(
        third.response(Duration::from_millis(500)).await.is_none(),
        "a third connection was served while the cap of 2 was held"
    );
    drop(held.pop());
    let (head, _) = third
        .response(Duration::from_secs(5))
        .await
        .expect("served once a connection closed");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    served.stop().await;
}

#[tokio::test]
async fn bad_limits_are_refused_naming_their_flag() {
    let dir = tempfile::tempdir().expect("tempdir");
    let short = ServeLimits {
        request_timeout: Duration::from_secs(1),
        ..ServeLimits::default()
    };
    let error = start_at(loopback(), dir.path().join("data"), short)
        .await
        .err()
        .expect("a 1 s request timeout is refused");
    assert!(
        error.to_string().contains("--request-timeout-ms"),
        "{error}"
    );
}

// ---- 4: the root key survives a failed start ----

#[tokio::test]
async fn a_start_that_cannot_bind_keeps_no_root_key_and_the_next_start_shows_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let taken = std::net::TcpListener::bind(loopback()).expect("bind");
    let busy = taken.local_addr().expect("addr");

    let error = start_at(busy, data_dir.clone(), ServeLimits::default())
        .await
        .err()
        .expect("the port is taken");
    assert!(error.to_string().contains("bind"), "{error}");
    assert!(
        !data_dir.join(root_key::FILE).exists(),
        "a start that failed saved the hash of a key nobody saw"
    );

    let mut running = start_at(loopback(), data_dir.clone(), ServeLimits::default())
        .await
        .expect("starts");
    let new = running.new_root_key.take().expect("a new root key to show");
    let key = new.key().expose_secret().to_owned();
    assert!(
        !data_dir.join(root_key::FILE).exists(),
        "the hash is saved only once the key has been shown"
    );
    new.persist().expect("persist");
    let base = format!("http://{}", running.addr);
    let created = reqwest::Client::new()
        .post(format!("{base}/v1/tenants"))
        .bearer_auth(&key)
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::CREATED);
    running.stop().await;

    let again = start_at(loopback(), data_dir, ServeLimits::default())
        .await
        .expect("restarts");
    assert!(again.new_root_key.is_none(), "the shown key is kept");
    let listed = reqwest::Client::new()
        .get(format!("http://{}/v1/tenants", again.addr))
        .bearer_auth(&key)
        .send()
        .await
        .expect("request");
    assert_eq!(listed.status(), StatusCode::OK, "the shown key still works");
    again.stop().await;
}

// ---- 8: private files ----

#[cfg(unix)]
#[tokio::test]
async fn the_data_dir_is_0700_and_every_file_serve_writes_is_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let mut served = Served::start(ServeLimits::default()).await;
    let root = served.take_root_key();
    let key = root.key().expose_secret().to_owned();
    root.persist().expect("persist");
    // A write, so the WAL has content.
    let created = reqwest::Client::new()
        .post(served.url("/v1/tenants"))
        .bearer_auth(&key)
        .json(&json!({"name": "Acme"}))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::CREATED);

    assert_eq!(mode(&served.data_dir), 0o700, "data dir");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&served.data_dir).expect("read dir") {
        let path = entry.expect("entry").path();
        files.push(
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned(),
        );
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    files.sort();
    for expected in ["master.key", root_key::FILE] {
        assert!(
            files.iter().any(|f| f == expected),
            "{expected} in {files:?}"
        );
    }
    assert!(
        files.iter().any(|f| f.ends_with("-wal")),
        "the WAL is checked too: {files:?}"
    );
    served.stop().await;
}

// ---- 11: request ids ----

/// Log lines written while the guard lives on this thread (`#[tokio::test]` runs the server's
/// tasks on the test's own thread).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut all) = self.0.lock() {
            all.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        self.0
            .lock()
            .map(|all| String::from_utf8_lossy(&all).into_owned())
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn request_ids_are_kept_only_if_short_and_plain_and_are_logged_quoted() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let served = Served::start(ServeLimits::default()).await;
    let http = reqwest::Client::new();
    let echoed = |id: &str| {
        let request = http.get(served.url("/health")).header("x-request-id", id);
        async move {
            let reply = request.send().await.expect("request");
            assert_eq!(reply.status(), StatusCode::OK);
            let echoed = reply.headers().get_all("x-request-id").iter().count();
            assert_eq!(echoed, 1, "one id on the response");
            reply.headers()["x-request-id"]
                .to_str()
                .expect("ascii")
                .to_owned()
        }
    };

    let good = "req-42_a.B";
    assert_eq!(echoed(good).await, good, "a short plain id is kept");
    let forged = "x request_id=forged level=ERROR";
    let long = "a".repeat(65);
    for bad in [forged, long.as_str(), "quote\"d", "a,b"] {
        let fresh = echoed(bad).await;
        assert_ne!(fresh, bad);
        assert_eq!(fresh.len(), 26, "a fresh ULID for `{bad}`: {fresh}");
        assert!(ulid::Ulid::from_string(&fresh).is_ok(), "{fresh}");
    }

    let text = logs.text();
    assert!(
        text.contains(&format!("request_id=\"{good}\"")),
        "ids are logged quoted: {text}"
    );
    assert!(
        !text.contains("forged"),
        "a client id reached the log: {text}"
    );
    served.stop().await;
}

// ---- 16: an over-long request line ----

async fn problem(reply: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(reply.status(), status);
    assert_eq!(
        reply.headers()["content-type"],
        "application/problem+json",
        "{status}"
    );
    let body: Value = reply.json().await.expect("json body");
    assert_eq!(body["status"], json!(status.as_u16()), "{body}");
    body
}

#[tokio::test]
async fn a_100_kb_path_is_a_problem_json_414_and_huge_headers_a_431() {
    let served = Served::start(ServeLimits::default()).await;
    // A raw request: no HTTP client builds a URI this long.
    let mut client = RawClient::connect(served.addr()).await;
    let long = format!(
        "GET /v1/{} HTTP/1.1\r\nhost: localhost\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    client.send(long.as_bytes()).await;
    let (head, body) = client
        .response(Duration::from_secs(10))
        .await
        .expect("a 100 KB path is answered");
    assert!(head.starts_with("HTTP/1.1 414 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let body: Value = serde_json::from_slice(&body).expect("json body");
    assert_eq!(body["status"], json!(414), "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("request line"),
        "{body}"
    );

    let http = reqwest::Client::new();
    let reply = http
        .get(served.url("/health"))
        .header("x-big", "v".repeat(70 * 1024))
        .send()
        .await
        .expect("answered");
    problem(reply, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await;

    // The server is still fine, and a normal path still routes.
    let health = http
        .get(served.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), StatusCode::OK);
    served.stop().await;
}

//! `switchboard serve` as a process: first run prints the root key once, data survives
//! `kill -9`, and Ctrl-C (SIGINT) stops it cleanly.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers panic on failure

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    addr: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(data_dir: &std::path::Path) -> Serve {
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--addr", &addr, "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .env_remove("TABLE_NAME")
        .env_remove("ROOT_KEY_SHA256")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn switchboard serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Serve { child, lines, addr }
}

impl Serve {
    /// Lines printed until the "listening" line (or a deadline).
    fn banner(&self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut out = Vec::new();
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                let done = line.contains("listening on");
                out.push(line);
                if done {
                    return out;
                }
            }
        }
        panic!("serve did not start: {out:?}");
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn root_key(banner: &[String]) -> Option<String> {
    banner
        .iter()
        .find_map(|l| l.trim().strip_prefix("ROOT_KEY=").map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keeps_data_across_kill_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = reqwest::Client::new();

    let mut first = start(dir.path());
    let banner = first.banner();
    let root = root_key(&banner).expect("first run prints the root key");
    let health: serde_json::Value = http
        .get(first.url("/health"))
        .send()
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(health["store"], "sqlite");
    assert_eq!(health["queue"], "sqlite");
    assert_eq!(health["keys"], "local");
    let created = http
        .post(first.url("/v1/tenants"))
        .bearer_auth(&root)
        .json(&serde_json::json!({"name": "Survivor"}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    // The answer came back: the write is durable. Kill without any chance to clean up.
    first.child.kill().expect("kill -9");
    let _ = first.child.wait();

    let mut second = start(dir.path());
    let banner = second.banner();
    assert!(
        root_key(&banner).is_none(),
        "the root key is shown only on the first run: {banner:?}"
    );
    let tenants: serde_json::Value = http
        .get(second.url("/v1/tenants"))
        .bearer_auth(&root)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(tenants["data"][0]["name"], "Survivor", "{tenants}");
    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-INT", &second.child.id().to_string()])
            .status()
            .expect("kill -INT");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let exit = loop {
            if let Some(exit) = second.child.try_wait().expect("wait") {
                break exit;
            }
            assert!(Instant::now() < deadline, "serve did not stop on Ctrl-C");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(exit.success(), "clean exit on Ctrl-C: {exit:?}");
    }
    let _ = second.child.kill();
}

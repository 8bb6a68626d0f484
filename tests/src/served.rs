//! `switchboard serve` itself (the library entry the CLI calls) on a loopback port over a fresh
//! data directory, for tests of what only `serve` does: its listener limits, its root key and
//! the files it writes. Plus [`RawClient`], a bare TCP client for requests no HTTP client sends
//! (half a request head, a trickle, a connection that never speaks).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use switchboard::serve::{NewRootKey, Running, ServeError, ServeLimits, ServeOptions, start};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running `serve` on the embedded adapters and the directory it keeps its data in.
pub struct Served {
    pub running: Running,
    pub base: String,
    pub data_dir: PathBuf,
    _root: TempDir,
}

/// Starts `serve` on `addr` over `data_dir` with `limits` (the environment is empty: embedded
/// adapters, a new root key on a fresh directory).
pub async fn start_at(
    addr: SocketAddr,
    data_dir: PathBuf,
    limits: ServeLimits,
) -> Result<Running, ServeError> {
    start(
        ServeOptions {
            addr,
            data_dir,
            limits,
            metrics_addr: None,
        },
        &|_| None,
    )
    .await
}

impl Served {
    /// Starts `serve` on an ephemeral loopback port in a new temp data directory (one level
    /// below the temp dir, so `serve` creates it).
    pub async fn start(limits: ServeLimits) -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        let data_dir = root.path().join("data");
        let running = start_at(loopback(), data_dir.clone(), limits)
            .await
            .expect("serve starts");
        Self {
            base: format!("http://{}", running.addr),
            running,
            data_dir,
            _root: root,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The root key this start made (once).
    pub fn take_root_key(&mut self) -> NewRootKey {
        self.running
            .new_root_key
            .take()
            .expect("a fresh data directory gets a new root key")
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// `127.0.0.1:0`.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A bare TCP connection to `serve`.
pub struct RawClient {
    pub stream: TcpStream,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.expect("connect"),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one response with a `content-length` body; returns its head and body.
    pub async fn response(&mut self, within: Duration) -> Option<(String, Vec<u8>)> {
        tokio::time::timeout(within, self.read_response())
            .await
            .ok()
            .flatten()
    }

    async fn read_response(&mut self) -> Option<(String, Vec<u8>)> {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            bytes.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        while bytes.len() < head_end + length {
            let n = self.stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
        Some((head, bytes[head_end..head_end + length].to_vec()))
    }

    /// Waits until the server closes the connection (EOF or reset), reading and dropping
    /// whatever it sends; `None` if it is still open after `within`.
    pub async fn closed_within(&mut self, within: Duration) -> Option<Duration> {
        let started = tokio::time::Instant::now();
        let mut chunk = [0u8; 4096];
        tokio::time::timeout(within, async {
            loop {
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await
        .ok()
        .map(|()| started.elapsed())
    }
}

/// Raises this process's soft open-file limit to at least `wanted` (up to the hard limit);
/// returns the limit now in force.
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // `rlim_t` is not `u64` on every Unix.
pub fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read or write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if (limit.rlim_cur as u64) < wanted {
            limit.rlim_cur = std::cmp::min(wanted as libc::rlim_t, limit.rlim_max);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            }
        }
    }
    limit.rlim_cur as u64
}

//! The delivery client ignores proxy variables. Through a proxy the target host is resolved by
//! the proxy, not by the SSRF guard's resolver, so a client that honoured `HTTP_PROXY` would
//! let any webhook URL reach internal addresses. This is its own test binary because it sets
//! those variables for the whole process.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use switchboard::delivery::client::{DeliveryClient, ErrorCode};
use switchboard::ssrf::AddressPolicy;
use switchboard_tests::receiver::Receiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts on `listener` and counts connections. With `answer`, replies to each one as a proxy
/// that cannot reach the target would (502), so that a proxied request ends at once.
fn count_connections(listener: tokio::net::TcpListener, answer: bool) -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            if answer {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                });
            }
        }
    });
    count
}

#[test]
fn proxy_variables_do_not_bypass_the_ssrf_guard() {
    // The "proxy", bound before the variables point at it.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
    let proxy_addr: SocketAddr = proxy.local_addr().expect("proxy addr");
    let proxy_url = format!("http://{proxy_addr}");
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        // SAFETY: no other thread exists that could read the environment: this binary holds this
        // one test, and the runtime below is started after the variables are set.
        unsafe { std::env::set_var(name, &proxy_url) };
    }
    for name in ["NO_PROXY", "no_proxy", "REQUEST_METHOD"] {
        // SAFETY: as above. NO_PROXY could exempt loopback, and with REQUEST_METHOD set (CGI)
        // HTTP_PROXY is ignored: either would make the proxy look unused for the wrong reason.
        unsafe { std::env::remove_var(name) };
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        proxy.set_nonblocking(true).expect("nonblocking");
        let proxied = count_connections(
            tokio::net::TcpListener::from_std(proxy).expect("proxy listener"),
            true,
        );
        let receiver = Receiver::start().await;

        // Control: the variables are live in this process; a default reqwest client obeys them
        // (and gets the proxy's 502, never reaching the receiver).
        let default_client = reqwest::Client::builder().build().expect("default client");
        let status = default_client
            .post(receiver.url("/control"))
            .body("{}")
            .send()
            .await
            .expect("through the proxy")
            .status();
        assert_eq!(
            status.as_u16(),
            502,
            "the default client went through the proxy"
        );
        assert_eq!(proxied.load(Ordering::SeqCst), 1);
        assert!(receiver.seen("/control").is_empty());

        // The delivery client, with loopback allowed (as in development): straight to the
        // receiver, not through the proxy.
        let allowed =
            DeliveryClient::new(AddressPolicy::from_allow_list("127.0.0.0/8").expect("cidr"))
                .expect("delivery client");
        let sent = allowed
            .post(
                &receiver.url("/hook"),
                http::HeaderMap::new(),
                "{\"ok\":true}".into(),
                TIMEOUT,
            )
            .await;
        assert_eq!(sent.status, Some(200), "{:?}", sent.error);
        let seen = receiver.seen("/hook");
        assert_eq!(seen.len(), 1);
        assert_eq!(&seen[0].body[..], b"{\"ok\":true}");
        assert_eq!(
            proxied.load(Ordering::SeqCst),
            1,
            "the proxy saw no delivery"
        );

        // The delivery client with the default policy: an internal target is refused, by name
        // (the resolver's check, which a proxy would skip) and as a literal, with no connection
        // to the target or to the proxy.
        let internal = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind internal");
        let port = internal.local_addr().expect("internal addr").port();
        let reached = count_connections(internal, false);
        let strict = DeliveryClient::new(AddressPolicy::default()).expect("delivery client");
        for url in [
            format!("http://localhost:{port}/admin"),
            format!("http://127.0.0.1:{port}/admin"),
        ] {
            let sent = strict
                .post(&url, http::HeaderMap::new(), "{}".into(), TIMEOUT)
                .await;
            assert_eq!(sent.status, None, "{url}");
            assert_eq!(
                sent.error.as_ref().map(|(code, _)| *code),
                Some(ErrorCode::BlockedAddress),
                "{url}: {:?}",
                sent.error
            );
        }
        // Give a stray connection, had one been made, time to be accepted and counted.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            reached.load(Ordering::SeqCst),
            0,
            "the internal target was reached"
        );
        assert_eq!(
            proxied.load(Ordering::SeqCst),
            1,
            "the proxy saw no delivery"
        );
    });
}

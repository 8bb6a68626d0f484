//! `serve`'s accept loop: HTTP/1.1 over hyper with a cap on connections, each socket watched by
//! [`Guarded`] (header and idle deadlines, head limits), and a graceful stop.
//!
//! `axum::serve` has neither a connection cap nor any client deadline, so it is replaced here by
//! the few lines it would take to add them. The cap is a semaphore taken before `accept`: at
//! the cap the listener stops accepting and new clients wait in the kernel's backlog until a
//! connection closes, instead of each costing a task and a file descriptor.

use super::guard::{Activity, Guarded};
use super::limits::ServeLimits;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;

/// Accepts connections until `stop` turns true, then waits for the open ones to finish.
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = stopped(&mut stop) => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            limits,
            permit,
            stop.clone(),
        ));
    }
    drop(listener);
    // Every open connection holds a permit: all of them back means all connections are done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

/// Resolves once `serve` is told to stop (or its handle is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Errors about one connection (it went away before it was accepted) are skipped; others
/// (out of file descriptors) are logged and retried after a pause rather than spun on.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Serves one connection; the permit is released when it closes.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ServeLimits,
    _permit: OwnedSemaphorePermit,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Guarded::new(stream, limits, Arc::clone(&activity)));
    let service = Tracked {
        router,
        activity,
        peer,
    };
    let conn = hyper::server::conn::http1::Builder::new()
        // The header deadline is kept by `Guarded`, which tells idle from slow.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Timeouts, refusals and clients going away: expected, and only worth a debug line.
        tracing::debug!(error = %e, "connection closed");
    }
}

/// The router, telling the connection's [`Activity`] when a request starts and when its
/// response is done (its body dropped by hyper, or the handler dropped with the connection).
/// Each request carries the client's address (`ConnectInfo`), which audit entries record.
struct Tracked {
    router: Router,
    activity: Arc<Activity>,
    peer: SocketAddr,
}

type Answer = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<http::Request<Incoming>> for Tracked {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: http::Request<Incoming>) -> Self::Future {
        let in_flight = self.activity.begin();
        let router = self.router.clone();
        let mut request = request.map(Body::new);
        request.extensions_mut().insert(ConnectInfo(self.peer));
        Box::pin(async move {
            let response = router.oneshot(request).await?;
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _request_lasts_until_this_body_is_dropped = &in_flight;
                    frame
                }))
            }))
        })
    }
}

//! `serve`'s request timeout: reading the body and handling the request must finish within the
//! limit, or the answer is a 408 problem. (tower-http's `TimeoutLayer` answers an empty 408;
//! every error here is problem+json.) The Lambdas have API Gateway's own 30 s limit instead.

use super::problem::{Problem, ProblemKind};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Runs the rest of the stack for at most `limit`.
pub async fn limit(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            ProblemKind::RequestTimeout,
            format!(
                "the request was not received and answered within {} ms",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_request_over_the_limit_is_a_408_problem() {
        let limit_ms = Duration::from_millis(50);
        let app = Router::new()
            .route("/slow", get(std::future::pending::<&'static str>))
            .route("/fast", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(move |req, next| {
                limit(limit_ms, req, next)
            }));
        let request = |path: &str| {
            Request::builder()
                .uri(path)
                .body(Body::empty())
                .expect("request")
        };
        let fast = app.clone().oneshot(request("/fast")).await.expect("fast");
        assert_eq!(fast.status(), 200);
        let slow = tokio::time::timeout(Duration::from_secs(5), app.oneshot(request("/slow")))
            .await
            .expect("answered, not hung")
            .expect("slow");
        assert_eq!(slow.status(), 408);
        assert_eq!(slow.headers()["content-type"], "application/problem+json");
    }
}

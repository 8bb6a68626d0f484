//! The HTTP surface: axum routers used as they are by `lambda_http` (admin and intake Lambdas)
//! and by `switchboard serve` (both merged on one port, as API Gateway routes them).

pub mod admin;
pub mod console;
pub mod dto;
pub mod extract;
pub mod intake;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod request_id;
mod schema;
mod timeout;

use crate::app::App;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use problem::{Problem, ProblemKind};
use std::sync::Arc;
use std::time::Duration;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// What every handler gets.
pub type AppState = Arc<App>;

/// The largest request body the admin API reads.
pub const ADMIN_BODY_LIMIT: usize = 1024 * 1024;
/// The largest webhook body intake reads.
pub const INTAKE_BODY_LIMIT: usize = 1024 * 1024;

/// The admin API router.
pub fn admin_router(app: AppState) -> Router {
    finish(admin_routes(), app)
}

/// The inbound intake router.
pub fn intake_router(app: AppState) -> Router {
    finish(intake_routes(), app)
}

/// Admin and intake on one router (tests, custom embeddings).
pub fn router(app: AppState) -> Router {
    finish(admin_routes().merge(intake_routes()), app)
}

/// Admin and intake on one router for `serve`, where every request (body and handling) must be
/// answered within `request_timeout` (a 408 problem otherwise; logged with its request id).
pub fn serve_router(app: AppState, request_timeout: Duration) -> Router {
    let routes = admin_routes()
        .merge(intake_routes())
        .layer(axum::middleware::from_fn(move |request, next| {
            timeout::limit(request_timeout, request, next)
        }));
    finish(routes, app)
}

fn admin_routes() -> Router<AppState> {
    use admin::{
        actions, api_keys, audit, connections, events, health, integrations, tenants, usage,
        webhooks, whoami,
    };
    Router::new()
        .route("/health", get(health::health))
        .route("/v1/openapi.json", get(health::openapi))
        .route("/v1/tenants", post(tenants::create).get(tenants::list))
        .route("/v1/tenants/{id}/recovery-key", post(tenants::recovery_key))
        .route("/v1/api-keys", get(api_keys::list).post(api_keys::create))
        .route(
            "/v1/api-keys/{id}",
            get(api_keys::get)
                .patch(api_keys::update)
                .delete(api_keys::delete),
        )
        .route("/v1/api-keys/{id}/revoke", post(api_keys::revoke))
        .route("/v1/api-keys/{id}/roll", post(api_keys::roll))
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::get)
                .patch(webhooks::update)
                .delete(webhooks::delete),
        )
        .route("/v1/webhooks/{id}/secret/rotate", post(webhooks::rotate))
        .route("/v1/webhooks/{id}/test", post(webhooks::test))
        .route("/v1/webhooks/{id}/attempts", get(webhooks::attempts))
        .route("/v1/webhooks/{id}/recover", post(webhooks::recover))
        .route("/v1/events", post(events::publish).get(events::list))
        .route("/v1/events/{id}", get(events::get))
        .route("/v1/events/{id}/resend", post(events::resend))
        .route(
            "/v1/integrations",
            get(integrations::list).post(integrations::create),
        )
        .route(
            "/v1/integrations/{id}",
            get(integrations::get)
                .patch(integrations::update)
                .delete(integrations::delete),
        )
        .route("/v1/integrations/{id}/events", get(integrations::events))
        .route(
            "/v1/integrations/{id}/events/{event_id}",
            get(integrations::event),
        )
        .route(
            "/v1/integrations/{id}/events/{event_id}/replay",
            post(integrations::replay),
        )
        .route("/v1/audit", get(audit::list))
        .route("/v1/actions", get(actions::list).post(actions::create))
        .route(
            "/v1/actions/{id}",
            get(actions::get)
                .patch(actions::update)
                .delete(actions::delete),
        )
        .route("/v1/actions/{id}/attempts", get(actions::attempts))
        .route("/v1/providers", get(connections::providers))
        .route(
            "/v1/connections",
            get(connections::list).post(connections::create),
        )
        .route(
            "/v1/connections/{id}",
            get(connections::get)
                .patch(connections::update)
                .delete(connections::revoke),
        )
        .route("/v1/usage", get(usage::get))
        .route("/v1/whoami", get(whoami::get))
        .route("/console", get(console::index))
        .route("/console/", get(console::index))
        .route("/console/assets/{file}", get(console::asset))
        .layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT))
}

fn intake_routes() -> Router<AppState> {
    Router::new()
        .route("/hooks/{integration_id}", post(intake::receive))
        .layer(DefaultBodyLimit::max(INTAKE_BODY_LIMIT))
}

/// The layers every request passes, outermost last: a client's `x-request-id` is kept only if
/// acceptable (else a ULID is made), the request is traced under it, and it is echoed back.
fn finish(routes: Router<AppState>, app: AppState) -> Router {
    routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            Problem::internal().into_response()
        }))
        .layer(PropagateRequestIdLayer::new(request_id::HEADER.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(SetRequestIdLayer::new(
            request_id::HEADER.clone(),
            request_id::UlidRequestId,
        ))
        .layer(MapRequestLayer::new(request_id::drop_unacceptable))
}

async fn not_found() -> Response {
    Problem::new(ProblemKind::NotFound, "no such route").into_response()
}

async fn method_not_allowed() -> Response {
    Problem::new(
        ProblemKind::MethodNotAllowed,
        "this route does not accept that method",
    )
    .into_response()
}

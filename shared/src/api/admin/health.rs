//! `GET /health` and `GET /v1/openapi.json`.

use crate::api::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// Liveness and which adapters this process runs on.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
    /// `sqlite` or `dynamodb`.
    pub store: &'static str,
    /// `sqlite` or `sqs`.
    pub queue: &'static str,
    /// `local` or `kms`.
    pub keys: &'static str,
}

#[utoipa::path(get, path = "/health", tag = "meta",
    responses((status = 200, description = "Alive", body = Health)))]
pub async fn health(State(app): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        store: app.store.kind(),
        queue: app.queue.kind(),
        keys: app.keys.kind(),
    })
}

#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "This API's OpenAPI 3.1 document")))]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::api::openapi::CHECKED_IN,
    )
}

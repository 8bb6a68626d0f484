//! The public inbound intake (`POST /hooks/{integration_id}`, the intake Lambda). Integrations
//! arrive with the inbound-webhooks capability; until one exists every id answers 404, after the
//! same id and body checks the full pipeline will make.

use super::AppState;
use super::problem::Problem;
use crate::metrics::IntakeOutcome;
use crate::model::IntegrationId;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

#[utoipa::path(post, path = "/hooks/{integration_id}", tag = "intake",
    params(("integration_id" = IntegrationId, Path)),
    responses((status = 202, description = "Accepted"), (status = 401, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 503, body = Problem)))]
pub async fn receive(
    State(app): State<AppState>,
    Path(integration_id): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode, Problem> {
    let answer = answer(&integration_id, body);
    app.metrics.intake(if answer.is_ok() {
        IntakeOutcome::Accepted
    } else {
        IntakeOutcome::Rejected
    });
    answer
}

fn answer(
    integration_id: &str,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<StatusCode, Problem> {
    let not_found = || Problem::not_found("integration");
    let _id: IntegrationId = integration_id.parse().map_err(|_| not_found())?;
    if let Err(rejection) = body
        && rejection.status() == StatusCode::PAYLOAD_TOO_LARGE
    {
        return Err(Problem::payload_too_large(
            "webhook bodies are limited to 1 MiB",
        ));
    }
    Err(not_found())
}

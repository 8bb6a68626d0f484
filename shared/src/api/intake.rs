//! The public inbound intake (`POST /hooks/{integration_id}`, the intake Lambda): the HTTP face
//! of [`crate::inbound::intake`]. Answers as the contract says: 202 `{id}` accepted, 200
//! `{id, duplicate: true}` for a delivery seen before, 200 with the provider's handshake
//! answer, 404 unknown or inactive, 401 (saying only "signature verification failed"), 413,
//! 503 with `Retry-After`.

use super::AppState;
use super::dto::integrations::IntakeAccepted;
use super::problem::{Problem, ProblemKind};
use crate::inbound::intake::{self, IntakeAnswer, IntakeError, IntakeRequest};
use crate::metrics::IntakeOutcome;
use crate::model::IntegrationId;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

#[utoipa::path(post, path = "/hooks/{integration_id}", tag = "intake",
    params(("integration_id" = IntegrationId, Path)),
    request_body(content = String, description = "The provider's webhook, verified byte for byte", content_type = "*/*"),
    responses((status = 202, body = IntakeAccepted, description = "Verified, stored and queued"),
              (status = 200, body = IntakeAccepted, description = "A duplicate delivery (`duplicate: true`), or the provider's handshake answer (Slack `url_verification`, Discord PING)"),
              (status = 401, body = Problem, description = "Missing or wrong signature, or a timestamp outside tolerance"),
              (status = 404, body = Problem, description = "Unknown or inactive integration"),
              (status = 413, body = Problem, description = "The body is over 1 MiB"),
              (status = 503, body = Problem, description = "Storage or queue down: retry after `Retry-After`")))]
pub async fn receive(
    State(app): State<AppState>,
    Path(integration_id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let answer = answer(&app, &integration_id, &method, &uri, &headers, body).await;
    app.metrics.intake(match &answer {
        Ok(_) => IntakeOutcome::Accepted,
        Err(_) => IntakeOutcome::Rejected,
    });
    match answer {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn answer(
    app: &AppState,
    integration_id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found("integration");
    let id: IntegrationId = integration_id.parse().map_err(|_| not_found())?;
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(Problem::payload_too_large(
                "webhook bodies are limited to 1 MiB",
            ));
        }
        Err(_) => {
            return Err(Problem::bad_request(
                "body",
                "the request body could not be read",
            ));
        }
    };
    let request = IntakeRequest {
        method,
        query: uri.query(),
        headers,
        body: &body,
    };
    match intake::receive(&app.inbound, id, request).await {
        Ok(IntakeAnswer::Accepted(id)) => Ok((
            StatusCode::ACCEPTED,
            Json(IntakeAccepted {
                id,
                duplicate: false,
            }),
        )
            .into_response()),
        Ok(IntakeAnswer::Duplicate(id)) => Ok((
            StatusCode::OK,
            Json(IntakeAccepted {
                id,
                duplicate: true,
            }),
        )
            .into_response()),
        Ok(IntakeAnswer::Reply(reply)) => Ok((
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(reply.content_type),
            )],
            reply.body,
        )
            .into_response()),
        Err(IntakeError::NotFound) => Err(not_found()),
        Err(IntakeError::Unauthorized) => Err(Problem::new(
            ProblemKind::Unauthorized,
            "signature verification failed",
        )),
        Err(IntakeError::Unavailable(cause)) => {
            tracing::warn!(%cause, "intake dependency unavailable");
            Err(Problem::unavailable())
        }
        Err(IntakeError::Internal(cause)) => {
            tracing::error!(%cause, "intake internal error");
            Err(Problem::internal())
        }
    }
}

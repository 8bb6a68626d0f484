//! RFC 9457 problem details: every error the API returns has this shape.

use crate::auth::AuthError;
use crate::error::{DomainError, FieldError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields that were wrong, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://switchboard.dev/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("`{field}`: {message}"),
        )
        .with_errors(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} not found"),
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn unavailable() -> Self {
        let mut p = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "a dependency is unavailable; retry shortly",
        );
        p.retry_after = Some(1);
        p
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let mut response = (status, axum::Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(what) => Problem::not_found(what),
            DomainError::Conflict(detail) => Problem::new(StatusCode::CONFLICT, "conflict", detail),
            DomainError::Invalid(errors) => {
                let detail = errors
                    .iter()
                    .map(|e| format!("`{}`: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", detail)
                    .with_errors(errors)
            }
            DomainError::Unavailable(cause) => {
                tracing::warn!(%cause, "dependency unavailable");
                Problem::unavailable()
            }
            DomainError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Problem::internal()
            }
        }
    }
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unavailable(cause) => {
                tracing::warn!(%cause, "key store unavailable");
                Problem::unavailable()
            }
            other => {
                let mut p =
                    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", other.to_string());
                p.title = "Unauthorized".into();
                p
            }
        }
    }
}

//! RFC 9457 problem details: every error the API returns has this shape, and every kind of
//! problem is one variant of [`ProblemKind`] (its status, slug and title in one place).

use crate::auth::AuthError;
use crate::error::{DomainError, FieldError};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The catalogue of problems this API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// A query or path parameter is malformed.
    BadRequest,
    /// The body is not JSON.
    MalformedJson,
    /// No key, or a key that does not work (missing, malformed, unknown, revoked, …).
    Unauthorized,
    /// The key lacks the scope, or is the root key on a tenant route.
    Forbidden,
    /// No such resource in the caller's tenant, or no such route.
    NotFound,
    MethodNotAllowed,
    /// The request clashes with the current state (idempotency, concurrent change).
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Well-formed but unacceptable values; `errors[]` names each field.
    Validation,
    /// A dependency is down; retry after `Retry-After`.
    Unavailable,
    /// A bug; the cause is logged, never returned.
    Internal,
    /// The request (its body and its handling) took longer than `serve`'s request timeout.
    RequestTimeout,
    /// The request line is over `serve`'s limit (answered before routing).
    UriTooLong,
    /// The request headers are over `serve`'s limits (answered before routing).
    HeaderFieldsTooLarge,
}

impl ProblemKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::MalformedJson => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::HeaderFieldsTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }

    /// The last segment of the problem's `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::MalformedJson => "malformed-json",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Validation => "validation",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::RequestTimeout => "request-timeout",
            Self::UriTooLong => "uri-too-long",
            Self::HeaderFieldsTooLarge => "request-header-fields-too-large",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Unauthorized => "Unauthorized",
            other => other.status().canonical_reason().unwrap_or("Error"),
        }
    }
}

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields that were wrong, for validation and bad-request problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<super::schema::FieldErrorSchema>)]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://switchboard.dev/problems/{}", kind.slug()),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: match kind {
                ProblemKind::Unavailable => Some(1),
                _ => None,
            },
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// A malformed query or path parameter, named.
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ProblemKind::BadRequest, format!("`{field}`: {message}"))
            .with_errors(vec![FieldError::new(field, message)])
    }

    /// Values that do not pass validation, each named.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| format!("`{}`: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(ProblemKind::Validation, detail).with_errors(errors)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ProblemKind::NotFound, format!("{what} not found"))
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::PayloadTooLarge, detail)
    }

    pub fn unavailable() -> Self {
        Self::new(
            ProblemKind::Unavailable,
            "a dependency is unavailable; retry shortly",
        )
    }

    pub fn internal() -> Self {
        Self::new(ProblemKind::Internal, "internal error; it has been logged")
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
            DomainError::Forbidden(detail) => Problem::forbidden(detail),
            DomainError::Conflict(detail) => Problem::new(ProblemKind::Conflict, detail),
            DomainError::Invalid(errors) => Problem::validation(errors),
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
            other => Problem::new(ProblemKind::Unauthorized, other.to_string()),
        }
    }
}

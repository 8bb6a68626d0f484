//! The domain error every service function returns; the API renders it as problem+json.

use crate::crypto::CryptoError;
use crate::queue::QueueError;
use crate::store::StoreError;
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's path in the request (`scopes[1]`, `expires_at`, `limit`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The resource does not exist in the caller's tenant (or at all: callers cannot tell).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request clashes with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but its values are not acceptable.
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    /// A dependency (store, queue, key provider) is down: retry later.
    #[error("dependency unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupt data. The message is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed | StoreError::Conflict => {
                Self::Conflict("the resource was changed concurrently; retry".into())
            }
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Invalid(m) | StoreError::Corrupt(m) => Self::Internal(m),
        }
    }
}

impl From<QueueError> for DomainError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Unavailable(m) => Self::Unavailable(m),
            QueueError::Invalid(m) => Self::Internal(m),
        }
    }
}

impl From<CryptoError> for DomainError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::Unavailable(m) => Self::Unavailable(m),
            other => Self::Internal(other.to_string()),
        }
    }
}

//! The domain error every service function returns; the API renders it as problem+json.

use crate::crypto::CryptoError;
use crate::queue::QueueError;
use crate::store::StoreError;
use serde::Serialize;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Collects the field errors of a request so that one answer names every bad field.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// The value when `result` is valid; otherwise records its error and gives `None`.
    pub fn take<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// Records an error found outside a parse function.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// `Ok` when nothing was recorded, else every recorded error as one [`DomainError::Invalid`].
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}

/// What a domain operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The resource does not exist in the caller's tenant (or at all: callers cannot tell).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller may not do this to the resource, whatever its scopes say (granting a scope
    /// it lacks, rolling a key more powerful than itself).
    #[error("{0}")]
    Forbidden(String),
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

impl crate::store::versioned::VersionedError for DomainError {
    fn not_found(what: &'static str) -> Self {
        Self::NotFound(what)
    }
    fn contended(what: &'static str) -> Self {
        Self::Conflict(format!("the {what} kept changing concurrently; retry"))
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

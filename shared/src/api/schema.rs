//! OpenAPI schemas for the domain types that appear on the wire (ids, scopes, statuses). The
//! domain does not depend on `utoipa`: the API layer describes its types here.

use crate::audit::{Action, ActorType, Outcome, TargetType};
use crate::model::action::ActionKind;
use crate::model::api_key::ApiKeyStatus;
use crate::model::inbound_event::InboundStatus;
use crate::model::message::{AttemptStatus, DeliveryStatus, ErrorCode};
use crate::model::{
    ActionId, AttemptId, AuditId, ConnectionId, EndpointId, InboundEventId, IntegrationId, KeyId,
    MessageId, Scope, TenantId,
};
use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A string schema listing the serde names of `values`.
fn string_enum<T: Serialize>(values: &[T]) -> RefOr<Schema> {
    let names = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect::<Vec<_>>();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .into()
}

macro_rules! enum_schema {
    ($($ty:ty),* $(,)?) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string_enum(&<$ty>::ALL)
            }
        }
        impl ToSchema for $ty {}
    )*};
}

enum_schema!(
    Scope,
    ActionKind,
    ApiKeyStatus,
    DeliveryStatus,
    AttemptStatus,
    ErrorCode,
    InboundStatus,
    Action,
    ActorType,
    TargetType,
    Outcome
);

macro_rules! id_schema {
    ($($ty:ty),* $(,)?) => {$(
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                let prefix = <$ty>::PREFIX;
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^{prefix}_[0-9A-HJKMNP-TV-Z]{{26}}$")))
                    .examples([serde_json::json!(format!("{prefix}_01JDQ8ZK3M4N5P6Q7R8S9T0V1W"))])
                    .into()
            }
        }
        impl ToSchema for $ty {}
    )*};
}

id_schema!(
    TenantId,
    KeyId,
    EndpointId,
    MessageId,
    AttemptId,
    IntegrationId,
    InboundEventId,
    AuditId,
    ConnectionId,
    ActionId
);

/// One invalid field of a request (the schema of [`crate::error::FieldError`]).
#[derive(ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)] // exists for its schema
pub struct FieldErrorSchema {
    /// The field's path in the request (`scopes[1]`, `expires_at`, `limit`).
    pub field: String,
    pub message: String,
}

//! The OpenAPI 3.1 document, generated from the handlers and DTOs and checked into the repo as
//! `shared/openapi.json` (a test fails when the two differ; `switchboard openapi` regenerates).

use super::admin::{api_keys, events, health, tenants, webhooks};
use super::{intake, pagination, problem};
use crate::delivery::client::ErrorCode;
use crate::error::FieldError;
use crate::model::api_key::{
    ApiKeyCreate, ApiKeyCreated, ApiKeyRoll, ApiKeyStatus, ApiKeyUpdate, ApiKeyView,
};
use crate::model::endpoint::{
    EndpointCreate, EndpointCreated, EndpointUpdate, EndpointView, SecretRotate, SecretRotated,
};
use crate::model::message::{
    Attempt, AttemptStatus, Delivery, DeliveryStatus, EndpointRecover, EventPublish, EventResend,
    EventView, Published, Requeued,
};
use crate::model::tenant::{TenantCreate, TenantCreated, TenantView};
use crate::model::{KeyId, Scope, TenantId};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "Outbound and inbound webhooks, API keys and provider credentials for multi-tenant SaaS."),
    paths(
        health::health, health::openapi,
        tenants::create, tenants::list,
        api_keys::list, api_keys::create, api_keys::get, api_keys::update, api_keys::delete,
        api_keys::revoke, api_keys::roll,
        webhooks::list, webhooks::create, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate, webhooks::test, webhooks::attempts, webhooks::recover,
        events::publish, events::get, events::resend,
        intake::receive,
    ),
    components(schemas(
        problem::Problem, FieldError, Scope, TenantId, KeyId,
        TenantCreate, TenantView, TenantCreated,
        ApiKeyCreate, ApiKeyUpdate, ApiKeyRoll, ApiKeyView, ApiKeyCreated, ApiKeyStatus,
        pagination::ListResponse<ApiKeyView>, pagination::ListResponse<TenantView>,
        health::Health,
        EndpointCreate, EndpointUpdate, EndpointView, EndpointCreated, SecretRotate, SecretRotated,
        EventPublish, Published, EventView, Delivery, DeliveryStatus, Attempt, AttemptStatus,
        EventResend, EndpointRecover, Requeued, ErrorCode,
        pagination::ListResponse<EndpointView>, pagination::ListResponse<Attempt>,
    )),
    modifiers(&Security),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("swb_…")
                    .build(),
            ),
        );
    }
}

/// The document served at `/v1/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as checked in: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

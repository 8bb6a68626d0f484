//! The OpenAPI 3.1 document, generated from the handlers and DTOs and checked into the repo as
//! `shared/openapi.json` (a test fails when the two differ; `switchboard openapi` regenerates).

use super::admin::{api_keys, health, tenants};
use super::{intake, pagination, problem};
use crate::error::FieldError;
use crate::model::api_key::{
    ApiKeyCreate, ApiKeyCreated, ApiKeyRoll, ApiKeyStatus, ApiKeyUpdate, ApiKeyView,
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
        intake::receive,
    ),
    components(schemas(
        problem::Problem, FieldError, Scope, TenantId, KeyId,
        TenantCreate, TenantView, TenantCreated,
        ApiKeyCreate, ApiKeyUpdate, ApiKeyRoll, ApiKeyView, ApiKeyCreated, ApiKeyStatus,
        pagination::ListResponse<ApiKeyView>, pagination::ListResponse<TenantView>,
        health::Health,
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

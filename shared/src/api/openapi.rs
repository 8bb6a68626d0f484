//! The OpenAPI 3.1 document, generated from the handlers and DTOs and checked into the repo as
//! `shared/openapi.json` (a test fails when the two differ; `switchboard openapi` regenerates).

use super::admin::{
    actions, api_keys, audit, connections, events, health, integrations, tenants, usage, webhooks,
    whoami,
};
use super::dto::actions::{ActionAttemptView, ActionCreate, ActionUpdate, ActionView};
use super::dto::api_keys::{ApiKeyCreate, ApiKeyCreated, ApiKeyRoll, ApiKeyUpdate, ApiKeyView};
use super::dto::audit::{ActorView, AuditEntryView, FieldChangeView, TargetView};
use super::dto::connections::{
    ConnectionCreate, ConnectionStatusSchema, ConnectionUpdate, ConnectionView, FieldFormat,
    ProviderFieldView, ProviderId, ProviderList, ProviderView,
};
use super::dto::events::{
    ActionDeliveryView, DeliveryFields, DeliveryView, EventPublish, EventResend, EventView,
    PublishedView,
};
use super::dto::integrations::{
    BodyEncodingView, InboundEventSummary, InboundEventView, IntakeAccepted, IntegrationCreate,
    IntegrationUpdate, IntegrationView, ProviderType, RouteInput, RouteView, StatusChangeView,
};
use super::dto::tenants::{TenantCreate, TenantCreated, TenantView};
use super::dto::usage::UsageView;
use super::dto::webhooks::{
    AttemptFields, AttemptView, EndpointCreate, EndpointCreated, EndpointRecover, EndpointUpdate,
    EndpointView, Requeued, SecretRotate, SecretRotated,
};
use super::dto::whoami::{PrincipalKind, WhoAmI};
use super::{intake, pagination, problem, schema};
use crate::audit::{Action, ActorType, Outcome, TargetType};
use crate::model::action::ActionKind;
use crate::model::api_key::ApiKeyStatus;
use crate::model::inbound_event::InboundStatus;
use crate::model::message::{AttemptStatus, DeliveryStatus, ErrorCode};
use crate::model::{
    ActionId, AuditId, ConnectionId, InboundEventId, IntegrationId, KeyId, Scope, TenantId,
};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard", description = "Outbound and inbound webhooks, API keys and provider credentials for multi-tenant SaaS."),
    paths(
        health::health, health::openapi,
        tenants::create, tenants::list, tenants::recovery_key,
        api_keys::list, api_keys::create, api_keys::get, api_keys::update, api_keys::delete,
        api_keys::revoke, api_keys::roll,
        webhooks::list, webhooks::create, webhooks::get, webhooks::update, webhooks::delete,
        webhooks::rotate, webhooks::test, webhooks::attempts, webhooks::recover,
        events::publish, events::list, events::get, events::resend,
        integrations::list, integrations::create, integrations::get, integrations::update,
        integrations::delete, integrations::events, integrations::event, integrations::replay,
        connections::providers, connections::list, connections::create, connections::get,
        connections::update, connections::revoke,
        actions::list, actions::create, actions::get, actions::update, actions::delete,
        actions::attempts,
        intake::receive,
        audit::list,
        usage::get,
        whoami::get,
    ),
    components(schemas(
        problem::Problem, schema::FieldErrorSchema, Scope, TenantId, KeyId, IntegrationId,
        TenantCreate, TenantView, TenantCreated,
        ApiKeyCreate, ApiKeyUpdate, ApiKeyRoll, ApiKeyView, ApiKeyCreated, ApiKeyStatus,
        pagination::ListResponse<ApiKeyView>, pagination::ListResponse<TenantView>,
        health::Health,
        EndpointCreate, EndpointUpdate, EndpointView, EndpointCreated, SecretRotate, SecretRotated,
        EventPublish, PublishedView, EventView, DeliveryView, DeliveryStatus, AttemptView,
        AttemptFields, ActionAttemptView, pagination::ListResponse<ActionAttemptView>,
        AttemptStatus, EventResend, EndpointRecover, Requeued, ErrorCode,
        pagination::ListResponse<EndpointView>, pagination::ListResponse<AttemptView>,
        pagination::ListResponse<EventView>,
        ProviderType, RouteInput, RouteView, IntegrationCreate, IntegrationUpdate, IntegrationView,
        InboundEventId, InboundStatus, InboundEventSummary, InboundEventView, StatusChangeView,
        BodyEncodingView, IntakeAccepted,
        pagination::ListResponse<IntegrationView>, pagination::ListResponse<InboundEventSummary>,
        AuditId, Action, ActorType, TargetType, Outcome, ActorView, TargetView, FieldChangeView,
        AuditEntryView, pagination::ListResponse<AuditEntryView>,
        ConnectionId, ProviderId, ProviderList, ProviderView, ProviderFieldView, FieldFormat,
        ConnectionCreate, ConnectionUpdate, ConnectionView, ConnectionStatusSchema,
        pagination::ListResponse<ConnectionView>,
        ActionId, ActionKind, ActionCreate, ActionUpdate, ActionView, ActionDeliveryView,
        DeliveryFields,
        pagination::ListResponse<ActionView>,
        UsageView,
        WhoAmI, PrincipalKind,
    )),
    modifiers(&Security, &ProblemResponses),
)]
struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("swb_…")
                    .description(Some("`Authorization: Bearer <key>`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "x-api-key",
                "the same key in an `x-api-key` header",
            ))),
        );
    }
}

/// Every operation answers errors as `application/problem+json`: documents the statuses any
/// request can meet (bad input, auth, scope, conflict, size, media type, validation, a down
/// dependency) on every operation, and moves those the handlers list to that content type,
/// keeping a description a handler gives (what that status means for that operation).
struct ProblemResponses;

/// The error statuses every operation documents.
const PROBLEM_STATUSES: [&str; 9] = [
    "400", "401", "403", "404", "409", "413", "415", "422", "503",
];

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut op.responses.responses;
                for status in PROBLEM_STATUSES {
                    let description = match responses.get(status) {
                        Some(RefOr::T(r)) if !r.description.is_empty() => r.description.clone(),
                        _ => "A problem (RFC 9457)".to_owned(),
                    };
                    responses.insert(status.to_owned(), problem(&description));
                }
                if let Some(body) = &mut op.request_body {
                    optional_not_null(body);
                    if all_fields_optional(body, openapi.components.as_ref()) {
                        body.required = Some(utoipa::openapi::Required::False);
                    }
                }
            }
        }
    }
}

/// An `Option<T>` request body means the body may be left out, not that it may be JSON `null`
/// (the server refuses `null` like any non-object body): the schema becomes `T` itself, and the
/// body stays not required.
fn optional_not_null(body: &mut utoipa::openapi::request_body::RequestBody) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
    for content in body.content.values_mut() {
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
            && one_of.items.len() == 2
            && one_of.items.iter().any(is_null)
            && let Some(inner) = one_of.items.iter().find(|s| !is_null(s))
        {
            content.schema = Some(inner.clone());
        }
    }
}

/// Whether the body's object schema requires no field: the server reads a missing body as `{}`,
/// so such a body may be left out altogether.
fn all_fields_optional(
    body: &utoipa::openapi::request_body::RequestBody,
    components: Option<&utoipa::openapi::Components>,
) -> bool {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    body.content.values().all(|content| {
        let schema = match &content.schema {
            Some(RefOr::Ref(r)) => r
                .ref_location
                .rsplit('/')
                .next()
                .and_then(|name| components?.schemas.get(name)),
            other => other.as_ref(),
        };
        matches!(schema, Some(RefOr::T(Schema::Object(o))) if o.required.is_empty())
    })
}

/// The document served at `/v1/openapi.json`: the checked-in file, embedded. The suite fails
/// when it differs from what [`document`] builds from the handlers, so serving it is serving the
/// truth, and the functions do not link the code that builds it (utoipa's schema builders
/// were megabytes of the admin Lambda).
pub const CHECKED_IN: &str = include_str!("../../openapi.json");

/// The document as the handlers and types describe it.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as checked in: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    // The document is built from static types: serialising it cannot fail at run time.
    let mut text = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

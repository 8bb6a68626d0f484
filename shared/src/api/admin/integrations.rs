//! `/v1/integrations`: inbound integrations of the caller's tenant and the webhooks they
//! received (`integrations:read` / `integrations:write`).

use crate::api::AppState;
use crate::api::dto::integrations::{
    InboundEventSummary, InboundEventView, InboundEventsQuery, IntegrationCreate,
    IntegrationUpdate, IntegrationView,
};
use crate::api::dto::webhooks::Requeued;
use crate::api::extract::{Caller, JsonBody, QueryParams, path_id};
use crate::api::pagination::{self, ListResponse, PageQuery};
use crate::api::problem::Problem;
use crate::error::DomainError;
use crate::inbound::{events, integrations, processing};
use crate::model::{InboundEventId, IntegrationId, Scope};
use crate::outbound::messages;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

const LIST: &str = "integrations";
const EVENTS: &str = "inbound_events";

fn view(
    app: &AppState,
    i: &crate::model::integration::Integration,
    rejected: Option<u64>,
) -> IntegrationView {
    IntegrationView::new(i, app.inbound.hook_url(i.id), rejected)
}

#[utoipa::path(get, path = "/v1/integrations", tag = "integrations",
    security(("bearer" = []), ("api_key" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<IntegrationView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<ListResponse<IntegrationView>>, Problem> {
    let tenant = caller.require(Scope::IntegrationsRead)?.tenant_id;
    let owner = tenant.to_string();
    let params = query.resolve(&owner, LIST, integrations::CURSOR_PREFIX)?;
    let (found, last) =
        integrations::list(app.store.as_ref(), tenant, params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: found.iter().map(|i| view(&app, i, None)).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(post, path = "/v1/integrations", tag = "integrations",
    request_body = IntegrationCreate, security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = IntegrationView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem,
               description = "A field is invalid: an unknown `type` (the known ones listed), a `config` the provider refuses, a `mapping` expression that does not compile, a `route.event_type` that is not a valid template"),
              (status = 503, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<IntegrationCreate>,
) -> Result<(StatusCode, Json<IntegrationView>), Problem> {
    let tenant = caller.require(Scope::IntegrationsWrite)?.tenant_id;
    let settings = body.parse()?;
    let integration = integrations::create(&app.inbound, tenant, settings, &caller.audit).await?;
    tracing::info!(%tenant, integration_id = %integration.id, provider = %integration.provider,
        "integration created");
    Ok((StatusCode::CREATED, Json(view(&app, &integration, Some(0)))))
}

#[utoipa::path(get, path = "/v1/integrations/{id}", tag = "integrations",
    security(("bearer" = []), ("api_key" = [])), params(("id" = IntegrationId, Path)),
    responses((status = 200, body = IntegrationView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IntegrationView>, Problem> {
    let tenant = caller.require(Scope::IntegrationsRead)?.tenant_id;
    let id: IntegrationId = path_id("id", &id)?;
    let integration = integrations::get(app.store.as_ref(), tenant, id).await?;
    let rejected = integrations::rejected_count(app.store.as_ref(), id).await?;
    Ok(Json(view(&app, &integration, Some(rejected))))
}

#[utoipa::path(patch, path = "/v1/integrations/{id}", tag = "integrations",
    request_body = IntegrationUpdate, security(("bearer" = []), ("api_key" = [])),
    params(("id" = IntegrationId, Path)),
    responses((status = 200, body = IntegrationView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<IntegrationUpdate>,
) -> Result<Json<IntegrationView>, Problem> {
    let tenant = caller.require(Scope::IntegrationsWrite)?.tenant_id;
    let id: IntegrationId = path_id("id", &id)?;
    let change = body.parse()?;
    let integration =
        integrations::update(&app.inbound, tenant, id, &change, &caller.audit).await?;
    let rejected = integrations::rejected_count(app.store.as_ref(), id).await?;
    Ok(Json(view(&app, &integration, Some(rejected))))
}

#[utoipa::path(delete, path = "/v1/integrations/{id}", tag = "integrations",
    security(("bearer" = []), ("api_key" = [])), params(("id" = IntegrationId, Path)),
    responses((status = 204, description = "Deleted: the hook URL answers 404"),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.require(Scope::IntegrationsWrite)?.tenant_id;
    let id: IntegrationId = path_id("id", &id)?;
    integrations::delete(&app.inbound, tenant, id, &caller.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/integrations/{id}/events", tag = "integrations",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = IntegrationId, Path), InboundEventsQuery),
    responses((status = 200, body = ListResponse<InboundEventSummary>),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 503, body = Problem)))]
pub async fn events(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<InboundEventsQuery>,
) -> Result<Json<ListResponse<InboundEventSummary>>, Problem> {
    let tenant = caller.require(Scope::IntegrationsRead)?.tenant_id;
    let id: IntegrationId = path_id("id", &id)?;
    // The cursor is bound to the status filter too.
    let owner = format!("{tenant}/{id}/{:?}", query.status);
    let params = pagination::parse(
        query.limit,
        query.cursor.as_deref(),
        &owner,
        EVENTS,
        events::CURSOR_PREFIX,
    )?;
    integrations::get(app.store.as_ref(), tenant, id).await?;
    let (found, last) = events::list(
        app.store.as_ref(),
        id,
        query.status,
        params.limit,
        params.after,
    )
    .await?;
    Ok(Json(ListResponse {
        data: found.iter().map(InboundEventSummary::from).collect(),
        next_cursor: pagination::cursor(&owner, EVENTS, last),
    }))
}

#[utoipa::path(get, path = "/v1/integrations/{id}/events/{event_id}", tag = "integrations",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = IntegrationId, Path), ("event_id" = InboundEventId, Path)),
    responses((status = 200, body = InboundEventView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn event(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<Json<InboundEventView>, Problem> {
    let tenant = caller.require(Scope::IntegrationsRead)?.tenant_id;
    let id: IntegrationId = path_id("id", &id)?;
    let event_id: InboundEventId = path_id("event_id", &event_id)?;
    integrations::get(app.store.as_ref(), tenant, id).await?;
    let (event, body) = events::load(app.store.as_ref(), tenant, id, event_id)
        .await?
        .ok_or(DomainError::NotFound("inbound event"))?;
    let produced_type = match event.produced_event_id {
        Some(m) => messages::get_message(app.store.as_ref(), tenant, m)
            .await?
            .map(|m| m.event_type),
        None => None,
    };
    Ok(Json(InboundEventView::new(&event, &body, produced_type)))
}

#[utoipa::path(post, path = "/v1/integrations/{id}/events/{event_id}/replay", tag = "integrations",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = IntegrationId, Path), ("event_id" = InboundEventId, Path)),
    responses((status = 202, body = Requeued, description = "Queued for processing again (a new run: it may publish a new event)"),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn replay(
    State(app): State<AppState>,
    caller: Caller,
    Path((id, event_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Requeued>), Problem> {
    let tenant = caller.require(Scope::IntegrationsWrite)?.tenant_id;
    let id: IntegrationId = path_id("id", &id)?;
    let event_id: InboundEventId = path_id("event_id", &event_id)?;
    integrations::get(app.store.as_ref(), tenant, id).await?;
    let (event, _) = events::load(app.store.as_ref(), tenant, id, event_id)
        .await?
        .ok_or(DomainError::NotFound("inbound event"))?;
    processing::replay(&app.inbound, &event, &caller.audit).await?;
    Ok((StatusCode::ACCEPTED, Json(Requeued { queued: 1 })))
}

//! `/v1/webhooks`: outbound endpoints of the caller's tenant (`webhooks:read` / `webhooks:write`).

use super::attempt_log;
use crate::api::AppState;
use crate::api::dto::webhooks::{
    AttemptView, AttemptsQuery, EndpointCreate, EndpointCreated, EndpointRecover, EndpointUpdate,
    EndpointView, Requeued, SecretRotate, SecretRotated, TestQuery,
};
use crate::api::extract::{Caller, JsonBody, QueryParams, path_id};
use crate::api::pagination::{self, ListResponse, PageQuery};
use crate::api::problem::Problem;
use crate::model::endpoint::rotation_grace;
use crate::model::{Destination, EndpointId, Scope};
use crate::outbound::{endpoints, recover};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;

const LIST: &str = "webhooks";

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<EndpointView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<ListResponse<EndpointView>>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let owner = tenant.to_string();
    let params = query.resolve(&owner, LIST, endpoints::SK_PREFIX)?;
    let (found, last) =
        endpoints::list(app.store.as_ref(), tenant, params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: found.iter().map(EndpointView::from).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = EndpointCreate,
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = EndpointCreated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 409, body = Problem,
               description = "The tenant already has the most destinations (webhook endpoints and actions together) allowed (`SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT`, default 1,000)"),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EndpointCreate>,
) -> Result<(StatusCode, Json<EndpointCreated>), Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let settings = body.parse(app.delivery.policy())?;
    let (endpoint, secret) =
        endpoints::create(&app.outbound, tenant, settings, &caller.audit).await?;
    tracing::info!(%tenant, endpoint_id = %endpoint.id, "webhook endpoint created");
    Ok((
        StatusCode::CREATED,
        Json(EndpointCreated::new(&endpoint, &secret)),
    ))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])), params(("id" = EndpointId, Path)),
    responses((status = 200, body = EndpointView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let endpoint = endpoints::get(app.store.as_ref(), tenant, id).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = EndpointUpdate,
    security(("bearer" = []), ("api_key" = [])), params(("id" = EndpointId, Path)),
    responses((status = 200, body = EndpointView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EndpointUpdate>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let change = body.parse(app.delivery.policy())?;
    let endpoint = endpoints::update(&app.outbound, tenant, id, &change, &caller.audit).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])), params(("id" = EndpointId, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 503, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    endpoints::delete(&app.outbound, tenant, id, &caller.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/secret/rotate", tag = "webhooks",
    request_body = SecretRotate, security(("bearer" = []), ("api_key" = [])),
    params(("id" = EndpointId, Path)),
    responses((status = 200, body = SecretRotated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn rotate(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SecretRotate>,
) -> Result<Json<SecretRotated>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let grace = rotation_grace(body.grace_seconds)?;
    let (secret, previous_expires_at) =
        endpoints::rotate(&app.outbound, tenant, id, grace, &caller.audit).await?;
    Ok(Json(SecretRotated {
        secret: secret.expose_secret().to_owned(),
        previous_expires_at,
    }))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])), params(("id" = EndpointId, Path), TestQuery),
    responses((status = 200, body = AttemptView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, body = Problem,
               description = "The endpoint is disabled: enable it, or send `force=true` to test it anyway"),
              (status = 503, body = Problem)))]
pub async fn test(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<TestQuery>,
) -> Result<Json<AttemptView>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let endpoint = endpoints::get(app.store.as_ref(), tenant, id).await?;
    endpoints::ensure_testable(&endpoint, query.force.unwrap_or(false))?;
    let attempt = app.delivery.send_test(tenant, id, &caller.audit).await?;
    Ok(Json(AttemptView::new(id, attempt)))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/attempts", tag = "webhooks",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = EndpointId, Path), AttemptsQuery),
    responses((status = 200, body = ListResponse<AttemptView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn attempts(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<AttemptsQuery>,
) -> Result<Json<ListResponse<AttemptView>>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    endpoints::get(app.store.as_ref(), tenant, id).await?;
    let (found, next_cursor) =
        attempt_log::page(app.store.as_ref(), tenant, Destination::Webhook(id), query).await?;
    Ok(Json(ListResponse {
        data: found.into_iter().map(|a| AttemptView::new(id, a)).collect(),
        next_cursor,
    }))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/recover", tag = "webhooks",
    request_body = EndpointRecover, security(("bearer" = []), ("api_key" = [])),
    params(("id" = EndpointId, Path)),
    responses((status = 202, body = Requeued), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
pub async fn recover(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EndpointRecover>,
) -> Result<(StatusCode, Json<Requeued>), Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    recover::request(&app.outbound, tenant, id, body.since, &caller.audit).await?;
    // Recovery runs in the background; `queued` counts the recovery job itself.
    Ok((StatusCode::ACCEPTED, Json(Requeued { queued: 1 })))
}

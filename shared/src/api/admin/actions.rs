//! `/v1/actions`: connection-backed destinations of the caller's tenant (`webhooks:read` /
//! `webhooks:write`, like the endpoints they sit beside). No answer holds a secret: an action
//! names its connection, whose credentials stay sealed.

use super::attempt_log;
use crate::api::AppState;
use crate::api::dto::actions::{ActionAttemptView, ActionCreate, ActionUpdate, ActionView};
use crate::api::dto::webhooks::AttemptsQuery;
use crate::api::extract::{Caller, JsonBody, QueryParams, path_id};
use crate::api::pagination::{self, ListResponse, PageQuery};
use crate::api::problem::Problem;
use crate::model::destination::Destination;
use crate::model::{ActionId, Scope};
use crate::outbound::actions;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

const LIST: &str = "actions";

#[utoipa::path(get, path = "/v1/actions", tag = "actions",
    security(("bearer" = []), ("api_key" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<ActionView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<ListResponse<ActionView>>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let owner = tenant.to_string();
    let params = query.resolve(&owner, LIST, actions::SK_PREFIX)?;
    let (found, last) =
        actions::list(app.store.as_ref(), tenant, params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: found.iter().map(ActionView::from).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(post, path = "/v1/actions", tag = "actions", request_body = ActionCreate,
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = ActionView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem, description = "The connection is not the tenant's"),
              (status = 409, body = Problem,
               description = "The tenant already has the most destinations (webhook endpoints and actions together) allowed (`SWITCHBOARD_MAX_ENDPOINTS_PER_TENANT`, default 1,000), or the connection is revoked"),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ActionCreate>,
) -> Result<(StatusCode, Json<ActionView>), Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let settings = body.parse()?;
    let action = actions::create(&app.outbound, tenant, settings, &caller.audit).await?;
    tracing::info!(%tenant, action_id = %action.id, kind = action.kind.as_str(), "action created");
    Ok((StatusCode::CREATED, Json(ActionView::from(&action))))
}

#[utoipa::path(get, path = "/v1/actions/{id}", tag = "actions",
    security(("bearer" = []), ("api_key" = [])), params(("id" = ActionId, Path)),
    responses((status = 200, body = ActionView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ActionView>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let id: ActionId = path_id("id", &id)?;
    let action = actions::get(app.store.as_ref(), tenant, id).await?;
    Ok(Json(ActionView::from(&action)))
}

#[utoipa::path(patch, path = "/v1/actions/{id}", tag = "actions", request_body = ActionUpdate,
    security(("bearer" = []), ("api_key" = [])), params(("id" = ActionId, Path)),
    responses((status = 200, body = ActionView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActionUpdate>,
) -> Result<Json<ActionView>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: ActionId = path_id("id", &id)?;
    let change = body.parse()?;
    let action = actions::update(&app.outbound, tenant, id, &change, &caller.audit).await?;
    Ok(Json(ActionView::from(&action)))
}

#[utoipa::path(delete, path = "/v1/actions/{id}", tag = "actions",
    security(("bearer" = []), ("api_key" = [])), params(("id" = ActionId, Path)),
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
    let id: ActionId = path_id("id", &id)?;
    actions::delete(&app.outbound, tenant, id, &caller.audit).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/actions/{id}/attempts", tag = "actions",
    security(("bearer" = []), ("api_key" = [])),
    params(("id" = ActionId, Path), AttemptsQuery),
    responses((status = 200, body = ListResponse<ActionAttemptView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn attempts(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<AttemptsQuery>,
) -> Result<Json<ListResponse<ActionAttemptView>>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let id: ActionId = path_id("id", &id)?;
    actions::get(app.store.as_ref(), tenant, id).await?;
    let (found, next_cursor) =
        attempt_log::page(app.store.as_ref(), tenant, Destination::Action(id), query).await?;
    Ok(Json(ListResponse {
        data: found
            .into_iter()
            .map(|a| ActionAttemptView::new(id, a))
            .collect(),
        next_cursor,
    }))
}

//! `/v1/providers` and `/v1/connections`: the provider registry and the caller's stored
//! provider credentials (`connections:read` / `connections:write`). No answer here ever holds a
//! secret: views show the non-secret fields and a fingerprint.

use crate::api::AppState;
use crate::api::dto::connections::{
    ConnectionCreate, ConnectionUpdate, ConnectionView, ConnectionsQuery, ProviderList,
    ProviderView, parse_list_query,
};
use crate::api::extract::{Caller, JsonBody, path_id};
use crate::api::pagination::{self, ListResponse};
use crate::api::problem::Problem;
use crate::credentials::{connections, providers};
use crate::model::{ConnectionId, Scope};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

const LIST: &str = "connections";

#[utoipa::path(get, path = "/v1/providers", tag = "connections",
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = ProviderList), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn providers(caller: Caller) -> Result<Json<ProviderList>, Problem> {
    caller.require(Scope::ConnectionsRead)?;
    Ok(Json(ProviderList {
        data: providers::PROVIDERS
            .iter()
            .map(ProviderView::from)
            .collect(),
    }))
}

#[utoipa::path(get, path = "/v1/connections", tag = "connections",
    security(("bearer" = []), ("api_key" = [])), params(ConnectionsQuery),
    responses((status = 200, body = ListResponse<ConnectionView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<ListResponse<ConnectionView>>, Problem> {
    let tenant = caller.require(Scope::ConnectionsRead)?.tenant_id;
    let query = parse_list_query(raw.as_deref().unwrap_or(""))
        .map_err(|e| Problem::bad_request(&e.field, e.message))?;
    let owner = query.owner(tenant);
    let params = pagination::parse(
        query.limit,
        query.cursor.as_deref(),
        &owner,
        LIST,
        connections::CURSOR_PREFIX,
    )?;
    let (found, last) = connections::list(
        app.store.as_ref(),
        tenant,
        &query.filter,
        params.limit,
        params.after,
    )
    .await?;
    Ok(Json(ListResponse {
        data: found.iter().map(ConnectionView::from).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(post, path = "/v1/connections", tag = "connections",
    request_body = ConnectionCreate, security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = ConnectionView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem,
               description = "A field is invalid: an unknown `provider` (the known ones listed), `credentials.<field>` missing, unknown, not a string or refused by its check (a URL that is not https or reaches an internal address), a bad `name` or `metadata`. Nothing is stored."),
              (status = 503, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ConnectionCreate>,
) -> Result<(StatusCode, Json<ConnectionView>), Problem> {
    let tenant = caller.require(Scope::ConnectionsWrite)?.tenant_id;
    let settings = body.parse()?;
    let connection = connections::create(
        app.store.as_ref(),
        app.keys.as_ref(),
        app.delivery.policy(),
        tenant,
        settings,
        &caller.audit,
    )
    .await?;
    tracing::info!(%tenant, connection_id = %connection.id, provider = %connection.provider,
        "connection created");
    Ok((StatusCode::CREATED, Json(ConnectionView::from(&connection))))
}

#[utoipa::path(get, path = "/v1/connections/{id}", tag = "connections",
    security(("bearer" = []), ("api_key" = [])), params(("id" = ConnectionId, Path)),
    responses((status = 200, body = ConnectionView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, Problem> {
    let tenant = caller.require(Scope::ConnectionsRead)?.tenant_id;
    let id: ConnectionId = path_id("id", &id)?;
    let connection = connections::get(app.store.as_ref(), tenant, id).await?;
    Ok(Json(ConnectionView::from(&connection)))
}

#[utoipa::path(patch, path = "/v1/connections/{id}", tag = "connections",
    request_body = ConnectionUpdate, security(("bearer" = []), ("api_key" = [])),
    params(("id" = ConnectionId, Path)),
    responses((status = 200, body = ConnectionView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem),
              (status = 409, body = Problem,
               description = "The connection is revoked (it cannot change), or changed concurrently"),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ConnectionUpdate>,
) -> Result<Json<ConnectionView>, Problem> {
    let tenant = caller.require(Scope::ConnectionsWrite)?.tenant_id;
    let id: ConnectionId = path_id("id", &id)?;
    let change = body.parse()?;
    let rotated = change.credentials.is_some();
    let connection = connections::update(
        app.store.as_ref(),
        app.keys.as_ref(),
        app.delivery.policy(),
        tenant,
        id,
        change,
        &caller.audit,
    )
    .await?;
    if rotated {
        tracing::info!(%tenant, connection_id = %id, "connection credentials rotated");
    }
    Ok(Json(ConnectionView::from(&connection)))
}

#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "connections",
    security(("bearer" = []), ("api_key" = [])), params(("id" = ConnectionId, Path)),
    responses((status = 204, description = "Revoked: the ciphertext is destroyed and the record kept (`status: revoked`). Revoking a revoked connection answers 204 again."),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 404, body = Problem),
              (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.require(Scope::ConnectionsWrite)?.tenant_id;
    let id: ConnectionId = path_id("id", &id)?;
    connections::revoke(app.store.as_ref(), tenant, id, &caller.audit).await?;
    tracing::info!(%tenant, connection_id = %id, "connection revoked");
    Ok(StatusCode::NO_CONTENT)
}

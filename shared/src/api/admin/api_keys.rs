//! `/v1/api-keys`: the key lifecycle of the caller's tenant (scope `api_keys:write`). A caller
//! may create, rescope to or roll only scopes it holds itself (403 naming the scope), and the
//! tenant's last active `admin` key cannot be taken out of service (409).

use crate::api::AppState;
use crate::api::dto::api_keys::{
    ApiKeyCreate, ApiKeyCreated, ApiKeyRoll, ApiKeyUpdate, ApiKeyView,
};
use crate::api::extract::{Caller, JsonBody, QueryParams, path_id};
use crate::api::pagination::{self, ListResponse, PageQuery};
use crate::api::problem::Problem;
use crate::model::api_key::roll_grace;
use crate::model::{KeyId, Scope};
use crate::tenancy::api_keys;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

const LIST: &str = "api_keys";

#[utoipa::path(get, path = "/v1/api-keys", tag = "api_keys",
    security(("bearer" = []), ("api_key" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<ApiKeyView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<ListResponse<ApiKeyView>>, Problem> {
    let tenant = caller.require(Scope::ApiKeysWrite)?.tenant_id;
    let owner = tenant.to_string();
    let params = query.resolve(&owner, LIST, api_keys::SK_PREFIX)?;
    let (keys, last) =
        api_keys::list(app.store.as_ref(), tenant, params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: keys.iter().map(ApiKeyView::from).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(post, path = "/v1/api-keys", tag = "api_keys", request_body = ApiKeyCreate,
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = ApiKeyCreated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<ApiKeyCreate>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), Problem> {
    let (key_caller, audit) = (caller.require(Scope::ApiKeysWrite)?, &caller.audit);
    let tenant = key_caller.tenant_id;
    let new = body.parse()?;
    let (key, secret) =
        api_keys::create(app.store.as_ref(), tenant, &key_caller.scopes, new, audit).await?;
    tracing::info!(tenant_id = %tenant, key_id = %key.id, "API key created");
    Ok((StatusCode::CREATED, Json(ApiKeyCreated::new(&key, &secret))))
}

#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api_keys",
    security(("bearer" = []), ("api_key" = [])), params(("id" = KeyId, Path)),
    responses((status = 200, body = ApiKeyView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyView>, Problem> {
    let tenant = caller.require(Scope::ApiKeysWrite)?.tenant_id;
    let id: KeyId = path_id("id", &id)?;
    let key = api_keys::get(app.store.as_ref(), tenant, id).await?;
    Ok(Json(ApiKeyView::from(&key)))
}

#[utoipa::path(patch, path = "/v1/api-keys/{id}", tag = "api_keys", request_body = ApiKeyUpdate,
    security(("bearer" = []), ("api_key" = [])), params(("id" = KeyId, Path)),
    responses((status = 200, body = ApiKeyView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ApiKeyUpdate>,
) -> Result<Json<ApiKeyView>, Problem> {
    let (key_caller, audit) = (caller.require(Scope::ApiKeysWrite)?, &caller.audit);
    let tenant = key_caller.tenant_id;
    let id: KeyId = path_id("id", &id)?;
    let change = body.parse()?;
    let key = api_keys::update(
        app.store.as_ref(),
        tenant,
        id,
        &key_caller.scopes,
        &change,
        audit,
    )
    .await?;
    app.auth.evict(&key.hash);
    Ok(Json(ApiKeyView::from(&key)))
}

#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api_keys",
    security(("bearer" = []), ("api_key" = [])), params(("id" = KeyId, Path)),
    responses((status = 204, description = "Deleted"), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 503, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.require(Scope::ApiKeysWrite)?.tenant_id;
    let id: KeyId = path_id("id", &id)?;
    let key = api_keys::delete(app.store.as_ref(), tenant, id, &caller.audit).await?;
    app.auth.evict(&key.hash);
    tracing::info!(tenant_id = %tenant, key_id = %id, "API key deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/api-keys/{id}/revoke", tag = "api_keys",
    security(("bearer" = []), ("api_key" = [])), params(("id" = KeyId, Path)),
    responses((status = 200, body = ApiKeyView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 503, body = Problem)))]
pub async fn revoke(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyView>, Problem> {
    let tenant = caller.require(Scope::ApiKeysWrite)?.tenant_id;
    let id: KeyId = path_id("id", &id)?;
    let key = api_keys::revoke(app.store.as_ref(), tenant, id, &caller.audit).await?;
    app.auth.evict(&key.hash);
    tracing::info!(tenant_id = %tenant, key_id = %id, "API key revoked");
    Ok(Json(ApiKeyView::from(&key)))
}

#[utoipa::path(post, path = "/v1/api-keys/{id}/roll", tag = "api_keys", request_body = ApiKeyRoll,
    security(("bearer" = []), ("api_key" = [])), params(("id" = KeyId, Path)),
    responses((status = 201, body = ApiKeyCreated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn roll(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ApiKeyRoll>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), Problem> {
    let (key_caller, audit) = (caller.require(Scope::ApiKeysWrite)?, &caller.audit);
    let tenant = key_caller.tenant_id;
    let id: KeyId = path_id("id", &id)?;
    let grace = roll_grace(body.grace_seconds)?;
    let scopes = &key_caller.scopes;
    let (new, secret, old) =
        api_keys::roll(app.store.as_ref(), tenant, id, scopes, grace, audit).await?;
    app.auth.evict(&old.hash);
    tracing::info!(tenant_id = %tenant, old_key_id = %id, key_id = %new.id, "API key rolled");
    Ok((StatusCode::CREATED, Json(ApiKeyCreated::new(&new, &secret))))
}

//! `POST/GET /v1/tenants` and `POST /v1/tenants/{id}/recovery-key` (root key only).

use crate::api::AppState;
use crate::api::dto::api_keys::ApiKeyCreated;
use crate::api::dto::tenants::{TenantCreate, TenantCreated, TenantView};
use crate::api::extract::{JsonBody, QueryParams, RootCaller, path_id};
use crate::api::pagination::{self, ListResponse, PageQuery};
use crate::api::problem::Problem;
use crate::model::TenantId;
use crate::tenancy::tenants;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

const LIST: &str = "tenants";

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = TenantCreate,
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = TenantCreated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    root: RootCaller,
    JsonBody(body): JsonBody<TenantCreate>,
) -> Result<(StatusCode, Json<TenantCreated>), Problem> {
    let (tenant, key, secret) =
        tenants::create(app.store.as_ref(), body.parse()?, &root.audit).await?;
    tracing::info!(tenant_id = %tenant.id, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            tenant: tenant.into(),
            api_key: ApiKeyCreated::new(&key, &secret),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants",
    security(("bearer" = []), ("api_key" = [])), params(PageQuery),
    responses((status = 200, body = ListResponse<TenantView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    _root: RootCaller,
    QueryParams(query): QueryParams<PageQuery>,
) -> Result<Json<ListResponse<TenantView>>, Problem> {
    let params = query.resolve("root", LIST, "ten_")?;
    let (tenants, last) = tenants::list(app.store.as_ref(), params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: tenants.into_iter().map(TenantView::from).collect(),
        next_cursor: pagination::cursor("root", LIST, last),
    }))
}

/// A new `admin` key for a tenant that locked itself out, issued by the operator. The secret is
/// shown this once; the tenant's other keys are untouched.
#[utoipa::path(post, path = "/v1/tenants/{id}/recovery-key", tag = "tenants",
    security(("bearer" = []), ("api_key" = [])), params(("id" = TenantId, Path)),
    responses((status = 201, body = ApiKeyCreated), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn recovery_key(
    State(app): State<AppState>,
    root: RootCaller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), Problem> {
    let id: TenantId = path_id("id", &id)?;
    let (key, secret) = tenants::recovery_key(app.store.as_ref(), id, &root.audit).await?;
    tracing::warn!(tenant_id = %id, key_id = %key.id, "recovery admin key issued with the root key");
    Ok((StatusCode::CREATED, Json(ApiKeyCreated::new(&key, &secret))))
}

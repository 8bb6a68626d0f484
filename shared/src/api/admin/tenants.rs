//! `POST/GET /v1/tenants` (root key only).

use crate::api::AppState;
use crate::api::extract::{JsonBody, RootCaller};
use crate::api::pagination::{self, ListResponse};
use crate::api::problem::Problem;
use crate::model::api_key::{ApiKeyCreated, ApiKeyView};
use crate::model::tenant::{TenantCreate, TenantCreated, TenantView};
use crate::tenancy::tenants;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use std::collections::HashMap;

const LIST: &str = "tenants";

#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = TenantCreate,
    security(("api_key" = [])),
    responses((status = 201, body = TenantCreated), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    _root: RootCaller,
    JsonBody(body): JsonBody<TenantCreate>,
) -> Result<(StatusCode, Json<TenantCreated>), Problem> {
    let name = body.validate()?;
    let (tenant, key, secret) = tenants::create(app.store.as_ref(), name).await?;
    tracing::info!(tenant_id = %tenant.id, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            tenant: tenant.into(),
            api_key: ApiKeyCreated {
                api_key: ApiKeyView::from(&key),
                key: secret.expose_secret().to_owned(),
            },
        }),
    ))
}

#[utoipa::path(get, path = "/v1/tenants", tag = "tenants", security(("api_key" = [])),
    params(("limit" = Option<usize>, Query, description = "1–250, default 50"),
           ("cursor" = Option<String>, Query, description = "from `next_cursor`")),
    responses((status = 200, body = ListResponse<TenantView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    _root: RootCaller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ListResponse<TenantView>>, Problem> {
    let params = pagination::parse(&query, "root", LIST, "ten_")?;
    let (tenants, last) = tenants::list(app.store.as_ref(), params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: tenants.into_iter().map(TenantView::from).collect(),
        next_cursor: pagination::cursor("root", LIST, last),
    }))
}

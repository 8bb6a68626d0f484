//! `GET /v1/usage`: the tenant's usage counters of one month (`usage:read`).

use crate::api::AppState;
use crate::api::dto::usage::{UsageQuery, UsageView};
use crate::api::extract::{Caller, QueryParams};
use crate::api::problem::Problem;
use crate::error::DomainError;
use crate::model::Scope;
use crate::usage::ledger;
use axum::Json;
use axum::extract::State;

#[utoipa::path(get, path = "/v1/usage", tag = "usage",
    security(("bearer" = []), ("api_key" = [])), params(UsageQuery),
    responses((status = 200, body = UsageView,
               description = "The caller's tenant's counters for the month (zeros for a month without usage)"),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem, description = "The key lacks `usage:read`"),
              (status = 422, body = Problem, description = "`month` is not `YYYY-MM`"),
              (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<UsageQuery>,
) -> Result<Json<UsageView>, Problem> {
    let tenant = caller.require(Scope::UsageRead)?.tenant_id;
    let month = query.month()?;
    let usage = ledger::usage(app.store.as_ref(), tenant, month)
        .await
        .map_err(DomainError::from)?;
    Ok(Json(UsageView::from(usage)))
}

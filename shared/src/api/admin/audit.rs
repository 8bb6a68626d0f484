//! `GET /v1/audit`: the tenant's audit log, newest first (`audit:read`).

use crate::api::AppState;
use crate::api::dto::audit::{AuditEntryView, AuditQuery};
use crate::api::extract::{Caller, QueryParams};
use crate::api::pagination::{self, ListResponse};
use crate::api::problem::Problem;
use crate::audit::log;
use crate::model::Scope;
use axum::Json;
use axum::extract::State;

const LIST: &str = "audit";

#[utoipa::path(get, path = "/v1/audit", tag = "audit",
    security(("bearer" = []), ("api_key" = [])), params(AuditQuery),
    responses((status = 200, body = ListResponse<AuditEntryView>,
               description = "Entries of the caller's tenant, newest first: one for every write made to it (publishing events excepted)"),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem),
              (status = 422, body = Problem,
               description = "A filter is malformed or names an unknown value (`actor`, `actor_type`, `action`, `target_type`, `target_id`, `since`, `until`)"),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<AuditQuery>,
) -> Result<Json<ListResponse<AuditEntryView>>, Problem> {
    let tenant = caller.require(Scope::AuditRead)?.tenant_id;
    let filter = query.filter()?;
    // The cursor is bound to the tenant and the filter: a cursor of another query is refused.
    let owner = format!("{tenant}/{filter:?}");
    let params = pagination::parse(
        query.limit,
        query.cursor.as_deref(),
        &owner,
        LIST,
        log::CURSOR_PREFIX,
    )?;
    let (found, last) = log::list(
        app.store.as_ref(),
        tenant,
        &filter,
        params.limit,
        params.after,
    )
    .await?;
    Ok(Json(ListResponse {
        data: found.into_iter().map(AuditEntryView::from).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

//! `/v1/webhooks`: outbound endpoints of the caller's tenant (`webhooks:read` / `webhooks:write`).

use crate::api::AppState;
use crate::api::extract::{Caller, JsonBody, path_id};
use crate::api::pagination::{self, ListResponse};
use crate::api::problem::Problem;
use crate::jobs::{Job, RecoverJob};
use crate::model::endpoint::{
    EndpointCreate, EndpointCreated, EndpointUpdate, EndpointView, SecretRotate, SecretRotated,
};
use crate::model::message::{Attempt, AttemptStatus, EndpointRecover, Requeued};
use crate::model::{EndpointId, Scope};
use crate::outbound::{endpoints, messages};
use crate::queue::OutgoingJob;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use std::collections::HashMap;

const LIST: &str = "webhooks";
/// The default and largest grace period of a rotated secret.
const DEFAULT_ROTATION_GRACE: i64 = 86_400;
const MAX_ROTATION_GRACE: i64 = 7 * 86_400;

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", security(("api_key" = [])),
    params(("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListResponse<EndpointView>), (status = 400, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ListResponse<EndpointView>>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let owner = tenant.to_string();
    let params = pagination::parse(&query, &owner, LIST, endpoints::SK_PREFIX)?;
    let (found, last) =
        endpoints::list(app.store.as_ref(), tenant, params.limit, params.after).await?;
    Ok(Json(ListResponse {
        data: found.iter().map(EndpointView::from).collect(),
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = EndpointCreate,
    security(("api_key" = [])),
    responses((status = 201, body = EndpointCreated), (status = 422, body = Problem)))]
pub async fn create(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EndpointCreate>,
) -> Result<(StatusCode, Json<EndpointCreated>), Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let settings = body.validate(app.outbound.client.policy())?;
    let (endpoint, secret) = endpoints::create(&app, tenant, settings).await?;
    tracing::info!(%tenant, endpoint_id = %endpoint.id, "webhook endpoint created");
    Ok((
        StatusCode::CREATED,
        Json(EndpointCreated {
            endpoint: EndpointView::from(&endpoint),
            secret: secret.expose_secret().to_owned(),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = EndpointView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    Ok(Json(EndpointView::from(
        &endpoints::get(app.store.as_ref(), tenant, id).await?,
    )))
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = EndpointUpdate,
    security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EndpointView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EndpointUpdate>,
) -> Result<Json<EndpointView>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let policy = app.outbound.client.policy().clone();
    let endpoint = endpoints::modify(&app, tenant, id, |e| body.apply(e, &policy)).await?;
    Ok(Json(EndpointView::from(&endpoint)))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path)), responses((status = 204, description = "Deleted"), (status = 404, body = Problem)))]
pub async fn delete(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    endpoints::delete(&app, tenant, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/secret/rotate", tag = "webhooks", request_body = SecretRotate,
    security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = SecretRotated), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn rotate(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SecretRotate>,
) -> Result<Json<SecretRotated>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let grace = body.grace_seconds.unwrap_or(DEFAULT_ROTATION_GRACE);
    if !(0..=MAX_ROTATION_GRACE).contains(&grace) {
        return Err(Problem::from(crate::error::DomainError::invalid(
            "grace_seconds",
            format!("must be between 0 and {MAX_ROTATION_GRACE}"),
        )));
    }
    let (secret, previous_expires_at) =
        endpoints::rotate(&app, tenant, id, chrono::Duration::seconds(grace)).await?;
    Ok(Json(SecretRotated {
        secret: secret.expose_secret().to_owned(),
        previous_expires_at,
    }))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Attempt), (status = 404, body = Problem)))]
pub async fn test(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Attempt>, Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    Ok(Json(crate::delivery::send_test(&app, tenant, id).await?))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/attempts", tag = "webhooks", security(("api_key" = [])),
    params(("id" = String, Path), ("limit" = Option<usize>, Query), ("cursor" = Option<String>, Query),
           ("status" = Option<String>, Query, description = "`succeeded` or `failed`")),
    responses((status = 200, body = ListResponse<Attempt>), (status = 404, body = Problem)))]
pub async fn attempts(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<ListResponse<Attempt>>, Problem> {
    let tenant = caller.require(Scope::WebhooksRead)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    let status = match query.get("status").map(String::as_str) {
        None | Some("") => None,
        Some("succeeded") => Some(AttemptStatus::Succeeded),
        Some("failed") => Some(AttemptStatus::Failed),
        Some(_) => {
            return Err(Problem::bad_request(
                "status",
                "must be `succeeded` or `failed`",
            ));
        }
    };
    let owner = format!("{tenant}/{id}");
    let params = pagination::parse(&query, &owner, "attempts", &messages::attempts_prefix(id))?;
    endpoints::get(app.store.as_ref(), tenant, id).await?;
    let (found, last) = messages::attempts(
        app.store.as_ref(),
        tenant,
        id,
        params.limit,
        params.after,
        status,
    )
    .await?;
    Ok(Json(ListResponse {
        data: found,
        next_cursor: pagination::cursor(&owner, "attempts", last),
    }))
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/recover", tag = "webhooks", request_body = EndpointRecover,
    security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 202, body = Requeued), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn recover(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EndpointRecover>,
) -> Result<(StatusCode, Json<Requeued>), Problem> {
    let tenant = caller.require(Scope::WebhooksWrite)?.tenant_id;
    let id: EndpointId = path_id("id", &id)?;
    endpoints::get(app.store.as_ref(), tenant, id).await?;
    if body.since > chrono::Utc::now() {
        return Err(Problem::from(crate::error::DomainError::invalid(
            "since",
            "must not be in the future",
        )));
    }
    let job = Job::Recover(RecoverJob {
        tenant,
        endpoint: id,
        since: body.since,
    });
    let body = serde_json::to_string(&job)
        .map_err(|e| Problem::from(crate::error::DomainError::Internal(e.to_string())))?;
    app.queue
        .send(OutgoingJob::now(body))
        .await
        .map_err(crate::error::DomainError::from)?;
    // Recovery runs in the background; `queued` counts the recovery job itself.
    Ok((StatusCode::ACCEPTED, Json(Requeued { queued: 1 })))
}

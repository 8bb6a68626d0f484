//! `/v1/events`: publish (`events:publish`), inspect (`events:read`), resend.

use crate::api::AppState;
use crate::api::extract::{Caller, JsonBody, path_id};
use crate::api::problem::Problem;
use crate::model::message::{
    Delivery, DeliveryStatus, EventPublish, EventResend, EventView, Published, Requeued,
};
use crate::model::{MessageId, Scope};
use crate::outbound::{messages, publish};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventPublish,
    security(("api_key" = [])),
    responses((status = 202, body = Published, description = "Stored and queued (a replay carries `idempotent-replayed: true`)"),
              (status = 200, body = Published, description = "Stored; no destination matched (`matched: 0`)"),
              (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
pub async fn publish(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EventPublish>,
) -> Result<Response, Problem> {
    let tenant = caller.require(Scope::EventsPublish)?.tenant_id;
    if body.data.get().len() > crate::model::message::MAX_PAYLOAD_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "`data` is limited to 256 KiB",
        ));
    }
    let outcome = publish::publish(&app, tenant, body).await?;
    // 202: deliveries were queued. 200: nothing matched, so nothing is left to do.
    let status = if outcome.published.matched == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = (status, Json(outcome.published)).into_response();
    if outcome.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", security(("api_key" = [])),
    params(("id" = String, Path)), responses((status = 200, body = EventView), (status = 404, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventView>, Problem> {
    let tenant = caller.require(Scope::EventsRead)?.tenant_id;
    let id: MessageId = path_id("id", &id)?;
    let message = messages::get_message(app.store.as_ref(), tenant, id)
        .await?
        .ok_or(crate::error::DomainError::NotFound("event"))?;
    let recorded = messages::deliveries(app.store.as_ref(), tenant, id).await?;
    let deliveries = message
        .destinations
        .iter()
        .map(|dest| {
            recorded
                .iter()
                .find(|d| d.endpoint_id == *dest)
                .cloned()
                .unwrap_or(Delivery {
                    endpoint_id: *dest,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    last_status_code: None,
                    last_error: None,
                    next_attempt_at: None,
                    updated_at: message.created_at,
                })
        })
        .collect();
    let body: serde_json::Value = serde_json::from_str(&message.body).unwrap_or_default();
    Ok(Json(EventView {
        id,
        event_type: message.event_type,
        data: body.get("data").cloned().unwrap_or_default(),
        created_at: message.created_at,
        deliveries,
    }))
}

#[utoipa::path(post, path = "/v1/events/{id}/resend", tag = "events", request_body = EventResend,
    security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 202, body = Requeued), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn resend(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EventResend>,
) -> Result<(StatusCode, Json<Requeued>), Problem> {
    let tenant = caller.require(Scope::EventsPublish)?.tenant_id;
    let id: MessageId = path_id("id", &id)?;
    let queued = publish::resend(&app, tenant, id, body.endpoint_id).await?;
    Ok((StatusCode::ACCEPTED, Json(Requeued { queued })))
}

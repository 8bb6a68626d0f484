//! `/v1/events`: publish (`events:publish`), list and inspect (`events:read`), resend.

use crate::api::AppState;
use crate::api::dto::events::{EventPublish, EventResend, EventView, EventsQuery, PublishedView};
use crate::api::dto::webhooks::Requeued;
use crate::api::extract::{Caller, JsonBody, QueryParams, path_id};
use crate::api::pagination::{self, ListResponse};
use crate::api::problem::Problem;
use crate::error::DomainError;
use crate::model::message::MAX_PAYLOAD_BYTES;
use crate::model::{MessageId, Scope};
use crate::outbound::{messages, publish};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const LIST: &str = "events";

#[utoipa::path(post, path = "/v1/events", tag = "events", request_body = EventPublish,
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 202, body = PublishedView, description = "Stored and queued (a replay carries `idempotent-replayed: true`)"),
              (status = 200, body = PublishedView, description = "Stored; no destination matched (`matched: 0`)"),
              (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 403, body = Problem), (status = 409, body = Problem),
              (status = 413, body = Problem), (status = 415, body = Problem),
              (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn publish(
    State(app): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<EventPublish>,
) -> Result<Response, Problem> {
    let tenant = caller.require(Scope::EventsPublish)?.tenant_id;
    if body.data.get().len() > MAX_PAYLOAD_BYTES {
        return Err(Problem::payload_too_large("`data` is limited to 256 KiB"));
    }
    let published = publish::publish(&app.outbound, tenant, body.parse()?).await?;
    // 202: deliveries were queued. 200: nothing matched, so nothing is left to do.
    let status = if published.matched == 0 {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut response = (status, Json(PublishedView::from(&published))).into_response();
    if published.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[utoipa::path(get, path = "/v1/events", tag = "events",
    security(("bearer" = []), ("api_key" = [])), params(EventsQuery),
    responses((status = 200, body = ListResponse<EventView>), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 503, body = Problem)))]
pub async fn list(
    State(app): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Json<ListResponse<EventView>>, Problem> {
    let tenant = caller.require(Scope::EventsRead)?.tenant_id;
    let filter = query.filter()?;
    // The cursor is bound to the filter too: a cursor of another query is refused.
    let owner = format!(
        "{tenant}/{}/{:?}/{:?}/{:?}",
        filter.event_type.as_deref().unwrap_or(""),
        filter.status,
        filter.since,
        filter.until
    );
    let params = pagination::parse(query.limit, query.cursor.as_deref(), &owner, LIST, "msg_")?;
    let (found, last) = messages::list_events(
        app.store.as_ref(),
        tenant,
        &filter,
        params.limit,
        params.after,
    )
    .await?;
    let data = found
        .iter()
        .map(|(message, deliveries)| EventView::new(message, deliveries))
        .collect::<Result<Vec<_>, DomainError>>()?;
    Ok(Json(ListResponse {
        data,
        next_cursor: pagination::cursor(&owner, LIST, last),
    }))
}

#[utoipa::path(get, path = "/v1/events/{id}", tag = "events",
    security(("bearer" = []), ("api_key" = [])), params(("id" = MessageId, Path)),
    responses((status = 200, body = EventView), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EventView>, Problem> {
    let tenant = caller.require(Scope::EventsRead)?.tenant_id;
    let id: MessageId = path_id("id", &id)?;
    let message = messages::get_message(app.store.as_ref(), tenant, id)
        .await?
        .ok_or(DomainError::NotFound("event"))?;
    let recorded = messages::deliveries(app.store.as_ref(), id).await?;
    Ok(Json(EventView::new(&message, &recorded)?))
}

#[utoipa::path(post, path = "/v1/events/{id}/resend", tag = "events",
    request_body(content = Option<EventResend>, description = "Optional: without a body (or `{}`) every destination is resent"),
    security(("bearer" = []), ("api_key" = [])), params(("id" = MessageId, Path)),
    responses((status = 202, body = Requeued), (status = 400, body = Problem),
              (status = 401, body = Problem), (status = 403, body = Problem),
              (status = 404, body = Problem), (status = 413, body = Problem),
              (status = 415, body = Problem), (status = 422, body = Problem),
              (status = 503, body = Problem)))]
pub async fn resend(
    State(app): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<EventResend>,
) -> Result<(StatusCode, Json<Requeued>), Problem> {
    let tenant = caller.require(Scope::EventsPublish)?.tenant_id;
    let id: MessageId = path_id("id", &id)?;
    let queued =
        publish::resend(&app.outbound, tenant, id, body.endpoint_id, &caller.audit).await?;
    Ok((StatusCode::ACCEPTED, Json(Requeued { queued })))
}

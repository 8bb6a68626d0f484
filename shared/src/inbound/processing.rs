//! Processing one received webhook (the delivery worker's `inbound` jobs): `processing` → map
//! the body into variables → render the route → publish the routed event through the outbound
//! publisher (idempotent on the event and its run, so a redelivered job publishes once) →
//! `processed` with the produced event's id. A failure records `failed` with its reason and
//! comes back on the retry schedule; after [`MAX_ATTEMPTS`] the event is `dead` and
//! `integration.event_failed` is published into the tenant's stream.

use super::events;
use super::{Inbound, MAX_ATTEMPTS};
use crate::error::DomainError;
use crate::jobs::{InboundJob, Job};
use crate::model::MessageId;
use crate::model::inbound_event::{BodyEncoding, InboundEvent, InboundStatus};
use crate::model::integration::{EventTypeTemplate, Integration, Mapping};
use crate::model::message::{MAX_PAYLOAD_BYTES, NewEvent};
use crate::outbound::publish;
use crate::queue::{MAX_RECEIVES, Outcome};
use chrono::Utc;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};
use std::time::Duration;

/// Runs one `inbound` job. `delay(n)` is the wait before attempt `n` (the delivery schedule).
/// An `Err` means the event's state could not be read or recorded: the job comes back.
pub async fn process(
    inb: &Inbound,
    job: &InboundJob,
    receive_count: u32,
    delay: impl Fn(u32) -> Duration,
) -> Result<Outcome, DomainError> {
    let store = inb.store();
    let Some((event, body)) = events::load(store, job.tenant, job.integration, job.event).await?
    else {
        return Ok(Outcome::Dead(
            "the inbound event expired or no longer exists".into(),
        ));
    };
    if event.run != job.run
        || matches!(event.status, InboundStatus::Processed | InboundStatus::Dead)
    {
        // A redelivered job whose outcome is recorded, or one of a run a replay replaced.
        return Ok(Outcome::Done);
    }
    let attempt = event.attempts + 1;
    let run = event.run;
    let id = event.id;
    let event = events::modify_from(store, Some(event), id, |e| {
        same_run(e, run)?;
        e.attempts = attempt;
        e.next_attempt_at = None;
        e.set_status(InboundStatus::Processing, Utc::now(), None);
        Ok(())
    })
    .await?;
    // From the intake cache: every webhook of a busy integration reads the same item. An
    // integration missing from the cache is read again before it is taken for deleted.
    let mut found = inb.integration(job.integration).await;
    if matches!(found, Ok(None)) {
        inb.evict(job.integration);
        found = inb.integration(job.integration).await;
    }
    let result = match found {
        Ok(Some(integration)) if integration.tenant_id == job.tenant => {
            route_and_publish(inb, &integration, &event, &body).await
        }
        Ok(_) => Err(Failure::permanent(
            "the integration was deleted before the event was processed",
        )),
        Err(e) => Err(Failure::from(e)),
    };
    match result {
        Ok(produced) => {
            events::modify_from(store, Some(event), id, |e| {
                same_run(e, run)?;
                e.produced_event_id = Some(produced);
                e.set_status(InboundStatus::Processed, Utc::now(), None);
                Ok(())
            })
            .await?;
            Ok(Outcome::Done)
        }
        Err(failure)
            if failure.permanent || attempt >= MAX_ATTEMPTS || receive_count >= MAX_RECEIVES =>
        {
            let reason = format!("after {attempt} attempts: {}", failure.message);
            // Told first, then recorded: if recording fails the job comes back and may tell
            // the tenant twice, never not at all.
            publish::publish_internal(
                inb.outbound(),
                job.tenant,
                "integration.event_failed",
                json!({
                    "integration_id": job.integration,
                    "event_id": job.event,
                    "attempts": attempt,
                    "error": failure.message,
                }),
            )
            .await?;
            events::modify_from(store, Some(event), id, |e| {
                same_run(e, run)?;
                e.set_status(
                    InboundStatus::Dead,
                    Utc::now(),
                    Some(failure.message.clone()),
                );
                Ok(())
            })
            .await?;
            tracing::warn!(tenant_id = %job.tenant, integration_id = %job.integration,
                event_id = %job.event, %reason, "inbound event dead");
            Ok(Outcome::Dead(reason))
        }
        Err(failure) => {
            let wait = delay(attempt + 1);
            let next =
                Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            events::modify_from(store, Some(event), id, |e| {
                same_run(e, run)?;
                e.next_attempt_at = Some(next);
                e.set_status(
                    InboundStatus::Failed,
                    Utc::now(),
                    Some(failure.message.clone()),
                );
                Ok(())
            })
            .await?;
            tracing::info!(event_id = %job.event, attempt, error = %failure.message,
                "inbound processing failed; it will be retried");
            Ok(Outcome::RetryAfter(wait))
        }
    }
}

/// Refuses a change to an event that a replay moved to another run meanwhile: that run's own
/// job records its outcome, and this job finds itself stale when it comes back.
fn same_run(event: &InboundEvent, run: u32) -> Result<(), DomainError> {
    if event.run == run {
        Ok(())
    } else {
        Err(DomainError::Conflict(
            "the event was replayed meanwhile".into(),
        ))
    }
}

/// Why one processing attempt failed, in words the tenant may see.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Retrying cannot help (the integration is gone).
    permanent: bool,
}

impl Failure {
    fn retry(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: false,
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<DomainError> for Failure {
    /// A domain error as the tenant may read it: field errors and conflicts say what they are;
    /// outages and bugs say only that (their cause is logged).
    fn from(e: DomainError) -> Self {
        let message = match &e {
            DomainError::Invalid(errors) => errors
                .iter()
                .map(|f| format!("`{}`: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; "),
            DomainError::Conflict(m) => m.clone(),
            DomainError::NotFound(what) => format!("{what} not found"),
            DomainError::Forbidden(m) => m.clone(),
            DomainError::Unavailable(_) => "a dependency was unavailable".to_owned(),
            DomainError::Internal(_) => "an internal error (logged)".to_owned(),
        };
        if matches!(e, DomainError::Unavailable(_) | DomainError::Internal(_)) {
            tracing::warn!(error = %e, "inbound processing attempt failed");
        }
        Self::retry(message)
    }
}

/// Maps and routes the event, then publishes it; returns the produced event's id.
async fn route_and_publish(
    inb: &Inbound,
    integration: &Integration,
    event: &InboundEvent,
    body: &[u8],
) -> Result<MessageId, Failure> {
    let (event_type, data) = route(integration, event, body)?;
    let data = RawValue::from_string(data.to_string())
        .map_err(|e| Failure::retry(format!("the routed data: {e}")))?;
    if data.get().len() > MAX_PAYLOAD_BYTES {
        return Err(Failure::retry(format!(
            "the routed event's data is {} bytes, over the {MAX_PAYLOAD_BYTES} an event may carry",
            data.get().len()
        )));
    }
    let idempotency_key = format!("inbound:{}:{}", event.id, event.run);
    let new = NewEvent::parse(event_type, data, Some(idempotency_key)).map_err(Failure::from)?;
    let published = publish::publish(inb.outbound(), integration.tenant_id, new)
        .await
        .map_err(Failure::from)?;
    Ok(published.id)
}

/// The routed event's type and data: the mapped variables plus the route's static fields, or,
/// without a mapping, the parsed body itself (static fields added when it is an object).
fn route(
    integration: &Integration,
    event: &InboundEvent,
    body: &[u8],
) -> Result<(String, Value), Failure> {
    let parsed = parse_body(event, body);
    let mapping = Mapping::compile(&integration.mapping)
        .map_err(|e| Failure::retry(format!("`{}`: {}", e.field, e.message)))?;
    let names: Vec<&str> = integration.mapping.keys().map(String::as_str).collect();
    let template = EventTypeTemplate::parse(&integration.route.event_type, Some(names.as_slice()))
        .map_err(|e| Failure::retry(format!("`{}`: {}", e.field, e.message)))?;
    let vars = mapping.apply(parsed.as_ref(), &event.headers);
    let event_type = template
        .render(&event.headers, &vars)
        .map_err(|e| Failure::retry(e.to_string()))?;
    let statics = integration.route.data.clone().unwrap_or_default();
    let data = if mapping.is_empty() {
        match parsed {
            Some(Value::Object(mut object)) => {
                object.extend(statics);
                Value::Object(object)
            }
            Some(other) => other,
            None => {
                return Err(Failure::retry(
                    "the body is neither JSON nor a form, and the integration has no mapping to \
                     take values from it",
                ));
            }
        }
    } else {
        let mut object: Map<String, Value> = vars;
        object.extend(statics);
        Value::Object(object)
    };
    Ok((event_type, data))
}

/// The body as JSON: parsed when it is JSON, an object of its fields when it is a form
/// (`application/x-www-form-urlencoded`, as Slack commands and Twilio send), else `None`.
fn parse_body(event: &InboundEvent, body: &[u8]) -> Option<Value> {
    if event.body_encoding == BodyEncoding::Utf8
        && let Ok(value) = serde_json::from_slice::<Value>(body)
    {
        return Some(value);
    }
    let is_form = event.headers.get("content-type").is_some_and(|ct| {
        ct.split(';').next().is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
    });
    is_form.then(|| {
        let mut fields = Map::new();
        for (k, v) in form_urlencoded::parse(body) {
            fields
                .entry(k.into_owned())
                .or_insert(Value::String(v.into_owned()));
        }
        Value::Object(fields)
    })
}

/// Queues the event's processing again as a new run (`POST …/events/{id}/replay`): its
/// attempts start over and it may publish a new event.
pub async fn replay(
    inb: &Inbound,
    event: &InboundEvent,
    audit: &crate::audit::Recorder,
) -> Result<InboundEvent, DomainError> {
    use crate::audit::snapshot::set;
    use crate::audit::{Action, Target, TargetType};
    let replayed = events::modify_with(
        inb.store(),
        event.id,
        |e| {
            e.run += 1;
            e.attempts = 0;
            e.next_attempt_at = None;
            e.set_status(InboundStatus::Received, Utc::now(), None);
            Ok(())
        },
        |e| {
            let changes = vec![set("integration_id", e.integration_id), set("run", e.run)];
            let target = Target::new(TargetType::InboundEvent, e.id);
            audit.op(
                e.tenant_id,
                Action::IntegrationEventReplayed,
                target,
                changes,
            )
        },
    )
    .await?;
    let job = Job::Inbound(InboundJob {
        tenant: replayed.tenant_id,
        integration: replayed.integration_id,
        event: replayed.id,
        run: replayed.run,
    })
    .outgoing(Duration::ZERO)?;
    inb.queue().send(job).await?;
    Ok(replayed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::inbound_event::StatusChange;
    use crate::model::integration::Route;
    use crate::model::{InboundEventId, IntegrationId, TenantId};
    use std::collections::BTreeMap;

    fn integration(mapping: &[(&str, &str)], event_type: &str, data: Option<Value>) -> Integration {
        let now = Utc::now();
        Integration {
            id: IntegrationId::generate(),
            tenant_id: TenantId::generate(),
            provider: "github".into(),
            name: "t".into(),
            key_field: "secret".into(),
            options: Map::new(),
            configs: Vec::new(),
            active: true,
            mapping: mapping
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            route: Route {
                event_type: event_type.into(),
                data: data.and_then(|d| d.as_object().cloned()),
            },
            tolerance_seconds: 300,
            public_url: None,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    fn event(headers: &[(&str, &str)], encoding: BodyEncoding) -> InboundEvent {
        let now = Utc::now();
        InboundEvent {
            id: InboundEventId::generate(),
            tenant_id: TenantId::generate(),
            integration_id: IntegrationId::generate(),
            status: InboundStatus::Received,
            received_at: now,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            body_bytes: 0,
            body_encoding: encoding,
            body_parts: 0,
            attempts: 0,
            run: 0,
            error: None,
            next_attempt_at: None,
            produced_event_id: None,
            history: Vec::<StatusChange>::new(),
            updated_at: now,
            version: 1,
            ttl: 0,
        }
    }

    #[test]
    fn without_a_mapping_the_body_is_the_data_with_static_fields_added() {
        let i = integration(&[], "x.y", Some(json!({"source": "s"})));
        let e = event(&[], BodyEncoding::Utf8);
        let (t, data) = route(&i, &e, br#"{"a": 1}"#).unwrap();
        assert_eq!((t.as_str(), data), ("x.y", json!({"a": 1, "source": "s"})));
        let (_, data) = route(&i, &e, b"[1, 2]").unwrap();
        assert_eq!(
            data,
            json!([1, 2]),
            "a body that is not an object is kept as it is"
        );
    }

    #[test]
    fn form_bodies_are_objects_and_other_bodies_need_a_mapping() {
        let i = integration(&[], "slack.command", None);
        let form = event(
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            BodyEncoding::Utf8,
        );
        let (_, data) = route(&i, &form, b"command=%2Fdeploy&text=now").unwrap();
        assert_eq!(data, json!({"command": "/deploy", "text": "now"}));
        let plain = event(&[("content-type", "text/plain")], BodyEncoding::Utf8);
        assert!(route(&i, &plain, b"hello").is_err());
        let mapped = integration(&[("agent", "header:user-agent")], "x.y", None);
        let e = event(&[("user-agent", "curl")], BodyEncoding::Base64);
        let (_, data) = route(&mapped, &e, &[0xff, 0xfe]).unwrap();
        assert_eq!(data, json!({"agent": "curl"}));
    }

    #[test]
    fn a_route_that_renders_a_reserved_or_invalid_type_fails() {
        let i = integration(&[("kind", "$.kind")], "{{ vars.kind }}", None);
        let e = event(&[], BodyEncoding::Utf8);
        assert!(route(&i, &e, br#"{"kind": "integration.forged"}"#).is_err());
        assert!(route(&i, &e, br#"{"kind": "has space"}"#).is_err());
        assert!(route(&i, &e, br#"{"kind": null}"#).is_err());
        assert_eq!(
            route(&i, &e, br#"{"kind": "ticket.created"}"#).unwrap().0,
            "ticket.created"
        );
    }
}

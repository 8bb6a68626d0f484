//! Delivering to an action: the same attempt machinery as webhooks ([`Engine::attempt`]), with
//! a different last step: render the template (strict), open the connection's credentials for
//! this one send (no cache: rotation and revocation take effect on the next send, at the cost
//! of one store read and one key-provider decrypt per action attempt), build the provider's
//! request, send it through the same guarded client, and read the provider's answer.

use super::client::{ErrorCode, SendResult};
use super::provider::{self, Verdict};
use super::{Attempted, Engine, Limits};
use crate::credentials::connections::{self, OpenError};
use crate::error::DomainError;
use crate::jobs::DeliverJob;
use crate::model::ActionId;
use crate::model::action::{self, ACTION_MAX_ATTEMPTS, ACTION_TIMEOUT_MS, Action};
use crate::model::message::Message;
use crate::outbound::{actions, publish};
use crate::queue::Outcome;
use serde_json::{Value, json};
use std::time::Duration;

/// An attempt that ended before any request was made.
fn not_sent(code: ErrorCode, message: String) -> SendResult {
    SendResult {
        status: None,
        duration: Duration::ZERO,
        body: None,
        error: Some((code, message)),
        retry_after: None,
        sent_bytes: 0,
    }
}

/// What a template sees: `event` {id, type, data, occurred_at} and `tenant` {id}.
fn context(message: &Message) -> Result<Value, String> {
    let data: Value = serde_json::from_str(message.data().map_err(|e| e.to_string())?.get())
        .map_err(|_| "the event's data cannot be read as JSON values".to_owned())?;
    Ok(json!({
        "event": {
            "id": message.id,
            "type": message.event_type,
            "data": data,
            "occurred_at": message.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        },
        "tenant": {"id": message.tenant_id},
    }))
}

impl Engine {
    pub(super) async fn deliver_action(
        &self,
        job: &DeliverJob,
        id: ActionId,
    ) -> Result<Outcome, DomainError> {
        let ob = self.outbound.as_ref();
        let Some(action) = ob.action(job.tenant, id).await? else {
            self.skip(job.message, job.destination, "action deleted")
                .await?;
            return Ok(Outcome::Done);
        };
        if !action.enabled {
            self.skip(job.message, job.destination, "action disabled")
                .await?;
            return Ok(Outcome::Done);
        }
        let limits = Limits {
            max_attempts: ACTION_MAX_ATTEMPTS,
            rate_limit_per_s: action.rate_limit_per_s,
            timeout: Duration::from_millis(u64::from(ACTION_TIMEOUT_MS)),
        };
        let sent = self
            .attempt(job, &limits, |message, timeout| {
                let action = &action;
                async move { self.send_action(action, &message, timeout).await }
            })
            .await?;
        match sent {
            Attempted::NotSent(outcome) => Ok(outcome),
            Attempted::Sent(outcome, verdict, _) => {
                if let Verdict::Disable(reason) = verdict {
                    self.disable_action(&action, &reason).await?;
                }
                Ok(outcome)
            }
        }
    }

    /// One send of `action` for `message`. Errors are the store's or the key provider's (the
    /// job comes back); everything else is an attempt.
    async fn send_action(
        &self,
        action: &Action,
        message: &Message,
        timeout: Duration,
    ) -> Result<(SendResult, Verdict), DomainError> {
        let ob = self.outbound.as_ref();
        let rendered = match context(message)
            .and_then(|ctx| action::render(&action.template, &ctx).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(e) => return Ok((not_sent(ErrorCode::Template, e), Verdict::Final)),
        };
        let creds = match connections::open(
            ob.store(),
            ob.keys(),
            action.tenant_id,
            action.connection_id,
        )
        .await
        {
            Ok(c) => c,
            Err(OpenError::ConnectionRevoked | OpenError::NotFound) => {
                return Ok((
                    not_sent(
                        ErrorCode::ConnectionRevoked,
                        "connection_revoked: the action's connection was revoked; nothing was sent"
                            .into(),
                    ),
                    Verdict::Final,
                ));
            }
            Err(OpenError::Store(e)) => return Err(e.into()),
            Err(e) => {
                return Err(DomainError::Unavailable(format!(
                    "opening the connection: {e}"
                )));
            }
        };
        let request = match provider::build(action, &rendered, &creds, &self.providers) {
            Ok(r) => r,
            Err(e) => return Ok((not_sent(ErrorCode::Rejected, e.0), Verdict::Final)),
        };
        let provider = creds.provider().to_owned();
        drop(creds);
        let mut result = self
            .client
            .send(
                request.method,
                &request.url,
                request.headers,
                request.body,
                timeout,
            )
            .await;
        if result.status.is_some() {
            ob.usage().action(action.tenant_id, &provider);
        }
        let verdict = provider::verdict(action.kind, &result);
        match &verdict {
            Verdict::Disable(reason) => {
                result.error = Some((ErrorCode::Rejected, format!("{reason}; action disabled")));
            }
            Verdict::Final => {
                result.error = Some((
                    ErrorCode::Rejected,
                    "the provider refused the request for good; not retried".into(),
                ));
            }
            Verdict::Retry if result.error.is_none() => {
                result.error = Some((
                    ErrorCode::HttpStatus,
                    format!(
                        "the provider answered {} without success",
                        result.status.unwrap_or_default()
                    ),
                ));
            }
            _ => {}
        }
        Ok((result, verdict))
    }

    /// Disables an action the provider says is gone, audited by the system actor `delivery`,
    /// and tells the tenant with a `webhook.disabled` event naming the action.
    async fn disable_action(&self, action: &Action, reason: &str) -> Result<(), DomainError> {
        let audit = crate::audit::Recorder::system("delivery");
        actions::disable(&self.outbound, action.tenant_id, action.id, reason, &audit).await?;
        tracing::warn!(tenant = %action.tenant_id, action_id = %action.id, reason, "action disabled");
        publish::publish_internal(
            &self.outbound,
            action.tenant_id,
            "webhook.disabled",
            json!({"action_id": action.id, "kind": action.kind, "reason": reason}),
        )
        .await?;
        Ok(())
    }
}

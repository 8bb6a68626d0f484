//! An action: a connection-backed destination. It subscribes to event types like a webhook
//! endpoint (same glob rules) and, for each matching event, sends one provider request built
//! from its template and its connection's credentials (an SMS, an e-mail, a Slack message, a
//! REST call).
//!
//! Templates are minijinja in strict mode: a template that does not parse is refused when the
//! action is saved, and a variable the event does not have fails the attempt before anything is
//! sent, so no half-rendered message ever leaves.

use super::{ActionId, ConnectionId, TenantId};
use crate::error::{Errors, FieldError};
use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The longest template field, in bytes.
pub const MAX_TEMPLATE_FIELD: usize = 16 * 1024;
/// The most attempts an action's delivery gets (the webhook default).
pub const ACTION_MAX_ATTEMPTS: u32 = super::endpoint::DEFAULT_MAX_ATTEMPTS;
/// How long one provider request may take.
pub const ACTION_TIMEOUT_MS: u32 = super::endpoint::DEFAULT_TIMEOUT_MS;
/// The HTTP methods an `http_request` action may use.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What an action sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    TwilioSms,
    SendgridEmail,
    SlackMessage,
    HttpRequest,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::TwilioSms,
        ActionKind::SendgridEmail,
        ActionKind::SlackMessage,
        ActionKind::HttpRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::TwilioSms => "twilio_sms",
            ActionKind::SendgridEmail => "sendgrid_email",
            ActionKind::SlackMessage => "slack_message",
            ActionKind::HttpRequest => "http_request",
        }
    }

    pub fn parse(text: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "must be one of twilio_sms, sendgrid_email, slack_message, http_request",
                )
            })
    }

    /// The template fields of this kind: `(name, required)`. Which of alternative fields
    /// (`from` / `messaging_service_sid`, `text` / `html`) must be present is checked apart.
    fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            ActionKind::TwilioSms => &[
                ("to", true),
                ("from", false),
                ("messaging_service_sid", false),
                ("body", true),
            ],
            ActionKind::SendgridEmail => &[
                ("to", true),
                ("from", true),
                ("subject", true),
                ("text", false),
                ("html", false),
            ],
            ActionKind::SlackMessage => &[("text", true), ("blocks", false)],
            ActionKind::HttpRequest => &[
                ("method", true),
                ("path", true),
                ("body", false),
                ("headers", false),
            ],
        }
    }
}

/// An action as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: ActionId,
    pub tenant_id: TenantId,
    pub connection_id: ConnectionId,
    pub kind: ActionKind,
    pub event_types: Vec<String>,
    /// The checked template: every value a template string, but `headers` (an object of
    /// template strings) of `http_request`.
    pub template: Map<String, Value>,
    pub enabled: bool,
    /// Sends per second at most, across every worker (excess sends wait, never drop), like an
    /// endpoint's: a provider's own rate limit is the usual reason.
    #[serde(default)]
    pub rate_limit_per_s: Option<u32>,
    /// Why the engine disabled the action (a Slack hook that is gone), if it did.
    #[serde(default)]
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Action {
    /// Whether this action fires for `event_type` (the webhook glob rules).
    pub fn subscribes_to(&self, event_type: &str) -> bool {
        self.event_types
            .iter()
            .any(|p| super::endpoint::pattern_matches(p, event_type))
    }

    /// The template field `name` as text, if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.template.get(name).and_then(Value::as_str)
    }
}

/// The environment templates are checked and rendered with: strict about undefined variables
/// (an undefined one is an error, not an empty string), no auto-escaping (the output is an SMS,
/// a mail, JSON built by Switchboard), no loader (a template cannot include another).
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// Checks that `source` parses as a template.
fn check_template(env: &Environment<'_>, field: &str, source: &Value) -> Result<(), FieldError> {
    let Some(text) = source.as_str() else {
        return Err(FieldError::new(field, "must be a template string"));
    };
    if text.len() > MAX_TEMPLATE_FIELD {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_TEMPLATE_FIELD} bytes"),
        ));
    }
    env.template_from_str(text)
        .map(|_| ())
        .map_err(|e| FieldError::new(field, format!("does not parse: {e}")))
}

/// Checks a template for `kind`: only the kind's fields, each a string that parses (`headers`
/// an object of such strings), the required ones present. Errors name `template.<field>`.
pub fn check(kind: ActionKind, template: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
    let env = environment();
    let mut errors = Errors::default();
    let fields = kind.fields();
    for (name, value) in template {
        let path = format!("template.{name}");
        if !fields.iter().any(|(f, _)| f == name) {
            let known: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
            errors.push(FieldError::new(
                path,
                format!(
                    "is not a field of a {} template (fields: {})",
                    kind.as_str(),
                    known.join(", ")
                ),
            ));
            continue;
        }
        if kind == ActionKind::HttpRequest && name == "headers" {
            match value.as_object() {
                Some(headers) => {
                    for (h, v) in headers {
                        let hpath = format!("template.headers.{h}");
                        if http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                            errors.push(FieldError::new(hpath, "is not a valid header name"));
                        } else {
                            errors.take(check_template(&env, &hpath, v));
                        }
                    }
                }
                None => errors.push(FieldError::new(
                    path,
                    "must be an object of header templates",
                )),
            }
            continue;
        }
        errors.take(check_template(&env, &path, value));
    }
    for (name, required) in fields {
        if *required && !template.contains_key(*name) {
            errors.push(FieldError::new(format!("template.{name}"), "is required"));
        }
    }
    let has = |f: &str| template.contains_key(f);
    match kind {
        ActionKind::TwilioSms if !has("from") && !has("messaging_service_sid") => {
            errors.push(FieldError::new(
                "template.from",
                "one of `from` and `messaging_service_sid` is required",
            ));
        }
        ActionKind::SendgridEmail if !has("text") && !has("html") => {
            errors.push(FieldError::new(
                "template.text",
                "one of `text` and `html` is required",
            ));
        }
        ActionKind::HttpRequest => {
            if let Some(m) = template.get("method").and_then(Value::as_str)
                && !METHODS.contains(&m)
            {
                errors.push(FieldError::new(
                    "template.method",
                    "must be one of GET, POST, PUT, PATCH, DELETE",
                ));
            }
            if let Some(p) = template.get("path").and_then(Value::as_str)
                && !p.starts_with('/')
            {
                errors.push(FieldError::new("template.path", "must start with `/`"));
            }
        }
        _ => {}
    }
    errors.finish().map_err(|e| match e {
        crate::error::DomainError::Invalid(list) => list,
        other => vec![FieldError::new("template", other.to_string())],
    })
}

/// Why a template could not be rendered for an event.
#[derive(Debug, thiserror::Error)]
#[error("template field `{field}`: {message}")]
pub struct RenderError {
    pub field: String,
    pub message: String,
}

/// Renders every template field (and each header of `headers`) against `context`. Strict: the
/// first undefined variable fails the whole rendering.
pub fn render(
    template: &Map<String, Value>,
    context: &Value,
) -> Result<BTreeMap<String, String>, RenderError> {
    let env = environment();
    let mut out = BTreeMap::new();
    let one = |field: &str, source: &str| {
        env.render_str(source, context).map_err(|e| RenderError {
            field: field.to_owned(),
            message: describe(&e),
        })
    };
    for (name, value) in template {
        match value {
            Value::String(source) => {
                out.insert(name.clone(), one(name, source)?);
            }
            Value::Object(headers) => {
                for (h, v) in headers {
                    let field = format!("headers.{h}");
                    let rendered = one(&field, v.as_str().unwrap_or_default())?;
                    out.insert(field, rendered);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A render error in one line, without the template source.
fn describe(e: &minijinja::Error) -> String {
    match e.kind() {
        minijinja::ErrorKind::UndefinedError => {
            "undefined variable (the event has no such field); nothing was sent".to_owned()
        }
        _ => format!("{e}; nothing was sent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn templates_are_checked_per_kind() {
        let ok = map(json!({"to": "+1555", "from": "+1666", "body": "hi {{ event.data.name }}"}));
        assert!(check(ActionKind::TwilioSms, &ok).is_ok());
        let bad = map(json!({"to": "+1555", "body": "hi {{ event.data.name"}));
        let fields: Vec<String> = check(ActionKind::TwilioSms, &bad)
            .expect_err("bad")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["template.body", "template.from"]);
        let extra = map(json!({"text": "x", "nope": "y"}));
        assert!(check(ActionKind::SlackMessage, &extra).is_err());
    }

    #[test]
    fn strict_rendering_fails_on_undefined() {
        let t = map(json!({"text": "{{ event.data.customer.name }} / {{ tenant.id }}"}));
        let ctx =
            json!({"event": {"data": {"customer": {"name": "Ada"}}}, "tenant": {"id": "ten_1"}});
        assert_eq!(render(&t, &ctx).expect("ok")["text"], "Ada / ten_1");
        let missing = json!({"event": {"data": {}}, "tenant": {"id": "ten_1"}});
        let err = render(&t, &missing).expect_err("undefined");
        assert_eq!(err.field, "text");
        assert!(err.message.contains("undefined"));
    }
}

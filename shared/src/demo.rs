//! A fixed demo tenant and keys, so that the sample events in `events/` (which must carry a
//! real key) can be invoked against a fresh store: `switchboard demo seed` writes them, and the
//! events test seeds them before driving each file. Never seed a production store: these keys
//! are public.

use crate::error::DomainError;
use crate::model::api_key::NewApiKey;
use crate::model::tenant::Tenant;
use crate::model::{Destination, KeyId, Scope, TenantId};
use crate::store::Store;
use crate::tenancy::{api_keys, key_format, tenants};
use chrono::{TimeZone, Utc};
use secrecy::{ExposeSecret, SecretString};

/// The demo tenant's id.
pub const TENANT_ID: &str = "ten_01JDEM0TENANT0000000000000";
/// The demo endpoint (answers 2xx in the events test) and one that fails (retry sample).
pub const ENDPOINT_ID: &str = "ep_01JDEM0ENDP01NT00000000000";
pub const RETRY_ENDPOINT_ID: &str = "ep_01JDEM0RETRYENDP0000000000";
/// A demo event fanned out to both demo endpoints.
pub const MESSAGE_ID: &str = "msg_01JDEM0MESSAGE000000000000";
/// The demo integrations (GitHub, Slack, Stripe) the `intake-*` samples are signed for, with
/// their public secrets, and a received GitHub webhook the SQS `inbound` sample processes.
pub const GITHUB_INTEGRATION_ID: &str = "int_01JDEM0G1THVB0000000000000";
pub const SLACK_INTEGRATION_ID: &str = "int_01JDEM0S1ACK00000000000000";
pub const STRIPE_INTEGRATION_ID: &str = "int_01JDEM0STR1PE0000000000000";
pub const GITHUB_SECRET: &str = "demo-github-secret-do-not-use";
pub const SLACK_SECRET: &str = "demo-slack-signing-secret-do-not-use";
pub const STRIPE_SECRET: &str = "whsec_demoStripeSecretDoNotUseInProd";
pub const INBOUND_EVENT_ID: &str = "evt_01JDEM0WEBH00K000000000000";
/// The demo connections (public, fake credentials: [`seed_actions`]) and one action on each, and
/// a demo event addressed to the four actions, which the SQS `delivery-action-*` samples deliver.
pub const TWILIO_CONNECTION_ID: &str = "conn_01JDEM0C0NNTW1110000000000";
pub const SENDGRID_CONNECTION_ID: &str = "conn_01JDEM0C0NNSENDGR000000000";
pub const SLACK_CONNECTION_ID: &str = "conn_01JDEM0C0NNS1ACK0000000000";
pub const REST_CONNECTION_ID: &str = "conn_01JDEM0C0NNREST00000000000";
pub const SMS_ACTION_ID: &str = "act_01JDEM0ACTTW1110SMS0000000";
pub const EMAIL_ACTION_ID: &str = "act_01JDEM0ACTSENDGR0000000000";
pub const SLACK_ACTION_ID: &str = "act_01JDEM0ACTS1ACK00000000000";
pub const REST_ACTION_ID: &str = "act_01JDEM0ACTREST000000000000";
pub const ACTION_MESSAGE_ID: &str = "msg_01JDEM0ACT10NMESSAGE000000";
/// The demo connections' credentials: public, and only ever accepted by local fakes.
pub const TWILIO_ACCOUNT_SID: &str = "ACDEM00000000000000000000000000000";
pub const TWILIO_AUTH_TOKEN: &str = "demo-twilio-token-do-not-use";
pub const SENDGRID_API_KEY: &str = "SG.demo-sendgrid-key-do-not-use";
pub const SLACK_HOOK_URL: &str =
    "https://hooks.slack.com/services/TDEMO/BDEMO/demo-hook-do-not-use";
/// A public address literal (nothing to resolve when seeding offline); point
/// `SWITCHBOARD_GENERIC_REST_BASE_URL` at a fake to receive the demo REST action's calls.
pub const REST_BASE_URL: &str = "https://93.184.215.14/demo-api";
pub const REST_AUTH_VALUE: &str = "demo-rest-token-do-not-use";

/// The demo admin key's id.
pub const ADMIN_KEY_ID: &str = "key_01JDEM0ADM1NKEY00000000000";
/// A second demo key (scope `webhooks:read`) that the revoke and delete sample events act on, so
/// they do not lock the other samples out.
pub const SPARE_KEY_ID: &str = "key_01JDEM0SPAREKEY00000000000";
const SPARE_KEY_RANDOM: &str = "DemoSpareKeyDoNotUseInProd0001";
const ADMIN_KEY_RANDOM: &str = "DemoAdminKeyDoNotUseInProd0001";
const ROOT_KEY_RANDOM: &str = "DemoRootKeyDoNotUseInProd00001";

/// The demo tenant's admin key (public!).
pub fn admin_key() -> SecretString {
    key_format::from_random_part(ADMIN_KEY_RANDOM).unwrap_or_else(|_| SecretString::from(""))
}

/// The demo root key (public!): configure its hash as `ROOT_KEY_SHA256` for local invokes.
pub fn root_key() -> SecretString {
    key_format::from_random_part(ROOT_KEY_RANDOM).unwrap_or_else(|_| SecretString::from(""))
}

/// The SHA-256 hex of [`root_key`].
pub fn root_key_sha256() -> String {
    key_format::KeyHash::of(root_key().expose_secret()).to_hex()
}

/// Writes the demo tenant and its admin key unless they exist already.
pub async fn seed(store: &dyn Store) -> Result<(), DomainError> {
    let tenant_id: TenantId = TENANT_ID
        .parse()
        .map_err(|e| DomainError::Internal(format!("demo tenant id: {e}")))?;
    let key_id: KeyId = ADMIN_KEY_ID
        .parse()
        .map_err(|e| DomainError::Internal(format!("demo key id: {e}")))?;
    if tenants::get(store, tenant_id).await.is_ok() {
        return Ok(());
    }
    let created_at = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_else(Utc::now);
    let tenant = Tenant {
        id: tenant_id,
        name: "Demo tenant".into(),
        created_at,
    };
    let secret = admin_key();
    let mut key = api_keys::new_record(
        tenant_id,
        NewApiKey {
            name: "demo admin".into(),
            scopes: vec![Scope::Admin],
            expires_at: None,
        },
        &secret,
    );
    key.id = key_id;
    let audit = crate::audit::Recorder::system("demo");
    tenants::insert(store, &tenant, &key, &audit).await?;
    let spare_secret = key_format::from_random_part(SPARE_KEY_RANDOM)
        .map_err(|e| DomainError::Internal(format!("demo spare key: {e}")))?;
    let mut spare = api_keys::new_record(
        tenant_id,
        NewApiKey {
            name: "demo spare".into(),
            scopes: vec![Scope::WebhooksRead],
            expires_at: None,
        },
        &spare_secret,
    );
    spare.id = SPARE_KEY_ID
        .parse()
        .map_err(|e| DomainError::Internal(format!("demo spare key id: {e}")))?;
    let mut ops = api_keys::insert_ops(&spare)?;
    let (target, changes) = (
        api_keys::target(spare.id),
        crate::audit::snapshot::created(&spare),
    );
    ops.push(audit.op(
        tenant_id,
        crate::audit::Action::ApiKeyCreated,
        target,
        changes,
    )?);
    store.transact(ops).await?;
    Ok(())
}

/// Writes the demo endpoints (pointing at `receiver_base` + `/demo` and `/demo-retry`) and a
/// demo event addressed to both, unless they exist already. Needs the outbound context: the
/// endpoints' signing secrets are sealed with its key provider.
pub async fn seed_outbound(
    ob: &crate::outbound::Outbound,
    receiver_base: &str,
) -> Result<(), DomainError> {
    use crate::model::endpoint::EndpointSettings;
    use crate::model::message::Message;
    use crate::model::{EndpointId, MessageId};
    use crate::outbound::{endpoints, messages};
    let parse =
        |what: &str, e: crate::model::IdError| DomainError::Internal(format!("demo {what}: {e}"));
    let tenant: TenantId = TENANT_ID.parse().map_err(|e| parse("tenant", e))?;
    let ok: EndpointId = ENDPOINT_ID.parse().map_err(|e| parse("endpoint", e))?;
    let retry: EndpointId = RETRY_ENDPOINT_ID
        .parse()
        .map_err(|e| parse("endpoint", e))?;
    let message_id: MessageId = MESSAGE_ID.parse().map_err(|e| parse("message", e))?;
    for (id, path) in [(ok, "demo"), (retry, "demo-retry")] {
        if endpoints::get(ob.store(), tenant, id).await.is_ok() {
            continue;
        }
        let settings = EndpointSettings {
            url: format!("{}/{path}", receiver_base.trim_end_matches('/')),
            event_types: vec!["demo.*".into()],
            headers: Default::default(),
            description: format!("demo endpoint ({path})"),
            enabled: true,
            timeout_ms: 5_000,
            max_attempts: 3,
            rate_limit_per_s: None,
        };
        let audit = crate::audit::Recorder::system("demo");
        endpoints::create_with_id(ob, tenant, id, settings, &audit).await?;
    }
    let now = Utc::now();
    let message = Message {
        id: message_id,
        tenant_id: tenant,
        event_type: "demo.created".into(),
        body: r#"{"type":"demo.created","timestamp":"2026-01-01T00:00:00.000Z","data":{"hello":"world"}}"#.into(),
        created_at: now,
        destinations: vec![Destination::Webhook(ok), Destination::Webhook(retry)],
        ttl: now.timestamp() + 30 * 24 * 3600,
    };
    ob.store()
        .put(messages::message_item(&message)?, None)
        .await?;
    Ok(())
}

/// Writes the demo connections (one per provider that serves an action kind, with the public
/// demo credentials above), one action on each, and a demo event addressed to the four actions,
/// unless they exist already. `policy` checks the REST connection's base URL like the API does.
pub async fn seed_actions(
    ob: &crate::outbound::Outbound,
    policy: &crate::ssrf::AddressPolicy,
) -> Result<(), DomainError> {
    use crate::credentials::connections::{self, ConnectionSettings, CredentialsInput};
    use crate::model::action::ActionKind;
    use crate::model::message::Message;
    use crate::model::{ActionId, ConnectionId, MessageId};
    use crate::outbound::actions::{self, ActionSettings};
    use crate::outbound::messages;
    use serde_json::json;
    let parse =
        |what: &str, e: crate::model::IdError| DomainError::Internal(format!("demo {what}: {e}"));
    let tenant: TenantId = TENANT_ID.parse().map_err(|e| parse("tenant", e))?;
    let audit = crate::audit::Recorder::system("demo");
    let demos = [
        (
            TWILIO_CONNECTION_ID,
            "twilio",
            json!({"account_sid": TWILIO_ACCOUNT_SID, "auth_token": TWILIO_AUTH_TOKEN}),
            SMS_ACTION_ID,
            ActionKind::TwilioSms,
            json!({"to": "{{ event.data.customer.phone }}", "from": "+15005550006",
                   "body": "Hello {{ event.data.customer.name }}, event {{ event.id }}"}),
        ),
        (
            SENDGRID_CONNECTION_ID,
            "sendgrid",
            json!({"api_key": SENDGRID_API_KEY}),
            EMAIL_ACTION_ID,
            ActionKind::SendgridEmail,
            json!({"to": "{{ event.data.customer.email }}", "from": "demo@example.com",
                   "subject": "Hello {{ event.data.customer.name }}",
                   "text": "Event {{ event.id }} for tenant {{ tenant.id }}"}),
        ),
        (
            SLACK_CONNECTION_ID,
            "slack",
            json!({"webhook_url": SLACK_HOOK_URL}),
            SLACK_ACTION_ID,
            ActionKind::SlackMessage,
            json!({"text": "{{ event.type }} for {{ event.data.customer.name }}"}),
        ),
        (
            REST_CONNECTION_ID,
            "generic_rest",
            json!({"base_url": REST_BASE_URL, "auth_header": "X-Api-Key",
                   "auth_value": REST_AUTH_VALUE}),
            REST_ACTION_ID,
            ActionKind::HttpRequest,
            json!({"method": "POST", "path": "/customers/{{ event.data.customer.name }}",
                   "body": "{\"event\": {{ event.id | tojson }}}"}),
        ),
    ];
    let mut destinations = Vec::new();
    for (conn, provider, credentials, action, kind, template) in demos {
        let conn: ConnectionId = conn.parse().map_err(|e| parse("connection", e))?;
        let action: ActionId = action.parse().map_err(|e| parse("action", e))?;
        destinations.push(Destination::Action(action));
        if connections::get(ob.store(), tenant, conn).await.is_err() {
            let settings = ConnectionSettings {
                provider: provider.into(),
                name: format!("demo {provider}"),
                credentials: CredentialsInput(credentials),
                metadata: serde_json::Map::new(),
            };
            connections::create_with_id(
                ob.store(),
                ob.keys(),
                policy,
                tenant,
                conn,
                settings,
                &audit,
            )
            .await?;
        }
        if actions::get(ob.store(), tenant, action).await.is_err() {
            let settings = ActionSettings {
                connection_id: conn,
                kind,
                event_types: vec!["demo.*".into()],
                template: template.as_object().cloned().unwrap_or_default(),
                enabled: true,
                rate_limit_per_s: None,
            };
            actions::create_with_id(ob, tenant, action, settings, &audit).await?;
        }
    }
    let message_id: MessageId = ACTION_MESSAGE_ID.parse().map_err(|e| parse("message", e))?;
    let now = Utc::now();
    let message = Message {
        id: message_id,
        tenant_id: tenant,
        event_type: "demo.customer_created".into(),
        body: r#"{"type":"demo.customer_created","timestamp":"2026-01-01T00:00:00.000Z","data":{"customer":{"name":"Ada","phone":"+15551234567","email":"ada@example.com"}}}"#.into(),
        created_at: now,
        destinations,
        ttl: now.timestamp() + 30 * 24 * 3600,
    };
    ob.store()
        .put(messages::message_item(&message)?, None)
        .await?;
    Ok(())
}

/// Writes the demo integrations and one received GitHub webhook for them, unless they exist
/// already. Each routes to a `demo.*` event type, so the demo endpoints get what they produce.
pub async fn seed_inbound(inb: &crate::inbound::Inbound) -> Result<(), DomainError> {
    use crate::inbound::events::{self, Received};
    use crate::inbound::integrations::{self, ConfigInput, IntegrationSettings};
    use crate::model::integration::Route;
    use crate::model::{InboundEventId, IntegrationId};
    let parse =
        |what: &str, e: crate::model::IdError| DomainError::Internal(format!("demo {what}: {e}"));
    let tenant: TenantId = TENANT_ID.parse().map_err(|e| parse("tenant", e))?;
    let github: IntegrationId = GITHUB_INTEGRATION_ID
        .parse()
        .map_err(|e| parse("integration", e))?;
    let demos = [
        (
            GITHUB_INTEGRATION_ID,
            "github",
            GITHUB_SECRET,
            r#"demo.github.{{ headers["x-github-event"] }}"#,
        ),
        (
            SLACK_INTEGRATION_ID,
            "slack",
            SLACK_SECRET,
            "demo.slack.event",
        ),
        (
            STRIPE_INTEGRATION_ID,
            "stripe",
            STRIPE_SECRET,
            "demo.stripe.event",
        ),
    ];
    for (id, provider, secret, event_type) in demos {
        let id: IntegrationId = id.parse().map_err(|e| parse("integration", e))?;
        if integrations::get(inb.store(), tenant, id).await.is_ok() {
            continue;
        }
        let settings = IntegrationSettings {
            provider: provider.into(),
            name: format!("demo {provider}"),
            config: ConfigInput(serde_json::json!({ "secret": secret })),
            active: true,
            mapping: Default::default(),
            route: Route {
                event_type: event_type.into(),
                data: None,
            },
            tolerance_seconds: crate::model::integration::DEFAULT_TOLERANCE_SECONDS,
            public_url: None,
        };
        let audit = crate::audit::Recorder::system("demo");
        integrations::create_with_id(inb, tenant, id, settings, &audit).await?;
    }
    let event: InboundEventId = INBOUND_EVENT_ID.parse().map_err(|e| parse("event", e))?;
    if inb.store().get(&events::event_key(event)).await?.is_none() {
        let headers = [
            ("content-type", "application/json"),
            ("x-github-event", "push"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        events::store_received(
            inb.store(),
            Received {
                id: event,
                tenant,
                integration: github,
                headers,
                body: br#"{"ref":"refs/heads/main","repository":{"full_name":"acme/demo"}}"#,
                dedupe: "id:demo-delivery-0001".into(),
                ttl: inb.expiry(),
            },
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_constants_are_valid() {
        assert!(TENANT_ID.parse::<TenantId>().is_ok());
        assert!(ADMIN_KEY_ID.parse::<KeyId>().is_ok());
        assert!(SPARE_KEY_ID.parse::<KeyId>().is_ok());
        assert!(ENDPOINT_ID.parse::<crate::model::EndpointId>().is_ok());
        assert!(
            RETRY_ENDPOINT_ID
                .parse::<crate::model::EndpointId>()
                .is_ok()
        );
        assert!(MESSAGE_ID.parse::<crate::model::MessageId>().is_ok());
        assert!(ACTION_MESSAGE_ID.parse::<crate::model::MessageId>().is_ok());
        for id in [
            TWILIO_CONNECTION_ID,
            SENDGRID_CONNECTION_ID,
            SLACK_CONNECTION_ID,
            REST_CONNECTION_ID,
        ] {
            assert!(id.parse::<crate::model::ConnectionId>().is_ok(), "{id}");
        }
        for id in [
            SMS_ACTION_ID,
            EMAIL_ACTION_ID,
            SLACK_ACTION_ID,
            REST_ACTION_ID,
        ] {
            assert!(id.parse::<crate::model::ActionId>().is_ok(), "{id}");
        }
        for id in [
            GITHUB_INTEGRATION_ID,
            SLACK_INTEGRATION_ID,
            STRIPE_INTEGRATION_ID,
        ] {
            assert!(id.parse::<crate::model::IntegrationId>().is_ok(), "{id}");
        }
        assert!(
            INBOUND_EVENT_ID
                .parse::<crate::model::InboundEventId>()
                .is_ok()
        );
        assert!(key_format::check(admin_key().expose_secret()).is_ok());
        assert!(key_format::check(root_key().expose_secret()).is_ok());
    }
}

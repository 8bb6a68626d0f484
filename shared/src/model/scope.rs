//! API key scopes: what a key may do inside its tenant.

use serde::{Deserialize, Serialize};

/// One permission. `admin` grants everything in the tenant; a `…:write` scope also grants the
/// matching `…:read`, because a client that may change a resource must be able to see it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Scope {
    #[serde(rename = "admin")]
    Admin,
    #[serde(rename = "api_keys:write")]
    ApiKeysWrite,
    #[serde(rename = "webhooks:read")]
    WebhooksRead,
    #[serde(rename = "webhooks:write")]
    WebhooksWrite,
    #[serde(rename = "events:publish")]
    EventsPublish,
    #[serde(rename = "events:read")]
    EventsRead,
    #[serde(rename = "integrations:read")]
    IntegrationsRead,
    #[serde(rename = "integrations:write")]
    IntegrationsWrite,
    #[serde(rename = "connections:read")]
    ConnectionsRead,
    #[serde(rename = "connections:write")]
    ConnectionsWrite,
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "usage:read")]
    UsageRead,
}

impl Scope {
    /// Whether holding `self` is enough for an operation that requires `required`.
    pub fn grants(self, required: Scope) -> bool {
        use Scope::*;
        self == required
            || self == Admin
            || matches!(
                (self, required),
                (WebhooksWrite, WebhooksRead)
                    | (IntegrationsWrite, IntegrationsRead)
                    | (ConnectionsWrite, ConnectionsRead)
            )
    }

    /// Whether any scope in `held` grants `required`.
    pub fn any_grants(held: &[Scope], required: Scope) -> bool {
        held.iter().any(|s| s.grants(required))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_everything_and_write_implies_read() {
        assert!(Scope::Admin.grants(Scope::UsageRead));
        assert!(Scope::WebhooksWrite.grants(Scope::WebhooksRead));
        assert!(!Scope::WebhooksRead.grants(Scope::WebhooksWrite));
        assert!(!Scope::EventsRead.grants(Scope::EventsPublish));
        assert!(!Scope::ApiKeysWrite.grants(Scope::Admin));
    }

    #[test]
    fn serialises_as_documented() {
        assert_eq!(
            serde_json::to_string(&Scope::ApiKeysWrite).ok().as_deref(),
            Some("\"api_keys:write\"")
        );
        assert!(serde_json::from_str::<Scope>("\"webhooks:delete\"").is_err());
    }
}

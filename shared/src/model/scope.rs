//! API key scopes: what a key may do inside its tenant.

use serde::{Deserialize, Serialize};

/// One permission. `admin` grants everything in the tenant; a `…:write` scope also grants the
/// matching `…:read`, because a client that may change a resource must be able to see it.
/// Scopes of capabilities that do not exist yet are added with the work that uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
    #[serde(rename = "audit:read")]
    AuditRead,
    #[serde(rename = "connections:read")]
    ConnectionsRead,
    #[serde(rename = "connections:write")]
    ConnectionsWrite,
    #[serde(rename = "usage:read")]
    UsageRead,
}

impl Scope {
    /// Every scope, in the order the API documents them.
    pub const ALL: [Scope; 12] = [
        Scope::Admin,
        Scope::ApiKeysWrite,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
        Scope::EventsPublish,
        Scope::EventsRead,
        Scope::IntegrationsRead,
        Scope::IntegrationsWrite,
        Scope::AuditRead,
        Scope::ConnectionsRead,
        Scope::ConnectionsWrite,
        Scope::UsageRead,
    ];

    /// The scope's name on the wire (`webhooks:write`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::ApiKeysWrite => "api_keys:write",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
            Scope::EventsPublish => "events:publish",
            Scope::EventsRead => "events:read",
            Scope::IntegrationsRead => "integrations:read",
            Scope::IntegrationsWrite => "integrations:write",
            Scope::AuditRead => "audit:read",
            Scope::ConnectionsRead => "connections:read",
            Scope::ConnectionsWrite => "connections:write",
            Scope::UsageRead => "usage:read",
        }
    }

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

    /// The first scope of `requested` that `held` does not grant. A key may hand out (create,
    /// rescope to, roll into a new secret) only what it could do itself, so that `api_keys:write`
    /// is not a way to `admin`.
    pub fn first_ungranted(held: &[Scope], requested: &[Scope]) -> Option<Scope> {
        requested
            .iter()
            .copied()
            .find(|&s| !Self::any_grants(held, s))
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_grants_everything_and_write_implies_read() {
        assert!(Scope::Admin.grants(Scope::EventsRead));
        assert!(Scope::WebhooksWrite.grants(Scope::WebhooksRead));
        assert!(!Scope::WebhooksRead.grants(Scope::WebhooksWrite));
        assert!(!Scope::EventsRead.grants(Scope::EventsPublish));
        assert!(!Scope::ApiKeysWrite.grants(Scope::Admin));
        assert!(Scope::IntegrationsWrite.grants(Scope::IntegrationsRead));
        assert!(!Scope::IntegrationsRead.grants(Scope::IntegrationsWrite));
        assert!(!Scope::WebhooksWrite.grants(Scope::IntegrationsRead));
        assert!(Scope::ConnectionsWrite.grants(Scope::ConnectionsRead));
        assert!(!Scope::ConnectionsRead.grants(Scope::ConnectionsWrite));
    }

    #[test]
    fn a_key_grants_only_what_it_holds() {
        use Scope::*;
        assert_eq!(
            Scope::first_ungranted(&[ApiKeysWrite], &[Admin]),
            Some(Admin)
        );
        assert_eq!(
            Scope::first_ungranted(&[ApiKeysWrite, WebhooksWrite], &[WebhooksRead, EventsRead]),
            Some(EventsRead)
        );
        assert_eq!(
            Scope::first_ungranted(&[WebhooksWrite], &[WebhooksRead, WebhooksWrite]),
            None
        );
        assert_eq!(Scope::first_ungranted(&[Admin], &Scope::ALL), None);
    }

    #[test]
    fn names_match_serde_for_every_scope() {
        for scope in Scope::ALL {
            assert_eq!(
                serde_json::to_value(scope).ok(),
                Some(serde_json::Value::String(scope.as_str().to_owned()))
            );
        }
        assert!(serde_json::from_str::<Scope>("\"webhooks:delete\"").is_err());
    }
}

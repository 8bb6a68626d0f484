//! Typed, prefixed identifiers (`ten_01J…`).
//!
//! Every id carries its kind in a short prefix so that a key id pasted where an endpoint id is
//! expected is rejected at the edge, and log lines say what they name. The random part is a ULID,
//! so ids sort by creation time, which the store's sort keys rely on for newest-first listings.

use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

/// One monotonic ULID source per process: two ids minted in the same millisecond still sort in
/// the order they were made, so "newest first" listings never flip records created back to back.
/// (Ids from different processes, e.g. concurrent Lambda instances, are ordered to the
/// millisecond only, which is what a listing can promise anyway.)
static GENERATOR: Mutex<ulid::Generator> = Mutex::new(ulid::Generator::new());

/// The next ULID, greater than every one this process made before.
fn next_ulid() -> ulid::Ulid {
    let mut generator = GENERATOR.lock().unwrap_or_else(PoisonError::into_inner);
    // Overflow needs 2^80 ids in one millisecond; a fresh random ULID is the sane fallback.
    generator.generate().unwrap_or_else(|_| ulid::Ulid::new())
}

/// Why a string is not an id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("expected an id starting with `{expected}_`")]
    WrongPrefix { expected: &'static str },
    #[error("the part after `{prefix}_` is not a valid ULID")]
    BadUlid { prefix: &'static str },
}

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(ulid::Ulid);

        impl $name {
            /// The prefix this kind of id starts with (without the underscore).
            pub const PREFIX: &'static str = $prefix;

            /// A fresh id, ordered after every id made earlier.
            pub fn generate() -> Self {
                Self(next_ulid())
            }

            /// When the id was minted, to the millisecond: a record whose time is its id's
            /// time sorts where a time range over ids looks for it.
            pub fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
                let ms = i64::try_from(self.0.timestamp_ms()).unwrap_or(i64::MAX);
                chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
            }

            /// The ULID inside (store keys shard by its random bits).
            pub const fn ulid(&self) -> ulid::Ulid {
                self.0
            }

            /// Wraps a known ULID (fixtures, migrations).
            pub const fn from_ulid(ulid: ulid::Ulid) -> Self {
                Self(ulid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s
                    .strip_prefix($prefix)
                    .and_then(|r| r.strip_prefix('_'))
                    .ok_or(IdError::WrongPrefix { expected: $prefix })?;
                ulid::Ulid::from_string(rest)
                    .map(Self)
                    .map_err(|_| IdError::BadUlid { prefix: $prefix })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

define_id!(
    /// A tenant: the customer of the SaaS that deploys Switchboard; every record belongs to one.
    TenantId,
    "ten"
);
define_id!(
    /// An API key record (not the secret key itself).
    KeyId,
    "key"
);
define_id!(
    /// An outbound webhook endpoint.
    EndpointId,
    "ep"
);
define_id!(
    /// A published event (message).
    MessageId,
    "msg"
);
define_id!(
    /// An inbound integration (intake parses it to tell a malformed id from an unknown one).
    IntegrationId,
    "int"
);
define_id!(
    /// One webhook received by an integration (an inbound event).
    InboundEventId,
    "evt"
);
define_id!(
    /// A stored provider credential (a connection).
    ConnectionId,
    "conn"
);
define_id!(
    /// A connection-backed destination (an action: an SMS, an e-mail, a Slack message, a REST
    /// call fired from events).
    ActionId,
    "act"
);
define_id!(
    /// One delivery attempt.
    AttemptId,
    "atm"
);
define_id!(
    /// One audit log entry.
    AuditId,
    "aud"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_kinds() {
        let id = TenantId::generate();
        let text = id.to_string();
        assert!(text.starts_with("ten_"));
        assert_eq!(text.parse::<TenantId>().ok(), Some(id));
        assert_eq!(
            text.replace("ten_", "key_").parse::<TenantId>(),
            Err(IdError::WrongPrefix { expected: "ten" })
        );
        assert_eq!(
            "ten_notaulid".parse::<TenantId>(),
            Err(IdError::BadUlid { prefix: "ten" })
        );
    }

    #[test]
    fn ids_made_in_the_same_millisecond_still_sort_in_creation_order() {
        // Thousands of ids land in one millisecond; a plain random ULID would order about half
        // of these pairs backwards, which is what made newest-first listings flaky.
        let ids: Vec<String> = (0..5_000)
            .map(|i| {
                if i % 2 == 0 {
                    TenantId::generate().to_string()[4..].to_owned()
                } else {
                    KeyId::generate().to_string()[4..].to_owned()
                }
            })
            .collect();
        assert!(ids.windows(2).all(|pair| pair[0] < pair[1]));
    }
}

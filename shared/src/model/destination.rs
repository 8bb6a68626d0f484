//! Where one delivery goes: a webhook endpoint or an action. Both ride the same engine (queue,
//! retry schedule, attempt log, rate limit, SSRF guard); only the last step, building the
//! request, differs. On the wire and in the store a destination is its id, whose prefix (`ep_`,
//! `act_`) says which kind it is, so records written before actions existed read unchanged.

use super::{ActionId, EndpointId, IdError};
use std::fmt;
use std::str::FromStr;

/// A destination of a message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    Webhook(EndpointId),
    Action(ActionId),
}

impl Destination {
    /// The endpoint, when this is a webhook.
    pub fn endpoint(self) -> Option<EndpointId> {
        match self {
            Self::Webhook(id) => Some(id),
            Self::Action(_) => None,
        }
    }

    /// The action, when this is one.
    pub fn action(self) -> Option<ActionId> {
        match self {
            Self::Action(id) => Some(id),
            Self::Webhook(_) => None,
        }
    }

    /// The ULID inside (attempt partitions shard by it).
    pub fn ulid(self) -> ulid::Ulid {
        match self {
            Self::Webhook(id) => id.ulid(),
            Self::Action(id) => id.ulid(),
        }
    }
}

impl From<EndpointId> for Destination {
    fn from(id: EndpointId) -> Self {
        Self::Webhook(id)
    }
}

impl From<ActionId> for Destination {
    fn from(id: ActionId) -> Self {
        Self::Action(id)
    }
}

impl PartialEq<EndpointId> for Destination {
    fn eq(&self, other: &EndpointId) -> bool {
        *self == Self::Webhook(*other)
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Webhook(id) => id.fmt(f),
            Self::Action(id) => id.fmt(f),
        }
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Destination {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        if s.starts_with(ActionId::PREFIX)
            && s.as_bytes().get(ActionId::PREFIX.len()) == Some(&b'_')
        {
            return s.parse().map(Self::Action);
        }
        s.parse().map(Self::Webhook)
    }
}

impl serde::Serialize for Destination {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Destination {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_kinds_and_reads_plain_endpoint_ids() {
        let e = Destination::Webhook(EndpointId::generate());
        let a = Destination::Action(ActionId::generate());
        for d in [e, a] {
            assert_eq!(d.to_string().parse::<Destination>().ok(), Some(d));
        }
        let text = serde_json::to_string(&e).expect("json");
        assert!(text.starts_with("\"ep_"));
        assert!("key_01J".parse::<Destination>().is_err());
    }
}

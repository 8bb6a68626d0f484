//! The records Switchboard keeps, the ids that name them, and the checks on what users send.

pub mod action;
pub mod api_key;
pub mod connection;
pub mod destination;
pub mod endpoint;
pub mod event_data;
pub mod ids;
pub mod inbound_event;
pub mod integration;
pub mod message;
pub mod scope;
pub mod tenant;
pub mod text;

pub use destination::Destination;
pub use ids::*;
pub use scope::Scope;

/// Deserialises a field that distinguishes "absent" (`None`, via `#[serde(default)]`) from
/// "present and null" (`Some(None)`), for PATCH bodies where `null` clears a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

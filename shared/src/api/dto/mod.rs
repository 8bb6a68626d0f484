//! Wire types: what clients send (`…Create`, `…Update`) and get back (`…View`), with their
//! OpenAPI schemas. Each request type parses itself into the validated domain type the service
//! takes, so handlers never check fields by hand.

pub mod api_keys;
pub mod events;
pub mod tenants;
pub mod webhooks;

/// Deserialises a field that distinguishes "absent" (`None`, via `#[serde(default)]`) from
/// "present and null" (`Some(None)`), for PATCH bodies where `null` clears a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

//! Wire types: what clients send (`…Create`, `…Update`) and get back (`…View`), with their
//! OpenAPI schemas. Each request type parses itself into the validated domain type the service
//! takes, so handlers never check fields by hand.

pub mod actions;
pub mod api_keys;
pub mod audit;
pub mod connections;
pub mod events;
pub mod integrations;
pub mod tenants;
pub mod usage;
pub mod webhooks;
pub mod whoami;

/// Deserialises a field that distinguishes "absent" (`None`, via `#[serde(default)]`) from
/// "present and null" (`Some(None)`), for PATCH bodies where `null` clears a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Reads an optional whole number the way JSON Schema's `integer` means it: `57` and `57.0`
/// both count (clients and generators from an OpenAPI document may send either).
pub fn whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let Some(n) = <Option<serde_json::Number> as serde::Deserialize>::deserialize(d)? else {
        return Ok(None);
    };
    let v = n
        .as_i64()
        .or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
        .ok_or_else(|| D::Error::custom(format!("expected a whole number, got {n}")))?;
    T::try_from(v)
        .map(Some)
        .map_err(|_| D::Error::custom(format!("{v} is out of range")))
}

/// [`whole`] for PATCH fields where `null` clears the value.
pub fn present_whole<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    whole(d).map(Some)
}

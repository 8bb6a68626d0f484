//! Moving typed records in and out of items.

use super::{Item, StoreError};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key of an item, which must carry `PK` and `SK` strings.
    pub fn of(item: &Item) -> Result<Self, StoreError> {
        let attr = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| StoreError::Invalid(format!("item has no string `{name}`")))
        };
        Ok(Self {
            pk: attr("PK")?,
            sk: attr("SK")?,
        })
    }
}

/// Serialises `record` into an item stored at `key`.
pub fn to_item<T: Serialize>(key: &ItemKey, record: &T) -> Result<Item, StoreError> {
    let value = serde_json::to_value(record).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let Value::Object(mut item) = value else {
        return Err(StoreError::Invalid("record is not a JSON object".into()));
    };
    item.insert("PK".into(), Value::String(key.pk.clone()));
    item.insert("SK".into(), Value::String(key.sk.clone()));
    Ok(item)
}

/// Decodes a record from an item, ignoring the key attributes.
pub fn from_item<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    item.remove("PK");
    item.remove("SK");
    serde_json::from_value(Value::Object(item)).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The clock that `ttl` attributes are compared against.
pub fn now_epoch_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

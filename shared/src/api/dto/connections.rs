//! `/v1/providers` and `/v1/connections` wire types.

use crate::credentials::connections::{
    ConnectionChange, ConnectionFilter, ConnectionSettings, CredentialsInput,
};
use crate::credentials::providers::{self, Field, Provider, Rule};
use crate::error::{DomainError, Errors, FieldError};
use crate::model::connection::{
    Connection, ConnectionStatus, MAX_METADATA_BYTES, MAX_METADATA_KEY_LEN, MAX_METADATA_KEYS,
    valid_metadata_key,
};
use crate::model::tenant::validate_name;
use crate::model::{ConnectionId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// The provider ids (`provider`).
pub struct ProviderId;

impl PartialSchema for ProviderId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A provider of the registry (`GET /v1/providers`)."))
            .enum_values(Some(providers::known()))
            .into()
    }
}
impl ToSchema for ProviderId {}

fn nullable(ty: Type, nullable: bool) -> SchemaType {
    if nullable {
        SchemaType::from_iter([ty, Type::Null])
    } else {
        SchemaType::Type(ty)
    }
}

fn credentials_schema(is_update: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Object, is_update))
        .description(Some(
            "The provider's credential fields (`GET /v1/providers` lists them, with which are \
             secret, required, and how each is checked), every value a string. Write-only: \
             sealed under a fresh data key, never shown again; views show the non-secret fields \
             and a `fingerprint`. In a `PATCH`, replaces the credentials (a rotation).",
        ))
        .into()
}

fn create_credentials_schema() -> Schema {
    credentials_schema(false)
}

fn update_credentials_schema() -> Schema {
    credentials_schema(true)
}

fn metadata_schema(is_update: bool) -> Schema {
    ObjectBuilder::new()
        .schema_type(nullable(Type::Object, is_update))
        .description(Some(format!(
            "Free JSON the list filters by (`?metadata[env]=sandbox`), at most \
             {MAX_METADATA_KEYS} keys and {MAX_METADATA_BYTES} bytes of JSON. Shown in every \
             view: never put secrets here."
        )))
        .max_properties(Some(MAX_METADATA_KEYS))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!(
                    "^[A-Za-z0-9_.-]{{1,{MAX_METADATA_KEY_LEN}}}$"
                ))),
        ))
        .into()
}

fn create_metadata_schema() -> Schema {
    metadata_schema(false)
}

fn update_metadata_schema() -> Schema {
    metadata_schema(true)
}

/// Checks a metadata object: key names, how many, how large.
pub fn parse_metadata(metadata: Map<String, Value>) -> Result<Map<String, Value>, FieldError> {
    if metadata.len() > MAX_METADATA_KEYS {
        return Err(FieldError::new(
            "metadata",
            format!("must have at most {MAX_METADATA_KEYS} keys"),
        ));
    }
    if let Some(bad) = metadata.keys().find(|k| !valid_metadata_key(k)) {
        return Err(FieldError::new(
            format!("metadata.{bad}"),
            format!("a key must be 1-{MAX_METADATA_KEY_LEN} letters, digits, `_`, `-` or `.`"),
        ));
    }
    let size = serde_json::to_vec(&metadata).map_or(usize::MAX, |b| b.len());
    if size > MAX_METADATA_BYTES {
        return Err(FieldError::new(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        ));
    }
    Ok(metadata)
}

/// `POST /v1/connections`.
// No `Debug`: `credentials` holds secrets.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "provider": "twilio",
    "name": "SMS (sandbox)",
    "credentials": {
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token": "your-auth-token"
    },
    "metadata": {"env": "sandbox"}
}))]
pub struct ConnectionCreate {
    #[schema(value_type = ProviderId)]
    pub provider: String,
    /// A display name: 1–128 characters, not only spaces, no control, bidi or other invisible
    /// formatting characters.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb][^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$"
    )]
    pub name: String,
    #[schema(schema_with = create_credentials_schema)]
    pub credentials: Value,
    #[serde(default)]
    #[schema(schema_with = create_metadata_schema)]
    pub metadata: Map<String, Value>,
}

impl ConnectionCreate {
    /// The checked settings, every bad field named at once (the credentials are checked
    /// against the provider when the connection is made).
    pub fn parse(self) -> Result<ConnectionSettings, DomainError> {
        let mut errors = Errors::default();
        let name = errors.take(validate_name("name", &self.name));
        let metadata = errors.take(parse_metadata(self.metadata));
        if providers::find(&self.provider).is_none() {
            errors.take(providers::lookup(&self.provider));
        }
        errors.finish()?;
        Ok(ConnectionSettings {
            provider: self.provider,
            name: name.unwrap_or_default(),
            credentials: CredentialsInput(self.credentials),
            metadata: metadata.unwrap_or_default(),
        })
    }
}

/// `PATCH /v1/connections/{id}`: every field optional.
// No `Debug`: `credentials` holds secrets.
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionUpdate {
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*[^\s\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]*$"
    )]
    pub name: Option<String>,
    /// Replaces the metadata; `{}` removes it.
    #[schema(schema_with = update_metadata_schema)]
    pub metadata: Option<Map<String, Value>>,
    /// New credentials for the same provider (a rotation: a fresh data key, `rotated_at` set).
    #[schema(schema_with = update_credentials_schema)]
    pub credentials: Option<Value>,
}

impl ConnectionUpdate {
    /// The checked change, every bad field named at once.
    pub fn parse(self) -> Result<ConnectionChange, DomainError> {
        let mut errors = Errors::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| errors.take(validate_name("name", n)));
        let metadata = self.metadata.and_then(|m| errors.take(parse_metadata(m)));
        errors.finish()?;
        Ok(ConnectionChange {
            name,
            metadata,
            credentials: self.credentials.map(CredentialsInput),
        })
    }
}

/// A connection as returned: never a secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectionView {
    pub id: ConnectionId,
    #[schema(value_type = ProviderId)]
    pub provider: String,
    pub name: String,
    /// The credential fields the provider marks non-secret (`account_sid`, `base_url`); secret
    /// fields never appear.
    #[schema(value_type = Object)]
    pub credentials: Map<String, Value>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    #[schema(value_type = ConnectionStatusSchema)]
    pub status: ConnectionStatus,
    /// `***` + the main secret's last 4 characters (none for secrets under 12 characters),
    /// `:`, and 16 hex digits of an HMAC-SHA256 of the secret fields keyed from the record's
    /// data key: says which credential is stored, without letting it be guessed.
    pub fingerprint: String,
    /// When the credentials were last replaced.
    pub rotated_at: Option<DateTime<Utc>>,
    /// When the connection was revoked (its ciphertext destroyed).
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Connection> for ConnectionView {
    fn from(c: &Connection) -> Self {
        Self {
            id: c.id,
            provider: c.provider.clone(),
            name: c.name.clone(),
            credentials: c.public_fields.clone(),
            metadata: c.metadata.clone(),
            status: c.status,
            fingerprint: c.fingerprint.clone(),
            rotated_at: c.rotated_at,
            revoked_at: c.revoked_at,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A connection's status.
#[derive(Serialize, ToSchema)]
#[schema(as = ConnectionStatus)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // exists for its schema
pub enum ConnectionStatusSchema {
    /// Its credentials can be opened.
    Active,
    /// Its ciphertext is destroyed; the record stays for the audit trail.
    Revoked,
}

/// `GET /v1/connections` query. Metadata filters are a deep object: `?metadata[env]=sandbox`
/// keeps the connections whose metadata `env` is the string `sandbox` (or the number or boolean
/// written so); several must all match.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionsQuery {
    /// Items per page, 1–250 (default 50).
    #[param(minimum = 1, maximum = 250)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only connections of this provider.
    #[param(value_type = Option<ProviderId>)]
    pub provider: Option<String>,
    /// Only connections whose metadata has each of these values (`metadata[env]=sandbox`), at
    /// most 8.
    #[param(style = DeepObject, explode, schema_with = metadata_filter_schema)]
    pub metadata: Option<std::collections::BTreeMap<String, String>>,
}

/// The most metadata filters one list request may give.
pub const MAX_METADATA_FILTERS: usize = 8;

fn metadata_filter_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(MAX_METADATA_FILTERS))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!(
                    "^[A-Za-z0-9_.-]{{1,{MAX_METADATA_KEY_LEN}}}$"
                ))),
        ))
        .additional_properties(Some(ObjectBuilder::new().schema_type(Type::String)))
        .into()
}

/// A parsed `GET /v1/connections` query.
#[derive(Debug, Default)]
pub struct ConnectionsListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub filter: ConnectionFilter,
}

/// Parses the raw query string: `limit`, `cursor`, `provider` and `metadata[key]` (serde's
/// query decoding has no deep objects). Other plain parameters are ignored, as on every list;
/// other bracketed ones are refused.
pub fn parse_list_query(raw: &str) -> Result<ConnectionsListQuery, FieldError> {
    let mut out = ConnectionsListQuery::default();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        match name.as_ref() {
            "limit" => {
                out.limit =
                    Some(value.parse().map_err(|_| {
                        FieldError::new("limit", "must be an integer from 1 to 250")
                    })?);
            }
            "cursor" => out.cursor = Some(value.into_owned()),
            "provider" => {
                providers::lookup(&value)?;
                out.filter.provider = Some(value.into_owned());
            }
            // A bracketed name is a deep-object filter: one this list does not know would
            // silently match everything, so it is refused rather than ignored.
            other if other.contains('[') && !other.starts_with("metadata[") => {
                return Err(FieldError::new(
                    "metadata",
                    "a bracketed parameter other than `metadata[key]` is not a filter of this list",
                ));
            }
            other => {
                if let Some(rest) = other.strip_prefix("metadata") {
                    let key = rest
                        .strip_prefix('[')
                        .and_then(|r| r.strip_suffix(']'))
                        .filter(|k| valid_metadata_key(k))
                        .ok_or_else(|| {
                            FieldError::new(
                                "metadata",
                                "filter as `metadata[key]=value`, a key of 1-64 letters, \
                                 digits, `_`, `-` or `.`",
                            )
                        })?;
                    if out.filter.metadata.len() >= MAX_METADATA_FILTERS {
                        return Err(FieldError::new(
                            "metadata",
                            format!("at most {MAX_METADATA_FILTERS} metadata filters"),
                        ));
                    }
                    out.filter
                        .metadata
                        .push((key.to_owned(), value.into_owned()));
                }
            }
        }
    }
    out.filter.metadata.sort();
    Ok(out)
}

impl ConnectionsListQuery {
    /// What the cursor is bound to besides the tenant: the filter, so a cursor cannot be replayed
    /// under another one.
    pub fn owner(&self, tenant: TenantId) -> String {
        let filter = serde_json::json!([self.filter.provider, self.filter.metadata]);
        format!("{tenant}/{filter}")
    }
}

/// How a credential field is checked.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldFormat {
    /// Any text (no control characters).
    Text,
    /// Starts with `prefix` (and is `length` characters long, when given).
    Prefix,
    /// An https URL starting with `prefix`.
    UrlPrefix,
    /// An https URL whose host is not, and does not resolve to, an internal address.
    PublicHttpsUrl,
    /// An HTTP header name.
    HeaderName,
    /// An e-mail address.
    Email,
}

/// One credential field of a provider.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderFieldView {
    pub name: String,
    pub label: String,
    /// Secret fields are sealed and never shown again; the others appear in views.
    pub secret: bool,
    pub required: bool,
    pub format: FieldFormat,
    /// What the value must start with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// The exact length, when fixed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    /// The most characters any value may have.
    pub max_length: usize,
}

impl From<&Field> for ProviderFieldView {
    fn from(f: &Field) -> Self {
        let (format, prefix, length) = match f.rule {
            Rule::Text => (FieldFormat::Text, None, None),
            Rule::Prefix { prefix, len } => (FieldFormat::Prefix, Some(prefix.to_owned()), len),
            Rule::UrlPrefix { prefix } => (FieldFormat::UrlPrefix, Some(prefix.to_owned()), None),
            Rule::PublicHttpsUrl => (FieldFormat::PublicHttpsUrl, Some("https://".into()), None),
            Rule::HeaderName => (FieldFormat::HeaderName, None, None),
            Rule::Email => (FieldFormat::Email, None, None),
        };
        Self {
            name: f.name.to_owned(),
            label: f.label.to_owned(),
            secret: f.secret,
            required: f.required,
            format,
            prefix,
            length,
            max_length: providers::MAX_FIELD_LEN,
        }
    }
}

/// A provider of the registry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderView {
    #[schema(value_type = ProviderId)]
    pub id: String,
    pub display_name: String,
    pub fields: Vec<ProviderFieldView>,
    /// The action kinds a connection of this provider can serve.
    pub action_kinds: Vec<String>,
}

impl From<&Provider> for ProviderView {
    fn from(p: &Provider) -> Self {
        Self {
            id: p.id.to_owned(),
            display_name: p.display_name.to_owned(),
            fields: p.fields.iter().map(ProviderFieldView::from).collect(),
            action_kinds: p.action_kinds.iter().map(|k| (*k).to_owned()).collect(),
        }
    }
}

/// `GET /v1/providers`: the whole registry (one page, no cursor).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderList {
    pub data: Vec<ProviderView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries_read_deep_object_metadata_filters() {
        let q = parse_list_query("provider=twilio&metadata%5Benv%5D=sandbox&metadata[tier]=2&x=1")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(q.filter.provider.as_deref(), Some("twilio"));
        assert_eq!(
            q.filter.metadata,
            [
                ("env".to_owned(), "sandbox".to_owned()),
                ("tier".to_owned(), "2".to_owned())
            ]
        );
        assert!(parse_list_query("provider=nope").is_err_and(|e| e.field == "provider"));
        assert!(parse_list_query("metadata=x").is_err_and(|e| e.field == "metadata"));
        assert!(parse_list_query("metadata[a]b]=x").is_err_and(|e| e.field == "metadata"));
        assert!(parse_list_query("limit=x").is_err_and(|e| e.field == "limit"));
    }
}

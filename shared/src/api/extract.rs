//! Extractors that turn malformed input into problem+json naming the field, never a panic or a
//! bare 400 from the framework.

use super::AppState;
use super::problem::{Problem, ProblemKind};
use crate::audit::{Actor, Origin, Recorder};
use crate::auth::{Principal, TenantCaller};
use crate::error::FieldError;
use crate::model::Scope;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode, header};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;

/// A JSON request body, decoded with the failing field named. An empty body counts as `{}` so
/// that endpoints whose fields are all optional accept a bare POST.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
            let essence = ct.split(';').next().unwrap_or("").trim();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(Problem::new(
                    ProblemKind::UnsupportedMediaType,
                    "send the body as `content-type: application/json`",
                ));
            }
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::payload_too_large("the request body is larger than this endpoint accepts")
            } else {
                Problem::bad_request("body", "the request body could not be read")
            }
        })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let body = decode(text)?;
        // serde lets a struct be written as an array of its fields (`[]` is a valid "no fields
        // given"); every request body here is an object, so anything else is refused.
        if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Problem::validation(vec![FieldError::new(
                "body",
                "must be a JSON object",
            )]));
        }
        Ok(JsonBody(body))
    }
}

/// Decodes one JSON document, mapping serde's error to the field it concerns. Anything after
/// the document but whitespace (`{…} garbage`, `{…}{…}`, `{…}]]]`) makes the body malformed: a
/// proxy, a log or a second parser may read such a body differently from this one.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return malformed(&inner);
        }
        // A value error in a body that is not JSON at all is still a malformed body.
        if let Err(whole) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            && (whole.is_syntax() || whole.is_eof())
        {
            return malformed(&whole);
        }
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        let named = |marker: &str| {
            message
                .strip_prefix(marker)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_owned)
        };
        // serde_path_to_error already ends the path with an unknown field's name, but stops at
        // the parent for a missing one.
        let join = |leaf: String| {
            if path == "." || path.is_empty() {
                leaf
            } else if path.ends_with(&leaf) {
                path.clone()
            } else {
                format!("{path}.{leaf}")
            }
        };
        let field = named("unknown field `")
            .or_else(|| named("missing field `"))
            .map(join)
            // Every request body is an object: a path starting at an index means the body itself
            // was the wrong type.
            .unwrap_or_else(|| {
                if path.is_empty() || path == "." || path.starts_with('[') {
                    "body".into()
                } else {
                    path.clone()
                }
            });
        Problem::validation(vec![FieldError::new(field, message)])
    })?;
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

/// 400: the body is not (exactly one) JSON document.
fn malformed(inner: &serde_json::Error) -> Problem {
    Problem::new(
        ProblemKind::MalformedJson,
        format!("the body is not valid JSON: {inner}"),
    )
    .with_errors(vec![FieldError::new("body", inner.to_string())])
}

/// The raw key a request presents: an `Authorization: Bearer` token, else `x-api-key`. An
/// `Authorization` header of another scheme (`Basic` added by a proxy or an HTTP client's
/// defaults) is not ours and does not hide `x-api-key`.
fn presented_key(parts: &Parts) -> Option<&str> {
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    bearer.or_else(|| parts.headers.get("x-api-key")?.to_str().ok())
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, Problem> {
    Ok(state.auth.authenticate(presented_key(parts)).await?)
}

/// Where a request came from, for its audit entries: its request id (set by the request-id
/// layer before any handler runs), the client address (`ConnectInfo`, which `serve` and the
/// Lambda adapter set) and its `User-Agent`.
fn origin(parts: &Parts, actor: Actor) -> Origin {
    let header = |name: &HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Origin {
        actor,
        request_id: header(&super::request_id::HEADER),
        source_ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
        user_agent: header(&header::USER_AGENT),
    }
}

/// A request made with the root key, and the recorder of its writes' audit entries.
pub struct RootCaller {
    pub audit: Recorder,
}

impl FromRequestParts<AppState> for RootCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match principal(parts, state).await? {
            Principal::Root => Ok(RootCaller {
                audit: state.recorder(origin(parts, Actor::root())),
            }),
            Principal::Tenant(_) => Err(Problem::forbidden("this route requires the root key")),
        }
    }
}

/// A request made with any key that works, the root key included: for the routes every key
/// may call (`GET /v1/whoami`). No scope is checked.
pub struct AnyCaller(pub Principal);

impl FromRequestParts<AppState> for AnyCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        Ok(AnyCaller(principal(parts, state).await?))
    }
}

/// A request made with a tenant's API key, and the recorder of its writes' audit entries
/// (the key is the actor). Scope checks happen in the handler via [`Self::require`].
pub struct Caller {
    pub key: TenantCaller,
    pub audit: Recorder,
}

impl Caller {
    /// 403 unless the key holds (or is granted) `scope`.
    pub fn require(&self, scope: Scope) -> Result<&TenantCaller, Problem> {
        if self.key.has(scope) {
            Ok(&self.key)
        } else {
            Err(Problem::forbidden(format!(
                "this API key lacks the `{scope}` scope"
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match principal(parts, state).await? {
            Principal::Tenant(caller) => Ok(Caller {
                audit: state.recorder(origin(parts, Actor::api_key(caller.key_id))),
                key: caller,
            }),
            Principal::Root => Err(Problem::forbidden(
                "the root key may only create and list tenants and issue recovery keys; use a \
                 tenant API key",
            )),
        }
    }
}

/// Parses a typed id from a path segment, naming the parameter when it is malformed.
pub fn path_id<T: std::str::FromStr<Err = crate::model::IdError>>(
    field: &str,
    raw: &str,
) -> Result<T, Problem> {
    raw.parse()
        .map_err(|e: crate::model::IdError| Problem::bad_request(field, e.to_string()))
}

/// Query parameters decoded into a typed struct; a malformed one is a 400 naming it.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let raw = parts.uri.query().unwrap_or("");
        let pairs = form_urlencoded::parse(raw.as_bytes());
        let de = serde_urlencoded::Deserializer::new(pairs);
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|err| {
                let field = err.path().to_string();
                let message = err.into_inner().to_string();
                let field = if field.is_empty() || field == "." {
                    message
                        .split('`')
                        .nth(1)
                        .map_or_else(|| "query".to_owned(), str::to_owned)
                } else {
                    field
                };
                Problem::bad_request(&field, message)
            })
    }
}

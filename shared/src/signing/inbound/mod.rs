//! Inbound webhook verification: one [`Verifier`] per provider, one registry keyed by the
//! provider's type string, and the shared checks every scheme is built from.
//!
//! The intake builds a [`ProviderConfig`] from an integration's `type` and `config` (parsed and
//! validated once, so a bad config is a 422 naming `config.<field>` at create time, never a
//! failure at request time), adds the secrets still in their rotation grace, and calls
//! [`ProviderConfig::verify`] with a [`Request`] view of the raw request. The answer is
//! [`Verified`] (the provider's delivery id for dedupe, and a handshake reply where the
//! provider wants one) or a [`Rejection`] saying exactly which check failed: for the log and the
//! rejection counter only. The caller answers every rejection the same way ("signature
//! verification failed"), so a prober learns nothing about which check it tripped.
//!
//! Every scheme verifies the raw body bytes, compares in constant time, accepts any of several
//! signatures against any of several secrets, and bounds its work: a signature header longer
//! than [`MAX_HEADER_BYTES`] or carrying more than [`MAX_SIGNATURES`] signatures is rejected
//! before any MAC is computed, and each secret costs one MAC per request however many
//! signatures the header lists.

mod common;
mod config;
mod sign;

mod api_key;
mod basic_auth;
mod discord;
mod generic_hmac;
mod github;
mod gitlab;
mod intercom;
mod linear;
mod mailgun;
mod paddle;
mod sendgrid;
mod shopify;
mod slack;
mod square;
mod standard_webhooks;
mod stripe;
mod twilio;
mod zendesk;

pub use common::Algorithm;
pub use config::{ConfigError, MAX_SECRETS, ProviderConfig};
pub use sign::{SignError, SignedRequest, sign_request};

use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

/// How far a timestamp may be from now, in seconds, unless the integration says otherwise.
pub const DEFAULT_TOLERANCE_SECONDS: u32 = 300;
/// The longest signature or timestamp header read; longer ones are rejected unread. The largest
/// legitimate one (a Standard Webhooks header with several Ed25519 signatures) is under 2 KiB.
pub const MAX_HEADER_BYTES: usize = 4096;
/// The most signatures one header may carry. Providers send one per active secret (two during a
/// rotation), so 16 is generous; more is hostile and rejected rather than compared.
pub const MAX_SIGNATURES: usize = 16;

/// The request as the provider sent it: what every scheme may read.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a http::Method,
    /// The public URL the provider called (Twilio and Square sign it), query included.
    pub url: &'a str,
    pub headers: &'a http::HeaderMap,
    /// The raw body bytes, exactly as received: never a re-serialised body.
    pub body: &'a [u8],
    /// Unix seconds, the clock the timestamp tolerance is checked against.
    pub now: i64,
}

/// A request that passed its provider's checks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    /// The provider's delivery id (the same on every retry of one delivery), from its header;
    /// `None` when the provider sends none, and the intake falls back to its own key.
    pub dedupe_key: Option<String>,
    /// The answer the provider expects instead of the usual 202: Slack's `url_verification`
    /// challenge, Discord's PING → PONG.
    pub immediate_reply: Option<ImmediateReply>,
}

/// A handshake answer, sent with status 200.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImmediateReply {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Which check a request failed. Logged and counted; never shown to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("missing header `{header}`")]
    MissingHeader { header: String },
    #[error("header `{header}` was sent more than once")]
    RepeatedHeader { header: String },
    #[error("header `{header}` is {len} bytes, more than the {max} read")]
    HeaderTooLong {
        header: String,
        len: usize,
        max: usize,
    },
    #[error("header `{header}` is malformed: {reason}")]
    MalformedHeader {
        header: String,
        reason: &'static str,
    },
    #[error("header `{header}` carries more than {max} signatures")]
    TooManySignatures { header: String, max: usize },
    #[error("timestamp is stale by {seconds} seconds (tolerance {tolerance} s)")]
    Stale { seconds: i64, tolerance: u32 },
    #[error("timestamp is {seconds} seconds in the future (tolerance {tolerance} s)")]
    InTheFuture { seconds: i64, tolerance: u32 },
    #[error("no signature matched")]
    NoSignatureMatched,
    #[error("the credential in `{header}` does not match")]
    WrongCredential { header: String },
    #[error("the body's SHA-256 does not match the signed `bodySHA256`")]
    BodyHashMismatch,
    #[error("the body has no `{field}`")]
    MissingBodyField { field: &'static str },
    #[error("the body is malformed: {reason}")]
    MalformedBody { reason: &'static str },
    #[error("this scheme signs the public URL, and none was given")]
    NoUrl,
}

/// One provider's verification scheme, built from a validated config and cached with it.
pub trait Verifier: Send + Sync {
    /// Checks `request`; `tolerance` (seconds) bounds the distance of a signed timestamp from
    /// `request.now` where the scheme has one.
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection>;

    /// A request this provider would send with the current secret: for tests and
    /// `switchboard sign`. Only shared-secret schemes can sign.
    fn sign(&self, _body: &[u8], _url: &str, _now: i64) -> Result<SignedRequest, SignError> {
        Err(SignError::NotSharedSecret)
    }
}

/// Builds a verifier from the key material (current first) and the provider's options.
pub(crate) type BuildFn =
    fn(&[SecretString], &Map<String, Value>) -> Result<Box<dyn Verifier>, FieldError>;

/// A registry entry: how to build a provider's verifier from its config.
pub(crate) struct Entry {
    pub name: &'static str,
    /// The config field holding the rotating key material (`secret`, `public_key`,
    /// `password`): what the API masks and what rotation keeps in grace.
    pub key_field: &'static str,
    /// Builds the verifier from the key material (current first) and the other options. Errors
    /// name the config field.
    pub build: BuildFn,
}

/// Every provider, in the order [`KNOWN`] lists them.
static REGISTRY: [&Entry; 18] = [
    &github::ENTRY,
    &gitlab::ENTRY,
    &slack::ENTRY,
    &stripe::ENTRY,
    &shopify::ENTRY,
    &twilio::ENTRY,
    &standard_webhooks::ENTRY,
    &sendgrid::ENTRY,
    &discord::ENTRY,
    &square::ENTRY,
    &paddle::ENTRY,
    &linear::ENTRY,
    &zendesk::ENTRY,
    &intercom::ENTRY,
    &mailgun::ENTRY,
    &generic_hmac::ENTRY,
    &api_key::ENTRY,
    &basic_auth::ENTRY,
];

/// The provider type strings, for "unknown provider" answers and the API's schema.
pub const KNOWN: [&str; 18] = [
    "github",
    "gitlab",
    "slack",
    "stripe",
    "shopify",
    "twilio",
    "standard_webhooks",
    "sendgrid",
    "discord",
    "square",
    "paddle",
    "linear",
    "zendesk",
    "intercom",
    "mailgun",
    "generic_hmac",
    "api_key",
    "basic_auth",
];

/// The registry entry of a provider type string.
pub(crate) fn entry(provider: &str) -> Option<&'static Entry> {
    REGISTRY.iter().copied().find(|e| e.name == provider)
}

/// The config field holding a provider's key material (`secret`, `public_key` or `password`),
/// or `None` for an unknown provider.
pub fn key_field(provider: &str) -> Option<&'static str> {
    entry(provider).map(|e| e.key_field)
}

/// Request builders for the unit tests of every scheme.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::{Request, SignedRequest};

    pub static POST: http::Method = http::Method::POST;
    /// A fixed clock for the tests.
    pub const NOW: i64 = 1_700_000_000;

    /// A request owned by the test.
    #[derive(Clone, Debug)]
    pub struct Owned {
        pub url: String,
        pub headers: http::HeaderMap,
        pub body: Vec<u8>,
    }

    impl Owned {
        pub fn view(&self, now: i64) -> Request<'_> {
            Request {
                method: &POST,
                url: &self.url,
                headers: &self.headers,
                body: &self.body,
                now,
            }
        }

        pub fn set(&mut self, name: &'static str, value: &str) {
            self.headers
                .insert(name, http::HeaderValue::from_str(value).unwrap());
        }
    }

    pub fn request_with(headers: &[(&'static str, &str)], body: &[u8]) -> Owned {
        let mut owned = Owned {
            url: String::new(),
            headers: http::HeaderMap::new(),
            body: body.to_vec(),
        };
        for (name, value) in headers {
            owned.set(name, value);
        }
        owned
    }

    pub fn view(signed: &SignedRequest, now: i64) -> Request<'_> {
        Request {
            method: &POST,
            url: &signed.url,
            headers: &signed.headers,
            body: &signed.body,
            now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_and_the_known_list_agree() {
        let names: Vec<&str> = REGISTRY.iter().map(|e| e.name).collect();
        assert_eq!(names, KNOWN);
        for name in KNOWN {
            assert!(entry(name).is_some(), "{name}");
        }
        assert!(entry("GitHub").is_none(), "type strings are exact");
    }
}

//! `generic_hmac`: an HMAC of a templated message in one header, the shape most in-house
//! senders use (`x-signature: sha256=<hex>`, optionally with `x-timestamp` and a signed
//! `{timestamp}.{body}`). Options: `algorithm` (sha1/sha256/sha512, default sha256), `encoding`
//! (hex/base64, default hex), `header` (default `x-signature`), `prefix` (e.g. `sha256=`),
//! `timestamp_header` (Unix seconds, checked against the tolerance), `template` (placeholders
//! `{timestamp}`, `{body}`, `{url}`; default `{body}`, or `{timestamp}.{body}` with a timestamp
//! header) and `id_header` (the sender's delivery id, for dedupe).
//!
//! [`HmacScheme`] is also the engine of the providers whose scheme is exactly this shape
//! (GitHub, Intercom, Shopify, Square, Zendesk, Slack, Linear), so they share one tested path.

use super::common::{
    self, Algorithm, MacKeys, Tag, bounded_entries, check_timestamp, dedupe_key, field, header,
    malformed, only_options, parse_unix_seconds, string_option,
};
use super::{Entry, Rejection, Request, SignError, SignedRequest, Verified, Verifier};
use crate::error::FieldError;
use secrecy::SecretString;
use serde_json::{Map, Value};

pub(super) static ENTRY: Entry = Entry {
    name: "generic_hmac",
    key_field: "secret",
    build,
};

const OPTIONS: [&str; 7] = [
    "algorithm",
    "encoding",
    "header",
    "prefix",
    "timestamp_header",
    "template",
    "id_header",
];
const MAX_TEMPLATE_BYTES: usize = 256;
const MAX_PREFIX_BYTES: usize = 32;

/// How the MAC is written in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    Hex,
    Base64,
}

/// How the signed timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeFormat {
    UnixSeconds,
    /// RFC 3339 (`2021-03-25T05:09:27Z`): Zendesk.
    Rfc3339,
}

/// One piece of the signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    Literal(Vec<u8>),
    /// The timestamp header's value, verbatim.
    Timestamp,
    Body,
    /// The public URL the provider called.
    Url,
}

/// An HMAC scheme: which header, how encoded, over which message.
pub(super) struct HmacScheme {
    pub header: String,
    pub prefix: Option<String>,
    pub encoding: Encoding,
    pub keys: MacKeys,
    pub timestamp: Option<(String, TimeFormat)>,
    pub template: Vec<Segment>,
    pub id_header: Option<String>,
}

/// What [`HmacScheme::check`] read, for schemes that add checks of their own.
pub(super) struct Checked {
    pub dedupe_key: Option<String>,
}

impl HmacScheme {
    /// The message the MAC covers, as slices of the request.
    fn parts<'a>(&'a self, timestamp: &'a str, url: &'a str, body: &'a [u8]) -> Vec<&'a [u8]> {
        self.template
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => l.as_slice(),
                Segment::Timestamp => timestamp.as_bytes(),
                Segment::Body => body,
                Segment::Url => url.as_bytes(),
            })
            .collect()
    }

    fn signs_url(&self) -> bool {
        self.template.contains(&Segment::Url)
    }

    /// The presented signatures: every entry of the header (comma or space separated), each
    /// with the prefix when one is configured, decoded; bounded in count.
    fn presented(&self, value: &str) -> Result<Vec<Tag>, Rejection> {
        let entries = bounded_entries(&self.header, value, &[',', ' ', '\t'], |_| true)?;
        let mut tags = Vec::with_capacity(entries.len());
        for entry in entries {
            let encoded = match &self.prefix {
                Some(prefix) => entry
                    .strip_prefix(prefix.as_str())
                    .ok_or_else(|| malformed(&self.header, "signature lacks its prefix"))?,
                None => entry,
            };
            let tag = match self.encoding {
                Encoding::Hex => Tag::from_hex(encoded)
                    .ok_or_else(|| malformed(&self.header, "signature is not hex"))?,
                Encoding::Base64 => Tag::from_base64(encoded)
                    .ok_or_else(|| malformed(&self.header, "signature is not base64"))?,
            };
            tags.push(tag);
        }
        if tags.is_empty() {
            return Err(malformed(&self.header, "no signature"));
        }
        Ok(tags)
    }

    /// Header present and well-formed, timestamp within tolerance, then any signature matching
    /// any key.
    pub(super) fn check(
        &self,
        request: &Request<'_>,
        tolerance: u32,
    ) -> Result<Checked, Rejection> {
        let presented = self.presented(header(request, &self.header)?)?;
        let timestamp = match &self.timestamp {
            Some((name, format)) => {
                let raw = header(request, name)?;
                let at = match format {
                    TimeFormat::UnixSeconds => parse_unix_seconds(name, raw)?,
                    TimeFormat::Rfc3339 => parse_rfc3339(name, raw)?,
                };
                check_timestamp(at, request.now, tolerance)?;
                raw
            }
            None => "",
        };
        if self.signs_url() && request.url.is_empty() {
            return Err(Rejection::NoUrl);
        }
        let parts = self.parts(timestamp, request.url, request.body);
        if !self.keys.any_matches(&parts, &presented) {
            return Err(Rejection::NoSignatureMatched);
        }
        Ok(Checked {
            dedupe_key: self.id_header.as_ref().and_then(|h| dedupe_key(request, h)),
        })
    }

    /// The request signed with the current key at `now`.
    pub(super) fn sign(
        &self,
        body: &[u8],
        url: &str,
        now: i64,
    ) -> Result<SignedRequest, SignError> {
        if self.signs_url() && url.is_empty() {
            return Err(SignError::NoUrl);
        }
        let timestamp = match self.timestamp {
            Some((_, TimeFormat::UnixSeconds)) | None => now.to_string(),
            Some((_, TimeFormat::Rfc3339)) => chrono::DateTime::from_timestamp(now, 0)
                .ok_or(SignError::BadHeader)?
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let tag = self
            .keys
            .current(&self.parts(&timestamp, url, body))
            .ok_or(SignError::NotSharedSecret)?;
        let encoded = match self.encoding {
            Encoding::Hex => tag.to_hex(),
            Encoding::Base64 => tag.to_base64(),
        };
        let value = format!("{}{encoded}", self.prefix.as_deref().unwrap_or(""));
        let mut signed = SignedRequest::new(url, body.to_vec()).header(&self.header, &value)?;
        if let Some((name, _)) = &self.timestamp {
            signed = signed.header(name, &timestamp)?;
        }
        if let Some(id) = &self.id_header {
            signed = signed.header(id, &common::random_id())?;
        }
        Ok(signed)
    }
}

/// An RFC 3339 timestamp as Unix seconds.
fn parse_rfc3339(header: &str, raw: &str) -> Result<i64, Rejection> {
    if raw.len() > 64 {
        return Err(malformed(header, "timestamp is not RFC 3339"));
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp())
        .map_err(|_| malformed(header, "timestamp is not RFC 3339"))
}

/// Parses a template into segments: `{body}` exactly once (a MAC that does not cover the body
/// proves nothing about it), `{timestamp}` only with a timestamp header and then required.
pub(super) fn parse_template(
    template: &str,
    with_timestamp: bool,
) -> Result<Vec<Segment>, FieldError> {
    let bad = |message: String| FieldError::new(field("template"), message);
    if template.len() > MAX_TEMPLATE_BYTES {
        return Err(bad(format!("must be at most {MAX_TEMPLATE_BYTES} bytes")));
    }
    let mut segments = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            segments.push(Segment::Literal(rest.as_bytes()[..open].to_vec()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| bad("has an unclosed `{`".into()))?;
        segments.push(match &after[..close] {
            "timestamp" => Segment::Timestamp,
            "body" => Segment::Body,
            "url" => Segment::Url,
            other => {
                return Err(bad(format!(
                    "unknown placeholder `{{{other}}}` (use {{timestamp}}, {{body}}, {{url}})"
                )));
            }
        });
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        segments.push(Segment::Literal(rest.as_bytes().to_vec()));
    }
    let count = |s: &Segment| segments.iter().filter(|x| *x == s).count();
    if count(&Segment::Body) != 1 {
        return Err(bad("must contain `{body}` exactly once".into()));
    }
    match (with_timestamp, count(&Segment::Timestamp)) {
        (true, 0) => Err(bad(
            "must contain `{timestamp}` when `timestamp_header` is set (else the timestamp is not signed)"
                .into(),
        )),
        (false, n) if n > 0 => Err(bad(
            "uses `{timestamp}`: set `timestamp_header` too".into(),
        )),
        _ => Ok(segments),
    }
}

fn build(
    secrets: &[SecretString],
    options: &Map<String, Value>,
) -> Result<Box<dyn Verifier>, FieldError> {
    only_options(options, &OPTIONS)?;
    let algorithm = match string_option(options, "algorithm")? {
        None => Algorithm::Sha256,
        Some(a) => Algorithm::parse(a)
            .ok_or_else(|| FieldError::new(field("algorithm"), "must be sha1, sha256 or sha512"))?,
    };
    let encoding = match string_option(options, "encoding")? {
        None | Some("hex") => Encoding::Hex,
        Some("base64") => Encoding::Base64,
        Some(_) => return Err(FieldError::new(field("encoding"), "must be hex or base64")),
    };
    let header = common::header_option(options, "header", Some("x-signature"))?
        .unwrap_or_else(|| "x-signature".to_owned());
    let prefix = match string_option(options, "prefix")? {
        None | Some("") => None,
        Some(p)
            if p.len() <= MAX_PREFIX_BYTES
                && p.bytes().all(|b| b.is_ascii_graphic() && b != b',') =>
        {
            Some(p.to_owned())
        }
        Some(_) => {
            return Err(FieldError::new(
                field("prefix"),
                format!("must be at most {MAX_PREFIX_BYTES} visible ASCII characters, no comma"),
            ));
        }
    };
    let timestamp_header = common::header_option(options, "timestamp_header", None)?;
    let default_template = if timestamp_header.is_some() {
        "{timestamp}.{body}"
    } else {
        "{body}"
    };
    let template = parse_template(
        string_option(options, "template")?.unwrap_or(default_template),
        timestamp_header.is_some(),
    )?;
    let id_header = common::header_option(options, "id_header", None)?;
    Ok(Box::new(GenericHmac(HmacScheme {
        header,
        prefix,
        encoding,
        keys: MacKeys::from_secrets(algorithm, secrets, "config.secret")?,
        timestamp: timestamp_header.map(|h| (h, TimeFormat::UnixSeconds)),
        template,
        id_header,
    })))
}

/// A verifier that is exactly an [`HmacScheme`]; the fixed-shape providers build one too.
pub(super) struct GenericHmac(pub HmacScheme);

impl Verifier for GenericHmac {
    fn verify(&self, request: &Request<'_>, tolerance: u32) -> Result<Verified, Rejection> {
        let checked = self.0.check(request, tolerance)?;
        Ok(Verified {
            dedupe_key: checked.dedupe_key,
            immediate_reply: None,
        })
    }

    fn sign(&self, body: &[u8], url: &str, now: i64) -> Result<SignedRequest, SignError> {
        self.0.sign(body, url, now)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ProviderConfig;
    use super::super::tests_support::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_must_sign_the_body_and_a_declared_timestamp() {
        let with_ts = |t: &str| parse_template(t, true).map(|_| ());
        let without = |t: &str| parse_template(t, false).map(|_| ());
        assert!(with_ts("{timestamp}.{body}").is_ok());
        assert!(without("{url}{body}").is_ok());
        assert!(without("{timestamp}").is_err());
        assert!(without("{body}{body}").is_err());
        assert!(without("{timestamp}.{body}").is_err());
        assert!(with_ts("{body}").is_err());
        assert!(without("{bdy}").is_err());
        assert!(without("{body").is_err());
        assert!(without(&"x".repeat(300)).is_err());
    }

    #[test]
    fn options_are_validated_and_named() {
        let cases = [
            (
                json!({"secret": "s", "algorithm": "md5"}),
                "config.algorithm",
            ),
            (json!({"secret": "s", "encoding": "b32"}), "config.encoding"),
            (
                json!({"secret": "s", "header": "bad header"}),
                "config.header",
            ),
            (json!({"secret": "s", "prefix": "a,b"}), "config.prefix"),
            (
                json!({"secret": "s", "template": "{timestamp}.{body}"}),
                "config.template",
            ),
            (
                json!({"secret": "s", "timestamp_header": 5}),
                "config.timestamp_header",
            ),
            (json!({"secret": "s", "extra": true}), "config.extra"),
        ];
        for (config, field) in cases {
            let e = ProviderConfig::parse("generic_hmac", &config).unwrap_err();
            assert_eq!(e.field_error().field, field, "{config}");
        }
    }

    #[test]
    fn every_algorithm_and_encoding_round_trips_and_rejects_tampering() {
        for algorithm in ["sha1", "sha256", "sha512"] {
            for encoding in ["hex", "base64"] {
                let config = ProviderConfig::parse(
                    "generic_hmac",
                    &json!({"secret": "in-house", "algorithm": algorithm, "encoding": encoding,
                            "header": "X-Sig", "prefix": "v=", "timestamp_header": "x-ts",
                            "id_header": "x-id"}),
                )
                .unwrap();
                let signed = config.sign(b"{\"a\":1}", "", NOW).unwrap();
                let ok = config.verify(&view(&signed, NOW), 300).unwrap();
                assert!(ok.dedupe_key.is_some());
                let mut tampered = signed.clone();
                tampered.body = b"{\"a\":2}".to_vec();
                assert_eq!(
                    config.verify(&view(&tampered, NOW), 300),
                    Err(Rejection::NoSignatureMatched),
                    "{algorithm} {encoding}"
                );
                assert!(matches!(
                    config.verify(&view(&signed, NOW + 301), 300),
                    Err(Rejection::Stale { seconds: 301, .. })
                ));
            }
        }
    }

    #[test]
    fn a_missing_prefix_or_bad_encoding_is_malformed() {
        let config =
            ProviderConfig::parse("generic_hmac", &json!({"secret": "s", "prefix": "sha256="}))
                .unwrap();
        for value in ["abcd", "sha256=zz", "sha256="] {
            let r = request_with(&[("x-signature", value)], b"{}");
            assert!(
                matches!(
                    config.verify(&r.view(NOW), 300),
                    Err(Rejection::MalformedHeader { .. })
                ),
                "{value}"
            );
        }
    }
}

//! The inbound verifiers from the outside: every provider's published vector (from
//! `tests/fixtures/signatures.json`), a round trip with a non-UTF-8 body, tampering and a wrong
//! secret for every provider that can sign, bounded work on hostile signature headers, and a
//! property test that no verifier panics on arbitrary headers and bodies.

use proptest::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use switchboard::signing::inbound::{
    KNOWN, MAX_HEADER_BYTES, MAX_SIGNATURES, ProviderConfig, Rejection, Request, SignError,
    SignedRequest,
};

const NOW: i64 = 1_700_000_000;
const URL: &str = "https://hooks.example/hooks/int_01";
const FIXTURES: &str = include_str!("../../fixtures/signatures.json");
const SENDGRID_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
const DISCORD_KEY: &str = "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c";

/// A valid config of every provider, with `secret` as its shared secret where it has one.
fn config(provider: &str, secret: &str) -> ProviderConfig {
    let value = match provider {
        "sendgrid" => json!({ "public_key": SENDGRID_KEY }),
        "discord" => json!({ "public_key": DISCORD_KEY }),
        "basic_auth" => json!({ "username": "hooks", "password": secret }),
        "standard_webhooks" => json!({ "secret": format!("whsec_{}", base64_of(secret)) }),
        "generic_hmac" => {
            json!({ "secret": secret, "prefix": "sha256=", "timestamp_header": "x-ts" })
        }
        _ => json!({ "secret": secret }),
    };
    ProviderConfig::parse(provider, &value).unwrap_or_else(|e| panic!("{provider}: {e}"))
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn request(signed: &SignedRequest, now: i64) -> Request<'_> {
    Request {
        method: &http::Method::POST,
        url: &signed.url,
        headers: &signed.headers,
        body: &signed.body,
        now,
    }
}

/// The header carrying each provider's signature or credential.
fn signature_header(provider: &str) -> &'static str {
    match provider {
        "github" => "x-hub-signature-256",
        "gitlab" => "x-gitlab-token",
        "slack" => "x-slack-signature",
        "stripe" => "stripe-signature",
        "shopify" => "x-shopify-hmac-sha256",
        "twilio" => "x-twilio-signature",
        "standard_webhooks" => "webhook-signature",
        "sendgrid" => "x-twilio-email-event-webhook-signature",
        "discord" => "x-signature-ed25519",
        "square" => "x-square-hmacsha256-signature",
        "paddle" => "paddle-signature",
        "linear" => "linear-signature",
        "zendesk" => "x-zendesk-webhook-signature",
        "intercom" => "x-hub-signature",
        "generic_hmac" => "x-signature",
        "api_key" => "x-api-key",
        "basic_auth" | "mailgun" => "authorization",
        other => panic!("no signature header listed for {other}"),
    }
}

#[test]
fn every_published_vector_verifies_and_a_flipped_byte_does_not() {
    let fixtures: Value = serde_json::from_str(FIXTURES).unwrap();
    let cases = fixtures["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for case in cases {
        let provider = case["provider"].as_str().unwrap();
        let key_field = case["key_field"].as_str().unwrap_or("secret");
        let config =
            ProviderConfig::parse(provider, &json!({ key_field: case["secret"] })).unwrap();
        let body = match &case["form"] {
            Value::Object(form) => form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter().map(|(k, v)| (k, v.as_str().unwrap())))
                .finish(),
            _ => case["body"].as_str().unwrap().to_owned(),
        };
        let mut headers = http::HeaderMap::new();
        for (name, value) in case["headers"].as_object().unwrap() {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.as_str().unwrap().parse().unwrap(),
            );
        }
        let mut signed = SignedRequest {
            url: case["url"].as_str().unwrap_or("").to_owned(),
            headers,
            body: body.into_bytes(),
        };
        let now = case["now"].as_i64().unwrap_or(NOW);
        assert!(
            config.verify(&request(&signed, now), 300).is_ok(),
            "{provider}: {}",
            case["source"]
        );
        let last = signed.body.len() - 2;
        signed.body[last] ^= 0x01;
        assert!(
            config.verify(&request(&signed, now), 300).is_err(),
            "{provider}: tampered"
        );
        signed.body[last] ^= 0x01;
        if let Some(bad) = case["must_fail_with_signature"].as_str() {
            let name = signature_header(provider);
            signed.headers.insert(name, bad.parse().unwrap());
            assert_eq!(
                config.verify(&request(&signed, now), 300),
                Err(Rejection::NoSignatureMatched),
                "{provider}"
            );
        }
    }
}

/// A body for `provider`'s sign: JSON objects where the scheme needs one, otherwise bytes that
/// are not UTF-8 (a signature covers bytes, not text).
fn body_for(provider: &str) -> Vec<u8> {
    match provider {
        "linear" | "mailgun" | "slack" | "stripe" | "paddle" => br#"{"id":"evt_1","n":1}"#.to_vec(),
        _ => vec![b'{', 0xff, 0xfe, 0x00, b'\n', 0xc3, 0x28, b'}'],
    }
}

#[test]
fn every_shared_secret_provider_round_trips_and_rejects_tampering_and_a_wrong_secret() {
    for provider in KNOWN {
        let config = config(provider, "the-right-secret");
        let body = body_for(provider);
        let signed = match config.sign(&body, URL, NOW) {
            Ok(signed) => signed,
            Err(SignError::NotSharedSecret) => {
                assert!(
                    ["sendgrid", "discord"].contains(&provider),
                    "{provider} cannot sign"
                );
                continue;
            }
            Err(e) => panic!("{provider}: {e}"),
        };
        assert!(
            config.verify(&request(&signed, NOW), 300).is_ok(),
            "{provider}"
        );

        let wrong = self::config(provider, "a-wrong-secret");
        assert!(
            matches!(
                wrong.verify(&request(&signed, NOW), 300),
                Err(Rejection::NoSignatureMatched | Rejection::WrongCredential { .. })
            ),
            "{provider}: wrong secret"
        );

        // The current secret rotated out: the old one still verifies while in grace.
        let rotated = self::config(provider, "a-wrong-secret")
            .with_grace_secret(config.secrets()[0].clone())
            .unwrap();
        assert!(
            rotated.verify(&request(&signed, NOW), 300).is_ok(),
            "{provider}: grace"
        );

        // Mailgun and the static credentials do not cover the body; everything else does.
        if !["gitlab", "api_key", "basic_auth", "mailgun"].contains(&provider) {
            let mut tampered = signed.clone();
            tampered.body[1] ^= 0x20;
            assert!(
                config.verify(&request(&tampered, NOW), 300).is_err(),
                "{provider}: tampered body"
            );
        }
    }
}

#[test]
fn hostile_signature_headers_are_rejected_without_computing_anything() {
    let ten_thousand = |entry: &str, sep: &str| vec![entry; 10_000].join(sep);
    let started = Instant::now();
    for provider in KNOWN {
        let config = config(provider, "s");
        let name = signature_header(provider);
        if provider == "mailgun" {
            continue; // its signature is in the body
        }
        let mut signed = config
            .sign(&body_for(provider), URL, NOW)
            .unwrap_or_else(|_| SignedRequest {
                url: URL.into(),
                headers: http::HeaderMap::new(),
                body: b"{}".to_vec(),
            });
        for value in [
            ten_thousand("v1=aa", ","),
            ten_thousand("v1,AAAA", " "),
            ten_thousand("sha256=aa", ","),
        ] {
            signed.headers.insert(name, value.parse().unwrap());
            assert!(
                matches!(
                    config.verify(&request(&signed, NOW), 300),
                    Err(Rejection::HeaderTooLong {
                        max: MAX_HEADER_BYTES,
                        ..
                    })
                ),
                "{provider}"
            );
        }
        for value in ["sha256=zz", "", ",,,", "t=1700000000,v1=", "v1,", "   "] {
            signed.headers.insert(name, value.parse().unwrap());
            let outcome = config.verify(&request(&signed, NOW), 300);
            assert!(
                matches!(
                    outcome,
                    Err(Rejection::MalformedHeader { .. }
                        | Rejection::MissingHeader { .. }
                        | Rejection::NoSignatureMatched
                        | Rejection::WrongCredential { .. })
                ),
                "{provider} {value:?}: {outcome:?}"
            );
        }
        let mut repeated = signed.clone();
        repeated.headers.append(name, "x".parse().unwrap());
        assert!(
            matches!(
                config.verify(&request(&repeated, NOW), 300),
                Err(Rejection::RepeatedHeader { .. })
            ),
            "{provider}"
        );
    }
    // Short entries, many of them, under the byte limit: refused by count.
    let stripe = config("stripe", "s");
    let many = format!("t={NOW},{}", vec!["v1=aa"; MAX_SIGNATURES + 1].join(","));
    let r = SignedRequest {
        url: String::new(),
        headers: [(
            http::HeaderName::from_static("stripe-signature"),
            many.parse().unwrap(),
        )]
        .into_iter()
        .collect(),
        body: b"{}".to_vec(),
    };
    assert!(matches!(
        stripe.verify(&request(&r, NOW), 300),
        Err(Rejection::TooManySignatures { .. })
    ));
    // No MAC, no Ed25519, no ECDSA was computed above: well under a second for all of them.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

/// Header names any verifier reads, to make the property test hit the parsers.
const NAMES: [&str; 24] = [
    "x-hub-signature-256",
    "x-hub-signature",
    "x-github-delivery",
    "x-gitlab-token",
    "x-slack-signature",
    "x-slack-request-timestamp",
    "stripe-signature",
    "x-shopify-hmac-sha256",
    "x-twilio-signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-signature",
    "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp",
    "x-signature-ed25519",
    "x-signature-timestamp",
    "x-square-hmacsha256-signature",
    "paddle-signature",
    "linear-signature",
    "x-zendesk-webhook-signature",
    "x-zendesk-webhook-signature-timestamp",
    "authorization",
    "x-signature",
];

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,64}",
        "(t=[0-9]{1,12}|v1=[0-9a-f]{0,66}|v1,[A-Za-z0-9+/=]{0,90}|sha256=[0-9a-fz]{0,66}|ts=[0-9]{0,12}|h1=[0-9a-f]{0,64})([,; ](t=[0-9]{1,12}|v1=[0-9a-f]{0,66}|v1a,[A-Za-z0-9+/=]{0,90}|h1=[0-9a-f]{0,64})){0,20}",
        "[0-9]{0,14}",
        "(Basic|Bearer) [A-Za-z0-9+/=]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_verifier_panics_on_arbitrary_headers_and_bodies(
        headers in proptest::collection::vec((0..NAMES.len(), header_value()), 0..8),
        body in proptest::collection::vec(any::<u8>(), 0..512),
        json_body in "\\{(\"[a-zA-Z]{1,10}\":(\"[ -~]{0,20}\"|[0-9]{1,14}|\\{\\}),?){0,5}\\}",
        url in "(https://h\\.example/[a-z?=&]{0,30})?",
        now in any::<i64>(),
        tolerance in any::<u32>(),
    ) {
        let mut map = http::HeaderMap::new();
        for (i, value) in &headers {
            if let Ok(value) = http::HeaderValue::from_str(value) {
                map.append(NAMES[*i], value);
            }
        }
        for provider in KNOWN {
            let config = config(provider, "s");
            for body in [&body[..], json_body.as_bytes()] {
                let r = Request { method: &http::Method::POST, url: &url, headers: &map, body, now };
                let _ = config.verify(&r, tolerance);
            }
        }
    }
}

//! The checked-in OpenAPI document is the one the code generates.

#[test]
fn checked_in_openapi_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi.json");
    let generated = switchboard::api::openapi::document_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let stored = std::fs::read_to_string(&path).expect("shared/openapi.json exists");
    assert!(
        stored == generated,
        "shared/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p switchboard-tests --test suite openapi::`"
    );
    // What `GET /v1/openapi.json` serves is this file, embedded at build time.
    assert_eq!(switchboard::api::openapi::CHECKED_IN, stored);
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("json");
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1"))
    );
    for path in [
        "/v1/tenants",
        "/v1/api-keys",
        "/v1/api-keys/{id}/roll",
        "/hooks/{integration_id}",
        "/v1/integrations",
        "/v1/integrations/{id}/events/{event_id}/replay",
        "/v1/providers",
        "/v1/connections",
        "/v1/connections/{id}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}

/// The `url` pattern of the document and the server's check agree: whatever the pattern refuses
/// the server refuses, and whatever it allows the server accepts unless an address check a
/// pattern cannot express (IP literal syntax, IDNA, the SSRF policy) says otherwise. A client
/// generated from the document therefore validates what the server validates.
#[test]
fn url_pattern_matches_the_server_check() {
    use switchboard::model::endpoint::parse_url;
    use switchboard::ssrf::AddressPolicy;
    let doc = switchboard::api::openapi::document_json();
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("json");
    assert_eq!(
        doc["components"]["schemas"]["EndpointCreate"]["properties"]["url"]["$ref"],
        "#/components/schemas/DeliveryUrl"
    );
    let pattern = doc["components"]["schemas"]["DeliveryUrl"]["pattern"]
        .as_str()
        .expect("url has a pattern");
    let pattern = regex_lite::Regex::new(pattern).expect("the pattern compiles");
    let policy = AddressPolicy::from_allow_list("").expect("empty allow-list");
    let samples = [
        ("https://example.com", true),
        ("HTTP://example.com:8080/hooks?x=1#f", true),
        ("https://a_b~c-d.example/%41", true),
        ("https://example.com:65535", true),
        ("https://[2606:4700::1111]/x", true),
        ("https://", false),
        ("https:///path", false),
        ("https://:443", false),
        ("https://example.com:0", false),
        ("https://example.com:080", false),
        ("https://example.com:65536", false),
        ("https://exa mple.com", false),
        ("https://example.com/a b", false),
        ("https://bücher.example", false),
        ("https://user:pw@example.com", false),
        ("ftp://example.com", false),
        (" https://example.com", false),
        ("https://example.com\n", false),
        ("https://[zz::1]", false),
    ];
    for (url, shaped) in samples {
        assert_eq!(pattern.is_match(url), shaped, "pattern on {url:?}");
        match parse_url(url, &policy) {
            Ok(_) => assert!(shaped, "server accepted {url:?} the pattern refuses"),
            Err(e) if shaped => panic!("server refused {url:?} the pattern allows: {e:?}"),
            Err(_) => {}
        }
    }
    // What the pattern allows but an address check refuses, with the message the Schemathesis
    // hook (scripts/schemathesis_hooks.py) recognises.
    for url in ["https://127.0.0.1", "https://[::1]", "https://1.2.3.999"] {
        assert!(pattern.is_match(url), "{url}");
        let err = parse_url(url, &policy).expect_err(url);
        let message = format!("{err:?}");
        assert!(
            message.contains("internal address") || message.contains("not a URL: invalid"),
            "{url}: {message}"
        );
    }
}

/// `GET /v1/openapi.json` answers the checked-in document byte for byte, as JSON.
#[tokio::test]
async fn the_document_is_served_as_checked_in() {
    let h = switchboard_tests::Harness::start(switchboard_tests::Backend::Sqlite).await;
    let reply = h
        .api
        .http
        .get(h.api.url("/v1/openapi.json"))
        .send()
        .await
        .expect("get");
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "application/json");
    assert_eq!(
        reply.text().await.expect("body"),
        switchboard::api::openapi::CHECKED_IN
    );
}

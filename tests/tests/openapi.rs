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
        "shared/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p switchboard-tests --test openapi`"
    );
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
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} documented");
    }
}

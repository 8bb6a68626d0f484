//! The admin console as the server sees it: `GET /v1/whoami` (what the console asks at sign-in,
//! on both adapter sets), and the embedded files at `/console` — strict security headers on
//! every answer, strong ETags with 304s, every module the page imports present with a script
//! content type, no API data ever parsed as HTML, and none of it in the OpenAPI document. The
//! page's behaviour in a browser is tested by tests/browser (Playwright, scripts/browser.sh).

use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use switchboard_tests::{Backend, Harness, assert_problem, on_both_backends};

async fn whoami_describes_the_key(backend: Backend) {
    let h = Harness::start(backend).await;

    let root = h.api.get("/v1/whoami", &h.root).await;
    assert_eq!(root.status, StatusCode::OK, "{}", root.body);
    assert_eq!(root.body["kind"], "root");
    assert_eq!(root.body["scopes"], json!([]));
    assert!(root.body["tenant_id"].is_null());

    let admin = h.get("/v1/whoami").await;
    assert_eq!(admin["kind"], "tenant");
    assert_eq!(admin["tenant_id"], json!(h.id));
    assert_eq!(admin["tenant_name"], "test tenant");
    assert_eq!(admin["scopes"], json!(["admin"]));
    let prefix = admin["key_prefix"].as_str().expect("prefix");
    assert!(h.key.starts_with(prefix), "{prefix} is not the key's start");
    assert!(
        !admin.to_string().contains(&h.key),
        "whoami shows the secret"
    );

    let narrow = h
        .post(
            "/v1/api-keys",
            json!({"name": "reader", "scopes": ["events:read"], "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(narrow.status, StatusCode::CREATED, "{}", narrow.body);
    let key = narrow.body["key"].as_str().expect("key");
    let me = h.api.get("/v1/whoami", key).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["key_id"], narrow.body["id"]);
    assert_eq!(me.body["key_name"], "reader");
    assert_eq!(me.body["scopes"], json!(["events:read"]));
    assert_eq!(me.body["expires_at"], "2099-01-01T00:00:00Z");

    // A revoked key gets the API's reason, which the console shows as it signs out.
    let id = narrow.body["id"].as_str().expect("id");
    let revoked = h
        .post(&format!("/v1/api-keys/{id}/revoke"), json!({}))
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let refused = h.api.get("/v1/whoami", key).await;
    assert_problem(&refused, StatusCode::UNAUTHORIZED, "API key revoked");
    let anonymous = h
        .api
        .request(reqwest::Method::GET, "/v1/whoami", None, None)
        .await;
    assert_problem(&anonymous, StatusCode::UNAUTHORIZED, "no API key");
}

on_both_backends!(whoami_describes_the_key);

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../console")
}

fn security_headers_on(resp: &reqwest::Response, what: &str) {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_owned()
    };
    assert_eq!(
        header("content-security-policy"),
        switchboard::api::console::CONTENT_SECURITY_POLICY
    );
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(header("content-security-policy").contains(directive));
    }
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
}

/// Every `./name.js` a module imports.
fn imports(source: &str) -> BTreeSet<String> {
    let re = regex_lite::Regex::new(r#"from '\./([A-Za-z0-9_-]+\.js)'"#).expect("regex");
    re.captures_iter(source).map(|c| c[1].to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_is_served_with_strict_headers_and_etags() {
    let h = Harness::start(Backend::Sqlite).await;
    let http = &h.api.http;

    let page = http.get(h.api.url("/console")).send().await.expect("get");
    assert_eq!(page.status(), StatusCode::OK);
    security_headers_on(&page, "/console");
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.headers()["cache-control"], "no-cache");
    let etag = page.headers()["etag"].clone();
    let html = page.text().await.expect("html");
    let slash = http.get(h.api.url("/console/")).send().await.expect("get");
    assert_eq!(slash.headers()["etag"], etag, "/console/ is the same page");

    let again = http
        .get(h.api.url("/console"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("get");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    security_headers_on(&again, "304");
    assert_eq!(again.headers()["etag"], etag);
    assert!(again.bytes().await.expect("body").is_empty());

    // The page: no inline script or style for the policy to block, only this origin's assets.
    assert!(
        !html.contains("style="),
        "inline style attribute in index.html"
    );
    assert!(
        !regex_lite::Regex::new(r"\son[a-z]+=")
            .expect("regex")
            .is_match(&html),
        "inline event handler in index.html"
    );
    let scripts = regex_lite::Regex::new(r"<script[^>]*>").expect("regex");
    for tag in scripts.find_iter(&html) {
        assert!(
            tag.as_str().contains("src=\"/console/assets/"),
            "{}",
            tag.as_str()
        );
    }

    // Every module reachable from the page is embedded and served as a script.
    let mut todo: Vec<String> = vec!["app.js".into()];
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let resp = http
            .get(h.api.url(&format!("/console/assets/{name}")))
            .send()
            .await
            .expect("get");
        assert_eq!(resp.status(), StatusCode::OK, "{name} is not served");
        security_headers_on(&resp, &name);
        assert_eq!(
            resp.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let served = resp.text().await.expect("js");
        let on_disk = std::fs::read_to_string(console_dir().join(&name)).expect("on disk");
        assert_eq!(served, on_disk, "{name} embedded is not the file");
        todo.extend(imports(&served));
    }
    let css = http
        .get(h.api.url("/console/assets/style.css"))
        .send()
        .await
        .expect("get");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    // Every file of the folder is reachable (nothing embedded for nothing, nothing missing).
    for entry in std::fs::read_dir(console_dir()).expect("console/") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8");
        if name.ends_with(".js") {
            assert!(seen.contains(&name), "{name} is imported by no module");
        }
    }

    // API data is never parsed as HTML: no module uses the HTML-parsing sinks.
    for name in &seen {
        let source = std::fs::read_to_string(console_dir().join(name)).expect("js");
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!source.contains(sink), "{name} uses {sink}");
        }
    }

    // Unknown assets and paths out of the folder are 404 problems, with the headers too.
    for path in [
        "/console/assets/nope.js",
        "/console/assets/index.html",
        "/console/assets/..%2FCargo.toml",
    ] {
        let resp = http.get(h.api.url(path)).send().await.expect("get");
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        security_headers_on(&resp, path);
    }
}

#[test]
fn console_routes_are_not_in_the_openapi_document() {
    let doc = serde_json::to_value(switchboard::api::openapi::document()).expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.keys().all(|p| !p.starts_with("/console")));
    assert!(paths.contains_key("/v1/whoami"));
}

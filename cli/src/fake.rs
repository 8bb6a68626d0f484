//! `switchboard fake twilio`: a loopback stand-in for Twilio's Messages API, for trying actions
//! out without an account. It checks what Twilio checks (HTTP basic auth with the account SID
//! and auth token, the SID in the path matching the one authenticated, a form body with `To`,
//! `Body` and `From` or `MessagingServiceSid`), answers as Twilio does (201 with a message
//! resource, or Twilio's error JSON), and prints each message it would have sent.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The account the fake accepts.
pub struct Account {
    pub sid: String,
    pub auth_token: secrecy::SecretString,
}

/// Serves the fake on `addr` until Ctrl-C.
pub async fn twilio(addr: SocketAddr, account: Account) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "Fake Twilio on http://{addr} for account {} (set SWITCHBOARD_TWILIO_BASE_URL=http://{addr})",
        account.sid
    );
    let app = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            axum::routing::post(send_message),
        )
        .with_state(Arc::new(account));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// Twilio's error body.
fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "status": status.as_u16(),
        "more_info": format!("https://www.twilio.com/docs/errors/{code}")});
    (status, axum::Json(body)).into_response()
}

/// Whether the request's basic credentials are the account's (compared in constant time).
fn authenticated(headers: &HeaderMap, account: &Account) -> bool {
    use secrecy::ExposeSecret;
    let Some(encoded) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let expected = format!("{}:{}", account.sid, account.auth_token.expose_secret());
    decoded.ct_eq(expected.as_bytes()).into()
}

async fn send_message(
    State(account): State<Arc<Account>>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authenticated(&headers, &account) || sid != account.sid {
        return error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return error(
            StatusCode::BAD_REQUEST,
            20001,
            "the body must be form-encoded",
        );
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(to) = field("To") else {
        return error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    let Some(text) = field("Body") else {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    };
    let Some(from) = field("From").or(field("MessagingServiceSid")) else {
        return error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    };
    let id = format!("SM{}", ulid::Ulid::new().to_string().to_lowercase());
    println!("SMS {id} to {to} from {from}: {text}");
    let resource: Value = json!({"sid": id, "account_sid": account.sid, "to": to, "from": from,
        "body": text, "status": "queued", "num_segments": "1", "direction": "outbound-api"});
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC00000000000000000000000000000001";

    fn account() -> Arc<Account> {
        Arc::new(Account {
            sid: SID.into(),
            auth_token: "token-1".to_owned().into(),
        })
    }

    fn headers(user: &str, password: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        h.insert(
            http::header::AUTHORIZATION,
            format!("Basic {basic}").parse().unwrap(),
        );
        h.insert(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        h
    }

    async fn send(path_sid: &str, headers: HeaderMap, body: &'static str) -> (StatusCode, Value) {
        let response = send_message(
            State(account()),
            Path(path_sid.into()),
            headers,
            Bytes::from_static(body.as_bytes()),
        )
        .await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn checks_auth_and_fields_as_twilio_does() {
        let form = "To=%2B15550001&From=%2B15550002&Body=hi";
        let (status, sent) = send(SID, headers(SID, "token-1"), form).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(
            (sent["to"].as_str(), sent["body"].as_str()),
            (Some("+15550001"), Some("hi"))
        );
        let (status, refused) = send(SID, headers(SID, "token-2"), form).await;
        assert_eq!(
            (status, refused["code"].as_u64()),
            (StatusCode::UNAUTHORIZED, Some(20003))
        );
        let other = "AC00000000000000000000000000000002";
        let (status, _) = send(other, headers(SID, "token-1"), form).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, missing) = send(SID, headers(SID, "token-1"), "From=x&Body=hi").await;
        assert_eq!(
            (status, missing["code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(21604))
        );
        let (status, missing) = send(SID, headers(SID, "token-1"), "To=x&Body=hi").await;
        assert_eq!(
            (status, missing["code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(21603))
        );
    }
}

//! `switchboard sign` and `switchboard verify` end to end: the built binary signs a test request
//! for every shared-secret provider, verifies it (exit 0, `valid`), and refuses a tampered body,
//! a stale timestamp and a missing header (exit 1, saying which check failed).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use switchboard::signing::inbound::KNOWN;

const URL: &str = "https://hooks.example/hooks/int_01";
const NOW: &str = "1700000000";

/// The `switchboard` binary, built (or found up to date) once per test run, next to this test
/// binary in the target directory.
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "-q",
                "-p",
                "switchboard-cli",
                "--bin",
                "switchboard",
            ])
            .status()
            .unwrap();
        assert!(status.success(), "building the switchboard binary failed");
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().and_then(Path::parent).unwrap();
        dir.join(format!("switchboard{}", std::env::consts::EXE_SUFFIX))
    })
}

fn run(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The options a provider needs beyond its secret.
fn config_for(provider: &str) -> &'static str {
    match provider {
        "basic_auth" => r#"{"username":"hooks"}"#,
        "generic_hmac" => r#"{"prefix":"sha256=","timestamp_header":"x-ts"}"#,
        _ => "{}",
    }
}

/// The providers that sign with a private key, and a public key of each.
fn public_key(provider: &str) -> Option<&'static str> {
    match provider {
        "sendgrid" => Some(
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
        ),
        "discord" => Some("ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"),
        _ => None,
    }
}

fn secret_for(provider: &str) -> &'static str {
    match provider {
        "standard_webhooks" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        _ => "cli-test-secret",
    }
}

/// Signs `body_file` for `provider` and returns the `--header` lines, the URL and the body file
/// to verify.
fn sign(provider: &str, dir: &Path, body_file: &Path) -> (Vec<String>, String, PathBuf) {
    let signed_body = dir.join(format!("{provider}.signed"));
    let output = run(&[
        "sign",
        "--provider",
        provider,
        "--secret",
        secret_for(provider),
        "--config",
        config_for(provider),
        "--body-file",
        body_file.to_str().unwrap(),
        "--url",
        URL,
        "--now",
        NOW,
        "--body-out",
        signed_body.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{provider}: {output:?}");
    let text = stdout(&output);
    let url = text
        .lines()
        .find_map(|l| l.strip_prefix("# url: "))
        .unwrap_or(URL)
        .to_owned();
    let headers = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    let body = if signed_body.exists() {
        signed_body
    } else {
        body_file.to_owned()
    };
    (headers, url, body)
}

fn verify(provider: &str, headers: &[String], url: &str, body: &Path, now: &str) -> Output {
    let mut args = vec![
        "verify",
        "--provider",
        provider,
        "--secret",
        secret_for(provider),
        "--config",
        config_for(provider),
        "--body-file",
        body.to_str().unwrap(),
        "--url",
        url,
        "--now",
        now,
    ];
    for header in headers {
        args.extend(["--header", header.as_str()]);
    }
    run(&args)
}

#[test]
fn sign_then_verify_round_trips_for_every_shared_secret_provider_and_a_tampered_body_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, br#"{"id":"evt_1","type":"ping.test"}"#).unwrap();
    let mut signed = 0;
    for provider in KNOWN {
        if let Some(key) = public_key(provider) {
            let output = run(&[
                "sign",
                "--provider",
                provider,
                "--secret",
                key,
                "--body-file",
                body_file.to_str().unwrap(),
            ]);
            assert!(
                !output.status.success(),
                "{provider} signs with a private key"
            );
            let err = String::from_utf8_lossy(&output.stderr);
            assert!(err.contains("private key"), "{provider}: {err}");
            continue;
        }
        let (headers, url, body) = sign(provider, dir.path(), &body_file);
        let ok = verify(provider, &headers, &url, &body, NOW);
        assert_eq!(ok.status.code(), Some(0), "{provider}: {ok:?}");
        assert!(
            stdout(&ok).starts_with("valid\n"),
            "{provider}: {}",
            stdout(&ok)
        );
        signed += 1;

        // Static credentials and Mailgun do not cover the body: they are checked below by a
        // wrong credential instead.
        if ["gitlab", "api_key", "basic_auth", "mailgun"].contains(&provider) {
            continue;
        }
        let tampered = dir.path().join(format!("{provider}.tampered"));
        let mut bytes = std::fs::read(&body).unwrap();
        let at = bytes.iter().position(|b| *b == b'1').unwrap();
        bytes[at] = b'2';
        std::fs::write(&tampered, bytes).unwrap();
        let bad = verify(provider, &headers, &url, &tampered, NOW);
        assert_eq!(bad.status.code(), Some(1), "{provider}: {bad:?}");
        let why = stdout(&bad);
        assert!(
            why.starts_with("invalid: ")
                && (why.contains("no signature matched") || why.contains("SHA-256")),
            "{provider}: {why}"
        );
    }
    assert_eq!(signed, KNOWN.len() - 2);
}

#[test]
fn verify_says_which_check_failed() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, br#"{"id":"evt_1"}"#).unwrap();

    let (headers, url, body) = sign("stripe", dir.path(), &body_file);
    let stale = verify("stripe", &headers, &url, &body, "1700000400");
    assert_eq!(stale.status.code(), Some(1));
    assert_eq!(
        stdout(&stale),
        "invalid: timestamp is stale by 400 seconds (tolerance 300 s)\n"
    );

    let missing = verify("github", &[], URL, &body_file, NOW);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        stdout(&missing),
        "invalid: missing header `x-hub-signature-256`\n"
    );

    let (headers, url, body) = sign("gitlab", dir.path(), &body_file);
    let mut args = vec![
        "verify",
        "--provider",
        "gitlab",
        "--secret",
        "another-token",
    ];
    args.extend(["--body-file", body.to_str().unwrap(), "--url", &url]);
    for header in &headers {
        args.extend(["--header", header.as_str()]);
    }
    let wrong = run(&args);
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(
        stdout(&wrong),
        "invalid: the credential in `x-gitlab-token` does not match\n"
    );

    // A bad secret is a usage error (exit 2) naming the field, not a verdict.
    let usage = run(&[
        "verify",
        "--provider",
        "sendgrid",
        "--secret",
        "not-a-key",
        "--body-file",
        body_file.to_str().unwrap(),
    ]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("config.public_key"));
}

#[test]
fn sign_prints_a_curl_command_that_carries_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, b"{}").unwrap();
    let output = run(&[
        "sign",
        "--provider",
        "github",
        "--secret",
        "s",
        "--body-file",
        body_file.to_str().unwrap(),
        "--url",
        URL,
        "--curl",
    ]);
    assert!(output.status.success());
    let line = stdout(&output);
    assert!(
        line.starts_with(&format!("curl -sS -X POST '{URL}'")),
        "{line}"
    );
    assert!(line.contains("-H 'x-hub-signature-256: sha256="), "{line}");
    assert!(line.contains("--data-binary @"), "{line}");
}

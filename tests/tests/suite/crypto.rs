//! Envelope encryption against both key providers: the local key file and KMS (moto).

use switchboard::crypto::local::LocalKeyProvider;
use switchboard::crypto::{CryptoError, EncryptionContext, KeyProvider, envelope};
use switchboard_tests::kms_provider;

async fn binds_context_and_detects_tampering(keys: &dyn KeyProvider) {
    let ctx = EncryptionContext::new("ten_A", "con_1", "credentials");
    let secret = br#"{"api_token":"sk_live_123"}"#;
    let sealed = envelope::seal(keys, &ctx, secret).await.expect("seal");
    // Decoded, neither the ciphertext nor the wrapped key holds any 6-byte run of the plaintext
    // (a sealed text that were only encoded, or stored beside its ciphertext, would).
    for (field, encoded) in [
        ("ciphertext", &sealed.ciphertext),
        ("wrapped_key", &sealed.wrapped_key),
    ] {
        let bytes = base64_decode(encoded);
        assert!(bytes.len() >= 16, "{field}: {} bytes", bytes.len());
        for run in secret.windows(6) {
            assert!(
                !bytes.windows(run.len()).any(|w| w == run),
                "{field} holds plaintext `{}`",
                String::from_utf8_lossy(run)
            );
        }
    }
    assert_eq!(
        base64_decode(&sealed.ciphertext).len(),
        secret.len() + 16,
        "AES-GCM: the plaintext's length plus a 16-byte tag"
    );

    let opened = envelope::open(keys, &ctx, &sealed)
        .await
        .expect("round trip");
    assert_eq!(opened.as_slice(), secret);

    for (what, other) in [
        (
            "another record",
            EncryptionContext::new("ten_A", "con_2", "credentials"),
        ),
        (
            "another tenant",
            EncryptionContext::new("ten_B", "con_1", "credentials"),
        ),
        (
            "another purpose",
            EncryptionContext::new("ten_A", "con_1", "signing_secret"),
        ),
    ] {
        match envelope::open(keys, &other, &sealed).await {
            Err(CryptoError::Decrypt) => {}
            other => panic!(
                "moved to {what}: expected Decrypt error, got {:?}",
                other.map(|_| ())
            ),
        }
    }

    let mut tampered = sealed.clone();
    let mut bytes = base64_decode(&tampered.ciphertext);
    bytes[0] ^= 1;
    tampered.ciphertext = base64_encode(&bytes);
    assert!(matches!(
        envelope::open(keys, &ctx, &tampered).await,
        Err(CryptoError::Decrypt)
    ));

    let mut wrapped = sealed.clone();
    let mut bytes = base64_decode(&wrapped.wrapped_key);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    wrapped.wrapped_key = base64_encode(&bytes);
    assert!(
        envelope::open(keys, &ctx, &wrapped).await.is_err(),
        "a tampered wrapped key must not decrypt"
    );

    let again = envelope::seal(keys, &ctx, secret)
        .await
        .expect("seal again");
    assert_ne!(
        again.wrapped_key, sealed.wrapped_key,
        "a fresh data key per seal"
    );
    assert_ne!(again.ciphertext, sealed.ciphertext);
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn local_key_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = LocalKeyProvider::load_or_create(&dir.path().join("master.key")).expect("key");
    binds_context_and_detects_tampering(&keys).await;
    let other = LocalKeyProvider::from_bytes([7; 32]);
    let ctx = EncryptionContext::new("t", "r", "p");
    let sealed = envelope::seal(&keys, &ctx, b"x").await.expect("seal");
    assert!(
        envelope::open(&other, &ctx, &sealed).await.is_err(),
        "another master key fails"
    );
}

#[tokio::test]
async fn kms_key_provider() {
    binds_context_and_detects_tampering(&kms_provider().await).await;
}

//! The local key provider for `serve`: a 32-byte master key in a file (created with mode 0600 on
//! first run, in a 0700 directory) wraps data keys with AES-256-GCM, the encryption context as AAD. Losing the file
//! loses every secret sealed under it: back it up with the data directory.

use super::{CryptoError, DataKey, EncryptionContext, KeyProvider};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use zeroize::Zeroizing;

/// A master key held in memory (wiped on drop).
pub struct LocalKeyProvider {
    master: Zeroizing<[u8; 32]>,
    key_id: String,
}

impl LocalKeyProvider {
    /// Loads the key at `path`, creating it (0600) if it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let err = |e: std::io::Error| CryptoError::KeyFile(format!("{}: {e}", path.display()));
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                crate::private_fs::create_dir(dir).map_err(err)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            match options.open(path) {
                Ok(mut file) => {
                    let key = Zeroizing::new(super::random::bytes::<32>());
                    file.write_all(key.as_ref()).map_err(err)?;
                    file.sync_all().map_err(err)?;
                }
                // Another process created it first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(err(e)),
            }
        }
        // A key file an older version wrote with a wider mode is narrowed to 0600.
        crate::private_fs::narrow_if_exists(path).map_err(err)?;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(err)?);
        let master: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            CryptoError::KeyFile(format!("{} must hold exactly 32 bytes", path.display()))
        })?;
        Ok(Self::from_bytes(master))
    }

    /// A provider over known key bytes (tests).
    pub fn from_bytes(master: [u8; 32]) -> Self {
        let master = Zeroizing::new(master);
        let fingerprint = Sha256::digest(master.as_ref());
        let key_id = format!("local:{}", hex::encode(&fingerprint[..8]));
        Self { master, key_id }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn cipher(&self) -> Result<Aes256Gcm, CryptoError> {
        Aes256Gcm::new_from_slice(self.master.as_ref())
            .map_err(|_| CryptoError::KeyFile("master key length".into()))
    }
}

#[async_trait]
impl KeyProvider for LocalKeyProvider {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CryptoError> {
        let plaintext = Zeroizing::new(super::random::bytes::<32>());
        let nonce = super::random::bytes::<12>();
        let aad = ctx.aad();
        let sealed = self
            .cipher()?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_ref(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Malformed("wrapping failed".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(DataKey {
            plaintext,
            wrapped,
            key_id: self.key_id.clone(),
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        if key_id != self.key_id {
            return Err(CryptoError::Decrypt);
        }
        if wrapped.len() < 12 {
            return Err(CryptoError::Malformed("wrapped key too short".into()));
        }
        let (nonce, sealed) = wrapped.split_at(12);
        let aad = ctx.aad();
        let plain = Zeroizing::new(
            self.cipher()?
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| CryptoError::Decrypt)?,
        );
        super::data_key(&plain)
    }

    fn kind(&self) -> &'static str {
        "local"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::envelope;

    #[tokio::test]
    async fn key_file_is_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/master.key");
        let first = LocalKeyProvider::load_or_create(&path).expect("create");
        let again = LocalKeyProvider::load_or_create(&path).expect("load");
        assert_eq!(first.key_id(), again.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let ctx = EncryptionContext::new("ten_1", "ep_1", "signing_secret");
        let sealed = envelope::seal(&first, &ctx, b"hello").await.expect("seal");
        let opened = envelope::open(&again, &ctx, &sealed)
            .await
            .expect("open after reload");
        assert_eq!(opened.as_slice(), b"hello");
    }
}

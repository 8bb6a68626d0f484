//! The local key provider for `serve`: 32-byte master keys in files (created with mode 0600, in
//! a 0700 directory) wrap data keys with AES-256-GCM, the encryption context as AAD. Losing a
//! key file loses every secret sealed under it: back the files up with the data directory.
//!
//! A data directory holds a key ring: `master.key` (the key named `master`, the first and
//! default one) and any `keys/<name>.key`. One key is active: new envelopes are sealed under it
//! (`SWITCHBOARD_LOCAL_KEY`, default `master`). Every key of the ring opens the envelopes that
//! name it (the envelope's `key_id` is `local:` and a fingerprint of the key), so after a
//! rotation records under the old and the new key are read side by side. A key another process
//! added since start-up (`switchboard rewrap --to-key NAME` creates one) is picked up the first
//! time an envelope names it, so a running `serve` keeps reading while a rewrap runs.

use super::{CryptoError, DataKey, EncryptionContext, KeyProvider, Rewrapped};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

/// The name of the key in `master.key`: the default active key.
pub const DEFAULT_KEY: &str = "master";
/// The directory, beside `master.key`, holding the other keys as `<name>.key`.
pub const KEYS_DIR: &str = "keys";
/// The longest key name.
pub const MAX_KEY_NAME: usize = 64;

/// One master key in memory (wiped on drop) and the id envelopes sealed under it name.
struct MasterKey {
    id: String,
    key: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    fn new(key: Zeroizing<[u8; 32]>) -> Self {
        let fingerprint = Sha256::digest(key.as_ref());
        Self {
            id: format!("local:{}", hex::encode(&fingerprint[..8])),
            key,
        }
    }

    fn cipher(&self) -> Result<Aes256Gcm, CryptoError> {
        Aes256Gcm::new_from_slice(self.key.as_ref())
            .map_err(|_| CryptoError::KeyFile("master key length".into()))
    }

    /// `nonce || AES-GCM(data key)` with the context as AAD.
    fn wrap(&self, data_key: &[u8; 32], ctx: &EncryptionContext) -> Result<Vec<u8>, CryptoError> {
        let nonce = super::random::bytes::<12>();
        let aad = ctx.aad();
        let sealed = self
            .cipher()?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: data_key,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Malformed("wrapping failed".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&sealed);
        Ok(wrapped)
    }

    fn unwrap(
        &self,
        wrapped: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
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
}

/// Whether `name` may name a key file: 1 to [`MAX_KEY_NAME`] ASCII letters, digits, `-`, `_`
/// (so it cannot climb out of the key directory).
pub fn valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KEY_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Where the key `name` of the ring in `dir` lives: `master.key` for [`DEFAULT_KEY`],
/// `keys/<name>.key` for any other.
pub fn key_path(dir: &Path, name: &str) -> Result<PathBuf, CryptoError> {
    if !valid_key_name(name) {
        return Err(CryptoError::UnknownKey(format!(
            "`{name}` is not a key name (1 to {MAX_KEY_NAME} letters, digits, `-` or `_`)"
        )));
    }
    Ok(if name == DEFAULT_KEY {
        dir.join("master.key")
    } else {
        dir.join(KEYS_DIR).join(format!("{name}.key"))
    })
}

/// Reads the 32-byte key at `path`, creating it (0600, random) if it does not exist yet. A new
/// key is written to a temporary file and linked into place, so another process scanning the
/// ring never reads half a key, and two processes creating it at once agree on one.
fn load_or_create_file(path: &Path) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let err = |e: std::io::Error| CryptoError::KeyFile(format!("{}: {e}", path.display()));
    if !path.exists() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_fs::create_dir(dir).map_err(err)?;
        }
        let mut temp = path.as_os_str().to_owned();
        temp.push(format!(".tmp-{}", super::random::base62(12)));
        let temp = PathBuf::from(temp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let written = options.open(&temp).and_then(|mut file| {
            let key = Zeroizing::new(super::random::bytes::<32>());
            file.write_all(key.as_ref())?;
            file.sync_all()
        });
        let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
        let _ = std::fs::remove_file(&temp);
        match linked {
            Ok(()) => {}
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(err(e)),
        }
    }
    read_file(path)
}

/// Reads the 32-byte key at `path`, narrowing a wider mode an older version left to 0600.
fn read_file(path: &Path) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let err = |e: std::io::Error| CryptoError::KeyFile(format!("{}: {e}", path.display()));
    crate::private_fs::narrow_if_exists(path).map_err(err)?;
    let bytes = Zeroizing::new(std::fs::read(path).map_err(err)?);
    let master: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
        CryptoError::KeyFile(format!("{} must hold exactly 32 bytes", path.display()))
    })?;
    Ok(Zeroizing::new(master))
}

/// The key files of the ring in `dir`: `master.key` and `keys/*.key`, those that exist.
fn ring_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let master = dir.join("master.key");
    if master.is_file() {
        out.push(master);
    }
    if let Ok(entries) = std::fs::read_dir(dir.join(KEYS_DIR)) {
        for entry in entries.flatten() {
            let path = entry.path();
            let named = path
                .file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(valid_key_name);
            if named && path.extension().is_some_and(|e| e == "key") && path.is_file() {
                out.push(path);
            }
        }
    }
    out
}

/// A key ring held in memory, one key of it active for new envelopes.
pub struct LocalKeyProvider {
    /// The directory of `master.key` and `keys/`; `None` for a provider over known bytes.
    dir: Option<PathBuf>,
    active: Arc<MasterKey>,
    /// Every key known, by id (the active one included).
    ring: RwLock<HashMap<String, Arc<MasterKey>>>,
}

impl LocalKeyProvider {
    /// The ring in `dir` with the key `active` (a key name, see [`key_path`]) active, creating
    /// that key's file (0600) if it does not exist yet.
    pub fn open(dir: &Path, active: &str) -> Result<Self, CryptoError> {
        Self::with_active_file(dir, &key_path(dir, active)?)
    }

    /// The ring beside the key file at `path` (its directory), that key active, creating it
    /// (0600) if it does not exist yet.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::with_active_file(&dir, path)
    }

    fn with_active_file(dir: &Path, path: &Path) -> Result<Self, CryptoError> {
        let active = Arc::new(MasterKey::new(load_or_create_file(path)?));
        let provider = Self {
            dir: Some(dir.to_path_buf()),
            ring: RwLock::new(HashMap::from([(active.id.clone(), Arc::clone(&active))])),
            active,
        };
        provider.rescan()?;
        Ok(provider)
    }

    /// A provider over known key bytes alone (tests).
    pub fn from_bytes(master: [u8; 32]) -> Self {
        let active = Arc::new(MasterKey::new(Zeroizing::new(master)));
        Self {
            dir: None,
            ring: RwLock::new(HashMap::from([(active.id.clone(), Arc::clone(&active))])),
            active,
        }
    }

    /// The id of the active key (what new envelopes name).
    pub fn key_id(&self) -> &str {
        &self.active.id
    }

    /// The ids of every key in the ring, sorted.
    pub fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .ring
            .read()
            .map(|ring| ring.keys().cloned().collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    fn insert(&self, key: MasterKey) -> Result<Arc<MasterKey>, CryptoError> {
        let mut ring = self
            .ring
            .write()
            .map_err(|_| CryptoError::KeyFile("key ring lock poisoned".into()))?;
        Ok(Arc::clone(
            ring.entry(key.id.clone()).or_insert_with(|| Arc::new(key)),
        ))
    }

    /// Reads every key file of the directory into the ring. A file that is not a key is
    /// reported and left out, so a stray file cannot stop the keys beside it from reading.
    fn rescan(&self) -> Result<(), CryptoError> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        for path in ring_files(dir) {
            match read_file(&path) {
                Ok(key) => {
                    self.insert(MasterKey::new(key))?;
                }
                Err(e) => tracing::warn!(error = %e, "skipping a file of the key ring"),
            }
        }
        Ok(())
    }

    fn known(&self, key_id: &str) -> Result<Option<Arc<MasterKey>>, CryptoError> {
        Ok(self
            .ring
            .read()
            .map_err(|_| CryptoError::KeyFile("key ring lock poisoned".into()))?
            .get(key_id)
            .cloned())
    }

    /// The key `key_id`, reading the directory again when it is not known yet (another
    /// process may have added it since this one started).
    fn find(&self, key_id: &str) -> Result<Option<Arc<MasterKey>>, CryptoError> {
        if let Some(key) = self.known(key_id)? {
            return Ok(Some(key));
        }
        self.rescan()?;
        self.known(key_id)
    }
}

#[async_trait]
impl KeyProvider for LocalKeyProvider {
    async fn generate_data_key(&self, ctx: &EncryptionContext) -> Result<DataKey, CryptoError> {
        let plaintext = Zeroizing::new(super::random::bytes::<32>());
        let wrapped = self.active.wrap(&plaintext, ctx)?;
        Ok(DataKey {
            plaintext,
            wrapped,
            key_id: self.active.id.clone(),
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let key = self.find(key_id)?.ok_or(CryptoError::Decrypt)?;
        key.unwrap(wrapped, ctx)
    }

    fn kind(&self) -> &'static str {
        "local"
    }

    /// `key` is a key name (its file is created, 0600, if missing) or the `local:` id of a key
    /// already in the ring.
    async fn target_key(&self, key: &str) -> Result<String, CryptoError> {
        if key.starts_with("local:") {
            return self
                .find(key)?
                .map(|k| k.id.clone())
                .ok_or_else(|| CryptoError::UnknownKey(format!("no key file holds `{key}`")));
        }
        let Some(dir) = &self.dir else {
            return Err(CryptoError::UnknownKey(format!(
                "`{key}`: this key ring has no directory"
            )));
        };
        let path = key_path(dir, key)?;
        let added = self.insert(MasterKey::new(load_or_create_file(&path)?))?;
        Ok(added.id.clone())
    }

    /// Unwraps with the key the envelope names and wraps again under `to_key_id`: the data
    /// key is in this process's memory (wiped on drop) only between the two.
    async fn rewrap_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        ctx: &EncryptionContext,
        to_key_id: &str,
    ) -> Result<Rewrapped, CryptoError> {
        let to = self
            .find(to_key_id)?
            .ok_or_else(|| CryptoError::UnknownKey(format!("no key file holds `{to_key_id}`")))?;
        let data_key = self.decrypt_data_key(key_id, wrapped, ctx).await?;
        Ok(Rewrapped {
            wrapped: to.wrap(&data_key, ctx)?,
            key_id: to.id.clone(),
        })
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

    #[tokio::test]
    async fn a_ring_reads_every_key_and_seals_under_the_active_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let old = LocalKeyProvider::open(dir.path(), DEFAULT_KEY).expect("master");
        let ctx = EncryptionContext::new("ten_1", "ep_1", "signing_secret:1");
        let under_old = envelope::seal(&old, &ctx, b"old").await.expect("seal");

        // Another process (a rewrap) adds `k2` and rewraps: `old` learns the key on first use.
        let rewrapper = LocalKeyProvider::open(dir.path(), DEFAULT_KEY).expect("ring");
        let k2 = rewrapper.target_key("k2").await.expect("create k2");
        assert_ne!(k2, old.key_id());
        let moved = envelope::rewrap(&rewrapper, &ctx, &under_old, &k2)
            .await
            .expect("rewrap");
        assert_eq!(moved.key_id, k2);
        assert_eq!(moved.ciphertext, under_old.ciphertext, "same data key");
        assert_ne!(moved.wrapped_key, under_old.wrapped_key);
        let opened = envelope::open(&old, &ctx, &moved).await.expect("open");
        assert_eq!(opened.as_slice(), b"old");
        // The context still binds the rewrapped key.
        let other = EncryptionContext::new("ten_1", "ep_2", "signing_secret:1");
        assert!(matches!(
            envelope::open(&old, &other, &moved).await,
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            envelope::rewrap(&rewrapper, &other, &under_old, &k2).await,
            Err(CryptoError::Decrypt)
        ));

        // With k2 active, new envelopes name k2 and the master key still opens old ones.
        let switched = LocalKeyProvider::open(dir.path(), "k2").expect("k2 active");
        assert_eq!(switched.key_id(), k2);
        let fresh = envelope::seal(&switched, &ctx, b"new").await.expect("seal");
        assert_eq!(fresh.key_id, k2);
        let back = envelope::open(&switched, &ctx, &under_old)
            .await
            .expect("old");
        assert_eq!(back.as_slice(), b"old");
        assert_eq!(switched.key_ids().len(), 2);
        assert_eq!(
            switched.target_key(&k2).await.expect("by id"),
            k2,
            "a key id of the ring names it too"
        );
    }

    #[test]
    fn key_names_cannot_leave_the_directory() {
        for bad in ["", "../x", "a/b", "a.key", &"k".repeat(65)] {
            assert!(key_path(Path::new("/d"), bad).is_err(), "{bad}");
        }
        assert_eq!(
            key_path(Path::new("/d"), "master").expect("master"),
            Path::new("/d/master.key")
        );
        assert_eq!(
            key_path(Path::new("/d"), "2025-q3").expect("named"),
            Path::new("/d/keys/2025-q3.key")
        );
    }
}

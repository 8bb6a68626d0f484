//! `serve`'s root key when none is configured: made on the first start, shown once, and only its
//! SHA-256 kept in `root_key.sha256`.
//!
//! The hash is written only after the operator has been shown the key ([`NewRootKey::persist`],
//! called by whoever printed it), and `serve` makes a key only once every start-up check has
//! passed (port bound, store and master key opened). Otherwise a start that fails, or dies
//! before printing, would leave a hash behind whose key nobody ever saw, and every later start
//! would print nothing.

use super::ServeError;
use crate::tenancy::key_format::{self, KeyHash};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};

/// The file in the data directory holding the root key's hash.
pub const FILE: &str = "root_key.sha256";

/// Reads the saved hash, if a previous start saved one.
pub fn load(data_dir: &Path) -> Result<Option<KeyHash>, ServeError> {
    let path = data_dir.join(FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ServeError::Io(format!("{}: {e}", path.display()))),
    };
    // A hash file an older version wrote readable by others is narrowed to 0600.
    crate::private_fs::narrow_if_exists(&path)
        .map_err(|e| ServeError::Io(format!("{}: {e}", path.display())))?;
    KeyHash::from_hex(&text)
        .map(Some)
        .ok_or_else(|| ServeError::Io(format!("{} does not hold a SHA-256 hex", path.display())))
}

/// A root key made by this start, not yet saved.
pub struct NewRootKey {
    key: SecretString,
    hash: KeyHash,
    path: PathBuf,
}

impl std::fmt::Debug for NewRootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRootKey")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl NewRootKey {
    /// Makes a key whose hash will go to `data_dir`.
    pub fn generate(data_dir: &Path) -> Self {
        let key = key_format::generate();
        let hash = KeyHash::of(key.expose_secret());
        Self {
            key,
            hash,
            path: data_dir.join(FILE),
        }
    }

    /// The key, to show the operator once.
    pub fn key(&self) -> &SecretString {
        &self.key
    }

    pub fn hash(&self) -> KeyHash {
        self.hash
    }

    /// Where the hash goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Saves the hash (mode 0600, never over an existing file). Call once the key has been
    /// shown; until then a restart simply makes a new key.
    pub fn persist(self) -> Result<(), ServeError> {
        if let Some(dir) = self.path.parent() {
            crate::private_fs::create_dir(dir)
                .map_err(|e| ServeError::Io(format!("{}: {e}", dir.display())))?;
        }
        crate::private_fs::write_new(&self.path, format!("{}\n", self.hash.to_hex()).as_bytes())
            .map_err(|e| ServeError::Io(format!("{}: {e}", self.path.display())))
    }
}

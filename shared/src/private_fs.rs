//! Files only the service's own user may read: `serve`'s data directory holds the SQLite
//! database (every tenant's records and sealed secrets), the local master key and the root key's
//! hash, so the directory is made mode 0700 and every file in it 0600 whatever the umask says.
//! Files left with wider modes by an older version are narrowed when they are opened; an existing
//! directory is never changed (it may be one the operator shares), only reported.

use std::io::Write;
use std::path::Path;

/// Mode of every directory this module creates.
pub const DIR_MODE: u32 = 0o700;
/// Mode of every file this module creates or opens.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700. An existing directory is left as it is;
/// if others may enter it, a warning says so.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let existed = dir.is_dir();
        builder.mode(DIR_MODE);
        builder.create(dir)?;
        if existed {
            let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = ?dir.display(),
                    mode = %format!("{mode:o}"),
                    "the data directory is open to other users; `chmod 700` it"
                );
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    builder.create(dir)
}

/// Makes sure `path` exists with mode 0600 without touching its content: creates it empty if
/// missing (so a library that creates the file itself, like SQLite, inherits the mode), and
/// narrows the mode of a file an older version left readable by others.
pub fn ensure_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let file = options.open(path)?;
    narrow(&file)
}

/// Narrows an existing file to 0600; a missing file is not an error.
pub fn narrow_if_exists(path: &Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().read(true).open(path) {
        Ok(file) => narrow(&file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes a file that must not exist yet, mode 0600, and syncs it.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    let mut file = options.open(path)?;
    narrow(&file)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn narrow(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata()?.permissions().mode() & 0o777;
    if mode != FILE_MODE {
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn narrow(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_private_dirs_and_files_and_narrows_old_ones() {
        let mode =
            |path: &Path| std::fs::metadata(path).expect("meta").permissions().mode() & 0o777;
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b");
        create_dir(&dir).expect("dir");
        assert_eq!(mode(&dir), DIR_MODE);

        let fresh = dir.join("fresh");
        ensure_file(&fresh).expect("ensure");
        assert_eq!(mode(&fresh), FILE_MODE);

        let old = dir.join("old");
        std::fs::write(&old, b"keep").expect("write");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        ensure_file(&old).expect("ensure old");
        assert_eq!(mode(&old), FILE_MODE);
        assert_eq!(std::fs::read(&old).expect("read"), b"keep", "content kept");

        let written = dir.join("written");
        write_new(&written, b"x").expect("write new");
        assert_eq!(mode(&written), FILE_MODE);
        assert!(write_new(&written, b"y").is_err(), "never overwrites");
        narrow_if_exists(&dir.join("missing")).expect("missing is fine");
    }
}

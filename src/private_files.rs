//! confab's own files on disk: directories created 0700, files 0600, and
//! never a write through a symbolic link planted in the data, config or
//! cache directory. Every module that owns a file opens it through here.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// The error for a path that is a symbolic link where confab writes its
/// own files.
fn link_refused(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is a symbolic link; confab does not read or write its own files through links \
         (someone could redirect them elsewhere): remove the link, or point CONFAB_HOME at \
         another directory",
        path.display()
    ))
}

/// Turns the `ELOOP` that `O_NOFOLLOW` gives on a link into a clear error.
fn explain(path: &Path, err: io::Error) -> io::Error {
    #[cfg(unix)]
    if err.raw_os_error() == Some(libc::ELOOP) {
        return link_refused(path);
    }
    let _ = path;
    err
}

/// Fails with a clear error when `path` is a symbolic link.
pub fn refuse_link(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(link_refused(path)),
        _ => Ok(()),
    }
}

/// Makes sure `dir` is a directory confab may write in: created with
/// mode 0700 (missing parents too) if absent, refused if it is a link.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.file_type().is_symlink() => Err(link_refused(dir)),
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        ))),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder.create(dir)
        }
        Err(err) => Err(err),
    }
}

/// Owner-only, and never through a link at the path itself.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    }
    options
}

/// Opens `path` to read and append, creating it (0600) if absent.
pub fn open_append(path: &Path) -> io::Result<File> {
    private(OpenOptions::new().read(true).append(true).create(true))
        .open(path)
        .map_err(|err| explain(path, err))
}

/// Creates `path`, which must not exist (`AlreadyExists` otherwise).
pub fn create_new(path: &Path) -> io::Result<File> {
    private(OpenOptions::new().write(true).create_new(true))
        .open(path)
        .map_err(|err| explain(path, err))
}

/// Opens `path` to read, refusing a link.
pub fn open_read(path: &Path) -> io::Result<File> {
    private(OpenOptions::new().read(true))
        .open(path)
        .map_err(|err| explain(path, err))
}

/// Creates `path` empty (0600) if it is absent, and refuses a link: for
/// a SQLite database, which gives its journal and WAL the database's mode.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    private(OpenOptions::new().append(true).create(true))
        .open(path)
        .map(drop)
        .map_err(|err| explain(path, err))
}

/// Replaces `path` with `bytes` at once: written to a new private file
/// beside it, synced, then renamed over it (a rename replaces a link
/// itself, never what it points to). On failure the old file is intact.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = path.as_os_str().to_owned();
    temp.push(format!(
        ".tmp-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let temp = std::path::PathBuf::from(temp);
    let written = create_new(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_data()
    });
    let renamed = written.and_then(|()| std::fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    renamed
}

/// An exclusive advisory lock on a lock file, held until dropped: how
/// two confab processes take turns with one conversation or one index.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes the lock at `path` (created 0600 if absent). When another
    /// process holds it, calls `waiting` once and polls until it is free,
    /// or until `give_up` says to stop (then `Ok(None)`).
    pub fn acquire(
        path: &Path,
        waiting: impl FnOnce(),
        give_up: impl Fn() -> bool,
    ) -> io::Result<Option<FileLock>> {
        use fs4::fs_std::FileExt;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            ensure_dir(dir)?;
        }
        let file = open_append(path)?;
        if file.try_lock_exclusive()? {
            return Ok(Some(FileLock { file }));
        }
        waiting();
        loop {
            if give_up() {
                return Ok(None);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
            if file.try_lock_exclusive()? {
                return Ok(Some(FileLock { file }));
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = fs4::fs_std::FileExt::unlock(&self.file);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::{symlink, PermissionsExt};

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn directories_and_files_are_owner_only() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = root.path().join("a/b");
        ensure_dir(&dir).expect("created");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        let file = dir.join("f");
        open_append(&file).expect("created");
        assert_eq!(mode(&file), 0o600);
        write_atomic(&dir.join("g"), b"x").expect("written");
        assert_eq!(mode(&dir.join("g")), 0o600);
        prepare_database(&dir.join("db")).expect("created");
        assert_eq!(mode(&dir.join("db")), 0o600);
    }

    #[test]
    fn links_are_refused_and_their_targets_untouched() {
        let root = tempfile::tempdir().expect("temp dir");
        let target = root.path().join("elsewhere");
        std::fs::write(&target, "theirs").expect("write");
        let link = root.path().join("planted");
        symlink(&target, &link).expect("link");
        // `create_new` meets the link as a name already taken.
        let taken = create_new(&link).expect_err("a link is refused");
        assert_eq!(taken.kind(), io::ErrorKind::AlreadyExists);
        for result in [
            open_append(&link).map(drop),
            open_read(&link).map(drop),
            prepare_database(&link),
        ] {
            let err = result.expect_err("a link is refused");
            assert!(err.to_string().contains("symbolic link"), "{err}");
        }
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "theirs");
        let dir_link = root.path().join("dir-link");
        symlink(root.path(), &dir_link).expect("link");
        assert!(ensure_dir(&dir_link).is_err());
        // Replacing a link replaces the link, not what it points to.
        write_atomic(&link, b"ours").expect("written");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "theirs");
    }

    #[test]
    fn a_lock_is_held_until_dropped_and_a_waiter_can_give_up() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join("x.lock");
        let held = FileLock::acquire(&path, || panic!("free"), || false)
            .expect("locked")
            .expect("held");
        let waited = std::cell::Cell::new(false);
        let second = FileLock::acquire(&path, || waited.set(true), || true).expect("no error");
        assert!(second.is_none() && waited.get());
        drop(held);
        let third = FileLock::acquire(&path, || panic!("free again"), || false).expect("locked");
        assert!(third.is_some());
    }
}

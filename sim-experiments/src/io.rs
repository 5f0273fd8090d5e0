//! Writing outputs without ever leaving a half-written file behind.

use sim_models::scenario::limits::{MAX_FILE_BYTES, read_bounded, read_text_bounded};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically: to a temporary file in the same
/// directory, flushed to disk, then renamed over the target. A crash or an
/// interrupt leaves either the old file or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.writer().write_all(bytes).map_err(|e| f.error(e))?;
    f.commit()
}

/// Like [`write_atomic`], for a script: executable (0777 less the umask).
pub fn write_atomic_executable(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create_with_mode(path, 0o777)?;
    f.writer().write_all(bytes).map_err(|e| f.error(e))?;
    f.commit()
}

/// A file being written atomically: bytes go to a temporary file in the
/// target's directory (tempfile); [`AtomicFile::commit`] flushes it to disk,
/// renames it over the target and syncs the directory, so the rename itself
/// survives a crash. Dropped without a commit, the temporary file is
/// removed and the target left as it was.
///
/// A target that is not a regular file (`/dev/stdout`, a FIFO, a terminal)
/// is written directly: replacing it with a regular file would destroy it.
/// A symbolic link is followed: its target is written atomically and the
/// link kept.
pub struct AtomicFile {
    /// The target as given (for messages).
    path: PathBuf,
    /// Where the bytes end up (a link's target).
    dest: PathBuf,
    dir: PathBuf,
    writer: Option<BufWriter<Sink>>,
}

/// Where an [`AtomicFile`]'s bytes go until it is committed.
pub enum Sink {
    /// A temporary file, renamed over the target on commit.
    Temp(NamedTempFile),
    /// The target itself (not a regular file).
    Direct(File),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Temp(f) => f.write(buf),
            Sink::Direct(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Temp(f) => f.flush(),
            Sink::Direct(f) => f.flush(),
        }
    }
}

impl AtomicFile {
    /// A new file gets 0666 less the umask, as `File::create` would (the
    /// temporary file's own default, 0600, would hide results from the
    /// group on a shared cluster file system).
    pub fn create(path: &Path) -> Result<Self> {
        Self::create_with_mode(path, 0o666)
    }

    /// Like [`AtomicFile::create`], with mode `mode` (less the umask) on
    /// Unix.
    pub fn create_with_mode(path: &Path, mode: u32) -> Result<Self> {
        let cannot =
            |e: std::io::Error| Error::runtime(format!("{}: cannot write: {e}", path.display()));
        // What the path names, links followed: a FIFO, a terminal or
        // /dev/stdout (a link to one) is written as it is.
        if let Ok(m) = std::fs::metadata(path)
            && !m.is_file()
        {
            if m.is_dir() {
                return Err(Error::input(format!("{}: is a directory", path.display())));
            }
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(cannot)?;
            return Ok(AtomicFile {
                path: path.to_path_buf(),
                dest: path.to_path_buf(),
                dir: PathBuf::new(),
                writer: Some(BufWriter::new(Sink::Direct(f))),
            });
        }
        // A link to a regular file (or to nothing yet) is followed, so the
        // links themselves survive.
        let mut dest = path.to_path_buf();
        for _ in 0..40 {
            match std::fs::symlink_metadata(&dest) {
                Ok(m) if m.file_type().is_symlink() => {
                    let t = std::fs::read_link(&dest).map_err(cannot)?;
                    dest = match dest.parent() {
                        Some(d) if t.is_relative() => d.join(t),
                        _ => t,
                    };
                }
                _ => break,
            }
        }
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::runtime(format!("{}: cannot create directory: {e}", dir.display()))
        })?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "out".into());
        // Named after the target, so a leftover is recognisable
        // ([`is_temp_name`]); tempfile makes the name unique.
        let prefix = format!(".{name}.tmp-");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = mode;
        let tmp = builder.tempfile_in(&dir).map_err(cannot)?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            dest,
            dir,
            writer: Some(BufWriter::new(Sink::Temp(tmp))),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<Sink> {
        self.writer.as_mut().expect("not yet committed")
    }

    /// The error of a failed write, naming the target.
    pub fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::runtime(format!("{}: cannot write: {e}", self.path.display()))
    }

    pub fn commit(mut self) -> Result<()> {
        let w = self.writer.take().expect("committed once");
        let result = (|| -> std::io::Result<()> {
            match w.into_inner().map_err(|e| e.into_error())? {
                Sink::Temp(tmp) => {
                    tmp.as_file().sync_all()?;
                    tmp.persist(&self.dest).map_err(|e| e.error)?;
                    // The rename is durable once the directory is.
                    File::open(&self.dir)?.sync_all()
                }
                Sink::Direct(mut f) => f.flush(),
            }
        })();
        result.map_err(|e| self.error(e))
    }
}

/// An [`AtomicFile`] several writers share (the trace of a run, written
/// as events fire by the replication's thread); commit it when they are
/// done with it.
#[derive(Clone)]
pub struct SharedFile(std::sync::Arc<std::sync::Mutex<AtomicFile>>);

impl SharedFile {
    /// Starts writing `path` (see [`AtomicFile::create`]).
    pub fn create(path: &Path) -> Result<Self> {
        Ok(SharedFile(std::sync::Arc::new(std::sync::Mutex::new(
            AtomicFile::create(path)?,
        ))))
    }

    /// Puts the file in place; every other clone must be gone.
    pub fn commit(self) -> Result<()> {
        let file = std::sync::Arc::try_unwrap(self.0)
            .map_err(|_| Error::runtime("a shared output is still in use"))?;
        file.into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .commit()
    }

    fn with<T>(&self, f: impl FnOnce(&mut BufWriter<Sink>) -> T) -> T {
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(file.writer())
    }
}

impl Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.with(|w| w.write(buf))
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.with(|w| w.write_all(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.with(|w| w.flush())
    }
}

/// Whether `name` is one of [`AtomicFile`]'s temporary files (left behind
/// only when a process was killed mid-write).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// An exclusive advisory lock on a directory, held while a command writes
/// into it (released when dropped, or when the process dies).
#[derive(Debug)]
pub struct DirLock {
    _dir: std::fs::File,
}

/// Locks `dir` for this process, so that the temporary files found there
/// can only be left over from a process that died; refuses when another
/// process holds it. A file system without locks is written unlocked.
pub fn lock_dir(dir: &Path) -> Result<DirLock> {
    let f = std::fs::File::open(dir)
        .map_err(|e| Error::input(format!("{}: cannot open: {e}", dir.display())))?;
    match f.try_lock() {
        Ok(()) | Err(std::fs::TryLockError::Error(_)) => Ok(DirLock { _dir: f }),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::input(format!(
            "{}: another sim process is writing this directory: wait for it, or use another directory",
            dir.display()
        ))),
    }
}

/// Removes the temporary files ([`is_temp_name`]) directly in `dir`, left
/// by a process killed mid-write; call it holding [`lock_dir`]. Returns
/// how many there were.
pub fn remove_temp_files(dir: &Path) -> Result<usize> {
    let rd = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::input(format!("{}: cannot read: {e}", dir.display()))),
        Ok(rd) => rd,
    };
    let mut removed = 0;
    for entry in rd.filter_map(|e| e.ok()) {
        if is_temp_name(&entry.file_name().to_string_lossy())
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            std::fs::remove_file(entry.path()).map_err(|e| {
                Error::runtime(format!("{}: cannot remove: {e}", entry.path().display()))
            })?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Refuses an output path that is one of the command's inputs (`sim run
/// X.ron --trace X.ron`): writing it would destroy the input.
pub fn refuse_overwriting_input(output: &Path, flag: &str, inputs: &[&Path]) -> Result<()> {
    let Ok(out) = output.canonicalize() else {
        return Ok(()); // does not exist yet, so it is no input
    };
    for input in inputs {
        if input.canonicalize().is_ok_and(|i| i == out) {
            return Err(Error::input(format!(
                "{flag} {}: is the input {}; writing it would destroy it (choose another file)",
                output.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Refuses to replace an existing file unless `force` (a file that
/// changes only on purpose, such as a baseline).
pub fn refuse_replacing(output: &Path, flag: &str, force: bool) -> Result<()> {
    if !force && output.exists() {
        return Err(Error::input(format!(
            "{flag} {}: exists; pass --force to replace it",
            output.display()
        )));
    }
    Ok(())
}

/// Reads a file that may not exist yet: `None` when it does not, an error
/// naming it when it cannot be read.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match read_bounded(path, MAX_FILE_BYTES) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::input(format!(
            "{}: cannot read: {e}",
            path.display()
        ))),
    }
}

/// Reads a text file, naming it in the error.
pub fn read_text(path: &Path) -> Result<String> {
    read_text_limited(path, MAX_FILE_BYTES)
}

/// Reads a text file of at most `max` bytes, naming it in the error.
pub fn read_text_limited(path: &Path, max: u64) -> Result<String> {
    read_text_bounded(path, max).map_err(|e| {
        Error::input(match e.kind() {
            std::io::ErrorKind::NotFound => format!("{}: no such file", path.display()),
            _ => format!("{}: cannot read: {e}", path.display()),
        })
    })
}

/// Pretty JSON with a trailing newline.
pub fn json_bytes(v: &impl serde::Serialize) -> Vec<u8> {
    let mut s = serde_json::to_string_pretty(v).expect("result documents serialize");
    s.push('\n');
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let p = dir.join("x.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        let leftovers: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty());
        // Dropped without a commit: the target keeps its old bytes.
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.writer().write_all(b"three").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_files_get_the_modes_file_create_gives() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = tmp.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let want = mode(&plain); // 0666 less this process's umask
        write_atomic(&tmp.path().join("a.json"), b"{}").unwrap();
        assert_eq!(mode(&tmp.path().join("a.json")), want);
        write_atomic_executable(&tmp.path().join("run.sh"), b"#!/bin/sh\n").unwrap();
        // 0777 less the same umask: executable by whoever may read it.
        assert_eq!(
            mode(&tmp.path().join("run.sh")),
            want | ((want & 0o444) >> 2)
        );
    }
}

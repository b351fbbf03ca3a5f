//! `--lock FILE`: two scheduled runs never overlap.
//!
//! The lock is an exclusive `flock` on the file, taken without waiting, and held by the
//! open file for the whole run: it goes when the process ends, however it ends (even on
//! `kill -9`), so a lock is never stale. The file itself is never deleted (deleting it
//! would let a third run lock a new file while the second still holds the old one); the
//! holder writes `pid=N started=RFC3339 argv0=PROGRAM` into it, so that a run that finds
//! it held can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error("lock file {path} is held by another run ({holder}): not starting")]
    Held {
        /// The lock file.
        path: String,
        /// Who holds it, as read from the file.
        holder: Holder,
    },
    /// The file could not be opened or created.
    #[error("cannot open lock file {path}: {source}")]
    Open {
        /// The lock file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Something other than a regular file is at that path.
    #[error("lock file {path} is not a regular file")]
    NotAFile {
        /// The lock file.
        path: String,
    },
    /// `flock` failed for another reason than "held" (e.g. a filesystem without locks).
    #[error("cannot lock {path}: {source}")]
    Lock {
        /// The lock file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The holder line could not be written.
    #[error("cannot write lock file {path}: {source}")]
    Write {
        /// The lock file.
        path: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Who holds a lock, from the line its holder wrote (fields it did not write are `None`:
/// it may have just taken the lock and not written yet).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Holder {
    /// Process id.
    pub pid: Option<u32>,
    /// When it started (RFC 3339).
    pub started: Option<String>,
}

impl Holder {
    /// Reads the holder line (`pid=N started=T argv0=…`); unknown or malformed fields are
    /// left out.
    pub fn parse(text: &str) -> Holder {
        let line = text.lines().next().unwrap_or("");
        let mut h = Holder::default();
        for field in line.split_ascii_whitespace() {
            if let Some(v) = field.strip_prefix("pid=") {
                h.pid = v.parse().ok();
            } else if let Some(v) = field.strip_prefix("started=") {
                // Only what a timestamp is made of: the file may hold anything.
                if !v.is_empty()
                    && v.len() <= 40
                    && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-:.+".contains(&b))
                {
                    h.started = Some(v.to_owned());
                }
            } else if field.starts_with("argv0=") {
                break;
            }
        }
        h
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.pid, &self.started) {
            (Some(p), Some(s)) => write!(f, "pid {p}, started {s}"),
            (Some(p), None) => write!(f, "pid {p}"),
            (None, Some(s)) => write!(f, "started {s}"),
            (None, None) => f.write_str("holder not recorded yet"),
        }
    }
}

/// A held lock: released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Opens or creates `path` (mode 0644; a symbolic link is refused, so a lock path in
    /// a shared directory cannot be turned against another file) and locks it without
    /// waiting; on success writes `pid=… started=… argv0=…` into it.
    pub fn acquire(path: &Path, started: &str, argv0: &str) -> Result<RunLock, LockError> {
        let shown = || path.display().to_string();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|source| LockError::Open { path: shown(), source })?;
        let meta = file.metadata().map_err(|source| LockError::Open { path: shown(), source })?;
        if !meta.is_file() {
            return Err(LockError::NotAFile { path: shown() });
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = (&file).take(4096).read_to_string(&mut text);
                return Err(LockError::Held { path: shown(), holder: Holder::parse(&text) });
            }
            Err(TryLockError::Error(source)) => return Err(LockError::Lock { path: shown(), source }),
        }
        let line = format!("pid={} started={started} argv0={argv0}\n", std::process::id());
        let write = |f: &mut File| -> io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            f.write_all(line.as_bytes())?;
            f.flush()
        };
        write(&mut file).map_err(|source| LockError::Write { path: shown(), source })?;
        Ok(RunLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_lines() {
        let h = Holder::parse("pid=4242 started=2026-12-06T01:00:00Z argv0=/usr/bin/pansweep\n");
        assert_eq!(h, Holder { pid: Some(4242), started: Some("2026-12-06T01:00:00Z".into()) });
        assert_eq!(h.to_string(), "pid 4242, started 2026-12-06T01:00:00Z");
        assert_eq!(Holder::parse("").to_string(), "holder not recorded yet");
        // Junk is not repeated into the message.
        let h = Holder::parse("pid=x started=<script> argv0=a b c");
        assert_eq!(h, Holder::default());
    }

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("run.lock");
        let first = RunLock::acquire(&p, "2026-12-06T01:00:00Z", "pansweep").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, format!("pid={} started=2026-12-06T01:00:00Z argv0=pansweep\n", std::process::id()));
        match RunLock::acquire(&p, "2026-12-06T02:00:00Z", "pansweep") {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder.pid, Some(std::process::id()));
                assert_eq!(holder.started.as_deref(), Some("2026-12-06T01:00:00Z"));
            }
            other => panic!("expected Held, got {other:?}"),
        }
        // The refused attempt left the holder line alone.
        assert_eq!(std::fs::read_to_string(&p).unwrap(), text);
        drop(first);
        let _again = RunLock::acquire(&p, "2026-12-06T03:00:00Z", "pansweep").unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains("started=2026-12-06T03:00:00Z"));
        assert!(p.exists(), "the lock file is never deleted");
    }

    #[test]
    fn symlinks_and_directories_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        let link = d.path().join("link.lock");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(RunLock::acquire(&link, "t", "p"), Err(LockError::Open { .. })));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        assert!(matches!(
            RunLock::acquire(d.path(), "t", "p"),
            Err(LockError::Open { .. } | LockError::NotAFile { .. })
        ));
    }
}

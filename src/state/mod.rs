//! What a scan remembers between runs: the incremental state file (`--state`: which files
//! are unchanged since the last run, and what they held) and the resume journal
//! (`--resume`: which files an interrupted run finished, and how much of its report is
//! safely on disk).
//!
//! Files are named in both by a keyed hash of their path ([`Keyer`]), never by the path
//! itself: a file may be named after a card number, and a state file must not hold one.
//! Findings are kept as report records (masked, as in the JSONL report), so reading them
//! back goes through the same checks as `pansweep report`.
//!
//! Both files are written by the pipeline's writer thread only; workers read the
//! previous state (immutable once loaded).

use std::fmt;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub mod incremental;
pub mod resume;

pub use incremental::{CachedFile, NextState, Previous};
pub use resume::{Checkpoint, Journal, Resumed};

/// A file's name in a state file: the first 16 bytes of HMAC-SHA256 of its path as
/// walked, under a key derived from the fingerprint key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathKey(pub [u8; 16]);

impl fmt::Debug for PathKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::finding::hex(&self.0))
    }
}

/// Hashes a [`PathKey`] by its own bytes: they are already HMAC output, so `SipHash`
/// over them again would only cost time (a lookup per file walked).
#[derive(Clone, Copy, Debug, Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `PathKey` hashes as one write of its 16 bytes (after a length prefix).
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}

/// A map keyed by [`PathKey`].
pub type KeyMap<V> = std::collections::HashMap<PathKey, V, std::hash::BuildHasherDefault<KeyHasher>>;
/// A set of [`PathKey`]s.
pub type KeySet = std::collections::HashSet<PathKey, std::hash::BuildHasherDefault<KeyHasher>>;

impl PathKey {
    /// Lowercase hex, as stored.
    pub fn to_hex(self) -> String {
        crate::finding::hex(&self.0)
    }

    /// Reads 32 hex digits.
    pub fn from_hex(s: &str) -> Option<PathKey> {
        if s.len() != 32 {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(PathKey(out))
    }
}

/// Names files by keyed hash. The key is derived from the fingerprint key, so a state file
/// written under one key means nothing under another, and a path cannot be recovered
/// from it by guessing (a path may hold a card number).
#[derive(Clone)]
pub struct Keyer {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Keyer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyer")
    }
}

impl Keyer {
    /// A keyer under `fingerprint_key`.
    pub fn new(fingerprint_key: &[u8]) -> Keyer {
        let mut derive = Hmac::<Sha256>::new_from_slice(fingerprint_key).expect("HMAC accepts keys of any length");
        derive.update(b"pansweep state path key v1");
        let sub = derive.finalize().into_bytes();
        Keyer { mac: Hmac::<Sha256>::new_from_slice(&sub).expect("HMAC accepts keys of any length") }
    }

    /// The key of `path` (as walked: the same root given the same way gives the same key).
    pub fn key(&self, path: &Path) -> PathKey {
        let mut mac = self.mac.clone();
        mac.update(path.as_os_str().as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        PathKey(out)
    }
}

/// What tells a changed file from an unchanged one: size, modification and change times
/// (nanoseconds), inode and device. The change time moves on every write and on
/// `touch -d` back-dating too, so a file rewritten with its old mtime is still seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Inode change time, nanoseconds since the epoch.
    pub ctime_ns: i64,
    /// Inode number.
    pub ino: u64,
    /// Device number.
    pub dev: u64,
}

impl Stamp {
    /// The stamp of `meta`.
    pub fn of(meta: &Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
            ctime_ns: meta.ctime().saturating_mul(1_000_000_000).saturating_add(meta.ctime_nsec()),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }
}

/// A file's identity in a state file: its key and stamp when it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMark {
    /// Keyed hash of the path.
    pub key: PathKey,
    /// Size, times, inode, device when it was read.
    pub stamp: Stamp,
}

/// Everything that decides what a scan finds, hashed: a state file or journal made under
/// a different value is not used (a new ruleset must re-read every file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Validity(pub String);

impl Validity {
    /// Hashes the parts that decide findings: this build, the detector ruleset, the
    /// fingerprint key id, and the options (`options` is any stable description of them:
    /// minimum tier, snippets, limits).
    pub fn new(ruleset: &str, key_id: &str, options: &str) -> Validity {
        let mut h = Sha256::new();
        for part in [env!("CARGO_PKG_VERSION"), ruleset, key_id, options] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        Validity(format!("sha256:{}", crate::finding::hex(&h.finalize())))
    }
}

/// The first line of a state file or journal: what it is, and the [`Validity`] it was
/// made under.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Header {
    #[serde(rename = "type")]
    pub(crate) ty: String,
    pub(crate) version: u32,
    pub(crate) validity: String,
}

impl Header {
    pub(crate) fn new(kind: &str, version: u32, validity: &Validity) -> Header {
        Header { ty: kind.into(), version, validity: validity.0.clone() }
    }
}

/// A state file or journal that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a state file of this version.
    #[error("{path}: not a pansweep {kind} file of this version (line {line}); remove it to start over")]
    Format {
        /// The file.
        path: PathBuf,
        /// `state` or `resume`.
        kind: &'static str,
        /// 1-based line.
        line: u64,
    },
    /// Another run holds it.
    #[error("{path}: in use by another pansweep run")]
    Busy {
        /// The file.
        path: PathBuf,
    },
    /// A journal written by a different command.
    #[error("{path}: {why}; remove it to start a new run")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        why: String,
    },
}

impl StateError {
    pub(crate) fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> StateError {
        let path = path.to_owned();
        move |source| StateError::Io { path, what, source }
    }
}

/// Takes an exclusive, non-blocking lock (`flock`) on `file`, held until it is closed.
pub(crate) fn try_lock(file: &std::fs::File, path: &Path) -> Result<(), StateError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Busy { path: path.to_owned() }),
        Err(std::fs::TryLockError::Error(source)) => {
            Err(StateError::Io { path: path.to_owned(), what: "cannot lock", source })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_depend_on_key_and_path_and_round_trip() {
        let a = Keyer::new(b"0123456789abcdef");
        let b = Keyer::new(b"fedcba9876543210");
        let k = a.key(Path::new("dir/file.txt"));
        assert_eq!(k, a.key(Path::new("dir/file.txt")));
        assert_ne!(k, a.key(Path::new("dir/file.txT")));
        assert_ne!(k, b.key(Path::new("dir/file.txt")));
        assert_eq!(PathKey::from_hex(&k.to_hex()), Some(k));
        assert_eq!(PathKey::from_hex("zz"), None);
        assert_eq!(PathKey::from_hex(&"g".repeat(32)), None);
    }

    #[test]
    fn validity_changes_with_each_part() {
        let v = Validity::new("sha256:aa", "sha256:k", "low");
        assert_eq!(v, Validity::new("sha256:aa", "sha256:k", "low"));
        assert_ne!(v, Validity::new("sha256:ab", "sha256:k", "low"));
        assert_ne!(v, Validity::new("sha256:aa", "sha256:j", "low"));
        assert_ne!(v, Validity::new("sha256:aa", "sha256:k", "high"));
        // Parts are length-prefixed: moving a boundary changes the hash.
        assert_ne!(Validity::new("ab", "c", ""), Validity::new("a", "bc", ""));
    }
}

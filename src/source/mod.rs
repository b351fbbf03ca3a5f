//! Sources: where bytes come from. [`walk`] enumerates files with the defaults a card
//! scanner needs (hidden files in, ignore files not honoured, pseudo-filesystems and
//! special files never touched); [`file`] reads a file, one piece of a large file, or a
//! stream into a reused buffer in overlapping chunks and runs the scanner over it;
//! [`container`] and [`mail`] take archives and mail apart, [`pdf`] takes the text out
//! of PDF documents, [`sqlite`] reads SQLite database files table by table; [`item`]
//! ties them together for one item, recursively; [`throttle`] paces disk reads
//! (`--max-rate`); [`forensic`] stamps, hashes and sets back access times for
//! `scan --forensic`.
//!
//! Sources never write reports; problems become [`Skip`] records with a reason.

pub mod container;
pub mod db;
pub mod file;
pub mod forensic;
pub mod item;
pub mod mail;
pub mod pdf;
pub mod quiet;
pub mod sqlite;
pub mod throttle;
pub mod walk;

use std::fmt;
use std::io;
use std::sync::Arc;

use serde::Serialize;

/// The key of a database row: primary-key columns and their values as text (or the
/// engine's row locator, such as SQLite's `rowid`, when a table has no key).
pub type RowKey = Vec<(Arc<str>, String)>;

/// Why an item was not (completely) scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// It could not be read: coverage is incomplete (exit 3).
    Error,
    /// A configured limit stopped it (`--max-filesize`, …): coverage is incomplete.
    Limit,
    /// It disappeared between being listed and being read: nothing left to scan.
    Vanished,
    /// A symbolic link that was not followed (broken, or a loop back to what is
    /// already being walked): no data is missed.
    Link,
}

impl SkipKind {
    /// Whether this makes the run's coverage incomplete.
    pub fn incomplete(self) -> bool {
        !matches!(self, SkipKind::Vanished | SkipKind::Link)
    }
}

/// An item that was not (completely) scanned, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Skip {
    /// The path as walked.
    pub path: String,
    /// A short lowercase reason.
    pub reason: String,
    /// What kind of problem.
    pub kind: SkipKind,
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl Skip {
    /// A skip record for an I/O error while doing `what` (`"cannot open"`, …).
    pub fn io(path: impl Into<String>, what: &str, err: &io::Error) -> Skip {
        let kind = if err.kind() == io::ErrorKind::NotFound { SkipKind::Vanished } else { SkipKind::Error };
        let reason = match (kind, err.kind()) {
            (SkipKind::Vanished, _) => format!("{what}: vanished during the scan"),
            (_, io::ErrorKind::PermissionDenied) => format!("{what}: permission denied"),
            _ => format!("{what}: {}", lowercase_first(&err.to_string())),
        };
        Skip { path: path.into(), reason, kind }
    }
}

pub(crate) fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_lowercase().chain(c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_skip_reasons() {
        let s = Skip::io("a/b", "cannot open", &io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(s.to_string(), "a/b: cannot open: permission denied");
        assert_eq!(s.kind, SkipKind::Error);
        let s = Skip::io("a/b", "cannot open", &io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(s.kind, SkipKind::Vanished);
        assert!(!s.kind.incomplete());
        let s = Skip::io("x", "cannot read", &io::Error::from_raw_os_error(libc::EIO));
        assert!(s.reason.starts_with("cannot read: input/output error"), "{}", s.reason);
    }
}

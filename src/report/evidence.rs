//! The `evidence` record of `scan --forensic`: what a file on disk with findings looked
//! like when it was read (size, times, owner, mode, inode, SHA-256 of its content), so a
//! finding can be tied to one exact file in an incident timeline.
//!
//! It is written after the file's findings (for an archive or mailbox: the file on disk,
//! after all its members' findings). Times are RFC 3339 UTC with nanoseconds.

use serde::{Deserialize, Serialize};

/// One file's evidence record (`{"type":"evidence",…}` in JSONL).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Path as walked (PAN-like digit runs masked), the same as its findings' `path`.
    pub path: String,
    /// Size in bytes before the file was read.
    pub size: u64,
    /// Last modification, before the file was read.
    pub mtime: String,
    /// Last status change, before the file was read.
    pub ctime: String,
    /// Last access, before the file was read (what it still is after the run, unless
    /// `atime_preserved` is false).
    pub atime: String,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Owner's user name from `/etc/passwd` (`null` when the id has no entry).
    pub user: Option<String>,
    /// Group name from `/etc/group` (`null` when the id has no entry).
    pub group: Option<String>,
    /// Permission bits as an octal string, e.g. `"0644"`.
    pub mode: String,
    /// Inode number.
    pub inode: u64,
    /// Device number (`st_dev`).
    pub device: u64,
    /// SHA-256 of the whole file as read after the scan, lowercase hex (`null` when that
    /// read failed; a `skipped` record says why).
    pub sha256: Option<String>,
    /// Size, mtime or ctime differed after the read: the file changed while it was
    /// scanned, so the findings and the hash may describe different contents.
    pub changed_during_scan: bool,
    /// The read changed the access time (the file could not be opened with `O_NOATIME`,
    /// or a library read it by path) and it was set back: the file's ctime is now the
    /// time of that restore.
    pub atime_restored: bool,
    /// The access time is what it was before the run. False only when it changed and
    /// could not be set back (the run was neither the file's owner nor privileged).
    pub atime_preserved: bool,
}

impl Evidence {
    /// Masks PAN-like digit runs in the free-text fields again (a record read back from
    /// a file that may have been edited).
    #[must_use]
    pub fn cleaned(mut self) -> Evidence {
        let clean = |s: &str| super::redact_digits(s).into_owned();
        self.path = clean(&self.path);
        self.user = self.user.as_deref().map(clean);
        self.group = self.group.as_deref().map(clean);
        self.mtime = clean(&self.mtime);
        self.ctime = clean(&self.ctime);
        self.atime = clean(&self.atime);
        self.mode = clean(&self.mode);
        self
    }
}

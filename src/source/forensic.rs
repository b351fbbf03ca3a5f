//! File handling for `scan --forensic`: what a file looked like before it was read (a
//! [`Stamp`]), setting its access time back when a read changed it, its SHA-256, its
//! owner's names, and the access times of the directories and links the walker reads
//! ([`AtimeLog`]).
//!
//! Files are opened with `O_NOATIME` ([`super::file::open_noting_atime`]); that needs
//! ownership or `CAP_FOWNER`, and so does setting a time back, so a run by neither the
//! owner nor root may leave a file's access time changed: [`Evidence`] says so.

use std::collections::HashMap;
use std::fs::{File, FileTimes, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::report::Evidence;
use crate::time::rfc3339_nanos;

/// A file's metadata at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Status change time.
    pub ctime: (i64, i64),
    /// Access time.
    pub atime: (i64, i64),
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    /// Inode number.
    pub ino: u64,
    /// Device.
    pub dev: u64,
}

impl Stamp {
    /// The stamp of `meta`.
    pub fn of(meta: &Metadata) -> Stamp {
        Stamp {
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            atime: (meta.atime(), meta.atime_nsec()),
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode(),
            ino: meta.ino(),
            dev: meta.dev(),
        }
    }

    /// Size, mtime or ctime differ: the file was changed between the two stamps.
    pub fn changed_since(&self, before: &Stamp) -> bool {
        self.size != before.size || self.mtime != before.mtime || self.ctime != before.ctime
    }
}

/// Permission bits (with setuid, setgid and sticky) as a 4-digit octal string: `"0644"`.
pub fn mode_string(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// The `SystemTime` of a (seconds, nanoseconds) file time.
fn system_time(t: (i64, i64)) -> io::Result<SystemTime> {
    let whole = Duration::from_secs(t.0.unsigned_abs());
    let at = if t.0 >= 0 { UNIX_EPOCH.checked_add(whole) } else { UNIX_EPOCH.checked_sub(whole) };
    at.and_then(|at| at.checked_add(Duration::from_nanos(t.1.clamp(0, 999_999_999).unsigned_abs())))
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Sets the access time of an open file to `atime`, leaving its mtime alone (`futimens`
/// with `UTIME_OMIT`, through [`File::set_times`]). This changes the file's ctime.
pub fn restore_atime(file: &File, atime: (i64, i64)) -> io::Result<()> {
    file.set_times(FileTimes::new().set_accessed(system_time(atime)?))
}

/// Sets the access time of the directory at `path` (links followed), leaving its mtime
/// alone. The directory is opened with `O_NOATIME` where permitted; opening does not
/// read it either way.
pub fn restore_dir_atime(path: &Path, atime: (i64, i64)) -> io::Result<()> {
    restore_atime(&super::file::open(path)?, atime)
}

/// Bytes read per call while hashing.
const HASH_CHUNK: usize = 1 << 20;

/// SHA-256 of the whole of `file`, read from offset 0 to its end in chunks through `buf`
/// (grown to 1 MiB once). `None` when the run was cancelled part-way.
pub fn sha256_of(file: &File, buf: &mut Vec<u8>, cancel: &AtomicBool) -> io::Result<Option<[u8; 32]>> {
    if buf.len() < HASH_CHUNK {
        buf.resize(HASH_CHUNK, 0);
    }
    let mut h = Sha256::new();
    let mut at = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Ok(None);
        }
        match file.read_at(&mut buf[..HASH_CHUNK], at) {
            Ok(0) => return Ok(Some(h.finalize().into())),
            Ok(n) => {
                h.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// SHA-256 of bytes already in memory (a small file read whole).
pub fn sha256_bytes(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// User and group names by id, from `/etc/passwd` and `/etc/group` (no NSS: a forensic
/// run reports what the host's own files say).
#[derive(Clone, Debug, Default)]
pub struct Owners {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Owners {
    /// Reads `/etc/passwd` and `/etc/group` (a missing or unreadable file gives no names).
    pub fn load() -> Owners {
        let read = |p: &str| std::fs::read(p).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        Owners::parse(&read("/etc/passwd"), &read("/etc/group"))
    }

    /// Parses the text of a passwd and a group file (`name:x:id:…`); the first entry for
    /// an id wins, as with `getpwuid`. Comments, blank and malformed lines are ignored.
    pub fn parse(passwd: &str, group: &str) -> Owners {
        fn ids(text: &str) -> HashMap<u32, String> {
            let mut map = HashMap::new();
            for line in text.lines() {
                let line = line.trim_end_matches('\r');
                if line.starts_with('#') || line.starts_with('+') || line.starts_with('-') {
                    continue;
                }
                let mut f = line.split(':');
                let (Some(name), Some(_), Some(id)) = (f.next(), f.next(), f.next()) else { continue };
                if name.is_empty() {
                    continue;
                }
                if let Ok(id) = id.parse::<u32>() {
                    map.entry(id).or_insert_with(|| name.to_owned());
                }
            }
            map
        }
        Owners { users: ids(passwd), groups: ids(group) }
    }

    /// The user name of `uid`.
    pub fn user(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }

    /// The group name of `gid`.
    pub fn group(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }
}

/// What happened to a file's access time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AtimeOutcome {
    /// It changed and was set back.
    pub restored: bool,
    /// It changed and could not be set back.
    pub lost: bool,
}

/// After a file was read: compares its access time with `before` and sets it back when it
/// moved. Returns the stamp taken before any restore (for `changed_during_scan`).
pub fn settle(file: &File, before: &Stamp) -> (Option<Stamp>, AtimeOutcome) {
    let Ok(after) = file.metadata().map(|m| Stamp::of(&m)) else {
        return (None, AtimeOutcome::default());
    };
    let mut outcome = AtimeOutcome::default();
    if after.atime != before.atime {
        match restore_atime(file, before.atime) {
            Ok(()) => outcome.restored = true,
            Err(_) => outcome.lost = true,
        }
    }
    (Some(after), outcome)
}

/// Builds the evidence record of a file (`path` as shown in the report).
pub fn evidence(
    path: &str,
    before: &Stamp,
    after: Option<&Stamp>,
    sha256: Option<[u8; 32]>,
    atime: AtimeOutcome,
    owners: &Owners,
) -> Evidence {
    Evidence {
        path: path.to_owned(),
        size: before.size,
        mtime: rfc3339_nanos(before.mtime.0, before.mtime.1),
        ctime: rfc3339_nanos(before.ctime.0, before.ctime.1),
        atime: rfc3339_nanos(before.atime.0, before.atime.1),
        uid: before.uid,
        gid: before.gid,
        user: owners.user(before.uid).map(str::to_owned),
        group: owners.group(before.gid).map(str::to_owned),
        mode: mode_string(before.mode),
        inode: before.ino,
        device: before.dev,
        sha256: sha256.map(|h| crate::finding::hex(&h)),
        // No second stat (the file vanished under us) is a change too.
        changed_during_scan: after.is_none_or(|a| a.changed_since(before)),
        atime_restored: atime.restored,
        atime_preserved: !atime.lost,
    }
}

/// Access times of the directories under the scanned roots, taken before the walker
/// lists them and set back after the run: listing a directory updates its access time,
/// and the walker (the `ignore` crate) opens directories itself, without `O_NOATIME`.
/// One entry per directory, so memory grows with the number of directories walked.
#[derive(Debug, Default)]
pub struct AtimeLog {
    entries: Mutex<Vec<LogEntry>>,
}

#[derive(Debug)]
struct LogEntry {
    path: PathBuf,
    atime: (i64, i64),
}

/// What [`AtimeLog::restore`] did.
#[derive(Debug, Default)]
pub struct Restored {
    /// Directories whose access time moved and was set back.
    pub restored: u64,
    /// Those that moved and could not be set back: (path, why).
    pub failed: Vec<(PathBuf, io::Error)>,
}

impl AtimeLog {
    /// An empty log.
    pub fn new() -> AtimeLog {
        AtimeLog::default()
    }

    /// Notes the access time of the directory at `path` (links followed) before it is
    /// listed; anything but a directory is left out.
    pub fn record(&self, path: &Path) {
        if let Ok(meta) = std::fs::metadata(path)
            && meta.is_dir()
        {
            let e = LogEntry { path: path.to_owned(), atime: (meta.atime(), meta.atime_nsec()) };
            self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(e);
        }
    }

    /// Sets back every recorded access time that moved; one that did not move is left
    /// alone (setting it would change the directory's ctime for nothing).
    pub fn restore(&self) -> Restored {
        let entries = std::mem::take(&mut *self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        let mut out = Restored::default();
        for e in entries.iter().rev() {
            let Ok(now) = std::fs::metadata(&e.path) else { continue };
            if (now.atime(), now.atime_nsec()) == e.atime {
                continue;
            }
            match restore_dir_atime(&e.path, e.atime) {
                Ok(()) => out.restored += 1,
                Err(err) => out.failed.push((e.path.clone(), err)),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_group_are_parsed() {
        let passwd = "# comment\nroot:x:0:0:root:/root:/bin/bash\n\nnobody:x:65534:65534:nobody:/:/usr/sbin/nologin\n\
                      broken line\nbad:x:notanumber:0::/:\ntoor:x:0:0::/:/bin/sh\n+nis::::::\r\n";
        let group = "root:x:0:\nnogroup:x:65534:\nstaff:x:50:alice,bob\n";
        let o = Owners::parse(passwd, group);
        assert_eq!(o.user(0), Some("root"), "the first entry for an id wins");
        assert_eq!(o.user(65534), Some("nobody"));
        assert_eq!(o.user(1000), None);
        assert_eq!(o.group(50), Some("staff"));
        assert_eq!(o.group(65534), Some("nogroup"));
        assert_eq!(o.group(1), None);
        assert_eq!(o.users.len(), 2, "{:?}", o.users);
    }

    #[test]
    fn modes_are_four_octal_digits() {
        assert_eq!(mode_string(0o100_644), "0644");
        assert_eq!(mode_string(0o040_755), "0755");
        assert_eq!(mode_string(0o104_755), "4755");
        assert_eq!(mode_string(0o101_777), "1777");
        assert_eq!(mode_string(0o100_000), "0000");
    }

    #[test]
    fn a_moved_atime_is_set_back_and_said() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        let f = File::open(&p).unwrap();
        restore_atime(&f, (1_000_000_000, 5)).unwrap();
        let before = Stamp::of(&f.metadata().unwrap());
        assert_eq!(before.atime, (1_000_000_000, 5));
        // Move it as a read on a strictatime mount would.
        restore_atime(&f, (1_500_000_000, 0)).unwrap();
        let (after, outcome) = settle(&f, &before);
        assert!(outcome.restored && !outcome.lost);
        assert_eq!(Stamp::of(&f.metadata().unwrap()).atime, before.atime);
        let mtime = before.mtime;
        assert_eq!(Stamp::of(&f.metadata().unwrap()).mtime, mtime, "mtime is left alone");
        let ev = evidence("f", &before, after.as_ref(), Some(sha256_bytes(b"hello")), outcome, &Owners::default());
        assert_eq!(ev.atime, "2001-09-09T01:46:40.000000005Z");
        assert_eq!(ev.sha256.as_deref(), Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        assert!(ev.atime_restored && ev.atime_preserved);
    }

    #[test]
    fn hashing_reads_the_whole_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("big");
        let data: Vec<u8> = (0..(HASH_CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let f = File::open(&p).unwrap();
        let mut buf = Vec::new();
        assert_eq!(sha256_of(&f, &mut buf, &AtomicBool::new(false)).unwrap(), Some(sha256_bytes(&data)));
        assert_eq!(sha256_of(&f, &mut buf, &AtomicBool::new(true)).unwrap(), None);
    }

    #[test]
    fn directory_atimes_are_set_back() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        restore_dir_atime(&sub, (1_000_000_000, 0)).unwrap();
        let log = AtimeLog::new();
        log.record(&sub);
        log.record(&d.path().join("not-there"));
        restore_dir_atime(&sub, (1_600_000_000, 0)).unwrap();
        let r = log.restore();
        assert_eq!(r.restored, 1);
        assert!(r.failed.is_empty());
        assert_eq!(std::fs::metadata(&sub).unwrap().atime(), 1_000_000_000);
        // Unchanged entries are left alone (no ctime change).
        log.record(&sub);
        assert_eq!(log.restore().restored, 0);
    }
}

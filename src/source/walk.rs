//! The file walker: `ignore::Walk` with a card scanner's defaults (SPEC §2).
//!
//! - hidden files and directories are walked;
//! - `.gitignore`/`.ignore` are not honoured unless `respect_ignore` (card data hides in
//!   ignored files);
//! - pseudo-filesystems (`/proc`, `/sys`, `/dev`, cgroup, debugfs, …) are never entered;
//! - symlinks are not followed unless `follow` (loops are then reported);
//! - only regular files are handed on: FIFOs, sockets and devices are never opened;
//! - `--exclude` globs (gitignore syntax) and `--one-file-system` apply.
//!
//! [`walk`] runs on the caller's thread (`ignore`'s sequential walker, which streams each
//! directory); the caller passes a visitor.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ignore::WalkBuilder;
use ignore::overrides::OverrideBuilder;

use super::forensic::AtimeLog;
use super::{Skip, SkipKind};

/// Walk options.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Follow symbolic links.
    pub follow: bool,
    /// Stay on the filesystem of each root.
    pub one_file_system: bool,
    /// Honour `.gitignore`, `.ignore` and git excludes.
    pub respect_ignore: bool,
    /// Globs (gitignore syntax) of paths to leave out.
    pub excludes: Vec<String>,
    /// Walker threads. Unused: the walk is sequential (see [`walk`]); kept so that
    /// callers need not change if a bounded parallel walk comes back.
    pub threads: usize,
    /// Forensic mode: the access time of every directory is noted here before it is
    /// listed, for the caller to set back after the run.
    pub atimes: Option<Arc<AtimeLog>>,
}

/// What the walker hands on.
#[derive(Debug)]
pub enum Entry {
    /// A regular file to scan.
    File(PathBuf),
    /// Something that could not be walked.
    Skipped(Skip),
}

/// A problem that stops the walk before it starts.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    /// An `--exclude` glob does not parse.
    #[error("invalid --exclude glob {glob:?}: {message}")]
    BadGlob {
        /// The glob.
        glob: String,
        /// Why.
        message: String,
    },
}

/// Filesystem types that are views of the kernel, not stored data.
const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "fusectl",
    "configfs",
    "bpf",
    "pstore",
    "mqueue",
    "hugetlbfs",
    "binfmt_misc",
    "autofs",
    "efivarfs",
    "selinuxfs",
    "rpc_pipefs",
    "nsfs",
];

/// Device ids of every mounted pseudo-filesystem (from `/proc/self/mountinfo`), plus the
/// usual mount points in case `/proc` itself is not mounted.
fn pseudo_devices() -> HashSet<u64> {
    let mut devs = HashSet::new();
    let mut points: Vec<String> = vec!["/proc".into(), "/sys".into(), "/dev".into()];
    if let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") {
        for line in info.lines() {
            // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
            let fields: Vec<&str> = line.split(' ').collect();
            let Some(dash) = fields.iter().position(|f| *f == "-") else { continue };
            if let (Some(mount), Some(fstype)) = (fields.get(4), fields.get(dash + 1))
                && PSEUDO_FS.contains(fstype)
            {
                points.push(unescape_mount(mount));
            }
        }
    }
    for p in points {
        if let Ok(m) = std::fs::metadata(&p) {
            // `/dev` may be a plain directory on the root filesystem in containers.
            if m.dev() != std::fs::metadata("/").map_or(u64::MAX, |r| r.dev()) {
                devs.insert(m.dev());
            }
        }
    }
    devs
}

fn unescape_mount(s: &str) -> String {
    s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

/// Removes repeated roots and roots inside other roots (compared after resolving links).
pub fn dedup_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    let canon: Vec<Option<PathBuf>> = roots.iter().map(|r| std::fs::canonicalize(r).ok()).collect();
    let mut keep = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        let Some(c) = &canon[i] else {
            keep.push(root.clone());
            continue;
        };
        let dominated = canon.iter().enumerate().any(|(j, other)| {
            other.as_ref().is_some_and(|o| {
                j != i
                    && ((o == c && j < i)
                        || (o != c && c.starts_with(o) && std::fs::metadata(o).is_ok_and(|m| m.is_dir())))
            })
        });
        if !dominated {
            keep.push(root.clone());
        }
    }
    keep
}

/// The operating system's error inside `io`: the sequential walker wraps it in a walkdir
/// error (whose text repeats the path), so look through that.
fn os_error(io: &std::io::Error) -> &std::io::Error {
    io.get_ref().and_then(|e| e.source()).and_then(|e| e.downcast_ref::<std::io::Error>()).unwrap_or(io)
}

/// A copy of an OS error (its code), or of its kind and text.
fn clone_io(io: &std::io::Error) -> std::io::Error {
    io.raw_os_error().map_or_else(|| std::io::Error::new(io.kind(), io.to_string()), std::io::Error::from_raw_os_error)
}

fn skip_from_ignore(err: &ignore::Error, fallback: &Path) -> Skip {
    fn inner(err: &ignore::Error, path: &Path) -> Skip {
        match err {
            ignore::Error::WithPath { path, err } => inner(err, path),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => inner(err, path),
            ignore::Error::Loop { child, .. } => Skip {
                path: child.display().to_string(),
                reason: "symlink loop: not followed again".into(),
                kind: SkipKind::Link,
            },
            ignore::Error::Io(io) if !std::ptr::eq(os_error(io), io) => {
                inner(&ignore::Error::Io(clone_io(os_error(io))), path)
            }
            ignore::Error::Io(io)
                if io.kind() == std::io::ErrorKind::NotFound
                    && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
            {
                Skip {
                    path: path.display().to_string(),
                    reason: "broken symbolic link: the target does not exist".into(),
                    kind: SkipKind::Link,
                }
            }
            // A link that resolves through itself (`self → self`, `a → b → a`): nothing
            // behind it to miss, like a loop back to a directory being walked.
            ignore::Error::Io(io)
                if io.raw_os_error() == Some(libc::ELOOP)
                    && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) =>
            {
                Skip {
                    path: path.display().to_string(),
                    reason: "symlink loop: the link resolves to itself".into(),
                    kind: SkipKind::Link,
                }
            }
            ignore::Error::Io(io) => {
                let what = if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
                    "cannot read directory"
                } else {
                    "cannot read"
                };
                Skip::io(path.display().to_string(), what, io)
            }
            other => Skip {
                path: path.display().to_string(),
                reason: other.to_string().to_lowercase(),
                kind: SkipKind::Error,
            },
        }
    }
    inner(err, fallback)
}

/// Walks `roots`, calling `visit` on this thread for each regular file and each
/// problem. `visit` returns false to stop the walk; so does setting `cancel`.
pub fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
    cancel: &AtomicBool,
    visit: &(dyn Fn(Entry) -> bool + Sync),
) -> Result<(), WalkError> {
    let roots = dedup_roots(roots);
    let mut overrides = None;
    if !opts.excludes.is_empty() {
        let mut ob = OverrideBuilder::new("/");
        for g in &opts.excludes {
            let glob = format!("!{}", g.trim_start_matches('!'));
            ob.add(&glob).map_err(|e| WalkError::BadGlob { glob: g.clone(), message: e.to_string() })?;
        }
        let ov =
            ob.build().map_err(|e| WalkError::BadGlob { glob: opts.excludes.join(" "), message: e.to_string() })?;
        overrides = Some(ov);
    }
    let pseudo = pseudo_devices();
    for root in &roots {
        if std::fs::metadata(root).is_ok_and(|m| pseudo.contains(&m.dev())) {
            let skip = Skip {
                path: root.display().to_string(),
                reason: "pseudo-filesystem: never scanned".into(),
                kind: SkipKind::Limit,
            };
            if !visit(Entry::Skipped(skip)) {
                return Ok(());
            }
        }
    }
    let roots: Vec<PathBuf> =
        roots.into_iter().filter(|r| !std::fs::metadata(r).is_ok_and(|m| pseudo.contains(&m.dev()))).collect();
    if let Some(log) = &opts.atimes {
        for r in &roots {
            log.record(r);
        }
    }
    let Some((first, rest)) = roots.split_first() else { return Ok(()) };
    let mut builder = WalkBuilder::new(first);
    for r in rest {
        builder.add(r);
    }
    builder.standard_filters(false).hidden(false).follow_links(opts.follow).same_file_system(opts.one_file_system);
    if opts.respect_ignore {
        builder.git_ignore(true).git_exclude(true).git_global(true).ignore(true).parents(true).require_git(false);
    }
    if let Some(ov) = overrides {
        builder.overrides(ov);
    }
    let atimes = opts.atimes.clone();
    builder.filter_entry(move |entry| {
        let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
        let keep = !(is_dir && entry.metadata().is_ok_and(|m| pseudo.contains(&m.dev())));
        // Called while the parent is listed, before this directory is: its access time
        // is still the one it had before the run.
        if let Some(log) = &atimes
            && keep
            && is_dir
        {
            log.record(entry.path());
        }
        keep
    });
    // The sequential walker (walkdir underneath) streams each directory as it reads it;
    // the parallel one queues a work item per entry, so a directory of a million files
    // cost over 300 MiB. Files are scanned by the worker pool either way: the walk itself
    // (readdir, file types from the directory entries) is a small part of a run.
    for result in builder.build() {
        if cancel.load(Ordering::Relaxed) || !visit_one(result, visit) {
            break;
        }
    }
    Ok(())
}

/// Hands one walked entry (or walk error) to `visit`; false stops the walk.
fn visit_one(result: Result<ignore::DirEntry, ignore::Error>, visit: &(dyn Fn(Entry) -> bool + Sync)) -> bool {
    let entry = match result {
        Ok(e) => e,
        Err(err) => return visit(Entry::Skipped(skip_from_ignore(&err, Path::new("")))),
    };
    let Some(ft) = entry.file_type() else { return true };
    if ft.is_file() {
        visit(Entry::File(entry.into_path()))
    } else if ft.is_symlink() && entry.depth() == 0 {
        // A symlink named on the command line is followed, as a user would expect.
        match std::fs::metadata(entry.path()) {
            Ok(m) if m.is_file() => visit(Entry::File(entry.into_path())),
            Ok(_) => true,
            Err(_) => visit(Entry::Skipped(Skip {
                path: entry.path().display().to_string(),
                reason: "broken symbolic link: the target does not exist".into(),
                kind: SkipKind::Link,
            })),
        }
    } else if entry.depth() == 0 && !ft.is_dir() {
        visit(Entry::Skipped(Skip {
            path: entry.path().display().to_string(),
            reason: "not a regular file: never opened (fifo, socket or device)".into(),
            kind: SkipKind::Error,
        }))
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn collect(roots: &[PathBuf], opts: &WalkOptions) -> (Vec<String>, Vec<Skip>) {
        let files = Mutex::new(Vec::new());
        let skips = Mutex::new(Vec::new());
        let cancel = AtomicBool::new(false);
        walk(roots, opts, &cancel, &|e| {
            match e {
                Entry::File(p) => files.lock().unwrap().push(p.display().to_string()),
                Entry::Skipped(s) => skips.lock().unwrap().push(s),
            }
            true
        })
        .unwrap();
        let mut f = files.into_inner().unwrap();
        f.sort();
        (f, skips.into_inner().unwrap())
    }

    #[test]
    fn hidden_and_ignored_files_are_walked() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(".hidden"), "x").unwrap();
        std::fs::write(d.path().join(".gitignore"), "ignored.txt\n").unwrap();
        std::fs::write(d.path().join("ignored.txt"), "x").unwrap();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        let (files, _) = collect(&[d.path().to_path_buf()], &WalkOptions::default());
        assert_eq!(files.len(), 3, "{files:?}");
        let (files, _) =
            collect(&[d.path().to_path_buf()], &WalkOptions { respect_ignore: true, ..WalkOptions::default() });
        assert!(!files.iter().any(|f| f.ends_with("ignored.txt")), "{files:?}");
    }

    #[test]
    fn excludes_and_fifos() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.log"), "x").unwrap();
        std::fs::write(d.path().join("b.csv"), "x").unwrap();
        let fifo = d.path().join("pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let (files, skips) = collect(
            &[d.path().to_path_buf()],
            &WalkOptions { excludes: vec!["*.log".into()], ..WalkOptions::default() },
        );
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(files[0].ends_with("b.csv"));
        assert!(skips.is_empty());
        // A FIFO named explicitly is reported, never opened.
        let (files, skips) = collect(&[fifo], &WalkOptions::default());
        assert!(files.is_empty());
        assert_eq!(skips.len(), 1);
    }

    #[test]
    fn symlink_loops_with_follow() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("a")).unwrap();
        std::fs::write(d.path().join("a/f.txt"), "x").unwrap();
        std::os::unix::fs::symlink(d.path().join("a"), d.path().join("a/loop")).unwrap();
        let (files, skips) = collect(&[d.path().to_path_buf()], &WalkOptions::default());
        assert_eq!(files.len(), 1);
        assert!(skips.is_empty());
        let (files, skips) =
            collect(&[d.path().to_path_buf()], &WalkOptions { follow: true, ..WalkOptions::default() });
        assert_eq!(files.len(), 1, "{files:?}");
        assert!(skips.iter().any(|s| s.reason.contains("symlink loop")), "{skips:?}");
        // Links that resolve through themselves are loops too, not read errors.
        std::os::unix::fs::symlink("self", d.path().join("self")).unwrap();
        std::os::unix::fs::symlink("y", d.path().join("x")).unwrap();
        std::os::unix::fs::symlink("x", d.path().join("y")).unwrap();
        for follow in [false, true] {
            let (files, skips) = collect(&[d.path().to_path_buf()], &WalkOptions { follow, ..WalkOptions::default() });
            assert_eq!(files.len(), 1, "{files:?}");
            assert!(skips.iter().all(|s| s.kind == SkipKind::Link), "follow {follow}: {skips:?}");
        }
    }

    #[test]
    fn roots_given_twice_or_nested_are_walked_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("sub/f.txt"), "x").unwrap();
        let root = d.path().to_path_buf();
        let roots = vec![root.clone(), root.join("sub"), root.clone()];
        assert_eq!(dedup_roots(&roots), vec![root.clone()]);
        let (files, _) = collect(&roots, &WalkOptions::default());
        assert_eq!(files.len(), 1);
    }

    #[test]
    fn proc_is_never_entered() {
        let (files, skips) = collect(&[PathBuf::from("/proc/self")], &WalkOptions::default());
        assert!(files.is_empty(), "{} files from /proc", files.len());
        assert_eq!(skips.len(), 1);
        assert_eq!(skips[0].kind, SkipKind::Limit);
    }
}

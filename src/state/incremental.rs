//! The incremental state file (`--state FILE`): for each file read whole and without a
//! problem, its [`FileMark`] and the finding records it yielded. A later run under the
//! same [`Validity`] takes an unchanged file's findings from here instead of reading it.
//!
//! ```text
//! {"type":"pansweep-state","version":1,"validity":"sha256:…"}
//! {"k":"<32 hex>","size":…,"mtime_ns":…,"ctime_ns":…,"ino":…,"dev":…,"n":2}
//! {"type":"finding",…}          ← n finding records, as in the JSONL report
//! {"type":"finding",…}
//! ```
//!
//! The new state is written to `FILE.tmp` (locked, so two runs cannot write it at once)
//! as files finish, and renamed over `FILE` at the end: a crash leaves the old state.
//! Memory: the previous state is indexed (about 100 bytes per file) and its findings are
//! read back from disk only for the files that are unchanged.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{FileMark, Header, KeyMap, KeySet, PathKey, Stamp, StateError, Validity, try_lock};

const KIND: &str = "pansweep-state";
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct EntryLine {
    k: String,
    #[serde(flatten)]
    stamp: Stamp,
    n: u32,
}

/// Where a file's findings are in the previous state file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedFile {
    /// The file.
    pub mark: FileMark,
    offset: u64,
    len: u32,
    /// Finding records.
    pub count: u32,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    stamp: Stamp,
    offset: u64,
    len: u32,
    count: u32,
}

/// The state left by an earlier run, indexed by path key.
#[derive(Debug)]
pub struct Previous {
    path: PathBuf,
    file: File,
    index: KeyMap<Slot>,
}

/// What was found at the state path.
#[derive(Debug)]
pub enum Loaded {
    /// No state yet (a first run).
    Missing,
    /// A state made under another ruleset, key, build or options: every file is read.
    Stale,
    /// A usable state.
    Ready(Previous),
}

impl Previous {
    /// Loads the state at `path` if it exists and was made under `validity`.
    pub fn load(path: &Path, validity: &Validity) -> Result<Loaded, StateError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(StateError::io(path, "cannot open state file")(e)),
        };
        let bad = |line| StateError::Format { path: path.to_owned(), kind: "state", line };
        let mut r = BufReader::with_capacity(256 << 10, &file);
        let mut line = Vec::new();
        let mut offset = 0u64;
        let mut n = read_line(&mut r, &mut line).map_err(StateError::io(path, "cannot read state file"))?;
        let header: Header = serde_json::from_slice(&line).map_err(|_| bad(1))?;
        if header.ty != KIND || header.version != VERSION {
            return Err(bad(1));
        }
        if header.validity != validity.0 {
            return Ok(Loaded::Stale);
        }
        offset += n as u64;
        let mut index = KeyMap::default();
        let mut lineno = 1u64;
        loop {
            n = read_line(&mut r, &mut line).map_err(StateError::io(path, "cannot read state file"))?;
            if n == 0 {
                break;
            }
            lineno += 1;
            offset += n as u64;
            let e: EntryLine = serde_json::from_slice(&line).map_err(|_| bad(lineno))?;
            let key = PathKey::from_hex(&e.k).ok_or_else(|| bad(lineno))?;
            let start = offset;
            for _ in 0..e.n {
                n = read_line(&mut r, &mut line).map_err(StateError::io(path, "cannot read state file"))?;
                if n == 0 || !line.ends_with(b"\n") {
                    return Err(bad(lineno + 1));
                }
                lineno += 1;
                offset += n as u64;
            }
            let len = u32::try_from(offset - start).map_err(|_| bad(lineno))?;
            index.insert(key, Slot { stamp: e.stamp, offset: start, len, count: e.n });
        }
        Ok(Loaded::Ready(Previous { path: path.to_owned(), file, index }))
    }

    /// Files in the state.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the state holds no file.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The entry for `mark` when the file is unchanged (same stamp).
    pub fn lookup(&self, mark: &FileMark) -> Option<CachedFile> {
        let s = self.index.get(&mark.key)?;
        (s.stamp == mark.stamp).then_some(CachedFile { mark: *mark, offset: s.offset, len: s.len, count: s.count })
    }

    /// The finding records of a cached file, as JSONL lines.
    pub fn read(&self, c: &CachedFile) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; c.len as usize];
        self.file.read_exact_at(&mut buf, c.offset)?;
        Ok(buf)
    }

    /// The state file read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `read_until` newline, returning the bytes read (0 at the end).
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>) -> io::Result<usize> {
    line.clear();
    r.read_until(b'\n', line)
}

/// The state being written by this run.
#[derive(Debug)]
pub struct NextState {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    visited: KeySet,
    line: Vec<u8>,
    /// The first write error: the state is then abandoned (the run goes on).
    failed: Option<io::Error>,
}

impl NextState {
    /// Starts `PATH.tmp` (mode 0600, locked against a second run).
    pub fn create(path: &Path, validity: &Validity) -> Result<NextState, StateError> {
        let mut name = path.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
        name.push(".tmp");
        let tmp = path.with_file_name(name);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&tmp)
            .map_err(StateError::io(&tmp, "cannot create state file"))?;
        try_lock(&file, path)?;
        file.set_len(0).map_err(StateError::io(&tmp, "cannot truncate state file"))?;
        let mut out = BufWriter::with_capacity(256 << 10, file);
        let header = Header::new(KIND, VERSION, validity);
        let mut line = serde_json::to_vec(&header).map_err(|e| StateError::io(&tmp, "cannot write")(e.into()))?;
        line.push(b'\n');
        out.write_all(&line).map_err(StateError::io(&tmp, "cannot write state file"))?;
        Ok(NextState { path: path.to_owned(), tmp, out, visited: KeySet::default(), line, failed: None })
    }

    /// Records a file read whole without a problem, with its finding lines (each ending
    /// in a newline).
    pub fn add(&mut self, mark: &FileMark, findings: &[u8], count: u32) {
        if self.failed.is_some() || !self.visited.insert(mark.key) {
            return;
        }
        self.line.clear();
        let e = EntryLine { k: mark.key.to_hex(), stamp: mark.stamp, n: count };
        let r = serde_json::to_writer(&mut self.line, &e)
            .map_err(io::Error::from)
            .and_then(|()| {
                self.line.push(b'\n');
                self.out.write_all(&self.line)
            })
            .and_then(|()| self.out.write_all(findings));
        if let Err(e) = r {
            self.failed = Some(e);
        }
    }

    /// Finishes the state: the previous entries of files this run did not record are kept
    /// when `keep` says so (after an interrupted run: all of them; each is still checked
    /// against its stamp when used), else dropped (after a complete run, files that are
    /// gone). Then `PATH.tmp` replaces `PATH`. When that fails (a full disk), `PATH.tmp`
    /// is removed, so an abandoned state does not keep the disk full; `PATH` is untouched.
    pub fn commit(self, previous: Option<&Previous>, keep: &dyn Fn(&PathKey) -> bool) -> Result<(), StateError> {
        let tmp = self.tmp.clone();
        let r = self.write_out(previous, keep);
        if r.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        r
    }

    fn write_out(mut self, previous: Option<&Previous>, keep: &dyn Fn(&PathKey) -> bool) -> Result<(), StateError> {
        if let Some(e) = self.failed.take() {
            return Err(StateError::Io { path: self.tmp, what: "cannot write state file", source: e });
        }
        if let Some(prev) = previous {
            let mut keys: Vec<_> =
                prev.index.keys().filter(|k| !self.visited.contains(*k) && keep(k)).copied().collect();
            keys.sort_unstable();
            for key in keys {
                let s = prev.index[&key];
                let c =
                    CachedFile { mark: FileMark { key, stamp: s.stamp }, offset: s.offset, len: s.len, count: s.count };
                let lines = prev.read(&c).map_err(StateError::io(prev.path(), "cannot read state file"))?;
                self.add(&c.mark, &lines, c.count);
            }
            if let Some(e) = self.failed.take() {
                return Err(StateError::Io { path: self.tmp, what: "cannot write state file", source: e });
            }
        }
        let file =
            self.out.into_inner().map_err(|e| StateError::io(&self.tmp, "cannot write state file")(e.into_error()))?;
        file.sync_all().map_err(StateError::io(&self.tmp, "cannot sync state file"))?;
        std::fs::rename(&self.tmp, &self.path).map_err(StateError::io(&self.path, "cannot replace state file"))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Keyer;

    fn mark(k: &Keyer, p: &str, size: u64) -> FileMark {
        FileMark { key: k.key(Path::new(p)), stamp: Stamp { size, mtime_ns: 5, ctime_ns: 6, ino: 7, dev: 8 } }
    }

    const LINE: &[u8] = b"{\"type\":\"finding\",\"x\":1}\n";

    #[test]
    fn state_round_trips_and_checks_stamps() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("st");
        let v = Validity::new("r", "k", "o");
        assert!(matches!(Previous::load(&path, &v).unwrap(), Loaded::Missing));
        let k = Keyer::new(b"0123456789abcdef");
        let mut next = NextState::create(&path, &v).unwrap();
        next.add(&mark(&k, "a", 10), b"", 0);
        next.add(&mark(&k, "b", 20), &[LINE, LINE].concat(), 2);
        // A second run cannot write the same state meanwhile.
        assert!(matches!(NextState::create(&path, &v), Err(StateError::Busy { .. })));
        next.commit(None, &|_| false).unwrap();
        assert!(!d.path().join("st.tmp").exists());

        let Loaded::Ready(prev) = Previous::load(&path, &v).unwrap() else { panic!("not loaded") };
        assert_eq!(prev.len(), 2);
        assert_eq!(prev.lookup(&mark(&k, "a", 10)).unwrap().count, 0);
        let b = prev.lookup(&mark(&k, "b", 20)).unwrap();
        assert_eq!(prev.read(&b).unwrap(), [LINE, LINE].concat());
        // Changed size: not taken.
        assert!(prev.lookup(&mark(&k, "b", 21)).is_none());
        assert!(prev.lookup(&mark(&k, "c", 20)).is_none());
        // Another ruleset: stale.
        assert!(matches!(Previous::load(&path, &Validity::new("r2", "k", "o")).unwrap(), Loaded::Stale));
    }

    #[test]
    fn interrupted_run_keeps_unvisited_entries_and_complete_run_drops_them() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("st");
        let v = Validity::new("r", "k", "o");
        let k = Keyer::new(b"0123456789abcdef");
        let mut next = NextState::create(&path, &v).unwrap();
        next.add(&mark(&k, "a", 1), LINE, 1);
        next.add(&mark(&k, "b", 2), b"", 0);
        next.commit(None, &|_| false).unwrap();
        let Loaded::Ready(prev) = Previous::load(&path, &v).unwrap() else { panic!() };

        let mut next = NextState::create(&path, &v).unwrap();
        next.add(&mark(&k, "b", 3), b"", 0);
        next.commit(Some(&prev), &|_| true).unwrap();
        let Loaded::Ready(p2) = Previous::load(&path, &v).unwrap() else { panic!() };
        assert_eq!(p2.len(), 2);
        assert_eq!(p2.read(&p2.lookup(&mark(&k, "a", 1)).unwrap()).unwrap(), LINE);
        assert!(p2.lookup(&mark(&k, "b", 3)).is_some());

        let mut next = NextState::create(&path, &v).unwrap();
        next.add(&mark(&k, "b", 3), b"", 0);
        next.commit(Some(&p2), &|_| false).unwrap();
        let Loaded::Ready(p3) = Previous::load(&path, &v).unwrap() else { panic!() };
        assert_eq!(p3.len(), 1);
    }

    #[test]
    fn damaged_state_is_an_error_naming_the_line() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("st");
        let v = Validity::new("r", "k", "o");
        std::fs::write(&path, "not json\n").unwrap();
        let e = Previous::load(&path, &v).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let header = format!("{{\"type\":\"pansweep-state\",\"version\":1,\"validity\":\"{}\"}}\n", v.0);
        // An entry promising two findings but holding one.
        let k = Keyer::new(b"0123456789abcdef").key(Path::new("a")).to_hex();
        let entry = format!("{{\"k\":\"{k}\",\"size\":1,\"mtime_ns\":1,\"ctime_ns\":1,\"ino\":1,\"dev\":1,\"n\":2}}\n");
        std::fs::write(&path, format!("{header}{entry}{}", String::from_utf8_lossy(LINE))).unwrap();
        let e = Previous::load(&path, &v).unwrap_err().to_string();
        assert!(e.contains("line 4"), "{e}");
    }
}

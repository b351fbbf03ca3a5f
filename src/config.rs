//! The config file (`pansweep.toml`): what a scheduled run scans, how, and where the
//! report goes (`docs/config.md`).
//!
//! The file is parsed with serde (unknown keys rejected) into spanned raw values, then
//! every value is checked and turned into a [`Config`] of plain typed options, each
//! `None` when the file does not set it. Every problem is a [`Problem`] placed at the
//! value's line and column. Paths in the file are relative to the file's directory.
//!
//! Two levels of checking: [`parse`] / [`load`] check what the file says (types, sizes,
//! tiers, formats, globs, database URLs); [`check`] also checks what it names on this
//! machine (paths exist, the fingerprint key is long enough, password files readable,
//! password variables set). A password is never read into a message: database URLs are
//! shown without it, and password files and variables are named, never quoted.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use zeroize::Zeroizing;

use crate::finding::Confidence;
use crate::report::{Format, Lang};

/// `123`, `64K`, `500M`, `2G`, `1T` (binary multiples; a trailing `B`/`iB` is accepted).
/// The one size syntax of the command line and the config file.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (num, mult) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        Some('T' | 't') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("invalid size {s:?} (expected e.g. 4096, 64K, 500M, 2G)"))
}

// ---------------------------------------------------------------------------------------
// The checked configuration.

/// A config file, checked. Every option is `None` (or empty) when the file does not set
/// it; paths are resolved against the file's directory.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// `[scan]`.
    pub scan: ScanConfig,
    /// `[db]`.
    pub db: DbConfig,
    /// `[report]`.
    pub report: ReportConfig,
    /// `[schedule]`.
    pub schedule: ScheduleConfig,
}

/// `[scan]`: options of `pansweep scan`.
#[derive(Clone, Debug, Default)]
pub struct ScanConfig {
    /// Files and directories to scan when the command line names none.
    pub paths: Option<Vec<PathBuf>>,
    /// Globs (gitignore syntax) of paths to leave out.
    pub exclude: Option<Vec<String>>,
    /// Files larger than this are skipped.
    pub max_filesize: Option<u64>,
    /// Do not cross filesystem boundaries.
    pub one_file_system: Option<bool>,
    /// Follow symbolic links.
    pub follow: Option<bool>,
    /// Honour `.gitignore` and `.ignore` files.
    pub respect_ignore: Option<bool>,
    /// Scanning threads.
    pub threads: Option<usize>,
    /// State file of incremental re-scans.
    pub state: Option<PathBuf>,
    /// Bytes read per second, all threads together.
    pub max_rate: Option<u64>,
    /// Forensic mode.
    pub forensic: Option<bool>,
    /// `[scan.limits]`.
    pub limits: LimitsConfig,
}

/// `[scan.limits]`: archive and mail limits.
#[derive(Clone, Debug, Default)]
pub struct LimitsConfig {
    /// Nesting depth of archives and mail.
    pub max_depth: Option<u32>,
    /// Bytes read from one archive member.
    pub max_member_size: Option<u64>,
    /// Decompressed bytes per file on disk.
    pub max_expanded_size: Option<u64>,
    /// Compression ratio above which a member is a bomb.
    pub max_ratio: Option<u64>,
    /// Members per archive (parts per message).
    pub max_members: Option<u64>,
    /// Seconds one archive or mail file may take.
    pub item_timeout: Option<u64>,
}

/// `[db]`: options of `pansweep db`.
#[derive(Clone, Debug, Default)]
pub struct DbConfig {
    /// Connections per database.
    pub connections: Option<usize>,
    /// Seconds one statement may run.
    pub statement_timeout: Option<u64>,
    /// Seconds to wait for a connection.
    pub connect_timeout: Option<u64>,
    /// Schema globs to read.
    pub schemas: Option<Vec<String>>,
    /// Table globs to read.
    pub tables: Option<Vec<String>>,
    /// Table globs to leave out.
    pub exclude_tables: Option<Vec<String>>,
    /// Also read views and foreign tables.
    pub include_views: Option<bool>,
    /// Rows read per table.
    pub sample: Option<u64>,
    /// `[[db.targets]]`: the databases scanned when the command line names none.
    pub targets: Vec<DbTarget>,
}

/// Where a target's password comes from. The password itself is never in the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// None: the URL needs none, or it comes from `PANSWEEP_DB_PASSWORD` /
    /// `--password-stdin`.
    Default,
    /// The first line of this file.
    File(PathBuf),
    /// This environment variable.
    Env(String),
}

/// One `[[db.targets]]` entry.
#[derive(Clone)]
pub struct DbTarget {
    /// The URL as written (no password, when the file follows the rules).
    pub url: String,
    /// Where its password comes from.
    pub password: PasswordSource,
}

impl fmt::Debug for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL could hold a password written into it by mistake.
        let shown = crate::source::db::DbUrl::parse(&self.url, None).map_or_else(|_| "…".into(), |u| u.to_string());
        f.debug_struct("DbTarget").field("url", &shown).field("password", &self.password).finish()
    }
}

/// Reading a target's password failed. Names the file or variable, never the password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password file cannot be read.
    #[error("cannot read password file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The password file's first line is empty.
    #[error("password file {0} is empty (the password is its first line)")]
    EmptyFile(PathBuf),
    /// The variable is not set, or empty.
    #[error("environment variable {0} (password_env) is not set")]
    Unset(String),
}

impl DbTarget {
    /// The password, read now from its file (first line) or variable; `None` for
    /// [`PasswordSource::Default`].
    pub fn password(&self) -> Result<Option<Zeroizing<String>>, PasswordError> {
        match &self.password {
            PasswordSource::Default => Ok(None),
            PasswordSource::File(path) => {
                let text = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|source| PasswordError::Read { path: path.clone(), source })?,
                );
                let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
                if line.is_empty() {
                    return Err(PasswordError::EmptyFile(path.clone()));
                }
                Ok(Some(Zeroizing::new(line.to_owned())))
            }
            PasswordSource::Env(var) => match std::env::var(var) {
                Ok(p) if !p.is_empty() => Ok(Some(Zeroizing::new(p))),
                _ => Err(PasswordError::Unset(var.clone())),
            },
        }
    }
}

/// `[report]`: the report, shared by `scan` and `db`.
#[derive(Clone, Debug, Default)]
pub struct ReportConfig {
    /// Report format.
    pub format: Option<Format>,
    /// Report file.
    pub output: Option<PathBuf>,
    /// Lowest tier reported.
    pub min_confidence: Option<Confidence>,
    /// Lowest tier that makes exit 1.
    pub fail_on: Option<Confidence>,
    /// Language of human-readable output.
    pub lang: Option<Lang>,
    /// Masked context snippets.
    pub context: Option<bool>,
    /// HMAC key file for fingerprints.
    pub fingerprint_key: Option<PathBuf>,
    /// Directory of detector files laid over the built-in ones.
    pub detectors: Option<PathBuf>,
}

/// `[schedule]`: what a cron run needs.
#[derive(Clone, Debug, Default)]
pub struct ScheduleConfig {
    /// Allowlist file.
    pub allowlist: Option<PathBuf>,
    /// Baseline report.
    pub baseline: Option<PathBuf>,
    /// Lock file.
    pub lock: Option<PathBuf>,
    /// Low CPU and I/O priority.
    pub nice: Option<bool>,
    /// Summary to syslog.
    pub syslog: Option<bool>,
    /// Print nothing unless there is something to act on.
    pub quiet: Option<bool>,
}

// ---------------------------------------------------------------------------------------
// Problems.

/// One problem in a config file, at a 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
    /// What is wrong (lowercase, no password, no full card number).
    pub message: String,
}

/// Loading a config file failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file has problems; the message lists each as `FILE:LINE:COLUMN: message`.
    #[error("invalid config file {}:\n{}", path.display(), render(path, problems))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Every problem found, in file order.
        problems: Vec<Problem>,
    },
}

/// `FILE:LINE:COLUMN: message`, one line per problem (no trailing newline).
pub fn render(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

// ---------------------------------------------------------------------------------------
// The file as serde sees it: every value spanned, so problems can point at it. Integers
// and tiers are taken loosely (i64, strings) and checked afterwards, so that one bad
// value does not hide the next.

type S<T> = Option<Spanned<T>>;
type List = Option<Spanned<Vec<Spanned<String>>>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    scan: Option<RawScan>,
    db: Option<RawDb>,
    report: Option<RawReport>,
    schedule: Option<RawSchedule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScan {
    paths: List,
    exclude: List,
    max_filesize: S<RawSize>,
    one_file_system: S<bool>,
    follow: S<bool>,
    respect_ignore: S<bool>,
    threads: S<i64>,
    state: S<String>,
    max_rate: S<RawSize>,
    forensic: S<bool>,
    limits: Option<RawLimits>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_depth: S<i64>,
    max_member_size: S<RawSize>,
    max_expanded_size: S<RawSize>,
    max_ratio: S<i64>,
    max_members: S<i64>,
    item_timeout: S<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDb {
    connections: S<i64>,
    statement_timeout: S<i64>,
    connect_timeout: S<i64>,
    schemas: List,
    tables: List,
    exclude_tables: List,
    include_views: S<bool>,
    sample: S<i64>,
    targets: Option<Vec<Spanned<RawTarget>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    url: Spanned<String>,
    password_file: S<String>,
    password_env: S<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    format: S<String>,
    output: S<String>,
    min_confidence: S<String>,
    fail_on: S<String>,
    lang: S<String>,
    context: S<bool>,
    fingerprint_key: S<String>,
    detectors: S<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    allowlist: S<String>,
    baseline: S<String>,
    lock: S<String>,
    nice: S<bool>,
    syslog: S<bool>,
    quiet: S<bool>,
}

/// A size as written: `"500M"` or a plain integer of bytes.
#[derive(Debug)]
enum RawSize {
    Text(String),
    Int(i64),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: bytes, or a string such as \"500M\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawSize, E> {
                Ok(RawSize::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize::Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// Parsing and checking.

/// Reads and parses `path` ([`parse`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    parse(&text, path)
}

/// Parses `text`, read from `path`, and checks what it says (not what it names on this
/// machine: see [`check`]).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let (config, problems) = examine(text, path, false);
    match config {
        Some(c) if problems.is_empty() => Ok(c),
        _ => Err(ConfigError::Invalid { path: path.to_owned(), problems }),
    }
}

/// Every problem of the file: what [`parse`] checks, and what it names on this machine
/// (scan paths, allowlist, baseline and detector directory exist; the fingerprint key is
/// readable and at least 16 bytes; password files are readable; password variables are
/// set; no password is written into a URL). A syntax error, an unknown key or a value of
/// the wrong type ends the check there (it is the last problem listed).
pub fn check(text: &str, path: &Path) -> Vec<Problem> {
    examine(text, path, true).1
}

fn examine(text: &str, path: &Path, files: bool) -> (Option<Config>, Vec<Problem>) {
    let raw: RawConfig = match toml::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
            let message = serde_message(e.message());
            return (None, vec![Problem { line, column, message }]);
        }
    };
    // A file in the current directory: its relative paths stay as written.
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_owned);
    let mut cx = Cx { text, dir, files, problems: Vec::new() };
    let config = Config {
        file: path.to_owned(),
        scan: raw.scan.map(|s| cx.scan(s)).unwrap_or_default(),
        db: raw.db.map(|d| cx.db(d)).unwrap_or_default(),
        report: raw.report.map(|r| cx.report(r)).unwrap_or_default(),
        schedule: raw.schedule.map(|s| cx.schedule(s)).unwrap_or_default(),
    };
    let mut problems = cx.problems;
    problems.sort_by_key(|p| (p.line, p.column));
    (Some(config), problems)
}

/// A serde/TOML message without the value it quotes: a value in the wrong place could be
/// a password or a card number.
fn serde_message(m: &str) -> String {
    let m = m.trim();
    let m = match (m.find("string \""), m.rfind("\", expected")) {
        (Some(a), Some(b)) if a < b => format!("{}a string{}", &m[..a], &m[b + 1..]),
        _ => m.to_owned(),
    };
    crate::report::redact_digits(&m).into_owned()
}

/// What a path must be on this machine (checked by [`check`] only).
#[derive(Clone, Copy)]
enum Must {
    /// Exist (file or directory).
    Exist,
    /// Be a directory.
    BeDir,
    /// Be creatable: its directory exists.
    HaveParent,
    /// Nothing here (checked elsewhere).
    Nothing,
}

struct Cx<'a> {
    text: &'a str,
    /// The file's directory (`None`: the current one).
    dir: Option<PathBuf>,
    files: bool,
    problems: Vec<Problem>,
}

impl Cx<'_> {
    fn problem(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.problems.push(Problem {
            line,
            column,
            message: crate::report::redact_digits(&message.into()).into_owned(),
        });
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        match &self.dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.to_owned(),
        }
    }

    fn path(&mut self, key: &str, v: S<String>, must: Must) -> Option<PathBuf> {
        let v = v?;
        if v.get_ref().is_empty() {
            self.problem(v.span(), format!("{key}: empty path"));
            return None;
        }
        let p = self.resolve(v.get_ref());
        if self.files {
            let shown = p.display().to_string();
            match must {
                Must::Exist if std::fs::symlink_metadata(&p).is_err() => {
                    self.problem(v.span(), format!("{key}: no such file or directory: {shown}"));
                }
                Must::BeDir if !p.is_dir() => {
                    self.problem(v.span(), format!("{key}: not a directory: {shown}"));
                }
                Must::HaveParent if !p.parent().is_some_and(Path::is_dir) => {
                    self.problem(v.span(), format!("{key}: its directory does not exist: {shown}"));
                }
                _ => {}
            }
        }
        Some(p)
    }

    fn int(&mut self, key: &str, v: S<i64>, min: i64, max: i64) -> Option<i64> {
        let v = v?;
        let n = *v.get_ref();
        if n < min || n > max {
            let msg = if max == i64::MAX {
                format!("{key} must be at least {min}, not {n}")
            } else {
                format!("{key} must be between {min} and {max}, not {n}")
            };
            self.problem(v.span(), msg);
            return None;
        }
        Some(n)
    }

    fn u64(&mut self, key: &str, v: S<i64>, min: i64) -> Option<u64> {
        self.int(key, v, min, i64::MAX).and_then(|n| u64::try_from(n).ok())
    }

    fn size(&mut self, key: &str, v: S<RawSize>) -> Option<u64> {
        let v = v?;
        match v.get_ref() {
            RawSize::Int(n) => {
                let n = u64::try_from(*n).ok();
                if n.is_none() {
                    self.problem(v.span(), format!("{key}: a size cannot be negative"));
                }
                n
            }
            RawSize::Text(s) => match parse_size(s) {
                Ok(n) => Some(n),
                Err(e) => {
                    self.problem(v.span(), format!("{key}: {e}"));
                    None
                }
            },
        }
    }

    fn flag(v: S<bool>) -> Option<bool> {
        v.map(Spanned::into_inner)
    }

    fn choice<T: Copy>(&mut self, key: &str, v: S<String>, options: &[(&str, T)]) -> Option<T> {
        let v = v?;
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == v.get_ref().as_str()) {
            return Some(*t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.problem(
            v.span(),
            format!("{key}: unknown value {:?} (expected one of: {})", v.get_ref(), names.join(", ")),
        );
        None
    }

    fn level(&mut self, key: &str, v: S<String>) -> Option<Confidence> {
        let options: Vec<(&str, Confidence)> = Confidence::ALL.iter().map(|c| (c.as_str(), *c)).collect();
        self.choice(key, v, &options)
    }

    /// A list of globs; `exclude` ones use the walker's gitignore syntax, the others
    /// globset (as `pansweep db` does).
    fn globs(&mut self, key: &str, v: List, gitignore: bool) -> Option<Vec<String>> {
        let v = v?;
        let mut out = Vec::new();
        for g in v.into_inner() {
            if g.get_ref().is_empty() {
                self.problem(g.span(), format!("{key}: empty glob"));
                continue;
            }
            let bad = if gitignore {
                let mut ob = ignore::overrides::OverrideBuilder::new("/");
                // The walker adds each as `!GLOB` (a leading `!` is dropped); the glob is the same.
                ob.add(g.get_ref().trim_start_matches('!')).and_then(|b| b.build()).err().map(|e| e.to_string())
            } else {
                globset::Glob::new(g.get_ref()).err().map(|e| e.to_string())
            };
            match bad {
                Some(e) => self.problem(g.span(), format!("{key}: invalid glob {:?}: {e}", g.get_ref())),
                None => out.push(g.into_inner()),
            }
        }
        Some(out)
    }

    fn scan(&mut self, s: RawScan) -> ScanConfig {
        let paths = s.paths.map(|list| {
            let span = list.span();
            let list = list.into_inner();
            if list.is_empty() {
                self.problem(span, "paths: empty list (leave the key out to scan the command line's paths, or .)");
            }
            list.into_iter().filter_map(|p| self.path("paths", Some(p), Must::Exist)).collect()
        });
        let limits = s.limits.unwrap_or_default();
        ScanConfig {
            paths,
            exclude: self.globs("exclude", s.exclude, true),
            max_filesize: self.size("max_filesize", s.max_filesize),
            one_file_system: Self::flag(s.one_file_system),
            follow: Self::flag(s.follow),
            respect_ignore: Self::flag(s.respect_ignore),
            threads: self.u64("threads", s.threads, 1).and_then(|n| usize::try_from(n).ok()),
            state: self.path("state", s.state, Must::HaveParent),
            max_rate: self.size("max_rate", s.max_rate),
            forensic: Self::flag(s.forensic),
            limits: LimitsConfig {
                max_depth: self
                    .int("max_depth", limits.max_depth, 0, i64::from(u32::MAX))
                    .and_then(|n| u32::try_from(n).ok()),
                max_member_size: self.size("max_member_size", limits.max_member_size),
                max_expanded_size: self.size("max_expanded_size", limits.max_expanded_size),
                max_ratio: self.u64("max_ratio", limits.max_ratio, 1),
                max_members: self.u64("max_members", limits.max_members, 1),
                item_timeout: self.u64("item_timeout", limits.item_timeout, 1),
            },
        }
    }

    fn db(&mut self, d: RawDb) -> DbConfig {
        let mut targets = Vec::new();
        for t in d.targets.unwrap_or_default() {
            let t = t.into_inner();
            let url = t.url;
            let ok = match crate::source::db::DbUrl::parse(url.get_ref(), None) {
                Ok(_) => true,
                Err(e) => {
                    self.problem(url.span(), format!("url: {e}"));
                    false
                }
            };
            if ok && self.files && holds_password(url.get_ref()) {
                self.problem(
                    url.span(),
                    "url: holds a password; put it in a file (password_file) or a variable (password_env)",
                );
            }
            let password = match (t.password_file, t.password_env) {
                (Some(_), Some(env)) => {
                    self.problem(env.span(), "password_env: give password_file or password_env, not both");
                    PasswordSource::Default
                }
                (Some(file), None) => {
                    let span = file.span();
                    let p = self.path("password_file", Some(file), Must::Nothing);
                    if let Some(p) = p {
                        let source = PasswordSource::File(p);
                        if self.files {
                            self.readable_password(span, url.get_ref(), &source);
                        }
                        source
                    } else {
                        PasswordSource::Default
                    }
                }
                (None, Some(env)) => {
                    let span = env.span();
                    let var = env.into_inner();
                    let name_like = var.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if name_like {
                        let source = PasswordSource::Env(var);
                        if self.files {
                            self.readable_password(span, url.get_ref(), &source);
                        }
                        source
                    } else {
                        // Not echoed: what was written there may be the password itself.
                        self.problem(
                            span,
                            "password_env: not a variable name (letters, digits and _; the value is not shown: it \
                             may be the password itself)",
                        );
                        PasswordSource::Default
                    }
                }
                (None, None) => PasswordSource::Default,
            };
            if ok {
                targets.push(DbTarget { url: url.into_inner(), password });
            }
        }
        DbConfig {
            connections: self.u64("connections", d.connections, 1).and_then(|n| usize::try_from(n).ok()),
            statement_timeout: self.u64("statement_timeout", d.statement_timeout, 1),
            connect_timeout: self.u64("connect_timeout", d.connect_timeout, 1),
            schemas: self.globs("schemas", d.schemas, false),
            tables: self.globs("tables", d.tables, false),
            exclude_tables: self.globs("exclude_tables", d.exclude_tables, false),
            include_views: Self::flag(d.include_views),
            sample: self.u64("sample", d.sample, 1),
            targets,
        }
    }

    /// The password can be read (it is read and dropped: zeroed).
    fn readable_password(&mut self, span: Range<usize>, url: &str, source: &PasswordSource) {
        let t = DbTarget { url: url.to_owned(), password: source.clone() };
        if let Err(e) = t.password() {
            // The message names the file or the variable (and says password_env), never
            // the password.
            self.problem(span, e.to_string());
        }
    }

    fn report(&mut self, r: RawReport) -> ReportConfig {
        let formats = [
            ("text", Format::Text),
            ("jsonl", Format::Jsonl),
            ("json", Format::Json),
            ("csv", Format::Csv),
            ("sarif", Format::Sarif),
            ("html", Format::Html),
        ];
        let fingerprint_key = r.fingerprint_key.clone();
        let key = self.path("fingerprint_key", r.fingerprint_key, Must::Exist);
        if self.files
            && let (Some(k), Some(v)) = (&key, fingerprint_key)
        {
            match std::fs::read(k) {
                Ok(bytes) if bytes.len() < 16 => self
                    .problem(v.span(), format!("fingerprint_key: {} is too short: use at least 16 bytes", k.display())),
                Err(e) if k.exists() => {
                    self.problem(v.span(), format!("fingerprint_key: cannot read {}: {e}", k.display()));
                }
                _ => {}
            }
        }
        ReportConfig {
            format: self.choice("format", r.format, &formats),
            output: self.path("output", r.output, Must::HaveParent),
            min_confidence: self.level("min_confidence", r.min_confidence),
            fail_on: self.level("fail_on", r.fail_on),
            lang: self.choice("lang", r.lang, &[("en", Lang::En), ("ja", Lang::Ja)]),
            context: Self::flag(r.context),
            fingerprint_key: key,
            detectors: self.path("detectors", r.detectors, Must::BeDir),
        }
    }

    fn schedule(&mut self, s: RawSchedule) -> ScheduleConfig {
        ScheduleConfig {
            allowlist: self.path("allowlist", s.allowlist, Must::Exist),
            baseline: self.path("baseline", s.baseline, Must::Exist),
            lock: self.path("lock", s.lock, Must::HaveParent),
            nice: Self::flag(s.nice),
            syslog: Self::flag(s.syslog),
            quiet: Self::flag(s.quiet),
        }
    }
}

/// Whether a database URL carries a password (in its authority or a `password=`
/// parameter).
fn holds_password(raw: &str) -> bool {
    match url::Url::parse(raw) {
        Ok(u) => u.password().is_some() || u.query_pairs().any(|(k, _)| k == "password"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../docs/pansweep.example.toml");

    fn problems(text: &str) -> Vec<String> {
        match parse(text, Path::new("/etc/pansweep/pansweep.toml")) {
            Ok(_) => Vec::new(),
            Err(ConfigError::Invalid { problems, .. }) => {
                problems.into_iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(65_536));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("500MiB"), Ok(500 << 20));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let text = "a = 1\n# カード\nb = 2";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 4), (1, 5));
        assert_eq!(line_col(text, 6), (2, 1));
        let b = text.find('b').unwrap();
        assert_eq!(line_col(text, b), (3, 1));
        // After `# ` and three 3-byte characters: column 6, counted in characters.
        let after = text.find("ド").unwrap() + "ド".len();
        assert_eq!(line_col(text, after), (2, 6));
        // Inside a character or past the end: clamped, never a panic.
        assert_eq!(line_col(text, text.find('カ').unwrap() + 1), (2, 3));
        assert_eq!(line_col(text, 10_000), (3, 6));
    }

    /// The documented example parses clean with every value where the docs say.
    #[test]
    fn the_example_parses_clean() {
        let c = parse(EXAMPLE, Path::new("/etc/pansweep/pansweep.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.scan.paths.as_ref().map(Vec::len), Some(4));
        assert_eq!(c.scan.max_rate, Some(50 << 20));
        assert_eq!(c.scan.max_filesize, Some(2 << 30));
        assert_eq!(c.scan.limits.max_depth, Some(6));
        assert_eq!(c.db.targets.len(), 2);
        assert_eq!(c.db.targets[0].password, PasswordSource::File("/etc/pansweep/db1.password".into()));
        assert_eq!(c.db.targets[1].password, PasswordSource::Env("PANSWEEP_DB2_PASSWORD".into()));
        assert_eq!(c.report.format, Some(Format::Jsonl));
        assert_eq!(c.report.fail_on, Some(Confidence::Medium));
        assert_eq!(c.schedule.quiet, Some(true));
    }

    /// `check` of the example finds nothing but what this machine lacks (the files it
    /// names, the password variable): no problem with what the file says.
    #[test]
    fn the_example_checks_clean_but_for_missing_files() {
        let found = check(EXAMPLE, Path::new("/etc/pansweep/pansweep.toml"));
        for p in &found {
            let m = &p.message;
            assert!(
                m.contains("no such file or directory")
                    || m.contains("its directory does not exist")
                    || m.contains("cannot read password file")
                    || m.contains("is not set"),
                "{}:{}: {m}",
                p.line,
                p.column
            );
        }
    }

    #[test]
    fn an_empty_file_sets_nothing() {
        let c = parse("# nothing yet\n", Path::new("pansweep.toml")).unwrap();
        assert!(c.scan.paths.is_none() && c.scan.exclude.is_none() && c.db.targets.is_empty());
        assert!(c.report.format.is_none() && c.schedule.quiet.is_none());
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let text = "[scan]\npaths = [\"srv\", \"/abs\"]\n[report]\nfingerprint_key = \"key\"\n";
        let c = parse(text, Path::new("/etc/pansweep/pansweep.toml")).unwrap();
        assert_eq!(c.scan.paths, Some(vec![PathBuf::from("/etc/pansweep/srv"), PathBuf::from("/abs")]));
        assert_eq!(c.report.fingerprint_key, Some(PathBuf::from("/etc/pansweep/key")));
        // A file in the current directory: paths stay as written.
        let c = parse(text, Path::new("pansweep.toml")).unwrap();
        assert_eq!(c.scan.paths, Some(vec![PathBuf::from("srv"), PathBuf::from("/abs")]));
    }

    #[test]
    fn sizes_are_strings_or_integers() {
        let c = parse("[scan]\nmax_filesize = 4096\nmax_rate = \"1M\"\n", Path::new("p.toml")).unwrap();
        assert_eq!((c.scan.max_filesize, c.scan.max_rate), (Some(4096), Some(1 << 20)));
        assert_eq!(
            problems("[scan]\nmax_filesize = -1\nmax_rate = \"fast\"\n"),
            [
                "2:16: max_filesize: a size cannot be negative",
                "3:12: max_rate: invalid size \"fast\" (expected e.g. 4096, 64K, 500M, 2G)"
            ]
        );
    }

    /// Value problems are all listed, in file order, each at its value.
    #[test]
    fn every_value_problem_is_listed_at_its_value() {
        let text = "\
[report]
lang = \"fr\"
fail_on = \"severe\"
format = \"xml\"

[scan]
threads = 0
exclude = [\"ok/**\", \"a[b\", \"\"]

[db]
connections = 0
tables = [\"{x\"]
";
        let got = problems(text);
        assert_eq!(got.len(), 8, "{got:#?}");
        assert!(got[0].starts_with("2:8: lang: unknown value \"fr\""), "{got:#?}");
        assert!(got[1].starts_with("3:11: fail_on: unknown value \"severe\" (expected one of: low, medium"));
        assert!(got[2].starts_with("4:10: format: unknown value \"xml\""));
        assert_eq!(got[3], "7:11: threads must be at least 1, not 0");
        assert!(got[4].starts_with("8:21: exclude: invalid glob \"a[b\""), "{got:#?}");
        assert_eq!(got[5], "8:28: exclude: empty glob");
        assert_eq!(got[6], "11:15: connections must be at least 1, not 0");
        assert!(got[7].starts_with("12:11: tables: invalid glob \"{x\""));
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_placed() {
        assert_eq!(
            problems("[scan]\nfollow = true\nfolow = true\n")[0].split(',').next(),
            Some("3:1: unknown field `folow`")
        );
        assert_eq!(problems("[scna]\n")[0].split(',').next(), Some("1:2: unknown field `scna`"));
        let got = problems("[scan]\nthreads = 1.5\n");
        assert!(got[0].starts_with("2:11: invalid type: floating point `1.5`, expected i64"), "{got:?}");
        let got = problems("[report]\ncontext = \"yes\"\n");
        assert_eq!(got, ["2:11: invalid type: a string, expected a boolean"]);
        let got = problems("[scan\npaths = []\n");
        assert!(got[0].starts_with("1:6: "), "{got:?}");
        let got = problems("[[db.targets]]\npassword_env = \"X\"\n");
        assert!(got[0].contains("missing field `url`"), "{got:?}");
    }

    /// A password written where a number belongs is not quoted back.
    #[test]
    fn a_misplaced_secret_is_not_quoted() {
        let got = problems("[scan]\nthreads = \"postgres://app:Hunt3rSecret@db/x\"\n");
        assert_eq!(got, ["2:11: invalid type: a string, expected i64"]);
        let got = problems("[[db.targets]]\nurl = \"oracle://app:Hunt3rSecret@db/x\"\n");
        assert_eq!(got.len(), 1);
        assert!(!got[0].contains("Hunt3rSecret") && got[0].starts_with("2:7: url: bad database url"), "{got:?}");
        let got = check("[[db.targets]]\nurl = \"postgres://app:Hunt3rSecret@db/x\"\n", Path::new("p.toml"));
        assert_eq!(got.len(), 1);
        assert!(!got[0].message.contains("Hunt3rSecret") && got[0].message.contains("holds a password"));
    }

    #[test]
    fn a_target_takes_one_password_source() {
        let got =
            problems("[[db.targets]]\nurl = \"postgres://app@db/x\"\npassword_file = \"pw\"\npassword_env = \"PW\"\n");
        assert_eq!(got, ["4:16: password_env: give password_file or password_env, not both"]);
    }

    #[test]
    fn passwords_come_from_the_first_line_of_a_file_or_a_variable() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret-pw\r\nsecond line\n").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let text = "\
[[db.targets]]
url = \"postgres://app@db/x\"
password_file = \"pw\"

[[db.targets]]
url = \"postgres://app@db/y\"
password_file = \"empty\"

[[db.targets]]
url = \"postgres://app@db/z\"
password_env = \"PATH\"

[[db.targets]]
url = \"postgres://app@db/w\"
password_env = \"PANSWEEP_SURELY_UNSET_VARIABLE\"

[[db.targets]]
url = \"sqlite:///var/db/app.sqlite\"
";
        let file = dir.path().join("pansweep.toml");
        let c = parse(text, &file).unwrap();
        let pw: Vec<_> = c.db.targets.iter().map(|t| t.password().map(|p| p.map(|p| p.to_string()))).collect();
        assert_eq!(pw[0].as_ref().unwrap().as_deref(), Some("s3cret-pw"));
        assert!(matches!(pw[1], Err(PasswordError::EmptyFile(_))));
        assert_eq!(pw[2].as_ref().unwrap().as_deref(), std::env::var("PATH").ok().as_deref());
        let e = pw[3].as_ref().unwrap_err().to_string();
        assert_eq!(e, "environment variable PANSWEEP_SURELY_UNSET_VARIABLE (password_env) is not set");
        assert!(pw[4].as_ref().unwrap().is_none());
        // `check` finds the same two, and quotes no password.
        let found = check(text, &file);
        let shown: Vec<String> = found.iter().map(|p| format!("{}:{}", p.line, p.column)).collect();
        assert_eq!(shown, ["7:17", "15:16"], "{found:?}");
        assert!(found.iter().all(|p| !p.message.contains("s3cret")));
        // Debug of a target shows no password even when one is written into its URL.
        let t = DbTarget { url: "postgres://app:Hunt3rSecret@db/x".into(), password: PasswordSource::Default };
        assert!(!format!("{t:?}").contains("Hunt3rSecret"));
    }

    #[test]
    fn check_looks_at_the_files_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("short.key"), "0123456789").unwrap();
        std::fs::write(dir.path().join("good.key"), [7u8; 32]).unwrap();
        std::fs::create_dir(dir.path().join("det")).unwrap();
        let file = dir.path().join("pansweep.toml");
        let text = "\
[scan]
paths = [\"det\", \"gone\"]
state = \"nodir/state\"

[report]
fingerprint_key = \"short.key\"
detectors = \"good.key\"

[schedule]
allowlist = \"allow.toml\"
lock = \"pansweep.lock\"
";
        let found: Vec<String> =
            check(text, &file).into_iter().map(|p| format!("{}:{}: {}", p.line, p.column, p.message)).collect();
        let d = dir.path().display();
        assert_eq!(
            found,
            [
                format!("2:17: paths: no such file or directory: {d}/gone"),
                format!("3:9: state: its directory does not exist: {d}/nodir/state"),
                format!("6:19: fingerprint_key: {d}/short.key is too short: use at least 16 bytes"),
                format!("7:13: detectors: not a directory: {d}/good.key"),
                format!("10:13: allowlist: no such file or directory: {d}/allow.toml"),
            ]
        );
        // `parse` leaves the machine alone.
        assert!(parse(text, &file).is_ok());
    }
}

//! The config file on the command line: which file is read (`--config`, then the default
//! locations), `pansweep config check`, and laying the file's options under the command
//! line's. The rule, for every key: an option given on the command line (or through its
//! environment variable) wins; otherwise the file's value is used; otherwise the built-in
//! default. Lists (`paths`, `exclude`, `schemas`, …) are replaced whole, never merged.
//! One function per subcommand (`apply_scan`, `apply_db`) so that new keys land in one
//! place.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::ArgMatches;
use clap::parser::ValueSource;
use pansweep::config::{self, Config, ReportConfig, ScheduleConfig};
use pansweep::finding::Confidence;
use pansweep::report::{Format, Lang};

use super::ExitStatus;
use super::args::{
    AllowlistAction, Cli, Command, ConfigAction, ConfigArgs, DbArgs, FormatArg, LangArg, Level, ReportArgs, ScanArgs,
    SchedArgs,
};

/// The system-wide config file, read when present (after the user's).
const SYSTEM_FILE: &str = "/etc/pansweep/pansweep.toml";

/// `$XDG_CONFIG_HOME/pansweep/pansweep.toml` (XDG default: `~/.config`).
fn user_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        // The XDG spec: a relative value is invalid and ignored.
        Some(d) if Path::new(&d).is_absolute() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME").filter(|h| !h.is_empty())?).join(".config"),
    };
    Some(base.join("pansweep").join("pansweep.toml"))
}

/// The config file to read: `--config FILE` (or `PANSWEEP_CONFIG`), which must exist;
/// else, unless `--no-config`, the user's file, else the system file, when present.
pub(crate) fn discover(cli: &Cli) -> anyhow::Result<Option<PathBuf>> {
    if let Some(p) = &cli.config {
        if !p.is_file() {
            bail!("config file {} not found (--config or PANSWEEP_CONFIG)", p.display());
        }
        return Ok(Some(p.clone()));
    }
    if cli.no_config {
        return Ok(None);
    }
    Ok(user_file().into_iter().chain([PathBuf::from(SYSTEM_FILE)]).find(|p| p.is_file()))
}

/// `pansweep config check [FILE]`.
pub(crate) fn run(cli: &Cli, a: &ConfigArgs) -> anyhow::Result<ExitStatus> {
    let ConfigAction::Check { file } = &a.action;
    let path = match file {
        Some(f) => f.clone(),
        None => match discover(cli)? {
            Some(p) => p,
            None => bail!(
                "no config file to check: name one, or use --config (looked for {} and {SYSTEM_FILE})",
                user_file()
                    .map_or_else(|| "$XDG_CONFIG_HOME/pansweep/pansweep.toml".into(), |p| p.display().to_string())
            ),
        },
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read config file {}", path.display()))?;
    let problems = config::check(&text, &path);
    let mut out = std::io::stdout().lock();
    if problems.is_empty() {
        writeln!(out, "{}: ok", path.display())?;
        return Ok(ExitStatus::Clean);
    }
    writeln!(out, "{}", config::render(&path, &problems))?;
    Ok(ExitStatus::Error)
}

/// Reads the config file (if any) and lays it under the command line of `scan`, `db` and
/// `report`; other commands read none.
pub(crate) fn apply(cli: &mut Cli, matches: &ArgMatches) -> anyhow::Result<()> {
    if cli.no_config && cli.config.is_some() {
        // `--no-config` silences PANSWEEP_CONFIG (a cron job's environment), not a file
        // named on the same command line.
        if matches.value_source("config") == Some(ValueSource::EnvVariable) {
            cli.config = None;
        } else {
            bail!("--config and --no-config cannot be used together");
        }
    }
    if !matches!(cli.command, Command::Scan(_) | Command::Db(_) | Command::Report(_) | Command::Allowlist(_)) {
        return Ok(());
    }
    let Some(path) = discover(cli)? else { return Ok(()) };
    let cfg = config::load(&path)?;
    let Some((_, sub)) = matches.subcommand() else { return Ok(()) };
    let given = Given { top: matches, sub };
    apply_global(&cfg, &given, cli);
    match &mut cli.command {
        Command::Scan(a) => apply_scan(&cfg, &given, a),
        Command::Db(a) => apply_db(&cfg, &given, a),
        // `allowlist add` appends to the allowlist the scheduled runs use.
        Command::Allowlist(a) => {
            let AllowlistAction::Add { allowlist, .. } = &mut a.action;
            if allowlist.is_none() {
                allowlist.clone_from(&cfg.schedule.allowlist);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Which options the command line gave.
struct Given<'a> {
    top: &'a ArgMatches,
    sub: &'a ArgMatches,
}

impl Given<'_> {
    /// An option of the subcommand came from the command line or its variable.
    fn has(&self, id: &str) -> bool {
        from_user(self.sub, id)
    }

    /// A global option came from the command line (before or after the subcommand).
    fn has_global(&self, id: &str) -> bool {
        from_user(self.top, id) || from_user(self.sub, id)
    }
}

fn from_user(m: &ArgMatches, id: &str) -> bool {
    matches!(m.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable))
}

/// Sets `slot` to the file's value unless the command line gave `id`.
fn set<T>(given: bool, slot: &mut T, value: Option<T>) {
    if !given && let Some(v) = value {
        *slot = v;
    }
}

/// `[report] lang` and `[schedule] quiet`: global options.
fn apply_global(cfg: &Config, g: &Given<'_>, cli: &mut Cli) {
    let lang = cfg.report.lang.map(|l| match l {
        Lang::En => LangArg::En,
        Lang::Ja => LangArg::Ja,
    });
    set(g.has_global("lang"), &mut cli.lang, lang);
    set(g.has_global("quiet"), &mut cli.quiet, cfg.schedule.quiet);
}

fn level(c: Option<Confidence>) -> Option<Level> {
    c.map(|c| match c {
        Confidence::Low => Level::Low,
        Confidence::Medium => Level::Medium,
        Confidence::High => Level::High,
        Confidence::Critical => Level::Critical,
    })
}

/// `[report]` and `[schedule]`: shared by `scan` and `db`.
fn apply_report(r: &ReportConfig, s: &ScheduleConfig, g: &Given<'_>, a: &mut ReportArgs) {
    let format = r.format.map(|f| match f {
        Format::Text => FormatArg::Text,
        Format::Jsonl => FormatArg::Jsonl,
        Format::Json => FormatArg::Json,
        Format::Csv => FormatArg::Csv,
        Format::Sarif => FormatArg::Sarif,
        Format::Html => FormatArg::Html,
    });
    set(g.has("format"), &mut a.out.format, format.map(Some));
    set(g.has("output"), &mut a.out.output, r.output.clone().map(Some));
    set(g.has("min_confidence"), &mut a.out.min_confidence, level(r.min_confidence));
    set(g.has("fail_on"), &mut a.out.fail_on, level(r.fail_on));
    set(g.has("context"), &mut a.context, r.context);
    set(g.has("fingerprint_key"), &mut a.fingerprint_key, r.fingerprint_key.clone().map(Some));
    set(g.has("detectors"), &mut a.detectors, r.detectors.clone().map(Some));
    apply_sched(s, g, &mut a.sched);
}

/// `[schedule]` (but `quiet`, which is global).
fn apply_sched(s: &ScheduleConfig, g: &Given<'_>, a: &mut SchedArgs) {
    set(g.has("allowlist"), &mut a.allowlist, s.allowlist.clone().map(Some));
    set(g.has("baseline"), &mut a.baseline, s.baseline.clone().map(Some));
    set(g.has("lock"), &mut a.lock, s.lock.clone().map(Some));
    set(g.has("nice"), &mut a.nice, s.nice);
    set(g.has("syslog"), &mut a.syslog, s.syslog);
}

/// `[scan]`, `[scan.limits]`, `[report]`, `[schedule]` under `pansweep scan`.
fn apply_scan(cfg: &Config, g: &Given<'_>, a: &mut ScanArgs) {
    let s = &cfg.scan;
    // The paths of the file replace the default `.`, never paths given on the command line.
    set(g.has("paths"), &mut a.paths, s.paths.clone());
    set(g.has("exclude"), &mut a.exclude, s.exclude.clone());
    set(g.has("max_filesize"), &mut a.max_filesize, s.max_filesize.map(Some));
    set(g.has("one_file_system"), &mut a.one_file_system, s.one_file_system);
    set(g.has("follow"), &mut a.follow, s.follow);
    set(g.has("respect_ignore"), &mut a.respect_ignore, s.respect_ignore);
    set(g.has("threads"), &mut a.threads, s.threads.map(Some));
    set(g.has("state"), &mut a.state, s.state.clone().map(Some));
    set(g.has("max_rate"), &mut a.max_rate, s.max_rate.map(Some));
    set(g.has("forensic"), &mut a.forensic, s.forensic);
    let l = &s.limits;
    set(g.has("max_depth"), &mut a.max_depth, l.max_depth);
    set(g.has("max_member_size"), &mut a.max_member_size, l.max_member_size);
    set(g.has("max_expanded_size"), &mut a.max_expanded_size, l.max_expanded_size);
    set(g.has("max_ratio"), &mut a.max_ratio, l.max_ratio);
    set(g.has("max_members"), &mut a.max_members, l.max_members);
    set(g.has("item_timeout"), &mut a.item_timeout, l.item_timeout);
    apply_report(&cfg.report, &cfg.schedule, g, &mut a.report);
}

/// `[db]`, `[report]`, `[schedule]` under `pansweep db`.
fn apply_db(cfg: &Config, g: &Given<'_>, a: &mut DbArgs) {
    let d = &cfg.db;
    // The file's targets are read only when the command line names no URL.
    if !g.has("urls") {
        a.targets.clone_from(&d.targets);
    }
    set(g.has("db_connections"), &mut a.db_connections, d.connections);
    set(g.has("statement_timeout"), &mut a.statement_timeout, d.statement_timeout);
    set(g.has("connect_timeout"), &mut a.connect_timeout, d.connect_timeout);
    set(g.has("schema"), &mut a.schema, d.schemas.clone());
    set(g.has("table"), &mut a.table, d.tables.clone());
    set(g.has("exclude_table"), &mut a.exclude_table, d.exclude_tables.clone());
    set(g.has("include_views"), &mut a.include_views, d.include_views);
    set(g.has("sample"), &mut a.sample, d.sample.map(Some));
    apply_report(&cfg.report, &cfg.schedule, g, &mut a.report);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use clap::{CommandFactory, FromArgMatches};

    use super::*;

    /// Parses `argv`, lays `text` (as `/etc/pansweep/pansweep.toml`) under it.
    fn applied(argv: &[&str], text: &str) -> Cli {
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        let mut cli = Cli::from_arg_matches(&matches).unwrap();
        let cfg = config::parse(text, Path::new("/etc/pansweep/pansweep.toml")).unwrap();
        let (_, sub) = matches.subcommand().unwrap();
        let given = Given { top: &matches, sub };
        apply_global(&cfg, &given, &mut cli);
        match &mut cli.command {
            Command::Scan(a) => apply_scan(&cfg, &given, a),
            Command::Db(a) => apply_db(&cfg, &given, a),
            _ => unreachable!(),
        }
        cli
    }

    const ALL: &str = r#"
[scan]
paths = ["/srv"]
exclude = ["*.iso"]
max_filesize = "2G"
one_file_system = true
follow = true
respect_ignore = true
threads = 3
state = "state"
max_rate = "50M"
forensic = true
[scan.limits]
max_depth = 2
max_member_size = "1M"
max_expanded_size = "2M"
max_ratio = 10
max_members = 20
item_timeout = 30
[db]
connections = 7
statement_timeout = 8
connect_timeout = 9
schemas = ["shop"]
tables = ["orders*"]
exclude_tables = ["audit"]
include_views = true
sample = 100
[[db.targets]]
url = "postgres://app@db1/shop"
password_env = "DB1_PW"
[report]
format = "csv"
output = "out.csv"
min_confidence = "medium"
fail_on = "high"
lang = "ja"
context = true
fingerprint_key = "key"
detectors = "det"
[schedule]
allowlist = "allow.toml"
baseline = "base.jsonl"
lock = "/run/pansweep.lock"
nice = true
syslog = true
quiet = true
"#;

    /// Every key of the file reaches its option (and every option id exists: a wrong id
    /// panics in `value_source`).
    #[test]
    fn every_key_reaches_its_option() {
        let cli = applied(&["pansweep", "scan"], ALL);
        assert!(cli.quiet && cli.lang == LangArg::Ja);
        let Command::Scan(a) = &cli.command else { unreachable!() };
        assert_eq!(a.paths, [PathBuf::from("/srv")]);
        assert_eq!(a.exclude, ["*.iso"]);
        assert_eq!((a.max_filesize, a.threads, a.max_rate), (Some(2 << 30), Some(3), Some(50 << 20)));
        assert!(a.one_file_system && a.follow && a.respect_ignore && a.forensic);
        assert_eq!(a.state.as_deref(), Some(Path::new("/etc/pansweep/state")));
        assert_eq!(
            (a.max_depth, a.max_member_size, a.max_expanded_size, a.max_ratio, a.max_members, a.item_timeout),
            (2, 1 << 20, 2 << 20, 10, 20, 30)
        );
        let r = &a.report;
        assert_eq!(r.out.format, Some(FormatArg::Csv));
        assert_eq!(r.out.output.as_deref(), Some(Path::new("/etc/pansweep/out.csv")));
        assert_eq!((r.out.min_confidence, r.out.fail_on), (Level::Medium, Level::High));
        assert!(r.context);
        assert_eq!(r.fingerprint_key.as_deref(), Some(Path::new("/etc/pansweep/key")));
        assert_eq!(r.detectors.as_deref(), Some(Path::new("/etc/pansweep/det")));
        assert_eq!(r.sched.allowlist.as_deref(), Some(Path::new("/etc/pansweep/allow.toml")));
        assert_eq!(r.sched.baseline.as_deref(), Some(Path::new("/etc/pansweep/base.jsonl")));
        assert_eq!(r.sched.lock.as_deref(), Some(Path::new("/run/pansweep.lock")));
        assert!(r.sched.nice && r.sched.syslog);

        let cli = applied(&["pansweep", "db"], ALL);
        let Command::Db(a) = &cli.command else { unreachable!() };
        assert_eq!(a.targets.len(), 1);
        assert_eq!((a.db_connections, a.statement_timeout, a.connect_timeout, a.sample), (7, 8, 9, Some(100)));
        assert_eq!((a.schema.as_slice(), a.table.as_slice()), (&["shop".to_owned()][..], &["orders*".to_owned()][..]));
        assert_eq!(a.exclude_table, ["audit"]);
        assert!(a.include_views && a.report.sched.nice);
        assert_eq!(a.report.out.format, Some(FormatArg::Csv));
    }

    /// What the command line gives wins, before or after the subcommand for globals.
    #[test]
    fn the_command_line_wins() {
        let cli = applied(
            &[
                "pansweep",
                "--lang",
                "en",
                "scan",
                "-j",
                "1",
                "--exclude",
                "x",
                "--format",
                "jsonl",
                "--fail-on",
                "low",
                "--max-depth",
                "4",
                "--max-rate",
                "1K",
                "-o",
                "o.jsonl",
                "here",
            ],
            ALL,
        );
        assert_eq!(cli.lang, LangArg::En);
        assert!(cli.quiet, "quiet was not given: the file's");
        let Command::Scan(a) = &cli.command else { unreachable!() };
        assert_eq!(a.paths, [PathBuf::from("here")]);
        assert_eq!(a.exclude, ["x"]);
        assert_eq!((a.threads, a.max_depth, a.max_rate), (Some(1), 4, Some(1024)));
        assert_eq!((a.report.out.format, a.report.out.fail_on), (Some(FormatArg::Jsonl), Level::Low));
        assert_eq!(a.report.out.output.as_deref(), Some(Path::new("o.jsonl")));
        // Not given: the file's.
        assert_eq!(a.report.out.min_confidence, Level::Medium);

        let cli = applied(&["pansweep", "scan", "--lang", "en", "postgres://ignored"], ALL);
        assert_eq!(cli.lang, LangArg::En);
        let cli = applied(&["pansweep", "db", "--schema", "s", "postgres://app@db9/x"], ALL);
        let Command::Db(a) = &cli.command else { unreachable!() };
        assert!(a.targets.is_empty(), "a URL on the command line: the file's targets are not used");
        assert_eq!(a.schema, ["s"]);
    }

    /// The built-in defaults stay when the file says nothing.
    #[test]
    fn an_empty_file_changes_nothing() {
        let cli = applied(&["pansweep", "scan"], "");
        let Command::Scan(a) = &cli.command else { unreachable!() };
        assert_eq!(a.paths, [PathBuf::from(".")]);
        assert!(a.exclude.is_empty() && a.report.out.format.is_none() && !cli.quiet);
        assert_eq!((a.report.out.fail_on, a.max_depth), (Level::Medium, 8));
    }
}

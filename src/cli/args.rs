//! Every clap type. Doc comments become `--help`.

// These comments are `--help` text, read as plain text, not Markdown.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find stored payment-card data (PANs, expiry dates, security codes, track data) in files,
/// and prove that what should have been deleted is gone. Never prints a full card number.
#[derive(Debug, Parser)]
#[command(name = "pansweep", version, about, long_about = None, max_term_width = 100)]
pub(crate) struct Cli {
    /// Language of human-readable output.
    #[arg(long, global = true, value_enum, default_value_t = LangArg::En)]
    pub(crate) lang: LangArg,

    /// Show a progress line on stderr: auto = only when stderr is a terminal.
    #[arg(long, global = true, value_enum, default_value_t = When::Auto)]
    pub(crate) progress: When,

    /// Print nothing unless there is something to act on: no progress or notes on stderr,
    /// and a report on stdout only when it holds findings at or above --fail-on or errors.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,

    /// Read options from this TOML file [default: $XDG_CONFIG_HOME/pansweep/pansweep.toml,
    /// then /etc/pansweep/pansweep.toml, when present]. Command-line options override it.
    #[arg(long, global = true, value_name = "FILE", env = "PANSWEEP_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// Read no config file: ignore the default locations and PANSWEEP_CONFIG.
    #[arg(long, global = true)]
    pub(crate) no_config: bool,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Scan files and directories for card data.
    Scan(ScanArgs),
    /// Scan databases (PostgreSQL, MySQL/MariaDB, SQLite) for card data, read-only.
    Db(DbArgs),
    /// Re-render a stored JSONL report in another format, or merge several (one per host
    /// or database) into one report.
    Report(ReportCmdArgs),
    /// List or check the detector data (brands, test PANs, keywords, column hints).
    Detectors(DetectorsArgs),
    /// Write a test-card file for every supported format into DIR, scan them, and print
    /// pass/fail per format (evidence that the scanner sees every format it claims to).
    Canary(CanaryArgs),
    /// Validate a config file (errors with line and column).
    Config(ConfigArgs),
    /// Accept findings without keeping any card number: entries by fingerprint, path glob
    /// or table.column, each with a reason and an optional expiry date.
    Allowlist(AllowlistArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArgs {
    #[command(subcommand)]
    pub(crate) action: ConfigAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConfigAction {
    /// Check a config file and the files it names (key, allowlist, baseline) and print
    /// every problem as FILE:LINE:COLUMN: message; exit 2 when there is one.
    Check {
        /// The file [default: --config, else the default locations].
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct AllowlistArgs {
    #[command(subcommand)]
    pub(crate) action: AllowlistAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AllowlistAction {
    /// Append entries for findings of an earlier run, picked by their `id`.
    Add {
        /// The JSONL report the findings are in.
        #[arg(long, value_name = "FINDINGS.jsonl")]
        from: PathBuf,
        /// The `id` of a finding in that report; repeatable.
        #[arg(long = "id", value_name = "ID", required = true)]
        ids: Vec<String>,
        /// Why the finding is accepted (kept in the entry, shown in reports).
        #[arg(long)]
        reason: String,
        /// Last day the entry holds (YYYY-MM-DD); afterwards the finding is reported again.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// What an entry matches: the card (fingerprint), its place (path or
        /// table.column), or both.
        #[arg(long = "match", value_enum, default_value_t = AllowMatch::Both)]
        by: AllowMatch,
        /// The allowlist file to append to [default: the config's allowlist].
        #[arg(long, value_name = "FILE")]
        allowlist: Option<PathBuf>,
    },
}

/// What an allowlist entry written by `allowlist add` matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AllowMatch {
    /// The card, wherever it is (its fingerprint).
    Fingerprint,
    /// Anything found at that place (path, or table.column).
    Location,
    /// That card at that place.
    Both,
}

/// `pansweep report`: findings are de-duplicated by location; distinct cards are counted
/// across runs only when they share a fingerprint key.
#[derive(Debug, Args)]
pub(crate) struct ReportCmdArgs {
    /// JSONL reports written by `pansweep scan` or `pansweep db` (`--format jsonl`), plain or
    /// gzip-compressed (`-` reads stdin); a report cut short by an interrupted run is read and
    /// shown as incomplete.
    #[arg(required = true, value_name = "FINDINGS.jsonl")]
    pub(crate) inputs: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) out: OutputArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CanaryArgs {
    /// Directory to write the canary files into (created if missing; files are kept).
    pub(crate) dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Files and directories to scan.
    #[arg(default_value = ".")]
    pub(crate) paths: Vec<PathBuf>,

    #[command(flatten)]
    pub(crate) report: ReportArgs,

    /// Scanning threads [default: number of cores].
    #[arg(short = 'j', long, value_name = "N")]
    pub(crate) threads: Option<usize>,

    /// Leave out paths matching this glob (gitignore syntax); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude: Vec<String>,

    /// Skip files larger than this (e.g. 500M, 2G); they are reported as skipped.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_filesize: Option<u64>,

    /// Archives and mail nested in each other deeper than this are skipped.
    #[arg(long, value_name = "N", default_value_t = 8, help_heading = "Archive and mail limits")]
    pub(crate) max_depth: u32,

    /// Bytes read from one archive member; the rest is skipped (reported).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "1G", help_heading = "Archive and mail limits")]
    pub(crate) max_member_size: u64,

    /// Decompressed bytes per file on disk; beyond it the file's remaining members are skipped.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "16G", help_heading = "Archive and mail limits")]
    pub(crate) max_expanded_size: u64,

    /// Compression ratio above which a member is treated as a bomb and skipped.
    #[arg(long, value_name = "N", default_value_t = 1000, help_heading = "Archive and mail limits")]
    pub(crate) max_ratio: u64,

    /// Members per archive (parts per message for mail).
    #[arg(long, value_name = "N", default_value_t = 100_000, help_heading = "Archive and mail limits")]
    pub(crate) max_members: u64,

    /// Seconds one archive or mail file may take.
    #[arg(long, value_name = "SECS", default_value_t = 300, help_heading = "Archive and mail limits")]
    pub(crate) item_timeout: u64,

    /// Do not cross filesystem boundaries.
    #[arg(long)]
    pub(crate) one_file_system: bool,

    /// Follow symbolic links (loops are detected and reported).
    #[arg(short = 'L', long)]
    pub(crate) follow: bool,

    /// Honour .gitignore and .ignore files (by default they are not: card data hides there).
    #[arg(long)]
    pub(crate) respect_ignore: bool,

    /// Keep a state file of what each file held (size, times, inode, ruleset): later runs
    /// read only files that changed and take the rest from it. Needs --fingerprint-key.
    #[arg(long, value_name = "FILE", help_heading = "Scheduled runs")]
    pub(crate) state: Option<PathBuf>,

    /// Read every file even when the state file says it is unchanged (the state is rewritten).
    #[arg(long, requires = "state", help_heading = "Scheduled runs")]
    pub(crate) full: bool,

    /// Checkpoint into STATE; when STATE holds an interrupted run, continue it, appending
    /// to its report without repeating what that report already holds. Needs -o FILE and
    /// --format jsonl.
    #[arg(long, value_name = "STATE", help_heading = "Scheduled runs")]
    pub(crate) resume: Option<PathBuf>,

    /// Read at most this many bytes per second (e.g. 50M), all threads together.
    #[arg(long, value_name = "RATE", value_parser = parse_size, help_heading = "Scheduled runs")]
    pub(crate) max_rate: Option<u64>,

    /// Forensic mode: read-only, atime preserved (O_NOATIME, or restored), no output
    /// inside a scanned root; an `evidence` record (size, times, owner, mode, SHA-256) for
    /// each file with findings, and a manifest of the run next to the report.
    #[arg(long, help_heading = "Forensic")]
    pub(crate) forensic: bool,

    /// Where --forensic writes the run manifest [default: REPORT.manifest.json next to -o
    /// REPORT; none when the report goes to stdout].
    #[arg(long, value_name = "FILE", requires = "forensic", help_heading = "Forensic")]
    pub(crate) manifest: Option<PathBuf>,
}

/// Where a report goes, in what shape, and what counts: shared by `scan`, `db` and
/// `report`.
#[derive(Debug, Args)]
pub(crate) struct OutputArgs {
    /// Write the report here (created with mode 0600) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,

    /// Report format: html (one self-contained page) for people, csv for spreadsheets,
    /// sarif (SARIF 2.1.0) for code-scanning dashboards [default: text on a terminal,
    /// jsonl otherwise].
    #[arg(long, value_enum)]
    pub(crate) format: Option<FormatArg>,

    /// Report only findings at or above this tier.
    #[arg(long, value_enum, default_value_t = Level::Low)]
    pub(crate) min_confidence: Level,

    /// Exit with 1 when a card-data finding is at or above this tier.
    #[arg(long, value_enum, default_value_t = Level::Medium)]
    pub(crate) fail_on: Level,

    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = When::Auto)]
    pub(crate) color: When,
}

/// Options shared by `scan` and `db`: the report, and how findings are made.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) out: OutputArgs,

    /// HMAC key file for fingerprints, so runs and hosts can be compared [default: a random key per run].
    #[arg(long, value_name = "FILE")]
    pub(crate) fingerprint_key: Option<PathBuf>,

    /// Add a masked snippet of the surrounding text to each finding.
    #[arg(long)]
    pub(crate) context: bool,

    /// Lay a directory of detector files over the built-in ones.
    #[arg(long, value_name = "DIR", env = "PANSWEEP_DETECTORS")]
    pub(crate) detectors: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) sched: SchedArgs,
}

/// What a scheduled (cron) run needs: accepted findings, a baseline, and not getting in
/// the way of production work.
#[derive(Debug, Args)]
pub(crate) struct SchedArgs {
    /// Allowlist file: findings it matches are not reported (counted in the summary).
    #[arg(long, value_name = "FILE", help_heading = "Scheduled runs")]
    pub(crate) allowlist: Option<PathBuf>,

    /// An earlier JSONL report: report only findings not in it, and list the ones gone
    /// since; exit 1 only for new findings at or above --fail-on.
    #[arg(long, value_name = "FILE", help_heading = "Scheduled runs")]
    pub(crate) baseline: Option<PathBuf>,

    /// Hold this lock file for the run; when another run holds it, exit 2 at once.
    #[arg(long, value_name = "FILE", help_heading = "Scheduled runs")]
    pub(crate) lock: Option<PathBuf>,

    /// Lowest CPU priority (nice 19) and idle I/O priority.
    #[arg(long, help_heading = "Scheduled runs")]
    pub(crate) nice: bool,

    /// Send a one-line summary (key=value) to syslog / journald when the run ends.
    #[arg(long, help_heading = "Scheduled runs")]
    pub(crate) syslog: bool,
}

/// Scan databases: PostgreSQL, MySQL/MariaDB, SQLite files. Read-only; every table the
/// user may read, streamed in primary-key order; findings placed by table, column and
/// row key. The password comes from the URL, PANSWEEP_DB_PASSWORD or --password-stdin
/// and is never shown.
#[derive(Debug, Args)]
pub(crate) struct DbArgs {
    /// postgres://user@host:5432/db, mysql://user@host:3306/db, mariadb://…, sqlite:///path/file.db
    /// (TLS options as URL parameters: sslmode=verify-full, ssl-mode=VERIFY_IDENTITY, …)
    /// [default: the config file's [db] targets].
    #[arg(value_name = "URL")]
    pub(crate) urls: Vec<String>,

    #[command(flatten)]
    pub(crate) report: ReportArgs,

    /// Read only schemas (MySQL: databases) matching this glob; repeatable
    /// [default: every schema; MySQL: the URL's database, or all].
    #[arg(long, value_name = "GLOB")]
    pub(crate) schema: Vec<String>,

    /// Read only tables matching this glob (`orders*` or `shop.orders`); repeatable.
    #[arg(long, value_name = "GLOB")]
    pub(crate) table: Vec<String>,

    /// Leave out tables matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub(crate) exclude_table: Vec<String>,

    /// Also read views and foreign tables (their base tables are read anyway).
    #[arg(long)]
    pub(crate) include_views: bool,

    /// Connections per database; big tables are split by key range across them.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub(crate) db_connections: usize,

    /// Read only the first N rows of each table (fast; reported as sampled, never complete).
    #[arg(long, value_name = "N")]
    pub(crate) sample: Option<u64>,

    /// Seconds one statement may run (and a streamed read may wait for a row).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) statement_timeout: u64,

    /// Seconds to wait for a connection.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) connect_timeout: u64,

    /// Read the database password from the first line of stdin.
    #[arg(long)]
    pub(crate) password_stdin: bool,

    /// The config file's `[[db.targets]]`, used when no URL is given (set by
    /// `config::apply_db`, not a command-line option).
    #[arg(skip)]
    pub(crate) targets: Vec<pansweep::config::DbTarget>,
}

#[derive(Debug, Args)]
pub(crate) struct DetectorsArgs {
    #[command(subcommand)]
    pub(crate) action: DetectorsAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DetectorsAction {
    /// Print the brand table and what else the detector set holds.
    List {
        /// Lay this directory over the built-in files first.
        #[arg(long, value_name = "DIR", env = "PANSWEEP_DETECTORS")]
        detectors: Option<PathBuf>,
    },
    /// Validate detector files and run every example through the engine.
    Check {
        /// Directory laid over the built-in files [default: the built-in set alone].
        dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    Text,
    Jsonl,
    Json,
    Csv,
    Sarif,
    Html,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum When {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum LangArg {
    En,
    Ja,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl From<Level> for pansweep::finding::Confidence {
    fn from(l: Level) -> Self {
        use pansweep::finding::Confidence;
        match l {
            Level::Low => Confidence::Low,
            Level::Medium => Confidence::Medium,
            Level::High => Confidence::High,
            Level::Critical => Confidence::Critical,
        }
    }
}

/// `123`, `64K`, `500M`, `2G`, `1T`: the library's parser, shared with the config file.
pub(crate) use pansweep::config::parse_size;

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }
}

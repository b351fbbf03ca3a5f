//! The command line: the only module that touches clap, anyhow, indicatif, signals and the
//! process exit code. Each subcommand turns its arguments into the library's frozen
//! configuration and runs it.

mod allowlist;
mod args;
mod canary;
mod config;
mod db;
mod detectors;
mod exit;
mod forensic;
mod progress;
mod report;
mod scan;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use self::args::{Cli, Command};
pub(crate) use self::exit::ExitStatus;

/// Parses the command line, runs the command and maps the result to an exit code.
pub(crate) fn main() -> ExitCode {
    quiet_panics();
    // Parsed in two steps so that the config file can see which options the command line
    // gave (`ArgMatches::value_source`): those win over the file.
    let parsed = Cli::command().try_get_matches().and_then(|m| Cli::from_arg_matches(&m).map(|c| (m, c)));
    let (matches, mut cli) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let code = if e.use_stderr() { ExitStatus::Error } else { ExitStatus::Clean };
            let _ = e.print();
            return code.into();
        }
    };
    // The config file: an unreadable or invalid one stops here (exit 2).
    if let Err(err) = config::apply(&mut cli, &matches) {
        let _ = writeln!(std::io::stderr().lock(), "pansweep: {}", describe(&err));
        return ExitStatus::Error.into();
    }
    let result = match &cli.command {
        Command::Scan(a) => scan::run(&cli, a),
        Command::Db(a) => db::run(&cli, a),
        Command::Report(a) => report::run(&cli, a),
        Command::Detectors(a) => detectors::run(&cli, a),
        Command::Canary(a) => canary::run(&cli, a),
        Command::Allowlist(a) => allowlist::run(&cli, a),
        Command::Config(a) => config::run(&cli, a),
    };
    match result {
        Ok(status) => status.into(),
        Err(err) => {
            // A closed pipe is the reader's choice, not an error (ripgrep does the same).
            if err
                .chain()
                .any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
            {
                return ExitStatus::Clean.into();
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "pansweep: {}", describe(&err));
            ExitStatus::Error.into()
        }
    }
}

/// An error and its causes on one line, `a: b: c` like anyhow's `{:#}`, without a cause
/// that the text before it already ends with: many library errors say their source in
/// their own message too (`cannot write state file: No space left on device`), which
/// `{:#}` would print twice.
fn describe(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Panics print one line, with every PAN-like digit run masked: a panic message may quote
/// the data being parsed (a library's assertion on a value), and no full PAN may reach
/// stderr. The pipeline reports the item as skipped and the run goes on.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let msg = pansweep::source::quiet::panic_message(info.payload());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "pansweep: internal error{at}: {}", pansweep::report::redact_digits(&msg));
    }));
}

/// Prints a warning on stderr (always: something did not work as asked).
pub(crate) fn warn(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "pansweep: warning: {msg}");
}

/// Prints a note on stderr, unless `--quiet`.
pub(crate) fn note(cli: &args::Cli, msg: &str) {
    if !cli.quiet {
        let _ = writeln!(std::io::stderr().lock(), "pansweep: note: {msg}");
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write state file: {0}")]
    struct Says(#[source] std::io::Error);

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = anyhow::Error::new(Says(io)).context("x/journal");
        assert_eq!(describe(&e), "x/journal: cannot write state file: No space left on device (os error 28)");
        let plain = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::ENOSPC)).context("cannot write a");
        assert_eq!(describe(&plain), "cannot write a: No space left on device (os error 28)");
    }
}

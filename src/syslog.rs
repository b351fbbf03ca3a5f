//! `--syslog`: the one line a run leaves in syslog / the journal when it ends, in the
//! local syslog socket's format (`<PRI>pansweep[PID]: key=value …`, as `syslog(3)` sends
//! it without a timestamp; the daemon adds its own).
//!
//! Only counts and the report's name go in: never a finding, a path of a scanned file, a
//! URL or a password. Values with spaces, quotes or `=` are quoted. Building the line is
//! pure; sending it is the command line's job.

use std::fmt::Write as _;

use crate::report::{Summary, redact_digits};

/// The facility: `user` (1), the one for programs with no facility of their own.
pub const FACILITY_USER: u8 = 1;

/// How the run went, as a syslog severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// 3: the run failed, was interrupted, or left something unread.
    Err = 3,
    /// 4: findings at or above the failure tier.
    Warning = 4,
    /// 5: a clean run (normal, but worth a line).
    Notice = 5,
}

/// What the line says: the run's summary, or only counts when the run ended before it
/// had a summary.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The run wrote its summary.
    Summary(&'a Summary),
    /// The run stopped with an error; what had been counted by then.
    Failed {
        /// Files finished.
        files: u64,
        /// Bytes scanned.
        bytes: u64,
        /// Findings reported.
        findings: u64,
        /// Items skipped.
        skipped: u64,
    },
    /// The run did not start (e.g. `lock-held`: the previous run is still going).
    NotStarted {
        /// A short token saying why (no spaces needed; quoted if it has any).
        reason: &'a str,
    },
}

/// The line for a run that ended with exit code `exit`, whose report went to `report`
/// (`None`: stdout), sent by process `pid`.
pub fn line(severity: Severity, pid: u32, outcome: Outcome<'_>, exit: u8, report: Option<&str>) -> String {
    let pri = FACILITY_USER * 8 + severity as u8;
    let mut s = format!("<{pri}>pansweep[{pid}]:");
    let mut kv = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(s, " {k}={v}");
    };
    match outcome {
        Outcome::Summary(sum) => {
            kv("complete", &sum.complete);
            kv("exit", &exit);
            kv("files", &sum.files);
            kv("bytes", &sum.bytes);
            kv("tables", &sum.tables);
            kv("rows", &sum.rows);
            kv("findings", &sum.findings.total());
            kv("critical", &sum.findings.critical);
            kv("high", &sum.findings.high);
            kv("medium", &sum.findings.medium);
            kv("low", &sum.findings.low);
            kv("skipped", &sum.skipped);
            kv("elapsed_s", &sum.elapsed_s);
        }
        Outcome::Failed { files, bytes, findings, skipped } => {
            kv("complete", &false);
            kv("exit", &exit);
            kv("files", &files);
            kv("bytes", &bytes);
            kv("findings", &findings);
            kv("skipped", &skipped);
        }
        Outcome::NotStarted { reason } => {
            kv("complete", &false);
            kv("exit", &exit);
            kv("error", &quote(reason));
        }
    }
    let report = report.map_or_else(|| "stdout".to_owned(), |r| quote(&redact_digits(r)));
    kv("report", &report);
    s
}

/// A value as it can stand after `key=`: as it is when it has no space, quote, `=` or
/// control character, else in double quotes with `"` and `\` escaped and control
/// characters as `\xNN`.
pub fn quote(v: &str) -> String {
    let plain =
        !v.is_empty() && !v.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '=' | '\\'));
    if plain {
        return v.to_owned();
    }
    let mut q = String::with_capacity(v.len() + 2);
    q.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            c if c.is_control() => {
                let _ = write!(q, "\\x{:02x}", u32::from(c));
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Counts;

    fn summary() -> Summary {
        Summary {
            complete: true,
            files: 120,
            bytes: 4096,
            tables: 2,
            rows: 30,
            skipped: 1,
            findings: Counts { critical: 1, high: 2, medium: 3, low: 4, test_pan: 5, masked_pan: 6 },
            distinct_pans: Some(3),
            elapsed_s: 1.25,
            sampled: false,
            ..Summary::default()
        }
    }

    #[test]
    fn summary_line() {
        let l = line(Severity::Warning, 4242, Outcome::Summary(&summary()), 1, Some("/var/log/pansweep/run 1.jsonl"));
        assert_eq!(
            l,
            "<12>pansweep[4242]: complete=true exit=1 files=120 bytes=4096 tables=2 rows=30 findings=21 critical=1 \
             high=2 medium=3 low=4 skipped=1 elapsed_s=1.25 report=\"/var/log/pansweep/run 1.jsonl\""
        );
        let clean = line(Severity::Notice, 7, Outcome::Summary(&summary()), 0, None);
        assert!(clean.starts_with("<13>pansweep[7]: complete=true exit=0 "), "{clean}");
        assert!(clean.ends_with(" report=stdout"), "{clean}");
    }

    #[test]
    fn failed_line() {
        let l = line(
            Severity::Err,
            1,
            Outcome::Failed { files: 3, bytes: 10, findings: 0, skipped: 2 },
            2,
            Some("/tmp/r.jsonl"),
        );
        assert_eq!(
            l,
            "<11>pansweep[1]: complete=false exit=2 files=3 bytes=10 findings=0 skipped=2 report=/tmp/r.jsonl"
        );
    }

    #[test]
    fn not_started_line() {
        let l = line(Severity::Err, 9, Outcome::NotStarted { reason: "lock-held" }, 2, None);
        assert_eq!(l, "<11>pansweep[9]: complete=false exit=2 error=lock-held report=stdout");
    }

    #[test]
    fn report_names_are_quoted_and_never_hold_a_pan() {
        assert_eq!(quote("/a/b.jsonl"), "/a/b.jsonl");
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote("x=\"y\"\\"), "\"x=\\\"y\\\"\\\\\"");
        assert_eq!(quote("a\nb"), "\"a\\x0ab\"");
        assert_eq!(quote(""), "\"\"");
        // A report named after a card number is shown masked, like every path.
        let l = line(Severity::Notice, 1, Outcome::Summary(&summary()), 0, Some("/tmp/4111111111111111.jsonl"));
        assert!(!l.contains("4111111111111111"), "{l}");
        assert!(l.contains("report=/tmp/411111"), "{l}");
    }
}

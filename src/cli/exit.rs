//! Exit codes (SPEC §2).

use std::process::ExitCode;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// 0: everything in scope was scanned, nothing at or above `--fail-on`.
    Clean,
    /// 1: findings at or above `--fail-on` (whatever the coverage).
    Found,
    /// 2: usage error, or the run could not start.
    Error,
    /// 3: no such findings, but something could not be read.
    Incomplete,
    /// 130: interrupted; what was found is written and the summary says `complete: false`.
    Interrupted,
}

impl ExitStatus {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitStatus::Clean => 0,
            ExitStatus::Found => 1,
            ExitStatus::Error => 2,
            ExitStatus::Incomplete => 3,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}

//! `--nice`: the lowest CPU priority (nice 19) and the idle I/O scheduling class, so that
//! a scheduled scan runs only on what production work leaves over.
//!
//! On Linux both are per thread and inherited by threads created afterwards: call
//! [`lower_priority`] before any thread is started (the signal handler's, the worker
//! pools), and the whole run is covered.
//!
//! Also `lseek` with `SEEK_DATA` / `SEEK_HOLE`, which finds the holes of sparse files
//! (VM images, preallocated database files, core dumps) so the reader can write their
//! zeros itself instead of reading them.
//!
//! Besides the scan kernel's SIMD code, the system calls here are the only `unsafe` code
//! in the crate; none takes a pointer.

use std::io;

/// `IOPRIO_WHO_PROCESS` (linux/ioprio.h): `who` is a process (thread) id, 0 = the caller.
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// `IOPRIO_CLASS_IDLE`: served only when no other class wants the disk.
pub const IOPRIO_CLASS_IDLE: u32 = 3;
/// The class sits above the 13 bits of level.
const IOPRIO_CLASS_SHIFT: u32 = 13;
/// The nice value `--nice` sets.
pub const LOWEST_NICE: i32 = 19;

/// Why the priority could not be lowered (the run goes on at the priority it has).
#[derive(Debug, thiserror::Error)]
pub enum PriorityError {
    /// `setpriority` failed.
    #[error("cannot lower the cpu priority to nice {LOWEST_NICE}: {0}")]
    Nice(#[source] io::Error),
    /// `ioprio_set` failed (e.g. a kernel without it, or a seccomp filter).
    #[error("cannot set the idle i/o priority class: {0}")]
    Io(#[source] io::Error),
}

/// Sets nice 19 and the idle I/O class for the calling thread (and every thread it
/// starts afterwards). Both are tried; each failure is returned.
pub fn lower_priority() -> Vec<PriorityError> {
    let mut errors = Vec::new();
    if let Err(e) = set_nice(LOWEST_NICE) {
        errors.push(PriorityError::Nice(e));
    }
    if let Err(e) = set_io_class(0, IOPRIO_CLASS_IDLE) {
        errors.push(PriorityError::Io(e));
    }
    errors
}

#[allow(unsafe_code)]
fn set_nice(nice: i32) -> io::Result<()> {
    // SAFETY: setpriority takes integers only; 0 is the calling thread.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[allow(unsafe_code)]
fn set_io_class(tid: libc::pid_t, class: u32) -> io::Result<()> {
    let prio = libc::c_long::from(class << IOPRIO_CLASS_SHIFT);
    // SAFETY: ioprio_set(which, who, ioprio) takes integers only.
    let r = unsafe {
        libc::syscall(libc::SYS_ioprio_set, libc::c_long::from(IOPRIO_WHO_PROCESS), libc::c_long::from(tid), prio)
    };
    if r == -1 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Where the data of `file` at or after `offset` starts (`SEEK_DATA`): `offset` itself when
/// it is in data, `None` when no data follows (`ENXIO`: a hole runs to the end of the
/// file, or `offset` is at or past it). A file system without hole support reports the
/// whole file as data. Moves the file offset, which the file reader never uses (its reads
/// are positional, `pread`).
pub fn seek_data(file: &std::fs::File, offset: u64) -> io::Result<Option<u64>> {
    match lseek(file, offset, libc::SEEK_DATA) {
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => Ok(None),
        r => r.map(Some),
    }
}

/// Where the first hole of `file` at or after `offset` starts (`SEEK_HOLE`; the end of
/// the file counts as one). Moves the file offset, like [`seek_data`].
pub fn seek_hole(file: &std::fs::File, offset: u64) -> io::Result<u64> {
    lseek(file, offset, libc::SEEK_HOLE)
}

#[allow(unsafe_code)]
fn lseek(file: &std::fs::File, offset: u64, whence: libc::c_int) -> io::Result<u64> {
    use std::os::fd::AsRawFd;
    let offset = libc::off_t::try_from(offset).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: lseek(fd, offset, whence) takes integers only; `file` keeps the fd open.
    let r = unsafe { libc::lseek(file.as_raw_fd(), offset, whence) };
    u64::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// The I/O scheduling class of thread `tid` (0: the caller), as `ioprio_get` reports it
/// (0 none, 1 real-time, 2 best-effort, 3 idle).
#[allow(unsafe_code)]
pub fn io_class(tid: libc::pid_t) -> io::Result<u32> {
    // SAFETY: ioprio_get(which, who) takes integers only.
    let r =
        unsafe { libc::syscall(libc::SYS_ioprio_get, libc::c_long::from(IOPRIO_WHO_PROCESS), libc::c_long::from(tid)) };
    match u32::try_from(r) {
        Ok(v) => Ok(v >> IOPRIO_CLASS_SHIFT),
        Err(_) => Err(io::Error::last_os_error()),
    }
}

/// The nice value of thread `tid` (0: the caller), from `/proc/thread-self/stat` or
/// `/proc/self/task/TID/stat` (field 19).
pub fn nice_of(tid: libc::pid_t) -> io::Result<i32> {
    let path = if tid == 0 { "/proc/thread-self/stat".to_owned() } else { format!("/proc/self/task/{tid}/stat") };
    let stat = std::fs::read_to_string(&path)?;
    parse_stat_nice(&stat).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {path}")))
}

/// Field 19 (nice) of a `/proc/…/stat` line. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses: fields are counted after its last `)`.
pub fn parse_stat_nice(stat: &str) -> Option<i32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state) onwards: field 19 is the 17th.
    rest.split_ascii_whitespace().nth(16)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_nice_field() {
        let line = "1234 (pansweep-scan-0) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 39 19 7 0 55 1000 200 18446744073709551615";
        assert_eq!(parse_stat_nice(line), Some(19));
        // A command name with spaces and parentheses does not shift the fields.
        let odd = "1234 (a) b (c) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 7 0";
        assert_eq!(parse_stat_nice(odd), Some(0));
        assert_eq!(parse_stat_nice("garbage"), None);
    }

    /// Run in a thread of its own: on Linux the priorities are per thread, so the other
    /// tests of this process keep theirs.
    #[test]
    fn lowers_the_calling_thread_and_what_it_starts() {
        let (nice, class, child) = std::thread::spawn(|| {
            let errors = lower_priority();
            assert!(errors.is_empty(), "{errors:?}");
            let child = std::thread::spawn(|| (nice_of(0).unwrap(), io_class(0).unwrap())).join().unwrap();
            (nice_of(0).unwrap(), io_class(0).unwrap(), child)
        })
        .join()
        .unwrap();
        assert_eq!(nice, LOWEST_NICE);
        assert_eq!(class, IOPRIO_CLASS_IDLE);
        assert_eq!(child, (LOWEST_NICE, IOPRIO_CLASS_IDLE), "a thread started afterwards inherits both");
        // This thread was not touched.
        assert_ne!(io_class(0).unwrap(), IOPRIO_CLASS_IDLE);
    }
}

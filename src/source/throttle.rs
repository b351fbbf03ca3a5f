//! `--max-rate`: a token bucket shared by every worker, charged for every byte read from
//! disk, so that a scheduled scan leaves the disks to production work.
//!
//! The bucket holds at most one second's worth of bytes, so a burst after an idle spell
//! is at most about one second long. A read larger than what the bucket holds (a 1 MiB
//! chunk at 100 KiB/s) is allowed and runs the bucket into debt: the caller waits until
//! the debt is paid back. Callers that come later queue behind that debt, so the rate
//! over all threads together stays at the limit. Waiting is done in short slices that
//! check the cancel flag, so Ctrl-C still stops a throttled run at once.
//!
//! The clock is injected ([`Clock`]): the bucket's arithmetic is tested without sleeping.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Longest single sleep while waiting: how late a cancellation can be noticed.
const SLICE: Duration = Duration::from_millis(50);

/// Time as the bucket sees it: a monotonic reading and a way to wait.
pub trait Clock: Send + Sync {
    /// Time since some fixed start (monotonic).
    fn now(&self) -> Duration;
    /// Waits for about `d`.
    fn sleep(&self, d: Duration);
}

/// The real clock: [`Instant`] and [`std::thread::sleep`].
#[derive(Debug)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// A token bucket of bytes per second, shared by all workers (in an `Arc`).
pub struct Throttle {
    rate: u64,
    clock: Box<dyn Clock>,
    state: Mutex<Bucket>,
}

/// Tokens are bytes; negative means debt.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Duration,
}

impl fmt::Debug for Throttle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle").field("rate", &self.rate).finish_non_exhaustive()
    }
}

impl Throttle {
    /// At most `rate` bytes per second (at least 1), on the real clock.
    pub fn new(rate: u64) -> Throttle {
        Throttle::with_clock(rate, Box::new(SystemClock::default()))
    }

    /// At most `rate` bytes per second, on `clock`. The bucket starts full.
    pub fn with_clock(rate: u64, clock: Box<dyn Clock>) -> Throttle {
        let rate = rate.max(1);
        let at = clock.now();
        Throttle { rate, clock, state: Mutex::new(Bucket { tokens: rate as f64, at }) }
    }

    /// Bytes per second.
    pub fn rate(&self) -> u64 {
        self.rate
    }

    /// Books `bytes` and says how long the caller must wait before going on.
    fn reserve(&self, bytes: u64) -> Duration {
        let rate = self.rate as f64;
        let now = self.clock.now();
        let mut b = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let refill = now.saturating_sub(b.at).as_secs_f64() * rate;
        // Full is one second of bytes: longer idle spells give no bigger burst.
        b.tokens = (b.tokens + refill).min(rate);
        b.at = now;
        b.tokens -= bytes as f64;
        if b.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-b.tokens / rate) }
    }

    /// Charges `bytes` just read (or about to be), waiting as long as the rate requires.
    /// Returns `false` when `cancel` was set while waiting (the wait is cut short).
    pub fn take(&self, bytes: u64, cancel: &AtomicBool) -> bool {
        if bytes == 0 {
            return !cancel.load(Ordering::Relaxed);
        }
        let wait = self.reserve(bytes);
        let until = self.clock.now() + wait;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return false;
            }
            let left = until.saturating_sub(self.clock.now());
            if left.is_zero() {
                return true;
            }
            self.clock.sleep(left.min(SLICE));
        }
    }
}

/// A reader (a file on disk) whose every byte read is charged to a [`Throttle`].
pub struct Throttled<'a, R> {
    inner: R,
    throttle: &'a Throttle,
    cancel: &'a AtomicBool,
}

impl<'a, R> Throttled<'a, R> {
    /// Wraps `inner`.
    pub fn new(inner: R, throttle: &'a Throttle, cancel: &'a AtomicBool) -> Throttled<'a, R> {
        Throttled { inner, throttle, cancel }
    }
}

impl<R: Read> Read for Throttled<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        // A cancelled wait returns the bytes anyway: the readers above check the flag.
        self.throttle.take(n as u64, self.cancel);
        Ok(n)
    }
}

impl<R: Seek> Seek for Throttled<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    use super::*;

    /// A clock that only moves when someone sleeps on it (or the test advances it).
    #[derive(Clone, Default)]
    struct FakeClock {
        nanos: Arc<AtomicU64>,
        slept: Arc<AtomicU64>,
        sleeps: Arc<AtomicU64>,
    }

    impl FakeClock {
        fn advance(&self, d: Duration) {
            self.nanos.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
        }
        fn slept(&self) -> Duration {
            Duration::from_nanos(self.slept.load(Ordering::SeqCst))
        }
    }

    impl Clock for FakeClock {
        fn now(&self) -> Duration {
            Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
        }
        fn sleep(&self, d: Duration) {
            self.sleeps.fetch_add(1, Ordering::SeqCst);
            self.slept.fetch_add(d.as_nanos() as u64, Ordering::SeqCst);
            self.advance(d);
        }
    }

    fn bucket(rate: u64) -> (Throttle, FakeClock) {
        let clock = FakeClock::default();
        (Throttle::with_clock(rate, Box::new(clock.clone())), clock)
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) < Duration::from_micros(10)
    }

    #[test]
    fn a_full_bucket_allows_one_second_then_paces() {
        let (t, clock) = bucket(1000);
        let cancel = AtomicBool::new(false);
        // The first second's worth goes at once.
        assert!(t.take(600, &cancel));
        assert!(t.take(400, &cancel));
        assert_eq!(clock.slept(), Duration::ZERO);
        // Then every byte costs 1 ms.
        assert!(t.take(250, &cancel));
        assert!(close(clock.slept(), Duration::from_millis(250)), "{:?}", clock.slept());
        assert!(t.take(1000, &cancel));
        assert!(close(clock.slept(), Duration::from_millis(1250)), "{:?}", clock.slept());
    }

    #[test]
    fn idle_time_refills_at_most_one_second() {
        let (t, clock) = bucket(1000);
        let cancel = AtomicBool::new(false);
        assert!(t.take(1000, &cancel));
        // An hour of idling gives one second of burst, not an hour's.
        clock.advance(Duration::from_hours(1));
        assert!(t.take(1000, &cancel));
        assert_eq!(clock.slept(), Duration::ZERO);
        assert!(t.take(1000, &cancel));
        assert!(close(clock.slept(), Duration::from_secs(1)), "{:?}", clock.slept());
        // Half a second idle: half a second of bytes free.
        clock.advance(Duration::from_millis(500));
        let before = clock.slept();
        assert!(t.take(500, &cancel));
        assert_eq!(clock.slept(), before);
    }

    #[test]
    fn a_read_larger_than_the_bucket_runs_into_debt() {
        let (t, clock) = bucket(100);
        let cancel = AtomicBool::new(false);
        // 1,000 bytes at 100 B/s: 100 were in the bucket, 900 take nine seconds.
        assert!(t.take(1000, &cancel));
        assert!(close(clock.slept(), Duration::from_secs(9)), "{:?}", clock.slept());
        // Sleeps are sliced so that cancellation is seen.
        assert!(clock.sleeps.load(Ordering::SeqCst) >= 9_000 / SLICE.as_millis() as u64);
    }

    #[test]
    fn callers_queue_behind_each_other() {
        // Two bookings without the clock moving (two threads at the same instant): the
        // second one waits for both.
        let (t, _clock) = bucket(1000);
        assert_eq!(t.reserve(1000), Duration::ZERO);
        assert!(close(t.reserve(500), Duration::from_millis(500)));
        assert!(close(t.reserve(500), Duration::from_secs(1)));
    }

    #[test]
    fn cancellation_cuts_the_wait_short() {
        let (t, clock) = bucket(10);
        let cancel = AtomicBool::new(false);
        assert!(t.take(10, &cancel));
        cancel.store(true, Ordering::SeqCst);
        assert!(!t.take(1_000_000, &cancel));
        assert_eq!(clock.slept(), Duration::ZERO);
    }

    #[test]
    fn a_throttled_reader_charges_what_it_reads() {
        let (t, clock) = bucket(1000);
        let cancel = AtomicBool::new(false);
        let data = vec![7u8; 3000];
        let mut r = Throttled::new(io::Cursor::new(&data), &t, &cancel);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
        // 1,000 free, 2,000 at 1 ms each.
        assert!(close(clock.slept(), Duration::from_secs(2)), "{:?}", clock.slept());
        r.seek(SeekFrom::Start(0)).unwrap();
        let mut one = [0u8; 1];
        r.read_exact(&mut one).unwrap();
        assert_eq!(one[0], 7);
    }
}

//! Throughput of the pure engine (`Scanner::scan` on one thread) on generated inputs, next to
//! `memchr::memchr(0, buf)` over the same buffer: a memory-bandwidth reference that makes the
//! ratio comparable across machines.
//!
//! Inputs (generated here, deterministic, no files):
//! - `log`: ~64 MiB of web-server log lines (timestamps, IPs, short numbers) with one
//!   Luhn-valid PAN per ~1 MiB (plain, space- or dash-grouped);
//! - `csv`: ~32 MiB of digit-dense rows `id,date,amount,phone,<16 digits>` where the
//!   16-digit field is a PAN in 1 row of 20 and random digits otherwise;
//! - `random`: ~64 MiB of uniform printable ASCII with a newline every ~100 bytes.
//!
//! - `embedded`: `Scanner::scan` on 32 MiB of the log text, next to `Scanner::scan` plus
//!   `embedded::Embedded::for_each_region` (and scanning the regions handed on) on 32 MiB
//!   of random base64 lines, both in 1 MiB chunks; the `summary embedded` line prints the
//!   ratio (issue 4 asks for ≤ 3). `pretest-plain-log` is `Embedded::may_contain` alone
//!   on the log text: the cost every text chunk pays.
//!
//! - `file`: with `BENCH_FILE=PATH`, that file read into memory (`bench/compare.sh
//!   --kernel` runs ripgrep on the same file for a ratio).
//!
//! `cargo bench --bench scan` (one to two minutes). Also benched: `chains`, the candidate
//! kernel (`kernel::for_each_chain`) alone, to separate per-byte from per-candidate cost.
//! After each input a short interleaved re-measurement prints a `summary` line with the
//! scan/memchr throughput ratio. Generated PANs are never printed.
//!
//! `BENCH_CLOCK=cpu cargo bench --bench scan` measures the thread's CPU time (from
//! `/proc/thread-self/schedstat`) instead of wall time: use it on a loaded machine, where
//! wall time mostly measures the other processes.

// Benchmark-only code: printing the summary is the point, and casts are on small counters.
#![allow(clippy::print_stdout, clippy::cast_sign_loss, clippy::cast_possible_wrap, missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput};
use pansweep::detectors::DetectorSet;
use pansweep::finding::{Class, Finding};
use pansweep::scan::embedded::{self, Embedded, EmbeddedLimits};
use pansweep::scan::kernel::{self, Kernel};
use pansweep::scan::{ScanInput, Scanner, ScannerBuilder};

const MIB: usize = 1 << 20;

/// `SplitMix64`: small, fast, deterministic (one fixed seed per input).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn digit(&mut self) -> u8 {
        b'0' + self.below(10) as u8
    }
}

/// Luhn check digit for `body` (the digits before the check digit).
fn luhn_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// A random Luhn-valid 16-digit Visa or Mastercard number (random body: not on any
/// test list, not low-entropy in practice).
fn make_pan(rng: &mut Rng) -> [u8; 16] {
    let mut d = [0u8; 16];
    if rng.below(2) == 0 {
        d[0] = b'4';
        d[1] = rng.digit();
    } else {
        d[0] = b'5';
        d[1] = b'1' + rng.below(5) as u8;
    }
    for x in &mut d[2..15] {
        *x = rng.digit();
    }
    d[15] = luhn_check_digit(&d[..15]);
    d
}

fn push_pan(out: &mut Vec<u8>, pan: &[u8; 16], sep: Option<u8>) {
    for (i, chunk) in pan.chunks(4).enumerate() {
        if i > 0
            && let Some(s) = sep
        {
            out.push(s);
        }
        out.extend_from_slice(chunk);
    }
}

fn push_num(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(n.to_string().as_bytes());
}

fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    out.extend_from_slice(format!("{n:0width$}").as_bytes());
}

const PATHS: [&str; 8] = [
    "/index.html",
    "/api/v1/orders",
    "/static/app.js",
    "/shop/item",
    "/images/logo.png",
    "/api/v2/session/refresh",
    "/search",
    "/account/settings",
];
const AGENTS: [&str; 4] = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "curl/8.5.0",
    "okhttp/4.12.0",
];

/// One combined-log-format line with a few extra fields.
fn log_line(rng: &mut Rng, out: &mut Vec<u8>, pan: Option<&[u8; 16]>) {
    for k in 0..4 {
        if k > 0 {
            out.push(b'.');
        }
        push_num(out, rng.below(256));
    }
    out.extend_from_slice(b" - - [");
    push_padded(out, 1 + rng.below(28), 2);
    out.extend_from_slice(b"/Oct/2024:");
    push_padded(out, rng.below(24), 2);
    out.push(b':');
    push_padded(out, rng.below(60), 2);
    out.push(b':');
    push_padded(out, rng.below(60), 2);
    out.extend_from_slice(b" +0000] \"");
    out.extend_from_slice(if rng.below(4) == 0 { b"POST " } else { b"GET " });
    out.extend_from_slice(PATHS[rng.below(PATHS.len() as u64) as usize].as_bytes());
    match rng.below(3) {
        0 => {
            out.extend_from_slice(b"?id=");
            push_num(out, rng.below(1_000_000));
            out.extend_from_slice(b"&page=");
            push_num(out, rng.below(50));
        }
        1 => {
            out.push(b'/');
            push_num(out, rng.below(100_000));
        }
        _ => {}
    }
    out.extend_from_slice(b" HTTP/1.1\" ");
    out.extend_from_slice([b"200", b"304", b"404", b"500"][rng.below(4) as usize]);
    out.push(b' ');
    push_num(out, rng.below(60_000));
    out.extend_from_slice(b" \"-\" \"");
    out.extend_from_slice(AGENTS[rng.below(AGENTS.len() as u64) as usize].as_bytes());
    out.extend_from_slice(b"\" rt=0.");
    push_padded(out, rng.below(1000), 3);
    out.extend_from_slice(b" uid=");
    push_num(out, rng.below(10_000_000));
    if let Some(pan) = pan {
        out.extend_from_slice(b" card=");
        push_pan(out, pan, [None, Some(b' '), Some(b'-')][rng.below(3) as usize]);
    }
    out.push(b'\n');
}

/// Log text of about `size` bytes with one PAN per MiB; returns the number planted.
fn gen_log(size: usize, rng: &mut Rng) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(size + 1024);
    let mut planted = 0;
    let mut next_pan_at = MIB / 2;
    while out.len() < size {
        let pan = if out.len() >= next_pan_at {
            next_pan_at += MIB;
            planted += 1;
            Some(make_pan(rng))
        } else {
            None
        };
        log_line(rng, &mut out, pan.as_ref());
    }
    (out, planted)
}

/// Digit-dense CSV of about `size` bytes; returns the number of PAN rows.
fn gen_csv(size: usize, rng: &mut Rng) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(size + 128);
    let mut planted = 0;
    while out.len() < size {
        push_num(&mut out, 1_000_000 + rng.below(9_000_000));
        out.extend_from_slice(b",2024-");
        push_padded(&mut out, 1 + rng.below(12), 2);
        out.push(b'-');
        push_padded(&mut out, 1 + rng.below(28), 2);
        out.push(b',');
        push_num(&mut out, rng.below(10_000));
        out.push(b'.');
        push_padded(&mut out, rng.below(100), 2);
        out.extend_from_slice(b",0");
        push_padded(&mut out, rng.below(1_000_000_000), 9);
        out.push(b',');
        if rng.below(20) == 0 {
            planted += 1;
            push_pan(&mut out, &make_pan(rng), None);
        } else {
            for _ in 0..16 {
                out.push(rng.digit());
            }
        }
        out.push(b'\n');
    }
    (out, planted)
}

/// Uniform printable ASCII with a newline about every 100 bytes.
fn gen_random(size: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let x = rng.next();
        for k in 0..8 {
            let b = (x >> (8 * k)) as u8;
            out.push(if b < 3 { b'\n' } else { 0x20 + b % 95 });
        }
    }
    out
}

/// A clock for the summary lines and, with `BENCH_CLOCK=cpu`, for criterion.
trait Clock {
    /// Nanoseconds since an arbitrary origin.
    fn now_ns() -> u64;
    /// Shown next to throughputs.
    const NAME: &'static str;
}

struct Wall;

impl Clock for Wall {
    fn now_ns() -> u64 {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
    const NAME: &'static str = "wall";
}

/// CPU time of the calling thread: the first field of `/proc/thread-self/schedstat`
/// (nanoseconds on the CPU). No `unsafe` needed; it is updated at every context switch
/// and scheduler tick, so it can lag by up to a tick (≤4 ms): fine for samples of 100 ms+.
struct Cpu;

impl Clock for Cpu {
    fn now_ns() -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
            .expect("/proc/thread-self/schedstat is readable (Linux with schedstats)")
    }
    const NAME: &'static str = "cpu";
}

/// Criterion measurement on the [`Cpu`] clock; values are nanoseconds, throughput is shown
/// in decimal MB/s or GB/s of CPU time.
struct CpuTime;

struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e-3, "µs")
        } else if typical < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        for v in values {
            *v *= factor;
        }
        unit
    }

    fn scale_throughputs(&self, typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        let per = match *throughput {
            Throughput::Bytes(n) | Throughput::BytesDecimal(n) | Throughput::Elements(n) | Throughput::Bits(n) => {
                n as f64
            }
        };
        let (div, unit) = if per * 1e9 / typical >= 1e9 { (1e9, "GB/s (cpu)") } else { (1e6, "MB/s (cpu)") };
        for v in values {
            *v = per * 1e9 / *v / div;
        }
        unit
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        Cpu::now_ns()
    }
    fn end(&self, start: u64) -> u64 {
        Cpu::now_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

fn scan_count(scanner: &Scanner, buf: &[u8], findings: &mut Vec<Finding>) -> usize {
    findings.clear();
    scanner.scan(&ScanInput::whole(buf), findings);
    findings.len()
}

/// The candidate kernel alone (`kernel::for_each_chain`), without the per-chain work.
fn count_chains(buf: &[u8]) -> usize {
    let mut n = 0;
    kernel::for_each_chain(buf, 0..buf.len(), |_| n += 1);
    n
}

/// The fast candidate kernel alone (`kernel::for_each_candidate_chain_with`): the chains
/// the engine looks at, found with SIMD classification (or the scalar walk).
fn count_candidates(k: Kernel, buf: &[u8]) -> usize {
    let mut n = 0;
    kernel::for_each_candidate_chain_with(k, buf, 0..buf.len(), |_| n += 1);
    n
}

/// Best-of-5 interleaved timings of scan, the candidate kernel, the scalar chain walk and
/// memchr, so that all see the same machine load, on clock `C`.
fn ratio_line<C: Clock>(name: &str, scanner: &Scanner, buf: &[u8]) {
    let mut findings = Vec::new();
    let k = Kernel::detect();
    let mut best = [u64::MAX; 4];
    for _ in 0..5 {
        let t = C::now_ns();
        black_box(scan_count(scanner, black_box(buf), &mut findings));
        let t2 = C::now_ns();
        black_box(count_candidates(k, black_box(buf)));
        let t3 = C::now_ns();
        black_box(count_chains(black_box(buf)));
        let t4 = C::now_ns();
        black_box(memchr::memchr(0, black_box(buf)));
        let t5 = C::now_ns();
        for (b, d) in best.iter_mut().zip([t2 - t, t3 - t2, t4 - t3, t5 - t4]) {
            *b = (*b).min(d.max(1));
        }
    }
    let gbs = |ns: u64| buf.len() as f64 / ns as f64;
    println!(
        "summary {name} ({} clock): {:.1} MiB, {} chains, {} looked at; GB/s: scan {:.3}, kernel ({}) {:.3}, \
         scalar chain walk {:.3}, memchr {:.2}; scan/memchr = {:.4}",
        C::NAME,
        buf.len() as f64 / MIB as f64,
        count_chains(buf),
        count_candidates(k, buf),
        gbs(best[0]),
        k.name(),
        gbs(best[1]),
        gbs(best[2]),
        gbs(best[3]),
        best[3] as f64 / best[0] as f64
    );
}

fn bench_input<M: Measurement, C: Clock>(
    c: &mut Criterion<M>,
    name: &str,
    scanner: &Scanner,
    buf: &[u8],
    summary: bool,
) {
    let mut group = c.benchmark_group("scan");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::BytesDecimal(buf.len() as u64));
    let mut findings = Vec::new();
    group.bench_with_input(BenchmarkId::new("pansweep", name), buf, |b, buf| {
        b.iter(|| scan_count(scanner, black_box(buf), &mut findings));
    });
    group.bench_with_input(BenchmarkId::new("chains", name), buf, |b, buf| {
        b.iter(|| count_chains(black_box(buf)));
    });
    for k in Kernel::available().into_iter().filter(|&k| k != Kernel::Scalar) {
        group.bench_with_input(BenchmarkId::new(format!("kernel-{}", k.name()), name), buf, |b, buf| {
            b.iter(|| count_candidates(k, black_box(buf)));
        });
    }
    group.bench_with_input(BenchmarkId::new("memchr", name), buf, |b, buf| {
        b.iter(|| memchr::memchr(0, black_box(buf)));
    });
    group.finish();
    if summary {
        ratio_line::<C>(name, scanner, buf);
    }
}

fn scanner() -> Scanner {
    ScannerBuilder::new(Arc::new(DetectorSet::builtin().expect("builtin detectors load"))).current_year(2026).build()
}

/// Checks that the planted PANs are found (counts only; no PAN is printed).
fn assert_found(name: &str, scanner: &Scanner, buf: &[u8], planted: usize) {
    let mut findings = Vec::new();
    scan_count(scanner, buf, &mut findings);
    let pans = findings.iter().filter(|f| f.class == Class::Pan).count();
    println!("{name}: {} findings ({pans} pan) for {planted} planted", findings.len());
    assert!(pans >= planted, "{name}: only {pans} PAN findings for {planted} planted PANs");
}

/// Criterion's positional filter (if any), so that a filtered run (`cargo bench --bench scan
/// -- random`) neither generates nor checks the other inputs, and whether criterion runs in
/// `--profile-time` mode (then the extra checks and the summary are left out too, so a
/// profiler sees only the benchmark).
struct Args {
    filters: Vec<String>,
    profiling: bool,
}

impl Args {
    fn parse() -> Args {
        const WITH_VALUE: [&str; 14] = [
            "--profile-time",
            "--save-baseline",
            "--baseline",
            "--baseline-lenient",
            "--load-baseline",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--noise-threshold",
            "--confidence-level",
            "--significance-level",
            "--output-format",
            "--color",
        ];
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut filters = Vec::new();
        for (i, a) in args.iter().enumerate() {
            let after_value_flag = i > 0 && WITH_VALUE.contains(&args[i - 1].as_str());
            if !a.starts_with('-') && !after_value_flag {
                filters.push(a.clone());
            }
        }
        Args { filters, profiling: args.iter().any(|a| a.starts_with("--profile-time")) }
    }

    /// Whether any benchmark of group `group` can match the filter.
    fn wants_group(&self, group: &str, ids: &[&str]) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|f| ids.iter().any(|id| format!("{group}/{id}").contains(f.as_str())))
    }

    /// Whether any benchmark of input `name` can match the filter (substring match, as
    /// criterion does by default).
    fn wants(&self, name: &str) -> bool {
        self.filters.is_empty()
            || self.filters.iter().any(|f| {
                ["pansweep", "chains", "kernel-avx512", "kernel-avx2", "kernel-sse2", "kernel-neon", "memchr"]
                    .iter()
                    .any(|b| format!("scan/{b}/{name}").contains(f.as_str()))
            })
    }
}

/// Random base64 lines of 76 characters (MIME style), about `size` bytes.
fn gen_base64(size: usize, rng: &mut Rng) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(size + 80);
    while out.len() < size {
        for _ in 0..76 {
            out.push(ALPHABET[rng.below(64) as usize]);
        }
        out.push(b'\n');
    }
    out
}

/// Plain scan of `buf` in 1 MiB chunks (as the file reader does); returns the findings.
fn scan_chunks(scanner: &Scanner, buf: &[u8], findings: &mut Vec<Finding>) -> usize {
    findings.clear();
    for chunk in buf.chunks(MIB) {
        scanner.scan(&ScanInput::whole(chunk), findings);
    }
    findings.len()
}

/// Plain scan plus embedded decoding of every 1 MiB chunk, scanning the regions handed on,
/// as the file reader does: the plain scan skips whole lines of base64
/// (`embedded::base64_lines`).
fn scan_embedded(scanner: &Scanner, emb: &mut Embedded, buf: &[u8], findings: &mut Vec<Finding>) -> usize {
    findings.clear();
    let mut regions = 0;
    let mut skip = Vec::new();
    for chunk in buf.chunks(MIB) {
        embedded::base64_lines(chunk, &mut skip);
        scanner.scan_outside(&ScanInput::whole(chunk), &skip, findings);
        regions += emb
            .for_each_region(chunk, &mut |r| {
                let mut found = Vec::new();
                scanner.scan(&ScanInput::whole(r.buf), &mut found);
                findings.extend(found.into_iter().filter(|f| r.is_new(&(f.offset..f.offset + f.len))));
            })
            .regions;
    }
    findings.len() + regions
}

fn bench_embedded<M: Measurement, C: Clock>(c: &mut Criterion<M>, scanner: &Scanner, summary: bool) {
    let (log, _) = gen_log(32 * MIB, &mut Rng(4));
    let b64 = gen_base64(32 * MIB, &mut Rng(5));
    let mut emb = Embedded::new(EmbeddedLimits::default());
    let mut findings = Vec::new();
    let mut group = c.benchmark_group("embedded");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::BytesDecimal(log.len() as u64));
    group.bench_function("plain-log", |b| b.iter(|| scan_chunks(scanner, black_box(&log), &mut findings)));
    // The pre-test every text chunk pays (`Embedded::may_contain`), alone, on plain text.
    group.bench_function("pretest-plain-log", |b| {
        b.iter(|| black_box(&log).chunks(MIB).filter(|c| emb.may_contain(c)).count());
    });
    group.throughput(Throughput::BytesDecimal(b64.len() as u64));
    group.bench_function("base64+embedded", |b| {
        b.iter(|| scan_embedded(scanner, &mut emb, black_box(&b64), &mut findings));
    });
    group.finish();
    if summary {
        let mut best = [u64::MAX; 3];
        for _ in 0..3 {
            let t = C::now_ns();
            black_box(scan_chunks(scanner, black_box(&log), &mut findings));
            let t2 = C::now_ns();
            black_box(scan_embedded(scanner, &mut emb, black_box(&b64), &mut findings));
            let t3 = C::now_ns();
            black_box(scan_chunks(scanner, black_box(&b64), &mut findings));
            let t4 = C::now_ns();
            for (b, d) in best.iter_mut().zip([t2 - t, t3 - t2, t4 - t3]) {
                *b = (*b).min(d.max(1));
            }
        }
        let per_byte = |ns: u64, len: usize| ns as f64 / len as f64;
        println!(
            "summary embedded ({} clock): GB/s: plain log scan {:.3}, base64 scan only {:.3}, base64 scan+embedded {:.3}; time per byte base64/plain = {:.2} (issue 4: <= 3)",
            C::NAME,
            log.len() as f64 / best[0] as f64,
            b64.len() as f64 / best[2] as f64,
            b64.len() as f64 / best[1] as f64,
            per_byte(best[1], b64.len()) / per_byte(best[0], log.len()),
        );
    }
}

fn benches<M: Measurement, C: Clock>(c: &mut Criterion<M>) {
    let args = Args::parse();
    let scanner = scanner();
    let run = |c: &mut Criterion<M>, name: &str, buf: &[u8], planted: Option<usize>| {
        if !args.profiling
            && let Some(planted) = planted
        {
            assert_found(name, &scanner, buf, planted);
        }
        bench_input::<M, C>(c, name, &scanner, buf, !args.profiling);
    };

    if args.wants("log") {
        let (log, planted) = gen_log(64 * MIB, &mut Rng(1));
        run(c, "log", &log, Some(planted));
    }
    if args.wants("csv") {
        let (csv, planted) = gen_csv(32 * MIB, &mut Rng(2));
        run(c, "csv", &csv, Some(planted));
    }
    if args.wants("random") {
        let random = gen_random(64 * MIB, &mut Rng(3));
        run(c, "random", &random, None);
    }
    // A file from disk (read into memory once), to compare with a tool run on the same file
    // (`bench/compare.sh --kernel` times `rg` on it).
    if let Ok(path) = std::env::var("BENCH_FILE")
        && args.wants("file")
    {
        let buf = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read BENCH_FILE {path}: {e}"));
        run(c, "file", &buf, None);
    }
    if args.wants_group("embedded", &["plain-log", "pretest-plain-log", "base64+embedded"]) {
        bench_embedded::<M, C>(c, &scanner, !args.profiling);
    }
}

fn main() {
    if std::env::var("BENCH_CLOCK").is_ok_and(|v| v == "cpu") {
        let mut c = Criterion::default().with_measurement(CpuTime).configure_from_args();
        benches::<_, Cpu>(&mut c);
        c.final_summary();
    } else {
        let mut c = Criterion::<WallTime>::default().configure_from_args();
        benches::<_, Wall>(&mut c);
        c.final_summary();
    }
}

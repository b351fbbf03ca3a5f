//! The progress line on stderr (indicatif): files, bytes, findings and the current rate,
//! redrawn at most ten times a second from the writer's tick, hidden when stderr is not a
//! terminal unless `--progress always`.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pansweep::pipeline::Counters;

use super::args::When;

/// A progress line, or nothing.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    last: Instant,
    last_bytes: u64,
    rate: f64,
}

impl Progress {
    pub(crate) fn new(when: When, quiet: bool) -> Progress {
        let show = !quiet
            && match when {
                When::Always => true,
                When::Never => false,
                When::Auto => std::io::stderr().is_terminal(),
            };
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
            bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("valid template"));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { bar, last: Instant::now(), last_bytes: 0, rate: 0.0 }
    }

    pub(crate) fn tick(&mut self, c: &Counters) {
        let Some(bar) = &self.bar else { return };
        let bytes = c.bytes.load(Ordering::Relaxed);
        let dt = self.last.elapsed().as_secs_f64();
        if dt >= 0.5 {
            self.rate = (bytes - self.last_bytes) as f64 / dt;
            self.last = Instant::now();
            self.last_bytes = bytes;
        }
        bar.set_message(format!(
            "{} files · {} · {} findings · {}/s · {} skipped",
            c.files.load(Ordering::Relaxed),
            human(bytes as f64),
            c.findings.load(Ordering::Relaxed),
            human(self.rate),
            c.skipped.load(Ordering::Relaxed),
        ));
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn human(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

//! Progress on stderr: bars on a terminal, plain lines otherwise.
//!
//! * Running actions ([`ProgressView`]): percent, bytes, speed, ETA as the server reports them;
//!   lines: one when an action appears, at every 10 %, at least every 30 s, and when it ends.
//! * Downloads ([`DownloadProgress`]): bytes, speed and ETA measured here; lines: one at the
//!   start, one per 10 % step when the size is known (at most one a second, at least one every
//!   30 s), one every 10 s when it is not (ZIP files), and one at the end.

use crate::output::{human_bytes, human_duration};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use urbackup::ActionProgress;

/// Shows a set of running actions, updated by polling.
pub struct ProgressView {
    multi: Option<MultiProgress>,
    bars: HashMap<(i64, i64), ProgressBar>,
    lines: HashMap<(i64, i64), (Option<u8>, Instant)>,
    labels: HashMap<(i64, i64), String>,
    report_end: bool,
}

/// The label of an action: `alpha: incremental file backup`.
pub fn label(a: &ActionProgress) -> String {
    let who = if a.name.is_empty() {
        "server"
    } else {
        a.name.as_str()
    };
    if a.details.is_empty() || a.details == "0" {
        format!("{who}: {}", a.action)
    } else {
        format!("{who}: {} ({})", a.action, a.details)
    }
}

/// `1.2 GiB of 3.0 GiB, 15.0 MiB/s, ETA 2m`.
pub fn detail(a: &ActionProgress) -> String {
    let mut parts = Vec::new();
    if a.total_bytes > 0 {
        parts.push(format!(
            "{} of {}",
            human_bytes(a.done_bytes.max(0) as u64),
            human_bytes(a.total_bytes as u64)
        ));
    } else if a.done_bytes > 0 {
        parts.push(human_bytes(a.done_bytes as u64));
    }
    if a.speed_bpms > 0.0 {
        parts.push(format!("{}/s", human_bytes((a.speed_bpms * 1000.0) as u64)));
    }
    if a.eta_under_a_minute() {
        parts.push("ETA <1m".into());
    } else if let Some(eta) = a.eta() {
        parts.push(format!("ETA {}", human_duration(eta.as_secs() as i64)));
    }
    if a.paused {
        parts.push("paused".into());
    }
    parts.join(", ")
}

/// True when `now` is known and in another tenth than `last` (or `last` was unknown): the
/// first known percentage and every 10 % step deserve a line.
fn new_tenth(last: Option<u8>, now: Option<u8>) -> bool {
    match now {
        None => false,
        Some(p) => last.map(|l| l / 10) != Some(p / 10),
    }
}

impl ProgressView {
    /// Bars when `tty`, lines otherwise; `report_end`: print a line when an action ends.
    pub fn new(tty: bool, report_end: bool) -> ProgressView {
        ProgressView {
            multi: tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            bars: HashMap::new(),
            lines: HashMap::new(),
            labels: HashMap::new(),
            report_end,
        }
    }

    /// Prints a line above the bars (or on stderr).
    pub fn println(&self, line: &str) {
        match &self.multi {
            // Above the bars; without bars, indicatif would leave the cursor on that line.
            Some(m) if !self.bars.is_empty() => {
                let _ = m.println(line);
            }
            _ => eprintln!("{line}"),
        }
    }

    /// Shows these actions; actions shown before and missing now are reported as ended.
    pub fn update(&mut self, actions: &[&ActionProgress]) {
        let now = Instant::now();
        let current: Vec<(i64, i64)> = actions.iter().map(|a| (a.clientid, a.id)).collect();
        let gone: Vec<(i64, i64)> = self
            .labels
            .keys()
            .filter(|k| !current.contains(k))
            .copied()
            .collect();
        for k in gone {
            self.end(k);
        }
        for a in actions {
            let key = (a.clientid, a.id);
            let pc = a.percent();
            self.labels.insert(key, label(a));
            match &self.multi {
                Some(m) => {
                    let bar = self.bars.entry(key).or_insert_with(|| {
                        let b = m.add(ProgressBar::new(100));
                        b.set_style(
                            ProgressStyle::with_template(
                                "{prefix} [{bar:20.cyan/blue}] {percent:>3}% {wide_msg}",
                            )
                            .unwrap_or_else(|_| ProgressStyle::default_bar())
                            .progress_chars("=> "),
                        );
                        b.enable_steady_tick(Duration::from_millis(200));
                        b
                    });
                    bar.set_prefix(label(a));
                    bar.set_position(pc.map_or(0, u64::from));
                    bar.set_message(match pc {
                        None => format!("indexing {}", detail(a)),
                        Some(_) => detail(a),
                    });
                }
                None => {
                    let print = match self.lines.get(&key) {
                        None => true,
                        Some((last_pc, at)) => {
                            new_tenth(*last_pc, pc)
                                || now.duration_since(*at) >= Duration::from_secs(30)
                        }
                    };
                    if print {
                        let pct = match pc {
                            None => "starting".to_owned(),
                            Some(pc) => format!("{pc}%"),
                        };
                        let d = detail(a);
                        if d.is_empty() {
                            eprintln!("{} {pct}", label(a));
                        } else {
                            eprintln!("{} {pct} ({d})", label(a));
                        }
                        self.lines.insert(key, (pc, now));
                    }
                }
            }
        }
    }

    fn end(&mut self, key: (i64, i64)) {
        let label = self.labels.remove(&key).unwrap_or_default();
        self.lines.remove(&key);
        match self.bars.remove(&key) {
            Some(bar) => {
                bar.finish_and_clear();
                if let Some(m) = &self.multi {
                    m.remove(&bar);
                    if self.bars.is_empty() {
                        let _ = m.clear();
                    }
                }
                if self.report_end {
                    self.println(&format!("{label}: ended"));
                }
            }
            None if self.report_end => eprintln!("{label}: ended"),
            None => {}
        }
    }

    /// Ends every bar.
    pub fn finish(&mut self) {
        let keys: Vec<(i64, i64)> = self.labels.keys().copied().collect();
        for k in keys {
            self.end(k);
        }
    }
}

/// Shortest time between two download lines (off a terminal).
const LINE_MIN_GAP: Duration = Duration::from_secs(1);
/// A download line at least this often when the size is known...
const LINE_HEARTBEAT_SIZED: Duration = Duration::from_secs(30);
/// ...and this often when it is not.
const LINE_HEARTBEAT_UNSIZED: Duration = Duration::from_secs(10);

/// Progress of one download on stderr, fed by the library's `(bytes_done, total)` callback:
/// on a terminal a bar (bytes, speed, ETA; a byte counter and speed when the size is unknown),
/// otherwise throttled lines (see the module documentation).
pub struct DownloadProgress {
    label: String,
    started: Instant,
    bar: Option<ProgressBar>,
    /// The bar's style matches a known size (`Some(true)`), an unknown one, or neither yet.
    sized: Option<bool>,
    lines: Option<LineThrottle>,
}

impl DownloadProgress {
    /// Starts showing the download `label` (the path); off a terminal, `intro` is printed as
    /// the first line.
    pub fn new(tty: bool, label: &str, intro: &str) -> DownloadProgress {
        let started = Instant::now();
        let bar = tty.then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.set_message(label.to_owned());
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        if !tty {
            eprintln!("{intro}");
        }
        DownloadProgress {
            label: label.to_owned(),
            started,
            bar,
            sized: None,
            lines: (!tty).then(|| LineThrottle::new(started)),
        }
    }

    /// The library's progress callback: `done` bytes of `total` (if known).
    pub fn update(&mut self, done: u64, total: Option<u64>) {
        if let Some(bar) = &self.bar {
            if self.sized != Some(total.is_some()) {
                let template = if total.is_some() {
                    "[{bar:25.cyan/blue}] {percent:>3}% {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}"
                } else {
                    "{spinner} {binary_bytes} {binary_bytes_per_sec} {elapsed} {wide_msg}"
                };
                bar.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                self.sized = Some(total.is_some());
            }
            if let Some(t) = total {
                bar.set_length(t);
            }
            bar.set_position(done);
        }
        if let Some(lines) = &mut self.lines {
            let now = Instant::now();
            if lines.due(done, total, now) {
                eprintln!(
                    "{}",
                    download_line(&self.label, done, total, now - self.started)
                );
            }
        }
    }

    /// The download is complete: clears the bar, or prints the last line.
    pub fn finish(self, bytes: u64) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln!(
                "{}",
                download_done_line(&self.label, bytes, self.started.elapsed())
            ),
        }
    }

    /// The download failed: clears the bar (the error is printed by the caller).
    pub fn abandon(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// When a plain download line is due.
struct LineThrottle {
    last_at: Instant,
    last_tenth: u64,
}

impl LineThrottle {
    fn new(started: Instant) -> LineThrottle {
        LineThrottle {
            last_at: started,
            last_tenth: 0,
        }
    }

    /// True when a line is due for `done` of `total` at `now` (and then counts it printed).
    fn due(&mut self, done: u64, total: Option<u64>, now: Instant) -> bool {
        let since = now.saturating_duration_since(self.last_at);
        let tenth = total.filter(|t| *t > 0).map(|t| done.min(t) * 10 / t);
        let due = match tenth {
            Some(tenth) => {
                (tenth != self.last_tenth && since >= LINE_MIN_GAP) || since >= LINE_HEARTBEAT_SIZED
            }
            None => since >= LINE_HEARTBEAT_UNSIZED,
        };
        if due {
            self.last_at = now;
            self.last_tenth = tenth.unwrap_or(self.last_tenth);
        }
        due
    }
}

/// The average speed of `done` bytes in `elapsed`, bytes per second (`None` before any).
fn average_speed(done: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (done > 0 && secs > 0.0).then(|| done as f64 / secs)
}

/// `report.xlsx: 40% (1.2 MiB of 3.0 MiB, 15.0 MiB/s, ETA 2m)`, or without a known size
/// `ann: 12.0 MiB (3.1 MiB/s)`.
fn download_line(label: &str, done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let speed = average_speed(done, elapsed);
    let speed_text = speed.map(|s| format!("{}/s", human_bytes(s as u64)));
    match total.filter(|t| *t > 0) {
        Some(t) => {
            let mut parts = vec![format!("{} of {}", human_bytes(done), human_bytes(t))];
            parts.extend(speed_text);
            if let Some(s) = speed.filter(|_| t > done) {
                let left = ((t - done) as f64 / s).ceil() as i64;
                parts.push(format!("ETA {}", human_duration(left)));
            }
            format!("{label}: {}% ({})", done.min(t) * 100 / t, parts.join(", "))
        }
        None => match speed_text {
            Some(sp) => format!("{label}: {} ({sp})", human_bytes(done)),
            None => format!("{label}: {}", human_bytes(done)),
        },
    }
}

/// `report.xlsx: done, 3.0 MiB in 2.1s (1.4 MiB/s)`.
fn download_done_line(label: &str, bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let took = if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        human_duration(secs as i64)
    };
    match average_speed(bytes, elapsed) {
        Some(s) => format!(
            "{label}: done, {} in {took} ({}/s)",
            human_bytes(bytes),
            human_bytes(s as u64)
        ),
        None => format!("{label}: done, {} in {took}", human_bytes(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(v: serde_json::Value) -> ActionProgress {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn details_use_the_library_reading_of_eta_and_percent() {
        let a = action(serde_json::json!({
            "clientid": 1, "id": 2, "name": "alpha", "action": 1, "pcdone": 40,
            "total_bytes": 3 * 1024 * 1024, "done_bytes": 1024 * 1024,
            "speed_bpms": 1024.0, "eta_ms": 61_000
        }));
        assert_eq!(detail(&a), "1.0 MiB of 3.0 MiB, 1000 KiB/s, ETA <1m");
        assert_eq!(a.percent(), Some(40));
        let a = action(serde_json::json!({"eta_ms": 130_000, "pcdone": -1}));
        assert_eq!(detail(&a), "ETA 2m 10s");
        assert_eq!(a.percent(), None);
        let a = action(serde_json::json!({"eta_ms": 0}));
        assert_eq!(detail(&a), "");
    }

    #[test]
    fn a_line_per_tenth() {
        assert!(!new_tenth(None, None));
        assert!(new_tenth(None, Some(5)), "the first known percentage");
        assert!(!new_tenth(Some(5), Some(9)));
        assert!(new_tenth(Some(9), Some(10)));
        assert!(!new_tenth(Some(10), None));
        assert!(new_tenth(Some(90), Some(100)));
    }

    #[test]
    fn download_lines_are_throttled() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut th = LineThrottle::new(t0);
        let total = Some(1000);
        // 10 % steps within the first second: nothing yet.
        assert!(!th.due(150, total, at(200)));
        assert!(!th.due(450, total, at(900)));
        // After a second, the step shows; the next one waits for another second.
        assert!(th.due(500, total, at(1000)));
        assert!(!th.due(700, total, at(1500)));
        assert!(th.due(700, total, at(2000)));
        // Same tenth: no line until the heartbeat.
        assert!(!th.due(750, total, at(20_000)));
        assert!(th.due(760, total, at(32_000)));
        // Unknown size: every 10 s only.
        let mut th = LineThrottle::new(t0);
        assert!(!th.due(1 << 20, None, at(5_000)));
        assert!(!th.due(2 << 20, None, at(9_999)));
        assert!(th.due(3 << 20, None, at(10_000)));
        assert!(!th.due(4 << 20, None, at(15_000)));
        assert!(th.due(5 << 20, None, at(20_000)));
    }

    #[test]
    fn download_line_texts() {
        let mib = 1024 * 1024;
        assert_eq!(
            download_line("a/b.bin", 2 * mib, Some(8 * mib), Duration::from_secs(2)),
            "a/b.bin: 25% (2.0 MiB of 8.0 MiB, 1.0 MiB/s, ETA 6s)"
        );
        assert_eq!(
            download_line("a", 3 * mib, None, Duration::from_secs(3)),
            "a: 3.0 MiB (1.0 MiB/s)"
        );
        assert_eq!(download_line("a", 0, None, Duration::ZERO), "a: 0 B");
        assert_eq!(
            download_line("a", 0, Some(10), Duration::ZERO),
            "a: 0% (0 B of 10 B)"
        );
        assert_eq!(
            download_done_line("a", 3 * mib, Duration::from_millis(1500)),
            "a: done, 3.0 MiB in 1.5s (2.0 MiB/s)"
        );
        assert_eq!(
            download_done_line("a", 10 * mib, Duration::from_secs(125)),
            "a: done, 10.0 MiB in 2m 5s (81.9 KiB/s)"
        );
    }
}

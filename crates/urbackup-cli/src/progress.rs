//! Progress of running actions on stderr: bars (percent, bytes, speed, ETA) on a terminal,
//! plain lines otherwise (one when an action appears, at every 10 %, at least every 30 s, and
//! when it ends).

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
}

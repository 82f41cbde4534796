//! This repository's Python package (`python/`, import name `urbackup`) as a contender beside
//! python-urbackup (issue 13).
//!
//! It has the same interface as python-urbackup, so it runs python-urbackup's own peer
//! scripts (`bench/peers/python-urbackup_{warm,oneshot}.py`) unchanged, with the Python of a
//! second venv holding our wheel instead of python-urbackup (`bench/run.sh` builds it; the two
//! packages cannot share a venv, both are `import urbackup`). The same run also measures the
//! interpreter's start-up (`python -c pass`, same interpreter) for the goal: the package's
//! one-shot may be slower than the Rust CLI by at most that start-up, i.e. its ratio over
//! python-urbackup no worse than the CLI's by more than the interpreter's start-up.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Result};

use crate::procs::run_measured;
use crate::stats::{mad_pct, median};

/// The contender's name in the tables.
pub const NAME: &str = "urbackup-rs (python)";
/// The peer whose scripts it runs and against which its ratios are taken.
pub const PEER: &str = "python-urbackup";

/// Measurements of this part: (latency ms, median start-up ms, runs, MAD %).
#[derive(Default)]
pub struct Rows {
    pub startup: Vec<(u64, f64, usize, f64)>,
}

/// `python bench/peers/python-urbackup_<mode>.py URL USER` with our package's interpreter.
pub fn command(python: &Path, peers_dir: &Path, mode: &str, url: &str, user: &str) -> Command {
    let mut c = Command::new(python);
    c.arg(peers_dir.join(format!("{PEER}_{mode}.py")))
        .args([url, user]);
    c
}

/// Median wall time of `python -c pass` over `runs` runs (ms), with `env` applied.
pub fn startup(
    python: &PathBuf,
    runs: usize,
    latency: u64,
    env: impl Fn(&mut Command),
    rows: &mut Rows,
) -> Result<()> {
    let mut walls = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut c = Command::new(python);
        c.args(["-c", "pass"]);
        env(&mut c);
        let m = run_measured(&mut c, Stdio::null())?;
        if !m.status.success() {
            bail!("{python:?} -c pass exited with {}", m.status);
        }
        walls.push(m.wall.as_secs_f64() * 1000.0);
    }
    let m = median(&walls);
    println!(
        "  latency {latency:>2} ms  {:<34} {m:>10.1} ms  (n={runs}, MAD {:.1}%)",
        "python start-up (python -c pass)",
        mad_pct(&walls)
    );
    rows.startup.push((latency, m, runs, mad_pct(&walls)));
    Ok(())
}

/// Ratios (`NAME VALUE`) and goals of this contender, from the warm and one-shot medians of
/// the run (`warm(size, who)` in µs, `oneshot(latency, who)` in ms).
#[allow(clippy::type_complexity)]
pub fn ratios_and_goals(
    rows: &Rows,
    warm: impl Fn(usize, &str) -> Option<f64>,
    oneshot: impl Fn(u64, &str) -> Option<f64>,
    latencies: &[u64],
) -> (Vec<(String, f64)>, Vec<(String, bool, String)>) {
    let mut ratios = Vec::new();
    let mut goals = Vec::new();
    for size in [10usize, 1000, 10000] {
        if let (Some(pkg), Some(peer)) = (warm(size, NAME), warm(size, PEER)) {
            ratios.push((format!("warm_{size}_python_pkg_vs_{PEER}"), peer / pkg));
            if let Some(lib) = warm(size, "ours") {
                ratios.push((format!("warm_{size}_python_pkg_vs_ours"), lib / pkg));
            }
        }
    }
    for &latency in latencies {
        let tag = if latency == 0 {
            String::new()
        } else {
            format!("_lat{latency}")
        };
        let (Some(pkg), Some(peer), Some(cli)) = (
            oneshot(latency, NAME),
            oneshot(latency, PEER),
            oneshot(latency, "ours"),
        ) else {
            continue;
        };
        ratios.push((format!("oneshot{tag}_python_pkg_vs_{PEER}"), peer / pkg));
        let Some(&(_, start, _, _)) = rows.startup.iter().find(|r| r.0 == latency) else {
            continue;
        };
        goals.push((
            format!(
                "python package one-shot: ratio over {PEER} no worse than the CLI's by more than the interpreter's start-up (latency {latency} ms)"
            ),
            pkg <= cli + start,
            format!(
                "package {pkg:.1} ms ({:.1}x {PEER}), CLI {cli:.1} ms ({:.1}x); package - CLI = {:.1} ms vs start-up {start:.1} ms",
                peer / pkg,
                peer / cli,
                pkg - cli
            ),
        ));
    }
    (ratios, goals)
}

/// The BENCHMARKS-style section of `last.md`.
pub fn markdown(
    rows: &Rows,
    warm: impl Fn(usize, &str) -> Option<f64>,
    oneshot: impl Fn(u64, &str) -> Option<f64>,
    latencies: &[u64],
    fmt_us: impl Fn(f64) -> String,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n### Python package (`python/`, {NAME}) beside {PEER}\n\n\
         The same peer scripts (`bench/peers/{PEER}_*.py`), run by the Python of a venv holding our wheel.\n"
    );
    let _ = writeln!(
        s,
        "| warm, clients | ours (Rust library) | {NAME} | {PEER} | {PEER} / package |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|");
    for size in [10usize, 1000, 10000] {
        let cell = |who: &str| warm(size, who).map_or("–".into(), &fmt_us);
        let rel = match (warm(size, NAME), warm(size, PEER)) {
            (Some(p), Some(q)) => format!("{:.1}x", q / p),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {size} | {} | {} | {} | {rel} |",
            cell("ours"),
            cell(NAME),
            cell(PEER)
        );
    }
    let _ = writeln!(
        s,
        "\n| one-shot, latency | CLI | {NAME} | {PEER} | python start-up | CLI ratio | package ratio |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for &latency in latencies {
        let cell = |who: &str| oneshot(latency, who).map_or("–".into(), |m| format!("{m:.1} ms"));
        let start = rows
            .startup
            .iter()
            .find(|r| r.0 == latency)
            .map_or("–".into(), |r| format!("{:.1} ms", r.1));
        let ratio = |who: &str| match (oneshot(latency, who), oneshot(latency, PEER)) {
            (Some(a), Some(p)) => format!("{:.1}x", p / a),
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {latency} ms | {} | {} | {} | {start} | {} | {} |",
            cell("ours"),
            cell(NAME),
            cell(PEER),
            ratio("ours"),
            ratio(NAME)
        );
    }
    s
}

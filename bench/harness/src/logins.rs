//! Part 8: a login storm against the console (issue 27). The console serves one simulated
//! server (100 clients); 400 logins with wrong passwords are sent at once from 400 loopback
//! addresses (127.0.x.y, each connection bound to its own source address, every request head
//! sent beforehand so that only the last byte is held back until all are ready), while a
//! logged-in user loads the overview every 20 ms. Measured: the console's RSS before the
//! storm and its peak (VmHWM) after, the page times during the storm, and how the 400 were
//! answered.
//!
//! Goals: the peak RSS grows by less than 200 MiB, and the page stays under 500 ms (the
//! slowest page during the storm).
//!
//! "Before" figures come from the same part run against an older `urbackup` binary: put it
//! in a folder with this build's `urbackup-bench` and `urbackup-sim` and pass that folder as
//! `--bin-dir` (BENCHMARKS.md says which commit).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::console::{csrf, http, launch, set_cookie};
use crate::scrape::vm_hwm;
use crate::stats::median;

/// Logins sent at once.
pub const STORM: usize = 400;

/// What part 8 measured.
pub struct LoginsResult {
    pub rss_before: u64,
    pub rss_peak: u64,
    /// Page times during the storm (ms).
    pub page_median_ms: f64,
    pub page_max_ms: f64,
    pub pages: usize,
    /// Answers to the storm by status.
    pub answers: Vec<(u16, usize)>,
    /// From the last byte sent to the last answer.
    pub storm_s: f64,
}

impl LoginsResult {
    fn growth_mib(&self) -> f64 {
        self.rss_peak.saturating_sub(self.rss_before) as f64 / 1048576.0
    }

    pub fn ratios(&self) -> Vec<(String, f64)> {
        vec![
            (
                format!("console_login_storm_{STORM}_rss_growth_vs_200mib_goal"),
                200.0 / self.growth_mib().max(0.1),
            ),
            (
                format!("console_login_storm_{STORM}_page_max_vs_500ms_goal"),
                500.0 / self.page_max_ms.max(0.1),
            ),
        ]
    }

    pub fn goals(&self) -> Vec<(String, bool, String)> {
        vec![
            (
                format!("console RSS grows by less than 200 MiB under {STORM} logins at once"),
                self.growth_mib() < 200.0,
                format!(
                    "+{:.1} MiB ({:.1} -> {:.1} MiB)",
                    self.growth_mib(),
                    self.rss_before as f64 / 1048576.0,
                    self.rss_peak as f64 / 1048576.0
                ),
            ),
            (
                format!("a logged-in page under 500 ms during {STORM} logins at once"),
                self.page_max_ms < 500.0,
                format!(
                    "slowest {:.1} ms, median {:.1} ms ({} pages)",
                    self.page_max_ms, self.page_median_ms, self.pages
                ),
            ),
        ]
    }

    fn answers_text(&self) -> String {
        self.answers
            .iter()
            .map(|(s, n)| format!("{n} x {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn markdown(&self) -> String {
        format!(
            "### 8. Console: {STORM} logins at once from {STORM} addresses\n\n\
             | RSS before | peak RSS | growth | page during the storm (median / slowest) | pages | answers | storm |\n\
             |---|---|---|---|---|---|---|\n\
             | {:.1} MiB | {:.1} MiB | +{:.1} MiB | {:.1} / {:.1} ms | {} | {} | {:.1} s |\n",
            self.rss_before as f64 / 1048576.0,
            self.rss_peak as f64 / 1048576.0,
            self.growth_mib(),
            self.page_median_ms,
            self.page_max_ms,
            self.pages,
            self.answers_text(),
            self.storm_s,
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "logins": STORM, "rss_before": self.rss_before, "rss_peak": self.rss_peak,
            "page_median_ms": self.page_median_ms, "page_max_ms": self.page_max_ms,
            "pages": self.pages,
            "answers": self.answers.iter().map(|(s, n)| json!({"status": s, "count": n})).collect::<Vec<_>>(),
            "storm_s": self.storm_s,
        })
    }
}

fn vm_rss(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| anyhow!("no VmRSS"))
}

/// One storm login, connected from `from` with its whole request but the last byte sent.
async fn prepared(
    to: SocketAddr,
    from: std::net::IpAddr,
    i: usize,
) -> Result<(tokio::net::TcpStream, u8)> {
    let addr = to.to_string();
    // The login form, from the same address.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let mut s = socket.connect(to).await?;
    s.write_all(
        format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no head"))?;
    let cookie = set_cookie(head, "urbackup_console_login")
        .ok_or_else(|| anyhow!("no login cookie: {head}"))?;
    let token = csrf(body).ok_or_else(|| anyhow!("no token"))?;
    let form = format!("username=bench&password=storm-guess-{i}&csrf={token}&next=%2F");
    let req = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let mut s = socket.connect(to).await?;
    let mut bytes = req.into_bytes();
    let last = bytes.pop().unwrap_or(b'/');
    s.write_all(&bytes).await?;
    Ok((s, last))
}

/// Runs part 8.
pub fn run(
    urbackup: &Path,
    bench: &Path,
    out: &Path,
    log: impl Fn(&str) -> Stdio,
    env: impl Fn(&mut Command),
) -> Result<LoginsResult> {
    let l = launch(urbackup, bench, &out.join("logins"), (1, 100), 10, log, env)?;
    let to: SocketAddr = l.addr.parse()?;
    // Settled: a few pages first.
    for _ in 0..20 {
        http(&l.addr, "GET", "/", &l.cookie, "")?;
    }
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = vm_rss(l.pid)?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let ready: Vec<_> = rt.block_on(async {
        let mut v = Vec::with_capacity(STORM);
        for i in 0..STORM {
            let from = std::net::IpAddr::from([127, 1, (i / 200) as u8, (i % 200) as u8 + 1]);
            v.push(prepared(to, from, i).await);
        }
        v.into_iter().collect::<Result<Vec<_>>>()
    })?;

    // The logged-in user loads the overview while the storm runs.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, addr, cookie) = (stop.clone(), l.addr.clone(), l.cookie.clone());
        std::thread::spawn(move || {
            let mut times = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if let Ok((head, _)) = http(&addr, "GET", "/", &cookie, "") {
                    if head.starts_with("HTTP/1.1 200") {
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            times
        })
    };
    std::thread::sleep(Duration::from_millis(100));
    let t0 = Instant::now();
    let statuses: Vec<u16> = rt.block_on(async {
        let tasks: Vec<_> = ready
            .into_iter()
            .map(|(mut s, last)| {
                tokio::spawn(async move {
                    if s.write_all(&[last]).await.is_err() {
                        return 0u16;
                    }
                    let mut raw = Vec::new();
                    let _ = tokio::time::timeout(Duration::from_secs(300), s.read_to_end(&mut raw))
                        .await;
                    String::from_utf8_lossy(&raw)
                        .split(' ')
                        .nth(1)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0)
                })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap_or(0));
        }
        out
    });
    let storm_s = t0.elapsed().as_secs_f64();
    // The page keeps being timed a little after the last answer (the hashing may still run).
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let times = watcher
        .join()
        .map_err(|_| anyhow!("the page watcher panicked"))?;
    let rss_peak = vm_hwm(l.pid)?;
    let mut answers: Vec<(u16, usize)> = Vec::new();
    for s in statuses {
        match answers.iter_mut().find(|(c, _)| *c == s) {
            Some((_, n)) => *n += 1,
            None => answers.push((s, 1)),
        }
    }
    answers.sort();
    drop(l);
    Ok(LoginsResult {
        rss_before,
        rss_peak,
        page_median_ms: if times.is_empty() {
            0.0
        } else {
            median(&times)
        },
        page_max_ms: times.iter().cloned().fold(0.0, f64::max),
        pages: times.len(),
        answers,
        storm_s,
    })
}

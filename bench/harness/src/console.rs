//! Part 7: the web console over a fleet of simulated servers (100 servers × 1,000 clients in a
//! full run). Starts `urbackup-bench fleet-sim`, adds a console user, starts `urbackup
//! --all-profiles console` (poll interval 10 s), logs in over HTTP, waits until every server
//! is read and the first backup lists are in, then measures:
//!
//! * the overview (`GET /`) served from the snapshot: median time over `rounds` requests and
//!   the size of its HTML (no compression asked);
//! * the console's peak RSS (VmHWM) after all that;
//! * the requests the simulators receive per poll interval, over ten intervals with no
//!   browser, then over ten intervals while 8 "browsers" load pages without pause.
//!
//! Goals: overview under 300 ms, HTML under 500 KB, RSS under 200 MB, the same requests per
//! interval with and without browsers.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::scrape::{command, dechunk, vm_hwm, Child, FleetSim};
use crate::stats::{mad_pct, median};

/// The console's poll interval in this part.
const INTERVAL_S: u64 = 10;
/// Concurrent page loaders in the busy window.
const BROWSERS: usize = 8;

/// What part 7 measured.
pub struct ConsoleResult {
    pub servers: usize,
    pub clients: usize,
    pub median_ms: f64,
    pub mad_pct: f64,
    pub rounds: usize,
    pub html_bytes: usize,
    pub rss_bytes: u64,
    /// Requests to all servers per poll interval with no browser.
    pub idle_per_interval: f64,
    /// The same while `BROWSERS` loaders requested pages.
    pub busy_per_interval: f64,
    /// Pages served during the busy window.
    pub busy_pages: u64,
    /// Seconds from the start to every server read and the first backup lists and error logs
    /// in.
    pub warmup_s: f64,
}

impl ConsoleResult {
    pub fn ratios(&self) -> Vec<(String, f64)> {
        let tag = format!("{}x{}", self.servers, self.clients);
        vec![
            (
                format!("console_overview_{tag}_vs_300ms_goal"),
                300.0 / self.median_ms,
            ),
            (
                format!("console_overview_{tag}_html_vs_500kb_goal"),
                500.0 * 1000.0 / self.html_bytes as f64,
            ),
            (
                format!("console_{tag}_rss_vs_200mb_goal"),
                200.0 * 1024.0 * 1024.0 / self.rss_bytes as f64,
            ),
            (
                format!("console_{tag}_requests_busy_vs_idle"),
                self.busy_per_interval / self.idle_per_interval.max(1.0),
            ),
        ]
    }

    pub fn goals(&self) -> Vec<(String, bool, String)> {
        vec![
            (
                format!(
                    "console overview of {} servers x {} clients under 300 ms",
                    self.servers, self.clients
                ),
                self.median_ms < 300.0,
                format!("{:.1} ms", self.median_ms),
            ),
            (
                "console overview HTML under 500 KB".into(),
                self.html_bytes < 500 * 1000,
                format!("{:.0} KB", self.html_bytes as f64 / 1000.0),
            ),
            (
                "console RSS under 200 MB".into(),
                self.rss_bytes < 200 * 1024 * 1024,
                format!("{:.1} MiB", self.rss_bytes as f64 / 1048576.0),
            ),
            (
                format!(
                    "console requests per poll interval independent of browsers ({BROWSERS} busy)"
                ),
                (self.busy_per_interval - self.idle_per_interval).abs()
                    <= self.idle_per_interval * 0.05 + 5.0,
                format!(
                    "{:.0} idle, {:.0} busy",
                    self.idle_per_interval, self.busy_per_interval
                ),
            ),
        ]
    }

    pub fn markdown(&self) -> String {
        format!(
            "### 7. Console: `urbackup --all-profiles console` ({} servers x {} clients, poll every {INTERVAL_S} s)\n\n\
             | overview (median) | MAD | rounds | overview HTML | console peak RSS | requests per interval, no browser | with {BROWSERS} browsers ({} pages) | warm-up |\n\
             |---|---|---|---|---|---|---|---|\n\
             | {:.1} ms | {:.1}% | {} | {:.0} KB | {:.1} MiB | {:.0} | {:.0} | {:.0} s |\n",
            self.servers,
            self.clients,
            self.busy_pages,
            self.median_ms,
            self.mad_pct,
            self.rounds,
            self.html_bytes as f64 / 1000.0,
            self.rss_bytes as f64 / 1048576.0,
            self.idle_per_interval,
            self.busy_per_interval,
            self.warmup_s,
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "servers": self.servers, "clients": self.clients, "median_ms": self.median_ms,
            "mad_pct": self.mad_pct, "rounds": self.rounds, "html_bytes": self.html_bytes,
            "rss_bytes": self.rss_bytes, "idle_per_interval": self.idle_per_interval,
            "busy_per_interval": self.busy_per_interval, "busy_pages": self.busy_pages,
            "browsers": BROWSERS, "interval_s": INTERVAL_S, "warmup_s": self.warmup_s,
        })
    }
}

/// One HTTP/1.1 request on a fresh connection: (head, body).
pub fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookie: &str,
    form: &str,
) -> Result<(String, String)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n"
    );
    if method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            form.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(form);
    s.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8(buf)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP head"))?;
    Ok((head.to_owned(), dechunk(head, body)))
}

pub fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

pub fn csrf(body: &str) -> Option<String> {
    let at = body.find("name=\"csrf\" value=\"")? + 19;
    let rest = &body[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Logs in; returns the session cookie.
pub(crate) fn login(addr: &str, user: &str, password: &str) -> Result<String> {
    let (head, body) = http(addr, "GET", "/login", "", "")?;
    let pre =
        set_cookie(&head, "urbackup_console_login").ok_or_else(|| anyhow!("no login cookie"))?;
    let token = csrf(&body).ok_or_else(|| anyhow!("no login token"))?;
    let form = format!("username={user}&password={password}&csrf={token}&next=%2F");
    let (head, _) = http(addr, "POST", "/login", &pre, &form)?;
    set_cookie(&head, "urbackup_console").ok_or_else(|| anyhow!("login refused: {head}"))
}

/// Requests to every server over `n` poll intervals, per interval.
fn per_interval(sim_in: &mut impl Write, sim_out: &mut impl BufRead, n: u64) -> Result<f64> {
    command(sim_in, sim_out, "reset")?;
    std::thread::sleep(Duration::from_secs(INTERVAL_S * n));
    let total: u64 = command(sim_in, sim_out, "total")?.parse()?;
    Ok(total as f64 / n as f64)
}

/// A console over a fleet-sim, started for a part: the simulators, the console process, its
/// address and a logged-in viewer's cookie.
pub struct Launched {
    pub sim: FleetSim,
    pub console: Child,
    pub pid: u32,
    pub addr: String,
    pub cookie: String,
}

/// Starts `urbackup-bench fleet-sim` with `servers` x `clients`, adds the console user `bench`
/// (viewer), starts `urbackup --all-profiles console` polling every `interval_s` and logs in.
pub fn launch(
    urbackup: &Path,
    bench: &Path,
    dir: &Path,
    (servers, clients): (usize, usize),
    interval_s: u64,
    log: impl Fn(&str) -> Stdio,
    env: impl Fn(&mut Command),
) -> Result<Launched> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let sim = FleetSim::start(
        bench,
        dir,
        (servers, clients),
        log("console-fleet-sim"),
        &env,
    )?;
    let db = dir.join("console.sqlite3");
    let mut add = Command::new(urbackup);
    add.args([
        "console",
        "user",
        "add",
        "bench",
        "--role",
        "viewer",
        "--password-stdin",
        "--db",
    ])
    .arg(&db)
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(log("console-user-add"));
    env(&mut add);
    let mut add = add.spawn()?;
    add.stdin
        .take()
        .expect("piped")
        .write_all(b"bench-password\n")?;
    if !add.wait()?.success() {
        bail!("console user add failed");
    }
    let config = dir.join(format!("fleet-{servers}.toml"));
    let mut c = Command::new(urbackup);
    c.arg("--config")
        .arg(&config)
        .args(["--all-profiles", "console", "--listen", "127.0.0.1:0"])
        .args(["--interval", &format!("{interval_s}s"), "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    env(&mut c);
    let mut console = Child(c.spawn().context("starting the console")?);
    let pid = console.0.id();
    let mut err = BufReader::new(console.0.stderr.take().expect("piped"));
    let mut addr = None;
    for _ in 0..(servers + 5) {
        let mut l = String::new();
        if err.read_line(&mut l)? == 0 {
            break;
        }
        if l.starts_with("console of ") {
            addr = l
                .rsplit(" on http://")
                .next()
                .and_then(|r| r.split('/').next())
                .map(str::to_owned);
            break;
        }
    }
    let addr = addr.ok_or_else(|| anyhow!("the console did not start"))?;
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    let cookie = login(&addr, "bench", "bench-password")?;
    Ok(Launched {
        sim,
        console,
        pid,
        addr,
        cookie,
    })
}

/// Runs part 7 over `servers` x `clients`, timing `rounds` overview requests.
pub fn run(
    urbackup: &Path,
    bench: &Path,
    out: &Path,
    (servers, clients, rounds): (usize, usize, usize),
    log: impl Fn(&str) -> Stdio,
    env: impl Fn(&mut Command),
) -> Result<ConsoleResult> {
    let t0 = Instant::now();
    let Launched {
        mut sim,
        console,
        pid,
        addr,
        cookie,
    } = launch(
        urbackup,
        bench,
        &out.join("console"),
        (servers, clients),
        INTERVAL_S,
        log,
        env,
    )?;
    let (sim_in, sim_out) = (&mut sim.stdin, &mut sim.stdout);

    // Every server read, then the first backup lists and error logs in: an interval with at
    // most 8 requests per server (the steady poll is status, progress, lastacts and logs,
    // usage every 10th).
    let deadline = Instant::now() + Duration::from_secs(600);
    let marker = format!("<span class=\"n\">{servers}/{servers}</span>");
    loop {
        let (_, body) = http(&addr, "GET", "/", &cookie, "")?;
        if body.contains(&marker) {
            break;
        }
        if Instant::now() > deadline {
            bail!("the console did not read every server in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    loop {
        let now = per_interval(sim_in, sim_out, 1)?;
        if now <= (servers * 8) as f64 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the console still read {now} requests per interval after 10 minutes");
        }
    }
    let warmup_s = t0.elapsed().as_secs_f64();

    // The overview, alone.
    let mut walls = Vec::with_capacity(rounds);
    let mut html_bytes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let (head, body) = http(&addr, "GET", "/", &cookie, "")?;
        walls.push(t.elapsed().as_secs_f64() * 1000.0);
        if !head.starts_with("HTTP/1.1 200") {
            bail!("overview: {head}");
        }
        html_bytes = body.len();
    }

    // Requests per interval without and with browsers.
    // Ten intervals each: every server reads `usage` once in ten polls.
    let idle = per_interval(sim_in, sim_out, 10)?;
    let stop = Arc::new(AtomicBool::new(false));
    let pages = Arc::new(AtomicU64::new(0));
    let loaders: Vec<_> = (0..BROWSERS)
        .map(|i| {
            let (stop, pages, addr, cookie) =
                (stop.clone(), pages.clone(), addr.clone(), cookie.clone());
            std::thread::spawn(move || {
                let server = format!("/servers/sim{:02}", i);
                let paths = ["/", "/servers", server.as_str()];
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    if http(&addr, "GET", paths[n % paths.len()], &cookie, "").is_ok() {
                        pages.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            })
        })
        .collect();
    let busy = per_interval(sim_in, sim_out, 10)?;
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        let _ = l.join();
    }
    let rss_bytes = vm_hwm(pid)?;
    drop(console);
    drop(sim);
    Ok(ConsoleResult {
        servers,
        clients,
        median_ms: median(&walls),
        mad_pct: mad_pct(&walls),
        rounds: walls.len(),
        html_bytes,
        rss_bytes,
        idle_per_interval: idle,
        busy_per_interval: busy,
        busy_pages: pages.load(Ordering::Relaxed),
        warmup_s,
    })
}

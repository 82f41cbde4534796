//! Part 6: one `urbackup exporter --all-profiles` scrape over a fleet of simulated servers
//! (100 servers × 1,000 clients in a full run). Starts `urbackup-bench fleet-sim`, then the
//! exporter on every profile, scrapes `/metrics` over HTTP a few times (the first one
//! primes the backup-count cache like any other scrape: K = 8 backup lists per server), and
//! reports the median scrape time, the exporter's peak RSS (VmHWM) and the requests one
//! scrape sends (counted by the simulators). Goals: under 2 s, under 100 MB.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::stats::{mad_pct, median};

/// What part 6 measured.
pub struct ScrapeResult {
    pub servers: usize,
    pub clients: usize,
    /// Median wall time of one scrape, seconds.
    pub median_s: f64,
    pub mad_pct: f64,
    pub rounds: usize,
    /// Peak RSS of the exporter, bytes.
    pub rss_bytes: u64,
    /// Requests one scrape sent to all servers.
    pub requests: u64,
    /// Size of one exposition.
    pub body_bytes: usize,
    pub samples: usize,
}

impl ScrapeResult {
    pub fn ratios(&self) -> Vec<(String, f64)> {
        let tag = format!("{}x{}", self.servers, self.clients);
        vec![
            (format!("scrape_{tag}_vs_2s_goal"), 2.0 / self.median_s),
            (
                format!("scrape_{tag}_rss_vs_100mb_goal"),
                100.0 * 1024.0 * 1024.0 / self.rss_bytes as f64,
            ),
        ]
    }

    pub fn goals(&self) -> Vec<(String, bool, String)> {
        vec![
            (
                format!(
                    "one exporter scrape of {} servers x {} clients under 2 s",
                    self.servers, self.clients
                ),
                self.median_s < 2.0,
                format!("{:.2} s", self.median_s),
            ),
            (
                "exporter RSS under 100 MB".into(),
                self.rss_bytes < 100 * 1024 * 1024,
                format!("{:.1} MiB", self.rss_bytes as f64 / 1048576.0),
            ),
        ]
    }

    pub fn markdown(&self) -> String {
        format!(
            "### 6. Exporter: one scrape of `urbackup --all-profiles exporter` ({} servers x {} clients)\n\n\
             | median scrape | MAD | rounds | exporter peak RSS | requests per scrape | exposition | samples |\n\
             |---|---|---|---|---|---|---|\n\
             | {:.2} s | {:.1}% | {} | {:.1} MiB | {} ({} per server: status, progress, usage, {} backup lists) | {:.1} MiB | {} |\n",
            self.servers,
            self.clients,
            self.median_s,
            self.mad_pct,
            self.rounds,
            self.rss_bytes as f64 / 1048576.0,
            self.requests,
            self.requests / self.servers.max(1) as u64,
            (self.requests / self.servers.max(1) as u64).saturating_sub(3),
            self.body_bytes as f64 / 1048576.0,
            self.samples
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "servers": self.servers, "clients": self.clients, "median_s": self.median_s,
            "mad_pct": self.mad_pct, "rounds": self.rounds, "rss_bytes": self.rss_bytes,
            "requests": self.requests, "body_bytes": self.body_bytes, "samples": self.samples,
        })
    }
}

/// Kills the child on drop.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends one command line to `fleet-sim` and reads its one-line answer.
pub fn command(stdin: &mut impl Write, stdout: &mut impl BufRead, c: &str) -> Result<String> {
    writeln!(stdin, "{c}")?;
    stdin.flush()?;
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    Ok(line.trim().to_string())
}

/// Peak RSS of a process, bytes.
pub fn vm_hwm(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM"))?;
    Ok(kb * 1024)
}

fn scrape(addr: &str) -> Result<(f64, String)> {
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let wall = t.elapsed().as_secs_f64();
    let text = String::from_utf8(buf)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("no HTTP head"))?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("scrape: {head}");
    }
    Ok((wall, dechunk(head, body)))
}

/// The body of an HTTP/1.1 reply, with a chunked transfer coding undone.
pub fn dechunk(head: &str, body: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

/// `urbackup-bench fleet-sim` running in DIR (its config files there), killed on drop.
pub struct FleetSim {
    _child: Child,
    /// Its command lines (`total`, `reset`).
    pub stdin: std::process::ChildStdin,
    /// Their answers.
    pub stdout: BufReader<std::process::ChildStdout>,
}

impl FleetSim {
    /// Starts `servers` simulated servers of `clients` clients and waits for `ready`.
    pub fn start(
        bench: &Path,
        dir: &Path,
        (servers, clients): (usize, usize),
        stderr: Stdio,
        env: impl Fn(&mut Command),
    ) -> Result<FleetSim> {
        let mut sim = Command::new(bench);
        sim.args(["fleet-sim", "--servers", &servers.to_string()])
            .args(["--clients", &clients.to_string(), "--dir"])
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        env(&mut sim);
        let mut child = Child(sim.spawn().context("starting fleet-sim")?);
        let stdin = child.0.stdin.take().expect("piped");
        let mut stdout = BufReader::new(child.0.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if !line.starts_with("ready") {
            bail!("fleet-sim: {line:?}");
        }
        Ok(FleetSim {
            _child: child,
            stdin,
            stdout,
        })
    }
}

/// Runs part 6 over `servers` x `clients`, timing `rounds` scrapes. `env` sets the children's environment (password, HOME, no session cache).
pub fn run(
    urbackup: &Path,
    bench: &Path,
    out: &Path,
    (servers, clients, rounds): (usize, usize, usize),
    log: impl Fn(&str) -> Stdio,
    env: impl Fn(&mut Command),
) -> Result<ScrapeResult> {
    let dir = out.join("scrape");
    std::fs::create_dir_all(&dir)?;
    let mut sim = FleetSim::start(
        bench,
        &dir,
        (servers, clients),
        log("scrape-fleet-sim"),
        &env,
    )?;
    let (sim_in, sim_out) = (&mut sim.stdin, &mut sim.stdout);
    let config = dir.join(format!("fleet-{servers}.toml"));
    let mut exp = Command::new(urbackup);
    exp.arg("--config")
        .arg(&config)
        .args(["--all-profiles", "exporter", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    env(&mut exp);
    let mut exp = Child(exp.spawn().context("starting the exporter")?);
    let pid = exp.0.id();
    let mut err = BufReader::new(exp.0.stderr.take().expect("piped"));
    let mut addr = None;
    for _ in 0..(servers + 5) {
        let mut l = String::new();
        if err.read_line(&mut l)? == 0 {
            break;
        }
        if let Some(a) = l
            .strip_prefix("serving Prometheus metrics of ")
            .and_then(|l| l.rsplit("http://").next())
            .and_then(|l| l.strip_suffix("/metrics\n"))
        {
            addr = Some(a.to_string());
            break;
        }
    }
    let addr = addr.ok_or_else(|| anyhow!("the exporter did not start"))?;
    // Keep draining the exporter's stderr (warnings) so that it never blocks on it.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    // One scrape counted alone, then the timed rounds.
    command(sim_in, sim_out, "reset")?;
    let (_, body) = scrape(&addr)?;
    let requests: u64 = command(sim_in, sim_out, "total")?.parse()?;
    let up = body
        .lines()
        .filter(|l| l.starts_with("urbackup_up{") && l.ends_with(" 1.0"))
        .count();
    let online = body
        .lines()
        .filter(|l| l.starts_with("urbackup_client_online{"))
        .count();
    if up != servers || online != servers * clients {
        bail!(
            "scrape: {up} servers up, {online} clients (expected {servers}, {})",
            servers * clients
        );
    }
    let samples = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count();
    let mut walls = Vec::new();
    for _ in 0..rounds {
        walls.push(scrape(&addr)?.0);
    }
    let rss_bytes = vm_hwm(pid)?;
    drop(exp);
    drop(sim);
    Ok(ScrapeResult {
        servers,
        clients,
        median_s: median(&walls),
        mad_pct: mad_pct(&walls),
        rounds: walls.len(),
        rss_bytes,
        requests,
        body_bytes: body.len(),
        samples,
    })
}

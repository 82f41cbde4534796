//! The orchestrator behind `bench/run.sh`: starts the simulators, runs every contender
//! alternately, prints the tables and the `ratio NAME VALUE` lines, and writes
//! `<out>/last.json` and `<out>/last.md`.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::cli;
use crate::floor::{self, Floor};
use crate::procs::{request_counts, run_measured, Measured, SimCounters, SimProcess, Worker};
use crate::python_pkg;
use crate::stats::{mad_pct, median};

const ADMIN: &str = "admin:secret";
const USER: &str = "admin";
const PASSWORD: &str = "secret";
const LATENCY_MS: u64 = 20;

/// Command-line options of `urbackup-bench run`.
#[derive(Debug, Clone)]
pub struct Opts {
    pub quick: bool,
    pub bin_dir: PathBuf,
    pub python: PathBuf,
    pub node: PathBuf,
    pub peers_dir: PathBuf,
    pub node_modules: PathBuf,
    pub out: PathBuf,
    pub parts: Vec<u32>,
    pub fleet_clients: usize,
    /// Python of the venv holding this repository's Python package (python_pkg.rs).
    pub python_pkg: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Node,
}

struct Peer {
    name: &'static str,
    lang: Lang,
}

const PEERS: [Peer; 3] = [
    Peer {
        name: "python-urbackup",
        lang: Lang::Python,
    },
    Peer {
        name: "urbackup-server-web-api-wrapper",
        lang: Lang::Python,
    },
    Peer {
        name: "urbackup-server-api",
        lang: Lang::Node,
    },
];

/// Measurements of one contender over the alternated rounds.
#[derive(Default)]
struct Series {
    /// Wall times, ms.
    walls: Vec<f64>,
    /// Peak RSS per run, bytes.
    rss: Vec<f64>,
    /// Requests the server saw for one run (untimed validation run).
    requests: Option<u64>,
    /// Bytes printed by the validation run.
    stdout_bytes: usize,
}

/// A contender of a process-level measurement: its name and how to start it.
struct Proc {
    name: String,
    cmd: Box<dyn Fn() -> Command>,
}

pub struct Runner {
    o: Opts,
    home: PathBuf,
    logs: PathBuf,
    r: Value,
    rows: Rows,
}

#[derive(Default)]
struct Rows {
    /// (clients, contender, median µs, samples, MAD %)
    warm: Vec<(usize, String, f64, usize, f64)>,
    /// (latency ms, contender, median ms, runs, MAD %, requests)
    oneshot: Vec<(u64, String, f64, usize, f64, Option<u64>)>,
    /// (latency ms, task, contender, requests, breakdown, wall ms)
    requests: Vec<(u64, String, String, u64, String, f64)>,
    /// (contender, median peak RSS bytes, median wall ms)
    rss: Vec<(String, f64, f64)>,
    json_bytes: usize,
    /// Part 6 (scrape.rs).
    scrape: Option<crate::scrape::ScrapeResult>,
    /// Part 7 (console.rs).
    console: Option<crate::console::ConsoleResult>,
    /// (latency ms, contender, bytes printed by the one-shot)
    printed: Vec<(u64, String, usize)>,
    /// (contender, mean ms, stddev ms) of the hyperfine cross-check
    hyperfine: Vec<(String, f64, f64)>,
    /// (latency ms, servers, median ms, runs, MAD %, requests), warm session caches
    fleet: Vec<(u64, usize, f64, usize, f64, Option<u64>)>,
    /// The same without the session cache (a login per server and run).
    fleet_cold: Vec<(u64, usize, f64, usize, f64, Option<u64>)>,
    errors: Vec<String>,
    /// The Python package's own measurements (python_pkg.rs).
    python_pkg: python_pkg::Rows,
}

impl Runner {
    pub fn new(o: Opts) -> Result<Self> {
        fs::create_dir_all(&o.out)?;
        let home = o.out.join("home");
        let logs = o.out.join("logs");
        let _ = fs::remove_dir_all(&home);
        fs::create_dir_all(&home)?;
        fs::create_dir_all(&logs)?;
        let r = json!({ "machine": machine(&o), "quick": o.quick });
        Ok(Runner {
            o,
            home,
            logs,
            r,
            rows: Rows::default(),
        })
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.o.bin_dir.join(name)
    }

    /// The environment every child gets: the password, a private empty HOME (so no personal
    /// config or cache changes what is measured), and where the peers live.
    fn env(&self, cmd: &mut Command) {
        cmd.env("URBACKUP_PASSWORD", PASSWORD)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_STATE_HOME", self.home.join(".state"))
            .env("BENCH_NODE_MODULES", &self.o.node_modules)
            .env("NO_COLOR", "1")
            .env_remove("URBACKUP_URL")
            .env_remove("URBACKUP_USER")
            .env_remove("URBACKUP_CONFIG")
            .env_remove("URBACKUP_PROFILE")
            .env_remove("URBACKUP_SESSION_DIR")
            // The CLI's session cache is off unless a measurement turns it on (`cli_cmd_cached`):
            // "fresh process, login included" stays what it says.
            .env("URBACKUP_NO_SESSION_CACHE", "1")
            .env_remove("RUST_LOG");
    }

    fn log(&self, name: &str) -> Stdio {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join(format!("{safe}.stderr")))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    }

    fn peer_cmd(&self, p: &Peer, mode: &str, url: &str, extra: &[&str]) -> Command {
        let (prog, ext) = match p.lang {
            Lang::Python => (&self.o.python, "py"),
            Lang::Node => (&self.o.node, "mjs"),
        };
        let mut c = Command::new(prog);
        c.arg(self.o.peers_dir.join(format!("{}_{mode}.{ext}", p.name)))
            .args([url, USER])
            .args(extra);
        self.env(&mut c);
        c
    }

    fn self_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(self.bin("urbackup-bench"));
        c.args(args);
        self.env(&mut c);
        c
    }

    fn cli_cmd(&self, args: &[String]) -> Command {
        let mut c = Command::new(self.bin("urbackup"));
        c.args(args);
        self.env(&mut c);
        c
    }

    /// The CLI with its session cache on, kept in `home/sessions-TAG` (a warm run resumes the
    /// session the previous run stored: one request for `status`).
    fn cli_cmd_cached(&self, args: &[String], tag: &str) -> Command {
        let mut c = self.cli_cmd(args);
        c.env_remove("URBACKUP_NO_SESSION_CACHE").env(
            "URBACKUP_SESSION_DIR",
            self.home.join(format!("sessions-{tag}")),
        );
        c
    }

    fn sim(&self, clients: usize, latency_ms: u64) -> Result<SimProcess> {
        SimProcess::start(&self.bin("urbackup-sim"), clients, latency_ms, ADMIN)
    }

    pub fn run(mut self) -> Result<()> {
        let t0 = Instant::now();
        println!(
            "urbackup-bench: {} run; machine: {}",
            if self.o.quick { "quick" } else { "full" },
            self.r["machine"]["summary"].as_str().unwrap_or("?")
        );
        let parts = self.o.parts.clone();
        for part in parts {
            let t = Instant::now();
            let res = match part {
                1 => self.part_warm(),
                2 => self.part_oneshot(),
                3 => self.part_requests(),
                4 => self.part_rss(),
                5 => self.part_fleet(),
                6 => self.part_scrape(),
                7 => self.part_console(),
                _ => Err(anyhow!("no part {part}")),
            };
            if let Err(e) = res {
                let msg = format!("part {part} failed: {e:#}");
                eprintln!("{msg}");
                self.rows.errors.push(msg);
            }
            println!("(part {part}: {:.1} s)", t.elapsed().as_secs_f64());
        }
        self.r["wall_s"] = json!(t0.elapsed().as_secs_f64());
        self.finish()
    }

    // ---------------------------------------------------------------- part 1: warm status calls

    fn part_warm(&mut self) -> Result<()> {
        println!("\n== 1. warm typed \"all client statuses\" call (session open), median per call");
        for size in [10usize, 1000, 10000] {
            // (rounds, calls per batch): every round runs one batch of each contender, in an
            // order rotated by one each round.
            let (rounds, k) = match (self.o.quick, size) {
                (true, 10) => (6, 20),
                (true, 1000) => (6, 5),
                (true, _) => (5, 2),
                (false, 10) => (30, 40),
                (false, 1000) => (30, 10),
                (false, _) => (25, 3),
            };
            let sim = self.sim(size, 0)?;
            let url = sim.url.clone();
            let mut workers: Vec<Worker> = Vec::new();
            let mut starts: Vec<(String, Command)> = vec![
                (
                    "ours".into(),
                    self.self_cmd(&["worker", "ours", &url, USER]),
                ),
                (
                    "floor".into(),
                    self.self_cmd(&["worker", "floor", &url, USER]),
                ),
            ];
            for p in &PEERS {
                starts.push((p.name.into(), self.peer_cmd(p, "warm", &url, &[])));
            }
            if let Some(c) = self.python_pkg_cmd("warm", &url) {
                starts.push((python_pkg::NAME.into(), c));
            }
            for (name, cmd) in starts {
                match Worker::start(&name, cmd, self.log(&format!("warm-{name}"))) {
                    Ok(w) => workers.push(w),
                    Err(e) => self.error(format!("warm {size}: {name} did not start: {e:#}")),
                }
            }
            let n = workers.len();
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
            let mut failed = vec![false; n];
            for round in 0..rounds {
                for j in 0..n {
                    let i = (j + round) % n;
                    if failed[i] {
                        continue;
                    }
                    match workers[i].batch(k) {
                        Ok(us) => samples[i].extend(us),
                        Err(e) => {
                            failed[i] = true;
                            let name = workers[i].name.clone();
                            self.error(format!("warm {size}: {name} failed: {e:#}"));
                        }
                    }
                }
            }
            for (w, s) in workers.iter().zip(&samples) {
                if s.is_empty() {
                    continue;
                }
                let m = median(s);
                println!(
                    "  {size:>6} clients  {:<34} {:>12}  (n={}, MAD {:.1}%)",
                    w.name,
                    fmt_us(m),
                    s.len(),
                    mad_pct(s)
                );
                self.rows
                    .warm
                    .push((size, w.name.clone(), m, s.len(), mad_pct(s)));
            }
            drop(workers);
            drop(sim);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- part 2: one-shot processes

    /// `ours`: the CLI with a warm session cache (primed by [`Runner::prime`]); `ours (cold)`:
    /// without the cache, as every first run (salt, login, status).
    fn oneshot_contenders(&self, url: &str) -> Vec<Proc> {
        let mut v: Vec<Proc> = Vec::new();
        let args = cli::status_json(url);
        let me = self.clone_env();
        v.push(Proc {
            name: "ours".into(),
            cmd: Box::new(move || me.cli_cmd_cached(&args, "oneshot")),
        });
        let args = cli::status_json(url);
        let me = self.clone_env();
        v.push(Proc {
            name: "ours (cold)".into(),
            cmd: Box::new(move || me.cli_cmd(&args)),
        });
        for (i, p) in PEERS.iter().enumerate() {
            let me = self.clone_env();
            let url = url.to_string();
            v.push(Proc {
                name: p.name.into(),
                cmd: Box::new(move || me.peer_cmd(&PEERS[i], "oneshot", &url, &[])),
            });
        }
        if self.o.python_pkg.is_some() {
            let me = self.clone_env();
            let url = url.to_string();
            v.push(Proc {
                name: python_pkg::NAME.into(),
                cmd: Box::new(move || {
                    me.python_pkg_cmd("oneshot", &url)
                        .unwrap_or_else(|| Command::new("false"))
                }),
            });
        }
        v
    }

    /// A command of the Python package's contender (None without `--python-pkg`).
    fn python_pkg_cmd(&self, mode: &str, url: &str) -> Option<Command> {
        let py = self.o.python_pkg.as_ref()?;
        let mut c = python_pkg::command(py, &self.o.peers_dir, mode, url, USER);
        self.env(&mut c);
        Some(c)
    }

    /// A copy of what building commands needs (closures outlive `&self` borrows).
    fn clone_env(&self) -> Runner {
        Runner {
            o: self.o.clone(),
            home: self.home.clone(),
            logs: self.logs.clone(),
            r: Value::Null,
            rows: Rows::default(),
        }
    }

    fn part_oneshot(&mut self) -> Result<()> {
        println!("\n== 2. one-shot process, start to printed JSON (1,000 clients)");
        for latency in [0, LATENCY_MS] {
            let rounds = match (self.o.quick, latency) {
                (true, 0) => 6,
                (true, _) => 3,
                (false, 0) => 30,
                (false, _) => 15,
            };
            let sim = self.sim(1000, latency)?;
            let counters = SimCounters {
                target: sim.target.clone(),
            };
            let procs = self.oneshot_contenders(&sim.url);
            self.prime(&procs[0])?;
            let res = self.alternate(&procs, rounds, Some(&counters), Some(1000))?;
            for (
                p,
                Series {
                    walls,
                    requests: reqs,
                    stdout_bytes,
                    ..
                },
            ) in procs.iter().zip(res)
            {
                if walls.is_empty() {
                    continue;
                }
                let m = median(&walls);
                println!(
                    "  latency {latency:>2} ms  {:<34} {:>10.1} ms  (n={}, MAD {:.1}%, {} requests, printed {} KiB)",
                    p.name,
                    m,
                    walls.len(),
                    mad_pct(&walls),
                    reqs.map_or("?".into(), |r| r.to_string()),
                    stdout_bytes / 1024
                );
                self.rows
                    .printed
                    .push((latency, p.name.clone(), stdout_bytes));
                self.rows.oneshot.push((
                    latency,
                    p.name.clone(),
                    m,
                    walls.len(),
                    mad_pct(&walls),
                    reqs,
                ));
            }
            if let Some(py) = self.o.python_pkg.clone() {
                let me = self.clone_env();
                let env = |c: &mut Command| me.env(c);
                if let Err(e) =
                    python_pkg::startup(&py, rounds, latency, env, &mut self.rows.python_pkg)
                {
                    self.error(format!("python start-up: {e:#}"));
                }
            }
            if latency == 0 && !self.o.quick {
                if let Err(e) = self.hyperfine(&procs) {
                    self.error(format!("hyperfine cross-check: {e:#}"));
                }
            }
            drop(sim);
        }
        Ok(())
    }

    /// Cross-check of the one-shot timings with hyperfine, when it is installed (full runs,
    /// latency 0). hyperfine runs each command's runs back to back, so it cannot alternate the
    /// contenders: the alternated medians above are the reported numbers.
    fn hyperfine(&mut self, procs: &[Proc]) -> Result<()> {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join("hyperfine").is_file()))
            .unwrap_or(false);
        if !found {
            println!("  (hyperfine not installed: no cross-check)");
            return Ok(());
        }
        let file = self.o.out.join("hyperfine-oneshot.json");
        let mut cmd = Command::new("hyperfine");
        cmd.args(["-N", "--warmup", "3", "--runs", "20", "--style", "none"])
            .arg("--export-json")
            .arg(&file);
        for p in procs {
            let c = (p.cmd)();
            let mut line = c.get_program().to_string_lossy().to_string();
            for a in c.get_args() {
                line.push(' ');
                line.push_str(&a.to_string_lossy());
            }
            cmd.arg("-n").arg(&p.name).arg(line);
        }
        self.env(&mut cmd);
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .context("running hyperfine")?;
        if !out.status.success() {
            bail!("hyperfine failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let v: Value = serde_json::from_slice(&fs::read(&file)?)?;
        for r in v["results"].as_array().into_iter().flatten() {
            let name = r["command"].as_str().unwrap_or("?").to_string();
            let mean = r["mean"].as_f64().unwrap_or(f64::NAN) * 1e3;
            let sd = r["stddev"].as_f64().unwrap_or(f64::NAN) * 1e3;
            println!("  hyperfine cross-check  {name:<34} {mean:>8.1} ms ± {sd:.1} (mean, not alternated)");
            self.rows.hyperfine.push((name, mean, sd));
        }
        Ok(())
    }

    /// One untimed run that fills the session cache of a cached contender.
    fn prime(&self, p: &Proc) -> Result<()> {
        self.run_checked(p, None)
            .map(drop)
            .with_context(|| format!("priming the session cache of {}", p.name))
    }

    /// Runs every contender once untimed (validation + request count), then `rounds` rounds of
    /// one run each in a rotating order.
    fn alternate(
        &mut self,
        procs: &[Proc],
        rounds: usize,
        counters: Option<&SimCounters>,
        expect_clients: Option<usize>,
    ) -> Result<Vec<Series>> {
        let n = procs.len();
        let mut out: Vec<Series> = (0..n).map(|_| Series::default()).collect();
        let mut failed = vec![false; n];
        for (i, p) in procs.iter().enumerate() {
            if let Some(c) = counters {
                c.reset()?;
            }
            match self.run_checked(p, expect_clients) {
                Ok(m) => {
                    out[i].stdout_bytes = m.stdout.len();
                    if let Some(c) = counters {
                        out[i].requests = Some(request_counts(&c.stats()?).0);
                    }
                }
                Err(e) => {
                    failed[i] = true;
                    self.error(format!("{}: {e:#}", p.name));
                }
            }
        }
        for round in 0..rounds {
            for j in 0..n {
                let i = (j + round) % n;
                if failed[i] {
                    continue;
                }
                match self.run_checked(&procs[i], None) {
                    Ok(m) => {
                        out[i].walls.push(m.wall.as_secs_f64() * 1000.0);
                        out[i].rss.push(m.max_rss as f64);
                    }
                    Err(e) => {
                        failed[i] = true;
                        self.error(format!("{}: {e:#}", procs[i].name));
                    }
                }
            }
        }
        Ok(out)
    }

    fn run_checked(&self, p: &Proc, expect_clients: Option<usize>) -> Result<Measured> {
        let mut cmd = (p.cmd)();
        let m = run_measured(&mut cmd, self.log(&p.name))?;
        if !m.status.success() {
            bail!(
                "{cmd:?} exited with {} (stderr in {})",
                m.status,
                self.logs.display()
            );
        }
        if let Some(want) = expect_clients {
            let got = count_clients(&m.stdout)
                .with_context(|| format!("{}: output is not the expected JSON", p.name))?;
            if got != want {
                bail!("{}: printed {got} clients, expected {want}", p.name);
            }
        }
        Ok(m)
    }

    // ---------------------------------------------------------------- part 3: requests per task

    fn part_requests(&mut self) -> Result<()> {
        println!("\n== 3. requests per task, counted by the simulator (1,000 clients; fresh process, login included)");
        for latency in [0, LATENCY_MS] {
            let sim = self.sim(1000, latency)?;
            let counters = SimCounters {
                target: sim.target.clone(),
            };
            let name = pick_client(&sim.url)?;
            let url = sim.url.clone();
            // (task, contender, command)
            let mut tasks: Vec<(&str, String, Command)> = Vec::new();
            for (task, cli_args) in [
                ("lookup", cli::lookup(&url, &name)),
                ("start-backup", cli::start_backup(&url, &name)),
            ] {
                tasks.push((
                    task,
                    "ours (library)".into(),
                    self.self_cmd(&["task", task, &url, USER, &name]),
                ));
                tasks.push((task, "ours (cli)".into(), self.cli_cmd(&cli_args)));
                for p in &PEERS {
                    tasks.push((
                        task,
                        p.name.into(),
                        self.peer_cmd(p, "task", &url, &[task, &name]),
                    ));
                }
            }
            tasks.push((
                "check",
                "ours (cli)".into(),
                self.cli_cmd(&cli::check(&url)),
            ));
            for (task, who, mut cmd) in tasks {
                counters.reset()?;
                let m = run_measured(&mut cmd, self.log(&format!("task-{task}-{who}")));
                let stats = counters.stats()?;
                match m {
                    // `check` exits 1/2 when it finds problems (monitoring-plugin codes);
                    // 3 (UNKNOWN) is a failed run.
                    Ok(m)
                        if m.status.success()
                            || (task == "check" && m.status.code().is_some_and(|c| c < 3)) =>
                    {
                        self.record_requests(
                            latency,
                            task,
                            &who,
                            &stats,
                            m.wall.as_secs_f64() * 1e3,
                        )
                    }
                    Ok(m) => self.error(format!(
                        "task {task} / {who}: exit {} ({})",
                        m.status,
                        String::from_utf8_lossy(&m.stdout).trim()
                    )),
                    Err(e) => self.error(format!("task {task} / {who}: {e:#}")),
                }
            }
            // Default exporter (backup counts refreshed for up to 8 clients per scrape), and
            // without backup counts (`--backup-refresh-per-scrape 0`).
            for (label, extra) in [
                ("", &[][..]),
                (
                    " (no backup counts)",
                    &["--backup-refresh-per-scrape", "0"][..],
                ),
            ] {
                if let Err(e) = self.exporter_scrapes(latency, &url, &counters, label, extra) {
                    self.error(format!("exporter{label}: {e:#}"));
                }
            }
            drop(sim);
        }
        Ok(())
    }

    fn record_requests(
        &mut self,
        latency: u64,
        task: &str,
        who: &str,
        stats: &Value,
        wall_ms: f64,
    ) {
        let (total, per) = request_counts(stats);
        let breakdown = per
            .iter()
            .map(|(a, n)| format!("{a}×{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        println!("  latency {latency:>2} ms  {task:<40} {who:<32} {total:>3} requests  ({breakdown}; {wall_ms:.0} ms)");
        self.rows
            .requests
            .push((latency, task.into(), who.into(), total, breakdown, wall_ms));
    }

    fn exporter_scrapes(
        &mut self,
        latency: u64,
        url: &str,
        counters: &SimCounters,
        label: &str,
        extra: &[&str],
    ) -> Result<()> {
        let port = free_port()?;
        let listen = format!("127.0.0.1:{port}");
        counters.reset()?;
        let mut args = cli::exporter(url, &listen);
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut cmd = self.cli_cmd(&args);
        cmd.stdin(Stdio::null())
            .stdout(self.log("exporter"))
            .stderr(self.log("exporter"));
        let mut child = cmd.spawn().context("starting the exporter")?;
        let guard = KillOnDrop(&mut child);
        let target = floor::Target::parse(&format!("http://{listen}/"))?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(target.addr).is_err() {
            if Instant::now() > deadline {
                bail!("the exporter did not listen on {listen}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let scrape = |what: &str| -> Result<f64> {
            let t = Instant::now();
            let body = floor::request(&target, "GET", "/metrics", "")?;
            let ms = t.elapsed().as_secs_f64() * 1e3;
            let text = String::from_utf8_lossy(&body);
            if !text.contains("urbackup") {
                bail!(
                    "{what}: /metrics has no urbackup metrics: {}",
                    &text[..text.len().min(200)]
                );
            }
            Ok(ms)
        };
        let ms = scrape("first scrape")?;
        std::thread::sleep(Duration::from_millis(100));
        let stats = counters.stats()?;
        self.record_requests(
            latency,
            &format!("exporter start+scrape{label}"),
            "ours (cli)",
            &stats,
            ms,
        );
        counters.reset()?;
        let ms = scrape("second scrape")?;
        std::thread::sleep(Duration::from_millis(100));
        let stats = counters.stats()?;
        self.record_requests(
            latency,
            &format!("exporter scrape{label}"),
            "ours (cli)",
            &stats,
            ms,
        );
        drop(guard);
        Ok(())
    }

    // ---------------------------------------------------------------- part 4: peak RSS

    fn part_rss(&mut self) -> Result<()> {
        println!("\n== 4. peak RSS of the one-shot task at 10,000 clients");
        let sim = self.sim(10000, 0)?;
        let mut f = Floor::connect(&sim.url, USER, PASSWORD)?;
        f.status()?;
        self.rows.json_bytes = f.last_body().len();
        println!(
            "  JSON body of one status reply: {} bytes ({:.2} MiB)",
            self.rows.json_bytes,
            self.rows.json_bytes as f64 / 1048576.0
        );
        let rounds = if self.o.quick { 3 } else { 10 };
        let procs = self.oneshot_contenders(&sim.url);
        self.prime(&procs[0])?;
        let res = self.alternate(&procs, rounds, None, Some(10000))?;
        for (p, Series { walls, rss, .. }) in procs.iter().zip(res) {
            if rss.is_empty() {
                continue;
            }
            let r = median(&rss);
            println!(
                "  {:<34} peak RSS {:>8.1} MiB = {:.2}x the JSON   ({:.0} ms, n={})",
                p.name,
                r / 1048576.0,
                r / self.rows.json_bytes as f64,
                median(&walls),
                rss.len()
            );
            self.rows.rss.push((p.name.clone(), r, median(&walls)));
        }
        Ok(())
    }

    // ---------------------------------------------------------------- part 5: fleet

    fn part_fleet(&mut self) -> Result<()> {
        let clients = self.o.fleet_clients;
        println!("\n== 5. fleet: `status --all-profiles` over 50 simulated servers vs 1 ({clients} clients each)");
        for latency in [0, LATENCY_MS] {
            let dir = self.o.out.join(format!("fleet-{latency}ms"));
            fs::create_dir_all(&dir)?;
            let dir_s = dir.to_string_lossy().to_string();
            let mut fleet = self.self_cmd(&[
                "fleet-sim",
                "--servers",
                "50",
                "--clients",
                &clients.to_string(),
                "--latency-ms",
                &latency.to_string(),
                "--dir",
                &dir_s,
            ]);
            let mut fleet = FleetProcess::start(&mut fleet, self.log("fleet-sim"))?;
            let rounds = match (self.o.quick, latency) {
                (true, _) => 4,
                (false, 0) => 30,
                (false, _) => 15,
            };
            // Warm session caches ("1 server", "50 servers"), and without the cache (a login
            // per server and run: "... (cold)").
            let mut procs = Vec::new();
            for (name, file, cached) in [
                ("1 server", "fleet-1.toml", true),
                ("50 servers", "fleet-50.toml", true),
                ("1 server (cold)", "fleet-1.toml", false),
                ("50 servers (cold)", "fleet-50.toml", false),
            ] {
                let args = cli::fleet_status(&dir.join(file).to_string_lossy());
                let me = self.clone_env();
                let tag = format!("fleet-{latency}");
                procs.push(Proc {
                    name: name.into(),
                    cmd: Box::new(move || {
                        if cached {
                            me.cli_cmd_cached(&args, &tag)
                        } else {
                            me.cli_cmd(&args)
                        }
                    }),
                });
            }
            self.prime(&procs[0])?;
            self.prime(&procs[1])?;
            // Validation + request count per contender, then alternate.
            let mut reqs = Vec::new();
            for (p, want) in procs
                .iter()
                .zip([clients, 50 * clients, clients, 50 * clients])
            {
                fleet.reset()?;
                let m = self.run_checked(p, None)?;
                let got = count_clients(&m.stdout).unwrap_or(0);
                if got != want {
                    self.error(format!(
                        "fleet {}: printed {got} clients, expected {want}",
                        p.name
                    ));
                }
                reqs.push(fleet.total()?);
            }
            let res = self.alternate(&procs, rounds, None, None)?;
            for ((p, Series { walls, .. }), r) in procs.iter().zip(res).zip(reqs) {
                if walls.is_empty() {
                    continue;
                }
                let servers = if p.name.starts_with("50") { 50 } else { 1 };
                let cold = p.name.ends_with("(cold)");
                let m = median(&walls);
                println!(
                    "  latency {latency:>2} ms  {:<12} {:>9.1} ms  (n={}, MAD {:.1}%, {} requests)",
                    p.name,
                    m,
                    walls.len(),
                    mad_pct(&walls),
                    r
                );
                let row = (latency, servers, m, walls.len(), mad_pct(&walls), Some(r));
                if cold {
                    self.rows.fleet_cold.push(row);
                } else {
                    self.rows.fleet.push(row);
                }
            }
        }
        Ok(())
    }

    /// Part 6: one exporter scrape over a fleet (scrape.rs).
    fn part_scrape(&mut self) -> Result<()> {
        let (servers, clients, rounds) = if self.o.quick {
            (20, 1000, 3)
        } else {
            (100, 1000, 10)
        };
        println!("\n== 6. exporter: one scrape of `--all-profiles exporter` over {servers} servers x {clients} clients");
        let me = self.clone_env();
        let res = crate::scrape::run(
            &self.bin("urbackup"),
            &self.bin("urbackup-bench"),
            &self.o.out,
            (servers, clients, rounds),
            |n| self.log(n),
            |c| me.env(c),
        )?;
        println!(
            "  median {:.2} s (n={}, MAD {:.1}%), peak RSS {:.1} MiB, {} requests per scrape, {} samples",
            res.median_s,
            res.rounds,
            res.mad_pct,
            res.rss_bytes as f64 / 1048576.0,
            res.requests,
            res.samples
        );
        self.r["scrape"] = res.json();
        self.rows.scrape = Some(res);
        Ok(())
    }

    /// Part 7: the console over a fleet (console.rs).
    fn part_console(&mut self) -> Result<()> {
        let (servers, clients, rounds) = if self.o.quick {
            (20, 1000, 10)
        } else {
            (100, 1000, 30)
        };
        println!(
            "\n== 7. console: `--all-profiles console` over {servers} servers x {clients} clients"
        );
        let me = self.clone_env();
        let res = crate::console::run(
            &self.bin("urbackup"),
            &self.bin("urbackup-bench"),
            &self.o.out,
            (servers, clients, rounds),
            |n| self.log(n),
            |c| me.env(c),
        )?;
        println!(
            "  overview median {:.1} ms (n={}, MAD {:.1}%), HTML {:.0} KB, peak RSS {:.1} MiB, requests per interval {:.0} idle / {:.0} with browsers ({} pages), warm-up {:.0} s",
            res.median_ms,
            res.rounds,
            res.mad_pct,
            res.html_bytes as f64 / 1000.0,
            res.rss_bytes as f64 / 1048576.0,
            res.idle_per_interval,
            res.busy_per_interval,
            res.busy_pages,
            res.warmup_s
        );
        self.r["console"] = res.json();
        self.rows.console = Some(res);
        Ok(())
    }

    fn error(&mut self, msg: String) {
        eprintln!("  ! {msg}");
        self.rows.errors.push(msg);
    }

    // ---------------------------------------------------------------- summary

    fn finish(mut self) -> Result<()> {
        let (ratios, goals) = self.ratios_and_goals();
        let md = self.markdown(&ratios, &goals);
        let rows = &self.rows;
        self.r["warm"] = json!(rows
            .warm
            .iter()
            .map(|(s, c, m, n, mad)| json!({"clients": s, "contender": c, "median_us": m, "n": n, "mad_pct": mad}))
            .collect::<Vec<_>>());
        self.r["oneshot"] = json!(rows
            .oneshot
            .iter()
            .map(|(l, c, m, n, mad, q)| json!({"latency_ms": l, "contender": c, "median_ms": m, "n": n, "mad_pct": mad, "requests": q}))
            .collect::<Vec<_>>());
        self.r["oneshot_printed_bytes"] = json!(rows
            .printed
            .iter()
            .map(|(l, c, b)| json!({"latency_ms": l, "contender": c, "bytes": b}))
            .collect::<Vec<_>>());
        self.r["oneshot_hyperfine"] = json!(rows
            .hyperfine
            .iter()
            .map(|(c, m, sd)| json!({"contender": c, "mean_ms": m, "stddev_ms": sd}))
            .collect::<Vec<_>>());
        self.r["requests"] = json!(rows
            .requests
            .iter()
            .map(|(l, t, c, n, b, w)| json!({"latency_ms": l, "task": t, "contender": c, "requests": n, "breakdown": b, "wall_ms": w}))
            .collect::<Vec<_>>());
        self.r["rss"] = json!({
            "json_bytes": rows.json_bytes,
            "runs": rows.rss.iter().map(|(c, r, w)| json!({"contender": c, "peak_rss_bytes": r, "median_ms": w})).collect::<Vec<_>>(),
        });
        self.r["fleet"] = json!(rows
            .fleet
            .iter()
            .map(|(l, s, m, n, mad, q)| json!({"latency_ms": l, "servers": s, "median_ms": m, "n": n, "mad_pct": mad, "requests": q}))
            .collect::<Vec<_>>());
        self.r["ratios"] = json!(ratios
            .iter()
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect::<Vec<_>>());
        self.r["goals"] = json!(goals
            .iter()
            .map(|g| json!({"goal": g.0, "met": g.1, "detail": g.2}))
            .collect::<Vec<_>>());
        self.r["errors"] = json!(rows.errors);
        fs::write(
            self.o.out.join("last.json"),
            serde_json::to_string_pretty(&self.r)?,
        )?;
        fs::write(self.o.out.join("last.md"), &md)?;

        println!("\n== goals");
        for (g, met, detail) in &goals {
            println!(
                "goal {:<7} {g}: {detail}",
                if *met { "met" } else { "MISSED" }
            );
        }
        if !self.rows.errors.is_empty() {
            println!("\n== errors");
            for e in &self.rows.errors {
                println!("  {e}");
            }
        }
        println!(
            "\nresults: {} and {}",
            self.o.out.join("last.json").display(),
            self.o.out.join("last.md").display()
        );
        println!();
        for (name, v) in &ratios {
            println!("ratio {name} {v:.2}");
        }
        Ok(())
    }

    fn warm_of(&self, size: usize, who: &str) -> Option<f64> {
        self.rows
            .warm
            .iter()
            .find(|r| r.0 == size && r.1 == who)
            .map(|r| r.2)
    }

    fn oneshot_of(&self, latency: u64, who: &str) -> Option<f64> {
        self.rows
            .oneshot
            .iter()
            .find(|r| r.0 == latency && r.1 == who)
            .map(|r| r.2)
    }

    fn requests_of(&self, latency: u64, task: &str, who: &str) -> Option<u64> {
        self.rows
            .requests
            .iter()
            .find(|r| r.0 == latency && r.1 == task && r.2 == who)
            .map(|r| r.3)
    }

    #[allow(clippy::type_complexity)]
    fn ratios_and_goals(&self) -> (Vec<(String, f64)>, Vec<(String, bool, String)>) {
        let mut ratios: Vec<(String, f64)> = Vec::new();
        let mut goals: Vec<(String, bool, String)> = Vec::new();
        // 1. warm
        for size in [10usize, 1000, 10000] {
            let Some(ours) = self.warm_of(size, "ours") else {
                continue;
            };
            for p in &PEERS {
                if let Some(t) = self.warm_of(size, p.name) {
                    ratios.push((format!("warm_{size}_vs_{}", p.name), t / ours));
                }
            }
            if let Some(f) = self.warm_of(size, "floor") {
                ratios.push((format!("warm_{size}_vs_floor"), f / ours));
                let x = ours / f;
                goals.push((
                    format!("warm status within 1.3x of the floor at {size} clients"),
                    x <= 1.3,
                    format!(
                        "ours {} vs floor {} = {x:.2}x the floor",
                        fmt_us(ours),
                        fmt_us(f)
                    ),
                ));
            }
        }
        if let (Some(o), Some(p)) = (
            self.warm_of(1000, "ours"),
            self.warm_of(1000, "python-urbackup"),
        ) {
            goals.push((
                "warm status at least 5x faster than python-urbackup at 1,000 clients".into(),
                p / o >= 5.0,
                format!("{:.1}x ({} vs {})", p / o, fmt_us(o), fmt_us(p)),
            ));
        }
        if let (Some(o), Some(p), Some(f)) = (
            self.warm_of(1000, "ours"),
            self.warm_of(1000, "python-urbackup"),
            self.warm_of(1000, "floor"),
        ) {
            // The client's own cost: its median above the floor's.
            let (own, theirs) = ((o - f).max(1.0), p - f);
            let x = theirs / own;
            ratios.push(("own_cost_1000_vs_python-urbackup_5x".into(), x / 5.0));
            goals.push((
                "own cost above the floor at least 5x less than python-urbackup's at 1,000 clients"
                    .into(),
                x >= 5.0,
                format!(
                    "{x:.1}x ({} vs {} above the floor)",
                    fmt_us(own),
                    fmt_us(theirs)
                ),
            ));
        }
        // 2. one-shot (ours: warm session cache; `ours (cold)`: the first run, reported)
        for latency in [0, LATENCY_MS] {
            let tag = if latency == 0 {
                String::new()
            } else {
                format!("_lat{latency}")
            };
            if let Some(cold) = self.oneshot_of(latency, "ours (cold)") {
                for p in &PEERS {
                    if let Some(t) = self.oneshot_of(latency, p.name) {
                        ratios.push((format!("oneshot_cold{tag}_vs_{}", p.name), t / cold));
                    }
                }
            }
            if let Some(q) = self
                .rows
                .oneshot
                .iter()
                .find(|r| r.0 == latency && r.1 == "ours")
                .and_then(|r| r.5)
            {
                ratios.push((
                    format!("oneshot_warm{tag}_requests_vs_1"),
                    1.0 / q.max(1) as f64,
                ));
                goals.push((
                    format!("one request per one-shot with a warm cache (latency {latency} ms)"),
                    q == 1,
                    format!("{q} request(s)"),
                ));
            }
            let Some(ours) = self.oneshot_of(latency, "ours") else {
                continue;
            };
            for p in &PEERS {
                if let Some(t) = self.oneshot_of(latency, p.name) {
                    let x = t / ours;
                    ratios.push((format!("oneshot{tag}_vs_{}", p.name), x));
                    goals.push((
                        format!(
                            "one-shot (warm cache) at least 10x faster than {} (latency {latency} ms)",
                            p.name
                        ),
                        x >= 10.0,
                        format!("{x:.1}x ({ours:.1} ms vs {t:.1} ms)"),
                    ));
                }
            }
        }
        // 3. requests
        let mut worst: Vec<String> = Vec::new();
        let mut compared = 0;
        for latency in [0, LATENCY_MS] {
            let tag = if latency == 0 {
                String::new()
            } else {
                format!("_lat{latency}")
            };
            for task in ["lookup", "start-backup"] {
                for who in ["ours (library)", "ours (cli)"] {
                    let Some(ours) = self.requests_of(latency, task, who) else {
                        continue;
                    };
                    let short = if who.contains("cli") { "cli" } else { "lib" };
                    for p in &PEERS {
                        if let Some(n) = self.requests_of(latency, task, p.name) {
                            compared += 1;
                            ratios.push((
                                format!("requests{tag}_{task}_{short}_vs_{}", p.name),
                                n as f64 / ours.max(1) as f64,
                            ));
                            if ours > n {
                                worst.push(format!(
                                    "{task} ({who}) {ours} > {} {n} at {latency} ms",
                                    p.name
                                ));
                            }
                        }
                    }
                }
            }
        }
        if compared > 0 {
            goals.push((
                "requests per task never more than the peers".into(),
                worst.is_empty(),
                if worst.is_empty() {
                    format!("{compared} comparisons, none worse")
                } else {
                    worst.join("; ")
                },
            ));
        }
        // 4. RSS
        let json_bytes = self.rows.json_bytes as f64;
        if let Some(&(_, ours, _)) = self.rows.rss.iter().find(|r| r.0 == "ours") {
            for p in &PEERS {
                if let Some(&(_, r, _)) = self.rows.rss.iter().find(|r| r.0 == p.name) {
                    ratios.push((format!("rss_10000_vs_{}", p.name), r / ours));
                }
            }
            ratios.push(("rss_10000_vs_3x_json".into(), 3.0 * json_bytes / ours));
            goals.push((
                "peak RSS at 10,000 clients at most 3x the JSON".into(),
                ours <= 3.0 * json_bytes,
                format!(
                    "{:.1} MiB = {:.2}x the {:.1} MiB JSON",
                    ours / 1048576.0,
                    ours / json_bytes,
                    json_bytes / 1048576.0
                ),
            ));
        }
        // 5. fleet
        for latency in [0, LATENCY_MS] {
            let f = |s: usize| {
                self.rows
                    .fleet
                    .iter()
                    .find(|r| r.0 == latency && r.1 == s)
                    .map(|r| r.2)
            };
            if let (Some(one), Some(fifty)) = (f(1), f(50)) {
                let tag = if latency == 0 {
                    String::new()
                } else {
                    format!("_lat{latency}")
                };
                ratios.push((format!("fleet50{tag}_vs_3x_single"), 3.0 * one / fifty));
                goals.push((
                    format!(
                        "fleet of 50 (warm caches) at most 3x one server (latency {latency} ms)"
                    ),
                    fifty <= 3.0 * one,
                    format!("{:.2}x ({fifty:.1} ms vs {one:.1} ms)", fifty / one),
                ));
            }
        }
        let (r, g) = python_pkg::ratios_and_goals(
            &self.rows.python_pkg,
            |s, w| self.warm_of(s, w),
            |l, w| self.oneshot_of(l, w),
            &[0, LATENCY_MS],
        );
        ratios.extend(r);
        goals.extend(g);
        if let Some(r) = &self.rows.scrape {
            ratios.extend(r.ratios());
            goals.extend(r.goals());
        }
        if let Some(r) = &self.rows.console {
            ratios.extend(r.ratios());
            goals.extend(r.goals());
        }
        (ratios, goals)
    }

    fn markdown(&self, ratios: &[(String, f64)], goals: &[(String, bool, String)]) -> String {
        let mut s = String::new();
        let m = &self.r["machine"];
        let _ = writeln!(
            s,
            "Run: {} (`bench/run.sh{}`), {}\n\nMachine: {}\n",
            m["date"].as_str().unwrap_or("?"),
            if self.o.quick { " --quick" } else { "" },
            m["git"].as_str().unwrap_or("?"),
            m["summary"].as_str().unwrap_or("?")
        );
        let peers: Vec<&str> = PEERS.iter().map(|p| p.name).collect();
        // 1
        let _ = writeln!(s, "### 1. Warm typed status call (median per call)\n");
        let _ = writeln!(
            s,
            "| clients | ours | floor | {} | ours / floor |",
            peers.join(" | ")
        );
        let _ = writeln!(s, "|---:|---:|---:|{}---:|", "---:|".repeat(peers.len()));
        for size in [10usize, 1000, 10000] {
            let cell = |who: &str| self.warm_of(size, who).map_or("–".into(), fmt_us);
            let rel = match (self.warm_of(size, "ours"), self.warm_of(size, "floor")) {
                (Some(o), Some(f)) => format!("{:.2}x", o / f),
                _ => "–".into(),
            };
            let _ = writeln!(
                s,
                "| {size} | {} | {} | {} | {rel} |",
                cell("ours"),
                cell("floor"),
                peers
                    .iter()
                    .map(|p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        let _ = writeln!(
            s,
            "\nTime above the floor (the client's own work: median minus the floor's median):\n"
        );
        let _ = writeln!(s, "| clients | ours | {} |", peers.join(" | "));
        let _ = writeln!(s, "|---:|---:|{}", "---:|".repeat(peers.len()));
        for size in [10usize, 1000, 10000] {
            let Some(f) = self.warm_of(size, "floor") else {
                continue;
            };
            let cell = |who: &str| {
                self.warm_of(size, who)
                    .map_or("–".into(), |t| fmt_us(t - f))
            };
            let _ = writeln!(
                s,
                "| {size} | {} | {} |",
                cell("ours"),
                peers
                    .iter()
                    .map(|p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        // 2
        let _ = writeln!(s, "\n### 2. One-shot process, start to printed JSON (1,000 clients; median; requests sent)\n");
        let _ = writeln!(
            s,
            "| server latency | ours, warm session cache (`urbackup status --output json`) | ours, cold (first run) | {} |",
            peers.join(" | ")
        );
        let _ = writeln!(s, "|---|---:|---:|{}", "---:|".repeat(peers.len()));
        for latency in [0, LATENCY_MS] {
            let cell = |who: &str| {
                self.rows
                    .oneshot
                    .iter()
                    .find(|r| r.0 == latency && r.1 == who)
                    .map_or("–".into(), |r| {
                        format!(
                            "{:.1} ms ({} req)",
                            r.2,
                            r.5.map_or("?".into(), |q| q.to_string())
                        )
                    })
            };
            let _ = writeln!(
                s,
                "| {latency} ms | {} | {} | {} |",
                cell("ours"),
                cell("ours (cold)"),
                peers
                    .iter()
                    .map(|p| cell(p))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        let printed = |who: &str| {
            self.rows
                .printed
                .iter()
                .find(|r| r.0 == 0 && r.1 == who)
                .map_or("–".into(), |r| format!("{} KiB", r.2 / 1024))
        };
        let _ = writeln!(
            s,
            "| JSON printed | {} | {} | {} |",
            printed("ours"),
            printed("ours (cold)"),
            peers
                .iter()
                .map(|p| printed(p))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        if !self.rows.hyperfine.is_empty() {
            let _ = writeln!(
                s,
                "\nhyperfine cross-check, latency 0 ms (mean ± σ; runs not alternated): {}",
                self.rows
                    .hyperfine
                    .iter()
                    .map(|(c, m, sd)| format!("{c} {m:.1} ± {sd:.1} ms"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        // 3
        let _ = writeln!(
            s,
            "\n### 3. Requests per task (fresh process, login included; 1,000 clients)\n"
        );
        let _ = writeln!(
            s,
            "| task | contender | requests (0 ms) | requests (20 ms) | breakdown | wall at 20 ms |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---|---:|");
        for r in self.rows.requests.iter().filter(|r| r.0 == 0) {
            let lat = self
                .rows
                .requests
                .iter()
                .find(|q| q.0 == LATENCY_MS && q.1 == r.1 && q.2 == r.2);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                r.1,
                r.2,
                r.3,
                lat.map_or("–".into(), |q| q.3.to_string()),
                r.4,
                lat.map_or("–".into(), |q| format!("{:.0} ms", q.5))
            );
        }
        // 4
        let _ = writeln!(
            s,
            "\n### 4. Peak RSS of the one-shot task at 10,000 clients (JSON body: {:.2} MiB)\n",
            self.rows.json_bytes as f64 / 1048576.0
        );
        let _ = writeln!(s, "| contender | peak RSS | × JSON size | wall |");
        let _ = writeln!(s, "|---|---:|---:|---:|");
        for (c, r, w) in &self.rows.rss {
            let _ = writeln!(
                s,
                "| {c} | {:.1} MiB | {:.2} | {w:.0} ms |",
                r / 1048576.0,
                r / self.rows.json_bytes.max(1) as f64
            );
        }
        // 5
        let _ = writeln!(
            s,
            "\n### 5. Fleet: `urbackup status --all-profiles` ({} clients per server; median)\n",
            self.o.fleet_clients
        );
        let _ = writeln!(
            s,
            "| server latency | session cache | 1 server | 50 servers | ratio |"
        );
        let _ = writeln!(s, "|---|---|---:|---:|---:|");
        for latency in [0, LATENCY_MS] {
            for (label, rows) in [
                ("warm", &self.rows.fleet),
                ("cold (off)", &self.rows.fleet_cold),
            ] {
                let f = |n: usize| rows.iter().find(|r| r.0 == latency && r.1 == n);
                if let (Some(a), Some(b)) = (f(1), f(50)) {
                    let _ = writeln!(
                        s,
                        "| {latency} ms | {label} | {:.1} ms ({} req) | {:.1} ms ({} req) | {:.2}x |",
                        a.2,
                        a.5.unwrap_or(0),
                        b.2,
                        b.5.unwrap_or(0),
                        b.2 / a.2
                    );
                }
            }
        }
        if self.o.python_pkg.is_some() {
            s.push_str(&python_pkg::markdown(
                &self.rows.python_pkg,
                |z, w| self.warm_of(z, w),
                |l, w| self.oneshot_of(l, w),
                &[0, LATENCY_MS],
                fmt_us,
            ));
        }
        if let Some(r) = &self.rows.scrape {
            let _ = write!(s, "\n{}", r.markdown());
        }
        if let Some(r) = &self.rows.console {
            let _ = write!(s, "\n{}", r.markdown());
        }
        let _ = writeln!(s, "\n### Goals\n");
        let _ = writeln!(s, "| goal | result | measured |");
        let _ = writeln!(s, "|---|---|---|");
        for (g, met, d) in goals {
            let _ = writeln!(
                s,
                "| {g} | {} | {d} |",
                if *met { "met" } else { "**missed**" }
            );
        }
        let _ = writeln!(s, "\n### Ratio lines\n\n```");
        for (n, v) in ratios {
            let _ = writeln!(s, "ratio {n} {v:.2}");
        }
        let _ = writeln!(s, "```");
        if !self.rows.errors.is_empty() {
            let _ = writeln!(s, "\nErrors:\n");
            for e in &self.rows.errors {
                let _ = writeln!(s, "- {e}");
            }
        }
        s
    }
}

struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `fleet-sim` child: 50 simulators in one process, driven over stdin.
struct FleetProcess {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl FleetProcess {
    fn start(cmd: &mut Command, stderr: Stdio) -> Result<Self> {
        use std::io::BufRead;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().context("starting fleet-sim")?;
        let stdin = child.stdin.take().expect("piped");
        let mut stdout = std::io::BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        if !line.starts_with("ready") {
            bail!("fleet-sim: {line:?}");
        }
        Ok(FleetProcess {
            child,
            stdin,
            stdout,
        })
    }

    fn command(&mut self, c: &str) -> Result<String> {
        use std::io::{BufRead, Write};
        writeln!(self.stdin, "{c}")?;
        self.stdin.flush()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        Ok(line.trim().to_string())
    }

    fn reset(&mut self) -> Result<()> {
        self.command("reset").map(|_| ())
    }

    fn total(&mut self) -> Result<u64> {
        Ok(self.command("total")?.parse()?)
    }
}

impl Drop for FleetProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Clients in a printed status: a JSON array, or an object holding one (`clients`, `status`,
/// or per-profile results).
pub fn count_clients(out: &[u8]) -> Result<usize> {
    let v: Value = serde_json::from_slice(out).or_else(|_| {
        // JSON lines: one document per line.
        let mut arr = Vec::new();
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            arr.push(serde_json::from_slice::<Value>(line)?);
        }
        Ok::<Value, serde_json::Error>(Value::Array(arr))
    })?;
    fn count(v: &Value) -> usize {
        match v {
            Value::Array(a) => {
                if a.iter()
                    .all(|x| x.get("name").is_some() && x.get("id").is_some())
                {
                    a.len()
                } else {
                    a.iter().map(count).sum()
                }
            }
            Value::Object(o) => {
                for k in ["clients", "status"] {
                    if let Some(Value::Array(a)) = o.get(k) {
                        return count(&Value::Array(a.clone()));
                    }
                }
                o.values()
                    .filter(|x| x.is_array() || x.is_object())
                    .map(count)
                    .sum()
            }
            _ => 0,
        }
    }
    Ok(count(&v))
}

/// The name of an online client of the simulator (the one the tasks look up and back up).
fn pick_client(url: &str) -> Result<String> {
    let mut f = Floor::connect(url, USER, PASSWORD)?;
    f.status()?;
    let v: Value = serde_json::from_slice(f.last_body())?;
    let list = v["status"]
        .as_array()
        .ok_or_else(|| anyhow!("status without clients"))?;
    let mid = list.len() / 2;
    let pick = list[mid..]
        .iter()
        .chain(&list[..mid])
        .find(|c| c["online"].as_bool() == Some(true) && c["id"].is_i64())
        .or_else(|| list.first())
        .ok_or_else(|| anyhow!("no clients"))?;
    Ok(pick["name"].as_str().unwrap_or_default().to_string())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn fmt_us(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

/// nproc, CPU model, memory, kernel, date, git commit.
fn machine(o: &Opts) -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "?".into());
    let field = |k: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(k))
            .and_then(|l| l.split(':').nth(1))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let model = format!(
        "{model}, family {} model {} stepping {}, {:.1} GHz",
        field("cpu family"),
        field("model"),
        field("stepping"),
        field("cpu MHz").parse::<f64>().unwrap_or(0.0) / 1000.0
    );
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kb: u64 = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let sh = |c: &str, a: &[&str]| {
        Command::new(c)
            .args(a)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let git = sh("git", &["describe", "--always", "--dirty"]);
    let python = sh(&o.python.to_string_lossy(), &["--version"]);
    let node = sh(&o.node.to_string_lossy(), &["--version"]);
    let rustc = sh("rustc", &["--version"]);
    let summary = format!(
        "{nproc} CPUs ({model}), {:.1} GiB RAM, Linux {kernel}; {rustc}, {python}, Node {node}",
        mem_kb as f64 / 1048576.0
    );
    json!({"nproc": nproc, "cpu": model, "mem_kb": mem_kb, "kernel": kernel, "date": date,
           "git": git, "summary": summary})
}

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

mod oneshot;
mod requests;
mod summary;

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
    /// Part 8 (logins.rs).
    logins: Option<crate::logins::LoginsResult>,
    /// Part 9 (restore.rs).
    files: Option<crate::restore::FilesResult>,
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
                8 => self.part_logins(),
                9 => self.part_files(),
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
    fn error(&mut self, msg: String) {
        eprintln!("  ! {msg}");
        self.rows.errors.push(msg);
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

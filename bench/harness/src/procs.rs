//! Child processes: measured one-shot runs (wall time + peak RSS through wait4), simulator
//! processes and warm-loop workers.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::floor::Target;

/// One finished process run.
pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size (ru_maxrss), bytes.
    pub max_rss: u64,
    pub stdout: Vec<u8>,
    pub status: ExitStatus,
}

/// Runs `cmd` to completion, stdout captured (a pipe, like a shell pipeline), stderr to `stderr`.
///
/// The command is started through `urbackup-bench measure` (a small, freshly exec'd process),
/// which spawns it, waits for it with wait4(2) and reports wall time (spawn → exit) and peak
/// RSS. Spawning it from the harness itself would be wrong for the RSS: Linux carries the
/// spawning process's peak RSS over into the child's `ru_maxrss` at exec (the child starts on a
/// copy of, or with vfork the very, address space of the harness, tens of MiB here).
pub fn run_measured(cmd: &mut Command, stderr: Stdio) -> Result<Measured> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let report = std::env::temp_dir().join(format!(
        "urbackup-bench-{}-{}.json",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut w = Command::new(std::env::current_exe()?);
    w.arg("measure")
        .arg("--report")
        .arg(&report)
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => w.env(k, v),
            None => w.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        w.current_dir(d);
    }
    w.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(stderr);
    let mut child = w.spawn().with_context(|| format!("spawning {cmd:?}"))?;
    let mut out = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let helper = child.wait()?;
    let stdout = reader
        .join()
        .map_err(|_| anyhow!("stdout reader panicked"))??;
    let text = std::fs::read_to_string(&report)
        .with_context(|| format!("no report from the measuring helper ({helper}) for {cmd:?}"))?;
    let _ = std::fs::remove_file(&report);
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let num = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_u64())
            .ok_or_else(|| anyhow!("bad report {text}"))
    };
    Ok(Measured {
        wall: Duration::from_nanos(num("wall_ns")?),
        max_rss: num("maxrss_kib")? * 1024,
        stdout,
        status: ExitStatus::from_raw(num("wait_status")? as i32),
    })
}

/// `urbackup-bench measure --report FILE -- CMD...`: runs CMD with this process's stdio and
/// writes `{"wall_ns", "maxrss_kib", "wait_status"}` to FILE.
pub fn measure_child(report: &std::path::Path, argv: &[String]) -> Result<()> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| anyhow!("measure: no command"))?;
    let t0 = Instant::now();
    let child = Command::new(prog)
        .args(args)
        .spawn()
        .with_context(|| format!("spawning {prog}"))?;
    let (raw_status, rusage) = wait4(child.id() as libc::pid_t)?;
    let wall = t0.elapsed();
    let report_json = serde_json::json!({
        "wall_ns": wall.as_nanos() as u64,
        // Linux reports ru_maxrss in KiB.
        "maxrss_kib": rusage.ru_maxrss as u64,
        "wait_status": raw_status as u32 as u64,
    });
    std::fs::write(report, report_json.to_string())?;
    Ok(())
}

fn wait4(pid: libc::pid_t) -> Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain old data; wait4 fills it in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; pid is our own child, not yet reaped.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return Ok((status, ru));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
}

/// A running `urbackup-sim` process; killed when dropped.
pub struct SimProcess {
    child: Child,
    pub url: String,
    pub target: Target,
}

impl SimProcess {
    /// `urbackup-sim --listen 127.0.0.1:0 --clients N --admin admin:secret --seed 1 [--latency-ms L]`,
    /// URL taken from its first stdout line.
    pub fn start(
        bin: &std::path::Path,
        clients: usize,
        latency_ms: u64,
        admin: &str,
    ) -> Result<Self> {
        let mut cmd = Command::new(bin);
        cmd.args(["--listen", "127.0.0.1:0", "--admin", admin, "--seed", "1"])
            .args(["--clients", &clients.to_string()]);
        if latency_ms > 0 {
            cmd.args(["--latency-ms", &latency_ms.to_string()]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        let mut lines = BufReader::new(child.stdout.take().expect("piped"));
        let mut first = String::new();
        lines.read_line(&mut first)?;
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| anyhow!("urbackup-sim did not print its URL: {first:?}"))?
            .to_string();
        let target = Target::parse(&url)?;
        Ok(SimProcess { child, url, target })
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Simulator request counters (`GET /_sim/stats`, `POST /_sim/reset`).
pub struct SimCounters {
    pub target: Target,
}

impl SimCounters {
    pub fn reset(&self) -> Result<()> {
        crate::floor::request(&self.target, "POST", "/_sim/reset", "")?;
        Ok(())
    }

    /// Per-action request counts (control requests excluded).
    pub fn stats(&self) -> Result<serde_json::Value> {
        let body = crate::floor::request(&self.target, "GET", "/_sim/stats", "")?;
        serde_json::from_slice(&body).context("/_sim/stats is not JSON")
    }
}

/// Total action requests in a `/_sim/stats` reply, plus the per-action breakdown.
pub fn request_counts(stats: &serde_json::Value) -> (u64, Vec<(String, u64)>) {
    // Accept {"requests": {action: n}, ...}, {"actions": {...}} or a flat {action: n}.
    let map = ["requests", "actions", "by_action"]
        .iter()
        .find_map(|k| stats.get(*k).and_then(|v| v.as_object()))
        .or_else(|| stats.as_object());
    let mut per: Vec<(String, u64)> = map
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_u64().map(|n| (k.clone(), n)))
                .filter(|(k, n)| *n > 0 && !k.starts_with("total") && k != "logins")
                .collect()
        })
        .unwrap_or_default();
    per.sort();
    let total = stats
        .get("total")
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| per.iter().map(|(_, n)| n).sum());
    (total, per)
}

/// A warm-loop worker speaking the stdin protocol; closed (EOF) and reaped when dropped.
pub struct Worker {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    pub fn start(name: &str, mut cmd: Command, stderr: Stdio) -> Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut w = Worker {
            name: name.to_string(),
            child,
            stdin,
            stdout,
        };
        let ready = w.read_json()?;
        if ready.get("ready").and_then(|v| v.as_bool()) != Some(true) {
            bail!("{name}: unexpected first line {ready}");
        }
        Ok(w)
    }

    fn read_json(&mut self) -> Result<serde_json::Value> {
        loop {
            let mut line = String::new();
            if self.stdout.read_line(&mut line)? == 0 {
                let status = self.child.wait()?;
                bail!("{}: worker exited ({status})", self.name);
            }
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) {
                return Ok(v);
            }
        }
    }

    /// Times `k` calls; returns microseconds per call.
    pub fn batch(&mut self, k: usize) -> Result<Vec<f64>> {
        let stdin = self.stdin.as_mut().expect("open");
        writeln!(stdin, "{k}")?;
        stdin.flush()?;
        let v = self.read_json()?;
        let us = v
            .get("us")
            .and_then(|a| a.as_array())
            .ok_or_else(|| anyhow!("{}: bad batch reply {v}", self.name))?;
        Ok(us.iter().filter_map(|x| x.as_f64()).collect())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

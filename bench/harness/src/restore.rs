//! Part 9: downloads and the versions of a file through the console (issue 23).
//!
//! `urbackup-bench files-sim` runs one simulated server (0 ms latency) in a process of its
//! own with client `files-pc`: 100 file backups, a file `/C/big/disk.img` of 1 GiB (256 MiB
//! with `--quick`) streamed by the simulator piece by piece, and `/C/docs/plan.txt` that
//! changes every tenth backup. Then:
//!
//! * the same file downloaded by the library (`download_file_stream` drained in this process,
//!   and `download_file`, its own download, to a file) and through the console
//!   (`GET .../download`, read from a socket and dropped), alternated, three rounds each:
//!   throughput of each, and the console's RSS growth during its downloads (VmRSS sampled
//!   every 5 ms, against its VmRSS before);
//! * the versions of `/C/docs/plan.txt` across the 100 backups through the console: the first
//!   page (cold: one listing per backup) and the same page again (from the cache), with the
//!   `backups` requests the server saw for each; and the library's own `file_versions`.
//!
//! Goals: console throughput at least 0.8x the library's, RSS growth at most 32 MiB, versions
//! cold under 2 s, warm with 0 requests to the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

use crate::scrape::{command, Child};

const PASSWORD: &str = "secret";
const CLIENT: &str = "files-pc";
const BIG: &str = "/C/big/disk.img";
const PLAN: &str = "/C/docs/plan.txt";
const BACKUPS: usize = 100;

/// `urbackup-bench files-sim`: the server of part 9; prints `ready URL BACKUPID`, then
/// answers `backups` (requests of that action so far) and `reset` on stdin.
pub fn serve(size: u64, dir: &Path) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let versions: Vec<Option<Vec<u8>>> = (0..BACKUPS)
        .map(|k| Some(format!("plan, version {}\n", k / 10).into_bytes()))
        .collect();
    let sim = rt.block_on(
        urbackup_sim::Simulator::builder()
            .client(
                urbackup_sim::ClientSpec::new(CLIENT)
                    .windows()
                    .backups(BACKUPS, 0)
                    .file_versions(PLAN, &versions)
                    .large_file(BIG, size),
            )
            .admin(crate::cli::USER, PASSWORD)
            .start(),
    )?;
    let id = sim.client_id(CLIENT).ok_or_else(|| anyhow!("no client"))?;
    let newest = sim.with_state(|s| {
        s.clients[&id]
            .file_backups
            .last()
            .map(|b| b.id)
            .unwrap_or(0)
    });
    std::fs::create_dir_all(dir)?;
    let config = dir.join("files.toml");
    std::fs::write(&config, crate::cli::fleet_config(&[sim.url()], PASSWORD))?;
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600))?;
    let stdout = std::io::stdout();
    writeln!(stdout.lock(), "ready {} {newest}", sim.url())?;
    for line in std::io::stdin().lock().lines() {
        let reply = match line?.trim() {
            "backups" => sim.requests("backups").to_string(),
            "reset" => {
                sim.reset_counters();
                "ok".into()
            }
            other => format!("unknown command {other:?}"),
        };
        let mut out = stdout.lock();
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    Ok(())
}

/// What part 9 measured.
pub struct FilesResult {
    pub size: u64,
    /// MB/s of each round: the library's stream drained, its `download_file` to a file, the
    /// console.
    pub library: Vec<f64>,
    pub to_file: Vec<f64>,
    pub console: Vec<f64>,
    /// CPU seconds the console used for one download (median).
    pub console_cpu_s: f64,
    /// VmRSS growth of the console during its downloads, bytes (the largest of the rounds).
    pub rss_growth: u64,
    /// The console's VmRSS before the first download, bytes.
    pub rss_before: u64,
    pub versions_cold_ms: f64,
    pub versions_cold_requests: u64,
    pub versions_warm_ms: f64,
    pub versions_warm_requests: u64,
    pub versions_library_ms: f64,
    pub versions_library_requests: u64,
    pub versions_found: usize,
}

fn median(v: &[f64]) -> f64 {
    crate::stats::median(v)
}

impl FilesResult {
    /// The console against the library's own download (`download_file`).
    fn ratio(&self) -> f64 {
        median(&self.console) / median(&self.to_file)
    }

    /// The console against the library's stream drained in memory (no file written).
    fn ratio_stream(&self) -> f64 {
        median(&self.console) / median(&self.library)
    }

    pub fn ratios(&self) -> Vec<(String, f64)> {
        vec![
            (
                "console_download_vs_library_download_file".into(),
                self.ratio(),
            ),
            (
                "console_download_vs_library_stream_drained".into(),
                self.ratio_stream(),
            ),
            (
                "console_download_rss_vs_32mib_goal".into(),
                32.0 * 1048576.0 / (self.rss_growth.max(1) as f64),
            ),
            (
                "console_versions_100_backups_vs_2s_goal".into(),
                2000.0 / self.versions_cold_ms,
            ),
        ]
    }

    pub fn goals(&self) -> Vec<(String, bool, String)> {
        let mib = self.size as f64 / 1048576.0;
        vec![
            (
                format!("console download of {mib:.0} MiB at least 0.8x the library's own download (`download_file`)"),
                self.ratio() >= 0.8,
                format!(
                    "{:.0} vs {:.0} MB/s ({:.2}x)",
                    median(&self.console),
                    median(&self.to_file),
                    self.ratio()
                ),
            ),
            (
                format!("console download of {mib:.0} MiB at least 0.8x the library's stream drained in memory"),
                self.ratio_stream() >= 0.8,
                format!(
                    "{:.0} vs {:.0} MB/s ({:.2}x)",
                    median(&self.console),
                    median(&self.library),
                    self.ratio_stream()
                ),
            ),
            (
                "console RSS grows by at most 32 MiB during a download".into(),
                self.rss_growth <= 32 * 1048576,
                format!("+{:.1} MiB", self.rss_growth as f64 / 1048576.0),
            ),
            (
                format!("versions of a file across {BACKUPS} file backups under 2 s (0 ms latency)"),
                self.versions_cold_ms < 2000.0,
                format!(
                    "{:.0} ms, {} requests",
                    self.versions_cold_ms, self.versions_cold_requests
                ),
            ),
            (
                "versions again from the cache, no request to the server".into(),
                self.versions_warm_requests == 0,
                format!(
                    "{:.1} ms, {} requests",
                    self.versions_warm_ms, self.versions_warm_requests
                ),
            ),
        ]
    }

    pub fn markdown(&self) -> String {
        let mb = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "### 9. Console: downloads and the versions of a file (one simulated server, 0 ms, {BACKUPS} file backups)\n\n\
             | download of {:.0} MiB | median MB/s | rounds (MB/s) |\n|---|---|---|\n\
             | library `download_file` (to a file, synced) | {:.0} | {} |\n\
             | library `download_file_stream`, drained in memory | {:.0} | {} |\n\
             | through the console (`GET .../download`, read from the socket) | {:.0} | {} |\n\n\
             Console VmRSS {:.1} MiB before, +{:.1} MiB at most during a download; the console used {:.2} s of CPU per download.\n\n\
             | versions of one file across {BACKUPS} backups | time | `backups` requests |\n|---|---|---|\n\
             | console, first time (cold) | {:.0} ms | {} |\n\
             | console, again (from the cache) | {:.1} ms | {} |\n\
             | library `file_versions` (no cache) | {:.0} ms | {} |\n\n\
             {} of the {BACKUPS} backups hold the file.\n",
            self.size as f64 / 1048576.0,
            median(&self.to_file),
            mb(&self.to_file),
            median(&self.library),
            mb(&self.library),
            median(&self.console),
            mb(&self.console),
            self.rss_before as f64 / 1048576.0,
            self.rss_growth as f64 / 1048576.0,
            self.console_cpu_s,
            self.versions_cold_ms,
            self.versions_cold_requests,
            self.versions_warm_ms,
            self.versions_warm_requests,
            self.versions_library_ms,
            self.versions_library_requests,
            self.versions_found,
        )
    }

    pub fn json(&self) -> Value {
        json!({
            "size": self.size, "library_mb_s": self.library, "download_file_mb_s": self.to_file, "console_mb_s": self.console,
            "rss_before": self.rss_before, "console_cpu_s": self.console_cpu_s, "rss_growth": self.rss_growth,
            "versions_cold_ms": self.versions_cold_ms, "versions_cold_requests": self.versions_cold_requests,
            "versions_warm_ms": self.versions_warm_ms, "versions_warm_requests": self.versions_warm_requests,
            "versions_library_ms": self.versions_library_ms,
            "versions_library_requests": self.versions_library_requests, "versions_found": self.versions_found,
        })
    }
}

/// CPU seconds a process has used (user + system, `/proc/PID/stat`; 100 ticks a second).
fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let t = |i: usize| rest.get(i).and_then(|v| v.parse::<f64>().ok());
            Some((t(11)? + t(12)?) / 100.0)
        })
        .unwrap_or(0.0)
}

fn vm_rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// `GET path` through the console, the body read and dropped: (status line, body bytes).
fn fetch(addr: &str, path: &str, cookie: &str) -> Result<(String, u64)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )?;
    let mut r = BufReader::with_capacity(256 * 1024, s);
    let mut status = String::new();
    r.read_line(&mut status)?;
    loop {
        let mut l = String::new();
        r.read_line(&mut l)?;
        if l == "\r\n" || l.is_empty() {
            break;
        }
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
    }
    Ok((status.trim().to_owned(), n))
}

/// Runs part 9.
pub fn run(
    urbackup: &Path,
    bench: &Path,
    out: &Path,
    size: u64,
    log: impl Fn(&str) -> Stdio,
    env: impl Fn(&mut Command),
) -> Result<FilesResult> {
    let dir = out.join("files");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let mut sim = Command::new(bench);
    sim.args(["files-sim", "--size", &size.to_string(), "--dir"])
        .arg(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log("files-sim"));
    env(&mut sim);
    let mut sim = Child(sim.spawn().context("starting files-sim")?);
    let mut sim_in = sim.0.stdin.take().expect("piped");
    let mut sim_out = BufReader::new(sim.0.stdout.take().expect("piped"));
    let mut ready = String::new();
    sim_out.read_line(&mut ready)?;
    let mut words = ready.split_whitespace();
    let (Some("ready"), Some(url), Some(newest)) = (words.next(), words.next(), words.next())
    else {
        bail!("files-sim: {ready:?}");
    };
    let (url, newest): (String, i64) = (url.to_owned(), newest.parse()?);

    // The console over it, with a viewer-less operator.
    let db = dir.join("console.sqlite3");
    let mut add = Command::new(urbackup);
    add.args(["console", "user", "add", "bench", "--role", "operator"])
        .args(["--password-stdin", "--db"])
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(log("files-user-add"));
    env(&mut add);
    let mut add = add.spawn()?;
    add.stdin
        .take()
        .expect("piped")
        .write_all(b"bench-password\n")?;
    if !add.wait()?.success() {
        bail!("console user add failed");
    }
    let mut c = Command::new(urbackup);
    c.arg("--config")
        .arg(dir.join("files.toml"))
        .args(["--all-profiles", "console", "--listen", "127.0.0.1:0"])
        .args(["--interval", "3600s", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    env(&mut c);
    let mut console = Child(c.spawn().context("starting the console")?);
    let pid = console.0.id();
    let mut err = BufReader::new(console.0.stderr.take().expect("piped"));
    let mut addr = None;
    let mut said = String::new();
    for _ in 0..10 {
        let mut l = String::new();
        if err.read_line(&mut l)? == 0 {
            break;
        }
        said.push_str(&l);
        if l.starts_with("console of ") {
            addr = l
                .rsplit(" on http://")
                .next()
                .and_then(|r| r.split('/').next())
                .map(str::to_owned);
            break;
        }
    }
    let addr = addr.ok_or_else(|| anyhow!("the console did not start: {said}"))?;
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = err.read_to_string(&mut rest);
    });
    let cookie = crate::console::login(&addr, "bench", "bench-password")?;
    // The first poll read the client and its backup list.
    let client_id = {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, body) = crate::console::http(&addr, "GET", "/servers/sim00", &cookie, "")?;
            if let Some(at) = body.find("/servers/sim00/clients/") {
                let id: String = body[at + 23..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let id: i64 = id.parse()?;
                let (_, page) = crate::console::http(
                    &addr,
                    "GET",
                    &format!("/servers/sim00/clients/{id}"),
                    &cookie,
                    "",
                )?;
                if page.contains(&format!("/backups/{newest}\"")) {
                    break id;
                }
            }
            if Instant::now() > deadline {
                bail!("the console did not read the backup list in a minute");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    // Downloads: the library and the console, alternated.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let server = crate::ours::connect(&url, crate::cli::USER, PASSWORD)?;
    let path = format!(
        "/servers/sim00/clients/{client_id}/backups/{newest}/download?path=%2FC%2Fbig%2Fdisk.img"
    );
    let rss_before = vm_rss(pid);
    let (mut library, mut to_file, mut through, mut growth) =
        (Vec::new(), Vec::new(), Vec::new(), 0u64);
    let mut cpu = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let n = rt.block_on(async {
            let mut d = server
                .download_file_stream(client_id, urbackup::BackupRef::File(newest), BIG)
                .await?;
            while d.next_chunk().await?.is_some() {}
            anyhow::Ok(d.received())
        })?;
        if n != size {
            bail!("the library received {n} of {size} bytes");
        }
        library.push(size as f64 / 1e6 / t.elapsed().as_secs_f64());

        // The library's own download: `download_file` (what `urbackup backups download`
        // runs), written to a file beside the results and synced, then removed.
        let dest = dir.join("download.bin");
        let t = Instant::now();
        let n = rt.block_on(server.download_file(
            client_id,
            urbackup::BackupRef::File(newest),
            BIG,
            &dest,
        ))?;
        if n != size {
            bail!("download_file wrote {n} of {size} bytes");
        }
        to_file.push(size as f64 / 1e6 / t.elapsed().as_secs_f64());
        let _ = std::fs::remove_file(&dest);

        let base = vm_rss(pid);
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(base));
        let sampler = {
            let (stop, peak) = (stop.clone(), peak.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(vm_rss(pid), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let cpu0 = cpu_secs(pid);
        let t = Instant::now();
        let (status, n) = fetch(&addr, &path, &cookie)?;
        let secs = t.elapsed().as_secs_f64();
        cpu.push(cpu_secs(pid) - cpu0);
        stop.store(true, Ordering::Relaxed);
        let _ = sampler.join();
        if !status.starts_with("HTTP/1.1 200") || n != size {
            bail!("the console sent {n} of {size} bytes ({status})");
        }
        through.push(size as f64 / 1e6 / secs);
        growth = growth.max(peak.load(Ordering::Relaxed).saturating_sub(rss_before));
    }

    // Versions across the backups: cold, then from the cache.
    let versions =
        format!("/servers/sim00/clients/{client_id}/versions?path=%2FC%2Fdocs%2Fplan.txt");
    command(&mut sim_in, &mut sim_out, "reset")?;
    let t = Instant::now();
    let (head, body) = crate::console::http(&addr, "GET", &versions, &cookie, "")?;
    let cold = t.elapsed().as_secs_f64() * 1000.0;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("versions: {head}");
    }
    let cold_requests: u64 = command(&mut sim_in, &mut sim_out, "backups")?.parse()?;
    let found = body.matches("/download?path=").count();
    command(&mut sim_in, &mut sim_out, "reset")?;
    let t = Instant::now();
    let _ = crate::console::http(&addr, "GET", &versions, &cookie, "")?;
    let warm = t.elapsed().as_secs_f64() * 1000.0;
    let warm_requests: u64 = command(&mut sim_in, &mut sim_out, "backups")?.parse()?;
    command(&mut sim_in, &mut sim_out, "reset")?;
    let t = Instant::now();
    let v = rt.block_on(server.file_versions(client_id, PLAN))?;
    let lib_ms = t.elapsed().as_secs_f64() * 1000.0;
    let lib_requests: u64 = command(&mut sim_in, &mut sim_out, "backups")?.parse()?;
    if v.versions.len() != found {
        bail!(
            "the console listed {found} versions, the library {}",
            v.versions.len()
        );
    }
    drop(console);
    drop(sim);
    Ok(FilesResult {
        size,
        library,
        to_file,
        console: through,
        console_cpu_s: median(&cpu),
        rss_growth: growth,
        rss_before,
        versions_cold_ms: cold,
        versions_cold_requests: cold_requests,
        versions_warm_ms: warm,
        versions_warm_requests: warm_requests,
        versions_library_ms: lib_ms,
        versions_library_requests: lib_requests,
        versions_found: found,
    })
}

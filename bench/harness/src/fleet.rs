//! `urbackup-bench fleet-sim`: many simulated servers in one process (the simulator's Rust API),
//! for part 5. Writes two CLI config files into DIR — `fleet-N.toml` (every server) and
//! `fleet-1.toml` (the first one only) — prints `ready`, then serves stdin commands:
//! `total` → total action requests over all servers, `reset` → zero the counters. EOF stops it.

use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use urbackup_sim::Simulator;

use crate::cli;

const PASSWORD: &str = "secret";

pub fn serve(servers: usize, clients: usize, latency_ms: u64, dir: &Path) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let sims = rt.block_on(async {
        let mut sims = Vec::with_capacity(servers);
        for i in 0..servers {
            let sim = Simulator::builder()
                .clients(clients)
                .admin(cli::USER, PASSWORD)
                .latency(Duration::from_millis(latency_ms))
                .seed(i as u64 + 1)
                .start()
                .await?;
            sims.push(sim);
        }
        anyhow::Ok(sims)
    })?;
    let urls: Vec<String> = sims.iter().map(|s| s.url().to_string()).collect();
    std::fs::create_dir_all(dir)?;
    for (file, urls) in [
        (format!("fleet-{servers}.toml"), &urls[..]),
        ("fleet-1.toml".into(), &urls[..1]),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, cli::fleet_config(urls, PASSWORD))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    let stdout = std::io::stdout();
    writeln!(stdout.lock(), "ready {servers}")?;
    for line in std::io::stdin().lock().lines() {
        let reply = match line?.trim() {
            "total" => sims
                .iter()
                .map(|s| s.total_requests())
                .sum::<u64>()
                .to_string(),
            "reset" => {
                sims.iter().for_each(|s| s.reset_counters());
                "ok".to_string()
            }
            other => format!("unknown command {other:?}"),
        };
        let mut out = stdout.lock();
        writeln!(out, "{reply}")?;
        out.flush()?;
    }
    drop(sims);
    Ok(())
}

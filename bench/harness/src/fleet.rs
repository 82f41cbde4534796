//! `urbackup-bench fleet-sim` (part 5): many simulated servers in one process. Waits for the
//! simulator's Rust API (`urbackup_sim::Simulator`).

use std::path::Path;

use anyhow::{bail, Result};

pub fn serve(servers: usize, clients: usize, latency_ms: u64, dir: &Path) -> Result<()> {
    let _ = crate::cli::fleet_config(&[]);
    bail!(
        "fleet-sim ({servers} servers, {clients} clients, {latency_ms} ms, {}): the simulator's \
         Rust API is not available yet",
        dir.display()
    )
}

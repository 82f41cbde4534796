//! Warm-loop workers for "ours" (the library) and the floor. Same stdin protocol as the peers'
//! drivers (`bench/peers/_warmloop.py`): log in, one untimed warm-up call, print `{"ready":true}`;
//! then for each stdin line `K`, time K calls and print `{"us":[...]}`; EOF ends the worker.
//! With `--n N`: time N calls once and print `{"median_us":M,"n":N}`.

use std::io::{BufRead, Write};
use std::time::Instant;

use anyhow::{bail, Result};

use crate::stats::median;

/// Runs the protocol around `call` (one "all client statuses" call; returns the client count).
pub fn serve(n: Option<usize>, mut call: impl FnMut() -> Result<usize>) -> Result<()> {
    let clients = call()?; // warm-up, untimed
    if clients == 0 {
        bail!("status call returned no clients");
    }
    let mut batch = |k: usize| -> Result<Vec<f64>> {
        let mut us = Vec::with_capacity(k);
        for _ in 0..k {
            let t0 = Instant::now();
            let got = std::hint::black_box(call()?);
            us.push(t0.elapsed().as_nanos() as f64 / 1000.0);
            if got != clients {
                bail!("client count changed: {got} != {clients}");
            }
        }
        Ok(us)
    };
    let stdout = std::io::stdout();
    if let Some(n) = n {
        let us = batch(n)?;
        let line = serde_json::json!({ "median_us": median(&us), "n": n });
        writeln!(stdout.lock(), "{line}")?;
        return Ok(());
    }
    writeln!(stdout.lock(), "{}", serde_json::json!({ "ready": true }))?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let us = batch(line.parse()?)?;
        let mut out = stdout.lock();
        writeln!(out, "{}", serde_json::json!({ "us": us }))?;
        out.flush()?;
    }
    Ok(())
}

/// The floor: raw TCP, no parsing (see `floor.rs`).
pub fn floor(url: &str, user: &str, password: &str, n: Option<usize>) -> Result<()> {
    let mut f = crate::floor::Floor::connect(url, user, password)?;
    // The floor does not parse; the count reported to the protocol is a constant 1 per call.
    serve(n, || f.status().map(|_| 1))
}

/// Ours: the library's typed `get_client_statuses()` on an open session (async API, driven by a
/// current-thread tokio runtime, as a small tool would).
pub fn ours(url: &str, user: &str, password: &str, n: Option<usize>) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = crate::ours::connect(url, user, password)?;
    serve(n, || rt.block_on(crate::ours::statuses(&server)))
}

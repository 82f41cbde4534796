//! `backup start` never sends a start the server would accept and never run (the library's
//! `StartRefusal`): against the simulator speaking 2.4 (where an image start of a Linux
//! client would stop its file backups until a restart) and 2.5, counting the `start_backup`
//! requests that reach it; a file backup started afterwards finishes.

use assert_cmd::Command;
use serde_json::Value;
use std::time::Duration;
use urbackup_sim::{ClientSpec, ServerVersion, SimServer, Simulator};

mod common;

const PASSWORD: &str = "secret";

fn sim(v: ServerVersion) -> SimServer {
    Simulator::builder()
        .client(ClientSpec::new("alpha").windows().backups(1, 1))
        .client(ClientSpec::new("beta").linux().backups(1, 0))
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .server_version(v)
        .start_blocking()
        .expect("simulator starts")
}

fn cli(sim: &SimServer) -> Command {
    let mut c = common::urbackup();
    c.args(["--url", &sim.url(), "--user", "admin"])
        .env("URBACKUP_PASSWORD", PASSWORD);
    c
}

/// `backup start ARGS --output json`: the exit code and the rows.
fn start(sim: &SimServer, args: &[&str]) -> (i32, Value) {
    let out = cli(sim)
        .args(["backup", "start"])
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    let rows = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), rows)
}

fn switch(sim: &SimServer, key: &str, on: bool) {
    sim.with_state(|st| {
        st.general.insert(key.into(), on.to_string());
    });
}

#[test]
fn refused_starts_are_never_sent_and_file_backups_keep_running() {
    for v in [ServerVersion::V2_4, ServerVersion::V2_5] {
        let sim = sim(v);
        for kind in ["--incr", "--full"] {
            let (code, rows) = start(&sim, &["beta", kind, "--image"]);
            assert_eq!(code, 4, "{v} {rows}");
            assert_eq!(rows[0]["result"], "unsupported");
            assert_eq!(rows[0]["note"], "the client cannot do image backups");
        }
        // With --wait too: refused before anything is read or sent for it.
        let (code, _) = start(&sim, &["beta", "--full", "--image", "--wait"]);
        assert_eq!(code, 4);
        assert_eq!(sim.requests("start_backup"), 0, "{v}");
        sim.with_state(|st| assert!(st.pending_starts.is_empty()));

        // beta's file backups run and finish.
        let (code, rows) = start(
            &sim,
            &["beta", "--incr", "--file", "--wait", "--interval", "0.2"],
        );
        assert_eq!(code, 0, "{v} {rows}");
        assert_eq!(rows[0]["result"], "ok");
        assert!(rows[0]["backup_id"].as_i64().unwrap() > 0);
        assert_eq!(sim.requests("start_backup"), 1);

        // Beside a client that can: the other one is started, beta is not.
        let (code, rows) = start(&sim, &["beta", "alpha", "--incr", "--image"]);
        assert_eq!(code, 4, "{rows}");
        assert_eq!(rows[0]["client"], "beta");
        assert_eq!(rows[0]["result"], "unsupported");
        assert_eq!(rows[1]["result"], "queued");
        assert_eq!(sim.requests("start_backup"), 2);
        let beta = sim.client_id("beta").unwrap();
        sim.with_state(|st| assert!(!st.pending_starts.contains_key(&beta)));
    }
}

#[test]
fn a_kind_switched_off_on_the_server_is_not_started() {
    for v in [ServerVersion::V2_4, ServerVersion::V2_5] {
        let sim = sim(v);
        switch(&sim, "no_images", true);
        let (code, rows) = start(&sim, &["alpha", "--incr", "--image"]);
        assert_eq!(code, 4, "{v} {rows}");
        assert_eq!(
            rows[0]["note"],
            "image backups are switched off on the server (no_images)"
        );
        switch(&sim, "no_images", false);
        switch(&sim, "no_file_backups", true);
        let (code, rows) = start(&sim, &["alpha", "beta", "--full", "--file"]);
        assert_eq!(code, 4, "{v} {rows}");
        for row in rows.as_array().unwrap() {
            assert_eq!(
                row["note"],
                "file backups are switched off on the server (no_file_backups)"
            );
        }
        assert_eq!(sim.requests("start_backup"), 0, "{v}");
        switch(&sim, "no_file_backups", false);
        let (code, rows) = start(
            &sim,
            &["alpha", "--full", "--file", "--wait", "--interval", "0.2"],
        );
        assert_eq!(code, 0, "{v} {rows}");
        assert_eq!(sim.requests("start_backup"), 1);
    }
}

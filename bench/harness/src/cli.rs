//! How the harness drives the `urbackup` command-line tool (kept in one place: the CLI's exact
//! flags are defined in `crates/urbackup-cli`). The password always travels in
//! `URBACKUP_PASSWORD`, never on the command line.

use std::fmt::Write as _;

pub const USER: &str = "admin";

/// `urbackup --url URL --user admin status --output json`: the one-shot task.
pub fn status_json(url: &str) -> Vec<String> {
    args(&["--url", url, "--user", USER, "status", "--output", "json"])
}

/// Task: look a client up by name.
pub fn lookup(url: &str, name: &str) -> Vec<String> {
    args(&[
        "--url", url, "--user", USER, "status", "--client", name, "--output", "json",
    ])
}

/// Task: start an incremental file backup of a client given by name.
pub fn start_backup(url: &str, name: &str) -> Vec<String> {
    args(&[
        "--url",
        url,
        "--user",
        USER,
        "backup",
        "start",
        name,
        "--type",
        "incr-file",
    ])
}

/// The Prometheus exporter listening on `listen`.
pub fn exporter(url: &str, listen: &str) -> Vec<String> {
    args(&["--url", url, "--user", USER, "exporter", "--listen", listen])
}

/// One `check` run (monitoring-plugin style health check of all clients).
pub fn check(url: &str) -> Vec<String> {
    args(&["--url", url, "--user", USER, "check"])
}

/// `urbackup --config FILE status --all-profiles --output json`.
pub fn fleet_status(config: &str) -> Vec<String> {
    args(&[
        "--config",
        config,
        "status",
        "--all-profiles",
        "--output",
        "json",
    ])
}

/// A config file with one profile per server URL (password through the environment).
pub fn fleet_config(urls: &[String]) -> String {
    let mut s = String::new();
    for (i, url) in urls.iter().enumerate() {
        let _ = writeln!(
            s,
            "[profiles.sim{i:02}]\nurl = \"{url}\"\nuser = \"{USER}\"\npassword_env = \"URBACKUP_PASSWORD\"\n"
        );
    }
    s
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

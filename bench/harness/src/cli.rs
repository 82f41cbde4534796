//! How the harness drives the `urbackup` command-line tool (kept in one place: the CLI's exact
//! flags are defined in `crates/urbackup-cli`). The password always travels in
//! `URBACKUP_PASSWORD`, never on the command line.

use std::fmt::Write as _;

pub const USER: &str = "admin";

/// `urbackup --url URL --user admin status --output json`: the one-shot task.
pub fn status_json(url: &str) -> Vec<String> {
    args(&["--url", url, "--user", USER, "status", "--output", "json"])
}

/// Task: look a client up by name (`status --client NAME`, like the peers' by-name lookups:
/// one `status` request filtered on the client side).
pub fn lookup(url: &str, name: &str) -> Vec<String> {
    args(&[
        "--url", url, "--user", USER, "status", "--client", name, "--output", "json",
    ])
}

/// Task: start a backup of a client given by name (default: incremental file backup).
pub fn start_backup(url: &str, name: &str) -> Vec<String> {
    args(&["--url", url, "--user", USER, "backup", "start", name])
}

/// The Prometheus exporter listening on `listen`.
pub fn exporter(url: &str, listen: &str) -> Vec<String> {
    args(&["--url", url, "--user", USER, "exporter", "--listen", listen])
}

/// One `check` run (monitoring plugin: default thresholds, exit 0/1/2, 3 = UNKNOWN).
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

/// A config file with one profile per server URL. `--all-profiles` takes passwords from the
/// profiles only (not from the environment), so the file holds it and must be private (0600).
pub fn fleet_config(urls: &[String], password: &str) -> String {
    let mut s = String::new();
    for (i, url) in urls.iter().enumerate() {
        let _ = writeln!(
            s,
            "[profiles.sim{i:02}]\nurl = \"{url}\"\nuser = \"{USER}\"\npassword = \"{password}\"\n"
        );
    }
    s
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

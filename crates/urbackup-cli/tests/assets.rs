//! The ready-made assets in `contrib/` use only metrics the exporter emits: every
//! `urbackup_*` name in the Grafana dashboard and the Prometheus alert rules must be a sample
//! name of a real scrape (the exporter against a simulated server, over HTTP). The dashboard
//! is valid JSON with a PromQL expression in every target; the systemd units start the
//! console and the exporter from the files the package installs.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::time::Duration;
use urbackup_sim::{ClientSpec, Simulator};

mod common;

fn contrib(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contrib")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every `urbackup_...` word of a text.
fn names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("urbackup_") {
        let start = i + pos;
        let before_ok =
            start == 0 || !(b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'_');
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        if before_ok {
            out.insert(text[start..end].to_owned());
        }
        i = end;
    }
    out
}

/// Sample names of a scrape: the exporter against a simulator with every kind of client and a
/// running backup.
fn scraped() -> BTreeSet<String> {
    let sim = Simulator::builder()
        .client(ClientSpec::new("win").windows().backups(3, 2))
        .client(
            ClientSpec::new("lin")
                .linux()
                .backups(2, 0)
                .last_backup_failed(),
        )
        .client(ClientSpec::new("new").linux())
        .client(
            ClientSpec::new("off")
                .windows()
                .backups(2, 1)
                .file_backups_disabled(),
        )
        .admin("admin", "pw")
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(600))
        .start_blocking()
        .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args([
            "--url",
            &sim.url(),
            "--user",
            "admin",
            "exporter",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--server-version", "2.5.33", "--file-warning", "1d"])
        .env("URBACKUP_PASSWORD", "pw")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-assets-tests")
        .env_remove("URBACKUP_CONFIG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|l| l.strip_suffix("/metrics\n"))
        .unwrap_or_else(|| panic!("address in {line:?}"))
        .to_owned();
    // A running backup, for the action metrics.
    let st = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args([
            "--url",
            &sim.url(),
            "--user",
            "admin",
            "backup",
            "start",
            "win",
            "--full",
            "--file",
        ])
        .env("URBACKUP_PASSWORD", "pw")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-assets-tests")
        .env_remove("URBACKUP_CONFIG")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let (_, text) = common::http_get(&addr, "/metrics");
    let _ = child.kill();
    let _ = child.wait();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty() && l.starts_with("urbackup_"))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn dashboard_and_alert_rules_use_only_emitted_metrics() {
    let dashboard = contrib("grafana/urbackup-fleet.json");
    let rules = contrib("prometheus/urbackup-alerts.yml");
    let v: serde_json::Value = serde_json::from_str(&dashboard).expect("valid JSON");
    let mut exprs = Vec::new();
    for p in v["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let e = t["expr"].as_str().expect("every target has an expression");
            assert!(e.contains("urbackup_"), "{e}");
            exprs.push(e.to_owned());
        }
    }
    assert!(exprs.len() >= 20, "fleet, server and client panels");
    let used: BTreeSet<String> = names(&exprs.join("\n"))
        .into_iter()
        .chain(
            names(&rules)
                .into_iter()
                .filter(|n| !n.starts_with("urbackup_exporter")),
        )
        .collect();
    let emitted = scraped();
    assert!(emitted.contains("urbackup_up"), "{emitted:?}");
    let missing: Vec<&String> = used.iter().filter(|n| !emitted.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "not emitted: {missing:?}\nemitted: {emitted:?}"
    );
    // What the rules must cover.
    for alert in [
        "UrbackupServerDown",
        "UrbackupScrapeErrors",
        "UrbackupBackupFailed",
        "UrbackupNoRecentFileBackup",
        "UrbackupNoRecentImageBackup",
    ] {
        assert!(rules.contains(&format!("alert: {alert}")), "{alert}");
    }
    assert!(
        rules.matches("state=~\"disabled|unsupported\"").count() >= 2,
        "the age rules leave out switched-off kinds"
    );
}

#[test]
fn systemd_units_run_the_console_and_the_exporter_from_their_files() {
    for command in ["console", "exporter"] {
        let unit = contrib(&format!("systemd/urbackup-{command}.service"));
        let exec = unit
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let file = format!("/etc/urbackup/{command}.toml");
        assert_eq!(
            exec,
            format!("/usr/bin/urbackup {command} --config-file {file}")
        );
        // The package installs that file (contrib/etc/urbackup/), with every server of
        // the profiles file.
        let shipped = contrib(&format!("etc/urbackup/{command}.toml"));
        assert!(shipped.contains("\nall_profiles = true\n"), "{command}");
        assert!(shipped.contains("\nconfig = \"/etc/urbackup/config.toml\"\n"));
        for line in [
            "User=urbackup",
            "StateDirectory=urbackup",
            "ProtectSystem=strict",
            "NoNewPrivileges=yes",
            "CapabilityBoundingSet=",
        ] {
            assert!(unit.lines().any(|l| l == line), "{command}: {line}");
        }
        assert!(unit.contains("[Install]") && unit.contains("WantedBy=multi-user.target"));
        // The arguments after the binary parse.
        let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_mapping_table_names_emitted_metrics() {
    let doc = contrib("METRICS-MAPPING.md");
    let ours: BTreeSet<String> = doc
        .lines()
        .filter(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(2))
        .flat_map(names)
        .collect();
    assert!(ours.len() >= 8, "{ours:?}");
    let emitted = scraped();
    let missing: Vec<&String> = ours.iter().filter(|n| !emitted.contains(*n)).collect();
    assert!(missing.is_empty(), "not emitted: {missing:?}");
}

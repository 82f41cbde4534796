//! The fleet commands against three simulated servers, one of them stopped: the exporter
//! for every profile (server labels, `urbackup_up 0` for the stopped one), `report` in every
//! format (hostile client names in HTML, CSV, Markdown), `zabbix`, and a client whose file
//! backups are switched off being OK in status, check, exporter and report.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

mod common;

const PASSWORD: &str = "fleet-secret";
const DAY: i64 = 86_400;
/// A client name with everything that breaks naive HTML, CSV, Markdown and Prometheus output.
const EVIL: &str = "evil<script>alert(1)</script>\"q\",|*x*\\\n'y";

fn sim(clients: Vec<ClientSpec>) -> SimServer {
    let mut b = Simulator::builder()
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO);
    for c in clients {
        b = b.client(c);
    }
    b.start_blocking().expect("simulator starts")
}

/// east and west (live) and down (stopped: its port refuses connections).
struct Fleet {
    east: SimServer,
    /// Kept alive for the exporter and the reports.
    _west: SimServer,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

fn fleet() -> Fleet {
    let east = sim(vec![
        ClientSpec::new("good-e").windows().backups(3, 1),
        ClientSpec::new("stale-e")
            .linux()
            .backups(3, 0)
            .backups_older_by(10 * DAY),
        ClientSpec::new("failed-e")
            .linux()
            .backups(3, 0)
            .last_backup_failed(),
        ClientSpec::new("nofile-e")
            .windows()
            .backups(2, 1)
            .file_backups_disabled(),
    ]);
    let west = sim(vec![
        ClientSpec::new("good-w").windows().backups(2, 1),
        ClientSpec::new("stale-w")
            .windows()
            .backups(2, 1)
            .backups_older_by(5 * DAY),
        ClientSpec::new("failed-w")
            .windows()
            .backups(2, 1)
            .last_backup_failed(),
        ClientSpec::new(EVIL).linux().backups(2, 0),
    ]);
    let down = sim(vec![ClientSpec::new("lost").backups(1, 0)]);
    let down_url = down.url();
    down.shutdown_blocking();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let mut text = String::new();
    for (name, url) in [
        ("east", east.url()),
        ("west", west.url()),
        ("down", down_url),
    ] {
        text.push_str(&format!(
            "[profiles.{name}]\nurl = \"{url}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\ntimeout = 5\n\n"
        ));
    }
    std::fs::write(&config, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    Fleet {
        east,
        _west: west,
        _dir: dir,
        config,
    }
}

fn bare(config: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_urbackup"));
    for v in [
        "URBACKUP_URL",
        "URBACKUP_USER",
        "URBACKUP_PASSWORD",
        "URBACKUP_PROFILE",
        "URBACKUP_CONFIG",
        "URBACKUP_LOG",
    ] {
        c.env_remove(v);
    }
    c.env("XDG_CONFIG_HOME", "/nonexistent/urbackup-fleet-tests")
        .env("HOME", "/nonexistent/urbackup-fleet-tests")
        .env("NO_COLOR", "1")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .arg("--config")
        .arg(config)
        .timeout(Duration::from_secs(60));
    c
}

/// A running exporter, killed on drop.
struct Exporter {
    child: std::process::Child,
    addr: String,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_exporter(config: &Path, args: &[&str]) -> Exporter {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .arg("--config")
        .arg(config)
        .args(args)
        .args([
            "exporter",
            "--listen",
            "127.0.0.1:0",
            "--file-warning",
            "3d",
        ])
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-fleet-tests")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env_remove("URBACKUP_CONFIG")
        .env_remove("URBACKUP_PASSWORD")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    for _ in 0..10 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(a) = line
            .strip_prefix("serving Prometheus metrics of ")
            .and_then(|l| l.rsplit("http://").next())
            .and_then(|l| l.strip_suffix("/metrics\n"))
        {
            addr = Some(a.to_owned());
            break;
        }
    }
    // Keep reading stderr so that the exporter never blocks on it.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    Exporter {
        child,
        addr: addr.expect("the exporter says where it listens"),
    }
}

/// The value of the sample line starting with `series` (name and labels).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn exporter_serves_every_profile_with_server_labels() {
    let f = fleet();
    let exp = start_exporter(&f.config, &["--all-profiles"]);
    f.east.reset_counters();
    let (head, body) = common::http_get(&exp.addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(body.ends_with("# EOF\n"), "{body}");
    assert_eq!(value(&body, "urbackup_up{server=\"east\"}"), Some(1.0));
    assert_eq!(value(&body, "urbackup_up{server=\"west\"}"), Some(1.0));
    assert_eq!(value(&body, "urbackup_up{server=\"down\"}"), Some(0.0));
    assert!(value(&body, "urbackup_scrape_errors_total{server=\"down\"}").unwrap() >= 1.0);
    assert_eq!(
        value(&body, "urbackup_scrape_errors_total{server=\"east\"}"),
        Some(0.0)
    );
    for s in ["east", "west", "down"] {
        assert!(
            value(
                &body,
                &format!("urbackup_scrape_duration_seconds{{server=\"{s}\"}}")
            )
            .is_some(),
            "{s}: {body}"
        );
    }
    assert_eq!(value(&body, "urbackup_clients{server=\"east\"}"), Some(4.0));
    assert_eq!(value(&body, "urbackup_clients{server=\"west\"}"), Some(4.0));
    assert!(!body.contains("urbackup_clients{server=\"down\"}"));
    // One scrape: status, progress, usage and the 4 backup lists of east; no login (kept).
    assert_eq!(f.east.requests("status"), 1);
    assert_eq!(f.east.total_requests(), 7);
    // Health per client and kind.
    let state = |server: &str, client: &str, kind: &str, state: &str| {
        value(
            &body,
            &format!("urbackup_client_backup_state{{server=\"{server}\",client=\"{client}\",kind=\"{kind}\",state=\"{state}\"}}"),
        )
    };
    assert_eq!(state("east", "nofile-e", "file", "disabled"), Some(1.0));
    assert_eq!(state("east", "nofile-e", "image", "ok"), Some(1.0));
    assert_eq!(state("east", "stale-e", "file", "stale"), Some(1.0));
    assert_eq!(state("east", "stale-e", "image", "unsupported"), Some(1.0));
    assert_eq!(state("east", "failed-e", "file", "failed"), Some(1.0));
    assert_eq!(state("west", "stale-w", "file", "stale"), Some(1.0));
    assert_eq!(state("west", "good-w", "file", "ok"), Some(1.0));
    assert_eq!(
        value(
            &body,
            "urbackup_client_backup_severity{server=\"east\",client=\"nofile-e\",kind=\"file\"}"
        ),
        Some(0.0),
        "file backups switched off: ok"
    );
    assert_eq!(
        value(
            &body,
            "urbackup_client_file_failed{server=\"east\",client=\"nofile-e\"}"
        ),
        Some(0.0)
    );
    // Every sample carries the server label; the hostile name is escaped on one line.
    for l in body.lines().filter(|l| !l.starts_with('#')) {
        assert!(l.contains("{server=\"") || l.contains(",server=\""), "{l}");
    }
    let escaped = "client=\"evil<script>alert(1)</script>\\\"q\\\",|*x*\\\\\\n'y\"";
    assert!(
        body.contains(&format!(
            "urbackup_client_online{{server=\"west\",{escaped}}} 1"
        )),
        "{body}"
    );
    // Each family is one group: one TYPE line per name.
    let types: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let mut uniq = types.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(types.len(), uniq.len(), "{body}");

    // --profile A --profile B: only those.
    let exp2 = start_exporter(&f.config, &["--profile", "west", "--profile", "down"]);
    let (_, body) = common::http_get(&exp2.addr, "/metrics");
    assert_eq!(value(&body, "urbackup_up{server=\"west\"}"), Some(1.0));
    assert_eq!(value(&body, "urbackup_up{server=\"down\"}"), Some(0.0));
    assert!(!body.contains("server=\"east\""));
    // Other paths and methods.
    let (head, _) = common::http_get(&exp.addr, "/nope");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, body) = common::http_get(&exp.addr, "/");
    assert!(head.starts_with("HTTP/1.1 200") && body.contains("/metrics"));
}

/// One profile with a wrong password does not take the fleet exporter down: the other
/// servers are served, the refused one is `urbackup_up 0` with the reason, and its server is
/// asked to check the password once, not at every scrape.
#[test]
fn exporter_serves_the_fleet_when_one_server_refuses_the_login() {
    let good = sim(vec![ClientSpec::new("pc-good").windows().backups(2, 1)]);
    let locked = sim(vec![ClientSpec::new("pc-locked").windows().backups(2, 1)]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.good]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n\n[profiles.locked]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"not-the-password\"\n",
            good.url(),
            locked.url()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let exp = start_exporter(&config, &["--all-profiles"]);
    for _ in 0..3 {
        let (_, body) = common::http_get(&exp.addr, "/metrics");
        assert_eq!(
            value(&body, "urbackup_up{server=\"good\"}"),
            Some(1.0),
            "{body}"
        );
        assert_eq!(
            value(&body, "urbackup_up{server=\"locked\"}"),
            Some(0.0),
            "{body}"
        );
        assert_eq!(
            value(
                &body,
                "urbackup_failure{server=\"locked\",reason=\"login_refused\"}"
            ),
            Some(1.0),
            "{body}"
        );
        assert!(body.contains("urbackup_client_online{server=\"good\",client=\"pc-good\"} 1"));
        assert!(!body.contains("pc-locked"));
    }
    assert_eq!(
        locked.requests("login"),
        1,
        "one try at start, then a pause"
    );
    assert_eq!(locked.requests("status"), 0);
    assert_eq!(good.requests("status"), 3);
}

/// The clients of the attention list of a JSON report, as (server, client, severity).
fn attention(v: &Value) -> Vec<(String, String, String)> {
    v["attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["server"].as_str().unwrap_or("").to_owned(),
                r["client"].as_str().unwrap_or("").to_owned(),
                r["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn report_names_stale_failed_and_unreachable_in_every_format() {
    let f = fleet();
    let run = |format: &str| {
        let out = bare(&f.config)
            .args([
                "--all-profiles",
                "report",
                "--file-warning",
                "3d",
                "--output",
                format,
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "critical: failed clients, a server down: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // JSON: the summary per server and the attention list, worst first.
    let v: Value = serde_json::from_str(&run("json")).unwrap();
    let summary = v["summary"].as_array().unwrap();
    let row = |s: &str| summary.iter().find(|r| r["server"] == s).unwrap().clone();
    let east = row("east");
    assert_eq!(
        (
            &east["clients"],
            &east["ok"],
            &east["stale"],
            &east["failed"],
            &east["never"]
        ),
        (
            &Value::from(4),
            &Value::from(2),
            &Value::from(1),
            &Value::from(1),
            &Value::from(0)
        ),
        "{east}"
    );
    assert!(east["used_bytes"].as_i64().unwrap() > 0);
    assert_eq!(row("west")["ok"], 2);
    assert_eq!(row("down")["state"], "unreachable");
    let att = attention(&v);
    assert_eq!(att[0].0, "down", "unreachable first: {att:?}");
    let pos = |c: &str| att.iter().position(|a| a.1 == c).unwrap_or(usize::MAX);
    for c in ["stale-e", "failed-e", "stale-w", "failed-w"] {
        assert!(pos(c) < att.len(), "{c} in {att:?}");
    }
    assert!(pos("failed-e") < pos("stale-e"), "critical before warning");
    assert!(pos("failed-w") < pos("stale-w"));
    for c in ["nofile-e", "good-e", "good-w", EVIL] {
        assert_eq!(pos(c), usize::MAX, "{c} is fine: {att:?}");
    }

    // HTML: one self-contained file, the same names, everything escaped.
    let html = run("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<style>"));
    assert!(!html.contains("<script"), "no scripts, names escaped");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "nothing external"
    );
    for name in [
        "stale-e",
        "failed-e",
        "stale-w",
        "failed-w",
        "down",
        "unreachable",
    ] {
        assert!(html.contains(name), "{name} in the HTML");
    }
    // The worst state is styled as such (the stylesheet has `td.unreachable`).
    assert!(
        html.contains("<td class=\"unreachable\">unreachable</td>"),
        "{html}"
    );
    assert!(
        !html.contains(">nofile-e<"),
        "switched-off file backups are fine"
    );

    // Markdown: one line per row, table markup of names escaped.
    let md = run("markdown");
    assert!(md.contains("| down |"), "{md}");
    assert!(md.contains("failed-e"), "{md}");

    // CSV: the attention list; a stale hostile name would be quoted; here the rows parse.
    let csv = run("csv");
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("server,client,severity,file"));
    assert!(csv.contains("down,,critical,"), "{csv}");
    assert!(csv.contains("east,failed-e,critical,failed,"), "{csv}");
}

#[test]
fn report_quotes_hostile_names_in_csv_and_escapes_them_in_html() {
    let bad = sim(vec![ClientSpec::new(EVIL)
        .linux()
        .backups(2, 0)
        .last_backup_failed()]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.\"a,\\\"b\"]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n",
            bad.url()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = |format: &str| {
        let o = bare(&config)
            .args(["--all-profiles", "report", "--output", format])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    let csv = out("csv");
    let quoted_name = format!("\"{}\"", EVIL.replace('"', "\"\""));
    assert!(
        csv.contains(&format!("\"a,\"\"b\",{quoted_name},critical,failed,")),
        "{csv}"
    );
    let html = out("html");
    assert!(!html.contains("<script>"));
    assert!(
        html.contains("evil&lt;script&gt;alert(1)&lt;/script&gt;&quot;q&quot;,|*x*\\\n&#39;y"),
        "{html}"
    );
    let md = out("markdown");
    let row = md.lines().find(|l| l.contains("evil")).unwrap();
    assert!(row.contains("evil&lt;script&gt;"), "{row}");
    assert!(row.contains("\\|\\*x\\*"), "{row}");
    assert!(
        row.contains(r"\|\*x\*\\ 'y"),
        "one line, markup escaped: {row}"
    );
}

#[test]
fn switched_off_file_backups_are_ok_in_status_check_and_zabbix() {
    let f = fleet();
    let out = bare(&f.config)
        .args([
            "--profile",
            "east",
            "status",
            "--output",
            "json",
            "--file-warning",
            "3d",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = |n: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(c("nofile-e")["file"], "disabled");
    assert_eq!(c("nofile-e")["image"], "ok");
    assert_eq!(c("stale-e")["file"], "stale");
    assert_eq!(c("failed-e")["file"], "failed");
    bare(&f.config)
        .args([
            "--profile",
            "east",
            "check",
            "--client",
            "^nofile-e$",
            "--file-critical",
            "1s",
        ])
        .assert()
        .code(0);
    // Zabbix: discovery of both live servers, values per client.
    let out = bare(&f.config)
        .args(["--all-profiles", "zabbix", "discovery"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    let data = d["data"].as_array().unwrap();
    assert_eq!(data.len(), 8, "{d}");
    assert!(data
        .iter()
        .any(|e| e["{#SERVER}"] == "east" && e["{#CLIENT}"] == "nofile-e"));
    let out = bare(&f.config)
        .args(["--all-profiles", "zabbix", "values", "--file-warning", "3d"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let east = &v["servers"]["east"];
    assert_eq!(east["up"], 1);
    assert_eq!(east["clients"]["nofile-e"]["file_state"], "disabled");
    assert_eq!(east["clients"]["nofile-e"]["severity"], 0);
    assert_eq!(east["clients"]["stale-e"]["file_state"], "stale");
    assert_eq!(east["clients"]["stale-e"]["severity"], 1);
    assert_eq!(east["clients"]["failed-e"]["severity"], 2);
    assert_eq!(v["servers"]["down"]["up"], 0);
    assert_eq!(v["servers"]["west"]["clients"]["good-w"]["online"], 1);
}

/// A server given with `--url` is named by its host and port, or by `--name`; `--name` does
/// not rename a profile's server.
#[test]
fn a_server_given_by_url_gets_a_short_name() {
    let f = fleet();
    let url = f.east.url();
    let host_port = url
        .trim_start_matches("http://")
        .trim_end_matches("/x")
        .to_owned();
    let discovery = |extra: &[&str]| {
        let out = bare(&f.config)
            .env("URBACKUP_PASSWORD", PASSWORD)
            .args(["--url", &url, "--user", "admin", "zabbix", "discovery"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["data"][0]["{#SERVER}"].as_str().unwrap().to_owned()
    };
    assert_eq!(discovery(&[]), host_port);
    assert_eq!(discovery(&["--name", "hq"]), "hq");
    bare(&f.config)
        .args(["--profile", "east", "zabbix", "discovery", "--name", "hq"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("named by its profile"));
}

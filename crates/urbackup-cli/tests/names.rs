//! Names that are not UTF-8 through the CLI: shown escaped (`caf\xE9-latin1.txt`) in the
//! table, JSON and CSV output, and taken back in that form by `backups download` and `backups
//! restore`, which reach the file of those bytes. Against the simulator's client-00009, whose
//! backups hold `/etc/caf\xE9-latin1.txt` (Latin-1), speaking 2.5 and 2.4.

use assert_cmd::Command;
use serde_json::Value;
use std::time::Duration;
use urbackup_sim::{ServerVersion, SimServer, Simulator};

const SHOWN: &str = r"caf\xE9-latin1.txt";

fn sim(version: ServerVersion) -> SimServer {
    Simulator::builder()
        .server_version(version)
        .clients(9)
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(1))
        .livelog_wait(Duration::from_millis(300))
        .start_blocking()
        .expect("simulator starts")
}

fn cli(sim: &SimServer) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_urbackup"));
    for v in ["URBACKUP_CONFIG", "URBACKUP_PROFILE", "URBACKUP_LOG"] {
        c.env_remove(v);
    }
    c.env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env("HOME", "/nonexistent/urbackup-cli-tests")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("NO_COLOR", "1")
        .env("URBACKUP_PASSWORD", "secret")
        .args(["--url", &sim.url(), "--user", "admin"])
        .timeout(Duration::from_secs(60));
    c
}

fn stdout(sim: &SimServer, args: &[&str]) -> String {
    let out = cli(sim).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the CLI writes UTF-8")
}

#[test]
fn a_latin1_name_is_shown_escaped_and_taken_back() {
    for version in [ServerVersion::V2_5, ServerVersion::V2_4] {
        let sim = sim(version);
        let browse = ["backups", "browse", "client-00009", "latest", "/etc"];
        let table = stdout(&sim, &browse);
        assert!(table.contains(SHOWN), "{version}: {table}");
        let json: Value = serde_json::from_str(&stdout(
            &sim,
            &[&browse[..], &["--output", "json"]].concat(),
        ))
        .unwrap();
        let name = json
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_owned())
            .find(|n| n.starts_with("caf"))
            .expect("the Latin-1 file");
        assert_eq!(name, SHOWN);
        let csv = stdout(&sim, &[&browse[..], &["--output", "csv"]].concat());
        assert!(csv.lines().any(|l| l.contains(SHOWN)), "{csv}");

        // The name from the JSON output, given back: the file of those bytes.
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("file");
        let path = format!("/etc/{name}");
        stdout(
            &sim,
            &[
                "backups",
                "download",
                "client-00009",
                "latest",
                &path,
                "--out",
                dest.to_str().unwrap(),
            ],
        );
        assert_eq!(std::fs::metadata(&dest).unwrap().len(), 19);
        let restored: Value = serde_json::from_str(&stdout(
            &sim,
            &[
                "backups",
                "restore",
                "client-00009",
                "latest",
                &path,
                "--wait",
                "--max-wait",
                "60",
                "--output",
                "json",
            ],
        ))
        .unwrap();
        assert_eq!(restored["result"], "ok", "{version}: {restored}");
        // A name that does not exist is still refused (no false outcome).
        let out = cli(&sim)
            .args(["backups", "restore", "client-00009", "latest"])
            .arg(r"/etc/caf\xE8-latin1.txt")
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
}

#[test]
fn client_settings_and_backups_on_a_2_4_server() {
    let sim = sim(ServerVersion::V2_4);
    stdout(
        &sim,
        &[
            "settings",
            "set",
            "--client",
            "client-00001",
            "local_speed=7654321",
        ],
    );
    let v: Value = serde_json::from_str(&stdout(
        &sim,
        &[
            "settings",
            "get",
            "--client",
            "client-00001",
            "local_speed",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(
        v[0]["value"].to_string().trim_matches('"'),
        "7654321",
        "{v}"
    );
    let started: Value = serde_json::from_str(&stdout(
        &sim,
        &[
            "backup",
            "start",
            "client-00009",
            "--incr",
            "--file",
            "--wait",
            "--max-wait",
            "2m",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(started[0]["result"], "ok", "{started}");
}

//! `urbackup console` and `urbackup console user ...` as a user runs them: users in a
//! database file, the console refusing to start without one, serving a server's pages (and
//! `/metrics` when asked), and `urbackup demo` serving the console over its fleet.

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::BufReader;
use std::time::Duration;
use urbackup_sim::{ClientSpec, Simulator};

mod common;

const PASSWORD: &str = "console-cli-secret";

fn bare() -> Command {
    common::urbackup()
}

/// `console user add NAME --role ROLE --db DB --password-stdin` with `password` on stdin.
fn add_user(db: &str, name: &str, role: &str, password: &str) -> assert_cmd::assert::Assert {
    bare()
        .args([
            "console",
            "user",
            "add",
            name,
            "--role",
            role,
            "--db",
            db,
            "--password-stdin",
        ])
        .write_stdin(format!("{password}\n"))
        .assert()
}

use common::{line_with, Running};

#[test]
fn users_are_added_listed_changed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub").join("console.sqlite3");
    let db = db.to_str().unwrap();
    add_user(db, "ann", "admin", "ann-password")
        .success()
        .stdout(predicate::str::contains("console user `ann` added (admin)"));
    add_user(db, "ann", "viewer", "another-password")
        .code(1)
        .stderr(predicate::str::contains("exists already"));
    add_user(db, "bob", "viewer", "short")
        .code(1)
        .stderr(predicate::str::contains("too short"));
    bare()
        .args([
            "console",
            "user",
            "add",
            "bob",
            "--role",
            "root",
            "--db",
            db,
            "--password-stdin",
        ])
        .assert()
        .code(2);
    add_user(db, "bob", "operator", "bob-password").success();
    let out = bare()
        .args(["--output", "json", "console", "user", "list", "--db", db])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let names: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [("ann", "admin"), ("bob", "operator")]);
    assert!(
        !String::from_utf8_lossy(&out).contains("argon2"),
        "no hash is shown"
    );
    bare()
        .args([
            "console",
            "user",
            "passwd",
            "bob",
            "--db",
            db,
            "--password-stdin",
        ])
        .write_stdin("bob-new-password\n")
        .assert()
        .success();
    bare()
        .args(["console", "user", "remove", "ann", "--db", db])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("last admin"));
    bare()
        .args(["console", "user", "role", "bob", "admin", "--db", db])
        .assert()
        .success();
    bare()
        .args(["console", "user", "remove", "ann", "--db", db])
        .assert()
        .success();
    // The file holds hashes and sessions: its owner only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }
}

#[test]
fn the_console_serves_a_server_and_its_metrics() {
    let sim = Simulator::builder()
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .client(ClientSpec::new("pc-1").windows().backups(3, 1))
        .client(
            ClientSpec::new("pc-2")
                .windows()
                .backups(3, 1)
                .last_backup_failed(),
        )
        .start_blocking()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.sqlite3");
    let db = db.to_str().unwrap();
    // No user yet: it says how to add one, and does not serve.
    bare()
        .args([
            "--url",
            &sim.url(),
            "--user",
            "admin",
            "console",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
        ])
        .env("URBACKUP_PASSWORD", PASSWORD)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("urbackup console user add"));
    add_user(db, "vera", "viewer", "vera-password").success();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"));
    cmd.args([
        "--url",
        &sim.url(),
        "--user",
        "admin",
        "console",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db,
        "--metrics",
        "--interval",
        "1s",
    ])
    .env("URBACKUP_PASSWORD", PASSWORD)
    .env("URBACKUP_NO_SESSION_CACHE", "1")
    .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-console-tests")
    .env_remove("URBACKUP_CONFIG");
    // The listener is bound before the line, but "127.0.0.1:0" is what was asked: the
    // address is in the line.
    let (_guard, addr, _) = common::serve(cmd, "console of 1 server");
    let (head, body) = common::http_get(&addr, "/login");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("name=\"username\"") && body.contains("name=\"password\""));
    let (head, _) = common::http_get(&addr, "/");
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    // /metrics from the console's own polls (no login), the same names as the exporter.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (head, body) = common::http_get(&addr, "/metrics");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        if body.contains("urbackup_up{server=") && body.contains(" 1\n") && body.contains("pc-2") {
            assert!(
                body.contains("urbackup_client_file_failed{server="),
                "{body}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no poll: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn demo_serves_the_console_over_a_simulated_fleet() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args(["demo", "--console", "--listen", "127.0.0.1:0"])
        .env("NO_COLOR", "1")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-console-tests")
        .env("XDG_DATA_HOME", "/nonexistent/urbackup-console-tests")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let _guard = Running(child);
    let url = line_with(&mut stdout, "  http://");
    let login = line_with(&mut stdout, "Log in as `demo`");
    assert!(login.contains("demo-password"), "{login}");
    let addr = url
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let (head, body) = common::http_get(&addr, "/login");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("UrBackup console"));
}

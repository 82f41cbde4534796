//! `urbackup console` and `urbackup console user ...` as a user runs them: users in a
//! database file, the console refusing to start without one, serving a server's pages (and
//! `/metrics` when asked), and `urbackup demo` serving the console over its fleet.

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::{BufReader, Read};
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

/// `urbackup --url URL --user admin console --listen 127.0.0.1:0 --db DB EXTRA...` started with
/// stderr piped; returns the process, its stderr (past the start line) and the address it
/// serves on (the start line names it: "127.0.0.1:0" is what was asked).
fn start_console(
    url: &str,
    db: &str,
    extra: &[&str],
) -> (Running, BufReader<std::process::ChildStderr>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args([
            "--url",
            url,
            "--user",
            "admin",
            "console",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
        ])
        .args(extra)
        .env("URBACKUP_PASSWORD", PASSWORD)
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-console-tests")
        .env_remove("URBACKUP_CONFIG")
        .env_remove("URBACKUP_LOG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let running = Running(child);
    let line = line_with(&mut stderr, "console of 1 server");
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_owned();
    assert!(!addr.ends_with(":0"), "{line}");
    (running, stderr, addr)
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
    let (_guard, mut stderr, addr) =
        start_console(&sim.url(), db, &["--metrics", "--interval", "1s"]);
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
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
            // A server given with --url is named by its host and port, not by its URL.
            let host_port = sim
                .url()
                .trim_start_matches("http://")
                .trim_end_matches("/x")
                .to_owned();
            assert!(
                body.contains(&format!("urbackup_up{{server=\"{host_port}\"}}")),
                "{body}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no poll: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Sends `req` (a whole HTTP/1.1 request) to `addr`; the whole answer.
fn exchange(addr: &str, req: &str) -> String {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text
}

/// Failed logins, refusals, user changes and ended sessions reach stderr without `-v` (the
/// journal under systemd), with the user name and the address; a password never does.
#[test]
fn security_events_are_logged_by_default() {
    let sim = Simulator::builder()
        .admin("admin", PASSWORD)
        .client(ClientSpec::new("pc-1").windows().backups(1, 0))
        .start_blocking()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.sqlite3");
    let db = db.to_str().unwrap();
    add_user(db, "vera", "viewer", "vera-password").success();
    let (_guard, mut stderr, addr) = start_console(&sim.url(), db, &[]);
    // A wrong password, six times (the sixth is refused: the address is at its limit).
    for _ in 0..6 {
        let form = exchange(
            &addr,
            &format!("GET /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        );
        let cookie = form
            .lines()
            .find_map(|l| {
                l.strip_prefix("set-cookie: ")
                    .or_else(|| l.strip_prefix("Set-Cookie: "))
            })
            .map(|v| v.split(';').next().unwrap().to_owned())
            .expect("the login cookie");
        let at = form.find("name=\"csrf\" value=\"").unwrap() + 19;
        let token = &form[at..at + form[at..].find('"').unwrap()];
        let body = format!("username=vera&password=wrong-horse-battery&csrf={token}");
        let answer = exchange(
            &addr,
            &format!(
                "POST /login HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        );
        assert!(
            answer.starts_with("HTTP/1.1 401") || answer.starts_with("HTTP/1.1 429"),
            "{answer}"
        );
    }
    let failed = line_with(&mut stderr, "console login failed");
    assert!(
        failed.contains("WARN") && failed.contains("vera") && failed.contains("127.0.0.1"),
        "{failed}"
    );
    let limit = line_with(&mut stderr, "login limit reached");
    assert!(limit.contains("127.0.0.1"), "{limit}");
    let refused = line_with(&mut stderr, "console login refused");
    assert!(refused.contains("vera"), "{refused}");
    assert!(!failed.contains("wrong-horse") && !refused.contains("wrong-horse"));
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

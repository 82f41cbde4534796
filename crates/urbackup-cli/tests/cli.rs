//! Every command of `urbackup` against the simulated server (`urbackup-sim`), run as a
//! process (assert_cmd): table, JSON and CSV output, waits with progress, `check` exit codes,
//! the exporter over HTTP, settings apply, profiles, errors.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, Instant};
use urbackup_sim::{ClientSpec, SimServer, Simulator};

mod common;

const PASSWORD: &str = "secret";

/// A small fleet: alpha (Windows, office), beta (Linux), gamma (Windows, offline),
/// delta (Linux, online, never backed up: failed).
fn sim() -> SimServer {
    Simulator::builder()
        .client(
            ClientSpec::new("alpha")
                .windows()
                .group("office")
                .backups(4, 2),
        )
        .client(ClientSpec::new("beta").linux().backups(3, 0))
        .client(
            ClientSpec::new("gamma")
                .windows()
                .online(false)
                .backups(2, 1),
        )
        .client(ClientSpec::new("delta").linux())
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .livelog_wait(Duration::from_millis(300))
        .start_blocking()
        .expect("simulator starts")
}

/// `urbackup` with a clean environment: no config, no colours, no inherited credentials.
fn bare() -> Command {
    common::urbackup()
}

/// `urbackup --url SIM --user admin` with `URBACKUP_PASSWORD`.
fn cli(sim: &SimServer) -> Command {
    let mut c = bare();
    c.args(["--url", &sim.url(), "--user", "admin"])
        .env("URBACKUP_PASSWORD", PASSWORD);
    c
}

fn run_json(sim: &SimServer, args: &[&str]) -> Value {
    let out = cli(sim)
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn stdout_of(sim: &SimServer, args: &[&str]) -> String {
    let out = cli(sim).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn no_panic() -> impl Predicate<str> {
    predicate::str::contains("panicked")
        .not()
        .and(predicate::str::contains("RUST_BACKTRACE").not())
}

#[test]
fn status_table_json_csv_and_filters() {
    let sim = sim();
    let table = stdout_of(&sim, &["status"]);
    assert!(table.starts_with("NAME"), "{table}");
    for h in [
        "GROUP",
        "ONLINE",
        "LAST FILE",
        "LAST IMAGE",
        "FILE",
        "IMAGE",
        "VERSION",
    ] {
        assert!(table.contains(h), "{h} missing: {table}");
    }
    assert!(table.contains("unsupported"), "Linux images: {table}");
    assert!(!table.contains("\x1b["), "no colours off a terminal");

    let v = run_json(&sim, &["status"]);
    assert_eq!(names(&v), ["alpha", "beta", "delta", "gamma"]);
    let alpha = &v[0];
    for key in [
        "id",
        "name",
        "group",
        "online",
        "last_file_backup",
        "last_image_backup",
        "file",
        "image",
        "file_ok",
        "image_ok",
        "version",
        "os",
        "ip",
        "last_seen",
        "activity",
        "delete_pending",
        "last_file_backup_issues",
    ] {
        assert!(alpha.get(key).is_some(), "key {key} missing in {alpha}");
    }
    assert_eq!(alpha["group"], "office");
    assert_eq!(alpha["file"], "ok");
    assert!(alpha["last_file_backup"].as_i64().unwrap() > 1_000_000_000);
    assert_eq!(v[1]["image"], "unsupported");
    assert_eq!(v[1]["group"], Value::Null, "default group is null");
    assert_eq!(v[2]["file"], "never", "never backed up: not failed");
    assert_eq!(v[2]["last_file_backup"], Value::Null, "never is null");

    assert_eq!(names(&run_json(&sim, &["status", "--offline"])), ["gamma"]);
    assert_eq!(
        names(&run_json(&sim, &["status", "--group", "office"])),
        ["alpha"]
    );
    assert_eq!(
        names(&run_json(&sim, &["status", "--group", "default"])),
        ["beta", "delta", "gamma"]
    );
    // delta never had a backup (never, not failed); beta's Linux images are unsupported,
    // not failed.
    assert!(names(&run_json(&sim, &["status", "--failed"])).is_empty());
    assert_eq!(
        names(&run_json(&sim, &["status", "--stale", "30"])),
        ["delta"]
    );

    let csv = stdout_of(&sim, &["status", "--output", "csv"]);
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("name,group,online,last_file_backup"),
        "{header}"
    );
    assert_eq!(lines.count(), 4);

    // File backups switched off server-wide: no client's file backups count as failed.
    cli(&sim)
        .args(["settings", "set", "no_file_backups=true"])
        .assert()
        .success();
    let v = run_json(&sim, &["status"]);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|c| c["file"] == "disabled"),
        "{v}"
    );
    assert!(names(&run_json(&sim, &["status", "--failed"])).is_empty());
    assert!(names(&run_json(&sim, &["status", "--stale", "30"])).is_empty());
}

#[test]
fn wrong_password_is_one_line_and_no_panic() {
    let sim = sim();
    let out = cli(&sim)
        .env("URBACKUP_PASSWORD", "nope")
        .arg("status")
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::starts_with("error: "))
        .stderr(predicate::str::contains("wrong password"))
        .stderr(no_panic())
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert!(out.stdout.is_empty());
}

#[test]
fn connection_errors_are_one_line() {
    let out = bare()
        .args([
            "--url",
            "http://127.0.0.1:1/",
            "--user",
            "admin",
            "--timeout",
            "5",
        ])
        .env("URBACKUP_PASSWORD", "x")
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::starts_with("error: "))
        .stderr(no_panic())
        .get_output()
        .clone();
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);

    bare()
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("no server given"));
    // A user without a password and without a terminal: an error, not a hang.
    bare()
        .args(["--url", "http://127.0.0.1:1/", "--user", "admin", "status"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no password"));
    // TLS options reach the library: a missing CA file is a clear error.
    bare()
        .args([
            "--url",
            "https://127.0.0.1:1/",
            "--ca-cert",
            "/nonexistent/ca.pem",
            "status",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot read CA certificate"))
        .stderr(no_panic());
    // The password is never a command-line value.
    bare()
        .args(["--password", "x", "status"])
        .assert()
        .code(2)
        .stderr(no_panic());
}

#[test]
fn client_commands() {
    let sim = sim();
    let added = run_json(&sim, &["client", "add", "newbie"]);
    assert_eq!(added["name"], "newbie");
    let key = added["authkey"].as_str().unwrap().to_owned();
    assert!(!key.is_empty());
    assert!(added["id"].as_i64().unwrap() > 0);

    let printed = stdout_of(&sim, &["client", "authkey", "newbie"]);
    assert_eq!(printed.trim(), key);

    let shown = run_json(&sim, &["client", "show", "alpha"]);
    assert_eq!(shown["name"], "alpha");
    assert_eq!(shown["file_backups"], 4);
    assert_eq!(shown["image_backups"], 2);
    let text = stdout_of(&sim, &["client", "show", "alpha"]);
    assert!(
        text.contains("last file backup") && text.contains(" ago ("),
        "{text}"
    );

    cli(&sim)
        .args(["client", "remove", "newbie"])
        .assert()
        .success()
        .stdout(predicate::str::contains("marked for removal"));
    let id = sim.client_id("newbie").unwrap();
    assert_eq!(
        sim.with_state(|s| s.clients[&id].delete_pending),
        Some(true)
    );
    let v = run_json(&sim, &["client", "remove", "--cancel", "newbie"]);
    assert_eq!(v["delete_pending"], false);
    assert_eq!(
        sim.with_state(|s| s.clients[&id].delete_pending),
        Some(false)
    );

    cli(&sim)
        .args(["client", "show", "nosuch"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no client named `nosuch`"));

    // Groups and membership.
    let g = run_json(&sim, &["groups", "add", "lab"]);
    assert_eq!(g["name"], "lab");
    assert!(names(&run_json(&sim, &["groups", "list"])).contains(&"lab".to_owned()));
    cli(&sim)
        .args(["client", "group", "newbie", "lab"])
        .assert()
        .success();
    assert_eq!(
        names(&run_json(&sim, &["status", "--group", "lab"])),
        ["newbie"]
    );
    cli(&sim)
        .args(["groups", "remove", "lab"])
        .assert()
        .success();
    assert!(!names(&run_json(&sim, &["groups", "list"])).contains(&"lab".to_owned()));
}

#[test]
fn extra_clients() {
    let sim = sim();
    let e = run_json(&sim, &["extra-client", "add", "10.1.2.3"]);
    assert_eq!(e["hostname"], "10.1.2.3");
    let list = run_json(&sim, &["extra-client", "list"]);
    assert_eq!(list[0]["hostname"], "10.1.2.3");
    assert_eq!(list[0]["online"], false);
    cli(&sim)
        .args(["extra-client", "remove", "10.1.2.3"])
        .assert()
        .success();
    assert_eq!(
        run_json(&sim, &["extra-client", "list"]),
        Value::Array(vec![])
    );
}

#[test]
fn backup_start_wait_shows_progress_lines_and_the_result() {
    let sim = sim();
    let before = run_json(&sim, &["backups", "list", "alpha", "--files"])
        .as_array()
        .unwrap()
        .len();
    let out = cli(&sim)
        .args([
            "backup",
            "start",
            "alpha",
            "beta",
            "--incr",
            "--file",
            "--wait",
            "--interval",
            "0.2",
            "--output",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("waiting for them to finish"), "{stderr}");
    assert!(
        stderr.contains("alpha: incremental file backup") && stderr.contains('%'),
        "progress lines: {stderr}"
    );
    assert!(stderr.contains("alpha: finished: backup"), "{stderr}");
    assert!(!stderr.contains('\r'), "no bar drawing off a terminal");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    for row in v.as_array().unwrap() {
        assert_eq!(row["result"], "ok", "{row}");
        assert_eq!(row["type"], "incr_file");
        assert!(row["backup_id"].as_i64().unwrap() > 0);
    }
    // One start_backup request for both clients.
    assert_eq!(sim.requests("start_backup"), 1);
    let after = run_json(&sim, &["backups", "list", "alpha", "--files"]);
    assert_eq!(after.as_array().unwrap().len(), before + 1);
    assert_eq!(
        after[0]["id"], v[0]["backup_id"],
        "the new backup is the newest"
    );
}

#[test]
fn backup_start_without_wait_and_offline_and_unsupported() {
    let sim = sim();
    let v = cli(&sim)
        .args([
            "backup", "start", "alpha", "gamma", "beta", "--full", "--image", "--output", "json",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&v).unwrap();
    assert_eq!(v[0]["client"], "alpha");
    assert_eq!(v[0]["result"], "queued");
    assert_eq!(v[0]["type"], "full_image");
    assert_eq!(v[1]["result"], "offline");
    assert_eq!(v[2]["result"], "unsupported");

    let actions = run_json(&sim, &["actions", "list"]);
    let a = &actions[0];
    assert_eq!(a["client"], "alpha");
    assert_eq!(a["action_code"], 4);
    for key in [
        "id",
        "percent",
        "done_bytes",
        "total_bytes",
        "speed_bytes_per_second",
        "eta_seconds",
        "clientid",
        "can_stop",
        "eta_under_a_minute",
    ] {
        assert!(a.get(key).is_some(), "{key} missing: {a}");
    }
    let id = a["id"].as_i64().unwrap().to_string();
    let stopped = run_json(&sim, &["actions", "stop", &id]);
    assert_eq!(stopped["stop_requested"], true);
    // watch returns once nothing runs any more.
    cli(&sim)
        .args(["actions", "watch", "--until-idle", "--interval", "0.2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no running actions"));
    cli(&sim)
        .args(["actions", "stop", "999999"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no running action"));
}

#[test]
fn backups_browse_download_archive_delete_restore() {
    let sim = sim();
    let list = run_json(&sim, &["backups", "list", "alpha"]);
    assert_eq!(list.as_array().unwrap().len(), 6);
    let image = list
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["kind"] == "image")
        .unwrap();
    assert!(image["ref"].as_str().unwrap().starts_with("image:"));
    assert_eq!(image["volume"], "C:");

    let root = run_json(&sim, &["backups", "browse", "alpha", "latest"]);
    let top = root[0]["name"].as_str().unwrap().to_owned();
    assert_eq!(root[0]["dir"], true);
    let folder = run_json(&sim, &["backups", "browse", "alpha", "latest", &top]);
    let file = folder
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["dir"] == false)
        .expect("a file in the first folder");
    let file_path = format!("{top}/{}", file["name"].as_str().unwrap());
    let size = file["size_bytes"].as_u64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("file.bin");
    let out = cli(&sim)
        .args(["backups", "download", "alpha", "latest", &file_path, "-o"])
        .arg(&dest)
        .args(["--output", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["bytes"], size);
    assert_eq!(std::fs::metadata(&dest).unwrap().len(), size);
    // Off a terminal: plain lines on stderr (a start line, throttled progress, a last line),
    // no bar drawing.
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!("downloading {file_path} from file backup "))
            && lines[0].contains("of `alpha` to "),
        "{stderr}"
    );
    let last = lines.last().unwrap();
    assert!(
        last.starts_with(&format!("{file_path}: done, ")) && last.contains(" in "),
        "{stderr}"
    );
    // A quick download: nothing in between (at most one progress line a second).
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(!stderr.contains('\r'), "no bar drawing off a terminal");

    let zip = dir.path().join("top.zip");
    let out = cli(&sim)
        .args([
            "backups", "download", "alpha", "latest", &top, "--zip", "-o",
        ])
        .arg(&zip)
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote"))
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "downloading {top} as a ZIP file from file backup "
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{top}: done, ")), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");
    let mut magic = [0u8; 2];
    std::fs::File::open(&zip)
        .unwrap()
        .read_exact(&mut magic)
        .unwrap();
    assert_eq!(&magic, b"PK");
    // A folder without --zip is an error that says so.
    cli(&sim)
        .args(["backups", "download", "alpha", "latest", &top, "-o"])
        .arg(dir.path().join("x"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("--zip"));

    // Archive, un-archive, delete and cancel on the oldest file backup.
    let oldest = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["kind"] == "file")
        .map(|b| b["id"].as_i64().unwrap())
        .min()
        .unwrap()
        .to_string();
    let state = |sim: &SimServer| {
        let v = run_json(sim, &["backups", "list", "alpha", "--files"]);
        let b = v
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"].as_i64() == oldest.parse().ok())
            .unwrap()
            .clone();
        (
            b["archived"].as_bool().unwrap(),
            b["delete_pending"].as_bool().unwrap(),
        )
    };
    cli(&sim)
        .args(["backups", "archive", "alpha", &oldest])
        .assert()
        .success();
    assert_eq!(state(&sim), (true, false));
    cli(&sim)
        .args(["backups", "unarchive", "alpha", &oldest])
        .assert()
        .success();
    assert_eq!(state(&sim), (false, false));
    cli(&sim)
        .args(["backups", "delete", "alpha", &oldest])
        .assert()
        .success();
    assert_eq!(state(&sim), (false, true));
    cli(&sim)
        .args(["backups", "delete", "--cancel", "alpha", &oldest])
        .assert()
        .success();
    assert_eq!(state(&sim), (false, false));
    let img = run_json(&sim, &["backups", "archive", "alpha", "image:latest"]);
    assert_eq!(img["kind"], "image");

    // Restore with --wait.
    let out = cli(&sim)
        .args([
            "backups",
            "restore",
            "alpha",
            "latest",
            &file_path,
            "--wait",
            "--interval",
            "0.2",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("restored"), "{stdout}");
    cli(&sim)
        .args(["backups", "restore", "gamma", "latest", "/x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("offline"));
    cli(&sim)
        .args(["backups", "browse", "alpha", "bogus"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid backup"));
}

#[test]
fn logs_usage_identity_users() {
    let sim = sim();
    let logs = run_json(
        &sim,
        &["logs", "list", "--level", "info", "--client", "alpha"],
    );
    let first = &logs[0];
    assert_eq!(first["client"], "alpha");
    for key in [
        "id",
        "time",
        "kind",
        "errors",
        "warnings",
        "image",
        "incremental",
    ] {
        assert!(first.get(key).is_some(), "{key}: {first}");
    }
    let id = first["id"].as_i64().unwrap().to_string();
    let lines = run_json(&sim, &["logs", "show", &id]);
    assert!(!lines.as_array().unwrap().is_empty());
    assert!(lines[0]["message"].is_string() && lines[0]["level"].is_string());
    cli(&sim)
        .args(["logs", "show", "999999"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no log"));
    let tail = run_json(&sim, &["logs", "tail", "alpha"]);
    assert!(tail.is_array());

    let usage = run_json(&sim, &["usage"]);
    let u = &usage[0];
    for key in ["name", "files_bytes", "images_bytes", "used_bytes"] {
        assert!(u.get(key).is_some(), "{key}: {u}");
    }
    assert!(u["used_bytes"].as_i64().unwrap() > 0);

    let id = run_json(&sim, &["identity"]);
    assert!(!id["identity"].as_str().unwrap().is_empty());
    assert_eq!(id["api_version"], 2);
    assert!(id["fingerprint"].as_str().unwrap().contains(':'));

    // Users: add (password from stdin), log in as them, change the password, remove.
    cli(&sim)
        .args([
            "users",
            "add",
            "bob",
            "--rights",
            "status=all",
            "--password-stdin",
        ])
        .write_stdin("bobpw\n")
        .assert()
        .success();
    let users = run_json(&sim, &["users", "list"]);
    let bob = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "bob")
        .unwrap();
    assert_eq!(bob["rights"], "status=all");
    let as_bob = |pw: &str| {
        let mut c = bare();
        c.args(["--url", &sim.url(), "--user", "bob", "status"])
            .env("URBACKUP_PASSWORD", pw);
        c
    };
    as_bob("bobpw").assert().success();
    cli(&sim)
        .args(["users", "passwd", "bob", "--password-stdin"])
        .write_stdin("newpw\n")
        .assert()
        .success();
    as_bob("bobpw").assert().failure();
    as_bob("newpw").assert().success();
    // Without the statistics right, usage is an access error.
    let mut c = as_bob("newpw");
    c.arg("usage");
    let mut c2 = bare();
    c2.args(["--url", &sim.url(), "--user", "bob", "usage"])
        .env("URBACKUP_PASSWORD", "newpw")
        .assert()
        .failure()
        .stderr(predicate::str::contains("access denied"));
    cli(&sim)
        .args(["users", "remove", "bob"])
        .assert()
        .success();
    as_bob("newpw").assert().failure();
    // No terminal, no --password-stdin: a clear error.
    cli(&sim)
        .args(["users", "add", "carl", "--rights", "status=all"])
        .write_stdin("")
        .assert()
        .failure()
        .stderr(predicate::str::contains("--password-stdin"));
}

#[test]
fn installer_download() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("setup.sh");
    let v = run_json(
        &sim,
        &[
            "installer",
            "newpc",
            "--os",
            "linux",
            "-o",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(v["added"], true);
    assert_eq!(v["os"], "linux");
    let bytes = std::fs::read(&dest).unwrap();
    assert!(bytes.windows(5).any(|w| w == b"newpc"));
    assert!(sim.client_id("newpc").is_some());
    let dest = dir.path().join("setup.exe");
    let v = run_json(
        &sim,
        &[
            "installer",
            "alpha",
            "--os",
            "windows",
            "-o",
            dest.to_str().unwrap(),
        ],
    );
    assert_eq!(v["added"], false);
    assert!(std::fs::metadata(&dest).unwrap().len() > 0);
}

#[test]
fn settings_get_set_and_apply_changes_only_what_differs() {
    let sim = sim();
    let get = |sim: &SimServer, extra: &[&str]| -> std::collections::BTreeMap<String, Value> {
        let mut args = vec!["settings", "get"];
        args.extend_from_slice(extra);
        run_json(sim, &args)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].as_str().unwrap().to_owned(), r["value"].clone()))
            .collect()
    };
    let before = get(&sim, &[]);
    assert!(before.len() > 50);
    let current_incr = before["update_freq_incr"].as_str().unwrap().to_owned();
    let current_max = before["max_file_incr"].as_str().unwrap().to_owned();
    assert_ne!(current_max, "42");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wanted.toml");
    std::fs::write(
        &file,
        format!("update_freq_incr = {current_incr}\nmax_file_incr = 42\n"),
    )
    .unwrap();

    // diff: only max_file_incr differs.
    let diff = run_json(&sim, &["settings", "diff", file.to_str().unwrap()]);
    assert_eq!(diff.as_array().unwrap().len(), 1);
    assert_eq!(diff[0]["key"], "max_file_incr");
    assert_eq!(diff[0]["new"], "42");

    // dry run changes nothing.
    let v = run_json(
        &sim,
        &["settings", "apply", "--dry-run", file.to_str().unwrap()],
    );
    assert_eq!(v["applied"], false);
    assert_eq!(get(&sim, &[]), before);

    // apply: shows the diff, then one save; afterwards exactly that key differs.
    let out = stdout_of(&sim, &["settings", "apply", file.to_str().unwrap()]);
    assert!(out.contains("max_file_incr") && out.contains("42"), "{out}");
    assert!(out.contains("changed 1 setting(s)"), "{out}");
    assert!(!out.contains("update_freq_incr"), "{out}");
    let after = get(&sim, &[]);
    let changed: Vec<&String> = before.keys().filter(|k| before[*k] != after[*k]).collect();
    assert_eq!(changed, ["max_file_incr"]);
    assert_eq!(after["max_file_incr"], "42");

    // applying again sends no save: only the one read.
    sim.reset_counters();
    let v = run_json(&sim, &["settings", "apply", file.to_str().unwrap()]);
    assert_eq!(v["applied"], false);
    assert_eq!(v["changes"], Value::Array(vec![]));
    assert_eq!(sim.requests("settings"), 1, "nothing differs: no save");

    // set: several keys in one save; JSON rows of `settings get` apply as they are.
    cli(&sim)
        .args([
            "settings",
            "set",
            "max_file_incr=43",
            "backup_window_incr_file=1-5/8-18",
        ])
        .assert()
        .success();
    let now = get(&sim, &["max_file_incr", "backup_window_incr_file"]);
    assert_eq!(now.len(), 2);
    assert_eq!(now["max_file_incr"], "43");
    assert_eq!(now["backup_window_incr_file"], "1-5/8-18");
    let rows = dir.path().join("rows.json");
    std::fs::write(
        &rows,
        r#"[{"key": "max_file_incr", "value": "44", "source": "global"}]"#,
    )
    .unwrap();
    cli(&sim)
        .args(["settings", "apply", rows.to_str().unwrap()])
        .assert()
        .success();
    assert_eq!(get(&sim, &["max_file_incr"])["max_file_incr"], "44");

    // Group and client settings: inherited, then own.
    let g = run_json(
        &sim,
        &["settings", "get", "--group", "office", "max_file_incr"],
    );
    assert_eq!(g[0]["source"], "inherited");
    cli(&sim)
        .args(["settings", "set", "--client", "alpha", "max_file_incr=7"])
        .assert()
        .success();
    let c = run_json(
        &sim,
        &["settings", "get", "--client", "alpha", "max_file_incr"],
    );
    assert_eq!(c[0]["value"], "7");
    assert_eq!(c[0]["source"], "own");
    let b = run_json(
        &sim,
        &["settings", "get", "--client", "beta", "max_file_incr"],
    );
    assert_eq!(b[0]["value"], "44");

    cli(&sim)
        .args(["settings", "set", "no_such_key=1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no_such_key"));
    cli(&sim)
        .args(["settings", "get", "no_such_key"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no setting named no_such_key"));
}

#[test]
fn check_exit_codes_for_each_state() {
    let sim = sim();
    // OK: alpha and beta are fine (gamma is offline, which is OK by default).
    sim.reset_counters();
    cli(&sim)
        .args(["check", "--client", "^(alpha|beta|gamma)$"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("URBACKUP OK - 3 clients"))
        .stdout(predicate::str::contains(
            "| clients=3 failed=0;;1;0;3 offline=1",
        ));
    assert_eq!(sim.requests("status"), 1, "one status request");
    // WARNING: an offline client with --offline-warning, or an old backup.
    cli(&sim)
        .args([
            "check",
            "--client",
            "^(alpha|beta|gamma)$",
            "--offline-warning",
            "1",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("URBACKUP WARNING - "))
        .stdout(predicate::str::contains("1 offline (gamma)"));
    cli(&sim)
        .args([
            "check",
            "--client",
            "^alpha$",
            "--file-warning",
            "1m",
            "--file-critical",
            "30d",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("file backup older than 1m"))
        .stdout(predicate::str::contains("oldest_file_backup_age="));
    // A client that never had a backup is a warning (not failed, not stale).
    cli(&sim)
        .args(["check", "--file-critical", "1s"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("1 never backed up (delta)"))
        .stdout(predicate::str::contains("failed=0;;1;0;4"))
        .stdout(predicate::str::contains("never=1;;;0;4"));
    cli(&sim)
        .args(["check", "--client", "^delta$"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "URBACKUP WARNING - 1 client: 1 never backed up (delta)",
        ));
    cli(&sim)
        .args(["check", "--client", "^delta$", "--never", "ok"])
        .assert()
        .code(0);
    // CRITICAL: an age over the critical threshold (a failed client: below).
    cli(&sim)
        .arg("check")
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "URBACKUP WARNING - 4 clients: 1 never backed up (delta)",
        ));
    cli(&sim)
        .args(["check", "--client", "^alpha$", "--image-critical", "1s"])
        .assert()
        .code(2);
    // --failed-warning turns failures into warnings.
    cli(&sim)
        .args(["check", "--failed-warning", "1"])
        .assert()
        .code(1);
    // UNKNOWN: unreachable, login failed, no match, bad arguments.
    bare()
        .args(["--url", "http://127.0.0.1:1/", "--user", "admin", "check"])
        .env("URBACKUP_PASSWORD", "x")
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("URBACKUP UNKNOWN - "));
    cli(&sim)
        .env("URBACKUP_PASSWORD", "wrong")
        .arg("check")
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "URBACKUP UNKNOWN - authentication failed",
        ));
    cli(&sim)
        .args(["check", "--client", "^nothing$"])
        .assert()
        .code(3);
    cli(&sim)
        .args(["check", "--file-warning", "3x"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("URBACKUP UNKNOWN"));
}

/// A fleet with a failed client, one whose file backups are switched off and one whose
/// image backups are: `check` in both formats.
#[test]
fn check_failed_disabled_and_checkmk() {
    let sim = Simulator::builder()
        .client(ClientSpec::new("good").windows().backups(3, 1))
        .client(
            ClientSpec::new("broken")
                .linux()
                .backups(3, 0)
                .last_backup_failed(),
        )
        .client(
            ClientSpec::new("nofile")
                .windows()
                .backups(2, 1)
                .file_backups_disabled(),
        )
        .client(
            ClientSpec::new("noimage")
                .windows()
                .backups(2, 0)
                .image_backups_disabled(),
        )
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .start_blocking()
        .unwrap();
    cli(&sim)
        .arg("check")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "URBACKUP CRITICAL - 4 clients: 1 failed (broken)",
        ))
        .stdout(predicate::str::contains("failed=1;;1;0;4"))
        .stdout(predicate::str::contains("never=0;;;0;4"));
    // Nagios perfdata: space-separated `label=value[UOM];[warn];[crit];[min];[max]`.
    for args in [
        &["check"][..],
        &[
            "check",
            "--file-warning",
            "1h",
            "--file-critical",
            "30d",
            "--server-version",
            "2.5.26",
        ][..],
    ] {
        let out = cli(&sim).args(args).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text.lines().next().unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let (_, perf) = line.split_once(" | ").unwrap();
        for p in perf.split(' ') {
            let (label, rest) = p.split_once('=').unwrap_or_else(|| panic!("{p}"));
            assert!(
                !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{p}"
            );
            let fields: Vec<&str> = rest.split(';').collect();
            assert!(fields.len() <= 5, "{p}");
            let value = fields[0].trim_end_matches('s');
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("value of {p}"));
            for f in &fields[1..] {
                assert!(f.is_empty() || f.parse::<f64>().is_ok(), "{p}");
            }
        }
    }
    // Switched-off kinds are never failures, whatever the age limits.
    cli(&sim)
        .args([
            "check",
            "--client",
            "^(nofile|noimage|good)$",
            "--file-critical",
            "30d",
            "--image-critical",
            "30d",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "URBACKUP OK - 3 clients, 0 failed",
        ));
    // Checkmk: one service for the server and one per client.
    let out = cli(&sim)
        .args(["check", "--format", "checkmk", "--file-warning", "30d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with("2 \"UrBackup\" clients=4|failed=1;;1;0;4|"),
        "{text}"
    );
    let line = |c: &str| {
        *lines
            .iter()
            .find(|l| l.contains(&format!("\"UrBackup {c}\"")))
            .unwrap_or_else(|| panic!("{c}: {text}"))
    };
    assert!(
        line("broken").starts_with("2 \"UrBackup broken\" file_backup_age="),
        "{text}"
    );
    assert!(line("broken").contains("file failed"), "{text}");
    assert!(line("broken").contains("image unsupported"), "{text}");
    assert!(
        line("nofile").starts_with("0 \"UrBackup nofile\" "),
        "{text}"
    );
    assert!(line("nofile").contains("file disabled"), "{text}");
    assert!(line("noimage").starts_with("0 "), "{text}");
    assert!(line("noimage").contains("image disabled"), "{text}");
    assert!(line("good").starts_with("0 "), "{text}");
    // Each line: status, quoted service, perfdata (name=value;w;c;min;max joined by |), text.
    for l in &lines {
        let (status, rest) = l.split_once(' ').unwrap();
        assert!(["0", "1", "2", "3"].contains(&status), "{l}");
        let rest = rest.strip_prefix('"').unwrap();
        let (_, rest) = rest.split_once("\" ").unwrap();
        let (perf, _) = rest.split_once(' ').unwrap();
        for p in perf.split('|') {
            let (name, v) = p.split_once('=').unwrap_or_else(|| panic!("{p} in {l}"));
            assert!(!name.is_empty() && !name.contains(' '), "{l}");
            let value = v.split(';').next().unwrap().trim_end_matches('s');
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("{p} in {l}"));
        }
    }
    // Piggyback: each client's service in a section for its host.
    let text = String::from_utf8(
        cli(&sim)
            .args(["check", "--format", "checkmk", "--piggyback"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("<<<<nofile>>>>\n<<<local:sep(0)>>>\n0 \"UrBackup nofile\" "),
        "{text}"
    );
    assert_eq!(text.matches("<<<<>>>>\n").count(), 4, "{text}");
    assert!(text.ends_with("<<<local:sep(0)>>>\n"), "{text}");
}

/// A running `urbackup exporter` child, killed on drop.
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

fn http_get(addr: &str, path: &str) -> (String, String) {
    let (head, body) = common::http_get(addr, path);
    (head, plain(&body))
}

/// A scrape without the `server` label and with whole numbers as integers, so that the
/// single-server tests read as before (`urbackup_up 1`); other bodies unchanged.
fn plain(body: &str) -> String {
    if !body.ends_with("# EOF\n") {
        return body.to_owned();
    }
    let mut out = String::new();
    for line in body.lines() {
        let mut l = line.to_owned();
        if !l.starts_with('#') {
            if let Some(start) = l.find("{server=\"") {
                let rest = &l[start + 9..];
                if let Some(end) = rest.find('"') {
                    let after = &rest[end + 1..];
                    let after = after
                        .strip_prefix(',')
                        .map(|a| format!("{{{a}"))
                        .unwrap_or_else(|| after.strip_prefix('}').unwrap_or(after).to_owned());
                    l = format!("{}{after}", &l[..start]);
                }
            }
            if let Some(v) = l.strip_suffix(".0") {
                l = v.to_owned();
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Starts `urbackup exporter` on a free port against `sim`, with `extra` arguments.
fn start_exporter(sim: &SimServer, extra: &[&str]) -> Exporter {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .args([
            "--url",
            &sim.url(),
            "--user",
            "admin",
            "exporter",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("URBACKUP_PASSWORD", PASSWORD)
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env_remove("URBACKUP_CONFIG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).unwrap();
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|s| s.strip_suffix("/metrics\n"))
        .unwrap_or_else(|| panic!("address in {line:?}"))
        .to_owned();
    Exporter { child, addr }
}

/// The value of the sample `name` (with its labels) in a scrape.
fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[test]
fn exporter_serves_metrics_with_bounded_requests() {
    let sim = sim();
    let exp = start_exporter(&sim, &[]);

    // A running backup, so that action metrics show.
    cli(&sim)
        .args(["backup", "start", "alpha", "--full", "--file"])
        .assert()
        .success();
    sim.reset_counters();
    let (head, body) = http_get(&exp.addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    for name in [
        "urbackup_up 1",
        "urbackup_scrape_duration_seconds ",
        "urbackup_clients 4",
        "urbackup_client_online{client=\"alpha\"} 1",
        "urbackup_client_online{client=\"gamma\"} 0",
        "urbackup_client_last_file_backup_timestamp_seconds{client=\"alpha\"}",
        "urbackup_client_last_image_backup_timestamp_seconds{client=\"alpha\"}",
        "urbackup_client_file_ok{client=\"alpha\"} 1",
        "urbackup_client_image_ok{client=\"alpha\"} 1",
        "urbackup_client_file_failed{client=\"delta\"} 0",
        "urbackup_client_image_failed{client=\"beta\"} 0",
        "urbackup_client_used_bytes{client=\"alpha\",kind=\"files\"}",
        "urbackup_client_used_bytes{client=\"alpha\",kind=\"images\"}",
        "urbackup_client_used_total_bytes{client=\"alpha\"}",
        "urbackup_actions_running 1",
        "urbackup_action_done_bytes{client=\"alpha\",action=\"full file backup\"",
        "urbackup_action_speed_bytes_per_second{client=\"alpha\"",
        "# TYPE urbackup_action_progress_ratio gauge",
        "# HELP urbackup_up ",
        // Backup counts: 4 clients, fewer than the default 8 per scrape: all at once.
        "urbackup_client_file_backups{client=\"beta\"} 3",
        "urbackup_client_image_backups{client=\"beta\"} 0",
        "urbackup_client_image_backups{client=\"gamma\"} 1",
        "urbackup_client_file_backups{client=\"delta\"} 0",
        "urbackup_client_last_file_backup_size_bytes{client=\"beta\"} ",
        "urbackup_client_backup_counts_timestamp_seconds{client=\"gamma\"} ",
        "urbackup_backup_counts_clients 4",
        "urbackup_backup_counts_age_seconds ",
        "urbackup_backup_counts_refreshed 4",
        "urbackup_backup_counts_errors_total 0",
        "# TYPE urbackup_backup_counts_errors counter",
        "urbackup_scrape_errors_total 0",
        "urbackup_client_backup_state{client=\"beta\",kind=\"image\",state=\"unsupported\"} 1",
        "urbackup_client_backup_state{client=\"delta\",kind=\"file\",state=\"never\"} 1",
        "urbackup_client_backup_state{client=\"alpha\",kind=\"file\",state=\"ok\"} 1",
        "urbackup_client_backup_severity{client=\"delta\",kind=\"file\"} 1",
        "urbackup_client_info{client=\"alpha\",group=\"office\"",
    ] {
        assert!(body.contains(name), "{name} missing:\n{body}");
    }
    assert!(
        !body.contains("urbackup_client_last_file_backup_size_bytes{client=\"delta\"}"),
        "no file backup, no size"
    );
    // status, progress, usage, and the backup lists of the 4 clients; no login: the session
    // is kept.
    assert_eq!(sim.requests("status"), 1);
    assert_eq!(sim.requests("progress"), 1);
    assert_eq!(sim.requests("usage"), 1);
    assert_eq!(sim.requests("backups"), 4);
    assert_eq!(sim.total_requests(), 7, "one scrape");
    let (_, _) = http_get(&exp.addr, "/metrics");
    assert_eq!(sim.total_requests(), 14, "two scrapes");
    assert_eq!(sim.logins(), 0);

    let (head, _) = http_get(&exp.addr, "/nope");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");

    // --backup-refresh-per-scrape 0: the three requests only, no counts.
    let exp = start_exporter(&sim, &["--backup-refresh-per-scrape", "0"]);
    sim.reset_counters();
    let (_, body) = http_get(&exp.addr, "/metrics");
    assert_eq!(sim.total_requests(), 3);
    assert!(!body.contains("urbackup_client_file_backups"), "{body}");
}

#[test]
fn exporter_scrape_cost_does_not_grow_with_clients() {
    let sim = Simulator::builder()
        .clients(200)
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .start_blocking()
        .unwrap();
    let exp = start_exporter(&sim, &[]);
    sim.reset_counters();
    let (_, body) = http_get(&exp.addr, "/metrics");
    assert!(body.contains("urbackup_clients 200"));
    // 3 + the default 8 backup lists.
    assert_eq!(sim.requests("backups"), 8);
    assert_eq!(sim.total_requests(), 11);
    assert_eq!(metric(&body, "urbackup_backup_counts_clients"), Some(8.0));
}

#[test]
fn exporter_backup_counts_rotate_within_the_request_budget() {
    const N: usize = 20;
    const K: usize = 3;
    let sim = Simulator::builder()
        .clients(N)
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .start_blocking()
        .unwrap();
    let exp = start_exporter(&sim, &["--backup-refresh-per-scrape", &K.to_string()]);
    let scrapes = N.div_ceil(K);
    let mut body = String::new();
    for i in 1..=scrapes {
        sim.reset_counters();
        body = http_get(&exp.addr, "/metrics").1;
        let total = sim.total_requests();
        assert!(total <= 3 + K as u64, "scrape {i}: {total} requests");
        // K every time: the last round tops up with the oldest counts.
        assert_eq!(sim.requests("backups"), K as u64);
        assert_eq!(sim.logins(), 0);
        assert_eq!(
            metric(&body, "urbackup_backup_counts_clients"),
            Some((i * K).min(N) as f64),
            "scrape {i}"
        );
    }
    // Every client has counts now, and they match `backups list`.
    let status = run_json(&sim, &["status"]);
    for name in names(&status) {
        let list = run_json(&sim, &["backups", "list", &name]);
        let count = |kind: &str| {
            list.as_array()
                .unwrap()
                .iter()
                .filter(|b| b["kind"] == kind)
                .count() as f64
        };
        assert_eq!(
            metric(
                &body,
                &format!("urbackup_client_file_backups{{client=\"{name}\"}}")
            ),
            Some(count("file")),
            "{name}"
        );
        assert_eq!(
            metric(
                &body,
                &format!("urbackup_client_image_backups{{client=\"{name}\"}}")
            ),
            Some(count("image")),
            "{name}"
        );
    }
    // The rotation goes on with the oldest counts, still within the budget.
    sim.reset_counters();
    let (_, body) = http_get(&exp.addr, "/metrics");
    assert_eq!(sim.requests("backups"), K as u64);
    assert!(sim.total_requests() <= 3 + K as u64);
    assert_eq!(
        metric(&body, "urbackup_backup_counts_clients"),
        Some(N as f64)
    );
    assert!(metric(&body, "urbackup_backup_counts_age_seconds").is_some());
}

/// Writes a config file with the given mode.
fn write_config(dir: &std::path::Path, text: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let _ = mode;
    path
}

#[test]
fn profiles_and_all_profiles() {
    let a = sim();
    let b = Simulator::builder()
        .client(ClientSpec::new("zulu").linux().backups(1, 0))
        .admin("root", "other")
        .login_failure_delay(Duration::ZERO)
        .start_blocking()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pwfile = dir.path().join("b.pw");
    std::fs::write(&pwfile, "other\n").unwrap();
    let text = format!(
        "default = \"first\"\n\n[profiles.first]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n\n[profiles.second]\nurl = \"{}\"\nuser = \"root\"\npassword_file = \"{}\"\ntimeout = 20\n",
        a.url(),
        b.url(),
        pwfile.display()
    );
    let cfg = write_config(dir.path(), &text, 0o600);
    let with_cfg = || {
        let mut c = bare();
        c.arg("--config").arg(&cfg);
        c
    };

    // Default profile, named profile, environment selection.
    let out = with_cfg()
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names(&v), ["alpha", "beta", "delta", "gamma"]);
    let out = with_cfg()
        .args(["--profile", "second", "status", "--output", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names(&v), ["zulu"]);
    let out = with_cfg()
        .env("URBACKUP_PROFILE", "second")
        .args(["status", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        names(&serde_json::from_slice(&out.stdout).unwrap()),
        ["zulu"]
    );
    with_cfg()
        .args(["--profile", "third", "status"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no profile `third`"))
        .stderr(predicate::str::contains("first, second"));

    // --all-profiles: both servers at once, a server column.
    let out = with_cfg()
        .args(["--all-profiles", "status", "--output", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    assert!(rows
        .iter()
        .any(|r| r["server"] == "second" && r["name"] == "zulu"));
    assert!(rows
        .iter()
        .any(|r| r["server"] == "first" && r["name"] == "alpha"));
    let table = with_cfg()
        .args(["--all-profiles", "usage"])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("SERVER"), "{table}");
    assert!(
        table.contains("second") && table.contains("zulu"),
        "{table}"
    );
    // Write commands refuse it.
    with_cfg()
        .args(["--all-profiles", "client", "add", "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("read commands only"));
    // One server down: its error on stderr, the other's rows still printed, exit 1.
    drop(b);
    let out = with_cfg()
        .args([
            "--all-profiles",
            "--timeout",
            "5",
            "status",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: second: "), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);

    // A config with a password readable by others is refused.
    let cfg2 = write_config(dir.path(), &text, 0o644);
    bare()
        .arg("--config")
        .arg(&cfg2)
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("readable by others"))
        .stderr(predicate::str::contains("chmod 600"));
    // Its group may read it (a service's group), not write it.
    let cfg4 = write_config(dir.path(), &text, 0o640);
    bare()
        .arg("--config")
        .arg(&cfg4)
        .args(["--profile", "first", "status"])
        .assert()
        .success();
    let cfg5 = write_config(dir.path(), &text, 0o660);
    bare()
        .arg("--config")
        .arg(&cfg5)
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("writable by its group"));
    // Without a password in it, the mode does not matter.
    let text3 = format!("[profiles.only]\nurl = \"{}\"\nuser = \"admin\"\n", a.url());
    let cfg3 = write_config(dir.path(), &text3, 0o644);
    bare()
        .arg("--config")
        .arg(&cfg3)
        .env("URBACKUP_PASSWORD", PASSWORD)
        .arg("status")
        .assert()
        .success();
    // The default config location (XDG) is used without --config.
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(xdg.path().join("urbackup")).unwrap();
    std::fs::write(xdg.path().join("urbackup/config.toml"), &text3).unwrap();
    bare()
        .env("XDG_CONFIG_HOME", xdg.path())
        .env("URBACKUP_PASSWORD", PASSWORD)
        .args(["status", "--output", "csv"])
        .assert()
        .success()
        .stdout(predicate::str::contains("alpha"));
    // A typo in the config is reported with the file name.
    let cfg4 = write_config(dir.path(), "[profiles.x]\nurll = \"http://h/\"\n", 0o600);
    bare()
        .arg("--config")
        .arg(&cfg4)
        .arg("status")
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid config file"));
}

#[test]
fn password_file_flag() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    bare()
        .args(["--url", &sim.url(), "--user", "admin", "--password-file"])
        .arg(&pw)
        .arg("status")
        .assert()
        .success();
    // Environment URL and user.
    bare()
        .env("URBACKUP_URL", sim.url())
        .env("URBACKUP_USER", "admin")
        .env("URBACKUP_PASSWORD", PASSWORD)
        .arg("identity")
        .assert()
        .success();
}

#[test]
fn demo_runs_to_completion_quickly() {
    let t0 = Instant::now();
    let out = bare()
        .arg("demo")
        .timeout(Duration::from_secs(30))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(t0.elapsed() < Duration::from_secs(30));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("$ urbackup status"), "{stdout}");
    assert!(stdout.contains("accounting-pc"), "{stdout}");
    assert!(stdout.contains("$ urbackup backup start"), "{stdout}");
    assert!(stdout.contains(" ok "), "{stdout}");
    assert!(stdout.contains("Last activity"), "{stdout}");
    assert!(stderr.contains('%'), "progress lines: {stderr}");
    // Not on a terminal: no console waiting for Ctrl-C, and it says how to get one.
    assert!(stdout.contains("urbackup demo --console"), "{stdout}");
}

#[test]
fn help_everywhere_and_completions() {
    let commands: &[&[&str]] = &[
        &[],
        &["status"],
        &["client"],
        &["client", "add"],
        &["client", "remove"],
        &["extra-client"],
        &["backup", "start"],
        &["backups"],
        &["backups", "download"],
        &["actions"],
        &["logs"],
        &["logs", "tail"],
        &["usage"],
        &["settings"],
        &["settings", "apply"],
        &["users"],
        &["groups"],
        &["installer"],
        &["identity"],
        &["completions"],
        &["demo"],
        &["check"],
        &["exporter"],
        &["console"],
        &["console", "user", "add"],
    ];
    for c in commands {
        bare()
            .args(*c)
            .arg("--help")
            .assert()
            .success()
            .stdout(predicate::str::contains("Usage: urbackup"));
    }
    bare()
        .args(["exporter", "--help"])
        .assert()
        .stdout(predicate::str::contains("at most 3 + K requests"));
    bare()
        .args(["backups", "download", "--help"])
        .assert()
        .stdout(predicate::str::contains("one per 10 %"));
    bare()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("_urbackup"));
    bare()
        .args(["completions", "zsh"])
        .assert()
        .success()
        .stdout(predicate::str::contains("#compdef urbackup"));
}

#[test]
fn logs_tail_follow_prints_new_lines() {
    let sim = sim();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .args([
            "--url",
            &sim.url(),
            "--user",
            "admin",
            "--output",
            "json",
            "logs",
            "tail",
            "alpha",
            "--follow",
        ])
        .env("URBACKUP_PASSWORD", PASSWORD)
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env_remove("URBACKUP_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The first answer: the buffer as it is ("No log entries yet").
    let first = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert!(v["message"].is_string() && v["time"].is_i64(), "{first}");
    cli(&sim)
        .args(["backup", "start", "alpha", "--incr", "--file"])
        .assert()
        .success();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            let v: Value = serde_json::from_str(&line).unwrap();
            got.push(v);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        got.len() >= 2,
        "new live log lines while following: {got:?}"
    );
    assert!(got
        .windows(2)
        .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()));
}

/// A wrong password does not stop the exporter: it serves `urbackup_up 0` with the reason,
/// and does not ask the server again at every scrape (the server bans addresses after
/// repeated failed logins).
#[test]
fn exporter_serves_up_0_when_the_login_is_refused() {
    let sim = sim();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .args([
            "--url",
            &sim.url(),
            "--user",
            "admin",
            "exporter",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("URBACKUP_PASSWORD", "wrong")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env_remove("URBACKUP_CONFIG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let (mut warning, mut serving) = (String::new(), String::new());
    stderr.read_line(&mut warning).unwrap();
    stderr.read_line(&mut serving).unwrap();
    let exp = Exporter {
        addr: serving
            .rsplit("http://")
            .next()
            .and_then(|s| s.strip_suffix("/metrics\n"))
            .unwrap_or_else(|| panic!("address in {serving:?}"))
            .to_owned(),
        child,
    };
    assert!(
        warning.contains("login refused") && warning.contains("wrong password"),
        "{warning}"
    );
    for _ in 0..3 {
        let (_, body) = http_get(&exp.addr, "/metrics");
        assert_eq!(metric(&body, "urbackup_up"), Some(0.0), "{body}");
        assert_eq!(
            metric(&body, "urbackup_failure{reason=\"login_refused\"}"),
            Some(1.0),
            "{body}"
        );
        assert!(metric(&body, "urbackup_login_retry_timestamp_seconds").is_some());
    }
    assert_eq!(
        sim.requests("login"),
        1,
        "one login try, not one per scrape"
    );
    assert_eq!(sim.requests("status"), 0);
}

/// A restore's outcome comes from its log; a restore a person at the client must confirm
/// says what it waits for, and a refused one fails.
#[test]
fn restore_outcomes_come_from_the_restore_log() {
    let sim = Simulator::builder()
        .client(
            ClientSpec::new("eps")
                .linux()
                .backups(1, 0)
                .restores_confirmed_at_client(),
        )
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .livelog_wait(Duration::from_millis(300))
        .start_blocking()
        .expect("simulator starts");
    let root = run_json(&sim, &["backups", "browse", "eps", "latest"]);
    let top = format!("/{}", root[0]["name"].as_str().unwrap());

    // Nobody confirms: the wait ends at --max-wait, saying why, exit 1.
    let out = cli(&sim)
        .args(["backups", "restore", "eps", "latest", &top, "--wait"])
        .args(["--interval", "0.1", "--max-wait", "2s", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("must confirm the restore"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "timeout", "{v}");
    assert_eq!(
        sim.answer_restore("eps", true),
        1,
        "the restore was left waiting"
    );

    // Refused at the client while the CLI waits: reported as failed from the log, exit 1.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .args(["--url", &sim.url(), "--user", "admin", "--output", "json"])
        .args([
            "backups",
            "restore",
            "eps",
            "latest",
            &top,
            "--wait",
            "--interval",
            "0.1",
        ])
        .env("URBACKUP_PASSWORD", PASSWORD)
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env("HOME", "/nonexistent/urbackup-cli-tests")
        .env_remove("URBACKUP_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while sim.answer_restore("eps", false) == 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no restore to refuse"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "failed", "{v}");
    assert!(v["errors"][0].as_str().unwrap().contains("denied"), "{v}");
}

/// `backup start alpha --wait` in a thread; returns its JSON rows and stderr.
fn backup_wait_in_thread(sim: &SimServer) -> std::thread::JoinHandle<(Value, String, bool)> {
    let mut c = cli(sim);
    c.args([
        "backup",
        "start",
        "alpha",
        "--incr",
        "--file",
        "--wait",
        "--interval",
        "0.2",
        "--output",
        "json",
    ]);
    std::thread::spawn(move || {
        let out = c.output().unwrap();
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.success(),
        )
    })
}

fn wait_for_progress_polls(sim: &SimServer, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.requests("progress") < n {
        assert!(Instant::now() < deadline, "the CLI never polled progress");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn backup_wait_finds_a_new_backup_whose_id_an_old_restore_has() {
    // The real server numbers backups and restores in tables of their own: its `lastacts`
    // showed restore 7 and then the new backup 7, and the CLI, which looked for ids it had
    // not seen before, reported a backup that had succeeded as "ended without a new backup".
    let sim = Simulator::builder()
        .client(ClientSpec::new("alpha").linux().backups(1, 0))
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .start_blocking()
        .unwrap();
    let cid = sim.client_id("alpha").unwrap();
    sim.with_state(|st| {
        for _ in 0..3 {
            st.fail_restore_at_once(cid, "backup-source/x", "/backup-source/x");
        }
    });
    let restore_ids: Vec<i64> = sim.with_state(|st| {
        st.activities
            .iter()
            .filter(|a| a.restore)
            .map(|a| a.id)
            .collect()
    });
    assert_eq!(restore_ids, [1, 2, 3]);
    let (v, stderr, ok) = backup_wait_in_thread(&sim).join().unwrap();
    assert!(ok, "{stderr}");
    assert_eq!(v[0]["result"], "ok", "{v} {stderr}");
    let id = v[0]["backup_id"].as_i64().unwrap();
    assert!(
        restore_ids.contains(&id),
        "the new backup {id} shares an id with a restore"
    );
}

#[test]
fn backup_wait_names_the_log_of_a_backup_that_failed() {
    let sim = Simulator::builder()
        .client(ClientSpec::new("alpha").linux().backups(1, 0))
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(4))
        .start_blocking()
        .unwrap();
    let run = backup_wait_in_thread(&sim);
    wait_for_progress_polls(&sim, 2);
    // Stopped on the server: it ends without a backup, with a log that says so.
    sim.with_state(|st| st.processes.iter_mut().for_each(|p| p.stop = true));
    let (v, stderr, ok) = run.join().unwrap();
    assert!(!ok, "a failed backup exits non-zero: {stderr}");
    assert_eq!(v[0]["result"], "failed", "{v}");
    let note = v[0]["note"].as_str().unwrap();
    let logid: i64 = note
        .split("urbackup logs show ")
        .nth(1)
        .and_then(|s| s.trim_end_matches('`').parse().ok())
        .unwrap_or_else(|| panic!("the note names the log: {note}"));
    let log = run_json(&sim, &["logs", "show", &logid.to_string()]);
    assert!(
        log.to_string().contains("failed") || log.to_string().contains("stopped"),
        "{log}"
    );
    assert!(
        stderr.contains("alpha: ended without a new backup"),
        "{stderr}"
    );
}

//! What a new user trips over (issue 20): unknown names and paths that printed an empty list,
//! filters that hid what they filtered, exit codes, limits that contradict each other, and
//! messages that named the wrong thing.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::time::Duration;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

mod common;

const PASSWORD: &str = "secret";

/// alpha (Windows, with backups, the last one failed), beta (Linux: no images), gamma (offline, no backups), and
/// a limited user `viewer` (status only).
fn sim() -> SimServer {
    Simulator::builder()
        .client(
            ClientSpec::new("alpha")
                .windows()
                .backups(3, 1)
                .last_backup_failed(),
        )
        .client(ClientSpec::new("beta").linux().backups(2, 0))
        .client(ClientSpec::new("gamma").windows().online(false))
        .admin("admin", PASSWORD)
        .user("viewer", "viewpw", &[("status", "all")])
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .livelog_wait(Duration::from_millis(300))
        .start_blocking()
        .expect("simulator starts")
}

fn cli(sim: &SimServer) -> Command {
    let mut c = common::urbackup();
    c.args(["--url", &sim.url(), "--user", "admin"])
        .env("URBACKUP_PASSWORD", PASSWORD);
    c
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

#[test]
fn status_of_an_unknown_client_says_so_and_exits_1() {
    let sim = sim();
    cli(&sim)
        .args(["status", "--client", "no-such-client"])
        .assert()
        .code(1)
        .stdout("")
        .stderr("error: no client named `no-such-client`\n");
    // Known names still work, and one unknown name among them is an error too.
    let out = cli(&sim)
        .args(["status", "--client", "beta", "--output", "json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)[0]["name"], "beta");
    cli(&sim)
        .args(["status", "--client", "beta", "--client", "nope"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no client named `nope`"));
}

#[test]
fn status_with_every_profile_reports_a_name_no_server_knows() {
    let east = sim();
    let west = Simulator::builder()
        .client(ClientSpec::new("delta").windows().backups(1, 0))
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .start_blocking()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let profile = |name: &str, sim: &SimServer| {
        format!(
            "[profiles.{name}]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n",
            sim.url()
        )
    };
    std::fs::write(&config, profile("east", &east) + &profile("west", &west)).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let every = || {
        let mut c = common::urbackup();
        c.arg("--config").arg(&config).arg("--all-profiles");
        c
    };
    // delta lives on one server only: no error for the other.
    let out = every()
        .args(["status", "--client", "delta", "--output", "json"])
        .assert()
        .success()
        .stderr("");
    let v = json(&out.get_output().stdout);
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v[0]["server"], "west");
    // A name on no server at all: said once, exit 1, the known rows still printed.
    let out = every()
        .args([
            "status", "--client", "delta", "--client", "ghost", "--output", "json",
        ])
        .assert()
        .code(1)
        .stderr("error: no client named `ghost` on any server\n");
    assert_eq!(json(&out.get_output().stdout)[0]["name"], "delta");
}

#[test]
fn browsing_a_path_that_does_not_exist_says_so() {
    let sim = sim();
    cli(&sim)
        .args(["backups", "browse", "alpha", "latest", "C/no/such/folder"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(
            predicate::str::is_match(
                "^error: no `C/no/such/folder` in file backup [0-9]+ of `alpha`\n$",
            )
            .unwrap(),
        );
    // A folder that is there lists as before, a file as itself (as the server lists it).
    let root = cli(&sim)
        .args([
            "backups", "browse", "alpha", "latest", "C", "--output", "json",
        ])
        .assert()
        .success();
    let v = json(&root.get_output().stdout);
    let file = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["dir"] == false)
        .expect("C has a file");
    let name = file["name"].as_str().unwrap();
    let out = cli(&sim)
        .args(["backups", "browse", "alpha", "latest", &format!("C/{name}")])
        .args(["--output", "json"])
        .assert()
        .success();
    assert_eq!(json(&out.get_output().stdout)[0]["name"], name);
    cli(&sim)
        .args([
            "backups",
            "browse",
            "alpha",
            "latest",
            &format!("C/{name}/x"),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "no `C/{name}/x` in file backup"
        )));
}

#[test]
fn logs_list_says_what_the_level_left_out() {
    let sim = sim();
    // beta's logs have no errors: the default level (errors) shows none, and says so.
    cli(&sim)
        .args(["logs", "list", "--client", "beta"])
        .assert()
        .success()
        .stdout("no errors in 2 logs of beta; --level info shows all\n");
    let all = cli(&sim)
        .args([
            "logs", "list", "--client", "beta", "--level", "info", "--output", "json",
        ])
        .assert()
        .success();
    assert_eq!(json(&all.get_output().stdout).as_array().unwrap().len(), 2);
    // JSON stays an empty list on stdout; the note goes to stderr.
    cli(&sim)
        .args(["logs", "list", "--client", "beta", "--output", "json"])
        .assert()
        .success()
        .stdout("[]\n")
        .stderr("no errors in 2 logs of beta; --level info shows all\n");
    // No logs at all.
    cli(&sim)
        .args(["logs", "list", "--client", "gamma", "--level", "warning"])
        .assert()
        .success()
        .stdout("no logs of gamma\n");
    // alpha has a log with errors: listed as before, no note.
    let out = cli(&sim)
        .args(["logs", "list", "--client", "alpha"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.starts_with("ID ") && text.contains("alpha"), "{text}");
}

#[test]
fn image_backup_of_a_client_without_images_has_its_own_exit_code() {
    let sim = sim();
    let out = cli(&sim)
        .args([
            "backup",
            "start",
            "beta",
            "--full",
            "--image",
            "--wait",
            "--interval",
            "0.2",
            "--output",
            "json",
        ])
        .assert()
        .code(4);
    let v = json(&out.get_output().stdout);
    assert_eq!(v[0]["result"], "unsupported", "{v}");
    // Unsupported beside a queued backup: still 4; beside an offline client: 1.
    cli(&sim)
        .args(["backup", "start", "beta", "alpha", "--full", "--image"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("queued"));
    cli(&sim)
        .args(["backup", "start", "beta", "gamma", "--full", "--image"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("offline"));
}

#[test]
fn contradicting_limits_are_refused() {
    let sim = sim();
    for (warn, crit) in [
        ("--file-warning", "--file-critical"),
        ("--image-warning", "--image-critical"),
    ] {
        // check: a plugin says UNKNOWN (3) for a bad invocation.
        cli(&sim)
            .args(["check", warn, "3d", crit, "1d"])
            .assert()
            .code(3)
            .stdout(predicate::str::starts_with(format!(
                "URBACKUP UNKNOWN - invalid arguments: {warn} (3d) must be shorter than {crit} (1d)"
            )));
        for cmd in [
            &["status"][..],
            &["report"],
            &["zabbix", "values"],
            &["exporter"],
        ] {
            cli(&sim)
                .args(cmd)
                .args([warn, "26h", crit, "26h"])
                .assert()
                .code(2)
                .stderr(
                    predicate::str::contains(format!("{warn} (1d 2h) must be shorter than {crit}"))
                        .or(predicate::str::contains(format!(
                            "{warn} (1d2h) must be shorter than {crit} (1d2h)"
                        ))),
                );
        }
    }
    for what in ["failed", "offline"] {
        cli(&sim)
            .args(["check", &format!("--{what}-warning"), "5"])
            .args([&format!("--{what}-critical"), "2"])
            .assert()
            .code(3)
            .stdout(predicate::str::contains(format!(
                "--{what}-warning (5) must be below --{what}-critical (2)"
            )));
    }
    // Sensible limits still pass, and 0 still switches the critical count off.
    cli(&sim)
        .args(["check", "--file-warning", "1d", "--file-critical", "3d"])
        .args(["--failed-warning", "1", "--failed-critical", "0"])
        .assert()
        .stdout(predicate::str::starts_with("URBACKUP "))
        .stdout(predicate::str::contains("UNKNOWN").not());
}

#[test]
fn stale_takes_durations_and_still_plain_days() {
    let sim = sim();
    let names = |age: &str| -> Vec<String> {
        let out = cli(&sim)
            .args(["status", "--stale", age, "--output", "json"])
            .assert()
            .success();
        json(&out.get_output().stdout)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    // The seeded backups are hours old: stale past an hour, not past 30 days; gamma never
    // had one (always listed).
    let all = ["alpha", "beta", "gamma"];
    assert_eq!(names("1h"), all);
    assert_eq!(names("60m"), all);
    assert_eq!(names("30d"), ["gamma"]);
    assert_eq!(names("720h"), ["gamma"]);
    // A plain number is days, as before: 30 = 30d; 0.01 = 14m 24s.
    assert_eq!(names("30"), ["gamma"]);
    assert_eq!(names("0.01"), all);
    cli(&sim)
        .args(["status", "--stale", "3x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid duration `3x`"));
}

#[test]
fn an_unreachable_server_is_named_by_url_and_profile() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/x");
    let mut c = common::urbackup();
    c.args(["--url", &url, "--user", "admin", "status"])
        .env("URBACKUP_PASSWORD", "x")
        .assert()
        .code(1)
        .stderr(
            predicate::str::starts_with(format!(
                "error: connection to {url} failed while logging in: cannot connect"
            ))
            .and(predicate::str::contains("salt").not()),
        );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[profiles.branch]\nurl = \"{url}\"\n")).unwrap();
    let mut c = common::urbackup();
    c.arg("--config").arg(&config).arg("status");
    c.assert()
        .code(1)
        .stderr(predicate::str::starts_with(format!(
            "error: profile `branch` in {}: connection to {url} failed while logging in",
            config.display()
        )));
    // The plugin line says the same.
    let mut c = common::urbackup();
    c.arg("--config").arg(&config).arg("check");
    c.assert()
        .code(3)
        .stdout(predicate::str::starts_with(format!(
            "URBACKUP UNKNOWN - profile `branch` in {}: connection to {url}",
            config.display()
        )));
}

#[test]
fn profile_files_are_named_with_line_and_column_and_profile() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[profiles.a]\nuser = \"admin\"\nurl = http://x/\n").unwrap();
    let mut c = common::urbackup();
    c.arg("--config").arg(&bad).arg("status");
    c.assert().code(1).stderr(format!(
        "error: invalid config file {}, line 3, column 7: string values must be quoted, expected literal string\n",
        bad.display()
    ));
    let url = dir.path().join("url.toml");
    std::fs::write(&url, "[profiles.lab]\nurl = \"not a url\"\n").unwrap();
    let mut c = common::urbackup();
    c.arg("--config").arg(&url).arg("status");
    c.assert().code(1).stderr(format!(
        "error: profile `lab` in {}: invalid input: invalid server URL: relative URL without a base\n",
        url.display()
    ));
}

#[test]
fn a_missing_right_is_named_in_the_users_words() {
    let sim = sim();
    let viewer = |args: &[&str]| {
        let mut c = common::urbackup();
        c.args(["--url", &sim.url(), "--user", "viewer"])
            .args(args)
            .env("URBACKUP_PASSWORD", "viewpw");
        c.assert()
    };
    viewer(&["users", "list"]).code(1).stderr(
        "error: access denied: `users list` needs the rights `settings` and `usermod`, which user `viewer` does not have (the server refused `settings`, listusers)\n",
    );
    viewer(&["usage"]).code(1).stderr(
        "error: access denied: `usage` needs the right `piegraph`, which user `viewer` does not have (the server refused `usage`, piegraph)\n",
    );
    viewer(&["settings", "get"])
        .code(1)
        .stderr(predicate::str::starts_with(
        "error: access denied: `settings get` needs the rights `settings` and `general_settings`",
    ));
    viewer(&["backup", "start", "alpha"])
        .code(1)
        .stderr(predicate::str::contains(
            "`backup start` needs the right `start_backup`, which user `viewer` does not have",
        ));
    viewer(&["status"]).success();
}

#[test]
fn users_add_needs_rights_and_all_is_explicit() {
    let sim = sim();
    cli(&sim)
        .args(["users", "add", "ops", "--password-stdin"])
        .write_stdin("a-password\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--rights <RIGHTS>"));
    // Nothing was created.
    let out = cli(&sim)
        .args(["users", "list", "--output", "json"])
        .assert()
        .success();
    let users = json(&out.get_output().stdout);
    assert!(!users.to_string().contains("\"ops\""), "{users}");
    // Limited rights, and an administrator only when asked for.
    for (name, rights) in [("ops", "status=all;logs=all"), ("boss", "all")] {
        cli(&sim)
            .args(["users", "add", name, "--rights", rights, "--password-stdin"])
            .write_stdin("a-password\n")
            .assert()
            .success();
    }
    let out = cli(&sim)
        .args(["users", "list", "--output", "json"])
        .assert()
        .success();
    let users = json(&out.get_output().stdout);
    let rights = |n: &str| {
        users
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == n)
            .map(|u| u["rights"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(rights("boss"), "all");
    assert_ne!(rights("ops"), "all");
    assert!(rights("ops").contains("status=all"), "{}", rights("ops"));
}

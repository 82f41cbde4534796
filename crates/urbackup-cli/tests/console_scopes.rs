//! `urbackup console user add --servers/--groups`, `console user scope`, `console user
//! totp-reset`, and the `--ldap-*` options of `urbackup console`, as a user runs them.

use predicates::prelude::*;
use std::io::{BufRead, BufReader};
use urbackup_console::auth::{totp, Scope};
use urbackup_console::Store;

mod common;

fn user(db: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut all = vec!["console", "user"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--db", db]);
    common::urbackup().args(all).assert()
}

fn add(db: &str, name: &str, role: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        "console",
        "user",
        "add",
        name,
        "--role",
        role,
        "--db",
        db,
        "--password-stdin",
    ];
    args.extend_from_slice(extra);
    common::urbackup()
        .args(args)
        .write_stdin(format!("{name}-console-password\n"))
        .assert()
}

fn list(db: &str) -> Vec<serde_json::Value> {
    let out = common::urbackup()
        .args(["--output", "json", "console", "user", "list", "--db", db])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn sees(db: &str, name: &str) -> String {
    list(db)
        .iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("no {name}"))["sees"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn users_are_given_servers_and_groups_and_their_second_factor_is_reset() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.sqlite3");
    let db = db.to_str().unwrap();
    add(db, "ann", "admin", &[]).success();
    add(
        db,
        "sam",
        "operator",
        &["--servers", "alpha, beta", "--groups", "office"],
    )
    .success()
    .stdout(predicate::str::contains(
        "console user `sam` added (operator; sees alpha, beta (groups: office))",
    ));
    // Admins see everything.
    add(db, "adm", "admin", &["--servers", "alpha"])
        .code(1)
        .stderr(predicate::str::contains("admins see every server"));
    add(db, "x", "viewer", &["--servers", "alpha,,beta"])
        .code(1)
        .stderr(predicate::str::contains("empty name"));
    assert_eq!(sees(db, "sam"), "alpha, beta (groups: office)");
    assert_eq!(sees(db, "ann"), "every server");
    let table = common::urbackup()
        .args(["console", "user", "list", "--db", db])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let table = String::from_utf8_lossy(&table);
    assert!(table.contains("SEES") && table.contains("2FA"), "{table}");
    user(db, &["scope", "sam", "--servers", "gamma"])
        .success()
        .stdout(predicate::str::contains("now sees gamma"));
    assert_eq!(sees(db, "sam"), "gamma");
    user(db, &["scope", "sam", "--all"]).success();
    assert_eq!(sees(db, "sam"), "every server");
    user(db, &["scope", "ann", "--servers", "alpha"])
        .code(1)
        .stderr(predicate::str::contains("admins see every server"));
    user(db, &["scope", "nobody", "--servers", "alpha"])
        .code(1)
        .stderr(predicate::str::contains("no console user named `nobody`"));
    // Neither servers nor --all: a usage error.
    user(db, &["scope", "sam"]).code(2);
    // The second factor.
    user(db, &["totp-reset", "sam"])
        .code(1)
        .stderr(predicate::str::contains("has no second factor"));
    {
        let store = Store::open(std::path::Path::new(db)).unwrap();
        let id = store.user("sam").unwrap().unwrap().id;
        store
            .totp_begin(id, &totp::secret_text(&totp::new_secret()))
            .unwrap();
        assert!(store.totp_confirm(id, 1, &[]).unwrap());
        assert!(store.user("sam").unwrap().unwrap().totp);
        store
            .create_session(id, urbackup_fleet::unix_now())
            .unwrap();
        assert_eq!(store.set_scope("sam", &Scope::all()).ok(), Some(()));
    }
    let on = list(db);
    assert_eq!(
        on.iter().find(|u| u["name"] == "sam").unwrap()["totp"],
        "on"
    );
    user(db, &["totp-reset", "sam"])
        .success()
        .stdout(predicate::str::contains("their sessions ended"));
    let store = Store::open(std::path::Path::new(db)).unwrap();
    assert!(!store.user("sam").unwrap().unwrap().totp);
    assert!(store
        .sessions(urbackup_fleet::unix_now())
        .unwrap()
        .is_empty());
    // Every change is in the audit trail, by the command line.
    let audit = store.users_audit(20).unwrap();
    assert!(audit
        .iter()
        .any(|a| a.detail.contains("gave console user sam the scope: gamma")));
    assert!(audit.iter().any(|a| a
        .detail
        .contains("removed the second factor of console user sam")));
}

fn console(db: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut args = vec![
        "--url",
        "http://127.0.0.1:9/x",
        "--user",
        "admin",
        "console",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db,
    ];
    args.extend_from_slice(extra);
    common::urbackup()
        .args(args)
        .env("URBACKUP_PASSWORD", "x")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .assert()
}

#[test]
fn the_directory_options_are_checked_before_the_console_serves() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.sqlite3");
    let db = db.to_str().unwrap();
    let url = "ldap://127.0.0.1:1";
    console(db, &["--ldap-url", url, "--ldap-role", "cn=a,dc=x=viewer"])
        .code(1)
        .stderr(predicate::str::contains("--ldap-base"));
    console(db, &["--ldap-url", url, "--ldap-base", "dc=x"])
        .code(1)
        .stderr(predicate::str::contains("at least one --ldap-role"));
    console(
        db,
        &[
            "--ldap-url",
            url,
            "--ldap-base",
            "dc=x",
            "--ldap-role",
            "cn=a,dc=x=root",
        ],
    )
    .code(1)
    .stderr(predicate::str::contains("unknown role `root`"));
    console(
        db,
        &[
            "--ldap-url",
            "http://dir.example.org",
            "--ldap-base",
            "dc=x",
            "--ldap-role",
            "cn=a,dc=x=viewer",
        ],
    )
    .code(1)
    .stderr(predicate::str::contains("ldap or ldaps"));
    console(
        db,
        &[
            "--ldap-url",
            url,
            "--ldap-base",
            "dc=x",
            "--ldap-role",
            "cn=a,dc=x=viewer",
            "--ldap-user-filter",
            "uid=x",
        ],
    )
    .code(1)
    .stderr(predicate::str::contains("{user}"));
    console(
        db,
        &[
            "--ldap-url",
            url,
            "--ldap-base",
            "dc=x",
            "--ldap-role",
            "cn=a,dc=x=viewer",
            "--ldap-bind-dn",
            "cn=svc,dc=x",
            "--ldap-bind-password-file",
            "/nonexistent/bind.pw",
        ],
    )
    .code(1)
    .stderr(predicate::str::contains(
        "cannot read the bind password file",
    ));
    // An --ldap-* option without --ldap-url: a usage error.
    console(db, &["--ldap-base", "dc=x"]).code(2);
    // With a directory, the console starts without a local user (directory users log in).
    let pw = dir.path().join("bind.pw");
    std::fs::write(&pw, "service-secret-pw\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args([
            "--url",
            "http://127.0.0.1:9/x",
            "--user",
            "admin",
            "console",
            "--listen",
            "127.0.0.1:0",
            "--db",
            db,
            "--ldap-url",
            url,
            "--ldap-base",
            "dc=x",
            "--ldap-role",
            "cn=a,dc=x=viewer",
            "--ldap-bind-dn",
            "cn=svc,dc=x",
            "--ldap-bind-password-file",
            pw.to_str().unwrap(),
            "--require-totp",
        ])
        .env("URBACKUP_PASSWORD", "x")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-console-tests")
        .env_remove("URBACKUP_CONFIG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    for _ in 0..50 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if line.contains("console of 1 server") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("console of 1 server"), "{seen}");
    assert!(!seen.contains("service-secret-pw"), "{seen}");
}

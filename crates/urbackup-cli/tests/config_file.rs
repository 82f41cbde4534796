//! `--config-file`: the console and the exporter started from TOML files, as the Debian
//! package's units start them, against a simulator over HTTP: the file's servers, listen
//! address, database, metrics, health limits and backup-list budget take effect, an option on
//! the command line wins over the file, and a bad file is refused with its line and key before
//! anything listens or is created. (Every key against its flag: the unit tests of
//! `config_file.rs`.)

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};
use urbackup_sim::{ClientSpec, SimServer, Simulator};

mod common;

const PASSWORD: &str = "config-file-secret";

fn sim() -> SimServer {
    Simulator::builder()
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .client(ClientSpec::new("fresh").windows().backups(3, 1))
        .client(
            ClientSpec::new("old")
                .linux()
                .backups(2, 0)
                .backups_older_by(5 * 86_400),
        )
        .start_blocking()
        .unwrap()
}

/// The profiles file, private (it holds a password).
fn profiles(dir: &Path, sim: &SimServer) -> String {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[profiles.lab]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n",
            sim.url()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// Starts `urbackup ARGS` (no other configuration than its arguments) and returns it with the
/// address it prints in the line holding `marker`, and that line.
fn serve(args: &[&str], marker: &str) -> (common::Running, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"));
    cmd.args(args)
        .env_remove("URBACKUP_CONFIG")
        .env_remove("URBACKUP_URL")
        .env_remove("URBACKUP_PASSWORD")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-config-file-tests")
        .env("HOME", "/nonexistent/urbackup-config-file-tests");
    common::serve(cmd, marker)
}

/// `/metrics` until `until` holds (the console's first poll takes a moment).
fn metrics_until(addr: &str, until: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (head, body) = common::http_get(addr, "/metrics");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        if until(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "never: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn add_user(db: &str) {
    common::urbackup()
        .args([
            "console", "user", "add", "vera", "--role", "viewer", "--db", db,
        ])
        .arg("--password-stdin")
        .write_stdin("vera-password\n")
        .assert()
        .success();
}

#[test]
fn the_console_runs_from_its_file() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = profiles(dir.path(), &sim);
    let db = dir.path().join("console.sqlite3");
    let db = db.to_str().unwrap();
    add_user(db);
    let file = write(
        dir.path(),
        "console.toml",
        &format!(
            "config = \"{config}\"\nall_profiles = true\nlisten = \"127.0.0.1:0\"\ndb = \"{db}\"\n\
             interval = \"1s\"\nmetrics = true\nfile_warning = \"1d\"\nfile_critical = \"4d\"\n\
             no_session_cache = true\n"
        ),
    );
    let (_console, addr, line) = serve(&["console", "--config-file", &file], "console of");
    // The servers of the profiles file, the database of the file.
    assert!(line.contains("console of 1 server (lab)"), "{line}");
    assert!(line.contains(db), "{line}");
    let (head, _) = common::http_get(&addr, "/healthz");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // metrics = true: /metrics from the console's polls, with the file's limits (`old`'s
    // last file backup, 5 days ago, is past the 4-day critical age).
    let body = metrics_until(&addr, |b| b.contains("client=\"old\""));
    assert!(
        body.contains(
            "urbackup_client_backup_severity{server=\"lab\",client=\"old\",kind=\"file\"} 2"
        ),
        "{body}"
    );

    // The command line wins: another database (without users) is refused, naming it.
    let other = dir.path().join("other.sqlite3");
    common::urbackup()
        .args([
            "console",
            "--config-file",
            &file,
            "--db",
            other.to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no users yet"))
        .stderr(predicate::str::contains("other.sqlite3"));
}

#[test]
fn the_exporter_runs_from_its_file_and_the_command_line_wins() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = profiles(dir.path(), &sim);
    let file = write(
        dir.path(),
        "exporter.toml",
        &format!(
            "config = \"{config}\"\nprofile = [\"lab\"]\nlisten = \"127.0.0.1:0\"\n\
             backup_refresh_per_scrape = 0\nfile_warning = \"1d\"\nfile_critical = \"10d\"\n"
        ),
    );
    let severity = |body: &str| {
        body.lines()
            .find(|l| {
                l.starts_with(
                    "urbackup_client_backup_severity{server=\"lab\",client=\"old\",kind=\"file\"}",
                )
            })
            .map(|l| l.rsplit(" ").next().unwrap().parse::<f64>().unwrap())
    };
    {
        let (_exporter, addr, line) = serve(&["exporter", "--config-file", &file], "serving");
        assert!(line.contains("1 server (lab)"), "{line}");
        sim.reset_counters();
        let (_, body) = common::http_get(&addr, "/metrics");
        // 5 days old: stale (warning) under the file's limits.
        assert_eq!(severity(&body), Some(1.0), "{body}");
        // backup_refresh_per_scrape = 0: no backup lists.
        assert_eq!(sim.requests("backups"), 0);
        assert!(sim.requests("status") >= 1);
    }
    // A flag wins over the file's key.
    let (_exporter, addr, _) = serve(
        &["exporter", "--config-file", &file, "--file-critical", "2d"],
        "serving",
    );
    let (_, body) = common::http_get(&addr, "/metrics");
    assert_eq!(severity(&body), Some(2.0), "{body}");
}

#[test]
fn a_bad_file_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("console.sqlite3");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            format!(
                "listen = \"127.0.0.1:{port}\"\ndb = \"{}\"\nlisen = \"x\"\n",
                db.display()
            ),
            "line 3: unknown key `lisen`",
        ),
        (
            format!(
                "listen = \"127.0.0.1:{port}\"\ndb = \"{}\"\n\ninterval = \"soon\"\n",
                db.display()
            ),
            "line 4, key `interval`: invalid value 'soon'",
        ),
        (
            format!(
                "listen = \"127.0.0.1:{port}\"\ndb = \"{}\"\nmetrics = 1\n",
                db.display()
            ),
            "line 3, key `metrics`: expected true or false",
        ),
    ];
    for (text, want) in cases {
        let file = write(dir.path(), "console.toml", &text);
        Command::new(env!("CARGO_BIN_EXE_urbackup"))
            .args(["console", "--config-file", &file])
            .env("URBACKUP_URL", "http://127.0.0.1:9/x")
            .timeout(Duration::from_secs(30))
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!("config file {file}")))
            .stderr(predicate::str::contains(want));
        assert!(!db.exists(), "{want}: the database was created");
        // Nothing listened: the port is still free.
        std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    }
}

/// The example of the CLI README's section on `--config-file` is a valid file: every key
/// known, every value accepted (what follows fails for another reason: its profiles file).
#[test]
fn the_readme_example_is_a_valid_file() {
    let md =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let section = &md[md.find("## Options from a file").expect("the section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let text = &section[start..start + section[start..].find("```").unwrap()];
    assert!(text.contains("all_profiles = true"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    // Its profiles file, empty here.
    let text = text.replace(
        "/etc/urbackup/config.toml",
        &write(dir.path(), "p.toml", ""),
    );
    let file = write(dir.path(), "console.toml", &text);
    common::urbackup()
        .args(["console", "--config-file", &file])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--all-profiles: no profiles in"))
        .stderr(predicate::str::contains(format!("config file {file}")).not());
}

//! The session cache of `urbackup`, run as a process against the simulated server over
//! HTTP: a warm run is one request; a session the server forgot (30 minutes idle, a restart)
//! means one login and a repeat, for reads and writes; files with loose permissions, another
//! owner or broken contents are ignored with a warning; `--no-session-cache`,
//! `URBACKUP_NO_SESSION_CACHE`, `logout [--all]`; `check`, the exporter and `--all-profiles`
//! use it; no password or token in any output, even at trace level.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use urbackup_sim::{ClientSpec, SimServer, Simulator};

mod common;

const PASSWORD: &str = "Cache-Test-pw-7Qz";

/// `status --output json` without `last_seen`, which moves with the clock between runs.
fn without_last_seen(stdout: &str) -> Value {
    let mut v: Value = serde_json::from_str(stdout).unwrap();
    for c in v.as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("last_seen");
    }
    v
}

fn sim() -> SimServer {
    Simulator::builder()
        .client(ClientSpec::new("alpha").windows().backups(2, 1))
        .client(ClientSpec::new("beta").linux().backups(1, 0))
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .start_blocking()
        .expect("simulator starts")
}

/// `urbackup` with a clean environment and the session cache in `dir`.
fn bare(dir: &Path) -> Command {
    let mut c = common::urbackup();
    for v in [
        "URBACKUP_NO_SESSION_CACHE",
        "XDG_RUNTIME_DIR",
        "XDG_CACHE_HOME",
    ] {
        c.env_remove(v);
    }
    c.env("URBACKUP_SESSION_DIR", dir);
    c
}

fn cli(sim: &SimServer, dir: &Path) -> Command {
    let mut c = bare(dir);
    c.args(["--url", &sim.url(), "--user", "admin"])
        .env("URBACKUP_PASSWORD", PASSWORD);
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(mut c: Command, args: &[&str]) -> Run {
    let out = c.args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `status --output json` with requests counted: (the run, requests, logins).
fn status(sim: &SimServer, dir: &Path) -> (Run, u64, u64) {
    sim.reset_counters();
    let r = run(cli(sim, dir), &["status", "--output", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{}", r.stdout);
    (r, sim.total_requests(), sim.logins())
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(l) => l
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.starts_with("session-") && n.ends_with(".json")
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The one entry of `dir`.
fn entry(dir: &Path) -> PathBuf {
    let e = entries(dir);
    assert_eq!(e.len(), 1, "{e:?}");
    e[0].clone()
}

fn token(path: &Path) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["session"].as_str().unwrap().to_owned()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_warm_run_is_one_request() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    let (cold, requests, logins) = status(&sim, &dir);
    assert_eq!((requests, logins), (3, 1), "salt, login, status");
    let file = entry(&dir);
    #[cfg(unix)]
    {
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&file), 0o600);
    }
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(PASSWORD), "no password in the cache: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["url"], sim.url().as_str());
    assert_eq!(v["user"], "admin");
    let first = token(&file);

    for _ in 0..3 {
        let (warm, requests, logins) = status(&sim, &dir);
        assert_eq!((requests, logins), (1, 0), "one status request");
        assert_eq!(sim.requests("status"), 1);
        assert_eq!(
            without_last_seen(&warm.stdout),
            without_last_seen(&cold.stdout)
        );
        assert!(warm.stderr.is_empty(), "{}", warm.stderr);
    }
    assert_eq!(token(&file), first, "the entry is not rewritten");
    // The URL is normalised: another spelling of the same endpoint shares the entry.
    sim.reset_counters();
    let base = sim.url().trim_end_matches("/x").to_owned() + "/";
    let r = run(
        {
            let mut c = bare(&dir);
            c.args(["--url", &base, "--user", "admin"])
                .env("URBACKUP_PASSWORD", PASSWORD);
            c
        },
        &["status", "--output", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(sim.total_requests(), 1);
}

#[test]
fn an_idle_expired_session_means_one_login_and_a_repeat() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let first = token(&entry(dir));
    // 29 minutes idle on the server's clock: still valid.
    sim.advance(Duration::from_secs(29 * 60));
    assert_eq!(status(&sim, dir).1, 1);
    // 31 minutes idle: the server forgot it. Refused, salt, login, repeat; exit 0.
    sim.advance(Duration::from_secs(31 * 60));
    let (r, requests, logins) = status(&sim, dir);
    assert_eq!((requests, logins), (4, 1));
    assert_eq!(sim.requests("status"), 2);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let second = token(&entry(dir));
    assert_ne!(first, second, "the entry holds the new session");
    assert_eq!(status(&sim, dir).1, 1, "and the next run uses it");
}

#[test]
fn an_entry_unused_for_longer_than_the_server_keeps_sessions_is_not_tried() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let file = entry(dir);
    let old = SystemTime::now() - Duration::from_secs(31 * 60);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (_, requests, logins) = status(&sim, dir);
    assert_eq!((requests, logins), (3, 1), "a login, no refused request");
    assert_eq!(sim.requests("status"), 1);
    // A use marks the entry used: the next run trusts it.
    assert_eq!(status(&sim, dir).1, 1);
    let age = std::fs::metadata(&file).unwrap().modified().unwrap();
    assert!(age.elapsed().unwrap() < Duration::from_secs(60));
}

#[test]
fn a_restarted_server_forgets_the_session_and_the_cli_logs_in_again() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    sim.restart();
    let (_, requests, logins) = status(&sim, dir);
    assert_eq!((requests, logins), (4, 1));

    // A write refused for lack of a session was not done: it is repeated once, done once.
    sim.restart();
    sim.reset_counters();
    let r = run(
        cli(&sim, dir),
        &[
            "backup", "start", "alpha", "--incr", "--file", "--output", "json",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(sim.logins(), 1);
    assert_eq!(
        sim.requests("start_backup"),
        1,
        "the status read was refused"
    );
    assert_eq!(sim.with_state(|st| st.processes.len()), 1);
    // And again with the session forgotten between the read and the write is the library's
    // test (tests/sessions.rs); here: the new session was stored.
    assert_eq!(status(&sim, dir).1, 1);
}

#[cfg(unix)]
#[test]
fn a_file_others_may_read_is_ignored_with_a_warning_and_replaced() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let file = entry(dir);
    chmod(&file, 0o644);
    let (r, requests, logins) = status(&sim, dir);
    assert_eq!((requests, logins), (3, 1), "not used: a new login");
    assert!(
        r.stderr.contains("warning: session cache: ignoring")
            && r.stderr.contains("others may read it (mode 644"),
        "{}",
        r.stderr
    );
    assert_eq!(mode(&file), 0o600, "the new entry is private");
    assert_eq!(status(&sim, dir).1, 1);
}

#[cfg(unix)]
#[test]
fn a_directory_others_may_write_into_is_not_used() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("open");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o777);
    let (r, requests, _) = status(&sim, &dir);
    assert_eq!(requests, 3);
    assert!(
        r.stderr.contains("others may write into") && r.stderr.contains("chmod 700"),
        "{}",
        r.stderr
    );
    assert!(entries(&dir).is_empty(), "nothing stored there");
    let (_, requests, _) = status(&sim, &dir);
    assert_eq!(requests, 3, "still a login every run");
}

#[cfg(unix)]
#[test]
fn a_file_of_another_user_is_ignored_with_a_warning() {
    use std::os::unix::fs::MetadataExt;
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let file = entry(dir);
    // Only root can give a file away; as another user this cannot be set up.
    if std::fs::metadata(&file).unwrap().uid() != 0 {
        eprintln!("not run: giving a file to another user needs root");
        return;
    }
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    let (r, requests, logins) = status(&sim, dir);
    assert_eq!((requests, logins), (3, 1));
    assert!(
        r.stderr.contains("it belongs to another user (uid 65534)"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::metadata(&file).unwrap().uid(), 0, "replaced");
}

#[cfg(unix)]
#[test]
fn a_symlink_is_ignored_with_a_warning() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let file = entry(dir);
    let elsewhere = tmp.path().join("elsewhere.json");
    std::fs::rename(&file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let (r, requests, _) = status(&sim, dir);
    assert_eq!(requests, 3);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
}

#[test]
fn a_corrupt_file_is_ignored_with_a_warning_and_replaced() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let file = entry(dir);
    let secret_looking = "{\"url\": 5, \"session\": \"LEAKME-not-shown\"";
    for broken in [&b"\xff\xfe garbage"[..], b"", secret_looking.as_bytes()] {
        std::fs::write(&file, broken).unwrap();
        let (r, requests, logins) = status(&sim, dir);
        assert_eq!((requests, logins), (3, 1));
        assert!(r.stderr.contains("not a session file"), "{}", r.stderr);
        assert!(
            !r.stderr.contains("LEAKME"),
            "no content quoted: {}",
            r.stderr
        );
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(!token(&file).is_empty(), "replaced by a good entry");
    }
    // An entry of another server or user under this name (copied by hand): not used.
    let other = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"user\":\"admin\"", "\"user\":\"someone\"");
    std::fs::write(&file, other).unwrap();
    let (r, requests, _) = status(&sim, dir);
    assert_eq!(requests, 3);
    assert!(r.stderr.contains("not the session of this server and user"));
}

#[test]
fn a_cached_session_does_not_hide_a_wrong_password() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&sim, dir);
    let file = entry(dir);
    let before = std::fs::read(&file).unwrap();
    sim.reset_counters();
    let r = run(
        {
            let mut c = bare(dir);
            c.args(["--url", &sim.url(), "--user", "admin"])
                .env("URBACKUP_PASSWORD", "not-the-password");
            c
        },
        &["status"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("wrong password"), "{}", r.stderr);
    assert_eq!(sim.requests("status"), 0, "the entry was not used");
    assert_eq!(std::fs::read(&file).unwrap(), before, "and is kept");
    assert_eq!(status(&sim, dir).1, 1, "the right password still uses it");
}

#[test]
fn the_cache_can_be_turned_off() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    for (flag, env) in [(true, None), (false, Some("1")), (false, Some("yes"))] {
        for _ in 0..2 {
            sim.reset_counters();
            let mut c = cli(&sim, &dir);
            if let Some(v) = env {
                c.env("URBACKUP_NO_SESSION_CACHE", v);
            }
            let args: &[&str] = if flag {
                &["--no-session-cache", "status"]
            } else {
                &["status"]
            };
            let r = run(c, args);
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(sim.total_requests(), 3, "a login every run");
        }
    }
    assert!(!dir.exists(), "nothing written");
    // Off also means an existing entry is not used.
    status(&sim, &dir);
    sim.reset_counters();
    let r = run(cli(&sim, &dir), &["--no-session-cache", "status"]);
    assert_eq!(r.code, 0);
    assert_eq!(sim.total_requests(), 3);
    // `URBACKUP_NO_SESSION_CACHE=0` is not "off".
    sim.reset_counters();
    let mut c = cli(&sim, &dir);
    c.env("URBACKUP_NO_SESSION_CACHE", "0");
    assert_eq!(run(c, &["status"]).code, 0);
    assert_eq!(sim.total_requests(), 1);
}

#[test]
fn logout_forgets_this_entry_and_logout_all_every_entry() {
    let a = sim();
    let b = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    status(&a, dir);
    status(&b, dir);
    assert_eq!(entries(dir).len(), 2);
    // No password needed, no request made.
    a.reset_counters();
    let r = run(
        {
            let mut c = bare(dir);
            c.args(["--url", &a.url(), "--user", "admin"]);
            c
        },
        &["logout"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.trim(),
        format!("forgot the session of admin at {}", a.url())
    );
    assert_eq!(a.total_requests(), 0);
    assert_eq!(entries(dir).len(), 1);
    assert_eq!(status(&a, dir).1, 3, "a logs in again");
    assert_eq!(status(&b, dir).1, 1, "b still uses its entry");
    let r = run(cli(&b, dir), &["logout", "--output", "json"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["forgotten"], true);
    let r = run(cli(&b, dir), &["logout"]);
    assert!(r.stdout.starts_with("no cached session"), "{}", r.stdout);

    status(&b, dir);
    std::fs::write(dir.join("unrelated.txt"), "kept").unwrap();
    let r = run(bare(dir), &["logout", "--all"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout.trim(),
        format!("forgot 2 cached sessions in {}", dir.display())
    );
    assert!(entries(dir).is_empty());
    assert!(dir.join("unrelated.txt").exists(), "only session files go");
    assert_eq!(status(&a, dir).1, 3);
    assert_eq!(status(&b, dir).1, 3);
}

#[cfg(unix)]
#[test]
fn the_default_places_are_the_runtime_dir_then_the_cache_dir() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let runtime = tmp.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    let cache = tmp.path().join("cache");
    let place = |with_runtime: bool| {
        let mut c = cli(&sim, Path::new("/unused"));
        c.env_remove("URBACKUP_SESSION_DIR")
            .env("XDG_CACHE_HOME", &cache);
        if with_runtime {
            c.env("XDG_RUNTIME_DIR", &runtime);
        }
        sim.reset_counters();
        let r = run(c, &["status"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        sim.total_requests()
    };
    assert_eq!(place(true), 3);
    assert_eq!(mode(&runtime.join("urbackup")), 0o700);
    assert_eq!(entries(&runtime.join("urbackup")).len(), 1);
    assert_eq!(place(true), 1);
    assert_eq!(place(false), 3, "no runtime dir: the cache dir");
    assert_eq!(mode(&cache.join("urbackup")), 0o700);
    assert_eq!(entries(&cache.join("urbackup")).len(), 1);
    assert_eq!(place(false), 1);
}

#[test]
fn check_exporter_and_all_profiles_use_the_cache() {
    let a = sim();
    let b = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    // check: the second run makes no login.
    for expected in [(1, 1), (0, 0)] {
        a.reset_counters();
        let r = run(cli(&a, &dir), &["check"]);
        assert!(r.stdout.starts_with("URBACKUP "), "{}", r.stdout);
        assert_eq!((a.logins(), a.requests("salt")), expected);
    }

    // --all-profiles: every profile's session is cached.
    let cfg = tmp.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[profiles.a]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n\n[profiles.b]\nurl = \"{}\"\nuser = \"admin\"\npassword = \"{PASSWORD}\"\n",
            a.url(),
            b.url()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    chmod(&cfg, 0o600);
    for (a_expected, b_expected) in [(1, 3), (1, 1)] {
        a.reset_counters();
        b.reset_counters();
        let mut c = bare(&dir);
        c.arg("--config").arg(&cfg);
        let r = run(c, &["--all-profiles", "status", "--output", "json"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            (a.total_requests(), b.total_requests()),
            (a_expected, b_expected)
        );
    }
    let mut c = bare(&dir);
    c.arg("--config").arg(&cfg);
    let r = run(c, &["--all-profiles", "logout"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(entries(&dir).is_empty());

    // The exporter starts without a login when the cache has the session, and keeps the
    // entry current when it logs in again.
    status(&a, &dir);
    a.reset_counters();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args(["--url", &a.url(), "--user", "admin"])
        .args(["exporter", "--listen", "127.0.0.1:0"])
        .env("URBACKUP_PASSWORD", PASSWORD)
        .env("URBACKUP_SESSION_DIR", &dir)
        .env_remove("URBACKUP_NO_SESSION_CACHE")
        .env_remove("URBACKUP_CONFIG")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let scrape = || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    };
    assert!(scrape().contains("urbackup_up 1"));
    assert_eq!((a.logins(), a.requests("salt")), (0, 0), "no login");
    let before = token(&entry(&dir));
    a.restart();
    assert!(scrape().contains("urbackup_up 1"));
    assert_eq!(a.logins(), 1);
    let after = token(&entry(&dir));
    assert_ne!(before, after, "the exporter stored its new session");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn no_password_or_token_in_any_output_even_at_trace_level() {
    let sim = sim();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut tokens = Vec::new();
    let mut texts = Vec::new();
    let traced = |sim: &SimServer, extra: &[&str]| {
        let mut c = cli(sim, dir);
        c.env("URBACKUP_LOG", "trace").arg("-vv");
        let mut args = extra.to_vec();
        if args.is_empty() {
            args = vec!["status", "--output", "json"];
        }
        run(c, &args)
    };
    let record = |r: Run, texts: &mut Vec<String>| {
        texts.push(r.stdout);
        texts.push(r.stderr);
    };
    record(traced(&sim, &[]), &mut texts); // cold: login, store
    tokens.push(token(&entry(dir)));
    record(traced(&sim, &[]), &mut texts); // warm: resume
    sim.restart();
    record(traced(&sim, &[]), &mut texts); // refused, login, store
    tokens.push(token(&entry(dir)));
    record(
        traced(&sim, &["backup", "start", "alpha", "--incr", "--file"]),
        &mut texts,
    );
    std::fs::write(entry(dir), format!("{{\"session\": \"{}\"", tokens[1])).unwrap();
    record(traced(&sim, &[]), &mut texts); // corrupt file holding a token
    tokens.push(token(&entry(dir)));
    sim.invalidate_sessions();
    let mut wrong = bare(dir);
    wrong
        .args(["--url", &sim.url(), "--user", "admin", "-vv", "status"])
        .env("URBACKUP_PASSWORD", "wrong-pw-also-secret")
        .env("URBACKUP_LOG", "trace");
    let r = run(wrong, &[]);
    assert_eq!(r.code, 1);
    record(r, &mut texts);
    let r = run(cli(&sim, dir), &["logout", "-vv"]);
    record(r, &mut texts);
    assert!(
        texts
            .iter()
            .any(|t| t.contains("resuming the cached session")),
        "the trace shows the cache at work"
    );
    for t in &texts {
        assert!(!t.contains(PASSWORD), "password in: {t}");
        assert!(!t.contains("wrong-pw-also-secret"), "password in: {t}");
        for tok in &tokens {
            assert!(!t.contains(tok.as_str()), "token in: {t}");
        }
    }
}

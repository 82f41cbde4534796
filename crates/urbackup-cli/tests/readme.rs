//! Every shell example of the CLI's README (`crates/urbackup-cli/README.md`) and the CLI
//! block of the root README runs as written, in order, against the simulated server the
//! README says to start (`urbackup-sim --example --admin admin:secret --time-scale 10`, here
//! started in this process with the same options), each through `bash` with `urbackup` on the
//! `PATH`, in a home directory of its own. What is rewritten: the simulator's and the
//! exporter's addresses (free ports instead of 55414 and 9554), `cargo run -p urbackup-cli --`
//! (the binary under test), `cargo run -p urbackup-sim -- ...` (checked to be the documented
//! command: the simulator already runs), an exporter without `--listen` gets the free port.
//! Not run: `cargo install` and `cargo test` (minutes; the tests themselves). Exporters run in
//! the background until the next one starts (each must serve `/metrics` first). `mail` is a
//! stub that keeps what it is given.
//!
//! Each command must exit 0, except where the README says otherwise (`check`/`report`: 0, 1
//! or 2 as the fleet is; `urbackup status` without a password and without a terminal: 1), and
//! the commands that make something are checked for it (downloads, restores, the backup).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use urbackup_sim::{SimServer, Simulator};

mod common;

/// The simulator command the READMEs document.
const SIM_ARGS: &str = "--example --admin admin:secret --time-scale 10";

fn readme(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fenced blocks of a Markdown text with the given info string, with the line number of
/// their first line.
fn blocks(md: &str, lang: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in md.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == format!("```{lang}") => {
                current = Some((i + 2, String::new()));
            }
            Some(_) if line.trim_start().starts_with("```") => out.push(current.take().unwrap()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

/// The commands of a shell block: `\` continues a line, a here-document runs to its end
/// marker; blank and comment lines are left out.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = block.lines();
    while let Some(first) = lines.next() {
        if first.trim().is_empty() || first.trim_start().starts_with('#') {
            continue;
        }
        let mut cmd = first.to_owned();
        while cmd.ends_with('\\') {
            cmd.push('\n');
            cmd.push_str(lines.next().unwrap_or(""));
        }
        if let Some(pos) = cmd.find("<<'") {
            let marker = cmd[pos + 3..].split('\'').next().unwrap().to_owned();
            for l in lines.by_ref() {
                cmd.push('\n');
                cmd.push_str(l);
                if l == marker {
                    break;
                }
            }
        }
        out.push(cmd);
    }
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A shell session: the environment and the directory carry from one command to the next.
struct Session {
    sim: SimServer,
    env: HashMap<String, String>,
    cwd: PathBuf,
    _home: tempfile::TempDir,
    exporter_addr: String,
    exporter: Option<Child>,
    /// What ran, for the failure message.
    log: Vec<String>,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Session {
    fn new() -> Session {
        let sim = Simulator::builder()
            .example_fleet()
            .admin("admin", "secret")
            .time_scale(10.0)
            .start_blocking()
            .expect("the simulator starts");
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        // `mail`: keeps its arguments and its input.
        let mail = bin.join("mail");
        std::fs::write(
            &mail,
            "#!/bin/sh\necho \"$@\" > \"$HOME/mail.args\"\ncat > \"$HOME/mail.body\"\n",
        )
        .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let urbackup_dir = Path::new(env!("CARGO_BIN_EXE_urbackup")).parent().unwrap();
        let mut env = HashMap::new();
        let path = std::env::var("PATH").unwrap_or_default();
        env.insert(
            "PATH".into(),
            format!("{}:{}:{path}", bin.display(), urbackup_dir.display()),
        );
        env.insert("HOME".into(), home.path().display().to_string());
        env.insert("NO_COLOR".into(), "1".into());
        env.insert(
            "URBACKUP_SESSION_DIR".into(),
            home.path().join("sessions").display().to_string(),
        );
        env.insert("LANG".into(), "C.UTF-8".into());
        Session {
            sim,
            env,
            cwd: home.path().to_path_buf(),
            exporter_addr: format!("127.0.0.1:{}", free_port()),
            exporter: None,
            _home: home,
            log: Vec::new(),
        }
    }

    fn home(&self) -> &Path {
        self._home.path()
    }

    /// The command with this session's addresses.
    fn localize(&self, cmd: &str) -> String {
        let mut cmd = cmd
            .replace("127.0.0.1:55414", &self.sim.addr().to_string())
            .replace("127.0.0.1:9554", &self.exporter_addr);
        if let Some(rest) = cmd
            .trim_start()
            .strip_prefix("cargo run -p urbackup-cli -- ")
        {
            cmd = format!("urbackup {rest}");
        }
        cmd
    }

    /// Runs one command in bash; the environment and directory it leaves are kept.
    fn run(&mut self, cmd: &str) -> Run {
        let state = self.home().join(".state");
        let script = format!(
            "{cmd}\n__rc=$?\nenv -0 > '{0}.env'\npwd > '{0}.pwd'\nexit $__rc\n",
            state.display()
        );
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut stdout = String::new();
        let _ = out.read_to_string(&mut stdout);
        let status = wait(&mut child, Duration::from_secs(180))
            .unwrap_or_else(|| panic!("`{cmd}` did not end within 180 s"));
        let stderr = reader.join().unwrap();
        if let Ok(raw) = std::fs::read(state.with_extension("env")) {
            self.env = raw
                .split(|b| *b == 0)
                .filter_map(|kv| {
                    let kv = String::from_utf8_lossy(kv);
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_owned(), v.to_owned()))
                })
                .collect();
        }
        if let Ok(pwd) = std::fs::read_to_string(state.with_extension("pwd")) {
            self.cwd = PathBuf::from(pwd.trim());
        }
        Run {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }

    /// Starts an exporter in the background (stopping the one before) and waits until it
    /// serves `/metrics`.
    fn start_exporter(&mut self, cmd: &str) {
        self.stop_exporter();
        let code = cmd.split(" #").next().unwrap_or(cmd);
        let cmd = if code.contains("--listen") {
            cmd.to_owned()
        } else {
            cmd.replacen(
                " exporter",
                &format!(" exporter --listen {}", self.exporter_addr),
                1,
            )
        };
        let child = Command::new("bash")
            .arg("-c")
            .arg(format!("exec {cmd}"))
            .env_clear()
            .envs(&self.env)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        self.exporter = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if std::net::TcpStream::connect(&self.exporter_addr).is_ok() {
                let (head, body) = common::http_get(&self.exporter_addr, "/metrics");
                assert!(head.starts_with("HTTP/1.1 200"), "`{cmd}`: {head}");
                assert!(body.contains("urbackup_up{"), "`{cmd}`: {body}");
                return;
            }
            if let Some(status) = self.exporter.as_mut().unwrap().try_wait().unwrap() {
                let mut err = String::new();
                let _ = self
                    .exporter
                    .take()
                    .unwrap()
                    .stderr
                    .unwrap()
                    .read_to_string(&mut err);
                panic!("`{cmd}` ended ({status}) before serving: {err}");
            }
            assert!(Instant::now() < deadline, "`{cmd}` does not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop_exporter(&mut self) {
        if let Some(mut c) = self.exporter.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs every command of a block, checking exit codes and what the commands make.
    fn block(&mut self, file: &str, line: usize, block: &str) {
        for raw in commands(block) {
            let cmd = self.localize(&raw);
            let first = cmd.trim_start();
            if let Some(args) = first.strip_prefix("cargo run -p urbackup-sim -- ") {
                let args = args.split('#').next().unwrap().trim().trim_end_matches('&');
                assert_eq!(
                    args.trim(),
                    SIM_ARGS,
                    "{file}:{line}: the simulator is started with other options than the tests use"
                );
                self.log.push(format!("(running) {raw}"));
                continue;
            }
            if first.starts_with("cargo ") {
                self.log.push(format!("(not run) {raw}"));
                continue;
            }
            if first.starts_with("curl ") && !have("curl") {
                self.log.push(format!("(no curl) {raw}"));
                continue;
            }
            if first.contains(" exporter") {
                self.start_exporter(&cmd);
                self.log.push(format!("(serving) {raw}"));
                continue;
            }
            let r = self.run(&cmd);
            self.log.push(format!("exit {}: {raw}", r.code));
            let expected: &[i32] = if raw.contains("asks for the password on a terminal") {
                &[1]
            } else if first.contains(" check") || first.contains(" report") {
                &[0, 1, 2]
            } else {
                &[0]
            };
            assert!(
                expected.contains(&r.code),
                "{file}:{line}: `{raw}` exited {} (expected {expected:?})\nstdout: {}\nstderr: {}\nso far:\n{}",
                r.code,
                r.stdout,
                r.stderr,
                self.log.join("\n")
            );
            self.check(&raw, &r);
        }
    }

    /// What a command made, where it makes something.
    fn check(&self, raw: &str, r: &Run) {
        let file = |name: &str| std::fs::read(self.cwd.join(name)).unwrap_or_default();
        let says = |text: &str| {
            assert!(
                r.stdout.contains(text),
                "`{raw}` does not say `{text}`:\n{}",
                r.stdout
            )
        };
        if raw.contains("asks for the password on a terminal") {
            assert!(
                r.stderr.contains("no password for user `admin`"),
                "{}",
                r.stderr
            );
        } else if raw.contains("--full --image --wait") {
            says("full_image  ok");
        } else if raw.contains("backup start web-01 --incr --file --wait") {
            says("incr_file  ok");
        } else if raw.contains("-o summary.xlsx") {
            assert_eq!(file("summary.xlsx").len(), 663, "{raw}");
        } else if raw.contains("-o docs.zip") {
            assert!(file("docs.zip").starts_with(b"PK"), "{raw}");
        } else if raw.contains("-o UrBackupUpdate.exe") {
            assert!(!file("UrBackupUpdate.exe").is_empty(), "{raw}");
        } else if raw.contains("backups restore") {
            says("restored C/docs/summary-4.xlsx");
        } else if raw.contains("logs show 36") {
            says("Backup failed");
        } else if raw.contains("logs list --client mail") {
            says("36");
        } else if raw.contains("actions stop 1") {
            says("db-01");
        } else if raw.contains("status --client mail") {
            says("mail");
        } else if raw.contains("completions bash") {
            assert!(
                String::from_utf8_lossy(&file("urbackup.bash")).contains("complete"),
                "{raw}"
            );
        } else if raw.contains("-o fleet.html") {
            let html = String::from_utf8_lossy(&file("fleet.html")).into_owned();
            assert!(html.contains("<html") && html.contains("mail"), "{html}");
        } else if raw.starts_with("curl ") {
            says("urbackup_up{");
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_exporter();
    }
}

fn wait(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_example_of_the_cli_readme_runs_as_written() {
    if !have("bash") {
        eprintln!("skipped: the README's examples need bash");
        return;
    }
    let md = readme("README.md");
    let sh = blocks(&md, "sh");
    assert!(sh.len() >= 9, "{} blocks", sh.len());
    let mut s = Session::new();
    for (line, block) in &sh {
        s.block("crates/urbackup-cli/README.md", *line, block);
    }
    // The tour did what it says: the backup, the deletion mark, the user.
    let out = s.run("urbackup backups list fileserver --output json");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let list = v.as_array().unwrap();
    assert!(list
        .iter()
        .any(|b| b["ref"] == "2" && b["delete_pending"] == true));
    assert_eq!(list.iter().filter(|b| b["kind"] == "image").count(), 4);
    let users = s.run("urbackup users list");
    assert!(users.stdout.contains("ops"), "{}", users.stdout);
    assert!(
        s.home().join("mail.body").exists(),
        "report || mail sent nothing"
    );
    let ran = s.log.iter().filter(|l| l.starts_with("exit ")).count();
    assert!(ran >= 55, "only {ran} commands ran:\n{}", s.log.join("\n"));
    println!("{}", s.log.join("\n"));
}

#[test]
fn the_profile_reference_of_the_cli_readme_is_a_valid_config() {
    let md = readme("README.md");
    // The profile reference: the TOML of the section on profiles (the one of `--config-file`
    // is tests/config_file.rs's).
    let section = &md[md.find("### Profiles").expect("the profiles section")..];
    let section = &section[..section
        .find("\n### The session cache")
        .expect("the next section")];
    let toml = blocks(section, "toml");
    assert_eq!(toml.len(), 1);
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".config/urbackup");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("prod.pw"), "secret\n").unwrap();
    let config = dir.join("config.toml");
    std::fs::write(&config, &toml[0].1).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // `logout` resolves every profile (keys, URLs, password files) and sends nothing.
    let out = common::urbackup()
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("URBACKUP_SESSION_DIR", home.path().join("sessions"))
        .env_remove("URBACKUP_NO_SESSION_CACHE")
        .args(["--all-profiles", "logout"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("backup.example.com") && text.contains("10.0.0.5"),
        "{text}"
    );
}

#[test]
fn the_cli_examples_of_the_root_readme_run_as_written() {
    if !have("bash") {
        eprintln!("skipped: the README's examples need bash");
        return;
    }
    let md = readme("../../README.md");
    let section = &md[md
        .find("## The command-line tool")
        .expect("the CLI section")..];
    let (line, block) = blocks(section, "sh").into_iter().next().expect("a block");
    let line = md[..md.find("## The command-line tool").unwrap()]
        .lines()
        .count()
        + line;
    let mut s = Session::new();
    s.block("README.md", line, &block);
    assert!(
        s.log.iter().any(|l| l.starts_with("(serving)")),
        "{:?}",
        s.log
    );
    let ran = s.log.iter().filter(|l| l.starts_with("exit ")).count();
    assert!(ran >= 6, "{:?}", s.log);
}

//! What several CLI test files share (each uses some of it).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

/// A child process killed on drop.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads lines of `r` until one contains `marker`; returns it.
pub fn line_with(r: &mut impl BufRead, marker: &str) -> String {
    for _ in 0..200 {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.contains(marker) {
            return line;
        }
    }
    panic!("no line with {marker:?}");
}

/// Starts `cmd` (a server: console, exporter) and waits for the line of its stderr holding
/// `marker`, which names the address it serves on (`... http://ADDR/...`; asked for port 0,
/// the port it got). The rest of stderr is drained. Returns the process (killed on drop), the
/// address and the line.
pub fn serve(mut cmd: std::process::Command, marker: &str) -> (Running, String, String) {
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let running = Running(child);
    let line = line_with(&mut stderr, marker);
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|r| r.split('/').next())
        .unwrap()
        .trim()
        .to_owned();
    assert!(!addr.ends_with(":0"), "{line}");
    (running, addr, line)
}

/// `urbackup` with a clean environment: no config, no colours, no inherited credentials,
/// no session cache (tests/session_cache.rs tests it).
pub fn urbackup() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_urbackup"));
    for v in [
        "URBACKUP_URL",
        "URBACKUP_USER",
        "URBACKUP_PASSWORD",
        "URBACKUP_PROFILE",
        "URBACKUP_CONFIG",
        "URBACKUP_BASIC_PASSWORD",
        "URBACKUP_LOG",
    ] {
        c.env_remove(v);
    }
    c.env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env("HOME", "/nonexistent/urbackup-cli-tests")
        .env("URBACKUP_NO_SESSION_CACHE", "1")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    c
}

/// `GET path` from the exporter at `addr` (one connection, closed after the reply): the
/// reply's head and its body, with a chunked transfer coding undone.
pub fn http_get(addr: &str, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), dechunk(head, body))
}

/// The body of an HTTP/1.1 reply, with a chunked transfer coding undone.
fn dechunk(head: &str, body: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        if n == 0 {
            break;
        }
        out.push_str(&tail[..n]);
        rest = &tail[n + 2..];
    }
    out
}

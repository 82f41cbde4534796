//! What several CLI test files share (each uses some of it).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

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

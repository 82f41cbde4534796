//! Tiny raw HTTP client and helpers for the simulator's own tests (no `urbackup` crate).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
    /// The body as JSON; bytes that are not UTF-8 (Latin-1 names) as the simulator holds
    /// them (`urbackup_sim::bytes`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&urbackup_sim::bytes::from_bytes(&self.body)).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Parse a complete response (head + body until EOF or Content-Length).
pub fn parse_resp(data: &[u8]) -> Option<(Resp, usize)> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&data[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?.to_string();
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body_start = end + 4;
    let cl = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let body_end = match cl {
        Some(n) => {
            if data.len() < body_start + n {
                return None;
            }
            body_start + n
        }
        None => data.len(),
    };
    Some((
        Resp {
            status_line,
            status,
            headers,
            body: data[body_start..body_end].to_vec(),
        },
        body_end,
    ))
}

/// Send raw bytes, read until EOF.
pub async fn raw(addr: SocketAddr, req: &[u8]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(req).await?;
    let mut data = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut data))
        .await
        .map_err(|_| std::io::Error::other("timeout"))??;
    parse_resp(&data).map(|r| r.0).ok_or_else(|| {
        std::io::Error::other(format!(
            "bad response: {:?}",
            String::from_utf8_lossy(&data)
        ))
    })
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub fn post_req(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: sim\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// POST /x?a=ACTION with a form body.
pub async fn post(addr: SocketAddr, action: &str, pairs: &[(&str, &str)]) -> Resp {
    let body = form(pairs);
    raw(addr, &post_req(&format!("/x?a={action}"), &body))
        .await
        .expect("request failed")
}

/// GET a target.
pub async fn get(addr: SocketAddr, target: &str) -> Resp {
    raw(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: sim\r\n\r\n").as_bytes(),
    )
    .await
    .expect("request failed")
}

/// Anonymous login (no users): returns the session.
pub async fn login_anon(addr: SocketAddr) -> String {
    let r = post(addr, "login", &[]).await.json();
    r["session"].as_str().expect("anonymous login").to_string()
}

pub fn md5_hex(d: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(d))
}

/// Compute the login proof independently of the simulator's code.
pub fn proof(salt: &str, password: &str, rounds: u32, rnd: &str) -> String {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Cache = Mutex<HashMap<(String, String, u32), String>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (salt.to_string(), password.to_string(), rounds);
    let cached = cache.lock().unwrap().get(&key).cloned();
    let h = match cached {
        Some(h) => h,
        None => {
            let h = stored(salt, password, rounds);
            cache.lock().unwrap().insert(key, h.clone());
            h
        }
    };
    md5_hex(format!("{rnd}{h}").as_bytes())
}

fn stored(salt: &str, password: &str, rounds: u32) -> String {
    let h0 = md5_hex(format!("{salt}{password}").as_bytes());
    if rounds > 0 {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
            &hex::decode(&h0).unwrap(),
            salt.as_bytes(),
            rounds,
            &mut out,
        );
        hex::encode(out)
    } else {
        h0
    }
}

/// salt + hashed login; returns (session, login reply).
pub async fn login_user(addr: SocketAddr, user: &str, pw: &str) -> (String, Value) {
    let s = post(addr, "salt", &[("username", user)]).await.json();
    let ses = s["ses"].as_str().expect("salt ses").to_string();
    let p = proof(
        s["salt"].as_str().unwrap(),
        pw,
        s["pbkdf2_rounds"].as_u64().unwrap() as u32,
        s["rnd"].as_str().unwrap(),
    );
    let r = post(
        addr,
        "login",
        &[("username", user), ("password", &p), ("ses", &ses)],
    )
    .await
    .json();
    (ses, r)
}

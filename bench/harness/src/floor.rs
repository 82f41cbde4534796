//! The floor: a minimal HTTP/1.1 client on a raw `TcpStream`. It sends the same `POST /x?a=status`
//! (form body `ses=…`) as a real client and reads the reply to EOF without parsing it. Nothing a
//! client library does can be faster than this for the same server round trip.
//!
//! Also used by the harness for the simulator's control endpoints and for measuring the size of the
//! JSON the server sends.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use md5::{Digest, Md5};

/// Where a server's action endpoint is: `http://HOST:PORT/PREFIX/x`.
#[derive(Clone, Debug)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: String,
    /// Path of the action endpoint, e.g. `/x`.
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("only http:// URLs are supported: {url}"))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/x"),
        };
        let path = if path == "/" { "/x" } else { path };
        let addr = host
            .to_socket_addrs()
            .with_context(|| format!("resolving {host}"))?
            .next()
            .ok_or_else(|| anyhow!("no address for {host}"))?;
        Ok(Target {
            addr,
            host: host.to_string(),
            path: path.to_string(),
        })
    }
}

/// The bytes of one action request, built once and sent as often as needed.
pub fn action_request(t: &Target, action: &str, form_body: &str) -> Vec<u8> {
    format!(
        "POST {}?a={} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{}",
        t.path,
        action,
        t.host,
        form_body.len(),
        form_body
    )
    .into_bytes()
}

/// Connect, send `request`, read until the server closes the connection. `buf` is cleared first
/// and receives the raw response (head and body). Nothing is parsed.
pub fn exchange(addr: SocketAddr, request: &[u8], buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    s.write_all(request)?;
    buf.clear();
    s.read_to_end(buf)?;
    Ok(())
}

/// The body of a raw HTTP response (after the blank line).
pub fn body(raw: &[u8]) -> &[u8] {
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => &raw[i + 4..],
        None => &[],
    }
}

/// Any request (used for `/_sim/...`): returns the body.
pub fn request(t: &Target, method: &str, path: &str, form_body: &str) -> Result<Vec<u8>> {
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{form_body}",
        t.host,
        form_body.len()
    );
    let mut buf = Vec::new();
    exchange(t.addr, req.as_bytes(), &mut buf).with_context(|| format!("{method} {path}"))?;
    Ok(body(&buf).to_vec())
}

fn call_json(t: &Target, action: &str, params: &[(&str, &str)]) -> Result<serde_json::Value> {
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut buf = Vec::new();
    exchange(t.addr, &action_request(t, action, &form), &mut buf)?;
    serde_json::from_slice(body(&buf)).with_context(|| format!("{action}: reply is not JSON"))
}

/// The login proof (API reference §2.4), written here independently of the library.
fn proof(salt: &str, password: &str, rounds: u32, rnd: &str) -> String {
    let mut m = Md5::new();
    m.update(salt.as_bytes());
    m.update(password.as_bytes());
    let h0: [u8; 16] = m.finalize().into();
    let h = if rounds > 0 {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&h0, salt.as_bytes(), rounds, &mut out);
        hex::encode(out)
    } else {
        hex::encode(h0)
    };
    let mut m = Md5::new();
    m.update(rnd.as_bytes());
    m.update(h.as_bytes());
    hex::encode(m.finalize())
}

/// Hashed login (`salt`, then `login`): two round trips. Returns the session token.
pub fn login(t: &Target, user: &str, password: &str) -> Result<String> {
    let salt = call_json(t, "salt", &[("username", user)])?;
    let field = |k: &str| -> Result<String> {
        salt.get(k)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("salt reply without {k}: {salt}"))
    };
    let ses = field("ses")?;
    let rounds = salt
        .get("pbkdf2_rounds")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32;
    let p = proof(&field("salt")?, password, rounds, &field("rnd")?);
    let reply = call_json(
        t,
        "login",
        &[("username", user), ("password", &p), ("ses", &ses)],
    )?;
    if reply.get("success").and_then(|v| v.as_bool()) != Some(true) {
        bail!("login failed: {reply}");
    }
    Ok(ses)
}

/// A logged-in floor client: one prebuilt `status` request.
pub struct Floor {
    addr: SocketAddr,
    request: Vec<u8>,
    buf: Vec<u8>,
}

impl Floor {
    pub fn connect(url: &str, user: &str, password: &str) -> Result<Self> {
        let t = Target::parse(url)?;
        let ses = login(&t, user, password)?;
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("ses", &ses)
            .finish();
        Ok(Floor {
            addr: t.addr,
            request: action_request(&t, "status", &form),
            buf: Vec::with_capacity(1 << 20),
        })
    }

    /// One status round trip; returns the number of bytes received (head + body).
    pub fn status(&mut self) -> Result<usize> {
        exchange(self.addr, &self.request, &mut self.buf)?;
        if self.buf.len() < 16 {
            bail!("short reply ({} bytes)", self.buf.len());
        }
        Ok(self.buf.len())
    }

    /// The body of the last reply.
    pub fn last_body(&self) -> &[u8] {
        body(&self.buf)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn proof_matches_reference_vector() {
        let p = super::proof("pOqk8oLzNKgWJp2M7cHu", "secret", 10000, "Ab3dE6gH9k");
        assert_eq!(p, "1f2986537d27d217cb0ac09abebccf99");
        let p = super::proof("pOqk8oLzNKgWJp2M7cHu", "secret", 0, "Ab3dE6gH9k");
        assert_eq!(p, "68231ae3b08a90154debf89a5e5e5072");
    }
}

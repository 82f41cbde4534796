//! Requests to a console served on a real socket, from any loopback source address
//! (127.0.x.y), written by hand so that a test controls every byte, header and timing.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use urbackup_console::{Console, ConsoleConfig, Store};

/// A console serving on `127.0.0.1:<port>` in this process.
pub struct Served {
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    pub dir: tempfile::TempDir,
    pub sim: Option<urbackup_sim::SimServer>,
}

/// Serves a console over one simulated server (`hq`, with `clients`) with these users and
/// this configuration.
pub async fn serve(
    clients: Vec<urbackup_sim::ClientSpec>,
    users: &[(&str, &str, urbackup_console::auth::Role)],
    config: ConsoleConfig,
) -> Served {
    let mut b = urbackup_sim::Simulator::builder()
        .admin(super::SIM_USER, super::SIM_PASSWORD)
        .login_failure_delay(Duration::ZERO);
    for c in clients {
        b = b.client(c);
    }
    let sim = b.start().await.expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    for (name, pw, role) in users {
        store.add_user(name, *role, pw).unwrap();
    }
    let console =
        Console::new(vec![super::member("hq", &sim.url())], store.clone(), config).unwrap();
    console.poll_once().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { console.serve_on(listener).await });
    Served {
        addr,
        store,
        dir,
        sim: Some(sim),
    }
}

/// A TCP connection to `to` from the loopback address `from`.
pub async fn connect(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    /// (lower-case name, value), in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `name=value` of a `Set-Cookie`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.all("set-cookie")
            .into_iter()
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_owned())
    }

    /// The whole `Set-Cookie` line of a cookie.
    pub fn cookie_line(&self, name: &str) -> Option<String> {
        self.all("set-cookie")
            .into_iter()
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }
}

/// Parses a whole HTTP/1.1 answer (read until the connection closed).
pub fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Sends one request (`Connection: close` added) from `from` and reads the whole answer.
pub async fn request(
    from: IpAddr,
    to: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut s = connect(from, to).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut raw)).await;
    parse(&raw)
}

pub async fn get(from: IpAddr, to: SocketAddr, path: &str, cookie: &str) -> Answer {
    let h: Vec<(&str, &str)> = if cookie.is_empty() {
        vec![]
    } else {
        vec![("Cookie", cookie)]
    };
    request(from, to, "GET", path, &h, "").await
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

pub async fn post(
    from: IpAddr,
    to: SocketAddr,
    path: &str,
    cookie: &str,
    pairs: &[(&str, &str)],
) -> Answer {
    let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if !cookie.is_empty() {
        h.push(("Cookie", cookie));
    }
    request(from, to, "POST", path, &h, &form(pairs)).await
}

/// The value of `name="csrf" value="..."` in a page.
pub fn csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &html[at + 19..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// A login form fetched from `from`: (its cookie, its token).
pub async fn login_form(from: IpAddr, to: SocketAddr) -> (String, String) {
    let page = get(from, to, "/login", "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page
        .all("set-cookie")
        .into_iter()
        .find(|v| v.contains("urbackup_console_login="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("the login cookie");
    (cookie, csrf(&page.body))
}

/// Posts a login from `from` with a fresh form; the answer.
pub async fn try_login(from: IpAddr, to: SocketAddr, user: &str, password: &str) -> Answer {
    let (cookie, token) = login_form(from, to).await;
    post(
        from,
        to,
        "/login",
        &cookie,
        &[
            ("username", user),
            ("password", password),
            ("csrf", &token),
            ("next", "/"),
        ],
    )
    .await
}

/// `127.0.a.b`.
pub fn lo(a: u8, b: u8) -> IpAddr {
    IpAddr::from([127, 0, a, b])
}

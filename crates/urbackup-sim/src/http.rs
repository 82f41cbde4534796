//! Minimal HTTP/1.1 request parsing and response rendering, mirroring the real built-in server.

use std::collections::HashMap;

/// Maximum size of the request head (request line + headers).
pub const MAX_HEAD: usize = 64 * 1024;
/// Maximum accepted request body.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// A parsed HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRequest {
    /// Request method as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Request target as sent (path + query).
    pub target: String,
    /// HTTP version token (`HTTP/1.1`).
    pub version: String,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Body (only read for `POST` with `Content-Length` > 0, like the real server).
    pub body: Vec<u8>,
    /// Number of bytes of the input consumed by this request.
    pub consumed: usize,
}

impl ParsedRequest {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a buffer could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// More bytes are needed.
    Incomplete,
    /// The request line is malformed.
    BadRequestLine,
    /// Head or body exceeds the limits.
    TooLarge,
    /// Content-Length header is not a number.
    BadContentLength,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            ParseError::Incomplete => "incomplete request",
            ParseError::BadRequestLine => "bad request line",
            ParseError::TooLarge => "request too large",
            ParseError::BadContentLength => "bad content-length",
        };
        f.write_str(s)
    }
}

impl std::error::Error for ParseError {}

fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    // returns (end of head content, start of body)
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = buf.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) if b < a => Some((b, b + 2)),
        (Some(a), _) => Some((a, a + 4)),
        (None, Some(b)) => Some((b, b + 2)),
        (None, None) => None,
    }
}

/// Parse one HTTP request from the start of `buf`. Never panics.
pub fn parse_request(buf: &[u8]) -> Result<ParsedRequest, ParseError> {
    let (head_end, body_start) = match find_head_end(buf) {
        Some(x) => x,
        None => {
            if buf.len() > MAX_HEAD {
                return Err(ParseError::TooLarge);
            }
            return Err(ParseError::Incomplete);
        }
    };
    if head_end > MAX_HEAD {
        return Err(ParseError::TooLarge);
    }
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ').filter(|s| !s.is_empty());
    let method = parts.next().ok_or(ParseError::BadRequestLine)?.to_string();
    let target = parts.next().ok_or(ParseError::BadRequestLine)?.to_string();
    let version = parts.next().unwrap_or("HTTP/1.0").to_string();
    if parts.next().is_some()
        || !method.bytes().all(|b| b.is_ascii_alphabetic())
        || !version.starts_with("HTTP/")
    {
        return Err(ParseError::BadRequestLine);
    }
    let mut headers = Vec::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut req = ParsedRequest {
        method,
        target,
        version,
        headers,
        body: Vec::new(),
        consumed: body_start,
    };
    let chunked = req
        .header("Transfer-Encoding")
        .map(|v| v.to_ascii_lowercase().contains("chunked"))
        .unwrap_or(false);
    let cl = match req.header("Content-Length") {
        Some(v) => v
            .trim()
            .parse::<usize>()
            .map_err(|_| ParseError::BadContentLength)?,
        None => 0,
    };
    if req.method.eq_ignore_ascii_case("POST") && cl > 0 && !chunked {
        if cl > MAX_BODY {
            return Err(ParseError::TooLarge);
        }
        let end = body_start.checked_add(cl).ok_or(ParseError::TooLarge)?;
        if buf.len() < end {
            return Err(ParseError::Incomplete);
        }
        req.body = buf[body_start..end].to_vec();
        req.consumed = end;
    }
    Ok(req)
}

/// Parameter map with the real server's semantics (first duplicate wins).
pub type Params = HashMap<String, String>;

/// Decode a value like `ParseParamStrHttp`: `+` → space, `%XX` → byte, `%00` dropped,
/// a `%` in the last two positions is kept literally.
pub fn decode_value(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        let c = v[i];
        if c == b'+' {
            out.push(b' ');
            i += 1;
        } else if c == b'%' && i + 2 < v.len() {
            let h = hexval(v[i + 1]).zip(hexval(v[i + 2]));
            match h {
                Some((a, b)) => {
                    let byte = a * 16 + b;
                    if byte != 0 {
                        out.push(byte);
                    }
                    i += 3;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parse a form/query string: pairs separated by `&` and `$`, keys not decoded, values decoded,
/// first duplicate wins, `'` doubled in values (SQL quote doubling of the real server).
pub fn parse_params(s: &[u8]) -> Params {
    let mut map = Params::new();
    for pair in s.split(|&b| b == b'&' || b == b'$') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(p) => (&pair[..p], &pair[p + 1..]),
            None => (pair, &b""[..]),
        };
        let key = crate::bytes::from_bytes(k);
        if map.contains_key(&key) {
            continue;
        }
        // Bytes that are not UTF-8 (a Latin-1 name) are kept (`crate::bytes`).
        let val = crate::bytes::from_bytes(&decode_value(v)).replace('\'', "''");
        map.insert(key, val);
    }
    map
}

/// Undo the quote doubling (`''` → `'`).
pub fn unquote(s: &str) -> String {
    s.replace("''", "'")
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// An action call: name, context (non-empty = unknown), raw query string.
    Action {
        /// Action name.
        name: String,
        /// Context (`c=`); non-empty makes every action unknown.
        context: String,
        /// Raw query text.
        query: String,
    },
    /// Simulator control endpoint (`/_sim/...`): path after `/_sim/`, raw query.
    Control {
        /// Path after `/_sim/`.
        path: String,
        /// Raw query text.
        query: String,
    },
    /// Static file request: 404.
    NotFound,
}

/// Route a request target like `HTTPClient::parseAction`.
pub fn route(target: &str) -> Route {
    if let Some(rest) = target.strip_prefix("/_sim/") {
        let (p, q) = rest.split_once('?').unwrap_or((rest, ""));
        return Route::Control {
            path: p.to_string(),
            query: q.to_string(),
        };
    }
    let segs: Vec<&str> = target.split('/').collect();
    let last = segs.last().copied().unwrap_or("");
    if let Some(q) = last.strip_prefix("x?") {
        let name = scan(q, "a=");
        let context = scan(q, "c=");
        return Route::Action {
            name,
            context,
            query: q.to_string(),
        };
    }
    if let Some((name, q)) = last.split_once('?') {
        if !name.contains('.') && !name.is_empty() {
            let context = if segs.len() == 3 && !segs[1].is_empty() {
                segs[1].to_string()
            } else {
                String::new()
            };
            return Route::Action {
                name: name.to_string(),
                context,
                query: q.to_string(),
            };
        }
    }
    Route::NotFound
}

fn scan(q: &str, pat: &str) -> String {
    match q.find(pat) {
        Some(p) => {
            let rest = &q[p + pat.len()..];
            rest.split('&').next().unwrap_or("").to_string()
        }
        None => String::new(),
    }
}

/// HTML-escape (for the unknown action reply).
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An HTTP response ready to be written.
#[derive(Debug, Clone)]
pub struct Response {
    /// e.g. `HTTP/1.1 200 ok`.
    pub status_line: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Generated bytes after `body`, written piece by piece (a large file download).
    pub generated: Option<crate::tree::Generated>,
    /// Whether the original server would send a Content-Length (downloads, static files).
    pub has_content_length: bool,
}

impl Response {
    /// The length of the whole body.
    pub fn body_len(&self) -> u64 {
        self.body.len() as u64 + self.generated.map_or(0, |g| g.len)
    }

    /// Render the head; with `keep_alive` a Content-Length is always added.
    pub fn head(&self, keep_alive: bool) -> Vec<u8> {
        let mut s = String::new();
        s.push_str(&self.status_line);
        s.push_str("\r\n");
        for (k, v) in &self.headers {
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
            s.push_str("\r\n");
        }
        if keep_alive && !self.has_content_length {
            s.push_str(&format!("Content-Length: {}\r\n", self.body_len()));
        }
        if keep_alive {
            s.push_str("Connection: keep-alive\r\n");
        }
        s.push_str("\r\n");
        // A file name in Content-Disposition goes out as its bytes.
        crate::bytes::to_bytes(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_basic() {
        let r = parse_request(
            b"POST /x?a=status HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nses=1extra",
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/x?a=status");
        assert_eq!(r.body, b"ses=1");
        assert_eq!(r.consumed, r.consumed);
        assert_eq!(
            parse_request(b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"),
            Err(ParseError::Incomplete)
        );
        assert_eq!(parse_request(b"GET /x"), Err(ParseError::Incomplete));
        assert_eq!(parse_request(b"\r\n\r\n"), Err(ParseError::BadRequestLine));
    }

    #[test]
    fn params() {
        let p = parse_params(b"a=1&b=x+y%2F&a=2$c=%00z%4&d=it's&e");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "x y/");
        assert_eq!(p["c"], "z%4");
        assert_eq!(p["d"], "it''s");
        assert_eq!(p["e"], "");
        let p = parse_params(b"k%41=v");
        assert!(p.contains_key("k%41"));
    }

    #[test]
    fn routes() {
        assert_eq!(
            route("/x?a=status&ses=1"),
            Route::Action {
                name: "status".into(),
                context: "".into(),
                query: "a=status&ses=1".into()
            }
        );
        assert!(
            matches!(route("/sub/path/x?a=login"), Route::Action { name, .. } if name == "login")
        );
        assert_eq!(route("/x"), Route::NotFound);
        assert_eq!(route("/x&a=b"), Route::NotFound);
        assert!(matches!(route("/x?"), Route::Action { name, .. } if name.is_empty()));
        assert!(
            matches!(route("/x?sa=files&a=backups"), Route::Action { name, .. } if name == "files")
        );
    }
}

//! Names that are not UTF-8: the crate's one rule for bytes the server sends in strings.
//!
//! The UrBackup server's JSON writer (`urbackupcommon/json.cpp`, `escape`) escapes only `"`,
//! `\` and bytes below 32 and passes every other byte through as it is. File names, log
//! messages, client and group names and paths in settings are bytes on the server, so any
//! string of a reply may hold bytes that are not UTF-8: a file named `caf\xE9-latin1.txt`
//! (Latin-1) on an older Linux client, a log message quoting it.
//!
//! # The rule
//!
//! Every string the server sends becomes a Rust `String` by [`from_server`]:
//!
//! * valid UTF-8 stays as it is;
//! * each byte that is not part of valid UTF-8 becomes `\xHH`: a backslash, a lower-case `x`
//!   and two **upper-case** hex digits (always `80`–`FF`): the Latin-1 name above reads
//!   `caf\xE9-latin1.txt`;
//! * a backslash the server did send, and which would otherwise read as such an escape (it is
//!   followed by `x` and two upper-case hex digits naming `5C` or `80`–`FF`), becomes `\x5C`.
//!   `C:\Users` and `a\xe9` (lower case) stay as they are; only a name that contains
//!   `\xE9`-like text itself changes, and it still round-trips.
//!
//! Every name, path and setting value the crate sends back goes through the inverse,
//! [`to_server`]: `\x5C` and `\x80`–`\xFF` (upper-case digits) become those bytes, and
//! everything else is sent as it is, as UTF-8. The two are exact inverses on what the server
//! sends: `to_server(&from_server(bytes)) == bytes` for every byte sequence. So a name taken
//! from any listing (a model field, the CLI's table, JSON or CSV output, the Python package)
//! reaches the same file when passed back to browse, download or restore: the form body
//! carries the original bytes, percent-encoded. The escaped form is also what people see:
//! readable, and no byte is ever dropped or replaced by `U+FFFD`.
//!
//! The rule applies to every string of every reply, including the models' `raw` text and the
//! legacy surface's `serde_json::Value`s (they hold the escaped strings), and to every
//! parameter the crate sends except passwords. The fast path costs nothing extra: a reply
//! that is valid UTF-8 and holds no backslash is decoded as it is; only a reply that fails to
//! decode, or holds a backslash, is looked at string by string.
//!
//! To write a backslash followed by `x` and two such digits literally (a setting value
//! `D:\xEDIT` meant as text), write its backslash as `\x5C`: `D:\x5CxEDIT`. A Unix program
//! that makes local files from names can get the original bytes with [`to_server`] and
//! `std::os::unix::ffi::OsStrExt::from_bytes`.
//!
//! ```
//! use urbackup::text::{from_server, to_server};
//!
//! let name = from_server(b"caf\xE9-latin1.txt");
//! assert_eq!(name, r"caf\xE9-latin1.txt");
//! assert_eq!(to_server(&name).as_ref(), b"caf\xE9-latin1.txt");
//! // Valid UTF-8 and ordinary backslashes are left alone.
//! assert_eq!(from_server("café C:\\Users".as_bytes()), "café C:\\Users");
//! // A name that holds escape-like text itself still round-trips.
//! assert_eq!(from_server(br"a\xE9"), r"a\x5CxE9");
//! assert_eq!(to_server(r"a\x5CxE9").as_ref(), br"a\xE9");
//! ```

use std::borrow::Cow;

/// The `String` form of bytes the server sent in a string (see the [module docs](self)).
pub fn from_server(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.contains('\\') => Cow::Borrowed(s),
        Ok(s) => {
            if !has_escape_like(s.as_bytes()) {
                return Cow::Borrowed(s);
            }
            let mut out = String::with_capacity(s.len() + 8);
            push_valid(&mut out, s);
            Cow::Owned(out)
        }
        Err(_) => {
            let mut out = String::with_capacity(bytes.len() + 16);
            for chunk in bytes.utf8_chunks() {
                push_valid(&mut out, chunk.valid());
                for b in chunk.invalid() {
                    push_escape(&mut out, *b);
                }
            }
            Cow::Owned(out)
        }
    }
}

/// The bytes a `String` from [`from_server`] stands for: what the crate sends to the server
/// for a name, path or setting value (see the [module docs](self)).
pub fn to_server(text: &str) -> Cow<'_, [u8]> {
    let bytes = text.as_bytes();
    if !bytes.contains(&b'\\') || !has_escape_like(bytes) {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let Some(b) = escape_at(bytes, i) {
            out.push(b);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// True when `text` stands for bytes that are not UTF-8 (it holds an escape of one).
pub fn has_raw_bytes(text: &str) -> bool {
    let bytes = text.as_bytes();
    (0..bytes.len()).any(|i| escape_at(bytes, i).is_some_and(|b| b >= 0x80))
}

/// True when `a` and `b` name the same bytes on the server (`caf\xC3\xA9` and `café` do).
pub fn same_name(a: &str, b: &str) -> bool {
    a == b || to_server(a) == to_server(b)
}

/// The byte an escape at `bytes[i..]` stands for: `\x` and two upper-case hex digits naming
/// `5C` or `80`–`FF`.
fn escape_at(bytes: &[u8], i: usize) -> Option<u8> {
    let e = bytes.get(i..i + 4)?;
    if e[0] != b'\\' || e[1] != b'x' {
        return None;
    }
    let b = upper_hex(e[2])? << 4 | upper_hex(e[3])?;
    (b == b'\\' || b >= 0x80).then_some(b)
}

fn upper_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn has_escape_like(bytes: &[u8]) -> bool {
    let mut from = 0;
    while let Some(p) = bytes[from..].iter().position(|&b| b == b'\\') {
        if escape_at(bytes, from + p).is_some() {
            return true;
        }
        from += p + 1;
    }
    false
}

/// Appends valid text, writing a backslash that would read as an escape as `\x5C`.
fn push_valid(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut run = 0;
    for i in 0..bytes.len() {
        if bytes[i] == b'\\' && escape_at(bytes, i).is_some() {
            out.push_str(&s[run..i]);
            out.push_str("\\x5C");
            run = i + 1;
        }
    }
    out.push_str(&s[run..]);
}

fn push_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str("\\x");
    out.push(HEX[(b >> 4) as usize] as char);
    out.push(HEX[(b & 15) as usize] as char);
}

/// A reply's JSON text with every string in the form of the rule: the bytes unchanged when
/// they already are (valid UTF-8, nothing escape-like), else a copy in which only the strings
/// that need it are rewritten. Text outside strings is copied as it is (a malformed reply
/// stays malformed, for the decoder to report).
pub(crate) fn json_text(body: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let Some((end, escapes)) = string_end(body, start) else {
            break;
        };
        let content = &body[start..end];
        let clean = !escapes && std::str::from_utf8(content).is_ok();
        if !clean {
            let decoded = unescape_json(content);
            let text = from_server(&decoded);
            let unchanged = matches!(text, Cow::Borrowed(_)) && !lone_surrogate(content);
            if !unchanged {
                let o = out.get_or_insert_with(|| Vec::with_capacity(body.len() + 64));
                o.extend_from_slice(&body[copied..start]);
                write_json_content(o, &text);
                copied = end;
            }
        }
        i = end + 1;
    }
    match out {
        None => Cow::Borrowed(body),
        Some(mut o) => {
            o.extend_from_slice(&body[copied..]);
            Cow::Owned(o)
        }
    }
}

/// The index of the closing quote of the string whose content starts at `start`, and
/// whether the content holds escapes.
fn string_end(body: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut escapes = false;
    let mut i = start;
    while i < body.len() {
        match body[i] {
            b'"' => return Some((i, escapes)),
            b'\\' => {
                escapes = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// True when the content has a `\u` escape of a surrogate without its partner (JSON the
/// server never writes: its writer escapes only bytes below 32).
fn lone_surrogate(content: &[u8]) -> bool {
    let mut i = 0;
    while i + 1 < content.len() {
        if content[i] == b'\\' {
            if content[i + 1] == b'u' {
                if let Some(u) = hex4(content, i + 2) {
                    if (0xD800..0xDC00).contains(&u) {
                        let pair = content.get(i + 6) == Some(&b'\\')
                            && content.get(i + 7) == Some(&b'u')
                            && hex4(content, i + 8).is_some_and(|l| (0xDC00..0xE000).contains(&l));
                        if !pair {
                            return true;
                        }
                        i += 12;
                        continue;
                    }
                    if (0xDC00..0xE000).contains(&u) {
                        return true;
                    }
                }
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let h = b.get(at..at + 4)?;
    let s = std::str::from_utf8(h).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// The bytes a JSON string's content stands for (escapes resolved; a surrogate without its
/// partner becomes U+FFFD, the only case in which a byte is not kept, and one the server's
/// writer never produces).
fn unescape_json(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        let c = content[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = content.get(i + 1) else {
            out.push(c);
            break;
        };
        i += 2;
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(s) = simple {
            out.push(s);
            continue;
        }
        if e != b'u' {
            // Not a JSON escape: kept as written (the decoder reports the reply).
            out.extend_from_slice(&[b'\\', e]);
            continue;
        }
        let Some(u) = hex4(content, i) else {
            out.extend_from_slice(b"\\u");
            continue;
        };
        i += 4;
        let ch = if (0xD800..0xDC00).contains(&u) {
            match (content.get(i..i + 2), hex4(content, i + 2)) {
                (Some(b"\\u"), Some(l)) if (0xDC00..0xE000).contains(&l) => {
                    i += 6;
                    char::from_u32(0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00))
                }
                _ => None,
            }
        } else {
            char::from_u32(u)
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(
            ch.unwrap_or(char::REPLACEMENT_CHARACTER)
                .encode_utf8(&mut buf)
                .as_bytes(),
        );
    }
    out
}

/// Writes `text` as JSON string content (the quotes are the caller's).
fn write_json_content(out: &mut Vec<u8>, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
            }
            _ => out.push(b),
        }
    }
}

/// Decodes a reply as `T` under the rule: the bytes as they are when they decode and hold no
/// backslash (the fast path), else the text from [`json_text`].
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, serde_json::Error> {
    if body.contains(&b'\\') {
        return serde_json::from_slice(&json_text(body));
    }
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(e) => match json_text(body) {
            Cow::Owned(fixed) => serde_json::from_slice(&fixed),
            Cow::Borrowed(_) => Err(e),
        },
    }
}

/// The text of one JSON value (a streamed list element) under the rule; `None` when it is
/// not text even then (bytes that are not UTF-8 outside its strings).
pub(crate) fn element_text(bytes: &[u8]) -> Option<Cow<'_, str>> {
    if !bytes.contains(&b'\\') {
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Some(Cow::Borrowed(s));
        }
    }
    match json_text(bytes) {
        Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
        Cow::Owned(v) => String::from_utf8(v).ok().map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    #[test]
    fn the_rule_by_example() {
        assert_eq!(from_server(b"caf\xE9.txt"), r"caf\xE9.txt");
        assert_eq!(from_server(b"\xff\xfe"), r"\xFF\xFE");
        // A cut multi-byte sequence: each byte escaped.
        assert_eq!(from_server(b"a\xC3"), r"a\xC3");
        assert_eq!(from_server("é".as_bytes()), "é");
        assert_eq!(from_server(br"C:\Users\x"), r"C:\Users\x");
        assert_eq!(from_server(br"\x5C"), r"\x5Cx5C");
        assert_eq!(from_server(br"\xe9"), r"\xe9");
        assert_eq!(from_server(br"\x41"), r"\x41");
        assert_eq!(to_server(r"\x41").as_ref(), br"\x41");
        assert_eq!(to_server(r"caf\xC3\xA9").as_ref(), "café".as_bytes());
        assert!(same_name(r"caf\xC3\xA9", "café"));
        assert!(has_raw_bytes(r"caf\xE9"));
        assert!(!has_raw_bytes(r"a\x5CxE9"));
        assert!(matches!(from_server(b"plain"), Cow::Borrowed(_)));
        assert!(matches!(to_server("plain"), Cow::Borrowed(_)));
    }

    use crate::fuzzing::server_string;

    #[test]
    fn replies_with_latin1_names_decode() {
        let mut body = b"{\n\"files\": [{\n\"name\": ".to_vec();
        body.extend(server_string(b"caf\xE9-latin1.txt"));
        body.extend_from_slice(b"\n}\n],\n\"path\": \"/x\"\n}\n");
        let v: Value = decode_json(&body).unwrap();
        assert_eq!(v["files"][0]["name"], r"caf\xE9-latin1.txt");
        assert!(serde_json::from_slice::<Value>(&body).is_err());
        // Valid replies are not copied.
        assert!(matches!(
            json_text(b"{\"a\": \"b\\\"c\"}"),
            Cow::Borrowed(_)
        ));
    }

    proptest! {
        /// Any bytes inside a string, as the server writes them, decode; the decoded string
        /// names the same bytes; strings around it are untouched.
        #[test]
        fn every_byte_sequence_decodes_and_round_trips(
            name in prop::collection::vec(any::<u8>(), 0..40),
            other in "[a-zé\\\\\"]{0,10}",
        ) {
            let mut body = b"{\"name\": ".to_vec();
            body.extend(server_string(&name));
            body.extend_from_slice(b", \"list\": [");
            body.extend(server_string(&name));
            body.extend_from_slice(b", 1], \"other\": ");
            body.extend(server_string(other.as_bytes()));
            body.push(b'}');
            let v: Value = decode_json(&body).unwrap();
            let got = v["name"].as_str().unwrap();
            let back = to_server(got);
            prop_assert_eq!(back.as_ref(), &name[..]);
            let again = from_server(&name);
            prop_assert_eq!(again.as_ref(), got);
            prop_assert_eq!(v["list"][0].as_str().unwrap(), got);
            prop_assert_eq!(v["other"].as_str().unwrap(), other.as_str());
            let element = element_text(&body).unwrap();
            let again: Value = serde_json::from_str(&element).unwrap();
            prop_assert_eq!(again, v);
        }

        /// The escape is a bijection on what the server can send.
        #[test]
        fn to_server_inverts_from_server(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let text = from_server(&bytes);
            let back = to_server(&text);
            prop_assert_eq!(back.as_ref(), &bytes[..]);
        }

        #[test]
        fn escape_like_text_round_trips(s in "(\\\\|x|5|C|E|9|F|a|é){0,16}") {
            let text = from_server(s.as_bytes());
            let back = to_server(&text);
            prop_assert_eq!(back.as_ref(), s.as_bytes());
        }
    }
}

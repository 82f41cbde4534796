//! Bytes that are not UTF-8 inside the simulator's strings.
//!
//! The real server's names are bytes: a file named `caf\xE9-latin1.txt` (Latin-1) goes into
//! its JSON replies as those bytes, and a request naming it carries `%E9`. The simulator keeps
//! names in Rust strings, with each such byte `b` as the character `U+10FF00 + b` (from the
//! end of the last private-use plane, which no real name uses): [`from_bytes`] reads request
//! bytes that way, and the JSON writer, headers, ZIP entries and file contents write those
//! characters back as the bytes. This is the simulator's own convention, independent of the
//! client library's.

/// The first character standing for a raw byte (`U+10FF00 + byte`).
const RAW_BASE: u32 = 0x10_FF00;

/// The character standing for the raw byte `b` (only bytes 0x80..=0xFF are ever raw).
pub fn raw_char(b: u8) -> char {
    char::from_u32(RAW_BASE + b as u32).expect("a valid code point")
}

/// The raw byte a character stands for, if it is one.
pub fn raw_byte(c: char) -> Option<u8> {
    let v = c as u32;
    (RAW_BASE + 0x80..=RAW_BASE + 0xFF)
        .contains(&v)
        .then(|| (v - RAW_BASE) as u8)
}

/// Bytes as a string: valid UTF-8 as it is, every other byte as its raw character.
pub fn from_bytes(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(chunk.invalid().iter().map(|b| raw_char(*b)));
    }
    out
}

/// The bytes a string stands for: raw characters as their bytes, the rest as UTF-8.
pub fn to_bytes(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut buf = [0u8; 4];
    for c in s.chars() {
        match raw_byte(c) {
            Some(b) => out.push(b),
            None => out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes()),
        }
    }
    out
}

/// `name` with Latin-1 bytes: each `\xHH` (HH 80-FF) of `escaped` as that raw byte (for
/// writing seeded names in source code).
pub fn latin1(escaped: &str) -> String {
    let mut out = String::new();
    let mut rest = escaped;
    while let Some(p) = rest.find("\\x") {
        out.push_str(&rest[..p]);
        match rest
            .get(p + 2..p + 4)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) if b >= 0x80 => {
                out.push(raw_char(b));
                rest = &rest[p + 4..];
            }
            _ => {
                out.push_str("\\x");
                rest = &rest[p + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let raw = b"caf\xE9-latin1 \xff\xfe \xC3\xA9";
        let s = from_bytes(raw);
        assert_eq!(to_bytes(&s), raw);
        assert!(s.ends_with('é'));
        assert_eq!(to_bytes(&latin1(r"caf\xE9.txt")), b"caf\xE9.txt");
        assert_eq!(from_bytes(b"plain"), "plain");
    }
}

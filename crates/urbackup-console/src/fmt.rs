//! How the console writes times, ages, sizes and URLs.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// `2026-12-04 17:30 UTC` (`never` for 0 or less).
pub fn time(unix: i64) -> String {
    if unix <= 0 {
        return "never".into();
    }
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
            t.format(&f).unwrap_or_else(|_| unix.to_string())
        }
        Err(_) => unix.to_string(),
    }
}

/// `2026-12-04` (for chart axes).
pub fn date(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let f = time::macros::format_description!("[year]-[month]-[day]");
            t.format(&f).unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

/// What the console writes for a value it does not have (never `-` or an empty cell).
pub const NONE: &str = "—";

/// A settings group: its name, or `(default)` for the default group (`""`).
pub fn group(name: &str) -> String {
    if name.is_empty() {
        "(default)".into()
    } else {
        name.to_owned()
    }
}

/// A message as a sentence of its own: with a full stop unless it ends in one (so that the
/// next sentence does not run into it).
pub fn sentence(s: &str) -> String {
    let t = s.trim_end();
    if t.is_empty() || t.ends_with(['.', '!', '?', ':']) {
        t.to_owned()
    } else {
        format!("{t}.")
    }
}

/// Sentence case: the first letter in capitals.
pub fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A text, or [`NONE`] when empty.
pub fn or_none(s: &str) -> String {
    if s.is_empty() {
        NONE.into()
    } else {
        s.to_owned()
    }
}

/// A span of seconds in at most two units, days the largest: `45s`, `12m`, `3h 12m`,
/// `2d 4h`, `12d` (the units of `--file-warning 26h`, `3d`).
pub fn span(secs: i64) -> String {
    let s = secs.max(0);
    let (h, m) = (s / 3600 % 24, s / 60 % 60);
    match () {
        _ if s >= 10 * 86_400 => format!("{}d", s / 86_400),
        _ if s >= 86_400 && h > 0 => format!("{}d {h}h", s / 86_400),
        _ if s >= 86_400 => format!("{}d", s / 86_400),
        _ if s >= 3600 && m > 0 => format!("{}h {m}m", s / 3600),
        _ if s >= 3600 => format!("{}h", s / 3600),
        _ if s >= 60 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// A recovery point objective in the one unit that states it exactly: `26 hours`, `8 days`,
/// `90 minutes`.
pub fn rpo(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s > 0 && s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s > 0 && s % 3600 == 0 => plural(s / 3600, "hour"),
        s if s > 0 && s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

/// `17:08:26 UTC` (a moment within the day, to the second).
pub fn clock(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => {
            let f = time::macros::format_description!("[hour]:[minute]:[second] UTC");
            t.format(&f).unwrap_or_else(|_| unix.to_string())
        }
        Err(_) => unix.to_string(),
    }
}

/// `3h 12m ago` relative to `now` (`never` for 0 or less).
pub fn ago(unix: i64, now: i64) -> String {
    if unix <= 0 {
        return "never".into();
    }
    format!("{} ago", span(now - unix))
}

/// Bytes in binary units: `512 B`, `1.5 KiB`, `12.3 GiB` (`—` when negative: unknown).
pub fn bytes(n: i64) -> String {
    if n < 0 {
        return NONE.into();
    }
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A share as a percentage with one decimal (`99.5%`), `100%` and `0%` exact.
pub fn percent(share: f64) -> String {
    let p = (share * 100.0).clamp(0.0, 100.0);
    if p >= 100.0 {
        "100%".into()
    } else if p <= 0.0 {
        "0%".into()
    } else {
        // Never round a share below 100% up to "100.0%".
        format!("{:.1}%", (p * 10.0).floor() / 10.0)
    }
}

/// Characters escaped in a path segment or a query value: everything but letters, digits and
/// `-._~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One URL path segment or query value (a server name may hold any character).
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The console's URL of a server.
pub fn server_href(server: &str) -> String {
    format!("/servers/{}", encode(server))
}

/// The console's URL of a client.
pub fn client_href(server: &str, clientid: i64) -> String {
    format!("/servers/{}/clients/{clientid}", encode(server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(time(0), "never");
        assert_eq!(time(1_764_867_000), "2025-12-04 16:50 UTC");
        assert_eq!(span(45), "45s");
        assert_eq!(span(3600 * 3 + 60 * 12), "3h 12m");
        assert_eq!(span(86_400 * 2 + 3600 * 4), "2d 4h");
        assert_eq!(span(86_400 * 14), "14d");
        assert_eq!(span(86_400 * 8), "8d");
        assert_eq!(span(86_400 + 7200), "1d 2h");
        assert_eq!(rpo(26 * 3600), "26 hours");
        assert_eq!(rpo(8 * 86_400), "8 days");
        assert_eq!(rpo(86_400), "1 day");
        assert_eq!(rpo(90 * 60), "90 minutes");
        assert_eq!(clock(1_764_867_006), "16:50:06 UTC");
        assert_eq!(bytes(-1), "—");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(300 * 1024 * 1024), "300 MiB");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.99999), "99.9%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(encode("a b/<c>"), "a%20b%2F%3Cc%3E");
        assert_eq!(client_href("x y", 3), "/servers/x%20y/clients/3");
    }
}

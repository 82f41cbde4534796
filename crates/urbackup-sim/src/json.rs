//! JSON serialization in the layout of the real server (`urbackupcommon/json.cpp`).
//!
//! Objects: keys byte-wise sorted, `{` newline, entries separated by `,` newline, `}` newline.
//! Arrays: `[a,b]` without whitespace. Floats like C++ `ostream << double` (`%g`, 6 significant
//! digits). Strings escape only `\` `"` `\n` `\r` and control bytes (`\u00XX`); every other
//! byte goes out as it is, so names holding bytes that are not UTF-8 (see [`crate::bytes`])
//! are sent as those bytes, like the real server does.

use serde_json::Value;

/// Serialize `v` like the real server does (raw-byte characters as their bytes).
pub fn to_urbackup_json(v: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, v);
    crate::bytes::to_bytes(&out)
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                out.push_str(&fmt_g(n.as_f64().unwrap_or(0.0)));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, e);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push_str("{\n");
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push('"');
                out.push_str(k);
                out.push_str("\": ");
                write_value(out, &m[k.as_str()]);
            }
            if !keys.is_empty() {
                out.push('\n');
            }
            out.push_str("}\n");
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Format like C++ `ostream << double` with default precision (`%g`, 6 significant digits).
pub fn fmt_g(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.5e}", x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        strip_zeros(&format!("{:.*}", decimals, x))
    }
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0');
        t.trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout() {
        assert_eq!(
            to_urbackup_json(&json!({"error": 1, "api_version": 2})),
            b"{\n\"api_version\": 2,\n\"error\": 1\n}\n"
        );
        assert_eq!(to_urbackup_json(&json!({})), b"{\n}\n");
        assert_eq!(
            to_urbackup_json(&json!({"a": [{"x": 1}, {"x": 2}], "b": {"c": true}, "d": "t\tq\"\n"})),
            b"{\n\"a\": [{\n\"x\": 1\n}\n,{\n\"x\": 2\n}\n],\n\"b\": {\n\"c\": true\n}\n,\n\"d\": \"t\\u0009q\\\"\\n\"\n}\n"
        );
        // A raw byte goes out as it is.
        let name = crate::bytes::latin1(r"caf\xE9");
        assert_eq!(
            to_urbackup_json(&json!({"n": name})),
            b"{\n\"n\": \"caf\xE9\"\n}\n"
        );
    }

    #[test]
    fn floats() {
        assert_eq!(fmt_g(123456789012.0), "1.23457e+11");
        assert_eq!(fmt_g(0.5), "0.5");
        assert_eq!(fmt_g(100.0), "100");
        assert_eq!(fmt_g(0.00001), "1e-05");
        assert_eq!(fmt_g(409003.0), "409003");
        assert_eq!(fmt_g(0.390056), "0.390056");
        assert_eq!(fmt_g(1234567.0), "1.23457e+06");
        assert_eq!(fmt_g(-2.5), "-2.5");
    }
}

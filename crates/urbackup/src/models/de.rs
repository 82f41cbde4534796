//! Tolerant field decoders: the server sends the same field as a number in one reply and as a
//! string in another (`"id": "1"`, `"lastbackup": "-"`, floats such as `1.23457e+11` for byte
//! counts), and leaves optional flags out. These decoders accept all of them and never panic.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;

/// An integer sent as a number (integer or float) or a string; `"-"`, `""` and unparsable text
/// become 0, `true`/`false` become 1/0.
pub(crate) fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(IntVisitor)
}

struct IntVisitor;

impl<'de> Visitor<'de> for IntVisitor {
    type Value = i64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer, a float or a numeric string")
    }
    fn visit_i64<E>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E>(self, v: u64) -> Result<i64, E> {
        Ok(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_f64<E>(self, v: f64) -> Result<i64, E> {
        Ok(if v.is_finite() { v.round() as i64 } else { 0 })
    }
    fn visit_bool<E>(self, v: bool) -> Result<i64, E> {
        Ok(v as i64)
    }
    fn visit_str<E>(self, v: &str) -> Result<i64, E> {
        let t = v.trim();
        Ok(t.parse::<i64>()
            .ok()
            .or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.round() as i64)
            })
            .unwrap_or(0))
    }
    fn visit_unit<E>(self) -> Result<i64, E> {
        Ok(0)
    }
    fn visit_none<E>(self) -> Result<i64, E> {
        Ok(0)
    }
}

/// A float sent as a number or a string (usage, speeds).
pub(crate) fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number")
        }
        fn visit_i64<E>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_f64<E>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_str<E>(self, v: &str) -> Result<f64, E> {
            Ok(v.trim().parse().unwrap_or(0.0))
        }
        fn visit_bool<E>(self, v: bool) -> Result<f64, E> {
            Ok(v as u8 as f64)
        }
        fn visit_unit<E>(self) -> Result<f64, E> {
            Ok(0.0)
        }
    }
    d.deserialize_any(V)
}

/// A boolean sent as `true`/`false`, 0/1, or the strings `"true"`, `"1"`, `"false"`, `"0"`, `""`.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a boolean, 0/1 or a boolean string")
        }
        fn visit_bool<E>(self, v: bool) -> Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E>(self, v: i64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_u64<E>(self, v: u64) -> Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_f64<E>(self, v: f64) -> Result<bool, E> {
            Ok(v != 0.0)
        }
        fn visit_str<E>(self, v: &str) -> Result<bool, E> {
            Ok(matches!(v.trim(), "true" | "1" | "True" | "yes"))
        }
        fn visit_unit<E>(self) -> Result<bool, E> {
            Ok(false)
        }
    }
    d.deserialize_any(V)
}

/// A string sent as a string, a number or a boolean (rendered as text).
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_i64<E>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_f64<E>(self, v: f64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_bool<E>(self, v: bool) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_unit<E>(self) -> Result<String, E> {
            Ok(String::new())
        }
    }
    d.deserialize_any(V)
}

/// An optional string: absent or `null` give `None`; numbers and booleans as text.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// An optional integer: absent, `null`, `"-"` or `""` give `None`.
pub(crate) fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match &v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.round() as i64)
        }),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Bool(b) => Some(*b as i64),
        _ => None,
    })
}

/// A list that may be missing or sent as something other than an array (then empty).
///
/// Written as a visitor rather than an untagged enum: the models keep their raw JSON text,
/// which cannot pass through serde's buffered untagged representation.
pub(crate) fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            while map
                .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Vec::new())
        }
        fn visit_str<E>(self, _: &str) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_i64<E>(self, _: i64) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_u64<E>(self, _: u64) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E>(self, _: f64) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_bool<E>(self, _: bool) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "super::int")]
        i: i64,
        #[serde(deserialize_with = "super::boolean")]
        b: bool,
        #[serde(deserialize_with = "super::string")]
        s: String,
        #[serde(deserialize_with = "super::float")]
        f: f64,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn numbers_as_strings_and_quirks() {
        let v = t(r#"{"i":"42","b":"1","s":7,"f":"1.5"}"#);
        assert_eq!((v.i, v.b, v.s.as_str(), v.f), (42, true, "7", 1.5));
        let v = t(r#"{"i":"-","b":"","s":true,"f":1.23457e+11}"#);
        assert_eq!(
            (v.i, v.b, v.s.as_str(), v.f),
            (0, false, "true", 1.23457e11)
        );
        let v = t(r#"{"i":1.23457e+11,"b":0,"s":"x","f":3}"#);
        assert_eq!(v.i, 123_457_000_000);
        assert!(!v.b);
    }

    #[test]
    fn wrong_types_are_errors_not_panics() {
        assert!(serde_json::from_str::<T>(r#"{"i":[1],"b":true,"s":"","f":1}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"i":1,"b":{},"s":"","f":1}"#).is_err());
    }
}

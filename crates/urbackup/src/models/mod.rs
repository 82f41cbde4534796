//! Typed models of the server's replies.
//!
//! Every model keeps `raw`: the object exactly as the server sent it (see [`Raw`]), so a field
//! this library does not map is never lost. Decoding is tolerant (numbers sent as strings,
//! `"-"` placeholders, missing optional flags) and never panics: a reply that cannot be decoded
//! is an [`UrbackupError::UnexpectedResponse`](crate::UrbackupError::UnexpectedResponse).

pub(crate) mod de;

mod backups;
mod logs;
mod progress;
pub(crate) mod settings;
mod status;
mod usage;
mod users;

pub use backups::*;
pub use logs::*;
pub use progress::*;
pub use settings::*;
pub use status::*;
pub use usage::*;
pub use users::*;

use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use std::fmt;

/// The JSON text of one object of a reply, exactly as the server sent it (strings holding bytes
/// that are not UTF-8 in the form of [`crate::text`]: `\\xE9` in the JSON text).
///
/// Kept as text (not as a parsed tree) so that keeping it costs one copy of the bytes;
/// [`Raw::to_value`] parses it on demand.
#[derive(Clone)]
pub struct Raw(Box<str>);

impl Raw {
    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }

    /// The object as a `serde_json::Value`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or(serde_json::Value::Null)
    }

    pub(crate) fn from_box(b: Box<RawValue>) -> Self {
        Raw(b.into())
    }

    /// `text` must be one JSON value (the caller has just decoded it).
    pub(crate) fn from_decoded(text: &str) -> Self {
        Raw(text.into())
    }

    /// Empty, to be replaced before the model is handed out (allocates nothing).
    pub(crate) fn placeholder() -> Self {
        Raw(Box::default())
    }
}

impl Default for Raw {
    fn default() -> Self {
        Raw("null".into())
    }
}

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A model's `raw` can be large (a whole settings object); show its size only.
        write!(f, "Raw({} bytes)", self.0.len())
    }
}

impl PartialEq for Raw {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Written out as the JSON it is (not as a string).
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// A model decoded from the bytes of one list element (the streamed `status` list): the
/// fields in one pass, `raw` a copy of the bytes, which that pass has just checked.
pub(crate) trait FromElement: Sized {
    fn from_element(bytes: &[u8]) -> Result<Self, serde_json::Error>;
}

/// Declares a model: a public struct with the listed fields plus `raw`. Inside a reply it is
/// decoded by first taking the object's text (kept as `raw`) and then decoding the fields from
/// it; as a streamed list element ([`FromElement`]) its bytes are already cut out, so the fields
/// are decoded straight from them.
macro_rules! model {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $(#[serde($($serde:tt)*)])*
                pub $field:ident : $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                pub $field: $ty,
            )*
            /// The object exactly as the server sent it.
            #[serde(skip)]
            pub raw: $crate::models::Raw,
        }

        impl $name {
            /// The fields decoded from `text` (one pass), with an empty `raw` for the caller
            /// to fill.
            fn decode_fields(text: &str) -> Result<Self, serde_json::Error> {
                #[derive(serde::Deserialize)]
                struct Fields {
                    $(
                        $(#[serde($($serde)*)])*
                        $field: $ty,
                    )*
                }
                let f: Fields = serde_json::from_str(text)?;
                Ok($name {
                    $( $field: f.$field, )*
                    raw: $crate::models::Raw::placeholder(),
                })
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw: Box<serde_json::value::RawValue> = serde::Deserialize::deserialize(d)?;
                let mut m = Self::decode_fields(raw.get()).map_err(serde::de::Error::custom)?;
                m.raw = $crate::models::Raw::from_box(raw);
                Ok(m)
            }
        }

        impl $crate::models::FromElement for $name {
            fn from_element(bytes: &[u8]) -> Result<Self, serde_json::Error> {
                // Valid UTF-8 without a backslash as it is; else under the crate's rule for
                // bytes that are not UTF-8 (`text` module).
                let text = $crate::text::element_text(bytes).ok_or_else(|| {
                    <serde_json::Error as serde::de::Error>::custom("invalid UTF-8 outside a string")
                })?;
                let mut m = Self::decode_fields(&text)?;
                m.raw = $crate::models::Raw::from_decoded(&text);
                Ok(m)
            }
        }
    };
}
pub(crate) use model;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_is_kept_verbatim() {
        let list: Vec<ExtraClient> =
            serde_json::from_str(r#"[{"hostname":"h","id":"7","online":false,"x":1}]"#).unwrap();
        assert_eq!(list[0].id, 7);
        assert_eq!(list[0].hostname, "h");
        assert_eq!(
            list[0].raw.get(),
            r#"{"hostname":"h","id":"7","online":false,"x":1}"#
        );
        assert_eq!(list[0].raw.to_value()["x"], 1);
    }
}

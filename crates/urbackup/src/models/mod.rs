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

/// The JSON text of one object of a reply, exactly as the server sent it.
///
/// Kept as text (not as a parsed tree) so that keeping it costs one copy of the bytes;
/// [`Raw::to_value`] parses it on demand.
#[derive(Clone)]
pub struct Raw(Box<RawValue>);

impl Raw {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The object as a `serde_json::Value`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.0.get()).unwrap_or(serde_json::Value::Null)
    }

    pub(crate) fn from_box(b: Box<RawValue>) -> Self {
        Raw(b)
    }
}

impl Default for Raw {
    fn default() -> Self {
        Raw(RawValue::from_string("null".to_owned()).expect("`null` is valid JSON"))
    }
}

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A model's `raw` can be large (a whole settings object); show its size only.
        write!(f, "Raw({} bytes)", self.0.get().len())
    }
}

impl PartialEq for Raw {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for Raw {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// Declares a model: a public struct with the listed fields plus `raw`, decoded by first taking
/// the object's text (kept as `raw`) and then decoding the fields from it.
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

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                struct Fields {
                    $(
                        $(#[serde($($serde)*)])*
                        $field: $ty,
                    )*
                }
                let raw: Box<serde_json::value::RawValue> = serde::Deserialize::deserialize(d)?;
                let f: Fields = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
                Ok($name {
                    $( $field: f.$field, )*
                    raw: $crate::models::Raw::from_box(raw),
                })
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

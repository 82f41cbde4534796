//! Web interface users, their rights, and client groups (`settings`).

use super::de;
use super::model;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One right of a user: a domain (`status`, `logs`, `all`...) and its value (`all`, `none`,
/// or a comma list of client ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Right {
    /// The domain.
    #[serde(default, deserialize_with = "de::string")]
    pub domain: String,
    /// The value.
    #[serde(default, deserialize_with = "de::string")]
    pub right: String,
}

/// A user's rights, parsed from (and written as) text.
///
/// The text form is `all` for a superuser, or `domain=right` pairs separated by `;`, e.g.
/// `status=all;logs=1,2;start_backup=all` (`;` because a right is itself a comma list of client
/// ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rights(pub Vec<Right>);

impl Rights {
    /// Superuser rights (`all=all`).
    pub fn admin() -> Self {
        Rights(vec![Right {
            domain: "all".into(),
            right: "all".into(),
        }])
    }

    /// The server's encoded form (`idx=0,1&0_domain=..&0_right=..`), sent as one form value.
    pub(crate) fn encode(&self) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        let idx: Vec<String> = (0..self.0.len()).map(|i| i.to_string()).collect();
        for (i, r) in self.0.iter().enumerate() {
            ser.append_pair(&format!("{i}_domain"), &r.domain);
            ser.append_pair(&format!("{i}_right"), &r.right);
        }
        ser.append_pair("idx", &idx.join(","));
        ser.finish()
    }
}

impl std::str::FromStr for Rights {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() || s == "all" {
            return Ok(Rights::admin());
        }
        let mut out = Vec::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (domain, right) = part
                .split_once('=')
                .ok_or_else(|| format!("right `{part}` is not of the form domain=right"))?;
            let (domain, right) = (domain.trim(), right.trim());
            if domain.is_empty() || right.is_empty() {
                return Err(format!("right `{part}` has an empty domain or value"));
            }
            out.push(Right {
                domain: domain.to_owned(),
                right: right.to_owned(),
            });
        }
        Ok(Rights(out))
    }
}

impl fmt::Display for Rights {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.len() == 1 && self.0[0].domain == "all" && self.0[0].right == "all" {
            return f.write_str("all");
        }
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|r| format!("{}={}", r.domain, r.right))
            .collect();
        f.write_str(&parts.join(";"))
    }
}

model! {
    /// A web interface user (spec: `User`), from `settings sa=listusers`.
    ///
    /// The server sends the id as a string and the rights as a list of `{domain, right}`;
    /// `rights` is their text form (see [`Rights`]), `right_list` the list.
    pub struct User {
        /// User id.
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// User name (the server stores names in lower case).
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// Rights as text: `all`, or `domain=right;...`.
        #[serde(skip)]
        pub rights: String,
        /// Rights as the server lists them.
        #[serde(default, deserialize_with = "de::list", rename = "rights")]
        pub right_list: Vec<Right>,
    }
}

impl User {
    pub(crate) fn fill_rights_text(mut self) -> Self {
        self.rights = Rights(self.right_list.clone()).to_string();
        self
    }
}

model! {
    /// A client settings group (spec: `Group`).
    pub struct Group {
        /// Group id (settings target `-id`).
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Group name.
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
    }
}

model! {
    /// A client as the settings navigation lists it (`navitems.clients`).
    pub struct SettingsClient {
        /// Client id.
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Client name (empty for restricted users: a server bug).
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// Group id (0 = default group).
        #[serde(default, deserialize_with = "de::int")]
        pub group: i64,
        /// Group name.
        #[serde(default, deserialize_with = "de::string")]
        pub groupname: String,
        /// The client has settings of its own (the server's `override`).
        #[serde(default, deserialize_with = "de::boolean", rename = "override")]
        pub override_settings: bool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_text_round_trip() {
        let r: Rights = "status=all;logs=1,2".parse().unwrap();
        assert_eq!(r.0.len(), 2);
        assert_eq!(r.0[1].right, "1,2");
        assert_eq!(r.to_string(), "status=all;logs=1,2");
        assert_eq!("all".parse::<Rights>().unwrap(), Rights::admin());
        assert!("status".parse::<Rights>().is_err());
    }

    #[test]
    fn rights_encode_like_the_web_ui() {
        let enc = Rights::admin().encode();
        assert_eq!(enc, "0_domain=all&0_right=all&idx=0");
        let r: Rights = "status=1,2;logs=all".parse().unwrap();
        assert_eq!(
            r.encode(),
            "0_domain=status&0_right=1%2C2&1_domain=logs&1_right=all&idx=0%2C1"
        );
    }
}

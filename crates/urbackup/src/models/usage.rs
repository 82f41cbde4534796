//! Storage usage (`usage`, `piegraph`, `usagegraph`).

use super::de;
use super::model;
use serde::{Deserialize, Serialize};

model! {
    /// Storage used by one client (spec: `UsageEntry`).
    ///
    /// The server sends these as floats with six significant digits (`1.23457e+11`), so they
    /// are rounded to whole bytes and precise to about 0.0001 %. The spec describes `files` and
    /// `images` as backup counts; the real server reports the **bytes** used by file and image
    /// backups, and so do these fields.
    pub struct UsageEntry {
        /// Client name.
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// Total bytes used.
        #[serde(default, deserialize_with = "de::int")]
        pub used: i64,
        /// Bytes used by file backups.
        #[serde(default, deserialize_with = "de::int")]
        pub files: i64,
        /// Bytes used by image backups.
        #[serde(default, deserialize_with = "de::int")]
        pub images: i64,
    }
}

model! {
    /// One slice of the storage pie (`piegraph`).
    pub struct PieSlice {
        /// Client name.
        #[serde(default, deserialize_with = "de::string")]
        pub label: String,
        /// Bytes used.
        #[serde(default, deserialize_with = "de::float")]
        pub data: f64,
    }
}

/// Scale of a usage graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum GraphScale {
    /// Daily points over the last two months.
    #[default]
    Day,
    /// Monthly points over three years.
    Month,
    /// Yearly points.
    Year,
}

impl GraphScale {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GraphScale::Day => "d",
            GraphScale::Month => "m",
            GraphScale::Year => "y",
        }
    }
}

/// One point of a usage graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsagePoint {
    /// Date label (`YYYY-MM-DD`).
    #[serde(default, deserialize_with = "de::string")]
    pub xlabel: String,
    /// Storage used, in the graph's unit.
    #[serde(default, deserialize_with = "de::float")]
    pub data: f64,
}

/// Storage use over time (`usagegraph`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageGraph {
    /// Points, oldest first.
    #[serde(default, deserialize_with = "de::list")]
    pub data: Vec<UsagePoint>,
    /// Unit of `data`: `GB` or `MB`.
    #[serde(default, deserialize_with = "de::string")]
    pub ylabel: String,
}

/// Which installer `download_installer` fetches (spec: `InstallerOS`; the server also offers
/// the macOS one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallerOS {
    /// `UrBackupUpdate.exe`.
    Windows,
    /// `UrBackupUpdateLinux.sh`.
    #[default]
    Linux,
    /// `UrBackupUpdateMac.sh`.
    Mac,
}

impl InstallerOS {
    /// The server's `os` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            InstallerOS::Windows => "windows",
            InstallerOS::Linux => "linux",
            InstallerOS::Mac => "mac",
        }
    }
}

impl std::str::FromStr for InstallerOS {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "windows" | "win" => Ok(InstallerOS::Windows),
            "linux" => Ok(InstallerOS::Linux),
            "mac" | "osx" | "macos" => Ok(InstallerOS::Mac),
            other => Err(format!(
                "unknown installer OS `{other}` (windows, linux, mac)"
            )),
        }
    }
}

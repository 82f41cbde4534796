//! Logs: the live log, stored backup logs and their lines (`livelog`, `logs`).

use super::de;
use super::model;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Severity of a log line (spec: `LogLevel`).
///
/// The spec's names are kept, with the values the **server** uses (the spec's Python origin
/// numbers them ERROR 1 ... DEBUG 4, which matches nothing the server sends):
///
/// | spec | Rust | server value |
/// |---|---|---|
/// | `DEBUG` | [`LogLevel::Debug`] | -1 (live server log only) |
/// | `INFO` | [`LogLevel::Info`] | 0 |
/// | `WARNING` | [`LogLevel::Warning`] | 1 |
/// | `ERROR` | [`LogLevel::Error`] | 2 |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum LogLevel {
    /// -1: debug.
    Debug,
    /// 0: information.
    #[default]
    Info,
    /// 1: warning.
    Warning,
    /// 2: error.
    Error,
}

impl LogLevel {
    /// The server's value.
    pub fn code(self) -> i64 {
        match self {
            LogLevel::Debug => -1,
            LogLevel::Info => 0,
            LogLevel::Warning => 1,
            LogLevel::Error => 2,
        }
    }

    /// The level for a server value (below -1 is debug, above 2 error).
    pub fn from_code(v: i64) -> Self {
        match v {
            i64::MIN..=-1 => LogLevel::Debug,
            0 => LogLevel::Info,
            1 => LogLevel::Warning,
            _ => LogLevel::Error,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LogLevel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for LogLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::int(d).map(LogLevel::from_code)
    }
}

model! {
    /// A line of the live log (spec: `LogEntry`), from `livelog`.
    pub struct LogEntry {
        /// Line id, increasing by one per line within one buffer.
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// The text (the server's `msg`).
        #[serde(default, deserialize_with = "de::string", rename = "msg")]
        pub message: String,
        /// Severity (the server's `loglevel`).
        #[serde(default, rename = "loglevel")]
        pub level: LogLevel,
        /// Unix time.
        #[serde(default, deserialize_with = "de::int")]
        pub time: i64,
    }
}

model! {
    /// A stored log in the `logs` list: one per backup or restore.
    pub struct LogSummary {
        /// Log id (see `get_log`).
        #[serde(default, deserialize_with = "de::int")]
        pub id: i64,
        /// Client name.
        #[serde(default, deserialize_with = "de::string")]
        pub name: String,
        /// Unix time.
        #[serde(default, deserialize_with = "de::int")]
        pub time: i64,
        /// Number of errors.
        #[serde(default, deserialize_with = "de::int")]
        pub errors: i64,
        /// Number of warnings.
        #[serde(default, deserialize_with = "de::int")]
        pub warnings: i64,
        /// An image backup.
        #[serde(default, deserialize_with = "de::boolean")]
        pub image: bool,
        /// An incremental backup.
        #[serde(default, deserialize_with = "de::boolean")]
        pub incremental: bool,
        /// A resumed backup.
        #[serde(default, deserialize_with = "de::boolean")]
        pub resumed: bool,
        /// A restore.
        #[serde(default, deserialize_with = "de::boolean")]
        pub restore: bool,
    }
}

/// One line of a stored log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// Unix time.
    pub time: i64,
    /// The text.
    pub message: String,
}

/// A stored log with its lines (`logs logid=N`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Log {
    /// Log id.
    pub id: i64,
    /// Client name.
    pub clientname: String,
    /// Unix time.
    pub time: i64,
    /// The lines, in order.
    pub lines: Vec<LogLine>,
}

impl Log {
    /// Parses the server's text (`LEVEL-UNIXTIME-MESSAGE` per line; the message may contain `-`).
    pub(crate) fn parse_lines(data: &str) -> Vec<LogLine> {
        data.lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut parts = line.splitn(3, '-');
                let (a, b, c) = (parts.next(), parts.next(), parts.next());
                match (
                    a.and_then(|a| a.parse().ok()),
                    b.and_then(|b| b.parse().ok()),
                    c,
                ) {
                    (Some(level), Some(time), Some(msg)) => LogLine {
                        level: LogLevel::from_code(level),
                        time,
                        message: msg.to_owned(),
                    },
                    _ => LogLine {
                        level: LogLevel::Info,
                        time: 0,
                        message: line.to_owned(),
                    },
                }
            })
            .collect()
    }

    /// Number of lines at `level` or above.
    pub fn count_at_least(&self, level: LogLevel) -> usize {
        self.lines.iter().filter(|l| l.level >= level).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_split_on_the_first_two_dashes() {
        let lines = Log::parse_lines("0-1700000000-Starting - full\n2-1700000001-Error: x-y\nodd");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].message, "Starting - full");
        assert_eq!(lines[1].level, LogLevel::Error);
        assert_eq!(lines[1].time, 1_700_000_001);
        assert_eq!(lines[2].message, "odd");
    }

    #[test]
    fn levels_are_the_servers() {
        assert_eq!(LogLevel::from_code(-1), LogLevel::Debug);
        assert_eq!(LogLevel::from_code(2), LogLevel::Error);
        assert!(LogLevel::Error > LogLevel::Warning);
    }
}

//! The typed API, one module per domain. Every method is an `impl UrbackupServer` block here
//! and goes through the one call path of [`crate::transport`].

mod backups;
mod installer;
mod logs;
mod progress;
mod settings;
mod status;
mod usage;
mod users;

pub use logs::LogFilter;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use logs::{LiveLogReply, LogsReply};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use progress::{LastActsReply, ProgressReply, StartReply};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use usage::{PieReply, UsageReply};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use users::{NavReply, UsersReply};

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use settings::strip_archive_annotations;

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
mod versions;

pub use logs::LogFilter;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use logs::{LiveLogReply, LogsReply};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use progress::{LastActsReply, ProgressReply, StartReply};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use usage::{PieReply, UsageReply};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use users::{NavReply, UsersReply};
pub use versions::{
    FileBackupKey, FileVersion, FileVersions, ListingCache, ListingCount, ListingKey, SearchHit,
    SearchLimits, SearchResult, SearchStop, LISTINGS_AT_ONCE,
};

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use settings::strip_archive_annotations;

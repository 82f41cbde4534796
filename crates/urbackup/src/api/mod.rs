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
#[cfg(test)]
pub(crate) use logs::{LiveLogReply, LogsReply};
#[cfg(test)]
pub(crate) use progress::{LastActsReply, ProgressReply, StartReply};
#[cfg(test)]
pub(crate) use usage::{PieReply, UsageReply};
#[cfg(test)]
pub(crate) use users::{NavReply, UsersReply};

//! # urbackup-fleet
//!
//! Several UrBackup servers, polled into one snapshot: the shared core below the `urbackup`
//! tool's fleet commands (`exporter`, `report`) and its web console.
//!
//! * [`ServerPoller`] polls one server: `status` (each client judged by the library's health
//!   rule as the reply streams in), and as the [`Plan`] asks, `progress`, `lastacts`,
//!   `usage`, the error logs and the backup lists of the clients that need them. Each poll
//!   gives a [`ServerSnapshot`]. A server that cannot be read keeps its last known data and
//!   says since when it is unreachable; a server that refuses the login is not asked again at
//!   every poll (UrBackup bans an address after 10 failed logins), but after a growing pause.
//! * [`Poller`] polls every server of a fleet on an interval, one task per server, and
//!   publishes a [`FleetSnapshot`]: readers (web pages, `/metrics`) read the snapshot and
//!   never cause a request, so the requests per server and interval do not depend on the
//!   number of readers.
//! * [`Observer`] is told what a poll saw that is worth keeping beyond the server's own
//!   retention (backup lists, finished activities, error logs): the console stores it.
//!
//! The library (`urbackup`) performs every call; this crate only decides which calls to make
//! and when, and keeps what they returned.

#![warn(missing_docs)]

mod counts;
mod poll;
mod poller;
mod snapshot;

pub use counts::{BackupCounts, BackupRefresh, Counts};
pub use poll::{NoObserver, Observer, Plan, ServerPoller};
pub use poller::{Poller, PollerConfig};
pub use snapshot::{ClientRow, Failure, FailureKind, FleetSnapshot, ServerSnapshot};

use urbackup::UrbackupServer;

/// One server of a fleet.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its name in the fleet (a profile name, or the URL): unique, shown to people, used as
    /// the `server` label of metrics and in console URLs.
    pub name: String,
    /// The handle every call goes through (one session, shared).
    pub server: UrbackupServer,
}

impl Member {
    /// A member named `name` for this server.
    pub fn new(name: impl Into<String>, server: UrbackupServer) -> Member {
        Member {
            name: name.into(),
            server,
        }
    }

    /// The server's URL as shown to people (no credentials in it).
    pub fn url(&self) -> &str {
        self.server.url()
    }
}

/// The current Unix time in seconds (0 if the clock is before 1970).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

//! Browsing, downloading and restoring backups from the console: what the console adds to
//! the library's listings, downloads and restores (the protocol is the library's).
//!
//! * [`Listings`]: a cache of folder listings of file backups, shared by browsing, the
//!   versions of a file and the search (a finished backup never changes);
//! * [`path`]: the paths the console accepts, checked before any request;
//! * [`stream`]: a download as a response body, from the server's socket to the browser's,
//!   recorded in the audit trail when it ends (finished, broken off, cancelled);
//! * [`Restores`]: the restores started from the console, each followed until its own log
//!   on the server says how it ended.

mod cache;
mod follow;
pub mod path;
pub mod stream;

pub use cache::Listings;
pub use follow::{RestoreStage, RestoreState, Restores};

//! Browsing, downloading, restoring and the versions of a file, for operators and admins:
//! the handlers of the room in `crate::restore`. Every handler finds its server and client
//! through [`super::target::resolve`], checks the path before any request, and records what
//! it did in the audit trail.
//!
//! * [`browse`]: a file backup's folders (sorted, filtered, paged, searched below) and the
//!   page of an image backup;
//! * [`download`]: a file, or a folder as the server's ZIP, streamed to the browser;
//! * [`restore`]: the confirmation, the start, and the page that follows a restore;
//! * [`versions`]: every backup of the client holding a file.

pub mod browse;
pub mod download;
pub mod restore;
pub mod versions;

use super::target::{resolve, Target};
use super::{AppState, PageError, Session};
use crate::auth::Role;
use crate::fmt;
use crate::restore::path;
use crate::store::{AuditEntry, BackupRow};
use std::sync::Arc;
use urbackup::{BackupListing, FileBackupKey, FileEntry, UrbackupError};

/// `?path=...` of the pages of this room.
#[derive(serde::Deserialize, Default)]
pub struct PathQuery {
    path: Option<String>,
}

/// The checks every handler of this room makes first: an operator or admin (file names and
/// contents are data, not health), the server and client, and the path.
async fn open(
    state: &AppState,
    session: &Session,
    server: &str,
    clientid: i64,
    raw_path: Option<&str>,
) -> Result<(Target, String), PageError> {
    session.require(Role::Operator)?;
    let target = resolve(state, session, server, clientid)?;
    let path = path::check(raw_path.unwrap_or("")).map_err(PageError::BadRequest)?;
    Ok((target, path))
}

/// What every page of this room starts with: the client, on its server, each a link.
pub struct Head {
    server: String,
    server_href: String,
    client: String,
    client_href: String,
}

impl Target {
    /// The head of this client's pages.
    fn head(&self) -> Head {
        let server = self.server_name();
        Head {
            server: server.to_owned(),
            server_href: fmt::server_href(server),
            client: self.client.name().to_owned(),
            client_href: fmt::client_href(server, self.id()),
        }
    }
}

/// The key of a file backup's listings.
fn key(b: &BackupRow) -> FileBackupKey {
    FileBackupKey {
        id: b.id,
        backuptime: b.time,
    }
}

/// A folder listing of a file backup, from the cache or the server. Returns the listing and
/// whether it came from the server.
async fn listing(
    state: &AppState,
    t: &Target,
    b: &BackupRow,
    folder: &str,
) -> Result<(Arc<BackupListing>, bool), PageError> {
    let server = t.handle();
    let cache = state.listings().of(t.server_name());
    server
        .browse_backup_cached(t.id(), key(b), folder, Some(&cache))
        .await
        .map_err(|e| server_error("list the folder", &e))
}

/// The entry `path` names in file backup `b` (from its folder's listing): a clear 404 when
/// the backup does not hold it.
async fn entry(
    state: &AppState,
    t: &Target,
    b: &BackupRow,
    path: &str,
) -> Result<FileEntry, PageError> {
    let Some((folder, name)) = path::split(path) else {
        return Err(PageError::BadRequest(
            "This needs a file or folder, not the root.".into(),
        ));
    };
    let (l, _) = listing(state, t, b, folder).await?;
    l.files
        .iter()
        .find(|f| urbackup::text::same_name(&f.name, name))
        .cloned()
        .ok_or_else(|| {
            PageError::NotFound(format!(
                "File backup {} of {} holds no “{path}”.",
                b.id,
                t.client.name()
            ))
        })
}

/// A request to the UrBackup server that failed, as a page (502: the server, not the
/// console or the browser, failed).
fn server_error(what: &str, e: &UrbackupError) -> PageError {
    PageError::Server(format!("The server could not {what}: {e}"))
}

/// Records an entry of the audit trail (on a blocking thread); returns its id.
async fn audit(state: &AppState, e: AuditEntry<'_>) -> Result<i64, PageError> {
    let owned = (
        e.user.to_owned(),
        e.server.to_owned(),
        e.path.map(str::to_owned),
        e.action.to_owned(),
        e.outcome.to_owned(),
        e.detail.to_owned(),
    );
    let (clientid, backupid, ok, bytes) = (e.clientid, e.backupid, e.ok, e.bytes);
    state
        .db(move |s| {
            s.audit_entry(&AuditEntry {
                user: &owned.0,
                server: &owned.1,
                clientid,
                backupid,
                path: owned.2.as_deref(),
                action: &owned.3,
                ok,
                outcome: &owned.4,
                detail: &owned.5,
                bytes,
            })
        })
        .await
}

/// `File backup 12 (full, 2026-12-04 17:30 UTC)`.
fn backup_label(b: &BackupRow) -> String {
    format!(
        "{} backup {} ({}, {})",
        if b.image { "Image" } else { "File" },
        b.id,
        if b.incremental == 0 {
            "full"
        } else {
            "incremental"
        },
        fmt::time(b.time)
    )
}

/// The console's URLs of this room.
pub mod href {
    use crate::fmt::{client_href, encode};

    /// A file backup's page (its root).
    pub fn backup(server: &str, clientid: i64, backupid: i64) -> String {
        format!("{}/backups/{backupid}", client_href(server, clientid))
    }
    /// A folder of a file backup.
    pub fn browse(server: &str, clientid: i64, backupid: i64, path: &str) -> String {
        if path.is_empty() {
            backup(server, clientid, backupid)
        } else {
            format!(
                "{}?path={}",
                backup(server, clientid, backupid),
                encode(path)
            )
        }
    }
    /// A file's download.
    pub fn download(server: &str, clientid: i64, backupid: i64, path: &str) -> String {
        format!(
            "{}/download?path={}",
            backup(server, clientid, backupid),
            encode(path)
        )
    }
    /// A folder's ZIP.
    pub fn zip(server: &str, clientid: i64, backupid: i64, path: &str) -> String {
        format!(
            "{}/zip?path={}",
            backup(server, clientid, backupid),
            encode(path)
        )
    }
    /// The confirmation of a restore.
    pub fn restore(server: &str, clientid: i64, backupid: i64, path: &str) -> String {
        format!(
            "{}/restore?path={}",
            backup(server, clientid, backupid),
            encode(path)
        )
    }
    /// The versions of a file.
    pub fn versions(server: &str, clientid: i64, path: &str) -> String {
        format!(
            "{}/versions?path={}",
            client_href(server, clientid),
            encode(path)
        )
    }
    /// An image backup's page.
    pub fn image(server: &str, clientid: i64, backupid: i64) -> String {
        format!("{}/images/{backupid}", client_href(server, clientid))
    }
    /// A restore started from the console.
    pub fn restore_status(server: &str, clientid: i64, id: i64) -> String {
        format!("{}/restores/{id}", client_href(server, clientid))
    }
}

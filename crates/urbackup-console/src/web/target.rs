//! What a request about a backup's files names: a server, one of its clients, one of that
//! client's backups.
//!
//! [`resolve`] finds the server and client through the session's view of the fleet
//! ([`FleetView::client`]: a server or client outside the user's scope is the 404 of an
//! unknown one), so what a user may see is decided there; a backup is found only from what
//! [`resolve`] returned ([`Target::file_backup`], [`Target::image_backup`]), and the
//! server's handle only through the view ([`FleetView::handle`]).

use super::state::FleetView;
use super::{AppState, PageError, Session};
use crate::store::BackupRow;
use std::sync::Arc;
use urbackup::UrbackupServer;
use urbackup_fleet::{ClientRow, ServerSnapshot};

/// A server and one of its clients, as a request named them, in the user's view.
pub(in crate::web) struct Target {
    /// The server's snapshot.
    pub server: Arc<ServerSnapshot>,
    /// The client, as the server's last poll showed it.
    pub client: ClientRow,
    /// The library's handle of the server.
    handle: UrbackupServer,
}

/// Finds the server `server_name` and its client `clientid` in `session`'s view of the
/// fleet: a server or client that does not exist, or that the user may not see, is the same
/// 404 page.
pub(in crate::web) fn resolve(
    state: &AppState,
    session: &Session,
    server_name: &str,
    clientid: i64,
) -> Result<Target, PageError> {
    let view: FleetView = session.fleet(state);
    let (server, client) = view.client(server_name, clientid)?;
    let handle = view.handle(&server)?;
    Ok(Target {
        server,
        client,
        handle,
    })
}

impl Target {
    /// The server's name in the console.
    pub fn server_name(&self) -> &str {
        &self.server.name
    }

    /// The client's id.
    pub fn id(&self) -> i64 {
        self.client.id()
    }

    /// The library's handle of the server.
    pub fn handle(&self) -> UrbackupServer {
        self.handle.clone()
    }

    /// File backup `id` of the client, as the console has seen it in the server's lists.
    pub async fn file_backup(&self, state: &AppState, id: i64) -> Result<BackupRow, PageError> {
        self.backup(state, false, id).await
    }

    /// Image backup `id` of the client.
    pub async fn image_backup(&self, state: &AppState, id: i64) -> Result<BackupRow, PageError> {
        self.backup(state, true, id).await
    }

    async fn backup(&self, state: &AppState, image: bool, id: i64) -> Result<BackupRow, PageError> {
        let (server, clientid) = (self.server.name.clone(), self.id());
        let rows = state.db(move |s| s.backups(&server, clientid)).await?;
        let kind = if image { "image" } else { "file" };
        match rows.into_iter().find(|b| b.image == image && b.id == id) {
            Some(b) if b.gone => Err(PageError::NotFound(format!(
                "The server has deleted {kind} backup {id} of {}.",
                self.client.name()
            ))),
            Some(b) => Ok(b),
            None => Err(PageError::NotFound(format!(
                "{} has no {kind} backup {id} that this console knows of (a new backup shows once the console has read the client's backup list).",
                self.client.name()
            ))),
        }
    }

    /// The client's file backups the server still lists, newest first.
    pub async fn file_backups(&self, state: &AppState) -> Result<Vec<BackupRow>, PageError> {
        let (server, clientid) = (self.server.name.clone(), self.id());
        let mut rows = state.db(move |s| s.backups(&server, clientid)).await?;
        rows.retain(|b| !b.image && !b.gone);
        rows.reverse();
        Ok(rows)
    }
}

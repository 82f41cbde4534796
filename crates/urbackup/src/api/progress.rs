//! Running actions and starting backups: web actions `progress`, `start_backup`, `lastacts`.

use super::status::join_ids;
use crate::error::Result;
use crate::models::de;
use crate::models::{ActionProgress, Activity, BackupType, StartResult};
use crate::transport::Call;
use crate::UrbackupServer;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct ProgressReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) progress: Vec<ActionProgress>,
}

#[derive(Deserialize)]
pub(crate) struct LastActsReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) lastacts: Vec<Activity>,
}

#[derive(Deserialize)]
pub(crate) struct StartReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) result: Vec<StartResult>,
}

impl UrbackupServer {
    /// Running actions: backups, restores, server jobs (spec: `get_actions_typed`; web action
    /// `progress` with `with_lastacts=0`).
    pub async fn get_actions_typed(&self) -> Result<Vec<ActionProgress>> {
        let r: ProgressReply = self
            .transport
            .call(Call::read("progress").param("with_lastacts", "0"))
            .await?;
        Ok(r.progress)
    }

    /// Asks the server to stop a running action (spec: `stop_action_typed`; web action
    /// `progress` with `stop_clientid` and `stop_id`). The server confirms nothing; `true`
    /// means the request was accepted by a session allowed to stop it (the action's
    /// `can_stop_backup`), and the action disappears from [`get_actions_typed`] once stopped.
    ///
    /// [`get_actions_typed`]: UrbackupServer::get_actions_typed
    pub async fn stop_action_typed(&self, action: &ActionProgress) -> Result<bool> {
        self.stop_action_ids(action.clientid, action.id).await
    }

    /// [`stop_action_typed`](UrbackupServer::stop_action_typed) by client id and process id.
    pub async fn stop_action_ids(&self, clientid: i64, id: i64) -> Result<bool> {
        let r: ProgressReply = self
            .transport
            .call(
                Call::write("progress")
                    .param("stop_clientid", clientid.to_string())
                    .param("stop_id", id.to_string())
                    .param("with_lastacts", "0"),
            )
            .await?;
        Ok(r.progress
            .iter()
            .find(|p| p.clientid == clientid && p.id == id)
            .map(|p| p.can_stop_backup)
            .unwrap_or(true))
    }

    /// Starts a backup of the client named `clientname` (spec: `start_backup_typed`; web
    /// actions `status` to find the id, then `start_backup`). `true` when the server queued it
    /// to the connected client; `false` when the client is offline.
    ///
    /// Image backups of a client that cannot do them (e.g. Linux) are accepted by the server
    /// and silently dropped; check `image_not_supported` on the client's status first.
    pub async fn start_backup_typed(
        &self,
        clientname: &str,
        backup_type: BackupType,
    ) -> Result<bool> {
        let id = self.client_id(clientname).await?;
        let results = self.start_backups(&[id], backup_type).await?;
        Ok(results.first().is_some_and(|r| r.start_ok))
    }

    /// Starts a backup of several clients in one call (web action `start_backup` with a comma
    /// list). One result per client the session may start, in request order; clients outside
    /// the session's rights are skipped by the server and get no result.
    pub async fn start_backups(
        &self,
        clientids: &[i64],
        backup_type: BackupType,
    ) -> Result<Vec<StartResult>> {
        if clientids.is_empty() {
            return Ok(Vec::new());
        }
        let r: StartReply = self
            .transport
            .call(
                Call::write("start_backup")
                    .param("start_client", join_ids(clientids))
                    .param("start_type", backup_type.as_str()),
            )
            .await?;
        Ok(r.result)
    }

    /// The 20 most recent activities: finished backups, deletions, restores (web action
    /// `lastacts`).
    pub async fn last_activities(&self) -> Result<Vec<Activity>> {
        let r: LastActsReply = self.transport.call(Call::read("lastacts")).await?;
        Ok(r.lastacts)
    }

    /// Running actions of one client (web action `progress`).
    pub async fn client_actions(&self, clientid: i64) -> Result<Vec<ActionProgress>> {
        let mut all = self.get_actions_typed().await?;
        all.retain(|a| a.clientid == clientid);
        Ok(all)
    }
}

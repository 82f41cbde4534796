//! Running actions and starting backups: web actions `progress`, `start_backup`, `lastacts`.

use super::status::join_ids;
use crate::error::{Result, UrbackupError};
use crate::health::ServerSwitches;
use crate::models::de;
use crate::models::{
    ActionProgress, Activity, BackupType, ClientStatus, ServerGeneration, StartResult, StatusReport,
};
use crate::starts::{refused_error, StartRefusal};
use crate::text;
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
    /// A start the server would accept and never run is not sent: an image backup of a client
    /// that cannot do image backups (on UrBackup 2.4 it would also stop every file backup of
    /// the client until the server restarts), an image or file backup while that kind is
    /// switched off on the server. Such a start is [`UrbackupError::Unsupported`], naming the
    /// client and the reason ([`StartRefusal`], [`crate::starts`]).
    pub async fn start_backup_typed(
        &self,
        clientname: &str,
        backup_type: BackupType,
    ) -> Result<bool> {
        let id = self
            .startable(backup_type, |c| text::same_name(&c.name, clientname))
            .await?
            .first()
            .map(|c| c.id)
            .ok_or_else(|| UrbackupError::ClientNotFound(clientname.to_owned()))?;
        let results = self.send_start(&[id], backup_type).await?;
        Ok(results.first().is_some_and(|r| r.start_ok))
    }

    /// Starts a backup of several clients in one call (web actions `status`, then
    /// `start_backup` with a comma list). One result per client the session may start, in
    /// request order; clients outside the session's rights are skipped by the server and get
    /// no result.
    ///
    /// The `status` reply is read first: when the server would accept the start for one of
    /// the clients and never run it ([`StartRefusal`]), nothing is sent and the call is
    /// [`UrbackupError::Unsupported`], naming each such client and why. A caller that holds
    /// a fresh `status` reply saves that request with
    /// [`start_backups_from`](UrbackupServer::start_backups_from).
    pub async fn start_backups(
        &self,
        clientids: &[i64],
        backup_type: BackupType,
    ) -> Result<Vec<StartResult>> {
        if clientids.is_empty() {
            return Ok(Vec::new());
        }
        self.startable(backup_type, |c| clientids.contains(&c.id))
            .await?;
        self.send_start(clientids, backup_type).await
    }

    /// [`start_backups`](UrbackupServer::start_backups) judged on `report`, a `status` reply
    /// the caller has just read ([`status_report`](UrbackupServer::status_report)): the same
    /// refusals ([`StartRefusal`], nothing sent), one request (web action `start_backup`).
    pub async fn start_backups_from(
        &self,
        report: &StatusReport,
        clientids: &[i64],
        backup_type: BackupType,
    ) -> Result<Vec<StartResult>> {
        if clientids.is_empty() {
            return Ok(Vec::new());
        }
        self.refuse_unrunnable(
            report
                .status
                .iter()
                .filter(|c| !c.rejected && clientids.contains(&c.id)),
            report,
            backup_type,
        )?;
        self.send_start(clientids, backup_type).await
    }

    /// The clients `wanted` picks from one streamed `status` read (rejected ones left out),
    /// once [`refuse_unrunnable`](Self::refuse_unrunnable) has passed them.
    async fn startable(
        &self,
        backup_type: BackupType,
        wanted: impl Fn(&ClientStatus) -> bool + Send + Sync,
    ) -> Result<Vec<ClientStatus>> {
        let mut clients = Vec::new();
        let rest = self
            .for_each_client_status(|c| {
                if !c.rejected && wanted(&c) {
                    clients.push(c);
                }
            })
            .await?;
        self.refuse_unrunnable(clients.iter(), &rest, backup_type)?;
        Ok(clients)
    }

    /// [`StartRefusal::check`] for each of `clients` with the switches of `report` (the
    /// `status` reply they come from): the refusals as [`UrbackupError::Unsupported`].
    fn refuse_unrunnable<'a>(
        &self,
        clients: impl Iterator<Item = &'a ClientStatus>,
        report: &StatusReport,
        backup_type: BackupType,
    ) -> Result<()> {
        let switches = ServerSwitches::from(report);
        let refused: Vec<(String, StartRefusal)> = clients
            .filter_map(|c| {
                c.start_refusal(backup_type.kind(), switches)
                    .map(|r| (c.name.clone(), r))
            })
            .collect();
        if refused.is_empty() {
            return Ok(());
        }
        // A `status` reply to a session always names the server, so the generation is known;
        // the handle's note is the fallback.
        let server = report
            .generation
            .or(self.transport.generation())
            .unwrap_or(ServerGeneration::V2_5);
        Err(refused_error(server, backup_type, &refused))
    }

    /// The `start_backup` request itself, for clients the rule has passed.
    async fn send_start(
        &self,
        clientids: &[i64],
        backup_type: BackupType,
    ) -> Result<Vec<StartResult>> {
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

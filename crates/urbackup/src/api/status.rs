//! Clients and server status: web actions `status`, `status_check`, `add_client`.

use crate::error::{Result, UrbackupError};
use crate::models::{
    ClientStatus, ExtraClient, NewClient, ServerGeneration, ServerInfo, StatusReport,
};
use crate::transport::{self, Call};
use crate::UrbackupServer;
use serde_json::{Map, Value};

impl UrbackupServer {
    /// The whole `status` reply: clients, extra clients and server flags (web action `status`).
    pub async fn status_report(&self) -> Result<StatusReport> {
        // Streamed even when the whole reply is kept: each client is decoded from its own
        // bytes in one pass as they arrive, and the reply is never buffered whole.
        let mut clients = Vec::new();
        let mut report = self.for_each_client_status(|c| clients.push(c)).await?;
        report.status = clients;
        Ok(report)
    }

    /// All clients and their status (spec: `get_client_statuses`; web action `status`).
    pub async fn get_client_statuses(&self) -> Result<Vec<ClientStatus>> {
        Ok(self.status_report().await?.status)
    }

    /// Calls `f` with each client as the `status` reply arrives, and returns the rest of the
    /// reply (with `status` left empty: the clients went to `f`) (web action `status`).
    /// Unlike [`status_report`](UrbackupServer::status_report) it never holds the whole reply:
    /// the memory needed is one client, whatever the size of the fleet.
    ///
    /// ```no_run
    /// # async fn demo(server: urbackup::UrbackupServer) -> Result<(), urbackup::UrbackupError> {
    /// let mut failed = 0;
    /// let rest = server.for_each_client_status(|c| failed += c.file_failed() as usize).await?;
    /// println!("{failed} failed file backups on {}", rest.server_identity);
    /// # Ok(()) }
    /// ```
    pub async fn for_each_client_status(
        &self,
        mut f: impl FnMut(ClientStatus) + Send,
    ) -> Result<StatusReport> {
        let report: StatusReport = self
            .transport
            .call_each(
                Call::read("status"),
                "status",
                &mut |mut c: ClientStatus| {
                    c.complete_v24();
                    f(c)
                },
            )
            .await?;
        if let Some(g) = report.generation {
            self.transport.note_generation(g);
        }
        Ok(report)
    }

    /// Which server generation this handle talks to (see [`ServerGeneration`]): from the
    /// replies seen so far, else from one `status` request (web action `status`). `None`
    /// when the replies do not tell (a session without the status right).
    pub async fn server_generation(&self) -> Result<Option<ServerGeneration>> {
        if let Some(g) = self.transport.generation() {
            return Ok(Some(g));
        }
        Ok(self.status_report().await?.generation)
    }

    /// One client by name (spec: `get_client_status_by_name`; web action `status`).
    /// Errors with [`UrbackupError::ClientNotFound`] when no client has that name.
    pub async fn get_client_status_by_name(&self, clientname: &str) -> Result<ClientStatus> {
        find_client(self.get_client_statuses().await?, clientname)
    }

    /// The id of the client named `clientname` (web action `status`).
    pub async fn client_id(&self, clientname: &str) -> Result<i64> {
        Ok(self.get_client_status_by_name(clientname).await?.id)
    }

    /// The server identity (spec: `get_server_identity_str`; web action `status`).
    pub async fn get_server_identity_str(&self) -> Result<String> {
        Ok(self.status_report().await?.server_identity)
    }

    /// Identity, key fingerprint, API version and announced updates (web actions `login`,
    /// `status`). The server has no action reporting its own version number: `api_version`
    /// (2 for UrBackup 2.x) and `newer_version` are what it tells.
    pub async fn server_info(&self) -> Result<ServerInfo> {
        let login = self.transport.login().await?;
        let r = self.status_report().await?;
        Ok(ServerInfo {
            identity: r.server_identity,
            pubkey: r.server_pubkey,
            api_version: login.api_version,
            newer_version: r.curr_version_str,
            no_file_backups: r.no_file_backups,
            no_images: r.no_images,
            generation: r.generation,
        })
    }

    /// Extra clients: host names the server scans (spec: `get_extra_clients_typed`; web action
    /// `status`).
    pub async fn get_extra_clients_typed(&self) -> Result<Vec<ExtraClient>> {
        Ok(self.status_report().await?.extra_clients)
    }

    /// Adds an extra client (a host name or address to scan) and returns it (web action
    /// `status` with `hostname`). Adding an existing host name changes nothing and returns it.
    pub async fn add_extra_client_typed(&self, hostname: &str) -> Result<ExtraClient> {
        let r: StatusReport = self
            .transport
            .call(Call::write("status").param("hostname", hostname))
            .await?;
        r.extra_clients
            .into_iter()
            .find(|e| e.hostname == hostname)
            .ok_or_else(|| {
                UrbackupError::access_denied("status", Some("extra client not added".into()))
            })
    }

    /// Removes the extra client with id `ecid` (web action `status` with `hostname=<id>` and
    /// `remove=true`: the server matches the *id*, not the host name).
    pub async fn remove_extra_client_typed(&self, ecid: i64) -> Result<()> {
        let r: StatusReport = self
            .transport
            .call(
                Call::write("status")
                    .param("hostname", ecid.to_string())
                    .param("remove", "true"),
            )
            .await?;
        if r.extra_clients.iter().any(|e| e.id == ecid) {
            return Err(UrbackupError::access_denied(
                "status",
                Some("extra client not removed".into()),
            ));
        }
        Ok(())
    }

    /// Adds an Internet client and returns its id and auth key (spec: `add_client`, typed;
    /// web action `add_client`). A client of that name existing already is an error.
    pub async fn add_client_typed(&self, clientname: &str) -> Result<NewClient> {
        if clientname.is_empty() {
            return Err(UrbackupError::InvalidInput("client name is empty".into()));
        }
        let v: Value = self
            .transport
            .call(Call::write("add_client").param("clientname", clientname))
            .await?;
        if v.get("already_exists").and_then(Value::as_bool) == Some(true) {
            return Err(UrbackupError::Server {
                action: "add_client".into(),
                message: format!("a client named `{clientname}` exists already"),
            });
        }
        if v.get("added_new_client").and_then(Value::as_bool) != Some(true) {
            return Err(UrbackupError::unexpected(
                "add_client",
                "no added_new_client",
                v.to_string().as_bytes(),
            ));
        }
        let mut client: NewClient = transport::from_value("add_client", &v)?;
        if v.get("server_url").is_none() {
            // UrBackup 2.4 does not send it: made as 2.5 makes it (`add_client.cpp`).
            client.server_url = server_url(&client.internet_server, &client.internet_server_port);
        }
        Ok(client)
    }

    /// Marks clients for removal; the server deletes them and their backups at its next
    /// cleanup (web action `status` with `remove_client`). Verified on the reply.
    pub async fn remove_client(&self, clientids: &[i64]) -> Result<()> {
        self.set_removal(clientids, true).await
    }

    /// Cancels a pending removal (web action `status` with `remove_client` and
    /// `stop_remove_client`). Verified on the reply.
    pub async fn cancel_client_removal(&self, clientids: &[i64]) -> Result<()> {
        self.set_removal(clientids, false).await
    }

    async fn set_removal(&self, clientids: &[i64], remove: bool) -> Result<()> {
        if clientids.is_empty() {
            return Ok(());
        }
        let ids = join_ids(clientids);
        let mut call = Call::write("status").param("remove_client", ids);
        if !remove {
            call = call.param("stop_remove_client", "true");
        }
        let r: StatusReport = self.transport.call(call).await?;
        for id in clientids {
            match r.status.iter().find(|c| c.id == *id) {
                None => return Err(UrbackupError::ClientNotFound(format!("id {id}"))),
                Some(c) if c.delete_pending != remove => {
                    return Err(UrbackupError::access_denied(
                        "status",
                        Some("remove_client".into()),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Checks the backup storage; returns the problems found, empty when all is fine (web
    /// action `status_check`; can take seconds).
    pub async fn status_check(&self) -> Result<Map<String, Value>> {
        self.transport.call(Call::read("status_check")).await
    }
}

pub(crate) fn find_client(list: Vec<ClientStatus>, clientname: &str) -> Result<ClientStatus> {
    list.into_iter()
        .filter(|c| !c.rejected)
        .find(|c| crate::text::same_name(&c.name, clientname))
        .ok_or_else(|| UrbackupError::ClientNotFound(clientname.to_owned()))
}

/// The Internet server URL(s) a client is set up with, as UrBackup 2.5 makes them for
/// `add_client`: each `;`-separated server name with its port (the last port given for the
/// rest, 55415 by default), `urbackup://` unless it is already a URL.
pub(crate) fn server_url(servers: &str, ports: &str) -> String {
    let ports: Vec<&str> = ports.split(';').filter(|p| !p.is_empty()).collect();
    servers
        .split(';')
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, server)| {
            let port = ports.get(i).or(ports.last()).copied().unwrap_or("55415");
            if ["urbackup://", "ws://", "wss://"]
                .iter()
                .any(|p| server.starts_with(p))
            {
                server.to_owned()
            } else if port == "55415" {
                format!("urbackup://{server}")
            } else {
                format!("urbackup://{server}:{port}")
            }
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub(crate) fn join_ids(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_urls_as_2_5_makes_them() {
        assert_eq!(
            super::server_url("127.0.0.1", "55415"),
            "urbackup://127.0.0.1"
        );
        assert_eq!(
            super::server_url("a;b", "1;2"),
            "urbackup://a:1;urbackup://b:2"
        );
        assert_eq!(
            super::server_url("a;wss://b/x", "7"),
            "urbackup://a:7;wss://b/x"
        );
        assert_eq!(super::server_url("", "55415"), "");
    }
}

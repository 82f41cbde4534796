//! Logs: the live log and stored backup logs (web actions `livelog`, `logs`).

use crate::error::Result;
use crate::models::de;
use crate::models::{Log, LogEntry, LogLevel, LogSummary};
use crate::transport::Call;
use crate::UrbackupServer;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct LiveLogReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) logdata: Vec<LogEntry>,
}

#[derive(Deserialize)]
pub(crate) struct LogsReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) logs: Vec<LogSummary>,
    #[serde(default)]
    pub(crate) log: Option<LogDetail>,
}

#[derive(Deserialize)]
pub(crate) struct LogDetail {
    #[serde(default, deserialize_with = "de::string")]
    pub(crate) data: String,
    #[serde(default, deserialize_with = "de::int")]
    pub(crate) time: i64,
    #[serde(default, deserialize_with = "de::string")]
    pub(crate) clientname: String,
}

/// Which stored logs to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Only logs of these clients (empty: all the session may see).
    pub clientids: Vec<i64>,
    /// Only logs with at least one line at this level: `Error` (the server's default),
    /// `Warning`, or `Info`/`Debug` for all logs.
    pub min_level: Option<LogLevel>,
}

impl UrbackupServer {
    /// The live log (spec: `get_livelog_typed`; web action `livelog`): the last lines of the
    /// server log (`clientid` 0, needs the logs right for all clients) or of one client.
    pub async fn get_livelog_typed(&self, clientid: i64) -> Result<Vec<LogEntry>> {
        self.livelog(clientid, None, None).await
    }

    /// The live log after line `lastid` (web action `livelog`): with `lastid` the server waits
    /// up to 10 s for new lines and then answers an empty list, so poll in a loop, keeping one
    /// `lastid` per (client, log). `logid` restricts a client log to one backup's log (see
    /// [`ActionProgress::logid`](crate::ActionProgress::logid)). The server keeps only the last
    /// 20 lines per buffer.
    pub async fn livelog(
        &self,
        clientid: i64,
        lastid: Option<i64>,
        logid: Option<i64>,
    ) -> Result<Vec<LogEntry>> {
        let call = Call::read("livelog")
            .param("clientid", clientid.to_string())
            .param_opt("lastid", lastid.map(|v| v.to_string()))
            .param_opt("logid", logid.map(|v| v.to_string()))
            .long_poll();
        let r: LiveLogReply = self.transport.call(call).await?;
        Ok(r.logdata)
    }

    /// Stored logs, newest first, at most 50 (web action `logs`). The server lists only logs
    /// with errors unless `filter.min_level` says otherwise.
    pub async fn get_logs(&self, filter: &LogFilter) -> Result<Vec<LogSummary>> {
        let ll = match filter.min_level {
            Some(LogLevel::Error) | None => "2",
            Some(LogLevel::Warning) => "1",
            Some(_) => "0",
        };
        let ids: Vec<String> = filter.clientids.iter().map(i64::to_string).collect();
        let call = Call::read("logs")
            .param("ll", ll)
            .param_opt("filter", (!ids.is_empty()).then(|| ids.join(",")));
        let r: LogsReply = self.transport.call(call).await?;
        Ok(r.logs)
    }

    /// One stored log with its lines, or `None` when it does not exist or is not visible to
    /// this session (web action `logs` with `logid`).
    pub async fn get_log(&self, logid: i64) -> Result<Option<Log>> {
        let r: LogsReply = self
            .transport
            .call(Call::read("logs").param("logid", logid.to_string()))
            .await?;
        Ok(r.log.map(|d| Log {
            id: logid,
            clientname: d.clientname,
            time: d.time,
            lines: Log::parse_lines(&d.data),
        }))
    }
}

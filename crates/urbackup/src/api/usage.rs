//! Storage usage (web actions `usage`, `piegraph`, `usagegraph`).

use crate::error::{Result, UrbackupError};
use crate::models::de;
use crate::models::{GraphScale, PieSlice, UsageEntry, UsageGraph};
use crate::transport::Call;
use crate::UrbackupServer;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct UsageReply {
    #[serde(default)]
    pub(crate) usage: Option<Vec<UsageEntry>>,
    #[serde(default, deserialize_with = "de::boolean")]
    pub(crate) reset_statistics: bool,
}

#[derive(Deserialize)]
pub(crate) struct PieReply {
    #[serde(default, deserialize_with = "de::list")]
    pub(crate) data: Vec<PieSlice>,
}

impl UrbackupServer {
    /// Storage used per client, largest first (spec: `get_usage_typed`; web action `usage`).
    /// A session without the statistics right gets [`UrbackupError::AccessDenied`] (the server
    /// answers it with an empty object).
    pub async fn get_usage_typed(&self) -> Result<Vec<UsageEntry>> {
        let r: UsageReply = self.transport.call(Call::read("usage")).await?;
        r.usage
            .ok_or_else(|| UrbackupError::access_denied("usage", Some("piegraph".into())))
    }

    /// Starts recalculating the storage statistics in the background; it shows in
    /// `progress` as [`ActionType::RecalcStats`](crate::ActionType::RecalcStats) (web action
    /// `usage` with `recalculate=true`).
    pub async fn recalculate_statistics(&self) -> Result<()> {
        let r: UsageReply = self
            .transport
            .call(Call::write("usage").param("recalculate", "true"))
            .await?;
        if !r.reset_statistics {
            return Err(UrbackupError::access_denied(
                "usage",
                Some("reset_statistics".into()),
            ));
        }
        Ok(())
    }

    /// Storage per client for a pie chart (web action `piegraph`).
    pub async fn pie_graph(&self) -> Result<Vec<PieSlice>> {
        let r: PieReply = self.transport.call(Call::read("piegraph")).await?;
        Ok(r.data)
    }

    /// Storage use over time, for all clients or one (web action `usagegraph`).
    pub async fn usage_graph(
        &self,
        clientid: Option<i64>,
        scale: GraphScale,
    ) -> Result<UsageGraph> {
        let call = Call::read("usagegraph")
            .param_opt("clientid", clientid.map(|c| c.to_string()))
            .param("scale", scale.as_str());
        self.transport.call(call).await
    }
}

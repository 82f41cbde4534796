//! The servers of a fleet command (`exporter`, `report`, `zabbix`, `console`): one
//! `urbackup_fleet::Member` per target, named by its profile (or its URL without one).

use crate::config::Resolved;
use anyhow::{bail, Context, Result};
use urbackup_fleet::Member;

/// The label of a server: its profile, else its URL.
pub fn server_label(t: &Resolved) -> String {
    t.profile.clone().unwrap_or_else(|| t.url.clone())
}

/// One member per target, in the order given; two targets of the same name are an error.
pub fn members(targets: &[Resolved]) -> Result<Vec<Member>> {
    let mut out: Vec<Member> = Vec::with_capacity(targets.len());
    for t in targets {
        let name = server_label(t);
        if out.iter().any(|m| m.name == name) {
            bail!("two servers named `{name}`");
        }
        let server = t.build().with_context(|| format!("server `{name}`"))?;
        out.push(Member::new(name, server));
    }
    Ok(out)
}

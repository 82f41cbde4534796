//! The servers of a fleet command (`exporter`, `report`, `zabbix`, `console`): one
//! `urbackup_fleet::Member` per target, named by its profile, or (a server given with
//! `--url`) by `--name` or else its host and port.

use crate::config::Resolved;
use anyhow::{bail, Context, Result};
use urbackup_fleet::Member;

/// `host:port` of a URL as written (`http://backup.example.com:55414/x` →
/// `backup.example.com:55414`; no user info, no path).
pub fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() {
        url.to_owned()
    } else {
        host.to_owned()
    }
}

/// The label of a server: its profile; for a server given with `--url`, `name` (`--name`)
/// or else its host and port.
pub fn server_label(t: &Resolved, name: Option<&str>) -> Result<String> {
    match (&t.profile, name) {
        (Some(p), None) => Ok(p.clone()),
        (Some(p), Some(_)) => bail!(
            "--name names a server given with --url; the server of profile `{p}` is named by its profile"
        ),
        (None, Some(n)) if n.trim().is_empty() => bail!("--name is empty"),
        (None, Some(n)) => Ok(n.trim().to_owned()),
        (None, None) => Ok(host_port(&t.url)),
    }
}

/// One member per target, in the order given (`name`: `--name`); two targets of the same
/// name are an error.
pub fn members(targets: &[Resolved], name: Option<&str>) -> Result<Vec<Member>> {
    let mut out: Vec<Member> = Vec::with_capacity(targets.len());
    for t in targets {
        let name = server_label(t, name)?;
        if out.iter().any(|m| m.name == name) {
            bail!("two servers named `{name}`");
        }
        let server = t.build().with_context(|| format!("server `{name}`"))?;
        out.push(Member::new(name, server));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_named_by_its_host_and_port() {
        assert_eq!(host_port("http://127.0.0.1:55416/"), "127.0.0.1:55416");
        assert_eq!(
            host_port("https://backup.example.com:55414/x"),
            "backup.example.com:55414"
        );
        assert_eq!(host_port("http://user@host/x?a=1"), "host");
        assert_eq!(host_port("http://[::1]:55414/x"), "[::1]:55414");
        assert_eq!(host_port("host:55414"), "host:55414");
    }
}

//! One module per command group. Each takes a [`Ctx`] and returns an [`Output`] (or prints as
//! it goes, for progress).

pub mod actions;
pub mod assets;
pub mod backup;
pub mod backups;
pub mod check;
pub mod clients;
pub mod console;
pub mod demo;
pub mod exporter;
pub mod fleet;
pub mod logs;
pub mod report;
pub mod settings;
pub mod status;
pub mod users;
pub mod zabbix;

use crate::cli::{
    ActionsCmd, BackupsCmd, Command, ExtraClientCmd, GroupsCmd, LogsCmd, SettingsCmd, UsersCmd,
};
use crate::config::Resolved;
use crate::output::{Output, Style, Table};
use anyhow::{anyhow, bail, Result};
use urbackup::{BackupRef, ClientStatus, UrbackupError, UrbackupServer};

/// What every command gets.
pub struct Ctx {
    /// The server (one session, shared by clones).
    pub server: UrbackupServer,
    /// How to print.
    pub style: Style,
}

impl Ctx {
    /// Prints an output.
    pub fn print(&self, out: &Output) -> Result<()> {
        out.print(&self.style)?;
        Ok(())
    }
}

/// Runs one command against one server.
pub async fn dispatch(ctx: &Ctx, cmd: &Command) -> Result<u8> {
    if let Some(out) = read_command(ctx, cmd).await? {
        ctx.print(&out)?;
        return Ok(0);
    }
    let out = match cmd {
        Command::Client(c) => clients::client(ctx, c).await?,
        Command::ExtraClient(c) => clients::extra(ctx, c).await?,
        Command::Backup(crate::cli::BackupCmd::Start(args)) => {
            return backup::start(ctx, args).await
        }
        Command::Backups(c) => match backups::run(ctx, c).await? {
            (out, code) if code != 0 => {
                ctx.print(&out)?;
                return Ok(code);
            }
            (out, _) => out,
        },
        Command::Actions(c) => actions::run(ctx, c).await?,
        Command::Logs(c) => logs::run(ctx, c).await?,
        Command::Settings(c) => settings::run(ctx, c).await?,
        Command::Users(c) => users::users(ctx, c).await?,
        Command::Groups(c) => users::groups(ctx, c).await?,
        Command::Installer(a) => clients::installer(ctx, a).await?,
        Command::Check(a) => return check::run(ctx, a).await,
        other => bail!("`{}` cannot run here", other.name()),
    };
    ctx.print(&out)?;
    Ok(0)
}

/// True for the commands `--all-profiles` can run.
pub fn is_read(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Status(_)
            | Command::Usage
            | Command::Identity
            | Command::Actions(ActionsCmd::List)
            | Command::Logs(LogsCmd::List { .. })
            | Command::Users(UsersCmd::List)
            | Command::Groups(GroupsCmd::List)
            | Command::ExtraClient(ExtraClientCmd::List)
            | Command::Backups(BackupsCmd::List { .. })
            | Command::Settings(SettingsCmd::Get { .. })
    )
}

/// The read commands: pure data, so they can run against several servers.
async fn read_command(ctx: &Ctx, cmd: &Command) -> Result<Option<Output>> {
    Ok(Some(match cmd {
        Command::Status(a) => status::status(ctx, a).await?,
        Command::Usage => status::usage(ctx).await?,
        Command::Identity => status::identity(ctx).await?,
        Command::Actions(ActionsCmd::List) => actions::list(ctx).await?,
        Command::Logs(LogsCmd::List { client, level }) => logs::list(ctx, client, *level).await?,
        Command::Users(UsersCmd::List) => users::list_users(ctx).await?,
        Command::Groups(GroupsCmd::List) => users::list_groups(ctx).await?,
        Command::ExtraClient(ExtraClientCmd::List) => clients::list_extra(ctx).await?,
        Command::Backups(BackupsCmd::List {
            client,
            files,
            images,
        }) => backups::list(ctx, client, *files, *images).await?,
        Command::Settings(SettingsCmd::Get { target, keys }) => {
            settings::get(ctx, target, keys).await?
        }
        _ => return Ok(None),
    }))
}

/// Runs a read command against every profile at once and merges the rows under a `server`
/// column. A server that fails gets an `error: PROFILE: ...` line; the others still print, and
/// the exit code is 1.
pub async fn run_all_profiles(cmd: Command, targets: Vec<Resolved>, style: &Style) -> Result<u8> {
    // One task per server, so that the logins' password hashing runs on every core.
    let cmd = std::sync::Arc::new(cmd);
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|t| {
            let (cmd, style) = (cmd.clone(), *style);
            let name = t.profile.clone().unwrap_or_default();
            let task = tokio::spawn(async move {
                let ctx = Ctx {
                    server: t.build()?,
                    style,
                };
                read_command(&ctx, &cmd).await
            });
            (name, task)
        })
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for (name, task) in tasks {
        let r = task
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the task for this server failed: {e}")));
        results.push((name, r));
    }
    let mut merged = Table::default();
    let mut failed = false;
    // `status --client NAME`: a name is unknown only when no server that answered knows it.
    let mut unknown: Option<Vec<String>> = None;
    let mut still_unknown = |names: &[String]| {
        let prev = unknown.take().unwrap_or_else(|| names.to_vec());
        unknown = Some(prev.into_iter().filter(|n| names.contains(n)).collect());
    };
    for (name, r) in results {
        let r = match r {
            Err(e) => match e.downcast::<status::UnknownClients>() {
                Ok(u) => {
                    still_unknown(&u.names);
                    Ok(Some(Output::Table(u.table)))
                }
                Err(e) => Err(e),
            },
            Ok(out) => {
                if matches!(cmd.as_ref(), Command::Status(a) if !a.client.is_empty()) {
                    still_unknown(&[]);
                }
                Ok(out)
            }
        };
        match r {
            Ok(Some(Output::Table(t) | Output::Record(t))) => merged.extend(t.with_server(&name)),
            Ok(_) => {}
            Err(e) => {
                failed = true;
                eprintln!("error: {name}: {}", crate::one_line(&e));
            }
        }
    }
    if !(failed && merged.is_empty()) {
        Output::Table(merged).print(style)?;
    }
    if let Some(names) = unknown.filter(|n| !n.is_empty()) {
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        eprintln!("error: no client named {} on any server", names.join(", "));
        failed = true;
    }
    Ok(u8::from(failed))
}

/// `logout`: forgets the cached session of each target (no request: the server has no
/// logout action).
pub fn logout(targets: &[Resolved], style: &Style) -> Result<u8> {
    let Some(cache) = crate::session_cache::SessionCache::locate() else {
        bail!("no session cache directory is known on this system");
    };
    let cache = std::sync::Arc::new(cache);
    let mut forgotten = Vec::new();
    let mut lines = Vec::new();
    for t in targets {
        let url = UrbackupServer::builder(&t.url).endpoint()?;
        let entry = cache.entry(&url, &t.user, "");
        let was = entry.forget()?;
        let who = if t.user.is_empty() {
            format!("the anonymous session at {url}")
        } else {
            format!("the session of {} at {url}", t.user)
        };
        lines.push(if was {
            format!("forgot {who}")
        } else {
            format!("no cached session: {who}")
        });
        forgotten.push(serde_json::json!({"url": url, "user": t.user, "forgotten": was}));
    }
    Output::done(lines.join("\n"), serde_json::Value::Array(forgotten)).print(style)?;
    Ok(0)
}

/// `logout --all`: forgets every cached session.
pub fn logout_all(style: &Style) -> Result<u8> {
    let Some(cache) = crate::session_cache::SessionCache::locate() else {
        bail!("no session cache directory is known on this system");
    };
    let n = cache.forget_all()?;
    let dir = cache.dir().display().to_string();
    let message = format!(
        "forgot {n} cached session{} in {dir}",
        if n == 1 { "" } else { "s" }
    );
    Output::done(message, serde_json::json!({"forgotten": n, "dir": dir})).print(style)?;
    Ok(0)
}

/// Finds a client by name (one `status` request).
pub async fn client_by_name(ctx: &Ctx, name: &str) -> Result<ClientStatus> {
    match ctx.server.get_client_status_by_name(name).await {
        Ok(c) => Ok(c),
        Err(UrbackupError::ClientNotFound(_)) => Err(anyhow!("no client named `{name}`")),
        Err(e) => Err(e.into()),
    }
}

/// Finds several clients by name with one `status` request; unknown names are an error.
pub async fn clients_by_name(ctx: &Ctx, names: &[String]) -> Result<Vec<ClientStatus>> {
    pick_by_name(&ctx.server.get_client_statuses().await?, names)
}

/// The clients of a `status` reply named in `names` (each once); unknown names are an error.
pub fn pick_by_name(all: &[ClientStatus], names: &[String]) -> Result<Vec<ClientStatus>> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for n in names {
        match all
            .iter()
            .find(|c| !c.rejected && urbackup::text::same_name(&c.name, n))
        {
            Some(c) if out.iter().any(|o: &ClientStatus| o.id == c.id) => {}
            Some(c) => out.push(c.clone()),
            None => missing.push(format!("`{n}`")),
        }
    }
    if !missing.is_empty() {
        bail!("no client named {}", missing.join(", "));
    }
    Ok(out)
}

/// A backup as typed on the command line: an id, `latest`, `image:ID` or `image:latest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupSpec {
    /// The newest file (or image) backup.
    Latest {
        /// An image backup.
        image: bool,
    },
    /// A given backup.
    Id(BackupRef),
}

impl std::str::FromStr for BackupSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let (image, rest) = match s.split_once(':') {
            Some(("image" | "img" | "i", rest)) => (true, rest),
            Some(("file" | "f", rest)) => (false, rest),
            Some(_) => {
                bail!("invalid backup `{s}`: use an id, `latest`, `image:ID` or `image:latest`")
            }
            None => (false, s),
        };
        if rest == "latest" || rest == "last" {
            return Ok(BackupSpec::Latest { image });
        }
        let id: i64 = rest.parse().map_err(|_| {
            anyhow!("invalid backup `{s}`: use an id, `latest`, `image:ID` or `image:latest`")
        })?;
        if id <= 0 {
            bail!("invalid backup `{s}`: ids are positive");
        }
        Ok(BackupSpec::Id(if image {
            BackupRef::Image(id)
        } else {
            BackupRef::File(id)
        }))
    }
}

/// Resolves a backup spec for a client (`latest` costs one `backups` request).
pub async fn resolve_backup(ctx: &Ctx, clientid: i64, spec: &str) -> Result<BackupRef> {
    match spec.parse::<BackupSpec>()? {
        BackupSpec::Id(r) => Ok(r),
        BackupSpec::Latest { image } => {
            let all = ctx.server.client_backups(clientid).await?;
            let list = if image {
                &all.image_backups
            } else {
                &all.file_backups
            };
            list.iter()
                .max_by_key(|b| (b.backuptime, b.id))
                .map(|b| b.backup_ref())
                .ok_or_else(|| {
                    anyhow!(
                        "client `{}` has no {} backup",
                        all.clientname,
                        if image { "image" } else { "file" }
                    )
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_specs() {
        assert_eq!(
            "12".parse::<BackupSpec>().unwrap(),
            BackupSpec::Id(BackupRef::File(12))
        );
        assert_eq!(
            "image:3".parse::<BackupSpec>().unwrap(),
            BackupSpec::Id(BackupRef::Image(3))
        );
        assert_eq!(
            "latest".parse::<BackupSpec>().unwrap(),
            BackupSpec::Latest { image: false }
        );
        assert_eq!(
            "image:latest".parse::<BackupSpec>().unwrap(),
            BackupSpec::Latest { image: true }
        );
        assert!("x".parse::<BackupSpec>().is_err());
        assert!("0".parse::<BackupSpec>().is_err());
    }
}

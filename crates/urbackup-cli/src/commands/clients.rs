//! `client ...`, `extra-client ...`, `installer`.

use super::status::{activity, file_flag, image_flag};
use super::{client_by_name, clients_by_name, Ctx};
use crate::cli::{ClientCmd, ExtraClientCmd, InstallerArgs, InstallerOs};
use crate::output::{human_bytes, Cell, Output, Table};
use anyhow::{anyhow, bail, Result};
use serde_json::json;
use urbackup::{InstallerOS, UrbackupError};

/// `client ...`.
pub async fn client(ctx: &Ctx, cmd: &ClientCmd) -> Result<Output> {
    match cmd {
        ClientCmd::Add { name } => {
            let c = ctx.server.add_client_typed(name).await?;
            let mut t = Table::new(&[
                ("id", "ID"),
                ("name", "NAME"),
                ("authkey", "AUTHKEY"),
                ("server_url", "SERVER URL"),
            ]);
            t.push(vec![
                Cell::Int(c.id),
                Cell::from(&c.name),
                Cell::from(&c.authkey),
                Cell::from(&c.server_url),
            ]);
            Ok(Output::Record(t))
        }
        ClientCmd::Remove { names, cancel } => {
            let clients = clients_by_name(ctx, names).await?;
            let ids: Vec<i64> = clients.iter().map(|c| c.id).collect();
            if *cancel {
                ctx.server.cancel_client_removal(&ids).await?;
            } else {
                ctx.server.remove_client(&ids).await?;
            }
            let list = names.join(", ");
            let message = if *cancel {
                format!("removal cancelled: {list}")
            } else {
                format!("marked for removal at the next cleanup: {list} (undo with `urbackup client remove --cancel {}`)", names.join(" "))
            };
            Ok(Output::done(
                message,
                json!({"clients": names, "ids": ids, "delete_pending": !cancel}),
            ))
        }
        ClientCmd::Show { name } => show(ctx, name).await,
        ClientCmd::Authkey { name } => {
            let key = match ctx.server.get_client_authkey_typed(name).await {
                Err(UrbackupError::ClientNotFound(_)) => bail!("no client named `{name}`"),
                other => other?,
            };
            Ok(Output::Text(key))
        }
        ClientCmd::Group { name, group } => {
            let c = client_by_name(ctx, name).await?;
            let gid = if group == "default" || group.is_empty() {
                0
            } else {
                super::users::group_id(ctx, group).await?
            };
            ctx.server.set_client_group(c.id, gid).await?;
            Ok(Output::done(
                format!("client `{name}` is now in group `{group}`"),
                json!({"client": name, "group": group, "groupid": gid}),
            ))
        }
    }
}

async fn show(ctx: &Ctx, name: &str) -> Result<Output> {
    let report = ctx.server.status_report().await?;
    let c = report
        .status
        .iter()
        .find(|c| !c.rejected && urbackup::text::same_name(&c.name, name))
        .ok_or_else(|| anyhow!("no client named `{name}`"))?;
    let backups = ctx.server.client_backups(c.id).await.ok();
    let mut t = Table::new(&[
        ("id", "ID"),
        ("name", "NAME"),
        ("group", "GROUP"),
        ("online", "ONLINE"),
        ("ip", "IP"),
        ("os", "OS"),
        ("version", "VERSION"),
        ("last_seen", "LAST SEEN"),
        ("last_file_backup", "LAST FILE BACKUP"),
        ("last_image_backup", "LAST IMAGE BACKUP"),
        ("file", "FILE"),
        ("image", "IMAGE"),
        ("last_file_backup_issues", "FILE BACKUP ISSUES"),
        ("file_backups", "FILE BACKUPS"),
        ("image_backups", "IMAGE BACKUPS"),
        ("delete_pending", "REMOVAL PENDING"),
        ("activity", "ACTIVITY"),
        ("uid", "UID"),
    ]);
    t.push(vec![
        Cell::Int(c.id),
        Cell::from(&c.name),
        if c.groupname.is_empty() {
            Cell::from("default")
        } else {
            Cell::from(&c.groupname)
        },
        Cell::YesNo(c.online),
        Cell::from(&c.ip),
        Cell::from(&c.os_version_string),
        Cell::from(&c.client_version_string),
        Cell::Time(c.lastseen),
        Cell::Time(c.lastbackup),
        Cell::Time(c.lastbackup_image),
        Cell::Flag(file_flag(c, Some(&report))),
        Cell::Flag(image_flag(c, Some(&report))),
        Cell::Int(c.last_filebackup_issues),
        backups
            .as_ref()
            .map(|b| Cell::Int(b.file_backups.len() as i64))
            .unwrap_or(Cell::Null),
        backups
            .as_ref()
            .map(|b| Cell::Int(b.image_backups.len() as i64))
            .unwrap_or(Cell::Null),
        Cell::Bool(c.delete_pending),
        Cell::text(activity(c)),
        Cell::from(&c.uid),
    ]);
    Ok(Output::Record(t))
}

/// `extra-client list`.
pub async fn list_extra(ctx: &Ctx) -> Result<Output> {
    let list = ctx.server.get_extra_clients_typed().await?;
    let mut t = Table::new(&[("id", "ID"), ("hostname", "HOST"), ("online", "ONLINE")]);
    for e in &list {
        t.push(vec![
            Cell::Int(e.id),
            Cell::from(&e.hostname),
            Cell::Bool(e.online),
        ]);
    }
    Ok(Output::Table(t))
}

/// `extra-client add|remove`.
pub async fn extra(ctx: &Ctx, cmd: &ExtraClientCmd) -> Result<Output> {
    match cmd {
        ExtraClientCmd::List => list_extra(ctx).await,
        ExtraClientCmd::Add { host } => {
            let e = ctx.server.add_extra_client_typed(host).await?;
            Ok(Output::done(
                format!("extra client `{}` added (id {})", e.hostname, e.id),
                json!({"id": e.id, "hostname": e.hostname}),
            ))
        }
        ExtraClientCmd::Remove { host } => {
            let list = ctx.server.get_extra_clients_typed().await?;
            let found = list
                .iter()
                .find(|e| e.hostname == *host)
                .or_else(|| {
                    host.parse::<i64>()
                        .ok()
                        .and_then(|id| list.iter().find(|e| e.id == id))
                })
                .ok_or_else(|| anyhow!("no extra client `{host}`"))?;
            ctx.server.remove_extra_client_typed(found.id).await?;
            Ok(Output::done(
                format!("extra client `{}` removed", found.hostname),
                json!({"id": found.id, "hostname": found.hostname}),
            ))
        }
    }
}

/// `installer`.
pub async fn installer(ctx: &Ctx, a: &InstallerArgs) -> Result<Output> {
    let os = match a.os {
        InstallerOs::Windows => InstallerOS::Windows,
        InstallerOs::Linux => InstallerOS::Linux,
        InstallerOs::Mac => InstallerOS::Mac,
    };
    let (id, added) = match ctx.server.client_id(&a.client).await {
        Ok(id) => (id, false),
        Err(UrbackupError::ClientNotFound(_)) => {
            (ctx.server.add_client_typed(&a.client).await?.id, true)
        }
        Err(e) => return Err(e.into()),
    };
    let bytes = ctx.server.download_client_installer(id, os, &a.out).await?;
    let mut message = String::new();
    if added {
        message.push_str(&format!("added client `{}` (id {id})\n", a.client));
    }
    message.push_str(&format!(
        "wrote the {} installer for `{}` to {} ({})",
        os.as_str(),
        a.client,
        a.out.display(),
        human_bytes(bytes)
    ));
    Ok(Output::done(
        message,
        json!({"client": a.client, "clientid": id, "added": added, "os": os.as_str(), "file": a.out, "bytes": bytes}),
    ))
}

//! `users list|add|remove|passwd`, `groups list|add|remove`.

use super::Ctx;
use crate::cli::{GroupsCmd, UsersCmd};
use crate::output::{Cell, Output, Table};
use anyhow::{anyhow, bail, Context, Result};
use serde_json::json;
use std::io::{BufRead, IsTerminal};
use urbackup::User;

/// `users ...`.
pub async fn users(ctx: &Ctx, cmd: &UsersCmd) -> Result<Output> {
    match cmd {
        UsersCmd::List => list_users(ctx).await,
        UsersCmd::Add {
            name,
            rights,
            password_stdin,
        } => {
            // Check the rights before asking for a password.
            rights
                .parse::<urbackup::Rights>()
                .map_err(|e| anyhow!("invalid --rights: {e}"))?;
            let pw = new_password(name, *password_stdin)?;
            ctx.server.add_user(name, &pw, rights).await?;
            Ok(Output::done(
                format!("user `{name}` added with rights `{rights}`"),
                json!({"name": name, "rights": rights}),
            ))
        }
        UsersCmd::Remove { name } => {
            let u = user_by_name(ctx, name).await?;
            ctx.server.remove_user(u.id).await?;
            Ok(Output::done(
                format!("user `{}` removed", u.name),
                json!({"name": u.name, "id": u.id}),
            ))
        }
        UsersCmd::Passwd {
            name,
            password_stdin,
        } => {
            let u = user_by_name(ctx, name).await?;
            let pw = new_password(name, *password_stdin)?;
            ctx.server.change_password(u.id, &pw).await?;
            Ok(Output::done(
                format!("password of `{}` changed", u.name),
                json!({"name": u.name, "id": u.id}),
            ))
        }
    }
}

async fn user_by_name(ctx: &Ctx, name: &str) -> Result<User> {
    let users = ctx.server.get_users().await?;
    // The server stores names in lower case.
    users
        .into_iter()
        .find(|u| u.name == name || u.name == name.to_lowercase())
        .ok_or_else(|| anyhow!("no user named `{name}`"))
}

/// The new password: from stdin with `--password-stdin`, else asked twice on the terminal.
pub(crate) fn new_password(name: &str, from_stdin: bool) -> Result<String> {
    let pw = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password(format!("New password for {name}: "))?;
        let b = rpassword::prompt_password("Again: ")?;
        if a != b {
            bail!("the passwords do not match");
        }
        a
    } else {
        bail!("no terminal to ask for the password: use --password-stdin")
    };
    if pw.is_empty() {
        bail!("the password is empty");
    }
    Ok(pw)
}

/// `users list`.
pub async fn list_users(ctx: &Ctx) -> Result<Output> {
    let users = ctx.server.get_users().await?;
    let mut t = Table::new(&[("id", "ID"), ("name", "NAME"), ("rights", "RIGHTS")]);
    for u in &users {
        t.push(vec![
            Cell::Int(u.id),
            Cell::from(&u.name),
            Cell::from(&u.rights),
        ]);
    }
    Ok(Output::Table(t))
}

/// `groups list`.
pub async fn list_groups(ctx: &Ctx) -> Result<Output> {
    let groups = ctx.server.get_groups().await?;
    let mut t = Table::new(&[("id", "ID"), ("name", "NAME")]);
    for g in &groups {
        t.push(vec![Cell::Int(g.id), Cell::from(&g.name)]);
    }
    Ok(Output::Table(t))
}

/// The id of the group named `name`.
pub async fn group_id(ctx: &Ctx, name: &str) -> Result<i64> {
    let groups = ctx.server.get_groups().await?;
    groups
        .iter()
        .find(|g| urbackup::text::same_name(&g.name, name))
        .map(|g| g.id)
        .ok_or_else(|| anyhow!("no group named `{name}`"))
}

/// `groups ...`.
pub async fn groups(ctx: &Ctx, cmd: &GroupsCmd) -> Result<Output> {
    match cmd {
        GroupsCmd::List => list_groups(ctx).await,
        GroupsCmd::Add { name } => {
            let g = ctx.server.add_group(name).await?;
            Ok(Output::done(
                format!("group `{}` added (id {})", g.name, g.id),
                json!({"id": g.id, "name": g.name}),
            ))
        }
        GroupsCmd::Remove { name } => {
            let id = group_id(ctx, name).await?;
            ctx.server.remove_group(id).await?;
            Ok(Output::done(
                format!("group `{name}` removed; its clients are in the default group now"),
                json!({"id": id, "name": name}),
            ))
        }
    }
}

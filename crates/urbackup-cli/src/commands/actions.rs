//! `actions list|stop|watch`.

use super::{client_by_name, Ctx};
use crate::cli::ActionsCmd;
use crate::output::{Cell, Output, Table};
use crate::progress::ProgressView;
use anyhow::{bail, Result};
use serde_json::json;
use std::time::Duration;
use urbackup::ActionProgress;

/// `actions ...`.
pub async fn run(ctx: &Ctx, cmd: &ActionsCmd) -> Result<Output> {
    match cmd {
        ActionsCmd::List => list(ctx).await,
        ActionsCmd::Stop { id, client } => {
            let actions = ctx.server.get_actions_typed().await?;
            let clientid = match client {
                Some(name) => Some(client_by_name(ctx, name).await?.id),
                None => None,
            };
            let matching: Vec<&ActionProgress> = actions
                .iter()
                .filter(|a| a.id == *id && clientid.is_none_or(|c| a.clientid == c))
                .collect();
            let a = match matching.as_slice() {
                [] => bail!("no running action with id {id} (see `urbackup actions list`)"),
                [a] => *a,
                _ => bail!("several actions have id {id}: add --client NAME"),
            };
            if !ctx.server.stop_action_typed(a).await? {
                bail!(
                    "the server does not allow stopping action {id} ({})",
                    crate::progress::label(a)
                );
            }
            Ok(Output::done(
                format!(
                    "asked the server to stop action {id} ({})",
                    crate::progress::label(a)
                ),
                json!({"id": a.id, "clientid": a.clientid, "client": a.name, "action": a.action.code(), "stop_requested": true}),
            ))
        }
        ActionsCmd::Watch {
            interval,
            until_idle,
        } => {
            if !(*interval > 0.0 && interval.is_finite()) {
                bail!("--interval must be a positive number of seconds");
            }
            let mut view = ProgressView::new(ctx.style.stderr_tty, true);
            let mut announced_idle = false;
            loop {
                let actions = ctx.server.get_actions_typed().await?;
                let refs: Vec<&ActionProgress> = actions.iter().collect();
                view.update(&refs);
                if actions.is_empty() {
                    if *until_idle {
                        break;
                    }
                    if !announced_idle {
                        view.println("no running actions; waiting (Ctrl-C to stop)");
                        announced_idle = true;
                    }
                } else {
                    announced_idle = false;
                }
                tokio::time::sleep(Duration::from_secs_f64(*interval)).await;
            }
            view.finish();
            Ok(Output::done("no running actions", json!({"running": 0})))
        }
    }
}

/// `actions list`.
pub async fn list(ctx: &Ctx) -> Result<Output> {
    let actions = ctx.server.get_actions_typed().await?;
    let mut t = Table::new(&[
        ("id", "ID"),
        ("client", "CLIENT"),
        ("action", "ACTION"),
        ("percent", "DONE"),
        ("done_bytes", "BYTES"),
        ("total_bytes", "TOTAL"),
        ("speed_bytes_per_second", "SPEED/S"),
        ("eta_seconds", "ETA"),
        ("details", "DETAILS"),
    ])
    .hidden("clientid")
    .hidden("action_code")
    .hidden("logid")
    .hidden("paused")
    .hidden("can_stop")
    .hidden("eta_under_a_minute");
    for a in &actions {
        t.push(vec![
            Cell::Int(a.id),
            Cell::text(if a.name.is_empty() {
                "(server)".into()
            } else {
                a.name.clone()
            }),
            Cell::text(a.action.to_string()),
            Cell::Percent(a.percent().map_or(-1, i64::from)),
            Cell::Bytes(a.done_bytes),
            Cell::Bytes(a.total_bytes),
            Cell::Bytes((a.speed_bpms * 1000.0) as i64),
            match a.eta() {
                Some(eta) => Cell::Eta(eta.as_secs() as i64, a.eta_under_a_minute()),
                None => Cell::Null,
            },
            // The server sends "0" for file backups (no detail).
            Cell::text(if a.details == "0" {
                String::new()
            } else {
                a.details.clone()
            }),
            Cell::Int(a.clientid),
            Cell::Int(a.action.code()),
            Cell::Int(a.logid),
            Cell::Bool(a.paused),
            Cell::Bool(a.can_stop_backup),
            Cell::Bool(a.eta_under_a_minute()),
        ]);
    }
    Ok(Output::Table(t))
}

//! `demo`: starts the embedded simulator (`urbackup-sim`) in this process and takes a short
//! tour with the same code the real commands run: the status table, a backup with its
//! progress, and the result.

use super::backup::{outcome_table, start_and_wait};
use super::Ctx;
use crate::cli::{DemoArgs, StatusArgs};
use crate::output::{human_bytes, human_duration, Format, Output, Style};
use anyhow::{Context, Result};
use std::time::{Duration, Instant};
use urbackup::{BackupType, UrbackupServer};
use urbackup_sim::{ClientSpec, Simulator};

const USER: &str = "admin";
const PASSWORD: &str = "demo";
const CLIENT: &str = "accounting-pc";

fn fleet() -> Vec<ClientSpec> {
    vec![
        ClientSpec::new(CLIENT)
            .windows()
            .group("office")
            .backups(5, 2),
        ClientSpec::new("reception")
            .windows()
            .group("office")
            .backups(4, 1),
        ClientSpec::new("ceo-laptop")
            .windows()
            .online(false)
            .group("office")
            .backups(3, 1),
        ClientSpec::new("dev-ws-1").windows().backups(4, 2),
        ClientSpec::new("dev-ws-2")
            .windows()
            .online(false)
            .backups(2, 1),
        ClientSpec::new("fileserver")
            .windows()
            .group("servers")
            .backups(7, 3),
        ClientSpec::new("web-01")
            .linux()
            .group("servers")
            .backups(6, 0),
        ClientSpec::new("web-02")
            .linux()
            .group("servers")
            .backups(6, 0),
        ClientSpec::new("db-01")
            .linux()
            .group("servers")
            .backups(7, 0),
        ClientSpec::new("mail")
            .linux()
            .group("servers")
            .backups(5, 0),
        ClientSpec::new("lab-pi").linux().online(false),
        ClientSpec::new("new-laptop").never_seen(),
    ]
}

fn step(style: &Style, command: &str) {
    if style.color {
        println!("\n\x1b[1;36m$ urbackup {command}\x1b[0m");
    } else {
        println!("\n$ urbackup {command}");
    }
}

/// `demo`.
pub async fn run(args: &DemoArgs, style: &Style) -> Result<u8> {
    let t0 = Instant::now();
    let style = Style {
        format: Format::Table,
        ..*style
    };
    let mut builder = Simulator::builder()
        .admin(USER, PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(6))
        .livelog_wait(Duration::from_secs(1));
    let fleet = fleet();
    let n = fleet.len();
    for c in fleet {
        builder = builder.client(c);
    }
    let sim = builder
        .start()
        .await
        .context("cannot start the simulated server")?;
    println!(
        "A simulated UrBackup server (urbackup-sim) runs in this process at {} with {n} clients\n(user `{USER}`, password `{PASSWORD}`). Everything below is what the commands print.",
        sim.base_url()
    );

    let server = UrbackupServer::new(&sim.url(), USER, PASSWORD)?;
    let ctx = Ctx { server, style };

    step(&style, "status");
    ctx.print(&super::status::status(&ctx, &StatusArgs::default()).await?)?;
    println!("(ages are relative to now; `disabled`/`unsupported` kinds are not failures)");

    let cmd = format!("backup start {CLIENT} --incr --file --wait");
    step(&style, &cmd);
    let (outcomes, took) = start_and_wait(
        &ctx,
        &[CLIENT.to_owned()],
        BackupType::IncrFile,
        true,
        Duration::from_millis(500),
        Some(Duration::from_secs(60)),
    )
    .await?;
    ctx.print(&Output::Table(outcome_table(
        &outcomes,
        BackupType::IncrFile,
    )))?;

    step(&style, &format!("backups list {CLIENT}"));
    ctx.print(&super::backups::list(&ctx, CLIENT, true, false).await?)?;

    step(&style, &format!("status --client {CLIENT}"));
    let only = StatusArgs {
        client: vec![CLIENT.to_owned()],
        ..StatusArgs::default()
    };
    ctx.print(&super::status::status(&ctx, &only).await?)?;

    if let Some(act) = outcomes.first().and_then(|o| o.activity.as_ref()) {
        println!(
            "\nLast activity: {} backup {} of {}, {} in {} (waited {}).",
            if act.incremental > 0 {
                "incremental file"
            } else {
                "full file"
            },
            act.id,
            act.name,
            human_bytes(act.size_bytes.max(0) as u64),
            human_duration(act.duration),
            human_duration(took.as_secs() as i64),
        );
    }
    println!(
        "\nThat was the tour ({:.0} s). Next: `urbackup --help`, or point it at your server:\n  URBACKUP_URL=http://your-server:55414/ URBACKUP_USER=admin urbackup status",
        t0.elapsed().as_secs_f64()
    );
    if args.keep {
        println!(
            "\nThe simulated server keeps running until Ctrl-C. In another terminal:\n  export URBACKUP_URL={} URBACKUP_USER={USER} URBACKUP_PASSWORD={PASSWORD}\n  urbackup status",
            sim.base_url()
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    let ok = outcomes.iter().all(|o| o.result == "ok");
    Ok(if ok { 0 } else { 1 })
}

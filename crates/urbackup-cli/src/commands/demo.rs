//! `demo`: starts the embedded simulator (`urbackup-sim`) in this process and takes a short
//! tour with the same code the real commands run: the status table, a backup with its
//! progress, and the result. Then it serves the web console (`urbackup-console`) over a
//! simulated fleet: the tour's server, a branch office with problems and a site that does
//! not answer, with a demo login, until Ctrl-C: on a terminal, or with `--console`
//! (`--no-console`: end after the tour).

use super::backup::{outcome_table, start_and_wait};
use super::Ctx;
use crate::cli::{DemoArgs, StatusArgs};
use crate::output::{human_bytes, human_duration, Format, Output, Style};
use anyhow::{Context, Result};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use urbackup::{BackupType, HealthPolicy, UrbackupServer};
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::{Member, PollerConfig};
use urbackup_sim::{ClientSpec, SimServer, Simulator};

const USER: &str = "admin";
const PASSWORD: &str = "demo";
const CLIENT: &str = "accounting-pc";
/// The demo console's logins: (name, password, role).
const CONSOLE_USERS: [(&str, &str, Role); 2] = [
    ("demo", "demo-password", Role::Admin),
    ("viewer", "viewer-password", Role::Viewer),
];

/// The branch office of the demo console: a failed backup, a stale one, a client never
/// backed up, an offline laptop, a Linux server without image backups.
fn branch_fleet() -> Vec<ClientSpec> {
    let day = 86_400;
    vec![
        ClientSpec::new("branch-nas")
            .windows()
            .group("servers")
            .backups(6, 2),
        ClientSpec::new("frontdesk-pc")
            .windows()
            .group("office")
            .backups(4, 1)
            .last_backup_failed(),
        ClientSpec::new("warehouse-pc")
            .windows()
            .group("office")
            .backups(4, 1)
            .backups_older_by(4 * day),
        ClientSpec::new("sales-laptop")
            .windows()
            .online(false)
            .backups(3, 1)
            .backups_older_by(12 * day),
        ClientSpec::new("branch-linux")
            .linux()
            .group("servers")
            .backups(5, 0),
        ClientSpec::new("new-hire-laptop").never_seen(),
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
    // The example fleet of urbackup-sim, whose names the READMEs' examples use.
    let n = urbackup_sim::example_fleet().len();
    builder = builder.example_fleet();
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
    let ok = outcomes.iter().all(|o| o.result == "ok");
    let code = if ok { 0 } else { 1 };
    if args.keep {
        println!(
            "\nThe simulated server keeps running until Ctrl-C. In another terminal:\n  export URBACKUP_URL={} URBACKUP_USER={USER} URBACKUP_PASSWORD={PASSWORD}\n  urbackup status",
            sim.base_url()
        );
        let _ = tokio::signal::ctrl_c().await;
    } else if args.console || (!args.no_console && std::io::stdout().is_terminal()) {
        console(args, &sim).await?;
    } else if !args.no_console {
        println!(
            "\n(Not a terminal, so the demo ends here. `urbackup demo --console` also serves the web\nconsole over a simulated fleet, until Ctrl-C.)"
        );
    }
    Ok(code)
}

/// Serves the console over the demo fleet until Ctrl-C.
async fn console(args: &DemoArgs, hq: &SimServer) -> Result<()> {
    let mut builder = Simulator::builder()
        .admin(USER, PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(6));
    for c in branch_fleet() {
        builder = builder.client(c);
    }
    let branch = builder
        .start()
        .await
        .context("cannot start the simulated branch server")?;
    // A site whose server does not answer: a port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        format!("http://{}/x", l.local_addr()?)
    };
    let members = vec![
        Member::new("hq", UrbackupServer::new(&hq.url(), USER, PASSWORD)?),
        Member::new(
            "branch-office",
            UrbackupServer::new(&branch.url(), USER, PASSWORD)?,
        ),
        Member::new(
            "dr-site",
            UrbackupServer::builder(&dead)
                .credentials(USER, PASSWORD)
                .connect_timeout(Duration::from_secs(2))
                .read_retries(0)
                .build()?,
        ),
    ];
    let dir = tempfile::tempdir().context("cannot make a folder for the demo database")?;
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3"))?);
    for (name, pw, role) in CONSOLE_USERS {
        store.add_user(name, role, pw)?;
    }
    let day = 86_400;
    let config = ConsoleConfig {
        policy: HealthPolicy {
            file_warning: Some(26 * 3600),
            file_critical: Some(3 * day),
            image_warning: Some(8 * day),
            image_critical: Some(15 * day),
            ..HealthPolicy::default()
        },
        poll: PollerConfig {
            interval: Duration::from_secs(10),
            ..PollerConfig::default()
        },
        ..ConsoleConfig::default()
    };
    let console = Console::new(members, store, config)?;
    console.start_polling();
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            eprintln!("({} is taken: the console takes a free port)", args.listen);
            tokio::net::TcpListener::bind("127.0.0.1:0").await?
        }
        Err(e) => {
            return Err(anyhow::Error::from(e).context(format!("cannot listen on {}", args.listen)))
        }
    };
    let url = format!("http://{}/", listener.local_addr()?);
    println!(
        "\nThe web console runs over a simulated fleet of three servers (hq: the server above,\nbranch-office: a few problems, dr-site: does not answer) at\n\n  {url}\n\nLog in as `demo`, password `demo-password` (admin; operators start and stop backups),\nor as `viewer`, password `viewer-password` (read only). Ctrl-C ends the demo."
    );
    tokio::select! {
        r = console.serve_on(listener) => r.context("the console stopped")?,
        _ = tokio::signal::ctrl_c() => {}
    }
    drop(branch);
    Ok(())
}

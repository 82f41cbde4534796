//! `console`: the web console (crate `urbackup-console`) over the servers given, and
//! `console user ...` for its users.

use super::fleet::members;
use super::users::new_password;
use crate::cli::{ConsoleArgs, ConsoleCmd, ConsoleUserCmd, RoleArg};
use crate::config::Resolved;
use crate::output::{Cell, Output, Style, Table};
use anyhow::{bail, Context, Result};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, Store};
use urbackup_fleet::{Plan, PollerConfig};

/// The database given, else `console.sqlite3` in the platform's data directory.
pub fn db_path(db: Option<&Path>) -> Result<PathBuf> {
    match db {
        Some(p) => Ok(p.to_owned()),
        None => dirs::data_dir()
            .map(|d| d.join("urbackup").join("console.sqlite3"))
            .context("no data directory is known on this system: give --db FILE"),
    }
}

fn role(r: RoleArg) -> Role {
    match r {
        RoleArg::Viewer => Role::Viewer,
        RoleArg::Operator => Role::Operator,
        RoleArg::Admin => Role::Admin,
    }
}

fn open(db: Option<&Path>) -> Result<(Store, PathBuf)> {
    let path = db_path(db)?;
    not_for_root(&path)?;
    let store = Store::open(&path)?;
    Ok((store, path))
}

/// As root, a database of another user (the `urbackup` service user of the Debian package)
/// is refused: files SQLite creates next to it would belong to root, and the service could
/// then no longer write its own database.
#[cfg(unix)]
fn not_for_root(path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(meta) = std::fs::metadata(path).or_else(|_| std::fs::metadata(dir)) else {
        return Ok(());
    };
    if meta.uid() != 0 {
        bail!(
            "{} belongs to user id {}, not root: run this as that user, e.g. runuser -u urbackup -- urbackup console user ... (for the Debian package's console)",
            path.display(),
            meta.uid()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn not_for_root(_path: &Path) -> Result<()> {
    Ok(())
}

/// `console user ...`.
pub fn user(cmd: &ConsoleCmd, style: &Style) -> Result<u8> {
    let ConsoleCmd::User(cmd) = cmd;
    let out = match cmd {
        ConsoleUserCmd::Add {
            name,
            role: r,
            db,
            password_stdin,
        } => {
            let (store, path) = open(db.as_deref())?;
            let pw = new_password(name, *password_stdin)?;
            store.add_user(name, role(*r), &pw)?;
            Output::done(
                format!(
                    "console user `{name}` added ({}) to {}",
                    role(*r),
                    path.display()
                ),
                json!({"name": name, "role": role(*r).as_str(), "db": path}),
            )
        }
        ConsoleUserCmd::List { db } => {
            let (store, _) = open(db.as_deref())?;
            let mut t = Table::new(&[
                ("name", "NAME"),
                ("role", "ROLE"),
                ("created", "CREATED"),
                ("password_changed", "PASSWORD SET"),
            ]);
            for u in store.users()? {
                t.push(vec![
                    Cell::from(&u.name),
                    Cell::from(u.role.as_str()),
                    Cell::Date(u.created),
                    Cell::Date(u.password_changed),
                ]);
            }
            Output::Table(t)
        }
        ConsoleUserCmd::Remove { name, db } => {
            let (store, _) = open(db.as_deref())?;
            store.remove_user(name)?;
            Output::done(
                format!("console user `{name}` removed"),
                json!({"name": name}),
            )
        }
        ConsoleUserCmd::Passwd {
            name,
            db,
            password_stdin,
        } => {
            let (store, _) = open(db.as_deref())?;
            if !store.users()?.iter().any(|u| &u.name == name) {
                bail!("no console user named `{name}`");
            }
            let pw = new_password(name, *password_stdin)?;
            store.set_password(name, &pw)?;
            Output::done(
                format!("password of console user `{name}` set; their sessions ended"),
                json!({"name": name}),
            )
        }
        ConsoleUserCmd::Role { name, role: r, db } => {
            let (store, _) = open(db.as_deref())?;
            store.set_role(name, role(*r))?;
            Output::done(
                format!("console user `{name}` is now {}", role(*r)),
                json!({"name": name, "role": role(*r).as_str()}),
            )
        }
    };
    out.print(style)?;
    Ok(0)
}

/// `console`: serves until the process ends.
pub async fn serve(targets: Vec<Resolved>, a: &ConsoleArgs) -> Result<u8> {
    let path = db_path(a.db.as_deref())?;
    let store = Arc::new(Store::open(&path)?);
    if store.user_count()? == 0 {
        bail!(
            "the console has no users yet ({}): add one first, e.g.\n  urbackup console user add NAME --role admin --db {} --password-stdin",
            path.display(),
            path.display()
        );
    }
    let members = members(&targets)?;
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let addr: SocketAddr = a
        .listen
        .parse()
        .with_context(|| format!("--listen {}: not an address and port", a.listen))?;
    let https = a.tls_cert.is_some() && a.tls_key.is_some();
    let policy = a.health.policy();
    let outdated = policy.server_version.is_some();
    let config = ConsoleConfig {
        poll: PollerConfig {
            interval: Duration::from_secs(a.interval.max(1) as u64),
            plan: Plan::console(),
            concurrency: 32,
        },
        policy,
        secure_cookies: https || a.behind_proxy,
        trust_forwarded_for: a.behind_proxy,
        metrics: a.metrics.then(|| -> urbackup_console::MetricsFn {
            Arc::new(move |f| super::exporter::exposition(f, outdated))
        }),
    };
    let console = Console::new(members, store, config)?;
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    console.start_polling();
    eprintln!(
        "console of {} server{} ({}) on {}://{bound}/ (database {})",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        if https { "https" } else { "http" },
        path.display()
    );
    match (&a.tls_cert, &a.tls_key) {
        (Some(cert), Some(key)) => console.serve_tls_on(listener, cert, key).await,
        _ => {
            listener.set_nonblocking(true)?;
            console
                .serve_on(tokio::net::TcpListener::from_std(listener)?)
                .await
        }
    }
    .with_context(|| format!("the console stopped serving on {bound}"))?;
    Ok(0)
}

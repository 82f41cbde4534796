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
use urbackup_console::auth::ldap::{
    parse_role_mapping, parse_scope_mapping, BindPassword, DirectoryConfig,
};
use urbackup_console::auth::{Role, Scope};
use urbackup_console::store::UserSource;
use urbackup_console::{Console, ConsoleConfig, HostCheck, ServeLimits, Store};
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
            servers,
            groups,
        } => {
            let scope = Scope::from_lists(servers.as_deref(), groups.as_deref())
                .map_err(anyhow::Error::msg)?;
            if role(*r) == Role::Admin && !scope.is_all() {
                bail!(
                    "admins see every server: --servers and --groups are for viewers and operators"
                );
            }
            let (store, path) = open(db.as_deref())?;
            let pw = new_password(name, *password_stdin)?;
            store.add_user_scoped(name, role(*r), &pw, &scope)?;
            let sees = if scope.is_all() {
                String::new()
            } else {
                format!("; sees {}", scope.describe())
            };
            Output::done(
                format!(
                    "console user `{name}` added ({}{sees}) to {}",
                    role(*r),
                    path.display()
                ),
                json!({"name": name, "role": role(*r).as_str(), "servers": scope.servers, "groups": scope.groups, "db": path}),
            )
        }
        ConsoleUserCmd::Scope {
            name,
            servers,
            groups,
            all,
            db,
        } => {
            let scope = if *all {
                Scope::all()
            } else {
                Scope::from_lists(servers.as_deref(), groups.as_deref())
                    .map_err(anyhow::Error::msg)?
            };
            let (store, _) = open(db.as_deref())?;
            store.set_scope(name, &scope)?;
            Output::done(
                format!(
                    "console user `{name}` now sees {} (from their next request)",
                    scope.describe()
                ),
                json!({"name": name, "servers": scope.servers, "groups": scope.groups}),
            )
        }
        ConsoleUserCmd::TotpReset { name, db } => {
            let (store, _) = open(db.as_deref())?;
            match store.user(name)? {
                None => bail!("no console user named `{name}`"),
                Some(u) if !u.totp => bail!("console user `{name}` has no second factor"),
                Some(_) => {}
            }
            store.totp_reset(name)?;
            Output::done(
                format!("second factor of console user `{name}` removed; their sessions ended"),
                json!({"name": name}),
            )
        }
        ConsoleUserCmd::List { db } => {
            let (store, _) = open(db.as_deref())?;
            let mut t = Table::new(&[
                ("name", "NAME"),
                ("role", "ROLE"),
                ("source", "SOURCE"),
                ("sees", "SEES"),
                ("totp", "2FA"),
                ("created", "CREATED"),
                ("password_changed", "PASSWORD SET"),
            ]);
            for u in store.users()? {
                let directory = u.source == UserSource::Directory;
                t.push(vec![
                    Cell::from(&u.name),
                    Cell::from(u.role.as_str()),
                    Cell::from(u.source.as_str()),
                    Cell::from(u.scope.describe().as_str()),
                    Cell::from(match (directory, u.totp) {
                        (true, _) => "-",
                        (false, true) => "on",
                        (false, false) => "off",
                    }),
                    Cell::Date(u.created),
                    if directory {
                        Cell::from("-")
                    } else {
                        Cell::Date(u.password_changed)
                    },
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
    let directory = directory_config(a)?;
    if store.user_count()? == 0 && directory.is_none() {
        bail!(
            "the console has no users yet ({}): add one first, e.g.\n  urbackup console user add NAME --role admin --db {} --password-stdin",
            path.display(),
            path.display()
        );
    }
    let members = members(&targets, a.server.name.as_deref())?;
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    // A scope that names no server of this console sees nothing there: say so once.
    for u in store.users()? {
        if let Some(servers) = &u.scope.servers {
            let unknown: Vec<&str> = servers
                .iter()
                .filter(|s| !names.contains(s))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                eprintln!(
                    "note: console user `{}` may see servers this console does not have: {}",
                    u.name,
                    unknown.join(", ")
                );
            }
        }
    }
    let addr: SocketAddr = a
        .listen
        .parse()
        .with_context(|| format!("--listen {}: not an address and port", a.listen))?;
    let https = a.tls_cert.is_some() && a.tls_key.is_some();
    let public_url = match &a.public_url {
        Some(u) => {
            let url = url::Url::parse(u)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .with_context(|| format!("--public-url {u}: not an http(s) URL with a host"))?;
            Some(url)
        }
        None => None,
    };
    let public_https = public_url.as_ref().is_some_and(|u| u.scheme() == "https");
    // Bound first: the Host check of a console without a public URL needs the port it got.
    let listener =
        std::net::TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let hosts = match &public_url {
        Some(u) => HostCheck::for_url(u).context("--public-url has no host")?,
        None => HostCheck::for_listen(bound),
    };
    let proxies = match (a.trusted_proxies, a.behind_proxy) {
        (Some(n), _) => n as usize,
        (None, true) => 1,
        (None, false) => 0,
    };
    let policy = a.health.policy();
    let outdated = policy.server_version.is_some();
    let config = ConsoleConfig {
        poll: PollerConfig {
            interval: Duration::from_secs(a.interval.max(1) as u64),
            plan: Plan::console(),
            concurrency: 32,
        },
        policy,
        secure_cookies: https || proxies > 0 || public_https,
        hsts: https || public_https,
        trusted_proxies: proxies,
        public_hosts: hosts.clone(),
        limits: ServeLimits {
            max_connections: a.max_connections.unwrap_or(0),
            // Behind a proxy every connection comes from the proxy.
            max_per_address: if proxies > 0 {
                0
            } else {
                ServeLimits::default().max_per_address
            },
            ..ServeLimits::default()
        },
        metrics: a.metrics.then(|| -> urbackup_console::MetricsFn {
            Arc::new(move |f| super::exporter::exposition(f, outdated))
        }),
        directory,
        require_totp: a.require_totp,
    };
    let console = Console::new(members, store, config)?;
    console.start_polling();
    eprintln!(
        "console of {} server{} ({}) on {}://{bound}/ (database {}; answers {})",
        names.len(),
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        if https { "https" } else { "http" },
        path.display(),
        hosts.describe()
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

/// The directory of `--ldap-*` (`None` without `--ldap-url`), checked before the console
/// starts.
fn directory_config(a: &ConsoleArgs) -> Result<Option<DirectoryConfig>> {
    let Some(url) = &a.ldap_url else {
        return Ok(None);
    };
    let base = a
        .ldap_base
        .as_deref()
        .context("--ldap-url needs --ldap-base DN (where users and groups are searched)")?;
    let mut c = DirectoryConfig::new(url, base);
    c.starttls = a.ldap_starttls;
    c.ca_file = a.ldap_ca_file.clone();
    c.user_filter = a.ldap_user_filter.clone();
    c.bind_dn = a.ldap_bind_dn.clone();
    c.bind_password = a
        .ldap_bind_password_file
        .as_deref()
        .map(BindPassword::from_file)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    c.roles = a
        .ldap_role
        .iter()
        .map(|m| parse_role_mapping(m))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    c.scopes = a
        .ldap_scope
        .iter()
        .map(|m| parse_scope_mapping(m))
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    c.validate().map_err(anyhow::Error::msg)?;
    Ok(Some(c))
}

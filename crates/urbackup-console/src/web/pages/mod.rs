//! The read pages: overview, servers, one server, one client. They read the user's view of the
//! poller's snapshot (`Session::fleet`: only what their scope allows, counts included) and the
//! store for a client's history: no request to any UrBackup server.
//!
//! This module holds the overview and the servers page, and the rows every page shares;
//! [`server`] and [`client`] hold the page of one server and of one client.

mod client;
mod server;

pub(super) use client::start_refusal;
pub use client::{client, client_live};
pub use server::{server, server_live};

use super::{render, AppState, Layout, PageError, Session};
use crate::fmt;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use urbackup::{ActionProgress, KindHealth};
use urbackup_fleet::{ClientRow, FleetSnapshot, ServerSnapshot};

/// Rows of the overview's attention list (the rest is counted).
const ATTENTION_ROWS: usize = 200;
/// Rows of running activities on the overview.
const RUNNING_ROWS: usize = 100;
/// Clients per page of a server page.
const PAGE_ROWS: usize = 250;

/// One backup kind in a table cell.
pub struct KindCell {
    /// CSS class: the state.
    state: &'static str,
    /// `ok`, `failed`, `stale`...
    label: &'static str,
    /// The last backup's time (`""`: never).
    last: String,
    /// Its age.
    age: String,
}

fn kind_cell(k: &KindHealth, now: i64) -> KindCell {
    KindCell {
        state: k.state.as_str(),
        label: k.state.as_str(),
        last: k.last_backup.map(fmt::time).unwrap_or_default(),
        age: k.last_backup.map(|t| fmt::ago(t, now)).unwrap_or_default(),
    }
}

/// Notes on a client that needs attention.
fn notes(c: &ClientRow) -> String {
    let h = &c.health;
    let mut n = Vec::new();
    if h.outdated {
        n.push(format!("client version {} outdated", h.version));
    }
    if h.file_issues > 0 {
        n.push(issues(h.file_issues));
    }
    if h.no_backup_paths {
        n.push("no backup paths".into());
    }
    n.join("; ")
}

fn issues(n: i64) -> String {
    format!(
        "{n} issue{} in the last file backup",
        if n == 1 { "" } else { "s" }
    )
}

pub struct RunRow {
    server: String,
    server_href: String,
    client: String,
    client_href: String,
    action: String,
    details: String,
    percent: Option<u8>,
    done: String,
    total: String,
    speed: String,
    eta: String,
    id: i64,
    can_stop: bool,
    stop_href: String,
}

/// What the web interface shows of `details`: the volume of an image backup, the path of a
/// restore, the step of a database job (other actions send placeholders such as `0`).
fn action_details(a: &ActionProgress) -> String {
    use urbackup::ActionType::*;
    match a.action {
        IncrImage | FullImage | ImageRestore if !a.details.is_empty() => {
            format!("volume {}", a.details)
        }
        FileRestore | CheckDbIntegrity | BackupDb => a.details.clone(),
        _ => String::new(),
    }
}

pub(super) fn run_row(server: &str, a: &ActionProgress) -> RunRow {
    RunRow {
        server: server.to_owned(),
        server_href: fmt::server_href(server),
        client: a.name.clone(),
        client_href: fmt::client_href(server, a.clientid),
        action: a.action.description(),
        details: action_details(a),
        percent: a.percent(),
        done: fmt::bytes(a.done_bytes),
        total: if a.total_bytes >= 0 {
            fmt::bytes(a.total_bytes)
        } else {
            String::new()
        },
        speed: if a.speed_bpms > 0.0 {
            format!("{}/s", fmt::bytes((a.speed_bpms * 1000.0) as i64))
        } else {
            fmt::NONE.into()
        },
        // While the server does not know how much there is (indexing), it has no estimate.
        eta: match (a.percent(), a.eta()) {
            (None, _) | (_, None) => fmt::NONE.into(),
            _ if a.eta_under_a_minute() => "< 1m".into(),
            (_, Some(d)) => fmt::span(d.as_secs() as i64),
        },
        id: a.id,
        can_stop: a.can_stop_backup,
        stop_href: format!("{}/stop", fmt::client_href(server, a.clientid)),
    }
}

/// The counts of one server's clients, as every page shows them (the overview, the servers
/// table, the server page): what the last poll read, or what an unreachable server had at its
/// last poll that could read it (counted, and marked as last known), or nothing (never read).
pub struct Counts {
    /// The console has read this server's clients at least once.
    known: bool,
    /// The server is unreachable: these are its clients as last read.
    last_known: bool,
    /// When they were read (last known), e.g. `2026-12-06 19:01 UTC`.
    as_of: String,
    clients: usize,
    ok: usize,
    failed: usize,
    stale: usize,
    never: usize,
    offline: usize,
}

pub(super) fn counts(s: &ServerSnapshot) -> Counts {
    Counts {
        known: s.data_at.is_some(),
        last_known: s.failure.is_some() && s.data_at.is_some(),
        as_of: s.data_at.map(fmt::time).unwrap_or_default(),
        clients: s.clients.len(),
        ok: s.count(|c| c.health.is_ok()),
        failed: s.count(|c| c.health.failed()),
        stale: s.count(|c| c.health.stale()),
        never: s.count(|c| c.health.never()),
        offline: s.count(|c| !c.health.online),
    }
}

pub struct ServerLine {
    name: String,
    href: String,
    state: &'static str,
    state_label: &'static str,
    c: Counts,
    used: String,
    polled: String,
}

fn server_state(s: &ServerSnapshot) -> (&'static str, &'static str) {
    match (&s.failure, s.polled_at) {
        (_, None) => ("pending", "not polled yet"),
        (Some(_), _) => ("unreachable", "unreachable"),
        (None, _) => {
            let sev = s.severity();
            (sev.as_str(), sev.as_str())
        }
    }
}

fn server_lines(f: &FleetSnapshot, now: i64) -> Vec<ServerLine> {
    f.servers
        .iter()
        .map(|s| {
            let (state, state_label) = server_state(s);
            ServerLine {
                name: s.name.clone(),
                href: fmt::server_href(&s.name),
                state,
                state_label,
                c: counts(s),
                used: s
                    .used_bytes()
                    .map(fmt::bytes)
                    .unwrap_or_else(|| fmt::NONE.into()),
                polled: s
                    .polled_at
                    .map(|t| fmt::ago(t, now))
                    .unwrap_or_else(|| "not yet".into()),
            }
        })
        .collect()
}

pub struct Totals {
    servers: usize,
    up: usize,
    /// Every client the console knows, the last known ones of unreachable servers included.
    clients: usize,
    /// Of which last known (their servers are unreachable).
    last_known: usize,
    /// Unreachable servers whose clients the console has never read.
    never_read: usize,
    attention: usize,
    running: usize,
}

pub struct DownRow {
    server: String,
    href: String,
    kind: &'static str,
    kind_label: &'static str,
    since: String,
    for_age: String,
    data_age: String,
    message: String,
    retry: String,
}

fn down_row(s: &ServerSnapshot, now: i64) -> Option<DownRow> {
    let f = s.failure.as_ref()?;
    Some(DownRow {
        server: s.name.clone(),
        href: fmt::server_href(&s.name),
        kind: f.kind.as_str(),
        kind_label: f.kind.describe(),
        since: fmt::time(f.since),
        for_age: fmt::span(now - f.since),
        data_age: s
            .data_at
            .map(|t| format!("clients as of {}", fmt::ago(t, now)))
            .unwrap_or_else(|| "never read".into()),
        message: fmt::sentence(&f.message),
        retry: f
            .retry_login_at
            .map(|t| {
                format!(
                    "({}: the server bans addresses after repeated failed logins)",
                    next_login(t, now)
                )
            })
            .unwrap_or_default(),
    })
}

pub struct AttentionRow {
    severity: &'static str,
    server: String,
    server_href: String,
    client: String,
    client_href: String,
    file: KindCell,
    image: KindCell,
    online: bool,
    note: String,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    generated: String,
    totals: Totals,
    down: Vec<DownRow>,
    attention: Vec<AttentionRow>,
    attention_more: usize,
    running: Vec<RunRow>,
    show_server: bool,
    can_stop: bool,
    servers: Vec<ServerLine>,
}

/// `/`: unreachable servers, then every client that needs attention, then running
/// activities, then the servers.
pub async fn overview(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    let view = session.fleet(&state);
    let f = view.snapshot();
    let now = urbackup_fleet::unix_now();
    let attention_all = f.attention();
    let attention: Vec<AttentionRow> = attention_all
        .iter()
        .take(ATTENTION_ROWS)
        .map(|(s, c)| AttentionRow {
            severity: c.health.severity().as_str(),
            server: s.name.clone(),
            server_href: fmt::server_href(&s.name),
            client: c.name().to_owned(),
            client_href: fmt::client_href(&s.name, c.id()),
            file: kind_cell(&c.health.file, now),
            image: kind_cell(&c.health.image, now),
            online: c.health.online,
            note: notes(c),
        })
        .collect();
    let running_all: Vec<RunRow> = f
        .servers
        .iter()
        .flat_map(|s| {
            s.actions
                .iter()
                .flat_map(|a| a.iter())
                .map(move |a| run_row(&s.name, a))
        })
        .collect();
    let totals = Totals {
        servers: f.servers.len(),
        up: f.servers.iter().filter(|s| s.is_up()).count(),
        clients: f.servers.iter().map(|s| s.clients.len()).sum(),
        last_known: f
            .servers
            .iter()
            .filter(|s| s.failure.is_some())
            .map(|s| s.clients.len())
            .sum(),
        never_read: f
            .servers
            .iter()
            .filter(|s| s.failure.is_some() && s.data_at.is_none())
            .count(),
        attention: attention_all.len(),
        running: running_all.len(),
    };
    let page = OverviewPage {
        layout: session
            .layout(&state, "Overview".into(), "overview", true)
            .await?,
        generated: fmt::time(now),
        down: f.servers.iter().filter_map(|s| down_row(s, now)).collect(),
        attention_more: attention_all.len().saturating_sub(ATTENTION_ROWS),
        attention,
        running: running_all.into_iter().take(RUNNING_ROWS).collect(),
        show_server: true,
        can_stop: false,
        servers: server_lines(f, now),
        totals,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "servers.html")]
struct ServersPage {
    layout: Layout,
    servers: Vec<ServerLine>,
}

/// `/servers`.
pub async fn servers(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    let view = session.fleet(&state);
    let page = ServersPage {
        layout: session
            .layout(&state, "Servers".into(), "servers", false)
            .await?,
        servers: server_lines(view.snapshot(), urbackup_fleet::unix_now()),
    };
    Ok(render(&page))
}

/// When the console tries to log in to a server that refused it again: `no new login before
/// 17:08:26 UTC (in 1m)`, or at the next poll once that time has passed.
pub(super) fn next_login(at: i64, now: i64) -> String {
    if at > now {
        format!(
            "no new login before {} (in {})",
            fmt::clock(at),
            fmt::span(at - now)
        )
    } else {
        "a new login at the next poll".into()
    }
}

fn log_label(image: bool, incremental: bool, restore: bool) -> String {
    let kind = if image { "image" } else { "file" };
    match (restore, incremental) {
        (true, _) => format!("{kind} restore"),
        (false, true) => format!("incremental {kind} backup"),
        (false, false) => format!("full {kind} backup"),
    }
}

//! `/compliance` and its CSV.

use super::{render, AppState, Layout, PageError, Session};
use crate::compliance::{self, Share};
use crate::fmt;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use urbackup::BackupKind;

/// Clients listed on the page (the CSV has all).
const CLIENT_ROWS: usize = 200;

pub struct Line {
    label: &'static str,
    values: Vec<String>,
}

pub struct ServerLine {
    server: String,
    href: String,
    label: &'static str,
    values: Vec<String>,
}

pub struct ClientLine {
    server: String,
    client: String,
    href: String,
    kind: &'static str,
    values: Vec<String>,
    last: String,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    layout: Layout,
    rpo_file: String,
    rpo_image: String,
    rpo_source: String,
    fleet: Vec<Line>,
    servers: Vec<ServerLine>,
    clients_title: String,
    clients: Vec<ClientLine>,
    clients_more: usize,
}

fn values(shares: &[Share; 3]) -> Vec<String> {
    shares
        .iter()
        .map(|s| s.ratio().map(fmt::percent).unwrap_or_else(|| "—".into()))
        .collect()
}

#[derive(Deserialize, Default)]
pub struct Filter {
    server: Option<String>,
}

/// `/compliance` (`?server=NAME`: every client of that server, else the clients below 100%).
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    let report = session.fleet(&state).compliance().await?;
    let rpo = *state.rpo();
    let now = urbackup_fleet::unix_now();
    let fleet = vec![
        Line {
            label: "All backups",
            values: values(&report.fleet.all()),
        },
        Line {
            label: "File backups",
            values: values(&report.fleet.file),
        },
        Line {
            label: "Image backups",
            values: values(&report.fleet.image),
        },
    ];
    let servers = report
        .servers
        .iter()
        .flat_map(|(name, r)| {
            [("file backups", r.file), ("image backups", r.image)]
                .into_iter()
                .filter(|(_, s)| s.iter().any(|x| x.total > 0))
                .map(move |(label, s)| ServerLine {
                    server: name.clone(),
                    href: format!("/compliance?server={}", fmt::encode(name)),
                    label,
                    values: values(&s),
                })
        })
        .collect();
    let all_of = filter.server.as_deref();
    let picked: Vec<ClientLine> = report
        .clients
        .iter()
        .filter(|c| all_of.is_none_or(|s| c.server == s))
        .flat_map(|c| {
            c.kinds.iter().filter_map(move |k| {
                let below = k.shares.iter().any(|s| s.ratio().is_some_and(|r| r < 1.0));
                (all_of.is_some() || below).then(|| ClientLine {
                    server: c.server.clone(),
                    client: c.name.clone(),
                    href: fmt::client_href(&c.server, c.clientid),
                    kind: k.kind.as_str(),
                    values: values(&k.shares),
                    last: fmt::ago(k.last_backup, now),
                })
            })
        })
        .collect();
    let clients_more = picked.len().saturating_sub(CLIENT_ROWS);
    let src = |from: bool, kind: BackupKind| {
        if from {
            format!("{} warning age", kind.as_str())
        } else {
            format!("default; set with --{}-warning", kind.as_str())
        }
    };
    let page = CompliancePage {
        layout: session
            .layout(&state, "Compliance".into(), "compliance", false)
            .await?,
        rpo_file: fmt::span(rpo.file),
        rpo_image: fmt::span(rpo.image),
        rpo_source: format!(
            "{}; {}",
            src(rpo.from_policy.0, BackupKind::File),
            src(rpo.from_policy.1, BackupKind::Image)
        ),
        fleet,
        servers,
        clients_title: match all_of {
            Some(s) => format!("Clients of {s}"),
            None => "Clients below 100%, worst first".into(),
        },
        clients: picked.into_iter().take(CLIENT_ROWS).collect(),
        clients_more,
    };
    Ok(render(&page))
}

/// `/compliance.csv`: every client and kind.
pub async fn csv(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    let report = session.fleet(&state).compliance().await?;
    let body = compliance::csv(&report, state.rpo())
        .map_err(|e| PageError::Internal(format!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"urbackup-compliance.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response())
}

//! `/admin/audit` (admins): the whole audit trail, newest first, filtered by user, server,
//! client, action and time, 200 entries a page; `/admin/audit.csv`: the same filters, every
//! matching entry.

use super::extract::Query;
use super::{render, AppState, Layout, PageError, Session};
use crate::auth::Role;
use crate::compliance::{csv_text, csv_writer};
use crate::fmt;
use crate::store::{AuditFilter, AuditRow};
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// Entries per page.
const PAGE: usize = 200;
/// Entries of the CSV at most.
const CSV_ROWS: usize = 100_000;

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    user: Option<String>,
    server: Option<String>,
    client: Option<String>,
    action: Option<String>,
    /// `YYYY-MM-DD` (UTC), from the start of that day.
    from: Option<String>,
    /// `YYYY-MM-DD` (UTC), to the end of that day.
    to: Option<String>,
    page: Option<usize>,
}

/// `2026-12-04` as the Unix time of its start (UTC).
fn day(s: &str) -> Result<i64, PageError> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s.trim(), &f)
        .map(|d| d.midnight().assume_utc().unix_timestamp())
        .map_err(|_| PageError::BadRequest(format!("“{s}” is not a date (YYYY-MM-DD).")))
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, PageError> {
        Ok(AuditFilter {
            user: nonempty(&self.user),
            server: nonempty(&self.server),
            clientid: match nonempty(&self.client) {
                Some(c) => Some(c.parse().map_err(|_| {
                    PageError::BadRequest(format!("“{c}” is not a client id (a number)."))
                })?),
                None => None,
            },
            action: nonempty(&self.action),
            since: nonempty(&self.from).map(|d| day(&d)).transpose()?,
            until: nonempty(&self.to)
                .map(|d| day(&d).map(|t| t + 86_400))
                .transpose()?,
        })
    }

    /// The query string of these filters (for the CSV link and the pager).
    fn query(&self, page: Option<usize>) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("user", &self.user),
            ("server", &self.server),
            ("client", &self.client),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = nonempty(v) {
                parts.push(format!("{k}={}", fmt::encode(&v)));
            }
        }
        if let Some(p) = page.filter(|p| *p > 1) {
            parts.push(format!("page={p}"));
        }
        parts.join("&")
    }
}

pub struct Line {
    time: String,
    user: String,
    server: String,
    client: String,
    client_href: String,
    action: String,
    backup: String,
    path: String,
    bytes: String,
    outcome: String,
    class: &'static str,
    detail: String,
}

fn line(r: &AuditRow, names: &dyn Fn(&str, i64) -> Option<String>) -> Line {
    Line {
        time: fmt::time(r.time),
        user: r.user.clone(),
        server: r.server.clone(),
        client: r
            .clientid
            .map(|c| names(&r.server, c).unwrap_or_else(|| format!("client {c}")))
            .unwrap_or_default(),
        client_href: r
            .clientid
            .map(|c| fmt::client_href(&r.server, c))
            .unwrap_or_default(),
        action: r.action.clone(),
        backup: r.backupid.map(|b| b.to_string()).unwrap_or_default(),
        path: r.path.clone().unwrap_or_default(),
        bytes: r.bytes.map(fmt::bytes).unwrap_or_default(),
        outcome: r.outcome_word().to_owned(),
        class: match r.outcome_word() {
            "ok" | "done" => "ok",
            "running" => "pending",
            _ => "failed",
        },
        detail: r.detail.clone(),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    q: AuditQuery,
    lines: Vec<Line>,
    page: usize,
    prev_href: String,
    next_href: String,
    csv_href: String,
}

/// `GET /admin/audit`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let filter = q.filter()?;
    let page = q.page.unwrap_or(1).max(1);
    let rows = state
        .db(move |s| s.audit_rows(&filter, PAGE + 1, (page - 1) * PAGE))
        .await?;
    let more = rows.len() > PAGE;
    let view = session.fleet(&state);
    let snap = view.snapshot();
    let names = |server: &str, id: i64| {
        snap.server(server)
            .and_then(|s| s.client(id))
            .map(|c| c.name().to_owned())
    };
    let page_view = AuditPage {
        layout: session
            .layout(&state, "Audit trail".into(), "audit", false)
            .await?,
        lines: rows.iter().take(PAGE).map(|r| line(r, &names)).collect(),
        prev_href: if page > 1 {
            format!("/admin/audit?{}", q.query(Some(page - 1)))
        } else {
            String::new()
        },
        next_href: if more {
            format!("/admin/audit?{}", q.query(Some(page + 1)))
        } else {
            String::new()
        },
        csv_href: format!("/admin/audit.csv?{}", q.query(None)),
        page,
        q,
    };
    Ok(render(&page_view))
}

/// `GET /admin/audit.csv`: every entry matching the filters.
pub async fn csv(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<AuditQuery>,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let filter = q.filter()?;
    let rows = state
        .db(move |s| s.audit_rows(&filter, CSV_ROWS, 0))
        .await?;
    let out = (|| -> Result<Vec<u8>, csv::Error> {
        // The header is plain text; the rows quote every text cell (`csv_writer`).
        let header = "time,user,server,clientid,action,backupid,path,bytes,outcome,detail\n";
        let mut w = csv_writer(header.as_bytes().to_vec());
        for r in &rows {
            w.write_record([
                fmt::time(r.time),
                csv_text(&r.user),
                csv_text(&r.server),
                r.clientid.map(|c| c.to_string()).unwrap_or_default(),
                csv_text(&r.action),
                r.backupid.map(|b| b.to_string()).unwrap_or_default(),
                csv_text(r.path.as_deref().unwrap_or_default()),
                r.bytes.map(|b| b.to_string()).unwrap_or_default(),
                r.outcome_word().to_owned(),
                csv_text(&r.detail),
            ])?;
        }
        w.into_inner().map_err(|e| e.into_error().into())
    })()
    .map_err(|e| PageError::Internal(format!("csv: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"urbackup-console-audit.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}

//! `/compliance` and its CSV.

use super::extract::Query;
use super::{render, AppState, Layout, PageError, Session};
use crate::compliance::{self, Share, WINDOWS};
use crate::fmt;
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use urbackup::BackupKind;

/// Clients listed on the page (the CSV has all).
const CLIENT_ROWS: usize = 200;

/// One figure of a window, with how much of the window the console has seen.
pub struct ShareCell {
    /// `92.0%`, or `—` when nothing is accountable.
    pub value: String,
    /// `of 9 days seen` (`""`: the whole window).
    pub seen: String,
    /// Seen for less than half of the window.
    pub partial: bool,
}

/// Seconds as whole days (or hours, minutes) of history: `9 days`, `1 day`, `5 hours`.
fn seen_span(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs {
        s if s >= 86_400 => plural(s / 86_400, "day"),
        s if s >= 3600 => plural(s / 3600, "hour"),
        s => plural((s / 60).max(1), "minute"),
    }
}

/// The figure of one window of `days` days.
pub fn share_cell(s: &Share, days: i64) -> ShareCell {
    let Some(r) = s.ratio() else {
        return ShareCell {
            value: "—".into(),
            seen: "nothing seen yet".into(),
            partial: true,
        };
    };
    let full = s.total >= s.window;
    let seen = (s.coverage() * (days * 86_400) as f64) as i64;
    ShareCell {
        value: fmt::percent(r),
        seen: match (full, s.partial()) {
            (true, _) => String::new(),
            (false, true) => format!("only {} of {days} seen", seen_span(seen)),
            (false, false) => format!("of {} seen", seen_span(seen)),
        },
        partial: s.partial(),
    }
}

fn cells(shares: &[Share; 3]) -> Vec<ShareCell> {
    shares
        .iter()
        .zip(WINDOWS)
        .map(|(s, d)| share_cell(s, d))
        .collect()
}

pub struct Line {
    label: &'static str,
    values: Vec<ShareCell>,
}

pub struct ServerLine {
    server: String,
    href: String,
    label: &'static str,
    values: Vec<ShareCell>,
}

pub struct ClientLine {
    server: String,
    client: String,
    href: String,
    kind: &'static str,
    values: Vec<ShareCell>,
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
    server_filter: bool,
}

#[derive(Deserialize, Default)]
pub struct Filter {
    server: Option<String>,
}

/// Where the RPOs come from, in a sentence.
fn rpo_source(from_policy: (bool, bool)) -> String {
    match from_policy {
        (true, true) => "each kind's warning age".into(),
        (false, false) => "the defaults; set them with --file-warning and --image-warning".into(),
        (true, false) => {
            "the file warning age; the image default, set it with --image-warning".into()
        }
        (false, true) => {
            "the file default, set it with --file-warning; the image warning age".into()
        }
    }
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
            values: cells(&report.fleet.all()),
        },
        Line {
            label: "File backups",
            values: cells(&report.fleet.file),
        },
        Line {
            label: "Image backups",
            values: cells(&report.fleet.image),
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
                    values: cells(&s),
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
                    values: cells(&k.shares),
                    last: fmt::ago(k.last_backup, now),
                })
            })
        })
        .collect();
    let clients_more = picked.len().saturating_sub(CLIENT_ROWS);
    let page = CompliancePage {
        layout: session
            .layout(&state, "Compliance".into(), "compliance", false)
            .await?,
        rpo_file: fmt::rpo(rpo.of(BackupKind::File)),
        rpo_image: fmt::rpo(rpo.of(BackupKind::Image)),
        rpo_source: rpo_source(rpo.from_policy),
        fleet,
        servers,
        clients_title: match all_of {
            Some(s) => format!("Clients of {s}"),
            None => "Clients below 100%, worst first".into(),
        },
        clients: picked.into_iter().take(CLIENT_ROWS).collect(),
        clients_more,
        server_filter: all_of.is_some(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_say_how_much_was_seen() {
        let day = 86_400;
        let full = Share {
            compliant: 30 * day,
            total: 30 * day,
            window: 30 * day,
        };
        let c = share_cell(&full, 30);
        assert_eq!(
            (c.value.as_str(), c.seen.as_str(), c.partial),
            ("100%", "", false)
        );
        let part = Share {
            compliant: 9 * day * 92 / 100,
            total: 9 * day,
            window: 30 * day,
        };
        let c = share_cell(&part, 30);
        assert_eq!(c.value, "92.0%");
        assert_eq!(c.seen, "only 9 days of 30 seen");
        assert!(c.partial);
        let most = Share {
            compliant: 20 * day,
            total: 20 * day,
            window: 30 * day,
        };
        assert_eq!(share_cell(&most, 30).seen, "of 20 days seen");
        let none = Share {
            window: 7 * day,
            ..Share::default()
        };
        assert_eq!(share_cell(&none, 7).value, "—");
    }
}

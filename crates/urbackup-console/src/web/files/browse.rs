//! `/servers/{server}/clients/{id}/backups/{backup}`: a folder of a file backup (sorted,
//! filtered by name, 250 entries a page, searched below by name), and
//! `/servers/{server}/clients/{id}/images/{backup}`: what can be done with an image backup.

use super::super::{render, sort, AppState, Layout, PageError, Session};
use super::{audit, backup_label, href, key, listing, open};
use crate::fmt;
use crate::store::AuditEntry;
use crate::web::extract::{Path, Query};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use urbackup::{FileEntry, SearchLimits, SearchStop};

/// Entries per page.
const PAGE: usize = 250;
/// A search looks this many folder levels down, with at most this many listings.
const SEARCH: SearchLimits = SearchLimits {
    max_depth: 6,
    max_listings: 100,
    max_matches: 500,
};
/// The audit trail records a user's browse of a backup once a day.
const BROWSE_AGAIN: i64 = 86_400;

#[derive(Deserialize, Default)]
pub struct BrowseQuery {
    path: Option<String>,
    /// Filter of the folder's names.
    q: Option<String>,
    /// Search below the folder by name.
    find: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<usize>,
}

pub struct Crumb {
    label: String,
    href: String,
}

pub struct EntryView {
    name: String,
    dir: bool,
    size: String,
    modified: String,
    href: String,
    zip_href: String,
    versions_href: String,
    restore_href: String,
}

pub struct HitView {
    path: String,
    dir: bool,
    size: String,
    modified: String,
    href: String,
    versions_href: String,
    restore_href: String,
}

pub struct SearchView {
    needle: String,
    hits: Vec<HitView>,
    listings: usize,
    requests: usize,
    stopped: String,
}

#[derive(Template)]
#[template(path = "files/browse.html")]
struct BrowsePage {
    layout: Layout,
    head: super::Head,
    backup: String,
    crumbs: Vec<Crumb>,
    here: String,
    self_href: String,
    path: String,
    zip_href: String,
    restore_href: String,
    q: String,
    find: String,
    sort: String,
    dir: String,
    headers: Vec<sort::Header>,
    entries: Vec<EntryView>,
    total: usize,
    matching: usize,
    page: usize,
    pages: usize,
    prev_href: String,
    next_href: String,
    source: &'static str,
    search: Option<SearchView>,
}

fn entry_view(
    server: &str,
    clientid: i64,
    backupid: i64,
    folder: &str,
    f: &FileEntry,
) -> EntryView {
    let path = format!("{folder}/{}", f.name);
    EntryView {
        name: f.name.clone(),
        dir: f.dir,
        size: if f.dir {
            String::new()
        } else {
            fmt::bytes(f.size)
        },
        modified: fmt::time(f.mod_time),
        href: if f.dir {
            href::browse(server, clientid, backupid, &path)
        } else {
            href::download(server, clientid, backupid, &path)
        },
        zip_href: href::zip(server, clientid, backupid, &path),
        versions_href: href::versions(server, clientid, &path),
        restore_href: href::restore(server, clientid, backupid, &path),
    }
}

/// `GET /servers/{server}/clients/{id}/backups/{backup}?path=...`.
pub async fn page(
    State(state): State<AppState>,
    session: Session,
    Path((name, id, backupid)): Path<(String, i64, i64)>,
    Query(q): Query<BrowseQuery>,
) -> Result<Response, PageError> {
    let (t, path) = open(&state, &session, &name, id, q.path.as_deref()).await?;
    let b = t.file_backup(&state, backupid).await?;
    let server = t.server_name().to_owned();
    let (l, from_server) = listing(&state, &t, &b, &path).await?;
    // A path that names a file lists that file: browse its folder instead.
    if !path.is_empty() && l.files.len() == 1 && !l.files[0].dir {
        if let Some((folder, file)) = crate::restore::path::split(&path) {
            if urbackup::text::same_name(&l.files[0].name, file) {
                let (lf, _) = listing(&state, &t, &b, folder).await?;
                if lf
                    .files
                    .iter()
                    .any(|f| !f.dir && urbackup::text::same_name(&f.name, file))
                {
                    return Ok(
                        Redirect::to(&href::browse(&server, id, backupid, folder)).into_response()
                    );
                }
            }
        }
    }

    // The first look at this backup today goes into the audit trail.
    let user = session.name().to_owned();
    let seen = {
        let (user, server) = (user.clone(), server.clone());
        let since = urbackup_fleet::unix_now() - BROWSE_AGAIN;
        state
            .db(move |s| s.audit_seen(&user, &server, id, backupid, "browsed a file backup", since))
            .await?
    };
    if !seen {
        audit(
            &state,
            AuditEntry {
                user: &user,
                server: &server,
                clientid: Some(id),
                backupid: Some(backupid),
                path: Some(if path.is_empty() { "/" } else { &path }),
                action: "browsed a file backup",
                ok: true,
                outcome: "ok",
                detail: &format!("opened file backup {backupid}"),
                bytes: None,
            },
        )
        .await?;
    }

    let text = q.q.clone().unwrap_or_default();
    let needle = text.to_lowercase();
    let sort = q
        .sort
        .as_deref()
        .filter(|s| matches!(*s, "size" | "modified"))
        .unwrap_or("name")
        .to_owned();
    let desc = q.dir.as_deref() == Some("desc");
    let mut files: Vec<&FileEntry> = l
        .files
        .iter()
        .filter(|f| needle.is_empty() || f.name.to_lowercase().contains(&needle))
        .collect();
    match sort.as_str() {
        "size" => files.sort_by_key(|f| (f.dir, f.size)),
        "modified" => files.sort_by_key(|f| f.mod_time),
        _ => files.sort_by(|a, b| b.dir.cmp(&a.dir).then_with(|| a.name.cmp(&b.name))),
    }
    if desc {
        files.reverse();
    }
    let matching = files.len();
    let pages = matching.div_ceil(PAGE).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let self_href = href::backup(&server, id, backupid);
    let link = |sort: &str, dir: &str, page: usize| {
        let mut h = format!("{self_href}?path={}", fmt::encode(&path));
        if !text.is_empty() {
            h.push_str(&format!("&q={}", fmt::encode(&text)));
        }
        h.push_str(&format!("&sort={sort}&dir={dir}"));
        if page > 1 {
            h.push_str(&format!("&page={page}"));
        }
        h
    };
    let headers = sort::headers(
        &[
            ("name", "Name", false, false),
            ("size", "Size", true, false),
            ("modified", "Modified", false, false),
        ],
        &sort,
        desc,
        |key, dir| link(key, dir, 1),
    );
    let dir_word = if desc { "desc" } else { "asc" };
    let entries = files
        .iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .map(|f| entry_view(&server, id, backupid, &path, f))
        .collect();

    // Breadcrumbs: the backup's root, then each folder.
    let mut crumbs = vec![Crumb {
        label: "root".into(),
        href: href::backup(&server, id, backupid),
    }];
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        crumbs.push(Crumb {
            label: part.to_owned(),
            href: href::browse(&server, id, backupid, &at),
        });
    }
    let here = crumbs.pop().map(|c| c.label).unwrap_or_default();

    let find = q.find.clone().unwrap_or_default();
    let search = if find.trim().is_empty() {
        None
    } else {
        let handle = t.handle();
        let cache = state.listings().of(&server);
        let r = handle
            .search_backup(id, key(&b), &path, find.trim(), SEARCH, Some(&cache))
            .await
            .map_err(|e| super::server_error("search the backup", &e))?;
        audit(
            &state,
            AuditEntry {
                user: &user,
                server: &server,
                clientid: Some(id),
                backupid: Some(backupid),
                path: Some(if path.is_empty() { "/" } else { &path }),
                action: "searched a file backup",
                ok: true,
                outcome: "ok",
                detail: &format!(
                    "searched “{}” below {}: {} found in {} listings",
                    find.trim(),
                    if path.is_empty() { "/" } else { &path },
                    r.hits.len(),
                    r.count.listings
                ),
                bytes: None,
            },
        )
        .await?;
        Some(SearchView {
            needle: find.trim().to_owned(),
            listings: r.count.listings,
            requests: r.count.requests,
            stopped: match r.stopped {
                None => String::new(),
                Some(SearchStop::Depth) => format!(
                    "Stopped {} folder levels down: search from a deeper folder to look further.",
                    SEARCH.max_depth
                ),
                Some(SearchStop::Listings) => format!(
                    "Stopped after {} listings: search from a deeper folder to look further.",
                    SEARCH.max_listings
                ),
                Some(SearchStop::Matches) => {
                    format!(
                        "Stopped at {} matches: narrow the name.",
                        SEARCH.max_matches
                    )
                }
                Some(_) => "Stopped early.".into(),
            },
            hits: r
                .hits
                .iter()
                .map(|h| {
                    let p = h.path();
                    let v = entry_view(&server, id, backupid, &h.folder, &h.entry);
                    HitView {
                        path: p,
                        dir: h.entry.dir,
                        size: v.size,
                        modified: v.modified,
                        href: v.href,
                        versions_href: v.versions_href,
                        restore_href: v.restore_href,
                    }
                })
                .collect(),
        })
    };

    let page_view = BrowsePage {
        layout: session
            .layout(
                &state,
                format!("Backup {backupid} of {}", t.client.name()),
                "servers",
                false,
            )
            .await?,
        head: t.head(),
        backup: backup_label(&b),
        crumbs,
        here,
        self_href: self_href.clone(),
        zip_href: href::zip(&server, id, backupid, &path),
        restore_href: if path.is_empty() {
            String::new()
        } else {
            href::restore(&server, id, backupid, &path)
        },
        path: if path.is_empty() {
            "/".into()
        } else {
            path.clone()
        },
        q: text.clone(),
        find,
        sort: sort.clone(),
        dir: dir_word.into(),
        headers,
        entries,
        total: l.files.len(),
        matching,
        page,
        pages,
        prev_href: if page > 1 {
            link(&sort, dir_word, page - 1)
        } else {
            String::new()
        },
        next_href: if page < pages {
            link(&sort, dir_word, page + 1)
        } else {
            String::new()
        },
        source: if from_server {
            "read from the server"
        } else {
            "from the console's cache (a finished backup never changes)"
        },
        search,
    };
    Ok(render(&page_view))
}

#[derive(Template)]
#[template(path = "files/image.html")]
struct ImagePage {
    layout: Layout,
    head: super::Head,
    backup: String,
    size: String,
    web_ui: String,
}

/// `GET /servers/{server}/clients/{id}/images/{backup}`: an image backup's files cannot be
/// browsed through the web API; what the server offers instead.
pub async fn image(
    State(state): State<AppState>,
    session: Session,
    Path((name, id, backupid)): Path<(String, i64, i64)>,
) -> Result<Response, PageError> {
    let (t, _) = open(&state, &session, &name, id, None).await?;
    let b = t.image_backup(&state, backupid).await?;
    let web_ui = t.handle().url().trim_end_matches('x').to_owned();
    let page = ImagePage {
        layout: session
            .layout(
                &state,
                format!("Image backup {backupid} of {}", t.client.name()),
                "servers",
                false,
            )
            .await?,
        head: t.head(),
        backup: backup_label(&b),
        size: fmt::bytes(b.size_bytes),
        web_ui,
    };
    Ok(render(&page))
}

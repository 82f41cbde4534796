//! `/servers/{server}/clients/{id}/backups/{backup}/download?path=...` (a file) and
//! `.../zip?path=...` (a folder as the server's ZIP): streamed from the server through the
//! console to the browser, never held; always an attachment that the browser does not render
//! (a backed-up HTML or SVG file must never run in the console's origin).

use super::super::{AppState, PageError, Session};
use super::{audit, entry, open, server_error, PathQuery};
use crate::restore::stream::{self, End};
use crate::store::AuditEntry;
use crate::web::extract::{Path, Query};
use axum::extract::State;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use urbackup::BackupRef;

/// What RFC 5987 (`attr-char`) leaves unescaped in `filename*`: letters, digits and
/// `!#$&+-.^_`|~`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `GET .../download?path=...`: one file.
pub async fn file(
    state: State<AppState>,
    session: Session,
    ids: Path<(String, i64, i64)>,
    q: Query<PathQuery>,
) -> Result<Response, PageError> {
    send(state, session, ids, q, false).await
}

/// `GET .../zip?path=...`: a folder (or the whole backup) as the server's ZIP.
pub async fn zip(
    state: State<AppState>,
    session: Session,
    ids: Path<(String, i64, i64)>,
    q: Query<PathQuery>,
) -> Result<Response, PageError> {
    send(state, session, ids, q, true).await
}

async fn send(
    State(state): State<AppState>,
    session: Session,
    Path((name, id, backupid)): Path<(String, i64, i64)>,
    Query(q): Query<PathQuery>,
    zip: bool,
) -> Result<Response, PageError> {
    let (t, path) = open(&state, &session, &name, id, q.path.as_deref()).await?;
    let b = t.file_backup(&state, backupid).await?;
    // The backup holds it, as a file (or a folder for a ZIP): from its folder's listing.
    let file_name = if path.is_empty() {
        if !zip {
            return Err(PageError::BadRequest(
                "The root is a folder: download it as a ZIP.".into(),
            ));
        }
        t.client.name().to_owned()
    } else {
        let e = entry(&state, &t, &b, &path).await?;
        match (e.dir, zip) {
            (true, false) => {
                return Err(PageError::BadRequest(format!(
                    "“{path}” is a folder: download it as a ZIP."
                )))
            }
            (false, true) => {
                return Err(PageError::BadRequest(format!(
                    "“{path}” is a file: download it as it is."
                )))
            }
            _ => e.name,
        }
    };
    let server = t.handle();
    let download = if zip {
        server
            .download_folder_zip_stream(id, BackupRef::File(backupid), &path)
            .await
    } else {
        server
            .download_file_stream(id, BackupRef::File(backupid), &path)
            .await
    }
    .map_err(|e| server_error("send it", &e))?;
    let what = if zip {
        "downloaded a folder as ZIP"
    } else {
        "downloaded a file"
    };
    let shown = if path.is_empty() {
        "/".to_owned()
    } else {
        path.clone()
    };
    let audit_id = audit(
        &state,
        AuditEntry {
            user: session.name(),
            server: t.server_name(),
            clientid: Some(id),
            backupid: Some(backupid),
            path: Some(&shown),
            action: what,
            ok: false,
            outcome: "running",
            detail: &format!("{shown} from file backup {backupid}: sending"),
            bytes: Some(0),
        },
    )
    .await?;
    let length = download.content_length();
    let store = state.store().clone();
    let body = stream::body(download, move |sent, how| {
        let detail = match &how {
            End::Finished => format!("{shown} from file backup {backupid}: sent whole"),
            End::Broken(why) => format!(
                "{shown} from file backup {backupid}: the server broke it off after {sent} bytes ({why})"
            ),
            End::Cancelled => format!(
                "{shown} from file backup {backupid}: the browser stopped it after {sent} bytes"
            ),
        };
        let ok = how == End::Finished;
        let outcome = how.outcome();
        let write = move || {
            if let Err(e) = store.audit_finish(audit_id, ok, outcome, &detail, Some(sent as i64)) {
                tracing::error!("console: audit of download {audit_id}: {e}");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn_blocking(write);
            }
            Err(_) => write(),
        }
    });
    let file_name = if zip {
        format!("{file_name}.zip")
    } else {
        file_name
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Some(n) = length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
    }
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; frame-ancestors 'none'"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `attachment` with the name as RFC 6266 `filename*` (UTF-8, percent-encoded; a name that
/// is not UTF-8 in the crate's `\xHH` form, as the console shows it) and an ASCII fallback.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' && c != '%' => c,
            _ => '_',
        })
        .collect();
    let encoded = utf8_percent_encode(name, ATTR_CHAR);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn names_go_as_rfc_6266_with_an_ascii_fallback() {
        assert_eq!(
            content_disposition("report 1.pdf"),
            "attachment; filename=\"report 1.pdf\"; filename*=UTF-8''report%201.pdf"
        );
        assert_eq!(
            content_disposition("café \"x\".txt"),
            "attachment; filename=\"caf_ _x_.txt\"; filename*=UTF-8''caf%C3%A9%20%22x%22.txt"
        );
        assert_eq!(
            content_disposition(r"caf\xE9.txt"),
            "attachment; filename=\"caf_xE9.txt\"; filename*=UTF-8''caf%5CxE9.txt"
        );
    }
}

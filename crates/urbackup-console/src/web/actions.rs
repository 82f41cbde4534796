//! What operators do to servers: start a backup, stop a running action. Each says only
//! what the server confirmed, is recorded in the audit trail, and polls the server at once
//! so that the next page shows the new state.

use super::confirm::{self, Question};
use super::extract::{Form, Path};
use super::pages::start_refusal;
use super::{AppState, PageError, Session};
use crate::auth::Role;
use crate::fmt;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::time::Duration;
use urbackup::{ActionType, BackupType};

/// How long an action waits for the poll that shows its effect.
const CONFIRM_WAIT: Duration = Duration::from_secs(6);

#[derive(Deserialize)]
pub struct StartForm {
    csrf: Option<String>,
    kind: String,
}

fn backup_type(kind: &str) -> Option<BackupType> {
    Some(match kind {
        "incr_file" => BackupType::IncrFile,
        "full_file" => BackupType::FullFile,
        "incr_image" => BackupType::IncrImage,
        "full_image" => BackupType::FullImage,
        _ => return None,
    })
}

fn is_backup_of(action: ActionType, image: bool) -> bool {
    use ActionType::*;
    if image {
        matches!(action, IncrImage | FullImage)
    } else {
        matches!(
            action,
            IncrFile | FullFile | ResumedIncrFile | ResumedFullFile
        )
    }
}

/// What the audit trail says of an action, in plain words: `started an incremental file
/// backup`, `stopped the full file backup (activity 1)`. Entries written before these words
/// (`start incr_file`, `stop 1`) are read into them too.
pub fn audit_words(action: &str) -> String {
    if let Some(kind) = action.strip_prefix("start ") {
        if let Some(t) = backup_type(kind) {
            return format!("started {}", with_article(describe(t)));
        }
    }
    if let Some(id) = action.strip_prefix("stop ") {
        if id.parse::<i64>().is_ok() {
            return format!("stopped activity {id}");
        }
    }
    action.to_owned()
}

/// `an incremental file backup`, `a full image backup`.
fn with_article(what: &str) -> String {
    let vowel = what.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {what}", if vowel { "an" } else { "a" })
}

fn describe(t: BackupType) -> &'static str {
    match t {
        BackupType::IncrFile => "incremental file backup",
        BackupType::FullFile => "full file backup",
        BackupType::IncrImage => "incremental image backup",
        BackupType::FullImage => "full image backup",
    }
}

/// `POST /servers/{server}/clients/{id}/backup` (operator): starts a backup.
pub async fn start(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
    Form(form): Form<StartForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Operator)?;
    let kind = backup_type(&form.kind)
        .ok_or_else(|| PageError::BadRequest(format!("Unknown backup kind “{}”.", form.kind)))?;
    let view = session.fleet(&state);
    let (s, c) = view.client(&name, id)?;
    let back = fmt::client_href(&s.name, id);
    let what = describe(kind);
    let (ok, text) = match start_refusal(&c, s.switches, kind.is_image()) {
        refusal if !refusal.is_empty() => (false, format!("Not started: {refusal}")),
        _ => {
            let server = view.handle(&s)?;
            match server.start_backups(&[id], kind).await {
                Err(e) => (false, format!("The server refused the {what}: {e}")),
                Ok(r) if r.is_empty() => (
                    false,
                    format!("The server skipped the {what}: the console's user on that server may not start backups of this client."),
                ),
                Ok(r) if !r[0].start_ok => (
                    false,
                    format!("The server did not start the {what}: the client is not connected to it."),
                ),
                Ok(_) => {
                    let snap = view.poll_now(&s, CONFIRM_WAIT).await;
                    let running = snap.as_ref().and_then(|s| {
                        s.actions.as_ref().and_then(|a| {
                            a.iter()
                                .find(|a| a.clientid == id && is_backup_of(a.action, kind.is_image()))
                                .cloned()
                        })
                    });
                    match running {
                        Some(a) => (
                            true,
                            format!(
                                "{} of {} is running{}.",
                                fmt::capital(&a.action.description()),
                                c.name(),
                                a.percent().map(|p| format!(" ({p}%)")).unwrap_or_default()
                            ),
                        ),
                        None => (
                            true,
                            format!(
                                "The server queued the {what} of {}; it shows under Running once the client starts it.",
                                c.name()
                            ),
                        ),
                    }
                }
            }
        }
    };
    let (user, server, action, detail) = (
        session.name().to_owned(),
        s.name.clone(),
        format!("started {}", with_article(what)),
        text.clone(),
    );
    state
        .db(move |st| st.audit(&user, &server, Some(id), &action, ok, &detail))
        .await?;
    session.flash(&state, ok, text).await?;
    Ok(Redirect::to(&back).into_response())
}

#[derive(Deserialize)]
pub struct StopForm {
    csrf: Option<String>,
    action_id: i64,
    confirm: Option<String>,
}

/// `POST /servers/{server}/clients/{id}/stop` (operator): asks first (a page with the same
/// form and `confirm=yes`), then asks the server to stop a running action of the client,
/// and polls to see it gone.
pub async fn stop(
    State(state): State<AppState>,
    session: Session,
    Path((name, id)): Path<(String, i64)>,
    Form(form): Form<StopForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Operator)?;
    let view = session.fleet(&state);
    let (s, _client) = view.client(&name, id)?;
    let back = fmt::client_href(&s.name, id);
    let action = s
        .actions
        .iter()
        .flat_map(|a| a.iter())
        .find(|a| a.clientid == id && a.id == form.action_id)
        .cloned();
    if !confirm::confirmed(form.confirm.as_deref()) {
        let client = s
            .client(id)
            .map(|c| c.name().to_owned())
            .unwrap_or_else(|| format!("client {id}"));
        let what = action
            .as_ref()
            .map(|a| format!("the {} of {client}", a.action.description()))
            .unwrap_or_else(|| format!("activity {} of {client}", form.action_id));
        return confirm::ask(
            &state,
            &session,
            Question {
                title: "Stop a backup?".into(),
                question: format!("Stop {what} (activity {})?", form.action_id),
                note: "The server ends it now; what it has copied so far is not kept as a backup, and its log says it failed.".into(),
                action: format!("{back}/stop"),
                fields: vec![("action_id", form.action_id.to_string())],
                yes: "Stop it",
                no: "Keep it running",
                cancel_href: back,
            },
        )
        .await;
    }
    let what_stopped = action
        .as_ref()
        .map(|a| format!("the {} (activity {})", a.action.description(), a.id))
        .unwrap_or_else(|| format!("activity {}", form.action_id));
    let (ok, text) = match action {
        None => (
            false,
            "Not stopped: that activity is not running (any more).".to_string(),
        ),
        Some(a) => {
            let server = view.handle(&s)?;
            let what = a.action.description();
            match server.stop_action_ids(id, a.id).await {
                Err(e) => (false, format!("The server refused to stop the {what}: {e}")),
                Ok(false) => (
                    false,
                    format!("The server did not accept the stop of the {what}: the console's user on that server may not stop it."),
                ),
                Ok(true) => {
                    let snap = view.poll_now(&s, CONFIRM_WAIT).await;
                    let still = snap.as_ref().is_some_and(|s| {
                        s.actions
                            .iter()
                            .flat_map(|x| x.iter())
                            .any(|x| x.clientid == id && x.id == a.id)
                    });
                    if still {
                        (
                            true,
                            format!("The server accepted the stop of the {what}; it is still winding down."),
                        )
                    } else {
                        (true, format!("{} stopped.", fmt::capital(&what)))
                    }
                }
            }
        }
    };
    let (user, server, detail) = (session.name().to_owned(), s.name.clone(), text.clone());
    let action_name = format!("stopped {what_stopped}");
    state
        .db(move |st| st.audit(&user, &server, Some(id), &action_name, ok, &detail))
        .await?;
    session.flash(&state, ok, text).await?;
    Ok(Redirect::to(&back).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_trail_in_plain_words() {
        assert_eq!(
            audit_words("start incr_file"),
            "started an incremental file backup"
        );
        assert_eq!(
            audit_words("start full_image"),
            "started a full image backup"
        );
        assert_eq!(audit_words("stop 1"), "stopped activity 1");
        let words = "stopped the full file backup (activity 2)";
        assert_eq!(audit_words(words), words);
    }
}

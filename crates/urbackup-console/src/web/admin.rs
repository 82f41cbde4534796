//! Console users and their sessions, for admins.

use super::confirm::{self, Question};
use super::extract::Form;
use super::{render, AppState, Layout, PageError, Session, SECURITY};
use crate::auth::{Role, Scope, MIN_PASSWORD_LEN};
use crate::fmt;
use crate::store::{check_new_user, StoreError, UserSource};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

pub struct UserLine {
    name: String,
    role: &'static str,
    role_options: Vec<(&'static str, bool)>,
    created: String,
    password_changed: String,
    is_me: bool,
    directory: bool,
    /// What the user sees, in words.
    scope: String,
    scoped: bool,
    servers: String,
    groups: String,
    totp: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    roles: Vec<&'static str>,
    min_password: usize,
    changes: Vec<ChangeLine>,
    /// The servers of this console (for the scope fields).
    server_names: String,
    directory: bool,
    require_totp: bool,
}

pub struct ChangeLine {
    time: String,
    by: String,
    what: String,
}

/// `/admin/users`.
pub async fn page(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let (users, changes) = state.db(|s| Ok((s.users()?, s.users_audit(20)?))).await?;
    let me = session.info.user.id;
    let server_names = session
        .fleet(&state)
        .snapshot()
        .servers
        .iter()
        .map(|s| s.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let page = UsersPage {
        layout: session
            .layout(&state, "Users".into(), "users", false)
            .await?,
        users: users
            .into_iter()
            .map(|u| UserLine {
                is_me: u.id == me,
                role: u.role.as_str(),
                role_options: Role::ALL
                    .iter()
                    .map(|r| (r.as_str(), *r == u.role))
                    .collect(),
                created: fmt::time(u.created),
                password_changed: if u.source == UserSource::Directory {
                    "(directory)".into()
                } else {
                    fmt::time(u.password_changed)
                },
                directory: u.source == UserSource::Directory,
                scope: if u.role == Role::Admin {
                    "every server (admin)".into()
                } else {
                    u.scope.describe()
                },
                scoped: !u.scope.is_all(),
                servers: u.scope.servers_text(),
                groups: u.scope.groups_text(),
                totp: u.totp,
                name: u.name,
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        min_password: MIN_PASSWORD_LEN,
        changes: changes
            .into_iter()
            .map(|a| ChangeLine {
                time: fmt::time(a.time),
                by: a.user,
                what: a.detail,
            })
            .collect(),
        server_names,
        directory: state.config().directory.is_some(),
        require_totp: state.config().require_totp,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    name: String,
    role: Option<String>,
    password: Option<String>,
    /// Comma-separated server names (empty: every server).
    servers: Option<String>,
    /// Comma-separated group names (empty: every group).
    groups: Option<String>,
    confirm: Option<String>,
}

fn parse_scope(form: &UserForm) -> Result<Scope, String> {
    Scope::from_lists(form.servers.as_deref(), form.groups.as_deref())
}

/// Runs one user change for an admin (`f` gets the admin's name, for the audit trail) and
/// comes back to the users page with its outcome.
async fn change(
    state: AppState,
    session: Session,
    form: &UserForm,
    done: String,
    f: impl FnOnce(&crate::Store, &str) -> Result<(), StoreError> + Send + 'static,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Admin)?;
    let store = state.store().clone();
    let by = session.name().to_owned();
    let r = tokio::task::spawn_blocking(move || f(&store, &by))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    match r {
        Ok(()) => {
            tracing::info!(target: SECURITY, admin = %session.name().escape_debug(), "{}", done.escape_debug());
            session.flash(&state, true, done).await?
        }
        Err(StoreError::Sqlite(e)) => return Err(PageError::Internal(e.to_string())),
        Err(e) => session.flash(&state, false, e.to_string()).await?,
    }
    Ok(Redirect::to("/admin/users").into_response())
}

fn parse_role(form: &UserForm) -> Result<Role, PageError> {
    form.role
        .as_deref()
        .unwrap_or("")
        .parse()
        .map_err(PageError::BadRequest)
}

/// Adds a user.
pub async fn add(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    let r = parse_role(&form)?;
    let (name, pw) = (
        form.name.trim().to_owned(),
        form.password.clone().unwrap_or_default(),
    );
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Admin)?;
    let scope = match check_new_user(&name, &pw)
        .map_err(|e| e.to_string())
        .and_then(|()| parse_scope(&form))
    {
        Ok(scope) if r == Role::Admin && !scope.is_all() => {
            session
                .flash(
                    &state,
                    false,
                    "Admins see every server: leave the servers and groups empty for an admin."
                        .into(),
                )
                .await?;
            return Ok(Redirect::to("/admin/users").into_response());
        }
        Ok(scope) => scope,
        Err(e) => {
            session.flash(&state, false, e).await?;
            return Ok(Redirect::to("/admin/users").into_response());
        }
    };
    let hash = state.hash_password(pw).await?;
    let done = if scope.is_all() {
        format!("Added {name} ({r}).")
    } else {
        format!("Added {name} ({r}; sees {}).", scope.describe())
    };
    change(state, session, &form, done, move |s, by| {
        s.add_user_hashed_scoped(by, &name, r, &hash, &scope)
    })
    .await
}

/// Removes a user (not oneself, not the last admin), after asking.
pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    if form.name != session.name() && !confirm::confirmed(form.confirm.as_deref()) {
        session.check_csrf(form.csrf.as_deref())?;
        session.require(Role::Admin)?;
        return confirm::ask(
            &state,
            &session,
            Question {
                title: "Remove a user?".into(),
                question: format!("Remove the console user “{}”?", form.name),
                note: "Their sessions end at once; a user of that name can be added again later."
                    .into(),
                action: "/admin/users/remove".into(),
                fields: vec![("name", form.name.clone())],
                yes: "Remove",
                no: "Keep",
                cancel_href: "/admin/users".into(),
            },
        )
        .await;
    }
    if form.name == session.name() {
        session.check_csrf(form.csrf.as_deref())?;
        session
            .flash(&state, false, "You cannot remove yourself.".into())
            .await?;
        return Ok(Redirect::to("/admin/users").into_response());
    }
    let name = form.name.clone();
    let done = format!("Removed {name}.");
    change(state, session, &form, done, move |s, by| {
        s.remove_user_by(by, &name)
    })
    .await
}

/// Changes a user's role (the last admin stays admin).
pub async fn role(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    let r = parse_role(&form)?;
    let name = form.name.clone();
    let done = format!("{name} is now {r}.");
    change(state, session, &form, done, move |s, by| {
        s.set_role_by(by, &name, r)
    })
    .await
}

/// Sets a user's password (their sessions end).
pub async fn password(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let (name, pw) = (form.name.clone(), form.password.clone().unwrap_or_default());
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Admin)?;
    if let Err(e) = crate::auth::check_new_password(&name, &pw) {
        session.flash(&state, false, e).await?;
        return Ok(Redirect::to("/admin/users").into_response());
    }
    let hash = state.hash_password(pw).await?;
    let done = format!("Password of {name} set; their sessions ended.");
    change(state, session, &form, done, move |s, by| {
        s.set_password_hashed(by, &name, &hash).map(|_| ())
    })
    .await
}

/// Sets a user's scope (takes effect at their next request).
pub async fn scope(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Admin)?;
    let scope = match parse_scope(&form) {
        Ok(s) => s,
        Err(e) => {
            session.flash(&state, false, e).await?;
            return Ok(Redirect::to("/admin/users").into_response());
        }
    };
    let name = form.name.clone();
    let done = format!("{name} now sees {}.", scope.describe());
    change(state, session, &form, done, move |s, by| {
        s.set_scope_by(by, &name, &scope)
    })
    .await
}

/// Removes a user's second factor (their sessions end; under `--require-totp` they set up a
/// new one at their next login).
pub async fn totp_reset(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let name = form.name.clone();
    let done = format!("Second factor of {name} removed; their sessions ended.");
    change(state, session, &form, done, move |s, by| {
        s.totp_reset_by(by, &name)
    })
    .await
}

pub struct SessionLine {
    public_id: String,
    user: String,
    addr: String,
    since: String,
    last_seen: String,
    is_mine: bool,
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionLine>,
}

/// `/admin/sessions`: the open sessions (user, address of the login, since, last request),
/// each with a button to end it.
pub async fn sessions(
    State(state): State<AppState>,
    session: Session,
) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let now = urbackup_fleet::unix_now();
    let rows = state.db(move |s| s.sessions(now)).await?;
    let mine = session.info.public_id.clone();
    let page = SessionsPage {
        layout: session
            .layout(&state, "Sessions".into(), "sessions", false)
            .await?,
        sessions: rows
            .into_iter()
            .map(|r| SessionLine {
                is_mine: r.public_id == mine,
                since: fmt::time(r.created),
                last_seen: fmt::ago(r.last_seen, now),
                addr: if r.addr.is_empty() {
                    "—".into()
                } else {
                    r.addr
                },
                user: r.user,
                public_id: r.public_id,
            })
            .collect(),
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct EndForm {
    csrf: Option<String>,
    id: Option<String>,
}

/// Ends a session (its user's next request goes to the login page).
pub async fn end_session(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<EndForm>,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Admin)?;
    let id = form.id.unwrap_or_default();
    let by = session.name().to_owned();
    let ended = state.db(move |s| s.end_session_by(&by, &id)).await?;
    match ended {
        Some(user) => {
            tracing::info!(target: SECURITY, admin = %session.name().escape_debug(), user = %user.escape_debug(), "console session ended by an admin");
            session
                .flash(&state, true, format!("Session of {user} ended."))
                .await?;
        }
        None => {
            session
                .flash(&state, false, "That session had ended already.".into())
                .await?
        }
    }
    Ok(Redirect::to("/admin/sessions").into_response())
}

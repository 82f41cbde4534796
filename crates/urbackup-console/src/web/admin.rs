//! Console users, for admins.

use super::confirm::{self, Question};
use super::extract::Form;
use super::{render, AppState, Layout, PageError, Session};
use crate::auth::{Role, MIN_PASSWORD_LEN};
use crate::fmt;
use crate::store::StoreError;
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
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserLine>,
    roles: Vec<&'static str>,
    min_password: usize,
}

/// `/admin/users`.
pub async fn page(State(state): State<AppState>, session: Session) -> Result<Response, PageError> {
    session.require(Role::Admin)?;
    let users = state.db(|s| s.users()).await?;
    let me = session.info.user.id;
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
                password_changed: fmt::time(u.password_changed),
                name: u.name,
            })
            .collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        min_password: MIN_PASSWORD_LEN,
    };
    Ok(render(&page))
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: Option<String>,
    name: String,
    role: Option<String>,
    password: Option<String>,
    confirm: Option<String>,
}

/// Runs one user change for an admin and comes back to the users page with its outcome.
async fn change(
    state: AppState,
    session: Session,
    form: &UserForm,
    done: String,
    f: impl FnOnce(&crate::Store) -> Result<(), StoreError> + Send + 'static,
) -> Result<Response, PageError> {
    session.check_csrf(form.csrf.as_deref())?;
    session.require(Role::Admin)?;
    let store = state.store().clone();
    let r = tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    match r {
        Ok(()) => {
            tracing::info!(admin = %session.name(), "{done}");
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
    let done = format!("Added {name} ({r}).");
    change(state, session, &form, done, move |s| {
        s.add_user(&name, r, &pw)
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
    change(state, session, &form, done, move |s| s.remove_user(&name)).await
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
    change(state, session, &form, done, move |s| s.set_role(&name, r)).await
}

/// Sets a user's password (their sessions end).
pub async fn password(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<UserForm>,
) -> Result<Response, PageError> {
    let (name, pw) = (form.name.clone(), form.password.clone().unwrap_or_default());
    let done = format!("Password of {name} set; their sessions ended.");
    change(state, session, &form, done, move |s| {
        s.set_password(&name, &pw)
    })
    .await
}

//! Logging in and out, and the theme preference.

use super::extract::{Form, Query};
use super::{
    client_addr, cookie, local_path, peer, render, set_cookie, theme_of, AppState, PageError,
    Session, LOGIN_COOKIE, SESSION_COOKIE, THEME_COOKIE,
};
use crate::auth;
use crate::store::SESSION_MAX_SECS;
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::time::Instant;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    theme: &'static str,
    version: &'static str,
    csrf: String,
    next: String,
    username: String,
    message: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The login form, with a fresh login token in a cookie and in the form (double submit:
/// another site can neither read the cookie nor set it).
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_page(&state, &headers, q.next.as_deref().unwrap_or("/"), "", "")
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    message: &str,
) -> Response {
    let token = auth::random_token();
    let page = LoginPage {
        theme: theme_of(headers),
        version: env!("CARGO_PKG_VERSION"),
        csrf: token.clone(),
        next: local_path(next).to_owned(),
        username: username.to_owned(),
        message: message.to_owned(),
    };
    let mut res = render(&page);
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_COOKIE, &token, Some(3600)),
    );
    res
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: Option<String>,
    next: Option<String>,
}

/// Where the request came from, for the login limit.
pub struct Peer(std::net::IpAddr);

impl FromRequestParts<AppState> for Peer {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Peer, PageError> {
        Ok(Peer(client_addr(state, &parts.headers, peer(parts))))
    }
}

/// Checks the login token, the limit on failed logins and the password; on success starts a
/// session and goes to `next`.
pub async fn submit(
    State(state): State<AppState>,
    Peer(addr): Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    match f.csrf.as_deref() {
        Some(t) if !expected.is_empty() && auth::same_secret(t, expected) => {}
        Some(t) if !t.is_empty() && !expected.is_empty() => {
            return Err(PageError::Forbidden(
                "Refused: the login form's security token is not the one this browser was given (the login page is from another tab, or older than an hour). Reload the login page."
                    .into(),
            ))
        }
        _ => {
            return Err(PageError::Forbidden(
                "Refused: the login form is missing its security token (reload the login page; cookies must be on)."
                    .into(),
            ))
        }
    }
    let next = local_path(f.next.as_deref().unwrap_or("/")).to_owned();
    let user = f.username.trim().to_owned();
    if let Some(wait) = state.0.limiter.blocked(addr, &user, Instant::now()) {
        return Err(PageError::TooMany(format!(
            "Too many failed logins. Try again in {}.",
            crate::fmt::span(wait.as_secs() as i64 + 1)
        )));
    }
    let (name, password) = (user.clone(), f.password);
    let found = state.db(move |s| s.check_login(&name, &password)).await?;
    let Some(found) = found else {
        state.0.limiter.failed(addr, &user, Instant::now());
        tracing::warn!(user = %user.escape_debug(), %addr, "console login failed");
        let mut res = login_page(
            &state,
            &headers,
            &next,
            &user,
            "Wrong user name or password.",
        );
        *res.status_mut() = axum::http::StatusCode::UNAUTHORIZED;
        return Ok(res);
    };
    state.0.limiter.succeeded(addr);
    let now = urbackup_fleet::unix_now();
    let token = state.db(move |s| s.create_session(found.id, now)).await?;
    tracing::info!(user = %user, %addr, "console login");
    let mut res = Redirect::to(&next).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, &token, Some(SESSION_MAX_SECS)),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(&state, LOGIN_COOKIE, "", Some(0)),
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// Ends the session.
pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(f.csrf.as_deref())?;
    let hash = session.info.token_hash.clone();
    state.db(move |s| s.delete_session(&hash)).await?;
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", Some(0)),
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct ThemeForm {
    csrf: Option<String>,
    theme: String,
    back: Option<String>,
}

/// Stores the theme preference in a cookie and goes back.
pub async fn theme(
    State(state): State<AppState>,
    session: Session,
    Form(f): Form<ThemeForm>,
) -> Result<Response, PageError> {
    session.check_csrf(f.csrf.as_deref())?;
    let theme = match f.theme.as_str() {
        "light" => "light",
        "dark" => "dark",
        _ => "auto",
    };
    let mut res = Redirect::to(local_path(f.back.as_deref().unwrap_or("/"))).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, THEME_COOKIE, theme, Some(365 * 86_400)),
    );
    Ok(res)
}

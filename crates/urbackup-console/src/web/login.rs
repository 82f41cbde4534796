//! Logging in and out, and the theme preference.
//!
//! A login runs the limits of [`crate::auth::limit`] before anything else (counted before the
//! password is checked), then checks the password on the bounded [`crate::auth::Hasher`], and
//! logs every failure and refusal (target [`super::SECURITY`]).

use super::{
    client_addr, cookie, local_path, peer, render, set_cookie, theme_of, AppState, PageError,
    Session, LOGIN_COOKIE, SECURITY, SESSION_COOKIE, THEME_COOKIE,
};
use crate::auth::{self, Refusal};
use crate::store::SESSION_MAX_SECS;
use askama::Template;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::time::{Duration, Instant};

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
) -> Result<Response, PageError> {
    let next = local_path(q.next.as_deref().unwrap_or("/"))?;
    Ok(login_page(&state, &headers, &next, "", "", StatusCode::OK))
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    username: &str,
    message: &str,
    status: StatusCode,
) -> Response {
    let token = auth::random_token();
    let page = LoginPage {
        theme: theme_of(state, headers),
        version: env!("CARGO_PKG_VERSION"),
        csrf: token.clone(),
        next: next.to_owned(),
        username: username.to_owned(),
        message: message.to_owned(),
    };
    let mut res = render(&page);
    *res.status_mut() = status;
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
    /// "Keep me logged in": the session cookie outlives the browser session.
    remember: Option<String>,
}

/// Where the request came from, for the login limit.
pub struct Peer(std::net::IpAddr);

impl FromRequestParts<AppState> for Peer {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Peer, PageError> {
        Ok(Peer(client_addr(state, &parts.headers, peer(parts))))
    }
}

/// `N s`, `N min` for a wait.
fn wait_words(d: Duration) -> String {
    crate::fmt::span(d.as_secs() as i64 + 1)
}

/// Checks the login token, the login limits and the password; on success starts a session
/// (ending the one the browser had) and goes to `next`.
pub async fn submit(
    State(state): State<AppState>,
    Peer(addr): Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let expected = cookie(&state, &headers, LOGIN_COOKIE).unwrap_or("");
    match f.csrf.as_deref() {
        Some(t) if !expected.is_empty() && auth::same_secret(t, expected) => {}
        Some(_) if !expected.is_empty() => {
            return Err(PageError::Forbidden(
                "Refused: the login form's security token does not match (the form is older than the last one this browser loaded). Reload the login page and try again."
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
    let next = local_path(f.next.as_deref().unwrap_or("/"))?;
    let user = f.username.trim().to_owned();
    let shown = user.escape_debug().to_string();
    let page = |message: &str, status: StatusCode| {
        login_page(&state, &headers, &next, &user, message, status)
    };

    // The limits, before anything is checked: the attempt is counted from here on.
    let ticket = match state.0.limiter.begin(addr, &user, Instant::now()) {
        Ok(t) => t,
        Err(refusal) => {
            let (status, message, retry) = match refusal {
                Refusal::Address(wait) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed logins from your address. Try again in {}.", wait_words(wait)),
                    wait,
                ),
                Refusal::InFlight => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "Another login from your address is being checked. Try again in a moment.".to_string(),
                    Duration::from_secs(1),
                ),
                Refusal::User(wait) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("Too many failed logins for this user name from addresses that failed too. Try again in {}.", wait_words(wait)),
                    wait,
                ),
                Refusal::Busy(wait) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The console is busy with logins. Try again in a few seconds.".to_string(),
                    wait,
                ),
            };
            tracing::warn!(target: SECURITY, user = %shown, %addr, reason = ?refusal, "console login refused");
            let mut res = page(&message, status);
            if let Ok(v) = HeaderValue::from_str(&(retry.as_secs() + 1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(res);
        }
    };
    if !ticket.wait().is_zero() {
        tracing::info!(target: SECURITY, user = %shown, %addr, wait_secs = ticket.wait().as_secs(), "console login slowed down");
    }
    // This user name's turn (one check at a time; slowed down after many failures).
    let _turn = ticket.turn().await;

    let password = f.password;
    let found = if password.is_empty() || password.chars().count() > auth::MAX_PASSWORD_LEN {
        // Refused without hashing (still counted).
        None
    } else {
        let name = user.clone();
        let found = state.db(move |s| s.login_hash(&name)).await?;
        let hash = found.as_ref().map(|(_, h)| h.clone());
        match state.0.hasher.verify(password, hash).await {
            Ok(true) => found.map(|(u, _)| u),
            Ok(false) => None,
            Err(auth::Busy) => {
                ticket.not_counted();
                tracing::warn!(target: SECURITY, user = %shown, %addr, "console login refused: the password checks are busy");
                return Ok(page(
                    "The console is busy checking passwords. Try again in a few seconds.",
                    StatusCode::SERVICE_UNAVAILABLE,
                ));
            }
        }
    };
    let Some(found) = found else {
        let at_limit = ticket.failed();
        tracing::warn!(target: SECURITY, user = %shown, %addr, "console login failed");
        if at_limit {
            tracing::warn!(target: SECURITY, %addr, "login limit reached: this address is refused for {}", crate::fmt::span(auth::limit::WINDOW.as_secs() as i64));
        }
        return Ok(page(
            "Wrong user name or password.",
            StatusCode::UNAUTHORIZED,
        ));
    };
    ticket.succeeded();

    let now = urbackup_fleet::unix_now();
    let old = cookie(&state, &headers, SESSION_COOKIE).map(str::to_owned);
    let token = state
        .db(move |s| {
            if let Some(old) = old {
                s.end_session(&old)?;
            }
            s.create_session(found.id, now)
        })
        .await?;
    tracing::info!(target: SECURITY, user = %shown, %addr, "console login");
    let remember = f.remember.is_some_and(|v| !v.is_empty());
    let mut res = Redirect::to(&next).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            &state,
            SESSION_COOKIE,
            &token,
            remember.then_some(SESSION_MAX_SECS),
        ),
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
    tracing::info!(target: SECURITY, user = %session.name().escape_debug(), "console logout: session ended");
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
    let mut res = Redirect::to(&local_path(f.back.as_deref().unwrap_or("/"))?).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, THEME_COOKIE, theme, Some(365 * 86_400)),
    );
    Ok(res)
}

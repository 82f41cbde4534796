//! Logging in and out, and the theme preference.
//!
//! A login runs the limits of [`crate::auth::limit`] before anything else (counted before the
//! password is checked), then checks the password through [`crate::auth::Authenticator`] (a
//! local user's on the bounded Argon2 hasher, a directory user's with the directory), then for
//! a user with a second factor asks for the code on a second page (counted by the same
//! limits), and logs every failure and refusal (target [`super::SECURITY`]).

use super::extract::{Form, Query};
use super::{
    client_addr, cookie, local_path, peer, render, set_cookie, theme_of, AppState, EnrolSession,
    PageError, LOGIN_COOKIE, PENDING_COOKIE, SECURITY, SESSION_COOKIE, THEME_COOKIE,
};
use crate::auth::{self, Refusal, SecondFactor, Verdict};
use crate::store::{Flash, UserInfo, SESSION_MAX_SECS};
use askama::Template;
use axum::extract::{FromRequestParts, State};
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

/// Checks the login form's token (double submit: the cookie and the form must hold the same).
fn check_login_token(
    state: &AppState,
    headers: &HeaderMap,
    sent: Option<&str>,
) -> Result<(), PageError> {
    let expected = cookie(state, headers, LOGIN_COOKIE).unwrap_or("");
    match sent {
        Some(t) if !expected.is_empty() && auth::same_secret(t, expected) => Ok(()),
        Some(_) if !expected.is_empty() => Err(PageError::Forbidden(
            "Refused: the login form's security token does not match (the form is older than the last one this browser loaded). Reload the login page and try again."
                .into(),
        )),
        _ => Err(PageError::Forbidden(
            "Refused: the login form is missing its security token (reload the login page; cookies must be on)."
                .into(),
        )),
    }
}

/// The answer to an attempt the login limit refused (nothing was checked): `page` renders the
/// form again with a message and a status.
fn refused(
    refusal: Refusal,
    shown: &str,
    addr: std::net::IpAddr,
    page: impl Fn(&str, StatusCode) -> Response,
) -> Response {
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
    res
}

/// Logs a counted failure (and an address reaching its limit).
fn log_failure(at_limit: bool, shown: &str, addr: std::net::IpAddr, what: &str) {
    tracing::warn!(target: SECURITY, user = %shown, %addr, "console login failed: {what}");
    if at_limit {
        tracing::warn!(target: SECURITY, %addr, "login limit reached: this address is refused for {}", crate::fmt::span(auth::limit::WINDOW.as_secs() as i64));
    }
}

/// Starts a session for a user who passed every check (ending the one the browser had) and
/// goes to `next`; `flash` is a message for the first page.
async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    user: &UserInfo,
    addr: std::net::IpAddr,
    remember: bool,
    next: &str,
    flash: Option<String>,
) -> Result<Response, PageError> {
    let now = urbackup_fleet::unix_now();
    let old = cookie(state, headers, SESSION_COOKIE).map(str::to_owned);
    let (id, from) = (user.id, addr.to_string());
    let token = state
        .db(move |s| {
            if let Some(old) = old {
                s.end_session(&old)?;
            }
            let token = s.create_session_from(id, now, &from)?;
            if let Some(text) = flash {
                s.set_flash(&auth::token_hash(&token), &Flash { ok: true, text })?;
            }
            Ok(token)
        })
        .await?;
    tracing::info!(target: SECURITY, user = %user.name.escape_debug(), %addr, source = user.source.as_str(), "console login");
    let mut res = Redirect::to(next).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        set_cookie(
            state,
            SESSION_COOKIE,
            &token,
            remember.then_some(SESSION_MAX_SECS),
        ),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_COOKIE, "", Some(0)),
    );
    h.append(
        header::SET_COOKIE,
        set_cookie(state, PENDING_COOKIE, "", Some(0)),
    );
    Ok(res)
}

/// Checks the login token, the login limits and the password (through the one door,
/// [`auth::Authenticator`]: a local user's hash, or the directory); then starts a session, or
/// for a user with a second factor asks for the code ([`code_form`]).
pub async fn submit(
    State(state): State<AppState>,
    Peer(addr): Peer,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    check_login_token(&state, &headers, f.csrf.as_deref())?;
    let next = local_path(f.next.as_deref().unwrap_or("/"))?;
    let user = f.username.trim().to_owned();
    let shown = user.escape_debug().to_string();
    let page = |message: &str, status: StatusCode| {
        login_page(&state, &headers, &next, &user, message, status)
    };

    // The limits, before anything is checked: the attempt is counted from here on.
    let ticket = match state.limiter().begin(addr, &user, Instant::now()) {
        Ok(t) => t,
        Err(refusal) => return Ok(refused(refusal, &shown, addr, page)),
    };
    if !ticket.wait().is_zero() {
        tracing::info!(target: SECURITY, user = %shown, %addr, wait_secs = ticket.wait().as_secs(), "console login slowed down");
    }
    // This user name's turn (one check at a time; slowed down after many failures).
    let _turn = ticket.turn().await;

    let verdict = state
        .auth()
        .password(state.store(), &user, f.password)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let remember = f.remember.is_some_and(|v| !v.is_empty());
    match verdict {
        Verdict::Accepted(found) if found.totp => {
            // The second factor is due: this attempt counts neither way, the code's does.
            ticket.first_factor_passed();
            let (id, pending_next) = (found.id, next.clone());
            let now = urbackup_fleet::unix_now();
            let token = state
                .db(move |s| s.pending_login(id, now, remember, &pending_next))
                .await?;
            tracing::info!(target: SECURITY, user = %shown, %addr, "console login: password right, second factor due");
            let mut res = Redirect::to("/login/code").into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    &state,
                    PENDING_COOKIE,
                    &token,
                    Some(crate::store::PENDING_LOGIN_SECS),
                ),
            );
            Ok(res)
        }
        Verdict::Accepted(found) => {
            ticket.succeeded();
            start_session(&state, &headers, &found, addr, remember, &next, None).await
        }
        Verdict::Wrong => {
            log_failure(ticket.failed(), &shown, addr, "wrong user name or password");
            Ok(page(
                "Wrong user name or password.",
                StatusCode::UNAUTHORIZED,
            ))
        }
        Verdict::NoAccess(message) => {
            log_failure(ticket.failed(), &shown, addr, &message);
            Ok(page(&message, StatusCode::FORBIDDEN))
        }
        Verdict::Busy => {
            ticket.not_counted();
            tracing::warn!(target: SECURITY, user = %shown, %addr, "console login refused: the password checks are busy");
            Ok(page(
                "The console is busy checking passwords. Try again in a few seconds.",
                StatusCode::SERVICE_UNAVAILABLE,
            ))
        }
        Verdict::DirectoryUnavailable => {
            ticket.not_counted();
            Ok(page(
                "The directory that checks this login cannot be reached. Try again later, or ask the console's administrator.",
                StatusCode::SERVICE_UNAVAILABLE,
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    theme: &'static str,
    version: &'static str,
    csrf: String,
    username: String,
    message: String,
}

/// The second step of a login: the form for the code (with a fresh login token, as the first).
fn code_page(
    state: &AppState,
    headers: &HeaderMap,
    username: &str,
    message: &str,
    status: StatusCode,
) -> Response {
    let token = auth::random_token();
    let page = CodePage {
        theme: theme_of(state, headers),
        version: env!("CARGO_PKG_VERSION"),
        csrf: token.clone(),
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

/// The login waiting for its code, from its cookie.
async fn pending(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, crate::store::PendingLogin)>, PageError> {
    let Some(token) = cookie(state, headers, PENDING_COOKIE).map(str::to_owned) else {
        return Ok(None);
    };
    let now = urbackup_fleet::unix_now();
    let t = token.clone();
    Ok(state
        .db(move |s| s.pending(&t, now))
        .await?
        .map(|p| (token, p)))
}

/// The login page again, the waiting login forgotten.
fn start_again(state: &AppState, headers: &HeaderMap, next: &str, message: &str) -> Response {
    let mut res = login_page(state, headers, next, "", message, StatusCode::UNAUTHORIZED);
    res.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, PENDING_COOKIE, "", Some(0)),
    );
    res
}

/// `GET /login/code`: the code's form, while a login waits for it.
pub async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    Ok(match pending(&state, &headers).await? {
        Some((_, p)) => code_page(&state, &headers, &p.user.name, "", StatusCode::OK),
        None => Redirect::to("/login").into_response(),
    })
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: Option<String>,
    csrf: Option<String>,
}

/// `POST /login/code`: the second factor, counted by the login limit like a password (a wrong
/// code is a failure of the address and the user name). A login may send
/// [`crate::store::PENDING_LOGIN_FAILURES`] wrong codes, then its password must be typed again.
pub async fn code_submit(
    State(state): State<AppState>,
    Peer(addr): Peer,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, PageError> {
    check_login_token(&state, &headers, f.csrf.as_deref())?;
    let Some((token, p)) = pending(&state, &headers).await? else {
        return Ok(start_again(
            &state,
            &headers,
            "/",
            "This login waited too long for its code, or had too many wrong codes. Log in again.",
        ));
    };
    let user = p.user.name.clone();
    let shown = user.escape_debug().to_string();
    let page =
        |message: &str, status: StatusCode| code_page(&state, &headers, &user, message, status);
    let ticket = match state.limiter().begin(addr, &user, Instant::now()) {
        Ok(t) => t,
        Err(refusal) => return Ok(refused(refusal, &shown, addr, page)),
    };
    let _turn = ticket.turn().await;
    let now = urbackup_fleet::unix_now();
    let outcome = state
        .auth()
        .second_factor(
            state.store(),
            &p.user,
            f.code.as_deref().unwrap_or(""),
            now.max(0) as u64,
        )
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    match outcome {
        SecondFactor::Wrong => {
            log_failure(ticket.failed(), &shown, addr, "wrong second-factor code");
            let t = token.clone();
            let spent = state.db(move |s| s.pending_failed(&t)).await?;
            if spent {
                return Ok(start_again(
                    &state,
                    &headers,
                    &p.next,
                    "Too many wrong codes. Log in again.",
                ));
            }
            Ok(page(
                "Wrong code (or one used already). Try the code your app shows now.",
                StatusCode::UNAUTHORIZED,
            ))
        }
        ok => {
            ticket.succeeded();
            let t = token.clone();
            let id = p.user.id;
            let left = state
                .db(move |s| {
                    s.pending_done(&t)?;
                    Ok(s.totp_state(id)?.recovery_left)
                })
                .await?;
            let flash = (ok == SecondFactor::RecoveryCode).then(|| {
                tracing::info!(target: SECURITY, user = %shown, %addr, "console login with a recovery code");
                format!(
                    "You logged in with a recovery code; {left} left. Set up the second factor again on your account page if you lost your app."
                )
            });
            start_session(&state, &headers, &p.user, addr, p.remember, &p.next, flash).await
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// Ends the session.
pub async fn logout(
    State(state): State<AppState>,
    EnrolSession(session): EnrolSession,
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
    EnrolSession(session): EnrolSession,
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

//! `/account`: the user's own page (who they are, what they see), and the enrolment of the
//! second factor (TOTP): a secret drawn as a QR code (an SVG element of the page) and as text,
//! confirmed by a first code, then one-time recovery codes shown once.

use super::extract::Form;
use super::{render, AppState, EnrolSession, Layout, PageError, Session};
use crate::auth::{totp, Role};
use crate::store::UserSource;
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    name: String,
    role: &'static str,
    scope: String,
    directory: bool,
    totp: bool,
    recovery_left: i64,
    require_totp: bool,
}

/// `/account`.
pub async fn page(
    State(state): State<AppState>,
    EnrolSession(session): EnrolSession,
) -> Result<Response, PageError> {
    let user = session.info.user.clone();
    let id = user.id;
    let st = state.db(move |s| s.totp_state(id)).await?;
    let page = AccountPage {
        layout: session
            .layout(&state, "Your account".into(), "account", false)
            .await?,
        role: user.role.as_str(),
        scope: if user.role == Role::Admin {
            "every server (admins see everything)".into()
        } else {
            user.scope.describe()
        },
        directory: user.source == UserSource::Directory,
        totp: user.totp,
        recovery_left: st.recovery_left,
        require_totp: state.config().require_totp,
        name: user.name,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    layout: Layout,
    /// The QR code (an `<svg>` element made by [`totp::qr_svg`]: shapes only), empty before
    /// the enrolment starts.
    qr: String,
    secret: String,
    has_totp: bool,
    required: bool,
    /// Shown once, after the confirmation.
    recovery: Vec<String>,
}

/// `/account/totp`: the enrolment (forced here under `--require-totp`).
pub async fn enrol_page(
    State(state): State<AppState>,
    EnrolSession(session): EnrolSession,
) -> Result<Response, PageError> {
    refuse_directory(&session)?;
    let id = session.info.user.id;
    let st = state.db(move |s| s.totp_state(id)).await?;
    let (qr, secret) = match st.pending.as_deref().and_then(totp::secret_bytes) {
        Some(bytes) => {
            let url = totp::otpauth_url(&bytes, &session.info.user.name);
            let qr = totp::qr_svg(&url)
                .ok_or_else(|| PageError::Internal("cannot draw the QR code".into()))?;
            (qr, spaced(&totp::secret_text(&bytes)))
        }
        None => (String::new(), String::new()),
    };
    let page = EnrolPage {
        has_totp: session.info.user.totp,
        required: session.must_enrol(&state),
        layout: session
            .layout(&state, "Second factor".into(), "account", false)
            .await?,
        qr,
        secret,
        recovery: Vec::new(),
    };
    Ok(render(&page))
}

/// The secret in groups of four, as people type it.
fn spaced(s: &str) -> String {
    s.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn refuse_directory(session: &Session) -> Result<(), PageError> {
    if session.info.user.source == UserSource::Directory {
        return Err(PageError::Forbidden(
            "Directory users log in with their directory's password; the console's second factor is for its local users."
                .into(),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

/// `POST /account/totp/start`: a new secret to enrol (the current second factor, if any, stays
/// until the new one is confirmed).
pub async fn enrol_start(
    State(state): State<AppState>,
    EnrolSession(session): EnrolSession,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    session.check_csrf(f.csrf.as_deref())?;
    refuse_directory(&session)?;
    let id = session.info.user.id;
    let secret = totp::secret_text(&totp::new_secret());
    state.db(move |s| s.totp_begin(id, &secret)).await?;
    Ok(Redirect::to("/account/totp").into_response())
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    csrf: Option<String>,
    code: Option<String>,
}

/// `POST /account/totp/confirm`: the first code of the new secret; shows the recovery codes
/// once.
pub async fn enrol_confirm(
    State(state): State<AppState>,
    EnrolSession(session): EnrolSession,
    Form(f): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    session.check_csrf(f.csrf.as_deref())?;
    refuse_directory(&session)?;
    let now = urbackup_fleet::unix_now().max(0) as u64;
    let codes = state
        .auth()
        .confirm_enrolment(
            state.store(),
            &session.info.user,
            f.code.as_deref().unwrap_or(""),
            now,
        )
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let Some(recovery) = codes else {
        session
            .flash(
                &state,
                false,
                "That code is not the one your app shows for this secret now. Check the phone's clock, and try the next code."
                    .into(),
            )
            .await?;
        return Ok(Redirect::to("/account/totp").into_response());
    };
    tracing::info!(target: super::SECURITY, user = %session.name().escape_debug(), "console user set up a second factor");
    let page = EnrolPage {
        layout: session
            .layout(&state, "Second factor".into(), "account", false)
            .await?,
        qr: String::new(),
        secret: String::new(),
        has_totp: true,
        required: false,
        recovery,
    };
    Ok(render(&page))
}

//! The web application: router, security headers, sessions, errors, the page layout.

mod account;
mod actions;
mod admin;
mod audit_page;
mod compliance_page;
mod confirm;
mod extract;
mod files;
mod login;
mod pages;
mod sort;
mod state;
mod target;

pub(crate) use state::AppState;

use crate::auth::{self, Role};
use crate::store::{Flash, SessionInfo, UserSource};
use askama::Template;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use urbackup_fleet::FleetSnapshot;

/// Encodes `/metrics` from a fleet snapshot: (content type, body).
pub type MetricsFn = Arc<dyn Fn(&FleetSnapshot) -> (String, String) + Send + Sync>;

/// The session cookie.
const SESSION_COOKIE: &str = "urbackup_console";
/// The login form's CSRF cookie (before there is a session).
const LOGIN_COOKIE: &str = "urbackup_console_login";
/// The theme preference.
const THEME_COOKIE: &str = "urbackup_console_theme";
/// A login whose password was right, waiting for its second factor.
const PENDING_COOKIE: &str = "urbackup_console_pending";

pub use crate::auth::SECURITY;

/// The policy of every HTML page: nothing from another origin, no inline script or style.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The policy of everything else (assets, CSV, metrics): no content at all.
const OTHER_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// The router with every page, action and asset, and the layers every response passes.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new()
        .route("/", get(pages::overview))
        .route("/servers", get(pages::servers))
        .route("/servers/{server}", get(pages::server))
        .route("/servers/{server}/live", get(pages::server_live))
        .route("/servers/{server}/clients/{id}", get(pages::client))
        .route(
            "/servers/{server}/clients/{id}/live",
            get(pages::client_live),
        )
        .route(
            "/servers/{server}/clients/{id}/backup",
            post(actions::start),
        )
        .route("/servers/{server}/clients/{id}/stop", post(actions::stop))
        .route(
            "/servers/{server}/clients/{id}/backups/{backup}",
            get(files::browse::page),
        )
        .route(
            "/servers/{server}/clients/{id}/backups/{backup}/download",
            get(files::download::file),
        )
        .route(
            "/servers/{server}/clients/{id}/backups/{backup}/zip",
            get(files::download::zip),
        )
        .route(
            "/servers/{server}/clients/{id}/backups/{backup}/restore",
            get(files::restore::confirm).post(files::restore::start),
        )
        .route(
            "/servers/{server}/clients/{id}/restores/{restore}",
            get(files::restore::status),
        )
        .route(
            "/servers/{server}/clients/{id}/versions",
            get(files::versions::page),
        )
        .route(
            "/servers/{server}/clients/{id}/images/{backup}",
            get(files::browse::image),
        )
        .route("/admin/audit", get(audit_page::page))
        .route("/admin/audit.csv", get(audit_page::csv))
        .route("/compliance", get(compliance_page::page))
        .route("/compliance.csv", get(compliance_page::csv))
        .route("/admin/users", get(admin::page))
        .route("/admin/users/add", post(admin::add))
        .route("/admin/users/remove", post(admin::remove))
        .route("/admin/users/role", post(admin::role))
        .route("/admin/users/password", post(admin::password))
        .route("/admin/users/scope", post(admin::scope))
        .route("/admin/users/totp-reset", post(admin::totp_reset))
        .route("/admin/sessions", get(admin::sessions))
        .route("/admin/sessions/end", post(admin::end_session))
        .route("/account", get(account::page))
        .route("/account/totp", get(account::enrol_page))
        .route("/account/totp/start", post(account::enrol_start))
        .route("/account/totp/confirm", post(account::enrol_confirm))
        .route("/login", get(login::form).post(login::submit))
        .route(
            "/login/code",
            get(login::code_form).post(login::code_submit),
        )
        .route("/logout", post(login::logout))
        .route("/prefs/theme", post(login::theme))
        .route("/assets/{file}", get(asset))
        .route("/healthz", get(|| async { "ok\n" }));
    if state.has_metrics() {
        r = r.route(
            "/metrics",
            get(|State(state): State<AppState>| async move { state.metrics().await }),
        );
    }
    let limits = state.config().limits.clone();
    // Outermost last: compression, the security headers (on every answer), the error pages
    // (of everything inside: extractor rejections, the body limit's 413, a slow handler),
    // the body's limits, the Host check, the handler's time limit, the cross-site check.
    r.fallback(|| async { PageError::NotFound("No such page.".into()) })
        .layer(middleware::from_fn(same_origin_writes))
        .layer(middleware::from_fn_with_state(
            limits.request,
            answer_within,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), known_host))
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(RequestBodyTimeoutLayer::new(limits.body_read))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            extract::error_pages,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        // Downloads go as they come (no compression: their length stays announced).
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/octet-stream")),
        ))
        .with_state(state)
}

/// Refuses a request whose `Host` is not one the console is served under (DNS rebinding: a
/// page of another site whose name is made to resolve to the console's address). `/healthz`
/// answers any host.
async fn known_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let check = &state.config().public_hosts;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if req.uri().path() == "/healthz" || check.allows(host) {
        return next.run(req).await;
    }
    tracing::warn!(target: SECURITY, host = %host.escape_debug(), "request for an unknown host refused");
    PageError::MisdirectedHost(format!(
        "This console is not served under the name `{}`. Use {} (an administrator sets the console's name with --public-url).",
        host.escape_debug(),
        check.describe()
    ))
    .into_response()
}

/// A handler that has not answered in time is answered for (the body of an answer, e.g. a
/// download, may take longer).
async fn answer_within(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => PageError::Unavailable("The console took too long to answer; try again.".into())
            .into_response(),
    }
}

/// Headers of every response, errors included: the content security policy (strict for
/// pages, none for the rest), no sniffing, no framing, no referrer, no caching of pages (they
/// carry tokens), and HSTS under TLS. (Every error answer is the console's own page by then:
/// `extract::error_pages`, just inside.)
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if state.config().hsts {
        res.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        if html { PAGE_CSP } else { OTHER_CSP },
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    // `same-origin`, not `no-referrer`: with the latter, browsers send `Origin: null` on the
    // console's own form posts.
    set(h, header::REFERRER_POLICY, "same-origin");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if html {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// Refuses state-changing requests that a browser says come from another site (a second
/// line behind the CSRF tokens and `SameSite=Strict` cookies): by `Sec-Fetch-Site` where the
/// browser sends it, else by `Origin`.
async fn same_origin_writes(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let h = req.headers();
        let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        if let Some(site) = site {
            if site != "same-origin" && site != "none" {
                return PageError::Forbidden("Refused: the request came from another site.".into())
                    .into_response();
            }
        } else if let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
            let same = host.is_some_and(|host| {
                origin == format!("http://{host}") || origin == format!("https://{host}")
            });
            if !same {
                return PageError::Forbidden(
                    "Refused: the request came from another origin.".into(),
                )
                .into_response();
            }
        }
    }
    next.run(req).await
}

/// The vendored assets, embedded in the binary.
async fn asset(extract::Path(file): extract::Path<String>) -> Response {
    let (body, ctype): (&'static [u8], &str) = match file.as_str() {
        "app.css" => (
            include_bytes!("../../assets/app.css"),
            "text/css; charset=utf-8",
        ),
        "htmx.min.js" => (
            include_bytes!("../../assets/htmx-2.0.11.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return PageError::NotFound("No such file.".into()).into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not logged in: to the login page, then back to this path.
    Login(String),
    /// Not logged in, on a request that changes something.
    Unauthenticated,
    /// Logged in, but the console requires a second factor that the user has not set up:
    /// to its enrolment (a page), or refused (a change).
    Enrol {
        /// The request only reads (it is sent to the enrolment page).
        reading: bool,
    },
    /// Logged in, without the role, or without the CSRF token.
    Forbidden(String),
    /// No such server, client or page.
    NotFound(String),
    /// Bad form input.
    BadRequest(String),
    /// The console cannot take this now (busy with logins, too slow): try again.
    Unavailable(String),
    /// A `Host` the console is not served under.
    MisdirectedHost(String),
    /// A UrBackup server failed or refused a request the page needed (502).
    Server(String),
    /// A request the console cannot read, with its status (415, 422, 413...).
    Status {
        /// The status.
        status: StatusCode,
        /// The page's title.
        title: &'static str,
        /// What is wrong, in a sentence.
        message: String,
    },
    /// The console failed.
    Internal(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            PageError::Login(next) => {
                return Redirect::to(&format!("/login?next={}", crate::fmt::encode(&next)))
                    .into_response()
            }
            PageError::Unauthenticated => (
                StatusCode::FORBIDDEN,
                "Not logged in",
                "Your session has ended. Log in again.".to_string(),
            ),
            PageError::Enrol { reading: true } => {
                return Redirect::to("/account/totp").into_response()
            }
            PageError::Enrol { reading: false } => (
                StatusCode::FORBIDDEN,
                "Second factor needed",
                "This console requires a second factor: set it up on your account page first."
                    .to_string(),
            ),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Forbidden", m),
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            PageError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "Try again", m),
            PageError::MisdirectedHost(m) => (StatusCode::MISDIRECTED_REQUEST, "Wrong address", m),
            PageError::Server(m) => (StatusCode::BAD_GATEWAY, "The UrBackup server failed", m),
            PageError::Status {
                status,
                title,
                message,
            } => (status, title, message),
            PageError::Internal(m) => {
                tracing::error!("console: {m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Console error",
                    "The console failed to show this page; its log says why.".to_string(),
                )
            }
        };
        // The page is rendered by the `error_pages` layer, with the navigation when the
        // request carries a session.
        let mut res = (status, message.clone()).into_response();
        res.extensions_mut()
            .insert(extract::ErrorInfo { title, message });
        res
    }
}

/// Renders a template, or the error page.
fn render(t: &impl Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => PageError::Internal(format!("template: {e}")).into_response(),
    }
}

/// A cookie's value from the request (`base` with the prefix of [`AppState::cookie_name`]).
fn cookie<'a>(state: &AppState, headers: &'a HeaderMap, base: &str) -> Option<&'a str> {
    let name = state.cookie_name(base);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure (and `__Host-`) when
/// configured; without `max_age` it ends with the browser session.
fn set_cookie(state: &AppState, base: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let name = state.cookie_name(base);
    let mut c = cookie::Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(state.config().secure_cookies);
    if let Some(secs) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    HeaderValue::from_str(&c.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The address a request came from (for the login limit): the peer's, or behind
/// `trusted_proxies` reverse proxies the address the nearest of them saw, i.e. the
/// `trusted_proxies`-th entry from the right of all `X-Forwarded-For` lines taken as one list
/// (a proxy appends to what the client sent, so only the entries on the right are the
/// proxies' own).
fn client_addr(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    let peer = peer.map(|p| p.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    forwarded_for(headers, state.config().trusted_proxies).unwrap_or(peer)
}

/// The `n`-th address from the right of all `X-Forwarded-For` lines (`None` for `n == 0`,
/// too few entries, or one that is not an address).
pub(crate) fn forwarded_for(headers: &HeaderMap, n: usize) -> Option<IpAddr> {
    if n == 0 {
        return None;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let entry = entries.len().checked_sub(n).map(|i| entries[i])?;
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// A logged-in user's request. The user's role and scope are read from the database with the
/// session on every request (a change counts from the user's next request), and the fleet is
/// read through the user's view of it ([`Session::fleet`], in [`state`]). Under
/// `--require-totp` a local user without a second factor is sent to set one up first (only
/// [`EnrolSession`] handlers take such a session).
pub struct Session {
    info: SessionInfo,
    /// The request's path and query (to come back to).
    path: String,
    theme: &'static str,
}

impl Session {
    fn role(&self) -> Role {
        self.info.user.role
    }

    fn name(&self) -> &str {
        &self.info.user.name
    }

    /// Refuses users below `role`.
    fn require(&self, role: Role) -> Result<(), PageError> {
        if self.role() >= role {
            Ok(())
        } else {
            Err(PageError::Forbidden(format!(
                "This needs the {role} role; you are {}.",
                self.role()
            )))
        }
    }

    /// Refuses a form without this session's CSRF token.
    fn check_csrf(&self, token: Option<&str>) -> Result<(), PageError> {
        match token {
            Some(t) if auth::same_secret(t, &self.info.csrf) => Ok(()),
            Some(t) if !t.is_empty() => Err(PageError::Forbidden(
                "Refused: the form's security token is not the one of your session (the page was loaded before your last login). Reload the page and try again."
                    .into(),
            )),
            _ => Err(PageError::Forbidden(
                "Refused: the form is missing its security token (reload the page and try again)."
                    .into(),
            )),
        }
    }

    /// Leaves a message for the next page.
    async fn flash(&self, state: &AppState, ok: bool, text: String) -> Result<(), PageError> {
        let hash = self.info.token_hash.clone();
        state
            .db(move |s| s.set_flash(&hash, &Flash { ok, text }))
            .await
    }

    /// The page layout without the session's message (an error page leaves it for the next
    /// page).
    fn plain_layout(&self, state: &AppState, title: String) -> Layout {
        Layout {
            title,
            nav: "",
            user: self.name().to_owned(),
            role: self.role().as_str(),
            scope: if self.info.user.scope.is_all() {
                String::new()
            } else {
                self.info.user.scope.describe()
            },
            is_admin: self.role() >= Role::Admin,
            csrf: self.info.csrf.clone(),
            theme: self.theme,
            next_theme: next_theme(self.theme),
            path: self.path.clone(),
            flash: None,
            refresh: false,
            refresh_secs: state.refresh_secs(),
            version: env!("CARGO_PKG_VERSION"),
        }
    }

    /// The page layout (takes the session's message).
    async fn layout(
        &self,
        state: &AppState,
        title: String,
        nav: &'static str,
        refresh: bool,
    ) -> Result<Layout, PageError> {
        let hash = self.info.token_hash.clone();
        let flash = state.db(move |s| s.take_flash(&hash)).await?;
        Ok(Layout {
            nav,
            flash,
            refresh,
            ..self.plain_layout(state, title)
        })
    }
}

fn theme_of(state: &AppState, headers: &HeaderMap) -> &'static str {
    match cookie(state, headers, THEME_COOKIE) {
        Some("light") => "light",
        Some("dark") => "dark",
        _ => "auto",
    }
}

fn next_theme(t: &str) -> &'static str {
    match t {
        "auto" => "light",
        "light" => "dark",
        _ => "auto",
    }
}

impl Session {
    /// The session of a request, whatever its second factor.
    async fn load(parts: &Parts, state: &AppState) -> Result<Session, PageError> {
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let reading = parts.method == Method::GET || parts.method == Method::HEAD;
        let missing = || {
            if reading {
                PageError::Login(path.clone())
            } else {
                PageError::Unauthenticated
            }
        };
        let token = cookie(state, &parts.headers, SESSION_COOKIE)
            .ok_or_else(missing)?
            .to_owned();
        let now = urbackup_fleet::unix_now();
        let info = state.db(move |s| s.session(&token, now)).await?;
        let info = info.ok_or_else(missing)?;
        Ok(Session {
            info,
            theme: theme_of(state, &parts.headers),
            path,
        })
    }

    /// The console requires a second factor, and this local user has none yet.
    fn must_enrol(&self, state: &AppState) -> bool {
        state.config().require_totp
            && self.info.user.source == UserSource::Local
            && !self.info.user.totp
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let session = Session::load(parts, state).await?;
        if session.must_enrol(state) {
            let reading = parts.method == Method::GET || parts.method == Method::HEAD;
            return Err(PageError::Enrol { reading });
        }
        Ok(session)
    }
}

/// A session that may still have to set up its second factor: for the account and enrolment
/// pages, the logout and the theme only.
pub struct EnrolSession(Session);

impl FromRequestParts<AppState> for EnrolSession {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        Session::load(parts, state).await.map(EnrolSession)
    }
}

/// What the base template needs.
pub struct Layout {
    title: String,
    nav: &'static str,
    user: String,
    role: &'static str,
    /// The user's scope in words (`""`: every server).
    scope: String,
    is_admin: bool,
    csrf: String,
    theme: &'static str,
    next_theme: &'static str,
    path: String,
    flash: Option<Flash>,
    /// The whole main part refreshes itself (htmx).
    refresh: bool,
    refresh_secs: u64,
    version: &'static str,
}

/// A path inside the console to go back to after a login or a change: `p` as a browser would
/// read it (tabs and newlines removed, backslashes as slashes) must be a path of this origin,
/// with no scheme and no host; else `/`. A CR or LF is refused (400): it has no place in a
/// path, and a browser-less client could carry it into a header.
fn local_path(p: &str) -> Result<String, PageError> {
    if p.contains(['\r', '\n']) {
        return Err(PageError::BadRequest(
            "The address to go back to holds a line break.".into(),
        ));
    }
    let cleaned: String = p
        .chars()
        .filter(|c| *c != '\t')
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    if !cleaned.starts_with('/') || cleaned.starts_with("//") || cleaned.contains(char::is_control)
    {
        return Ok("/".into());
    }
    let joined = url::Url::parse("http://console.invalid/").and_then(|base| base.join(&cleaned));
    Ok(match joined {
        Ok(u) if u.host_str() == Some("console.invalid") && u.port().is_none() => {
            u[url::Position::BeforePath..].to_owned()
        }
        _ => "/".into(),
    })
}

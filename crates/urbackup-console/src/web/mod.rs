//! The web application: router, security headers, sessions, errors, the page layout.

mod actions;
mod admin;
mod compliance_page;
mod confirm;
mod extract;
mod login;
mod pages;

use crate::auth::{self, LoginLimiter, Role};
use crate::compliance::{self, Rpo};
use crate::store::{Flash, SessionInfo, Store, StoreError};
use crate::ConsoleConfig;
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use urbackup_fleet::{FleetSnapshot, Poller};

/// Encodes `/metrics` from a fleet snapshot: (content type, body).
pub type MetricsFn = Arc<dyn Fn(&FleetSnapshot) -> (String, String) + Send + Sync>;

/// The session cookie.
const SESSION_COOKIE: &str = "urbackup_console";
/// The login form's CSRF cookie (before there is a session).
const LOGIN_COOKIE: &str = "urbackup_console_login";
/// The theme preference.
const THEME_COOKIE: &str = "urbackup_console_theme";

/// The policy of every HTML page: nothing from another origin, no inline script or style.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/// The policy of everything else (assets, CSV, metrics): no content at all.
const OTHER_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A compliance report, the (snapshot, store) generations it was computed from, and when.
type CachedReport = ((u64, u64), Instant, Arc<compliance::Report>);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Arc<Store>,
    poller: Arc<Poller>,
    config: ConsoleConfig,
    rpo: Rpo,
    limiter: LoginLimiter,
    /// What compliance reads from the store, reused for a minute while the store records
    /// nothing new for it (with the store's compliance generation it was read at).
    compliance_facts: Mutex<Option<(u64, Instant, Arc<crate::store::BackupTimes>)>>,
    /// The last compliance computation and the snapshot generation it was made from.
    compliance: Mutex<Option<CachedReport>>,
}

impl AppState {
    pub(crate) fn new(store: Arc<Store>, poller: Arc<Poller>, config: ConsoleConfig) -> AppState {
        AppState(Arc::new(Inner {
            rpo: Rpo::from_policy(&config.policy),
            store,
            poller,
            config,
            limiter: LoginLimiter::default(),
            compliance_facts: Mutex::new(None),
            compliance: Mutex::new(None),
        }))
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.0.store
    }

    pub(crate) fn poller(&self) -> &Arc<Poller> {
        &self.0.poller
    }

    fn snapshot(&self) -> Arc<FleetSnapshot> {
        self.0.poller.snapshot()
    }

    fn refresh_secs(&self) -> u64 {
        self.0.config.poll.interval.as_secs().clamp(5, 300)
    }

    /// Runs a store call on a blocking thread.
    async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, PageError> {
        let store = self.0.store.clone();
        match tokio::task::spawn_blocking(move || f(&store)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(PageError::Internal(e.to_string())),
            Err(e) => Err(PageError::Internal(format!("database task failed: {e}"))),
        }
    }

    /// The compliance report of the current snapshot: recomputed when a poll changed the
    /// snapshot (so that a client failed on the overview is never at 100% here) or the
    /// store recorded something compliance reads (so that it agrees with the client pages,
    /// which read the store), at most a minute old.
    async fn compliance(&self) -> Result<Arc<compliance::Report>, PageError> {
        let snapshot = self.snapshot();
        let stored = self.0.store.compliance_generation();
        if let Some((generation, at, r)) =
            &*self.0.compliance.lock().unwrap_or_else(|e| e.into_inner())
        {
            if *generation == (snapshot.generation, stored)
                && at.elapsed() < Duration::from_secs(60)
            {
                return Ok(r.clone());
            }
        }
        let rpo = self.0.rpo;
        let now = urbackup_fleet::unix_now();
        let cached = self
            .0
            .compliance_facts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|(g, at, _)| *g == stored && at.elapsed() < Duration::from_secs(60))
            .map(|(_, _, t)| t.clone());
        let facts = match cached {
            Some(t) => t,
            None => {
                let since = now - compliance::WINDOWS[2] * 86_400 - rpo.file.max(rpo.image);
                let t = Arc::new(self.db(move |s| s.backup_times(since)).await?);
                *self
                    .0
                    .compliance_facts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some((stored, Instant::now(), t.clone()));
                t
            }
        };
        let generation = (snapshot.generation, stored);
        let report =
            tokio::task::spawn_blocking(move || compliance::compute(&snapshot, &facts, &rpo, now))
                .await
                .map_err(|e| PageError::Internal(format!("compliance: {e}")))?;
        let report = Arc::new(report);
        *self.0.compliance.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((generation, Instant::now(), report.clone()));
        Ok(report)
    }
}

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
        .route("/compliance", get(compliance_page::page))
        .route("/compliance.csv", get(compliance_page::csv))
        .route("/admin/users", get(admin::page))
        .route("/admin/users/add", post(admin::add))
        .route("/admin/users/remove", post(admin::remove))
        .route("/admin/users/role", post(admin::role))
        .route("/admin/users/password", post(admin::password))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/prefs/theme", post(login::theme))
        .route("/assets/{file}", get(asset))
        .route("/healthz", get(|| async { "ok\n" }));
    if state.0.config.metrics.is_some() {
        r = r.route("/metrics", get(metrics));
    }
    // Outermost last: compression, headers, the error pages (of everything inside, the body
    // limit's 413 too), the body limit, the cross-site check.
    r.fallback(|| async { PageError::NotFound("No such page.".into()) })
        .layer(middleware::from_fn(same_origin_writes))
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            extract::error_pages,
        ))
        .layer(middleware::from_fn(security_headers))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// Headers of every response: the content security policy (strict for pages, none for the
/// rest), no sniffing, no framing, no referrer, and no caching of pages (they carry tokens).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
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

async fn metrics(State(state): State<AppState>) -> Response {
    let Some(encode) = state.0.config.metrics.clone() else {
        return PageError::NotFound("No such page.".into()).into_response();
    };
    let snapshot = state.snapshot();
    match tokio::task::spawn_blocking(move || encode(&snapshot)).await {
        Ok((ctype, body)) => ([(header::CONTENT_TYPE, ctype)], body).into_response(),
        Err(e) => PageError::Internal(format!("metrics: {e}")).into_response(),
    }
}

/// Why a page cannot be shown.
#[derive(Debug)]
pub enum PageError {
    /// Not logged in: to the login page, then back to this path.
    Login(String),
    /// Not logged in, on a request that changes something.
    Unauthenticated,
    /// Logged in, without the role, or without the CSRF token.
    Forbidden(String),
    /// No such server, client or page.
    NotFound(String),
    /// Bad form input.
    BadRequest(String),
    /// Too many failed logins.
    TooMany(String),
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
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, "Forbidden", m),
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Bad request", m),
            PageError::TooMany(m) => (StatusCode::TOO_MANY_REQUESTS, "Too many attempts", m),
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

/// A cookie's value from the request.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure when configured.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = cookie::Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Strict)
        .secure(state.0.config.secure_cookies);
    if let Some(secs) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(secs));
    }
    HeaderValue::from_str(&c.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The address a request came from (for the login limit).
fn client_addr(state: &AppState, parts_headers: &HeaderMap, peer: Option<SocketAddr>) -> IpAddr {
    if state.0.config.trust_forwarded_for {
        let forwarded = parts_headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.map(|p| p.ip()).unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// A logged-in user's request.
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

fn theme_of(headers: &HeaderMap) -> &'static str {
    match cookie(headers, THEME_COOKIE) {
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

impl FromRequestParts<AppState> for Session {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
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
        let token = cookie(&parts.headers, SESSION_COOKIE)
            .ok_or_else(missing)?
            .to_owned();
        let now = urbackup_fleet::unix_now();
        let info = state.db(move |s| s.session(&token, now)).await?;
        let info = info.ok_or_else(missing)?;
        Ok(Session {
            info,
            theme: theme_of(&parts.headers),
            path,
        })
    }
}

/// What the base template needs.
pub struct Layout {
    title: String,
    nav: &'static str,
    user: String,
    role: &'static str,
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

/// A path inside the console to go back to: starts with one `/`, no scheme, no backslash.
fn local_path(p: &str) -> &str {
    if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') {
        p
    } else {
        "/"
    }
}

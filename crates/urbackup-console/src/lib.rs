//! # urbackup-console
//!
//! A web console for a fleet of UrBackup servers, over their web API: the fleet's problems
//! first, each server's clients, activities, storage and errors, each client's health,
//! backup history (with a size chart) and error logs, compliance with the recovery point
//! objectives, and for operators buttons to start and stop backups.
//!
//! * One `urbackup_fleet::Poller` reads every server on an interval; pages read its
//!   snapshot, so the requests to a server do not depend on the number of open browsers.
//! * What the poller sees is kept in SQLite ([`store`]): backups stay in the history after
//!   the server deletes them, so trends and compliance outlive the server's retention.
//! * Console users are separate from the servers' accounts ([`auth::Role`]: viewer, operator,
//!   admin), local or from a directory ([`auth::ldap`]), each optionally limited to some servers
//!   and groups ([`auth::Scope`], applied to every page through one view of the snapshot), with
//!   an optional second factor ([`auth::totp`]); the servers' credentials stay in the process
//!   and never reach a browser.
//! * Pages are rendered on the server (askama templates, escaped by default); a strict
//!   Content-Security-Policy allows only the console's own stylesheet and its vendored htmx,
//!   which refreshes the live parts; every page works without JavaScript.
//!
//! The `urbackup` tool starts it (`urbackup console`); [`Console`] is the same thing for
//! programs and tests.

#![warn(missing_docs)]

pub mod auth;
mod chart;
pub mod compliance;
mod fmt;
mod history;
mod restore;
mod serve;
pub mod store;
mod web;

use std::sync::Arc;
use urbackup::HealthPolicy;
use urbackup_fleet::{Member, Poller, PollerConfig};

pub use serve::ServeLimits;
pub use store::{Store, StoreError};
pub use web::{MetricsFn, SECURITY};

/// How a console runs.
#[derive(Clone, Default)]
pub struct ConsoleConfig {
    /// The health rule's limits (the same as `check` and `report`); the compliance RPOs
    /// come from them too ([`compliance::Rpo::from_policy`]).
    pub policy: HealthPolicy,
    /// How the servers are polled.
    pub poll: PollerConfig,
    /// Cookies are marked `Secure` and named with the `__Host-` prefix (set when the console
    /// serves TLS, or sits behind a reverse proxy that does).
    pub secure_cookies: bool,
    /// Answers carry `Strict-Transport-Security` (the console is reached over HTTPS only).
    pub hsts: bool,
    /// The reverse proxies in front of the console: the login limit counts the address the
    /// nearest one saw, the `trusted_proxies`-th entry from the right of `X-Forwarded-For`
    /// (`0`: no proxy, the header is ignored).
    pub trusted_proxies: usize,
    /// The `Host` header values the console answers; others get an error page (a defence
    /// against DNS rebinding).
    pub public_hosts: HostCheck,
    /// Limits on connections, heads, bodies and handlers.
    pub limits: ServeLimits,
    /// Serve `/metrics` (Prometheus) from the poller's snapshot with this encoder, without
    /// login (`None`: no `/metrics`). Whole-fleet numbers, whatever the users' scopes.
    pub metrics: Option<MetricsFn>,
    /// Directory logins (LDAP, Active Directory) beside the local users (`None`: local users
    /// only).
    pub directory: Option<auth::ldap::DirectoryConfig>,
    /// Local users without a second factor must set one up before anything else.
    pub require_totp: bool,
}

impl std::fmt::Debug for ConsoleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleConfig")
            .field("policy", &self.policy)
            .field("poll", &self.poll)
            .field("secure_cookies", &self.secure_cookies)
            .field("hsts", &self.hsts)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("public_hosts", &self.public_hosts)
            .field("limits", &self.limits)
            .field("metrics", &self.metrics.is_some())
            .field("directory", &self.directory)
            .field("require_totp", &self.require_totp)
            .finish()
    }
}

/// Which `Host` headers the console answers (a page of another site whose name was made to
/// resolve to the console's address sends that other name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum HostCheck {
    /// Any (programs and tests that serve the router themselves).
    #[default]
    Any,
    /// Exactly these `host[:port]` values, as browsers send them (compared without case).
    Names(Vec<String>),
    /// Any IP address (not a name) and `localhost`, with this port: for a console that listens
    /// on every address and was given no public URL.
    Addresses(u16),
}

impl HostCheck {
    /// The check for a console reached at `url` (its host and port as a browser sends them).
    pub fn for_url(url: &url::Url) -> Option<HostCheck> {
        let host = url.host_str()?;
        Some(HostCheck::Names(vec![match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        }]))
    }

    /// The check for a console listening on `addr` (no public URL given): a loopback address
    /// answers as itself and as `localhost`; a wildcard any address but no name.
    pub fn for_listen(addr: std::net::SocketAddr) -> HostCheck {
        let port = addr.port();
        let ip = addr.ip();
        if ip.is_unspecified() {
            return HostCheck::Addresses(port);
        }
        let own = match ip {
            std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
            std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        };
        let mut names = vec![own];
        if ip.is_loopback() {
            for n in [
                format!("localhost:{port}"),
                format!("127.0.0.1:{port}"),
                format!("[::1]:{port}"),
            ] {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        HostCheck::Names(names)
    }

    /// True when a request with this `Host` header is answered.
    pub fn allows(&self, host: &str) -> bool {
        match self {
            HostCheck::Any => true,
            HostCheck::Names(names) => names.iter().any(|n| n.eq_ignore_ascii_case(host)),
            HostCheck::Addresses(port) => {
                let Ok(url) = url::Url::parse(&format!("http://{host}/")) else {
                    return false;
                };
                let ip = matches!(
                    url.host(),
                    Some(url::Host::Ipv4(_) | url::Host::Ipv6(_) | url::Host::Domain("localhost"))
                );
                ip && url.port_or_known_default() == Some(*port) && !host.contains(['@', '/', '\\'])
            }
        }
    }

    /// The accepted hosts in words.
    pub fn describe(&self) -> String {
        match self {
            HostCheck::Any => "any name".into(),
            HostCheck::Names(n) => n.join(" or "),
            HostCheck::Addresses(port) => format!("an IP address of this host with port {port}"),
        }
    }
}

/// A console: its store, its poller, its router.
pub struct Console {
    state: web::AppState,
    poller: Arc<Poller>,
    history: Arc<history::History>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

impl Console {
    /// A console over these servers (names unique) with this store. The poller is created
    /// and seeded from the store (what an earlier run read is not read again); nothing is
    /// polled before [`Console::start_polling`].
    pub fn new(
        members: Vec<Member>,
        store: Arc<Store>,
        config: ConsoleConfig,
    ) -> Result<Console, StoreError> {
        let poller = Arc::new(Poller::new(
            members,
            config.policy.clone(),
            config.poll.clone(),
        ));
        history::seed(&poller, &store)?;
        let history = Arc::new(history::History::start(store.clone()));
        Ok(Console {
            state: web::AppState::new(store, poller.clone(), config),
            poller,
            history,
        })
    }

    /// The poller (to read the snapshot, or poll a server now).
    pub fn poller(&self) -> &Arc<Poller> {
        &self.poller
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        self.state.store()
    }

    /// Starts polling every server (one task each, on the tokio runtime); what the polls see
    /// is recorded in the store.
    pub fn start_polling(&self) {
        self.poller().spawn(self.history.clone());
    }

    /// Polls every server once now, and waits until what it saw is stored (for tests and
    /// one-shot uses; [`Console::start_polling`] polls on the interval).
    pub async fn poll_once(&self) -> Arc<urbackup_fleet::FleetSnapshot> {
        let snapshot = self.poller().poll_all(self.history.as_ref()).await;
        let history = self.history.clone();
        let _ = tokio::task::spawn_blocking(move || history.flush()).await;
        snapshot
    }

    /// The web application (an axum `Router`), e.g. for `tower::ServiceExt::oneshot`.
    pub fn router(&self) -> axum::Router {
        web::router(self.state.clone())
    }

    /// Serves the console over plain HTTP on a bound listener, until the process ends (with
    /// the limits of [`ConsoleConfig::limits`]).
    pub async fn serve_on(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let limits = self.state.config().limits.clone();
        serve::serve(listener, self.router(), None, limits).await
    }

    /// Serves the console over HTTPS (rustls) on a bound listener with this certificate
    /// chain and private key (PEM files), until the process ends.
    pub async fn serve_tls_on(
        self,
        listener: std::net::TcpListener,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> std::io::Result<()> {
        let tls = serve::tls_acceptor(cert, key)?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let limits = self.state.config().limits.clone();
        serve::serve(listener, self.router(), Some(tls), limits).await
    }
}

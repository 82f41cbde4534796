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
//!   admin); the servers' credentials stay in the process and never reach a browser.
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
pub mod store;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use urbackup::HealthPolicy;
use urbackup_fleet::{Member, Poller, PollerConfig};

pub use store::{Store, StoreError};
pub use web::MetricsFn;

/// How a console runs.
#[derive(Clone, Default)]
pub struct ConsoleConfig {
    /// The health rule's limits (the same as `check` and `report`); the compliance RPOs
    /// come from them too ([`compliance::Rpo::from_policy`]).
    pub policy: HealthPolicy,
    /// How the servers are polled.
    pub poll: PollerConfig,
    /// Cookies are marked `Secure` (set when the console serves TLS, or sits behind a
    /// reverse proxy that does).
    pub secure_cookies: bool,
    /// Take the client address for the login limit from the last `X-Forwarded-For` entry
    /// (only behind a reverse proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Serve `/metrics` (Prometheus) from the poller's snapshot with this encoder, without
    /// login (`None`: no `/metrics`).
    pub metrics: Option<MetricsFn>,
}

impl std::fmt::Debug for ConsoleConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleConfig")
            .field("policy", &self.policy)
            .field("poll", &self.poll)
            .field("secure_cookies", &self.secure_cookies)
            .field("trust_forwarded_for", &self.trust_forwarded_for)
            .field("metrics", &self.metrics.is_some())
            .finish()
    }
}

/// A console: its store, its poller, its router.
pub struct Console {
    state: web::AppState,
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
            state: web::AppState::new(store, poller, config),
            history,
        })
    }

    /// The poller (to read the snapshot, or poll a server now).
    pub fn poller(&self) -> &Arc<Poller> {
        self.state.poller()
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

    /// Serves the console over plain HTTP on a bound listener, until the process ends.
    pub async fn serve_on(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, app).await
    }

    /// Serves the console over HTTPS (rustls) on a bound listener with this certificate
    /// chain and private key (PEM files), until the process ends.
    pub async fn serve_tls_on(
        self,
        listener: std::net::TcpListener,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> std::io::Result<()> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await?;
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        listener.set_nonblocking(true)?;
        axum_server::from_tcp_rustls(listener, tls).serve(app).await
    }
}

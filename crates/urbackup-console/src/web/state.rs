//! What every handler shares ([`AppState`]), and the one way handlers read the fleet:
//! [`FleetView`], the part of the poller's snapshot that the session's user may see.
//!
//! The poller is private to this module: a handler cannot reach the whole fleet by mistake.
//! Its API, for every handler (present and future):
//!
//! * [`Session::fleet`]: the user's view, from the scope re-read from the database with the
//!   session on this very request (a changed scope or role counts from the next request on).
//! * [`FleetView::snapshot`]: a `FleetSnapshot` of the servers in scope only, each cut to the
//!   clients in scope, and everything derived from them (running actions, recent activities,
//!   storage, error logs, backup counts) cut to those clients; counts computed from it are the
//!   user's counts. Unscoped users get the poller's snapshot itself (no copy).
//! * [`FleetView::server`]: the server named in a path, or the 404 of an unknown server.
//! * [`FleetView::client`]: the server and client of a path, or the 404 of an unknown client
//!   (the same page, word for word, whether it does not exist or is outside the scope: a
//!   scoped user cannot even learn a name). Every handler that acts on or reads a client (the
//!   start and stop actions; browsing, downloads and restores) resolves it through this.
//! * [`FleetView::handle`]: the library's handle of a server in the view, to act on it.
//! * [`FleetView::poll_now`]: polls a server in the view now; the answer is cut to the scope.
//! * [`FleetView::compliance`]: the compliance report of the clients in the view.
//!
//! `/metrics` is the one whole-fleet answer ([`AppState::metrics`]), served without login and
//! only when asked for.

use super::{PageError, Session};
use crate::auth::{self, Authenticator, LoginLimiter, Scope};
use crate::compliance::{self, Rpo};
use crate::store::{Store, StoreError};
use crate::ConsoleConfig;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use urbackup_fleet::{ClientRow, FleetSnapshot, Poller, ServerSnapshot};

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
    auth: Authenticator,
    /// What compliance reads from the store, reused for a minute while the store records
    /// nothing new for it (with the store's compliance generation it was read at).
    compliance_facts: Mutex<Option<(u64, Instant, Arc<crate::store::BackupTimes>)>>,
    /// The last compliance computation of the whole fleet and the (snapshot, store)
    /// generations it was made from.
    compliance: Mutex<Option<CachedReport>>,
    /// Folder listings of file backups (browsing, versions, search).
    listings: crate::restore::Listings,
    /// Restores started from the console, followed until they end.
    restores: crate::restore::Restores,
}

impl AppState {
    pub(crate) fn new(store: Arc<Store>, poller: Arc<Poller>, config: ConsoleConfig) -> AppState {
        let directory = config.directory.clone().map(auth::ldap::Directory::new);
        AppState(Arc::new(Inner {
            rpo: Rpo::from_policy(&config.policy),
            store,
            poller,
            config,
            limiter: LoginLimiter::default(),
            auth: Authenticator::new(auth::Hasher::default(), directory),
            compliance_facts: Mutex::new(None),
            compliance: Mutex::new(None),
            listings: Default::default(),
            restores: Default::default(),
        }))
    }

    pub(crate) fn listings(&self) -> &crate::restore::Listings {
        &self.0.listings
    }

    pub(crate) fn restores(&self) -> &crate::restore::Restores {
        &self.0.restores
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.0.store
    }

    pub(crate) fn config(&self) -> &ConsoleConfig {
        &self.0.config
    }

    pub(super) fn rpo(&self) -> &Rpo {
        &self.0.rpo
    }

    pub(super) fn limiter(&self) -> &LoginLimiter {
        &self.0.limiter
    }

    pub(super) fn auth(&self) -> &Authenticator {
        &self.0.auth
    }

    /// Hashes a new password on the bounded hasher (503 when it is busy).
    pub(super) async fn hash_password(&self, password: String) -> Result<String, PageError> {
        match self.0.auth.hasher().hash(password).await {
            Ok(Ok(h)) => Ok(h),
            Ok(Err(e)) => Err(PageError::Internal(e)),
            Err(auth::Busy) => Err(PageError::Unavailable(
                "The console is busy checking passwords; try again in a few seconds.".into(),
            )),
        }
    }

    /// A cookie's name: with the `__Host-` prefix when cookies are `Secure` (the browser then
    /// refuses it from anything but this host over HTTPS, with `Path=/`).
    pub(super) fn cookie_name(&self, base: &str) -> String {
        if self.0.config.secure_cookies {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    pub(super) fn refresh_secs(&self) -> u64 {
        self.0.config.poll.interval.as_secs().clamp(5, 300)
    }

    /// Runs a store call on a blocking thread.
    pub(super) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, PageError> {
        crate::store::blocking(&self.0.store, f)
            .await
            .map_err(|e| PageError::Internal(e.to_string()))
    }

    /// The compliance report of the whole fleet's current snapshot (cut to a user's view by
    /// [`FleetView::compliance`]): recomputed when a poll changed the snapshot (so that a
    /// client failed on the overview is never at 100% here) or the store recorded something
    /// compliance reads (so that it agrees with the client pages, which read the store), at
    /// most a minute old.
    async fn fleet_compliance(&self) -> Result<Arc<compliance::Report>, PageError> {
        let snapshot = self.0.poller.snapshot();
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

    /// `/metrics`: the whole fleet (no session: served only when asked for, see the README).
    pub(super) async fn metrics(&self) -> Response {
        let Some(encode) = self.0.config.metrics.clone() else {
            return PageError::NotFound("No such page.".into()).into_response();
        };
        let snapshot = self.0.poller.snapshot();
        match tokio::task::spawn_blocking(move || encode(&snapshot)).await {
            Ok((ctype, body)) => ([(header::CONTENT_TYPE, ctype)], body).into_response(),
            Err(e) => PageError::Internal(format!("metrics: {e}")).into_response(),
        }
    }

    pub(super) fn has_metrics(&self) -> bool {
        self.0.config.metrics.is_some()
    }
}

impl Session {
    /// The part of the fleet this session's user may see.
    pub(super) fn fleet(&self, state: &AppState) -> FleetView {
        FleetView::new(state, &self.info.user.scope)
    }
}

/// A user's view of the fleet; see the module's documentation.
pub(super) struct FleetView {
    state: AppState,
    scope: Scope,
    snapshot: Arc<FleetSnapshot>,
}

impl FleetView {
    fn new(state: &AppState, scope: &Scope) -> FleetView {
        let full = state.0.poller.snapshot();
        FleetView {
            snapshot: scoped_fleet(&full, scope),
            state: state.clone(),
            scope: scope.clone(),
        }
    }

    /// The servers and clients of the view, and everything derived from them.
    pub(super) fn snapshot(&self) -> &Arc<FleetSnapshot> {
        &self.snapshot
    }

    /// The server named in a path, or 404 (the same for one outside the view).
    pub(super) fn server(&self, name: &str) -> Result<Arc<ServerSnapshot>, PageError> {
        self.snapshot
            .server(name)
            .cloned()
            .ok_or_else(|| no_server(name))
    }

    /// The server and client of a path, or 404 (the same for one outside the view).
    pub(super) fn client(
        &self,
        server: &str,
        id: i64,
    ) -> Result<(Arc<ServerSnapshot>, ClientRow), PageError> {
        let s = self.server(server)?;
        let c = s
            .client(id)
            .cloned()
            .ok_or_else(|| no_client(&s.name, id))?;
        Ok((s, c))
    }

    /// The library's handle of a server in the view.
    pub(super) fn handle(
        &self,
        server: &ServerSnapshot,
    ) -> Result<urbackup::UrbackupServer, PageError> {
        self.server(&server.name)?;
        self.state
            .0
            .poller
            .server(&server.name)
            .map(|p| p.server().clone())
            .ok_or_else(|| no_server(&server.name))
    }

    /// Polls a server of the view now and waits at most `wait` for it; the answer is cut to
    /// the view (`None`: no answer in time).
    pub(super) async fn poll_now(
        &self,
        server: &ServerSnapshot,
        wait: Duration,
    ) -> Option<Arc<ServerSnapshot>> {
        if !self.scope.allows_server(&server.name) {
            return None;
        }
        let s = self.state.0.poller.poll_now(&server.name, wait).await?;
        Some(scoped_server(&s, &self.scope))
    }

    /// The compliance report of the clients of the view (the whole fleet's, computed at most
    /// once a minute, cut to the view with its sums recomputed).
    pub(super) async fn compliance(&self) -> Result<Arc<compliance::Report>, PageError> {
        let full = self.state.fleet_compliance().await?;
        if self.scope.is_all() {
            return Ok(full);
        }
        Ok(Arc::new(full.restricted_to(&self.snapshot)))
    }
}

/// The 404 of a server that is not in the view.
fn no_server(name: &str) -> PageError {
    PageError::NotFound(format!("No server named “{name}” in this console."))
}

/// The 404 of a client that is not in the view.
fn no_client(server: &str, id: i64) -> PageError {
    PageError::NotFound(format!("Server “{server}” has no client with id {id}."))
}

/// The fleet cut to a scope (the snapshot itself for no restriction).
fn scoped_fleet(full: &Arc<FleetSnapshot>, scope: &Scope) -> Arc<FleetSnapshot> {
    if scope.is_all() {
        return full.clone();
    }
    Arc::new(FleetSnapshot {
        servers: full
            .servers
            .iter()
            .filter(|s| scope.allows_server(&s.name))
            .map(|s| scoped_server(s, scope))
            .collect(),
        generation: full.generation,
    })
}

/// A server cut to the clients of a scope's groups: its clients, and what belongs to them
/// (running actions and recent activities by client id, storage and error logs by client
/// name, backup counts by position). Server-wide jobs (no client) are left out too.
fn scoped_server(s: &Arc<ServerSnapshot>, scope: &Scope) -> Arc<ServerSnapshot> {
    if scope.whole_servers() {
        return s.clone();
    }
    let keep: Vec<bool> = s
        .clients
        .iter()
        .map(|c| scope.allows_group(&c.health.group))
        .collect();
    let clients: Vec<ClientRow> = s
        .clients
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(c, _)| c.clone())
        .collect();
    let ids: HashSet<i64> = clients.iter().map(|c| c.id()).collect();
    let names: HashSet<&str> = clients.iter().map(|c| c.name()).collect();
    let mut out = ServerSnapshot::clone(s);
    out.actions = s.actions.as_ref().map(|a| {
        Arc::new(
            a.iter()
                .filter(|a| ids.contains(&a.clientid))
                .cloned()
                .collect(),
        )
    });
    out.activities = s.activities.as_ref().map(|a| {
        Arc::new(
            a.iter()
                .filter(|a| ids.contains(&a.clientid))
                .cloned()
                .collect(),
        )
    });
    out.usage = s.usage.as_ref().map(|(at, u)| {
        (
            *at,
            Arc::new(
                u.iter()
                    .filter(|e| names.contains(e.name.as_str()))
                    .cloned()
                    .collect(),
            ),
        )
    });
    out.error_logs = s.error_logs.as_ref().map(|l| {
        Arc::new(
            l.iter()
                .filter(|l| names.contains(l.name.as_str()))
                .cloned()
                .collect(),
        )
    });
    out.counts = s.counts.as_ref().map(|c| {
        Arc::new(
            c.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c.clone())
                .collect(),
        )
    });
    out.clients = Arc::new(clients);
    Arc::new(out)
}

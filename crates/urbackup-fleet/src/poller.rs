//! The fleet poller: every server on an interval, one published snapshot.

use crate::poll::{Observer, Plan, ServerPoller};
use crate::snapshot::{FleetSnapshot, ServerSnapshot};
use crate::Member;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use urbackup::HealthPolicy;

/// How the [`Poller`] polls.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// Time between the end of one poll of a server and the start of the next.
    pub interval: Duration,
    /// What each poll reads.
    pub plan: Plan,
    /// Servers polled at the same time (bounds the memory of replies in flight).
    pub concurrency: usize,
}

impl Default for PollerConfig {
    /// Every 30 s, the console's plan, 32 servers at a time.
    fn default() -> PollerConfig {
        PollerConfig {
            interval: Duration::from_secs(30),
            plan: Plan::console(),
            concurrency: 32,
        }
    }
}

/// Polls every server of a fleet on an interval and publishes a [`FleetSnapshot`] after each
/// server's poll. Readers take [`Poller::snapshot`] (an `Arc`, no copy, no request).
pub struct Poller {
    servers: Vec<Arc<ServerPoller>>,
    kicks: Vec<Arc<Notify>>,
    config: PollerConfig,
    tx: watch::Sender<Arc<FleetSnapshot>>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("servers", &self.servers)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Poller {
    /// A poller of these members (names must be unique), judging clients by `policy`. Nothing
    /// is polled before [`Poller::spawn`].
    pub fn new(members: Vec<Member>, policy: HealthPolicy, config: PollerConfig) -> Poller {
        let initial = FleetSnapshot {
            servers: members
                .iter()
                .map(|m| Arc::new(ServerSnapshot::pending(&m.name, m.url())))
                .collect(),
            generation: 0,
        };
        let servers: Vec<Arc<ServerPoller>> = members
            .into_iter()
            .map(|m| Arc::new(ServerPoller::new(m, policy.clone())))
            .collect();
        let kicks = servers.iter().map(|_| Arc::new(Notify::new())).collect();
        let (tx, _) = watch::channel(Arc::new(initial));
        Poller {
            servers,
            kicks,
            config,
            tx,
        }
    }

    /// The server pollers, in the order given (to seed them, or to reach a server's handle).
    pub fn servers(&self) -> &[Arc<ServerPoller>] {
        &self.servers
    }

    /// The poller of the server named `name`.
    pub fn server(&self, name: &str) -> Option<&Arc<ServerPoller>> {
        self.servers.iter().find(|s| s.name() == name)
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Arc<FleetSnapshot> {
        self.tx.borrow().clone()
    }

    /// A receiver that sees every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<FleetSnapshot>> {
        self.tx.subscribe()
    }

    /// Polls the server named `name` now instead of at the end of its interval (after a
    /// person started or stopped something on it). Returns false for an unknown name.
    pub fn kick(&self, name: &str) -> bool {
        match self.servers.iter().position(|s| s.name() == name) {
            Some(i) => {
                self.kicks[i].notify_one();
                true
            }
            None => false,
        }
    }

    /// Polls the server named `name` now and waits (at most `timeout`) for a poll that
    /// started after this call to be published; returns the server's newest snapshot either
    /// way (`None` for an unknown name). Needs the tasks of [`Poller::spawn`].
    pub async fn poll_now(&self, name: &str, timeout: Duration) -> Option<Arc<ServerSnapshot>> {
        let server = self.server(name)?;
        let target = server.polls_started() + 1;
        let mut rx = self.subscribe();
        self.kick(name);
        let fresh = |f: &Arc<FleetSnapshot>| f.server(name).is_some_and(|s| s.poll_seq >= target);
        let _ = tokio::time::timeout(timeout, rx.wait_for(fresh)).await;
        self.snapshot().server(name).cloned()
    }

    /// Starts one task per server, each polling on the interval (the first polls at once,
    /// at most [`PollerConfig::concurrency`] at a time). The tasks end when the returned
    /// handles are aborted or the runtime stops.
    pub fn spawn(self: &Arc<Self>, observer: Arc<dyn Observer>) -> Vec<JoinHandle<()>> {
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        (0..self.servers.len())
            .map(|i| {
                let (me, observer, permits) = (self.clone(), observer.clone(), permits.clone());
                tokio::spawn(async move {
                    loop {
                        let snap = {
                            let _permit = permits.acquire().await;
                            me.servers[i].poll(&me.config.plan, observer.as_ref()).await
                        };
                        me.publish(i, snap);
                        tokio::select! {
                            _ = tokio::time::sleep(me.config.interval) => {}
                            _ = me.kicks[i].notified() => {}
                        }
                    }
                })
            })
            .collect()
    }

    /// Polls every server once, all at the same time (at most `concurrency`), publishes and
    /// returns the snapshot. For one-shot readers (`report`) and tests.
    pub async fn poll_all(&self, observer: &dyn Observer) -> Arc<FleetSnapshot> {
        let permits = Semaphore::new(self.config.concurrency.max(1));
        let polls = self.servers.iter().map(|s| async {
            let _permit = permits.acquire().await;
            s.poll(&self.config.plan, observer).await
        });
        let snaps = futures_util::future::join_all(polls).await;
        for (i, snap) in snaps.into_iter().enumerate() {
            self.publish(i, snap);
        }
        self.snapshot()
    }

    fn publish(&self, i: usize, snap: ServerSnapshot) {
        self.tx.send_modify(|f| {
            let mut next = FleetSnapshot {
                servers: f.servers.clone(),
                generation: f.generation + 1,
            };
            next.servers[i] = Arc::new(snap);
            *f = Arc::new(next);
        });
    }
}

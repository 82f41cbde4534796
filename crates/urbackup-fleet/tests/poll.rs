//! Polls of simulated servers over HTTP: what each poll asks, what it keeps when a server
//! fails, the pause after a refused login, and the fleet poller's snapshot.

use std::sync::{Arc, Mutex};
use std::time::Duration;
use urbackup::{BackupType, ClientBackups, HealthPolicy, UrbackupServer};
use urbackup_fleet::{
    BackupRefresh, ClientRow, FailureKind, Member, NoObserver, Observer, Plan, Poller,
    PollerConfig, ServerPoller,
};
use urbackup_sim::{ClientSpec, SimServer, Simulator};

const PASSWORD: &str = "fleet-poll-secret";

async fn sim() -> SimServer {
    Simulator::builder()
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .backup_duration(Duration::from_secs(30))
        .client(ClientSpec::new("pc-a").windows().backups(3, 1))
        .client(
            ClientSpec::new("pc-b")
                .windows()
                .backups(2, 1)
                .last_backup_failed(),
        )
        .client(ClientSpec::new("pc-c").linux().backups(2, 0))
        .start()
        .await
        .unwrap()
}

fn member(name: &str, url: &str, password: &str) -> Member {
    Member::new(
        name,
        UrbackupServer::builder(url)
            .credentials("admin", password)
            .connect_timeout(Duration::from_secs(2))
            .read_retries(0)
            .build()
            .unwrap(),
    )
}

/// Records the backup lists an observer is given.
#[derive(Default)]
struct Lists(Mutex<Vec<(String, i64, usize)>>);

impl Observer for Lists {
    fn backups(&self, server: &str, client: &ClientRow, lists: &ClientBackups) {
        self.0.lock().unwrap().push((
            server.to_owned(),
            client.id(),
            lists.file_backups.len() + lists.image_backups.len(),
        ));
    }
}

#[tokio::test]
async fn the_console_plan_reads_backup_lists_only_when_they_changed() {
    let s = sim().await;
    let p = ServerPoller::new(member("a", &s.url(), PASSWORD), HealthPolicy::default());
    let lists = Lists::default();
    let plan = Plan::console();
    let snap = p.poll(&plan, &lists).await;
    assert!(snap.is_up(), "{:?}", snap.failure);
    assert_eq!(snap.clients.len(), 3);
    assert_eq!(s.requests("backups"), 3, "every client once at first");
    assert_eq!(lists.0.lock().unwrap().len(), 3);
    for action in ["status", "progress", "lastacts", "usage"] {
        assert_eq!(s.requests(action), 1, "{action}");
    }
    // The list of error logs, and the lines of the one log with an error (pc-b's).
    assert_eq!(s.requests("logs"), 2);
    let log_reads = s.requests("logs");
    let snap = p.poll(&plan, &lists).await;
    assert_eq!(s.requests("backups"), 3, "nothing changed: no list read");
    assert_eq!(s.requests("usage"), 1, "usage every 10th poll");
    assert_eq!(
        s.requests("logs"),
        log_reads + 1,
        "the list only; lines read once"
    );
    assert!(snap.counts.is_some());
    // A new backup of pc-a: its list, and only its, is read at the next poll.
    let id = s.client_id("pc-a").unwrap();
    p.server()
        .start_backups(&[id], BackupType::IncrFile)
        .await
        .unwrap();
    s.advance(Duration::from_secs(120));
    let snap = p.poll(&plan, &lists).await;
    assert_eq!(s.requests("backups"), 4);
    let last = lists.0.lock().unwrap().last().cloned().unwrap();
    assert_eq!((last.0.as_str(), last.1, last.2), ("a", id, 5));
    let row = snap.client(id).unwrap();
    assert!(row.health.file.last_backup.is_some());
    assert_eq!(snap.poll_seq, 3);
}

#[tokio::test]
async fn a_refused_login_pauses_and_an_unreachable_server_keeps_its_last_data() {
    let s = sim().await;
    let p = ServerPoller::new(member("a", &s.url(), "wrong"), HealthPolicy::default());
    let snap = p.poll(&Plan::exporter(4), &NoObserver).await;
    let f = snap.failure.clone().expect("a failure");
    assert_eq!(f.kind, FailureKind::LoginRefused);
    assert!(f.retry_login_at.is_some());
    let logins = s.requests("login");
    for _ in 0..3 {
        let again = p.poll(&Plan::exporter(4), &NoObserver).await;
        assert_eq!(
            again.failure.as_ref().unwrap().kind,
            FailureKind::LoginRefused
        );
        assert_eq!(again.failure.as_ref().unwrap().since, f.since);
    }
    assert_eq!(s.requests("login"), logins, "no login during the pause");
    assert_eq!(s.requests("status"), 0);

    // A server that answered once and then stops: its clients stay, marked with a failure
    // that keeps its start.
    let keeping = Plan {
        usage_every: 1,
        keep_data: true,
        ..Plan::default()
    };
    let p = ServerPoller::new(member("b", &s.url(), PASSWORD), HealthPolicy::default());
    let light = ServerPoller::new(member("c", &s.url(), PASSWORD), HealthPolicy::default());
    let up = p.poll(&keeping, &NoObserver).await;
    assert!(up.is_up() && up.clients.len() == 3 && up.used_bytes().is_some());
    assert!(light.poll(&Plan::report(), &NoObserver).await.is_up());
    drop(s);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Without keep_data (the exporter, report) nothing of the last poll is held.
    let gone = light.poll(&Plan::report(), &NoObserver).await;
    assert!(gone.failure.is_some() && gone.clients.is_empty() && gone.data_at.is_none());
    let down = p.poll(&keeping, &NoObserver).await;
    let f = down.failure.clone().expect("down");
    assert_eq!(f.kind, FailureKind::Unreachable);
    assert!(!down.is_up());
    assert_eq!(down.clients.len(), 3, "the last known clients");
    assert_eq!(down.data_at, up.data_at);
    assert!(
        down.actions.is_none(),
        "nothing is known of running actions"
    );
    let later = p.poll(&keeping, &NoObserver).await;
    assert_eq!(
        later.failure.unwrap().since,
        f.since,
        "since the first failure"
    );
}

#[tokio::test]
async fn the_fleet_poller_publishes_every_server_and_polls_on_demand() {
    let (a, b) = (sim().await, sim().await);
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let poller = Arc::new(Poller::new(
        vec![
            member("a", &a.url(), PASSWORD),
            member("b", &b.url(), PASSWORD),
            member("dead", &dead, PASSWORD),
        ],
        HealthPolicy::default(),
        PollerConfig {
            interval: Duration::from_secs(3600),
            plan: Plan {
                backups: BackupRefresh::Off,
                ..Plan::console()
            },
            concurrency: 2,
        },
    ));
    assert!(poller
        .snapshot()
        .servers
        .iter()
        .all(|s| s.polled_at.is_none()));
    poller.spawn(Arc::new(NoObserver));
    let mut rx = poller.subscribe();
    rx.wait_for(|f| f.servers.iter().all(|s| s.polled_at.is_some()))
        .await
        .unwrap();
    let f = poller.snapshot();
    assert_eq!(
        f.servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "dead"]
    );
    assert!(f.server("a").unwrap().is_up() && f.server("b").unwrap().is_up());
    assert_eq!(
        f.server("dead").unwrap().failure.as_ref().unwrap().kind,
        FailureKind::Unreachable
    );
    // Attention across the fleet: the failed client of each server, worst first.
    let att: Vec<(&str, &str)> = f
        .attention()
        .into_iter()
        .map(|(s, c)| (s.name.as_str(), c.name()))
        .collect();
    assert_eq!(att, [("a", "pc-b"), ("b", "pc-b")]);
    // Reading the snapshot costs nothing; a kick polls one server once.
    let before = (a.requests("status"), b.requests("status"));
    for _ in 0..100 {
        let _ = poller.snapshot();
    }
    let snap = poller.poll_now("a", Duration::from_secs(10)).await.unwrap();
    assert_eq!(snap.poll_seq, 2);
    assert_eq!(
        (a.requests("status"), b.requests("status")),
        (before.0 + 1, before.1)
    );
    assert!(poller
        .poll_now("nope", Duration::from_secs(1))
        .await
        .is_none());
}

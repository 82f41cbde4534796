//! The fault matrix: every fault the simulator can inject, against a read (`status`), a write
//! (`start_backup`, judged on a `status` reply read before: one request) and a download (`backups sa=filesdl`). Each case asserts the outcome (the
//! right error kind within the timeout plus a margin, or recovery) and, for writes, how many
//! requests reached the server: never a duplicate.

mod common;
use common::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use urbackup::{BackupRef, BackupType, StatusReport, UrbackupError, UrbackupServer};

const TIMEOUT: Duration = Duration::from_millis(600);
/// Timeout plus what a loaded two-core machine may add.
const MARGIN: Duration = Duration::from_millis(900);

struct Bench {
    sim: SimServer,
    s: UrbackupServer,
    report: StatusReport,
    alpha: i64,
    backup: BackupRef,
    file: String,
    dir: tempfile::TempDir,
}

async fn bench() -> Bench {
    let sim = scene().start().await.unwrap();
    let s = UrbackupServer::builder(&sim.url())
        .credentials(ADMIN.0, ADMIN.1)
        .timeout(TIMEOUT)
        .download_idle_timeout(TIMEOUT)
        .retry_base_delay(Duration::from_millis(10))
        .build()
        .unwrap();
    let alpha = sim.client_id("alpha").unwrap();
    s.start_backups(&[alpha], BackupType::FullFile)
        .await
        .unwrap();
    finish_actions(&sim, &s, alpha).await;
    let backup = s.get_backups(alpha).await.unwrap()[0].backup_ref();
    let root = s.browse_backup(alpha, backup, "/").await.unwrap();
    let dir = &root.files.iter().find(|f| f.dir).unwrap().name;
    let sub = s.browse_backup(alpha, backup, dir).await.unwrap();
    let file = format!("{dir}/{}", sub.files.iter().find(|f| !f.dir).unwrap().name);
    let report = s.status_report().await.unwrap();
    sim.reset_counters();
    Bench {
        sim,
        s,
        report,
        alpha,
        backup,
        file,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Bench {
    async fn read(&self) -> Result<usize, UrbackupError> {
        self.s.get_client_statuses().await.map(|v| v.len())
    }
    async fn write(&self) -> Result<bool, UrbackupError> {
        self.s
            .start_backups_from(&self.report, &[self.alpha], BackupType::IncrFile)
            .await
            .map(|r| r[0].start_ok)
    }
    fn dest(&self) -> PathBuf {
        self.dir.path().join("download.bin")
    }
    async fn download(&self) -> Result<u64, UrbackupError> {
        self.s
            .download_file(self.alpha, self.backup, &self.file, self.dest())
            .await
    }
    /// Backups of alpha that are running now (a write that ran shows here).
    async fn running(&self) -> usize {
        self.sim.advance(Duration::from_millis(500));
        self.s.client_actions(self.alpha).await.unwrap().len()
    }
    fn no_partial_file(&self) {
        assert!(!self.dest().exists(), "nothing under the final name");
        assert_eq!(
            std::fs::read_dir(self.dir.path()).unwrap().count(),
            0,
            "no temporary file left"
        );
    }
}

fn on(action: &str, fault: Fault) -> FaultRule {
    FaultRule::new(fault).action(action)
}

async fn timed<T>(f: impl std::future::Future<Output = T>) -> (T, Duration) {
    let t = Instant::now();
    let r = f.await;
    (r, t.elapsed())
}

// ---- delay past the timeout ----

#[tokio::test]
async fn delay_past_timeout() {
    let b = bench().await;
    b.s.login_typed().await.unwrap();
    b.sim
        .inject(on("status", Fault::Delay(Duration::from_secs(5))));
    let (r, t) = timed(b.read()).await;
    assert!(
        matches!(
            r,
            Err(UrbackupError::Timeout {
                outcome_unknown: false,
                ..
            })
        ),
        "{r:?}"
    );
    assert!(t < TIMEOUT + MARGIN, "{t:?}");
    assert_eq!(b.sim.requests("status"), 1, "timeouts are not retried");

    b.sim
        .inject(on("start_backup", Fault::Delay(Duration::from_secs(5))));
    let (r, t) = timed(b.write()).await;
    match r {
        Err(e @ UrbackupError::Timeout { .. }) => {
            assert!(e.outcome_unknown() && e.to_string().contains("check"))
        }
        other => panic!("{other:?}"),
    }
    assert!(t < TIMEOUT + MARGIN, "{t:?}");
    assert_eq!(b.sim.requests("start_backup"), 1);

    b.sim
        .inject(on("backups", Fault::Delay(Duration::from_secs(5))));
    let (r, t) = timed(b.download()).await;
    assert!(matches!(r, Err(UrbackupError::Timeout { .. })), "{r:?}");
    assert!(t < TIMEOUT + MARGIN, "{t:?}");
    b.no_partial_file();
}

// ---- stall in the middle of the body ----

#[tokio::test]
async fn stall_mid_body() {
    let b = bench().await;
    b.s.login_typed().await.unwrap();
    b.sim.inject(on("status", Fault::StallMidBody));
    let (r, t) = timed(b.read()).await;
    assert!(matches!(r, Err(UrbackupError::Timeout { .. })), "{r:?}");
    assert!(t < TIMEOUT + MARGIN, "{t:?}");

    b.sim.inject(on("start_backup", Fault::StallMidBody));
    let (r, t) = timed(b.write()).await;
    assert!(matches!(&r, Err(e) if e.outcome_unknown()), "{r:?}");
    assert!(t < TIMEOUT + MARGIN, "{t:?}");
    assert_eq!(b.sim.requests("start_backup"), 1);
    assert_eq!(
        b.running().await,
        1,
        "the server did start it: the caller was told to check"
    );

    b.sim.inject(on("backups", Fault::StallMidBody));
    let (r, t) = timed(b.download()).await;
    assert!(matches!(r, Err(UrbackupError::Timeout { .. })), "{r:?}");
    assert!(t < TIMEOUT + MARGIN, "{t:?}");
    b.no_partial_file();
}

// ---- connection reset ----

#[tokio::test]
async fn reset_connection() {
    let b = bench().await;
    b.s.login_typed().await.unwrap();
    b.sim.inject(on("status", Fault::ResetConnection).times(1));
    assert_eq!(b.read().await.unwrap(), 3, "a read recovers");
    assert_eq!(b.sim.requests("status"), 2);

    b.sim
        .inject(on("start_backup", Fault::ResetConnection).times(1));
    let r = b.write().await;
    match &r {
        Err(e @ UrbackupError::Transport { .. }) => assert!(e.outcome_unknown(), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(b.sim.requests("start_backup"), 1, "a write is not repeated");
    assert_eq!(b.running().await, 0, "the reset request was not processed");

    b.sim.inject(on("backups", Fault::ResetConnection).times(1));
    assert!(b.download().await.unwrap() > 0, "a download recovers");
    assert!(b.dest().exists());
}

// ---- connections refused ----

#[tokio::test]
async fn refused_connections() {
    let b = bench().await;
    b.s.login_typed().await.unwrap();
    b.sim.inject(FaultRule::new(Fault::RefuseConnections));
    let (r, t) = timed(b.read()).await;
    assert!(matches!(r, Err(UrbackupError::Transport { .. })), "{r:?}");
    assert!(t < TIMEOUT + MARGIN, "{t:?}");
    let r = b.write().await;
    assert!(matches!(r, Err(UrbackupError::Transport { .. })), "{r:?}");
    let r = b.download().await;
    assert!(matches!(r, Err(UrbackupError::Transport { .. })), "{r:?}");
    b.no_partial_file();
    b.sim.clear_faults();
    assert_eq!(b.running().await, 0, "nothing was started");
    b.sim
        .inject(FaultRule::new(Fault::RefuseConnections).times(1));
    assert_eq!(
        b.read().await.unwrap(),
        3,
        "a read recovers from one refusal"
    );
}

// ---- HTTP 502 with an HTML page ----

#[tokio::test]
async fn bad_gateway() {
    let b = bench().await;
    b.s.login_typed().await.unwrap();
    b.sim.inject(on("status", Fault::BadGateway));
    let r = b.read().await;
    assert!(
        matches!(r, Err(UrbackupError::HttpStatus { status: 502, .. })),
        "{r:?}"
    );
    assert_eq!(b.sim.requests("status"), 3, "two bounded retries");

    b.sim.inject(on("start_backup", Fault::BadGateway));
    let r = b.write().await;
    assert!(
        matches!(r, Err(UrbackupError::HttpStatus { status: 502, .. })),
        "{r:?}"
    );
    assert_eq!(b.sim.requests("start_backup"), 1);

    b.sim.inject(on("backups", Fault::BadGateway));
    let r = b.download().await;
    assert!(
        matches!(r, Err(UrbackupError::HttpStatus { status: 502, .. })),
        "{r:?}"
    );
    b.no_partial_file();
}

// ---- invalid and truncated JSON ----

#[tokio::test]
async fn invalid_and_truncated_json() {
    for fault in [Fault::InvalidJson, Fault::TruncatedJson] {
        let b = bench().await;
        b.s.login_typed().await.unwrap();
        b.sim.inject(on("status", fault.clone()));
        let r = b.read().await;
        assert!(
            matches!(r, Err(UrbackupError::UnexpectedResponse { .. })),
            "{fault:?} {r:?}"
        );
        b.sim.inject(on("start_backup", fault.clone()));
        let r = b.write().await;
        assert!(
            matches!(r, Err(UrbackupError::UnexpectedResponse { .. })),
            "{fault:?} {r:?}"
        );
        assert_eq!(b.sim.requests("start_backup"), 1, "{fault:?}");
        // A download's body is not JSON; its error replies are: a broken one is an error too.
        b.sim.inject(on("backups", fault.clone()));
        let r =
            b.s.download_file(b.alpha, BackupRef::File(999), "/x", b.dest())
                .await;
        assert!(r.is_err(), "{fault:?}");
        b.no_partial_file();
    }
}

// ---- valid JSON with the wrong types ----

#[tokio::test]
async fn wrong_json_types_never_panic() {
    let b = bench().await;
    b.s.login_typed().await.unwrap();
    b.sim.inject(FaultRule::new(Fault::WrongTypes));
    for r in [
        b.read().await.map(|_| ()),
        b.write().await.map(|_| ()),
        b.s.get_actions_typed().await.map(|_| ()),
        b.s.get_usage_typed().await.map(|_| ()),
        b.s.get_backups(b.alpha).await.map(|_| ()),
        b.s.get_users().await.map(|_| ()),
        b.s.get_global_settings_typed().await.map(|_| ()),
        b.s.last_activities().await.map(|_| ()),
        b.s.get_livelog_typed(b.alpha).await.map(|_| ()),
    ] {
        // Tolerated (numbers as strings) or a clear decoding error; never a panic.
        if let Err(e) = r {
            assert!(
                matches!(
                    e,
                    UrbackupError::UnexpectedResponse { .. }
                        | UrbackupError::AccessDenied { .. }
                        | UrbackupError::Server { .. }
                ),
                "{e:?}"
            );
        }
    }
}

// ---- session invalidated, server restart ----

#[tokio::test]
async fn session_invalidated_and_restart() {
    for restart in [false, true] {
        let b = bench().await;
        b.s.login_typed().await.unwrap();
        let logins = b.sim.logins();
        let lose = || {
            if restart {
                b.sim.restart()
            } else {
                b.sim.invalidate_sessions()
            }
        };
        lose();
        assert_eq!(b.read().await.unwrap(), 3);
        lose();
        assert!(b.write().await.unwrap());
        assert_eq!(b.running().await, 1, "started exactly once");
        lose();
        assert!(b.download().await.unwrap() > 0);
        assert_eq!(b.sim.logins(), logins + 3, "one new login per loss");
        // start_backup: one refused (empty reply, nothing done), one that ran.
        assert_eq!(b.sim.requests("start_backup"), 2);
    }
}

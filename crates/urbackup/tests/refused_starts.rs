//! Starts the server would accept and never run are not sent ([`urbackup::StartRefusal`]), on
//! every surface (typed, legacy, batch; async and blocking), against the simulator speaking
//! 2.4 (where an image start of a client without image support would stop its file backups)
//! and 2.5. The simulator counts the `start_backup` requests that reach it, and in 2.4 mode
//! holds such a start as the real server does: a test fails if one is ever sent.

mod common;
use common::*;
use std::time::Duration;
use urbackup::{
    BackupType, ServerGeneration, SettingValue, StartRefusal, UrbackupError, UrbackupServer,
};
use urbackup_sim::ServerVersion;

const VERSIONS: [(ServerVersion, ServerGeneration); 2] = [
    (ServerVersion::V2_4, ServerGeneration::V2_4),
    (ServerVersion::V2_5, ServerGeneration::V2_5),
];

async fn start_sim(v: ServerVersion) -> SimServer {
    scene()
        .server_version(v)
        .start()
        .await
        .expect("simulator starts")
}

/// The error of a refused start: [`UrbackupError::Unsupported`] of generation `g`, naming the
/// client and the reason.
fn assert_refused(
    r: Result<impl std::fmt::Debug, UrbackupError>,
    g: ServerGeneration,
    client: &str,
    why: StartRefusal,
) {
    match r {
        Err(e @ UrbackupError::Unsupported { server, .. }) => {
            assert_eq!(server, g, "{e}");
            let text = e.to_string();
            assert!(
                text.contains(&format!("`{client}` ({})", why.reason())),
                "{text}"
            );
            assert!(text.contains("not sent"), "{text}");
        }
        other => panic!("expected a refusal of `{client}`: {other:?}"),
    }
}

/// No start reached the simulator, and no client holds one (live log and state agree).
fn nothing_sent(sim: &SimServer) {
    assert_eq!(sim.requests("start_backup"), 0);
    sim.with_state(|st| {
        assert!(st.pending_starts.is_empty());
        assert!(st.processes.is_empty());
    });
}

/// Starts an incremental file backup of `name` and runs the clock until it is listed.
async fn a_file_backup_runs(sim: &SimServer, s: &UrbackupServer, name: &str) {
    let id = sim.client_id(name).unwrap();
    let before = s.get_backups(id).await.unwrap().len();
    assert!(s
        .start_backup_typed(name, BackupType::IncrFile)
        .await
        .unwrap());
    assert_eq!(s.client_actions(id).await.unwrap().len(), 1, "it runs");
    finish_actions(sim, s, id).await;
    assert_eq!(s.get_backups(id).await.unwrap().len(), before + 1);
}

#[tokio::test]
async fn an_image_backup_of_a_client_without_image_support_is_never_sent() {
    for (v, g) in VERSIONS {
        let sim = start_sim(v).await;
        let s = admin(&sim);
        let (alpha, beta) = (
            sim.client_id("alpha").unwrap(),
            sim.client_id("beta").unwrap(),
        );
        let why = StartRefusal::ImagesNotSupported;
        for t in [BackupType::IncrImage, BackupType::FullImage] {
            assert_refused(s.start_backup_typed("beta", t).await, g, "beta", why);
            assert_refused(s.start_backups(&[beta], t).await, g, "beta", why);
            // One refused client: nothing is sent for the others either.
            assert_refused(s.start_backups(&[alpha, beta], t).await, g, "beta", why);
        }
        assert!(!s.start_incr_image_backup("beta").await);
        assert!(!s.start_full_image_backup("beta").await);
        nothing_sent(&sim);
        assert_eq!(s.server_generation().await.unwrap(), Some(g));
        // The client's file backups run: typed, legacy, batch.
        a_file_backup_runs(&sim, &s, "beta").await;
        assert!(s.start_full_file_backup("beta").await);
        finish_actions(&sim, &s, beta).await;
        let r = s
            .start_backups(&[beta], BackupType::IncrFile)
            .await
            .unwrap();
        assert!(r[0].start_ok);
        finish_actions(&sim, &s, beta).await;
        assert_eq!(s.get_backups(beta).await.unwrap().len(), 3, "{v}");
        // A client that can do them gets its image backup.
        assert!(s.start_incr_image_backup("alpha").await);
        finish_actions(&sim, &s, alpha).await;
        assert_eq!(s.get_image_backups(alpha).await.unwrap().len(), 1);
        assert_eq!(sim.requests("start_backup"), 4);
    }
}

#[tokio::test]
async fn a_kind_switched_off_on_the_server_is_never_started() {
    for (v, g) in VERSIONS {
        let sim = start_sim(v).await;
        let s = admin(&sim);
        let alpha = sim.client_id("alpha").unwrap();
        // Images off: an image start would wait and block alpha's file backups.
        s.set_global_setting_typed("no_images", SettingValue::Bool(true))
            .await
            .unwrap();
        let why = StartRefusal::ImagesSwitchedOff;
        assert_refused(
            s.start_backup_typed("alpha", BackupType::FullImage).await,
            g,
            "alpha",
            why,
        );
        assert!(!s.start_incr_image_backup("alpha").await);
        // Linux beta: its own incapacity is the reason named.
        assert_refused(
            s.start_backup_typed("beta", BackupType::IncrImage).await,
            g,
            "beta",
            StartRefusal::ImagesNotSupported,
        );
        nothing_sent(&sim);
        a_file_backup_runs(&sim, &s, "alpha").await;
        s.set_global_setting_typed("no_images", SettingValue::Bool(false))
            .await
            .unwrap();
        // File backups off: a file start would never run.
        s.set_global_setting_typed("no_file_backups", SettingValue::Bool(true))
            .await
            .unwrap();
        sim.reset_counters();
        let why = StartRefusal::FileBackupsSwitchedOff;
        for t in [BackupType::IncrFile, BackupType::FullFile] {
            assert_refused(s.start_backup_typed("alpha", t).await, g, "alpha", why);
            assert_refused(s.start_backups(&[alpha], t).await, g, "alpha", why);
        }
        assert!(!s.start_incr_file_backup("alpha").await);
        assert!(!s.start_full_file_backup("alpha").await);
        assert_eq!(sim.requests("start_backup"), 0);
        // Images are on again and run.
        assert!(s.start_full_image_backup("alpha").await, "{v}");
        finish_actions(&sim, &s, alpha).await;
        assert_eq!(s.get_image_backups(alpha).await.unwrap().len(), 1);
        s.set_global_setting_typed("no_file_backups", SettingValue::Bool(false))
            .await
            .unwrap();
        a_file_backup_runs(&sim, &s, "alpha").await;
        sim.with_state(|st| assert!(st.pending_starts.is_empty()));
    }
}

#[test]
fn the_blocking_facade_refuses_alike() {
    for (v, g) in VERSIONS {
        let sim = scene()
            .server_version(v)
            .start_blocking()
            .expect("simulator");
        let s = urbackup::blocking::UrbackupServer::builder(&sim.url())
            .credentials(ADMIN.0, ADMIN.1)
            .build_blocking()
            .unwrap();
        let beta = sim.client_id("beta").unwrap();
        let why = StartRefusal::ImagesNotSupported;
        assert_refused(
            s.start_backup_typed("beta", BackupType::IncrImage),
            g,
            "beta",
            why,
        );
        assert_refused(
            s.start_backups(&[beta], BackupType::FullImage),
            g,
            "beta",
            why,
        );
        assert!(!s.start_incr_image_backup("beta"));
        assert!(!s.start_full_image_backup("beta"));
        nothing_sent(&sim);
        assert!(s.start_incr_file_backup("beta"));
        for _ in 0..10 {
            sim.advance(Duration::from_secs(5));
        }
        assert_eq!(s.get_backups(beta).unwrap().len(), 1, "{v}");
    }
}

/// The rule on what a `status` reply says, for the callers that hold one (the CLI, the
/// console): the same answer as the calls above.
#[tokio::test]
async fn the_rule_reads_the_status_reply() {
    for (v, _) in VERSIONS {
        let sim = start_sim(v).await;
        let s = admin(&sim);
        let report = s.status_report().await.unwrap();
        let sw = urbackup::ServerSwitches::from(&report);
        let c = |n: &str| report.status.iter().find(|c| c.name == n).unwrap();
        use urbackup::BackupKind::{File, Image};
        assert_eq!(
            c("beta").start_refusal(Image, sw),
            Some(StartRefusal::ImagesNotSupported),
            "{v}"
        );
        assert_eq!(c("beta").start_refusal(File, sw), None);
        assert_eq!(c("alpha").start_refusal(Image, sw), None);
        let health = urbackup::HealthPolicy::default().fleet(&report, 0);
        let h = |n: &str| health.iter().find(|h| h.name == n).unwrap();
        assert_eq!(
            h("beta").start_refusal(Image, sw),
            Some(StartRefusal::ImagesNotSupported)
        );
        assert_eq!(h("alpha").start_refusal(Image, sw), None);
        // A caller holding the reply starts on it: the same refusal, nothing sent.
        let (alpha, beta) = (c("alpha").id, c("beta").id);
        sim.reset_counters();
        assert_refused(
            s.start_backups_from(&report, &[alpha, beta], BackupType::FullImage)
                .await,
            report.generation.unwrap(),
            "beta",
            StartRefusal::ImagesNotSupported,
        );
        nothing_sent(&sim);
        assert_eq!(sim.total_requests(), 0, "judged on the reply held");
        let r = s
            .start_backups_from(&report, &[alpha, beta], BackupType::FullFile)
            .await
            .unwrap();
        assert!(r.iter().all(|r| r.start_ok) && r.len() == 2);
        assert_eq!(sim.total_requests(), 1);
    }
}

//! Restores as the real 2.5 server runs them: a single file goes as its folder plus a filter,
//! the outcome comes from the restore's own log, and a client that confirms restores itself
//! keeps them waiting for a person.

mod common;
use common::*;
use std::time::Duration;
use urbackup::{BackupRef, BackupType, RestorePhase, UrbackupError, UrbackupServer};

/// Clients `alpha` (lets the server confirm restores) and `delta` (a person must confirm
/// them), each with one file backup; the clock runs 20 times faster than real time.
async fn scene_with_backups() -> (SimServer, UrbackupServer) {
    let sim = Simulator::builder()
        .client(ClientSpec::new("alpha").online(true).backups(1, 0))
        .client(
            ClientSpec::new("delta")
                .online(true)
                .backups(1, 0)
                .restores_confirmed_at_client(),
        )
        .admin(ADMIN.0, ADMIN.1)
        .login_failure_delay(Duration::ZERO)
        .time_scale(20.0)
        .backup_duration(Duration::from_secs(20))
        .livelog_wait(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let s = admin(&sim);
    (sim, s)
}

/// The newest backup of `clientid`, a file in it and the folder holding that file.
async fn a_file_and_a_folder(s: &UrbackupServer, clientid: i64) -> (i64, String, String) {
    let b = s.get_backups(clientid).await.unwrap()[0].id;
    let mut folder = String::new();
    for _ in 0..8 {
        let l = s
            .browse_backup(clientid, BackupRef::File(b), &folder)
            .await
            .unwrap();
        if let Some(f) = l
            .files
            .iter()
            .find(|f| !f.dir)
            .filter(|_| !folder.is_empty())
        {
            return (b, format!("{folder}/{}", f.name), folder);
        }
        let sub = l.files.iter().find(|f| f.dir).expect("a folder");
        folder = format!("{folder}/{}", sub.name);
    }
    panic!("no file found in backup {b}");
}

const POLL: Duration = Duration::from_millis(50);
const LIMIT: Option<Duration> = Some(Duration::from_secs(20));

#[tokio::test]
async fn a_single_file_goes_as_folder_and_filter_and_succeeds() {
    let (sim, s) = scene_with_backups().await;
    let alpha = sim.client_id("alpha").unwrap();
    let (b, file, folder) = a_file_and_a_folder(&s, alpha).await;
    let started = s.restore_files(alpha, b, &file, None).await.unwrap();
    assert_eq!(started.path, folder);
    assert_eq!(started.filter.as_deref(), file.rsplit('/').next());
    assert!(!started.needs_client_confirmation);
    let mut phases = Vec::new();
    let outcome = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |p, _| phases.push(p))
        .await
        .unwrap()
        .expect("the restore ends");
    assert!(outcome.succeeded(), "{outcome:?}");
    assert_eq!(outcome.errors().count(), 0);
    assert!(outcome.log.restore);
    assert!(phases.contains(&RestorePhase::Running), "{phases:?}");
    // The server names the restore by folder and filter, as for the web interface.
    let act = s
        .last_activities()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.restore)
        .unwrap();
    assert_eq!(format!("/{}", act.details), file);
}

#[tokio::test]
async fn a_folder_restore_succeeds() {
    let (sim, s) = scene_with_backups().await;
    let alpha = sim.client_id("alpha").unwrap();
    let (b, _, folder) = a_file_and_a_folder(&s, alpha).await;
    let started = s.restore_files(alpha, b, &folder, None).await.unwrap();
    assert_eq!(
        (started.path.as_str(), started.filter.as_deref()),
        (folder.as_str(), None)
    );
    let outcome = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.succeeded(), "{outcome:?}");
}

/// What the real server does with a file sent as `path` (the request this crate used to send):
/// "ok" with a wait key, then a failed restore whose only trace is its log.
#[tokio::test]
async fn the_simulator_fails_a_file_sent_as_path_like_the_real_server() {
    let (sim, s) = scene_with_backups().await;
    let alpha = sim.client_id("alpha").unwrap();
    let (b, file, _) = a_file_and_a_folder(&s, alpha).await;
    // An empty filter is no filter for the server: the file itself goes as `path`.
    let started = s
        .restore_files(alpha, b, &file, Some(""))
        .await
        .expect("the server answers ok");
    assert!(!started.wait_key.is_empty());
    let outcome = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |_, _| {})
        .await
        .unwrap()
        .expect("the failure is logged at once");
    assert!(!outcome.succeeded());
    assert_eq!(outcome.log.errors, 1);
    let why: Vec<_> = outcome.errors().map(|l| l.message.clone()).collect();
    assert!(
        why[0].starts_with("Cannot read files from folder ")
            && why[0].ends_with("Cannot start restore."),
        "{why:?}"
    );
    // lastacts lists it like a successful restore: no proof either way.
    let act = s
        .last_activities()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.restore)
        .unwrap();
    assert_eq!((act.size_bytes, act.duration), (-1, 0));
}

#[tokio::test]
async fn a_filter_naming_nothing_fails_on_the_client() {
    let (sim, s) = scene_with_backups().await;
    let alpha = sim.client_id("alpha").unwrap();
    let (b, _, folder) = a_file_and_a_folder(&s, alpha).await;
    let started = s
        .restore_files(alpha, b, &folder, Some("no-such-file.txt"))
        .await
        .unwrap();
    let o = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(!o.succeeded());
    assert!(
        o.errors()
            .any(|l| l.message.starts_with("Error enumerating files")),
        "{o:?}"
    );
}

#[tokio::test]
async fn a_restore_the_client_must_confirm_waits_until_someone_says_yes() {
    let (sim, s) = scene_with_backups().await;
    let delta = sim.client_id("delta").unwrap();
    let (b, _, folder) = a_file_and_a_folder(&s, delta).await;
    let started = s.restore_files(delta, b, &folder, None).await.unwrap();
    assert!(started.needs_client_confirmation);
    let mut phases = Vec::new();
    let waited = s
        .wait_for_restore_outcome(&started, POLL, Some(Duration::from_secs(2)), |p, _| {
            phases.push(p)
        })
        .await
        .unwrap();
    assert!(waited.is_none(), "nobody confirmed: {waited:?}");
    assert_eq!(phases.last(), Some(&RestorePhase::Queued), "{phases:?}");
    assert_eq!(sim.answer_restore("delta", true), 1);
    let outcome = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(outcome.succeeded(), "{outcome:?}");
}

#[tokio::test]
async fn a_denied_restore_is_a_failure() {
    let (sim, s) = scene_with_backups().await;
    let delta = sim.client_id("delta").unwrap();
    let (b, file, _) = a_file_and_a_folder(&s, delta).await;
    let started = s.restore_files(delta, b, &file, None).await.unwrap();
    s.wait_for_restore(&started, Duration::from_secs(10))
        .await
        .unwrap();
    // Wait for the restore to show up before answering.
    for _ in 0..100 {
        if !s.client_actions(delta).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    assert_eq!(sim.answer_restore("delta", false), 1);
    let outcome = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(!outcome.succeeded());
}

#[tokio::test]
async fn missing_paths_and_offline_clients_are_refused_before_any_start() {
    let (sim, s) = scene_with_backups().await;
    let alpha = sim.client_id("alpha").unwrap();
    let b = s.get_backups(alpha).await.unwrap()[0].id;
    let before = sim.requests("backups");
    let e = s
        .restore_files(alpha, b, "/no/such/file.txt", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no `/no/such/file.txt`"), "{e}");
    sim.set_online("alpha", false);
    let e = s.restore_files(alpha, b, "/", None).await.unwrap_err();
    assert!(matches!(e, UrbackupError::Server { .. }), "{e}");
    assert!(e.to_string().contains("cannot take a restore"), "{e}");
    // Only listings were sent: two browses, no clientdl.
    assert_eq!(sim.requests("backups") - before, 2);
    assert!(s
        .last_activities()
        .await
        .unwrap()
        .iter()
        .all(|a| !a.restore));
}

#[tokio::test]
async fn restores_after_a_backup_made_here() {
    // The same flow on a backup the simulator made during the test (not a seeded one).
    let (sim, s) = scene_with_backups().await;
    let alpha = sim.client_id("alpha").unwrap();
    assert!(s
        .start_backup_typed("alpha", BackupType::IncrFile)
        .await
        .unwrap());
    for _ in 0..200 {
        if s.get_backups(alpha).await.unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let (b, file, _) = a_file_and_a_folder(&s, alpha).await;
    let started = s.restore_files(alpha, b, &file, None).await.unwrap();
    let o = s
        .wait_for_restore_outcome(&started, POLL, LIMIT, |_, _| {})
        .await
        .unwrap()
        .unwrap();
    assert!(o.succeeded(), "{o:?}");
}

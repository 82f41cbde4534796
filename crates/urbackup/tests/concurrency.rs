//! One handle shared by many tasks: one login, then one re-login after the server forgot
//! every session.

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_one_login() {
    let sim = start().await;
    let s = admin(&sim);
    let run =
        |s: urbackup::UrbackupServer| async move { s.get_client_statuses().await.map(|v| v.len()) };
    let handles: Vec<_> = (0..64).map(|_| tokio::spawn(run(s.clone()))).collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), 3);
    }
    assert_eq!(sim.logins(), 1, "concurrent callers share one login");

    sim.invalidate_sessions();
    sim.reset_counters();
    let handles: Vec<_> = (0..64).map(|_| tokio::spawn(run(s.clone()))).collect();
    for h in handles {
        assert_eq!(h.await.unwrap().unwrap(), 3, "every call succeeds");
    }
    assert_eq!(sim.logins(), 1, "exactly one new login");
}

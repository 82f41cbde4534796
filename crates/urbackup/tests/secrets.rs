//! The password, the session id and basic-auth credentials never appear in logs (at any
//! level, including what dependencies log through `log`), error messages or `Debug` output.

mod common;
use common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use urbackup::{BackupType, UrbackupServer};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const PASSWORD: &str = "Tr0ub4dor&3-very-secret";
const BASIC_PW: &str = "basic-pass-Xy9";

#[tokio::test]
async fn no_secret_in_logs_errors_or_debug() {
    let sim = Simulator::builder()
        .client(ClientSpec::new("alpha").online(true))
        .admin("admin", PASSWORD)
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .start()
        .await
        .unwrap();
    let logs = Capture::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // Dependencies (rustls) log through `log`: route it into the same capture, at every level.
    tracing_log::LogTracer::init().unwrap();
    log::set_max_level(log::LevelFilter::Trace);

    let s = UrbackupServer::builder(&sim.url())
        .credentials("admin", PASSWORD)
        .basic_auth("proxy", BASIC_PW)
        .build()
        .unwrap();
    let mut texts = vec![format!("{s:?}")];
    s.get_client_statuses().await.unwrap();
    assert!(s
        .start_backup_typed("alpha", BackupType::IncrFile)
        .await
        .unwrap());
    // Errors of every kind, and the legacy surface's logged failures.
    sim.inject(FaultRule::new(Fault::InvalidJson).action("status").times(1));
    texts.push(s.get_client_statuses().await.unwrap_err().to_string());
    sim.inject(FaultRule::new(Fault::BadGateway).action("progress"));
    texts.push(format!("{:?}", s.get_actions_typed().await.unwrap_err()));
    assert!(s.get_actions().await.is_none());
    sim.clear_faults();
    sim.invalidate_sessions();
    s.get_client_statuses().await.unwrap();
    let wrong = UrbackupServer::new(&sim.url(), "admin", "wrong-password-Q").unwrap();
    texts.push(wrong.login_typed().await.unwrap_err().to_string());
    assert!(!wrong.login().await);
    let dir = tempfile::tempdir().unwrap();
    s.download_client_installer(1, urbackup::InstallerOS::Linux, dir.path().join("i"))
        .await
        .unwrap();

    let sessions: Vec<String> = sim.with_state(|st| st.sessions.keys().cloned().collect());
    assert!(!sessions.is_empty());
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("request"), "trace logs were captured");
    for haystack in texts.iter().chain(std::iter::once(&logged)) {
        for secret in [PASSWORD, BASIC_PW, "wrong-password-Q"] {
            assert!(!haystack.contains(secret), "secret leaked into: {haystack}");
        }
        for ses in &sessions {
            assert!(
                !haystack.contains(ses.as_str()),
                "session id leaked into: {haystack}"
            );
        }
    }
}

//! `scripts/real-server-tour.sh`, the CLI tour run against real servers, run here against
//! the simulator, speaking 2.5 and 2.4, so that it keeps working between real-server runs. The
//! tour client's backups hold a Latin-1 file name, as the real test clients' do.

use std::process::Command;
use std::time::Duration;
use urbackup_sim::{ClientSpec, ServerVersion, Simulator};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_real_server_tour_passes_against_the_simulator() {
    if !have("bash") || !have("python3") {
        eprintln!("skipped: the tour needs bash and python3");
        return;
    }
    for version in [ServerVersion::V2_5, ServerVersion::V2_4] {
        tour(version);
    }
}

fn tour(version: ServerVersion) {
    let sim = Simulator::builder()
        .server_version(version)
        .client(
            ClientSpec::new("tourclient")
                .linux()
                .backups(2, 0)
                .latin1_file(),
        )
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .backup_duration(Duration::from_secs(2))
        .livelog_wait(Duration::from_millis(300))
        .start_blocking()
        .expect("simulator starts");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/real-server-tour.sh"
    );
    // The tour runs with the session cache on, in a directory of its own.
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_urbackup"))
        .env("URBACKUP_URL", sim.url())
        .env("URBACKUP_USER", "admin")
        .env("URBACKUP_PASSWORD", "secret")
        .env("TOUR_CLIENT", "tourclient")
        .env_remove("TOUR_CLIENT_DIR")
        .env_remove("URBACKUP_CONFIG")
        .env_remove("URBACKUP_PROFILE")
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-cli-tests")
        .env("HOME", "/nonexistent/urbackup-cli-tests")
        .env("URBACKUP_SESSION_DIR", cache.path())
        .env_remove("URBACKUP_NO_SESSION_CACHE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{version}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 failed"), "{version}: {stdout}");
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // The Linux tour client's image backup is refused, and its file backup then runs.
    assert!(
        stdout.contains("ok   image backup refused, not sent"),
        "{version}: {stdout}"
    );
}

//! `console user ...` run by root on the database of another user (the Debian package's
//! `urbackup` service user) is refused with the command to use instead, and creates nothing:
//! files SQLite made as root would leave the service unable to write its database.

#[cfg(unix)]
#[test]
fn root_does_not_touch_another_users_database() {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        // Only root can hand a directory to another user; CI runs as root.
        eprintln!("not root: nothing to test here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    // nobody (65534) owns the directory, as `urbackup` owns /var/lib/urbackup.
    std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
    let db = state.join("console.sqlite3");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args([
            "console",
            "user",
            "add",
            "ann",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .arg("--db")
        .arg(&db)
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-owner-tests")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("belongs to user id 65534, not root")
            && stderr.contains("runuser -u urbackup -- urbackup console user"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(&state).unwrap().count(),
        0,
        "nothing created"
    );
    // The same directory owned by root: the user is added.
    std::os::unix::fs::chown(&state, Some(0), Some(0)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_urbackup"))
        .args([
            "console",
            "user",
            "add",
            "ann",
            "--role",
            "admin",
            "--password-stdin",
        ])
        .arg("--db")
        .arg(&db)
        .env("XDG_CONFIG_HOME", "/nonexistent/urbackup-owner-tests")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"ann-password-1\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::metadata(&db).unwrap().uid(), 0);
}

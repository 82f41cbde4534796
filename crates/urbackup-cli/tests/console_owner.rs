//! `console user ...` run by root on the database of another user (the Debian package's
//! `urbackup` service user) is refused with the command to use instead, and creates nothing:
//! files SQLite made as root would leave the service unable to write its database.

mod common;

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
    let db = state.join("console.sqlite3");
    let add = || {
        let mut c = common::urbackup();
        c.args(["console", "user", "add", "ann", "--role", "admin"])
            .arg("--db")
            .arg(&db)
            .arg("--password-stdin")
            .write_stdin("ann-password-1\n");
        c
    };
    // nobody (65534) owns the directory, as `urbackup` owns /var/lib/urbackup.
    std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
    let out = add().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("belongs to user id 65534, not root")
            && stderr.contains("runuser -u urbackup -- urbackup console user"),
        "{stderr}"
    );
    let created = std::fs::read_dir(&state).unwrap().count();
    assert_eq!(created, 0, "nothing created");
    // The same directory owned by root: the user is added.
    std::os::unix::fs::chown(&state, Some(0), Some(0)).unwrap();
    add().assert().success();
    assert_eq!(std::fs::metadata(&db).unwrap().uid(), 0);
}

//! `urbackup backups versions CLIENT PATH` against the simulator, run as a process: the table,
//! JSON and CSV, a name that is not UTF-8, a path no backup holds (exit 1).

use std::time::Duration;
use urbackup_sim::{ClientSpec, SimServer, Simulator};

mod common;

fn sim() -> SimServer {
    Simulator::builder()
        .client(
            ClientSpec::new("pc")
                .backups(4, 0)
                .file_versions(
                    "/C/docs/plan.txt",
                    &[
                        None,
                        Some(b"one".to_vec()),
                        Some(b"one".to_vec()),
                        Some(b"two!".to_vec()),
                    ],
                )
                .file(r"/C/docs/caf\xE9.txt", "latin-1"),
        )
        .admin("admin", "secret")
        .login_failure_delay(Duration::ZERO)
        .start_blocking()
        .expect("simulator starts")
}

fn cli(sim: &SimServer, args: &[&str]) -> std::process::Output {
    common::urbackup()
        .args(["--url", &sim.url(), "--user", "admin"])
        .env("URBACKUP_PASSWORD", "secret")
        .args(args)
        .output()
        .unwrap()
}

fn ok(sim: &SimServer, args: &[&str]) -> String {
    let out = cli(sim, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn versions_as_table_json_and_csv() {
    let sim = sim();
    let id = sim.client_id("pc").unwrap();
    let ids: Vec<i64> = sim.with_state(|s| {
        s.clients[&id]
            .file_backups
            .iter()
            .rev()
            .map(|b| b.id)
            .collect()
    });
    let json: serde_json::Value = serde_json::from_str(&ok(
        &sim,
        &[
            "backups",
            "versions",
            "pc",
            "C/docs/plan.txt",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    let rows = json.as_array().unwrap();
    // Newest first; the oldest backup does not hold it.
    let got: Vec<(i64, i64, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["backup_id"].as_i64().unwrap(),
                r["size_bytes"].as_i64().unwrap(),
                r["changed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![(ids[0], 4, true), (ids[1], 3, false), (ids[2], 3, true)]
    );
    assert!(rows[0]["sha"].is_string() && rows[0]["modified"].is_i64());

    let table = ok(&sim, &["backups", "versions", "pc", "/C/docs/plan.txt"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("BACKUP") && lines[0].ends_with("CHANGED"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[1].ends_with("yes") && lines[2].ends_with("no"),
        "{table}"
    );

    let csv = ok(
        &sim,
        &[
            "backups",
            "versions",
            "pc",
            "C/docs/plan.txt",
            "--output",
            "csv",
        ],
    );
    assert!(
        csv.starts_with("backup_id,time,size_bytes,modified,changed"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4);

    // The name as the listings show it reaches the file.
    let latin: serde_json::Value = serde_json::from_str(&ok(
        &sim,
        &[
            "backups",
            "versions",
            "pc",
            r"C/docs/caf\xE9.txt",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(latin.as_array().unwrap().len(), 4);

    // No backup holds it: one line, exit 1.
    let out = cli(&sim, &["backups", "versions", "pc", "C/docs/nope.txt"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("none of the 4 file backups of `pc` holds the file `/C/docs/nope.txt`"),
        "{err}"
    );
}

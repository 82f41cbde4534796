//! Files a test puts into a client's backups (`ClientSpec::file`, `file_versions`,
//! `large_file`, `wide_folder`): listed, downloaded and restored like the generated tree; a
//! large file streamed with its length announced; a download dropped in the middle.

mod common;

use common::*;
use std::time::Duration;
use urbackup_sim::{ClientSpec, Fault, FaultRule, SimServer, Simulator};

async fn sim() -> (SimServer, String, i64) {
    let sim = Simulator::builder()
        .client(
            ClientSpec::new("pc")
                .backups(3, 0)
                .file("/C/web/evil.html", "<script>alert(1)</script>")
                .file_versions(
                    "/C/docs/plan.txt",
                    &[None, Some(b"one".to_vec()), Some(b"two".to_vec())],
                )
                .large_file("/C/big/disk.img", 3 * 1024 * 1024 + 5)
                .wide_folder("/C/many", 1200)
                .file(r"/C/docs/caf\xE9.txt", "latin-1"),
        )
        .manual_clock()
        .start()
        .await
        .unwrap();
    let ses = login_anon(sim.addr()).await;
    let id = sim.client_id("pc").unwrap();
    (sim, ses, id)
}

fn backup_ids(sim: &SimServer, id: i64) -> Vec<i64> {
    sim.with_state(|s| s.clients[&id].file_backups.iter().map(|b| b.id).collect())
}

async fn files(sim: &SimServer, ses: &str, id: i64, backup: i64, path: &str) -> serde_json::Value {
    post(
        sim.addr(),
        "backups",
        &[
            ("ses", ses),
            ("sa", "files"),
            ("clientid", &id.to_string()),
            ("backupid", &backup.to_string()),
            ("path", path),
        ],
    )
    .await
    .json()
}

async fn download(sim: &SimServer, ses: &str, id: i64, backup: i64, path: &str) -> Resp {
    let target = format!(
        "/x?a=backups&ses={ses}&sa=filesdl&clientid={id}&backupid={backup}&{}",
        form(&[("path", path)])
    );
    get(sim.addr(), &target).await
}

#[tokio::test]
async fn extra_files_are_listed_and_downloaded() {
    let (sim, ses, id) = sim().await;
    let ids = backup_ids(&sim, id);
    assert_eq!(ids.len(), 3);
    // Beside the generated tree: the folders on the way are made.
    let root = files(&sim, &ses, id, ids[2], "/C").await;
    let names: Vec<&str> = root["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for n in ["web", "docs", "big", "many"] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let evil = download(&sim, &ses, id, ids[2], "/C/web/evil.html").await;
    assert_eq!(evil.body, b"<script>alert(1)</script>");
    assert_eq!(evil.content_type(), Some("application/octet-stream"));

    // The versions: absent from the first backup, then "one", then "two".
    let plan = |l: &serde_json::Value| {
        l["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == "plan.txt")
            .cloned()
    };
    assert!(plan(&files(&sim, &ses, id, ids[0], "/C/docs").await).is_none());
    let one = plan(&files(&sim, &ses, id, ids[1], "/C/docs").await).unwrap();
    let two = plan(&files(&sim, &ses, id, ids[2], "/C/docs").await).unwrap();
    assert_eq!(
        (one["size"].as_i64(), two["size"].as_i64()),
        (Some(3), Some(3))
    );
    assert_ne!(one["shahash"], two["shahash"]);
    assert!(one["mod"].as_i64() < two["mod"].as_i64());
    assert_eq!(
        download(&sim, &ses, id, ids[1], "/C/docs/plan.txt")
            .await
            .body,
        b"one"
    );
    assert_eq!(
        download(&sim, &ses, id, ids[2], "/C/docs/plan.txt")
            .await
            .body,
        b"two"
    );

    // A Latin-1 name in a path given with `\xHH`: its bytes on the wire.
    let docs = files(&sim, &ses, id, ids[2], "/C/docs").await;
    assert!(docs["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"].as_str() == Some(&urbackup_sim::bytes::latin1(r"caf\xE9.txt"))));

    // A folder of 1,200 files.
    let many = files(&sim, &ses, id, ids[0], "/C/many").await;
    assert_eq!(many["files"].as_array().unwrap().len(), 1200);
    let one_of_many = download(&sim, &ses, id, ids[0], "/C/many/file-01199.txt").await;
    assert!(!one_of_many.body.is_empty());

    // The large file: announced length, generated content, no hash in the listing.
    let len = 3 * 1024 * 1024 + 5;
    let big = download(&sim, &ses, id, ids[1], "/C/big/disk.img").await;
    assert_eq!(big.header("content-length"), Some(len.to_string().as_str()));
    assert_eq!(big.body.len(), len);
    let listed = files(&sim, &ses, id, ids[1], "/C/big").await;
    let entry = &listed["files"][0];
    assert_eq!(entry["size"].as_u64(), Some(len as u64));
    assert!(entry.get("shahash").is_none());
    // Any piece of the sequence can be made on its own.
    let piece = urbackup_sim::tree::generated(1234, 1_000_003, 100);
    let whole = urbackup_sim::tree::generated(1234, 0, 1_000_103);
    assert_eq!(piece, whole[1_000_003..]);
}

#[tokio::test]
async fn a_download_dropped_in_the_middle_ends_short() {
    let (sim, ses, id) = sim().await;
    let ids = backup_ids(&sim, id);
    sim.inject(
        FaultRule::new(Fault::DropMidBody)
            .action("backups")
            .times(1),
    );
    let target = format!(
        "/x?a=backups&ses={ses}&sa=filesdl&clientid={id}&backupid={}&{}",
        ids[2],
        form(&[("path", "/C/big/disk.img")])
    );
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(format!("GET {target} HTTP/1.1\r\nHost: sim\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut data = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut data))
        .await
        .unwrap()
        .unwrap();
    let head_end = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&data[..head_end]);
    let len: usize = 3 * 1024 * 1024 + 5;
    assert!(head.contains(&format!("Content-Length: {len}")), "{head}");
    assert_eq!(
        data.len() - head_end,
        len / 2,
        "half of the body, then closed"
    );
    // The next download is whole again.
    let big = download(&sim, &ses, id, ids[2], "/C/big/disk.img").await;
    assert_eq!(big.body.len(), len);
}

#[tokio::test]
async fn a_restore_of_an_extra_file_goes_as_its_folder() {
    let (sim, ses, id) = sim().await;
    let ids = backup_ids(&sim, id);
    let r = post(
        sim.addr(),
        "backups",
        &[
            ("ses", &ses),
            ("sa", "clientdl"),
            ("clientid", &id.to_string()),
            ("backupid", &ids[2].to_string()),
            ("path", "/C/docs"),
            ("filter", "plan.txt"),
        ],
    )
    .await
    .json();
    assert_eq!(r["ok"], "true");
    sim.advance(Duration::from_secs(60));
    let logs = sim.with_state(|s| {
        s.logs
            .values()
            .filter(|l| l.restore && l.client_id == id)
            .map(|l| l.errors)
            .collect::<Vec<_>>()
    });
    assert_eq!(logs, vec![0], "one restore, without errors");
}

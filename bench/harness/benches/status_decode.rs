//! Decoding a 10,000-client `status` reply: the library's decode step for the typed
//! "all client statuses" call (`serde_json::from_slice::<urbackup::StatusReport>`, what
//! `get_client_statuses` runs on the body). The body is laid out byte for byte like UrBackup
//! 2.5.33 writes it (sorted keys, one per line; layout of the real capture
//! `fixtures/real-2.5/status__during-full-file.json`), with a realistic mix of clients.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// A status reply with `n` clients in the real server's layout.
fn status_body(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 560 + 1024);
    s.push_str(
        "{\n\"admin\": true,\n\"allow_add_client\": true,\n\"allow_extra_clients\": true,\n\
         \"allow_modify_clients\": true,\n\"extra_clients\": [],\n\"has_status_check\": true,\n\
         \"no_file_backups\": false,\n\"no_images\": false,\n\"remove_client\": true,\n\
         \"server_identity\": \"KM8qSwD0hTOG9XlQtSp9\",\n\"server_pubkey\": \"KM8qSwD0hTOG9XlQtSp9\
         #fingerprint=B4:28:A9:A5:30:A4:20:73:49:5D:A3:99:08:2B:89:D7:AC:A2:09:45:45:27:86:5C:44:F5:01:CA:01:A5:BF:DD\",\n\
         \"status\": [",
    );
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let id = i + 1;
        let online = i % 3 != 0;
        let running = i % 17 == 0;
        let windows = i % 2 == 0;
        let _ = write!(
            s,
            "{{\n\"client_version_string\": \"2.5.{}\",\n\"delete_pending\": \"{}\",\n",
            20 + i % 7,
            if i % 97 == 0 { "1" } else { "0" }
        );
        if i % 5 == 0 {
            s.push_str("\"file_disabled\": true,\n");
        }
        let _ = write!(
            s,
            "\"file_ok\": {},\n\"groupname\": \"{}\",\n\"id\": {id},\n",
            i % 11 != 0,
            ["", "office", "servers", "laptops"][i % 4]
        );
        if !windows {
            s.push_str("\"image_disabled\": true,\n\"image_not_supported\": true,\n");
        }
        let _ = write!(
            s,
            "\"image_ok\": {},\n\"ip\": \"10.{}.{}.{}\",\n\"last_filebackup_issues\": {},\n\
             \"lastbackup\": {},\n\"lastbackup_image\": {},\n\"lastseen\": {},\n\
             \"name\": \"client-{id:05}\",\n\"online\": {online},\n\"os_simple\": \"{}\",\n\
             \"os_version_string\": \"{}\",\n\"processes\": [",
            windows && i % 13 != 0,
            i / 65536 % 256,
            i / 256 % 256,
            i % 256,
            i % 4,
            1_795_694_596 - (i as u64 * 37) % 86_400,
            if windows {
                1_795_600_000 - (i as u64 * 91) % 604_800
            } else {
                0
            },
            1_795_694_630 - (i as u64 * 13) % 3_600,
            if windows { "windows" } else { "linux" },
            if windows {
                "Microsoft Windows 11 Pro 23H2 (build 22631), 64-bit"
            } else {
                "Debian GNU/Linux 12 (bookworm); Kernel 6.1.0-18-amd64 x86_64"
            },
        );
        if running {
            let _ = write!(s, "{{\n\"action\": 1,\n\"pcdone\": {}\n}}\n", i % 100);
        }
        let _ = write!(
            s,
            "],\n\"status\": {},\n\"uid\": \"{:016x}\"\n}}\n",
            if running { 1 } else { 0 },
            (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        );
    }
    s.push_str("]\n}\n");
    s.into_bytes()
}

#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct PlainProcess {
    action: i64,
    pcdone: i64,
}

#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct PlainClient {
    id: i64,
    name: String,
    online: bool,
    lastbackup: i64,
    lastbackup_image: i64,
    file_ok: bool,
    image_ok: bool,
    ip: String,
    client_version_string: String,
    os_version_string: String,
    os_simple: String,
    lastseen: i64,
    groupname: String,
    delete_pending: String,
    #[serde(default)]
    file_disabled: bool,
    #[serde(default)]
    image_disabled: bool,
    #[serde(default)]
    image_not_supported: bool,
    last_filebackup_issues: i64,
    status: i64,
    uid: String,
    processes: Vec<PlainProcess>,
}

#[derive(serde::Deserialize)]
struct PlainReport {
    status: Vec<PlainClient>,
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("status_decode");
    for n in [1_000usize, 10_000] {
        let body = status_body(n);
        // Sanity: the body decodes to n clients.
        let r: urbackup::StatusReport = serde_json::from_slice(&body).expect("decodes");
        assert_eq!(r.status.len(), n);
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_with_input(BenchmarkId::new("StatusReport", n), &body, |b, body| {
            b.iter(|| {
                let r: urbackup::StatusReport = serde_json::from_slice(black_box(body)).unwrap();
                black_box(r.status.len())
            })
        });
        // Reference: a one-pass typed decode of the same fields, without the library's
        // per-client `raw` copy and lenient field decoders (what the library's decode costs
        // over plain serde).
        g.bench_with_input(
            BenchmarkId::new("plain_serde_struct", n),
            &body,
            |b, body| {
                b.iter(|| {
                    let r: PlainReport = serde_json::from_slice(black_box(body)).unwrap();
                    black_box(r.status.len())
                })
            },
        );
        // Reference: the same bytes into an untyped serde_json::Value.
        g.bench_with_input(
            BenchmarkId::new("serde_json::Value", n),
            &body,
            |b, body| {
                b.iter(|| {
                    let v: serde_json::Value = serde_json::from_slice(black_box(body)).unwrap();
                    black_box(v["status"].as_array().map(Vec::len))
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);

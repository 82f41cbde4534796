//! Downloads as byte streams (a file, a folder's ZIP; broken off by the server: an error,
//! never a short body that looks complete), the versions of a file across a client's
//! backups (with and without a listing cache), and a search by name in a backup, against the
//! simulator over HTTP.

mod common;
use common::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use urbackup::{
    BackupDownload, BackupListing, BackupRef, FileBackupKey, ListingCache, ListingKey,
    SearchLimits, SearchStop, UrbackupError, UrbackupServer,
};

const BIG: u64 = 5 * 1024 * 1024 + 3;

async fn scene() -> (SimServer, UrbackupServer, i64, Vec<FileBackupKey>) {
    let sim = Simulator::builder()
        .client(
            ClientSpec::new("pc")
                .backups(5, 0)
                .file_versions(
                    "/C/docs/plan.txt",
                    &[
                        None,
                        Some(b"first".to_vec()),
                        Some(b"first".to_vec()),
                        Some(b"second".to_vec()),
                        Some(b"third!".to_vec()),
                    ],
                )
                .file(r"/C/docs/caf\xE9.txt", "latin-1 name")
                .large_file("/C/big/disk.img", BIG)
                .wide_folder("/C/many", 300),
        )
        .admin(ADMIN.0, ADMIN.1)
        .login_failure_delay(Duration::ZERO)
        .manual_clock()
        .start()
        .await
        .unwrap();
    let s = admin(&sim);
    let id = sim.client_id("pc").unwrap();
    let backups = s
        .get_backups(id)
        .await
        .unwrap()
        .iter()
        .map(FileBackupKey::from)
        .collect();
    (sim, s, id, backups)
}

async fn drain(d: &mut BackupDownload) -> Result<Vec<u8>, UrbackupError> {
    let mut out = Vec::new();
    while let Some(c) = d.next_chunk().await? {
        out.extend_from_slice(&c);
    }
    Ok(out)
}

#[tokio::test]
async fn a_file_streams_with_its_exact_bytes() {
    let (sim, s, id, backups) = scene().await;
    let newest = backups[0].id;
    let mut d = s
        .download_file_stream(id, BackupRef::File(newest), "/C/big/disk.img")
        .await
        .unwrap();
    assert_eq!(d.content_length(), Some(BIG));
    assert!(!d.is_zip());
    // The first piece arrives long before the whole file: a stream, not a buffer.
    let first = d.next_chunk().await.unwrap().unwrap();
    assert!((first.len() as u64) < BIG, "{} bytes at once", first.len());
    let mut body = first.to_vec();
    body.extend(drain(&mut d).await.unwrap());
    assert_eq!(d.received(), BIG);
    let want = sim.backup_file("pc", newest, "/C/big/disk.img").unwrap();
    assert!(body == want, "byte-exact");
    // After the end: nothing more.
    assert!(d.next_chunk().await.unwrap().is_none());

    // A name that is not UTF-8, taken from the listing.
    let l = s
        .browse_backup(id, BackupRef::File(newest), "/C/docs")
        .await
        .unwrap();
    let name = &l
        .files
        .iter()
        .find(|f| urbackup::text::has_raw_bytes(&f.name))
        .unwrap()
        .name;
    assert_eq!(name, r"caf\xE9.txt");
    let mut d = s
        .download_file_stream(id, BackupRef::File(newest), &format!("/C/docs/{name}"))
        .await
        .unwrap();
    assert_eq!(drain(&mut d).await.unwrap(), b"latin-1 name");

    // A path the backup does not hold: refused before any byte.
    let e = s
        .download_file_stream(id, BackupRef::File(newest), "/C/docs/nope.txt")
        .await
        .unwrap_err();
    assert!(matches!(e, UrbackupError::AccessDenied { .. }), "{e}");
}

#[tokio::test]
async fn a_download_the_server_breaks_off_ends_with_an_error() {
    let (sim, s, id, backups) = scene().await;
    let newest = backups[0].id;
    sim.inject(
        FaultRule::new(Fault::DropMidBody)
            .action("backups")
            .times(1),
    );
    let mut d = s
        .download_file_stream(id, BackupRef::File(newest), "/C/big/disk.img")
        .await
        .unwrap();
    let e = drain(&mut d).await.unwrap_err();
    assert!(d.received() < BIG);
    assert!(matches!(e, UrbackupError::Transport { .. }), "{e}");

    // A ZIP has no announced length: its end is told by its closing record.
    let mut z = s
        .download_folder_zip_stream(id, BackupRef::File(newest), "/C/docs")
        .await
        .unwrap();
    assert!(z.is_zip() && z.content_length().is_none());
    let whole = drain(&mut z).await.unwrap();
    assert!(whole.starts_with(b"PK\x03\x04"));
    sim.inject(
        FaultRule::new(Fault::DropMidBody)
            .action("backups")
            .times(1),
    );
    let mut z = s
        .download_folder_zip_stream(id, BackupRef::File(newest), "/C/docs")
        .await
        .unwrap();
    let e = drain(&mut z).await.unwrap_err();
    assert_eq!(z.received(), whole.len() as u64 / 2);
    assert!(e.to_string().contains("closing record"), "{e}");

    // Written to a file, a broken ZIP leaves nothing behind.
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("docs.zip");
    sim.inject(
        FaultRule::new(Fault::DropMidBody)
            .action("backups")
            .times(1),
    );
    assert!(s
        .download_folder_zip(id, BackupRef::File(newest), "/C/docs", &dest)
        .await
        .is_err());
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    let n = s
        .download_folder_zip(id, BackupRef::File(newest), "/C/docs", &dest)
        .await
        .unwrap();
    assert_eq!(n, whole.len() as u64);
}

/// A listing cache in a map, counting what it holds.
#[derive(Default)]
struct MapCache(Mutex<HashMap<ListingKey, Arc<BackupListing>>>);

impl ListingCache for MapCache {
    fn get(&self, key: &ListingKey) -> Option<Arc<BackupListing>> {
        self.0.lock().unwrap().get(key).cloned()
    }
    fn put(&self, key: ListingKey, listing: Arc<BackupListing>) {
        self.0.lock().unwrap().insert(key, listing);
    }
}

#[tokio::test]
async fn the_versions_of_a_file_across_the_backups() {
    let (sim, s, id, backups) = scene().await;
    sim.reset_counters();
    let v = s.file_versions(id, "C/docs/plan.txt").await.unwrap();
    assert_eq!(v.path, "/C/docs/plan.txt");
    assert_eq!(v.backups, 5);
    // Newest first; the oldest backup does not hold it.
    let sizes: Vec<i64> = v.versions.iter().map(|x| x.entry.size).collect();
    assert_eq!(sizes, vec![6, 6, 5, 5]);
    let changed: Vec<bool> = v.versions.iter().map(|x| x.changed).collect();
    assert_eq!(changed, vec![true, true, false, true]);
    assert_eq!(v.distinct(), 3);
    assert_eq!(v.versions[0].backupid, backups[0].id);
    // One backup list, then one listing per backup.
    assert_eq!(sim.requests("backups"), 6);
    assert_eq!((v.count.listings, v.count.requests), (5, 5));
    // Each version downloads its own content.
    for (x, want) in v
        .versions
        .iter()
        .zip([&b"third!"[..], b"second", b"first", b"first"])
    {
        let mut d = s
            .download_file_stream(id, BackupRef::File(x.backupid), &v.path)
            .await
            .unwrap();
        assert_eq!(drain(&mut d).await.unwrap(), want);
    }

    // Through a cache: the second lookup asks the server nothing.
    let cache = MapCache::default();
    let first = s
        .file_versions_in(id, &backups, "/C/docs/plan.txt", Some(&cache))
        .await
        .unwrap();
    assert_eq!(first.count.requests, 5);
    sim.reset_counters();
    let again = s
        .file_versions_in(id, &backups, "/C/docs/plan.txt", Some(&cache))
        .await
        .unwrap();
    assert_eq!(sim.total_requests(), 0);
    assert_eq!((again.count.listings, again.count.requests), (5, 0));
    assert_eq!(again.versions, first.versions);
    // The same folder serves another file of it.
    let latin = s
        .file_versions_in(id, &backups, r"/C/docs/caf\xE9.txt", Some(&cache))
        .await
        .unwrap();
    assert_eq!(sim.total_requests(), 0);
    assert_eq!(latin.versions.len(), 5);
    assert_eq!(latin.distinct(), 1);

    // A backup deleted since its list was read is skipped, with why.
    let gone = FileBackupKey {
        id: 9999,
        backuptime: 1,
    };
    let mut with_gone = backups.clone();
    with_gone.push(gone);
    let v = s
        .file_versions_in(id, &with_gone, "/C/docs/plan.txt", None)
        .await
        .unwrap();
    assert_eq!(v.versions.len(), 4);
    assert_eq!(v.skipped.len(), 1);
    assert_eq!(v.skipped[0].0, 9999);
    // The root is no file.
    assert!(matches!(
        s.file_versions(id, "/").await,
        Err(UrbackupError::InvalidInput(_))
    ));
}

#[tokio::test]
async fn a_search_by_name_below_a_folder() {
    let (sim, s, id, backups) = scene().await;
    let newest = backups[0];
    let cache = MapCache::default();
    let r = s
        .search_backup(
            id,
            newest,
            "/C",
            "PLAN",
            SearchLimits::default(),
            Some(&cache),
        )
        .await
        .unwrap();
    assert_eq!(r.stopped, None);
    let paths: Vec<String> = r.hits.iter().map(|h| h.path()).collect();
    assert!(paths.contains(&"/C/docs/plan.txt".to_string()), "{paths:?}");
    assert!(r.count.listings > 3 && r.count.listings == r.count.requests);
    // From the cache the second time.
    sim.reset_counters();
    let again = s
        .search_backup(
            id,
            newest,
            "/C",
            "plan",
            SearchLimits::default(),
            Some(&cache),
        )
        .await
        .unwrap();
    assert_eq!(sim.total_requests(), 0);
    assert_eq!(again.hits, r.hits);
    // Bounded: listings, depth, matches.
    let few = SearchLimits {
        max_listings: 2,
        ..SearchLimits::default()
    };
    let r = s
        .search_backup(id, newest, "/C", "plan", few, None)
        .await
        .unwrap();
    assert_eq!(r.count.listings, 2);
    assert_eq!(r.stopped, Some(SearchStop::Listings));
    let shallow = SearchLimits {
        max_depth: 0,
        ..SearchLimits::default()
    };
    let r = s
        .search_backup(id, newest, "/C", "file-", shallow, None)
        .await
        .unwrap();
    assert_eq!((r.count.listings, r.stopped), (1, Some(SearchStop::Depth)));
    let some = SearchLimits {
        max_matches: 10,
        ..SearchLimits::default()
    };
    let r = s
        .search_backup(id, newest, "/C/many", "file-", some, None)
        .await
        .unwrap();
    assert_eq!((r.hits.len(), r.stopped), (10, Some(SearchStop::Matches)));
}

//! Across a client's file backups: the versions of one file, a search by name inside a
//! backup, and the folder listings both are made of, with an optional cache in front of the
//! server (a finished backup never changes, so its listings can be kept).

use crate::error::{Result, UrbackupError};
use crate::models::{BackupEntry, BackupListing, BackupRef, FileEntry};
use crate::UrbackupServer;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use std::sync::Arc;

/// Listings asked of the server at once by [`UrbackupServer::file_versions_in`] and
/// [`UrbackupServer::search_backup`].
pub const LISTINGS_AT_ONCE: usize = 4;

/// A file backup as its listings are kept by: its id and its time (the server lists only
/// finished backups, and a finished backup never changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FileBackupKey {
    /// The backup's id.
    pub id: i64,
    /// Its time (Unix).
    pub backuptime: i64,
}

impl From<&BackupEntry> for FileBackupKey {
    fn from(b: &BackupEntry) -> Self {
        FileBackupKey {
            id: b.id,
            backuptime: b.backuptime,
        }
    }
}

/// One folder listing of one file backup of a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListingKey {
    /// The client.
    pub clientid: i64,
    /// The backup.
    pub backup: FileBackupKey,
    /// The folder, `/`-separated with a leading `/` (`""`: the root).
    pub path: String,
}

/// Keeps folder listings of file backups (see [`UrbackupServer::browse_backup_cached`]). A
/// cache of one server's listings: the keys do not name the server.
pub trait ListingCache: Send + Sync {
    /// The listing kept under `key`, if any.
    fn get(&self, key: &ListingKey) -> Option<Arc<BackupListing>>;
    /// Keeps `listing` under `key`.
    fn put(&self, key: ListingKey, listing: Arc<BackupListing>);
}

/// How many listings a lookup used, and how many of them it asked the server for (the rest
/// came from the cache).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ListingCount {
    /// Listings used.
    pub listings: usize,
    /// Of them, requests to the server.
    pub requests: usize,
}

impl ListingCount {
    fn add(&mut self, from_server: bool) {
        self.listings += 1;
        self.requests += usize::from(from_server);
    }
}

/// One backup's copy of a file (see [`UrbackupServer::file_versions`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FileVersion {
    /// The backup holding it.
    pub backupid: i64,
    /// The backup's time.
    pub backuptime: i64,
    /// The file as that backup lists it (size, modification time, hash).
    pub entry: FileEntry,
    /// It differs from the next older copy (the oldest copy: true). Decided by the SHA hash
    /// when both copies have one, else by size and modification time.
    pub changed: bool,
}

/// Every copy of one file across a client's file backups, newest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FileVersions {
    /// The file's path, `/`-separated with a leading `/`.
    pub path: String,
    /// The backups holding it as a file, newest first.
    pub versions: Vec<FileVersion>,
    /// Backups looked at.
    pub backups: usize,
    /// Backups whose listing failed (deleted since their list was read, no right): id and
    /// why.
    pub skipped: Vec<(i64, String)>,
    /// Listings used and requests sent.
    pub count: ListingCount,
}

impl FileVersions {
    /// Copies that differ from the next older one (the oldest counts).
    pub fn distinct(&self) -> usize {
        self.versions.iter().filter(|v| v.changed).count()
    }
}

/// Where a search stops ([`UrbackupServer::search_backup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SearchLimits {
    /// Folder levels below the start folder to look into (0: the start folder only).
    pub max_depth: usize,
    /// Listings at most (from the cache or the server).
    pub max_listings: usize,
    /// Matches at most.
    pub max_matches: usize,
}

impl Default for SearchLimits {
    fn default() -> Self {
        SearchLimits {
            max_depth: 8,
            max_listings: 200,
            max_matches: 500,
        }
    }
}

/// Why a search ended before it had looked everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum SearchStop {
    /// Folders deeper than [`SearchLimits::max_depth`] were left out.
    Depth,
    /// [`SearchLimits::max_listings`] was reached.
    Listings,
    /// [`SearchLimits::max_matches`] was reached.
    Matches,
}

/// A file or folder a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SearchHit {
    /// Its folder, `/`-separated with a leading `/` (`""`: the root).
    pub folder: String,
    /// The entry.
    pub entry: FileEntry,
}

impl SearchHit {
    /// Its full path.
    pub fn path(&self) -> String {
        join(&self.folder, &self.entry.name)
    }
}

/// What a search found, and what it took.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SearchResult {
    /// Matches, folder by folder from the start folder down (each folder's in its listing's
    /// order).
    pub hits: Vec<SearchHit>,
    /// Listings used and requests sent.
    pub count: ListingCount,
    /// `None` when every folder below the start folder was looked at.
    pub stopped: Option<SearchStop>,
}

/// `folder/name` with one `/`.
fn join(folder: &str, name: &str) -> String {
    format!("{}/{name}", folder.trim_end_matches('/'))
}

/// Two copies of a file are the same: equal hashes where both have one, else equal size and
/// modification time.
fn same_copy(a: &FileEntry, b: &FileEntry) -> bool {
    match (&a.shahash, &b.shahash) {
        (Some(x), Some(y)) if !x.is_empty() && !y.is_empty() => x == y,
        _ => a.size == b.size && a.mod_time == b.mod_time,
    }
}

/// A listing failure that concerns only that backup (it was deleted, or may not be read):
/// the other backups are still worth asking.
fn backup_only(e: &UrbackupError) -> bool {
    matches!(
        e,
        UrbackupError::AccessDenied { .. } | UrbackupError::Server { .. }
    )
}

impl UrbackupServer {
    /// [`browse_backup`](UrbackupServer::browse_backup) of a file backup through `cache`:
    /// a listing the cache holds is used without a request; one read from the server is
    /// kept there. Returns the listing and whether it came from the server.
    pub async fn browse_backup_cached(
        &self,
        clientid: i64,
        backup: FileBackupKey,
        path: &str,
        cache: Option<&dyn ListingCache>,
    ) -> Result<(Arc<BackupListing>, bool)> {
        let key = ListingKey {
            clientid,
            backup,
            path: super::backups::normalize_path(path),
        };
        if let Some(hit) = cache.and_then(|c| c.get(&key)) {
            return Ok((hit, false));
        }
        let listing = Arc::new(
            self.browse_backup(clientid, BackupRef::File(backup.id), &key.path)
                .await?,
        );
        if let Some(c) = cache {
            c.put(key, listing.clone());
        }
        Ok((listing, true))
    }

    /// Every copy of the file `path` in the client's file backups, newest first, each marked
    /// when it differs from the next older one (web actions `backups`, `sa=backups` once,
    /// then `sa=files` of the file's folder in each backup, [`LISTINGS_AT_ONCE`] at a time).
    /// A backup holds the file when its listing of the folder has an entry of that name
    /// ([`crate::text::same_name`]) that is not a folder.
    pub async fn file_versions(&self, clientid: i64, path: &str) -> Result<FileVersions> {
        let backups: Vec<FileBackupKey> = self
            .get_backups(clientid)
            .await?
            .iter()
            .map(FileBackupKey::from)
            .collect();
        self.file_versions_in(clientid, &backups, path, None).await
    }

    /// [`file_versions`](UrbackupServer::file_versions) over the given backups (e.g. the
    /// lists a caller already holds), through `cache`: a second lookup of the same file
    /// sends no request.
    pub async fn file_versions_in(
        &self,
        clientid: i64,
        backups: &[FileBackupKey],
        path: &str,
        cache: Option<&dyn ListingCache>,
    ) -> Result<FileVersions> {
        let path = super::backups::normalize_path(path);
        let Some((folder, name)) = path.rsplit_once('/').filter(|(_, n)| !n.is_empty()) else {
            return Err(UrbackupError::InvalidInput(
                "the versions of a file need the file's path, not the root".into(),
            ));
        };
        let mut listed: Vec<_> = stream::iter(backups.iter().copied())
            .map(|b| async move {
                let r = self.browse_backup_cached(clientid, b, folder, cache).await;
                (b, r)
            })
            .buffer_unordered(LISTINGS_AT_ONCE)
            .collect()
            .await;
        listed.sort_by_key(|(b, _)| std::cmp::Reverse((b.backuptime, b.id)));
        let mut out = FileVersions {
            path: path.clone(),
            versions: Vec::new(),
            backups: backups.len(),
            skipped: Vec::new(),
            count: ListingCount::default(),
        };
        for (b, r) in listed {
            match r {
                Ok((listing, from_server)) => {
                    out.count.add(from_server);
                    let file = listing
                        .files
                        .iter()
                        .find(|f| !f.dir && crate::text::same_name(&f.name, name));
                    if let Some(f) = file {
                        out.versions.push(FileVersion {
                            backupid: b.id,
                            backuptime: b.backuptime,
                            entry: f.clone(),
                            changed: true,
                        });
                    }
                }
                Err(e) if backup_only(&e) => {
                    out.count.add(true);
                    out.skipped.push((b.id, e.to_string()));
                }
                Err(e) => return Err(e),
            }
        }
        for i in 0..out.versions.len().saturating_sub(1) {
            let (newer, older) = (&out.versions[i].entry, &out.versions[i + 1].entry);
            out.versions[i].changed = !same_copy(newer, older);
        }
        Ok(out)
    }

    /// Files and folders whose name contains `needle` (ignoring case) in folder `path` of a
    /// file backup and below, level by level, within `limits` (web action `backups`,
    /// `sa=files` per folder, [`LISTINGS_AT_ONCE`] at a time, through `cache`).
    pub async fn search_backup(
        &self,
        clientid: i64,
        backup: FileBackupKey,
        path: &str,
        needle: &str,
        limits: SearchLimits,
        cache: Option<&dyn ListingCache>,
    ) -> Result<SearchResult> {
        let needle = needle.to_lowercase();
        let mut out = SearchResult {
            hits: Vec::new(),
            count: ListingCount::default(),
            stopped: None,
        };
        let mut level = vec![super::backups::normalize_path(path)];
        let mut depth = 0;
        while !level.is_empty() {
            let room = limits.max_listings.saturating_sub(out.count.listings);
            if level.len() > room {
                level.truncate(room);
                out.stopped = Some(SearchStop::Listings);
            }
            let listed: Vec<_> = stream::iter(std::mem::take(&mut level))
                .map(|folder: String| async move {
                    let r = self
                        .browse_backup_cached(clientid, backup, &folder, cache)
                        .await;
                    (folder, r)
                })
                .buffered(LISTINGS_AT_ONCE)
                .collect()
                .await;
            let mut next = Vec::new();
            for (folder, r) in listed {
                let (listing, from_server) = r?;
                out.count.add(from_server);
                for f in &listing.files {
                    if f.dir {
                        next.push(join(&folder, &f.name));
                    }
                    if f.name.to_lowercase().contains(&needle) {
                        if out.hits.len() == limits.max_matches {
                            out.stopped = Some(SearchStop::Matches);
                            return Ok(out);
                        }
                        out.hits.push(SearchHit {
                            folder: folder.clone(),
                            entry: f.clone(),
                        });
                    }
                }
            }
            if out.stopped.is_some() {
                break;
            }
            depth += 1;
            if depth > limits.max_depth && !next.is_empty() {
                out.stopped = Some(SearchStop::Depth);
                break;
            }
            level = next;
        }
        Ok(out)
    }
}

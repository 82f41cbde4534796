//! Files a test puts into a client's file backups beside the generated tree
//! ([`ClientSpec::file`](crate::ClientSpec::file) and friends): fixed bytes (an `evil.html`),
//! a file that changes between backups, a large file streamed by downloads, a folder of many
//! files. Browsing, downloads, ZIPs and restores see them like any other entry.

use std::sync::Arc;

use crate::backups_action::path_components;
use crate::state::{Client, FileBackup};
use crate::tree::{self, mix, Body, Entry};

/// A file or folder put into every file backup of a client.
#[derive(Debug, Clone)]
pub struct ExtraFile {
    /// Its path in the backup, as components.
    pub path: Vec<String>,
    /// What it holds.
    pub kind: ExtraKind,
}

/// What an [`ExtraFile`] holds.
#[derive(Debug, Clone)]
pub enum ExtraKind {
    /// The content in each file backup of the client, oldest backup first (`None`: not in
    /// that backup); later backups hold the last one.
    Versions(Vec<Option<Arc<[u8]>>>),
    /// `len` bytes of [`tree::generated`] content, streamed by downloads (never held).
    Large(u64),
    /// A folder of `n` small text files named `file-00001.txt`, ...
    Folder(usize),
}

impl ExtraFile {
    /// `path` (`/`-separated) holding `kind`.
    pub fn new(path: &str, kind: ExtraKind) -> ExtraFile {
        ExtraFile {
            path: path_components(&crate::bytes::latin1(path)),
            kind,
        }
    }

    fn seed(&self, c: &Client) -> u64 {
        tree::hash_str(c.tree_seed ^ 0xE7, &self.path.join("/"))
    }

    /// Its entry in backup number `idx` of the client (oldest first), if that backup holds
    /// it.
    fn entry(&self, c: &Client, idx: usize) -> Option<Entry> {
        let name = self.path.last()?.clone();
        let first = c.file_backups.first().map(|b| b.backuptime).unwrap_or(0);
        let (dir, size, mod_time, body) = match &self.kind {
            ExtraKind::Versions(v) => {
                let at = |i: usize| v.get(i.min(v.len().saturating_sub(1))).cloned().flatten();
                let bytes = at(idx)?;
                // Modified when it last changed: in the first backup of the run of backups
                // holding these same bytes.
                let mut since = idx;
                while since > 0 && at(since - 1).as_deref() == Some(&bytes[..]) {
                    since -= 1;
                }
                let t = c
                    .file_backups
                    .get(since)
                    .map(|b| b.backuptime)
                    .unwrap_or(first)
                    - 60;
                (false, bytes.len() as i64, t, Body::Bytes(bytes))
            }
            ExtraKind::Large(len) => (false, *len as i64, first - 3600, Body::Large(*len)),
            ExtraKind::Folder(_) => (true, 0, first - 7200, Body::Seeded),
        };
        Some(Entry {
            name,
            dir,
            size,
            mod_time,
            creat: mod_time - 1000,
            access: mod_time,
            seed: self.seed(c),
            body,
        })
    }

    /// The files of a [`ExtraKind::Folder`].
    fn folder_files(&self, c: &Client, n: usize) -> Vec<Entry> {
        let seed = self.seed(c);
        let first = c.file_backups.first().map(|b| b.backuptime).unwrap_or(0);
        (1..=n)
            .map(|i| {
                let s = mix(seed ^ i as u64);
                let t = first - 86_400 - (s % 86_400) as i64;
                Entry {
                    name: format!("file-{i:05}.txt"),
                    dir: false,
                    size: 40 + (s % 400) as i64,
                    mod_time: t,
                    creat: t - 1000,
                    access: t,
                    seed: s,
                    body: Body::Seeded,
                }
            })
            .collect()
    }
}

/// What `path` is in file backup `b` of client `c`: `Some(Ok(listing))` for a folder,
/// `Some(Err(entry))` for a file, `None` when the backup does not hold it. The generated tree
/// ([`tree::lookup`]) with the client's extra files merged in.
pub fn lookup(c: &Client, b: &FileBackup, path: &[String]) -> Option<Result<Vec<Entry>, Entry>> {
    let base = tree::lookup(&c.tree_spec(b), path);
    if c.extras.is_empty() {
        return base;
    }
    let idx = c
        .file_backups
        .iter()
        .position(|x| x.id == b.id)
        .unwrap_or(c.file_backups.len());
    let mut listing = match base {
        Some(Err(e)) => return Some(Err(e)),
        Some(Ok(l)) => Some(l),
        None => None,
    };
    for x in c.extras.iter() {
        if x.path.as_slice() == path {
            let e = x.entry(c, idx)?;
            return Some(match &x.kind {
                ExtraKind::Folder(n) => Ok(x.folder_files(c, *n)),
                _ => Err(e),
            });
        }
        if let (ExtraKind::Folder(n), Some((last, parent))) = (&x.kind, path.split_last()) {
            if parent == x.path.as_slice() {
                if let Some(f) = x.folder_files(c, *n).into_iter().find(|f| &f.name == last) {
                    return Some(Err(f));
                }
            }
        }
        if x.path.len() <= path.len() || !x.path.starts_with(path) {
            continue;
        }
        let Some(own) = x.entry(c, idx) else {
            continue;
        };
        let entry = if x.path.len() == path.len() + 1 {
            own
        } else {
            // A folder on the way to it.
            Entry {
                name: x.path[path.len()].clone(),
                dir: true,
                size: 0,
                mod_time: own.mod_time,
                creat: own.creat,
                access: own.access,
                seed: 0,
                body: Body::Seeded,
            }
        };
        let l = listing.get_or_insert_with(Vec::new);
        l.retain(|e| e.name != entry.name || (e.dir && entry.dir));
        if !l.iter().any(|e| e.name == entry.name) {
            l.push(entry);
        }
    }
    listing.map(|mut l| {
        l.sort_by(|a, b| b.dir.cmp(&a.dir).then(a.name.cmp(&b.name)));
        Ok(l)
    })
}

//! Deterministic synthetic file trees for backups, generated lazily from a hash.

use sha2::{Digest, Sha512};

/// SplitMix64 step: a small, fast, stable PRNG / hash mixer.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash a string into a seed.
pub fn hash_str(seed: u64, s: &str) -> u64 {
    let mut h = mix(seed ^ 0x5151);
    for b in s.bytes() {
        h = mix(h ^ b as u64);
    }
    h
}

/// A deterministic PRNG.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// One entry of a synthetic directory listing.
#[derive(Debug, Clone)]
pub struct Entry {
    /// File or directory name.
    pub name: String,
    /// Directory?
    pub dir: bool,
    /// Size in bytes (files).
    pub size: i64,
    /// Modification time.
    pub mod_time: i64,
    /// Creation time.
    pub creat: i64,
    /// Access time.
    pub access: i64,
    /// Content seed.
    pub seed: u64,
    /// Where the content comes from.
    pub body: Body,
}

/// Where a file's content comes from.
#[derive(Debug, Clone, Default)]
pub enum Body {
    /// Generated from the entry's seed and path ([`content`]).
    #[default]
    Seeded,
    /// These bytes (a file a test put into the backups, see [`crate::extra`]).
    Bytes(std::sync::Arc<[u8]>),
    /// `len` bytes of [`generated`] content from the seed, streamed by downloads.
    Large(u64),
}

/// A body of [`generated`] bytes, written piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generated {
    /// The seed.
    pub seed: u64,
    /// Its length in bytes.
    pub len: u64,
}

/// `len` deterministic bytes from `seed`, starting at byte `offset` of the whole sequence:
/// little-endian words `mix(seed ^ i)` for the word index `i`. Any piece can be made on its
/// own, so a download of gigabytes is streamed piece by piece and never held.
pub fn generated(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut word = offset / 8;
    let skip = (offset % 8) as usize;
    while out.len() < len + skip {
        out.extend_from_slice(&mix(seed ^ word).to_le_bytes());
        word += 1;
    }
    out.drain(..skip);
    out.truncate(len);
    out
}

const DIR_WORDS: &[&str] = &[
    "docs",
    "projects",
    "photos",
    "src",
    "music",
    "archive",
    "reports",
    "config",
    "data",
    "invoices",
    "notes",
    "scripts",
    "templates",
    "assets",
];
const FILE_WORDS: &[&str] = &[
    "readme", "report", "budget", "notes", "photo", "main", "setup", "letter", "summary", "draft",
    "data", "backup", "todo", "log",
];
const EXTS: &[&str] = &[
    ".txt", ".pdf", ".docx", ".jpg", ".csv", ".bin", ".rs", ".xlsx",
];

/// Files that do not change between backups were last modified before this time
/// (2025-01-01 UTC), so every backup lists them alike.
const UNCHANGED_BEFORE: i64 = 1_735_689_600;

/// Parameters of a tree: seed and the backup it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct TreeSpec {
    /// Per-client tree seed (stable across backups).
    pub seed: u64,
    /// Backup id (varies a few files per backup).
    pub backup_id: i64,
    /// Backup time (upper bound for file times).
    pub backuptime: i64,
    /// Windows client (root "C") or Linux (roots "home", "etc").
    pub windows: bool,
    /// `/etc` (Linux) holds `caf\xE9-latin1.txt`, a name that is not UTF-8.
    pub latin1: bool,
}

fn dir_hash(spec: &TreeSpec, path: &[String]) -> u64 {
    let mut h = mix(spec.seed);
    for p in path {
        h = hash_str(h, p);
    }
    h
}

/// List a directory; `None` if `path` does not name a directory of the tree.
pub fn list_dir(spec: &TreeSpec, path: &[String]) -> Option<Vec<Entry>> {
    if path.is_empty() {
        let names: &[&str] = if spec.windows {
            &["C"]
        } else {
            &["etc", "home"]
        };
        return Some(
            names
                .iter()
                .map(|n| Entry {
                    name: n.to_string(),
                    dir: true,
                    size: 0,
                    mod_time: spec.backuptime - 60,
                    creat: 0,
                    access: spec.backuptime,
                    seed: 0,
                    body: Body::Seeded,
                })
                .collect(),
        );
    }
    // verify the path exists: each component must be a directory of its parent
    let parent = list_dir(spec, &path[..path.len() - 1])?;
    let last = &path[path.len() - 1];
    if !parent.iter().any(|e| e.dir && &e.name == last) {
        return None;
    }
    let depth = path.len();
    let h = dir_hash(spec, path);
    let mut rng = Rng(h);
    let ndirs = if depth < 4 { 1 + rng.below(3) } else { 0 };
    let nfiles = 1 + rng.below(5);
    let mut out = Vec::new();
    let mut used = std::collections::HashSet::new();
    for i in 0..ndirs {
        let w = DIR_WORDS[rng.below(DIR_WORDS.len() as u64) as usize];
        let name = if used.contains(w) {
            format!("{w}{i}")
        } else {
            w.to_string()
        };
        used.insert(name.clone());
        let t = spec.backuptime - 86400 - rng.below(86400 * 60) as i64;
        out.push(Entry {
            name,
            dir: true,
            size: 0,
            mod_time: t,
            creat: t,
            access: t,
            seed: 0,
            body: Body::Seeded,
        });
    }
    for i in 0..nfiles {
        let w = FILE_WORDS[rng.below(FILE_WORDS.len() as u64) as usize];
        let ext = EXTS[rng.below(EXTS.len() as u64) as usize];
        let name = format!("{w}-{}{ext}", i + 1);
        let fseed = rng.next_u64();
        // about one file in five changes with every backup
        let changes = fseed % 5 == 0;
        let cseed = if changes {
            mix(fseed ^ spec.backup_id as u64)
        } else {
            fseed
        };
        let size = (cseed % 48_000) as i64 + if ext == ".bin" { 16_000 } else { 10 };
        let t = if changes {
            spec.backuptime - 30 - (cseed % 3600) as i64
        } else {
            // The same in every backup, as a file nobody touched keeps its time.
            UNCHANGED_BEFORE - (fseed % (86400 * 90)) as i64
        };
        out.push(Entry {
            name,
            dir: false,
            size,
            mod_time: t,
            creat: t - 1000,
            access: t,
            seed: cseed,
            body: Body::Seeded,
        });
    }
    if spec.latin1 && !spec.windows && path.len() == 1 && path[0] == "etc" {
        let t = spec.backuptime - 86400 * 3;
        out.push(Entry {
            name: crate::state::latin1_file_name(),
            dir: false,
            size: 19,
            mod_time: t,
            creat: t - 1000,
            access: t,
            seed: mix(spec.seed ^ 0xE9),
            body: Body::Seeded,
        });
    }
    out.sort_by(|a, b| b.dir.cmp(&a.dir).then(a.name.cmp(&b.name)));
    Some(out)
}

/// Look up a path: `Some(Ok(listing))` for a directory, `Some(Err(entry))` for a file.
pub fn lookup(spec: &TreeSpec, path: &[String]) -> Option<Result<Vec<Entry>, Entry>> {
    if let Some(l) = list_dir(spec, path) {
        return Some(Ok(l));
    }
    if path.is_empty() {
        return None;
    }
    let parent = list_dir(spec, &path[..path.len() - 1])?;
    parent
        .into_iter()
        .find(|e| !e.dir && e.name == path[path.len() - 1])
        .map(Err)
}

/// Deterministic content of a file entry.
pub fn content(e: &Entry, full_path: &str) -> Vec<u8> {
    match &e.body {
        Body::Bytes(b) => return b.to_vec(),
        Body::Large(len) => return generated(e.seed, 0, *len as usize),
        Body::Seeded => {}
    }
    let size = e.size.max(0) as usize;
    let mut out = Vec::with_capacity(size);
    if e.name.ends_with(".txt") || e.name.ends_with(".csv") || e.name.ends_with(".rs") {
        let mut n = 0u64;
        while out.len() < size {
            let line = format!(
                "urbackup-sim file {full_path} line {n} seed {:016x}\n",
                e.seed
            );
            out.extend_from_slice(&crate::bytes::to_bytes(&line));
            n += 1;
        }
        out.truncate(size);
    } else {
        let mut rng = Rng(e.seed);
        while out.len() < size {
            out.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        out.truncate(size);
    }
    out
}

/// base64 (standard alphabet, padded).
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// `shahash` of a file: base64 of SHA-512 of its content (`None` for a large generated file:
/// the real server too leaves it out when its metadata has none).
pub fn shahash(e: &Entry, full_path: &str) -> Option<String> {
    if matches!(e.body, Body::Large(_)) {
        return None;
    }
    Some(base64(&Sha512::digest(content(e, full_path))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_tree() {
        let spec = TreeSpec {
            seed: 7,
            backup_id: 3,
            backuptime: 1_700_000_000,
            windows: true,
            latin1: false,
        };
        let root = list_dir(&spec, &[]).unwrap();
        assert_eq!(root[0].name, "C");
        let c = list_dir(&spec, &["C".to_string()]).unwrap();
        assert!(!c.is_empty());
        let again = list_dir(&spec, &["C".to_string()]).unwrap();
        assert_eq!(c.len(), again.len());
        assert!(list_dir(&spec, &["nope".to_string()]).is_none());
        assert_eq!(base64(b"hello"), "aGVsbG8=");
    }
}

//! Which clients' backup lists to read, and what is kept of them.
//!
//! A backup list costs one request per client (`backups`), so a poll reads only some: see
//! [`BackupRefresh`]. What is kept per client is small ([`Counts`]); whoever wants the whole
//! list gets it from [`Observer::backups`](crate::Observer::backups) as it arrives.

use std::collections::{HashMap, HashSet};
use std::time::Instant;
use urbackup::{BackupEntry, ClientBackups};

/// Which backup lists a poll reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackupRefresh {
    /// None.
    #[default]
    Off,
    /// At most this many per poll, every client in turn: clients never read first, then
    /// those whose last backup time changed, then the longest unread (the exporter: counts of
    /// every client stay fresh at a bounded cost per scrape).
    Rotate(usize),
    /// Only clients never read or whose last backup time changed since they were read, at
    /// most this many per poll (the console: the history grows by what is new, nothing is
    /// read twice).
    Changed(usize),
}

/// What one backup list tells about a client.
#[derive(Debug, Clone, PartialEq)]
pub struct Counts {
    /// File backups.
    pub file: usize,
    /// Image backups.
    pub image: usize,
    /// Size of the newest file backup (`None`: none, or not calculated).
    pub last_file_size: Option<i64>,
    /// Size of the newest image backup.
    pub last_image_size: Option<i64>,
    /// When they were read.
    pub at: Instant,
    /// The same, as a Unix time.
    pub unix: i64,
}

impl Counts {
    /// The counts of one backup list read at `at` (Unix time `unix`).
    pub fn of(b: &ClientBackups, at: Instant, unix: i64) -> Counts {
        fn newest_size(list: &[BackupEntry]) -> Option<i64> {
            list.iter()
                .max_by_key(|e| (e.backuptime, e.id))
                .map(|e| e.size_bytes)
                .filter(|s| *s >= 0)
        }
        Counts {
            file: b.file_backups.len(),
            image: b.image_backups.len(),
            last_file_size: newest_size(&b.file_backups),
            last_image_size: newest_size(&b.image_backups),
            at,
            unix,
        }
    }
}

/// A client's last file and image backup times, as `status` reports them.
pub type LastBackups = (i64, i64);

/// Last backup times no `status` reports (a client whose lists were never read).
const NEVER: LastBackups = (i64::MIN, i64::MIN);

/// The backup counts of one server's clients, and which to read next. A failed read keeps
/// the previous counts; with [`BackupRefresh::Rotate`] it counts as a read for the order (a
/// failing client does not take a slot of every scrape), with [`BackupRefresh::Changed`] the
/// client is read again at the next poll (else the backups it made would never be read).
#[derive(Debug, Default)]
pub struct BackupCounts {
    clients: HashMap<i64, Entry>,
    /// `backups` requests that failed since the start.
    pub errors: u64,
}

#[derive(Debug)]
struct Entry {
    /// The last read (tried); `None`: known from elsewhere (see [`BackupCounts::seed`]).
    tried: Option<Instant>,
    /// The client's last backup times at that read.
    seen: LastBackups,
    /// The same before that read (what a failed read goes back to).
    before: LastBackups,
    /// The last counts received.
    counts: Option<Counts>,
}

impl BackupCounts {
    /// Says that the lists of client `id` were read when its last backup times were `seen`
    /// (e.g. by an earlier run, from a store): [`BackupRefresh::Changed`] reads it again only
    /// once they change.
    pub fn seed(&mut self, id: i64, seen: LastBackups) {
        self.clients.entry(id).or_insert(Entry {
            tried: None,
            seen,
            before: seen,
            counts: None,
        });
    }

    /// Forgets clients that are gone, picks the clients (ids with their last file and image
    /// backup times) to read now and marks them read at `now`.
    pub fn pick(
        &mut self,
        clients: &[(i64, LastBackups)],
        refresh: BackupRefresh,
        now: Instant,
    ) -> Vec<i64> {
        let (k, changed_only) = match refresh {
            BackupRefresh::Off => return Vec::new(),
            BackupRefresh::Rotate(k) => (k, false),
            BackupRefresh::Changed(k) => (k, true),
        };
        let present: HashSet<i64> = clients.iter().map(|(id, _)| *id).collect();
        self.clients.retain(|id, _| present.contains(id));
        let mut listed = HashSet::new();
        let mut order: Vec<(u8, Option<Instant>, i64, LastBackups)> = clients
            .iter()
            .filter(|(id, _)| listed.insert(*id))
            .filter_map(|&(id, seen)| match self.clients.get(&id) {
                None => Some((0, None, id, seen)),
                Some(e) if e.seen != seen => Some((1, e.tried, id, seen)),
                Some(_) if changed_only => None,
                Some(e) => Some((2, e.tried, id, seen)),
            })
            .collect();
        order.sort_by_key(|&(rank, tried, id, _)| (rank, tried, id));
        order.truncate(k);
        for &(_, _, id, seen) in &order {
            match self.clients.get_mut(&id) {
                Some(e) => {
                    e.tried = Some(now);
                    e.before = e.seen;
                    e.seen = seen;
                }
                None => {
                    self.clients.insert(
                        id,
                        Entry {
                            tried: Some(now),
                            seen,
                            before: NEVER,
                            counts: None,
                        },
                    );
                }
            }
        }
        order.into_iter().map(|(_, _, id, _)| id).collect()
    }

    /// The read of client `id` picked with `refresh` failed: with [`BackupRefresh::Changed`]
    /// it is picked again at the next poll.
    pub fn failed(&mut self, id: i64, refresh: BackupRefresh) {
        if let (Some(e), BackupRefresh::Changed(_)) = (self.clients.get_mut(&id), refresh) {
            e.seen = e.before;
        }
    }

    /// Keeps the counts read for client `id`.
    pub fn store(&mut self, id: i64, counts: Counts) {
        if let Some(e) = self.clients.get_mut(&id) {
            e.counts = Some(counts);
        }
    }

    /// The counts of client `id`, if read.
    pub fn get(&self, id: i64) -> Option<&Counts> {
        self.clients.get(&id).and_then(|e| e.counts.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_rotate_oldest_first_with_changed_clients_first() {
        let mut c = BackupCounts::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let rot = BackupRefresh::Rotate;
        let clients: Vec<(i64, LastBackups)> = (1..=5).map(|id| (id, (100, 0))).collect();
        assert_eq!(c.pick(&clients, rot(2), at(0)), [1, 2]);
        assert_eq!(c.pick(&clients, rot(2), at(1)), [3, 4]);
        assert_eq!(
            c.pick(&clients, rot(2), at(2)),
            [5, 1],
            "never read first, then the oldest"
        );
        assert_eq!(c.pick(&clients, rot(2), at(3)), [2, 3]);
        // Client 5 has a new backup: it comes first; a new client 6 before it.
        let mut changed = clients.clone();
        changed[4].1 = (200, 0);
        changed.push((6, (0, 0)));
        assert_eq!(c.pick(&changed, rot(2), at(4)), [6, 5]);
        assert_eq!(c.pick(&changed, rot(3), at(5)), [4, 1, 2]);
        // Removed clients are forgotten; k = 0 picks nothing; duplicates are read once.
        assert_eq!(c.pick(&changed[..2], rot(5), at(6)), [1, 2]);
        assert_eq!(c.clients.len(), 2);
        assert!(c.pick(&changed, rot(0), at(7)).is_empty());
        assert_eq!(c.pick(&[(9, (0, 0)), (9, (0, 0))], rot(5), at(8)), [9]);
    }

    #[test]
    fn counts_of_a_backup_list() {
        let entries = |json: &str| -> Vec<BackupEntry> { serde_json::from_str(json).unwrap() };
        let b = ClientBackups {
            clientid: 1,
            clientname: "a".into(),
            file_backups: entries(
                r#"[{"id": 3, "backuptime": 300, "size_bytes": 30},
                    {"id": 2, "backuptime": 200, "size_bytes": 20}]"#,
            ),
            image_backups: entries(r#"[{"id": 7, "backuptime": 100, "size_bytes": -1}]"#),
            can_archive: true,
            can_delete: true,
        };
        let k = Counts::of(&b, Instant::now(), 1);
        assert_eq!((k.file, k.image), (2, 1));
        assert_eq!(k.last_file_size, Some(30));
        assert_eq!(k.last_image_size, None, "not calculated");
    }

    #[test]
    fn changed_reads_only_new_and_changed_clients() {
        let mut c = BackupCounts::default();
        let t0 = Instant::now();
        c.seed(1, (10, 5));
        let clients = [(1, (10, 5)), (2, (20, 0))];
        assert_eq!(c.pick(&clients, BackupRefresh::Changed(10), t0), vec![2]);
        assert!(c.pick(&clients, BackupRefresh::Changed(10), t0).is_empty());
        let image_done = [(1, (10, 6)), (2, (20, 0))];
        assert_eq!(c.pick(&image_done, BackupRefresh::Changed(10), t0), vec![1]);
        assert!(c
            .pick(&image_done, BackupRefresh::Changed(10), t0)
            .is_empty());
        assert!(c.pick(&image_done, BackupRefresh::Off, t0).is_empty());
    }

    #[test]
    fn a_failed_read_is_tried_again_only_when_changed_is_asked() {
        let t0 = Instant::now();
        let clients = [(1, (10, 5))];
        let mut c = BackupCounts::default();
        assert_eq!(c.pick(&clients, BackupRefresh::Changed(10), t0), vec![1]);
        c.failed(1, BackupRefresh::Changed(10));
        assert_eq!(
            c.pick(&clients, BackupRefresh::Changed(10), t0),
            vec![1],
            "again"
        );
        assert!(
            c.pick(&clients, BackupRefresh::Changed(10), t0).is_empty(),
            "read"
        );
        // A client read before, whose new backup's list fails: read at the next poll.
        let newer = [(1, (20, 5))];
        assert_eq!(c.pick(&newer, BackupRefresh::Changed(10), t0), vec![1]);
        c.failed(1, BackupRefresh::Changed(10));
        assert_eq!(c.pick(&newer, BackupRefresh::Changed(10), t0), vec![1]);
        // Rotate: a failed read counts as a read for the order.
        let mut r = BackupCounts::default();
        let two = [(1, (10, 0)), (2, (10, 0))];
        assert_eq!(r.pick(&two, BackupRefresh::Rotate(1), t0), vec![1]);
        r.failed(1, BackupRefresh::Rotate(1));
        assert_eq!(r.pick(&two, BackupRefresh::Rotate(1), t0), vec![2]);
    }

    #[test]
    fn changed_respects_its_bound_and_keeps_the_rest_for_later() {
        let mut c = BackupCounts::default();
        let t0 = Instant::now();
        let clients: Vec<(i64, LastBackups)> = (1..=5).map(|i| (i, (i * 10, 0))).collect();
        assert_eq!(c.pick(&clients, BackupRefresh::Changed(2), t0), vec![1, 2]);
        assert_eq!(c.pick(&clients, BackupRefresh::Changed(2), t0), vec![3, 4]);
        assert_eq!(c.pick(&clients, BackupRefresh::Changed(2), t0), vec![5]);
    }
}

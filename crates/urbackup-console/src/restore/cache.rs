//! The listing cache: folder listings of file backups, per server, bounded by the number of
//! entries they hold (quick_cache, evicting the least used).

use quick_cache::sync::Cache;
use quick_cache::Weighter;
use std::sync::Arc;
use urbackup::{BackupListing, ListingCache, ListingKey};

/// Entries the cache holds at most, over all listings (about 300 bytes each).
const ENTRIES: u64 = 100_000;

#[derive(Clone)]
struct ByEntries;

impl Weighter<(String, ListingKey), Arc<BackupListing>> for ByEntries {
    fn weight(&self, _key: &(String, ListingKey), listing: &Arc<BackupListing>) -> u64 {
        1 + listing.files.len() as u64
    }
}

/// Folder listings of the file backups of every server.
pub struct Listings {
    cache: Cache<(String, ListingKey), Arc<BackupListing>, ByEntries>,
}

impl Default for Listings {
    fn default() -> Self {
        Listings {
            cache: Cache::with_weighter(4096, ENTRIES, ByEntries),
        }
    }
}

impl std::fmt::Debug for Listings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listings")
            .field("listings", &self.cache.len())
            .field("entries", &self.cache.weight())
            .finish()
    }
}

impl Listings {
    /// The cache of one server's listings, for the library's lookups.
    pub fn of<'a>(&'a self, server: &'a str) -> ServerListings<'a> {
        ServerListings {
            listings: self,
            server,
        }
    }
}

/// [`Listings`] of one server.
pub struct ServerListings<'a> {
    listings: &'a Listings,
    server: &'a str,
}

impl ListingCache for ServerListings<'_> {
    fn get(&self, key: &ListingKey) -> Option<Arc<BackupListing>> {
        self.listings
            .cache
            .get(&(self.server.to_owned(), key.clone()))
    }

    fn put(&self, key: ListingKey, listing: Arc<BackupListing>) {
        self.listings
            .cache
            .insert((self.server.to_owned(), key), listing);
    }
}

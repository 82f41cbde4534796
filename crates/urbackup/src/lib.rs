//! UrBackup client.

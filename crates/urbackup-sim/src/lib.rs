//! Simulated UrBackup server.

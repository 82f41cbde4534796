//! Starts an incremental file backup with the blocking API and follows it until it ends.
//!
//! ```sh
//! URBACKUP_PASSWORD=secret cargo run -p urbackup --example start_backup_blocking -- \
//!     http://127.0.0.1:55414/x admin laptop
//! ```

use std::time::Duration;
use urbackup::blocking::UrbackupServer;
use urbackup::BackupType;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:55414/x".into());
    let user = args.next().unwrap_or_default();
    let client = args
        .next()
        .ok_or("usage: start_backup_blocking URL USER CLIENT")?;
    let password = std::env::var("URBACKUP_PASSWORD").unwrap_or_default();

    let server = UrbackupServer::new(&url, &user, &password)?;
    if !server.start_backup_typed(&client, BackupType::IncrFile)? {
        return Err(format!("{client} is offline").into());
    }
    let id = server.client_id(&client)?;
    loop {
        let running = server.client_actions(id)?;
        let Some(a) = running.first() else { break };
        println!("{}: {}%", a.action, a.progress_percent.max(0));
        std::thread::sleep(Duration::from_secs(2));
    }
    let last = server.get_backups(id)?;
    println!(
        "done: {} file backups, newest {} bytes",
        last.len(),
        last.first().map_or(0, |b| b.size_bytes)
    );
    Ok(())
}

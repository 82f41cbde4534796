//! Prints the clients of a server and whether their backups are fine.
//!
//! ```sh
//! cargo run -p urbackup --example status -- http://127.0.0.1:55414/x admin secret
//! ```

use urbackup::UrbackupServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:55414/x".into());
    let user = args.next().unwrap_or_default();
    let password = std::env::var("URBACKUP_PASSWORD")
        .ok()
        .or_else(|| args.next())
        .unwrap_or_default();

    let server = UrbackupServer::new(&url, &user, &password)?;
    for c in server.get_client_statuses().await? {
        let file = if c.file_ok {
            "ok"
        } else if c.file_disabled {
            "disabled"
        } else {
            "FAILED"
        };
        let image = if c.image_ok {
            "ok"
        } else if c.image_disabled || c.image_not_supported {
            "-"
        } else {
            "FAILED"
        };
        println!(
            "{:24} online={:5} file={file:8} image={image}",
            c.name, c.online
        );
    }
    Ok(())
}

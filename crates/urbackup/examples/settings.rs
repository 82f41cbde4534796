//! Changes one client setting and shows that nothing else moved.
//!
//! ```sh
//! URBACKUP_PASSWORD=secret cargo run -p urbackup --example settings -- \
//!     http://127.0.0.1:55414/x admin laptop update_freq_incr 14400
//! ```

use urbackup::UrbackupServer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [url, user, client, key, value] = a.as_slice() else {
        return Err("usage: settings URL USER CLIENT KEY VALUE".into());
    };
    let password = std::env::var("URBACKUP_PASSWORD").unwrap_or_default();
    let server = UrbackupServer::new(url, user, &password)?;
    let before = server.get_client_settings_typed(client).await?;
    server
        .change_client_setting_typed(client, key, value.as_str())
        .await?;
    let after = server.get_client_settings_typed(client).await?;
    println!("changed: {:?}", before.diff_keys(&after));
    Ok(())
}

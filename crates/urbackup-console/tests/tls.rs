//! HTTPS served by the console itself (rustls): the pages answer over TLS with a
//! self-signed certificate the client trusts, cookies are `__Host-` and `Secure`, answers carry
//! HSTS, and a client that stalls the handshake or its request head is cut off.

mod common;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use urbackup_console::auth::Role;
use urbackup_console::{Console, ConsoleConfig, ServeLimits, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_serves_https_with_secure_cookies() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::File::create(&cert_path)
        .unwrap()
        .write_all(cert.cert.pem().as_bytes())
        .unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let store = Arc::new(Store::open(&dir.path().join("console.sqlite3")).unwrap());
    store.add_user("ann", Role::Admin, "ann-password").unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let console = Console::new(
        vec![common::member("gone", &dead)],
        store,
        ConsoleConfig {
            secure_cookies: true,
            hsts: true,
            limits: ServeLimits {
                header_read: Duration::from_secs(2),
                tls_handshake: Duration::from_secs(2),
                ..ServeLimits::default()
            },
            ..ConsoleConfig::default()
        },
    )
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (c, k) = (cert_path.clone(), key_path.clone());
    tokio::spawn(async move { console.serve_tls_on(listener, &c, &k).await });

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let mut reply = String::new();
    for _ in 0..50 {
        let Ok(tcp) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake");
        tls.write_all(b"GET /login HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = tls.read_to_end(&mut buf).await;
        reply = String::from_utf8_lossy(&buf).into_owned();
        break;
    }
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let cookie = reply
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: __host-urbackup_console_login=")
        })
        .expect("the login cookie, with the __Host- prefix");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(reply.contains("name=\"password\""));
    assert!(reply
        .to_ascii_lowercase()
        .contains("strict-transport-security: max-age=31536000"));

    // A connection that never starts its handshake is closed after the handshake's time.
    let mut idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut b = [0u8; 16];
    let r = tokio::time::timeout(Duration::from_secs(10), idle.read(&mut b)).await;
    assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
    // A request head half sent after the handshake: closed after the head's time.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("a TLS handshake");
    tls.write_all(b"GET /login HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
    assert!(r.is_ok(), "the half-sent request stayed open");
    let text = String::from_utf8_lossy(&buf);
    assert!(!text.contains("200 OK"), "{text}");
}

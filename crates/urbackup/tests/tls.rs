//! HTTPS: certificate verification is on by default, an extra CA makes a private server
//! trusted, and the explicit opt-out accepts anything. A small TLS terminator with a
//! self-signed certificate forwards to the simulator, as a reverse proxy would.

mod common;
use common::*;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use urbackup::{UrbackupError, UrbackupServer};

struct Proxy {
    url: String,
    ca_pem: String,
}

async fn tls_proxy(backend: std::net::SocketAddr) -> Proxy {
    let ca = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = ca.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(ca.signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut up) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
            });
        }
    });
    Proxy {
        url: format!("https://localhost:{port}/x"),
        ca_pem: ca.cert.pem(),
    }
}

#[tokio::test]
async fn verification_is_on_by_default() {
    let sim = start().await;
    let proxy = tls_proxy(sim.addr()).await;
    let s = UrbackupServer::new(&proxy.url, ADMIN.0, ADMIN.1).unwrap();
    match s.get_client_statuses().await {
        Err(UrbackupError::Transport {
            message,
            outcome_unknown: false,
            ..
        }) => {
            assert!(message.to_lowercase().contains("certificate"), "{message}")
        }
        other => panic!("a self-signed certificate must be refused: {other:?}"),
    }
    assert_eq!(sim.total_requests(), 0, "nothing reached the server");
}

#[tokio::test]
async fn an_extra_ca_is_trusted() {
    let sim = start().await;
    let proxy = tls_proxy(sim.addr()).await;
    let s = UrbackupServer::builder(&proxy.url)
        .credentials(ADMIN.0, ADMIN.1)
        .add_root_certificate_pem(proxy.ca_pem.as_bytes())
        .build()
        .unwrap();
    assert_eq!(s.get_client_statuses().await.unwrap().len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &proxy.ca_pem).unwrap();
    let s = UrbackupServer::builder(&proxy.url)
        .credentials(ADMIN.0, ADMIN.1)
        .ca_certificate_file(&ca)
        .build_blocking()
        .unwrap();
    let clients = tokio::task::spawn_blocking(move || s.get_client_statuses().unwrap().len());
    assert_eq!(clients.await.unwrap(), 3);
}

#[tokio::test]
async fn accepting_invalid_certificates_is_explicit() {
    let sim = start().await;
    let proxy = tls_proxy(sim.addr()).await;
    let s = UrbackupServer::builder(&proxy.url)
        .credentials(ADMIN.0, ADMIN.1)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(s.get_client_statuses().await.unwrap().len(), 3);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("i.sh");
    let alpha = sim.client_id("alpha").unwrap();
    assert!(
        s.download_client_installer(alpha, urbackup::InstallerOS::Linux, &dest)
            .await
            .unwrap()
            > 0
    );
}

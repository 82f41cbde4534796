//! Serving the router on a socket, over HTTP or HTTPS, so that slow or many clients cannot
//! hold the console: a cap on open connections (below the process's file limit, with room for
//! the poller and the database) and on those of one address, a time limit on the TLS
//! handshake, on reading a request's head (which also ends idle keep-alive connections), and
//! on a write that makes no progress (a client that stopped reading).
//!
//! Bodies and handlers have their limits in the router ([`crate::web`]): a request body must
//! arrive within [`ServeLimits::body_read`], a handler must answer within
//! [`ServeLimits::request`]; a streamed answer (a download) may take as long as the client
//! keeps reading.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// How long and how many: see the module's documentation.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// A request's head (request line and headers) must arrive within this, counted from the
    /// connection's start or the end of the previous answer.
    pub header_read: Duration,
    /// A request's body must arrive within this.
    pub body_read: Duration,
    /// A handler must start its answer within this.
    pub request: Duration,
    /// A TLS handshake must end within this.
    pub tls_handshake: Duration,
    /// A write to the client that makes no progress for this long ends the connection.
    pub write_stall: Duration,
    /// Open connections at most (`0`: from the file limit: its soft value less
    /// `FILES_RESERVED`, at most 4096). Beyond it new connections wait to be accepted.
    pub max_connections: usize,
    /// Open connections of one address at most (`0`: no limit). Beyond it a new connection of
    /// that address is closed at once. Off behind a reverse proxy (every connection comes
    /// from the proxy).
    pub max_per_address: usize,
}

/// Files kept free for the poller's connections, the database and the logs when the
/// connection cap is taken from the file limit.
pub const FILES_RESERVED: usize = 128;

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            request: Duration::from_secs(60),
            tls_handshake: Duration::from_secs(10),
            write_stall: Duration::from_secs(60),
            max_connections: 0,
            max_per_address: 64,
        }
    }
}

impl ServeLimits {
    /// The connection cap: [`ServeLimits::max_connections`], or the one the file limit allows.
    pub fn connection_cap(&self) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        file_limit()
            .map(|n| n.saturating_sub(FILES_RESERVED as u64).clamp(16, 4096) as usize)
            .unwrap_or(512)
    }
}

/// The soft limit on open files, raised to the hard limit first where allowed (what a
/// service manager's `LimitNOFILE` sets).
fn file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
        let l = getrlimit(Resource::Nofile);
        if let (Some(current), Some(maximum)) = (l.current, l.maximum) {
            if current < maximum {
                let raised = Rlimit {
                    current: Some(maximum),
                    maximum: Some(maximum),
                };
                let _ = setrlimit(Resource::Nofile, raised);
            }
        }
        // `None`: no limit.
        Some(getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Counts the open connections per address.
#[derive(Default)]
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

struct AddressSlot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<AddressSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(ip).or_insert(0);
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(AddressSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// Serves `app` on `listener` (over TLS with `tls`) until the process ends.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: ServeLimits,
) -> std::io::Result<()> {
    let cap = limits.connection_cap();
    tracing::info!(
        connections = cap,
        per_address = limits.max_per_address,
        "console serving"
    );
    let permits = Arc::new(Semaphore::new(cap));
    let per_address = Arc::new(PerAddress::default());
    let limits = Arc::new(limits);
    loop {
        // At the cap, new connections wait in the listen queue until one ends.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return Ok(());
        };
        let (tcp, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of files, or a connection that ended before it was accepted: wait a
                // little rather than spin.
                tracing::warn!("console: cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = per_address.take(peer.ip(), limits.max_per_address) else {
            tracing::warn!(
                target: crate::web::SECURITY,
                addr = %peer.ip(),
                "connection refused: too many open connections from this address"
            );
            continue;
        };
        let (app, tls, limits) = (app.clone(), tls.clone(), limits.clone());
        tokio::spawn(async move {
            let _held = (permit, slot);
            let _ = tcp.set_nodelay(true);
            match tls {
                Some(acceptor) => {
                    let handshake = acceptor.accept(tcp);
                    // A client that does not finish its handshake in time is dropped.
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(limits.tls_handshake, handshake).await
                    {
                        connection(stream, peer, app, &limits).await
                    }
                }
                None => connection(tcp, peer, app, &limits).await,
            }
        });
    }
}

/// Serves one connection with HTTP/1.1.
async fn connection<S>(io: S, peer: SocketAddr, app: Router, limits: &ServeLimits)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let mut io = tokio_io_timeout::TimeoutStream::new(io);
    io.set_write_timeout(Some(limits.write_stall));
    let io = TokioIo::new(Box::pin(io));
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut app = app.clone();
        async move { app.call(req.map(axum::body::Body::new)).await }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(64 * 1024)
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

/// A listener's TLS acceptor from a certificate chain and private key (PEM files).
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> std::io::Result<TlsAcceptor> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let bad = |what: &str, path: &std::path::Path, e: &dyn std::fmt::Display| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{what} {}: {e}", path.display()),
        )
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("certificate", cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("certificate", cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad("private key", key, &e))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

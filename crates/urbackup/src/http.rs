//! A lean HTTP/1.1 client for the UrBackup web API: one connection per request (the built-in
//! server closes every connection after its answer, so there is nothing to pool), TLS by
//! rustls with verification on, no redirects, no proxies from the environment.
//!
//! It knows nothing of actions or sessions: [`crate::transport`] builds on it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use url::Url;

/// Why an HTTP exchange failed.
#[derive(Debug)]
pub(crate) enum HttpError {
    /// No connection was made: the request never left this machine.
    Connect(String),
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// The connection failed after it was made (the server may have seen the request).
    Io(String),
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Connect(m) => write!(f, "cannot connect: {m}"),
            HttpError::ConnectTimeout => f.write_str("connect timeout"),
            HttpError::Io(m) => f.write_str(m),
        }
    }
}

/// TLS settings of a client.
pub(crate) struct TlsOptions {
    /// Extra trusted CA certificates (PEM).
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Accept any certificate (tests against a server you control only).
    pub accept_invalid_certs: bool,
}

/// Checks that `pem` holds at least one certificate.
pub(crate) fn check_pem(pem: &[u8]) -> Result<(), String> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem).collect();
    if certs.is_empty() {
        return Err("invalid CA certificate: no PEM certificate found".into());
    }
    certs
        .into_iter()
        .try_for_each(|c| c.map(drop))
        .map_err(|e| format!("invalid CA certificate: {e}"))
}

/// The client: connection settings shared by every request.
pub(crate) struct HttpClient {
    tls: Option<tokio_rustls::TlsConnector>,
    connect_timeout: Duration,
    user_agent: hyper::header::HeaderValue,
    /// `Authorization: Basic ...`, marked sensitive (never logged by the HTTP stack).
    authorization: Option<hyper::header::HeaderValue>,
}

impl HttpClient {
    pub(crate) fn new(
        url: &Url,
        connect_timeout: Duration,
        user_agent: &str,
        basic: Option<(&str, &str)>,
        tls: TlsOptions,
    ) -> Result<Self, String> {
        let tls = if url.scheme() == "https" {
            Some(tls_connector(tls)?)
        } else {
            None
        };
        let user_agent = hyper::header::HeaderValue::from_str(user_agent)
            .map_err(|_| "the user agent is not a valid header value".to_owned())?;
        let authorization = match basic {
            Some((user, pw)) => {
                use base64::Engine;
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
                let mut v = hyper::header::HeaderValue::from_str(&format!("Basic {token}"))
                    .map_err(|_| "basic auth credentials are not valid in a header".to_owned())?;
                v.set_sensitive(true);
                Some(v)
            }
            None => None,
        };
        Ok(HttpClient {
            tls,
            connect_timeout,
            user_agent,
            authorization,
        })
    }

    /// Sends one request on a new connection and returns the response head; the body is read
    /// from the returned [`Response`]. `body: None` sends a GET.
    pub(crate) async fn send(
        &self,
        url: &Url,
        body: Option<String>,
    ) -> Result<Response, HttpError> {
        // On the heap: connecting, TLS and hyper's handshake make a future of many kilobytes,
        // which every caller's future would otherwise hold and copy each time it moves.
        Box::pin(self.exchange_on_new_connection(url, body)).await
    }

    async fn exchange_on_new_connection(
        &self,
        url: &Url,
        body: Option<String>,
    ) -> Result<Response, HttpError> {
        let host = url
            .host()
            .ok_or_else(|| HttpError::Connect("the URL has no host".into()))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| HttpError::Connect("the URL has no port".into()))?;
        let connect = async {
            let tcp = match &host {
                url::Host::Ipv4(ip) => TcpStream::connect((*ip, port)).await,
                url::Host::Ipv6(ip) => TcpStream::connect((*ip, port)).await,
                url::Host::Domain(d) => TcpStream::connect((*d, port)).await,
            };
            tcp.map_err(|e| HttpError::Connect(io_text(&e)))
        };
        let tcp = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| HttpError::ConnectTimeout)??;
        let _ = tcp.set_nodelay(true);

        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        let host_header = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let mut req = hyper::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(path)
            .header(hyper::header::HOST, host_header)
            .header(hyper::header::USER_AGENT, self.user_agent.clone())
            .header(hyper::header::CONNECTION, "close");
        if body.is_some() {
            req = req.header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        }
        if let Some(auth) = &self.authorization {
            req = req.header(hyper::header::AUTHORIZATION, auth.clone());
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpError::Connect(format!("invalid request: {e}")))?;

        match &self.tls {
            None => exchange(tcp, req).await,
            Some(tls) => {
                let name = match host {
                    url::Host::Ipv4(ip) => ServerName::IpAddress(std::net::IpAddr::V4(ip).into()),
                    url::Host::Ipv6(ip) => ServerName::IpAddress(std::net::IpAddr::V6(ip).into()),
                    url::Host::Domain(d) => ServerName::try_from(d.to_owned())
                        .map_err(|e| HttpError::Connect(format!("invalid server name: {e}")))?,
                };
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| HttpError::Connect(format!("TLS: {}", io_text(&e))))?;
                exchange(stream, req).await
            }
        }
    }
}

/// Runs the HTTP/1.1 exchange on a connected stream.
async fn exchange<S>(stream: S, req: hyper::Request<Full<Bytes>>) -> Result<Response, HttpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
        .await
        .map_err(|e| HttpError::Io(hyper_text(&e)))?;
    // The connection is driven by its own task for as long as the body is read; it ends when
    // the server closes the connection, or is aborted when the response is dropped.
    let conn = AbortOnDrop(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| HttpError::Io(hyper_text(&e)))?;
    let header = |name: hyper::header::HeaderName| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Ok(Response {
        status: resp.status().as_u16(),
        content_type: header(hyper::header::CONTENT_TYPE),
        location: header(hyper::header::LOCATION),
        content_length: header(hyper::header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        body: resp.into_body(),
        _conn: conn,
    })
}

/// A response head with its body still to read.
pub(crate) struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub content_length: Option<u64>,
    pub location: Option<String>,
    body: Incoming,
    _conn: AbortOnDrop,
}

impl Response {
    /// The next piece of the body, `None` at its end.
    pub(crate) async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(HttpError::Io(hyper_text(&e))),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                }
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn tls_connector(opts: TlsOptions) -> Result<tokio_rustls::TlsConnector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let mut config = if opts.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for pem in &opts.extra_roots_pem {
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| format!("invalid CA certificate: {e}"))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("invalid CA certificate: {e}"))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// The verifier behind `danger_accept_invalid_certs`: accepts every certificate, still
/// checks the handshake signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn io_text(e: &std::io::Error) -> String {
    error_chain(e)
}

fn hyper_text(e: &hyper::Error) -> String {
    error_chain(e)
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

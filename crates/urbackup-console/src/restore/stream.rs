//! A download from a backup as a response body: each piece goes from the server's socket to
//! the browser's as it comes (nothing is held but the piece in flight, and hyper asks for the
//! next one only when the browser has taken the last). A server that breaks off ends the body
//! with an error, so hyper closes the connection without completing the response and the
//! browser marks the download as failed, never as a short file that looks complete. How it
//! ended (bytes sent; finished, broken off by the server, cancelled by the browser) is handed
//! to `on_end` once.

use axum::body::Body;
use futures_util::stream;
use urbackup::BackupDownload;

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Every byte was sent.
    Finished,
    /// The server broke it off (the error).
    Broken(String),
    /// The browser went away before the end.
    Cancelled,
}

impl End {
    /// The audit trail's word for it.
    pub fn outcome(&self) -> &'static str {
        match self {
            End::Finished => "ok",
            End::Broken(_) => "broken off",
            End::Cancelled => "cancelled",
        }
    }
}

/// Calls `on_end` once: at the end of the body, or when the body is dropped before it.
struct Guard<F: FnOnce(u64, End)> {
    on_end: Option<F>,
    sent: u64,
}

impl<F: FnOnce(u64, End)> Guard<F> {
    fn end(&mut self, how: End) {
        if let Some(f) = self.on_end.take() {
            f(self.sent, how);
        }
    }
}

impl<F: FnOnce(u64, End)> Drop for Guard<F> {
    fn drop(&mut self) {
        self.end(End::Cancelled);
    }
}

/// The body of a download; `on_end(bytes_sent, how)` is called once when it ends.
pub fn body<F>(download: BackupDownload, on_end: F) -> Body
where
    F: FnOnce(u64, End) + Send + 'static,
{
    let guard = Guard {
        on_end: Some(on_end),
        sent: 0,
    };
    let pieces = stream::unfold(
        (download, guard, false),
        |(mut d, mut guard, over)| async move {
            if over {
                return None;
            }
            match d.next_chunk().await {
                Ok(Some(piece)) => {
                    guard.sent += piece.len() as u64;
                    // With its length announced, the last piece ends it: hyper asks for
                    // nothing more once it has sent that many bytes.
                    let whole = d.content_length() == Some(d.received());
                    if whole {
                        guard.end(End::Finished);
                    }
                    Some((Ok(piece), (d, guard, whole)))
                }
                Ok(None) => {
                    guard.end(End::Finished);
                    None
                }
                Err(e) => {
                    guard.end(End::Broken(e.to_string()));
                    Some((Err(std::io::Error::other(e.to_string())), (d, guard, true)))
                }
            }
        },
    );
    Body::from_stream(pieces)
}

//! A download from a backup as a byte stream: the pieces of the body as they come off the
//! server's socket, never held whole (see
//! [`UrbackupServer::download_file_stream`](crate::UrbackupServer::download_file_stream)).

use crate::error::{Result, UrbackupError};
use crate::http::Response;
use bytes::Bytes;
use std::time::Duration;

/// The longest tail a ZIP file can end with: its end-of-central-directory record (22 bytes)
/// and a comment of at most 65,535 bytes.
const ZIP_TAIL: usize = 22 + 65_535;

/// A file or a folder's ZIP coming from a backup, piece by piece
/// ([`next_chunk`](BackupDownload::next_chunk)).
///
/// It ends with an error, never with a short body that looks complete: a body shorter than
/// the `Content-Length` the server announced, a connection that failed, no piece within the
/// idle timeout, and for a ZIP (whose length the server never announces) an end without the
/// ZIP's closing record.
pub struct BackupDownload {
    resp: Response,
    action: &'static str,
    url: String,
    idle: Duration,
    received: u64,
    zip: Option<Vec<u8>>,
    ended: bool,
}

impl std::fmt::Debug for BackupDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupDownload")
            .field("content_length", &self.resp.content_length)
            .field("received", &self.received)
            .field("zip", &self.zip.is_some())
            .finish_non_exhaustive()
    }
}

impl BackupDownload {
    pub(crate) fn new(
        resp: Response,
        action: &'static str,
        url: String,
        idle: Duration,
        zip: bool,
    ) -> Self {
        BackupDownload {
            resp,
            action,
            url,
            idle,
            received: 0,
            zip: zip.then(Vec::new),
            ended: false,
        }
    }

    /// The length the server announced (`Content-Length`; files have it, ZIPs do not).
    pub fn content_length(&self) -> Option<u64> {
        self.resp.content_length
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// A ZIP of a folder (its end is checked by its closing record).
    pub fn is_zip(&self) -> bool {
        self.zip.is_some()
    }

    /// The next piece of the body, `None` once it has ended complete.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        if self.ended {
            return Ok(None);
        }
        let next = tokio::time::timeout(self.idle, self.resp.chunk())
            .await
            .map_err(|_| UrbackupError::Timeout {
                action: self.action.to_owned(),
                secs: self.idle.as_secs_f64(),
                outcome_unknown: false,
                url: self.url.clone(),
            })?
            .map_err(|e| self.broken(e.to_string()))?;
        match next {
            Some(c) => {
                self.received += c.len() as u64;
                if let Some(n) = self.resp.content_length.filter(|n| self.received > *n) {
                    return Err(self.broken(format!(
                        "the server sent more than the {n} bytes it announced"
                    )));
                }
                if let Some(tail) = &mut self.zip {
                    tail.extend_from_slice(&c);
                    if tail.len() > 2 * ZIP_TAIL {
                        tail.drain(..tail.len() - ZIP_TAIL);
                    }
                }
                Ok(Some(c))
            }
            None => {
                self.ended = true;
                if let Some(n) = self.resp.content_length.filter(|n| *n != self.received) {
                    return Err(self.broken(format!(
                        "download ended after {} of {n} bytes",
                        self.received
                    )));
                }
                if self.zip.as_deref().is_some_and(|t| !zip_is_complete(t)) {
                    return Err(self.broken(format!(
                        "the ZIP file ended after {} bytes without its closing record",
                        self.received
                    )));
                }
                Ok(None)
            }
        }
    }

    fn broken(&self, message: String) -> UrbackupError {
        UrbackupError::Transport {
            action: self.action.to_owned(),
            message,
            outcome_unknown: false,
            url: self.url.clone(),
        }
    }
}

/// Whether `tail` (the last bytes of a ZIP file) ends with the ZIP's end-of-central-directory
/// record: its signature, then a comment as long as the record says.
fn zip_is_complete(tail: &[u8]) -> bool {
    if tail.len() < 22 {
        return false;
    }
    (0..=tail.len() - 22).rev().any(|at| {
        tail[at..at + 4] == [0x50, 0x4b, 0x05, 0x06]
            && at + 22 + u16::from_le_bytes([tail[at + 20], tail[at + 21]]) as usize == tail.len()
    })
}

#[cfg(test)]
mod tests {
    use super::zip_is_complete;

    #[test]
    fn a_zip_ends_with_its_closing_record() {
        let mut eocd = vec![0x50, 0x4b, 0x05, 0x06];
        eocd.extend_from_slice(&[0; 16]);
        eocd.extend_from_slice(&[0, 0]);
        let mut whole = b"PK\x03\x04 some entries".to_vec();
        whole.extend_from_slice(&eocd);
        assert!(zip_is_complete(&whole));
        assert!(!zip_is_complete(&whole[..whole.len() - 1]));
        assert!(!zip_is_complete(
            b"PK\x03\x04 cut in the middle of an entry"
        ));
        // With a comment of 3 bytes.
        let mut commented = whole[..whole.len() - 2].to_vec();
        commented.extend_from_slice(&[3, 0]);
        commented.extend_from_slice(b"abc");
        assert!(zip_is_complete(&commented));
        assert!(!zip_is_complete(&commented[..commented.len() - 1]));
    }
}

//! The one rule for backup starts the server would accept and never run.
//!
//! The web action `start_backup` answers `start_ok: true` for every connected client: it hands
//! the client's connection thread a message (`START IMAGE INCR`, `START BACKUP FULL`...) and
//! reports that it did (`serverinterface/start_backup.cpp`, the same in 2.4.x and 2.5.x).
//! What the thread then does is in `urbackupserver/ClientMain.cpp`: each message sets a flag
//! (`do_incr_image_now`, `do_full_backup_now`...), and each turn of the thread's loop starts
//! the first backup whose conditions hold and clears its flag. Read in both branches:
//!
//! | start | UrBackup 2.5 (2.5.x) | UrBackup 2.4 (2.4.x) |
//! |---|---|---|
//! | an image backup of a client that cannot do image backups (its capabilities say `IMAGE=0`: a Linux or macOS client without a snapshot script) | the message is dropped (`msg=="START IMAGE INCR" && can_backup_images`): accepted, never run | the flag is set and never cleared (the image branches need `can_backup_images`), and both file branches need `!do_full_image_now && !do_incr_image_now`: **the client gets no file backup at all, scheduled or started, until the server is restarted** |
//! | an image backup while image backups are switched off on the server (general setting `no_images`) | the flag is set and never cleared (the image branches need `!no_images`): no file backup of the client until `no_images` is switched off (then the image backup runs) or the server restarts | the same |
//! | a file backup while file backups are switched off on the server (`no_file_backups`) | the flag is set and never run (both file branches need `!no_file_backups`); it runs when the setting is switched off again | the same |
//! | an image backup of a client whose `image_letters` name no volume | runs the image branch over no volume and clears the flag: accepted, nothing backed up | the same |
//!
//! A client's intervals being off (`file_disabled` / `image_disabled` in `status`) stops
//! nothing: a flag set by a start skips the interval, time-window, data-plan and Internet
//! checks, so such a start runs (checked on the real 2.5.33 and 2.4.15 servers).
//!
//! So [`StartRefusal::check`] refuses the first three before anything is sent; every start
//! of the crate goes through it ([`UrbackupServer::start_backup_typed`],
//! [`UrbackupServer::start_backups`], the legacy `start_*_backup` methods and so the blocking
//! facade and the Python package), and the CLI and the console ask it before they offer or
//! send a start. The fourth is not refused: telling needs the client's settings (another
//! request, another right), and the server forgets that start at once, harming nothing.
//!
//! Whether a client can do image backups comes from its `status` entry, decoded as
//! [`ClientStatus::image_not_supported`]: UrBackup 2.5 sends it (its database's capability
//! bits, `CAPA_NO_IMAGE_BACKUPS`); UrBackup 2.4 does not, and the crate derives it as 2.4's
//! web interface does (`show_status2` in `www/js/urbackup.js`): a client whose `os_simple`
//! is set and is not `windows` cannot. The 2.4 derivation errs only on the safe side: every
//! Windows client announces `IMAGE=1`, and a Linux client with an image snapshot script
//! (which can do image backups) is refused on 2.4, where its `status` entry cannot tell it
//! from one without. The server asks a client for its capabilities before it accepts
//! starts for it (`updateCapabilities` runs before `setCommPipe`), so a connected client's
//! entry already says what it can do.
//!
//! [`UrbackupServer::start_backup_typed`]: crate::UrbackupServer::start_backup_typed
//! [`UrbackupServer::start_backups`]: crate::UrbackupServer::start_backups

use crate::error::UrbackupError;
use crate::health::{BackupKind, BackupState, ClientHealth, ServerSwitches};
use crate::models::{BackupType, ClientStatus, ServerGeneration};
use serde::Serialize;
use std::fmt;

/// Why a backup start is not sent: the server would accept it and never run it (see the
/// [module docs](self) for what each does to the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StartRefusal {
    /// An image backup of a client that cannot do image backups
    /// ([`ClientStatus::image_not_supported`]). On UrBackup 2.4 such a start would stop every
    /// file backup of the client until the server restarts.
    ImagesNotSupported,
    /// An image backup while image backups are switched off on the server (`no_images`): the
    /// start would wait, and block the client's file backups, until they are switched on.
    ImagesSwitchedOff,
    /// A file backup while file backups are switched off on the server (`no_file_backups`).
    FileBackupsSwitchedOff,
}

impl StartRefusal {
    /// The rule: why a start of `kind` for a client would be accepted and never run, `None`
    /// when the server runs it. `images_supported` is what the client's status says
    /// ([`ClientStatus::start_refusal`] and [`ClientHealth::start_refusal`] pass it), and
    /// `switches` are the server-wide switches of the same `status` reply.
    pub fn check(
        kind: BackupKind,
        images_supported: bool,
        switches: ServerSwitches,
    ) -> Option<StartRefusal> {
        match kind {
            BackupKind::Image if !images_supported => Some(StartRefusal::ImagesNotSupported),
            BackupKind::Image if switches.no_images => Some(StartRefusal::ImagesSwitchedOff),
            BackupKind::File if switches.no_file_backups => {
                Some(StartRefusal::FileBackupsSwitchedOff)
            }
            _ => None,
        }
    }

    /// `images_not_supported`, `images_switched_off`, `file_backups_switched_off`.
    pub fn as_str(self) -> &'static str {
        match self {
            StartRefusal::ImagesNotSupported => "images_not_supported",
            StartRefusal::ImagesSwitchedOff => "images_switched_off",
            StartRefusal::FileBackupsSwitchedOff => "file_backups_switched_off",
        }
    }

    /// The reason in a person's words, e.g. `the client cannot do image backups`.
    pub fn reason(self) -> &'static str {
        match self {
            StartRefusal::ImagesNotSupported => "the client cannot do image backups",
            StartRefusal::ImagesSwitchedOff => {
                "image backups are switched off on the server (no_images)"
            }
            StartRefusal::FileBackupsSwitchedOff => {
                "file backups are switched off on the server (no_file_backups)"
            }
        }
    }
}

impl fmt::Display for StartRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl BackupType {
    /// File or image.
    pub fn kind(self) -> BackupKind {
        if self.is_image() {
            BackupKind::Image
        } else {
            BackupKind::File
        }
    }
}

impl ClientStatus {
    /// Why a start of `kind` for this client would be accepted and never run ([`StartRefusal`]),
    /// with the server-wide `switches` of the same `status` reply; `None` when it runs.
    pub fn start_refusal(
        &self,
        kind: BackupKind,
        switches: ServerSwitches,
    ) -> Option<StartRefusal> {
        StartRefusal::check(kind, !self.image_not_supported, switches)
    }
}

impl ClientHealth {
    /// [`ClientStatus::start_refusal`] for a client judged by the health rule (its image
    /// kind is [`BackupState::Unsupported`] exactly when the status says
    /// `image_not_supported`).
    pub fn start_refusal(
        &self,
        kind: BackupKind,
        switches: ServerSwitches,
    ) -> Option<StartRefusal> {
        StartRefusal::check(kind, self.image.state != BackupState::Unsupported, switches)
    }
}

/// The error of a start refused for `refused` (client names and why), nothing sent.
pub(crate) fn refused_error(
    server: ServerGeneration,
    backup_type: BackupType,
    refused: &[(String, StartRefusal)],
) -> UrbackupError {
    let what = match backup_type {
        BackupType::IncrFile => "an incremental file backup",
        BackupType::FullFile => "a full file backup",
        BackupType::IncrImage => "an incremental image backup",
        BackupType::FullImage => "a full image backup",
    };
    let clients = refused
        .iter()
        .map(|(name, r)| format!("`{name}` ({r})"))
        .collect::<Vec<_>>()
        .join(", ");
    UrbackupError::Unsupported {
        server,
        what: format!(
            "run {what} of {clients}: the start was not sent (the server would accept it and never run it)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: ServerSwitches = ServerSwitches {
        no_file_backups: false,
        no_images: false,
    };

    #[test]
    fn the_rule() {
        use BackupKind::{File, Image};
        use StartRefusal::*;
        let off = |no_file_backups, no_images| ServerSwitches {
            no_file_backups,
            no_images,
        };
        assert_eq!(StartRefusal::check(Image, true, ON), None);
        assert_eq!(StartRefusal::check(File, false, ON), None);
        assert_eq!(
            StartRefusal::check(Image, false, ON),
            Some(ImagesNotSupported)
        );
        // The client's own incapacity is named first.
        assert_eq!(
            StartRefusal::check(Image, false, off(true, true)),
            Some(ImagesNotSupported)
        );
        assert_eq!(
            StartRefusal::check(Image, true, off(false, true)),
            Some(ImagesSwitchedOff)
        );
        assert_eq!(StartRefusal::check(File, true, off(false, true)), None);
        assert_eq!(
            StartRefusal::check(File, false, off(true, false)),
            Some(FileBackupsSwitchedOff)
        );
        assert_eq!(StartRefusal::check(Image, true, off(true, false)), None);
    }

    #[test]
    fn the_error_names_the_client_and_the_reason() {
        let e = refused_error(
            ServerGeneration::V2_4,
            BackupType::IncrImage,
            &[("realclient".into(), StartRefusal::ImagesNotSupported)],
        );
        assert!(matches!(e, UrbackupError::Unsupported { .. }));
        assert_eq!(
            e.to_string(),
            "UrBackup 2.4 cannot run an incremental image backup of `realclient` (the client \
             cannot do image backups): the start was not sent (the server would accept it and \
             never run it)"
        );
    }
}

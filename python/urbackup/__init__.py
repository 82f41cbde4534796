"""urbackup: a client for the UrBackup server web API, backed by the Rust crate ``urbackup``.

The interface is python-urbackup's ``urbackup_server``: a legacy surface (raw ``dict`` /
``list``, ``None`` / ``False`` on failure) and a typed one (objects with the
specification's fields and ``raw``, errors raised), with the same names, parameters and
defaults. Switching is a change of the install line; ``from urbackup import urbackup_server``
stays.

What the Rust side brings: one session shared by every thread using a handle (one login for
all of them, one transparent re-login when the server forgot the session), timeouts on every
request, retries for reads only, settings writes that send only the changed key, calls that
release the GIL while they wait on the network.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing `typing` costs ~15 ms of start-up
from . import _urbackup
from ._errors import (
    AccessDeniedError,
    AuthenticationError,
    ClientNotFoundError,
    HttpStatusError,
    InvalidInputError,
    ServerError,
    UnexpectedResponseError,
    UnknownSettingError,
    UrbackupConnectionError,
    UrbackupError,
    UrbackupIOError,
    UrbackupTimeoutError,
    UnsupportedError,
    UserAlreadyExistsError,
)
from ._urbackup import name_from_bytes, name_to_bytes

if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Callable, Dict, List, Optional, Sequence

    from ._extra import Activity as Activity
    from ._extra import BackupListing as BackupListing
    from ._extra import FileEntry as FileEntry
    from ._extra import Log as Log
    from ._extra import LogLine as LogLine
    from ._extra import LogSummary as LogSummary
    from ._extra import RestoreOutcome as RestoreOutcome
    from ._types import ActionType as ActionType
    from ._types import BackupType as BackupType
    from ._types import InstallerOS as InstallerOS
    from ._types import LogLevel as LogLevel
    from ._types import installer_os as installer_os

ClientStatus = _urbackup.ClientStatus
BackupEntry = _urbackup.BackupEntry
UsageEntry = _urbackup.UsageEntry
ActionProgress = _urbackup.ActionProgress
LogEntry = _urbackup.LogEntry
ExtraClient = _urbackup.ExtraClient
User = _urbackup.User
Group = _urbackup.Group
RestoreStarted = _urbackup.RestoreStarted
__version__: str = _urbackup.__version__

_EXTRA = ("Activity", "BackupListing", "FileEntry", "Log", "LogLine", "LogSummary", "RestoreOutcome")
_ENUMS = ("ActionType", "BackupType", "InstallerOS", "LogLevel", "installer_os")


def __getattr__(name: str) -> Any:
    # The enums (module `enum`) and the dataclasses of the methods beyond the specification
    # (module `dataclasses`) are imported on first use (PEP 562): `import urbackup` stays
    # cheap for a one-shot script.
    if name in _ENUMS:
        from . import _types

        return getattr(_types, name)
    if name in _EXTRA:
        from . import _extra

        return getattr(_extra, name)
    raise AttributeError(f"module 'urbackup' has no attribute {name!r}")


class _Action:
    """python-urbackup's `action_*` class attributes: `ActionType` members, looked up on
    first use (so that defining the class does not import `enum`)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type) -> ActionType:
        from ._types import ActionType

        return ActionType[self.name]


class urbackup_server(_urbackup.Server):
    """A connection to one UrBackup server.

    ``urbackup_server(url, username, password, *, basic_username="", basic_password="")``;
    beyond python-urbackup, keyword-only ``timeout``, ``connect_timeout``,
    ``long_poll_timeout`` (seconds), ``read_retries``, ``ca_file`` and ``insecure``.
    Creating it does not touch the network; the first call logs in.
    """

    # python-urbackup's class attributes.
    action_incr_file = _Action("INCR_FILE")
    action_full_file = _Action("FULL_FILE")
    action_incr_image = _Action("INCR_IMAGE")
    action_full_image = _Action("FULL_IMAGE")
    action_resumed_incr_file = _Action("RESUMED_INCR_FILE")
    action_resumed_full_file = _Action("RESUMED_FULL_FILE")
    action_file_restore = _Action("FILE_RESTORE")
    action_image_restore = _Action("IMAGE_RESTORE")
    action_client_update = _Action("CLIENT_UPDATE")
    action_check_db_integrity = _Action("CHECK_DB_INTEGRITY")
    action_backup_db = _Action("BACKUP_DB")
    action_recalc_stats = _Action("RECALC_STATS")

    # ---- beyond the specification (the Rust side does everything else) ------------------

    def login_info(self) -> Dict[str, Any]:
        """Logs in (unless a session exists) and tells how (raises :class:`AuthenticationError`)."""
        return self._login_typed()

    def last_activities(self) -> List[Activity]:
        """Finished backups, restores and deletions, newest first."""
        from ._extra import Activity

        return [Activity.from_dict(a) for a in self._last_activities()]

    def browse_backup(
        self, clientid: int, backupid: int, path: str = "/", *, image: bool = False
    ) -> BackupListing:
        """Lists a folder of a backup (``image=True``: of an image backup)."""
        from ._extra import BackupListing

        return BackupListing.from_dict(self._browse_backup(clientid, backupid, path, image))

    def restore_outcome(self, restore: RestoreStarted) -> Optional[RestoreOutcome]:
        """How a started restore ended, ``None`` while its log does not exist yet."""
        from ._extra import RestoreOutcome

        o = self._restore_outcome(restore)
        return None if o is None else RestoreOutcome.from_dict(o)

    def wait_for_restore_outcome(
        self,
        restore: RestoreStarted,
        interval: float = 2.0,
        timeout: Optional[float] = None,
        on_phase: Optional[Callable[[str, Optional[ActionProgress]], None]] = None,
    ) -> Optional[RestoreOutcome]:
        """Waits until the restore's log says how it ended; ``None`` after ``timeout`` seconds.

        ``on_phase(phase, action)`` hears ``"preparing"``, ``"queued"`` (for a restore that
        needs confirmation at the client: waiting for it) or ``"running"`` after each poll.
        """
        from ._extra import RestoreOutcome

        cb = None
        if on_phase is not None:

            def cb(phase: str, item: Optional[Dict[str, Any]]) -> None:
                on_phase(phase, None if item is None else ActionProgress.from_dict(item["raw"]))

        o = self._wait_for_restore_outcome(restore, interval, timeout, cb)
        return None if o is None else RestoreOutcome.from_dict(o)

    def get_logs(
        self,
        clientids: Optional[Sequence[int]] = None,
        min_level: Optional[LogLevel] = None,
    ) -> List[LogSummary]:
        """Stored logs (of these clients; with at least one line at ``min_level``, default
        the server's: errors)."""
        from ._extra import LogSummary

        ids = None if clientids is None else [int(c) for c in clientids]
        lvl = None if min_level is None else int(min_level)
        return [LogSummary.from_dict(x) for x in self._get_logs(ids, lvl)]

    def get_log(self, logid: int) -> Optional[Log]:
        """One stored log with its lines, ``None`` if there is none of that id."""
        from ._extra import Log

        x = self._get_log(logid)
        return None if x is None else Log.from_dict(x)


__all__ = [
    "urbackup_server",
    "UrbackupError",
    "AuthenticationError",
    "ClientNotFoundError",
    "AccessDeniedError",
    "UserAlreadyExistsError",
    "UnknownSettingError",
    "UrbackupTimeoutError",
    "UrbackupConnectionError",
    "HttpStatusError",
    "UnexpectedResponseError",
    "ServerError",
    "InvalidInputError",
    "UrbackupIOError",
    "UnsupportedError",
    "name_to_bytes",
    "name_from_bytes",
    "ClientStatus",
    "BackupEntry",
    "UsageEntry",
    "ActionProgress",
    "LogEntry",
    "ExtraClient",
    "User",
    "Group",
    "RestoreStarted",
    *_ENUMS,
    *_EXTRA,
]

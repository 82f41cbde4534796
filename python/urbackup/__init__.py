"""urbackup: a client for the UrBackup server web API, backed by the Rust crate ``urbackup``.

The interface is python-urbackup's ``urbackup_server``: a legacy surface (raw ``dict`` /
``list``, ``None`` / ``False`` on failure) and a typed one (dataclasses, errors raised), with
the same names, parameters and defaults. Switching is a change of the install line; the import
``from urbackup import urbackup_server`` stays.

What the Rust side brings: one session shared by every thread using a handle (one login for
all of them, one transparent re-login when the server forgot the session), timeouts on every
request, retries for reads only, settings writes that send only the changed key, calls that
release the GIL while they wait on the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

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
    UserAlreadyExistsError,
)
from ._types import (
    ActionProgress,
    ActionType,
    Activity,
    BackupEntry,
    BackupListing,
    BackupType,
    ClientStatus,
    ExtraClient,
    FileEntry,
    Group,
    InstallerOS,
    Log,
    LogEntry,
    LogLevel,
    LogLine,
    LogSummary,
    RestoreOutcome,
    UsageEntry,
    User,
    installer_os,
)

RestoreStarted = _urbackup.RestoreStarted
__version__: str = _urbackup.__version__

PathLike = Union[str, "Path"]


class urbackup_server(_urbackup.Server):
    """A connection to one UrBackup server.

    ``urbackup_server(url, username, password, *, basic_username="", basic_password="")``;
    beyond python-urbackup, keyword-only ``timeout``, ``connect_timeout``,
    ``long_poll_timeout`` (seconds), ``read_retries``, ``ca_file`` and ``insecure``.
    Creating it does not touch the network; the first call logs in.
    """

    # python-urbackup's class attributes.
    action_incr_file = ActionType.INCR_FILE
    action_full_file = ActionType.FULL_FILE
    action_incr_image = ActionType.INCR_IMAGE
    action_full_image = ActionType.FULL_IMAGE
    action_resumed_incr_file = ActionType.RESUMED_INCR_FILE
    action_resumed_full_file = ActionType.RESUMED_FULL_FILE
    action_file_restore = ActionType.FILE_RESTORE
    action_image_restore = ActionType.IMAGE_RESTORE
    action_client_update = ActionType.CLIENT_UPDATE
    action_check_db_integrity = ActionType.CHECK_DB_INTEGRITY
    action_backup_db = ActionType.BACKUP_DB
    action_recalc_stats = ActionType.RECALC_STATS

    # ---- typed surface of the specification ---------------------------------------------

    def get_client_statuses(self) -> List[ClientStatus]:
        """All clients (raises on failure)."""
        return [ClientStatus.from_dict(c) for c in self._get_client_statuses()]

    def get_client_status_by_name(self, clientname: str) -> ClientStatus:
        """One client (raises :class:`ClientNotFoundError`)."""
        return ClientStatus.from_dict(self._get_client_status_by_name(clientname))

    def get_usage_typed(self) -> List[UsageEntry]:
        """Storage usage per client."""
        return [UsageEntry.from_dict(u) for u in self._get_usage_typed()]

    def get_actions_typed(self) -> List[ActionProgress]:
        """Running actions."""
        return [ActionProgress.from_dict(a) for a in self._get_actions_typed()]

    def get_livelog_typed(self, clientid: int = 0) -> List[LogEntry]:
        """The live log (``clientid`` 0: the server log); ``[]`` when it is empty."""
        return [LogEntry.from_dict(e) for e in self._get_livelog_typed(clientid)]

    def get_extra_clients_typed(self) -> List[ExtraClient]:
        """Extra clients."""
        return [ExtraClient.from_dict(e) for e in self._get_extra_clients_typed()]

    def get_backups(self, clientid: int) -> List[BackupEntry]:
        """File backups of a client, newest first."""
        return [BackupEntry.from_dict(b) for b in self._get_backups(clientid)]

    def get_image_backups(self, clientid: int) -> List[BackupEntry]:
        """Image backups of a client, newest first."""
        return [BackupEntry.from_dict(b) for b in self._get_image_backups(clientid)]

    def stop_action_typed(self, action: ActionProgress) -> bool:
        """Stops a running action of :meth:`get_actions_typed`."""
        return self._stop_action_ids(action.clientid, action.id)

    def get_users(self) -> List[User]:
        """Web-interface users."""
        return [User.from_dict(u) for u in self._get_users()]

    def get_groups(self) -> List[Group]:
        """Client groups (the default group, id 0, included)."""
        return [Group.from_dict(g) for g in self._get_groups()]

    # ---- beyond the specification -------------------------------------------------------

    def login_info(self) -> Dict[str, Any]:
        """Logs in (unless a session exists) and tells how (raises :class:`AuthenticationError`)."""
        return self._login_typed()

    def last_activities(self) -> List[Activity]:
        """Finished backups, restores and deletions, newest first."""
        return [Activity.from_dict(a) for a in self._last_activities()]

    def client_actions(self, clientid: int) -> List[ActionProgress]:
        """Running actions of one client."""
        return [ActionProgress.from_dict(a) for a in self._client_actions(clientid)]

    def browse_backup(
        self, clientid: int, backupid: int, path: str = "/", *, image: bool = False
    ) -> BackupListing:
        """Lists a folder of a backup (``image=True``: of an image backup)."""
        return BackupListing.from_dict(self._browse_backup(clientid, backupid, path, image))

    def restore_outcome(self, restore: RestoreStarted) -> Optional[RestoreOutcome]:
        """How a started restore ended, ``None`` while its log does not exist yet."""
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
        cb = None
        if on_phase is not None:

            def cb(phase: str, item: Optional[Dict[str, Any]]) -> None:
                on_phase(phase, None if item is None else ActionProgress.from_dict(item))

        o = self._wait_for_restore_outcome(restore, interval, timeout, cb)
        return None if o is None else RestoreOutcome.from_dict(o)

    def livelog(
        self, clientid: int = 0, lastid: Optional[int] = None, logid: Optional[int] = None
    ) -> List[LogEntry]:
        """Live-log lines after ``lastid`` (the server waits up to 10 s for new ones)."""
        return [LogEntry.from_dict(e) for e in self._livelog(clientid, lastid, logid)]

    def get_logs(
        self,
        clientids: Optional[Sequence[int]] = None,
        min_level: Optional[LogLevel] = None,
    ) -> List[LogSummary]:
        """Stored logs (of these clients; with at least one line at ``min_level``, default
        the server's: errors)."""
        ids = None if clientids is None else [int(c) for c in clientids]
        lvl = None if min_level is None else int(min_level)
        return [LogSummary.from_dict(x) for x in self._get_logs(ids, lvl)]

    def get_log(self, logid: int) -> Optional[Log]:
        """One stored log with its lines, ``None`` if there is none of that id."""
        x = self._get_log(logid)
        return None if x is None else Log.from_dict(x)

    def add_group(self, name: str) -> Group:
        """Adds a client group."""
        return Group.from_dict(self._add_group(name))


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
    "BackupType",
    "ActionType",
    "InstallerOS",
    "installer_os",
    "LogLevel",
    "ClientStatus",
    "BackupEntry",
    "UsageEntry",
    "ActionProgress",
    "LogEntry",
    "ExtraClient",
    "User",
    "Group",
    "Activity",
    "FileEntry",
    "BackupListing",
    "LogSummary",
    "LogLine",
    "Log",
    "RestoreOutcome",
    "RestoreStarted",
]

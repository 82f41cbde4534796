"""Exceptions of the typed surface. All inherit from :class:`UrbackupError`.

The four the specification names (``AuthenticationError``, ``ClientNotFoundError``,
``AccessDeniedError``, ``UserAlreadyExistsError``) are raised where it says; the others tell a
network failure from a server that answers nonsense, and each also inherits the built-in
exception a Python caller would catch for it (``KeyError``, ``TimeoutError``,
``ConnectionError``, ``ValueError``, ``OSError``).

Every instance carries ``outcome_unknown`` (a write may or may not have been carried out: check
the server before repeating it) and ``transient`` (repeating later may succeed). Messages never
contain a password, a session id or basic-auth credentials.
"""

from __future__ import annotations

__all__ = [
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
]


class UrbackupError(Exception):
    """Base class of every error raised by the typed surface."""

    outcome_unknown: bool = False
    transient: bool = False


class AuthenticationError(UrbackupError):
    """Login failed (unknown user, wrong password, rate limited, server upgrading...)."""


class ClientNotFoundError(UrbackupError):
    """No client of that name on the server."""


class AccessDeniedError(UrbackupError):
    """The user lacks the right for this call."""


class UserAlreadyExistsError(UrbackupError):
    """A user of that name exists already."""


class UnknownSettingError(UrbackupError, KeyError):
    """The setting key is not one the server knows (the specification's ``KeyError``)."""

    def __str__(self) -> str:
        return f"unknown setting key: {self.args[0]}" if self.args else "unknown setting key"


class UrbackupTimeoutError(UrbackupError, TimeoutError):
    """The server did not answer within the timeout."""


class UrbackupConnectionError(UrbackupError, ConnectionError):
    """The request could not be completed on the network."""


class HttpStatusError(UrbackupError):
    """An HTTP status other than 200 (a proxy's 502, a wrong URL's 404); see ``status``."""

    status: int = 0


class UnexpectedResponseError(UrbackupError):
    """The reply is not what the action returns (not JSON, truncated, wrong shape, too large)."""


class ServerError(UrbackupError):
    """The server reported an error of its own (e.g. the client is not online)."""


class UnsupportedError(UrbackupError):
    """The server cannot do what was asked, and nothing was sent or changed: a setting
    UrBackup 2.4 lacks, or a backup start the server would accept and never run (an image
    backup of a client that cannot do image backups, a kind switched off on the server)."""


class InvalidInputError(UrbackupError, ValueError):
    """A caller-side problem: an invalid URL or argument."""


class UrbackupIOError(UrbackupError, OSError):
    """A local I/O error while writing a download."""

"""A script written for python-urbackup 1.0.0 (its interface as released on PyPI), run
unchanged against this package by tests/test_compat.py and against a real server.

    URBACKUP_URL=http://127.0.0.1:55414/x URBACKUP_USER=admin URBACKUP_PASSWORD=secret \
        python python_urbackup_1_0_0_script.py [CLIENTNAME]

Read-only unless COMPAT_WRITE=1 (then it starts and stops a file backup of CLIENTNAME and
rewrites one client setting with its current value). Exits 1 on the first check that fails.
"""

import os
import sys

from urbackup import (
    AccessDeniedError,
    ActionProgress,
    ActionType,
    AuthenticationError,
    BackupEntry,
    BackupType,
    ClientNotFoundError,
    ClientStatus,
    ExtraClient,
    Group,
    InstallerOS,
    LogEntry,
    LogLevel,
    UrbackupError,
    UsageEntry,
    User,
    UserAlreadyExistsError,
    installer_os,
    urbackup_server,
)


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        sys.exit(1)


url = os.environ["URBACKUP_URL"]
server = urbackup_server(url, os.environ["URBACKUP_USER"], os.environ["URBACKUP_PASSWORD"])
write = os.environ.get("COMPAT_WRITE") == "1"

check(server.login() is True, "login()")
check(server.action_incr_file == ActionType.INCR_FILE == 1, "action_* class attributes")
check(installer_os.LINUX is InstallerOS.LINUX, "installer_os alias")
check(issubclass(AuthenticationError, UrbackupError) and issubclass(AccessDeniedError, UrbackupError)
      and issubclass(UserAlreadyExistsError, UrbackupError), "error classes")

# ---- legacy surface ----
status = server.get_status()
check(isinstance(status, list) and len(status) > 0, f"get_status(): {len(status or [])} clients")
name = sys.argv[1] if len(sys.argv) > 1 else status[0]["name"]
one = server.get_client_status(name)
check(isinstance(one, dict) and one["name"] == name, f"get_client_status({name!r})")
check(server.get_client_status("no-such-client-xyz") is None, "get_client_status(missing) is None")
ident = server.get_server_identity()
check(isinstance(ident, str) and len(ident) > 0, "get_server_identity()")
usage = server.get_usage()
check(isinstance(usage, list), f"get_usage(): {len(usage or [])} rows")
actions = server.get_actions()
check(isinstance(actions, list), f"get_actions(): {len(actions or [])} running")
livelog = server.get_livelog()
check(livelog is None or isinstance(livelog, list), "get_livelog()")
extra = server.get_extra_clients()
check(isinstance(extra, list), "get_extra_clients()")
gsettings = server.get_global_settings()
check(isinstance(gsettings, dict) and len(gsettings) > 10, f"get_global_settings(): {len(gsettings or {})} keys")
csettings = server.get_client_settings(name)
check(isinstance(csettings, dict) and len(csettings) > 10, f"get_client_settings({name!r})")
authkey = server.get_client_authkey(name)
# 1.0.0 returns the setting's object ({"value": ...}) here; this package the key itself.
check(authkey is None or isinstance(authkey, (str, dict)), "get_client_authkey()")

# ---- typed surface ----
clients = server.get_client_statuses()
check(all(isinstance(c, ClientStatus) for c in clients) and len(clients) == len(status),
      "get_client_statuses()")
c = server.get_client_status_by_name(name)
check(c.name == name and isinstance(c.id, int) and isinstance(c.raw, dict), "get_client_status_by_name()")
try:
    server.get_client_status_by_name("no-such-client-xyz")
    check(False, "ClientNotFoundError")
except ClientNotFoundError:
    check(True, "ClientNotFoundError")
check(server.get_server_identity_str() == ident, "get_server_identity_str()")
check(all(isinstance(u, UsageEntry) for u in server.get_usage_typed()), "get_usage_typed()")
check(all(isinstance(a, ActionProgress) for a in server.get_actions_typed()), "get_actions_typed()")
check(all(isinstance(e, LogEntry) for e in server.get_livelog_typed()), "get_livelog_typed()")
check(all(isinstance(e, ExtraClient) for e in server.get_extra_clients_typed()), "get_extra_clients_typed()")
files = server.get_backups(c.id)
check(all(isinstance(b, BackupEntry) for b in files), f"get_backups({c.id}): {len(files)}")
images = server.get_image_backups(c.id)
check(all(isinstance(b, BackupEntry) for b in images), f"get_image_backups({c.id}): {len(images)}")
check(isinstance(server.get_global_settings_typed(), dict), "get_global_settings_typed()")
check(isinstance(server.get_client_settings_typed(name), dict), "get_client_settings_typed()")
users = server.get_users()
check(all(isinstance(u, User) for u in users), f"get_users(): {[u.name for u in users]}")
groups = server.get_groups()
check(all(isinstance(g, Group) for g in groups), f"get_groups(): {[g.name for g in groups]}")
check(LogLevel.ERROR == 1 and BackupType.INCR_FILE.value == "incr_file", "enums")

if write:
    check(server.start_incr_file_backup(name) is True, f"start_incr_file_backup({name!r})")
    running = [a for a in server.get_actions() if a["clientid"] == c.id]
    check(len(running) >= 1, "the backup is running")
    check(server.stop_action(running[0]) is True, "stop_action()")
    key = "update_freq_incr"
    current = server.get_client_settings(name)[key]
    value = current.get("value", current.get("value_group")) if isinstance(current, dict) else current
    check(server.change_client_setting(name, key, value) is True, f"change_client_setting({key})")
    check(server.start_backup_typed(name, BackupType.INCR_FILE) is True, "start_backup_typed()")
    for a in server.get_actions_typed():
        if a.clientid == c.id:
            server.stop_action_typed(a)

print("all checks passed")

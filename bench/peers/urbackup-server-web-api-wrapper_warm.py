"""urbackup-server-web-api-wrapper 0.11, warm loop: typed `get_status_result()` on an open
session (the wrapper's typed "all client statuses" call; `.status` is the client list).

usage: urbackup-server-web-api-wrapper_warm.py URL USER [--n N]   (password in URBACKUP_PASSWORD)
"""

import os
import sys

from urbackup_api import urbackup_server

from _warmloop import run

server = urbackup_server(sys.argv[1], sys.argv[2], os.environ["URBACKUP_PASSWORD"])


def login():
    if not server.login():
        raise SystemExit("login failed")


def call():
    res = server.get_status_result()
    return res is not None and res.status


run(login, call)

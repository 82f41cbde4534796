"""python-urbackup 1.0.0, warm loop: typed `get_client_statuses()` on an open session.

usage: python-urbackup_warm.py URL USER [--n N]   (password in URBACKUP_PASSWORD)
"""

import os
import sys

from urbackup import urbackup_server

from _warmloop import run

server = urbackup_server(sys.argv[1], sys.argv[2], os.environ["URBACKUP_PASSWORD"])


def login():
    if not server.login():
        raise SystemExit("login failed")


run(login, server.get_client_statuses)

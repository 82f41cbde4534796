# python-urbackup 1.0.0 one-shot: log in, fetch all client statuses, print JSON.
# usage: python-urbackup_oneshot.py URL USER   (password in URBACKUP_PASSWORD)
import json
import os
import sys

from urbackup import urbackup_server

server = urbackup_server(sys.argv[1], sys.argv[2], os.environ["URBACKUP_PASSWORD"])
clients = server.get_status()  # cheapest path: the raw client list, no dataclasses
if clients is None:
    sys.exit("status failed")
# json.dumps (C encoder) rather than json.dump (pure-Python iterencode): the faster choice
sys.stdout.write(json.dumps(clients) + "\n")

# urbackup-server-web-api-wrapper 0.11 tasks, each from a fresh client (login included).
# usage: urbackup-server-web-api-wrapper_task.py URL USER lookup NAME | start-backup NAME
import json
import os
import sys

from urbackup_api import urbackup_server

server = urbackup_server(sys.argv[1], sys.argv[2], os.environ["URBACKUP_PASSWORD"])
task, name = sys.argv[3], sys.argv[4]
if task == "lookup":
    client = server.get_client_status(name)  # the wrapper's only by-name lookup
    if client is None:
        sys.exit("not found")
    print(json.dumps(client))
elif task == "start-backup":
    print(json.dumps(server.start_incr_file_backup(name)))
else:
    sys.exit("unknown task " + task)

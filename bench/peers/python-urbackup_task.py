# python-urbackup 1.0.0 tasks, each from a fresh client (login included), for request counting.
# usage: python-urbackup_task.py URL USER lookup NAME | start-backup NAME
import json
import os
import sys

from urbackup import BackupType, urbackup_server

server = urbackup_server(sys.argv[1], sys.argv[2], os.environ["URBACKUP_PASSWORD"])
task, name = sys.argv[3], sys.argv[4]
if task == "lookup":
    client = server.get_client_status_by_name(name)
    print(json.dumps(client.raw))
elif task == "start-backup":
    print(json.dumps(server.start_backup_typed(name, BackupType.INCR_FILE)))
else:
    sys.exit("unknown task " + task)

#!/usr/bin/env bash
# A tour of the `urbackup` CLI against a server: every main command, its exit code and the
# output that proves it did the thing (a re-read, a log, a file on disk).
#
#   URBACKUP_URL=http://127.0.0.1:55414/x URBACKUP_USER=admin URBACKUP_PASSWORD=... \
#   TOUR_CLIENT=realclient [TOUR_CLIENT_DIR=/path/of/the/backed/up/folder] \
#   scripts/real-server-tour.sh [path/to/urbackup]
#
# TOUR_CLIENT is an online client with at least one file backup; it gets an incremental file
# backup and restores. With TOUR_CLIENT_DIR (its backed-up folder as this machine sees it,
# backed up as /<basename>), restored files are compared with the backup on disk. The tour
# changes settings and puts them back, and adds and removes a user, a group, an extra client
# and a client named urbackup-rs-tour-client (left marked for removal).
# Prints one line per step and a summary; exits 1 if any step failed.
set -uo pipefail

U=${1:-urbackup}
: "${URBACKUP_URL:?set URBACKUP_URL}" "${TOUR_CLIENT:?set TOUR_CLIENT}"
export URBACKUP_URL URBACKUP_USER URBACKUP_PASSWORD
C=$TOUR_CLIENT
DIR=${TOUR_CLIENT_DIR:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; [ -n "${EXP_PID:-}" ] && kill "$EXP_PID" 2>/dev/null' EXIT
pass=0 fail=0 t_start=$(date +%s)

# step NAME EXPECTED_EXIT -- COMMAND...: runs it, output in $TMP/out, $TMP/err
step() {
    local name=$1 want=$2; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" = "$want" ]; then
        LAST_OK=1
    else
        LAST_OK=0
        echo "FAIL $name: exit $got, wanted $want"
        sed 's/^/     | /' "$TMP/err" | head -5
        fail=$((fail + 1))
    fi
}
# expect NAME PYTHON-EXPR: checks the last step's JSON output (`v`) and text (`t`)
expect() {
    local name=$1 expr=$2
    [ "$LAST_OK" = 1 ] || return 0
    if python3 - "$expr" "$TMP/out" <<'PY'
import json, re, sys
expr, path = sys.argv[1], sys.argv[2]
t = open(path).read()
try:
    v = json.loads(t)
except ValueError:
    v = None
sys.exit(0 if eval(expr) else 1)
PY
    then
        echo "ok   $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name: output does not satisfy: $expr"
        head -c 600 "$TMP/out" | sed 's/^/     | /'
        fail=$((fail + 1))
    fi
}
json() { python3 -c "import json,sys; v=json.load(open('$TMP/out')); print($1)"; }
# local NAME: the bytes a name of the CLI's output stands for (the crate's rule for names that
# are not UTF-8: `\xHH` is the byte HH for 80-FF and 5C), as a local file name.
local_name() { python3 -c "import re,sys; sys.stdout.buffer.write(re.sub(rb'\\\\x(5C|[89A-F][0-9A-F])', lambda m: bytes([int(m.group(1), 16)]), sys.argv[1].encode()))" "$1"; }

step identity 0 -- "$U" identity --output json
expect "identity" "v and len(v['identity']) > 0"
step status 0 -- "$U" status --output json
expect "status lists $C" "any(c['name'] == '$C' and c['online'] for c in v)"
image_state=$(json "[c['image'] for c in v if c['name'] == '$C'][0]" 2>/dev/null)
step status-csv 0 -- "$U" status --client "$C" --output csv
expect "status csv" "t.splitlines()[0].startswith('id,') or 'name' in t.splitlines()[0]"
step client-show 0 -- "$U" client show "$C" --output json
expect "client show" "'$C' in t"

step backups-list 0 -- "$U" backups list "$C" --output json
expect "backups list" "len([b for b in v if b['kind'] == 'file']) >= 1"
n_before=$(json "len([b for b in v if b['kind'] == 'file'])")
# The server names a backup's folder by the minute it starts: a second backup in the same
# minute fails ("Cannot create directory ... File exists"), so a tour run right after another
# waits for the next minute.
newest=$(json "max([b['time'] for b in v] + [0])")
wait=$(( (newest / 60 + 1) * 60 + 1 - $(date +%s) ))
if [ "$wait" -gt 0 ] && [ "$wait" -le 61 ]; then sleep "$wait"; fi
# A client that cannot do image backups: the start is refused before it is sent (UrBackup 2.4
# would accept it and then run no file backup of the client until restarted), exit 4; the file
# backup right after must still run.
if [ "$image_state" = unsupported ]; then
    step image-refused 4 -- "$U" backup start "$C" --incr --image --output json
    expect "image backup refused, not sent" "v[0]['result'] == 'unsupported' and 'cannot do image backups' in v[0]['note']"
fi
step backup-start 0 -- "$U" backup start "$C" --incr --file --wait --max-wait 10m --output json
expect "backup start --wait" "v[0]['result'] == 'ok' and v[0]['backup_id']"
step backups-list-after 0 -- "$U" backups list "$C" --output json
expect "the new backup is listed" "len([b for b in v if b['kind'] == 'file']) == $n_before + 1"

step browse-root 0 -- "$U" backups browse "$C" latest / --output json
expect "browse /" "len(v) >= 1"
base=/$(json "[f['name'] for f in v if f['dir']][0]")
[ -n "$DIR" ] && base=/$(basename "$DIR")
step browse 0 -- "$U" backups browse "$C" latest "$base" --output json
expect "browse $base" "any(not f['dir'] for f in v) and any(f['dir'] for f in v)"
file=$(json "[f['name'] for f in v if not f['dir']][0]")
sub=$(json "[f['name'] for f in v if f['dir']][0]")
lfile=$(local_name "$file")
step download 0 -- "$U" backups download "$C" latest "$base/$file" --out "$TMP/file"
expect "download $base/$file" "True"
[ -n "$DIR" ] && { cmp -s "$TMP/file" "$DIR/$lfile" && echo "ok   downloaded file equals the client's" && pass=$((pass + 1)) || { echo "FAIL downloaded file differs from $DIR/$file"; fail=$((fail + 1)); }; }
step download-zip 0 -- "$U" backups download "$C" latest "$base" --zip --out "$TMP/f.zip"
expect "download --zip" "True"
head -c 2 "$TMP/f.zip" | grep -q PK && { echo "ok   the ZIP is a ZIP"; pass=$((pass + 1)); } || { echo "FAIL not a ZIP"; fail=$((fail + 1)); }

# Restores: a file and a folder, checked on the client's disk when it is here.
if [ -n "$DIR" ]; then
    cp "$DIR/$lfile" "$TMP/orig"
    echo "changed by the tour" >"$DIR/$lfile"
fi
step restore-file 0 -- "$U" backups restore "$C" latest "$base/$file" --wait --max-wait 5m --output json
expect "restore a file --wait" "v['result'] == 'ok'"
[ -n "$DIR" ] && { cmp -s "$TMP/orig" "$DIR/$lfile" && echo "ok   the file is back on the client's disk" && pass=$((pass + 1)) || { echo "FAIL $DIR/$file was not restored"; fail=$((fail + 1)); }; }
step restore-folder 0 -- "$U" backups restore "$C" latest "$base/$sub" --wait --max-wait 5m --output json
expect "restore a folder --wait" "v['result'] == 'ok'"
step restore-missing 1 -- "$U" backups restore "$C" latest "$base/no-such-file-here" --wait
expect "restore of a missing path refused" "True"
grep -q "no \`$base/no-such-file-here\`" "$TMP/err" && { echo "ok   it says why"; pass=$((pass + 1)); } || { echo "FAIL no reason given"; fail=$((fail + 1)); }

step archive 0 -- "$U" backups archive "$C" latest --output json
step list-archived 0 -- "$U" backups list "$C" --output json
expect "archived on a re-read" "[b for b in v if b['kind'] == 'file'][0]['archived']"
step unarchive 0 -- "$U" backups unarchive "$C" latest
step list-unarchived 0 -- "$U" backups list "$C" --output json
expect "un-archived on a re-read" "not [b for b in v if b['kind'] == 'file'][0]['archived']"

step logs-list 0 -- "$U" logs list --client "$C" --level info --output json
expect "logs list" "len(v) >= 1 and any(l.get('restore') for l in v)"
logid=$(json "v[0]['id']")
step logs-show 0 -- "$U" logs show "$logid" --output json
expect "logs show" "len(v) >= 1"
step logs-tail 0 -- "$U" logs tail --output json
expect "the server's live log is not empty" "len(v) >= 1"
step usage 0 -- "$U" usage --output json
expect "usage" "any(u['name'] == '$C' for u in v)"
step actions 0 -- "$U" actions list --output json
expect "actions list" "isinstance(v, list)"

# Settings: one key changed and put back; diff and apply.
step settings-get 0 -- "$U" settings get max_sim_backups --output json
old=$(json "v[0]['value']")
new=$((old + 1))
step settings-set 0 -- "$U" settings set "max_sim_backups=$new"
expect "settings set (one key)" "True"
step settings-reread 0 -- "$U" settings get max_sim_backups --output json
expect "the new value on a re-read" "str(v[0]['value']) == '$new'"
echo "max_sim_backups = $old" >"$TMP/s.toml"
step settings-diff 0 -- "$U" settings diff "$TMP/s.toml" --output json
expect "settings diff shows the one key" "len(v) == 1 and v[0]['key'] == 'max_sim_backups'"
step settings-apply 0 -- "$U" settings apply "$TMP/s.toml"
step settings-diff-after 0 -- "$U" settings diff "$TMP/s.toml" --output json
expect "settings apply put it back" "v == []"
step client-setting 0 -- "$U" settings set --client "$C" local_speed=7654321
step client-setting-reread 0 -- "$U" settings get --client "$C" local_speed --output json
expect "client setting on a re-read" "str(v[0]['value']) == '7654321'"
step client-setting-back 0 -- "$U" settings set --client "$C" local_speed=-1

# Users, groups, extra clients, clients: added, seen, removed, gone.
step users-add 0 -- sh -c "echo 'Tour-Pass-123' | '$U' users add urbackup-rs-tour-user --rights status=all --password-stdin"
step users-list 0 -- "$U" users list --output json
expect "the user is listed" "any(u['name'] == 'urbackup-rs-tour-user' for u in v)"
step users-login 0 -- env URBACKUP_USER=urbackup-rs-tour-user URBACKUP_PASSWORD=Tour-Pass-123 "$U" status --output json
expect "the new user logs in" "isinstance(v, list)"
step users-add-again 1 -- sh -c "echo 'x' | '$U' users add urbackup-rs-tour-user --rights status=all --password-stdin"
expect "a second add is refused" "True"
step users-remove 0 -- "$U" users remove urbackup-rs-tour-user
step users-list-after 0 -- "$U" users list --output json
expect "the user is gone" "not any(u['name'] == 'urbackup-rs-tour-user' for u in v)"
step groups-add 0 -- "$U" groups add urbackup-rs-tour-group
step groups-list 0 -- "$U" groups list --output json
expect "the group is listed" "any(g['name'] == 'urbackup-rs-tour-group' for g in v)"
step groups-remove 0 -- "$U" groups remove urbackup-rs-tour-group
step groups-list-after 0 -- "$U" groups list --output json
expect "the group is gone" "not any(g['name'] == 'urbackup-rs-tour-group' for g in v)"
step extra-add 0 -- "$U" extra-client add 192.0.2.78
step extra-list 0 -- "$U" extra-client list --output json
expect "the extra client is listed" "any(e['hostname'] == '192.0.2.78' for e in v)"
step extra-remove 0 -- "$U" extra-client remove 192.0.2.78
step extra-list-after 0 -- "$U" extra-client list --output json
expect "the extra client is gone" "not any(e['hostname'] == '192.0.2.78' for e in v)"
"$U" client remove --cancel urbackup-rs-tour-client >/dev/null 2>&1 || step client-add 0 -- "$U" client add urbackup-rs-tour-client --output json
step client-show-new 0 -- "$U" client show urbackup-rs-tour-client --output json
expect "the new client is listed" "'urbackup-rs-tour-client' in t"
step client-remove 0 -- "$U" client remove urbackup-rs-tour-client
step client-show-removed 0 -- "$U" status --client urbackup-rs-tour-client --output json
expect "marked for removal on a re-read" "v[0]['delete_pending']"
step unknown-client 1 -- "$U" client show urbackup-rs-no-such-client
expect "an unknown client is an error" "True"

# Monitoring: the check plugin and the exporter.
step check 0 -- "$U" check --file-warning 1d --file-critical 3d --client "$C"
expect "check: OK with perfdata" "t.startswith('URBACKUP OK') and '|' in t"
port=$((20000 + RANDOM % 20000))
"$U" exporter --listen "127.0.0.1:$port" >/dev/null 2>"$TMP/exp.err" &
EXP_PID=$!
for _ in $(seq 1 50); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/metrics')" 2>/dev/null && break; sleep 0.2; done
step exporter 0 -- python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/metrics').read().decode())"
expect "exporter: up and the client's series" "re.search(r'^urbackup_up(\{[^}]*\})? 1(\.0)?$', t, re.M) and '$C' in t"
kill "$EXP_PID" 2>/dev/null; wait "$EXP_PID" 2>/dev/null; EXP_PID=

step wrong-password 1 -- env URBACKUP_PASSWORD=urbackup-rs-wrong "$U" status
expect "a wrong password: one line, no panic" "True"
if [ "$(wc -l <"$TMP/err")" -le 2 ] && ! grep -q panicked "$TMP/err"; then echo "ok   ...and says so: $(head -1 "$TMP/err")"; pass=$((pass + 1)); else echo "FAIL wrong password output"; fail=$((fail + 1)); fi

echo "tour: $pass checks passed, $fail failed, $(( $(date +%s) - t_start )) s"
[ "$fail" = 0 ]

#!/usr/bin/env bash
# Smoke test of the Windows build of scripts/dist.sh under Debian's wine (run by .ci/run):
# `urbackup.exe status`, `check` and one exporter scrape against a simulator on loopback, and
# `urbackup-sim.exe` answering the Linux `urbackup`.
#
# Debian 12's wine (8.0) lacks bcryptprimitives.dll, which every Windows since 10 has and
# Rust's standard library imports (ProcessPrng, its random numbers); the test puts a stand-in
# beside the .exe, built here with zig, that forwards to RtlGenRandom (advapi32's
# SystemFunction036). It is not part of what dist/ ships.
#
#   scripts/test-windows.sh          # dist/ as scripts/dist.sh left it
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
DIST=${DIST:-$ROOT/dist}
case $DIST in /*) ;; *) DIST=$ROOT/$DIST ;; esac
WIN=$DIST/urbackup-x86_64-pc-windows-gnu
LINUX=$DIST/urbackup-x86_64-unknown-linux-musl
started=$(date +%s)

say() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -f "$WIN/urbackup.exe" ] && [ -x "$LINUX/urbackup-sim" ] || fail "run scripts/dist.sh first (no $WIN/urbackup.exe or $LINUX/urbackup-sim)"
[ -x "$TARGET/dist-venv/bin/python" ] || fail "no zig: $TARGET/dist-venv (scripts/dist.sh makes it)"
if [ ! -x /usr/lib/wine/wine64 ]; then
    say "apt-get install wine64"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wine64 >/dev/null
fi
WINE=/usr/lib/wine/wine64

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    WINEPREFIX=$TMP/prefix /usr/lib/wine/wineserver -k 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
export WINEPREFIX=$TMP/prefix WINEDEBUG=-all

say "the stand-in bcryptprimitives.dll (zig cc), a wine prefix"
cat >"$TMP/prng.c" <<'EOF'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
EOF
printf 'LIBRARY bcryptprimitives\nEXPORTS\nProcessPrng\n' >"$TMP/prng.def"
mkdir "$TMP/run"
(cd "$TMP" && "$TARGET/dist-venv/bin/python" -m ziglang cc -target x86_64-windows-gnu -shared -O2 \
    -o run/bcryptprimitives.dll prng.c prng.def -ladvapi32)
cp "$WIN/urbackup.exe" "$WIN/urbackup-sim.exe" "$TMP/run/"
"$WINE" wineboot --init >/dev/null 2>&1 || true
(cd "$TMP/run" && "$WINE" urbackup.exe --version) | grep -qx "urbackup [0-9.]*" || fail "urbackup.exe --version"

"$LINUX/urbackup-sim" --listen 127.0.0.1:0 --clients 3 --admin admin:secret --login-delay-ms 0 \
    >"$TMP/sim.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q "listening on" "$TMP/sim.out" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/.*listening on //p' "$TMP/sim.out")
[ -n "$URL" ] || fail "urbackup-sim did not start"
exe() { (cd "$TMP/run" && URBACKUP_PASSWORD=secret URBACKUP_NO_SESSION_CACHE=1 timeout 120 "$WINE" "$@"); }

say "urbackup.exe status, check, exporter against $URL"
n=$(exe urbackup.exe --url "$URL" --user admin status --output json \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 3 ] || fail "status listed $n clients, not 3"
echo "   status: 3 clients"
line=$(exe urbackup.exe --url "$URL" --user admin check) || fail "check exited $?: $line"
case $line in "URBACKUP OK - 3 clients"*) ;; *) fail "check said: $line" ;; esac
echo "   check: ${line%% |*}"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$TMP/run" && exec env URBACKUP_PASSWORD=secret URBACKUP_NO_SESSION_CACHE=1 "$WINE" urbackup.exe \
    --url "$URL" --user admin exporter --listen "127.0.0.1:$PORT") >"$TMP/exporter.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do
    curl -fsS -o "$TMP/scrape" "http://127.0.0.1:$PORT/metrics" 2>/dev/null && break
    sleep 0.1
done
grep -Eq '^urbackup_up\{server=".*"\} 1(\.0)?$' "$TMP/scrape" \
    || fail "no urbackup_up 1 in the scrape: $(cat "$TMP/exporter.out")"
grep -Eq '^urbackup_clients\{server=".*"\} 3(\.0)?$' "$TMP/scrape" || fail "no urbackup_clients 3"
echo "   exporter scrape: urbackup_up 1, urbackup_clients 3"

say "urbackup-sim.exe answering the Linux urbackup"
SPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$TMP/run" && exec "$WINE" urbackup-sim.exe --listen "127.0.0.1:$SPORT" --clients 2 \
    --admin admin:secret --login-delay-ms 0) >"$TMP/winsim.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do grep -q "listening on" "$TMP/winsim.out" 2>/dev/null && break; sleep 0.1; done
n=$(URBACKUP_PASSWORD=secret "$LINUX/urbackup" --url "http://127.0.0.1:$SPORT/x" --user admin \
    --no-session-cache status --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 2 ] || fail "urbackup-sim.exe listed $n clients, not 2"
echo "   status through urbackup-sim.exe: 2 clients"
echo "== ok ($(($(date +%s) - started)) s)"

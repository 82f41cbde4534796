#!/usr/bin/env bash
# The wheel of scripts/build-wheel.sh installs and works WITHOUT a Rust toolchain: it is
# installed into a fresh virtual environment by a pip that sees neither cargo nor rustc nor
# the network (PATH holds only python3; --no-index), imported, and used for real calls
# against urbackup-sim (login, status, a backup started and seen running, an error raised).
#
#   scripts/test-wheel.sh                 # builds the wheel first (scripts/build-wheel.sh)
#   scripts/test-wheel.sh path/to.whl     # tests that wheel
#
# Building needs what build-wheel.sh needs; the test itself needs python3 with venv, and
# `cargo build -p urbackup-sim` (done here, before cargo is taken away).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
export CARGO_TARGET_DIR=$TARGET
# The interpreter itself (not a wrapper such as a pyenv shim, which needs a shell).
PYTHON=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
started=$(date +%s)

wheel=${1:-}
if [ -z "$wheel" ]; then
    echo "== scripts/build-wheel.sh"
    wheel=$(scripts/build-wheel.sh)
fi
built=$(date +%s)
case $(basename "$wheel") in
    urbackup_rs-*-cp38-abi3-*manylinux_2_17_*.whl) ;;
    *) echo "FAIL: not an abi3 manylinux2014 wheel: $wheel" >&2; exit 1 ;;
esac
echo "== wheel: $(basename "$wheel") ($(du -k "$wheel" | cut -f1) KiB)"

# Linked for glibc 2.17: no symbol of a newer glibc (maturin checked it too).
if command -v readelf >/dev/null; then
    mkdir -p "$TARGET/wheel-check" && rm -rf "$TARGET/wheel-check/"*
    "$PYTHON" -m zipfile -e "$wheel" "$TARGET/wheel-check"
    newest=$(readelf -V "$TARGET"/wheel-check/urbackup/_urbackup.abi3.so \
        | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
    echo "== newest glibc symbol: $newest"
    [ "$(printf '%s\n' "$newest" GLIBC_2.17 | sort -V | tail -n 1)" = GLIBC_2.17 ] \
        || { echo "FAIL: needs $newest, newer than manylinux2014's GLIBC_2.17" >&2; exit 1; }
fi

echo "== cargo build -p urbackup-sim"
cargo build --quiet -p urbackup-sim
SIM=$TARGET/debug/urbackup-sim

TMP=$(mktemp -d)
SIM_PID=
trap '[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null; rm -rf "$TMP"' EXIT
# A PATH with python3 and nothing else: no cargo, no rustc, no compiler.
mkdir "$TMP/bin"
ln -s "$PYTHON" "$TMP/bin/python3"
bare() {
    env -i HOME="$TMP/home" PATH="$TMP/bin" CARGO_HOME=/nonexistent RUSTUP_HOME=/nonexistent \
        LANG=C.UTF-8 "$@"
}
if bare sh -c 'command -v cargo || command -v rustc || command -v cc' 2>/dev/null; then
    echo "FAIL: a Rust toolchain or compiler is on the test PATH" >&2
    exit 1
fi

echo "== fresh venv, pip install --no-index $(basename "$wheel") (no cargo, no network)"
bare "$TMP/bin/python3" -m venv "$TMP/venv"
bare "$TMP/venv/bin/python" -m pip --disable-pip-version-check install --quiet --no-index "$wheel"

"$SIM" --listen 127.0.0.1:0 --clients 3 --admin admin:secret --login-delay-ms 0 \
    --backup-secs 600 >"$TMP/sim.out" 2>&1 &
SIM_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" "$TMP/sim.out" 2>/dev/null && break
    sleep 0.1
done
URL=$(sed -n 's/.*listening on //p' "$TMP/sim.out")
[ -n "$URL" ] || { echo "FAIL: urbackup-sim did not start" >&2; cat "$TMP/sim.out" >&2; exit 1; }

echo "== import and real calls against urbackup-sim ($URL)"
bare "$TMP/venv/bin/python" - "$URL" "$TMP/venv" <<'PY'
import os, sys

url, venv = sys.argv[1], sys.argv[2]
import urbackup
from urbackup import AuthenticationError, BackupType, urbackup_server
from urbackup import _urbackup

# The extension is the wheel's, installed in the fresh venv.
assert os.path.realpath(_urbackup.__file__).startswith(os.path.realpath(venv)), _urbackup.__file__
assert _urbackup.__file__.endswith(".abi3.so"), _urbackup.__file__

server = urbackup_server(url, "admin", "secret")
assert server.login() is True
names = [c.name for c in server.get_client_statuses()]
assert names == ["client-00001", "client-00002", "client-00003"], names
assert server.start_backup_typed("client-00002", BackupType.FULL_FILE) is True
actions = server.get_actions_typed()
assert [a.name for a in actions] == ["client-00002"], actions
assert server.get_status()[0]["name"] == "client-00001"
try:
    urbackup_server(url, "admin", "wrong").get_client_statuses()
    raise SystemExit("a wrong password was accepted")
except AuthenticationError as e:
    print("wrong password refused:", e)
print("ok:", urbackup.__name__, "from", os.path.dirname(_urbackup.__file__))
PY
echo "== ok (build $((built - started)) s, test $(($(date +%s) - built)) s)"

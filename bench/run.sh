#!/usr/bin/env bash
# Benchmarks of urbackup-rs against its peers (issue 5), measured side by side in one run.
#
#   bench/run.sh            full run (the numbers in BENCHMARKS.md)
#   bench/run.sh --quick    short run (under two minutes once the peers are installed and built)
#
# Any other argument goes to `urbackup-bench run` (e.g. `--parts 1,2`, `--fleet-clients 100`).
# Installs the three peers under target/bench/ (Python venv + local npm prefix), builds the
# release binaries, then `urbackup-bench run` starts the simulators, alternates the contenders,
# prints the tables and ends with one `ratio NAME VALUE` line per comparison.
# Results: target/bench/results/last.{json,md}; stderr of every child in target/bench/results/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
BENCH=$TARGET/bench
VENV=$BENCH/venv
NODE_PREFIX=$BENCH/node

PY_PEERS=(python-urbackup==1.0.0 urbackup-server-web-api-wrapper==0.11)
NPM_PEER=urbackup-server-api@0.92.6

need() { command -v "$1" >/dev/null || { echo "bench/run.sh: $1 is required" >&2; exit 1; }; }
need cargo
need python3
need node
need npm

# ---- 1. peers --------------------------------------------------------------------------------
mkdir -p "$BENCH"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    python3 -m venv "$VENV"
fi
py_has() { # name==version
    [ "$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('${1%%==*}'))" 2>/dev/null)" = "${1##*==}" ]
}
missing=()
for p in "${PY_PEERS[@]}"; do py_has "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== pip install ${missing[*]}"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi
# Byte-compile the peers' packages up front, whatever PYTHONDONTWRITEBYTECODE says: a peer's
# one-shot must not pay for compiling `requests` on every start.
"$VENV/bin/python" -m compileall -q -j 0 \
    "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true
npm_version() {
    node -e "console.log(require(process.argv[1]).version)" \
        "$NODE_PREFIX/node_modules/${NPM_PEER%@*}/package.json" 2>/dev/null || true
}
if [ "$(npm_version)" != "${NPM_PEER##*@}" ]; then
    echo "== npm install $NPM_PEER (prefix $NODE_PREFIX)"
    mkdir -p "$NODE_PREFIX"
    npm install --prefix "$NODE_PREFIX" --no-audit --no-fund --loglevel=error "$NPM_PEER" >/dev/null
fi
for p in "${PY_PEERS[@]}"; do py_has "$p" || { echo "bench/run.sh: $p did not install" >&2; exit 1; }; done
[ "$(npm_version)" = "${NPM_PEER##*@}" ] || { echo "bench/run.sh: $NPM_PEER did not install" >&2; exit 1; }
echo "peers: ${PY_PEERS[*]} $NPM_PEER (python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())'), node $(node --version))"

# hyperfine (optional): a cross-check of the one-shot timings in full runs. It cannot alternate
# contenders, so the harness's own alternated timings stay the reported numbers.
quick=0
for a in "$@"; do [ "$a" = --quick ] && quick=1; done
if [ $quick = 0 ] && ! command -v hyperfine >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== apt-get install hyperfine (optional cross-check)"
    apt-get install -y -qq hyperfine >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq hyperfine >/dev/null 2>&1; } \
        || echo "   (not available: no cross-check)"
fi

# This repository's Python package (python/, issue 13) in a venv of its own: it is also
# `import urbackup`, so it cannot share the peers' venv. Wheel built with maturin (release).
VENV_PKG=$BENCH/venv-pkg
if [ ! -x "$VENV_PKG/bin/python" ]; then
    echo "== creating $VENV_PKG"
    python3 -m venv "$VENV_PKG"
fi
"$VENV_PKG/bin/python" -c 'import maturin' 2>/dev/null \
    || "$VENV_PKG/bin/python" -m pip install --quiet --disable-pip-version-check maturin
echo "== maturin build --release (python/) into $VENV_PKG"
rm -rf "$BENCH/wheels"
(cd python && CARGO_TARGET_DIR=$TARGET "$VENV_PKG/bin/maturin" build --quiet --release \
    --interpreter "$VENV_PKG/bin/python" -o "$BENCH/wheels" >/dev/null)
"$VENV_PKG/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
    "$BENCH"/wheels/urbackup_rs-*.whl
"$VENV_PKG/bin/python" -m compileall -q -j 0 \
    "$("$VENV_PKG/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" >/dev/null || true

# ---- 2. build --------------------------------------------------------------------------------
echo "== cargo build --release -p urbackup-cli -p urbackup-sim -p urbackup-bench"
cargo build --release --quiet -p urbackup-cli -p urbackup-sim -p urbackup-bench

# ---- 3. run ----------------------------------------------------------------------------------
exec "$TARGET/release/urbackup-bench" run \
    --bin-dir "$TARGET/release" \
    --python "$VENV/bin/python" \
    --python-pkg "$VENV_PKG/bin/python" \
    --node "$(command -v node)" \
    --peers-dir "$ROOT/bench/peers" \
    --node-modules "$NODE_PREFIX/node_modules" \
    --out "$BENCH/results" \
    "$@"

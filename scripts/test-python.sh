#!/usr/bin/env bash
# The Python package (python/): builds it into a virtual environment with the README's
# `pip install ./python` (maturin, abi3 wheel), then runs its pytest suite against
# `urbackup-sim`, plus rustfmt and clippy of its extension crate.
#
#   scripts/test-python.sh              # everything
#   scripts/test-python.sh -k restore   # extra arguments go to pytest
#
# The real-server tests (tests/test_real_server.py) are skipped, with the reason shown,
# unless URBACKUP_TEST_URL is set.
#
# Needs python3 (3.8 or newer, with venv and pip), network to PyPI (maturin, pytest) and the
# Rust toolchain. The venv is $URBACKUP_PY_VENV, else <target>/python-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
export CARGO_TARGET_DIR=$TARGET
VENV=${URBACKUP_PY_VENV:-$TARGET/python-venv}
PYTHON=${PYTHON:-python3}

command -v "$PYTHON" >/dev/null || { echo "test-python.sh: $PYTHON is required" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
echo "== pip install maturin pytest"
"${PIP[@]}" install --quiet maturin pytest

echo "== rustfmt / clippy (python/)"
cargo fmt --manifest-path python/Cargo.toml -- --check
PYO3_PYTHON="$VENV/bin/python" cargo clippy --quiet --manifest-path python/Cargo.toml \
    --all-targets -- -D warnings

echo "== pip install ./python"
"${PIP[@]}" install --quiet --force-reinstall ./python

echo "== cargo build -p urbackup-sim"
cargo build --quiet -p urbackup-sim

echo "== pytest python/tests"
cd python/tests
URBACKUP_SIM="$TARGET/debug/urbackup-sim" "$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Builds the Python package (python/) as ONE wheel that installs without a Rust toolchain:
# abi3 (CPython 3.8 and newer), manylinux2014 (glibc 2.17 and newer, e.g. CentOS 7, Debian 9,
# Ubuntu 18.04 and everything since), for this machine's architecture. The extension is linked
# by zig (the `ziglang` package from PyPI, the version maturin's `zig` extra asks for) against glibc 2.17, whatever glibc this machine has;
# maturin checks the result against the manylinux2014 rules (auditwheel) before it writes it.
#
#   scripts/build-wheel.sh            # -> target/wheels/urbackup_rs-VERSION-cp38-abi3-manylinux2014_ARCH.manylinux_2_17_ARCH.whl
#   OUT=dist scripts/build-wheel.sh   # another output directory
#
# Needs python3 (with venv and pip), PyPI (maturin, ziglang) and the Rust toolchain: the
# machine that builds needs cargo, the machines that install do not (`pip install FILE.whl`).
# A release build of the extension: 4 min 55 s on a busy 2-core machine (most dependencies
# not built yet); prints the path of the wheel on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
export CARGO_TARGET_DIR=$TARGET
OUT=${OUT:-$TARGET/wheels}
case $OUT in /*) ;; *) OUT=$ROOT/$OUT ;; esac
VENV=${URBACKUP_WHEEL_VENV:-$TARGET/wheel-venv}
PYTHON=${PYTHON:-python3}

command -v "$PYTHON" >/dev/null || { echo "build-wheel.sh: $PYTHON is required" >&2; exit 1; }
command -v cargo >/dev/null || { echo "build-wheel.sh: cargo is required to build (not to install)" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip --disable-pip-version-check install --quiet "maturin[zig]>=1.5,<2"
export PATH="$VENV/bin:$PATH"

mkdir -p "$OUT"
before=$(ls "$OUT"/*.whl 2>/dev/null || true)
maturin build --release --manifest-path python/Cargo.toml \
    --compatibility manylinux2014 --zig --out "$OUT" >&2
wheel=$(ls -t "$OUT"/urbackup_rs-*-cp38-abi3-manylinux*.whl | head -n 1)
[ -n "$wheel" ] || { echo "build-wheel.sh: no wheel in $OUT (before: $before)" >&2; exit 1; }
echo "$wheel"

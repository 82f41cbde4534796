#!/usr/bin/env bash
# Builds what a release ships into dist/:
#   dist/urbackup-<target>/                 urbackup, urbackup-sim (static, musl), man pages,
#                                           completions, the systemd units and /etc files
#   dist/urbackup-<version>-<target>.tar.gz that directory as a tarball
#   dist/urbackup-rs_<version>-1_<arch>.deb the Debian package (amd64, arm64)
#   dist/urbackup-<version>-x86_64-pc-windows-gnu.zip  urbackup.exe, urbackup-sim.exe (Windows
#                                           10 or newer, Windows Server 2016 or newer)
#   dist/urbackup_rs-*.whl                  the Python wheel (scripts/build-wheel.sh)
#   dist/SHA256SUMS                         over all of them
#
#   scripts/dist.sh                   # x86_64 and aarch64, Windows, the wheel
#   ARCHES=x86_64 WINDOWS=0 WHEEL=0 scripts/dist.sh   # one architecture, no Windows, no wheel
#
# Tools, all from the registries, installed here when missing: cargo-zigbuild and zig (PyPI,
# in a venv under target/), cargo-deb (crates.io), the Rust standard library of the musl
# targets (rustup). The binaries are linked by zig against musl: no system library, they run
# on any Linux of their architecture. Man pages and completions come from the binary itself
# (`urbackup generate-assets`, from its clap definition).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
export CARGO_TARGET_DIR=$TARGET
DIST=${DIST:-$ROOT/dist}
case $DIST in /*) ;; *) DIST=$ROOT/$DIST ;; esac
ARCHES=${ARCHES:-x86_64 aarch64}
WHEEL=${WHEEL:-1}
WINDOWS=${WINDOWS:-1}
WIN_TARGET=x86_64-pc-windows-gnu
ZIGBUILD_VERSION=0.24.1
ZIG_VERSION=0.17.1
CARGO_DEB_VERSION=3.8.0
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DEBVERSION=$VERSION-1  # revision 1 (crates/urbackup-cli/Cargo.toml)
started=$(date +%s)

say() { echo "== $*" >&2; }
need() { command -v "$1" >/dev/null || { echo "dist.sh: $1 is required" >&2; exit 1; }; }
need cargo
need python3
need tar
need sha256sum

# ---- tools ------------------------------------------------------------------------------------
VENV=$TARGET/dist-venv
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/cargo-zigbuild" --version 2>/dev/null | grep -q " $ZIGBUILD_VERSION\$" \
    || ! "$VENV/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIG_VERSION"; then
    say "pip install cargo-zigbuild==$ZIGBUILD_VERSION ziglang==$ZIG_VERSION"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "cargo-zigbuild==$ZIGBUILD_VERSION" "ziglang==$ZIG_VERSION"
fi
export PATH=$VENV/bin:$PATH
if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
    say "cargo install cargo-deb $CARGO_DEB_VERSION"
    cargo install --quiet --locked cargo-deb --version "$CARGO_DEB_VERSION"
fi
triple() { echo "$1-unknown-linux-musl"; }
debarch() { case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) echo "$1" ;; esac; }
if command -v rustup >/dev/null; then
    for a in $ARCHES; do
        rustup target list --installed | grep -qx "$(triple "$a")" \
            || { say "rustup target add $(triple "$a")"; rustup target add "$(triple "$a")"; }
    done
    if [ "$WINDOWS" = 1 ]; then
        rustup target list --installed | grep -qx "$WIN_TARGET" \
            || { say "rustup target add $WIN_TARGET"; rustup target add "$WIN_TARGET"; }
    fi
fi

# ---- binaries ---------------------------------------------------------------------------------
mkdir -p "$DIST"
# What an earlier run left (another set of architectures) does not go into SHA256SUMS.
rm -rf "$DIST"/urbackup-*-unknown-linux-musl "$DIST/urbackup-$WIN_TARGET"
rm -f "$DIST"/urbackup-*.tar.gz "$DIST"/urbackup-rs_*.deb "$DIST"/urbackup-*.zip \
    "$DIST"/urbackup_rs-*.whl "$DIST/SHA256SUMS"
for a in $ARCHES; do
    t=$(triple "$a")
    say "cargo zigbuild --profile dist --target $t (urbackup, urbackup-sim)"
    s=$(date +%s)
    cargo zigbuild --locked --quiet --profile dist --target "$t" -p urbackup-cli -p urbackup-sim
    say "built $t in $(($(date +%s) - s)) s"
done

# Man pages and completions: from whichever of the binaries runs here (they are the same for
# every architecture).
ASSETS=$ROOT/target/dist-assets
rm -rf "$ASSETS"
generated=0
for a in $ARCHES; do
    bin=$TARGET/$(triple "$a")/dist/urbackup
    if "$bin" --version >/dev/null 2>&1; then
        "$bin" generate-assets "$ASSETS" >&2
        generated=1
        break
    fi
done
[ $generated = 1 ] || { echo "dist.sh: none of the binaries ($ARCHES) runs on this machine to write the man pages" >&2; exit 1; }
"$(dirname "$bin")/urbackup-sim" --man-page >"$ASSETS/man/urbackup-sim.1"
# The crates linked in, with their licenses (the package's copyright file points here).
third_party() { # target libc
    echo "Rust crates statically linked into urbackup and urbackup-sim for $1 (name, version, license):"
    echo
    cargo tree --locked -p urbackup-cli -p urbackup-sim -e normal --target "$1" \
        --prefix none --format '{p} ({l})' | sed 's/ (\*)$//' | grep -v '^urbackup' | sort -u
    echo
    echo "and $2"
}
third_party "$(triple "${ARCHES%% *}")" "musl libc (MIT), https://musl.libc.org/" >"$ASSETS/THIRD-PARTY"
# The Debian changelog: one entry for this version, dated by the last commit.
when=$(git log -1 --format=%ct 2>/dev/null || date +%s)
cat >"$ASSETS/changelog" <<EOF
urbackup-rs ($DEBVERSION) unstable; urgency=medium

  * urbackup-rs $VERSION ($(git rev-parse --short HEAD 2>/dev/null || echo "no git")); the
    changes: https://github.com/urbackup-rs/urbackup-rs/commits/main

 -- urbackup-rs developers <urbackup-rs@users.noreply.github.com>  $(date -R -u -d "@$when")
EOF

# ---- tarballs and packages --------------------------------------------------------------------
for a in $ARCHES; do
    t=$(triple "$a")
    dir=$DIST/urbackup-$t
    rm -rf "$dir"
    mkdir -p "$dir/contrib"
    install -m 0755 "$TARGET/$t/dist/urbackup" "$TARGET/$t/dist/urbackup-sim" "$dir/"
    cp -r "$ASSETS/man" "$ASSETS/completions" "$dir/"
    cp -r contrib/systemd contrib/etc "$dir/contrib/"
    cp README.md LICENSE-MIT LICENSE-APACHE "$ASSETS/THIRD-PARTY" "$dir/"
    tarball=$DIST/urbackup-$VERSION-$t.tar.gz
    tar -czf "$tarball" -C "$DIST" --owner=0 --group=0 --sort=name "urbackup-$t"
    say "$(basename "$tarball"): $(du -k "$tarball" | cut -f1) KiB (urbackup $(stat -c %s "$dir/urbackup") bytes)"

    deb=$DIST/urbackup-rs_${DEBVERSION}_$(debarch "$a").deb
    cargo deb --quiet -p urbackup-cli --no-build --no-strip --profile dist --target "$t" \
        --output "$deb" >/dev/null
    say "$(basename "$deb"): $(du -k "$deb" | cut -f1) KiB"
done

if [ "$WINDOWS" = 1 ]; then
    say "cargo zigbuild --profile dist --target $WIN_TARGET (urbackup.exe, urbackup-sim.exe)"
    s=$(date +%s)
    cargo zigbuild --locked --quiet --profile dist --target "$WIN_TARGET" -p urbackup-cli -p urbackup-sim
    say "built $WIN_TARGET in $(($(date +%s) - s)) s"
    dir=$DIST/urbackup-$WIN_TARGET
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$TARGET/$WIN_TARGET/dist/urbackup.exe" "$TARGET/$WIN_TARGET/dist/urbackup-sim.exe" \
        README.md LICENSE-MIT LICENSE-APACHE "$dir/"
    third_party "$WIN_TARGET" "the mingw-w64 runtime (zig's; MIT, ZPL-2.1 and public domain)" \
        >"$dir/THIRD-PARTY"
    zip=$DIST/urbackup-$VERSION-$WIN_TARGET.zip
    rm -f "$zip"
    (cd "$DIST" && python3 -m zipfile -c "$zip" "urbackup-$WIN_TARGET")
    say "$(basename "$zip"): $(du -k "$zip" | cut -f1) KiB (urbackup.exe $(stat -c %s "$dir/urbackup.exe") bytes)"
fi

if [ "$WHEEL" = 1 ]; then
    say "scripts/build-wheel.sh"
    OUT=$DIST scripts/build-wheel.sh >/dev/null
fi

files() { ls -- *.tar.gz *.deb *.zip *.whl 2>/dev/null || true; }
(cd "$DIST" && sha256sum -- $(files) > SHA256SUMS)
say "dist/ in $(($(date +%s) - started)) s:"
(cd "$DIST" && ls -l -- $(files) SHA256SUMS) >&2

#!/usr/bin/env bash
# Tests what scripts/dist.sh built, as a user would meet it (run by .ci/run; needs root and
# apt for lintian, qemu-user-static):
#   1. the static binaries: `file`/`ldd` say static; `urbackup` runs here and in an empty root
#      (`unshare --root` into a directory holding only the binary) and reads a simulator
#      (`status`, `check`, one exporter scrape); an aarch64 build, when there is one, the same
#      under qemu-aarch64-static;
#   2. the .deb: lintian reports no error (for each architecture); the amd64 one `dpkg -i`; the user, /etc/urbackup and its modes;
#      units installed and not enabled; `systemd-analyze verify` and `security` (exposure at
#      most 2.0) on both units; `man -l` renders every page; the installed units' own
#      ExecStart lines run as `urbackup` with a test config against a simulator (the console
#      answers /healthz and a login, the exporter /metrics); an upgrade keeps changed conffiles;
#      `dpkg --purge` leaves nothing but
#      the system user (kept, as Debian policy asks; removed here afterwards).
#
#   scripts/test-dist.sh             # dist/ as scripts/dist.sh left it
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIST=${DIST:-$ROOT/dist}
case $DIST in /*) ;; *) DIST=$ROOT/$DIST ;; esac
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
X86=$DIST/urbackup-x86_64-unknown-linux-musl
ARM=$DIST/urbackup-aarch64-unknown-linux-musl
DEB=$DIST/urbackup-rs_${VERSION}-1_amd64.deb
started=$(date +%s)

say() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (dpkg -i, runuser)"
[ -x "$X86/urbackup" ] && [ -f "$DEB" ] || fail "run scripts/dist.sh first (no $X86/urbackup or $DEB)"

missing=()
command -v lintian >/dev/null || missing+=(lintian)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v man >/dev/null || missing+=(man-db)
command -v file >/dev/null || missing+=(file)
command -v curl >/dev/null || missing+=(curl)
[ -d "$ARM" ] && ! command -v qemu-aarch64-static >/dev/null && missing+=(qemu-user-static)
if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

TMP=$(mktemp -d)
PIDS=()
cleanup() {
    # SIGKILL: `unshare --fork` ignores SIGTERM (--kill-child then ends its child).
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

# A simulator (the static one of the tarball) on a free loopback port: prints its URL.
start_sim() { # name
    "$X86/urbackup-sim" --listen 127.0.0.1:0 --clients 3 --admin admin:secret \
        --login-delay-ms 0 >"$TMP/$1.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do
        grep -q "listening on" "$TMP/$1.out" 2>/dev/null && break
        sleep 0.1
    done
    sed -n 's/.*listening on //p' "$TMP/$1.out"
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # url
    for _ in $(seq 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# ---- 1. the static binaries --------------------------------------------------------------------
say "static binaries"
for b in "$X86/urbackup" "$X86/urbackup-sim"; do
    file "$b" | grep -q "statically linked" || fail "$(file "$b")"
    if ldd "$b" >/dev/null 2>&1; then fail "ldd sees libraries in $b: $(ldd "$b")"; fi
    echo "   $(basename "$b"): $(stat -c %s "$b") bytes, $(file -b "$b" | cut -d, -f1-2), ldd: $(ldd "$b" 2>&1 | tr -d '\t')"
done
URL=$(start_sim sim)
[ -n "$URL" ] || fail "urbackup-sim did not start: $(cat "$TMP/sim.out")"
run_reads() { # how... (a command prefix running `urbackup`)
    local n
    n=$(env -i URBACKUP_PASSWORD=secret "$@" --url "$URL" --user admin --no-session-cache \
        status --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
    [ "$n" = 3 ] || fail "$*: status listed $n clients, not 3"
    local line
    line=$(env -i URBACKUP_PASSWORD=secret "$@" --url "$URL" --user admin --no-session-cache check || true)
    case $line in "URBACKUP "*) ;; *) fail "$*: check said: $line" ;; esac
    echo "   status: 3 clients; check: ${line%% |*}"
}
say "urbackup on this machine ($URL)"
run_reads "$X86/urbackup"

say "urbackup in an empty root (unshare --root, the binary alone)"
EMPTY=$TMP/empty-root
mkdir -p "$EMPTY"
cp "$X86/urbackup" "$EMPTY/urbackup"
[ "$(ls -A "$EMPTY")" = urbackup ] || fail "the root holds more than the binary"
run_reads unshare --fork --pid --mount --root "$EMPTY" /urbackup
# One exporter scrape, still in the empty root.
PORT=$(free_port)
env -i URBACKUP_PASSWORD=secret unshare --kill-child --pid --mount --root "$EMPTY" /urbackup \
    --url "$URL" --user admin --no-session-cache exporter --listen "127.0.0.1:$PORT" \
    >"$TMP/exporter.out" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$PORT/metrics" || fail "the exporter did not answer: $(cat "$TMP/exporter.out")"
curl -fsS "http://127.0.0.1:$PORT/metrics" >"$TMP/scrape"
grep -Eq '^urbackup_up\{server=".*"\} 1(\.0)?$' "$TMP/scrape" \
    || fail "no urbackup_up 1 in the scrape"
echo "   exporter scrape: urbackup_up 1"
kill -9 "${PIDS[-1]}"
wait "${PIDS[-1]}" 2>/dev/null || true

if [ -x "$ARM/urbackup" ]; then
    say "aarch64 under qemu-aarch64-static"
    file "$ARM/urbackup" | grep -q "ARM aarch64.*statically linked" || fail "$(file "$ARM/urbackup")"
    run_reads qemu-aarch64-static "$ARM/urbackup"
fi

# ---- 2. the Debian package ---------------------------------------------------------------------
for deb in "$DIST"/urbackup-rs_"$VERSION"-1_*.deb; do
    say "lintian $(basename "$deb")"
    lintian --fail-on error --tag-display-limit 0 "$deb" >"$TMP/lintian.out" 2>&1 \
        || { cat "$TMP/lintian.out"; fail "lintian failed"; }
    grep -v "running with root privileges" "$TMP/lintian.out" || echo "   no tags"
    ! grep -q '^E:' "$TMP/lintian.out" || fail "lintian reports errors"
done

if dpkg -s urbackup-rs >/dev/null 2>&1; then
    say "dpkg --purge urbackup-rs (left by an earlier run)"
    dpkg --purge urbackup-rs >/dev/null
fi
for p in /usr/bin/urbackup /etc/urbackup /var/lib/urbackup; do
    [ ! -e "$p" ] || fail "$p exists before the package is installed"
done
say "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB"
getent passwd urbackup >/dev/null || fail "no user urbackup"
[ "$(stat -c '%U:%G %a' /etc/urbackup)" = "root:urbackup 750" ] || fail "/etc/urbackup: $(stat -c '%U:%G %a' /etc/urbackup)"
for f in config.toml console.toml exporter.toml; do
    [ "$(stat -c '%U:%G %a' "/etc/urbackup/$f")" = "root:urbackup 640" ] || fail "/etc/urbackup/$f: $(stat -c '%U:%G %a' "/etc/urbackup/$f")"
done
grep -qx /etc/urbackup/console.toml /var/lib/dpkg/info/urbackup-rs.conffiles || fail "console.toml is not a conffile"
[ "$(stat -c '%U:%G %a' /var/lib/urbackup)" = "urbackup:urbackup 750" ] || fail "/var/lib/urbackup: $(stat -c '%U:%G %a' /var/lib/urbackup)"
UNITS=/usr/lib/systemd/system
for u in urbackup-console urbackup-exporter; do
    [ -f "$UNITS/$u.service" ] || fail "no $UNITS/$u.service"
    if ls /etc/systemd/system/*.wants/"$u.service" >/dev/null 2>&1; then fail "$u is enabled"; fi
done
echo "   user urbackup, /etc/urbackup root:urbackup 750 (files 640), /var/lib/urbackup, units installed, not enabled"
/usr/bin/urbackup --version

say "systemd-analyze verify and security (offline)"
for u in urbackup-console urbackup-exporter; do
    systemd-analyze verify "$UNITS/$u.service" 2>&1 | tee "$TMP/verify.out"
    ! grep -q . "$TMP/verify.out" || fail "systemd-analyze verify $u.service complained"
    systemd-analyze security --offline=yes --threshold=20 "$UNITS/$u.service" >"$TMP/security.out" 2>&1 \
        || { cat "$TMP/security.out"; fail "$u.service: exposure above 2.0"; }
    echo "   $u.service: verified; $(grep -o 'Overall exposure level.*' "$TMP/security.out")"
done

say "man -l every page"
pages=0
for page in /usr/share/man/man1/urbackup*.1.gz; do
    out=$(MANWIDTH=80 man --warnings -l "$page" 2>"$TMP/man.err") || fail "man -l $page"
    [ ! -s "$TMP/man.err" ] || { cat "$TMP/man.err"; fail "man warns about $page"; }
    echo "$out" | grep -q "^NAME" || fail "$page has no NAME section"
    pages=$((pages + 1))
done
[ "$pages" -ge 50 ] || fail "only $pages man pages"
for c in /usr/share/bash-completion/completions/urbackup /usr/share/zsh/vendor-completions/_urbackup \
    /usr/share/fish/vendor_completions.d/urbackup.fish; do
    [ -s "$c" ] || fail "no $c"
done
bash -c 'source /usr/share/bash-completion/completions/urbackup && complete -p urbackup' >/dev/null \
    || fail "the bash completion does not load"
echo "   $pages pages rendered without warnings; bash, zsh and fish completions"

say "the units' own ExecStart lines, as urbackup, against a simulator"
URL2=$(start_sim sim2)
cat >/etc/urbackup/config.toml <<EOF
[profiles.ci]
url = "$URL2"
user = "admin"
password = "secret"
EOF
[ "$(stat -c '%U:%G %a' /etc/urbackup/config.toml)" = "root:urbackup 640" ] || fail "config.toml mode changed"
CPORT=$(free_port)
EPORT=$(free_port)
sed -i "s/^listen = .*/listen = \"127.0.0.1:$CPORT\"/" /etc/urbackup/console.toml
sed -i "s/^listen = .*/listen = \"127.0.0.1:$EPORT\"/" /etc/urbackup/exporter.toml
echo ci-package-password | runuser -u urbackup -- urbackup console user add ci --role viewer \
    --db /var/lib/urbackup/console.sqlite3 --password-stdin
# An upgrade (the same package as version -2, whose console.toml has changed too) keeps the
# files the administrator changed, and their modes (--force-confold: what answering "keep
# your version" at dpkg's question does).
before=$(sha256sum /etc/urbackup/*.toml)
dpkg-deb -R "$DEB" "$TMP/upgrade"
sed -i "s/^Version: .*/Version: ${VERSION}-2/" "$TMP/upgrade/DEBIAN/control"
echo "# (changed in -2)" >>"$TMP/upgrade/etc/urbackup/console.toml"
dpkg-deb -b --root-owner-group "$TMP/upgrade" "$TMP/upgrade.deb" >/dev/null
dpkg -i --force-confold "$TMP/upgrade.deb" >/dev/null
[ "$(dpkg-query -W -f '${Version}' urbackup-rs)" = "${VERSION}-2" ] || fail "the upgrade did not install"
[ "$(sha256sum /etc/urbackup/*.toml)" = "$before" ] || fail "the upgrade changed /etc/urbackup"
for f in config.toml console.toml exporter.toml; do
    [ "$(stat -c '%U:%G %a' "/etc/urbackup/$f")" = "root:urbackup 640" ] || fail "$f mode after the upgrade"
done
echo "   upgraded to ${VERSION}-2: the changed conffiles kept, root:urbackup 640"
exec_start() { sed -n 's/^ExecStart=//p' "$UNITS/$1.service"; }
for u in urbackup-console urbackup-exporter; do
    cmd=$(exec_start "$u")
    [ -n "$cmd" ] || fail "no ExecStart in $u.service"
    echo "   $u: $cmd"
    # As systemd would: the unit's user, its home as the working directory, no environment
    # but what the unit sets (none).
    (cd /var/lib/urbackup && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        setpriv --reuid=urbackup --regid=urbackup --init-groups -- $cmd) >"$TMP/$u.out" 2>&1 &
    PIDS+=($!)
done
wait_http "http://127.0.0.1:$CPORT/healthz" || fail "the console did not answer: $(cat "$TMP/urbackup-console.out")"
[ "$(curl -fsS "http://127.0.0.1:$CPORT/healthz")" = ok ] || fail "/healthz did not say ok"
# A login as the user added above, then the overview lists the simulator's server.
csrf=$(curl -fsS -c "$TMP/jar" "http://127.0.0.1:$CPORT/login" \
    | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$csrf" ] || fail "no login form"
code=$(curl -sS -b "$TMP/jar" -c "$TMP/jar" -o /dev/null -w '%{http_code}' \
    -H "Origin: http://127.0.0.1:$CPORT" --data-urlencode username=ci \
    --data-urlencode password=ci-package-password --data-urlencode "csrf=$csrf" \
    "http://127.0.0.1:$CPORT/login")
[ "$code" = 303 ] || fail "login answered $code (303 is a login that worked)"
curl -fsS -b "$TMP/jar" "http://127.0.0.1:$CPORT/servers" >"$TMP/servers.html"
grep -q '>ci<' "$TMP/servers.html" \
    || fail "the console's server list does not show the profile ci"
echo "   console: /healthz ok, logged in, server ci listed"
wait_http "http://127.0.0.1:$EPORT/metrics" || fail "the exporter did not answer: $(cat "$TMP/urbackup-exporter.out")"
curl -fsS "http://127.0.0.1:$EPORT/metrics" >"$TMP/scrape"
grep -Eq '^urbackup_up\{server="ci"\} 1(\.0)?$' "$TMP/scrape" \
    || fail "no urbackup_up{server=\"ci\"} 1"
echo "   exporter: urbackup_up{server=\"ci\"} 1"
[ "$(stat -c %U /var/lib/urbackup/console.sqlite3)" = urbackup ] || fail "the database is not urbackup's"
for u in urbackup-console urbackup-exporter; do
    pid=$(pgrep -u urbackup -f "urbackup ${u#urbackup-} --config-file") || fail "$u does not run as urbackup"
    kill $pid
done

say "dpkg --purge urbackup-rs"
dpkg --purge urbackup-rs
left=()
for p in /usr/bin/urbackup /usr/bin/urbackup-sim /etc/urbackup /var/lib/urbackup \
    "$UNITS/urbackup-console.service" "$UNITS/urbackup-exporter.service" \
    /usr/share/man/man1/urbackup.1.gz /usr/share/bash-completion/completions/urbackup \
    /usr/share/doc/urbackup-rs /var/lib/dpkg/info/urbackup-rs.list; do
    [ ! -e "$p" ] || left+=("$p")
done
[ ${#left[@]} = 0 ] || fail "left after purge: ${left[*]}"
if find /etc /usr /var/lib -name '*urbackup*' -newer "$DEB" 2>/dev/null | grep -v "^$TMP" | grep -q .; then
    find /etc /usr /var/lib -name '*urbackup*' -newer "$DEB" 2>/dev/null
    fail "files named urbackup left after purge"
fi
getent passwd urbackup >/dev/null || fail "the system user went with the purge (policy keeps it)"
echo "   nothing left but the system user urbackup (kept by policy); removing it here"
deluser --quiet --system urbackup >/dev/null 2>&1 || userdel urbackup
getent group urbackup >/dev/null && { delgroup --quiet --system urbackup 2>/dev/null || groupdel urbackup; }

echo "== ok ($(($(date +%s) - started)) s)"

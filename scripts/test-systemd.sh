#!/usr/bin/env bash
# The Debian package under a real systemd (run by .ci/run; needs root): a minimal Debian 12
# (debootstrap, Debian's packages) booted with systemd-nspawn, the .deb installed in it, one
# profile and one console user written, then `systemctl enable --now urbackup-console
# urbackup-exporter`, exactly as the README tells an administrator. The hardened units must
# start, run as `urbackup`, serve (the console /healthz and a login, the exporter urbackup_up 1
# for the profile) against a simulator on the host's loopback (the container shares the host's
# network), and `systemd-analyze security` on the loaded units must stay at most 2.0.
#
# The CI machine has no systemd as PID 1; the container's systemd is PID 1 of its own PID
# namespace (systemd-nspawn --register=no --keep-unit needs none on the host).
#
#   scripts/test-systemd.sh          # dist/ as scripts/dist.sh left it
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
DIST=${DIST:-$ROOT/dist}
case $DIST in /*) ;; *) DIST=$ROOT/$DIST ;; esac
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DEB=$DIST/urbackup-rs_${VERSION}-1_amd64.deb
SIM=$DIST/urbackup-x86_64-unknown-linux-musl/urbackup-sim
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
started=$(date +%s)

say() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (debootstrap, systemd-nspawn)"
[ -f "$DEB" ] && [ -x "$SIM" ] || fail "run scripts/dist.sh first (no $DEB or $SIM)"
missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# A minimal Debian 12 with systemd, made once and kept under target/ (a fresh copy per run).
BASE=$TARGET/debian12-systemd
if [ ! -f "$BASE/.complete" ]; then
    say "debootstrap bookworm (minbase, systemd) into $BASE"
    rm -rf "$BASE"
    s=$(date +%s)
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser \
        bookworm "$BASE" "$MIRROR" >"$TARGET/debootstrap.log" 2>&1 \
        || { tail -20 "$TARGET/debootstrap.log"; fail "debootstrap"; }
    touch "$BASE/.complete"
    say "debootstrap in $(($(date +%s) - s)) s"
fi
TMP=$(mktemp -d /var/tmp/urbackup-systemd.XXXXXX)
R=$TMP/root
SIM_PID=
NSPAWN_PID=
cleanup() {
    [ -n "$NSPAWN_PID" ] && kill -9 "$NSPAWN_PID" 2>/dev/null || true
    [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
cp -a "$BASE" "$R"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
SPORT=$(free_port)
CPORT=$(free_port)
EPORT=$(free_port)
"$SIM" --listen "127.0.0.1:$SPORT" --clients 4 --admin admin:secret --login-delay-ms 0 \
    >"$TMP/sim.out" 2>&1 &
SIM_PID=$!

say "dpkg -i in the container"
cp "$DEB" "$R/root/"
systemd-nspawn -q -D "$R" --register=no --keep-unit dpkg -i "/root/$(basename "$DEB")" \
    >"$TMP/dpkg.out" 2>&1 || { cat "$TMP/dpkg.out"; fail "dpkg -i"; }
# The administrator's part: the profiles, and the console's listen addresses (free ports
# here, as the host's network is shared).
cat >"$R/etc/urbackup/config.toml" <<EOF
[profiles.lab]
url = "http://127.0.0.1:$SPORT/x"
user = "admin"
password = "secret"
EOF
sed -i "s/^listen = .*/listen = \"127.0.0.1:$CPORT\"/" "$R/etc/urbackup/console.toml"
sed -i "s/^listen = .*/listen = \"127.0.0.1:$EPORT\"/" "$R/etc/urbackup/exporter.toml"

say "boot the container (systemd-nspawn -b)"
setsid systemd-nspawn -D "$R" --register=no --keep-unit -b >"$TMP/boot.log" 2>&1 </dev/null &
NSPAWN_PID=$!
INIT=
for _ in $(seq 300); do
    INIT=$(pgrep -P "$NSPAWN_PID" -x systemd || true)
    [ -n "$INIT" ] && break
    sleep 0.1
done
[ -n "$INIT" ] || { cat "$TMP/boot.log"; fail "no systemd in the container"; }
in_ct() { nsenter -t "$INIT" -m -u -i -p -n -- "$@"; }
state=
for _ in $(seq 300); do
    state=$(in_ct systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.2
done
case $state in running | degraded) ;; *) tail -20 "$TMP/boot.log"; fail "the container's systemd: $state" ;; esac
echo "   systemd in the container: $state"

say "the README's steps: a console user, systemctl enable --now"
for u in urbackup-console urbackup-exporter; do
    [ "$(in_ct systemctl is-enabled "$u" || true)" = disabled ] || fail "$u is enabled by the package"
    [ "$(in_ct systemctl is-active "$u" || true)" = inactive ] || fail "$u was started by the package"
done
echo pw-systemd-test | in_ct runuser -u urbackup -- urbackup console user add ann --role admin \
    --db /var/lib/urbackup/console.sqlite3 --password-stdin
in_ct systemctl enable --now urbackup-console urbackup-exporter 2>&1 | sed 's/^/   /'

wait_http() {
    for _ in $(seq 150); do
        curl -fsS -o "$2" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
wait_http "http://127.0.0.1:$CPORT/healthz" "$TMP/healthz" \
    || { in_ct journalctl -u urbackup-console --no-pager | tail -20; fail "the console did not answer"; }
csrf=$(curl -fsS -c "$TMP/jar" "http://127.0.0.1:$CPORT/login" \
    | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -n 1)
code=$(curl -sS -b "$TMP/jar" -c "$TMP/jar" -o /dev/null -w '%{http_code}' \
    -H "Origin: http://127.0.0.1:$CPORT" --data-urlencode username=ann \
    --data-urlencode password=pw-systemd-test --data-urlencode "csrf=$csrf" \
    "http://127.0.0.1:$CPORT/login")
[ "$code" = 303 ] || fail "login answered $code"
curl -fsS -b "$TMP/jar" "http://127.0.0.1:$CPORT/servers" >"$TMP/servers.html"
grep -q '>lab<' "$TMP/servers.html" || fail "the console does not list the profile lab"
echo "   console: /healthz ok, logged in (the session written to its database), server lab listed"
wait_http "http://127.0.0.1:$EPORT/metrics" "$TMP/scrape" \
    || { in_ct journalctl -u urbackup-exporter --no-pager | tail -20; fail "the exporter did not answer"; }
grep -Eq '^urbackup_up\{server="lab"\} 1(\.0)?$' "$TMP/scrape" || fail "no urbackup_up{server=\"lab\"} 1"
echo "   exporter: urbackup_up{server=\"lab\"} 1"

for u in urbackup-console urbackup-exporter; do
    pid=$(in_ct systemctl show -P MainPID "$u")
    user=$(in_ct stat -c %U "/proc/$pid")
    [ "$user" = urbackup ] || fail "$u runs as $user"
    in_ct systemd-analyze security --threshold=20 "$u.service" >"$TMP/security.out" 2>&1 \
        || { cat "$TMP/security.out"; fail "$u: exposure above 2.0"; }
    echo "   $u: active as urbackup, $(grep -o 'Overall exposure level.*' "$TMP/security.out")"
done
if in_ct journalctl --no-pager -u urbackup-console -u urbackup-exporter | grep -Eiq 'denied|EPERM|seccomp|SIGSYS'; then
    in_ct journalctl --no-pager -u urbackup-console -u urbackup-exporter | tail -20
    fail "the sandbox refused something"
fi
in_ct systemctl poweroff >/dev/null 2>&1 || true
for _ in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
echo "== ok ($(($(date +%s) - started)) s)"

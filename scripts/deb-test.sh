#!/bin/sh
# Installs the package built by scripts/deb.sh on this machine, checks what it
# set up, and removes it again. Run as root on a Debian system that has no
# licwatch package installed: it changes the system (a user, /etc/licwatch,
# /var/lib/licwatch), and dpkg -r / --purge at the end undoes what it can.
#
# In a container where systemd is not PID 1, postinst's systemd-sysusers and
# systemd-tmpfiles still run (they need no running systemd) and its
# deb-systemd-helper only records the unit as enabled; this script then runs
# the same commands again to show they are idempotent.
#
# Usage: scripts/deb-test.sh [path/to/licwatch_*.deb]
set -eu
cd "$(dirname "$0")/.."

deb=${1:-$(ls -t target/debian/licwatch_*.deb | head -n 1)}
step() { printf '\n== %s\n' "$*"; }
fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }

if dpkg -s licwatch >/dev/null 2>&1; then
    fail "a licwatch package is already installed; remove it first"
fi

step "package: $deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb" | awk '{print $1, $6}'

step "dpkg -i"
dpkg -i "$deb"

step "the licwatch user"
getent passwd licwatch || fail "no licwatch user"
systemd-sysusers /usr/lib/sysusers.d/licwatch.conf
systemd-tmpfiles --create /usr/lib/tmpfiles.d/licwatch.conf

step "directories and files"
stat -c '%A %U:%G %n' /var/lib/licwatch /etc/licwatch /etc/licwatch/credentials \
    /etc/licwatch/licwatch.toml /usr/bin/licwatch
[ "$(stat -c '%a %U' /etc/licwatch/credentials)" = "700 root" ] || fail "credentials not 0700 root"
[ "$(stat -c '%a %U' /var/lib/licwatch)" = "700 licwatch" ] || fail "/var/lib/licwatch not 0700 licwatch"
dpkg-query --showformat='${Conffiles}\n' --show licwatch
dpkg-query --showformat='${Conffiles}\n' --show licwatch | grep -q /etc/licwatch/licwatch.toml \
    || fail "licwatch.toml is not a conffile"

step "the unit"
if command -v systemd-analyze >/dev/null; then
    # --man=no: the unit has no Documentation= pages to look up.
    systemd-analyze verify --man=no /usr/lib/systemd/system/licwatch.service
    echo "systemd-analyze verify: ok"
    systemd-analyze security --offline=yes /usr/lib/systemd/system/licwatch.service | tail -n 1
else
    echo "systemd-analyze not installed: verify skipped"
fi

step "licwatch runs, as the service user, on the installed config"
licwatch --version
LICWATCH_CONFIG=/etc/licwatch/licwatch.toml licwatch config check
setpriv --reuid=licwatch --regid=licwatch --init-groups \
    env LICWATCH_DB=/var/lib/licwatch/licwatch.db LICWATCH_CONFIG=/etc/licwatch/licwatch.toml \
    licwatch --today 2026-12-01 agenda
man -w licwatch
man -w licwatch-agenda
ls /usr/share/bash-completion/completions/licwatch /usr/share/zsh/vendor-completions/_licwatch \
    /usr/share/fish/vendor_completions.d/licwatch.fish

step "dpkg -r"
dpkg -r licwatch
[ ! -e /usr/bin/licwatch ] || fail "/usr/bin/licwatch left behind"
[ ! -e /usr/lib/systemd/system/licwatch.service ] || fail "the unit left behind"
echo "after -r, kept as Debian keeps them until purge:"
ls -ld /etc/licwatch/licwatch.toml /var/lib/licwatch 2>&1 || true

step "dpkg --purge"
dpkg --purge licwatch
[ ! -e /etc/licwatch/licwatch.toml ] || fail "the conffile survived purge"
echo "left for the admin (the register and secrets are theirs):"
ls -ld /var/lib/licwatch /etc/licwatch/credentials 2>&1 || true
getent passwd licwatch || true

step "deb-test: ok"

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
# What the package leaves behind on purge (the register, the secrets, the
# user) is removed at the end, so refuse a machine that already has them.
if getent passwd licwatch >/dev/null || [ -e /var/lib/licwatch ] || [ -e /etc/licwatch ]; then
    fail "a licwatch user, /var/lib/licwatch or /etc/licwatch exists already; this test wants a machine without them"
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
as_service() {
    setpriv --reuid=licwatch --regid=licwatch --init-groups \
        env LICWATCH_DB=/var/lib/licwatch/licwatch.db LICWATCH_CONFIG=/etc/licwatch/licwatch.toml \
        licwatch "$@"
}
as_service company add --uscc 91110108551385082Q --name 北京示例呼叫中心有限公司
as_service licence add --number 京B2-20221234 --holder 91110108551385082Q --items B24 --issued 2022-03-01
as_service --today 2026-12-01 agenda
# An admin's shell, as the README's sudo -u licwatch: no LICWATCH_DB, no
# LICWATCH_CONFIG; the CLI reads /etc/licwatch/licwatch.toml and its [store]
# path, and sees the licence just added.
setpriv --reuid=licwatch --regid=licwatch --init-groups \
    env -u LICWATCH_DB -u LICWATCH_CONFIG licwatch --today 2026-12-01 licence list | grep -q 京B2-20221234 \
    || fail "the admin CLI does not find the service's register through /etc/licwatch/licwatch.toml"
stat -c '%a %U:%G %n' /var/lib/licwatch/licwatch.db
[ "$(stat -c '%U' /var/lib/licwatch/licwatch.db)" = licwatch ] || fail "the register is not the service user's"
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
[ ! -e /etc/systemd/system/multi-user.target.wants/licwatch.service ] || fail "the unit is still enabled"
echo "left for the admin, as Debian leaves data and system users:"
ls -ld /var/lib/licwatch /etc/licwatch/credentials 2>&1 || true
getent passwd licwatch || true

step "cleaning up what this test made"
rm -rf /var/lib/licwatch /etc/licwatch
userdel licwatch
getent group licwatch >/dev/null && groupdel licwatch
dpkg -s licwatch >/dev/null 2>&1 && fail "licwatch still known to dpkg"

step "deb-test: ok"

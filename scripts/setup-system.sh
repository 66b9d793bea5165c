#!/usr/bin/env bash
# Install the Debian packages the real-server tests need: OpenSSH's sshd, PostgreSQL, Redis
# (the Celery broker), unixODBC and the psqlODBC and SQLite ODBC drivers (tests/servers.py), and Chromium for
# the headless screenshots of the Dagster UI (tests/browser.py, scripts/screenshots.py;
# Playwright drives this system browser and never downloads one).  Safe to run again: when
# everything is installed it changes nothing.  It starts no service: the tests run their
# own sshd, PostgreSQL cluster and Redis on loopback ports and never use the distribution's.
set -euo pipefail

PACKAGES=(openssh-server unixodbc odbc-postgresql libsqliteodbc postgresql redis-server chromium poppler-utils libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)

missing=()
for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "installed" ]; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup-system: all test packages present (${PACKAGES[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-system: missing packages: ${missing[*]}" >&2
    echo "setup-system: run this script as root (e.g. sudo $0) to install them" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup-system: installing ${missing[*]}"

# Keep package scripts from starting services (sshd, the default PostgreSQL cluster) where
# a policy-rc.d is honoured; remove it afterwards only if we put it there.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi
cleanup() { if [ "$own_policy" -eq 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
echo "setup-system: installed ${missing[*]}"

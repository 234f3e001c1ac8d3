#!/bin/sh
# Install the Debian packages the test suite starts or calls, only those still missing.
set -eu
# docker-compose validates the compose file; slapd and Samba are the directories the realm
# tests log in through (Samba's AD DC needs the provision data, dsdb and vfs modules);
# Chromium is the browser Playwright drives (its own browser download does not work offline);
# redis-server is the soak's own Redis (`make soak` restarts it).
wanted="docker-compose slapd ldap-utils samba samba-ad-provision samba-dsdb-modules
  samba-vfs-modules krb5-user winbind chromium redis-server"
missing=""
for package in $wanted; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $package"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages:$missing; run as root or: sudo apt-get install$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# --no-install-recommends: docker-compose would otherwise pull in a whole Docker engine.
apt-get install -y -qq --no-install-recommends $missing

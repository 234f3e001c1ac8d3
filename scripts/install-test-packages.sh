#!/bin/sh
# Install the Debian packages the test suite starts or calls, only those still missing.
set -eu
# command  package
wanted="docker-compose:docker-compose"
missing=""
for pair in $wanted; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
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

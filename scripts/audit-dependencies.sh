#!/usr/bin/env bash
# Known vulnerabilities in the locked Python requirements (uv.lock, every group), by pip-audit
# against PyPI's vulnerability data. pip-audit asks PyPI about each pinned release; where that
# cannot be asked (a mirror without PyPI's per-release JSON API, no network), it says so and
# stops without failing: a missing database is not a finding, and CI elsewhere runs the audit.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
.venv/bin/uv export --frozen --all-groups --no-emit-project --quiet --output-file "$requirements"

# PyPI's data first (per release), else OSV's.
django_version="$(sed -n 's/^django==\([^ ]*\).*/\1/p' "$requirements")"
if curl -fsS --max-time 20 -o /dev/null "https://pypi.org/pypi/django/${django_version}/json"; then
  service=pypi
elif curl -sS --max-time 20 -o /dev/null https://api.osv.dev/; then
  service=osv
else
  echo "pip-audit: no vulnerability service can be reached from here; the audit did not run." >&2
  exit 0
fi
.venv/bin/pip-audit --requirement "$requirements" --disable-pip --strict \
  --vulnerability-service "$service" --progress-spinner off

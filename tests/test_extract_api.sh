#!/usr/bin/env bash
# test_extract_api.sh BOUNCECHECK - POST /v1/extract's limits, pool and queue
# with real requests (curl) on loopback, offline: runs
# tests/api/test_extract_limits.py, which starts its own servers. Prints TAP.
set -u
bin=${1:?usage: test_extract_api.sh path/to/bouncecheck}
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3; [ -x $py ] || py=python3
if ! command -v curl >/dev/null 2>&1; then
  echo "1..0 # SKIP curl is not installed (scripts/deps.sh test)"
  exit 0
fi
exec "$py" "$here/api/test_extract_limits.py" "$bin"

#!/usr/bin/env bash
# deps.sh GROUP... - install the Debian packages a make target needs, only
# those that are missing. Groups: build, test, lint, bench, fuzz.
set -euo pipefail

declare -A groups=(
  [build]="gcc meson ninja-build pkg-config libidn2-dev libpsl-dev libjansson-dev libunistring-dev libcurl4-openssl-dev libarchive-dev libssl-dev libc-ares-dev libevent-dev libcsv-dev libsqlite3-dev libxml2-dev libmicrohttpd-dev libgmime-3.0-dev libpoppler-glib-dev libpq-dev"
  [test]="python3 ca-certificates iproute2 nsd postfix postgrey python3-aiosmtpd microsocks openssl python3-dnspython curl python3-jsonschema python3-yaml jq chromium chromium-driver python3-selenium nodejs npm postgresql haproxy"
  [lint]="cppcheck clang-format"
  [bench]="python3 python3-email-validator nodejs npm time util-linux hyperfine iproute2 nsd postfix openssl wrk curl ripgrep postgresql"
  [fuzz]="clang libclang-rt-14-dev"
)

want=()
for g in "$@"; do
  [[ -n "${groups[$g]+x}" ]] || { echo "deps.sh: unknown group '$g'" >&2; exit 2; }
  for p in ${groups[$g]}; do want+=("$p"); done
done

missing=()
for p in "${want[@]}"; do
  # nodejs/npm may come from elsewhere on a developer machine: a working
  # command is as good as the package.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps.sh: installing missing packages: ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
    echo "deps.sh: not root and no sudo; please install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get install -y -q "${missing[@]}"; then
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q "${missing[@]}"
fi

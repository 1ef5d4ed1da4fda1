#!/usr/bin/env bash
# format.sh [--check | --list] - clang-format the C sources with the
# repository's .clang-format. Without an option the files are rewritten in
# place (make format); --check changes nothing and fails on any difference
# (make format-check); --list prints the files concerned. The one list of
# files is here: the C sources and headers under src/, include/, tests/,
# fuzz/ and bench/ (npm's node_modules left out).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=fix
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  --list) mode=list ;;
  *) echo "usage: scripts/format.sh [--check | --list]" >&2; exit 2 ;;
esac

mapfile -t files < <(find src include tests fuzz bench -name node_modules -prune -o \
  -type f \( -name '*.c' -o -name '*.h' \) -print | LC_ALL=C sort)

case "$mode" in
  list) printf '%s\n' "${files[@]}" ;;
  check) clang-format --style=file --dry-run -Werror "${files[@]}" ;;
  fix) clang-format --style=file -i "${files[@]}" ;;
esac

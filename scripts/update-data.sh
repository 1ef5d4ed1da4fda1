#!/usr/bin/env bash
# update-data.sh - regenerate the committed domain data in data/ from the npm
# packages pinned in src/lib/data/lists_update.c: builds bouncecheck, then runs
# `bouncecheck lists update --pinned --data-dir data/`, which checks every
# tarball against its pinned and published SHA-512 integrity and rewrites
# data/disposable.txt, free.txt, role.tsv, sources.json and data/LICENSES/.
#
# Usage: scripts/update-data.sh          (from anywhere in the tree)
# Env:   BUILD_DIR (default build), BOUNCECHECK_NPM_REGISTRY (a mirror)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}

if [[ ! -f "$build/build.ninja" ]]; then
  meson setup "$build"
fi
ninja -C "$build" bouncecheck

"$build/bouncecheck" lists update --pinned --data-dir data/

echo "update-data.sh: data/ regenerated; review with 'git diff --stat data/'" >&2

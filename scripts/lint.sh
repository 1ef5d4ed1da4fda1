#!/usr/bin/env bash
# lint.sh [BUILDDIR] - cppcheck over every C file the build compiles (make
# lint). It reads BUILDDIR/compile_commands.json (meson writes it; BUILDDIR
# is set up when missing), keeps each source file once, leaves out the files
# meson generates and the include paths outside this tree (system headers are
# described to cppcheck by its --library files instead, which is faster and
# quieter), and fails on any finding. False positives are suppressed narrowly:
# inline with "// cppcheck-suppress ID" and a reason, or in .cppcheck.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build}

[[ -f "$build/compile_commands.json" ]] || meson setup "$build" >/dev/null
out="$build/cppcheck"
# cppcheck's cache of results per file, one per version of this
# configuration (the cache does not notice a changed suppression or library)
conf=$(cat scripts/lint.sh .cppcheck scripts/cppcheck-jansson.cfg | sha1sum | cut -c1-12)
cache="$out/cache-$conf"
if [[ ! -d "$cache" ]]; then
  rm -rf "$out"/cache-*
  mkdir -p "$cache"
fi

python3 - "$root" "$build/compile_commands.json" "$out/compile_commands.json" <<'PY'
import json, os, shlex, sys
root, src, dst = sys.argv[1:]
seen, keep = set(), []
for e in json.load(open(src)):
    d = e["directory"]
    f = os.path.normpath(os.path.join(d, e["file"]))
    # generated sources (the embedded data, the OpenAPI and UI blobs) live
    # in the build directory: not ours to lint
    if not f.startswith(root + os.sep) or f.startswith(os.path.realpath(d) + os.sep):
        continue
    if f in seen:
        continue
    seen.add(f)
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    kept = [args[0]]
    for a in args[1:]:
        if a.startswith("-I"):
            p = os.path.normpath(os.path.join(d, a[2:]))
            if p == root or p.startswith(root + os.sep):
                kept.append("-I" + p)
        elif a.startswith("-D") or a.startswith("-U"):
            kept.append(a)
    kept += ["-c", f]
    keep.append({"directory": d, "file": f, "arguments": kept})
json.dump(keep, open(dst, "w"), indent=1)
print(f"lint.sh: cppcheck on {len(keep)} files", file=sys.stderr)
PY

jobs=$(nproc 2>/dev/null || echo 2)
cppcheck --project="$out/compile_commands.json" \
  --cppcheck-build-dir="$cache" \
  --enable=warning,performance,portability \
  --std=c11 \
  --library=posix,gnu,libcurl,openssl,sqlite3,scripts/cppcheck-jansson.cfg \
  --inline-suppr --suppressions-list=.cppcheck \
  --error-exitcode=1 -j "$jobs" --quiet \
  --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
echo "lint.sh: cppcheck found nothing" >&2

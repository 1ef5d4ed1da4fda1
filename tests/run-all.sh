#!/usr/bin/env bash
# run-all.sh BUILDDIR... - run the meson test suite in each build directory
# and sum the TAP results of all of them into one closing line
# "N passed, N failed" (skips are counted on the line before).
set -uo pipefail
status=0
logs=()
for b in "$@"; do
  echo "== meson test in $b"
  if ! meson test -C "$b" --print-errorlogs --num-processes 2; then
    status=1
  fi
  logs+=("$b/meson-logs/testlog.json")
done
python3 - "${logs[@]}" <<'PY' || status=1
import json, re, sys
passed = failed = skipped = 0
bad = []
skips = []
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            n_ok = n_bad = n_skip = 0
            for l in out.splitlines():
                if re.match(r"^not ok\b", l):
                    n_bad += 1
                elif re.match(r"^ok\b", l):
                    if re.search(r"#\s*SKIP", l, re.I):
                        n_skip += 1
                    else:
                        n_ok += 1
                elif re.match(r"^1\.\.0\b.*#\s*SKIP", l, re.I):
                    n_skip += 1
                    skips.append(f"{path.split('/')[0]}:{t.get('name')}: {l.split('SKIP', 1)[1].strip()}")
            # A program that died before its plan still counts as a failure.
            if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and n_bad == 0:
                n_bad = 1
            if n_bad:
                bad.append(f"{path.split('/')[0]}:{t.get('name')}")
            passed += n_ok; failed += n_bad; skipped += n_skip
if bad:
    print("failing:", ", ".join(bad))
for s in skips:
    print("skipped", s)
if skipped:
    print(f"{skipped} skipped")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
exit $status

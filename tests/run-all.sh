#!/usr/bin/env bash
# run-all.sh BUILDDIR[:tsan]... - run the meson test suite in each build
# directory and sum the TAP results of all of them into one closing line
# "N passed, N failed" (skips are counted on the line before).
#
# A directory written BUILDDIR:tsan is a ThreadSanitizer build: only the
# suites named in tests/tsan-suites.txt are run there (the server's, whose
# threads TSan is for), with the suppressions of tests/tsan.supp. Every
# report TSan writes, from any process of those suites (servers included,
# whose exit status the suites do not look at), counts as a failure.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
status=0
logs=()
for arg in "$@"; do
  b=${arg%%:*}
  kind=
  [[ "$arg" == *:* ]] && kind=${arg#*:}
  suites=()
  env_tsan=()
  meson_args=()
  case "$kind" in
    "") ;;
    tsan)
      mapfile -t suites < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/tsan-suites.txt")
      rm -rf "$b/tsan-reports"
      mkdir -p "$b/tsan-reports"
      # halt_on_error=0: a report does not change what the program does, so
      # the suites run to their end and every report is seen
      env_tsan=(env "TSAN_OPTIONS=suppressions=$here/tsan.supp log_path=$(cd "$b" && pwd)/tsan-reports/report second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}")
      # instrumented programs run several times slower: the suites' own
      # waits (tests/api/apitest.py) and meson's time limits stretch with it
      env_tsan+=("BC_TEST_TIME_SCALE=${BC_TEST_TIME_SCALE:-4}")
      meson_args=(--timeout-multiplier 3)
      ;;
    *) echo "run-all.sh: unknown kind '$kind' in '$arg'" >&2; exit 2 ;;
  esac
  echo "== meson test in $b${kind:+ ($kind: ${suites[*]})}"
  start=$SECONDS
  if ! "${env_tsan[@]}" meson test -C "$b" --print-errorlogs --num-processes 2 "${meson_args[@]}" "${suites[@]}"; then
    status=1
  fi
  echo "== $b: $((SECONDS - start)) s"
  logs+=("$b/meson-logs/testlog.json")
  if [[ "$kind" == tsan ]]; then
    reports=("$b"/tsan-reports/report.*)
    if [[ -e "${reports[0]}" ]]; then
      status=1
      echo "== ThreadSanitizer: ${#reports[@]} process(es) reported, in $b/tsan-reports:"
      for r in "${reports[@]}"; do
        echo "-- $r"
        head -n 60 "$r"
      done
      logs+=("tsan:${#reports[@]}:$b")
    fi
  fi
done
python3 - "${logs[@]}" <<'PY' || status=1
import itertools, json, re, sys
passed = failed = skipped = 0
bad = []
detail = []
skips = []
for path in sys.argv[1:]:
    if path.startswith("tsan:"):
        # the reports of a TSan directory: one failure per reporting process
        _, n, b = path.split(":", 2)
        failed += int(n)
        bad.append(f"{b}:ThreadSanitizer ({n} reports)")
        continue
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
                # the failing checks and the lines of detail after each, so
                # that the tail of a CI log tells what failed, not only where
                lines = out.splitlines()
                for i, l in enumerate(lines):
                    if re.match(r"^not ok\b", l):
                        detail.append(f"{path.split('/')[0]}:{t.get('name')}: {l[:300]}")
                        detail.extend("    " + d[:300] for d in
                                      itertools.takewhile(lambda d: d.startswith("#"), lines[i + 1:i + 9]))
            passed += n_ok; failed += n_bad; skipped += n_skip
for d in detail[:60]:
    print(d)
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

#!/usr/bin/env bash
# run.sh - the bulk verification benchmark (`make bench`), in two parts:
#
# 1. SMTP: 10,000 addresses against one MX behind a WAN-like latency proxy,
#    `bouncecheck verify -i list.txt -o out.ndjson` against npm
#    deep-email-validator, both held to the same connection cap. The world,
#    the timing and the correctness checks are bench/verify/run.sh's; this
#    part only calls it with BENCH_VERIFY_N=10000 and BENCH_VERIFY_INPUT=file
#    (bouncecheck reads the list as a file, the bulk path). Needs root; without
#    it this part is skipped with a message.
# 2. Offline: a seeded 1,000,000-row CSV (a few columns, quoted cells, about a
#    third of the rows duplicates) through `bouncecheck verify --offline
#    --quiet -i big.csv -o out.csv` under /usr/bin/time -v: rows/s and peak
#    RSS (goal <= 100 MB), and the output must hold the header plus every row.
#
# Environment:
#   BUILD              bouncecheck Meson build dir (default: <repo>/build)
#   BC_BIN             the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_BULK_N       addresses of part 1 (default 10000)
#   BENCH_BULK_PEER_N  how many of them deep-email-validator verifies (a
#                      prefix, default all; at ~9 addresses/s 10,000 take
#                      ~18 minutes); its rate is compared with bouncecheck's
#   BENCH_BULK_CONNS   connection cap of both tools (default 5)
#   BENCH_BULK_ROWS    rows of part 2 (default 1000000)
#   BENCH_BULK_PARTS   which parts to run: "smtp offline" (default), or one
#   BENCH_STRICT       when 1, exit 3 when a goal is missed (passed on to
#                      bench/verify/run.sh for part 1)
# Any failure of a tool, of the world or of a check exits non-zero with a
# message. Files of the last offline run stay in bench/.cache/bulk-last/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
N=${BENCH_BULK_N:-10000}
PEER_N=${BENCH_BULK_PEER_N:-$N}
CONNS=${BENCH_BULK_CONNS:-5}
ROWS=${BENCH_BULK_ROWS:-1000000}
PARTS=${BENCH_BULK_PARTS:-smtp offline}
RSS_GOAL_MB=100
PY=/usr/bin/python3

die() { echo "bulk/run.sh: error: $*" >&2; exit 1; }
note() { echo "bulk/run.sh: $*" >&2; }

[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_BULK_ROWS must be a positive integer, got '$ROWS'"
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
if [[ $BC_BIN == "$BUILD/bouncecheck" && -f $BUILD/build.ninja ]]; then
  ninja -C "$BUILD" bouncecheck >/dev/null || die "ninja -C $BUILD bouncecheck failed"
fi
[[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"

missed=0

# --- 1. SMTP, side by side -----------------------------------------------------
if [[ " $PARTS " == *" smtp "* ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bulk/run.sh: part 1 (SMTP, bouncecheck vs deep-email-validator) skipped: it needs root" \
      "(network namespace, NSD, Postfix)"
  else
    echo "== bulk part 1: $N addresses over SMTP, bouncecheck -i vs deep-email-validator =="
    rc=0
    BUILD=$BUILD BC_BIN=$BC_BIN BENCH_VERIFY_N=$N BENCH_VERIFY_PEER_N=$PEER_N \
      BENCH_VERIFY_CONNS=$CONNS BENCH_VERIFY_INPUT=file "$bench/verify/run.sh" || rc=$?
    # 3 is verify/run.sh's "a goal was missed" under BENCH_STRICT: report it
    # at the end, after part 2; anything else is a failure.
    case $rc in
      0) ;;
      3) missed=1 ;;
      *) die "bench/verify/run.sh failed (exit $rc)" ;;
    esac
  fi
fi

# --- 2. offline, 1,000,000 rows --------------------------------------------------
if [[ " $PARTS " == *" offline "* ]]; then
  run=$bench/.cache/bulk-last
  rm -rf "$run"
  mkdir -p "$run"
  echo
  echo "== bulk part 2: $ROWS rows --offline =="
  # id, name, email, city, signup: quoted cells (commas, doubled quotes), a
  # third of the rows repeat an earlier address (some with an upper-case
  # domain), a few are not addresses at all; no embedded newlines, so the
  # output's line count is its row count.
  $PY - "$run/big.csv" "$ROWS" 20240601 <<'EOF' || die "generating the list failed"
import csv, random, sys
out, rows, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
doms = ["gmail.com", "yahoo.com", "outlook.com", "example-shop.de", "mailinator.com",
        "gmial.com", "acme.io", "bücher.example", "web.de", "proton.me"]
first = ["anna", "ben", "carla", "dev", "emma", "felix", "grace", "hugo", "iris", "jonas"]
cities = ["Berlin", "Paris, TX", 'The "Big" Apple', "Zürich", "São Paulo", ""]
seen = []
with open(out, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "name", "email", "city", "signup"])
    for i in range(rows):
        r = rng.random()
        if seen and r < 0.33:
            a = rng.choice(seen)
            if rng.random() < 0.1:
                loc, _, dom = a.rpartition("@")
                a = f"{loc}@{dom.upper()}"
        elif r < 0.35:
            a = rng.choice(["not an address", "x@", "@y.com", "a@@b.c", ""])
        else:
            n = rng.choice(first)
            a = f"{n}.{rng.randrange(10**7)}@{rng.choice(doms)}"
            if len(seen) < 200000:
                seen.append(a)
            else:
                seen[rng.randrange(len(seen))] = a
        w.writerow([i, f"{rng.choice(first).title()}, {rng.choice(first).title()}", a,
                    rng.choice(cities), f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"])
EOF
  in_bytes=$(stat -c %s "$run/big.csv")
  rc=0
  /usr/bin/time -v -o "$run/time.txt" \
    "$BC_BIN" verify --offline --quiet -i "$run/big.csv" -o "$run/out.csv" \
    >"$run/stdout" 2>"$run/stderr" || rc=$?
  if [[ $rc -ne 0 ]]; then
    tail -n 20 "$run/stderr" >&2
    die "bouncecheck verify --offline -i exited $rc (logs in $run)"
  fi
  [[ ! -e $run/out.csv.bcstate ]] || die "bouncecheck left its state file behind"
  lines=$(wc -l <"$run/out.csv")
  [[ $lines -eq $((ROWS + 1)) ]] || die "out.csv has $lines lines, want $((ROWS + 1)) (header + rows)"
  # Every row kept in order with its id, and a verdict appended.
  $PY - "$run/out.csv" "$ROWS" <<'EOF' || die "out.csv does not hold every row in order"
import csv, sys
rows = csv.reader(open(sys.argv[1], newline="", encoding="utf-8-sig"))
hdr = next(rows)
assert hdr[:7] == ["id", "name", "email", "city", "signup", "status", "reason"], hdr
n = 0
for i, r in enumerate(rows):
    assert r[0] == str(i) and r[5] in ("unknown", "undeliverable", "risky"), (i, r[:7])
    n += 1
assert n == int(sys.argv[2]), n
EOF
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
    for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$run/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$run/time.txt")
  [[ $rss =~ ^[0-9]+$ && -n $secs ]] || die "could not read /usr/bin/time's report ($run/time.txt)"
  rss_mb=$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')
  met=$(awk -v m="$rss_mb" -v g="$RSS_GOAL_MB" 'BEGIN { print (m <= g) ? "met" : "NOT met" }')
  [[ $met == met ]] || missed=1
  echo "input: $ROWS rows, $(awk -v b="$in_bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MB CSV" \
    "(seeded, ~1/3 duplicate addresses); output: $lines lines (header + $ROWS rows), checked"
  echo "bouncecheck verify --offline --quiet -i big.csv -o out.csv:" \
    "$(awk -v n="$ROWS" -v s="$secs" 'BEGIN { if (s <= 0) s = 0.01; printf "%.0f", n / s }') rows/s" \
    "(${secs}s wall), peak RSS $rss_mb MB (goal <= $RSS_GOAL_MB MB: $met)"
fi

if [[ ${BENCH_STRICT:-0} == 1 && $missed -ne 0 ]]; then
  note "a goal was missed"
  exit 3
fi
exit 0

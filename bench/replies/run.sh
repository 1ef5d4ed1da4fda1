#!/usr/bin/env bash
# run.sh - the reply-corpus benchmark (`make bench`): how each verifier reads
# real SMTP replies, and how fast BounceCheck's classifier is.
#
# (a) Accuracy, side by side in one run: every reply of tests/replies/
#     corpus.tsv is served at RCPT TO by one scripted SMTP server on port 25
#     of its own MX address, in a network namespace with its own NSD
#     (tests/replies/world.sh), and the same addresses are verified by
#     `bouncecheck verify -i` and by the npm peers deep-email-validator,
#     email-deep-validator and email-existence (pinned in bench/package.json
#     and bench/package-lock.json, installed with npm ci; how each peer's
#     answer is mapped to a status: bench/replies/peers.js). For each verifier
#     it prints the headline first, "false undeliverable (non-mailbox replies
#     called undeliverable): N of M" and "right: N of M", then one row per
#     corpus class with the counts of each status given.
# (b) Speed: bench_classify (bench/replies/bench_classify.c) parses every
#     reply once and times bc_smtp_classify() over all of them, ROUNDS times;
#     the goal is a mean under 5 us (5000 ns) per reply.
#
# Environment:
#   BUILD            bouncecheck Meson build dir (default: <repo>/build)
#   BC_BIN           the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_REPLIES_ROUNDS   classification rounds (default 200)
#   BENCH_REPLIES_PEERS=0  bouncecheck only (no npm peers)
#   BENCH_REPLIES_JOBS     bouncecheck processes at once (default 4)
#   BENCH_STRICT     when 1, exit 3 if the speed goal is missed or bouncecheck
#                    called a non-mailbox reply undeliverable
# Without root, part (a) is skipped with a message; part (b) always runs.
# Any failure of the world, a tool or an install exits non-zero. Logs of the
# last run stay in bench/.cache/replies-last/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
ROUNDS=${BENCH_REPLIES_ROUNDS:-200}
JOBS=${BENCH_REPLIES_JOBS:-4}
PEERS=${BENCH_REPLIES_PEERS:-1}
PY=/usr/bin/python3
corpus=$repo/tests/replies/corpus.tsv
cache=$bench/.cache
deps=$bench/.deps
run=$cache/replies-last

die() { echo "replies/run.sh: error: $*" >&2; exit 1; }
note() { echo "replies/run.sh: $*" >&2; }

[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPLIES_ROUNDS must be a positive integer"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPLIES_JOBS must be a positive integer"
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"
$PY "$repo/tests/replies/check_corpus.py" --quiet "$corpus" || die "$corpus is malformed"

if [[ -f $BUILD/build.ninja ]]; then
  ninja -C "$BUILD" bouncecheck bench/bench_classify >/dev/null || die "ninja -C $BUILD failed"
fi
[[ -x $BUILD/bench/bench_classify ]] || die "$BUILD/bench/bench_classify not found: build first"

rm -rf "$run"
mkdir -p "$run"
chmod 755 "$cache" "$run"

echo "Reply-corpus benchmark: $(grep -vc '^#' "$corpus") labelled SMTP replies (tests/replies/corpus.tsv)"
echo

# --- (b) speed -------------------------------------------------------------------
"$BUILD/bench/bench_classify" "$corpus" "$ROUNDS" >"$run/classify.out" || die "bench_classify failed"
speed_met=$(sed -n 's/^goal: .*: //p' "$run/classify.out")

# --- (a) accuracy ------------------------------------------------------------------
if [[ $(id -u) -ne 0 ]]; then
  echo "accuracy: skipped: the verifiers need root (network namespace, NSD)"
  echo
  echo "Speed of bc_smtp_classify():"
  sed 's/^/  /' "$run/classify.out"
  exit 0
fi
for t in ip nsd nsd-checkconf; do
  command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh bench)"
done
[[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"

peers=()
declare -A pin=()
if [[ $PEERS != 0 ]]; then
  for t in node npm; do command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh bench)"; done
  # shellcheck source=bench/npm_peer.sh
  . "$bench/npm_peer.sh"
  for p in deep-email-validator email-deep-validator email-existence; do
    npm_peer "$p"
    peers+=("$p")
    pin[$p]="$peer_version ($peer_integrity)"
  done
fi

# shellcheck source=tests/replies/world.sh
. "$repo/tests/replies/world.sh"
trap rw_down EXIT
trap 'exit 130' INT TERM
rw_up "$run/world" "$corpus" || die "the reply-corpus world did not come up (see $run/world)"
note "world up in namespace $RW_NS: $RW_BATCHES batches"

now() { date +%s.%N; }
declare -A secs=()
t0=$(now)
rw_verify "$BC_BIN" "$run" "$JOBS"
t1=$(now)
secs[bouncecheck]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
for ((k = 0; k < RW_BATCHES; k++)); do
  [[ $(cat "$run/verify-$k.rc") == 0 ]] ||
    { tail -n 5 "$run/verify-$k.out" >&2; die "bouncecheck verify exited $(cat "$run/verify-$k.rc") on batch $k"; }
done
# bouncecheck's NDJSON rows -> {"email", "status", "reason"}
cat "$run"/result-*.ndjson | $PY -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        r = json.loads(line)["result"]
        print(json.dumps({"email": r["email"], "status": r["status"], "reason": r["reason"]}))
' >"$run/bouncecheck.jsonl" || die "bouncecheck's output is malformed"

cut -f2 "$run/world/plan.tsv" >"$run/addresses.txt"
for p in "${peers[@]}"; do
  t0=$(now)
  rw_exec env BENCH_NODE_MODULES="$deps/node_modules" node "$here/peers.js" "$p" \
    "$run/addresses.txt" "$run/$p.jsonl" verify@bcreplies.net >"$run/$p.out" 2>"$run/$p.stderr" ||
    { tail -n 20 "$run/$p.stderr" >&2; die "$p failed (logs in $run)"; }
  t1=$(now)
  secs[$p]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
done

# --- report --------------------------------------------------------------------------
echo "Accuracy: each verifier on the same $(wc -l <"$run/addresses.txt") addresses, each answered at RCPT"
echo "by its corpus reply (scripted server, NSD, one namespace; MX names of the providers' real patterns)."
echo "bouncecheck: $BC_BIN verify -i (greylist schedule 1 s, timeout 8 s)"
for p in "${peers[@]}"; do echo "peer: $p ${pin[$p]} (npm) on node $(node --version)"; done
echo
printf '  %-22s %-48s %-22s %s\n' verifier "false undeliverable (non-mailbox replies)" "right" seconds
for v in bouncecheck "${peers[@]}"; do
  $PY "$repo/tests/replies/compare.py" --table "$v" "$run/world/plan.tsv" "$run/$v.jsonl" >"$run/table-$v.txt"
  fu=$(sed -n 's/^false undeliverable (non-mailbox replies called undeliverable): //p' "$run/table-$v.txt")
  ri=$(sed -n 's/^right: //p' "$run/table-$v.txt")
  printf '  %-22s %-48s %-22s %s\n' "$v" "$fu" "$ri" "${secs[$v]}"
done
for v in bouncecheck "${peers[@]}"; do
  echo
  cat "$run/table-$v.txt"
done
echo
echo "Speed of bc_smtp_classify():"
sed 's/^/  /' "$run/classify.out"

if [[ ${BENCH_STRICT:-0} == 1 ]]; then
  [[ $speed_met == met ]] || { note "the speed goal was missed"; exit 3; }
  grep -q '^false undeliverable (non-mailbox replies called undeliverable): 0 of' "$run/table-bouncecheck.txt" ||
    { note "bouncecheck called non-mailbox replies undeliverable"; exit 3; }
fi
exit 0

#!/usr/bin/env bash
# run.sh - the extraction benchmark (`make bench`): `bouncecheck extract FILE`
# against ripgrep with a common email pattern,
#   rg -o -N '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}' FILE
# on about 100 MB of generated mixed text (bench/extract/gen.py: prose, HTML,
# logs, CSV, code with version strings and image names, mail headers) whose
# true address set is known. Prints MB/s of each (best of RUNS, one core),
# the speed ratio bouncecheck/rg (goal >= 1x) and the precision and recall
# of each against the known set. Both outputs are deduplicated and compared
# case-insensitively (bouncecheck prints one address per case-insensitive
# local part and lower-case A-label domain, so the answer key is folded the
# same way).
#
# Environment:
#   BUILD               bouncecheck Meson build dir (default: <repo>/build)
#   BC_BIN              the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_EXTRACT_MB    size of the input in MB (default 100)
#   SEED                generator seed (default 20240601)
#   RUNS                timed runs per tool (default 3)
#   BENCH_CPU           core to pin both tools to (default 0)
#   BENCH_STRICT        when 1, exit 3 when the speed goal is missed
# The input and its answer key are cached in bench/.cache/ under a name
# holding MB, SEED and a hash of gen.py; the outputs of the last run stay in
# bench/.cache/extract-last/. Any failure exits non-zero with a message.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
MB=${BENCH_EXTRACT_MB:-100}
SEED=${SEED:-20240601}
RUNS=${RUNS:-3}
CPU=${BENCH_CPU:-0}
PY=/usr/bin/python3
PATTERN='[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}'
cache=$bench/.cache
last=$cache/extract-last

die() { echo "extract/run.sh: error: $*" >&2; exit 1; }
note() { echo "extract/run.sh: $*" >&2; }

[[ $MB =~ ^[1-9][0-9]*$ ]] || die "BENCH_EXTRACT_MB must be a positive integer, got '$MB'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"

# --- tools -------------------------------------------------------------------
if ! command -v rg >/dev/null; then
  note "installing ripgrep"
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q ripgrep >&2; then
    "${sudo[@]}" apt-get update -q >&2 || die "apt-get update failed"
    "${sudo[@]}" apt-get install -y -q ripgrep >&2 || die "apt-get install ripgrep failed"
  fi
fi
rg_version=$(rg --version | head -n 1)
[[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"
have_bc=1
if ! "$BC_BIN" extract --help >/dev/null 2>&1; then
  note "WARNING: $BC_BIN has no 'extract' command: only ripgrep is measured"
  have_bc=0
fi

# --- input -------------------------------------------------------------------
mkdir -p "$cache" "$last"
gen_key=$(sha256sum "$here/gen.py" | cut -c1-12)
input=$cache/extract-$MB-$SEED-$gen_key.txt
truth=$cache/extract-$MB-$SEED-$gen_key.truth
if [[ ! -f $input || ! -f $truth ]]; then
  note "generating $MB MB into $input"
  $PY "$here/gen.py" "$input.tmp" "$truth.tmp" "$MB" "$SEED" || { rm -f "$input.tmp" "$truth.tmp"; die "gen.py failed"; }
  mv "$truth.tmp" "$truth"
  mv "$input.tmp" "$input"
fi
bytes=$(stat -c %s "$input")
[[ -s $truth ]] || die "$truth is empty (delete it and retry)"

# --- runs --------------------------------------------------------------------
# run_tool NAME CMD... : runs CMD (output to $last/NAME.out) $RUNS times on core
# $CPU and sets best_s[NAME]; the output must be the same every time.
declare -A best_s
run_tool() {
  local name=$1; shift
  local out=$last/$name.out errf=$last/$name.stderr r t0 t1 s best= sum=
  for ((r = 1; r <= RUNS; r++)); do
    t0=$(date +%s.%N)
    if ! taskset -c "$CPU" "$@" >"$out" 2>"$errf"; then
      cat "$errf" >&2
      die "$name failed (run $r): command: $*"
    fi
    t1=$(date +%s.%N)
    s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    note "$name run $r/$RUNS: ${s}s"
    if [[ -z $best ]] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$s; fi
    local h
    h=$(sha256sum <"$out" | cut -c1-16)
    if [[ -z $sum ]]; then sum=$h
    elif [[ $h != "$sum" ]]; then die "$name is not deterministic: its output changed in run $r"
    fi
  done
  if [[ -s $errf ]]; then sed "s/^/  [$name] /" "$errf" >&2; fi
  best_s[$name]=$best
}

note "MB=$MB seed=$SEED runs=$RUNS core=$CPU input=$input ($bytes bytes)"
# The page cache holds the input for both tools alike.
cat "$input" >/dev/null
((have_bc)) && run_tool bouncecheck "$BC_BIN" extract "$input"
run_tool ripgrep rg -o -N "$PATTERN" "$input"

# --- report ------------------------------------------------------------------
mbps() { awk -v n="$bytes" -v s="$1" 'BEGIN { if (s <= 0) s = 1e-9; printf "%.0f", n / 1048576 / s }'; }
score() { # score NAME -> "found precision recall" against the answer key
  $PY - "$truth" "$last/$1.out" <<'PYEOF'
import sys
key = {l.strip().lower() for l in open(sys.argv[1], encoding="utf-8") if l.strip()}
got = {l.strip().lower() for l in open(sys.argv[2], encoding="utf-8", errors="replace") if l.strip()}
hit = len(key & got)
print(len(got), "%.4f" % (hit / len(got) if got else 0.0), "%.4f" % (hit / len(key)), len(key))
with open(sys.argv[2] + ".false-positives", "w", encoding="utf-8") as f:
    f.writelines(a + "\n" for a in sorted(got - key))
with open(sys.argv[2] + ".missed", "w", encoding="utf-8") as f:
    f.writelines(a + "\n" for a in sorted(key - got))
PYEOF
}
read -r _ _ _ known < <(score ripgrep) || die "scoring failed"
printf '\nExtraction: %s MB of mixed text, %s distinct true addresses (case-folded), best of %s runs on core %s\n' \
  "$(awk -v n="$bytes" 'BEGIN { printf "%.1f", n / 1048576 }')" "$known" "$RUNS" "$CPU"
printf '%-12s %10s %8s %10s %10s %8s\n' tool seconds MB/s distinct precision recall
tools=(ripgrep)
((have_bc)) && tools=(bouncecheck ripgrep)
for t in "${tools[@]}"; do
  read -r found prec rec _ < <(score "$t") || die "scoring $t failed"
  printf '%-12s %10s %8s %10s %10s %8s\n' "$t" "${best_s[$t]}" "$(mbps "${best_s[$t]}")" "$found" "$prec" "$rec"
done
printf 'ripgrep: %s, pattern %s\n' "$rg_version" "$PATTERN"
printf 'false positives and misses of each: %s/*.false-positives, *.missed\n' "$last"
if ((have_bc)); then
  ratio=$(awk -v a="${best_s[bouncecheck]}" -v b="${best_s[ripgrep]}" 'BEGIN { if (a <= 0) a = 1e-9; printf "%.2f", b / a }')
  ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.0) ? "met" : "MISSED" }')
  printf 'speed ratio bouncecheck/ripgrep: %sx (goal >= 1x: %s)\n' "$ratio" "$ok"
  if [[ $ok != met && ${BENCH_STRICT:-0} == 1 ]]; then exit 3; fi
else
  printf 'bouncecheck: not measured (no extract command in %s)\n' "$BC_BIN"
fi

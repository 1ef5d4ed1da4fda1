#!/usr/bin/env bash
# run.sh - the side-by-side address syntax benchmark (`make bench`).
#
# Times libbouncecheck's bc_addr_parse() against two popular validators on
# the same seeded input, each pinned to one CPU core, and prints throughput,
# ratios against the project's goals, peak RSS and how often the peers
# classify an address differently from bouncecheck.
#
# Environment:
#   BUILD   bouncecheck Meson build dir (default: <repo>/build)
#   N       number of addresses (default 1000000)
#   RUNS    runs per tool; the best is used for ratios (default 3)
#   SEED    generator seed (default 20240601)
#   BENCH_CPU     the core to pin to (default 0)
#   BENCH_STRICT  when 1, exit 3 if a ratio misses its goal
# Any failure of a tool, a peer install or a result check exits non-zero
# with a message naming what failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
N=${N:-1000000}
RUNS=${RUNS:-3}
SEED=${SEED:-20240601}
CPU=${BENCH_CPU:-0}
PY=/usr/bin/python3
cache=$bench/.cache
deps=$bench/.deps

die() { echo "run.sh: error: $*" >&2; exit 1; }
note() { echo "run.sh: $*" >&2; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive integer, got '$N'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "SEED must be a non-negative integer, got '$SEED'"

# --- tools -------------------------------------------------------------------
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux)"
command -v node >/dev/null || die "node not found (apt-get install nodejs)"
command -v npm >/dev/null || die "npm not found (apt-get install npm)"
taskset -c "$CPU" true 2>/dev/null || die "cannot pin to CPU $CPU (set BENCH_CPU)"

# --- bouncecheck -------------------------------------------------------------
bc_bin=$BUILD/bench/bench_syntax
if [[ -f $BUILD/build.ninja ]]; then
  ninja -C "$BUILD" bench/bench_syntax >/dev/null || die "ninja -C $BUILD bench/bench_syntax failed"
fi
[[ -x $bc_bin ]] || die "$bc_bin not found: build first (make build, or set BUILD)"
addr_c=$repo/src/lib/syntax/addr.c
if [[ -f $addr_c ]] && { [[ $(wc -l <"$addr_c") -le 100 ]] || grep -q 'STUB' "$addr_c"; }; then
  note "WARNING: src/lib/syntax/addr.c looks like a stub: bouncecheck figures are meaningless"
fi

# --- peer 1: python3-email-validator (Debian) ----------------------------------
pkg_status=$(dpkg-query -W -f='${db:Status-Status}' python3-email-validator 2>/dev/null || true)
if [[ $pkg_status != installed ]]; then
  note "installing python3-email-validator"
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo[@]}" apt-get install -y -q python3-email-validator >&2; then
    "${sudo[@]}" apt-get update -q >&2 || die "apt-get update failed"
    "${sudo[@]}" apt-get install -y -q python3-email-validator >&2 ||
      die "apt-get install python3-email-validator failed"
  fi
fi
pyev_version=$(dpkg-query -W -f='${Version}' python3-email-validator) ||
  die "python3-email-validator is still not installed"
$PY -c 'import email_validator' 2>/dev/null || die "$PY cannot import email_validator"

# --- peer 2: validator.js (npm, pinned by bench/package-lock.json) ------------
# The peer, exactly as the committed lock pins it (bench/npm_peer.sh).
# shellcheck source=bench/npm_peer.sh
. "$bench/npm_peer.sh"
npm_peer validator
vjs_have=$peer_version vjs_integrity=$peer_integrity

# --- input -------------------------------------------------------------------
mkdir -p "$cache"
gen_key=$(sha256sum "$here/gen.py" | cut -c1-12)
input=$cache/addresses-$N-$SEED-$gen_key.txt
if [[ ! -f $input ]]; then
  note "generating $N addresses into $input"
  $PY "$here/gen.py" "$input.tmp" "$N" "$SEED" || { rm -f "$input.tmp"; die "gen.py failed"; }
  mv "$input.tmp" "$input"
fi
lines=$(wc -l <"$input")
[[ $lines -eq $N ]] || die "$input has $lines lines, expected $N (delete it and retry)"

# --- runs --------------------------------------------------------------------
# run_tool NAME CMD... : runs CMD INPUT VERDICTS $RUNS times on core $CPU,
# checks every result line, and sets best_s[NAME], median_s[NAME],
# valid[NAME], rss_kb[NAME] (max over runs); verdicts go to $cache/NAME.verdicts.
declare -A best_s median_s valid rss_kb
run_tool() {
  local name=$1; shift
  local vfile=$cache/$name.verdicts rssf=$cache/$name.rss errf=$cache/$name.stderr
  local times=() r out got_name got_n got_valid got_s rss maxrss=0 first_valid=
  for ((r = 1; r <= RUNS; r++)); do
    rm -f "$vfile" "$rssf"
    if ! out=$(/usr/bin/time -f %M -o "$rssf" taskset -c "$CPU" "$@" "$input" "$vfile" 2>"$errf"); then
      cat "$errf" >&2
      die "$name failed (run $r): command: $*"
    fi
    read -r got_name got_n got_valid got_s <<<"$out" || true
    [[ $got_name == "$name" && $got_n =~ ^[0-9]+$ && $got_valid =~ ^[0-9]+$ &&
       $got_s =~ ^[0-9]+(\.[0-9]+)?$ ]] || { cat "$errf" >&2; die "$name printed an unexpected line: '$out'"; }
    [[ $got_n -eq $N ]] || die "$name read $got_n addresses, expected $N"
    [[ $(stat -c %s "$vfile") -eq $N ]] || die "$name wrote a verdict file of the wrong size"
    if [[ -z $first_valid ]]; then first_valid=$got_valid
    elif [[ $got_valid -ne $first_valid ]]; then
      die "$name is not deterministic: $first_valid valid, then $got_valid"
    fi
    rss=$(tail -n 1 "$rssf")
    [[ $rss =~ ^[0-9]+$ ]] || die "could not read peak RSS of $name from /usr/bin/time"
    ((rss > maxrss)) && maxrss=$rss
    times+=("$got_s")
    note "$name run $r/$RUNS: ${got_s}s"
  done
  if [[ -s $errf ]]; then sed "s/^/  [$name] /" "$errf" >&2; fi
  local sorted
  sorted=$(printf '%s\n' "${times[@]}" | sort -g)
  best_s[$name]=$(head -n 1 <<<"$sorted")
  median_s[$name]=$(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted")
  valid[$name]=$first_valid
  rss_kb[$name]=$maxrss
}

note "N=$N seed=$SEED runs=$RUNS core=$CPU input=$input"
run_tool bouncecheck "$bc_bin"
run_tool python-email-validator "$PY" "$here/peer_email_validator.py"
run_tool validator.js node "$here/peer_validator.js"

# --- report ------------------------------------------------------------------
rate() { awk -v n="$N" -v s="$1" 'BEGIN { if (s <= 0) s = 1e-9; printf "%.0f", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a <= 0) a = 1e-9; printf "%.1f", b / a }'; }

echo
echo "Address syntax benchmark: $N addresses (seed $SEED), one core (taskset -c $CPU), best of $RUNS"
echo "CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
echo "Peers: python3-email-validator $pyev_version (Debian, $($PY -c 'import platform; print("Python", platform.python_version())')),"
echo "       validator $vjs_have (npm, $vjs_integrity) on node $(node --version)"
echo
printf '%-24s %14s %14s %10s %12s %12s\n' name "addresses/s" "median addr/s" valid "valid %" "peak RSS"
for t in bouncecheck python-email-validator validator.js; do
  printf '%-24s %14s %14s %10s %11.1f%% %9.1f MB\n' "$t" "$(rate "${best_s[$t]}")" \
    "$(rate "${median_s[$t]}")" "${valid[$t]}" \
    "$(awk -v v="${valid[$t]}" -v n="$N" 'BEGIN { print 100 * v / n }')" \
    "$(awk -v k="${rss_kb[$t]}" 'BEGIN { print k / 1024 }')"
done
echo
r_py=$(ratio "${best_s[bouncecheck]}" "${best_s[python-email-validator]}")
r_js=$(ratio "${best_s[bouncecheck]}" "${best_s[validator.js]}")
goal() { awk -v r="$1" -v g="$2" 'BEGIN { print (r >= g) ? "met" : "NOT met" }'; }
echo "bouncecheck / python-email-validator = ${r_py}x (goal >= 20x: $(goal "$r_py" 20))"
echo "bouncecheck / validator.js = ${r_js}x (goal >= 5x: $(goal "$r_js" 5))"
echo

# Agreement: per-address verdicts, compared outside any timing.
echo "Agreement with bouncecheck (information only: each tool has its own rules):"
$PY - "$input" "$cache" <<'EOF' || die "agreement comparison failed"
import sys
inp, cache = sys.argv[1], sys.argv[2]
bc = open(f"{cache}/bouncecheck.verdicts", "rb").read()
lines = None
for peer in ("python-email-validator", "validator.js"):
    pv = open(f"{cache}/{peer}.verdicts", "rb").read()
    if len(pv) != len(bc):
        sys.exit(f"{peer}: verdict count {len(pv)} != {len(bc)}")
    diff = [i for i in range(len(bc)) if bc[i] != pv[i]]
    only_bc = [i for i in diff if bc[i] == 0x31]
    only_peer = [i for i in diff if pv[i] == 0x31]
    print(f"  {peer:24s} differs on {len(diff)} ({100 * len(diff) / len(bc):.2f}%): "
          f"{len(only_bc)} valid only for bouncecheck, {len(only_peer)} valid only for {peer}")
    if diff:
        if lines is None:
            with open(inp, encoding="utf-8", newline="") as f:
                lines = f.read().split("\n")
        out = f"{cache}/disagree-{peer}.txt"
        with open(out, "w", encoding="utf-8") as f:
            for i in diff:
                f.write(("bouncecheck-only\t" if bc[i] == 0x31 else "peer-only\t") + lines[i] + "\n")
        for label, idx in (("bouncecheck-only", only_bc), ("peer-only", only_peer)):
            if idx:
                print(f"    e.g. {label}: " + "  ".join(repr(lines[i]) for i in idx[:3]))
        print(f"    all listed in {out}")
EOF

if [[ ${valid[bouncecheck]} -eq 0 ]]; then
  note "WARNING: bouncecheck found no valid address at all: is bc_addr_parse still a stub?"
fi
if [[ ${BENCH_STRICT:-0} == 1 ]]; then
  [[ $(goal "$r_py" 20) == met && $(goal "$r_js" 5) == met ]] || { note "a goal was missed"; exit 3; }
fi

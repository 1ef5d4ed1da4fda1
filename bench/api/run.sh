#!/usr/bin/env bash
# run.sh - the HTTP API benchmark (`make bench`): wrk against
# `bouncecheck serve --offline` and against a peer doing the same job over
# HTTP, side by side in one run, results as ratios.
#
# Servers (each on a free loopback port, data in a fresh temporary dir):
#   bouncecheck  `bouncecheck serve --listen 127.0.0.1:PORT --data DIR --offline`,
#                twice: one open (no API key), one whose DIR holds a key made by
#                `bouncecheck keys create` (no --rate/--daily: no limit)
#   peer         bench/api/peer_server.js: node's http module, validator.js
#                isEmail() + deep-email-validator's offline checks (regex, typo,
#                disposable), an in-memory Map cache; twice too, one with
#                BENCH_PEER_KEY (Bearer key, SHA-256 looked up in a Map)
# Both sides answer GET /v1/verify?email=ADDR with a JSON result carrying
# "cached": true|false. bench/api/warm.py requests each server's address list
# once (so it is cached), checks that a second request answers "cached": true
# and that a new address answers "cached": false, then true.
#
# Cases, each measured with `wrk -t1 -cCONNS -dDURATION --latency -s verify.lua`:
#   cached         the ~10k warm addresses, round and round (cache hits)
#   cached+key     the same with "Authorization: Bearer KEY" (the cost of auth)
#   uncached       a new address every request (verify.lua "unique" mode: a
#                  list address with a per-run tag and a counter appended), so
#                  every request is an offline verification plus a cache write
#   uncached+key   the same with the key
# /metrics' bouncecheck_cache_hits_total / _misses_total (the peer serves the
# same two names) are read before and after each run and printed, so the
# hit/miss split of every run is visible.
#
# On a 2-core machine wrk's one thread is pinned to one core and the server to
# the other (taskset), so neither steals the other's CPU: each server gets one
# core. BENCH_API_PIN=0 leaves placement to the kernel.
#
# Prints a table (case, requests/s and p99 of each side, ratio = bouncecheck /
# peer) and "goal: >= 20000 req/s cached: met|not met".
#
# Environment:
#   BUILD             bouncecheck Meson build dir (default: <repo>/build)
#   BC_BIN            the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_API_N       addresses in the warm list (default 10000)
#   BENCH_API_DURATION  wrk -d (default 10s)
#   BENCH_API_CONNS   wrk -c (default 64)
#   BENCH_API_RUNS    rounds (default 3); a round runs every case on both
#                     sides, one after the other; the table shows each side's
#                     best round (highest requests/s, with that run's p99)
#   BENCH_API_WARMUP  an uncounted wrk run over the warm list per server before
#                     the cases (default 3s; 0: none)
#   BENCH_API_CASES   which cases (default "cached cached+key uncached uncached+key")
#   BENCH_API_SEED    list generator seed (default 20240601)
#   BENCH_API_PIN     1 (default): pin wrk to BENCH_API_WRK_CPU (0) and the
#                     servers to BENCH_API_SERVER_CPU (1); 0: no pinning
#   BENCH_API_BC=0    peer only (no bouncecheck columns, no goal line)
#   BENCH_API_PEER=0  bouncecheck only
#   BENCH_STRICT      when 1, exit 3 when the goal is missed
# Any failure (a server not starting, a wrong answer, errors in a wrk run)
# exits non-zero with a message. wrk's full output and the server logs of the
# last run stay in bench/.cache/api-last/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
N=${BENCH_API_N:-10000}
DURATION=${BENCH_API_DURATION:-10s}
CONNS=${BENCH_API_CONNS:-64}
RUNS=${BENCH_API_RUNS:-3}
WARMUP=${BENCH_API_WARMUP:-3s}
CASES=${BENCH_API_CASES:-cached cached+key uncached uncached+key}
SEED=${BENCH_API_SEED:-20240601}
PIN=${BENCH_API_PIN:-1}
WRK_CPU=${BENCH_API_WRK_CPU:-0}
SERVER_CPU=${BENCH_API_SERVER_CPU:-1}
DO_BC=${BENCH_API_BC:-1}
DO_PEER=${BENCH_API_PEER:-1}
GOAL=20000
PY=/usr/bin/python3
cache=$bench/.cache
deps=$bench/.deps

die() { echo "api/run.sh: error: $*" >&2; exit 1; }
note() { echo "api/run.sh: $*" >&2; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "BENCH_API_N must be a positive integer, got '$N'"
[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_API_CONNS must be a positive integer, got '$CONNS'"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_API_RUNS must be a positive integer, got '$RUNS'"
[[ "$DURATION" =~ ^[1-9][0-9]*[smh]?$ ]] || die "BENCH_API_DURATION must look like 10s, got '$DURATION'"
[[ "$WARMUP" == 0 || "$WARMUP" =~ ^[1-9][0-9]*[smh]?$ ]] ||
  die "BENCH_API_WARMUP must look like 3s (or 0), got '$WARMUP'"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "BENCH_API_SEED must be a non-negative integer"
for c in $CASES; do
  case $c in
    cached | cached+key | uncached | uncached+key) ;;
    *) die "unknown case '$c' in BENCH_API_CASES (cached cached+key uncached uncached+key)" ;;
  esac
done
[[ $DO_BC != 0 || $DO_PEER != 0 ]] || die "BENCH_API_BC=0 and BENCH_API_PEER=0: nothing to measure"

# --- tools -------------------------------------------------------------------
for t in wrk curl; do
  command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh bench)"
done
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
pin_wrk=() pin_srv=()
if [[ $PIN != 0 ]]; then
  command -v taskset >/dev/null || die "taskset not found (apt-get install util-linux), or BENCH_API_PIN=0"
  if (($(nproc) < 2)); then
    note "one CPU only: not pinning (wrk and the servers share it)"
  else
    pin_wrk=(taskset -c "$WRK_CPU") pin_srv=(taskset -c "$SERVER_CPU")
  fi
fi

if [[ $DO_BC != 0 ]]; then
  if [[ $BC_BIN == "$BUILD/bouncecheck" && -f $BUILD/build.ninja ]]; then
    ninja -C "$BUILD" bouncecheck >/dev/null || die "ninja -C $BUILD bouncecheck failed"
  fi
  [[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"
  "$BC_BIN" serve --help >/dev/null 2>&1 ||
    die "$BC_BIN has no working 'serve' command (BENCH_API_BC=0 measures the peer alone)"
fi
if [[ $DO_PEER != 0 ]]; then
  for t in node npm; do
    command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh bench)"
  done
  # shellcheck source=bench/npm_peer.sh
  . "$bench/npm_peer.sh"
  npm_peer validator
  val_version=$peer_version
  npm_peer deep-email-validator
  dev_version=$peer_version
fi

# --- the address list ----------------------------------------------------------
# "local<TAB>domain" lines (verify.lua appends to the local part in "unique"
# mode); about 90% valid: names, digits, role accounts, free-mail, company,
# disposable and misspelt domains, IDN domains; about 10% with one typical
# syntax mistake. Every address differs (an index in it).
run=$cache/api-last
rm -rf "$run"
mkdir -p "$run"
list=$run/addresses.tsv
$PY - "$list" "$N" "$SEED" <<'EOF' || die "generating the address list failed"
import random, sys
out, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
first = ["anna", "ben", "carla", "dev", "emma", "felix", "grace", "hugo", "iris", "jonas",
         "kim", "leo", "maria", "noah", "olga", "paul", "rita", "sam", "tara", "yusuf"]
last = ["meyer", "smith", "garcia", "kowalski", "rossi", "nguyen", "dubois", "tanaka"]
roles = ["info", "sales", "support", "admin", "contact", "billing"]
free = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "web.de", "proton.me", "gmx.net"]
company = ["acme-corp.com", "example-shop.de", "northwind.io", "contoso.co.uk", "bücher.example"]
disposable = ["mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com"]
typo = ["gmial.com", "hotmial.com", "yaho.com", "outlok.com", "gmail.con"]
bad = [("{a}..{b}{i}", "{d}"), (".{a}{i}", "{d}"), ("{a}{i}.", "{d}"), ("{a} {b}{i}", "{d}"),
       ("{a}{i}", "{a}"), ("{a}{i}", "-{d}"), ("{a}{i}", "{a}..com"), ("{a}({i})", "{d}")]
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        a, b = rng.choice(first), rng.choice(last)
        r = rng.random()
        if r < 0.10:
            lf, df = rng.choice(bad)
            d = rng.choice(free + company)
            local, domain = lf.format(a=a, b=b, i=i, d=d), df.format(a=a, b=b, i=i, d=d)
        elif r < 0.45:
            local, domain = rng.choice([f"{a}.{b}{i}", f"{a}{i}", f"{a[0]}{b}{i}"]), rng.choice(free)
        elif r < 0.70:
            local, domain = f"{a}.{b}", f"{i}.{rng.choice(company)}"
        elif r < 0.78:
            local, domain = rng.choice(roles), f"{i}.{rng.choice(company)}"
        elif r < 0.88:
            local, domain = f"{a}{i}", rng.choice(disposable)
        else:
            local, domain = f"{a}.{b}{i}", rng.choice(typo)
        f.write(f"{local}\t{domain}\n")
EOF

# --- servers -------------------------------------------------------------------
pids=()
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -z ${tmp:-} ]] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bcapi.XXXXXX")

# A free TCP port on 127.0.0.1 (bound and released; nothing else here takes it).
free_port() {
  $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_up NAME PID PORT: waits up to 20 s for GET /healthz to answer 200.
wait_up() {
  local name=$1 pid=$2 port=$3 i
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || {
      tail -n 20 "$run/$name.log" >&2
      die "$name exited before answering /healthz (log: $run/$name.log)"
    }
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  die "$name did not answer GET /healthz on port $port within 20 s (log: $run/$name.log)"
}

declare -A port key
bench_key=""
if [[ $DO_BC != 0 ]]; then
  mkdir -p "$tmp/bc-open" "$tmp/bc-key"
  # No --rate/--daily: the key has no rate limit and no daily quota.
  out=$("$BC_BIN" keys create --name bench --data "$tmp/bc-key" 2>"$run/keys-create.log") ||
    { cat "$run/keys-create.log" >&2; die "bouncecheck keys create failed"; }
  bc_key=${out%%$'\n'*}
  [[ $bc_key =~ ^bck_[A-Za-z0-9_-]{43}$ ]] ||
    die "bouncecheck keys create printed '$bc_key', not a key (bck_ + 43 base64url characters)"
  bench_key=$bc_key
  for s in bc-open bc-key; do
    port[$s]=$(free_port)
    "${pin_srv[@]}" "$BC_BIN" serve --listen "127.0.0.1:${port[$s]}" --data "$tmp/$s" --offline \
      >"$run/$s.log" 2>&1 &
    pids+=($!)
    wait_up "$s" $! "${port[$s]}"
  done
  key[bc-open]="" key[bc-key]=$bc_key
fi
if [[ $DO_PEER != 0 ]]; then
  # The peer's key has bouncecheck's shape; any string works.
  [[ -n $bench_key ]] || bench_key=bck_$($PY -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
  for s in peer-open peer-key; do
    port[$s]=$(free_port)
    if [[ $s == peer-key ]]; then
      BENCH_PEER_KEY=$bench_key "${pin_srv[@]}" node "$here/peer_server.js" "${port[$s]}" \
        >"$run/$s.log" 2>&1 &
    else
      env -u BENCH_PEER_KEY "${pin_srv[@]}" node "$here/peer_server.js" "${port[$s]}" \
        >"$run/$s.log" 2>&1 &
    fi
    pids+=($!)
    wait_up "$s" $! "${port[$s]}"
  done
  key[peer-open]="" key[peer-key]=$bench_key
fi

# Auth really is required where a key exists: no key must be 401.
for s in bc-key peer-key; do
  [[ -n ${port[$s]:-} ]] || continue
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port[$s]}/v1/verify?email=a%40b.example")
  [[ $code == 401 ]] || die "$s answered $code without a key, want 401"
done

servers=()
for s in bc-open bc-key peer-open peer-key; do
  [[ -n ${port[$s]:-} ]] && servers+=("$s")
done
for s in "${servers[@]}"; do
  msg=$($PY "$here/warm.py" "http://127.0.0.1:${port[$s]}" "$list" ${key[$s]:+"${key[$s]}"}) ||
    die "warming $s failed (log: $run/$s.log)"
  note "$s: $msg"
done

# --- measuring -------------------------------------------------------------------
# metric PORT NAME: the value of an unlabelled metric in GET /metrics ("?" if absent).
metric() {
  { curl -fsS --max-time 5 "http://127.0.0.1:$1/metrics" 2>/dev/null || true; } |
    awk -v m="$2" '$1 == m { v = $2 } END { print (v == "" ? "?" : v) }'
}

# measure SERVER CASE ROUND: one wrk run; sets rps, p99 (ms) and cachemsg.
measure() {
  local s=$1 c=$2 r=$3 mode tag out line h0 m0 h1 m1
  local -a hdr=()
  case $c in
    cached*) mode=list ;;
    *) mode=unique ;;
  esac
  # A tag per server, case and round: no address of an uncached run was
  # asked before.
  tag="z${s%%-*}${c//[^a-z]/}${r}x"
  [[ $c != *+key ]] || hdr=(-H "Authorization: Bearer ${key[$s]}")
  out=$run/wrk-$s-$c-$r.txt
  h0=$(metric "${port[$s]}" bouncecheck_cache_hits_total)
  m0=$(metric "${port[$s]}" bouncecheck_cache_misses_total)
  /usr/bin/time -f %P -o "$out.cpu" \
    "${pin_wrk[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${hdr[@]}" -s "$here/verify.lua" \
    "http://127.0.0.1:${port[$s]}" -- "$mode" "$list" "$tag" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed against $s ($c)"; }
  # wrk's own CPU use: near 100% of its core, the figure is wrk's limit.
  wrkcpu=$(tr -dc 0-9 <"$out.cpu")
  [[ -n $wrkcpu ]] || die "cannot read wrk's CPU use from $out.cpu"
  ((wrkcpu < 90)) || wrk_bound+=("$s $c (${wrkcpu}%)")
  h1=$(metric "${port[$s]}" bouncecheck_cache_hits_total)
  m1=$(metric "${port[$s]}" bouncecheck_cache_misses_total)
  line=$(grep '^WRKBENCH ' "$out") || { cat "$out" >&2; die "no WRKBENCH line in wrk's output ($s, $c)"; }
  read -r req dur p99us st ec er ew et < <(awk '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    print v["requests"], v["duration_us"], v["p99_us"], v["status"], v["connect"], v["read"],
          v["write"], v["timeout"] }' <<<"$line")
  [[ $req =~ ^[0-9]+$ && $dur =~ ^[0-9]+$ && $req -gt 0 ]] || die "cannot parse '$line' ($s, $c)"
  if ((st > 0)); then
    cat "$out" >&2
    die "$s answered $st of $req requests with an error status in case $c (wrk output: $out)"
  fi
  # Socket errors: a few at the end of a run are harmless, more than 1% are not.
  if ((ec + er + ew + et > req / 100)); then
    cat "$out" >&2
    die "$s: socket errors in case $c: connect $ec, read $er, write $ew, timeout $et of $req requests"
  fi
  ((ec + er + ew + et == 0)) || note "$s $c: socket errors: connect $ec, read $er, write $ew, timeout $et"
  rps=$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.0f", r / (d / 1e6) }')
  p99=$(awk -v u="$p99us" 'BEGIN { printf "%.2f", u / 1000 }')
  if [[ $h0 == "?" || $h1 == "?" || $m0 == "?" || $m1 == "?" ]]; then
    cachemsg="$s: $req requests (wrk CPU $wrkcpu%), cache metrics not available"
  else
    cachemsg=$(awk -v s="$s" -v r="$req" -v h0="$h0" -v h1="$h1" -v m0="$m0" -v m1="$m1" \
      -v w="$wrkcpu" \
      'BEGIN { printf "%s: %d requests (wrk CPU %d%%), cache hits %.0f, misses %.0f", s, r, w, h1 - h0, m1 - m0 }')
  fi
}

# A short wrk run over the warm list per server before measuring, not
# counted: node's JIT and both servers' allocators reach their steady state.
if [[ $WARMUP != 0 ]]; then
  for s in "${servers[@]}"; do
    hdr=()
    [[ -z ${key[$s]} ]] || hdr=(-H "Authorization: Bearer ${key[$s]}")
    "${pin_wrk[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" "${hdr[@]}" -s "$here/verify.lua" \
      "http://127.0.0.1:${port[$s]}" -- list "$list" >"$run/wrk-$s-warmup.txt" 2>&1 ||
      { cat "$run/wrk-$s-warmup.txt" >&2; die "wrk failed against $s (warm-up)"; }
  done
fi

declare -A res_rps res_p99
wrk_bound=()
for ((r = 1; r <= RUNS; r++)); do
  for c in $CASES; do
    for side in bc peer; do
      [[ $side == bc && $DO_BC == 0 || $side == peer && $DO_PEER == 0 ]] && continue
      s=$side-open
      [[ $c != *+key ]] || s=$side-key
      measure "$s" "$c" "$r"
      if ((rps > ${res_rps[$side/$c]:-0})); then
        res_rps[$side/$c]=$rps res_p99[$side/$c]=$p99
      fi
      note "round $r/$RUNS, $c: $cachemsg; $rps req/s, p99 $p99 ms"
    done
  done
done

# --- report ------------------------------------------------------------------------
echo
echo "== bench/api: GET /v1/verify, wrk -t1 -c$CONNS -d$DURATION --latency, best of $RUNS (--offline) =="
if [[ ${#pin_wrk[@]} -gt 0 ]]; then
  echo "wrk (one thread) on CPU $WRK_CPU, each server on CPU $SERVER_CPU of $(nproc)"
else
  echo "no CPU pinning: wrk and the servers share $(nproc) CPU(s)"
fi
[[ $DO_BC == 0 ]] || echo "bouncecheck: $("$BC_BIN" --version 2>/dev/null | head -n 1 || echo "$BC_BIN") serve --offline"
[[ $DO_PEER == 0 ]] ||
  echo "peer: node $(node --version) http + validator $val_version isEmail + deep-email-validator $dev_version (offline checks), Map cache"
echo
printf '%-14s %18s %8s %12s %8s %7s\n' case "bouncecheck req/s" "p99 ms" "peer req/s" "p99 ms" ratio
for c in $CASES; do
  br=${res_rps[bc/$c]:--} bp=${res_p99[bc/$c]:--} pr=${res_rps[peer/$c]:--} pp=${res_p99[peer/$c]:--}
  ratio=-
  [[ $br == - || $pr == - ]] || ratio=$(awk -v a="$br" -v b="$pr" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
  printf '%-14s %18s %8s %12s %8s %7s\n' "$c" "$br" "$bp" "$pr" "$pp" "$ratio"
done
echo "ratio: bouncecheck requests/s divided by the peer's"
echo "wrk output and server logs: $run"
if ((${#wrk_bound[@]} > 0)); then
  echo "warning: wrk used >= 90% of its CPU in: ${wrk_bound[*]}; there the figure is wrk's limit," \
    "not the server's (BENCH_API_PIN=0 or a faster machine)"
fi

missed=0
if [[ $DO_BC != 0 && -n ${res_rps[bc/cached]:-} ]]; then
  bc_cached=${res_rps[bc/cached]}
  if ((bc_cached >= GOAL)); then
    echo "goal: >= $GOAL req/s cached: met"
  else
    echo "goal: >= $GOAL req/s cached: not met"
    missed=1
  fi
fi
if [[ ${BENCH_STRICT:-0} == 1 && $missed -ne 0 ]]; then
  note "a goal was missed"
  exit 3
fi
exit 0

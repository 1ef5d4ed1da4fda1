#!/usr/bin/env bash
# run.sh - many distinct domains (`make bench`): how fast and in how much
# memory `bouncecheck verify -i LIST` gets through a list whose domains are
# all different and none of them exists.
#
#  online   ROWS rows over DOMAINS distinct domains that do not exist (two
#           addresses per domain by default), verified against NSD serving
#           only a root zone: every name gets a prompt NXDOMAIN with an SOA,
#           so every row must come back undeliverable/invalid_domain. Goals:
#           at least 3,000 domains/s and at most 100 MB peak RSS.
#  offline  OFFLINE_ROWS rows over OFFLINE_DOMAINS domains with --offline
#           (nothing goes over the network). Goal: at most 100 MB peak RSS.
#
# The world, inside a private network namespace (needs root):
#   11.25.0.53   NSD, authoritative for the root zone (SOA and NS only)
#
# Environment:
#   BUILD                        Meson build dir (default: <repo>/build)
#   BC_BIN                       the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_DOMAINS_ROWS           rows of the online run (default 200000)
#   BENCH_DOMAINS_DOMAINS        its distinct domains (default 100000)
#   BENCH_DOMAINS_OFFLINE_ROWS   rows of the offline run (default 1000000)
#   BENCH_DOMAINS_OFFLINE_DOMAINS its distinct domains (default 300000)
#   BENCH_DOMAINS_CASES          "online offline" (default), or one of them
#   BENCH_STRICT                 when 1, exit 3 if a goal is missed
# Without root (or NSD) the online run says why and is skipped; the script
# then exits 0. A broken run (a process failing, rows missing, a row that is
# not undeliverable/invalid_domain online) exits 1 with a message. Files of the
# last run stay in bench/.cache/domains-last/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
ROWS=${BENCH_DOMAINS_ROWS:-200000}
DOMAINS=${BENCH_DOMAINS_DOMAINS:-100000}
OFF_ROWS=${BENCH_DOMAINS_OFFLINE_ROWS:-1000000}
OFF_DOMAINS=${BENCH_DOMAINS_OFFLINE_DOMAINS:-300000}
CASES=${BENCH_DOMAINS_CASES:-online offline}
STRICT=${BENCH_STRICT:-0}
PY=/usr/bin/python3
DNS_IP=11.25.0.53
GOAL_RATE=3000
GOAL_RSS_MB=100

die() { echo "domains/run.sh: error: $*" >&2; exit 1; }
note() { echo "domains/run.sh: $*" >&2; }

for v in ROWS DOMAINS OFF_ROWS OFF_DOMAINS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done
((DOMAINS <= ROWS)) || die "BENCH_DOMAINS_DOMAINS ($DOMAINS) must not exceed BENCH_DOMAINS_ROWS ($ROWS)"
((OFF_DOMAINS <= OFF_ROWS)) || die "BENCH_DOMAINS_OFFLINE_DOMAINS must not exceed BENCH_DOMAINS_OFFLINE_ROWS"
for c in $CASES; do
  [[ $c == online || $c == offline ]] || die "BENCH_DOMAINS_CASES must hold 'online' and/or 'offline', got '$CASES'"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"

if [[ $BC_BIN == "$BUILD/bouncecheck" && -f $BUILD/build.ninja ]]; then
  ninja -C "$BUILD" bouncecheck >/dev/null || die "ninja -C $BUILD bouncecheck failed"
fi
[[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"

cache=$bench/.cache
run=$cache/domains-last
rm -rf "$run"
mkdir -p "$run"

# gen FILE ROWS DOMAINS - ROWS addresses, row i at domain i % DOMAINS, every
# domain a made-up .net name no zone holds (deterministic).
gen() {
  $PY - "$1" "$2" "$3" <<'EOF' || die "generating $1 failed"
import sys
path, rows, domains = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    for i in range(rows):
        f.write(f"user{i}@bcnx{i % domains:07d}-nowhere.net\n")
EOF
}

# check_out FILE ROWS ONLINE - the tally of (status, reason) in an NDJSON
# output; with ONLINE=1, fails unless every row is undeliverable/invalid_domain.
check_out() {
  $PY - "$@" <<'EOF'
import collections, json, sys
path, rows, online = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
tally = collections.Counter()
n = 0
with open(path) as f:
    for line in f:
        if not line.strip():
            continue
        o = json.loads(line)
        o = o.get("result", o)  # bulk NDJSON: {"line", "row", "result"}
        tally[(o.get("status"), o.get("reason"))] += 1
        n += 1
for (st, rs), c in tally.most_common():
    print(f"  {st}/{rs}: {c}")
bad = []
if n != rows:
    bad.append(f"{n} rows in the output, {rows} expected")
if online and set(tally) != {("undeliverable", "invalid_domain")}:
    bad.append("rows other than undeliverable/invalid_domain (every domain answers NXDOMAIN)")
if not online and set(s for s, _ in tally) != {"unknown"}:
    bad.append("--offline rows with a status other than unknown")
if bad:
    print("domains/run.sh: broken run: " + "; ".join(bad), file=sys.stderr)
    sys.exit(1)
EOF
}

# timed NAME CMD... - runs CMD under /usr/bin/time -v; sets SECS and RSS_KB.
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$run/$name.time" "$@" >"$run/$name.out" 2>"$run/$name.err" ||
    die "$name run failed (exit $?): $(tail -n 5 "$run/$name.err")"
  t1=$(date +%s.%N)
  SECS=$($PY -c "print(f'{$t1 - $t0:.2f}')")
  RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$run/$name.time")
}

verdict() { if [[ $1 == 1 ]]; then echo met; else echo missed; fi; }

missed=0
ran=0
summary=()

if [[ " $CASES " == *" online "* ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "domains/run.sh: online run skipped: it needs root (network namespace, NSD)"
  elif ! command -v nsd >/dev/null || ! command -v ip >/dev/null; then
    echo "domains/run.sh: online run skipped: nsd or ip not found (scripts/deps.sh bench)"
  else
    ns="bcdom-$$"
    nsd_pid=""
    # shellcheck disable=SC2317
    cleanup() {
      [[ -z $nsd_pid ]] || kill -TERM "$nsd_pid" 2>/dev/null || true
      [[ -z $nsd_pid ]] || wait "$nsd_pid" 2>/dev/null || true
      for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
      rm -rf "/etc/netns/$ns"
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    # shellcheck source=tests/world/wait_for.sh
    . "$repo/tests/world/wait_for.sh"

    ip netns add "$ns" || die "ip netns add $ns failed"
    ip -n "$ns" link set lo up || die "cannot bring lo up in $ns"
    ip -n "$ns" addr add "$DNS_IP/32" dev lo || die "ip addr add $DNS_IP"
    mkdir -p "/etc/netns/$ns" "$run/zones"
    echo "nameserver $DNS_IP" >"/etc/netns/$ns/resolv.conf"
    cat >"$run/nsd.conf" <<EOF
server:
    ip-address: $DNS_IP
    port: 53
    username: ""
    database: ""
    chroot: ""
    zonesdir: "$run/zones"
    zonelistfile: "$run/nsd.zonelist"
    xfrdfile: "$run/nsd.xfrd"
    xfrdir: "$run"
    pidfile: "$run/nsd.pid"
    logfile: "$run/nsd.log"
    server-count: 1
    verbosity: 1
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: .
    zonefile: root.zone
EOF
    # No response rate limiting: NSD's default (200 answers/s per client
    # /24 and zone) drops the NXDOMAINs past that rate, as an authoritative
    # server should against a flood, but a resolver serving its own client
    # does not; with it the run measures NSD's limit (see bench/README.md).
    # Only the root: ". NS" resolves and every other name is NXDOMAIN with
    # the root's SOA, as the real DNS answers for a name nobody registered.
    cat >"$run/zones/root.zone" <<EOF
\$ORIGIN .
\$TTL 3600
@   IN SOA ns.bcnx-root. hostmaster.bcnx-root. 1 3600 600 86400 60
@   IN NS  ns.bcnx-root.
EOF
    nsd-checkconf "$run/nsd.conf" >&2 || die "nsd-checkconf rejects $run/nsd.conf"
    ip netns exec "$ns" "$(command -v nsd)" -d -c "$run/nsd.conf" >"$run/nsd.out" 2>&1 </dev/null &
    nsd_pid=$!
    wait_for "$run/nsd.log" "nsd started" 10 || die "nsd did not start: $(cat "$run/nsd.log" "$run/nsd.out" 2>/dev/null)"

    note "online: $ROWS rows over $DOMAINS domains against NSD at $DNS_IP"
    gen "$run/online.txt" "$ROWS" "$DOMAINS"
    timed online ip netns exec "$ns" "$BC_BIN" verify --quiet --dns "$DNS_IP" -i "$run/online.txt" \
      -o "$run/online.ndjson" --state "$run/online.bcstate"
    echo "online: $ROWS rows, $DOMAINS domains, ${SECS} s, peak RSS $((RSS_KB / 1024)) MB"
    check_out "$run/online.ndjson" "$ROWS" 1 || die "online run broken (see $run)"
    rate=$($PY -c "print(int($DOMAINS / max($SECS, 0.001)))")
    ok_rate=$($PY -c "print(int($rate >= $GOAL_RATE))")
    ok_rss=$((RSS_KB <= GOAL_RSS_MB * 1024 ? 1 : 0))
    summary+=("online: $rate domains/s (goal >= $GOAL_RATE: $(verdict "$ok_rate"))")
    summary+=("online: peak RSS $((RSS_KB / 1024)) MB (goal <= $GOAL_RSS_MB MB: $(verdict "$ok_rss"))")
    ((ok_rate && ok_rss)) || missed=1
    ran=1
    cleanup
    trap - EXIT
  fi
fi

if [[ " $CASES " == *" offline "* ]]; then
  note "offline: $OFF_ROWS rows over $OFF_DOMAINS domains, --offline"
  gen "$run/offline.txt" "$OFF_ROWS" "$OFF_DOMAINS"
  timed offline "$BC_BIN" verify --quiet --offline -i "$run/offline.txt" -o "$run/offline.ndjson" \
    --state "$run/offline.bcstate"
  echo "offline: $OFF_ROWS rows, $OFF_DOMAINS domains, ${SECS} s, peak RSS $((RSS_KB / 1024)) MB"
  check_out "$run/offline.ndjson" "$OFF_ROWS" 0 || die "offline run broken (see $run)"
  ok_rss=$((RSS_KB <= GOAL_RSS_MB * 1024 ? 1 : 0))
  summary+=("offline: peak RSS $((RSS_KB / 1024)) MB (goal <= $GOAL_RSS_MB MB: $(verdict "$ok_rss"))")
  ((ok_rss)) || missed=1
  ran=1
fi

for line in "${summary[@]}"; do echo "$line"; done
((ran)) || exit 0
if ((missed)) && [[ $STRICT == 1 ]]; then
  exit 3
fi
exit 0

#!/usr/bin/env bash
# run.sh - the side-by-side verification benchmark (`make bench`).
#
# Verifies the same N addresses with `bouncecheck verify` and with npm
# deep-email-validator against ONE mail server that sits behind a WAN-like
# link (a latency proxy adding DELAY_MS one way, so 2*DELAY_MS per round
# trip), both tools held to the same number of concurrent connections. Prints
# addresses/s for each, the ratio (goal >= 15x), peak RSS, and how many
# answers each tool got right: a tool that answers wrongly is reported so,
# not just timed.
#
# The world, inside a private network namespace (needs root):
#   11.9.0.53  NSD, authoritative for bclab-bench.net (MX -> mx, mx A 11.9.0.25);
#              /etc/netns/NS/resolv.conf points there, so node's dns uses it too
#   11.9.0.25  tests/latency_proxy.py on port 25 -> 11.9.0.26:25, DELAY_MS one way
#   11.9.0.26  a private Postfix instance: virtual mailboxes for the existing
#              users (RCPT 250), "550 5.1.1 User unknown" for the others,
#              STARTTLS offered with a throw-away self-signed certificate
# Public-looking addresses, because BounceCheck refuses private MX targets
# without --allow-private; the namespace has no route anywhere else.
#
# Environment:
#   BUILD            bouncecheck Meson build dir (default: <repo>/build)
#   BENCH_VERIFY_N   number of addresses (default 2000), ~70% existing
#   BENCH_VERIFY_CONNS     connection cap for both tools (default 5)
#   BENCH_VERIFY_RPC       bouncecheck's --rcpts-per-connection (default: none,
#                    its adaptive default: 50 per connection until the server
#                    shows a limit); the SMTP sessions it opened are printed
#                    against the lower bound ceil(N / batch)
#   BENCH_VERIFY_DELAY_MS  one-way delay of the proxy (default 60)
#   BENCH_VERIFY_SEED      generator seed (default 20240601)
#   BENCH_VERIFY_PEER=0    skip deep-email-validator (bouncecheck only)
#   BENCH_VERIFY_PEER_N    time deep-email-validator on the first PEER_N
#                    addresses only (default N) and compare rates: the peer
#                    does ~9 addresses/s, so 10,000 of them take ~18 minutes
#   BENCH_VERIFY_INPUT=file  bouncecheck reads the list from a file
#                    (`verify -i addresses.txt -o bouncecheck.ndjson`: the bulk
#                    path with its SQLite state, timed with it) instead of
#                    taking the addresses on its command line (default: argv)
#   BENCH_VERIFY_HOLD=1    once the world is up, wait until $run/hold is
#                    removed (to look inside with ip netns exec), then go on
#   BC_BIN           the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_STRICT     when 1, exit 3 if the ratio misses its goal or a tool
#                    answered wrongly
# Without root it prints why and exits 0. Any failure of the world, a tool
# or an install exits non-zero with a message. Logs of the last run stay in
# bench/.cache/verify-last/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
N=${BENCH_VERIFY_N:-2000}
CONNS=${BENCH_VERIFY_CONNS:-5}
DELAY_MS=${BENCH_VERIFY_DELAY_MS:-60}
SEED=${BENCH_VERIFY_SEED:-20240601}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
RPC=${BENCH_VERIFY_RPC:-}   # --rcpts-per-connection; empty: bouncecheck's default
BATCH=${RPC:-50}             # the batch of that setting (BC_RCPTS_START in include/bouncecheck.h)
GOAL=15
PY=/usr/bin/python3
cache=$bench/.cache
deps=$bench/.deps
DOMAIN=bclab-bench.net
DNS_IP=11.9.0.53
PROXY_IP=11.9.0.25
MTA_IP=11.9.0.26
SENDER=bench@$DOMAIN

die() { echo "verify/run.sh: error: $*" >&2; exit 1; }
note() { echo "verify/run.sh: $*" >&2; }

[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "BENCH_VERIFY_N must be a positive integer, got '$N'"
[[ "$CONNS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_VERIFY_CONNS must be a positive integer, got '$CONNS'"
[[ -z "$RPC" || "$RPC" =~ ^[1-9][0-9]*$ ]] || die "BENCH_VERIFY_RPC must be empty or a positive integer, got '$RPC'"
rpc_args=()
[[ -n "$RPC" ]] && rpc_args=(--rcpts-per-connection "$RPC")
[[ "$DELAY_MS" =~ ^[0-9]+$ ]] || die "BENCH_VERIFY_DELAY_MS must be a non-negative integer"
[[ "$SEED" =~ ^[0-9]+$ ]] || die "BENCH_VERIFY_SEED must be a non-negative integer"
PEER_N=${BENCH_VERIFY_PEER_N:-$N}
if ! [[ "$PEER_N" =~ ^[1-9][0-9]*$ ]] || ((PEER_N > N)); then
  die "BENCH_VERIFY_PEER_N must be a positive integer <= BENCH_VERIFY_N ($N), got '$PEER_N'"
fi
INPUT=${BENCH_VERIFY_INPUT:-argv}
[[ $INPUT == argv || $INPUT == file ]] || die "BENCH_VERIFY_INPUT must be argv or file, got '$INPUT'"

if [[ $(id -u) -ne 0 ]]; then
  echo "verify/run.sh: skipped: the verification benchmark needs root (network namespace, NSD, Postfix)"
  exit 0
fi

# --- tools -------------------------------------------------------------------
for t in ip nsd nsd-checkconf postfix postconf openssl node npm; do
  command -v "$t" >/dev/null || die "$t not found (scripts/deps.sh bench)"
done
[[ -x $PY ]] || die "$PY not found (apt-get install python3)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"

# --- bouncecheck -------------------------------------------------------------
if [[ $BC_BIN == "$BUILD/bouncecheck" && -f $BUILD/build.ninja ]]; then
  ninja -C "$BUILD" bouncecheck >/dev/null || die "ninja -C $BUILD bouncecheck failed"
fi
[[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"

# --- peer: deep-email-validator (npm, pinned by bench/package-lock.json) ------
# The same private node_modules as bench/syntax/run.sh: npm ci installs
# exactly what the committed lock names and checks each tarball's integrity.
PEER=${BENCH_VERIFY_PEER:-1}
if [[ $PEER != 0 ]]; then
  # shellcheck source=bench/npm_peer.sh
  . "$bench/npm_peer.sh"
  npm_peer deep-email-validator
  dev_have=$peer_version dev_integrity=$peer_integrity
fi

# --- input -------------------------------------------------------------------
# addresses.tsv: "address<TAB>1" for an existing mailbox, "<TAB>0" for unknown.
run=$cache/verify-last
rm -rf "$run"
mkdir -p "$run"
chmod 755 "$cache" "$run"
$PY - "$run/addresses.tsv" "$N" "$SEED" "$DOMAIN" <<'EOF' || die "generating addresses failed"
import random, sys
out, n, seed, domain = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
first = ["anna", "ben", "carla", "dev", "emma", "felix", "grace", "hugo", "iris", "jonas",
         "kim", "leo", "maria", "noah", "olga", "paul", "rita", "sam", "tara", "yusuf"]
last = ["meyer", "smith", "garcia", "kowalski", "rossi", "nguyen", "dubois", "tanaka",
        "olsen", "silva", "novak", "jensen", "murphy", "schulz", "weber", "kaya"]
with open(out, "w") as f:
    for i in range(n):
        style = rng.randrange(4)
        a, b = rng.choice(first), rng.choice(last)
        local = (f"{a}.{b}{i}", f"{a}{i}", f"{a[0]}{b}{i}", f"{a}_{b}.{i}")[style]
        exists = 1 if rng.random() < 0.7 else 0
        f.write(f"{local}@{domain}\t{exists}\n")
EOF
cut -f1 "$run/addresses.tsv" > "$run/addresses.txt"
head -n "$PEER_N" "$run/addresses.txt" > "$run/peer-addresses.txt"
n_exist=$(awk -F'\t' '$2 == 1' "$run/addresses.tsv" | wc -l)
n_unknown=$((N - n_exist))
p_exist=$(head -n "$PEER_N" "$run/addresses.tsv" | awk -F'\t' '$2 == 1' | wc -l)
p_unknown=$((PEER_N - p_exist))

# --- the world ---------------------------------------------------------------
ns="bcbench-$$"
pids=()
pf=$run/postfix
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local p
  if [[ -f $pf/main.cf ]] && ip netns list 2>/dev/null | grep -qw "$ns"; then
    ip netns exec "$ns" postfix -c "$pf" stop >/dev/null 2>&1 || true
  fi
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # Anything else still inside the namespace (Postfix children) is ours too.
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nsx() { ip netns exec "$ns" "$@"; }
# bg NAME CMD... - starts CMD in the namespace, output in $run/NAME.out.
bg() {
  local name=$1; shift
  ip netns exec "$ns" "$@" >"$run/$name.out" 2>&1 </dev/null &
  pids+=("$!")
}
# shellcheck source=tests/world/wait_for.sh
. "$repo/tests/world/wait_for.sh"

note "network namespace $ns, N=$N ($n_exist existing, $n_unknown unknown), ${CONNS} connections, ${DELAY_MS} ms one way"
ip netns add "$ns" || die "ip netns add $ns failed"
ip -n "$ns" link set lo up || die "cannot bring lo up in $ns"
# /32s on lo: the kernels here have no dummy interface type.
for a in $DNS_IP $PROXY_IP $MTA_IP; do
  ip -n "$ns" addr add "$a/32" dev lo || die "ip addr add $a"
done
mkdir -p "/etc/netns/$ns"
echo "nameserver $DNS_IP" >"/etc/netns/$ns/resolv.conf"

# DNS: NSD authoritative for the one zone, and for the root (SOA and NS):
# ". NS" resolves and other names are NXDOMAIN, so the resolver check that
# `verify -i` runs first passes.
mkdir -p "$run/zones"
cat >"$run/zones/root.zone" <<EOF
\$ORIGIN .
\$TTL 3600
@   IN SOA ns.$DOMAIN. hostmaster.$DOMAIN. 1 3600 600 86400 60
@   IN NS  ns.$DOMAIN.
EOF
cat >"$run/zones/$DOMAIN.zone" <<EOF
\$ORIGIN $DOMAIN.
\$TTL 3600
@   IN SOA ns hostmaster 1 3600 600 86400 60
@   IN NS  ns
@   IN MX  10 mx
ns  IN A   $DNS_IP
mx  IN A   $PROXY_IP
EOF
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
remote-control:
    control-enable: no
zone:
    name: .
    zonefile: root.zone
zone:
    name: $DOMAIN
    zonefile: $DOMAIN.zone
EOF
nsd-checkconf "$run/nsd.conf" >&2 || die "nsd-checkconf rejects $run/nsd.conf"
bg nsd "$(command -v nsd)" -d -c "$run/nsd.conf"
wait_for "$run/nsd.log" "nsd started" 10 || die "nsd did not start: $(cat "$run/nsd.log" "$run/nsd.out" 2>/dev/null)"

# Mail: a private Postfix instance (queue, data and logs in $run).
openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=mx.$DOMAIN" -days 2 \
  -keyout "$run/key.pem" -out "$run/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
chmod 600 "$run/key.pem"
mkdir -p "$pf" "$run/pf-queue" "$run/pf-data" "$run/pf-mail"
chown postfix "$run/pf-data" "$run/pf-mail"
cp /etc/postfix/master.cf "$pf/master.cf"
postconf -c "$pf" -M -X smtp/inet 2>/dev/null || true
postconf -c "$pf" -F '*/*/chroot = n'
echo "$MTA_IP:smtp inet n - n - - smtpd" >>"$pf/master.cf"
awk -F'\t' -v d="$DOMAIN" '$2 == 1 { split($1, p, "@"); print $1 " " d "/" p[1] "/" }' \
  "$run/addresses.tsv" >"$pf/vmailbox"
echo "postmaster@$DOMAIN $DOMAIN/postmaster/" >>"$pf/vmailbox"
# smtpd_error_sleep_time=0: Postfix would otherwise pause 1 s per reply after
# ten rejected recipients in one session. in_flow_delay=0: every accepted
# RCPT opens a queue file that the probe then abandons; with nothing ever
# delivered, Postfix's flow control would soon stall each new transaction by
# 1 s, which hits a tool with one transaction per address (the peer) far more
# than one with 20 recipients per transaction and would inflate the ratio.
# No peername lookup, so the MX side does no DNS of its own. Everything else
# is Postfix's defaults.
cat >"$pf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $run/pf-queue
data_directory = $run/pf-data
maillog_file_prefixes = $run
maillog_file = $run/maillog
inet_interfaces = $MTA_IP
inet_protocols = ipv4
myhostname = mx.$DOMAIN
mydomain = $DOMAIN
myorigin = $DOMAIN
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
smtpd_error_sleep_time = 0
in_flow_delay = 0
smtpd_peername_lookup = no
smtpd_tls_cert_file = $run/cert.pem
smtpd_tls_key_file = $run/key.pem
smtpd_tls_security_level = may
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_maps = texthash:$pf/vmailbox
virtual_mailbox_base = $run/pf-mail
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
smtpd_recipient_restrictions = reject_unauth_destination
EOF
nsx postfix -c "$pf" check >&2 || die "postfix check failed"
nsx postfix -c "$pf" start >&2 || die "postfix start failed: $(cat "$run/maillog" 2>/dev/null)"
wait_for "$run/maillog" "daemon started" 10 || die "postfix did not start: $(cat "$run/maillog" 2>/dev/null)"

# The WAN link.
bg proxy $PY "$repo/tests/latency_proxy.py" --listen "$PROXY_IP:25" --target "$MTA_IP:25" \
  --delay-ms "$DELAY_MS"
proxy_pid=${pids[-1]}   # ip netns exec execs the proxy: same pid
wait_for "$run/proxy.out" ready 10 || die "latency proxy did not start: $(cat "$run/proxy.out")"
# proxy_stats - asks the proxy for its counters since the last call and
# prints "TOTAL PEAK" (connections opened, most open at once).
proxy_stats() {
  local before i line
  before=$(grep -c '^stats ' "$run/proxy.out" || true)
  kill -USR1 "$proxy_pid" || die "the latency proxy is gone"
  for ((i = 0; i < 50; i++)); do
    [[ $(grep -c '^stats ' "$run/proxy.out" || true) -gt $before ]] && break
    sleep 0.1
  done
  line=$(grep '^stats ' "$run/proxy.out" | tail -n 1)
  [[ $line =~ ^stats\ connections=([0-9]+)\ peak=([0-9]+)$ ]] || die "no stats from the latency proxy"
  echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

# Sanity: the world answers as designed before any tool is timed.
nsx $PY - "$PROXY_IP" "$(sed -n 's/\t1$//p' "$run/addresses.tsv" | head -n 1)" \
  "nosuchuser-$$@$DOMAIN" "$SENDER" <<'EOF' || die "the world does not answer as designed (see $run)"
import smtplib, socket, sys
host, good, bad, sender = sys.argv[1:5]
if socket.gethostbyname(f"mx.{good.split('@')[1]}") != host:
    sys.exit("mx does not resolve to the proxy")
s = smtplib.SMTP(host, 25, local_hostname="sanity.bclab-bench.net", timeout=20)
s.ehlo(); s.mail(sender)
c1, _ = s.rcpt(good); c2, _ = s.rcpt(bad)
s.quit()
if (c1, c2) != (250, 550):
    sys.exit(f"RCPT answers {c1} for an existing user and {c2} for an unknown one")
EOF

# --- runs --------------------------------------------------------------------
# maxrss FILE - peak RSS in kB from a /usr/bin/time -v report.
maxrss() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
now() { date +%s.%N; }

if [[ ${BENCH_VERIFY_HOLD:-0} == 1 ]]; then
  touch "$run/hold"
  note "world up in namespace $ns (DNS $DNS_IP, MX $PROXY_IP -> $MTA_IP); rm $run/hold to go on"
  while [[ -e $run/hold ]]; do sleep 1; done
fi
proxy_stats >/dev/null   # forget the sanity check's connection

# BounceCheck, with BENCH_VERIFY_INPUT=file: one run over the list file (the
# bulk path: reader, SQLite state beside the output, writer), then the result
# objects are taken out of its NDJSON rows for the checks below.
: >"$run/bouncecheck.jsonl"
bc_s=0 bc_rss=0
if [[ $INPUT == file ]]; then
  t0=$(now)
  rc=0
  nsx /usr/bin/time -v -o "$run/bouncecheck.time" "$BC_BIN" verify --quiet --dns "$DNS_IP" \
    --mx-connections "$CONNS" "${rpc_args[@]}" --domain-rate 0 --timeout 120 \
    --from "$SENDER" --helo "bench.$DOMAIN" -i "$run/addresses.txt" -o "$run/bouncecheck.ndjson" \
    >/dev/null 2>"$run/bouncecheck.stderr" || rc=$?
  t1=$(now)
  if [[ $rc -ne 0 ]]; then
    tail -n 20 "$run/bouncecheck.stderr" >&2
    die "bouncecheck verify -i exited $rc (logs in $run)"
  fi
  [[ ! -e $run/bouncecheck.ndjson.bcstate ]] || die "bouncecheck left its state file behind"
  bc_s=$(awk -v b="$t0" -v c="$t1" 'BEGIN { printf "%.6f", c - b }')
  bc_rss=$(maxrss "$run/bouncecheck.time")
  [[ $bc_rss =~ ^[0-9]+$ ]] || die "could not read the peak RSS of bouncecheck"
  $PY - "$run/bouncecheck.ndjson" "$run/bouncecheck.jsonl" <<'EOF' || die "bouncecheck's NDJSON output is malformed"
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        out.write(json.dumps(json.loads(line)["result"]) + "\n")
EOF
else
  # All addresses on the command line, split into chunks when the argument
  # list would be too long; chunks run one after the other, times add.
  split -l 5000 -d -a 4 "$run/addresses.txt" "$run/chunk."
fi
for chunk in "$run"/chunk.*; do
  [[ -e $chunk ]] || continue
  mapfile -t addrs <"$chunk"
  t0=$(now)
  rc=0
  nsx /usr/bin/time -v -o "$run/bouncecheck.time" "$BC_BIN" verify --json --dns "$DNS_IP" \
    --mx-connections "$CONNS" "${rpc_args[@]}" --domain-rate 0 --timeout 120 \
    --from "$SENDER" --helo "bench.$DOMAIN" "${addrs[@]}" \
    >>"$run/bouncecheck.jsonl" 2>"$run/bouncecheck.stderr" || rc=$?
  t1=$(now)
  if [[ $rc -ne 0 ]]; then
    tail -n 20 "$run/bouncecheck.stderr" >&2
    die "bouncecheck verify exited $rc (logs in $run)"
  fi
  bc_s=$(awk -v a="$bc_s" -v b="$t0" -v c="$t1" 'BEGIN { printf "%.6f", a + c - b }')
  r=$(maxrss "$run/bouncecheck.time")
  [[ $r =~ ^[0-9]+$ ]] || die "could not read the peak RSS of bouncecheck"
  ((r > bc_rss)) && bc_rss=$r
done
read -r bc_conns bc_peak < <(proxy_stats)
note "bouncecheck: ${bc_s}s, $bc_conns connections, at most $bc_peak at once"

if [[ $PEER != 0 ]]; then
  t0=$(now)
  rc=0
  nsx /usr/bin/time -v -o "$run/deep.time" env BENCH_PEER_POOL="$CONNS" \
    BENCH_NODE_MODULES="$deps/node_modules" node "$here/peer_deep.js" \
    "$run/peer-addresses.txt" "$run/deep.jsonl" "$SENDER" >"$run/deep.out" 2>"$run/deep.stderr" || rc=$?
  t1=$(now)
  if [[ $rc -ne 0 ]]; then
    tail -n 20 "$run/deep.stderr" >&2
    die "deep-email-validator exited $rc (logs in $run)"
  fi
  dev_s=$(awk -v b="$t0" -v c="$t1" 'BEGIN { printf "%.6f", c - b }')
  dev_rss=$(maxrss "$run/deep.time")
  [[ $dev_rss =~ ^[0-9]+$ ]] || die "could not read the peak RSS of deep-email-validator"
  read -r dev_conns dev_peak < <(proxy_stats)
  note "deep-email-validator: ${dev_s}s, $dev_conns connections, at most $dev_peak at once"
fi

# --- report ------------------------------------------------------------------
# Correctness: existing -> deliverable / valid, unknown -> undeliverable with
# reason rejected_email / not valid. Counts per tool; examples of misses.
read -r bc_ok_d bc_ok_u bc_wrong dev_ok_d dev_ok_u dev_wrong < <($PY - "$run" "$PEER" "$PEER_N" <<'EOF'
import json, sys
from collections import Counter
run, peer, peer_n = sys.argv[1], sys.argv[2] != "0", int(sys.argv[3])
all_truth = [l.rstrip("\n").split("\t") for l in open(f"{run}/addresses.tsv")]
truth = all_truth
def load(name):
    rows = [json.loads(l) for l in open(f"{run}/{name}") if l.strip()]
    if len(rows) != len(truth):
        sys.exit(f"{name}: {len(rows)} results for {len(truth)} addresses")
    for (addr, _), r in zip(truth, rows):
        if r.get("email") != addr:
            sys.exit(f"{name}: result for {r.get('email')!r} where {addr!r} was expected (order)")
    return rows
def score(name, rows, ok):
    good_d = good_u = 0
    wrong = []
    for (addr, exists), r in zip(truth, rows):
        v = ok(r)
        if exists == "1" and v == "deliverable": good_d += 1
        elif exists == "0" and v == "undeliverable": good_u += 1
        else: wrong.append((addr, exists, r))
    with open(f"{run}/wrong-{name}.txt", "w") as f:
        for addr, exists, r in wrong:
            f.write(("existing" if exists == "1" else "unknown") + "\t" + json.dumps(r) + "\n")
    return good_d, good_u, wrong
bc = load("bouncecheck.jsonl")
def bc_ok(r):
    if r.get("status") == "deliverable" and r.get("reason") == "accepted_email": return "deliverable"
    if r.get("status") == "undeliverable" and r.get("reason") == "rejected_email": return "undeliverable"
    return "other"
res = [score("bouncecheck", bc, bc_ok)]
kinds = {"bouncecheck": Counter(f"{r.get('status')}/{r.get('reason')}" for r in bc)}
if peer:
    truth = all_truth[:peer_n]   # the peer verified this prefix
    dev = load("deep.jsonl")
    def dev_ok(r):
        if r.get("valid") is True: return "deliverable"
        if r.get("reason") == "smtp" and r.get("detail") == "Mailbox not found.": return "undeliverable"
        return "other"
    res.append(score("deep-email-validator", dev, dev_ok))
    kinds["deep-email-validator"] = Counter(
        "valid" if r["valid"] else f"invalid/{r.get('reason')}: {r.get('detail')}" for r in dev)
else:
    res.append((0, 0, []))
for name, c in kinds.items():
    print(f"  {name} answers: " + ", ".join(f"{k} x{v}" for k, v in c.most_common()), file=sys.stderr)
print(*(x for d, u, w in res for x in (d, u, len(w))))
EOF
) || die "result check failed"

# rate SECONDS [COUNT] - COUNT (default N) addresses per second.
rate() { awk -v n="${2:-$N}" -v s="$1" 'BEGIN { if (s <= 0) s = 1e-9; printf "%.1f", n / s }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "Verification benchmark: $N addresses ($n_exist existing, $n_unknown unknown) at one MX"
echo "  behind a ${DELAY_MS} ms one-way latency proxy (RTT $((2 * DELAY_MS)) ms), Postfix $(postconf -d -h mail_version),"
echo "  at most $CONNS connections to the MX for each tool"
bc_how="ADDRESS..."
[[ $INPUT == file ]] && bc_how="-i addresses.txt -o bouncecheck.ndjson"
echo "bouncecheck: $BC_BIN verify $bc_how --mx-connections $CONNS ${rpc_args[*]} --domain-rate 0"
[[ $PEER != 0 ]] &&
  echo "peer: deep-email-validator $dev_have (npm, $dev_integrity) on node $(node --version), pool of $CONNS"
echo
printf '%-22s %12s %10s %14s %16s %8s %11s %19s\n' name "addresses/s" seconds "deliverable ok" \
  "undeliverable ok" wrong "peak RSS" "connections (peak)"
printf '%-22s %12s %10.1f %9s/%-4s %11s/%-4s %8s %8s MB %13s (%s)\n' bouncecheck "$(rate "$bc_s")" "$bc_s" \
  "$bc_ok_d" "$n_exist" "$bc_ok_u" "$n_unknown" "$bc_wrong" "$(mb "$bc_rss")" "$bc_conns" "$bc_peak"
if [[ $PEER != 0 ]]; then
  printf '%-22s %12s %10.1f %9s/%-4s %11s/%-4s %8s %8s MB %13s (%s)\n' deep-email-validator \
    "$(rate "$dev_s" "$PEER_N")" "$dev_s" "$dev_ok_d" "$p_exist" "$dev_ok_u" "$p_unknown" "$dev_wrong" \
    "$(mb "$dev_rss")" "$dev_conns" "$dev_peak"
  ((PEER_N < N)) && echo "(deep-email-validator timed on the first $PEER_N of the $N addresses)"
  # A ratio of rates, not of times: the peer may have verified only a prefix.
  ratio=$(awk -v a="$bc_s" -v b="$dev_s" -v n="$N" -v p="$PEER_N" \
    'BEGIN { if (a <= 0) a = 1e-9; if (b <= 0) b = 1e-9; printf "%.1f", (n / a) / (p / b) }')
  met=$(awk -v r="$ratio" -v g="$GOAL" 'BEGIN { print (r >= g) ? "met" : "NOT met" }')
  echo
  echo "bouncecheck / deep-email-validator = ${ratio}x (goal >= ${GOAL}x: $met)"
fi
lower=$(((N + BATCH - 1) / BATCH))
[[ $INPUT == file ]] || lower=$(awk -v n="$N" -v b="$BATCH" 'BEGIN { c = int(n / 5000); r = n - c * 5000;
  t = c * int((5000 + b - 1) / b); if (r) t += int((r + b - 1) / b); print t }')
echo "bouncecheck SMTP sessions: $bc_conns, lower bound $lower (ceil(addresses / $BATCH) per run; the catch-all test"
echo "  rides in the first session's second transaction)"
echo
for t in bouncecheck deep-email-validator; do
  [[ $t == deep-email-validator && $PEER == 0 ]] && continue
  w=$bc_wrong tn=$N
  [[ $t == deep-email-validator ]] && w=$dev_wrong tn=$PEER_N
  if [[ $w -gt 0 ]]; then
    echo "WRONG ANSWERS: $t got $w of $tn addresses wrong (listed in $run/wrong-$t.txt):"
    head -n 3 "$run/wrong-$t.txt" | cut -c1-300 | sed 's/^/    /'
  else
    echo "$t answered all $tn addresses correctly"
  fi
done
over=0
if [[ $bc_peak -gt $CONNS ]]; then
  echo "OVER THE CAP: bouncecheck had $bc_peak connections open at once (cap $CONNS)"; over=1
fi
if [[ $PEER != 0 && $dev_peak -gt $CONNS ]]; then
  echo "OVER THE CAP: deep-email-validator had $dev_peak connections open at once (cap $CONNS)"; over=1
fi
if [[ ${BENCH_STRICT:-0} == 1 ]]; then
  [[ $over -eq 0 ]] || { note "a tool went over the connection cap"; exit 3; }
  [[ $bc_wrong -eq 0 ]] || { note "bouncecheck answered wrongly"; exit 3; }
  [[ $PEER == 0 || $met == met ]] || { note "the ratio goal was missed"; exit 3; }
fi
exit 0

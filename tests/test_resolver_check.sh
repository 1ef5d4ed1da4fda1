#!/usr/bin/env bash
# test_resolver_check.sh BOUNCECHECK - the DNS resolver check
# (src/lib/dns/resolver_check.h) end to end: `verify -i`, `verify --force`, plain
# `verify` and `serve` behind resolvers that lie the way captive portals,
# filtering proxies and sandboxes do (tests/fake_resolver.py: NXDOMAIN to
# everything, SERVFAIL to everything, no answer at all, an invented address
# for every name), and behind an honest one (NSD with a root zone,
# tests/nsd_local.sh), whose "does not exist" stays undeliverable.
#
# Everything runs inside a network namespace of its own, on loopback
# addresses there (the namespace's resolv.conf points at a closed local
# address, so nothing leaves it). Needs root: skips otherwise. Prints TAP.
set -u
bin=${1:?usage: test_resolver_check.sh path/to/bouncecheck}
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- outside: make the namespace and run this script again inside it -------------------
if [ -z "${BC_RC_NETNS:-}" ] && { [ ! -x /usr/bin/python3 ] || ! /usr/bin/python3 -c 'import dns.message' 2> /dev/null; }; then
    echo "1..0 # SKIP needs python3-dnspython (scripts/deps.sh test)"
    exit 0
fi
# the address the "invent" resolver hands out: on lo, nothing listens
# shellcheck disable=SC2317 # called by netns_local_enter
netns_local_setup() { ip -n "$1" addr add 11.22.0.99/32 dev lo; }
NETNS_LOCAL_RESOLVER=127.0.0.9   # a closed local address: nothing leaves
# shellcheck source=tests/netns_local.sh
. "$here/netns_local.sh"
netns_local_enter bcrc BC_RC_NETNS "${BASH_SOURCE[0]}" "$bin"

# ---- inside the namespace -----------------------------------------------------------------
# shellcheck source=tests/nsd_local.sh
. "$here/nsd_local.sh"
nsd_local_begin resolver-check
work=$NSD_LOCAL_WORK
py=/usr/bin/python3
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap of nsd_local_begin
nsd_local_on_exit() { local p; for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; done; }
export BOUNCECHECK_DATA_DIR=$work/lists   # no such directory: the built-in lists
# show FILE... - the files as TAP comments (after a failure)
show() { sed 's/^/#   /' "$@" 2> /dev/null | head -n 40; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The list a user would lose: 160 addresses at the big providers.
"$py" - > "$work/list.csv" <<'PY'
print("email,name")
doms = ["gmail.com", "outlook.com", "yahoo.com"]
for i in range(160):
    print(f"user{i}@{doms[i % 3]},Person {i}")
PY
rows=160

# summary FILE.ndjson - "statuses reasons" of a verify -i --format ndjson
# output: the sets of each, comma-separated, with the undeliverable count.
summary() {
    "$py" - "$1" <<'PY'
import json, sys
rs = [json.loads(l)["result"] for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
print(len(rs), sum(r["status"] == "undeliverable" for r in rs),
      ",".join(sorted({r["status"] for r in rs})), ",".join(sorted({r["reason"] for r in rs})))
PY
}

# ---- an honest resolver: NSD serving the root, a null MX domain ------------------------
read -r port < <(nsd_local_ports 1)
cat > "$work/bclab-rc.net.zone" <<'EOF'
$ORIGIN bclab-rc.net.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
nullmx IN MX 0 .
EOF
nsd_local_start "$work" "$port" . bclab-rc.net || exit 1
good="127.0.0.1:$port"

"$bin" verify --json --dns "$good" someone@bclab-nowhere.net someone@nullmx.bclab-rc.net > "$work/good.json" 2> "$work/good.err"
rc=$?
"$py" - "$work/good.json" <<'PY'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["status"], r["reason"]) for r in rs] == [("undeliverable", "invalid_domain"), ("undeliverable", "null_mx")], rs
PY
ok $(( rc || $? )) "honest resolver (root zone served): a domain that does not exist is undeliverable/invalid_domain, a null MX undeliverable/null_mx"
[ $? = 0 ] || show "$work/good.json" "$work/good.err"

"$bin" verify -i "$work/list.csv" -o "$work/good.ndjson" --dns "$good" --quiet 2> "$work/good-i.err"
rc=$?
read -r got und sts rsn < <(summary "$work/good.ndjson" 2> /dev/null)
[ "$rc" = 0 ] && [ "${got:-}" = $rows ] && [ "${und:-}" = $rows ] && [ "${rsn:-}" = invalid_domain ]
ok $? "honest resolver: verify -i passes the check and the list's domains (absent from this DNS) are undeliverable ($rc, $got rows, $und undeliverable, $rsn)"
[ $? = 0 ] || show "$work/good-i.err"

# ---- the liars ----------------------------------------------------------------------------
# mode, address, what the check must say, the reasons --force may give
liars=(
    "nxdomain 127.0.1.1 answers_NXDOMAIN_for_the_root_zone's_NS dns_unreliable"
    "servfail 127.0.1.2 answers_SERVFAIL_when_asked_for_the_root_zone's_NS dns_error"
    "drop 127.0.1.3 timed_out dns_error"
    "invent 127.0.1.4 invents_an_answer_for_a_name_that_cannot_exist no_connect"
)
for l in "${liars[@]}"; do
    read -r mode addr _ _ <<< "$l"
    ip addr add "$addr/32" dev lo 2> /dev/null
    "$py" "$here/fake_resolver.py" --listen "$addr:53" --mode "$mode" --invent 11.22.0.99 \
        --log "$work/fake-$mode.log" > /dev/null 2>&1 &
    pids+=($!)
done
for l in "${liars[@]}"; do
    read -r mode _ _ _ <<< "$l"
    for _ in $(seq 1 50); do grep -q listening "$work/fake-$mode.log" 2> /dev/null && break; sleep 0.1; done
done

for l in "${liars[@]}"; do
    read -r mode addr say reasons <<< "$l"
    say=${say//_/ }
    out="$work/out-$mode.ndjson"

    # verify -i: stops before anything is written, naming the resolver
    "$bin" verify -i "$work/list.csv" -o "$out" --dns "$addr" --quiet > "$work/i-$mode.out" 2> "$work/i-$mode.err"
    rc=$?
    [ "$rc" = 1 ] && [ ! -e "$out" ] && [ ! -e "$out.bcstate" ] && [ ! -e "$out.part" ] &&
        grep -q "not trustworthy: resolver $addr $say" "$work/i-$mode.err" && grep -q -- "--force" "$work/i-$mode.err" &&
        grep -q "unknown/dns_unreliable" "$work/i-$mode.err" && [ ! -s "$work/i-$mode.out" ]
    ok $? "$mode: verify -i exits 1 before writing any file, saying resolver $addr $say and pointing at --force (exit $rc)"
    [ $? = 0 ] || show "$work/i-$mode.err"

    # --force: goes on; not one address is undeliverable
    "$bin" verify -i "$work/list.csv" -o "$out" --dns "$addr" --force --timeout 30 > /dev/null 2> "$work/f-$mode.err"
    rc=$?
    read -r got und sts rsn < <(summary "$out" 2> /dev/null)
    [ "$rc" = 0 ] && [ "${got:-}" = $rows ] && [ "${und:-x}" = 0 ] && [ "${sts:-}" = unknown ] && [ "${rsn:-}" = "$reasons" ] &&
        grep -q "warning: the DNS is not trustworthy: resolver $addr" "$work/f-$mode.err"
    ok $? "$mode: verify -i --force verifies all $rows rows, 0 undeliverable, all unknown/$reasons, with a warning (exit $rc: $got rows, $und undeliverable, $sts, $rsn)"
    [ $? = 0 ] || show "$work/f-$mode.err"

    # plain verify needs no preflight: the verifier protects the verdict
    "$bin" verify --json --dns "$addr" --timeout 30 a@gmail.com > "$work/v-$mode.json" 2> "$work/v-$mode.err"
    rc=$?
    "$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r["status"] == "unknown" and r["reason"] == sys.argv[2]))' \
        "$work/v-$mode.json" "$reasons" 2> /dev/null
    ok $(( rc || $? )) "$mode: verify --json a@gmail.com is unknown/$reasons (exit $rc)"
    [ $? = 0 ] || show "$work/v-$mode.json" "$work/v-$mode.err"
done

# --offline asks no DNS: no check either
"$bin" verify -i "$work/list.csv" -o "$work/offline.csv" --dns 127.0.1.1 --offline --quiet 2> "$work/offline.err"
rc=$?
[ "$rc" = 0 ] && [ "$(wc -l < "$work/offline.csv")" = $((rows + 1)) ]
ok $? "verify -i --offline behind the NXDOMAIN resolver: no check, exit 0 ($rc)"

# ---- serve: /healthz and /metrics -----------------------------------------------------------
# serve_up NAME DNS - starts `serve` on a free port with that --dns and waits until
# /healthz reports a finished resolver check; sets base and spid.
serve_up() {
    local hp
    hp=$(free_port)
    "$bin" serve --listen "127.0.0.1:$hp" --data "$work/srv-$1" --dns "$2" > /dev/null 2> "$work/serve-$1.log" &
    spid=$!
    pids+=("$spid")
    base="http://127.0.0.1:$hp"
    for _ in $(seq 1 150); do
        curl -s "$base/healthz" > "$work/health-$1.json" 2> /dev/null &&
            grep -q '"checked_at": *"' "$work/health-$1.json" && return 0
        sleep 0.1
    done
    return 1
}
serve_down() { kill -TERM "$spid" 2> /dev/null; wait "$spid" 2> /dev/null; }
chk="$here/api/openapi_check.py"
doc="$here/../src/server/openapi.json"

serve_up bad 127.0.1.1
up=$?
curl -s -o "$work/h.body" -w '%{http_code} %{content_type}' "$base/healthz" > "$work/h.meta" 2> /dev/null
read -r hcode hctype < "$work/h.meta"
"$py" - "$work/h.body" <<'PY'
import json, sys
h = json.load(open(sys.argv[1]))
d = h["dns"]
assert h["status"] == "degraded" and d["ok"] is False and d["checked_at"], h
assert "resolver 127.0.1.1 answers NXDOMAIN for the root zone's NS" in d["error"], h
PY
ok $(( up || $? )) "serve behind the NXDOMAIN resolver: /healthz 200 is degraded, dns.ok false, the error names the resolver ($hcode)"
[ $? = 0 ] || show "$work/h.body" "$work/serve-bad.log"
[ "$hcode" = 200 ] && "$py" "$chk" "$doc" --response GET /healthz 200 "$hctype" < "$work/h.body" > "$work/h.chk" 2>&1
ok $? "the degraded /healthz answer matches openapi.json"
[ $? = 0 ] || show "$work/h.chk"
curl -s "$base/metrics" > "$work/m-bad.txt" 2> /dev/null
grep -qx 'bouncecheck_resolver_ok 0' "$work/m-bad.txt" && grep -q '^# TYPE bouncecheck_resolver_ok gauge' "$work/m-bad.txt"
ok $? "its /metrics has the gauge bouncecheck_resolver_ok 0"
grep -q "DNS resolver check failed: resolver 127.0.1.1 answers NXDOMAIN" "$work/serve-bad.log"
ok $? "its log says the resolver check failed, naming the resolver"
[ $? = 0 ] || show "$work/serve-bad.log"
serve_down

serve_up good "$good"
up=$?
"$py" -c 'import json,sys; h=json.load(open(sys.argv[1])); sys.exit(not (h["status"] == "ok" and h["dns"]["ok"] is True and h["dns"]["error"] is None))' \
    "$work/health-good.json" 2> /dev/null
ok $(( up || $? )) "serve behind the honest resolver: /healthz status ok, dns.ok true"
[ $? = 0 ] || show "$work/health-good.json" "$work/serve-good.log"
curl -s "$base/metrics" 2> /dev/null | grep -qx 'bouncecheck_resolver_ok 1'
ok $? "its /metrics has bouncecheck_resolver_ok 1"
serve_down

echo "1..$n"
[ "$failed" = 0 ]

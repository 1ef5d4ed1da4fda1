#!/usr/bin/env bash
# test_dns_anomalies.sh BOUNCECHECK - a DNS anomaly is never evidence that a
# domain has no mail server. `bouncecheck verify --json --dns` against a
# scripted resolver (tests/scripted_dns.py) that answers name by name with
# CNAME loops, a chain too long, truncated answers whose TCP retry is
# refused, closed, empty, truncated again or SERVFAIL, answers that do not
# parse, answers for another ID or question, SERVFAIL, REFUSED (on every
# server), NOTAUTH, records of another type or name only, a referral (lame
# delegation), and MX hosts whose own A/AAAA lookups hit such anomalies:
# each must be unknown/dns_error, its result's "detail" saying what went
# wrong. Beside them the clean answers stay facts: NXDOMAIN is
# undeliverable/invalid_domain, a null MX undeliverable/null_mx, NODATA for
# MX, A and AAAA (directly or through a clean CNAME) and an MX host that does
# not exist undeliverable/no_mail_server. The domain checks' resolver
# (`disposable`'s has_mx) reads the same answers the same way.
#
# Everything runs on 127.0.0.1 (ports picked by the servers themselves); no
# SMTP connection is made. Needs python3-dnspython: skips otherwise. TAP.
set -u
bin=${1:?usage: test_dns_anomalies.sh path/to/bouncecheck}
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3
if [ ! -x "$py" ] || ! "$py" -c 'import dns.message' 2> /dev/null; then
    echo "1..0 # SKIP needs python3-dnspython (scripts/deps.sh test)"
    exit 0
fi

work=$(mktemp -d /tmp/bc-test-dns-anomalies.XXXXXX) || exit 1
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export BOUNCECHECK_DATA_DIR=$work/lists   # no such directory: the built-in lists
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
show() { sed 's/^/#   /' "$@" 2> /dev/null | head -n 60; }

# start NAME [ARGS...] - a scripted resolver; its port in the variable NAME
start() {
    local name=$1
    shift
    "$py" "$here/scripted_dns.py" --listen 127.0.0.1:0 --portfile "$work/$name.port" --log "$work/$name.log" "$@" \
        > /dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 1 100); do [ -s "$work/$name.port" ] && break; sleep 0.1; done
    printf -v "$name" '%s' "$(cat "$work/$name.port" 2> /dev/null)"
}
start both                 # UDP and TCP
start udponly --no-tcp     # UDP only: TCP connections are refused
if [ -z "$both" ] || [ -z "$udponly" ]; then
    echo "1..1"
    echo "not ok 1 - the scripted resolvers start"
    show "$work"/*.log
    exit 1
fi
zone=bclab-anomaly.net

# run NAME DNS WORD... - verify u@WORD.$zone for each WORD through DNS into
# $work/NAME.json (one result per line)
run() {
    local name=$1 dns=$2 w args=()
    shift 2
    for w in "$@"; do args+=("u@$w.$zone"); done
    "$bin" verify --json --dns "$dns" --timeout 60 "${args[@]}" > "$work/$name.json" 2> "$work/$name.err"
    echo $? > "$work/$name.rc"
}

# expect NAME WORD STATUS REASON [DETAIL] - one TAP line: the result of
# u@WORD in NAME.json has that status and reason, and (when given) a detail
# holding DETAIL (a clean answer: none)
expect() {
    local name=$1 word=$2 status=$3 reason=$4 detail=${5:-}
    local got
    got=$("$py" - "$work/$name.json" "u@$word.$zone" "$status" "$reason" "$detail" <<'PY'
import json, sys
path, email, status, reason, detail = sys.argv[1:6]
rows = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
r = next((r for r in rows if r["email"] == email), None)
if r is None:
    print("no result"); sys.exit(1)
got = f'{r["status"]}/{r["reason"]} detail={r.get("detail")!r}'
good = (r["status"], r["reason"]) == (status, reason)
good = good and (detail.lower() in (r.get("detail") or "").lower() if detail else r.get("detail") is None)
print(got)
sys.exit(0 if good else 1)
PY
)
    local rc=$?
    if [ -n "$detail" ]; then
        ok $rc "$word: $status/$reason, detail names '$detail' ($got)"
    else
        ok $rc "$word: $status/$reason, no detail ($got)"
    fi
    return $rc
}

# ---- anomalies at the domain, at its MX hosts, and the clean controls, in one run
run main "127.0.0.1:$both" \
    loop selfloop longchain mxloop mixhosts \
    tcempty tctc tcservfail mxtc \
    badlen badcount servfail refused notauth othertype unrelated lame \
    mxservfail mxothertype \
    nx nullmx nomail alias ghostmx
[ "$(cat "$work/main.rc")" = 0 ] && [ "$(wc -l < "$work/main.json")" = 24 ]
ok $? "verify --json gives 24 results, exit 0 ($(cat "$work/main.rc"))"
[ $? = 0 ] || show "$work/main.err" "$work/main.json"

bad=0
expect main loop unknown dns_error "CNAME loop" || bad=1
expect main selfloop unknown dns_error "CNAME loop" || bad=1
expect main longchain unknown dns_error "CNAME chain longer" || bad=1
expect main mxloop unknown dns_error "loophost.$zone: CNAME loop" || bad=1
expect main mixhosts unknown dns_error "CNAME loop" || bad=1
expect main tcempty unknown dns_error "truncated over UDP; over TCP: no records" || bad=1
expect main tctc unknown dns_error "truncated" || bad=1
expect main tcservfail unknown dns_error "SERVFAIL" || bad=1
expect main mxtc unknown dns_error "A tchost.$zone: answer truncated" || bad=1
expect main badlen unknown dns_error "malformed" || bad=1
expect main badcount unknown dns_error "malformed" || bad=1
expect main servfail unknown dns_error "SERVFAIL" || bad=1
expect main refused unknown dns_error "REFUSED" || bad=1
expect main notauth unknown dns_error "NOTAUTH" || bad=1
expect main othertype unknown dns_error "unexpected record in the answer: TXT" || bad=1
expect main unrelated unknown dns_error "unexpected record in the answer: MX for elsewhere.$zone" || bad=1
expect main lame unknown dns_error "lame delegation" || bad=1
expect main mxservfail unknown dns_error "servfailhost.$zone: SERVFAIL" || bad=1
expect main mxothertype unknown dns_error "unexpected record" || bad=1
# the controls: clean answers are still facts
expect main nx undeliverable invalid_domain || bad=1
expect main nullmx undeliverable null_mx || bad=1
expect main nomail undeliverable no_mail_server || bad=1
expect main alias undeliverable no_mail_server || bad=1
expect main ghostmx undeliverable no_mail_server || bad=1
[ $bad = 0 ] || show "$work/both.log"

"$py" "$here/api/openapi_check.py" "$here/../src/server/openapi.json" --schema ListResult --lines "$work/main.json" \
    > "$work/schema.out" 2>&1
ok $? "every result, detail included, matches openapi.json's ListResult"
[ $? = 0 ] || show "$work/schema.out"

# ---- the TCP retry of a truncated answer fails: the server hangs up, or refuses TCP
run closed "127.0.0.1:$both" tcclosed nx
expect closed tcclosed unknown dns_error "truncated over UDP; over TCP" || show "$work/closed.err" "$work/both.log"
run refusedtcp "127.0.0.1:$udponly" tcrefused mxtc nx
expect refusedtcp tcrefused unknown dns_error "truncated over UDP; over TCP: connection refused" ||
    show "$work/refusedtcp.err" "$work/udponly.log"
expect refusedtcp mxtc unknown dns_error "truncated over UDP; over TCP"
expect refusedtcp nx undeliverable invalid_domain

# ---- REFUSED by every server
run everyserver "127.0.0.1:$both,127.0.0.1:$udponly" refused servfail nx
expect everyserver refused unknown dns_error "REFUSED"
expect everyserver servfail unknown dns_error "SERVFAIL"
expect everyserver nx undeliverable invalid_domain

# ---- answers c-ares drops (garbage, another ID, another question): a timeout
# each, after c-ares's own retries (about 14 s, all at once)
run dropped "127.0.0.1:$both" garbage wrongid wrongq mxgarbage nomail
expect dropped garbage unknown dns_error "timeout"
expect dropped wrongid unknown dns_error "timeout"
expect dropped wrongq unknown dns_error "timeout"
expect dropped mxgarbage unknown dns_error "garbagehost.$zone: timeout"
expect dropped nomail undeliverable no_mail_server

# ---- the domain checks' resolver (dns/resolver.c) reads answers the same way:
# `disposable --json` says has_mx null with a dns_error for an anomaly, and
# false for a clean "no mail here"
for c in "loop CNAME loop" "tcempty truncated over UDP; over TCP: no records" "lame lame delegation" \
    "othertype unexpected record" "notauth rcode 9" "nomail -" "nullmx -" "nx -"; do
    read -r word detail <<< "$c"
    "$bin" disposable --json --dns "127.0.0.1:$both" "u@$word.$zone" > "$work/disp-$word.json" 2>&1
    got=$("$py" - "$work/disp-$word.json" "$detail" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1], encoding="utf-8").read())
want = sys.argv[2]
print(r.get("has_mx"), r.get("dns_error"))
good = r.get("has_mx") is False and not r.get("dns_error") if want == "-" else \
    r.get("has_mx") is None and want.lower() in (r.get("dns_error") or "").lower()
sys.exit(0 if good else 1)
PY
)
    rc=$?
    if [ "$detail" = - ]; then
        ok $rc "disposable u@$word: has_mx false ($got)"
    else
        ok $rc "disposable u@$word: has_mx null, dns_error names '$detail' ($got)"
    fi
done

echo "1..$n"
[ $failed = 0 ]

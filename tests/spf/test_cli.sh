#!/bin/bash
# test_cli.sh - `bouncecheck spf` (argument 1: the bouncecheck binary)
# against a real NSD (started and stopped by tests/nsd_local.sh) serving an
# SPF zone written here on 127.0.0.1 at a free high port, so the c-ares side
# of bc_spf_check is exercised end to end. Prints TAP.
set -u

bc=${1:?usage: test_cli.sh path/to/bouncecheck}
# shellcheck source=tests/nsd_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/../nsd_local.sh"
nsd_local_begin spf
work=$NSD_LOCAL_WORK
py=$NSD_LOCAL_PY

# a port free for both UDP and TCP for NSD, and one where nothing listens
read -r port dead_port < <(nsd_local_ports 2)

cat > "$work/spf.test.zone" <<'EOF'
$ORIGIN spf.test.
$TTL 300
@          IN SOA  ns hostmaster 1 3600 600 86400 60
@          IN NS   ns
ns         IN A    127.0.0.1
@          IN TXT  "v=spf1 ip4:192.0.2.0/24 include:_inc.spf.test mx -all exp=_why.%{d}"
@          IN MX   10 mx
mx         IN A    198.51.100.25
_inc       IN TXT  "v=spf1 ip6:2001:db8:25::/48 ~all"
_why       IN TXT  "%{i} is not a mail server of %{d}"
soft       IN TXT  "v=spf1 ~all"
two        IN TXT  "v=spf1 -all"
two        IN TXT  "v=spf1 +all"
long       IN TXT  "v=spf1 ip4:203.0.113" ".0/24 -all"
helo       IN TXT  "v=spf1 a -all"
helo       IN A    192.0.2.200
EOF
nsd_local_start "$work" "$port" spf.test || exit 1

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
dns="127.0.0.1:$port"

# json_is NAME FIELD WANT ARGS...: runs `spf --json ARGS`, compares one field
json_is() {
    local what=$1 field=$2 want=$3
    shift 3
    local out rc got
    out=$("$bc" spf --json --dns "$dns" "$@" 2>"$work/err")
    rc=$?
    got=$(printf '%s' "$out" | "$py" -c "import json,sys; v=json.load(sys.stdin)['$field']; print('null' if v is None else v)" 2>/dev/null)
    if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then
        ok "$what"
    else
        notok "$what (exit $rc, $field '$got', want '$want')"
        sed 's/^/# /' "$work/err"
    fi
}

json_is "ip4 range passes" result pass 192.0.2.7 user@spf.test
json_is "include of ip6 passes" result pass 2001:db8:25::1 user@spf.test
json_is "mx passes" result pass 198.51.100.25 user@spf.test
json_is "IPv4-mapped IPv6 matches ip4" result pass ::ffff:192.0.2.7 user@spf.test
json_is "other address fails" result fail 203.0.113.9 user@spf.test
json_is "fail carries the exp= explanation" explanation "203.0.113.9 is not a mail server of spf.test" \
    203.0.113.9 user@spf.test
json_is "lookups counted (include, mx)" lookups 2 203.0.113.9 user@spf.test
json_is "softfail" result softfail 203.0.113.9 user@soft.spf.test
json_is "two records: permerror" result permerror 192.0.2.7 user@two.spf.test
json_is "strings joined without a space" result pass 203.0.113.1 user@long.spf.test
json_is "no record: none" result none 192.0.2.7 user@nothing.spf.test
json_is "empty sender checks the HELO name" result pass --helo helo.spf.test 192.0.2.200 ""
json_is "domain field" domain spf.test 192.0.2.7 user@spf.test
json_is "helo field" helo mx.client.test --helo mx.client.test 192.0.2.7 user@spf.test

out=$("$bc" spf --dns "$dns" 203.0.113.9 user@spf.test 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | head -1 | grep -qx "FAIL: 203.0.113.9 is not a mail server of spf.test" &&
    printf '%s\n' "$out" | grep -q -- "spf.test: -all  match  (decided)"; then
    ok "text output: RESULT: explanation, the trace, exit 0 on fail"
else
    notok "text output (exit $rc)"
    printf '%s\n' "$out" | sed 's/^/# /'
fi

out=$("$bc" spf --json --dns "127.0.0.1:$dead_port" 192.0.2.7 user@spf.test 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s' "$out" | grep -q '"result":"temperror"'; then
    ok "no DNS server: temperror, exit 0"
else
    notok "no DNS server: temperror (exit $rc)"
    printf '%s\n' "$out" | sed 's/^/# /'
fi

"$bc" spf --dns "$dns" 192.0.2.300 user@spf.test > /dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok "bad IP: exit 2" || notok "bad IP: exit 2 (got $rc)"
"$bc" spf 192.0.2.1 > /dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok "missing sender: exit 2" || notok "missing sender: exit 2 (got $rc)"
"$bc" spf --dns "not an address" 192.0.2.1 user@spf.test > /dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && ok "unusable --dns: exit 1" || notok "unusable --dns: exit 1 (got $rc)"

echo "1..$n"
[ $failed -eq 0 ]

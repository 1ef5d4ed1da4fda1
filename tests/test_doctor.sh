#!/usr/bin/env bash
# test_doctor.sh BOUNCECHECK - `bouncecheck doctor` (src/lib/health/doctor.c) end
# to end, and GET /v1/doctor of `serve`, in a network namespace of its own
# (tests/netns_local.sh): NSD answers there as the namespace's resolver
# (127.0.0.1:53) with a root zone, the test domain bclab.test, its reverse
# zone 22.11.in-addr.arpa, a DNSBL zone under the real name
# zen.spamhaus.org and gmail.com with its real MX name (only this namespace
# asks them). The sending addresses 11.22.1.x sit on lo:
#
#   11.22.1.1  PTR mail.bclab.test, which resolves back        (all pass)
#   11.22.1.2  no PTR                                           (ptr fail)
#   11.22.1.3  PTR other.bclab.test; HELO mail.bclab.test is 11.22.1.1
#                                                         (helo_resolves fail)
#   11.22.1.4  listed on zen as 127.0.0.2                       (blocklist fail)
#   11.22.1.5  zen answers 127.255.255.254                      (blocklist warn)
#   11.22.1.6  PTR stale.bclab.test, which resolves to 11.22.9.9 (ptr fail)
#
# bclab.test's MX is tests/scripted_smtp.py on 11.22.0.25:25 (port25 pass);
# deadmx.bclab.test's MX is 11.22.0.26, where nothing listens (port25 fail);
# privmx.bclab.test's MX is 127.0.0.25 (port25 warn: the SSRF guard);
# microsocks on 127.0.0.1:1080 is the --proxy. The JSON shape, the exit
# codes, the settings from env and config files, the source address found
# through the route (a default route on lo with source 11.22.1.1), a
# private source, and /v1/doctor (validated against openapi.json, with the
# keys rules of /v1/dns, and its web UI page in headless Chromium when
# installed) are checked. BC_DOCTOR_DEBUG=1 prints every report at the end.
# Needs root: skips otherwise. Prints TAP.
set -u
bin=${1:?usage: test_doctor.sh path/to/bouncecheck}
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---- outside: make the namespace and run this script again inside it -------------------
if [ -z "${BC_DOCTOR_NETNS:-}" ] && { [ ! -x /usr/bin/python3 ] || ! command -v curl > /dev/null 2>&1; }; then
    echo "1..0 # SKIP needs curl and python3"
    exit 0
fi
# shellcheck disable=SC2317 # called by netns_local_enter
netns_local_setup() {
    local a
    for a in 11.22.1.1 11.22.1.2 11.22.1.3 11.22.1.4 11.22.1.5 11.22.1.6 11.22.0.25 11.22.0.26; do
        ip -n "$1" addr add "$a/32" dev lo || return 1
    done
    # the way out of this world: everything else leaves from 11.22.1.1
    # (only asked for a route by the doctor; nothing is ever sent there)
    ip -n "$1" route add default dev lo src 11.22.1.1
}
# shellcheck source=tests/netns_local.sh
. "$here/netns_local.sh"
netns_local_enter bcdoc BC_DOCTOR_NETNS "${BASH_SOURCE[0]}" "$bin"

# ---- inside the namespace -----------------------------------------------------------------
# shellcheck source=tests/nsd_local.sh
. "$here/nsd_local.sh"
nsd_local_begin doctor
work=$NSD_LOCAL_WORK
py=/usr/bin/python3
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
pids=()
# shellcheck disable=SC2317 # called by the EXIT trap of nsd_local_begin
nsd_local_on_exit() { local p; for p in "${pids[@]}"; do kill -KILL "$p" 2> /dev/null; wait "$p" 2> /dev/null; done; }
export BOUNCECHECK_DATA_DIR=$work/lists   # no such directory: the built-in lists
export XDG_CONFIG_HOME=$work/config HOME=$work   # no user config file of the machine
unset BOUNCECHECK_HELO BOUNCECHECK_FROM BOUNCECHECK_SOURCE_IP BOUNCECHECK_DNS BOUNCECHECK_SMTP_PORT
# show FILE... - the files as TAP comments (after a failure)
show() { sed 's/^/#   /' "$@" 2> /dev/null | head -n 60; }

# ---- the DNS of this world -------------------------------------------------------------------
cat > "$work/bclab.test.zone" <<'EOF'
$ORIGIN bclab.test.
$TTL 300
@ IN SOA ns hostmaster 1 3600 600 86400 60
@ IN NS ns
ns IN A 127.0.0.1
@ IN MX 10 mx
mx IN A 11.22.0.25
mail IN A 11.22.1.1
other IN A 11.22.1.3
listed IN A 11.22.1.4
refused IN A 11.22.1.5
stale IN A 11.22.9.9
deadmx IN MX 10 mx-dead
mx-dead IN A 11.22.0.26
privmx IN MX 10 mx-priv
mx-priv IN A 127.0.0.25
nullmx IN MX 0 .
EOF
cat > "$work/22.11.in-addr.arpa.zone" <<'EOF'
$ORIGIN 22.11.in-addr.arpa.
$TTL 300
@ IN SOA ns.bclab.test. hostmaster.bclab.test. 1 3600 600 86400 60
@ IN NS ns.bclab.test.
1.1 IN PTR mail.bclab.test.
3.1 IN PTR other.bclab.test.
4.1 IN PTR listed.bclab.test.
5.1 IN PTR refused.bclab.test.
6.1 IN PTR stale.bclab.test.
25.0 IN PTR mx.bclab.test.
EOF
cat > "$work/zen.spamhaus.org.zone" <<'EOF'
$ORIGIN zen.spamhaus.org.
$TTL 300
@ IN SOA ns.bclab.test. hostmaster.bclab.test. 1 3600 600 86400 60
@ IN NS ns.bclab.test.
4.1.22.11 IN A 127.0.0.2
4.1.22.11 IN TXT "https://check.spamhaus.org/query/ip/11.22.1.4"
5.1.22.11 IN A 127.255.255.254
EOF
# gmail.com as on the Internet, as far as the doctor asks: its MX names Google's host
cat > "$work/gmail.com.zone" <<'EOF'
$ORIGIN gmail.com.
$TTL 300
@ IN SOA ns.bclab.test. hostmaster.bclab.test. 1 3600 600 86400 60
@ IN NS ns.bclab.test.
@ IN MX 5 gmail-smtp-in.l.google.com.
EOF
nsd_local_start "$work" 53 . bclab.test 22.11.in-addr.arpa zen.spamhaus.org gmail.com || exit 1

# the MX of bclab.test: a well-behaved SMTP server on port 25
"$py" "$here/scripted_smtp.py" --listen 11.22.0.25:25 --mode normal --log "$work/smtp.log" > "$work/smtp.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do grep -q ready "$work/smtp.out" 2> /dev/null && break; sleep 0.1; done

# doc NAME ARGS... - runs `doctor --json ARGS` into $work/NAME.json (stderr
# NAME.err); its exit status in rc
doc() {
    local name=$1
    shift
    "$bin" doctor --json --dns 127.0.0.1 --connect-timeout 3 --greeting-timeout 5 "$@" \
        > "$work/$name.json" 2> "$work/$name.err"
    rc=$?
}
# expect NAME PYTHON - runs the Python assertions with `r` the report of NAME
# and `c(name, subject=None)` its check; exit status 0 when they hold
expect() {
    "$py" - "$work/$1.json" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def c(name, subject=None):
    hits = [x for x in r["checks"] if x["name"] == name and x.get("subject") == subject]
    assert len(hits) == 1, (name, subject, r)
    return hits[0]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("assertion failed:", e, json.dumps(r, indent=1)[:3000], file=sys.stderr)
    sys.exit(1)
PY
}

# ---- a host that does everything right ------------------------------------------------------
doc good --source-ip 11.22.1.1 --helo mail.bclab.test
expect good '
assert list(r) == ["ok", "checks"] and r["ok"] is True
assert [x["name"] for x in r["checks"]] == ["ptr", "helo_resolves", "helo_domain", "from_domain", "port25", "blocklist"]
for x in r["checks"]:
    keys = ["name", "status", "detail", "fix"] + (["subject"] if x["name"] in ("ptr", "blocklist") else [])
    assert list(x) == keys, x
    assert x["status"] == "pass" and x["fix"] is None and x["detail"] and "\n" not in x["detail"], x
assert c("ptr", "11.22.1.1")["detail"] == "11.22.1.1 has PTR mail.bclab.test, which resolves back to it (FCrDNS)"
assert c("helo_resolves")["detail"] == "helo mail.bclab.test resolves to 11.22.1.1"
assert "mx.bclab.test [11.22.0.25]:25 from 11.22.1.1 greets with 220" in c("port25")["detail"]
assert "zen.spamhaus.org" in c("blocklist", "11.22.1.1")["detail"]
' 2> "$work/good.chk"
ok $(( rc || $? )) "good host: ok true, six checks in order, all pass with fix null, subject only on ptr and blocklist (exit $rc)"
[ $? = 0 ] || show "$work/good.chk" "$work/good.err"
grep -q "CONNECT 11.22.1.1:" "$work/smtp.log"
ok $? "the port 25 test connected from the source address 11.22.1.1"
[ $? = 0 ] || show "$work/smtp.log"
! grep -Eq " C (MAIL|RCPT|DATA)" "$work/smtp.log"
ok $? "the port 25 test sends no MAIL, RCPT or DATA"

# ---- one problem at a time --------------------------------------------------------------------
doc noptr --source-ip 11.22.1.2 --helo mail.bclab.test
expect noptr '
p = c("ptr", "11.22.1.2")
assert r["ok"] is False and p["status"] == "fail" and "11.22.1.2 has no PTR record" in p["detail"], p
assert "reverse DNS (PTR)" in p["fix"], p
' 2> "$work/noptr.chk"
ok $(( rc != 1 || $? )) "no PTR: ptr fails, ok false, exit 1 ($rc)"
[ $? = 0 ] || show "$work/noptr.chk" "$work/noptr.err"

doc mismatch --source-ip 11.22.1.3 --helo mail.bclab.test
expect mismatch '
assert c("ptr", "11.22.1.3")["status"] == "pass"
h = c("helo_resolves")
assert h["status"] == "fail" and h["detail"] == "helo mail.bclab.test resolves to 11.22.1.1, not to 11.22.1.3", h
assert "11.22.1.3" in h["fix"], h
' 2> "$work/mismatch.chk"
ok $(( rc != 1 || $? )) "HELO that resolves elsewhere: helo_resolves fails saying 'helo mail.bclab.test resolves to 11.22.1.1, not to 11.22.1.3' ($rc)"
[ $? = 0 ] || show "$work/mismatch.chk" "$work/mismatch.err"

doc listed --source-ip 11.22.1.4 --helo listed.bclab.test
expect listed '
b = c("blocklist", "11.22.1.4")
assert b["status"] == "fail" and "11.22.1.4 is listed on zen.spamhaus.org (127.0.0.2 SBL (spam source))" in b["detail"], b
assert "https://check.spamhaus.org/" in b["fix"], b
assert c("ptr", "11.22.1.4")["status"] == "pass" and c("helo_resolves")["status"] == "pass"
' 2> "$work/listed.chk"
ok $(( rc != 1 || $? )) "listed on zen (127.0.0.2): blocklist fails with the Spamhaus lookup URL ($rc)"
[ $? = 0 ] || show "$work/listed.chk" "$work/listed.err"

doc refused --source-ip 11.22.1.5 --helo refused.bclab.test
expect refused '
b = c("blocklist", "11.22.1.5")
assert b["status"] == "warn" and "Spamhaus refuses queries from your resolver" in b["detail"], b
assert "127.255.255.254" in b["detail"] and "listed" not in b["detail"], b
assert r["ok"] is True and all(x["status"] == "pass" for x in r["checks"] if x is not b)
' 2> "$work/refused.chk"
ok $(( rc || $? )) "zen answers 127.255.255.254: a warning (Spamhaus refuses your resolver), not a listing; ok true, exit 0 ($rc)"
[ $? = 0 ] || show "$work/refused.chk" "$work/refused.err"

doc stale --source-ip 11.22.1.6 --helo mail.bclab.test
expect stale '
p = c("ptr", "11.22.1.6")
assert p["status"] == "fail" and p["detail"].startswith("11.22.1.6 has PTR stale.bclab.test, which resolves to 11.22.9.9, not back to 11.22.1.6"), p
' 2> "$work/stale.chk"
ok $(( rc != 1 || $? )) "PTR whose name does not resolve back: ptr fails naming both addresses ($rc)"
[ $? = 0 ] || show "$work/stale.chk" "$work/stale.err"

doc gmail --source-ip 11.22.1.1 --helo mail.bclab.test --from verify@gmail.com
expect gmail '
f = c("from_domain")
assert f["status"] == "fail" and f["detail"] == "MAIL FROM verify@gmail.com: Gmail rejects mail that claims to come from it without its servers (DMARC)", f
assert f["fix"] and "--from" in f["fix"]
assert [x["name"] for x in r["checks"] if x["status"] != "pass"] == ["from_domain"], r
' 2> "$work/gmail.chk"
ok $(( rc != 1 || $? )) "MAIL FROM at gmail.com: from_domain fails, nothing else ($rc)"
[ $? = 0 ] || show "$work/gmail.chk" "$work/gmail.err"

doc gmailhelo --source-ip 11.22.1.1 --helo smtp.gmail.com
expect gmailhelo '
h = c("helo_domain")
assert h["status"] == "fail" and "Gmail" in h["detail"], h
' 2> "$work/gmailhelo.chk"
ok $(( rc != 1 || $? )) "HELO smtp.gmail.com: helo_domain fails ($rc)"
[ $? = 0 ] || show "$work/gmailhelo.chk" "$work/gmailhelo.err"

doc dead --source-ip 11.22.1.1 --helo mail.bclab.test --domain deadmx.bclab.test
expect dead '
p = c("port25")
assert p["status"] == "fail" and "mx-dead.bclab.test [11.22.0.26]:25" in p["detail"] and "refused" in p["detail"], p
assert p["fix"] == "Your provider blocks outbound port 25: use --proxy socks5://... or another host.", p
' 2> "$work/dead.chk"
ok $(( rc != 1 || $? )) "MX where nothing listens: port25 fails with the proxy fix ($rc)"
[ $? = 0 ] || show "$work/dead.chk" "$work/dead.err"

doc priv --source-ip 11.22.1.1 --helo mail.bclab.test --domain privmx.bclab.test
expect priv '
p = c("port25")
assert p["status"] == "warn" and "127.0.0.25" in p["detail"] and "loopback" in p["detail"] and "--allow-private" in p["detail"], p
' 2> "$work/priv.chk"
ok $(( rc || $? )) "MX on a loopback address: not contacted without --allow-private (warn, exit 0: $rc)"
[ $? = 0 ] || show "$work/priv.chk" "$work/priv.err"

doc short --source-ip 11.22.1.1 --helo localhost
expect short '
h = c("helo_resolves")
assert h["status"] == "fail" and "not a fully qualified domain name" in h["detail"], h
' 2> "$work/short.chk"
ok $(( rc != 1 || $? )) "HELO localhost: helo_resolves fails (not a FQDN) ($rc)"
[ $? = 0 ] || show "$work/short.chk" "$work/short.err"

doc two --source-ip 11.22.1.1 --source-ip 11.22.1.4 --helo mail.bclab.test
expect two '
assert [(x["name"], x.get("subject")) for x in r["checks"]] == [("ptr", "11.22.1.1"), ("ptr", "11.22.1.4"),
    ("helo_resolves", None), ("helo_domain", None), ("from_domain", None), ("port25", None),
    ("blocklist", "11.22.1.1"), ("blocklist", "11.22.1.4")], r
assert c("blocklist", "11.22.1.1")["status"] == "pass" and c("blocklist", "11.22.1.4")["status"] == "fail"
assert c("helo_resolves")["detail"] == "helo mail.bclab.test resolves to 11.22.1.1, not to 11.22.1.4"
' 2> "$work/two.chk"
ok $(( rc != 1 || $? )) "two source addresses: a ptr and a blocklist check each, with their subject ($rc)"
[ $? = 0 ] || show "$work/two.chk" "$work/two.err"

doc nat --source-ip 10.1.2.3 --helo mail.bclab.test
expect nat '
assert c("ptr", "10.1.2.3")["status"] == "warn" and "private address" in c("ptr", "10.1.2.3")["detail"]
assert c("helo_resolves")["status"] == "warn" and c("blocklist", "10.1.2.3")["status"] == "warn"
p = c("port25")
assert p["status"] == "pass" and "from the address the OS chose (10.1.2.3 is not an address of this host)" in p["detail"], p
assert r["ok"] is True
' 2> "$work/nat.chk"
ok $(( rc || $? )) "a private source (behind NAT), not on this host: warnings, not failures; port 25 from the OS's choice ($rc)"
[ $? = 0 ] || show "$work/nat.chk" "$work/nat.err"

# ---- the source address found through the route ----------------------------------------------
doc found --helo mail.bclab.test --domain nullmx.bclab.test
expect found '
p = c("ptr", "11.22.1.1")
assert p["status"] == "pass" and "; found as the address the OS would send from towards 192.0.2.1" in p["detail"], p
assert c("port25")["status"] == "warn" and "null MX" in c("port25")["detail"]
' 2> "$work/found.chk"
ok $(( rc || $? )) "no --source-ip: the address the OS would use (11.22.1.1) is found and said so ($rc)"
[ $? = 0 ] || show "$work/found.chk" "$work/found.err"

doc foundmx --helo mail.bclab.test
expect foundmx '
p = c("ptr", "11.22.0.25")
assert "towards MX mx.bclab.test [11.22.0.25] of bclab.test" in p["detail"], p
' 2> "$work/foundmx.chk"
ok $? "no --source-ip: the route is asked towards the MX of the HELO name's domain"
[ $? = 0 ] || show "$work/foundmx.chk" "$work/foundmx.err"

# ---- through a SOCKS5 proxy (the setting proxy, as verify uses it) -------------------------------
if command -v microsocks > /dev/null 2>&1; then
    # its outgoing connections leave from 11.22.1.3: the SMTP server's log shows the way
    microsocks -i 127.0.0.1 -p 1080 -b 11.22.1.3 > /dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 1 50); do (exec 3<> /dev/tcp/127.0.0.1/1080) 2> /dev/null && break; sleep 0.1; done
    : > "$work/smtp.log"
    doc proxy --proxy socks5://127.0.0.1:1080 --source-ip 11.22.1.1 --helo mail.bclab.test
    expect proxy '
p = c("port25")
assert p["status"] == "pass" and "through the SOCKS5 proxy 127.0.0.1:1080 greets with 220" in p["detail"], p
assert r["ok"] is True
' 2> "$work/proxy.chk" && grep -q "CONNECT 11.22.1.3:" "$work/smtp.log"
    ok $(( rc || $? )) "--proxy: port 25 is tested through the SOCKS5 proxy (the server sees the proxy's address) ($rc)"
    [ $? = 0 ] || show "$work/proxy.chk" "$work/proxy.err" "$work/smtp.log"

    doc proxysrc --proxy socks5://127.0.0.1:1080 --helo mail.bclab.test
    expect proxysrc '
p = c("ptr")
assert p["status"] == "warn" and "SOCKS5 proxy 127.0.0.1:1080" in p["detail"] and "outgoing address" in p["fix"], p
assert c("blocklist")["status"] == "warn" and c("helo_resolves")["status"] == "warn"
' 2> "$work/proxysrc.chk"
    ok $(( rc || $? )) "--proxy without --source-ip: the address receivers see is the proxy's, asked for (warnings) ($rc)"
    [ $? = 0 ] || show "$work/proxysrc.chk" "$work/proxysrc.err"

    doc proxydown --proxy socks5://127.0.0.1:1081 --source-ip 11.22.1.1 --helo mail.bclab.test
    expect proxydown '
p = c("port25")
assert p["status"] == "fail" and "SOCKS5 proxy 127.0.0.1:1081" in p["detail"] and p["fix"].startswith("Check --proxy"), p
' 2> "$work/proxydown.chk"
    ok $(( rc != 1 || $? )) "a proxy that does not answer: port25 fails naming the proxy ($rc)"
    [ $? = 0 ] || show "$work/proxydown.chk" "$work/proxydown.err"
else
    for w in "through the proxy" "proxy without --source-ip" "proxy down"; do
        ok 0 "# SKIP microsocks is not installed: $w"
    done
fi

# ---- settings from the environment and a config file -------------------------------------------
BOUNCECHECK_HELO=mail.bclab.test BOUNCECHECK_SOURCE_IP=11.22.1.1 doc env
expect env 'assert r["ok"] is True and c("ptr", "11.22.1.1")["status"] == "pass"' 2> "$work/env.chk"
ok $(( rc || $? )) "BOUNCECHECK_HELO and BOUNCECHECK_SOURCE_IP apply ($rc)"
[ $? = 0 ] || show "$work/env.chk" "$work/env.err"
printf 'helo = mail.bclab.test\nsource-ip = 11.22.1.1\nfrom = someone@gmail.com\n' > "$work/doctor.conf"
doc conf --config "$work/doctor.conf"
expect conf 'assert c("from_domain")["status"] == "fail" and "someone@gmail.com" in c("from_domain")["detail"]' 2> "$work/conf.chk"
ok $(( rc != 1 || $? )) "helo, source-ip and from from --config FILE apply ($rc)"
[ $? = 0 ] || show "$work/conf.chk" "$work/conf.err"

# ---- the table, usage and a DNS that cannot be used -------------------------------------------
"$bin" doctor --dns 127.0.0.1 --source-ip 11.22.1.2 --helo mail.bclab.test > "$work/table.out" 2> "$work/table.err"
rc=$?
[ "$rc" = 1 ] && grep -Eq '^ptr 11\.22\.1\.2 +fail +11\.22\.1\.2 has no PTR record' "$work/table.out" &&
    grep -q '^What to change:' "$work/table.out" && grep -q '^  ptr 11.22.1.2: Ask whoever runs 11.22.1.2' "$work/table.out" &&
    grep -q 'checks failed' "$work/table.out"
ok $? "the table: one row a check, the fixes below it, a summary line (exit $rc)"
[ $? = 0 ] || show "$work/table.out" "$work/table.err"

for bad in "--source-ip not-an-ip" "--smtp-port 0" "--frobnicate" "extra-argument" "--domain bad..name"; do
    # shellcheck disable=SC2086 # the words are the arguments
    "$bin" doctor --dns 127.0.0.1 --helo mail.bclab.test $bad > "$work/usage.out" 2> "$work/usage.err"
    rc=$?
    [ "$rc" = 2 ] && [ ! -s "$work/usage.out" ] && [ -s "$work/usage.err" ]
    ok $? "usage error '$bad': exit 2, a message, nothing on stdout ($rc)"
done

doc nodns --dns 127.0.0.9 --source-ip 11.22.1.1 --helo mail.bclab.test
[ "$rc" = 1 ] && [ ! -s "$work/nodns.json" ] && grep -q "doctor: the DNS cannot be used: resolver 127.0.0.9" "$work/nodns.err"
ok $? "a resolver that does not answer: 'the DNS cannot be used', exit 1, nothing on stdout ($rc)"
[ $? = 0 ] || show "$work/nodns.err"

# ---- serve: the check at start and GET /v1/doctor ---------------------------------------------
chk="$here/api/openapi_check.py"
doc_api="$here/../src/server/openapi.json"
have_schema=0
"$py" -c 'import jsonschema' 2> /dev/null && have_schema=1
hp=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$hp"
"$bin" serve --listen "127.0.0.1:$hp" --data "$work/srv" --dns 127.0.0.1 --source-ip 11.22.1.5 \
    --helo refused.bclab.test --connect-timeout 3 --greeting-timeout 5 > /dev/null 2> "$work/serve.log" &
spid=$!
pids+=("$spid")
for _ in $(seq 1 100); do grep -Eq "doctor: (every|[0-9]+ of [0-9]+ checks)" "$work/serve.log" 2> /dev/null && break; sleep 0.1; done
grep -q "doctor: warn blocklist 11.22.1.5: 11.22.1.5 could not be checked: Spamhaus refuses queries from your resolver" "$work/serve.log" &&
    grep -q "doctor: 1 of 6 checks did not pass" "$work/serve.log" && [ "$(grep -c 'doctor: ' "$work/serve.log")" = 2 ]
ok $? "serve logs one line per check that did not pass at start, then a summary"
[ $? = 0 ] || show "$work/serve.log"

curl -s -o "$work/api.body" -w '%{http_code} %{content_type}' "$base/v1/doctor" > "$work/api.meta" 2> /dev/null
read -r code ctype < "$work/api.meta"
cp "$work/api.body" "$work/api.json"
expect api '
assert list(r) == ["ok", "checks"] and r["ok"] is True
b = c("blocklist", "11.22.1.5")
assert b["status"] == "warn" and b["fix"], b
assert c("ptr", "11.22.1.5")["status"] == "pass" and c("port25")["status"] == "pass"
' 2> "$work/api.chk"
ok $(( $? || code != 200 )) "GET /v1/doctor: 200 with the report of the server's settings ($code)"
[ $? = 0 ] || show "$work/api.chk" "$work/api.body"
if [ "$have_schema" = 1 ]; then
    "$py" "$chk" "$doc_api" --response GET /v1/doctor "$code" "$ctype" < "$work/api.body" > "$work/api.oa" 2>&1
    ok $? "the answer matches openapi.json"
    [ $? = 0 ] || show "$work/api.oa"
else
    ok 0 "# SKIP python3-jsonschema is not installed: openapi.json not checked"
fi
sessions=$(grep -c CONNECT "$work/smtp.log")
curl -s "$base/v1/doctor" > "$work/api2.body" 2> /dev/null
cmp -s "$work/api.body" "$work/api2.body" && [ "$(grep -c CONNECT "$work/smtp.log")" = "$sessions" ]
ok $? "a second GET /v1/doctor is the kept report: no new connection to port 25"
curl -s -o /dev/null -w '%{http_code}' -X POST "$base/v1/doctor" > "$work/post.code" 2> /dev/null
[ "$(cat "$work/post.code")" = 405 ]
ok $? "POST /v1/doctor is 405"
# the web UI's "Before you start" page renders the same report (headless
# Chromium, when installed: the full UI suite is tests/webui)
if [ -x /usr/bin/chromium ]; then
    timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu --user-data-dir="$work/chromium" \
        --virtual-time-budget=10000 --dump-dom "$base/#/tools/doctor" > "$work/ui.html" 2> "$work/ui.err"
    grep -q 'id="doctor-report"' "$work/ui.html" && grep -q 'data-check="blocklist" data-status="warn"' "$work/ui.html" &&
        grep -q 'Spamhaus refuses queries from your resolver' "$work/ui.html" && grep -q 'How to fix: ' "$work/ui.html"
    ok $? "the web UI's Before you start page shows the checks, the warning and its fix"
    [ $? = 0 ] || show "$work/ui.html"
else
    ok 0 "# SKIP chromium is not installed: the web UI page is not checked"
fi
kill -TERM "$spid" 2> /dev/null; wait "$spid" 2> /dev/null

# with an API key, /v1/doctor needs it, as /v1/dns does
"$bin" keys create --data "$work/srv" > "$work/key.out" 2> /dev/null
key=$(head -n 1 "$work/key.out")
"$bin" serve --listen "127.0.0.1:$hp" --data "$work/srv" --dns 127.0.0.1 --source-ip 11.22.1.1 \
    --helo mail.bclab.test > /dev/null 2> "$work/serve2.log" &
spid=$!
pids+=("$spid")
for _ in $(seq 1 100); do curl -s -o /dev/null "$base/healthz" 2> /dev/null && break; sleep 0.1; done
a=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/doctor")
d=$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/dns?domain=bclab.test")
b=$(curl -s -o "$work/keyed.json" -w '%{http_code}' -H "Authorization: Bearer $key" "$base/v1/doctor")
[ "$a" = 401 ] && [ "$d" = 401 ] && [ "$b" = 200 ] && expect keyed 'assert r["ok"] is True'
ok $? "with a key: /v1/doctor 401 without it (as /v1/dns: $d), 200 with it ($a, $b)"
[ $? = 0 ] || show "$work/keyed.json" "$work/serve2.log"
kill -TERM "$spid" 2> /dev/null; wait "$spid" 2> /dev/null

"$bin" serve --listen "127.0.0.1:$hp" --data "$work/srv3" --offline > /dev/null 2> "$work/serve3.log" &
spid=$!
pids+=("$spid")
for _ in $(seq 1 100); do curl -s -o /dev/null "$base/healthz" 2> /dev/null && break; sleep 0.1; done
o=$(curl -s -o "$work/off.body" -w '%{http_code}' "$base/v1/doctor")
[ "$o" = 503 ] && ! grep -q "doctor:" "$work/serve3.log"
ok $? "serve --offline: no doctor at start, /v1/doctor is 503 ($o)"
kill -TERM "$spid" 2> /dev/null; wait "$spid" 2> /dev/null

[ -n "${BC_DOCTOR_DEBUG:-}" ] && for f in "$work"/*.json "$work"/*.err "$work"/table.out "$work"/serve*.log; do echo "== $f"; cat "$f"; done
echo "1..$n"
[ "$failed" = 0 ]

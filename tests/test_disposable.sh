#!/usr/bin/env bash
# test_disposable.sh BOUNCECHECK - `bouncecheck disposable`: offline against
# the built-in lists (a listed domain, a subdomain matched through its
# parent, a free-mail domain that is not disposable, the allow list
# overriding the disposable list, IDN input, unusable input), then has_mx
# against a real NSD on 127.0.0.1 (tests/nsd_local.sh) with --dns. Prints TAP.
set -u
bin=${1:?usage: test_disposable.sh path/to/bouncecheck}
# shellcheck source=tests/nsd_local.sh
. "$(dirname "${BASH_SOURCE[0]}")/nsd_local.sh"
py=/usr/bin/python3; [ -x $py ] || py=python3
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
work=$(mktemp -d /tmp/bc-test-disposable.XXXXXX) || exit 1
nsd_local_on_exit() { rm -rf "$work"; }
trap nsd_local_on_exit EXIT
export BOUNCECHECK_DATA_DIR=$work/none   # no such directory: the built-in lists
run() { "$@" > "$work/out" 2> "$work/err"; rc=$?; }
# check DESC PYTHON: runs PYTHON with `rows` = the JSON lines of $work/out.
check() {
    local desc=$1
    "$py" - "$work/out" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
exec(sys.argv[2])
PY
    local r=$?
    ok $r "$desc"
    [ $r = 0 ] || sed 's/^/#   /' "$work/out" "$work/err"
}

# ---- offline -------------------------------------------------------------
run "$bin" disposable --json --offline mailinator.com someone@mail.mailinator.com gmail.com \
  'Ürün@BÜCHER.de' xn--bcher-kva.de
[ "$rc" = 0 ]; ok $? "--json --offline on good inputs exits 0 (got $rc)"
check "one object per input, in order" '
assert [r["input"] for r in rows] == ["mailinator.com", "someone@mail.mailinator.com",
    "gmail.com", "Ürün@BÜCHER.de", "xn--bcher-kva.de"], rows
for r in rows:
    for k in ("input", "domain", "disposable", "matched", "allowlisted", "has_mx", "registrable_domain"):
        assert k in r, (k, r)
    assert r["has_mx"] is None, r'
check "mailinator.com is disposable, matched by itself" '
r = rows[0]
assert r["domain"] == "mailinator.com" and r["disposable"] is True, r
assert r["matched"] == "mailinator.com" and r["allowlisted"] is False, r
assert r["registrable_domain"] == "mailinator.com" and r["list"], r'
check "an address at a subdomain is matched by its parent" '
r = rows[1]
assert r["domain"] == "mail.mailinator.com" and r["disposable"] is True, r
assert r["matched"] == "mailinator.com" and r["registrable_domain"] == "mailinator.com", r'
check "gmail.com is not disposable (and is allow-listed)" '
r = rows[2]
assert r["disposable"] is False and r["matched"] is None and r["list"] is None, r
assert r["allowlisted"] is True and r["allow_matched"] == "gmail.com", r'
check "IDN input in U-labels and A-labels gives the A-label domain" '
for r in rows[3:5]:
    assert r["domain"] == "xn--bcher-kva.de", r
    assert r["unicode_domain"] == "bücher.de", r
    assert r["registrable_domain"] == "xn--bcher-kva.de" and r["disposable"] is False, r'

# The allow list of the data directory overrides the disposable list.
mkdir -p "$work/data"
printf 'mailinator.com\n' > "$work/data/allow.txt"
run "$bin" --data-dir "$work/data" disposable --json --offline sub.mailinator.com yopmail.com
check "an allow-listed disposable domain is not disposable, the entries are shown" '
r = rows[0]
assert r["disposable"] is False and r["matched"] == "mailinator.com", r
assert r["allowlisted"] is True and r["allow_matched"] == "mailinator.com", r
r = rows[1]
assert r["disposable"] is True and r["allowlisted"] is False, r'

# Unusable input: an "error" member, the rest still answered, exit 3.
run "$bin" disposable --json --offline 'not a domain' mailinator.com 'a@@b' '' 'x@[192.0.2.1]'
[ "$rc" = 3 ]; ok $? "bad input: exit 3 (got $rc)"
check "bad input: objects with input and error, the good one answered" '
assert len(rows) == 5, rows
for i in (0, 2, 3, 4):
    assert rows[i].get("error") and "disposable" not in rows[i], rows[i]
assert rows[1]["disposable"] is True and "error" not in rows[1], rows[1]
assert rows[0]["input"] == "not a domain", rows'

run "$bin" disposable --json --offline MAILINATOR.COM.
check "a fully qualified upper-case domain (final dot) is understood" '
assert rows[0]["domain"] == "mailinator.com" and rows[0]["disposable"] is True, rows'
run "$bin" disposable --offline mailinator.com gmail.com
[ "$rc" = 0 ] && grep -Eq '^mailinator\.com +mailinator\.com +yes +mailinator\.com ' "$work/out" &&
  grep -Eq '^gmail\.com +gmail\.com +no ' "$work/out"; ok $? "the table shows disposable yes/no and the match"
run "$bin" disposable --offline 'bad@@input'
[ "$rc" = 3 ] && grep -q "^bouncecheck: disposable: 'bad@@input': not a domain or an address" "$work/err"
ok $? "bad input in table mode: a message and exit 3"
run "$bin" disposable --offline
[ "$rc" = 2 ]; ok $? "no input is a usage error"
run "$bin" disposable --frob x.org
[ "$rc" = 2 ]; ok $? "an unknown option is a usage error"
run "$bin" help disposable
[ "$rc" = 0 ] && grep -q -- '--offline' "$work/out"; ok $? "help disposable"

# ---- has_mx against a real authoritative server -------------------------------
if [ ! -x "$NSD_LOCAL_BIN" ]; then
    echo "ok $((n+1)) # SKIP nsd is not installed (Debian package nsd)"
    n=$((n+1))
    echo "1..$n"
    [ "$failed" = 0 ]
    exit
fi
nsd_local_begin disposable
read -r port dead_port < <(nsd_local_ports 2)
cat > "$NSD_LOCAL_WORK/dsp.test.zone" <<'EOF'
$ORIGIN dsp.test.
$TTL 300
@          IN SOA  ns.dsp.test. hostmaster.dsp.test. 1 3600 600 86400 60
@          IN NS   ns
ns         IN A    127.0.0.1
withmx     IN MX   10 mx
mx         IN A    192.0.2.25
implicit   IN AAAA 2001:db8::25
nullmx     IN MX   0 .
nomail     IN TXT  "no mail here"
EOF
nsd_local_start "$NSD_LOCAL_WORK" "$port" dsp.test || exit 1

run "$bin" disposable --json --dns "127.0.0.1:$port" withmx.dsp.test a@implicit.dsp.test \
  nullmx.dsp.test nomail.dsp.test absent.dsp.test
[ "$rc" = 0 ]; ok $? "online --json exits 0 (got $rc)"
check "has_mx: MX true, implicit AAAA true, null MX / no records / NXDOMAIN false" '
assert [r["has_mx"] for r in rows] == [True, True, False, False, False], rows
assert all("dns_error" not in r for r in rows), rows'
run "$bin" disposable --dns "127.0.0.1:$port" withmx.dsp.test nomail.dsp.test
grep -Eq '^withmx\.dsp\.test .* yes$' "$work/out" && grep -Eq '^nomail\.dsp\.test .* no$' "$work/out"
ok $? "the table's HAS_MX column"
nsd_local_stop
run "$bin" disposable --json --dns "127.0.0.1:$dead_port" withmx.dsp.test
[ "$rc" = 0 ]; ok $? "DNS not answering: still exit 0 (got $rc)"
check "DNS not answering: has_mx null with dns_error" '
assert rows[0]["has_mx"] is None and rows[0]["dns_error"], rows'

echo "1..$n"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# test_cli.sh BOUNCECHECK - the command line as a user runs it. Prints TAP.
set -u
bin=$1
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
# expect_rc WANT DESC CMD...: run CMD, compare its exit status.
expect_rc() {
  local want=$1 desc=$2; shift 2
  "$@" >/tmp/bc_cli_out.$$ 2>/tmp/bc_cli_err.$$; local rc=$?
  [ "$rc" = "$want" ]; ok $? "$desc (exit $rc, want $want)"
}
out() { cat /tmp/bc_cli_out.$$; }
err() { cat /tmp/bc_cli_err.$$; }
trap 'rm -f /tmp/bc_cli_out.$$ /tmp/bc_cli_err.$$' EXIT
export BOUNCECHECK_DATA_DIR=$(mktemp -d)   # an empty data dir: built-in lists
trap 'rm -rf "$BOUNCECHECK_DATA_DIR" /tmp/bc_cli_out.$$ /tmp/bc_cli_err.$$' EXIT
py=/usr/bin/python3; [ -x $py ] || py=python3

expect_rc 0 "--help" "$bin" --help
out | grep -q '^Usage: bouncecheck'; ok $? "--help prints usage"
expect_rc 0 "--version" "$bin" --version
out | grep -Eq '^bouncecheck [0-9]+\.[0-9]+\.[0-9]+$'; ok $? "--version prints the version"
expect_rc 0 "help verify" "$bin" help verify
out | grep -q -- '--offline'; ok $? "help verify documents --offline"
expect_rc 0 "verify --help" "$bin" verify --help
expect_rc 0 "help lists" "$bin" help lists
expect_rc 2 "help for an unknown command" "$bin" help nosuch
expect_rc 2 "no command" "$bin"
expect_rc 2 "unknown command" "$bin" frobnicate
err | grep -q "unknown command 'frobnicate'"; ok $? "unknown command is named in the message"
expect_rc 2 "unknown global option" "$bin" --nosuch
expect_rc 2 "verify without addresses" "$bin" verify --offline
expect_rc 2 "verify with an unknown option" "$bin" verify --offline --frob a@b.com

# Online settings: bad values are usage errors naming the problem; the
# config file and the environment are read, the command line wins.
expect_rc 2 "verify --timeout abc" "$bin" verify --timeout abc a@b.com
err | grep -q "timeout"; ok $? "the message names the bad option"
expect_rc 2 "verify --mx-connections 0" "$bin" verify --mx-connections 0 a@b.com
expect_rc 2 "verify --greylist-schedule x" "$bin" verify --greylist-schedule 5,x a@b.com
expect_rc 2 "verify --source-ip not-an-ip" "$bin" verify --source-ip nope a@b.com
expect_rc 2 "verify --dns not-an-ip" "$bin" verify --dns nope a@b.com
expect_rc 2 "verify --proxy socks5h://" "$bin" verify --proxy socks5h://192.0.2.1:1080 a@b.com
err | grep -q "socks5h:// (names resolved by the proxy) is not supported"; ok $? "the socks5h message says why"
expect_rc 2 "verify --proxy without a port" "$bin" verify --proxy 'socks5://u:hunter2@192.0.2.1' a@b.com
! err | grep -q hunter2; ok $? "a proxy message never quotes the password"
BOUNCECHECK_PROXY=http://192.0.2.1:3128 "$bin" verify a@b.com >/dev/null 2>/tmp/bc_cli_err.$$; rc=$?
[ "$rc" = 2 ] && err | grep -q BOUNCECHECK_PROXY; ok $? "a bad BOUNCECHECK_PROXY is a usage error naming the variable (exit $rc)"
expect_rc 2 "verify --config missing file" "$bin" verify --config /nonexistent/bc.conf a@b.com
cfg=$(mktemp); printf '# comment\nhelo = mx.bclab.net\nfrozzle = 1\n' > "$cfg"
expect_rc 2 "config file with an unknown key" "$bin" verify --config "$cfg" a@b.com
err | grep -q "$cfg:3"; ok $? "the message gives file:line"
printf 'timeout = 5\n' > "$cfg"
BOUNCECHECK_TIMEOUT=zz "$bin" verify --config "$cfg" a@b.com >/dev/null 2>/tmp/bc_cli_err.$$; rc=$?
[ "$rc" = 2 ] && err | grep -q BOUNCECHECK_TIMEOUT; ok $? "a bad environment value is a usage error naming the variable (exit $rc)"
rm -f "$cfg"
# Addresses decided before any network step come back at once, online too.
expect_rc 0 "verify (online) of offline-decidable addresses" "$bin" verify --json --dns 127.0.0.1:9 \
  'bad@@x.com' 'user@example.com' 'someone@host.invalid'
[ "$(out | grep -c '"status":"undeliverable"')" = 3 ]; ok $? "invalid syntax and special-use domains are undeliverable without DNS"

# JSON: one object per address, in input order, every field present.
expect_rc 0 "verify --offline --json" "$bin" verify --offline --json \
  'Jane.Doe@Gmail.com' 'not an address' 'x@mailinator.com' 'alice@gmial.com' 'Admin+ops@acme-corp.com' 'info@BÜCHER.de'
out > /tmp/bc_cli_json.$$
$py - /tmp/bc_cli_json.$$ <<'PY'; ok $? "JSON lines are right (order, fields, verdicts)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 6, len(rows)
want_email = ['Jane.Doe@Gmail.com', 'not an address', 'x@mailinator.com', 'alice@gmial.com',
              'Admin+ops@acme-corp.com', 'info@BÜCHER.de']
assert [r["email"] for r in rows] == want_email, [r["email"] for r in rows]
fields = ["email", "normalized", "local", "domain", "ascii_domain", "status", "reason", "score", "syntax",
          "disposable", "role", "role_category", "free", "accept_all", "suggestion", "mx", "smtp", "provider",
          "duration_ms"]
for r in rows:
    for f in fields:
        assert f in r, (f, r)
    assert 0 <= r["score"] <= 100
g, bad, disp, typo, role, idn = rows
assert (g["status"], g["reason"]) == ("unknown", "unverified"), g
assert g["normalized"] == "Jane.Doe@gmail.com", g["normalized"]
assert g["free"] is True and g["disposable"] is False, g
assert (bad["status"], bad["reason"]) == ("undeliverable", "invalid_syntax"), bad
assert bad["syntax"]["valid"] is False and bad["syntax"]["code"].startswith("err_"), bad
assert (disp["status"], disp["reason"], disp["disposable"]) == ("risky", "disposable", True), disp
assert typo["suggestion"] == "alice@gmail.com", typo
assert role["role"] is True and role["role_category"] == "admin", role
assert idn["domain"] == "bücher.de" and idn["ascii_domain"] == "xn--bcher-kva.de", idn
PY
rm -f /tmp/bc_cli_json.$$

# Unsafe Unicode and impossible domains are invalid syntax, each with its
# own code; internationalised addresses stay valid.
expect_rc 0 "verify --offline --json of unsafe characters" "$bin" verify --offline --json \
  $'a\xe2\x80\x8bb@example.com' $'pay\xe2\x80\xaegpj.exe@iana.org' $'a\xc2\xa0b@iana.org' $'\xcc\x81a@iana.org' \
  'user@ab--cd.com' 'user@iana.123' 'δοκιμή@παράδειγμα.δοκιμή'
out > /tmp/bc_cli_json.$$
$py - /tmp/bc_cli_json.$$ <<'PY'; ok $? "unsafe characters and domain rules: invalid_syntax with their codes"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
want = ["err_invisible_char", "err_bidi_control", "err_unicode_whitespace", "err_leading_combining_mark",
        "err_domain_hyphen34", "err_tld_invalid"]
assert len(rows) == len(want) + 1, len(rows)
for r, code in zip(rows, want):
    assert (r["status"], r["reason"]) == ("undeliverable", "invalid_syntax"), r
    assert r["syntax"]["code"] == code and r["syntax"]["valid"] is False, (code, r["syntax"])
    assert r["normalized"] is None, r
assert "\u200b" in rows[0]["email"], rows[0]["email"]
idn = rows[-1]
assert idn["syntax"]["valid"] is True and idn["reason"] != "invalid_syntax", idn
assert idn["ascii_domain"] == "xn--hxajbheg2az3al.xn--jxalpdlp", idn
PY
rm -f /tmp/bc_cli_json.$$

# Table: headers, one row per address, hostile bytes made harmless.
expect_rc 0 "verify --offline (table)" "$bin" verify --offline 'a@b.com' $'evil\e[31m@x.com' 'temp@mailinator.com'
out | head -1 | grep -q '^EMAIL *STATUS *REASON *SCORE *FLAGS *SUGGESTION'; ok $? "table header"
[ "$(out | wc -l)" = 4 ]; ok $? "table has a row per address"
! out | grep -q $'\e'; ok $? "escape sequences never reach the terminal"
out | grep -q 'evil\\x1b\[31m@x.com'; ok $? "control bytes are shown as \\xNN"
out | grep -q '^temp@mailinator.com *risky *disposable'; ok $? "disposable row in the table"

# A long argument is a result, not a crash.
long=$(head -c 100000 /dev/zero | tr '\0' 'a')
expect_rc 0 "100 kB argument" "$bin" verify --offline --json "$long@example.com"
out | grep -q '"code":"err_input_toolong"'; ok $? "100 kB argument diagnosed err_input_toolong"

# The sample list that `make run` shows.
sample="${BC_SOURCE_ROOT:-.}/examples/sample.txt"
if [ -f "$sample" ]; then
  xargs -d '\n' -a "$sample" "$bin" verify --offline --json > /tmp/bc_cli_out.$$ 2>/dev/null; rc=$?
  [ "$rc" = 0 ] && [ "$(out | wc -l)" = "$(grep -c '' "$sample")" ]; ok $? "sample list: one result per line"
fi

# Output to a closed pipe / full disk is an error, not silence.
if [ -w /dev/full ]; then
  "$bin" verify --offline a@b.com >/dev/full 2>/dev/null; rc=$?
  [ "$rc" = 1 ]; ok $? "write error is reported (exit $rc)"
fi

echo "1..$n"
[ $failed = 0 ]

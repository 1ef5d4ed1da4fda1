#!/usr/bin/env bash
# test_keys.sh BOUNCECHECK - `bouncecheck keys` create/list/revoke against a
# temporary server data directory. Prints TAP.
set -u
bin=$1
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# expect_rc WANT DESC CMD...: run CMD, compare its exit status.
expect_rc() {
  local want=$1 desc=$2; shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
  [ "$rc" = "$want" ]; ok $? "$desc (exit $rc, want $want)"
}
out() { cat "$tmp/out"; }
err() { cat "$tmp/err"; }
py=/usr/bin/python3; [ -x $py ] || py=python3
data=$tmp/data
unset BOUNCECHECK_DATA

expect_rc 0 "keys --help" "$bin" keys --help
out | grep -q '^Usage: bouncecheck keys create'; ok $? "keys --help prints the usage"
expect_rc 0 "help keys" "$bin" help keys
"$bin" --help | grep -q '^  keys '; ok $? "the main help lists keys"
expect_rc 2 "keys without an action" "$bin" keys
expect_rc 2 "keys with an unknown action" "$bin" keys frob

expect_rc 0 "keys create" "$bin" keys create --name crm --rate 5/s --daily 1000 --data "$data"
key=$(out | head -n 1)
printf '%s\n' "$key" | grep -Eq '^bck_[A-Za-z0-9_-]{43}$'; ok $? "the key alone on line 1: $key"
id=$(out | sed -n 's/^id: //p')
printf '%s\n' "$id" | grep -Eq '^k_[0-9a-f]{12}$'; ok $? "an id line: $id"
out | grep -qx 'name: crm'; ok $? "a name line"
out | grep -qx 'rate: 5/s'; ok $? "a rate line"
out | grep -qx 'daily: 1000'; ok $? "a daily line"
out | grep -qx 'admin: no'; ok $? "an admin line: no"
[ "$(err | wc -l)" = 1 ] && err | grep -q 'only once'; ok $? "one reminder line on stderr"
! out | grep -q 'only once'; ok $? "the reminder is not on stdout"
[ "$(stat -c %a "$data/bouncecheck.db")" = 600 ]; ok $? "the db file is mode 0600"
[ "$(stat -c %a "$data")" = 700 ]; ok $? "the data dir is mode 0700"

expect_rc 0 "keys create with the rate as a bare number" "$bin" keys create --rate 2.5 --data "$data"
out | grep -qx 'rate: 2.5/s'; ok $? "rate 2.5 shown as 2.5/s"
key2=$(out | head -n 1); id2=$(out | sed -n 's/^id: //p')
[ "$key" != "$key2" ] && [ "$id" != "$id2" ]; ok $? "a second key differs"

expect_rc 0 "keys list" "$bin" keys list --data "$data"
out | head -n 1 | grep -Eq '^ID +NAME +CREATED +RATE +DAILY +STATUS'; ok $? "list header"
out | grep "^$id " | grep -q 'active'; ok $? "list shows the key active"
out | grep "^$id " | grep -Eq '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC'; ok $? "list shows the creation time"
! out | grep -q "$key"; ok $? "list never shows the secret"
! grep -q "${key#bck_}" "$data/bouncecheck.db"; ok $? "the secret is not in the database"

expect_rc 0 "keys list --json" "$bin" keys list --json --data "$data"
out | "$py" -c '
import json, re, sys
keys = json.load(sys.stdin)
assert isinstance(keys, list) and len(keys) == 2, keys
k = keys[0]
assert set(k) == {"id", "name", "created_at", "rate", "daily", "admin", "status"}, k
assert k["admin"] is False and keys[1]["admin"] is False, keys
assert k["id"] == sys.argv[1] and k["name"] == "crm" and k["rate"] == 5 and k["daily"] == 1000, k
assert k["status"] == "active", k
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", k["created_at"]), k
assert keys[1]["name"] is None and keys[1]["daily"] is None and keys[1]["rate"] == 2.5, keys[1]
' "$id"; ok $? "list --json parses with the right fields"

expect_rc 0 "keys revoke" "$bin" keys revoke "$id" --data "$data"
out | grep -qx "revoked $id"; ok $? "revoke says revoked ID"
expect_rc 0 "keys list after revoke" "$bin" keys list --data "$data"
out | grep "^$id " | grep -q 'revoked'; ok $? "list shows the key revoked"
out | grep "^$id2 " | grep -q 'active'; ok $? "the other key stays active"
"$bin" keys list --json --data "$data" | "$py" -c '
import json, sys
st = {k["id"]: k["status"] for k in json.load(sys.stdin)}
assert st == {sys.argv[1]: "revoked", sys.argv[2]: "active"}, st
' "$id" "$id2"; ok $? "list --json shows revoked"
expect_rc 0 "revoking again" "$bin" keys revoke "$id" --data "$data"
expect_rc 1 "revoke an unknown id" "$bin" keys revoke k_000000000000 --data "$data"
err | grep -q 'k_000000000000'; ok $? "the unknown id is named"
expect_rc 2 "revoke without an id" "$bin" keys revoke --data "$data"

for bad in 0 -1 abc 5/m 1e7 nan inf ''; do
  expect_rc 2 "bad --rate '$bad'" "$bin" keys create --rate "$bad" --data "$data"
done
err | grep -q -- '--rate'; ok $? "the message names --rate"
for bad in 0 -5 1.5 x 99999999999999999999; do
  expect_rc 2 "bad --daily '$bad'" "$bin" keys create --daily "$bad" --data "$data"
done
expect_rc 2 "create with an unknown option" "$bin" keys create --frob --data "$data"
expect_rc 2 "create with a too long name" "$bin" keys create --name "$(printf 'x%.0s' $(seq 200))" --data "$data"
[ "$("$bin" keys list --json --data "$data" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2 ]
ok $? "failed creates made no key"

# Admin keys: they may manage keys through the API (/v1/keys).
adata=$tmp/admin
expect_rc 0 "keys create --admin" "$bin" keys create --name ops --admin --data "$adata"
akey=$(out | head -n 1); aid=$(out | sed -n 's/^id: //p')
printf '%s\n' "$akey" | grep -Eq '^bck_[A-Za-z0-9_-]{43}$'; ok $? "--admin: the key alone on line 1"
out | grep -qx 'admin: yes'; ok $? "--admin: an admin line: yes"
expect_rc 0 "keys create without --admin beside it" "$bin" keys create --name plain --data "$adata"
pid_=$(out | sed -n 's/^id: //p')
expect_rc 0 "keys list with an admin key" "$bin" keys list --data "$adata"
out | head -n 1 | grep -Eq '^ID +NAME +CREATED +RATE +DAILY +STATUS +ADMIN$'; ok $? "list header has an ADMIN column"
out | grep "^$aid " | grep -Eq 'active +admin *$'; ok $? "list shows the admin key as admin"
! out | grep "^$pid_ " | grep -q 'admin *$'; ok $? "and the other one not"
"$bin" keys list --json --data "$adata" | "$py" -c '
import json, sys
adm = {k["id"]: k["admin"] for k in json.load(sys.stdin)}
assert adm == {sys.argv[1]: True, sys.argv[2]: False}, adm
' "$aid" "$pid_"; ok $? "list --json: admin true for the admin key, false for the other"
expect_rc 2 "--admin takes no value" "$bin" keys create --admin=yes --data "$adata"
"$bin" keys --help | grep -q -- '--admin'; ok $? "keys --help documents --admin"

# Concurrent writers (like the server and this command) wait for each other.
for i in 1 2 3 4 5 6; do "$bin" keys create --name "par$i" --data "$data" >/dev/null 2>&1 & done
wait
[ "$("$bin" keys list --json --data "$data" | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 8 ]
ok $? "6 concurrent creates all land"

# The default directory comes from $BOUNCECHECK_DATA, then $XDG_DATA_HOME.
BOUNCECHECK_DATA=$tmp/envdata "$bin" keys create --name env >/dev/null 2>&1
[ -f "$tmp/envdata/bouncecheck.db" ]; ok $? "\$BOUNCECHECK_DATA is the default directory"
mkdir -p "$tmp/xdg"
env -u BOUNCECHECK_DATA XDG_DATA_HOME="$tmp/xdg" "$bin" keys list >/dev/null 2>&1
[ -f "$tmp/xdg/bouncecheck/bouncecheck.db" ]; ok $? "else \$XDG_DATA_HOME/bouncecheck"
expect_rc 1 "a data dir whose parent is missing" "$bin" keys list --data "$tmp/no/such"
err | grep -q "$tmp/no/such"; ok $? "the message names the directory"

# --db: a PostgreSQL URL (tests/test_store_pg.sh runs it on a real server);
# empty means SQLite in --data, as does an empty $BOUNCECHECK_DB.
expect_rc 1 "keys list --db with another scheme" "$bin" keys list --db "mysql://u:hunter2@h/db" --data "$data"
err | grep -q 'postgres://'; ok $? "the message says a postgres:// URL is expected"
! err | grep -q hunter2; ok $? "the message masks the URL's password"
expect_rc 1 "keys --db with an unreachable server" "$bin" keys --db "postgresql://bc:hunter2@127.0.0.1:1/bc" list
err | grep -q 'postgresql://bc:\*\*\*@127.0.0.1:1/bc'; ok $? "the message names the database, password masked"
! err | grep -q hunter2; ok $? "the password never shows"
expect_rc 0 "keys list --db '' is SQLite in --data" "$bin" keys list --json --db "" --data "$data"
[ "$(out | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 8 ]; ok $? "the same 8 keys"
BOUNCECHECK_DB="" "$bin" keys list --json --data "$data" > "$tmp/out" 2>&1
[ "$(out | "$py" -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 8 ]; ok $? "an empty \$BOUNCECHECK_DB is SQLite too"
"$bin" keys --help | grep -q -- '--db URL'; ok $? "keys --help documents --db"

echo "1..$n"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# test_status.sh BOUNCECHECK - `bouncecheck status` on a throwaway
# PostgreSQL (tests/pg_local.sh): an empty database; then workers (one
# seen now, one a minute ago), claims (one live, one whose lease ran out)
# and three jobs (running, queued, done) put in by hand, as a server and
# its workers would have left them; the table and --json show them with
# the right counts (weights summed). A bad URL fails without showing the
# password, bad usage exits 2. Then the same on SQLite (--data): empty,
# and filled alike. Prints TAP.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg_local.sh
. "$here/pg_local.sh"
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

pg_local_begin status
if ! pg_local_start 2>"$PG_LOCAL_WORK/start.err"; then
    echo "Bail out! PostgreSQL did not start: $(tail -n 5 "$PG_LOCAL_WORK/start.err" | tr '\n' ' ')"
    exit 1
fi
w=$PG_LOCAL_WORK
pw=$PG_LOCAL_PASSWORD
url=$PG_LOCAL_URL
unset BOUNCECHECK_DATA BOUNCECHECK_DB PGPASSWORD
export HOME="$w/home" XDG_DATA_HOME="$w/xdg" # never the user's own data
py=$PG_LOCAL_PY

# run NAME ARGS...: bouncecheck ARGS > $w/NAME.out 2> $w/NAME.err; $rc is its exit status.
run() {
    local name=$1
    shift
    "$bin" "$@" > "$w/$name.out" 2> "$w/$name.err"
    rc=$?
}
# no_password NAME: neither output of run NAME shows the cluster's password.
no_password() { ! grep -qF -- "$pw" "$w/$1.out" "$w/$1.err"; ok $? "$1: the password is never shown"; }

# ---- 1. usage ------------------------------------------------------------------------
run help help status
[ "$rc" = 0 ] && grep -q '^Usage: bouncecheck status' "$w/help.out"
ok $? "help status prints the usage (exit $rc)"
run dashhelp status --help
[ "$rc" = 0 ] && cmp -s "$w/help.out" "$w/dashhelp.out"
ok $? "status --help prints the same (exit $rc)"
run badflag status --no-such-flag --db "$url"
[ "$rc" = 2 ] && grep -q "help status" "$w/badflag.err"
ok $? "an unknown option exits 2 with a hint (exit $rc)"
run badarg status extra --db "$url"
[ "$rc" = 2 ] && grep -q "unexpected argument 'extra'" "$w/badarg.err"
ok $? "an extra argument exits 2 (exit $rc)"

# ---- 2. an empty database ------------------------------------------------------------
run empty status --db "$url"
[ "$rc" = 0 ] && grep -q '^Workers: none registered$' "$w/empty.out" && grep -q '^Claims: none live$' "$w/empty.out" &&
    grep -q '^Queue: no job waiting$' "$w/empty.out"
ok $? "an empty (fresh) database: no workers, no claims, no queue, exit 0 (exit $rc)"
[ "$rc" = 0 ] || diag "$(cat "$w/empty.err")"
grep -q "^Database: postgresql://bc:\*\*\*@127.0.0.1:$PG_LOCAL_PORT/bctest$" "$w/empty.out"
ok $? "the database is named with its password masked"
no_password empty
BOUNCECHECK_DB=$url "$bin" status --json > "$w/emptyjson.out" 2> "$w/emptyjson.err"
rc=$?
[ "$rc" = 0 ] && "$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d == {"workers": [], "claims": [], "queue": []}, d' "$w/emptyjson.out" 2> "$w/emptyjson.py"
ok $? "--json with \$BOUNCECHECK_DB: three empty arrays (exit $rc)"
[ -s "$w/emptyjson.py" ] && diag "$(cat "$w/emptyjson.py")"

# ---- 3. workers, claims and jobs -----------------------------------------------------
# Job A (running): rows of weights 3 (done), 2 + 1 (live claim of alpha on
# example.com), 4 (pending), 1 (claimed by beta, lease run out): pending 4,
# claimed 4 (expired or not), done 3. Job B (queued): 1 + 2 pending. Job C
# is done: not in the queue. Beta's host holds an escape sequence.
ja=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
jb=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
jc=cccccccccccccccccccccccccccccccc
c1=11111111111111111111111111111111
c2=22222222222222222222222222222222
# fill_sql CHR: the SQL putting them in, as of now; CHR is the backend's
# function from a code to a character (PostgreSQL chr, SQLite char).
fill_sql() {
    local now s
    now=$(date +%s%3N)
    s=$((now / 1000))
    cat <<SQL
INSERT INTO workers(id, name, host, addrs, started_at, last_seen) VALUES
  ('w_000000000001', 'alpha', 'node1.example.net', '192.0.2.10,192.0.2.11', $((now - 3600000)), $now),
  ('w_000000000002', 'beta', 'node2' || $1(27) || '[31m', '', $((now - 7200000)), $((now - 60000)));
INSERT INTO jobs(id, key_id, name, status, total, created_at) VALUES
  ('$ja', '', 'list one', 1, 11, $((s - 300))),
  ('$jb', '', NULL, 0, 3, $((s - 200))),
  ('$jc', '', 'old', 2, 1, $((s - 400)));
INSERT INTO job_rows(job_id, row_no, addr, domain, state, claim_id, holder, lease_until, status, weight) VALUES
  ('$ja', 1, 'a@example.com', 'example.com', 2, '$c1', 'w_000000000001', 0, 1, 3),
  ('$ja', 2, 'b@example.com', 'example.com', 1, '$c1', 'w_000000000001', $((now + 45000)), NULL, 2),
  ('$ja', 3, 'c@example.com', 'example.com', 1, '$c1', 'w_000000000001', $((now + 45000)), NULL, 1),
  ('$ja', 4, 'd@example.org', 'example.org', 0, NULL, NULL, 0, NULL, 4),
  ('$ja', 5, 'e@example.net', 'example.net', 1, '$c2', 'w_000000000002', $((now - 5000)), NULL, 1),
  ('$jb', 1, 'x@example.net', 'example.net', 0, NULL, NULL, 0, NULL, 1),
  ('$jb', 2, 'y@example.com', 'example.com', 0, NULL, NULL, 0, NULL, 2),
  ('$jc', 1, 'z@example.com', 'example.com', 2, NULL, NULL, 0, 1, 1);
SQL
}

# fill_pg_sql CHR: the same rows for PostgreSQL's store (schema 11: rows
# packed in chunks with their place in their domain, results in batches,
# claims as ranges in job_claims, the pairs' cursors in job_domains, the
# counters in job_counts).
fill_pg_sql() {
    local now
    now=$(date +%s%3N)
    fill_sql "$1" | sed -n '1,/^INSERT INTO job_rows/p' | sed '$d'
    cat <<SQL
INSERT INTO job_chunks(job_id, domain, lo, hi, row_nos, weights, addrs, fields) VALUES
  ('$ja', 'example.com', 0, 3, '{1,2,3}', '{3,2,1}', '{a@example.com,b@example.com,c@example.com}',
   '{NULL,NULL,NULL}'),
  ('$ja', 'example.org', 0, 1, '{4}', '{4}', '{d@example.org}', '{NULL}'),
  ('$ja', 'example.net', 0, 1, '{5}', '{1}', '{e@example.net}', '{NULL}'),
  ('$jb', 'example.net', 0, 1, '{1}', '{1}', '{x@example.net}', '{NULL}'),
  ('$jb', 'example.com', 0, 1, '{2}', '{2}', '{y@example.com}', '{NULL}'),
  ('$jc', 'example.com', 0, 1, '{1}', '{1}', '{z@example.com}', '{NULL}');
INSERT INTO job_res(job_id, domain, claim_id, holder, row_nos, dseqs, statuses, reasons, results, attempts, weights,
  addrs, fields) VALUES
  ('$ja', 'example.com', '$c1', 'w_000000000001', '{1}', '{0}', '{1}', '{NULL}', '{NULL}', '{1}', '{3}',
   '{a@example.com}', '{NULL}'),
  ('$jc', 'example.com', '', NULL, '{1}', '{0}', '{1}', '{NULL}', '{NULL}', '{1}', '{1}', '{z@example.com}', '{NULL}');
INSERT INTO job_claims(claim_id, job_id, domain, holder, open_rows, open_weight, lease_until, lo, hi, attempt,
  done) VALUES
  ('$c1', '$ja', 'example.com', 'w_000000000001', 2, 3, $((now + 45000)), 0, 3, 1, '{0}'),
  ('$c2', '$ja', 'example.net', 'w_000000000002', 1, 1, $((now - 5000)), 0, 1, 1, '{}');
INSERT INTO job_domains(job_id, domain, next_dseq, end_dseq) VALUES
  ('$ja', 'example.com', 3, 3), ('$ja', 'example.org', 0, 1), ('$ja', 'example.net', 1, 1),
  ('$jb', 'example.net', 0, 1), ('$jb', 'example.com', 0, 1), ('$jc', 'example.com', 1, 1);
INSERT INTO job_counts(job_id, state, status, n) VALUES
  ('$ja', 0, -1, 8), ('$ja', 2, 1, 3), ('$jb', 0, -1, 3), ('$jc', 2, 1, 1);
SQL
}

# check_filled B STORE-OPTIONS...: the checks of `status` on a store
# filled by fill_sql; B names the backend in the test names.
check_filled() {
    local b=$1
    shift
    run "full-$b" status "$@"
    local out=$w/full-$b.out f0=$failed
    [ "$rc" = 0 ]
    ok $? "$b: status with workers and jobs exits 0 (exit $rc)"
    [ "$rc" = 0 ] || diag "$(cat "$w/full-$b.err")"
    grep -q '^Workers: 2 (1 alive, 1 stale)$' "$out"
    ok $? "$b: 2 workers: 1 alive, 1 stale"
    grep -E '^w_000000000001 +alpha +node1\.example\.net +192\.0\.2\.10,192\.0\.2\.11 +[0-9-]+ [0-9:]+ +[0-9]s ago +alive$' \
        "$out" > /dev/null
    ok $? "$b: alpha: host, addresses, seen seconds ago, alive"
    grep -E '^w_000000000002 +beta +node2\\x1b\[31m +default +[0-9-]+ [0-9:]+ +6[0-9]s ago +stale$' "$out" > /dev/null
    ok $? "$b: beta: seen a minute ago, stale; the escape in its host is shown as \\x1b"
    ! grep -q $'\x1b' "$out"
    ok $? "$b: no raw escape character reaches the terminal"
    grep -q '^Claims: 1 live$' "$out" &&
        grep -E "^w_000000000001 +alpha +$ja +example\.com +2 +4[0-5]s$" "$out" > /dev/null
    ok $? "$b: the live claim: alpha holds example.com, 2 rows left, about 45 s of lease"
    ! grep -E "^w_000000000002 .*example\.net" "$out" > /dev/null
    ok $? "$b: the claim whose lease ran out is not shown"
    grep -q '^Queue: 2 jobs$' "$out" &&
        grep -E "^$ja +list one +running +4 +4 +3 +11 +27\.2%$" "$out" > /dev/null &&
        grep -E "^$jb +- +queued +3 +0 +0 +3 +0\.0%$" "$out" > /dev/null
    ok $? "$b: the queue: running job (4 pending, 4 claimed, 3 done of 11), queued job (3 pending), by weight"
    ! grep -q "$jc" "$out"
    ok $? "$b: a done job is not in the queue"
    [ "$(grep -n "$ja" "$out" | tail -n 1 | cut -d: -f1)" -lt "$(grep -n "^$jb" "$out" | cut -d: -f1)" ]
    ok $? "$b: the queue is oldest first"
    no_password "full-$b"
    [ "$failed" = "$f0" ] || diag "$(cat "$out")"

    run "json-$b" status --json "$@"
    [ "$rc" = 0 ] && "$py" - "$w/json-$b.out" "$ja" "$jb" "$c1" 2> "$w/json-$b.py" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
ja, jb, c1 = sys.argv[2:5]
rfc3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
assert sorted(d) == ["claims", "queue", "workers"], sorted(d)
ws = {w["id"]: w for w in d["workers"]}
assert len(ws) == 2, ws
a, b = ws["w_000000000001"], ws["w_000000000002"]
assert a["name"] == "alpha" and a["host"] == "node1.example.net", a
assert a["addresses"] == ["192.0.2.10", "192.0.2.11"], a
assert a["alive"] is True and 0 <= a["last_seen_ago"] <= 9, a
assert b["alive"] is False and 60 <= b["last_seen_ago"] <= 69, b
assert b["addresses"] == [] and b["host"] == "node2\x1b[31m", b
for w in (a, b):
    assert rfc3339.match(w["started_at"]) and rfc3339.match(w["last_seen"]), w
assert len(d["claims"]) == 1, d["claims"]
c = d["claims"][0]
assert c["id"] == c1 and c["worker"] == "w_000000000001" and c["worker_name"] == "alpha", c
assert c["job"] == ja and c["domain"] == "example.com" and c["rows"] == 2, c
assert 40 <= c["lease_left"] <= 45 and rfc3339.match(c["lease_until"]), c
q = d["queue"]
assert [e["job"] for e in q] == [ja, jb], q
assert q[0]["name"] == "list one" and q[0]["status"] == "running", q[0]
assert (q[0]["pending"], q[0]["claimed"], q[0]["done"], q[0]["total"]) == (4, 4, 3, 11), q[0]
assert q[0]["percent"] == 27.2, q[0]
assert q[1]["name"] is None and q[1]["status"] == "queued", q[1]
assert (q[1]["pending"], q[1]["claimed"], q[1]["done"], q[1]["total"]) == (3, 0, 0, 3), q[1]
assert q[1]["percent"] == 0, q[1]
assert rfc3339.match(q[0]["created_at"]), q[0]
PY
    ok $? "$b: --json: valid JSON with the workers, the live claim and the queue's numbers (exit $rc)"
    [ -s "$w/json-$b.py" ] && diag "$(cat "$w/json-$b.py")"
    no_password "json-$b"
}

fill_pg_sql chr | pg_local_psql bctest > "$w/fill.log" 2>&1
ok $? "PostgreSQL: workers, jobs and rows are put in by hand"
[ -s "$w/fill.log" ] && diag "$(cat "$w/fill.log")"
check_filled PostgreSQL --db "$url"

# ---- 4. failures ---------------------------------------------------------------------
run nodb status --db "postgresql://bc:$pw@127.0.0.1:$PG_LOCAL_PORT/nosuchdb"
[ "$rc" = 1 ] && [ -s "$w/nodb.err" ] && grep -q 'nosuchdb' "$w/nodb.err"
ok $? "an unknown database: exit 1 with a message naming it (exit $rc)"
no_password nodb
port=$(pg_local_free_port)
run noserver status --json --db "postgres://bc:$pw@127.0.0.1:$port/bctest"
[ "$rc" = 1 ] && [ ! -s "$w/noserver.out" ] && grep -q '\*\*\*' "$w/noserver.err"
ok $? "no server at the URL: exit 1, nothing on stdout, the password masked (exit $rc)"
no_password noserver
run notpg status --db "mysql://bc:$pw@127.0.0.1/bctest"
[ "$rc" = 1 ]
ok $? "a URL that is not PostgreSQL: exit 1 (exit $rc)"
no_password notpg

# ---- 5. SQLite -----------------------------------------------------------------------
run nostore status --data "$w/sqlite"
[ "$rc" = 1 ] && grep -q "no server database in $w/sqlite" "$w/nostore.err" && [ ! -e "$w/sqlite" ]
ok $? "SQLite: a directory without a store: exit 1, and nothing is created (exit $rc)"
"$bin" keys list --data "$w/sqlite" > "$w/keys.out" 2>&1 # the server's store, made by the product
ok $? "SQLite: keys list makes an empty store"
run sqlite status --data "$w/sqlite"
[ "$rc" = 0 ] && grep -q "^Database: SQLite in $w/sqlite$" "$w/sqlite.out" &&
    grep -q '^Workers: none registered$' "$w/sqlite.out" && grep -q '^Queue: no job waiting$' "$w/sqlite.out"
ok $? "SQLite (--data DIR), an empty store: exit 0 (exit $rc)"
[ "$rc" = 0 ] || diag "$(cat "$w/sqlite.err")"
BOUNCECHECK_DATA="$w/sqlite" "$bin" status --json > "$w/sqlitejson.out" 2> "$w/sqlitejson.err"
rc=$?
[ "$rc" = 0 ] && "$py" -c '
import json, sys
assert json.load(open(sys.argv[1])) == {"workers": [], "claims": [], "queue": []}' "$w/sqlitejson.out"
ok $? "SQLite from \$BOUNCECHECK_DATA, --json: three empty arrays (exit $rc)"
fill_sql char | "$py" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript(sys.stdin.read())
db.close()' "$w/sqlite/bouncecheck.db" 2> "$w/fill-sqlite.log"
ok $? "SQLite: workers, jobs and rows are put in by hand"
[ -s "$w/fill-sqlite.log" ] && diag "$(cat "$w/fill-sqlite.log")"
check_filled SQLite --data "$w/sqlite"

echo "1..$n"
[ "$failed" = 0 ]

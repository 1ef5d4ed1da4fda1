#!/usr/bin/env bash
# test_store_pg.sh TEST_STORE BOUNCECHECK - the server's store on a real,
# throwaway PostgreSQL (tests/pg_local.sh): every check of test_store.c on
# PostgreSQL (and 4 processes claiming one job's rows at once, plainly
# and exclusively); schema migrations (databases of versions 1, 2 and 3
# migrated, a newer one refused, processes creating one fresh database at
# once); and end to end,
# `bouncecheck keys --db` and `bouncecheck serve --offline --db` (keys,
# a job to done, a restart, a revocation seen by the running server).
# Passwords never show in messages or logs. Prints TAP.
set -u
test_store=$1
bin=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg_local.sh
. "$here/pg_local.sh"
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

pg_local_begin store_pg
if ! pg_local_start 2>"$PG_LOCAL_WORK/start.err"; then
    echo "Bail out! PostgreSQL did not start: $(tail -n 5 "$PG_LOCAL_WORK/start.err" | tr '\n' ' ')"
    exit 1
fi
w=$PG_LOCAL_WORK
pw=$PG_LOCAL_PASSWORD
unset BOUNCECHECK_DATA BOUNCECHECK_DB PGPASSWORD
# no_password FILE DESC: FILE never shows the cluster's password.
no_password() { ! grep -qF -- "$pw" "$1"; ok $? "$2 never shows the password"; }

# ---- 1. every check of test_store.c, on PostgreSQL ----------------------------------
BC_PG_URL=$PG_LOCAL_URL "$test_store" > "$w/store.tap" 2>&1
rc=$?
inner=0
while IFS= read -r line; do
    case "$line" in
        "ok "*) inner=$((inner+1)); ok 0 "store: ${line#ok * - }" ;;
        "not ok "*) inner=$((inner+1)); ok 1 "store: ${line#not ok * - }" ;;
        "#"*) echo "$line" ;;
    esac
done < "$w/store.tap"
[ "$rc" = 0 ] && [ "$inner" -gt 150 ] && grep -q '^# PostgreSQL' "$w/store.tap"
ok $? "test_store ran its PostgreSQL checks too and exited 0 (exit $rc, $inner checks)"
no_password "$w/store.tap" "test_store's output"

# ---- 2. migrations -------------------------------------------------------------------
# The schema version this bouncecheck makes (src/store/store_impl.h).
SCHEMA=$(sed -n 's/^#define ST_SCHEMA_VERSION \([0-9]*\).*/\1/p' "${BC_SOURCE_ROOT:-$(dirname "$0")/..}/src/store/store_impl.h")

# A database left by a bouncecheck of schema version 1 (no admin keys, no
# job reasons), holding one key whose secret is known.
secret=bck_0000000000000000000000000000000000000000000
hash=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
url1=$(pg_local_createdb mig1)
pg_local_psql mig1 > "$w/mig1.log" 2>&1 <<EOF
CREATE TABLE bouncecheck_meta(k text PRIMARY KEY, v bigint NOT NULL);
INSERT INTO bouncecheck_meta VALUES ('schema_version', 1);
CREATE TABLE keys(id text PRIMARY KEY, hash bytea NOT NULL UNIQUE, name text NOT NULL DEFAULT '',
  created_at bigint NOT NULL, revoked_at bigint NOT NULL DEFAULT 0, rate double precision NOT NULL DEFAULT 0,
  daily bigint NOT NULL DEFAULT 0, seq bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE usage(key_id text NOT NULL, day text NOT NULL, n bigint NOT NULL, PRIMARY KEY (key_id, day));
CREATE TABLE jobs(id text PRIMARY KEY, key_id text NOT NULL DEFAULT '', name text, status integer NOT NULL,
  total bigint NOT NULL DEFAULT 0, processed bigint NOT NULL DEFAULT 0, n_unknown bigint NOT NULL DEFAULT 0,
  n_deliverable bigint NOT NULL DEFAULT 0, n_undeliverable bigint NOT NULL DEFAULT 0,
  n_risky bigint NOT NULL DEFAULT 0, created_at bigint NOT NULL, finished_at bigint NOT NULL DEFAULT 0,
  error text, webhook text, webhook_state integer NOT NULL DEFAULT 0, format text NOT NULL DEFAULT 'csv',
  seq bigint GENERATED ALWAYS AS IDENTITY);
CREATE TABLE cache(addr text PRIMARY KEY, json text NOT NULL, expires bigint NOT NULL);
INSERT INTO keys(id, hash, name, created_at, rate, daily) VALUES
  ('k_0123456789ab', decode('$hash', 'hex'), 'old', 1700000000, 2.5, 100);
INSERT INTO jobs(id, key_id, name, status, total, created_at) VALUES
  ('0123456789abcdef0123456789abcdef', 'k_0123456789ab', 'old job', 2, 3, 1700000000);
EOF
ok $? "a version 1 database is made by hand"
"$bin" keys list --json --db "$url1" > "$w/mig1.out" 2> "$w/mig1.err"
rc=$?
/usr/bin/python3 - "$w/mig1.out" 2>"$w/mig1.py" <<'EOF'
import json, sys
keys = json.load(open(sys.argv[1]))
assert len(keys) == 1, keys
k = keys[0]
assert k["id"] == "k_0123456789ab" and k["name"] == "old" and k["rate"] == 2.5 and k["daily"] == 100, k
assert k["admin"] is False and k["status"] == "active", k
EOF
pyrc=$?
[ "$rc" = 0 ] && [ "$pyrc" = 0 ]; ok $? "keys list --db on a version 1 database: migrated, the old key listed, not admin (exit $rc)"
got=$(pg_local_psql mig1 -At -c "SELECT v FROM bouncecheck_meta WHERE k = 'schema_version'")
[ "$got" = "$SCHEMA" ]; ok $? "the version 1 database is now at schema version $SCHEMA (got '$got')"
got=$(pg_local_psql mig1 -At -c "SELECT reasons FROM jobs; SELECT admin FROM keys")
[ "$got" = $'{}\nf' ]; ok $? "its job gained reasons '{}', its key admin false (got '${got//$'\n'/ }')"
got=$(pg_local_psql mig1 -At -c "SELECT v > 0 FROM bouncecheck_meta WHERE k = 'keys_version'")
[ "$got" = t ]; ok $? "the migration added the keys_version counter"
"$bin" keys revoke k_0123456789ab --db "$url1" > "$w/out" 2> "$w/err"
ok $? "the migrated key can be revoked"

# A database of schema version 2 (before job rows and workers), holding a
# key and a job: migrated to 4, both kept, the new tables usable.
url5=$(pg_local_createdb mig2)
pg_local_psql mig2 > "$w/mig2.log" 2>&1 <<EOF
CREATE TABLE bouncecheck_meta(k text PRIMARY KEY, v bigint NOT NULL);
INSERT INTO bouncecheck_meta VALUES ('schema_version', 2), ('keys_version', 5);
CREATE TABLE keys(id text PRIMARY KEY, hash bytea NOT NULL UNIQUE, name text NOT NULL DEFAULT '',
  created_at bigint NOT NULL, revoked_at bigint NOT NULL DEFAULT 0, rate double precision NOT NULL DEFAULT 0,
  daily bigint NOT NULL DEFAULT 0, seq bigint GENERATED ALWAYS AS IDENTITY,
  admin boolean NOT NULL DEFAULT false);
CREATE TABLE usage(key_id text NOT NULL, day text NOT NULL, n bigint NOT NULL, PRIMARY KEY (key_id, day));
CREATE TABLE jobs(id text PRIMARY KEY, key_id text NOT NULL DEFAULT '', name text, status integer NOT NULL,
  total bigint NOT NULL DEFAULT 0, processed bigint NOT NULL DEFAULT 0, n_unknown bigint NOT NULL DEFAULT 0,
  n_deliverable bigint NOT NULL DEFAULT 0, n_undeliverable bigint NOT NULL DEFAULT 0,
  n_risky bigint NOT NULL DEFAULT 0, created_at bigint NOT NULL, finished_at bigint NOT NULL DEFAULT 0,
  error text, webhook text, webhook_state integer NOT NULL DEFAULT 0, format text NOT NULL DEFAULT 'csv',
  seq bigint GENERATED ALWAYS AS IDENTITY, reasons text NOT NULL DEFAULT '{}');
CREATE TABLE cache(addr text PRIMARY KEY, json text NOT NULL, expires bigint NOT NULL);
INSERT INTO keys(id, hash, name, created_at, rate, daily, admin) VALUES
  ('k_0123456789ab', decode('$hash', 'hex'), 'v2', 1700000000, 1.5, 10, true);
INSERT INTO jobs(id, key_id, name, status, total, created_at, reasons) VALUES
  ('0123456789abcdef0123456789abcdef', 'k_0123456789ab', 'v2 job', 2, 3, 1700000000, '{"x":1}');
EOF
ok $? "a version 2 database is made by hand"
"$bin" keys list --json --db "$url5" > "$w/mig2.out" 2> "$w/mig2.err"
rc=$?
[ "$rc" = 0 ] && grep -q '"k_0123456789ab"' "$w/mig2.out" && grep -q '"admin": *true' "$w/mig2.out"
ok $? "keys list --db on a version 2 database: its admin key listed (exit $rc: $(head -c 200 "$w/mig2.err"))"
got=$(pg_local_psql mig2 -At -c "SELECT v FROM bouncecheck_meta WHERE k = 'schema_version'")
[ "$got" = "$SCHEMA" ]; ok $? "the version 2 database is now at schema version $SCHEMA (got '$got')"
got=$(pg_local_psql mig2 -At -c "SELECT name, reasons FROM jobs; SELECT v FROM bouncecheck_meta WHERE k = 'keys_version'")
[ "$got" = $'v2 job|{"x":1}\n5' ]; ok $? "its job and keys_version are kept (got '${got//$'\n'/ }')"
pg_local_psql mig2 -c "INSERT INTO job_chunks(job_id, domain, lo, hi, row_nos, weights, addrs, fields) VALUES
  ('0123456789abcdef0123456789abcdef', 'b.example', 0, 1, '{1}', '{1}', '{a@b.example}', '{NULL}');
  INSERT INTO workers(id, started_at, last_seen) VALUES ('w_000000000001', 1, 1)" > "$w/mig2-rows.out" 2>&1
ok $? "its new tables job_chunks and workers take rows"
got=$(pg_local_psql mig2 -At -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'job_chunks';
  SELECT string_agg(row_no || ':' || addr || ':' || dseq, ' ') FROM job_rows")
[ "$got" = $'1\n1:a@b.example:0' ]
ok $? "job_chunks has its key only; the view job_rows shows its row (got '${got//$'\n'/ }')"

# A database of schema version 3 (job rows without weights), holding a job
# and 3 of its rows (one done): migrated to 4, its rows of weight 1.
v3_schema=$(cat <<'EOF'
CREATE TABLE bouncecheck_meta(k text PRIMARY KEY, v bigint NOT NULL);
INSERT INTO bouncecheck_meta VALUES ('schema_version', 3), ('keys_version', 2);
CREATE TABLE keys(id text PRIMARY KEY, hash bytea NOT NULL UNIQUE, name text NOT NULL DEFAULT '',
  created_at bigint NOT NULL, revoked_at bigint NOT NULL DEFAULT 0, rate double precision NOT NULL DEFAULT 0,
  daily bigint NOT NULL DEFAULT 0, seq bigint GENERATED ALWAYS AS IDENTITY,
  admin boolean NOT NULL DEFAULT false);
CREATE TABLE usage(key_id text NOT NULL, day text NOT NULL, n bigint NOT NULL, PRIMARY KEY (key_id, day));
CREATE TABLE jobs(id text PRIMARY KEY, key_id text NOT NULL DEFAULT '', name text, status integer NOT NULL,
  total bigint NOT NULL DEFAULT 0, processed bigint NOT NULL DEFAULT 0, n_unknown bigint NOT NULL DEFAULT 0,
  n_deliverable bigint NOT NULL DEFAULT 0, n_undeliverable bigint NOT NULL DEFAULT 0,
  n_risky bigint NOT NULL DEFAULT 0, created_at bigint NOT NULL, finished_at bigint NOT NULL DEFAULT 0,
  error text, webhook text, webhook_state integer NOT NULL DEFAULT 0, format text NOT NULL DEFAULT 'csv',
  seq bigint GENERATED ALWAYS AS IDENTITY, reasons text NOT NULL DEFAULT '{}');
CREATE TABLE cache(addr text PRIMARY KEY, json text NOT NULL, expires bigint NOT NULL);
CREATE TABLE job_rows(job_id text NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, row_no bigint NOT NULL,
  addr text NOT NULL, domain text NOT NULL, fields bytea, state smallint NOT NULL DEFAULT 0, claim_id text,
  holder text, lease_until bigint NOT NULL DEFAULT 0, attempts integer NOT NULL DEFAULT 0, status smallint,
  reason text, result text, PRIMARY KEY (job_id, row_no));
CREATE INDEX job_rows_claim ON job_rows(job_id, state, domain);
CREATE INDEX job_rows_domain ON job_rows(domain, state);
CREATE INDEX job_rows_claim_id ON job_rows(claim_id);
CREATE TABLE workers(id text PRIMARY KEY, name text NOT NULL DEFAULT '', host text NOT NULL DEFAULT '',
  addrs text NOT NULL DEFAULT '', started_at bigint NOT NULL, last_seen bigint NOT NULL);
EOF
)
url6=$(pg_local_createdb mig3)
pg_local_psql mig3 > "$w/mig3.log" 2>&1 <<EOF
$v3_schema
INSERT INTO jobs(id, name, status, total, created_at) VALUES
  ('0123456789abcdef0123456789abcdef', 'v3 job', 1, 3, 1700000000);
INSERT INTO job_rows(job_id, row_no, addr, domain) VALUES
  ('0123456789abcdef0123456789abcdef', 1, 'a@b.example', 'b.example'),
  ('0123456789abcdef0123456789abcdef', 2, 'c@b.example', 'b.example');
INSERT INTO job_rows(job_id, row_no, addr, domain, state, claim_id, status, result) VALUES
  ('0123456789abcdef0123456789abcdef', 3, 'd@b.example', 'b.example', 2, 'c0', 1, '{}');
EOF
ok $? "a version 3 database with 3 job rows is made by hand"
"$bin" keys list --db "$url6" > "$w/mig3.out" 2> "$w/mig3.err"
ok $? "keys list --db on a version 3 database migrates it ($(head -c 200 "$w/mig3.err"))"
got=$(pg_local_psql mig3 -At -c "SELECT v FROM bouncecheck_meta WHERE k = 'schema_version'")
[ "$got" = "$SCHEMA" ]; ok $? "the version 3 database is now at schema version $SCHEMA (got '$got')"
got=$(pg_local_psql mig3 -At -c "SELECT string_agg(row_no || ':' || weight, ' ' ORDER BY row_no) FROM job_rows")
[ "$got" = "1:1 2:1 3:1" ]; ok $? "its rows are kept, each of weight 1 (got '$got')"
got=$(pg_local_psql mig3 -At -c "SELECT is_nullable FROM information_schema.columns
  WHERE table_name = 'job_chunks' AND column_name = 'weights'; SELECT count(*) FROM job_chunks")
[ "$got" = $'NO\n1' ]; ok $? "11: the rows are one chunk; job_chunks.weights is NOT NULL (got '${got//$'\n'/ }')"
got=$(pg_local_psql mig3 -At -c "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_name = 'job_rows';
  SELECT string_agg(row_no || ':' || status || ':' || claim_id || ':' || result, ' ') FROM job_results")
[ "$got" = $'job_id,row_no,addr,domain,fields,weight,dseq\n3:1:c0:{}' ]
ok $? "9 writes rows once: their state columns are gone, row 3's result is in job_results (got '${got//$'\n'/ }')"
got=$(pg_local_psql mig3 -At -c "SELECT pg_get_functiondef('bc_claim(text, text, bigint, bigint, bigint,
  boolean)'::regprocedure)" | tr -s ' \n' ' ')
case $got in
  *"CONTINUE WHEN p_excl AND NOT pg_try_advisory_xact_lock(hashtextextended('bc-domain:' || k, 0)); CONTINUE WHEN p_excl AND bc_key_busy(k, p_now);"*)
    r=0 ;;
  *) r=1 ;;
esac
ok $r "10: bc_claim looks for a live claim of the key in a statement of its own, after taking the key's lock"

# A database of schema version 3 holding a job's rows in every state
# (pending, claimed under a live and under an expired lease, given back,
# done with two statuses), migrated to the last version: job_counts is
# filled from its rows (8), the results move to job_results and the live
# claims are dropped (9: their rows claimable again, through the pairs'
# cursors), and a worker then finishes the job.
pg_local_createdb mig6 > /dev/null
pg_local_psql mig6 > "$w/mig6.log" 2>&1 <<EOF
$v3_schema
INSERT INTO jobs(id, name, status, total, created_at) VALUES
  ('0123456789abcdef0123456789abcdef', 'v3 job', 1, 8, 1700000000);
INSERT INTO job_rows(job_id, row_no, addr, domain, state, claim_id, holder, lease_until, status, result) VALUES
  ('0123456789abcdef0123456789abcdef', 1, 'a@b.example', 'b.example', 0, NULL, NULL, 0, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 2, 'b@b.example', 'b.example', 1, 'live', 'w_1', 9999999999999, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 3, 'c@b.example', 'b.example', 1, 'live', 'w_1', 9999999999999, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 4, 'd@c.example', 'c.example', 1, 'old', 'w_2', 1000, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 5, 'e@c.example', 'c.example', 0, 'gone', NULL, 0, NULL, NULL),
  ('0123456789abcdef0123456789abcdef', 6, 'f@c.example', 'c.example', 2, 'c0', 'w_3', 0, 1, '{}'),
  ('0123456789abcdef0123456789abcdef', 7, 'g@d.example', 'd.example', 2, 'c0', 'w_3', 0, 1, '{}'),
  ('0123456789abcdef0123456789abcdef', 8, 'h@d.example', 'd.example', 2, 'c0', 'w_3', 0, 3, '{}');
EOF
ok $? "a version 3 database with 8 job rows in every state is made by hand"
mig6_url="postgresql://bc:$pw@127.0.0.1:$PG_LOCAL_PORT/mig6"
"$bin" keys list --db "$mig6_url" > "$w/mig6.out" 2> "$w/mig6.err"
ok $? "keys list --db migrates it ($(head -c 200 "$w/mig6.err"))"
got=$(pg_local_psql mig6 -At -c "SELECT string_agg(state || '/' || status || ':' || n, ' ' ORDER BY state, status)
  FROM job_counts")
[ "$got" = "0/-1:5 2/1:2 2/3:1" ]; ok $? "job_counts: 5 open, done 2 + 1 (got '$got')"
"$bin" status --json --db "$mig6_url" > "$w/mig6-status.json" 2>&1
/usr/bin/python3 -c '
import json, sys
q = json.load(open(sys.argv[1]))["queue"]
assert [(x["pending"], x["claimed"], x["done"]) for x in q] == [(5, 0, 3)], q
' "$w/mig6-status.json" 2> "$w/mig6-status.err"
ok $? "status: its queue shows 5 pending (the old claims dropped), 0 claimed, 3 done ($(head -c 200 "$w/mig6-status.err"))"
got=$(pg_local_psql mig6 -At -c "SELECT count(*) FROM job_claims;
  SELECT string_agg(row_no || ':' || status || ':' || holder, ' ' ORDER BY row_no) FROM job_results;
  SELECT string_agg(row_no || ':' || dseq, ' ' ORDER BY row_no) FROM job_rows;
  SELECT string_agg(domain || ':' || next_dseq || '-' || end_dseq, ' ' ORDER BY domain) FROM job_domains")
[ "$got" = $'1\n6:1:w_3 7:1:w_3 8:3:w_3\n1:0 2:1 3:2 4:0 5:1 6:2 7:0 8:1\nb.example:0-3 c.example:3-3 d.example:2-2' ]
ok $? "no live claims (11: c.example's rows, one of them done past its cursor, a range given back); the done rows in job_results; each row's place in its domain; the cursors (got '${got//$'\n'/ | }')"
# A worker of this version finishes the job: the five open rows, each once.
"$bin" worker --db "$mig6_url" --offline --name mig6 > "$w/mig6-worker.out" 2>&1 &
wpid=$!
for _ in $(seq 1 100); do
  got=$(pg_local_psql mig6 -At -c "SELECT count(*) FROM job_results")
  [ "$got" = 8 ] && break
  sleep 0.2
done
kill -TERM "$wpid" 2>/dev/null
wait "$wpid"
wrc=$?
got=$(pg_local_psql mig6 -At -c "SELECT count(*), count(*) FILTER (WHERE holder LIKE 'w\_%' AND attempt = 1
  AND row_no <= 5) FROM job_results; SELECT sum(n) FILTER (WHERE state = 0), sum(n) FILTER (WHERE state = 2)
  FROM job_counts; SELECT count(*) FROM job_claims WHERE open_rows <> 0")
[ "$got" = $'8|5\n0|8\n0' ] && [ "$wrc" = 0 ]
ok $? "a worker verifies the 5 open rows once each; the counters say 8 done (got '${got//$'\n'/ | }', exit $wrc)"

# A database of a newer schema is refused, with a clear message.
url2=$(pg_local_createdb mignew)
"$bin" keys list --db "$url2" > /dev/null 2> "$w/err"
ok $? "keys list --db on an empty database creates the schema"
pg_local_psql mignew -c "UPDATE bouncecheck_meta SET v = 99 WHERE k = 'schema_version'" > /dev/null 2>&1
"$bin" keys list --db "$url2" > "$w/out" 2> "$w/newer.err"
rc=$?
[ "$rc" = 1 ] && grep -q 'schema version 99' "$w/newer.err" && grep -q "knows version $SCHEMA" "$w/newer.err"
ok $? "a database of schema version 99 is refused, saying so (exit $rc: $(head -c 300 "$w/newer.err"))"
grep -qF 'postgresql://bc:***@127.0.0.1' "$w/newer.err"; ok $? "the message names the database, password masked"
no_password "$w/newer.err" "the refusal"
"$bin" serve --offline --db "$url2" --data "$w/newer-data" --listen 127.0.0.1:0 > "$w/out" 2> "$w/newer-serve.err"
rc=$?
[ "$rc" = 1 ] && grep -q 'schema version 99' "$w/newer-serve.err"
ok $? "serve --db refuses it too (exit $rc)"
got=$(pg_local_psql mignew -At -c "SELECT v FROM bouncecheck_meta WHERE k = 'schema_version'")
[ "$got" = 99 ]; ok $? "the newer database is left as it was"

# Processes opening one fresh database at once: the advisory lock lets one
# migrate while the others wait, then they see version 2.
url3=$(pg_local_createdb race)
pids=()
for i in 1 2 3 4 5 6 7 8; do
    "$bin" keys create --name "race$i" --db "$url3" > "$w/race$i.out" 2> "$w/race$i.err" &
    pids+=($!)
done
bad=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || { bad=$((bad+1)); diag "race$((i+1)): $(cat "$w/race$((i+1)).err")"; }
done
[ "$bad" = 0 ]; ok $? "8 processes creating keys on one fresh database at once all succeed ($bad failed)"
got=$(pg_local_psql race -At -c "SELECT count(*) FROM keys; SELECT v FROM bouncecheck_meta WHERE k = 'schema_version'")
[ "$got" = "8"$'\n'"$SCHEMA" ]; ok $? "8 keys and schema version $SCHEMA (got '${got//$'\n'/ }')"

# --db must be a PostgreSQL URL; BOUNCECHECK_DB is the default.
"$bin" keys list --db "mysql://u:hunter2@h/db" > "$w/out" 2> "$w/err"
rc=$?
[ "$rc" = 1 ] && grep -q 'postgres://' "$w/err" && ! grep -q hunter2 "$w/err"
ok $? "keys --db with another scheme fails, password masked (exit $rc)"
BOUNCECHECK_DB=$url3 "$bin" keys list --json > "$w/out" 2> "$w/err"
[ "$(grep -c '"id"' "$w/out")" = 8 ]; ok $? "BOUNCECHECK_DB names the database when --db is not given"
PGPASSWORD=$pw "$bin" keys list --json --db "postgresql://bc@127.0.0.1:$PG_LOCAL_PORT/race" > "$w/out" 2> "$w/err"
[ "$(grep -c '"id"' "$w/out")" = 8 ]; ok $? "a URL without the password, with PGPASSWORD set, works"
"$bin" keys --help | grep -q -- '--db URL'; ok $? "keys --help documents --db"
"$bin" serve --help | grep -q -- '--db URL'; ok $? "serve --help documents --db"

# ---- 3. end to end: keys and the server on PostgreSQL ---------------------------------
url4=$(pg_local_createdb e2e)
BOUNCECHECK_DATA=$w/nodata "$bin" keys create --admin --name ops --db "$url4" > "$w/key.out" 2> "$w/key.err"
ok $? "keys create --admin --db"
key=$(head -n 1 "$w/key.out")
id=$(sed -n 's/^id: //p' "$w/key.out")
no_password "$w/key.err" "keys create's messages"
[ ! -e "$w/nodata" ]; ok $? "keys --db leaves the data directory alone (no SQLite file)"

export BC_E2E_BIN=$bin BC_E2E_URL=$url4 BC_E2E_KEY=$key BC_E2E_ID=$id BC_E2E_WORK=$w BC_E2E_PW=$pw
export BC_E2E_SOURCE=${BC_SOURCE_ROOT:-$here/..} BC_E2E_PSQL=$PG_LOCAL_BIN/psql
/usr/bin/python3 - > "$w/e2e.out" 2>&1 <<'EOF'
import os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["BC_E2E_SOURCE"], "tests", "api"))
from apitest import Server

BIN, URL, KEY, KID, WORK, PW = (os.environ[k] for k in
    ("BC_E2E_BIN", "BC_E2E_URL", "BC_E2E_KEY", "BC_E2E_ID", "BC_E2E_WORK", "BC_E2E_PW"))

def check(cond, desc, detail=""):
    print(("ok\t" if cond else "fail\t") + desc + ("" if cond else "\t" + str(detail)[:400]), flush=True)

data = os.path.join(WORK, "e2e-data")
srv = Server(BIN, WORK, args=["--offline", "--db", URL], data=data, name="e2e")
err = srv.start()
check(err is None, "serve --offline --db starts and answers /healthz", err)
if err is None:
    r = srv.req("GET", "/v1/verify?email=jane.doe@example.com")
    check(r.status == 401, "GET /v1/verify without the key: 401", r.short())
    r = srv.req("GET", "/v1/verify?email=jane.doe@example.com", key=KEY)
    check(r.status == 200 and (r.json() or {}).get("email") == "jane.doe@example.com",
          "GET /v1/verify with the key: 200", r.short())
    rows = "email\njane.doe@example.com\nnot-an-address\nbob@example.org\n"
    r = srv.req("POST", "/v1/jobs", headers={"Content-Type": "text/csv"}, body=rows, key=KEY)
    jid = (r.json() or {}).get("id") if r.status == 201 else None
    check(jid is not None, "POST /v1/jobs (3 rows): 201", r.short())
    j = srv.wait_job(jid, key=KEY, timeout=60) if jid else None
    check(j is not None and j.get("status") == "done" and j.get("processed") == 3,
          "the job runs to done, 3 rows processed", j)
    inp = os.path.join(WORK, "e2e.csv")
    with open(inp, "w") as f:
        f.write(rows)
    out = os.path.join(WORK, "e2e-cli.csv")
    subprocess.run([BIN, "verify", "--offline", "--quiet", "-i", inp, "-o", out, "--format", "csv"],
                   capture_output=True, timeout=120)
    want = open(out, "rb").read() if os.path.exists(out) else None
    r = srv.req("GET", f"/v1/jobs/{jid}/results?format=csv", key=KEY) if jid else None
    check(r is not None and r.status == 200 and want is not None and r.body == want,
          "its results equal `bouncecheck verify -i` of the same rows", r.short() if r else "no job")
    p = subprocess.run([os.environ["BC_E2E_PSQL"], "-X", "-At", URL, "-c",
                        f"SELECT status, processed FROM jobs WHERE id = '{jid}'"], capture_output=True, text=True)
    check(p.stdout.strip() == "2|3", "the job's row is in PostgreSQL: done, 3 processed", p.stdout + p.stderr)
    st = srv.stop()
    check(st == 0, "SIGTERM stops the server cleanly", st)

    err = srv.start()
    check(err is None, "a restart on the same database starts", err)
    if err is None:
        r = srv.req("GET", "/v1/verify?email=x@example.com")
        check(r.status == 401, "after the restart the key is still required: 401", r.short())
        r = srv.req("GET", f"/v1/jobs/{jid}", key=KEY)
        check(r.status == 200 and (r.json() or {}).get("status") == "done",
              "after the restart the job is there, done", r.short())
        r = srv.req("GET", f"/v1/jobs/{jid}/results?format=csv", key=KEY)
        check(r.status == 200 and r.body == want, "and its results too", r.short())
        # PostgreSQL drops the server's connection: the next requests reconnect.
        p = subprocess.run([os.environ["BC_E2E_PSQL"], "-X", "-At", URL, "-c",
                            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE application_name = 'bouncecheck' AND pid <> pg_backend_pid()"],
                           capture_output=True, text=True)
        check(p.stdout.strip() == "1", "the server's one connection is terminated", p.stdout + p.stderr)
        time.sleep(0.3)  # past the server's key recheck interval: the next request reads the store
        codes = [srv.req("GET", f"/v1/verify?email=n{i}@example.com", key=KEY).status for i in range(3)]
        check(codes == [200, 200, 200], "after that the server reconnects: 200 at once", codes)
        p = subprocess.run([BIN, "keys", "revoke", KID, "--db", URL], capture_output=True, text=True)
        check(p.returncode == 0, "keys revoke --db while the server runs", p.stderr)
        status = None
        deadline = time.time() + 10
        while time.time() < deadline:
            status = srv.req("GET", "/v1/verify?email=x@example.com", key=KEY).status
            if status == 403:
                break
            time.sleep(0.1)
        check(status == 403, "the running server sees the revocation: 403", status)
        check(srv.stop() == 0, "stops again")
    # (the harness's own "---- start N: COMMAND" lines quote the command line)
    log = "\n".join(l for l in srv.stderr_text().splitlines() if not l.startswith("---- start"))
    check("catalogue in the database postgresql://bc:***@127.0.0.1" in log,
          "the log names the database with the password masked")
    check(PW not in log, "the server's log never shows the password")
else:
    srv.stop()
EOF
rc=$?
while IFS=$'\t' read -r res desc detail; do
    case "$res" in
        ok) ok 0 "serve: $desc" ;;
        fail) ok 1 "serve: $desc"; diag "$detail" ;;
        *) diag "$res $desc $detail" ;;
    esac
done < "$w/e2e.out"
[ "$rc" = 0 ]; ok $? "the end-to-end part ran to its end (exit $rc)"

echo "1..$n"
[ "$failed" = 0 ]

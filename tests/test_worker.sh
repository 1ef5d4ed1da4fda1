#!/usr/bin/env bash
# test_worker.sh BOUNCECHECK - scale-out over a real, throwaway PostgreSQL
# (tests/pg_local.sh) without the test world: `bouncecheck worker`,
# `serve --db --no-work`, the server's own worker, and `verify -i --db`,
# each giving the same output as one machine (`verify -i` alone) for a
# list whose verdicts need no mail server (syntax, special-use domains,
# and a DNS server that refuses at once); every row exactly once; kill -9
# of a worker holding claims (a DNS server that never answers keeps them
# busy) and its rows taken over after the lease; SIGTERM; /metrics; the
# command-line errors; `worker --offline` giving `verify -i --offline`'s
# output. The test world's suite (scale_world) does the same
# against real mail servers. Prints TAP.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg_local.sh
. "$here/pg_local.sh"
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

pg_local_begin worker
if ! pg_local_start 2>"$PG_LOCAL_WORK/start.err"; then
    echo "Bail out! PostgreSQL did not start: $(tail -n 5 "$PG_LOCAL_WORK/start.err" | tr '\n' ' ')"
    exit 1
fi
w=$PG_LOCAL_WORK
pw=$PG_LOCAL_PASSWORD
unset BOUNCECHECK_DATA BOUNCECHECK_DB PGPASSWORD
export BOUNCECHECK_DATA_DIR=$w/lists # the built-in lists
mkdir -p "$BOUNCECHECK_DATA_DIR"
pids=()
# called by pg_local.sh's EXIT trap before it stops the cluster and removes $w
pg_local_on_exit() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
psqlv() { pg_local_psql "$1" -tAq -c "$2" 2>>"$w/psql.err"; }
db=bctest

# A DNS server that refuses at once: every domain lookup fails fast (dns_error).
# It also fails the resolver check that `verify -i` runs first: the lists
# below go on with --force (their answers are temporary failures, which the
# check never changes).
ENG="--dns 127.0.0.1:1 --timeout 5"

# The list: other columns, quoted cells, duplicates (by case too), bad
# syntax, special-use domains (no lookup), domains that need DNS.
python3 - > "$w/list.csv" <<'PY'
import random
random.seed(7)
doms = ["example.com", "example.org", "test.example", "nosuch-%d.bclab-none.net", "bad"]
print('email,name,note')
for i in range(600):
    d = random.choice(doms)
    if d == "bad":
        e = f"not an address {i}"
    else:
        e = f"user{i % 150}@" + (d % (i % 12) if "%d" in d else d)
        if i % 7 == 0:
            e = e.upper()
    print(f'{e},"Name, {i}",n{i}')
PY
rows=600

"$bin" verify -i "$w/list.csv" -o "$w/ref.csv" $ENG --force --quiet 2>"$w/ref.err"
ok $? "reference: one machine verifies the list (verify -i)"

# ---- 1. command-line errors ----------------------------------------------------------
"$bin" worker > /dev/null 2>"$w/e1"; r1=$?
"$bin" worker --db "$w/some.db" > /dev/null 2>"$w/e2"; r2=$?
"$bin" worker --db "$PG_LOCAL_URL" --claims 0 > /dev/null 2>"$w/e3"; r3=$?
[ $r1 = 2 ] && grep -q -- "--db URL is required" "$w/e1" && [ $r2 = 2 ] && grep -q "postgres://" "$w/e2" &&
    [ $r3 = 2 ] && grep -q -- "--claims" "$w/e3"
ok $? "worker: no --db, a non-PostgreSQL --db, a bad --claims: exit 2 with a message ($r1 $r2 $r3)"
"$bin" serve --no-work --data "$w/sq" > /dev/null 2>"$w/e4"; r4=$?
"$bin" verify -i "$w/list.csv" -o "$w/x.csv" --db "$PG_LOCAL_URL" --offline > /dev/null 2>"$w/e5"; r5=$?
"$bin" verify --db "$PG_LOCAL_URL" a@example.com > /dev/null 2>"$w/e6"; r6=$?
[ $r4 = 2 ] && grep -q "needs --db postgres" "$w/e4" && [ $r5 = 2 ] && grep -q -- "--offline" "$w/e5" &&
    [ $r6 = 2 ] && grep -q "need a list" "$w/e6"
ok $? "serve --no-work without PostgreSQL, verify --db --offline, verify --db without -i: exit 2 ($r4 $r5 $r6)"
badport=$(free_port)
badurl="postgresql://bc:$pw@127.0.0.1:$badport/bctest?connect_timeout=3"
"$bin" worker --db "$badurl" > /dev/null 2>"$w/e7"; r7=$?
[ $r7 = 1 ] && [ -s "$w/e7" ] && ! grep -qF -- "$pw" "$w/e7"
ok $? "worker: an unreachable database: exit 1, the message without the password ($(head -c 160 "$w/e7"))"

# ---- 2. an API-only server and two workers -------------------------------------------
port=$(free_port); m1=$(free_port); m2=$(free_port)
"$bin" serve --db "$PG_LOCAL_URL" --no-work --data "$w/srv" --listen "127.0.0.1:$port" $ENG 2>"$w/serve.log" &
spid=$!; pids+=("$spid")
"$bin" worker --db "$PG_LOCAL_URL" --name one --lease 5 --metrics "127.0.0.1:$m1" $ENG 2>"$w/w1.log" &
w1=$!; pids+=("$w1")
"$bin" worker --db "$PG_LOCAL_URL" --name two --lease 5 --claims 2 --claim-rows 10 --metrics "127.0.0.1:$m2" \
    $ENG 2>"$w/w2.log" &
w2=$!; pids+=("$w2")
api() { curl -s --max-time 20 "$@"; }
for _ in $(seq 1 100); do api "http://127.0.0.1:$port/v1/me" > /dev/null && break; sleep 0.1; done
job_wait() { # ID -> prints the final status
    local st=""
    for _ in $(seq 1 600); do
        st=$(api "http://127.0.0.1:$port/v1/jobs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null)
        case "$st" in done|failed) break ;; esac
        sleep 0.2
    done
    echo "$st"
}
id=$(api -H 'Content-Type: text/csv' --data-binary @"$w/list.csv" "http://127.0.0.1:$port/v1/jobs" |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
st=$(job_wait "$id")
[ "$st" = done ]
ok $? "serve --no-work + 2 workers: the job ends done ($st)"
api -o "$w/got.csv" "http://127.0.0.1:$port/v1/jobs/$id/results"
cmp -s "$w/ref.csv" "$w/got.csv"
ok $? "its results are byte-identical to one machine's ($(wc -l < "$w/got.csv") lines)"
[ "$(grep -c . "$w/serve.log" | tr -d ' ')" -gt 0 ] && grep -q "published to the workers" "$w/serve.log"
ok $? "the server published the job's addresses to the workers"
distinct=$(psqlv $db "SELECT count(*) FROM job_rows WHERE job_id = '$id'")
notdone=$(psqlv $db "SELECT count(*) FROM job_rows r WHERE job_id = '$id' AND NOT EXISTS (SELECT 1 FROM job_results x
  WHERE x.job_id = r.job_id AND x.row_no = r.row_no)")
weight=$(psqlv $db "SELECT sum(weight) FROM job_rows WHERE job_id = '$id'")
[ "$notdone" = 0 ] && [ "$weight" = "$rows" ] && [ "$distinct" -gt 100 ] && [ "$distinct" -lt "$rows" ]
ok $? "every row exactly once: $distinct distinct addresses for $rows rows, none without a result"
jc=$(api "http://127.0.0.1:$port/v1/jobs/$id")
echo "$jc" | python3 -c '
import json, sys
j = json.load(sys.stdin)
assert j["processed"] == j["total"] == '"$rows"', j
assert sum(j["counts"].values()) == j["total"], j
assert sum(j["reasons"].values()) == j["total"], j
' 2>"$w/jc.err"
ok $? "the job's figures: processed = total, counts and reasons sum to it ($(head -c 200 "$w/jc.err"))"
mt1=$(curl -s "http://127.0.0.1:$m1/metrics"); mt2=$(curl -s "http://127.0.0.1:$m2/metrics")
sum_rows() { printf '%s\n' "$1" | awk '/^bouncecheck_worker_rows_total/ { s += $2 } END { print s + 0 }'; }
r_1=$(sum_rows "$mt1"); r_2=$(sum_rows "$mt2")
# Which worker claims what depends on the scheduler (under load one may take every row), so the
# claims are checked on the pair, the rows on their sum.
claims() { printf '%s\n' "$1" | awk '/^bouncecheck_worker_claims_total/ { s += $2 } END { print s + 0 }'; }
[ $((r_1 + r_2)) = "$distinct" ] && [ $(( $(claims "$mt1") + $(claims "$mt2") )) -gt 0 ]
ok $? "/metrics of the workers: $r_1 + $r_2 rows written = the $distinct addresses"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$m1/nope" | grep -q 404
ok $? "a worker's metrics listener answers 404 elsewhere"
"$bin" status --db "$PG_LOCAL_URL" --json > "$w/status.json" 2>&1
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
names = sorted(x["name"] for x in s["workers"] if x["alive"])
assert names == ["one", "two"], names
' "$w/status.json" 2>"$w/st.err"
ok $? "status: both workers alive ($(head -c 200 "$w/st.err"))"
kill -TERM "$w1" "$w2"
wait "$w1"; e1=$?; wait "$w2"; e2=$?
[ $e1 = 0 ] && [ $e2 = 0 ] && [ "$(psqlv $db "SELECT count(*) FROM workers")" = 0 ]
ok $? "SIGTERM: both workers exit 0 and remove themselves ($e1 $e2)"
grep -q "stopped" "$w/w1.log" && ! grep -qF -- "$pw" "$w/w1.log" "$w/w2.log" "$w/serve.log"
ok $? "their logs say so and never show the password"
kill -TERM "$spid"; wait "$spid"

# ---- 3. the server's own worker (no --no-work, no worker) ------------------------------
"$bin" serve --db "$PG_LOCAL_URL" --data "$w/srv" --listen "127.0.0.1:$port" $ENG 2>"$w/serve2.log" &
spid=$!; pids+=("$spid")
for _ in $(seq 1 100); do api "http://127.0.0.1:$port/v1/me" > /dev/null && break; sleep 0.1; done
id2=$(api -H 'Content-Type: text/csv' --data-binary @"$w/list.csv" "http://127.0.0.1:$port/v1/jobs" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
st=$(job_wait "$id2")
api -o "$w/got2.csv" "http://127.0.0.1:$port/v1/jobs/$id2/results"
[ "$st" = done ] && cmp -s "$w/ref.csv" "$w/got2.csv"
ok $? "serve --db alone verifies the job itself: done, byte-identical ($st)"
curl -s "http://127.0.0.1:$port/metrics" | grep -q '^bouncecheck_worker_claims_total [1-9]'
ok $? "the server's /metrics counts its worker's claims"
kill -TERM "$spid"; wait "$spid"; e=$?
ok $e "the server stops on SIGTERM with exit 0"

# ---- 4. verify -i --db: the CLI shares its list ---------------------------------------
"$bin" worker --db "$PG_LOCAL_URL" --name helper --lease 5 $ENG 2>"$w/w3.log" &
w3=$!; pids+=("$w3")
"$bin" verify -i "$w/list.csv" -o "$w/shared.csv" --db "$PG_LOCAL_URL" $ENG --force 2>"$w/shared.err"
e=$?
[ $e = 0 ] && cmp -s "$w/ref.csv" "$w/shared.csv"
ok $? "verify -i --db with a worker: exit $e, byte-identical to one machine"
grep -q "shared as job" "$w/shared.err" && grep -q "by status" "$w/shared.err"
ok $? "it says the list was shared and prints the usual summary"
for _ in $(seq 1 50); do grep -q "DNS resolver check failed: resolver 127.0.0.1:1 " "$w/w3.log" && break; sleep 0.1; done
grep -q "DNS resolver check failed: resolver 127.0.0.1:1 " "$w/w3.log"; r=$?
ok $r "the worker logs that its DNS resolver fails the resolver check, and goes on working"
[ $r = 0 ] || sed 's/^/#   /' "$w/w3.log"
[ "$(psqlv $db "SELECT count(*) FROM jobs WHERE name LIKE 'verify -i%'")" = 0 ] &&
    [ ! -e "$w/shared.csv.bcstate" ]
ok $? "once written, its job leaves the database and its state file is removed"
kill -TERM "$w3"; wait "$w3"

# ---- 4b. offline workers: `worker --offline` decides rows as `verify --offline` --------
"$bin" verify -i "$w/list.csv" -o "$w/ref-off.csv" --offline --quiet 2>"$w/ref-off.err"
ok $? "reference: one machine verifies the list offline (verify -i --offline)"
"$bin" worker --help | grep -q -- '--offline'
ok $? "worker --help documents --offline"
"$bin" serve --db "$PG_LOCAL_URL" --no-work --data "$w/srv-off" --listen "127.0.0.1:$port" $ENG 2>"$w/serve-off.log" &
spid=$!; pids+=("$spid")
# An engine that cannot work (a DNS server that refuses): offline workers never ask it.
"$bin" worker --db "$PG_LOCAL_URL" --offline --name off1 --claim-rows 7 $ENG 2>"$w/off1.log" &
o1=$!; pids+=("$o1")
"$bin" worker --db "$PG_LOCAL_URL" --offline --name off2 --claims 2 --claim-rows 13 $ENG 2>"$w/off2.log" &
o2=$!; pids+=("$o2")
for _ in $(seq 1 100); do api "http://127.0.0.1:$port/v1/me" > /dev/null && break; sleep 0.1; done
ido=$(api -H 'Content-Type: text/csv' --data-binary @"$w/list.csv" "http://127.0.0.1:$port/v1/jobs" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
st=$(job_wait "$ido")
api -o "$w/got-off.csv" "http://127.0.0.1:$port/v1/jobs/$ido/results"
[ "$st" = done ] && cmp -s "$w/ref-off.csv" "$w/got-off.csv"
ok $? "2 offline workers: the job ends done, byte-identical to verify -i --offline ($st)"
distinct=$(psqlv $db "SELECT count(*) FROM job_rows WHERE job_id = '$ido'")
once=$(psqlv $db "SELECT count(*) FROM job_results WHERE job_id = '$ido' AND attempt = 1")
weight=$(psqlv $db "SELECT sum(weight) FROM job_rows WHERE job_id = '$ido'")
[ "$distinct" -gt 100 ] && [ "$once" = "$distinct" ] && [ "$weight" = "$rows" ]
ok $? "every row exactly once: $distinct addresses, $once claimed once and done, weights sum to $rows"
grep -q "offline: syntax and domain data only" "$w/off1.log" && ! grep -q "DNS resolver check" "$w/off1.log" \
    "$w/off2.log" && ! grep -q "cannot" "$w/off1.log" "$w/off2.log"
ok $? "the offline workers say so, run no resolver check and log no failure"
kill -TERM "$o1" "$o2"
wait "$o1"; e1=$?; wait "$o2"; e2=$?
[ $e1 = 0 ] && [ $e2 = 0 ]
ok $? "SIGTERM: both offline workers exit 0 ($e1 $e2)"
kill -TERM "$spid"; wait "$spid"

# ---- 5. kill -9 of a worker holding claims ----------------------------------------------
# A DNS server that never answers: each domain's lookups wait for the
# timeout, so the claims are held long enough to kill their holder.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    s.recvfrom(4096)
' > "$w/bh.port" &
bh=$!; pids+=("$bh")
for _ in $(seq 1 50); do [ -s "$w/bh.port" ] && break; sleep 0.1; done
SLOW="--dns 127.0.0.1:$(cat "$w/bh.port") --timeout 3"
python3 - > "$w/slow.csv" <<'PY'
print("email")
for d in range(12):
    for u in range(5):
        print(f"u{u}@slow{d}.bclab-none.net")
PY
"$bin" serve --db "$PG_LOCAL_URL" --no-work --data "$w/srv" --listen "127.0.0.1:$port" $SLOW 2>"$w/serve3.log" &
spid=$!; pids+=("$spid")
for _ in $(seq 1 100); do api "http://127.0.0.1:$port/v1/me" > /dev/null && break; sleep 0.1; done
"$bin" worker --db "$PG_LOCAL_URL" --name doomed --lease 3 --claims 4 $SLOW 2>"$w/doomed.log" &
wd=$!; pids+=("$wd")
id3=$(api -H 'Content-Type: text/csv' --data-binary @"$w/slow.csv" "http://127.0.0.1:$port/v1/jobs" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null)
held=0
for _ in $(seq 1 100); do
    held=$(psqlv $db "SELECT coalesce(sum(open_rows), 0) FROM job_claims WHERE job_id = '$id3' AND open_rows > 0
      AND holder IS NOT NULL")
    [ "${held:-0}" -gt 0 ] && break
    sleep 0.1
done
kill -9 "$wd"; wait "$wd" 2>/dev/null
[ "${held:-0}" -gt 0 ]
ok $? "a worker holds claims ($held rows) and is killed with kill -9"
"$bin" status --db "$PG_LOCAL_URL" --json > "$w/status2.json" 2>&1
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
assert any(c["domain"].startswith("slow") for c in s["claims"]), s["claims"]
' "$w/status2.json"
ok $? "status shows the dead worker's live claims"
"$bin" worker --db "$PG_LOCAL_URL" --name heir --lease 3 --claims 12 $SLOW 2>"$w/heir.log" &
wh=$!; pids+=("$wh")
st=$(job_wait "$id3")
[ "$st" = done ]
ok $? "another worker takes the rows over after the lease: the job ends done ($st)"
again=$(psqlv $db "SELECT count(*) FROM job_results WHERE job_id = '$id3' AND attempt > 1")
notdone=$(psqlv $db "SELECT count(*) FROM job_rows r WHERE job_id = '$id3' AND NOT EXISTS (SELECT 1 FROM job_results x
  WHERE x.job_id = r.job_id AND x.row_no = r.row_no)")
api -o "$w/slow-got.csv" "http://127.0.0.1:$port/v1/jobs/$id3/results"
lines=$(($(wc -l < "$w/slow-got.csv") - 1))
[ "${again:-0}" -gt 0 ] && [ "$notdone" = 0 ] && [ "$lines" = 60 ]
ok $? "every row exactly once: 60 result rows, $again rows claimed twice, none left"
grep -q "heir" <(psqlv $db "SELECT name FROM workers") 
ok $? "the heir is registered while it runs"
kill -TERM "$wh" "$spid"; wait "$wh"; wait "$spid"

echo "1..$n"
[ "$failed" = 0 ]

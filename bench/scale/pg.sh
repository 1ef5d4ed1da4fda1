#!/usr/bin/env bash
# pg.sh - the bookkeeping benchmark of shared jobs on PostgreSQL (`make
# bench`): one job of ROWS addresses over ROWS/100 domains, uploaded to an
# API-only server (`serve --db URL --no-work`) and verified by WORKERS
# `bouncecheck worker --offline` processes (syntax and domain data only: no
# DNS, no SMTP), so that what is timed is the store's work: publishing the
# rows, claiming them, writing the results and collecting them back.
#
# Prints rows/s from the upload (POST /v1/jobs) to the job's status "done",
# and of the bookkeeping alone (from the upload's answer, once the server
# has read the list into the job's state, to "done"); the phases, from the
# job's figures and the store's counters; the peak RSS (VmHWM), CPU time
# of the server, of each worker and of PostgreSQL, and the bytes the server
# wrote; and the goals: at least
# 20,000 rows/s of bookkeeping, the server's peak RSS at most 200 MB. It
# checks that every row came back exactly once: the results hold every
# input row once, every row in job_rows is done and was claimed once.
#
# Environment:
#   BUILD                bouncecheck Meson build dir (default: <repo>/build)
#   BC_BIN               the bouncecheck binary (default: $BUILD/bouncecheck)
#   BENCH_PG_ROWS        rows of the job (default 1000000)
#   BENCH_PG_WORKERS     offline workers (default 4)
#   BENCH_PG_WORKER_ARGS more options for each worker (default none)
#   BENCH_STRICT         when 1, exit 3 if a goal is missed
#   BENCH_PG_PROFILE     when 1, PostgreSQL loads pg_stat_statements and the
#                        statements that took most of its time are printed
# Needs PostgreSQL's binaries (Debian package postgresql; tests/pg_local.sh
# starts a throwaway cluster); without them it says why and exits 0. Logs of
# the last run stay in bench/.cache/pg-last/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(dirname "$here")
repo=$(dirname "$bench")
BUILD=${BUILD:-$repo/build}
BC_BIN=${BC_BIN:-$BUILD/bouncecheck}
ROWS=${BENCH_PG_ROWS:-1000000}
WORKERS=${BENCH_PG_WORKERS:-4}
WARGS=${BENCH_PG_WORKER_ARGS:-}
PY=/usr/bin/python3

die() { echo "scale/pg.sh: error: $*" >&2; exit 1; }
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PG_ROWS must be a positive integer, got '$ROWS'"
[[ $WORKERS =~ ^[1-9][0-9]?$ ]] || die "BENCH_PG_WORKERS must be 1 to 99, got '$WORKERS'"
[[ -x $PY ]] || die "$PY not found"
if [[ $BC_BIN == "$BUILD/bouncecheck" && -f $BUILD/build.ninja ]]; then
  ninja -C "$BUILD" bouncecheck >/dev/null || die "ninja -C $BUILD bouncecheck failed"
fi
[[ -x $BC_BIN ]] || die "$BC_BIN not found: build first (make build, or set BUILD)"
"$BC_BIN" worker --help 2>/dev/null | grep -q -- --offline || die "$BC_BIN's worker has no --offline"

# shellcheck source=tests/pg_local.sh
. "$repo/tests/pg_local.sh"
if [[ -z $PG_LOCAL_BIN ]]; then
  echo "scale/pg.sh: skipped: PostgreSQL is not installed (Debian package postgresql)"
  exit 0
fi
run=$bench/.cache/pg-last
rm -rf "$run"
mkdir -p "$run"
chmod 755 "$bench/.cache" "$run"
pids=()
# shellcheck disable=SC2317
pg_local_on_exit() { local p; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
pg_local_begin pg_bench
if [[ ${BENCH_PG_PROFILE:-0} == 1 ]]; then
  export PG_LOCAL_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
fi
pg_local_start 2>"$run/pg-start.err" || die "PostgreSQL did not start: $(tail -n 5 "$run/pg-start.err")"
unset BOUNCECHECK_DB BOUNCECHECK_DATA PGPASSWORD
export BOUNCECHECK_DATA_DIR=$run/lists # the built-in lists
mkdir -p "$BOUNCECHECK_DATA_DIR"

rc=0
PG_LOCAL_PASSWORD=$PG_LOCAL_PASSWORD PG_LOCAL_PORT=$PG_LOCAL_PORT PG_LOCAL_USER=$PG_LOCAL_USER \
  PG_LOCAL_BIN=$PG_LOCAL_BIN PG_LOCAL_URL=$PG_LOCAL_URL PG_DATA=$PG_LOCAL_WORK/pg/data \
  $PY - "$BC_BIN" "$run" "$repo/tests/api" "$ROWS" "$WORKERS" "${BENCH_STRICT:-0}" "$WARGS" <<'EOF' || rc=$?
import csv, io, os, random, shlex, signal, subprocess, sys, time
bin, run, apidir = sys.argv[1:4]
rows, nworkers, strict = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
wargs = shlex.split(sys.argv[7])
sys.path.insert(0, apidir)
from apitest import Server

url = os.environ["PG_LOCAL_URL"]
GOAL_RATE, GOAL_RSS_MB = 20000, 200


def fail(msg):
    print(f"scale/pg.sh: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def note(msg):
    print(f"scale/pg.sh: {msg}", file=sys.stderr, flush=True)


def psql(sql):
    env = dict(os.environ, PGPASSWORD=os.environ["PG_LOCAL_PASSWORD"])
    p = subprocess.run([os.path.join(os.environ["PG_LOCAL_BIN"], "psql"), "-X", "-q", "-A", "-t", "-h", "127.0.0.1",
                        "-p", os.environ["PG_LOCAL_PORT"], "-U", os.environ["PG_LOCAL_USER"], "-d", "bctest",
                        "-c", sql], capture_output=True, env=env, text=True, timeout=600)
    if p.returncode != 0:
        fail(f"psql: {p.stderr.strip()}")
    return p.stdout.strip()


def hwm_kb(pid):
    """Peak resident set size of a live process (VmHWM), in kB; 0 when gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_s(pid):
    """CPU seconds (user + system) of a live process and its waited-for children; 0 when gone."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def wchar_mb(pid):
    """Bytes a live process has passed to write calls (its state file, WAL and logs), in MB; 0 when gone."""
    try:
        for line in open(f"/proc/{pid}/io"):
            if line.startswith("wchar:"):
                return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return 0.0


def pg_pids():
    pm = int(open(os.path.join(os.environ["PG_DATA"], "postmaster.pid")).readline())
    kids = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pm)], capture_output=True, text=True).stdout.split()
    return [pm] + [int(k) for k in kids]


# The list: unique addresses over rows/100 domains, ~2% of them bad syntax.
domains = max(1, rows // 100)
rng = random.Random(20261207)
lst = f"{run}/list.csv"
with open(lst, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "email"])
    for i in range(rows):
        d = f"d{rng.randrange(domains)}.bclab-pg.net"
        w.writerow([i, f"user.{i}@{d}" if rng.random() >= 0.02 else f"user {i} at {d}"])

srv = Server(bin, run, args=["--db", url, "--no-work", "--max-rows", str(rows), "--max-body", "1024"],
             data=f"{run}/data", name="server")
err = srv.start(wait=60)
if err:
    fail(f"the server did not start: {err}")
procs = []
for i in range(nworkers):
    f = open(f"{run}/worker-{i + 1}.stderr", "wb")
    procs.append(subprocess.Popen([bin, "worker", "--db", url, "--offline", "--name", f"bench-{i + 1}", *wargs],
                                  stdin=subprocess.DEVNULL, stdout=f, stderr=f))
    f.close()
time.sleep(1)
if any(p.poll() is not None for p in procs):
    fail(f"a worker did not start (logs in {run})")

note(f"{rows} rows over {domains} domains, {nworkers} offline workers")
t0 = time.monotonic()
r = srv.req("POST", "/v1/jobs?name=pgbench", headers={"Content-Type": "text/csv"}, body_file=lst, check=False,
            timeout=1800)
jid = (r.json() or {}).get("id") if r.status == 201 else None
if not jid:
    fail(f"POST /v1/jobs: {r.short()}")
t_upload = time.monotonic() - t0
t_first = t_all = None
j = {}
t_pub = None
lat = []  # seconds per GET /v1/jobs/ID: the server's HTTP threads share its store handle
while time.monotonic() - t0 < 7200:
    tq = time.monotonic()
    j = srv.req("GET", f"/v1/jobs/{jid}", check=False, timeout=30).json() or {}
    lat.append(time.monotonic() - tq)
    now = time.monotonic() - t0
    if t_first is None and j.get("processed", 0) > 0:
        t_first = now
    if t_pub is None or t_all is None:
        # the store's counters (schema 6: a few rows, no scan of the job's rows)
        got = psql(f"SELECT coalesce(sum(n), 0) FROM job_counts WHERE job_id = '{jid}'"
                   f" UNION ALL SELECT coalesce(sum(n), 0) FROM job_counts WHERE job_id = '{jid}' AND state = 2")
        total_n, done_n = (int(x) for x in got.split())
        if t_pub is None and total_n == rows:
            t_pub = now
        if t_all is None and done_n == rows:
            t_all = now
    if j.get("status") in ("done", "failed", "cancelled"):
        break
    time.sleep(0.25)  # each look is a curl and a psql process: the machine's CPU is what is measured
secs = time.monotonic() - t0
if j.get("status") != "done" or j.get("processed") != rows:
    fail(f"the job did not complete: {repr(j)[:300]} (logs in {run})")

# Peaks, read while everything still runs.
rss_srv = hwm_kb(srv.proc.pid)
rss_w = [hwm_kb(p.pid) for p in procs]
rss_pg = max(hwm_kb(p) for p in pg_pids())
cpu_srv = cpu_s(srv.proc.pid)
wr_srv = wchar_mb(srv.proc.pid)
cpu_w = sum(cpu_s(p.pid) for p in procs)
cpu_pg = sum(cpu_s(p) for p in pg_pids())

if os.environ.get("BENCH_PG_PROFILE") == "1":
    psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    top = psql("SELECT round(total_exec_time)::bigint, round(total_plan_time)::bigint, calls, rows,"
               " left(regexp_replace(query, '\\s+', ' ', 'g'), 150)"
               " FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 16")
    note("PostgreSQL's statements by total time (execution ms | planning ms | calls | rows | text):\n" + top)

# Every row exactly once.
r = srv.req("GET", f"/v1/jobs/{jid}/results?format=csv", check=False, timeout=1800)
out = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig", "replace"), newline="")))
ids = sorted(int(x[0]) for x in out[1:]) if r.status == 200 else []
if ids != list(range(rows)):
    fail(f"results: HTTP {r.status}, {len(out) - 1} rows of {rows}, not each input row once")
notdone, again, n = psql(f"SELECT (SELECT count(*) FROM job_rows WHERE job_id = '{jid}') - count(*),"
                         f" count(*) FILTER (WHERE attempt <> 1), (SELECT count(*) FROM job_rows"
                         f" WHERE job_id = '{jid}') FROM job_results WHERE job_id = '{jid}'").split("|")
if int(notdone) != 0 or int(n) != rows:
    fail(f"job_rows: {n} rows, {notdone} without a result")
for p in procs:
    p.send_signal(signal.SIGTERM)
for p in procs:
    try:
        if p.wait(60) != 0:
            fail(f"a worker exited {p.returncode} on SIGTERM (logs in {run})")
    except subprocess.TimeoutExpired:
        p.kill()
        fail("a worker did not stop on SIGTERM")
if srv.stop(60) != 0:
    fail(f"the server did not stop cleanly: {srv.stderr_tail()}")

rate = rows / max(secs, 1e-9)
mb = lambda kb: kb / 1024.0
print()
print(f"PostgreSQL bookkeeping benchmark: {rows} rows over {domains} domains, {nworkers} offline workers"
      f"{' ' + ' '.join(wargs) if wargs else ''}")
print()
print("| phase | seconds from the upload |")
print("| ----- | ----------------------: |")
nan = float("nan")
print(f"| upload answered (rows in the server's state) | {t_upload:.1f} |")
print(f"| every row published (in job_rows) | {t_pub if t_pub is not None else nan:.1f} |")
print(f"| first progress the job shows | {t_first if t_first is not None else nan:.1f} |")
print(f"| every row has its result (in job_rows) | {t_all if t_all is not None else nan:.1f} |")
print(f"| job done (results collected into the server's state) | {secs:.1f} |")
print()
book = rows / max(secs - t_upload, 1e-9)
print(f"rows/s: {rate:.0f} ({rows} rows in {secs:.1f}s from the upload); of the store's bookkeeping alone (publish,"
      f" claim, result, collect: from the upload's answer to done): {book:.0f}; rows claimed more than once: {again}")
print(f"peak RSS: server {mb(rss_srv):.1f} MB; workers " + ", ".join(f"{mb(x):.1f}" for x in rss_w) +
      f" MB; largest PostgreSQL process {mb(rss_pg):.1f} MB")
lat.sort()
print(f"GET /v1/jobs/ID while the job ran ({len(lat)} requests, curl included): median"
      f" {lat[len(lat) // 2] * 1000:.0f} ms, 99th percentile {lat[len(lat) * 99 // 100] * 1000:.0f} ms,"
      f" slowest {lat[-1] * 1000:.0f} ms")
print(f"CPU seconds: server {cpu_srv:.1f}, workers {cpu_w:.1f}, PostgreSQL {cpu_pg:.1f}"
      f" (backends still connected, and the postmaster's ended children)")
print(f"the server wrote {wr_srv:.0f} MB (write calls: the job's state file and its WAL, logs)")
missed = False
met = book >= GOAL_RATE
missed |= not met
print(f"goal: >= {GOAL_RATE} rows/s of bookkeeping: {'met' if met else 'missed'} ({book:.0f})")
met = mb(rss_srv) <= GOAL_RSS_MB
missed |= not met
print(f"goal: server peak RSS <= {GOAL_RSS_MB} MB: {'met' if met else 'missed'} ({mb(rss_srv):.1f} MB)")
print("every row exactly once: yes")
sys.exit(3 if missed and strict else 0)
EOF
case $rc in
  0) ;;
  3) echo "scale/pg.sh: a goal was missed" >&2; exit 3 ;;
  *) die "the benchmark failed (exit $rc; logs in $run)" ;;
esac
exit 0

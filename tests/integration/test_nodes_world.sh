#!/bin/bash
# test_nodes_world.sh BOUNCECHECK - stateless API nodes (issue 20, item 5)
# against the real servers of the test world (tests/world/up.sh: NSD,
# Postfix and the 300 ms latency proxy in a fresh network namespace), with a
# throwaway PostgreSQL cluster (tests/pg_local.sh) and HAProxy configured by
# the repository's own deploy/haproxy.cfg:
#  1. two `serve --db URL` nodes, node 1 on 127.0.0.11 and node 2 on
#     127.0.0.12, behind HAProxy on 127.0.0.10; a job (800 rows, about 300
#     distinct addresses behind the latency proxy) is uploaded through the
#     balancer while only node 1 runs, so node 1 takes the upload and the
#     coordinator's lease; node 2 joins and answers for the job it never saw;
#  2. node 1 is killed with SIGKILL once 20% of the rows are done, while it
#     coordinates the job and its worker holds rows: node 2 takes the lease
#     over, its worker claims the dead node's rows after their lease, the job
#     completes with every row exactly once (job_rows), and the results,
#     downloaded through the balancer (now node 2 only), are byte-identical
#     to `bouncecheck verify -i` on the same file; every format and filter
#     downloads;
#  3. a second job is uploaded through the balancer while node 1 is down
#     (HAProxy sends it to node 2), and node 1, restarted on its stale data
#     directory, answers for both jobs byte-identically to node 2; a job
#     deleted through one node is gone on the other and from the database;
#  4. an upload cut by a SIGKILL of its node (curl sending slowly) is never
#     acknowledged and leaves no job;
#  5. SIGTERM stops every node with exit 0, each giving its leases back.
# Beside the nodes' own workers, three `bouncecheck worker` processes verify
# the first job, each sending from its own loopback address (127.0.0.21-23,
# --source-ip) and serving its metrics there; one is killed with SIGKILL
# with node 1. Over all five workers the latency proxy (bclab-slow.net's only
# MX) never has more than --mx-connections open at once (the host gate), and
# the results show the workers' own source addresses.
# PostgreSQL runs on the host and is reached from the namespace through its
# Unix socket; the password travels in PGPASSWORD, never on a command line.
# Brings everything down on exit. Needs root; skips without it, without
# network namespaces, PostgreSQL or HAProxy. Prints TAP. Environment:
# BC_WORLD_KEEP=1 keeps the world's state directory and prints its path.
set -u

bin=${1:?usage: test_nodes_world.sh path/to/bouncecheck}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
world="$here/../world"
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
py=/usr/bin/python3
haproxy_cfg=$(cd "$here/../../deploy" && pwd)/haproxy.cfg

# shellcheck source=tests/world/preflight.sh
. "$world/preflight.sh"
world_preflight nsd postfix postgrey openssl ip curl "$py"
if ! command -v haproxy > /dev/null 2>&1; then
    echo "1..0 # SKIP haproxy is not installed (scripts/deps.sh test)"
    exit 0
fi
# shellcheck source=tests/pg_local.sh
. "$here/../pg_local.sh"
pg_local_begin nodes_world # skips without PostgreSQL; sets the EXIT trap

world_state bc-nodesworld
pg_local_on_exit() { world_cleanup; }
trap pg_local_exit EXIT

world_up # TAP 1
unset BOUNCECHECK_DB PGPASSWORD
if ! pg_local_start 2> "$PG_LOCAL_WORK/start.err"; then
    echo "not ok 2 - a throwaway PostgreSQL cluster starts"
    tail -n 10 "$PG_LOCAL_WORK/start.err" | sed 's/^/# /'
    echo "1..2"
    exit 1
fi
echo "ok 2 - a throwaway PostgreSQL cluster starts (port $PG_LOCAL_PORT)"
export PG_LOCAL_BIN PG_LOCAL_PORT PG_LOCAL_USER PG_LOCAL_PASSWORD
export BC_PG_SOCK="$PG_LOCAL_WORK/pg/sock"

latency_pid=$(awk '$2 == "latency" { print $1 }' "$state/pids")

$py - "$bin" "$NS" "$state" "$here/../api" "$haproxy_cfg" "$latency_pid" << 'EOF'
import csv, io, json, os, random, re, signal, subprocess, sys, time
from collections import Counter
bin, ns, state, apidir, haproxy_cfg, latency_pid = sys.argv[1:7]
sys.path.insert(0, apidir)
from apitest import Server, Tap, free_port, latency_stats, req

tap = Tap()
tap.n = 2                       # the world and PostgreSQL were 1 and 2
wrap = ["ip", "netns", "exec", ns]
engine = os.environ["BC_ENGINE_ARGS"].split()
PW = os.environ["PG_LOCAL_PASSWORD"]
env = dict(os.environ, PGPASSWORD=PW)
LB, N1, N2 = "127.0.0.10", "127.0.0.11", "127.0.0.12"
lb_port = free_port()
lb_base = f"http://{LB}:{lb_port}"
nodes = {}
workers = {}                    # name: (Popen, stderr path, address)
haproxy = None
KEY = None
MX_CAP = int(engine[engine.index("--mx-connections") + 1])


def finish():
    for s in nodes.values():
        s.kill9()
    for p, _, _ in workers.values():
        if p.poll() is None:
            p.kill()
            p.wait()
    if haproxy is not None and haproxy.poll() is None:
        haproxy.kill()
        haproxy.wait()
    sys.exit(tap.done())


def db_url(db):
    return f"postgresql://{os.environ['PG_LOCAL_USER']}@/{db}?host={os.environ['BC_PG_SOCK']}" \
           f"&port={os.environ['PG_LOCAL_PORT']}"


def pgbin(name):
    return os.path.join(os.environ["PG_LOCAL_BIN"], name)


def psql(db, sql):
    p = subprocess.run([pgbin("psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h",
                        "127.0.0.1", "-p", os.environ["PG_LOCAL_PORT"], "-U", os.environ["PG_LOCAL_USER"],
                        "-d", db, "-c", sql], capture_output=True, env=env, timeout=60)
    if p.returncode != 0:
        print("# psql: " + p.stderr.decode("utf-8", "replace").strip()[:300], flush=True)
        return []
    return [ln.split("\t") for ln in p.stdout.decode("utf-8", "replace").splitlines() if ln]


def lb(method, path, **kw):
    """A request through the balancer."""
    return req(lb_base, method, path, key=KEY, workdir=state, wrap=wrap, **kw)


def node_id(s):
    """The node id a server logged at start ("this server is node w_...")."""
    m = re.findall(r"this server is node (w_[0-9a-f]+)", s.stderr_text())
    return m[-1] if m else None


def tail(path, n=8):
    try:
        return " | ".join(open(path, encoding="utf-8", errors="replace").read().splitlines()[-n:])
    except OSError:
        return ""


def compare(body, want):
    if body == want:
        return True, []
    a, b = body.split(b"\n"), want.split(b"\n")
    bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return False, [f"{len(a)} vs {len(b)} lines, {len(bad)} differ"] + \
        [f"line {i + 1}: got {a[i][:160]!r} want {b[i][:160]!r}" for i in bad[:6]]


# ---- the list: real DNS and Postfix of the world (no greylisting: a row taken
# over by another worker must get the answer the CLI got) ---------------------
rng = random.Random(20261207)
users = ["alice", "bob", "carol", "sink", "info"]
pools = {}


def unknown(dom, cap):
    p = pools.setdefault(dom, [])
    if len(p) < cap and (not p or rng.random() < 0.6):
        p.append("n" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(9)))
        return p[-1]
    return rng.choice(p)


def row(slow=True):
    r = rng.random()
    if slow and r < 0.45:   # behind the latency proxy: what makes the job last
        return f"{unknown('bclab-slow.net', 300)}@bclab-slow.net"
    if r < 0.60:
        return f"{rng.choice(users)}@{rng.choice(['bclab-ok.net', 'bclab-backup.net', 'gmail.com'])}"
    if r < 0.75:
        d = rng.choice(["bclab-ok.net", "bclab-backup.net", "gmail.com", "bclab-implicit.net"])
        return f"{unknown(d, 60)}@{d}"
    if r < 0.80:
        return f"{unknown('bclab-catchall.net', 30)}@bclab-catchall.net"
    if r < 0.85:
        return f"{rng.choice(['alice', 'bob', unknown('bclab-multi.net', 20)])}@bclab-multi.net"
    if r < 0.89:
        return f"{unknown('bclab-nullmx.net', 20)}@bclab-nullmx.net"
    if r < 0.93:
        return f"{unknown('bclab-nomail.net', 20)}@bclab-nomail.net"
    if r < 0.96:
        return rng.choice(["plainaddress", "two@@bclab-ok.net", "@bclab-ok.net", "carol@", ""])
    return rng.choice(["full@bclab-ok.net", "disabled@bclab-ok.net", f"{rng.choice(users)}@bücher-lab.net"])


def write_list(path, n, slow=True):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "notes"])
        for i in range(n):
            w.writerow([i, rng.choice(["Doe, Jane", 'Bob "B" Builder', "Ørjan", "x"]), row(slow),
                        rng.choice(["", "one\ntwo", "a,b", str(i)])])


NROWS = 800
lst = os.path.join(state, "list.csv")
write_list(lst, NROWS)
lst2 = os.path.join(state, "list2.csv")
write_list(lst2, 120, slow=False)


def cli_reference(path, out, sender):
    opts = list(engine)
    opts[opts.index("--from") + 1] = sender
    t0 = time.time()
    p = subprocess.run(wrap + ["timeout", "600", bin, "verify", *opts, "--quiet", "-i", path, "-o", out,
                               "--format", "csv"], capture_output=True)
    return p, time.time() - t0


# The reference: the same list in one process (its own sender, as in
# test_scale_world.sh: mail servers keep per-sender state).
ref = os.path.join(state, "ref.csv")
p, secs = cli_reference(lst, ref, "ref@bclab-client.net")
tap.ok(p.returncode == 0, f"the CLI verifies the list in one process (exit {p.returncode}, {secs:.0f}s)",
       p.stderr.decode("utf-8", "replace")[-500:])

# ---- the database, a key, the balancer --------------------------------------------------
ok = subprocess.run([pgbin("createdb"), "-h", "127.0.0.1", "-p", os.environ["PG_LOCAL_PORT"], "-U",
                     os.environ["PG_LOCAL_USER"], "bcnodes"], env=env, capture_output=True).returncode == 0
url = db_url("bcnodes")
k = subprocess.run(wrap + [bin, "keys", "create", "--db", url, "--name", "nodes"], capture_output=True, env=env)
KEY = k.stdout.decode().split("\n")[0].strip() if k.returncode == 0 else None
tap.ok(ok and KEY, "a database and an API key in it (keys create --db)", k.stderr.decode()[-300:])
if not KEY:
    finish()

hp_log = os.path.join(state, "haproxy.log")
hp_env = dict(os.environ, BC_LB_BIND=f"{LB}:{lb_port}", BC_MONITORING="127.0.0.0/8")
ports = {}
for n, a in (("node1", N1), ("node2", N2)):
    ports[n] = free_port()
hp_env["BC_NODE1"] = f"{N1}:{ports['node1']}"
hp_env["BC_NODE2"] = f"{N2}:{ports['node2']}"
chk = subprocess.run(wrap + ["haproxy", "-c", "-f", haproxy_cfg], capture_output=True, env=hp_env)
with open(hp_log, "ab") as f:
    haproxy = subprocess.Popen(wrap + ["haproxy", "-db", "-f", haproxy_cfg], stdin=subprocess.DEVNULL,
                               stdout=f, stderr=f, env=hp_env)
time.sleep(1)
tap.ok(chk.returncode == 0 and haproxy.poll() is None,
       f"HAProxy runs on {LB}:{lb_port} with deploy/haproxy.cfg (nodes {hp_env['BC_NODE1']}, {hp_env['BC_NODE2']})",
       [chk.stdout.decode()[-300:], chk.stderr.decode()[-300:], tail(hp_log)])
if haproxy.poll() is not None:
    finish()


def node(name, host):
    s = Server(bin, state, args=["--db", url, *engine], data=os.path.join(state, f"{name}-data"), name=name,
               wrap=wrap, env={"PGPASSWORD": PW}, host=host)
    s.port = ports[name]
    nodes[name] = s
    return s


def lb_sees(n_up, timeout=20):
    """Waits until a request through the balancer works (some node is up
    and HAProxy knows it)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if lb("GET", "/v1/jobs", check=False, timeout=5).status == 200:
            return True
        time.sleep(0.3)
    return False


def start_worker(i):
    """`bouncecheck worker` number i, sending from and listening (metrics)
    on 127.0.0.2i."""
    addr = f"127.0.0.2{i}"
    errp = os.path.join(state, f"worker{i}.stderr")
    with open(errp, "ab") as f:
        p = subprocess.Popen(wrap + [bin, "worker", "--db", url, "--name", f"w{i}", *engine, "--source-ip", addr,
                                     "--metrics", f"{addr}:{free_port()}", "--lease", "10"],
                             stdin=subprocess.DEVNULL, stdout=f, stderr=f, env=env)
    workers[f"w{i}"] = (p, errp, addr)


n1 = node("node1", N1)
err = n1.start(wait=60)
tap.ok(err is None and lb_sees(1), f"node 1 (serve --db) starts on {N1} and answers through the balancer", err)
if err:
    finish()

for i in (1, 2, 3):
    start_worker(i)
deadline = time.time() + 30
names = []
while time.time() < deadline:
    names = sorted(r[0] for r in psql("bcnodes", "SELECT name FROM workers WHERE name LIKE 'w_'"))
    if len(names) == 3:
        break
    time.sleep(0.2)
tap.ok(names == ["w1", "w2", "w3"], "three workers start, each sending from its own address (127.0.0.21-23)",
       [tail(e) for _, e, _ in workers.values()])
latency_stats(state, "latency", latency_pid)   # the MX's counters start now

# ---- 1. the upload through the balancer (node 1 only) ----------------------------------
r = lb("POST", "/v1/jobs?name=nodes", headers={"Content-Type": "text/csv"}, body_file=lst)
jid = (r.json() or {}).get("id") if r.status == 201 else None
tap.ok(jid is not None and (r.json() or {}).get("total") == NROWS,
       f"POST /v1/jobs through the balancer: {NROWS} rows, 201", r.short())
if not jid:
    finish()
files = psql("bcnodes", f"SELECT count(*), sum(length(data)) FROM job_files WHERE job_id = '{jid}'")
tap.ok(files and files[0][0] != "0", f"the job's state is in the database when it is acknowledged "
       f"(job_files: {files[0][0] if files else '?'} chunks, {files[0][1] if files else '?'} bytes)")
id1 = node_id(n1)
deadline = time.time() + 30
holder = None
while time.time() < deadline:
    h = psql("bcnodes", f"SELECT holder FROM job_coord WHERE job_id = '{jid}'")
    holder = h[0][0] if h else None
    if holder:
        break
    time.sleep(0.2)
tap.ok(id1 and holder == id1, f"node 1 ({id1}) coordinates the job (job_coord holder {holder})")

n2 = node("node2", N2)
err = n2.start(wait=60)
id2 = node_id(n2)
tap.ok(err is None and id2 and id2 != id1, f"node 2 ({id2}) starts on {N2} on the same database", err)
if err:
    finish()
r = n2.req("GET", f"/v1/jobs/{jid}", key=KEY)
l2 = n2.req("GET", "/v1/jobs", key=KEY)
tap.ok(r.status == 200 and (r.json() or {}).get("id") == jid and l2.status == 200
       and [j.get("id") for j in (l2.json() or {}).get("jobs", [])] == [jid],
       "node 2 answers for the job it never saw: GET /v1/jobs/ID and GET /v1/jobs", [r.short(), l2.short()])

# ---- 2. kill -9 of node 1 mid-job ------------------------------------------------------
killed_at, own, j, victim = None, None, {}, None
wid1 = (re.findall(r"worker (w_[0-9a-f]+) \(.*\) started", n1.stderr_text()) or ["-"])[-1]
deadline = time.time() + 300
while time.time() < deadline:
    j = (lb("GET", f"/v1/jobs/{jid}", check=False, timeout=10).json() or {})
    if j.get("status") in ("done", "failed"):
        break
    # the victims: node 1 and a worker holding rows (w1 when node 1's own does)
    held = psql("bcnodes", f"SELECT CASE WHEN c.holder = '{wid1}' THEN 'w1' ELSE w.name END FROM job_claims c"
                           f" LEFT JOIN workers w ON w.id = c.holder WHERE c.job_id = '{jid}' AND c.open_rows > 0"
                           f" AND (w.name IN ('w1', 'w2', 'w3') OR c.holder = '{wid1}') LIMIT 1")
    done_now = j.get("processed") or 0
    if (done_now >= NROWS // 10 and held) or done_now >= NROWS // 2:
        # (past half way with no victim holding rows: w1, all the same)
        victim = held[0][0] if held else "w1"
        own = psql("bcnodes", f"SELECT holder FROM job_coord WHERE job_id = '{jid}'")
        n1.kill9()
        workers[victim][0].kill()
        workers[victim][0].wait()
        killed_at = j.get("processed")
        break
    time.sleep(0.1)
tap.ok(killed_at is not None and own == [[id1]],
       f"SIGKILL of node 1 and of worker {victim} at {killed_at} of {NROWS} rows done, while node 1 coordinated "
       f"the job ({'it' if held else 'neither'} held rows)",
       repr(j)[:300])
if killed_at is None:
    finish()
# The rows claimed when node 1 died; those of its in-process worker (the
# holder that stops heartbeating; workers beat every 5 s) get their results
# only after their lease, from node 2's worker.
claimed = psql("bcnodes", f"SELECT r.row_no, c.holder FROM job_claims c JOIN job_rows r ON r.job_id = c.job_id"
                          f" AND r.domain = c.domain AND r.dseq >= c.lo AND r.dseq < c.hi WHERE c.job_id = '{jid}'"
                          f" AND c.open_rows > 0 AND c.holder IS NOT NULL AND NOT EXISTS (SELECT 1 FROM job_results x"
                          f" WHERE x.job_id = r.job_id AND x.row_no = r.row_no)")
time.sleep(12)
alive = {x[0] for x in psql("bcnodes", "SELECT id FROM workers WHERE last_seen > "
                                       "(extract(epoch FROM now()) * 1000)::bigint - 8000")}
dead = [[rn] for rn, h in claimed if h not in alive]

# ---- 3. while node 1 is down: a second job through the balancer ------------------------
r = lb("POST", "/v1/jobs?name=second", headers={"Content-Type": "text/csv"}, body_file=lst2)
jid2 = (r.json() or {}).get("id") if r.status == 201 else None
tap.ok(jid2 is not None, "POST /v1/jobs through the balancer while node 1 is down: 201 (from node 2)", r.short())
tap.ok(jid2 is not None and os.path.isdir(os.path.join(n2.data, "jobs", jid2))
       and not os.path.isdir(os.path.join(n1.data, "jobs", jid2)), "the second upload was taken by node 2")

t0 = time.time()
deadline = time.time() + 400
j = {}
while time.time() < deadline:
    j = lb("GET", f"/v1/jobs/{jid}", check=False, timeout=10).json() or {}
    if j.get("status") in ("done", "failed"):
        break
    time.sleep(0.5)
own = psql("bcnodes", f"SELECT holder FROM job_coord WHERE job_id = '{jid}'")
tap.ok(j.get("status") == "done" and j.get("processed") == NROWS and own == [[id2]],
       f"node 2 took the job over and completed it: done, processed = {NROWS} ({time.time() - t0:.0f}s after "
       f"the kill; coordinator now {own[0][0] if own else '?'})", [repr(j)[:300], tail(n2.errpath)])
notdone = psql("bcnodes", f"SELECT count(*) FROM job_rows r WHERE job_id = '{jid}' AND NOT EXISTS (SELECT 1"
                          f" FROM job_results x WHERE x.job_id = r.job_id AND x.row_no = r.row_no)")
redone = psql("bcnodes", f"SELECT count(*) FROM job_results WHERE job_id = '{jid}' AND attempt > 1"
                        f" AND row_no IN ({','.join(x[0] for x in dead) or '-1'})")
tap.ok(notdone == [["0"]] and redone == [[str(len(dead))]],
       f"job_rows: every row has its one result; the {len(dead)} rows node 1 and {victim} held when they died were "
       f"claimed again after their lease", [f"not done: {notdone}, redone: {redone}"])

peak = latency_stats(state, "latency", latency_pid)
tap.ok(peak is not None and 0 < peak[1] <= MX_CAP,
       f"over the two nodes and three workers (one node and one worker killed), bclab-slow.net's MX had at most "
       f"{peak[1] if peak else '?'} connections open at once (cap {MX_CAP}; {peak[0] if peak else '?'} in all)",
       f"latency proxy stats: {peak}")
nd = lb("GET", f"/v1/jobs/{jid}/results?format=ndjson", timeout=120)
sources = Counter()
for line in (nd.body.decode("utf-8", "replace").splitlines() if nd.status == 200 else []):
    try:
        src = ((json.loads(line).get("result") or {}).get("smtp") or {}).get("source_address")
    except ValueError:
        src = None
    if src:
        sources[src] += 1
# rows whose result one of the three workers wrote after an SMTP conversation:
# each from the worker's own address (--source-ip); a stored result is its
# columns' JSON, a newline, then the result's JSON
by_workers = psql("bcnodes", "SELECT count(*), count(*) FILTER (WHERE src = '127.0.0.2' || substr(name, 2, 1))"
                             " FROM (SELECT w.name, (substr(r.result, strpos(r.result, E'\\n') + 1)::json -> 'smtp'"
                             " ->> 'source_address')"
                             " AS src FROM job_results r JOIN workers w ON w.id = r.holder"
                             f" WHERE r.job_id = '{jid}' AND w.name IN ('w1', 'w2', 'w3')) x"
                             " WHERE src IS NOT NULL")
tap.ok(by_workers and by_workers[0][0] == by_workers[0][1],
       f"every row the three workers verified over SMTP was asked from the worker's own address "
       f"({by_workers[0][1] if by_workers else '?'} of {by_workers[0][0] if by_workers else '?'} rows; sources in "
       f"the results: {', '.join(f'{a}={n}' for a, n in sorted(sources.items()))})", nd.short())

res = lb("GET", f"/v1/jobs/{jid}/results?format=csv", timeout=120)
same, d = compare(res.body if res.status == 200 else b"", open(ref, "rb").read())
tap.ok(res.status == 200 and same,
       "the results downloaded through the balancer (node 2) are byte-identical to `bouncecheck verify -i`",
       [res.short()] + d)
formats = {}
for fmt in ("csv", "tsv", "ndjson", "json"):
    for flt in ("all", "undeliverable", "remove"):
        rr = lb("GET", f"/v1/jobs/{jid}/results?format={fmt}&filter={flt}", timeout=120)
        formats[(fmt, flt)] = rr.body if rr.status == 200 else None
tap.ok(all(v for v in formats.values()),
       "every format (csv, tsv, ndjson, json) and filter downloads from node 2 (200, not empty)",
       [f"{k}: {'ok' if v else 'failed'}" for k, v in formats.items()])

# ---- node 1 back on its stale data directory -------------------------------------------
err = n1.start(wait=60)
tap.ok(err is None, "node 1 restarts on its data directory (the job's state there is from before the kill)", err)
j2 = n2.wait_job(jid2, key=KEY, timeout=180) or {}
tap.ok(j2.get("status") == "done", "the second job completes", repr(j2)[:300])
diff = []
for fmt in ("csv", "tsv", "ndjson", "json"):
    for jj in (jid, jid2):
        a = n1.req("GET", f"/v1/jobs/{jj}/results?format={fmt}", key=KEY, timeout=120)
        b = n2.req("GET", f"/v1/jobs/{jj}/results?format={fmt}", key=KEY, timeout=120)
        if a.status != 200 or b.status != 200 or a.body != b.body:
            diff.append(f"{jj[:8]} {fmt}: node1 {a.status} node2 {b.status} same={a.body == b.body}")
tap.ok(not diff, "node 1 and node 2 give byte-identical results for both jobs in every format", diff)
p2, _ = cli_reference(lst2, os.path.join(state, "ref2.csv"), "ref2@bclab-client.net")
r2 = n1.req("GET", f"/v1/jobs/{jid2}/results?format=csv", key=KEY, timeout=120)
same, d = compare(r2.body if r2.status == 200 else b"", open(os.path.join(state, "ref2.csv"), "rb").read())
tap.ok(p2.returncode == 0 and same, "the second job's results (uploaded to node 2, read from node 1) are "
       "byte-identical to `bouncecheck verify -i`", d)

rd = n1.req("DELETE", f"/v1/jobs/{jid2}", key=KEY)
g2 = n2.req("GET", f"/v1/jobs/{jid2}", key=KEY)
g3 = n2.req("GET", f"/v1/jobs/{jid2}/results", key=KEY)
time.sleep(1)
left = psql("bcnodes", f"SELECT count(*) FROM job_files WHERE job_id = '{jid2}'")
tap.ok(rd.status == 204 and g2.status == 404 and g3.status == 404 and left == [["0"]],
       "DELETE through node 1: node 2 answers 404 for the job and its results; its files left the database",
       [rd.short(), g2.short(), g3.short(), f"job_files: {left}"])

# ---- 4. SIGKILL mid-upload --------------------------------------------------------------
big = os.path.join(state, "big.csv")
with open(big, "w", encoding="utf-8") as f:
    f.write("email\n")
    for i in range(40000):
        f.write(f"user{i}@bclab-ok.net\n")
before = {j.get("id") for j in (lb("GET", "/v1/jobs").json() or {}).get("jobs", [])}
up = subprocess.Popen(wrap + ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--limit-rate", "100k",
                              "-H", f"Authorization: Bearer {KEY}", "-H", "Content-Type: text/csv",
                              "--data-binary", "@" + big, f"{n1.base}/v1/jobs"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
time.sleep(2)
n1.kill9()
out, _ = up.communicate(timeout=60)
after = {j.get("id") for j in (lb("GET", "/v1/jobs").json() or {}).get("jobs", [])}
tap.ok(out.decode().strip() not in ("201", "202") and after == before,
       f"an upload cut by SIGKILL of its node is not acknowledged (curl: {out.decode().strip() or 'no answer'})"
       f" and makes no job", [f"jobs before {sorted(before)}, after {sorted(after)}"])

# ---- 5. stopping ------------------------------------------------------------------------
err = n1.start(wait=60)
rcs = [n1.stop() if err is None else None, n2.stop()]
held = psql("bcnodes", "SELECT count(*) FROM job_coord")
tap.ok(rcs == [0, 0] and held == [["0"]], f"SIGTERM stops both nodes with exit 0 ({rcs}), their leases given back",
       [f"job_coord rows: {held}", n1.stderr_tail(), n2.stderr_tail()])
wrcs = {}
for name, (p, _, _) in workers.items():
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            wrcs[name] = p.wait(30)
        except subprocess.TimeoutExpired:
            wrcs[name] = None
tap.ok(len(wrcs) == 2 and set(wrcs.values()) == {0}, f"SIGTERM stops the two workers left with exit 0 ({wrcs})")
texts = n1.stderr_text() + n2.stderr_text() + "".join(
    open(e, encoding="utf-8", errors="replace").read() for _, e, _ in workers.values())
tap.ok(PW not in texts, "the database password shows in no node's log")
tap.ok("Sanitizer" not in texts and "runtime error" not in texts, "no sanitizer report from the nodes",
       [ln for ln in texts.splitlines() if "Sanitizer" in ln or "runtime error" in ln][:10])
finish()
EOF

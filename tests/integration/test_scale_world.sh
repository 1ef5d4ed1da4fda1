#!/bin/bash
# test_scale_world.sh BOUNCECHECK - scale-out over PostgreSQL (issue 9)
# against the real servers of the test world (tests/world/up.sh: NSD,
# Postfix, postgrey and the 300 ms latency proxy in a fresh network
# namespace), with a throwaway PostgreSQL cluster (tests/pg_local.sh):
#  1. an API-only `serve --db URL --no-work` and three `worker --db URL`
#     (lease 5 s) verify a seeded 1,500-row CSV (other columns, duplicates,
#     eleven domains: deliverable, unknown, full, disabled, catch-all, null
#     MX, no mail server, greylisted by postgrey, a dead first MX, an IDN, a
#     scripted server, and bclab-slow.net with ~325 distinct addresses behind
#     the latency proxy); one worker holding a claim is killed with SIGKILL
#     once 20% of the rows are done, another is stopped with SIGTERM while it
#     holds a claim; the job still completes with every row exactly once
#     (job_rows: all done, the rows the dead worker held claimed again
#     after its lease), the SIGTERM'd worker exits 0, leaves the workers
#     table and holds nothing, `status --json` shows the dead one stale;
#     the last one stops the same way when idle;
#  2. the results (GET /v1/jobs/ID/results, CSV) are byte-identical to
#     `bouncecheck verify -i` (one process) on the same file with the same
#     engine options (but the sender: see the reference run below);
#  3. the latency proxy (bclab-slow.net's only MX) never had more than the
#     per-MX cap (--mx-connections 4) open at once while the three workers
#     ran: claims are exclusive per domain, so adding workers does not add
#     load on a domain's mail servers;
#  4. `serve --db URL` without --no-work and with no worker verifies a
#     second job by itself, byte-identical to the CLI too.
#  5. many domains, one MX address (issue 20): 400 addresses over 200
#     domains whose only MX is bclab-shared.net, with the default RCPT
#     batching: one process and then three workers (one killed with
#     SIGKILL mid-job) never have more than --mx-connections open to it at
#     once (its latency proxy counts), every row once, byte-identical.
# PostgreSQL runs on the host and is reached from the namespace through its
# Unix socket (a path in the file system: not bound to a network namespace);
# the password travels in PGPASSWORD, never on a command line.
# Brings everything down on exit, whatever happened. Needs root; skips
# without it, without network namespaces or without PostgreSQL. Prints TAP.
# Environment: BC_WORLD_KEEP=1 keeps the world's state directory (logs,
# lists, outputs) and prints its path.
set -u

bin=${1:?usage: test_scale_world.sh path/to/bouncecheck}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
world="$here/../world"
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
py=/usr/bin/python3

# shellcheck source=tests/world/preflight.sh
. "$world/preflight.sh"
world_preflight nsd postfix postgrey openssl ip curl "$py"
# shellcheck source=tests/pg_local.sh
. "$here/../pg_local.sh"
pg_local_begin scale_world       # skips without PostgreSQL; sets the EXIT trap

# world_state's trap would replace pg_local_begin's: one trap doing both
# (the world first: its processes use the database).
world_state bc-scaleworld
pg_local_on_exit() { world_cleanup; }
trap pg_local_exit EXIT

world_up                          # TAP 1
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

latency2_pid=$(awk '$2 == "latency2" { print $1 }' "$state/pids")

$py - "$bin" "$NS" "$state" "$here/../api" "$latency_pid" "$latency2_pid" <<'EOF'
import csv, io, json, os, random, re, signal, subprocess, sys, time
from collections import Counter
bin, ns, state, apidir, latency_pid, latency2_pid = sys.argv[1:7]
sys.path.insert(0, apidir)
from apitest import Server, Tap, checker, latency_stats

tap = Tap()
tap.n = 2                       # the world and PostgreSQL were 1 and 2
wrap = ["ip", "netns", "exec", ns]
# The shared engine options, with greylisting rechecks soon enough for
# postgrey's 3 s delay.
engine = os.environ["BC_ENGINE_ARGS"].split() + ["--greylist-schedule", "4"]
MX_CAP = int(engine[engine.index("--mx-connections") + 1])
PW = os.environ["PG_LOCAL_PASSWORD"]
env = dict(os.environ, PGPASSWORD=PW)   # for every process that opens the database
procs = []                               # (name, Popen, stderr path) of the workers


def finish():
    for _, p, _ in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    checker().report(tap)
    sys.exit(tap.done())


def db_url(db):
    """The URL the namespace's processes use: the cluster's Unix socket."""
    return f"postgresql://{os.environ['PG_LOCAL_USER']}@/{db}?host={os.environ['BC_PG_SOCK']}" \
           f"&port={os.environ['PG_LOCAL_PORT']}"


def psql(db, sql):
    """Runs one SQL statement on the host (TCP on 127.0.0.1); its rows as
    lists of strings ([] on an error, reported on stderr)."""
    p = subprocess.run([os.path.join(os.environ["PG_LOCAL_BIN"], "psql"), "-X", "-q", "-A", "-t",
                        "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                        os.environ["PG_LOCAL_PORT"], "-U", os.environ["PG_LOCAL_USER"], "-d", db, "-c", sql],
                       capture_output=True, env=env, timeout=60)
    if p.returncode != 0:
        print("# psql: " + p.stderr.decode("utf-8", "replace").strip()[:300], flush=True)
        return []
    return [ln.split("\t") for ln in p.stdout.decode("utf-8", "replace").splitlines() if ln]


def createdb(name):
    p = subprocess.run([os.path.join(os.environ["PG_LOCAL_BIN"], "createdb"), "-h", "127.0.0.1", "-p",
                        os.environ["PG_LOCAL_PORT"], "-U", os.environ["PG_LOCAL_USER"], name],
                       capture_output=True, env=env, timeout=60)
    return p.returncode == 0


def proxy_stats(name="latency", pid=None):
    """(connections, peak) of a latency proxy (bclab-slow.net's, or NAME's
    with PID) since the previous call, or None."""
    return latency_stats(state, name, pid or latency_pid)


def start_worker(name, url, extra=(), eng=None):
    err = os.path.join(state, f"worker-{name}.stderr")
    f = open(err, "ab")
    cmd = wrap + [bin, "worker", "--db", url, "--name", name, *(eng or engine), "--lease", "5", "--claim-rows", "50",
                  *extra]
    f.write(("---- " + " ".join(cmd) + "\n").encode())
    f.flush()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=f, env=env)
    f.close()
    procs.append((name, p, err))
    return p


def tail(path, n=8):
    try:
        return " | ".join(open(path, encoding="utf-8", errors="replace").read().splitlines()[-n:])
    except OSError:
        return ""


def cli_reference(lst, out, sender=None, eng=None):
    """`bouncecheck verify -i lst -o out` in the namespace (the engine options
    or ENG, --from SENDER when given); (CompletedProcess, seconds)."""
    opts = list(eng or engine)
    if sender:
        opts[opts.index("--from") + 1] = sender
    t0 = time.time()
    p = subprocess.run(wrap + ["timeout", "600", bin, "verify", *opts, "--quiet", "-i", lst, "-o", out,
                               "--format", "csv"], capture_output=True)
    return p, time.time() - t0


def compare(body, ref):
    """(same, diagnostics) of a results body against the file ref."""
    want = open(ref, "rb").read() if os.path.exists(ref) else b""
    if body == want:
        return True, []
    a, b = body.split(b"\n"), want.split(b"\n")
    bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    return False, [f"{len(a)} vs {len(b)} lines, {len(bad)} differ"] + \
        [f"line {i + 1}: api {a[i][:160]!r} cli {b[i][:160]!r}" for i in bad[:6]]


# ---- the list --------------------------------------------------------------------------
rng = random.Random(20261129)
users = ["alice", "bob", "carol", "sink", "info"]
pools = {}


def unknown(dom, cap):
    p = pools.setdefault(dom, [])
    if len(p) < cap and (not p or rng.random() < 0.6):
        p.append("n" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(9)))
        return p[-1]
    return rng.choice(p)


SLOW_DISTINCT = 330


def row():
    """(address, expected status/reason) of one row."""
    r = rng.random()
    if r < 0.30:           # behind the latency proxy: the slow part, ~330 distinct addresses
        if rng.random() < 0.05:
            return f"{rng.choice(users)}@bclab-slow.net", "deliverable/accepted_email"
        return f"{unknown('bclab-slow.net', SLOW_DISTINCT)}@bclab-slow.net", "undeliverable/rejected_email"
    if r < 0.42:
        return f"{rng.choice(users)}@{rng.choice(['bclab-ok.net', 'bclab-backup.net', 'gmail.com', 'bclab-implicit.net'])}", \
            "deliverable/accepted_email"
    if r < 0.62:
        d = rng.choice(["bclab-ok.net", "bclab-backup.net", "gmail.com", "bclab-implicit.net"])
        return f"{unknown(d, 80)}@{d}", "undeliverable/rejected_email"
    if r < 0.70:
        return f"{unknown('bclab-catchall.net', 60)}@bclab-catchall.net", "risky/accept_all"
    if r < 0.76:           # the scripted server: alice, bob, carol exist
        u = rng.choice(["alice", "bob", "carol", unknown("bclab-multi.net", 30)])
        return f"{u}@bclab-multi.net", ("deliverable/accepted_email" if u in ("alice", "bob", "carol")
                                         else "undeliverable/rejected_email")
    if r < 0.80:           # greylisted by postgrey first, then accepted
        return f"{rng.choice(['grey1', 'grey2', 'alice', 'bob', 'carol'])}@bclab-grey.net", "deliverable/accepted_email"
    if r < 0.84:
        return f"{rng.choice(users)}@bücher-lab.net", "deliverable/accepted_email"
    if r < 0.88:
        return f"{unknown('bclab-nullmx.net', 40)}@bclab-nullmx.net", "undeliverable/null_mx"
    if r < 0.92:
        return f"{unknown('bclab-nomail.net', 40)}@bclab-nomail.net", "undeliverable/no_mail_server"
    if r < 0.95:
        return rng.choice(["plainaddress", "two@@bclab-ok.net", "@bclab-ok.net", "carol@", ""]), \
            "undeliverable/invalid_syntax"
    if r < 0.975:
        return "full@bclab-ok.net", "risky/mailbox_full"
    return "disabled@bclab-ok.net", "undeliverable/mailbox_disabled"


def write_list(path, rows_):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "notes"])
        for i, (addr, _) in enumerate(rows_):
            w.writerow([i, rng.choice(["Doe, Jane", 'Bob "B" Builder', "Ørjan", "x"]), addr,
                        rng.choice(["", "one\ntwo", "a,b", str(i)])])


NROWS = 1500
want = [row() for _ in range(NROWS)]
# Enough distinct slow addresses that 3 workers holding claims of the domain
# at once would go over the cap: 330 addresses are 7 claims of 50.
while len(pools.get("bclab-slow.net", [])) < SLOW_DISTINCT:
    want[rng.randrange(NROWS)] = (f"{unknown('bclab-slow.net', SLOW_DISTINCT)}@bclab-slow.net",
                                  "undeliverable/rejected_email")
lst = os.path.join(state, "list.csv")
write_list(lst, want)
slow_rows = sum(1 for a, _ in want if a.endswith("@bclab-slow.net"))
slow_distinct = len({a for a, _ in want if a.endswith("@bclab-slow.net")})
ndomains = len({a.rpartition("@")[2] for a, _ in want if "@" in a and a.rpartition("@")[2]})

# ---- the reference: the same list on one machine ---------------------------------------
# With its own sender: postgrey greylists (client, sender, recipient) triplets,
# so both runs meet fresh triplets and take the same path (450, recheck, 250,
# and 450 then 550 for the catch-all probe). With the same sender the second
# run would be let through at once while its random catch-all probe is still
# greylisted, and rows of bclab-grey.net would differ in accept_all and score
# (server state, not the engine). The sender shows in no result column.
ref = os.path.join(state, "ref.csv")
proxy_stats()
p, secs1 = cli_reference(lst, ref, sender="ref@bclab-client.net")
cli_peak = proxy_stats()
tap.ok(p.returncode == 0, f"the CLI verifies the list in one process (exit {p.returncode}, {secs1:.0f}s, "
       f"at most {cli_peak[1] if cli_peak else '?'} connections at once to bclab-slow.net's MX)",
       p.stderr.decode("utf-8", "replace")[-500:])

# ---- 1. scale-out: an API-only server and three workers --------------------------------
if not createdb("bcscale"):
    tap.ok(False, "createdb bcscale")
    finish()
url = db_url("bcscale")
s = Server(bin, state, args=["--db", url, "--no-work", *engine], data=os.path.join(state, "api-data"),
           name="api-server", wrap=wrap, env={"PGPASSWORD": PW})
err = s.start(wait=60)
tap.ok(err is None, "serve --db (PostgreSQL through its socket) --no-work starts in the namespace", err)
if err:
    finish()
for i in (1, 2, 3):
    start_worker(f"w{i}", url)
names = []
deadline = time.time() + 30
while time.time() < deadline:
    names = sorted(r[0] for r in psql("bcscale", "SELECT name FROM workers WHERE name IN ('w1','w2','w3')"))
    if names == ["w1", "w2", "w3"] or any(p.poll() is not None for _, p, _ in procs):
        break
    time.sleep(0.2)
tap.ok(names == ["w1", "w2", "w3"], "three workers start and register in the workers table",
       [f"registered: {names}"] + [f"{n}: exit {p.poll()}: {tail(e)}" for n, p, e in procs])
if names != ["w1", "w2", "w3"]:
    s.stop()
    finish()
wid = {r[1]: r[0] for r in psql("bcscale", "SELECT id, name FROM workers")}
name_of = {v: k for k, v in wid.items()}
proxy_stats()                    # the proxy's counters start now

t0 = time.time()
r = s.req("POST", "/v1/jobs?name=scale", headers={"Content-Type": "text/csv"}, body_file=lst)
jid = (r.json() or {}).get("id") if r.status == 201 else None
tap.ok(jid is not None and (r.json() or {}).get("total") == NROWS,
       f"POST /v1/jobs: {NROWS} rows over {ndomains} domains ({slow_rows} rows, {slow_distinct} distinct "
       f"addresses behind the latency proxy): 201", r.short())
if not jid:
    s.stop()
    finish()


def status_json():
    """`bouncecheck status --db URL --json` in the namespace: the parsed
    object, or {} (the failure printed as a diagnostic)."""
    p = subprocess.run(wrap + [bin, "status", "--db", url, "--json"], capture_output=True, env=env, timeout=60)
    try:
        return json.loads(p.stdout.decode("utf-8"))
    except ValueError:
        print(f"# status exit {p.returncode}: " + p.stderr.decode("utf-8", "replace").strip()[:300], flush=True)
        return {}


def live_claims():
    """[(worker name, domain, rows)] of the live claims now, as `status` shows them."""
    return [(c.get("worker_name") or c.get("worker"), c.get("domain"), c.get("rows"))
            for c in status_json().get("claims", []) if (c.get("lease_left") or 0) >= 0]


def job_now():
    return s.req("GET", f"/v1/jobs/{jid}", check=False, timeout=10).json() or {}


def grey_holders(claims):
    """Workers holding bclab-grey.net: not the ones stopped. Its rows, taken
    over by another worker after postgrey let their triplets through, would be
    accepted at once while a new random catch-all probe is greylisted: the
    rows' accept_all and score would then differ from the CLI's (see above)."""
    return {c[0] for c in claims if c[1] == "bclab-grey.net"}


# kill -9, at 20% done, of the worker holding a claim (bclab-slow.net's if any).
killed, kill_at, held, dead_rows = None, None, [], []
deadline = time.time() + 240
while time.time() < deadline and killed is None:
    j = job_now()
    if j.get("status") in ("done", "failed"):
        break
    if (j.get("processed") or 0) >= NROWS // 5:
        cl = [c for c in live_claims() if c[0] in ("w1", "w2", "w3")]
        pick = [c for c in cl if c[1] == "bclab-slow.net" and c[0] not in grey_holders(cl)] or \
            [c for c in cl if c[0] not in grey_holders(cl)]
        if pick:
            name = pick[0][0]
            victim = dict((n, p) for n, p, _ in procs)[name]
            # Stopped first, so that what it holds without a result cannot
            # change before the kill (it may have finished the claim `status`
            # showed: then it goes on, and another is picked).
            victim.send_signal(signal.SIGSTOP)
            time.sleep(0.3)  # (a statement it had sent ends)
            rows = [r[0] for r in psql("bcscale", f"SELECT r.row_no FROM job_claims c JOIN job_rows r"
                                                  f" ON r.job_id = c.job_id AND r.domain = c.domain"
                                                  f" AND r.dseq >= c.lo AND r.dseq < c.hi WHERE c.job_id = '{jid}'"
                                                  f" AND c.holder = '{wid[name]}' AND c.open_rows > 0"
                                                  f" AND NOT EXISTS (SELECT 1 FROM job_results x WHERE x.job_id = r.job_id AND x.row_no = r.row_no)")]
            if not rows:
                victim.send_signal(signal.SIGCONT)
                time.sleep(0.2)
                continue
            killed, held = name, [c for c in cl if c[0] == name]
            victim.kill()
            victim.wait()
            kill_at = j.get("processed")
            # What it held without a result when it died: claimed again later.
            dead_rows = rows
            break
    time.sleep(0.2)
tap.ok(killed is not None, f"kill -9 of worker {killed} at {kill_at} of {NROWS} rows done, while it held "
       f"{', '.join(f'{n} rows of {d}' for _, d, n in held) or 'nothing'}", repr(job_now())[:300])

# SIGTERM to a surviving worker while it holds a claim (after the dead one's
# lease ran out, so that its rows were claimed again first).
termed, term_rc, term_held = None, None, []
if killed:
    time.sleep(6)
    deadline = time.time() + 120
    while time.time() < deadline and termed is None:
        if job_now().get("status") in ("done", "failed"):
            break
        cl = [c for c in live_claims() if c[0] in ("w1", "w2", "w3") and c[0] != killed]
        cl = [c for c in cl if c[0] not in grey_holders(cl)]
        if cl:
            termed, term_held = cl[0][0], [c for c in cl if c[0] == cl[0][0]]
            p = dict((n, p) for n, p, _ in procs)[termed]
            p.send_signal(signal.SIGTERM)
            try:
                term_rc = p.wait(30)
            except subprocess.TimeoutExpired:
                term_rc = None
            break
        time.sleep(0.2)
left = psql("bcscale", f"SELECT coalesce(sum(open_rows), 0) FROM job_claims WHERE holder = '{wid.get(termed, '-')}'"
                       f" AND open_rows > 0")
gone = psql("bcscale", f"SELECT count(*) FROM workers WHERE name = '{termed}'")
tap.ok(termed is not None and term_rc == 0 and left == [["0"]] and gone == [["0"]],
       f"SIGTERM to worker {termed} while it held {', '.join(f'{n} rows of {d}' for _, d, n in term_held)}: "
       f"exit {term_rc}, it left the workers table, no row left claimed by it",
       [f"rows still claimed: {left}, workers rows: {gone}", tail(os.path.join(state, f'worker-{termed}.stderr'))])

j = s.wait_job(jid, timeout=300) or {}
secs = time.time() - t0
done = j.get("status") == "done"
tap.ok(done and j.get("processed") == NROWS, f"the job completes with the last worker: done, processed = total = "
       f"{NROWS} ({secs:.0f}s)", repr(j)[:400])
peak = proxy_stats()
# `status`: the killed worker is stale once 15 s passed without its heartbeat,
# the stopped one is gone, the last one alive, and no claim is left.
deadline = time.time() + 25
while True:
    st = status_json()
    ws = {w.get("name"): w.get("alive") for w in st.get("workers", [])}
    if ws.get(killed) is False or time.time() > deadline:
        break
    time.sleep(1)
live = [n for n, p, _ in procs if p.poll() is None]
tap.ok(killed and ws.get(killed) is False and termed not in ws and live and ws.get(live[0]) is True
       and st.get("claims") == [],
       f"status --json: the killed {killed} is stale, the stopped {termed} gone, {live[0] if live else '?'} alive, "
       f"no claims left", json.dumps(st)[:600])
tap.ok(peak is not None and 0 < peak[1] <= MX_CAP,
       f"bclab-slow.net's MX (the latency proxy) had at most {peak[1] if peak else '?'} connections open at once "
       f"(cap {MX_CAP}, {peak[0] if peak else '?'} connections in all) while the workers shared the domain's "
       f"{slow_distinct} addresses", f"proxy stats: {peak}")

# Every row exactly once.
notdone = psql("bcscale", f"SELECT count(*) FROM job_rows r WHERE job_id = '{jid}' AND NOT EXISTS (SELECT 1 FROM job_results x WHERE x.job_id = r.job_id AND x.row_no = r.row_no)")
again = psql("bcscale", f"SELECT count(*), count(DISTINCT holder) FROM job_results WHERE job_id = '{jid}'"
                        f" AND attempt > 1")
by_holder = [(name_of.get(h, h), c) for h, c in
             psql("bcscale", f"SELECT holder, count(*) FROM job_results WHERE job_id = '{jid}' GROUP BY 1 ORDER BY 1")]
n_again = int(again[0][0]) if again else 0
tap.ok(notdone == [["0"]], f"job_rows: no row of the job without its result ({notdone})")
redone = psql("bcscale", f"SELECT count(*) FROM job_results WHERE job_id = '{jid}' AND attempt > 1"
                        f" AND holder <> '{wid.get(killed, '-')}' AND row_no IN ({','.join(dead_rows) or '-1'})")
tap.ok(dead_rows and redone == [[str(len(dead_rows))]],
       f"the {len(dead_rows)} rows the killed worker held without a result were claimed again after its "
       f"lease and verified by another worker ({n_again} rows claimed more than once in all; rows by holder: "
       f"{', '.join(f'{h[:12]}={c}' for h, c in by_holder)})", [f"redone: {redone}", f"again: {again}"])
res = s.req("GET", f"/v1/jobs/{jid}/results?format=csv", timeout=120)
rows = list(csv.reader(io.StringIO(res.body.decode("utf-8-sig", "replace"), newline="")))[1:] \
    if res.status == 200 else []
tap.ok(res.status == 200 and len(rows) == NROWS and [x[0] for x in rows] == [str(i) for i in range(NROWS)],
       f"the results hold every input row exactly once, in order ({len(rows)} rows)", res.short())
bad = Counter()
ex = {}
for (addr, v), x in zip(want, rows):
    got = f"{x[4]}/{x[5]}" if len(x) > 5 else "?"
    if got != v:
        bad[(v, got)] += 1
        ex.setdefault((v, got), addr)
tap.ok(rows and not bad, "every row has the verdict its class expects",
       [f"{c} rows want {v}, got {g}; e.g. {ex[(v, g)]}" for (v, g), c in bad.most_common(8)])
log = open(os.path.join(state, "maillog"), encoding="utf-8", errors="replace").read()
grey = len(re.findall(r"450 4\.2\.0 <[^>]*@bclab-grey\.net>.*Greylisted", log))
tap.ok(grey >= 1, f"postgrey greylisted the workers ({grey} times) and they rechecked to deliverable")

# The worker still running, now idle: SIGTERM.
last = [n for n, p, _ in procs if p.poll() is None]
rc = None
if last:
    p = dict((n, p) for n, p, _ in procs)[last[0]]
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(30)
    except subprocess.TimeoutExpired:
        rc = None
gone = psql("bcscale", f"SELECT count(*) FROM workers WHERE name = '{last[0] if last else '-'}'")
tap.ok(len(last) == 1 and rc == 0 and gone == [["0"]],
       f"SIGTERM to the idle worker {last[0] if last else '?'}: exit {rc}, it left the workers table",
       [f"running: {last}, workers rows: {gone}"] + [tail(e) for n, _, e in procs if n in last])
rc = s.stop()
tap.ok(rc == 0, f"SIGTERM stops the API-only server with exit status 0 ({rc})", s.stderr_tail())

# ---- 2. the same list on one machine: the results compared ------------------------------
same, d = compare(res.body if res.status == 200 else b"", ref)
tap.ok(same, "the scale-out results are byte-identical to `bouncecheck verify -i` on the same list", d)

# ---- 3. the server alone works its jobs -------------------------------------------------
rng = random.Random(29111926)
pools.clear()
want2 = []
while len(want2) < 300:
    a, v = row()
    if "bclab-slow.net" not in a and "bclab-grey.net" not in a:   # quick ones
        want2.append((a, v))
lst2 = os.path.join(state, "list2.csv")
write_list(lst2, want2)
s2 = Server(bin, state, args=["--db", url, *engine], data=os.path.join(state, "api-data"),
            name="api-server2", wrap=wrap, env={"PGPASSWORD": PW})
err = s2.start(wait=60)
tap.ok(err is None, "serve --db without --no-work starts (no worker runs)", err)
if err:
    finish()
r = s2.req("POST", "/v1/jobs?name=alone", headers={"Content-Type": "text/csv"}, body_file=lst2)
jid2 = (r.json() or {}).get("id") if r.status == 201 else None
j = s2.wait_job(jid2, timeout=180) or {} if jid2 else {}
holders = psql("bcscale", "SELECT coalesce(w.name, r.holder, '-'), count(*) FROM job_results r LEFT JOIN workers w"
                          f" ON w.id = r.holder WHERE r.job_id = '{jid2}' GROUP BY 1")
tap.ok(j.get("status") == "done" and j.get("processed") == len(want2)
       and holders and not any(h in ("w1", "w2", "w3", "-") for h, _ in holders),
       f"the server verifies a second job of {len(want2)} rows itself (rows by holder: "
       f"{', '.join(f'{h[:12]}={c}' for h, c in holders)})", [r.short(), repr(j)[:300]])
r2 = s2.req("GET", f"/v1/jobs/{jid2}/results?format=csv", timeout=120) if jid2 else None
ref2 = os.path.join(state, "ref2.csv")
p, _ = cli_reference(lst2, ref2)
same, d = compare(r2.body if r2 is not None and r2.status == 200 else b"", ref2)
tap.ok(p.returncode == 0 and same, "its results are byte-identical to `bouncecheck verify -i` too",
       [f"cli exit {p.returncode}"] + d)
rc = s2.stop()
tap.ok(rc == 0, f"SIGTERM stops the server with exit status 0 ({rc})", s2.stderr_tail())

# ---- 4. many domains, one MX address: the cap holds in one process and over workers -----
# 200 domains whose only MX is bclab-shared.net (one address, the 20 ms proxy
# in front of Postfix), alice existing at each: --mx-connections counts per
# MX address, whatever the domain, in one process and over three workers
# through the host gate (their claims are exclusive per domain only until a
# domain's MX is known: the first batches of different domains run side by
# side). The default RCPT batching (no --rcpts-per-connection). One worker
# is killed with SIGKILL mid-job: the slots it held run out, the cap holds.
shared = [f"bclab-sh{i:03d}.net" for i in range(200)]
want3 = []
for d in shared:
    want3.append((f"alice@{d}", "deliverable/accepted_email"))
    want3.append((f"n{rng.randrange(10**8):08d}@{d}", "undeliverable/rejected_email"))
rng.shuffle(want3)
lst3 = os.path.join(state, "list3.csv")
write_list(lst3, want3)
eng3 = list(engine)
k = eng3.index("--rcpts-per-connection")
del eng3[k:k + 2]
ref3 = os.path.join(state, "ref3.csv")
proxy_stats("latency2", latency2_pid)
p, secs3 = cli_reference(lst3, ref3, eng=eng3)
peak = proxy_stats("latency2", latency2_pid)
tap.ok(p.returncode == 0 and peak is not None and 0 < peak[1] <= MX_CAP,
       f"one process, {len(want3)} addresses over {len(shared)} domains on one MX address: at most "
       f"{peak[1] if peak else '?'} connections at once (cap {MX_CAP}; {peak[0] if peak else '?'} in all, "
       f"{secs3:.0f}s)", [f"exit {p.returncode}", p.stderr.decode('utf-8', 'replace')[-300:], f"stats {peak}"])
got3 = list(csv.reader(open(ref3, encoding="utf-8-sig", newline="")))[1:] if os.path.exists(ref3) else []
bad3 = [(a, v, f"{x[4]}/{x[5]}") for (a, v), x in zip(want3, got3) if len(x) > 5 and f"{x[4]}/{x[5]}" != v]
tap.ok(len(got3) == len(want3) and not bad3, f"every one of them has its verdict ({len(got3)} rows)", bad3[:5])

if not createdb("bcshared"):
    tap.ok(False, "createdb bcshared")
    finish()
url3 = db_url("bcshared")
s3 = Server(bin, state, args=["--db", url3, "--no-work", *eng3], data=os.path.join(state, "api-data3"),
            name="api-server3", wrap=wrap, env={"PGPASSWORD": PW})
err = s3.start(wait=60)
tap.ok(err is None, "serve --db --no-work starts for the shared-MX job", err)
if err:
    finish()
first = len(procs)
for i in (4, 5, 6):
    start_worker(f"w{i}", url3, eng=eng3)
proxy_stats("latency2", latency2_pid)
r = s3.req("POST", "/v1/jobs?name=shared", headers={"Content-Type": "text/csv"}, body_file=lst3)
jid3 = (r.json() or {}).get("id") if r.status == 201 else None
tap.ok(jid3 is not None, f"POST /v1/jobs: {len(want3)} rows over {len(shared)} domains on one MX address",
       r.short())
killed3 = None
deadline = time.time() + 120
while jid3 and time.time() < deadline and killed3 is None:
    j = s3.req("GET", f"/v1/jobs/{jid3}", check=False, timeout=10).json() or {}
    if j.get("status") in ("done", "failed"):
        break
    if (j.get("processed") or 0) >= len(want3) // 4:
        held = psql("bcshared", f"SELECT w.name FROM job_claims c JOIN workers w ON w.id = c.holder"
                                f" WHERE c.job_id = '{jid3}' AND c.open_rows > 0 LIMIT 1")
        if held:
            killed3 = held[0][0]
            victim = dict((n, p) for n, p, _ in procs)[killed3]
            victim.kill()
            victim.wait()
            break
    time.sleep(0.1)
j = s3.wait_job(jid3, timeout=300) or {} if jid3 else {}
peak = proxy_stats("latency2", latency2_pid)
tap.ok(killed3 is not None and j.get("status") == "done" and j.get("processed") == len(want3),
       f"three workers, one ({killed3}) killed with SIGKILL a quarter of the way: the job completes",
       repr(j)[:300])
tap.ok(peak is not None and 0 < peak[1] <= MX_CAP,
       f"over the three workers, bclab-shared.net's address had at most {peak[1] if peak else '?'} connections "
       f"at once (cap {MX_CAP}; {peak[0] if peak else '?'} in all)", f"stats {peak}")
once = psql("bcshared", f"SELECT count(*) FROM job_results WHERE job_id = '{jid3}'")
tap.ok(once == [[str(len(want3))]], f"job_rows: every row done exactly once ({once})")
r3 = s3.req("GET", f"/v1/jobs/{jid3}/results?format=csv", timeout=120) if jid3 else None
same, d = compare(r3.body if r3 is not None and r3.status == 200 else b"", ref3)
tap.ok(same, "its results are byte-identical to `bouncecheck verify -i` on the same list", d)
for n, p, _ in procs[first:]:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            pass
s3.stop()

data = re.findall(r".*(?:disconnect from.* data=|postfix/cleanup|message-id=).*",
                  open(os.path.join(state, "maillog"), encoding="utf-8", errors="replace").read())
tap.ok(not data, "Postfix never saw DATA nor queued a message", data[:3])
texts = s.stderr_text() + s2.stderr_text() + s3.stderr_text() + "".join(open(e, encoding="utf-8", errors="replace").read()
                                                      for _, _, e in procs)
tap.ok(PW not in texts, "the database password shows in no server or worker log")
tap.ok("Sanitizer" not in texts and "runtime error" not in texts,
       "no sanitizer report from the servers or the workers",
       [ln for ln in texts.splitlines() if "Sanitizer" in ln or "runtime error" in ln][:10])
finish()
EOF

#!/bin/bash
# test_api_world.sh BOUNCECHECK - `bouncecheck serve` online, against the real
# servers of the test world (tests/world/up.sh: NSD, Postfix, postgrey in a
# fresh network namespace), with real requests (curl, inside the namespace):
#  1. GET /v1/verify of a Postfix mailbox (deliverable/accepted_email) and of
#     an unknown user (undeliverable/rejected_email), then cached;
#  2. a seeded 20,000-row CSV job (quoted cells, embedded newlines, many
#     duplicates, every verdict class the world answers quickly); the server
#     is killed with SIGKILL part way, restarted on the same --data, and the
#     job's results are byte-identical to `bouncecheck verify -i` on the same
#     file with the same engine options, every row with the verdict its class
#     expects; Postfix never saw DATA.
# Brings the world down on exit, whatever happened. Needs root. Prints TAP.
# Environment: BC_WORLD_KEEP=1 keeps the state directory and prints its path.
set -u

bin=${1:?usage: test_api_world.sh path/to/bouncecheck}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
world="$here/../world"
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
py=/usr/bin/python3

# shellcheck source=tests/world/preflight.sh
. "$world/preflight.sh"
world_preflight nsd postfix postgrey openssl ip curl "$py"

world_state bc-apiworld

# The world, and the engine options of test_bulk_world.sh in BC_ENGINE_ARGS
# for the server and the CLI alike.
world_up

$py - "$bin" "$NS" "$state" "$here/../api" <<'EOF'
import csv, io, os, random, re, subprocess, sys, time
from collections import Counter
bin, ns, state, apidir = sys.argv[1:5]
sys.path.insert(0, apidir)
from apitest import Server, Tap, checker, q

tap = Tap()
tap.n = 1                       # "the test world comes up" was number 1
engine = os.environ["BC_ENGINE_ARGS"].split()
wrap = ["ip", "netns", "exec", ns]


def finish():
    checker().report(tap)
    sys.exit(tap.done())


s = Server(bin, state, args=engine, data=os.path.join(state, "api-data"), name="api-server", wrap=wrap)
err = s.start(wait=60)
tap.ok(err is None, "the online server starts in the world namespace and answers /healthz", err)
if err:
    finish()

# ---- 1. single addresses ----------------------------------------------------------
for addr, want in (("alice@bclab-ok.net", ("deliverable", "accepted_email")),
                   ("nosuchuser9@bclab-ok.net", ("undeliverable", "rejected_email"))):
    r = s.req("GET", "/v1/verify?email=" + q(addr), timeout=120)
    j = r.json() or {}
    smtp = j.get("smtp") if isinstance(j.get("smtp"), dict) else {}
    tap.ok(r.status == 200 and (j.get("status"), j.get("reason")) == want and j.get("cached") is False,
           f"GET /v1/verify {addr}: {want[0]}/{want[1]}, not cached", r.short())
    r = s.req("GET", "/v1/verify?email=" + q(addr), timeout=120)
    j2 = r.json() or {}
    tap.ok(r.status == 200 and j2.get("cached") is True and j2.get("status") == want[0],
           f"asked again: the same verdict, cached", r.short())
    tap.ok("transcript" not in j and "transcript" not in j2,
           "without trace=1 neither the fresh nor the cached answer carries a transcript", r.short())
# trace=1: asks the mail server again and gives the conversation, which the
# cache never keeps.
r = s.req("GET", "/v1/verify?trace=1&email=" + q("alice@bclab-ok.net"), timeout=120)
j = r.json() or {}
lines = [t.get("line", "") for t in j.get("transcript") or [] if isinstance(t, dict)]
tap.ok(r.status == 200 and j.get("cached") is False and j.get("status") == "deliverable"
       and any(l.startswith("RCPT TO:<alice@bclab-ok.net>") for l in lines)
       and any(l.startswith("250") for l in lines) and not any(l.startswith("DATA") for l in lines),
       f"trace=1: a fresh answer with the SMTP transcript ({len(lines)} lines: RCPT TO, 250, never DATA)",
       [r.short()] + lines[:20])
r = s.req("GET", "/v1/verify?email=" + q("alice@bclab-ok.net"), timeout=120)
j = r.json() or {}
tap.ok(r.status == 200 and j.get("cached") is True and "transcript" not in j,
       "the cached answer after it has no transcript", r.short())
# The counter is sampled from the verifier once a second: give it three.
for _ in range(30):
    r = s.req("GET", "/metrics")
    m = re.search(r"^bouncecheck_smtp_connections_total(\{[^}]*\})?\s+(\d+(\.\d+)?)", r.body.decode("utf-8", "replace"), re.M)
    if m and float(m.group(2)) >= 1:
        break
    time.sleep(0.1)
tap.ok(m is not None and float(m.group(2)) >= 1, "the metrics count the SMTP connections made (within 3 s)",
       [r.short()[:80]] + [ln for ln in r.body.decode("utf-8", "replace").splitlines() if "smtp" in ln])

# ---- 2. a 20,000-row job, kill -9, restart ---------------------------------------
rng = random.Random(20261129)
users = ["alice", "bob", "carol", "sink", "info"]
doms = ["bclab-ok.net", "bclab-backup.net", "bclab-implicit.net", "gmail.com"]
junk = ["plainaddress", "two@@bclab-ok.net", "@bclab-ok.net", "carol@", "", "a b@bclab-ok.net"]
pools = {}


def unknown(dom, cap):
    p = pools.setdefault(dom, [])
    if len(p) < cap and (not p or rng.random() < 0.4):
        p.append("n" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(9)))
        return p[-1]
    return rng.choice(p)


def row(i):
    r = rng.random()
    if r < 0.2:
        return f"{rng.choice(users)}@{rng.choice(doms)}", "deliverable/accepted_email"
    if r < 0.8:
        d = rng.choice(doms)
        return f"{unknown(d, 1000)}@{d}", "undeliverable/rejected_email"
    if r < 0.86:
        return f"{unknown('bclab-catchall.net', 400)}@bclab-catchall.net", "risky/accept_all"
    if r < 0.89:
        return f"{unknown('bclab-nullmx.net', 200)}@bclab-nullmx.net", "undeliverable/null_mx"
    if r < 0.92:
        return f"{unknown('bclab-nomail.net', 200)}@bclab-nomail.net", "undeliverable/no_mail_server"
    if r < 0.95:
        return rng.choice(junk), "undeliverable/invalid_syntax"
    if r < 0.975:
        return "full@bclab-ok.net", "risky/mailbox_full"
    return "disabled@bclab-ok.net", "undeliverable/mailbox_disabled"


NROWS = 20000
want = []
lst = os.path.join(state, "list.csv")
with open(lst, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "name", "email", "notes"])
    for i in range(NROWS):
        addr, v = row(i)
        want.append((addr, v))
        w.writerow([i, rng.choice(["Doe, Jane", 'Bob "B" Builder', "Ørjan", "x"]), addr,
                    rng.choice(["", "one\ntwo", "a,b", str(i)])])

t0 = time.time()
ref = os.path.join(state, "ref.csv")
p = subprocess.run(wrap + ["timeout", "900", bin, "verify", *engine, "--quiet", "-i", lst, "-o", ref,
                           "--format", "csv"], capture_output=True)
tap.ok(p.returncode == 0, f"the CLI verifies the list (exit {p.returncode}, {time.time() - t0:.0f}s)",
       p.stderr.decode("utf-8", "replace")[-500:])

r = s.req("POST", "/v1/jobs?name=world", headers={"Content-Type": "text/csv"}, body_file=lst)
jid = (r.json() or {}).get("id") if r.status == 201 else None
tap.ok(jid is not None and (r.json() or {}).get("total") == NROWS, f"POST /v1/jobs {NROWS} rows: 201", r.short())
if not jid:
    s.stop()
    finish()
seen = None
deadline = time.time() + 600
while time.time() < deadline:
    j = s.req("GET", f"/v1/jobs/{jid}", check=False, timeout=10).json() or {}
    if j.get("status") in ("done", "failed") or (j.get("processed") or 0) >= NROWS // 4:
        seen = j
        break
    time.sleep(0.1)
s.kill9()
mid = seen is not None and seen.get("status") not in ("done", "failed")
tap.ok(mid, f"kill -9 of the server mid-job (at {seen.get('processed') if seen else '?'} of {NROWS} rows, "
       f"status {seen.get('status') if seen else '?'})", s.stderr_tail())
err = s.start(wait=60)
tap.ok(err is None, "the server restarts on the same --data", err)
# Online results are kept in the store too: after the restart, still cached.
r = s.req("GET", "/v1/verify?email=" + q("alice@bclab-ok.net"), timeout=120)
jc = r.json() or {}
tap.ok(r.status == 200 and jc.get("cached") is True and jc.get("status") == "deliverable",
       "after the restart a verified address is still answered from the cache", r.short())
j = s.wait_job(jid, timeout=900) or {}
tap.ok(j.get("status") == "done" and j.get("processed") == NROWS and sum((j.get("counts") or {}).values()) == NROWS,
       f"the job completes after the restart: processed = total = {NROWS}", repr(j)[:400])
r = s.req("GET", f"/v1/jobs/{jid}/results?format=csv", timeout=120)
same = r.status == 200 and os.path.exists(ref) and r.body == open(ref, "rb").read()
d = [r.short()[:200]]
if r.status == 200 and os.path.exists(ref):
    a, b = r.body.split(b"\n"), open(ref, "rb").read().split(b"\n")
    bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    d += [f"{len(a)} vs {len(b)} lines, {len(bad)} differ"] + [f"line {i + 1}: api {a[i][:160]!r} cli {b[i][:160]!r}"
                                                          for i in bad[:5]]
tap.ok(same, "the job's results are byte-identical to `bouncecheck verify -i` with the same options "
       "(no row lost or duplicated)", d)
if r.status == 200:
    rows = list(csv.reader(io.StringIO(r.body.decode("utf-8-sig"), newline="")))[1:]
    bad = Counter()
    ex = {}
    for (addr, v), row_ in zip(want, rows):
        got = f"{row_[4]}/{row_[5]}" if len(row_) > 5 else "?"
        if got != v:
            bad[(v, got)] += 1
            ex.setdefault((v, got), addr)
    tap.ok(len(rows) == NROWS and not bad, "every row has the verdict its class expects",
           [f"{len(rows)} rows"] + [f"{c} rows want {v}, got {g}; e.g. {ex[(v, g)]}" for (v, g), c in bad.most_common(8)])
else:
    tap.ok(False, "every row has the verdict its class expects", "no results")
log = open(os.path.join(state, "maillog"), encoding="utf-8", errors="replace").read()
data = re.findall(r".*(?:disconnect from.* data=|postfix/cleanup|message-id=).*", log)
tap.ok(not data, "Postfix never saw DATA nor queued a message", data[:3])
rc = s.stop()
tap.ok(rc == 0, f"SIGTERM stops the server with exit status 0 ({rc})", s.stderr_tail())
tap.ok("Sanitizer" not in s.stderr_text() and "runtime error" not in s.stderr_text(),
       "no sanitizer report in the server's stderr",
       [l for l in s.stderr_text().splitlines() if "Sanitizer" in l or "runtime error" in l][:10])
finish()
EOF

#!/usr/bin/env python3
"""test_api.py BOUNCECHECK - the HTTP API of `bouncecheck serve` as a client
uses it, offline (no network beyond loopback, no root): real requests with
curl, every answer checked against src/server/openapi.json.

Covers /healthz, /metrics, /openapi.json; GET and POST /v1/verify (fields,
cache, errors, 405, 404); POST /v1/jobs with every body type, job status,
listing, results in every format byte-identical to `bouncecheck verify -i`,
DELETE, 409 while running, bad input, --max-body and --max-rows; API keys
(401, 403, per-key jobs, rate limit, daily quota); an idle client cut off by
--request-timeout; kill -9 mid-job and a restart on the same data; signed
webhooks; HTTPS; SIGTERM. Prints TAP. BC_API_KEEP=1 keeps the work directory.
"""

import csv
import hashlib
import hmac
import http.server
import io
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from apitest import Server, Tap, checker, free_port, is_error, q  # noqa: E402

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
KEY_RE = re.compile(r"^bck_[A-Za-z0-9_-]{43}$")
STATUSES = ("deliverable", "undeliverable", "risky", "unknown")
JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled")
RESULT_FIELDS = ("email", "normalized", "local", "domain", "ascii_domain", "status", "reason", "score",
                 "syntax", "disposable", "role", "role_category", "free", "accept_all", "suggestion", "mx",
                 "mx_implicit", "smtp", "provider", "duration_ms", "cached")
JOB_FIELDS = ("id", "name", "status", "total", "processed", "counts", "reasons", "created_at", "finished_at",
              "error", "webhook")
RESULT_TYPES = {"csv": "text/csv; charset=utf-8", "tsv": "text/tab-separated-values; charset=utf-8",
                "ndjson": "application/x-ndjson", "json": "application/json"}
SECRET = "test-webhook-secret-7f3a"

tap = Tap()
BIN = ""
WORK = ""
SERVERS = []
CLI_RUNS = 0


def path(name):
    return os.path.join(WORK, name)


def write(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path(name), mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as f:
        f.write(data)
    return path(name)


def new_server(name, args=(), **kw):
    s = Server(BIN, WORK, args=args, name=name, **kw)
    SERVERS.append(s)
    err = s.start()
    tap.ok(err is None, f"{name}: `bouncecheck serve {' '.join(args)}` starts and answers /healthz", err)
    return s


def cli(inp, fmt, extra=()):
    """`bouncecheck verify -i INP --offline --format FMT -o OUT`: the bytes
    of OUT, or None (with the reason on the diagnostics)."""
    global CLI_RUNS
    CLI_RUNS += 1
    out = path(f"cli-{CLI_RUNS}.{fmt}")
    p = subprocess.run([BIN, "verify", "--offline", "--quiet", "-i", inp, "-o", out, "--format", fmt,
                        *extra], capture_output=True, timeout=600)
    if p.returncode != 0:
        tap.diag(f"bouncecheck verify -i {inp} --format {fmt} {' '.join(extra)}: exit {p.returncode}: "
                 + p.stderr.decode("utf-8", "replace")[-300:])
        return None
    with open(out, "rb") as f:
        return f.read()


def diff(a, b):
    """Where two byte strings first differ, as diagnostic lines."""
    if a is None or b is None:
        return ["one side is missing"]
    la, lb = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(la, lb)):
        if x != y:
            k = next((j for j, (u, v) in enumerate(zip(x, y)) if u != v), min(len(x), len(y)))
            k = max(0, k - 60)
            return [f"line {i + 1} differs (from byte {k} of the line):", f"  api: {x[k:k + 160]!r}",
                    f"  cli: {y[k:k + 160]!r}", f"({len(la)} vs {len(lb)} lines, {len(a)} vs {len(b)} bytes)"]
    return [f"one is a prefix of the other: {len(la)} vs {len(lb)} lines, {len(a)} vs {len(b)} bytes"]


def job_problems(j, total=None, status="done"):
    """What is wrong with a job object (list of strings)."""
    if not isinstance(j, dict):
        return [f"not a job object: {j!r}"]
    p = [f"missing {k}" for k in JOB_FIELDS if k not in j]
    if p:
        return p + [repr(j)[:300]]
    if not JOB_ID.match(str(j["id"])):
        p.append(f"id {j['id']!r} is not 32 lowercase hex")
    if j["status"] not in JOB_STATUSES:
        p.append(f"status {j['status']!r}")
    if status and j["status"] != status:
        p.append(f"status {j['status']!r}, want {status!r} (error: {j.get('error')!r})")
    if total is not None and j["total"] != total:
        p.append(f"total {j['total']}, want {total}")
    c = j["counts"]
    if not isinstance(c, dict) or sorted(c) != sorted(STATUSES):
        p.append(f"counts {c!r}")
    elif j["status"] == "done" and (sum(c.values()) != j["total"] or j["processed"] != j["total"]):
        p.append(f"done but processed {j['processed']}, counts {c} for total {j['total']}")
    rs = j["reasons"]
    if not isinstance(rs, dict) or not all(isinstance(v, int) and v > 0 for v in rs.values()):
        p.append(f"reasons {rs!r}")
    elif j["status"] == "done" and sum(rs.values()) != j["processed"]:
        p.append(f"done but reasons {rs} do not sum to processed {j['processed']}")
    if not isinstance(j["created_at"], str) or not RFC3339.match(j["created_at"]):
        p.append(f"created_at {j['created_at']!r}")
    if j["status"] in ("done", "failed", "cancelled"):
        if not isinstance(j["finished_at"], str) or not RFC3339.match(j["finished_at"]):
            p.append(f"finished_at {j['finished_at']!r} for a {j['status']} job")
    elif j["finished_at"] is not None:
        p.append(f"finished_at {j['finished_at']!r} for a {j['status']} job")
    return p


def post_job(srv, ctype=None, body=None, query="", form=None, key=None, total=None, desc=""):
    """POST /v1/jobs and checks the 201 answer; returns the id or None."""
    headers = {"Content-Type": ctype} if ctype else None
    r = srv.req("POST", "/v1/jobs" + query, headers=headers, body=body, form=form, key=key)
    j = r.json() or {}
    jid = j.get("id") if isinstance(j, dict) else None
    good = (r.status == 201 and isinstance(jid, str) and JOB_ID.match(jid) is not None
            and r.header("location") == f"/v1/jobs/{jid}" and j.get("status") == "queued"
            and (total is None or j.get("total") == total))
    tap.ok(good, f"POST /v1/jobs {desc}: 201, Location /v1/jobs/ID, queued, total {total}",
           [r.short(), f"Location: {r.header('location')!r}"])
    return jid if r.status == 201 and isinstance(jid, str) else None


def finished(srv, jid, total, desc, key=None, timeout=120):
    j = srv.wait_job(jid, key=key, timeout=timeout) if jid else None
    p = job_problems(j, total)
    tap.ok(not p, f"{desc}: the job ends done with processed = total = {total} and counts summing to it", p)
    return j is not None and j.get("status") == "done"


def same_results(srv, jid, fmt, want, desc, key=None, default=False):
    """GET results (format=FMT, or the default) equals WANT (the CLI's bytes)."""
    r = srv.req("GET", f"/v1/jobs/{jid}/results" + ("" if default else f"?format={fmt}"), key=key)
    got = r.body
    note = ""
    if fmt in ("ndjson", "json") and want is not None:
        # The time each address took is the only field that may differ.
        got, want = (re.sub(rb'"duration_ms":[0-9]+', b'"duration_ms":0', x) for x in (got, want))
        note = " (duration_ms aside)"
    tap.ok(r.status == 200 and want is not None and got == want,
           f"{desc}: results {'(default format) ' if default else ''}as {fmt} are byte-identical to "
           f"`bouncecheck verify -i --format {fmt}`{note}",
           [r.short()[:200]] + (diff(got, want) if r.status == 200 else []))
    return r


def section(name, fn, *args):
    try:
        fn(*args)
    except Exception:
        tap.ok(False, f"{name}: the test itself raised", traceback.format_exc().splitlines()[-12:])


# ---- lists used by several sections -----------------------------------------
def make_lists():
    a = (b"\xef\xbb\xbfname,Email Address,notes\r\n"
         b'"Doe, Jane",jane.doe@gmail.com,"said ""hi"""\r\n'
         b'Bob,bob@mailinator.com,"two\r\nlines"\r\n'
         b"Junk,not an address,\r\n"
         b"Dup,JANE.DOE@gmail.com,dup of row 1\r\n"
         b"Empty,,no address\r\n"
         b"Formula,=cmd|calc!A1@x.com,=SUM(A1)\r\n"
         b"Typo,carl@gmial.com,\r\n")
    write("a.csv", a)
    write("b.tsv", "id\tmail\n1\talice@example.org\n2\t\"x@y.com\"\n3\tsales@gmail.com\n")
    write("list.txt", "anna@gmail.com\nbad@\n\nben@gmail.com\n")
    write("c.ndjson", '{"id":1,"email":"anna@gmail.com"}\n{"id":2,"email":"x@mailinator.com","extra":true}\n'
                      'not json\n{"id":4}\n')
    write("two.csv", "work,home\nanna@gmail.com,anna@yahoo.com\nben@gmail.com,ben@outlook.com\n")
    write("emails.txt", "info@gmail.com\nnope\nzed@mailinator.com\n")
    write("emails.csv", "email\ninfo@gmail.com\nnope\nzed@mailinator.com\n")
    # A small workbook: a shared-strings header, inline strings below.
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    cells = [("Who", "Mail"), ("Ann", "ann@gmail.com"), ("Spam", "x@mailinator.com"), ("Nobody", "nobody@")]
    rows = []
    for i, (a1, b1) in enumerate(cells, 1):
        if i == 1:
            rows.append(f'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>')
        else:
            rows.append(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{a1}</t></is></c>'
                        f'<c r="B{i}" t="inlineStr"><is><t>{b1}</t></is></c></row>')
    with zipfile.ZipFile(path("book.xlsx"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        z.writestr("xl/workbook.xml", f'<workbook {ns} xmlns:r="{rel}"><sheets>'
                   f'<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels",
                   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet {ns}><sheetData>{"".join(rows)}</sheetData></worksheet>')
        z.writestr("xl/sharedStrings.xml", f'<sst {ns}><si><t>Who</t></si><si><t>Mail</t></si></sst>')


def big_list(name, rows, seed):
    """A CSV of ROWS rows (id, email, note) with many duplicate addresses."""
    rng = random.Random(seed)
    doms = ["gmail.com", "mailinator.com", "example.com", "yahoo.com", "gmial.com", "outlook.com"]
    out = ["id,email,note"]
    for i in range(rows):
        r = rng.random()
        if r < 0.03:
            addr = rng.choice(["plainaddress", "two@@x.com", "", "a b@gmail.com"])
        else:
            addr = f"user{rng.randrange(rows // 4)}@{rng.choice(doms)}"
        out.append(f'{i},{addr},"{rng.choice(["", "a,b", "x"])}"')
    return write(name, "\n".join(out) + "\n")


# ---- sections ------------------------------------------------------------------
def t_basics(s):
    r = s.req("GET", "/healthz")
    j = r.json()
    tap.ok(r.status == 200 and isinstance(j, dict) and j.get("status") == "ok"
           and isinstance(j.get("version"), str) and re.match(r"^\d+\.\d+\.\d+", j["version"]),
           "GET /healthz: 200 {status: ok, version}", r.short())
    r = s.req("GET", "/openapi.json")
    j = r.json()
    schemas = ((j or {}).get("components") or {}).get("schemas") or {}
    tap.ok(r.status == 200 and r.content_type.startswith("application/json") and j.get("openapi") == "3.1.0"
           and all(k in schemas for k in ("Error", "Result", "Job", "JobList", "JobCreated", "Health")),
           "GET /openapi.json: an OpenAPI 3.1.0 document with the Error, Result, Job, JobList, JobCreated "
           "and Health schemas", r.short())
    try:
        with open(os.path.join(os.environ.get("BC_SOURCE_ROOT", "."), "src", "server", "openapi.json"),
                  encoding="utf-8") as f:
            src = json.load(f)
    except (OSError, ValueError) as e:
        src = f"unreadable: {e}"
    tap.ok(j is not None and j == src, "the served /openapi.json is src/server/openapi.json",
           str(src)[:200])
    # An open server on loopback answers /v1 only for loopback names: a page
    # whose name was rebound to 127.0.0.1 (DNS rebinding) gets 403.
    port = s.base.rsplit(":", 1)[1]
    bad = [s.req("GET", "/v1/jobs", headers={"Host": h}) for h in
           (f"evil.example:{port}", "evil.example", f"127.0.0.1.nip.example:{port}", f"10.0.0.1:{port}")]
    tap.ok(all(is_error(b, 403, "forbidden") for b in bad),
           "open server on loopback: a /v1 request with a foreign Host is 403 (DNS rebinding)",
           [b.short() for b in bad])
    good = [s.req("GET", "/v1/jobs", headers={"Host": h}) for h in
            (f"localhost:{port}", f"LOCALHOST.:{port}", f"127.0.0.1:{port}", f"127.1.2.3:{port}", f"[::1]:{port}")]
    tap.ok(all(g.status == 200 for g in good), "... and 200 for localhost, 127.x and [::1]",
           [g.short() for g in good])
    r = s.req("GET", "/", headers={"Host": "evil.example"}, check=False)
    tap.ok(r.status == 200, "the UI's files (no data in them) are served whatever the Host", r.short())


def t_routes(s):
    """The routing of every endpoint: for each path, the methods it does not
    take answer 405 with its exact Allow list; paths that are no endpoint
    answer 404 whatever the method, with the same message; HEAD is GET
    without a body; every API answer carries Cache-Control: no-store."""
    j0 = "0" * 32
    allow = {"/healthz": "GET", "/metrics": "GET", "/openapi.json": "GET", "/v1/verify": "GET, POST",
             "/v1/jobs": "GET, POST", "/v1/jobs/": "GET, POST", f"/v1/jobs/{j0}": "GET, DELETE",
             f"/v1/jobs/{j0}/results": "GET", "/v1/jobs/preview": "POST", "/v1/dns": "GET",
             "/v1/extract": "POST", "/v1/disposable": "GET", "/v1/smtp-test": "GET", "/v1/doctor": "GET",
             "/v1/me": "GET", "/v1/keys": "GET, POST", "/v1/keys/": "GET, POST",
             "/v1/keys/k_0123456789ab": "DELETE", "/": "GET", "/ui/app.js": "GET"}
    bad = []
    for pth, a in allow.items():
        for m in ("PUT", "PATCH", "OPTIONS") + tuple(x for x in ("GET", "POST", "DELETE") if x not in a):
            r = s.req(m, pth, check=False)
            msg = ((r.json() or {}).get("error") or {}).get("message")
            if not (is_error(r, 405, "method_not_allowed") and r.header("allow") == a and msg == f"use {a} here"
                    and r.header("cache-control") == "no-store"):
                bad.append(f"{m} {pth}: {r.short()} Allow: {r.header('allow')!r}")
    tap.ok(not bad, f"every endpoint ({len(allow)} paths): the methods it does not take are 405 with its exact"
           " Allow list and message", bad)
    nf = ["/nothing", "/v1", "/v1/", "/v1/nothing", "/healthz/", "/v1/verify/", "//v1/verify", "/v1/jobspreview",
          f"/v1/jobs/{j0}/", f"/v1/jobs/{j0}/other", f"/v1/jobs/{j0}/results/", "/v1/jobs/" + "A" * 32,
          "/v1/jobs/" + "0" * 31, "/v1/jobs/" + "0" * 33, "/v1/jobs//", "/v1/keys/k_0123456789AB",
          "/v1/keys/k_0123456789abc", "/v1/keys/nonsense", "/v1/keys/k_0123456789ab/x"]
    bad = []
    for pth in nf:
        for m in ("GET", "POST", "DELETE", "PUT"):
            r = s.req(m, pth, check=False)
            msg = ((r.json() or {}).get("error") or {}).get("message")
            if not (is_error(r, 404, "not_found") and msg == "no such endpoint: see /openapi.json"
                    and r.header("allow") is None):
                bad.append(f"{m} {pth}: {r.short()}")
    for pth in ("/ui/", "/ui", "/index.html", "/ui/nope.js"):
        for m in ("GET", "POST"):
            r = s.req(m, pth, check=False)
            msg = ((r.json() or {}).get("error") or {}).get("message")
            want = "no such page" if pth.startswith("/ui/") else "no such endpoint: see /openapi.json"
            if not (is_error(r, 404, "not_found") and msg == want):
                bad.append(f"{m} {pth}: {r.short()}")
    tap.ok(not bad, f"paths that are no endpoint ({len(nf) + 4}) are 404 not_found whatever the method", bad)
    r = s.req("GET", f"/v1/jobs/{j0}/results", check=False)
    tap.ok(is_error(r, 404, "not_found") and (r.json() or {})["error"]["message"] == f"no job {j0}",
           "GET /v1/jobs/ID/results of an unknown job: 404 'no job ID'", r.short())
    heads = []
    for pth in ("/healthz", "/v1/me", "/v1/jobs", "/v1/jobs/", "/v1/keys/", "/v1/verify?email=a%40gmail.com"):
        g, h = s.req("GET", pth, check=False), s.req("HEAD", pth, check=False)
        if not (g.status == h.status == 200 and g.body and not h.body and h.content_type == g.content_type
                and g.header("cache-control") == h.header("cache-control") == "no-store"):
            heads.append(f"{pth}: GET {g.short()} HEAD {h.short()}")
    tap.ok(not heads, "HEAD answers as GET without a body (and no-store), on every kind of route", heads)
    # A body where none is read is dropped: it used to crash the server.
    bad = []
    for m, pth, st in (("GET", "/healthz", 200), ("GET", "/nothing", 404), ("GET", "/", 200),
                       ("GET", "/metrics", 200), ("DELETE", f"/v1/jobs/{j0}", 404), ("PUT", "/v1/jobs", 405),
                       ("GET", "/v1/me", 200), ("GET", "/v1/verify?email=a%40gmail.com", 200)):
        r = s.req(m, pth, body="hello", check=False)
        alive = s.req("GET", "/healthz", check=False)
        if r.status != st or alive.status != 200:
            bad.append(f"{m} {pth} with a body: {r.short()}; then /healthz: {alive.short()}")
    tap.ok(not bad, "a body sent with GET, DELETE or PUT is dropped: the usual answer, the server lives on", bad)


def t_verify(s):
    r = s.req("GET", "/v1/verify?email=" + q("jane.doe@gmail.com"))
    j = r.json() or {}
    missing = [k for k in RESULT_FIELDS if k not in j]
    tap.ok(r.status == 200 and r.content_type.startswith("application/json") and not missing,
           "GET /v1/verify: 200 with every result field", [r.short(), f"missing: {missing}"])
    tap.ok(j.get("status") in STATUSES and j.get("email") == "jane.doe@gmail.com" and j.get("cached") is False,
           "the first answer has a status and cached: false", r.short())
    p = subprocess.run([BIN, "verify", "--offline", "--json", "jane.doe@gmail.com"], capture_output=True)
    try:
        c = json.loads(p.stdout.decode().splitlines()[0])
    except (ValueError, IndexError):
        c = {}
    strip = lambda d: {k: v for k, v in d.items() if k not in ("duration_ms", "cached")}  # noqa: E731
    tap.ok(c and strip(j) == strip(c), "the result equals `bouncecheck verify --offline --json` "
           "(but for duration_ms and cached)",
           [f"{k}: api {j.get(k)!r} cli {c.get(k)!r}" for k in sorted(set(j) | set(c))
            if k not in ("duration_ms", "cached") and j.get(k) != c.get(k)])
    r = s.req("GET", "/v1/verify?email=" + q("jane.doe@gmail.com"))
    j2 = r.json() or {}
    tap.ok(r.status == 200 and j2.get("cached") is True and j2.get("status") == j.get("status"),
           "the second GET of the same address says cached: true", r.short())
    r = s.req("GET", "/v1/verify?trace=1&email=" + q("jane.doe@gmail.com"))
    tap.ok(r.status == 200 and (r.json() or {}).get("cached") is False,
           "trace=1 is never answered from the cache (cached: false on a cached address)", r.short())
    r = s.req("POST", "/v1/verify", headers={"Content-Type": "application/json"},
              body=json.dumps({"email": "jane.doe@gmail.com", "trace": True}))
    tap.ok(r.status == 200 and (r.json() or {}).get("cached") is False, "POST {trace: true} likewise", r.short())
    bad = [s.req("GET", "/v1/verify?trace=maybe&email=a%40gmail.com"),
           s.req("POST", "/v1/verify", headers={"Content-Type": "application/json"},
                 body=json.dumps({"email": "a@gmail.com", "trace": "yes"}))]
    tap.ok(all(is_error(b, 400, "bad_request") for b in bad), "a trace that is not 1/0/true/false: 400",
           [b.short() for b in bad])

    r = s.req("POST", "/v1/verify", headers={"Content-Type": "application/json"},
              body=json.dumps({"email": "bob@mailinator.com", "timeout": 5}))
    j = r.json() or {}
    tap.ok(r.status == 200 and j.get("status") == "risky" and j.get("reason") == "disposable"
           and j.get("cached") is False and all(k in j for k in RESULT_FIELDS),
           "POST /v1/verify {email, timeout}: 200, risky/disposable, cached: false", r.short())
    r = s.req("POST", "/v1/verify", headers={"Content-Type": "application/json"},
              body=json.dumps({"email": "bob@mailinator.com"}))
    tap.ok(r.status == 200 and (r.json() or {}).get("cached") is True, "a second POST is cached", r.short())
    r = s.req("GET", "/v1/verify?timeout=7&email=" + q("a+tag@gmail.com"))
    j = r.json() or {}
    tap.ok(r.status == 200 and j.get("email") == "a+tag@gmail.com",
           "a URL-encoded '+' in the query stays a '+' (and timeout=7 is accepted)", r.short())
    r = s.req("GET", "/v1/verify?email=" + q("not an address"))
    j = r.json() or {}
    tap.ok(r.status == 200 and j.get("status") == "undeliverable" and j.get("reason") == "invalid_syntax",
           "bad syntax is a 200 undeliverable/invalid_syntax, not an error", r.short())

    bad = [("GET", "/v1/verify", None, "GET without email"),
           ("GET", "/v1/verify?email=", None, "GET with an empty email"),
           ("POST", "/v1/verify", "{}", "POST {} (no email)"),
           ("POST", "/v1/verify", '{"email": 42}', "POST with a number as email"),
           ("GET", "/v1/verify?timeout=abc&email=a%40gmail.com", None, "timeout=abc"),
           ("GET", "/v1/verify?timeout=0&email=a%40gmail.com", None, "timeout=0"),
           ("GET", "/v1/verify?timeout=301&email=a%40gmail.com", None, "timeout=301"),
           ("POST", "/v1/verify", '{"email": "a@gmail.com", "timeout": "x"}', "POST timeout \"x\""),
           ("POST", "/v1/verify", '{"email": "a@gmail.com", "timeout": 1000}', "POST timeout 1000"),
           ("POST", "/v1/verify", '{"email": "a@gmail.com",', "invalid JSON"),
           ("POST", "/v1/verify", '["a@gmail.com"]', "a JSON array instead of an object")]
    for m, pth, body, what in bad:
        r = s.req(m, pth, headers={"Content-Type": "application/json"} if body is not None else None, body=body)
        tap.ok(is_error(r, 400, "bad_request"), f"{m} /v1/verify, {what}: 400 bad_request", r.short())

    for m, pth, allow in (("DELETE", "/v1/verify", ("GET", "POST")), ("PUT", "/v1/jobs", ("GET", "POST")),
                          ("POST", "/healthz", ("GET",))):
        r = s.req(m, pth)
        got = {x.strip().upper() for x in (r.header("allow") or "").split(",") if x.strip()}
        tap.ok(is_error(r, 405, "method_not_allowed") and set(allow) <= got,
               f"{m} {pth}: 405 method_not_allowed with Allow: {', '.join(allow)}",
               [r.short(), f"Allow: {r.header('allow')!r}"])
    for pth in ("/v1/nothing", "/nothing", "/v1/jobs/" + "0" * 32, "/v1/jobs/not-an-id",
                "/v1/jobs/" + "0" * 32 + "/results"):
        r = s.req("GET", pth)
        tap.ok(is_error(r, 404, "not_found"), f"GET {pth}: 404 not_found", r.short())


def t_metrics(s):
    r = s.req("GET", "/metrics")
    text = r.body.decode("utf-8", "replace")
    vals = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            try:
                vals[(m.group(1), m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass

    def val(name, label=None):
        for (n, lab), v in vals.items():
            if n == name and (label is None or label in lab):
                return v
        return None
    tap.ok(r.status == 200 and r.content_type.startswith("text/plain") and "version=0.0.4" in r.content_type,
           "GET /metrics: 200 text/plain; version=0.0.4", r.short())
    need = [("bouncecheck_http_requests_total", 'code="200"'), ("bouncecheck_cache_hits_total", None),
            ("bouncecheck_cache_misses_total", None), ("bouncecheck_smtp_connections_total", None),
            ("bouncecheck_queue_depth", None)]
    need += [("bouncecheck_verifications_total", f'status="{st}"') for st in STATUSES]
    need += [("bouncecheck_jobs", f'status="{st}"') for st in JOB_STATUSES]
    missing = [f"{n}{{{lab}}}" if lab else n for n, lab in need if val(n, lab) is None]
    tap.ok(not missing, "every contract metric has a sample line", ["missing: " + ", ".join(missing)] +
           text.splitlines()[:10])
    tap.ok((val("bouncecheck_http_requests_total", 'code="200"') or 0) >= 5
           and (val("bouncecheck_cache_hits_total") or 0) >= 2 and (val("bouncecheck_cache_misses_total") or 0) >= 2
           and (val("bouncecheck_verifications_total", 'status="risky"') or 0) >= 1
           and (val("bouncecheck_verifications_total", 'status="undeliverable"') or 0) >= 1
           and val("bouncecheck_smtp_connections_total") == 0,
           "the counters follow the requests made (200s, cache hits and misses, verdicts; no SMTP offline)",
           [f"{n}{lab} {v}" for (n, lab), v in vals.items() if n.startswith("bouncecheck_")][:25])


def t_jobs(s):
    """Every body type, then the results in every format against the CLI."""
    ids = []
    a_csv = open(path("a.csv"), "rb").read()
    jid = post_job(s, "text/csv", a_csv, total=7, desc="text/csv (BOM, quotes, CRLF, embedded newline)")
    if jid:
        ids.append(jid)
        r = s.req("GET", f"/v1/jobs/{jid}")
        tap.ok(r.status == 200 and not job_problems(r.json(), 7, status=None),
               "GET /v1/jobs/ID right after: a job object", [r.short()] + job_problems(r.json(), 7, None))
        if finished(s, jid, 7, "text/csv"):
            j = s.wait_job(jid) or {}
            ref = cli(path("a.csv"), "csv") or b""
            rows = list(csv.reader(io.StringIO(ref.decode("utf-8-sig"), newline="")))
            want = {st: 0 for st in STATUSES}
            for row in rows[1:]:
                want[row[3]] = want.get(row[3], 0) + 1
            tap.ok(j.get("counts") == want and j.get("name") is None and j.get("webhook") is None
                   and j.get("error") is None,
                   "the counts count rows as the CLI's status column does (the duplicate row too); "
                   "name, webhook, error null", [repr(j), f"want counts {want}"])
            for fmt in ("csv", "tsv", "ndjson", "json"):
                want = cli(path("a.csv"), fmt)
                r = same_results(s, jid, fmt, want, "text/csv")
                tap.ok(r.content_type == RESULT_TYPES[fmt]
                       and r.header("content-disposition") == f'attachment; filename="{jid}-all.{fmt}"',
                       f"results as {fmt}: Content-Type {RESULT_TYPES[fmt]}, attachment {jid}-all.{fmt}",
                       [f"Content-Type: {r.content_type!r}",
                        f"Content-Disposition: {r.header('content-disposition')!r}"])
            same_results(s, jid, "csv", cli(path("a.csv"), "csv"), "text/csv", default=True)
            r = s.req("GET", f"/v1/jobs/{jid}/results?format=xml")
            tap.ok(is_error(r, 400, "bad_request"), "results?format=xml: 400 bad_request", r.short())

    cases = [  # content type, file, rows, default format, query, CLI options, description
        ("text/tab-separated-values", "b.tsv", 3, "tsv", "", (), "text/tab-separated-values"),
        ("text/plain", "list.txt", 3, "csv", "?name=" + q("plain list"), (), "text/plain (a blank line skipped)"),
        ("application/x-ndjson", "c.ndjson", 4, "ndjson", "", (), "application/x-ndjson (a bad line kept)"),
        ("text/csv", "two.csv", 2, "csv", "?column=2", ("--column", "2"), "text/csv ?column=2"),
        ("text/csv", "two.csv", 2, "csv", "?column=home", ("--column", "home"), "text/csv ?column=home"),
    ]
    for ctype, fname, rows, fmt, query, opts, desc in cases:
        jid = post_job(s, ctype, open(path(fname), "rb").read(), query=query, total=rows, desc=desc)
        if not jid:
            continue
        ids.append(jid)
        if finished(s, jid, rows, desc):
            same_results(s, jid, fmt, cli(path(fname), fmt, opts), desc, default=True)
            if fmt != "json":
                same_results(s, jid, "json", cli(path(fname), "json", opts), desc)
            if query.startswith("?name="):
                tap.ok((s.wait_job(jid) or {}).get("name") == "plain list", "?name= sets the job's name")

    body = json.dumps({"emails": ["info@gmail.com", "nope", "zed@mailinator.com"], "name": "from json"})
    jid = post_job(s, "application/json", body, total=3, desc="application/json {emails, name}")
    if jid:
        ids.append(jid)
        if finished(s, jid, 3, "application/json"):
            tap.ok((s.wait_job(jid) or {}).get("name") == "from json", "the JSON body's name is the job's name")
            # A JSON list of addresses gives the rows of the same addresses as
            # a one-column CSV with the header "email" (or as a text list).
            r = s.req("GET", f"/v1/jobs/{jid}/results")
            w1, w2 = cli(path("emails.csv"), "csv"), cli(path("emails.txt"), "csv")
            tap.ok(r.status == 200 and r.body in (w1, w2),
                   "application/json: results (default format) are byte-identical to `bouncecheck verify -i` "
                   "of the same addresses as a CSV with the header email (or as a text list)",
                   [r.short()] + diff(r.body, w1))

    jid = post_job(s, form=[f"file=@{path('a.csv')}", "name=multi"], total=7,
                   desc="multipart/form-data (curl -F file=@a.csv, name=multi)")
    if jid:
        ids.append(jid)
        if finished(s, jid, 7, "multipart"):
            same_results(s, jid, "csv", cli(path("a.csv"), "csv"), "multipart", default=True)
            tap.ok((s.wait_job(jid) or {}).get("name") == "multi", "the multipart name part is the job's name")
    jid = post_job(s, form=[f"file=@{path('two.csv')};type=text/csv", "column=home"], total=2,
                   desc="multipart with a column part")
    if jid:
        ids.append(jid)
        if finished(s, jid, 2, "multipart column=home"):
            same_results(s, jid, "csv", cli(path("two.csv"), "csv", ("--column", "home")), "multipart column=home")
    jid = post_job(s, form=[f"file=@{path('book.xlsx')}"], total=3, desc="multipart with an .xlsx file")
    if jid:
        ids.append(jid)
        if finished(s, jid, 3, "xlsx"):
            same_results(s, jid, "csv", cli(path("book.xlsx"), "csv"), "xlsx", default=True)

    # Listing: all of them, newest first.
    r = s.req("GET", "/v1/jobs")
    lst = (r.json() or {}).get("jobs") if isinstance(r.json(), dict) else None
    got = [j.get("id") for j in lst or [] if isinstance(j, dict)]
    mine = [i for i in got if i in ids]
    tap.ok(r.status == 200 and isinstance(lst, list) and sorted(mine) == sorted(ids),
           f"GET /v1/jobs lists all {len(ids)} jobs", [r.short(), f"listed {len(mine)} of {len(ids)}"])
    tap.ok(mine == list(reversed(ids)), "GET /v1/jobs: newest first", [f"created {ids}", f"listed {mine}"])
    bad = [p for j in lst or [] for p in job_problems(j, None, status=None)]
    tap.ok(lst is not None and not bad, "every listed job is a full job object", bad)

    # DELETE.
    if ids:
        victim = ids[0]
        r = s.req("DELETE", f"/v1/jobs/{victim}")
        tap.ok(r.status == 204 and r.body == b"", "DELETE /v1/jobs/ID: 204 with no body", r.short())
        r = s.req("GET", f"/v1/jobs/{victim}")
        tap.ok(is_error(r, 404, "not_found"), "the deleted job is 404", r.short())
        r = s.req("GET", f"/v1/jobs/{victim}/results")
        tap.ok(is_error(r, 404, "not_found"), "its results are 404", r.short())
        r = s.req("DELETE", f"/v1/jobs/{victim}")
        tap.ok(is_error(r, 404, "not_found"), "DELETE again: 404", r.short())
        r = s.req("GET", "/v1/jobs")
        tap.ok(r.status == 200 and victim not in [j.get("id") for j in (r.json() or {}).get("jobs", [])],
               "the deleted job is no longer listed", r.short())

    # Results of a job not finished yet: 409 (a big list, to catch it queued or running).
    big = big_list("big409.csv", 200000, 409)
    jid = post_job(s, "text/csv", open(big, "rb").read(), total=200000, desc="200,000 rows")
    if jid:
        r = s.req("GET", f"/v1/jobs/{jid}/results")
        j = s.req("GET", f"/v1/jobs/{jid}").json() or {}
        if r.status == 200 and j.get("status") == "done":
            tap.ok(True, "results of a job not done: 409 # the job was already done, nothing to check")
        else:
            tap.ok(is_error(r, 409, "job_not_finished"), "results of a queued/running job: 409 job_not_finished",
                   r.short())
        r = s.req("DELETE", f"/v1/jobs/{jid}")
        tap.ok(r.status == 204, f"DELETE of the {j.get('status')} job: 204", r.short())
        r = s.req("GET", f"/v1/jobs/{jid}")
        tap.ok(is_error(r, 404, "not_found"), "the cancelled and deleted job is 404 at once", r.short())
        time.sleep(0.5)
        r = s.req("GET", "/healthz")
        tap.ok(r.status == 200, "the server is fine after cancelling a running job", r.short())


def t_bad_input(s):
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "text/csv"},
              body='name,email\nA,a@gmail.com\n"B,b@gmail.com\nC,c@gmail.com\n')
    msg = ((r.json() or {}).get("error") or {}).get("message", "") if isinstance(r.json(), dict) else ""
    tap.ok(is_error(r, 400, "bad_request") and (re.search(r"\bline\s*3\b", msg, re.I) or ":3:" in msg),
           "an unterminated quote: 400 bad_request naming line 3", r.short())
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00" * 4
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "text/csv"}, body=png)
    tap.ok(r.status in (400, 415) and (is_error(r, 400, "bad_request") or is_error(r, 415, "unsupported_media_type")),
           "binary garbage sent as text/csv: 400 or 415", r.short())
    r = s.req("POST", "/v1/jobs", form=[f"file=@{write('img.png', png)}"])
    tap.ok(r.status in (400, 415) and (is_error(r, 400) or is_error(r, 415)),
           "binary garbage as a multipart file: 400 or 415", r.short())
    # two "file" parts are two lists: refused, never joined into one job
    one, two = write("dup-one.csv", "email\na@gmail.com\n"), write("dup-two.csv", "email\nb@gmail.com\n")
    r = s.req("POST", "/v1/jobs", form=[f"file=@{one}", f"file=@{two}"])
    msg = ((r.json() or {}).get("error") or {}).get("message", "") if isinstance(r.json(), dict) else ""
    tap.ok(is_error(r, 400, "bad_request") and "more than one part" in msg,
           "a multipart body with two file parts: 400 bad_request, not one joined list", r.short())
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "image/png"}, body=png)
    tap.ok(is_error(r, 415, "unsupported_media_type"), "Content-Type image/png: 415 unsupported_media_type",
           r.short())
    r = s.req("POST", "/v1/jobs", body="a@gmail.com\n")  # curl's default: x-www-form-urlencoded
    tap.ok(is_error(r, 415, "unsupported_media_type"), "application/x-www-form-urlencoded: 415", r.short())
    for ctype, body, what in (("text/plain", "", "an empty text body"),
                              ("text/plain", "\n\n", "a text body of blank lines"),
                              ("application/json", '{"emails": []}', "{\"emails\": []}"),
                              ("application/json", '{"emails": "a@gmail.com"}', "emails not a list"),
                              ("application/json", '{"emails": ["a@gmail.com"', "invalid JSON"),
                              ("application/json", '{"emails": ["a@gmail.com"], "webhook": "ftp://127.0.0.1/x"}',
                               "an ftp:// webhook"),
                              ("application/json", '{"emails": ["a@gmail.com"], "webhook": "not a url"}',
                               "a webhook that is not a URL")):
        r = s.req("POST", "/v1/jobs", headers={"Content-Type": ctype}, body=body)
        tap.ok(is_error(r, 400, "bad_request"), f"POST /v1/jobs with {what}: 400 bad_request", r.short())
    r = s.req("POST", "/v1/jobs?webhook=" + q("gopher://x/"), headers={"Content-Type": "text/plain"},
              body="a@gmail.com\n")
    tap.ok(is_error(r, 400, "bad_request"), "?webhook=gopher://...: 400 bad_request", r.short())
    r = s.req("POST", "/v1/jobs?column=office", headers={"Content-Type": "text/csv"},
              body=open(path("two.csv"), "rb").read())
    tap.ok(is_error(r, 400, "bad_request"), "?column= naming no column: 400 bad_request", r.short())


def t_limits():
    s = new_server("limits", ["--offline", "--max-body", "1", "--max-rows", "5"])
    body = "".join(f"someone{i}@gmail.com\n" for i in range(80000))  # about 1.7 MB
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "text/plain"}, body=body)
    tap.ok(is_error(r, 413, "payload_too_large"), "a 1.7 MB body with --max-body 1: 413 payload_too_large",
           r.short())
    r = s.req("POST", "/v1/jobs", form=[f"file=@{write('big.txt', body)}"])
    tap.ok(is_error(r, 413, "payload_too_large"), "the same as a multipart upload: 413", r.short())
    r = s.req("POST", "/v1/jobs/preview", headers={"Content-Type": "text/plain"}, body=body)
    tap.ok(is_error(r, 413, "payload_too_large"), "the same body to POST /v1/jobs/preview: 413 as for jobs",
           r.short())
    r = s.req("POST", "/v1/jobs/preview?partial=1", form=[f"file=@{path('big.txt')}"])
    tap.ok(is_error(r, 413, "payload_too_large"), "a multipart preview over --max-body: 413", r.short())
    six = "".join(f"p{i}@gmail.com\n" for i in range(6))
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "text/plain"}, body=six)
    tap.ok(is_error(r, 413, "payload_too_large"), "6 rows with --max-rows 5: 413 payload_too_large", r.short())
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "application/json"},
              body=json.dumps({"emails": [f"p{i}@gmail.com" for i in range(6)]}))
    tap.ok(is_error(r, 413, "payload_too_large"), "6 JSON emails with --max-rows 5: 413", r.short())
    r = s.req("POST", "/v1/jobs", headers={"Content-Type": "text/csv"},
              body="email\n" + "".join(f"p{i}@gmail.com\n" for i in range(5)))
    tap.ok(r.status == 201 and (r.json() or {}).get("total") == 5,
           "5 rows (a header and 5 addresses) with --max-rows 5: 201", r.short())
    r = s.req("GET", "/healthz")
    tap.ok(r.status == 200, "the server still answers after refusing big bodies", r.short())
    tap.ok(s.stop() == 0, "SIGTERM stops the server with exit status 0", s.stderr_tail())


def keys(data, *args):
    p = subprocess.run([BIN, "keys", *args, "--data", data], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def key_create(data, name, *opts):
    rc, out, err = keys(data, "create", "--name", name, *opts)
    key = out.splitlines()[0].strip() if out.splitlines() else ""
    tap.ok(rc == 0 and KEY_RE.match(key) is not None,
           f"keys create --name {name} {' '.join(opts)}: exit 0, the key (bck_ + 43 base64url) alone on line 1",
           [f"exit {rc}", out[:200], err[:200]])
    ids = re.findall(r"\bk_[0-9a-f]{12}\b", out + err)
    kid = ids[0] if ids else None
    if kid is None:
        rc, out, err = keys(data, "list")
        for line in out.splitlines():
            if re.search(rf"(^|\s){re.escape(name)}(\s|$)", line):
                m = re.search(r"\bk_[0-9a-f]{12}\b", line)
                if m:
                    kid = m.group(0)
    return key, kid


def t_auth():
    s = new_server("auth", ["--offline"])
    d = s.data
    r = s.req("GET", "/v1/jobs")
    tap.ok(r.status == 200, "no key exists: the API is open (GET /v1/jobs without a key: 200)", r.short())
    ka, ida = key_create(d, "alice")
    kb, idb = key_create(d, "bob")
    time.sleep(0.5)   # the server looks at the store again every 200 ms
    rc, out, err = keys(d, "list")
    tap.ok(rc == 0 and ida and idb and ida in out and idb in out and "active" in out,
           "keys list shows both ids, active", [out[:400], err[:200], f"ids {ida} {idb}"])

    r = s.req("GET", "/v1/jobs")
    tap.ok(is_error(r, 401, "unauthorized") and (r.header("www-authenticate") or "").startswith("Bearer"),
           "keys created while the server runs (half a second ago): no Authorization is 401 with "
           "WWW-Authenticate: Bearer",
           [r.short(), f"WWW-Authenticate: {r.header('www-authenticate')!r}"])
    r = s.req("GET", "/v1/verify?email=a%40gmail.com")
    tap.ok(is_error(r, 401, "unauthorized"), "GET /v1/verify without a key: 401", r.short())
    r = s.req("GET", "/v1/jobs", key="bck_" + "A" * 43)
    tap.ok(is_error(r, 401, "unauthorized"), "an unknown key: 401", r.short())
    r = s.req("GET", "/v1/jobs", headers={"Authorization": f"Basic {ka}"})
    tap.ok(is_error(r, 401, "unauthorized"), "the right key with the Basic scheme: 401", r.short())
    for pth in ("/healthz", "/openapi.json"):
        r = s.req("GET", pth)
        tap.ok(r.status == 200, f"{pth} needs no key", r.short())
    # /metrics tells about every key's traffic and jobs: on a keyed server it
    # takes an admin key (a Prometheus scrape sends it as a bearer token)
    r = s.req("GET", "/metrics")
    tap.ok(is_error(r, 401, "unauthorized"), "GET /metrics without a key on a keyed server: 401", r.short())
    r = s.req("GET", "/metrics", key=ka)
    tap.ok(is_error(r, 403, "forbidden"), "GET /metrics with a key that is not an admin key: 403", r.short())
    kadm, _ = key_create(d, "metrics-scraper", "--admin")
    time.sleep(0.5)
    r = s.req("GET", "/metrics", key=kadm)
    tap.ok(r.status == 200 and b"bouncecheck_http_requests_total" in r.body,
           "GET /metrics with an admin key: 200 and the metrics", r.short())
    t_ui(None, keyed=s)
    r = s.req("GET", "/v1/verify?email=a%40gmail.com", key=ka)
    tap.ok(r.status == 200, "key A: GET /v1/verify 200", r.short())

    jid = post_job(s, "text/plain", "one@gmail.com\ntwo@gmail.com\n", key=ka, total=2, desc="with key A")
    if jid:
        finished(s, jid, 2, "key A's job", key=ka)
        r = s.req("GET", f"/v1/jobs/{jid}", key=kb)
        tap.ok(is_error(r, 404, "not_found"), "key B: A's job is 404", r.short())
        r = s.req("GET", f"/v1/jobs/{jid}/results", key=kb)
        tap.ok(is_error(r, 404, "not_found"), "key B: A's results are 404", r.short())
        r = s.req("DELETE", f"/v1/jobs/{jid}", key=kb)
        tap.ok(is_error(r, 404, "not_found"), "key B: DELETE of A's job is 404", r.short())
        r = s.req("GET", "/v1/jobs", key=kb)
        tap.ok(r.status == 200 and jid not in [j.get("id") for j in (r.json() or {}).get("jobs", [])],
               "key B's list does not hold A's job", r.short())
        r = s.req("GET", "/v1/jobs", key=ka)
        tap.ok(r.status == 200 and jid in [j.get("id") for j in (r.json() or {}).get("jobs", [])],
               "key A's list holds it", r.short())
        r = s.req("GET", f"/v1/jobs/{jid}", key=ka)
        tap.ok(r.status == 200, "key A still sees it after B's DELETE", r.short())

    rc, out, err = keys(d, "revoke", idb or "k_000000000000")
    tap.ok(rc == 0, f"keys revoke {idb}: exit 0", [out[:200], err[:200]])
    time.sleep(0.5)
    rc, out, err = keys(d, "list")
    line = [ln for ln in out.splitlines() if idb and idb in ln]
    tap.ok(line and "revoked" in line[0], "keys list shows B revoked", out[:400])
    r = s.req("GET", "/v1/jobs", key=kb)
    tap.ok(is_error(r, 403, "forbidden"), "the revoked key: 403 forbidden (revoked while the server runs)",
           r.short())
    r = s.req("GET", "/v1/jobs", key=ka)
    tap.ok(r.status == 200, "key A still works", r.short())

    kr, _ = key_create(d, "rated", "--rate", "2")
    codes, retry = [], None
    for _ in range(10):
        r = s.req("GET", "/v1/jobs", key=kr)
        codes.append(r.status)
        if r.status == 429 and retry is None:
            retry = r
    tap.ok(codes[0] == 200 and retry is not None and is_error(retry, 429, "rate_limited")
           and re.match(r"^[1-9]\d*$", retry.header("retry-after") or ""),
           "--rate 2: a burst of 10 requests gets 429 rate_limited with Retry-After: SECONDS",
           [f"codes {codes}"] + ([retry.short(), f"Retry-After: {retry.header('retry-after')!r}"] if retry else []))
    r = s.req("GET", "/v1/jobs", key=ka)
    tap.ok(r.status == 200, "another key is not limited by it", r.short())

    kd, _ = key_create(d, "daily", "--daily", "3", "--rate", "100")
    codes = []
    for i in range(3):
        r = s.req("GET", "/v1/verify?email=" + q(f"quota{i}@gmail.com"), key=kd)
        codes.append(r.status)
        time.sleep(0.3)
    r = s.req("GET", "/v1/verify?email=" + q("quota3@gmail.com"), key=kd)
    tap.ok(codes == [200, 200, 200] and is_error(r, 429, "quota_exceeded")
           and re.match(r"^[1-9]\d*$", r.header("retry-after") or ""),
           "--daily 3: three verifications, the 4th is 429 quota_exceeded with Retry-After",
           [f"first three {codes}", r.short(), f"Retry-After: {r.header('retry-after')!r}"])
    s.stop()


def t_slow_client():
    s = new_server("slow", ["--offline", "--request-timeout", "2"])
    for what, data in (("half a request line", b"GET /heal"),
                       ("headers without the end", b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n"),
                       ("10 of 100 body bytes", b"POST /v1/verify HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                        b"application/json\r\nContent-Length: 100\r\n\r\n{\"email\": ")):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(data)
        t0 = time.time()
        got, closed = b"", False
        c.settimeout(1)
        while time.time() - t0 < 15:
            try:
                chunk = c.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
        el = time.time() - t0
        c.close()
        tap.ok(closed and 1.0 <= el <= 8.0 and (not got or got.startswith(b"HTTP/1.1 408")),
               f"an idle client that sent {what} is cut off after --request-timeout 2 "
               f"({el:.1f}s{', answered 408' if got else ''})", [f"closed {closed}", repr(got[:200])])
    r = s.req("GET", "/healthz")
    tap.ok(r.status == 200, "the server still answers others", r.short())
    s.stop()


def t_kill9():
    s = new_server("kill9", ["--offline"])
    big = big_list("big-kill.csv", 200000, 99)
    want = cli(big, "csv")
    jid = post_job(s, "text/csv", open(big, "rb").read(), total=200000, desc="200,000 rows (to be killed)")
    if not jid:
        return
    seen = None
    deadline = time.time() + 120
    while time.time() < deadline:
        r = s.req("GET", f"/v1/jobs/{jid}", check=False, timeout=5)
        j = r.json() or {}
        if j.get("status") == "done" or (j.get("processed") or 0) > 0:
            seen = j
            break
        time.sleep(0.05)
    s.kill9()
    mid = seen is not None and seen.get("status") != "done"
    tap.ok(seen is not None, f"kill -9 of the server {'mid-job' if mid else 'after the job ended (too fast)'}"
           f" at {seen.get('processed') if seen else '?'} of 200,000 rows", s.stderr_tail())
    err = s.start()
    tap.ok(err is None, "the server restarts on the same --data", err)
    if finished(s, jid, 200000, "after the restart", timeout=300):
        same_results(s, jid, "csv", want, "after kill -9 and restart (no row lost or duplicated)")
    s.stop()


class Hook(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        Hook.got.append((self.path, dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def t_webhook(s):
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    try:
        jid = post_job(s, "text/plain", "hook1@gmail.com\nhook2@mailinator.com\n", query="?webhook=" + q(url),
                       total=2, desc="with ?webhook=")
        if not jid:
            return
        finished(s, jid, 2, "webhook job")
        tap.ok((s.wait_job(jid) or {}).get("webhook") == url, "the job object names its webhook")
        deadline = time.time() + 30
        while not Hook.got and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(2)
        got = list(Hook.got)
        tap.ok(len(got) == 1, f"the receiver got exactly one POST ({len(got)})")
        if not got:
            tap.diag(s.stderr_tail())
            return
        pth, h, body = got[0]
        h = {k.lower(): v for k, v in h.items()}
        ts = h.get("x-bouncecheck-timestamp", "")
        sig = h.get("x-bouncecheck-signature", "")
        mac = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        tap.ok(pth == "/hook" and h.get("content-type", "").startswith("application/json")
               and re.match(r"^\d+$", ts) and abs(int(ts) - time.time()) < 120,
               "the POST goes to /hook as application/json with X-BounceCheck-Timestamp (unix seconds)",
               [pth, repr(h)])
        tap.ok(hmac.compare_digest(sig, "sha256=" + mac),
               "X-BounceCheck-Signature is sha256=HMAC-SHA256(secret, timestamp.body)", [sig, "sha256=" + mac])
        try:
            j = json.loads(body)
        except ValueError:
            j = {}
        tap.ok(j.get("event") == "job.finished" and isinstance(j.get("job"), dict)
               and j["job"].get("id") == jid and not job_problems(j["job"], 2),
               "the body is {event: job.finished, job: the finished job}", body[:300].decode("utf-8", "replace"))
    finally:
        httpd.shutdown()


def t_retention():
    """Job data: DELETE removes the files at once; --retention removes old
    jobs (created_at moved 40 days back in the catalogue, as if time had
    passed); webhooks to loopback are refused without --allow-private."""
    import sqlite3
    s = new_server("retention", ["--offline", "--retention", "30"])
    httpd = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    Hook.got = []
    url = f"http://127.0.0.1:{httpd.server_address[1]}/private-hook"
    try:
        old = post_job(s, "text/plain", "old1@gmail.com\nold2@gmail.com\n", query="?webhook=" + q(url),
                       total=2, desc="(to expire)")
        keep = post_job(s, "text/plain", "new1@gmail.com\n", total=1, desc="(to keep)")
        gone = post_job(s, "text/plain", "del1@gmail.com\n", total=1, desc="(to delete)")
        if not (old and keep and gone):
            return
        for jid, n in ((old, 2), (keep, 1), (gone, 1)):
            finished(s, jid, n, f"job {jid[:8]}")
        jobs_dir = os.path.join(s.data, "jobs")
        tap.ok(all(os.path.isdir(os.path.join(jobs_dir, j)) for j in (old, keep, gone)),
               "each job has its directory under DATA/jobs", os.listdir(jobs_dir))
        r = s.req("DELETE", f"/v1/jobs/{gone}")
        deadline = time.time() + 5
        while os.path.exists(os.path.join(jobs_dir, gone)) and time.time() < deadline:
            time.sleep(0.05)
        tap.ok(r.status == 204 and not os.path.exists(os.path.join(jobs_dir, gone)),
               "DELETE removes the job's files at once", os.listdir(jobs_dir))
        time.sleep(1)
        tap.ok(not Hook.got and "loopback" in s.stderr_text(),
               "without --allow-private the webhook to a loopback address is refused (and logged)",
               [repr(Hook.got[:1]), s.stderr_tail()])
        tap.ok(s.stop() == 0, "SIGTERM stops the server")
        db = sqlite3.connect(os.path.join(s.data, "bouncecheck.db"))
        db.execute("UPDATE jobs SET created_at = created_at - 40 * 86400 WHERE id = ?", (old,))
        db.commit()
        db.close()
        err = s.start()
        tap.ok(err is None, "restart on the same --data", err)
        deadline = time.time() + 10
        while os.path.exists(os.path.join(jobs_dir, old)) and time.time() < deadline:
            time.sleep(0.1)
        r1 = s.req("GET", f"/v1/jobs/{old}")
        r2 = s.req("GET", f"/v1/jobs/{keep}")
        tap.ok(is_error(r1, 404, "not_found") and not os.path.exists(os.path.join(jobs_dir, old)),
               "a job older than --retention 30 days is deleted with its files", [r1.short(), os.listdir(jobs_dir)])
        tap.ok(r2.status == 200 and os.path.isdir(os.path.join(jobs_dir, keep)), "a recent job stays", r2.short())
    finally:
        httpd.shutdown()
        s.stop()


def t_dns(s):
    r = s.req("GET", "/v1/dns")
    tap.ok(is_error(r, 400, "bad_request"), "GET /v1/dns without a domain: 400", r.short())
    r = s.req("GET", "/v1/dns?domain=example.com")
    tap.ok(is_error(r, 503, "unavailable"), "GET /v1/dns on an --offline server: 503 (the checks need the network)",
           r.short())
    r = s.req("POST", "/v1/dns?domain=example.com", check=False)
    tap.ok(r.status == 405, "POST /v1/dns: 405", r.short())


def t_extract(s):
    text = ("Write to <Jane.Doe@Example.com> or sales@example.org, not image@2x.png.\n"
            "again: jane.doe@example.com; mailto:bob%40example.net\n")
    r = s.req("POST", "/v1/extract", headers={"Content-Type": "text/plain"}, body=text)
    j = r.json() or {}
    got = [a.get("ascii") for a in j.get("addresses", [])]
    tap.ok(r.status == 200 and "sales@example.org" in got and not any("2x.png" in a for a in got)
           and len([a for a in got if a.lower() == "jane.doe@example.com"]) == 1
           and j.get("total", 0) > j.get("distinct", 0) and j.get("error") is None,
           "POST /v1/extract: the addresses in the text, deduplicated, without image@2x.png", r.short())
    r = s.req("POST", "/v1/extract", headers={"Content-Type": "application/octet-stream"},
              body=bytes(range(256)) * 64)
    tap.ok(is_error(r, 400, "bad_request"), "POST /v1/extract with a binary body: 400", r.short())
    r = s.req("POST", "/v1/extract", headers={"Content-Type": "text/plain"}, body="")
    tap.ok(is_error(r, 400, "bad_request"), "POST /v1/extract with an empty body: 400", r.short())
    r = s.req("GET", "/v1/extract", check=False)
    tap.ok(r.status == 405, "GET /v1/extract: 405", r.short())


def t_disposable(s):
    r = s.req("GET", "/v1/disposable?email=" + q("someone@mail.mailinator.com"))
    j = r.json() or {}
    tap.ok(r.status == 200 and j.get("disposable") is True and j.get("matched") == "mailinator.com"
           and j.get("domain") == "mail.mailinator.com" and j.get("has_mx") is None,
           "GET /v1/disposable?email=...@mail.mailinator.com: disposable through its parent; has_mx null offline",
           r.short())
    r = s.req("GET", "/v1/disposable?domain=gmail.com")
    j = r.json() or {}
    tap.ok(r.status == 200 and j.get("disposable") is False and j.get("matched") is None,
           "GET /v1/disposable?domain=gmail.com: not disposable", r.short())
    r = s.req("GET", "/v1/disposable?domain=" + q("not a domain"))
    tap.ok(is_error(r, 400, "bad_request"), "GET /v1/disposable with a bad domain: 400", r.short())
    r = s.req("GET", "/v1/disposable")
    tap.ok(is_error(r, 400, "bad_request"), "GET /v1/disposable without a domain: 400", r.short())


def t_https():
    d = tempfile.mkdtemp(prefix="tls-", dir=WORK)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "2",
                        "-keyout", key, "-out", cert], capture_output=True)
    if p.returncode != 0:
        tap.ok(False, "openssl makes a self-signed certificate", p.stderr.decode()[-300:])
        return
    s = new_server("https", ["--offline"], tls=(cert, key))
    r = s.req("GET", "/healthz")
    tap.ok(r.status == 200 and (r.json() or {}).get("status") == "ok",
           "HTTPS: curl --cacert gets 200 from /healthz", r.short())
    r = s.req("GET", "/v1/verify?email=" + q("tls@gmail.com"))
    tap.ok(r.status == 200, "HTTPS: GET /v1/verify 200", r.short())
    from apitest import req
    r = req(f"http://127.0.0.1:{s.port}", "GET", "/healthz", check=False, timeout=5, workdir=WORK)
    tap.ok(r.status != 200, "plain HTTP to the HTTPS port gets no 200", r.short())
    tap.ok(s.stop() == 0, "SIGTERM stops the HTTPS server with exit status 0", s.stderr_tail())


# ---- the web UI's API additions (issue 8) ------------------------------------------
PREVIEW_FIELDS = {"format", "has_header", "columns", "column", "column_name", "detected", "sample", "rows",
                  "partial"}


def preview(srv, ctype=None, body=None, query="", form=None, key=None):
    headers = {"Content-Type": ctype} if ctype else None
    r = srv.req("POST", "/v1/jobs/preview" + query, headers=headers, body=body, form=form, key=key)
    j = r.json() if r.status == 200 else None
    return r, (j if isinstance(j, dict) and set(j) == PREVIEW_FIELDS else None)


def t_preview(s):
    before = len((s.req("GET", "/v1/jobs").json() or {}).get("jobs", []))
    a_csv = open(path("a.csv"), "rb").read()
    r, p = preview(s, "text/csv", a_csv)
    tap.ok(p is not None and p["format"] == "csv" and p["has_header"] is True
           and p["columns"] == ["name", "Email Address", "notes"] and p["column"] == 2
           and p["column_name"] == "Email Address" and p["detected"] is True and p["rows"] == 7
           and p["partial"] is False and len(p["sample"]) == 7
           and p["sample"][0] == ["Doe, Jane", "jane.doe@gmail.com", 'said "hi"']
           and p["sample"][1] == ["Bob", "bob@mailinator.com", "two\r\nlines"],
           "preview of a CSV with a header (BOM, quotes, CRLF, an embedded newline): csv, its header, "
           "column 2 'Email Address' detected, 7 rows as POST /v1/jobs counts them, the cells as read",
           r.short())
    r, p = preview(s, "text/csv", "x,y@a.com\nz,w@b.com\nq,r@c.org\n")
    tap.ok(p is not None and p["format"] == "csv" and p["has_header"] is False and p["columns"] == ["1", "2"]
           and p["column"] == 2 and p["column_name"] is None and p["detected"] is True and p["rows"] == 3
           and p["sample"][0] == ["x", "y@a.com"],
           "preview of a CSV without a header: columns 1, 2; the address column found by content; 3 rows",
           r.short())
    r, p = preview(s, "text/tab-separated-values", open(path("b.tsv"), "rb").read())
    tap.ok(p is not None and p["format"] == "tsv" and p["columns"] == ["id", "mail"] and p["column"] == 2
           and p["column_name"] == "mail" and p["rows"] == 3 and p["sample"][2] == ["3", "sales@gmail.com"],
           "preview of a TSV: tsv, column 2 'mail', 3 rows", r.short())
    r, p = preview(s, "text/plain", open(path("list.txt"), "rb").read())
    tap.ok(p is not None and p["format"] == "text" and p["column"] == 1 and p["rows"] == 3
           and p["sample"] == [["anna@gmail.com"], ["bad@"], ["ben@gmail.com"]],
           "preview of a plain text list: text, column 1, 3 rows (the blank line skipped)", r.short())
    r, p = preview(s, "application/x-ndjson", open(path("c.ndjson"), "rb").read())
    tap.ok(p is not None and p["format"] == "ndjson" and p["columns"] == ["id", "email"] and p["column"] == 2
           and p["column_name"] == "email" and p["rows"] == 4 and p["sample"][0] == ["1", "anna@gmail.com"],
           "preview of NDJSON: the first object's keys as columns, email detected, 4 rows", r.short())
    r, p = preview(s, form=[f"file=@{path('book.xlsx')}"])
    tap.ok(p is not None and p["format"] == "xlsx" and p["has_header"] is True and p["columns"] == ["Who", "Mail"]
           and p["column"] == 2 and p["column_name"] == "Mail" and p["rows"] == 3
           and p["sample"][0] == ["Ann", "ann@gmail.com"],
           "preview of an .xlsx upload (multipart): xlsx, its header, column 2 'Mail', 3 rows", r.short())
    r, p = preview(s, "application/json", json.dumps({"emails": ["info@gmail.com", "nope", "zed@mailinator.com"]}))
    tap.ok(p is not None and p["format"] == "csv" and p["column_name"] == "email" and p["rows"] == 3
           and p["sample"][1] == ["nope"],
           "preview of a JSON body {emails}: one column 'email', 3 rows", r.short())
    r, p = preview(s, "text/csv", open(path("two.csv"), "rb").read(), query="?column=home")
    tap.ok(p is not None and p["column"] == 2 and p["column_name"] == "home" and p["detected"] is False,
           "preview ?column=home: that column, detected false", r.short())
    r, p = preview(s, form=[f"file=@{path('two.csv')};type=text/csv", "column=1"])
    tap.ok(p is not None and p["column"] == 1 and p["column_name"] == "work" and p["detected"] is False,
           "preview with a multipart column part: that column, detected false", r.short())
    r, _ = preview(s, "text/csv", open(path("two.csv"), "rb").read(), query="?column=office")
    tap.ok(is_error(r, 400, "bad_request"), "preview ?column= naming no column: 400 bad_request", r.short())
    r, p = preview(s, "text/csv", "foo,bar\n1,2\n3,4\n")
    tap.ok(p is not None and p["column"] is None and p["column_name"] is None and p["detected"] is False
           and len(p["columns"]) == 2 and p["rows"] in (2, 3) and len(p["sample"]) == p["rows"],
           "preview of a list with no email column: 200 with column null (the caller picks one)", r.short())
    # partial=1: the first part of a bigger file, cut in the middle of a line
    lines = "email,n\n" + "".join(f"user{i}@gmail.com,{i}\n" for i in range(100))
    cut = lines[:lines.index("user60@")] + "user60@gma"
    r, p = preview(s, "text/csv", cut, query="?partial=1")
    tap.ok(p is not None and p["partial"] is True and p["rows"] == 60 and len(p["sample"]) == 10
           and p["sample"][9] == ["user9@gmail.com", "9"] and p["column"] == 1,
           "preview ?partial=1 of a cut body: the cut last line dropped (60 whole rows), 10 sample rows, "
           "partial true", r.short())
    r, p = preview(s, "text/csv", cut)
    tap.ok(p is not None and p["partial"] is False and p["rows"] == 61,
           "the same body without partial: the cut line counts as a row (61), partial false", r.short())
    r, p = preview(s, "text/csv", 'name,email\nA,a@gmail.com\nB,"b@gmail.com\nC', query="?partial=1")
    tap.ok(p is not None and p["partial"] is True and p["rows"] == 1 and p["sample"] == [["A", "a@gmail.com"]],
           "preview ?partial=1 with a quoted field the cut left open: the rows before it", r.short())
    r, _ = preview(s, "text/csv", "email\na@gmail.com\n", query="?partial=maybe")
    tap.ok(is_error(r, 400, "bad_request"), "preview ?partial=maybe: 400 bad_request", r.short())
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00" * 4
    r, _ = preview(s, "text/csv", png)
    tap.ok(is_error(r, 400, "bad_request") or is_error(r, 415, "unsupported_media_type"),
           "preview of binary data sent as text/csv: 400 or 415", r.short())
    r, _ = preview(s, form=[f"file=@{write('img2.png', png)}"])
    tap.ok(is_error(r, 400) or is_error(r, 415), "preview of binary data as a multipart file: 400 or 415",
           r.short())
    r, _ = preview(s, form=[f"file=@{write('broken.xlsx', b'PK' + bytes(range(256)) * 4)}"])
    tap.ok(is_error(r, 400, "bad_request"), "preview of a broken .xlsx: 400 bad_request", r.short())
    r, _ = preview(s, "image/png", png)
    tap.ok(is_error(r, 415, "unsupported_media_type"), "preview with Content-Type image/png: 415", r.short())
    r, _ = preview(s, "text/plain", "")
    tap.ok(is_error(r, 400, "bad_request"), "preview of an empty body: 400 bad_request", r.short())
    r = s.req("GET", "/v1/jobs/preview")
    tap.ok(is_error(r, 405, "method_not_allowed") and r.header("allow") == "POST",
           "GET /v1/jobs/preview: 405 with Allow: POST", r.short())
    after = len((s.req("GET", "/v1/jobs").json() or {}).get("jobs", []))
    tap.ok(after == before, f"previews create no job ({before} jobs before, {after} after)")
    left = [f for f in os.listdir(os.path.join(s.data, "jobs")) if f.startswith("preview-")]
    tap.ok(not left, "previews leave no temporary file in DATA/jobs", left)


def remove_rule(status, disposable):
    return status == "undeliverable" or disposable == "true"


def t_filters(s):
    """Each filter against the unfiltered file's own status and disposable columns."""
    rows = ["email,n"]
    adds = ["jane@gmail.com", "x@mailinator.com", "bad@", "sales@gmail.com", "y@guerrillamail.com",
            "no at all", "bob@yahoo.com", "z@mailinator.com", "", "info@example.com"]
    for i in range(60):
        rows.append(f"{adds[i % len(adds)].replace('@', f'{i}@', 1) if '@' in adds[i % len(adds)] else adds[i % len(adds)]},{i}")
    body = "\n".join(rows) + "\n"
    jid = post_job(s, "text/csv", body, total=60, desc="60 rows for the filters")
    if not jid or not finished(s, jid, 60, "the filter job"):
        return
    j = s.wait_job(jid) or {}
    r = s.req("GET", f"/v1/jobs/{jid}/results?format=csv")
    whole = list(csv.reader(io.StringIO(r.body.decode("utf-8"), newline="")))
    hdr, data = whole[0], whole[1:]
    st, dis, rsn = hdr.index("status"), hdr.index("disposable"), hdr.index("reason")
    reasons = {}
    for row in data:
        reasons[row[rsn]] = reasons.get(row[rsn], 0) + 1
    tap.ok(j.get("reasons") == reasons and sum(j["reasons"].values()) == j.get("processed") == 60,
           "the job's reasons are the rows per reason of its results and sum to processed",
           [f"job {j.get('reasons')}", f"file {reasons}"])
    rules = {"all": lambda row: True, "remove": lambda row: remove_rule(row[st], row[dis])}
    for status in STATUSES:
        rules[status] = (lambda want: lambda row: row[st] == want)(status)
    kinds = set()
    for flt, rule in rules.items():
        r = s.req("GET", f"/v1/jobs/{jid}/results?format=csv&filter={flt}")
        got = list(csv.reader(io.StringIO(r.body.decode("utf-8", "replace"), newline="")))
        want = [row for row in data if rule(row)]
        kinds.add(len(want))
        tap.ok(r.status == 200 and got and got[0] == hdr and got[1:] == want,
               f"filter={flt}: the header and exactly the {len(want)} rows the rule keeps, in order",
               [r.short()[:200], f"got {len(got) - 1} rows, want {len(want)}"])
        tap.ok(r.header("content-disposition") == f'attachment; filename="{jid}-{flt}.csv"',
               f"filter={flt}: Content-Disposition attachment {jid}-{flt}.csv", r.header("content-disposition"))
        r2 = s.req("GET", f"/v1/jobs/{jid}/results?format=csv&filter={flt}")
        tap.ok(r2.status == 200 and r2.body == r.body, f"filter={flt}: asked again, the same bytes (from the file)")
    tap.ok(len(kinds) >= 3, f"the filters select different row counts ({sorted(kinds)})")
    n_remove = sum(1 for row in data if remove_rule(row[st], row[dis]))
    r = s.req("GET", f"/v1/jobs/{jid}/results?format=ndjson&filter=remove")
    lines = [json.loads(ln) for ln in r.body.decode("utf-8").splitlines() if ln.strip()]
    tap.ok(r.status == 200 and len(lines) == n_remove and r.content_type == RESULT_TYPES["ndjson"]
           and all(remove_rule(x["result"]["status"], "true" if x["result"]["disposable"] else "false")
                   for x in lines)
           and r.header("content-disposition") == f'attachment; filename="{jid}-remove.ndjson"',
           f"filter=remove as ndjson: the same {n_remove} rows", r.short())
    r = s.req("GET", f"/v1/jobs/{jid}/results?format=json&filter=deliverable")
    tap.ok(r.status == 200 and isinstance(r.json(), list)
           and len(r.json()) == sum(1 for row in data if row[st] == "deliverable"),
           "filter=deliverable as json: an array of those rows", r.short())
    r = s.req("GET", f"/v1/jobs/{jid}/results?filter=dead")
    tap.ok(is_error(r, 400, "bad_request"), "filter=dead: 400 bad_request", r.short())


def t_reasons_restart():
    s = new_server("reasons", ["--offline"])
    jid = post_job(s, "text/csv", open(path("a.csv"), "rb").read(), total=7, desc="for reasons across a restart")
    if not jid or not finished(s, jid, 7, "reasons job"):
        s.stop()
        return
    before = (s.wait_job(jid) or {}).get("reasons")
    tap.ok(isinstance(before, dict) and sum(before.values()) == 7 and before.get("disposable", 0) >= 1,
           f"a done job's reasons: {before}")
    tap.ok(s.stop() == 0, "stopped")
    err = s.start()
    tap.ok(err is None, "restarted on the same data", err)
    after = (s.req("GET", f"/v1/jobs/{jid}").json() or {}).get("reasons")
    tap.ok(after == before, "the reasons survive the restart (kept in the store)", [before, after])
    s.stop()


OLD_SCHEMA = """
CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
INSERT INTO meta(k, v) VALUES ('schema_version', 1);
CREATE TABLE keys(id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',
 created_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0,
 rate REAL NOT NULL DEFAULT 0, daily INTEGER NOT NULL DEFAULT 0);
CREATE TABLE usage(key_id TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL,
 PRIMARY KEY(key_id, day)) WITHOUT ROWID;
CREATE TABLE jobs(id TEXT PRIMARY KEY, key_id TEXT NOT NULL DEFAULT '', name TEXT,
 status INTEGER NOT NULL, total INTEGER NOT NULL DEFAULT 0,
 processed INTEGER NOT NULL DEFAULT 0, n_unknown INTEGER NOT NULL DEFAULT 0,
 n_deliverable INTEGER NOT NULL DEFAULT 0, n_undeliverable INTEGER NOT NULL DEFAULT 0,
 n_risky INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
 finished_at INTEGER NOT NULL DEFAULT 0, error TEXT, webhook TEXT,
 webhook_state INTEGER NOT NULL DEFAULT 0, format TEXT NOT NULL DEFAULT 'csv');
CREATE INDEX jobs_key ON jobs(key_id, created_at);
CREATE INDEX jobs_status ON jobs(status, created_at);
CREATE INDEX jobs_created ON jobs(created_at);
CREATE TABLE cache(addr TEXT PRIMARY KEY, json TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX cache_expires ON cache(expires);
"""


def t_migration():
    """A store made by the schema version 1 (before admin keys and reasons)."""
    import sqlite3
    data = tempfile.mkdtemp(prefix="old-", dir=WORK)
    db = os.path.join(data, "bouncecheck.db")
    secret = "bck_" + "Q" * 43
    jid = "ab" * 16
    now = int(time.time())
    con = sqlite3.connect(db)
    con.executescript(OLD_SCHEMA)
    con.execute("INSERT INTO keys(id, hash, name, created_at, rate, daily) VALUES (?, ?, 'old', ?, 0, 0)",
                ("k_0123456789ab", hashlib.sha256(secret.encode()).digest(), now))
    con.execute("INSERT INTO jobs(id, key_id, name, status, total, processed, n_unknown, created_at, finished_at,"
                " format) VALUES (?, 'k_0123456789ab', 'old job', 4, 2, 0, 0, ?, ?, 'csv')", (jid, now, now))
    con.commit()
    con.close()
    s = new_server("migrated", ["--offline"], data=data)
    r = s.req("GET", f"/v1/jobs/{jid}", key=secret)
    j = r.json() or {}
    tap.ok(r.status == 200 and j.get("reasons") == {} and j.get("name") == "old job",
           "a version 1 store: its job is served with reasons {}", r.short())
    r = s.req("GET", "/v1/me", key=secret)
    tap.ok(r.status == 200 and ((r.json() or {}).get("key") or {}).get("admin") is False,
           "its key works and is not an admin key", r.short())
    r = s.req("GET", "/v1/keys", key=secret)
    tap.ok(is_error(r, 403, "forbidden"), "so /v1/keys is 403 for it", r.short())
    s.stop()
    con = sqlite3.connect(db)
    ver = con.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()[0]
    kcols = [c[1] for c in con.execute("PRAGMA table_info(keys)")]
    jcols = [c[1] for c in con.execute("PRAGMA table_info(jobs)")]
    con.close()
    impl = os.path.join(os.environ.get("BC_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")),
                        "src", "store", "store_impl.h")
    m = re.search(r"^#define ST_SCHEMA_VERSION (\d+)", open(impl, encoding="utf-8").read(), re.M)
    want_ver = int(m.group(1)) if m else -1
    tap.ok(ver == want_ver and "admin" in kcols and "reasons" in jcols,
           f"the store was migrated: schema_version {want_ver} (src/store/store_impl.h), keys.admin and "
           "jobs.reasons added",
           [f"version {ver}", kcols, jcols])
    rc, out, err = keys(data, "list", "--json")
    lst = json.loads(out) if rc == 0 else []
    tap.ok(rc == 0 and lst and lst[0].get("id") == "k_0123456789ab" and lst[0].get("admin") is False,
           "keys list --json on the migrated store: the old key, admin false", [out[:300], err[:200]])
    with sqlite3.connect(db) as con:
        con.execute("UPDATE meta SET v = 99 WHERE k = 'schema_version'")
    rc, out, err = keys(data, "list")
    tap.ok(rc == 1 and "schema version 99" in err, "a store from a newer version is refused, naming its version",
           [f"exit {rc}", err[:300]])


def t_me_keys():
    s = new_server("keys", ["--offline"])
    d = s.data
    r = s.req("GET", "/v1/me")
    tap.ok(r.status == 200 and r.json() == {"auth": "none", "key": None},
           "an open server: GET /v1/me is {auth: none, key: null}", r.short())
    r = s.req("GET", "/v1/keys")
    tap.ok(r.status == 200 and r.json() == {"keys": []}, "an open server: GET /v1/keys is {keys: []}", r.short())
    r = s.req("POST", "/v1/keys", headers={"Content-Type": "application/json"}, body='{"name": "x"}')
    msg = ((r.json() or {}).get("error") or {}).get("message", "") if isinstance(r.json(), dict) else ""
    tap.ok(is_error(r, 403, "forbidden") and "keys create --admin" in msg,
           "an open server: POST /v1/keys is 403, saying to make the first admin key with the CLI", r.short())
    r = s.req("DELETE", "/v1/keys/k_0123456789ab")
    tap.ok(is_error(r, 403, "forbidden"), "an open server: DELETE /v1/keys/ID is 403", r.short())

    ka, ida = key_create(d, "boss", "--admin")
    kp, idp = key_create(d, "plain", "--daily", "10")
    time.sleep(0.5)
    r = s.req("GET", "/v1/me")
    tap.ok(is_error(r, 401, "unauthorized"), "with keys: GET /v1/me without a key is 401", r.short())
    r = s.req("GET", "/v1/me", key=ka)
    tap.ok(r.status == 200 and r.json() == {"auth": "key", "key": {"id": ida, "name": "boss", "admin": True,
                                                                    "rate": None, "daily": None, "used_today": 0}},
           "GET /v1/me with the admin key: its id, name, admin true", r.short())
    s.req("GET", "/v1/verify?email=" + q("me@gmail.com"), key=kp)
    r = s.req("GET", "/v1/me", key=kp)
    k = (r.json() or {}).get("key") or {}
    tap.ok(r.status == 200 and k.get("id") == idp and k.get("admin") is False and k.get("daily") == 10
           and k.get("used_today") == 1,
           "GET /v1/me with a key with a quota: admin false, daily 10, used_today 1 after one verification",
           r.short())
    for method, pth, body in (("GET", "/v1/keys", None), ("POST", "/v1/keys", '{"name": "x"}'),
                              ("DELETE", f"/v1/keys/{ida}", None)):
        r = s.req(method, pth, key=kp, body=body,
                  headers={"Content-Type": "application/json"} if body else None)
        tap.ok(is_error(r, 403, "forbidden"), f"a key that is not admin: {method} {pth.replace(ida, 'ID')} is 403",
               r.short())
    r = s.req("GET", "/v1/keys", key=ka)
    lst = (r.json() or {}).get("keys", []) if r.status == 200 else []
    byid = {k.get("id"): k for k in lst}
    tap.ok(r.status == 200 and set(byid) == {ida, idp} and byid[ida]["admin"] is True
           and byid[idp]["admin"] is False and byid[idp]["daily"] == 10 and byid[ida]["revoked_at"] is None,
           "GET /v1/keys with the admin key: both keys with their admin flag, quota, revoked_at null", r.short())
    r = s.req("POST", "/v1/keys", key=ka, headers={"Content-Type": "application/json"},
              body=json.dumps({"name": "from the api", "rate": 50, "daily": 5}))
    c = r.json() or {}
    new, nid = c.get("key"), c.get("id")
    tap.ok(r.status == 201 and KEY_RE.match(new or "") and re.match(r"^k_[0-9a-f]{12}$", nid or "")
           and c.get("name") == "from the api" and c.get("admin") is False and c.get("rate") == 50
           and c.get("daily") == 5 and r.header("location") == f"/v1/keys/{nid}",
           "POST /v1/keys as admin: 201 with the secret, id, name, rate, daily; Location /v1/keys/ID", r.short())
    r = s.req("GET", "/v1/jobs", key=new)
    tap.ok(r.status == 200, "the new key works at once", r.short())
    rc, out, err = keys(d, "list")
    tap.ok(rc == 0 and nid and nid in out, "`keys list` shows the key made through the API", out[:400])
    r = s.req("GET", "/v1/keys", key=ka)
    tap.ok(nid in [k.get("id") for k in (r.json() or {}).get("keys", [])], "GET /v1/keys lists it", r.short())
    r = s.req("DELETE", f"/v1/keys/{nid}", key=ka)
    tap.ok(r.status == 204 and r.body == b"", "DELETE /v1/keys/ID as admin: 204", r.short())
    r = s.req("GET", "/v1/jobs", key=new)
    tap.ok(is_error(r, 403, "forbidden"), "the revoked key is 403 at once", r.short())
    r = s.req("GET", "/v1/keys", key=ka)
    k = {k.get("id"): k for k in (r.json() or {}).get("keys", [])}.get(nid) or {}
    tap.ok(isinstance(k.get("revoked_at"), str) and RFC3339.match(k["revoked_at"]),
           "GET /v1/keys shows its revoked_at", r.short())
    r = s.req("DELETE", f"/v1/keys/{nid}", key=ka)
    tap.ok(r.status == 204, "revoking it again: 204", r.short())
    r = s.req("DELETE", "/v1/keys/k_000000000000", key=ka)
    tap.ok(is_error(r, 404, "not_found"), "DELETE of an unknown key id: 404", r.short())
    r = s.req("DELETE", "/v1/keys/nonsense", key=ka)
    tap.ok(is_error(r, 404, "not_found"), "DELETE /v1/keys/nonsense: 404", r.short())
    for body, what in (('{"admin": "yes"}', "admin not a boolean"), ('{"rate": -1}', "a negative rate"),
                       ('{"daily": 1.5}', "a fractional daily"), ('{"name": 5}', "a name not a string"),
                       ('{"name": "' + "n" * 200 + '"}', "a name too long"), ("[1]", "not an object"),
                       ('{"name": ', "invalid JSON")):
        r = s.req("POST", "/v1/keys", key=ka, headers={"Content-Type": "application/json"}, body=body)
        tap.ok(is_error(r, 400, "bad_request"), f"POST /v1/keys with {what}: 400 bad_request", r.short())
    r = s.req("POST", "/v1/keys", key=ka, headers={"Content-Type": "application/json"},
              body='{"name": "second admin", "admin": true}')
    k2 = (r.json() or {}).get("key")
    tap.ok(r.status == 201 and (r.json() or {}).get("admin") is True, "POST /v1/keys {admin: true}: 201", r.short())
    r = s.req("GET", "/v1/keys", key=k2)
    tap.ok(r.status == 200, "an admin key made through the API may list keys", r.short())
    r = s.req("PUT", "/v1/keys", key=ka)
    tap.ok(is_error(r, 405, "method_not_allowed"), "PUT /v1/keys: 405", r.short())
    tap.ok(s.stop() == 0, "stopped")
    err = s.start()
    tap.ok(err is None, "restarted on the same data", err)
    r = s.req("GET", "/v1/keys", key=ka)
    tap.ok(r.status == 200 and len((r.json() or {}).get("keys", [])) == 4,
           "after the restart the admin key is still admin (4 keys listed)", r.short())
    r = s.req("GET", "/v1/keys", key=kp)
    tap.ok(is_error(r, 403, "forbidden"), "and the other still is not", r.short())
    s.stop()


def smtp_server(mode):
    """tests/smtp_test_server.py on a free port: (process, port) or (None, why)."""
    port = free_port()
    p = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(HERE), "smtp_test_server.py"),
                          "--listen", f"127.0.0.1:{port}", "--mode", mode, "--banner-name", "mx.test",
                          "--log", path(f"smtp-{mode}.log")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline()
    if b"ready" not in line:
        p.kill()
        return None, p.stderr.read().decode("utf-8", "replace")[-300:]
    return p, port


def t_smtp_test(main_srv):
    r = main_srv.req("GET", "/v1/smtp-test?host=127.0.0.1")
    tap.ok(is_error(r, 503, "unavailable"), "GET /v1/smtp-test on an --offline server: 503", r.short())
    proc, port = smtp_server("relay")
    if proc is None:
        tap.ok(False, "the scripted SMTP server starts", port)
        return
    try:
        # Online servers check their DNS resolver at start: point them at a
        # closed local port, never at this machine's resolv.conf.
        s = new_server("smtp", ["--allow-private", "--dns", "127.0.0.1:9"])
        r = s.req("GET", f"/v1/smtp-test?host=127.0.0.1&port={port}&helo=probe.example")
        j = r.json() or {}
        p0 = (j.get("ports") or [{}])[0]
        tap.ok(r.status == 200 and j.get("host") == "127.0.0.1" and len(j.get("ports", [])) == 1
               and p0.get("port") == port and p0.get("connected") is True
               and (p0.get("banner") or {}).get("code") == 220 and p0.get("open_relay") is True,
               "GET /v1/smtp-test?host=127.0.0.1&port=P (--allow-private) against an open relay: 200, connected,"
               " banner 220, open_relay true", r.short())
        log = open(path("smtp-relay.log"), encoding="utf-8").read()
        tap.ok("C EHLO probe.example" in log and "C DATA" not in log,
               "the helo parameter is the EHLO name, and DATA is never sent", log[-400:])
        cp = subprocess.run([BIN, "smtp-test", "--json", "--allow-private", "--port", str(port), "--helo",
                             "probe.example", "127.0.0.1"], capture_output=True, timeout=120)
        want = json.loads(cp.stdout.decode() or "null")

        def timeless(x):
            for pp in (x or {}).get("ports", []):
                pp["connect_ms"] = 0
            return x
        tap.ok(timeless(j) == timeless(want), "the same object as `bouncecheck smtp-test --json` (connect_ms aside)",
               [json.dumps(j)[:300], json.dumps(want)[:300]])
        for qs, what in (("", "no host"), ("?host=127.0.0.1&port=0", "port 0"),
                         ("?host=127.0.0.1&port=x", "port x"), ("?host=a%20b", "a host with a space"),
                         ("?host=127.0.0.1&helo=a%20b", "a helo with a space")):
            r = s.req("GET", "/v1/smtp-test" + qs)
            tap.ok(is_error(r, 400, "bad_request"), f"GET /v1/smtp-test with {what}: 400 bad_request", r.short())
        s.stop()
        s = new_server("smtp-safe", ["--dns", "127.0.0.1:9"])
        r = s.req("GET", f"/v1/smtp-test?host=127.0.0.1&port={port}")
        tap.ok(is_error(r, 400, "unsafe_target"), "without --allow-private: 127.0.0.1 is 400 unsafe_target",
               r.short())
        r = s.req("GET", f"/v1/smtp-test?host=localhost&port={port}")
        tap.ok(is_error(r, 400, "unsafe_target"), "and so is localhost", r.short())
        s.stop()
    finally:
        proc.kill()
        proc.wait()


# ---- the web UI's files (issue 8) -----------------------------------------------
def t_ui(s, keyed=None):
    """GET / and /ui/...: the embedded web UI. keyed: a server with keys,
    where the pages must still load without one (they hold no data)."""
    srv = keyed or s
    r = srv.req("GET", "/", check=False)
    html = r.body.decode("utf-8", "replace")
    csp = r.header("content-security-policy") or ""
    tap.ok(r.status == 200 and (r.content_type or "").startswith("text/html") and "<main" in html,
           "GET / serves the web UI's page" + (" without a key on a server with keys" if keyed else ""), r.short())
    if keyed:
        return
    tap.ok("default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
           and r.header("x-content-type-options") == "nosniff" and r.header("referrer-policy") == "no-referrer",
           "the page carries a strict CSP (nothing but this server), nosniff and no referrer", csp)
    refs = re.findall(r'(?:src|href)="(/ui/[^"]+)"', html)
    bad = []
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    for ref in refs:
        a = srv.req("GET", ref, check=False)
        want = types.get(os.path.splitext(ref)[1], "")
        if a.status != 200 or not (a.content_type or "").startswith(want) or not a.body:
            bad.append(f"{ref}: {a.status} {a.content_type}")
    tap.ok(refs and not bad, f"every file the page names ({len(refs)}) is served with its type", bad or refs)
    etag = r.header("etag")
    r2 = srv.req("GET", "/", headers={"If-None-Match": etag or '"none"'}, check=False)
    tap.ok(bool(etag) and r2.status == 304 and not r2.body, "If-None-Match with the ETag: 304, no body",
           [etag, r2.short()])
    r3 = srv.req("GET", "/ui/index.html", check=False)
    tap.ok(r3.status == 200 and r3.body == r.body, "/ui/index.html is the same page", r3.short())
    r4 = srv.req("GET", "/ui/no-such-file.js", check=False)
    tap.ok(r4.status == 404 and (r4.json() or {}).get("error", {}).get("code") == "not_found",
           "an unknown UI file: 404 not_found", r4.short())
    r5 = srv.req("POST", "/", body="x", check=False)
    tap.ok(r5.status == 405 and (r5.header("allow") or "") == "GET", "POST /: 405, Allow: GET", r5.short())


def main():
    global BIN, WORK
    if len(sys.argv) != 2:
        print("usage: test_api.py path/to/bouncecheck", file=sys.stderr)
        return 2
    BIN = os.path.abspath(sys.argv[1])
    if shutil.which("curl") is None:
        print("1..0 # SKIP curl is not installed")
        return 0
    WORK = tempfile.mkdtemp(prefix="bc-api.")
    lists = os.path.join(WORK, "lists")   # empty: the built-in lists, for the server and the CLI
    os.mkdir(lists)
    os.environ["BOUNCECHECK_DATA_DIR"] = lists
    try:
        make_lists()
        main_srv = new_server("main", ["--offline", "--allow-private", "--webhook-secret", SECRET])
        section("basics", t_basics, main_srv)
        section("routes", t_routes, main_srv)
        section("verify", t_verify, main_srv)
        section("metrics", t_metrics, main_srv)
        section("jobs", t_jobs, main_srv)
        section("bad input", t_bad_input, main_srv)
        section("dns", t_dns, main_srv)
        section("extract", t_extract, main_srv)
        section("disposable", t_disposable, main_srv)
        section("webhook", t_webhook, main_srv)
        section("web UI files", t_ui, main_srv)
        section("preview", t_preview, main_srv)
        section("filters", t_filters, main_srv)
        section("smtp-test", t_smtp_test, main_srv)
        section("limits", t_limits)
        section("auth", t_auth)
        section("me and keys", t_me_keys)
        section("reasons across a restart", t_reasons_restart)
        section("store migration", t_migration)
        section("slow client", t_slow_client)
        section("kill -9", t_kill9)
        section("https", t_https)
        section("retention", t_retention)
        rc = main_srv.stop()
        tap.ok(rc == 0, f"SIGTERM stops the main server with exit status 0 ({rc})", main_srv.stderr_tail())
        bad = [s.name for s in SERVERS if "Sanitizer" in s.stderr_text() or "runtime error" in s.stderr_text()]
        tap.ok(not bad, "no sanitizer report in any server's stderr",
               [ln for s in SERVERS for ln in s.stderr_text().splitlines() if "Sanitizer" in ln
                or "runtime error" in ln][:10])
        checker().report(tap)
    finally:
        for s in SERVERS:
            s.kill9()
        if os.environ.get("BC_API_KEEP") == "1":
            print(f"# work directory kept: {WORK}")
        else:
            shutil.rmtree(WORK, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

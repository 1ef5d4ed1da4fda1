#!/usr/bin/env python3
"""test_extract_limits.py BOUNCECHECK - POST /v1/extract with hostile uploads:
each extraction is bounded by --max-extract-seconds and --max-extract-bytes
(200 with what was found before the limit, "truncated": true and the limit's
name), the extractions run on their own pool (--extract-workers) with a
queue (--extract-queue) beyond which the answer is 429 with Retry-After and
the server's JSON error body, and the other tools answer meanwhile. Every
answer is checked against src/server/openapi.json. Prints TAP.
"""

import os
import shutil
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from apitest import TIME_SCALE, Server, Tap, checker, is_error  # noqa: E402

tap = Tap()


def pdf(pages):
    """A PDF whose pages have the given content streams (already deflated)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", None, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for data in pages:
        objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                    b" /Contents %d 0 R >>" % (len(objs)))
        kids.append(len(objs))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return bytes(out)


def words_pdf():
    """Page 1: first@example.com; page 2: 2 million overlapping words (poppler
    takes minutes over them)."""
    op = b"BT /F1 12 Tf 72 700 Td (w@example.org x) Tj ET\n"
    c = zlib.compressobj(9)
    block = op * ((1 << 20) // len(op))
    body = b"".join(c.compress(block) for _ in range(2_000_000 * len(op) // len(block))) + c.flush()
    return pdf([zlib.compress(b"BT /F1 12 Tf 72 700 Td (first@example.com) Tj ET\n"), body])


def post(s, path, out, key):
    t0 = time.monotonic()
    r = s.req("POST", "/v1/extract", headers={"Content-Type": "application/pdf"}, body_file=path, timeout=120)
    out[key] = (r, time.monotonic() - t0)


def extract_tasks(s):
    """(running, queued) from /metrics' bouncecheck_extract_tasks gauges."""
    r = s.req("GET", "/metrics")
    got = {}
    for line in (r.body.decode("utf-8", "replace") if r.status == 200 else "").splitlines():
        for state in ("running", "queued"):
            if line.startswith('bouncecheck_extract_tasks{state="%s"} ' % state):
                got[state] = int(line.split()[-1])
    return got.get("running"), got.get("queued")


def wait_tasks(s, running, queued, wait=60):
    """Polls /metrics until the extract pool shows these counts; the last seen."""
    end = time.monotonic() + wait * TIME_SCALE
    seen = extract_tasks(s)
    while seen != (running, queued) and time.monotonic() < end:
        time.sleep(0.05)
        seen = extract_tasks(s)
    return seen


def main():
    binary = sys.argv[1]
    work = tempfile.mkdtemp(prefix="bc-test-extract-api.")
    bomb = os.path.join(work, "words.pdf")
    with open(bomb, "wb") as f:
        f.write(words_pdf())
    limit = 4
    # --max-extract-bytes 0: the time limit alone stops the bomb (a fast
    # machine decodes the default 256M before 4 s of CPU and stops there)
    s = Server(binary, work, name="extract", args=["--offline", "--max-extract-seconds", str(limit),
                                                   "--max-extract-bytes", "0",
                                                   "--extract-workers", "1", "--extract-queue", "1"])
    err = s.start()
    if not tap.ok(err is None, "serve --max-extract-seconds 4 --max-extract-bytes 0 --extract-workers 1"
                  " --extract-queue 1 starts", err):
        print(f"1..{tap.n}")
        return 1
    try:
        # one bomb: stopped at the limit, what came before it returned
        res = {}
        post(s, bomb, res, "alone")
        r, took = res["alone"]
        j = r.json() or {}
        print(f"# one PDF bomb alone: HTTP {r.status} in {took:.2f} s (limit {limit} s of CPU)", flush=True)
        tap.ok(r.status == 200 and j.get("truncated") is True and j.get("limit") == "max_extract_seconds",
               "a PDF bomb: 200 with truncated true and limit max_extract_seconds", r.short())
        tap.ok([a.get("ascii") for a in j.get("addresses", [])] == ["first@example.com"],
               "a PDF bomb: the address before the bomb is returned", r.short())
        tap.ok(isinstance(j.get("error"), str) and "time limit" in j["error"] and work not in j["error"],
               "a PDF bomb: error says which limit, without the server's file name", r.short())
        tap.ok(took < (limit * 3 + 5) * TIME_SCALE, f"a PDF bomb ends within {limit * 3 + 5} s (took {took:.2f} s)")

        # the pool full: A runs, B waits, C is refused; the other tools answer.
        # Each upload goes out once the pool's gauges in /metrics show the one
        # before it running or waiting (a fixed sleep raced a slow upload).
        res = {}
        ta = threading.Thread(target=post, args=(s, bomb, res, "A"))
        ta.start()
        seen = wait_tasks(s, running=1, queued=0)
        tap.ok(seen == (1, 0), "/metrics: bouncecheck_extract_tasks running 1, queued 0 while upload A runs",
               str(seen))
        tb = threading.Thread(target=post, args=(s, bomb, res, "B"))
        tb.start()
        seen = wait_tasks(s, running=1, queued=1)
        tap.ok(seen == (1, 1), "/metrics: running 1, queued 1 once upload B waits", str(seen))
        t0 = time.monotonic()
        c = s.req("POST", "/v1/extract", headers={"Content-Type": "application/pdf"}, body_file=bomb)
        c_took = time.monotonic() - t0
        t0 = time.monotonic()
        d = s.req("GET", "/v1/disposable?domain=example.com")
        d_took = time.monotonic() - t0
        tap.ok(is_error(c, 429, "busy") and c.header("retry-after") == str(limit),
               f"a third upload while one runs and one waits: 429 busy with Retry-After: {limit} "
               f"(in {c_took:.2f} s)", [c.short(), str(c.headers)])
        tap.ok(d.status == 200 and d_took < 3 * TIME_SCALE,
               f"GET /v1/disposable answers meanwhile ({d_took:.2f} s)", d.short())
        ta.join()
        tb.join()
        for k in ("A", "B"):
            r, took = res[k]
            j = r.json() or {}
            tap.ok(r.status == 200 and j.get("truncated") is True and
                   [a.get("ascii") for a in j.get("addresses", [])] == ["first@example.com"],
                   f"upload {k}: 200 truncated, first@example.com ({took:.2f} s)", r.short())
        tb_took = res["B"][1]
        tap.ok(tb_took > limit * 0.8, f"upload B waited for A (took {tb_took:.2f} s)")

        # an ordinary upload afterwards: whole
        r = s.req("POST", "/v1/extract", headers={"Content-Type": "text/plain"},
                  body="Write to ann@example.com or bob@example.org.\n")
        j = r.json() or {}
        tap.ok(r.status == 200 and j.get("truncated") is False and j.get("limit") is None and
               j.get("lines_cut") == 0 and j.get("distinct") == 2,
               "a small text afterwards: 200, truncated false, limit null, lines_cut 0", r.short())

        # a 5 MB header line in an email: cut, the other headers kept
        mail = os.path.join(work, "big.eml")
        with open(mail, "wb") as f:
            f.write(b"From: first@example.com\nSubject: big\nX-Big: " + b"a" * (5 << 20) +
                    b"\nTo: second@example.org\n\nbody third@example.net\n")
        r = s.req("POST", "/v1/extract", headers={"Content-Type": "message/rfc822"}, body_file=mail)
        j = r.json() or {}
        tap.ok(r.status == 200 and j.get("lines_cut") == 1 and j.get("truncated") is False and
               sorted(a.get("ascii") for a in j.get("addresses", [])) ==
               ["first@example.com", "second@example.org", "third@example.net"],
               "an email with a 5 MB header line: 200, lines_cut 1, the three addresses", r.short())
    finally:
        s.stop()

    # the size limit; no queue: an idle worker still takes an upload
    s = Server(binary, work, name="extract-bytes", args=["--offline", "--max-extract-bytes", "64K",
                                                         "--extract-workers", "1", "--extract-queue", "0"])
    err = s.start()
    tap.ok(err is None, "serve --max-extract-bytes 64K --extract-queue 0 starts", err)
    try:
        text = "top@example.com\n" + ("filler " * 60 + "\n") * 1000 + "bottom@example.com\n"
        r = s.req("POST", "/v1/extract", headers={"Content-Type": "text/plain"}, body=text)
        j = r.json() or {}
        tap.ok(r.status == 200 and j.get("truncated") is True and j.get("limit") == "max_extract_bytes" and
               [a.get("ascii") for a in j.get("addresses", [])] == ["top@example.com"],
               "420 KB of text over --max-extract-bytes 64K (--extract-queue 0, the worker idle): 200, truncated,"
               " the first address only", r.short())
    finally:
        s.stop()
    for bad in (["--max-extract-seconds", "x"], ["--max-extract-bytes", "-1"], ["--extract-workers", "0"],
                ["--extract-queue", "-1"]):
        s = Server(binary, work, name="bad", args=["--offline"] + bad)
        err = s.start(wait=5)
        tap.ok(err is not None and "not a valid value" in s.stderr_text(), f"serve {' '.join(bad)}: refused",
               s.stderr_tail())
        s.stop()
    checker().report(tap)
    shutil.rmtree(work, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""check_case.py - judges one integration case's output.

Usage: check_case.py STATEDIR NAME OFFSETS_FILE STATUS REASON ASSERTION EMAIL... < NDJSON

Reads the `bouncecheck verify --json` output on stdin, checks that there is
one JSON object per EMAIL in input order, that each has the expected status
and reason (STATUS/REASON: one value for all, or comma-separated per email),
and that the python expression ASSERTION (may be empty) is true. OFFSETS_FILE
holds "NAME BYTES" lines: the size of each scripted server log (and of
Postfix's maillog) before the case ran, so conns()/log()/pf_conns() see only
this case's sessions. Exit status 0 when
the case passes; otherwise the reasons go to stdout as TAP diagnostics.
"""
import json
import os
import sys


def main():
    state, name, offsets_file, want_status, want_reason, assertion = sys.argv[1:7]
    emails = sys.argv[7:]
    problems = []
    raw = sys.stdin.read()
    results = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            results.append(json.loads(line))
        except ValueError as e:
            problems.append("not JSON (%s): %r" % (e, line[:200]))
    env = {}
    with open(os.path.join(state, "world.env"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    offsets = {}
    with open(offsets_file, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition(" ")
            offsets[k] = int(v)

    def log(server):
        """This case's lines of the scripted server's log."""
        path = os.path.join(state, "smtp-%s.log" % server)
        try:
            with open(path, "rb") as lf:
                lf.seek(offsets.get(server, 0))
                return lf.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return []

    def conns(server):
        """Connections the scripted server accepted during this case."""
        return sum(1 for l in log(server) if l.split(" ", 2)[1:2] == ["CONNECT"])

    def pf_conns():
        """SMTP connections Postfix (both listeners and the proxied one) got during this case."""
        try:
            with open(os.path.join(state, "maillog"), "rb") as lf:
                lf.seek(offsets.get("maillog", 0))
                text = lf.read().decode("utf-8", "replace")
        except OSError:
            return 0
        return sum(1 for l in text.splitlines() if "/smtpd[" in l and ": connect from " in l)

    def expand(value):
        parts = value.split(",")
        return parts if len(parts) == len(emails) else [value] * len(emails)

    if not problems and len(results) != len(emails):
        problems.append("%d results for %d addresses" % (len(results), len(emails)))
    if not problems:
        for email, r, st, rs_ in zip(emails, results, expand(want_status), expand(want_reason)):
            if r.get("email") != email:
                problems.append("result for %r where %r was expected" % (r.get("email"), email))
            if (r.get("status"), r.get("reason")) != (st, rs_):
                problems.append("%s: got %s/%s, want %s/%s" % (email, r.get("status"), r.get("reason"), st, rs_))
    if not problems and assertion.strip():
        scope = {"r": results[0], "rs": results, "env": env, "log": log, "conns": conns,
                 "pf_conns": pf_conns}
        try:
            ok = eval(assertion, {"__builtins__": __builtins__}, scope)  # noqa: S307 - our own test data
        except Exception as e:  # a failing lookup in the assertion is a failure of the case
            ok = False
            problems.append("assertion raised %s: %s" % (e.__class__.__name__, e))
        if not ok and not any(p.startswith("assertion raised") for p in problems):
            problems.append("assertion is false: %s" % assertion)
    if problems:
        for p in problems:
            print("# " + p)
        for line in raw.splitlines():
            print("#   " + line)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""compare.py - compares verdicts on the reply corpus with its labels.

Usage:
  compare.py --tap PLAN WORKDIR NBATCH SECONDS
      bouncecheck's results (WORKDIR/result-K.ndjson, the NDJSON rows of
      `verify -i ... -o`, and WORKDIR/verify-K.rc) as TAP: one test per reply
      (status right or not; the reason is reported too), one test "no
      non-mailbox reply is undeliverable", and the table of report() as #
      lines. Exit status 0 when every test passed, 1 otherwise.
  compare.py --table NAME PLAN RESULTS
      RESULTS: one JSON object per line, {"email": ..., "status": ...}, status
      one of deliverable, undeliverable, risky, unknown (a peer's output
      mapped by the bench). Prints report() for verifier NAME.

PLAN is plan.tsv from tests/replies/plan.py: id, email, status, reason, ...
"""
import collections
import json
import os
import sys

STATUSES = ("deliverable", "undeliverable", "risky", "unknown")
# Replies that say nothing about the mailbox: never undeliverable.
NON_MAILBOX = ("greylisted", "blocked", "sender_rejected", "rate_limited", "policy_rejected",
               "server_error", "temporary_failure", "server_rejected")
CLASSES = ("accepted_email", "rejected_email", "mailbox_disabled", "mailbox_full",
           "provider_unverifiable") + NON_MAILBOX


def read_plan(path):
    """Returns [(id, email, status, reason)] in corpus order."""
    return [r[:4] for r in read_plan_codes(path)]


def read_plan_codes(path):
    """Returns [(id, email, status, reason, reply code)] in corpus order."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            rows.append((c[0], c[1], c[2], c[3], c[7] if len(c) > 7 else ""))
    return rows


def pct(n, m):
    return "%.1f%%" % (100.0 * n / m) if m else "-"


def report(name, plan, got, out, prefix=""):
    """Writes the verdict table of verifier `name`: the headline numbers
    first (false undeliverable, right), then one row per corpus class with
    the counts of each status the verifier gave. `got` maps email -> (status,
    reason); a missing email counts as status 'missing'. Returns
    (false_undeliverable, non_mailbox_total, right, total)."""
    nonmb = [r for r in plan if r[3] in NON_MAILBOX]
    false_und = [r for r in nonmb if got.get(r[1], ("missing", ""))[0] == "undeliverable"]
    right = [r for r in plan if got.get(r[1], ("missing", ""))[0] == r[2]]
    w = out.write
    w("%s%s\n" % (prefix, name))
    w("%sfalse undeliverable (non-mailbox replies called undeliverable): %d of %d (%s)\n"
      % (prefix, len(false_und), len(nonmb), pct(len(false_und), len(nonmb))))
    w("%sright: %d of %d (%s)\n" % (prefix, len(right), len(plan), pct(len(right), len(plan))))
    table = collections.defaultdict(collections.Counter)
    for rid, email, status, reason in plan:
        table[reason][got.get(email, ("missing", ""))[0]] += 1
    cols = STATUSES + ("missing",)
    w("%s  %-18s %-14s %12s %14s %6s %8s %8s %8s\n" % ((prefix, "class", "expected") + cols
                                                       + ("right",)))
    for reason in CLASSES:
        if not table[reason]:
            continue
        expected = next(r[2] for r in plan if r[3] == reason)
        c = table[reason]
        n = sum(c.values())
        w("%s  %-18s %-14s %12d %14d %6d %8d %8d %8s\n"
          % (prefix, reason, expected, c["deliverable"], c["undeliverable"], c["risky"],
             c["unknown"], c["missing"], "%d/%d" % (c[expected], n)))
    return len(false_und), len(nonmb), len(right), len(plan)


def tap(plan_path, workdir, nbatch, seconds):
    codes = {r[1]: r[4] for r in read_plan_codes(plan_path)}
    plan = read_plan(plan_path)
    got = {}
    problems = []
    for k in range(nbatch):
        rc_path = os.path.join(workdir, "verify-%d.rc" % k)
        try:
            rc = open(rc_path).read().strip()
        except OSError:
            rc = "?"
        if rc != "0":
            problems.append("batch %d: bouncecheck exited %s" % (k, rc))
            out_path = os.path.join(workdir, "verify-%d.out" % k)
            if os.path.exists(out_path):
                problems += ["  " + l.rstrip() for l in open(out_path, errors="replace").readlines()[-5:]]
        path = os.path.join(workdir, "result-%d.ndjson" % k)
        if not os.path.exists(path):
            continue
        for line in open(path, encoding="utf-8"):
            if not line.strip():
                continue
            r = json.loads(line).get("result") or {}
            smtp = r.get("smtp") or {}
            got[r.get("email")] = (r.get("status"), r.get("reason"), smtp.get("code"),
                                   smtp.get("enhanced"))
    print("1..%d" % (len(plan) + 1))
    failed = 0
    n = 0
    reason_right = 0
    for rid, email, status, reason in plan:
        n += 1
        g = got.get(email)
        if g is None:
            print("not ok %d - %s: expected %s %s, got no result" % (n, rid, status, reason))
            failed += 1
            continue
        gs, gr = g[0], g[1]
        reason_right += gr == reason
        desc = "%s: %s %s" % (rid, status, reason)
        if gs == status and gr == reason:
            print("ok %d - %s" % (n, desc))
        elif gs == status:
            print("ok %d - %s (reason given: %s)" % (n, desc, gr))
        else:
            failed += 1
            seen = "SMTP %s %s" % (g[2], g[3] or "")
            if str(g[2]) != codes.get(email):
                seen += "; the server sent %s" % codes.get(email)
            print("not ok %d - %s, got %s %s (%s)" % (n, desc, gs, gr, seen.strip()))
    false_und = [r for r in plan if r[3] in NON_MAILBOX
                 and got.get(r[1], ("",))[0] == "undeliverable"]
    n += 1
    if false_und:
        failed += 1
        print("not ok %d - no non-mailbox reply is undeliverable (%d are)" % (n, len(false_und)))
        for r in false_und:
            print("#   %s (%s) -> undeliverable %s" % (r[0], r[3], got[r[1]][1]))
    else:
        print("ok %d - no non-mailbox reply is undeliverable" % n)
    for p in problems:
        print("# " + p)
    same = sum(1 for r in plan if r[1] in got and str(got[r[1]][2]) == codes.get(r[1]))
    print("# the verifier reported the code the server sent for %d of %d replies" % (same, len(plan)))
    report("bouncecheck on the reply corpus (%d replies, %d batches, %s s):"
           % (len(plan), nbatch, seconds), plan, {e: g[:2] for e, g in got.items()}, sys.stdout,
           prefix="# ")
    print("# reason right: %d of %d (%s)" % (reason_right, len(plan), pct(reason_right, len(plan))))
    # The reasons given per class, for the classifier's authors.
    by_class = collections.defaultdict(collections.Counter)
    for rid, email, status, reason in plan:
        g = got.get(email)
        by_class[reason]["%s/%s" % (g[0], g[1]) if g else "missing"] += 1
    print("# verdicts given per class:")
    for reason in CLASSES:
        if by_class[reason]:
            print("#   %-18s %s" % (reason, ", ".join("%s x%d" % kv for kv in by_class[reason].most_common())))
    return 1 if failed else 0


def main(argv):
    if len(argv) == 6 and argv[1] == "--tap":
        return tap(argv[2], argv[3], int(argv[4]), argv[5])
    if len(argv) == 5 and argv[1] == "--table":
        plan = read_plan(argv[3])
        got = {}
        for line in open(argv[4], encoding="utf-8"):
            if line.strip():
                o = json.loads(line)
                got[o["email"]] = (o["status"], o.get("reason"))
        report(argv[2], plan, got, sys.stdout)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""run_cases.py - runs the provider-replica cases and prints TAP.

Usage: run_cases.py BOUNCECHECK WORLDDIR NAMESPACE FIRST_TEST_NUMBER

For each case of cases.tsv (here) it runs, inside NAMESPACE,

  BOUNCECHECK verify --json --dns DNS --domain-rate 0 --timeout 20
      --helo verify.bcreplicas.net --from verify@bcreplicas.net
      [--source-ip LISTED] EMAIL...

and checks, each as its own TAP test numbered from FIRST_TEST_NUMBER:
  - status and reason of every result (one JSON object per email, in order);
  - "provider" of every result: the instance profile's provider;
  - with a hint: the result's top-level "hint" is a string holding the URL
    the replica's block reply quoted ({client_ip} filled in);
  - rcpt-limit: in the replica's log of this case, every MAIL transaction
    that starts after the first "too many recipients" reply carries at most
    one RCPT (the client fell back to one recipient per transaction), and
    every recipient refused so was asked again.
Then "no replica ever received DATA" over every replica log, the plan line,
and a per-instance summary as # lines. WORLDDIR is what world.sh's pw_up laid
out (world.env, smtp-NAME.log). Exit status 0; the verdict is in the TAP.
"""
import collections
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def read_cases(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            c = line.split("\t")
            if len(c) != 8:
                raise SystemExit("cases.tsv: bad line %r" % line[:80])
            cases.append(dict(zip(("name", "instance", "client", "emails", "status", "reason", "hint", "extra"), c)))
    return cases


def per_email(value, n):
    vals = value.split(",")
    return vals * n if len(vals) == 1 else vals


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_log(path, offset=0):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def transactions(lines):
    """The MAIL transactions of log lines, in log order: (index of the MAIL
    line, number of RCPTs). A transaction ends at RSET, QUIT, EHLO/HELO, the
    next MAIL or the session's end."""
    open_tx = {}
    done = []
    for i, line in enumerate(lines):
        parts = line.split(" ", 2)
        if len(parts) < 2:
            continue
        sid, what = parts[0], parts[1]
        verb = parts[2][:4].upper() if what == "C" and len(parts) > 2 else ""
        if what == "CLOSE" or verb in ("RSET", "QUIT", "EHLO", "HELO", "MAIL"):
            if sid in open_tx:
                done.append(open_tx.pop(sid))
        if verb == "MAIL":
            open_tx[sid] = [i, 0]
        elif verb == "RCPT" and sid in open_tx:
            open_tx[sid][1] += 1
    done.extend(open_tx.values())
    return sorted((a, b) for a, b in done)


def rcpt_limit_problems(lines, profile):
    """Problems with the client's handling of a per-transaction recipient
    limit, and a one-line summary of the transactions."""
    code = profile.get("too_many_recipients", {}).get("lines", ["452 4.5.3"])[-1][:3]
    first = None
    refused = {}      # address -> index of its first 'too many' reply
    asked_after = collections.defaultdict(list)
    last_rcpt = {}    # session -> address of its RCPT waiting for a reply
    for i, line in enumerate(lines):
        parts = line.split(" ", 2)
        if len(parts) < 3:
            continue
        sid, what, rest = parts
        if what == "C" and rest[:4].upper() == "RCPT":
            m = re.search(r"<([^>]*)>", rest)
            addr = m.group(1).lower() if m else rest[8:].strip().lower()
            last_rcpt[sid] = addr
            if addr in refused:
                asked_after[addr].append(i)
        elif what == "S" and sid in last_rcpt:
            addr = last_rcpt.pop(sid)
            if rest.startswith(code):
                if first is None:
                    first = i
                refused.setdefault(addr, i)
    txs = transactions(lines)
    summary = "transactions (RCPTs each): %s" % " ".join(str(n) for _, n in txs)
    if first is None:
        return [], summary + "; the limit was never reached"
    probs = []
    late = [n for i, n in txs if i > first]
    if any(n > 1 for n in late):
        probs.append("after the first %s reply, transactions carried %s RCPTs" % (code, late))
    again = [a for a in refused if asked_after[a]]
    summary += "; %d of %d refused recipients asked again" % (len(again), len(refused))
    if len(again) != len(refused):
        probs.append("not asked again after %s: %s" % (code, " ".join(sorted(set(refused) - set(again)))))
    return probs, summary


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    binary, world, ns, n = argv[1], argv[2], argv[3], int(argv[4])
    env = dict(l.strip().split("=", 1) for l in open(os.path.join(world, "world.env")) if "=" in l)
    with open(os.path.join(HERE, "replicas.json"), encoding="utf-8") as f:
        profiles = json.load(f)["profiles"]
    with open(os.path.join(HERE, "world.json"), encoding="utf-8") as f:
        instances = {i["name"]: i for i in json.load(f)["instances"]}
    cases = read_cases(os.path.join(HERE, "cases.tsv"))
    tally = collections.OrderedDict((name, [0, 0, []]) for name in instances)

    def emit(ok, inst, case, what, diags=()):
        nonlocal n
        print("%s %d - %s" % ("ok" if ok else "not ok", n, what))
        for d in diags:
            print("# " + d)
        tally[inst][0 if ok else 1] += 1
        if not ok:
            tally[inst][2].append(case)
        n += 1

    for case in cases:
        inst = instances[case["instance"]]
        profile = profiles[inst["profile"]]
        emails = case["emails"].split()
        logpath = os.path.join(world, "smtp-%s.log" % inst["name"])
        offset = log_size(logpath)
        cmd = ["ip", "netns", "exec", ns, binary, "verify", "--json", "--dns", env["DNS"], "--domain-rate", "0",
               "--timeout", "20", "--helo", "verify.bcreplicas.net", "--from", "verify@bcreplicas.net"]
        if case["client"] == "listed":
            cmd += ["--source-ip", env["LISTED"]]
        t0 = time.monotonic()
        p = subprocess.run(cmd + emails, capture_output=True, text=True, timeout=120)
        secs = time.monotonic() - t0
        time.sleep(0.2)  # the replica logs the session's end after the client's QUIT
        results = []
        bad_json = []
        for line in p.stdout.splitlines():
            if line.strip():
                try:
                    results.append(json.loads(line))
                except ValueError:
                    bad_json.append(line[:200])
        diag = []
        if p.returncode != 0:
            diag.append("exit status %d: %s" % (p.returncode, p.stderr.strip()[:300]))
        diag += ["not JSON: %r" % b for b in bad_json]
        label = "%s (%s%s)" % (case["name"], " ".join(emails) if len(emails) < 3 else "%d addresses" % len(emails),
                               ", from the listed IP" if case["client"] == "listed" else "")
        if len(results) != len(emails):
            emit(False, inst["name"], case["name"], "%s: one result per address" % label,
                 diag + ["%d results for %d addresses" % (len(results), len(emails))])
            continue
        want = list(zip(per_email(case["status"], len(emails)), per_email(case["reason"], len(emails))))
        got = [(r.get("status"), r.get("reason")) for r in results]
        wrong = ["%s: got %s/%s, want %s/%s (smtp %s %s: %s)" % (
            r.get("email"), g[0], g[1], w[0], w[1], (r.get("smtp") or {}).get("step"),
            (r.get("smtp") or {}).get("code"), ((r.get("smtp") or {}).get("message") or "")[:120])
            for r, g, w in zip(results, got, want) if g != w]
        what = "/".join(want[0]) if len(set(want)) == 1 else "each address its own verdict"
        emit(not wrong, inst["name"], case["name"], "%s: %s" % (label, what), diag + wrong + ["%.1f s" % secs] * bool(wrong))
        prov = [r.get("provider") for r in results]
        emit(all(x == profile["provider"] for x in prov), inst["name"], case["name"],
             "%s: provider %s" % (case["name"], profile["provider"]),
             [] if all(x == profile["provider"] for x in prov) else ["got %s" % prov])
        if case["hint"] != "-":
            url = profile["block"]["hint"] if case["hint"] == "block" else case["hint"]
            url = url.replace("{client_ip}", env["LISTED"])
            hints = [r.get("hint") for r in results]
            ok = all(isinstance(h, str) and url in h for h in hints)
            emit(ok, inst["name"], case["name"], "%s: hint quotes %s" % (case["name"], url),
                 [] if ok else ["got hint %r" % (hints if len(hints) > 1 else hints[0])])
        if case["extra"] == "rcpt-limit":
            probs, summary = rcpt_limit_problems(read_log(logpath, offset), profile)
            emit(not probs, inst["name"], case["name"], "%s: one RCPT per transaction after the first 'too many recipients'"
                 % case["name"], probs + [summary])

    data = []
    for name in instances:
        for line in read_log(os.path.join(world, "smtp-%s.log" % name)):
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] == "C" and re.match(r"(?i)^DATA\b", parts[2]):
                data.append("%s: %s" % (name, line))
    print("%s %d - no replica ever received DATA" % ("not ok" if data else "ok", n))
    for d in data[:10]:
        print("# " + d)
    print("1..%d" % n)
    print("# per replica: checks passed / failed (failing cases)")
    for name, (good, bad, which) in tally.items():
        print("# %-14s %-11s %3d passed %3d failed%s" % (
            name, profiles[instances[name]["profile"]]["provider"], good, bad,
            "  (%s)" % ", ".join(sorted(set(which))) if which else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

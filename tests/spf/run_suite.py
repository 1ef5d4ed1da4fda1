#!/usr/bin/env python3
"""RFC 7208 conformance: runs the openspf suite (rfc7208-tests.yml) through
tests/test_spf_suite.c and prints TAP, one line per test.

Usage: run_suite.py DRIVER [YAML]
YAML defaults to $BC_CONFORMANCE_DIR/spf/rfc7208-tests.yml, else
../shared/conformance/spf/rfc7208-tests.yml beside the source tree.

Each scenario's zonedata becomes the JSON zone of src/lib/dns/resolver.h:
entries are kept as they are ({"SPF": ...}, {"TXT": ...}, {"MX": [p, n]},
"TIMEOUT", ...), except that a name listing "TXT: NONE" (the suite's way of
saying "this name has no TXT record, do not copy SPF to TXT") loses both
that entry and its type SPF records, since check_host() never asks for
type SPF. An expected explanation of "DEFAULT" means the default one: the
driver reports null for it.
"""
import json
import os
import subprocess
import sys

REL = "../shared/conformance/spf/rfc7208-tests.yml"


def find_yaml(argv):
    if len(argv) > 2:
        return argv[2]
    d = os.environ.get("BC_CONFORMANCE_DIR")
    if d:
        return os.path.join(d, "spf", "rfc7208-tests.yml")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(root, REL)


def convert_zone(zonedata):
    zone = {}
    for name, recs in (zonedata or {}).items():
        recs = recs or []
        txt_none = any(isinstance(r, dict) and r.get("TXT") == "NONE" for r in recs)
        out = []
        for r in recs:
            if isinstance(r, str):
                out.append(r)
                continue
            (k, v), = r.items()
            if txt_none and k in ("TXT", "SPF"):
                continue
            if k == "MX":
                v = [int(v[0]), str(v[1])]
            elif k in ("TXT", "SPF"):
                v = [str(x) for x in v] if isinstance(v, list) else str(v)
            else:
                v = str(v)
            out.append({k: v})
        zone[str(name)] = out
    return zone


def main():
    if len(sys.argv) < 2:
        print("usage: run_suite.py DRIVER [YAML]", file=sys.stderr)
        return 2
    driver = sys.argv[1]
    path = find_yaml(sys.argv)
    if not os.path.exists(path):
        print("1..0 # SKIP %s not found" % REL)
        return 0
    import yaml
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    lines = []
    for doc in docs:
        scenario = doc.get("description", "?")
        tests = []
        expect = {}
        for tname, t in doc["tests"].items():
            tests.append({"name": tname, "helo": str(t.get("helo", "")), "host": str(t["host"]),
                          "mailfrom": str(t.get("mailfrom", ""))})
            res = t["result"]
            expect[tname] = ([res] if isinstance(res, str) else list(res), t.get("explanation"))
        data = json.dumps({"zone": convert_zone(doc.get("zonedata")), "tests": tests}).encode(
            "utf-8", "surrogateescape")
        p = subprocess.run([driver], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        got = {}
        if p.returncode == 0:
            for ln in p.stdout.decode("utf-8", "replace").splitlines():
                o = json.loads(ln)
                got[o.get("name")] = o
        for t in tests:
            want, wexp = expect[t["name"]]
            o = got.get(t["name"])
            label = "%s / %s" % (scenario, t["name"])
            if o is None:
                lines.append((False, label, "driver failed: %s" % (p.stderr.decode("utf-8", "replace").strip().splitlines() or [""])[0]))
                continue
            ok = o["result"] in want
            why = "got %s, want %s" % (o["result"], "|".join(want))
            if ok and wexp is not None and o["result"] == "fail":
                gexp = o.get("explanation")
                if wexp == "DEFAULT":
                    ok = gexp is None
                else:
                    ok = gexp == wexp
                why = "explanation %r, want %r" % (gexp, wexp)
            if not ok and o.get("error"):
                why += " (%s)" % o["error"]
            lines.append((ok, label, why))
    print("1..%d" % len(lines))
    for i, (ok, label, why) in enumerate(lines, 1):
        if ok:
            print("ok %d - %s" % (i, label))
        else:
            print("not ok %d - %s # %s" % (i, label, why))
    return 0


if __name__ == "__main__":
    sys.exit(main())

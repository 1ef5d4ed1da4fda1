#!/usr/bin/python3
"""check_profiles.py - checks the provider replica profiles against their sources.

Usage: check_profiles.py [--tap] REPLICAS.json WORLD.json CORPUS.tsv PROVIDERS

  1. the profiles are well formed: every profile names its provider, MX
     patterns, banner, EHLO, MAIL and RCPT exists/nouser replies; every reply
     is a valid SMTP reply with a kind (documented, seen, assumed) and a source;
     a block names its stage;
  2. every reply that names a corpus row ("corpus": ID) says what that row of
     tests/replies/corpus.tsv says, placeholders ({rcpt}, {client_ip}, {sid},
     ...) standing for the documentation's example values; a reply marked
     "corpus_differs" (a newer wording) need only share the row's codes;
  3. every MX host of the world (WORLD.json) is recognised by the library's
     provider table as its profile's "provider". PROVIDERS is the library's
     table: data/providers.json (provider rules as data: the longest MX
     suffix wins, "provider" or else "name" is the result's field) or, in
     versions before it, src/lib/provider.c (a suffix table, first match).
Without --tap: prints the problems, exit status 1 when there are any. With
--tap: prints three TAP lines numbered from 1 (no plan) and the problems as
# lines; exit status 0.
"""
import json
import os
import re
import sys

KINDS = ("documented", "seen", "assumed")
STAGES = ("connect", "ehlo", "mail", "rcpt")
PLACEHOLDER = re.compile(r"\{(rcpt|local|domain|from|client_ip|sid|date)\}")


def replies_of(name, p):
    """(where, reply dict) for every reply of profile p."""
    for key in ("banner", "ehlo", "mail", "rset", "quit", "too_many_recipients", "block"):
        if key in p:
            yield "%s.%s" % (name, key), p[key]
    for key, r in p.get("rcpt", {}).items():
        yield "%s.rcpt.%s" % (name, key), r


def reply_problems(where, r):
    probs = []
    lines = r.get("lines")
    if not isinstance(lines, list) or not lines:
        return ["%s: no lines" % where]
    for i, ln in enumerate(lines):
        last = i == len(lines) - 1
        if not (isinstance(ln, str) and re.match(r"^[2-5]\d\d([ -]|$)", ln)
                and (len(ln) == 3 or ln[3] == (" " if last else "-")) and ln[:3] == lines[0][:3]):
            probs.append("%s: bad line %r" % (where, ln))
    if r.get("kind") not in KINDS:
        probs.append("%s: kind must be one of %s" % (where, ", ".join(KINDS)))
    if not r.get("source"):
        probs.append("%s: no source" % where)
    return probs


def structure(profiles):
    probs = []
    for name, p in profiles.items():
        for key in ("provider", "name", "mx_patterns", "banner", "ehlo", "mail", "rcpt"):
            if key not in p:
                probs.append("%s: no %s" % (name, key))
        for key in ("exists", "nouser"):
            if key not in p.get("rcpt", {}):
                probs.append("%s: no rcpt.%s" % (name, key))
        if p.get("default", "nouser") not in p.get("rcpt", {}):
            probs.append("%s: default %r is no rcpt reply" % (name, p.get("default")))
        if "block" in p and p["block"].get("stage") not in STAGES:
            probs.append("%s.block: stage must be one of %s" % (name, ", ".join(STAGES)))
        for where, r in replies_of(name, p):
            probs.extend(reply_problems(where, r))
    return probs


def load_corpus(path):
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            c = line.rstrip("\n").split("\t")
            rows[c[0]] = c[4].split("\\n")
    return rows


def line_pattern(line):
    """A regular expression for a profile line: placeholders match any text."""
    out, pos = [], 0
    for m in PLACEHOLDER.finditer(line):
        out.append(re.escape(line[pos:m.start()]))
        out.append(".+?")
        pos = m.end()
    out.append(re.escape(line[pos:]))
    return "".join(out)


def codes(lines):
    m = re.match(r"^(\d{3})[ -](\d\.\d{1,3}\.\d{1,3})?", lines[-1] + " ")
    return (m.group(1), m.group(2)) if m else (lines[-1][:3], None)


def against_corpus(profiles, corpus):
    probs = []
    for name, p in profiles.items():
        for where, r in replies_of(name, p):
            rid = r.get("corpus")
            if not rid:
                continue
            if rid not in corpus:
                probs.append("%s: no corpus row %s" % (where, rid))
                continue
            want = corpus[rid]
            if r.get("corpus_differs"):
                if codes(r["lines"]) != codes(want):
                    probs.append("%s: codes %s differ from corpus %s %s" % (where, codes(r["lines"]), rid, codes(want)))
                continue
            if len(want) != len(r["lines"]) or not all(
                    re.fullmatch(line_pattern(a), b) for a, b in zip(r["lines"], want)):
                probs.append("%s: differs from corpus row %s: %r vs %r" % (where, rid, r["lines"], want))
    return probs


def provider_table(path):
    """The library's MX suffix table: a list of (suffix, provider)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return [(suf, p.get("provider") or p["name"])
                for p in json.loads(text)["providers"] for suf in p["mx"]]
    return re.findall(r'\{\s*"([a-z0-9.-]+)",\s*"([a-z0-9_-]+)"\s*\}', text)


def provider_for_mx(table, host, longest):
    """What the library answers for an MX host: the longest suffix that is
    the whole host or a parent of it (data/providers.json), or the first
    (the older src/lib/provider.c)."""
    best = None
    for suffix, provider in table:
        if host == suffix or host.endswith("." + suffix):
            if not longest:
                return provider
            if best is None or len(suffix) > len(best[0]):
                best = (suffix, provider)
    return best[1] if best else None


def against_library(profiles, world, table, longest, path):
    probs = []
    if not table:
        return ["no provider table found in %s" % path]
    for inst in world["instances"]:
        want = profiles.get(inst["profile"], {}).get("provider")
        for h in inst["hosts"]:
            got = provider_for_mx(table, h, longest)
            if got != want:
                probs.append("%s: %s names %s, the profile %s %s"
                             % (h, os.path.basename(path), got, inst["profile"], want))
    return probs


def main(argv):
    tap = "--tap" in argv
    args = [a for a in argv[1:] if a != "--tap"]
    if len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        profiles = json.load(f)["profiles"]
    with open(args[1], encoding="utf-8") as f:
        world = json.load(f)
    checks = [("the replica profiles are well formed", structure(profiles)),
              ("the profiles' corpus replies match tests/replies/corpus.tsv",
               against_corpus(profiles, load_corpus(args[2])))]
    what = "the profiles' providers are the library's (%s)" % os.path.basename(args[3])
    try:
        table = provider_table(args[3])
    except (OSError, ValueError, KeyError) as e:
        checks.append((what, ["cannot read %s: %s" % (args[3], e)]))
    else:
        checks.append((what, against_library(profiles, world, table, args[3].endswith(".json"), args[3])))
    bad = 0
    for i, (what, probs) in enumerate(checks, 1):
        bad += bool(probs)
        if tap:
            print("%s %d - %s" % ("not ok" if probs else "ok", i, what))
            for p in probs:
                print("# " + p)
        else:
            for p in probs:
                print("%s: %s" % (what, p))
    return 0 if tap or not bad else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

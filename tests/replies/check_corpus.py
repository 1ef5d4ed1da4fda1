#!/usr/bin/python3
"""check_corpus.py - validates tests/replies/corpus.tsv and prints its counts.

Usage: check_corpus.py [CORPUS] [--quiet]

Checks every data line: seven tab-separated columns; an id that is a unique
slug usable as an e-mail local part and a DNS label (a-z, 0-9, '-', '.', at
most 40 characters); a (status, reason) pair from the verdict vocabulary;
an mx that is '-' or a host name; a reply that is unique in the file and
whose lines (split on the two characters backslash-n) are each a valid SMTP
reply line: three digits 2xx-5xx, then a space, a '-' or the end of the line,
continuation lines ('-') before the last one only, one code for all lines,
no control characters; a non-empty source. Comment lines start with '#'.

Prints the counts per class, per (status, reason), per language (the note's
leading [xx] tag, English when there is none) and the coverage targets of
the corpus, then exits 0 when the file is well formed and 1 otherwise (each
problem is printed with its line number). Coverage targets that are not met
are reported but do not make the file malformed.
"""
import collections
import re
import sys

LABELS = {
    "deliverable": {"accepted_email"},
    "undeliverable": {"rejected_email", "mailbox_disabled"},
    "risky": {"mailbox_full", "provider_unverifiable"},
    "unknown": {"greylisted", "blocked", "sender_rejected", "rate_limited", "policy_rejected",
                "server_error", "temporary_failure", "server_rejected"},
}
MAILBOX = {"rejected_email", "mailbox_disabled"}
NON_MAILBOX = {"blocked", "sender_rejected", "rate_limited", "policy_rejected", "server_error",
               "temporary_failure", "server_rejected"}
ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,38}[a-z0-9])?$")
HOST_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
LINE_RE = re.compile(r"^([2-5][0-9][0-9])([ -]|$)")
LANG_RE = re.compile(r"^\[([a-z]{2})\]")


def reply_lines(reply):
    """Splits a reply column into its lines (separator: backslash + n)."""
    return reply.split("\\n")


def check_reply(reply):
    """Returns a list of problems with the reply column (empty when valid)."""
    problems = []
    lines = reply_lines(reply)
    code = None
    for i, line in enumerate(lines):
        if any(ord(c) < 32 or ord(c) == 127 for c in line):
            problems.append("control character in reply line %d" % (i + 1))
        m = LINE_RE.match(line)
        if not m:
            problems.append("reply line %d is not an SMTP line: %r" % (i + 1, line[:40]))
            continue
        if code is None:
            code = m.group(1)
        elif m.group(1) != code:
            problems.append("reply line %d has code %s, the first has %s" % (i + 1, m.group(1), code))
        last = i == len(lines) - 1
        sep = m.group(2)
        if not last and sep != "-":
            problems.append("reply line %d ends the reply before its last line" % (i + 1))
        if last and sep == "-":
            problems.append("the last reply line continues ('-')")
    return problems


def main(argv):
    path = "tests/replies/corpus.tsv"
    quiet = False
    for a in argv[1:]:
        if a == "--quiet":
            quiet = True
        else:
            path = a
    problems = []
    ids = {}
    replies = {}
    by_reason = collections.Counter()
    by_status = collections.Counter()
    by_lang = collections.Counter()
    by_lang_kind = collections.Counter()
    multi = 0
    with_mx = 0
    recalled = 0
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        print("check_corpus: cannot open %s: %s" % (path, e), file=sys.stderr)
        return 1
    with f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.endswith("\r"):
                problems.append("%d: CR at the end of the line" % n)
                line = line[:-1]
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 7:
                problems.append("%d: %d columns, 7 expected" % (n, len(cols)))
                continue
            id_, status, reason, mx, reply, source, note = cols
            if not ID_RE.match(id_):
                problems.append("%d: bad id %r" % (n, id_))
            if id_ in ids:
                problems.append("%d: id %r already on line %d" % (n, id_, ids[id_]))
            ids.setdefault(id_, n)
            if reason not in LABELS.get(status, ()):
                problems.append("%d: %r %r is not a status/reason pair of the vocabulary" % (n, status, reason))
            if mx != "-" and not HOST_RE.match(mx):
                problems.append("%d: bad mx %r" % (n, mx))
            if reply in replies:
                problems.append("%d: reply already on line %d" % (n, replies[reply]))
            replies.setdefault(reply, n)
            for p in check_reply(reply):
                problems.append("%d: %s" % (n, p))
            if not source.strip():
                problems.append("%d: no source" % n)
            by_reason[reason] += 1
            by_status[status] += 1
            m = LANG_RE.match(note)
            lang = m.group(1) if m else "en"
            by_lang[lang] += 1
            kind = "mailbox" if reason in MAILBOX else ("non-mailbox" if reason in NON_MAILBOX else "other")
            by_lang_kind[(lang, kind)] += 1
            multi += len(reply_lines(reply)) > 1
            recalled += "not re-checked" in source
            with_mx += mx != "-"
    total = sum(by_reason.values())
    mailbox = sum(by_reason[r] for r in MAILBOX)
    nonmb = sum(by_reason[r] for r in NON_MAILBOX)
    agf = by_reason["accepted_email"] + by_reason["greylisted"] + by_reason["mailbox_full"]
    if not quiet:
        print("%s: %d replies (%d multi-line, %d with a provider MX, %d with a wording recalled and"
              " not re-checked against a stored copy of its source)" % (path, total, multi, with_mx, recalled))
        print("per status:")
        for s in ("deliverable", "undeliverable", "risky", "unknown"):
            print("  %-14s %4d" % (s, by_status[s]))
        print("per reason:")
        for s in ("deliverable", "undeliverable", "risky", "unknown"):
            for r in sorted(LABELS[s]):
                print("  %-14s %-18s %4d" % (s, r, by_reason[r]))
        print("per language (mailbox / non-mailbox / other):")
        for lang, c in by_lang.most_common():
            print("  %-3s %4d  (%d / %d / %d)" % (lang, c, by_lang_kind[(lang, "mailbox")],
                                                by_lang_kind[(lang, "non-mailbox")],
                                                by_lang_kind[(lang, "other")]))
        targets = [
            ("distinct replies >= 450", total >= 450, total),
            ("mailbox evidence (rejected_email + mailbox_disabled) >= 150", mailbox >= 150, mailbox),
            ("accepted + greylisted + mailbox_full >= 60", agf >= 60, agf),
            ("nothing about the mailbox >= 200", nonmb >= 200, nonmb),
        ]
        print("coverage targets:")
        for what, ok, n in targets:
            print("  %-62s %4d  %s" % (what, n, "met" if ok else "NOT MET"))
        for lang in ("fr", "de", "es", "it", "pt", "ru", "zh", "ja"):
            n = by_lang[lang]
            print("  %-62s %4d  %s" % ("language %s >= 5" % lang, n, "met" if n >= 5 else "NOT MET"))
    for p in problems:
        print("check_corpus: %s: %s" % (path, p), file=sys.stderr)
    if problems:
        print("check_corpus: %d problem(s)" % len(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

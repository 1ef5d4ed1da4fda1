#!/bin/bash
# test_bulk_world.sh BOUNCECHECK - `bouncecheck verify -i FILE` on big lists
# against the real servers of the test world (tests/world/up.sh: NSD, Postfix,
# postgrey and a latency proxy in a fresh network namespace):
#  1. a seeded 100,000-row CSV (quoted cells, embedded newlines, formulas, many
#     duplicates, ~24,000 distinct addresses over every verdict class the world
#     offers, a few greylisted ones rechecked within the run): every output row
#     is checked against its expected status/reason, with its cells and order;
#     Postfix never saw DATA and served the list in far fewer connections than
#     there are distinct addresses;
#  2. a 3,000-row list over bclab-slow.net (behind the 300 ms latency proxy):
#     an uninterrupted run, then the same run killed with SIGKILL part way and
#     resumed with --resume: byte-identical output, state removed, and no
#     address finished before the kill was asked again.
# Brings the world down on exit, whatever happened. Needs root. Prints TAP.
# Environment: BC_WORLD_KEEP=1 keeps the state directory (logs, lists,
# outputs) and prints its path.
set -u

bin=${1:?usage: test_bulk_world.sh path/to/bouncecheck}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
world="$here/../world"
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
py=/usr/bin/python3

# shellcheck source=tests/world/preflight.sh
. "$world/preflight.sh"
world_preflight nsd postfix postgrey openssl ip "$py"

world_state bc-bulkworld

n=0 fails=0
# ok STATUS DESC - one TAP line; a non-zero STATUS is a failure.
ok() {
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $n - $2"
    else
        fails=$((fails + 1))
        echo "not ok $n - $2"
    fi
}
# diag FILE - prints FILE as TAP diagnostics (at most 20 lines).
diag() { [ -s "$1" ] && head -n 20 "$1" | sed 's/^/# /'; }

echo "1..16"
if ! "$world/up.sh" "$state" > "$state/up.log" 2>&1; then
    ok 1 "the test world comes up"
    diag "$state/up.log"
    exit 1
fi
ok 0 "the test world comes up"
# shellcheck disable=SC1091
. "$state/world.env"
cd "$state" || exit 1

# maillog_mark - where the Postfix log stands now (bytes), after letting
# Postfix's log daemon write what is still in flight.
maillog_mark() { sleep 1; stat -c %s "$state/maillog"; }
# maillog_since MARK - the Postfix log lines written after MARK.
maillog_since() { tail -c +$(($1 + 1)) "$state/maillog"; }
# The world's DNS, the identity and the limits every run here uses.
bc_args=(verify --dns "$DNS" --helo probe.bclab-client.net --from check@bclab-client.net
    --mx-connections 4 --rcpts-per-connection 10 --domain-rate 0 --quiet)
# bc ARGS... - runs bouncecheck inside the namespace, at most 10 minutes.
bc() { ip netns exec "$NS" timeout 600 "$bin" "${bc_args[@]}" "$@"; }

# gen OUT.csv EXPECT.tsv ROWS SEED KIND - writes a seeded CSV list (id, name,
# email, notes; quoted cells, embedded newlines, formula-like notes) and, per
# row, "id<TAB>email<TAB>status/reason" expected of it. The expected verdicts
# are those of tests/integration/cases.tsv for the same kind of address.
# KIND big: every class the world offers, ~24% distinct, 4 greylisted rows;
# KIND slow: mostly bclab-slow.net, no greylisting (a deterministic result).
gen() {
    $py - "$@" <<'EOF'
import csv, random, sys
out, exp, nrows, seed, kind = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rng = random.Random(seed)
users = ["alice", "bob", "carol", "sink", "info"]          # mailboxes on every world domain
smtp_doms = ["bclab-ok.net", "bclab-backup.net", "bclab-implicit.net", "gmail.com"]
invalid = ["plainaddress", "two@@bclab-ok.net", "@bclab-ok.net", "alice@", "", "a b@bclab-ok.net",
           "alice@bclab-ok..net", "<alice@bclab-ok.net", "alice@bclab-ok.net>", "x@[999.1.1.1]"]
DELIV, REJ = "deliverable/accepted_email", "undeliverable/rejected_email"
pools = {}
def unknown(dom, cap, grow):
    """A random unknown local part for dom: a new one with probability grow
    (until cap of them exist), else one already used (a duplicate row)."""
    p = pools.setdefault(dom, [])
    if len(p) < cap and (not p or rng.random() < grow):
        p.append("u" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8)))
        return p[-1]
    return rng.choice(p)
def spell(dom):
    return dom.upper() if rng.random() < 0.05 else dom    # same address, other spelling
def big(i):
    if i % (nrows // 4) == 7:                              # greylisted by postgrey, then accepted
        return f"{('grey1', 'grey2', 'alice', 'bob')[i // (nrows // 4)]}@bclab-grey.net", DELIV
    r = rng.random()
    if r < 0.20:
        return f"{rng.choice(users)}@{spell(rng.choice(smtp_doms))}", DELIV
    if r < 0.80:
        d = rng.choice(smtp_doms)
        return f"{unknown(d, nrows // 20, 0.42)}@{spell(d)}", REJ
    if r < 0.86:
        return f"{unknown('bclab-catchall.net', nrows // 50, 0.42)}@bclab-catchall.net", "risky/accept_all"
    if r < 0.89:
        return f"{unknown('bclab-nullmx.net', nrows // 100, 0.42)}@bclab-nullmx.net", "undeliverable/null_mx"
    if r < 0.92:
        return f"{unknown('bclab-nomail.net', nrows // 100, 0.42)}@bclab-nomail.net", "undeliverable/no_mail_server"
    if r < 0.95:
        return rng.choice(invalid), "undeliverable/invalid_syntax"
    if r < 0.975:
        return "full@bclab-ok.net", "risky/mailbox_full"
    return "disabled@bclab-ok.net", "undeliverable/mailbox_disabled"
def slow(i):
    r = rng.random()
    if r < 0.15:
        return f"{rng.choice(users)}@bclab-slow.net", DELIV
    if r < 0.80:
        return f"{unknown('bclab-slow.net', nrows // 8, 0.25)}@{spell('bclab-slow.net')}", REJ
    if r < 0.90:
        return f"{unknown('bclab-ok.net', nrows // 30, 0.25)}@bclab-ok.net", REJ
    if r < 0.95:
        return f"{unknown('bclab-nullmx.net', 50, 0.25)}@bclab-nullmx.net", "undeliverable/null_mx"
    return rng.choice(invalid), "undeliverable/invalid_syntax"
make = big if kind == "big" else slow
with open(out, "w", newline="", encoding="utf-8") as f, open(exp, "w", encoding="utf-8") as e:
    w = csv.writer(f)
    w.writerow(["id", "name", "email", "notes"])
    for i in range(nrows):
        addr, want = make(i)
        name = rng.choice(["Doe, Jane", 'Bob "the" Builder', "Ørjan Ås", "plain"])
        notes = rng.choice(["", "line one\nline two", "a,b,c", 'say "hi"', "=SUM(A1)", str(i)])
        w.writerow([i, name, addr, notes])
        e.write(f"{i}\t{addr}\t{want}\n")
EOF
}

# ---- 1. 100,000 rows --------------------------------------------------------
gen big.csv big.tsv 100000 20240601 big || { echo "Bail out! generating the list failed"; exit 1; }
mark=$(maillog_mark)
start=$(date +%s)
bc --greylist-schedule 5 --timeout 60 -i big.csv -o big.out.csv 2> big.err
rc=$?
secs=$(( $(date +%s) - start ))
ok $rc "100,000 rows verified against the world (exit $rc, ${secs}s)"
diag big.err
maillog_since "$mark" > big.maillog

# Every row back, in order, its own cells kept (formula-like cells escaped
# with a leading ' as the CSV writer promises), and the expected verdict.
$py - big.csv big.tsv big.out.csv > big.check 2>&1 <<'EOF'
import csv, sys
from collections import Counter
inp, exp, outp = sys.argv[1:4]
rows_in = list(csv.reader(open(inp, newline="", encoding="utf-8")))
rows_out = list(csv.reader(open(outp, newline="", encoding="utf-8-sig")))
want = [l.rstrip("\n").split("\t") for l in open(exp, encoding="utf-8")]
if len(rows_out) != len(rows_in):
    sys.exit(f"{len(rows_out)} output lines for {len(rows_in)} input lines (header included)")
if rows_out[0][:6] != rows_in[0] + ["status", "reason"]:
    sys.exit(f"header {rows_out[0]!r}")
def esc(c):
    return "'" + c if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c
order = [i for i, (ri, ro) in enumerate(zip(rows_in[1:], rows_out[1:])) if ro[:4] != [esc(c) for c in ri]]
if order:
    i = order[0]
    sys.exit(f"{len(order)} rows differ from their input row (order or cells), first: line {i + 2}: "
             f"{rows_in[i + 1]!r} -> {rows_out[i + 1][:4]!r}")
print("rows ok")
EOF
ok $? "every row comes back once, in input order, with its own cells"
diag big.check

$py - big.tsv big.out.csv > big.verdicts 2>&1 <<'EOF'
import csv, sys
from collections import Counter
exp, outp = sys.argv[1:3]
want = [l.rstrip("\n").split("\t") for l in open(exp, encoding="utf-8")]
rows = list(csv.reader(open(outp, newline="", encoding="utf-8-sig")))[1:]
bad = Counter()
example = {}
for (wid, addr, w), r in zip(want, rows):
    got = f"{r[4]}/{r[5]}"
    if got != w:
        bad[(w, got)] += 1
        example.setdefault((w, got), (addr, r[-3:]))
for (w, got), c in bad.most_common():
    print(f"{c} rows want {w}, got {got}; e.g. {example[(w, got)]}")
print("verdicts by class: " + ", ".join(f"{k} x{v}" for k, v in Counter(w for _, _, w in want).most_common()))
sys.exit(1 if bad else 0)
EOF
ok $? "every row has the verdict its class expects"
diag big.verdicts

# The greylisted rows: postgrey answered 450 first (so a recheck happened
# within the run) and they still ended deliverable (checked above).
grey=$(grep -c "450 4.2.0 <[^>]*@bclab-grey.net>.*Greylisted" big.maillog)
[ "$grey" -ge 1 ]; ok $? "greylisted addresses were answered 450 ($grey times) and rechecked to deliverable"

# Politeness: never DATA (no session counted data=, nothing queued) and far
# fewer connections than distinct addresses (one connection, many RCPTs).
data=$(grep -E "disconnect from.* data=|postfix/cleanup|message-id=" big.maillog | head -3)
[ -z "$data" ]; ok $? "Postfix never saw DATA nor queued a message during the big run"
[ -n "$data" ] && printf '# %s\n' "$data"
conns=$(grep -c "postfix/smtpd\[[0-9]*\]: connect from" big.maillog)
rcpts=$(grep -o " rcpt=[0-9/]*" big.maillog | awk -F'[=/]' '{ s += ($3 != "" ? $3 : $2) } END { print s + 0 }')
distinct=$($py -c '
import sys
s = set()
for l in open(sys.argv[1], encoding="utf-8"):
    a = l.rstrip("\n").split("\t")[1]
    loc, at, dom = a.rpartition("@")
    s.add(loc + at + dom.lower())
print(len(s))' big.tsv)
echo "# $distinct distinct addresses in $conns connections ($rcpts RCPTs)"
[ "$conns" -gt 0 ] && [ $((conns * 5)) -le "$distinct" ]
ok $? "connections ($conns) are far below distinct addresses ($distinct)"

# ---- 2. kill -9 in the middle, then --resume ---------------------------------
gen slow.csv slow.tsv 3000 7 slow || { echo "Bail out! generating the list failed"; exit 1; }
start=$(date +%s)
bc -i slow.csv -o ref.csv 2> ref.err
rc=$?
ok $rc "uninterrupted run of 3,000 rows over bclab-slow.net (exit $rc, $(( $(date +%s) - start ))s)"
diag ref.err
$py - slow.tsv ref.csv > ref.verdicts 2>&1 <<'EOF'
import csv, sys
want = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8")]
rows = list(csv.reader(open(sys.argv[2], newline="", encoding="utf-8-sig")))[1:]
bad = [(a, w, f"{r[4]}/{r[5]}") for (_, a, w), r in zip(want, rows) if f"{r[4]}/{r[5]}" != w]
for b in bad[:10]: print(*b)
sys.exit(1 if bad or len(rows) != len(want) else 0)
EOF
ok $? "the uninterrupted run gives every row its expected verdict"
diag ref.verdicts

# done_count STATE - addresses with a committed result in STATE (read-only).
done_count() {
    $py - "$1" <<'EOF' 2>/dev/null || echo "0 0"
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=1)
print(*db.execute("SELECT (SELECT count(*) FROM results), count(*) FROM addrs").fetchone())
EOF
}
# stop_part_way SIGNAL OUT ERRFILE - runs the slow list into OUT and sends
# SIGNAL once a good part, but well short of all, of its results is
# committed; sets rc (its exit status), d and total (results done / in all).
# Started directly, not through bc(): ip netns exec execs bouncecheck, so $!
# is bouncecheck itself and the signal hits it, not a shell or timeout(1)
# that would leave it running.
stop_part_way() {
    ip netns exec "$NS" "$bin" "${bc_args[@]}" -i slow.csv -o "$2.csv" 2> "$3" &
    job=$!
    d=0 total=0
    for _ in $(seq 1 1200); do
        read -r d total < <(done_count "$2.csv.bcstate")
        [ "${total:-0}" -gt 0 ] && [ "${d:-0}" -ge $((total / 3)) ] && break
        kill -0 "$job" 2>/dev/null || break
        sleep 0.1
    done
    kill -"$1" "$job" 2>/dev/null
    wait "$job" 2>/dev/null
    rc=$?
    job=""
}
stop_part_way KILL res kill.err
mark=$(maillog_mark)
# What the state holds after the kill: the finished addresses, one per line.
$py - res.csv.bcstate > done-before.txt 2>/dev/null <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for (e,) in db.execute("SELECT a.email FROM results x JOIN addrs a ON a.id = x.id"):
    print(e.decode() if isinstance(e, bytes) else e)
EOF
ndone=$(grep -c . done-before.txt)
[ ! -e res.csv ] && [ -e res.csv.bcstate ] && [ "$ndone" -gt 0 ] && [ "$ndone" -lt "$total" ]
ok $? "kill -9 part way ($ndone of $total addresses done): no output yet, the state is kept"

start=$(date +%s)
bc -i slow.csv -o res.csv --resume 2> resume.err
rc=$?
ok $rc "--resume finishes the job (exit $rc, $(( $(date +%s) - start ))s)"
diag resume.err
maillog_since "$mark" > resume.maillog
cmp res.csv ref.csv > cmp.out 2>&1 && [ ! -e res.csv.bcstate ]
ok $? "the resumed output is byte-identical to the uninterrupted run and the state is gone"
if [ -s cmp.out ] && [ -e res.csv ]; then
    # Which columns differ, and how often: points at the field that moved.
    $py - ref.csv res.csv >> cmp.out 2>&1 <<'EOF'
import csv, sys
from collections import Counter
a, b = (list(csv.reader(open(f, newline="", encoding="utf-8-sig"))) for f in sys.argv[1:3])
hdr, cols, first = a[0], Counter(), {}
for ra, rb in zip(a[1:], b[1:]):
    for i, (x, y) in enumerate(zip(ra, rb)):
        if x != y:
            cols[hdr[i]] += 1
            first.setdefault(hdr[i], (ra[2], x, y))
for c, k in cols.most_common():
    print(f"column {c} differs in {k} rows, e.g. {first[c][0]}: {first[c][1]!r} uninterrupted, {first[c][2]!r} resumed")
EOF
fi
diag cmp.out

# Not asked again: Postfix logs every rejected RCPT with its to=<address>,
# and most of this list is unknown users, so the log of the resumed run
# names exactly the unknown addresses it asked. None of them may be one the
# state had finished before the kill, and together with the finished ones
# they must cover every unknown address of the list (the log is complete).
# (The catch-all probes use random local parts that are not in the list.)
$py - done-before.txt resume.maillog slow.tsv > reask.out 2>&1 <<'EOF'
import re, sys
norm = lambda a: a.rpartition("@")[0] + "@" + a.rpartition("@")[2].lower()
done = {norm(l.strip()) for l in open(sys.argv[1], encoding="utf-8") if l.strip()}
asked = [norm(m.group(1)) for m in re.finditer(r"550 5\.1\.1 .*? to=<([^>]*)>", open(sys.argv[2], encoding="utf-8", errors="replace").read())]
unknown = {norm(a) for _, a, w in (l.rstrip("\n").split("\t") for l in open(sys.argv[3], encoding="utf-8"))
           if w == "undeliverable/rejected_email"}
again = sorted(set(asked) & done)
missing = sorted(unknown - done - set(asked))
print(f"{len(done)} done before the kill; the resumed run asked {len(set(asked) & unknown)} unknown "
      f"addresses ({len(asked)} rejected RCPTs in all); {len(again)} asked again, {len(missing)} never asked")
for a in again[:5]: print("asked again:", a)
for a in missing[:5]: print("never asked:", a)
sys.exit(1 if again or missing or not asked else 0)
EOF
ok $? "the resumed run did not ask again any address finished before the kill"
diag reask.out

# ---- Ctrl-C part way: a clean stop, then --resume ------------------------------
# SIGINT cancels the connections and queued addresses in flight; under the
# ASan build this also checks that nothing is leaked or touched after free
# on that path. The output after --resume must again equal the reference.
stop_part_way INT res2 int.err
[ "$rc" = 130 ] && grep -q -- "--resume" int.err && ! grep -q "Sanitizer" int.err && [ ! -e res2.csv ]
ok $? "Ctrl-C part way exits 130 cleanly, keeps the state, says how to go on (exit $rc)"
diag int.err
bc -i slow.csv -o res2.csv --resume 2> resume2.err
rc=$?
[ "$rc" = 0 ] && cmp -s res2.csv ref.csv
ok $? "--resume after Ctrl-C gives the uninterrupted output (exit $rc)"
diag resume2.err

# ---- never DATA, over the whole test ------------------------------------------
data=$(grep -E "disconnect from.* data=|postfix/cleanup|message-id=" "$state/maillog" | head -3)
[ -z "$data" ]; ok $? "no server ever received DATA or queued a message"
[ -n "$data" ] && printf '# %s\n' "$data"
[ $fails -eq 0 ]

#!/usr/bin/env bash
# test_extract_cli.sh BOUNCECHECK - `bouncecheck extract` as a user runs it:
# deduplication in order of first appearance, --all, the --json fields,
# standard input, piping into `verify -i -`, and files that cannot be read
# (missing, binary) beside ones that can. Prints TAP.
set -u
bin=${1:?usage: test_extract_cli.sh path/to/bouncecheck}
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
work=$(mktemp -d /tmp/bc-test-extract.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
export BOUNCECHECK_DATA_DIR=$work/data   # no such directory: the built-in lists
py=/usr/bin/python3; [ -x $py ] || py=python3
# run CMD...: runs CMD with stdout in $work/out, stderr in $work/err, status in rc.
run() { "$@" > "$work/out" 2> "$work/err"; rc=$?; }
# same FILE TEXT: FILE holds exactly TEXT (plus a final newline).
same() { printf '%s\n' "$2" | cmp -s - "$1"; }
show() { sed 's/^/#   /' "$@"; }

# Line 1 has the first three; line 3 repeats two with other case; line 4 an
# IDN domain in U-labels and again in A-labels.
cat > "$work/a.txt" <<'EOF'
Write to Alice@Example.org or bob@example.net, cc carol@example.com.
Nothing here, nor in 1.2.3 or @ alone.
Again: alice@example.org and BOB@example.net
IDN: dora@bücher.de and dora@xn--bcher-kva.de
EOF
printf 'The second file: erin@example.com\nbob@example.net\n' > "$work/b.txt"

run "$bin" extract "$work/a.txt"
[ "$rc" = 0 ]; ok $? "extract FILE exits 0 (got $rc)"
same "$work/out" "Alice@example.org
bob@example.net
carol@example.com
dora@xn--bcher-kva.de" ; r=$?; ok $r "deduplicated, first appearance order, first spelling of the local part kept, domain lower case, ASCII form"
[ $r = 0 ] || show "$work/out"

run "$bin" extract "$work/a.txt" "$work/b.txt"
same "$work/out" "Alice@example.org
bob@example.net
carol@example.com
dora@xn--bcher-kva.de
erin@example.com"; ok $? "deduplicated across files"

run "$bin" extract --all "$work/a.txt"
[ "$rc" = 0 ] && [ "$(wc -l < "$work/out")" = 7 ] && [ "$(sed -n 4p "$work/out")" = alice@example.org ] &&
  [ "$(sed -n 5p "$work/out")" = BOB@example.net ]; ok $? "--all keeps every occurrence in order (7 lines)"

run "$bin" extract < "$work/a.txt"
[ "$rc" = 0 ] && [ "$(head -1 "$work/out")" = Alice@example.org ] && [ "$(wc -l < "$work/out")" = 4 ]
ok $? "no FILE reads standard input"
run "$bin" extract - < "$work/b.txt"
same "$work/out" "erin@example.com
bob@example.net"; ok $? "- reads standard input"

run "$bin" extract --json "$work/a.txt" "$work/b.txt"
[ "$rc" = 0 ]; ok $? "--json exits 0"
"$py" - "$work/out" "$work/a.txt" "$work/b.txt" <<'PY'; ok $? "--json: one array, address/ascii/count/first/kind right"
import json, sys
arr = json.load(open(sys.argv[1], encoding="utf-8"))
a, b = sys.argv[2], sys.argv[3]
want = [("Alice@example.org", "Alice@example.org", 2, a, 1),
        ("bob@example.net", "bob@example.net", 3, a, 1),
        ("carol@example.com", "carol@example.com", 1, a, 1),
        ("dora@bücher.de", "dora@xn--bcher-kva.de", 2, a, 4),
        ("erin@example.com", "erin@example.com", 1, b, 1)]
assert isinstance(arr, list) and len(arr) == len(want), arr
for o, (addr, ascii_, count, f, line) in zip(arr, want):
    assert o["address"] == addr and o["ascii"] == ascii_, o
    assert o["count"] == count, o
    assert o["first"] == {"file": f, "line": line}, o
    assert o["kind"] == "text", o
PY

run "$bin" extract --json --all "$work/b.txt"
"$py" - "$work/out" "$work/b.txt" <<'PY'; ok $? "--json --all: one object per occurrence with file, line, kind"
import json, sys
arr = json.load(open(sys.argv[1], encoding="utf-8"))
f = sys.argv[2]
assert [(o["ascii"], o["file"], o["line"], o["kind"]) for o in arr] == \
    [("erin@example.com", f, 1, "text"), ("bob@example.net", f, 2, "text")], arr
assert all(o["address"] == o["ascii"] for o in arr), arr
PY
printf 'no address at all\n' > "$work/none.txt"
run "$bin" extract --json --all "$work/none.txt"
[ "$rc" = 0 ] && "$py" -c 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$work/out"
ok $? "--json --all with nothing found prints []"
run "$bin" extract --json "$work/none.txt"
[ "$rc" = 0 ] && "$py" -c 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$work/out"
ok $? "--json with nothing found prints []"
run "$bin" extract "$work/none.txt"
[ "$rc" = 0 ] && [ ! -s "$work/out" ]; ok $? "nothing found: no output, exit 0"

# The output is what `verify -i -` takes.
"$bin" extract "$work/a.txt" "$work/b.txt" | "$bin" verify --offline --quiet --format ndjson -i - \
  > "$work/verified" 2> "$work/err"; rc=$?
"$py" - "$work/verified" <<'PY'; r=$?
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
emails = [r["result"]["email"] for r in rows]
assert emails == ["Alice@example.org", "bob@example.net", "carol@example.com",
                  "dora@xn--bcher-kva.de", "erin@example.com"], emails
assert all(r["result"]["status"] for r in rows), rows
assert rows[3]["result"]["domain"] == "bücher.de", rows
PY
[ "$rc" = 0 ] && [ $r = 0 ]; ok $? "extract | verify --offline -i - verifies every address (exit $rc)"
[ $r = 0 ] || { show "$work/verified"; show "$work/err"; }

# Files that cannot be read: a message naming each, the others still read.
run "$bin" extract "$work/missing.txt" "$work/b.txt"
[ "$rc" = 3 ]; ok $? "a missing file: exit 3 (got $rc)"
grep -q "^bouncecheck: extract: $work/missing.txt: " "$work/err"; ok $? "a missing file: message names it"
same "$work/out" "erin@example.com
bob@example.net"; ok $? "a missing file: the other file is still processed"

head -c 65536 /dev/urandom > "$work/blob.bin"
printf '\0\0\0\1ELF zed@example.com \0\0\377\376' >> "$work/blob.bin"
run "$bin" extract "$work/blob.bin" "$work/b.txt"
[ "$rc" = 3 ]; ok $? "a binary file: exit 3 (got $rc)"
grep -q "^bouncecheck: extract: $work/blob.bin: ." "$work/err" &&
  ! grep -q "blob.bin: .*blob.bin" "$work/err"; r=$?
ok $r "a binary file: a message names it"
[ $r = 0 ] || show "$work/err"
grep -q '^erin@example.com$' "$work/out"; ok $? "a binary file: the other file is still processed"

# Email and PDF are decoded by a module loaded when first needed: the
# command finds it by itself, and without it says so per file.
printf 'From: Fay <fay@example.com>\nTo: =?UTF-8?Q?G=C3=BCnter?= <gus@example.org>\nSubject: hi\n\nBody: hal@example.net\n' > "$work/m.eml"
run "$bin" extract "$work/m.eml"
same "$work/out" "fay@example.com
gus@example.org
hal@example.net"; ok $? "an email message is decoded (the format module is found)"
mkdir -p "$work/nomodule"
BOUNCECHECK_MODULE_DIR=$work/nomodule run "$bin" extract "$work/m.eml" "$work/b.txt"
[ "$rc" = 3 ] && grep -q "^bouncecheck: extract: $work/m.eml: email message support is not installed" "$work/err" &&
  same "$work/out" "erin@example.com
bob@example.net"; r=$?
ok $r "without the format module: exit 3, a message naming the file, the other file still read"
[ $r = 0 ] || show "$work/err"
if command -v ldd > /dev/null; then
  ! ldd "$bin" | grep -q 'libgmime\|libpoppler\|libglib'; ok $? "the command itself does not link GMime, poppler or GLib"
fi

run "$bin" extract "$work/b.txt" - - < /dev/null
[ "$rc" = 2 ]; ok $? "standard input twice is a usage error"
run "$bin" extract --frob "$work/b.txt"
[ "$rc" = 2 ]; ok $? "an unknown option is a usage error"
run "$bin" extract --help
[ "$rc" = 0 ] && grep -q -- '--obfuscated' "$work/out"; ok $? "extract --help documents the options"
run "$bin" help extract
[ "$rc" = 0 ] && grep -q '^Usage: bouncecheck extract' "$work/out"; ok $? "help extract"
run "$bin" --help
grep -q '^  extract ' "$work/out" && grep -q '^  disposable ' "$work/out"; ok $? "the overview lists extract and disposable"

echo "1..$n"
[ "$failed" = 0 ]

#!/usr/bin/env bash
# test_bulk.sh BOUNCECHECK - `bouncecheck verify -i FILE` as a user runs it,
# offline (no network needed): formats, quoting, headers and columns,
# duplicates, junk, bad input with its exit code and message, the state file,
# and resuming after kill -9 and Ctrl-C with output identical to an
# uninterrupted run. Prints TAP.
set -u
bin=$1
case $bin in /*) ;; *) bin="$PWD/$bin" ;; esac
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
t=$(mktemp -d /tmp/bc-bulk.XXXXXX)
export BOUNCECHECK_DATA_DIR="$t/data"   # empty: the built-in lists
mkdir -p "$BOUNCECHECK_DATA_DIR"
trap 'rm -rf "$t"' EXIT
cd "$t" || exit 1
py=/usr/bin/python3; [ -x $py ] || py=python3
# run WANT DESC CMD...: runs CMD (stdout in out, stderr in err), checks the exit status.
run() {
  local want=$1 desc=$2; shift 2
  "$@" >out 2>err; local rc=$?
  [ "$rc" = "$want" ]; ok $? "$desc (exit $rc, want $want)"
  [ "$rc" = "$want" ] || sed 's/^/# /' err | head -n 5
}
# pycheck DESC SCRIPT ARGS...: a python assertion script; exit 0 = pass.
pycheck() {
  local desc=$1 script=$2; shift 2
  $py -c "$script" "$@" 2>pyerr; local rc=$?
  ok $rc "$desc"
  [ $rc = 0 ] || sed 's/^/# /' pyerr | tail -n 5
}
RESCOLS="status,reason,score,disposable,role,free,accept_all,suggestion,mx_host,smtp_code,smtp_message"

# ---- CSV: header, quoting, embedded newlines, CRLF, BOM ----------------------
printf '\xef\xbb\xbfname,Email Address,notes\r\n' > a.csv
printf '"Doe, Jane",jane.doe@gmail.com,"said ""hi"""\r\n' >> a.csv
printf 'Bob,bob@mailinator.com,"two\r\nlines"\r\n' >> a.csv
printf 'Junk,not an address,\r\n' >> a.csv
printf 'Dup,JANE.DOE@gmail.com,dup of row 1\r\n' >> a.csv
printf 'Empty,,no address\r\n' >> a.csv
printf 'Formula,=cmd|calc!A1@x.com,=SUM(A1)\r\n' >> a.csv
printf 'Typo,carl@gmial.com,\r\n' >> a.csv
run 0 "verify -i a.csv -o out.csv --offline" "$bin" verify --offline -i a.csv -o out.csv
[ -f out.csv ] && [ ! -e out.csv.bcstate ] && [ ! -e out.csv.part ]; ok $? "output written, state and partial file removed"
pycheck "CSV output keeps every row and cell in order and appends the result columns" '
import csv, sys
rows = list(csv.reader(open("out.csv", newline="", encoding="utf-8-sig")))
hdr, body = rows[0], rows[1:]
assert hdr == ["name", "Email Address", "notes"] + sys.argv[1].split(","), hdr
assert len(body) == 7, len(body)
assert body[0][:3] == ["Doe, Jane", "jane.doe@gmail.com", "said \"hi\""], body[0]
assert body[1][:3] == ["Bob", "bob@mailinator.com", "two\r\nlines"], body[1]
assert [r[0] for r in body] == ["Doe, Jane", "Bob", "Junk", "Dup", "Empty", "Formula", "Typo"]
st = {r[0]: (r[3], r[4]) for r in body}
assert st["Doe, Jane"] == ("unknown", "unverified"), st
assert st["Bob"] == ("risky", "disposable"), st
assert st["Junk"] == ("undeliverable", "invalid_syntax"), st
assert st["Dup"] == st["Doe, Jane"]
assert st["Empty"] == ("undeliverable", "invalid_syntax"), st
by = {r[0]: dict(zip(hdr, r)) for r in body}
assert by["Typo"]["suggestion"] == "carl@gmail.com", by["Typo"]
assert by["Bob"]["disposable"] == "true" and by["Doe, Jane"]["free"] == "true"
assert by["Doe, Jane"]["role"] == "false" and by["Doe, Jane"]["accept_all"] == ""
' "$RESCOLS"
pycheck "cells that would start a formula are escaped with a quote" '
import csv
body = list(csv.reader(open("out.csv", newline="", encoding="utf-8-sig")))[1:]
f = [r for r in body if r[0] == "Formula"][0]
assert f[1] == "'"'"'=cmd|calc!A1@x.com" and f[2] == "'"'"'=SUM(A1)", f
'
grep -q "7 rows (6 distinct addresses)" err; ok $? "the summary counts rows and distinct addresses"
grep -Eq "undeliverable +2 +28\.6%" err; ok $? "the summary gives counts and percentages by status"
grep -Eq "invalid_syntax +2" err; ok $? "the summary gives counts by reason"

# Same input on standard input, output on standard output.
run 0 "verify -i - (stdin to stdout)" "$bin" verify --offline --quiet -i - < a.csv
cp out stdin.csv
[ ! -s err ]; ok $? "--quiet prints nothing on stderr"
cmp -s stdin.csv out.csv; ok $? "stdin to stdout gives the same bytes as file to file"
[ -z "$(ls ./*.bcstate* 2>/dev/null)" ]; ok $? "no state file left behind"

# ---- formats ---------------------------------------------------------------
run 0 "--format ndjson" "$bin" verify --offline --quiet -i a.csv -o out.ndjson
pycheck "NDJSON rows: line, row keyed by header, full result with the row's own email" '
import json
rows = [json.loads(l) for l in open("out.ndjson")]
assert len(rows) == 7
assert rows[0]["row"]["name"] == "Doe, Jane" and rows[0]["line"] == 2, rows[0]
assert rows[1]["line"] == 3 and rows[2]["line"] == 5, [r["line"] for r in rows]
assert rows[0]["result"]["status"] == "unknown" and "syntax" in rows[0]["result"]
assert rows[3]["result"]["email"] == "JANE.DOE@gmail.com", rows[3]["result"]["email"]
assert rows[0]["result"]["email"] == "jane.doe@gmail.com"
'
run 0 "--format json" "$bin" verify --offline --quiet -i a.csv -o res.out --format json
pycheck "JSON output is one array of the rows" '
import json
rows = json.load(open("res.out"))
assert isinstance(rows, list) and len(rows) == 7 and rows[6]["result"]["suggestion"] == "carl@gmail.com"
'
printf 'id\tmail\n1\talice@example.org\n2\t"x@y.com"\n' > b.tsv
run 0 "TSV in, TSV out" "$bin" verify --offline --quiet -i b.tsv -o b.out.tsv
pycheck "TSV output keeps the tab-separated cells" '
import csv
rows = list(csv.reader(open("b.out.tsv", newline=""), delimiter="\t"))
assert rows[0][:2] == ["id", "mail"] and rows[0][2] == "status", rows[0]
assert rows[1][:4] == ["1", "alice@example.org", "undeliverable", "special_use_domain"], rows[1]
assert len(rows) == 3
'
printf 'a;b;email\n1;2;anna@gmail.com\n3;4;ben@gmail.com\n' > semi.csv
run 0 "semicolon CSV" "$bin" verify --offline --quiet -i semi.csv -o semi.out.csv
head -n 1 semi.out.csv | grep -q '^a;b;email;status;reason'; ok $? "a semicolon CSV stays semicolon-separated"
printf 'anna@gmail.com\nbad@\n\nben@gmail.com\n' > list.txt
run 0 "plain text list" "$bin" verify --offline --quiet -i list.txt -o list.csv
[ "$(wc -l < list.csv)" = 3 ] && grep -q '^bad@,undeliverable,invalid_syntax' list.csv; ok $? "plain text: one row per non-blank line, no header"
printf '{"id":1,"email":"anna@gmail.com"}\n{"id":2,"email":"x@mailinator.com","extra":true}\nnot json\n{"id":4}\n' > c.ndjson
run 0 "NDJSON in (format follows the input)" "$bin" verify --offline --quiet -i c.ndjson -o c.out.ndjson
pycheck "NDJSON in: original objects kept, bad lines marked invalid" '
import json
rows = [json.loads(l) for l in open("c.out.ndjson")]
assert len(rows) == 4
assert rows[1]["row"] == {"id": 2, "email": "x@mailinator.com", "extra": True}, rows[1]
assert rows[1]["result"]["reason"] == "disposable"
assert rows[2]["result"]["reason"] == "invalid_syntax" and rows[3]["result"]["reason"] == "invalid_syntax"
'
run 0 "NDJSON in, CSV out" "$bin" verify --offline --quiet -i c.ndjson -o c.out.csv
head -n 1 c.out.csv | grep -q '^id,email,extra,status'; ok $? "NDJSON to CSV: the first object's keys, then extra"

# ---- columns ---------------------------------------------------------------
printf 'x,y\n1,anna@gmail.com\n2,ben@gmail.com\n' > noname.csv
run 0 "email column found by content" "$bin" verify --offline --quiet -i noname.csv -o nn.csv
sed -n 2p nn.csv | grep -q '^1,anna@gmail.com,unknown,unverified'; ok $? "content detection picked column 2"
printf 'work,home\nanna@gmail.com,anna@yahoo.com\n' > two.csv
run 0 "--column by name" "$bin" verify --offline --quiet -i two.csv -o two.out.csv --column HOME
run 0 "--column by number" "$bin" verify --offline --quiet -i two.csv -o two.out2.csv --column 2
cmp -s two.out.csv two.out2.csv; ok $? "--column home and --column 2 agree"
printf 'a,b\n1,2\n3,4\n' > none.csv
run 3 "no email column" "$bin" verify --offline -i none.csv -o none.out.csv
grep -q "no email column" err && [ ! -e none.out.csv ] && [ ! -e none.out.csv.bcstate ]; ok $? "a clear message, no output, no state left"
run 3 "--column that does not exist" "$bin" verify --offline -i two.csv -o x.csv --column office
grep -q "office" err; ok $? "the message names the missing column"

# ---- bad input ---------------------------------------------------------------
run 3 "a file that does not exist" "$bin" verify --offline -i nosuch.csv -o x.csv
grep -q "nosuch.csv" err; ok $? "the message names the file"
printf '\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00' > img.csv
run 3 "binary data" "$bin" verify --offline -i img.csv -o x.csv
grep -qi "binary" err; ok $? "binary input is called binary"
printf '\xff\xfee\x00m\x00a\x00i\x00l\x00\n\x00' > u16.csv
run 3 "UTF-16 input" "$bin" verify --offline -i u16.csv -o x.csv
grep -q "UTF-16" err; ok $? "UTF-16 input is named, with the fix"
{ printf 'email\nanna@gmail.com\nben@gmail.com\n'; head -c 10485760 /dev/zero | tr '\0' 'a'; printf '\ncarl@gmail.com\n'; } > huge.csv
run 3 "a 10 MB line" "$bin" verify --offline -i huge.csv -o huge.out.csv
grep -q "huge.csv:4" err; ok $? "the message names the line (huge.csv:4)"
[ "$(wc -l < huge.out.csv)" = 3 ]; ok $? "the rows before it are verified and written"
printf 'email,name\nanna@gmail.com,J\xc3\xb6rg\nben@gmail.com,J\xf6rg\n' > latin.csv
run 0 "invalid UTF-8 in a cell" "$bin" verify --offline -i latin.csv -o latin.out.csv
grep -q "latin.csv:3" err; ok $? "a warning names the line with invalid UTF-8"
grep -q $'J\xf6rg' latin.out.csv; ok $? "the cell is kept byte for byte in CSV"
: > empty.csv
run 0 "an empty file" "$bin" verify --offline --quiet -i empty.csv -o empty.out.csv
[ -f empty.out.csv ] && [ ! -s empty.out.csv ]; ok $? "an empty file gives an empty output"
run 2 "-i with addresses on the command line" "$bin" verify --offline -i a.csv x@y.com
run 2 "-o without -i" "$bin" verify --offline -o x.csv x@y.com
run 2 "--format text" "$bin" verify --offline -i a.csv --format text
run 2 "the output is the input" "$bin" verify --offline -i a.csv -o ./a.csv

# ---- state and resume ---------------------------------------------------------
# A list big enough to interrupt: 300,000 rows, a third of them duplicates.
$py - <<'EOF'
import random
rng = random.Random(7)
doms = ["gmail.com", "yahoo.com", "example-shop.de", "mailinator.com", "gmial.com", "acme.io"]
with open("big.csv", "w") as f:
    f.write("id,email,city\n")
    for i in range(300000):
        k = rng.randrange(200000)
        f.write(f"{i},user{k}@{doms[k % len(doms)]},\"City, {i % 97}\"\n")
EOF
run 0 "uninterrupted run of 300,000 rows" "$bin" verify --offline --quiet -i big.csv -o ref.csv
# state_phase FILE: prints "rows_read read_done addrs_done" of a state file.
state_phase() {
  $py - "$1" <<'EOF' 2>/dev/null
import sqlite3, sys
try:
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=1)
    m = dict(db.execute("SELECT k, v FROM meta"))
    d = db.execute("SELECT count(*) FROM results").fetchone()[0]
    print(m.get("rows_read", 0), m.get("read_done", 0), d)
except Exception:
    print("0 0 0")
EOF
}
# interrupt SIGNAL WHEN: starts the run, sends SIGNAL once the state shows
# WHEN (read = rows committed, verify = results committed), then resumes.
interrupt() {
  local sig=$1 when=$2 i r rd d
  rm -f res.csv res.csv.bcstate*
  "$bin" verify --offline --quiet -i big.csv -o res.csv >/dev/null 2>err.int &
  local pid=$!
  for ((i = 0; i < 2000; i++)); do
    read -r r rd d < <(state_phase res.csv.bcstate)
    if [ "$when" = read ] && [ "${r:-0}" -gt 0 ] && [ "${rd:-0}" = 0 ]; then break; fi
    if [ "$when" = verify ] && [ "${d:-0}" -gt 0 ]; then break; fi
    kill -0 $pid 2>/dev/null || break
    sleep 0.01
  done
  kill -"$sig" $pid 2>/dev/null
  { wait $pid; } 2>/dev/null; local rc=$?
  [ ! -e res.csv ] && [ -e res.csv.bcstate ]; ok $? "$sig during $when (exit $rc; read $r, verified $d): no output yet, the state is kept"
  if [ "$sig" = INT ]; then
    [ "$rc" = 130 ] && grep -q -- "--resume" err.int; ok $? "Ctrl-C exits 130 and says how to go on"
  fi
  run 2 "the same command without --resume refuses to start over" "$bin" verify --offline --quiet -i big.csv -o res.csv
  run 0 "--resume after $sig during $when" "$bin" verify --offline --quiet -i big.csv -o res.csv --resume
  cmp -s res.csv ref.csv; ok $? "the resumed output is identical to the uninterrupted run"
  [ ! -e res.csv.bcstate ]; ok $? "the state is removed once the job is complete"
}
interrupt KILL read
interrupt KILL verify
interrupt INT verify
run 0 "--resume with nothing to resume starts afresh" "$bin" verify --offline -i a.csv -o fresh.csv --resume
cmp -s fresh.csv out.csv; ok $? "and gives the same output"
run 0 "an explicit --state is kept" "$bin" verify --offline --quiet -i a.csv -o kept.csv --state job.db
[ -e job.db ]; ok $? "job.db is still there"
run 0 "--resume of a complete job rewrites the output" "$bin" verify --offline --quiet -i a.csv -o kept.csv --state job.db --resume
cmp -s kept.csv out.csv; ok $? "identical output"
run 2 "a state from another job is refused" "$bin" verify --offline --quiet -i two.csv -o kept.csv --state job.db --resume
grep -q "another job" err; ok $? "the message says so"

# ---- XLSX input: the first worksheet, read as CSV ------------------------------
# Written like Excel does: the shared strings after the sheet; the email column
# is B ("Email"); row 3 is skipped and column C left empty in row 4.
$py - <<'PYEOF'
import zipfile
ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
rel = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships'
parts = [
  ("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
  ("xl/workbook.xml", '<workbook %s xmlns:r="%s"><sheets><sheet name="Leads" sheetId="1" r:id="rId1"/>'
                      '<sheet name="Other" sheetId="2" r:id="rId2"/></sheets></workbook>' % (ns, rel)),
  ("xl/_rels/workbook.xml.rels",
   '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
   '<Relationship Id="rId1" Type="%s/worksheet" Target="worksheets/sheet1.xml"/>'
   '<Relationship Id="rId2" Type="%s/worksheet" Target="worksheets/sheet2.xml"/></Relationships>' % (rel, rel)),
  ("xl/worksheets/sheet1.xml",
   '<worksheet %s><sheetData>'
   '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
   '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2"><v>12.5</v></c></row>'
   '<row r="4"><c r="A4" t="inlineStr"><is><t>Bob</t></is></c>'
   '<c r="B4" t="inlineStr"><is><t>bob@mailinator.com</t></is></c></row>'
   '<row r="5"><c r="A5" t="s"><v>5</v></c><c r="B5" t="s"><v>6</v></c><c r="C5" t="b"><v>1</v></c></row>'
   '</sheetData></worksheet>' % ns),
  ("xl/worksheets/sheet2.xml", '<worksheet %s><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
                               'wrong@sheet.example</t></is></c></row></sheetData></worksheet>' % ns),
  ("xl/sharedStrings.xml",
   '<sst %s><si><t>Name</t></si><si><t>Email</t></si><si><t>Spend</t></si><si><t>Doe, Jane</t></si>'
   '<si><t>jane.doe@gmail.com</t></si><si><t>Junk</t></si><si><t>not an address</t></si></sst>' % ns),
]
with zipfile.ZipFile("list.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
    for name, data in parts:
        z.writestr(name, data)
with zipfile.ZipFile("notbook.xlsx", "w") as z:
    z.writestr("content.xml", "<office:document-content/>")
PYEOF
run 0 "verify -i list.xlsx -o out.csv" "$bin" verify --offline --quiet -i list.xlsx -o xl.csv
pycheck "XLSX: the first sheet's rows, in order, with the result columns" '
import csv, sys
rows = list(csv.reader(open("xl.csv", newline="", encoding="utf-8-sig")))
assert rows[0] == ["Name", "Email", "Spend"] + sys.argv[1].split(","), rows[0]
body = [r[:5] for r in rows[1:]]
assert body == [["Doe, Jane", "jane.doe@gmail.com", "12.5", "unknown", "unverified"],
                ["Bob", "bob@mailinator.com", "", "risky", "disposable"],
                ["Junk", "not an address", "TRUE", "undeliverable", "invalid_syntax"]], body
' "$RESCOLS"
run 0 "an .xlsx on standard input (found by its zip signature)" "$bin" verify --offline --quiet -i - < list.xlsx
cmp -s out xl.csv; ok $? "XLSX: standard input gives the same output as the file"
run 3 "a zip that is not a workbook" "$bin" verify --offline -i notbook.xlsx -o x.csv
grep -q "notbook.xlsx: a zip archive but not an .xlsx workbook" err; ok $? "the message says it is not a workbook"
printf '\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0' > old.xls
run 3 "an Excel 97-2003 .xls" "$bin" verify --offline -i old.xls -o x.csv
grep -q "old.xls: an Excel 97-2003 .xls or an encrypted workbook: save it as .xlsx or CSV" err; ok $? "the message says to save it as .xlsx or CSV"
head -c 300 list.xlsx > cut.xlsx
run 3 "a truncated .xlsx" "$bin" verify --offline -i cut.xlsx -o x.csv
grep -q "cut.xlsx: damaged or truncated" err; ok $? "the message says damaged or truncated"

echo "1..$n"
[ $failed = 0 ]

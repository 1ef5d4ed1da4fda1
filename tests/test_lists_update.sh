#!/usr/bin/env bash
# test_lists_update.sh BOUNCECHECK - `bouncecheck lists update` against a fake
# npm registry served from a temporary directory on 127.0.0.1.
#
# The fake packages carry small lists with upper case, IDN, duplicates, junk
# and a disposable domain that is also in the free list; the test checks the
# exact normalised files, sources.json, the licences, and that integrity
# mismatches, missing packages, garbage and malformed JavaScript fail with
# the documented exit codes and leave the previous data untouched. Prints TAP.
set -u

bin=${1:?usage: test_lists_update.sh path/to/bouncecheck}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bc-lists-update.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
export BOUNCECHECK_DATA_DIR="$tmp/unused-default"
unset BOUNCECHECK_NPM_REGISTRY

n=0
failed=0
# check DESCRIPTION COMMAND...: one TAP line for the command's success.
check() {
  local desc=$1
  shift
  n=$((n + 1))
  if "$@"; then
    echo "ok $n - $desc"
  else
    echo "not ok $n - $desc"
    failed=$((failed + 1))
  fi
}
# same FILE EXPECTED-TEXT: the file's bytes equal the text plus a newline.
same() {
  if [[ "$(cat "$1")" == "$2" ]] && [[ "$(tail -c1 "$1" | od -An -c | tr -d ' ')" == '\n' ]]; then
    return 0
  fi
  diff <(printf '%s\n' "$2") "$1" | sed 's/^/# /'
  return 1
}
# sums DIR: checksums of every file in DIR (to prove it did not change).
sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs sha256sum); }

www="$tmp/www"
mkdir -p "$www"

# --- the fake packages ------------------------------------------------------
pk="$tmp/pkgs"
# mkpkg NAME VERSION: tars $pk/NAME-VERSION/package into $www/tarballs/.
mkpkg() {
  mkdir -p "$www/tarballs"
  tar czf "$www/tarballs/$1-$2.tgz" -C "$pk/$1-$2" package
}

d="$pk/disposable-email-domains-js-1.26.0/package"
mkdir -p "$d/dist/dict"
cat >"$d/dist/dict/disposable_email_blocklist.json" <<'EOF'
["Mailinator.COM", "  trashmail.de ", "*.wildcard.example", ".leading.example",
 "trailing.example.", "Straße.de", "BÜCHER.example", "mailinator.com",
 "not a domain", "", "single", "1.2.3.4", "-bad.com", "under_score.com", 42,
 "xn--o38h.example", "a..b.com"]
EOF
echo '{"name":"disposable-email-domains-js","version":"1.26.0","license":"CC0-1.0"}' >"$d/package.json"
echo "CC0 licence text of the fake disposable package" >"$d/LICENSE"
mkpkg disposable-email-domains-js 1.26.0

# A newer "latest" version of the same package, for runs without --pinned.
d="$pk/disposable-email-domains-js-9.9.9/package"
mkdir -p "$d/dist/dict"
echo '["newer.example", "mailinator.com", "trashmail.de"]' >"$d/dist/dict/disposable_email_blocklist.json"
echo '{"name":"disposable-email-domains-js","version":"9.9.9","license":"CC0-1.0"}' >"$d/package.json"
echo "CC0 licence text, newer" >"$d/LICENSE"
mkpkg disposable-email-domains-js 9.9.9

d="$pk/fakefilter-0.1.1476/package"
mkdir -p "$d/json"
cat >"$d/json/data.json" <<'EOF'
{"version": 1, "t": 1700000000, "domains": {
  "fakemail.net": {"provider": "x", "firstseen": 1, "lastseen": 2},
  "TEMP-Mail.org": {"provider": "y"},
  "mailinator.com": {},
  "bad..dots.com": {}}}
EOF
echo '{"name":"fakefilter","version":"0.1.1476","license":"BSD-3-Clause"}' >"$d/package.json"
echo "BSD licence text of the fake fakefilter" >"$d/LICENSE.md"
mkpkg fakefilter 0.1.1476

d="$pk/email-providers-2.26.0/package"
mkdir -p "$d"
cat >"$d/all.json" <<'EOF'
["gmail.com", "Yahoo.com", "mailinator.com", "sub.trashmail.de", "outlook.com",
 "gmail.com", "user@bad.com", "Gmx.DE", "web.de.", "nottrashmail.de"]
EOF
echo '{"name":"email-providers","version":"2.26.0","license":"ISC"}' >"$d/package.json"
echo "ISC licence text of the fake email-providers" >"$d/license.md"
mkpkg email-providers 2.26.0

d="$pk/role-based-email-addresses-3.1.0/package"
mkdir -p "$d/src"
cat >"$d/src/index.js" <<'EOF'
// fake role list
const MARKETING = [
  'Sales',
  'newsletter',
];

const NOTIFICATION = [ "admin", 'alerts', 'abuse', 'newsletter' ];
/* a block
   comment */
const OTHER = [
  'postmaster',
  'ceo',
  'hello', // a line comment
  'bad local',
  'x..y',
];

// Export arrays
module.exports = [...MARKETING, ...NOTIFICATION, ...OTHER];
module.exports.OTHER = OTHER;
EOF
echo '{"name":"role-based-email-addresses","version":"3.1.0","license":"MIT"}' >"$d/package.json"
echo "MIT licence text of the fake role package" >"$d/LICENSE"
mkpkg role-based-email-addresses 3.1.0

# The same role package with a JavaScript shape the scanner must refuse.
d="$pk/role-bad-3.1.0/package"
mkdir -p "$d/src"
cp "$pk/role-based-email-addresses-3.1.0/package/LICENSE" "$pk/role-based-email-addresses-3.1.0/package/package.json" "$d/"
printf "const OTHER = [\n  'ceo',\n  someVariable,\n];\n" >"$d/src/index.js"
mkpkg role-bad 3.1.0

# --- the registry -------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

# registry DIR SPEC...: writes packuments into $www/DIR. Each SPEC is
# NAME=TARBALL[,TARBALL...] (tarball stems under tarballs/, the last one is
# dist-tags.latest) or NAME=@garbage (a non-JSON answer). Options per
# tarball: "stem!badhash" publishes a wrong integrity.
registry() {
  local dir=$1
  shift
  mkdir -p "$www/$dir"
  python3 - "$www" "$dir" "$base" "$@" <<'EOF'
import base64, hashlib, json, os, sys
www, rdir, base, specs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
for spec in specs:
    name, rest = spec.split("=", 1)
    path = os.path.join(www, rdir, name)
    if rest == "@garbage":
        with open(path, "w") as f:
            f.write("<html>this is not a packument</html>\n")
        continue
    versions, latest = {}, None
    for item in rest.split(","):
        stem, _, opt = item.partition("!")
        version = stem.rsplit("-", 1)[1]
        data = open(os.path.join(www, "tarballs", stem + ".tgz"), "rb").read()
        if opt == "badhash":
            data += b"tampered"
        integ = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        versions[version] = {"name": name, "version": version,
                             "dist": {"tarball": f"{base}/tarballs/{stem}.tgz",
                                      "integrity": integ,
                                      "shasum": hashlib.sha1(data).hexdigest()}}
        latest = version
    with open(path, "w") as f:
        json.dump({"name": name, "dist-tags": {"latest": latest}, "versions": versions}, f)
EOF
}

D=disposable-email-domains-js-1.26.0
F=fakefilter-0.1.1476
E=email-providers-2.26.0
R=role-based-email-addresses-3.1.0
registry good disposable-email-domains-js=$D,disposable-email-domains-js-9.9.9 \
  fakefilter=$F email-providers=$E role-based-email-addresses=$R
registry badint disposable-email-domains-js=$D fakefilter="$F!badhash" \
  email-providers=$E role-based-email-addresses=$R
registry missing disposable-email-domains-js=$D email-providers=$E role-based-email-addresses=$R
registry badjs disposable-email-domains-js=$D fakefilter=$F email-providers=$E \
  role-based-email-addresses=role-bad-3.1.0
registry garbage disposable-email-domains-js=$D fakefilter=$F email-providers=@garbage \
  role-based-email-addresses=$R

python3 -m http.server --bind 127.0.0.1 --directory "$www" "$port" >"$tmp/http.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done

# --- a successful update --------------------------------------------------------
out="$tmp/data/nested/dir"   # does not exist yet: update creates it
"$bin" lists update --pinned --registry "$base/good/" --data-dir "$out" \
  >"$tmp/up.out" 2>"$tmp/up.err"
rc=$?
check "update from the fake registry exits 0 (rc=$rc)" test "$rc" -eq 0
[[ $rc -eq 0 ]] || sed 's/^/# /' "$tmp/up.err"

check "disposable.txt: normalised (case, *., dots, IDNA non-transitional), sorted, unique" \
  same "$out/disposable.txt" "fakemail.net
leading.example
mailinator.com
temp-mail.org
trailing.example
trashmail.de
wildcard.example
xn--bcher-kva.example
xn--strae-oqa.de"

check "free.txt: normalised, disposable domains and their subdomains removed" \
  same "$out/free.txt" "gmail.com
gmx.de
nottrashmail.de
outlook.com
web.de
yahoo.com"

role_expected=$(printf '%s\n' \
  'abuse	abuse' 'accounts	billing' 'admin	admin' 'administrator	admin' \
  'alerts	notification' 'billing	billing' 'careers	hr' 'ceo	other' 'contact	info' \
  'do-not-reply	noreply' 'donotreply	noreply' 'enquiries	info' 'hello	info' \
  'help	support' 'helpdesk	support' 'hostmaster	technical' 'hr	hr' 'info	info' \
  'invoices	billing' 'jobs	hr' 'mailer-daemon	postmaster' 'newsletter	marketing' \
  'no-reply	noreply' 'noc	technical' 'noreply	noreply' 'postmaster	postmaster' \
  'root	admin' 'sales	sales' 'security	security' 'support	support' \
  'sysadmin	admin' 'webmaster	technical' | LC_ALL=C sort)
check "role.tsv: arrays scanned, categories refined, junk dropped, sorted" \
  same "$out/role.tsv" "$role_expected"

for f in disposable.txt free.txt role.tsv; do
  check "$f is sorted bytewise and unique" bash -c "LC_ALL=C sort -u -c '$out/$f'"
done

# sources.json: counts, versions, integrity of the served tarballs, licences.
check_sources() {
  python3 - "$1" "$www/tarballs" "$2" <<'EOF'
import base64, hashlib, json, re, sys
path, tdir, dver = sys.argv[1], sys.argv[2], sys.argv[3]
doc = json.load(open(path))
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["generated_at"]), doc["generated_at"]
expect = {"disposable": [("disposable-email-domains-js", dver, "CC0-1.0"),
                         ("fakefilter", "0.1.1476", "BSD-3-Clause")],
          "free": [("email-providers", "2.26.0", "ISC")],
          "role": [("role-based-email-addresses", "3.1.0", "MIT")]}
assert sorted(doc["lists"]) == sorted(expect), doc["lists"].keys()
d = path.rsplit("/", 1)[0]
files = {"disposable": "disposable.txt", "free": "free.txt", "role": "role.tsv"}
for lst, srcs in expect.items():
    entry = doc["lists"][lst]
    n = sum(1 for _ in open(f"{d}/{files[lst]}"))
    assert entry["count"] == n, (lst, entry["count"], n)
    got = [(s["package"], s["version"], s["license"]) for s in entry["sources"]]
    assert got == srcs, (lst, got)
    for s in entry["sources"]:
        data = open(f"{tdir}/{s['package']}-{s['version']}.tgz", "rb").read()
        integ = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        assert s["integrity"] == integ, (s["package"], s["integrity"])
EOF
}
check "sources.json: generated_at, counts, versions, integrity, licences" \
  check_sources "$out/sources.json" 1.26.0
check "LICENSES/ holds each package's licence file verbatim" bash -c "
  cmp -s '$out/LICENSES/disposable-email-domains-js.txt' '$pk/$D/package/LICENSE' &&
  cmp -s '$out/LICENSES/fakefilter.txt' '$pk/$F/package/LICENSE.md' &&
  cmp -s '$out/LICENSES/email-providers.txt' '$pk/$E/package/license.md' &&
  cmp -s '$out/LICENSES/role-based-email-addresses.txt' '$pk/$R/package/LICENSE'"
check "no temporary files left behind" \
  test -z "$(find "$out" -name '.*tmp*' -print)"
check "progress lines name the packages and the integrity check" \
  grep -q "fakefilter@0.1.1476: .*SHA-512 matches" "$tmp/up.err"
check "dropped entries are counted by reason" \
  grep -q "disposable: 9 entries; dropped 10 invalid" "$tmp/up.err"

# `bouncecheck lists` reads the new data (needs the loader, lists.c).
"$bin" lists --json --data-dir "$out" >"$tmp/lists.json" 2>"$tmp/lists.err"
rc=$?
check "lists --json exits 0 (rc=$rc)" test "$rc" -eq 0
check_listing() {
  python3 - "$1" "$out" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = {r["name"]: r for r in doc["lists"]}
for name, count in (("disposable", 9), ("free", 6), ("role", 32)):
    r = rows[name]
    assert r["count"] == count, (name, r)
    assert sys.argv[2] in (r["origin"] or ""), (name, r["origin"])
assert "fakefilter@0.1.1476" in rows["disposable"]["source"], rows["disposable"]
assert "BSD-3-Clause" in rows["disposable"]["license"], rows["disposable"]
EOF
}
check "lists --json shows the new counts, sources and origin" check_listing "$tmp/lists.json"
"$bin" lists --data-dir "$out" >"$tmp/lists.txt" 2>&1
check "lists table shows the disposable count and the origin" \
  grep -Eq "^disposable +9 +.*$out" "$tmp/lists.txt"
check "the update printed the new table" grep -Eq "^disposable +9 " "$tmp/up.out"

before=$(sums "$out")

# --- failures leave the previous data untouched ---------------------------------------
"$bin" lists update --pinned --registry "$base/badint" --data-dir "$out" >/dev/null 2>"$tmp/err"
rc=$?
check "integrity mismatch exits 4 (rc=$rc)" test "$rc" -eq 4
check "integrity message names the package" \
  grep -q "^bouncecheck: .*fakefilter@0.1.1476.*does not match" "$tmp/err"
check "integrity mismatch leaves the data unchanged" test "$(sums "$out")" == "$before"

"$bin" lists update --pinned --registry "$base/missing" --data-dir "$out" >/dev/null 2>"$tmp/err"
rc=$?
check "a package the registry does not have (404) exits 1 (rc=$rc)" test "$rc" -eq 1
check "404 message names the package and the status" grep -q "^bouncecheck: .*fakefilter.*404" "$tmp/err"
check "404 leaves the data unchanged" test "$(sums "$out")" == "$before"

"$bin" lists update --pinned --registry "$base/badjs" --data-dir "$out" >/dev/null 2>"$tmp/err"
rc=$?
check "malformed role JavaScript exits 1 (rc=$rc)" test "$rc" -eq 1
check "malformed JavaScript message names the package" \
  grep -q "^bouncecheck: .*role-based-email-addresses@3.1.0.*unrecognised JavaScript" "$tmp/err"
check "malformed JavaScript leaves the data unchanged" test "$(sums "$out")" == "$before"

"$bin" lists update --pinned --registry "$base/garbage" --data-dir "$out" >/dev/null 2>"$tmp/err"
rc=$?
check "a garbage packument exits 1 (rc=$rc)" test "$rc" -eq 1
check "garbage message names the package" grep -q "^bouncecheck: .*email-providers.*packument" "$tmp/err"
check "garbage leaves the data unchanged" test "$(sums "$out")" == "$before"

"$bin" lists update --registry "http://127.0.0.1:1" --data-dir "$out" >/dev/null 2>"$tmp/err"
rc=$?
check "an unreachable registry exits 1 (rc=$rc)" test "$rc" -eq 1
check "unreachable registry leaves the data unchanged" test "$(sums "$out")" == "$before"

# --- latest versions (no --pinned) -------------------------------------------------------
out2="$tmp/latest"
BOUNCECHECK_NPM_REGISTRY="$base/good" "$bin" lists update --quiet --data-dir "$out2" \
  >/dev/null 2>"$tmp/err"
rc=$?
check "update without --pinned (registry from BOUNCECHECK_NPM_REGISTRY) exits 0 (rc=$rc)" \
  test "$rc" -eq 0
check "without --pinned, dist-tags.latest is used" same "$out2/disposable.txt" "fakemail.net
mailinator.com
newer.example
temp-mail.org
trashmail.de"
check "sources.json records the latest version" check_sources "$out2/sources.json" 9.9.9
check "--quiet prints no progress" test ! -s "$tmp/err"

# --- usage errors ---------------------------------------------------------------------------
"$bin" lists update --bogus >/dev/null 2>&1
rc=$?
check "unknown option exits 2 (rc=$rc)" test "$rc" -eq 2
"$bin" lists frobnicate >/dev/null 2>&1
rc=$?
check "unknown lists action exits 2 (rc=$rc)" test "$rc" -eq 2
"$bin" lists update extra-arg --data-dir "$out" >/dev/null 2>&1
rc=$?
check "stray argument exits 2 (rc=$rc)" test "$rc" -eq 2
"$bin" lists update --registry "http://example.invalid" --data-dir "$out" >/dev/null 2>"$tmp/err"
rc=$?
check "plain http to a non-local registry is refused with exit 2 (rc=$rc)" test "$rc" -eq 2
check "... and says why" grep -q "^bouncecheck: .*https" "$tmp/err"
check "usage errors leave the data unchanged" test "$(sums "$out")" == "$before"
"$bin" lists --help >"$tmp/help" 2>&1
check "lists --help documents update and --pinned" grep -q -- "--pinned" "$tmp/help"

echo "1..$n"
[[ $failed -eq 0 ]]

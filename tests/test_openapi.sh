#!/usr/bin/env bash
# test_openapi.sh BOUNCECHECK|BUILDDIR - the OpenAPI document of the HTTP API
# (src/server/openapi.json): it lints clean, real `verify --json` output and
# handmade API objects validate against its schemas, broken objects do not,
# and tests/api/openapi_check.py's response checker accepts documented
# answers and rejects undocumented ones. Prints TAP.
set -u
bin=$1
[ -d "$bin" ] && bin=$bin/bouncecheck
here=$(cd "$(dirname "$0")" && pwd)
root=${BC_SOURCE_ROOT:-$here/..}
doc=$root/src/server/openapi.json
chk=$root/tests/api/openapi_check.py
py=/usr/bin/python3; [ -x $py ] || py=python3
if ! $py -c 'import jsonschema' 2>/dev/null; then
  echo "1..0 # SKIP python3-jsonschema is not installed"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export BOUNCECHECK_DATA_DIR=$tmp/data   # an empty data dir: built-in lists
mkdir -p "$BOUNCECHECK_DATA_DIR"
n=0; failed=0
ok() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed+1)); fi; }
# valid NAME DESC JSON / invalid NAME DESC JSON: JSON must (not) validate.
valid() {
  printf '%s' "$3" | $py "$chk" "$doc" --schema "$1" >"$tmp/out" 2>&1; local rc=$?
  [ $rc = 0 ] || sed 's/^/# /' "$tmp/out"
  ok $rc "$2 validates as $1"
}
invalid() {
  printf '%s' "$3" | $py "$chk" "$doc" --schema "$1" >"$tmp/out" 2>&1; local rc=$?
  [ $rc = 1 ] && [ -s "$tmp/out" ]; ok $? "$2 is rejected by $1 ($(head -c 120 "$tmp/out" | tr '\n' ' '))"
}
# resp WANT(0|1) DESC METHOD PATH STATUS CTYPE BODY: check_response passes (0) or finds problems (1).
resp() {
  local want=$1 desc=$2; shift 2
  printf '%s' "$5" | $py "$chk" "$doc" --response "$1" "$2" "$3" "$4" >"$tmp/out" 2>&1; local rc=$?
  [ $rc != 0 ] && [ "$want" = 0 ] && sed 's/^/# /' "$tmp/out"
  [ $rc = "$want" ]; ok $? "$desc"
}

# --- the document itself
$py -c 'import json,sys; json.load(open(sys.argv[1]))' "$doc"; ok $? "openapi.json is valid JSON"
$py "$chk" "$doc" >"$tmp/out" 2>&1; rc=$?
[ $rc = 0 ] || sed 's/^/# /' "$tmp/out"
ok $rc "lint finds no problems"
$py - "$doc" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["openapi"] == "3.1.0" and d["info"]["version"] == "0.1.0"
s = d["components"]["schemas"]
for n in ("Error", "Result", "Job", "JobList", "JobCreated", "Health"):
    assert n in s, n
for n in ("Error", "Job", "JobList", "JobCreated", "Health", "Result"):
    assert s[n].get("additionalProperties") is False, n
for p in ("/healthz", "/openapi.json"):
    assert d["paths"][p]["get"]["security"] == [], p
assert "security" not in d["paths"]["/metrics"]["get"], "/metrics takes the (admin) key"
assert d["security"] == [{"bearerAuth": []}]
assert d["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
ops = {(m, p) for p, i in d["paths"].items() for m in i if m != "parameters"}
want = {("get", "/v1/verify"), ("post", "/v1/verify"), ("get", "/v1/jobs"), ("post", "/v1/jobs"),
        ("get", "/v1/jobs/{id}"), ("delete", "/v1/jobs/{id}"), ("get", "/v1/jobs/{id}/results"), ("get", "/v1/dns"), ("get", "/v1/doctor"), ("post", "/v1/extract"), ("get", "/v1/disposable"),
        ("post", "/v1/jobs/preview"), ("get", "/v1/smtp-test"), ("get", "/v1/me"), ("get", "/v1/keys"), ("post", "/v1/keys"), ("delete", "/v1/keys/{id}"),
        ("get", "/healthz"), ("get", "/metrics"), ("get", "/openapi.json")}
assert ops == want, ops ^ want
body = d["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]
for t in ("text/csv", "text/tab-separated-values", "text/plain", "application/x-ndjson",
          "application/json", "multipart/form-data"):
    assert t in body, t
assert "file" in body["multipart/form-data"]["schema"]["required"]
# 2-space indentation, as written
text = open(sys.argv[1]).read()
assert text.startswith('{\n  "openapi"'), "not 2-space indented"
PY
ok $? "document has every operation, schema, request type and the security layout"

# lint really checks: a dangling $ref and a schema that does not compile are found
$py - "$doc" "$tmp/bad1.json" "$tmp/bad2.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["components"]["schemas"]["JobList"]["properties"]["jobs"]["items"] = {"$ref": "#/components/schemas/Nope"}
json.dump(d, open(sys.argv[2], "w"))
d = json.load(open(sys.argv[1]))
d["components"]["schemas"]["Health"]["properties"]["status"] = {"type": 5}
json.dump(d, open(sys.argv[3], "w"))
PY
$py "$chk" "$tmp/bad1.json" >"$tmp/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'Nope' "$tmp/out"; ok $? "lint reports a dangling \$ref"
$py "$chk" "$tmp/bad2.json" >"$tmp/out" 2>&1; rc=$?
[ $rc = 1 ] && grep -q 'does not compile' "$tmp/out"; ok $? "lint reports a schema that does not compile"

# --- the reasons of `help verify` are the ones the document allows per status
"$bin" help verify >"$tmp/help" 2>&1
$py - "$doc" "$tmp/help" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
res = d["components"]["schemas"]["Result"]
per = {c["if"]["properties"]["status"]["const"]: set(c["then"]["properties"]["reason"]["enum"])
       for c in res["allOf"]}
text = open(sys.argv[2]).read()
sect = text.split("Statuses and reasons:")[1].split("\n\n")[0]
cur = None
seen = {}
for line in sect.splitlines():
    m = re.match(r"^  (deliverable|undeliverable|risky|unknown)\s+(.*)$", line)
    if m:
        cur, rest = m.group(1), m.group(2)
    else:
        rest = line
    for r in re.findall(r"[a-z0-9_]+", re.sub(r"\(.*?\)", "", rest)):
        seen.setdefault(cur, set()).add(r)
assert set(seen) == set(per), (seen, per)
for s in seen:
    assert seen[s] <= per[s], (s, seen[s] - per[s])
all_reasons = set(d["components"]["schemas"]["Reason"]["enum"])
assert all_reasons == set().union(*per.values())
PY
ok $? "every status/reason pair of 'help verify' is allowed by the Result schema"

# --- real results of `verify --json --offline` (plus "cached") are Results
addrs=(
  'someone@gmail.com'         # valid, free provider
  'bad..dots@example.com'     # invalid syntax
  ''                          # empty: invalid syntax, every part null
  'user@bücher.de'            # IDN
  'x@mailinator.com'          # disposable
  'admin@gmail.com'           # role
  'bob@gmial.com'             # typo suggestion
  'ü@example.com'             # SMTPUTF8 local part, special-use domain
  '"quoted"@example.org'      # quoted string
  'postmaster@[192.0.2.1]'    # address literal
)
for a in "${addrs[@]}"; do
  "$bin" verify --json --offline -- "$a" >"$tmp/r.json" 2>"$tmp/err"; rc=$?
  if [ $rc != 0 ]; then ok 1 "verify --json --offline '$a' (exit $rc)"; continue; fi
  $py -c 'import json,sys; d=json.load(open(sys.argv[1])); d["cached"]=False; print(json.dumps(d))' \
    "$tmp/r.json" >"$tmp/rc.json"
  valid Result "verify --json result of '$a'" "$(cat "$tmp/rc.json")"
done
# the same object without "cached" is not a /v1/verify answer
"$bin" verify --json --offline someone@gmail.com >"$tmp/r.json" 2>/dev/null
invalid Result "a result without cached" "$(cat "$tmp/r.json")"

# a result from an SMTP probe (mx, smtp, transcript filled in)
probe='{"email":"a@mx.test","normalized":"a@mx.test","local":"a","domain":"mx.test","ascii_domain":"mx.test","status":"deliverable","reason":"accepted_email","score":95,"syntax":{"valid":true,"code":"valid","category":"valid","smtputf8":false,"idn":false,"special_use":false},"disposable":false,"role":false,"role_category":null,"free":false,"accept_all":false,"suggestion":null,"mx":[{"host":"mx1.mx.test","preference":10,"addresses":["192.0.2.25","2001:db8::25"]}],"mx_implicit":false,"smtp":{"host":"mx1.mx.test","address":"192.0.2.25","port":25,"tls":true,"code":250,"enhanced":"2.1.5","message":"OK","step":"done","rule":"2xx.accepted","source_address":"198.51.100.7","attempts":1,"ms":120},"provider":null,"duration_ms":180,"transcript":[{"dir":"S","line":"220 mx1.mx.test ESMTP"},{"dir":"C","line":"EHLO me.test"},{"dir":"*","line":"(transcript truncated)"}],"cached":true}'
valid Result "a probed result with mx, smtp and transcript" "$probe"

# --- handmade API objects
job='{"id":"0123456789abcdef0123456789abcdef","name":null,"status":"running","total":3,"processed":1,"counts":{"deliverable":1,"undeliverable":0,"risky":0,"unknown":0},"reasons":{"accepted_email":1},"created_at":"2026-11-29T09:00:00Z","finished_at":null,"error":null,"webhook":null}'
done_job='{"id":"fedcba9876543210fedcba9876543210","name":"march list","status":"done","total":2,"processed":2,"counts":{"deliverable":1,"undeliverable":1,"risky":0,"unknown":0},"reasons":{"accepted_email":1,"rejected_email":1},"created_at":"2026-11-29T08:00:00Z","finished_at":"2026-11-29T08:01:02Z","error":null,"webhook":"https://hooks.example.net/bc"}'
valid Job "a running job" "$job"
valid Job "a finished job" "$done_job"
valid JobList "a list of two jobs" "{\"jobs\":[$done_job,$job]}"
valid JobList "an empty job list" '{"jobs":[]}'
valid JobCreated "a created job" '{"id":"0123456789abcdef0123456789abcdef","status":"queued","total":1000}'
valid Error "an error" '{"error":{"code":"not_found","message":"no such job"}}'
valid Health "the health answer" '{"status":"ok","version":"0.1.0"}'
valid Health "an online server's health, resolver fine" '{"status":"ok","version":"0.1.0","dns":{"ok":true,"checked_at":"2026-11-29T09:00:00Z","error":null}}'
valid Health "a health answer before the first resolver check" '{"status":"ok","version":"0.1.0","dns":{"ok":null,"checked_at":null,"error":null}}'
valid Health "a degraded health (the resolver fails its check)" '{"status":"degraded","version":"0.1.0","dns":{"ok":false,"checked_at":"2026-11-29T09:00:00Z","error":"resolver 10.0.0.1 answers NXDOMAIN for the root zone'"'"'s NS"}}'
valid Health "an --offline server's health" '{"status":"ok","version":"0.1.0","dns":null}'
valid WebhookEvent "a webhook event" "{\"event\":\"job.finished\",\"job\":$done_job}"

# --- broken objects must fail
noStatus=$($py -c 'import json,sys; d=json.loads(sys.argv[1]); del d["status"]; print(json.dumps(d))' "$probe")
invalid Result "a result without status" "$noStatus"
extra=$($py -c 'import json,sys; d=json.loads(sys.argv[1]); d["colour"]="red"; print(json.dumps(d))' "$probe")
invalid Result "a result with an unknown field" "$extra"
mismatch=$($py -c 'import json,sys; d=json.loads(sys.argv[1]); d["reason"]="invalid_syntax"; print(json.dumps(d))' "$probe")
invalid Result "a deliverable result with reason invalid_syntax" "$mismatch"
badStatus=$($py -c 'import json,sys; d=json.loads(sys.argv[1]); d["status"]="maybe"; print(json.dumps(d))' "$probe")
invalid Result "a result with status maybe" "$badStatus"
invalid Job "a job with status bogus" "${job/\"running\"/\"bogus\"}"
invalid Job "a job with a short id" "${job/0123456789abcdef0123456789abcdef/abc}"
invalid Job "a job without counts.risky" "${job/\"risky\":0,/}"
invalid JobList "a job list with a broken job" "{\"jobs\":[${job/\"total\":3/\"total\":\"3\"}]}"
invalid Error "an error with an extra field" '{"error":{"code":"not_found","message":"no such job"},"detail":1}'
invalid Error "an error with an unknown code" '{"error":{"code":"teapot","message":"no"}}'
invalid Health "a health answer with an extra field" '{"status":"ok","version":"0.1.0","uptime":5}'
invalid Health "a health answer whose dns lacks checked_at" '{"status":"ok","version":"0.1.0","dns":{"ok":true,"error":null}}'
invalid Health "a health answer with an unknown status" '{"status":"broken","version":"0.1.0","dns":null}'
invalid JobCreated "a created job that is already done" '{"id":"0123456789abcdef0123456789abcdef","status":"done","total":1}'
doctor='{"ok":false,"checks":[{"name":"ptr","status":"fail","detail":"203.0.113.5 has no PTR record","fix":"Ask for a PTR.","subject":"203.0.113.5"},{"name":"port25","status":"pass","detail":"mx [192.0.2.25]:25 greets with 220 after 9 ms","fix":null}]}'
valid DoctorReport "a doctor report with a subject on ptr and a null fix on a pass" "$doctor"
invalid DoctorReport "a doctor report with an unknown check" "${doctor/\"port25\"/\"smtp\"}"
invalid DoctorReport "a doctor report with an extra top-level field" "${doctor/\"ok\":false,/\"ok\":false,\"helo\":\"x\",}"
invalid DoctorReport "a doctor check without fix" "${doctor/,\"fix\":null/}"

# --- check_response
err404='{"error":{"code":"not_found","message":"no such job"}}'
id=0123456789abcdef0123456789abcdef
resp 0 "GET /v1/verify 200 with a result" GET '/v1/verify?email=a@b.c' 200 'application/json' "$probe"
resp 0 "POST /v1/verify 200, charset parameter tolerated" POST /v1/verify 200 'application/json; charset=utf-8' "$probe"
resp 1 "GET /v1/verify 200 with a job body is rejected" GET /v1/verify 200 application/json "$job"
resp 1 "an undocumented status (418) is rejected" GET /v1/verify 418 application/json "$err404"
resp 1 "an undocumented content type (text/html) is rejected" GET /v1/verify 200 text/html '<p>'
resp 1 "a body that is not JSON is rejected" GET /healthz 200 application/json '{"status":'
resp 0 "GET /v1/jobs/ID 200 matches the template" GET /v1/jobs/$id 200 application/json "$job"
resp 0 "GET /v1/jobs/ID 404 with not_found" GET /v1/jobs/$id 404 application/json "$err404"
resp 1 "a 401 carrying code not_found is rejected" GET /v1/jobs 401 application/json "$err404"
resp 0 "GET /v1/jobs 429 with quota_exceeded" GET /v1/jobs 429 application/json '{"error":{"code":"quota_exceeded","message":"daily quota used up"}}'
resp 0 "DELETE /v1/jobs/ID 204 without a body" DELETE /v1/jobs/$id 204 '' ''
resp 1 "DELETE /v1/jobs/ID 204 with a body is rejected" DELETE /v1/jobs/$id 204 application/json '{}'
resp 0 "POST /v1/jobs 201" POST '/v1/jobs?name=x' 201 application/json "{\"id\":\"$id\",\"status\":\"queued\",\"total\":2}"
resp 0 "an unknown path may answer 404" GET /v2/nothing 404 application/json "$err404"
resp 1 "an unknown path may not answer 200" GET /v2/nothing 200 application/json '{}'
resp 0 "a wrong method may answer 405" PUT /v1/verify 405 application/json '{"error":{"code":"method_not_allowed","message":"use GET or POST"}}'
resp 1 "a wrong method may not answer 200" PUT /v1/verify 200 application/json "$probe"
resp 0 "GET /metrics 200 text/plain; version=0.0.4" GET /metrics 200 'text/plain; version=0.0.4; charset=utf-8' 'bouncecheck_queue_depth 0'
resp 1 "GET /metrics as bare text/plain is rejected" GET /metrics 200 'text/plain' 'x 1'
resp 0 "GET /healthz 200" GET /healthz 200 application/json '{"status":"ok","version":"0.1.0"}'
printf 'email,name\nsomeone@gmail.com,Al\nbad..dots@example.com,"B, C"\n' >"$tmp/list.csv"
for f in ndjson json csv tsv; do
  "$bin" verify --offline --quiet -i "$tmp/list.csv" --format $f >"$tmp/res.$f" 2>"$tmp/err"
done
ct_ndjson='application/x-ndjson'; ct_json='application/json'
ct_csv='text/csv; charset=utf-8'; ct_tsv='text/tab-separated-values; charset=utf-8'
for f in ndjson json csv tsv; do
  ct=ct_$f
  resp 0 "results as $f (real bulk output) match the document" GET "/v1/jobs/$id/results?format=$f" 200 "${!ct}" "$(cat "$tmp/res.$f")
"
done
resp 1 "results as CSV without charset are rejected" GET /v1/jobs/$id/results 200 text/csv "$(cat "$tmp/res.csv")"
resp 1 "NDJSON results with a broken row are rejected" GET /v1/jobs/$id/results 200 application/x-ndjson '{"line":1,"row":[],"result":{"status":"nope"}}
'
resp 0 "results 409 job_not_finished" GET /v1/jobs/$id/results 409 application/json '{"error":{"code":"job_not_finished","message":"the job is still running"}}'

# headers, through the module API
PYTHONPATH=$root/tests/api $py - "$doc" <<'PY'
import sys
from openapi_check import load, check_response
d = load(sys.argv[1])
jid = "0123456789abcdef0123456789abcdef"
body = '{"id":"%s","status":"queued","total":2}' % jid
assert check_response(d, "POST", "/v1/jobs", 201, "application/json", body,
                      headers={"location": "/v1/jobs/" + jid}) == []
p = check_response(d, "POST", "/v1/jobs", 201, "application/json", body, headers={})
assert p and "Location" in p[0], p
p = check_response(d, "GET", "/v1/jobs", 429, "application/json",
                   '{"error":{"code":"rate_limited","message":"slow down"}}', headers={"Retry-After": "soon"})
assert p and "Retry-After" in p[0], p
p = check_response(d, "GET", "/v1/jobs", 401, "application/json",
                   b'{"error":{"code":"unauthorized","message":"no key"}}', headers={})
assert p and "WWW-Authenticate" in p[0], p
assert check_response(d, "GET", "/v1/jobs", 401, "application/json",
                      b'{"error":{"code":"unauthorized","message":"no key"}}',
                      headers={"WWW-Authenticate": "Bearer"}) == []
PY
ok $? "check_response checks the documented headers (Location, Retry-After, WWW-Authenticate)"

echo "1..$n"
[ $failed = 0 ]

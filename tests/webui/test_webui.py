"""test_webui.py BOUNCECHECK STATE - end-to-end tests of the web UI in headless Chromium.

Run by tests/webui/test_webui.sh inside the test world's network namespace
(tests/world/up.sh), after the world came up: starts `bouncecheck serve` on
loopback with the world's engine options, drives Debian's chromium through
chromedriver (tests/webui/browser.py) over every page of the contract
(web/ as served by the binary) and compares what the pages show and save with
the API's answers and with `bouncecheck verify -i` on the same file.
Screenshots of every page and state go to $BC_BUILD_ROOT/test-artifacts/webui/.

Environment (from the wrapper): BC_ENGINE_ARGS (engine options for the server
and the CLI alike), BC_TAP_START (number of TAP lines already printed),
BC_AXE_JS (path of axe.min.js) or BC_AXE_SKIP (why the accessibility checks
are skipped), BC_AXE_VERSION.
"""

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)
from apitest import Server, Tap, q  # noqa: E402
from browser import Browser  # noqa: E402
from selenium.common.exceptions import NoAlertPresentException, WebDriverException  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

bin_path, state = sys.argv[1:3]
engine = os.environ["BC_ENGINE_ARGS"].split()
tap = Tap()
tap.n = int(os.environ.get("BC_TAP_START", "0"))
build_root = os.environ.get("BC_BUILD_ROOT") or os.path.dirname(os.path.abspath(bin_path))
shots = os.path.join(build_root, "test-artifacts", "webui")
shutil.rmtree(shots, ignore_errors=True)
os.makedirs(shots, exist_ok=True)
print(f"# screenshots in {shots}", flush=True)

STATUSES = ("deliverable", "undeliverable", "risky", "unknown")
NAV = [  # nav name, hash, an element that only that page has (None: its heading)
    ("verify", "#/verify", "#verify-email"),
    ("bulk", "#/bulk", "#bulk-file"),
    ("jobs", "#/jobs", None),
    ("disposable", "#/tools/disposable", "#disposable-input"),
    ("extract", "#/tools/extract", "#extract-text"),
    ("dns", "#/tools/dns", "#dns-domain"),
    ("smtp", "#/tools/smtp", "#smtp-host"),
    ("keys", "#/keys", None),
    ("docs", "#/docs", "#api-docs"),
]
SECTIONS = ("mx", "spf", "dmarc", "dkim", "blocklists", "mta_sts", "tls_rpt", "bimi", "dnssec")

axe_js = None
axe_skip = os.environ.get("BC_AXE_SKIP") or None
if not axe_skip:
    try:
        with open(os.environ.get("BC_AXE_JS", ""), encoding="utf-8") as f:
            axe_js = f.read()
    except OSError as e:
        axe_skip = f"axe-core is not available: {e}"
axe_results = []        # (state name, violations or an error string)
servers = []
br = None


def finish():
    if br is not None:
        br.quit()
    for s_ in servers:
        s_.stop()
    sys.exit(tap.done())


def step(name):
    """A screenshot at the current size; the name says desktop or phone."""
    br.shot(name + ("-phone" if br.phone else ""))


def axe_check(name):
    """Runs axe-core on the page as it is now; the verdict is printed with
    the accessibility checks at the end."""
    if axe_js is None:
        return
    try:
        axe_results.append((name, br.axe(axe_js)))
    except WebDriverException as e:
        axe_results.append((name, f"axe could not run: {str(e)[:300]}"))


def page_problems(since, allow=()):
    """The console errors and CSP violations of the page since the log
    position `since` (an index into br.log), and the watch script's."""
    br.drain_log()
    w = br.watched()
    return br.problems(br.log[since:], allow) + [f"CSP: {c}" for c in w.get("csp", [])] + \
        [e for e in w.get("errors", []) if not any(a in e for a in allow)]


def go(nav, hash_, marker, base):
    """Opens a page through its nav link; returns (heading, error)."""
    link = br.q(f'a[data-nav="{nav}"]')
    if link is None:
        return "", f'no a[data-nav="{nav}"] in the page'
    # Marks the page shown now: the new page's first element will not carry it.
    br.js("var f = document.querySelector('#page'); if (f && f.firstElementChild) f.firstElementChild.__bcOld = 1;")
    if br.hash() == hash_:
        br.get(base + "/" + hash_)
    else:
        link.click()
    ok = br.wait(lambda: br.hash() == hash_, 10)
    if not ok:
        return "", f"the hash is {br.hash()!r} after clicking the {nav} link, not {hash_!r}"
    if marker:
        got = br.wait(lambda: br.q(marker) is not None and not br.busy() and br.heading(), 20)
    else:
        got = br.wait(lambda: not br.busy() and br.heading() and br.js(
            "var f = document.querySelector('#page');"
            "return !!(f && f.firstElementChild && !f.firstElementChild.__bcOld);"),
            20)
    if not got:
        return br.heading(), f"{marker or 'a new heading'} did not appear (heading {br.heading()!r})"
    return br.heading(), None


def settle(css, old_html, timeout=120):
    """Waits until the element css exists, differs from old_html (its outer
    HTML before the action) and nothing is busy; returns True when it did."""
    return bool(br.wait(lambda: not br.busy() and br.js(
        "var e = document.querySelector(arguments[0]); return !!e && e.outerHTML !== arguments[1];",
        css, old_html or ""), timeout))


def outer(css):
    return br.js("var e = document.querySelector(arguments[0]); return e ? e.outerHTML : '';", css) or ""


def verify_in_ui(addr, timeout=120):
    """Types addr into the Verify page and submits; returns True when a new
    #verify-result appeared."""
    old = outer("#verify-result")
    br.fill("#verify-email", addr)
    br.click("#verify-submit")
    return settle("#verify-result", old, timeout)


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def legend_counts(css):
    """{status: number} read from the visible legend of the chart css: each
    legend item names a status (data-status, or its label) and shows a number."""
    items = br.js("""
        var out = [];
        for (const li of document.querySelectorAll(arguments[0] + ' li')) {
          var c = li.querySelector('.legend-count');
          out.push([li.getAttribute('data-status') || '', li.innerText, c ? c.innerText : '']);
        }
        return out;""", css) or []
    got = {}
    for st, text, cnt in items:
        if not st:
            st = next((x for x in STATUSES if re.search(r"\b" + x + r"\b", text, re.I)), "")
        m = re.search(r"\d[\d,.\u202f\u00a0]*", cnt or text)
        if st and m:
            got[st] = int(re.sub(r"\D", "", m.group(0)))
    return got, [t for _, t, _ in items]


def gen_list(path):
    """~300 rows over the world's domains: every verdict class it answers
    quickly, a few slow ones (the latency proxy) so that progress shows,
    disposable rows (risky, but removed by the cleaning rule)."""
    import random
    rng = random.Random(20261129)
    users = ["alice", "bob", "carol", "sink", "info"]
    doms = ["bclab-ok.net", "bclab-backup.net", "bclab-implicit.net", "gmail.com"]
    rows = []
    for i in range(300):
        r = rng.random()
        if r < 0.25:
            a = f"{rng.choice(users)}@{rng.choice(doms)}"
        elif r < 0.6:
            a = f"n{rng.randrange(10 ** 6)}@{rng.choice(doms)}"
        elif r < 0.68:
            a = f"u{rng.randrange(1000)}@bclab-catchall.net"
        elif r < 0.72:
            a = f"u{i}@bclab-nullmx.net"
        elif r < 0.76:
            a = f"u{i}@bclab-nomail.net"
        elif r < 0.82:
            a = f"u{i}@bclab-slow.net"
        elif r < 0.88:
            a = f"temp{i}@{disposable_domain}"
        elif r < 0.91:
            a = rng.choice(["plainaddress", "two@@bclab-ok.net", "carol@"])
        elif r < 0.95:
            a = "full@bclab-ok.net"
        else:
            a = "disabled@bclab-ok.net"
        rows.append([rng.choice(["Doe, Jane", 'Bob "B" Builder', "Ørjan", "x"]), a])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        w.writerow(["name", "email"])
        w.writerows(rows)
    return len(rows)


def first_disposable():
    src = os.environ.get("BC_SOURCE_ROOT") or os.path.join(HERE, "..", "..")
    with open(os.path.join(src, "data", "disposable.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            # one that the world's DNS does not serve: the verdict needs no network
            if line and not line.startswith("#") and not line.endswith((".net", ".com")):
                return line
    return "mailinator.org"


disposable_domain = first_disposable()

# ---- the server and the browser --------------------------------------------------
s = Server(bin_path, state, args=engine, data=os.path.join(state, "ui-data"), name="ui-server")
servers.append(s)
err = s.start(wait=60)
tap.ok(err is None, "the server starts in the world namespace and answers /healthz", err)
if err:
    finish()
base = s.base
r = s.req("GET", "/", check=False)
csp = r.header("content-security-policy", "")
tap.ok(r.status == 200 and "text/html" in r.content_type and "script-src 'self'" in csp
       and "default-src 'none'" in csp, "GET / serves the UI shell with the strict CSP header",
       [r.short()[:200], f"CSP: {csp!r}"])

br = Browser(state, shots)
try:
    br.start()
    started = None
except WebDriverException as e:
    started = str(e)[:800]
tap.ok(started is None, "headless chromium starts through chromedriver in the namespace", started)
if started:
    br = None
    finish()


# ---- 1. the shell and every page ----------------------------------------------
def section_shell():
    mark = len(br.log)
    br.get(base + "/")
    br.wait(lambda: br.q("#verify-email") is not None and br.heading(), 20)
    time.sleep(0.5)
    step("00-shell")
    probs = page_problems(mark)
    tap.ok(br.heading() != "" and not probs, "1. the UI shell loads at / (a heading in main) with no console "
           "errors and no CSP violations", [f"heading {br.heading()!r}"] + probs)
    axe_check("shell")
    mark = len(br.log)
    for i, (nav, hash_, marker) in enumerate(NAV):
        heading, e = go(nav, hash_, marker, base)
        time.sleep(0.3)
        step(f"01-page-{i + 1}-{nav}")
        tap.ok(e is None and heading, f"1. the {nav} page ({hash_}) renders: heading {heading!r}", e)
        axe_check(f"page {nav}")
    probs = page_problems(mark)
    tap.ok(not probs, "1. no console errors or CSP violations while visiting every page", probs)


# ---- 2. verify -----------------------------------------------------------------------
def section_verify():
    mark = len(br.log)
    go("verify", "#/verify", "#verify-email", base)
    cases = [("alice@bclab-ok.net", "deliverable", "02-verify-deliverable"),
             ("nosuchuser9@bclab-ok.net", "undeliverable", "02-verify-undeliverable")]
    for addr, want, shot in cases:
        done = verify_in_ui(addr)
        st = br.attr("#verify-result", "data-status")
        reason = br.text("#verify-reason").strip()
        word = br.text("#verify-status").strip()
        step(shot)
        tap.ok(done and st == want and reason and word,
               f"2. verify {addr}: #verify-result[data-status={want}] with the status word and a reason",
               [f"result appeared: {done}, data-status {st!r}, status {word!r}, reason {reason!r}",
                br.text("#error")])
        if want == "deliverable":
            axe_check("verify result")
            api = s.req("GET", "/v1/verify?email=" + q(addr), timeout=120, check=False).json() or {}
            smtp = api.get("smtp") or {}
            flags = [e.get_attribute("data-flag") for e in br.qa("#verify-flags span.flag")]
            tap.ok(flags == [], f"2. {addr} shows no flag (none is true)", flags)
            summary = br.q("details#verify-technical > summary")
            if summary is not None:
                br.js("arguments[0].scrollIntoView({block: 'center'});", summary)
                summary.click()
            opened = br.wait(lambda: br.attr("details#verify-technical", "open") is not None, 5)
            tech = br.text("details#verify-technical")
            want_reply = [str(smtp.get("code", "")), smtp.get("message") or ""]
            step("02-verify-technical")
            tap.ok(summary is not None and opened and all(w and w in tech for w in want_reply),
                   "2. the technical details open and show the SMTP reply "
                   f"({smtp.get('code')} {smtp.get('message')!r}) and the MX host",
                   [f"open: {opened}", tech[:600]] if tech else "no details#verify-technical")
            tap.ok("mx.bclab-ok.net" in tech, "2. the technical details list the MX host mx.bclab-ok.net", tech[:400])
            # The conversation, on request (?trace=1): RCPT TO and the 250, never DATA.
            clicked = br.click("#verify-trace")
            shown = br.wait(lambda: "RCPT TO:<alice@bclab-ok.net>" in br.text("#verify-transcript"), 60)
            conv = br.text("#verify-transcript")
            step("02-verify-transcript")
            tap.ok(clicked and shown and "S: 250" in conv and "DATA" not in conv,
                   "2. 'Show the conversation' shows the SMTP transcript (RCPT TO, 250, never DATA)",
                   [f"clicked: {clicked}", conv[:800], br.text("#error")])
    done = verify_in_ui("info@bclab-ok.net")
    flags = [e.get_attribute("data-flag") for e in br.qa("#verify-flags span.flag")]
    tap.ok(done and flags == ["role"], "2. info@bclab-ok.net: span.flag[data-flag=role] and no other flag", flags)
    # A typo: the suggestion, then the fix verified.
    done = verify_in_ui("someone@gmial.com")
    sugg = br.text("#verify-suggestion")
    step("02-verify-suggestion")
    tap.ok(done and br.visible("#verify-suggestion") and "someone@gmail.com" in sugg,
           "2. a typo domain (someone@gmial.com) shows #verify-suggestion with someone@gmail.com",
           [f"result appeared: {done}, suggestion {sugg!r}", br.text("#verify-result")[:300]])
    if br.q("#verify-suggestion") is not None:
        old = outer("#verify-result")
        br.click("#verify-suggestion")
        changed = settle("#verify-result", old)
        val = br.q("#verify-email").get_attribute("value")
        addr_shown = br.text("#verify-result")
        st = br.attr("#verify-result", "data-status")
        step("02-verify-suggestion-followed")
        tap.ok(changed and val == "someone@gmail.com" and "someone@gmail.com" in addr_shown
               and st == "undeliverable" and br.q("#verify-suggestion") is None,
               "2. clicking the suggestion fills the box with it and verifies someone@gmail.com "
               "(undeliverable: no such mailbox in the world)",
               [f"new result: {changed}, box {val!r}, status {st!r}", addr_shown[:300]])
    else:
        tap.ok(False, "2. clicking the suggestion fills the box with it and verifies someone@gmail.com",
               "no #verify-suggestion to click")
    probs = page_problems(mark)
    tap.ok(not probs, "2. no console errors or CSP violations on the verify page", probs)


# ---- 3. bulk ---------------------------------------------------------------------------
def section_bulk():
    global jid
    mark = len(br.log)
    lst = os.path.join(state, "list.csv")
    nrows = gen_list(lst)
    ref = os.path.join(state, "ref.csv")
    t0 = time.time()
    p = subprocess.run(["timeout", "600", bin_path, "verify", *engine, "--quiet", "-i", lst, "-o", ref,
                        "--format", "csv"], capture_output=True)
    tap.ok(p.returncode == 0, f"3. the CLI verifies the same file (exit {p.returncode}, {time.time() - t0:.0f}s)",
           p.stderr.decode("utf-8", "replace")[-500:])
    ref_bytes = open(ref, "rb").read() if os.path.exists(ref) else b""
    go("bulk", "#/bulk", "#bulk-file", base)
    jid = None
    fin = {}
    fi = br.q("input#bulk-file")
    if fi is not None:
        fi.send_keys(lst)
    col = br.wait(lambda: br.visible("#bulk-preview") and br.q("select#bulk-column") is not None
                  and br.q("select#bulk-column").get_attribute("value"), 30)
    opts = [(o.get_attribute("value"), o.text) for o in br.qa("select#bulk-column option")] if col else []
    rows_text = br.text("#bulk-rows")
    step("03-bulk-preview")
    axe_check("bulk preview")
    tap.ok(col == "2" and any(v == "2" and "email" in t for v, t in opts),
           "3. the preview of the chosen CSV selects the email column (select#bulk-column = 2, 'email')",
           [f"select value {col!r}, options {opts}", br.text("#bulk-preview")[:400], br.text("#error")])
    tap.ok(str(nrows) in rows_text.replace(",", ""), f"3. #bulk-rows gives the {nrows} data rows",
           f"#bulk-rows: {rows_text!r}")
    if br.q("#bulk-start") is not None:
        br.click("#bulk-start")
        m = br.wait(lambda: re.match(r"^#/jobs/([0-9A-Za-z_-]+)$", br.hash()), 30)
        jid = m.group(1) if m else None
    tap.ok(jid is not None, "3. #bulk-start creates the job and goes to #/jobs/<id>",
           [f"hash {br.hash()!r}", br.text("#error")])
    seen = []
    if jid:
        deadline = time.time() + 600
        shot_running = False
        while time.time() < deadline:
            o = br.js("""
                var j = document.querySelector('#job'), p = document.querySelector('progress#job-progress');
                return [j ? j.getAttribute('data-status') : null, p ? p.getAttribute('value') : null,
                        p ? p.getAttribute('max') : null,
                        (document.querySelector('#job-processed') || {}).innerText || ''];""")
            if not seen or seen[-1] != o:
                seen.append(o)
            if o[0] in ("queued", "running") and not shot_running:
                step("03-job-running")
                shot_running = True
            if o[0] in ("done", "failed", "cancelled"):
                break
            time.sleep(0.05)
        fin = s.req("GET", f"/v1/jobs/{jid}", check=False).json() or {}
    running = [o for o in seen if o[0] in ("queued", "running")]
    prog = [o for o in running if o[2] == str(nrows) and o[1] and 0 < float(o[1]) < nrows
            and str(int(float(o[1]))) in (o[3] or "").replace(",", "")]
    print(f"# job page states seen (status, progress value, max, #job-processed): {seen[:20]}", flush=True)
    tap.ok(seen and seen[-1][0] == "done" and prog,
           f"3. the job page shows live progress (while running, progress#job-progress max={nrows} with "
           "0 < value < max, the same number in #job-processed) and reaches #job[data-status=done]",
           [f"{len(seen)} states seen: {seen[:12]}"])
    time.sleep(0.5)
    step("03-job-done")
    axe_check("job done")
    pv = (br.attr("progress#job-progress", "value"), br.attr("progress#job-progress", "max"))
    tap.ok(fin.get("status") == "done" and pv == (str(nrows), str(nrows)) and str(nrows) in br.text("#job-processed")
           and str(nrows) in br.text("#job-total"),
           f"3. when done: progress {nrows}/{nrows}, #job-processed and #job-total say {nrows}",
           [f"API {fin}", f"progress {pv}", f"processed {br.text('#job-processed')!r} total {br.text('#job-total')!r}"])
    counts = fin.get("counts") or {}
    got, items = legend_counts("#job-chart-status")
    tap.ok(br.q("#job-chart-status svg") is not None and counts and all(got.get(k) == counts.get(k) for k in STATUSES),
           f"3. the status chart (an SVG) has a legend with the job's counts {counts}",
           [f"legend: {got}", *items])
    reasons = fin.get("reasons") or {}
    top = max(reasons.items(), key=lambda kv: kv[1]) if reasons else None
    rtext = br.text("#job-chart-reasons")
    tap.ok(br.q("#job-chart-reasons svg") is not None and top is not None and str(top[1]) in rtext,
           f"3. the reasons chart (an SVG) shows the top reason's count ({top})", rtext[:400])

    # Downloads: the whole file byte for byte as the CLI wrote it, then the filters.
    ref_rows = csv_rows(ref_bytes) if ref_bytes else []
    hdr = ref_rows[0] if ref_rows else []


    def rule_rows(flt):
        if not hdr:
            return []
        si, di = hdr.index("status"), hdr.index("disposable")
        if flt == "deliverable":
            return [r_ for r_ in ref_rows[1:] if r_[si] == "deliverable"]
        return [r_ for r_ in ref_rows[1:] if r_[si] == "undeliverable" or r_[di] == "true"]


    br.clear_downloads()
    if jid and br.q("select#download-format") is not None:
        Select(br.q("select#download-format")).select_by_value("csv")
    for flt in ("all", "deliverable", "remove"):
        name = f"{jid}-{flt}.csv"
        data = None
        if jid and br.q(f"#download-{flt}") is not None:
            br.click(f"#download-{flt}")
            data = br.wait_download(name, 60)
        if flt == "all":
            d = [f"downloaded: {br.downloaded()}"]
            if data is not None and data != ref_bytes:
                a, b = data.split(b"\n"), ref_bytes.split(b"\n")
                bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
                d += [f"{len(a)} vs {len(b)} lines, {len(bad)} differ"] + \
                    [f"line {i + 1}: ui {a[i][:160]!r} cli {b[i][:160]!r}" for i in bad[:5]]
            tap.ok(data is not None and data == ref_bytes and len(ref_rows) == nrows + 1,
                   f"3. #download-all saves {name}, byte-identical to `bouncecheck verify -i` on the same file", d)
        else:
            want = rule_rows(flt)
            got_rows = csv_rows(data) if data is not None else []
            extra = ""
            if flt == "remove" and hdr:
                kept = [r_ for r_ in want if r_[hdr.index("status")] != "undeliverable"]
                extra = f" ({len(kept)} of them disposable but not undeliverable)"
            tap.ok(data is not None and got_rows[:1] == [hdr] and got_rows[1:] == want and want,
                   f"3. #download-{flt} saves {name}: the header and exactly the {len(want)} rows "
                   f"the rule selects{extra}, in order",
                   [f"downloaded: {br.downloaded()}", f"{max(len(got_rows) - 1, 0)} rows"] +
                   [f"unexpected {r_}" for r_ in got_rows[1:] if r_ not in want][:3] +
                   [f"missing {r_}" for r_ in want if r_ not in got_rows][:3])
    go("jobs", "#/jobs", None, base)
    row = br.wait(lambda: br.q(f'#jobs-list tr[data-job-id="{jid}"]'), 15) if jid else None
    rtext = br.text(f'#jobs-list tr[data-job-id="{jid}"]') if row else ""
    link = br.q(f'#jobs-list tr[data-job-id="{jid}"] a[href="#/jobs/{jid}"]') if row else None
    step("03-jobs-list")
    axe_check("jobs list")
    tap.ok(row is not None and link is not None and re.search(r"done|finished|complete", rtext, re.I),
           "3. the job is listed on #/jobs (tr[data-job-id], done, with a link to its page)",
           [rtext, br.text("#jobs-list")[:400]])
    probs = page_problems(mark)
    tap.ok(not probs, "3. no console errors or CSP violations on the bulk, job and jobs pages", probs)


# ---- 4. DNS report ---------------------------------------------------------------------
def section_dns():
    mark = len(br.log)
    go("dns", "#/tools/dns", "#dns-domain", base)
    old = outer("#dns-report")
    br.fill("#dns-domain", "bclab-ok.net")
    br.click("#dns-submit")
    settle("#dns-report", old, 120)
    grade = br.attr("#dns-report", "data-grade")
    rep = s.req("GET", "/v1/dns?domain=bclab-ok.net", timeout=120, check=False).json() or {}
    step("04-dns-report")
    axe_check("dns report")
    tap.ok(grade and grade == rep.get("grade"),
           f"4. DNS report for bclab-ok.net: #dns-report[data-grade={rep.get('grade')}]",
           [f"UI grade {grade!r}", br.text("#error")])
    ui = br.js("""
        var out = {};
        for (const s of document.querySelectorAll('#dns-report section.dns-section')) {
          var k = s.getAttribute('data-section');
          var f = [];
          for (const li of s.querySelectorAll('li.finding')) {
            var m = li.querySelector('.finding-message'), x = li.querySelector('.finding-fix');
            f.push([li.getAttribute('data-severity'), m ? m.innerText.trim() : null,
                    x && x.getClientRects().length ? x.innerText.trim() : null]);
          }
          (out[k] = out[k] || []).push([s.getAttribute('data-status'), f]);
        }
        return out;""") or {}
    bad = []
    for sec in SECTIONS:
        got_ = ui.get(sec) or []
        api_sec = rep.get(sec) or {}
        if len(got_) != 1:
            bad.append(f"{sec}: {len(got_)} sections")
            continue
        if got_[0][0] != api_sec.get("status"):
            bad.append(f"{sec}: data-status {got_[0][0]!r}, API {api_sec.get('status')!r}")
        sev_ui = [f_[0] for f_ in got_[0][1]]
        sev_api = [f_.get("severity") for f_ in api_sec.get("findings") or []]
        if sev_ui != sev_api:
            bad.append(f"{sec}: severities {sev_ui}, API {sev_api}")
        if any(not f_[1] for f_ in got_[0][1]):
            bad.append(f"{sec}: a finding without .finding-message text")
    tap.ok(not bad and all(sec in ui for sec in SECTIONS),
           "4. one section.dns-section per area with the API's status, its findings with their severities "
           "and messages", bad + [f"sections: {sorted(ui)}"])
    fixes = [(sec, f_.get("fix")) for sec in SECTIONS for f_ in (rep.get(sec) or {}).get("findings") or []
             if f_.get("severity") in ("warn", "fail") and f_.get("fix")]
    shown = [x[2] for sec in SECTIONS for entry in (ui.get(sec) or []) for x in entry[1] if x[2]]
    missing = [f"{sec}: {fx}" for sec, fx in fixes if not any(fx in t for t in shown)]
    tap.ok(fixes and not missing, f"4. every warn/fail finding shows its fix in .finding-fix ({len(fixes)} fixes)",
           [f"{len(fixes)} fixes in the API answer"] + missing[:5])
    probs = page_problems(mark)
    tap.ok(not probs, "4. no console errors or CSP violations on the DNS page", probs)


# ---- 5. disposable, extract, SMTP test -------------------------------------------------
def section_tools():
    mark = len(br.log)
    go("disposable", "#/tools/disposable", "#disposable-input", base)
    for dom, want, shot in ((disposable_domain, "true", "05-disposable-true"),
                            ("gmail.com", "false", "05-disposable-false")):
        old = outer("#disposable-result")
        br.fill("#disposable-input", dom)
        br.click("#disposable-submit")
        settle("#disposable-result", old, 60)
        got_ = br.attr("#disposable-result", "data-disposable")
        step(shot)
        tap.ok(got_ == want, f"5. disposable check of {dom}: #disposable-result[data-disposable={want}]",
               [f"got {got_!r}", br.text("#disposable-result")[:200], br.text("#error")])
    axe_check("disposable result")
    go("extract", "#/tools/extract", "#extract-text", base)
    text = ("Write to alice@bclab-ok.net or Bob <bob@bclab-ok.net>; the logo is image@2x.png and the icon\n"
            "icon@3x.jpg. Carol: carol@bclab-backup.net (alice@bclab-ok.net again), user@localhost, foo@bar.\n")
    br.fill("#extract-text", text)
    old = outer("#extract-result")
    br.click("#extract-submit")
    settle("#extract-result", old, 60)
    found = [e.text.strip() for e in br.qa("#extract-result li.extracted")]
    step("05-extract")
    axe_check("extract result")
    want3 = ["alice@bclab-ok.net", "bob@bclab-ok.net", "carol@bclab-backup.net"]
    tap.ok(sorted(found) == sorted(want3), "5. the extractor finds exactly the 3 addresses (one li.extracted each; "
           "image@2x.png and friends are not addresses)", [f"found {found}", br.text("#error")])
    xjid = None
    if br.q("#extract-verify") is not None:
        br.click("#extract-verify")
        m = br.wait(lambda: re.match(r"^#/jobs/([0-9A-Za-z_-]+)$", br.hash()), 30)
        xjid = m.group(1) if m else None
    xj = s.wait_job(xjid, timeout=120) if xjid else None
    br.wait(lambda: br.attr("#job", "data-status") == "done", 30)
    step("05-extract-job")
    tap.ok(xjid and xj and xj.get("total") == 3 and br.attr("#job", "data-status") is not None,
           "5. 'Verify these' creates a job of the 3 addresses and lands on its page",
           [f"hash {br.hash()!r}, job {xj}", br.text("#error")])
    go("smtp", "#/tools/smtp", "#smtp-host", base)
    port0 = br.q("#smtp-port").get_attribute("value") if br.q("#smtp-port") else None
    old = outer("#smtp-report")
    br.fill("#smtp-host", "mx.bclab-ok.net")
    br.click("#smtp-submit")
    settle("#smtp-report", old, 120)
    rep_text = br.text("#smtp-report")
    step("05-smtp-report")
    axe_check("smtp report")
    tap.ok(port0 == "25" and "mx.bclab-ok.net ESMTP Postfix" in rep_text and "STARTTLS" in rep_text.upper(),
           "5. SMTP test of mx.bclab-ok.net (port 25 by default): #smtp-report shows the banner and STARTTLS",
           [f"port box {port0!r}", rep_text[:500], br.text("#error")])
    probs = page_problems(mark)
    tap.ok(not probs, "5. no console errors or CSP violations on the tool pages", probs)


# ---- 7. phone width (before the keyed server: the open server's job is here) -----------
def section_phone():
    br.set_phone(True)
    try:
        go("verify", "#/verify", "#verify-email", base)
        verify_in_ui("alice@bclab-ok.net")
        sw = br.overflow()
        step("07-verify")
        tap.ok(sw[0] <= sw[1] <= 360 and br.attr("#verify-result", "data-status") == "deliverable",
               "7. at 360x740 the verify page (with a result) has no horizontal scroll",
               f"scrollWidth, innerWidth = {sw} (a mobile browser zooms out to fit a page wider than 360)")
        axe_check("phone verify")
        if jid:
            br.get(f"{base}/#/jobs/{jid}")
            br.wait(lambda: br.attr("#job", "data-status") == "done" and br.q("#job-chart-status") is not None, 30)
            time.sleep(0.3)
        sw = br.overflow()
        step("07-job-done")
        tap.ok(jid and br.attr("#job", "data-status") == "done" and sw[0] <= sw[1] <= 360,
               "7. at 360x740 a finished job's page has no horizontal scroll",
               f"scrollWidth, innerWidth = {sw} (a mobile browser zooms out to fit a page wider than 360)")
        axe_check("phone job")
        wide = []
        for i, (nav, hash_, marker) in enumerate(NAV):
            br.get(f"{base}/{hash_}")
            br.wait(lambda: br.heading() and not br.busy(), 15)
            time.sleep(0.2)
            step(f"07-page-{i + 1}-{nav}")
            o = br.overflow()
            if not o[0] <= o[1] <= 360:
                wide.append(f"{hash_}: scrollWidth {o[0]} > {o[1]}")
        print(f"# phone-width overflow on other pages: {wide or 'none'}", flush=True)
    finally:
        br.set_phone(False)


# ---- 6. keys ---------------------------------------------------------------------------
def section_keys():
    br.get(base + "/#/keys")
    br.wait(lambda: br.heading() and not br.busy(), 15)
    ktext = br.text("#page")
    tap.ok("keys create --admin" in ktext and br.q("#key-create") is None,
           "6. on a server without keys, the keys page explains how to make the first admin key",
           ktext[:300])
    data2 = os.path.join(state, "keyed-data")
    p = subprocess.run([bin_path, "keys", "create", "--admin", "--name", "admin", "--data", data2], capture_output=True)
    out = p.stdout.decode("utf-8", "replace")
    admin_key = out.splitlines()[0].strip() if out else ""
    admin_id = (re.search(r"^id: (\S+)", out, re.M) or [None, None])[1]
    tap.ok(p.returncode == 0 and admin_key.startswith("bck_"),
           "6. `bouncecheck keys create --admin` makes an admin key",
           p.stderr.decode("utf-8", "replace")[-300:])
    s2 = Server(bin_path, state, args=engine, data=data2, name="keyed-server")
    servers.append(s2)
    err = s2.start(wait=60)
    tap.ok(err is None, "6. a second server with that key store starts", err)
    if err or not admin_key:
        return
    base2 = s2.base
    mark = len(br.log)
    br.get(base2 + "/")
    asked = br.wait(lambda: br.visible("#signin") and br.visible("#signin-key"), 20)
    step("06-signin")
    axe_check("sign in")
    tap.ok(asked, "6. the UI asks to sign in (#signin) when the API answers 401", br.text("#main")[:300])
    br.fill("#signin-key", "bck_" + "x" * 43)
    br.click("#signin-submit")
    time.sleep(1.0)
    again = br.wait(lambda: br.visible("#signin"), 10)
    step("06-signin-wrong-key")
    tap.ok(again, "6. a wrong key is not accepted: the sign-in form is shown again", br.text("#main")[:300])
    br.fill("#signin-key", admin_key)
    br.click("#signin-submit")
    inside = br.wait(lambda: not br.visible("#signin") and br.q("#verify-email") is not None
                     and br.visible("#signout"), 20)
    stored = br.js("return sessionStorage.getItem('bouncecheck-key') || '';")
    step("06-signed-in")
    tap.ok(inside and admin_key in (stored or ""), "6. signing in with the admin key works (#signout shown, the key "
           "in sessionStorage)",
           [f"signed in: {inside}, sessionStorage holds it: {admin_key == stored}", br.text("#error")])
    br.get(base2 + "/#/keys")
    br.wait(lambda: br.q("#keys-list") is not None and not br.busy(), 20)
    has_admin = br.q(f'#keys-list tr[data-key-id="{admin_id}"]') is not None
    step("06-keys")
    axe_check("keys (admin)")
    tap.ok(has_admin and br.q("#key-create") is not None, "6. the keys page lists the keys (the admin key's row) "
           "with the create form", [f"admin id {admin_id}", br.text("#page")[:400]])
    secret = ""
    new_id = None
    if br.q("#key-create") is not None:
        br.fill("#key-name", "ui-made")
        if br.q("#key-admin") is not None and br.q("#key-admin").is_selected():
            br.click("#key-admin")
        br.click("#key-create")
        secret = br.wait(lambda: (re.search(r"bck_[A-Za-z0-9_-]{43}", br.text("#key-secret")) or [None])[0], 20) or ""
        if not secret:   # the secret may be in an input's value
            secret = br.js("var e = document.querySelector('#key-secret'); return e && e.value || '';") or ""
    step("06-key-created")
    me = s2.req("GET", "/v1/me", key=secret, check=False).json() if secret else None
    new_id = ((me or {}).get("key") or {}).get("id")
    mk = (me or {}).get("key") or {}
    tap.ok(secret and mk.get("name") == "ui-made" and mk.get("admin") is False,
           "6. the keys page creates a key: its secret is shown once in #key-secret and works with curl (GET /v1/me)",
           [f"secret {secret[:8]}..., /v1/me {me}", br.text("#error")])
    row = br.wait(lambda: br.q(f'#keys-list tr[data-key-id="{new_id}"]'), 15) if new_id else None
    revoked = False
    if row is not None and br.q(f'button.key-revoke[data-key-id="{new_id}"]') is not None:
        br.click(f'button.key-revoke[data-key-id="{new_id}"]')
        for _ in range(20):     # a confirm() dialog, if the page asks
            try:
                br.driver.switch_to.alert.accept()
                break
            except (NoAlertPresentException, WebDriverException):
                time.sleep(0.1)
        # a confirmation inside the page, if any
        br.wait(lambda: not br.busy(), 5)
        revoked = br.wait(lambda: s2.req("GET", "/v1/me", key=secret, check=False).status in (401, 403), 15)
    step("06-key-revoked")
    tap.ok(row is not None and revoked, "6. button.key-revoke revokes the new key (curl with it: 401/403)",
           [f"row {row is not None}", br.text("#keys-list")[:300], br.text("#error")])
    br.get(base2 + "/#/keys")
    br.wait(lambda: br.q("#keys-list") is not None and not br.busy(), 20)
    tap.ok(secret and secret not in br.text("#main")
           and not br.js("return document.documentElement.outerHTML.includes(arguments[0]);", secret),
           "6. after a reload the new key's secret is shown nowhere (only once)", None)
    if br.visible("#signout"):
        br.click("#signout")
    out_ok = br.wait(lambda: br.visible("#signin")
                     and not br.js("return sessionStorage.getItem('bouncecheck-key');"), 15)
    step("06-signed-out")
    tap.ok(out_ok, "6. #signout forgets the key and the UI asks to sign in again", br.text("#main")[:300])
    probs = page_problems(mark, allow=("401", "403", "Unauthorized", "Forbidden"))
    tap.ok(not probs, "6. no console errors (besides the expected 401/403 answers) or CSP violations while signing in "
           "and managing keys", probs)


# ---- 8. accessibility -------------------------------------------------------------------
def section_axe():
    if axe_skip:
        tap.skip("8. axe-core finds no serious or critical violation on any page", axe_skip)
    else:
        ver = os.environ.get("BC_AXE_VERSION", "?")
        for name, v in axe_results:
            if isinstance(v, str):
                tap.ok(False, f"8. axe-core {ver}: {name}", v)
                continue
            bad = [x for x in v if x["impact"] in ("serious", "critical")]
            tap.ok(not bad, f"8. axe-core {ver}: no serious or critical violation on {name}"
                   + (f" ({len(v)} minor)" if v else ""),
                   [f"{x['impact']} {x['id']}: {x['help']} at {x['nodes']}" for x in bad])


jid = None     # the bulk job (section_bulk), for the phone-width check of its page
for fn in (section_shell, section_verify, section_bulk, section_dns, section_tools, section_phone, section_keys,
           section_axe):
    try:
        fn()
    except Exception:  # a section that broke off: say where, go on with the next
        tap.ok(False, f"{fn.__name__}: its checks ran to the end", traceback.format_exc().splitlines()[-12:])
        try:
            br.set_phone(False)
        except Exception:
            pass

# ---- the server ------------------------------------------------------------------------
br.quit()
br = None
for srv in servers:
    rc = srv.stop()
    tap.ok(rc == 0, f"SIGTERM stops the {srv.name} with exit status 0 ({rc})", srv.stderr_tail())
    tap.ok("Sanitizer" not in srv.stderr_text() and "runtime error" not in srv.stderr_text(),
           f"no sanitizer report in the {srv.name}'s stderr",
           [ln for ln in srv.stderr_text().splitlines() if "Sanitizer" in ln or "runtime error" in ln][:10])
servers = []
finish()

#!/usr/bin/env python3
"""`bouncecheck dns` against a real NSD on 127.0.0.1 serving zones that
exercise each finding: a healthy domain; SPF with 11 lookups, two records,
+all, an include loop, void lookups; no DMARC; bad DMARC tags; a 1024-bit
DKIM key; a null MX; an MX address listed in a local copy of a blocklist
zone and one that answers 127.255.255.254. Prints TAP.

Usage: test_dns_health.py path/to/bouncecheck
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

N = 0
FAILED = 0


def ok(cond, desc, diag=None):
    global N, FAILED
    N += 1
    if not cond:
        FAILED += 1
    print(f"{'ok' if cond else 'not ok'} {N} - {desc}")
    if not cond and diag:
        for line in str(diag).splitlines()[:40]:
            print(f"#   {line}")
    sys.stdout.flush()


def free_port():
    while True:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        p = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", p))
        except OSError:
            t.close()
            continue
        t.close()
        u.close()
        return p


def dkim_key(bits, work):
    """A DKIM p= value: the base64 SubjectPublicKeyInfo of a fresh RSA key."""
    key = os.path.join(work, f"rsa{bits}.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{bits}", "-out", key],
                   check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return base64.b64encode(der).decode()


def txt(s):
    """A TXT RDATA: strings of at most 255 bytes, quoted."""
    parts = [s[i:i + 250] for i in range(0, len(s), 250)] or [""]
    return " ".join('"' + p.replace('"', '\\"') + '"' for p in parts)


def zones(work):
    k2048, k1024 = dkim_key(2048, work), dkim_key(1024, work)
    spf11 = " ".join(f"include:i{i}.spf11" for i in range(11))
    h = f"""$ORIGIN health.test.
$TTL 300
@               IN SOA ns hostmaster 1 3600 600 86400 60
@               IN NS  ns
ns              IN A   127.0.0.1
; a healthy domain
good            IN MX  10 mx.good
mx.good         IN A   192.0.2.25
good            IN TXT {txt("v=spf1 mx -all")}
_dmarc.good     IN TXT {txt("v=DMARC1; p=reject; rua=mailto:dmarc@good.health.test")}
sel1._domainkey.good IN TXT {txt("v=DKIM1; k=rsa; p=" + k2048)}
_smtp._tls.good IN TXT {txt("v=TLSRPTv1; rua=mailto:tls@good.health.test")}
_mta-sts.good   IN TXT {txt("v=STSv1; id=20261129")}
mta-sts.good    IN A   127.0.0.1
default._bimi.good IN TXT {txt("v=BIMI1; l=https://good.health.test/logo.svg")}
; MTA-STS in enforce mode that does not cover the MX
stsbad          IN MX  10 mx.good
stsbad          IN TXT {txt("v=spf1 mx -all")}
_mta-sts.stsbad IN TXT {txt("v=STSv1; id=1")}
mta-sts.stsbad  IN A   127.0.0.1
; SPF problems
spf11           IN MX  10 mx.good
spf11           IN TXT {txt("v=spf1 " + spf11 + " -all")}
""" + "".join(f"i{i}.spf11 IN TXT {txt('v=spf1 a -all')}\ni{i}.spf11 IN A 192.0.2.{100 + i}\n" for i in range(11)) + f"""
spftwo          IN MX  10 mx.good
spftwo          IN TXT {txt("v=spf1 mx -all")}
spftwo          IN TXT {txt("v=spf1 -all")}
spfall          IN MX  10 mx.good
spfall          IN TXT {txt("v=spf1 +all")}
spfloop         IN MX  10 mx.good
spfloop         IN TXT {txt("v=spf1 include:loop2.spfloop.health.test -all")}
loop2.spfloop   IN TXT {txt("v=spf1 include:spfloop.health.test -all")}
spfvoid         IN MX  10 mx.good
spfvoid         IN TXT {txt("v=spf1 a:nx1.health.test a:nx2.health.test a:nx3.health.test -all")}
; DMARC problems
nodmarc         IN MX  10 mx.good
nodmarc         IN TXT {txt("v=spf1 mx -all")}
baddmarc        IN MX  10 mx.good
baddmarc        IN TXT {txt("v=spf1 mx -all")}
_dmarc.baddmarc IN TXT {txt("v=DMARC1; p=maybe; pct=150; rua=foo")}
; a weak DKIM key
dkim1024        IN MX  10 mx.good
dkim1024        IN TXT {txt("v=spf1 mx -all")}
sel1._domainkey.dkim1024 IN TXT {txt("v=DKIM1; k=rsa; p=" + k1024)}
; null MX
nullmx          IN MX  0 .
nullmx          IN TXT {txt("v=spf1 -all")}
; blocklists
listed          IN MX  10 mx.listed
mx.listed       IN A   192.0.2.66
refused         IN MX  10 mx.refused
mx.refused      IN A   192.0.2.67
"""
    bl = """$ORIGIN zen.spamhaus.org.
$TTL 300
@               IN SOA ns.health.test. hostmaster.health.test. 1 3600 600 86400 60
@               IN NS  ns.health.test.
66.2.0.192      IN A   127.0.0.2
67.2.0.192      IN A   127.255.255.254
"""
    dbl = """$ORIGIN dbl.spamhaus.org.
$TTL 300
@               IN SOA ns.health.test. hostmaster.health.test. 1 3600 600 86400 60
@               IN NS  ns.health.test.
"""
    rev = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@               IN SOA ns.health.test. hostmaster.health.test. 1 3600 600 86400 60
@               IN NS  ns.health.test.
25              IN PTR mx.good.health.test.
66              IN PTR somewhere-else.health.test.
"""
    # The root: names outside these zones are NXDOMAIN, as on the Internet,
    # and ". NS" resolves, so the resolver check of `serve` below passes.
    root = """$ORIGIN .
$TTL 300
@               IN SOA ns.health.test. hostmaster.health.test. 1 3600 600 86400 60
@               IN NS  ns.health.test.
"""
    return {"health.test": h, "zen.spamhaus.org": bl, "dbl.spamhaus.org": dbl, "2.0.192.in-addr.arpa": rev,
            ".": root}


POLICIES = {
    "mta-sts.good.health.test": "version: STSv1\r\nmode: enforce\r\nmx: mx.good.health.test\r\nmax_age: 604800\r\n",
    "mta-sts.stsbad.health.test": "version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.test\r\nmax_age: 604800\r\n",
}


def https_server(work):
    """An HTTPS server on 127.0.0.1:443 serving the MTA-STS policies by Host,
    with a certificate from a test CA. Returns (server, ca_file) or (None,
    reason)."""
    import http.server
    import ssl
    import threading
    ca_key, ca, key, csr, crt, ext = (os.path.join(work, n) for n in
                                      ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext.cnf"))
    with open(ext, "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + h for h in POLICIES) + "\n")
    for cmd in (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca,
                 "-days", "2", "-subj", "/CN=BounceCheck test CA"],
                ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                 "-subj", "/CN=mta-sts.good.health.test"],
                ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", crt, "-days", "2", "-extfile", ext]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            return None, p.stderr

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = POLICIES.get((self.headers.get("Host") or "").split(":")[0])
            if self.path != "/.well-known/mta-sts.txt" or body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *a):
            pass

    try:
        srv = http.server.HTTPServer(("127.0.0.1", 443), H)
    except OSError as e:
        return None, f"cannot listen on 127.0.0.1:443 ({e})"
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, ca


def codes(report, section):
    sec = report.get(section) or {}
    return {f.get("code"): f.get("severity") for f in sec.get("findings", [])}


def fix_problems(report):
    """Findings whose "fix" breaks the rule: a non-empty string on warn and
    fail findings, null on info ones; the fix names the domain checked, never
    the "<your domain>" placeholder of the table."""
    bad = []
    for name, sec in (report or {}).items():
        if not isinstance(sec, dict):
            continue
        for f in sec.get("findings", []):
            fix = f.get("fix", "(absent)")
            if f.get("severity") in ("warn", "fail"):
                if not (isinstance(fix, str) and fix.strip()):
                    bad.append(f"{name}: {f.get('code')} ({f.get('severity')}): fix {fix!r}")
                elif "<your domain>" in fix:
                    bad.append(f"{name}: {f.get('code')}: the fix does not name the domain: {fix!r}")
            elif fix is not None:
                bad.append(f"{name}: {f.get('code')} ({f.get('severity')}): fix {fix!r}, want null")
    return bad


def main():
    if len(sys.argv) != 2:
        print("usage: test_dns_health.py path/to/bouncecheck", file=sys.stderr)
        return 2
    bin_ = os.path.abspath(sys.argv[1])
    nsd = shutil.which("nsd") or "/usr/sbin/nsd"
    if not os.path.exists(nsd):
        print("1..0 # SKIP nsd is not installed (Debian package nsd)")
        return 0
    work = tempfile.mkdtemp(prefix="bc-dns-health.")
    proc = None
    try:
        port = free_port()
        conf = [f"server:\n    ip-address: 127.0.0.1\n    port: {port}\n    username: \"\"\n    database: \"\"\n"
                f"    chroot: \"\"\n    zonesdir: \"{work}\"\n    zonelistfile: \"{work}/zone.list\"\n"
                f"    xfrdfile: \"{work}/xfrd.state\"\n    xfrdir: \"{work}\"\n    pidfile: \"{work}/nsd.pid\"\n"
                f"    logfile: \"{work}/nsd.log\"\n    server-count: 1\n    verbosity: 1\n"
                "remote-control:\n    control-enable: no\n"]
        for name, body in zones(work).items():
            zfile = "root.zone" if name == "." else name + ".zone"
            with open(os.path.join(work, zfile), "w") as f:
                f.write(body)
            conf.append(f"zone:\n    name: {name}\n    zonefile: {zfile}\n")
        with open(os.path.join(work, "nsd.conf"), "w") as f:
            f.write("".join(conf))
        chk = subprocess.run([os.path.join(os.path.dirname(nsd), "nsd-checkconf"), os.path.join(work, "nsd.conf")],
                             capture_output=True, text=True)
        if chk.returncode != 0:
            ok(False, "nsd-checkconf accepts the generated configuration", chk.stdout + chk.stderr)
            print(f"1..{N}")
            return 1
        proc = subprocess.Popen([nsd, "-d", "-c", os.path.join(work, "nsd.conf")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        up = False
        while time.time() < deadline and not up:
            time.sleep(0.1)
            try:
                up = "started" in open(os.path.join(work, "nsd.log")).read()
            except OSError:
                pass
        ok(up, "NSD serves the test zones")

        def report(domain, *extra):
            cmd = [bin_, "dns", "--json", "--dns", f"127.0.0.1:{port}", "--no-smtp", "--allow-private",
                   "--ip-blocklists", "zen.spamhaus.org", "--domain-blocklists", "dbl.spamhaus.org",
                   "--timeout", "3", *extra, domain]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            try:
                return json.loads(p.stdout), p
            except ValueError:
                return None, p

        srv, ca = https_server(work)
        sts = ("--ca-file", ca) if srv else ()
        if not srv:
            print(f"# MTA-STS policy checks skipped: {ca}")
        sections = ["mx", "spf", "dmarc", "dkim", "blocklists", "mta_sts", "tls_rpt", "bimi", "dnssec"]
        r, p = report("good.health.test", "--dkim-selector", "sel1", *sts)
        good = r is not None and p.returncode == 0
        ok(good and all(isinstance(r.get(s), dict) and r[s].get("status") in ("pass", "warn", "fail", "info", "none")
                        and isinstance(r[s].get("findings"), list) for s in sections)
           and r.get("grade") in list("ABCDF"),
           "a report has every section with a status and findings, and a grade", (p.stderr, p.stdout[:2000]))
        if good:
            ok(r["spf"]["status"] == "pass" and r["dmarc"]["status"] == "pass" and r["dkim"]["status"] == "pass",
               "the healthy domain passes SPF, DMARC and DKIM",
               json.dumps({s: (r[s]["status"], r[s]["findings"]) for s in ("spf", "dmarc", "dkim")})[:2000])
            ok(r["mx"]["status"] in ("pass",) and not [c for c, s in codes(r, "mx").items() if s == "fail"],
               "the healthy domain's MX passes (PTR confirmed)", json.dumps(r["mx"])[:1500])
            ok(r["blocklists"]["status"] == "pass", "the healthy domain's MX address is on no list",
               json.dumps(r["blocklists"])[:1500])
            ok(r["tls_rpt"]["status"] == "pass", "the healthy domain's TLS-RPT passes", json.dumps(r["tls_rpt"])[:800])
            ok(r["bimi"]["status"] in ("pass", "warn") and not [c for c, v in codes(r, "bimi").items() if v == "fail"],
               "BIMI is found and its DMARC precondition (p=reject) holds", json.dumps(r["bimi"])[:800])
            if srv:
                ok(r["mta_sts"]["status"] == "pass"
                   and (r["mta_sts"].get("policy") or {}).get("mode") == "enforce",
                   "MTA-STS: the record, and the policy fetched over HTTPS (test CA) in enforce mode covering the MX",
                   json.dumps(r["mta_sts"])[:1500])
            ok(r["grade"] in ("A", "B"), f"the healthy domain grades A or B ({r['grade']}, {r.get('score')})",
               json.dumps({k: v.get("findings") for k, v in r.items() if isinstance(v, dict)})[:2000])
        if srv:
            r2, p2 = report("stsbad.health.test", *sts)
            c2 = codes(r2, "mta_sts") if r2 else {}
            ok(any(v == "fail" and "mx" in k for k, v in c2.items()),
               f"MTA-STS enforce with a policy that does not cover the MX: a fail ({', '.join(c2) or 'none'})",
               (p2.stderr, json.dumps(r2.get("mta_sts") if r2 else None)[:1500]))
            r3, p3 = report("good.health.test", "--dkim-selector", "sel1")
            c3 = codes(r3, "mta_sts") if r3 else {}
            ok(any(v == "fail" for v in c3.values()),
               f"without the test CA the policy's certificate does not verify: a fail ({', '.join(c3) or 'none'})",
               json.dumps(r3.get("mta_sts") if r3 else None)[:1500])

        cases = [
            ("spf11.health.test", "spf", r"lookup", "fail", "SPF with 11 DNS-querying includes: over the 10 limit"),
            ("spftwo.health.test", "spf", r"(multiple|several|two|records)", "fail", "two SPF records"),
            ("spfall.health.test", "spf", r"all", "fail", "SPF +all"),
            ("spfloop.health.test", "spf", r"loop", "fail", "an SPF include loop"),
            ("spfvoid.health.test", "spf", r"void", None, "SPF with 3 void lookups"),
            ("nodmarc.health.test", "dmarc", r"(none|missing|no_record|absent)", "fail", "no DMARC record"),
            ("baddmarc.health.test", "dmarc", r".", "fail", "bad DMARC tags (p=maybe, pct=150, rua=foo)"),
            ("dkim1024.health.test", "dkim", r".", "warn", "a 1024-bit DKIM key"),
            ("nullmx.health.test", "mx", r"null", "info", "a null MX"),
            ("listed.health.test", "blocklists", r"listed", "fail", "an MX address listed on zen (127.0.0.2)"),
            ("refused.health.test", "blocklists", r"refused", "warn", "a 127.255.255.254 answer is an error, not a listing"),
        ]
        fixes_bad, warn_fail, infos = [], 0, 0
        for domain, sec, pattern, sev, desc in cases:
            extra = ("--dkim-selector", "sel1") if sec == "dkim" else ()
            r, p = report(domain, *extra)
            fixes_bad += [f"{domain}: {b}" for b in fix_problems(r)]
            for v in (r or {}).values():
                for f in (v.get("findings", []) if isinstance(v, dict) else []):
                    warn_fail += f.get("severity") in ("warn", "fail")
                    infos += f.get("severity") == "info"
            c = codes(r, sec) if r else {}
            hit = [k for k, s in c.items() if k and re.search(pattern, k) and (sev is None or s == sev)]
            ok(bool(hit), f"{desc}: a {sev or 'finding'} in {sec} ({', '.join(hit) or 'none'})",
               (p.stderr, json.dumps(r.get(sec) if r else None)[:1500]))
            if domain == "nodmarc.health.test" and r:
                fx = [f.get("fix") or "" for f in r["dmarc"].get("findings", []) if f.get("severity") == "fail"]
                ok(any("_dmarc.nodmarc.health.test" in x for x in fx),
                   "the missing-DMARC fix names the record to publish for this domain", json.dumps(fx)[:500])
            if domain == "refused.health.test" and r:
                listed = [c for c in r["blocklists"].get("checks", []) if c.get("listed") is True]
                ok(not listed, "the refused answer is never reported as a listing", json.dumps(listed)[:500])
        ok(not fixes_bad and warn_fail > 0 and infos > 0,
           f"every warn/fail finding has a non-empty fix, every info one \"fix\": null "
           f"({warn_fail} warn/fail, {infos} info)", "\n".join(fixes_bad))
        # The same report from the API: GET /v1/dns.
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "api"))
        import openapi_check
        here = os.path.dirname(os.path.abspath(__file__))
        doc = openapi_check.load(os.path.join(here, "..", "..", "src", "server", "openapi.json"))
        hport = free_port()
        data = os.path.join(work, "api-data")
        srvp = subprocess.Popen([bin_, "serve", "--listen", f"127.0.0.1:{hport}", "--data", data, "--dns",
                                 f"127.0.0.1:{port}", "--allow-private"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{hport}"
            for _ in range(100):
                if subprocess.run(["curl", "-sf", base + "/healthz"], capture_output=True).returncode == 0:
                    break
                time.sleep(0.1)
            c = subprocess.run(["curl", "-s", "-w", "\n%{http_code} %{content_type}",
                                base + "/v1/dns?domain=good.health.test&dkim_selector=sel1&smtp=false"],
                               capture_output=True, timeout=120)
            body, _, tail = c.stdout.rpartition(b"\n")
            status, _, ctype = tail.decode().partition(" ")
            try:
                api = json.loads(body)
            except ValueError:
                api = None
            ok(status == "200" and api and all(api[s]["status"] == "pass" for s in ("spf", "dmarc", "dkim"))
               and api.get("grade") in list("ABCDF"),
               "GET /v1/dns?domain=good.health.test: 200, the report (SPF, DMARC, DKIM pass)", c.stdout[:1500])
            probs = openapi_check.check_response(doc, "GET", "/v1/dns", int(status or 0), ctype, body)
            ok(not probs, "the /v1/dns answer matches openapi.json", probs)
            api_findings = [f for v in (api or {}).values() if isinstance(v, dict) for f in v.get("findings", [])]
            ok(api_findings and all("fix" in f for f in api_findings) and not fix_problems(api),
               "the /v1/dns findings carry fix (a text on warn/fail, null on info)",
               "\n".join(fix_problems(api)) or json.dumps(api_findings)[:1000])
            c = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", base + "/v1/dns?domain=bad..name"],
                               capture_output=True, text=True, timeout=60)
            ok(c.stdout == "400", f"GET /v1/dns with a bad domain: 400 ({c.stdout})")
        finally:
            srvp.terminate()
            srvp.wait(timeout=15)
        # The human report.
        p = subprocess.run([bin_, "dns", "--dns", f"127.0.0.1:{port}", "--no-smtp", "--allow-private",
                            "--ip-blocklists", "zen.spamhaus.org", "--domain-blocklists", "dbl.spamhaus.org",
                            "spfall.health.test"], capture_output=True, text=True, timeout=120)
        ok(p.returncode == 0 and "grade" in p.stdout and "SPF" in p.stdout and "[fail]" in p.stdout,
           "the text report names the grade, the sections and the failures", p.stdout[:1500] + p.stderr)
        lines = p.stdout.splitlines()
        after = [lines[i + 1] if i + 1 < len(lines) else "" for i, l in enumerate(lines)
                 if re.match(r"^    \[(warn|fail)\] ", l)]
        info_after = [lines[i + 1] if i + 1 < len(lines) else "" for i, l in enumerate(lines)
                      if re.match(r"^    \[info\] ", l)]
        ok(after and all(re.match(r"^        fix: \S", l) for l in after)
           and any("spf_all_pass" in l for l in lines)
           and not any(l.startswith("        fix:") for l in info_after),
           "the text report prints an indented 'fix: ...' under each warn/fail finding, none under info",
           p.stdout[:2000])
        p = subprocess.run([bin_, "dns", "not a domain"], capture_output=True, text=True, timeout=60)
        ok(p.returncode == 2 and "not a valid domain" in p.stderr, "a bad domain: exit 2 with a message", p.stderr)
    finally:
        if 'srv' in locals() and srv:
            srv.shutdown()
        if proc:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"1..{N}")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

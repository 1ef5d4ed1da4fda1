#!/usr/bin/python3
"""selfcheck.py STATEDIR - checks that the test world brought up by up.sh
behaves as designed, independently of BounceCheck, so that a failing
end-to-end case can be told apart from a broken world.

Run inside the world's namespace:
    ip netns exec "$(cat STATEDIR/netns)" /usr/bin/python3 tests/world/selfcheck.py STATEDIR

Speaks DNS through dnspython (python3-dnspython) and SMTP through smtplib.
Prints one "# ok: ..." or "# FAIL: ..." line per check; exit status 0 when
every check passed. It never sends DATA. Takes about 5 s (the greylisting
delay of postgrey is waited out once).
"""
import os
import socket
import smtplib
import sys
import time

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

FAILS = []


def check(ok, what):
    """Records and prints one check's outcome."""
    print("# %s: %s" % ("ok" if ok else "FAIL", what), flush=True)
    if not ok:
        FAILS.append(what)


def query(server, name, rdtype):
    """One UDP query to the world's NSD: (rcode, set of answer strings)."""
    q = dns.message.make_query(name, rdtype)
    a = dns.query.udp(q, server, timeout=3)
    out = set()
    for rrset in a.answer:
        for rd in rrset:
            out.add(rd.to_text())
    return a.rcode(), out


def rcpt(host, addr, sender="selfcheck@bclab-ok.net", starttls=False, utf8=False):
    """One SMTP session up to RCPT TO:<addr>: returns (code, text, ehlo features)."""
    s = smtplib.SMTP(host, 25, local_hostname="selfcheck.bclab-ok.net", timeout=10)
    try:
        s.ehlo()
        feats = dict(s.esmtp_features)
        if starttls:
            s.starttls()
            s.ehlo()
        opts = ["SMTPUTF8"] if utf8 else []
        code, _ = s.mail(sender, opts)
        if code != 250:
            return code, "MAIL refused", feats
        code, text = s.rcpt(addr)
        s.rset()
        return code, text.decode("utf-8", "replace"), feats
    finally:
        try:
            s.quit()
        except smtplib.SMTPException:
            s.close()


def greeting(host, wait):
    """Connects to host:25 and returns the first bytes within `wait` seconds
    (b'' when nothing came), or None when the connection was refused."""
    try:
        c = socket.create_connection((host, 25), timeout=3)
    except ConnectionRefusedError:
        return None
    try:
        c.settimeout(wait)
        try:
            return c.recv(512)
        except socket.timeout:
            return b""
    finally:
        c.close()


def main():
    state = sys.argv[1]
    env = {}
    with open(os.path.join(state, "world.env"), encoding="utf-8") as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    ns, ok_mx, grey, slow = env["DNS"], env["MX_OK"], env["MX_GREY"], env["MX_SLOW"]

    # DNS
    rc, ans = query(ns, "bclab-ok.net", "MX")
    check(rc == dns.rcode.NOERROR and ans == {"10 mx.bclab-ok.net."}, "MX of bclab-ok.net: %s" % ans)
    rc, ans = query(ns, "mx.bclab-ok.net", "A")
    check(ans == {ok_mx}, "A of mx.bclab-ok.net: %s" % ans)
    rc, ans = query(ns, "bclab-nullmx.net", "MX")
    check(ans == {"0 ."}, "null MX: %s" % ans)
    rc, ans = query(ns, env["IDN_DOMAIN"], "MX")
    check(ans == {"10 mx.bclab-ok.net."}, "MX of the IDN domain: %s" % ans)
    rc, ans = query(ns, "bclab-implicit.net", "MX")
    check(rc == dns.rcode.NOERROR and not ans, "bclab-implicit.net has no MX")
    rc, _ = query(ns, "gmial.com", "MX")
    check(rc == dns.rcode.NXDOMAIN, "gmial.com is NXDOMAIN (%s)" % dns.rcode.to_text(rc))
    rc, _ = query(ns, "bclab-nowhere.net", "MX")
    check(rc == dns.rcode.NXDOMAIN, "bclab-nowhere.net is NXDOMAIN (%s)" % dns.rcode.to_text(rc))
    rc, _ = query(ns, "bclab-refused.org", "MX")
    check(rc == dns.rcode.REFUSED, "bclab-refused.org is REFUSED (%s)" % dns.rcode.to_text(rc))
    # what BounceCheck's resolver check asks (src/lib/dns/resolver_check.h)
    rc, ans = query(ns, ".", "NS")
    check(rc == dns.rcode.NOERROR and ans == {"ns.bclab-ok.net."}, "the root zone's NS: %s" % ans)
    rc, _ = query(ns, "bouncecheck-nx-0123456789abcdef0123.com", "A")
    check(rc == dns.rcode.NXDOMAIN, "a name that cannot exist is NXDOMAIN (%s)" % dns.rcode.to_text(rc))
    rc, _ = query(ns, "bclab-elsewhere.org", "MX")
    check(rc == dns.rcode.NXDOMAIN, "a name under no world zone is NXDOMAIN from the root (%s)" % dns.rcode.to_text(rc))
    rc, ans = query(ns, "mx.bclab-private.net", "A")
    check(ans == {env["MX_PRIV"]}, "the private MX address: %s" % ans)

    # Postfix, plain and STARTTLS
    code, text, feats = rcpt(ok_mx, "alice@bclab-ok.net")
    check(code == 250 and "starttls" in feats and "smtputf8" in feats,
          "Postfix accepts alice, offers STARTTLS and SMTPUTF8 (%d %s)" % (code, text))
    code, text, _ = rcpt(ok_mx, "alice@bclab-ok.net", starttls=True)
    check(code == 250, "Postfix after STARTTLS (%d)" % code)
    for addr, want, frag in (("nobody@bclab-ok.net", 550, "5.1.1"), ("full@bclab-ok.net", 552, "5.2.2"),
                             ("disabled@bclab-ok.net", 550, "5.2.1"), ("blocked@bclab-ok.net", 554, "zen.spamhaus.org"),
                             ("x7q3random@bclab-catchall.net", 250, "")):
        code, text, _ = rcpt(ok_mx, addr)
        check(code == want and frag in text, "RCPT %s -> %d %s" % (addr, code, text))
    code, text, _ = rcpt(ok_mx, "jörg@bclab-ok.net", utf8=True)
    check(code == 250, "UTF-8 local part with SMTPUTF8 -> %d %s" % (code, text))

    # greylisting: 450 first, 250 after postgrey's delay (3 s)
    code, text, _ = rcpt(grey, "selfcheck@bclab-grey.net")
    check(code == 450 and "Greylisted" in text, "first RCPT greylisted: %d %s" % (code, text))
    time.sleep(4)
    code, text, _ = rcpt(grey, "selfcheck@bclab-grey.net")
    check(code == 250, "RCPT accepted after the delay: %d %s" % (code, text))

    # the latency proxy delays the greeting by about 300 ms
    t0 = time.monotonic()
    g = greeting(slow, 5)
    dt = time.monotonic() - t0
    check(g is not None and g.startswith(b"220") and dt >= 0.25, "greeting through the proxy after %.2f s" % dt)

    # scripted servers and the dead address
    check(greeting(env["MX_DEAD"], 2) is None, "nothing listens on the dead MX address")
    check(greeting("11.22.0.20", 1) == b"", "the tarpit does not greet")
    g = greeting("11.22.0.21", 2) or b""
    check(g.startswith(b"421"), "421 greeting: %r" % g[:40])
    g = greeting(env["MX_PRIV"], 2) or b""
    check(g.startswith(b"220"), "the private-range server greets: %r" % g[:40])

    print("# selfcheck: %d failed" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

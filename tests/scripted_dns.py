#!/usr/bin/python3
"""scripted_dns.py --listen IP:PORT --portfile FILE [--no-tcp] [--log FILE]

A recursive resolver that misbehaves on purpose, name by name, for the
tests of how BounceCheck reads DNS anomalies (tests/test_dns_anomalies.sh):
CNAME loops and over-long chains, truncated answers whose TCP retry is
refused, closed, empty or truncated again, answers that do not parse,
answers for another ID or another question, SERVFAIL, REFUSED, an odd
rcode, records of another type only, a referral (a lame delegation), MX
hosts that hit any of these; and clean answers beside them (NXDOMAIN, a
null MX, NODATA for MX, A and AAAA, an MX host that does not exist) that
must still read as facts.

Names are looked up by their labels under the zone ZONE (below); every
other name is NXDOMAIN with the root's SOA, and the root's NS resolves,
so that BounceCheck's resolver check passes. Messages are built and parsed
by dnspython (python3-dnspython), TCP framing included; only the
deliberately broken answers are made by cutting or changing the wire form
dnspython produced.

UDP and TCP on the same port (--no-tcp: UDP only, so TCP is refused). When
bound, the port goes into --portfile (written then renamed). Each query is
logged as one line "PROTO QNAME QTYPE -> WHAT" (--log).
"""
import argparse
import os
import socket
import sys
import threading

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset

ZONE = dns.name.from_text("bclab-anomaly.net.")
SOA = "ns.bclab-anomaly.net. hostmaster.bclab-anomaly.net. 1 3600 600 86400 60"
ROOT_SOA = "a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400"
BADLEN_TTL = 0x0BADBEEF  # marks the record whose length is broken
CHAIN = 12  # links of the over-long chain (BounceCheck follows at most 8)

log = sys.stdout
log_lock = threading.Lock()


def note(line):
    with log_lock:
        print(line, file=log, flush=True)


def rel(name):
    """The labels of name under ZONE as text ("" for the apex), or None."""
    if not name.is_subdomain(ZONE):
        return None
    return name.relativize(ZONE).to_text() if name != ZONE else ""


def n(text):
    return dns.name.from_text(text, ZONE)


def cname(r, owner, target):
    r.answer.append(dns.rrset.from_text(n(owner), 60, "IN", "CNAME", n(target).to_text()))


def soa(r):
    r.authority.append(dns.rrset.from_text(ZONE, 60, "IN", "SOA", SOA))


def nodata(r):
    soa(r)


def nxdomain(r):
    r.set_rcode(dns.rcode.NXDOMAIN)
    soa(r)


def records(r, qname, rdtype, *texts):
    r.answer.append(dns.rrset.from_text(qname, 60, "IN", rdtype, *texts))


# An MX host name -> what it answers for A and AAAA. Each domain below
# whose MX points at such a host is "mx" + the host's word ("mxloop" has
# MX 10 loop-host).
def host_answer(word, r, qname, qtype, proto):
    """Fills r for the A/AAAA question of an MX host; returns an action."""
    if word == "loophost":
        cname(r, "loophost", "loophost2")
        cname(r, "loophost2", "loophost")
    elif word == "servfailhost":
        r.set_rcode(dns.rcode.SERVFAIL)
    elif word == "garbagehost":
        return "garbage"
    elif word == "othertypehost":
        records(r, qname, "TXT", '"not an address"')
    elif word == "tchost":
        return truncation("empty", r, proto)
    elif word == "ghost":
        nxdomain(r)
    elif word == "noaddrhost":
        nodata(r)
    else:
        nxdomain(r)
    return "answer"


def truncation(tcp_mode, r, proto):
    """UDP: an empty answer with TC set. TCP: per tcp_mode."""
    if proto == "udp":
        r.flags |= dns.flags.TC
        return "answer"
    if tcp_mode == "empty":
        return "answer"  # NOERROR, nothing in it
    if tcp_mode == "tc":
        r.flags |= dns.flags.TC
        return "answer"
    if tcp_mode == "closed":
        return "close"
    if tcp_mode == "servfail":
        r.set_rcode(dns.rcode.SERVFAIL)
        return "answer"
    return "answer"


def fill(q, r, proto):
    """Fills the response r to query q; returns what to do with it:
    "answer", "drop", "close" (TCP: hang up), "garbage", "wrongid",
    "wrongq", "badlen", "badcount"."""
    qn = q.question[0]
    name, qtype = qn.name, qn.rdtype
    if name == dns.name.root and qtype == dns.rdatatype.NS:
        records(r, name, "NS", "a.root-servers.net.")
        return "answer"
    word = rel(name)
    if word is None:
        r.set_rcode(dns.rcode.NXDOMAIN)
        r.authority.append(dns.rrset.from_text(dns.name.root, 60, "IN", "SOA", ROOT_SOA))
        return "answer"
    is_addr = qtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
    is_mx = qtype == dns.rdatatype.MX
    # ---- anomalies at the domain itself
    if word == "loop":
        cname(r, "loop", "loop2")
        cname(r, "loop2", "loop")
    elif word in ("loop2",):
        cname(r, "loop2", "loop")
        cname(r, "loop", "loop2")
    elif word == "selfloop":
        cname(r, "selfloop", "selfloop")
    elif word == "longchain" or word.startswith("chain"):
        at = 0 if word == "longchain" else int(word[5:])
        prev = word
        for i in range(at + 1, CHAIN + 1):
            cname(r, prev, f"chain{i}")
            prev = f"chain{i}"
        nodata(r)  # the last link exists without records
    elif word.startswith("tc") and word[2:] in ("empty", "tc", "closed", "servfail", "refused"):
        return truncation(word[2:], r, proto)
    elif word in ("garbage", "wrongid", "wrongq", "badlen", "badcount"):
        if word in ("badlen", "badcount") and is_mx:
            records(r, name, "MX", "10 mx.example.net.")
        elif word in ("badlen", "badcount") and is_addr:
            nodata(r)
        return word
    elif word == "servfail":
        r.set_rcode(dns.rcode.SERVFAIL)
    elif word == "refused":
        r.set_rcode(dns.rcode.REFUSED)
    elif word == "notauth":
        r.set_rcode(dns.rcode.NOTAUTH)
    elif word == "othertype":
        records(r, name, "TXT", '"v=spf1 -all"')
    elif word == "unrelated":
        if is_mx:
            records(r, n("elsewhere"), "MX", "10 mx.example.net.")
        else:
            nodata(r)
    elif word == "lame":
        # a referral to a server that does not answer for the zone
        r.flags &= ~dns.flags.AA
        r.authority.append(dns.rrset.from_text(name, 60, "IN", "NS", n("ns.lame").to_text()))
    # ---- MX hosts that hit an anomaly, and the domains that use them
    elif word.startswith("mx") and word[2:] + "host" in (
            "loophost", "servfailhost", "garbagehost", "othertypehost", "tchost"):
        if is_mx:
            records(r, name, "MX", "10 " + n(word[2:] + "host").to_text())
        else:
            nodata(r)
    elif word == "mixhosts":
        # one host that does not exist, one that could not be resolved
        if is_mx:
            records(r, name, "MX", "10 " + n("ghost").to_text(), "20 " + n("loophost").to_text())
        else:
            nodata(r)
    elif word.endswith("host") and is_addr:
        return host_answer(word, r, name, qtype, proto)
    elif word.endswith("host"):
        nodata(r)
    # ---- clean answers: facts
    elif word == "nullmx":
        if is_mx:
            records(r, name, "MX", "0 .")
        else:
            nodata(r)
    elif word == "nomail":
        nodata(r)
    elif word == "alias":
        cname(r, "alias", "nomail")
        nodata(r)
    elif word == "ghostmx":
        if is_mx:
            records(r, name, "MX", "10 " + n("ghost").to_text())
        else:
            nodata(r)
    elif word == "ghost":
        nxdomain(r)
    else:
        nxdomain(r)
    return "answer"


def wire(q, r, action):
    """The bytes to send for action, or None."""
    if action in ("drop", "close"):
        return None
    if action == "garbage":
        # the query's ID, then bytes that are no DNS message
        return q.to_wire()[:2] + bytes(range(0x80, 0xC0))
    if action == "wrongid":
        r.id = (q.id + 1) & 0xFFFF
        return r.to_wire()
    if action == "wrongq":
        r.question = [dns.rrset.RRset(n("someone-else"), q.question[0].rdclass, q.question[0].rdtype)]
        records(r, n("someone-else"), "MX", "10 mx.example.net.")
        return r.to_wire()
    w = bytearray(r.to_wire())
    if action == "badlen" and r.answer:
        # the first record's RDLENGTH says 7 octets more than it has: its
        # TTL is a marker that finds it in the wire form
        r.answer[0].ttl = BADLEN_TTL
        w = bytearray(r.to_wire())
        at = w.index(BADLEN_TTL.to_bytes(4, "big")) + 4
        rdlen = int.from_bytes(w[at:at + 2], "big")
        w[at:at + 2] = (rdlen + 7).to_bytes(2, "big")
        return bytes(w)
    if action == "badcount":
        # ANCOUNT says three records where there is one
        w[6], w[7] = 0, 3
        return bytes(w)
    return bytes(w)


def respond(data, proto):
    try:
        q = dns.message.from_wire(data)
    except Exception as e:  # a malformed query: say so and go on
        note(f"{proto} bad query: {e}")
        return None, "dropped"
    if not q.question:
        return None, "no question"
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    action = fill(q, r, proto)
    out = wire(q, r, action)
    qn = q.question[0]
    note(f"{proto} {qn.name} {dns.rdatatype.to_text(qn.rdtype)} -> "
         f"{action} {dns.rcode.to_text(r.rcode())}{' TC' if r.flags & dns.flags.TC else ''}")
    return out, action


def serve_udp(sock):
    while True:
        data, peer = sock.recvfrom(65535)
        out, _ = respond(data, "udp")
        if out is not None:
            sock.sendto(out, peer)


def serve_tcp_conn(conn):
    with conn:
        conn.settimeout(10)
        while True:
            try:
                data, _ = dns.query.receive_tcp(conn, expiration=None, one_rr_per_rrset=False)
            except Exception:
                return
            # receive_tcp parses; answer from its wire form again
            out, action = respond(data.to_wire(), "tcp")
            if action == "close" or out is None:
                return
            try:
                dns.query.send_tcp(conn, out)
            except OSError:
                return


def serve_tcp(sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=serve_tcp_conn, args=(conn,), daemon=True).start()


def main():
    global log
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="IP:PORT (PORT 0: any free port)")
    ap.add_argument("--portfile", default=None)
    ap.add_argument("--no-tcp", action="store_true")
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    if a.log:
        log = open(a.log, "a", buffering=1, encoding="utf-8")
    port = int(port)
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((host, port))
        got = u.getsockname()[1]
        if a.no_tcp:
            t = None
            break
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            t.bind((host, got))
        except OSError:
            if port:
                raise
            u.close()
            t.close()
            continue
        t.listen(16)
        break
    if t is not None:
        threading.Thread(target=serve_tcp, args=(t,), daemon=True).start()
    note(f"listening on {host}:{got}{' (UDP only)' if a.no_tcp else ''}")
    if a.portfile:
        with open(a.portfile + ".tmp", "w") as f:
            f.write(str(got))
        os.rename(a.portfile + ".tmp", a.portfile)
    serve_udp(u)


if __name__ == "__main__":
    main()

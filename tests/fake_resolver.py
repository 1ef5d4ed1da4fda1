#!/usr/bin/python3
"""fake_resolver.py --listen IP:PORT --mode MODE [--invent IP] [--log FILE]

A DNS resolver that lies the way captive portals, filtering proxies and
sandboxes do, for the tests of BounceCheck's resolver check
(tests/test_resolver_check.sh). UDP only (the verifier never needs TCP
from it). Queries are parsed and answers built by dnspython (Debian
package python3-dnspython); nothing here reads or writes DNS wire format
by hand.

Modes:
  nxdomain  NXDOMAIN to every question (without an SOA, as such proxies do)
  servfail  SERVFAIL to every question
  drop      no answer at all: every query is read and dropped
  invent    NXDOMAIN redirection: an A record (--invent, default
            11.22.0.99) for every name asked for A; an NS record for
            NS questions (so that the root zone seems fine); NOERROR
            without records for any other type

Each query is logged as one line "MODE QNAME QTYPE -> ANSWER" (--log).
"""
import argparse
import socket
import sys

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


def answer(q, mode, invent):
    """The response to query q, or None to drop it."""
    if mode == "drop":
        return None
    r = dns.message.make_response(q)
    r.flags |= dns.flags.RA
    if mode == "nxdomain":
        r.set_rcode(dns.rcode.NXDOMAIN)
    elif mode == "servfail":
        r.set_rcode(dns.rcode.SERVFAIL)
    elif q.question:
        qn = q.question[0]
        if qn.rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text(qn.name, 60, "IN", "A", invent))
        elif qn.rdtype == dns.rdatatype.NS:
            r.answer.append(dns.rrset.from_text(qn.name, 60, "IN", "NS", "a.root-servers.net."))
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True, help="IP:PORT")
    ap.add_argument("--mode", required=True, choices=["nxdomain", "servfail", "drop", "invent"])
    ap.add_argument("--invent", default="11.22.0.99")
    ap.add_argument("--log", default=None)
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    log = open(a.log, "a", buffering=1, encoding="utf-8") if a.log else sys.stdout
    print(f"listening on {a.listen} ({a.mode})", file=log, flush=True)
    while True:
        data, peer = s.recvfrom(65535)
        try:
            q = dns.message.from_wire(data)
        except Exception as e:  # a malformed query: say so and go on
            print(f"bad query from {peer}: {e}", file=log, flush=True)
            continue
        r = answer(q, a.mode, a.invent)
        what = "dropped" if r is None else dns.rcode.to_text(r.rcode()) + (" " + str(r.answer[0][0]) if r.answer else "")
        qn = q.question[0] if q.question else None
        print(f"{a.mode} {qn.name if qn else '?'} {dns.rdatatype.to_text(qn.rdtype) if qn else '?'} -> {what}",
              file=log, flush=True)
        if r is not None:
            s.sendto(r.to_wire(), peer)


if __name__ == "__main__":
    main()

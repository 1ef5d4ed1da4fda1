#!/usr/bin/python3
"""plan.py - lays out the reply-corpus world: one test domain per corpus reply.

Usage: plan.py CORPUS OUTDIR

For each reply of CORPUS (tests/replies/corpus.tsv) it makes a domain
ID.bcreplies.net whose single MX is a host that answers only that reply's
address r-ID... (the scripted server answers RCPT TO:<rID@...> with reply ID):

  - a reply with mx '-' gets its own host mx.ID.bcreplies.net;
  - a reply with a provider MX gets a host name of that provider's real
    pattern: Microsoft 365 tenants get ID-bcreplies-net.mail.protection.
    outlook.com (the tenant pattern is per domain), Google's hosts are spread
    over the provider's real MX names (gmail-smtp-in.l.google.com and its
    alt1..alt4, aspmx.l.google.com and its alternates); other providers keep
    the corpus's name, shared by the replies that name it.

Every distinct host gets its own address in 11.22.0.0/16 (on lo in the test
namespace). A verifier keeps state per MX address (back-off after 4xx
answers, recipient caps), so replies that share a host name are put in
different batches: batch k holds the k-th reply of each shared host, and each
batch is verified by its own verifier process. Writes into OUTDIR:

  zones/NAME.zone, zones.list   the root zone '.', bcreplies.net and one zone
                                per provider domain (NSD zone files)
  addrs.list                    the addresses to put on lo, one a line
  plan.tsv                      id, email, status, reason, mx host, address, batch,
                                reply code
  batch-K.csv, batch-K.txt      the batch's addresses (CSV with an email header;
                                plain, one a line)
Prints the number of batches.
"""
import collections
import os
import sys

DNS_IP = "11.22.0.1"
BASE = "bcreplies.net"
GMAIL = ["gmail-smtp-in.l.google.com"] + ["alt%d.gmail-smtp-in.l.google.com" % i for i in range(1, 5)]
ASPMX = ["aspmx.l.google.com"] + ["alt%d.aspmx.l.google.com" % i for i in range(1, 5)] + \
    ["aspmx2.googlemail.com", "aspmx3.googlemail.com"]
MS_TENANT = "example-com.mail.protection.outlook.com"


def read_corpus(path):
    """Returns a list of (id, status, reason, mx, reply code) of the corpus's replies."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            c = line.split("\t")
            rows.append((c[0], c[1], c[2], c[3], c[4][:3]))
    return rows


def zone_of(host):
    """The zone that holds a provider host name: its last two labels, or the
    last three under a two-label public suffix (ne.jp, com.au)."""
    labels = host.split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in ("ne.jp", "com.au", "co.uk", "com.br"):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    corpus, out = argv[1], argv[2]
    rows = read_corpus(corpus)
    os.makedirs(os.path.join(out, "zones"), exist_ok=True)
    spread = collections.Counter()
    hosts = {}       # row id -> MX host
    for rid, _, _, mx, _ in rows:
        if mx == "-":
            hosts[rid] = "mx.%s.%s" % (rid, BASE)
        elif mx == MS_TENANT:
            hosts[rid] = "%s-%s.mail.protection.outlook.com" % (rid, BASE.replace(".", "-"))
        elif mx == "gmail-smtp-in.l.google.com":
            hosts[rid] = GMAIL[spread[mx] % len(GMAIL)]
            spread[mx] += 1
        elif mx == "aspmx.l.google.com":
            hosts[rid] = ASPMX[spread[mx] % len(ASPMX)]
            spread[mx] += 1
        else:
            hosts[rid] = mx
    addr = {}
    for rid, _, _, _, _ in rows:
        h = hosts[rid]
        if h not in addr:
            k = len(addr)
            addr[h] = "11.22.%d.%d" % (1 + k // 250, 1 + k % 250)
    seen = collections.Counter()
    batch = {}
    for rid, _, _, _, _ in rows:
        batch[rid] = seen[hosts[rid]]
        seen[hosts[rid]] += 1
    nbatch = max(batch.values()) + 1

    zones = collections.defaultdict(list)
    zones["."] = []
    zones[BASE].append("ns IN A %s" % DNS_IP)
    for rid, _, _, _, _ in rows:
        h = hosts[rid]
        zones[BASE].append("%s IN MX 10 %s." % (rid, h))
    for h, ip in addr.items():
        if h.endswith("." + BASE):
            zones[BASE].append("%s IN A %s" % (h[:-len(BASE) - 1], ip))
        else:
            z = zone_of(h)
            rel = h[:-len(z) - 1] if h != z else "@"
            zones[z].append("%s IN A %s" % (rel, ip))
    names = []
    for z, recs in zones.items():
        origin = "." if z == "." else z + "."
        fname = "root" if z == "." else z
        names.append((z, fname))
        with open(os.path.join(out, "zones", fname + ".zone"), "w") as f:
            f.write("$ORIGIN %s\n$TTL 300\n" % origin)
            f.write("@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n" % (BASE, BASE))
            f.write("@ IN NS ns.%s.\n" % BASE)
            for r in recs:
                f.write(r + "\n")
    with open(os.path.join(out, "zones.list"), "w") as f:
        for z, fname in names:
            f.write("%s %s.zone\n" % (z, fname))
    with open(os.path.join(out, "addrs.list"), "w") as f:
        f.write(DNS_IP + "\n")
        for ip in addr.values():
            f.write(ip + "\n")
    files = {}
    for k in range(nbatch):
        files[k] = (open(os.path.join(out, "batch-%d.csv" % k), "w"),
                    open(os.path.join(out, "batch-%d.txt" % k), "w"))
        files[k][0].write("email\n")
    with open(os.path.join(out, "plan.tsv"), "w") as f:
        for rid, status, reason, _, code in rows:
            email = "r%s@%s.%s" % (rid, rid, BASE)
            h = hosts[rid]
            f.write("\t".join((rid, email, status, reason, h, addr[h], str(batch[rid]), code)) + "\n")
            files[batch[rid]][0].write(email + "\n")
            files[batch[rid]][1].write(email + "\n")
    for a, b in files.values():
        a.close()
        b.close()
    print(nbatch)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/python3
"""plan.py - lays out the provider-replica world (tests/providers/world.json).

Usage: plan.py WORLD.json PROFILES.json OUTDIR

Gives every MX host name of every replica instance its own address in
11.23.1.0/24 (in the order of world.json), and writes into OUTDIR:

  zones/NAME.zone, zones.list   NSD zone files: the root zone '.' (SOA and NS
                                only, so that every other name is NXDOMAIN),
                                bcreplicas.net (the name server's own name),
                                each provider zone holding its real MX host
                                names (google.com, outlook.com, yahoodns.net,
                                ...) and each customer domain with its MX
                                records (gmail.com, m365-tenant.net, ...)
  addrs.list                    the addresses to put on lo, one a line (the
                                name server's, the MX hosts', the listed client's)
  instances.tsv                 name, profile, addresses (comma-separated),
                                extra arguments for scripted_smtp.py (space-separated)
  hosts.tsv                     host name, address, instance
  world.env                     DNS=..., LISTED=..., NS_NAME=...
Every instance's profile must exist in PROFILES.json and every MX target of a
domain must be a host of some instance; exit status 1 otherwise.
"""
import collections
import json
import os
import sys

BASE = "bcreplicas.net"


def zone_of(name):
    """The zone that holds NAME: its last two labels (every name of this world
    is under a two-label registrable domain)."""
    return ".".join(name.split(".")[-2:])


def rel(name, zone):
    return "@" if name == zone else name[:-len(zone) - 1]


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        world = json.load(f)
    with open(argv[2], encoding="utf-8") as f:
        profiles = json.load(f)["profiles"]
    out = argv[3]
    os.makedirs(os.path.join(out, "zones"), exist_ok=True)
    dns = world["dns"]
    listed = world["listed_client"]

    addr = {}
    owner = {}
    for inst in world["instances"]:
        if inst["profile"] not in profiles:
            print("plan.py: instance %s: no profile %s" % (inst["name"], inst["profile"]), file=sys.stderr)
            return 1
        for h in inst["hosts"]:
            if h in addr:
                print("plan.py: host %s is in two instances" % h, file=sys.stderr)
                return 1
            k = len(addr)
            addr[h] = "11.23.1.%d" % (1 + k) if k < 250 else None
            owner[h] = inst["name"]
            if addr[h] is None:
                print("plan.py: more than 250 hosts", file=sys.stderr)
                return 1

    zones = collections.OrderedDict()
    zones["."] = []
    zones[BASE] = ["ns IN A %s" % dns]
    for h, ip in addr.items():
        z = zone_of(h)
        zones.setdefault(z, []).append("%s IN A %s" % (rel(h, z), ip))
    for domain, mxs in world["domains"].items():
        z = zone_of(domain)
        for pref, host in mxs:
            if host not in addr:
                print("plan.py: %s: MX %s is no replica host" % (domain, host), file=sys.stderr)
                return 1
            zones.setdefault(z, []).append("%s IN MX %d %s." % (rel(domain, z), pref, host))

    with open(os.path.join(out, "zones.list"), "w") as zl:
        for z, recs in zones.items():
            origin = "." if z == "." else z + "."
            fname = "root" if z == "." else z
            with open(os.path.join(out, "zones", fname + ".zone"), "w") as f:
                f.write("$ORIGIN %s\n$TTL 300\n" % origin)
                f.write("@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n" % (BASE, BASE))
                f.write("@ IN NS ns.%s.\n" % BASE)
                for r in recs:
                    f.write(r + "\n")
            zl.write("%s %s.zone\n" % (z, fname))
    with open(os.path.join(out, "addrs.list"), "w") as f:
        f.write(dns + "\n")
        for ip in addr.values():
            f.write(ip + "\n")
        f.write(listed + "\n")
    with open(os.path.join(out, "instances.tsv"), "w") as f:
        for inst in world["instances"]:
            f.write("\t".join((inst["name"], inst["profile"], ",".join(addr[h] for h in inst["hosts"]),
                               " ".join(inst.get("args", [])))) + "\n")
    with open(os.path.join(out, "hosts.tsv"), "w") as f:
        for h, ip in addr.items():
            f.write("%s\t%s\t%s\n" % (h, ip, owner[h]))
    with open(os.path.join(out, "world.env"), "w") as f:
        f.write("DNS=%s\nLISTED=%s\nNS_NAME=ns.%s\n" % (dns, listed, BASE))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

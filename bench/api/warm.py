#!/usr/bin/env python3
"""warm.py - prepares one server for bench/api/run.sh and checks its cache.

Usage: warm.py BASE_URL LIST [KEY]

BASE_URL is http://127.0.0.1:PORT, LIST the "local<TAB>domain" file that
verify.lua reads, KEY an API key sent as "Authorization: Bearer KEY".

1. Requests GET /v1/verify?email=ADDR once for every address of LIST over one
   keep-alive connection: afterwards the whole list is in the server's cache.
   Every answer must be 200 with a JSON object naming the address.
2. Requests the first 200 addresses again: most of them must now answer
   "cached": true (a server may choose not to cache some verdicts, such as
   bad syntax, so not all), else the "cached" runs would not measure a cache.
3. Asks twice for an address that is not in LIST (a cached address of step 2
   with a suffix on its local part, the shape verify.lua's "unique" mode sends): the first answer must be "cached": false, the second
   "cached": true, so the "uncached" runs measure verifications, not lookups.

Prints one line, "warm: N addresses, C of the first 200 cached on the second
request", and exits 0; on any failure prints why to stderr and exits 1.
"""
import http.client
import json
import sys
import urllib.parse


def fail(msg):
    sys.stderr.write(f"warm.py: {msg}\n")
    sys.exit(1)


class Client:
    """One keep-alive connection; reconnects when the server closes it."""

    def __init__(self, base, key):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.conn = None

    def verify(self, addr):
        path = "/v1/verify?email=" + urllib.parse.quote(addr, safe="")
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request("GET", path, headers=self.headers)
                r = self.conn.getresponse()
                body = r.read()
                break
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    fail(f"GET {path}: {e}")
        if r.status != 200:
            fail(f"GET {path}: HTTP {r.status}: {body[:300]!r}")
        try:
            obj = json.loads(body)
        except ValueError as e:
            fail(f"GET {path}: the answer is not JSON ({e}): {body[:300]!r}")
        if not isinstance(obj, dict) or "cached" not in obj:
            fail(f"GET {path}: the answer has no \"cached\" field: {body[:300]!r}")
        return obj


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write("usage: warm.py BASE_URL LIST [KEY]\n")
        return 1
    base, listfile = argv[0], argv[1]
    key = argv[2] if len(argv) == 3 else None
    addrs = []
    with open(listfile, encoding="utf-8") as f:
        for line in f:
            local, sep, domain = line.rstrip("\n").partition("\t")
            if sep:
                addrs.append(f"{local}@{domain}")
    if not addrs:
        fail(f"{listfile} holds no addresses")
    c = Client(base, key)
    for a in addrs:
        c.verify(a)
    again = addrs[:200]
    hit = [a for a in again if c.verify(a)["cached"] is True]
    cached = len(hit)
    if cached == 0 or cached < len(again) // 2:
        fail(f"only {cached} of {len(again)} addresses answered \"cached\": true on their "
             "second request: the server does not cache these results")
    local, _, domain = hit[0].rpartition("@")
    fresh = f"{local}warmcheck{len(addrs)}@{domain}"
    first, second = c.verify(fresh)["cached"], c.verify(fresh)["cached"]
    if first is not False or second is not True:
        fail(f"{fresh}: \"cached\" was {first!r} then {second!r}, want false then true")
    print(f"warm: {len(addrs)} addresses, {cached} of the first {len(again)} cached "
          "on the second request")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

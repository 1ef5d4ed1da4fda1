#!/usr/bin/env python3
"""test_slow_clients.py BOUNCECHECK - slow clients cannot starve `bouncecheck
serve` (offline, loopback only, no root). Raw sockets from several loopback
source addresses (127.0.0.x) play the clients:

  - 1,000 connections dripping their headers a byte a second from ONE
    address: the per-address limit closes all but 32 at once, the header
    deadline cuts those 32;
  - 1,000 from 40 addresses (more than --max-connections): new connections
    take the places of the oldest ones still waiting for headers, the rest
    are cut at the header deadline;
  - 1,000 from one address with the per-address limit lifted: the header
    deadline frees every slot;
  meanwhile a normal client on 127.0.0.2 asks GET /healthz every 100 ms:
  every request must be answered (200) in under a second.
  - a body dripped below --body-min-rate is cut, one above it is taken (201);
  - a keep-alive connection is closed after --keepalive-timeout idle, and
    one dripping its next request after --keepalive-timeout +
    --header-timeout;
  - --trusted-proxy: the proxy is not limited, its clients are counted by
    X-Forwarded-For (the rightmost untrusted entry; 429 beyond the limit),
    X-Forwarded-For from any other peer is ignored;
  - at --max-connections with every connection busy, a new connection is
    closed at once (not left in the listen queue).
Prints TAP, with the figures as '#' lines.
"""

import http.client
import os
import resource
import select
import selectors
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from apitest import TIME_SCALE, Server, Tap  # noqa: E402

tap = Tap()
SERVERS = []
N_SLOW = 1000
HEADER_TIMEOUT = 3
NORMAL = "127.0.0.2"


def figure(text):
    print(f"# {text}", flush=True)


def new_server(bin, work, name, args):
    s = Server(bin, work, args=["--offline"] + args, name=name)
    SERVERS.append(s)
    err = s.start()
    tap.ok(err is None, f"{name}: `bouncecheck serve --offline {' '.join(args)}` starts", err)
    return s if err is None else None


def connect(port, src="127.0.0.1", timeout=5.0):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\0" * 8)
    c.bind((src, 0))
    c.settimeout(timeout)
    c.connect(("127.0.0.1", port))
    return c


def closed_within(c, seconds):
    """Seconds until the server closed c (EOF or reset), or None when it did
    not within seconds. Any bytes before the end are read and dropped."""
    t0 = time.monotonic()
    c.settimeout(0.05)
    while time.monotonic() - t0 < seconds:
        try:
            if not c.recv(65536):
                return time.monotonic() - t0
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - t0
    return None


def closed_set(conns, seconds):
    """Indexes of the connections the server closed within seconds (the
    others are still open then). Bytes before an end are read and dropped."""
    shut = set()
    t0 = time.monotonic()
    while len(shut) < len(conns) and time.monotonic() - t0 < seconds:
        live = [c for i, c in enumerate(conns) if i not in shut]
        ready, _, _ = select.select(live, [], [], 0.05)
        for c in ready:
            try:
                if c.recv(65536):
                    continue
            except OSError:
                pass
            shut.add(conns.index(c))
    return shut


def get(port, path="/healthz", src=NORMAL, headers=None, timeout=5.0):
    """(status, headers dict, seconds) of one request on a new connection;
    status 0 when no answer came."""
    t0 = time.monotonic()
    try:
        h = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(src, 0))
        h.request("GET", path, headers=dict({"Host": "localhost"}, **(headers or {})))
        r = h.getresponse()
        r.read()
        h.close()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, time.monotonic() - t0
    except (OSError, http.client.HTTPException):
        return 0, {}, time.monotonic() - t0


class Normal(threading.Thread):
    """GET /healthz every 100 ms from 127.0.0.2 until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.results = []  # (status, seconds)
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            t0 = time.monotonic()
            st, _, el = get(self.port)
            self.results.append((st, el))
            self.halt.wait(max(0.0, 0.1 - (time.monotonic() - t0)))

    def stop(self):
        self.halt.set()
        self.join()


class Drips:
    """n connections from the given source addresses, each sending the start
    of a request and then one more header byte a second. closed[i]: seconds
    from its connect to the server's end of it (None while open)."""

    START = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Drip: "

    def __init__(self, port, n, sources):
        self.socks, self.t0, self.closed = [], [], []
        self.sel = selectors.DefaultSelector()
        self.failed_connects = 0
        for i in range(n):
            try:
                c = connect(port, sources[i % len(sources)])
            except OSError:
                self.failed_connects += 1
                continue
            c.setblocking(False)
            k = len(self.socks)
            self.socks.append(c)
            self.t0.append(time.monotonic())
            self.closed.append(None)
            self.sel.register(c, selectors.EVENT_READ, k)
            self.send(k, self.START)

    def end(self, k):
        if self.closed[k] is None:
            self.closed[k] = time.monotonic() - self.t0[k]
            self.sel.unregister(self.socks[k])
            self.socks[k].close()

    def send(self, k, data):
        try:
            self.socks[k].send(data)
        except OSError:
            self.end(k)

    def run(self, seconds):
        """Drips and watches for closes for seconds; True when every
        connection has been closed by then."""
        stop = time.monotonic() + seconds
        next_drip = time.monotonic() + 1
        while time.monotonic() < stop and any(c is None for c in self.closed):
            for key, _ in self.sel.select(timeout=0.05):
                k = key.data
                try:
                    if not self.socks[k].recv(65536):
                        self.end(k)
                except BlockingIOError:
                    pass
                except OSError:
                    self.end(k)
            if time.monotonic() >= next_drip:
                next_drip += 1
                for k, c in enumerate(self.closed):
                    if c is None:
                        self.send(k, b"a")
        for k, c in enumerate(self.closed):
            if c is None:
                self.sel.unregister(self.socks[k])
                self.socks[k].close()
        return all(c is not None for c in self.closed)


def normal_ok(nm, what):
    lat = [el for st, el in nm.results if st == 200]
    bad = [(st, round(el, 3)) for st, el in nm.results if st != 200 or el >= 1.0]
    if lat:
        figure(f"{what}: normal client: {len(nm.results)} requests, {len(lat)} answered 200; latency max "
               f"{max(lat) * 1000:.0f} ms, median {statistics.median(lat) * 1000:.0f} ms")
    tap.ok(len(nm.results) >= 20 and not bad,
           f"{what}: every normal GET /healthz ({len(nm.results)}, one per 100 ms) answered 200 in under 1 s",
           [f"not 200 or >= 1 s: {bad[:10]}"])


def attack(port, n, sources, what, expect_held=None):
    """Runs n drips against port with a normal client beside; checks and
    prints the figures."""
    nm = Normal(port)
    nm.start()
    time.sleep(0.3)
    t_start = time.monotonic()
    d = Drips(port, n, sources)
    opened = time.monotonic() - t_start
    all_closed = d.run(HEADER_TIMEOUT + 4)
    time.sleep(0.3)
    nm.stop()
    closed = [c for c in d.closed if c is not None]
    early = [c for c in closed if c < HEADER_TIMEOUT - 0.5]
    at_deadline = [c for c in closed if HEADER_TIMEOUT - 0.5 <= c]
    figure(f"{what}: {len(d.closed)} slow connections opened in {opened:.2f} s ({d.failed_connects} connects "
           f"failed); {len(early)} closed at once or replaced (max {max(early, default=0) * 1000:.0f} ms after "
           f"connect); {len(at_deadline)} cut by the header deadline ({HEADER_TIMEOUT} s) at "
           f"{min(at_deadline, default=0):.2f}..{max(at_deadline, default=0):.2f} s; "
           f"{len(d.closed) - len(closed)} still open")
    normal_ok(nm, what)
    tap.ok(all_closed and all(c <= HEADER_TIMEOUT + 1.0 for c in closed),
           f"{what}: every slow connection is closed by the header deadline + 1 s "
           f"(latest {max(closed, default=0):.2f} s)", [f"{len(d.closed) - len(closed)} still open"])
    tap.ok(all(HEADER_TIMEOUT - 0.2 <= c for c in at_deadline),
           f"{what}: none cut before the header deadline", sorted(at_deadline)[:5])
    if expect_held is not None:
        tap.ok(len(at_deadline) <= expect_held and len(early) >= len(d.closed) - expect_held,
               f"{what}: at most {expect_held} held ({len(at_deadline)}), the other {len(early)} closed at once",
               None)
    return d, early, at_deadline


def metric_line(s, key):
    h = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5, source_address=("127.0.0.3", 0))
    h.request("GET", "/metrics", headers={"Host": "localhost"})
    text = h.getresponse().read().decode()
    h.close()
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    return None


def t_floods(bin, work):
    s = new_server(bin, work, "flood", ["--header-timeout", str(HEADER_TIMEOUT)])
    if not s:
        return
    attack(s.port, N_SLOW, ["127.0.0.1"], "one address", expect_held=32)
    refused = metric_line(s, 'bouncecheck_http_connections_refused_total{reason="per_ip"}')
    tap.ok(refused is not None and refused >= N_SLOW - 32,
           f"/metrics counts the connections refused by the per-address limit ({refused})")
    srcs = [f"127.0.0.{i}" for i in range(10, 50)]
    attack(s.port, N_SLOW, srcs, f"{len(srcs)} addresses, over --max-connections 512")
    time.sleep(0.3)
    open_now = metric_line(s, "bouncecheck_http_connections")
    tap.ok(open_now is not None and open_now <= 2, f"afterwards no slot is held ({open_now} connections open)")
    s.stop()

    s = new_server(bin, work, "flood-nolimit", ["--header-timeout", str(HEADER_TIMEOUT),
                                                "--max-connections-per-ip", "0", "--max-connections", "2000"])
    if not s:
        return
    d, early, held = attack(s.port, N_SLOW, ["127.0.0.1"], "one address, no per-address limit")
    tap.ok(len(held) >= N_SLOW - 10, f"with no per-address limit the header deadline is what frees the slots "
           f"({len(held)} of {N_SLOW} cut at it)")
    s.stop()


def slow_send(c, data, rate, until=None):
    """Sends data at rate bytes a second in 1/10 s steps; False when the
    server closed the connection meanwhile."""
    step = max(1, int(rate / 10))
    t0 = time.monotonic()
    for i in range(0, len(data), step):
        try:
            c.sendall(data[i:i + step])
        except OSError:
            return False
        if until and time.monotonic() > until:
            return True
        wait = t0 + (i + step) / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    return True


def t_bodies_and_keepalive(bin, work):
    s = new_server(bin, work, "bodies", ["--header-timeout", "2", "--body-min-rate", "10000",
                                         "--keepalive-timeout", "2"])
    if not s:
        return
    rows = "".join(f"user{i}@example.com\n" for i in range(6000)).encode()
    body = b"email\n" + rows[:100000 - 6]
    head = (b"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))

    c = connect(s.port)
    c.sendall(head)
    t0 = time.monotonic()
    slow_send(c, body, 2000, until=t0 + 8)
    el = closed_within(c, max(0.1, t0 + 8 - time.monotonic()))
    el = None if el is None else time.monotonic() - t0
    c.close()
    figure(f"a body of 100,000 bytes at 2,000 B/s (--body-min-rate 10000, --header-timeout 2): cut "
           f"{el if el is None else round(el, 2)} s after its headers (the whole would take 50 s)")
    tap.ok(el is not None and 2.0 <= el <= 4.0,
           "a body dripped below --body-min-rate is cut after --header-timeout plus what it sent at the rate",
           f"closed after {el}")

    c = connect(s.port)
    c.sendall(head)
    t0 = time.monotonic()
    sent = slow_send(c, body, 40000)
    c.settimeout(10)
    got = b""
    try:
        while b"\r\n\r\n" not in got:
            chunk = c.recv(65536)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    c.close()
    figure(f"a body of 100,000 bytes at 40,000 B/s: sent {sent}, answered {got[:12]!r} after "
           f"{time.monotonic() - t0:.2f} s")
    tap.ok(sent and got.startswith(b"HTTP/1.1 201"), "a body above --body-min-rate is taken (201), however long",
           repr(got[:300]))

    h = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10, source_address=("127.0.0.4", 0))
    h.request("GET", "/healthz", headers={"Host": "localhost"})
    r = h.getresponse()
    r.read()
    el = closed_within(h.sock, 8)
    h.close()
    figure(f"keep-alive connection idle after its answer (--keepalive-timeout 2): closed after {el} s")
    tap.ok(r.status == 200 and el is not None and 1.5 <= el <= 3.5,
           "an idle keep-alive connection is closed after --keepalive-timeout", f"closed after {el}")

    h = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10, source_address=("127.0.0.4", 0))
    h.request("GET", "/healthz", headers={"Host": "localhost"})
    r = h.getresponse()
    r.read()
    c = h.sock
    t0 = time.monotonic()
    next_req = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Drip: " + b"a" * 40
    el = None
    for i in range(len(next_req)):
        try:
            c.send(next_req[i:i + 1])
        except OSError:
            el = time.monotonic() - t0
            break
        e = closed_within(c, 0.5)
        if e is not None:
            el = time.monotonic() - t0
            break
    h.close()
    figure(f"a keep-alive connection dripping its next request a byte every 0.5 s: cut after {el} s "
           f"(--keepalive-timeout 2 + --header-timeout 2)")
    tap.ok(el is not None and 3.5 <= el <= 5.5,
           "the next request's headers must be in within --keepalive-timeout + --header-timeout",
           f"closed after {el}")
    s.stop()


def hold_post(port, src, xff=None):
    """A request whose headers are in and whose body never comes: in
    progress until closed."""
    c = connect(port, src)
    c.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\nContent-Length: 1000\r\n"
              + (b"X-Forwarded-For: " + xff.encode() + b"\r\n" if xff else b"") + b"\r\n")
    return c


def t_proxy(bin, work):
    s = new_server(bin, work, "proxy", ["--trusted-proxy", "127.0.0.1,::1", "--trusted-proxy", "10.9.0.0/16",
                                        "--max-connections-per-ip", "3", "--body-min-rate", "0",
                                        "--header-timeout", "5"])
    if not s:
        return
    idle = [connect(s.port, "127.0.0.1") for _ in range(8)]
    gone = [closed_within(c, 0.05) for c in idle]
    tap.ok(all(g is None for g in gone), "the trusted proxy's own address is not limited (8 connections, limit 3)",
           str(gone))
    held = [hold_post(s.port, "127.0.0.1", "203.0.113.9") for _ in range(3)]
    time.sleep(0.3)
    st, hd, _ = get(s.port, src="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.9"})
    tap.ok(st == 429 and hd.get("retry-after") == "1",
           "through the proxy, a 4th request in progress from one X-Forwarded-For client gets 429 with Retry-After",
           f"status {st} {hd}")
    st2, _, _ = get(s.port, src="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.9, 10.9.1.1, 127.0.0.1"})
    tap.ok(st2 == 429, "trusted proxies right of the client in X-Forwarded-For are skipped (429 again)",
           f"status {st2}")
    st3, _, _ = get(s.port, src="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.10"})
    st4, _, _ = get(s.port, src="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.1"})
    tap.ok(st3 == 200 and st4 == 200, "another client through the proxy is answered; so is one that wrote the "
           "limited address itself left of its own (the rightmost untrusted entry counts)",
           f"statuses {st3} {st4}")
    st5, _, _ = get(s.port, src="127.0.0.5", headers={"X-Forwarded-For": "203.0.113.11"})
    # (which of the four is closed depends on when the server saw the end
    # of st5's connection: the 4th, or the 3rd and then the 4th; so the
    # check is that the address never holds more than 3)
    mine = [connect(s.port, "127.0.0.5") for _ in range(4)]
    shut = closed_set(mine, 1.0 * TIME_SCALE)
    tap.ok(st5 == 200 and 1 <= len(shut) <= 2 and len(mine) - len(shut) <= 3,
           "X-Forwarded-For from a peer that is not a trusted proxy is ignored: its own address is limited "
           f"(4 connections at --max-connections-per-ip 3: closed {sorted(shut)})", f"status {st5}")
    for c in held + idle + mine:
        c.close()
    time.sleep(0.3)
    st6, _, _ = get(s.port, src="127.0.0.1", headers={"X-Forwarded-For": "203.0.113.9"})
    tap.ok(st6 == 200, "once its requests ended the client is answered again", f"status {st6}")
    s.stop()


def t_full(bin, work):
    s = new_server(bin, work, "full", ["--max-connections", "20", "--max-connections-per-ip", "0",
                                       "--body-min-rate", "0"])
    if not s:
        return
    held = [hold_post(s.port, "127.0.0.1") for _ in range(20)]
    time.sleep(0.5)
    t0 = time.monotonic()
    extra = connect(s.port, "127.0.0.6")
    el = closed_within(extra, 3.0)
    el = None if el is None else time.monotonic() - t0
    extra.close()
    figure(f"--max-connections 20 with 20 requests in progress: a 21st connection closed after "
           f"{el if el is None else round(el * 1000)} ms")
    tap.ok(el is not None and el < 0.5,
           "at --max-connections, with every connection busy, a new one is closed at once (not queued)",
           f"closed after {el}")
    held.pop().close()
    time.sleep(0.3)
    st, _, el2 = get(s.port)
    tap.ok(st == 200, f"a slot freed, the next request is answered ({el2 * 1000:.0f} ms)", f"status {st}")
    for c in held:
        c.close()
    s.stop()


def main():
    if len(sys.argv) != 2:
        print("usage: test_slow_clients.py path/to/bouncecheck", file=sys.stderr)
        return 2
    bin = os.path.abspath(sys.argv[1])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * N_SLOW + 600  # the test's sockets and the server's (it inherits the limit)
    if soft < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
        except (ValueError, OSError):
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:
        print(f"1..0 # SKIP ulimit -n is {soft}, below the {need} this test needs")
        return 0
    try:
        probe = socket.socket()
        probe.bind(("127.0.0.2", 0))
        probe.close()
    except OSError as e:
        print(f"1..0 # SKIP cannot bind 127.0.0.2 ({e})")
        return 0
    keep = os.environ.get("BC_API_KEEP") == "1"
    work = tempfile.mkdtemp(prefix="bc-slow-")
    t0 = time.monotonic()
    try:
        for t in (t_floods, t_bodies_and_keepalive, t_proxy, t_full):
            try:
                t(bin, work)
            except Exception as e:  # one part's crash is one failure, the rest still runs
                tap.ok(False, f"{t.__name__} ran to its end", f"{type(e).__name__}: {e}")
    finally:
        for s in SERVERS:
            s.stop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    figure(f"total {time.monotonic() - t0:.1f} s")
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""latency_proxy.py - a TCP proxy that emulates a WAN link by delaying data.

Usage:
    latency_proxy.py --listen IP:PORT --target IP:PORT --delay-ms N

Every chunk read from either side is written to the other side N ms after it
arrived (one-way delay N, so a request/response round trip gains 2N ms).
Chunks keep their order, and the delay is per chunk, not per connection: a
chunk that arrives while an earlier one is still waiting is not held up any
longer than N ms itself, as on a real link with enough bandwidth. A
half-close (EOF) travels with the same delay, after the data before it.

Many connections are handled at once, each independently. The proxy prints
"ready" on stdout (flushed) once it listens, and exits with status 0 on
SIGTERM or SIGINT, closing every connection. On SIGUSR1 it prints
"stats connections=TOTAL peak=MAX" (accepted connections and the most that
clients had open at once since the previous SIGUSR1; a client connection
counts from accept until the client closes or resets it) and starts counting
anew, so a benchmark can check that a tool kept to its connection cap. When the target refuses, the
accepted client connection is reset (RST), as the target's refusal would. The kernel netem qdisc is not
available on the test machines, which is why this exists.

IPv6 addresses are written in brackets: --listen [::1]:2525.
"""

import argparse
import asyncio
import signal
import socket
import struct
import sys

CHUNK = 65536
# Chunks in flight per direction before the reader stops reading: enough for
# any SMTP exchange, a bound on memory when one side does not read.
MAX_QUEUED = 256


def parse_endpoint(text):
    """Splits 'IP:PORT' or '[IPv6]:PORT' into (host, port); raises ValueError."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError(f"bad endpoint '{text}'")
        port = rest[1:]
    else:
        host, sep, port = text.rpartition(":")
        if not sep:
            raise ValueError(f"bad endpoint '{text}' (want IP:PORT)")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad endpoint '{text}'")
    return host, int(port)


async def pump(reader, writer, delay, loop, on_read_end=None):
    """Copies reader to writer, each chunk (and the final EOF) delay s late.

    A reading task stamps each chunk with its arrival time and queues it; this
    coroutine's writing side sleeps until stamp + delay and writes, so chunks
    overlap their delays and keep their order. Returns when EOF was
    forwarded or either side failed; does not close the writer. Calls
    on_read_end() (when given) once the reader hit EOF or an error.
    """
    queue = asyncio.Queue(MAX_QUEUED)

    async def read_side():
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data and on_read_end is not None:
                    on_read_end()
                await queue.put((loop.time() + delay, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            if on_read_end is not None:
                on_read_end()
            await queue.put((loop.time() + delay, None))

    reading = asyncio.ensure_future(read_side())
    try:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:  # read error: stop this direction
                return False
            if not data:  # EOF: forward a half-close
                if writer.can_write_eof():
                    try:
                        writer.write_eof()
                    except (ConnectionError, OSError):
                        pass
                return True
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        return False
    finally:
        reading.cancel()
        try:
            await reading
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass


async def close_writer(writer):
    """Closes a stream writer, ignoring errors from an already dead peer."""
    writer.close()
    try:
        await writer.wait_closed()
    except (ConnectionError, OSError):
        pass


class Proxy:
    """Holds the options, the live connection tasks and the counters."""

    def __init__(self, target, delay):
        self.target = target
        self.delay = delay
        self.tasks = set()
        self.open_clients = 0
        self.total = 0
        self.peak = 0

    def report(self):
        """Prints and resets the connection counters (SIGUSR1)."""
        print(f"stats connections={self.total} peak={self.peak}", flush=True)
        self.total = 0
        self.peak = self.open_clients

    async def handle(self, client_r, client_w):
        """Serves one accepted connection until both directions are done."""
        task = asyncio.current_task()
        self.tasks.add(task)
        self.total += 1
        self.open_clients += 1
        self.peak = max(self.peak, self.open_clients)
        client_open = True

        def client_closed():
            nonlocal client_open
            if client_open:
                client_open = False
                self.open_clients -= 1

        loop = asyncio.get_running_loop()
        upstream_w = None
        try:
            try:
                upstream_r, upstream_w = await asyncio.open_connection(*self.target)
            except OSError as e:
                print(f"latency_proxy: connect to {self.target[0]}:{self.target[1]}: {e}",
                      file=sys.stderr, flush=True)
                # Answer with a reset, as the unreachable target would have.
                sock = client_w.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            up = asyncio.ensure_future(pump(client_r, upstream_w, self.delay, loop, client_closed))
            down = asyncio.ensure_future(pump(upstream_r, client_w, self.delay, loop))
            pending = {up, down}
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                # A direction that failed (reset) ends the whole connection;
                # a clean EOF lets the other direction finish its data.
                if any(not t.cancelled() and t.exception() is None and t.result() is False
                       for t in done):
                    for t in pending:
                        t.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    break
        except asyncio.CancelledError:
            pass
        finally:
            if upstream_w is not None:
                await close_writer(upstream_w)
            await close_writer(client_w)
            client_closed()
            self.tasks.discard(task)


async def main_async(args):
    """Starts the listener, prints 'ready', and waits for SIGTERM/SIGINT."""
    loop = asyncio.get_running_loop()
    proxy = Proxy(args.target, args.delay_ms / 1000.0)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, proxy.report)
    server = await asyncio.start_server(proxy.handle, args.listen[0], args.listen[1],
                                        reuse_address=True, backlog=1024)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    for t in list(proxy.tasks):
        t.cancel()
    await asyncio.gather(*list(proxy.tasks), return_exceptions=True)
    await server.wait_closed()


def main():
    """Parses the command line and runs the proxy; returns the exit status."""
    ap = argparse.ArgumentParser(description="TCP proxy adding a one-way delay to every chunk")
    ap.add_argument("--listen", required=True, type=parse_endpoint, metavar="IP:PORT")
    ap.add_argument("--target", required=True, type=parse_endpoint, metavar="IP:PORT")
    ap.add_argument("--delay-ms", required=True, type=float, metavar="N",
                    help="one-way delay in milliseconds (round trip gains 2N)")
    args = ap.parse_args()
    if args.delay_ms < 0:
        ap.error("--delay-ms must be >= 0")
    try:
        asyncio.run(main_async(args))
    except OSError as e:
        print(f"latency_proxy: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

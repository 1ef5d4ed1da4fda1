#!/usr/bin/python3
"""smtp_test_server.py - small SMTP servers for `bouncecheck smtp-test`'s tests.

Each mode is one kind of server smtp-test has to describe. None of them ever
takes a message: DATA is answered 554 and logged, so a test can assert that
smtp-test never sent it.

Usage:
  smtp_test_server.py --listen IP:PORT --mode MODE [--cert FILE --key FILE]
                      [--banner-name NAME] [--log FILE]

Modes:
  starttls     EHLO offers SIZE 35882577, PIPELINING, STARTTLS, SMTPUTF8,
               8BITMIME, CHUNKING, ENHANCEDSTATUSCODES, DSN, X-TEST-EXT a b;
               after TLS also AUTH PLAIN LOGIN; relaying refused
               (554 5.7.1 relay access denied). Needs --cert/--key.
  plain        no STARTTLS, AUTH LOGIN PLAIN offered in the clear, SIZE
               without a number; relaying refused
  relay        like plain without AUTH, but every RCPT is accepted: an open relay
  implicit     TLS from the first byte (port 465 style), then like starttls
               without STARTTLS. Needs --cert/--key.
  closebanner  sends the banner and closes the connection
  slow         accepts the connection and never says anything
  helo_only    EHLO refused with 502, HELO accepted; relaying refused

The log (--log) gets one line per event: "CONNECT", "C <command>", "CLOSE".
"ready" is printed on stdout once the socket listens.
"""
import argparse
import asyncio
import ssl
import sys

MODES = ("starttls", "plain", "relay", "implicit", "closebanner", "slow", "helo_only")
MAX_LINE = 4096


class Server:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.tls = None
        if args.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)
        self.logf = open(args.log, "a", buffering=1) if args.log else None

    def log(self, what):
        if self.logf:
            self.logf.write(what + "\n")

    async def send(self, writer, *lines):
        data = b"".join(l.encode() + b"\r\n" for l in lines)
        writer.write(data)
        await writer.drain()

    def ehlo_lines(self, tls_active):
        name = self.args.banner_name
        if self.mode in ("starttls", "implicit"):
            caps = ["SIZE 35882577", "PIPELINING"]
            if self.mode == "starttls" and not tls_active:
                caps.append("STARTTLS")
            if tls_active:
                caps.append("AUTH PLAIN LOGIN")
            caps += ["SMTPUTF8", "8BITMIME", "CHUNKING", "ENHANCEDSTATUSCODES", "DSN", "X-TEST-EXT a b"]
        elif self.mode == "plain":
            caps = ["SIZE", "PIPELINING", "AUTH LOGIN PLAIN", "AUTH=LOGIN PLAIN", "8BITMIME"]
        else:
            caps = ["PIPELINING", "8BITMIME"]
        lines = [name + " hello"] + caps
        return ["250%s%s" % ("-" if i < len(lines) - 1 else " ", l) for i, l in enumerate(lines)]

    async def handle(self, reader, writer):
        self.log("CONNECT")
        try:
            await self.session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError, ValueError) as e:
            self.log("ERROR %s" % e.__class__.__name__)
        finally:
            self.log("CLOSE")
            try:
                writer.close()
            except Exception:
                pass

    async def session(self, reader, writer):
        mode = self.mode
        if mode == "slow":
            while await reader.read(4096):
                pass
            return
        await self.send(writer, "220 %s ESMTP smtp_test_server" % self.args.banner_name)
        if mode == "closebanner":
            return
        tls_active = mode == "implicit"
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")[:MAX_LINE]
            self.log("C " + line)
            verb = line[:4].upper()
            if verb == "EHLO":
                if mode == "helo_only":
                    await self.send(writer, "502 5.5.1 EHLO not implemented")
                else:
                    await self.send(writer, *self.ehlo_lines(tls_active))
            elif verb == "HELO":
                await self.send(writer, "250 %s" % self.args.banner_name)
            elif verb == "STAR" and line.upper() == "STARTTLS" and mode == "starttls" and not tls_active:
                await self.send(writer, "220 2.0.0 ready to start TLS")
                await writer.start_tls(self.tls)
                tls_active = True
            elif verb == "MAIL":
                await self.send(writer, "250 2.1.0 OK")
            elif verb == "RCPT":
                if mode == "relay":
                    await self.send(writer, "250 2.1.5 OK")
                else:
                    await self.send(writer, "554 5.7.1 <bouncecheck-relay-test@example.net>: Relay access denied")
            elif verb == "RSET":
                await self.send(writer, "250 2.0.0 OK")
            elif verb == "DATA":
                await self.send(writer, "554 5.5.1 this test server takes no mail")
            elif verb == "QUIT":
                await self.send(writer, "221 2.0.0 bye")
                return
            else:
                await self.send(writer, "502 5.5.2 command not recognized")


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--banner-name", default="localhost")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.mode in ("starttls", "implicit") and not (args.cert and args.key):
        ap.error("mode %s needs --cert and --key" % args.mode)
    host, _, port = args.listen.rpartition(":")
    srv = Server(args)
    server = await asyncio.start_server(srv.handle, host, int(port),
                                        ssl=srv.tls if args.mode == "implicit" else None)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

#!/usr/bin/python3
"""scripted_smtp.py - a scripted SMTP server for BounceCheck's tests.

It plays the misbehaviours no real MTA offers (a tarpit, a 421 greeting, an
endless reply, a 1 MB line, a broken TLS handshake, ...) and, in `normal`
mode, a small well-behaved ESMTP server whose RCPT answers come from --reply
rules. It never accepts DATA: it answers 554 and logs it, so a test can assert
that the client never sent it.

Usage:
  scripted_smtp.py --listen IP:PORT --mode MODE [--cert FILE --key FILE]
                   [--delay SECONDS] [--reply 'ADDR=CODE TEXT']... [--log FILE]
                   [--corpus FILE]

Modes:
  normal        EHLO offers PIPELINING, ENHANCEDSTATUSCODES, SMTPUTF8, 8BITMIME
                (and STARTTLS when --cert is given); RCPT answers from --reply
                rules ('*=...' is the default rule; without one: 250 2.1.5 OK);
                a rule 'mail:SENDER=CODE TEXT' answers MAIL FROM:<SENDER>
  nopipelining  like normal without PIPELINING
  noutf8        like normal without SMTPUTF8
  helo_only     EHLO -> 502, HELO works
  tarpit        accepts and never greets
  greet421      greets with 421 and closes
  slowgreet     greets after --delay seconds, then normal
  endless       an endless multi-line "250-" reply to EHLO
  longline      a 1 MB line without CRLF in reply to EHLO
  garbage       random bytes as the greeting
  badtls        offers STARTTLS, answers 220, then sends garbage instead of a
                TLS handshake; a session without STARTTLS works normally
  resetrcpt     closes the connection right after receiving RCPT TO
  errlimit      like normal, but hangs up without a word at the 4th rejected
                RCPT of a session, as Postfix does past smtpd_hard_error_limit
                (its queued replies can be lost with the close)

--corpus FILE (tests/replies/corpus.tsv) answers RCPT TO:<rID@any.domain>
with the corpus reply of id ID, all its lines (multi-line replies stay
multi-line); a reply with code 421 is followed by closing the connection, as
RFC 5321 says it must be. Any other local part gets `550 5.1.1 <ADDR>:
Recipient address rejected: User unknown` (so a catch-all probe is told "no
such user"); --reply rules for exact addresses still come first, MAIL FROM is
answered 250 as usual. Works with the modes that reach RCPT (normal, ...).

The log (--log) gets one line per event, prefixed by the session number:
  "3 CONNECT 127.0.0.1:40000", "3 C EHLO x", "3 S 250 ...", "3 CLOSE".
"ready" is printed on stdout once the socket listens.
"""
import argparse
import asyncio
import os
import random
import ssl
import sys

MODES = ("normal", "nopipelining", "noutf8", "helo_only", "tarpit", "greet421", "slowgreet",
         "endless", "longline", "garbage", "badtls", "resetrcpt", "errlimit")
MAX_LINE = 4096


def load_corpus(path):
    """Reads tests/replies/corpus.tsv: returns {"r" + id: [reply lines]}."""
    replies = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) < 5:
                raise SystemExit("bad corpus line: %r" % line[:80])
            lines = cols[4].split("\\n")
            for ln in lines:
                if len(ln) < 3 or not ln[:3].isdigit():
                    raise SystemExit("bad corpus reply for %s: %r" % (cols[0], ln[:40]))
            replies["r" + cols[0].lower()] = lines
    return replies


class Server:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.rules = {}
        self.default = (250, "2.1.5 OK")
        for r in args.reply or []:
            addr, _, reply = r.partition("=")
            code, _, text = reply.strip().partition(" ")
            if not code.isdigit() or len(code) != 3:
                raise SystemExit("bad --reply rule: %r" % r)
            if addr == "*":
                self.default = (int(code), text)
            else:
                self.rules[addr.lower()] = (int(code), text)
        self.tls = None
        if args.cert:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(args.cert, args.key)
        self.corpus = load_corpus(args.corpus) if args.corpus else None
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.nsession = 0

    def log(self, sid, what):
        if self.logf:
            self.logf.write("%d %s\n" % (sid, what))

    async def send(self, sid, writer, line):
        self.log(sid, "S " + line)
        writer.write(line.encode("utf-8", "replace") + b"\r\n")
        await writer.drain()

    async def handle(self, reader, writer):
        self.nsession += 1
        sid = self.nsession
        peer = writer.get_extra_info("peername")
        self.log(sid, "CONNECT %s:%s" % (peer[0], peer[1]) if peer else "CONNECT")
        try:
            await self.session(sid, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError, ValueError) as e:
            self.log(sid, "ERROR %s" % e.__class__.__name__)
        finally:
            self.log(sid, "CLOSE")
            try:
                writer.close()
            except Exception:
                pass

    def caps(self, tls_active):
        caps = ["SIZE 10240000"]
        if self.mode not in ("nopipelining",):
            caps.append("PIPELINING")
        caps.append("ENHANCEDSTATUSCODES")
        if self.mode != "noutf8":
            caps.append("SMTPUTF8")
        caps.append("8BITMIME")
        if not tls_active and (self.tls or self.mode == "badtls"):
            caps.append("STARTTLS")
        return caps

    async def session(self, sid, reader, writer):
        mode = self.mode
        if mode == "tarpit":
            while await reader.read(4096):
                pass
            return
        if mode == "greet421":
            await self.send(sid, writer, "421 4.3.2 mx.example too busy, try later")
            return
        if mode == "garbage":
            data = bytes([random.choice(b"!#%&()*+,-./:;<=>?@[]^_{|}~xyzXYZ")])
            data += os.urandom(200) + b"\r\n"
            self.log(sid, "S <%d garbage bytes>" % len(data))
            writer.write(data)
            await writer.drain()
            await reader.read(4096)
            return
        if mode == "slowgreet":
            await asyncio.sleep(self.args.delay)
        await self.send(sid, writer, "220 mx.example ESMTP scripted")
        tls_active = False
        in_mail = False
        errors = 0  # rejected RCPTs this session (mode errlimit)
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")[:MAX_LINE]
            self.log(sid, "C " + line)
            verb = line.split(" ", 1)[0].upper()
            if verb.startswith("MAIL") or verb.startswith("RCPT"):
                verb = line[:4].upper()
            if verb == "EHLO":
                if mode == "helo_only":
                    await self.send(sid, writer, "502 5.5.1 EHLO not implemented")
                elif mode == "endless":
                    self.log(sid, "S <endless 250- lines>")
                    while True:
                        writer.write(b"250-mx.example still talking " + b"x" * 60 + b"\r\n")
                        await writer.drain()
                elif mode == "longline":
                    self.log(sid, "S <1 MB line without CRLF>")
                    writer.write(b"250-" + b"A" * (1 << 20))
                    await writer.drain()
                    await reader.read(4096)
                    return
                else:
                    caps = self.caps(tls_active)
                    lines = ["mx.example greets you"] + caps
                    for i, c in enumerate(lines):
                        await self.send(sid, writer, ("250 " if i == len(lines) - 1 else "250-") + c)
            elif verb == "HELO":
                await self.send(sid, writer, "250 mx.example")
            elif verb == "STARTTLS":
                if tls_active or not (self.tls or mode == "badtls"):
                    await self.send(sid, writer, "502 5.5.1 STARTTLS not available")
                    continue
                await self.send(sid, writer, "220 2.0.0 Ready to start TLS")
                if mode == "badtls":
                    self.log(sid, "S <garbage instead of TLS>")
                    writer.write(b"this is not a TLS ServerHello\r\n" + os.urandom(64))
                    await writer.drain()
                    await reader.read(4096)
                    return
                await writer.start_tls(self.tls)
                self.log(sid, "TLS")
                tls_active = True
                in_mail = False
            elif verb == "MAIL":
                sender = line[10:].strip()
                sender = sender[1:sender.find(">")] if sender.startswith("<") and ">" in sender else sender
                rule = self.rules.get("mail:" + sender.lower())
                if rule:
                    await self.send(sid, writer, "%d %s" % rule)
                    continue
                in_mail = True
                await self.send(sid, writer, "250 2.1.0 OK")
            elif verb == "RCPT":
                if mode == "resetrcpt":
                    self.log(sid, "DROP")
                    return
                if not in_mail:
                    await self.send(sid, writer, "503 5.5.1 need MAIL first")
                    continue
                addr = line[8:].strip()
                if addr.startswith("<"):
                    addr = addr[1:addr.find(">")] if ">" in addr else addr[1:]
                if self.corpus is not None and addr.lower() not in self.rules:
                    local = addr.rpartition("@")[0].lower()
                    lines = self.corpus.get(local)
                    if lines is None:
                        await self.send(sid, writer, "550 5.1.1 <%s>: Recipient address rejected: "
                                        "User unknown" % addr)
                        continue
                    for ln in lines:
                        await self.send(sid, writer, ln)
                    if lines[-1].startswith("421"):
                        self.log(sid, "DROP after 421")
                        return
                    continue
                code, text = self.rules.get(addr.lower(), self.default)
                if mode == "errlimit" and code >= 500:
                    errors += 1
                    if errors >= 4:
                        self.log(sid, "DROP")
                        return
                await self.send(sid, writer, "%d %s" % (code, text))
            elif verb == "RSET":
                in_mail = False
                await self.send(sid, writer, "250 2.0.0 OK")
            elif verb == "NOOP":
                await self.send(sid, writer, "250 2.0.0 OK")
            elif verb == "DATA":
                await self.send(sid, writer, "554 5.5.1 scripted server takes no data")
            elif verb == "QUIT":
                await self.send(sid, writer, "221 2.0.0 Bye")
                return
            else:
                await self.send(sid, writer, "500 5.5.2 command not recognized")


async def main():
    ap = argparse.ArgumentParser(description="scripted SMTP server for tests")
    ap.add_argument("--listen", required=True, help="IP:PORT")
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--delay", type=float, default=2.0)
    ap.add_argument("--reply", action="append", help="'ADDR=CODE TEXT' or '*=CODE TEXT'")
    ap.add_argument("--log")
    ap.add_argument("--corpus", help="tests/replies/corpus.tsv: RCPT TO:<rID@...> gets reply ID")
    args = ap.parse_args()
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    if args.mode == "badtls" and args.cert:
        ap.error("badtls fakes its handshake; give no --cert")
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    srv = Server(args)
    server = await asyncio.start_server(srv.handle, host, int(port), limit=1 << 16)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

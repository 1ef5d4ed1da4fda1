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
  scripted_smtp.py --listen IP:PORT [--listen IP:PORT]... --mode normal
                   --replica PROFILES.json --provider NAME [--scenario NAME]
                   [--scenario-for DOMAIN=NAME]... [--block] [--block-from IP]...
                   [--rcpt-limit N] [--cert FILE --key FILE] [--log FILE]

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
  errsleep      like normal, but once two RCPTs of a session were rejected,
                every further RCPT reply comes 1 s late, as Postfix does past
                smtpd_soft_error_limit (smtpd_error_sleep_time)

--corpus FILE (tests/replies/corpus.tsv) answers RCPT TO:<rID@any.domain>
with the corpus reply of id ID, all its lines (multi-line replies stay
multi-line); a reply with code 421 is followed by closing the connection, as
RFC 5321 says it must be. Any other local part gets `550 5.1.1 <ADDR>:
Recipient address rejected: User unknown` (so a catch-all probe is told "no
such user"); --reply rules for exact addresses still come first, MAIL FROM is
answered 250 as usual. Works with the modes that reach RCPT (normal, ...).

--replica FILE --provider NAME plays a provider's replica (profiles:
tests/providers/replicas.json, described in tests/providers/README.md): the
banner, EHLO, MAIL, RSET and QUIT replies are the provider's, and RCPT TO is
scripted by local part, so that one server plays several scenarios:
  exists*       the provider's acceptance reply
  nouser*       the provider's user-unknown reply
  blocked*      the provider's block reply, when the profile's block is
                given at RCPT (its "stage" is "rcpt")
  other keys    a profile may name more reply keys (local parts starting
                with the key get that reply; the longest key wins)
  anything else the profile's "default" reply key: user unknown for most, the
                acceptance for providers that accept every RCPT (Yahoo, AOL)
A scenario (--scenario NAME for every domain, --scenario-for DOMAIN=NAME for
one recipient domain) remaps keys and the default, e.g. Microsoft 365's
"accept-all" tenant accepts every address. --block (every client) and
--block-from IP (clients connecting from IP) answer with the profile's block
reply at its stage (connect: instead of the banner, then the connection is
closed; ehlo, mail or rcpt: to that command), with {client_ip} replaced by the
client's address (a profile without a block reply answers listed clients as
any other). --rcpt-limit N answers the profile's "too many recipients"
reply (Outlook's 452 4.5.3) to every RCPT past the N-th of a MAIL transaction;
RSET and a new MAIL start the count again. A reply with code 421 is followed
by closing the connection. DATA gets 554, as in every mode. STARTTLS is
offered (and the profile's STARTTLS line kept in EHLO) only with --cert/--key.
--listen may be given several times (one provider on several MX addresses).

Replies out of step (every mode that greets, also with --replica): the
server answers a command, then adds lines, loses a reply or gives another
command's reply, as firewalls, proxies and broken servers do:
  --extra 'AFTER=LINE'   after the reply to AFTER (greeting, ehlo, helo,
                         starttls, mail, rcpt, rset; or 'rcpt:N' for the
                         N-th RCPT of the session only) also send LINE
                         (repeatable, in order); '\n' in LINE splits it
  --extra-delay SECONDS  send those lines that much later (by then the
                         client has sent its next command), default 0: in
                         the same write as the reply
  --drop 'VERB:N'        send no reply to the N-th VERB of the session
                         (MAIL, RCPT, RSET, ...) (repeatable)
  --answer 'VERB=CODE TEXT'
                         answer every VERB (EHLO, MAIL, RCPT, RSET, QUIT,
                         ...) with this one line instead (repeatable; any
                         text, so also a line that is no reply at all)

The log (--log) gets one line per event, prefixed by the session number:
  "3 CONNECT 127.0.0.1:40000", "3 C EHLO x", "3 S 250 ...", "3 CLOSE".
"ready" is printed on stdout once the socket listens.
"""
import argparse
import asyncio
import email.utils
import json
import os
import random
import ssl
import sys

MODES = ("normal", "nopipelining", "noutf8", "helo_only", "tarpit", "greet421", "slowgreet",
         "endless", "longline", "garbage", "badtls", "resetrcpt", "errlimit", "errsleep")
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


REPLY_LINE_KEYS = ("banner", "ehlo", "mail", "rset", "quit", "too_many_recipients")
BLOCK_STAGES = ("connect", "ehlo", "mail", "rcpt")


def check_reply(where, lines):
    """A reply of a profile: NNN-text lines, then one NNN text line."""
    if not isinstance(lines, list) or not lines:
        raise SystemExit("%s: a reply is a non-empty list of lines" % where)
    for i, ln in enumerate(lines):
        last = i == len(lines) - 1
        if (not isinstance(ln, str) or len(ln) < 3 or not ln[:3].isdigit()
                or (len(ln) > 3 and ln[3] != (" " if last else "-")) or (len(ln) == 3 and not last)):
            raise SystemExit("%s: bad reply line %r" % (where, ln))
        if ln[0] != lines[0][0] or ln[:3] != lines[0][:3]:
            raise SystemExit("%s: the lines of one reply share one code: %r" % (where, ln))


class Replica:
    """A provider profile of tests/providers/replicas.json, checked, with the
    command line's scenario and block choices."""

    def __init__(self, args):
        with open(args.replica, encoding="utf-8") as f:
            doc = json.load(f)
        profiles = doc.get("profiles", {})
        if args.provider not in profiles:
            raise SystemExit("--provider %s: no such profile in %s (have: %s)"
                             % (args.provider, args.replica, ", ".join(sorted(profiles))))
        p = profiles[args.provider]
        self.name = args.provider
        self.profile = p
        for key in REPLY_LINE_KEYS:
            if key in p:
                check_reply("%s.%s" % (self.name, key), p[key]["lines"])
        for key in ("banner", "ehlo", "mail"):
            if key not in p:
                raise SystemExit("%s: the profile has no %s" % (self.name, key))
        self.rcpt = p.get("rcpt", {})
        for key, r in self.rcpt.items():
            check_reply("%s.rcpt.%s" % (self.name, key), r["lines"])
        for key in ("exists", "nouser"):
            if key not in self.rcpt:
                raise SystemExit("%s: the profile has no rcpt.%s" % (self.name, key))
        self.block = p.get("block")
        if self.block:
            check_reply("%s.block" % self.name, self.block["lines"])
            if self.block.get("stage") not in BLOCK_STAGES:
                raise SystemExit("%s.block.stage: one of %s" % (self.name, ", ".join(BLOCK_STAGES)))
        self.scenarios = p.get("scenarios", {})
        self.default_scenario = self.pick_scenario(args.scenario) if args.scenario else None
        self.by_domain = {}
        for rule in args.scenario_for:
            domain, _, name = rule.partition("=")
            if not domain or not name:
                raise SystemExit("bad --scenario-for %r: DOMAIN=SCENARIO" % rule)
            self.by_domain[domain.lower().rstrip(".")] = self.pick_scenario(name)
        # --block-from is a fact about the client (a listed IP); a provider
        # with no block reply in its profile answers it as any other client.
        if args.block and not self.block:
            raise SystemExit("%s: --block needs a profile with a block reply" % self.name)
        self.block_all = args.block
        self.block_from = set(args.block_from)
        self.rcpt_limit = args.rcpt_limit
        self.too_many = p.get("too_many_recipients", {}).get("lines", ["452 4.5.3 Too many recipients"])
        # Longest key first (a profile may have "nouser" and "nouser-disabled").
        keys = list(self.rcpt)
        if self.block and self.block["stage"] == "rcpt":
            keys.append("blocked")
        self.keys = sorted(keys, key=len, reverse=True)

    def pick_scenario(self, name):
        if name not in self.scenarios:
            raise SystemExit("%s: no scenario %r (have: %s)"
                             % (self.name, name, ", ".join(sorted(self.scenarios)) or "none"))
        sc = self.scenarios[name]
        for key in list(sc.get("map", {}).values()) + [sc.get("default", "nouser")]:
            if key not in self.rcpt:
                raise SystemExit("%s: scenario %s names no rcpt reply %r" % (self.name, name, key))
        return sc

    def blocks(self, client_ip):
        return bool(self.block) and (self.block_all or client_ip in self.block_from)

    def rcpt_key(self, addr):
        """The rcpt reply key for ADDR: by its local part's prefix, then the
        scenario of its domain (or of the server), then the profile's default."""
        local, _, domain = addr.rpartition("@")
        local = local.lower()
        sc = self.by_domain.get(domain.lower().rstrip("."), self.default_scenario) or {}
        key = None
        for k in self.keys:
            if local.startswith(k):
                key = k
                break
        if key is None:
            return sc.get("default", self.profile.get("default", "nouser"))
        return sc.get("map", {}).get(key, key)


def gsmtp_id():
    """A session identifier shaped like Gmail's ('d72si22370812qhc.8')."""
    lc = "abcdefghijklmnopqrstuvwxyz"
    return "%s%dsi%d%s.%d" % (random.choice(lc), random.randint(1, 99), random.randint(10**7, 10**8 - 1),
                              "".join(random.choice(lc) for _ in range(3)), random.randint(1, 300))


def fill(line, values):
    """Replaces the placeholders of a profile text ({rcpt}, {client_ip}, ...)."""
    for k, v in values.items():
        line = line.replace("{" + k + "}", v)
    return line


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
        self.replica = Replica(args) if args.replica else None
        self.logf = open(args.log, "a", buffering=1) if args.log else None
        self.nsession = 0
        self.extras = []  # (where, line): where is "greeting", "ehlo", "rcpt:2", ...
        for e in args.extra or []:
            where, sep, line = e.partition("=")
            if not sep:
                raise SystemExit("bad --extra: %r" % e)
            for part in line.split("\\n"):
                self.extras.append((where.lower(), part))
        self.drops = set()
        for d in args.drop or []:
            verb, _, n = d.partition(":")
            if not n.isdigit():
                raise SystemExit("bad --drop: %r" % d)
            self.drops.add((verb.upper(), int(n)))
        self.answers = {}
        for a in args.answer or []:
            verb, sep, reply = a.partition("=")
            if not sep or not reply:
                raise SystemExit("bad --answer: %r" % a)
            self.answers[verb.upper()] = reply
        self.cur = {}  # sid -> [verb, its count in the session, counts, muted]

    def log(self, sid, what):
        if self.logf:
            self.logf.write("%d %s\n" % (sid, what))

    async def read_command(self, sid, reader):
        """Reads and logs one command line; returns (line, verb) with the verb
        upper-cased ("MAIL"/"RCPT" also when glued to "FROM:"/"TO:"), or
        (None, None) when the client has gone."""
        raw = await reader.readline()
        if not raw:
            return None, None
        line = raw.decode("utf-8", "replace").rstrip("\r\n")[:MAX_LINE]
        self.log(sid, "C " + line)
        verb = line.split(" ", 1)[0].upper()
        if verb.startswith("MAIL") or verb.startswith("RCPT"):
            verb = line[:4].upper()
        cur = self.cur.setdefault(sid, ["GREETING", 1, {}, False])
        n = cur[2].get(verb, 0) + 1
        cur[2][verb] = n
        cur[0], cur[1], cur[3] = verb, n, (verb, n) in self.drops
        return line, verb

    async def send(self, sid, writer, line):
        cur = self.cur.setdefault(sid, ["GREETING", 1, {}, False])
        last = len(line) < 4 or line[3] != "-"
        if cur[0] in self.answers:
            if not last:
                return
            line = self.answers[cur[0]]
        if cur[3]:
            self.log(sid, "S (not sent) " + line)
            return
        self.log(sid, "S " + line)
        writer.write(line.encode("utf-8", "replace") + b"\r\n")
        if last:
            where = cur[0].lower()
            extra = [x for w, x in self.extras if w in (where, "%s:%d" % (where, cur[1]))]
            if extra and self.args.extra_delay > 0:
                await writer.drain()
                await asyncio.sleep(self.args.extra_delay)
            for x in extra:
                self.log(sid, "S (extra) " + x)
                writer.write(x.encode("utf-8", "replace") + b"\r\n")
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
            self.cur.pop(sid, None)
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
        if self.replica:
            await self.replica_session(sid, reader, writer)
            return
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
        errors = 0  # rejected RCPTs this session (modes errlimit, errsleep)
        while True:
            line, verb = await self.read_command(sid, reader)
            if line is None:
                return
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
                if mode == "errsleep":
                    if errors >= 2:
                        await asyncio.sleep(1.0)
                    if code >= 500:
                        errors += 1
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

    async def send_reply(self, sid, writer, lines, values):
        """Sends a profile reply; True when it was a 421 (the caller closes)."""
        for ln in lines:
            await self.send(sid, writer, fill(ln, values))
        if lines[-1].startswith("421"):
            self.log(sid, "DROP after 421")
            return True
        return False

    async def replica_session(self, sid, reader, writer):
        rp = self.replica
        p = rp.profile
        peer = writer.get_extra_info("peername")
        client_ip = peer[0] if peer else "0.0.0.0"
        values = {"client_ip": client_ip, "sid": gsmtp_id(), "date": email.utils.formatdate(),
                  "from": "", "rcpt": "", "local": "", "domain": ""}
        blocked = rp.blocks(client_ip)
        stage = rp.block["stage"] if blocked else None
        if blocked:
            self.log(sid, "BLOCKED %s at %s" % (client_ip, stage))
        if stage == "connect":
            await self.send_reply(sid, writer, rp.block["lines"], values)
            self.log(sid, "DROP after block")
            return
        await self.send_reply(sid, writer, p["banner"]["lines"], values)
        tls_active = False
        in_mail = False
        nrcpt = 0  # RCPTs of this transaction (--rcpt-limit)
        while True:
            line, verb = await self.read_command(sid, reader)
            if line is None:
                return
            if verb in ("EHLO", "HELO") and stage == "ehlo":
                if await self.send_reply(sid, writer, rp.block["lines"], values):
                    return
            elif verb == "EHLO":
                lines = [ln for ln in p["ehlo"]["lines"]
                         if not (ln[4:].upper() == "STARTTLS" and (tls_active or not self.tls))]
                lines = [ln[:3] + "-" + ln[4:] for ln in lines[:-1]] + [lines[-1][:3] + " " + lines[-1][4:]]
                await self.send_reply(sid, writer, lines, values)
                in_mail = False
            elif verb == "HELO":
                first = fill(p["ehlo"]["lines"][0], values)
                await self.send(sid, writer, "250 " + first[4:])
                in_mail = False
            elif verb == "STARTTLS":
                if tls_active or not self.tls:
                    await self.send(sid, writer, "502 5.5.1 STARTTLS not available")
                    continue
                await self.send(sid, writer, "220 2.0.0 Ready to start TLS")
                await writer.start_tls(self.tls)
                self.log(sid, "TLS")
                tls_active = True
                in_mail = False
            elif verb == "MAIL":
                sender = line[10:].strip()
                sender = sender[1:sender.find(">")] if sender.startswith("<") and ">" in sender else sender
                values["from"] = sender
                if stage == "mail":
                    if await self.send_reply(sid, writer, rp.block["lines"], values):
                        return
                    continue
                in_mail = True
                nrcpt = 0
                await self.send_reply(sid, writer, p["mail"]["lines"], values)
            elif verb == "RCPT":
                if not in_mail:
                    await self.send(sid, writer, "503 5.5.1 need MAIL first")
                    continue
                addr = line[8:].strip()
                if addr.startswith("<"):
                    addr = addr[1:addr.find(">")] if ">" in addr else addr[1:]
                values["rcpt"] = addr
                values["local"], _, values["domain"] = addr.rpartition("@")
                nrcpt += 1
                if rp.rcpt_limit and nrcpt > rp.rcpt_limit:
                    if await self.send_reply(sid, writer, rp.too_many, values):
                        return
                    continue
                if stage == "rcpt":
                    if await self.send_reply(sid, writer, rp.block["lines"], values):
                        return
                    continue
                key = rp.rcpt_key(addr)
                lines = rp.block["lines"] if key == "blocked" else rp.rcpt[key]["lines"]
                if await self.send_reply(sid, writer, lines, values):
                    return
            elif verb == "RSET":
                in_mail = False
                nrcpt = 0
                await self.send_reply(sid, writer, p.get("rset", {}).get("lines", ["250 2.0.0 OK"]), values)
            elif verb == "NOOP":
                await self.send(sid, writer, "250 2.0.0 OK")
            elif verb == "DATA":
                await self.send(sid, writer, "554 5.5.1 scripted server takes no data")
            elif verb == "QUIT":
                await self.send_reply(sid, writer, p.get("quit", {}).get("lines", ["221 2.0.0 Bye"]), values)
                return
            else:
                await self.send(sid, writer, "500 5.5.2 command not recognized")


async def main():
    ap = argparse.ArgumentParser(description="scripted SMTP server for tests")
    ap.add_argument("--listen", required=True, action="append", help="IP:PORT (repeatable)")
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--delay", type=float, default=2.0)
    ap.add_argument("--reply", action="append", help="'ADDR=CODE TEXT' or '*=CODE TEXT'")
    ap.add_argument("--log")
    ap.add_argument("--corpus", help="tests/replies/corpus.tsv: RCPT TO:<rID@...> gets reply ID")
    ap.add_argument("--replica", help="provider profiles (tests/providers/replicas.json)")
    ap.add_argument("--provider", help="with --replica: the profile to play")
    ap.add_argument("--scenario", help="with --replica: the profile's scenario for every domain")
    ap.add_argument("--scenario-for", action="append", default=[],
                    help="with --replica: 'DOMAIN=SCENARIO' for one recipient domain")
    ap.add_argument("--block", action="store_true", help="with --replica: block every client")
    ap.add_argument("--block-from", action="append", default=[],
                    help="with --replica: block clients connecting from this IP (repeatable)")
    ap.add_argument("--rcpt-limit", type=int, default=0,
                    help="with --replica: 'too many recipients' past the N-th RCPT of a transaction")
    ap.add_argument("--extra", action="append", help="'AFTER=LINE': a line after the reply to AFTER")
    ap.add_argument("--extra-delay", type=float, default=0.0)
    ap.add_argument("--drop", action="append", help="'VERB:N': no reply to the N-th VERB")
    ap.add_argument("--answer", action="append", help="'VERB=CODE TEXT': every VERB gets this reply")
    args = ap.parse_args()
    if bool(args.replica) != bool(args.provider):
        ap.error("--replica and --provider go together")
    if args.replica and args.mode != "normal":
        ap.error("--replica plays its provider in mode normal only")
    if args.replica and args.corpus:
        ap.error("--replica and --corpus do not go together")
    if not args.replica and (args.scenario or args.scenario_for or args.block or args.block_from
                             or args.rcpt_limit):
        ap.error("--scenario, --scenario-for, --block, --block-from and --rcpt-limit need --replica")
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    if args.mode == "badtls" and args.cert:
        ap.error("badtls fakes its handshake; give no --cert")
    srv = Server(args)
    servers = []
    for listen in args.listen:
        host, _, port = listen.rpartition(":")
        host = host.strip("[]")
        servers.append(await asyncio.start_server(srv.handle, host, int(port), limit=1 << 16))
    print("ready", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)

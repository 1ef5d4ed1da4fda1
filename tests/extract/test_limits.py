#!/usr/bin/env python3
"""test_limits.py BOUNCECHECK - `bouncecheck extract` on hostile documents
made here with the standard library: a PDF whose content streams inflate to
gigabytes of blanks, a PDF page of millions of overlapping words, a PDF
with more text than --max-extract-bytes, DOCX and XLSX zip-member bombs
(sizes declared, and not), HTML and plain text over the size limit, and
mbox/eml files with a 50 MB header line, a folded header of 50 MB, 3
million header lines and a 50 MB body line.

Each bomb must end within its limit's time (a generous bound: the limit is
CPU time, and tests run side by side; the real figure is printed), say on
stderr which limit it hit (exit 5), and print the addresses placed before
the bomb; the mail files must stay under 120 MB of peak memory (they took
216 MB to 1.8 GB before) with a note about the cut. Prints TAP.
"""

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib

BIN = sys.argv[1] if len(sys.argv) > 1 else "bouncecheck"
# a sanitizer build (make test's ASan run): memory figures mean nothing there
with open(shutil.which(BIN) or BIN, "rb") as _f:
    _image = _f.read()
SANITIZED = b"__asan_init" in _image or b"__tsan_init" in _image
del _image
N = 0
FAILED = 0


def ok(cond, desc, diag=None):
    global N, FAILED
    N += 1
    print(f"{'ok' if cond else 'not ok'} {N} - {desc}", flush=True)
    if not cond:
        FAILED += 1
        for line in str(diag or "").splitlines()[:20]:
            print(f"# {line}", flush=True)
    return cond


class Run:
    """One `bouncecheck extract ARGS`: rc, out (the words of stdout), err,
    wall and cpu seconds (its decoding process included), rss (peak MB of
    the process itself, from wait4)."""

    def __init__(self, args, stdin=None):
        with tempfile.TemporaryFile() as o, tempfile.TemporaryFile() as e, open(os.devnull, "rb") as null:
            t0 = time.monotonic()
            # posix_spawn (vfork): a forked copy of this process would start
            # the peak RSS at this process's
            fa = [(os.POSIX_SPAWN_DUP2, (stdin or null).fileno(), 0), (os.POSIX_SPAWN_DUP2, o.fileno(), 1),
                  (os.POSIX_SPAWN_DUP2, e.fileno(), 2)]
            pid = os.posix_spawn(BIN, [BIN, "extract"] + args, os.environ, file_actions=fa)
            _, status, ru = os.wait4(pid, 0)
            self.wall = time.monotonic() - t0
            o.seek(0)
            e.seek(0)
            self.out = o.read().decode("utf-8", "replace").split()
            self.err = e.read().decode("utf-8", "replace")
        self.rc = os.waitstatus_to_exitcode(status)
        self.cpu = ru.ru_utime + ru.ru_stime
        self.rss = ru.ru_maxrss / 1024.0


def run(args, stdin=None):
    r = Run(args, stdin)
    return r.rc, r.out, r.err, r.wall, r


def own_rss():
    """This process's resident size in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576.0


def check_bomb(name, path, args, want, limit, bound, absent=()):
    """Runs a bomb: exit 5, the limit named on stderr, want printed, within bound s."""
    rc, out, err, wall, r = run(args + [path])
    cpu = r.cpu
    print(f"# {name}: {wall:.2f} s wall, {cpu:.2f} s CPU, exit {rc}: {err.strip()[:300]}", flush=True)
    ok(rc == 5 and limit in err and "stopped at the" in err,
       f"{name}: exit 5, stderr names {limit}", f"rc={rc} err={err}")
    ok(all(w in out for w in want) and not any(a in out for a in absent),
       f"{name}: the addresses before the bomb are printed ({', '.join(want)})", f"out={out}")
    ok(wall < bound, f"{name}: ends within {bound} s (took {wall:.2f} s wall, {cpu:.2f} s CPU)")
    return wall, cpu


# ---- PDF ---------------------------------------------------------------------------

def pdf(pages):
    """A PDF of pages, each a list of content stream (data, flate) pairs;
    stream objects may repeat (an object referenced many times)."""
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", None]
    kids = []
    streams = {}

    def add(o):
        objs.append(o)
        return len(objs)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for contents in pages:
        refs = []
        for data, flate in contents:
            key = id(data)
            if key not in streams:
                filt = b" /Filter /FlateDecode" if flate else b""
                streams[key] = add(b"<< /Length %d%s >>\nstream\n" % (len(data), filt) + data + b"\nendstream")
            refs.append(b"%d 0 R" % streams[key])
        kids.append(add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R"
                        b" >> >> /Contents [%s] >>" % (font, b" ".join(refs))))
    objs[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offs = []
    for i, o in enumerate(objs):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    return bytes(out)


def text_op(s, y=700):
    return b"BT /F1 12 Tf 72 %d Td (%s) Tj ET\n" % (y, s.encode())


def deflate_repeat(unit, total):
    c = zlib.compressobj(9)
    block = unit * max(1, (1 << 20) // len(unit))
    parts, n = [], 0
    while n < total:
        parts.append(c.compress(block))
        n += len(block)
    parts.append(c.flush())
    return b"".join(parts)



def main():
    work = tempfile.mkdtemp(prefix="bc-test-limits.")

    def path(n):
        return os.path.join(work, n)

    # ---- mail: caps on lines and headers -----------------------------------------------------
    # (first, and written a piece at a time: a run's peak RSS starts at this
    # process's, whose memory the spawned process shares until it execs)
    big = 50 << 20
    mb = b"x" * (1 << 20)
    mails = {
        "header-line.mbox": [b"From alice@example.com Mon Jan  1 00:00:00 2024\nFrom: first@example.com\nX-Big: ",
                             (b"a" * (1 << 20), 50), b"\nTo: second@example.org\n\nbody third@example.net\n\n"
                             b"From bob@example.com Mon Jan  1 00:00:00 2024\nFrom: fourth@example.com\n\n"
                             b"after fifth@example.org\n"],
        "folded.eml": [b"From: first@example.com\nX-Fold: start\n", (b" folded text of a header\n" * 43690, 50),
                       b"To: second@example.org\n\nbody third@example.net\n"],
        "headers.eml": [b"From: first@example.com\n", lambda f: [f.write(b"".join(b"X-H%d: v\n" % i for i in
                                                                                  range(k, k + 100_000)))
                                                                   for k in range(0, 3_000_000, 100_000)],
                        b"\nbody third@example.net\n"],
        "body-line.eml": [b"From: first@example.com\nSubject: x\n\nbody third@example.net ", (mb, big >> 20),
                          b" lost@example.com\nnext line fifth@example.org\n"],
    }
    want = {
        "header-line.mbox": ["first@example.com", "second@example.org", "third@example.net", "fourth@example.com",
                             "fifth@example.org"],
        "folded.eml": ["first@example.com", "second@example.org", "third@example.net"],
        "headers.eml": ["first@example.com", "third@example.net"],
        "body-line.eml": ["first@example.com", "third@example.net", "fifth@example.org"],
    }
    for name in sorted(mails):
        with open(path(name), "wb") as f:
            for piece in mails[name]:
                if callable(piece):
                    piece(f)
                elif isinstance(piece, tuple):
                    for _ in range(piece[1]):
                        f.write(piece[0])
                else:
                    f.write(piece)
        mails[name] = None
        size = os.path.getsize(path(name))
        rc, out, err, wall, r = run([path(name)])
        cpu, rss = r.cpu, r.rss
        print(f"# {name} ({size >> 20} MiB): {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss:.0f} MB (this"
              f" test's own: {own_rss():.0f} MB, a floor): {err.strip()[:200]}", flush=True)
        ok(rc == 0 and all(w in out for w in want[name]) and "lost@example.com" not in out,
           f"{name}: exit 0, the addresses around the cut ({len(want[name])})", f"rc={rc} out={out} err={err}")
        ok("cut at 1 MiB" in err, f"{name}: a note on stderr says what was cut", err)
        if SANITIZED:
            print(f"# {name}: peak RSS not checked (sanitizer build: its allocator keeps freed memory)")
        else:
            ok(rss < 120, f"{name}: peak RSS {rss:.0f} MB < 120 MB")

    # a pipe (not seekable) goes through the same caps
    with open(path("header-line.mbox"), "rb") as f:
        rc, out, err, wall, r = run(["-"], stdin=f)
    ok(rc == 0 and want["header-line.mbox"] == out and "cut at 1 MiB" in err,
       "header-line.mbox from a pipe: the same addresses and note", f"rc={rc} out={out} err={err}")


    # 1. blanks: one 64 MiB stream of zeros (NUL is blank to the PDF lexer),
    # referenced 48 times in page 2's contents: 3 GiB to lex (~30 s of poppler)
    zeros = deflate_repeat(b"\0", 64 << 20)
    with open(path("blanks.pdf"), "wb") as f:
        f.write(pdf([[(text_op("first@example.com"), False)], [(zeros, True)] * 48]))
    print(f"# blanks.pdf: {os.path.getsize(path('blanks.pdf'))} bytes, 3 GiB of inflated blanks", flush=True)
    check_bomb("PDF of 3 GiB of blanks, --max-extract-seconds 2", path("blanks.pdf"),
               ["--max-extract-seconds", "2"], ["first@example.com"], "--max-extract-seconds", 15)
    # the case, with the defaults (10 s of CPU)
    check_bomb("PDF of 3 GiB of blanks, default limits", path("blanks.pdf"), [], ["first@example.com"],
               "--max-extract-seconds", 40)

    # 2. words: a page of 2 million overlapping words (poppler's text layout
    # is quadratic in them: minutes, and memory)
    words = deflate_repeat(text_op("w@example.org x"), 2_000_000 * len(text_op("w@example.org x")))
    with open(path("words.pdf"), "wb") as f:
        f.write(pdf([[(text_op("first@example.com"), False)], [(words, True)]]))
    check_bomb("PDF of 2 million overlapping words, --max-extract-seconds 2", path("words.pdf"),
               ["--max-extract-seconds", "2"], ["first@example.com"], "--max-extract-seconds", 15)

    # 3. text: 40 pages of 1,000 distinct lines each, over --max-extract-bytes 256K
    lines = []
    for p in range(40):
        ops = b"".join(text_op(f"line {p}-{i} padding padding padding padding", 780 - (i % 60) * 12)
                       for i in range(1000))
        lines.append([(zlib.compress(ops), True)])
    lines.insert(0, [(text_op("first@example.com"), False)])
    lines.append([(text_op("last@example.com"), False)])
    with open(path("text.pdf"), "wb") as f:
        f.write(pdf(lines))
    check_bomb("PDF with more text than --max-extract-bytes 256K", path("text.pdf"),
               ["--max-extract-bytes", "256K"], ["first@example.com"], "--max-extract-bytes", 15,
               absent=["last@example.com"])

    # ---- DOCX, XLSX: zip-member bombs -------------------------------------------------
    W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    para = b"<w:p><w:r><w:t>" + b" " * 4000 + b"</w:t></w:r></w:p>"

    def docx(dest, seekable):
        class NoSeek(io.RawIOBase):
            def __init__(self, f):
                self.f, self.n = f, 0

            def writable(self):
                return True

            def write(self, b):
                self.f.write(b)
                self.n += len(b)
                return len(b)

            def tell(self):
                return self.n

        with open(dest, "wb") as raw:
            with zipfile.ZipFile(raw if seekable else NoSeek(raw), "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("[Content_Types].xml", "<Types/>")
                z.writestr("word/header1.xml", b"<w:hdr " + W + b"><w:p><w:r><w:t>head@example.com</w:t></w:r>"
                           b"</w:p></w:hdr>")
                with z.open("word/document.xml", "w", force_zip64=True) as m:
                    m.write(b"<w:document " + W + b"><w:body><w:p><w:r><w:t>before@example.com</w:t></w:r></w:p>")
                    chunk = para * 256
                    for _ in range((1 << 30) // len(chunk)):
                        m.write(chunk)
                    m.write(b"<w:p><w:r><w:t>after@example.com</w:t></w:r></w:p></w:body></w:document>")

    docx(path("bomb.docx"), True)
    check_bomb("DOCX with a member of 1 GiB (size declared), default limits", path("bomb.docx"), [],
               ["head@example.com", "before@example.com"], "--max-extract-bytes", 30, absent=["after@example.com"])
    check_bomb("DOCX with a member of 1 GiB, --max-extract-bytes 16M", path("bomb.docx"),
               ["--max-extract-bytes", "16M"], ["head@example.com", "before@example.com"], "--max-extract-bytes", 15)
    docx(path("stream.docx"), False)
    check_bomb("DOCX with a member of 1 GiB (size not declared), --max-extract-seconds 1", path("stream.docx"),
               ["--max-extract-seconds", "1"], ["head@example.com", "before@example.com"], "--max-extract-seconds",
               15)

    S = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    with zipfile.ZipFile(path("bomb.xlsx"), "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as m:
            m.write(b"<sst " + S + b"><si><t>cell@example.com</t></si>")
            chunk = (b"<si><t>" + b"x" * 1000 + b"</t></si>") * 1024
            for _ in range((1 << 30) // len(chunk)):
                m.write(chunk)
            m.write(b"<si><t>tail@example.com</t></si></sst>")
    check_bomb("XLSX with shared strings of 1 GiB, --max-extract-bytes 32M", path("bomb.xlsx"),
               ["--max-extract-bytes", "32M"], ["cell@example.com"], "--max-extract-bytes", 15,
               absent=["tail@example.com"])

    # ---- HTML and plain text over the size limit ---------------------------------------------
    with open(path("big.html"), "wb") as f:
        f.write(b"<html><body><p>top@example.com</p>")
        f.write((b"<p>" + b"filler text " * 100 + b"</p>\n") * 3000)
        f.write(b"<p>bottom@example.com</p></body></html>\n")
    check_bomb("HTML of 3.6 MB, --max-extract-bytes 1M", path("big.html"), ["--max-extract-bytes", "1M"],
               ["top@example.com"], "--max-extract-bytes", 15, absent=["bottom@example.com"])
    with open(path("big.txt"), "wb") as f:
        f.write(b"a@example.com\n" + b"0123456789" * 300_000 + b" cut@example.com " + b"z\n" * 10 + b"b@example.com\n")
    rc, out, err, wall, ru = run(["--max-extract-bytes", str(3_000_000 + 14 + 8)] + [path("big.txt")])
    ok(rc == 5 and out == ["a@example.com"], "plain text cut inside an address: the address is not reported",
       f"rc={rc} out={out} err={err}")

    # ---- the options ---------------------------------------------------------------------------
    rc, out, err, wall, ru = run(["--max-extract-seconds", "0", "--max-extract-bytes", "0", path("big.txt")])
    ok(rc == 0 and "b@example.com" in out, "0 means no limit", f"rc={rc} err={err}")
    for bad in (["--max-extract-seconds", "-1"], ["--max-extract-seconds", "x"], ["--max-extract-bytes", "1X"],
                ["--max-extract-bytes", "-5"]):
        rc, out, err, wall, ru = run(bad + [path("big.txt")])
        ok(rc == 2 and "not a valid value" in err, f"{' '.join(bad)}: usage error (exit 2)", f"rc={rc} err={err}")
    rc, out, err, wall, ru = run(["--max-extract-bytes", "1M", path("big.txt"), path("missing.txt")])
    ok(rc == 3 and "stopped at the size limit" in err,
       "an unreadable file beside a limited one: exit 3 (it comes first)", f"rc={rc} err={err}")

    subprocess.run(["rm", "-rf", work])
    print(f"1..{N}", flush=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

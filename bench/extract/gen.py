#!/usr/bin/env python3
"""gen.py - writes the extraction benchmark's input and its answer key.

usage: gen.py OUT_TEXT OUT_TRUTH [MB] [SEED]

OUT_TEXT gets about MB megabytes (default 100) of mixed text drawn from
random.Random(SEED): prose, HTML, log lines, CSV, source code and mail
headers. True addresses are planted in the ways people write them (bare,
<angle brackets>, (parentheses), "quoted", mailto: links, CSV cells, a
sentence's last word followed by a dot, IDN domains); the traps are the
things that look like addresses but are not (image@2x.png, package@1.2.3,
file@example.com.jpg, Message-ID/References/Content-ID tokens, cid: links,
URL credentials). OUT_TRUTH gets the distinct true addresses, one per line,
as local@domain with the domain in lower-case A-labels: the set a perfect
extractor prints.
"""
import random
import sys

WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at "
         "which but have an they you were her she there been one all we their has would when if "
         "so no will more about can said what out up them into than some could time these two may "
         "first then do any like my now over such our man me even most made after also did many "
         "before must through back years where much your way well down should because each just "
         "those people how too little state good very make world still own see men work long get "
         "here between both life being under never day same another know while last might us great "
         "old year off come since against go came right used take three").split()
FIRST = ("john mary anna li wei carlos sofia ahmed olga peter lucy raj yuki noah emma liam "
         "mia omar ines jan eva tom kim lee max zoe").split()
LAST = ("smith doe garcia muller rossi kowalski tanaka silva nguyen brown martin dubois "
        "jensen novak ivanov khan chen lopez meyer weber").split()
DOMAINS = ("example.com example.org example.net mail.example.com acme.co.uk shop.example.de "
           "uni-example.edu example.io corp.example.fr example.jp post.example.ch "
           "news.example.com.au example.nl example.es example.it example.se "
           "example.info example.biz example.dev example.app").split()
IDN = (("bücher.de", "xn--bcher-kva.de"), ("müller.example.de", "xn--mller-kva.example.de"),
       ("пример.рф", "xn--e1afmkfd.xn--p1ai"), ("例え.jp", "xn--r8jz45g.jp"))
EXT = "png jpg jpeg gif svg webp css js ico pdf zip gz".split()
PKGS = "lodash react vue express angular typescript webpack babel jest eslint".split()


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.truth = set()
        self.pool = []

    def words(self, n):
        return " ".join(self.r.choice(WORDS) for _ in range(n))

    def new_address(self):
        r = self.r
        f, l = r.choice(FIRST), r.choice(LAST)
        shape = r.randrange(8)
        local = [f + "." + l, f + l, f[0] + l, f + "_" + l, f + "." + l + str(r.randrange(100)),
                 f + "+" + r.choice(("news", "shop", "x")), f.capitalize() + "." + l.capitalize(),
                 l + str(r.randrange(1000))][shape]
        if r.random() < 0.03:
            uni, asc = r.choice(IDN)
            shown, key = (uni if r.random() < 0.7 else asc), local + "@" + asc
        else:
            d = r.choice(DOMAINS)
            if r.random() < 0.05:
                d = d.upper()
            shown, key = d, local + "@" + d.lower()
        return local + "@" + shown, key

    def address(self):
        """A true address (often one seen before) in its printed form."""
        if self.pool and self.r.random() < 0.5:
            shown, key = self.r.choice(self.pool)
        else:
            shown, key = self.new_address()
            self.pool.append((shown, key))
        self.truth.add(key)
        return shown

    def msgid(self):
        r = self.r
        tok = "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
                      for _ in range(r.randrange(12, 30)))
        return "<" + tok + "@" + r.choice(("mail.gmail.com", "example.com", "mx.example.org")) + ">"

    def trap(self):
        r = self.r
        k = r.randrange(5)
        if k == 0:
            return r.choice(("logo", "icon", "hero", "banner")) + "@" + r.choice("23") + "x." + r.choice(EXT)
        if k == 1:
            return r.choice(PKGS) + "@" + "%d.%d.%d" % (r.randrange(20), r.randrange(30), r.randrange(40))
        if k == 2:
            return "photo@" + r.choice(DOMAINS) + "." + r.choice(EXT[:6])
        if k == 3:
            return "https://user:secret@" + r.choice(DOMAINS) + "/path"
        return "cid:part" + str(r.randrange(10 ** 6)) + "@" + r.choice(DOMAINS)

    def prose(self):
        r = self.r
        out = []
        for _ in range(r.randrange(3, 8)):
            s = self.words(r.randrange(8, 25)).capitalize()
            p = r.random()
            if p < 0.15:
                s += " write to " + self.address()
            elif p < 0.25:
                s += " (" + self.address() + ")"
            elif p < 0.3:
                s += " " + self.trap()
            out.append(s + ".")
        return "\n".join(out) + "\n\n"

    def html(self):
        r = self.r
        rows = ["<div class=\"contact\">"]
        for _ in range(r.randrange(2, 6)):
            p = r.random()
            if p < 0.3:
                a = self.address()
                rows.append("  <a href=\"mailto:%s\">%s</a>" % (a, a))
            elif p < 0.5:
                rows.append("  <img src=\"/img/%s@2x.%s\" alt=\"%s\">" % (r.choice(("logo", "icon")),
                                                                         r.choice(EXT[:6]), self.words(2)))
            else:
                rows.append("  <p>%s</p>" % self.words(r.randrange(5, 20)))
        rows.append("</div>")
        return "\n".join(rows) + "\n"

    def logs(self):
        r = self.r
        out = []
        for _ in range(r.randrange(5, 15)):
            ts = "2024-%02d-%02dT%02d:%02d:%02dZ" % (r.randrange(1, 13), r.randrange(1, 29), r.randrange(24),
                                                     r.randrange(60), r.randrange(60))
            if r.random() < 0.2:
                out.append("%s INFO login ok user=%s ip=10.%d.%d.%d" % (ts, self.address(), r.randrange(256),
                                                                       r.randrange(256), r.randrange(256)))
            else:
                out.append("%s DEBUG %s took=%dms" % (ts, self.words(r.randrange(3, 9)), r.randrange(1000)))
        return "\n".join(out) + "\n"

    def csv(self):
        r = self.r
        out = ["id,name,email,created"]
        for i in range(r.randrange(3, 12)):
            out.append("%d,\"%s, %s\",%s,2023-%02d-%02d" % (i, r.choice(LAST).capitalize(),
                                                           r.choice(FIRST).capitalize(), self.address(),
                                                           r.randrange(1, 13), r.randrange(1, 29)))
        return "\n".join(out) + "\n"

    def code(self):
        r = self.r
        out = []
        for _ in range(r.randrange(4, 10)):
            p = r.random()
            if p < 0.25:
                out.append("    \"%s\": \"^%d.%d.%d\"," % (r.choice(PKGS), r.randrange(20), r.randrange(30),
                                                          r.randrange(40)))
            elif p < 0.4:
                out.append("    install(\"%s\")" % self.trap())
            elif p < 0.5:
                out.append("    author = '%s'" % self.address())
            elif p < 0.6:
                out.append("    @Override")
            else:
                out.append("    x%d = compute(%s)  # %s" % (r.randrange(100), self.words(2).replace(" ", ", "),
                                                           self.words(5)))
        return "def f():\n" + "\n".join(out) + "\n\n"

    def mail(self):
        r = self.r
        out = ["From: %s %s <%s>" % (r.choice(FIRST).capitalize(), r.choice(LAST).capitalize(), self.address()),
               "To: " + self.address(),
               "Message-ID: " + self.msgid(),
               "In-Reply-To: " + self.msgid(),
               "References: " + self.msgid(),
               " " + self.msgid(),
               "Subject: " + self.words(5),
               "",
               self.words(20), ""]
        return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen.py OUT_TEXT OUT_TRUTH [MB] [SEED]")
    mb = float(sys.argv[3]) if len(sys.argv) > 3 else 100.0
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 20240601
    g = Gen(seed)
    kinds = (g.prose, g.prose, g.html, g.logs, g.csv, g.code, g.mail)
    want = int(mb * 1024 * 1024)
    size = 0
    with open(sys.argv[1], "w", encoding="utf-8", newline="\n") as f:
        while size < want:
            block = "".join(g.r.choice(kinds)() for _ in range(64))
            f.write(block)
            size += len(block.encode("utf-8"))
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        for a in sorted(g.truth):
            f.write(a + "\n")


if __name__ == "__main__":
    main()

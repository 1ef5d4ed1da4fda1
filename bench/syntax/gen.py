#!/usr/bin/python3
"""gen.py - write the syntax benchmark's input: N seeded email addresses.

Usage: /usr/bin/python3 bench/syntax/gen.py OUTFILE [N] [SEED]

Writes N addresses (default 1,000,000), one per line, UTF-8, '\\n' line ends.
The output depends only on N and SEED (default 20240601): the same arguments
give the same bytes on every machine, and a smaller N gives a prefix of a
larger one (each line draws from one shared random.Random in order).

The mix is meant to look like a real sign-up / mailing list:
  ~70% meant-to-be-valid: first.last, +tags, digits, separators, role
      accounts, mixed case, sub-domains, many TLDs, IDN domains (bücher.de),
      a few quoted local parts and a few UTF-8 local parts;
  ~30% meant-to-be-invalid: missing @, two @, consecutive dots, leading or
      trailing dots, spaces, bad characters, local parts over 64 octets,
      empty labels / parts, hyphens at label ends, labels over 63 octets.
"Meant to be" because validators disagree on the edges (quoted strings,
IDN, underscores); the benchmark reports those disagreements, it does not
judge them. Each line is checked to contain no CR/LF.
"""

import random
import sys

DEFAULT_N = 1_000_000
DEFAULT_SEED = 20240601

FIRST = """james mary john patricia robert jennifer michael linda william
elizabeth david barbara richard susan joseph jessica thomas sarah charles
karen daniel nancy matthew lisa anthony betty mark margaret donald sandra
steven ashley paul kimberly andrew emily joshua donna kenneth michelle kevin
carol brian amanda george melissa timothy deborah ronald stephanie jason
rebecca edward laura jeffrey sharon ryan cynthia jacob kathleen gary amy
nicholas shirley eric angela jonathan helen stephen anna larry brenda justin
pamela scott nicole brandon emma benjamin samantha samuel katherine gregory
christine alexander debra frank rachel patrick carolyn raymond janet jack
hans fritz jurgen anke wei li hiroshi yuki olga ivan pierre marie luca giulia
ahmed fatima raj priya carlos lucia mateo sofia noah mia liam ava""".split()

LAST = """smith johnson williams brown jones garcia miller davis rodriguez
martinez hernandez lopez gonzalez wilson anderson thomas taylor moore jackson
martin lee perez thompson white harris sanchez clark ramirez lewis robinson
walker young allen king wright scott torres nguyen hill flores green adams
nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans
turner diaz parker cruz edwards collins reyes stewart morris morales murphy
cook rogers gutierrez ortiz morgan cooper peterson bailey reed kelly howard
ramos kim cox ward richardson watson brooks chavez wood james bennett gray
mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann
dubois moreau laurent rossi russo ferrari esposito bianchi wang zhang chen
liu yamamoto tanaka suzuki ivanov petrov kowalski nowak silva santos
o'brien o'neil""".split()

# (domain, weight): big mailbox providers carry most real traffic.
PROVIDERS = [
    ("gmail.com", 30), ("yahoo.com", 8), ("outlook.com", 6),
    ("hotmail.com", 6), ("icloud.com", 4), ("aol.com", 2), ("proton.me", 2),
    ("protonmail.com", 1), ("gmx.de", 2), ("web.de", 2), ("gmx.net", 1),
    ("yandex.ru", 2), ("mail.ru", 2), ("qq.com", 2), ("163.com", 2),
    ("orange.fr", 1), ("free.fr", 1), ("libero.it", 1), ("btinternet.com", 1),
    ("yahoo.co.uk", 1), ("yahoo.co.jp", 1), ("naver.com", 1), ("comcast.net", 1),
    ("live.com", 1), ("msn.com", 1), ("fastmail.com", 1), ("zoho.com", 1),
    ("t-online.de", 1), ("seznam.cz", 1), ("wp.pl", 1), ("uol.com.br", 1),
]

WORDS = """acme globex initech umbrella stark wayne hooli vandelay soylent
cyberdyne tyrell wonka oscorp massive dynamic aperture blackmesa monarch
northwind contoso fabrikam tailspin adventure litware proseware fourth
coffee bluebird redwood silverline brightpath nimbus quantum vertex
harbor summit pioneer lakeside riverbend oakridge maplewood evergreen""".split()

TLDS = [
    ("com", 40), ("org", 8), ("net", 8), ("io", 4), ("co.uk", 4), ("de", 4),
    ("fr", 2), ("nl", 2), ("com.au", 2), ("co.jp", 1), ("ca", 2), ("info", 1),
    ("biz", 1), ("dev", 1), ("app", 1), ("us", 1), ("edu", 3), ("gov", 1),
    ("ch", 1), ("se", 1), ("com.br", 1), ("co.in", 1), ("museum", 1),
    ("technology", 1), ("photography", 1), ("xyz", 1), ("ai", 1),
]

SUBDOMAINS = ["mail", "corp", "eng", "cs", "math", "sales", "eu", "us",
              "mx1", "staff", "alumni", "students", "dept", "lists"]

IDN_DOMAINS = [
    "bücher.de", "münchen.de", "köln.de", "straße.de", "müller-bau.de",
    "café.fr", "españa.es", "añoranza.es", "例え.jp", "日本語.jp",
    "пример.рф", "почта.рф", "中国.cn", "한국.kr", "παράδειγμα.gr",
    "mañana.com", "zürich.ch", "xn--bcher-kva.de", "øl.no", "åland.fi",
]

ROLES = ["info", "sales", "support", "admin", "contact", "hello", "billing",
         "noreply", "no-reply", "webmaster", "postmaster", "hr", "jobs"]

TAGS = ["news", "shop", "spam", "2024", "amazon", "github", "list", "work",
        "promo", "x", "test1", "bank"]

QUOTED_LOCALS = ['"john doe"', '"john..doe"', '"a@b"', '"very.unusual.@.unusual.com"',
                 '"quoted"', '"with\\"escape"', '" "', '"(comment-like)"']

UTF8_LOCALS = ["josé.garcía", "müller", "françois", "用户", "почта",
               "θάλασσα", "renée.dupont", "björn", "søren", "δοκιμή"]

BAD_CHARS = [",", ";", "<", ">", "(", ")", "[", "]", "\\", ":", '"', " "]


def weighted(rng, pairs):
    """Picks one item of (item, weight) pairs."""
    total = sum(w for _, w in pairs)
    x = rng.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


def domain(rng):
    """A plausible domain: provider, company, sub-domain or IDN."""
    r = rng.random()
    if r < 0.62:
        return weighted(rng, PROVIDERS)
    if r < 0.85:
        return rng.choice(WORDS) + ("-" + rng.choice(WORDS) if rng.random() < 0.15 else "") \
            + "." + weighted(rng, TLDS)
    if r < 0.96:
        sub = rng.choice(SUBDOMAINS)
        if rng.random() < 0.25:
            sub = rng.choice(SUBDOMAINS) + "." + sub
        return sub + "." + rng.choice(WORDS) + "." + weighted(rng, TLDS)
    return rng.choice(IDN_DOMAINS)


def local(rng):
    """A plausible local part (ASCII dot-atom mostly)."""
    f, l = rng.choice(FIRST), rng.choice(LAST)
    r = rng.random()
    if r < 0.33:
        s = f + "." + l
    elif r < 0.42:
        s = f
    elif r < 0.56:
        s = f + l + str(rng.randint(1, 9999))
    elif r < 0.65:
        s = f[0] + rng.choice([".", ""]) + l
    elif r < 0.74:
        s = (f + "." + l if rng.random() < 0.5 else f) + "+" + rng.choice(TAGS)
    elif r < 0.81:
        s = f + rng.choice(["_", "-"]) + l
    elif r < 0.86:
        s = rng.choice(ROLES)
    elif r < 0.89:
        s = str(rng.randint(1000, 99999999))
    elif r < 0.95:
        s = f + "." + l + "." + str(rng.randint(60, 99))
    elif r < 0.975:
        s = l + "." + f[0]
    elif r < 0.987:
        return rng.choice(QUOTED_LOCALS)
    else:
        return rng.choice(UTF8_LOCALS)
    if rng.random() < 0.10:
        s = s.capitalize() if rng.random() < 0.6 else s.upper()
    return s


def valid(rng):
    """A meant-to-be-valid address."""
    d = domain(rng)
    if rng.random() < 0.05 and not any(ord(c) > 127 for c in d):
        d = d.capitalize()
    return local(rng) + "@" + d


def insert_at(rng, s, piece):
    """s with piece inserted at a random position strictly inside it."""
    i = rng.randint(1, max(1, len(s) - 1))
    return s[:i] + piece + s[i:]


def invalid(rng):
    """A meant-to-be-invalid address: one typical mistake applied."""
    lp, d = local(rng), domain(rng)
    while lp.startswith('"'):  # mutate plain local parts only
        lp = local(rng)
    k = rng.randrange(16)
    if k == 0:    # missing @
        return lp + rng.choice(["", ".", " "]) + d
    if k == 1:    # two @
        return lp + "@" + rng.choice([d, rng.choice(WORDS)]) + "@" + d
    if k == 2:    # consecutive dots in the local part
        return insert_at(rng, lp, "..") + "@" + d
    if k == 3:    # consecutive dots in the domain
        return lp + "@" + d.replace(".", "..", 1)
    if k == 4:    # leading dot in the local part
        return "." + lp + "@" + d
    if k == 5:    # trailing dot in the local part
        return lp + ".@" + d
    if k == 6:    # space inside
        if rng.random() < 0.5:
            return insert_at(rng, lp, " ") + "@" + d
        return lp + rng.choice([" @", "@ "]) + d
    if k == 7:    # bad character in the local part
        return insert_at(rng, lp, rng.choice(BAD_CHARS)) + "@" + d
    if k == 8:    # bad character in the domain
        return lp + "@" + insert_at(rng, d, rng.choice(BAD_CHARS + ["_", "!", "*", "'"]))
    if k == 9:    # local part over 64 octets
        base = lp.replace('"', "")
        while len(base) <= 64:
            base += "." + rng.choice(LAST)
        return base[:rng.randint(65, 90)].rstrip(".") + "x@" + d
    if k == 10:   # empty label: leading dot or empty label at the end
        return lp + "@" + rng.choice(["." + d, d.split(".")[0] + ".", "." + weighted(rng, TLDS)])
    if k == 11:   # hyphen at a label end
        labels = d.split(".")
        i = rng.randrange(len(labels))
        labels[i] = "-" + labels[i] if rng.random() < 0.5 else labels[i] + "-"
        return lp + "@" + ".".join(labels)
    if k == 12:   # empty local part or empty domain
        return rng.choice(["@" + d, lp + "@"])
    if k == 13:   # label over 63 octets
        return lp + "@" + "".join(rng.choice(WORDS) for _ in range(12))[:rng.randint(64, 80)] + ".com"
    if k == 14:   # display-name form pasted instead of an address
        return f"{lp.title()} <{lp}@{d}>"
    # k == 15: stray trailing / leading punctuation from copy-paste
    return rng.choice([lp + "@" + d + ",", lp + "@" + d + ";", "<" + lp + "@" + d, lp + "@" + d + ")"])


def generate(n, seed):
    """Yields n addresses from one seeded stream."""
    rng = random.Random(seed)
    for _ in range(n):
        a = valid(rng) if rng.random() < 0.70 else invalid(rng)
        if "\n" in a or "\r" in a:
            raise AssertionError("generator produced a line break")
        yield a


def main(argv):
    """Entry point: parses arguments and writes the file."""
    if len(argv) < 2 or len(argv) > 4:
        sys.stderr.write("usage: gen.py OUTFILE [N] [SEED]\n")
        return 2
    n = int(argv[2]) if len(argv) > 2 else DEFAULT_N
    seed = int(argv[3]) if len(argv) > 3 else DEFAULT_SEED
    if n <= 0:
        sys.stderr.write("gen.py: N must be positive\n")
        return 2
    with open(argv[1], "w", encoding="utf-8", newline="\n") as f:
        chunk = []
        for a in generate(n, seed):
            chunk.append(a)
            if len(chunk) == 10000:
                f.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            f.write("\n".join(chunk) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

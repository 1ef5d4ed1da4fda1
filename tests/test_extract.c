/*
 * test_extract.c - unit test of the streaming address scanner (bc_scanner_*):
 * a labelled corpus of traps and true addresses with the exact expected
 * list, chunked feeding at every split position and across window refills,
 * IDN forms, the obfuscated mode and line numbers; the limits (a source cut
 * at max_bytes anywhere reports a prefix of the addresses and never a cut
 * one; max_seconds stops a long feed; the next source starts afresh).
 */
#include <stdlib.h>
#include <string.h>

#include "bouncecheck.h"
#include "tap.h"

/* Hits collected as "address|ascii|line|kind\n" lines. */
typedef struct {
    char *s;
    size_t len, cap;
    bool with_ascii;
} sink;

static void on_hit(void *arg, const bc_extract_hit *h)
{
    sink *k = arg;
    char line[3000];
    int n = k->with_ascii ? snprintf(line, sizeof line, "%s|%s|%lu|%s\n", h->address, h->ascii, h->line, h->kind)
                          : snprintf(line, sizeof line, "%s\n", h->address);
    if (n < 0 || (size_t)n >= sizeof line)
        abort();
    if (k->len + (size_t)n + 1 > k->cap) {
        size_t cap = (k->cap ? k->cap * 2 : 256) + (size_t)n;
        char *p = realloc(k->s, cap);
        if (!p)
            abort();
        k->s = p;
        k->cap = cap;
    }
    memcpy(k->s + k->len, line, (size_t)n + 1);
    k->len += (size_t)n;
}

/* Scans text[0..n) fed in chunks of `step` bytes (0: all at once) and
 * returns what was found. Ownership: the caller frees the result. */
static char *scan(const char *text, size_t n, size_t step, bool obf, bool with_ascii)
{
    sink k = { .with_ascii = with_ascii };
    bc_extract_options o = { .obfuscated = obf };
    bc_scanner *s = bc_scanner_new(&o, on_hit, &k);
    if (!s)
        abort();
    bc_scanner_source(s, "t.txt", "text");
    for (size_t at = 0; at < n;) {
        size_t c = step && n - at > step ? step : n - at;
        bc_scanner_feed(s, text + at, c);
        at += c;
    }
    bc_scanner_end(s);
    bc_scanner_free(s);
    return k.s ? k.s : strdup("");
}

/* Scans text fed in two pieces split at `split`. Caller frees. */
static char *scan_split(const char *text, size_t n, size_t split)
{
    sink k = { .with_ascii = true };
    bc_scanner *s = bc_scanner_new(NULL, on_hit, &k);
    if (!s)
        abort();
    bc_scanner_source(s, "t.txt", "text");
    bc_scanner_feed(s, text, split);
    bc_scanner_feed(s, text + split, n - split);
    bc_scanner_end(s);
    bc_scanner_free(s);
    return k.s ? k.s : strdup("");
}

/* Checks got == want; on a mismatch shows both as comment lines. */
static void same(const char *got, const char *want, const char *what)
{
    if (!CHECK(strcmp(got, want) == 0, "%s", what)) {
        tap_diag("got:");
        for (const char *p = got; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0))
            tap_diag("  %.*s", (int)strcspn(p, "\n"), p);
        tap_diag("want:");
        for (const char *p = want; *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0))
            tap_diag("  %.*s", (int)strcspn(p, "\n"), p);
    }
}

static void expect(const char *what, const char *text, bool obf, const char *want)
{
    char *got = scan(text, strlen(text), 0, obf, false);
    same(got, want, what);
    free(got);
}

/* ---- the labelled corpus ---------------------------------------------------- */

struct tcase {
    const char *what, *text, *want; /* want: addresses, one per line */
};

static const struct tcase corpus[] = {
    { "plain address", "write to john.doe@example.com today", "john.doe@example.com\n" },
    { "two addresses", "a@example.org, b@example.net", "a@example.org\nb@example.net\n" },
    { "angle brackets", "John <john@example.com>", "john@example.com\n" },
    { "parentheses", "(mary@example.com)", "mary@example.com\n" },
    { "quotes and comma", "\"sam@example.com\", 'kim@example.com';", "sam@example.com\nkim@example.com\n" },
    { "trailing dot", "Mail me at ann@example.com.", "ann@example.com\n" },
    { "trailing punctuation",
      "ann@example.com! bob@example.com? cy@example.com:", "ann@example.com\nbob@example.com\ncy@example.com\n" },
    { "mailto prefix", "<a href=\"mailto:info@example.com\">", "info@example.com\n" },
    { "plus and subdomain", "x+tag@mail.example.co.uk", "x+tag@mail.example.co.uk\n" },
    { "upper-case domain lowered", "Joe@EXAMPLE.COM", "Joe@example.com\n" },
    { "inner apostrophe", "o'brien@example.ie", "o'brien@example.ie\n" },
    { "image@2x.png", "<img src=\"logo@2x.png\"> icon@3x.webp banner@2x.jpg", "" },
    { "file name with real domain", "photo@example.com.jpg style@site.css", "" },
    { "file extension that is a TLD", "archive@backup.zip clip@video.mov", "" },
    { "scale label with a TLD", "sprite@2x.de", "" },
    { "version strings", "npm i lodash@4.17.21 react@18.2.0 pkg@1.2.3-beta.1", "" },
    { "numeric TLD", "user@10.0.0.1 user@host.123", "" },
    { "unknown TLD", "root@localhost.localdomain admin@server.local me@example.invalidtld", "" },
    { "no TLD", "user@localhost", "" },
    { "Message-ID header", "Message-ID: <CAF1234abc@mail.example.com>\nFrom: a@example.com\n", "a@example.com\n" },
    { "References folded",
      "References: <x1@example.com>\n <x2@example.com>\n\t<x3@example.com>\nTo: b@example.com\n",
      "b@example.com\n" },
    { "In-Reply-To and Content-ID", "In-Reply-To: <r@example.com>\ncontent-id: <c@example.com>\nok@example.com",
      "ok@example.com\n" },
    { "quoted forwarded header", "> Message-ID: <q@example.com>\n> From: f@example.com\n", "f@example.com\n" },
    { "cid: reference", "<img src=\"cid:part1.06090408@example.com\">", "" },
    { "hyphen wrap", "contact john@exam-\nple.com now", "" },
    { "hyphen wrap in TLD part", "contact john@example.co-\nm now", "" },
    { "soft line break", "contact jo=\nhn@example.com and =\r\nx@example.com", "" },
    { "URL credentials", "https://user:secret@example.com/path ftp://a:b@files.example.org", "" },
    { "quoted local part skipped", "\"john doe\"@example.com", "" },
    { "double at", "a@b@example.com x@@example.com", "" },
    { "local part too long",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com", "" },
    { "URL path at", "https://medium.com/@john.doe/post", "" },
    { "query string separator", "https://x.example/?email=jane@example.com&x=1", "jane@example.com\n" },
    { "trailing hyphen not at line end", "see bob@example.com-- thanks", "bob@example.com\n" },
    { "IDN U-label", "kontakt@bücher.de", "kontakt@bücher.de\n" },
    { "IDN A-label", "kontakt@xn--bcher-kva.de", "kontakt@bücher.de\n" },
    { "IDN TLD", "info@пример.рф", "info@пример.рф\n" },
    { "UTF-8 local part", "josé@example.com", "josé@example.com\n" },
    { "curly quotes",
      "\xe2\x80\x9c"
      "ann@example.com"
      "\xe2\x80\x9d",
      "ann@example.com\n" },
    { "obfuscated off", "john [at] example [dot] com", "" },
    { "git remote", "git@github.com:user/repo.git", "git@github.com\n" },
};

static void test_corpus(void)
{
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++)
        expect(corpus[i].what, corpus[i].text, false, corpus[i].want);
}

static void test_obfuscated(void)
{
    expect("obfuscated brackets", "john [at] example [dot] com", true, "john@example.com\n");
    expect("obfuscated parentheses", "john(at)example.com and mary (AT) example (DOT) org", true,
           "john@example.com\nmary@example.org\n");
    expect("obfuscated braces", "sue{at}mail{dot}example{dot}net", true, "sue@mail.example.net\n");
    expect("obfuscated words", "write to john at example dot com today", true, "john@example.com\n");
    expect("words need a dot word", "meet me at noon.com and look at this", true, "");
    expect("upper-case words are prose", "john AT example DOT com", true, "");
    expect("obfuscated with bad TLD", "img [at] logo [dot] png", true, "");
    expect("plain addresses still found", "a@example.com b [at] example [dot] org", true,
           "a@example.com\nb@example.org\n");
    char *got = scan("john [at] example [dot] com", 27, 0, true, true);
    same(got, "john@example.com|john@example.com|1|obfuscated\n", "obfuscated kind");
    free(got);
}

static void test_idn_and_kinds(void)
{
    char *u = scan("kontakt@Bücher.de", strlen("kontakt@Bücher.de"), 0, false, true);
    char *a = scan("kontakt@XN--BCHER-KVA.DE", strlen("kontakt@XN--BCHER-KVA.DE"), 0, false, true);
    same(u, "kontakt@bücher.de|kontakt@xn--bcher-kva.de|1|text\n", "U-label input");
    same(a, u, "A-label input gives the same hit");
    free(u);
    free(a);
    char *m = scan("x mailto:Info@Example.com", 25, 0, false, true);
    same(m, "Info@example.com|Info@example.com|1|mailto\n", "mailto kind");
    free(m);
}

static void test_lines(void)
{
    const char *t = "first a@example.com\n\nthird b@example.org\r\nfourth\nfifth c@example.net d@example.net";
    char *got = scan(t, strlen(t), 0, false, true);
    same(got,
         "a@example.com|a@example.com|1|text\nb@example.org|b@example.org|3|text\n"
         "c@example.net|c@example.net|5|text\nd@example.net|d@example.net|5|text\n",
         "line numbers");
    free(got);
    /* sources restart the count; kinds switch without restarting it */
    sink k = { .with_ascii = true };
    bc_scanner *s = bc_scanner_new(NULL, on_hit, &k);
    bc_scanner_source(s, "m.eml", "header");
    bc_scanner_feed(s, "To: h@example.com\n\n", 19);
    bc_scanner_kind(s, "body");
    bc_scanner_feed(s, "hi\nb@example.com\n", 17);
    bc_scanner_source(s, "n.txt", "text");
    bc_scanner_feed(s, "n@example.com", 13);
    bc_scanner_free(s); /* without end: nothing more is reported */
    same(k.s ? k.s : "", "h@example.com|h@example.com|1|header\nb@example.com|b@example.com|4|body\n",
         "kind switch keeps the line count, a new source restarts it");
    free(k.s);
}

/* Every split position of a sample gives the same hits as one feed. */
static void test_splits(void)
{
    const char *t = "Hi <ann.lee@example.com>, cc: bob+x@mail.example.org\nMessage-ID: <id@example.com>\n"
                    "kontakt@bücher.de; logo@2x.png; john@exam-\nple.com end@example.net.";
    size_t n = strlen(t);
    char *want = scan(t, n, 0, false, true);
    same(want,
         "ann.lee@example.com|ann.lee@example.com|1|text\n"
         "bob+x@mail.example.org|bob+x@mail.example.org|1|text\n"
         "kontakt@bücher.de|kontakt@xn--bcher-kva.de|3|text\n"
         "end@example.net|end@example.net|4|text\n",
         "split sample, one feed");
    size_t bad = 0;
    for (size_t split = 0; split <= n; split++) {
        char *got = scan_split(t, n, split);
        if (strcmp(got, want) != 0 && bad++ == 0)
            tap_diag("split at %zu:\n%s", split, got);
        free(got);
    }
    CHECK(bad == 0, "every split position (%zu) gives the same hits (%zu differ)", n + 1, bad);
    char *bytewise = scan(t, n, 1, false, true);
    same(bytewise, want, "one byte per feed");
    free(bytewise);
    free(want);
}

/* An address placed at every offset across the scanner's first window
 * refills (the window is 64 KiB plus context) is found exactly once, on the
 * right line. */
static void test_window(void)
{
    const char *addr = " first.last+tag@sub.example.com ";
    size_t alen = strlen(addr), total = 72 * 1024;
    char *buf = malloc(total + alen);
    if (!buf)
        abort();
    size_t bad = 0, tried = 0;
    for (size_t off = 60 * 1024; off < 70 * 1024; off += 7) {
        memset(buf, 'x', off);
        for (size_t j = 80; j < off; j += 80)
            buf[j] = '\n';
        memcpy(buf + off, addr, alen);
        size_t n = off + alen;
        unsigned long lines = 1;
        for (size_t j = 0; j < off; j++)
            lines += buf[j] == '\n';
        char want[128];
        snprintf(want, sizeof want, "first.last+tag@sub.example.com|first.last+tag@sub.example.com|%lu|text\n",
                 lines);
        size_t steps[] = { 0, 4096, 65536, 1000003 % 9973 };
        for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
            char *got = scan(buf, n, steps[si], false, true);
            tried++;
            if (strcmp(got, want) != 0 && bad++ == 0)
                tap_diag("offset %zu step %zu: got '%s' want '%s'", off, steps[si], got, want);
            free(got);
        }
    }
    CHECK(bad == 0, "address across window refills: %zu runs, %zu wrong", tried, bad);
    free(buf);
}

/* Many addresses over several windows: any chunking gives the one-feed list. */
static void test_long_stream(void)
{
    size_t cap = 600 * 1024, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        abort();
    unsigned count = 0;
    while (n + 200 < cap) {
        int w = count % 3 == 0
                    ? snprintf(buf + n, cap - n, "lorem ipsum %u image@2x.png v%u@1.2.3\n", count, count * 7)
                : count % 3 == 1
                    ? snprintf(buf + n, cap - n, "user%u@host%u.example.com and some words; ", count, count * 7)
                    : snprintf(buf + n, cap - n, "name%u [at] host%u [dot] example [dot] org, ", count, count * 7);
        n += (size_t)w;
        count++;
    }
    char *one = scan(buf, n, 0, true, true);
    size_t found = 0;
    for (const char *p = one; (p = strchr(p, '\n')) != NULL; p++)
        found++;
    CHECK(found == count - (count + 2) / 3, "long stream: %zu of %u addresses", found, count - (count + 2) / 3);
    size_t steps[] = { 1, 13, 4096, 65535, 65536, 200000 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *got = scan(buf, n, steps[i], true, true);
        CHECK(strcmp(got, one) == 0, "long stream fed in chunks of %zu", steps[i]);
        free(got);
    }
    free(one);
    free(buf);
}

/* Scans text with the limits o, in chunks of step; *st gets the stats. */
static char *scan_limited(const char *text, size_t n, size_t step, const bc_extract_options *o,
                          bc_extract_stats *st)
{
    sink k = { .with_ascii = false };
    bc_scanner *s = bc_scanner_new(o, on_hit, &k);
    if (!s)
        abort();
    bc_scanner_source(s, "t.txt", "text");
    for (size_t at = 0; at < n;) {
        size_t c = step && n - at > step ? step : n - at;
        bc_scanner_feed(s, text + at, c);
        at += c;
    }
    bc_scanner_end(s);
    bc_scanner_stats(s, st);
    bc_scanner_free(s);
    return k.s ? k.s : strdup("");
}

static void test_limits(void)
{
    static const char text[] = "Mail ann@example.com, bob.smith@example.org; <carl@example.net>\n"
                               "then dora@sub.example.co.uk and erin@example.com.\n";
    size_t n = sizeof text - 1;
    bc_extract_stats st;
    char *all = scan_limited(text, n, 0, NULL, &st);
    CHECK(st.limit == BC_EXTRACT_LIMIT_NONE && st.bytes == n && st.lines_cut == 0,
          "default limits: a small text is read whole (%llu bytes)", (unsigned long long)st.bytes);
    /* cut at every byte, fed whole and byte by byte: a prefix of the
     * addresses, never one cut short ("ann@example.co") */
    bool prefix = true, limited = true;
    for (size_t cut = 1; cut < n; cut++) {
        for (size_t step = 0; step <= 1; step++) {
            bc_extract_options o = { .max_bytes = (int64_t)cut };
            char *got = scan_limited(text, n, step, &o, &st);
            if (strncmp(all, got, strlen(got)) != 0 || (got[0] && got[strlen(got) - 1] != '\n')) {
                prefix = false;
                tap_diag("max_bytes %zu step %zu: got '%s'", cut, step, got);
            }
            if (st.limit != BC_EXTRACT_LIMIT_BYTES || st.bytes != cut)
                limited = false;
            free(got);
        }
    }
    CHECK(prefix, "max_bytes cuts anywhere: the addresses before the cut, none cut short");
    CHECK(limited, "max_bytes: the limit is BYTES and exactly max_bytes were fed");
    bc_extract_options o = { .max_bytes = 30 };
    char *got = scan_limited(text, n, 0, &o, &st);
    same(got, "ann@example.com\n", "max_bytes 30: ann only (bob.smith@example.org is cut)");
    free(got);
    free(all);

    /* the time limit stops a long feed, and the next source starts afresh */
    size_t big = 8u << 20;
    char *buf = malloc(big);
    if (!buf)
        abort();
    for (size_t i = 0; i < big; i++)
        buf[i] = (char)('a' + i % 26);
    memcpy(buf, "first@example.com ", 18);
    memcpy(buf + big - 18, " last@example.com", 17);
    buf[big - 1] = '\n';
    sink k = { .with_ascii = false };
    bc_extract_options ot = { .max_seconds = 0.05, .max_bytes = -1 };
    bc_scanner *s = bc_scanner_new(&ot, on_hit, &k);
    if (!s)
        abort();
    bc_scanner_source(s, "a.txt", "text");
    unsigned rounds = 0;
    do {
        bc_scanner_feed(s, buf, big);
        bc_scanner_stats(s, &st);
    } while (st.limit == BC_EXTRACT_LIMIT_NONE && ++rounds < 2000);
    CHECK(st.limit == BC_EXTRACT_LIMIT_SECONDS && st.seconds >= 0.05 && st.seconds < 1,
          "max_seconds 0.05: a long feed stops at the time limit (%.3f s, %u rounds of 8 MiB)", st.seconds,
          rounds);
    uint64_t fed = st.bytes;
    bc_scanner_feed(s, buf, big);
    bc_scanner_stats(s, &st);
    CHECK(st.bytes == fed, "after the limit what is fed is dropped");
    bc_scanner_source(s, "b.txt", "text");
    bc_scanner_feed(s, "new@example.org\n", 16);
    bc_scanner_end(s);
    bc_scanner_stats(s, &st);
    CHECK(st.limit == BC_EXTRACT_LIMIT_NONE && st.bytes == 16 && k.s && strstr(k.s, "new@example.org\n"),
          "the next source starts with fresh limits");
    CHECK(k.s && strstr(k.s, "first@example.com\n"), "the address before the limit was reported");
    bc_scanner_free(s);
    free(k.s);
    free(buf);
}

int main(void)
{
    test_corpus();
    test_obfuscated();
    test_idn_and_kinds();
    test_lines();
    test_splits();
    test_window();
    test_long_stream();
    test_limits();
    CHECK(bc_scanner_new(NULL, NULL, NULL) == NULL, "no callback, no scanner");
    bc_scanner_free(NULL);
    return tap_done();
}

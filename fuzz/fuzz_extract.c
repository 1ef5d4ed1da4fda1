/*
 * fuzz_extract.c - libFuzzer target for the streaming address scanner: any
 * byte string, fed in two chunks split at a byte chosen from the input, must
 * give exactly the hits of one feed; so must the same input behind padding
 * long enough to cross the scanner's window refill (line numbers shifted by
 * the padding's lines). The padding is lines of blanks, not bare newlines:
 * every line start costs the scanner a header check, and 64 Ki of them made
 * each run take 9 ms. Every hit must be a valid, normalised address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bouncecheck.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

#define PAD (64 * 1024)
#define PAD_LINE 64 /* bytes per padding line, its newline included */

typedef struct {
    size_t n;
    unsigned long shift; /* subtracted from line numbers */
    uint64_t hash;       /* of every hit, in order */
} run;

static void on_hit(void *arg, const bc_extract_hit *h)
{
    run *r = arg;
    static bc_addr a;
    require(h->address && h->ascii && h->file && h->kind);
    require(h->line > r->shift);
    /* the reported forms are valid addresses that normalise to themselves */
    bc_addr_parse(h->ascii, strlen(h->ascii), &a);
    require(a.valid);
    bc_addr_parse(h->address, strlen(h->address), &a);
    require(a.valid);
    require(strcmp(a.normalized, h->address) == 0);
    unsigned long line = h->line - r->shift;
    uint64_t x = r->hash ^ line;
    for (const char *p = h->address; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211u;
    for (const char *p = h->kind; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211u;
    r->hash = x * 31u + 7u;
    r->n++;
}

/* Scans pad newlines then in[0..size) split at `split`, with or without the
 * obfuscated mode. */
static run scan(const char *in, size_t size, size_t split, size_t pad, bool obf)
{
    unsigned long lines = (unsigned long)((pad + PAD_LINE - 1) / PAD_LINE);
    run r = { 0, lines, 1469598103934665603u };
    bc_extract_options o = { .obfuscated = obf };
    bc_scanner *s = bc_scanner_new(&o, on_hit, &r);
    if (!s)
        return r;
    bc_scanner_source(s, "fuzz", "text");
    if (pad) {
        char *nl = malloc(pad);
        require(nl != NULL);
        memset(nl, ' ', pad);
        for (size_t i = PAD_LINE - 1; i < pad; i += PAD_LINE)
            nl[i] = '\n';
        nl[pad - 1] = '\n';
        bc_scanner_feed(s, nl, pad);
        free(nl);
    }
    bc_scanner_feed(s, in, split);
    bc_scanner_feed(s, in + split, size - split);
    bc_scanner_end(s);
    bc_scanner_free(s);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    /* a private copy with no slack, so ASan sees any read past `size` */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    bool obf = size > 0 && (data[0] & 1);
    size_t split = size ? (size_t)data[size / 2] * size / 256 : 0;
    run one = scan(in, size, size, 0, obf);
    run two = scan(in, size, split, 0, obf);
    require(one.n == two.n && one.hash == two.hash);
    /* padding that puts the input across the first window refill */
    size_t pad = PAD - (size ? (size_t)data[0] * 8 : 0);
    run padded = scan(in, size, split, pad, obf);
    require(one.n == padded.n && one.hash == padded.hash);
    free(in);
    return 0;
}

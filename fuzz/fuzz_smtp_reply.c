/*
 * fuzz_smtp_reply.c - libFuzzer target for the SMTP reply parser and
 * classifier. The first input byte seeds the chunk sizes; the rest is the byte
 * stream a server would send. The stream is parsed twice, once in a single
 * call per reply and once in chunks of 1..64 bytes, and both runs must see the
 * same replies and the same error. Every reply must keep the invariants of
 * smtp_reply.h: code 100..599, text NUL-terminated inside its buffer and free
 * of control bytes, an enhanced code that agrees with the basic code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_reply.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

/* Folds n bytes into an FNV-1a hash. */
static uint64_t fold(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211u;
    }
    return h;
}

/* Checks one complete reply and returns the hash h extended by it. */
static uint64_t check_reply(uint64_t h, const bc_smtp_reply *r)
{
    require(r->code >= 100 && r->code <= 599);
    require(r->nlines >= 1 && r->nlines <= BC_SMTP_REPLY_LINES_MAX);
    require(memchr(r->text, '\0', sizeof r->text) != NULL);
    require(memchr(r->enhanced, '\0', sizeof r->enhanced) != NULL);
    size_t tl = strlen(r->text);
    for (size_t i = 0; i < tl; i++) {
        unsigned char c = (unsigned char)r->text[i];
        require(c >= 0x20 && c != 0x7f);
    }
    if (r->enh_class == 0) {
        require(r->enhanced[0] == '\0');
    } else {
        require(r->enh_class == r->code / 100);
        require(r->enh_subject >= 0 && r->enh_subject <= 999);
        require(r->enh_detail >= 0 && r->enh_detail <= 999);
        require(r->enhanced[0] == (char)('0' + r->enh_class) && r->enhanced[1] == '.');
    }
    bc_smtp_reading rd = bc_smtp_read(r, NULL, 0);
    bc_smtp_class c = rd.cls;
    require(rd.rule != NULL && rd.rule[0] != '\0');
    require(c == bc_smtp_classify(r));
    require((unsigned)c <= (unsigned)BC_SMTP_SERVER_ERROR);
    require(strcmp(bc_smtp_class_name(c), "unknown") != 0);
    if (r->code >= 400 && r->code < 500)
        require(c != BC_SMTP_REJECTED_MAILBOX && c != BC_SMTP_MAILBOX_DISABLED && c != BC_SMTP_REJECTED_OTHER &&
                c != BC_SMTP_ACCEPTED);
    if (r->code >= 500)
        require(c != BC_SMTP_ACCEPTED && c != BC_SMTP_GREYLISTED && c != BC_SMTP_TEMPFAIL &&
                c != BC_SMTP_SERVICE_UNAVAILABLE);
    h = fold(h, &r->code, sizeof r->code);
    h = fold(h, &r->nlines, sizeof r->nlines);
    h = fold(h, &r->caps, sizeof r->caps);
    h = fold(h, r->enhanced, strlen(r->enhanced));
    h = fold(h, r->text, tl);
    return fold(h, &c, sizeof c);
}

/* Parses in[0..n) with chunks of at most `maxchunk` bytes (0: no limit, one
 * call per reply); chunk sizes follow a small generator seeded by `seed`.
 * Returns a hash of every reply, where it ended, and of the final state. */
static uint64_t run(bc_smtp_parser *p, const char *in, size_t n, size_t maxchunk, unsigned seed)
{
    uint64_t h = 14695981039346656037u;
    unsigned state = seed * 2654435761u + 1;
    size_t pos = 0;
    bc_smtp_parser_init(p);
    while (pos < n) {
        size_t len = n - pos;
        if (maxchunk) {
            state = state * 1103515245u + 12345u;
            size_t k = (size_t)((state >> 16) % maxchunk) + 1;
            if (k < len)
                len = k;
        }
        /* a private copy with no slack, so ASan sees any read past len */
        char *chunk = malloc(len);
        require(chunk != NULL);
        memcpy(chunk, in + pos, len);
        size_t used = 12345;
        bc_smtp_parse_rc rc = bc_smtp_parse(p, chunk, len, &used);
        free(chunk);
        require(used <= len);
        if (rc == BC_SMTP_PARSE_MORE) {
            require(used == len);
        } else if (rc == BC_SMTP_PARSE_DONE) {
            require(used > 0);
            h = check_reply(h, &p->reply);
            size_t end = pos + used;
            h = fold(h, &end, sizeof end);
        } else {
            require(rc == BC_SMTP_PARSE_ERROR);
            require(memchr(p->error, '\0', sizeof p->error) != NULL && p->error[0] != '\0');
            size_t again = 1;
            require(bc_smtp_parse(p, "250 ok\r\n", 8, &again) == BC_SMTP_PARSE_ERROR && again == 0);
            size_t end = pos + used;
            h = fold(h, p->error, strlen(p->error));
            return fold(h, &end, sizeof end);
        }
        pos += used;
    }
    return fold(h, &p->line_len, sizeof p->line_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    static bc_smtp_parser a, b;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    uint64_t ha = run(&a, in, n, 0, 0);
    uint64_t hb = run(&b, in, n, 64, data[0]);
    require(ha == hb);
    return 0;
}

/*
 * fuzz_addr.c - libFuzzer target for bc_addr_parse: any byte string must be
 * diagnosed without crashing, with consistent result fields, and every valid
 * address must normalise to a form that re-parses as valid to itself.
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

/* True when s[0..cap) holds a NUL. */
static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy with no slack, so ASan sees any read past `size` */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    static bc_addr a, b;
    bc_syntax_code code = bc_addr_parse(in, size, &a);
    require(code == a.code);
    require((unsigned)code < (unsigned)BC_SYN__COUNT);
    require(bc_syntax_code_name(code) != NULL);
    require(bc_syntax_category_name(a.category) != NULL);
    require(a.category == bc_syntax_code_category(code));
    require(a.valid == (a.category <= BC_CAT_RFC5321));
    require(terminated(a.local, sizeof a.local));
    require(terminated(a.domain, sizeof a.domain));
    require(terminated(a.ascii_domain, sizeof a.ascii_domain));
    require(terminated(a.normalized, sizeof a.normalized));
    require(code != BC_SYN_DNSWARN_NO_MX_RECORD && code != BC_SYN_DNSWARN_NO_RECORD);
    if (size == 0)
        require(code == BC_SYN_ERR_EMPTY);
    if (size > 4096)
        require(code == BC_SYN_ERR_INPUT_TOOLONG);
    if (a.valid) {
        size_t ln = strlen(a.local), an = strlen(a.ascii_domain), nn = strlen(a.normalized);
        require(ln > 0 && ln <= 64);
        require(an > 0 && ln + 1 + an <= 254);
        require(nn == ln + 1 + strlen(a.domain));
        /* A-label form: ASCII, lower case (a literal is kept verbatim) */
        for (size_t k = 0; k < an; k++)
            require(
                (unsigned char)a.ascii_domain[k] < 0x80 &&
                ((a.flags & BC_ADDR_DOMAIN_LITERAL) || !(a.ascii_domain[k] >= 'A' && a.ascii_domain[k] <= 'Z')));
        require(((a.flags & BC_ADDR_DOMAIN_LITERAL) != 0) ==
                (a.domain[0] == '[' && a.domain[strlen(a.domain) - 1] == ']'));
        require(((a.flags & BC_ADDR_UTF8_LOCAL) != 0) ==
                (strspn(a.local, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                                 "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"
                                 " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f") != ln));
        /* the normalized form is itself valid and a fixed point */
        bc_syntax_code c2 = bc_addr_parse(a.normalized, nn, &b);
        require(b.valid);
        require(c2 == b.code);
        require(strcmp(a.normalized, b.normalized) == 0);
        require(strcmp(a.ascii_domain, b.ascii_domain) == 0);
        require(strcmp(a.local, b.local) == 0);
        require(a.flags == b.flags ||
                (a.flags & ~(unsigned)BC_ADDR_QUOTED) == (b.flags & ~(unsigned)BC_ADDR_QUOTED));
    }
    free(in);
    return 0;
}

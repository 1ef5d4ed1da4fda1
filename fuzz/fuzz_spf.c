/*
 * fuzz_spf.c - libFuzzer target for the SPF record parser and macro
 * expansion (src/lib/health/spf_parse.c and spf_macro.c): any byte string
 * must be parsed or rejected with a message, never crash; a parsed
 * record's terms must be consistent; and a macro-string expands exactly
 * when its syntax check passes (or the result does not fit).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/spf.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

static const char *fixed_p(void *arg)
{
    (void)arg;
    return "mx.example.org";
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

    /* the record parser, on the input and on "v=spf1 " + input */
    char err[256];
    for (int pass = 0; pass < 2; pass++) {
        const char *text = in;
        size_t len = size;
        char *pre = NULL;
        if (pass == 1) {
            pre = malloc(size + 7);
            if (!pre)
                break;
            memcpy(pre, "v=spf1 ", 7);
            if (size)
                memcpy(pre + 7, in, size);
            text = pre;
            len = size + 7;
        }
        bc_spf_record *rec = NULL;
        err[0] = '\0';
        int rc = bc_spf_parse(text, len, &rec, err, sizeof err);
        if (rc == 0) {
            require(rec != NULL);
            require(bc_spf_is_v1(text, len));
            int nredirect = 0, nexp = 0;
            for (size_t i = 0; i < rec->n; i++) {
                const bc_spf_term *t = &rec->terms[i];
                require(t->text != NULL && t->text[0] != '\0');
                require(strchr("+-~?", t->qualifier) != NULL);
                require(t->cidr4 >= 0 && t->cidr4 <= 32 && t->cidr6 >= 0 && t->cidr6 <= 128);
                require(bc_spf_kind_name(t->kind) != NULL);
                if (t->kind == BC_SPF_INCLUDE || t->kind == BC_SPF_EXISTS || t->kind == BC_SPF_REDIRECT ||
                    t->kind == BC_SPF_EXP)
                    require(t->spec != NULL && t->spec[0] != '\0');
                nredirect += t->kind == BC_SPF_REDIRECT;
                nexp += t->kind == BC_SPF_EXP;
            }
            require(nredirect <= 1 && nexp <= 1);
            require((nredirect == 1) == (rec->redirect != NULL));
            require((nexp == 1) == (rec->exp != NULL));
        } else {
            require(rec == NULL);
            require(err[0] != '\0');
            require(memchr(err, '\0', sizeof err) != NULL);
        }
        bc_spf_record_free(rec);
        free(pre);
    }

    /* macro expansion of the input as a macro-string, both contexts */
    bc_spf_macros m;
    memset(&m, 0, sizeof m);
    m.local = "strong-bad";
    m.sender_domain = "email.example.com";
    m.domain = "email.example.com";
    m.helo = "mx.example.org";
    m.now = 1700000000;
    m.validated = fixed_p;
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&m.ip;
    v4->sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.3", &v4->sin_addr);
    for (int exp = 0; exp < 2; exp++) {
        char out[512];
        const char *why = bc_spf_macro_check(in, size, exp != 0, false);
        int rc = bc_spf_expand(in, size, &m, exp != 0, out, sizeof out, err, sizeof err);
        if (why)
            require(rc < 0);
        if (rc == 0)
            require(memchr(out, '\0', sizeof out) != NULL);
        (void)bc_spf_macro_check(in, size, exp != 0, true);
    }
    free(in);
    return 0;
}

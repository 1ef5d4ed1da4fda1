/*
 * fuzz_mta_sts.c - libFuzzer target for the parsers behind the MTA-STS,
 * TLS-RPT and BIMI health sections (src/lib/health/mta_sts.h, tls_rpt.h, bimi.h): the policy file a
 * web server sends, and the three TXT records. Any byte string must be
 * parsed or rejected with a message, never crash; what a parser accepts
 * must keep the promises of mta_sts.h (the id's alphabet, the policy's
 * version, mode, max_age and normalised mx patterns, bounded URI lists).
 * The records are tried as given and behind their version tag, so the
 * fuzzer reaches the fields without having to find the tag first.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/bimi.h"
#include "health/mta_sts.h"
#include "health/tls_rpt.h"
#include "health/txt_record.h"

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

/* err after a parser said no: a message, inside its buffer. */
static void check_err(const char *err, size_t cap)
{
    require(terminated(err, cap));
    require(err[0] != '\0');
}

static void fuzz_policy(const char *in, size_t size)
{
    static bc_sts_policy p;
    char err[256];
    err[0] = '\0';
    bool ok = bc_mta_sts_parse_policy(in, size, &p, err, sizeof err);
    require(terminated(p.version, sizeof p.version));
    require(terminated(p.mode, sizeof p.mode));
    require(p.nmx <= BC_STS_MX_MAX);
    require(!p.mx_truncated || p.nmx == BC_STS_MX_MAX);
    for (size_t i = 0; i < p.nmx; i++) {
        const char *m = p.mx[i];
        size_t n = strnlen(m, sizeof p.mx[i]);
        require(n > 0 && n < sizeof p.mx[i]);
        require(m[n - 1] != '.');
        for (size_t k = 0; k < n; k++)
            require(!isupper((unsigned char)m[k]));
        /* a pattern matches what it describes, and only one label deep */
        char host[300];
        if (strncmp(m, "*.", 2) == 0) {
            snprintf(host, sizeof host, "a%s", m + 1);
            require(bc_mta_sts_mx_match(m, host));
            require(!bc_mta_sts_mx_match(m, m + 2));
        } else {
            require(bc_mta_sts_mx_match(m, m));
            snprintf(host, sizeof host, "%s.", m);
            require(bc_mta_sts_mx_match(m, host));
        }
    }
    if (!ok) {
        check_err(err, sizeof err);
        return;
    }
    require(strcmp(p.version, "STSv1") == 0);
    require(strcmp(p.mode, "enforce") == 0 || strcmp(p.mode, "testing") == 0 || strcmp(p.mode, "none") == 0);
    require(p.max_age >= 0 && p.max_age <= BC_STS_MAX_AGE_MAX);
    require(p.nmx > 0 || strcmp(p.mode, "none") == 0);
    require(!memchr(in, '\0', size));
}

static void fuzz_records(const char *text)
{
    char err[256];

    char id[33];
    err[0] = '\0';
    if (bc_mta_sts_parse_record(text, id, err, sizeof err)) {
        require(bc_txt_has_version(text, "v=STSv1"));
        size_t n = strnlen(id, sizeof id);
        require(n >= 1 && n <= 32);
        for (size_t i = 0; i < n; i++)
            require(isalnum((unsigned char)id[i]));
    } else {
        check_err(err, sizeof err);
    }

    static bc_tlsrpt_record t;
    err[0] = '\0';
    if (bc_tls_rpt_parse_record(text, &t, err, sizeof err)) {
        require(bc_txt_has_version(text, "v=TLSRPTv1"));
        require(t.nrua <= sizeof t.rua / sizeof t.rua[0]);
        require(!t.rua_truncated || t.nrua == sizeof t.rua / sizeof t.rua[0]);
        for (size_t i = 0; i < t.nrua; i++) {
            require(terminated(t.rua[i], sizeof t.rua[i]));
            require(t.rua[i][0] != '\0');
            (void)bc_tls_rpt_uri_ok(t.rua[i]);
        }
    } else {
        check_err(err, sizeof err);
    }

    static bc_bimi_record b;
    err[0] = '\0';
    if (bc_bimi_parse_record(text, &b, err, sizeof err)) {
        require(bc_txt_has_version(text, "v=BIMI1"));
        require(terminated(b.l, sizeof b.l) && terminated(b.a, sizeof b.a));
        require(b.has_l || b.l[0] == '\0');
        require(b.has_a || b.a[0] == '\0');
    } else {
        check_err(err, sizeof err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > BC_STS_POLICY_MAX)
        return 0;
    /* a private copy with no slack, so ASan sees any read past `size` */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    fuzz_policy(in, size);

    /* the records: TXT text up to the first NUL, as given and behind each tag */
    static const char *const tags[] = { "", "v=STSv1; ", "v=TLSRPTv1; ", "v=BIMI1; " };
    size_t len = strnlen(in, size);
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        size_t tl = strlen(tags[i]);
        char *text = malloc(tl + len + 1);
        if (!text)
            break;
        memcpy(text, tags[i], tl);
        if (len)
            memcpy(text + tl, in, len);
        text[tl + len] = '\0';
        fuzz_records(text);
        free(text);
    }
    free(in);
    return 0;
}

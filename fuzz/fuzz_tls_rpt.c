/*
 * fuzz_tls_rpt.c - libFuzzer target for the TLS-RPT section of the domain
 * health check (tls_rpt.c over txt_record.c): the record parser and its
 * URI check on every record as given, then bc_health_tls_rpt over an
 * in-memory zone. The input is the TXT answer at _smtp._tls.example.com,
 * then optionally a 0x1D byte and the one at _mta-sts.example.com (which
 * the section reads when there is no TLS-RPT record); fuzz_zone.h says how
 * the bytes become records. Inputs that cannot be JSON strings (invalid
 * UTF-8) only reach the parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_zone.h"
#include "health/tls_rpt.h"

#define NRUA (sizeof((bc_tlsrpt_record *)0)->rua / sizeof((bc_tlsrpt_record *)0)->rua[0])

/* True when the section has a finding `code`. */
static bool has_code(const json_t *sec, const char *code)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
            return true;
    }
    return false;
}

/* The parser's promises for one record text (NUL-terminated). t is filled. */
static bool check_parse(const char *text, bc_tlsrpt_record *t)
{
    char err[256];
    err[0] = '\0';
    bool ok = bc_tls_rpt_parse_record(text, t, err, sizeof err);
    if (!ok) {
        require(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        return false;
    }
    require(bc_txt_has_version(text, "v=TLSRPTv1"));
    require(t->nrua <= NRUA);
    require(!t->rua_truncated || t->nrua == NRUA);
    for (size_t i = 0; i < t->nrua; i++) {
        const char *u = t->rua[i];
        size_t n = strnlen(u, sizeof t->rua[i]);
        require(n > 0 && n < sizeof t->rua[i]);
        require(!strchr(u, ',') && !strchr(u, ';'));
        require(!bc_txt_is_wsp(u[0]) && !bc_txt_is_wsp(u[n - 1]));
        if (bc_tls_rpt_uri_ok(u)) {
            require(strncasecmp(u, "mailto:", 7) == 0 || strncasecmp(u, "https://", 8) == 0);
            for (size_t k = 0; k < n; k++)
                require((unsigned char)u[k] > 0x20 && (unsigned char)u[k] < 0x7f);
            require(strncasecmp(u, "mailto:", 7) != 0 || strchr(u + 7, '@') != NULL);
        }
    }
    return true;
}

/* Every record of p[0..n) through the parser, its character-strings joined. */
static void parse_all(const char *p, size_t n)
{
    static bc_tlsrpt_record t;
    char *text = malloc(n + 1);
    if (!text)
        return;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] != 0x1e)
            continue;
        size_t len = 0;
        for (size_t k = start; k < i; k++)
            if (p[k] != 0x1f)
                text[len++] = p[k];
        text[len] = '\0';
        check_parse(text, &t);
        start = i + 1;
    }
    free(text);
}

/* The section over the zone: its shape, and what it says against what the
 * records are. */
static void check_section(const json_t *sec, const char *rpt, size_t nrpt)
{
    zone_check_section(sec, "tls_rpt_");
    bool tempfail;
    size_t n = zone_count_version(rpt, nrpt, "v=TLSRPTv1", &tempfail);
    const char *st = json_string_value(json_object_get(sec, "status"));
    const json_t *record = json_object_get(sec, "record"), *rua = json_object_get(sec, "rua");
    require(json_is_array(rua));
    if (tempfail) {
        require(has_code(sec, "tls_rpt_dns_error") && strcmp(st, "warn") == 0);
        require(json_is_null(record) && json_array_size(rua) == 0);
        return;
    }
    if (n == 0) {
        require(has_code(sec, "tls_rpt_missing"));
        require(strcmp(st, "none") == 0 || strcmp(st, "warn") == 0);
        require(json_is_null(record) && json_array_size(rua) == 0);
        return;
    }
    require(has_code(sec, "tls_rpt_multiple_records") == (n > 1));
    require(json_is_string(record));
    /* the section read the record's text up to its first NUL, as the parser does */
    static bc_tlsrpt_record t;
    bool ok = check_parse(json_string_value(record), &t);
    require(has_code(sec, "tls_rpt_syntax") == !ok);
    if (!ok) {
        require(json_array_size(rua) == 0 && strcmp(st, "fail") == 0);
        return;
    }
    require(json_array_size(rua) == t.nrua);
    require(has_code(sec, "tls_rpt_no_rua") == (t.nrua == 0));
    bool bad = false;
    for (size_t i = 0; i < t.nrua; i++) {
        const char *u = json_string_value(json_array_get(rua, i));
        require(u == NULL || strcmp(u, t.rua[i]) == 0);
        bad |= !bc_tls_rpt_uri_ok(t.rua[i]);
    }
    require(has_code(sec, "tls_rpt_bad_uri") == bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    /* a private copy with no slack, so ASan sees any read past `size` */
    char *in = malloc(size ? size : 1);
    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    const char *sep = memchr(in, 0x1d, size);
    size_t nrpt = sep ? (size_t)(sep - in) : size;
    const char *sts = sep ? sep + 1 : in + size;
    size_t nsts = size - nrpt - (sep ? 1 : 0);

    parse_all(in, nrpt);

    json_t *zone = json_object();
    if (zone && zone_add_txt(zone, "_smtp._tls.example.com", in, nrpt) &&
        zone_add_txt(zone, "_mta-sts.example.com", sts, nsts)) {
        bc_resolver *r = zone_resolver(zone);
        json_t *sec = r ? bc_health_tls_rpt(r, "example.com") : NULL;
        if (sec)
            check_section(sec, in, nrpt);
        json_decref(sec);
        bc_resolver_free(r);
    }
    json_decref(zone);
    free(in);
    return 0;
}

/*
 * fuzz_bimi.c - libFuzzer target for the BIMI section of the domain health
 * check (bimi.c over txt_record.c): the record parser on every record as
 * given, then bc_health_bimi over an in-memory zone, with the DMARC
 * section it is given as its precondition made by bc_health_dmarc from the
 * same zone (as the health check does), with that section's pct as an
 * integer, and with none. The input is the TXT answer at
 * default._bimi.example.com, then optionally a 0x1D byte and the one at
 * _dmarc.example.com; fuzz_zone.h says how the bytes become records.
 * Inputs that cannot be JSON strings (invalid UTF-8) only reach the parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_zone.h"
#include "health/bimi.h"

/* True when the section has a finding `code`; with prefix, one whose code
 * starts with it. */
static bool has_code(const json_t *sec, const char *code, bool prefix)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        const char *c = json_string_value(json_object_get(f, "code"));
        if (prefix ? strncmp(c, code, strlen(code)) == 0 : strcmp(c, code) == 0)
            return true;
    }
    return false;
}

/* The parser's promises for one record text (NUL-terminated). b is filled. */
static bool check_parse(const char *text, bc_bimi_record *b)
{
    char err[256];
    err[0] = '\0';
    if (!bc_bimi_parse_record(text, b, err, sizeof err)) {
        require(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        return false;
    }
    require(bc_txt_has_version(text, "v=BIMI1"));
    require(memchr(b->l, '\0', sizeof b->l) && memchr(b->a, '\0', sizeof b->a));
    require(b->has_l || b->l[0] == '\0');
    require(b->has_a || b->a[0] == '\0');
    require(!bc_txt_is_wsp(b->l[0]) && !bc_txt_is_wsp(b->a[0]));
    return true;
}

/* Every record of p[0..n) through the parser, its character-strings joined. */
static void parse_all(const char *p, size_t n)
{
    static bc_bimi_record b;
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
        check_parse(text, &b);
        start = i + 1;
    }
    free(text);
}

/* A URL field of the section: null, or the parsed value (null too when a
 * cut value is no longer UTF-8). */
static void check_url(const json_t *v, bool has, const char *want)
{
    require(json_is_null(v) || json_is_string(v));
    if (!has || !want[0])
        require(json_is_null(v));
    else if (json_is_string(v))
        require(strcmp(json_string_value(v), want) == 0);
}

/* The section over the zone: its shape, and what it says against what the
 * records are. */
static void check_section(const json_t *sec, const char *bimi, size_t nbimi, bool with_dmarc)
{
    zone_check_section(sec, "bimi_");
    bool tempfail;
    size_t n = zone_count_version(bimi, nbimi, "v=BIMI1", &tempfail);
    const char *st = json_string_value(json_object_get(sec, "status"));
    const json_t *record = json_object_get(sec, "record");
    const json_t *logo = json_object_get(sec, "logo"), *authority = json_object_get(sec, "authority");
    if (tempfail || n == 0) {
        require(json_is_null(record) && json_is_null(logo) && json_is_null(authority));
        require(has_code(sec, tempfail ? "bimi_dns_error" : "bimi_missing", false));
        require(strcmp(st, tempfail ? "warn" : "none") == 0);
        return;
    }
    require(has_code(sec, "bimi_multiple_records", false) == (n > 1));
    require(json_is_string(record));
    /* the section read the record's text up to its first NUL, as the parser does */
    static bc_bimi_record b;
    bool ok = check_parse(json_string_value(record), &b);
    require(has_code(sec, "bimi_syntax", false) == !ok);
    if (!ok) {
        require(json_is_null(logo) && json_is_null(authority) && strcmp(st, "fail") == 0);
        return;
    }
    check_url(logo, b.has_l, b.l);
    check_url(authority, b.has_a, b.a);
    bool declined = b.has_l && !b.l[0] && !b.a[0];
    require(has_code(sec, "bimi_declined", false) == declined);
    require(has_code(sec, "bimi_no_logo", false) == (!b.has_l || (!b.l[0] && b.a[0])));
    /* DMARC is judged only for a record that shows a logo (or means to) */
    bool judged = b.has_l && !declined;
    if (!judged)
        require(!has_code(sec, "bimi_dmarc_", true));
    else if (!with_dmarc)
        require(has_code(sec, "bimi_dmarc_missing", false));
}

/* The DMARC section with its pct tag as an integer when it is one (the
 * form bimi.c reads besides strings). New reference or NULL. */
static json_t *dmarc_int_pct(const json_t *dmarc)
{
    json_t *d = json_deep_copy(dmarc);
    json_t *tags = json_object_get(d, "tags");
    const char *pct = json_string_value(json_object_get(tags, "pct"));
    if (pct) {
        char *end;
        long v = strtol(pct, &end, 10);
        if (end != pct && !*end)
            json_object_set_new(tags, "pct", json_integer(v));
    }
    return d;
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
    size_t nbimi = sep ? (size_t)(sep - in) : size;
    const char *dm = sep ? sep + 1 : in + size;
    size_t ndm = size - nbimi - (sep ? 1 : 0);

    parse_all(in, nbimi);

    json_t *zone = json_object();
    if (zone && zone_add_txt(zone, "default._bimi.example.com", in, nbimi) &&
        zone_add_txt(zone, "_dmarc.example.com", dm, ndm)) {
        bc_resolver *r = zone_resolver(zone);
        json_t *dmarc = r ? bc_health_dmarc(r, "example.com") : NULL;
        json_t *dmarc2 = dmarc ? dmarc_int_pct(dmarc) : NULL;
        const json_t *given[] = { dmarc, dmarc2, NULL };
        for (size_t i = 0; r && i < sizeof given / sizeof given[0]; i++) {
            json_t *sec = bc_health_bimi(r, "example.com", given[i]);
            if (sec)
                check_section(sec, in, nbimi, given[i] != NULL);
            json_decref(sec);
        }
        json_decref(dmarc2);
        json_decref(dmarc);
        bc_resolver_free(r);
    }
    json_decref(zone);
    free(in);
    return 0;
}

/*
 * fuzz_dkim.c - libFuzzer target for the DKIM key record parser (dkim.c),
 * reached through bc_health_dkim over an in-memory zone. The input is the
 * TXT text at fuzz._domainkey.example.com; a 0x1E byte in it separates
 * several TXT records at that name. Inputs that cannot be a JSON string
 * (invalid UTF-8) are skipped, as for the DMARC target. Every input must
 * give a section with a status, findings whose codes start with "dkim_",
 * and selector entries whose fields have the documented types.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health/health.h"
#include "dns/resolver.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

static void check_section(const json_t *sec)
{
    require(json_is_object(sec));
    const char *st = json_string_value(json_object_get(sec, "status"));
    require(st != NULL);
    require(strcmp(st, "pass") == 0 || strcmp(st, "warn") == 0 || strcmp(st, "fail") == 0 ||
            strcmp(st, "none") == 0);
    const json_t *findings = json_object_get(sec, "findings");
    require(json_is_array(findings));
    size_t i;
    json_t *f;
    bool fail = false;
    json_array_foreach(findings, i, f) {
        const char *code = json_string_value(json_object_get(f, "code"));
        const char *sev = json_string_value(json_object_get(f, "severity"));
        require(code && strncmp(code, "dkim_", 5) == 0);
        require(sev && json_string_value(json_object_get(f, "message")));
        fail |= strcmp(sev, "fail") == 0;
    }
    require(!fail || strcmp(st, "fail") == 0);
    const json_t *sels = json_object_get(sec, "selectors");
    require(json_is_array(sels));
    json_t *s;
    json_array_foreach(sels, i, s) {
        require(json_is_string(json_object_get(s, "selector")));
        require(json_is_string(json_object_get(s, "record")));
        require(json_is_string(json_object_get(s, "key_type")));
        require(json_is_boolean(json_object_get(s, "valid")));
        const json_t *bits = json_object_get(s, "key_bits");
        require(json_is_null(bits) || (json_is_integer(bits) && json_integer_value(bits) > 0));
        const json_t *h = json_object_get(s, "hash_algorithms");
        require(json_is_null(h) || json_is_array(h));
    }
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
    json_t *recs = json_array();
    size_t start = 0;
    bool ok = recs != NULL;
    for (size_t i = 0; ok && i <= size; i++) {
        if (i < size && in[i] != 0x1e)
            continue;
        json_t *rec = json_stringn(in + start, i - start);
        json_t *rr = rec ? json_pack("{s:o}", "TXT", rec) : NULL;
        ok = rr && json_array_append_new(recs, rr) == 0;
        start = i + 1;
    }
    json_t *zone = NULL;
    if (ok)
        zone = json_pack("{s:o}", "fuzz._domainkey.example.com", recs); /* takes recs */
    else
        json_decref(recs);
    char *text = zone ? json_dumps(zone, JSON_COMPACT) : NULL;
    char err[200];
    bc_resolver *r = text ? bc_resolver_new_mem(text, strlen(text), err, sizeof err) : NULL;
    if (r) {
        static const char *const sels[] = { "fuzz" };
        json_t *sec = bc_health_dkim(r, "example.com", sels, 1);
        if (sec)
            check_section(sec);
        json_decref(sec);
    }
    bc_resolver_free(r);
    free(text);
    json_decref(zone);
    free(in);
    return 0;
}

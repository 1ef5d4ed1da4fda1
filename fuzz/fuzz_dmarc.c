/*
 * fuzz_dmarc.c - libFuzzer target for the DMARC record parser (dmarc.h):
 * any byte string must be diagnosed without crashing, with every result
 * field bounded and consistent; well-formed UTF-8 inputs also go through
 * bc_health_dmarc as the record of an in-memory zone.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "health/dmarc.h"

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

static void check_uris(const bc_dmarc_uri *u, size_t n)
{
    require(n <= BC_DMARC_URI_MAX);
    for (size_t i = 0; i < n; i++) {
        require(terminated(u[i].uri, sizeof u[i].uri));
        require(terminated(u[i].domain, sizeof u[i].domain));
        require(u[i].mailto == (u[i].domain[0] != '\0'));
    }
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
    static bc_dmarc d;
    bc_dmarc_parse(in, size, &d);
    require(d.nissues <= BC_DMARC_ISSUE_MAX);
    bool fail = false;
    for (size_t i = 0; i < d.nissues; i++) {
        require(terminated(d.issues[i].code, sizeof d.issues[i].code));
        require(terminated(d.issues[i].message, sizeof d.issues[i].message));
        require(strncmp(d.issues[i].code, "dmarc_", 6) == 0);
        require(d.issues[i].message[0] != '\0');
        require(d.issues[i].sev == BC_SEV_INFO || d.issues[i].sev == BC_SEV_WARN ||
                d.issues[i].sev == BC_SEV_FAIL);
        fail |= d.issues[i].sev == BC_SEV_FAIL;
    }
    require(d.tags.n <= BC_TAGS_MAX);
    for (size_t i = 0; i < d.tags.n; i++) {
        const bc_tag *t = &d.tags.tags[i];
        require(t->name_len > 0 && t->name_off + t->name_len <= size);
        require(t->value_off + t->value_len <= size && t->value_off > t->name_off);
    }
    check_uris(d.rua, d.nrua);
    check_uris(d.ruf, d.nruf);
    require(d.pct >= 0 && d.pct <= 100);
    require(d.adkim == 'r' || d.adkim == 's');
    require(d.aspf == 'r' || d.aspf == 's');
    require(terminated(d.fo, sizeof d.fo));
    if (d.valid) {
        require(d.p != BC_DMARC_POLICY_UNSET);
        require(bc_dmarc_is_candidate(in, size));
        require(d.tags.n >= 1 && d.tags.tags[0].name_len == 1 && in[d.tags.tags[0].name_off] == 'v');
    }
    if (!fail)
        require(d.valid);
    if (size == 0)
        require(!d.valid);

    /* the whole section, when the bytes can be a JSON string */
    json_t *rec = json_stringn(in, size);
    if (rec) {
        json_t *zone = json_pack("{s:[{s:o}]}", "_dmarc.example.com", "TXT", rec);
        char *text = zone ? json_dumps(zone, JSON_COMPACT) : NULL;
        char err[200];
        bc_resolver *r = text ? bc_resolver_new_mem(text, strlen(text), err, sizeof err) : NULL;
        json_t *sec = r ? bc_health_dmarc(r, "example.com") : NULL;
        if (sec) {
            const char *st = json_string_value(json_object_get(sec, "status"));
            require(st != NULL);
            require(json_is_array(json_object_get(sec, "findings")));
            if (!bc_dmarc_is_candidate(in, size))
                require(strcmp(st, "none") == 0);
        }
        json_decref(sec);
        bc_resolver_free(r);
        free(text);
        json_decref(zone);
    }
    free(in);
    return 0;
}

/*
 * resolver_mem.c - the in-memory zone behind resolver.h (the RFC 7208
 * conformance suite, unit tests, fuzzing), plus the dispatch that every
 * resolver back end shares: bc_resolver_query/queries/free go through the
 * vtable of resolver_impl.h, and bc_rrset_clear frees an answer.
 *
 * Zone rules (the suite's): names are case-insensitive and compared without
 * a trailing dot; a name absent from the zone is NXDOMAIN, present without
 * the asked type NODATA; "TIMEOUT" makes the questions for the name
 * TEMPFAIL, except for types it has records of (the suite's drivers:
 * "TIMEOUT" stands for the types not listed); CNAMEs are followed (8 hops
 * at most); a name's "SPF" entries answer type SPF (99) and also TXT when
 * the name has no "TXT" entry.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dns/resolver_impl.h"

#define CNAME_HOPS 8

typedef struct mem_resolver {
    struct bc_resolver base; /* first: the public handle points here */
    json_t *zone;            /* {lower-case name: [entries]} (owned) */
} mem_resolver;

/* ---- dispatch shared by all back ends -------------------------------------------- */

void bc_rrset_clear(bc_rrset *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        free(set->rr[i].text);
    free(set->rr);
    memset(set, 0, sizeof *set);
}

void bc_resolver_query(bc_resolver *r, const char *name, int type, bc_rrset *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!r || !r->vt || !r->vt->query || !name) {
        out->rc = BC_DNS_TEMPFAIL;
        snprintf(out->error, sizeof out->error, "no resolver or no name");
        return;
    }
    r->queries++;
    r->vt->query(r, name, type, out);
}

unsigned long bc_resolver_queries(const bc_resolver *r)
{
    return r ? r->queries : 0;
}

void bc_resolver_free(bc_resolver *r)
{
    if (r && r->vt && r->vt->free)
        r->vt->free(r);
}

/* ---- the in-memory zone ----------------------------------------------------------- */

/* Copies name into buf lower-cased without one trailing dot. False when it
 * does not fit. */
static bool norm_name(const char *name, char *buf, size_t buflen)
{
    size_t n = strlen(name);
    if (n > 0 && name[n - 1] == '.')
        n--;
    if (n >= buflen)
        return false;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)name[i]);
    buf[n] = '\0';
    return true;
}

/* Returns the single key of entry (an object {"TYPE": value}) or NULL. */
static const char *entry_type(json_t *entry, json_t **value)
{
    if (!json_is_object(entry) || json_object_size(entry) != 1)
        return NULL;
    const char *k;
    json_t *v;
    json_object_foreach(entry, k, v) {
        *value = v;
        return k;
    }
    return NULL;
}

static int type_code(const char *k)
{
    if (!k)
        return 0;
    static const struct {
        const char *name;
        int code;
    } map[] = {
        { "A", BC_RR_A },     { "NS", BC_RR_NS },     { "CNAME", BC_RR_CNAME },
        { "SOA", BC_RR_SOA }, { "PTR", BC_RR_PTR },   { "MX", BC_RR_MX },
        { "TXT", BC_RR_TXT }, { "AAAA", BC_RR_AAAA }, { "SPF", BC_RR_SPF },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].name, k) == 0)
            return map[i].code;
    return 0;
}

/* Checks one entry of the zone; NULL when fine, else a static message. */
static const char *check_entry(json_t *e)
{
    if (json_is_string(e))
        return strcmp(json_string_value(e), "TIMEOUT") == 0 ? NULL : "unknown string entry (only \"TIMEOUT\")";
    json_t *v = NULL;
    const char *k = entry_type(e, &v);
    if (!k)
        return "entry is not an object with one record type";
    int t = type_code(k);
    unsigned char buf[16];
    switch (t) {
    case BC_RR_A:
        return json_is_string(v) && inet_pton(AF_INET, json_string_value(v), buf) == 1 ? NULL : "bad A address";
    case BC_RR_AAAA:
        return json_is_string(v) && inet_pton(AF_INET6, json_string_value(v), buf) == 1 ? NULL
                                                                                        : "bad AAAA address";
    case BC_RR_MX:
        return json_is_array(v) && json_array_size(v) == 2 && json_is_integer(json_array_get(v, 0)) &&
                       json_is_string(json_array_get(v, 1))
                   ? NULL
                   : "MX must be [preference, name]";
    case BC_RR_TXT:
    case BC_RR_SPF:
        if (json_is_string(v))
            return NULL;
        if (json_is_array(v)) {
            size_t i;
            json_t *s;
            json_array_foreach(v, i, s)
                if (!json_is_string(s))
                    return "TXT/SPF strings must be strings";
            return NULL;
        }
        return "TXT/SPF must be a string or an array of strings";
    case BC_RR_PTR:
    case BC_RR_CNAME:
    case BC_RR_NS: return json_is_string(v) ? NULL : "PTR/CNAME/NS must be a name";
    default: return "unknown record type";
    }
}

/* Fills one rr from a checked entry (type t, value v). False when out of
 * memory. */
static bool fill_rr(bc_rr *rr, int t, json_t *v)
{
    memset(rr, 0, sizeof *rr);
    rr->type = t;
    rr->ttl = 3600;
    if (t == BC_RR_A) {
        struct sockaddr_in *in = (struct sockaddr_in *)(void *)&rr->addr;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, json_string_value(v), &in->sin_addr);
    } else if (t == BC_RR_AAAA) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&rr->addr;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, json_string_value(v), &in6->sin6_addr);
    } else if (t == BC_RR_MX) {
        rr->preference = (int)json_integer_value(json_array_get(v, 0));
        if (!norm_name(json_string_value(json_array_get(v, 1)), rr->name, sizeof rr->name))
            rr->name[0] = '\0';
    } else if (t == BC_RR_PTR || t == BC_RR_CNAME || t == BC_RR_NS) {
        if (!norm_name(json_string_value(v), rr->name, sizeof rr->name))
            rr->name[0] = '\0';
    } else if (t == BC_RR_TXT || t == BC_RR_SPF) {
        size_t total = 0, n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
            size_t l = json_string_length(s);
            total += l;
            if (l > rr->longest_string)
                rr->longest_string = l;
        }
        rr->text = malloc(total + 1);
        if (!rr->text)
            return false;
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_is_array(v) ? json_array_get(v, i) : v;
            size_t l = json_string_length(s);
            memcpy(rr->text + off, json_string_value(s), l);
            off += l;
        }
        rr->text[total] = '\0';
        rr->text_len = total;
        rr->nstrings = (int)n;
    }
    return true;
}

static void mem_query(bc_resolver *base, const char *name, int type, bc_rrset *out)
{
    mem_resolver *m = (mem_resolver *)(void *)base;
    char cur[256];
    if (!norm_name(name, cur, sizeof cur)) {
        out->rc = BC_DNS_NXDOMAIN;
        return;
    }
    for (int hop = 0; hop <= CNAME_HOPS; hop++) {
        json_t *entries = json_object_get(m->zone, cur);
        if (!entries) {
            out->rc = BC_DNS_NXDOMAIN;
            return;
        }
        bool has_txt = false, timeout = false;
        const char *cname = NULL;
        size_t i;
        json_t *e, *v = NULL;
        json_array_foreach(entries, i, e) {
            if (json_is_string(e)) {
                timeout = true;
                continue;
            }
            const char *k = entry_type(e, &v);
            if (type_code(k) == BC_RR_TXT)
                has_txt = true;
            if (type_code(k) == BC_RR_CNAME)
                cname = json_string_value(v);
        }
        if (cname && type != BC_RR_CNAME) {
            if (!norm_name(cname, cur, sizeof cur)) {
                out->rc = BC_DNS_NXDOMAIN;
                return;
            }
            continue;
        }
        size_t want = 0;
        json_array_foreach(entries, i, e) {
            int t = type_code(entry_type(e, &v));
            if (t == type || (type == BC_RR_TXT && t == BC_RR_SPF && !has_txt))
                want++;
        }
        if (want == 0 && timeout) {
            out->rc = BC_DNS_TEMPFAIL;
            snprintf(out->error, sizeof out->error, "timeout asking for %.120s", cur);
            return;
        }
        if (want == 0) {
            out->rc = BC_DNS_NODATA;
            return;
        }
        if (want > BC_RRSET_MAX) {
            want = BC_RRSET_MAX;
            out->truncated = true;
        }
        out->rr = calloc(want, sizeof *out->rr);
        if (!out->rr) {
            out->rc = BC_DNS_TEMPFAIL;
            snprintf(out->error, sizeof out->error, "out of memory");
            return;
        }
        json_array_foreach(entries, i, e) {
            if (out->n == want)
                break;
            int t = type_code(entry_type(e, &v));
            if (t == type || (type == BC_RR_TXT && t == BC_RR_SPF && !has_txt)) {
                if (!fill_rr(&out->rr[out->n], t, v)) {
                    bc_rrset_clear(out);
                    out->rc = BC_DNS_TEMPFAIL;
                    snprintf(out->error, sizeof out->error, "out of memory");
                    return;
                }
                out->rr[out->n].type = type; /* SPF duplicated as TXT answers as TXT */
                out->n++;
            }
        }
        out->rc = BC_DNS_OK;
        return;
    }
    out->rc = BC_DNS_TEMPFAIL;
    snprintf(out->error, sizeof out->error, "CNAME chain longer than %d at %.100s", CNAME_HOPS, cur);
}

static void mem_free(bc_resolver *base)
{
    mem_resolver *m = (mem_resolver *)(void *)base;
    json_decref(m->zone);
    free(m);
}

static const struct bc_resolver_vt mem_vt = { mem_query, mem_free };

/* Returns a new resolver the caller frees with bc_resolver_free, or NULL
 * with err. */
bc_resolver *bc_resolver_new_mem(const char *zone_json, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *in = json_loadb(zone_json ? zone_json : "", zone_json ? len : 0, JSON_ALLOW_NUL, &jerr);
    if (!in) {
        snprintf(err, errlen, "zone is not JSON: %s (line %d)", jerr.text, jerr.line);
        return NULL;
    }
    if (!json_is_object(in)) {
        snprintf(err, errlen, "zone must be a JSON object of names");
        json_decref(in);
        return NULL;
    }
    json_t *zone = json_object();
    mem_resolver *m = calloc(1, sizeof *m);
    if (!zone || !m) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    const char *name;
    json_t *entries;
    json_object_foreach(in, name, entries) {
        char key[256];
        if (!norm_name(name, key, sizeof key)) {
            snprintf(err, errlen, "zone name too long: %.60s...", name);
            goto fail;
        }
        if (!json_is_array(entries)) {
            snprintf(err, errlen, "zone name %s: records must be an array", key);
            goto fail;
        }
        size_t i;
        json_t *e;
        json_array_foreach(entries, i, e) {
            const char *why = check_entry(e);
            if (why) {
                snprintf(err, errlen, "zone name %s, record %zu: %s", key, i + 1, why);
                goto fail;
            }
        }
        json_t *have = json_object_get(zone, key);
        if (have)
            json_array_extend(have, entries); /* same name in two spellings: merged */
        else
            json_object_set_new(zone, key, json_deep_copy(entries));
    }
    json_decref(in);
    m->base.vt = &mem_vt;
    m->zone = zone;
    return &m->base;
fail:
    json_decref(in);
    json_decref(zone);
    free(m);
    return NULL;
}

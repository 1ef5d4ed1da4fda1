/*
 * fuzz_zone.h - for the fuzz targets of the TXT record sections (tls_rpt,
 * bimi): fuzz input bytes as the TXT answer of one name in the in-memory
 * zone of resolver_mem.c, plus the checks every health section shares.
 *
 * The bytes of one name: 0x1E separates its TXT records, 0x1F the
 * character-strings of one record (joined again by the resolver), and a
 * record that is the single byte 0x18 is the zone's "TIMEOUT" entry. No
 * bytes at all: the name is absent (NXDOMAIN).
 */
#ifndef BC_FUZZ_ZONE_H
#define BC_FUZZ_ZONE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "health/health.h"
#include "health/txt_record.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

/* One record's entry: {"TXT": "text"} or {"TXT": ["a", "b"]}; "TIMEOUT"
 * for the byte 0x18. NULL when the text is not UTF-8 (or on ENOMEM). */
static json_t *zone_txt_entry(const char *p, size_t n)
{
    if (n == 1 && p[0] == 0x18)
        return json_string("TIMEOUT");
    if (!memchr(p, 0x1f, n)) {
        json_t *s = json_stringn(p, n);
        return s ? json_pack("{s:o}", "TXT", s) : NULL;
    }
    json_t *parts = json_array();
    size_t start = 0;
    for (size_t i = 0; parts && i <= n; i++) {
        if (i < n && p[i] != 0x1f)
            continue;
        json_t *s = json_stringn(p + start, i - start);
        if (!s || json_array_append_new(parts, s) != 0) {
            json_decref(parts);
            return NULL;
        }
        start = i + 1;
    }
    return parts ? json_pack("{s:o}", "TXT", parts) : NULL;
}

/* Sets zone[name] to the records in p[0..n) (see the file comment). False
 * when a record is not UTF-8 or on ENOMEM. */
static bool zone_add_txt(json_t *zone, const char *name, const char *p, size_t n)
{
    if (n == 0)
        return true;
    json_t *recs = json_array();
    size_t start = 0;
    for (size_t i = 0; recs && i <= n; i++) {
        if (i < n && p[i] != 0x1e)
            continue;
        json_t *e = zone_txt_entry(p + start, i - start);
        if (!e || json_array_append_new(recs, e) != 0) {
            json_decref(recs);
            return false;
        }
        start = i + 1;
    }
    return recs && json_object_set_new(zone, name, recs) == 0;
}

/* A resolver over zone, NULL when it cannot be made. */
static bc_resolver *zone_resolver(const json_t *zone)
{
    char *text = json_dumps(zone, JSON_COMPACT);
    char err[200];
    bc_resolver *r = text ? bc_resolver_new_mem(text, strlen(text), err, sizeof err) : NULL;
    free(text);
    return r;
}

/* What every section keeps: a known status that its findings explain
 * (fail with a failing finding, warn with a warning and no failure), codes
 * of the section's prefix with a severity and a message, records an array
 * of strings or nulls. */
static void zone_check_section(const json_t *sec, const char *prefix)
{
    require(json_is_object(sec));
    const char *st = json_string_value(json_object_get(sec, "status"));
    require(st != NULL);
    const json_t *findings = json_object_get(sec, "findings");
    require(json_is_array(findings));
    bool fail = false, warn = false;
    size_t i;
    const json_t *f;
    json_array_foreach(findings, i, f) {
        const char *code = json_string_value(json_object_get(f, "code"));
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *msg = json_string_value(json_object_get(f, "message"));
        require(code && strncmp(code, prefix, strlen(prefix)) == 0);
        require(sev && (strcmp(sev, "fail") == 0 || strcmp(sev, "warn") == 0 || strcmp(sev, "info") == 0));
        require(msg && msg[0]);
        fail |= strcmp(sev, "fail") == 0;
        warn |= strcmp(sev, "warn") == 0;
    }
    if (fail)
        require(strcmp(st, "fail") == 0);
    else if (warn)
        require(strcmp(st, "warn") == 0);
    else
        require(strcmp(st, "pass") == 0 || strcmp(st, "none") == 0 || strcmp(st, "info") == 0);
    const json_t *recs = json_object_get(sec, "records");
    require(json_is_array(recs));
    const json_t *rec;
    json_array_foreach(recs, i, rec)
        require(json_is_string(rec) || json_is_null(rec));
}

/* The number of TXT records in p[0..n) that start with version, among
 * the first BC_RRSET_MAX the resolver answers; *tempfail when the name
 * has only "TIMEOUT" entries (the lookup fails). */
static size_t zone_count_version(const char *p, size_t n, const char *version, bool *tempfail)
{
    size_t count = 0, ntxt = 0, start = 0;
    bool timeout = false;
    char *text = malloc(n + 1);
    *tempfail = false;
    if (!text)
        return 0;
    for (size_t i = 0; n && i <= n; i++) {
        if (i < n && p[i] != 0x1e)
            continue;
        size_t len = 0;
        for (size_t k = start; k < i; k++)
            if (p[k] != 0x1f)
                text[len++] = p[k];
        text[len] = '\0';
        if (i - start == 1 && p[start] == 0x18)
            timeout = true;
        else if (ntxt++ < BC_RRSET_MAX && bc_txt_has_version(text, version))
            count++;
        start = i + 1;
    }
    free(text);
    *tempfail = timeout && ntxt == 0;
    return count;
}

#endif

/*
 * test_spf_suite.c - the C side of the RFC 7208 conformance suite
 * (tests/spf/run_suite.py): reads one scenario as JSON from a file or stdin,
 *   {"zone": {...the in-memory zone of resolver.h...},
 *    "tests": [{"name", "helo", "host", "mailfrom"}, ...]}
 * runs check_host() over bc_resolver_new_mem for each test and prints one
 * JSON object per line: {"name", "result", "explanation", "error"}.
 * Exit 0 when every test ran, 1 on bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dns/resolver.h"
#include "health/spf.h"

int main(int argc, char **argv)
{
    json_error_t jerr;
    json_t *in = argc > 1 ? json_load_file(argv[1], JSON_ALLOW_NUL, &jerr)
                          : json_loadf(stdin, JSON_ALLOW_NUL, &jerr);
    if (!in) {
        fprintf(stderr, "test_spf_suite: bad JSON input: %s (line %d)\n", jerr.text, jerr.line);
        return 1;
    }
    char *zone = json_dumps(json_object_get(in, "zone"), JSON_COMPACT);
    char err[256];
    bc_resolver *r = zone ? bc_resolver_new_mem(zone, strlen(zone), err, sizeof err) : NULL;
    free(zone);
    if (!r) {
        fprintf(stderr, "test_spf_suite: bad zone: %s\n", err);
        json_decref(in);
        return 1;
    }
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(in, "tests"), i, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *host = json_string_value(json_object_get(t, "host"));
        struct sockaddr_storage ip;
        json_t *line;
        if (!host || !bc_spf_parse_ip(host, &ip)) {
            line = json_pack("{s:s?, s:s, s:n, s:s}", "name", name, "result", "bad-host", "explanation", "error",
                             host ? host : "(none)");
        } else {
            bc_spf_outcome o;
            bc_spf_check_host(r, &ip, json_string_value(json_object_get(t, "mailfrom")),
                              json_string_value(json_object_get(t, "helo")), "receiver.example", &o);
            line = json_pack("{s:s?, s:s, s:s?, s:s, s:i, s:i, s:O}", "name", name, "result",
                             bc_spf_result_name(o.result), "explanation", o.explanation, "error", o.error,
                             "lookups", o.lookups, "void_lookups", o.void_lookups, "trace", o.trace);
            bc_spf_outcome_clear(&o);
        }
        char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(line);
    }
    bc_resolver_free(r);
    json_decref(in);
    return 0;
}

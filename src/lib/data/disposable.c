/*
 * disposable.c - `bouncecheck disposable` and the API's /v1/disposable: for
 * one domain or address, whether its domain is a throwaway one, which list
 * entry matched, its registrable domain, whether the allow list vouches for
 * it and (unless offline) whether it receives mail at all, as one JSON
 * object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/internal.h"

/* What was found out about one input. */
typedef struct dp_answer {
    bc_addr a;                       /* the parse of the domain */
    char matched[BC_DOMAIN_MAX];     /* "" when not on the disposable list */
    char allow[BC_DOMAIN_MAX];       /* "" when not allow-listed */
    char registrable[BC_DOMAIN_MAX]; /* "" when there is none */
    bool disposable;
    int has_mx; /* 1, 0, -1 could not tell, -2 not asked */
    char dns_error[256];
} dp_answer;

/* Parses an input (an address, or a bare domain, with or without its final
 * dot, as x@DOMAIN) into *a; false when it is neither, with the reason in
 * why. */
static bool dp_parse(const char *input, bc_addr *a, char *why, size_t whylen)
{
    size_t n = strlen(input);
    if (memchr(input, '@', n)) {
        bc_addr_parse(input, n, a);
    } else {
        char buf[BC_DOMAIN_MAX + 4];
        if (n > 1 && input[n - 1] == '.')
            n--; /* a fully qualified "example.com." */
        if (n == 0 || n >= BC_DOMAIN_MAX) {
            snprintf(why, whylen, "not a domain or an address (%s)", n ? "too long" : "empty");
            return false;
        }
        buf[0] = 'x';
        buf[1] = '@';
        memcpy(buf + 2, input, n);
        bc_addr_parse(buf, n + 2, a);
    }
    if (!a->valid || !a->ascii_domain[0] || (a->flags & BC_ADDR_DOMAIN_LITERAL)) {
        snprintf(why, whylen, "not a domain or an address (%s)",
                 a->valid ? "an address literal" : bc_syntax_code_name(a->code));
        return false;
    }
    return true;
}

/* Looks everything up for one parsed input. */
static void dp_answer_for(const bc_ctx *ctx, dp_answer *r, bool offline, const char *dns)
{
    const char *d = r->a.ascii_domain;
    if (!bc_disposable_match(ctx, d, r->matched, sizeof r->matched))
        r->matched[0] = '\0';
    if (!bc_allowlist_match(ctx, d, r->allow, sizeof r->allow))
        r->allow[0] = '\0';
    if (!bc_registrable_domain(d, r->registrable, sizeof r->registrable))
        r->registrable[0] = '\0';
    r->disposable = bc_is_disposable(ctx, d);
    r->has_mx = -2;
    r->dns_error[0] = '\0';
    if (!offline)
        r->has_mx = bc_domain_has_mx(d, dns, r->dns_error, sizeof r->dns_error);
}

/* A JSON string, or null for NULL and "". */
static json_t *dp_str(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* The --json object of one answered input (a new reference; NULL on
 * ENOMEM). */
static json_t *dp_json(const char *input, const dp_answer *r, const char *list_source)
{
    size_t n = strlen(input);
    char *in = bc_utf8_repair(input, n, &n);
    json_t *o = json_object();
    if (!o || !in) {
        free(in);
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "input", json_stringn(in, n));
    free(in);
    json_object_set_new(o, "domain", json_string(r->a.ascii_domain));
    json_object_set_new(o, "unicode_domain", json_string(r->a.domain));
    json_object_set_new(o, "disposable", json_boolean(r->disposable));
    json_object_set_new(o, "matched", dp_str(r->matched));
    json_object_set_new(o, "list", r->matched[0] ? dp_str(list_source) : json_null());
    json_object_set_new(o, "allowlisted", json_boolean(r->allow[0] != '\0'));
    json_object_set_new(o, "allow_matched", dp_str(r->allow));
    json_object_set_new(o, "registrable_domain", dp_str(r->registrable));
    json_object_set_new(o, "has_mx", r->has_mx >= 0 ? json_boolean(r->has_mx == 1) : json_null());
    if (r->has_mx == -1)
        json_object_set_new(o, "dns_error", json_string(r->dns_error));
    return o;
}

/* The --json object of an input that is not a domain or an address. */
static json_t *dp_json_error(const char *input, const char *why)
{
    size_t n = strlen(input);
    char *in = bc_utf8_repair(input, n, &n);
    json_t *o = in ? json_pack("{s:s%, s:s}", "input", in, n, "error", why) : NULL;
    free(in);
    return o;
}

/* The disposable list's sources, as `bouncecheck lists` shows them. */
static const char *dp_list_source(const bc_ctx *ctx)
{
    bc_list_info info[8];
    size_t n = bc_lists_info(ctx, info, sizeof info / sizeof info[0]);
    for (size_t i = 0; i < n && i < sizeof info / sizeof info[0]; i++)
        if (info[i].name && strcmp(info[i].name, "disposable") == 0)
            return info[i].source;
    return NULL;
}

char *bc_disposable_check(const bc_ctx *ctx, const char *input, bool offline, const char *dns_servers)
{
    dp_answer *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    char why[160] = "";
    json_t *o;
    if (dp_parse(input, &r->a, why, sizeof why)) {
        dp_answer_for(ctx, r, offline, dns_servers);
        o = dp_json(input, r, dp_list_source(ctx));
    } else {
        o = dp_json_error(input, why);
    }
    free(r);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

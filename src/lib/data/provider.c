/*
 * provider.c - the provider rules: data/providers.json (compiled in) and a
 * user's file read after it, parsed with jansson into bc_providers; an MX host
 * name -> the provider whose suffix matches it best.
 *
 * Only MX names are used: the provider is whoever runs the mail servers,
 * which is what decides how RCPT answers should be read. Nothing is fetched.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/provider.h"
#include "smtp/smtp_rules.h"
#include "smtp/socks5.h"

extern const unsigned char bc_data_providers_json[];
extern const size_t bc_data_providers_json_len;

/* ---- freeing --------------------------------------------------------------- */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static void provider_clear(bc_provider *p)
{
    free(p->name);
    free(p->provider);
    free(p->label);
    free_strv(p->mx, p->nmx);
    free(p->proxy);
    if (p->proxy_parsed)
        explicit_bzero(p->proxy_parsed, sizeof *p->proxy_parsed); /* the password */
    free(p->proxy_parsed);
    free(p->block_url);
    for (size_t i = 0; i < p->nrules; i++) {
        free(p->rules[i].name);
        free_strv(p->rules[i].text, p->rules[i].ntext);
    }
    free(p->rules);
    memset(p, 0, sizeof *p);
}

void bc_providers_free(bc_providers *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        provider_clear(&p->v[i]);
    free(p->v);
    for (size_t i = 0; i < p->nbl; i++) {
        free(p->bl[i].text);
        free(p->bl[i].name);
        free(p->bl[i].url);
    }
    free(p->bl);
    free(p);
}

/* ---- parsing --------------------------------------------------------------- */

typedef struct parse_err {
    char *buf;
    size_t len;
    const char *where; /* file name */
} parse_err;

__attribute__((format(printf, 2, 3))) static bool fail(parse_err *e, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    bc_strf(e->buf, e->len, "%s: %s", e->where, msg);
    return false;
}

/* A copy of an optional string member; *ok false on a wrong type or ENOMEM. */
static char *opt_string(const json_t *o, const char *key, bool *ok)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        *ok = false;
        return NULL;
    }
    char *s = strdup(json_string_value(v));
    if (!s)
        *ok = false;
    return s;
}

/* The folded form of a phrase: lower case, accents removed, as reply texts
 * are folded before they are read. */
static char *folded_copy(const char *s)
{
    char buf[BC_REPLY_FOLD_MAX];
    bc_reply_fold(s, buf);
    return strdup(buf);
}

/* An array of strings (folded when `fold`) into *v / *n. */
static bool string_array(parse_err *e, const json_t *a, const char *what, bool fold, char ***v, size_t *n)
{
    *v = NULL;
    *n = 0;
    if (!a)
        return true;
    if (!json_is_array(a))
        return fail(e, "%s is not an array", what);
    size_t k = json_array_size(a);
    if (k == 0)
        return true;
    *v = calloc(k, sizeof **v);
    if (!*v)
        return fail(e, "out of memory");
    for (size_t i = 0; i < k; i++) {
        const json_t *s = json_array_get(a, i);
        if (!json_is_string(s) || json_string_length(s) == 0)
            return fail(e, "%s[%zu] is not a non-empty string", what, i);
        (*v)[i] = fold ? folded_copy(json_string_value(s)) : strdup(json_string_value(s));
        if (!(*v)[i])
            return fail(e, "out of memory");
        (*n)++;
    }
    return true;
}

/* "5xx", "4xx", "421" or a three-digit code. */
static bool parse_codes(const char *s, bc_provider_rule *r)
{
    if (strcmp(s, "5xx") == 0 || strcmp(s, "4xx") == 0) {
        r->code_class = s[0] - '0';
        return true;
    }
    if (strcmp(s, "421") == 0) {
        r->code_421 = true;
        return true;
    }
    if (strlen(s) == 3 && s[0] >= '4' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9') {
        r->code = atoi(s);
        return true;
    }
    return false;
}

/* "x.y.z" (x may be a digit or 'x'), or "" for any. */
static bool parse_enhanced(const char *s, bc_provider_rule *r)
{
    r->enh_subject = r->enh_detail = -1;
    if (!*s)
        return true;
    int sub = 0, det = 0;
    char c = s[0];
    if (!(c == 'x' || c == '4' || c == '5') || s[1] != '.')
        return false;
    char *end;
    long v = strtol(s + 2, &end, 10);
    if (end == s + 2 || *end != '.' || v < 0 || v > 999)
        return false;
    sub = (int)v;
    const char *d = end + 1;
    v = strtol(d, &end, 10);
    if (end == d || *end || v < 0 || v > 999)
        return false;
    det = (int)v;
    r->enh_subject = sub;
    r->enh_detail = det;
    return true;
}

static bool parse_rule(parse_err *e, const char *prov, size_t i, const json_t *o, bc_provider_rule *r)
{
    char what[160];
    bc_strf(what, sizeof what, "provider %s, rule %zu", prov, i);
    if (!json_is_object(o))
        return fail(e, "%s is not an object", what);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *codes = json_string_value(json_object_get(o, "codes"));
    const char *enh = json_string_value(json_object_get(o, "enhanced"));
    const char *cls = json_string_value(json_object_get(o, "class"));
    if (!name || !*name)
        return fail(e, "%s has no name", what);
    if (!(r->name = strdup(name)))
        return fail(e, "out of memory");
    if (!codes || !parse_codes(codes, r))
        return fail(e, "%s (%s): codes must be \"4xx\", \"5xx\", \"421\" or a reply code", what, name);
    if (!parse_enhanced(enh ? enh : "", r))
        return fail(e, "%s (%s): enhanced must be \"\" or like \"5.4.1\"", what, name);
    if (!cls || !bc_smtp_class_from_name(cls, &r->cls))
        return fail(e, "%s (%s): unknown class \"%s\"", what, name, cls ? cls : "");
    if (r->code_class == 4 || (r->code >= 400 && r->code < 500) || r->code_421) {
        if (r->cls == BC_SMTP_REJECTED_MAILBOX || r->cls == BC_SMTP_MAILBOX_DISABLED || r->cls == BC_SMTP_ACCEPTED)
            return fail(e, "%s (%s): a 4xx reply cannot have a permanent class", what, name);
    }
    return string_array(e, json_object_get(o, "text"), what, true, &r->text, &r->ntext);
}

static bool parse_provider(parse_err *e, const json_t *o, bc_provider *p)
{
    if (!json_is_object(o))
        return fail(e, "a provider is not an object");
    const char *name = json_string_value(json_object_get(o, "name"));
    if (!name || !*name)
        return fail(e, "a provider has no name");
    bool ok = true;
    p->name = strdup(name);
    p->provider = opt_string(o, "provider", &ok);
    p->label = opt_string(o, "label", &ok);
    p->proxy = opt_string(o, "proxy", &ok);
    p->block_url = opt_string(o, "block_url", &ok);
    if (!p->name || !ok)
        return fail(e, "provider %s: provider, label, proxy and block_url must be strings", name);
    if (!p->provider && !(p->provider = strdup(name)))
        return fail(e, "out of memory");
    if (p->proxy) {
        char perr[200];
        if (!(p->proxy_parsed = calloc(1, sizeof *p->proxy_parsed)))
            return fail(e, "out of memory");
        if (bc_proxy_parse(p->proxy, p->proxy_parsed, perr, sizeof perr) != BC_OK)
            return fail(e, "provider %s: proxy: %s", name, perr);
    }
    if (!string_array(e, json_object_get(o, "mx"), "mx", false, &p->mx, &p->nmx))
        return false;
    if (p->nmx == 0)
        return fail(e, "provider %s has no mx suffixes", name);
    for (size_t i = 0; i < p->nmx; i++)
        for (char *c = p->mx[i]; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    const char *rcpt = json_string_value(json_object_get(o, "rcpt"));
    if (rcpt && strcmp(rcpt, "accepts_all") == 0)
        p->accepts_all = true;
    else if (rcpt && strcmp(rcpt, "reliable") != 0)
        return fail(e, "provider %s: rcpt must be \"reliable\" or \"accepts_all\"", name);
    const json_t *cap = json_object_get(o, "catch_all_probe");
    p->catch_all_probe = cap ? json_is_true(cap) : true;
    const json_t *mc = json_object_get(o, "mx_connections"), *rc = json_object_get(o, "rcpts_per_connection");
    if ((mc && (!json_is_integer(mc) || json_integer_value(mc) < 1 || json_integer_value(mc) > 100)) ||
        (rc && (!json_is_integer(rc) || json_integer_value(rc) < 1 || json_integer_value(rc) > 100)))
        return fail(e, "provider %s: mx_connections and rcpts_per_connection must be 1 to 100", name);
    p->mx_connections = mc ? (int)json_integer_value(mc) : 0;
    p->rcpts_per_connection = rc ? (int)json_integer_value(rc) : 0;
    const json_t *rules = json_object_get(o, "rules");
    if (rules && !json_is_array(rules))
        return fail(e, "provider %s: rules is not an array", name);
    size_t nr = rules ? json_array_size(rules) : 0;
    if (nr) {
        p->rules = calloc(nr, sizeof *p->rules);
        if (!p->rules)
            return fail(e, "out of memory");
        for (size_t i = 0; i < nr; i++) {
            p->nrules++;
            if (!parse_rule(e, name, i, json_array_get(rules, i), &p->rules[i]))
                return false;
        }
    }
    return true;
}

/* Adds (or replaces by name) the providers and blocklists of one document. */
static bool merge_doc(parse_err *e, const json_t *doc, bc_providers *out)
{
    if (!json_is_object(doc))
        return fail(e, "not a JSON object");
    const json_t *list = json_object_get(doc, "providers");
    if (!json_is_array(list))
        return fail(e, "no \"providers\" array");
    size_t n = json_array_size(list);
    bc_provider *v = realloc(out->v, (out->n + n) * sizeof *v);
    if (!v && out->n + n)
        return fail(e, "out of memory");
    out->v = v;
    for (size_t i = 0; i < n; i++) {
        bc_provider p = { 0 };
        if (!parse_provider(e, json_array_get(list, i), &p)) {
            provider_clear(&p);
            return false;
        }
        size_t k = 0;
        while (k < out->n && strcmp(out->v[k].name, p.name) != 0)
            k++;
        if (k < out->n)
            provider_clear(&out->v[k]);
        else
            out->n++;
        out->v[k] = p;
    }
    const json_t *bl = json_object_get(doc, "blocklists");
    size_t nb = json_is_array(bl) ? json_array_size(bl) : 0;
    if (nb) {
        bc_blocklist_ref *b = realloc(out->bl, (out->nbl + nb) * sizeof *b);
        if (!b)
            return fail(e, "out of memory");
        out->bl = b;
        for (size_t i = 0; i < nb; i++) {
            const json_t *o = json_array_get(bl, i);
            const char *t = json_string_value(json_object_get(o, "text"));
            const char *u = json_string_value(json_object_get(o, "url"));
            const char *nm = json_string_value(json_object_get(o, "name"));
            if (!t || !u)
                return fail(e, "blocklists[%zu] needs text and url", i);
            bc_blocklist_ref *r = &out->bl[out->nbl];
            r->text = folded_copy(t);
            r->url = strdup(u);
            r->name = strdup(nm ? nm : t);
            out->nbl++;
            if (!r->text || !r->url || !r->name)
                return fail(e, "out of memory");
        }
    }
    return true;
}

bc_error bc_providers_load(bc_providers **out, const char *user_file, char *errbuf, size_t errlen)
{
    *out = NULL;
    bc_providers *p = calloc(1, sizeof *p);
    if (!p)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    parse_err e = { errbuf, errlen, "built-in providers.json" };
    json_error_t je;
    json_t *doc = json_loadb((const char *)bc_data_providers_json, bc_data_providers_json_len, 0, &je);
    bool ok = doc && merge_doc(&e, doc, p);
    if (!doc)
        bc_strf(errbuf, errlen, "built-in providers.json: %s (line %d)", je.text, je.line);
    json_decref(doc);
    if (ok && user_file) {
        e.where = user_file;
        doc = json_load_file(user_file, 0, &je);
        if (!doc) {
            bc_strf(errbuf, errlen, "%s: %s (line %d)", user_file, je.text, je.line);
            ok = false;
        } else {
            ok = merge_doc(&e, doc, p);
        }
        json_decref(doc);
    }
    if (!ok) {
        bc_providers_free(p);
        return BC_EDATA;
    }
    *out = p;
    return BC_OK;
}

const bc_provider *bc_providers_match(const bc_providers *p, const char *host)
{
    if (!p || !host)
        return NULL;
    size_t hl = strlen(host), best_len = 0;
    const bc_provider *best = NULL;
    for (size_t i = 0; i < p->n; i++) {
        for (size_t k = 0; k < p->v[i].nmx; k++) {
            const char *suf = p->v[i].mx[k];
            size_t sl = strlen(suf);
            if (sl <= best_len || hl < sl || strcmp(host + hl - sl, suf) != 0)
                continue;
            if (hl == sl || host[hl - sl - 1] == '.') {
                best = &p->v[i];
                best_len = sl;
            }
        }
    }
    return best;
}

static bc_providers *builtin;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

static void builtin_load(void)
{
    char err[256];
    if (bc_providers_load(&builtin, NULL, err, sizeof err) != BC_OK)
        builtin = NULL;
}

const bc_providers *bc_providers_builtin(void)
{
    pthread_once(&builtin_once, builtin_load);
    return builtin;
}

const char *bc_provider_for_mx(const char *host)
{
    const bc_provider *p = bc_providers_match(bc_providers_builtin(), host);
    return p ? p->provider : NULL;
}

const char *bc_providers_blocklist_url(const bc_providers *p, const char *text, const char **name)
{
    if (!p || !text)
        return NULL;
    char folded[BC_REPLY_FOLD_MAX];
    bc_reply_fold(text, folded);
    for (size_t i = 0; i < p->nbl; i++) {
        if (bc_reply_folded_has(folded, p->bl[i].text)) {
            if (name)
                *name = p->bl[i].name;
            return p->bl[i].url;
        }
    }
    return NULL;
}

bc_smtp_reading bc_provider_read(const bc_provider *p, const bc_smtp_reply *r)
{
    return bc_smtp_read(r, p ? p->rules : NULL, p ? p->nrules : 0);
}

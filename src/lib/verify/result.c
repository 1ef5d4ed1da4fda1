/*
 * result.c - accessors of a verification result and its JSON form.
 *
 * The JSON object carries every documented field, null when not known, in
 * a fixed order so that output diffs stay readable.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/utf8.h"
#include "verify/result.h"

void bc_result_drop_transcript(bc_result *r)
{
    if (!r)
        return;
    bc_transcript_clear(&r->transcript);
    r->have_transcript = false;
}

void bc_result_free(bc_result *r)
{
    if (!r)
        return;
    free(r->email);
    free(r->mx);
    bc_result_drop_transcript(r);
    free(r);
}

bc_verdict_status bc_result_status(const bc_result *r)
{
    return r->verdict.status;
}
const char *bc_result_reason(const bc_result *r)
{
    return r->verdict.reason;
}
int bc_result_score(const bc_result *r)
{
    return r->verdict.score;
}
const bc_addr *bc_result_addr(const bc_result *r)
{
    return &r->addr;
}

/* Domain facts are only looked up for valid addresses. */
static bc_tristate fact(const bc_result *r, bool value)
{
    if (!r->addr.valid)
        return BC_UNKNOWN;
    return value ? BC_YES : BC_NO;
}

bc_tristate bc_result_disposable(const bc_result *r)
{
    return fact(r, r->facts.disposable);
}
bc_tristate bc_result_free_provider(const bc_result *r)
{
    return fact(r, r->facts.free);
}
bc_tristate bc_result_role(const bc_result *r)
{
    return fact(r, r->facts.role);
}
bc_tristate bc_result_accept_all(const bc_result *r)
{
    return r->facts.accept_all;
}

size_t bc_result_transcript_len(const bc_result *r)
{
    return r->have_transcript ? r->transcript.n : 0;
}

const char *bc_result_transcript_line(const bc_result *r, size_t i, char *dir)
{
    if (!r->have_transcript || i >= r->transcript.n)
        return NULL;
    if (dir)
        *dir = r->transcript.v[i].dir;
    return r->transcript.v[i].line;
}
const char *bc_result_role_category(const bc_result *r)
{
    return r->role_category;
}
const char *bc_result_suggestion(const bc_result *r)
{
    return r->suggestion[0] ? r->suggestion : NULL;
}

/* The mail server that answered, else the preferred MX, else NULL. */
const char *bc_result_mx_host(const bc_result *r)
{
    if (r->have_smtp && r->smtp.host[0])
        return r->smtp.host;
    return r->have_mx && r->nmx > 0 ? r->mx[0].host : NULL;
}

int bc_result_smtp_code(const bc_result *r)
{
    return r->have_smtp ? r->smtp.code : 0;
}
const char *bc_result_smtp_source(const bc_result *r)
{
    return r->have_smtp && r->smtp.source[0] ? r->smtp.source : NULL;
}

const char *bc_result_provider(const bc_result *r)
{
    return r->provider;
}

const char *bc_result_hint(const bc_result *r)
{
    return r->hint[0] ? r->hint : NULL;
}

const char *bc_result_smtp_rule(const bc_result *r)
{
    return r->have_smtp && r->smtp.code ? r->smtp.rule : NULL;
}

const char *bc_result_smtp_message(const bc_result *r)
{
    return r->have_smtp && r->smtp.code && r->smtp.message[0] ? r->smtp.message : NULL;
}

const char *bc_result_detail(const bc_result *r)
{
    return r->detail[0] ? r->detail : NULL;
}

/* JSON for a tri-state fact. */
static json_t *json_tristate(bc_tristate t)
{
    return t == BC_UNKNOWN ? json_null() : json_boolean(t == BC_YES);
}

/* A JSON string of `len` bytes at `s`; bytes that are not well-formed UTF-8
 * become U+FFFD, because JSON text must be UTF-8. NULs are kept (jansson
 * writes them as \u0000). Returns a new reference or NULL. */
static json_t *json_bytes(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    for (; i < len; i++) {
        size_t l = bc_utf8_seq_len(u + i, len - i);
        if (l == 0)
            break;
        i += l - 1;
    }
    if (i == len)
        return json_stringn(s, len);
    size_t n;
    char *fixed = bc_utf8_repair(s, len, &n);
    if (!fixed)
        return NULL;
    json_t *j = json_stringn(fixed, n);
    free(fixed);
    return j;
}

static json_t *json_str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* "mx": [{host, preference, addresses: [...]}, ...] */
static json_t *json_mx(const bc_result *r)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < r->nmx; i++) {
        const bc_result_mx *m = &r->mx[i];
        json_t *addrs = json_array();
        for (int k = 0; addrs && k < m->naddrs; k++)
            json_array_append_new(addrs, json_string(m->addrs[k]));
        json_t *h = json_object();
        json_object_set_new(h, "host", json_string(m->host));
        json_object_set_new(h, "preference", json_integer(m->preference));
        json_object_set_new(h, "addresses", addrs ? addrs : json_null());
        json_array_append_new(arr, h);
    }
    return arr ? arr : json_null();
}

/* Server text can hold anything: keep it valid UTF-8 for JSON. */
static json_t *json_text(const char *s)
{
    json_t *j = json_bytes(s, strlen(s));
    return j ? j : json_null();
}

static json_t *json_smtp(const bc_result_smtp *s)
{
    json_t *o = json_object();
    if (!o)
        return json_null();
    json_object_set_new(o, "host", json_str_or_null(s->host));
    json_object_set_new(o, "address", json_str_or_null(s->address));
    json_object_set_new(o, "port", s->port ? json_integer(s->port) : json_null());
    json_object_set_new(o, "tls", json_boolean(s->tls));
    json_object_set_new(o, "code", s->code ? json_integer(s->code) : json_null());
    json_object_set_new(o, "enhanced", json_str_or_null(s->enhanced));
    json_object_set_new(o, "message", s->code ? json_text(s->message) : json_null());
    json_object_set_new(o, "step", json_str_or_null(s->step));
    json_object_set_new(o, "rule", s->code ? json_str_or_null(s->rule) : json_null());
    json_object_set_new(o, "source_address", json_str_or_null(s->source));
    json_object_set_new(o, "attempts", json_integer(s->attempts));
    json_object_set_new(o, "ms", json_integer(s->ms));
    return o;
}

static json_t *json_transcript(const bc_transcript *t)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < t->n; i++) {
        json_t *l = json_object();
        char dir[2] = { t->v[i].dir, '\0' };
        json_object_set_new(l, "dir", json_string(dir));
        json_object_set_new(l, "line", json_text(t->v[i].line));
        json_array_append_new(arr, l);
    }
    if (arr && t->truncated) {
        json_t *l = json_object();
        json_object_set_new(l, "dir", json_string("*"));
        json_object_set_new(l, "line", json_string("(transcript truncated)"));
        json_array_append_new(arr, l);
    }
    return arr ? arr : json_null();
}

/* The result as a JSON object; NULL on ENOMEM. */
static json_t *result_object(const bc_result *r)
{
    const bc_addr *a = &r->addr;
    json_t *o = json_object();
    json_t *syn = json_object();
    if (!o || !syn) {
        json_decref(o);
        json_decref(syn);
        return NULL;
    }
    json_object_set_new(syn, "valid", json_boolean(a->valid));
    json_object_set_new(syn, "code", json_string(bc_syntax_code_name(a->code)));
    json_object_set_new(syn, "category", json_string(bc_syntax_category_name(a->category)));
    json_object_set_new(syn, "smtputf8", json_boolean(a->flags & BC_ADDR_UTF8_LOCAL));
    json_object_set_new(syn, "idn", json_boolean(a->flags & BC_ADDR_IDN));
    json_object_set_new(syn, "special_use", json_boolean(a->flags & BC_ADDR_SPECIAL_USE));

    json_t *email = json_bytes(r->email, r->email_len);
    json_object_set_new(o, "email", email ? email : json_null());
    json_object_set_new(o, "normalized", json_str_or_null(a->valid ? a->normalized : NULL));
    json_object_set_new(o, "local", json_str_or_null(a->local));
    json_object_set_new(o, "domain", json_str_or_null(a->domain));
    json_object_set_new(o, "ascii_domain", json_str_or_null(a->ascii_domain));
    json_object_set_new(o, "status", json_string(bc_verdict_status_name(r->verdict.status)));
    json_object_set_new(o, "reason", json_string(r->verdict.reason));
    json_object_set_new(o, "score", json_integer(r->verdict.score));
    json_object_set_new(o, "syntax", syn);
    json_object_set_new(o, "disposable", json_tristate(bc_result_disposable(r)));
    json_object_set_new(o, "role", json_tristate(bc_result_role(r)));
    json_object_set_new(o, "role_category", json_str_or_null(r->role_category));
    json_object_set_new(o, "free", json_tristate(bc_result_free_provider(r)));
    json_object_set_new(o, "accept_all", json_tristate(bc_result_accept_all(r)));
    json_object_set_new(o, "suggestion", json_str_or_null(r->suggestion));
    json_object_set_new(o, "mx", r->have_mx ? json_mx(r) : json_null());
    json_object_set_new(o, "mx_implicit", r->have_mx ? json_boolean(r->mx_implicit) : json_null());
    json_object_set_new(o, "smtp", r->have_smtp ? json_smtp(&r->smtp) : json_null());
    json_object_set_new(o, "provider", json_str_or_null(r->provider));
    json_object_set_new(o, "hint", json_str_or_null(r->hint));
    json_object_set_new(o, "detail", r->detail[0] ? json_text(r->detail) : json_null());
    json_object_set_new(o, "duration_ms", json_integer(r->duration_ms));
    if (r->have_transcript)
        json_object_set_new(o, "transcript", json_transcript(&r->transcript));
    return o;
}

char *bc_result_json(const bc_result *r)
{
    json_t *o = result_object(r);
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

char *bc_result_json_with(const bc_result *r, const char *key, bool value)
{
    json_t *o = result_object(r);
    if (o && key)
        json_object_set_new(o, key, json_boolean(value));
    char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

/*
 * spf_check.c - SPF check_host() (RFC 7208 sections 4-6), see spf.h, with
 * the lookup limits of 4.6.4, and the public bc_spf_check().
 */
#include <ctype.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "health/spf.h"
#include "health/spf_impl.h"

const char *bc_spf_result_name(bc_spf_result r)
{
    switch (r) {
    case BC_SPF_NONE: return "none";
    case BC_SPF_NEUTRAL: return "neutral";
    case BC_SPF_PASS: return "pass";
    case BC_SPF_FAIL: return "fail";
    case BC_SPF_SOFTFAIL: return "softfail";
    case BC_SPF_TEMPERROR: return "temperror";
    case BC_SPF_PERMERROR: return "permerror";
    }
    return "permerror";
}

/* ---- check_host() ------------------------------------------------------------------ */

typedef struct spf_ctx {
    bc_resolver *r;
    struct sockaddr_storage ip;
    const char *local, *sender_domain, *helo, *receiver;
    int lookups, voids;
    json_t *trace;
    char error[256];
    const char *cur_domain; /* for %{p} */
    char pname[256];
} spf_ctx;

typedef enum { M_NO, M_YES, M_TEMP, M_PERM } mres;

/* See spf_impl.h. */
bool bc_spf_copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n > 0 && src[n - 1] == '.')
        n--;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
    return true;
}

/* See spf_impl.h. */
bool bc_spf_name_ok(const char *d, bool strict)
{
    size_t n = strlen(d);
    if (n == 0 || n > SPF_NAME_MAX_LEN || d[0] == '[' || !strchr(d, '.'))
        return false;
    size_t lab = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (strict && (c >= 0x80 || c <= 0x20))
            return false;
        if (c == '.') {
            if (lab == 0)
                return false;
            lab = 0;
        } else if (++lab > 63) {
            return false;
        }
    }
    return lab > 0;
}

static bool domain_ok(const char *d)
{
    return bc_spf_name_ok(d, false);
}

static bool ip_in(const struct sockaddr_storage *ip, int family, const unsigned char *net, int prefix)
{
    if (ip->ss_family != family)
        return false;
    const unsigned char *a = family == AF_INET
                                 ? (const unsigned char *)&((const struct sockaddr_in *)(const void *)ip)->sin_addr
                                 : ((const struct sockaddr_in6 *)(const void *)ip)->sin6_addr.s6_addr;
    int full = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (bits == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - bits));
    return (a[full] & mask) == (net[full] & mask);
}

static bool rr_matches(const bc_rr *rr, const struct sockaddr_storage *ip, int cidr4, int cidr6)
{
    if (rr->type == BC_RR_A && rr->addr.ss_family == AF_INET)
        return ip_in(ip, AF_INET,
                     (const unsigned char *)&((const struct sockaddr_in *)(const void *)&rr->addr)->sin_addr,
                     cidr4);
    if (rr->type == BC_RR_AAAA && rr->addr.ss_family == AF_INET6)
        return ip_in(ip, AF_INET6, ((const struct sockaddr_in6 *)(const void *)&rr->addr)->sin6_addr.s6_addr,
                     cidr6);
    return false;
}

/* Keeps the first error of an evaluation (the one that decided it). */
static void ctx_error(spf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctx_error(spf_ctx *c, const char *fmt, ...)
{
    if (c->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

static void trace_add(spf_ctx *c, const char *domain, int depth, const char *term, const char *what, bool yes)
{
    json_t *e = json_pack("{s:s, s:i, s:s}", "domain", domain, "depth", depth, "term", term);
    if (!e)
        return;
    if (what)
        json_object_set_new(e, what, json_boolean(yes));
    json_array_append_new(c->trace, e);
}

static void trace_note(spf_ctx *c, const char *key, const char *msg)
{
    json_t *last = json_array_get(c->trace, json_array_size(c->trace) - 1);
    if (last)
        json_object_set_new(last, key, json_string(msg));
}

/* The reverse-DNS name of ip (in-addr.arpa / ip6.arpa). */
static void reverse_name(const struct sockaddr_storage *ip, char *buf, size_t buflen)
{
    char i[128];
    if (ip->ss_family == AF_INET6) {
        bc_spf_ip_macro_i(ip, i, sizeof i);
        char rev[80]; /* 63 bytes of nibbles and dots */
        if (!bc_spf_transform(i, 0, true, ".", rev, sizeof rev))
            rev[0] = '\0';
        snprintf(buf, buflen, "%s.ip6.arpa", rev);
    } else {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)ip)->sin_addr;
        snprintf(buf, buflen, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    }
}

static int addr_type(const spf_ctx *c)
{
    return c->ip.ss_family == AF_INET6 ? BC_RR_AAAA : BC_RR_A;
}

/* Whether name's addresses include the client's. -1 on TEMPFAIL. */
static int host_has_ip(spf_ctx *c, const char *name, int cidr4, int cidr6)
{
    bc_rrset s;
    bc_resolver_query(c->r, name, addr_type(c), &s);
    int hit = s.rc == BC_DNS_TEMPFAIL ? -1 : 0;
    for (size_t i = 0; i < s.n && hit == 0; i++)
        if (rr_matches(&s.rr[i], &c->ip, cidr4, cidr6))
            hit = 1;
    bc_rrset_clear(&s);
    return hit;
}

/* The validated names of the client (RFC 7208 5.5): the first
 * SPF_MAX_NAMES PTR names whose addresses include it. Calls fn(name) for
 * each until it returns true; returns whether one did. */
static bool validated_names(spf_ctx *c, bool (*fn)(const char *name, void *arg), void *arg)
{
    char rname[128];
    reverse_name(&c->ip, rname, sizeof rname);
    bc_rrset s;
    bc_resolver_query(c->r, rname, BC_RR_PTR, &s);
    bool done = false;
    for (size_t i = 0; i < s.n && i < SPF_MAX_NAMES && !done; i++)
        if (s.rr[i].name[0] && host_has_ip(c, s.rr[i].name, 32, 128) == 1)
            done = fn(s.rr[i].name, arg);
    bc_rrset_clear(&s);
    return done;
}

/* name equals target or is a subdomain of it */
static bool name_under(const char *name, const char *target)
{
    size_t n = strlen(name), t = strlen(target);
    if (n == t)
        return strcasecmp(name, target) == 0;
    return n > t && name[n - t - 1] == '.' && strcasecmp(name + n - t, target) == 0;
}

struct p_pick {
    const char *domain;
    char exact[256], sub[256], any[256];
};

static bool p_collect(const char *name, void *arg)
{
    struct p_pick *pp = arg;
    if (strcasecmp(name, pp->domain) == 0) {
        snprintf(pp->exact, sizeof pp->exact, "%s", name);
        return true;
    }
    if (!pp->sub[0] && name_under(name, pp->domain))
        snprintf(pp->sub, sizeof pp->sub, "%s", name);
    if (!pp->any[0])
        snprintf(pp->any, sizeof pp->any, "%s", name);
    return false;
}

/* %{p}: a validated name, preferring the current domain, then a subdomain. */
static const char *p_value(void *arg)
{
    spf_ctx *c = arg;
    struct p_pick pp;
    memset(&pp, 0, sizeof pp);
    pp.domain = c->cur_domain ? c->cur_domain : "";
    validated_names(c, p_collect, &pp);
    const char *v = pp.exact[0] ? pp.exact : pp.sub[0] ? pp.sub : pp.any[0] ? pp.any : "unknown";
    snprintf(c->pname, sizeof c->pname, "%s", v);
    return c->pname;
}

static void macros_for(spf_ctx *c, const char *domain, bc_spf_macros *m)
{
    memset(m, 0, sizeof *m);
    m->local = c->local;
    m->sender_domain = c->sender_domain;
    m->domain = domain;
    m->helo = c->helo;
    m->receiver = c->receiver;
    m->ip = c->ip;
    m->now = time(NULL);
    m->validated = p_value;
    m->arg = c;
    c->cur_domain = domain;
}

/* Expands a domain-spec into target (RFC 7208 7.3: over-long names lose
 * labels on the left). False when the result is unusable (M_PERM set in
 * *why). */
static bool target_of(spf_ctx *c, const char *spec, const char *domain, char *target, size_t cap)
{
    if (!spec) {
        snprintf(target, cap, "%s", domain);
        return true;
    }
    bc_spf_macros m;
    macros_for(c, domain, &m);
    char buf[SPF_EXPAND_MAX], err[160];
    if (bc_spf_expand(spec, strlen(spec), &m, false, buf, sizeof buf, err, sizeof err) < 0) {
        ctx_error(c, "macro expansion of '%s': %s", spec, err);
        return false;
    }
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    const char *p = buf;
    while (strlen(p) > SPF_NAME_MAX_LEN) {
        const char *dot = strchr(p, '.');
        if (!dot)
            break;
        p = dot + 1;
    }
    if (!bc_spf_copy_name(target, cap, p))
        target[0] = '\0';
    return true;
}

/* Counts a DNS-querying term; false (permerror) past the limit. */
static bool count_lookup(spf_ctx *c, const char *term, const char *domain)
{
    if (++c->lookups > SPF_MAX_LOOKUPS) {
        ctx_error(c, "more than 10 DNS-querying terms: '%s' in %s crosses the limit", term, domain);
        return false;
    }
    return true;
}

static bool count_void(spf_ctx *c, const char *term, const char *domain)
{
    if (++c->voids > SPF_MAX_VOID) {
        ctx_error(c, "more than 2 void lookups: '%s' in %s is the third", term, domain);
        return false;
    }
    return true;
}

static bc_spf_result check_domain(spf_ctx *c, const char *domain, int depth, char **expl);

struct ptr_match {
    const char *target;
};

static bool ptr_hit(const char *name, void *arg)
{
    return name_under(name, ((struct ptr_match *)arg)->target);
}

/* Evaluates one mechanism. */
static mres eval_mech(spf_ctx *c, const bc_spf_term *t, const char *domain, int depth)
{
    char target[256];
    bc_rrset s;
    mres res = M_NO;
    if (bc_spf_kind_queries(t->kind)) {
        if (!count_lookup(c, t->text, domain))
            return M_PERM;
        if (!target_of(c, t->spec, domain, target, sizeof target))
            return M_PERM;
    }
    switch (t->kind) {
    case BC_SPF_ALL: return M_YES;
    case BC_SPF_IP4: return ip_in(&c->ip, AF_INET, t->ip, t->cidr4) ? M_YES : M_NO;
    case BC_SPF_IP6: return ip_in(&c->ip, AF_INET6, t->ip, t->cidr6) ? M_YES : M_NO;
    case BC_SPF_INCLUDE: {
        if (!domain_ok(target)) {
            ctx_error(c, "include of an invalid domain name '%s' (from %s)", target, domain);
            return M_PERM;
        }
        bc_spf_result r = check_domain(c, target, depth + 1, NULL);
        switch (r) {
        case BC_SPF_PASS: return M_YES;
        case BC_SPF_TEMPERROR: return M_TEMP;
        case BC_SPF_PERMERROR: return M_PERM;
        case BC_SPF_NONE: ctx_error(c, "include:%s has no SPF record (in %s)", target, domain); return M_PERM;
        default: return M_NO;
        }
    }
    case BC_SPF_A:
    case BC_SPF_EXISTS:
        if (!domain_ok(target))
            return M_NO;
        bc_resolver_query(c->r, target, t->kind == BC_SPF_EXISTS ? BC_RR_A : addr_type(c), &s);
        if (s.rc == BC_DNS_TEMPFAIL) {
            ctx_error(c, "DNS error looking up %s: %s", target, s.error);
            res = M_TEMP;
        } else if (s.n == 0) {
            res = count_void(c, t->text, domain) ? M_NO : M_PERM;
        } else if (t->kind == BC_SPF_EXISTS) {
            res = M_YES;
        } else {
            for (size_t i = 0; i < s.n && res == M_NO; i++)
                if (rr_matches(&s.rr[i], &c->ip, t->cidr4, t->cidr6))
                    res = M_YES;
        }
        bc_rrset_clear(&s);
        return res;
    case BC_SPF_MX:
        if (!domain_ok(target))
            return M_NO;
        bc_resolver_query(c->r, target, BC_RR_MX, &s);
        if (s.rc == BC_DNS_TEMPFAIL) {
            ctx_error(c, "DNS error looking up MX %s: %s", target, s.error);
            res = M_TEMP;
        } else if (s.n == 0) {
            res = count_void(c, t->text, domain) ? M_NO : M_PERM;
        } else if (s.n > SPF_MAX_NAMES) {
            ctx_error(c, "'%s' in %s: more than 10 MX records", t->text, domain);
            res = M_PERM;
        } else {
            for (size_t i = 0; i < s.n && res == M_NO; i++) {
                if (!s.rr[i].name[0])
                    continue;
                int h = host_has_ip(c, s.rr[i].name, t->cidr4, t->cidr6);
                if (h == 1)
                    res = M_YES;
            }
        }
        bc_rrset_clear(&s);
        return res;
    case BC_SPF_PTR: {
        struct ptr_match pm = { target };
        return validated_names(c, ptr_hit, &pm) ? M_YES : M_NO;
    }
    default: return M_NO;
    }
}

static bc_spf_result qual_result(char q)
{
    switch (q) {
    case '-': return BC_SPF_FAIL;
    case '~': return BC_SPF_SOFTFAIL;
    case '?': return BC_SPF_NEUTRAL;
    default: return BC_SPF_PASS;
    }
}

/* The explanation of a fail (RFC 7208 6.2): malloc'd, the caller frees it;
 * NULL for the default (no exp=, or its lookup or expansion failed). */
static char *explain(spf_ctx *c, const bc_spf_record *rec, const char *domain)
{
    if (!rec->exp)
        return NULL;
    char target[256];
    if (!target_of(c, rec->exp->spec, domain, target, sizeof target) || !domain_ok(target)) {
        c->error[0] = '\0';
        return NULL;
    }
    bc_rrset s;
    bc_resolver_query(c->r, target, BC_RR_TXT, &s);
    char *out = NULL;
    if (s.rc == BC_DNS_OK && s.n == 1) {
        bc_spf_macros m;
        macros_for(c, domain, &m);
        char buf[SPF_EXPAND_MAX], err[160];
        bool ascii = true;
        for (size_t i = 0; i < s.rr[0].text_len; i++)
            if ((unsigned char)s.rr[0].text[i] >= 0x80 || s.rr[0].text[i] == '\0')
                ascii = false;
        if (ascii &&
            bc_spf_expand(s.rr[0].text, s.rr[0].text_len, &m, true, buf, sizeof buf, err, sizeof err) == 0)
            out = strdup(buf);
    }
    bc_rrset_clear(&s);
    return out;
}

/* check_host() for one domain (sections 4.4-6). expl: where a fail's
 * explanation goes (NULL: not wanted, as in include). */
static bc_spf_result check_domain(spf_ctx *c, const char *domain, int depth, char **expl)
{
    if (depth > SPF_MAX_DEPTH) {
        ctx_error(c, "include/redirect nested more than %d deep at %s", SPF_MAX_DEPTH, domain);
        return BC_SPF_PERMERROR;
    }
    bc_rrset s;
    bc_resolver_query(c->r, domain, BC_RR_TXT, &s);
    if (s.rc == BC_DNS_TEMPFAIL) {
        ctx_error(c, "DNS error looking up TXT %s: %s", domain, s.error);
        trace_add(c, domain, depth, "(TXT lookup)", NULL, false);
        trace_note(c, "error", s.error);
        bc_rrset_clear(&s);
        return BC_SPF_TEMPERROR;
    }
    const bc_rr *found = NULL;
    size_t nfound = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.rr[i].text && bc_spf_is_v1(s.rr[i].text, s.rr[i].text_len)) {
            found = &s.rr[i];
            nfound++;
        }
    if (nfound == 0) {
        bc_rrset_clear(&s);
        trace_add(c, domain, depth, "(no SPF record)", NULL, false);
        return BC_SPF_NONE;
    }
    if (nfound > 1) {
        bc_rrset_clear(&s);
        ctx_error(c, "%s has more than one v=spf1 record", domain);
        trace_add(c, domain, depth, "(several SPF records)", NULL, false);
        return BC_SPF_PERMERROR;
    }
    bc_spf_record *rec = NULL;
    char err[256];
    int prc = bc_spf_parse(found->text, found->text_len, &rec, err, sizeof err);
    bc_rrset_clear(&s);
    if (prc < 0) {
        ctx_error(c, "syntax error in the SPF record of %s: %s", domain, err);
        trace_add(c, domain, depth, "(record)", NULL, false);
        trace_note(c, "error", err);
        return BC_SPF_PERMERROR;
    }
    bc_spf_result result = BC_SPF_NEUTRAL;
    bool decided = false;
    for (size_t i = 0; i < rec->n && !decided; i++) {
        const bc_spf_term *t = &rec->terms[i];
        if (t->kind >= BC_SPF_REDIRECT)
            continue;
        mres m = eval_mech(c, t, domain, depth);
        trace_add(c, domain, depth, t->text, "match", m == M_YES);
        if (m == M_TEMP || m == M_PERM) {
            result = m == M_TEMP ? BC_SPF_TEMPERROR : BC_SPF_PERMERROR;
            trace_note(c, "error", c->error);
            decided = true;
        } else if (m == M_YES) {
            result = qual_result(t->qualifier);
            json_object_set_new(json_array_get(c->trace, json_array_size(c->trace) - 1), "decided", json_true());
            decided = true;
            if (result == BC_SPF_FAIL && expl)
                *expl = explain(c, rec, domain);
        }
    }
    if (!decided && rec->redirect) {
        char target[256];
        const bc_spf_term *t = rec->redirect;
        trace_add(c, domain, depth, t->text, NULL, false);
        size_t at = json_array_size(c->trace) - 1;
        if (!count_lookup(c, t->text, domain) || !target_of(c, t->spec, domain, target, sizeof target)) {
            result = BC_SPF_PERMERROR;
        } else if (!domain_ok(target)) {
            ctx_error(c, "redirect to an invalid domain name '%s' (from %s)", target, domain);
            result = BC_SPF_PERMERROR;
        } else {
            result = check_domain(c, target, depth + 1, expl);
            if (result == BC_SPF_NONE) {
                ctx_error(c, "redirect=%s has no SPF record (from %s)", target, domain);
                result = BC_SPF_PERMERROR;
            }
        }
        json_t *e = json_array_get(c->trace, at);
        json_object_set_new(e, "result", json_string(bc_spf_result_name(result)));
        json_object_set_new(e, "decided", json_true());
    }
    bc_spf_record_free(rec);
    return result;
}

void bc_spf_outcome_clear(bc_spf_outcome *o)
{
    if (!o)
        return;
    free(o->explanation);
    json_decref(o->trace);
    memset(o, 0, sizeof *o);
}

void bc_spf_check_host(bc_resolver *r, const struct sockaddr_storage *ip, const char *sender, const char *helo,
                       const char *receiver, bc_spf_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->trace = json_array();
    spf_ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.ip = *ip;
    c.helo = helo ? helo : "";
    c.receiver = receiver;
    c.trace = out->trace;
    char local[256] = "postmaster", dom[256] = "";
    const char *at = sender ? strrchr(sender, '@') : NULL;
    const char *dsrc = helo ? helo : "";
    if (sender && *sender) {
        if (at) {
            size_t ln = (size_t)(at - sender);
            if (ln > 0 && ln < sizeof local) {
                memcpy(local, sender, ln);
                local[ln] = '\0';
            }
            dsrc = at + 1;
        } else {
            dsrc = sender;
        }
    }
    snprintf(dom, sizeof dom, "%s", dsrc);
    size_t dn = strlen(dom);
    if (dn > 0 && dom[dn - 1] == '.')
        dom[--dn] = '\0';
    c.local = local;
    c.sender_domain = dom;
    char ldom[256];
    bc_spf_copy_name(ldom, sizeof ldom, dom);
    snprintf(out->domain, sizeof out->domain, "%s", dom);
    if (!bc_spf_name_ok(dom, true) || strlen(dsrc) >= sizeof dom) {
        out->result = BC_SPF_NONE;
        snprintf(out->error, sizeof out->error, "'%s' is not a usable domain name (RFC 7208 4.3)", dsrc);
        return;
    }
    out->result = check_domain(&c, ldom, 0, &out->explanation);
    if (out->result != BC_SPF_FAIL) {
        free(out->explanation);
        out->explanation = NULL;
    }
    if (out->result == BC_SPF_TEMPERROR || out->result == BC_SPF_PERMERROR)
        snprintf(out->error, sizeof out->error, "%s", c.error);
    out->lookups = c.lookups;
    out->void_lookups = c.voids;
}

/* ---- public API ----------------------------------------------------------------------- */

/* *json_out is owned by the caller (free()). */
BC_API bc_error bc_spf_check(const char *dns_servers, const char *ip, const char *sender, const char *helo,
                             char **json_out, char *errbuf, size_t errlen)
{
    if (!json_out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "json_out is NULL");
    *json_out = NULL;
    struct sockaddr_storage ss;
    if (!bc_spf_parse_ip(ip, &ss))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "'%s' is not an IPv4 or IPv6 address", ip ? ip : "(null)");
    if ((!sender || !*sender) && (!helo || !*helo))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "give a sender or a HELO name");
    bc_dns_options opts;
    memset(&opts, 0, sizeof opts);
    opts.servers = dns_servers;
    char err[256];
    bc_resolver *r = bc_resolver_new_cares(&opts, err, sizeof err);
    if (!r)
        return bc_seterr(errbuf, errlen, BC_ENET, "DNS resolver setup failed: %s", err);
    bc_spf_outcome o;
    bc_spf_check_host(r, &ss, sender ? sender : "", helo, NULL, &o);
    json_t *j = json_pack("{s:s, s:s?, s:s, s:s, s:s?, s:s, s:O, s:i, s:i}", "result",
                          bc_spf_result_name(o.result), "explanation", o.explanation, "ip", ip, "sender",
                          sender ? sender : "", "helo", helo, "domain", o.domain, "trace", o.trace, "lookups",
                          o.lookups, "void_lookups", o.void_lookups);
    if (j && o.error[0])
        json_object_set_new(j, "error", json_string(o.error));
    bc_spf_outcome_clear(&o);
    bc_resolver_free(r);
    *json_out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!*json_out)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    return BC_OK;
}

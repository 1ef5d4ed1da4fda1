/*
 * spf_walk.c - the SPF section of the domain health check (bc_health_spf,
 * health.h): the record(s), syntax, the recursive walk of include and
 * redirect counting DNS lookups and void lookups, loops, ptr, the all
 * term, sizes.
 */
#include <stdio.h>
#include <string.h>

#include "health/health.h"
#include "health/spf.h"
#include "health/spf_impl.h"

#define WALK_MAX_DEPTH 10
#define WALK_MAX_RECORDS 40

typedef struct walk {
    bc_resolver *r;
    json_t *findings;
    int lookups, voids, records;
    bool over_lookups, over_voids;
    const char *chain[WALK_MAX_DEPTH + 2]; /* domains from the top to the current one */
    int depth;
} walk;

/* Writes "a -> include:b -> ..." for the current chain into buf. */
static void chain_text(const walk *w, char *buf, size_t buflen)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; i <= w->depth && pos + 1 < buflen; i++) {
        int n = snprintf(buf + pos, buflen - pos, "%s%s", i ? " -> " : "", w->chain[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* The single v=spf1 record of name parsed into *out (caller frees), or a
 * finding when there is none / several / a syntax error. via: the term
 * that pointed here. */
static bool walk_fetch(walk *w, const char *name, const char *via, bc_spf_record **out)
{
    *out = NULL;
    bc_rrset s;
    bc_resolver_query(w->r, name, BC_RR_TXT, &s);
    if (s.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(w->findings, BC_SEV_WARN, "spf_dns_error",
                       "The TXT lookup of %s (reached by '%s') failed temporarily (%s); the SPF check is "
                       "incomplete. "
                       "Check that the domain's name servers answer.",
                       name, via, s.error);
        bc_rrset_clear(&s);
        return false;
    }
    const bc_rr *rec = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.rr[i].text && bc_spf_is_v1(s.rr[i].text, s.rr[i].text_len)) {
            rec = &s.rr[i];
            n++;
        }
    bool ok = false;
    if (n == 0) {
        bc_finding_add(w->findings, BC_SEV_FAIL, "spf_include_no_record",
                       "'%s' points to %s, which has no SPF record: receivers return permerror. Fix the name or "
                       "remove the term.",
                       via, name);
    } else if (n > 1) {
        bc_finding_add(w->findings, BC_SEV_FAIL, "spf_include_multiple_records",
                       "'%s' points to %s, which has %zu SPF records: receivers return permerror. That domain "
                       "must publish exactly one.",
                       via, name, n);
    } else {
        char err[256];
        if (bc_spf_parse(rec->text, rec->text_len, out, err, sizeof err) < 0)
            bc_finding_add(w->findings, BC_SEV_FAIL, "spf_syntax_error",
                           "The SPF record of %s (reached by '%s') has a syntax error: %s. Receivers return "
                           "permerror.",
                           name, via, err);
        else
            ok = true;
    }
    bc_rrset_clear(&s);
    return ok;
}

/* Looks up a term's target the way check_host would and counts a void
 * answer. Targets with macros depend on the sender and are skipped. */
static void walk_void(walk *w, const bc_spf_term *t, const char *domain)
{
    if (t->kind != BC_SPF_A && t->kind != BC_SPF_MX && t->kind != BC_SPF_EXISTS)
        return;
    if (t->spec && strchr(t->spec, '%'))
        return;
    char target[256];
    if (!bc_spf_copy_name(target, sizeof target, t->spec ? t->spec : domain))
        return;
    bool empty = true, temp = false;
    int types[2] = { t->kind == BC_SPF_MX ? BC_RR_MX : BC_RR_A, t->kind == BC_SPF_A ? BC_RR_AAAA : 0 };
    for (int k = 0; k < 2 && types[k]; k++) {
        bc_rrset s;
        bc_resolver_query(w->r, target, types[k], &s);
        if (s.rc == BC_DNS_TEMPFAIL)
            temp = true;
        if (s.n > 0)
            empty = false;
        bc_rrset_clear(&s);
    }
    if (temp && empty) {
        bc_finding_add(w->findings, BC_SEV_WARN, "spf_dns_error",
                       "The lookup for '%s' in %s failed temporarily; receivers would return temperror.", t->text,
                       domain);
        return;
    }
    if (!empty)
        return;
    w->voids++;
    if (w->voids > SPF_MAX_VOID && !w->over_voids) {
        char chain[512];
        chain_text(w, chain, sizeof chain);
        w->over_voids = true;
        bc_finding_add(w->findings, BC_SEV_FAIL, "spf_too_many_void_lookups",
                       "'%s' in %s is the third lookup that finds nothing (%s has no records; chain %s): "
                       "receivers return permerror after 2 void lookups. Remove terms that point to names "
                       "without records.",
                       t->text, domain, target, chain);
    }
}

static void walk_record(walk *w, const bc_spf_record *rec, const char *domain)
{
    if (++w->records > WALK_MAX_RECORDS)
        return;
    for (size_t i = 0; i < rec->n; i++) {
        const bc_spf_term *t = &rec->terms[i];
        if (t->kind == BC_SPF_PTR)
            bc_finding_add(w->findings, BC_SEV_WARN, "spf_ptr_deprecated",
                           "'%s' in %s uses the ptr mechanism, which RFC 7208 says not to use (slow, unreliable, "
                           "and many receivers skip it). List the addresses with ip4:/ip6: or a instead.",
                           t->text, domain);
        if (!bc_spf_kind_queries(t->kind))
            continue;
        w->lookups++;
        if (w->lookups > SPF_MAX_LOOKUPS && !w->over_lookups) {
            char chain[512];
            chain_text(w, chain, sizeof chain);
            w->over_lookups = true;
            bc_finding_add(w->findings, BC_SEV_FAIL, "spf_too_many_lookups",
                           "'%s' in %s (chain %s) is DNS-querying term number %d: receivers return permerror "
                           "past 10 (RFC 7208 4.6.4). Replace includes with ip4:/ip6: ranges or drop unused "
                           "ones.",
                           t->text, domain, chain, w->lookups);
        }
        walk_void(w, t, domain);
        if (t->kind != BC_SPF_INCLUDE && t->kind != BC_SPF_REDIRECT)
            continue;
        if (strchr(t->spec, '%'))
            continue; /* depends on the sender: not followed */
        char target[256];
        if (!bc_spf_copy_name(target, sizeof target, t->spec))
            continue;
        bool loop = false;
        for (int k = 0; k <= w->depth; k++)
            if (strcasecmp(w->chain[k], target) == 0)
                loop = true;
        if (loop) {
            char chain[512];
            chain_text(w, chain, sizeof chain);
            bc_finding_add(w->findings, BC_SEV_FAIL, "spf_include_loop",
                           "'%s' in %s leads back to %s (chain %s): the evaluation loops until the lookup "
                           "limit and receivers return permerror. Remove the term that closes the loop.",
                           t->text, domain, target, chain);
            continue;
        }
        if (w->depth >= WALK_MAX_DEPTH)
            continue;
        bc_spf_record *sub = NULL;
        if (!walk_fetch(w, target, t->text, &sub))
            continue;
        w->chain[++w->depth] = target;
        walk_record(w, sub, target);
        w->depth--;
        bc_spf_record_free(sub);
    }
}

/* Returns a new reference (the caller json_decref's it); NULL only when
 * out of memory. */
json_t *bc_health_spf(bc_resolver *r, const char *domain)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings"), *records = json_object_get(sec, "records");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "terms", json_array());
    json_object_set_new(sec, "lookups", json_integer(0));
    json_object_set_new(sec, "void_lookups", json_integer(0));
    json_object_set_new(sec, "all", json_null());
    char dom[256];
    if (!domain || !bc_spf_copy_name(dom, sizeof dom, domain) || !bc_spf_name_ok(dom, true)) {
        bc_finding_add(findings, BC_SEV_FAIL, "spf_bad_domain", "'%s' is not a domain name.",
                       domain ? domain : "(null)");
        bc_section_settle(sec);
        return sec;
    }
    bc_rrset s;
    bc_resolver_query(r, dom, BC_RR_TXT, &s);
    if (s.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, "spf_dns_error",
                       "The TXT lookup of %s failed temporarily (%s); whether it has SPF is unknown. Check that "
                       "the domain's name servers answer.",
                       dom, s.error);
        bc_rrset_clear(&s);
        bc_section_settle(sec);
        return sec;
    }
    const bc_rr *one = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.rr[i].text && bc_spf_is_v1(s.rr[i].text, s.rr[i].text_len)) {
            json_array_append_new(records, json_stringn(s.rr[i].text, s.rr[i].text_len));
            one = &s.rr[i];
            n++;
        }
    bc_rrset t99;
    bc_resolver_query(r, dom, BC_RR_SPF, &t99);
    if (t99.rc == BC_DNS_OK && t99.n > 0)
        bc_finding_add(findings, BC_SEV_WARN, "spf_type_spf_deprecated",
                       "%s publishes DNS records of type SPF (99), which RFC 7208 removed and receivers ignore. "
                       "Delete them and keep the TXT record.",
                       dom);
    bc_rrset_clear(&t99);
    if (n == 0) {
        bc_finding_add(findings, BC_SEV_WARN, "spf_no_record",
                       "%s has no SPF record, so receivers cannot tell which servers may send its mail. Publish a "
                       "TXT record such as \"v=spf1 mx -all\".",
                       dom);
        bc_rrset_clear(&s);
        bc_section_settle(sec);
        json_object_set_new(sec, "status", json_string("none"));
        return sec;
    }
    if (n > 1) {
        bc_finding_add(findings, BC_SEV_FAIL, "spf_multiple_records",
                       "%s has %zu SPF records; receivers return permerror when there is more than one. Merge "
                       "them into a single \"v=spf1 ...\" TXT record.",
                       dom, n);
        bc_rrset_clear(&s);
        bc_section_settle(sec);
        return sec;
    }
    json_object_set_new(sec, "record", json_stringn(one->text, one->text_len));
    if (one->text_len > 450)
        bc_finding_add(findings, BC_SEV_WARN, "spf_record_too_long",
                       "The SPF record is %zu bytes; above 450 the DNS answer may not fit in 512 bytes and some "
                       "receivers fail to fetch it. Shorten it (ranges, fewer includes).",
                       one->text_len);
    if (one->longest_string > 255)
        bc_finding_add(findings, BC_SEV_FAIL, "spf_string_too_long",
                       "A string of the SPF TXT record is %zu bytes; DNS strings hold at most 255. Split the "
                       "record into several quoted strings.",
                       one->longest_string);
    bc_spf_record *rec = NULL;
    char err[256];
    int prc = bc_spf_parse(one->text, one->text_len, &rec, err, sizeof err);
    bc_rrset_clear(&s);
    if (prc < 0) {
        bc_finding_add(findings, BC_SEV_FAIL, "spf_syntax_error",
                       "The SPF record has a syntax error: %s. Receivers return permerror for the whole record.",
                       err);
        bc_section_settle(sec);
        return sec;
    }
    json_t *terms = json_object_get(sec, "terms");
    const bc_spf_term *all = NULL;
    for (size_t i = 0; i < rec->n; i++) {
        json_array_append_new(terms, json_string(rec->terms[i].text));
        if (rec->terms[i].kind == BC_SPF_ALL && !all)
            all = &rec->terms[i];
    }
    walk w;
    memset(&w, 0, sizeof w);
    w.r = r;
    w.findings = findings;
    w.chain[0] = dom;
    walk_record(&w, rec, dom);
    json_object_set_new(sec, "lookups", json_integer(w.lookups));
    json_object_set_new(sec, "void_lookups", json_integer(w.voids));
    if (all) {
        char q[8];
        snprintf(q, sizeof q, "%call", all->qualifier);
        json_object_set_new(sec, "all", json_string(q));
        if (all->qualifier == '+')
            bc_finding_add(findings, BC_SEV_FAIL, "spf_all_pass",
                           "The record ends in '%s', which authorises every server on the Internet to send as "
                           "%s. Use -all (or ~all while testing).",
                           all->text, dom);
        else if (all->qualifier == '?')
            bc_finding_add(findings, BC_SEV_WARN, "spf_all_neutral",
                           "The record ends in '?all' (neutral), which tells receivers nothing about other "
                           "servers. Use -all or ~all.");
        if (rec->redirect)
            bc_finding_add(findings, BC_SEV_WARN, "spf_redirect_with_all",
                           "The record has both '%s' and '%s'; redirect is ignored when all is present. Remove "
                           "one of them.",
                           all->text, rec->redirect->text);
    } else if (!rec->redirect) {
        bc_finding_add(findings, BC_SEV_WARN, "spf_no_all",
                       "The record has no 'all' and no redirect, so mail from unlisted servers gets neutral. End "
                       "it with -all or ~all.");
    }
    bc_spf_record_free(rec);
    bc_section_settle(sec);
    return sec;
}

/*
 * dmarc.c - the DMARC section of the domain health check: the DMARC record
 * parser (RFC 7489 6.3/6.4, np= from RFC 9091; the tag list itself is split
 * by core/taglist.c) and bc_health_dmarc, which
 * finds the record (_dmarc.DOMAIN, else the organisational domain's by the
 * Public Suffix List), judges it and checks that report destinations on
 * other organisational domains authorise the reports (RFC 7489 7.1).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "bouncecheck.h"
#include "core/taglist.h"
#include "health/dmarc.h"

/* ---- DMARC record -------------------------------------------------------------- */

const char *bc_dmarc_policy_name(int p)
{
    switch (p) {
    case BC_DMARC_POLICY_NONE: return "none";
    case BC_DMARC_POLICY_QUARANTINE: return "quarantine";
    case BC_DMARC_POLICY_REJECT: return "reject";
    default: return "";
    }
}

/* Case-insensitive equality of s[0..n) with the NUL-terminated word. */
static bool eq_ci(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n != wl)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != tolower((unsigned char)word[i]))
            return false;
    return true;
}

bool bc_dmarc_is_candidate(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && bc_tag_wsp(text[i]))
        i++;
    if (i >= len || (text[i] != 'v' && text[i] != 'V'))
        return false;
    i++;
    while (i < len && bc_tag_wsp(text[i]))
        i++;
    if (i >= len || text[i] != '=')
        return false;
    i++;
    while (i < len && bc_tag_wsp(text[i]))
        i++;
    return len - i >= 6 && eq_ci(text + i, 6, "DMARC1") &&
           (len - i == 6 || text[i + 6] == ';' || bc_tag_wsp(text[i + 6]));
}

__attribute__((format(printf, 4, 5))) static void issue(bc_dmarc *d, bc_severity sev, const char *code,
                                                        const char *fmt, ...)
{
    bc_dmarc_issue *is;
    if (d->nissues < BC_DMARC_ISSUE_MAX) {
        is = &d->issues[d->nissues++];
    } else {
        /* full: a failure still replaces the last lesser issue, so it is never lost */
        size_t k = BC_DMARC_ISSUE_MAX;
        while (k > 0 && d->issues[k - 1].sev == BC_SEV_FAIL)
            k--;
        if (sev != BC_SEV_FAIL || k == 0)
            return;
        is = &d->issues[k - 1];
    }
    is->sev = sev;
    snprintf(is->code, sizeof is->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->message, sizeof is->message, fmt, ap);
    va_end(ap);
}

static int parse_policy(const char *v, size_t n)
{
    if (eq_ci(v, n, "none"))
        return BC_DMARC_POLICY_NONE;
    if (eq_ci(v, n, "quarantine"))
        return BC_DMARC_POLICY_QUARANTINE;
    if (eq_ci(v, n, "reject"))
        return BC_DMARC_POLICY_REJECT;
    return BC_DMARC_POLICY_UNSET;
}

/* 1*DIGIT into *out, at most `max`; false when not digits or above max. */
static bool parse_uint(const char *v, size_t n, unsigned long long max, unsigned long long *out)
{
    if (n == 0 || n > 20)
        return false;
    unsigned long long x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!bc_tag_digit(v[i]))
            return false;
        unsigned dig = (unsigned)(v[i] - '0');
        if (x > (max - dig) / 10)
            return false;
        x = x * 10 + dig;
    }
    *out = x;
    return true;
}

/* Checks a ':'-separated list (whitespace allowed around ':') whose items
 * each satisfy ok(); false on an empty item or one that does not. */
static bool colon_list(const char *v, size_t n, bool (*ok)(const char *, size_t))
{
    size_t i = 0;
    for (;;) {
        size_t a, b, e = bc_tag_item(v, n, i, ':', &a, &b);
        if (a == b || !ok(v + a, b - a))
            return false;
        if (e >= n)
            return true;
        i = e + 1;
    }
}

static bool fo_item(const char *s, size_t n)
{
    return n == 1 && (s[0] == '0' || s[0] == '1' || s[0] == 'd' || s[0] == 's' || s[0] == 'D' || s[0] == 'S');
}

static bool keyword_item(const char *s, size_t n)
{
    /* RFC 5321 Keyword: Let-dig [Ldh-str] */
    for (size_t i = 0; i < n; i++)
        if (!(bc_tag_alpha(s[i]) || bc_tag_digit(s[i]) || (s[i] == '-' && i > 0 && i + 1 < n)))
            return false;
    return true;
}

static bool hostname_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (bc_tag_alpha(c) || bc_tag_digit(c) || c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 || n > 1;
}

/* One report URI s[0..n) of tag `tag` ("rua"/"ruf") into *u; issues on d. */
static bool parse_uri(bc_dmarc *d, const char *tag, const char *s, size_t n, bc_dmarc_uri *u)
{
    char q[80];
    memset(u, 0, sizeof *u);
    bc_tag_quote(q, sizeof q, s, n);
    for (size_t i = 0; i < n; i++)
        if (bc_tag_wsp(s[i])) {
            issue(d, BC_SEV_FAIL, "dmarc_bad_uri",
                  "%s=%s: a URI cannot contain spaces; percent-encode "
                  "them or separate URIs with commas.",
                  tag, q);
            return false;
        }
    /* the size limit: "!" 1*DIGIT ["k" / "m" / "g" / "t"] at the end */
    const char *bang = memchr(s, '!', n);
    size_t ulen = n;
    if (bang) {
        const char *last = bang;
        while ((bang = memchr(last + 1, '!', (size_t)(s + n - last - 1))) != NULL)
            last = bang;
        size_t off = (size_t)(last - s) + 1, dl = n - off;
        unsigned shift = 0;
        if (dl > 0) {
            switch (tolower((unsigned char)s[n - 1])) {
            case 'k':
                shift = 10;
                dl--;
                break;
            case 'm':
                shift = 20;
                dl--;
                break;
            case 'g':
                shift = 30;
                dl--;
                break;
            case 't':
                shift = 40;
                dl--;
                break;
            default: break;
            }
        }
        unsigned long long size;
        if (!parse_uint(s + off, dl, (1ULL << 63) >> shift, &size)) {
            issue(d, BC_SEV_FAIL, "dmarc_bad_uri",
                  "%s=%s: the size limit after '!' must be digits "
                  "with an optional unit k, m, g or t (e.g. !10m).",
                  tag, q);
            return false;
        }
        u->max_size = size << shift;
        ulen = off - 1;
    }
    snprintf(u->uri, sizeof u->uri, "%.*s", (int)(ulen < sizeof u->uri ? ulen : sizeof u->uri - 1), s);
    size_t k = 0;
    if (ulen > 0 && bc_tag_alpha(s[0])) {
        k = 1;
        while (k < ulen && (bc_tag_alpha(s[k]) || bc_tag_digit(s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.'))
            k++;
    }
    if (k == 0 || k >= ulen || s[k] != ':') {
        if (memchr(s, '@', ulen))
            issue(d, BC_SEV_FAIL, "dmarc_bad_uri", "%s=%s is not a URI: write it as mailto:%s.", tag, q, q);
        else
            issue(d, BC_SEV_FAIL, "dmarc_bad_uri",
                  "%s=%s is not a URI (it needs a scheme, as in "
                  "mailto:dmarc@example.com).",
                  tag, q);
        return false;
    }
    if (!eq_ci(s, k, "mailto")) {
        issue(d, BC_SEV_WARN, "dmarc_uri_scheme",
              "%s=%s: receivers are only required to support "
              "mailto: report URIs; add a mailto: address.",
              tag, q);
        return true;
    }
    u->mailto = true;
    const char *addr = s + k + 1;
    size_t alen = ulen - k - 1;
    const char *qm = memchr(addr, '?', alen);
    if (qm)
        alen = (size_t)(qm - addr);
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (addr[i] == '@')
            at = addr + i;
    if (!at || at == addr || !hostname_ok(at + 1, (size_t)(addr + alen - at - 1))) {
        issue(d, BC_SEV_FAIL, "dmarc_bad_uri",
              "%s=%s: a mailto: URI needs an address local@domain "
              "with a valid domain name.",
              tag, q);
        u->mailto = false;
        return false;
    }
    size_t dl = (size_t)(addr + alen - at - 1);
    if (at[dl] == '.')
        dl--; /* a trailing dot */
    for (size_t i = 0; i < dl && i + 1 < sizeof u->domain; i++)
        u->domain[i] = (char)tolower((unsigned char)at[1 + i]);
    return true;
}

static void parse_uri_list(bc_dmarc *d, const char *tag, const char *v, size_t n, bc_dmarc_uri *uris,
                           size_t *count)
{
    size_t i = 0;
    bool warned = false;
    for (;;) {
        size_t a, b, e = bc_tag_item(v, n, i, ',', &a, &b);
        if (a == b) {
            issue(d, BC_SEV_FAIL, "dmarc_bad_uri", "%s= has an empty URI (a stray comma, or no value).", tag);
        } else if (*count == BC_DMARC_URI_MAX) {
            if (!warned)
                issue(d, BC_SEV_WARN, "dmarc_too_many_uris",
                      "%s= lists more than %d URIs; receivers "
                      "may send to only the first few.",
                      tag, BC_DMARC_URI_MAX);
            warned = true;
        } else if (parse_uri(d, tag, v + a, b - a, &uris[*count])) {
            (*count)++;
        }
        if (e >= n)
            return;
        i = e + 1;
    }
}

static const char *const known_tags[] = { "v",   "p",   "sp",  "np", "adkim", "aspf",
                                          "pct", "rua", "ruf", "fo", "rf",    "ri" };

void bc_dmarc_parse(const char *text, size_t len, bc_dmarc *out)
{
    memset(out, 0, sizeof *out);
    out->adkim = out->aspf = 'r';
    out->pct = 100;
    out->ri = 86400;
    snprintf(out->fo, sizeof out->fo, "0");
    char err[200], q[80], qn[80];
    bool ok = bc_taglist_split(text, len, &out->tags, err, sizeof err);
    if (!ok)
        issue(out, BC_SEV_FAIL, "dmarc_syntax", "Syntax error: %s; receivers ignore the whole record.", err);
    if (out->tags.nempty)
        issue(out, BC_SEV_WARN, "dmarc_empty_tag",
              "The record has an empty element between two ';' "
              "(\";;\"), which the grammar forbids; some receivers reject the record. Remove it.");
    const bc_taglist *tl = &out->tags;
    const bc_tag *t0 = tl->n ? &tl->tags[0] : NULL;
    bool version_ok = bc_dmarc_is_candidate(text, len) && t0 && t0->name_len == 1 && text[t0->name_off] == 'v' &&
                      t0->value_len == 6 && memcmp(text + t0->value_off, "DMARC1", 6) == 0;
    if (!version_ok) {
        ok = false;
        if (t0 && eq_ci(text + t0->name_off, t0->name_len, "v") &&
            memchr(text + t0->value_off, '=', t0->value_len))
            issue(out, BC_SEV_FAIL, "dmarc_version",
                  "v=%s: tags must be separated by ';' (write "
                  "v=DMARC1; p=...).",
                  bc_tag_quote(q, sizeof q, text + t0->value_off, t0->value_len));
        else if (t0 && eq_ci(text + t0->name_off, t0->name_len, "v"))
            issue(out, BC_SEV_FAIL, "dmarc_version",
                  "%s=%s: the record must start with exactly "
                  "v=DMARC1 (upper case).",
                  bc_tag_quote(qn, sizeof qn, text + t0->name_off, t0->name_len),
                  bc_tag_quote(q, sizeof q, text + t0->value_off, t0->value_len));
        else
            issue(out, BC_SEV_FAIL, "dmarc_version",
                  "The record does not start with v=DMARC1; "
                  "receivers ignore it. Put v=DMARC1; first.");
    }
    bool p_seen = false;
    for (size_t i = 0; i < tl->n; i++) {
        const bc_tag *t = &tl->tags[i];
        const char *name = text + t->name_off, *v = text + t->value_off;
        size_t nl = t->name_len, vl = t->value_len;
        bc_tag_quote(qn, sizeof qn, name, nl);
        bc_tag_quote(q, sizeof q, v, vl);
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = tl->tags[j].name_len == nl && strncasecmp(text + tl->tags[j].name_off, name, nl) == 0;
        if (dup) {
            ok = false;
            issue(out, BC_SEV_FAIL, "dmarc_duplicate_tag",
                  "Tag %s= appears more than once; a repeated "
                  "tag makes the whole record invalid (RFC 6376 3.2). Keep one.",
                  qn);
            continue;
        }
        const char *known = NULL;
        for (size_t k = 0; k < sizeof known_tags / sizeof known_tags[0]; k++)
            if (eq_ci(name, nl, known_tags[k]))
                known = known_tags[k];
        if (!known) {
            issue(out, BC_SEV_INFO, "dmarc_unknown_tag",
                  "Unknown tag %s=%s is ignored by receivers; "
                  "check its spelling or remove it.",
                  qn, q);
            continue;
        }
        if (memcmp(name, known, nl) != 0 && i > 0)
            issue(out, BC_SEV_WARN, "dmarc_tag_case",
                  "Tag %s= is written in upper case; tag names are "
                  "case-sensitive and some receivers ignore it. Write %s=.",
                  qn, known);
        if (strcmp(known, "v") == 0) {
            if (i > 0) {
                ok = false;
                issue(out, BC_SEV_FAIL, "dmarc_version", "v= must be the first tag, not tag %zu.", i + 1);
            }
        } else if (strcmp(known, "p") == 0 || strcmp(known, "sp") == 0 || strcmp(known, "np") == 0) {
            int pol = parse_policy(v, vl);
            if (pol == BC_DMARC_POLICY_UNSET)
                issue(out, BC_SEV_FAIL, "dmarc_bad_value",
                      "%s=%s: the policy must be none, quarantine "
                      "or reject.",
                      known, q);
            if (known[0] == 'p') {
                out->p = pol;
                p_seen = true;
            } else if (known[0] == 's') {
                out->sp = pol;
            } else {
                out->np = pol;
            }
        } else if (strcmp(known, "adkim") == 0 || strcmp(known, "aspf") == 0) {
            if (vl == 1 && (tolower((unsigned char)v[0]) == 'r' || tolower((unsigned char)v[0]) == 's')) {
                char m = (char)tolower((unsigned char)v[0]);
                if (known[1] == 'd')
                    out->adkim = m;
                else
                    out->aspf = m;
            } else {
                issue(out, BC_SEV_FAIL, "dmarc_bad_value",
                      "%s=%s: alignment must be r (relaxed) or "
                      "s (strict).",
                      known, q);
            }
        } else if (strcmp(known, "pct") == 0) {
            unsigned long long x;
            if (vl <= 3 && parse_uint(v, vl, 100, &x)) {
                out->pct = (int)x;
                out->has_pct = true;
            } else {
                issue(out, BC_SEV_FAIL, "dmarc_bad_value",
                      "pct=%s: must be a whole number from 0 to "
                      "100.",
                      q);
            }
        } else if (strcmp(known, "ri") == 0) {
            unsigned long long x;
            if (parse_uint(v, vl, 4294967295ULL, &x))
                out->ri = (unsigned long)x;
            else
                issue(out, BC_SEV_FAIL, "dmarc_bad_value",
                      "ri=%s: the report interval must be a number "
                      "of seconds (86400 is one day).",
                      q);
        } else if (strcmp(known, "fo") == 0) {
            if (colon_list(v, vl, fo_item))
                snprintf(out->fo, sizeof out->fo, "%.*s", (int)(vl < 15 ? vl : 15), v);
            else
                issue(out, BC_SEV_FAIL, "dmarc_bad_value",
                      "fo=%s: failure reporting options are 0, 1, "
                      "d or s, separated by ':'.",
                      q);
        } else if (strcmp(known, "rf") == 0) {
            if (!colon_list(v, vl, keyword_item))
                issue(out, BC_SEV_FAIL, "dmarc_bad_value",
                      "rf=%s: must be report format names "
                      "separated by ':' (afrf).",
                      q);
            else if (!eq_ci(v, vl, "afrf"))
                issue(out, BC_SEV_WARN, "dmarc_bad_value",
                      "rf=%s: the only failure report format "
                      "defined is afrf; remove rf= or write rf=afrf.",
                      q);
        } else if (strcmp(known, "rua") == 0) {
            parse_uri_list(out, "rua", v, vl, out->rua, &out->nrua);
        } else if (strcmp(known, "ruf") == 0) {
            parse_uri_list(out, "ruf", v, vl, out->ruf, &out->nruf);
        }
    }
    if (out->p == BC_DMARC_POLICY_UNSET && version_ok) {
        if (out->nrua > 0) {
            issue(out, BC_SEV_FAIL, "dmarc_no_policy",
                  "%s: receivers fall back to p=none because the "
                  "record has a valid rua= (RFC 7489 6.6.3). Write p=none, p=quarantine or p=reject.",
                  p_seen ? "The p= value is invalid" : "There is no p= tag");
            out->p = BC_DMARC_POLICY_NONE;
        } else {
            issue(out, BC_SEV_FAIL, "dmarc_no_policy",
                  "%s and no valid rua=: receivers ignore the "
                  "record. Write p=none, p=quarantine or p=reject right after v=DMARC1.",
                  p_seen ? "The p= value is invalid" : "There is no p= tag");
            ok = false;
        }
    }
    out->valid = ok && out->p != BC_DMARC_POLICY_UNSET;
}

/* ---- the health section -------------------------------------------------------- */

/* The organisational domain of d (lower case, no trailing dot) into
 * out[0..cap): its registrable domain by the PSL, or d itself. */
static void org_domain(const char *d, char *out, size_t cap)
{
    const psl_ctx_t *psl = psl_builtin();
    const char *reg = psl ? psl_registrable_domain(psl, d) : NULL;
    snprintf(out, cap, "%s", reg ? reg : d);
}

/* Lower-cases domain into out without a trailing dot; false when it is
 * empty or too long for a name that still takes a prefix. */
static bool norm_domain(const char *domain, char *out, size_t cap)
{
    size_t n = domain ? strlen(domain) : 0;
    if (n > 0 && domain[n - 1] == '.')
        n--;
    if (n == 0 || n > 253 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)domain[i]);
    out[n] = '\0';
    return true;
}

/* TXT lookup of name keeping the DMARC-looking records in *set's order:
 * returns the rc and fills idx[0..*nidx) with their indexes in set. */
static bc_dns_rc dmarc_lookup(bc_resolver *r, const char *name, bc_rrset *set, size_t *idx, size_t *nidx)
{
    memset(set, 0, sizeof *set);
    bc_resolver_query(r, name, BC_RR_TXT, set);
    *nidx = 0;
    if (set->rc != BC_DNS_OK)
        return set->rc;
    for (size_t i = 0; i < set->n && *nidx < BC_RRSET_MAX; i++)
        if (set->rr[i].text && bc_dmarc_is_candidate(set->rr[i].text, set->rr[i].text_len))
            idx[(*nidx)++] = i;
    return *nidx ? BC_DNS_OK : BC_DNS_NODATA;
}

/* The strength order of policies (none < quarantine < reject). */
static int strength(int p)
{
    return p;
}

/* Checks each report destination on another organisational domain than
 * pub's for its "PUB._report._dmarc.DEST" authorisation; appends the
 * "report_destinations" array and findings. */
static void check_destinations(bc_resolver *r, const char *pub, const bc_dmarc *d, json_t *sec, json_t *findings)
{
    char pub_org[256], dest_org[256];
    org_domain(pub, pub_org, sizeof pub_org);
    json_t *dests = json_array();
    /* domains already asked, with their outcome: 1 authorised, 0 not, -1 error */
    char asked[2 * BC_DMARC_URI_MAX][256];
    int asked_rc[2 * BC_DMARC_URI_MAX];
    size_t nasked = 0;
    for (int which = 0; which < 2; which++) {
        const bc_dmarc_uri *uris = which ? d->ruf : d->rua;
        size_t n = which ? d->nruf : d->nrua;
        const char *tag = which ? "ruf" : "rua";
        for (size_t i = 0; i < n; i++) {
            const bc_dmarc_uri *u = &uris[i];
            json_t *o = json_object();
            json_object_set_new(o, "tag", json_string(tag));
            json_object_set_new(o, "uri", bc_json_text(u->uri, strlen(u->uri)));
            if (u->max_size)
                json_object_set_new(o, "max_size", json_integer((json_int_t)u->max_size));
            json_array_append_new(dests, o);
            if (!u->mailto) {
                json_object_set_new(o, "domain", json_null());
                continue;
            }
            json_object_set_new(o, "domain", json_string(u->domain));
            org_domain(u->domain, dest_org, sizeof dest_org);
            bool external = strcmp(dest_org, pub_org) != 0;
            json_object_set_new(o, "external", json_boolean(external));
            if (!external)
                continue;
            size_t k = 0;
            while (k < nasked && strcmp(asked[k], u->domain) != 0)
                k++;
            bool first = k == nasked;
            char name[600];
            snprintf(name, sizeof name, "%s._report._dmarc.%s", pub, u->domain);
            if (first) {
                nasked++;
                snprintf(asked[k], sizeof asked[k], "%s", u->domain);
                if (strlen(name) > 253) {
                    asked_rc[k] = 0;
                } else {
                    bc_rrset set;
                    size_t idx[BC_RRSET_MAX], nidx;
                    bc_dns_rc rc = dmarc_lookup(r, name, &set, idx, &nidx);
                    asked_rc[k] = rc == BC_DNS_OK ? 1 : rc == BC_DNS_TEMPFAIL ? -1 : 0;
                    if (rc == BC_DNS_TEMPFAIL)
                        bc_finding_add(findings, BC_SEV_WARN, "dmarc_dns_error",
                                       "Could not look up %s "
                                       "(%s), so the authorisation of report destination %s is unknown; "
                                       "try again later.",
                                       name, set.error, u->domain);
                    bc_rrset_clear(&set);
                }
            }
            json_object_set_new(o, "authorized", asked_rc[k] < 0 ? json_null() : json_boolean(asked_rc[k] == 1));
            if (first && asked_rc[k] == 0)
                bc_finding_add(findings, BC_SEV_WARN, "dmarc_report_unauthorized",
                               "Report destination "
                               "%s (%s=) is on another organisational domain and %s has no TXT record "
                               "\"v=DMARC1\" at %s, so receivers will not send it reports. Ask the "
                               "destination's owner to publish it.",
                               u->domain, tag, u->domain, name);
        }
    }
    json_object_set_new(sec, "report_destinations", dests);
}

json_t *bc_health_dmarc(bc_resolver *r, const char *domain)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings"), *records = json_object_get(sec, "records");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "found_at", json_null());
    json_object_set_new(sec, "tags", json_object());
    char d[256], org[256], name[300];
    if (!norm_domain(domain, d, sizeof d)) {
        bc_finding_add(findings, BC_SEV_FAIL, "dmarc_bad_domain", "The domain name is empty or too long.");
        bc_section_settle(sec);
        return sec;
    }
    org_domain(d, org, sizeof org);
    json_object_set_new(sec, "org_domain", json_string(org));
    bc_rrset set;
    size_t idx[BC_RRSET_MAX], nidx = 0;
    const char *pub = d;
    snprintf(name, sizeof name, "_dmarc.%s", d);
    bc_dns_rc rc = dmarc_lookup(r, name, &set, idx, &nidx);
    if (rc != BC_DNS_OK && rc != BC_DNS_TEMPFAIL && strcmp(org, d) != 0) {
        bc_rrset_clear(&set);
        pub = org;
        snprintf(name, sizeof name, "_dmarc.%s", org);
        rc = dmarc_lookup(r, name, &set, idx, &nidx);
    }
    if (rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, "dmarc_dns_error",
                       "Could not look up the DMARC record at "
                       "%s (%s); this says nothing about whether it exists. Try again later.",
                       name, set.error);
        bc_rrset_clear(&set);
        json_object_set_new(sec, "status", json_string("info"));
        bc_section_settle(sec);
        return sec;
    }
    if (rc != BC_DNS_OK) {
        bc_rrset_clear(&set);
        if (strcmp(org, d) != 0)
            bc_finding_add(findings, BC_SEV_FAIL, "dmarc_missing",
                           "No DMARC record at _dmarc.%s nor at "
                           "_dmarc.%s (the organisational domain). Publish a TXT record at _dmarc.%s: "
                           "\"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\" to start receiving reports, "
                           "then move to p=quarantine and p=reject.",
                           d, org, org, org);
        else
            bc_finding_add(findings, BC_SEV_FAIL, "dmarc_missing",
                           "No DMARC record at _dmarc.%s. Publish "
                           "a TXT record there: \"v=DMARC1; p=none; rua=mailto:dmarc-reports@%s\" to start "
                           "receiving reports, then move to p=quarantine and p=reject.",
                           d, d);
        json_object_set_new(sec, "status", json_string("none"));
        return sec;
    }
    json_object_set_new(sec, "found_at", json_string(name));
    json_object_set_new(sec, "inherited", json_boolean(pub != d));
    for (size_t i = 0; i < nidx; i++)
        json_array_append_new(records, bc_json_text(set.rr[idx[i]].text, set.rr[idx[i]].text_len));
    if (nidx > 1) {
        bc_finding_add(findings, BC_SEV_FAIL, "dmarc_multiple_records",
                       "%zu DMARC records at %s: receivers "
                       "ignore them all (RFC 7489 6.6.3). Keep exactly one.",
                       nidx, name);
        bc_rrset_clear(&set);
        bc_section_settle(sec);
        return sec;
    }
    const bc_rr *rr = &set.rr[idx[0]];
    json_object_set_new(sec, "record", bc_json_text(rr->text, rr->text_len));
    bc_dmarc *dm = malloc(sizeof *dm);
    if (!dm) {
        bc_rrset_clear(&set);
        json_decref(sec);
        return NULL;
    }
    bc_dmarc_parse(rr->text, rr->text_len, dm);
    json_t *tags = json_object_get(sec, "tags");
    for (size_t i = 0; i < dm->tags.n; i++) {
        const bc_tag *t = &dm->tags.tags[i];
        char tn[64];
        bc_tag_quote(tn, sizeof tn, rr->text + t->name_off, t->name_len);
        json_object_set_new(tags, tn, bc_json_text(rr->text + t->value_off, t->value_len));
    }
    for (size_t i = 0; i < dm->nissues; i++)
        bc_finding_add(findings, dm->issues[i].sev, dm->issues[i].code, "%s", dm->issues[i].message);
    if (pub != d)
        bc_finding_add(findings, BC_SEV_INFO, "dmarc_inherited",
                       "No record at _dmarc.%s; the record of "
                       "the organisational domain %s applies (its sp= to existing subdomains, its np= to "
                       "non-existent ones).",
                       d, org);
    if (dm->valid) {
        /* the policy that applies to `d`: p at the organisational domain itself, else sp (RFC 7489 6.6.3) */
        int eff = (pub != d && dm->sp != BC_DMARC_POLICY_UNSET) ? dm->sp : dm->p;
        json_object_set_new(sec, "policy", json_string(bc_dmarc_policy_name(eff)));
        if (eff == BC_DMARC_POLICY_NONE)
            bc_finding_add(findings, BC_SEV_WARN, "dmarc_policy_none",
                           "The policy is none: DMARC only "
                           "monitors, and mail that fails it is still delivered. Once the reports show "
                           "that your legitimate mail passes, move to p=quarantine, then p=reject.");
        if (dm->nrua == 0)
            bc_finding_add(findings, BC_SEV_WARN, "dmarc_no_rua",
                           "No rua= tag: you receive no aggregate "
                           "reports, so you cannot see who sends mail as your domain. Add "
                           "rua=mailto:dmarc-reports@%s (or a report service's address).",
                           org);
        if (dm->has_pct && dm->pct < 100) {
            if (eff == BC_DMARC_POLICY_NONE)
                bc_finding_add(findings, BC_SEV_INFO, "dmarc_pct",
                               "pct=%d has no effect with the policy "
                               "none.",
                               dm->pct);
            else
                bc_finding_add(findings, BC_SEV_WARN, "dmarc_pct_partial",
                               "pct=%d: the policy applies to "
                               "only %d%% of failing mail, the rest gets the next weaker policy. Raise it "
                               "to pct=100 once the reports are clean.",
                               dm->pct, dm->pct);
        }
        if (dm->sp != BC_DMARC_POLICY_UNSET && strength(dm->sp) < strength(dm->p))
            bc_finding_add(findings, BC_SEV_INFO, "dmarc_sp_weaker",
                           "Subdomains get a weaker policy "
                           "(sp=%s) than the domain (p=%s); make sure that is intended.",
                           bc_dmarc_policy_name(dm->sp), bc_dmarc_policy_name(dm->p));
        int base = dm->sp != BC_DMARC_POLICY_UNSET ? dm->sp : dm->p;
        if (dm->np != BC_DMARC_POLICY_UNSET && strength(dm->np) < strength(base))
            bc_finding_add(findings, BC_SEV_INFO, "dmarc_np_weaker",
                           "Non-existent subdomains get a "
                           "weaker policy (np=%s) than existing ones (%s); spoofers use names that do "
                           "not exist, so np= should be at least as strong.",
                           bc_dmarc_policy_name(dm->np), bc_dmarc_policy_name(base));
        check_destinations(r, pub, dm, sec, findings);
    }
    free(dm);
    bc_rrset_clear(&set);
    bc_section_settle(sec);
    return sec;
}

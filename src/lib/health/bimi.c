/*
 * bimi.c - the BIMI section of the domain health check
 * (draft-brand-indicators-for-message-identification, health.h): the
 * default._bimi TXT record (l=, a=) and its DMARC precondition. The parser
 * is open to the unit tests through bimi.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "health/bimi.h"
#include "health/health.h"
#include "health/txt_record.h"

bool bc_bimi_parse_record(const char *text, bc_bimi_record *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *buf;
    bc_txt_kv t[BC_TXT_KV_MAX];
    size_t n;
    bool ok = bc_txt_kv_record(text, "BIMI1", &buf, t, &n, err, errlen);
    if (ok) {
        const char *l = bc_txt_kv_get(t, n, "l"), *a = bc_txt_kv_get(t, n, "a");
        /* (cut to fit, a URL's check would judge a prefix of it) */
        const char *too_long = l && strlen(l) >= sizeof out->l   ? "l"
                               : a && strlen(a) >= sizeof out->a ? "a"
                                                                 : NULL;
        if (too_long) {
            bc_txt_seterr(err, errlen, "%s= is longer than %zu characters", too_long, sizeof out->l - 1);
            free(buf);
            return false;
        }
        if (l) {
            out->has_l = true;
            bc_txt_copy(out->l, sizeof out->l, l);
        }
        if (a) {
            out->has_a = true;
            bc_txt_copy(out->a, sizeof out->a, a);
        }
    }
    free(buf);
    return ok;
}

/* True when s is an https URL with a host; path (if not NULL) gets its
 * path (caller frees with curl_free). */
static bool https_url(const char *s, char **path)
{
    if (path)
        *path = NULL;
    if (strncasecmp(s, "https://", 8) != 0)
        return false;
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    if (ok && path && curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK)
        *path = NULL;
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* A DMARC tag as text: strings as they are, integers printed. */
static const char *dmarc_tag(const json_t *tags, const char *name, char *buf, size_t len)
{
    const json_t *v = json_object_get(tags, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return NULL;
}

/* BIMI's precondition: DMARC at enforcement for all mail. */
static void bimi_dmarc(const json_t *dmarc, json_t *findings)
{
    const json_t *tags = json_is_object(dmarc) ? json_object_get(dmarc, "tags") : NULL;
    char b1[32], b2[32], b3[32];
    const char *p = json_is_object(tags) ? dmarc_tag(tags, "p", b1, sizeof b1) : NULL;
    if (!p) {
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_missing",
                       "BIMI needs a DMARC policy of quarantine or reject, and the domain has no usable DMARC "
                       "record; mailbox providers will not show the logo. Publish DMARC with p=quarantine or "
                       "p=reject first.");
        return;
    }
    if (strcasecmp(p, "quarantine") != 0 && strcasecmp(p, "reject") != 0)
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_policy",
                       "DMARC is p=%s, but BIMI needs p=quarantine or p=reject; mailbox providers will not show "
                       "the logo. Move DMARC to enforcement once its reports show your mail aligns.",
                       p);
    const char *sp = dmarc_tag(tags, "sp", b2, sizeof b2);
    if (sp && strcasecmp(sp, "none") == 0)
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_sp",
                       "DMARC has sp=none: BIMI also needs subdomains at enforcement (quarantine or reject). "
                       "Remove sp or set it to quarantine or reject.");
    const char *pct = dmarc_tag(tags, "pct", b3, sizeof b3);
    char *end = NULL;
    long pct_n = pct ? strtol(pct, &end, 10) : 100;
    if (pct && (end == pct || *end != '\0' || pct_n != 100))
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_pct",
                       "DMARC has pct=%s: BIMI needs the policy applied to all mail (pct=100, the default). "
                       "Remove pct or set it to 100.",
                       pct);
}

json_t *bc_health_bimi(bc_resolver *r, const char *domain, const json_t *dmarc)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "logo", json_null());
    json_object_set_new(sec, "authority", json_null());
    static const bc_rec_kind kind = { "default._bimi",   "v=BIMI1",        "BIMI",
                                      "bimi_bad_domain", "bimi_dns_error", "bimi_multiple_records",
                                      "no logo is shown" };
    bc_rec_found f;
    if (!bc_rec_lookup(r, domain, &kind, sec, &f))
        return sec;
    const char *name = f.name, *rec = f.rec;
    if (f.n == 0) {
        bc_finding_add(findings, BC_SEV_INFO, "bimi_missing",
                       "No BIMI record (TXT 'v=BIMI1; l=https://.../logo.svg' at %s)%s. BIMI is optional: it "
                       "lets mailbox providers show your logo, and needs DMARC at quarantine or reject.",
                       name, f.none_note);
    } else {
        bc_bimi_record b;
        char err[256] = "";
        if (!bc_bimi_parse_record(rec, &b, err, sizeof err)) {
            bc_finding_add(findings, BC_SEV_FAIL, "bimi_syntax",
                           "The BIMI record at %s is not valid: %s. Write it as 'v=BIMI1; "
                           "l=https://example.com/logo.svg; a=https://example.com/vmc.pem'.",
                           name, err);
        } else {
            if (b.has_l && b.l[0])
                json_object_set_new(sec, "logo", bc_txt_jstr(b.l));
            if (b.has_a && b.a[0])
                json_object_set_new(sec, "authority", bc_txt_jstr(b.a));
            if (!b.has_l) {
                bc_finding_add(findings, BC_SEV_FAIL, "bimi_no_logo",
                               "The BIMI record has no l= tag, so there is no logo to show. Add "
                               "'l=https://.../logo.svg' (an SVG Tiny PS file), or 'l=' to decline BIMI.");
            } else if (!b.l[0] && !b.a[0]) {
                json_object_set_new(sec, "status", json_string("info"));
                bc_finding_add(findings, BC_SEV_INFO, "bimi_declined",
                               "The BIMI record has an empty l=: the domain declines to show a logo.");
            } else {
                char *path = NULL;
                if (!b.l[0])
                    bc_finding_add(findings, BC_SEV_FAIL, "bimi_no_logo",
                                   "The BIMI record has an empty l= but an a= tag: there is no logo to show. "
                                   "Put the SVG's https URL in l=.");
                else if (!https_url(b.l, &path))
                    bc_finding_add(findings, BC_SEV_FAIL, "bimi_logo_not_https",
                                   "The logo location '%s' is not an https URL; mailbox providers fetch the logo "
                                   "only over HTTPS. Serve the SVG over https and put that URL in l=.",
                                   b.l);
                else if (!path || strlen(path) < 4 || strcasecmp(path + strlen(path) - 4, ".svg") != 0)
                    bc_finding_add(findings, BC_SEV_WARN, "bimi_logo_not_svg",
                                   "The logo URL '%s' does not end in .svg; BIMI logos must be SVG Tiny PS "
                                   "files. Check that the URL serves one.",
                                   b.l);
                curl_free(path);
                if (b.a[0] && !https_url(b.a, NULL))
                    bc_finding_add(findings, BC_SEV_FAIL, "bimi_authority_not_https",
                                   "The authority evidence location '%s' is not an https URL. Put the https URL "
                                   "of the PEM certificate (VMC or CMC) in a=.",
                                   b.a);
                else if (!b.a[0])
                    bc_finding_add(findings, BC_SEV_INFO, "bimi_no_authority",
                                   "The BIMI record has no a= certificate (VMC or CMC); several mailbox "
                                   "providers (Gmail, Apple Mail) show logos only with one.");
                bimi_dmarc(dmarc, findings);
            }
        }
    }
    bc_rrset_clear(&f.set);
    bc_section_settle(sec);
    return sec;
}

/*
 * tls_rpt.c - the TLS-RPT section of the domain health check (RFC 8460,
 * health.h): the _smtp._tls TXT record and its rua URIs. The parser is
 * open to the unit tests through tls_rpt.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "health/health.h"
#include "health/tls_rpt.h"
#include "health/txt_record.h"

bool bc_tls_rpt_parse_record(const char *text, bc_tlsrpt_record *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *buf;
    bc_txt_kv t[BC_TXT_KV_MAX];
    size_t n;
    bool ok = bc_txt_kv_record(text, "TLSRPTv1", &buf, t, &n, err, errlen);
    for (size_t i = 1; ok && i < n; i++) {
        if (strcmp(t[i].name, "rua") != 0) {
            if (!bc_txt_ext_value_ok(t[i].value)) {
                bc_txt_seterr(err, errlen, "the field '%s' has an empty or invalid value", t[i].name);
                ok = false;
            }
            continue;
        }
        char *p = t[i].value;
        while (ok && p) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            char *uri = bc_txt_trim(p);
            p = comma ? comma + 1 : NULL;
            if (!*uri) {
                bc_txt_seterr(err, errlen, "rua has an empty URI (a stray ',')");
                ok = false;
            } else if (strlen(uri) >= sizeof out->rua[0]) {
                /* (cut to fit, its check would judge a prefix of it) */
                bc_txt_seterr(err, errlen, "rua has a URI longer than %zu characters", sizeof out->rua[0] - 1);
                ok = false;
            } else if (out->nrua == sizeof out->rua / sizeof out->rua[0]) {
                out->rua_truncated = true;
            } else {
                bc_txt_copy(out->rua[out->nrua++], sizeof out->rua[0], uri);
            }
        }
    }
    free(buf);
    return ok;
}

bool bc_tls_rpt_uri_ok(const char *uri)
{
    if (!uri)
        return false;
    for (const char *c = uri; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return false;
    if (strncasecmp(uri, "mailto:", 7) == 0) {
        const char *a = uri + 7, *at = strchr(a, '@');
        if (!at || at == a)
            return false;
        const char *end = strchr(at + 1, '?');
        size_t dl = end ? (size_t)(end - at - 1) : strlen(at + 1);
        char dom[256];
        if (dl == 0 || dl >= sizeof dom || memchr(at + 1, '@', dl))
            return false;
        memcpy(dom, at + 1, dl);
        dom[dl] = '\0';
        return bc_txt_host_ok(dom);
    }
    if (strncasecmp(uri, "https://", 8) != 0)
        return false;
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, uri, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

json_t *bc_health_tls_rpt(bc_resolver *r, const char *domain)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "rua", json_array());
    static const bc_rec_kind kind = { "_smtp._tls",
                                      "v=TLSRPTv1",
                                      "TLS-RPT",
                                      "tls_rpt_bad_domain",
                                      "tls_rpt_dns_error",
                                      "tls_rpt_multiple_records",
                                      "senders send no reports (RFC 8460 3)" };
    bc_rec_found f;
    if (!bc_rec_lookup(r, domain, &kind, sec, &f))
        return sec;
    const char *name = f.name, *rec = f.rec;
    char d[256];
    bc_txt_norm_name(domain, d);
    if (f.n == 0) {
        /* Without reports nobody sees an MTA-STS policy fail: when the
         * domain has one, the missing record matters more. */
        char sts_name[300];
        bc_rrset sts;
        bool has_sts = false;
        if (bc_txt_lookup(r, "_mta-sts", domain, sts_name, &sts, NULL, "")) {
            for (size_t i = 0; sts.rc == BC_DNS_OK && i < sts.n; i++)
                has_sts = has_sts || bc_txt_has_version(sts.rr[i].text, "v=STSv1");
            bc_rrset_clear(&sts);
        }
        bc_finding_add(findings, has_sts ? BC_SEV_WARN : BC_SEV_INFO, "tls_rpt_missing",
                       "No TLS-RPT record (TXT 'v=TLSRPTv1; rua=mailto:...' at %s)%s. %s", name, f.none_note,
                       has_sts ? "The domain publishes MTA-STS, and without TLS reports you will not learn when "
                                 "senders fail to deliver under its policy: add the record."
                               : "It is optional; it asks senders to report TLS failures to you, which is "
                                 "worth having before adopting MTA-STS.");
    } else {
        bc_tlsrpt_record tr;
        char err[256] = "";
        if (!bc_tls_rpt_parse_record(rec, &tr, err, sizeof err)) {
            bc_finding_add(findings, BC_SEV_FAIL, "tls_rpt_syntax",
                           "The TLS-RPT record at %s is not valid: %s. Write it as 'v=TLSRPTv1; "
                           "rua=mailto:tls-reports@%s'.",
                           name, err, d);
        } else {
            json_t *rua = json_object_get(sec, "rua");
            for (size_t i = 0; i < tr.nrua; i++) {
                json_array_append_new(rua, bc_txt_jstr(tr.rua[i]));
                if (!bc_tls_rpt_uri_ok(tr.rua[i]))
                    bc_finding_add(findings, BC_SEV_FAIL, "tls_rpt_bad_uri",
                                   "The rua URI '%s' is not a mailto: address or an https: URL, the only kinds "
                                   "TLS-RPT senders use (RFC 8460 3). Fix or remove it.",
                                   tr.rua[i]);
            }
            if (tr.nrua == 0)
                bc_finding_add(findings, BC_SEV_FAIL, "tls_rpt_no_rua",
                               "The TLS-RPT record has no rua field, so senders have nowhere to send reports. Add "
                               "'rua=mailto:tls-reports@%s' (or an https: URL).",
                               d);
        }
    }
    bc_rrset_clear(&f.set);
    bc_section_settle(sec);
    return sec;
}

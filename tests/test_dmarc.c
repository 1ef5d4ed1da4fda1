/*
 * test_dmarc.c - unit test of the DMARC record parser (tags, values,
 * duplicates, URIs) and of the DMARC health section over in-memory zones:
 * a good record, none, two records, bad tags, p=none, no rua, external
 * report destinations with and without authorisation, the organisational
 * domain fallback and a temporary DNS failure.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "health/dmarc.h"
#include "tap.h"

/* ---- parser ---------------------------------------------------------------------- */

static bool parsed_has(const bc_dmarc *d, const char *code)
{
    for (size_t i = 0; i < d->nissues; i++)
        if (strcmp(d->issues[i].code, code) == 0)
            return true;
    return false;
}

static bool parsed_has_fail(const bc_dmarc *d)
{
    for (size_t i = 0; i < d->nissues; i++)
        if (d->issues[i].sev == BC_SEV_FAIL)
            return true;
    return false;
}

static void dump_issues(const bc_dmarc *d)
{
    for (size_t i = 0; i < d->nissues; i++)
        tap_diag("  %s %s: %s", bc_severity_name(d->issues[i].sev), d->issues[i].code, d->issues[i].message);
}

struct pcase {
    const char *rec;
    bool valid;
    const char *code; /* an issue expected, or NULL for none at all */
};

static const struct pcase pcases[] = {
    { "v=DMARC1; p=reject; rua=mailto:d@example.com", true, NULL },
    { "v=DMARC1;p=quarantine;sp=none;np=reject;adkim=s;aspf=r;pct=50;fo=0:1:d:s;ri=3600;rf=afrf;"
      "ruf=mailto:f@example.com;rua=mailto:a@example.com!10m,mailto:b@example.com",
      true, NULL },
    { "v = DMARC1 ; p = none ; rua = mailto:a@example.com ;", true, NULL },
    { "v=DMARC1; p=Reject", true, NULL },
    { "v=dmarc1; p=reject", false, "dmarc_version" },
    { "p=reject; v=DMARC1", false, "dmarc_version" },
    { "v=DMARC1 p=reject", false, "dmarc_version" },
    { "v=DMARC1; p=reject; p=none", false, "dmarc_duplicate_tag" },
    { "v=DMARC1; p=block", false, "dmarc_bad_value" },
    { "v=DMARC1; p=none; sp=maybe", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; pct=101", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; pct=abc", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; adkim=x", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; ri=-1", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; fo=2", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; rf=iodef", true, "dmarc_bad_value" },
    { "v=DMARC1; p=none; rua=dmarc@example.com", true, "dmarc_bad_uri" },
    { "v=DMARC1; p=none; rua=mailto:dmarc@example.com!10x", true, "dmarc_bad_uri" },
    { "v=DMARC1; p=none; rua=mailto:nodomain", true, "dmarc_bad_uri" },
    { "v=DMARC1; p=none; rua=mailto:a@example.com,", true, "dmarc_bad_uri" },
    { "v=DMARC1; p=none; rua=https://example.com/r", true, "dmarc_uri_scheme" },
    { "v=DMARC1; p=none; foo=bar", true, "dmarc_unknown_tag" },
    { "v=DMARC1; P=none", true, "dmarc_tag_case" },
    { "v=DMARC1; Sp=none; p=none", true, "dmarc_tag_case" },
    { "v=DMARC1; rua=mailto:a@example.com", true, "dmarc_no_policy" },
    { "v=DMARC1", false, "dmarc_no_policy" },
    { "v=DMARC1;; p=none", true, "dmarc_empty_tag" },
    { "v=DMARC1; p=none; rua", false, "dmarc_syntax" },
    { "v=DMARC1; p=n\xc3\xa9", false, "dmarc_syntax" },
    { "v=DMARC1; 1p=none", false, "dmarc_syntax" },
    { "", false, "dmarc_version" },
};

static void test_parser(void)
{
    bc_dmarc *d = malloc(sizeof *d);
    for (size_t i = 0; i < sizeof pcases / sizeof pcases[0]; i++) {
        const struct pcase *c = &pcases[i];
        bc_dmarc_parse(c->rec, strlen(c->rec), d);
        bool ok = d->valid == c->valid && (c->code ? parsed_has(d, c->code) : d->nissues == 0);
        if (!CHECK(ok, "parse '%s': valid=%d, %s", c->rec, c->valid, c->code ? c->code : "no issue"))
            dump_issues(d);
    }
    const char *rec = "v=DMARC1;p=quarantine;sp=none;np=reject;adkim=s;pct=50;ri=3600;"
                      "rua=mailto:a@Example.COM!10m,mailto:b@example.net;ruf=mailto:f@example.com";
    bc_dmarc_parse(rec, strlen(rec), d);
    CHECK(d->p == BC_DMARC_POLICY_QUARANTINE && d->sp == BC_DMARC_POLICY_NONE && d->np == BC_DMARC_POLICY_REJECT,
          "policies parsed");
    CHECK(d->adkim == 's' && d->aspf == 'r' && d->pct == 50 && d->has_pct && d->ri == 3600,
          "alignment, pct, ri parsed (aspf defaults to r)");
    CHECK(d->nrua == 2 && d->nruf == 1, "two rua, one ruf");
    CHECK(d->nrua == 2 && d->rua[0].mailto && strcmp(d->rua[0].domain, "example.com") == 0 &&
              d->rua[0].max_size == 10ULL << 20 && strcmp(d->rua[0].uri, "mailto:a@Example.COM") == 0,
          "rua with a !10m size: domain lower-cased, size in bytes, uri without the suffix");
    CHECK(d->nrua == 2 && strcmp(d->rua[1].domain, "example.net") == 0 && d->rua[1].max_size == 0, "second rua");
    CHECK(!parsed_has_fail(d), "no failure in a full record");
    CHECK(d->tags.n == 9, "nine tags kept (%zu)", d->tags.n);

    CHECK(bc_dmarc_is_candidate("v=DMARC1; p=none", 16), "candidate: plain");
    CHECK(bc_dmarc_is_candidate(" v = dmarc1;p=none", 18), "candidate: spaces, lower case");
    CHECK(bc_dmarc_is_candidate("v=DMARC1", 8), "candidate: version alone");
    CHECK(!bc_dmarc_is_candidate("v=spf1 -all", 11), "not candidate: SPF");
    CHECK(!bc_dmarc_is_candidate("v=DMARC10", 9), "not candidate: DMARC10");
    CHECK(!bc_dmarc_is_candidate("google-site-verification=x", 26), "not candidate: other TXT");
    free(d);
}

/* ---- section --------------------------------------------------------------------- */

static bc_resolver *zone(const char *json)
{
    char err[256];
    bc_resolver *r = bc_resolver_new_mem(json, strlen(json), err, sizeof err);
    if (!r)
        tap_diag("zone: %s", err);
    return r;
}

static bool has_finding(const json_t *sec, const char *code, const char *sev)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0 &&
            (!sev || strcmp(json_string_value(json_object_get(f, "severity")), sev) == 0))
            return true;
    }
    return false;
}

static const char *finding_message(const json_t *sec, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "code")), code) == 0)
            return json_string_value(json_object_get(f, "message"));
    }
    return "";
}

static const char *status(const json_t *sec)
{
    const char *s = json_string_value(json_object_get(sec, "status"));
    return s ? s : "(none)";
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "(null)";
}

/* Runs the section for domain over zone_json; the caller json_decref's it. */
static json_t *run(const char *zone_json, const char *domain)
{
    bc_resolver *r = zone(zone_json);
    json_t *sec = r ? bc_health_dmarc(r, domain) : NULL;
    bc_resolver_free(r);
    if (!sec)
        return json_object();
    char *dump = json_dumps(sec, JSON_COMPACT);
    tap_diag("%s: %s", domain, dump ? dump : "?");
    free(dump);
    return sec;
}

static void test_section(void)
{
    json_t *s;

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject; rua=mailto:dmarc@example.com\"},"
            " {\"TXT\": \"some-verification=abc\"}]}",
            "Example.COM.");
    CHECK_STR(status(s), "pass", "good record: status");
    CHECK(json_array_size(json_object_get(s, "findings")) == 0, "good record: no findings");
    CHECK_STR(str(s, "found_at"), "_dmarc.example.com", "good record: found_at");
    CHECK_STR(str(s, "record"), "v=DMARC1; p=reject; rua=mailto:dmarc@example.com", "good record: record");
    CHECK_STR(str(json_object_get(s, "tags"), "p"), "reject", "good record: tags.p");
    CHECK(json_array_size(json_object_get(s, "records")) == 1, "good record: the other TXT is not a record");
    CHECK(json_is_false(json_object_get(s, "inherited")), "good record: not inherited");
    json_decref(s);

    s = run("{\"example.com\": [{\"TXT\": \"v=spf1 -all\"}]}", "example.com");
    CHECK_STR(status(s), "none", "no record: status none");
    CHECK(has_finding(s, "dmarc_missing", "fail"), "no record: dmarc_missing fail");
    CHECK(strstr(finding_message(s, "dmarc_missing"), "v=DMARC1; p=none; rua=mailto:") != NULL,
          "no record: the fix says v=DMARC1; p=none; rua=mailto:");
    CHECK(json_is_null(json_object_get(s, "found_at")), "no record: found_at null");
    json_decref(s);

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject\"}, {\"TXT\": \"v=DMARC1; p=none\"}]}",
            "example.com");
    CHECK_STR(status(s), "fail", "two records: status");
    CHECK(has_finding(s, "dmarc_multiple_records", "fail"), "two records: dmarc_multiple_records");
    CHECK(json_array_size(json_object_get(s, "records")) == 2, "two records: both listed");
    json_decref(s);

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=block; pct=150; adkim=x; foo=bar; "
            "rua=dmarc@example.com\"}]}",
            "example.com");
    CHECK_STR(status(s), "fail", "bad tags: status");
    CHECK(has_finding(s, "dmarc_bad_value", "fail"), "bad tags: dmarc_bad_value");
    CHECK(has_finding(s, "dmarc_unknown_tag", "info"), "bad tags: dmarc_unknown_tag");
    CHECK(has_finding(s, "dmarc_bad_uri", "fail"), "bad tags: dmarc_bad_uri");
    CHECK(strstr(finding_message(s, "dmarc_bad_uri"), "mailto:dmarc@example.com") != NULL,
          "bad tags: the bad URI's fix names mailto:");
    CHECK(has_finding(s, "dmarc_no_policy", "fail"), "bad tags: p=block leaves no policy");
    CHECK_STR(str(json_object_get(s, "tags"), "foo"), "bar", "bad tags: unknown tag still listed");
    json_decref(s);

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=none; rua=mailto:d@example.com\"}]}",
            "example.com");
    CHECK_STR(status(s), "warn", "p=none: status");
    CHECK(has_finding(s, "dmarc_policy_none", "warn"), "p=none: dmarc_policy_none");
    CHECK(!has_finding(s, "dmarc_no_rua", NULL), "p=none: has rua");
    json_decref(s);

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject\"}]}", "example.com");
    CHECK_STR(status(s), "warn", "no rua: status");
    CHECK(has_finding(s, "dmarc_no_rua", "warn"), "no rua: dmarc_no_rua");
    json_decref(s);

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=quarantine; pct=25; sp=none; np=none; "
            "rua=mailto:d@example.com\"}]}",
            "example.com");
    CHECK(has_finding(s, "dmarc_pct_partial", "warn"), "pct=25: dmarc_pct_partial warn");
    CHECK(has_finding(s, "dmarc_sp_weaker", "info"), "sp=none under quarantine: dmarc_sp_weaker");
    CHECK(!has_finding(s, "dmarc_np_weaker", NULL), "np=none equal to sp: no np finding");
    json_decref(s);

    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject; np=quarantine; "
            "rua=mailto:d@example.com\"}]}",
            "example.com");
    CHECK(has_finding(s, "dmarc_np_weaker", "info"), "np=quarantine under reject: dmarc_np_weaker");
    json_decref(s);

    /* external destinations */
#define EXT                                                      \
    "{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject; " \
    "rua=mailto:d@example.com,mailto:agg@reports.example.net; "  \
    "ruf=mailto:f@reports.example.net\"}]%s}"
    char buf[1024];
    snprintf(buf, sizeof buf, EXT, "");
    s = run(buf, "example.com");
    CHECK_STR(status(s), "warn", "external rua without authorisation: status");
    CHECK(has_finding(s, "dmarc_report_unauthorized", "warn"), "external rua: dmarc_report_unauthorized");
    CHECK(strstr(finding_message(s, "dmarc_report_unauthorized"),
                 "example.com._report._dmarc.reports.example.net") != NULL,
          "external rua: the finding names the record to publish");
    {
        size_t n = 0, i;
        json_t *f;
        json_array_foreach(json_object_get(s, "findings"), i, f)
            n += strcmp(str(f, "code"), "dmarc_report_unauthorized") == 0;
        CHECK(n == 1, "external rua: one finding per destination domain (%zu)", n);
        json_t *d0 = json_array_get(json_object_get(s, "report_destinations"), 0);
        json_t *d1 = json_array_get(json_object_get(s, "report_destinations"), 1);
        CHECK(json_is_false(json_object_get(d0, "external")), "own-domain rua is not external");
        CHECK(json_is_true(json_object_get(d1, "external")) && json_is_false(json_object_get(d1, "authorized")),
              "external rua: authorized false");
    }
    json_decref(s);
    snprintf(buf, sizeof buf, EXT,
             ", \"example.com._report._dmarc.reports.example.net\": "
             "[{\"TXT\": \"v=DMARC1\"}]");
    s = run(buf, "example.com");
    CHECK_STR(status(s), "pass", "external rua with authorisation: status");
    CHECK(!has_finding(s, "dmarc_report_unauthorized", NULL), "external rua authorised: no finding");
    json_decref(s);
    snprintf(buf, sizeof buf, EXT, ", \"example.com._report._dmarc.reports.example.net\": [\"TIMEOUT\"]");
    s = run(buf, "example.com");
    CHECK(has_finding(s, "dmarc_dns_error", "warn") && !has_finding(s, "dmarc_report_unauthorized", NULL),
          "external rua, authorisation lookup times out: dns error, not unauthorised");
    json_decref(s);

    /* rua on another subdomain of the same organisational domain is not external */
    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject; rua=mailto:d@reports.example.com\"}]}",
            "example.com");
    CHECK_STR(status(s), "pass", "rua on own subdomain: pass");
    json_decref(s);

    /* organisational-domain fallback */
    s = run("{\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject; sp=quarantine; "
            "rua=mailto:d@example.com\"}], \"sub.example.com\": [{\"A\": \"192.0.2.1\"}]}",
            "sub.example.com");
    CHECK_STR(str(s, "found_at"), "_dmarc.example.com", "fallback: found at the organisational domain");
    CHECK(json_is_true(json_object_get(s, "inherited")), "fallback: inherited");
    CHECK_STR(str(s, "org_domain"), "example.com", "fallback: org_domain");
    CHECK_STR(str(s, "policy"), "quarantine", "fallback: sp= applies to the subdomain");
    CHECK(has_finding(s, "dmarc_inherited", "info"), "fallback: dmarc_inherited");
    json_decref(s);
    s = run("{\"_dmarc.example.co.uk\": [{\"TXT\": \"v=DMARC1; p=reject; rua=mailto:d@example.co.uk\"}]}",
            "a.b.example.co.uk");
    CHECK_STR(str(s, "found_at"), "_dmarc.example.co.uk", "fallback through the PSL (co.uk)");
    json_decref(s);
    s = run("{\"_dmarc.sub.example.com\": [{\"TXT\": \"v=DMARC1; p=none; rua=mailto:d@example.com\"}], "
            "\"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; p=reject\"}]}",
            "sub.example.com");
    CHECK_STR(str(s, "found_at"), "_dmarc.sub.example.com", "own record wins over the organisational one");
    json_decref(s);
    s = run("{\"_dmarc.sub.example.com\": [{\"TXT\": \"hello\"}]}", "sub.example.com");
    CHECK_STR(status(s), "none", "fallback, nowhere: none");
    CHECK(strstr(finding_message(s, "dmarc_missing"), "_dmarc.example.com") != NULL,
          "fallback, nowhere: the message names both places");
    json_decref(s);

    /* temporary failure: reported, never taken for absence, no fallback */
    s = run("{\"_dmarc.sub.example.com\": [\"TIMEOUT\"], \"_dmarc.example.com\": [{\"TXT\": \"v=DMARC1; "
            "p=reject\"}]}",
            "sub.example.com");
    CHECK_STR(status(s), "warn", "temp failure: status warn");
    CHECK(has_finding(s, "dmarc_dns_error", "warn"), "temp failure: dmarc_dns_error");
    CHECK(!has_finding(s, "dmarc_missing", NULL), "temp failure: not reported missing");
    CHECK(json_is_null(json_object_get(s, "found_at")), "temp failure: found_at null");
    json_decref(s);
    s = run("{\"_dmarc.example.com\": [\"TIMEOUT\"]}", "sub.example.com");
    CHECK(has_finding(s, "dmarc_dns_error", "warn") && !has_finding(s, "dmarc_missing", NULL),
          "temp failure at the organisational domain: dns error");
    json_decref(s);
}

int main(void)
{
    test_parser();
    test_section();
    return tap_done();
}

/*
 * test_mta_sts.c - the MTA-STS, TLS-RPT and BIMI health sections
 * (src/lib/health/mta_sts.c, tls_rpt.c, bimi.c and what they share,
 * txt_record.c).
 *
 * Without arguments: the parsers directly, and the sections over in-memory
 * zones (no network: the one policy fetch that happens is pointed at
 * 127.0.0.1, which the private-address guard refuses).
 *
 * With "https PORT CA_FILE" (tests/test_mta_sts.sh): the policy fetch
 * against a real HTTPS server on 127.0.0.1:PORT whose certificate CA_FILE
 * signed, reached through curl's connect-to so that the names stay
 * mta-sts.<domain>.test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/bimi.h"
#include "health/mta_sts.h"
#include "health/tls_rpt.h"
#include "health/txt_record.h"
#include "tap.h"

/* ---- helpers ------------------------------------------------------------------ */

static bc_resolver *zone(const char *json)
{
    char err[256] = "";
    bc_resolver *r = bc_resolver_new_mem(json, strlen(json), err, sizeof err);
    if (!r)
        tap_diag("zone rejected: %s", err);
    return r;
}

static const char *status(const json_t *sec)
{
    const char *s = json_string_value(json_object_get(sec, "status"));
    return s ? s : "(none)";
}

/* The severity of the finding `code` in sec, or NULL when absent. */
static const char *finding(const json_t *sec, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        const char *c = json_string_value(json_object_get(f, "code"));
        if (c && strcmp(c, code) == 0)
            return json_string_value(json_object_get(f, "severity"));
    }
    return NULL;
}

static const char *finding_message(const json_t *sec, const char *code)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        const char *c = json_string_value(json_object_get(f, "code"));
        if (c && strcmp(c, code) == 0)
            return json_string_value(json_object_get(f, "message"));
    }
    return "";
}

static int has(const json_t *sec, const char *code, const char *sev)
{
    const char *s = finding(sec, code);
    return s && strcmp(s, sev) == 0;
}

static void dump(const char *what, const json_t *sec)
{
    char *s = json_dumps(sec, JSON_COMPACT);
    tap_diag("%s: %s", what, s ? s : "(null)");
    free(s);
}

/* ---- parsers ------------------------------------------------------------------ */

static void test_version(void)
{
    CHECK(bc_txt_has_version("v=STSv1; id=1", "v=STSv1"), "v=STSv1; is an STS record");
    CHECK(bc_txt_has_version("v=STSv1", "v=STSv1"), "bare v=STSv1 is an STS record");
    CHECK(!bc_txt_has_version("v=STSv10; id=1", "v=STSv1"), "v=STSv10 is not an STS record");
    CHECK(!bc_txt_has_version("v=spf1 -all", "v=STSv1"), "an SPF record is not an STS record");
    CHECK(!bc_txt_has_version(" v=STSv1; id=1", "v=STSv1"), "leading space: not an STS record");
}

static void test_sts_record(void)
{
    char id[33], err[256];
    CHECK(bc_mta_sts_parse_record("v=STSv1; id=20160831085700Z;", id, err, sizeof err) &&
              strcmp(id, "20160831085700Z") == 0,
          "RFC 8461 example record parses, id 20160831085700Z");
    CHECK(bc_mta_sts_parse_record("v=STSv1;id=abc", id, err, sizeof err) && strcmp(id, "abc") == 0,
          "no space after ';'");
    CHECK(bc_mta_sts_parse_record("v=STSv1; id=1; ext_1=val", id, err, sizeof err), "extension field allowed");
    CHECK(bc_mta_sts_parse_record("v=STSv1; id=12345678901234567890123456789012", id, err, sizeof err),
          "id of 32 characters");
    CHECK(!bc_mta_sts_parse_record("v=STSv1; id=123456789012345678901234567890123", id, err, sizeof err) &&
              strstr(err, "1 to 32"),
          "id of 33 characters rejected: %s", err);
    CHECK(!bc_mta_sts_parse_record("v=STSv1; id=2016-08-31", id, err, sizeof err), "id with '-' rejected");
    CHECK(!bc_mta_sts_parse_record("v=STSv1;", id, err, sizeof err) && strstr(err, "id"),
          "missing id rejected: %s", err);
    CHECK(!bc_mta_sts_parse_record("v=STSv1; id=", id, err, sizeof err), "empty id rejected");
    CHECK(!bc_mta_sts_parse_record("v=STSv1; id=1;; x=y", id, err, sizeof err), "empty field rejected");
    CHECK(!bc_mta_sts_parse_record("v=STSv1; id=1; id=2", id, err, sizeof err) && strstr(err, "twice"),
          "id twice rejected: %s", err);
    CHECK(!bc_mta_sts_parse_record("v=STSv1; id=1; junk", id, err, sizeof err), "field without '=' rejected");
    CHECK(!bc_mta_sts_parse_record("id=1; v=STSv1", id, err, sizeof err), "v not first rejected");
}

static void test_policy(void)
{
    bc_sts_policy p;
    char err[256];
    const char *good = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
                       "mx: backupmx.example.com\r\nmax_age: 604800\r\n";
    CHECK(bc_mta_sts_parse_policy(good, strlen(good), &p, err, sizeof err), "RFC 8461 example policy (CRLF)");
    CHECK(strcmp(p.version, "STSv1") == 0 && strcmp(p.mode, "enforce") == 0 && p.max_age == 604800 && p.nmx == 3 &&
              strcmp(p.mx[1], "*.example.net") == 0,
          "fields: STSv1 enforce 604800, 3 mx");
    const char *lf = "version: STSv1\nmode: testing\nmx: MX.Example.COM.\nmax_age: 0\nfoo: bar";
    CHECK(bc_mta_sts_parse_policy(lf, strlen(lf), &p, err, sizeof err) && strcmp(p.mode, "testing") == 0 &&
              p.max_age == 0 && strcmp(p.mx[0], "mx.example.com") == 0,
          "LF lines, unknown key ignored, max_age 0, mx lower-cased without its dot");
    const char *none = "version: STSv1\nmode: none\nmax_age: 86400\n";
    CHECK(bc_mta_sts_parse_policy(none, strlen(none), &p, err, sizeof err), "mode none needs no mx");
    static const struct {
        const char *body, *why;
    } bad[] = {
        { "mode: enforce\nmx: a.example\nmax_age: 86400\n", "version" },
        { "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 86400\n", "STSv1" },
        { "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 86400\n", "mode" },
        { "version: STSv1\nmx: a.example\nmax_age: 86400\n", "mode" },
        { "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", "max_age" },
        { "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", "max_age" },
        { "version: STSv1\nmode: enforce\nmx: a.example\n", "max_age" },
        { "version: STSv1\nmode: enforce\nmax_age: 86400\n", "no mx" },
        { "version: STSv1\nmode: enforce\nmx: *.*.example.com\nmax_age: 86400\n", "mx" },
        { "version: STSv1\nmode: enforce\nmx: *example.com\nmax_age: 86400\n", "mx" },
        { "version: STSv1\nmode: enforce\nmx a.example\nmax_age: 86400\n", "key: value" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        bool ok = bc_mta_sts_parse_policy(bad[i].body, strlen(bad[i].body), &p, err, sizeof err);
        CHECK(!ok && strstr(err, bad[i].why), "bad policy %zu rejected, error mentions '%s': %s", i, bad[i].why,
              err);
    }
    const char nul[] = "version: STSv1\nmode: none\0\nmax_age: 1\n";
    CHECK(!bc_mta_sts_parse_policy(nul, sizeof nul - 1, &p, err, sizeof err) && strstr(err, "NUL"),
          "NUL byte rejected");
    const char *dup = "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 86400\n";
    CHECK(bc_mta_sts_parse_policy(dup, strlen(dup), &p, err, sizeof err) && p.duplicate_field &&
              strcmp(p.mode, "testing") == 0,
          "duplicate mode: flagged, first kept");
}

static void test_mx_match(void)
{
    CHECK(bc_mta_sts_mx_match("mail.example.com", "mail.example.com"), "exact match");
    CHECK(bc_mta_sts_mx_match("mail.example.com", "MAIL.Example.com."), "case and trailing dot ignored");
    CHECK(!bc_mta_sts_mx_match("mail.example.com", "mail2.example.com"), "other host does not match");
    CHECK(bc_mta_sts_mx_match("*.example.net", "mx1.example.net"), "wildcard matches one label");
    CHECK(!bc_mta_sts_mx_match("*.example.net", "a.b.example.net"), "wildcard does not match two labels");
    CHECK(!bc_mta_sts_mx_match("*.example.net", "example.net"), "wildcard does not match the apex");
    CHECK(!bc_mta_sts_mx_match("*.example.net", "mx1.example.network"), "wildcard needs the whole suffix");
}

static void test_tlsrpt_parse(void)
{
    bc_tlsrpt_record t;
    char err[256];
    CHECK(bc_tls_rpt_parse_record("v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/tlsrpt", &t, err,
                                  sizeof err) &&
              t.nrua == 2 && strcmp(t.rua[0], "mailto:a@example.com") == 0 &&
              strcmp(t.rua[1], "https://r.example.com/tlsrpt") == 0,
          "two rua URIs parsed");
    CHECK(bc_tls_rpt_parse_record("v=TLSRPTv1;", &t, err, sizeof err) && t.nrua == 0,
          "no rua: syntax holds, zero URIs (the section flags it)");
    CHECK(!bc_tls_rpt_parse_record("v=TLSRPTv1; rua=mailto:a@example.com,", &t, err, sizeof err),
          "stray comma rejected");
    CHECK(!bc_tls_rpt_parse_record("v=TLSRPTv1 rua=mailto:a@example.com", &t, err, sizeof err),
          "missing ';' rejected");
    /* a URI longer than its slot: refused whole, never judged by a prefix
     * (fuzz_tls_rpt: a long https URI with blanks past the slot's end) */
    char rec[1400];
    snprintf(rec, sizeof rec, "v=TLSRPTv1; rua=https://example.com/%0600d x", 0);
    CHECK(!bc_tls_rpt_parse_record(rec, &t, err, sizeof err) && strstr(err, "longer than 511"),
          "a 620-character rua URI is refused: %s", err);
    snprintf(rec, sizeof rec, "v=TLSRPTv1; rua=https://example.com/%0480d", 0);
    CHECK(bc_tls_rpt_parse_record(rec, &t, err, sizeof err) && t.nrua == 1 && strlen(t.rua[0]) == 500,
          "a 500-character rua URI is kept whole");
    CHECK(bc_tls_rpt_uri_ok("mailto:tls@example.com"), "mailto URI ok");
    CHECK(bc_tls_rpt_uri_ok("https://reports.example.com/v1"), "https URI ok");
    CHECK(!bc_tls_rpt_uri_ok("http://reports.example.com/v1"), "http URI refused");
    CHECK(!bc_tls_rpt_uri_ok("mailto:example.com"), "mailto without @ refused");
    CHECK(!bc_tls_rpt_uri_ok("ftp://example.com/"), "ftp URI refused");
    CHECK(!bc_tls_rpt_uri_ok("https://"), "https without host refused");
}

static void test_bimi_parse(void)
{
    bc_bimi_record b;
    char err[256];
    CHECK(bc_bimi_parse_record("v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/vmc.pem", &b, err,
                               sizeof err) &&
              b.has_l && b.has_a && strcmp(b.l, "https://example.com/logo.svg") == 0 &&
              strcmp(b.a, "https://example.com/vmc.pem") == 0,
          "BIMI record with l and a");
    CHECK(bc_bimi_parse_record("v=BIMI1; l=; a=;", &b, err, sizeof err) && b.has_l && !b.l[0] && !b.a[0],
          "declination record");
    CHECK(!bc_bimi_parse_record("v=BIMI1 l=https://example.com/logo.svg", &b, err, sizeof err),
          "missing ';' rejected");
    CHECK(!bc_bimi_parse_record("l=https://x/logo.svg; v=BIMI1", &b, err, sizeof err), "v not first rejected");
    char rec[2400];
    snprintf(rec, sizeof rec, "v=BIMI1; l=https://example.com/%01100d.svg", 0);
    CHECK(!bc_bimi_parse_record(rec, &b, err, sizeof err) && strstr(err, "l= is longer than 1023"),
          "a 1,124-character l= is refused, not cut: %s", err);
    snprintf(rec, sizeof rec, "v=BIMI1; l=https://example.com/logo.svg; a=https://example.com/%01100d.pem", 0);
    CHECK(!bc_bimi_parse_record(rec, &b, err, sizeof err) && strstr(err, "a= is longer than 1023"),
          "a 1,124-character a= is refused, not cut: %s", err);
}

/* ---- sections over in-memory zones -------------------------------------------- */

/* Every policy fetch in these tests goes to 127.0.0.1:1, refused by the
 * private-address guard before any packet leaves. */
#define NOWHERE "::127.0.0.1:1"

static void test_mta_sts_section(void)
{
    bc_resolver *r = zone("{\"none.test\": [{\"A\": \"192.0.2.1\"}],"
                          " \"_mta-sts.other.test\": [{\"TXT\": \"v=spf1 -all\"}],"
                          " \"_mta-sts.slow.test\": [\"TIMEOUT\"],"
                          " \"_mta-sts.two.test\": [{\"TXT\": \"v=STSv1; id=1\"}, {\"TXT\": \"v=STSv1; id=2\"}],"
                          " \"_mta-sts.bad.test\": [{\"TXT\": [\"v=STSv1; \", \"id=not-valid\"]}]}");
    if (!CHECK(r, "in-memory zone for MTA-STS"))
        return;
    bc_health_https h = { NULL, false, 2000 };
    const char *mx[] = { "mx.none.test" };
    json_t *s = bc_health_mta_sts_with(r, "none.test", mx, 1, &h, NOWHERE);
    CHECK(strcmp(status(s), "none") == 0 && has(s, "mta_sts_missing", "info") &&
              json_is_null(json_object_get(s, "record")),
          "no _mta-sts: status none, info mta_sts_missing");
    json_decref(s);
    s = bc_health_mta_sts_with(r, "other.test", mx, 1, &h, NOWHERE);
    CHECK(strcmp(status(s), "none") == 0 && has(s, "mta_sts_missing", "info") &&
              json_array_size(json_object_get(s, "records")) == 1,
          "only a non-STS TXT: none, the TXT listed in records");
    json_decref(s);
    s = bc_health_mta_sts_with(r, "slow.test", mx, 1, &h, NOWHERE);
    CHECK(strcmp(status(s), "warn") == 0 && has(s, "mta_sts_dns_error", "warn"),
          "DNS timeout: warn mta_sts_dns_error, not 'missing'");
    json_decref(s);
    s = bc_health_mta_sts_with(r, "two.test", mx, 1, &h, NOWHERE);
    CHECK(has(s, "mta_sts_multiple_records", "fail") && strcmp(status(s), "fail") == 0,
          "two STSv1 records: fail mta_sts_multiple_records");
    json_decref(s);
    s = bc_health_mta_sts_with(r, "BAD.test.", mx, 1, &h, NOWHERE);
    CHECK(has(s, "mta_sts_record_syntax", "fail") && json_is_null(json_object_get(s, "id")) &&
              strcmp(json_string_value(json_object_get(s, "record")), "v=STSv1; id=not-valid") == 0,
          "record with a bad id (two strings joined): fail mta_sts_record_syntax");
    CHECK(has(s, "mta_sts_policy_fetch", "fail") && strstr(finding_message(s, "mta_sts_policy_fetch"), "loopback"),
          "policy fetch to 127.0.0.1 refused by the guard: %s", finding_message(s, "mta_sts_policy_fetch"));
    CHECK(strcmp(json_string_value(json_object_get(s, "policy_url")),
                 "https://mta-sts.bad.test/.well-known/mta-sts.txt") == 0,
          "policy URL built from the domain (lower case, no trailing dot)");
    json_decref(s);
    bc_resolver_free(r);
}

static void test_tls_rpt_section(void)
{
    bc_resolver *r = zone("{\"_smtp._tls.good.test\": [{\"TXT\": \"v=TLSRPTv1; rua=mailto:tls@good.test\"}],"
                          " \"_smtp._tls.http.test\": [{\"TXT\": \"v=TLSRPTv1; rua=http://r.http.test/x\"}],"
                          " \"_smtp._tls.norua.test\": [{\"TXT\": \"v=TLSRPTv1; foo=bar\"}],"
                          " \"_smtp._tls.syntax.test\": [{\"TXT\": \"v=TLSRPTv1; rua\"}],"
                          " \"_smtp._tls.two.test\": [{\"TXT\": \"v=TLSRPTv1; rua=mailto:a@two.test\"},"
                          "                          {\"TXT\": \"v=TLSRPTv1; rua=mailto:b@two.test\"}],"
                          " \"_mta-sts.sts.test\": [{\"TXT\": \"v=STSv1; id=1\"}],"
                          " \"_smtp._tls.slow.test\": [\"TIMEOUT\"]}");
    if (!CHECK(r, "in-memory zone for TLS-RPT"))
        return;
    json_t *s = bc_health_tls_rpt(r, "good.test");
    json_t *rua = json_object_get(s, "rua");
    CHECK(strcmp(status(s), "pass") == 0 && json_array_size(json_object_get(s, "findings")) == 0 &&
              json_array_size(rua) == 1 &&
              strcmp(json_string_value(json_array_get(rua, 0)), "mailto:tls@good.test") == 0,
          "good TLS-RPT: pass, rua [mailto:tls@good.test]");
    json_decref(s);
    s = bc_health_tls_rpt(r, "http.test");
    CHECK(has(s, "tls_rpt_bad_uri", "fail"), "http: rua fails tls_rpt_bad_uri");
    json_decref(s);
    s = bc_health_tls_rpt(r, "norua.test");
    CHECK(has(s, "tls_rpt_no_rua", "fail"), "no rua fails tls_rpt_no_rua");
    json_decref(s);
    s = bc_health_tls_rpt(r, "syntax.test");
    CHECK(has(s, "tls_rpt_syntax", "fail"), "bad syntax fails tls_rpt_syntax");
    json_decref(s);
    s = bc_health_tls_rpt(r, "two.test");
    CHECK(has(s, "tls_rpt_multiple_records", "fail"), "two records fail tls_rpt_multiple_records");
    json_decref(s);
    s = bc_health_tls_rpt(r, "nothing.test");
    CHECK(strcmp(status(s), "none") == 0 && has(s, "tls_rpt_missing", "info"), "absent, no MTA-STS: none + info");
    json_decref(s);
    s = bc_health_tls_rpt(r, "sts.test");
    CHECK(strcmp(status(s), "warn") == 0 && has(s, "tls_rpt_missing", "warn"),
          "absent while MTA-STS is published: warn");
    json_decref(s);
    s = bc_health_tls_rpt(r, "slow.test");
    CHECK(has(s, "tls_rpt_dns_error", "warn") && !finding(s, "tls_rpt_missing"), "DNS timeout: tls_rpt_dns_error");
    json_decref(s);
    bc_resolver_free(r);
}

static json_t *dmarc_with(const char *tags_json)
{
    json_error_t e;
    json_t *tags = json_loads(tags_json, 0, &e);
    return json_pack("{s:s, s:o}", "status", "pass", "tags", tags ? tags : json_object());
}

static void test_bimi_section(void)
{
    bc_resolver *r = zone(
        "{\"default._bimi.good.test\": [{\"TXT\": \"v=BIMI1; l=https://good.test/logo.svg; "
        "a=https://good.test/vmc.pem\"}],"
        " \"default._bimi.nocert.test\": [{\"TXT\": \"v=BIMI1; l=https://nocert.test/logo.svg\"}],"
        " \"default._bimi.http.test\": [{\"TXT\": \"v=BIMI1; l=http://http.test/logo.svg\"}],"
        " \"default._bimi.png.test\": [{\"TXT\": \"v=BIMI1; l=https://png.test/logo.png\"}],"
        " \"default._bimi.declined.test\": [{\"TXT\": \"v=BIMI1; l=; a=;\"}],"
        " \"default._bimi.syntax.test\": [{\"TXT\": \"v=BIMI1 l=https://x.test/l.svg\"}],"
        " \"default._bimi.nol.test\": [{\"TXT\": \"v=BIMI1; a=https://x.test/a.pem\"}]}");
    if (!CHECK(r, "in-memory zone for BIMI"))
        return;
    json_t *reject = dmarc_with("{\"p\": \"reject\"}");
    json_t *none = dmarc_with("{\"p\": \"none\", \"rua\": \"mailto:d@x.test\"}");
    json_t *pct = dmarc_with("{\"p\": \"quarantine\", \"pct\": 50}");
    json_t *pct_s = dmarc_with("{\"p\": \"quarantine\", \"pct\": \"100\"}");
    json_t *sp = dmarc_with("{\"p\": \"reject\", \"sp\": \"none\"}");
    json_t *pct_z = dmarc_with("{\"p\": \"Reject\", \"pct\": \"0100\"}");

    json_t *s = bc_health_bimi(r, "good.test", reject);
    CHECK(strcmp(status(s), "pass") == 0 && json_array_size(json_object_get(s, "findings")) == 0 &&
              strcmp(json_string_value(json_object_get(s, "logo")), "https://good.test/logo.svg") == 0 &&
              strcmp(json_string_value(json_object_get(s, "authority")), "https://good.test/vmc.pem") == 0,
          "BIMI with DMARC reject: pass, logo and authority");
    if (strcmp(status(s), "pass") != 0)
        dump("good.test", s);
    json_decref(s);
    s = bc_health_bimi(r, "good.test", NULL);
    CHECK(has(s, "bimi_dmarc_missing", "fail"), "no DMARC section: fail bimi_dmarc_missing");
    json_decref(s);
    s = bc_health_bimi(r, "good.test", none);
    CHECK(has(s, "bimi_dmarc_policy", "fail") && strstr(finding_message(s, "bimi_dmarc_policy"), "p=none"),
          "DMARC p=none: fail bimi_dmarc_policy");
    json_decref(s);
    s = bc_health_bimi(r, "good.test", pct);
    CHECK(has(s, "bimi_dmarc_pct", "fail") && !finding(s, "bimi_dmarc_policy"),
          "DMARC quarantine with pct=50 (integer): fail bimi_dmarc_pct only");
    json_decref(s);
    s = bc_health_bimi(r, "good.test", pct_s);
    CHECK(!finding(s, "bimi_dmarc_pct") && strcmp(status(s), "pass") == 0, "pct \"100\" (string) passes");
    json_decref(s);
    s = bc_health_bimi(r, "good.test", pct_z);
    CHECK(strcmp(status(s), "pass") == 0, "p=Reject pct=0100 (as written) passes");
    json_decref(s);
    s = bc_health_bimi(r, "good.test", sp);
    CHECK(has(s, "bimi_dmarc_sp", "fail"), "DMARC sp=none: fail bimi_dmarc_sp");
    json_decref(s);
    s = bc_health_bimi(r, "nocert.test", reject);
    CHECK(strcmp(status(s), "pass") == 0 && has(s, "bimi_no_authority", "info") &&
              json_is_null(json_object_get(s, "authority")),
          "no a=: info bimi_no_authority, authority null");
    json_decref(s);
    s = bc_health_bimi(r, "http.test", reject);
    CHECK(has(s, "bimi_logo_not_https", "fail"), "http logo: fail bimi_logo_not_https");
    json_decref(s);
    s = bc_health_bimi(r, "png.test", reject);
    CHECK(has(s, "bimi_logo_not_svg", "warn"), "logo not .svg: warn");
    json_decref(s);
    s = bc_health_bimi(r, "declined.test", none);
    CHECK(strcmp(status(s), "info") == 0 && has(s, "bimi_declined", "info") && !finding(s, "bimi_dmarc_policy"),
          "declination record: info, DMARC precondition not judged");
    json_decref(s);
    s = bc_health_bimi(r, "syntax.test", reject);
    CHECK(has(s, "bimi_syntax", "fail"), "bad syntax: fail bimi_syntax");
    json_decref(s);
    s = bc_health_bimi(r, "nol.test", reject);
    CHECK(has(s, "bimi_no_logo", "fail"), "no l= tag: fail bimi_no_logo");
    json_decref(s);
    s = bc_health_bimi(r, "absent.test", reject);
    CHECK(strcmp(status(s), "none") == 0 && has(s, "bimi_missing", "info"), "absent: none + info bimi_missing");
    json_decref(s);
    json_decref(reject);
    json_decref(none);
    json_decref(pct);
    json_decref(pct_s);
    json_decref(sp);
    json_decref(pct_z);
    bc_resolver_free(r);
}

/* ---- against a real HTTPS server (test_mta_sts.sh) --------------------------- */

static int https_tests(const char *port, const char *ca)
{
    char connect_to[64];
    snprintf(connect_to, sizeof connect_to, "::127.0.0.1:%s", port);
    bc_resolver *r = zone("{\"_mta-sts.example.test\": [{\"TXT\": \"v=STSv1; id=20260101\"}],"
                          " \"_mta-sts.ctype.test\": [{\"TXT\": \"v=STSv1; id=1\"}],"
                          " \"_mta-sts.redirect.test\": [{\"TXT\": \"v=STSv1; id=1\"}],"
                          " \"_mta-sts.large.test\": [{\"TXT\": \"v=STSv1; id=1\"}],"
                          " \"_mta-sts.short.test\": [{\"TXT\": \"v=STSv1; id=1\"}]}");
    if (!CHECK(r, "in-memory zone for the HTTPS cases"))
        return tap_done();
    bc_health_https h = { ca, true, 5000 };
    const char *good_mx[] = { "mx1.example.test", "a.mx.example.test" };

    json_t *s = bc_health_mta_sts_with(r, "example.test", good_mx, 2, &h, connect_to);
    json_t *pol = json_object_get(s, "policy");
    json_t *m = json_object_get(s, "mx_matches");
    CHECK(strcmp(status(s), "pass") == 0 && json_array_size(json_object_get(s, "findings")) == 0,
          "good policy: status pass, no findings");
    CHECK(json_is_object(pol) && strcmp(json_string_value(json_object_get(pol, "mode")), "enforce") == 0 &&
              json_integer_value(json_object_get(pol, "max_age")) == 604800 &&
              json_array_size(json_object_get(pol, "mx")) == 2 &&
              strcmp(json_string_value(json_object_get(s, "id")), "20260101") == 0,
          "policy fields: enforce, 604800, 2 mx; id 20260101");
    CHECK(json_array_size(m) == 2 && strcmp(json_string_value(json_object_get(json_array_get(m, 1), "pattern")),
                                            "*.mx.example.test") == 0,
          "a.mx.example.test matched by *.mx.example.test");
    if (strcmp(status(s), "pass") != 0)
        dump("good", s);
    json_decref(s);

    const char *bad_mx[] = { "mx1.example.test", "mail.elsewhere.test" };
    s = bc_health_mta_sts_with(r, "example.test", bad_mx, 2, &h, connect_to);
    m = json_object_get(s, "mx_matches");
    CHECK(strcmp(status(s), "fail") == 0 && has(s, "mta_sts_mx_unmatched", "fail") &&
              strstr(finding_message(s, "mta_sts_mx_unmatched"), "mail.elsewhere.test") &&
              json_is_null(json_object_get(json_array_get(m, 1), "pattern")),
          "enforce with an MX that matches no pattern: fail mta_sts_mx_unmatched, pattern null");
    json_decref(s);

    s = bc_health_mta_sts_with(r, "ctype.test", good_mx, 0, &h, connect_to);
    CHECK(has(s, "mta_sts_policy_content_type", "fail") &&
              strstr(finding_message(s, "mta_sts_policy_content_type"), "text/html") &&
              json_is_object(json_object_get(s, "policy")),
          "text/html policy: fail mta_sts_policy_content_type (policy still parsed)");
    json_decref(s);

    s = bc_health_mta_sts_with(r, "redirect.test", good_mx, 0, &h, connect_to);
    CHECK(has(s, "mta_sts_policy_redirect", "fail") &&
              strstr(finding_message(s, "mta_sts_policy_redirect"), "301") &&
              strstr(finding_message(s, "mta_sts_policy_redirect"), "https://elsewhere.test/policy") &&
              json_is_null(json_object_get(s, "policy")),
          "301 redirect not followed: fail mta_sts_policy_redirect naming the target");
    json_decref(s);

    s = bc_health_mta_sts_with(r, "large.test", good_mx, 0, &h, connect_to);
    CHECK(has(s, "mta_sts_policy_too_large", "fail"), "policy over 64 KiB: fail mta_sts_policy_too_large");
    json_decref(s);

    s = bc_health_mta_sts_with(r, "short.test", good_mx, 0, &h, connect_to);
    CHECK(has(s, "mta_sts_max_age_short", "warn") && strcmp(status(s), "warn") == 0,
          "enforce with max_age 3600: warn mta_sts_max_age_short");
    json_decref(s);

    bc_health_https sys = { NULL, true, 5000 };
    s = bc_health_mta_sts_with(r, "example.test", good_mx, 2, &sys, connect_to);
    CHECK(has(s, "mta_sts_policy_fetch", "fail") &&
              strstr(finding_message(s, "mta_sts_policy_fetch"), "certificate"),
          "certificate from an unknown CA: fail mta_sts_policy_fetch: %s",
          finding_message(s, "mta_sts_policy_fetch"));
    json_decref(s);

    bc_health_https guarded = { ca, false, 5000 };
    s = bc_health_mta_sts_with(r, "example.test", good_mx, 2, &guarded, connect_to);
    CHECK(has(s, "mta_sts_policy_fetch", "fail") && strstr(finding_message(s, "mta_sts_policy_fetch"), "loopback"),
          "127.0.0.1 refused without allow_private: %s", finding_message(s, "mta_sts_policy_fetch"));
    json_decref(s);

    /* The fetch itself. */
    bc_sts_fetch f;
    bc_mta_sts_fetch_policy("https://mta-sts.example.test/.well-known/mta-sts.txt", &h, connect_to, &f);
    CHECK(f.ok && f.http_code == 200 && strncmp(f.content_type, "text/plain", 10) == 0 &&
              strstr(f.body, "version: STSv1") && f.len == strlen(f.body),
          "fetch: 200 text/plain with the policy body (%s)", f.error);
    bc_sts_fetch_clear(&f);
    bc_mta_sts_fetch_policy("https://mta-sts.example.test/chunked-large", &h, connect_to, &f);
    CHECK(!f.ok && f.too_large && f.len <= BC_STS_POLICY_MAX,
          "fetch without Content-Length stopped at 64 KiB (read %zu bytes)", f.len);
    bc_sts_fetch_clear(&f);
    bc_mta_sts_fetch_policy("https://mta-sts.example.test/missing", &h, connect_to, &f);
    CHECK(!f.ok && f.http_code == 404 && strstr(f.error, "404"), "fetch: 404 is a failure (%s)", f.error);
    bc_sts_fetch_clear(&f);
    bc_mta_sts_fetch_policy("http://mta-sts.example.test/.well-known/mta-sts.txt", &h, connect_to, &f);
    CHECK(!f.ok && f.http_code == 0, "fetch: plain http:// refused (%s)", f.error);
    bc_sts_fetch_clear(&f);
    bc_health_https quick = { ca, true, 500 };
    bc_mta_sts_fetch_policy("https://mta-sts.example.test/slow", &quick, connect_to, &f);
    CHECK(!f.ok && f.error[0], "fetch: a server slower than timeout_ms fails (%s)", f.error);
    bc_sts_fetch_clear(&f);

    bc_resolver_free(r);
    return tap_done();
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "https") == 0)
        return https_tests(argv[2], argv[3]);
    test_version();
    test_sts_record();
    test_policy();
    test_mx_match();
    test_tlsrpt_parse();
    test_bimi_parse();
    test_mta_sts_section();
    test_tls_rpt_section();
    test_bimi_section();
    return tap_done();
}

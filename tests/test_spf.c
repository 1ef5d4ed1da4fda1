/*
 * test_spf.c - the SPF parser (errors name the term), macro expansion (the
 * examples of RFC 7208 section 7.4), check_host() over an in-memory zone,
 * and the health walk's findings (11 lookups, two records, +all, an
 * include loop, void lookups, ptr, no all, DNS errors).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dns/resolver.h"
#include "health/health.h"
#include "health/spf.h"
#include "tap.h"

static void test_parser(void)
{
    static const struct {
        const char *record;
        const char *want; /* NULL: valid; else a substring of the error */
    } cases[] = {
        { "v=spf1 -all", NULL },
        { "V=SPF1 MX/24 Ip4:192.0.2.0/24 ~ALL", NULL },
        { "v=spf1 a/24//64 mx:example.com/30 ip6:::1/128 -all", NULL },
        { "v=spf1 include:_spf.example.com exists:%{ir}.%{l1r-}.lp._spf.%{d2} -all", NULL },
        { "v=spf1 redirect=_spf.example.com", NULL },
        { "v=spf1 a:foo.example.com. unknown-mod=%{d} -all", NULL },
        { "v=spf1  a   -all  ", NULL },
        { "v=spf1 foo -all", "term 'foo': unknown mechanism" },
        { "v=spf1 ip4:192.0.2.1/33 -all", "term 'ip4:192.0.2.1/33': bad CIDR" },
        { "v=spf1 ip4:192.0.2.1/032", "bad CIDR" },
        { "v=spf1 ip6:2001:db8::/129", "bad CIDR" },
        { "v=spf1 ip4:300.1.2.3", "bad IPv4" },
        { "v=spf1 a:museum -all", "term 'a:museum': bad domain" },
        { "v=spf1 a:example.123 -all", "invalid top-level label" },
        { "v=spf1 include -all", "term 'include': 'include' needs ':domain'" },
        { "v=spf1 include: -all", "empty domain-spec" },
        { "v=spf1 exists:%{x}.example.com", "unknown macro letter" },
        { "v=spf1 exists:%{d0}.example.com", "must not be zero" },
        { "v=spf1 exists:%{c}.example.com", "only allowed in explanations" },
        { "v=spf1 a:100%.example.com", "'%' must be followed" },
        { "v=spf1 redirect=a.example.com redirect=b.example.com", "may appear only once" },
        { "v=spf1 exp=a.example.com exp=b.example.com -all", "may appear only once" },
        { "v=spf1 -redirect=a.example.com", "unknown mechanism" },
        { "v=spf1 all:foo", "'all' takes no argument" },
        { "v=spf1 a:ctrl.example.com\rptr -all", "control byte 0x0d" },
        { "v=spf1 \x80"
          "a -all",
          "non-ASCII byte 0x80" },
        { "v=spf1a -all", "not an SPF record" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_spf_record *rec = NULL;
        char err[256] = "";
        int rc = bc_spf_parse(cases[i].record, strlen(cases[i].record), &rec, err, sizeof err);
        if (!cases[i].want)
            CHECK(rc == 0 && rec, "parse valid '%s' (%s)", cases[i].record, err);
        else
            CHECK(rc < 0 && !rec && strstr(err, cases[i].want), "parse '%s' fails with '%s' (got '%s')",
                  cases[i].record, cases[i].want, err);
        bc_spf_record_free(rec);
    }
    bc_spf_record *rec = NULL;
    char err[256];
    const char *r = "v=spf1 ?a:example.com/24//64 mx//48 -ip6:2001:db8::/32 redirect=x.example.com";
    CHECK(bc_spf_parse(r, strlen(r), &rec, err, sizeof err) == 0 && rec->n == 4, "terms counted");
    if (rec && rec->n == 4) {
        CHECK(rec->terms[0].kind == BC_SPF_A && rec->terms[0].qualifier == '?' &&
                  strcmp(rec->terms[0].spec, "example.com") == 0 && rec->terms[0].cidr4 == 24 &&
                  rec->terms[0].cidr6 == 64,
              "a with domain and dual CIDR");
        CHECK(rec->terms[1].kind == BC_SPF_MX && rec->terms[1].spec == NULL && rec->terms[1].cidr4 == 32 &&
                  rec->terms[1].cidr6 == 48,
              "mx with IPv6 CIDR only");
        CHECK(rec->terms[2].kind == BC_SPF_IP6 && rec->terms[2].qualifier == '-' && rec->terms[2].cidr6 == 32,
              "ip6 with qualifier and CIDR");
        CHECK(rec->redirect == &rec->terms[3] && strcmp(rec->redirect->spec, "x.example.com") == 0,
              "redirect modifier");
    }
    bc_spf_record_free(rec);
}

static void set_ip(struct sockaddr_storage *ss, const char *ip)
{
    if (!bc_spf_parse_ip(ip, ss))
        abort();
}

/* RFC 7208 section 7.4. */
static void test_macros(void)
{
    bc_spf_macros m;
    memset(&m, 0, sizeof m);
    m.local = "strong-bad";
    m.sender_domain = "email.example.com";
    m.domain = "email.example.com";
    m.helo = "mx.example.org";
    m.now = 1234567890;
    set_ip(&m.ip, "192.0.2.3");
    static const struct {
        const char *in, *want;
    } v4[] = {
        { "%{s}", "strong-bad@email.example.com" },
        { "%{o}", "email.example.com" },
        { "%{d}", "email.example.com" },
        { "%{d4}", "email.example.com" },
        { "%{d3}", "email.example.com" },
        { "%{d2}", "example.com" },
        { "%{d1}", "com" },
        { "%{dr}", "com.example.email" },
        { "%{d2r}", "example.email" },
        { "%{l}", "strong-bad" },
        { "%{l-}", "strong.bad" },
        { "%{lr}", "strong-bad" },
        { "%{lr-}", "bad.strong" },
        { "%{l1r-}", "strong" },
        { "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
        { "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
        { "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
        { "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com" },
        { "%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net" },
        { "%{p}", "unknown" },
        { "%%%_%-", "% %20" },
        { "%{S}", "strong-bad%40email.example.com" },
        { "%{h}", "mx.example.org" },
    };
    char out[512], err[256];
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
        int rc = bc_spf_expand(v4[i].in, strlen(v4[i].in), &m, false, out, sizeof out, err, sizeof err);
        CHECK(rc == 0 && strcmp(out, v4[i].want) == 0, "expand %s -> %s (got '%s')", v4[i].in, v4[i].want,
              rc == 0 ? out : err);
    }
    const char *e = "%{c} %{t} %{r}";
    CHECK(bc_spf_expand(e, strlen(e), &m, true, out, sizeof out, err, sizeof err) == 0 &&
              strcmp(out, "192.0.2.3 1234567890 unknown") == 0,
          "explanation macros c t r (got '%s')", out);
    CHECK(bc_spf_expand("%{c}", 4, &m, false, out, sizeof out, err, sizeof err) < 0,
          "c is refused outside explanations");
    set_ip(&m.ip, "2001:db8::cb01");
    const char *v6 = "%{ir}.%{v}._spf.%{d2}";
    CHECK(bc_spf_expand(v6, strlen(v6), &m, false, out, sizeof out, err, sizeof err) == 0 &&
              strcmp(out,
                     "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com") == 0,
          "IPv6 %%{ir}.%%{v} (got '%s')", out);
    CHECK(bc_spf_expand("%{c}", 4, &m, true, out, sizeof out, err, sizeof err) == 0 &&
              strcmp(out, "2001:db8::cb01") == 0,
          "IPv6 %%{c} (got '%s')", out);
    CHECK(bc_spf_expand("%{d}", 4, &m, false, out, 5, err, sizeof err) < 0, "too long for the buffer");
}

static bc_resolver *zone(const char *json)
{
    char err[256];
    bc_resolver *r = bc_resolver_new_mem(json, strlen(json), err, sizeof err);
    if (!r)
        tap_diag("zone: %s", err);
    return r;
}

static const char *check_host(bc_resolver *r, const char *ip, const char *sender, bc_spf_outcome *o)
{
    struct sockaddr_storage ss;
    set_ip(&ss, ip);
    bc_spf_check_host(r, &ss, sender, "mail.example.org", NULL, o);
    return bc_spf_result_name(o->result);
}

/* Runs check_host once into *o and checks its result. */
static void host_is(bc_resolver *r, const char *ip, const char *sender, bc_spf_outcome *o, const char *want,
                    const char *what)
{
    const char *got = check_host(r, ip, sender, o);
    CHECK_STR(got, want, what);
}

static void test_check_host(void)
{
    bc_resolver *r = zone("{"
                          "\"example.com\": [{\"TXT\": \"v=spf1 ip4:192.0.2.0/24 include:inc.example.com -all "
                          "exp=why.example.com\"}, {\"TXT\": \"google-site-verification=x\"}],"
                          "\"inc.example.com\": [{\"TXT\": \"v=spf1 a:h.example.com ~all\"}],"
                          "\"h.example.com\": [{\"A\": \"198.51.100.7\"}],"
                          "\"why.example.com\": [{\"TXT\": \"%{i} may not send for %{d}\"}],"
                          "\"soft.example.com\": [{\"TXT\": \"v=spf1 ~all\"}],"
                          "\"tmp.example.com\": [\"TIMEOUT\"]"
                          "}");
    bc_spf_outcome o;
    host_is(r, "192.0.2.9", "a@example.com", &o, "pass", "ip4 range");
    CHECK(json_array_size(o.trace) >= 1 && json_is_true(json_object_get(json_array_get(o.trace, 0), "decided")),
          "trace marks the deciding term");
    bc_spf_outcome_clear(&o);
    host_is(r, "::ffff:192.0.2.9", "a@example.com", &o, "pass", "IPv4-mapped IPv6 as IPv4");
    bc_spf_outcome_clear(&o);
    host_is(r, "198.51.100.7", "a@EXAMPLE.com", &o, "pass", "include pass, case-insensitive");
    CHECK(o.lookups == 2, "two DNS-querying terms (got %d)", o.lookups);
    bc_spf_outcome_clear(&o);
    host_is(r, "203.0.113.1", "a@example.com", &o, "fail", "fail");
    CHECK(o.explanation && strcmp(o.explanation, "203.0.113.1 may not send for example.com") == 0,
          "exp= explanation expanded (got '%s')", o.explanation ? o.explanation : "(null)");
    bc_spf_outcome_clear(&o);
    host_is(r, "203.0.113.1", "a@soft.example.com", &o, "softfail", "softfail");
    CHECK(o.explanation == NULL, "no explanation unless fail");
    bc_spf_outcome_clear(&o);
    host_is(r, "203.0.113.1", "a@tmp.example.com", &o, "temperror", "DNS timeout");
    bc_spf_outcome_clear(&o);
    host_is(r, "203.0.113.1", "a@nowhere.example.com", &o, "none", "no record");
    bc_spf_outcome_clear(&o);
    host_is(r, "203.0.113.1", "a@localhost", &o, "none", "not a FQDN");
    bc_spf_outcome_clear(&o);
    bc_resolver_free(r);
}

/* Whether section's findings hold code (and, when given, a message with
 * `needle`). */
static bool has_finding(const json_t *sec, const char *code, const char *needle)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(sec, "findings"), i, f) {
        const char *c = json_string_value(json_object_get(f, "code"));
        const char *msg = json_string_value(json_object_get(f, "message"));
        if (c && strcmp(c, code) == 0 && (!needle || (msg && strstr(msg, needle))))
            return true;
    }
    return false;
}

static const char *status(const json_t *sec)
{
    const char *s = json_string_value(json_object_get(sec, "status"));
    return s ? s : "(none)";
}

static void test_health(void)
{
    bc_resolver *r = zone(
        "{"
        "\"good.example\": [{\"TXT\": \"v=spf1 mx include:inc.good.example -all\"}, {\"MX\": [10, "
        "\"mx.good.example\"]}],"
        "\"inc.good.example\": [{\"TXT\": \"v=spf1 ip4:192.0.2.0/24 -all\"}],"
        "\"many.example\": [{\"TXT\": \"v=spf1 include:i1.many.example include:i2.many.example -all\"}],"
        "\"i1.many.example\": [{\"TXT\": \"v=spf1 a mx exists:x.many.example a:h1.many.example a:h2.many.example "
        "-all\"},"
        "  {\"A\": \"192.0.2.1\"}, {\"MX\": [10, \"h1.many.example\"]}],"
        "\"i2.many.example\": [{\"TXT\": \"v=spf1 a:h3.many.example a:h4.many.example a:h5.many.example "
        "a:h6.many.example -all\"}],"
        "\"x.many.example\": [{\"TXT\": \"not an address\"}],"
        "\"h1.many.example\": [{\"A\": \"192.0.2.1\"}], \"h2.many.example\": [{\"A\": \"192.0.2.2\"}],"
        "\"h3.many.example\": [{\"A\": \"192.0.2.3\"}], \"h4.many.example\": [{\"A\": \"192.0.2.4\"}],"
        "\"h5.many.example\": [{\"A\": \"192.0.2.5\"}], \"h6.many.example\": [{\"A\": \"192.0.2.6\"}],"
        "\"two.example\": [{\"TXT\": \"v=spf1 -all\"}, {\"TXT\": \"v=spf1 mx -all\"}],"
        "\"open.example\": [{\"TXT\": \"v=spf1 +all\"}],"
        "\"neutral.example\": [{\"TXT\": \"v=spf1 ip4:192.0.2.1 ?all\"}],"
        "\"loop.example\": [{\"TXT\": \"v=spf1 include:loop2.example -all\"}],"
        "\"loop2.example\": [{\"TXT\": \"v=spf1 include:loop.example -all\"}],"
        "\"void.example\": [{\"TXT\": \"v=spf1 a:n1.void.example mx:n2.void.example a:n3.void.example -all\"}],"
        "\"ptr.example\": [{\"TXT\": \"v=spf1 ptr -all\"}],"
        "\"noall.example\": [{\"TXT\": \"v=spf1 ip4:192.0.2.1\"}],"
        "\"redirall.example\": [{\"TXT\": \"v=spf1 -all redirect=good.example\"}],"
        "\"syntax.example\": [{\"TXT\": \"v=spf1 ip4:192.0.2.300 -all\"}],"
        "\"oldtype.example\": [{\"TXT\": \"v=spf1 -all\"}, {\"SPF\": \"v=spf1 -all\"}],"
        "\"missing.example\": [{\"TXT\": \"v=spf1 include:gone.example -all\"}],"
        "\"none.example\": [{\"TXT\": \"hello\"}],"
        "\"slow.example\": [\"TIMEOUT\"]"
        "}");
    json_t *s = bc_health_spf(r, "good.example");
    CHECK(strcmp(status(s), "pass") == 0 && json_array_size(json_object_get(s, "findings")) == 0,
          "healthy domain passes (status %s)", status(s));
    CHECK(json_integer_value(json_object_get(s, "lookups")) == 2, "healthy: 2 lookups");
    CHECK(strcmp(json_string_value(json_object_get(s, "all")), "-all") == 0, "all field");
    CHECK(json_array_size(json_object_get(s, "terms")) == 3, "terms field");
    json_decref(s);

    s = bc_health_spf(r, "many.example");
    CHECK(has_finding(s, "spf_too_many_lookups", "'a:h6.many.example' in i2.many.example"),
          "11 lookups: names the 11th term");
    CHECK(has_finding(s, "spf_too_many_lookups", "many.example -> i2.many.example"),
          "11 lookups: names the chain");
    CHECK(json_integer_value(json_object_get(s, "lookups")) == 11 && strcmp(status(s), "fail") == 0,
          "11 lookups counted, status fail");
    json_decref(s);
    bc_spf_outcome o;
    host_is(r, "192.0.2.6", "a@many.example", &o, "permerror", "check_host: 11 lookups permerror");
    bc_spf_outcome_clear(&o);

    s = bc_health_spf(r, "two.example");
    CHECK(has_finding(s, "spf_multiple_records", NULL) && strcmp(status(s), "fail") == 0, "two records");
    CHECK(json_array_size(json_object_get(s, "records")) == 2, "both records listed");
    json_decref(s);
    s = bc_health_spf(r, "open.example");
    CHECK(has_finding(s, "spf_all_pass", NULL) && strcmp(status(s), "fail") == 0, "+all fails");
    json_decref(s);
    s = bc_health_spf(r, "neutral.example");
    CHECK(has_finding(s, "spf_all_neutral", NULL) && strcmp(status(s), "warn") == 0, "?all warns");
    json_decref(s);
    s = bc_health_spf(r, "loop.example");
    CHECK(has_finding(s, "spf_include_loop", "loop.example -> loop2.example"), "include loop");
    json_decref(s);
    s = bc_health_spf(r, "void.example");
    CHECK(has_finding(s, "spf_too_many_void_lookups", "'a:n3.void.example'"), "third void lookup named");
    CHECK(json_integer_value(json_object_get(s, "void_lookups")) == 3, "void lookups counted");
    json_decref(s);
    s = bc_health_spf(r, "ptr.example");
    CHECK(has_finding(s, "spf_ptr_deprecated", NULL), "ptr deprecated");
    json_decref(s);
    s = bc_health_spf(r, "noall.example");
    CHECK(has_finding(s, "spf_no_all", NULL), "no all and no redirect");
    json_decref(s);
    s = bc_health_spf(r, "redirall.example");
    CHECK(has_finding(s, "spf_redirect_with_all", NULL) && !has_finding(s, "spf_no_all", NULL),
          "redirect with all");
    json_decref(s);
    s = bc_health_spf(r, "syntax.example");
    CHECK(has_finding(s, "spf_syntax_error", "ip4:192.0.2.300"), "syntax error names the term");
    json_decref(s);
    s = bc_health_spf(r, "oldtype.example");
    CHECK(has_finding(s, "spf_type_spf_deprecated", NULL), "type SPF records flagged");
    json_decref(s);
    s = bc_health_spf(r, "missing.example");
    CHECK(has_finding(s, "spf_include_no_record", "gone.example"), "include without a record");
    json_decref(s);
    s = bc_health_spf(r, "none.example");
    CHECK(has_finding(s, "spf_no_record", NULL) && strcmp(status(s), "none") == 0, "no record: status none");
    json_decref(s);
    s = bc_health_spf(r, "slow.example");
    CHECK(has_finding(s, "spf_dns_error", NULL) && !has_finding(s, "spf_no_record", NULL) &&
              strcmp(status(s), "warn") == 0,
          "DNS timeout is a warning, never 'absent'");
    json_decref(s);
    s = bc_health_spf(r, "long.example");
    CHECK(has_finding(s, "spf_no_record", NULL), "NXDOMAIN: no record");
    json_decref(s);
    bc_resolver_free(r);

    /* sizes */
    char big[1200];
    int n = snprintf(big, sizeof big, "{\"long.example\": [{\"TXT\": [\"v=spf1 ");
    for (int i = 0; i < 30; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "ip4:192.0.2.%d ", i);
    n += snprintf(big + n, sizeof big - (size_t)n, "\", \"");
    for (int i = 0; i < 30; i++)
        n += snprintf(big + n, sizeof big - (size_t)n, "ip4:198.51.100.%d ", i);
    snprintf(big + n, sizeof big - (size_t)n, "-all\"]}]}");
    r = zone(big);
    s = bc_health_spf(r, "long.example");
    CHECK(has_finding(s, "spf_record_too_long", NULL), "record over 450 bytes");
    CHECK(has_finding(s, "spf_string_too_long", NULL), "string over 255 bytes");
    json_decref(s);
    bc_resolver_free(r);
}

int main(void)
{
    test_parser();
    test_macros();
    test_check_host();
    test_health();
    return tap_done();
}

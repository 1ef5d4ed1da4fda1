/*
 * test_resolver.c - the c-ares back end of resolver.h (src/lib/dns/resolver.c)
 * against a real authoritative server. Run by test_resolver.sh, which
 * starts NSD with the zones these cases expect and passes BC_TEST_DNS
 * ("127.0.0.1:PORT") and BC_TEST_DEAD_DNS (a port where nothing listens).
 *
 * NSD is authoritative and does not validate, so only "a plain answer has
 * ad=false" can be checked here, not a validated (AD) answer.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/resolver.h"
#include "tap.h"

/* The address of record i as text. */
static const char *addr_str(const bc_rrset *s, size_t i, char *buf, size_t len)
{
    const struct sockaddr_storage *ss = &s->rr[i].addr;
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
    else
        snprintf(buf, len, "?");
    return buf;
}

/* Asks and logs the outcome (as a TAP comment) before checks look at it. */
static void ask(bc_resolver *r, const char *name, int type, bc_rrset *out)
{
    bc_resolver_query(r, name, type, out);
    tap_diag("%s type %d: %s, %zu record(s)%s%s", name, type, bc_dns_rc_name(out->rc), out->n,
             out->error[0] ? ", error: " : "", out->error);
}

static void test_addresses(bc_resolver *r)
{
    char buf[64];
    bc_rrset s = { 0 };
    ask(r, "host.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 2, "A host: OK with 2 records");
    if (s.n == 2) {
        CHECK_STR(addr_str(&s, 0, buf, sizeof buf), "192.0.2.1", "A host: first address");
        CHECK_STR(addr_str(&s, 1, buf, sizeof buf), "192.0.2.2", "A host: second address");
        CHECK(s.rr[0].type == BC_RR_A && s.rr[0].ttl == 300, "A host: type A, TTL 300 (%u)", s.rr[0].ttl);
    }
    CHECK(!s.ad, "A host: a plain (non-validated) answer has ad=false");
    CHECK(!s.truncated && s.error[0] == '\0', "A host: not truncated, no error");
    bc_rrset_clear(&s);
    CHECK(s.n == 0 && s.rr == NULL, "bc_rrset_clear empties the set");

    ask(r, "HOST.Rv.Test.", BC_RR_AAAA, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1, "AAAA HOST.Rv.Test. (case, trailing dot): OK");
    if (s.n == 1) {
        CHECK(s.rr[0].type == BC_RR_AAAA, "AAAA: type AAAA");
        CHECK_STR(addr_str(&s, 0, buf, sizeof buf), "2001:db8::1", "AAAA: address");
    }
    bc_rrset_clear(&s);

    ask(r, "short.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1 && s.rr[0].ttl == 42, "A short: the record's own TTL 42");
    bc_rrset_clear(&s);

    ask(r, "many.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == BC_RRSET_MAX && s.truncated, "A many (70 records): %d kept, truncated",
          BC_RRSET_MAX);
    bc_rrset_clear(&s);
}

static void test_mx(bc_resolver *r)
{
    bc_rrset s = { 0 };
    ask(r, "mail.rv.test", BC_RR_MX, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 2, "MX mail: 2 records");
    if (s.n == 2) {
        /* Answer order is the server's; find each by preference. */
        const bc_rr *p10 = s.rr[0].preference == 10 ? &s.rr[0] : &s.rr[1];
        const bc_rr *p20 = p10 == &s.rr[0] ? &s.rr[1] : &s.rr[0];
        CHECK(p10->preference == 10 && p20->preference == 20, "MX mail: preferences 10 and 20");
        CHECK_STR(p10->name, "mx1.rv.test", "MX 10: target without trailing dot");
        CHECK_STR(p20->name, "mx2.rv.test", "MX 20: target lower-cased");
        CHECK(p10->type == BC_RR_MX, "MX: type MX");
    }
    bc_rrset_clear(&s);

    ask(r, "nullmx.rv.test", BC_RR_MX, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1, "null MX: one record");
    if (s.n == 1)
        CHECK(s.rr[0].preference == 0 && s.rr[0].name[0] == '\0',
              "null MX: preference 0, target \"\" (got %d '%s')", s.rr[0].preference, s.rr[0].name);
    bc_rrset_clear(&s);

    ask(r, "cmail.rv.test", BC_RR_MX, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 2, "MX through a CNAME: 2 records");
    bc_rrset_clear(&s);
}

/* The TXT record at rr whose text starts with prefix, or NULL. */
static const bc_rr *find_text(const bc_rrset *s, const char *prefix)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->rr[i].text && strncmp(s->rr[i].text, prefix, strlen(prefix)) == 0)
            return &s->rr[i];
    return NULL;
}

static void test_txt(bc_resolver *r)
{
    bc_rrset s = { 0 };
    ask(r, "txt.rv.test", BC_RR_TXT, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 2, "TXT txt: 2 records");
    const bc_rr *spf = find_text(&s, "v=spf1");
    const bc_rr *two = find_text(&s, "second");
    CHECK(spf != NULL, "TXT txt: the SPF record is there");
    if (spf) {
        CHECK_STR(spf->text, "v=spf1 ip4:192.0.2.0/24 -all", "TXT: strings joined");
        CHECK(spf->text_len == strlen("v=spf1 ip4:192.0.2.0/24 -all"), "TXT: text_len %zu", spf->text_len);
        CHECK(spf->nstrings == 3, "TXT: 3 strings (%d)", spf->nstrings);
        CHECK(spf->longest_string == strlen("ip4:192.0.2.0/24 "), "TXT: longest string %zu", spf->longest_string);
        CHECK(spf->type == BC_RR_TXT && spf->ttl == 300, "TXT: type and TTL");
    }
    CHECK(two && two->nstrings == 1 && strcmp(two->text, "second record") == 0,
          "TXT: the second record kept apart");
    bc_rrset_clear(&s);

    ask(r, "long.rv.test", BC_RR_TXT, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1, "TXT long: one record");
    if (s.n == 1) {
        const bc_rr *t = &s.rr[0];
        CHECK(t->text_len == 300 && t->nstrings == 2 && t->longest_string == 255,
              "TXT long: 300 octets in 2 strings, longest 255 (%zu, %d, %zu)", t->text_len, t->nstrings,
              t->longest_string);
        CHECK(t->text && strlen(t->text) == 300 && t->text[0] == 'a' && t->text[254] == 'a' &&
                  t->text[255] == 'b' && t->text[299] == 'b',
              "TXT long: the strings in order, NUL-terminated");
    }
    bc_rrset_clear(&s);

    ask(r, "emptytxt.rv.test", BC_RR_TXT, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1 && s.rr[0].text && s.rr[0].text_len == 0 && s.rr[0].nstrings == 1,
          "TXT \"\": one record, one empty string");
    bc_rrset_clear(&s);

    ask(r, "ctxt.rv.test", BC_RR_TXT, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 2 && find_text(&s, "v=spf1 ip4"), "TXT through a CNAME");
    bc_rrset_clear(&s);

    ask(r, "spf99.rv.test", BC_RR_SPF, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1 && s.rr[0].type == BC_RR_SPF && strcmp(s.rr[0].text, "v=spf1 ~all") == 0,
          "type SPF (99): only the SPF record");
    bc_rrset_clear(&s);
    ask(r, "spf99.rv.test", BC_RR_TXT, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1 && strcmp(s.rr[0].text, "v=spf1 -all") == 0,
          "type TXT beside SPF: only the TXT record");
    bc_rrset_clear(&s);
}

static void test_ptr(bc_resolver *r)
{
    bc_rrset s = { 0 };
    ask(r, "1.2.0.192.in-addr.arpa", BC_RR_PTR, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1, "PTR 192.0.2.1: one name");
    if (s.n == 1) {
        CHECK_STR(s.rr[0].name, "host.rv.test", "PTR 192.0.2.1");
        CHECK(s.rr[0].type == BC_RR_PTR, "PTR: type PTR");
    }
    bc_rrset_clear(&s);
    ask(r, "2.2.0.192.in-addr.arpa.", BC_RR_PTR, &s);
    bool host = false, alias = false;
    for (size_t i = 0; i < s.n; i++) {
        host = host || strcmp(s.rr[i].name, "host.rv.test") == 0;
        alias = alias || strcmp(s.rr[i].name, "alias.rv.test") == 0;
    }
    CHECK(s.rc == BC_DNS_OK && s.n == 2 && host && alias, "PTR 192.0.2.2: two names");
    bc_rrset_clear(&s);
    ask(r, "3.2.0.192.in-addr.arpa", BC_RR_PTR, &s);
    CHECK(s.rc == BC_DNS_NXDOMAIN, "PTR 192.0.2.3: NXDOMAIN");
    bc_rrset_clear(&s);
}

static void test_cname(bc_resolver *r)
{
    char buf[64];
    bc_rrset s = { 0 };
    ask(r, "c1.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 2, "A c1 -> c2 -> host: the host's 2 addresses");
    if (s.n == 2)
        CHECK_STR(addr_str(&s, 0, buf, sizeof buf), "192.0.2.1", "chain: address");
    bool only_a = true;
    for (size_t i = 0; i < s.n; i++)
        only_a = only_a && s.rr[i].type == BC_RR_A;
    CHECK(only_a, "chain: CNAMEs not among the records");
    bc_rrset_clear(&s);

    ask(r, "c1.rv.test", BC_RR_CNAME, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1 && strcmp(s.rr[0].name, "c2.rv.test") == 0,
          "type CNAME: the first link only, not followed");
    bc_rrset_clear(&s);

    ask(r, "cnodata.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_NODATA && s.n == 0, "CNAME to a name without A: NODATA");
    bc_rrset_clear(&s);

    ask(r, "dangling.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_NXDOMAIN, "CNAME to a missing name: NXDOMAIN");
    bc_rrset_clear(&s);

    unsigned long q = bc_resolver_queries(r);
    ask(r, "away.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1, "CNAME into another zone: followed");
    if (s.n == 1)
        CHECK_STR(addr_str(&s, 0, buf, sizeof buf), "192.0.2.99", "other zone: address");
    tap_diag("away.rv.test took %lu question(s)", bc_resolver_queries(r) - q);
    CHECK(bc_resolver_queries(r) - q >= 1 && bc_resolver_queries(r) - q <= 2,
          "other zone: every question counted (%lu)", bc_resolver_queries(r) - q);
    bc_rrset_clear(&s);

    /* NSD answers the CNAME alone (no SOA): the end of the chain is asked
     * in a second question, which NSD refuses (not its zone). */
    q = bc_resolver_queries(r);
    ask(r, "outside.rv.test", BC_RR_A, &s);
    CHECK(bc_resolver_queries(r) - q == 2, "chain out of the answer: its end asked (%lu questions)",
          bc_resolver_queries(r) - q);
    CHECK(s.rc == BC_DNS_TEMPFAIL && strstr(s.error, "host.elsewhere.invalid") && strstr(s.error, "REFUSED"),
          "chain out of the answer: the second answer counts ('%s')", s.error);
    bc_rrset_clear(&s);

    ask(r, "loop1.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_TEMPFAIL && strstr(s.error, "CNAME") != NULL, "CNAME loop: TEMPFAIL, not endless ('%s')",
          s.error);
    bc_rrset_clear(&s);
}

/* The AD bit: the stand-in answers with AD only when the query asked for
 * it (AD set, EDNS0). */
static void test_ad(const char *ad_addr)
{
    char err[256] = "";
    bc_dns_options o = { .servers = ad_addr, .timeout_ms = 1000, .tries = 2 };
    bc_resolver *r = bc_resolver_new_cares(&o, err, sizeof err);
    CHECK(r != NULL, "AD stand-in resolver: %s", err);
    if (!r)
        return;
    bc_rrset s = { 0 };
    ask(r, "ad.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_OK && s.n == 1, "AD stand-in: the query had AD and EDNS0");
    CHECK(s.ad, "AD stand-in: ad=true from an answer with the AD bit");
    bc_rrset_clear(&s);
    bc_resolver_free(r);
}

static void test_negative(bc_resolver *r)
{
    bc_rrset s = { 0 };
    ask(r, "nodata.rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_NODATA && s.n == 0 && s.error[0] == '\0', "A nodata: NODATA");
    CHECK(!s.ad, "NODATA: ad=false");
    bc_rrset_clear(&s);
    ask(r, "nodata.rv.test", BC_RR_MX, &s);
    CHECK(s.rc == BC_DNS_NODATA, "MX nodata: NODATA");
    bc_rrset_clear(&s);
    ask(r, "nope.rv.test", BC_RR_TXT, &s);
    CHECK(s.rc == BC_DNS_NXDOMAIN && s.n == 0 && s.error[0] == '\0', "TXT nope: NXDOMAIN");
    bc_rrset_clear(&s);

    /* A zone NSD does not serve: it answers REFUSED. */
    ask(r, "example.invalid", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_TEMPFAIL && strstr(s.error, "REFUSED") != NULL,
          "REFUSED: TEMPFAIL naming the rcode ('%s')", s.error);
    bc_rrset_clear(&s);
}

/* Names that cannot exist are NXDOMAIN without a question: checked on a
 * resolver whose server is dead, where any question would be TEMPFAIL. */
static void test_bad_names(bc_resolver *dead)
{
    char name[300];
    bc_rrset s = { 0 };
    memset(name, 'a', 63);
    memcpy(name + 63, ".rv.test", sizeof ".rv.test");
    ask(dead, name, BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_TEMPFAIL, "63-octet label: asked (TEMPFAIL from the dead server)");
    bc_rrset_clear(&s);
    memset(name, 'a', 64);
    memcpy(name + 64, ".rv.test", sizeof ".rv.test");
    ask(dead, name, BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_NXDOMAIN, "64-octet label: NXDOMAIN without asking");
    bc_rrset_clear(&s);
    /* 4 labels of 62 octets with their dots (252), then "a" (253) or
     * "ab" (254); a trailing dot does not count. */
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
        memset(name + at, 'x', 62);
        at += 62;
        name[at++] = '.';
    }
    memcpy(name + at, "a.", 3);
    CHECK(strlen(name) == 254, "253-octet name plus a trailing dot");
    ask(dead, name, BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_TEMPFAIL, "253-octet name: asked (TEMPFAIL from the dead server)");
    bc_rrset_clear(&s);
    memcpy(name + at, "ab", 3);
    CHECK(strlen(name) == 254, "254-octet name");
    ask(dead, name, BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_NXDOMAIN, "254-octet name: NXDOMAIN without asking");
    bc_rrset_clear(&s);
    ask(dead, "a..rv.test", BC_RR_A, &s);
    CHECK(s.rc == BC_DNS_NXDOMAIN, "empty label: NXDOMAIN without asking");
    bc_rrset_clear(&s);
}

/* Nothing listens: TEMPFAIL with an error, within the configured time. */
static void test_dead(bc_resolver *dead, const char *dead_addr)
{
    bc_rrset s = { 0 };
    time_t t0 = time(NULL);
    ask(dead, "host.rv.test", BC_RR_A, &s);
    time_t took = time(NULL) - t0;
    CHECK(s.rc == BC_DNS_TEMPFAIL && s.n == 0, "dead server: TEMPFAIL");
    CHECK(s.error[0] != '\0' && strstr(s.error, "host.rv.test") != NULL,
          "dead server: error names the question ('%s')", s.error);
    const char *port = strrchr(dead_addr, ':');
    CHECK(port && strstr(s.error, port) != NULL, "dead server: error names the server");
    CHECK(took <= 5, "dead server: gave up in %ld s", (long)took);
    bc_rrset_clear(&s);
}

int main(void)
{
    const char *servers = getenv("BC_TEST_DNS");
    const char *dead_addr = getenv("BC_TEST_DEAD_DNS");
    if (!servers || !*servers || !dead_addr || !*dead_addr)
        return tap_skip_all("BC_TEST_DNS not set (run through test_resolver.sh)");
    char err[256] = "";
    bc_dns_options o = { .servers = servers, .timeout_ms = 1000, .tries = 2 };
    bc_resolver *r = bc_resolver_new_cares(&o, err, sizeof err);
    CHECK(r != NULL, "bc_resolver_new_cares(%s) %s", servers, err);
    if (!r)
        return tap_done();
    unsigned long q0 = bc_resolver_queries(r);
    bc_rrset s = { 0 };
    bc_resolver_query(r, "host.rv.test", BC_RR_A, &s);
    bc_rrset_clear(&s);
    CHECK(bc_resolver_queries(r) == q0 + 1, "one question counted");

    test_addresses(r);
    test_mx(r);
    test_txt(r);
    test_ptr(r);
    test_cname(r);
    test_negative(r);

    const char *ad_addr = getenv("BC_TEST_AD_DNS");
    if (ad_addr && *ad_addr)
        test_ad(ad_addr);
    else
        printf("ok %d - AD bit # SKIP no dnspython for the AD stand-in (python3-dnspython)\n", ++tap_n);

    bc_dns_options od = { .servers = dead_addr, .timeout_ms = 300, .tries = 2 };
    bc_resolver *dead = bc_resolver_new_cares(&od, err, sizeof err);
    CHECK(dead != NULL, "dead resolver: %s", err);
    if (dead) {
        test_bad_names(dead);
        test_dead(dead, dead_addr);
    }
    bc_resolver_free(dead);

    bc_dns_options bad = { .servers = "not-an-ip" };
    err[0] = '\0';
    CHECK(bc_resolver_new_cares(&bad, err, sizeof err) == NULL && err[0], "bad server list refused: %s", err);
    bc_resolver_free(r);
    bc_resolver_free(NULL);
    bc_rrset_clear(NULL);
    return tap_done();
}

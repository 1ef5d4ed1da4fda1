/*
 * test_doctor_unit.c - the pure pieces under `bouncecheck doctor` and the
 * blocklist section of `bouncecheck dns`: reading a DNSBL answer (listing,
 * refusal or odd), the lists' lookup pages (from the provider rules), the
 * zone list, reverse names, and the HELO name rules of doctor.c.
 */
#include <string.h>

#include "core/ipaddr.h"
#include "dns/dnsbl.h"
#include "dns/revdns.h"
#include "health/doctor.h"
#include "tap.h"

static const char *kind_name(bc_dnsbl_kind k)
{
    return k == BC_DNSBL_LISTED ? "listed" : k == BC_DNSBL_REFUSED ? "refused" : "odd";
}

static void dnsbl_table(void)
{
    static const struct {
        const char *zone;
        int ip_query;
        const char *answer;
        bc_dnsbl_kind kind;
        const char *text;
    } cases[] = {
        { "zen.spamhaus.org", 1, "127.0.0.2", BC_DNSBL_LISTED, "127.0.0.2 SBL (spam source)" },
        { "zen.spamhaus.org", 1, "127.0.0.3", BC_DNSBL_LISTED, "127.0.0.3 SBL CSS (snowshoe spam)" },
        { "zen.spamhaus.org", 1, "127.0.0.4", BC_DNSBL_LISTED, "127.0.0.4 XBL (exploited or infected host)" },
        { "zen.spamhaus.org", 1, "127.0.0.9", BC_DNSBL_LISTED, "127.0.0.9 DROP (hijacked network)" },
        { "zen.spamhaus.org", 1, "127.0.0.11", BC_DNSBL_LISTED,
          "127.0.0.11 PBL (end-user address range: should not send mail directly)" },
        { "ZEN.Spamhaus.org.", 1, "127.0.0.2", BC_DNSBL_LISTED, "127.0.0.2 SBL (spam source)" },
        { "zen.spamhaus.org", 1, "127.255.255.252", BC_DNSBL_REFUSED,
          "127.255.255.252: the list says the zone name is mistyped" },
        { "zen.spamhaus.org", 1, "127.255.255.254", BC_DNSBL_REFUSED,
          "127.255.255.254: the list refuses queries from public or open resolvers" },
        { "zen.spamhaus.org", 1, "127.255.255.255", BC_DNSBL_REFUSED,
          "127.255.255.255: the list refuses: too many queries" },
        { "zen.spamhaus.org", 1, "127.0.0.1", BC_DNSBL_ODD, "127.0.0.1: an answer IP lists do not give" },
        { "zen.spamhaus.org", 1, "127.0.1.2", BC_DNSBL_ODD, "127.0.1.2: an answer IP lists do not give" },
        { "zen.spamhaus.org", 1, "198.51.100.7", BC_DNSBL_ODD,
          "198.51.100.7: an answer outside 127.0.0.0/8 (the resolver rewrites NXDOMAIN?)" },
        { "dbl.spamhaus.org", 0, "127.0.1.2", BC_DNSBL_LISTED, "127.0.1.2 DBL spam domain" },
        { "dbl.spamhaus.org", 0, "127.0.1.104", BC_DNSBL_LISTED, "127.0.1.104 DBL abused legitimate domain" },
        { "multi.uribl.com", 0, "127.0.0.1", BC_DNSBL_REFUSED,
          "127.0.0.1: the list refuses the query (access blocked)" },
        { "multi.surbl.org", 0, "127.0.0.1", BC_DNSBL_REFUSED,
          "127.0.0.1: the list refuses the query (access blocked)" },
        { "multi.uribl.com", 0, "127.0.0.2", BC_DNSBL_LISTED, "127.0.0.2" },
        { "bl.spamcop.net", 1, "127.0.0.2", BC_DNSBL_LISTED, "127.0.0.2" },
        { "notspamhaus.org", 1, "127.0.0.2", BC_DNSBL_LISTED, "127.0.0.2" },
        { "bl.spamcop.net", 1, "2001:db8::1", BC_DNSBL_ODD, "an answer that is not an IPv4 address" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sockaddr_storage ss;
        char text[160];
        bc_addr_parse_ip(cases[i].answer, &ss);
        bc_dnsbl_kind k = bc_dnsbl_read(cases[i].zone, cases[i].ip_query, &ss, text, sizeof text);
        CHECK(k == cases[i].kind && strcmp(text, cases[i].text) == 0, "%s %s for %s: %s '%s' (want %s '%s')",
              cases[i].zone, cases[i].answer, cases[i].ip_query ? "an address" : "a domain", kind_name(k), text,
              kind_name(cases[i].kind), cases[i].text);
    }
    struct sockaddr_storage ss;
    char small[8];
    bc_addr_parse_ip("127.0.0.2", &ss);
    CHECK(bc_dnsbl_read("zen.spamhaus.org", 1, &ss, small, sizeof small) == BC_DNSBL_LISTED &&
              strlen(small) == sizeof small - 1,
          "a small text buffer is cut, the kind stays right");
}

static void dnsbl_urls(void)
{
    const bc_providers *p = bc_providers_builtin();
    const char *name = NULL;
    CHECK(p != NULL, "the built-in provider rules load");
    CHECK_STR(bc_dnsbl_url(p, "zen.spamhaus.org", &name), "https://check.spamhaus.org/", "zen");
    CHECK_STR(name, "Spamhaus", "zen's list name");
    CHECK_STR(bc_dnsbl_url(p, "SBL.Spamhaus.org.", NULL), "https://check.spamhaus.org/", "sbl, any case");
    CHECK_STR(bc_dnsbl_url(p, "bl.spamcop.net", NULL), "https://www.spamcop.net/bl.shtml", "spamcop");
    CHECK_STR(bc_dnsbl_url(p, "b.barracudacentral.org", NULL), "https://www.barracudacentral.org/lookups",
              "barracuda");
    CHECK_STR(bc_dnsbl_url(p, "psbl.surriel.com", &name), "https://psbl.org/", "psbl");
    CHECK_STR(name, "PSBL", "psbl's list name");
    CHECK(bc_dnsbl_url(p, "dnsbl.example.net", NULL) == NULL, "a list the rules do not know has no URL");
    CHECK(bc_dnsbl_url(NULL, "zen.spamhaus.org", NULL) == NULL, "no rules, no URL");
    CHECK(bc_dnsbl_is_spamhaus("zen.spamhaus.org") && !bc_dnsbl_is_spamhaus("bl.spamcop.net"),
          "Spamhaus zones are told apart");

    char zones[4][256];
    size_t n = bc_dnsbl_split(" zen.spamhaus.org, bl.spamcop.net  psbl.surriel.com,,", zones, 4);
    CHECK(n == 3 && strcmp(zones[0], "zen.spamhaus.org") == 0 && strcmp(zones[2], "psbl.surriel.com") == 0,
          "a zone list splits on commas and spaces (%zu zones)", n);
    n = bc_dnsbl_split(BC_DNSBL_IP_ZONES, zones, 2);
    CHECK(n == 2, "at most max zones (%zu)", n);
    CHECK(bc_dnsbl_split(NULL, zones, 4) == 0 && bc_dnsbl_split("", zones, 4) == 0, "no list, no zones");
}

static void reverse_names(void)
{
    struct sockaddr_storage ss;
    char out[128];
    CHECK(bc_addr_parse_ip("11.22.1.4", &ss) && bc_reverse_name(&ss, "zen.spamhaus.org", out, sizeof out),
          "an IPv4 address has a reverse name");
    CHECK_STR(out, "4.1.22.11.zen.spamhaus.org", "the blocklist query name");
    bc_reverse_name(&ss, "in-addr.arpa", out, sizeof out);
    CHECK_STR(out, "4.1.22.11.in-addr.arpa", "the PTR query name");
    CHECK(bc_addr_parse_ip("2001:db8::1", &ss) && bc_reverse_name(&ss, "ip6.arpa", out, sizeof out), "IPv6 too");
    CHECK_STR(out, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
              "32 nibbles, reversed");
    CHECK(!bc_reverse_name(&ss, "ip6.arpa", out, 40), "a buffer too small for IPv6 is refused");
    bc_addr_parse_ip("192.0.2.1", &ss);
    CHECK(!bc_reverse_name(&ss, "in-addr.arpa", out, 10), "a buffer too small for IPv4 is refused");
    CHECK(!bc_addr_parse_ip("11.22.1", &ss) && !bc_addr_parse_ip("[::1]", &ss) && !bc_addr_parse_ip("", &ss),
          "not addresses: a short dotted quad, brackets, nothing");

    struct sockaddr_storage a, b;
    bc_addr_parse_ip("::ffff:192.0.2.1", &a);
    bc_addr_parse_ip("192.0.2.1", &b);
    CHECK(!bc_addr_same(&a, &b), "a mapped IPv6 address is not the IPv4 address (families differ)");
    bc_addr_parse_ip("192.0.2.1", &a);
    CHECK(bc_addr_same(&a, &b), "the same IPv4 address");
    bc_addr_str(&a, out, sizeof out);
    CHECK_STR(out, "192.0.2.1", "printed back");
}

static void helo_rules(void)
{
    static const struct {
        const char *name;
        const char *problem; /* a word of the problem, NULL: fine */
    } cases[] = {
        { "mail.example.com", NULL },
        { "mx1.mail.example.co.uk", NULL },
        { "xn--bcher-kva.example", NULL },
        { "localhost", "single label" },
        { "myhost", "single label" },
        { "localhost.localdomain", "local network" },
        { "printer.local", "local network" },
        { "192.0.2.1", "IP address" },
        { "[192.0.2.1]", "literal" },
        { "host.123", "valid" }, /* the parser already refuses an all-numeric TLD */
        { "bad..name.example", "not a valid" },
        { "under_score.example.com", "not a valid" },
        { "", "empty" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = bc_doctor_helo_problem(cases[i].name);
        CHECK(cases[i].problem ? p && strstr(p, cases[i].problem) : !p, "HELO '%s': %s", cases[i].name,
              p ? p : "fine");
    }
    CHECK(bc_doctor_helo_problem(NULL) != NULL, "no HELO name is a problem");
}

int main(void)
{
    dnsbl_table();
    dnsbl_urls();
    reverse_names();
    helo_rules();
    return tap_done();
}

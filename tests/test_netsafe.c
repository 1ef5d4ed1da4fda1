/*
 * test_netsafe.c - the address ranges the verifier never contacts unless
 * told to, and MX-suffix provider recognition.
 */
#include <arpa/inet.h>
#include <string.h>

#include "core/netsafe.h"
#include "data/provider.h"
#include "tap.h"

static const char *check(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1)
        in->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1)
        in6->sin6_family = AF_INET6;
    else
        return "bad test input";
    return bc_netsafe_check((const struct sockaddr *)&ss);
}

int main(void)
{
    static const struct {
        const char *ip;
        const char *want; /* NULL: may be contacted */
    } cases[] = {
        { "127.0.0.1", "loopback" },
        { "127.255.255.254", "loopback" },
        { "10.1.2.3", "private" },
        { "172.16.0.1", "private" },
        { "172.31.255.255", "private" },
        { "172.32.0.1", NULL },
        { "192.168.1.1", "private" },
        { "100.64.0.1", "shared_cgnat" },
        { "100.127.255.255", "shared_cgnat" },
        { "100.128.0.1", NULL },
        { "169.254.169.254", "link_local" },
        { "0.0.0.0", "this_network" },
        { "192.0.0.8", "ietf_protocol" },
        { "192.0.2.10", "documentation" },
        { "198.51.100.7", "documentation" },
        { "203.0.113.9", "documentation" },
        { "198.18.0.1", "benchmarking" },
        { "198.19.255.1", "benchmarking" },
        { "224.0.0.251", "multicast" },
        { "239.255.255.250", "multicast" },
        { "240.0.0.1", "reserved" },
        { "255.255.255.255", "reserved" },
        { "8.8.8.8", NULL },
        { "11.0.0.25", NULL },
        { "142.250.102.27", NULL },
        { "::1", "loopback" },
        { "::", "unspecified" },
        { "fe80::1", "link_local" },
        { "fc00::1", "unique_local" },
        { "fd12:3456::1", "unique_local" },
        { "ff02::1", "multicast" },
        { "2001:db8::25", "documentation" },
        { "::ffff:127.0.0.1", "loopback" },
        { "::ffff:10.0.0.1", "private" },
        { "::ffff:8.8.8.8", NULL },
        { "64:ff9b::a00:1", "private" },
        { "64:ff9b::808:808", NULL },
        { "2002:c0a8:101::1", "6to4" },
        { "2001:0:4136:e378::1", "teredo" },
        { "100::1", "discard" },
        { "2a00:1450:4001:80b::201a", NULL },
        { "2607:f8b0:4004:c07::1a", NULL },
        { "4000::1", "reserved" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = check(cases[i].ip);
        if (cases[i].want)
            CHECK(got && strcmp(got, cases[i].want) == 0, "%s is %s (got %s)", cases[i].ip, cases[i].want,
                  got ? got : "safe");
        else
            CHECK(got == NULL, "%s may be contacted (got %s)", cases[i].ip, got ? got : "safe");
    }
    CHECK(bc_netsafe_check(NULL) != NULL, "no address is unsafe");

    static const struct {
        const char *host;
        const char *want;
    } prov[] = {
        { "gmail-smtp-in.l.google.com", "google" },
        { "aspmx.l.google.com", "google" },
        { "contoso-com.mail.protection.outlook.com", "microsoft" },
        { "mta5.am0.yahoodns.net", "yahoo" },
        { "mx01.mail.icloud.com", "apple" },
        { "notgoogle.com", NULL },
        { "google.com.evil.net", NULL },
        { "mx.bclab-ok.net", NULL },
        { "us-smtp-inbound-1.mimecast.com", "mimecast" },
    };
    for (size_t i = 0; i < sizeof prov / sizeof prov[0]; i++) {
        const char *got = bc_provider_for_mx(prov[i].host);
        CHECK((got == NULL && prov[i].want == NULL) || (got && prov[i].want && !strcmp(got, prov[i].want)),
              "provider of %s is %s (got %s)", prov[i].host, prov[i].want ? prov[i].want : "none",
              got ? got : "none");
    }
    return tap_done();
}

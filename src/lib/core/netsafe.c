/*
 * netsafe.c - the address ranges the verifier never contacts by default.
 * One table per family, read top to bottom.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "core/netsafe.h"

struct range4 {
    uint32_t net;
    int bits;
    const char *name;
};

/* IANA IPv4 special-purpose address registry, plus multicast and class E. */
static const struct range4 ranges4[] = {
    { 0x00000000u, 8, "this_network" },   /* 0.0.0.0/8 */
    { 0x0A000000u, 8, "private" },        /* 10.0.0.0/8 */
    { 0x64400000u, 10, "shared_cgnat" },  /* 100.64.0.0/10 */
    { 0x7F000000u, 8, "loopback" },       /* 127.0.0.0/8 */
    { 0xA9FE0000u, 16, "link_local" },    /* 169.254.0.0/16 */
    { 0xAC100000u, 12, "private" },       /* 172.16.0.0/12 */
    { 0xC0000000u, 24, "ietf_protocol" }, /* 192.0.0.0/24 */
    { 0xC0000200u, 24, "documentation" }, /* 192.0.2.0/24 */
    { 0xC0586300u, 24, "relay_anycast" }, /* 192.88.99.0/24 (deprecated 6to4 relay) */
    { 0xC0A80000u, 16, "private" },       /* 192.168.0.0/16 */
    { 0xC6120000u, 15, "benchmarking" },  /* 198.18.0.0/15 */
    { 0xC6336400u, 24, "documentation" }, /* 198.51.100.0/24 */
    { 0xCB007100u, 24, "documentation" }, /* 203.0.113.0/24 */
    { 0xE0000000u, 4, "multicast" },      /* 224.0.0.0/4 */
    { 0xF0000000u, 4, "reserved" },       /* 240.0.0.0/4, with 255.255.255.255 */
};

struct range6 {
    uint8_t net[16];
    int bits;
    const char *name;
};

/* IANA IPv6 special-purpose address registry (the parts that matter for an
 * outbound connection), plus multicast and everything outside 2000::/3. */
static const struct range6 ranges6[] = {
    { { 0 }, 128, "unspecified" },                                           /* ::/128 */
    { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 128, "loopback" }, /* ::1/128 */
    { { 0x01, 0x00 }, 64, "discard" },                                       /* 100::/64 */
    { { 0x20, 0x01, 0x00, 0x00 }, 32, "teredo" },                            /* 2001::/32 */
    { { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 }, 48, "benchmarking" },          /* 2001:2::/48 */
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },                     /* 2001:db8::/32 */
    { { 0x20, 0x01, 0x00, 0x10 }, 28, "orchid" },                            /* 2001:10::/28 */
    { { 0x20, 0x02 }, 16, "6to4" },                                          /* 2002::/16 */
    { { 0x3f, 0xff }, 20, "documentation" },                                 /* 3fff::/20 */
    { { 0xfc }, 7, "unique_local" },                                         /* fc00::/7 */
    { { 0xfe, 0x80 }, 10, "link_local" },                                    /* fe80::/10 */
    { { 0xfe, 0xc0 }, 10, "site_local" },                                    /* fec0::/10 (deprecated) */
    { { 0xff }, 8, "multicast" },                                            /* ff00::/8 */
};

static const char *check4(uint32_t a)
{
    for (size_t i = 0; i < sizeof ranges4 / sizeof ranges4[0]; i++) {
        uint32_t mask = ranges4[i].bits ? 0xFFFFFFFFu << (32 - ranges4[i].bits) : 0;
        if ((a & mask) == ranges4[i].net)
            return ranges4[i].name;
    }
    return NULL;
}

static int prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
    int full = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
        if ((a[full] & mask) != (net[full] & mask))
            return 0;
    }
    return 1;
}

static uint32_t v4_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

const char *bc_netsafe_check(const struct sockaddr *sa)
{
    if (!sa)
        return "no_address";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return check4(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family != AF_INET6)
        return "unknown_family";
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    const uint8_t *a = in6->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
    static const uint8_t compat[12] = { 0 };
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) {
        const char *r = check4(v4_at(a + 12));
        return r;
    }
    for (size_t i = 0; i < sizeof ranges6 / sizeof ranges6[0]; i++)
        if (prefix_match(a, ranges6[i].net, ranges6[i].bits))
            return ranges6[i].name;
    if (memcmp(a, compat, 12) == 0)
        return "ipv4_compatible"; /* ::a.b.c.d, deprecated */
    if ((a[0] & 0xE0) != 0x20)
        return "reserved"; /* outside 2000::/3, the global unicast space */
    return NULL;
}

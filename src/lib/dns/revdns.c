/*
 * revdns.c - reverse names of addresses and forward-confirmed reverse DNS
 * (see revdns.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/ipaddr.h"
#include "dns/revdns.h"

bool bc_reverse_name(const struct sockaddr_storage *ss, const char *suffix, char *out, size_t size)
{
    int n;
    if (ss->ss_family == AF_INET) {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)ss)->sin_addr;
        n = snprintf(out, size, "%u.%u.%u.%u.%s", b[3], b[2], b[1], b[0], suffix);
    } else if (ss->ss_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr.s6_addr;
        static const char hex[] = "0123456789abcdef";
        if (size < 65)
            return false;
        size_t k = 0;
        for (int i = 15; i >= 0; i--) {
            out[k++] = hex[b[i] & 15];
            out[k++] = '.';
            out[k++] = hex[b[i] >> 4];
            out[k++] = '.';
        }
        n = snprintf(out + k, size - k, "%s", suffix);
        if (n >= 0)
            n += (int)k;
    } else {
        return false;
    }
    return n > 0 && (size_t)n < size;
}

void bc_fcrdns_check(bc_resolver *r, const struct sockaddr_storage *ss, bc_fcrdns *out)
{
    memset(out, 0, sizeof *out);
    char name[128];
    if (!bc_reverse_name(ss, ss->ss_family == AF_INET ? "in-addr.arpa" : "ip6.arpa", name, sizeof name)) {
        out->rc = BC_DNS_NXDOMAIN;
        return;
    }
    bc_rrset set = { 0 };
    bc_resolver_query(r, name, BC_RR_PTR, &set);
    out->rc = set.rc;
    snprintf(out->error, sizeof out->error, "%s", set.error);
    for (size_t i = 0; i < set.n; i++) {
        if (out->nptr < BC_FCRDNS_MAX_PTR)
            snprintf(out->ptr[out->nptr++], sizeof out->ptr[0], "%s", set.rr[i].name);
        if (out->confirmed)
            continue;
        bc_rrset fwd = { 0 };
        bc_resolver_query(r, set.rr[i].name, ss->ss_family == AF_INET ? BC_RR_A : BC_RR_AAAA, &fwd);
        for (size_t k = 0; k < fwd.n && !out->confirmed; k++)
            out->confirmed = bc_addr_same(&fwd.rr[k].addr, ss);
        if (out->confirmed)
            snprintf(out->confirmed_by, sizeof out->confirmed_by, "%s", set.rr[i].name);
        if (i == 0) {
            out->first_tempfail = fwd.rc == BC_DNS_TEMPFAIL;
            size_t used = 0;
            for (size_t k = 0; k < fwd.n && used + 1 < sizeof out->first_addrs; k++) {
                char a[64];
                bc_addr_str(&fwd.rr[k].addr, a, sizeof a);
                int w = snprintf(out->first_addrs + used, sizeof out->first_addrs - used, "%s%s", k ? ", " : "",
                                 a);
                if (w < 0 || (size_t)w >= sizeof out->first_addrs - used)
                    break;
                used += (size_t)w;
            }
        }
        bc_rrset_clear(&fwd);
    }
    bc_rrset_clear(&set);
}

/*
 * fuzz_dns_answer.c - libFuzzer target for the strict reading of DNS
 * answers (src/lib/core/dns_answer.h), which decides for both resolvers
 * whether an answer is a fact or an anomaly. The first input byte picks the
 * question's type (A, AAAA, MX, TXT, CNAME, PTR); the question name is
 * always "x.test" (the seed corpus answers it); the rest is the answer as a
 * server sent it. The reading must stay inside the buffer, terminate its
 * strings, keep the chain within its bound, and call nothing a fact that
 * came truncated or with an rcode other than NOERROR and NXDOMAIN.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dns_answer.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int types[] = { 1, 28, 15, 16, 5, 12 };
    if (size < 1)
        return 0;
    int qtype = types[data[0] % (sizeof types / sizeof types[0])];
    /* A copy of exactly the answer's bytes, so that a read past its end is
     * a finding under ASan. */
    size_t alen = size - 1;
    unsigned char *abuf = malloc(alen ? alen : 1);
    if (!abuf)
        return 0;
    if (alen)
        memcpy(abuf, data + 1, alen);
    bc_dnsans a;
    bc_dnsans_read(abuf, alen, "x.test", qtype, &a);
    require(memchr(a.why, '\0', sizeof a.why) != NULL);
    require(memchr(a.end, '\0', sizeof a.end) != NULL);
    require(a.hops >= 0 && a.hops <= BC_DNSANS_MAX_CNAMES);
    require(a.nrecords >= 0);
    require(!a.truncated || a.kind == BC_DNSANS_BAD);
    if (a.kind == BC_DNSANS_BAD || a.kind == BC_DNSANS_REFERRAL)
        require(a.why[0] != '\0');
    if (a.kind == BC_DNSANS_RECORDS)
        require(a.nrecords > 0 && a.rcode == 0);
    if (a.kind == BC_DNSANS_NODATA || a.kind == BC_DNSANS_REFERRAL)
        require(a.nrecords == 0 && a.rcode == 0);
    if (a.kind == BC_DNSANS_NXDOMAIN)
        require(a.nrecords == 0 && a.rcode == 3);
    /* The same bytes read again give the same verdict (no hidden state). */
    bc_dnsans b;
    bc_dnsans_read(abuf, alen, "X.TEST.", qtype, &b);
    require(b.kind == a.kind && b.hops == a.hops && b.nrecords == a.nrecords && strcmp(a.end, b.end) == 0);
    free(abuf);
    return 0;
}

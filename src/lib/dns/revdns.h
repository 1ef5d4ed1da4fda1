/*
 * revdns.h - an IP address's names: its reverse-lookup name (in-addr.arpa,
 * ip6.arpa, or a DNS blocklist zone) and forward-confirmed reverse DNS
 * (FCrDNS) over a bc_resolver: the PTR names of an address, and whether
 * one of them resolves back to it. Printing and comparing addresses is
 * core/ipaddr.h. Shared by `bouncecheck dns` (dnscheck.c: the MX
 * addresses) and `bouncecheck doctor` (doctor.c: the sending addresses).
 */
#ifndef BC_REVDNS_H
#define BC_REVDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dns/resolver.h"

/* The reverse-lookup name of an address under `suffix`: for 192.0.2.1 and
 * "in-addr.arpa" "1.2.0.192.in-addr.arpa", for a blocklist zone
 * "1.2.0.192.zen.spamhaus.org"; IPv6 addresses as 32 nibbles (RFC 3596
 * 2.5, RFC 5782 2.4). false when the family is neither or it does not fit
 * in out. Pure. */
bool bc_reverse_name(const struct sockaddr_storage *ss, const char *suffix, char *out, size_t size);

#define BC_FCRDNS_MAX_PTR 8

/* What the reverse DNS of one address says. */
typedef struct bc_fcrdns {
    bc_dns_rc rc;                     /* of the PTR question (OK, NXDOMAIN, NODATA, TEMPFAIL) */
    char error[160];                  /* TEMPFAIL: what went wrong */
    size_t nptr;                      /* PTR names kept in ptr (at most BC_FCRDNS_MAX_PTR) */
    char ptr[BC_FCRDNS_MAX_PTR][256]; /* lower case, no trailing dot, in answer order */
    bool confirmed;                   /* one of them has an A/AAAA record that is the address */
    char confirmed_by[256];           /* that name, "" when none */
    /* The first PTR name's forward answer, for messages when not confirmed:
     * its addresses as "a, b" ("" when none) and whether the question
     * failed temporarily. */
    char first_addrs[160];
    bool first_tempfail;
} bc_fcrdns;

/* Asks the PTR of ss's address, then the A (IPv4) or AAAA (IPv6) records
 * of each PTR name until one of them is the address. Blocking (through r).
 * Fills *out entirely. */
void bc_fcrdns_check(bc_resolver *r, const struct sockaddr_storage *ss, bc_fcrdns *out);

#endif

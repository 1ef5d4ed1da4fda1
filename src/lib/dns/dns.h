/*
 * dns.h - asynchronous DNS for the verifier: c-ares driven by a libevent
 * loop, with a cache that honours TTLs (negative answers too, from the SOA
 * minimum of the authority section, RFC 2308) shared by every verification
 * that uses the same bc_dns.
 *
 * Answers are tri-state and never confuse "does not exist" with "could not
 * tell": NXDOMAIN and NODATA from a clean answer are permanent facts;
 * SERVFAIL / REFUSED / timeouts and every anomaly (core/dns_answer.h: CNAME
 * loops, truncation without records over TCP, malformed or foreign answers,
 * referrals) are BC_DNS_TEMPFAIL.
 *
 * Callbacks fire exactly once per request, never from inside the call that
 * started the request (a cache hit is delivered from the event loop on the
 * next turn), and with BC_DNS_CANCELLED when the bc_dns is freed first.
 */
#ifndef BC_DNS_H
#define BC_DNS_H

#include <stdbool.h>
#include <sys/socket.h>

#include "bouncecheck.h"

struct event_base;

#define BC_DNS_MAX_MX 16   /* MX hosts kept per domain (lowest preferences first) */
#define BC_DNS_MAX_ADDRS 8 /* addresses kept per host (A and AAAA together) */

typedef enum bc_dns_rc {
    BC_DNS_OK = 0,
    BC_DNS_NXDOMAIN,  /* the name does not exist */
    BC_DNS_NODATA,    /* the name exists, no record of that type */
    BC_DNS_NULLMX,    /* RFC 7505: a single MX "0 ." - the domain accepts no mail */
    BC_DNS_TEMPFAIL,  /* SERVFAIL, REFUSED, timeout, malformed answer: could not tell */
    BC_DNS_CANCELLED, /* the bc_dns was freed before the answer came */
} bc_dns_rc;

const char *bc_dns_rc_name(bc_dns_rc rc); /* "ok", "nxdomain", "nodata", "nullmx", "tempfail", "cancelled" */

typedef struct bc_dns_addr {
    struct sockaddr_storage sa; /* AF_INET or AF_INET6, port 0 */
    socklen_t salen;
} bc_dns_addr;

typedef struct bc_mx_host {
    char host[256]; /* lower case, no trailing dot; for implicit MX the domain itself */
    int preference;
    bc_dns_rc addr_rc; /* outcome of this host's A+AAAA lookups: OK if any address was found,
                              * TEMPFAIL if either lookup failed temporarily and none was found,
                              * else NXDOMAIN/NODATA */
    int naddrs;
    bc_dns_addr addrs[BC_DNS_MAX_ADDRS]; /* IPv4 first, then IPv6, in answer order */
} bc_mx_host;

typedef struct bc_mx_answer {
    bc_dns_rc rc;  /* OK: hosts[] usable (each with its own addr_rc);
                              * NULLMX; NXDOMAIN (domain does not exist);
                              * NODATA (no MX and no A/AAAA: no mail server);
                              * TEMPFAIL (could not tell) */
    bool implicit; /* no MX record: hosts[0] is the domain's own A/AAAA (RFC 5321 5.1) */
    int nhosts;
    bc_mx_host hosts[BC_DNS_MAX_MX]; /* sorted by preference (ties keep answer order;
                                      * the caller shuffles among equals) */
    char error[160];                 /* for TEMPFAIL: what went wrong, e.g. "SERVFAIL from 10.0.0.1" */
    bool from_cache;
} bc_mx_answer;

typedef struct bc_dns bc_dns;

typedef struct bc_dns_options {
    const char *servers;   /* "IP[:PORT][,IP[:PORT]...]" ([v6]:port for IPv6), NULL: /etc/resolv.conf */
    int timeout_ms;        /* per try; 0: 2000 */
    int tries;             /* 0: 3 */
    int max_cache_entries; /* 0: 100000 */
} bc_dns_options;

/* Creates a resolver on `base`. *out is owned by the caller (bc_dns_free).
 * Errors (bad server string, c-ares init) are described in errbuf. */
bc_error bc_dns_new(bc_dns **out, struct event_base *base, const bc_dns_options *opts, char *errbuf,
                    size_t errlen);

/* Cancels every pending request (their callbacks fire with CANCELLED) and
 * frees the resolver. Accepts NULL. */
void bc_dns_free(bc_dns *d);

/* The answer is valid only during the callback. */
typedef void (*bc_mx_cb)(void *arg, const bc_mx_answer *ans);

/* Resolves the mail servers of `ascii_domain` (A-labels, no trailing dot):
 * MX; null MX; when there is no MX, the implicit MX from A/AAAA; then the
 * addresses (A and AAAA) of every MX host. Results are cached by TTL. */
void bc_dns_resolve_mx(bc_dns *d, const char *ascii_domain, bc_mx_cb cb, void *arg);
/* (The one exception to "never synchronously": when not even the request
 * can be allocated, cb fires at once with TEMPFAIL "out of memory". A name
 * that cannot exist in DNS - empty, over 253 octets, an empty or 64+ octet
 * label - is answered NXDOMAIN. A CANCELLED callback must not free d; a
 * request it starts is cancelled as well.) */

/* Copies a DNS name into dst[0..dstlen) (dstlen > 0) lower-cased (ASCII
 * letters only), without a trailing dot ("" for the root) and cut to fit.
 * Also used by the domain checks' resolver (resolver.c). */
void bc_dns_copy_name(char *dst, size_t dstlen, const char *src);

/* Counters, for tests and operators. */
typedef struct bc_dns_stats {
    unsigned long queries;       /* questions sent to c-ares */
    unsigned long cache_hits;    /* questions answered from the cache */
    unsigned long coalesced;     /* questions that joined one already in flight */
    unsigned long cache_entries; /* answers held now */
} bc_dns_stats;

/* Copies d's counters into *out (zeros for a NULL d). */
void bc_dns_get_stats(const bc_dns *d, bc_dns_stats *out);

#endif

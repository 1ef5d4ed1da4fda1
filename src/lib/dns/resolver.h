/*
 * resolver.h - DNS lookups for the domain health checks (SPF, DMARC, DKIM,
 * MTA-STS, TLS-RPT, BIMI, blocklists, PTR): one question at a time, the
 * answer's records parsed, and the outcome tri-state like the verifier's
 * (dns.h): NXDOMAIN and NODATA are facts, anything else is TEMPFAIL.
 *
 * Callers see only the interface below, so the same SPF evaluator and
 * checks run over c-ares (resolver.c, blocking: it runs its own event loop
 * until the answer is in) and over an in-memory zone (resolver_mem.c: the
 * RFC 7208 conformance suite, unit tests, fuzzing).
 */
#ifndef BC_RESOLVER_H
#define BC_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/dns.h"

/* RR types used here (RFC 1035, 3596). */
enum {
    BC_RR_A = 1,
    BC_RR_NS = 2,
    BC_RR_CNAME = 5,
    BC_RR_SOA = 6,
    BC_RR_PTR = 12,
    BC_RR_MX = 15,
    BC_RR_TXT = 16,
    BC_RR_AAAA = 28,
    BC_RR_SPF = 99,
};

/* One record of an answer. */
typedef struct bc_rr {
    int type;
    uint32_t ttl;
    /* A / AAAA: the address (port 0) */
    struct sockaddr_storage addr;
    /* MX: preference; MX, CNAME, PTR, NS: the target name (lower case, no
     * trailing dot; "" for the root, as in a null MX) */
    int preference;
    char name[256];
    /* TXT / SPF: the character-strings joined without separator (RFC 7208
     * 3.3), NUL-terminated; text_len excludes the NUL; nstrings how many
     * strings there were and longest_string the largest one's length */
    char *text;
    size_t text_len;
    int nstrings;
    size_t longest_string;
} bc_rr;

typedef struct bc_rrset {
    bc_dns_rc rc;   /* OK (n >= 1), NXDOMAIN, NODATA, TEMPFAIL */
    bool ad;        /* the resolver said the answer was DNSSEC-validated (AD bit) */
    bool truncated; /* more records than kept (BC_RRSET_MAX) */
    size_t n;
    bc_rr *rr;       /* n records in answer order, the queried type only (CNAMEs followed) */
    char error[160]; /* TEMPFAIL: what went wrong */
} bc_rrset;

#define BC_RRSET_MAX 64

/* Frees the records of *set (not set itself) and zeroes it. Accepts NULL. */
void bc_rrset_clear(bc_rrset *set);

typedef struct bc_resolver bc_resolver;

/* Asks (name, type). name: A-labels, with or without a trailing dot.
 * Blocks until the answer, a timeout (TEMPFAIL) or an error. *out must be
 * cleared with bc_rrset_clear. Never fails otherwise: problems are
 * TEMPFAIL with out->error set. */
void bc_resolver_query(bc_resolver *r, const char *name, int type, bc_rrset *out);

/* How many questions went out (for the SPF lookup limits' tests). */
unsigned long bc_resolver_queries(const bc_resolver *r);

void bc_resolver_free(bc_resolver *r); /* accepts NULL */

/* Over c-ares, with the servers of opts (NULL: /etc/resolv.conf). Queries
 * ask for DNSSEC validation (AD bit set in the query, EDNS0) so that a
 * validating resolver's AD answer can be reported. NULL with err. */
bc_resolver *bc_resolver_new_cares(const bc_dns_options *opts, char *err, size_t errlen);

/* Over an in-memory zone given as JSON (jansson-parsable text):
 *   { "example.com": [ {"TXT": "v=spf1 -all"}, {"TXT": ["part1", "part2"]},
 *                      {"MX": [10, "mx.example.com"]}, {"A": "192.0.2.1"},
 *                      {"AAAA": "2001:db8::1"}, {"PTR": "host.example.com"},
 *                      {"CNAME": "other.example.com"}, "TIMEOUT" ],
 *     ... }
 * Names are case-insensitive. A name absent from the zone is NXDOMAIN; a
 * name present without records of the asked type is NODATA, or TEMPFAIL
 * when the name has "TIMEOUT" (the RFC 7208 suite's rule: its records of
 * other types still answer). "SPF" entries also answer TXT questions when
 * the name has no "TXT" entry. (This is the data model of
 * the RFC 7208 test suite's zonedata, converted from YAML to JSON.) NULL
 * with err when the JSON is not such a zone. */
bc_resolver *bc_resolver_new_mem(const char *zone_json, size_t len, char *err, size_t errlen);

#endif

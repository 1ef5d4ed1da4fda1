/*
 * dns_answer.h - private: what one raw DNS answer says about the question
 * that was asked, read strictly. The verifier's resolver (dns/dns.c) and
 * the checks' resolver (dns/resolver.c) both decide with it whether an
 * answer is a fact (records, NODATA, NXDOMAIN) or an anomaly that says
 * nothing: a CNAME loop or a chain too long, a truncated answer, an answer
 * for another question, an rcode other than NOERROR and NXDOMAIN, records
 * that are neither the chain nor the type asked, bogus lengths, a referral
 * where an answer was due (a lame delegation). Pure: bytes in, verdict out
 * (fuzz/fuzz_dns_answer.c). Implemented in dns_answer.c over glibc's
 * message parser (ns_initparse / ns_parserr / dn_expand).
 */
#ifndef BC_DNS_ANSWER_H
#define BC_DNS_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#define BC_DNSANS_MAX_CNAMES 8 /* CNAMEs followed from the question name */

typedef enum bc_dnsans_kind {
    BC_DNSANS_RECORDS,  /* NOERROR, records of the asked type at the chain's end */
    BC_DNSANS_NODATA,   /* NOERROR, none there (the chain itself may be in the answer) */
    BC_DNSANS_NXDOMAIN, /* NXDOMAIN (for the chain's end, RFC 6604) */
    BC_DNSANS_REFERRAL, /* NOERROR without records of the type, NS and no SOA in the
                         * authority section: the server sent us elsewhere */
    BC_DNSANS_BAD,      /* an anomaly: says nothing about the name (why) */
} bc_dnsans_kind;

typedef struct bc_dnsans {
    bc_dnsans_kind kind;
    bool truncated; /* the TC bit was set (then kind is BAD) */
    bool soa;       /* the authority section holds an SOA */
    int rcode;      /* from the header; -1 when there is none */
    int hops;       /* CNAMEs followed from the question name */
    int nrecords;   /* RECORDS: records of the asked type at the chain's end */
    char end[256];  /* the chain's end, lower case without the trailing dot */
    char why[160];  /* BAD, REFERRAL: what is wrong, for messages */
} bc_dnsans;

/* Copies a name lower-cased (ASCII letters) without its trailing dot, cut
 * to dstlen; the root becomes "". */
void bc_dnsans_norm(char *dst, size_t dstlen, const char *src);

/* Reads the answer abuf[0..alen) to the question (qname, qtype, class IN);
 * qname in any case, with or without the trailing dot. Fills *out; never
 * fails otherwise. */
void bc_dnsans_read(const unsigned char *abuf, size_t alen, const char *qname, int qtype, bc_dnsans *out);

#endif

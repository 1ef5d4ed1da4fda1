/*
 * dns_answer.c - bc_dnsans_read (dns_answer.h): one raw DNS answer read
 * strictly against the question asked.
 *
 * Only a well-formed answer to our own question is a fact. The reading goes
 * in this order, and the first thing wrong decides:
 *  1. the header: a response (QR) to a standard query, without TC;
 *  2. the whole message parses, every section's records within its bounds
 *     and nothing after them (ns_initparse);
 *  3. one question, the one asked (name, type, class IN);
 *  4. the rcode: NOERROR or NXDOMAIN (any other rcode says nothing);
 *  5. the answer section: the CNAME chain from the question name, without
 *     loops and at most BC_DNSANS_MAX_CNAMES long; then every record is a
 *     link of that chain, a record of the asked type at its end (with RDATA
 *     of the right shape), or a signature or DNAME beside them - anything
 *     else (another type only, another name, a second CNAME) is an anomaly;
 *  6. the authority section: an SOA makes a negative answer proper; NS
 *     records without an SOA and without an answer are a referral.
 */
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/dns_answer.h"
#include "core/internal.h"

#define ANS_NAME NS_MAXDNAME /* an expanded name, escapes included */
#define ANS_T_RRSIG 46
#define ANS_T_DNAME 39

/* The mnemonic of an RR type for messages; buf holds the others. */
static const char *ans_type_name(int type, char *buf, size_t buflen)
{
    switch (type) {
    case ns_t_a: return "A";
    case ns_t_ns: return "NS";
    case ns_t_cname: return "CNAME";
    case ns_t_soa: return "SOA";
    case ns_t_ptr: return "PTR";
    case ns_t_mx: return "MX";
    case ns_t_txt: return "TXT";
    case ns_t_aaaa: return "AAAA";
    default: snprintf(buf, buflen, "TYPE%d", type); return buf;
    }
}

/* The name of an rcode for messages; buf holds the others. */
static const char *ans_rcode_name(int rcode, char *buf, size_t buflen)
{
    switch (rcode) {
    case ns_r_formerr: return "FORMERR";
    case ns_r_servfail: return "SERVFAIL";
    case ns_r_notimpl: return "NOTIMP";
    case ns_r_refused: return "REFUSED";
    case ns_r_yxdomain: return "YXDOMAIN";
    case ns_r_yxrrset: return "YXRRSET";
    case ns_r_nxrrset: return "NXRRSET";
    case ns_r_notauth: return "NOTAUTH";
    case ns_r_notzone: return "NOTZONE";
    default: snprintf(buf, buflen, "rcode %d", rcode); return buf;
    }
}

/* See dns_answer.h. */
void bc_dnsans_norm(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);
    if (n > 0 && src[n - 1] == '.')
        n--;
    if (n >= dstlen)
        n = dstlen - 1;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    dst[n] = '\0';
}

/* Expands the name at p inside msg into out (normalised); false when it is
 * malformed, or when `exact` and it does not end exactly at `end` (the end
 * of its RDATA). */
static bool ans_expand(const ns_msg *msg, const unsigned char *p, const unsigned char *end, bool exact, char *out,
                       size_t outlen)
{
    char tmp[ANS_NAME];
    int used = dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), p, tmp, (int)sizeof tmp);
    if (used < 0 || p + used > end || (exact && p + used != end))
        return false;
    bc_dnsans_norm(out, outlen, tmp);
    return true;
}

/* Does the RDATA of rr (of the asked type) have the shape of its type? */
static bool ans_rdata_ok(const ns_msg *msg, const ns_rr *rr)
{
    const unsigned char *rd = ns_rr_rdata(*rr);
    const unsigned char *end = rd + ns_rr_rdlen(*rr);
    char name[ANS_NAME];
    switch (ns_rr_type(*rr)) {
    case ns_t_a: return ns_rr_rdlen(*rr) == NS_INADDRSZ;
    case ns_t_aaaa: return ns_rr_rdlen(*rr) == NS_IN6ADDRSZ;
    case ns_t_mx:
        return ns_rr_rdlen(*rr) > NS_INT16SZ && ans_expand(msg, rd + NS_INT16SZ, end, true, name, sizeof name);
    case ns_t_cname:
    case ns_t_ptr:
    case ns_t_ns: return ans_expand(msg, rd, end, true, name, sizeof name);
    default: return true;
    }
}

/* Marks out as BAD with a message. */
__attribute__((format(printf, 2, 3))) static void ans_bad(bc_dnsans *out, const char *fmt, ...);

static void ans_bad(bc_dnsans *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
    out->kind = BC_DNSANS_BAD;
}

/* The target of the CNAME at `owner` in the answer section into target;
 * 1 found, 0 none, -1 anomaly (why in out: a malformed CNAME or two
 * different ones). */
static int ans_cname_at(ns_msg *msg, const char *owner, char *target, size_t targetlen, bc_dnsans *out)
{
    int count = ns_msg_count(*msg, ns_s_an);
    int found = 0;
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        char o[ANS_NAME], t[ANS_NAME];
        if (ns_parserr(msg, ns_s_an, i, &rr) < 0) {
            ans_bad(out, "malformed answer record");
            return -1;
        }
        if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in)
            continue;
        bc_dnsans_norm(o, sizeof o, ns_rr_name(rr));
        if (strcmp(o, owner) != 0)
            continue;
        if (!ans_expand(msg, ns_rr_rdata(rr), ns_rr_rdata(rr) + ns_rr_rdlen(rr), true, t, sizeof t)) {
            ans_bad(out, "malformed CNAME for %s", owner);
            return -1;
        }
        if (found && strcmp(t, target) != 0) {
            ans_bad(out, "two different CNAMEs for %s", owner);
            return -1;
        }
        snprintf(target, targetlen, "%s", t);
        found = 1;
    }
    return found;
}

/* Step 5: follows the chain, then checks every answer record. Leaves the
 * end in out->end and the count in out->nrecords; false when BAD. */
static bool ans_read_answer(ns_msg *msg, const char *qname, int qtype, bc_dnsans *out)
{
    char chain[BC_DNSANS_MAX_CNAMES + 1][ANS_NAME]; /* the question name, then each target */
    char tbuf[16], qbuf[16];
    int hops = 0;
    snprintf(chain[0], sizeof chain[0], "%s", qname);
    while (qtype != ns_t_cname) {
        char target[ANS_NAME];
        int got = ans_cname_at(msg, chain[hops], target, sizeof target, out);
        if (got < 0)
            return false;
        if (got == 0)
            break;
        for (int k = 0; k <= hops; k++) {
            if (strcmp(chain[k], target) == 0) {
                ans_bad(out, "CNAME loop: %s points back to %s", chain[hops], target);
                return false;
            }
        }
        if (hops == BC_DNSANS_MAX_CNAMES) {
            ans_bad(out, "CNAME chain longer than %d from %s", BC_DNSANS_MAX_CNAMES, qname);
            return false;
        }
        snprintf(chain[++hops], sizeof chain[0], "%s", target);
    }
    out->hops = hops;
    bc_strf(out->end, sizeof out->end, "%s", chain[hops]);

    int count = ns_msg_count(*msg, ns_s_an);
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        char owner[ANS_NAME];
        if (ns_parserr(msg, ns_s_an, i, &rr) < 0) {
            ans_bad(out, "malformed answer record");
            return false;
        }
        int type = (int)ns_rr_type(rr);
        bc_dnsans_norm(owner, sizeof owner, ns_rr_name(rr));
        if (type == ANS_T_RRSIG || type == ANS_T_DNAME)
            continue;
        if (ns_rr_class(rr) == ns_c_in && type == qtype && strcmp(owner, chain[hops]) == 0) {
            if (!ans_rdata_ok(msg, &rr)) {
                ans_bad(out, "malformed %s record for %s", ans_type_name(type, tbuf, sizeof tbuf), owner);
                return false;
            }
            out->nrecords++;
            continue;
        }
        bool link = false;
        if (ns_rr_class(rr) == ns_c_in && type == ns_t_cname && qtype != ns_t_cname) {
            for (int k = 0; k < hops && !link; k++)
                link = strcmp(owner, chain[k]) == 0; /* its target was checked on the way */
        }
        if (link)
            continue;
        ans_bad(out, "unexpected record in the answer: %s for %s (%s asked)",
                ans_type_name(type, tbuf, sizeof tbuf), owner[0] ? owner : ".",
                ans_type_name(qtype, qbuf, sizeof qbuf));
        return false;
    }
    return true;
}

void bc_dnsans_read(const unsigned char *abuf, size_t alen, const char *qname, int qtype, bc_dnsans *out)
{
    char tbuf[16], want[ANS_NAME];
    memset(out, 0, sizeof *out);
    out->rcode = -1;
    bc_dnsans_norm(want, sizeof want, qname ? qname : "");
    bc_strf(out->end, sizeof out->end, "%s", want);

    /* 1. the header */
    if (!abuf || alen < NS_HFIXEDSZ) {
        ans_bad(out, "answer shorter than a DNS header");
        return;
    }
    if (alen > NS_MAXMSG) {
        ans_bad(out, "answer longer than a DNS message can be");
        return;
    }
    out->rcode = abuf[3] & 0x0f;
    if (abuf[2] & 0x02) {
        out->truncated = true;
        ans_bad(out, "truncated answer");
        return;
    }
    if (!(abuf[2] & 0x80) || ((abuf[2] >> 3) & 0x0f) != ns_o_query) {
        ans_bad(out, "not a response to a standard query");
        return;
    }
    /* 2. the message */
    ns_msg msg;
    if (ns_initparse(abuf, (int)alen, &msg) < 0) {
        ans_bad(out, "malformed answer (record lengths or counts do not add up)");
        return;
    }
    /* 3. the question */
    ns_rr q;
    char qn[ANS_NAME];
    if (ns_msg_count(msg, ns_s_qd) != 1 || ns_parserr(&msg, ns_s_qd, 0, &q) < 0) {
        ans_bad(out, "the answer does not repeat the one question asked");
        return;
    }
    bc_dnsans_norm(qn, sizeof qn, ns_rr_name(q));
    if (strcmp(qn, want) != 0 || (int)ns_rr_type(q) != qtype || ns_rr_class(q) != ns_c_in) {
        ans_bad(out, "the answer is for another question (%s %s)", qn[0] ? qn : ".",
                ans_type_name((int)ns_rr_type(q), tbuf, sizeof tbuf));
        return;
    }
    /* 4. the rcode */
    if (out->rcode != ns_r_noerror && out->rcode != ns_r_nxdomain) {
        ans_bad(out, "%s", ans_rcode_name(out->rcode, tbuf, sizeof tbuf));
        return;
    }
    /* 5. the answer section */
    if (!ans_read_answer(&msg, want, qtype, out))
        return;
    /* 6. the authority section */
    char zone[ANS_NAME] = "";
    bool ns = false;
    int nauth = ns_msg_count(msg, ns_s_ns);
    for (int i = 0; i < nauth; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_ns, i, &rr) < 0) {
            ans_bad(out, "malformed authority record");
            return;
        }
        if (ns_rr_type(rr) == ns_t_soa)
            out->soa = true;
        else if (ns_rr_type(rr) == ns_t_ns && !ns) {
            ns = true;
            bc_dnsans_norm(zone, sizeof zone, ns_rr_name(rr));
        }
    }
    if (out->rcode == ns_r_nxdomain) {
        if (out->nrecords > 0) {
            ans_bad(out, "NXDOMAIN with %s records", ans_type_name(qtype, tbuf, sizeof tbuf));
            return;
        }
        out->kind = BC_DNSANS_NXDOMAIN;
        return;
    }
    if (out->nrecords > 0) {
        out->kind = BC_DNSANS_RECORDS;
        return;
    }
    if (ns && !out->soa) {
        bc_strf(out->why, sizeof out->why,
                "a referral to the servers of %s instead of an answer (lame delegation)", zone[0] ? zone : ".");
        out->kind = BC_DNSANS_REFERRAL;
        return;
    }
    out->kind = BC_DNSANS_NODATA;
}

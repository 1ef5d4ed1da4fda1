/*
 * resolver.c - the c-ares back end of bc_resolver (resolver.h): blocking
 * lookups for the domain health checks. Each resolver owns a private
 * libevent base and c-ares channel; a question is sent with ares_send and
 * the base is run until its answer is in, so one resolver serves one
 * thread at a time and needs no locks. The channel on the base is the
 * loop dns.c also uses (core/ares_loop.h).
 *
 * Queries are built by c-ares (ares_create_query, with an EDNS0 OPT
 * record) and then get the AD bit set in their header (RFC 6840 5.7), so
 * a validating resolver tells us whether it validated the answer. The raw
 * answer is read with glibc's message parser (ns_initparse / ns_parserr /
 * dn_expand, as dns.c does): rcode, AD bit, the CNAME chain from the
 * question name, and the records of the asked type at its end with their
 * TTLs. TXT strings are decoded by c-ares (ares_parse_txt_reply_ext).
 *
 * As in dns.c, an answer is a fact only when it is a clean answer to the
 * question (core/dns_answer.h): loops, chains too long, answers for another
 * question, stray records, bogus lengths, odd rcodes and referrals are
 * TEMPFAIL. A truncated UDP answer is asked again on a TCP channel of its
 * own, and after truncation only records count.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <ares.h>
#include <event2/event.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/ares_loop.h"
#include "core/dns_answer.h"
#include "core/internal.h"
#include "dns/resolver.h"
#include "dns/resolver_impl.h"

#define RES_DEFAULT_TIMEOUT_MS 2000
#define RES_DEFAULT_TRIES 3
#define RES_EDNS_SIZE 1232   /* the EDNS0 UDP size of DNS flag day 2020 */
#define RES_MAX_CNAME_HOPS 8 /* CNAMEs followed per question, across re-asks */
#define RES_NAME_BUF 256     /* a name of up to 253 characters plus NUL */
#define RES_SERVERS_DESC 96

/* The c-ares resolver; `base` must stay the first member (resolver_impl.h). */
typedef struct rv_cares {
    bc_resolver base;
    struct event_base *evb; /* owned */
    bc_ares_loop loop;      /* the c-ares channel on evb (ares_loop.h) */
    bc_ares_loop tcp;       /* the same servers over TCP, for truncated answers */
    int timeout_ms, tries;
    int nservers;                   /* from ares_get_servers_ports, at least 1 */
    char servers[RES_SERVERS_DESC]; /* for messages: "127.0.0.1,[::1]:5353,..." */
} rv_cares;

/* What came back for one sent question. */
typedef struct rv_reply {
    bool done;
    int status;          /* c-ares status */
    unsigned char *abuf; /* owned copy of the answer, NULL without one */
    int alen;
    bool after_tc; /* the UDP answer was truncated: this one came over TCP */
} rv_reply;

/* The mnemonic of an RR type for messages; `buf` holds the unknown ones. */
static const char *rv_type_name(int type, char *buf, size_t buflen)
{
    switch (type) {
    case BC_RR_A: return "A";
    case BC_RR_NS: return "NS";
    case BC_RR_CNAME: return "CNAME";
    case BC_RR_SOA: return "SOA";
    case BC_RR_PTR: return "PTR";
    case BC_RR_MX: return "MX";
    case BC_RR_TXT: return "TXT";
    case BC_RR_AAAA: return "AAAA";
    case BC_RR_SPF: return "SPF";
    default: snprintf(buf, buflen, "TYPE%d", type); return buf;
    }
}

/* Normalises a question name into out (lower case, no trailing dot).
 * False when no such name can exist in DNS: empty, over 253 octets, an
 * empty label or one over 63 octets. */
static bool rv_name_ok(char *out, size_t outlen, const char *in)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253 || n >= outlen)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] != '.') {
            if (++label > 63)
                return false;
            continue;
        }
        if (label == 0)
            return false;
        label = 0;
    }
    if (label == 0)
        return false;
    bc_dns_copy_name(out, outlen, in);
    return true;
}

/* ------------------------------------------------------- event plumbing */

/* c-ares is done with one question: keep a copy of the answer. */
static void rv_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    rv_reply *rep = arg;
    rep->done = true;
    rep->status = status;
    if (status == ARES_SUCCESS && abuf && alen > 0) {
        rep->abuf = malloc((size_t)alen);
        if (rep->abuf) {
            memcpy(rep->abuf, abuf, (size_t)alen);
            rep->alen = alen;
        } else {
            rep->status = ARES_ENOMEM;
        }
    }
}

/* Monotonic seconds, for the safety deadline of one question. */
static time_t rv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* Sends the query qbuf on `loop` and runs the base until c-ares reports
 * into *rep (zeroed here). */
static void rv_send(rv_cares *r, bc_ares_loop *loop, const unsigned char *qbuf, int qlen, rv_reply *rep)
{
    memset(rep, 0, sizeof *rep);
    /* ares_send copies the buffer (and gives it a fresh random ID). */
    ares_send(loop->channel, qbuf, qlen, rv_on_answer, rep);
    bc_ares_loop_reschedule(loop);
    /* c-ares ends every query by its own timeouts (each round doubles the
     * timeout, every server gets each round); the deadline is well past
     * that and only guards against a loop left without events by a failed
     * allocation. */
    int rounds = r->tries < 16 ? r->tries : 16;
    int64_t budget_ms = (int64_t)r->nservers * r->timeout_ms * ((INT64_C(1) << rounds) - 1);
    time_t deadline = rv_now() + 5 + (time_t)(budget_ms / 1000);
    while (!rep->done) {
        int lr = event_base_loop(r->evb, EVLOOP_ONCE);
        if (rep->done)
            break;
        if (lr != 0) {
            /* Nothing registered: drive c-ares by hand for a moment. */
            bc_ares_loop_process(loop);
            if (!rep->done)
                nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
        }
        if (!rep->done && rv_now() > deadline)
            ares_cancel(loop->channel); /* calls rv_on_answer with ARES_ECANCELLED */
    }
}

/* Sends (name, type) with RD, AD and EDNS0 and runs the loop until c-ares
 * reports; a truncated answer is asked again over TCP. rep->abuf is then
 * owned by the caller (free). */
static void rv_ask(rv_cares *r, const char *name, int type, rv_reply *rep)
{
    memset(rep, 0, sizeof *rep);
    unsigned char *qbuf = NULL;
    int qlen = 0;
    int st = ares_create_query(name, ns_c_in, type, 0, 1, &qbuf, &qlen, RES_EDNS_SIZE);
    if (st != ARES_SUCCESS) {
        rep->done = true;
        rep->status = st;
        return;
    }
    /* Ask for the validation verdict: AD in a query means "tell me" (RFC
     * 6840 section 5.7). The header is the first HFIXEDSZ octets. */
    if (qlen >= HFIXEDSZ)
        ((HEADER *)(void *)qbuf)->ad = 1;
    rv_send(r, &r->loop, qbuf, qlen, rep);
    if (rep->status == ARES_SUCCESS && rep->alen >= HFIXEDSZ && ((const HEADER *)(void *)rep->abuf)->tc) {
        free(rep->abuf);
        rv_send(r, &r->tcp, qbuf, qlen, rep);
        rep->after_tc = true;
    }
    ares_free_string(qbuf);
}

/* ------------------------------------------------------------- answers */

/* What a c-ares failure means, for messages. */
static const char *rv_status_text(int status, char *buf, size_t buflen, const rv_cares *r)
{
    switch (status) {
    case ARES_ETIMEOUT: snprintf(buf, buflen, "timeout (no answer from %s)", r->servers); return buf;
    case ARES_ECONNREFUSED:
        snprintf(buf, buflen, "no answer from %s (connection refused)", r->servers);
        return buf;
    case ARES_ECANCELLED: snprintf(buf, buflen, "no answer from %s (gave up)", r->servers); return buf;
    case ARES_ENOMEM: return "out of memory";
    default: snprintf(buf, buflen, "%s", ares_strerror(status)); return buf;
    }
}

/* The name of an rcode that makes TEMPFAIL. */
static const char *rv_rcode_text(int rcode, char *buf, size_t buflen)
{
    switch (rcode) {
    case ns_r_formerr: return "FORMERR";
    case ns_r_servfail: return "SERVFAIL";
    case ns_r_notimpl: return "NOTIMP";
    case ns_r_refused: return "REFUSED";
    default: snprintf(buf, buflen, "rcode %d", rcode); return buf;
    }
}

/* Expands the compressed name at p (inside msg) into out, lower-cased and
 * without the trailing dot. False when it is malformed. */
static bool rv_expand(ns_msg *msg, const unsigned char *p, char *out, size_t outlen)
{
    char tmp[NS_MAXDNAME];
    if (dn_expand(ns_msg_base(*msg), ns_msg_end(*msg), p, tmp, (int)sizeof tmp) < 0)
        return false;
    bc_dns_copy_name(out, outlen, tmp);
    return true;
}

/* The owner of rr, normalised like bc_dns_copy_name. */
static void rv_owner(const ns_rr *rr, char *out, size_t outlen)
{
    bc_dns_copy_name(out, outlen, ns_rr_name(*rr));
}

/* Follows the CNAME chain in the answer section from `name`, leaving its
 * end in `name`. Returns the number of hops, or -1 when a CNAME's RDATA is
 * malformed. */
static int rv_follow_cnames(ns_msg *msg, char *name, size_t namelen)
{
    int count = ns_msg_count(*msg, ns_s_an);
    int hops = 0;
    bool moved = true;
    while (moved && hops < RES_MAX_CNAME_HOPS) {
        moved = false;
        for (int i = 0; i < count; i++) {
            ns_rr rr;
            char owner[RES_NAME_BUF];
            if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
                return -1;
            if (ns_rr_type(rr) != ns_t_cname || ns_rr_class(rr) != ns_c_in)
                continue;
            rv_owner(&rr, owner, sizeof owner);
            if (strcasecmp(owner, name) != 0)
                continue;
            if (!rv_expand(msg, ns_rr_rdata(rr), name, namelen))
                return -1;
            hops++;
            moved = true;
            break;
        }
    }
    return hops;
}

/* True when the authority section holds an SOA: the server said the chain's
 * end has no data (RFC 2308), rather than leaving it to us to ask. */
static bool rv_has_soa(ns_msg *msg)
{
    int count = ns_msg_count(*msg, ns_s_ns);
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        if (ns_parserr(msg, ns_s_ns, i, &rr) < 0)
            return false;
        if (ns_rr_type(rr) == ns_t_soa)
            return true;
    }
    return false;
}

/* Is answer record i one we keep: class IN, the asked type, owned by the
 * end of the chain? */
static bool rv_wanted(ns_msg *msg, int i, int type, const char *owner_want)
{
    ns_rr rr;
    char owner[RES_NAME_BUF];
    if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
        return false;
    if ((int)ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in)
        return false;
    rv_owner(&rr, owner, sizeof owner);
    return strcasecmp(owner, owner_want) == 0;
}

/* Decodes the character-strings of the kept TXT (or SPF) records with
 * c-ares: in a copy of the message every kept record is marked TXT and
 * every other TXT record type 0, so ares_parse_txt_reply_ext sees exactly
 * ours, in answer order. Fills text/nstrings/longest_string of the kept
 * records out->rr[0..n). False (message in err) on failure. */
static bool rv_decode_txt(ns_msg *msg, int type, const char *owner_want, const int *idx, bc_rrset *out, char *err,
                          size_t errlen)
{
    const unsigned char *abuf = ns_msg_base(*msg);
    size_t alen = (size_t)(ns_msg_end(*msg) - abuf);
    unsigned char *copy = malloc(alen);
    if (!copy) {
        bc_strf(err, errlen, "out of memory");
        return false;
    }
    memcpy(copy, abuf, alen);
    int count = ns_msg_count(*msg, ns_s_an);
    size_t k = 0;
    for (int i = 0; i < count; i++) {
        ns_rr rr;
        if (ns_parserr(msg, ns_s_an, i, &rr) < 0)
            break;
        /* An RR is NAME TYPE(2) CLASS(2) TTL(4) RDLENGTH(2) RDATA. */
        size_t type_at = (size_t)(ns_rr_rdata(rr) - abuf) - 10;
        bool keep = k < out->n && idx[k] == i;
        if (keep) {
            k++;
            copy[type_at] = 0;
            copy[type_at + 1] = ns_t_txt;
        } else if (ns_rr_type(rr) == ns_t_txt) {
            copy[type_at] = 0;
            copy[type_at + 1] = 0;
        }
    }
    struct ares_txt_ext *list = NULL;
    int st = ares_parse_txt_reply_ext(copy, (int)alen, &list);
    free(copy);
    if (st != ARES_SUCCESS && st != ARES_ENODATA) {
        bc_strf(err, errlen, "malformed TXT data (%s)", ares_strerror(st));
        return false;
    }
    /* Records with empty RDATA give c-ares no string at all: skip them. */
    size_t rec = 0;
    bool ok = true;
    struct ares_txt_ext *t = list;
    while (t && ok) {
        while (rec < out->n && out->rr[rec].text_len == SIZE_MAX)
            rec++;
        if (rec >= out->n || !t->record_start) {
            ok = false;
            break;
        }
        size_t total = 0;
        int nstr = 0;
        struct ares_txt_ext *e = t;
        do {
            total += e->length;
            nstr++;
            e = e->next;
        } while (e && !e->record_start);
        bc_rr *rr = &out->rr[rec];
        rr->text = malloc(total + 1);
        if (!rr->text) {
            bc_strf(err, errlen, "out of memory");
            ares_free_data(list);
            return false;
        }
        size_t at = 0;
        for (; t != e; t = t->next) {
            if (t->length)
                memcpy(rr->text + at, t->txt, t->length);
            at += t->length;
            if (t->length > rr->longest_string)
                rr->longest_string = t->length;
        }
        rr->text[at] = '\0';
        rr->text_len = at;
        rr->nstrings = nstr;
        rec++;
    }
    ares_free_data(list);
    for (size_t i = 0; i < out->n; i++) {
        bc_rr *rr = &out->rr[i];
        if (rr->text_len == SIZE_MAX) {
            rr->text_len = 0;
            rr->text = calloc(1, 1);
            if (!rr->text) {
                bc_strf(err, errlen, "out of memory");
                return false;
            }
        } else if (!rr->text) {
            ok = false;
        }
    }
    if (!ok)
        bc_strf(err, errlen, "%s records at %s do not decode", type == BC_RR_SPF ? "SPF" : "TXT", owner_want);
    return ok;
}

/* Fills one kept record from its RDATA. False when the RDATA is malformed. */
static bool rv_fill(ns_msg *msg, const ns_rr *rr, bc_rr *out)
{
    const unsigned char *rd = ns_rr_rdata(*rr);
    size_t rdlen = ns_rr_rdlen(*rr);
    out->type = (int)ns_rr_type(*rr);
    out->ttl = ns_rr_ttl(*rr);
    switch (out->type) {
    case BC_RR_A: {
        struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
        if (rdlen != NS_INADDRSZ)
            return false;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, rd, NS_INADDRSZ);
        return true;
    }
    case BC_RR_AAAA: {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
        if (rdlen != NS_IN6ADDRSZ)
            return false;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, rd, NS_IN6ADDRSZ);
        return true;
    }
    case BC_RR_MX:
        if (rdlen < NS_INT16SZ + 1)
            return false;
        out->preference = (int)ns_get16(rd);
        return rv_expand(msg, rd + NS_INT16SZ, out->name, sizeof out->name);
    case BC_RR_CNAME:
    case BC_RR_PTR:
    case BC_RR_NS:
    case BC_RR_SOA: /* the primary server's name (MNAME) */ return rv_expand(msg, rd, out->name, sizeof out->name);
    case BC_RR_TXT:
    case BC_RR_SPF:
        /* Decoded afterwards, all together; SIZE_MAX marks empty RDATA. */
        out->text_len = rdlen == 0 ? SIZE_MAX : 0;
        return true;
    default: return true; /* type and TTL only */
    }
}

/* Frees what the records of out own and empties it (the rc stays). */
static void rv_drop_records(bc_rrset *out)
{
    for (size_t i = 0; i < out->n && out->rr; i++)
        free(out->rr[i].text);
    free(out->rr);
    out->rr = NULL;
    out->n = 0;
    out->truncated = false;
}

/* Keeps the records of the asked type at the end of the chain. OK when
 * there are some, NODATA when not; TEMPFAIL on malformed data. */
static void rv_collect(ns_msg *msg, int type, const char *owner_want, bc_rrset *out, char *err, size_t errlen)
{
    int count = ns_msg_count(*msg, ns_s_an);
    size_t want = 0;
    for (int i = 0; i < count; i++)
        if (rv_wanted(msg, i, type, owner_want))
            want++;
    if (want == 0) {
        out->rc = BC_DNS_NODATA;
        return;
    }
    if (want > BC_RRSET_MAX) {
        out->truncated = true;
        want = BC_RRSET_MAX;
    }
    out->rr = calloc(want, sizeof *out->rr);
    int *idx = calloc(want, sizeof *idx);
    if (!out->rr || !idx) {
        free(idx);
        rv_drop_records(out);
        out->rc = BC_DNS_TEMPFAIL;
        bc_strf(err, errlen, "out of memory");
        return;
    }
    for (int i = 0; i < count && out->n < want; i++) {
        ns_rr rr;
        if (!rv_wanted(msg, i, type, owner_want) || ns_parserr(msg, ns_s_an, i, &rr) < 0)
            continue;
        if (!rv_fill(msg, &rr, &out->rr[out->n])) {
            free(idx);
            rv_drop_records(out);
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(err, errlen, "malformed record at %s", owner_want);
            return;
        }
        idx[out->n++] = i;
    }
    if ((type == BC_RR_TXT || type == BC_RR_SPF) && !rv_decode_txt(msg, type, owner_want, idx, out, err, errlen)) {
        free(idx);
        rv_drop_records(out);
        out->rc = BC_DNS_TEMPFAIL;
        return;
    }
    free(idx);
    out->rc = BC_DNS_OK;
}

/* One question of bc_resolver_query over c-ares (resolver_impl.h). */
static void rv_query(bc_resolver *base, const char *name, int type, bc_rrset *out)
{
    rv_cares *r = (rv_cares *)base;
    char tbuf[16], qname[RES_NAME_BUF], first[RES_NAME_BUF], msgbuf[192];
    char who[2 * RES_NAME_BUF + 32]; /* the question, for messages */
    const char *tname = rv_type_name(type, tbuf, sizeof tbuf);
    if (!rv_name_ok(qname, sizeof qname, name)) {
        out->rc = BC_DNS_NXDOMAIN; /* cannot exist: not asked */
        return;
    }
    memcpy(first, qname, sizeof first);
    bool ad = true;
    int hops = 0;
    for (;;) {
        if (hops == 0)
            bc_strf(who, sizeof who, "%s %s", tname, qname);
        else
            bc_strf(who, sizeof who, "%s %s (CNAME to %s)", tname, first, qname);
        rv_reply rep;
        rv_ask(r, qname, type, &rep);
        if (rep.status == ARES_EBADNAME) {
            out->rc = BC_DNS_NXDOMAIN;
            return;
        }
        ns_msg msg;
        const char *how = rep.after_tc ? "answer truncated over UDP; over TCP: " : "";
        if (rep.status != ARES_SUCCESS) {
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(out->error, sizeof out->error, "%s: %s%s", who, how,
                    rv_status_text(rep.status, msgbuf, sizeof msgbuf, r));
            free(rep.abuf);
            return;
        }
        if (ns_initparse(rep.abuf, rep.alen, &msg) < 0) {
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(out->error, sizeof out->error, "%s: malformed answer from %s", who, r->servers);
            free(rep.abuf);
            return;
        }
        ad = ad && ns_msg_getflag(msg, ns_f_ad);
        int rcode = ns_msg_getflag(msg, ns_f_rcode);
        /* Anomalies say nothing (a referral after a CNAME is the chain
         * leaving the answer: its end is asked below). The rcodes that
         * make TEMPFAIL keep their own message below. */
        bc_dnsans a;
        bc_dnsans_read(rep.abuf, (size_t)rep.alen, qname, type, &a);
        bool bad = a.kind == BC_DNSANS_BAD || (a.kind == BC_DNSANS_REFERRAL && a.hops == 0);
        if ((rcode == ns_r_noerror || rcode == ns_r_nxdomain) &&
            (bad || (rep.after_tc && a.kind != BC_DNSANS_RECORDS))) {
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(out->error, sizeof out->error, "%s: %s%s from %s", who, how,
                    bad                            ? a.why
                    : a.kind == BC_DNSANS_NXDOMAIN ? "NXDOMAIN"
                                                   : "no records",
                    r->servers);
            free(rep.abuf);
            return;
        }
        if (rcode == ns_r_nxdomain) {
            out->rc = BC_DNS_NXDOMAIN;
            out->ad = ad;
            free(rep.abuf);
            return;
        }
        if (rcode != ns_r_noerror) {
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(out->error, sizeof out->error, "%s: %s%s from %s", who, how,
                    rv_rcode_text(rcode, msgbuf, sizeof msgbuf), r->servers);
            free(rep.abuf);
            return;
        }
        char end[RES_NAME_BUF];
        snprintf(end, sizeof end, "%s", qname);
        int n = type == BC_RR_CNAME ? 0 : rv_follow_cnames(&msg, end, sizeof end);
        if (n < 0) {
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(out->error, sizeof out->error, "%s: malformed CNAME in the answer", who);
            free(rep.abuf);
            return;
        }
        char err[sizeof out->error];
        err[0] = '\0';
        rv_collect(&msg, type, end, out, err, sizeof err);
        if (out->rc == BC_DNS_TEMPFAIL)
            bc_strf(out->error, sizeof out->error, "%s: %s", who, err);
        bool reask = out->rc == BC_DNS_NODATA && n > 0 && !rv_has_soa(&msg);
        free(rep.abuf);
        hops += n;
        if (!reask) {
            out->ad = out->rc != BC_DNS_TEMPFAIL && ad;
            return;
        }
        /* The chain leaves what the server answered for: ask for its end. */
        if (hops >= RES_MAX_CNAME_HOPS) {
            out->rc = BC_DNS_TEMPFAIL;
            bc_strf(out->error, sizeof out->error, "%s: CNAME chain longer than %d", who, RES_MAX_CNAME_HOPS);
            return;
        }
        if (!rv_name_ok(qname, sizeof qname, end)) {
            out->rc = BC_DNS_NXDOMAIN;
            out->ad = ad;
            return;
        }
        r->base.queries++;
    }
}

/* --------------------------------------------------------- construction */

static void rv_free(bc_resolver *base)
{
    rv_cares *r = (rv_cares *)base;
    if (!r)
        return;
    bc_ares_loop_close(&r->loop);
    bc_ares_loop_close(&r->tcp);
    if (r->evb)
        event_base_free(r->evb);
    free(r);
}

static const struct bc_resolver_vt rv_cares_vt = {
    .query = rv_query,
    .free = rv_free,
};

bc_resolver *bc_resolver_new_cares(const bc_dns_options *opts, char *err, size_t errlen)
{
    bc_dns_options o = { 0 };
    if (opts)
        o = *opts;
    if (o.timeout_ms < 0 || o.tries < 0) {
        bc_seterr(err, errlen, BC_EINVAL, "resolver: negative timeout or tries");
        return NULL;
    }
    if (o.servers && !o.servers[0]) {
        bc_seterr(err, errlen, BC_EINVAL, "empty DNS server list");
        return NULL;
    }
    rv_cares *r = calloc(1, sizeof *r);
    if (!r) {
        bc_seterr(err, errlen, BC_ENOMEM, "out of memory");
        return NULL;
    }
    r->base.vt = &rv_cares_vt;
    r->timeout_ms = o.timeout_ms ? o.timeout_ms : RES_DEFAULT_TIMEOUT_MS;
    r->tries = o.tries ? o.tries : RES_DEFAULT_TRIES;
    r->evb = event_base_new();
    if (!r->evb || !bc_ares_loop_init(&r->loop, r->evb) || !bc_ares_loop_init(&r->tcp, r->evb)) {
        rv_free(&r->base);
        bc_seterr(err, errlen, BC_ENOMEM, "resolver: cannot create an event base");
        return NULL;
    }
    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    /* NOCHECKRESP: SERVFAIL / REFUSED come back to us as such (see dns.c)
     * instead of becoming "connection refused" once every server said so.
     * EDNS: with our OPT record in the query, c-ares retries without it when
     * a server answers FORMERR. */
    ao.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS;
    ao.ednspsz = RES_EDNS_SIZE;
    ao.timeout = r->timeout_ms;
    ao.tries = r->tries;
    /* Truncated answers come back to rv_ask (IGNTC), which asks again on
     * the TCP channel and remembers that it did (see dns.c). */
    struct ares_options tcp_ao = ao;
    tcp_ao.flags |= ARES_FLAG_USEVC;
    ao.flags |= ARES_FLAG_IGNTC;
    int mask = ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    if (bc_ares_loop_open(&r->loop, &ao, mask, o.servers, err, errlen) != BC_OK ||
        bc_ares_loop_open(&r->tcp, &tcp_ao, mask, o.servers, err, errlen) != BC_OK) {
        rv_free(&r->base);
        return NULL;
    }
    r->nservers = bc_ares_loop_servers(&r->loop, r->servers, sizeof r->servers);
    return &r->base;
}

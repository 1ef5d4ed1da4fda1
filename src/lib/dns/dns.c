/*
 * dns.c - asynchronous DNS for the verifier: c-ares driven by a libevent
 * loop, a TTL cache shared by every request on one bc_dns, and the MX
 * procedure of RFC 5321 section 5.1 (MX, null MX of RFC 7505, implicit MX
 * from the domain's own addresses, then the addresses of every MX host).
 *
 * Two layers:
 *  - lookups: one (name, type) question. A lookup is answered from the
 *    cache, joins an identical question already in flight or waiting
 *    (coalescing, found by hash), or becomes a c-ares query: at most
 *    DNS_MAX_SENT are with c-ares at once, the others wait in order, so a
 *    burst of thousands does not overflow the UDP socket's receive buffer
 *    (answers lost there would come back as timeouts). Its answer (an "rrset" here: the records we
 *    keep plus a verdict OK / NXDOMAIN / NODATA / NULLMX / TEMPFAIL) goes to
 *    every waiter and, unless it is TEMPFAIL, into the cache until its TTL.
 *  - MX requests: what bc_dns_resolve_mx starts. A request runs lookups,
 *    counts the ones outstanding, and when none is left delivers its answer
 *    from the event loop (never inside the call that started it).
 *
 * TTLs come from the raw answer through glibc's ns_initparse/ns_parserr,
 * because c-ares 1.18's MX parser does not report them; negative answers
 * live for min(SOA TTL, SOA MINIMUM) as RFC 2308 says.
 *
 * An answer is a fact only when it is a clean answer to our question
 * (core/dns_answer.h): a CNAME loop, a chain too long, an answer for
 * another question, records of another type only, bogus lengths, an odd
 * rcode or a referral (lame delegation) are TEMPFAIL, never NODATA or
 * NXDOMAIN. c-ares hands truncated UDP answers to us (IGNTC) and the
 * question goes again over TCP on a channel of its own; after truncation
 * only records count (an empty or failed TCP answer is TEMPFAIL).
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
#include <time.h>

#include "core/ares_loop.h"
#include "core/dns_answer.h"
#include "core/internal.h"
#include "dns/dns.h"

#define DNS_TTL_CAP 86400u /* never trust an answer longer than a day */
#define DNS_DEFAULT_TIMEOUT_MS 2000
#define DNS_DEFAULT_TRIES 3
#define DNS_DEFAULT_CACHE 100000
#define DNS_NAME_BUF 256 /* a name of up to 253 characters plus NUL */
#define DNS_BUCKETS_MIN 256u
#define DNS_BUCKETS_MAX (1u << 20)
#define DNS_ERR_LEN 160
#define DNS_TAG_MX (-1) /* lookup tag of a request's MX question */
/* Questions handed to c-ares at once; the rest wait in order. c-ares 1.18
 * sends every question at once over one UDP socket per server: a burst of
 * thousands overflows the socket's receive buffer (or the server's), and
 * the answers lost turn into timeouts, i.e. "could not tell". */
#define DNS_MAX_SENT 200
#define DNS_RCVBUF (1 << 20) /* the UDP socket's receive buffer asked for */
#define DNS_LOOKUP_BUCKETS 1024u

/* One MX record as kept: preference and lower-case host without the dot. */
typedef struct dns_mx {
    int pref;
    char *host; /* owned */
} dns_mx;

/* The outcome of one (name, type) question, positive or negative. */
typedef struct dns_rrset {
    bc_dns_rc rc;       /* OK, NXDOMAIN, NODATA, NULLMX (MX only), TEMPFAIL */
    uint32_t ttl;       /* seconds the answer may be reused, capped at a day */
    int n;              /* entries in mx or addrs */
    dns_mx *mx;         /* MX: sorted by preference, null MX removed; owned */
    bc_dns_addr *addrs; /* A or AAAA, answer order; owned */
} dns_rrset;

/* Someone waiting for a lookup: a function, its argument and a tag the
 * waiter uses to tell its own lookups apart. */
typedef void (*dns_lookup_cb)(void *arg, int tag, const dns_rrset *rs, const char *error, bool cached);
typedef struct dns_waiter {
    dns_lookup_cb cb;
    void *arg;
    int tag;
} dns_waiter;

/* A question sent to c-ares and not answered yet. */
typedef struct dns_lookup {
    bc_dns *d;
    struct dns_lookup *prev, *next; /* d->inflight (sent), or d->waiting (not sent yet) */
    struct dns_lookup *hnext;       /* d->lbuckets: every lookup, sent or waiting */
    char name[DNS_NAME_BUF];
    int type;
    bool tcp; /* the UDP answer was truncated: asked again over TCP */
    int nwaiters, capwaiters;
    dns_waiter *waiters; /* owned */
} dns_lookup;

/* A cached answer. Entries sit in a hash bucket chain and in a list that
 * runs from the oldest insertion to the newest (eviction order). */
typedef struct dns_centry {
    struct dns_centry *hnext;
    struct dns_centry *older, *newer;
    uint64_t hash;
    int type;
    int64_t expires_ms;
    dns_rrset rs;
    char name[]; /* NUL-terminated key */
} dns_centry;

/* One bc_dns_resolve_mx call until its callback has fired. */
typedef struct dns_mxreq {
    bc_dns *d;
    struct dns_mxreq *prev, *next; /* d->reqs */
    struct event *done_ev;         /* owned; made active to deliver */
    bc_mx_cb cb;
    void *arg;
    char domain[DNS_NAME_BUF];
    int pending;     /* lookups outstanding, plus one while starting them */
    bool all_cached; /* every lookup so far came from the cache */
    bc_dns_rc v4_rc[BC_DNS_MAX_MX], v6_rc[BC_DNS_MAX_MX];
    int nv6[BC_DNS_MAX_MX];
    bc_dns_addr v6[BC_DNS_MAX_MX][BC_DNS_MAX_ADDRS]; /* merged after IPv4 at the end */
    bc_mx_answer ans;                                /* IPv4 addresses go straight into ans.hosts[i].addrs */
} dns_mxreq;

struct bc_dns {
    bc_ares_loop loop;                        /* the c-ares channel on the caller's base */
    bc_ares_loop tcp;                         /* the same servers over TCP, for truncated answers */
    bool closing;                             /* inside bc_dns_free */
    dns_lookup *inflight;                     /* sent to c-ares */
    dns_lookup *waiting, *waiting_tail;       /* not sent yet, oldest first (next) */
    int nsent;                                /* lookups in inflight */
    bool sending;                             /* inside dns_send_waiting */
    dns_lookup *lbuckets[DNS_LOOKUP_BUCKETS]; /* every lookup, by name and type */
    dns_mxreq *reqs;
    dns_centry **buckets;
    size_t nbuckets, nentries, max_entries;
    dns_centry *oldest, *newest;
    bc_dns_stats stats;
};

const char *bc_dns_rc_name(bc_dns_rc rc)
{
    switch (rc) {
    case BC_DNS_OK: return "ok";
    case BC_DNS_NXDOMAIN: return "nxdomain";
    case BC_DNS_NODATA: return "nodata";
    case BC_DNS_NULLMX: return "nullmx";
    case BC_DNS_TEMPFAIL: return "tempfail";
    case BC_DNS_CANCELLED: return "cancelled";
    }
    return "unknown";
}

/* Milliseconds on the monotonic clock (cache expiry must not follow
 * wall-clock jumps). */
static int64_t dns_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The name of a query type for messages. */
static const char *dns_type_name(int type)
{
    switch (type) {
    case ns_t_mx: return "MX";
    case ns_t_a: return "A";
    case ns_t_aaaa: return "AAAA";
    default: return "?";
    }
}

/* ---------------------------------------------------------------- rrsets */

/* Frees what an rrset owns (not the struct itself). */
static void dns_rrset_clear(dns_rrset *rs)
{
    for (int i = 0; i < rs->n && rs->mx; i++)
        free(rs->mx[i].host);
    free(rs->mx);
    free(rs->addrs);
    memset(rs, 0, sizeof *rs);
}

/* Deep-copies src into *dst (which the caller later clears). Returns false
 * when memory ran out; *dst is then empty. */
static bool dns_rrset_copy(dns_rrset *dst, const dns_rrset *src)
{
    *dst = *src;
    dst->mx = NULL;
    dst->addrs = NULL;
    if (src->mx) {
        dst->mx = calloc((size_t)src->n, sizeof *dst->mx);
        if (!dst->mx)
            goto fail;
        for (int i = 0; i < src->n; i++) {
            dst->mx[i].pref = src->mx[i].pref;
            dst->mx[i].host = strdup(src->mx[i].host);
            if (!dst->mx[i].host)
                goto fail;
        }
    }
    if (src->addrs) {
        dst->addrs = malloc((size_t)src->n * sizeof *dst->addrs);
        if (!dst->addrs)
            goto fail;
        memcpy(dst->addrs, src->addrs, (size_t)src->n * sizeof *dst->addrs);
    }
    return true;
fail:
    dns_rrset_clear(dst);
    return false;
}

/* Caps a TTL at a day. */
static uint32_t dns_cap_ttl(uint32_t ttl)
{
    return ttl > DNS_TTL_CAP ? DNS_TTL_CAP : ttl;
}

/* The lowest TTL of the answer section (CNAMEs included, since the cached
 * answer depends on them too). 0 when the message does not parse. */
static uint32_t dns_answer_ttl(const unsigned char *abuf, int alen)
{
    ns_msg msg;
    ns_rr rr;
    uint32_t ttl = DNS_TTL_CAP;
    if (!abuf || alen <= 0 || ns_initparse(abuf, alen, &msg) < 0)
        return 0;
    int count = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < count; i++) {
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            return 0;
        if (ns_rr_ttl(rr) < ttl)
            ttl = ns_rr_ttl(rr);
    }
    return dns_cap_ttl(ttl);
}

/* The TTL of a negative answer, RFC 2308 section 5: the smaller of the SOA
 * record's own TTL and its MINIMUM field, from the authority section. 0
 * (do not cache) when there is no usable SOA. */
static uint32_t dns_negative_ttl(const unsigned char *abuf, int alen)
{
    ns_msg msg;
    ns_rr rr;
    if (!abuf || alen <= 0 || ns_initparse(abuf, alen, &msg) < 0)
        return 0;
    int count = ns_msg_count(msg, ns_s_ns);
    for (int i = 0; i < count; i++) {
        if (ns_parserr(&msg, ns_s_ns, i, &rr) < 0)
            return 0;
        if (ns_rr_type(rr) != ns_t_soa)
            continue;
        /* SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM. */
        const unsigned char *p = ns_rr_rdata(rr);
        const unsigned char *end = p + ns_rr_rdlen(rr);
        for (int names = 0; names < 2; names++) {
            int len = dn_skipname(p, end);
            if (len < 0)
                return 0;
            p += len;
        }
        if (end - p != 5 * NS_INT32SZ)
            return 0;
        uint32_t minimum = (uint32_t)ns_get32(p + 4 * NS_INT32SZ);
        uint32_t ttl = ns_rr_ttl(rr);
        return dns_cap_ttl(minimum < ttl ? minimum : ttl);
    }
    return 0;
}

/* See dns.h. */
void bc_dns_copy_name(char *dst, size_t dstlen, const char *src)
{
    bc_dnsans_norm(dst, dstlen, src);
}

/* Fills rs from a successful MX answer: keeps the BC_DNS_MAX_MX lowest
 * preferences (ties in answer order, duplicates dropped); a lone "." target
 * (or only "." targets) makes NULLMX, a "." beside real hosts is ignored. */
static void dns_build_mx(dns_rrset *rs, const unsigned char *abuf, int alen, char *err, size_t errlen,
                         const char *name)
{
    struct ares_mx_reply *list = NULL;
    int st = ares_parse_mx_reply(abuf, alen, &list);
    if (st == ARES_ENODATA) {
        /* NOERROR with only a CNAME chain: the name has no MX. */
        rs->rc = BC_DNS_NODATA;
        rs->ttl = dns_negative_ttl(abuf, alen);
        return;
    }
    if (st != ARES_SUCCESS) {
        rs->rc = BC_DNS_TEMPFAIL;
        bc_strf(err, errlen, "MX %s: malformed answer (%s)", name, ares_strerror(st));
        return;
    }
    dns_mx keep[BC_DNS_MAX_MX];
    int nkeep = 0, nnull = 0;
    for (struct ares_mx_reply *m = list; m; m = m->next) {
        char host[DNS_NAME_BUF];
        bc_dns_copy_name(host, sizeof host, m->host ? m->host : "");
        if (host[0] == '\0') {
            nnull++;
            continue;
        }
        bool dup = false;
        for (int i = 0; i < nkeep && !dup; i++)
            dup = strcmp(keep[i].host, host) == 0;
        if (dup)
            continue;
        int pref = m->priority;
        if (nkeep == BC_DNS_MAX_MX && pref >= keep[nkeep - 1].pref)
            continue;
        /* Stable insertion: after every entry of equal or lower preference. */
        int at = nkeep;
        while (at > 0 && keep[at - 1].pref > pref)
            at--;
        if (nkeep == BC_DNS_MAX_MX) {
            free(keep[nkeep - 1].host);
            nkeep--;
        }
        char *copy = strdup(host);
        if (!copy) {
            rs->rc = BC_DNS_TEMPFAIL;
            bc_strf(err, errlen, "MX %s: out of memory", name);
            break;
        }
        memmove(&keep[at + 1], &keep[at], (size_t)(nkeep - at) * sizeof keep[0]);
        keep[at].pref = pref;
        keep[at].host = copy;
        nkeep++;
    }
    ares_free_data(list);
    if (rs->rc == BC_DNS_TEMPFAIL || (nkeep > 0 && !(rs->mx = calloc((size_t)nkeep, sizeof *rs->mx)))) {
        for (int i = 0; i < nkeep; i++)
            free(keep[i].host);
        rs->rc = BC_DNS_TEMPFAIL;
        if (!err[0])
            bc_strf(err, errlen, "MX %s: out of memory", name);
        return;
    }
    rs->ttl = dns_answer_ttl(abuf, alen);
    if (nkeep == 0) {
        rs->rc = nnull > 0 ? BC_DNS_NULLMX : BC_DNS_NODATA;
        return;
    }
    memcpy(rs->mx, keep, (size_t)nkeep * sizeof keep[0]);
    rs->n = nkeep;
    rs->rc = BC_DNS_OK;
}

/* Fills rs from a successful A or AAAA answer (up to BC_DNS_MAX_ADDRS). */
static void dns_build_addrs(dns_rrset *rs, int type, const unsigned char *abuf, int alen, char *err, size_t errlen,
                            const char *name)
{
    bc_dns_addr got[BC_DNS_MAX_ADDRS];
    int n = BC_DNS_MAX_ADDRS, st;
    memset(got, 0, sizeof got);
    if (type == ns_t_a) {
        struct ares_addrttl at[BC_DNS_MAX_ADDRS];
        st = ares_parse_a_reply(abuf, alen, NULL, at, &n);
        for (int i = 0; st == ARES_SUCCESS && i < n; i++) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&got[i].sa;
            sin->sin_family = AF_INET;
            sin->sin_addr = at[i].ipaddr;
            got[i].salen = sizeof *sin;
        }
    } else {
        struct ares_addr6ttl at[BC_DNS_MAX_ADDRS];
        st = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
        for (int i = 0; st == ARES_SUCCESS && i < n; i++) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&got[i].sa;
            sin6->sin6_family = AF_INET6;
            memcpy(&sin6->sin6_addr, &at[i].ip6addr, sizeof sin6->sin6_addr);
            got[i].salen = sizeof *sin6;
        }
    }
    if (st == ARES_ENODATA || (st == ARES_SUCCESS && n == 0)) {
        rs->rc = BC_DNS_NODATA;
        rs->ttl = dns_negative_ttl(abuf, alen);
        return;
    }
    if (st != ARES_SUCCESS) {
        rs->rc = BC_DNS_TEMPFAIL;
        bc_strf(err, errlen, "%s %s: malformed answer (%s)", dns_type_name(type), name, ares_strerror(st));
        return;
    }
    rs->addrs = malloc((size_t)n * sizeof *rs->addrs);
    if (!rs->addrs) {
        rs->rc = BC_DNS_TEMPFAIL;
        bc_strf(err, errlen, "%s %s: out of memory", dns_type_name(type), name);
        return;
    }
    memcpy(rs->addrs, got, (size_t)n * sizeof got[0]);
    rs->n = n;
    rs->ttl = dns_answer_ttl(abuf, alen);
    rs->rc = BC_DNS_OK;
}

/* A short name for a c-ares failure, for messages. */
static const char *dns_status_word(int status)
{
    switch (status) {
    case ARES_ESERVFAIL: return "SERVFAIL";
    case ARES_EREFUSED: return "REFUSED";
    case ARES_EFORMERR: return "FORMERR";
    case ARES_ENOTIMP: return "NOTIMP";
    case ARES_ETIMEOUT: return "timeout";
    case ARES_ECONNREFUSED: return "connection refused";
    case ARES_EBADRESP: return "malformed answer";
    default: return "failure";
    }
}

/* Turns a c-ares query outcome into an rrset (owned by the caller, clear it
 * with dns_rrset_clear) and, for TEMPFAIL, a message in err. `after_tc`:
 * the answer came over TCP because the UDP one was truncated, so only
 * records are usable. */
static void dns_build(dns_rrset *rs, int type, const char *name, int status, const unsigned char *abuf, int alen,
                      bool after_tc, char *err, size_t errlen)
{
    const char *how = after_tc ? "answer truncated over UDP; over TCP: " : "";
    memset(rs, 0, sizeof *rs);
    err[0] = '\0';
    switch (status) {
    case ARES_SUCCESS:
    case ARES_ENODATA:
    case ARES_ENOTFOUND: break; /* read below: only a clean answer is a fact */
    case ARES_EBADNAME:
        /* A name DNS cannot carry (e.g. a label over 63 octets) cannot exist. */
        rs->rc = BC_DNS_NXDOMAIN;
        return;
    default:
        rs->rc = BC_DNS_TEMPFAIL;
        bc_strf(err, errlen, "%s %s: %s%s (%s)", dns_type_name(type), name, how, dns_status_word(status),
                ares_strerror(status));
        return;
    }
    bc_dnsans a;
    bc_dnsans_read(abuf, alen > 0 ? (size_t)alen : 0, name, type, &a);
    switch (a.kind) {
    case BC_DNSANS_RECORDS: break;
    case BC_DNSANS_NODATA:
    case BC_DNSANS_NXDOMAIN:
        if (after_tc) {
            rs->rc = BC_DNS_TEMPFAIL;
            bc_strf(err, errlen, "%s %s: %s%s", dns_type_name(type), name, how,
                    a.kind == BC_DNSANS_NODATA ? "no records" : "NXDOMAIN");
            return;
        }
        rs->rc = a.kind == BC_DNSANS_NODATA ? BC_DNS_NODATA : BC_DNS_NXDOMAIN;
        rs->ttl = dns_negative_ttl(abuf, alen);
        return;
    case BC_DNSANS_REFERRAL:
    case BC_DNSANS_BAD:
        rs->rc = BC_DNS_TEMPFAIL;
        bc_strf(err, errlen, "%s %s: %s%s", dns_type_name(type), name, how, a.why);
        return;
    }
    if (type == ns_t_mx)
        dns_build_mx(rs, abuf, alen, err, errlen, name);
    else
        dns_build_addrs(rs, type, abuf, alen, err, errlen, name);
}

/* ----------------------------------------------------------------- cache */

/* FNV-1a over the name, mixed with the type. */
static uint64_t dns_hash(const char *name, int type)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= (uint64_t)(unsigned)type;
    h *= 1099511628211ull;
    return h;
}

/* Unlinks and frees one cache entry. */
static void dns_cache_remove(bc_dns *d, dns_centry *e)
{
    dns_centry **pp = &d->buckets[e->hash & (d->nbuckets - 1)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    if (e->older)
        e->older->newer = e->newer;
    else
        d->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        d->newest = e->older;
    d->nentries--;
    dns_rrset_clear(&e->rs);
    free(e);
}

/* The live cache entry for (name, type), or NULL; an expired one is dropped
 * on the way. The entry stays owned by the cache. */
static dns_centry *dns_cache_get(bc_dns *d, const char *name, int type)
{
    uint64_t h = dns_hash(name, type);
    for (dns_centry *e = d->buckets[h & (d->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash != h || e->type != type || strcmp(e->name, name) != 0)
            continue;
        if (e->expires_ms <= dns_now_ms()) {
            dns_cache_remove(d, e);
            return NULL;
        }
        return e;
    }
    return NULL;
}

/* Doubles the bucket array when it is as full as it has entries; on
 * allocation failure the table simply stays as it is. */
static void dns_cache_grow(bc_dns *d)
{
    if (d->nentries < d->nbuckets || d->nbuckets >= DNS_BUCKETS_MAX)
        return;
    size_t nb = d->nbuckets * 2;
    dns_centry **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < d->nbuckets; i++) {
        dns_centry *e = d->buckets[i];
        while (e) {
            dns_centry *next = e->hnext;
            e->hnext = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
            e = next;
        }
    }
    free(d->buckets);
    d->buckets = b;
    d->nbuckets = nb;
}

/* Stores a copy of rs for its TTL, replacing an older answer for the same
 * key and evicting the oldest entries (expired or not) to stay in bounds.
 * TEMPFAIL and zero TTLs are not stored. */
static void dns_cache_put(bc_dns *d, const char *name, int type, const dns_rrset *rs)
{
    if (rs->rc == BC_DNS_TEMPFAIL || rs->ttl == 0 || d->max_entries == 0)
        return;
    dns_centry *old = dns_cache_get(d, name, type);
    if (old)
        dns_cache_remove(d, old);
    while (d->nentries >= d->max_entries && d->oldest)
        dns_cache_remove(d, d->oldest);
    size_t len = strlen(name);
    dns_centry *e = calloc(1, sizeof *e + len + 1);
    if (!e)
        return;
    if (!dns_rrset_copy(&e->rs, rs)) {
        free(e);
        return;
    }
    memcpy(e->name, name, len + 1);
    e->type = type;
    e->hash = dns_hash(name, type);
    e->expires_ms = dns_now_ms() + (int64_t)rs->ttl * 1000;
    e->older = d->newest;
    if (d->newest)
        d->newest->newer = e;
    else
        d->oldest = e;
    d->newest = e;
    e->hnext = d->buckets[e->hash & (d->nbuckets - 1)];
    d->buckets[e->hash & (d->nbuckets - 1)] = e;
    d->nentries++;
    dns_cache_grow(d);
}

/* Re-arms c-ares's timers; nothing once bc_dns_free has begun. */
static void dns_reschedule(bc_dns *d)
{
    if (d->closing)
        return;
    bc_ares_loop_reschedule(&d->loop);
    bc_ares_loop_reschedule(&d->tcp);
}

/* --------------------------------------------------------------- lookups */

static unsigned dns_lookup_bucket(const char *name, int type)
{
    unsigned h = 2166136261u ^ (unsigned)type;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % DNS_LOOKUP_BUCKETS;
}

static dns_lookup *dns_lookup_find(const bc_dns *d, const char *name, int type)
{
    dns_lookup *l = d->lbuckets[dns_lookup_bucket(name, type)];
    while (l && (l->type != type || strcmp(l->name, name) != 0))
        l = l->hnext;
    return l;
}

static void dns_lookup_unhash(bc_dns *d, dns_lookup *l)
{
    dns_lookup **pp = &d->lbuckets[dns_lookup_bucket(l->name, l->type)];
    while (*pp && *pp != l)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = l->hnext;
    l->hnext = NULL;
}

static void dns_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

/* Hands waiting lookups to c-ares, oldest first, while fewer than
 * DNS_MAX_SENT are out. Not re-entered: c-ares may answer inside
 * ares_query (a bad name), and the outer loop goes on. */
static void dns_send_waiting(bc_dns *d)
{
    if (d->sending || d->closing)
        return;
    d->sending = true;
    bool any = false;
    while (d->waiting && d->nsent < DNS_MAX_SENT) {
        dns_lookup *l = d->waiting;
        d->waiting = l->next;
        if (!d->waiting)
            d->waiting_tail = NULL;
        l->prev = NULL;
        l->next = d->inflight;
        if (d->inflight)
            d->inflight->prev = l;
        d->inflight = l;
        d->nsent++;
        d->stats.queries++;
        any = true;
        /* May call dns_on_answer before returning: l is not touched
         * afterwards. */
        ares_query(d->loop.channel, l->name, ns_c_in, l->type, dns_on_answer, l);
    }
    d->sending = false;
    if (any)
        dns_reschedule(d);
}

/* c-ares answered (or gave up on, or is destroying) one lookup: build the
 * rrset, cache it, hand it to every waiter, free the lookup. */
static void dns_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    dns_lookup *l = arg;
    bc_dns *d = l->d;
    bool gone = status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || d->closing;
    if (!gone && !l->tcp && abuf && alen >= NS_HFIXEDSZ && (abuf[2] & 0x02)) {
        /* TC: the UDP answer did not fit. The lookup stays in flight and
         * asks again over TCP (ares_query may answer at once: l is not
         * touched afterwards). */
        l->tcp = true;
        d->stats.queries++;
        ares_query(d->tcp.channel, l->name, ns_c_in, l->type, dns_on_answer, l);
        dns_reschedule(d);
        return;
    }
    if (l->prev)
        l->prev->next = l->next;
    else
        d->inflight = l->next;
    if (l->next)
        l->next->prev = l->prev;
    d->nsent--;
    dns_lookup_unhash(d, l);
    if (gone) {
        /* bc_dns_free cancels the waiting requests itself. */
        free(l->waiters);
        free(l);
        return;
    }
    dns_rrset rs;
    char err[DNS_ERR_LEN];
    dns_build(&rs, l->type, l->name, status, abuf, alen, l->tcp, err, sizeof err);
    dns_cache_put(d, l->name, l->type, &rs);
    for (int i = 0; i < l->nwaiters; i++)
        l->waiters[i].cb(l->waiters[i].arg, l->waiters[i].tag, &rs, err, false);
    dns_rrset_clear(&rs);
    free(l->waiters);
    free(l);
    dns_send_waiting(d);
}

/* Reports an internal failure (memory) to one waiter as TEMPFAIL. */
static void dns_fail_waiter(dns_lookup_cb cb, void *arg, int tag, const char *name, int type)
{
    dns_rrset rs;
    char err[DNS_ERR_LEN];
    memset(&rs, 0, sizeof rs);
    rs.rc = BC_DNS_TEMPFAIL;
    bc_strf(err, sizeof err, "%s %s: out of memory", dns_type_name(type), name);
    cb(arg, tag, &rs, err, false);
}

/* Asks (name, type) on behalf of cb/arg/tag. A cache hit or an internal
 * failure calls cb before returning (the MX layer defers the user's
 * callback, so that is safe); otherwise cb runs when the answer comes.
 * `name` is lower case without a trailing dot. */
static void dns_lookup_start(bc_dns *d, const char *name, int type, dns_lookup_cb cb, void *arg, int tag)
{
    dns_centry *e = dns_cache_get(d, name, type);
    if (e) {
        /* Copy: cb may start lookups that change the cache under us. */
        dns_rrset rs;
        if (!dns_rrset_copy(&rs, &e->rs)) {
            dns_fail_waiter(cb, arg, tag, name, type);
            return;
        }
        d->stats.cache_hits++;
        cb(arg, tag, &rs, "", true);
        dns_rrset_clear(&rs);
        return;
    }
    dns_lookup *l = dns_lookup_find(d, name, type);
    bool fresh = l == NULL;
    if (fresh) {
        l = calloc(1, sizeof *l);
        if (!l) {
            dns_fail_waiter(cb, arg, tag, name, type);
            return;
        }
        l->d = d;
        l->type = type;
        snprintf(l->name, sizeof l->name, "%s", name);
    }
    if (l->nwaiters == l->capwaiters) {
        int cap = l->capwaiters ? l->capwaiters * 2 : 4;
        dns_waiter *w = realloc(l->waiters, (size_t)cap * sizeof *w);
        if (!w) {
            if (fresh)
                free(l);
            dns_fail_waiter(cb, arg, tag, name, type);
            return;
        }
        l->waiters = w;
        l->capwaiters = cap;
    }
    l->waiters[l->nwaiters++] = (dns_waiter){ cb, arg, tag };
    if (!fresh) {
        d->stats.coalesced++;
        return;
    }
    unsigned b = dns_lookup_bucket(name, type);
    l->hnext = d->lbuckets[b];
    d->lbuckets[b] = l;
    l->next = NULL;
    l->prev = d->waiting_tail;
    if (d->waiting_tail)
        d->waiting_tail->next = l;
    else
        d->waiting = l;
    d->waiting_tail = l;
    dns_send_waiting(d);
}

/* ----------------------------------------------------------- MX requests */

/* Unlinks a request from its resolver's list. */
static void dns_mxreq_unlink(dns_mxreq *r)
{
    bc_dns *d = r->d;
    if (r->prev)
        r->prev->next = r->next;
    else
        d->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

/* Delivery from the event loop: the request leaves the resolver, the user
 * sees the answer, the request is freed. The user may free the resolver
 * inside the callback: nothing of it is touched afterwards. */
static void dns_mxreq_deliver(evutil_socket_t fd, short what, void *arg)
{
    dns_mxreq *r = arg;
    dns_mxreq_unlink(r);
    event_free(r->done_ev);
    r->done_ev = NULL;
    r->cb(r->arg, &r->ans);
    free(r);
}

/* Combines the A and AAAA outcomes of one host into its addr_rc. */
static bc_dns_rc dns_combine(bc_dns_rc v4, bc_dns_rc v6, int naddrs)
{
    if (naddrs > 0)
        return BC_DNS_OK;
    if (v4 == BC_DNS_TEMPFAIL || v6 == BC_DNS_TEMPFAIL)
        return BC_DNS_TEMPFAIL;
    if (v4 == BC_DNS_NXDOMAIN || v6 == BC_DNS_NXDOMAIN)
        return BC_DNS_NXDOMAIN;
    return BC_DNS_NODATA;
}

/* All lookups are in: append IPv6 after IPv4, set every host's addr_rc and
 * the overall rc, and schedule delivery. */
static void dns_mxreq_finish(dns_mxreq *r)
{
    bc_mx_answer *a = &r->ans;
    if (a->rc == BC_DNS_OK) {
        for (int i = 0; i < a->nhosts; i++) {
            bc_mx_host *h = &a->hosts[i];
            for (int j = 0; j < r->nv6[i] && h->naddrs < BC_DNS_MAX_ADDRS; j++)
                h->addrs[h->naddrs++] = r->v6[i][j];
            h->addr_rc = dns_combine(r->v4_rc[i], r->v6_rc[i], h->naddrs);
        }
        if (a->implicit && a->hosts[0].addr_rc != BC_DNS_OK) {
            /* No MX and no address: no mail server, unless we could not tell. */
            a->rc = a->hosts[0].addr_rc == BC_DNS_TEMPFAIL ? BC_DNS_TEMPFAIL : BC_DNS_NODATA;
            a->implicit = false;
            a->nhosts = 0;
            memset(&a->hosts[0], 0, sizeof a->hosts[0]);
        }
    }
    if (a->rc != BC_DNS_TEMPFAIL && a->rc != BC_DNS_OK)
        a->error[0] = '\0';
    a->from_cache = r->all_cached;
    event_active(r->done_ev, EV_TIMEOUT, 1);
}

/* Drops one outstanding count; the last one finishes the request. */
static void dns_mxreq_release(dns_mxreq *r)
{
    if (--r->pending == 0)
        dns_mxreq_finish(r);
}

static void dns_mxreq_on_lookup(void *arg, int tag, const dns_rrset *rs, const char *error, bool cached);

/* Starts the A and AAAA lookups of host i. */
static void dns_mxreq_addrs(dns_mxreq *r, int i)
{
    r->pending += 2;
    dns_lookup_start(r->d, r->ans.hosts[i].host, ns_t_a, dns_mxreq_on_lookup, r, 2 * i);
    dns_lookup_start(r->d, r->ans.hosts[i].host, ns_t_aaaa, dns_mxreq_on_lookup, r, 2 * i + 1);
}

/* Keeps the first TEMPFAIL message of the request. */
static void dns_mxreq_note_error(dns_mxreq *r, const char *error)
{
    if (!r->ans.error[0] && error && error[0])
        snprintf(r->ans.error, sizeof r->ans.error, "%s", error);
}

/* The MX answer decides what comes next: the hosts' addresses, the
 * domain's own addresses (implicit MX), or the end. */
static void dns_mxreq_on_mx(dns_mxreq *r, const dns_rrset *rs, const char *error)
{
    bc_mx_answer *a = &r->ans;
    switch (rs->rc) {
    case BC_DNS_OK:
        a->rc = BC_DNS_OK;
        a->nhosts = rs->n < BC_DNS_MAX_MX ? rs->n : BC_DNS_MAX_MX;
        for (int i = 0; i < a->nhosts; i++) {
            snprintf(a->hosts[i].host, sizeof a->hosts[i].host, "%s", rs->mx[i].host);
            a->hosts[i].preference = rs->mx[i].pref;
        }
        for (int i = 0; i < a->nhosts; i++)
            dns_mxreq_addrs(r, i);
        break;
    case BC_DNS_NODATA:
        a->rc = BC_DNS_OK;
        a->implicit = true;
        a->nhosts = 1;
        snprintf(a->hosts[0].host, sizeof a->hosts[0].host, "%s", r->domain);
        dns_mxreq_addrs(r, 0);
        break;
    case BC_DNS_TEMPFAIL:
        a->rc = BC_DNS_TEMPFAIL;
        dns_mxreq_note_error(r, error);
        break;
    default: a->rc = rs->rc; break;
    }
}

/* One lookup of the request came back (tag -1: MX; 2i / 2i+1: A / AAAA
 * of host i). */
static void dns_mxreq_on_lookup(void *arg, int tag, const dns_rrset *rs, const char *error, bool cached)
{
    dns_mxreq *r = arg;
    if (!cached)
        r->all_cached = false;
    if (tag == DNS_TAG_MX) {
        dns_mxreq_on_mx(r, rs, error);
    } else {
        int i = tag / 2;
        if (rs->rc == BC_DNS_TEMPFAIL)
            dns_mxreq_note_error(r, error);
        if (tag % 2 == 0) {
            bc_mx_host *h = &r->ans.hosts[i];
            r->v4_rc[i] = rs->rc;
            for (int j = 0; rs->rc == BC_DNS_OK && j < rs->n && h->naddrs < BC_DNS_MAX_ADDRS; j++)
                h->addrs[h->naddrs++] = rs->addrs[j];
        } else {
            r->v6_rc[i] = rs->rc;
            for (int j = 0; rs->rc == BC_DNS_OK && j < rs->n && r->nv6[i] < BC_DNS_MAX_ADDRS; j++)
                r->v6[i][r->nv6[i]++] = rs->addrs[j];
        }
    }
    dns_mxreq_release(r);
}

/* Lower-cases `in` into out without a trailing dot; false when it cannot
 * be a DNS name (empty, too long, empty label). */
static bool dns_normalise(char *out, size_t outlen, const char *in)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253 || n >= outlen)
        return false;
    bc_dns_copy_name(out, outlen, in);
    out[n] = '\0';
    return strstr(out, "..") == NULL && out[0] != '.';
}

void bc_dns_resolve_mx(bc_dns *d, const char *ascii_domain, bc_mx_cb cb, void *arg)
{
    if (!d || !cb)
        return;
    dns_mxreq *r = calloc(1, sizeof *r);
    if (r)
        r->done_ev = event_new(d->loop.base, -1, 0, dns_mxreq_deliver, r);
    if (!r || !r->done_ev) {
        /* Nothing can be scheduled without memory: the one exception to
         * "never synchronously", documented in dns.h. */
        bc_mx_answer *a = calloc(1, sizeof *a);
        free(r);
        if (a) {
            a->rc = BC_DNS_TEMPFAIL;
            snprintf(a->error, sizeof a->error, "out of memory");
            cb(arg, a);
            free(a);
        }
        return;
    }
    r->d = d;
    r->cb = cb;
    r->arg = arg;
    r->all_cached = true;
    r->next = d->reqs;
    if (d->reqs)
        d->reqs->prev = r;
    d->reqs = r;
    if (d->closing)
        return; /* started from a CANCELLED callback: bc_dns_free cancels it too */
    if (!ascii_domain || !dns_normalise(r->domain, sizeof r->domain, ascii_domain)) {
        r->ans.rc = BC_DNS_NXDOMAIN;
        r->all_cached = false;
        dns_mxreq_finish(r);
        return;
    }
    r->pending = 2; /* the MX lookup, and a guard while lookups start */
    dns_lookup_start(d, r->domain, ns_t_mx, dns_mxreq_on_lookup, r, DNS_TAG_MX);
    dns_mxreq_release(r);
}

/* --------------------------------------------------------- construction */

bc_error bc_dns_new(bc_dns **out, struct event_base *base, const bc_dns_options *opts, char *errbuf, size_t errlen)
{
    if (!out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_dns_new: out is NULL");
    *out = NULL;
    if (!base)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_dns_new: no event base");
    bc_dns_options o = { 0 };
    if (opts)
        o = *opts;
    if (o.timeout_ms < 0 || o.tries < 0 || o.max_cache_entries < 0)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_dns_new: negative option");
    if (o.servers && !o.servers[0])
        return bc_seterr(errbuf, errlen, BC_EINVAL, "empty DNS server list");

    bc_dns *d = calloc(1, sizeof *d);
    if (!d)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    d->max_entries = (size_t)(o.max_cache_entries ? o.max_cache_entries : DNS_DEFAULT_CACHE);
    d->nbuckets = DNS_BUCKETS_MIN;
    d->buckets = calloc(d->nbuckets, sizeof *d->buckets);
    if (!bc_ares_loop_init(&d->loop, base) || !bc_ares_loop_init(&d->tcp, base) || !d->buckets) {
        bc_dns_free(d);
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    }

    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    /* NOCHECKRESP: c-ares 1.18 would otherwise swallow SERVFAIL / REFUSED
     * to try the next server and, once out of servers, report them as
     * "connection refused". We prefer the true cause in the message over
     * that failover; timeouts and unreachable servers still fail over. */
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    ao.timeout = o.timeout_ms ? o.timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
    ao.tries = o.tries ? o.tries : DNS_DEFAULT_TRIES;
    /* TCP for truncated answers on a channel of its own: a server that
     * fails over TCP then fails only the questions that needed TCP (c-ares
     * 1.18 retries every question of a server whose connection broke). */
    struct ares_options tcp_ao = ao;
    tcp_ao.flags |= ARES_FLAG_USEVC;
    /* IGNTC: truncated answers come to dns_on_answer, which asks again on
     * the TCP channel and remembers that it did. */
    ao.flags |= ARES_FLAG_IGNTC;
    /* Room for the answers of DNS_MAX_SENT questions between two turns of
     * the loop (the kernel caps it at net.core.rmem_max). */
    ao.socket_receive_buffer_size = DNS_RCVBUF;
    bc_error st = bc_ares_loop_open(&d->loop, &ao,
                                    ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_RCVBUF,
                                    o.servers, errbuf, errlen);
    if (st == BC_OK)
        st = bc_ares_loop_open(&d->tcp, &tcp_ao, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES, o.servers,
                               errbuf, errlen);
    if (st != BC_OK) {
        bc_dns_free(d);
        return st;
    }
    *out = d;
    return BC_OK;
}

void bc_dns_free(bc_dns *d)
{
    if (!d)
        return;
    d->closing = true;
    /* Fires dns_on_answer with ARES_EDESTRUCTION for every query in flight,
     * which frees the lookups. */
    bc_ares_loop_close(&d->loop);
    bc_ares_loop_close(&d->tcp);
    while (d->waiting) { /* never sent: their requests are cancelled below */
        dns_lookup *l = d->waiting;
        d->waiting = l->next;
        free(l->waiters);
        free(l);
    }
    d->waiting_tail = NULL;
    /* Every request not yet delivered gets CANCELLED, exactly once. A
     * callback that starts a new request adds it to this list, and it is
     * cancelled in turn. */
    while (d->reqs) {
        dns_mxreq *r = d->reqs;
        dns_mxreq_unlink(r);
        event_free(r->done_ev);
        memset(&r->ans, 0, sizeof r->ans);
        r->ans.rc = BC_DNS_CANCELLED;
        r->cb(r->arg, &r->ans);
        free(r);
    }
    while (d->oldest)
        dns_cache_remove(d, d->oldest);
    free(d->buckets);
    free(d);
}

void bc_dns_get_stats(const bc_dns *d, bc_dns_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!d)
        return;
    *out = d->stats;
    out->cache_entries = (unsigned long)d->nentries;
}

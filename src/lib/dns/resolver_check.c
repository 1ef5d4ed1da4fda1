/*
 * resolver_check.c - the resolver check of resolver_check.h: two questions
 * on a c-ares channel of its own (the root zone's NS, and the A record of
 * a random name that cannot exist), the verdict and its message; and
 * bc_resolver_check, the same check blocking on an event base of its own.
 *
 * Answers are read with glibc's message parser (ns_initparse /
 * ns_parserr), as dns.c and resolver.c read theirs.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <ares.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ares_loop.h"
#include "core/internal.h"
#include "dns/dns.h"
#include "dns/resolver_check.h"

#define RC_NX_PREFIX "bouncecheck-nx-"
#define RC_NX_HEX 20 /* 80 random bits */
#define RC_SERVERS_DESC 128

/* One of the two questions and what came back. */
typedef struct rc_answer {
    struct bc_rcheck *c;
    int type;          /* ns_t_ns or ns_t_a */
    const char *owner; /* the name asked, as answers own it ("" for the root) */
    bool done;
    int status;                   /* c-ares status (NOCHECKRESP: the rcode's) */
    int count;                    /* records of the asked type owned by the asked name */
    char first[INET6_ADDRSTRLEN]; /* the random name's first address, for the message */
} rc_answer;

struct bc_rcheck {
    bc_ares_loop loop;     /* the channel on the caller's base */
    struct event *done_ev; /* owned; made active when both answers are in */
    bool closing;          /* inside bc_rcheck_free: ignore c-ares's callbacks */
    bc_rcheck_cb cb;
    void *arg;
    char nx_name[sizeof RC_NX_PREFIX + RC_NX_HEX + 8]; /* "bouncecheck-nx-<hex>.com" */
    char who[RC_SERVERS_DESC + 16];                    /* "resolver 10.0.0.1" */
    rc_answer root, nx;
};

/* A random name under com that no one has registered: the prefix and
 * RC_NX_HEX hex digits of randomness. */
static void rc_random_name(char *buf, size_t buflen)
{
    unsigned char rnd[RC_NX_HEX / 2];
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        /* No entropy from OpenSSL: the clock still makes a name that no
         * cache has seen. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long t = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
        for (size_t i = 0; i < sizeof rnd; i++)
            rnd[i] = (unsigned char)(t >> (i % 8 * 8));
    }
    char hex[RC_NX_HEX + 1];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, sizeof hex - 2 * i, "%02x", rnd[i]);
    bc_strf(buf, buflen, "%s%s.com", RC_NX_PREFIX, hex);
}

/* Counts the answer records of the asked type owned by the asked name
 * and, for A records, keeps the first address in a->first. */
static void rc_count(rc_answer *a, const unsigned char *abuf, int alen)
{
    ns_msg msg;
    if (!abuf || alen <= 0 || ns_initparse(abuf, alen, &msg) < 0)
        return;
    int n = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < n; i++) {
        ns_rr rr;
        char name[NS_MAXDNAME];
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
            return;
        if ((int)ns_rr_type(rr) != a->type || ns_rr_class(rr) != ns_c_in)
            continue;
        bc_dns_copy_name(name, sizeof name, ns_rr_name(rr));
        if (strcmp(name, a->owner) != 0)
            continue;
        if (a->count++ == 0 && a->type == ns_t_a && ns_rr_rdlen(rr) == NS_INADDRSZ)
            inet_ntop(AF_INET, ns_rr_rdata(rr), a->first, sizeof a->first);
    }
}

/* c-ares is done with both questions: deliver from the loop. */
static void rc_maybe_done(bc_rcheck *c)
{
    if (c->root.done && c->nx.done)
        event_active(c->done_ev, EV_TIMEOUT, 1);
}

/* c-ares is done with one question (or is destroying it). */
static void rc_on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    rc_answer *a = arg;
    bc_rcheck *c = a->c;
    if (c->closing || status == ARES_EDESTRUCTION)
        return;
    a->done = true;
    a->status = status;
    if (status == ARES_SUCCESS)
        rc_count(a, abuf, alen);
    rc_maybe_done(c);
}

/* What a failed question's status says, after "resolver X ". */
static const char *rc_failure(int status, char *buf, size_t buflen)
{
    switch (status) {
    case ARES_ETIMEOUT: return "timed out";
    case ARES_ECONNREFUSED: return "cannot be reached (connection refused)";
    case ARES_ESERVFAIL: return "answers SERVFAIL";
    case ARES_EREFUSED: return "answers REFUSED";
    case ARES_EFORMERR: return "answers FORMERR";
    case ARES_ENOTIMP: return "answers NOTIMP";
    case ARES_EBADRESP: return "sends malformed answers";
    default: bc_strf(buf, buflen, "fails (%s)", ares_strerror(status)); return buf;
    }
}

/* The verdict on both answers, its message in msg. Root first: a resolver
 * that cannot name the root's servers says nothing useful about the rest. */
static bool rc_judge(const bc_rcheck *c, char *msg, size_t msglen)
{
    char tmp[96];
    const rc_answer *r = &c->root, *x = &c->nx;
    if (r->status == ARES_ENOTFOUND) {
        bc_strf(msg, msglen, "%s answers NXDOMAIN for the root zone's NS", c->who);
        return false;
    }
    if (r->status == ARES_ENODATA || (r->status == ARES_SUCCESS && r->count == 0)) {
        bc_strf(msg, msglen, "%s answers no NS records for the root zone", c->who);
        return false;
    }
    if (r->status != ARES_SUCCESS) {
        bc_strf(msg, msglen, "%s %s when asked for the root zone's NS", c->who,
                rc_failure(r->status, tmp, sizeof tmp));
        return false;
    }
    if (x->status == ARES_ENOTFOUND) {
        bc_strf(msg, msglen,
                "%s answers the root zone's NS (%d record%s) and NXDOMAIN for a name that cannot exist", c->who,
                r->count, r->count == 1 ? "" : "s");
        return true;
    }
    if (x->status == ARES_SUCCESS && x->count > 0) {
        bc_strf(msg, msglen, "%s invents an answer for a name that cannot exist (%s A %s)", c->who, c->nx_name,
                x->first[0] ? x->first : "?");
        return false;
    }
    if (x->status == ARES_SUCCESS || x->status == ARES_ENODATA) {
        bc_strf(msg, msglen, "%s invents an answer for a name that cannot exist (%s exists, without an A record)",
                c->who, c->nx_name);
        return false;
    }
    bc_strf(msg, msglen, "%s %s when asked for a name that cannot exist (%s)", c->who,
            rc_failure(x->status, tmp, sizeof tmp), c->nx_name);
    return false;
}

/* Delivery from the loop. The callback may free c: nothing of it is
 * touched afterwards. */
static void rc_deliver(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bc_rcheck *c = arg;
    char msg[BC_RCHECK_MSG_MAX];
    bool ok = rc_judge(c, msg, sizeof msg);
    c->cb(c->arg, ok, msg);
}

bc_rcheck *bc_rcheck_start(struct event_base *base, const char *servers, int timeout_ms, bc_rcheck_cb cb,
                           void *arg, char *err, size_t errlen)
{
    if (!base || !cb || timeout_ms < 0) {
        bc_seterr(err, errlen, BC_EINVAL, "resolver check: bad arguments");
        return NULL;
    }
    if (servers && !servers[0]) {
        bc_seterr(err, errlen, BC_EINVAL, "empty DNS server list");
        return NULL;
    }
    bc_rcheck *c = calloc(1, sizeof *c);
    if (!c) {
        bc_seterr(err, errlen, BC_ENOMEM, "out of memory");
        return NULL;
    }
    c->cb = cb;
    c->arg = arg;
    c->done_ev = event_new(base, -1, 0, rc_deliver, c);
    if (!c->done_ev || !bc_ares_loop_init(&c->loop, base)) {
        bc_rcheck_free(c);
        bc_seterr(err, errlen, BC_ENOMEM, "out of memory");
        return NULL;
    }
    struct ares_options ao;
    memset(&ao, 0, sizeof ao);
    /* The verifier's flags (dns.c): SERVFAIL and REFUSED come back as
     * such, timeouts and unreachable servers fail over. */
    ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_NOCHECKRESP;
    ao.timeout = timeout_ms ? timeout_ms : BC_RCHECK_TIMEOUT_MS;
    ao.tries = BC_RCHECK_TRIES;
    if (bc_ares_loop_open(&c->loop, &ao, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES, servers, err,
                          errlen) != BC_OK) {
        bc_rcheck_free(c);
        return NULL;
    }
    char desc[RC_SERVERS_DESC];
    int n = bc_ares_loop_servers(&c->loop, desc, sizeof desc);
    bc_strf(c->who, sizeof c->who, "%s %s", n > 1 ? "resolvers" : "resolver", desc);
    rc_random_name(c->nx_name, sizeof c->nx_name);
    /* Either may answer at once (a name c-ares rejects, no memory): the
     * delivery still waits for the loop. */
    c->root = (rc_answer){ .c = c, .type = ns_t_ns, .owner = "" };
    c->nx = (rc_answer){ .c = c, .type = ns_t_a, .owner = c->nx_name };
    ares_query(c->loop.channel, ".", ns_c_in, ns_t_ns, rc_on_answer, &c->root);
    ares_query(c->loop.channel, c->nx_name, ns_c_in, ns_t_a, rc_on_answer, &c->nx);
    bc_ares_loop_reschedule(&c->loop);
    return c;
}

void bc_rcheck_free(bc_rcheck *c)
{
    if (!c)
        return;
    c->closing = true;
    bc_ares_loop_close(&c->loop); /* ends both questions with ARES_EDESTRUCTION */
    if (c->done_ev)
        event_free(c->done_ev);
    free(c);
}

/* ---- the blocking form (bouncecheck.h) --------------------------------------- */

typedef struct rc_wait {
    bool done, ok;
    char *msg;
    size_t msglen;
} rc_wait;

static void rc_wait_cb(void *arg, bool ok, const char *msg)
{
    rc_wait *w = arg;
    w->done = true;
    w->ok = ok;
    if (w->msg && w->msglen)
        snprintf(w->msg, w->msglen, "%s", msg);
}

int bc_resolver_check(const char *dns_servers, int timeout_ms, char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    struct event_base *base = event_base_new();
    if (!base) {
        bc_seterr(msg, msglen, BC_ENOMEM, "resolver check: cannot create an event base");
        return -1;
    }
    rc_wait w = { .msg = msg, .msglen = msglen };
    bc_rcheck *c = bc_rcheck_start(base, dns_servers, timeout_ms, rc_wait_cb, &w, msg, msglen);
    if (!c) {
        event_base_free(base);
        return -1;
    }
    /* c-ares ends both questions by its own timeouts, so the loop always
     * has the channel's timer or sockets until the answer is in. */
    while (!w.done && event_base_loop(base, EVLOOP_ONCE) == 0)
        ;
    bc_rcheck_free(c);
    event_base_free(base);
    if (!w.done) {
        bc_seterr(msg, msglen, BC_EIO, "resolver check: the event loop stopped early");
        return -1;
    }
    return w.ok ? 1 : 0;
}

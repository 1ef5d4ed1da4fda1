/*
 * conns.c - the guard of the HTTP connections, wired into libmicrohttpd by
 * http.c: how many connections one client address may hold
 * (--max-connections-per-ip), the server's limit (--max-connections), and
 * the deadlines of a request. The deadlines count from a fixed moment, not
 * from the last byte (a client that sends a byte a second never looks idle):
 *
 *   - the request line and the headers complete within --header-timeout of
 *     the connection's start;
 *   - a body at --body-min-rate bytes a second on average once the first
 *     --header-timeout seconds after its headers are over, so the time a
 *     body may take grows with its size and a drip is cut;
 *   - between two requests of a keep-alive connection, --keepalive-timeout
 *     seconds idle at most (libmicrohttpd's idle timer, shortened
 *     meanwhile), and the next headers complete within --keepalive-timeout
 *     plus --header-timeout of the previous answer.
 * Once a request is being answered only --request-timeout (libmicrohttpd's
 * idle timer) applies: the server's own work has no deadline here.
 *
 * A thread (the sweeper) looks at the connections every SWEEP_MS and shuts
 * down the socket of each late one; libmicrohttpd then reads its end and
 * closes it. A socket stays open until MHD_CONNECTION_NOTIFY_CLOSED, which
 * takes the same lock, so the sweeper never shuts down a descriptor that
 * another connection reuses.
 *
 * A connection beyond a limit is closed at once, never left waiting in the
 * listen queue: by the accept policy, before libmicrohttpd sets it up, and
 * exactly (the accept policies of two threads may race) when it starts. At
 * the server's limit a new connection takes the place of the one that has
 * waited longest with no request in progress (no complete headers yet, or
 * idle between requests), so connections that send nothing useful cannot
 * keep others out; only when every connection has a request in progress is
 * the new one closed.
 *
 * Behind a --trusted-proxy the client is the X-Forwarded-For entry the
 * proxies vouch for: the rightmost one that is not a trusted proxy. The
 * limit then counts that client's requests in progress, a request beyond it
 * is answered 429, and the proxy's own address is not limited. IPv4
 * addresses count one by one, IPv6 ones by their /64 (one subscriber's
 * network).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sv.h"

#define SWEEP_MS 100
#define REPORT_MS 60000 /* a summary of refusals and cuts in the log, at most this often */

/* An address: IPv4 as ::ffff:a.b.c.d. As counted, IPv6 cut to its /64. */
typedef struct ipkey {
    unsigned char b[16];
} ipkey;

typedef struct cidr {
    unsigned char b[16];
    int bits; /* of the 128 */
} cidr;

typedef struct ipcount {
    ipkey k;
    int n;
    struct ipcount *next;
} ipcount;

typedef enum phase {
    PH_HEAD,   /* waiting for the first request's headers */
    PH_BODY,   /* headers in, a body arriving */
    PH_ANSWER, /* being answered: no deadline here */
    PH_IDLE,   /* between two requests */
    PH_GONE,   /* refused, replaced or cut: closing */
} phase;

/* One connection (libmicrohttpd's socket context). */
typedef struct conn {
    struct conn *prev, *next;
    int fd;
    ipkey peer;      /* as counted */
    bool proxy;      /* the peer is a trusted proxy */
    bool counted;    /* in the total, and for peer unless proxy */
    bool has_client; /* a proxied request counted for client */
    ipkey client;
    bool idled; /* libmicrohttpd's idle timeout is --keepalive-timeout */
    phase ph;
    int64_t since; /* ms: when the phase began */
    int64_t got;   /* PH_BODY: body bytes */
} conn;

struct sv_conns {
    const sv_opts *o;
    sv_metrics *m;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool started, stop;
    conn *head, *tail; /* in the order they started */
    int total;         /* counted connections */
    int waiting;       /* of which with no request in progress (PH_HEAD, PH_IDLE) */
    ipcount **buckets;
    size_t nbuckets; /* a power of two */
    cidr *proxies;
    size_t nproxies;
    uint64_t reported[SV_CONN_REFUSED_N + SV_CONN_CUT_N];
    int64_t report_ms;
};

/* ---- addresses ----------------------------------------------------------------------- */

static bool v4mapped(const unsigned char *a)
{
    static const unsigned char pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    return memcmp(a, pre, sizeof pre) == 0;
}

static void set_v4(unsigned char out[16], const void *in4)
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, in4, 4);
}

/* A socket address into out; false (out zeroed) when it is not IP. */
static bool sa_addr(const struct sockaddr *sa, unsigned char out[16])
{
    memset(out, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        struct sockaddr_in a;
        memcpy(&a, sa, sizeof a);
        set_v4(out, &a.sin_addr);
        return true;
    }
    if (sa && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 a;
        memcpy(&a, sa, sizeof a);
        memcpy(out, &a.sin6_addr, 16);
        return true;
    }
    return false;
}

static void count_key(const unsigned char a[16], ipkey *k)
{
    memcpy(k->b, a, 16);
    if (!v4mapped(a))
        memset(k->b + 8, 0, 8);
}

/* An IPv4 or IPv6 address of n characters into out. */
static bool parse_addr(const char *s, size_t n, unsigned char out[16])
{
    char buf[INET6_ADDRSTRLEN + 1];
    struct in_addr a4;
    struct in6_addr a6;
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        set_v4(out, &a4);
        return true;
    }
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        memcpy(out, &a6, 16);
        return true;
    }
    return false;
}

/* ADDR or ADDR/BITS. */
static bool parse_cidr(const char *s, size_t n, cidr *c)
{
    const char *slash = memchr(s, '/', n);
    size_t an = slash ? (size_t)(slash - s) : n;
    if (!parse_addr(s, an, c->b))
        return false;
    bool v4 = v4mapped(c->b) && memchr(s, ':', an) == NULL;
    int max = v4 ? 32 : 128;
    c->bits = 128;
    if (slash) {
        char digits[8];
        size_t dn = n - an - 1;
        if (dn == 0 || dn >= sizeof digits)
            return false;
        memcpy(digits, slash + 1, dn);
        digits[dn] = '\0';
        char *end;
        long bits = strtol(digits, &end, 10);
        if (*end || bits < 0 || bits > max || digits[0] < '0' || digits[0] > '9')
            return false;
        c->bits = (int)bits + (v4 ? 96 : 0);
    }
    return true;
}

static bool in_cidr(const cidr *c, const unsigned char a[16])
{
    size_t full = (size_t)c->bits / 8;
    int rest = c->bits % 8;
    if (memcmp(c->b, a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->b[full] & mask) == (a[full] & mask);
}

static bool trusted(const sv_conns *cs, const unsigned char a[16])
{
    for (size_t i = 0; i < cs->nproxies; i++)
        if (in_cidr(&cs->proxies[i], a))
            return true;
    return false;
}

/* The next comma-separated item of *p, blanks trimmed (maybe empty); false
 * when there is none left. */
static bool next_item(const char **p, const char **item, size_t *len)
{
    const char *s = *p;
    if (!s)
        return false;
    const char *comma = strchr(s, ',');
    const char *e = comma ? comma : s + strlen(s);
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *item = s;
    *len = (size_t)(e - s);
    *p = comma ? comma + 1 : NULL;
    return true;
}

/* Every ADDR[/BITS] of spec into out (when not NULL); the count, or -1 with err. */
static int parse_proxies(const char *spec, cidr *out, char *err, size_t errlen)
{
    const char *p = spec, *item;
    size_t len;
    int n = 0;
    while (next_item(&p, &item, &len)) {
        cidr c;
        if (!parse_cidr(item, len, &c)) {
            sv_fmt(err, errlen, "'%.*s' is not an IP address or ADDRESS/BITS", (int)len, item);
            return -1;
        }
        if (out)
            out[n] = c;
        n++;
    }
    return n;
}

int sv_conns_check_proxies(const char *spec, char *err, size_t errlen)
{
    return parse_proxies(spec, NULL, err, errlen) < 0 ? -1 : 0;
}

/* ---- counts by address (the lock held) ----------------------------------------------- */

static ipcount **slot(sv_conns *cs, const ipkey *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof k->b; i++)
        h = (h ^ k->b[i]) * 1099511628211ULL;
    ipcount **p = &cs->buckets[h & (cs->nbuckets - 1)];
    while (*p && memcmp((*p)->k.b, k->b, sizeof k->b) != 0)
        p = &(*p)->next;
    return p;
}

static int count_of(sv_conns *cs, const ipkey *k)
{
    ipcount *e = *slot(cs, k);
    return e ? e->n : 0;
}

static bool count_add(sv_conns *cs, const ipkey *k)
{
    ipcount **p = slot(cs, k);
    if (!*p) {
        *p = calloc(1, sizeof **p);
        if (!*p)
            return false;
        (*p)->k = *k;
    }
    (*p)->n++;
    return true;
}

static void count_del(sv_conns *cs, const ipkey *k)
{
    ipcount **p = slot(cs, k);
    ipcount *e = *p;
    if (e && --e->n <= 0) {
        *p = e->next;
        free(e);
    }
}

/* ---- connections (the lock held) ------------------------------------------------------ */

static bool waits(phase ph)
{
    return ph == PH_HEAD || ph == PH_IDLE;
}

static void set_phase(sv_conns *cs, conn *cn, phase ph, int64_t now)
{
    if (cn->counted)
        cs->waiting += (int)waits(ph) - (int)waits(cn->ph);
    cn->ph = ph;
    cn->since = now;
    cn->got = 0;
}

/* Gives back the connection's place and its proxied client's. */
static void uncount(sv_conns *cs, conn *cn)
{
    if (cn->counted) {
        cs->waiting -= (int)waits(cn->ph);
        cs->total--;
        if (!cn->proxy)
            count_del(cs, &cn->peer);
        cn->counted = false;
        atomic_fetch_sub(&cs->m->conns_open, 1);
    }
    if (cn->has_client) {
        count_del(cs, &cn->client);
        cn->has_client = false;
    }
}

static void cut(sv_conns *cs, conn *cn, sv_conn_cut why)
{
    uncount(cs, cn);
    cn->ph = PH_GONE;
    if (cn->fd >= 0)
        shutdown(cn->fd, SHUT_RDWR);
    atomic_fetch_add(&cs->m->conns_cut[why], 1);
}

/* Why a new connection from peer is refused, or -1: it may come in
 * (maybe in the place of a waiting one). */
static int refusal(sv_conns *cs, const ipkey *peer, bool proxy)
{
    int per_ip = cs->o->max_connections_per_ip;
    if (!proxy && per_ip > 0 && count_of(cs, peer) >= per_ip)
        return SV_CONN_REFUSED_PER_IP;
    if (cs->total >= cs->o->max_connections && cs->waiting == 0)
        return SV_CONN_REFUSED_FULL;
    return -1;
}

/* At the limit: the connection that has waited longest with no request in
 * progress makes room. */
static void replace_one(sv_conns *cs)
{
    conn *victim = NULL;
    for (conn *x = cs->head; x; x = x->next)
        if (x->counted && waits(x->ph) && (!victim || x->since < victim->since))
            victim = x;
    if (victim)
        cut(cs, victim, SV_CONN_CUT_REPLACED);
}

static bool body_slow(const sv_opts *o, int64_t elapsed_ms, int64_t got)
{
    int64_t grace = (int64_t)o->header_timeout * 1000;
    return o->body_min_rate > 0 && elapsed_ms > grace && got < (elapsed_ms - grace) * o->body_min_rate / 1000;
}

/* Why x is late at now, or -1. */
static int late(const sv_conns *cs, const conn *x, int64_t now)
{
    const sv_opts *o = cs->o;
    int64_t el = now - x->since, head = (int64_t)o->header_timeout * 1000;
    switch (x->ph) {
    case PH_HEAD: return el >= head ? SV_CONN_CUT_HEADERS : -1;
    case PH_IDLE: return el >= head + (int64_t)o->keepalive_timeout * 1000 ? SV_CONN_CUT_IDLE : -1;
    case PH_BODY: return body_slow(o, el, x->got) ? SV_CONN_CUT_BODY : -1;
    case PH_ANSWER:
    case PH_GONE: return -1;
    }
    return -1;
}

/* A line in the log when connections were refused or cut since the last one. */
static void report(sv_conns *cs, int64_t now)
{
    if (now - cs->report_ms < REPORT_MS)
        return;
    uint64_t n[SV_CONN_REFUSED_N + SV_CONN_CUT_N];
    bool any = false;
    for (int i = 0; i < SV_CONN_REFUSED_N + SV_CONN_CUT_N; i++) {
        n[i] = i < SV_CONN_REFUSED_N ? atomic_load(&cs->m->conns_refused[i])
                                     : atomic_load(&cs->m->conns_cut[i - SV_CONN_REFUSED_N]);
        any |= n[i] != cs->reported[i];
    }
    if (any) {
        uint64_t *r = cs->reported;
        wk_log("http: since the last report, connections refused: %llu (--max-connections-per-ip), %llu (server"
               " full); closed: %llu (headers late), %llu (body too slow), %llu (idle), %llu (replaced when full)",
               (unsigned long long)(n[0] - r[0]), (unsigned long long)(n[1] - r[1]),
               (unsigned long long)(n[2] - r[2]), (unsigned long long)(n[3] - r[3]),
               (unsigned long long)(n[4] - r[4]), (unsigned long long)(n[5] - r[5]));
        memcpy(cs->reported, n, sizeof n);
    }
    cs->report_ms = now;
}

static void *sweep_main(void *arg)
{
    sv_conns *cs = arg;
    pthread_mutex_lock(&cs->lock);
    while (!cs->stop) {
        int64_t now = sv_mono_ms();
        for (conn *x = cs->head; x; x = x->next) {
            int why = late(cs, x, now);
            if (why >= 0)
                cut(cs, x, (sv_conn_cut)why);
        }
        report(cs, now);
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += SWEEP_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&cs->cond, &cs->lock, &ts);
    }
    pthread_mutex_unlock(&cs->lock);
    return NULL;
}

/* ---- the guard ------------------------------------------------------------------------ */

sv_conns *sv_conns_new(const sv_opts *o, sv_metrics *m, char *err, size_t errlen)
{
    sv_conns *cs = calloc(1, sizeof *cs);
    if (!cs) {
        sv_fmt(err, errlen, "out of memory");
        return NULL;
    }
    cs->o = o;
    cs->m = m;
    cs->nbuckets = 64;
    while (cs->nbuckets < (size_t)o->max_connections && cs->nbuckets < (1u << 16))
        cs->nbuckets *= 2;
    cs->buckets = calloc(cs->nbuckets, sizeof *cs->buckets);
    int n = 0;
    for (int i = 0; i < o->n_trusted_proxies && n >= 0; i++) {
        int k = parse_proxies(o->trusted_proxies[i], NULL, err, errlen);
        n = k < 0 ? -1 : n + k;
    }
    cs->proxies = n > 0 ? calloc((size_t)n, sizeof *cs->proxies) : NULL;
    if (n < 0 || !cs->buckets || (n > 0 && !cs->proxies)) {
        if (n >= 0)
            sv_fmt(err, errlen, "out of memory");
        free(cs->buckets);
        free(cs->proxies);
        free(cs);
        return NULL;
    }
    for (int i = 0; i < o->n_trusted_proxies; i++)
        cs->nproxies += (size_t)parse_proxies(o->trusted_proxies[i], cs->proxies + cs->nproxies, err, errlen);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&cs->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&cs->lock, NULL);
    cs->report_ms = sv_mono_ms();
    if (pthread_create(&cs->thread, NULL, sweep_main, cs) != 0) {
        sv_fmt(err, errlen, "cannot start a thread");
        sv_conns_free(cs);
        return NULL;
    }
    cs->started = true;
    return cs;
}

void sv_conns_free(sv_conns *cs)
{
    if (!cs)
        return;
    if (cs->started) {
        pthread_mutex_lock(&cs->lock);
        cs->stop = true;
        pthread_cond_signal(&cs->cond);
        pthread_mutex_unlock(&cs->lock);
        pthread_join(cs->thread, NULL);
    }
    for (size_t i = 0; i < cs->nbuckets; i++)
        while (cs->buckets[i]) {
            ipcount *e = cs->buckets[i];
            cs->buckets[i] = e->next;
            free(e);
        }
    while (cs->head) {
        conn *x = cs->head;
        cs->head = x->next;
        free(x);
    }
    pthread_cond_destroy(&cs->cond);
    pthread_mutex_destroy(&cs->lock);
    free(cs->buckets);
    free(cs->proxies);
    free(cs);
}

enum MHD_Result sv_conns_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    sv_conns *cs = cls;
    unsigned char a[16];
    ipkey k;
    (void)addrlen;
    bool ip = sa_addr(addr, a);
    count_key(a, &k);
    bool proxy = ip && trusted(cs, a);
    pthread_mutex_lock(&cs->lock);
    int why = refusal(cs, &k, proxy);
    pthread_mutex_unlock(&cs->lock);
    if (why < 0)
        return MHD_YES;
    atomic_fetch_add(&cs->m->conns_refused[why], 1);
    return MHD_NO;
}

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void started(sv_conns *cs, struct MHD_Connection *c, void **socket_context)
{
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int fd = fi ? fi->connect_fd : -1;
    conn *cn = calloc(1, sizeof *cn);
    if (!cn) {
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        return;
    }
    unsigned char a[16];
    bool ip = sa_addr(ai ? ai->client_addr : NULL, a);
    cn->fd = fd;
    count_key(a, &cn->peer);
    cn->proxy = ip && trusted(cs, a);
    cn->ph = PH_HEAD;
    cn->since = sv_mono_ms();
    pthread_mutex_lock(&cs->lock);
    cn->prev = cs->tail;
    if (cs->tail)
        cs->tail->next = cn;
    else
        cs->head = cn;
    cs->tail = cn;
    int why = refusal(cs, &cn->peer, cn->proxy);
    if (why < 0 && cs->total >= cs->o->max_connections)
        replace_one(cs);
    if (why < 0 && (cn->proxy || count_add(cs, &cn->peer))) {
        cn->counted = true;
        cs->total++;
        cs->waiting++;
        atomic_fetch_add(&cs->m->conns_open, 1);
    } else {
        cn->ph = PH_GONE;
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        atomic_fetch_add(&cs->m->conns_refused[why < 0 ? SV_CONN_REFUSED_FULL : why], 1);
    }
    pthread_mutex_unlock(&cs->lock);
    *socket_context = cn;
}

void sv_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode code)
{
    sv_conns *cs = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        started(cs, c, socket_context);
        return;
    }
    conn *cn = *socket_context;
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || !cn)
        return;
    pthread_mutex_lock(&cs->lock);
    uncount(cs, cn);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        cs->head = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    else
        cs->tail = cn->prev;
    pthread_mutex_unlock(&cs->lock);
    free(cn);
    *socket_context = NULL;
}

/* X-Forwarded-For, read left to right: the rightmost entry that no trusted
 * proxy is, is the client (every entry right of it was added by a trusted
 * proxy; what is left of it, the client may have written itself). */
typedef struct xff_walk {
    const sv_conns *cs;
    bool found;   /* an entry that is no trusted proxy */
    bool address; /* ... and is an address: in a */
    unsigned char a[16];
} xff_walk;

/* An entry: ADDR, IPV4:PORT, [IPV6] or [IPV6]:PORT. */
static bool forwarded_addr(const char *s, size_t n, unsigned char out[16])
{
    if (n && s[0] == '[') {
        const char *end = memchr(s, ']', n);
        return end && parse_addr(s + 1, (size_t)(end - s - 1), out);
    }
    const char *colon = memchr(s, ':', n);
    if (colon && !memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
        n = (size_t)(colon - s);
    return parse_addr(s, n, out);
}

static enum MHD_Result xff_value(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    xff_walk *w = cls;
    (void)kind;
    if (!key || !value || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    const char *p = value, *item;
    size_t len;
    while (next_item(&p, &item, &len)) {
        unsigned char a[16];
        bool ok = forwarded_addr(item, len, a);
        if (!ok || !trusted(w->cs, a)) {
            w->found = true;
            w->address = ok;
            if (ok)
                memcpy(w->a, a, sizeof a);
        }
    }
    return MHD_YES;
}

int sv_conns_headers(sv_conns *cs, struct MHD_Connection *c)
{
    conn *cn = conn_of(c);
    if (!cn)
        return 1;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    bool body = (cl && strtoll(cl, NULL, 10) > 0) ||
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
    xff_walk w = { .cs = cs };
    ipkey client = { { 0 } };
    if (cn->proxy) {
        MHD_get_connection_values(c, MHD_HEADER_KIND, xff_value, &w);
        count_key(w.a, &client);
    }
    int ok = 1;
    pthread_mutex_lock(&cs->lock);
    bool idled = cn->idled;
    cn->idled = false;
    if (cn->has_client) {
        count_del(cs, &cn->client);
        cn->has_client = false;
    }
    if (w.found && w.address) {
        int per_ip = cs->o->max_connections_per_ip;
        if (per_ip > 0 && count_of(cs, &client) >= per_ip)
            ok = 0;
        else if (count_add(cs, &client)) {
            cn->client = client;
            cn->has_client = true;
        }
    }
    if (cn->ph != PH_GONE)
        set_phase(cs, cn, body && ok ? PH_BODY : PH_ANSWER, sv_mono_ms());
    pthread_mutex_unlock(&cs->lock);
    if (idled)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)cs->o->request_timeout);
    return ok;
}

bool sv_conns_body(sv_conns *cs, struct MHD_Connection *c, size_t n)
{
    conn *cn = conn_of(c);
    if (!cn)
        return true;
    bool slow = false;
    pthread_mutex_lock(&cs->lock);
    if (cn->ph == PH_BODY) {
        cn->got += (int64_t)n;
        slow = body_slow(cs->o, sv_mono_ms() - cn->since, cn->got);
    }
    pthread_mutex_unlock(&cs->lock);
    return !slow;
}

void sv_conns_answer(sv_conns *cs, struct MHD_Connection *c)
{
    conn *cn = conn_of(c);
    if (!cn)
        return;
    pthread_mutex_lock(&cs->lock);
    if (cn->ph == PH_BODY)
        set_phase(cs, cn, PH_ANSWER, sv_mono_ms());
    pthread_mutex_unlock(&cs->lock);
}

void sv_conns_done(sv_conns *cs, struct MHD_Connection *c, bool completed)
{
    conn *cn = conn_of(c);
    if (!cn)
        return;
    pthread_mutex_lock(&cs->lock);
    if (cn->has_client) {
        count_del(cs, &cn->client);
        cn->has_client = false;
    }
    bool idle = completed && cn->ph != PH_GONE;
    if (idle) {
        set_phase(cs, cn, PH_IDLE, sv_mono_ms());
        cn->idled = true;
    }
    pthread_mutex_unlock(&cs->lock);
    if (idle)
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)cs->o->keepalive_timeout);
}

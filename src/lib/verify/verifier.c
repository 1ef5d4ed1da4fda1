/*
 * verifier.c - the online pipeline: address -> domain facts -> SMTP probe ->
 * verdict, for many addresses at once on one libevent loop.
 *
 * The pieces:
 *  - a task per submitted address (its result, deadline, callback);
 *  - a domain record per mail domain while anything needs it: the queue of
 *    tasks waiting for a session, the catch-all fact (tested once, then
 *    cached), the per-domain connection rate. Once no task of the domain is
 *    live and no session, MX lookup or held answer needs it, the record is
 *    dropped (domain_release, from the loop) and what is worth keeping (the
 *    catch-all verdict and its time, the rate limit's next connection) goes
 *    to a bounded LRU cache (domain_facts.h) that a new record of the domain
 *    starts from; so memory follows the addresses in flight, not the
 *    domains ever seen. At most RESOLVE_MAX domains resolve at once, the
 *    others wait in order;
 *  - a host record per MX address: connections open now (capped by
 *    mx_connections) and a backoff after 421/4xx answers; past HOSTS_MAX
 *    records, idle ones (no connection, no backoff) go, least recently used
 *    first;
 *  - a session: one SMTP connection asking about a batch of tasks of one
 *    domain (plus, once per domain, a random local part for the catch-all
 *    test), walking the MX list in preference order (random among equals,
 *    every address of a host in turn) until a server answers.
 *
 * A task's life is an explicit state machine (task_state, below): one state
 * field says where the task is, and one function, task_to(), moves it, doing
 * on the way what leaving and entering each state requires (joining or
 * leaving the domain's queue or the catch-all waiters, arming the recheck,
 * restarting the deadline at the first turn, applying the verdict). Tasks
 * are reference counted: the live list (until DONE), the domain's queue,
 * the catch-all waiters, the recheck timer, a session, the typo
 * suggestion's lookup and the done queue may each hold one. A task is
 * finished exactly once (its callback runs from the loop via the done
 * queue, never inside bc_verifier_submit).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "core/clock.h"
#include "core/identity.h"
#include "core/internal.h"
#include "core/netsafe.h"
#include "data/provider.h"
#include "dns/dns.h"
#include "dns/resolver_check.h"
#include "smtp/smtp_probe.h"
#include "smtp/smtp_rules.h"
#include "verify/domain_facts.h"
#include "verify/result.h"
#include "verify/verifier_mem.h"

#define MAX_BATCH 100        /* RCPTs per connection, hard cap (RFC 5321 4.5.3.1.8) */
#define SLOW_GAP_MS 800      /* a reply this much later than the one before, after quick ones: a tarpit */
#define GATE_POLL_MS 100     /* how often a session refused by the host gate asks again */
#define GATE_MARGIN_MS 15000 /* a gate slot is held this long past the session's deadline */
#define MAX_CANDIDATES (BC_DNS_MAX_MX * BC_DNS_MAX_ADDRS)
#define BUCKETS_MIN 256u /* hash tables start here and double with their records */
#define RESOLVE_MAX 256  /* domains whose MX lookup runs at once; the others wait in order */
#define HOSTS_MAX 8192   /* host records kept; idle ones beyond that go, least recently used first */
#define SLOT_POLL_MS 50  /* how often a session waiting for a host slot looks again */
#define BACKOFF_FIRST_MS 2000
#define BACKOFF_MAX_MS 60000
#define CATCHALL_TTL_MS (60L * 60 * 1000)
#define RCHECK_OK_TTL_MS (5L * 60 * 1000) /* a passed resolver check is trusted this long */
#define RCHECK_FAIL_TTL_MS (60L * 1000)   /* a failed one, before the next try */

typedef struct task task;
typedef struct vdomain vdomain;
typedef struct vhost vhost;
typedef struct session session;

/* Where a task (one address) is in its life. The right-hand column says what
 * holds the task in that state (a reference each, besides the live list's,
 * which every state but DONE holds):
 *
 *   TASK_NEW           submitted; bc_verifier_submit checks the syntax
 *   TASK_WAIT_DNS      waits for its domain's MX answer (and, for a     d's queue
 *                     negative one, the resolver check)
 *   TASK_WAIT_TURN     the domain has hosts to try: waits for a         d's queue
 *                     session under the per-host and per-domain limits
 *   TASK_PROBING       asked about by its session (j->sess)
 *   TASK_WAIT_RECHECK  a temporary answer: waits before asking again   the recheck timer
 *   TASK_WAIT_CATCHALL accepted: waits for the domain's catch-all test  d->catchall_waiters
 *   TASK_DECIDED       facts final; waits for the typo suggestion's
 *                     lookup only
 *   TASK_DONE          verdict applied, callback queued                 the done queue
 *
 * The legal transitions (task_next below; task_to refuses any other):
 *
 *   NEW           -> WAIT_DNS       a syntactically valid address
 *   WAIT_DNS      -> WAIT_TURN      the MX answer has hosts to try
 *   WAIT_TURN     -> PROBING        a session takes it
 *   PROBING       -> WAIT_TURN      the session could not start after all
 *                 -> WAIT_RECHECK   a temporary answer, a recheck fits the deadline
 *                 -> WAIT_CATCHALL  accepted while the catch-all test runs
 *   WAIT_RECHECK  -> WAIT_TURN      time to ask again
 *   any of those  -> DECIDED        an answer, a failure, the deadline, or
 *                                   bc_verifier_free (reason "cancelled")
 *   DECIDED       -> DONE           at once, or when the suggestion's lookup
 *                                   ends or the deadline gives up on it
 *
 * A session keeps a reference to every task it took until it ends, whatever
 * state the task moves on to; it asks only about tasks PROBING under it
 * (session_asks). */
typedef enum task_state {
    TASK_NEW = 0,
    TASK_WAIT_DNS,
    TASK_WAIT_TURN,
    TASK_PROBING,
    TASK_WAIT_RECHECK,
    TASK_WAIT_CATCHALL,
    TASK_DECIDED,
    TASK_DONE,
} task_state;

/* The typo suggestion's check (does the suggested domain receive mail?),
 * which runs beside the task's own life from its submission. */
typedef enum suggest_check {
    SUGGEST_NO = 0,  /* no lookup, or it found no mail server, or was given up */
    SUGGEST_PENDING, /* the suggested domain's MX is being resolved */
    SUGGEST_YES,     /* the suggested domain receives mail */
} suggest_check;

struct task {
    bc_verifier *v;
    bc_result *r;
    bc_verify_cb cb;
    void *arg;
    vdomain *d;
    session *sess; /* the session that took it last, until that session ends, or NULL */
    int refs;
    task_state state; /* move it with task_to() only */
    suggest_check suggest;
    long t0;
    long deadline;
    int timeout_ms; /* this address's deadline from its turn */
    int greylist_round;
    bool was_greylisted;       /* a server greylisted it once (a fact for the verdict) */
    bool started;              /* a connection asked about it once: its deadline counts from then */
    char mailbox[BC_ADDR_MAX]; /* local@ascii-domain, as sent in RCPT TO */
    struct event *timer;       /* the deadline */
    struct event *recheck;     /* the wait before a greylist recheck (WAIT_RECHECK) */
    task *next;                /* in the pending queue, the done queue or the catch-all waiters */
    task *qprev;               /* in the pending queue: the one before (NULL: the head) */
    task *all_next, *all_prev; /* every live task, for bc_verifier_free */
};

struct vdomain {
    char name[BC_DOMAIN_MAX];
    vdomain *hnext;
    bc_verifier *v;
    task *pending_head, *pending_tail;
    int npending;
    bool resolving;
    int sessions;       /* sessions open now */
    long next_connect;  /* rate limit: no new session before this */
    struct event *pump; /* deferred: look at the queue */
    bc_tristate catch_all;
    long catch_all_at;
    bool catch_all_testing;
    task *catchall_waiters;
    char catchall_local[32]; /* the random local part, kept so a greylisting
                              * server sees the same recipient on recheck */
    bc_mx_answer *held;      /* owned: a negative answer waiting for the resolver
                           * check (NULL: none); the queue waits with it */
    bc_dns_fact held_fact;
    vdomain *held_next; /* in the verifier's list of held domains */
    /* The record's own life (domain_release): it lives while anything
     * needs it, and what is worth keeping then goes to v->facts. */
    int ntasks;            /* tasks with j->d == this one, until DONE */
    bool resolve_waiting;  /* in v->resolve_wait, for a lookup slot */
    vdomain *resolve_next; /* in v->resolve_wait */
    bool release_queued;   /* in v->release */
    vdomain *release_next; /* in v->release */
};

struct vhost {
    char key[INET6_ADDRSTRLEN + 8];
    vhost *hnext;
    int active;
    long backoff_until;
    int backoff_ms;
    bool tls_broken;    /* a STARTTLS handshake failed here: go plaintext */
    int rcpt_cap;       /* recipients per connection this host has shown it takes (0: no
                   * limit seen): lowered when it drops a connection with recipients
                   * unanswered, slows its replies down past some, or answers "too
                   * many recipients" to the first RCPT of a later transaction */
    long gate_retry_at; /* the host gate refused a slot: no session asks again before this */
    int txn_cap;        /* recipients per transaction (0: no limit seen): it answered
                   * "452 4.5.3 Too many recipients" past this many RCPTs of one
                   * transaction (Outlook: 1) */

    /* by last use, v->host_newest to v->host_oldest (host_get, host_evict) */
    vhost *lru_newer, *lru_older;
};

typedef struct candidate {
    char host[256];
    int preference;
    bc_dns_addr addr;
} candidate;

struct session {
    bc_verifier *v;
    vdomain *d;
    task *tasks[MAX_BATCH];
    int ntasks;
    bc_probe_rcpt rcpts[MAX_BATCH + 1];
    int rtask[MAX_BATCH + 1]; /* rcpts[i] asks about tasks[rtask[i]], or -1: the catch-all test */
    int nrcpts;
    bool has_catchall;
    char catchall_mailbox[BC_ADDR_MAX];
    candidate cand[MAX_CANDIDATES];
    int ncand, ci;
    bool plaintext; /* retrying this candidate without STARTTLS */
    int rcpt_limit; /* ask at most this many per connection (0: all) */
    int drops;      /* connections dropped with recipients unanswered */
    bool stepwise;  /* a session went out of step: the retry sends one command at a time */
    vhost *slot;    /* the host whose connection counter we hold */
    bool gate_held; /* ... and a slot of the host gate's (gate_slot) */
    int gate_slot;
    struct event *wait;
    bc_probe_config cfg;
    bc_probe_request req;
    struct sockaddr_storage target;
    bc_transcript transcript;
    /* what the last failed attempt said, for tasks no server answered */
    char last_local[INET6_ADDRSTRLEN]; /* our address on the last connection */
    bc_smtp_fact fail;
    char fail_detail[224]; /* why the last attempt ended without a reply: "HOST: out of step: ..." */
    bool fail_temp;        /* `fail` came from a 4xx: worth a recheck */
    bool have_reply;
    bc_smtp_reply fail_reply;
    const char *fail_step;
    candidate *last_cand;
    bool last_tls;
    long ms_total;
    bc_probe *probe;        /* the attempt in flight */
    bool orphan;            /* the verifier was freed: only free ourselves */
    session *snext, *sprev; /* live sessions */
};

struct bc_verifier {
    bc_ctx *ctx;
    struct event_base *base;
    bc_dns *dns;
    SSL_CTX *ssl;
    char helo[256];
    char from[BC_ADDR_MAX];
    bc_verify_options o;
    struct sockaddr_storage sources[BC_MAX_SOURCE_IPS];
    socklen_t source_len[BC_MAX_SOURCE_IPS];
    int nsources, next_source;
    bool have_proxy;
    bc_proxy proxy; /* the proxy option, parsed (have_proxy) */

    vdomain **domains; /* live domain records by name: ndbuckets chains */
    size_t ndbuckets, ndomains;
    vhost **hosts; /* host records by address: nhbuckets chains */
    size_t nhbuckets, nhosts;
    vhost *host_newest, *host_oldest;          /* by last use, for eviction */
    bc_dfacts *facts;                          /* what is kept of dropped domain records */
    int nresolving;                            /* MX lookups under way (RESOLVE_MAX) */
    vdomain *resolve_wait, *resolve_wait_tail; /* domains waiting to resolve, in order */
    vdomain *release;                          /* domain records to drop if still idle (deliver_cb) */
    uint64_t ndomains_dropped;
    task *done_head, *done_tail;
    struct event *deliver;
    task *all;
    session *sessions;
    uint64_t nconnects; /* SMTP connections started */
    int batch_max;      /* RCPTs per connection at most: the user's, else BC_RCPTS_START */
    bool have_gate;
    bc_host_gate gate; /* bc_verifier_set_host_gate (have_gate) */
    bool freeing;
    /* The resolver check (resolver_check.h): negative DNS answers are
     * believed only while the last check passed, and not for long. */
    char *dns_servers;       /* owned copy of the option (NULL: resolv.conf) */
    bc_rcheck *rcheck;       /* the check under way, or NULL */
    bc_tristate resolver_ok; /* the last outcome; BC_UNKNOWN before the first */
    long resolver_at;        /* when it ended */
    char resolver_msg[BC_RCHECK_MSG_MAX];
    vdomain *held; /* domains whose answer waits for the check */
};

/* ---- small helpers ------------------------------------------------------- */

/* The hash of a key; tables have a power of two of buckets. */
static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void addr_to_str(const struct sockaddr *sa, char *buf, size_t len)
{
    buf[0] = '\0';
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf, (socklen_t)len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf, (socklen_t)len);
}

static unsigned rand_below(unsigned n)
{
    unsigned x = 0;
    if (RAND_bytes((unsigned char *)&x, sizeof x) != 1)
        x = (unsigned)bc_now_ms();
    return n ? x % n : 0;
}

static void task_ref(task *j)
{
    j->refs++;
}

static void task_unref(task *j)
{
    if (--j->refs > 0)
        return;
    if (j->timer)
        event_free(j->timer);
    if (j->recheck)
        event_free(j->recheck);
    bc_result_free(j->r);
    free(j);
}

/* ---- the done queue ------------------------------------------------------ */

static void domain_release_run(bc_verifier *v);

static void deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bc_verifier *v = arg;
    /* First (a callback may free v): drop the domain records let go. */
    domain_release_run(v);
    task *list = v->done_head;
    v->done_head = v->done_tail = NULL;
    while (list) {
        task *j = list;
        list = j->next;
        j->next = NULL;
        bc_result *r = j->r;
        j->r = NULL;
        bc_verify_cb cb = j->cb;
        void *cbarg = j->arg;
        task_unref(j); /* the done queue's reference */
        cb(cbarg, r);
    }
}

/* ---- the task's life -------------------------------------------------------- */

static void domain_kick(vdomain *d, long delay_ms);
static void domain_release(vdomain *d);
static void recheck_cb(evutil_socket_t fd, short what, void *arg);

#define JS(s) (1u << (s))

/* task_next[s]: the states a task in state s may move to (the table above). */
static const unsigned task_next[] = {
    [TASK_NEW] = JS(TASK_WAIT_DNS) | JS(TASK_DECIDED),
    [TASK_WAIT_DNS] = JS(TASK_WAIT_TURN) | JS(TASK_DECIDED),
    [TASK_WAIT_TURN] = JS(TASK_PROBING) | JS(TASK_DECIDED),
    [TASK_PROBING] = JS(TASK_WAIT_TURN) | JS(TASK_WAIT_RECHECK) | JS(TASK_WAIT_CATCHALL) | JS(TASK_DECIDED),
    [TASK_WAIT_RECHECK] = JS(TASK_WAIT_TURN) | JS(TASK_DECIDED),
    [TASK_WAIT_CATCHALL] = JS(TASK_DECIDED),
    [TASK_DECIDED] = JS(TASK_DONE),
    [TASK_DONE] = 0,
};

static bool task_in_queue(task_state s)
{
    return s == TASK_WAIT_DNS || s == TASK_WAIT_TURN;
}

/* Takes j out of the singly linked list at *head (through `next`) if it is
 * there; true when it was. */
static bool list_unlink(task **head, task *j)
{
    task *prev = NULL;
    for (task *q = *head; q; prev = q, q = q->next) {
        if (q != j)
            continue;
        if (prev)
            prev->next = j->next;
        else
            *head = j->next;
        j->next = NULL;
        return true;
    }
    return false;
}

/* Appends j to its domain's pending queue, with the queue's reference, and
 * has the domain look at its queue. */
static void queue_append(vdomain *d, task *j)
{
    task_ref(j);
    j->next = NULL;
    j->qprev = d->pending_tail;
    if (d->pending_tail)
        d->pending_tail->next = j;
    else
        d->pending_head = j;
    d->pending_tail = j;
    d->npending++;
    domain_kick(d, 0);
}

/* Takes j out of its domain's pending queue (wherever it is in it) and drops
 * the queue's reference. */
static void queue_remove(vdomain *d, task *j)
{
    if (j->qprev)
        j->qprev->next = j->next;
    else
        d->pending_head = j->next;
    if (j->next)
        j->next->qprev = j->qprev;
    else
        d->pending_tail = j->qprev;
    j->next = j->qprev = NULL;
    d->npending--;
    task_unref(j);
}

/* The task's facts are final and the suggestion's lookup is over: applies
 * the verdict, takes the task off the live list and queues its callback. */
static void task_enter_done(task *j)
{
    bc_verifier *v = j->v;
    bc_result *r = j->r;
    if (r->facts.suggestion && !(j->suggest == SUGGEST_YES && r->facts.dns != BC_DNSF_OK)) {
        /* The suggestion stands only where the suggested domain receives
         * mail and the given one does not. */
        r->facts.suggestion = false;
        r->suggestion[0] = '\0';
    }
    bc_result_decide(r);
    bc_result_set_hint(r, v->ctx->providers);
    r->duration_ms = bc_now_ms() - j->t0;
    if (j->timer)
        event_del(j->timer);
    /* unlink from the live list */
    if (j->all_prev)
        j->all_prev->all_next = j->all_next;
    else if (v->all == j)
        v->all = j->all_next;
    if (j->all_next)
        j->all_next->all_prev = j->all_prev;
    j->all_next = j->all_prev = NULL;
    if (j->d) {
        /* nothing of the domain is needed past this point */
        j->d->ntasks--;
        domain_release(j->d);
        j->d = NULL;
    }

    task_ref(j);
    j->next = NULL;
    if (v->done_tail)
        v->done_tail->next = j;
    else
        v->done_head = j;
    v->done_tail = j;
    event_active(v->deliver, EV_TIMEOUT, 0);
    task_unref(j); /* the live list's reference */
}

/* The one way a task changes state: refuses a move the table does not allow
 * (an assertion in debug builds), then does what leaving the old state and
 * entering the new one take. The live list's reference keeps j alive
 * throughout (DONE takes the done queue's before dropping it). */
static void task_to(task *j, task_state to)
{
    task_state from = j->state;
    bool legal = (task_next[from] & JS(to)) != 0;
    assert(legal); /* a move the table does not allow is a bug */
    if (!legal)
        return;
    vdomain *d = j->d;
    bc_verifier *v = j->v;

    /* leaving */
    if (task_in_queue(from) && !task_in_queue(to))
        queue_remove(d, j);
    if (from == TASK_WAIT_RECHECK) {
        event_del(j->recheck); /* a no-op when it is what fired */
        task_unref(j);         /* the recheck timer's reference */
    }
    if (from == TASK_WAIT_CATCHALL && list_unlink(&d->catchall_waiters, j))
        task_unref(j); /* the waiters' reference */

    j->state = to;

    /* entering */
    switch (to) {
    case TASK_NEW: break;
    case TASK_WAIT_TURN:
        j->r->facts.dns = BC_DNSF_OK; /* the domain has hosts to try */
        /* fall through */
    case TASK_WAIT_DNS:
        if (!task_in_queue(from))
            queue_append(d, j);
        break;
    case TASK_PROBING: break; /* the clock starts with the first connection (task_start_clock) */
    case TASK_WAIT_RECHECK: {
        /* task_schedule_recheck checked that the wait fits the deadline */
        long wait = (long)v->o.greylist_waits_s[j->greylist_round] * 1000;
        j->greylist_round++;
        task_ref(j);
        struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
        evtimer_add(j->recheck, &tv);
        break;
    }
    case TASK_WAIT_CATCHALL:
        task_ref(j);
        j->next = d->catchall_waiters;
        d->catchall_waiters = j;
        break;
    case TASK_DECIDED:
        if (j->suggest != SUGGEST_PENDING)
            task_to(j, TASK_DONE);
        break;
    case TASK_DONE: task_enter_done(j); break;
    }
}

/* The deadline counts the time spent verifying this address, not the time it
 * queued behind others for the politeness limits (the per-host and per-domain
 * connection caps, the host gate): it restarts when the first connection that
 * asks about the address starts. */
static void task_start_clock(task *j, long now_ms)
{
    if (j->started)
        return;
    j->started = true;
    if (now_ms - j->t0 > 100) {
        j->deadline = now_ms + j->timeout_ms;
        if (j->timer) {
            struct timeval tv = { j->timeout_ms / 1000, (j->timeout_ms % 1000) * 1000 };
            evtimer_add(j->timer, &tv);
        }
    }
}

/* Records the stage (and the SMTP fact) that decided the task, and decides it.
 * Does nothing once it is decided. */
static void task_decide(task *j, bc_stage stage, bc_smtp_fact fact)
{
    if (j->state == TASK_DECIDED || j->state == TASK_DONE)
        return;
    j->r->facts.stage = stage;
    if (stage == BC_STAGE_SMTP)
        j->r->facts.smtp = fact;
    task_to(j, TASK_DECIDED);
}

/* ---- domains and hosts ---------------------------------------------------- */

static void domain_pump_cb(evutil_socket_t fd, short what, void *arg);

/* The domain and host tables double when they hold as many records as
 * buckets, so lookups stay O(1) however many are live. A table that cannot
 * grow keeps its size: only slower. */
static void domains_grow(bc_verifier *v)
{
    if (v->domains && v->ndomains < v->ndbuckets)
        return;
    size_t n = v->domains ? v->ndbuckets * 2 : BUCKETS_MIN;
    vdomain **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t b = 0; v->domains && b < v->ndbuckets; b++) {
        vdomain *d = v->domains[b];
        while (d) {
            vdomain *next = d->hnext;
            size_t h = hash_str(d->name) & (n - 1);
            d->hnext = nb[h];
            nb[h] = d;
            d = next;
        }
    }
    free(v->domains);
    v->domains = nb;
    v->ndbuckets = n;
}

static void hosts_grow(bc_verifier *v)
{
    if (v->hosts && v->nhosts < v->nhbuckets)
        return;
    size_t n = v->hosts ? v->nhbuckets * 2 : BUCKETS_MIN;
    vhost **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t b = 0; v->hosts && b < v->nhbuckets; b++) {
        vhost *x = v->hosts[b];
        while (x) {
            vhost *next = x->hnext;
            size_t h = hash_str(x->key) & (n - 1);
            x->hnext = nb[h];
            nb[h] = x;
            x = next;
        }
    }
    free(v->hosts);
    v->hosts = nb;
    v->nhbuckets = n;
}

static vdomain *domain_find(const bc_verifier *v, const char *name)
{
    if (!v->domains)
        return NULL;
    for (vdomain *d = v->domains[hash_str(name) & (v->ndbuckets - 1)]; d; d = d->hnext)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

static vdomain *domain_get(bc_verifier *v, const char *name)
{
    vdomain *d = domain_find(v, name);
    if (d)
        return d;
    domains_grow(v);
    if (!v->domains)
        return NULL;
    d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    d->v = v;
    d->catch_all = BC_UNKNOWN;
    d->pump = evtimer_new(v->base, domain_pump_cb, d);
    if (!d->pump) {
        free(d);
        return NULL;
    }
    bc_dfact f;
    if (bc_dfacts_get(v->facts, name, &f)) {
        /* what an earlier record of this domain learned */
        d->catch_all = f.catch_all;
        d->catch_all_at = f.catch_all_at;
        d->next_connect = f.next_connect;
    }
    unsigned h = hash_str(name) & (unsigned)(v->ndbuckets - 1);
    d->hnext = v->domains[h];
    v->domains[h] = d;
    v->ndomains++;
    return d;
}

/* Whether nothing needs d: no task of it is live (queued, probing, waiting
 * for a recheck or the catch-all test), no session, no lookup under way or
 * waiting for its turn, no answer held for the resolver check. (A pending
 * pump has nothing to do then.) */
static bool domain_idle(const vdomain *d)
{
    return d->ntasks == 0 && d->sessions == 0 && !d->resolving && !d->resolve_waiting && !d->held &&
           !d->catchall_waiters && !d->catch_all_testing;
}

/* d may have become idle: have deliver_cb drop it, from the loop (never
 * here: the caller may still be walking d's queue). */
static void domain_release(vdomain *d)
{
    bc_verifier *v = d->v;
    if (d->release_queued || v->freeing || !domain_idle(d))
        return;
    d->release_queued = true;
    d->release_next = v->release;
    v->release = d;
    event_active(v->deliver, EV_TIMEOUT, 0);
}

/* Frees d, keeping what it learned in v->facts: the catch-all verdict while
 * it holds, and the rate limit's next connection while it is ahead. */
static void domain_drop(bc_verifier *v, vdomain *d)
{
    long now = bc_now_ms();
    bool fact = d->catch_all != BC_UNKNOWN && now - d->catch_all_at <= CATCHALL_TTL_MS;
    if (fact || d->next_connect > now) {
        bc_dfact f = { .catch_all = fact ? d->catch_all : BC_UNKNOWN,
                       .catch_all_at = fact ? d->catch_all_at : 0,
                       .next_connect = d->next_connect > now ? d->next_connect : 0 };
        bc_dfacts_put(v->facts, d->name, &f);
    } else {
        /* nothing new: an entry of an earlier record stays as it was */
    }
    vdomain **pp = &v->domains[hash_str(d->name) & (v->ndbuckets - 1)];
    while (*pp && *pp != d)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = d->hnext;
    v->ndomains--;
    v->ndomains_dropped++;
    event_free(d->pump);
    free(d);
}

/* Drops the records queued by domain_release that are still idle. */
static void domain_release_run(bc_verifier *v)
{
    vdomain *list = v->release;
    v->release = NULL;
    while (list) {
        vdomain *d = list;
        list = d->release_next;
        d->release_next = NULL;
        d->release_queued = false;
        if (domain_idle(d))
            domain_drop(v, d);
    }
}

static void domain_kick(vdomain *d, long delay_ms)
{
    struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
    if (!evtimer_pending(d->pump, NULL) || delay_ms == 0)
        evtimer_add(d->pump, &tv);
}

static void host_lru_unlink(bc_verifier *v, vhost *x)
{
    if (x->lru_newer)
        x->lru_newer->lru_older = x->lru_older;
    else
        v->host_newest = x->lru_older;
    if (x->lru_older)
        x->lru_older->lru_newer = x->lru_newer;
    else
        v->host_oldest = x->lru_newer;
    x->lru_newer = x->lru_older = NULL;
}

static void host_lru_front(bc_verifier *v, vhost *x)
{
    x->lru_older = v->host_newest;
    if (v->host_newest)
        v->host_newest->lru_newer = x;
    v->host_newest = x;
    if (!v->host_oldest)
        v->host_oldest = x;
}

/* At HOSTS_MAX records: frees the least recently used hosts that are idle
 * (no connection open, no backoff running), a few at a time. Busy ones
 * stay, so the bound may be passed while that many hosts are busy. */
static void host_evict(bc_verifier *v)
{
    long now = bc_now_ms();
    int budget = 8;
    vhost *x = v->host_oldest;
    while (x && v->nhosts >= HOSTS_MAX && budget-- > 0) { /* room for the one coming */
        vhost *newer = x->lru_newer;
        if (x->active == 0 && x->backoff_until <= now) {
            vhost **pp = &v->hosts[hash_str(x->key) & (v->nhbuckets - 1)];
            while (*pp && *pp != x)
                pp = &(*pp)->hnext;
            if (*pp)
                *pp = x->hnext;
            host_lru_unlink(v, x);
            v->nhosts--;
            free(x);
        }
        x = newer;
    }
}

static vhost *host_get(bc_verifier *v, const struct sockaddr *sa)
{
    char key[INET6_ADDRSTRLEN + 8];
    addr_to_str(sa, key, sizeof key);
    if (v->hosts) {
        for (vhost *x = v->hosts[hash_str(key) & (v->nhbuckets - 1)]; x; x = x->hnext) {
            if (strcmp(x->key, key) == 0) {
                host_lru_unlink(v, x);
                host_lru_front(v, x);
                return x;
            }
        }
    }
    host_evict(v);
    hosts_grow(v);
    if (!v->hosts)
        return NULL;
    vhost *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    snprintf(x->key, sizeof x->key, "%s", key);
    unsigned h = hash_str(key) & (unsigned)(v->nhbuckets - 1);
    x->hnext = v->hosts[h];
    v->hosts[h] = x;
    v->nhosts++;
    host_lru_front(v, x);
    return x;
}

static void host_backoff(vhost *h)
{
    h->backoff_ms = h->backoff_ms ? h->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (h->backoff_ms > BACKOFF_MAX_MS)
        h->backoff_ms = BACKOFF_MAX_MS;
    h->backoff_until = bc_now_ms() + h->backoff_ms;
}

/* ---- the MX answer in results -------------------------------------------- */

/* The provider rules for an MX host (provider.h), or NULL. */
static const bc_provider *provider_of(const bc_verifier *v, const char *host)
{
    return bc_providers_match(v->ctx->providers, host);
}

static void result_set_mx(const bc_verifier *v, bc_result *r, const bc_mx_answer *a)
{
    if (r->have_mx || a->rc != BC_DNS_OK)
        return;
    r->mx = calloc((size_t)(a->nhosts ? a->nhosts : 1), sizeof *r->mx);
    if (!r->mx)
        return;
    r->have_mx = true;
    r->mx_implicit = a->implicit;
    r->nmx = a->nhosts;
    for (int i = 0; i < a->nhosts; i++) {
        bc_result_mx *m = &r->mx[i];
        snprintf(m->host, sizeof m->host, "%s", a->hosts[i].host);
        m->preference = a->hosts[i].preference;
        m->naddrs = a->hosts[i].naddrs;
        for (int k = 0; k < m->naddrs; k++)
            addr_to_str((const struct sockaddr *)&a->hosts[i].addrs[k].sa, m->addrs[k], sizeof m->addrs[k]);
        if (!r->provider) {
            const bc_provider *p = provider_of(v, a->hosts[i].host);
            r->provider = p ? p->provider : NULL;
        }
    }
}

/* ---- sessions ------------------------------------------------------------ */

static void session_next(session *s);
static void session_end(session *s);

/* Builds the candidate list: MX hosts by preference, shuffled among equal
 * preferences, each host's addresses in order; unsafe addresses dropped
 * (unless allowed). Returns the number of unsafe addresses dropped. */
static int session_candidates(session *s, const bc_mx_answer *a)
{
    bc_verifier *v = s->v;
    int order[BC_DNS_MAX_MX];
    for (int i = 0; i < a->nhosts; i++)
        order[i] = i;
    for (int i = 0; i < a->nhosts;) { /* shuffle each run of equal preference */
        int k = i;
        while (k < a->nhosts && a->hosts[order[k]].preference == a->hosts[order[i]].preference)
            k++;
        for (int m = k - 1; m > i; m--) {
            int r = i + (int)rand_below((unsigned)(m - i + 1));
            int t = order[m];
            order[m] = order[r];
            order[r] = t;
        }
        i = k;
    }
    int unsafe = 0;
    s->ncand = 0;
    for (int i = 0; i < a->nhosts; i++) {
        const bc_mx_host *h = &a->hosts[order[i]];
        for (int k = 0; k < h->naddrs && s->ncand < MAX_CANDIDATES; k++) {
            if (!v->o.allow_private && bc_netsafe_check((const struct sockaddr *)&h->addrs[k].sa)) {
                unsafe++;
                continue;
            }
            candidate *c = &s->cand[s->ncand++];
            snprintf(c->host, sizeof c->host, "%s", h->host);
            c->preference = h->preference;
            c->addr = h->addrs[k];
        }
    }
    return unsafe;
}

static void session_free(session *s)
{
    if (!s->orphan) {
        bc_verifier *v = s->v;
        if (s->sprev)
            s->sprev->snext = s->snext;
        else if (v->sessions == s)
            v->sessions = s->snext;
        if (s->snext)
            s->snext->sprev = s->sprev;
    }
    if (s->wait)
        event_free(s->wait);
    bc_transcript_clear(&s->transcript);
    free(s);
}

/* How a reply from candidate c (NULL: unknown) reads: the provider of its
 * MX host name decides which provider rules apply. */
static bc_smtp_reading reply_read(const bc_verifier *v, const candidate *c, const bc_smtp_reply *reply)
{
    return bc_provider_read(c ? provider_of(v, c->host) : NULL, reply);
}

/* Fills a task's smtp record from the attempt that decided it. */
static void task_set_smtp(session *s, task *j, const candidate *c, const bc_smtp_reply *reply, const char *step,
                          bool tls)
{
    bc_result *r = j->r;
    r->have_smtp = true;
    bc_result_smtp *m = &r->smtp;
    if (c) {
        snprintf(m->host, sizeof m->host, "%s", c->host);
        addr_to_str((const struct sockaddr *)&c->addr.sa, m->address, sizeof m->address);
        m->port = s->v->o.smtp_port;
    }
    m->tls = tls;
    if (reply) {
        m->code = reply->code;
        snprintf(m->enhanced, sizeof m->enhanced, "%s", reply->enhanced);
        snprintf(m->message, sizeof m->message, "%s", reply->text);
        m->rule = reply_read(s->v, c, reply).rule;
    } else {
        m->code = 0;
        m->enhanced[0] = '\0';
        m->message[0] = '\0';
        m->rule = NULL;
    }
    m->step = step;
    snprintf(m->source, sizeof m->source, "%s", s->last_local);
    m->ms = s->ms_total;
}

static void task_add_transcript(session *s, task *j)
{
    if (!s->v->o.trace)
        return;
    bc_result *r = j->r;
    r->have_transcript = true;
    for (size_t i = 0; i < s->transcript.n; i++)
        bc_transcript_add(&r->transcript, s->transcript.v[i].dir, s->transcript.v[i].line,
                          strlen(s->transcript.v[i].line));
    if (s->transcript.truncated)
        r->transcript.truncated = true;
    if (r->have_smtp && r->smtp.code && r->smtp.rule) {
        char line[160];
        int k = snprintf(line, sizeof line, "reply %d to %s read by rule %s", r->smtp.code,
                         r->smtp.step ? r->smtp.step : "?", r->smtp.rule);
        if (k > 0)
            bc_transcript_add(&r->transcript, '*', line, strlen(line));
    }
}

/* A recheck after a greylisting or other temporary answer, on a new
 * connection, after the next wait of the schedule - if the deadline allows:
 * the task then waits in WAIT_RECHECK. Returns false when it does not (the
 * caller decides the task). */
static bool task_schedule_recheck(task *j)
{
    bc_verifier *v = j->v;
    if (j->greylist_round >= v->o.n_greylist_waits)
        return false;
    long wait = (long)v->o.greylist_waits_s[j->greylist_round] * 1000;
    if (bc_now_ms() + wait + 500 >= j->deadline)
        return false;
    if (!j->recheck)
        j->recheck = evtimer_new(v->base, recheck_cb, j);
    if (!j->recheck)
        return false;
    task_to(j, TASK_WAIT_RECHECK);
    return true;
}

/* The wait before a recheck is over: back to the domain's queue. (Leaving
 * WAIT_RECHECK any other way deletes this timer.) */
static void recheck_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    task *j = arg;
    if (j->state == TASK_WAIT_RECHECK)
        task_to(j, TASK_WAIT_TURN);
}

/* Whether session s asks about j: j is PROBING and s took it last. */
static bool session_asks(const session *s, const task *j)
{
    return j->state == TASK_PROBING && j->sess == s;
}

/* The catch-all test is over (answer or not): settle accepted tasks that
 * waited for it. */
static void domain_catchall_settled(vdomain *d)
{
    task *j;
    while ((j = d->catchall_waiters)) {
        j->r->facts.accept_all = d->catch_all;
        j->r->facts.accept_all_untested = d->catch_all == BC_UNKNOWN;
        task_decide(j, BC_STAGE_SMTP, BC_SMTPF_ACCEPTED); /* leaves the waiters */
    }
}

static void host_learned(bc_verifier *v, vhost *h);

/* Lowers a learned limit (*cap: 0 none yet) to n; true when it changed. */
static bool cap_lower(int *cap, int n)
{
    if (n < 1)
        n = 1;
    if (*cap && *cap <= n)
        return false;
    *cap = n;
    return true;
}

/* Whether rc's reply is a "too many recipients" past the first RCPT of the
 * connection (RFC 5321 4.5.3.1.10; RFC 3463 x.5.3): no answer about the
 * mailbox but about how many the host takes. Past RCPTs of the same
 * transaction it is a per-transaction limit, at the first RCPT of a later
 * transaction a per-connection one: the host's limit is lowered to what it
 * took, and every such RCPT is asked again on the next connection. The
 * limits only go down, to 1 at least, so this cannot repeat for ever (a
 * "too many" at the first RCPT of a connection is read as any reply). */
static bool session_rcpt_over_limit(session *s, const bc_probe_rcpt *rc)
{
    long i = rc - s->rcpts;
    if (!s->last_cand || i <= 0 || i >= s->nrcpts)
        return false;
    if (rc->reply.code < 400 || rc->reply.code >= 500)
        return false;
    bool x53 = rc->reply.enh_class == 4 && rc->reply.enh_subject == 5 && rc->reply.enh_detail == 3;
    char folded[BC_REPLY_FOLD_MAX];
    bc_reply_fold(rc->reply.text, folded);
    if (!x53 && !bc_reply_folded_has(folded, "too many recipients"))
        return false;
    int in_txn = 0; /* RCPTs before it in its transaction */
    for (long k = i - 1; k >= 0 && s->rcpts[k].batch == rc->batch; k--)
        in_txn++;
    vhost *h = host_get(s->v, (const struct sockaddr *)&s->last_cand->addr.sa);
    if (h && (in_txn > 0 ? cap_lower(&h->txn_cap, in_txn) : cap_lower(&h->rcpt_cap, (int)i)))
        host_learned(s->v, h);
    return true;
}

/* One task's RCPT answer, final or a reason to recheck. */
static void session_settle_rcpt(session *s, task *j, const bc_probe_rcpt *rc, const bc_probe_outcome *o)
{
    if (!session_asks(s, j))
        return; /* decided meanwhile (its deadline) */
    task_set_smtp(s, j, s->last_cand, rc->skipped_smtputf8 ? NULL : &rc->reply, "rcpt", o->tls);
    task_add_transcript(s, j);
    if (rc->skipped_smtputf8) {
        task_decide(j, BC_STAGE_SMTP, BC_SMTPF_UTF8_UNSUPPORTED);
        return;
    }
    if (session_rcpt_over_limit(s, rc)) {
        /* Outlook answers "452 4.5.3 Too many recipients" to RCPTs past its
         * per-transaction limit: that is no answer about this mailbox. The
         * host's limit is lowered (session_rcpt_over_limit), and this address
         * is asked again on the session's next connection. */
        return;
    }
    bc_smtp_fact f = bc_verdict_smtp_fact(reply_read(s->v, s->last_cand, &rc->reply).cls);
    /* Every temporary answer but a block of our client or a full mailbox is
     * asked again later; a rate limit also slows this host down. */
    if (rc->reply.code >= 400 && rc->reply.code < 500 && f != BC_SMTPF_BLOCKED && f != BC_SMTPF_FULL) {
        if (f == BC_SMTPF_GREYLISTED)
            j->was_greylisted = true;
        if (f == BC_SMTPF_RATE_LIMITED && s->last_cand) {
            vhost *h = host_get(s->v, (const struct sockaddr *)&s->last_cand->addr.sa);
            if (h)
                host_backoff(h);
        }
        if (task_schedule_recheck(j))
            return;
        task_decide(j, BC_STAGE_SMTP, f);
        return;
    }
    const bc_provider *prov = s->last_cand ? provider_of(s->v, s->last_cand->host) : NULL;
    if (f == BC_SMTPF_ACCEPTED && prov && prov->accepts_all) {
        /* Yahoo and AOL accept every RCPT and bounce later: the answer says
         * nothing about the mailbox (provider rules, data/providers.json). */
        j->r->facts.provider_unverifiable = true;
        task_decide(j, BC_STAGE_SMTP, f);
        return;
    }
    if (f == BC_SMTPF_ACCEPTED) {
        vdomain *d = s->d;
        if (d->catch_all == BC_UNKNOWN && d->catch_all_testing && !s->v->o.no_catch_all) {
            /* another session (or this one) is testing: wait for it */
            task_to(j, TASK_WAIT_CATCHALL);
            return;
        }
        j->r->facts.accept_all = s->v->o.no_catch_all ? BC_UNKNOWN : d->catch_all;
        j->r->facts.accept_all_untested = !s->v->o.no_catch_all && d->catch_all == BC_UNKNOWN;
    } else if (f == BC_SMTPF_REJECTED) {
        /* A server that says "no such mailbox" does not accept everything:
         * known from this reply alone, whichever session asked. */
        j->r->facts.accept_all = BC_NO;
    }
    task_decide(j, BC_STAGE_SMTP, f);
}

/* The session could not get answers for the tasks still open: decide them with
 * the last failure, or recheck later for temporary ones. */
static void session_fail_open_tasks(session *s)
{
    for (int i = 0; i < s->ntasks; i++) {
        task *j = s->tasks[i];
        if (!session_asks(s, j))
            continue;
        task_set_smtp(s, j, s->last_cand, s->have_reply ? &s->fail_reply : NULL,
                      s->fail_step ? s->fail_step : "connect", s->last_tls);
        task_add_transcript(s, j);
        bc_smtp_fact f = s->fail;
        if (f == BC_SMTPF_NONE)
            f = BC_SMTPF_NO_CONNECT;
        bool temporary = f == BC_SMTPF_TEMPFAIL ||
                         (s->fail_temp && (f == BC_SMTPF_RATE_LIMITED || f == BC_SMTPF_SERVER_ERROR ||
                                           f == BC_SMTPF_SENDER_REJECTED));
        if (temporary && task_schedule_recheck(j))
            continue;
        if ((f == BC_SMTPF_TIMEOUT || f == BC_SMTPF_TEMPFAIL) && j->was_greylisted)
            f = BC_SMTPF_GREYLISTED;
        if (s->fail_detail[0] && !j->r->detail[0])
            snprintf(j->r->detail, sizeof j->r->detail, "%s", s->fail_detail);
        task_decide(j, BC_STAGE_SMTP, f);
    }
}

static void session_release_slot(session *s)
{
    if (s->slot) {
        if (s->gate_held && !s->orphan)
            s->v->gate.give(s->v->gate.arg, s->slot->key, s->gate_slot);
        s->gate_held = false;
        s->slot->active--;
        s->slot = NULL;
    }
}

/* Tells the host gate (if any) what v learned of h. */
static void host_learned(bc_verifier *v, vhost *h)
{
    if (!v->have_gate || !v->gate.learned)
        return;
    bc_host_limits l = { .rcpts_per_connection = h->rcpt_cap, .rcpts_per_transaction = h->txn_cap };
    v->gate.learned(v->gate.arg, h->key, &l);
}

/* A tarpit: the RCPT replies of the last connection came quickly, then
 * every one of them (two at least) came SLOW_GAP_MS or more after the one
 * before (Postfix sleeps smtpd_error_sleep_time before each reply past
 * smtpd_soft_error_limit errors). One late reply alone is a hiccup of the
 * server or of this machine, not a limit. The host's per-connection limit
 * becomes the number of quick ones; true when that lowered it. */
static bool session_learn_slow(session *s, vhost *h)
{
    int quick = 0, slow = 0;
    long prev = 0;
    for (int i = 0; i < s->nrcpts; i++) {
        const bc_probe_rcpt *rc = &s->rcpts[i];
        if (!rc->replied || (i > 0 && rc->batch != s->rcpts[i - 1].batch))
            break; /* the first transaction's replies only */
        if (i > 0) {
            long gap = rc->at_ms - prev;
            if (gap >= SLOW_GAP_MS)
                slow++;
            else if (slow)
                return false; /* quick again after a slow one: no tarpit */
            else if (gap > SLOW_GAP_MS / 4)
                return false; /* slow all along: a slow link, not a tarpit */
        }
        prev = rc->at_ms;
        if (!slow)
            quick++;
    }
    return quick >= 2 && slow >= 2 && cap_lower(&h->rcpt_cap, quick);
}

/* The session ended on a reply before RCPT (greeting, EHLO, STARTTLS, MAIL):
 * note what it says about the addresses not asked yet. A mailbox answer at
 * MAIL FROM is about our sender, never about a recipient. */
static void session_note_failure(session *s, const candidate *c, const bc_probe_outcome *o, vhost *h)
{
    bc_smtp_class cl = reply_read(s->v, c, &o->last).cls;
    bc_smtp_fact f = bc_verdict_smtp_fact(cl);
    s->fail_temp = o->last.code < 500;
    if (bc_smtp_class_is_mailbox(cl))
        f = o->step == BC_STEP_MAIL ? BC_SMTPF_SENDER_REJECTED
                                    : (s->fail_temp ? BC_SMTPF_TEMPFAIL : BC_SMTPF_SERVER_REJECTED);
    if (f == BC_SMTPF_BLOCKED) {
        s->fail = f;
        return;
    }
    if (s->fail_temp) {
        if (f != BC_SMTPF_GREYLISTED && f != BC_SMTPF_RATE_LIMITED && f != BC_SMTPF_SERVER_ERROR &&
            f != BC_SMTPF_SENDER_REJECTED)
            f = BC_SMTPF_TEMPFAIL;
        if (h)
            host_backoff(h);
    }
    s->fail = f;
}

static void probe_done(void *arg, const bc_probe_outcome *o)
{
    session *s = arg;
    s->probe = NULL;
    if (s->orphan) {
        session_free(s);
        return;
    }
    bc_verifier *v = s->v;
    candidate *c = &s->cand[s->ci];
    vhost *h = s->slot;
    session_release_slot(s);
    s->ms_total += o->ms;
    s->last_cand = c;
    s->last_tls = o->tls;
    if (o->local_addr[0])
        snprintf(s->last_local, sizeof s->last_local, "%s", o->local_addr);
    s->fail_step = bc_probe_step_name(o->step);
    /* why it ended when no reply says it (a timeout, a reset, a session out
     * of step): the result's detail for addresses it leaves undecided */
    if (o->end == BC_PROBE_REPLY || o->end == BC_PROBE_COMPLETED || !o->error[0])
        s->fail_detail[0] = '\0';
    else
        snprintf(s->fail_detail, sizeof s->fail_detail, "%.60s: %.150s", c->host, o->error);
    s->have_reply = o->have_last;
    if (o->have_last)
        s->fail_reply = o->last;

    if (v->freeing || o->end == BC_PROBE_CANCELLED) {
        session_end(s);
        return;
    }
    if (o->end == BC_PROBE_TLS_FAILED) {
        if (h)
            h->tls_broken = true;
        s->plaintext = true; /* same candidate, new connection, no STARTTLS */
        session_next(s);
        return;
    }

    /* Every recipient that got a reply is settled by it, whatever happened
     * after (a reset after RCPT leaves the others open). */
    int catchall_idx = -1;
    for (int i = 0; i < s->nrcpts; i++) {
        if (s->rtask[i] < 0) {
            catchall_idx = i;
            continue;
        }
        if (s->rcpts[i].replied || s->rcpts[i].skipped_smtputf8)
            session_settle_rcpt(s, s->tasks[s->rtask[i]], &s->rcpts[i], o);
    }
    if (s->has_catchall && catchall_idx >= 0 && (s->rcpts[catchall_idx].replied || o->end == BC_PROBE_COMPLETED)) {
        vdomain *d = s->d;
        const bc_probe_rcpt *rc = &s->rcpts[catchall_idx];
        if (rc->replied) {
            bc_smtp_class cl = reply_read(v, c, &rc->reply).cls;
            if (cl == BC_SMTP_ACCEPTED)
                d->catch_all = BC_YES;
            else if (cl == BC_SMTP_REJECTED_MAILBOX || cl == BC_SMTP_MAILBOX_DISABLED)
                d->catch_all = BC_NO;
            d->catch_all_at = bc_now_ms();
        }
        d->catch_all_testing = false;
        s->has_catchall = false;
        domain_catchall_settled(d);
        /* Only accepted addresses take the domain's answer (they waited for
         * it); giving it to the others asked in this session alone would make
         * their accept_all depend on how addresses were grouped. */
    }

    if (h && session_learn_slow(s, h))
        host_learned(v, h);

    bool open_tasks = false;
    int asked = 0, unanswered = 0;
    for (int i = 0; i < s->ntasks; i++)
        if (session_asks(s, s->tasks[i]))
            open_tasks = true;
    for (int i = 0; i < s->nrcpts; i++) {
        if (s->rtask[i] < 0)
            continue;
        asked++;
        if (!s->rcpts[i].replied && !s->rcpts[i].skipped_smtputf8)
            unanswered++;
    }
    if (!open_tasks) {
        session_end(s);
        return;
    }
    if (o->end == BC_PROBE_COMPLETED) {
        /* Tasks left for the next connection by the per-connection limit. */
        if (unanswered == 0 && asked > 0) {
            session_next(s);
            return;
        }
        session_end(s);
        return;
    }
    /* The server dropped the connection with recipients unanswered (Postfix
     * hangs up after smtpd_hard_error_limit errors, 20 by default, and the
     * close can discard the replies it had queued). Ask the unanswered ones
     * again on a new connection to the same host, half as many at a time,
     * and remember the lower limit for this host. Twice at most. */
    if ((o->end == BC_PROBE_RESET || (o->end == BC_PROBE_REPLY && o->last.code == 421)) &&
        o->step == BC_STEP_RCPT && unanswered > 0 && s->drops < 2) {
        s->drops++;
        /* Half as many, or fewer than it answered when that was less
         * (an error limit reached sooner: mostly unknown mailboxes). */
        int answered = asked - unanswered;
        int lim = asked / 2 > 0 ? asked / 2 : 1;
        if (answered > 0 && answered * 3 / 4 < lim)
            lim = answered * 3 / 4 > 0 ? answered * 3 / 4 : 1;
        s->rcpt_limit = lim;
        if (h && cap_lower(&h->rcpt_cap, lim))
            host_learned(v, h);
        session_next(s);
        return;
    }

    /* Replies and commands stopped matching (the probe gave no recipient a
     * reply): once, the same host again on a new connection, one command at
     * a time (a lost or extra reply in a pipelined group cannot recur). */
    if (o->end == BC_PROBE_PROTOCOL && o->out_of_step && !s->stepwise && unanswered > 0) {
        s->stepwise = true;
        s->fail = BC_SMTPF_PROTOCOL;
        session_next(s);
        return;
    }

    /* The session ended before every task had an answer: note why, and move
     * on to the next address / host. */
    switch (o->end) {
    case BC_PROBE_REPLY: session_note_failure(s, c, o, h); break;
    case BC_PROBE_REFUSED:
        if (s->fail == BC_SMTPF_NONE)
            s->fail = BC_SMTPF_NO_CONNECT;
        break;
    case BC_PROBE_TIMEOUT: s->fail = BC_SMTPF_TIMEOUT; break;
    case BC_PROBE_RESET: s->fail = BC_SMTPF_TEMPFAIL; break;
    case BC_PROBE_PROTOCOL: s->fail = BC_SMTPF_PROTOCOL; break;
    default: s->fail = BC_SMTPF_TEMPFAIL; break;
    }
    /* The proxy itself failed: every other host would fail through it too. */
    if (o->proxy_failed) {
        session_fail_open_tasks(s);
        session_end(s);
        return;
    }
    /* A blocked client or a greylisting answer to MAIL is a verdict about us
     * at this domain, not about one host. */
    if (s->fail == BC_SMTPF_BLOCKED || s->fail == BC_SMTPF_GREYLISTED) {
        if (s->fail == BC_SMTPF_GREYLISTED) {
            for (int i = 0; i < s->ntasks; i++)
                s->tasks[i]->was_greylisted = true;
            s->fail = BC_SMTPF_TEMPFAIL;
        }
        session_fail_open_tasks(s);
        session_end(s);
        return;
    }
    s->plaintext = false;
    s->ci++;
    session_next(s);
}

static void session_wait_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    session_next(arg);
}

/* The SOCKS5 proxy this session's connections go through, or NULL for
 * direct connections: the one place that chooses. The provider rules' proxy
 * of the candidate's MX host (data/providers.json, --providers) wins over
 * the verifier's proxy option. */
static const bc_proxy *session_proxy(const session *s)
{
    const bc_provider *p = s->ci < s->ncand ? provider_of(s->v, s->cand[s->ci].host) : NULL;
    if (p && p->proxy_parsed)
        return p->proxy_parsed; /* the provider rules' own proxy for its hosts */
    return s->v->have_proxy ? &s->v->proxy : NULL;
}

/* Starts (or waits to start) the attempt on candidate s->ci. */
static void session_next(session *s)
{
    bc_verifier *v = s->v;
    long now = bc_now_ms();
    /* the earliest deadline among open tasks bounds the session (a task
     * not asked about yet would start its clock now) */
    long deadline = 0;
    int open = 0;
    for (int i = 0; i < s->ntasks; i++) {
        task *j = s->tasks[i];
        if (!session_asks(s, j))
            continue;
        open++;
        long dl = j->started ? j->deadline : now + j->timeout_ms;
        if (!deadline || dl < deadline)
            deadline = dl;
    }
    if (!open) {
        session_end(s);
        return;
    }
    if (s->ci >= s->ncand || now >= deadline) {
        if (now >= deadline && s->fail == BC_SMTPF_NONE)
            s->fail = BC_SMTPF_TIMEOUT;
        session_fail_open_tasks(s);
        session_end(s);
        return;
    }
    candidate *c = &s->cand[s->ci];
    vhost *h = host_get(v, (const struct sockaddr *)&c->addr.sa);
    const bc_provider *prov = provider_of(v, c->host);
    int max_active = v->o.mx_connections;
    if (prov && prov->mx_connections && prov->mx_connections < max_active)
        max_active = prov->mx_connections;
    if (h && (h->active >= max_active || h->backoff_until > now)) {
        /* The host is busy or backing off. With other candidates left and
         * the host backing off, try them; otherwise wait a little. */
        if (h->backoff_until > now && s->ci + 1 < s->ncand) {
            s->ci++;
            session_next(s);
            return;
        }
        long wait = h->backoff_until > now ? h->backoff_until - now : SLOT_POLL_MS;
        if (now + wait >= deadline)
            wait = deadline - now;
        if (wait < 1)
            wait = 1;
        struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
        evtimer_add(s->wait, &tv);
        return;
    }
    if (h && v->have_gate) {
        /* The cap over every process that shares the gate (the workers of
         * one database); limits they learned of the host come with the slot. */
        bc_host_limits shared = { 0, 0 };
        long hold = deadline - now + GATE_MARGIN_MS;
        /* One question per host every GATE_POLL_MS, however many sessions wait. */
        if (h->gate_retry_at > now ||
            v->gate.take(v->gate.arg, h->key, max_active, hold, &s->gate_slot, &shared) != 1) {
            if (h->gate_retry_at <= now)
                h->gate_retry_at = now + GATE_POLL_MS;
            long wait = h->gate_retry_at - now + 1 + (long)rand_below(GATE_POLL_MS / 2);
            if (now + wait >= deadline)
                wait = deadline - now > 0 ? deadline - now : 1;
            struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
            evtimer_add(s->wait, &tv);
            return;
        }
        s->gate_held = true;
        if (shared.rcpts_per_connection > 0)
            cap_lower(&h->rcpt_cap, shared.rcpts_per_connection);
        if (shared.rcpts_per_transaction > 0)
            cap_lower(&h->txn_cap, shared.rcpts_per_transaction);
    }
    if (h) {
        h->active++;
        s->slot = h;
    }
    /* The connection starts: so do the clocks of the addresses it asks about. */
    for (int i = 0; i < s->ntasks; i++)
        if (session_asks(s, s->tasks[i]))
            task_start_clock(s->tasks[i], now);
    memset(&s->target, 0, sizeof s->target);
    memcpy(&s->target, &c->addr.sa, c->addr.salen);
    socklen_t tlen = c->addr.salen;
    if (s->target.ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)&s->target)->sin_port = htons((uint16_t)v->o.smtp_port);
    else
        ((struct sockaddr_in6 *)(void *)&s->target)->sin6_port = htons((uint16_t)v->o.smtp_port);

    /* Ask only about tasks still open (a reset after some RCPT answers, or a
     * recheck, leaves fewer), then the catch-all test in its own transaction. */
    s->nrcpts = 0;
    int limit = s->rcpt_limit;
    if (h && h->rcpt_cap && (!limit || h->rcpt_cap < limit))
        limit = h->rcpt_cap;
    for (int i = 0; i < s->ntasks; i++) {
        task *j = s->tasks[i];
        if (!session_asks(s, j))
            continue;
        if (limit && s->nrcpts >= limit)
            break; /* the rest go on the next connection */
        bc_probe_rcpt *rc = &s->rcpts[s->nrcpts];
        memset(rc, 0, sizeof *rc);
        rc->mailbox = j->mailbox;
        rc->needs_smtputf8 = (j->r->addr.flags & BC_ADDR_UTF8_LOCAL) != 0;
        rc->batch = h && h->txn_cap > 0 ? s->nrcpts / h->txn_cap : 0;
        s->rtask[s->nrcpts++] = i;
        j->r->smtp.attempts++;
    }
    if (s->has_catchall) {
        bc_probe_rcpt *rc = &s->rcpts[s->nrcpts];
        memset(rc, 0, sizeof *rc);
        rc->mailbox = s->catchall_mailbox;
        rc->batch = s->nrcpts; /* its own transaction, after the others */
        s->rtask[s->nrcpts++] = -1;
    }
    memset(&s->cfg, 0, sizeof s->cfg);
    s->cfg.helo = v->helo;
    s->cfg.mail_from = v->from;
    s->cfg.connect_timeout_ms = v->o.connect_timeout_ms;
    s->cfg.greeting_timeout_ms = v->o.greeting_timeout_ms;
    s->cfg.command_timeout_ms = v->o.command_timeout_ms;
    s->cfg.no_starttls = v->o.no_starttls || s->plaintext || (h && h->tls_broken);
    s->cfg.no_pipelining = s->stepwise;
    s->cfg.ssl_ctx = v->ssl;
    if (v->nsources) {
        int k = v->next_source++ % v->nsources;
        s->cfg.source = (const struct sockaddr *)&v->sources[k];
        s->cfg.source_len = v->source_len[k];
    }
    s->cfg.proxy = session_proxy(s);
    s->cfg.transcript = v->o.trace ? &s->transcript : NULL;
    memset(&s->req, 0, sizeof s->req);
    s->req.addr = (const struct sockaddr *)&s->target;
    s->req.addr_len = tlen;
    s->req.host = c->host;
    s->req.rcpts = s->rcpts;
    s->req.nrcpts = s->nrcpts;
    s->req.deadline_ms = deadline;
    v->nconnects++;
    s->probe = bc_probe_start(v->base, &s->cfg, &s->req, probe_done, s);
    if (!s->probe) {
        session_release_slot(s);
        s->fail = BC_SMTPF_TEMPFAIL;
        session_fail_open_tasks(s);
        session_end(s);
    }
}

static void session_end(session *s)
{
    bc_verifier *v = s->v;
    vdomain *d = s->d;
    session_release_slot(s);
    if (s->has_catchall) {
        d->catch_all_testing = false;
        domain_catchall_settled(d);
    }
    if (!v->freeing) {
        /* anything still open was not settled: give it the session's failure */
        session_fail_open_tasks(s);
    }
    for (int i = 0; i < s->ntasks; i++) {
        if (s->tasks[i]->sess == s)
            s->tasks[i]->sess = NULL;
        task_unref(s->tasks[i]);
    }
    d->sessions--;
    session_free(s);
    if (!v->freeing && d->npending)
        domain_kick(d, 0);
    domain_release(d);
}

/* Random local part for the catch-all test: long enough that no real
 * mailbox has it, letters and digits only. */
static void random_local(char *buf, size_t len)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char rnd[24];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        memset(rnd, 7, sizeof rnd);
    size_t n = sizeof rnd < len - 1 ? sizeof rnd : len - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = alnum[rnd[i] % (sizeof alnum - 1)];
    buf[n] = '\0';
}

/* Takes up to rcpts_per_connection tasks off the queue into a new session. */
static void session_start(vdomain *d, const bc_mx_answer *a)
{
    bc_verifier *v = d->v;
    session *s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->v = v;
    s->d = d;
    s->wait = evtimer_new(v->base, session_wait_cb, s);
    int unsafe = session_candidates(s, a);
    /* How many addresses this session takes: the user's number, else a
     * large batch (BC_RCPTS_START), lowered by the provider rules and by what
     * the first host has shown it takes. A short queue is not spread over
     * several connections: a session costs the same few round trips however
     * many it asks (PIPELINING), and fewer connections are the politer. */
    int cap = v->batch_max;
    const bc_provider *prov = s->ncand ? provider_of(v, s->cand[0].host) : NULL;
    if (prov && prov->rcpts_per_connection && prov->rcpts_per_connection < cap)
        cap = prov->rcpts_per_connection;
    vhost *h0 = s->ncand ? host_get(v, (const struct sockaddr *)&s->cand[0].addr.sa) : NULL;
    if (h0 && h0->rcpt_cap && h0->rcpt_cap < cap)
        cap = h0->rcpt_cap;
    /* The queue holds WAIT_TURN tasks only here: domain_apply moved them all. */
    task *j;
    while (s->ntasks < cap && (j = d->pending_head)) {
        result_set_mx(v, j->r, a);
        if (s->ncand == 0) {
            task_decide(j, BC_STAGE_SMTP, unsafe ? BC_SMTPF_UNSAFE_TARGET : BC_SMTPF_NO_CONNECT);
            continue;
        }
        task_ref(j); /* the session's */
        j->sess = s;
        s->tasks[s->ntasks++] = j;
        task_to(j, TASK_PROBING); /* leaves the queue */
    }
    if (s->ntasks == 0 || !s->wait) {
        for (int i = 0; i < s->ntasks; i++) {
            s->tasks[i]->sess = NULL;
            task_to(s->tasks[i], TASK_WAIT_TURN);
            task_unref(s->tasks[i]);
        }
        s->orphan = true; /* not linked yet */
        session_free(s);
        return;
    }
    long now = bc_now_ms();
    if (d->catch_all != BC_UNKNOWN && now - d->catch_all_at > CATCHALL_TTL_MS)
        d->catch_all = BC_UNKNOWN;
    /* The random-address test, unless the provider rules say it tells
     * nothing there (Gmail has no catch-all; Yahoo accepts everything). */
    if (!v->o.no_catch_all && d->catch_all == BC_UNKNOWN && !d->catch_all_testing &&
        !(prov && !prov->catch_all_probe)) {
        if (!d->catchall_local[0])
            random_local(d->catchall_local, sizeof d->catchall_local);
        snprintf(s->catchall_mailbox, sizeof s->catchall_mailbox, "%s@%s", d->catchall_local, d->name);
        s->has_catchall = true;
        d->catch_all_testing = true;
    }
    d->sessions++;
    s->snext = v->sessions;
    if (v->sessions)
        v->sessions->sprev = s;
    v->sessions = s;
    long interval = v->o.domain_rate_per_min > 0 ? 60000L / v->o.domain_rate_per_min : 0;
    d->next_connect = now + interval;
    session_next(s);
}

/* ---- DNS stage ------------------------------------------------------------ */

/* What an MX answer establishes for the domain's addresses: OK (hosts with
 * addresses to try), a permanent negative fact, or TEMPFAIL. */
static bc_dns_fact domain_fact(const bc_mx_answer *a)
{
    switch (a->rc) {
    case BC_DNS_OK: break;
    case BC_DNS_NXDOMAIN: return BC_DNSF_NXDOMAIN;
    case BC_DNS_NODATA: return BC_DNSF_NO_MAIL;
    case BC_DNS_NULLMX: return BC_DNSF_NULL_MX;
    default: return BC_DNSF_TEMPFAIL;
    }
    /* Hosts that all lack addresses: no mail server we could reach. */
    bool any_temp = false;
    for (int i = 0; i < a->nhosts; i++) {
        if (a->hosts[i].naddrs)
            return BC_DNSF_OK;
        if (a->hosts[i].addr_rc == BC_DNS_TEMPFAIL)
            any_temp = true;
    }
    return any_temp ? BC_DNSF_TEMPFAIL : BC_DNSF_NO_MAIL;
}

/* The domain's answer is in and believed (f is its fact, or UNRELIABLE):
 * every queued address gets f, or with hosts to try, sessions start. An
 * address DNS could not tell about says why in its result's detail: the
 * resolver's message, or the failed resolver check's. */
static void domain_apply(vdomain *d, const bc_mx_answer *a, bc_dns_fact f)
{
    bc_verifier *v = d->v;
    if (f != BC_DNSF_OK) {
        const char *why = f == BC_DNSF_TEMPFAIL     ? (a->error[0] ? a->error : "DNS could not tell")
                          : f == BC_DNSF_UNRELIABLE ? v->resolver_msg
                                                    : "";
        task *j;
        while ((j = d->pending_head)) {
            result_set_mx(v, j->r, a); /* hosts without addresses, if any */
            j->r->facts.dns = f;
            snprintf(j->r->detail, sizeof j->r->detail, "%s", why);
            task_decide(j, BC_STAGE_DNS, BC_SMTPF_NONE); /* leaves the queue */
        }
        return;
    }
    for (task *j = d->pending_head; j; j = j->next)
        if (j->state == TASK_WAIT_DNS)
            task_to(j, TASK_WAIT_TURN);
    long now = bc_now_ms();
    while (d->npending && d->sessions < v->o.mx_connections) {
        if (d->next_connect > now) {
            domain_kick(d, d->next_connect - now);
            return;
        }
        int before = d->npending;
        session_start(d, a);
        if (d->npending == before) { /* out of memory: nothing taken; try again soon */
            domain_kick(d, 100);
            return;
        }
        now = bc_now_ms();
    }
}

/* How far a negative answer can be believed now: BC_YES while the last
 * resolver check passed (for RCHECK_OK_TTL_MS), BC_NO while the last one
 * failed (for RCHECK_FAIL_TTL_MS), BC_UNKNOWN when a check must run. */
static bc_tristate resolver_trust(const bc_verifier *v)
{
    long age = bc_now_ms() - v->resolver_at;
    if (v->resolver_ok == BC_YES && age < RCHECK_OK_TTL_MS)
        return BC_YES;
    if (v->resolver_ok == BC_NO && age < RCHECK_FAIL_TTL_MS)
        return BC_NO;
    return BC_UNKNOWN;
}

/* The resolver check ended: record it and let the held domains go, with
 * their own facts when it passed and as unreliable when it failed. */
static void resolver_checked(void *arg, bool ok, const char *msg)
{
    bc_verifier *v = arg;
    bc_rcheck_free(v->rcheck);
    v->rcheck = NULL;
    v->resolver_ok = ok ? BC_YES : BC_NO;
    v->resolver_at = bc_now_ms();
    snprintf(v->resolver_msg, sizeof v->resolver_msg, "%s", msg);
    vdomain *list = v->held;
    v->held = NULL;
    while (list) {
        vdomain *d = list;
        list = d->held_next;
        d->held_next = NULL;
        bc_mx_answer *a = d->held;
        d->held = NULL;
        domain_apply(d, a, ok ? d->held_fact : BC_DNSF_UNRELIABLE);
        free(a);
        domain_release(d);
    }
}

/* Starts a resolver check unless one is under way. One that cannot even
 * start counts as failed. */
static void resolver_check_start(bc_verifier *v)
{
    if (v->rcheck || v->freeing)
        return;
    char err[BC_RCHECK_MSG_MAX];
    v->rcheck = bc_rcheck_start(v->base, v->dns_servers, 0, resolver_checked, v, err, sizeof err);
    if (!v->rcheck)
        resolver_checked(v, false, err);
}

/* A negative answer arrived while the resolver is not known to be
 * trustworthy: the domain's queue waits for the check, keeping a copy of
 * the answer. Without memory for the copy it cannot wait: unreliable. */
static void domain_hold(vdomain *d, const bc_mx_answer *a, bc_dns_fact f)
{
    bc_verifier *v = d->v;
    bc_mx_answer *copy = malloc(sizeof *copy);
    if (!copy) {
        domain_apply(d, a, BC_DNSF_UNRELIABLE);
        return;
    }
    *copy = *a;
    d->held = copy;
    d->held_fact = f;
    d->held_next = v->held;
    v->held = d;
    resolver_check_start(v);
}

static void domain_pump_cb(evutil_socket_t fd, short what, void *arg);

/* A lookup slot is free: the domains waiting for one take it in order (a
 * domain that no longer needs it is let go). */
static void resolve_next(bc_verifier *v)
{
    while (v->resolve_wait && v->nresolving < RESOLVE_MAX && !v->freeing) {
        vdomain *d = v->resolve_wait;
        v->resolve_wait = d->resolve_next;
        if (!v->resolve_wait)
            v->resolve_wait_tail = NULL;
        d->resolve_next = NULL;
        d->resolve_waiting = false;
        domain_pump_cb(-1, 0, d);
        domain_release(d);
    }
}

static void domain_mx_cb(void *arg, const bc_mx_answer *a)
{
    vdomain *d = arg;
    bc_verifier *v = d->v;
    d->resolving = false;
    v->nresolving--;
    if (a->rc == BC_DNS_CANCELLED || v->freeing)
        return;
    resolve_next(v);
    bc_dns_fact f = domain_fact(a);
    if (f == BC_DNSF_NXDOMAIN || f == BC_DNSF_NO_MAIL || f == BC_DNSF_NULL_MX) {
        /* Would make the addresses undeliverable: only on the word of a
         * resolver that passed its check. */
        bc_tristate trust = resolver_trust(v);
        if (trust == BC_UNKNOWN) {
            domain_hold(d, a, f);
            return;
        }
        if (trust == BC_NO)
            f = BC_DNSF_UNRELIABLE;
    }
    domain_apply(d, a, f);
    domain_release(d);
}

static void domain_pump_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    vdomain *d = arg;
    bc_verifier *v = d->v;
    if (d->resolving || d->held || d->resolve_waiting || !d->npending || v->freeing)
        return;
    if (d->sessions >= v->o.mx_connections)
        return; /* a session ending kicks us again */
    if (v->nresolving >= RESOLVE_MAX) {
        /* Thousands of lookups at once gain nothing over a few hundred (the
         * resolver answers them in turn) and each holds its answer's
         * memory: wait for a slot, in order. */
        d->resolve_waiting = true;
        d->resolve_next = NULL;
        if (v->resolve_wait_tail)
            v->resolve_wait_tail->resolve_next = d;
        else
            v->resolve_wait = d;
        v->resolve_wait_tail = d;
        return;
    }
    d->resolving = true;
    v->nresolving++;
    bc_dns_resolve_mx(v->dns, d->name, domain_mx_cb, d);
}

/* ---- typo suggestions need DNS too ------------------------------------- */

static void suggest_mx_cb(void *arg, const bc_mx_answer *a)
{
    task *j = arg;
    if (j->suggest == SUGGEST_PENDING)
        j->suggest = a->rc == BC_DNS_OK ? SUGGEST_YES : SUGGEST_NO;
    if (a->rc != BC_DNS_CANCELLED && j->state == TASK_DECIDED)
        task_to(j, TASK_DONE);
    task_unref(j);
}

/* ---- deadlines ----------------------------------------------------------- */

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    task *j = arg;
    /* Still waiting for DNS, a host slot, a recheck or a server: the deadline
     * is the user's limit and always holds. */
    switch (j->state) {
    case TASK_DONE: return;
    case TASK_WAIT_CATCHALL:
        j->r->facts.accept_all_untested = true;
        task_decide(j, BC_STAGE_SMTP, BC_SMTPF_ACCEPTED);
        return;
    case TASK_DECIDED:
        /* only the suggestion lookup is left: give up on it */
        j->suggest = SUGGEST_NO;
        task_to(j, TASK_DONE);
        return;
    case TASK_WAIT_TURN:
    case TASK_PROBING:
        if (!j->started) {
            /* DNS answered and the address waits for its turn under the
             * per-host and per-domain limits (in the queue, or taken by a
             * session that waits for a host slot): its clock starts with
             * its first connection. */
            struct timeval tv = { j->timeout_ms / 1000, (j->timeout_ms % 1000) * 1000 };
            evtimer_add(j->timer, &tv);
            return;
        }
        break;
    case TASK_NEW:
    case TASK_WAIT_DNS:
    case TASK_WAIT_RECHECK: break;
    }
    session *s = j->sess;
    if (j->state == TASK_WAIT_DNS) {
        /* Waiting for the resolver check with a negative answer: the check
         * has not passed, so that answer cannot be believed. */
        j->r->facts.dns = j->d && j->d->held ? BC_DNSF_UNRELIABLE : BC_DNSF_TEMPFAIL;
        snprintf(j->r->detail, sizeof j->r->detail, "%s",
                 j->d && j->d->held ? "the DNS resolver's check had not passed by the deadline"
                                    : "no DNS answer by the deadline");
        task_decide(j, BC_STAGE_DNS, BC_SMTPF_NONE);
    } else {
        if (s && (s->last_cand == NULL || s->probe) && s->ci < s->ncand) {
            /* no attempt finished yet, or one is under way: say where it
             * was (the step it waited on), with the conversation so far */
            const char *step = s->probe ? bc_probe_step_name(bc_probe_current_step(s->probe)) : "connect";
            task_set_smtp(s, j, &s->cand[s->ci], NULL, step, false);
        }
        if (s)
            task_add_transcript(s, j);
        task_decide(j, BC_STAGE_SMTP, j->was_greylisted ? BC_SMTPF_GREYLISTED : BC_SMTPF_TIMEOUT);
    }
    /* A session left with nobody to ask about, now or after a recheck, is
     * hung up on. */
    if (s && s->probe) {
        bool open = false;
        for (int i = 0; i < s->ntasks; i++) {
            task_state st = s->tasks[i]->state;
            if (st != TASK_DONE && st != TASK_DECIDED && st != TASK_WAIT_CATCHALL)
                open = true;
        }
        if (!open)
            bc_probe_cancel(s->probe);
    }
}

/* ---- public API ---------------------------------------------------------- */

static bc_error parse_source(bc_verifier *v, const char *ip, char *errbuf, size_t errlen)
{
    int k = v->nsources;
    memset(&v->sources[k], 0, sizeof v->sources[k]);
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)&v->sources[k];
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&v->sources[k];
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        v->source_len[k] = sizeof *in;
    } else if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        v->source_len[k] = sizeof *in6;
    } else {
        return bc_seterr(errbuf, errlen, BC_EINVAL, "source address '%s' is not an IP address", ip);
    }
    v->nsources++;
    return BC_OK;
}

bc_error bc_verifier_new(bc_verifier **out, bc_ctx *ctx, struct event_base *base, const bc_verify_options *opts,
                         char *errbuf, size_t errlen)
{
    if (!out || !ctx || !base)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_verifier_new: missing argument");
    *out = NULL;
    bc_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    v->ctx = ctx;
    v->base = base;
    v->resolver_ok = BC_UNKNOWN;
    if (opts)
        v->o = *opts;
    bc_verify_options *o = &v->o;
    if (o->timeout_ms <= 0)
        o->timeout_ms = 60000;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 10000;
    if (o->greeting_timeout_ms <= 0)
        o->greeting_timeout_ms = 30000;
    if (o->command_timeout_ms <= 0)
        o->command_timeout_ms = 30000;
    if (o->mx_connections <= 0)
        o->mx_connections = 2;
    if (o->rcpts_per_connection > MAX_BATCH)
        o->rcpts_per_connection = MAX_BATCH;
    /* 0: adaptive, from BC_RCPTS_START down to what each host shows it takes */
    v->batch_max = o->rcpts_per_connection > 0 ? o->rcpts_per_connection : BC_RCPTS_START;
    if (o->domain_rate_per_min == 0)
        o->domain_rate_per_min = 120;
    if (o->domain_rate_per_min < 0)
        o->domain_rate_per_min = 0; /* unlimited */
    if (o->n_greylist_waits <= 0) {
        o->greylist_waits_s[0] = 60;
        o->greylist_waits_s[1] = 300;
        o->n_greylist_waits = 2;
    }
    if (o->n_greylist_waits > BC_MAX_GREYLIST_WAITS)
        o->n_greylist_waits = BC_MAX_GREYLIST_WAITS;
    if (o->smtp_port <= 0 || o->smtp_port > 65535)
        o->smtp_port = 25;

    bc_error st = BC_OK;
    if (o->helo && *o->helo)
        snprintf(v->helo, sizeof v->helo, "%s", o->helo);
    else
        bc_default_helo(v->helo, sizeof v->helo);
    if (o->mail_from)
        snprintf(v->from, sizeof v->from, "%s", o->mail_from);
    else
        snprintf(v->from, sizeof v->from, "verify@%s", v->helo);
    o->helo = v->helo;
    o->mail_from = v->from;
    o->dns_servers = NULL; /* kept as v->dns_servers, for the resolver check */
    if (opts && opts->dns_servers && !(v->dns_servers = strdup(opts->dns_servers))) {
        st = bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < (opts ? opts->n_source_ips : 0) && i < BC_MAX_SOURCE_IPS; i++) {
        st = parse_source(v, opts->source_ips[i], errbuf, errlen);
        if (st != BC_OK)
            goto fail;
        o->source_ips[i] = NULL;
    }
    if (opts && opts->proxy) {
        st = bc_proxy_parse(opts->proxy, &v->proxy, errbuf, errlen);
        if (st != BC_OK)
            goto fail;
        v->have_proxy = true;
    }
    o->proxy = NULL; /* the caller's string; v->proxy holds what it says */

    bc_dns_options dopts = { .servers = opts ? opts->dns_servers : NULL };
    st = bc_dns_new(&v->dns, base, &dopts, errbuf, errlen);
    if (st != BC_OK)
        goto fail;

    v->ssl = SSL_CTX_new(TLS_client_method());
    if (!v->ssl) {
        st = bc_seterr(errbuf, errlen, BC_ENOMEM, "cannot create a TLS context");
        goto fail;
    }
    /* Opportunistic TLS, as MTAs do: problems are recorded, not fatal. */
    SSL_CTX_set_verify(v->ssl, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_default_verify_paths(v->ssl);
    SSL_CTX_set_min_proto_version(v->ssl, TLS1_VERSION);

    v->facts = bc_dfacts_new(0);
    v->deliver = event_new(base, -1, 0, deliver_cb, v);
    if (!v->deliver || !v->facts) {
        st = bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
        goto fail;
    }
    *out = v;
    return BC_OK;
fail:
    bc_dns_free(v->dns);
    if (v->deliver)
        event_free(v->deliver);
    bc_dfacts_free(v->facts);
    if (v->ssl)
        SSL_CTX_free(v->ssl);
    free(v->dns_servers);
    explicit_bzero(&v->proxy, sizeof v->proxy);
    free(v);
    return st;
}

const char *bc_verifier_helo(const bc_verifier *v)
{
    return v->helo;
}
const char *bc_verifier_mail_from(const bc_verifier *v)
{
    return v->from;
}

bc_error bc_verifier_submit(bc_verifier *v, const char *email, size_t len, bc_verify_cb cb, void *arg)
{
    return bc_verifier_submit_timeout(v, email, len, 0, cb, arg);
}

bc_error bc_verifier_submit_timeout(bc_verifier *v, const char *email, size_t len, int timeout_ms, bc_verify_cb cb,
                                    void *arg)
{
    if (!v || !cb || (!email && len))
        return BC_EINVAL;
    task *j = calloc(1, sizeof *j);
    if (!j)
        return BC_ENOMEM;
    j->r = bc_result_offline_new(v->ctx, email, len);
    if (!j->r) {
        free(j);
        return BC_ENOMEM;
    }
    j->v = v;
    j->cb = cb;
    j->arg = arg;
    j->refs = 1; /* the live list's */
    j->t0 = bc_now_ms();
    j->timeout_ms = timeout_ms > 0 ? timeout_ms : v->o.timeout_ms;
    j->deadline = j->t0 + j->timeout_ms;
    j->next = NULL;
    j->all_next = v->all;
    if (v->all)
        v->all->all_prev = j;
    v->all = j;

    bc_result *r = j->r;
    const bc_addr *a = &r->addr;
    if (!a->valid || (a->flags & BC_ADDR_SPECIAL_USE)) {
        task_decide(j, BC_STAGE_SYNTAX, BC_SMTPF_NONE);
        return BC_OK;
    }
    if (a->flags & BC_ADDR_DOMAIN_LITERAL) {
        /* An address literal names no domain to look up; we do not probe
         * bare IP addresses (that is what scanners do). */
        task_decide(j, BC_STAGE_SYNTAX, BC_SMTPF_NONE);
        return BC_OK;
    }
    snprintf(j->mailbox, sizeof j->mailbox, "%s@%s", a->local, a->ascii_domain);
    j->timer = evtimer_new(v->base, deadline_cb, j);
    if (j->timer) {
        struct timeval tv = { j->timeout_ms / 1000, (j->timeout_ms % 1000) * 1000 };
        evtimer_add(j->timer, &tv);
    }
    if (r->facts.suggestion) {
        const char *at = strrchr(r->suggestion, '@');
        if (at) {
            j->suggest = SUGGEST_PENDING;
            task_ref(j); /* the lookup's */
            bc_dns_resolve_mx(v->dns, at + 1, suggest_mx_cb, j);
        }
    }
    vdomain *d = domain_get(v, a->ascii_domain);
    if (!d) {
        r->facts.dns = BC_DNSF_TEMPFAIL;
        task_decide(j, BC_STAGE_DNS, BC_SMTPF_NONE);
        return BC_OK;
    }
    j->d = d;
    d->ntasks++;
    task_to(j, TASK_WAIT_DNS);
    return BC_OK;
}

void bc_verifier_free(bc_verifier *v)
{
    if (!v)
        return;
    v->freeing = true;
    bc_rcheck_free(v->rcheck); /* the held domains' tasks are cancelled below */
    v->rcheck = NULL;
    /* Sessions in flight are cut loose: their probes are cancelled and free
     * them when the cancellation arrives; they no longer touch v. */
    while (v->sessions) {
        session *s = v->sessions;
        v->sessions = s->snext;
        if (s->probe)
            bc_probe_cancel(s->probe); /* the connection ends now; the probe's callback comes later */
        session_release_slot(s);       /* the gate's slot too */
        s->orphan = true;
        for (int i = 0; i < s->ntasks; i++) {
            if (s->tasks[i]->sess == s)
                s->tasks[i]->sess = NULL;
            task_unref(s->tasks[i]);
        }
        s->ntasks = 0;
        if (!s->probe)
            session_free(s);
    }
    /* Pending tasks are told they were cancelled, wherever they wait: their
     * facts stay as they are, they leave the domain's queue, the catch-all
     * waiters or the recheck wait (task_to), and the suggestion is given up. */
    while (v->all) {
        task *j = v->all;
        j->r->reason_override = "cancelled";
        j->suggest = SUGGEST_NO;
        task_to(j, j->state == TASK_DECIDED ? TASK_DONE : TASK_DECIDED); /* unlinks j from v->all */
    }
    bc_dns_free(v->dns); /* fires CANCELLED to DNS callbacks */
    v->dns = NULL;
    deliver_cb(-1, 0, v);
    for (size_t b = 0; b < v->ndbuckets; b++) {
        vdomain *d = v->domains[b];
        while (d) {
            vdomain *n = d->hnext;
            event_free(d->pump);
            free(d->held);
            free(d);
            d = n;
        }
    }
    for (size_t b = 0; b < v->nhbuckets; b++) {
        vhost *h = v->hosts[b];
        while (h) {
            vhost *n = h->hnext;
            free(h);
            h = n;
        }
    }
    free(v->domains);
    free(v->hosts);
    bc_dfacts_free(v->facts);
    event_free(v->deliver);
    if (v->ssl)
        SSL_CTX_free(v->ssl);
    free(v->dns_servers);
    explicit_bzero(&v->proxy, sizeof v->proxy); /* the password */
    free(v);
}

/* The lookup key of a domain as tasks use it: ASCII lower case. false when
 * it does not fit. */
static bool domain_key(const char *in, char *out, size_t size)
{
    size_t n = strlen(in);
    if (n == 0 || n >= size)
        return false;
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    return true;
}

bc_tristate bc_verifier_accept_all(bc_verifier *v, const char *ascii_domain, int64_t *age_ms)
{
    char key[BC_DOMAIN_MAX];
    if (!v || !ascii_domain || !domain_key(ascii_domain, key, sizeof key))
        return BC_UNKNOWN;
    /* the live record, else what a dropped one left in the cache */
    const vdomain *d = domain_find(v, key);
    bc_dfact f;
    if (d) {
        f.catch_all = d->catch_all;
        f.catch_all_at = d->catch_all_at;
    } else if (!bc_dfacts_get(v->facts, key, &f)) {
        return BC_UNKNOWN;
    }
    long age = bc_now_ms() - f.catch_all_at;
    if (f.catch_all == BC_UNKNOWN || age > CATCHALL_TTL_MS)
        return BC_UNKNOWN;
    if (age_ms)
        *age_ms = age;
    return f.catch_all;
}

void bc_verifier_learn_accept_all(bc_verifier *v, const char *ascii_domain, bc_tristate accept_all, int64_t age_ms)
{
    char key[BC_DOMAIN_MAX];
    if (!v || !ascii_domain || accept_all == BC_UNKNOWN || age_ms < 0 || age_ms > CATCHALL_TTL_MS ||
        !domain_key(ascii_domain, key, sizeof key))
        return;
    long at = bc_now_ms() - (long)age_ms;
    vdomain *d = domain_find(v, key);
    if (!d) {
        /* no live record: the cache takes it, unless it knows fresher */
        bc_dfact f = { BC_UNKNOWN, 0, 0 };
        if (bc_dfacts_get(v->facts, key, &f) && f.catch_all != BC_UNKNOWN && f.catch_all_at >= at)
            return;
        f.catch_all = accept_all;
        f.catch_all_at = at;
        bc_dfacts_put(v->facts, key, &f);
        return;
    }
    /* a test under way or a fresher fact of its own wins */
    if (d->catch_all_testing || (d->catch_all != BC_UNKNOWN && d->catch_all_at >= at))
        return;
    d->catch_all = accept_all;
    d->catch_all_at = at;
}

void bc_verifier_set_host_gate(bc_verifier *v, const bc_host_gate *gate)
{
    if (!v)
        return;
    v->have_gate = gate && gate->take && gate->give;
    if (v->have_gate)
        v->gate = *gate;
    else
        memset(&v->gate, 0, sizeof v->gate);
}

bool bc_verifier_host_limits(const bc_verifier *v, const char *host, bc_host_limits *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!v || !host)
        return false;
    if (!v->hosts)
        return false;
    for (const vhost *x = v->hosts[hash_str(host) & (v->nhbuckets - 1)]; x; x = x->hnext) {
        if (strcmp(x->key, host) != 0)
            continue;
        if (out) {
            out->rcpts_per_connection = x->rcpt_cap;
            out->rcpts_per_transaction = x->txn_cap;
        }
        return true;
    }
    return false;
}

void bc_verifier_mem_get(const bc_verifier *v, bc_verifier_mem *out)
{
    memset(out, 0, sizeof *out);
    if (!v)
        return;
    out->domains = v->ndomains;
    out->domains_dropped = v->ndomains_dropped;
    out->hosts = v->nhosts;
    out->hosts_max = HOSTS_MAX;
    out->facts = bc_dfacts_count(v->facts);
    out->facts_max = bc_dfacts_max(v->facts);
    out->resolving = v->nresolving;
    out->resolving_max = RESOLVE_MAX;
}

uint64_t bc_verifier_connections(const bc_verifier *v)
{
    return v ? v->nconnects : 0;
}

bc_tristate bc_verifier_resolver_ok(bc_verifier *v, int64_t *age_ms, char *msg, size_t msglen)
{
    if (msg && msglen)
        msg[0] = '\0';
    if (!v || v->resolver_ok == BC_UNKNOWN)
        return BC_UNKNOWN;
    if (age_ms)
        *age_ms = bc_now_ms() - v->resolver_at;
    if (msg && msglen)
        snprintf(msg, msglen, "%s", v->resolver_msg);
    return v->resolver_ok;
}

void bc_verifier_check_resolver(bc_verifier *v)
{
    if (v)
        resolver_check_start(v);
}

/*
 * worker.c - a verification worker over the shared store (see worker.h).
 *
 * One timer drives everything every TICK_MS: results at hand are written
 * (one transaction per claim, every FLUSH_MS or FLUSH_ROWS results, and
 * when a claim is complete), leases are renewed once a third of them has
 * run, new claims are taken while fewer than `claims` are held (spaced out
 * when the queue is empty), and the heartbeat is written every
 * HEARTBEAT_MS.
 *
 * A claim's addresses go to the verifier a window at a time (per_claim in
 * flight), so that a batch of one domain shares connections without
 * flooding the verifier's queue. A greylisted address is asked again on the
 * greylisting schedule while the claim, renewed, waits for it: the result
 * a worker writes is the one a single machine would have written.
 *
 * With o.offline (`bouncecheck worker --offline`) a claim's rows are
 * verified at once, synchronously, by bc_verify_offline: the results of
 * `verify --offline`, and the claim is written and replaced without
 * waiting for the tick.
 *
 * Facts shared through the store (st_domain_facts): a new claim's domain
 * gets the catch-all fact another worker found (so it is not tested
 * again), and a claim that ends leaves what it learned: the catch-all fact
 * and the mail server that answered, which makes claims exclusive per mail
 * server for domains that share one.
 *
 * The host gate (st_host_slot_take): the worker puts every SMTP connection of
 * its verifier through the store, so that --mx-connections holds per MX
 * address over all the workers of the database at every moment, whatever
 * the claims (a domain's first batch, domains that share a provider's MX,
 * a claim taken over from a dead worker). Limits a host showed (recipients
 * per connection and per transaction) are shared the same way.
 */
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>

#include "recheck.h"
#include "state.h"
#include "log.h"

#define TICK_MS 200
#define HEARTBEAT_MS 5000
#define FLUSH_MS 1000         /* results wait at most this long to be written */
#define FLUSH_ROWS 100        /* or until this many are at hand */
#define IDLE_BACKOFF_MS 1000  /* nothing to claim: ask again after this */
#define ERROR_BACKOFF_MS 5000 /* the store failed: ask again after this */

typedef struct wclaim wclaim;

/* A result at hand. */
struct hand {
    int64_t row;
    int status;
    char reason[64];
    char *packed; /* bk_result_pack's text (owned) */
};

typedef struct wsub {
    bk_recheck rc; /* first: the greylisting rechecks (src/bulk/recheck.h) */
    wclaim *cl;
    size_t idx; /* in cl->c.rows */
} wsub;

struct wclaim {
    wk *w;
    st_claim c;
    size_t next;       /* the next row to submit */
    size_t inflight;   /* submitted or waiting for a recheck */
    size_t finished;   /* rows with a result (written or at hand) */
    struct hand *hand; /* results at hand, not yet written */
    size_t nres;
    int64_t renew_at;      /* unix ms */
    int64_t first_at_hand; /* unix ms of the oldest result at hand */
    bool lost;             /* the lease was lost: nothing more is submitted or written */
    char mx_host[256];     /* the mail server that answered for the domain ("" none yet) */
    wclaim *next_claim;
};

struct wk {
    wk_opts o;
    st_worker_info info;
    struct event *tick;
    struct event *kick; /* a pass at once: a claim is complete */
    wclaim *claims;
    int nclaims;
    int per_claim;
    int64_t next_claim_at, next_beat_at;
    bk_recheck_list rechecks; /* rows waiting for their greylisting recheck */
    bool stopping;
    wk_stats st;
};

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void on_result(void *arg, bc_result *r);

/* ---- the host gate (bc_host_gate over st_host_slot_*) ---------------------- */

static int gate_take(void *arg, const char *host, int cap, int64_t hold_ms, int *slot, bc_host_limits *shared)
{
    wk *w = arg;
    st_host_limits lim;
    int rc = st_host_slot_take(w->o.store, host, cap, w->info.id, hold_ms, slot, &lim);
    if (rc < 0) {
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("cannot take a connection slot of %s: %s", host, st_store_error(w->o.store));
        return -1;
    }
    if (rc == 1) {
        shared->rcpts_per_connection = lim.rcpts_per_connection;
        shared->rcpts_per_transaction = lim.rcpts_per_transaction;
    }
    return rc;
}

static void gate_give(void *arg, const char *host, int slot)
{
    wk *w = arg;
    if (st_host_slot_give(w->o.store, host, slot, w->info.id) != 0) {
        /* it runs out by itself at the end of its hold */
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("cannot give back a connection slot of %s: %s", host, st_store_error(w->o.store));
    }
}

static void gate_learned(void *arg, const char *host, const bc_host_limits *l)
{
    wk *w = arg;
    st_host_limits lim = { .rcpts_per_connection = l->rcpts_per_connection,
                           .rcpts_per_transaction = l->rcpts_per_transaction };
    if (st_host_limits_put(w->o.store, host, &lim) != 0) {
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("cannot share the limits of %s: %s", host, st_store_error(w->o.store));
    }
}

static void fill(wclaim *cl);

static bool submit(wclaim *cl, wsub *sb)
{
    const st_claim_row *row = &cl->c.rows[sb->idx];
    if (bc_verifier_submit(cl->w->o.v, row->addr, strlen(row->addr), on_result, sb) != BC_OK)
        return false;
    return true;
}

/* The greylisting wait is over: ask again, unless the claim is gone. */
static void recheck_due(bk_recheck *rc)
{
    wsub *sb = (wsub *)rc;
    wclaim *cl = sb->cl;
    wk *w = cl->w;
    if (cl->lost || w->stopping || !submit(cl, sb)) {
        cl->inflight--;
        free(sb);
    }
}

/* Keeps a result at hand until the next write. */
static void at_hand(wclaim *cl, int64_t row, bc_result *r)
{
    char *packed = bk_result_pack(r);
    struct hand *nh = packed ? realloc(cl->hand, (cl->nres + 1) * sizeof *nh) : NULL;
    if (!nh) {
        /* out of memory: the row stays claimed without a result and is
         * asked again by whoever claims it after the lease */
        free(packed);
        return;
    }
    cl->hand = nh;
    if (cl->nres == 0)
        cl->first_at_hand = now_ms();
    struct hand *h = &cl->hand[cl->nres++];
    h->row = row;
    h->status = (int)bc_result_status(r);
    snprintf(h->reason, sizeof h->reason, "%s", bc_result_reason(r));
    h->packed = packed;
}

static void on_result(void *arg, bc_result *r)
{
    wsub *sb = arg;
    wclaim *cl = sb->cl;
    wk *w = cl->w;
    bc_result_drop_transcript(r);
    if (!cl->lost && !w->stopping && bk_recheck_wait(&w->rechecks, &sb->rc, r)) {
        bc_result_free(r);
        return;
    }
    cl->inflight--;
    const char *mx = bc_result_mx_host(r);
    if (mx && !cl->mx_host[0] && bc_result_smtp_code(r) != 0) {
        /* a server that answered: the domain's politeness key for the others */
        size_t k = 0;
        for (; mx[k] && k + 1 < sizeof cl->mx_host; k++)
            cl->mx_host[k] = (char)((mx[k] >= 'A' && mx[k] <= 'Z') ? mx[k] + 32 : mx[k]);
        cl->mx_host[k] = '\0';
    }
    if (!cl->lost && !w->stopping) {
        at_hand(cl, cl->c.rows[sb->idx].row, r);
        cl->finished++;
        fill(cl);
        if (cl->finished == cl->c.n && cl->inflight == 0 && !evtimer_pending(w->kick, NULL)) {
            /* written and replaced by a new claim without waiting for the tick */
            struct timeval zero = { 0, 0 };
            evtimer_add(w->kick, &zero);
        }
    }
    bc_result_free(r);
    free(sb);
}

/* Submits rows of the claim up to the window. */
static void fill(wclaim *cl)
{
    wk *w = cl->w;
    while (!cl->lost && !w->stopping && cl->next < cl->c.n && cl->inflight < (size_t)w->per_claim) {
        wsub *sb = calloc(1, sizeof *sb);
        if (!sb)
            return;
        sb->cl = cl;
        sb->idx = cl->next;
        if (!submit(cl, sb)) {
            free(sb);
            return;
        }
        cl->next++;
        cl->inflight++;
    }
}

static void free_at_hand(wclaim *cl)
{
    for (size_t i = 0; i < cl->nres; i++)
        free(cl->hand[i].packed);
    cl->nres = 0;
}

/* Writes the results at hand of one claim. */
static void write_results(wk *w, wclaim *cl)
{
    if (cl->nres == 0)
        return;
    if (cl->lost) {
        free_at_hand(cl);
        return;
    }
    st_row_result *res = calloc(cl->nres, sizeof *res);
    int *rc = calloc(cl->nres, sizeof *rc);
    int64_t n = -1;
    if (res && rc) {
        for (size_t i = 0; i < cl->nres; i++)
            res[i] = (st_row_result){ .row = cl->hand[i].row,
                                      .status = cl->hand[i].status,
                                      .reason = cl->hand[i].reason,
                                      .json = cl->hand[i].packed };
        n = st_rows_result_batch(w->o.store, cl->c.id, res, cl->nres, rc);
    }
    free(res);
    if (n < 0) {
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("cannot write %zu results: %s", cl->nres, rc ? st_store_error(w->o.store) : "out of memory");
        free(rc);
        return; /* kept at hand: tried again at the next tick */
    }
    bool lost = false;
    for (size_t i = 0; i < cl->nres; i++) {
        if (rc[i] == ST_RESULT_WRITTEN) {
            int st = cl->hand[i].status;
            if (st >= 0 && st < 4)
                atomic_fetch_add(&w->st.rows_total[st], 1);
        } else if (rc[i] == ST_RESULT_LOST) {
            lost = true;
        }
    }
    free(rc);
    free_at_hand(cl);
    if (lost && !cl->lost) {
        cl->lost = true;
        atomic_fetch_add(&w->st.leases_lost_total, 1);
        wk_log("claim %s (%s): its rows are no longer its own (its lease ran out and another worker took them, or"
               " the job was deleted): results not written",
               cl->c.id, cl->c.domain);
    }
}

static void claim_free(wclaim *cl)
{
    free_at_hand(cl);
    free(cl->hand);
    st_claim_clear(&cl->c);
    free(cl);
}

/* What this claim taught of its domain, for the next worker that claims it
 * (or a domain served by the same mail server). */
static void share_facts(wk *w, wclaim *cl)
{
    int64_t age = 0;
    bc_tristate aa = bc_verifier_accept_all(w->o.v, cl->c.domain, &age);
    if (!cl->mx_host[0] && aa == BC_UNKNOWN)
        return;
    st_domain_facts f = { .accept_all = aa == BC_UNKNOWN ? -1 : aa == BC_YES,
                          .accept_all_at = aa == BC_UNKNOWN ? 0 : now_ms() - age };
    memcpy(f.mx_host, cl->mx_host, sizeof f.mx_host);
    if (st_domain_facts_put(w->o.store, cl->c.domain, &f) != 0) {
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("cannot share the facts of a domain: %s", st_store_error(w->o.store));
    }
}

/* What other workers found of the domain of a new claim: its catch-all
 * fact, so that it is not tested again. */
static void learn_facts(wk *w, wclaim *cl, int64_t now)
{
    st_domain_facts f;
    if (!cl->c.domain[0])
        return; /* addresses that do not parse: no domain to know anything of */
    int rc = st_domain_facts_get(w->o.store, cl->c.domain, &f);
    if (rc < 0) {
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("cannot read the facts of a domain: %s", st_store_error(w->o.store));
    } else if (rc == 1 && f.accept_all >= 0 && f.accept_all_at > 0 && f.accept_all_at <= now) {
        bc_verifier_learn_accept_all(w->o.v, cl->c.domain, f.accept_all ? BC_YES : BC_NO, now - f.accept_all_at);
    }
}

/* Drops claims that are over: every row has a result written, or the claim
 * was lost and nothing of it is in flight any more. */
static void reap(wk *w)
{
    for (wclaim **pp = &w->claims; *pp;) {
        wclaim *cl = *pp;
        bool over = cl->inflight == 0 && cl->nres == 0 && (cl->lost || cl->finished == cl->c.n);
        if (over) {
            if (!cl->lost && !w->o.offline)
                share_facts(w, cl);
            *pp = cl->next_claim;
            w->nclaims--;
            atomic_fetch_sub(&w->st.claims_active, 1);
            claim_free(cl);
        } else {
            pp = &cl->next_claim;
        }
    }
}

static void renew(wk *w, int64_t now)
{
    for (wclaim *cl = w->claims; cl; cl = cl->next_claim) {
        if (cl->lost || now < cl->renew_at)
            continue;
        int64_t n = st_rows_renew(w->o.store, cl->c.id, w->o.lease_ms, now);
        if (n < 0) {
            atomic_fetch_add(&w->st.store_errors_total, 1);
            wk_log("cannot renew a lease: %s", st_store_error(w->o.store));
            continue;
        }
        cl->c.lease_until = now + w->o.lease_ms;
        cl->renew_at = now + w->o.lease_ms / 3;
        if (n == 0 && cl->finished + cl->nres < cl->c.n) {
            /* nothing held any more, yet rows are without a result: taken over */
            cl->lost = true;
            atomic_fetch_add(&w->st.leases_lost_total, 1);
            wk_log("claim %s (%s): its lease ran out and another worker took it", cl->c.id, cl->c.domain);
        }
    }
}

/* --offline: every row of a new claim verified at once; the claim is then
 * complete and written by a pass right away. */
static void verify_offline(wk *w, wclaim *cl)
{
    for (size_t i = 0; i < cl->c.n; i++) {
        const st_claim_row *row = &cl->c.rows[i];
        bc_result *r = NULL;
        /* out of memory: the row stays without a result, and is asked again
         * by whoever claims it after the lease (as in at_hand) */
        if (bc_verify_offline(w->o.offline, row->addr, strlen(row->addr), &r) == BC_OK) {
            at_hand(cl, row->row, r);
            bc_result_free(r);
        }
        cl->finished++;
    }
    cl->next = cl->c.n;
    if (!evtimer_pending(w->kick, NULL)) {
        struct timeval zero = { 0, 0 };
        evtimer_add(w->kick, &zero);
    }
}

static void take_claims(wk *w, int64_t now)
{
    while (!w->stopping && w->nclaims < w->o.claims && now >= w->next_claim_at) {
        wclaim *cl = calloc(1, sizeof *cl);
        if (!cl)
            return;
        int rc = st_rows_claim_ex(w->o.store, w->info.id, (size_t)w->o.claim_rows, w->o.lease_ms, now,
                                  ST_CLAIM_EXCLUSIVE, &cl->c);
        if (rc != 1) {
            free(cl);
            if (rc < 0) {
                atomic_fetch_add(&w->st.store_errors_total, 1);
                wk_log("cannot claim rows: %s", st_store_error(w->o.store));
            }
            w->next_claim_at = now + (rc < 0 ? ERROR_BACKOFF_MS : IDLE_BACKOFF_MS);
            return;
        }
        cl->w = w;
        cl->renew_at = now + w->o.lease_ms / 3;
        cl->next_claim = w->claims;
        w->claims = cl;
        w->nclaims++;
        atomic_fetch_add(&w->st.claims_total, 1);
        atomic_fetch_add(&w->st.claims_active, 1);
        if (w->o.offline) {
            verify_offline(w, cl);
        } else {
            learn_facts(w, cl, now);
            fill(cl);
        }
    }
}

static void heartbeat(wk *w, int64_t now)
{
    if (now < w->next_beat_at)
        return;
    w->next_beat_at = now + HEARTBEAT_MS;
    int rc = st_worker_heartbeat(w->o.store, w->info.id, now);
    if (rc == 0) { /* removed meanwhile (a clean-up by an operator): back in the list */
        w->info.last_seen = now;
        rc = st_worker_register(w->o.store, &w->info) == 0 ? 1 : -1;
    }
    if (rc < 0) {
        atomic_fetch_add(&w->st.store_errors_total, 1);
        wk_log("heartbeat: %s", st_store_error(w->o.store));
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wk *w = arg;
    if (w->stopping)
        return;
    int64_t now = now_ms();
    for (wclaim *cl = w->claims; cl; cl = cl->next_claim) {
        bool complete = cl->finished == cl->c.n && cl->inflight == 0;
        if (cl->nres > 0 && (complete || cl->nres >= FLUSH_ROWS || now - cl->first_at_hand >= FLUSH_MS))
            write_results(w, cl);
    }
    reap(w);
    renew(w, now);
    take_claims(w, now);
    heartbeat(w, now);
}

wk *wk_start(const wk_opts *o, char *err, size_t errlen)
{
    wk *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->o = *o;
    w->rechecks = (bk_recheck_list){ .base = o->base, .vo = o->vo, .due = recheck_due };
    if (w->o.claims <= 0)
        w->o.claims = 8;
    if (w->o.claim_rows <= 0)
        w->o.claim_rows = 200;
    if (w->o.lease_ms <= 0)
        w->o.lease_ms = 60000;
    int conns = o->vo && o->vo->mx_connections > 0 ? o->vo->mx_connections : 2;
    int rcpts = o->vo && o->vo->rcpts_per_connection > 0 ? o->vo->rcpts_per_connection : BC_RCPTS_START;
    w->per_claim = 2 * conns * rcpts;
    if (w->per_claim < 20)
        w->per_claim = 20;
    if (w->per_claim > w->o.claim_rows)
        w->per_claim = w->o.claim_rows;

    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "unknown");
    if (st_worker_new_id(w->info.id) != 0) {
        snprintf(err, errlen, "no randomness for the worker's id");
        free(w);
        return NULL;
    }
    snprintf(w->info.name, sizeof w->info.name, "%.*s", (int)sizeof w->info.name - 1,
             o->name && *o->name ? o->name : host);
    snprintf(w->info.host, sizeof w->info.host, "%s", host);
    size_t k = 0;
    for (int i = 0; o->vo && i < o->vo->n_source_ips && k + 1 < sizeof w->info.addrs; i++) {
        int n = snprintf(w->info.addrs + k, sizeof w->info.addrs - k, "%s%s", i ? "," : "", o->vo->source_ips[i]);
        if (n < 0)
            break;
        k += (size_t)n;
    }
    w->info.started_at = w->info.last_seen = now_ms();
    if (st_worker_register(o->store, &w->info) != 0) {
        snprintf(err, errlen, "cannot register the worker: %s", st_store_error(o->store));
        free(w);
        return NULL;
    }
    w->next_beat_at = w->info.started_at + HEARTBEAT_MS;
    bc_host_gate gate = { .take = gate_take, .give = gate_give, .learned = gate_learned, .arg = w };
    bc_verifier_set_host_gate(o->v, &gate);
    w->tick = event_new(o->base, -1, EV_PERSIST, tick_cb, w);
    w->kick = evtimer_new(o->base, tick_cb, w);
    struct timeval tv = { 0, TICK_MS * 1000 };
    if (!w->tick || !w->kick || event_add(w->tick, &tv) != 0) {
        snprintf(err, errlen, "out of memory");
        st_worker_remove(o->store, w->info.id);
        if (w->tick)
            event_free(w->tick);
        if (w->kick)
            event_free(w->kick);
        free(w);
        return NULL;
    }
    wk_log("worker %s (%s) started: %d batches of %d rows at once, lease %llds", w->info.id, w->info.name,
           w->o.claims, w->o.claim_rows, (long long)(w->o.lease_ms / 1000));
    return w;
}

void wk_shutdown(wk *w)
{
    if (!w || w->stopping)
        return;
    w->stopping = true;
    if (w->tick)
        event_del(w->tick);
    if (w->kick)
        event_del(w->kick);
    /* rechecks waiting are not in the verifier: dropped here */
    for (bk_recheck *rc; (rc = bk_recheck_pop(&w->rechecks)) != NULL;) {
        wsub *sb = (wsub *)rc;
        sb->cl->inflight--;
        free(sb);
    }
    int64_t released = 0, written = 0;
    for (wclaim *cl = w->claims; cl; cl = cl->next_claim) {
        size_t had = cl->nres;
        write_results(w, cl);
        if (cl->nres == 0)
            written += (int64_t)had;
        if (!cl->lost) {
            int64_t n = st_rows_release(w->o.store, cl->c.id);
            if (n > 0)
                released += n;
        }
        cl->lost = true; /* what is still in flight is thrown away when it comes back */
    }
    if (st_worker_remove(w->o.store, w->info.id) < 0)
        wk_log("cannot remove its record: %s", st_store_error(w->o.store));
    wk_log("worker %s stopped: %lld results written at the stop, %lld rows given back", w->info.id,
           (long long)written, (long long)released);
}

void wk_free(wk *w)
{
    if (!w)
        return;
    if (w->tick)
        event_free(w->tick);
    if (w->kick)
        event_free(w->kick);
    while (w->claims) {
        wclaim *cl = w->claims;
        w->claims = cl->next_claim;
        claim_free(cl);
    }
    free(w);
}

const char *wk_id(const wk *w)
{
    return w->info.id;
}

const wk_stats *wk_get_stats(const wk *w)
{
    return &w->st;
}

size_t wk_metrics_text(const wk *w, char *buf, size_t size)
{
    static const char *const names[4] = { "deliverable", "undeliverable", "risky", "unknown" };
    size_t k = 0;
#define EMIT(...)                                                               \
    do {                                                                        \
        int n_ = snprintf(buf + k, k < size ? size - k : 0, __VA_ARGS__);       \
        if (n_ > 0)                                                             \
            k = k + (size_t)n_ < size ? k + (size_t)n_ : (size ? size - 1 : 0); \
    } while (0)
    EMIT("# HELP bouncecheck_worker_claims_total Batches claimed by this node's worker.\n"
         "# TYPE bouncecheck_worker_claims_total counter\n"
         "bouncecheck_worker_claims_total %llu\n",
         (unsigned long long)atomic_load(&w->st.claims_total));
    EMIT("# HELP bouncecheck_worker_claims_active Batches held now.\n"
         "# TYPE bouncecheck_worker_claims_active gauge\n"
         "bouncecheck_worker_claims_active %lld\n",
         (long long)atomic_load(&w->st.claims_active));
    EMIT("# HELP bouncecheck_worker_rows_total Row results written by this node's worker, by status.\n"
         "# TYPE bouncecheck_worker_rows_total counter\n");
    for (int i = 0; i < 4; i++)
        EMIT("bouncecheck_worker_rows_total{status=\"%s\"} %llu\n", names[i],
             (unsigned long long)atomic_load(&w->st.rows_total[i]));
    EMIT("# HELP bouncecheck_worker_leases_lost_total Batches another worker took over after their lease ran "
         "out.\n"
         "# TYPE bouncecheck_worker_leases_lost_total counter\n"
         "bouncecheck_worker_leases_lost_total %llu\n",
         (unsigned long long)atomic_load(&w->st.leases_lost_total));
    EMIT("# HELP bouncecheck_worker_store_errors_total Failed database calls.\n"
         "# TYPE bouncecheck_worker_store_errors_total counter\n"
         "bouncecheck_worker_store_errors_total %llu\n",
         (unsigned long long)atomic_load(&w->st.store_errors_total));
#undef EMIT
    return k;
}

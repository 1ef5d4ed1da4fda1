/*
 * worker.h - a verification worker (the work layer, src/work/) over the shared store (issue 9, scale-out):
 * it claims batches of job rows (one domain each, exclusively: no other
 * worker holds a live claim on that domain), verifies them with a
 * bc_verifier on the caller's libevent loop, renews the leases while it
 * works, writes the results through its claims (a lost claim writes
 * nothing) and heartbeats its record in the store's workers table.
 *
 * Used by `bouncecheck worker` (its own process) and by
 * `bouncecheck serve --db postgres://...` (in the server's engine, unless
 * --no-work). Every call runs on the loop's thread. The store calls block
 * that thread for a query's time: they are batched (results, renewals)
 * and spaced (claims), never one per address.
 */
#ifndef BC_WORK_WORKER_H
#define BC_WORK_WORKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bouncecheck.h"
#include "store.h"

struct event_base;

typedef struct wk wk;

typedef struct wk_opts {
    st_store *store;             /* a handle of its own (not shared with HTTP threads); not owned */
    struct event_base *base;     /* not owned */
    bc_verifier *v;              /* not owned; outlives the worker's last callback (NULL with offline) */
    bc_ctx *offline;             /* not NULL: rows are verified at once by bc_verify_offline with this
                                  * context (syntax and domain data only, as `verify --offline`): no
                                  * verifier, no network, no domain facts; not owned */
    const bc_verify_options *vo; /* the greylisting schedule and the in-flight sizing */
    const char *name;            /* shown by `status`; NULL: the host name */
    int claims;                  /* batches (domains) at once; 0: 8 */
    int claim_rows;              /* rows per batch; 0: 200 */
    int64_t lease_ms;            /* a batch's lease, renewed every third of it; 0: 60000 */
} wk_opts;

/* Counters, for /metrics. */
typedef struct wk_stats {
    atomic_uint_fast64_t claims_total;
    atomic_uint_fast64_t rows_total[4]; /* results written, by bc_verdict_status */
    atomic_uint_fast64_t leases_lost_total;
    atomic_uint_fast64_t store_errors_total;
    atomic_int_fast64_t claims_active;
} wk_stats;

/* Registers the worker in the store and starts claiming on the loop. NULL
 * with err on failure. From then on every SMTP connection of the verifier
 * o->v goes through the store's host gate (st_host_slot_take) under the
 * worker's id: the verifier must be freed before the worker (wk_free). */
wk *wk_start(const wk_opts *o, char *err, size_t errlen);

/* Graceful stop: no more claims; the results at hand are written; rows of
 * its claims without a result are given back (pending again); the worker's
 * record is removed. Addresses still in the verifier are then only thrown
 * away when they come back (free the verifier next: its cancelled callbacks
 * land here). Idempotent. */
void wk_shutdown(wk *w);

/* Frees the worker (after wk_shutdown and after the verifier is freed).
 * Accepts NULL. */
void wk_free(wk *w);

const char *wk_id(const wk *w);
const wk_stats *wk_get_stats(const wk *w);

/* The worker's counters as Prometheus text (appended to buf up to size;
 * returns the length written). */
size_t wk_metrics_text(const wk *w, char *buf, size_t size);

#endif

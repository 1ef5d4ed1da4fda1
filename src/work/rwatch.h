/*
 * rwatch.h - the DNS resolver as a long-running process sees it (`serve`,
 * `worker`): the verifier's resolver check (bc_verifier_check_resolver)
 * at start and every WK_RWATCH_INTERVAL_S seconds, a log line (wk_log)
 * whenever its outcome changes, and a copy of the latest outcome that any
 * thread may read (/healthz, /metrics) under the watch's own lock.
 *
 * A failed check does not stop anything: the verifier itself keeps the
 * answers of such a resolver from making addresses undeliverable (they
 * become unknown/dns_unreliable). The watch only makes it visible.
 */
#ifndef BC_WORK_RWATCH_H
#define BC_WORK_RWATCH_H

#include <stddef.h>
#include <stdint.h>

#include "bouncecheck.h"

struct event_base;

#define WK_RWATCH_INTERVAL_S 300

typedef struct wk_rwatch wk_rwatch;

/* The latest outcome, as other threads see it. */
typedef struct wk_rstate {
    bc_tristate ok;     /* BC_UNKNOWN until the first check ends */
    int64_t checked_at; /* when it ended, seconds since the epoch; 0: never */
    char message[256];  /* the check's line: what the resolver answered */
} wk_rstate;

/* Watches v's resolver on `base` (v's loop): a check now, then every
 * WK_RWATCH_INTERVAL_S. The caller owns the watch. NULL on ENOMEM. */
wk_rwatch *wk_rwatch_start(struct event_base *base, bc_verifier *v);

/* Stops the checks: v is not touched any more (call on the loop's thread,
 * before freeing v). The latest outcome stays readable. Accepts NULL and
 * a stopped watch. */
void wk_rwatch_stop(wk_rwatch *w);

/* Copies the latest outcome into *out (any thread); BC_UNKNOWN for NULL. */
void wk_rwatch_get(wk_rwatch *w, wk_rstate *out);

/* Writes the Prometheus lines of the gauge bouncecheck_resolver_ok (1 or
 * 0) into buf, nothing before the first check has ended; returns their
 * length (0 when they do not fit). Any thread. */
size_t wk_rwatch_metrics(wk_rwatch *w, char *buf, size_t size);

/* Stops (if needed) and frees the watch, once no thread reads it any
 * more. Accepts NULL. */
void wk_rwatch_free(wk_rwatch *w);

#endif

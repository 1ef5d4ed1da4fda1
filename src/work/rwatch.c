/*
 * rwatch.c - the resolver watch of rwatch.h. A one-second timer on the
 * verifier's loop reads the verifier's latest outcome (its own checks
 * count too: it also checks when a negative answer needs one), publishes
 * it under the lock, logs a change, and asks for a new check when the
 * last one is WK_RWATCH_INTERVAL_S old (the verifier joins a request to a
 * check already under way).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "rwatch.h"
#include "log.h"

#define RW_POLL_S 1

struct wk_rwatch {
    bc_verifier *v;       /* NULL once stopped */
    struct event *timer;  /* owned */
    pthread_mutex_t lock; /* guards st */
    wk_rstate st;
};

/* Publishes the verifier's latest outcome; logs when it changed. */
static void rw_publish(wk_rwatch *w, bc_tristate ok, int64_t age_ms, const char *msg)
{
    pthread_mutex_lock(&w->lock);
    bool changed = w->st.ok != ok;
    w->st.ok = ok;
    w->st.checked_at = wk_now() - age_ms / 1000;
    snprintf(w->st.message, sizeof w->st.message, "%s", msg);
    pthread_mutex_unlock(&w->lock);
    if (!changed)
        return;
    if (ok == BC_YES)
        wk_log("DNS resolver check passed: %s", msg);
    else
        wk_log("DNS resolver check failed: %s; until it passes, addresses whose domain DNS says does not exist"
               " are unknown/dns_unreliable",
               msg);
}

static void rw_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wk_rwatch *w = arg;
    char msg[sizeof w->st.message];
    int64_t age_ms = 0;
    bc_tristate ok = bc_verifier_resolver_ok(w->v, &age_ms, msg, sizeof msg);
    if (ok != BC_UNKNOWN)
        rw_publish(w, ok, age_ms, msg);
    if (ok == BC_UNKNOWN || age_ms >= WK_RWATCH_INTERVAL_S * 1000LL)
        bc_verifier_check_resolver(w->v); /* joins the one under way, if any */
}

wk_rwatch *wk_rwatch_start(struct event_base *base, bc_verifier *v)
{
    wk_rwatch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->v = v;
    w->st.ok = BC_UNKNOWN;
    pthread_mutex_init(&w->lock, NULL);
    w->timer = event_new(base, -1, EV_PERSIST, rw_tick, w);
    struct timeval tv = { RW_POLL_S, 0 };
    if (!w->timer || event_add(w->timer, &tv) != 0) {
        wk_rwatch_free(w);
        return NULL;
    }
    bc_verifier_check_resolver(v);
    return w;
}

void wk_rwatch_stop(wk_rwatch *w)
{
    if (!w || !w->timer)
        return;
    event_free(w->timer);
    w->timer = NULL;
    w->v = NULL;
}

void wk_rwatch_get(wk_rwatch *w, wk_rstate *out)
{
    memset(out, 0, sizeof *out);
    out->ok = BC_UNKNOWN;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    *out = w->st;
    pthread_mutex_unlock(&w->lock);
}

size_t wk_rwatch_metrics(wk_rwatch *w, char *buf, size_t size)
{
    wk_rstate st;
    wk_rwatch_get(w, &st);
    if (size)
        buf[0] = '\0';
    if (st.ok == BC_UNKNOWN)
        return 0;
    int n = snprintf(buf, size,
                     "# HELP bouncecheck_resolver_ok Whether the DNS resolver passed its last check (the root"
                     " zone's NS resolves, a made-up name is NXDOMAIN): 1 or 0.\n"
                     "# TYPE bouncecheck_resolver_ok gauge\n"
                     "bouncecheck_resolver_ok %d\n",
                     st.ok == BC_YES);
    if (n < 0 || (size_t)n >= size) {
        if (size)
            buf[0] = '\0';
        return 0;
    }
    return (size_t)n;
}

void wk_rwatch_free(wk_rwatch *w)
{
    if (!w)
        return;
    wk_rwatch_stop(w);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/*
 * util.c - small pieces of the server: worker threads, the in-memory result
 * cache, a clock and the /metrics text (logging: src/work/log.h).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sv.h"
#include "worker.h"

/* ---- clocks -------------------------------------------------------------------- */

int64_t sv_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sv_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

/* ---- workers ------------------------------------------------------------------- */

typedef struct task {
    void (*fn)(void *);
    void *arg;
    struct task *next;
} task;

struct sv_pool {
    pthread_t *threads;
    int nthreads;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    task *head, *tail;
    size_t queued;  /* tasks waiting */
    size_t running; /* tasks running */
    bool stop, joined;
    char name[16];
};

static void *worker_main(void *arg)
{
    sv_pool *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        task *t = w->head;
        if (t) {
            w->head = t->next;
            if (!w->head)
                w->tail = NULL;
            w->queued--;
            w->running++;
        }
        pthread_mutex_unlock(&w->lock);
        if (!t)
            break; /* stopping and nothing left */
        t->fn(t->arg);
        free(t);
        pthread_mutex_lock(&w->lock);
        w->running--;
        pthread_mutex_unlock(&w->lock);
    }
    return NULL;
}

sv_pool *sv_pool_new(const char *name)
{
    return sv_pool_new_n(name, 1);
}

sv_pool *sv_pool_new_n(const char *name, int nthreads)
{
    sv_pool *w = calloc(1, sizeof *w);
    if (!w || nthreads < 1 || !(w->threads = calloc((size_t)nthreads, sizeof *w->threads))) {
        free(w);
        return NULL;
    }
    snprintf(w->name, sizeof w->name, "%s", name);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    for (; w->nthreads < nthreads; w->nthreads++) {
        if (pthread_create(&w->threads[w->nthreads], NULL, worker_main, w) != 0) {
            sv_pool_free(w);
            return NULL;
        }
        pthread_setname_np(w->threads[w->nthreads], w->name);
    }
    return w;
}

int sv_pool_try_post(sv_pool *w, void (*fn)(void *), void *arg, size_t max_queued)
{
    task *t = malloc(sizeof *t);
    if (!t)
        return -1;
    *t = (task){ fn, arg, NULL };
    pthread_mutex_lock(&w->lock);
    if (w->stop || (max_queued != SIZE_MAX && w->queued + w->running >= (size_t)w->nthreads + max_queued)) {
        int rc = w->stop ? -1 : 0;
        pthread_mutex_unlock(&w->lock);
        free(t);
        return rc;
    }
    if (w->tail)
        w->tail->next = t;
    else
        w->head = t;
    w->tail = t;
    w->queued++;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 1;
}

bool sv_pool_post(sv_pool *w, void (*fn)(void *), void *arg)
{
    return sv_pool_try_post(w, fn, arg, SIZE_MAX) == 1;
}

bool sv_pool_full(sv_pool *w, size_t max_queued)
{
    pthread_mutex_lock(&w->lock);
    bool full = w->queued + w->running >= (size_t)w->nthreads + max_queued;
    pthread_mutex_unlock(&w->lock);
    return full;
}

void sv_pool_counts(sv_pool *w, size_t *running, size_t *queued)
{
    pthread_mutex_lock(&w->lock);
    *running = w->running;
    *queued = w->queued;
    pthread_mutex_unlock(&w->lock);
}

void sv_pool_stop(sv_pool *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    bool joined = w->joined;
    w->stop = true;
    w->joined = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    if (!joined)
        for (int i = 0; i < w->nthreads; i++)
            pthread_join(w->threads[i], NULL);
}

void sv_pool_free(sv_pool *w)
{
    if (!w)
        return;
    sv_pool_stop(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->threads);
    free(w);
}

/* ---- the result cache ---------------------------------------------------------- */

typedef struct centry {
    struct centry *next;
    int64_t expires;
    size_t len;
    char *body;
    char key[];
} centry;

struct sv_cache {
    pthread_mutex_t lock;
    centry **buckets;
    size_t nbuckets, n, max;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

sv_cache *sv_cache_new(size_t max_entries)
{
    sv_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max = max_entries ? max_entries : 1;
    c->nbuckets = 1u << 16;
    while (c->nbuckets < c->max / 2 && c->nbuckets < (1u << 22))
        c->nbuckets <<= 1;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void sv_cache_free(sv_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        centry *e = c->buckets[i];
        while (e) {
            centry *next = e->next;
            free(e->body);
            free(e);
            e = next;
        }
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

char *sv_cache_lookup(sv_cache *c, const char *key, int64_t now, size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock(&c->lock);
    for (centry *e = c->buckets[fnv1a(key) & (c->nbuckets - 1)]; e; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            if (e->expires > now && (copy = malloc(e->len + 1)) != NULL) {
                memcpy(copy, e->body, e->len + 1);
                *len = e->len;
            }
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return copy;
}

/* Drops expired entries, and every other entry too when still full
 * (a crude but bounded eviction: the cache is a cache). */
static void cache_evict(sv_cache *c, int64_t now)
{
    for (int pass = 0; pass < 2 && c->n >= c->max; pass++) {
        for (size_t i = 0; i < c->nbuckets; i++) {
            centry **pp = &c->buckets[i];
            size_t k = 0;
            while (*pp) {
                centry *e = *pp;
                if (e->expires <= now || (pass == 1 && (k++ & 1) == 0)) {
                    *pp = e->next;
                    free(e->body);
                    free(e);
                    c->n--;
                } else {
                    pp = &e->next;
                }
            }
        }
    }
}

void sv_cache_insert(sv_cache *c, const char *key, const char *body, size_t len, int64_t expires)
{
    size_t klen = strlen(key);
    centry *ne = malloc(sizeof *ne + klen + 1);
    char *b = malloc(len + 1);
    if (!ne || !b) {
        free(ne);
        free(b);
        return;
    }
    memcpy(ne->key, key, klen + 1);
    memcpy(b, body, len);
    b[len] = '\0';
    ne->body = b;
    ne->len = len;
    ne->expires = expires;
    pthread_mutex_lock(&c->lock);
    size_t i = fnv1a(key) & (c->nbuckets - 1);
    for (centry **pp = &c->buckets[i]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            centry *old = *pp;
            ne->next = old->next;
            *pp = ne;
            free(old->body);
            free(old);
            pthread_mutex_unlock(&c->lock);
            return;
        }
    }
    if (c->n >= c->max)
        cache_evict(c, wk_now());
    ne->next = c->buckets[i];
    c->buckets[i] = ne;
    c->n++;
    pthread_mutex_unlock(&c->lock);
}

size_t sv_cache_size(sv_cache *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->n;
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool sv_cache_key(const char *email, size_t len, char *out, size_t outlen)
{
    bc_addr a;
    bc_addr_parse(email, len, &a);
    if (!a.valid || !a.local[0] || !a.ascii_domain[0])
        return false;
    int n = snprintf(out, outlen, "%s@%s", a.local, a.ascii_domain);
    if (n < 0 || (size_t)n >= outlen)
        return false;
    for (char *p = out; *p && *p != '@'; p++)
        if ((unsigned char)*p < 0x80)
            *p = (char)tolower((unsigned char)*p);
    return true;
}

/* ---- /metrics -------------------------------------------------------------------- */

typedef struct mbuf {
    char *p;
    size_t len, cap;
    bool oom;
} mbuf;

static void mprintf(mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mprintf(mbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

char *sv_metrics_text(sv *s, size_t *len)
{
    mbuf b = { malloc(4096), 0, 4096, false };
    if (!b.p)
        return NULL;
    sv_metrics *m = &s->m;
    mprintf(&b, "# HELP bouncecheck_http_requests_total HTTP requests answered, by status code.\n"
                "# TYPE bouncecheck_http_requests_total counter\n");
    for (unsigned c = 100; c < 600; c++) {
        uint64_t n = atomic_load(&m->http_code[c]);
        if (n)
            mprintf(&b, "bouncecheck_http_requests_total{code=\"%u\"} %llu\n", c, (unsigned long long)n);
    }
    mprintf(&b, "# HELP bouncecheck_verifications_total Addresses verified (single and in jobs), by status.\n"
                "# TYPE bouncecheck_verifications_total counter\n");
    for (int i = 0; i < 4; i++)
        mprintf(&b, "bouncecheck_verifications_total{status=\"%s\"} %llu\n",
                bc_verdict_status_name((bc_verdict_status)i),
                (unsigned long long)atomic_load(&m->verifications[i]));
    mprintf(&b,
            "# HELP bouncecheck_cache_hits_total Single verifications answered from the cache.\n"
            "# TYPE bouncecheck_cache_hits_total counter\n"
            "bouncecheck_cache_hits_total %llu\n"
            "# HELP bouncecheck_cache_misses_total Single verifications not in the cache.\n"
            "# TYPE bouncecheck_cache_misses_total counter\n"
            "bouncecheck_cache_misses_total %llu\n",
            (unsigned long long)atomic_load(&m->cache_hits), (unsigned long long)atomic_load(&m->cache_misses));
    mprintf(&b,
            "# HELP bouncecheck_cache_entries Results held in the in-memory cache.\n"
            "# TYPE bouncecheck_cache_entries gauge\n"
            "bouncecheck_cache_entries %zu\n",
            s->cache ? sv_cache_size(s->cache) : (size_t)0);
    mprintf(&b,
            "# HELP bouncecheck_smtp_connections_total SMTP connections opened to mail servers.\n"
            "# TYPE bouncecheck_smtp_connections_total counter\n"
            "bouncecheck_smtp_connections_total %llu\n",
            (unsigned long long)atomic_load(&m->smtp_connections));
    mprintf(&b,
            "# HELP bouncecheck_queue_depth Addresses waiting for or in verification.\n"
            "# TYPE bouncecheck_queue_depth gauge\n"
            "bouncecheck_queue_depth %lld\n",
            (long long)atomic_load(&m->queue_depth));
    mprintf(&b, "# HELP bouncecheck_jobs Jobs in the catalogue, by status.\n"
                "# TYPE bouncecheck_jobs gauge\n");
    for (int i = 0; i < 5; i++)
        mprintf(&b, "bouncecheck_jobs{status=\"%s\"} %lld\n", st_job_status_name((st_job_status)i),
                (long long)atomic_load(&m->jobs[i]));
    static const char *const refused[SV_CONN_REFUSED_N] = { "per_ip", "full" };
    static const char *const cut[SV_CONN_CUT_N] = { "header_timeout", "body_too_slow", "idle_timeout",
                                                    "replaced" };
    mprintf(&b,
            "# HELP bouncecheck_http_connections HTTP connections open (counted against the limits).\n"
            "# TYPE bouncecheck_http_connections gauge\n"
            "bouncecheck_http_connections %lld\n"
            "# HELP bouncecheck_http_connections_refused_total HTTP connections closed as they came, by limit.\n"
            "# TYPE bouncecheck_http_connections_refused_total counter\n",
            (long long)atomic_load(&m->conns_open));
    for (int i = 0; i < SV_CONN_REFUSED_N; i++)
        mprintf(&b, "bouncecheck_http_connections_refused_total{reason=\"%s\"} %llu\n", refused[i],
                (unsigned long long)atomic_load(&m->conns_refused[i]));
    mprintf(&b, "# HELP bouncecheck_http_connections_cut_total HTTP connections closed by the server, by cause.\n"
                "# TYPE bouncecheck_http_connections_cut_total counter\n");
    for (int i = 0; i < SV_CONN_CUT_N; i++)
        mprintf(&b, "bouncecheck_http_connections_cut_total{reason=\"%s\"} %llu\n", cut[i],
                (unsigned long long)atomic_load(&m->conns_cut[i]));
    if (s->extract) {
        size_t running = 0, queued = 0;
        sv_pool_counts(s->extract, &running, &queued);
        mprintf(&b,
                "# HELP bouncecheck_extract_tasks /v1/extract uploads being decoded or waiting for a worker.\n"
                "# TYPE bouncecheck_extract_tasks gauge\n"
                "bouncecheck_extract_tasks{state=\"running\"} %zu\n"
                "bouncecheck_extract_tasks{state=\"queued\"} %zu\n",
                running, queued);
    }
    if (s->wk) {
        char wb[4096];
        wk_metrics_text(s->wk, wb, sizeof wb);
        mprintf(&b, "%s", wb);
    }
    char rb[512];
    if (wk_rwatch_metrics(s->rwatch, rb, sizeof rb))
        mprintf(&b, "%s", rb);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

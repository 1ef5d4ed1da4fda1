/*
 * server.h - `bouncecheck serve`: the HTTP JSON API over the library, the
 * bulk engine (src/bulk/engine.h) and the store (store.h).
 *
 * Threads:
 *   - the engine (the caller's thread): one libevent loop holding the
 *     verifier, the bulk scheduler and the running jobs (engine.c);
 *   - libmicrohttpd's threads: parse requests, answer from memory (cache,
 *     keys, job catalogue) and hand anything slow to the engine or a
 *     worker, suspending the connection until it is done (http.c, api.h);
 *   - three workers: file work (importing uploads, exporting results,
 *     deleting job data), webhooks, and domain checks (/v1/dns).
 */
#ifndef BC_SERVER_H
#define BC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bouncecheck.h"
#include "store.h"

typedef struct sv_opts {
    const char *listen;        /* ADDR:PORT; [v6]:PORT */
    const char *data_dir;
    const char *db;            /* NULL: SQLite in data_dir; else a postgres:// URL
                                * (the catalogue; job files stay in data_dir) */
    const char *tls_cert, *tls_key; /* both or neither */
    const char *webhook_secret;     /* NULL: DATA/webhook-secret, made once */
    int retention_days;        /* job data kept this long */
    int64_t cache_ttl;         /* seconds; 0: no cache */
    int64_t max_body;          /* bytes */
    int64_t max_rows;
    int max_connections;
    int request_timeout;       /* seconds a connection may stay idle */
    int max_running;           /* jobs verified at once; others wait queued */
    bool offline;              /* syntax and domain data only */
    bool debug;                /* addresses in the log */
    bool insecure_no_auth;     /* listen beyond loopback without any key */
    bool no_work;              /* with a postgres:// db: verify no job rows here (API-only node) */
    int work_claims, work_claim_rows; /* the in-process worker's batches (0: defaults) */
    int64_t work_lease_ms;
    const bc_verify_options *vo;
    bc_ctx *ctx;
} sv_opts;

/* Runs the server until SIGINT or SIGTERM. Returns an exit code
 * (0 after a clean stop). Messages go to stderr. */
int sv_serve(const sv_opts *o);

/* ---- pieces shared by the server's files ---------------------------------------- */

typedef struct sv sv;

/* A task for a worker thread: fn(arg) runs there. */
typedef struct sv_worker sv_worker;
sv_worker *sv_worker_new(const char *name);
/* Queues fn(arg); false when the worker is stopping (fn is not called). */
bool sv_worker_post(sv_worker *w, void (*fn)(void *arg), void *arg);
/* Runs what is queued, then stops the thread; later posts fail. */
void sv_worker_stop(sv_worker *w);
/* Stops (when not yet) and frees. Accepts NULL. */
void sv_worker_free(sv_worker *w);

/* The in-memory result cache: normalised address -> answer bodies. */
typedef struct sv_cache sv_cache;
sv_cache *sv_cache_new(size_t max_entries);
void sv_cache_free(sv_cache *c);
/* The body to send for a hit (with "cached": true), malloc'd copy, and its
 * length; NULL when absent or expired. */
char *sv_cache_lookup(sv_cache *c, const char *key, int64_t now, size_t *len);
/* Keeps body (copied) until expires. */
void sv_cache_insert(sv_cache *c, const char *key, const char *body, size_t len, int64_t expires);
size_t sv_cache_size(sv_cache *c);

/* The cache key of an address: local@ascii-domain with an ASCII-lowercased
 * local part (the bulk engine's notion of one address). false when the
 * address does not parse into a mailbox (nothing to cache). */
bool sv_cache_key(const char *email, size_t len, char *out, size_t outlen);

/* Counters for /metrics. */
typedef struct sv_metrics {
    atomic_uint_fast64_t http[6];        /* by status class: 1xx..5xx at [1..5] */
    atomic_uint_fast64_t http_code[600]; /* by exact status */
    atomic_uint_fast64_t verifications[4]; /* by bc_verdict_status */
    atomic_uint_fast64_t cache_hits, cache_misses;
    atomic_uint_fast64_t smtp_connections;
    atomic_int_fast64_t queue_depth;
    atomic_int_fast64_t jobs[5];         /* by sv_job_status, of jobs in the catalogue */
} sv_metrics;

/* Seconds since the epoch; milliseconds of a monotonic clock. */
int64_t sv_now(void);
int64_t sv_mono_ms(void);
/* RFC 3339 UTC ("2026-11-29T09:00:00Z") of t into buf (>= 21 bytes). */
void sv_time_str(int64_t t, char *buf, size_t size);

/* snprintf that truncates quietly (paths in messages may be long). */
void sv_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints "bouncecheck: serve: ..." with a timestamp to stderr. */
void sv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The command named in sv_log's lines ("serve" unless set; a string that
 * lives as long as the process). Set once, before any thread starts. */
void sv_log_name(const char *name);

#endif

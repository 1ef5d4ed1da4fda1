/*
 * store_impl.h - what a backend of the server's store provides (internal
 * to src/store/store*.c; callers use store.h only).
 *
 * store.c owns what does not depend on the database: the secret and id of
 * a new key, its hash, argument checks, job ids and status names. Each
 * backend (store_sqlite.c, store_pg.c) gives one table of functions over
 * its own handle `be`, with the return codes store.h documents for the
 * public function of the same name. A backend serialises its users (every
 * function may be called from any thread) and keeps the message of its
 * last failure for `error`.
 *
 * Later work (shared politeness) adds entries to st_store_ops and a
 * public function in store.c for each.
 */
#ifndef BC_STORE_IMPL_H
#define BC_STORE_IMPL_H

#include "store.h"

/* The schema version both backends are at (see each backend's
 * migrations). */
#define ST_SCHEMA_VERSION 11

typedef struct st_store_ops {
    const char *kind;        /* "sqlite", "postgresql" */
    void (*close)(void *be); /* accepts NULL */
    /* Changes whenever another handle (connection, process) committed a
     * change of the keys; stable across the handle's own writes. */
    int64_t (*version)(void *be);
    const char *(*error)(void *be);
    /* Stores key k (every field) with the SHA-256 of its secret: 0 stored,
     * 1 the id or the hash is taken (store.c tries another id), -1 error
     * (err). */
    int (*key_insert)(void *be, const st_key *k, const unsigned char hash[32], char *err, size_t errlen);
    int (*key_list)(void *be, st_key **keys, size_t *n);
    int (*key_revoke)(void *be, const char *id, int64_t now);
    int (*key_find)(void *be, const unsigned char hash[32], st_key *k);
    int64_t (*key_count)(void *be);
    int64_t (*usage_add)(void *be, const char *key_id, const char *day, int64_t n);
    int (*job_insert)(void *be, const st_job *j);
    int (*job_get)(void *be, const char *id, st_job *j);
    int (*job_progress)(void *be, const char *id, int64_t processed, const int64_t counts[4]);
    int (*job_set_status)(void *be, const char *id, st_job_status st, int64_t finished_at, const char *error);
    int (*job_set_reasons)(void *be, const char *id, const char *reasons);
    int (*job_set_webhook_state)(void *be, const char *id, int state);
    /* key_id NULL: every job */
    int (*job_list)(void *be, const char *key_id, st_job **jobs, size_t *n);
    int (*job_list_status)(void *be, st_job_status st, st_job **jobs, size_t *n);
    int (*job_expired)(void *be, int64_t before, char (**ids)[ST_JOB_ID_LEN + 1], size_t *n);
    int (*job_delete)(void *be, const char *id);
    int (*cache_get)(void *be, const char *addr, int64_t now, char **json);
    int (*cache_put)(void *be, const char *addr, const char *json, int64_t expires);
    int64_t (*cache_purge)(void *be, int64_t now);
    /* job rows: every row has its domain set (store.c derives missing
     * ones); claim_id is fresh (store.c makes it) */
    int64_t (*rows_add)(void *be, const char *job_id, const st_row_in *rows, size_t n, char *err, size_t errlen);
    /* flags: ST_CLAIM_* (store.c refuses unknown ones) */
    int (*rows_claim)(void *be, const char *worker_id, const char *claim_id, size_t max_rows, int64_t lease_ms,
                      int64_t now_ms, unsigned flags, st_claim *c);
    int64_t (*rows_renew)(void *be, const char *claim_id, int64_t lease_until);
    /* rc has n entries */
    int64_t (*rows_result)(void *be, const char *claim_id, const st_row_result *res, size_t n, int *rc);
    int64_t (*rows_release)(void *be, const char *claim_id);
    int (*rows_counts)(void *be, const char *job_id, st_row_counts *c);
    /* up to `limit` done rows of job_id after row `after`, in row order:
     * cb for each, called with no lock held (the page is read first);
     * *last gets the last row given, *got how many. 0 / -1 / cb's. */
    int (*rows_page)(void *be, const char *job_id, int64_t after, int limit,
                     int (*cb)(void *ctx, const st_row_done *row), void *ctx, int64_t *last, int *got);
    /* st_rows_collect_done and st_rows_collected: NULL in a backend that
     * does not keep which results were copied (SQLite: the coordinator
     * copies them all at the end); mark is empty when called */
    int (*rows_collect_done)(void *be, const char *job_id, int max_ranges,
                             int (*cb)(void *ctx, const st_row_done *row), void *ctx, st_collect_mark *mark);
    int (*rows_collected)(void *be, const st_collect_mark *mark);
    int (*worker_register)(void *be, const st_worker_info *w);
    int (*worker_heartbeat)(void *be, const char *id, int64_t now_ms);
    int (*worker_list)(void *be, st_worker_info **w, size_t *n);
    int (*worker_remove)(void *be, const char *id);
    /* *out malloc'd (NULL when n is 0) */
    int (*claims_list)(void *be, int64_t now_ms, st_claim_info **out, size_t *n);
    int (*queue_list)(void *be, st_queue_info **out, size_t *n);
    /* domain is non-empty */
    int (*domain_facts_get)(void *be, const char *domain, st_domain_facts *f);
    /* mx_host: lower case, NULL to keep the stored one; accept_all -1
     * keeps the stored accept_all and accept_all_at; updated_at: unix ms
     * (store.c reads the clock) */
    int (*domain_facts_put)(void *be, const char *domain, const char *mx_host, int accept_all,
                            int64_t accept_all_at, int64_t updated_at);
    /* st_host_slot_take with the clock read (now, and limits_since: the
     * oldest learned limits still good); 1 / 0 / -1 */
    int (*host_slot_take)(void *be, const char *host, int cap, const char *holder, int64_t until, int64_t now,
                          int64_t limits_since, int *slot, st_host_limits *lim);
    int (*host_slot_give)(void *be, const char *host, int slot, const char *holder);
    /* older limits than stale_before are replaced, not lowered */
    int (*host_limits_put)(void *be, const char *host, const st_host_limits *lim, int64_t now,
                           int64_t stale_before);
    /* job files and the coordinator's lease (st_job_file_*, st_job_coord_*):
     * NULL in a backend that keeps job files in the server's --data
     * (SQLite: one server per store); store.c answers for it then. */
    int (*job_file_put)(void *be, const char *job_id, const char *name, FILE *in, int64_t now, char *err,
                        size_t errlen);
    int (*job_file_get)(void *be, const char *job_id, const char *name, FILE *out, char *err, size_t errlen);
    int64_t (*job_files_delete)(void *be, const char *job_id);
    int64_t (*job_files_sweep)(void *be, int64_t before);
    int (*job_coord_take)(void *be, const char *job_id, const char *holder, int64_t lease_until, int64_t now_ms);
    int64_t (*job_coord_give)(void *be, const char *job_id, const char *holder);
} st_store_ops;

/* Adds k rows in `state` (and, when done, result `status`) to c: how the
 * backends fold their GROUP BY state, status rows into st_row_counts. */
void st_row_counts_add(st_row_counts *c, int64_t state, int64_t status, int64_t k);

/* SQLite in DIR/bouncecheck.db (store_sqlite.c); PostgreSQL at a libpq
 * URI (store_pg.c). 0 with *ops and *be set (close with (*ops)->close),
 * or -1 with a message in err. */
int st_store_sqlite_open(const st_store_ops **ops, void **be, const char *dir, char *err, size_t errlen);
int st_store_pg_open(const st_store_ops **ops, void **be, const char *url, char *err, size_t errlen);

#endif

/*
 * state.h - a bulk job's state in one SQLite file: the rows as read, each
 * distinct normalised address with its result, and the job's settings.
 *
 * It is what makes a job resumable: rows are committed in batches while the
 * input is read (the count read so far is kept, so an interrupted read picks
 * up where it stopped), results are committed in small batches as they
 * arrive, and the output is written from the state at the end. WAL mode
 * with synchronous=NORMAL: a killed process loses at most the batch in
 * flight, never a committed one.
 */
#ifndef BC_BULK_STATE_H
#define BC_BULK_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "bulk.h"

typedef struct bk_state bk_state;

/* Opens (creating when absent) the state file at `path`. 0, or -1 with a
 * message in err. *out is owned by the caller (bk_state_close). */
int bk_state_open(bk_state **out, const char *path, char *err, size_t errlen);
/* Commits what is pending and closes. Accepts NULL. */
void bk_state_close(bk_state *st);

/* true when the file holds no job yet. */
bool bk_state_is_new(bk_state *st);

/* Job settings, "meta" key/value pairs. get returns a malloc'd copy (caller
 * frees) or NULL when unset; get_int returns `dflt` when unset. 0 / -1. */
int bk_state_set(bk_state *st, const char *key, const char *value);
int bk_state_set_blob(bk_state *st, const char *key, const void *data, size_t len);
int bk_state_set_int(bk_state *st, const char *key, int64_t value);
char *bk_state_get(bk_state *st, const char *key, size_t *len);
int64_t bk_state_get_int(bk_state *st, const char *key, int64_t dflt);

/* Transactions: everything between begin and commit lands together. */
int bk_state_begin(bk_state *st);
int bk_state_commit(bk_state *st);
/* Drops everything since begin. */
int bk_state_rollback(bk_state *st);

/* Adds row number `idx` (0-based, input order): its fields, line and email
 * cell. The address is parsed and normalised; a new one is added to the
 * addresses to verify, a known one only counts one more row. Must be inside
 * a transaction. 0 / -1 (err). */
int bk_state_add_row(bk_state *st, int64_t idx, const bk_row *row, char *err, size_t errlen);

/* Totals for progress and the summary. */
typedef struct bk_counts {
    int64_t rows, rows_done;   /* input rows; rows whose address has a result */
    int64_t addrs, addrs_done; /* distinct addresses */
    int64_t by_status[4];      /* rows done, indexed by bc_verdict_status */
} bk_counts;
int bk_state_counts(bk_state *st, bk_counts *c);
/* bk_state_counts, and fn(arg, reason, rows) for the rows done by reason
 * and status (a reason may come once per status; in no order; NULL for
 * none), from the same pass over the results. 0 / -1. */
int bk_state_counts_reasons(bk_state *st, bk_counts *c, void (*fn)(void *arg, const char *reason, int64_t rows),
                            void *arg);

/* Rows done by reason, most frequent first: calls fn for each. */
int bk_state_reasons(bk_state *st, void (*fn)(void *arg, const char *reason, int64_t rows), void *arg);

/* Rows whose address could not be checked because a provider blocks our
 * client (reason "blocked"), grouped by provider (else MX host) and our
 * source address, most first: fn gets the provider, the source address
 * ("" when unknown), one result's hint and the rows. */
typedef void (*bk_blocked_fn)(void *arg, const char *provider, const char *source, const char *hint, int64_t rows);
int bk_state_blocked(bk_state *st, bk_blocked_fn fn, void *arg);

/* Adds rows to the job's "blocked" tally `arr` (a JSON array of {provider,
 * source_address, count, url, message}); url is the first URL of hint. */
void bk_blocked_add(void *arr, const char *provider, const char *source, const char *hint, int64_t rows);

/* The tally's sentence for people: "12 addresses at google could not be
 * checked because your address 203.0.113.5 is blocked: see URL". */
void bk_blocked_message(char *buf, size_t len, const char *provider, const char *source, const char *url,
                        int64_t rows);

/* One address waiting for its result. Strings valid during the callback. */
typedef struct bk_pending {
    int64_t id;
    const char *email; /* as submitted: the first row's cell ("" when none) */
    size_t email_len;
    const char *domain; /* A-label domain; "" for addresses that do not parse */
    int64_t nrows;      /* rows holding it */
} bk_pending;

/* Whether address id has its result: 1 / 0 (or no such address) / -1. */
int bk_state_done(bk_state *st, int64_t id);

/* Addresses without a result (the addresses' count less the results'), or
 * -1. */
int64_t bk_state_todo(bk_state *st);

/* Domains with addresses waiting, largest first: fn(arg, domain, count). */
int bk_state_pending_domains(bk_state *st, int (*fn)(void *arg, const char *domain, int64_t count), void *arg);
/* Every waiting address, domain by domain (the largest first), in id order
 * within a domain: fn(arg, address); fn returning non-zero stops (then
 * returned). Read in one pass over the addresses, sorted (a walk of each
 * domain's addresses through the index reads pages all over the file).
 * 0 / -1 / fn's. */
int bk_state_pending_sorted(bk_state *st, int (*fn)(void *arg, const bk_pending *p), void *arg);
/* Up to `limit` waiting addresses with id > after_id, in id order; of one
 * domain, or of all when domain is NULL. fn returning non-zero stops early.
 * Returns how many were passed to fn, or -1. */
int bk_state_pending(bk_state *st, const char *domain, int64_t after_id, int limit,
                     int (*fn)(void *arg, const bk_pending *p), void *arg);

/* Stores the result of address `id` (marks it done). `with_json` keeps the
 * whole result JSON for JSON outputs. Call inside a transaction. 0 / -1. */
int bk_state_store_result(bk_state *st, int64_t id, const bc_result *r, bool with_json);

/* Stores the result of address `id` from its columns (c->json kept when
 * not NULL). Call inside a transaction. 0 / -1. */
int bk_state_store_cols(bk_state *st, int64_t id, const bk_result_cols *c);

/* A result packed for another process (a worker writing to the shared
 * store): its columns as one line of JSON text, a newline, then its whole
 * JSON as it is (read back without parsing it: inside the columns' object,
 * as a string, it was parsed and unescaped for every result collected);
 * malloc'd (caller frees), NULL on ENOMEM. */
char *bk_result_pack(const bc_result *r);
/* Stores a packed result as the result of address `id`, exactly as
 * bk_state_store_result(..., with_json = true) would have stored the
 * result it was packed from (also the one-object form of older versions,
 * the JSON in its "json"). Inside a transaction. 0 / -1 (err). */
int bk_state_store_packed(bk_state *st, int64_t id, const char *packed, char *err, size_t errlen);

/* Every row in input order with its result (rows whose address has none are
 * skipped and counted in *missing). Returns 0, the non-zero value fn
 * returned, or -1 on a database error. */
typedef struct bk_out_row {
    int64_t idx;
    unsigned long line;
    size_t nfields;
    const char *const *fields;
    const size_t *lens;
    const char *email; /* the row's own email cell, NULL when none */
    size_t email_len;
    bk_result_cols res;
} bk_out_row;
int bk_state_rows(bk_state *st, int (*fn)(void *arg, const bk_out_row *row), void *arg, int64_t *missing);

/* Serialises fields into one blob (caller frees) and back. */
void *bk_fields_pack(const char *const *fields, const size_t *lens, size_t n, size_t *outlen);
/* Unpacks into arrays the caller frees with free(*fields) (one block). */
int bk_fields_unpack(const void *blob, size_t len, const char ***fields, size_t **lens, size_t *n);

/* The last SQLite error message. */
const char *bk_state_error(bk_state *st);

#endif

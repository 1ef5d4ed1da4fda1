/*
 * store.h - the store layer (src/store/, prefix st_): the database of the
 * server, the workers and the commands that read it (keys, status, verify
 * --db): API keys (hashed), their daily
 * usage, jobs (the catalogue; each job's rows and results live in its own
 * state file, src/bulk/state.h) and the cache of single verifications;
 * for workers sharing a job: its rows, claimed in batches by domain under
 * leases, their results, and the workers themselves.
 *
 * Two backends behind one interface (store_impl.h): by default one SQLite
 * file, DATA/bouncecheck.db, in WAL mode (store_sqlite.c), shared by the
 * running server and `bouncecheck keys` (which may run at the same time: a
 * busy timeout covers their writes); or a PostgreSQL database named by a
 * postgres:// URL (store_pg.c), shared by any number of processes on any
 * machines. Both have versioned schemas, migrated on open. Every function
 * is safe to call from any thread: the handle serialises its users.
 *
 * Returns, everywhere: 0 done or -1 error; a call about one thing that may
 * be absent (get, find, delete, revoke, heartbeat, remove) 1 found or
 * done, 0 no such thing, -1 error; a count n >= 0 or -1. After -1,
 * st_store_error says why (or err, where a call takes one).
 */
#ifndef BC_STORE_H
#define BC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct st_store st_store;

/* Opens DIR/bouncecheck.db, creating DIR (mode 0700) and the schema when
 * absent. 0, or -1 with a message in err. *out is the caller's
 * (st_store_close). */
int st_store_open(st_store **out, const char *dir, char *err, size_t errlen);
/* Opens the store named by db: NULL or "" for SQLite in dir (as
 * st_store_open), else a postgres:// or postgresql:// URL (a libpq
 * connection URI; dir is then not used). The schema is created or
 * migrated; a database of a newer schema is refused. Messages in err never
 * show a password. 0 / -1 (err). */
int st_store_open_db(st_store **out, const char *db, const char *dir, char *err, size_t errlen);
void st_store_close(st_store *s); /* accepts NULL */

/* true when db names a PostgreSQL database (postgres:// or postgresql://). */
bool st_store_is_pg(const char *db);
/* db for messages and logs, its password (in the user part or a password=
 * parameter) replaced by "***", into out (truncated to outlen). */
void st_store_mask_url(const char *db, char *out, size_t outlen);

/* Changes whenever another connection (another process) committed a change
 * of the keys (SQLite: PRAGMA data_version, any change; PostgreSQL: a
 * counter bumped with every key change, less the handle's own): cheap, for
 * noticing new or revoked keys. -1 on error. */
int64_t st_store_version(st_store *s);

/* The last database error message. */
const char *st_store_error(st_store *s);

/* ---- API keys ------------------------------------------------------------------ */

#define ST_KEY_ID_LEN 14     /* "k_" + 12 hex */
#define ST_KEY_SECRET_LEN 47 /* "bck_" + 43 base64url (32 random bytes) */

typedef struct st_key {
    char id[ST_KEY_ID_LEN + 1];
    char name[128];     /* "" when none */
    int64_t created_at; /* unix seconds */
    int64_t revoked_at; /* 0: active */
    double rate;        /* requests per second; 0: no limit */
    int64_t daily;      /* verifications per UTC day; 0: no quota */
    bool admin;         /* may manage keys through the API (/v1/keys) */
} st_key;

/* Creates a key: a fresh random secret (written to secret, which has room
 * for ST_KEY_SECRET_LEN + 1) whose SHA-256 alone is stored. *k gets the
 * key's record. 0 / -1 (err). */
int st_key_create(st_store *s, const char *name, double rate, int64_t daily, char *secret, st_key *k, char *err,
                  size_t errlen);
/* The same, with the admin flag (an admin key may manage keys through
 * the API). */
int st_key_create_ex(st_store *s, const char *name, double rate, int64_t daily, bool admin, char *secret,
                     st_key *k, char *err, size_t errlen);
/* Every key, oldest first: *keys is malloc'd (caller frees), *n entries. 0 / -1. */
int st_key_list(st_store *s, st_key **keys, size_t *n);
/* Revokes key `id`: 1 revoked (also when it already was), 0 no such key, -1 error. */
int st_key_revoke(st_store *s, const char *id);
/* The key whose secret is secret[0..len): 1 found (*k filled, revoked ones
 * too), 0 unknown, -1 error. */
int st_key_find(st_store *s, const char *secret, size_t len, st_key *k);
/* How many keys exist, revoked ones included; -1 on error. */
int64_t st_key_count(st_store *s);

/* Daily usage (verifications) of a key: adds n to the count of `day`
 * ("YYYY-MM-DD", UTC) and returns the new total, or -1. n may be 0 (read). */
int64_t st_usage_add(st_store *s, const char *key_id, const char *day, int64_t n);

/* ---- jobs ------------------------------------------------------------------------ */

#define ST_JOB_ID_LEN 32 /* 32 lowercase hex: 128 random bits */

typedef enum st_job_status {
    ST_JOB_QUEUED,
    ST_JOB_RUNNING,
    ST_JOB_DONE,
    ST_JOB_FAILED,
    ST_JOB_CANCELLED,
} st_job_status;

const char *st_job_status_name(st_job_status st);

typedef struct st_job {
    char id[ST_JOB_ID_LEN + 1];
    char key_id[ST_KEY_ID_LEN + 1]; /* "" for jobs made while no key existed */
    char *name;                     /* malloc'd or NULL */
    st_job_status status;
    int64_t total, processed;        /* rows */
    int64_t counts[4];               /* rows done by bc_verdict_status */
    int64_t created_at, finished_at; /* unix seconds; finished 0 while not ended */
    char *error;                     /* malloc'd or NULL */
    char *webhook;                   /* malloc'd or NULL */
    int webhook_state;               /* 0 none or pending, 1 delivered, 2 gave up */
    char format[8];                  /* the upload's format name: csv, tsv, text, ndjson */
    char *reasons;                   /* malloc'd JSON object {"reason": rows, ...}, or NULL ({}) */
} st_job;

/* Frees the strings of j (not j itself). Accepts NULL. */
void st_job_clear(st_job *j);

/* Makes a fresh random job id (ST_JOB_ID_LEN hex + NUL in out). 0 / -1. */
int st_job_new_id(char out[ST_JOB_ID_LEN + 1]);

/* Adds a job (every field of j). 0 / -1. */
int st_job_insert(st_store *s, const st_job *j);
/* Job `id`: 1 found (*j filled; st_job_clear it), 0 none, -1 error. */
int st_job_get(st_store *s, const char *id, st_job *j);
/* Progress of a running job. 0 / -1. */
int st_job_progress(st_store *s, const char *id, int64_t processed, const int64_t counts[4]);
/* A new status; finished_at 0 leaves it unset; error may be NULL. 0 / -1. */
int st_job_set_status(st_store *s, const char *id, st_job_status st, int64_t finished_at, const char *error);
/* Rows done per reason so far: a JSON object's text (NULL: {}). 0 / -1. */
int st_job_set_reasons(st_store *s, const char *id, const char *reasons);
int st_job_set_webhook_state(st_store *s, const char *id, int state);
/* Jobs of key_id ("" for the keyless ones; NULL: every job), newest first;
 * *jobs malloc'd (free each with st_job_clear, then the array). 0 / -1. */
int st_job_list(st_store *s, const char *key_id, st_job **jobs, size_t *n);
/* Jobs in a given status, oldest first (resuming after a restart). 0 / -1. */
int st_job_list_status(st_store *s, st_job_status st, st_job **jobs, size_t *n);
/* Ids of jobs created before `before` (retention), oldest first; *ids is
 * malloc'd, each ST_JOB_ID_LEN + 1 bytes. 0 / -1. */
int st_job_expired(st_store *s, int64_t before, char (**ids)[ST_JOB_ID_LEN + 1], size_t *n);
/* Deletes job `id` from the catalogue: 1 deleted, 0 none, -1 error. */
int st_job_delete(st_store *s, const char *id);

/* ---- the verification cache --------------------------------------------------------- */

/* The cached result JSON of a normalised address if it has not expired by
 * `now`: 1 (*json malloc'd, caller frees), 0 none, -1 error. */
int st_cache_get(st_store *s, const char *addr, int64_t now, char **json);
/* Stores (replaces) it until `expires`. 0 / -1. */
int st_cache_put(st_store *s, const char *addr, const char *json, int64_t expires);
/* Drops expired entries; returns how many, or -1. */
int64_t st_cache_purge(st_store *s, int64_t now);

/* ---- job rows: claimed in batches by domain, with leases ------------------------------ */
/*
 * A job's rows live in the store (table job_rows) so that any number of
 * workers, on any machines, share them. A worker claims a batch: rows of
 * ONE job and ONE domain (the unit of politeness), each claim with a
 * random id and a lease (unix ms) that its holder renews while it works.
 * A row is pending, claimed or done; a claimed row whose lease has expired
 * may be claimed again (its holder is taken for dead). A result is written
 * only through the claim that holds the row, so every row ends with
 * exactly one result. Times are passed in (unix ms), never read here
 * (except updated_at of st_domain_facts_put).
 */

#define ST_CLAIM_ID_LEN 32  /* 32 lowercase hex: 128 random bits */
#define ST_WORKER_ID_LEN 14 /* "w_" + 12 hex */

typedef enum st_row_state { ST_ROW_PENDING, ST_ROW_CLAIMED, ST_ROW_DONE } st_row_state;

/* One row to add. */
typedef struct st_row_in {
    int64_t row;        /* its number in the job (unique per job; the order of results) */
    const char *addr;   /* the address as given */
    const char *domain; /* its domain, the key for grouping; NULL: the part after the
                               * last '@' of addr, ASCII lowercased ("" without '@') */
    const void *fields; /* the row's other fields, opaque to the store; NULL for none */
    size_t fields_len;
    int64_t weight; /* rows of the job this row stands for (one distinct address
                               * shared by several input rows); 0 or less means 1. Counts
                               * sum it. */
} st_row_in;

/* One claimed row. */
typedef struct st_claim_row {
    int64_t row;
    char *addr;            /* malloc'd */
    unsigned char *fields; /* malloc'd, fields_len bytes; NULL when none */
    size_t fields_len;
} st_claim_row;

/* A claim: rows of one job and one domain, in row order. */
typedef struct st_claim {
    char id[ST_CLAIM_ID_LEN + 1];
    char job_id[ST_JOB_ID_LEN + 1];
    char *domain;        /* malloc'd */
    int64_t lease_until; /* unix ms */
    st_claim_row *rows;  /* malloc'd, n entries */
    size_t n;
} st_claim;

/* Frees what c holds (not c itself) and empties it. Accepts NULL. */
void st_claim_clear(st_claim *c);

/* Adds rows[0..n) to job job_id (which must exist in the catalogue) in one
 * transaction. Idempotent on (job, row): a row already there is left as it
 * is (PostgreSQL, since schema 11: a row given again under the domain it
 * was first given with; it keeps no index of rows by number). The number
 * of rows added (0..n), or -1 (err: e.g. no such job). */
int64_t st_rows_add(st_store *s, const char *job_id, const st_row_in *rows, size_t n, char *err, size_t errlen);

/* Claims, for worker_id, up to max_rows rows of ONE domain of one job:
 * rows pending, or claimed under a lease that expired by now_ms. Domains
 * no live claim holds come first (workers spread over domains), then the
 * oldest job. Only jobs queued or running are served. The rows get a
 * fresh claim id, the holder and the lease now_ms + lease_ms; *c gets them
 * (st_claim_clear it). On PostgreSQL concurrent claimers never get the
 * same row (FOR UPDATE SKIP LOCKED); on SQLite a write transaction orders
 * them. 1 claimed (c->n >= 1), 0 nothing to claim (*c empty), -1 error. */
int st_rows_claim(st_store *s, const char *worker_id, size_t max_rows, int64_t lease_ms, int64_t now_ms,
                  st_claim *c);

/* st_rows_claim's flags. */
#define ST_CLAIM_EXCLUSIVE \
    1u /* only domains no live claim holds (of any job, by any worker):
                               * at most one live claim per domain at any time, so the load
                               * on a domain's mail servers does not grow with the workers;
                               * domains whose facts name the same MX host (st_domain_facts)
                               * count as one */

/* st_rows_claim with flags (0: as st_rows_claim; an unknown flag: -1).
 * With ST_CLAIM_EXCLUSIVE the check "no live claim holds this domain's
 * politeness key" (its MX host when st_domain_facts knows one, else the
 * domain) and the claim are one atomic step (PostgreSQL: a
 * transaction-scoped advisory lock on the key's hash; SQLite: the write
 * transaction). */
int st_rows_claim_ex(st_store *s, const char *worker_id, size_t max_rows, int64_t lease_ms, int64_t now_ms,
                     unsigned flags, st_claim *c);

/* Extends to now_ms + lease_ms the lease of every row claim_id still holds
 * without a result. How many rows, or -1: 0 means the claim holds nothing
 * any more (every row has its result, was released, or was taken by
 * another claim after its lease expired). */
int64_t st_rows_renew(st_store *s, const char *claim_id, int64_t lease_ms, int64_t now_ms);

/* The result of one row, for st_rows_result_batch. */
typedef struct st_row_result {
    int64_t row;
    int status;         /* bc_verdict_status (0..3) */
    const char *reason; /* reason code; NULL for none */
    const char *json;   /* the result JSON's text; NULL for none */
} st_row_result;

/* st_rows_result's answers. */
enum {
    ST_RESULT_WRITTEN = 1, /* written: the row is done */
    ST_RESULT_REPEAT = 0,  /* the row already had its result from this claim: nothing changed */
    ST_RESULT_LOST = 2,    /* claim_id does not hold the row (another claim took it after the
                               * lease expired, or no such row): nothing written */
};

/* Writes the result of row `row` of the claim claim_id: only while the
 * claim holds the row (claimed by it, even with an expired lease nobody
 * took over yet; or given back by st_rows_release and claimed by no one
 * since) and the row has no result. ST_RESULT_WRITTEN, _REPEAT, _LOST, or
 * -1 on error. */
int st_rows_result(st_store *s, const char *claim_id, int64_t row, int status, const char *reason,
                   const char *json);
/* The same for res[0..n) in one transaction; rc[i] gets each row's answer
 * (rc may be NULL). The number written, or -1 (nothing written). */
int64_t st_rows_result_batch(st_store *s, const char *claim_id, const st_row_result *res, size_t n, int *rc);

/* Gives back (pending again) the rows of claim_id that have no result
 * (graceful shutdown). How many, or -1. */
int64_t st_rows_release(st_store *s, const char *claim_id);

/* A job's rows by state, in rows of the job (sums of st_row_in.weight).
 * claimed counts leases expired or not. */
typedef struct st_row_counts {
    int64_t pending, claimed, done;
    int64_t by_status[4]; /* done rows by bc_verdict_status */
} st_row_counts;

/* The counts of job_id's rows into *c (zeros for an unknown job). 0 / -1. */
int st_rows_counts(st_store *s, const char *job_id, st_row_counts *c);

/* One done row, for st_rows_results' callback; pointers valid during the call only. */
typedef struct st_row_done {
    int64_t row;
    const char *addr;
    const unsigned char *fields; /* NULL when none */
    size_t fields_len;
    int status;
    const char *reason; /* NULL when none */
    const char *json;   /* NULL when none */
} st_row_done;

/* Calls cb(ctx, row) for every done row of job_id, in row order (SQLite;
 * PostgreSQL: in the order the results were written), read in pages; the
 * store is not locked during the calls, so cb may use it. cb
 * returns 0 to go on, anything else to stop (then returned). 0 / -1 / cb's. */
int st_rows_results(st_store *s, const char *job_id, int (*cb)(void *ctx, const st_row_done *row), void *ctx);

/* Ranges of a job's rows whose results were handed over by
 * st_rows_collect_done, for st_rows_collected. */
typedef struct st_collect_mark {
    char (*claim)[ST_CLAIM_ID_LEN + 1]; /* malloc'd, n entries */
    int64_t *lo;                        /* malloc'd, n entries */
    size_t n;
} st_collect_mark;

/* Frees what m holds and empties it. */
void st_collect_mark_clear(st_collect_mark *m);

/* The results of job_id while it runs, a few ranges at a time, so that a
 * coordinator copies them as they come instead of all at the end: up to
 * max_ranges ranges of rows (PostgreSQL, since schema 11: batches of
 * results as written) whose every row has its result and that
 * st_rows_collected has not marked; cb(ctx, row) for each of their
 * rows (fields NULL; called with the store not locked). *mark gets the
 * ranges (st_collect_mark_clear it): give them to st_rows_collected once
 * what cb did is kept, so that a coordinator that dies in between copies
 * them again (cb must be idempotent). cb returns 0 to go on, anything else
 * to stop. 1 ranges given (their rows may be none), 0 none (none done, or
 * a backend that does not keep this: SQLite), -1 error or cb stopped. */
int st_rows_collect_done(st_store *s, const char *job_id, int max_ranges,
                         int (*cb)(void *ctx, const st_row_done *row), void *ctx, st_collect_mark *mark);

/* Marks the ranges of mark copied (st_rows_collect_done gives them no
 * more). 0 / -1. */
int st_rows_collected(st_store *s, const st_collect_mark *mark);

/* A live claim (lease not expired), for `bouncecheck status`. */
typedef struct st_claim_info {
    char id[ST_CLAIM_ID_LEN + 1];
    char job_id[ST_JOB_ID_LEN + 1];
    char holder[ST_WORKER_ID_LEN + 1]; /* "" when unknown */
    char domain[256];
    int64_t rows;        /* rows it holds without a result (count of rows, not weight) */
    int64_t lease_until; /* unix ms */
} st_claim_info;

/* Live claims at now_ms (rows claimed with lease_until > now_ms, grouped by
 * claim), by holder then lease; *out malloc'd (caller frees). 0 / -1. */
int st_claims_list(st_store *s, int64_t now_ms, st_claim_info **out, size_t *n);

/* The queue of one job (queued or running) that has rows in the store. */
typedef struct st_queue_info {
    char job_id[ST_JOB_ID_LEN + 1];
    st_job_status status;
    int64_t created_at; /* unix seconds */
    st_row_counts c;
} st_queue_info;

/* Every queued or running job with rows in job_rows, oldest first, with
 * its counts; *out malloc'd (caller frees). 0 / -1. */
int st_queue_list(st_store *s, st_queue_info **out, size_t *n);

/* ---- domain facts shared by the workers ------------------------------------------------ */
/*
 * What a worker learned of a domain, for the next worker that claims it:
 * the mail server that answered for it and whether it accepts every
 * recipient (catch-all). The MX host also widens ST_CLAIM_EXCLUSIVE: once
 * known, claims are exclusive per MX host, so domains served by one mail
 * server are not verified by several workers at once.
 */
typedef struct st_domain_facts {
    char mx_host[256];     /* lower case; "" when unknown */
    int accept_all;        /* -1 unknown, 0 no, 1 yes */
    int64_t accept_all_at; /* unix ms of the catch-all test (0 when unknown) */
    int64_t updated_at;    /* unix ms */
} st_domain_facts;

/* The facts of domain: 1 found (*f filled), 0 none, -1 error. */
int st_domain_facts_get(st_store *s, const char *domain, st_domain_facts *f);
/* Adds or updates the facts of domain: an mx_host of "" or an accept_all
 * of -1 leaves the stored value as it is; updated_at is set. 0 / -1. */
int st_domain_facts_put(st_store *s, const char *domain, const st_domain_facts *f);

/* ---- the host gate: connection slots per MX address over every process -------------- */
/*
 * The per-host connection cap (--mx-connections) holds over every worker
 * of one database (and the server's own): before each SMTP connection a
 * worker takes one of the host's `cap` slots, and gives it back when the
 * connection is closed. A slot is held until a time the taker names (its
 * connection's deadline, and a margin): a process that dies holding one
 * cannot keep it longer. The limits hosts have shown (recipients per
 * connection and per transaction) are shared the same way, for a day.
 */
typedef struct st_host_limits {
    int rcpts_per_connection; /* 0: none known */
    int rcpts_per_transaction;
} st_host_limits;

#define ST_HOST_LIMITS_TTL_MS (24LL * 3600 * 1000)

/* One slot of host (an IP address in text form) for holder while fewer than
 * cap are live, held for hold_ms: 1 taken (*slot its number, *lim the host's
 * shared limits, zero when none), 0 all cap slots live, -1 error. */
int st_host_slot_take(st_store *s, const char *host, int cap, const char *holder, int64_t hold_ms, int *slot,
                      st_host_limits *lim);
/* Gives back the slot holder took. 0 / -1. */
int st_host_slot_give(st_store *s, const char *host, int slot, const char *holder);
/* Records limits a host showed; a stored limit only goes down (0 keeps it),
 * unless it is older than ST_HOST_LIMITS_TTL_MS. 0 / -1. */
int st_host_limits_put(st_store *s, const char *host, const st_host_limits *lim);

/* ---- workers -------------------------------------------------------------------------- */

/* A `bouncecheck worker` process, as it registers itself (for `status`).
 * (src/work/worker.h is the worker itself.) */
typedef struct st_worker_info {
    char id[ST_WORKER_ID_LEN + 1];
    char name[128];
    char host[256];
    char addrs[512];               /* the addresses it sends from, comma-separated; "" for the default */
    int64_t started_at, last_seen; /* unix ms */
} st_worker_info;

/* A fresh random worker id ("w_" + 12 hex, ST_WORKER_ID_LEN + 1 bytes). 0 / -1. */
int st_worker_new_id(char out[ST_WORKER_ID_LEN + 1]);
/* Adds worker w, or replaces the one with its id. 0 / -1. */
int st_worker_register(st_store *s, const st_worker_info *w);
/* Sets the worker's last_seen: 1 done, 0 no such worker, -1 error. */
int st_worker_heartbeat(st_store *s, const char *id, int64_t now_ms);
/* Every worker, by started_at; *w malloc'd (caller frees). 0 / -1. */
int st_worker_list(st_store *s, st_worker_info **w, size_t *n);
/* Removes worker id (a clean stop): 1 removed, 0 none, -1 error. */
int st_worker_remove(st_store *s, const char *id);

/* ---- job files and the coordinator's lease (API nodes sharing one database) ------------ */
/*
 * With PostgreSQL any number of `serve --db URL` share the jobs: a job's
 * files (its state, made from the upload) are kept in the database (table
 * job_files, in chunks), so that any node can answer for any job and a node
 * that dies loses nothing it acknowledged. One node at a time coordinates a
 * job (publishes its rows, follows them, ends it): the holder of the job's
 * lease (table job_coord), renewed at each of its passes; when the holder
 * stops renewing (it died), another node takes the lease once it ran out.
 * With SQLite (one server per store) job files stay in the server's --data:
 * the file calls fail (err says so), st_job_files_* count 0, and the lease
 * is always held.
 */

/* Stores what is left to read of `in` as job_id's file `name` (replacing
 * a file of that name), in one transaction: when it returns 0 the file is
 * durably in the database. job_id need not be in the catalogue yet (files
 * are stored before the job is created; st_job_files_sweep removes those
 * of jobs never created). 0, or -1 with err. */
int st_job_file_put(st_store *s, const char *job_id, const char *name, FILE *in, char *err, size_t errlen);
/* Writes job_id's file `name` to out: 1 written, 0 no such file (nothing
 * written), -1 error (err; out may hold part of it). */
int st_job_file_get(st_store *s, const char *job_id, const char *name, FILE *out, char *err, size_t errlen);
/* Deletes every file of job_id: how many chunks, or -1. */
int64_t st_job_files_delete(st_store *s, const char *job_id);
/* Deletes the files of jobs the catalogue does not hold (an upload cut
 * between its file and its job, a job deleted meanwhile) stored before
 * `before` (unix seconds): how many chunks, or -1. */
int64_t st_job_files_sweep(st_store *s, int64_t before);

/* Takes or renews, for holder, the lease on coordinating job_id until
 * now_ms + lease_ms: 1 held (taken: free, or its lease ran out by now_ms;
 * or renewed: holder had it), 0 another holder has a live lease (or no
 * such job), -1 error. Concurrent takers: exactly one gets it. */
int st_job_coord_take(st_store *s, const char *job_id, const char *holder, int64_t lease_ms, int64_t now_ms);
/* Gives back holder's lease on job_id (NULL: on every job): the next taker
 * gets it at once. How many, or -1. */
int64_t st_job_coord_give(st_store *s, const char *job_id, const char *holder);

#endif

/*
 * store.h - the server's own database: API keys (hashed), their daily
 * usage, jobs (the catalogue; each job's rows and results live in its own
 * state file, src/bulk/state.h) and the cache of single verifications.
 *
 * Two backends behind one interface (store_impl.h): by default one SQLite
 * file, DATA/bouncecheck.db, in WAL mode (store_sqlite.c), shared by the
 * running server and `bouncecheck keys` (which may run at the same time: a
 * busy timeout covers their writes); or a PostgreSQL database named by a
 * postgres:// URL (store_pg.c), shared by any number of processes on any
 * machines. Both have versioned schemas, migrated on open. Every function
 * is safe to call from any thread: the handle serialises its users.
 */
#ifndef BC_SERVER_STORE_H
#define BC_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sv_store sv_store;

/* Opens DIR/bouncecheck.db, creating DIR (mode 0700) and the schema when
 * absent. 0, or -1 with a message in err. *out is the caller's
 * (sv_store_close). */
int sv_store_open(sv_store **out, const char *dir, char *err, size_t errlen);
/* Opens the store named by db: NULL or "" for SQLite in dir (as
 * sv_store_open), else a postgres:// or postgresql:// URL (a libpq
 * connection URI; dir is then not used). The schema is created or
 * migrated; a database of a newer schema is refused. Messages in err never
 * show a password. 0 / -1 (err). */
int sv_store_open_db(sv_store **out, const char *db, const char *dir, char *err, size_t errlen);
void sv_store_close(sv_store *s); /* accepts NULL */

/* true when db names a PostgreSQL database (postgres:// or postgresql://). */
bool sv_store_is_pg(const char *db);
/* db for messages and logs, its password (in the user part or a password=
 * parameter) replaced by "***", into out (truncated to outlen). */
void sv_store_mask_url(const char *db, char *out, size_t outlen);

/* Changes whenever another connection (another process) committed a change
 * of the keys (SQLite: PRAGMA data_version, any change; PostgreSQL: a
 * counter bumped with every key change, less the handle's own): cheap, for
 * noticing new or revoked keys. -1 on error. */
int64_t sv_store_version(sv_store *s);

/* The last database error message. */
const char *sv_store_error(sv_store *s);

/* ---- API keys ------------------------------------------------------------------ */

#define SV_KEY_ID_LEN 14      /* "k_" + 12 hex */
#define SV_KEY_SECRET_LEN 47  /* "bck_" + 43 base64url (32 random bytes) */

typedef struct sv_key {
    char id[SV_KEY_ID_LEN + 1];
    char name[128];           /* "" when none */
    int64_t created_at;       /* unix seconds */
    int64_t revoked_at;       /* 0: active */
    double rate;              /* requests per second; 0: no limit */
    int64_t daily;            /* verifications per UTC day; 0: no quota */
    bool admin;               /* may manage keys through the API (/v1/keys) */
} sv_key;

/* Creates a key: a fresh random secret (written to secret, which has room
 * for SV_KEY_SECRET_LEN + 1) whose SHA-256 alone is stored. *k gets the
 * key's record. 0 / -1 (err). */
int sv_key_create(sv_store *s, const char *name, double rate, int64_t daily, char *secret, sv_key *k,
                  char *err, size_t errlen);
/* The same, with the admin flag (an admin key may manage keys through
 * the API). */
int sv_key_create_ex(sv_store *s, const char *name, double rate, int64_t daily, bool admin, char *secret,
                     sv_key *k, char *err, size_t errlen);
/* Every key, oldest first: *keys is malloc'd (caller frees), *n entries. 0 / -1. */
int sv_key_list(sv_store *s, sv_key **keys, size_t *n);
/* Revokes key `id`: 0 done (also when already revoked), 1 no such key, -1 error. */
int sv_key_revoke(sv_store *s, const char *id);
/* The key whose secret is secret[0..len): 1 found (*k filled, revoked ones
 * too), 0 unknown, -1 error. */
int sv_key_find(sv_store *s, const char *secret, size_t len, sv_key *k);
/* How many keys exist, revoked ones included; -1 on error. */
int64_t sv_key_count(sv_store *s);

/* Daily usage (verifications) of a key: adds n to the count of `day`
 * ("YYYY-MM-DD", UTC) and returns the new total, or -1. n may be 0 (read). */
int64_t sv_usage_add(sv_store *s, const char *key_id, const char *day, int64_t n);

/* ---- jobs ------------------------------------------------------------------------ */

#define SV_JOB_ID_LEN 32      /* 32 lowercase hex: 128 random bits */

typedef enum sv_job_status {
    SV_JOB_QUEUED, SV_JOB_RUNNING, SV_JOB_DONE, SV_JOB_FAILED, SV_JOB_CANCELLED,
} sv_job_status;

const char *sv_job_status_name(sv_job_status st);

typedef struct sv_job {
    char id[SV_JOB_ID_LEN + 1];
    char key_id[SV_KEY_ID_LEN + 1]; /* "" for jobs made while no key existed */
    char *name;               /* malloc'd or NULL */
    sv_job_status status;
    int64_t total, processed; /* rows */
    int64_t counts[4];        /* rows done by bc_verdict_status */
    int64_t created_at, finished_at; /* unix seconds; finished 0 while not ended */
    char *error;              /* malloc'd or NULL */
    char *webhook;            /* malloc'd or NULL */
    int webhook_state;        /* 0 none or pending, 1 delivered, 2 gave up */
    char format[8];           /* the upload's format name: csv, tsv, text, ndjson */
    char *reasons;            /* malloc'd JSON object {"reason": rows, ...}, or NULL ({}) */
} sv_job;

/* Frees the strings of j (not j itself). Accepts NULL. */
void sv_job_clear(sv_job *j);

/* Makes a fresh random job id (SV_JOB_ID_LEN hex + NUL in out). 0 / -1. */
int sv_job_new_id(char out[SV_JOB_ID_LEN + 1]);

/* Adds a job (every field of j). 0 / -1. */
int sv_job_insert(sv_store *s, const sv_job *j);
/* Job `id`: 1 found (*j filled; sv_job_clear it), 0 none, -1 error. */
int sv_job_get(sv_store *s, const char *id, sv_job *j);
/* Progress of a running job. 0 / -1. */
int sv_job_progress(sv_store *s, const char *id, int64_t processed, const int64_t counts[4]);
/* A new status; finished_at 0 leaves it unset; error may be NULL. 0 / -1. */
int sv_job_set_status(sv_store *s, const char *id, sv_job_status st, int64_t finished_at,
                      const char *error);
/* Rows done per reason so far: a JSON object's text (NULL: {}). 0 / -1. */
int sv_job_set_reasons(sv_store *s, const char *id, const char *reasons);
int sv_job_set_webhook_state(sv_store *s, const char *id, int state);
/* Jobs of key_id ("" for the keyless ones; NULL: every job), newest first;
 * *jobs malloc'd (free each with sv_job_clear, then the array). 0 / -1. */
int sv_job_list(sv_store *s, const char *key_id, sv_job **jobs, size_t *n);
/* Jobs in a given status, oldest first (resuming after a restart). 0 / -1. */
int sv_job_list_status(sv_store *s, sv_job_status st, sv_job **jobs, size_t *n);
/* Ids of jobs created before `before` (retention), oldest first; *ids is
 * malloc'd, each SV_JOB_ID_LEN + 1 bytes. 0 / -1. */
int sv_job_expired(sv_store *s, int64_t before, char (**ids)[SV_JOB_ID_LEN + 1], size_t *n);
/* Deletes job `id` from the catalogue: 1 deleted, 0 none, -1 error. */
int sv_job_delete(sv_store *s, const char *id);

/* ---- the verification cache --------------------------------------------------------- */

/* The cached result JSON of a normalised address if it has not expired by
 * `now`: 1 (*json malloc'd, caller frees), 0 none, -1 error. */
int sv_cache_get(sv_store *s, const char *addr, int64_t now, char **json);
/* Stores (replaces) it until `expires`. 0 / -1. */
int sv_cache_put(sv_store *s, const char *addr, const char *json, int64_t expires);
/* Drops expired entries; returns how many, or -1. */
int64_t sv_cache_purge(sv_store *s, int64_t now);

#endif

/*
 * store.c - the server's store (store.h): picks the backend (SQLite in the
 * data directory, or PostgreSQL for a postgres:// URL) and dispatches
 * through its table of functions (store_impl.h). What does not depend on
 * the database lives here: a new key's secret, id and hash, argument
 * checks, job, claim and worker ids, the domain of a row given without
 * one, status names, masking passwords in URLs, and the lower-casing and
 * time stamp of domain facts.
 */
#include "store_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

struct st_store {
    const st_store_ops *ops;
    void *be; /* the backend's handle */
};

/* ---- opening --------------------------------------------------------------------- */

bool st_store_is_pg(const char *db)
{
    return db && (strncasecmp(db, "postgres://", 11) == 0 || strncasecmp(db, "postgresql://", 13) == 0);
}

/* Copies src[0..n) to out at *pos, truncating at outlen - 1. */
static void put(char *out, size_t outlen, size_t *pos, const char *src, size_t n)
{
    if (*pos + 1 >= outlen)
        return;
    if (n > outlen - 1 - *pos)
        n = outlen - 1 - *pos;
    memcpy(out + *pos, src, n);
    *pos += n;
    out[*pos] = '\0';
}

void st_store_mask_url(const char *db, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    out[0] = '\0';
    if (!db)
        return;
    size_t pos = 0;
    const char *p = db;
    const char *scheme = strstr(db, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        size_t alen = strcspn(auth, "/?#");
        const char *at = NULL;
        for (size_t i = 0; i < alen; i++) /* the last '@' of the authority ends the user part */
            if (auth[i] == '@')
                at = auth + i;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon) {
            put(out, outlen, &pos, db, (size_t)(colon + 1 - db));
            put(out, outlen, &pos, "***", 3);
            p = at;
        }
    }
    /* password=... in the query string (key=value pairs split by '&') */
    const char *q = strchr(p, '?');
    if (!q) {
        put(out, outlen, &pos, p, strlen(p));
        return;
    }
    put(out, outlen, &pos, p, (size_t)(q + 1 - p));
    p = q + 1;
    while (*p) {
        size_t n = strcspn(p, "&");
        if (n >= 9 && strncasecmp(p, "password=", 9) == 0) {
            put(out, outlen, &pos, p, 9);
            put(out, outlen, &pos, "***", 3);
        } else {
            put(out, outlen, &pos, p, n);
        }
        p += n;
        if (*p == '&') {
            put(out, outlen, &pos, "&", 1);
            p++;
        }
    }
}

int st_store_open_db(st_store **out, const char *db, const char *dir, char *err, size_t errlen)
{
    *out = NULL;
    st_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc;
    if (!db || !*db) {
        rc = st_store_sqlite_open(&s->ops, &s->be, dir, err, errlen);
    } else if (st_store_is_pg(db)) {
        rc = st_store_pg_open(&s->ops, &s->be, db, err, errlen);
    } else {
        char shown[256];
        st_store_mask_url(db, shown, sizeof shown);
        snprintf(err, errlen, "database '%s': expected a postgres:// or postgresql:// URL", shown);
        rc = -1;
    }
    if (rc != 0) {
        free(s);
        return -1;
    }
    *out = s;
    return 0;
}

int st_store_open(st_store **out, const char *dir, char *err, size_t errlen)
{
    return st_store_open_db(out, NULL, dir, err, errlen);
}

void st_store_close(st_store *s)
{
    if (!s)
        return;
    s->ops->close(s->be);
    free(s);
}

int64_t st_store_version(st_store *s)
{
    return s->ops->version(s->be);
}

const char *st_store_error(st_store *s)
{
    return s && s->be ? s->ops->error(s->be) : "no database";
}

/* ---- helpers ---------------------------------------------------------------------- */

/* n random bytes as lowercase hex into out (2n + 1 bytes). 0 / -1. */
static int random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[32];
    if (n > sizeof buf || RAND_bytes(buf, (int)n) != 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[buf[i] >> 4];
        out[2 * i + 1] = hex[buf[i] & 15];
    }
    out[2 * n] = '\0';
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

/* SHA-256 of data[0..len) into md (32 bytes). 0 / -1. */
static int sha256(const void *data, size_t len, unsigned char md[32])
{
    unsigned int mdlen = 0;
    return EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32 ? 0 : -1;
}

/* A fresh secret, "bck_" + base64url without padding of 32 random bytes,
 * into out (ST_KEY_SECRET_LEN + 1 bytes). 0 / -1. */
static int new_secret(char out[ST_KEY_SECRET_LEN + 1])
{
    unsigned char raw[32];
    unsigned char b64[48]; /* 4 * ceil(32 / 3) = 44, + NUL */
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    int n = EVP_EncodeBlock(b64, raw, (int)sizeof raw);
    OPENSSL_cleanse(raw, sizeof raw);
    if (n != 44 || b64[43] != '=')
        return -1;
    memcpy(out, "bck_", 4);
    for (size_t i = 0; i < 43; i++) {
        char c = (char)b64[i];
        out[4 + i] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[ST_KEY_SECRET_LEN] = '\0';
    OPENSSL_cleanse(b64, sizeof b64);
    return 0;
}

/* ---- API keys ------------------------------------------------------------------------ */

int st_key_create(st_store *s, const char *name, double rate, int64_t daily, char *secret, st_key *k, char *err,
                  size_t errlen)
{
    return st_key_create_ex(s, name, rate, daily, false, secret, k, err, errlen);
}

int st_key_create_ex(st_store *s, const char *name, double rate, int64_t daily, bool admin, char *secret,
                     st_key *k, char *err, size_t errlen)
{
    if (!name)
        name = "";
    if (strlen(name) >= sizeof k->name) {
        snprintf(err, errlen, "key name too long (at most %zu bytes)", sizeof k->name - 1);
        return -1;
    }
    if (!(rate >= 0) || daily < 0) {
        snprintf(err, errlen, "rate and daily quota must not be negative");
        return -1;
    }
    unsigned char md[32];
    if (new_secret(secret) != 0 || sha256(secret, ST_KEY_SECRET_LEN, md) != 0) {
        snprintf(err, errlen, "cannot make a random key");
        return -1;
    }
    memset(k, 0, sizeof *k);
    memcpy(k->name, name, strlen(name) + 1);
    k->created_at = (int64_t)time(NULL);
    k->rate = rate;
    k->daily = daily;
    k->admin = admin;
    int rc = 1;
    /* A clash of 48-bit ids is unlikely but possible: try a few. */
    for (int attempt = 0; attempt < 5 && rc == 1; attempt++) {
        memcpy(k->id, "k_", 2);
        if (random_hex(k->id + 2, 6) != 0) {
            snprintf(err, errlen, "cannot make a random key id");
            rc = -1;
            break;
        }
        rc = s->ops->key_insert(s->be, k, md, err, errlen);
    }
    if (rc == 1)
        snprintf(err, errlen, "cannot store the key: its id or hash is taken");
    if (rc != 0) {
        memset(secret, 0, ST_KEY_SECRET_LEN + 1);
        return -1;
    }
    return 0;
}

int st_key_list(st_store *s, st_key **keys, size_t *n)
{
    *keys = NULL;
    *n = 0;
    return s->ops->key_list(s->be, keys, n);
}

int st_key_revoke(st_store *s, const char *id)
{
    return s->ops->key_revoke(s->be, id, (int64_t)time(NULL));
}

int st_key_find(st_store *s, const char *secret, size_t len, st_key *k)
{
    unsigned char md[32];
    if (sha256(secret, len, md) != 0)
        return -1;
    return s->ops->key_find(s->be, md, k);
}

int64_t st_key_count(st_store *s)
{
    return s->ops->key_count(s->be);
}

int64_t st_usage_add(st_store *s, const char *key_id, const char *day, int64_t n)
{
    return s->ops->usage_add(s->be, key_id, day, n);
}

/* ---- jobs ------------------------------------------------------------------------------ */

static const char *const job_status_names[] = {
    [ST_JOB_QUEUED] = "queued", [ST_JOB_RUNNING] = "running",     [ST_JOB_DONE] = "done",
    [ST_JOB_FAILED] = "failed", [ST_JOB_CANCELLED] = "cancelled",
};

const char *st_job_status_name(st_job_status st)
{
    if ((unsigned)st < sizeof job_status_names / sizeof job_status_names[0])
        return job_status_names[st];
    return "unknown";
}

void st_job_clear(st_job *j)
{
    if (!j)
        return;
    free(j->name);
    free(j->error);
    free(j->webhook);
    free(j->reasons);
    j->name = j->error = j->webhook = j->reasons = NULL;
}

int st_job_new_id(char out[ST_JOB_ID_LEN + 1])
{
    return random_hex(out, ST_JOB_ID_LEN / 2);
}

int st_job_insert(st_store *s, const st_job *j)
{
    return s->ops->job_insert(s->be, j);
}

int st_job_get(st_store *s, const char *id, st_job *j)
{
    return s->ops->job_get(s->be, id, j);
}

int st_job_progress(st_store *s, const char *id, int64_t processed, const int64_t counts[4])
{
    return s->ops->job_progress(s->be, id, processed, counts);
}

int st_job_set_status(st_store *s, const char *id, st_job_status st, int64_t finished_at, const char *error)
{
    return s->ops->job_set_status(s->be, id, st, finished_at, error);
}

int st_job_set_reasons(st_store *s, const char *id, const char *reasons)
{
    return s->ops->job_set_reasons(s->be, id, reasons);
}

int st_job_set_webhook_state(st_store *s, const char *id, int state)
{
    return s->ops->job_set_webhook_state(s->be, id, state);
}

int st_job_list(st_store *s, const char *key_id, st_job **jobs, size_t *n)
{
    *jobs = NULL;
    *n = 0;
    return s->ops->job_list(s->be, key_id, jobs, n);
}

int st_job_list_status(st_store *s, st_job_status st, st_job **jobs, size_t *n)
{
    *jobs = NULL;
    *n = 0;
    return s->ops->job_list_status(s->be, st, jobs, n);
}

int st_job_expired(st_store *s, int64_t before, char (**ids)[ST_JOB_ID_LEN + 1], size_t *n)
{
    *ids = NULL;
    *n = 0;
    return s->ops->job_expired(s->be, before, ids, n);
}

int st_job_delete(st_store *s, const char *id)
{
    return s->ops->job_delete(s->be, id);
}

/* ---- the verification cache ------------------------------------------------------------ */

int st_cache_get(st_store *s, const char *addr, int64_t now, char **json)
{
    *json = NULL;
    return s->ops->cache_get(s->be, addr, now, json);
}

int st_cache_put(st_store *s, const char *addr, const char *json, int64_t expires)
{
    return s->ops->cache_put(s->be, addr, json, expires);
}

int64_t st_cache_purge(st_store *s, int64_t now)
{
    return s->ops->cache_purge(s->be, now);
}

/* ---- job rows ---------------------------------------------------------------------------- */

void st_claim_clear(st_claim *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->rows[i].addr);
        free(c->rows[i].fields);
    }
    free(c->rows);
    free(c->domain);
    memset(c, 0, sizeof *c);
}

/* The domain of addr as st_row_in documents it: malloc'd, or NULL (out of memory). */
static char *domain_of(const char *addr)
{
    const char *at = strrchr(addr, '@');
    char *d = strdup(at ? at + 1 : "");
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

int64_t st_rows_add(st_store *s, const char *job_id, const st_row_in *rows, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].addr) {
            snprintf(err, errlen, "row %lld has no address", (long long)rows[i].row);
            return -1;
        }
    }
    bool derive = false;
    for (size_t i = 0; i < n && !derive; i++)
        derive = rows[i].domain == NULL;
    if (!derive)
        return s->ops->rows_add(s->be, job_id, rows, n, err, errlen);
    /* Some rows need their domain: a copy of the array with them filled in. */
    st_row_in *copy = malloc(n * sizeof *copy);
    char **made = calloc(n, sizeof *made);
    int64_t ret = -1;
    if (!copy || !made) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        copy[i] = rows[i];
        if (!copy[i].domain) {
            if (!(made[i] = domain_of(rows[i].addr))) {
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            copy[i].domain = made[i];
        }
    }
    ret = s->ops->rows_add(s->be, job_id, copy, n, err, errlen);
out:
    for (size_t i = 0; made && i < n; i++)
        free(made[i]);
    free(made);
    free(copy);
    return ret;
}

int st_rows_claim(st_store *s, const char *worker_id, size_t max_rows, int64_t lease_ms, int64_t now_ms,
                  st_claim *c)
{
    return st_rows_claim_ex(s, worker_id, max_rows, lease_ms, now_ms, 0, c);
}

int st_rows_claim_ex(st_store *s, const char *worker_id, size_t max_rows, int64_t lease_ms, int64_t now_ms,
                     unsigned flags, st_claim *c)
{
    memset(c, 0, sizeof *c);
    if (max_rows == 0 || lease_ms <= 0 || !worker_id || (flags & ~ST_CLAIM_EXCLUSIVE) != 0)
        return -1;
    char claim_id[ST_CLAIM_ID_LEN + 1];
    if (random_hex(claim_id, ST_CLAIM_ID_LEN / 2) != 0)
        return -1;
    int rc = s->ops->rows_claim(s->be, worker_id, claim_id, max_rows, lease_ms, now_ms, flags, c);
    if (rc != 1)
        st_claim_clear(c);
    return rc;
}

int64_t st_rows_renew(st_store *s, const char *claim_id, int64_t lease_ms, int64_t now_ms)
{
    return s->ops->rows_renew(s->be, claim_id, now_ms + lease_ms);
}

int st_rows_result(st_store *s, const char *claim_id, int64_t row, int status, const char *reason,
                   const char *json)
{
    st_row_result r = { .row = row, .status = status, .reason = reason, .json = json };
    int rc = -1;
    return s->ops->rows_result(s->be, claim_id, &r, 1, &rc) < 0 ? -1 : rc;
}

int64_t st_rows_result_batch(st_store *s, const char *claim_id, const st_row_result *res, size_t n, int *rc)
{
    if (n == 0)
        return 0;
    int *own = rc ? rc : malloc(n * sizeof *own);
    if (!own)
        return -1;
    int64_t ret = s->ops->rows_result(s->be, claim_id, res, n, own);
    if (!rc)
        free(own);
    return ret;
}

int64_t st_rows_release(st_store *s, const char *claim_id)
{
    return s->ops->rows_release(s->be, claim_id);
}

int st_rows_counts(st_store *s, const char *job_id, st_row_counts *c)
{
    memset(c, 0, sizeof *c);
    return s->ops->rows_counts(s->be, job_id, c);
}

int st_rows_results(st_store *s, const char *job_id, int (*cb)(void *ctx, const st_row_done *row), void *ctx)
{
    enum { PAGE = 1000 };
    int64_t after = INT64_MIN;
    for (;;) {
        int64_t last = after;
        int got = 0;
        int rc = s->ops->rows_page(s->be, job_id, after, PAGE, cb, ctx, &last, &got);
        if (rc != 0)
            return rc;
        if (got < PAGE)
            return 0;
        after = last;
    }
}

void st_collect_mark_clear(st_collect_mark *m)
{
    free(m->claim);
    free(m->lo);
    memset(m, 0, sizeof *m);
}

int st_rows_collect_done(st_store *s, const char *job_id, int max_ranges,
                         int (*cb)(void *ctx, const st_row_done *row), void *ctx, st_collect_mark *mark)
{
    memset(mark, 0, sizeof *mark);
    if (!s->ops->rows_collect_done || max_ranges <= 0)
        return 0;
    int rc = s->ops->rows_collect_done(s->be, job_id, max_ranges, cb, ctx, mark);
    if (rc != 1)
        st_collect_mark_clear(mark);
    return rc;
}

int st_rows_collected(st_store *s, const st_collect_mark *mark)
{
    if (!s->ops->rows_collected || mark->n == 0)
        return 0;
    return s->ops->rows_collected(s->be, mark);
}

int st_claims_list(st_store *s, int64_t now_ms, st_claim_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return s->ops->claims_list(s->be, now_ms, out, n);
}

int st_queue_list(st_store *s, st_queue_info **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    return s->ops->queue_list(s->be, out, n);
}

/* ---- domain facts ------------------------------------------------------------------------- */

int st_domain_facts_get(st_store *s, const char *domain, st_domain_facts *f)
{
    memset(f, 0, sizeof *f);
    f->accept_all = -1;
    if (!domain || !*domain)
        return -1;
    return s->ops->domain_facts_get(s->be, domain, f);
}

/* The store reads the clock here (and only here): updated_at is when the
 * facts were written, not a time the caller passes in. */
int st_domain_facts_put(st_store *s, const char *domain, const st_domain_facts *f)
{
    if (!domain || !*domain || !f || f->accept_all < -1 || f->accept_all > 1)
        return -1;
    size_t len = strnlen(f->mx_host, sizeof f->mx_host);
    if (len == sizeof f->mx_host)
        return -1; /* not terminated */
    char mx[sizeof f->mx_host];
    for (size_t i = 0; i <= len; i++) {
        char ch = f->mx_host[i];
        mx[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return s->ops->domain_facts_put(s->be, domain, len ? mx : NULL, f->accept_all, f->accept_all_at, now);
}

/* ---- the host gate ----------------------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int st_host_slot_take(st_store *s, const char *host, int cap, const char *holder, int64_t hold_ms, int *slot,
                      st_host_limits *lim)
{
    memset(lim, 0, sizeof *lim);
    *slot = -1;
    if (!host || !*host || !holder || cap < 1 || hold_ms < 1)
        return -1;
    int64_t now = wall_ms();
    return s->ops->host_slot_take(s->be, host, cap, holder, now + hold_ms, now, now - ST_HOST_LIMITS_TTL_MS, slot,
                                  lim);
}

int st_host_slot_give(st_store *s, const char *host, int slot, const char *holder)
{
    if (!host || !holder || slot < 0)
        return -1;
    return s->ops->host_slot_give(s->be, host, slot, holder);
}

int st_host_limits_put(st_store *s, const char *host, const st_host_limits *lim)
{
    if (!host || !*host || !lim || lim->rcpts_per_connection < 0 || lim->rcpts_per_transaction < 0)
        return -1;
    int64_t now = wall_ms();
    return s->ops->host_limits_put(s->be, host, lim, now, now - ST_HOST_LIMITS_TTL_MS);
}

/* ---- workers ------------------------------------------------------------------------------ */

int st_worker_new_id(char out[ST_WORKER_ID_LEN + 1])
{
    memcpy(out, "w_", 2);
    return random_hex(out + 2, 6);
}

int st_worker_register(st_store *s, const st_worker_info *w)
{
    return s->ops->worker_register(s->be, w);
}

int st_worker_heartbeat(st_store *s, const char *id, int64_t now_ms)
{
    return s->ops->worker_heartbeat(s->be, id, now_ms);
}

int st_worker_list(st_store *s, st_worker_info **w, size_t *n)
{
    *w = NULL;
    *n = 0;
    return s->ops->worker_list(s->be, w, n);
}

int st_worker_remove(st_store *s, const char *id)
{
    return s->ops->worker_remove(s->be, id);
}

/* ---- job files and the coordinator's lease ----------------------------------------------- */

static bool file_args_ok(const char *job_id, const char *name, const void *f, char *err, size_t errlen)
{
    if (job_id && job_id[0] && name && name[0] && f)
        return true;
    snprintf(err, errlen, "a job file needs a job id, a name and a file");
    return false;
}

int st_job_file_put(st_store *s, const char *job_id, const char *name, FILE *in, char *err, size_t errlen)
{
    if (!file_args_ok(job_id, name, in, err, errlen))
        return -1;
    if (!s->ops->job_file_put) {
        snprintf(err, errlen, "the %s store keeps job files in the server's data directory", s->ops->kind);
        return -1;
    }
    return s->ops->job_file_put(s->be, job_id, name, in, (int64_t)time(NULL), err, errlen);
}

int st_job_file_get(st_store *s, const char *job_id, const char *name, FILE *out, char *err, size_t errlen)
{
    if (!file_args_ok(job_id, name, out, err, errlen))
        return -1;
    if (!s->ops->job_file_get) {
        snprintf(err, errlen, "the %s store keeps job files in the server's data directory", s->ops->kind);
        return -1;
    }
    return s->ops->job_file_get(s->be, job_id, name, out, err, errlen);
}

int64_t st_job_files_delete(st_store *s, const char *job_id)
{
    if (!job_id)
        return -1;
    return s->ops->job_files_delete ? s->ops->job_files_delete(s->be, job_id) : 0;
}

int64_t st_job_files_sweep(st_store *s, int64_t before)
{
    return s->ops->job_files_sweep ? s->ops->job_files_sweep(s->be, before) : 0;
}

int st_job_coord_take(st_store *s, const char *job_id, const char *holder, int64_t lease_ms, int64_t now_ms)
{
    if (!job_id || !holder || !holder[0] || lease_ms <= 0)
        return -1;
    return s->ops->job_coord_take ? s->ops->job_coord_take(s->be, job_id, holder, now_ms + lease_ms, now_ms) : 1;
}

int64_t st_job_coord_give(st_store *s, const char *job_id, const char *holder)
{
    if (!holder || !holder[0])
        return -1;
    return s->ops->job_coord_give ? s->ops->job_coord_give(s->be, job_id, holder) : 0;
}

void st_row_counts_add(st_row_counts *c, int64_t state, int64_t status, int64_t k)
{
    if (state == ST_ROW_PENDING) {
        c->pending += k;
    } else if (state == ST_ROW_CLAIMED) {
        c->claimed += k;
    } else {
        c->done += k;
        if (status >= 0 && status < 4)
            c->by_status[status] += k;
    }
}

/*
 * test_store.c - the server's store (src/store/store.h): keys, usage,
 * jobs, the cache, a second connection and reopening, on SQLite and, when
 * BC_PG_URL names a fresh PostgreSQL database (tests/test_store_pg.sh),
 * the same checks on PostgreSQL; masking passwords in URLs. Job rows:
 * 10,000 rows claimed by domain until none is left, leases that expire
 * and are taken over, idempotent results, release, weights summed by the
 * counts, exclusive claims (one live claim per domain), the lists of live
 * claims and of the queue, workers; domain facts (merged, lower case) and
 * exclusive claims per politeness key (domains sharing an MX host count as
 * one); the job_domains summary checked against job_rows through adds,
 * results, releases, take-overs and a delete; version 2 and 3 stores
 * migrated; on PostgreSQL, 4 processes claiming 20,000 rows at once, and 4
 * processes claiming exclusively with no two claims of a domain (then of
 * an MX host shared by 4 domains) overlapping in time.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include <libpq-fe.h>

#include "store.h"
#include "store_impl.h" /* ST_SCHEMA_VERSION */
#include "tap.h"

/* true when s is exactly n characters of [0-9a-f]. */
static bool is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return false;
    return true;
}

/* true when s is "bck_" and 43 base64url characters. */
static bool is_secret(const char *s)
{
    if (strlen(s) != ST_KEY_SECRET_LEN || strncmp(s, "bck_", 4) != 0)
        return false;
    for (size_t i = 4; i < ST_KEY_SECRET_LEN; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static void test_keys(st_store *s, st_store *other)
{
    char err[256] = "";
    char secret[ST_KEY_SECRET_LEN + 1], secret2[ST_KEY_SECRET_LEN + 1];
    st_key k, k2, f;
    CHECK(st_key_count(s) == 0, "a fresh store has no keys");
    CHECK(st_key_create(s, "crm", 5, 1000, secret, &k, err, sizeof err) == 0, "key create (%s)", err);
    CHECK(is_secret(secret), "secret looks like bck_ + 43 base64url: %s", secret);
    CHECK(strncmp(k.id, "k_", 2) == 0 && is_hex(k.id + 2, 12), "key id is k_ + 12 hex: %s", k.id);
    CHECK_STR(k.name, "crm", "key name");
    CHECK(k.rate == 5 && k.daily == 1000 && k.revoked_at == 0 && k.created_at > 0, "key record fields");
    CHECK(st_key_create(s, NULL, 0, 0, secret2, &k2, err, sizeof err) == 0, "second key (no name)");
    CHECK(strcmp(secret, secret2) != 0 && strcmp(k.id, k2.id) != 0, "secrets and ids differ");
    CHECK(st_key_count(s) == 2, "two keys");

    memset(&f, 0, sizeof f);
    CHECK(st_key_find(s, secret, strlen(secret), &f) == 1, "find by secret");
    CHECK_STR(f.id, k.id, "found key id");
    CHECK(f.rate == 5 && f.daily == 1000 && strcmp(f.name, "crm") == 0, "found key fields");
    CHECK(st_key_find(s, secret, strlen(secret) - 1, &f) == 0, "a truncated secret is unknown");
    CHECK(st_key_find(s, "bck_nope", 8, &f) == 0, "an unknown secret is unknown");

    st_key *keys = NULL;
    size_t n = 0;
    CHECK(st_key_list(s, &keys, &n) == 0 && n == 2, "list: 2 keys (got %zu)", n);
    if (n == 2)
        CHECK(strcmp(keys[0].id, k.id) == 0 && strcmp(keys[1].id, k2.id) == 0, "list is oldest first");
    free(keys);

    /* The other connection sees its own writes by the data_version only. */
    int64_t v0 = st_store_version(s);
    int64_t ov0 = st_store_version(other);
    CHECK(v0 >= 0 && st_store_version(s) == v0, "version is stable without changes");
    CHECK(st_key_revoke(other, k.id) == 1, "revoke through a second connection");
    CHECK(st_store_version(s) != v0, "version changes after another connection writes");
    CHECK(st_store_version(other) == ov0, "a connection's own writes do not change its version");
    CHECK(st_key_find(s, secret, strlen(secret), &f) == 1 && f.revoked_at > 0,
          "the revoked key is found, with revoked_at set");
    CHECK(st_key_revoke(s, k.id) == 1, "revoking again is fine: 1");
    CHECK(st_key_revoke(s, "k_000000000000") == 0, "revoking an unknown id: 0");
    CHECK(st_key_count(s) == 2, "revoked keys still count");

    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    err[0] = '\0';
    CHECK(st_key_create(s, longname, 0, 0, secret2, &k2, err, sizeof err) == -1 && err[0],
          "a too long name is refused: %s", err);

    CHECK(st_usage_add(s, k.id, "2026-11-29", 0) == 0, "usage read of a fresh day is 0");
    CHECK(st_usage_add(s, k.id, "2026-11-29", 3) == 3, "usage +3");
    CHECK(st_usage_add(s, k.id, "2026-11-29", 4) == 7, "usage +4 = 7");
    CHECK(st_usage_add(s, k.id, "2026-11-29", 0) == 7, "usage read = 7");
    CHECK(st_usage_add(s, k.id, "2026-11-30", 1) == 1, "another day counts apart");
    CHECK(st_usage_add(other, k.id, "2026-11-29", 1) == 8, "the other connection sees the same count");
}

/* A job with the given fields; strings are copied. */
static st_job make_job(const char *key_id, const char *name, int64_t created)
{
    st_job j;
    memset(&j, 0, sizeof j);
    if (st_job_new_id(j.id) != 0)
        j.id[0] = '\0';
    snprintf(j.key_id, sizeof j.key_id, "%s", key_id);
    j.name = name ? strdup(name) : NULL;
    j.status = ST_JOB_QUEUED;
    j.total = 10;
    j.created_at = created;
    j.webhook = strdup("https://example.com/hook");
    snprintf(j.format, sizeof j.format, "csv");
    return j;
}

static void test_jobs(st_store *s, char first_id[ST_JOB_ID_LEN + 1])
{
    CHECK_STR(st_job_status_name(ST_JOB_QUEUED), "queued", "status name");
    CHECK_STR(st_job_status_name(ST_JOB_CANCELLED), "cancelled", "status name");
    CHECK_STR(st_job_status_name(ST_JOB_DONE), "done", "status name");

    st_job a = make_job("k_aaaaaaaaaaaa", "first", 1000);
    st_job b = make_job("k_aaaaaaaaaaaa", NULL, 2000);
    st_job c = make_job("", "keyless", 1500);
    CHECK(is_hex(a.id, ST_JOB_ID_LEN), "job id is 32 lowercase hex: %s", a.id);
    CHECK(strcmp(a.id, b.id) != 0, "job ids differ");
    CHECK(st_job_insert(s, &a) == 0 && st_job_insert(s, &b) == 0 && st_job_insert(s, &c) == 0, "insert 3 jobs");
    CHECK(st_job_insert(s, &a) == -1, "a duplicate id is refused");
    memcpy(first_id, a.id, ST_JOB_ID_LEN + 1);

    st_job g;
    CHECK(st_job_get(s, a.id, &g) == 1, "get job");
    CHECK_STR(g.id, a.id, "job id");
    CHECK_STR(g.key_id, "k_aaaaaaaaaaaa", "job key");
    CHECK(g.name && strcmp(g.name, "first") == 0, "job name");
    CHECK(g.webhook && strcmp(g.webhook, "https://example.com/hook") == 0, "job webhook");
    CHECK(g.error == NULL && g.status == ST_JOB_QUEUED && g.total == 10 && g.processed == 0 &&
              g.created_at == 1000 && g.finished_at == 0,
          "job fields");
    CHECK_STR(g.format, "csv", "job format");
    st_job_clear(&g);
    CHECK(st_job_get(s, b.id, &g) == 1 && g.name == NULL, "a job without a name has NULL");
    st_job_clear(&g);
    CHECK(st_job_get(s, "0123456789abcdef0123456789abcdef", &g) == 0, "unknown job: 0");

    int64_t counts[4] = { 1, 2, 3, 4 };
    CHECK(st_job_set_status(s, a.id, ST_JOB_RUNNING, 0, NULL) == 0, "status running");
    CHECK(st_job_progress(s, a.id, 10, counts) == 0, "progress");
    CHECK(st_job_get(s, a.id, &g) == 1 && g.status == ST_JOB_RUNNING && g.processed == 10 && g.counts[0] == 1 &&
              g.counts[1] == 2 && g.counts[2] == 3 && g.counts[3] == 4 && g.finished_at == 0,
          "progress and running status read back");
    st_job_clear(&g);
    CHECK(st_job_set_status(s, b.id, ST_JOB_FAILED, 2500, "disk full") == 0, "status failed");
    CHECK(st_job_get(s, b.id, &g) == 1 && g.status == ST_JOB_FAILED && g.finished_at == 2500 && g.error &&
              strcmp(g.error, "disk full") == 0,
          "failed status, finished_at and error read back");
    st_job_clear(&g);
    CHECK(st_job_set_webhook_state(s, b.id, 2) == 0, "webhook state");
    CHECK(st_job_get(s, b.id, &g) == 1 && g.webhook_state == 2, "webhook state read back");
    st_job_clear(&g);

    st_job *jobs = NULL;
    size_t n = 0;
    CHECK(st_job_list(s, "k_aaaaaaaaaaaa", &jobs, &n) == 0 && n == 2, "list by key: 2 (got %zu)", n);
    if (n == 2)
        CHECK(strcmp(jobs[0].id, b.id) == 0 && strcmp(jobs[1].id, a.id) == 0, "list is newest first");
    for (size_t i = 0; i < n; i++)
        st_job_clear(&jobs[i]);
    free(jobs);
    CHECK(st_job_list(s, "", &jobs, &n) == 0 && n == 1 && strcmp(jobs[0].id, c.id) == 0, "list of keyless jobs");
    for (size_t i = 0; i < n; i++)
        st_job_clear(&jobs[i]);
    free(jobs);
    CHECK(st_job_list(s, NULL, &jobs, &n) == 0 && n == 3, "list of every job: 3 (got %zu)", n);
    if (n == 3)
        CHECK(strcmp(jobs[0].id, b.id) == 0 && strcmp(jobs[1].id, c.id) == 0 && strcmp(jobs[2].id, a.id) == 0,
              "every job, newest first");
    for (size_t i = 0; i < n; i++)
        st_job_clear(&jobs[i]);
    free(jobs);
    CHECK(st_job_list(s, "k_bbbbbbbbbbbb", &jobs, &n) == 0 && n == 0, "list of a key without jobs: 0");
    free(jobs);

    CHECK(st_job_list_status(s, ST_JOB_QUEUED, &jobs, &n) == 0 && n == 1 && strcmp(jobs[0].id, c.id) == 0,
          "list_status queued: the keyless job");
    for (size_t i = 0; i < n; i++)
        st_job_clear(&jobs[i]);
    free(jobs);
    CHECK(st_job_list_status(s, ST_JOB_RUNNING, &jobs, &n) == 0 && n == 1 && strcmp(jobs[0].id, a.id) == 0,
          "list_status running");
    for (size_t i = 0; i < n; i++)
        st_job_clear(&jobs[i]);
    free(jobs);

    char(*ids)[ST_JOB_ID_LEN + 1] = NULL;
    CHECK(st_job_expired(s, 1600, &ids, &n) == 0 && n == 2, "expired before 1600: 2 (got %zu)", n);
    if (n == 2)
        CHECK(strcmp(ids[0], a.id) == 0 && strcmp(ids[1], c.id) == 0, "expired ids, oldest first");
    free(ids);
    CHECK(st_job_expired(s, 10, &ids, &n) == 0 && n == 0, "nothing expired before 10");
    free(ids);

    CHECK(st_job_delete(s, c.id) == 1, "delete job");
    CHECK(st_job_delete(s, c.id) == 0, "delete again: 0");
    CHECK(st_job_get(s, c.id, &g) == 0, "a deleted job is gone");
    st_job_clear(&a);
    st_job_clear(&b);
    st_job_clear(&c);
    st_job_clear(NULL);
}

static void test_cache(st_store *s)
{
    char *json = NULL;
    CHECK(st_cache_get(s, "a@example.com", 100, &json) == 0 && json == NULL, "cache miss");
    CHECK(st_cache_put(s, "a@example.com", "{\"status\":\"risky\"}", 200) == 0, "cache put");
    CHECK(st_cache_get(s, "a@example.com", 100, &json) == 1 && json && strcmp(json, "{\"status\":\"risky\"}") == 0,
          "cache hit");
    free(json);
    CHECK(st_cache_get(s, "a@example.com", 200, &json) == 0, "expired at its expiry time");
    CHECK(st_cache_put(s, "a@example.com", "{\"status\":\"deliverable\"}", 300) == 0, "cache replace");
    CHECK(st_cache_get(s, "a@example.com", 250, &json) == 1 && json &&
              strcmp(json, "{\"status\":\"deliverable\"}") == 0,
          "the replacement is served");
    free(json); /* cppcheck-suppress doubleFree ; st_cache_get() sets json to NULL first */
    CHECK(st_cache_put(s, "b@example.com", "{}", 150) == 0 && st_cache_put(s, "c@example.com", "{}", 160) == 0,
          "two more entries");
    CHECK(st_cache_purge(s, 155) == 1, "purge drops the one expired entry");
    CHECK(st_cache_get(s, "c@example.com", 100, &json) == 1, "unexpired entries stay");
    free(json); /* cppcheck-suppress doubleFree ; st_cache_get() sets json to NULL first */
    CHECK(st_cache_get(s, "b@example.com", 100, &json) == 0, "the purged entry is gone");
    CHECK(st_cache_purge(s, 1000) == 2, "purge everything");
}

/* Many threads on one handle: every increment must count. */
static void *usage_worker(void *arg)
{
    st_store *s = arg;
    for (int i = 0; i < 200; i++) {
        if (st_usage_add(s, "k_threads0000", "2026-11-29", 1) < 0)
            return (void *)1;
        char *json = NULL;
        if (st_cache_put(s, "t@example.com", "{\"n\":1}", 1000) != 0 ||
            st_cache_get(s, "t@example.com", 1, &json) != 1 || strcmp(json, "{\"n\":1}") != 0) {
            free(json);
            return (void *)1;
        }
        free(json);
    }
    return NULL;
}

static void test_threads(st_store *s)
{
    pthread_t t[4];
    int started = 0, failures = 0;
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, usage_worker, s) == 0)
            started++;
    for (int i = 0; i < started; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        failures += r != NULL;
    }
    CHECK(started == 4 && failures == 0, "4 threads share one handle without errors");
    CHECK(st_usage_add(s, "k_threads0000", "2026-11-29", 0) == 800, "every increment of 4 threads counted");
}

/* ---- job rows ---------------------------------------------------------------------- */

/* A time for leases far from the real clock (unix ms). */
#define T0 ((int64_t)1800000000000)

/* Inserts a job for rows, status st; its id into id. */
static bool rows_job(st_store *s, const char *name, int64_t created, st_job_status st, char id[ST_JOB_ID_LEN + 1])
{
    st_job j = make_job("", name, created);
    j.status = st;
    bool ok = j.id[0] && st_job_insert(s, &j) == 0;
    memcpy(id, j.id, ST_JOB_ID_LEN + 1);
    st_job_clear(&j);
    return ok;
}

/* The bulk test's row `row` (1-based): address, domain, fields. */
#define BULK_N 10000
#define BULK_D 50
static void bulk_row(int64_t row, char addr[64], char domain[32], char fields[32], size_t *flen)
{
    int d = (int)((row - 1) % BULK_D);
    /* odd rows: mixed case domain, left for the store to derive */
    snprintf(addr, 64, row % 2 ? "U%lld@D%02d.Example" : "u%lld@d%02d.example", (long long)row, d);
    snprintf(domain, 32, "d%02d.example", d);
    int n = snprintf(fields, 32, "f%c%lld", '\0', (long long)row);
    *flen = n > 0 ? (size_t)n : 0;
}

/* true when every row of c is of its domain, with the right address and fields. */
static bool claim_ok(const st_claim *c)
{
    char addr[64], domain[32], fields[32];
    size_t flen;
    for (size_t i = 0; i < c->n; i++) {
        bulk_row(c->rows[i].row, addr, domain, fields, &flen);
        if (strcmp(c->domain, domain) != 0 || strcmp(c->rows[i].addr, addr) != 0 ||
            c->rows[i].fields_len != flen || memcmp(c->rows[i].fields, fields, flen) != 0)
            return false;
        if (i > 0 && c->rows[i].row <= c->rows[i - 1].row)
            return false;
    }
    return c->n > 0;
}

/* Writes results for every row of c (status row % 4, json {"row":N});
 * true when each was written. */
static bool finish_claim(st_store *s, const st_claim *c)
{
    st_row_result *res = calloc(c->n, sizeof *res);
    char(*json)[32] = calloc(c->n, sizeof *json);
    int *rc = calloc(c->n, sizeof *rc);
    bool ok = res && json && rc;
    for (size_t i = 0; ok && i < c->n; i++) {
        snprintf(json[i], sizeof json[i], "{\"row\":%lld}", (long long)c->rows[i].row);
        res[i] = (st_row_result){ .row = c->rows[i].row,
                                  .status = (int)(c->rows[i].row % 4),
                                  .reason = c->rows[i].row % 4 == 2 ? "mailbox_not_found" : NULL,
                                  .json = json[i] };
    }
    ok = ok && st_rows_result_batch(s, c->id, res, c->n, rc) == (int64_t)c->n;
    for (size_t i = 0; ok && i < c->n; i++)
        ok = rc[i] == ST_RESULT_WRITTEN;
    free(res);
    free(json);
    free(rc);
    return ok;
}

typedef struct results_seen {
    int64_t n, last;
    bool ordered, right;
} results_seen;

static int count_result(void *ctx, const st_row_done *r)
{
    results_seen *rs = ctx;
    char addr[64], domain[32], fields[32], json[32];
    size_t flen;
    bulk_row(r->row, addr, domain, fields, &flen);
    snprintf(json, sizeof json, "{\"row\":%lld}", (long long)r->row);
    if (r->row <= rs->last)
        rs->ordered = false;
    if (strcmp(r->addr, addr) != 0 || r->fields_len != flen || memcmp(r->fields, fields, flen) != 0 ||
        r->status != (int)(r->row % 4) || !r->json || strcmp(r->json, json) != 0 ||
        (r->row % 4 == 2) != (r->reason != NULL))
        rs->right = false;
    rs->last = r->row;
    rs->n++;
    return 0;
}

/* st_rows_collect_done's callback: each row counted (by row number) and
 * checked, as count_result but without fields (none given). */
typedef struct collect_seen {
    int *seen; /* BULK_N + 1 */
    int64_t n;
    bool right;
} collect_seen;

static int collect_row(void *ctx, const st_row_done *r)
{
    collect_seen *cs = ctx;
    char addr[64], domain[32], fields[32], json[32];
    size_t flen;
    if (r->row < 1 || r->row > BULK_N) {
        cs->right = false;
        return 0;
    }
    bulk_row(r->row, addr, domain, fields, &flen);
    snprintf(json, sizeof json, "{\"row\":%lld}", (long long)r->row);
    if (strcmp(r->addr, addr) != 0 || r->fields != NULL || r->status != (int)(r->row % 4) || !r->json ||
        strcmp(r->json, json) != 0 || (r->row % 4 == 2) != (r->reason != NULL))
        cs->right = false;
    cs->seen[r->row]++;
    cs->n++;
    return 0;
}

static int stop_at_three(void *ctx, const st_row_done *r)
{
    (void)r;
    return ++*(int *)ctx == 3;
}

/* Collection while a job runs: on PostgreSQL the ranges of finished claims
 * come a few at a time, each once it is marked; on SQLite none come (the
 * coordinator copies every result at the end). */
static void test_rows_collect(st_store *s, const char *job, bool pg, int64_t done)
{
    collect_seen cs = { .seen = calloc(BULK_N + 1, sizeof(int)), .right = true };
    st_collect_mark m;
    if (!cs.seen) {
        CHECK(0, "collect: memory");
        return;
    }
    if (!pg) {
        CHECK(st_rows_collect_done(s, job, 8, collect_row, &cs, &m) == 0 && m.n == 0 && cs.n == 0,
              "collect: SQLite gives no ranges");
        free(cs.seen);
        return;
    }
    /* a callback that stops: an error, nothing given */
    int calls = 0;
    CHECK(st_rows_collect_done(s, job, 3, stop_at_three, &calls, &m) == -1 && m.n == 0 && calls == 3,
          "collect: a callback that stops makes it fail");
    /* not marked: the same ranges again */
    int r1 = st_rows_collect_done(s, job, 3, collect_row, &cs, &m);
    size_t n1 = m.n;
    int64_t rows1 = cs.n;
    st_collect_mark_clear(&m);
    int r2 = st_rows_collect_done(s, job, 3, collect_row, &cs, &m);
    CHECK(r1 == 1 && r2 == 1 && n1 == 3 && m.n == 3 && rows1 > 0 && cs.n == 2 * rows1,
          "collect: three ranges, given again while not marked (%lld rows)", (long long)rows1);
    st_collect_mark_clear(&m);
    memset(cs.seen, 0, (BULK_N + 1) * sizeof(int));
    cs.n = 0;
    int rounds = 0, rc;
    bool marked = true;
    while ((rc = st_rows_collect_done(s, job, 7, collect_row, &cs, &m)) == 1 && rounds++ < BULK_N) {
        marked = marked && m.n > 0 && m.n <= 7 && st_rows_collected(s, &m) == 0;
        st_collect_mark_clear(&m);
    }
    int once = 0;
    for (int i = 1; i <= BULK_N; i++)
        once += cs.seen[i] == 1;
    CHECK(rc == 0 && marked && cs.right && once == done && cs.n == done,
          "collect: every done row once, right, in ranges of at most 7 (%d rounds, %d of %lld rows)", rounds, once,
          (long long)done);
    CHECK(st_rows_collect_done(s, job, 7, collect_row, &cs, &m) == 0 && m.n == 0,
          "collect: nothing more once all is marked");
    free(cs.seen);
}

static int stop_early(void *ctx, const st_row_done *r)
{
    (void)r;
    return ++*(int *)ctx == 3 ? 7 : 0;
}

/* 10,000 rows over 50 domains, claimed until none is left. */
static void test_rows_bulk(st_store *s, bool pg)
{
    char job[ST_JOB_ID_LEN + 1], err[256] = "";
    CHECK(rows_job(s, "rows", 3000, ST_JOB_QUEUED, job), "rows: a job");
    st_row_in *rows = calloc(BULK_N, sizeof *rows);
    char(*addr)[64] = calloc(BULK_N, sizeof *addr), (*dom)[32] = calloc(BULK_N, sizeof *dom);
    char(*fld)[32] = calloc(BULK_N, sizeof *fld);
    int *seen = calloc(BULK_N + 1, sizeof *seen);
    if (!rows || !addr || !dom || !fld || !seen) {
        CHECK(0, "rows: memory");
        goto out;
    }
    for (int i = 0; i < BULK_N; i++) {
        size_t flen;
        bulk_row(i + 1, addr[i], dom[i], fld[i], &flen);
        rows[i] = (st_row_in){ .row = i + 1,
                               .addr = addr[i],
                               .domain = (i + 1) % 2 ? NULL : dom[i],
                               .fields = fld[i],
                               .fields_len = flen };
    }
    CHECK(st_rows_add(s, job, rows, BULK_N, err, sizeof err) == BULK_N, "rows: 10,000 rows added (%s)", err);
    CHECK(st_rows_add(s, job, rows, 100, err, sizeof err) == 0, "rows: adding them again adds nothing");
    {
        /* another job: a row given again under another domain (SQLite;
         * PostgreSQL keeps no index of rows by number since schema 11: a
         * row is given again under its own domain, as a coordinator that
         * publishes again does), a row given twice in one call */
        char edge[ST_JOB_ID_LEN + 1];
        st_row_in in[4] = { { .row = 1, .addr = "a@one.example" },
                            { .row = 2, .addr = "b@one.example" },
                            { .row = 2, .addr = "b@two.example" },
                            { .row = 3, .addr = "c@two.example" } };
        st_row_counts c0;
        CHECK(rows_job(s, "rows-edge", 2999, ST_JOB_DONE, edge) &&
                  st_rows_add(s, edge, in, 2, err, sizeof err) == 2,
              "rows: two rows of one.example (%s)", err);
        if (pg) {
            in[2].addr = "b@one.example";
            CHECK(st_rows_add(s, edge, in + 2, 1, err, sizeof err) == 0,
                  "rows: a row given again adds nothing (%s)", err);
            in[2].addr = "b@two.example";
        } else {
            CHECK(st_rows_add(s, edge, in + 2, 1, err, sizeof err) == 0,
                  "rows: a row given again under another domain adds nothing (%s)", err);
        }
        in[2].row = 3;
        CHECK(st_rows_add(s, edge, in + 2, 2, err, sizeof err) == 1,
              "rows: a row given twice in one call is added once (%s)", err);
        CHECK(st_rows_counts(s, edge, &c0) == 0 && c0.pending == 3, "rows: 3 rows in that job (%lld)",
              (long long)c0.pending);
        CHECK(st_job_delete(s, edge) == 1, "rows: that job deleted");
    }
    err[0] = '\0';
    CHECK(st_rows_add(s, "0123456789abcdef0123456789abcdef", rows, 1, err, sizeof err) == -1 &&
              strstr(err, "no job"),
          "rows: rows of an unknown job are refused: %s", err);
    st_row_counts rc;
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.pending == BULK_N && rc.claimed == 0 && rc.done == 0,
          "rows: 10,000 pending");

    /* 50 claims by 50 workers while none finishes: 50 different domains */
    st_claim first[BULK_D];
    memset(first, 0, sizeof first);
    bool all = true, each_ok = true;
    int distinct = 0;
    for (int k = 0; k < BULK_D; k++) {
        char w[32];
        snprintf(w, sizeof w, "w_spread%02d", k);
        all = all && st_rows_claim(s, w, 64, 60000, T0, &first[k]) == 1;
        each_ok = each_ok && claim_ok(&first[k]) && first[k].n == 64 && first[k].lease_until == T0 + 60000;
        bool dup = false;
        for (int m = 0; m < k; m++)
            dup = dup || (first[m].domain && first[k].domain && strcmp(first[m].domain, first[k].domain) == 0);
        distinct += !dup;
        for (size_t i = 0; i < first[k].n; i++)
            seen[first[k].rows[i].row]++;
    }
    CHECK(all && each_ok, "rows: 50 claims of 64 rows, each of one domain, in row order, fields intact");
    CHECK(distinct == BULK_D, "rows: workers spread: 50 claims held at once cover 50 domains (%d)", distinct);
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.claimed == 64 * BULK_D && rc.pending == BULK_N - 64 * BULK_D,
          "rows: counts while claimed");
    st_claim busy;
    CHECK(st_rows_claim(s, "w_busy", 64, 60000, T0, &busy) == 1 && claim_ok(&busy),
          "rows: with every domain busy, a claim still gets one");
    for (size_t i = 0; i < busy.n; i++)
        seen[busy.rows[i].row]++;
    bool fin = finish_claim(s, &busy);
    st_claim_clear(&busy);
    for (int k = 0; k < BULK_D; k++) {
        fin = fin && finish_claim(s, &first[k]);
        st_claim_clear(&first[k]);
    }
    CHECK(fin, "rows: their results are written");

    int claims = 0;
    bool single = true;
    for (;;) {
        st_claim c;
        int r = st_rows_claim(s, "w_loop", 64, 60000, T0 + 1000, &c);
        if (r != 1) {
            CHECK(r == 0 && c.n == 0 && c.rows == NULL, "rows: claiming until nothing is left (%d claims)",
                  claims);
            break;
        }
        claims++;
        single = single && claim_ok(&c);
        for (size_t i = 0; i < c.n; i++)
            seen[c.rows[i].row]++;
        fin = fin && finish_claim(s, &c);
        st_claim_clear(&c);
        if (claims > BULK_N) {
            CHECK(0, "rows: claiming never ends");
            break;
        }
    }
    CHECK(single && fin, "rows: every claim of one domain, every result written");
    int once = 0;
    for (int i = 1; i <= BULK_N; i++)
        once += seen[i] == 1;
    CHECK(once == BULK_N, "rows: every row claimed exactly once (%d of %d)", once, BULK_N);
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == BULK_N && rc.pending == 0 && rc.claimed == 0 &&
              rc.by_status[0] == 2500 && rc.by_status[1] == 2500 && rc.by_status[2] == 2500 &&
              rc.by_status[3] == 2500,
          "rows: counts: 10,000 done, 2,500 per status");
    results_seen rs = { .last = 0, .ordered = true, .right = true };
    int rrc = st_rows_results(s, job, count_result, &rs);
    /* (PostgreSQL gives them in the order written: batches of results) */
    CHECK(rrc == 0 && rs.n == BULK_N && (rs.ordered || pg) && rs.right,
          "rows: 10,000 results%s, each its own (%lld)", pg ? "" : " in row order", (long long)rs.n);
    int calls = 0;
    CHECK(st_rows_results(s, job, stop_early, &calls) == 7 && calls == 3, "rows: the callback can stop early");
    test_rows_collect(s, job, pg, BULK_N);
    CHECK(st_job_set_status(s, job, ST_JOB_DONE, 3001, NULL) == 0, "rows: job done");
out:
    free(rows);
    free(addr);
    free(dom);
    free(fld);
    free(seen);
}

/* Leases: expiry, take over, late results refused; idempotent results; release. */
static void test_rows_lease(st_store *s)
{
    char job[ST_JOB_ID_LEN + 1], err[256] = "";
    CHECK(rows_job(s, "lease", 3100, ST_JOB_RUNNING, job), "lease: a job");
    st_row_in rows[10];
    char addr[10][32];
    for (int i = 0; i < 10; i++) {
        snprintf(addr[i], sizeof addr[i], "l%d@lease.example", i + 1);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i] };
    }
    CHECK(st_rows_add(s, job, rows, 10, err, sizeof err) == 10, "lease: 10 rows (%s)", err);
    st_claim c1, c2, c3;
    CHECK(st_rows_claim(s, "w_one", 100, 1000, T0, &c1) == 1 && c1.n == 10 && c1.lease_until == T0 + 1000 &&
              strcmp(c1.job_id, job) == 0 && strcmp(c1.domain, "lease.example") == 0,
          "lease: worker 1 claims the 10 rows");
    CHECK(st_rows_claim(s, "w_two", 100, 1000, T0 + 500, &c2) == 0, "lease: nothing left for worker 2");
    CHECK(st_rows_renew(s, c1.id, 1000, T0 + 500) == 10, "lease: worker 1 renews its 10 rows");
    CHECK(st_rows_claim(s, "w_two", 100, 1000, T0 + 1400, &c2) == 0,
          "lease: past the first lease, within the renewed one: still nothing");
    CHECK(st_rows_claim(s, "w_two", 100, 1000, T0 + 1600, &c2) == 1 && c2.n == 10 && strcmp(c2.id, c1.id) != 0 &&
              c2.rows[0].row == 1 && c2.rows[9].row == 10,
          "lease: expired: worker 2 claims the same rows under a new claim");
    CHECK(st_rows_renew(s, c1.id, 1000, T0 + 1700) == 0, "lease: renewing the lost claim: 0");
    CHECK(st_rows_result(s, c1.id, 1, 1, NULL, "{\"late\":1}") == ST_RESULT_LOST,
          "lease: the lost claim's late result is refused");
    CHECK(st_rows_result(s, c2.id, 1, 2, "r", "{\"second\":1}") == ST_RESULT_WRITTEN,
          "lease: the second claim's result is written");
    CHECK(st_rows_result(s, c2.id, 1, 3, "x", "{\"again\":1}") == ST_RESULT_REPEAT,
          "lease: writing it again is a no-op, and says so");
    CHECK(st_rows_result(s, c1.id, 1, 1, NULL, "{\"late\":1}") == ST_RESULT_LOST,
          "lease: the lost claim still cannot write it");
    st_row_result late[2] = { { .row = 2, .status = 1, .json = "{}" }, { .row = 3, .status = 1, .json = "{}" } };
    int rcs[2] = { -1, -1 };
    CHECK(st_rows_result_batch(s, c1.id, late, 2, rcs) == 0 && rcs[0] == ST_RESULT_LOST &&
              rcs[1] == ST_RESULT_LOST,
          "lease: a batch from the lost claim writes nothing");
    CHECK(st_rows_result(s, "00000000000000000000000000000000", 4, 1, NULL, "{}") == ST_RESULT_LOST,
          "lease: an unknown claim writes nothing");
    st_row_counts rc;
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == 1 && rc.claimed == 9 && rc.by_status[2] == 1,
          "lease: 1 done (status 2), 9 claimed");
    CHECK(st_rows_release(s, c2.id) == 9, "lease: release gives back the 9 rows without a result");
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == 1 && rc.pending == 9 && rc.claimed == 0,
          "lease: 9 pending again");
    CHECK(st_rows_renew(s, c2.id, 1000, T0 + 1800) == 0, "lease: a released claim renews nothing");
    CHECK(st_rows_result(s, c2.id, 2, 1, NULL, "{}") == ST_RESULT_WRITTEN,
          "lease: a released row nobody claimed since takes its claim's result");
    CHECK(st_rows_claim(s, "w_three", 4, 1000, T0 + 1800, &c3) == 1 && c3.n == 4 && c3.rows[0].row == 3 &&
              c3.rows[3].row == 6,
          "lease: max_rows 4: the 4 lowest pending rows");
    CHECK(st_rows_result(s, c2.id, 3, 1, NULL, "{}") == ST_RESULT_LOST,
          "lease: once claimed again, the released claim's result is refused");
    CHECK(st_rows_release(s, c3.id) == 4 && st_rows_release(s, c3.id) == 0, "lease: release, twice");
    st_claim_clear(&c3);
    CHECK(st_rows_claim(s, "w_three", 100, 1000, T0 + 1900, &c3) == 1 && c3.n == 8, "lease: the last 8 rows");
    bool all = true;
    for (size_t i = 0; i < c3.n; i++)
        all = all && st_rows_result(s, c3.id, c3.rows[i].row, 0, NULL, "{}") == ST_RESULT_WRITTEN;
    CHECK(all, "lease: their results are written");
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == 10 && rc.pending == 0 && rc.claimed == 0,
          "lease: 10 done");
    st_claim_clear(&c3);
    CHECK(st_rows_claim(s, "w_three", 100, 1000, T0 + 1900, &c3) == 0 && c3.rows == NULL,
          "lease: nothing left to claim");
    st_claim_clear(&c1);
    st_claim_clear(&c2);
    st_claim_clear(&c3);
    st_claim_clear(NULL);
    CHECK(st_job_set_status(s, job, ST_JOB_DONE, 3101, NULL) == 0, "lease: job done");

    /* Rows of a job that is not queued or running are not served. */
    char job2[ST_JOB_ID_LEN + 1];
    CHECK(rows_job(s, "cancelled", 3200, ST_JOB_CANCELLED, job2), "lease: a cancelled job");
    CHECK(st_rows_add(s, job2, rows, 3, err, sizeof err) == 3, "lease: with 3 rows");
    st_claim c;
    CHECK(st_rows_claim(s, "w_four", 100, 1000, T0, &c) == 0, "lease: a cancelled job's rows are not claimed");
    CHECK(st_job_set_status(s, job2, ST_JOB_QUEUED, 0, NULL) == 0 &&
              st_rows_claim(s, "w_four", 100, 1000, T0, &c) == 1 && c.n == 3 && strcmp(c.job_id, job2) == 0,
          "lease: queued again, they are");
    st_claim_clear(&c);
    CHECK(st_job_delete(s, job2) == 1 && st_rows_counts(s, job2, &rc) == 0 &&
              rc.pending + rc.claimed + rc.done == 0,
          "lease: deleting a job deletes its rows");
}

/* Rows with weights: counts are sums of them (0 or less counts as 1). */
static void test_rows_weight(st_store *s)
{
    char job[ST_JOB_ID_LEN + 1], err[256] = "";
    CHECK(rows_job(s, "weight", 3250, ST_JOB_RUNNING, job), "weight: a job");
    const int64_t w[5] = { 1, 3, 0, 5, -2 };
    st_row_in rows[5];
    char addr[5][32];
    for (int i = 0; i < 5; i++) {
        snprintf(addr[i], sizeof addr[i], "w%d@weight.example", i + 1);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i], .weight = w[i] };
    }
    CHECK(st_rows_add(s, job, rows, 5, err, sizeof err) == 5, "weight: 5 rows, weights 1 3 0 5 -2 (%s)", err);
    st_row_counts rc = { 0 };
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.pending == 11 && rc.claimed == 0 && rc.done == 0,
          "weight: pending is their sum, 0 and -2 counted as 1: 11 (%lld)", (long long)rc.pending);
    st_queue_info *q = NULL;
    size_t n = 0;
    CHECK(st_queue_list(s, &q, &n) == 0 && n == 1 && strcmp(q[0].job_id, job) == 0 &&
              q[0].status == ST_JOB_RUNNING && q[0].created_at == 3250 && q[0].c.pending == 11 &&
              q[0].c.claimed == 0 && q[0].c.done == 0,
          "weight: the queue lists the one running job with rows, its pending rows summed (%zu)", n);
    free(q);
    st_claim c;
    CHECK(st_rows_claim(s, "w_weight", 3, 1000, T0, &c) == 1 && c.n == 3 && c.rows[0].row == 1 &&
              c.rows[2].row == 3,
          "weight: a claim of the first 3 rows");
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.pending == 6 && rc.claimed == 5 && rc.done == 0,
          "weight: 5 claimed (1 + 3 + 1), 6 pending (5 + 1)");
    /* statuses: row 1 -> 1, row 2 -> 2, row 3 -> 1 */
    st_row_result res[3] = { { .row = 1, .status = 1, .json = "{}" },
                             { .row = 2, .status = 2, .json = "{}" },
                             { .row = 3, .status = 1, .json = "{}" } };
    CHECK(st_rows_result_batch(s, c.id, res, 3, NULL) == 3, "weight: their results");
    st_claim_clear(&c);
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == 5 && rc.by_status[1] == 2 && rc.by_status[2] == 3 &&
              rc.by_status[0] == 0 && rc.by_status[3] == 0 && rc.pending == 6,
          "weight: done 5, by status: 2 deliverable (1 + 1), 3 undeliverable (weight 3)");
    CHECK(st_rows_claim(s, "w_weight", 10, 1000, T0, &c) == 1 && c.n == 2, "weight: the last 2 rows");
    st_row_result res2[2] = { { .row = 4, .status = 3, .json = "{}" }, { .row = 5, .status = 0, .json = "{}" } };
    CHECK(st_rows_result_batch(s, c.id, res2, 2, NULL) == 2, "weight: their results");
    st_claim_clear(&c);
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == 11 && rc.pending == 0 && rc.claimed == 0 &&
              rc.by_status[0] == 1 && rc.by_status[1] == 2 && rc.by_status[2] == 3 && rc.by_status[3] == 5,
          "weight: all 11 done, by status 1 2 3 5");
    CHECK(st_job_set_status(s, job, ST_JOB_DONE, 3251, NULL) == 0 && st_queue_list(s, &q, &n) == 0 && n == 0 &&
              q == NULL,
          "weight: once done, the job leaves the queue (%zu)", n);
    free(q);
}

/* true when c is a claim of job, domain and exactly rows first..last. */
static bool claim_is(const st_claim *c, const char *job, const char *domain, int64_t first, int64_t last)
{
    if (!c->domain || strcmp(c->job_id, job) != 0 || strcmp(c->domain, domain) != 0 ||
        c->n != (size_t)(last - first + 1))
        return false;
    for (size_t i = 0; i < c->n; i++)
        if (c->rows[i].row != first + (int64_t)i)
            return false;
    return true;
}

/* Writes a result (status 1) for every row of c: true when all are written. */
static bool finish_all(st_store *s, const st_claim *c)
{
    bool ok = c->n > 0;
    for (size_t i = 0; i < c->n; i++)
        ok = ok && st_rows_result(s, c->id, c->rows[i].row, 1, NULL, "{}") == ST_RESULT_WRITTEN;
    return ok;
}

/* ST_CLAIM_EXCLUSIVE: at most one live claim per domain, over every job;
 * st_claims_list and st_queue_list on the way. */
static void test_rows_exclusive(st_store *s)
{
    char job1[ST_JOB_ID_LEN + 1], job2[ST_JOB_ID_LEN + 1], err[256] = "";
    const char *d = "d.excl.example", *e = "e.excl.example";
    /* the same created_at: the queue and the claims go by insertion order */
    CHECK(rows_job(s, "excl1", 3300, ST_JOB_QUEUED, job1) && rows_job(s, "excl2", 3300, ST_JOB_RUNNING, job2),
          "excl: two jobs");
    /* job 1: rows 1-5 of d, 6-8 of e (weight 2); job 2: rows 1-4 of d */
    st_row_in rows[8];
    char addr[8][40];
    for (int i = 0; i < 8; i++) {
        snprintf(addr[i], sizeof addr[i], "x%d@%s", i + 1, i < 5 ? d : e);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i], .weight = i < 5 ? 1 : 2 };
    }
    CHECK(st_rows_add(s, job1, rows, 8, err, sizeof err) == 8 &&
              st_rows_add(s, job2, rows, 4, err, sizeof err) == 4,
          "excl: 8 rows in job 1 (d and e), 4 in job 2 (d) (%s)", err);

    st_claim a, b, c, b2, c2, dd, e2;
    memset(&c, 0, sizeof c);
    CHECK(st_rows_claim_ex(s, "w_excl_a", 2, 1000, T0, ST_CLAIM_EXCLUSIVE, &a) == 1 && claim_is(&a, job1, d, 1, 2),
          "excl: worker A claims rows 1-2 of d in job 1");
    CHECK(st_rows_claim_ex(s, "w_excl_b", 100, 1000, T0 + 10, ST_CLAIM_EXCLUSIVE, &b) == 1 &&
              claim_is(&b, job1, e, 6, 8),
          "excl: worker B, exclusive, skips d (rows left in job 1 and job 2) and gets e");
    CHECK(st_rows_claim_ex(s, "w_excl_c", 100, 1000, T0 + 20, ST_CLAIM_EXCLUSIVE, &c) == 0 && c.n == 0 &&
              c.rows == NULL && c.domain == NULL,
          "excl: worker C, exclusive: nothing (d is held in every job, e has no rows left)");
    CHECK(st_rows_claim_ex(s, "w_excl_c", 100, 1000, T0 + 30, 0, &c) == 1 && claim_is(&c, job1, d, 3, 5),
          "excl: without the flag, C gets the rest of d in job 1 beside A's claim");
    CHECK(st_rows_claim_ex(s, "w_excl_c", 100, 1000, T0 + 30, 4u, &c2) == -1, "excl: an unknown flag: -1");

    st_claim_info *ci = NULL;
    size_t n = 0;
    CHECK(st_claims_list(s, T0 + 40, &ci, &n) == 0 && n == 3, "claims: 3 live claims (%zu)", n);
    if (n == 3) {
        CHECK(strcmp(ci[0].id, a.id) == 0 && strcmp(ci[0].job_id, job1) == 0 &&
                  strcmp(ci[0].holder, "w_excl_a") == 0 && strcmp(ci[0].domain, d) == 0 && ci[0].rows == 2 &&
                  ci[0].lease_until == T0 + 1000,
              "claims: A's first (holder order): job 1, d, 2 rows, its lease");
        CHECK(strcmp(ci[1].id, b.id) == 0 && strcmp(ci[1].holder, "w_excl_b") == 0 &&
                  strcmp(ci[1].domain, e) == 0 && ci[1].rows == 3 && ci[1].lease_until == T0 + 1010,
              "claims: then B's: e, 3 rows (a count of rows, not of weight)");
        CHECK(strcmp(ci[2].id, c.id) == 0 && strcmp(ci[2].holder, "w_excl_c") == 0 &&
                  strcmp(ci[2].domain, d) == 0 && ci[2].rows == 3 && ci[2].lease_until == T0 + 1030,
              "claims: then C's: d, 3 rows");
    }
    free(ci);
    CHECK(st_claims_list(s, T0 + 1000, &ci, &n) == 0 && n == 2 && strcmp(ci[0].id, b.id) == 0 &&
              strcmp(ci[1].id, c.id) == 0,
          "claims: at A's lease end only B's and C's are live (%zu)", n);
    free(ci);
    CHECK(st_claims_list(s, T0 + 5000, &ci, &n) == 0 && n == 0 && ci == NULL, "claims: later none is live");
    free(ci);

    st_queue_info *q = NULL;
    st_row_counts rc1, rc2;
    CHECK(st_rows_counts(s, job1, &rc1) == 0 && rc1.claimed == 11 && rc1.pending == 0 &&
              st_rows_counts(s, job2, &rc2) == 0 && rc2.pending == 4 && rc2.claimed == 0,
          "excl: job 1: 11 claimed (5 of d, 3 of e of weight 2); job 2: 4 pending");
    CHECK(st_queue_list(s, &q, &n) == 0 && n == 2, "queue: 2 jobs (%zu)", n);
    if (n == 2) {
        CHECK(strcmp(q[0].job_id, job1) == 0 && q[0].status == ST_JOB_QUEUED && q[0].created_at == 3300 &&
                  strcmp(q[1].job_id, job2) == 0 && q[1].status == ST_JOB_RUNNING,
              "queue: oldest first, equal times in insertion order, with their status");
        CHECK(memcmp(&q[0].c, &rc1, sizeof rc1) == 0 && memcmp(&q[1].c, &rc2, sizeof rc2) == 0,
              "queue: each with the counts of st_rows_counts");
    }
    free(q);

    CHECK(st_rows_release(s, c.id) == 3, "excl: C gives its rows back");
    st_claim_clear(&c);
    CHECK(finish_all(s, &a), "excl: A writes its results (before its lease ends)");
    CHECK(st_rows_claim_ex(s, "w_excl_b", 100, 1000, T0 + 100, ST_CLAIM_EXCLUSIVE, &b2) == 1 &&
              claim_is(&b2, job1, d, 3, 5),
          "excl: with A's results written, B gets d (exclusive)");
    CHECK(st_rows_claim_ex(s, "w_excl_c", 100, 1000, T0 + 200, ST_CLAIM_EXCLUSIVE, &c) == 0,
          "excl: C, exclusive, again nothing while B holds d and e");
    CHECK(st_rows_claim_ex(s, "w_excl_c", 100, 1000, T0 + 1101, ST_CLAIM_EXCLUSIVE, &c) == 1 &&
              claim_is(&c, job1, d, 3, 5),
          "excl: once B's lease has expired, C gets d (exclusive): B's rows of job 1");
    CHECK(st_rows_claim_ex(s, "w_excl_d", 100, 1000, T0 + 1102, ST_CLAIM_EXCLUSIVE, &dd) == 1 &&
              claim_is(&dd, job1, e, 6, 8),
          "excl: D, exclusive, gets e (its lease expired too), not d of job 2");
    CHECK(st_rows_claim_ex(s, "w_excl_e", 100, 1000, T0 + 1103, ST_CLAIM_EXCLUSIVE, &e2) == 0,
          "excl: E, exclusive: nothing (d of job 2 waits for C)");
    CHECK(st_rows_result(s, b2.id, 3, 1, NULL, "{}") == ST_RESULT_LOST, "excl: B's late result is refused");
    CHECK(finish_all(s, &c) && finish_all(s, &dd), "excl: C and D write their results");
    CHECK(st_rows_claim_ex(s, "w_excl_e", 100, 1000, T0 + 1104, ST_CLAIM_EXCLUSIVE, &e2) == 1 &&
              claim_is(&e2, job2, d, 1, 4),
          "excl: then E gets d of job 2");
    CHECK(finish_all(s, &e2), "excl: E writes its results");
    CHECK(st_rows_counts(s, job1, &rc1) == 0 && rc1.done == 11 && rc1.by_status[1] == 11 &&
              st_rows_counts(s, job2, &rc2) == 0 && rc2.done == 4,
          "excl: every row done (job 1: 11 of weight, job 2: 4)");
    st_claim_clear(&a);
    st_claim_clear(&b);
    st_claim_clear(&b2);
    st_claim_clear(&c);
    st_claim_clear(&dd);
    st_claim_clear(&e2);
    CHECK(st_queue_list(s, &q, &n) == 0 && n == 2, "queue: both jobs still listed while queued or running");
    free(q);
    CHECK(st_job_set_status(s, job1, ST_JOB_DONE, 3301, NULL) == 0 &&
              st_job_set_status(s, job2, ST_JOB_CANCELLED, 3301, NULL) == 0 && st_queue_list(s, &q, &n) == 0 &&
              n == 0,
          "queue: a done and a cancelled job are not listed");
    free(q);
}

/* ---- domain facts, politeness keys, the job_domains summary --------------------------------- */

/* Raw access to a backend's database, for checks the API cannot make:
 * the SQLite store in dir, or the PostgreSQL database at url. */
typedef struct raw_db {
    const char *dir;
    const char *url;
} raw_db;

static int64_t sqlite_number(const char *dir, const char *sql);

/* The first column of the first row of sql as an integer, or -1. */
static int64_t raw_number(const raw_db *raw, const char *sql)
{
    if (raw->dir)
        return sqlite_number(raw->dir, sql);
    PGconn *c = PQconnectdb(raw->url);
    PGresult *r = PQexec(c, sql);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = atoll(PQgetvalue(r, 0, 0));
    else
        tap_diag("raw query: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    return v;
}

/* The rows of job_rows without a result (PostgreSQL, schema 9: results
 * are rows of job_results). Since schema 11 both are views of packed
 * rows, without indexes: the queries read them once each (PG_WITH, as
 * rr and xx) and join them by hashing. */
#define PG_WITH "WITH rr AS MATERIALIZED (SELECT * FROM job_rows), xx AS MATERIALIZED (SELECT * FROM job_results) "
#define PG_OPEN "NOT EXISTS (SELECT 1 FROM xx x WHERE x.job_id = r.job_id AND x.row_no = r.row_no)"

/* PostgreSQL (schema 9): entries of job_counts (rows by job, open or
 * done by status, weights summed) that disagree with job_rows and
 * job_results; claim ranges (job_claims) whose open rows or weight are
 * not the rows without a result in their range; rows without a result
 * not in exactly one place to be claimed from (a claim's range, or past
 * their pair's cursor in job_domains); rows past their pair's end. -1 on
 * error. */
static int64_t pg_counters_drift(const raw_db *raw)
{
    int64_t c = raw_number(raw, PG_WITH
                           "SELECT count(*) FROM (SELECT r.job_id, CASE WHEN x.row_no IS NULL THEN 0"
                           " ELSE 2 END AS state, coalesce(x.status, -1) AS status, sum(r.weight) AS n FROM rr r"
                           " LEFT JOIN xx x ON x.job_id = r.job_id AND x.row_no = r.row_no"
                           " GROUP BY 1, 2, 3) r"
                           " FULL JOIN (SELECT job_id, state, status, sum(n) AS n FROM job_counts GROUP BY 1, 2, 3"
                           " HAVING sum(n) <> 0) c ON c.job_id = r.job_id"
                           " AND c.state = r.state AND c.status = r.status WHERE r.n IS DISTINCT FROM c.n");
    int64_t k = raw_number(raw,
                           PG_WITH ", o AS (SELECT c.claim_id, c.lo, count(*) AS n, sum(r.weight) AS w"
                                   " FROM job_claims c JOIN rr r ON r.job_id = c.job_id AND r.domain = c.domain"
                                   " AND r.dseq >= c.lo AND r.dseq < c.hi WHERE " PG_OPEN " GROUP BY 1, 2)"
                                   " SELECT count(*) FROM job_claims c LEFT JOIN o ON o.claim_id = c.claim_id"
                                   " AND o.lo = c.lo WHERE coalesce(o.n, 0) <> c.open_rows"
                                   " OR coalesce(o.w, 0) <> c.open_weight");
    int64_t p = raw_number(raw, PG_WITH ", k AS (SELECT r.job_id, r.row_no, count(*) AS n FROM rr r"
                                        " JOIN job_claims c ON c.job_id = r.job_id AND c.domain = r.domain"
                                        " AND r.dseq >= c.lo AND r.dseq < c.hi GROUP BY 1, 2)"
                                        " SELECT count(*) FROM rr r JOIN job_domains d ON d.job_id = r.job_id"
                                        " AND d.domain = r.domain LEFT JOIN k ON k.job_id = r.job_id"
                                        " AND k.row_no = r.row_no WHERE " PG_OPEN " AND (CASE WHEN r.dseq >="
                                        " d.next_dseq THEN 1 ELSE 0 END + coalesce(k.n, 0)) <> 1");
    int64_t e = raw_number(raw,
                           PG_WITH "SELECT count(*) FROM rr r LEFT JOIN job_domains d ON d.job_id = r.job_id"
                                   " AND d.domain = r.domain WHERE d.end_dseq IS NULL OR r.dseq >= d.end_dseq");
    if (c != 0 || k != 0 || p != 0 || e != 0)
        tap_diag("drift: job_counts %lld, job_claims %lld, rows to claim %lld, past the end %lld", (long long)c,
                 (long long)k, (long long)p, (long long)e);
    return c < 0 || k < 0 || p < 0 || e < 0 ? -1 : c + k + p + e;
}

/* SQLite: (job, domain) pairs where job_domains and the open rows of
 * job_rows disagree (an entry missing, left over, or with another count);
 * PostgreSQL: pg_counters_drift. -1 on error. */
static int64_t summary_drift(const raw_db *raw)
{
    if (!raw->dir)
        return pg_counters_drift(raw);
    return raw_number(raw, "SELECT count(*) FROM (SELECT job_id, domain, count(*) AS n FROM job_rows"
                           " WHERE state < 2 GROUP BY job_id, domain) r"
                           " FULL JOIN job_domains d ON d.job_id = r.job_id AND d.domain = r.domain"
                           " WHERE r.n IS DISTINCT FROM d.open_rows");
}

/* The open rows of (job, domain): SQLite, open_rows of job_domains' entry
 * (0 when there is none); PostgreSQL, its rows without a result. -1 on
 * error. */
static int64_t summary_open(const raw_db *raw, const char *job, const char *domain)
{
    char sql[640];
    if (raw->dir)
        snprintf(sql, sizeof sql,
                 "SELECT coalesce((SELECT open_rows FROM job_domains WHERE job_id = '%s'"
                 " AND domain = '%s'), 0)",
                 job, domain);
    else
        snprintf(sql, sizeof sql,
                 PG_WITH "SELECT count(*) FROM rr r WHERE job_id = '%s' AND domain = '%s' AND " PG_OPEN, job,
                 domain);
    return raw_number(raw, sql);
}

/* The pairs of job with open rows: SQLite, job_domains' entries;
 * PostgreSQL, its domains with rows without a result, and job_domains'
 * entries once the job is gone. */
static int64_t summary_entries(const raw_db *raw, const char *job)
{
    char sql[640];
    if (raw->dir)
        snprintf(sql, sizeof sql, "SELECT count(*) FROM job_domains WHERE job_id = '%s'", job);
    else
        snprintf(sql, sizeof sql,
                 PG_WITH "SELECT count(DISTINCT domain) + (SELECT count(*) FROM job_domains WHERE job_id = '%s'"
                         " AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = '%s')) FROM rr r WHERE job_id = '%s' "
                         "AND " PG_OPEN,
                 job, job, job);
    return raw_number(raw, sql);
}

/* Unix ms now. */
static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* st_domain_facts_get / _put: unknown domains, merging, lower case. */
static void test_domain_facts(st_store *s)
{
    st_domain_facts f, g;
    memset(&g, 0x55, sizeof g);
    CHECK(st_domain_facts_get(s, "nofacts.example", &g) == 0, "facts: an unknown domain: 0");
    memset(&f, 0, sizeof f);
    snprintf(f.mx_host, sizeof f.mx_host, "MX1.Facts.EXAMPLE");
    f.accept_all = -1;
    int64_t before = now_ms();
    CHECK(st_domain_facts_put(s, "facts.example", &f) == 0, "facts: put an MX host, catch-all unknown");
    int64_t after = now_ms();
    CHECK(st_domain_facts_get(s, "facts.example", &g) == 1 && strcmp(g.mx_host, "mx1.facts.example") == 0 &&
              g.accept_all == -1 && g.accept_all_at == 0,
          "facts: read back, the MX host in lower case: '%s', catch-all unknown (%d)", g.mx_host, g.accept_all);
    CHECK(g.updated_at >= before && g.updated_at <= after, "facts: updated_at is the time of the put (%lld)",
          (long long)g.updated_at);
    int64_t first_update = g.updated_at;
    memset(&f, 0, sizeof f);
    f.accept_all = 1;
    f.accept_all_at = T0 + 77;
    CHECK(st_domain_facts_put(s, "facts.example", &f) == 0, "facts: put a catch-all with an MX host of \"\"");
    CHECK(st_domain_facts_get(s, "facts.example", &g) == 1 && strcmp(g.mx_host, "mx1.facts.example") == 0 &&
              g.accept_all == 1 && g.accept_all_at == T0 + 77 && g.updated_at >= first_update,
          "facts: the MX host is kept, the catch-all and its time stored");
    memset(&f, 0, sizeof f);
    snprintf(f.mx_host, sizeof f.mx_host, "mx2.facts.example");
    f.accept_all = -1;
    f.accept_all_at = 5;
    CHECK(st_domain_facts_put(s, "facts.example", &f) == 0 && st_domain_facts_get(s, "facts.example", &g) == 1 &&
              strcmp(g.mx_host, "mx2.facts.example") == 0 && g.accept_all == 1 && g.accept_all_at == T0 + 77,
          "facts: a new MX host replaces the old; accept_all -1 keeps the catch-all and its time");
    memset(&f, 0, sizeof f);
    f.accept_all = 0;
    f.accept_all_at = T0 + 99;
    CHECK(st_domain_facts_put(s, "facts.example", &f) == 0 && st_domain_facts_get(s, "facts.example", &g) == 1 &&
              strcmp(g.mx_host, "mx2.facts.example") == 0 && g.accept_all == 0 && g.accept_all_at == T0 + 99,
          "facts: a catch-all of 0 is stored (not taken for unknown)");
    memset(&f, 0, sizeof f);
    f.accept_all = 1;
    f.accept_all_at = T0;
    CHECK(st_domain_facts_put(s, "aa-only.example", &f) == 0 &&
              st_domain_facts_get(s, "aa-only.example", &g) == 1 && g.mx_host[0] == '\0' && g.accept_all == 1 &&
              g.accept_all_at == T0,
          "facts: a new domain with only a catch-all: MX host \"\"");
    f.accept_all = 2;
    CHECK(st_domain_facts_put(s, "aa-only.example", &f) == -1, "facts: an accept_all of 2 is refused");
    f.accept_all = -1;
    CHECK(st_domain_facts_put(s, "", &f) == -1 && st_domain_facts_get(s, "", &g) == -1,
          "facts: an empty domain is refused");
    memset(f.mx_host, 'a', sizeof f.mx_host);
    CHECK(st_domain_facts_put(s, "aa-only.example", &f) == -1, "facts: an MX host without its NUL is refused");
    CHECK(st_domain_facts_get(s, "aa-only.example", &g) == 1 && g.mx_host[0] == '\0' && g.accept_all == 1,
          "facts: and changed nothing");
}

/* ST_CLAIM_EXCLUSIVE per politeness key: domains whose facts name one MX
 * host count as one. */
static void test_rows_politeness(st_store *s)
{
    const int64_t t = T0 + 200000; /* every lease of the tests before has expired */
    const char *a = "a.polite.example", *b = "b.polite.example", *cd = "c.polite.example";
    char jold[ST_JOB_ID_LEN + 1], jnew[ST_JOB_ID_LEN + 1], err[256] = "";
    CHECK(rows_job(s, "polite-old", 3400, ST_JOB_QUEUED, jold) &&
              rows_job(s, "polite-new", 3401, ST_JOB_QUEUED, jnew),
          "polite: an older and a newer job");
    st_row_in rows[6];
    char addr[6][40];
    /* the newer job: rows 1-3 of a; the older: 1-3 of b, 4-6 of c (added later) */
    for (int i = 0; i < 3; i++) {
        snprintf(addr[i], sizeof addr[i], "p%d@%s", i + 1, a);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i] };
    }
    CHECK(st_rows_add(s, jnew, rows, 3, err, sizeof err) == 3, "polite: 3 rows of a in the newer job (%s)", err);
    st_claim ca, cb, cc, cx;
    memset(&cx, 0, sizeof cx);
    CHECK(st_rows_claim_ex(s, "w_pol_a", 10, 1000, t, ST_CLAIM_EXCLUSIVE, &ca) == 1 &&
              claim_is(&ca, jnew, a, 1, 3),
          "polite: worker A claims a (exclusive)");
    for (int i = 0; i < 6; i++) {
        snprintf(addr[i], sizeof addr[i], "q%d@%s", i + 1, i < 3 ? b : cd);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i] };
    }
    CHECK(st_rows_add(s, jold, rows, 6, err, sizeof err) == 6, "polite: rows of b and c in the older job (%s)",
          err);
    CHECK(st_rows_claim_ex(s, "w_pol_b", 10, 1000, t + 1, ST_CLAIM_EXCLUSIVE, &cb) == 1 &&
              claim_is(&cb, jold, b, 1, 3),
          "polite: without facts, worker B (exclusive) gets b beside A's a");
    CHECK(st_rows_release(s, cb.id) == 3, "polite: B gives b back");
    st_claim_clear(&cb);

    st_domain_facts f;
    memset(&f, 0, sizeof f);
    f.accept_all = -1;
    snprintf(f.mx_host, sizeof f.mx_host, "MX.Shared.Example");
    bool put = st_domain_facts_put(s, a, &f) == 0;
    snprintf(f.mx_host, sizeof f.mx_host, "mx.shared.example");
    put = put && st_domain_facts_put(s, b, &f) == 0;
    CHECK(put, "polite: the facts of a and b name one MX host (in two spellings)");
    CHECK(st_rows_claim_ex(s, "w_pol_b", 10, 1000, t + 2, ST_CLAIM_EXCLUSIVE, &cb) == 1 &&
              claim_is(&cb, jold, cd, 4, 6),
          "polite: now B (exclusive) skips b, whose MX host A holds through a, and gets c (no facts)");
    CHECK(st_rows_claim_ex(s, "w_pol_c", 10, 1000, t + 3, ST_CLAIM_EXCLUSIVE, &cc) == 0 && cc.n == 0,
          "polite: worker C (exclusive) gets nothing: b shares A's MX host, c is B's");
    CHECK(st_rows_claim_ex(s, "w_pol_c", 10, 1000, t + 4, 0, &cc) == 1 && claim_is(&cc, jold, b, 1, 3),
          "polite: without the flag, C gets b (a held domain, the only one left)");
    CHECK(st_rows_release(s, cc.id) == 3, "polite: C gives b back");
    st_claim_clear(&cc);
    st_claim_info *ci = NULL;
    size_t n = 0;
    CHECK(st_claims_list(s, t + 5, &ci, &n) == 0 && n == 2, "polite: 2 live claims (%zu)", n);
    free(ci);

    /* A's lease ends at t + 1000; B's (on c) at t + 1002 */
    CHECK(st_rows_claim_ex(s, "w_pol_c", 10, 1000, t + 999, ST_CLAIM_EXCLUSIVE, &cc) == 0,
          "polite: just before A's lease ends, still nothing for C");
    CHECK(st_rows_claim_ex(s, "w_pol_c", 10, 1000, t + 1000, ST_CLAIM_EXCLUSIVE, &cc) == 1 &&
              claim_is(&cc, jold, b, 1, 3),
          "polite: once A's lease has expired, C (exclusive) gets b (of the older job)");
    CHECK(st_rows_claim_ex(s, "w_pol_d", 10, 1000, t + 1001, ST_CLAIM_EXCLUSIVE, &cx) == 0,
          "polite: D (exclusive) gets nothing: A's expired rows of a wait while C holds the MX host through b");
    CHECK(st_rows_result(s, ca.id, 1, 1, NULL, "{}") == ST_RESULT_WRITTEN,
          "polite: A may still write a result (nobody took its rows over)");
    CHECK(finish_all(s, &cc), "polite: C writes b's results");
    CHECK(st_rows_claim_ex(s, "w_pol_d", 10, 1000, t + 1001, ST_CLAIM_EXCLUSIVE, &cx) == 1 &&
              claim_is(&cx, jnew, a, 2, 3),
          "polite: then D (exclusive) takes over A's 2 rows of a left without a result");
    CHECK(finish_all(s, &cb) && finish_all(s, &cx), "polite: B and D write their results");
    st_claim_clear(&cx);
    CHECK(st_rows_claim_ex(s, "w_pol_d", 10, 1000, t + 1002, 0, &cx) == 0, "polite: nothing left");
    st_claim_clear(&ca);
    st_claim_clear(&cb);
    st_claim_clear(&cc);
    st_claim_clear(&cx);
    CHECK(st_job_set_status(s, jold, ST_JOB_DONE, 3402, NULL) == 0 &&
              st_job_set_status(s, jnew, ST_JOB_DONE, 3402, NULL) == 0,
          "polite: jobs done");
}

/* job_domains, the summary claims walk, matches job_rows through adds,
 * claims, results, releases, expired leases taken over and a delete. */
static void test_rows_summary(st_store *s, const raw_db *raw)
{
    const int64_t t = T0 + 300000;
    const char *s1 = "s1.summary.example", *s2 = "s2.summary.example";
    char job[ST_JOB_ID_LEN + 1], err[256] = "";
    CHECK(rows_job(s, "summary", 3500, ST_JOB_RUNNING, job), "summary: a job");
    CHECK(summary_drift(raw) == 0, "summary: matches job_rows before");
    st_row_in rows[9];
    char addr[9][40];
    for (int i = 0; i < 9; i++) {
        snprintf(addr[i], sizeof addr[i], "s%d@%s", i + 1, i < 5 ? s1 : s2);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i] };
    }
    CHECK(st_rows_add(s, job, rows, 8, err, sizeof err) == 8 && st_rows_add(s, job, rows, 8, err, sizeof err) == 0,
          "summary: 5 rows of s1 and 3 of s2, added twice (%s)", err);
    CHECK(summary_open(raw, job, s1) == 5 && summary_open(raw, job, s2) == 3 && summary_entries(raw, job) == 2 &&
              summary_drift(raw) == 0,
          "summary: s1 5 open, s2 3 open, counted once");
    st_claim c1, c2, c3;
    CHECK(st_rows_claim(s, "w_sum", 2, 1000, t, &c1) == 1 && claim_is(&c1, job, s1, 1, 2),
          "summary: a claim of 2 rows of s1");
    CHECK(summary_open(raw, job, s1) == 5 && summary_drift(raw) == 0, "summary: claimed rows are still open");
    CHECK(st_rows_result(s, c1.id, 1, 1, NULL, "{}") == ST_RESULT_WRITTEN &&
              st_rows_result(s, c1.id, 1, 1, NULL, "{}") == ST_RESULT_REPEAT,
          "summary: a result, written twice");
    CHECK(summary_open(raw, job, s1) == 4 && summary_drift(raw) == 0, "summary: s1 4 open (counted once)");
    CHECK(st_rows_release(s, c1.id) == 1 && summary_open(raw, job, s1) == 4 && summary_drift(raw) == 0,
          "summary: a release changes nothing");
    CHECK(st_rows_claim(s, "w_sum", 10, 1000, t + 1, &c2) == 1 && claim_is(&c2, job, s1, 2, 5),
          "summary: a claim of s1's 4 open rows");
    CHECK(st_rows_claim(s, "w_sum2", 10, 1000, t + 1002, &c3) == 1 && claim_is(&c3, job, s1, 2, 5),
          "summary: its lease expired, another claim takes them over");
    CHECK(summary_open(raw, job, s1) == 4 && summary_drift(raw) == 0, "summary: a take-over changes nothing");
    st_row_result late = { .row = 2, .status = 1, .json = "{}" };
    int rc = -1;
    CHECK(st_rows_result_batch(s, c2.id, &late, 1, &rc) == 0 && rc == ST_RESULT_LOST &&
              summary_open(raw, job, s1) == 4,
          "summary: the lost claim's late result changes nothing");
    CHECK(finish_all(s, &c3), "summary: the 4 results of the second claim");
    CHECK(summary_open(raw, job, s1) == 0 && summary_entries(raw, job) == 1 && summary_drift(raw) == 0,
          "summary: s1 done: its entry is gone, s2's is left");
    st_claim_clear(&c1);
    st_claim_clear(&c2);
    st_claim_clear(&c3);
    rows[8].addr = addr[8];
    snprintf(addr[8], sizeof addr[8], "s9@%s", s1);
    CHECK(st_rows_add(s, job, &rows[8], 1, err, sizeof err) == 1 && summary_open(raw, job, s1) == 1 &&
              summary_drift(raw) == 0,
          "summary: a new row of s1 brings its entry back (%s)", err);
    CHECK(st_rows_claim(s, "w_sum", 10, 1000, t + 3000, &c1) == 1 && claim_is(&c1, job, s1, 9, 9) &&
              finish_all(s, &c1),
          "summary: claimed and done");
    st_claim_clear(&c1);
    CHECK(st_rows_claim(s, "w_sum", 10, 1000, t + 3000, &c1) == 1 && claim_is(&c1, job, s2, 6, 8),
          "summary: then s2's 3 rows");
    st_claim_clear(&c1);
    CHECK(summary_open(raw, job, s2) == 3 && summary_drift(raw) == 0, "summary: s2 3 open while claimed");
    CHECK(st_job_delete(s, job) == 1 && summary_entries(raw, job) == 0 && summary_drift(raw) == 0,
          "summary: deleting the job deletes its entries");
}

static void test_workers(st_store *s)
{
    st_worker_info w, *list = NULL;
    size_t n = 0;
    memset(&w, 0, sizeof w);
    CHECK(st_worker_new_id(w.id) == 0 && strncmp(w.id, "w_", 2) == 0 && is_hex(w.id + 2, 12),
          "workers: an id w_ + 12 hex: %s", w.id);
    snprintf(w.name, sizeof w.name, "worker-a");
    snprintf(w.host, sizeof w.host, "mx1.example.net");
    snprintf(w.addrs, sizeof w.addrs, "192.0.2.10,2001:db8::10");
    w.started_at = T0;
    w.last_seen = T0;
    CHECK(st_worker_register(s, &w) == 0, "workers: register");
    CHECK(st_worker_heartbeat(s, w.id, T0 + 5000) == 1, "workers: heartbeat");
    CHECK(st_worker_heartbeat(s, "w_000000000000", T0) == 0, "workers: heartbeat of an unknown worker: 0");
    CHECK(st_worker_list(s, &list, &n) == 0 && n == 1 && strcmp(list[0].id, w.id) == 0 &&
              strcmp(list[0].host, "mx1.example.net") == 0 && strcmp(list[0].addrs, w.addrs) == 0 &&
              list[0].started_at == T0 && list[0].last_seen == T0 + 5000,
          "workers: listed with its fields and last_seen");
    free(list);
    snprintf(w.name, sizeof w.name, "worker-a2");
    w.started_at = T0 + 10;
    CHECK(st_worker_register(s, &w) == 0 && st_worker_list(s, &list, &n) == 0 && n == 1 &&
              strcmp(list[0].name, "worker-a2") == 0,
          "workers: registering the same id again replaces it");
    free(list); /* cppcheck-suppress doubleFree ; st_worker_list() sets list to NULL first */
    st_worker_info w2 = w;
    snprintf(w2.id, sizeof w2.id, "w_00000000000b");
    w2.started_at = T0 + 20;
    CHECK(st_worker_register(s, &w2) == 0, "workers: a second one");
    CHECK(st_worker_remove(s, w.id) == 1, "workers: remove: 1");
    CHECK(st_worker_remove(s, w.id) == 0, "workers: remove again: 0");
    CHECK(st_worker_remove(s, "w_nosuchworker") == 0, "workers: remove an unknown id: 0");
    CHECK(st_worker_list(s, &list, &n) == 0 && n == 1 && strcmp(list[0].id, w2.id) == 0,
          "workers: the other one is left");
    free(list); /* cppcheck-suppress doubleFree ; st_worker_list() sets list to NULL first */
    CHECK(st_worker_heartbeat(s, w.id, T0 + 9000) == 0, "workers: a removed worker's heartbeat: 0");
}

/* st_host_slot_take / _give / st_host_limits_put on one handle: at most cap
 * live slots per host, the lowest free number first, another holder's slot
 * given back by nobody else, an expired slot free again, limits shared and
 * only lowered. */
static void test_host_gate(st_store *s)
{
    const char *h = "192.0.2.25", *other = "2001:db8::25";
    int slot = -9, got[3] = { -1, -1, -1 };
    st_host_limits lim;
    CHECK(st_host_slot_take(s, h, 3, "w_a", 60000, &got[0], &lim) == 1 && got[0] == 0 &&
              lim.rcpts_per_connection == 0 && lim.rcpts_per_transaction == 0,
          "gate: the first slot of a host is 0, no limits known (%d)", got[0]);
    CHECK(st_host_slot_take(s, h, 3, "w_b", 60000, &got[1], &lim) == 1 && got[1] == 1 &&
              st_host_slot_take(s, h, 3, "w_a", 60000, &got[2], &lim) == 1 && got[2] == 2,
          "gate: two more for two holders: 1 and 2 (%d %d)", got[1], got[2]);
    CHECK(st_host_slot_take(s, h, 3, "w_c", 60000, &slot, &lim) == 0 && slot == -1,
          "gate: a fourth with cap 3: 0, none taken (%d)", slot);
    CHECK(st_host_slot_take(s, h, 2, "w_c", 60000, &slot, &lim) == 0, "gate: with cap 2 neither");
    CHECK(st_host_slot_take(s, other, 3, "w_c", 60000, &slot, &lim) == 1 && slot == 0,
          "gate: another host has its own slots (%d)", slot);
    CHECK(st_host_slot_give(s, h, 1, "w_a") == 0 && st_host_slot_take(s, h, 3, "w_c", 60000, &slot, &lim) == 0,
          "gate: a slot given back by a holder that does not hold it stays taken");
    CHECK(st_host_slot_give(s, h, 1, "w_b") == 0 && st_host_slot_take(s, h, 3, "w_c", 60000, &slot, &lim) == 1 &&
              slot == 1,
          "gate: given back by its holder, it is free again (%d)", slot);
    CHECK(st_host_slot_take(s, h, 4, "w_d", 1, &slot, &lim) == 1 && slot == 3,
          "gate: a taker with cap 4 gets slot 3 (%d)", slot);
    struct timespec nap = { 0, 20 * 1000 * 1000 };
    nanosleep(&nap, NULL);
    CHECK(st_host_slot_take(s, h, 4, "w_e", 60000, &slot, &lim) == 1 && slot == 3,
          "gate: a slot held past its time is free again (%d)", slot);
    CHECK(st_host_slot_take(s, "", 3, "w_a", 1000, &slot, &lim) == -1 &&
              st_host_slot_take(s, h, 0, "w_a", 1000, &slot, &lim) == -1,
          "gate: no host or a cap of 0: -1");

    st_host_limits l = { .rcpts_per_connection = 40, .rcpts_per_transaction = 0 };
    CHECK(st_host_limits_put(s, h, &l) == 0, "gate: limits: put 40 per connection");
    l = (st_host_limits){ .rcpts_per_connection = 60, .rcpts_per_transaction = 1 };
    CHECK(st_host_limits_put(s, h, &l) == 0, "gate: limits: put 60 and 1 per transaction");
    CHECK(st_host_slot_give(s, h, 0, "w_a") == 0 && st_host_slot_take(s, h, 3, "w_f", 1000, &slot, &lim) == 1 &&
              lim.rcpts_per_connection == 40 && lim.rcpts_per_transaction == 1,
          "gate: the slot comes with the limits, lowered only (%d, %d)", lim.rcpts_per_connection,
          lim.rcpts_per_transaction);
    l = (st_host_limits){ .rcpts_per_connection = 0, .rcpts_per_transaction = 0 };
    CHECK(st_host_limits_put(s, h, &l) == 0 && st_host_slot_give(s, h, slot, "w_f") == 0 &&
              st_host_slot_take(s, h, 3, "w_f", 1000, &slot, &lim) == 1 && lim.rcpts_per_connection == 40 &&
              lim.rcpts_per_transaction == 1,
          "gate: limits of 0 keep the known ones");
    for (int i = 0; i < 4; i++) {
        st_host_slot_give(s, h, i, "w_a");
        st_host_slot_give(s, h, i, "w_c");
        st_host_slot_give(s, h, i, "w_e");
        st_host_slot_give(s, h, i, "w_f");
    }
    st_host_slot_give(s, other, 0, "w_c");
}

/* Every check of one backend: s and other are two handles on one fresh
 * store; job_id gets the id of a job left in it. */
static void run_checks(st_store *s, st_store *other, char job_id[ST_JOB_ID_LEN + 1], const raw_db *raw)
{
    test_keys(s, other);
    test_jobs(s, job_id);
    test_cache(s);
    test_threads(s);
    test_rows_bulk(s, raw->dir == NULL);
    test_rows_lease(s);
    test_rows_weight(s);
    test_rows_exclusive(s);
    test_domain_facts(s);
    test_host_gate(s);
    test_rows_politeness(s);
    test_rows_summary(s, raw);
    test_workers(s);
    CHECK(st_store_error(s) != NULL, "an error message is always available");
}

/* After run_checks and a reopen: what must have persisted. */
static void check_persisted(st_store *s, const char *job_id)
{
    CHECK(st_key_count(s) == 2, "keys persist");
    st_job g;
    CHECK(st_job_get(s, job_id, &g) == 1 && g.processed == 10, "jobs persist");
    st_job_clear(&g);
    CHECK(st_usage_add(s, "nobody", "2026-11-29", 0) == 0, "usage of an unknown key is 0");
}

/* Text that is not UTF-8 (a key name, a job name from a query string) is
 * stored on both backends (PostgreSQL gets U+FFFD for each bad byte). */
static void test_bad_utf8(st_store *s)
{
    char err[256] = "", secret[ST_KEY_SECRET_LEN + 1];
    st_key k, f;
    CHECK(st_key_create(s, "caf\xe9 \xff", 0, 0, secret, &k, err, sizeof err) == 0,
          "a key name that is not UTF-8 is stored (%s)", err);
    CHECK(st_key_find(s, secret, strlen(secret), &f) == 1 && strncmp(f.name, "caf", 3) == 0, "and read back: '%s'",
          f.name);
    st_job j;
    memset(&j, 0, sizeof j);
    CHECK(st_job_new_id(j.id) == 0, "job id");
    j.name = "list \xc3\x28.csv";
    j.error = "bad \xed\xa0\x80 surrogate";
    j.created_at = 5;
    snprintf(j.format, sizeof j.format, "csv");
    CHECK(st_job_insert(s, &j) == 0, "a job whose name and error are not UTF-8 is stored");
    st_job g;
    CHECK(st_job_get(s, j.id, &g) == 1 && g.name && strncmp(g.name, "list ", 5) == 0 && g.error &&
              strstr(g.error, "surrogate"),
          "and read back");
    st_job_clear(&g);
    CHECK(st_job_delete(s, j.id) == 1, "and deleted");
}

static void test_mask(void)
{
    char out[256];
    st_store_mask_url("postgres://bc:s3cret@db.example.com:5432/bc", out, sizeof out);
    CHECK_STR(out, "postgres://bc:***@db.example.com:5432/bc", "the password of the user part is masked");
    st_store_mask_url("postgresql://bc@db/bc?sslmode=require&password=s3cret&x=1", out, sizeof out);
    CHECK_STR(out, "postgresql://bc@db/bc?sslmode=require&password=***&x=1", "a password= parameter is masked");
    st_store_mask_url("postgres://a:b:c@h/db", out, sizeof out);
    CHECK_STR(out, "postgres://a:***@h/db", "everything after the user's colon is masked");
    st_store_mask_url("postgres://u:p@ss@h/db", out, sizeof out);
    CHECK_STR(out, "postgres://u:***@h/db", "up to the last @ of the host part");
    st_store_mask_url("postgres://h/db", out, sizeof out);
    CHECK_STR(out, "postgres://h/db", "a URL without a password is unchanged");
    st_store_mask_url("postgres://u:secretsecret@h/db", out, 16);
    CHECK(strstr(out, "secret") == NULL && strlen(out) == 15, "truncation never shows the password: %s", out);
    CHECK(st_store_is_pg("postgres://h/db") && st_store_is_pg("postgresql://h/db") && !st_store_is_pg("") &&
              !st_store_is_pg(NULL) && !st_store_is_pg("/var/lib/bc"),
          "st_store_is_pg");
}

/* ---- concurrency on PostgreSQL ----------------------------------------------------------- */

#define CONC_N 20000
#define CONC_D 40
#define CONC_P 4

/* A child: claims and completes rows until none is left, writing "row"
 * lines for each row it claimed to log. Exit status 0 when every claim was
 * of one domain and every result written. */
static int conc_child(const char *url, int k, const char *log)
{
    char err[512], worker[32];
    st_store *s = NULL;
    if (st_store_open_db(&s, url, NULL, err, sizeof err) != 0)
        return 10;
    FILE *fp = fopen(log, "w");
    if (!fp)
        return 11;
    snprintf(worker, sizeof worker, "w_conc%d", k);
    int bad = 0;
    for (;;) {
        st_claim c;
        int r = st_rows_claim(s, worker, 50, 60000, now_ms(), &c);
        if (r != 1) {
            bad += r != 0;
            break;
        }
        size_t dl = strlen(c.domain);
        st_row_result *res = calloc(c.n, sizeof *res);
        char json[64];
        snprintf(json, sizeof json, "{\"claim\":\"%s\"}", c.id);
        for (size_t i = 0; res && i < c.n; i++) {
            size_t al = strlen(c.rows[i].addr);
            if (al <= dl || c.rows[i].addr[al - dl - 1] != '@' || strcmp(c.rows[i].addr + al - dl, c.domain) != 0)
                bad++;
            fprintf(fp, "%lld\n", (long long)c.rows[i].row);
            res[i] = (st_row_result){ .row = c.rows[i].row, .status = 1, .json = json };
        }
        if (!res || st_rows_result_batch(s, c.id, res, c.n, NULL) != (int64_t)c.n)
            bad++;
        free(res);
        st_claim_clear(&c);
    }
    fclose(fp);
    st_store_close(s);
    return bad ? 1 : 0;
}

/* 4 processes, each with its own connection, claim and complete 20,000
 * rows at once. */
static void test_rows_concurrent(const char *url, const char *base)
{
    char err[512] = "", job[ST_JOB_ID_LEN + 1];
    st_store *s = NULL;
    CHECK(st_store_open_db(&s, url, NULL, err, sizeof err) == 0, "conc: open (%s)", err);
    if (!s)
        return;
    CHECK(rows_job(s, "concurrent", 4000, ST_JOB_QUEUED, job), "conc: a job");
    st_row_in *rows = calloc(CONC_N, sizeof *rows);
    char(*addr)[48] = calloc(CONC_N, sizeof *addr);
    int *seen = calloc(CONC_N + 1, sizeof *seen);
    if (!rows || !addr || !seen) {
        CHECK(0, "conc: memory");
        goto out;
    }
    for (int i = 0; i < CONC_N; i++) {
        snprintf(addr[i], sizeof addr[i], "c%d@c%02d.example", i + 1, i % CONC_D);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i] };
    }
    CHECK(st_rows_add(s, job, rows, CONC_N, err, sizeof err) == CONC_N, "conc: 20,000 rows added (%s)", err);
    st_store_close(s); /* the children must not share its connection */
    s = NULL;

    fflush(stdout);
    pid_t pids[CONC_P];
    char logs[CONC_P][600];
    for (int k = 0; k < CONC_P; k++) {
        snprintf(logs[k], sizeof logs[k], "%s/conc%d.log", base, k);
        pids[k] = fork();
        if (pids[k] == 0)
            _exit(conc_child(url, k, logs[k]));
    }
    int ok_children = 0;
    for (int k = 0; k < CONC_P; k++) {
        int st = 0;
        if (pids[k] > 0 && waitpid(pids[k], &st, 0) == pids[k] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok_children++;
        else
            tap_diag("conc: child %d: status %d", k, st);
    }
    CHECK(ok_children == CONC_P,
          "conc: 4 processes claimed and completed rows, each claim of one domain, "
          "every result written (%d ok)",
          ok_children);
    int64_t total = 0;
    int per_child[CONC_P] = { 0 };
    for (int k = 0; k < CONC_P; k++) {
        FILE *fp = fopen(logs[k], "r");
        long long r;
        while (fp && fscanf(fp, "%lld", &r) == 1) {
            if (r >= 1 && r <= CONC_N)
                seen[r]++;
            per_child[k]++;
            total++;
        }
        if (fp)
            fclose(fp);
    }
    int once = 0;
    for (int i = 1; i <= CONC_N; i++)
        once += seen[i] == 1;
    CHECK(once == CONC_N && total == CONC_N, "conc: every row claimed exactly once (%d once, %lld claims)", once,
          (long long)total);
    int working = 0;
    for (int k = 0; k < CONC_P; k++)
        working += per_child[k] > 0;
    tap_diag("conc: rows per process: %d %d %d %d", per_child[0], per_child[1], per_child[2], per_child[3]);
    CHECK(working == CONC_P, "conc: all 4 processes got rows");

    CHECK(st_store_open_db(&s, url, NULL, err, sizeof err) == 0, "conc: reopen (%s)", err);
    if (!s)
        goto out;
    st_row_counts rc;
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == CONC_N && rc.pending == 0 && rc.claimed == 0 &&
              rc.by_status[1] == CONC_N,
          "conc: 20,000 done");
    const raw_db craw = { .url = url };
    CHECK(summary_drift(&craw) == 0, "conc: job_domains, job_counts and job_claims match job_rows");
    /* In the database: one claim per row (attempts 1), and the result is
     * the one its claim wrote. */
    PGconn *c = PQconnectdb(url);
    const char *pv[1] = { job };
    PGresult *r = PQexecParams(c,
                               "SELECT count(*) FILTER (WHERE attempt = 1"
                               " AND result = '{\"claim\":\"' || claim_id || '\"}'),"
                               " count(*) FROM job_results WHERE job_id = $1",
                               1, NULL, pv, NULL, NULL, 0);
    bool good = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                atoll(PQgetvalue(r, 0, 0)) == CONC_N && atoll(PQgetvalue(r, 0, 1)) == CONC_N;
    CHECK(good, "conc: every row claimed once (attempts 1), its result from the claim that holds it (%s)",
          PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    CHECK(st_job_set_status(s, job, ST_JOB_DONE, 4001, NULL) == 0, "conc: job done");
out:
    st_store_close(s);
    free(rows);
    free(addr);
    free(seen);
}

/* ---- exclusive claims on PostgreSQL: one live claim per domain ----------------------------- */

#define EXCL_D 20  /* domains */
#define EXCL_R 200 /* rows per domain */
#define EXCL_N (EXCL_D * EXCL_R)

/* Monotonic microseconds, comparable between processes of one machine. */
static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A child: claims with ST_CLAIM_EXCLUSIVE until the job has nothing
 * pending or claimed (a round that gets nothing waits a few ms and tries
 * again). For each claim it logs "C domain start end" (monotonic us:
 * start once the claim is made, end before its results are written, so
 * the interval lies within the time the claim holds the domain) and an
 * "R row" line per row. Exit status 0 when every claim was of one domain
 * and every result was written. */
static int excl_child(const char *url, const char *job, int k, const char *log)
{
    char err[512], worker[32];
    st_store *s = NULL;
    if (st_store_open_db(&s, url, NULL, err, sizeof err) != 0)
        return 10;
    FILE *fp = fopen(log, "w");
    if (!fp)
        return 11;
    snprintf(worker, sizeof worker, "w_excl%d", k);
    srand((unsigned)getpid());
    int bad = 0, idle = 0;
    int64_t deadline = mono_us() + 120 * 1000000LL;
    while (bad == 0) {
        st_claim c;
        int r = st_rows_claim_ex(s, worker, 25, 60000, now_ms(), ST_CLAIM_EXCLUSIVE, &c);
        if (r < 0) {
            bad = 1;
            break;
        }
        if (r == 0) {
            st_row_counts rc;
            if (st_rows_counts(s, job, &rc) != 0) {
                bad = 2;
                break;
            }
            if (rc.pending == 0 && rc.claimed == 0)
                break;
            if (mono_us() > deadline) {
                bad = 3;
                break;
            }
            idle++;
            usleep(2000);
            continue;
        }
        int64_t start = mono_us();
        usleep((useconds_t)(1000 + rand() % 4001)); /* holding the domain: 1-5 ms */
        int64_t end = mono_us();
        fprintf(fp, "C %s %lld %lld\n", c.domain, (long long)start, (long long)end);
        size_t dl = strlen(c.domain);
        st_row_result *res = calloc(c.n, sizeof *res);
        for (size_t i = 0; res && i < c.n; i++) {
            size_t al = strlen(c.rows[i].addr);
            if (al <= dl || c.rows[i].addr[al - dl - 1] != '@' || strcmp(c.rows[i].addr + al - dl, c.domain) != 0)
                bad = 4;
            fprintf(fp, "R %lld\n", (long long)c.rows[i].row);
            res[i] = (st_row_result){ .row = c.rows[i].row, .status = 2, .json = "{}" };
        }
        if (!res || st_rows_result_batch(s, c.id, res, c.n, NULL) != (int64_t)c.n)
            bad = 5;
        free(res);
        st_claim_clear(&c);
    }
    fprintf(fp, "I %d\n", idle);
    fclose(fp);
    st_store_close(s);
    return bad;
}

/* One claim as a child logged it: its politeness key (the domain's
 * number, or its MX host's) and when it held it. */
typedef struct excl_claim {
    int key;
    long long start, end;
} excl_claim;

static int cmp_excl_claim(const void *a, const void *b)
{
    const excl_claim *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* 4 processes, each with its own connection, claim one job's 4,000 rows
 * of 20 domains (LETTER00.example to LETTER19.example) with
 * ST_CLAIM_EXCLUSIVE: no two claims of one politeness key overlap in time,
 * every row is done exactly once. groups 0: every domain is its own key;
 * else domain d's facts name MX host mxG.LETTER.example, G = d / (20 /
 * groups): neighbours in the order of claims share a host, and the groups
 * are the keys. */
static void test_rows_exclusive_concurrent(const char *url, const char *base, char letter, int groups)
{
    char err[512] = "", job[ST_JOB_ID_LEN + 1];
    const char *tag = groups ? "xmx" : "xconc";
    st_store *s = NULL;
    CHECK(st_store_open_db(&s, url, NULL, err, sizeof err) == 0, "%s: open (%s)", tag, err);
    if (!s)
        return;
    CHECK(rows_job(s, "exclusive", 5000 + groups, ST_JOB_QUEUED, job), "%s: a job", tag);
    bool put = true;
    for (int d = 0; d < EXCL_D && groups > 0; d++) {
        char domain[32];
        st_domain_facts f = { .accept_all = -1 };
        snprintf(domain, sizeof domain, "%c%02d.example", letter, d);
        snprintf(f.mx_host, sizeof f.mx_host, "MX%d.%c.example", d / (EXCL_D / groups), letter);
        put = put && st_domain_facts_put(s, domain, &f) == 0;
    }
    if (groups > 0)
        CHECK(put, "%s: the facts of 20 domains name %d MX hosts", tag, groups);
    st_row_in *rows = calloc(EXCL_N, sizeof *rows);
    char(*addr)[48] = calloc(EXCL_N, sizeof *addr);
    int *seen = calloc(EXCL_N + 1, sizeof *seen);
    excl_claim *claims = NULL;
    size_t nclaims = 0, capclaims = 0;
    if (!rows || !addr || !seen) {
        CHECK(0, "%s: memory", tag);
        goto out;
    }
    for (int i = 0; i < EXCL_N; i++) {
        snprintf(addr[i], sizeof addr[i], "x%d@%c%02d.example", i + 1, letter, i % EXCL_D);
        rows[i] = (st_row_in){ .row = i + 1, .addr = addr[i] };
    }
    CHECK(st_rows_add(s, job, rows, EXCL_N, err, sizeof err) == EXCL_N, "%s: 4,000 rows of 20 domains (%s)", tag,
          err);
    st_store_close(s);
    s = NULL;

    fflush(stdout);
    pid_t pids[CONC_P];
    char logs[CONC_P][600];
    for (int k = 0; k < CONC_P; k++) {
        snprintf(logs[k], sizeof logs[k], "%s/%s%d.log", base, tag, k);
        pids[k] = fork();
        if (pids[k] == 0)
            _exit(excl_child(url, job, k, logs[k]));
    }
    int ok_children = 0;
    for (int k = 0; k < CONC_P; k++) {
        int st = 0;
        if (pids[k] > 0 && waitpid(pids[k], &st, 0) == pids[k] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok_children++;
        else
            tap_diag("%s: child %d: status %d", tag, k, st);
    }
    CHECK(ok_children == CONC_P,
          "%s: 4 processes claimed exclusively until nothing was left, each claim of "
          "one domain, every result written (%d ok)",
          tag, ok_children);
    int64_t total = 0;
    int per_child[CONC_P] = { 0 }, idle[CONC_P] = { 0 };
    bool parsed = true;
    for (int k = 0; k < CONC_P; k++) {
        FILE *fp = fopen(logs[k], "r");
        char line[200];
        while (fp && fgets(line, sizeof line, fp)) {
            long long r, a, b;
            int d, i;
            char l;
            if (sscanf(line, "R %lld", &r) == 1) {
                if (r >= 1 && r <= EXCL_N)
                    seen[r]++;
                total++;
            } else if (sscanf(line, "C %c%d.example %lld %lld", &l, &d, &a, &b) == 4 && l == letter && d >= 0 &&
                       d < EXCL_D) {
                if (nclaims == capclaims) {
                    size_t ncap = capclaims ? capclaims * 2 : 256;
                    excl_claim *p = realloc(claims, ncap * sizeof *p);
                    if (!p) {
                        parsed = false;
                        break;
                    }
                    claims = p;
                    capclaims = ncap;
                }
                claims[nclaims++] =
                    (excl_claim){ .key = groups ? d / (EXCL_D / groups) : d, .start = a, .end = b };
                per_child[k]++;
            } else if (sscanf(line, "I %d", &i) == 1) {
                idle[k] = i;
            } else {
                parsed = false;
            }
        }
        if (fp)
            fclose(fp);
        else
            parsed = false;
    }
    CHECK(parsed, "%s: the logs are read", tag);
    int once = 0;
    for (int i = 1; i <= EXCL_N; i++)
        once += seen[i] == 1;
    CHECK(once == EXCL_N && total == EXCL_N, "%s: every row claimed exactly once (%d once, %lld claimed)", tag,
          once, (long long)total);
    /* per key, in order of start: each claim ends before the next starts */
    qsort(claims, nclaims, sizeof *claims, cmp_excl_claim);
    int overlaps = 0, keys = 0;
    for (size_t i = 0; i < nclaims; i++) {
        if (i == 0 || claims[i].key != claims[i - 1].key) {
            keys++;
        } else if (claims[i].start < claims[i - 1].end) {
            if (overlaps++ < 5)
                tap_diag("%s: key %d: a claim from %lld to %lld, the next from %lld", tag, claims[i].key,
                         claims[i - 1].start, claims[i - 1].end, claims[i].start);
        }
    }
    tap_diag("%s: %zu claims; per process %d %d %d %d; rounds without a claim %d %d %d %d", tag, nclaims,
             per_child[0], per_child[1], per_child[2], per_child[3], idle[0], idle[1], idle[2], idle[3]);
    CHECK(nclaims >= EXCL_N / 25 && keys == (groups ? groups : EXCL_D) && overlaps == 0,
          "%s: no two claims of one %s overlap in time (%zu claims over %d keys, %d overlaps)", tag,
          groups ? "MX host" : "domain", nclaims, keys, overlaps);
    int working = 0;
    for (int k = 0; k < CONC_P; k++)
        working += per_child[k] > 0;
    CHECK(working == CONC_P, "%s: all 4 processes got claims", tag);

    CHECK(st_store_open_db(&s, url, NULL, err, sizeof err) == 0, "%s: reopen (%s)", tag, err);
    if (!s)
        goto out;
    st_row_counts rc;
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.done == EXCL_N && rc.pending == 0 && rc.claimed == 0 &&
              rc.by_status[2] == EXCL_N,
          "%s: 4,000 done", tag);
    PGconn *pc = PQconnectdb(url);
    const char *pv[1] = { job };
    PGresult *r = PQexecParams(pc,
                               "SELECT count(*) FILTER (WHERE attempt = 1), count(*) FROM job_results"
                               " WHERE job_id = $1",
                               1, NULL, pv, NULL, NULL, 0);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && atoll(PQgetvalue(r, 0, 0)) == EXCL_N &&
              atoll(PQgetvalue(r, 0, 1)) == EXCL_N,
          "%s: every row claimed once in the database (attempts 1)", tag);
    PQclear(r);
    PQfinish(pc);
    const raw_db xraw = { .url = url };
    CHECK(summary_drift(&xraw) == 0, "%s: job_domains, job_counts and job_claims match job_rows", tag);
    CHECK(st_job_set_status(s, job, ST_JOB_DONE, 5001, NULL) == 0, "%s: job done", tag);
out:
    st_store_close(s);
    free(claims);
    free(rows);
    free(addr);
    free(seen);
}

/* ---- migrations 2 -> 4 and 3 -> 4 (SQLite; PostgreSQL's are in test_store_pg.sh) ------- */

/* The tables of schema version 2, as that bouncecheck made them, with a
 * key and a job. */
static const char sqlite_v2[] =
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "INSERT INTO meta(k, v) VALUES ('schema_version', 2);"
    "CREATE TABLE keys(id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, name TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL, revoked_at INTEGER NOT NULL DEFAULT 0, rate REAL NOT NULL DEFAULT 0,"
    " daily INTEGER NOT NULL DEFAULT 0, admin INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE usage(key_id TEXT NOT NULL, day TEXT NOT NULL, n INTEGER NOT NULL,"
    " PRIMARY KEY(key_id, day)) WITHOUT ROWID;"
    "CREATE TABLE jobs(id TEXT PRIMARY KEY, key_id TEXT NOT NULL DEFAULT '', name TEXT,"
    " status INTEGER NOT NULL, total INTEGER NOT NULL DEFAULT 0, processed INTEGER NOT NULL DEFAULT 0,"
    " n_unknown INTEGER NOT NULL DEFAULT 0, n_deliverable INTEGER NOT NULL DEFAULT 0,"
    " n_undeliverable INTEGER NOT NULL DEFAULT 0, n_risky INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0, error TEXT, webhook TEXT,"
    " webhook_state INTEGER NOT NULL DEFAULT 0, format TEXT NOT NULL DEFAULT 'csv',"
    " reasons TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE cache(addr TEXT PRIMARY KEY, json TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO keys(id, hash, name, created_at, admin) VALUES ('k_0123456789ab', x'00', 'old', 1700000000, 1);"
    "INSERT INTO jobs(id, key_id, name, status, total, processed, created_at, reasons) VALUES"
    " ('0123456789abcdef0123456789abcdef', 'k_0123456789ab', 'old job', 1, 3, 2, 1700000000,"
    " '{\"ok\":2}');";

/* What schema version 3 added to them (job_rows, workers), with 3 rows of
 * the job (one done) and the version set to 3. */
static const char sqlite_v3[] =
    "UPDATE meta SET v = 3 WHERE k = 'schema_version';"
    "CREATE TABLE job_rows(job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, row_no INTEGER NOT NULL,"
    " addr TEXT NOT NULL, domain TEXT NOT NULL, fields BLOB, state INTEGER NOT NULL DEFAULT 0, claim_id TEXT,"
    " holder TEXT, lease_until INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, status INTEGER,"
    " reason TEXT, result TEXT, PRIMARY KEY(job_id, row_no)) WITHOUT ROWID;"
    "CREATE INDEX job_rows_claim ON job_rows(job_id, state, domain);"
    "CREATE INDEX job_rows_domain ON job_rows(domain, state);"
    "CREATE INDEX job_rows_claim_id ON job_rows(claim_id);"
    "CREATE TABLE workers(id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '',"
    " addrs TEXT NOT NULL DEFAULT '', started_at INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO job_rows(job_id, row_no, addr, domain) VALUES"
    " ('0123456789abcdef0123456789abcdef', 1, 'a@b.example', 'b.example'),"
    " ('0123456789abcdef0123456789abcdef', 2, 'c@b.example', 'b.example');"
    "INSERT INTO job_rows(job_id, row_no, addr, domain, state, claim_id, status, result) VALUES"
    " ('0123456789abcdef0123456789abcdef', 3, 'd@b.example', 'b.example', 2, 'c0', 1, '{}');";

/* Makes base/name/bouncecheck.db from the SQL texts a and b (b may be
 * NULL); its directory into dir. true when done. */
static bool sqlite_made(const char *base, const char *name, const char *a, const char *b, char *dir, size_t dirlen)
{
    char db[700];
    snprintf(dir, dirlen, "%s/%s", base, name);
    snprintf(db, sizeof db, "%s/bouncecheck.db", dir);
    mkdir(dir, 0700);
    sqlite3 *h = NULL;
    bool ok = sqlite3_open(db, &h) == SQLITE_OK && sqlite3_exec(h, a, NULL, NULL, NULL) == SQLITE_OK &&
              (!b || sqlite3_exec(h, b, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    return ok;
}

/* The first column of the first row of sql on dir's database as an
 * integer, or -1. */
static int64_t sqlite_number(const char *dir, const char *sql)
{
    char db[700];
    snprintf(db, sizeof db, "%s/bouncecheck.db", dir);
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL;
    int64_t v = -1;
    if (sqlite3_open(db, &h) == SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
    return v;
}

static void test_sqlite_migrate(const char *base)
{
    char dir[600], err[512] = "";
    CHECK(sqlite_made(base, "v2", sqlite_v2, NULL, dir, sizeof dir), "migrate: a version 2 store made by hand");
    st_store *s = NULL;
    CHECK(st_store_open(&s, dir, err, sizeof err) == 0 && s, "migrate: it opens (%s)", err);
    if (!s)
        return;
    st_key *keys = NULL;
    size_t n = 0;
    CHECK(st_key_list(s, &keys, &n) == 0 && n == 1 && strcmp(keys[0].id, "k_0123456789ab") == 0 && keys[0].admin,
          "migrate: its key is kept");
    free(keys);
    st_job g;
    CHECK(st_job_get(s, "0123456789abcdef0123456789abcdef", &g) == 1 && g.processed == 2 && g.reasons &&
              strcmp(g.reasons, "{\"ok\":2}") == 0,
          "migrate: its job is kept");
    st_job_clear(&g);
    st_row_in row = { .row = 1, .addr = "a@b.example" };
    CHECK(st_rows_add(s, "0123456789abcdef0123456789abcdef", &row, 1, err, sizeof err) == 1,
          "migrate: rows can be added to it (%s)", err);
    st_store_close(s);
    int64_t v = sqlite_number(dir, "SELECT v FROM meta WHERE k = 'schema_version'");
    CHECK(v == ST_SCHEMA_VERSION, "migrate: the store is at schema version %d (%lld)", ST_SCHEMA_VERSION,
          (long long)v);
}

/* A version 3 store (job rows without weights) opens, migrated to 4: its
 * rows weigh 1 each. */
static void test_sqlite_migrate3(const char *base)
{
    char dir[600], err[512] = "";
    const char *job = "0123456789abcdef0123456789abcdef";
    CHECK(sqlite_made(base, "v3", sqlite_v2, sqlite_v3, dir, sizeof dir),
          "migrate 3: a version 3 store with 3 job rows made by hand");
    st_store *s = NULL;
    CHECK(st_store_open(&s, dir, err, sizeof err) == 0 && s, "migrate 3: it opens (%s)", err);
    if (!s)
        return;
    st_row_counts rc;
    CHECK(st_rows_counts(s, job, &rc) == 0 && rc.pending == 2 && rc.claimed == 0 && rc.done == 1 &&
              rc.by_status[1] == 1,
          "migrate 3: its rows count 1 each: 2 pending, 1 done");
    st_row_in row = { .row = 4, .addr = "e@b.example", .weight = 4 };
    CHECK(st_rows_add(s, job, &row, 1, err, sizeof err) == 1 && st_rows_counts(s, job, &rc) == 0 &&
              rc.pending == 6,
          "migrate 3: a row of weight 4 added: 6 pending (%s)", err);
    st_claim c;
    CHECK(st_rows_claim_ex(s, "w_mig", 10, 1000, T0, ST_CLAIM_EXCLUSIVE, &c) == 1 && c.n == 3,
          "migrate 3: an exclusive claim of its 3 pending rows");
    st_claim_info *ci = NULL;
    size_t n = 0;
    CHECK(st_claims_list(s, T0, &ci, &n) == 0 && n == 1 && ci[0].rows == 3 && strcmp(ci[0].holder, "w_mig") == 0,
          "migrate 3: listed as a live claim");
    free(ci);
    st_claim_clear(&c);
    st_store_close(s);
    int64_t v = sqlite_number(dir, "SELECT v FROM meta WHERE k = 'schema_version'");
    CHECK(v == ST_SCHEMA_VERSION, "migrate 3: the store is at schema version %d (%lld)", ST_SCHEMA_VERSION,
          (long long)v);
    v = sqlite_number(dir, "SELECT count(*) FROM job_rows WHERE weight = 1 AND row_no <= 3");
    CHECK(v == 3, "migrate 3: its old rows have weight 1 (%lld)", (long long)v);
    v = sqlite_number(dir, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'job_rows_live'");
    CHECK(v == 1, "migrate 3: the live claims' index is made");
    v = sqlite_number(dir, "SELECT open_rows FROM job_domains WHERE job_id = '0123456789abcdef0123456789abcdef'"
                           " AND domain = 'b.example'");
    CHECK(v == 3, "migrate 3: job_domains is filled from its rows: b.example 2 open + 1 added (%lld)",
          (long long)v);
}

/* The host gate over processes: GATE_P children, each with its own
 * connection, take and give slots of one host with cap GATE_CAP as fast as
 * they can, counting the slots held at once in shared memory: never more
 * than the cap, and the cap reached. */
#define GATE_P 6
#define GATE_CAP 3
#define GATE_ROUNDS 150

typedef struct gate_shared {
    atomic_int now, peak, taken, errors;
} gate_shared;

static int gate_child(const char *url, const char *dir, int k, gate_shared *g)
{
    char err[512], holder[32];
    st_store *s = NULL;
    if (st_store_open_db(&s, url, dir, err, sizeof err) != 0)
        return 2;
    snprintf(holder, sizeof holder, "w_gate%d", k);
    struct timespec hold = { 0, 2 * 1000 * 1000 }, wait = { 0, 200 * 1000 };
    for (int i = 0; i < GATE_ROUNDS; i++) {
        int slot;
        st_host_limits lim;
        int rc = st_host_slot_take(s, "198.51.100.7", GATE_CAP, holder, 30000, &slot, &lim);
        if (rc < 0)
            atomic_fetch_add(&g->errors, 1);
        if (rc != 1) {
            nanosleep(&wait, NULL);
            continue;
        }
        int n = atomic_fetch_add(&g->now, 1) + 1;
        int p = atomic_load(&g->peak);
        while (n > p && !atomic_compare_exchange_weak(&g->peak, &p, n)) {
        }
        atomic_fetch_add(&g->taken, 1);
        nanosleep(&hold, NULL);
        atomic_fetch_sub(&g->now, 1); /* before giving it back */
        if (st_host_slot_give(s, "198.51.100.7", slot, holder) != 0)
            atomic_fetch_add(&g->errors, 1);
    }
    st_store_close(s);
    return 0;
}

static void test_host_gate_concurrent(const char *what, const char *url, const char *dir)
{
    gate_shared *g = mmap(NULL, sizeof *g, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (g == MAP_FAILED) {
        CHECK(0, "%s gate: shared memory", what);
        return;
    }
    memset(g, 0, sizeof *g);
    fflush(stdout);
    pid_t pids[GATE_P];
    for (int k = 0; k < GATE_P; k++) {
        pids[k] = fork();
        if (pids[k] == 0)
            _exit(gate_child(url, dir, k, g));
    }
    int ok = 0;
    for (int k = 0; k < GATE_P; k++) {
        int st = 0;
        if (pids[k] > 0 && waitpid(pids[k], &st, 0) == pids[k] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    CHECK(ok == GATE_P, "%s gate: %d processes ran (%d ok)", what, GATE_P, ok);
    /* never over the cap; at least two at once, or the processes did not
     * overlap and the check proved nothing (the cap itself is not always
     * reached on a slow build, e.g. under ThreadSanitizer) */
    CHECK(atomic_load(&g->peak) >= 2 && atomic_load(&g->peak) <= GATE_CAP && atomic_load(&g->taken) > GATE_P,
          "%s gate: %d processes held at most %d slots at once (the cap %d; %d taken, %d store errors)", what,
          GATE_P, atomic_load(&g->peak), GATE_CAP, atomic_load(&g->taken), atomic_load(&g->errors));
    munmap(g, sizeof *g);
}

static void sqlite_suite(const char *base)
{
    char dir[512], db[600];
    snprintf(dir, sizeof dir, "%s/data", base);
    snprintf(db, sizeof db, "%s/bouncecheck.db", dir);

    char err[512] = "";
    st_store *s = NULL, *other = NULL;
    CHECK(st_store_open(&s, dir, err, sizeof err) == 0 && s, "open creates the store (%s)", err);
    if (!s)
        return;
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "DIR is created with mode 0700");
    CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the db file has mode 0600 (%o)",
          (unsigned)(sb.st_mode & 0777));
    CHECK(st_store_open_db(&other, "", dir, err, sizeof err) == 0 && other,
          "a second connection, through st_store_open_db with db \"\" (%s)", err);
    if (!other) {
        st_store_close(s);
        return;
    }

    char job_id[ST_JOB_ID_LEN + 1] = "";
    raw_db raw = { .dir = dir };
    run_checks(s, other, job_id, &raw);

    st_store_close(other);
    st_store_close(s);
    st_store_close(NULL);

    /* Everything persists across a reopen. */
    s = NULL;
    CHECK(st_store_open_db(&s, NULL, dir, err, sizeof err) == 0 && s, "reopen (%s)", err);
    if (s) {
        check_persisted(s, job_id);
        test_bad_utf8(s);
        st_store_close(s);
    }

    /* Errors name the directory. */
    char file[600];
    snprintf(file, sizeof file, "%s/plainfile", base);
    FILE *fp = fopen(file, "w");
    if (fp)
        fclose(fp);
    s = NULL;
    err[0] = '\0';
    CHECK(st_store_open(&s, file, err, sizeof err) == -1 && s == NULL && strstr(err, file),
          "a file as DIR is refused, naming it: %s", err);
    char deep[700];
    snprintf(deep, sizeof deep, "%s/no/such/dir", base);
    err[0] = '\0';
    CHECK(st_store_open(&s, deep, err, sizeof err) == -1 && strstr(err, deep),
          "a missing parent is refused, naming DIR: %s", err);
    err[0] = '\0';
    CHECK(st_store_open_db(&s, "mysql://u:hunter2@h/db", dir, err, sizeof err) == -1 && s == NULL &&
              strstr(err, "postgres://") && !strstr(err, "hunter2"),
          "an unknown scheme is refused, password masked: %s", err);
}

/* url with its password (user part) replaced by pw, into out. false when
 * url has no user:password@. */
static bool with_password(const char *url, const char *pw, char *out, size_t outlen)
{
    const char *auth = strstr(url, "://");
    const char *at = auth ? strchr(auth + 3, '@') : NULL;
    const char *colon = auth && at ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
    if (!colon)
        return false;
    int n = snprintf(out, outlen, "%.*s%s%s", (int)(colon + 1 - url), url, pw, at);
    return n > 0 && (size_t)n < outlen;
}

/* The password of url's user part (into out), or "". */
static void password_of(const char *url, char *out, size_t outlen)
{
    const char *auth = strstr(url, "://");
    const char *at = auth ? strchr(auth + 3, '@') : NULL;
    const char *colon = auth && at ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
    snprintf(out, outlen, "%.*s", colon ? (int)(at - colon - 1) : 0, colon ? colon + 1 : "");
}

/* Terminates the backends of every store connection (application_name
 * bouncecheck) and waits for them to end; how many, or -1. */
static int terminate_store_connections(const char *url)
{
    PGconn *c = PQconnectdb(url);
    int n = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity"
                                " WHERE application_name = 'bouncecheck' AND pid <> pg_backend_pid()");
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            n = atoi(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    PQfinish(c);
    return n;
}

static void pg_suite(const char *url)
{
    tap_diag("PostgreSQL: the same checks");
    char err[512] = "", pw[128];
    password_of(url, pw, sizeof pw);
    st_store *s = NULL, *other = NULL;
    CHECK(st_store_open_db(&s, url, NULL, err, sizeof err) == 0 && s, "pg: open creates the schema (%s)", err);
    if (!s)
        return;
    CHECK(st_store_open_db(&other, url, NULL, err, sizeof err) == 0 && other, "pg: a second connection (%s)", err);
    if (!other) {
        st_store_close(s);
        return;
    }
    CHECK(st_store_version(s) > 0, "pg: the version is positive (the server takes 0 as never read)");

    char job_id[ST_JOB_ID_LEN + 1] = "";
    raw_db raw = { .url = url };
    run_checks(s, other, job_id, &raw);

    st_store_close(other);
    st_store_close(s);

    s = NULL;
    CHECK(st_store_open_db(&s, url, "/nonexistent", err, sizeof err) == 0 && s, "pg: reopen (%s)", err);
    if (s) {
        check_persisted(s, job_id);
        test_bad_utf8(s);
        /* The server drops the connection: a read is retried on a new one;
         * an increment fails (it may have counted) and the next call reconnects. */
        CHECK(terminate_store_connections(url) == 1, "pg: the store's connection is terminated");
        CHECK(st_key_count(s) == 3, "pg: a read after that reconnects and succeeds at once");
        CHECK(terminate_store_connections(url) == 1, "pg: terminated again");
        CHECK(st_usage_add(s, "k_reconnect00", "2026-11-29", 1) == -1, "pg: an increment is not retried: -1");
        CHECK(st_usage_add(s, "k_reconnect00", "2026-11-29", 1) == 1, "pg: the next one reconnects, counted once");
        st_store_close(s);
    }

    /* Errors never show the password. */
    char bad[1024];
    s = NULL;
    err[0] = '\0';
    if (with_password(url, "wrong-pw-4711", bad, sizeof bad))
        CHECK(st_store_open_db(&s, bad, NULL, err, sizeof err) == -1 && s == NULL && err[0] &&
                  !strstr(err, "wrong-pw-4711") && strstr(err, "***"),
              "pg: a wrong password is refused, masked: %s", err);
    else
        CHECK(0, "pg: BC_PG_URL has a user:password@ part");
    /* libpq quotes a badly encoded URI part in its message */
    err[0] = '\0';
    CHECK(st_store_open_db(&s, "postgresql://u:pw%zz4711@127.0.0.1:1/x", NULL, err, sizeof err) == -1 && err[0] &&
              !strstr(err, "pw%zz4711"),
          "pg: a malformed URL is refused, its password masked: %s", err);
    const char *slash = strrchr(url, '/');
    if (slash && with_password(url, pw, bad, sizeof bad)) {
        snprintf(bad, sizeof bad, "%.*s/bc_no_such_db", (int)(slash - url), url);
        err[0] = '\0';
        CHECK(st_store_open_db(&s, bad, NULL, err, sizeof err) == -1 && strstr(err, "bc_no_such_db") &&
                  (!pw[0] || !strstr(err, pw)),
              "pg: a missing database is refused, naming it: %s", err);
    }
}

/* Job files and the coordinator's lease (API nodes sharing PostgreSQL);
 * on SQLite the files stay in --data and the lease is always held. */
static void test_job_files(st_store *s, st_store *other, const char *base, bool pg)
{
    char err[512] = "", path[600], back[600];
    st_job j = make_job("", "files", 1000);
    CHECK(st_job_insert(s, &j) == 0, "files: a job (%s)", pg ? "pg" : "sqlite");
    snprintf(path, sizeof path, "%s/file-%c.bin", base, pg ? 'p' : 's');
    snprintf(back, sizeof back, "%s/back-%c.bin", base, pg ? 'p' : 's');
    FILE *f = fopen(path, "wb");
    size_t size = (5u << 19) + 17; /* 2.5 MiB and a bit: three chunks */
    for (size_t i = 0; f && i < size; i++)
        fputc((int)((i * 7 + i / 4093) & 0xff), f);
    if (f)
        fclose(f);
    f = fopen(path, "rb");
    int rc = f ? st_job_file_put(s, j.id, "state", f, err, sizeof err) : -2;
    if (f)
        fclose(f);
    if (!pg) {
        CHECK(rc == -1 && strstr(err, "data directory"), "files: sqlite keeps them in --data (%s)", err);
        CHECK(st_job_coord_take(s, j.id, "w_node1", 1000, T0) == 1 &&
                  st_job_coord_take(s, j.id, "w_node2", 1000, T0) == 1,
              "files: sqlite: the lease is always held");
        CHECK(st_job_files_delete(s, j.id) == 0 && st_job_files_sweep(s, T0) == 0,
              "files: sqlite: none to delete");
        st_job_delete(s, j.id);
        st_job_clear(&j);
        return;
    }
    CHECK(rc == 0, "files: a file of 2.5 MiB stored (%s)", err);
    f = fopen(back, "wb");
    rc = f ? st_job_file_get(other, j.id, "state", f, err, sizeof err) : -2;
    if (f)
        fclose(f);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", path, back);
    CHECK(rc == 1 && system(cmd) == 0, "files: read back through another connection, identical (%s)", err);
    f = fopen(back, "wb");
    rc = f ? st_job_file_get(other, j.id, "other", f, err, sizeof err) : -2;
    long len = f ? ftell(f) : -1;
    if (f)
        fclose(f);
    CHECK(rc == 0 && len == 0, "files: a file never stored: 0, nothing written");
    f = fopen("/dev/null", "rb");
    rc = f ? st_job_file_put(s, j.id, "empty", f, err, sizeof err) : -2;
    if (f)
        fclose(f);
    f = fopen(back, "wb");
    int rc2 = f ? st_job_file_get(other, j.id, "empty", f, err, sizeof err) : -2;
    len = f ? ftell(f) : -1;
    if (f)
        fclose(f);
    CHECK(rc == 0 && rc2 == 1 && len == 0, "files: an empty file is a file (%s)", err);
    CHECK(st_job_file_put(s, j.id, "", stdin, err, sizeof err) == -1, "files: a name is required");

    /* the lease */
    CHECK(st_job_coord_take(s, j.id, "w_node1", 1000, T0) == 1, "lease: node 1 takes a free lease");
    CHECK(st_job_coord_take(other, j.id, "w_node2", 1000, T0 + 10) == 0, "lease: node 2 cannot while it is live");
    CHECK(st_job_coord_take(s, j.id, "w_node1", 1000, T0 + 500) == 1, "lease: node 1 renews it (until +1500)");
    CHECK(st_job_coord_take(other, j.id, "w_node2", 1000, T0 + 1200) == 0, "lease: still live for node 2");
    CHECK(st_job_coord_take(other, j.id, "w_node2", 1000, T0 + 1500) == 1,
          "lease: node 2 takes it once it ran out");
    CHECK(st_job_coord_take(s, j.id, "w_node1", 1000, T0 + 1600) == 0, "lease: node 1, back, no longer holds it");
    CHECK(st_job_coord_give(s, j.id, "w_node1") == 0 && st_job_coord_give(other, NULL, "w_node2") == 1,
          "lease: only the holder gives it back");
    CHECK(st_job_coord_take(s, j.id, "w_node1", 1000, T0 + 1700) == 1, "lease: given back: taken at once");
    CHECK(st_job_coord_take(s, "ffffffffffffffffffffffffffffffff", "w_node1", 1000, T0) == 0,
          "lease: none on a job that does not exist");

    /* deleting; the sweep keeps the files of jobs that exist and new ones */
    char orphan[ST_JOB_ID_LEN + 1];
    st_job_new_id(orphan);
    f = fopen("/dev/null", "rb");
    rc = f ? st_job_file_put(s, orphan, "state", f, err, sizeof err) : -2;
    if (f)
        fclose(f);
    CHECK(rc == 0 && st_job_files_sweep(s, (int64_t)time(NULL) - 3600) == 0,
          "files: the sweep leaves a fresh upload's file alone");
    CHECK(st_job_files_sweep(s, (int64_t)time(NULL) + 10) == 1, "files: and removes it once old, the job's kept");
    CHECK(st_job_files_delete(s, j.id) == 4, "files: deleting the job's: 3 chunks + the empty file");
    CHECK(st_job_delete(s, j.id) == 1 && st_job_coord_take(s, j.id, "w_node1", 1000, T0 + 5000) == 0,
          "lease: deleted with its job");
    st_job_clear(&j);
}

int main(void)
{
    char tmpl[] = "/tmp/bc_store_test.XXXXXX";
    char *base = mkdtemp(tmpl);
    if (!base) {
        printf("Bail out! mkdtemp failed\n");
        return 1;
    }
    test_mask();
    sqlite_suite(base);
    const char *url = getenv("BC_PG_URL");
    test_sqlite_migrate(base);
    test_sqlite_migrate3(base);
    {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/data", base);
        test_host_gate_concurrent("sqlite", "", dir);
    }
    {
        char dir[600], err[512] = "";
        snprintf(dir, sizeof dir, "%s/files", base);
        st_store *s = NULL;
        if (mkdir(dir, 0700) == 0 && st_store_open(&s, dir, err, sizeof err) == 0)
            test_job_files(s, s, base, false);
        else
            CHECK(false, "files: a sqlite store (%s)", err);
        st_store_close(s);
    }
    if (url && *url) {
        st_store *s = NULL, *other = NULL;
        char err[512] = "";
        if (st_store_open_db(&s, url, NULL, err, sizeof err) == 0 &&
            st_store_open_db(&other, url, NULL, err, sizeof err) == 0)
            test_job_files(s, other, base, true);
        else
            CHECK(false, "files: two pg connections (%s)", err);
        st_store_close(other);
        st_store_close(s);
        pg_suite(url);
        test_rows_concurrent(url, base);
        test_rows_exclusive_concurrent(url, base, 'x', 0);
        test_rows_exclusive_concurrent(url, base, 'g', 5);
        test_host_gate_concurrent("pg", url, NULL);
    }

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", base);
    return tap_done();
}

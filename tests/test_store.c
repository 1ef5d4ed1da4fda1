/*
 * test_store.c - the server's store (src/server/store.h): keys, usage,
 * jobs, the cache, a second connection and reopening, on SQLite and, when
 * BC_PG_URL names a fresh PostgreSQL database (tests/test_store_pg.sh),
 * the same checks on PostgreSQL; masking passwords in URLs.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store.h"
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
    if (strlen(s) != SV_KEY_SECRET_LEN || strncmp(s, "bck_", 4) != 0)
        return false;
    for (size_t i = 4; i < SV_KEY_SECRET_LEN; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

static void test_keys(sv_store *s, sv_store *other)
{
    char err[256] = "";
    char secret[SV_KEY_SECRET_LEN + 1], secret2[SV_KEY_SECRET_LEN + 1];
    sv_key k, k2, f;
    CHECK(sv_key_count(s) == 0, "a fresh store has no keys");
    CHECK(sv_key_create(s, "crm", 5, 1000, secret, &k, err, sizeof err) == 0, "key create (%s)", err);
    CHECK(is_secret(secret), "secret looks like bck_ + 43 base64url: %s", secret);
    CHECK(strncmp(k.id, "k_", 2) == 0 && is_hex(k.id + 2, 12), "key id is k_ + 12 hex: %s", k.id);
    CHECK_STR(k.name, "crm", "key name");
    CHECK(k.rate == 5 && k.daily == 1000 && k.revoked_at == 0 && k.created_at > 0, "key record fields");
    CHECK(sv_key_create(s, NULL, 0, 0, secret2, &k2, err, sizeof err) == 0, "second key (no name)");
    CHECK(strcmp(secret, secret2) != 0 && strcmp(k.id, k2.id) != 0, "secrets and ids differ");
    CHECK(sv_key_count(s) == 2, "two keys");

    memset(&f, 0, sizeof f);
    CHECK(sv_key_find(s, secret, strlen(secret), &f) == 1, "find by secret");
    CHECK_STR(f.id, k.id, "found key id");
    CHECK(f.rate == 5 && f.daily == 1000 && strcmp(f.name, "crm") == 0, "found key fields");
    CHECK(sv_key_find(s, secret, strlen(secret) - 1, &f) == 0, "a truncated secret is unknown");
    CHECK(sv_key_find(s, "bck_nope", 8, &f) == 0, "an unknown secret is unknown");

    sv_key *keys = NULL;
    size_t n = 0;
    CHECK(sv_key_list(s, &keys, &n) == 0 && n == 2, "list: 2 keys (got %zu)", n);
    if (n == 2)
        CHECK(strcmp(keys[0].id, k.id) == 0 && strcmp(keys[1].id, k2.id) == 0, "list is oldest first");
    free(keys);

    /* The other connection sees its own writes by the data_version only. */
    int64_t v0 = sv_store_version(s);
    int64_t ov0 = sv_store_version(other);
    CHECK(v0 >= 0 && sv_store_version(s) == v0, "version is stable without changes");
    CHECK(sv_key_revoke(other, k.id) == 0, "revoke through a second connection");
    CHECK(sv_store_version(s) != v0, "version changes after another connection writes");
    CHECK(sv_store_version(other) == ov0, "a connection's own writes do not change its version");
    CHECK(sv_key_find(s, secret, strlen(secret), &f) == 1 && f.revoked_at > 0,
          "the revoked key is found, with revoked_at set");
    CHECK(sv_key_revoke(s, k.id) == 0, "revoking again is fine");
    CHECK(sv_key_revoke(s, "k_000000000000") == 1, "revoking an unknown id: 1");
    CHECK(sv_key_count(s) == 2, "revoked keys still count");

    char longname[200];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    err[0] = '\0';
    CHECK(sv_key_create(s, longname, 0, 0, secret2, &k2, err, sizeof err) == -1 && err[0],
          "a too long name is refused: %s", err);

    CHECK(sv_usage_add(s, k.id, "2026-11-29", 0) == 0, "usage read of a fresh day is 0");
    CHECK(sv_usage_add(s, k.id, "2026-11-29", 3) == 3, "usage +3");
    CHECK(sv_usage_add(s, k.id, "2026-11-29", 4) == 7, "usage +4 = 7");
    CHECK(sv_usage_add(s, k.id, "2026-11-29", 0) == 7, "usage read = 7");
    CHECK(sv_usage_add(s, k.id, "2026-11-30", 1) == 1, "another day counts apart");
    CHECK(sv_usage_add(other, k.id, "2026-11-29", 1) == 8, "the other connection sees the same count");
}

/* A job with the given fields; strings are copied. */
static sv_job make_job(const char *key_id, const char *name, int64_t created)
{
    sv_job j;
    memset(&j, 0, sizeof j);
    if (sv_job_new_id(j.id) != 0)
        j.id[0] = '\0';
    snprintf(j.key_id, sizeof j.key_id, "%s", key_id);
    j.name = name ? strdup(name) : NULL;
    j.status = SV_JOB_QUEUED;
    j.total = 10;
    j.created_at = created;
    j.webhook = strdup("https://example.com/hook");
    snprintf(j.format, sizeof j.format, "csv");
    return j;
}

static void test_jobs(sv_store *s, char first_id[SV_JOB_ID_LEN + 1])
{
    CHECK_STR(sv_job_status_name(SV_JOB_QUEUED), "queued", "status name");
    CHECK_STR(sv_job_status_name(SV_JOB_CANCELLED), "cancelled", "status name");
    CHECK_STR(sv_job_status_name(SV_JOB_DONE), "done", "status name");

    sv_job a = make_job("k_aaaaaaaaaaaa", "first", 1000);
    sv_job b = make_job("k_aaaaaaaaaaaa", NULL, 2000);
    sv_job c = make_job("", "keyless", 1500);
    CHECK(is_hex(a.id, SV_JOB_ID_LEN), "job id is 32 lowercase hex: %s", a.id);
    CHECK(strcmp(a.id, b.id) != 0, "job ids differ");
    CHECK(sv_job_insert(s, &a) == 0 && sv_job_insert(s, &b) == 0 && sv_job_insert(s, &c) == 0,
          "insert 3 jobs");
    CHECK(sv_job_insert(s, &a) == -1, "a duplicate id is refused");
    memcpy(first_id, a.id, SV_JOB_ID_LEN + 1);

    sv_job g;
    CHECK(sv_job_get(s, a.id, &g) == 1, "get job");
    CHECK_STR(g.id, a.id, "job id");
    CHECK_STR(g.key_id, "k_aaaaaaaaaaaa", "job key");
    CHECK(g.name && strcmp(g.name, "first") == 0, "job name");
    CHECK(g.webhook && strcmp(g.webhook, "https://example.com/hook") == 0, "job webhook");
    CHECK(g.error == NULL && g.status == SV_JOB_QUEUED && g.total == 10 && g.processed == 0
              && g.created_at == 1000 && g.finished_at == 0,
          "job fields");
    CHECK_STR(g.format, "csv", "job format");
    sv_job_clear(&g);
    CHECK(sv_job_get(s, b.id, &g) == 1 && g.name == NULL, "a job without a name has NULL");
    sv_job_clear(&g);
    CHECK(sv_job_get(s, "0123456789abcdef0123456789abcdef", &g) == 0, "unknown job: 0");

    int64_t counts[4] = { 1, 2, 3, 4 };
    CHECK(sv_job_set_status(s, a.id, SV_JOB_RUNNING, 0, NULL) == 0, "status running");
    CHECK(sv_job_progress(s, a.id, 10, counts) == 0, "progress");
    CHECK(sv_job_get(s, a.id, &g) == 1 && g.status == SV_JOB_RUNNING && g.processed == 10
              && g.counts[0] == 1 && g.counts[1] == 2 && g.counts[2] == 3 && g.counts[3] == 4
              && g.finished_at == 0,
          "progress and running status read back");
    sv_job_clear(&g);
    CHECK(sv_job_set_status(s, b.id, SV_JOB_FAILED, 2500, "disk full") == 0, "status failed");
    CHECK(sv_job_get(s, b.id, &g) == 1 && g.status == SV_JOB_FAILED && g.finished_at == 2500 && g.error
              && strcmp(g.error, "disk full") == 0,
          "failed status, finished_at and error read back");
    sv_job_clear(&g);
    CHECK(sv_job_set_webhook_state(s, b.id, 2) == 0, "webhook state");
    CHECK(sv_job_get(s, b.id, &g) == 1 && g.webhook_state == 2, "webhook state read back");
    sv_job_clear(&g);

    sv_job *jobs = NULL;
    size_t n = 0;
    CHECK(sv_job_list(s, "k_aaaaaaaaaaaa", &jobs, &n) == 0 && n == 2, "list by key: 2 (got %zu)", n);
    if (n == 2)
        CHECK(strcmp(jobs[0].id, b.id) == 0 && strcmp(jobs[1].id, a.id) == 0, "list is newest first");
    for (size_t i = 0; i < n; i++)
        sv_job_clear(&jobs[i]);
    free(jobs);
    CHECK(sv_job_list(s, "", &jobs, &n) == 0 && n == 1 && strcmp(jobs[0].id, c.id) == 0,
          "list of keyless jobs");
    for (size_t i = 0; i < n; i++)
        sv_job_clear(&jobs[i]);
    free(jobs);
    CHECK(sv_job_list(s, NULL, &jobs, &n) == 0 && n == 3, "list of every job: 3 (got %zu)", n);
    if (n == 3)
        CHECK(strcmp(jobs[0].id, b.id) == 0 && strcmp(jobs[1].id, c.id) == 0 && strcmp(jobs[2].id, a.id) == 0,
              "every job, newest first");
    for (size_t i = 0; i < n; i++)
        sv_job_clear(&jobs[i]);
    free(jobs);
    CHECK(sv_job_list(s, "k_bbbbbbbbbbbb", &jobs, &n) == 0 && n == 0, "list of a key without jobs: 0");
    free(jobs);

    CHECK(sv_job_list_status(s, SV_JOB_QUEUED, &jobs, &n) == 0 && n == 1 && strcmp(jobs[0].id, c.id) == 0,
          "list_status queued: the keyless job");
    for (size_t i = 0; i < n; i++)
        sv_job_clear(&jobs[i]);
    free(jobs);
    CHECK(sv_job_list_status(s, SV_JOB_RUNNING, &jobs, &n) == 0 && n == 1 && strcmp(jobs[0].id, a.id) == 0,
          "list_status running");
    for (size_t i = 0; i < n; i++)
        sv_job_clear(&jobs[i]);
    free(jobs);

    char (*ids)[SV_JOB_ID_LEN + 1] = NULL;
    CHECK(sv_job_expired(s, 1600, &ids, &n) == 0 && n == 2, "expired before 1600: 2 (got %zu)", n);
    if (n == 2)
        CHECK(strcmp(ids[0], a.id) == 0 && strcmp(ids[1], c.id) == 0, "expired ids, oldest first");
    free(ids);
    CHECK(sv_job_expired(s, 10, &ids, &n) == 0 && n == 0, "nothing expired before 10");
    free(ids);

    CHECK(sv_job_delete(s, c.id) == 1, "delete job");
    CHECK(sv_job_delete(s, c.id) == 0, "delete again: 0");
    CHECK(sv_job_get(s, c.id, &g) == 0, "a deleted job is gone");
    sv_job_clear(&a);
    sv_job_clear(&b);
    sv_job_clear(&c);
    sv_job_clear(NULL);
}

static void test_cache(sv_store *s)
{
    char *json = NULL;
    CHECK(sv_cache_get(s, "a@example.com", 100, &json) == 0 && json == NULL, "cache miss");
    CHECK(sv_cache_put(s, "a@example.com", "{\"status\":\"risky\"}", 200) == 0, "cache put");
    CHECK(sv_cache_get(s, "a@example.com", 100, &json) == 1 && json
              && strcmp(json, "{\"status\":\"risky\"}") == 0,
          "cache hit");
    free(json);
    CHECK(sv_cache_get(s, "a@example.com", 200, &json) == 0, "expired at its expiry time");
    CHECK(sv_cache_put(s, "a@example.com", "{\"status\":\"deliverable\"}", 300) == 0, "cache replace");
    CHECK(sv_cache_get(s, "a@example.com", 250, &json) == 1 && json
              && strcmp(json, "{\"status\":\"deliverable\"}") == 0,
          "the replacement is served");
    free(json);
    CHECK(sv_cache_put(s, "b@example.com", "{}", 150) == 0 && sv_cache_put(s, "c@example.com", "{}", 160) == 0,
          "two more entries");
    CHECK(sv_cache_purge(s, 155) == 1, "purge drops the one expired entry");
    CHECK(sv_cache_get(s, "c@example.com", 100, &json) == 1, "unexpired entries stay");
    free(json);
    CHECK(sv_cache_get(s, "b@example.com", 100, &json) == 0, "the purged entry is gone");
    CHECK(sv_cache_purge(s, 1000) == 2, "purge everything");
}

/* Many threads on one handle: every increment must count. */
static void *usage_worker(void *arg)
{
    sv_store *s = arg;
    for (int i = 0; i < 200; i++) {
        if (sv_usage_add(s, "k_threads0000", "2026-11-29", 1) < 0)
            return (void *)1;
        char *json = NULL;
        if (sv_cache_put(s, "t@example.com", "{\"n\":1}", 1000) != 0
            || sv_cache_get(s, "t@example.com", 1, &json) != 1 || strcmp(json, "{\"n\":1}") != 0) {
            free(json);
            return (void *)1;
        }
        free(json);
    }
    return NULL;
}

static void test_threads(sv_store *s)
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
    CHECK(sv_usage_add(s, "k_threads0000", "2026-11-29", 0) == 800, "every increment of 4 threads counted");
}

/* Every check of one backend: s and other are two handles on one fresh
 * store; job_id gets the id of a job left in it. */
static void run_checks(sv_store *s, sv_store *other, char job_id[SV_JOB_ID_LEN + 1])
{
    test_keys(s, other);
    test_jobs(s, job_id);
    test_cache(s);
    test_threads(s);
    CHECK(sv_store_error(s) != NULL, "an error message is always available");
}

/* After run_checks and a reopen: what must have persisted. */
static void check_persisted(sv_store *s, const char *job_id)
{
    CHECK(sv_key_count(s) == 2, "keys persist");
    sv_job g;
    CHECK(sv_job_get(s, job_id, &g) == 1 && g.processed == 10, "jobs persist");
    sv_job_clear(&g);
    CHECK(sv_usage_add(s, "nobody", "2026-11-29", 0) == 0, "usage of an unknown key is 0");
}

/* Text that is not UTF-8 (a key name, a job name from a query string) is
 * stored on both backends (PostgreSQL gets U+FFFD for each bad byte). */
static void test_bad_utf8(sv_store *s)
{
    char err[256] = "", secret[SV_KEY_SECRET_LEN + 1];
    sv_key k, f;
    CHECK(sv_key_create(s, "caf\xe9 \xff", 0, 0, secret, &k, err, sizeof err) == 0,
          "a key name that is not UTF-8 is stored (%s)", err);
    CHECK(sv_key_find(s, secret, strlen(secret), &f) == 1 && strncmp(f.name, "caf", 3) == 0,
          "and read back: '%s'", f.name);
    sv_job j;
    memset(&j, 0, sizeof j);
    CHECK(sv_job_new_id(j.id) == 0, "job id");
    j.name = "list \xc3\x28.csv";
    j.error = "bad \xed\xa0\x80 surrogate";
    j.created_at = 5;
    snprintf(j.format, sizeof j.format, "csv");
    CHECK(sv_job_insert(s, &j) == 0, "a job whose name and error are not UTF-8 is stored");
    sv_job g;
    CHECK(sv_job_get(s, j.id, &g) == 1 && g.name && strncmp(g.name, "list ", 5) == 0 && g.error
              && strstr(g.error, "surrogate"),
          "and read back");
    sv_job_clear(&g);
    CHECK(sv_job_delete(s, j.id) == 1, "and deleted");
}

static void test_mask(void)
{
    char out[256];
    sv_store_mask_url("postgres://bc:s3cret@db.example.com:5432/bc", out, sizeof out);
    CHECK_STR(out, "postgres://bc:***@db.example.com:5432/bc", "the password of the user part is masked");
    sv_store_mask_url("postgresql://bc@db/bc?sslmode=require&password=s3cret&x=1", out, sizeof out);
    CHECK_STR(out, "postgresql://bc@db/bc?sslmode=require&password=***&x=1", "a password= parameter is masked");
    sv_store_mask_url("postgres://a:b:c@h/db", out, sizeof out);
    CHECK_STR(out, "postgres://a:***@h/db", "everything after the user's colon is masked");
    sv_store_mask_url("postgres://u:p@ss@h/db", out, sizeof out);
    CHECK_STR(out, "postgres://u:***@h/db", "up to the last @ of the host part");
    sv_store_mask_url("postgres://h/db", out, sizeof out);
    CHECK_STR(out, "postgres://h/db", "a URL without a password is unchanged");
    sv_store_mask_url("postgres://u:secretsecret@h/db", out, 16);
    CHECK(strstr(out, "secret") == NULL && strlen(out) == 15, "truncation never shows the password: %s", out);
    CHECK(sv_store_is_pg("postgres://h/db") && sv_store_is_pg("postgresql://h/db") && !sv_store_is_pg("")
              && !sv_store_is_pg(NULL) && !sv_store_is_pg("/var/lib/bc"),
          "sv_store_is_pg");
}

static void sqlite_suite(const char *base)
{
    char dir[512], db[600];
    snprintf(dir, sizeof dir, "%s/data", base);
    snprintf(db, sizeof db, "%s/bouncecheck.db", dir);

    char err[512] = "";
    sv_store *s = NULL, *other = NULL;
    CHECK(sv_store_open(&s, dir, err, sizeof err) == 0 && s, "open creates the store (%s)", err);
    if (!s)
        return;
    struct stat sb;
    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "DIR is created with mode 0700");
    CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600, "the db file has mode 0600 (%o)",
          (unsigned)(sb.st_mode & 0777));
    CHECK(sv_store_open_db(&other, "", dir, err, sizeof err) == 0 && other,
          "a second connection, through sv_store_open_db with db \"\" (%s)", err);
    if (!other) {
        sv_store_close(s);
        return;
    }

    char job_id[SV_JOB_ID_LEN + 1] = "";
    run_checks(s, other, job_id);

    sv_store_close(other);
    sv_store_close(s);
    sv_store_close(NULL);

    /* Everything persists across a reopen. */
    s = NULL;
    CHECK(sv_store_open_db(&s, NULL, dir, err, sizeof err) == 0 && s, "reopen (%s)", err);
    if (s) {
        check_persisted(s, job_id);
        test_bad_utf8(s);
        sv_store_close(s);
    }

    /* Errors name the directory. */
    char file[600];
    snprintf(file, sizeof file, "%s/plainfile", base);
    FILE *fp = fopen(file, "w");
    if (fp)
        fclose(fp);
    s = NULL;
    err[0] = '\0';
    CHECK(sv_store_open(&s, file, err, sizeof err) == -1 && s == NULL && strstr(err, file),
          "a file as DIR is refused, naming it: %s", err);
    char deep[700];
    snprintf(deep, sizeof deep, "%s/no/such/dir", base);
    err[0] = '\0';
    CHECK(sv_store_open(&s, deep, err, sizeof err) == -1 && strstr(err, deep),
          "a missing parent is refused, naming DIR: %s", err);
    err[0] = '\0';
    CHECK(sv_store_open_db(&s, "mysql://u:hunter2@h/db", dir, err, sizeof err) == -1 && s == NULL
              && strstr(err, "postgres://") && !strstr(err, "hunter2"),
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
    sv_store *s = NULL, *other = NULL;
    CHECK(sv_store_open_db(&s, url, NULL, err, sizeof err) == 0 && s, "pg: open creates the schema (%s)", err);
    if (!s)
        return;
    CHECK(sv_store_open_db(&other, url, NULL, err, sizeof err) == 0 && other, "pg: a second connection (%s)",
          err);
    if (!other) {
        sv_store_close(s);
        return;
    }
    CHECK(sv_store_version(s) > 0, "pg: the version is positive (the server takes 0 as never read)");

    char job_id[SV_JOB_ID_LEN + 1] = "";
    run_checks(s, other, job_id);

    sv_store_close(other);
    sv_store_close(s);

    s = NULL;
    CHECK(sv_store_open_db(&s, url, "/nonexistent", err, sizeof err) == 0 && s, "pg: reopen (%s)", err);
    if (s) {
        check_persisted(s, job_id);
        test_bad_utf8(s);
        /* The server drops the connection: a read is retried on a new one;
         * an increment fails (it may have counted) and the next call reconnects. */
        CHECK(terminate_store_connections(url) == 1, "pg: the store's connection is terminated");
        CHECK(sv_key_count(s) == 3, "pg: a read after that reconnects and succeeds at once");
        CHECK(terminate_store_connections(url) == 1, "pg: terminated again");
        CHECK(sv_usage_add(s, "k_reconnect00", "2026-11-29", 1) == -1, "pg: an increment is not retried: -1");
        CHECK(sv_usage_add(s, "k_reconnect00", "2026-11-29", 1) == 1, "pg: the next one reconnects, counted once");
        sv_store_close(s);
    }

    /* Errors never show the password. */
    char bad[1024];
    s = NULL;
    err[0] = '\0';
    if (with_password(url, "wrong-pw-4711", bad, sizeof bad))
        CHECK(sv_store_open_db(&s, bad, NULL, err, sizeof err) == -1 && s == NULL && err[0]
                  && !strstr(err, "wrong-pw-4711") && strstr(err, "***"),
              "pg: a wrong password is refused, masked: %s", err);
    else
        CHECK(0, "pg: BC_PG_URL has a user:password@ part");
    /* libpq quotes a badly encoded URI part in its message */
    err[0] = '\0';
    CHECK(sv_store_open_db(&s, "postgresql://u:pw%zz4711@127.0.0.1:1/x", NULL, err, sizeof err) == -1
              && err[0] && !strstr(err, "pw%zz4711"),
          "pg: a malformed URL is refused, its password masked: %s", err);
    const char *slash = strrchr(url, '/');
    if (slash && with_password(url, pw, bad, sizeof bad)) {
        snprintf(bad, sizeof bad, "%.*s/bc_no_such_db", (int)(slash - url), url);
        err[0] = '\0';
        CHECK(sv_store_open_db(&s, bad, NULL, err, sizeof err) == -1 && strstr(err, "bc_no_such_db")
                  && (!pw[0] || !strstr(err, pw)),
              "pg: a missing database is refused, naming it: %s", err);
    }
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
    if (url && *url)
        pg_suite(url);

    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0)
        tap_diag("could not remove %s", base);
    return tap_done();
}

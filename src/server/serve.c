/*
 * serve.c - starting and stopping the server: the data directory, the
 * webhook secret, the store, the engine, the HTTP daemon; and the files of
 * jobs (DATA/jobs/ID/: the upload while it is read, state.db, results.*;
 * over PostgreSQL state.db is also in the database, and DATA/jobs/ holds
 * copies that any server on the database can make again).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/rand.h>

#include "runner.h"

#include "sv.h"

void sv_engine_free(sv *s);

/* ---- job files --------------------------------------------------------------------- */

void sv_job_dir(const sv *s, const char *id, char *buf, size_t size)
{
    sv_fmt(buf, size, "%s/%s", s->jobs_dir, id);
}

void sv_job_state_path(const sv *s, const char *id, char *buf, size_t size)
{
    sv_fmt(buf, size, "%s/%s/state.db", s->jobs_dir, id);
}

void sv_job_rmdir(const sv *s, const char *id)
{
    char dir[PATH_MAX];
    sv_job_dir(s, id, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[PATH_MAX + 256];
        sv_fmt(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0 && errno != ENOENT)
            wk_log("cannot remove %s: %s", p, strerror(errno));
    }
    closedir(d);
    if (rmdir(dir) != 0 && errno != ENOENT)
        wk_log("cannot remove %s: %s", dir, strerror(errno));
}

void sv_jobs_sweep(sv *s, int64_t min_age)
{
    DIR *d = opendir(s->jobs_dir);
    if (!d)
        return;
    struct dirent *e;
    int64_t before = wk_now() - min_age;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (min_age > 0 && (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || sb.st_mtime > before))
            continue; /* young: maybe an upload under way */
        if (strncmp(e->d_name, "extract-", 8) == 0 || strncmp(e->d_name, "preview-", 8) == 0) {
            /* a /v1/extract or /v1/jobs/preview upload left by a crash */
            char p[PATH_MAX + 256];
            sv_fmt(p, sizeof p, "%s/%s", s->jobs_dir, e->d_name);
            unlink(p);
            continue;
        }
        if (strlen(e->d_name) != ST_JOB_ID_LEN)
            continue;
        st_job j;
        int got = st_job_get(s->store, e->d_name, &j);
        if (got == 1)
            st_job_clear(&j);
        else if (got == 0) {
            wk_log("removing %s/%s: %s", s->jobs_dir, e->d_name,
                   min_age > 0 ? "a copy of a job deleted through another server"
                               : "an upload that never became a job");
            sv_job_rmdir(s, e->d_name);
        }
    }
    closedir(d);
}

int sv_job_store(sv *s, const char *id, char *err, size_t errlen)
{
    char path[PATH_MAX];
    sv_job_state_path(s, id, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        sv_fmt(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = st_job_file_put(s->fstore, id, "state", f, err, errlen);
    fclose(f);
    return rc;
}

int sv_job_fetch(sv *s, const char *id, char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 16];
    struct stat sb;
    sv_job_state_path(s, id, path, sizeof path);
    if (stat(path, &sb) == 0)
        return 1;
    sv_job_dir(s, id, dir, sizeof dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        sv_fmt(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    /* fetched beside it, then renamed: the state file is whole or absent */
    sv_fmt(tmp, sizeof tmp, "%s.fetch-XXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        sv_fmt(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return -1;
    }
    int rc = st_job_file_get(s->fstore, id, "state", f, err, errlen);
    if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rc == 1) {
        sv_fmt(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (fclose(f) != 0 && rc == 1) {
        sv_fmt(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 1 && rename(tmp, path) != 0) {
        sv_fmt(err, errlen, "cannot rename %s: %s", tmp, strerror(errno));
        rc = -1;
    }
    if (rc == 1)
        wk_log("job %s: its state fetched from the database", id);
    if (rc != 1)
        unlink(tmp);
    if (rc == 0)
        rmdir(dir); /* made here for nothing (fails, rightly, when it holds anything) */
    return rc;
}

/* ---- setup --------------------------------------------------------------------------- */

/* mkdir -p with mode 0700 for what it creates. */
static int mkdirs(const char *path, char *err, size_t errlen)
{
    char buf[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) {
        sv_fmt(err, errlen, "bad directory name '%s'", path);
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
                sv_fmt(err, errlen, "cannot create the directory %s: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    return 0;
}

/* The webhook secret: given, or DATA/webhook-secret (made once). */
static int load_secret(sv *s, char *err, size_t errlen)
{
    if (s->o->webhook_secret) {
        sv_fmt(s->secret, sizeof s->secret, "%s", s->o->webhook_secret);
        return 0;
    }
    char path[PATH_MAX];
    sv_fmt(path, sizeof path, "%s/webhook-secret", s->o->data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        bool ok = fgets(s->secret, sizeof s->secret, f) != NULL;
        fclose(f);
        s->secret[strcspn(s->secret, "\r\n")] = '\0';
        if (ok && s->secret[0])
            return 0;
    }
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        sv_fmt(err, errlen, "no random bytes for the webhook secret");
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++)
        sv_fmt(s->secret + 2 * i, sizeof s->secret - 2 * i, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, s->secret, strlen(s->secret)) < 0 || write(fd, "\n", 1) < 0) {
        sv_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    wk_log("webhook secret created in %s (webhooks are signed with it)", path);
    return 0;
}

int sv_serve(const sv_opts *o)
{
    sv *s = calloc(1, sizeof *s);
    char err[1024] = "";
    int rc = 1;
    if (!s) {
        fprintf(stderr, "bouncecheck: serve: out of memory\n");
        return 1;
    }
    s->o = o;
    pthread_mutex_init(&s->auth_lock, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (mkdirs(o->data_dir, err, sizeof err) != 0 ||
        st_store_open_db(&s->store, o->db, o->data_dir, err, sizeof err) != 0)
        goto out;
    char where[320]; /* the catalogue, for messages: never a password */
    if (st_store_is_pg(o->db)) {
        char shown[256];
        st_store_mask_url(o->db, shown, sizeof shown);
        sv_fmt(where, sizeof where, "the database %s", shown);
    } else {
        sv_fmt(where, sizeof where, "%s", o->data_dir);
    }
    sv_fmt(s->jobs_dir, sizeof s->jobs_dir, "%s/jobs", o->data_dir);
    if (mkdirs(s->jobs_dir, err, sizeof err) != 0 || load_secret(s, err, sizeof err) != 0)
        goto out;
    s->cache = sv_cache_new(1000000);
    s->io = sv_pool_new("bc-io");
    s->hooks = sv_pool_new("bc-hooks");
    s->checks = sv_pool_new("bc-checks");
    s->extract = sv_pool_new_n("bc-extract", o->extract_workers > 0 ? o->extract_workers : 1);
    s->doctor = o->offline ? NULL : sv_selfcheck_new(o);
    if (!s->cache || !s->io || !s->hooks || !s->checks || !s->extract || (!o->offline && !s->doctor)) {
        sv_fmt(err, sizeof err, "out of memory");
        goto out;
    }
    st_key k;
    if (sv_auth_check(s, NULL, &k) == SV_AUTH_ERROR) {
        sv_fmt(err, sizeof err, "cannot read the keys in %s: %s", where, st_store_error(s->store));
        goto out;
    }
    sv_jobs_sweep(s, 0);
    if (sv_engine_init(s, err, sizeof err) != 0)
        goto out;
    if (st_store_is_pg(o->db))
        wk_log("catalogue in %s", where);
    wk_log("data in %s; %s; %s", o->data_dir, o->offline ? "offline (syntax and domain data only)" : "online",
           s->keys_exist ? "API keys required" : "no API key exists: the API is open (loopback only)");
    if (sv_http_start(s, err, sizeof err) != 0)
        goto out;
    /* the sending host audits itself (bouncecheck doctor), in the background */
    sv_selfcheck_start(s->doctor, s->checks);
    sv_engine_run(s);
    rc = 0;
out:
    if (err[0])
        fprintf(stderr, "bouncecheck: serve: %s\n", err);
    atomic_store(&s->stopping, true);
    if (s->base && (s->v || s->sched)) {
        /* failed after the engine started: let it wind down */
        bk_sched_free(s->sched);
        wk_rwatch_stop(s->rwatch);
        bc_verifier_free(s->v);
        s->v = NULL;
        for (int i = 0; i < 4; i++)
            event_base_loop(s->base, EVLOOP_NONBLOCK);
    }
    sv_pool_stop(s->io); /* imports and exports finish and answer */
    if (s->pg_jobs && s->node_id[0] && st_job_coord_give(s->store, NULL, s->node_id) < 0)
        wk_log("cannot give back the jobs this server coordinates: %s", st_store_error(s->store));
    sv_pool_stop(s->hooks);
    sv_pool_stop(s->checks);
    sv_pool_stop(s->extract);
    sv_http_stop(s); /* nothing is suspended any more */
    sv_pool_free(s->io);
    sv_pool_free(s->hooks);
    sv_pool_free(s->checks);
    sv_pool_free(s->extract);
    sv_engine_free(s);
    sv_selfcheck_free(s->doctor);
    sv_cache_free(s->cache);
    sv_auth_free(s);
    st_store_close(s->store);
    pthread_mutex_destroy(&s->auth_lock);
    curl_global_cleanup();
    if (rc == 0)
        wk_log("stopped");
    free(s);
    return rc;
}

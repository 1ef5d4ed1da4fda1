/*
 * engine.c - the server's event loop: one verifier shared by single
 * verifications and every job (so they share the DNS cache, the catch-all
 * facts and the per-server politeness limits), the bulk scheduler that
 * interleaves the jobs, progress written to the catalogue, retention, and
 * the webhooks when jobs end.
 *
 * A job's rows and results live in its own state file; the catalogue says
 * which jobs are queued or running. Over PostgreSQL (online), a job's
 * distinct addresses are also published to the store's job_rows, where
 * workers anywhere (and this server's own, unless --no-work) claim and
 * verify them; the coordinator below follows them and, when every row has
 * its result, copies the results into the state file, so that exports are
 * written exactly as on one machine. Any number of servers may share the
 * database: the state file is kept there too (upload.c stores it before the
 * job exists), each job is coordinated by the one server holding its lease
 * (st_job_coord_take, renewed at every pass), and a server that lacks a
 * job's state file fetches it (serve.c). After a crash or kill -9 the jobs
 * the catalogue still calls queued or running are simply started again (on
 * SQLite, at the next start; over PostgreSQL, by any server once the dead
 * one's lease ran out): only addresses without a committed result are
 * asked, and the results are written from the state, one line per row.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <openssl/hmac.h>

#include <sys/stat.h>

#include "runner.h"
#include "coord.h"
#include "sv.h"
#include "worker.h"

#define TICK_MS 1000
#define HOUSEKEEPING_S 600
#define OFFLINE_STEP 500
#define UNKNOWN_TTL_MAX 300 /* "could not tell" is not kept as long as a verdict */
/* A job's coordinator renews its lease at each pass (every TICK_MS, longer
 * while a pass copies a big job's results); another server takes the job
 * over when the lease was not renewed for this long. */
#define COORD_LEASE_MS 20000
#define FILES_SWEEP_AGE_S 3600 /* files of jobs not in the catalogue (yet), kept this long */

typedef struct ejob {
    sv *s;
    char id[ST_JOB_ID_LEN + 1];
    bk_state *st;
    bk_run *run;    /* online */
    int64_t cursor; /* offline: the last address id verified */
    int64_t total, processed, counts[4];
    json_t *reasons; /* reason code -> rows done with it */
    bool dirty, ended;
    struct ejob *next;
} ejob;

typedef struct vctx {
    sv *s;
    hreq *req;
} vctx;

/* ---- answers of single verifications -------------------------------------------- */

char *sv_result_bodies(sv *s, bc_result *r, const char *cache_key, size_t *len)
{
    bc_verdict_status st = bc_result_status(r);
    if ((int)st >= 0 && (int)st < 4)
        atomic_fetch_add(&s->m.verifications[st], 1);
    char *fresh = bc_result_json_with(r, "cached", false);
    bc_result_drop_transcript(r); /* the answer may have one; the cache never */
    bool cancelled = strcmp(bc_result_reason(r), "cancelled") == 0;
    if (fresh && cache_key && s->o->cache_ttl > 0 && !cancelled) {
        int64_t ttl = s->o->cache_ttl;
        if (st == BC_STATUS_UNKNOWN && ttl > UNKNOWN_TTL_MAX)
            ttl = UNKNOWN_TTL_MAX;
        char *hit = bc_result_json_with(r, "cached", true);
        if (hit) {
            sv_cache_insert(s->cache, cache_key, hit, strlen(hit), wk_now() + ttl);
            /* online results cost a conversation with a mail server: kept
             * in the store too, so a restart does not ask again */
            if (!s->o->offline && st_cache_put(s->store, cache_key, hit, wk_now() + ttl) != 0)
                wk_log("cannot store a cached result: %s", st_store_error(s->store));
            free(hit);
        }
    }
    if (fresh)
        *len = strlen(fresh);
    return fresh;
}

static void on_verified(void *arg, bc_result *r)
{
    vctx *vc = arg;
    sv *s = vc->s;
    hreq *req = vc->req;
    atomic_fetch_sub(&s->m.queue_depth, 1);
    if (atomic_load(&s->stopping) && strcmp(bc_result_reason(r), "cancelled") == 0) {
        sv_req_answer_error(req, 503, "unavailable", "the server is shutting down");
    } else {
        size_t len = 0;
        const char *key = NULL;
        char ckey[BC_ADDR_MAX + 8];
        size_t elen;
        int tmo;
        const char *email = sv_req_email(req, &elen, &tmo);
        if (s->o->cache_ttl > 0 && sv_cache_key(email, elen, ckey, sizeof ckey))
            key = ckey;
        if (!sv_req_trace(req))
            bc_result_drop_transcript(r);
        char *body = sv_result_bodies(s, r, key, &len);
        sv_req_answer_json(req, 200, body, len);
    }
    bc_result_free(r);
    free(vc);
    sv_req_resume(req);
}

static void verify_one(sv *s, hreq *req)
{
    size_t len;
    int timeout_ms;
    const char *email = sv_req_email(req, &len, &timeout_ms);
    vctx *vc = malloc(sizeof *vc);
    if (!vc || bc_verifier_submit_timeout(s->v, email, len, timeout_ms, on_verified, vc) != BC_OK) {
        free(vc);
        sv_req_answer_error(req, 500, "internal", "out of memory");
        sv_req_resume(req);
        return;
    }
    *vc = (vctx){ s, req };
    atomic_fetch_add(&s->m.queue_depth, 1);
}

/* ---- webhooks ---------------------------------------------------------------------- */

typedef struct hook {
    sv *s;
    char id[ST_JOB_ID_LEN + 1];
    char *url;
    char *body;
} hook;

static curl_socket_t hook_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    (void)purpose;
    sv *s = clientp;
    const char *why = s->o->vo->allow_private ? NULL : bc_netsafe_check(&a->addr);
    if (why) {
        wk_log("webhook: not connecting to a %s address (--allow-private lifts this)", why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t hook_sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void hook_task(void *arg)
{
    hook *h = arg;
    sv *s = h->s;
    char ts[32], sig[160], hdr_ts[64], hdr_sig[200];
    sv_fmt(ts, sizeof ts, "%lld", (long long)wk_now());
    size_t blen = strlen(h->body), tlen = strlen(ts);
    char *signed_text = malloc(tlen + 1 + blen);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    bool delivered = false;
    if (signed_text) {
        memcpy(signed_text, ts, tlen);
        signed_text[tlen] = '.';
        memcpy(signed_text + tlen + 1, h->body, blen);
        HMAC(EVP_sha256(), s->secret, (int)strlen(s->secret), (const unsigned char *)signed_text, tlen + 1 + blen,
             mac, &maclen);
        free(signed_text);
        static const char hex[] = "0123456789abcdef";
        size_t k = 0;
        for (unsigned i = 0; i < maclen && k + 3 < sizeof sig; i++) {
            sig[k++] = hex[mac[i] >> 4];
            sig[k++] = hex[mac[i] & 15];
        }
        sig[k] = '\0';
        sv_fmt(hdr_ts, sizeof hdr_ts, "X-BounceCheck-Timestamp: %s", ts);
        sv_fmt(hdr_sig, sizeof hdr_sig, "X-BounceCheck-Signature: sha256=%s", sig);
        static const int backoff_s[] = { 0, 2, 10 };
        for (int attempt = 0; attempt < 3 && !delivered; attempt++) {
            for (int w = 0; w < backoff_s[attempt] * 10 && !atomic_load(&s->stopping); w++)
                usleep(100000);
            if (atomic_load(&s->stopping))
                break;
            CURL *c = curl_easy_init();
            struct curl_slist *hl = NULL;
            hl = curl_slist_append(hl, "Content-Type: application/json");
            hl = curl_slist_append(hl, hdr_ts);
            hl = curl_slist_append(hl, hdr_sig);
            long code = 0;
            CURLcode rc = CURLE_FAILED_INIT;
            if (c && hl) {
                curl_easy_setopt(c, CURLOPT_URL, h->url);
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
                curl_easy_setopt(c, CURLOPT_TIMEOUT, 15L);
                curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(c, CURLOPT_USERAGENT, "bouncecheck-webhook");
                curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, hook_socket);
                curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, s);
                curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hook_sink);
                rc = curl_easy_perform(c);
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            }
            curl_slist_free_all(hl);
            curl_easy_cleanup(c);
            delivered = rc == CURLE_OK && code >= 200 && code < 300;
            if (!delivered)
                wk_log("job %s: webhook attempt %d failed: %s", h->id, attempt + 1,
                       rc != CURLE_OK ? curl_easy_strerror(rc) : "the receiver did not answer 2xx");
        }
    }
    if (delivered || !atomic_load(&s->stopping))
        st_job_set_webhook_state(s->store, h->id, delivered ? 1 : 2);
    free(h->url);
    free(h->body);
    free(h);
}

/* Queues the webhook of an ended job (when it has one). */
static void webhook_send(sv *s, const st_job *j)
{
    if (!j->webhook || j->webhook_state != 0)
        return;
    json_t *o = json_pack("{s:s,s:o}", "event", "job.finished", "job", (json_t *)sv_job_json(j));
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    hook *h = calloc(1, sizeof *h);
    if (!body || !h || !(h->url = strdup(j->webhook))) {
        free(body);
        free(h);
        return;
    }
    h->s = s;
    h->body = body;
    memcpy(h->id, j->id, sizeof h->id);
    if (!sv_pool_post(s->hooks, hook_task, h)) {
        free(h->url);
        free(h->body);
        free(h);
    }
}

/* ---- jobs ----------------------------------------------------------------------------- */

static void start_jobs(sv *s);
static void coord_kick(sv *s);

static void ejob_unlink(sv *s, ejob *ej)
{
    for (ejob **pp = &s->ejobs; *pp; pp = &(*pp)->next) {
        if (*pp == ej) {
            *pp = ej->next;
            break;
        }
    }
}

static void ejob_close(ejob *ej)
{
    bk_run_stop(ej->run);
    ej->run = NULL;
    bk_state_close(ej->st);
    ej->st = NULL;
}

static void save_progress(sv *s, ejob *ej)
{
    if (!ej->dirty)
        return;
    char *reasons = ej->reasons ? json_dumps(ej->reasons, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (st_job_progress(s->store, ej->id, ej->processed, ej->counts) == 0 &&
        (!reasons || st_job_set_reasons(s->store, ej->id, reasons) == 0))
        ej->dirty = false;
    free(reasons);
}

static void reason_add(void *arg, const char *reason, int64_t rows)
{
    json_t *o = arg;
    if (!reason || !*reason)
        reason = "unknown";
    json_int_t had = json_integer_value(json_object_get(o, reason));
    json_object_set_new(o, reason, json_integer(had + (json_int_t)rows));
}

/* The "blocked" tally lives in the reasons object under "blocked_by" (an
 * array, see bk_blocked_add); sv_job_json moves it to the job's "blocked". */
static void blocked_add(void *arg, const char *provider, const char *source, const char *hint, int64_t rows)
{
    json_t *o = arg, *a = json_object_get(o, "blocked_by");
    if (!a) {
        a = json_array();
        if (!a || json_object_set_new(o, "blocked_by", a) != 0)
            return;
    }
    bk_blocked_add(a, provider, source, hint, rows);
}

/* The job's rows per reason from its state (at open, and at the end so
 * that the catalogue holds the state's exact figures). */
static void reasons_load(ejob *ej)
{
    json_t *o = json_object();
    if (o && bk_state_reasons(ej->st, reason_add, o) == 0 && bk_state_blocked(ej->st, blocked_add, o) == 0) {
        json_decref(ej->reasons);
        ej->reasons = o;
    } else {
        json_decref(o);
    }
}

static void ejob_free(ejob *ej)
{
    json_decref(ej->reasons);
    free(ej);
}

/* The job ended (done or failed): records it, closes it, says so. */
static void job_end(sv *s, ejob *ej, const char *error)
{
    bk_counts c;
    if (!error && ej->st && bk_state_counts(ej->st, &c) == 0) {
        ej->processed = c.rows_done;
        memcpy(ej->counts, c.by_status, sizeof ej->counts);
        reasons_load(ej);
        ej->dirty = true;
        if (c.rows_done != c.rows)
            error = "internal error: rows without a result";
    }
    ejob_close(ej);
    ej->dirty = true;
    save_progress(s, ej);
    st_job_set_status(s->store, ej->id, error ? ST_JOB_FAILED : ST_JOB_DONE, wk_now(), error);
    wk_log("job %s: %s (%lld rows)%s%s", ej->id, error ? "failed" : "done", (long long)ej->total,
           error ? ": " : "", error ? error : "");
    st_job j;
    if (st_job_get(s->store, ej->id, &j) == 1) {
        webhook_send(s, &j);
        st_job_clear(&j);
    }
    ejob_unlink(s, ej);
    ejob_free(ej);
}

static void run_result(void *arg, const bc_result *r, int64_t nrows)
{
    ejob *ej = arg;
    bc_verdict_status st = bc_result_status(r);
    ej->processed += nrows;
    if ((int)st >= 0 && (int)st < 4) {
        ej->counts[st] += nrows;
        atomic_fetch_add(&ej->s->m.verifications[st], 1);
    }
    if (ej->reasons) {
        reason_add(ej->reasons, bc_result_reason(r), nrows);
        if (strcmp(bc_result_reason(r), "blocked") == 0) {
            const char *host = bc_result_mx_host(r);
            const char *prov = bc_result_provider(r);
            blocked_add(ej->reasons, prov ? prov : host, bc_result_smtp_source(r), bc_result_hint(r), nrows);
        }
    }
    ej->dirty = true;
}

static void run_done(void *arg)
{
    ejob *ej = arg;
    sv *s = ej->s;
    ej->ended = true;
    job_end(s, ej, NULL); /* frees ej */
    start_jobs(s);
}

static void run_error(void *arg, const char *msg)
{
    ejob *ej = arg;
    sv *s = ej->s;
    ej->ended = true;
    wk_log("job %s: %s", ej->id, msg);
    job_end(s, ej, msg); /* frees ej */
    start_jobs(s);
}

/* Offline jobs: a slice of one job per turn, round robin. */
static void offline_cb(evutil_socket_t fd, short what, void *arg);

static void offline_kick(sv *s)
{
    /* a zero timer, not event_active: the loop polls and runs its timers
     * (progress, housekeeping) between slices */
    struct timeval zero = { 0, 0 };
    if (s->offline_step && s->ejobs && !atomic_load(&s->stopping))
        evtimer_add(s->offline_step, &zero);
}

static void offline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sv *s = arg;
    ejob *ej = s->ejobs;
    if (!ej || atomic_load(&s->stopping))
        return;
    char err[512] = "";
    int n = bk_verify_offline_step(ej->st, s->o->ctx, true, &ej->cursor, OFFLINE_STEP, run_result, ej, err,
                                   sizeof err);
    if (n < 0) {
        job_end(s, ej, err[0] ? err : "the job's state cannot be written");
        start_jobs(s);
    } else if (n == 0) {
        job_end(s, ej, NULL);
        start_jobs(s);
    } else if (ej->next) {
        /* rotate: this job goes to the back */
        s->ejobs = ej->next;
        ej->next = NULL;
        ejob *t = s->ejobs;
        while (t->next)
            t = t->next;
        t->next = ej;
    }
    offline_kick(s);
}

/* Opens job j in the engine and starts verifying it. */
static void job_open(sv *s, const st_job *j)
{
    ejob *ej = calloc(1, sizeof *ej);
    char path[PATH_MAX], err[512] = "";
    if (!ej)
        return;
    ej->s = s;
    memcpy(ej->id, j->id, sizeof ej->id);
    ej->total = j->total;
    sv_job_state_path(s, j->id, path, sizeof path);
    bk_counts c;
    if (bk_state_open(&ej->st, path, err, sizeof err) != 0 || bk_state_counts(ej->st, &c) != 0) {
        if (!err[0])
            sv_fmt(err, sizeof err, "%s", bk_state_error(ej->st));
        bk_state_close(ej->st);
        wk_log("job %s: cannot open its state: %s", j->id, err);
        st_job_set_status(s->store, j->id, ST_JOB_FAILED, wk_now(), "the job's data cannot be read");
        free(ej);
        return;
    }
    ej->processed = c.rows_done;
    memcpy(ej->counts, c.by_status, sizeof ej->counts);
    reasons_load(ej);
    ej->dirty = true;
    ej->next = s->ejobs;
    s->ejobs = ej;
    if (j->status == ST_JOB_RUNNING)
        wk_log("job %s: resuming (%lld of %lld rows done)", j->id, (long long)c.rows_done, (long long)c.rows);
    st_job_set_status(s->store, j->id, ST_JOB_RUNNING, 0, NULL);
    save_progress(s, ej);
    if (s->o->offline) {
        offline_kick(s);
        return;
    }
    bk_run_cb cb = { run_result, run_done, run_error, ej };
    ej->run = bk_run_start(s->sched, ej->st, true, &cb, err, sizeof err);
    if (!ej->run)
        job_end(s, ej, err[0] ? err : "the job cannot start");
}

static size_t open_jobs(const sv *s)
{
    size_t n = 0;
    for (const ejob *ej = s->ejobs; ej; ej = ej->next)
        n++;
    return n;
}

static bool is_open(const sv *s, const char *id)
{
    for (const ejob *ej = s->ejobs; ej; ej = ej->next)
        if (strcmp(ej->id, id) == 0)
            return true;
    return false;
}

/* Starts queued (and, after a restart, running) jobs up to max_running. */
static void start_jobs(sv *s)
{
    if (atomic_load(&s->stopping))
        return;
    if (s->pg_jobs) {
        coord_kick(s);
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        st_job *jobs = NULL;
        size_t n = 0;
        if (st_job_list_status(s->store, pass == 0 ? ST_JOB_RUNNING : ST_JOB_QUEUED, &jobs, &n) != 0) {
            wk_log("cannot read the job catalogue: %s", st_store_error(s->store));
            return;
        }
        for (size_t i = 0; i < n; i++) {
            if ((int)open_jobs(s) < s->o->max_running && !is_open(s, jobs[i].id))
                job_open(s, &jobs[i]);
            st_job_clear(&jobs[i]);
        }
        free(jobs);
    }
}

static void delete_task(void *arg)
{
    sv_msg *m = arg;
    sv_job_rmdir(m->s, m->id);
    if (m->s->fstore && st_job_files_delete(m->s->fstore, m->id) < 0)
        wk_log("job %s: cannot delete its files from the database: %s", m->id, st_store_error(m->s->fstore));
    free(m);
}

static void job_delete(sv *s, sv_msg *m)
{
    m->s = s;
    for (ejob *ej = s->ejobs; ej; ej = ej->next) {
        if (strcmp(ej->id, m->id) == 0) {
            ejob_close(ej);
            ejob_unlink(s, ej);
            ejob_free(ej);
            break;
        }
    }
    if (!sv_pool_post(s->io, delete_task, m))
        free(m);
    start_jobs(s);
}

/* ---- jobs over PostgreSQL: the coordinator (on the io worker) ---------------------- */

/* Every row has its result, now in the state file (or not: error): the
 * job's figures and its end into the catalogue, then the webhook. */
static void pg_finish(sv *s, const st_job *j, bk_state *st, const char *error)
{
    bk_counts c;
    json_t *o = error ? NULL : json_object();
    if (!error && (!o || bk_state_counts_reasons(st, &c, reason_add, o) != 0))
        error = "the job's state cannot be read";
    else if (!error && c.rows_done != c.rows)
        error = "internal error: rows without a result";
    if (error) {
        json_decref(o);
        wk_log("job %s: %s", j->id, error);
    } else {
        char *reasons = NULL;
        if (bk_state_blocked(st, blocked_add, o) == 0)
            reasons = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(o);
        o = NULL;
        if (st_job_progress(s->cstore, j->id, c.rows_done, c.by_status) != 0 ||
            (reasons && st_job_set_reasons(s->cstore, j->id, reasons) != 0)) {
            wk_log("job %s: cannot record its figures: %s", j->id, st_store_error(s->cstore));
            free(reasons);
            return; /* tried again at the next pass */
        }
        free(reasons);
    }
    if (st_job_set_status(s->cstore, j->id, error ? ST_JOB_FAILED : ST_JOB_DONE, wk_now(), error) != 0) {
        wk_log("job %s: cannot record its end: %s", j->id, st_store_error(s->cstore));
        return;
    }
    wk_log("job %s: %s (%lld rows)", j->id, error ? "failed" : "done", (long long)j->total);
    st_job done;
    if (st_job_get(s->cstore, j->id, &done) == 1) {
        webhook_send(s, &done);
        st_job_clear(&done);
    }
}

/* Wall-clock unix milliseconds (leases are compared across machines). */
static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Takes or renews this server's lease on coordinating job id: true when
 * this server is (still) the job's coordinator. */
static bool coord_lease(sv *s, const char *id)
{
    int held = st_job_coord_take(s->store, id, s->node_id, COORD_LEASE_MS, wall_ms());
    if (held < 0)
        wk_log("job %s: cannot take its coordinator lease: %s", id, st_store_error(s->store));
    return held == 1;
}

/* One coordinator pass (src/work/coord.h) over one job: by the one server
 * holding its lease (any server on the database; a job whose coordinator
 * died is taken over once the lease ran out), from its state file, fetched
 * from the database when the job was uploaded through another server.
 * true when it left results to copy at its bound (wk_coord_pass.more). */
static bool pg_job(sv *s, const st_job *j)
{
    char path[PATH_MAX], err[512] = "";
    if (!coord_lease(s, j->id))
        return false; /* another server coordinates it */
    int here = sv_job_fetch(s, j->id, err, sizeof err);
    if (here <= 0) {
        /* no state anywhere: a job of `verify --db`, which coordinates it
         * itself, or deleted meanwhile; or the database failed */
        if (here < 0)
            wk_log("job %s: cannot fetch its state: %s", j->id, err);
        st_job_coord_give(s->store, j->id, s->node_id);
        return false;
    }
    sv_job_state_path(s, j->id, path, sizeof path);
    bk_state *st = NULL;
    if (bk_state_open(&st, path, err, sizeof err) != 0) {
        wk_log("job %s: cannot open its state: %s", j->id, err);
        bk_state_close(st);
        st_job_set_status(s->cstore, j->id, ST_JOB_FAILED, wk_now(), "the job's data cannot be read");
        return false;
    }
    wk_coord_pass p;
    wk_rc rc = wk_coord_run(s->cstore, j->id, st, &p, err, sizeof err);
    if (p.published > 0)
        wk_log("job %s: %lld addresses published to the workers", j->id, (long long)p.published);
    if (rc == WK_RETRY) {
        wk_log("job %s: %s", j->id, err); /* tried again at the next pass */
    } else {
        if (j->status == ST_JOB_QUEUED)
            st_job_set_status(s->cstore, j->id, ST_JOB_RUNNING, 0, NULL);
        if ((rc == WK_FAILED || p.complete) && !coord_lease(s, j->id)) {
            /* the pass outlived the lease and another server took the
             * job over: the end is that server's to record */
            wk_log("job %s: taken over by another server", j->id);
        } else if (rc == WK_FAILED) {
            wk_log("job %s: %s", j->id, err);
            pg_finish(s, j, st, "the job's state cannot be written");
        } else if (p.complete) {
            if (bk_state_set_int(st, "collected", 1) != 0)
                wk_log("job %s: cannot write its state: %s", j->id, bk_state_error(st));
            pg_finish(s, j, st, NULL);
        } else if (st_job_progress(s->cstore, j->id, p.rows.done, p.rows.by_status) != 0) {
            wk_log("job %s: cannot record its progress: %s", j->id, st_store_error(s->cstore));
        }
    }
    bk_state_close(st);
    return rc == WK_OK && p.more;
}

static void coord_kick(sv *s);

static void coord_task(void *arg)
{
    sv *s = arg;
    bool again = false;
    for (int pass = 0; pass < 2 && !atomic_load(&s->stopping); pass++) {
        st_job *jobs = NULL;
        size_t n = 0;
        if (st_job_list_status(s->cstore, pass == 0 ? ST_JOB_RUNNING : ST_JOB_QUEUED, &jobs, &n) != 0) {
            wk_log("cannot read the job catalogue: %s", st_store_error(s->cstore));
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (!atomic_load(&s->stopping))
                again = pg_job(s, &jobs[i]) || again;
            st_job_clear(&jobs[i]);
        }
        free(jobs);
    }
    atomic_store(&s->coord_busy, false);
    if (again)
        coord_kick(s); /* results left to copy: the next pass now, not at the next tick */
}

/* Queues a coordinator pass unless one is queued or running. */
static void coord_kick(sv *s)
{
    bool busy = false;
    if (atomic_load(&s->stopping) || !atomic_compare_exchange_strong(&s->coord_busy, &busy, true))
        return;
    if (!sv_pool_post(s->io, coord_task, s))
        atomic_store(&s->coord_busy, false);
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void queue_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sv *s = arg;
    pthread_mutex_lock(&s->q_lock);
    sv_msg *m = s->q_head;
    s->q_head = s->q_tail = NULL;
    pthread_mutex_unlock(&s->q_lock);
    bool jobs = false;
    while (m) {
        sv_msg *next = m->next;
        switch (m->kind) {
        case SV_MSG_VERIFY:
            verify_one(s, m->req);
            free(m);
            break;
        case SV_MSG_JOBS:
            jobs = true;
            free(m);
            break;
        case SV_MSG_DELETE:
            job_delete(s, m); /* takes m */
            break;
        }
        m = next;
    }
    if (jobs)
        start_jobs(s);
}

bool sv_engine_post(sv *s, sv_msg *m)
{
    m->next = NULL;
    pthread_mutex_lock(&s->q_lock);
    if (s->q_closed) {
        pthread_mutex_unlock(&s->q_lock);
        return false;
    }
    if (s->q_tail)
        s->q_tail->next = m;
    else
        s->q_head = m;
    s->q_tail = m;
    pthread_mutex_unlock(&s->q_lock);
    event_active(s->q_event, 0, 0);
    return true;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sv *s = arg;
    int64_t waiting = 0;
    for (ejob *ej = s->ejobs; ej; ej = ej->next) {
        save_progress(s, ej);
        waiting += ej->total - ej->processed;
    }
    (void)waiting;
    if (s->pg_jobs)
        coord_kick(s);
    if (s->v)
        atomic_store(&s->m.smtp_connections, bc_verifier_connections(s->v));
}

/* On the io worker: this server's copies of jobs deleted through another. */
static void sweep_task(void *arg)
{
    sv_jobs_sweep(arg, FILES_SWEEP_AGE_S);
}

static void housekeeping_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sv *s = arg;
    char(*ids)[ST_JOB_ID_LEN + 1] = NULL;
    size_t n = 0;
    int64_t before = wk_now() - (int64_t)s->o->retention_days * 86400;
    if (st_job_expired(s->store, before, &ids, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (st_job_delete(s->store, ids[i]) <= 0)
                continue;
            sv_msg *m = calloc(1, sizeof *m);
            if (!m)
                continue;
            m->kind = SV_MSG_DELETE;
            memcpy(m->id, ids[i], sizeof m->id);
            wk_log("job %s: deleted after %d days (--retention)", ids[i], s->o->retention_days);
            job_delete(s, m);
        }
        free(ids);
    }
    st_cache_purge(s->store, wk_now());
    if (s->pg_jobs) {
        if (st_job_files_sweep(s->store, wk_now() - FILES_SWEEP_AGE_S) < 0)
            wk_log("cannot sweep the job files: %s", st_store_error(s->store));
        sv_pool_post(s->io, sweep_task, s);
    }
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    sv *s = arg;
    wk_log("%s: stopping (jobs resume at the next start)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    atomic_store(&s->stopping, true);
    event_base_loopbreak(s->base);
}

int sv_engine_init(sv *s, char *err, size_t errlen)
{
    if (evthread_use_pthreads() != 0) {
        sv_fmt(err, errlen, "libevent has no thread support");
        return -1;
    }
    s->base = event_base_new();
    if (!s->base) {
        sv_fmt(err, errlen, "cannot create the event loop");
        return -1;
    }
    pthread_mutex_init(&s->q_lock, NULL);
    s->q_event = event_new(s->base, -1, 0, queue_cb, s);
    s->tick = event_new(s->base, -1, EV_PERSIST, tick_cb, s);
    s->housekeeping = event_new(s->base, -1, EV_PERSIST, housekeeping_cb, s);
    s->offline_step = s->o->offline ? evtimer_new(s->base, offline_cb, s) : NULL;
    if (!s->q_event || !s->tick || !s->housekeeping || (s->o->offline && !s->offline_step)) {
        sv_fmt(err, errlen, "out of memory");
        return -1;
    }
    if (!s->o->offline) {
        if (bc_verifier_new(&s->v, s->o->ctx, s->base, s->o->vo, err, errlen) != BC_OK)
            return -1;
        bk_sched_opts so = { .vo = s->o->vo };
        s->sched = bk_sched_new(s->base, s->v, &so);
        if (!s->sched) {
            sv_fmt(err, errlen, "out of memory");
            return -1;
        }
        wk_log("identity: EHLO %s, MAIL FROM <%s>", bc_verifier_helo(s->v), bc_verifier_mail_from(s->v));
        s->rwatch = wk_rwatch_start(s->base, s->v); /* logs the first check's outcome */
        if (!s->rwatch) {
            sv_fmt(err, errlen, "out of memory");
            return -1;
        }
    }
    s->pg_jobs = st_store_is_pg(s->o->db) && !s->o->offline;
    if (s->pg_jobs) {
        /* job files go in and out on a connection of their own: a big
         * upload or export never holds up the HTTP threads' queries */
        if (st_store_open_db(&s->fstore, s->o->db, s->o->data_dir, err, errlen) != 0 ||
            st_worker_new_id(s->node_id) != 0) {
            if (!err[0])
                sv_fmt(err, errlen, "no random node id");
            return -1;
        }
        wk_log("jobs shared through the database: this server is node %s", s->node_id);
    }
    /* the coordinator has a connection of its own too: publishing a job
     * holds one for each chunk of rows it adds (up to a second for a million
     * rows on a busy machine), which the HTTP threads would wait for */
    if (s->pg_jobs && st_store_open_db(&s->cstore, s->o->db, s->o->data_dir, err, errlen) != 0)
        return -1;
    if (s->pg_jobs && !s->o->no_work) {
        /* the worker has a connection of its own: its claims and results
         * never wait behind an HTTP thread's query, nor the reverse */
        if (st_store_open_db(&s->wstore, s->o->db, s->o->data_dir, err, errlen) != 0)
            return -1;
        wk_opts wo = { .store = s->wstore,
                       .base = s->base,
                       .v = s->v,
                       .vo = s->o->vo,
                       .claims = s->o->work_claims,
                       .claim_rows = s->o->work_claim_rows,
                       .lease_ms = s->o->work_lease_ms };
        s->wk = wk_start(&wo, err, errlen);
        if (!s->wk)
            return -1;
    } else if (s->pg_jobs) {
        wk_log("--no-work: the jobs' rows are left to the workers");
    }
    return 0;
}

void sv_engine_run(sv *s)
{
    struct event *sigint = evsignal_new(s->base, SIGINT, signal_cb, s);
    struct event *sigterm = evsignal_new(s->base, SIGTERM, signal_cb, s);
    struct timeval tick = { TICK_MS / 1000, (TICK_MS % 1000) * 1000 }, hk = { HOUSEKEEPING_S, 0 };
    if (sigint)
        event_add(sigint, NULL);
    if (sigterm)
        event_add(sigterm, NULL);
    event_add(s->tick, &tick);
    event_add(s->housekeeping, &hk);
    housekeeping_cb(-1, 0, s);
    /* Ended jobs whose webhook was not delivered before a stop: send it now. */
    for (int st = ST_JOB_DONE; st <= ST_JOB_FAILED; st++) {
        st_job *jobs = NULL;
        size_t n = 0;
        if (st_job_list_status(s->store, (st_job_status)st, &jobs, &n) == 0) {
            for (size_t i = 0; i < n; i++) {
                webhook_send(s, &jobs[i]);
                st_job_clear(&jobs[i]);
            }
            free(jobs);
        }
    }
    start_jobs(s);

    event_base_dispatch(s->base);

    /* Stopping: commit and close the jobs (the catalogue keeps them
     * running, so the next start resumes them), cancel what is in flight. */
    atomic_store(&s->stopping, true);
    while (s->ejobs) {
        ejob *ej = s->ejobs;
        save_progress(s, ej);
        ejob_close(ej);
        s->ejobs = ej->next;
        ejob_free(ej);
    }
    queue_cb(-1, 0, s); /* verifications that arrived meanwhile */
    wk_shutdown(s->wk); /* results written, the other rows given back */
    bk_sched_free(s->sched);
    s->sched = NULL;
    wk_rwatch_stop(s->rwatch); /* /healthz still shows the last outcome */
    bc_verifier_free(s->v);    /* answers the waiting requests ("shutting down") */
    s->v = NULL;
    for (int i = 0; i < 8; i++)
        event_base_loop(s->base, EVLOOP_NONBLOCK);
    /* a request may still have posted something: answer it */
    pthread_mutex_lock(&s->q_lock);
    sv_msg *m = s->q_head;
    s->q_head = s->q_tail = NULL;
    s->q_closed = true;
    pthread_mutex_unlock(&s->q_lock);
    while (m) {
        sv_msg *next = m->next;
        if (m->kind == SV_MSG_VERIFY) {
            sv_req_answer_error(m->req, 503, "unavailable", "the server is shutting down");
            sv_req_resume(m->req);
        }
        free(m);
        m = next;
    }
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
}

void sv_engine_free(sv *s);
void sv_engine_free(sv *s)
{
    wk_free(s->wk); /* after the HTTP threads (/metrics reads its counters) */
    s->wk = NULL;
    st_store_close(s->wstore);
    s->wstore = NULL;
    st_store_close(s->fstore);
    s->fstore = NULL;
    st_store_close(s->cstore);
    s->cstore = NULL;
    if (s->q_event)
        event_free(s->q_event);
    if (s->tick)
        event_free(s->tick);
    if (s->housekeeping)
        event_free(s->housekeeping);
    if (s->offline_step)
        event_free(s->offline_step);
    wk_rwatch_free(s->rwatch); /* after the HTTP threads */
    s->rwatch = NULL;
    if (s->base)
        event_base_free(s->base);
    s->base = NULL;
    pthread_mutex_destroy(&s->q_lock);
}

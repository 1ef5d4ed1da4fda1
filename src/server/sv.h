/*
 * sv.h - the server's shared state, private to src/server/.
 */
#ifndef BC_SERVER_SV_H
#define BC_SERVER_SV_H

#include <limits.h>
#include <microhttpd.h>

#include "bulk.h"
#include "rwatch.h"
#include "selfcheck.h"
#include "log.h"
#include "server.h"
#include "store.h"

/* ---- pieces shared by the server's files ---------------------------------------- */

typedef struct sv sv;

/* A thread with a task queue (file work, webhooks, domain checks): fn(arg) runs there. */
typedef struct sv_pool sv_pool;
sv_pool *sv_pool_new(const char *name);
/* nthreads threads on one queue (the extractions). */
sv_pool *sv_pool_new_n(const char *name, int nthreads);
/* Queues fn(arg); false when the thread is stopping (fn is not called). */
bool sv_pool_post(sv_pool *w, void (*fn)(void *arg), void *arg);
/* Queues fn(arg) unless every thread is busy and max_queued tasks already
 * wait: 1 queued, 0 full, -1 stopping or out of memory (fn is not called). */
int sv_pool_try_post(sv_pool *w, void (*fn)(void *arg), void *arg, size_t max_queued);
/* Whether sv_pool_try_post with max_queued would find the pool full now. */
bool sv_pool_full(sv_pool *w, size_t max_queued);
/* The tasks running and waiting now (for /metrics). */
void sv_pool_counts(sv_pool *w, size_t *running, size_t *queued);
/* Runs what is queued, then stops the thread; later posts fail. */
void sv_pool_stop(sv_pool *w);
/* Stops (when not yet) and frees. Accepts NULL. */
void sv_pool_free(sv_pool *w);

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
    atomic_uint_fast64_t http[6];          /* by status class: 1xx..5xx at [1..5] */
    atomic_uint_fast64_t http_code[600];   /* by exact status */
    atomic_uint_fast64_t verifications[4]; /* by bc_verdict_status */
    atomic_uint_fast64_t cache_hits, cache_misses;
    atomic_uint_fast64_t smtp_connections;
    atomic_int_fast64_t queue_depth;
    atomic_int_fast64_t jobs[5];           /* by st_job_status, of jobs in the catalogue */
    atomic_int_fast64_t conns_open;        /* HTTP connections counted against the limits */
    atomic_uint_fast64_t conns_refused[2]; /* by sv_conn_refused */
    atomic_uint_fast64_t conns_cut[4];     /* by sv_conn_cut */
} sv_metrics;

/* Why conns.c closed a connection at its start, or later. */
typedef enum sv_conn_refused {
    SV_CONN_REFUSED_PER_IP, /* its address holds --max-connections-per-ip */
    SV_CONN_REFUSED_FULL,   /* --max-connections, each with a request in progress */
    SV_CONN_REFUSED_N
} sv_conn_refused;
typedef enum sv_conn_cut {
    SV_CONN_CUT_HEADERS,  /* headers not complete within --header-timeout */
    SV_CONN_CUT_BODY,     /* a body slower than --body-min-rate */
    SV_CONN_CUT_IDLE,     /* no next request within --keepalive-timeout (+ --header-timeout) */
    SV_CONN_CUT_REPLACED, /* at --max-connections, gave its place to a new connection */
    SV_CONN_CUT_N
} sv_conn_cut;

/* Milliseconds of a monotonic clock (wall-clock time and the log: src/work/log.h). */
int64_t sv_mono_ms(void);

/* snprintf that truncates quietly (paths in messages may be long). */
void sv_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

struct event_base;
struct event;
typedef struct bk_sched bk_sched;

/* A request's context (MHD's con_cls), from its headers to its end. */
typedef struct hreq hreq;

/* What the engine is asked to do by the HTTP threads. */
typedef enum sv_msg_kind { SV_MSG_VERIFY, SV_MSG_JOBS, SV_MSG_DELETE } sv_msg_kind;
typedef struct sv_msg {
    sv_msg_kind kind;
    hreq *req;                  /* VERIFY */
    char id[ST_JOB_ID_LEN + 1]; /* DELETE */
    struct sv *s;
    struct sv_msg *next;
} sv_msg;

/* One API key as the HTTP threads know it. */
typedef struct sv_kent {
    unsigned char hash[32]; /* SHA-256 of the secret */
    st_key k;
    bool stale;    /* the store changed: look the record up again */
    double tokens; /* rate limit bucket */
    int64_t refill_ms;
    int64_t day;  /* days since the epoch of `used` */
    int64_t used; /* verifications that day */
} sv_kent;

struct sv {
    const sv_opts *o;
    st_store *store;
    struct MHD_Daemon *mhd;
    sv_cache *cache;
    sv_metrics m;
    sv_pool *io, *hooks, *checks;
    sv_pool *extract; /* /v1/extract: --extract-workers threads, --extract-queue waiting */
    char secret[128]; /* the webhook secret */
    atomic_bool stopping;
    bool loopback;           /* listening on a loopback address */
    struct sv_conns *conns;  /* the connections' limits and deadlines (conns.c) */
    char jobs_dir[PATH_MAX]; /* DATA/jobs */

    /* keys (auth.c) */
    pthread_mutex_t auth_lock;
    int64_t auth_checked_ms, store_version;
    bool keys_exist;
    sv_kent *kents;
    size_t nkent, capkent;

    /* the engine (engine.c) */
    struct event_base *base;
    bc_verifier *v;
    bk_sched *sched;
    pthread_mutex_t q_lock;
    sv_msg *q_head, *q_tail;
    bool q_closed; /* the engine has stopped taking messages */
    struct event *q_event;
    struct ejob *ejobs; /* jobs open in the engine */
    struct event *tick, *housekeeping;
    struct event *offline_step; /* --offline: the next slice of the jobs */
    wk_rwatch *rwatch;          /* the resolver check (online); read by /healthz, /metrics */
    sv_selfcheck *doctor;       /* the doctor's report (online): at start and GET /v1/doctor */

    /* jobs over PostgreSQL (--db postgres://..., online): rows in the
     * store's job_rows, verified by workers (engine.c's coordinator) */
    bool pg_jobs;
    atomic_bool coord_busy; /* a coordinator pass is queued or running on the io worker */
    st_store *wstore;       /* the in-process worker's own connection */
    st_store *cstore;       /* the coordinator's own connection (its passes run on the io worker) */
    struct wk *wk;          /* the in-process worker (NULL with --no-work) */
    /* several servers on one database: jobs' files are kept in the store
     * and any node may coordinate a job (under its lease, as node_id) */
    st_store *fstore;                   /* the io worker's connection: job files moved in and out */
    char node_id[ST_WORKER_ID_LEN + 1]; /* this server as the holder of coordinator leases */
};

/* http.c (the request API of the endpoint families is api.h) */
int sv_http_start(sv *s, char *err, size_t errlen);
void sv_http_stop(sv *s);
/* Called by the engine or a worker when a suspended request has its
 * answer (set with sv_req_answer*): resumes the connection. */
void sv_req_resume(hreq *r);
/* Sets a suspended request's answer: a JSON body (taken, malloc'd), or an
 * error. */
void sv_req_answer_json(hreq *r, unsigned status, char *body, size_t len);
void sv_req_answer_error(hreq *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A JSON error body {"error": {"code", "message"}}, malloc'd. */
char *sv_error_json(const char *code, const char *message, size_t *len);

/* conns.c: the HTTP connections' limits (per client address, in all) and
 * the deadlines of their requests; http.c hands it libmicrohttpd's events. */
typedef struct sv_conns sv_conns;
/* Starts the guard (and its thread); NULL with err. */
sv_conns *sv_conns_new(const sv_opts *o, sv_metrics *m, char *err, size_t errlen);
/* Stops the thread and frees; libmicrohttpd stopped first. Accepts NULL. */
void sv_conns_free(sv_conns *cs);
/* Checks one --trusted-proxy value (ADDR or ADDR/BITS, comma-separated):
 * 0, or -1 with err. */
int sv_conns_check_proxies(const char *spec, char *err, size_t errlen);
/* libmicrohttpd's accept policy and connection notifier (cls: the guard). */
enum MHD_Result sv_conns_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);
void sv_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode code);
/* A request's headers are in: 1 it may go on, 0 its client (behind a
 * trusted proxy) has --max-connections-per-ip requests in progress. */
int sv_conns_headers(sv_conns *cs, struct MHD_Connection *c);
/* n body bytes arrived: false when the body comes slower than --body-min-rate. */
bool sv_conns_body(sv_conns *cs, struct MHD_Connection *c, size_t n);
/* The request's answer is under way (its body is in, or not wanted). */
void sv_conns_answer(sv_conns *cs, struct MHD_Connection *c);
/* The request is over (completed: answered in full; the connection may
 * wait for the next one). */
void sv_conns_done(sv_conns *cs, struct MHD_Connection *c, bool completed);

/* api_verify.c: the email and timeout of a verification request (the
 * engine sets its answer). */
const char *sv_req_email(const hreq *r, size_t *len, int *timeout_ms);
/* Whether the request asked for the SMTP transcript (?trace=1). */
bool sv_req_trace(const hreq *r);

/* api_jobs.c: the JSON object of a job (jansson json_t *, as void * to keep
 * jansson out of this header); caller json_decref's. */
void *sv_job_json(const st_job *j);

/* engine.c */
int sv_engine_init(sv *s, char *err, size_t errlen);
/* Runs the loop until stopping; then cancels what runs and frees the engine. */
void sv_engine_run(sv *s);
/* Hands a message to the engine (any thread). false when stopping. */
bool sv_engine_post(sv *s, sv_msg *m);
/* Body for a finished verification: the result JSON with "cached": false,
 * and the one to cache (with "cached": true); caches it. */
char *sv_result_bodies(sv *s, bc_result *r, const char *cache_key, size_t *len);

/* auth.c */
typedef enum sv_auth {
    SV_AUTH_OPEN,    /* no key exists: open */
    SV_AUTH_OK,      /* *key filled */
    SV_AUTH_MISSING, /* 401 */
    SV_AUTH_UNKNOWN, /* 401 */
    SV_AUTH_REVOKED, /* 403 */
    SV_AUTH_ERROR,   /* 500 */
} sv_auth;
sv_auth sv_auth_check(sv *s, const char *authorization, st_key *key);
/* Rate limit: 0 when the request may go on, else the seconds to wait. */
int sv_rate_take(sv *s, const st_key *key);
/* Daily quota: takes n verifications; 0 when allowed, else the seconds
 * until the quota resets. */
int sv_quota_take(sv *s, const st_key *key, int64_t n);
/* Makes the next sv_auth_check look at the store again: after the server
 * itself created or revoked a key. */
void sv_auth_changed(sv *s);
/* Verifications counted against key today (UTC). */
int64_t sv_quota_used(sv *s, const st_key *key);
void sv_auth_free(sv *s);

/* serve.c: the file side of jobs, run on the io thread. */
/* Path of a job's directory / state file / results file (into buf). */
void sv_job_dir(const sv *s, const char *id, char *buf, size_t size);
void sv_job_state_path(const sv *s, const char *id, char *buf, size_t size);
/* Removes a job's directory and everything in it. */
void sv_job_rmdir(const sv *s, const char *id);
/* Removes job directories the catalogue does not know (crash mid-upload;
 * over PostgreSQL also copies of jobs deleted through another server), and
 * spool files; with min_age > 0 only those unchanged for min_age seconds
 * (uploads may be under way). */
void sv_jobs_sweep(sv *s, int64_t min_age);
/* Jobs over PostgreSQL: stores the job's state file in the database (the
 * upload made durable before it is acknowledged). 0, or -1 with err. */
int sv_job_store(sv *s, const char *id, char *err, size_t errlen);
/* Jobs over PostgreSQL: makes sure this node has the job's state file,
 * fetching it from the database when it has none (a job uploaded through
 * another node). 1 here, 0 neither here nor in the database, -1 error (err). */
int sv_job_fetch(sv *s, const char *id, char *err, size_t errlen);

/* metrics */
char *sv_metrics_text(sv *s, size_t *len);

#endif

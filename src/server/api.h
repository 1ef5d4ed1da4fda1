/*
 * api.h - the HTTP API's route table and the small request API its endpoint
 * families share; private to src/server/.
 *
 *   http.c        libmicrohttpd: the daemon, the connection callbacks, body
 *                 bytes (limits, deadline), answers, suspend and resume
 *   api.c         the route table and its dispatcher: method and path,
 *                 404/405, the caller's key, rate limit, admin keys
 *   api_*.c       one endpoint family each; upload.c: the bodies of
 *                 POST /v1/jobs and /v1/jobs/preview (uploads, conversion,
 *                 import, preview) and the spool files other uploads use
 *   params.c      what a request's query parameters and JSON body ask for
 *                 (params.h), read apart from the connection
 *
 * A request goes: first call (headers in) -> api_dispatch() matches the
 * route, checks the key as route->auth says, then route->begin; body bytes
 * -> r->buf (API_BODY_JSON) or route->chunk (API_BODY_STREAM); the last call
 * with no answer yet -> route->end; the request's end -> route->done. A
 * route's begin or end answers at once (api_fail, api_send) or hands the
 * work to another thread (api_run_on), which sets the answer and resumes.
 */
#ifndef BC_SERVER_API_H
#define BC_SERVER_API_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "params.h"
#include "sv.h"

#define API_SMALL_BODY_MAX (64 * 1024) /* a JSON body: POST /v1/verify, POST /v1/keys */

/* Who may call a route: checked by the dispatcher before begin. */
typedef enum api_auth {
    API_PUBLIC,     /* anyone: /healthz, /metrics, /openapi.json, the web UI */
    API_KEY,        /* the caller's key (none while no key exists), rate limited */
    API_ADMIN_READ, /* API_KEY and, once keys exist, an admin key */
    API_ADMIN,      /* API_KEY and an admin key (none to be had on an open server) */
} api_auth;

/* What a route does with a request body. */
typedef enum api_body {
    API_BODY_NONE,   /* none is read: bytes sent anyway are dropped */
    API_BODY_JSON,   /* gathered in r->buf, at most API_SMALL_BODY_MAX bytes */
    API_BODY_STREAM, /* handed to route->chunk as it comes, within the body deadline */
} api_body;

/* One entry of the route table (api.c). path: literal segments, where
 * "{job}" stands for a job id (ST_JOB_ID_LEN lowercase hex) and "{key}" for
 * a key id (k_ and 12 lowercase hex), either copied to r->id; a final "/?"
 * makes the last slash optional, a final "*" takes any rest. */
typedef struct api_route {
    const char *method; /* "GET" (HEAD too), "POST", "DELETE"; NULL: any
                                                           * (begin answers 405 itself) */
    const char *path;
    api_auth auth;
    api_body body;
    enum MHD_Result (*begin)(hreq *r);                    /* headers in; NULL: wait for the body */
    void (*chunk)(hreq *r, const char *data, size_t len); /* API_BODY_STREAM: body bytes */
    enum MHD_Result (*end)(hreq *r);                      /* the body is in and no answer is set yet */
    void (*done)(hreq *r);                                /* the request is over: release what r->st holds
                                                           * (http.c frees r->st itself) */
} api_route;

/* A request's context (MHD's con_cls), from its headers to its end: only
 * what every route needs. A family's own state hangs at st (api_state). */
struct hreq {
    sv *s;
    struct MHD_Connection *conn;
    const api_route *route;     /* NULL until one matched */
    const char *url;            /* the path (MHD's: read it in begin) */
    bool get;                   /* GET or HEAD */
    bool post;                  /* POST: the body is read, an answer goes out at once */
    bool first;                 /* in the first call (headers only) */
    char id[ST_JOB_ID_LEN + 1]; /* the job or key the request is about: the path's, or a new job's */
    st_key key;                 /* the caller's key (id "" when open) */
    int64_t t0;
    const char *note; /* named beside the status in the --debug log (a verification's address) */
    /* the answer, set here or by another thread before resuming */
    bool ready;
    unsigned status;
    char *body;
    size_t body_len;
    const char *ctype;
    int fd; /* a file answer (results), -1 when none */
    uint64_t fd_size;
    char hname[32], hval[512]; /* one extra header */
    /* a body being received */
    char *buf; /* API_BODY_JSON, or what a family gathers with api_buf_append */
    size_t len, cap;
    bool discard; /* an error is set: drop the rest of the body */
    void *st;     /* the family's state (api_state), freed at the end */
};

/* ---- api.c: routing ---------------------------------------------------------------- */

/* The first call: matches the route, checks the key, runs route->begin. */
enum MHD_Result api_dispatch(hreq *r, const char *url, const char *method);
/* 405 with Allow: allow. */
enum MHD_Result api_method_not_allowed(hreq *r, const char *allow);
/* The daily quota: takes n verifications of the caller's key. 0 when
 * allowed, else the seconds until it resets, with Retry-After set (the
 * caller says why in its 429). */
int api_quota(hreq *r, int64_t n);

/* The family's state: size bytes of zeroes at r->st (made once); NULL
 * when out of memory. */
void *api_state(hreq *r, size_t size);

/* ---- http.c: the request and its answer ---------------------------------------------- */

/* A query parameter / a request header, or NULL. */
const char *api_arg(hreq *r, const char *name);
const char *api_header(hreq *r, const char *name);
/* A boolean query parameter: 1/true or 0/false, *v false when absent.
 * False (and nothing set) for any other value. */
bool api_bool_arg(hreq *r, const char *name, bool *v);
/* Whether the Content-Length header says more than max bytes. */
bool api_too_long(hreq *r, int64_t max);

/* Sets the answer (body taken, malloc'd; NULL with len 0 for none). */
void api_set_answer(hreq *r, unsigned status, const char *ctype, char *body, size_t len);
/* A JSON answer from o (taken); 500 when o is NULL. */
void api_answer_obj(hreq *r, unsigned status, json_t *o);
/* The extra header of the answer. */
void api_set_header(hreq *r, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sends the answer held in r (in a GET's first call: on the next). */
enum MHD_Result api_send(hreq *r);
/* An error answered at once. */
enum MHD_Result api_fail(hreq *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An error noticed while a body arrives: sent when it has arrived; the
 * first one stands. */
void api_fail_later(hreq *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Counts an answer sent without api_send (the web UI's) in /metrics. */
void api_count(hreq *r, unsigned status);

/* Appends body bytes to r->buf (NUL room kept); false with a 500 set. */
bool api_buf_append(hreq *r, const char *data, size_t len);
/* The JSON body gathered in r->buf, parsed (duplicate keys refused); NULL
 * with *ret set when the request is already answered or the JSON is bad. */
json_t *api_body_json(hreq *r, enum MHD_Result *ret);

/* Suspends the connection and runs task(arg) on worker w, which sets the
 * answer and calls sv_req_resume. false when w refused it (stopping): the
 * 503 is then set and the connection resumed, and arg is the caller's. */
bool api_run_on(hreq *r, sv_pool *w, void (*task)(void *), void *arg);
/* task(r) on the checks worker (a tool that waits for DNS or connections
 * never holds an HTTP thread); 503 while shutting down. */
enum MHD_Result api_on_checks(hreq *r, void (*task)(void *));

/* ---- api.c: JSON pieces ------------------------------------------------------------- */

json_t *api_time_or_null(int64_t t);
json_t *api_str_or_null(const char *s);
/* A cell or a name as a JSON string; invalid UTF-8 bytes become U+FFFD. */
json_t *api_cell_json(const char *c, size_t n);

/* ---- upload.c: a body spooled to a file ---------------------------------------------- */

typedef struct api_spool {
    FILE *f;
    char path[PATH_MAX];
    bool temp;      /* a temporary file, removed when the request ends */
    bool in_memory; /* the bytes go to r->buf instead (a JSON list) */
    int64_t got;    /* body bytes received */
} api_spool;
/* DATA/jobs/PREFIX-XXXXXX opened with mode (swept at the next start if a
 * crash leaves it). MHD_YES, or the 500 answered. */
enum MHD_Result api_spool_temp(hreq *r, api_spool *sp, const char *prefix, const char *mode);
/* Body bytes, within --max-body (else a 413 later). false on an error. */
bool api_spool_write(hreq *r, api_spool *sp, const char *data, size_t len);
/* Closes the file: 0, or -1 (the 500 is the caller's). */
int api_spool_close(api_spool *sp);
/* Closes the file if open and removes a temporary one. */
void api_spool_free(api_spool *sp);

/* ---- the routes' callbacks, by family --------------------------------------------- */

/* api_meta.c: GET /healthz, /metrics, /openapi.json */
enum MHD_Result api_health(hreq *r);
enum MHD_Result api_metrics(hreq *r);
enum MHD_Result api_openapi(hreq *r);
/* api_ui.c: GET / and /ui/... */
enum MHD_Result api_ui_begin(hreq *r);
enum MHD_Result api_ui_end(hreq *r);
/* api_verify.c: GET and POST /v1/verify */
enum MHD_Result api_verify_get(hreq *r);
enum MHD_Result api_verify_post(hreq *r);
void api_verify_done(hreq *r);
/* api_jobs.c: GET /v1/jobs, GET and DELETE /v1/jobs/{job}, GET /v1/jobs/{job}/results */
enum MHD_Result api_jobs_list(hreq *r);
enum MHD_Result api_job_get(hreq *r);
enum MHD_Result api_job_delete(hreq *r);
enum MHD_Result api_job_results(hreq *r);
/* upload.c: POST /v1/jobs, POST /v1/jobs/preview */
enum MHD_Result api_upload_begin(hreq *r);
enum MHD_Result api_preview_begin(hreq *r);
void api_upload_chunk(hreq *r, const char *data, size_t len);
enum MHD_Result api_upload_end(hreq *r);
void api_upload_done(hreq *r);
/* api_extract.c: POST /v1/extract */
enum MHD_Result api_extract_begin(hreq *r);
void api_extract_chunk(hreq *r, const char *data, size_t len);
enum MHD_Result api_extract_end(hreq *r);
void api_extract_done(hreq *r);
/* api_disposable.c: GET /v1/disposable */
enum MHD_Result api_disposable(hreq *r);
void api_disposable_done(hreq *r);
/* api_dns.c: GET /v1/dns */
enum MHD_Result api_dns(hreq *r);
void api_dns_done(hreq *r);
/* api_smtp_test.c: GET /v1/smtp-test */
enum MHD_Result api_smtp_test(hreq *r);
void api_smtp_test_done(hreq *r);
/* api_doctor.c: GET /v1/doctor */
enum MHD_Result api_doctor(hreq *r);
/* api_keys.c: GET /v1/me, GET and POST /v1/keys, DELETE /v1/keys/{key} */
enum MHD_Result api_me(hreq *r);
enum MHD_Result api_keys_list(hreq *r);
enum MHD_Result api_keys_create(hreq *r);
enum MHD_Result api_key_revoke(hreq *r);

#endif

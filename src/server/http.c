/*
 * http.c - the HTTP side of `bouncecheck serve`, on libmicrohttpd: routing,
 * authentication, limits, request bodies (streamed to disk for uploads,
 * multipart through MHD's post processor) and answers.
 *
 * A handler never blocks for long: a verification that is not cached goes
 * to the engine, an upload to the io worker (import, or a preview), a first
 * download of results (each format and filter) to the io worker (export),
 * an SMTP test or a DNS report to the checks worker; the connection is
 * suspended meanwhile and resumed by whoever set its answer. /v1/me and
 * /v1/keys (admin keys) answer from the store at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <csv.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "engine.h"
#include "state.h"
#include "sv.h"
#include "ui.h"

extern const unsigned char bc_data_openapi_json[];
extern const size_t bc_data_openapi_json_len;

#define SMALL_BODY_MAX (64 * 1024)  /* POST /v1/verify */
#define FIELD_MAX 2048              /* multipart text parts */
#define STORE_HIT_TTL 60            /* a result read back from the store stays this long in memory */

enum route { R_HEALTH = 1, R_METRICS, R_OPENAPI, R_VERIFY, R_JOBS, R_JOB, R_RESULTS, R_DNS, R_EXTRACT, R_DISPOSABLE, R_UI,
             R_PREVIEW, R_SMTP_TEST, R_ME, R_KEYS, R_KEY, R_DOCTOR };

#define DNS_LIST_MAX 16             /* dkim_selector / ip parameters of /v1/dns */
#define PREVIEW_SAMPLE 10           /* data rows shown by /v1/jobs/preview */
#define SMTP_TEST_TIMEOUT_MS 10000  /* /v1/smtp-test: per connection and per reply */

/* Which rows of a job's results are sent (?filter=). */
enum rfilter { F_ALL, F_DELIVERABLE, F_UNDELIVERABLE, F_RISKY, F_UNKNOWN, F_REMOVE };
static const char *const filter_names[] = { "all", "deliverable", "undeliverable", "risky", "unknown", "remove" };

struct hreq {
    sv *s;
    struct MHD_Connection *conn;
    enum route route;
    bool post;
    bool first;                 /* in the first call (headers only) */
    char id[SV_JOB_ID_LEN + 1];
    sv_key key;                 /* the caller's key (id "" when open) */
    int64_t t0;
    /* the answer, set here or by another thread before resuming */
    bool ready;
    unsigned status;
    char *body;
    size_t body_len;
    const char *ctype;
    int fd;                     /* a file answer (results), -1 when none */
    uint64_t fd_size;
    char hname[32], hval[512];  /* one extra header */
    /* a body being received */
    char *buf;
    size_t len, cap;
    int64_t got;                /* body bytes received */
    bool discard;               /* an error is set: drop the rest of the body */
    /* verification */
    char *email;
    size_t email_len;
    int timeout_ms;
    bool trace;                 /* ?trace=1: fresh, with the SMTP transcript */
    char ckey[BC_ADDR_MAX + 8];
    bool has_ckey;
    /* upload */
    bool json_list, multipart, file_part;
    struct MHD_PostProcessor *pp;
    FILE *up;
    char up_path[PATH_MAX];
    bool dir_made, job_created;
    char webhook[FIELD_MAX], column[256], name[256];
    bool field_too_long;
    /* a web UI file */
    const sv_ui_asset *ui;
    /* results */
    bk_format rfmt;
    enum rfilter rfilter;
    /* /v1/jobs/preview */
    bool partial;
    /* /v1/keys/{id} */
    char kid[SV_KEY_ID_LEN + 1];
    /* /v1/smtp-test */
    int smtp_port;
    char helo[256];
    /* /v1/dns */
    char *domain;
    char *dns_sel[DNS_LIST_MAX], *dns_ip[DNS_LIST_MAX];
    size_t n_sel, n_ip;
    bool dns_too_many, dns_no_smtp;
    /* /v1/extract */
    bool tmp_made, obfuscated;
};

/* ---- JSON helpers ----------------------------------------------------------------- */

char *sv_error_json(const char *code, const char *message, size_t *len)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (t)
        *len = strlen(t);
    return t;
}

static json_t *time_or_null(int64_t t)
{
    if (!t)
        return json_null();
    char buf[32];
    sv_time_str(t, buf, sizeof buf);
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

void *sv_job_json(const sv_job *j)
{
    json_t *counts = json_pack("{s:I,s:I,s:I,s:I}", "deliverable", (json_int_t)j->counts[BC_STATUS_DELIVERABLE],
                               "undeliverable", (json_int_t)j->counts[BC_STATUS_UNDELIVERABLE], "risky",
                               (json_int_t)j->counts[BC_STATUS_RISKY], "unknown",
                               (json_int_t)j->counts[BC_STATUS_UNKNOWN]);
    json_t *reasons = j->reasons ? json_loads(j->reasons, 0, NULL) : NULL;
    if (!json_is_object(reasons)) {
        json_decref(reasons);
        reasons = json_object();
    }
    /* The engine keeps the "blocked" tally beside the reasons (engine.c) */
    json_t *blocked = json_object_get(reasons, "blocked_by");
    blocked = json_is_array(blocked) ? json_incref(blocked) : json_array();
    json_object_del(reasons, "blocked_by");
    return json_pack("{s:s,s:o,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", j->id, "name", str_or_null(j->name),
                     "status", sv_job_status_name(j->status), "total", (json_int_t)j->total, "processed",
                     (json_int_t)j->processed, "counts", counts, "reasons", reasons, "blocked", blocked, "created_at",
                     time_or_null(j->created_at), "finished_at", time_or_null(j->finished_at), "error",
                     str_or_null(j->error), "webhook", str_or_null(j->webhook));
}

/* ---- answers ------------------------------------------------------------------------ */

static void set_answer(hreq *r, unsigned status, const char *ctype, char *body, size_t len)
{
    free(r->body);
    r->status = status;
    r->ctype = ctype;
    r->body = body;
    r->body_len = len;
    r->ready = true;
}

void sv_req_answer_json(hreq *r, unsigned status, char *body, size_t len)
{
    if (!body) {
        sv_req_answer_error(r, 500, "internal", "out of memory");
        return;
    }
    set_answer(r, status, "application/json", body, len);
}

static void answer_errorv(hreq *r, unsigned status, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void answer_errorv(hreq *r, unsigned status, const char *code, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = 0;
    char *body = sv_error_json(code, msg, &len);
    set_answer(r, status, "application/json", body, body ? len : 0);
}

void sv_req_answer_error(hreq *r, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer_errorv(r, status, code, fmt, ap);
    va_end(ap);
}

static void answer_obj(hreq *r, unsigned status, json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!t) {
        sv_req_answer_error(r, 500, "internal", "out of memory");
        return;
    }
    set_answer(r, status, "application/json", t, strlen(t));
}

void sv_req_resume(hreq *r)
{
    MHD_resume_connection(r->conn);
}

bool sv_req_trace(const hreq *r)
{
    return r->trace;
}

const char *sv_req_email(const hreq *r, size_t *len, int *timeout_ms)
{
    *len = r->email_len;
    *timeout_ms = r->timeout_ms;
    return r->email;
}

/* Sends the answer held in r. */
static enum MHD_Result send_answer(hreq *r)
{
    /* An answer queued in the first call makes MHD close the connection
     * (it will not read a body it has not seen): wait for the second call,
     * unless the request has a body we do not want. */
    if (r->first && !r->post)
        return MHD_YES;
    struct MHD_Response *resp;
    if (r->fd >= 0) {
        resp = MHD_create_response_from_fd64(r->fd_size, r->fd);
        if (resp)
            r->fd = -1; /* MHD closes it */
    } else {
        resp = MHD_create_response_from_buffer(r->body_len, r->body ? r->body : (char *)"",
                                               r->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (resp)
            r->body = NULL;
    }
    if (!resp)
        return MHD_NO;
    if (r->ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->hname[0])
        MHD_add_response_header(resp, r->hname, r->hval);
    if (r->status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"bouncecheck\"");
    enum MHD_Result ret = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    if (r->status < 600) {
        atomic_fetch_add(&r->s->m.http_code[r->status], 1);
        atomic_fetch_add(&r->s->m.http[r->status / 100], 1);
    }
    if (r->s->o->debug)
        sv_log("%u %s", r->status, r->route == R_VERIFY && r->email ? r->email : "");
    r->ready = false;
    return ret;
}

static void set_header(hreq *r, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_header(hreq *r, const char *name, const char *fmt, ...)
{
    sv_fmt(r->hname, sizeof r->hname, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->hval, sizeof r->hval, fmt, ap);
    va_end(ap);
}

/* An error answered at once. */
static enum MHD_Result fail(hreq *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static enum MHD_Result fail(hreq *r, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer_errorv(r, status, code, fmt, ap);
    va_end(ap);
    return send_answer(r);
}

/* An error noticed while a body arrives: sent when it has arrived. */
static void fail_later(hreq *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail_later(hreq *r, unsigned status, const char *code, const char *fmt, ...)
{
    if (r->discard)
        return; /* the first error stands */
    va_list ap;
    va_start(ap, fmt);
    answer_errorv(r, status, code, fmt, ap);
    va_end(ap);
    r->discard = true;
    if (r->up) {
        fclose(r->up);
        r->up = NULL;
    }
}

/* ---- parameters --------------------------------------------------------------------- */

/* A timeout in seconds (1..300): 0 and *ms set, or -1. */
static int parse_timeout(const char *s, int *ms)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (errno || end == s || *end || !(d >= 1 && d <= 300))
        return -1;
    *ms = (int)(d * 1000);
    return 0;
}

static bool valid_webhook(const char *url)
{
    if (!url[0] || strlen(url) >= FIELD_MAX)
        return false;
    CURLU *u = curl_url();
    bool ok = false;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
        char *scheme = NULL, *host = NULL;
        if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
            ok = (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) && host[0];
        curl_free(scheme);
        curl_free(host);
    }
    curl_url_cleanup(u);
    return ok;
}

/* "text/csv; charset=utf-8" -> "text/csv" into out. */
static void media_type(const char *ct, char *out, size_t size)
{
    size_t n = 0;
    if (ct) {
        while (*ct == ' ')
            ct++;
        while (ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < size) {
            out[n] = (char)((ct[n] >= 'A' && ct[n] <= 'Z') ? ct[n] + 32 : ct[n]);
            n++;
        }
    }
    out[n] = '\0';
}

static bool is_job_id(const char *s, size_t n)
{
    if (n != SV_JOB_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* ---- single verification ------------------------------------------------------------- */

/* A boolean query parameter: 1/true or 0/false, *v false when absent.
 * False (and nothing set) for any other value. */
static bool bool_arg(hreq *r, const char *name, bool *v)
{
    const char *a = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    *v = a && (strcmp(a, "1") == 0 || strcmp(a, "true") == 0);
    return !a || *v || strcmp(a, "0") == 0 || strcmp(a, "false") == 0;
}

/* A temporary upload file DIR/jobs/PREFIX-XXXXXX opened with mode (swept at
 * the next start if a crash leaves it). MHD_YES, or the 500 answered. */
static enum MHD_Result temp_upload(hreq *r, const char *prefix, const char *mode)
{
    sv_fmt(r->up_path, sizeof r->up_path, "%s/%s-XXXXXX", r->s->jobs_dir, prefix);
    int fd = mkstemp(r->up_path);
    if (fd < 0 || !(r->up = fdopen(fd, mode))) {
        if (fd >= 0)
            close(fd);
        sv_log("cannot create %s: %s", r->up_path, strerror(errno));
        return fail(r, 500, "internal", "the upload cannot be stored");
    }
    r->tmp_made = true;
    return MHD_YES;
}

static enum MHD_Result verify_start(hreq *r)
{
    sv *s = r->s;
    if (!r->email || r->email_len == 0)
        return fail(r, 400, "bad_request", "no address: give ?email=ADDR or a JSON body {\"email\": \"ADDR\"}");
    int wait = sv_quota_take(s, &r->key, 1);
    if (wait > 0) {
        set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "%d", wait);
        return fail(r, 429, "quota_exceeded", "the daily quota of this key (%lld verifications) is used up",
                    (long long)r->key.daily);
    }
    int64_t now = sv_now();
    if (s->o->cache_ttl > 0)
        r->has_ckey = sv_cache_key(r->email, r->email_len, r->ckey, sizeof r->ckey);
    /* a transcript is of one conversation: trace=1 never answers from the
     * cache (its result still goes into it, without the transcript) */
    if (r->has_ckey && !r->trace) {
        size_t len = 0;
        char *hit = sv_cache_lookup(s->cache, r->ckey, now, &len);
        if (!hit && !s->o->offline && sv_cache_get(s->store, r->ckey, now, &hit) == 1) {
            /* known from before a restart: back into memory for a while */
            len = strlen(hit);
            sv_cache_insert(s->cache, r->ckey, hit, len, now + STORE_HIT_TTL);
        }
        if (hit) {
            atomic_fetch_add(&s->m.cache_hits, 1);
            set_answer(r, 200, "application/json", hit, len);
            return send_answer(r);
        }
        atomic_fetch_add(&s->m.cache_misses, 1);
    }
    if (s->o->offline) {
        bc_result *res = NULL;
        if (bc_verify_offline(s->o->ctx, r->email, r->email_len, &res) != BC_OK)
            return fail(r, 500, "internal", "out of memory");
        size_t len = 0;
        char *body = sv_result_bodies(s, res, r->has_ckey ? r->ckey : NULL, &len);
        bc_result_free(res);
        sv_req_answer_json(r, 200, body, len);
        return send_answer(r);
    }
    if (atomic_load(&s->stopping))
        return fail(r, 503, "unavailable", "the server is shutting down");
    sv_msg *m = calloc(1, sizeof *m);
    if (!m)
        return fail(r, 500, "internal", "out of memory");
    m->kind = SV_MSG_VERIFY;
    m->req = r;
    MHD_suspend_connection(r->conn);
    if (!sv_engine_post(s, m)) {
        free(m);
        MHD_resume_connection(r->conn);
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
        return MHD_YES; /* answered on the resumed call */
    }
    return MHD_YES;
}

static enum MHD_Result verify_get(hreq *r)
{
    const char *email = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "email");
    const char *t = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "timeout");
    if (t && parse_timeout(t, &r->timeout_ms) != 0)
        return fail(r, 400, "bad_request", "timeout must be a number of seconds from 1 to 300");
    if (!bool_arg(r, "trace", &r->trace))
        return fail(r, 400, "bad_request", "trace must be 1 (true) or 0 (false)");
    if (email) {
        r->email_len = strlen(email);
        r->email = strdup(email);
        if (!r->email)
            return fail(r, 500, "internal", "out of memory");
    }
    return verify_start(r);
}

/* The small JSON body of a POST, parsed (duplicate keys refused); NULL
 * with *ret set when the request is already answered or the JSON is bad. */
static json_t *body_json(hreq *r, enum MHD_Result *ret)
{
    if (r->discard) {
        *ret = send_answer(r);
        return NULL;
    }
    json_error_t je;
    json_t *o = json_loadb(r->buf ? r->buf : "", r->len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        *ret = fail(r, 400, "bad_request", "the body is not valid JSON: %s (line %d, column %d)", je.text,
                    je.line, je.column);
    return o;
}

static enum MHD_Result verify_post(hreq *r)
{
    enum MHD_Result bad;
    json_t *o = body_json(r, &bad);
    if (!o)
        return bad;
    json_t *e = json_object_get(o, "email"), *t = json_object_get(o, "timeout"), *tr = json_object_get(o, "trace");
    enum MHD_Result ret;
    if (!json_is_object(o)) {
        ret = fail(r, 400, "bad_request", "the body must be a JSON object {\"email\": \"ADDR\"}");
    } else if (!json_is_string(e)) {
        ret = fail(r, 400, "bad_request", "\"email\" is missing or not a string");
    } else if (t && !json_is_null(t) &&
               (!json_is_number(t) || json_number_value(t) < 1 || json_number_value(t) > 300)) {
        ret = fail(r, 400, "bad_request", "timeout must be a number of seconds from 1 to 300");
    } else if (tr && !json_is_null(tr) && !json_is_boolean(tr)) {
        ret = fail(r, 400, "bad_request", "trace must be true or false");
    } else {
        r->trace = json_is_true(tr);
        if (json_is_number(t))
            r->timeout_ms = (int)(json_number_value(t) * 1000);
        r->email_len = json_string_length(e);
        r->email = malloc(r->email_len + 1);
        if (!r->email) {
            ret = fail(r, 500, "internal", "out of memory");
        } else {
            memcpy(r->email, json_string_value(e), r->email_len + 1);
            ret = verify_start(r);
        }
    }
    json_decref(o);
    return ret;
}

/* ---- jobs: catalogue ------------------------------------------------------------------- */

/* The job `r->id` if the caller may see it: 1 (*j filled), 0 (404 sent), -1 (500 sent). */
static int own_job(hreq *r, sv_job *j, enum MHD_Result *ret)
{
    int got = sv_job_get(r->s->store, r->id, j);
    if (got < 0) {
        *ret = fail(r, 500, "internal", "the job catalogue cannot be read");
        return -1;
    }
    if (got == 0 || strcmp(j->key_id, r->key.id) != 0) {
        if (got)
            sv_job_clear(j);
        *ret = fail(r, 404, "not_found", "no job %s", r->id);
        return 0;
    }
    return 1;
}

static enum MHD_Result jobs_list(hreq *r)
{
    sv_job *jobs = NULL;
    size_t n = 0;
    if (sv_job_list(r->s->store, r->key.id, &jobs, &n) != 0)
        return fail(r, 500, "internal", "the job catalogue cannot be read");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, sv_job_json(&jobs[i]));
        sv_job_clear(&jobs[i]);
    }
    free(jobs);
    answer_obj(r, 200, json_pack("{s:o}", "jobs", arr));
    return send_answer(r);
}

static enum MHD_Result job_get(hreq *r)
{
    sv_job j;
    enum MHD_Result ret = MHD_NO;
    if (own_job(r, &j, &ret) != 1)
        return ret;
    answer_obj(r, 200, sv_job_json(&j));
    sv_job_clear(&j);
    return send_answer(r);
}

static enum MHD_Result job_delete(hreq *r)
{
    sv_job j;
    enum MHD_Result ret = MHD_NO;
    if (own_job(r, &j, &ret) != 1)
        return ret;
    sv_job_clear(&j);
    if (sv_job_delete(r->s->store, r->id) < 0)
        return fail(r, 500, "internal", "the job cannot be deleted");
    sv_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = SV_MSG_DELETE;
        memcpy(m->id, r->id, sizeof m->id);
        if (!sv_engine_post(r->s, m))
            free(m); /* stopping: the next start sweeps the files */
    }
    sv_log("job %s deleted", r->id);
    set_answer(r, 204, NULL, NULL, 0);
    return send_answer(r);
}

/* ---- jobs: results ------------------------------------------------------------------------ */

static const char *format_ext(bk_format f)
{
    return f == BK_FMT_TSV ? "tsv" : f == BK_FMT_NDJSON ? "ndjson" : f == BK_FMT_JSON ? "json" : "csv";
}

static const char *format_ctype(bk_format f)
{
    return f == BK_FMT_TSV      ? "text/tab-separated-values; charset=utf-8"
           : f == BK_FMT_NDJSON ? "application/x-ndjson"
           : f == BK_FMT_JSON   ? "application/json"
                                : "text/csv; charset=utf-8";
}

/* DIR/results.EXT for every row, DIR/results-FILTER.EXT for the others:
 * each written once, on the first download. */
static void results_path(const hreq *r, char *buf, size_t size)
{
    char dir[PATH_MAX];
    sv_job_dir(r->s, r->id, dir, sizeof dir);
    if (r->rfilter == F_ALL)
        sv_fmt(buf, size, "%s/results.%s", dir, format_ext(r->rfmt));
    else
        sv_fmt(buf, size, "%s/results-%s.%s", dir, filter_names[r->rfilter], format_ext(r->rfmt));
}

/* Whether a row's result passes the filter. "remove" is the list-cleaning
 * rule: the dead (undeliverable) and the throwaway (disposable). */
static bool filter_keeps(enum rfilter f, const bk_result_cols *res)
{
    switch (f) {
    case F_ALL: return true;
    case F_DELIVERABLE: return res->status == BC_STATUS_DELIVERABLE;
    case F_UNDELIVERABLE: return res->status == BC_STATUS_UNDELIVERABLE;
    case F_RISKY: return res->status == BC_STATUS_RISKY;
    case F_UNKNOWN: return res->status == BC_STATUS_UNKNOWN;
    case F_REMOVE: return res->status == BC_STATUS_UNDELIVERABLE || res->disposable == BC_YES;
    }
    return false;
}

static bool filter_row(void *arg, const bk_result_cols *res)
{
    return filter_keeps(*(const enum rfilter *)arg, res);
}

/* Answers with the results file if it exists: true when set. */
static bool results_from_file(hreq *r)
{
    char path[PATH_MAX];
    results_path(r, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return false;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return false;
    }
    r->fd = fd;
    r->fd_size = (uint64_t)st.st_size;
    r->status = 200;
    r->ctype = format_ctype(r->rfmt);
    set_header(r, "Content-Disposition", "attachment; filename=\"%s-%s.%s\"", r->id, filter_names[r->rfilter],
               format_ext(r->rfmt));
    r->ready = true;
    return true;
}

/* On the io worker: writes the results file once, then answers. */
static void export_task(void *arg)
{
    hreq *r = arg;
    char path[PATH_MAX], part[PATH_MAX + 8], state[PATH_MAX], err[1024] = "";
    results_path(r, path, sizeof path);
    sv_fmt(part, sizeof part, "%s.part", path);
    sv_job_state_path(r->s, r->id, state, sizeof state);
    if (!results_from_file(r)) {
        bk_state *st = NULL;
        FILE *out = NULL;
        int rc = -1;
        struct stat sst;
        if (stat(state, &sst) != 0) {
            sv_fmt(err, sizeof err, "the job's data is gone");
        } else if (bk_state_open(&st, state, err, sizeof err) == 0 && (out = fopen(part, "wb")) != NULL) {
            rc = bk_export_rows(st, out, r->rfmt, r->rfilter == F_ALL ? NULL : filter_row, &r->rfilter, err,
                                sizeof err);
            if (fclose(out) != 0 && rc == 0) {
                sv_fmt(err, sizeof err, "cannot write %s: %s", part, strerror(errno));
                rc = -1;
            }
            if (rc == 0 && rename(part, path) != 0) {
                sv_fmt(err, sizeof err, "cannot rename %s: %s", part, strerror(errno));
                rc = -1;
            }
            if (rc != 0)
                unlink(part);
        } else if (!err[0]) {
            sv_fmt(err, sizeof err, "cannot create %s: %s", part, strerror(errno));
        }
        bk_state_close(st);
        if (rc != 0 || !results_from_file(r)) {
            sv_log("job %s: results: %s", r->id, err[0] ? err : "cannot open the results");
            sv_req_answer_error(r, 500, "internal", "the results cannot be written");
        }
    }
    sv_req_resume(r);
}

static enum MHD_Result job_results(hreq *r)
{
    sv_job j;
    enum MHD_Result ret = MHD_NO;
    if (own_job(r, &j, &ret) != 1)
        return ret;
    sv_job_status st = j.status;
    bk_format dflt = strcmp(j.format, "tsv") == 0 ? BK_FMT_TSV : strcmp(j.format, "ndjson") == 0 ? BK_FMT_NDJSON
                                                                                                 : BK_FMT_CSV;
    sv_job_clear(&j);
    const char *f = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "format");
    r->rfmt = dflt;
    if (f && !(bk_format_parse(f, &r->rfmt) && r->rfmt != BK_FMT_TEXT && r->rfmt != BK_FMT_AUTO))
        return fail(r, 400, "bad_request", "format must be csv, tsv, ndjson or json");
    const char *flt = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "filter");
    r->rfilter = F_ALL;
    if (flt) {
        size_t i = 0, nf = sizeof filter_names / sizeof filter_names[0];
        while (i < nf && strcmp(flt, filter_names[i]) != 0)
            i++;
        if (i == nf)
            return fail(r, 400, "bad_request",
                        "filter must be all, deliverable, undeliverable, risky, unknown or remove");
        r->rfilter = (enum rfilter)i;
    }
    if (st != SV_JOB_DONE)
        return fail(r, 409, "job_not_finished", "job %s is %s: its results come when it is done", r->id,
                    sv_job_status_name(st));
    if (results_from_file(r))
        return send_answer(r);
    MHD_suspend_connection(r->conn);
    if (!sv_worker_post(r->s->io, export_task, r)) {
        MHD_resume_connection(r->conn);
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    }
    return MHD_YES;
}

/* ---- jobs: uploads ------------------------------------------------------------------------- */

static bool upload_write(hreq *r, const char *data, size_t size)
{
    r->got += (int64_t)size;
    if (r->got > r->s->o->max_body) {
        fail_later(r, 413, "payload_too_large", "the body is larger than %lld bytes (--max-body)",
                   (long long)r->s->o->max_body);
        return false;
    }
    if (r->json_list) {
        if (r->len + size + 1 > r->cap) {
            size_t cap = (r->len + size + 1) * 2;
            char *nb = realloc(r->buf, cap);
            if (!nb) {
                fail_later(r, 500, "internal", "out of memory");
                return false;
            }
            r->buf = nb;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, data, size);
        r->len += size;
        return true;
    }
    if (size && fwrite(data, 1, size, r->up) != size) {
        sv_log("upload: cannot write %s: %s", r->up_path, strerror(errno));
        fail_later(r, 500, "internal", "the upload cannot be stored");
        return false;
    }
    return true;
}

static void copy_field(hreq *r, char *dst, size_t size, size_t *used, const char *data, uint64_t off,
                       size_t n)
{
    (void)off;
    if (*used + n >= size) {
        r->field_too_long = true;
        return;
    }
    memcpy(dst + *used, data, n);
    *used += n;
    dst[*used] = '\0';
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    (void)kind;
    (void)filename;
    (void)content_type;
    (void)transfer_encoding;
    hreq *r = cls;
    if (r->discard)
        return MHD_YES;
    if (strcmp(key, "file") == 0) {
        r->file_part = true;
        if (size)
            upload_write(r, data, size);
    } else if (strcmp(key, "webhook") == 0) {
        size_t used = strlen(r->webhook);
        copy_field(r, r->webhook, sizeof r->webhook, &used, data, off, size);
    } else if (strcmp(key, "column") == 0) {
        size_t used = strlen(r->column);
        copy_field(r, r->column, sizeof r->column, &used, data, off, size);
    } else if (strcmp(key, "name") == 0) {
        size_t used = strlen(r->name);
        copy_field(r, r->name, sizeof r->name, &used, data, off, size);
    }
    return MHD_YES;
}

static enum MHD_Result preview_begin(hreq *r);
static enum MHD_Result preview_end(hreq *r, bool column_given);

static enum MHD_Result jobs_post_begin(hreq *r)
{
    sv *s = r->s;
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    char mt[64];
    media_type(ct, mt, sizeof mt);
    if (strcmp(mt, "multipart/form-data") == 0)
        r->multipart = true;
    else if (strcmp(mt, "application/json") == 0)
        r->json_list = true;
    else if (strcmp(mt, "text/csv") != 0 && strcmp(mt, "text/plain") != 0 &&
             strcmp(mt, "text/tab-separated-values") != 0 && strcmp(mt, "application/x-ndjson") != 0)
        return fail(r, 415, "unsupported_media_type",
                    "send the list as text/csv, text/tab-separated-values, text/plain, application/x-ndjson,"
                    " application/json {\"emails\": [...]} or a multipart/form-data upload (part \"file\")");
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > s->o->max_body)
        return fail(r, 413, "payload_too_large", "the body is larger than %lld bytes (--max-body)",
                    (long long)s->o->max_body);
    if (atomic_load(&s->stopping))
        return fail(r, 503, "unavailable", "the server is shutting down");
    const char *q;
    if ((q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "webhook")) != NULL)
        sv_fmt(r->webhook, sizeof r->webhook, "%s", q);
    if ((q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "column")) != NULL)
        sv_fmt(r->column, sizeof r->column, "%s", q);
    if ((q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "name")) != NULL)
        sv_fmt(r->name, sizeof r->name, "%s", q);
    if (r->multipart) {
        r->pp = MHD_create_post_processor(r->conn, 64 * 1024, post_iter, r);
        if (!r->pp)
            return fail(r, 400, "bad_request", "the multipart body has no boundary");
    }
    if (r->route == R_PREVIEW)
        return preview_begin(r);
    if (sv_job_new_id(r->id) != 0)
        return fail(r, 500, "internal", "no random job id");
    char dir[PATH_MAX];
    sv_job_dir(s, r->id, dir, sizeof dir);
    if (mkdir(dir, 0700) != 0) {
        sv_log("cannot create %s: %s", dir, strerror(errno));
        return fail(r, 500, "internal", "the upload cannot be stored");
    }
    r->dir_made = true;
    sv_fmt(r->up_path, sizeof r->up_path, "%s/upload", dir);
    r->up = fopen(r->up_path, "wb");
    if (!r->up) {
        sv_log("cannot create %s: %s", r->up_path, strerror(errno));
        return fail(r, 500, "internal", "the upload cannot be stored");
    }
    return MHD_YES;
}

/* A JSON list body {"emails": [...]} becomes a one-column CSV upload. */
static bool json_list_to_csv(hreq *r)
{
    json_error_t je;
    json_t *o = json_loadb(r->buf ? r->buf : "", r->len, JSON_REJECT_DUPLICATES, &je);
    bool ok = false;
    if (!o) {
        sv_req_answer_error(r, 400, "bad_request", "the body is not valid JSON: %s (line %d, column %d)", je.text,
                            je.line, je.column);
        return false;
    }
    json_t *emails = json_object_get(o, "emails"), *wh = json_object_get(o, "webhook"),
           *nm = json_object_get(o, "name");
    if (!json_is_object(o) || !json_is_array(emails)) {
        sv_req_answer_error(r, 400, "bad_request", "the body must be an object {\"emails\": [\"a@example.com\", ...]}");
    } else if ((wh && !json_is_null(wh) && !json_is_string(wh)) || (nm && !json_is_null(nm) && !json_is_string(nm))) {
        sv_req_answer_error(r, 400, "bad_request", "\"webhook\" and \"name\" must be strings");
    } else {
        if (json_is_string(wh))
            sv_fmt(r->webhook, sizeof r->webhook, "%s", json_string_value(wh));
        if (json_is_string(nm))
            sv_fmt(r->name, sizeof r->name, "%s", json_string_value(nm));
        size_t i;
        json_t *e;
        ok = fputs("email\n", r->up) >= 0;
        json_array_foreach(emails, i, e) {
            if (!json_is_string(e)) {
                sv_req_answer_error(r, 400, "bad_request", "emails[%zu] is not a string", i);
                ok = false;
                break;
            }
            if (csv_fwrite(r->up, json_string_value(e), json_string_length(e)) != 0 || fputc('\n', r->up) == EOF) {
                sv_req_answer_error(r, 500, "internal", "the upload cannot be stored");
                ok = false;
                break;
            }
        }
        sv_fmt(r->column, sizeof r->column, "email");
    }
    json_decref(o);
    return ok;
}

/* On the io worker: reads the upload into the job's state, then creates
 * the job (or says what is wrong with the list). */
static void import_task(void *arg)
{
    hreq *r = arg;
    sv *s = r->s;
    char state[PATH_MAX], err[1024] = "", conv[PATH_MAX + 8];
    sv_job_state_path(s, r->id, state, sizeof state);
    sv_fmt(conv, sizeof conv, "%s.csv", r->up_path);
    FILE *in = fopen(r->up_path, "rb");
    if (!in) {
        sv_req_answer_error(r, 500, "internal", "the upload cannot be read");
        sv_req_resume(r);
        return;
    }
    unsigned char magic[4] = { 0 };
    size_t nm = fread(magic, 1, sizeof magic, in);
    rewind(in);
    if (nm == 4 && memcmp(magic, "PK\x03\x04", 4) == 0) {
        FILE *out = fopen(conv, "wb");
        int xr = out ? bk_xlsx_to_csv(in, out, "the upload", err, sizeof err) : -1;
        if (out && fclose(out) != 0)
            xr = -1;
        fclose(in);
        in = xr == 0 ? fopen(conv, "rb") : NULL;
        if (!in) {
            sv_req_answer_error(r, 400, "bad_request", "%s", err[0] ? err : "the spreadsheet cannot be read");
            sv_req_resume(r);
            return;
        }
    }
    bk_state *st = NULL;
    if (bk_state_open(&st, state, err, sizeof err) != 0) {
        fclose(in);
        sv_log("job %s: %s", r->id, err);
        sv_req_answer_error(r, 500, "internal", "the job's state cannot be created");
        sv_req_resume(r);
        return;
    }
    /* a JSON list was written as a one-column CSV (quoted by libcsv) */
    bk_import_opts io = { .format = r->json_list ? BK_FMT_CSV : BK_FMT_AUTO, .column = r->column[0] ? r->column : NULL, .name = "the list",
                          .max_rows = s->o->max_rows };
    bk_import_info info = { 0 };
    int rc = bk_import(st, in, true, &io, &info, err, sizeof err);
    fclose(in);
    bk_state_close(st);
    unlink(conv);
    if (rc == BK_IMPORT_DONE && info.input_error) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    } else if (rc == BK_IMPORT_UNUSABLE) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    } else if (rc == BK_IMPORT_TOO_MANY) {
        sv_req_answer_error(r, 413, "payload_too_large", "the list has more than %lld rows (--max-rows)",
                            (long long)s->o->max_rows);
    } else if (rc != BK_IMPORT_DONE) {
        sv_log("job %s: import: %s", r->id, err);
        sv_req_answer_error(r, 500, "internal", "the list cannot be stored");
    } else if (info.rows == 0) {
        sv_req_answer_error(r, 400, "bad_request", "the list has no rows");
    } else {
        int wait = sv_quota_take(s, &r->key, info.rows);
        if (wait > 0) {
            set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "%d", wait);
            sv_req_answer_error(r, 429, "quota_exceeded",
                                "the list has %lld rows and the daily quota of this key (%lld) does not cover them",
                                (long long)info.rows, (long long)r->key.daily);
        } else {
            sv_job j = { .status = SV_JOB_QUEUED, .total = info.rows, .created_at = sv_now(),
                         .name = r->name[0] ? r->name : NULL, .webhook = r->webhook[0] ? r->webhook : NULL };
            memcpy(j.id, r->id, sizeof j.id);
            sv_fmt(j.key_id, sizeof j.key_id, "%s", r->key.id);
            sv_fmt(j.format, sizeof j.format, "%s", bk_format_name(info.format));
            if (sv_job_insert(s->store, &j) != 0) {
                sv_log("job %s: cannot add it to the catalogue: %s", r->id, sv_store_error(s->store));
                sv_req_answer_error(r, 500, "internal", "the job cannot be created");
            } else {
                r->job_created = true;
                unlink(r->up_path);
                if (info.bad_utf8)
                    sv_log("job %s: %lu rows with invalid UTF-8 (first at line %lu)", r->id, info.bad_utf8,
                           info.first_bad_line);
                sv_log("job %s: %lld rows queued", r->id, (long long)info.rows);
                set_header(r, "Location", "/v1/jobs/%s", r->id);
                answer_obj(r, 201, json_pack("{s:s,s:s,s:I}", "id", r->id, "status", "queued", "total",
                                             (json_int_t)info.rows));
                sv_msg *m = calloc(1, sizeof *m);
                if (m) {
                    m->kind = SV_MSG_JOBS;
                    if (!sv_engine_post(s, m))
                        free(m); /* stopping: the job starts with the next run */
                }
            }
        }
    }
    sv_req_resume(r);
}

static enum MHD_Result jobs_post_end(hreq *r)
{
    if (r->pp) {
        MHD_destroy_post_processor(r->pp);
        r->pp = NULL;
    }
    if (r->discard)
        return send_answer(r);
    if (r->multipart && !r->file_part)
        return fail(r, 400, "bad_request", "the multipart body has no part named \"file\"");
    if (r->field_too_long)
        return fail(r, 400, "bad_request", "a form field (webhook, column or name) is too long");
    bool column_given = r->column[0] != '\0' && !r->json_list;
    if (r->json_list && !json_list_to_csv(r))
        return send_answer(r);
    if (r->route == R_PREVIEW)
        return preview_end(r, column_given);
    if (r->webhook[0] && !valid_webhook(r->webhook))
        return fail(r, 400, "bad_request", "the webhook must be an http:// or https:// URL");
    if (fclose(r->up) != 0) {
        r->up = NULL;
        return fail(r, 500, "internal", "the upload cannot be stored");
    }
    r->up = NULL;
    if (r->got == 0 && !r->json_list)
        return fail(r, 400, "bad_request", "the list is empty");
    MHD_suspend_connection(r->conn);
    if (!sv_worker_post(r->s->io, import_task, r)) {
        MHD_resume_connection(r->conn);
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    }
    return MHD_YES;
}

/* ---- jobs: preview ------------------------------------------------------------------------- */

/* POST /v1/jobs/preview takes the bodies of POST /v1/jobs (same limits)
 * into a temporary file and, on the io worker, reads it with the bulk
 * reader the import uses: format, header, email column, the first rows and
 * a row count. Nothing is created. */

static enum MHD_Result preview_begin(hreq *r)
{
    if (!bool_arg(r, "partial", &r->partial))
        return fail(r, 400, "bad_request", "partial must be 1 (true) or 0 (false)");
    return temp_upload(r, "preview", "w+b");
}

/* A cell as a JSON string; invalid UTF-8 bytes become U+FFFD. */
static json_t *cell_json(const char *c, size_t n)
{
    json_t *v = json_stringn(c, n);
    if (v)
        return v;
    size_t fl = 0;
    char *fixed = bc_utf8_repair(c, n, &fl);
    v = fixed ? json_stringn(fixed, fl) : NULL;
    free(fixed);
    return v ? v : json_string("");
}

/* One NDJSON line as cells in the order of keys: strings as they are,
 * other values as JSON, missing keys as "". */
static json_t *ndjson_cells(const char *line, size_t n, const char *const *keys, size_t nkeys)
{
    json_t *row = json_array();
    json_t *o = json_loadb(line, n, 0, NULL);
    for (size_t i = 0; i < nkeys; i++) {
        json_t *v = json_is_object(o) ? json_object_get(o, keys[i]) : NULL;
        if (json_is_string(v)) {
            json_array_append_new(row, cell_json(json_string_value(v), json_string_length(v)));
        } else if (v && !json_is_null(v)) {
            char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_array_append_new(row, json_string(t ? t : ""));
            free(t);
        } else {
            json_array_append_new(row, json_string(""));
        }
    }
    json_decref(o);
    return row;
}

/* partial=1: the body is the start of a bigger file; cuts it after its
 * last line end (the last line may be cut in the middle). 0 / -1. */
static int cut_last_line(FILE *f)
{
    char buf[4096];
    if (fseeko(f, 0, SEEK_END) != 0)
        return -1;
    off_t end = ftello(f), pos = end;
    while (pos > 0) {
        size_t n = pos >= (off_t)sizeof buf ? sizeof buf : (size_t)pos;
        pos -= (off_t)n;
        if (fseeko(f, pos, SEEK_SET) != 0 || fread(buf, 1, n, f) != n)
            return -1;
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n') {
                off_t keep = pos + (off_t)i;
                fflush(f);
                return keep == end ? 0 : ftruncate(fileno(f), keep);
            }
    }
    fflush(f);
    return ftruncate(fileno(f), 0);
}

typedef struct preview_req {
    hreq *r;
    bool column_given;
} preview_req;

/* On the io worker: reads the upload (bounded by --max-body) and answers. */
static void preview_task(void *arg)
{
    preview_req *pr = arg;
    hreq *r = pr->r;
    bool column_given = pr->column_given;
    free(pr);
    char err[1024] = "";
    FILE *in = fopen(r->up_path, "r+b");
    if (!in) {
        sv_req_answer_error(r, 500, "internal", "the upload cannot be read");
        sv_req_resume(r);
        return;
    }
    unsigned char magic[4] = { 0 };
    size_t nm = fread(magic, 1, sizeof magic, in);
    bool xlsx = nm == 4 && memcmp(magic, "PK\x03\x04", 4) == 0;
    bool cut = r->partial && !xlsx; /* a workbook is only readable whole */
    if ((cut && cut_last_line(in) != 0) || fseeko(in, 0, SEEK_SET) != 0) {
        fclose(in);
        sv_req_answer_error(r, 500, "internal", "the upload cannot be read");
        sv_req_resume(r);
        return;
    }
    bk_reader_opts ro = { .format = r->json_list ? BK_FMT_CSV : BK_FMT_AUTO,
                          .column = r->column[0] ? r->column : NULL, .column_optional = true };
    bk_reader *rd = NULL;
    if (bk_reader_open(&rd, in, "the list", &ro, err, sizeof err) != 0) {
        fclose(in);
        sv_req_answer_error(r, 400, "bad_request", "%s", err[0] ? err : "the list cannot be read");
        sv_req_resume(r);
        return;
    }
    bk_format fmt = bk_reader_format(rd);
    const char *const *hdr = NULL;
    size_t nh = bk_reader_header(rd, &hdr);
    long col = bk_reader_email_column(rd);
    if (fmt == BK_FMT_NDJSON) {
        const char *key = bk_reader_email_key(rd);
        col = -1;
        for (size_t i = 0; key && i < nh; i++)
            if (strcmp(hdr[i], key) == 0)
                col = (long)i;
    }
    json_t *sample = json_array();
    int64_t rows = 0;
    size_t width = nh;
    bk_row row;
    int g;
    while ((g = bk_reader_next(rd, &row, err, sizeof err)) == 1) {
        rows++;
        if (fmt != BK_FMT_NDJSON && row.nfields > width)
            width = row.nfields;
        if (json_array_size(sample) >= PREVIEW_SAMPLE)
            continue;
        json_t *cells;
        if (fmt == BK_FMT_NDJSON) {
            cells = ndjson_cells(row.fields[0], row.lens[0], hdr, nh);
        } else {
            cells = json_array();
            for (size_t i = 0; i < row.nfields; i++)
                json_array_append_new(cells, cell_json(row.fields[i], row.lens[i]));
        }
        json_array_append_new(sample, cells);
    }
    if (g < 0 && !cut) {
        json_decref(sample);
        bk_reader_free(rd);
        fclose(in);
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
        sv_req_resume(r);
        return;
    }
    /* g < 0 with partial=1: a quoted field the cut left open; the rows before it stand */
    json_t *columns = json_array();
    for (size_t i = 0; i < width; i++) {
        if (i < nh) {
            json_array_append_new(columns, cell_json(hdr[i], strlen(hdr[i])));
        } else {
            char num[24];
            sv_fmt(num, sizeof num, "%zu", i + 1);
            json_array_append_new(columns, json_string(num));
        }
    }
    if (col >= 0 && width == 0) {
        json_array_append_new(columns, json_string("1"));
        width = 1;
    }
    json_t *cname = col >= 0 && (size_t)col < nh ? cell_json(hdr[col], strlen(hdr[col])) : json_null();
    answer_obj(r, 200, json_pack("{s:s,s:b,s:o,s:o,s:o,s:b,s:o,s:I,s:b}", "format",
                                 xlsx ? "xlsx" : bk_format_name(fmt), "has_header", nh > 0, "columns", columns,
                                 "column", col >= 0 ? json_integer(col + 1) : json_null(), "column_name", cname,
                                 "detected", col >= 0 && !column_given, "sample", sample, "rows",
                                 (json_int_t)rows, "partial", cut));
    bk_reader_free(rd);
    fclose(in);
    sv_req_resume(r);
}

static enum MHD_Result preview_end(hreq *r, bool column_given)
{
    if (r->field_too_long)
        return fail(r, 400, "bad_request", "a form field (webhook, column or name) is too long");
    if (fflush(r->up) != 0 || fclose(r->up) != 0) {
        r->up = NULL;
        return fail(r, 500, "internal", "the upload cannot be stored");
    }
    r->up = NULL;
    if (r->got == 0 && !r->json_list)
        return fail(r, 400, "bad_request", "the list is empty");
    preview_req *pr = malloc(sizeof *pr);
    if (!pr)
        return fail(r, 500, "internal", "out of memory");
    pr->r = r;
    pr->column_given = column_given;
    MHD_suspend_connection(r->conn);
    if (!sv_worker_post(r->s->io, preview_task, pr)) {
        free(pr);
        MHD_resume_connection(r->conn);
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    }
    return MHD_YES;
}

/* Runs task(r) on the checks worker with the connection suspended until
 * the task has set the answer and resumed it (a tool that waits for DNS
 * or connections never holds an HTTP thread); 503 while shutting down. */
static enum MHD_Result on_checks(hreq *r, void (*task)(void *))
{
    if (atomic_load(&r->s->stopping))
        return fail(r, 503, "unavailable", "the server is shutting down");
    MHD_suspend_connection(r->conn);
    if (!sv_worker_post(r->s->checks, task, r)) {
        MHD_resume_connection(r->conn);
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    }
    return MHD_YES;
}

/* ---- /v1/smtp-test: one SMTP server's report ---------------------------------------------- */

/* On the checks worker: the test connects to the host's ports in turn and
 * waits for each reply, so it never runs on an HTTP thread. */
static void smtp_test_task(void *arg)
{
    hreq *r = arg;
    const sv_opts *o = r->s->o;
    bc_smtp_test_options so = {
        .helo = r->helo[0] ? r->helo : o->vo->helo, .port = r->smtp_port, .allow_private = o->vo->allow_private,
        .connect_timeout_ms = SMTP_TEST_TIMEOUT_MS, .command_timeout_ms = SMTP_TEST_TIMEOUT_MS,
    };
    char *text = NULL, err[512] = "";
    bc_status st = bc_smtp_test(r->domain, &so, &text, err, sizeof err);
    if (st == BC_OK) {
        set_answer(r, 200, "application/json", text, strlen(text));
    } else if (st == BC_EINVAL && strstr(err, "--allow-private")) {
        /* the library's hint names the CLI option; say it for the server */
        char *hint = strstr(err, " (pass");
        if (hint)
            *hint = '\0';
        sv_req_answer_error(r, 400, "unsafe_target", "%s (the server runs without --allow-private)", err);
    } else if (st == BC_EINVAL || st == BC_ENOTFOUND) {
        sv_req_answer_error(r, 400, "bad_request", "%s", err[0] ? err : "the host cannot be tested");
    } else {
        sv_req_answer_error(r, 500, "internal", "the test could not be run");
    }
    sv_req_resume(r);
}

/* 1..255 printable ASCII bytes without spaces: a host or EHLO name. */
static bool smtp_word_ok(const char *w)
{
    size_t n = strlen(w);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)w[i] <= 0x20 || (unsigned char)w[i] >= 0x7F)
            return false;
    return true;
}

static enum MHD_Result smtp_test_start(hreq *r)
{
    sv *s = r->s;
    const char *host = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "host");
    const char *port = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "port");
    const char *helo = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "helo");
    if (!host || !*host)
        return fail(r, 400, "bad_request", "give the host: /v1/smtp-test?host=mail.example.com");
    if (!smtp_word_ok(host))
        return fail(r, 400, "bad_request", "host must be a host name or an IP address");
    if (port) {
        char *end = NULL;
        errno = 0;
        long v = strtol(port, &end, 10);
        if (!*port || *end || errno || v < 1 || v > 65535)
            return fail(r, 400, "bad_request", "port must be a TCP port from 1 to 65535");
        r->smtp_port = (int)v;
    }
    if (helo) {
        if (!smtp_word_ok(helo))
            return fail(r, 400, "bad_request", "helo must be a host name without spaces or control characters");
        sv_fmt(r->helo, sizeof r->helo, "%s", helo);
    }
    if (s->o->offline)
        return fail(r, 503, "unavailable", "this server runs --offline: the SMTP test needs the network");
    if (!(r->domain = strdup(host)))
        return fail(r, 500, "internal", "out of memory");
    return on_checks(r, smtp_test_task);
}

/* ---- /v1/me and /v1/keys ---------------------------------------------------------------------- */

/* A key as the API shows it; `full` adds created_at and revoked_at. */
static json_t *key_json(const sv_key *k, bool full)
{
    json_t *o = json_pack("{s:s,s:o,s:b,s:o,s:o}", "id", k->id, "name",
                          k->name[0] ? cell_json(k->name, strlen(k->name)) : json_null(), "admin", k->admin,
                          "rate", k->rate > 0 ? json_real(k->rate) : json_null(), "daily",
                          k->daily > 0 ? json_integer((json_int_t)k->daily) : json_null());
    if (o && full) {
        json_object_set_new(o, "created_at", time_or_null(k->created_at));
        json_object_set_new(o, "revoked_at", time_or_null(k->revoked_at));
    }
    return o;
}

static enum MHD_Result me_get(hreq *r)
{
    if (!r->key.id[0]) {
        answer_obj(r, 200, json_pack("{s:s,s:n}", "auth", "none", "key"));
        return send_answer(r);
    }
    json_t *k = key_json(&r->key, false);
    if (k)
        json_object_set_new(k, "used_today", json_integer((json_int_t)sv_quota_used(r->s, &r->key)));
    answer_obj(r, 200, json_pack("{s:s,s:o}", "auth", "key", "key", k));
    return send_answer(r);
}

/* The key rules of /v1/keys: true when the caller may go on, else the 403
 * is answered (*ret). */
static bool keys_allowed(hreq *r, bool change, enum MHD_Result *ret)
{
    if (!r->key.id[0]) {
        if (!change)
            return true; /* an open server lists no keys */
        *ret = fail(r, 403, "forbidden",
                    "this server has no API keys, so none can be managed here: create the first admin key with"
                    " `bouncecheck keys create --admin` on the server");
        return false;
    }
    if (!r->key.admin) {
        *ret = fail(r, 403, "forbidden",
                    "only an admin key may manage keys (made with `bouncecheck keys create --admin`)");
        return false;
    }
    return true;
}

static enum MHD_Result keys_list(hreq *r)
{
    enum MHD_Result ret = MHD_NO;
    if (!keys_allowed(r, false, &ret))
        return ret;
    json_t *arr = json_array();
    if (r->key.id[0]) {
        sv_key *keys = NULL;
        size_t n = 0;
        if (sv_key_list(r->s->store, &keys, &n) != 0) {
            json_decref(arr);
            return fail(r, 500, "internal", "the key store cannot be read");
        }
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, key_json(&keys[i], true));
        free(keys);
    }
    answer_obj(r, 200, json_pack("{s:o}", "keys", arr));
    return send_answer(r);
}

static enum MHD_Result keys_post_begin(hreq *r)
{
    enum MHD_Result ret = MHD_NO;
    if (!keys_allowed(r, true, &ret))
        return ret;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > SMALL_BODY_MAX)
        return fail(r, 413, "payload_too_large", "the body is larger than %d bytes", SMALL_BODY_MAX);
    return MHD_YES; /* the body follows */
}

static enum MHD_Result keys_post_end(hreq *r)
{
    enum MHD_Result bad;
    json_t *o = body_json(r, &bad);
    if (!o)
        return bad;
    json_t *nm = json_object_get(o, "name"), *rate = json_object_get(o, "rate"),
           *daily = json_object_get(o, "daily"), *admin = json_object_get(o, "admin");
    enum MHD_Result ret;
    if (!json_is_object(o)) {
        ret = fail(r, 400, "bad_request", "the body must be a JSON object {\"name\": ..., \"admin\": false}");
    } else if (nm && !json_is_null(nm) && !json_is_string(nm)) {
        ret = fail(r, 400, "bad_request", "\"name\" must be a string");
    } else if (json_is_string(nm) && json_string_length(nm) >= sizeof r->key.name) {
        ret = fail(r, 400, "bad_request", "\"name\" is too long (at most %zu bytes)", sizeof r->key.name - 1);
    } else if (json_is_string(nm) && strlen(json_string_value(nm)) != json_string_length(nm)) {
        ret = fail(r, 400, "bad_request", "\"name\" must not hold NUL characters");
    } else if (rate && !json_is_null(rate) &&
               (!json_is_number(rate) || !(json_number_value(rate) >= 0) || json_number_value(rate) > 1e6)) {
        ret = fail(r, 400, "bad_request", "\"rate\" must be a number of requests per second from 0 to 1000000");
    } else if (daily && !json_is_null(daily) && (!json_is_integer(daily) || json_integer_value(daily) < 0)) {
        ret = fail(r, 400, "bad_request", "\"daily\" must be a non-negative integer");
    } else if (admin && !json_is_null(admin) && !json_is_boolean(admin)) {
        ret = fail(r, 400, "bad_request", "\"admin\" must be true or false");
    } else {
        char secret[SV_KEY_SECRET_LEN + 1], err[512] = "";
        sv_key k;
        if (sv_key_create_ex(r->s->store, json_is_string(nm) ? json_string_value(nm) : "",
                             json_is_number(rate) ? json_number_value(rate) : 0,
                             json_is_integer(daily) ? (int64_t)json_integer_value(daily) : 0, json_is_true(admin),
                             secret, &k, err, sizeof err) != 0) {
            sv_log("keys: %s", err);
            ret = fail(r, 500, "internal", "the key cannot be created");
        } else {
            sv_auth_changed(r->s);
            sv_log("key %s created through the API by %s%s", k.id, r->key.id, k.admin ? " (admin)" : "");
            json_t *res = json_pack("{s:s}", "key", secret), *kj = key_json(&k, false);
            OPENSSL_cleanse(secret, sizeof secret);
            if (res && kj && json_object_update(res, kj) != 0) {
                json_decref(res);
                res = NULL;
            }
            json_decref(kj);
            set_header(r, "Location", "/v1/keys/%s", k.id);
            answer_obj(r, 201, res);
            ret = send_answer(r);
        }
    }
    json_decref(o);
    return ret;
}

static enum MHD_Result key_delete(hreq *r)
{
    enum MHD_Result ret = MHD_NO;
    if (!keys_allowed(r, true, &ret))
        return ret;
    int rc = sv_key_revoke(r->s->store, r->kid);
    if (rc < 0)
        return fail(r, 500, "internal", "the key store cannot be written");
    if (rc == 1)
        return fail(r, 404, "not_found", "no key %s", r->kid);
    sv_auth_changed(r->s);
    sv_log("key %s revoked through the API by %s", r->kid, r->key.id);
    set_answer(r, 204, NULL, NULL, 0);
    return send_answer(r);
}

/* ---- /v1/dns: the domain health report ---------------------------------------------------- */

/* On the checks worker: the report takes DNS round trips, connections to
 * the MX hosts and an HTTPS fetch, so it never runs on an HTTP thread. */
static void dns_task(void *arg)
{
    hreq *r = arg;
    const sv_opts *o = r->s->o;
    bc_health_options ho = {
        .dns_servers = o->vo->dns_servers, .dkim_selectors = (const char *const *)r->dns_sel,
        .n_dkim_selectors = r->n_sel, .ips = (const char *const *)r->dns_ip, .n_ips = r->n_ip,
        .allow_private = o->vo->allow_private, .helo = o->vo->helo, .timeout_ms = 10000,
        .no_smtp = r->dns_no_smtp,
    };
    char *text = NULL, err[512] = "";
    bc_status st = bc_health_check(r->domain, &ho, &text, err, sizeof err);
    if (st == BC_OK)
        set_answer(r, 200, "application/json", text, strlen(text));
    else if (st == BC_EINVAL)
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    else
        sv_req_answer_error(r, 500, "internal", "the report could not be made");
    sv_req_resume(r);
}

static enum MHD_Result dns_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    hreq *r = cls;
    bool sel = strcmp(key, "dkim_selector") == 0, ip = strcmp(key, "ip") == 0;
    if ((!sel && !ip) || !value || !*value)
        return MHD_YES;
    size_t *n = sel ? &r->n_sel : &r->n_ip;
    char **arr = sel ? r->dns_sel : r->dns_ip;
    if (*n >= DNS_LIST_MAX) {
        r->dns_too_many = true;
        return MHD_YES;
    }
    if ((arr[*n] = strdup(value)) != NULL)
        (*n)++;
    return MHD_YES;
}

static enum MHD_Result dns_start(hreq *r)
{
    sv *s = r->s;
    const char *domain = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "domain");
    if (!domain || !*domain)
        return fail(r, 400, "bad_request", "give the domain: /v1/dns?domain=example.com");
    if (s->o->offline)
        return fail(r, 503, "unavailable", "this server runs --offline: the DNS checks need the network");
    if (!(r->domain = strdup(domain)))
        return fail(r, 500, "internal", "out of memory");
    const char *smtp = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "smtp");
    if (smtp && strcmp(smtp, "false") != 0 && strcmp(smtp, "0") != 0 && strcmp(smtp, "true") != 0 &&
        strcmp(smtp, "1") != 0)
        return fail(r, 400, "bad_request", "smtp must be true or false");
    r->dns_no_smtp = smtp && (strcmp(smtp, "false") == 0 || strcmp(smtp, "0") == 0);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, dns_arg, r);
    if (r->dns_too_many)
        return fail(r, 400, "bad_request", "at most %d dkim_selector and %d ip parameters", DNS_LIST_MAX,
                    DNS_LIST_MAX);
    return on_checks(r, dns_task);
}

/* ---- /v1/doctor: this host as a sender ------------------------------------------------------ */

/* On the checks worker: a new report when the kept one is too old. */
static void doctor_task(void *arg)
{
    hreq *r = arg;
    size_t len = 0;
    bc_status st;
    char err[512] = "";
    char *text = sv_selfcheck_report(r->s->doctor, &len, &st, err, sizeof err);
    if (text)
        set_answer(r, 200, "application/json", text, len);
    else if (st == BC_ENET)
        sv_req_answer_error(r, 503, "unavailable", "%s", err);
    else
        sv_req_answer_error(r, 500, "internal", "the report could not be made: %s", err);
    sv_req_resume(r);
}

/* GET /v1/doctor: the kept report while fresh (SV_DOCTOR_TTL_S), else a
 * new one made on the checks worker. Keys apply as to /v1/dns. */
static enum MHD_Result doctor_start(hreq *r)
{
    sv *s = r->s;
    if (s->o->offline)
        return fail(r, 503, "unavailable", "this server runs --offline: the doctor's checks need the network");
    size_t len = 0;
    char *kept = sv_selfcheck_cached(s->doctor, &len);
    if (kept) {
        set_answer(r, 200, "application/json", kept, len);
        return send_answer(r);
    }
    return on_checks(r, doctor_task);
}

/* ---- /v1/extract: addresses found in an uploaded text or file --------------------------- */

typedef struct xctx {
    json_t *list;       /* the answer's addresses, in order of first appearance */
    json_t *index;      /* dedup key -> position in list */
    int64_t total;
} xctx;

static void extract_hit(void *arg, const bc_extract_hit *h)
{
    xctx *x = arg;
    char key[BC_ADDR_MAX + 8];
    if (!sv_cache_key(h->ascii, strlen(h->ascii), key, sizeof key))
        snprintf(key, sizeof key, "%s", h->ascii);
    x->total++;
    json_t *pos = json_object_get(x->index, key);
    if (pos) {
        json_t *o = json_array_get(x->list, (size_t)json_integer_value(pos));
        json_object_set_new(o, "count", json_integer(json_integer_value(json_object_get(o, "count")) + 1));
        return;
    }
    json_object_set_new(x->index, key, json_integer((json_int_t)json_array_size(x->list)));
    json_array_append_new(x->list, json_pack("{s:s,s:s,s:i,s:{s:I},s:s}", "address", h->address, "ascii", h->ascii,
                                             "count", 1, "first", "line", (json_int_t)h->line, "kind", h->kind));
}

/* On the checks worker: decode and scan the upload. */
static void extract_task(void *arg)
{
    hreq *r = arg;
    xctx x = { json_array(), json_object(), 0 };
    bc_extract_options eo = { .obfuscated = r->obfuscated };
    bc_scanner *sc = bc_scanner_new(&eo, extract_hit, &x);
    char err[512] = "";
    bc_status st = sc ? bc_extract_file(sc, r->up_path, err, sizeof err) : BC_ENOMEM;
    if (sc)
        bc_scanner_end(sc);
    bc_scanner_free(sc);
    if (st != BC_OK && json_array_size(x.list) == 0) {
        /* the temporary file's name means nothing to the caller */
        const char *msg = err;
        size_t n = strlen(r->up_path);
        if (strncmp(err, r->up_path, n) == 0 && err[n] == ':')
            msg = err + n + 1 + (err[n + 1] == ' ');
        sv_req_answer_error(r, 400, "bad_request", "%s", msg[0] ? msg : "the body cannot be read");
    } else {
        answer_obj(r, 200, json_pack("{s:o,s:I,s:I,s:o}", "addresses", x.list, "distinct",
                                     (json_int_t)json_array_size(x.list), "total", (json_int_t)x.total, "error",
                                     st == BC_OK ? json_null() : json_string(err)));
        x.list = NULL;
    }
    json_decref(x.list);
    json_decref(x.index);
    sv_req_resume(r);
}

static enum MHD_Result extract_begin(hreq *r)
{
    sv *s = r->s;
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoll(cl, NULL, 10) > s->o->max_body)
        return fail(r, 413, "payload_too_large", "the body is larger than %lld bytes (--max-body)",
                    (long long)s->o->max_body);
    if (!bool_arg(r, "obfuscated", &r->obfuscated))
        return fail(r, 400, "bad_request", "obfuscated must be true or false");
    if (atomic_load(&s->stopping))
        return fail(r, 503, "unavailable", "the server is shutting down");
    return temp_upload(r, "extract", "wb");
}

static enum MHD_Result extract_end(hreq *r)
{
    if (r->discard)
        return send_answer(r);
    if (fclose(r->up) != 0) {
        r->up = NULL;
        return fail(r, 500, "internal", "the upload cannot be stored");
    }
    r->up = NULL;
    if (r->got == 0)
        return fail(r, 400, "bad_request", "the body is empty: send the text or file to scan");
    MHD_suspend_connection(r->conn);
    if (!sv_worker_post(r->s->checks, extract_task, r)) {
        MHD_resume_connection(r->conn);
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    }
    return MHD_YES;
}

/* ---- /v1/disposable ------------------------------------------------------------------------- */

static void disposable_answer(hreq *r)
{
    const sv_opts *o = r->s->o;
    char *text = bc_disposable_check(o->ctx, r->domain, o->offline, o->vo->dns_servers);
    json_t *res = text ? json_loads(text, 0, NULL) : NULL;
    if (!res)
        sv_req_answer_error(r, 500, "internal", "out of memory");
    else if (json_object_get(res, "error"))
        sv_req_answer_error(r, 400, "bad_request", "%s", json_string_value(json_object_get(res, "error")));
    else
        set_answer(r, 200, "application/json", text, strlen(text)), text = NULL;
    json_decref(res);
    free(text);
}

/* On the checks worker (the has_mx lookup waits for DNS). */
static void disposable_task(void *arg)
{
    hreq *r = arg;
    disposable_answer(r);
    sv_req_resume(r);
}

static enum MHD_Result disposable_start(hreq *r)
{
    sv *s = r->s;
    const char *in = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "domain");
    if (!in)
        in = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "email");
    if (!in || !*in)
        return fail(r, 400, "bad_request", "give ?domain=DOMAIN or ?email=ADDRESS");
    if (!(r->domain = strdup(in)))
        return fail(r, 500, "internal", "out of memory");
    if (s->o->offline) {
        disposable_answer(r);
        return send_answer(r);
    }
    return on_checks(r, disposable_task);
}

/* ---- routing ------------------------------------------------------------------------------- */

/* GET /healthz: alive (200) with the version and, online, what the last
 * resolver check found (rwatch.h). A resolver that failed it makes the
 * status "degraded", still 200: the process works and its verdicts stay
 * safe (unknown/dns_unreliable), but the operator should look; a load
 * balancer must not take every node out because the resolver they share
 * misbehaves. */
static enum MHD_Result answer_health(hreq *r, sv *s)
{
    json_t *dns = json_null();
    sv_rstate rs;
    sv_rwatch_get(s->rwatch, &rs);
    if (!s->o->offline) {
        char at[32];
        sv_time_str(rs.checked_at, at, sizeof at);
        dns = json_pack("{s:o,s:o,s:o}", "ok", rs.ok == BC_UNKNOWN ? json_null() : json_boolean(rs.ok == BC_YES),
                        "checked_at", rs.checked_at ? json_string(at) : json_null(), "error",
                        rs.ok == BC_NO ? json_string(rs.message) : json_null());
    }
    const char *status = atomic_load(&s->stopping) ? "stopping" : rs.ok == BC_NO ? "degraded" : "ok";
    answer_obj(r, 200, json_pack("{s:s,s:s,s:o}", "status", status, "version", bc_version(), "dns", dns));
    return send_answer(r);
}

static enum MHD_Result method_not_allowed(hreq *r, const char *allow)
{
    set_header(r, "Allow", "%s", allow);
    return fail(r, 405, "method_not_allowed", "use %s here", allow);
}

/* The first call: headers are in. */
/* GET / and /ui/...: the web UI's embedded files, public (they hold no
 * data: the pages call the API with the user's key). Revalidated by ETag.
 * Sent in the handler's second call, like every answer to a GET. */
static enum MHD_Result ui_send(hreq *r)
{
    const sv_ui_asset *a = r->ui;
    const char *inm = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    unsigned status = inm && strstr(inm, a->etag) ? 304 : 200;
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        status == 200 ? a->len : 0, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, a->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "Content-Security-Policy", SV_UI_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    atomic_fetch_add(&r->s->m.http_code[status], 1);
    atomic_fetch_add(&r->s->m.http[status / 100], 1);
    r->ui = NULL;
    return ret;
}

/* Whether a Host header names this machine's loopback: localhost, 127.x or
 * ::1, with or without a port (no header: a client that is not a browser).
 * An open server on loopback answers only those, so that a web page whose
 * name was rebound to 127.0.0.1 (DNS rebinding) cannot use it. */
static bool local_host(const char *host)
{
    if (!host)
        return true;
    char name[256];
    size_t n;
    if (host[0] == '[') {
        const char *end = strchr(host, ']');
        if (!end)
            return false;
        n = (size_t)(end - host - 1);
        host++;
    } else {
        const char *colon = strchr(host, ':');
        n = colon ? (size_t)(colon - host) : strlen(host);
    }
    if (n == 0 || n >= sizeof name)
        return false;
    memcpy(name, host, n);
    name[n] = '\0';
    if (name[n - 1] == '.')
        name[--n] = '\0';
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(name, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, name, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, name, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* The endpoints at fixed paths, and the methods of every route. */
static const struct {
    const char *path;
    enum route route;
} exact_routes[] = {
    { "/healthz", R_HEALTH }, { "/metrics", R_METRICS }, { "/openapi.json", R_OPENAPI },
    { "/v1/verify", R_VERIFY }, { "/v1/jobs", R_JOBS }, { "/v1/jobs/", R_JOBS }, { "/v1/dns", R_DNS },
    { "/v1/extract", R_EXTRACT }, { "/v1/disposable", R_DISPOSABLE }, { "/v1/jobs/preview", R_PREVIEW },
    { "/v1/smtp-test", R_SMTP_TEST }, { "/v1/me", R_ME }, { "/v1/keys", R_KEYS }, { "/v1/keys/", R_KEYS },
    { "/v1/doctor", R_DOCTOR },
};
static const char *const route_allow[] = {
    [R_HEALTH] = "GET", [R_METRICS] = "GET", [R_OPENAPI] = "GET", [R_VERIFY] = "GET, POST",
    [R_JOBS] = "GET, POST", [R_JOB] = "GET, DELETE", [R_RESULTS] = "GET", [R_DNS] = "GET",
    [R_EXTRACT] = "POST", [R_DISPOSABLE] = "GET", [R_UI] = "GET", [R_PREVIEW] = "POST",
    [R_SMTP_TEST] = "GET", [R_ME] = "GET", [R_KEYS] = "GET, POST", [R_KEY] = "DELETE", [R_DOCTOR] = "GET",
};

static enum MHD_Result begin(hreq *r, const char *url, const char *method)
{
    sv *s = r->s;
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0, del = strcmp(method, "DELETE") == 0;
    r->post = post;
    if (strcmp(url, "/") == 0 || strncmp(url, "/ui/", 4) == 0) {
        r->ui = sv_ui_find(url);
        if (!r->ui)
            return fail(r, 404, "not_found", "no such page");
        if (!get)
            return method_not_allowed(r, "GET");
        r->route = R_UI;
        return MHD_YES;
    }
    for (size_t i = 0; i < sizeof exact_routes / sizeof exact_routes[0]; i++)
        if (strcmp(url, exact_routes[i].path) == 0)
            r->route = exact_routes[i].route;
    if (!r->route && strncmp(url, "/v1/keys/", 9) == 0) {
        const char *id = url + 9;
        size_t n = strlen(id);
        if (n == SV_KEY_ID_LEN && strncmp(id, "k_", 2) == 0 && strspn(id + 2, "0123456789abcdef") == n - 2) {
            memcpy(r->kid, id, n + 1);
            r->route = R_KEY;
        }
    } else if (!r->route && strncmp(url, "/v1/jobs/", 9) == 0) {
        const char *id = url + 9, *slash = strchr(id, '/');
        size_t n = slash ? (size_t)(slash - id) : strlen(id);
        if (is_job_id(id, n) && (!slash || strcmp(slash, "/results") == 0)) {
            memcpy(r->id, id, n);
            r->id[n] = '\0';
            r->route = slash ? R_RESULTS : R_JOB;
        }
    }
    if (!r->route)
        return fail(r, 404, "not_found", "no such endpoint: see /openapi.json");

    const char *allow = route_allow[r->route];
    if (!((get && strstr(allow, "GET")) || (post && strstr(allow, "POST")) || (del && strstr(allow, "DELETE"))))
        return method_not_allowed(r, allow);

    if (r->route == R_HEALTH)
        return answer_health(r, s);
    if (r->route == R_METRICS) {
        sv_job *jobs = NULL;
        size_t n = 0;
        if (sv_job_list(s->store, NULL, &jobs, &n) == 0) {
            int64_t c[5] = { 0 };
            for (size_t i = 0; i < n; i++) {
                if ((int)jobs[i].status >= 0 && (int)jobs[i].status < 5)
                    c[jobs[i].status]++;
                sv_job_clear(&jobs[i]);
            }
            free(jobs);
            for (int i = 0; i < 5; i++)
                atomic_store(&s->m.jobs[i], c[i]);
        }
        size_t len = 0;
        char *t = sv_metrics_text(s, &len);
        if (!t)
            return fail(r, 500, "internal", "out of memory");
        set_answer(r, 200, "text/plain; version=0.0.4; charset=utf-8", t, len);
        return send_answer(r);
    }
    if (r->route == R_OPENAPI) {
        char *t = malloc(bc_data_openapi_json_len + 1);
        if (!t)
            return fail(r, 500, "internal", "out of memory");
        memcpy(t, bc_data_openapi_json, bc_data_openapi_json_len + 1);
        set_answer(r, 200, "application/json", t, bc_data_openapi_json_len);
        return send_answer(r);
    }

    /* /v1: the caller's key */
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    switch (sv_auth_check(s, auth, &r->key)) {
    case SV_AUTH_OPEN:
        memset(&r->key, 0, sizeof r->key);
        if (s->loopback && !s->o->insecure_no_auth &&
            !local_host(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST)))
            return fail(r, 403, "forbidden",
                        "this server has no API key, so it only answers requests addressed to localhost,"
                        " 127.0.0.1 or [::1] (a web page from another site must not use it); create a key"
                        " (bouncecheck keys create --admin) to serve other names");
        break;
    case SV_AUTH_OK:
        break;
    case SV_AUTH_MISSING:
        return fail(r, 401, "unauthorized", "this server needs an API key: Authorization: Bearer KEY");
    case SV_AUTH_UNKNOWN:
        return fail(r, 401, "unauthorized", "unknown API key");
    case SV_AUTH_REVOKED:
        return fail(r, 403, "forbidden", "this API key was revoked");
    case SV_AUTH_ERROR:
        return fail(r, 500, "internal", "the key store cannot be read");
    }
    int wait = sv_rate_take(s, &r->key);
    if (wait > 0) {
        set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "%d", wait);
        return fail(r, 429, "rate_limited", "too many requests for this key (%g per second)", r->key.rate);
    }

    switch (r->route) {
    case R_VERIFY:
        if (!post)
            return verify_get(r);
        {
            const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            if (cl && strtoll(cl, NULL, 10) > SMALL_BODY_MAX)
                return fail(r, 413, "payload_too_large", "the body is larger than %d bytes", SMALL_BODY_MAX);
        }
        return MHD_YES; /* the body follows */
    case R_JOBS:
        return post ? jobs_post_begin(r) : jobs_list(r);
    case R_JOB:
        return del ? job_delete(r) : job_get(r);
    case R_RESULTS:
        return job_results(r);
    case R_DNS:
        return dns_start(r);
    case R_EXTRACT:
        return extract_begin(r);
    case R_DISPOSABLE:
        return disposable_start(r);
    case R_PREVIEW:
        return jobs_post_begin(r);
    case R_SMTP_TEST:
        return smtp_test_start(r);
    case R_DOCTOR:
        return doctor_start(r);
    case R_ME:
        return me_get(r);
    case R_KEYS:
        return post ? keys_post_begin(r) : keys_list(r);
    case R_KEY:
        return key_delete(r);
    default:
        return fail(r, 404, "not_found", "no such endpoint");
    }
}

/* Body bytes of a POST. Any other request's body is read and dropped (it
 * used to reach the upload writer, which has no file then: a crash). */
static void body(hreq *r, const char *data, size_t size)
{
    if (r->discard || !r->post || !r->route)
        return;
    if (r->route == R_VERIFY || r->route == R_KEYS) {
        if (r->len + size > SMALL_BODY_MAX) {
            fail_later(r, 413, "payload_too_large", "the body is larger than %d bytes", SMALL_BODY_MAX);
            return;
        }
        if (r->len + size + 1 > r->cap) {
            size_t cap = (r->len + size + 1) * 2;
            char *nb = realloc(r->buf, cap);
            if (!nb) {
                fail_later(r, 500, "internal", "out of memory");
                return;
            }
            r->buf = nb;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, data, size);
        r->len += size;
        return;
    }
    int64_t body_deadline = (int64_t)r->s->o->request_timeout * 20 * 1000;
    if (sv_mono_ms() - r->t0 > body_deadline) {
        fail_later(r, 408, "request_timeout", "the body did not arrive within %d seconds",
                   r->s->o->request_timeout * 20);
        return;
    }
    if (r->pp) {
        if (MHD_post_process(r->pp, data, size) != MHD_YES)
            fail_later(r, 400, "bad_request", "the multipart body cannot be parsed");
    } else {
        upload_write(r, data, size);
    }
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_data_size,
                               void **con_cls)
{
    (void)version;
    hreq *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->s = cls;
        r->conn = c;
        r->fd = -1;
        r->t0 = sv_mono_ms();
        *con_cls = r;
        r->first = true;
        enum MHD_Result ret = begin(r, url, method);
        r->first = false;
        return ret;
    }
    if (*upload_data_size) {
        /* a body after an answer was queued is not ours to read */
        body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->ready)
        return send_answer(r);
    if (r->route == R_UI && r->ui)
        return ui_send(r);
    if (r->post && r->route == R_VERIFY)
        return verify_post(r);
    if (r->post && (r->route == R_JOBS || r->route == R_PREVIEW))
        return jobs_post_end(r);
    if (r->post && r->route == R_KEYS)
        return keys_post_end(r);
    if (r->post && r->route == R_EXTRACT)
        return extract_end(r);
    return MHD_YES;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    hreq *r = *con_cls;
    if (!r)
        return;
    if (r->pp)
        MHD_destroy_post_processor(r->pp);
    if (r->up)
        fclose(r->up);
    if (r->tmp_made)
        unlink(r->up_path);
    if (r->dir_made && !r->job_created)
        sv_job_rmdir(r->s, r->id);
    if (r->fd >= 0)
        close(r->fd);
    free(r->body);
    free(r->buf);
    free(r->email);
    free(r->domain);
    for (size_t i = 0; i < r->n_sel; i++)
        free(r->dns_sel[i]);
    for (size_t i = 0; i < r->n_ip; i++)
        free(r->dns_ip[i]);
    free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    sv *s = cls;
    if (!s->o->debug)
        return;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    sv_log("http: %s", line);
}

/* Reads a whole (small) file; NULL with err. */
static char *slurp(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sv_fmt(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        free(buf);
        sv_fmt(err, errlen, "%s is empty or unreadable", path);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* ADDR:PORT or [V6]:PORT into a socket address. */
static bool parse_listen(const char *spec, struct sockaddr_storage *ss, bool *v6)
{
    char host[128];
    const char *colon;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host)
            return false;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return false;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return false;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = true;
        return true;
    }
    return false;
}

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a);
}

int sv_http_start(sv *s, char *err, size_t errlen)
{
    const sv_opts *o = s->o;
    struct sockaddr_storage ss;
    bool v6 = false;
    if (!parse_listen(o->listen, &ss, &v6)) {
        sv_fmt(err, errlen, "--listen %s: give ADDRESS:PORT, e.g. 127.0.0.1:8025 or [::1]:8025", o->listen);
        return -1;
    }
    s->loopback = is_loopback(&ss);
    if (!s->loopback && !s->keys_exist && !o->insecure_no_auth) {
        sv_fmt(err, errlen,
                 "refusing to listen on %s without an API key: anyone could use it. Create one first"
                 " (bouncecheck keys create --data %s), or add --insecure-no-auth",
                 o->listen, o->data_dir);
        return -1;
    }
    unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    char *cert = NULL, *key = NULL;
    if (o->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            sv_fmt(err, errlen, "this libmicrohttpd has no TLS support");
            return -1;
        }
        cert = slurp(o->tls_cert, err, errlen);
        key = cert ? slurp(o->tls_key, err, errlen) : NULL;
        if (!cert || !key) {
            free(cert);
            free(key);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    struct MHD_OptionItem opts[] = {
        { MHD_OPTION_SOCK_ADDR, 0, &ss },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, NULL },
        { MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, o->request_timeout, NULL },
        { MHD_OPTION_THREAD_POOL_SIZE, 2, NULL },
        { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s },
        { MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL },
        { cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
        { cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key },
        { MHD_OPTION_END, 0, NULL },
    };
    s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    free(cert);
    free(key);
    if (!s->mhd) {
        sv_fmt(err, errlen, "cannot listen on %s (in use, or not an address of this host?)%s", o->listen,
                 o->tls_cert ? " or the TLS certificate and key do not load" : "");
        return -1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : 0;
    char host[128];
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
    const char *scheme = o->tls_cert ? "https" : "http";
    sv_log("listening on %s://%s%s%s:%u", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
    fprintf(stderr, "  web UI: open %s://%s%s%s:%u/ in a browser\n", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
            port);
    fprintf(stderr, "  try: curl '%s://%s%s%s:%u/v1/verify?email=someone@example.com'%s\n", scheme, v6 ? "[" : "",
            host, v6 ? "]" : "", port,
            s->keys_exist ? " -H 'Authorization: Bearer KEY'" : "");
    fprintf(stderr, "  a list: curl -H 'Content-Type: text/csv' --data-binary @contacts.csv %s://%s%s%s:%u/v1/jobs\n"
                    "  API keys: bouncecheck keys create --admin --data %s; every endpoint: /openapi.json\n",
            scheme, v6 ? "[" : "", host, v6 ? "]" : "", port, o->data_dir);
    return 0;
}

void sv_http_stop(sv *s)
{
    if (s->mhd) {
        MHD_stop_daemon(s->mhd);
        s->mhd = NULL;
    }
}

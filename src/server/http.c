/*
 * http.c - the libmicrohttpd side of `bouncecheck serve`: the daemon, the
 * connection callbacks, request bodies (the small JSON ones gathered here,
 * uploads handed to their route while they come fast enough), answers, and
 * the suspend/resume of a connection whose answer another thread makes.
 * Routing and the endpoints are in api.c and the api_*.c files (api.h); the
 * connections' limits and deadlines in conns.c, told here what each
 * connection's request is doing.
 *
 * A handler never blocks for long: a verification that is not cached goes
 * to the engine, an upload to the io worker (import, or a preview), a first
 * download of results (each format and filter) to the io worker (export),
 * an SMTP test or a DNS report to the checks worker; the connection is
 * suspended meanwhile and resumed by whoever set its answer. /v1/me and
 * /v1/keys (admin keys) answer from the store at once.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>

#include "api.h"

/* ---- the request ---------------------------------------------------------------------- */

const char *api_arg(hreq *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *api_header(hreq *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

bool api_bool_arg(hreq *r, const char *name, bool *v)
{
    return sv_param_bool(api_arg(r, name), v);
}

bool api_too_long(hreq *r, int64_t max)
{
    const char *cl = api_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return cl && strtoll(cl, NULL, 10) > max;
}

/* ---- answers ------------------------------------------------------------------------ */

char *sv_error_json(const char *code, const char *message, size_t *len)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (t)
        *len = strlen(t);
    return t;
}

void api_set_answer(hreq *r, unsigned status, const char *ctype, char *body, size_t len)
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
    api_set_answer(r, status, "application/json", body, len);
}

static void answer_errorv(hreq *r, unsigned status, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void answer_errorv(hreq *r, unsigned status, const char *code, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = 0;
    char *body = sv_error_json(code, msg, &len);
    api_set_answer(r, status, "application/json", body, body ? len : 0);
}

void sv_req_answer_error(hreq *r, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer_errorv(r, status, code, fmt, ap);
    va_end(ap);
}

void api_answer_obj(hreq *r, unsigned status, json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!t) {
        sv_req_answer_error(r, 500, "internal", "out of memory");
        return;
    }
    api_set_answer(r, status, "application/json", t, strlen(t));
}

void api_set_header(hreq *r, const char *name, const char *fmt, ...)
{
    sv_fmt(r->hname, sizeof r->hname, "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->hval, sizeof r->hval, fmt, ap);
    va_end(ap);
}

void api_count(hreq *r, unsigned status)
{
    if (status < 600) {
        atomic_fetch_add(&r->s->m.http_code[status], 1);
        atomic_fetch_add(&r->s->m.http[status / 100], 1);
    }
}

enum MHD_Result api_send(hreq *r)
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
    if (ret == MHD_YES)
        sv_conns_answer(r->s->conns, r->conn); /* the rest of a body is not read */
    api_count(r, r->status);
    if (r->s->o->debug)
        wk_log("%u %s", r->status, r->note ? r->note : "");
    r->ready = false;
    return ret;
}

enum MHD_Result api_fail(hreq *r, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    answer_errorv(r, status, code, fmt, ap);
    va_end(ap);
    return api_send(r);
}

void api_fail_later(hreq *r, unsigned status, const char *code, const char *fmt, ...)
{
    if (r->discard)
        return; /* the first error stands */
    va_list ap;
    va_start(ap, fmt);
    answer_errorv(r, status, code, fmt, ap);
    va_end(ap);
    r->discard = true;
}

/* ---- bodies ------------------------------------------------------------------------- */

bool api_buf_append(hreq *r, const char *data, size_t len)
{
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->len + len + 1) * 2;
        char *nb = realloc(r->buf, cap);
        if (!nb) {
            api_fail_later(r, 500, "internal", "out of memory");
            return false;
        }
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, len);
    r->len += len;
    return true;
}

json_t *api_body_json(hreq *r, enum MHD_Result *ret)
{
    if (r->discard) {
        *ret = api_send(r);
        return NULL;
    }
    char err[512];
    json_t *o = sv_body_json(r->buf, r->len, err, sizeof err);
    if (!o)
        *ret = api_fail(r, 400, "bad_request", "%s", err);
    return o;
}

/* Body bytes: a route that takes none drops them (a GET's, a 405's). slow:
 * they come slower than --body-min-rate (conns.c cuts the connection unless
 * the rest comes at once; an upload is answered 408 then). */
static void body(hreq *r, const char *data, size_t size, bool slow)
{
    if (r->discard || !r->route || !r->post)
        return;
    switch (r->route->body) {
    case API_BODY_NONE: return;
    case API_BODY_JSON:
        if (r->len + size > API_SMALL_BODY_MAX)
            api_fail_later(r, 413, "payload_too_large", "the body is larger than %d bytes", API_SMALL_BODY_MAX);
        else
            api_buf_append(r, data, size);
        return;
    case API_BODY_STREAM:
        if (slow)
            api_fail_later(r, 408, "request_timeout",
                           "the body came slower than %lld bytes a second (after the first %d seconds)",
                           (long long)r->s->o->body_min_rate, r->s->o->header_timeout);
        else
            r->route->chunk(r, data, size);
        return;
    }
}

/* ---- another thread's answer ----------------------------------------------------------- */

void sv_req_resume(hreq *r)
{
    MHD_resume_connection(r->conn);
}

bool api_run_on(hreq *r, sv_pool *w, void (*task)(void *), void *arg)
{
    sv_conns_answer(r->s->conns, r->conn);
    MHD_suspend_connection(r->conn);
    if (sv_pool_post(w, task, arg))
        return true;
    MHD_resume_connection(r->conn);
    sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    return false;
}

enum MHD_Result api_on_checks(hreq *r, void (*task)(void *))
{
    if (atomic_load(&r->s->stopping))
        return api_fail(r, 503, "unavailable", "the server is shutting down");
    api_run_on(r, r->s->checks, task, r);
    return MHD_YES;
}

/* ---- the connection callbacks --------------------------------------------------------- */

/* A request beyond --max-connections-per-ip from a client behind a trusted
 * proxy (a direct client's connection is closed at once instead). */
static enum MHD_Result too_many(hreq *r, const char *method)
{
    r->post = strcmp(method, "POST") == 0;
    api_set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    return api_fail(r, 429, "rate_limited", "too many requests at once from this address (at most %d)",
                    r->s->o->max_connections_per_ip);
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
        enum MHD_Result ret = sv_conns_headers(r->s->conns, c) ? api_dispatch(r, url, method)
                                                               : too_many(r, method);
        r->first = false;
        return ret;
    }
    if (*upload_data_size) {
        /* a body after an answer was queued is not ours to read */
        bool slow = !sv_conns_body(r->s->conns, c, *upload_data_size);
        body(r, upload_data, *upload_data_size, slow);
        *upload_data_size = 0;
        return MHD_YES;
    }
    sv_conns_answer(r->s->conns, c); /* the body, if any, is in */
    if (r->ready)
        return api_send(r);
    if (r->route && r->route->end)
        return r->route->end(r);
    return MHD_YES;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    sv *s = cls;
    sv_conns_done(s->conns, c, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    hreq *r = *con_cls;
    if (!r)
        return;
    if (r->route && r->route->done)
        r->route->done(r);
    if (r->fd >= 0)
        close(r->fd);
    free(r->st);
    free(r->body);
    free(r->buf);
    free(r);
    *con_cls = NULL;
}

/* MHD's messages, with --debug. */
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
    wk_log("http: %s", line);
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

/* Enough descriptors for --max-connections: the soft limit raised towards
 * the hard one, else a warning (accept() failing for want of descriptors
 * would leave connections waiting in the listen queue). */
static void raise_nofile(int max_connections)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)max_connections + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
        return;
    rlim_t had = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    if (rl.rlim_cur > had && setrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = had;
    if (rl.rlim_cur < want)
        wk_log("warning: at most %llu open files (ulimit -n): --max-connections %d wants %llu",
               (unsigned long long)rl.rlim_cur, max_connections, (unsigned long long)want);
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
    s->conns = sv_conns_new(o, &s->m, err, errlen);
    if (!s->conns) {
        free(cert);
        free(key);
        return -1;
    }
    raise_nofile(o->max_connections);
    /* conns.c keeps --max-connections, closing what is beyond at once; at
     * libmicrohttpd's own limit (split between its threads) it would stop
     * accepting, and connections would wait in the listen queue */
    struct MHD_OptionItem opts[] = {
        { MHD_OPTION_SOCK_ADDR, 0, &ss },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)completed, s },
        { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)sv_conns_notify, s->conns },
        { MHD_OPTION_CONNECTION_LIMIT, 2 * o->max_connections + 256, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, o->request_timeout, NULL },
        { MHD_OPTION_THREAD_POOL_SIZE, 2, NULL },
        { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, s },
        { MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL },
        { cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert },
        { cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key },
        { MHD_OPTION_END, 0, NULL },
    };
    s->mhd = MHD_start_daemon(flags, 0, sv_conns_accept, s->conns, handler, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    free(cert);
    free(key);
    if (!s->mhd) {
        sv_conns_free(s->conns);
        s->conns = NULL;
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
    wk_log("listening on %s://%s%s%s:%u", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port);
    fprintf(stderr, "  web UI: open %s://%s%s%s:%u/ in a browser\n", scheme, v6 ? "[" : "", host, v6 ? "]" : "",
            port);
    fprintf(stderr, "  try: curl '%s://%s%s%s:%u/v1/verify?email=someone@example.com'%s\n", scheme, v6 ? "[" : "",
            host, v6 ? "]" : "", port, s->keys_exist ? " -H 'Authorization: Bearer KEY'" : "");
    fprintf(stderr,
            "  a list: curl -H 'Content-Type: text/csv' --data-binary @contacts.csv %s://%s%s%s:%u/v1/jobs\n"
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
    sv_conns_free(s->conns); /* every connection is closed */
    s->conns = NULL;
}

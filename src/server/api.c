/*
 * api.c - the HTTP API's route table and its dispatcher: which route a
 * method and a path name (404 when no path matches, 405 with the methods
 * that do when only the method is wrong), then who may call it (the key,
 * the loopback rule of an open server, the rate limit, admin keys) as the
 * route's auth says, before the route's own begin.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "api.h"

_Static_assert(ST_KEY_ID_LEN < ST_JOB_ID_LEN, "hreq.id holds a job id or a key id");

/* Every endpoint. For one path, the entries' order is the order of the
 * methods in a 405's Allow header. */
static const api_route routes[] = {
    /* the web UI: files, and 404/405 answered by its begin (public: no data in them) */
    { NULL, "/", API_PUBLIC, API_BODY_NONE, api_ui_begin, NULL, api_ui_end, NULL },
    { NULL, "/ui/*", API_PUBLIC, API_BODY_NONE, api_ui_begin, NULL, api_ui_end, NULL },
    /* api_meta.c */
    { "GET", "/healthz", API_PUBLIC, API_BODY_NONE, api_health, NULL, NULL, NULL },
    { "GET", "/metrics", API_ADMIN_READ, API_BODY_NONE, api_metrics, NULL, NULL, NULL },
    { "GET", "/openapi.json", API_PUBLIC, API_BODY_NONE, api_openapi, NULL, NULL, NULL },
    /* api_verify.c */
    { "GET", "/v1/verify", API_KEY, API_BODY_NONE, api_verify_get, NULL, NULL, api_verify_done },
    { "POST", "/v1/verify", API_KEY, API_BODY_JSON, NULL, NULL, api_verify_post, api_verify_done },
    /* api_jobs.c and upload.c */
    { "GET", "/v1/jobs/?", API_KEY, API_BODY_NONE, api_jobs_list, NULL, NULL, NULL },
    { "POST", "/v1/jobs/?", API_KEY, API_BODY_STREAM, api_upload_begin, api_upload_chunk, api_upload_end,
      api_upload_done },
    { "POST", "/v1/jobs/preview", API_KEY, API_BODY_STREAM, api_preview_begin, api_upload_chunk, api_upload_end,
      api_upload_done },
    { "GET", "/v1/jobs/{job}", API_KEY, API_BODY_NONE, api_job_get, NULL, NULL, NULL },
    { "DELETE", "/v1/jobs/{job}", API_KEY, API_BODY_NONE, api_job_delete, NULL, NULL, NULL },
    { "GET", "/v1/jobs/{job}/results", API_KEY, API_BODY_NONE, api_job_results, NULL, NULL, NULL },
    /* the tools */
    { "GET", "/v1/dns", API_KEY, API_BODY_NONE, api_dns, NULL, NULL, api_dns_done },
    { "POST", "/v1/extract", API_KEY, API_BODY_STREAM, api_extract_begin, api_extract_chunk, api_extract_end,
      api_extract_done },
    { "GET", "/v1/disposable", API_KEY, API_BODY_NONE, api_disposable, NULL, NULL, api_disposable_done },
    { "GET", "/v1/smtp-test", API_KEY, API_BODY_NONE, api_smtp_test, NULL, NULL, api_smtp_test_done },
    { "GET", "/v1/doctor", API_KEY, API_BODY_NONE, api_doctor, NULL, NULL, NULL },
    /* api_keys.c */
    { "GET", "/v1/me", API_KEY, API_BODY_NONE, api_me, NULL, NULL, NULL },
    { "GET", "/v1/keys/?", API_ADMIN_READ, API_BODY_NONE, api_keys_list, NULL, NULL, NULL },
    { "POST", "/v1/keys/?", API_ADMIN, API_BODY_JSON, NULL, NULL, api_keys_create, NULL },
    { "DELETE", "/v1/keys/{key}", API_ADMIN, API_BODY_NONE, api_key_revoke, NULL, NULL, NULL },
};

/* ---- matching ------------------------------------------------------------------------ */

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* Whether url is the route's path; an id segment goes to id. */
static bool match(const char *pat, const char *url, char id[ST_JOB_ID_LEN + 1])
{
    while (*pat) {
        if (strcmp(pat, "*") == 0)
            return true;
        if (strcmp(pat, "/?") == 0)
            return url[0] == '\0' || strcmp(url, "/") == 0;
        if (*pat == '{') {
            bool job = strncmp(pat, "{job}", 5) == 0;
            size_t n = strcspn(url, "/"), want = job ? ST_JOB_ID_LEN : ST_KEY_ID_LEN;
            if (n != want || !(job ? lower_hex(url, n) : strncmp(url, "k_", 2) == 0 && lower_hex(url + 2, n - 2)))
                return false;
            memcpy(id, url, n);
            id[n] = '\0';
            pat += 5;
            url += n;
            continue;
        }
        if (*pat++ != *url++)
            return false;
    }
    return *url == '\0';
}

/* ---- who may call ------------------------------------------------------------------- */

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

/* The caller's key into r->key, the rate limit, and the admin rule of the
 * key routes: MHD_YES when the request may go on, else *ret is answered. */
static bool allowed(hreq *r, enum MHD_Result *ret)
{
    sv *s = r->s;
    switch (sv_auth_check(s, api_header(r, MHD_HTTP_HEADER_AUTHORIZATION), &r->key)) {
    case SV_AUTH_OPEN:
        memset(&r->key, 0, sizeof r->key);
        if (s->loopback && !s->o->insecure_no_auth && !local_host(api_header(r, MHD_HTTP_HEADER_HOST))) {
            *ret = api_fail(r, 403, "forbidden",
                            "this server has no API key, so it only answers requests addressed to localhost,"
                            " 127.0.0.1 or [::1] (a web page from another site must not use it); create a key"
                            " (bouncecheck keys create --admin) to serve other names");
            return false;
        }
        break;
    case SV_AUTH_OK: break;
    case SV_AUTH_MISSING:
        *ret = api_fail(r, 401, "unauthorized", "this server needs an API key: Authorization: Bearer KEY");
        return false;
    case SV_AUTH_UNKNOWN: *ret = api_fail(r, 401, "unauthorized", "unknown API key"); return false;
    case SV_AUTH_REVOKED: *ret = api_fail(r, 403, "forbidden", "this API key was revoked"); return false;
    case SV_AUTH_ERROR: *ret = api_fail(r, 500, "internal", "the key store cannot be read"); return false;
    }
    int wait = sv_rate_take(s, &r->key);
    if (wait > 0) {
        api_set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "%d", wait);
        *ret = api_fail(r, 429, "rate_limited", "too many requests for this key (%g per second)", r->key.rate);
        return false;
    }
    if (r->route->auth == API_ADMIN && !r->key.id[0]) {
        *ret = api_fail(r, 403, "forbidden",
                        "this server has no API keys, so none can be managed here: create the first admin key"
                        " with `bouncecheck keys create --admin` on the server");
        return false;
    }
    if ((r->route->auth == API_ADMIN || r->route->auth == API_ADMIN_READ) && r->key.id[0] && !r->key.admin) {
        *ret = api_fail(r, 403, "forbidden",
                        "only an admin key may manage keys (made with `bouncecheck keys create --admin`)");
        return false;
    }
    return true;
}

/* ---- the dispatcher ------------------------------------------------------------------ */

enum MHD_Result api_dispatch(hreq *r, const char *url, const char *method)
{
    r->url = url;
    r->get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    r->post = strcmp(method, "POST") == 0;
    char allow[64] = "";
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && !r->route; i++) {
        const api_route *rt = &routes[i];
        char id[ST_JOB_ID_LEN + 1] = "";
        if (!match(rt->path, url, id))
            continue;
        path_known = true;
        if (!rt->method || (strcmp(rt->method, "GET") == 0 ? r->get : strcmp(rt->method, method) == 0)) {
            r->route = rt;
            memcpy(r->id, id, sizeof r->id);
        } else if (!strstr(allow, rt->method)) {
            size_t n = strlen(allow);
            sv_fmt(allow + n, sizeof allow - n, "%s%s", n ? ", " : "", rt->method);
        }
    }
    if (!path_known)
        return api_fail(r, 404, "not_found", "no such endpoint: see /openapi.json");
    if (!r->route)
        return api_method_not_allowed(r, allow);
    enum MHD_Result ret = MHD_NO;
    if (r->route->auth != API_PUBLIC && !allowed(r, &ret))
        return ret;
    if (r->route->body == API_BODY_JSON && api_too_long(r, API_SMALL_BODY_MAX))
        return api_fail(r, 413, "payload_too_large", "the body is larger than %d bytes", API_SMALL_BODY_MAX);
    return r->route->begin ? r->route->begin(r) : MHD_YES; /* no begin: the body follows */
}

enum MHD_Result api_method_not_allowed(hreq *r, const char *allow)
{
    api_set_header(r, "Allow", "%s", allow);
    return api_fail(r, 405, "method_not_allowed", "use %s here", allow);
}

int api_quota(hreq *r, int64_t n)
{
    int wait = sv_quota_take(r->s, &r->key, n);
    if (wait > 0)
        api_set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "%d", wait);
    return wait;
}

void *api_state(hreq *r, size_t size)
{
    if (!r->st)
        r->st = calloc(1, size);
    return r->st;
}

/* ---- JSON pieces --------------------------------------------------------------------- */

json_t *api_time_or_null(int64_t t)
{
    if (!t)
        return json_null();
    char buf[32];
    wk_time_str(t, buf, sizeof buf);
    return json_string(buf);
}

json_t *api_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

json_t *api_cell_json(const char *c, size_t n)
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

/*
 * api_verify.c - GET and POST /v1/verify: one address, answered from the
 * cache (memory, then the store) or --offline at once, else verified by the
 * engine (engine.c) while the connection waits suspended.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define STORE_HIT_TTL 60 /* a result read back from the store stays this long in memory */

typedef struct verify_req {
    char *email;
    size_t email_len;
    int timeout_ms;
    bool trace; /* ?trace=1: fresh, with the SMTP transcript */
    char ckey[BC_ADDR_MAX + 8];
    bool has_ckey;
} verify_req;

bool sv_req_trace(const hreq *r)
{
    const verify_req *v = r->st;
    return v->trace;
}

const char *sv_req_email(const hreq *r, size_t *len, int *timeout_ms)
{
    const verify_req *v = r->st;
    *len = v->email_len;
    *timeout_ms = v->timeout_ms;
    return v->email;
}

void api_verify_done(hreq *r)
{
    verify_req *v = r->st;
    if (v)
        free(v->email);
}

static enum MHD_Result verify_start(hreq *r, verify_req *v)
{
    sv *s = r->s;
    if (!v->email || v->email_len == 0)
        return api_fail(r, 400, "bad_request",
                        "no address: give ?email=ADDR or a JSON body {\"email\": \"ADDR\"}");
    if (api_quota(r, 1) > 0)
        return api_fail(r, 429, "quota_exceeded", "the daily quota of this key (%lld verifications) is used up",
                        (long long)r->key.daily);
    int64_t now = wk_now();
    if (s->o->cache_ttl > 0)
        v->has_ckey = sv_cache_key(v->email, v->email_len, v->ckey, sizeof v->ckey);
    /* a transcript is of one conversation: trace=1 never answers from the
     * cache (its result still goes into it, without the transcript) */
    if (v->has_ckey && !v->trace) {
        size_t len = 0;
        char *hit = sv_cache_lookup(s->cache, v->ckey, now, &len);
        if (!hit && !s->o->offline && st_cache_get(s->store, v->ckey, now, &hit) == 1) {
            /* known from before a restart: back into memory for a while */
            len = strlen(hit);
            sv_cache_insert(s->cache, v->ckey, hit, len, now + STORE_HIT_TTL);
        }
        if (hit) {
            atomic_fetch_add(&s->m.cache_hits, 1);
            api_set_answer(r, 200, "application/json", hit, len);
            return api_send(r);
        }
        atomic_fetch_add(&s->m.cache_misses, 1);
    }
    if (s->o->offline) {
        bc_result *res = NULL;
        if (bc_verify_offline(s->o->ctx, v->email, v->email_len, &res) != BC_OK)
            return api_fail(r, 500, "internal", "out of memory");
        size_t len = 0;
        char *body = sv_result_bodies(s, res, v->has_ckey ? v->ckey : NULL, &len);
        bc_result_free(res);
        sv_req_answer_json(r, 200, body, len);
        return api_send(r);
    }
    if (atomic_load(&s->stopping))
        return api_fail(r, 503, "unavailable", "the server is shutting down");
    sv_msg *m = calloc(1, sizeof *m);
    if (!m)
        return api_fail(r, 500, "internal", "out of memory");
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

enum MHD_Result api_verify_get(hreq *r)
{
    verify_req *v = api_state(r, sizeof *v);
    if (!v)
        return api_fail(r, 500, "internal", "out of memory");
    const char *email = api_arg(r, "email");
    const char *t = api_arg(r, "timeout");
    if (t && sv_param_timeout(t, &v->timeout_ms) != 0)
        return api_fail(r, 400, "bad_request", "timeout must be a number of seconds from 1 to 300");
    if (!api_bool_arg(r, "trace", &v->trace))
        return api_fail(r, 400, "bad_request", "trace must be 1 (true) or 0 (false)");
    if (email) {
        v->email_len = strlen(email);
        v->email = strdup(email);
        if (!v->email)
            return api_fail(r, 500, "internal", "out of memory");
        r->note = v->email;
    }
    return verify_start(r, v);
}

enum MHD_Result api_verify_post(hreq *r)
{
    verify_req *v = api_state(r, sizeof *v);
    if (!v)
        return api_fail(r, 500, "internal", "out of memory");
    enum MHD_Result bad;
    json_t *o = api_body_json(r, &bad);
    if (!o)
        return bad;
    sv_verify_body b;
    char err[256];
    enum MHD_Result ret;
    if (sv_read_verify_body(o, &b, err, sizeof err) != 0) {
        ret = api_fail(r, 400, "bad_request", "%s", err);
    } else {
        v->trace = b.trace;
        if (b.timeout_ms)
            v->timeout_ms = b.timeout_ms;
        v->email_len = b.email_len;
        v->email = malloc(v->email_len + 1);
        if (!v->email) {
            ret = api_fail(r, 500, "internal", "out of memory");
        } else {
            memcpy(v->email, b.email, v->email_len + 1);
            r->note = v->email;
            ret = verify_start(r, v);
        }
    }
    json_decref(o);
    return ret;
}

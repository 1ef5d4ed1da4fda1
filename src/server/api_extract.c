/*
 * api_extract.c - POST /v1/extract: the addresses found in an uploaded text
 * or file (spooled to a temporary file, decoded and scanned on the checks
 * worker), each once with its count, in order of first appearance.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"

typedef struct extract_req {
    api_spool sp;
    bool obfuscated; /* ?obfuscated=1: "ann (at) example (dot) com" too */
} extract_req;

typedef struct xctx {
    json_t *list;  /* the answer's addresses, in order of first appearance */
    json_t *index; /* dedup key -> position in list */
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
    extract_req *e = r->st;
    xctx x = { json_array(), json_object(), 0 };
    bc_extract_options eo = { .obfuscated = e->obfuscated };
    bc_scanner *sc = bc_scanner_new(&eo, extract_hit, &x);
    char err[512] = "";
    bc_error st = sc ? bc_extract_file(sc, e->sp.path, err, sizeof err) : BC_ENOMEM;
    if (sc)
        bc_scanner_end(sc);
    bc_scanner_free(sc);
    if (st != BC_OK && json_array_size(x.list) == 0) {
        /* the temporary file's name means nothing to the caller */
        const char *msg = err;
        size_t n = strlen(e->sp.path);
        if (strncmp(err, e->sp.path, n) == 0 && err[n] == ':')
            msg = err + n + 1 + (err[n + 1] == ' ');
        sv_req_answer_error(r, 400, "bad_request", "%s", msg[0] ? msg : "the body cannot be read");
    } else {
        api_answer_obj(r, 200,
                       json_pack("{s:o,s:I,s:I,s:o}", "addresses", x.list, "distinct",
                                 (json_int_t)json_array_size(x.list), "total", (json_int_t)x.total, "error",
                                 st == BC_OK ? json_null() : json_string(err)));
        x.list = NULL;
    }
    json_decref(x.list);
    json_decref(x.index);
    sv_req_resume(r);
}

enum MHD_Result api_extract_begin(hreq *r)
{
    sv *s = r->s;
    extract_req *e = api_state(r, sizeof *e);
    if (!e)
        return api_fail(r, 500, "internal", "out of memory");
    if (api_too_long(r, s->o->max_body))
        return api_fail(r, 413, "payload_too_large", "the body is larger than %lld bytes (--max-body)",
                        (long long)s->o->max_body);
    if (!api_bool_arg(r, "obfuscated", &e->obfuscated))
        return api_fail(r, 400, "bad_request", "obfuscated must be true or false");
    if (atomic_load(&s->stopping))
        return api_fail(r, 503, "unavailable", "the server is shutting down");
    return api_spool_temp(r, &e->sp, "extract", "wb");
}

void api_extract_chunk(hreq *r, const char *data, size_t len)
{
    extract_req *e = r->st;
    api_spool_write(r, &e->sp, data, len);
}

enum MHD_Result api_extract_end(hreq *r)
{
    extract_req *e = r->st;
    if (r->discard)
        return api_send(r);
    if (api_spool_close(&e->sp) != 0)
        return api_fail(r, 500, "internal", "the upload cannot be stored");
    if (e->sp.got == 0)
        return api_fail(r, 400, "bad_request", "the body is empty: send the text or file to scan");
    api_run_on(r, r->s->checks, extract_task, r);
    return MHD_YES;
}

void api_extract_done(hreq *r)
{
    extract_req *e = r->st;
    if (e)
        api_spool_free(&e->sp);
}

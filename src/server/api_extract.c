/*
 * api_extract.c - POST /v1/extract: the addresses found in an uploaded text
 * or file (spooled to a temporary file, decoded and scanned on the extract
 * pool), each once with its count, in order of first appearance.
 *
 * The pool has --extract-workers threads and lets --extract-queue uploads
 * wait; one more is answered 429 with Retry-After (before its body is
 * read when the queue is already full), so a heavy document delays at most
 * the uploads queued behind it, never the other tools. Each extraction is
 * bounded by --max-extract-seconds and --max-extract-bytes: one that
 * reaches a limit answers what it found with "truncated": true and the
 * limit's name.
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

/* The seconds a client should wait when the queue is full: a place frees
 * when a running extraction ends, within --max-extract-seconds. */
static int extract_retry_after(const sv *s)
{
    double t = s->o->extract.max_seconds;
    if (t <= 0) /* the default (or no limit: a guess) */
        t = BC_EXTRACT_MAX_SECONDS;
    int up = (int)t;
    if (up < t)
        up++;
    return up < 1 ? 1 : up;
}

/* On the extract pool: decode and scan the upload. */
static void extract_task(void *arg)
{
    hreq *r = arg;
    extract_req *e = r->st;
    if (atomic_load(&r->s->stopping)) {
        sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
        sv_req_resume(r);
        return;
    }
    xctx x = { json_array(), json_object(), 0 };
    bc_extract_options eo = r->s->o->extract;
    eo.obfuscated = e->obfuscated;
    bc_scanner *sc = bc_scanner_new(&eo, extract_hit, &x);
    char err[512] = "";
    bc_error st = sc ? bc_extract_file(sc, e->sp.path, err, sizeof err) : BC_ENOMEM;
    bc_extract_stats xs;
    bc_scanner_stats(sc, &xs);
    if (sc)
        bc_scanner_end(sc);
    bc_scanner_free(sc);
    /* the temporary file's name means nothing to the caller */
    const char *msg = err;
    size_t n = strlen(e->sp.path);
    if (strncmp(err, e->sp.path, n) == 0 && err[n] == ':')
        msg = err + n + 1 + (err[n + 1] == ' ');
    if (st != BC_OK && st != BC_ELIMIT && json_array_size(x.list) == 0) {
        sv_req_answer_error(r, 400, "bad_request", "%s", msg[0] ? msg : "the body cannot be read");
    } else {
        const char *limit = xs.limit == BC_EXTRACT_LIMIT_SECONDS ? "max_extract_seconds"
                            : xs.limit == BC_EXTRACT_LIMIT_BYTES ? "max_extract_bytes"
                                                                 : NULL;
        api_answer_obj(r, 200,
                       json_pack("{s:o,s:I,s:I,s:o,s:b,s:o,s:I}", "addresses", x.list, "distinct",
                                 (json_int_t)json_array_size(x.list), "total", (json_int_t)x.total, "error",
                                 st == BC_OK ? json_null() : json_string(msg[0] ? msg : bc_strerror(st)),
                                 "truncated", limit != NULL, "limit", limit ? json_string(limit) : json_null(),
                                 "lines_cut", (json_int_t)xs.lines_cut));
        x.list = NULL;
    }
    json_decref(x.list);
    json_decref(x.index);
    sv_req_resume(r);
}

/* 429 with Retry-After: the extract pool's queue is full. */
static enum MHD_Result extract_busy(hreq *r, bool send)
{
    api_set_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "%d", extract_retry_after(r->s));
    sv_req_answer_error(r, 429, "busy",
                        "%d extractions are running and %d more are waiting (--extract-workers, --extract-queue):"
                        " try again later",
                        r->s->o->extract_workers, r->s->o->extract_queue);
    return send ? api_send(r) : MHD_YES;
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
    if (sv_pool_full(s->extract, (size_t)s->o->extract_queue))
        return extract_busy(r, true);
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
    if (atomic_load(&r->s->stopping))
        return api_fail(r, 503, "unavailable", "the server is shutting down");
    /* suspended first: the task may answer and resume before the post returns */
    MHD_suspend_connection(r->conn);
    int posted = sv_pool_try_post(r->s->extract, extract_task, r, (size_t)r->s->o->extract_queue);
    if (posted == 1)
        return MHD_YES;
    MHD_resume_connection(r->conn);
    if (posted == 0)
        return extract_busy(r, false);
    sv_req_answer_error(r, 503, "unavailable", "the server is shutting down");
    return MHD_YES;
}

void api_extract_done(hreq *r)
{
    extract_req *e = r->st;
    if (e)
        api_spool_free(&e->sp);
}

/*
 * api_ui.c - GET / and /ui/...: the web UI's embedded files (ui.h), public
 * (they hold no data: the pages call the API with the user's key) and
 * revalidated by ETag. Sent in the handler's second call, like every answer
 * to a GET, with the UI's own headers.
 */
#include <string.h>

#include "api.h"
#include "ui.h"

typedef struct ui_req {
    const sv_ui_asset *a; /* NULL once sent */
} ui_req;

/* The routes take every method, so that a path with no file is a 404
 * whatever the method, and a file asked with another one a 405. */
enum MHD_Result api_ui_begin(hreq *r)
{
    const sv_ui_asset *a = sv_ui_find(r->url);
    if (!a)
        return api_fail(r, 404, "not_found", "no such page");
    if (!r->get)
        return api_method_not_allowed(r, "GET");
    ui_req *u = api_state(r, sizeof *u);
    if (!u)
        return api_fail(r, 500, "internal", "out of memory");
    u->a = a;
    return MHD_YES;
}

enum MHD_Result api_ui_end(hreq *r)
{
    ui_req *u = r->st;
    if (!u || !u->a)
        return MHD_YES;
    const sv_ui_asset *a = u->a;
    const char *inm = api_header(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    unsigned status = inm && strstr(inm, a->etag) ? 304 : 200;
    struct MHD_Response *resp = MHD_create_response_from_buffer(status == 200 ? a->len : 0, (void *)a->data,
                                                                MHD_RESPMEM_PERSISTENT);
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
    api_count(r, status);
    u->a = NULL;
    return ret;
}

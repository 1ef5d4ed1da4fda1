/*
 * api_disposable.c - GET /v1/disposable: whether a domain (or an address's
 * domain) is a throwaway mail service, from the lists and, online, its MX
 * (on the checks worker: the lookup waits for DNS).
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"

typedef struct disposable_req {
    char *domain;
} disposable_req;

static void disposable_answer(hreq *r)
{
    const sv_opts *o = r->s->o;
    disposable_req *d = r->st;
    char *text = bc_disposable_check(o->ctx, d->domain, o->offline, o->vo->dns_servers);
    json_t *res = text ? json_loads(text, 0, NULL) : NULL;
    if (!res)
        sv_req_answer_error(r, 500, "internal", "out of memory");
    else if (json_object_get(res, "error"))
        sv_req_answer_error(r, 400, "bad_request", "%s", json_string_value(json_object_get(res, "error")));
    else
        api_set_answer(r, 200, "application/json", text, strlen(text)), text = NULL;
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

enum MHD_Result api_disposable(hreq *r)
{
    disposable_req *d = api_state(r, sizeof *d);
    if (!d)
        return api_fail(r, 500, "internal", "out of memory");
    const char *in = api_arg(r, "domain");
    if (!in)
        in = api_arg(r, "email");
    if (!in || !*in)
        return api_fail(r, 400, "bad_request", "give ?domain=DOMAIN or ?email=ADDRESS");
    if (!(d->domain = strdup(in)))
        return api_fail(r, 500, "internal", "out of memory");
    if (r->s->o->offline) {
        disposable_answer(r);
        return api_send(r);
    }
    return api_on_checks(r, disposable_task);
}

void api_disposable_done(hreq *r)
{
    disposable_req *d = r->st;
    if (d)
        free(d->domain);
}

/*
 * api_dns.c - GET /v1/dns: a domain's health report (MX, SPF, DMARC, DKIM
 * selectors, MTA-STS, reverse DNS of given IPs, the MX hosts' SMTP), made
 * on the checks worker: it takes DNS round trips, connections to the MX
 * hosts and an HTTPS fetch, so it never runs on an HTTP thread.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define DNS_LIST_MAX 16 /* dkim_selector / ip parameters */

typedef struct dns_req {
    char *domain;
    char *sel[DNS_LIST_MAX], *ip[DNS_LIST_MAX];
    size_t n_sel, n_ip;
    bool too_many, no_smtp;
} dns_req;

static void dns_task(void *arg)
{
    hreq *r = arg;
    dns_req *d = r->st;
    const sv_opts *o = r->s->o;
    bc_health_options ho = {
        .dns_servers = o->vo->dns_servers,
        .dkim_selectors = (const char *const *)d->sel,
        .n_dkim_selectors = d->n_sel,
        .ips = (const char *const *)d->ip,
        .n_ips = d->n_ip,
        .allow_private = o->vo->allow_private,
        .helo = o->vo->helo,
        .timeout_ms = 10000,
        .no_smtp = d->no_smtp,
    };
    char *text = NULL, err[512] = "";
    bc_error st = bc_health_check(d->domain, &ho, &text, err, sizeof err);
    if (st == BC_OK)
        api_set_answer(r, 200, "application/json", text, strlen(text));
    else if (st == BC_EINVAL)
        sv_req_answer_error(r, 400, "bad_request", "%s", err);
    else
        sv_req_answer_error(r, 500, "internal", "the report could not be made");
    sv_req_resume(r);
}

static enum MHD_Result dns_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    dns_req *d = cls;
    bool sel = strcmp(key, "dkim_selector") == 0, ip = strcmp(key, "ip") == 0;
    if ((!sel && !ip) || !value || !*value)
        return MHD_YES;
    size_t *n = sel ? &d->n_sel : &d->n_ip;
    char **arr = sel ? d->sel : d->ip;
    if (*n >= DNS_LIST_MAX) {
        d->too_many = true;
        return MHD_YES;
    }
    if ((arr[*n] = strdup(value)) != NULL)
        (*n)++;
    return MHD_YES;
}

enum MHD_Result api_dns(hreq *r)
{
    dns_req *d = api_state(r, sizeof *d);
    if (!d)
        return api_fail(r, 500, "internal", "out of memory");
    const char *domain = api_arg(r, "domain");
    if (!domain || !*domain)
        return api_fail(r, 400, "bad_request", "give the domain: /v1/dns?domain=example.com");
    if (r->s->o->offline)
        return api_fail(r, 503, "unavailable", "this server runs --offline: the DNS checks need the network");
    if (!(d->domain = strdup(domain)))
        return api_fail(r, 500, "internal", "out of memory");
    const char *smtp = api_arg(r, "smtp");
    bool with_smtp;
    if (!sv_param_bool(smtp, &with_smtp))
        return api_fail(r, 400, "bad_request", "smtp must be true or false");
    d->no_smtp = smtp && !with_smtp;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, dns_arg, d);
    if (d->too_many)
        return api_fail(r, 400, "bad_request", "at most %d dkim_selector and %d ip parameters", DNS_LIST_MAX,
                        DNS_LIST_MAX);
    return api_on_checks(r, dns_task);
}

void api_dns_done(hreq *r)
{
    dns_req *d = r->st;
    if (!d)
        return;
    free(d->domain);
    for (size_t i = 0; i < d->n_sel; i++)
        free(d->sel[i]);
    for (size_t i = 0; i < d->n_ip; i++)
        free(d->ip[i]);
}

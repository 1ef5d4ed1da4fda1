/*
 * api_smtp_test.c - GET /v1/smtp-test: one SMTP server's report (banner,
 * EHLO, STARTTLS, relay and address checks), made on the checks worker:
 * the test connects to the host's ports in turn and waits for each reply,
 * so it never runs on an HTTP thread.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"

#define SMTP_TEST_TIMEOUT_MS 10000 /* per connection and per reply */

typedef struct smtp_test_req {
    char *host;
    int port;
    char helo[256];
} smtp_test_req;

static void smtp_test_task(void *arg)
{
    hreq *r = arg;
    smtp_test_req *t = r->st;
    const sv_opts *o = r->s->o;
    bc_smtp_test_options so = {
        .helo = t->helo[0] ? t->helo : o->vo->helo,
        .port = t->port,
        .allow_private = o->vo->allow_private,
        .connect_timeout_ms = SMTP_TEST_TIMEOUT_MS,
        .command_timeout_ms = SMTP_TEST_TIMEOUT_MS,
    };
    char *text = NULL, err[512] = "";
    bc_error st = bc_smtp_test(t->host, &so, &text, err, sizeof err);
    if (st == BC_OK) {
        api_set_answer(r, 200, "application/json", text, strlen(text));
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

enum MHD_Result api_smtp_test(hreq *r)
{
    smtp_test_req *t = api_state(r, sizeof *t);
    if (!t)
        return api_fail(r, 500, "internal", "out of memory");
    const char *host = api_arg(r, "host");
    const char *port = api_arg(r, "port");
    const char *helo = api_arg(r, "helo");
    if (!host || !*host)
        return api_fail(r, 400, "bad_request", "give the host: /v1/smtp-test?host=mail.example.com");
    if (!sv_param_word(host))
        return api_fail(r, 400, "bad_request", "host must be a host name or an IP address");
    if (port && sv_param_port(port, &t->port) != 0)
        return api_fail(r, 400, "bad_request", "port must be a TCP port from 1 to 65535");
    if (helo) {
        if (!sv_param_word(helo))
            return api_fail(r, 400, "bad_request",
                            "helo must be a host name without spaces or control characters");
        sv_fmt(t->helo, sizeof t->helo, "%s", helo);
    }
    if (r->s->o->offline)
        return api_fail(r, 503, "unavailable", "this server runs --offline: the SMTP test needs the network");
    if (!(t->host = strdup(host)))
        return api_fail(r, 500, "internal", "out of memory");
    return api_on_checks(r, smtp_test_task);
}

void api_smtp_test_done(hreq *r)
{
    smtp_test_req *t = r->st;
    if (t)
        free(t->host);
}

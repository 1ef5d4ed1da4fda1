/*
 * fuzz_api_params.c - libFuzzer target for what the HTTP API reads of a
 * request (src/server/params.c): query parameters and JSON bodies. The
 * input's first line is a query string, split and decoded as
 * libmicrohttpd does for the server ('&', the first '=', '+' as a space,
 * then MHD_http_unescape); the rest is a request body. Every parameter's
 * value goes through each value reader (boolean, timeout, port, SMTP word),
 * and the body through the JSON body reader and, when it is JSON, the
 * readers of POST /v1/verify, POST /v1/keys and a JSON list for
 * POST /v1/jobs. A reader must accept exactly what params.h says, give
 * values inside its bounds, and explain every refusal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "params.h"

#define KEY_NAME_MAX 128 /* st_key's name buffer, as api_keys.c passes it */

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

/* A refusal's message: a non-empty string inside its buffer. */
static void check_err(const char *err, size_t cap)
{
    require(memchr(err, '\0', cap) != NULL && err[0] != '\0');
}

static bool is_one_of(const char *v, const char *const *set, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        if (strcmp(v, set[i]) == 0)
            return true;
    return false;
}

/* One parameter value (NULL: a name without '='), through every reader. */
static void check_value(const char *v)
{
    static const char *const yes[] = { "1", "true" }, *const no[] = { "0", "false" };
    bool b = true;
    bool ok = sv_param_bool(v, &b);
    require(ok == (!v || is_one_of(v, yes, 2) || is_one_of(v, no, 2)));
    require(b == is_one_of(v, yes, 2));
    if (!v)
        return;

    int ms = -1;
    if (sv_param_timeout(v, &ms) == 0)
        require(ms >= 1000 && ms <= 300000);
    else
        require(ms == -1);

    int port = -1;
    if (sv_param_port(v, &port) == 0)
        require(port >= 1 && port <= 65535 && v[0] != '\0');
    else
        require(port == -1);

    size_t n = strlen(v);
    bool word = n >= 1 && n <= 255;
    for (size_t i = 0; word && i < n; i++)
        word = (unsigned char)v[i] > 0x20 && (unsigned char)v[i] < 0x7f;
    require(sv_param_word(v) == word);
}

/* Splits the query string q (modified) as libmicrohttpd does and checks
 * every value. */
static void check_query(char *q)
{
    char *p = q;
    while (p && *p) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp++ = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        for (char *c = p; *c; c++)
            if (*c == '+')
                *c = ' ';
        MHD_http_unescape(p);
        if (eq) {
            for (char *c = eq; *c; c++)
                if (*c == '+')
                    *c = ' ';
            MHD_http_unescape(eq); /* the server sees the value up to a %00 */
        }
        check_value(eq);
        p = amp;
    }
}

static void check_verify(const json_t *o)
{
    sv_verify_body b;
    char err[256];
    err[0] = '\0';
    if (sv_read_verify_body(o, &b, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        return;
    }
    const json_t *e = json_object_get(o, "email");
    require(json_is_object(o) && json_is_string(e));
    require(b.email == json_string_value(e) && b.email_len == json_string_length(e));
    require(b.timeout_ms == 0 || (b.timeout_ms >= 1000 && b.timeout_ms <= 300000));
    require(b.trace == json_is_true(json_object_get(o, "trace")));
}

static void check_key(const json_t *o)
{
    sv_key_body b;
    char err[256];
    err[0] = '\0';
    if (sv_read_key_body(o, KEY_NAME_MAX, &b, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        return;
    }
    require(json_is_object(o));
    require(b.name != NULL && strlen(b.name) < KEY_NAME_MAX);
    const json_t *nm = json_object_get(o, "name");
    require(!json_is_string(nm) || strlen(b.name) == json_string_length(nm));
    require(b.rate >= 0 && b.rate <= 1e6);
    require(b.daily >= 0);
    require(b.admin == json_is_true(json_object_get(o, "admin")));
}

static void check_list(const json_t *o)
{
    sv_list_body b;
    char err[256];
    err[0] = '\0';
    if (sv_read_list_body(o, &b, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        return;
    }
    require(json_is_object(o) && json_is_array(b.emails));
    size_t i;
    const json_t *e;
    json_array_foreach(b.emails, i, e)
        require(json_is_string(e));
    require(!b.webhook || json_is_string(json_object_get(o, "webhook")));
    require(!b.name || json_is_string(json_object_get(o, "name")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024 + 4096)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t nq = nl ? (size_t)(nl - data) : size;

    /* the query string: a C string, as the server's URL is */
    size_t qlen = strnlen((const char *)data, nq);
    char *q = malloc(qlen + 1);
    if (!q)
        return 0;
    memcpy(q, data, qlen);
    q[qlen] = '\0';
    check_query(q);
    free(q);

    /* the body: a private copy with no slack, so ASan sees any read past it */
    size_t nb = nl ? size - nq - 1 : 0;
    char *body = malloc(nb ? nb : 1);
    if (!body)
        return 0;
    if (nb)
        memcpy(body, nl + 1, nb);
    char err[512];
    err[0] = '\0';
    json_t *o = sv_body_json(nb ? body : NULL, nb, err, sizeof err);
    if (!o) {
        check_err(err, sizeof err);
        require(strncmp(err, "the body is not valid JSON: ", 28) == 0);
    } else {
        check_verify(o);
        check_key(o);
        check_list(o);
        json_decref(o);
    }
    free(body);
    return 0;
}

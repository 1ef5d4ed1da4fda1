/*
 * selfcheck.c - the doctor as the server runs it (see selfcheck.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "selfcheck.h"
#include "sv.h"

struct sv_selfcheck {
    const sv_opts *o;
    pthread_mutex_t lock;
    char *json; /* the latest report, NULL before the first */
    size_t len;
    int64_t made_ms; /* when it was made (sv_mono_ms) */
};

sv_selfcheck *sv_selfcheck_new(const sv_opts *o)
{
    sv_selfcheck *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->o = o;
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void sv_selfcheck_free(sv_selfcheck *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->json);
    free(c);
}

/* A copy of the kept report when younger than max_age_ms. */
static char *kept_copy(sv_selfcheck *c, int64_t max_age_ms, size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock(&c->lock);
    if (c->json && sv_mono_ms() - c->made_ms < max_age_ms && (copy = malloc(c->len + 1)) != NULL) {
        memcpy(copy, c->json, c->len + 1);
        *len = c->len;
    }
    pthread_mutex_unlock(&c->lock);
    return copy;
}

char *sv_selfcheck_cached(sv_selfcheck *c, size_t *len)
{
    return kept_copy(c, (int64_t)SV_DOCTOR_TTL_S * 1000, len);
}

char *sv_selfcheck_report(sv_selfcheck *c, size_t *len, bc_error *st, char *err, size_t errlen)
{
    char *fresh = sv_selfcheck_cached(c, len);
    if (fresh) {
        *st = BC_OK;
        return fresh;
    }
    bc_doctor_options dopts = { .verify = c->o->vo };
    char *text = NULL;
    *st = bc_doctor_check(c->o->ctx, &dopts, &text, err, errlen);
    if (*st != BC_OK)
        return NULL;
    size_t n = strlen(text);
    char *copy = malloc(n + 1);
    if (!copy) {
        free(text);
        *st = BC_ENOMEM;
        sv_fmt(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(copy, text, n + 1);
    pthread_mutex_lock(&c->lock);
    free(c->json);
    c->json = text;
    c->len = n;
    c->made_ms = sv_mono_ms();
    pthread_mutex_unlock(&c->lock);
    *len = n;
    return copy;
}

/* On the checks worker: the first report, its problems in the log. */
static void start_task(void *arg)
{
    sv_selfcheck *c = arg;
    size_t len = 0;
    bc_error st;
    char err[512] = "";
    char *text = sv_selfcheck_report(c, &len, &st, err, sizeof err);
    if (!text) {
        wk_log("doctor: %s", err);
        return;
    }
    json_t *report = json_loads(text, 0, NULL);
    free(text);
    size_t i, bad = 0;
    json_t *ch;
    json_array_foreach(json_object_get(report, "checks"), i, ch) {
        const char *status = json_string_value(json_object_get(ch, "status"));
        if (!status || strcmp(status, "pass") == 0)
            continue;
        const char *subject = json_string_value(json_object_get(ch, "subject"));
        wk_log("doctor: %s %s%s%s: %s", status, json_string_value(json_object_get(ch, "name")), subject ? " " : "",
               subject ? subject : "", json_string_value(json_object_get(ch, "detail")));
        bad++;
    }
    if (report && bad)
        wk_log("doctor: %zu of %zu checks did not pass (GET /v1/doctor or `bouncecheck doctor` says what to"
               " change)",
               bad, json_array_size(json_object_get(report, "checks")));
    else if (report)
        wk_log("doctor: every check passed");
    json_decref(report);
}

void sv_selfcheck_start(sv_selfcheck *c, sv_pool *w)
{
    if (c && w)
        sv_pool_post(w, start_task, c);
}

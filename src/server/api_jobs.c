/*
 * api_jobs.c - the job catalogue as the API shows it: GET /v1/jobs, GET and
 * DELETE /v1/jobs/{job}, and GET /v1/jobs/{job}/results (each format and
 * filter written once to a file on the io worker, then sent from it). A
 * job is seen only with the key that made it. Uploads: upload.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "coord.h"
#include "runner.h"
#include "state.h"

/* Which rows of a job's results are sent (?filter=). */
enum rfilter { F_ALL, F_DELIVERABLE, F_UNDELIVERABLE, F_RISKY, F_UNKNOWN, F_REMOVE };
static const char *const filter_names[] = { "all", "deliverable", "undeliverable", "risky", "unknown", "remove" };

typedef struct results_req {
    bk_format fmt;
    enum rfilter filter;
} results_req;

void *sv_job_json(const st_job *j)
{
    json_t *counts = json_pack("{s:I,s:I,s:I,s:I}", "deliverable", (json_int_t)j->counts[BC_STATUS_DELIVERABLE],
                               "undeliverable", (json_int_t)j->counts[BC_STATUS_UNDELIVERABLE], "risky",
                               (json_int_t)j->counts[BC_STATUS_RISKY], "unknown",
                               (json_int_t)j->counts[BC_STATUS_UNKNOWN]);
    json_t *reasons = j->reasons ? json_loads(j->reasons, 0, NULL) : NULL;
    if (!json_is_object(reasons)) {
        json_decref(reasons);
        reasons = json_object();
    }
    /* The engine keeps the "blocked" tally beside the reasons (engine.c) */
    json_t *blocked = json_object_get(reasons, "blocked_by");
    blocked = json_is_array(blocked) ? json_incref(blocked) : json_array();
    json_object_del(reasons, "blocked_by");
    return json_pack("{s:s,s:o,s:s,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", j->id, "name",
                     api_str_or_null(j->name), "status", st_job_status_name(j->status), "total",
                     (json_int_t)j->total, "processed", (json_int_t)j->processed, "counts", counts, "reasons",
                     reasons, "blocked", blocked, "created_at", api_time_or_null(j->created_at), "finished_at",
                     api_time_or_null(j->finished_at), "error", api_str_or_null(j->error), "webhook",
                     api_str_or_null(j->webhook));
}

/* The job `r->id` if the caller may see it: 1 (*j filled), 0 (404 sent), -1 (500 sent). */
static int own_job(hreq *r, st_job *j, enum MHD_Result *ret)
{
    int got = st_job_get(r->s->store, r->id, j);
    if (got < 0) {
        *ret = api_fail(r, 500, "internal", "the job catalogue cannot be read");
        return -1;
    }
    if (got == 0 || strcmp(j->key_id, r->key.id) != 0) {
        if (got)
            st_job_clear(j);
        *ret = api_fail(r, 404, "not_found", "no job %s", r->id);
        return 0;
    }
    return 1;
}

enum MHD_Result api_jobs_list(hreq *r)
{
    st_job *jobs = NULL;
    size_t n = 0;
    if (st_job_list(r->s->store, r->key.id, &jobs, &n) != 0)
        return api_fail(r, 500, "internal", "the job catalogue cannot be read");
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, sv_job_json(&jobs[i]));
        st_job_clear(&jobs[i]);
    }
    free(jobs);
    api_answer_obj(r, 200, json_pack("{s:o}", "jobs", arr));
    return api_send(r);
}

enum MHD_Result api_job_get(hreq *r)
{
    st_job j;
    enum MHD_Result ret = MHD_NO;
    if (own_job(r, &j, &ret) != 1)
        return ret;
    api_answer_obj(r, 200, sv_job_json(&j));
    st_job_clear(&j);
    return api_send(r);
}

enum MHD_Result api_job_delete(hreq *r)
{
    st_job j;
    enum MHD_Result ret = MHD_NO;
    if (own_job(r, &j, &ret) != 1)
        return ret;
    st_job_clear(&j);
    if (st_job_delete(r->s->store, r->id) < 0)
        return api_fail(r, 500, "internal", "the job cannot be deleted");
    sv_msg *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = SV_MSG_DELETE;
        memcpy(m->id, r->id, sizeof m->id);
        if (!sv_engine_post(r->s, m))
            free(m); /* stopping: the next start sweeps the files */
    }
    wk_log("job %s deleted", r->id);
    api_set_answer(r, 204, NULL, NULL, 0);
    return api_send(r);
}

/* ---- results ------------------------------------------------------------------------ */

static const char *format_ext(bk_format f)
{
    return f == BK_FMT_TSV ? "tsv" : f == BK_FMT_NDJSON ? "ndjson" : f == BK_FMT_JSON ? "json" : "csv";
}

static const char *format_ctype(bk_format f)
{
    return f == BK_FMT_TSV      ? "text/tab-separated-values; charset=utf-8"
           : f == BK_FMT_NDJSON ? "application/x-ndjson"
           : f == BK_FMT_JSON   ? "application/json"
                                : "text/csv; charset=utf-8";
}

/* DIR/results.EXT for every row, DIR/results-FILTER.EXT for the others:
 * each written once, on the first download. */
static void results_path(const hreq *r, const results_req *q, char *buf, size_t size)
{
    char dir[PATH_MAX];
    sv_job_dir(r->s, r->id, dir, sizeof dir);
    if (q->filter == F_ALL)
        sv_fmt(buf, size, "%s/results.%s", dir, format_ext(q->fmt));
    else
        sv_fmt(buf, size, "%s/results-%s.%s", dir, filter_names[q->filter], format_ext(q->fmt));
}

/* Whether a row's result passes the filter. "remove" is the list-cleaning
 * rule: the dead (undeliverable) and the throwaway (disposable). */
static bool filter_keeps(enum rfilter f, const bk_result_cols *res)
{
    switch (f) {
    case F_ALL: return true;
    case F_DELIVERABLE: return res->status == BC_STATUS_DELIVERABLE;
    case F_UNDELIVERABLE: return res->status == BC_STATUS_UNDELIVERABLE;
    case F_RISKY: return res->status == BC_STATUS_RISKY;
    case F_UNKNOWN: return res->status == BC_STATUS_UNKNOWN;
    case F_REMOVE: return res->status == BC_STATUS_UNDELIVERABLE || res->disposable == BC_YES;
    }
    return false;
}

static bool filter_row(void *arg, const bk_result_cols *res)
{
    return filter_keeps(*(const enum rfilter *)arg, res);
}

/* Answers with the results file if it exists: true when set. */
static bool results_from_file(hreq *r, const results_req *q)
{
    char path[PATH_MAX];
    results_path(r, q, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return false;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return false;
    }
    r->fd = fd;
    r->fd_size = (uint64_t)st.st_size;
    r->status = 200;
    r->ctype = format_ctype(q->fmt);
    api_set_header(r, "Content-Disposition", "attachment; filename=\"%s-%s.%s\"", r->id, filter_names[q->filter],
                   format_ext(q->fmt));
    r->ready = true;
    return true;
}

/* Over PostgreSQL: makes sure st holds every result of the done job
 * (already so on the server that coordinated it to its end; else copied
 * from the job's rows, once). false with err. */
static bool collected(hreq *r, bk_state *st, char *err, size_t errlen)
{
    if (!r->s->pg_jobs || bk_state_get_int(st, "collected", 0) == 1)
        return true;
    char why[512] = "";
    if (wk_rows_collect(r->s->fstore, r->id, st, why, sizeof why) != WK_OK) {
        sv_fmt(err, errlen, "cannot copy the results: %s", why);
        return false;
    }
    if (bk_state_set_int(st, "collected", 1) != 0) {
        sv_fmt(err, errlen, "cannot write the job's state: %s", bk_state_error(st));
        return false;
    }
    return true;
}

/* On the io worker: writes the results file once, then answers. */
static void export_task(void *arg)
{
    hreq *r = arg;
    results_req *q = r->st;
    char path[PATH_MAX], part[PATH_MAX + 8], state[PATH_MAX], err[1024] = "";
    results_path(r, q, path, sizeof path);
    sv_fmt(part, sizeof part, "%s.part", path);
    sv_job_state_path(r->s, r->id, state, sizeof state);
    if (!results_from_file(r, q)) {
        bk_state *st = NULL;
        FILE *out = NULL;
        int rc = -1;
        struct stat sst;
        /* over PostgreSQL the job may have been uploaded and verified
         * through other servers: its state comes from the database, its
         * results from its rows */
        int here = r->s->pg_jobs ? sv_job_fetch(r->s, r->id, err, sizeof err) : 1;
        if (here == 1 && stat(state, &sst) != 0)
            here = 0;
        if (here == 0) {
            sv_fmt(err, sizeof err, "the job's data is gone");
        } else if (here == 1 && bk_state_open(&st, state, err, sizeof err) == 0 &&
                   collected(r, st, err, sizeof err) && (out = fopen(part, "wb")) != NULL) {
            rc = bk_export_rows(st, out, q->fmt, q->filter == F_ALL ? NULL : filter_row, &q->filter, err,
                                sizeof err);
            if (fclose(out) != 0 && rc == 0) {
                sv_fmt(err, sizeof err, "cannot write %s: %s", part, strerror(errno));
                rc = -1;
            }
            if (rc == 0 && rename(part, path) != 0) {
                sv_fmt(err, sizeof err, "cannot rename %s: %s", part, strerror(errno));
                rc = -1;
            }
            if (rc != 0)
                unlink(part);
        } else if (!err[0]) {
            sv_fmt(err, sizeof err, "cannot create %s: %s", part, strerror(errno));
        }
        bk_state_close(st);
        if (rc != 0 || !results_from_file(r, q)) {
            wk_log("job %s: results: %s", r->id, err[0] ? err : "cannot open the results");
            sv_req_answer_error(r, 500, "internal", "the results cannot be written");
        }
    }
    sv_req_resume(r);
}

enum MHD_Result api_job_results(hreq *r)
{
    st_job j;
    enum MHD_Result ret = MHD_NO;
    if (own_job(r, &j, &ret) != 1)
        return ret;
    results_req *q = api_state(r, sizeof *q);
    st_job_status st = j.status;
    bk_format dflt = strcmp(j.format, "tsv") == 0      ? BK_FMT_TSV
                     : strcmp(j.format, "ndjson") == 0 ? BK_FMT_NDJSON
                                                       : BK_FMT_CSV;
    st_job_clear(&j);
    if (!q)
        return api_fail(r, 500, "internal", "out of memory");
    const char *f = api_arg(r, "format");
    q->fmt = dflt;
    if (f && !(bk_format_parse(f, &q->fmt) && q->fmt != BK_FMT_TEXT && q->fmt != BK_FMT_AUTO))
        return api_fail(r, 400, "bad_request", "format must be csv, tsv, ndjson or json");
    const char *flt = api_arg(r, "filter");
    q->filter = F_ALL;
    if (flt) {
        size_t i = 0, nf = sizeof filter_names / sizeof filter_names[0];
        while (i < nf && strcmp(flt, filter_names[i]) != 0)
            i++;
        if (i == nf)
            return api_fail(r, 400, "bad_request",
                            "filter must be all, deliverable, undeliverable, risky, unknown or remove");
        q->filter = (enum rfilter)i;
    }
    if (st != ST_JOB_DONE)
        return api_fail(r, 409, "job_not_finished", "job %s is %s: its results come when it is done", r->id,
                        st_job_status_name(st));
    if (results_from_file(r, q))
        return api_send(r);
    api_run_on(r, r->s->io, export_task, r);
    return MHD_YES;
}

/*
 * coord.c - the coordinator of a shared job (coord.h): publishing its
 * addresses to the store, following its rows, copying the results back.
 */
#include "coord.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLISH_BATCH 5000

typedef struct pub_batch {
    st_row_in rows[PUBLISH_BATCH];
    char *strs[2 * PUBLISH_BATCH];
    size_t n;
    int64_t last_id;
} pub_batch;

static int pub_collect(void *arg, const bk_pending *p)
{
    pub_batch *b = arg;
    char *addr = strndup(p->email, p->email_len);
    char *dom = strdup(p->domain);
    b->strs[2 * b->n] = addr;
    b->strs[2 * b->n + 1] = dom;
    b->rows[b->n] = (st_row_in){ .row = p->id, .addr = addr, .domain = dom, .weight = p->nrows };
    b->n++;
    b->last_id = p->id;
    return addr && dom ? 0 : 1;
}

int wk_rows_publish(st_store *store, const char *job_id, bk_state *st, int64_t *added, char *err, size_t errlen)
{
    int64_t after = 0;
    *added = 0;
    for (;;) {
        pub_batch *b = calloc(1, sizeof *b);
        if (!b) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        int n = bk_state_pending(st, NULL, after, PUBLISH_BATCH, pub_collect, b);
        int ret = 0;
        if (n < 0 || b->n != (size_t)n) {
            snprintf(err, errlen, "cannot read the job's addresses: %s",
                     n < 0 ? bk_state_error(st) : "out of memory");
            ret = -1;
        } else if (n > 0) {
            char serr[512] = "";
            int64_t k = st_rows_add(store, job_id, b->rows, b->n, serr, sizeof serr);
            if (k < 0) {
                snprintf(err, errlen, "cannot publish the job's addresses: %s", serr);
                ret = -1;
            } else {
                *added += k;
            }
            after = b->last_id;
        }
        for (size_t i = 0; i < 2 * b->n; i++)
            free(b->strs[i]);
        free(b);
        if (ret != 0)
            return -1;
        if (n == 0)
            break;
    }
    if (bk_state_set_int(st, "published", 1) != 0) {
        snprintf(err, errlen, "cannot write the job's state: %s", bk_state_error(st));
        return -1;
    }
    return 0;
}

typedef struct copy_ctx {
    bk_state *st;
    bool bad;
    char err[512];
} copy_ctx;

static int copy_result(void *arg, const st_row_done *row)
{
    copy_ctx *cc = arg;
    cc->bad = true;
    if (!row->json) {
        snprintf(cc->err, sizeof cc->err, "address %lld has no result text", (long long)row->row);
        return 1;
    }
    if (bk_state_store_packed(cc->st, row->row, row->json, cc->err, sizeof cc->err) != 0)
        return 1;
    cc->bad = false;
    return 0;
}

wk_rc wk_rows_collect(st_store *store, const char *job_id, bk_state *st, char *err, size_t errlen)
{
    copy_ctx cc = { .st = st };
    if (bk_state_begin(st) != 0) {
        snprintf(err, errlen, "%s", bk_state_error(st));
        return WK_FAILED;
    }
    int rc = st_rows_results(store, job_id, copy_result, &cc);
    if (rc != 0) {
        bk_state_rollback(st);
        if (cc.bad) {
            snprintf(err, errlen, "%s", cc.err);
            return WK_FAILED;
        }
        snprintf(err, errlen, "%s", st_store_error(store));
        return WK_RETRY;
    }
    if (bk_state_commit(st) != 0) {
        snprintf(err, errlen, "%s", bk_state_error(st));
        return WK_FAILED;
    }
    return WK_OK;
}

wk_rc wk_coord_run(st_store *store, const char *job_id, bk_state *st, wk_coord_pass *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (bk_state_get_int(st, "published", 0) == 0 &&
        wk_rows_publish(store, job_id, st, &out->published, err, errlen) != 0)
        return WK_RETRY;
    if (st_rows_counts(store, job_id, &out->rows) != 0) {
        snprintf(err, errlen, "cannot read the job's rows: %s", st_store_error(store));
        return WK_RETRY;
    }
    if (out->rows.pending > 0 || out->rows.claimed > 0)
        return WK_OK;
    char why[512] = "";
    wk_rc rc = wk_rows_collect(store, job_id, st, why, sizeof why);
    if (rc == WK_OK)
        out->complete = true;
    else
        snprintf(err, errlen, "cannot copy the results: %s", why);
    return rc;
}

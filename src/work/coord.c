/*
 * coord.c - the coordinator of a shared job (coord.h): publishing its
 * addresses to the store, following its rows, copying the results back.
 */
#include "coord.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUBLISH_BATCH 10000

/* Collection while the job runs: batches of results per read (one
 * transaction of the state each: a commit writes the pages of the state's
 * index of results again, so fewer and larger commits write less; a
 * worker's batch is a claim's rows, 200 by default: about 100,000 rows,
 * some tens of MB while copied), and what one pass copies at most (rows,
 * milliseconds) before it lets the pass go on */
#define COLLECT_RANGES 512
#define COLLECT_PASS_ROWS 50000
#define COLLECT_PASS_MS 2000

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

/* Empties b. */
static void pub_clear(pub_batch *b)
{
    for (size_t i = 0; i < 2 * b->n; i++)
        free(b->strs[i]);
    b->n = 0;
}

/* Adds b's rows to the store and empties b. 0 / -1 (err). */
static int pub_flush(st_store *store, const char *job_id, pub_batch *b, int64_t *added, char *err, size_t errlen)
{
    int ret = 0;
    if (b->n > 0) {
        char serr[512] = "";
        int64_t k = st_rows_add(store, job_id, b->rows, b->n, serr, sizeof serr);
        if (k < 0) {
            snprintf(err, errlen, "cannot publish the job's addresses: %s", serr);
            ret = -1;
        } else {
            *added += k;
        }
    }
    pub_clear(b);
    return ret;
}

typedef struct pub_ctx {
    st_store *store;
    const char *job_id;
    pub_batch *b;
    int64_t *added;
    char *err;
    size_t errlen;
} pub_ctx;

static int pub_row(void *arg, const bk_pending *p)
{
    pub_ctx *pc = arg;
    if (pub_collect(pc->b, p) != 0) {
        snprintf(pc->err, pc->errlen, "cannot read the job's addresses: out of memory");
        return 1;
    }
    if (pc->b->n == PUBLISH_BATCH && pub_flush(pc->store, pc->job_id, pc->b, pc->added, pc->err, pc->errlen) != 0)
        return 1;
    return 0;
}

/* Domain by domain (the largest first), in batches of PUBLISH_BATCH rows:
 * each domain's rows reach the store together, so that a worker's claim
 * finds all of a domain's rows (published in address order, a domain's
 * rows trickled in over the whole publication, and claims taken meanwhile
 * held a few rows each: 28 on average for a million rows over 10,000
 * domains, where 100 were there to take). The state is read in one sorted
 * pass (bk_state_pending_sorted: reading each domain's rows through its
 * index took most of the publication's time). */
int wk_rows_publish(st_store *store, const char *job_id, bk_state *st, int64_t *added, char *err, size_t errlen)
{
    *added = 0;
    pub_batch *b = calloc(1, sizeof *b);
    if (!b) {
        snprintf(err, errlen, "cannot read the job's addresses: out of memory");
        return -1;
    }
    err[0] = '\0';
    pub_ctx pc = { .store = store, .job_id = job_id, .b = b, .added = added, .err = err, .errlen = errlen };
    int rc = bk_state_pending_sorted(st, pub_row, &pc);
    if (rc == -1 && !err[0])
        snprintf(err, errlen, "cannot read the job's addresses: %s", bk_state_error(st));
    if (rc == 0)
        rc = pub_flush(store, job_id, b, added, err, errlen);
    else
        pub_clear(b);
    free(b);
    if (rc != 0)
        return -1;
    if (bk_state_set_int(st, "published", 1) != 0) {
        snprintf(err, errlen, "cannot write the job's state: %s", bk_state_error(st));
        return -1;
    }
    return 0;
}

typedef struct copy_ctx {
    bk_state *st;
    int64_t rows;  /* results stored */
    bool only_new; /* rows st has a result for are passed over */
    bool bad;
    char err[512];
} copy_ctx;

static int copy_result(void *arg, const st_row_done *row)
{
    copy_ctx *cc = arg;
    cc->bad = true;
    int done = cc->only_new ? bk_state_done(cc->st, row->row) : 0;
    if (done < 0) {
        snprintf(cc->err, sizeof cc->err, "cannot read the job's state: %s", bk_state_error(cc->st));
        return 1;
    }
    if (done == 1) {
        cc->bad = false;
        return 0;
    }
    if (!row->json) {
        snprintf(cc->err, sizeof cc->err, "address %lld has no result text", (long long)row->row);
        return 1;
    }
    if (bk_state_store_packed(cc->st, row->row, row->json, cc->err, sizeof cc->err) != 0)
        return 1;
    cc->bad = false;
    cc->rows++;
    return 0;
}

/* A copy into st that failed: st's transaction rolled back; WK_FAILED
 * when a result could not be stored, WK_RETRY when the store failed. */
static wk_rc copy_failed(st_store *store, bk_state *st, const copy_ctx *cc, char *err, size_t errlen)
{
    bk_state_rollback(st);
    snprintf(err, errlen, "%s", cc->bad ? cc->err : st_store_error(store));
    return cc->bad ? WK_FAILED : WK_RETRY;
}

/* wk_rows_collect; with only_new, results st has already are passed over. */
static wk_rc rows_collect(st_store *store, const char *job_id, bk_state *st, bool only_new, char *err,
                          size_t errlen)
{
    copy_ctx cc = { .st = st, .only_new = only_new };
    if (bk_state_begin(st) != 0) {
        snprintf(err, errlen, "%s", bk_state_error(st));
        return WK_FAILED;
    }
    if (st_rows_results(store, job_id, copy_result, &cc) != 0)
        return copy_failed(store, st, &cc, err, errlen);
    if (bk_state_commit(st) != 0) {
        snprintf(err, errlen, "%s", bk_state_error(st));
        return WK_FAILED;
    }
    return WK_OK;
}

wk_rc wk_rows_collect(st_store *store, const char *job_id, bk_state *st, char *err, size_t errlen)
{
    return rows_collect(store, job_id, st, false, err, errlen);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies the results of claim ranges done and not yet copied into st, a
 * transaction of st per read, each range marked copied once its results
 * are committed in st (a coordinator that dies in between copies them
 * again: storing a result twice stores the same). With all, until none is
 * left; else up to COLLECT_PASS_ROWS rows or COLLECT_PASS_MS. */
static wk_rc collect_done(st_store *store, const char *job_id, bk_state *st, bool all, bool *more, char *err,
                          size_t errlen)
{
    int64_t t0 = mono_ms(), rows = 0;
    for (;;) {
        copy_ctx cc = { .st = st };
        st_collect_mark mark;
        if (bk_state_begin(st) != 0) {
            snprintf(err, errlen, "%s", bk_state_error(st));
            return WK_FAILED;
        }
        int rc = st_rows_collect_done(store, job_id, COLLECT_RANGES, copy_result, &cc, &mark);
        if (rc == 0) {
            bk_state_rollback(st);
            return WK_OK;
        }
        if (rc != 1)
            return copy_failed(store, st, &cc, err, errlen);
        if (bk_state_commit(st) != 0) {
            snprintf(err, errlen, "%s", bk_state_error(st));
            st_collect_mark_clear(&mark);
            return WK_FAILED;
        }
        rc = st_rows_collected(store, &mark);
        st_collect_mark_clear(&mark);
        if (rc != 0) {
            snprintf(err, errlen, "%s", st_store_error(store));
            return WK_RETRY;
        }
        rows += cc.rows;
        if (!all && (rows >= COLLECT_PASS_ROWS || mono_ms() - t0 >= COLLECT_PASS_MS)) {
            *more = true;
            return WK_OK;
        }
    }
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
    bool end = out->rows.pending == 0 && out->rows.claimed == 0;
    char why[512] = "";
    /* (once every row has its result, the rest by ranges too: the state
     * appends results, so their order costs nothing; it wrote each into its
     * address's row before, and one pass in row order was faster then) */
    wk_rc rc = collect_done(store, job_id, st, end, &out->more, why, sizeof why);
    if (rc != WK_OK || !end) {
        if (rc != WK_OK)
            snprintf(err, errlen, "cannot copy the results: %s", why);
        return rc;
    }
    /* those the ranges did not bring (rows of a job from before the store
     * kept ranges, or a store that keeps none) are copied from the rows */
    int64_t todo = bk_state_todo(st);
    if (todo < 0) {
        snprintf(err, errlen, "cannot read the job's state: %s", bk_state_error(st));
        return WK_FAILED;
    }
    rc = todo > 0 ? rows_collect(store, job_id, st, true, why, sizeof why) : WK_OK;
    if (rc == WK_OK)
        out->complete = true;
    else
        snprintf(err, errlen, "cannot copy the results: %s", why);
    return rc;
}

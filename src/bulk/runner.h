/*
 * runner.h - the bulk engine shared by `bouncecheck verify -i` and the HTTP
 * server's jobs: read a list into a job's state (import), verify the
 * addresses without a result (offline in steps, or online through a
 * scheduler that interleaves several jobs over one verifier), and write
 * the rows back out with their results (export).
 *
 * Nothing here knows about terminals, signals or HTTP: callers poll, stop
 * and report through the callbacks.
 */
#ifndef BC_BULK_RUNNER_H
#define BC_BULK_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "bouncecheck.h"
#include "bulk.h"
#include "state.h"

struct event_base;

/* ---- import ----------------------------------------------------------------- */

typedef struct bk_import_opts {
    bk_format format;        /* BK_FMT_AUTO: sniffed */
    const char *column;      /* the email column by name or 1-based number; NULL: detected */
    const char *name;        /* the input's name in messages ("contacts.csv", "upload") */
    int64_t max_rows;        /* 0: no limit; more rows than this: BK_IMPORT_TOO_MANY */
    bool (*stop)(void *arg); /* polled between batches; true: stop (what was read is kept) */
    void (*progress)(void *arg, int64_t rows_read); /* after each committed batch */
    void *arg;
} bk_import_opts;

typedef struct bk_import_info {
    int64_t rows;                 /* rows in the state after the call */
    bk_format format;             /* the input's format as read: CSV, TSV, TEXT or NDJSON */
    unsigned long bad_utf8;       /* rows with invalid UTF-8 read by this call, */
    unsigned long first_bad_line; /* and the line of the first */
    bool input_error;             /* the input broke off part way: the message is in err,
                                 * kept in the state as "input_error"; the rows before stay */
} bk_import_info;

enum {
    BK_IMPORT_DONE = 0,      /* read to the end (or to an input error: info->input_error) */
    BK_IMPORT_STOPPED = 1,   /* o->stop said so; call again with fresh=false to go on */
    BK_IMPORT_FAILED = -1,   /* the state could not be written (err) */
    BK_IMPORT_UNUSABLE = -2, /* nothing could be read: not a list (err) */
    BK_IMPORT_TOO_MANY = -3, /* more than max_rows rows (err); the state is left half read */
};

/* Reads `in` into st. fresh: a new state; its settings (input_format,
 * delimiter, has_header, header, column, rows_read, read_done,
 * ndjson_extra) are written first. Not fresh: the rows already read
 * (rows_read) are skipped and reading goes on. Rows are committed in
 * batches with the count read so far, so a killed import resumes exactly.
 * Returns one of the BK_IMPORT_ values. */
int bk_import(bk_state *st, FILE *in, bool fresh, const bk_import_opts *o, bk_import_info *info, char *err,
              size_t errlen);

/* ---- offline verification ------------------------------------------------------ */

/* Verifies up to `limit` addresses without a result (syntax and domain data
 * only), after address id *cursor (start with 0; updated), storing each in
 * st and committing. on_result (may be NULL) is told each. Returns how many
 * were verified (0: none left), or -1 with err. */
int bk_verify_offline_step(bk_state *st, bc_ctx *ctx, bool with_json, int64_t *cursor, int limit,
                           void (*on_result)(void *arg, const bc_result *r, int64_t nrows), void *arg, char *err,
                           size_t errlen);

/* ---- online verification: a scheduler over one verifier ------------------------ */

typedef struct bk_sched bk_sched; /* shared by every run: the verifier and the window */
typedef struct bk_run bk_run;     /* one job's verification */

typedef struct bk_sched_opts {
    int window;                  /* addresses in flight over all runs; 0: 2000 */
    int per_domain;              /* in flight per domain and run; 0: 2 x connections x recipients from vo,
                     * at least 20, at most the window */
    const bc_verify_options *vo; /* the verifier's settings (greylisting schedule, limits) */
} bk_sched_opts;

/* A scheduler on `base` handing addresses to `v` (neither owned; both
 * outlive it). NULL on ENOMEM. */
bk_sched *bk_sched_new(struct event_base *base, bc_verifier *v, const bk_sched_opts *o);
/* Frees the scheduler; every run must have been stopped. Accepts NULL. */
void bk_sched_free(bk_sched *s);
/* Addresses handed to the verifier and not yet answered, over all runs,
 * plus those waiting for a greylisting recheck. */
int64_t bk_sched_inflight(const bk_sched *s);

typedef struct bk_run_cb {
    /* One result, stored in the state (not yet committed); nrows rows hold it. */
    void (*on_result)(void *arg, const bc_result *r, int64_t nrows);
    /* Every address of the job has a result and everything is committed. */
    void (*on_done)(void *arg);
    /* The run stopped on an error (the state could not be written, ENOMEM):
     * msg says why. What was stored before is committed when possible. */
    void (*on_error)(void *arg, const char *msg);
    void *arg;
} bk_run_cb;

/* Starts verifying the addresses of st that have no result: domains
 * largest first, at most per_domain of one domain in flight, the window
 * shared fairly with the other runs. A greylisted result is asked again on
 * the schedule (vo->greylist_waits_s, else 60 s and 300 s) while the run
 * goes on with the others. Results are committed every 250 ms or 2000
 * results. st stays the caller's and must outlive the run (until on_done,
 * on_error or bk_run_stop). The callbacks fire from the loop, never from
 * inside this call. NULL with err on failure. */
bk_run *bk_run_start(bk_sched *s, bk_state *st, bool with_json, const bk_run_cb *cb, char *err, size_t errlen);
/* Stops a run now (cancel, delete, shutdown): pending rechecks are
 * dropped, what was stored is committed, later results of addresses in
 * flight are thrown away, and no callback fires any more. The state is no
 * longer touched when it returns. Frees the run; accepts NULL. Must not be
 * called from the run's own callbacks (use a deferred event). */
void bk_run_stop(bk_run *r);
/* Also frees a run that ended (after on_done or on_error). Same as
 * bk_run_stop. */
#define bk_run_free bk_run_stop

/* ---- export --------------------------------------------------------------------- */

/* The output format that matches the job's input: TSV for TSV, NDJSON for
 * NDJSON, otherwise CSV. */
bk_format bk_export_default_format(bk_state *st);

/* Writes every row of the job in input order, original fields first and
 * the result columns appended, as `fmt` (CSV, TSV, NDJSON or JSON; CSV/TSV
 * cells a spreadsheet would run as a formula get a leading '). Every row
 * must have a result: 0, or -1 with err (a row without a result is an
 * error). JSON formats need results stored with_json. */
int bk_export(bk_state *st, FILE *out, bk_format fmt, char *err, size_t errlen);

/* Whether a row with this result goes into an export. */
typedef bool (*bk_row_keep)(void *arg, const bk_result_cols *res);

/* bk_export of only the rows keep() accepts (every row when keep is NULL):
 * the same header and columns, streamed. */
int bk_export_rows(bk_state *st, FILE *out, bk_format fmt, bk_row_keep keep, void *keep_arg, char *err,
                   size_t errlen);

#endif

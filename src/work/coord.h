/*
 * coord.h - the coordinator of a job shared through the store: the one
 * protocol between a bulk job's state file (src/bulk/state.h) and the
 * store's job rows (store.h). The job's distinct addresses are published
 * for the workers (worker.h), its progress is read from the rows, and its
 * results are copied back into the state as claims finish (the rest when
 * every row has its result), from which the output is written exactly as
 * on one machine.
 *
 * The server runs a pass per job on its io thread (src/server/engine.c),
 * `verify -i FILE --db URL` one per tick of its loop (src/cli/bulk_run.c).
 */
#ifndef BC_WORK_COORD_H
#define BC_WORK_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "store.h"

/* Adds the addresses of st without a result to job_id's rows (which must be
 * in the catalogue): row = the address's id in st, weight = the input rows
 * holding it, domain = its A-label domain. Idempotent: a run cut short is
 * simply done again. Marks st "published" at the end. *added gets the rows
 * added by this call. 0, or -1 with err. */
int wk_rows_publish(st_store *store, const char *job_id, bk_state *st, int64_t *added, char *err, size_t errlen);

/* What the calls below return: done, failed for good, or failed for now
 * (the store: nothing was written; the next try may work). err says why. */
typedef enum wk_rc { WK_OK = 0, WK_FAILED = -1, WK_RETRY = -2 } wk_rc;

/* Copies every result of job_id's rows into st, in one transaction of st.
 * WK_FAILED when st cannot be written or a result is not a packed result;
 * WK_RETRY when the store failed. */
wk_rc wk_rows_collect(st_store *store, const char *job_id, bk_state *st, char *err, size_t errlen);

/* What a coordinator pass saw. */
typedef struct wk_coord_pass {
    int64_t published;  /* addresses published by this pass (0: they already were) */
    st_row_counts rows; /* the job's rows when the pass read them */
    bool complete;      /* no row pending or claimed: every result is now in the state */
    bool more;          /* the pass stopped copying results at its bound with more left: the
                         * next pass is best run at once */
} wk_coord_pass;

/* One pass over job_id, whose state is st: publishes its addresses unless
 * st says they are (wk_rows_publish), reads the rows' counts, copies the
 * results of finished claims (st_rows_collect_done: a bounded amount per
 * pass), and when no row is pending or claimed any more copies the rest
 * (and, when some are still missing, every result: wk_rows_collect). WK_OK (*out filled); WK_FAILED when st cannot be
 * written or a result is unreadable (the job cannot end well); WK_RETRY
 * when the store or the publication failed (nothing lost: the next pass
 * tries again). */
wk_rc wk_coord_run(st_store *store, const char *job_id, bk_state *st, wk_coord_pass *out, char *err,
                   size_t errlen);

#endif

/*
 * jobrows.h - a bulk job's state file (src/bulk/state.h) and the shared
 * store's job rows (store.h): the job's distinct addresses are published
 * for the workers, and their results copied back into the state, from
 * which the output is written exactly as on one machine. Used by the
 * server's coordinator (engine.c) and by `verify -i FILE --db URL`.
 */
#ifndef BC_SERVER_JOBROWS_H
#define BC_SERVER_JOBROWS_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"
#include "store.h"

/* Adds the addresses of st without a result to job_id's rows (which must be
 * in the catalogue): row = the address's id in st, weight = the input rows
 * holding it, domain = its A-label domain. Idempotent: a run cut short is
 * simply done again. Marks st "published" at the end. *added gets the rows
 * added by this call. 0, or -1 with err. */
int jr_publish(sv_store *store, const char *job_id, bk_state *st, int64_t *added, char *err, size_t errlen);

/* Copies every result of job_id's rows into st, in one transaction of st.
 * 0; -1 when st cannot be written or a result is not a packed result; -2
 * when the store failed (nothing written: try again). err says why. */
int jr_copy_results(sv_store *store, const char *job_id, bk_state *st, char *err, size_t errlen);

#endif

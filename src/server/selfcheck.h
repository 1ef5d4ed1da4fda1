/*
 * selfcheck.h - the doctor (bc_doctor_check, `bouncecheck doctor`) as
 * `serve` runs it: once at start, with one log line per check that did
 * not pass, and for GET /v1/doctor, whose answer is the latest report
 * while it is younger than SV_DOCTOR_TTL_S (the checks take DNS round
 * trips and a connection to port 25: not once per request).
 *
 * Reports are made on the checks worker only, so two are never made at
 * once; the latest one is read under the selfcheck's own lock by any
 * thread.
 */
#ifndef BC_SERVER_SELFCHECK_H
#define BC_SERVER_SELFCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

typedef struct sv_pool sv_pool; /* sv.h */

#define SV_DOCTOR_TTL_S 300

typedef struct sv_selfcheck sv_selfcheck;

/* The doctor of the server's settings (o->vo, o->ctx; both outlive it).
 * NULL on ENOMEM. */
sv_selfcheck *sv_selfcheck_new(const sv_opts *o);
void sv_selfcheck_free(sv_selfcheck *c); /* accepts NULL */

/* Queues the report at start on worker w: each check that did not pass
 * is logged (wk_log), and the report kept for /v1/doctor. */
void sv_selfcheck_start(sv_selfcheck *c, sv_pool *w);

/* A malloc'd copy of the latest report and its length when it is younger
 * than SV_DOCTOR_TTL_S; NULL otherwise (any thread). */
char *sv_selfcheck_cached(sv_selfcheck *c, size_t *len);

/* On the checks worker: the latest report if still fresh, else a new one
 * (kept). A malloc'd copy and its length; NULL with the library's status
 * in *st and why in err (BC_ENET: the DNS cannot be used). */
char *sv_selfcheck_report(sv_selfcheck *c, size_t *len, bc_error *st, char *err, size_t errlen);

#endif

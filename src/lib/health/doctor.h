/*
 * doctor.h - the pure pieces of `bouncecheck doctor` (doctor.c) that unit
 * tests reach. The entry point is bc_doctor_check() in bouncecheck.h.
 *
 * The doctor audits the sending host the way a receiving mail server sees
 * it before it answers a single RCPT: the source address's reverse DNS,
 * the HELO name, the MAIL FROM domain, whether port 25 goes out at all,
 * and the big IP blocklists. Each check is pass, warn or fail with one
 * line saying what was found and one saying what to change.
 */
#ifndef BC_DOCTOR_H
#define BC_DOCTOR_H

#include <stdbool.h>

#include "bouncecheck.h"

/* Why `name` cannot be a HELO name that receivers accept, or NULL when it
 * can: a fully qualified domain name (at least two labels, valid host
 * name syntax (no all-numeric top label), not an address literal, not
 * under localhost, localdomain or local). Static text. Pure. */
const char *bc_doctor_helo_problem(const char *name);

#endif

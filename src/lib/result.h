/*
 * result.h - the verification result object (opaque to library users).
 */
#ifndef BC_RESULT_H
#define BC_RESULT_H

#include "bouncecheck.h"
#include "verdict.h"

struct bc_result {
    char *email;      /* the input exactly as given (owned, NUL-terminated copy) */
    size_t email_len; /* its length in bytes (may hold NULs) */
    bc_addr addr;
    bc_facts facts;
    bc_verdict verdict;
    const char *role_category;  /* owned by the context's lists, or NULL */
    char suggestion[BC_ADDR_MAX]; /* whole corrected address, or "" */
    long duration_ms;
};

#endif

/*
 * internal.h - declarations shared between the library's modules and its
 * unit tests. Nothing here is part of the public API.
 */
#ifndef BC_INTERNAL_H
#define BC_INTERNAL_H

#include "bouncecheck.h"
#include "lists.h"

/* The context: everything a verification reads, nothing it writes. */
struct bc_ctx {
    bc_lists *lists; /* owned */
};

/* Writes a formatted message into errbuf (if not NULL). Returns st. */
bc_status bc_seterr(char *errbuf, size_t errlen, bc_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

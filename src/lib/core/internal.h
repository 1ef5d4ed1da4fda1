/*
 * internal.h - declarations shared between the library's modules and its
 * unit tests. Nothing here is part of the public API.
 */
#ifndef BC_INTERNAL_H
#define BC_INTERNAL_H

#include "bouncecheck.h"

/* The context: everything a verification reads, nothing it writes. Built
 * and freed by ctx.c; the types are data/lists.h and data/provider.h. */
struct bc_ctx {
    struct bc_lists *lists;         /* owned */
    struct bc_providers *providers; /* owned: built-in rules plus the user's file */
};

/* Writes a formatted message into errbuf (if not NULL). Returns st. */
bc_error bc_seterr(char *errbuf, size_t errlen, bc_error st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes a formatted message into buf (buflen > 0), cut to fit: a message
 * built around a long name must come out shorter, not fail. */
void bc_strf(char *buf, size_t buflen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

/*
 * verifier_mem.h - how many records a verifier holds now (verifier.c), for
 * the tests that check its memory stays bounded (tests/test_verifier_mem.c).
 * Internal: not part of the public API.
 */
#ifndef BC_VERIFIER_MEM_H
#define BC_VERIFIER_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "bouncecheck.h"

typedef struct bc_verifier_mem {
    size_t domains;           /* live domain records */
    uint64_t domains_dropped; /* domain records freed since the start */
    size_t hosts;             /* host records */
    size_t hosts_max;         /* the host records' bound (idle ones past it go) */
    size_t facts;             /* entries in the domain facts cache */
    size_t facts_max;         /* its bound */
    int resolving;            /* MX lookups under way */
    int resolving_max;        /* their bound */
} bc_verifier_mem;

/* Fills *out (zeros for a NULL v). */
void bc_verifier_mem_get(const bc_verifier *v, bc_verifier_mem *out);

#endif

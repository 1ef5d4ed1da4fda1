/*
 * domain_facts.h - what the verifier keeps about a domain once its record
 * is gone: a bounded cache of small entries (the catch-all verdict and its
 * time, the earliest next connection under the per-domain rate), evicting
 * the least recently used entry when full. Used by verifier.c only.
 */
#ifndef BC_DOMAIN_FACTS_H
#define BC_DOMAIN_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncecheck.h"

#define BC_DFACTS_DEFAULT_MAX 100000 /* entries */

typedef struct bc_dfact {
    bc_tristate catch_all; /* BC_UNKNOWN: not known */
    long catch_all_at;     /* bc_now_ms() of the catch-all verdict */
    long next_connect;     /* no new session before this (0: no limit) */
} bc_dfact;

typedef struct bc_dfacts bc_dfacts;

/* An empty cache of at most max_entries entries (0: the default); NULL
 * without memory. */
bc_dfacts *bc_dfacts_new(size_t max_entries);
void bc_dfacts_free(bc_dfacts *c);

/* 1 and *out when `name` (the domain's lookup key) has an entry, which
 * becomes the most recently used; 0 when not. */
int bc_dfacts_get(bc_dfacts *c, const char *name, bc_dfact *out);

/* Sets name's entry to *f, evicting the least recently used one when the
 * cache is full. Without memory the fact is not kept (it is a cache). */
void bc_dfacts_put(bc_dfacts *c, const char *name, const bc_dfact *f);

/* Entries held now, and the bound. */
size_t bc_dfacts_count(const bc_dfacts *c);
size_t bc_dfacts_max(const bc_dfacts *c);

#endif

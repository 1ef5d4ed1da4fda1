/*
 * resolver_impl.h - private: how a bc_resolver (resolver.h) is put
 * together. Each back end (resolver.c over c-ares, resolver_mem.c over an
 * in-memory zone) embeds struct bc_resolver as its FIRST member and fills in
 * a vtable; bc_resolver_query/queries/free (resolver_mem.c) dispatch
 * through it and count the questions.
 */
#ifndef BC_RESOLVER_IMPL_H
#define BC_RESOLVER_IMPL_H

#include "dns/resolver.h"

struct bc_resolver_vt {
    /* Answers (name, type) into *out, which the caller has zeroed; sets
     * out->rc (and out->error on TEMPFAIL). Never called with NULL. */
    void (*query)(bc_resolver *r, const char *name, int type, bc_rrset *out);
    /* Frees the whole resolver (the embedding struct). */
    void (*free)(bc_resolver *r);
};

struct bc_resolver {
    const struct bc_resolver_vt *vt;
    unsigned long queries; /* incremented by bc_resolver_query before vt->query */
};

#endif

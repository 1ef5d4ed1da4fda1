/*
 * domain.h - domain names as the lists and the lookups compare them: the
 * normal form (lower case, no trailing dot) and, by the Public Suffix
 * List, the registrable domain (bc_registrable_domain, bouncecheck.h).
 */
#ifndef BC_DOMAIN_H
#define BC_DOMAIN_H

#include <stddef.h>

/* Longest host name we look up. */
#define BC_DOMAIN_LEN 253

/* Copies a domain into buf (BC_DOMAIN_LEN + 1 bytes) lower-cased and
 * without a trailing dot. Returns its length, or 0 when it is empty or too
 * long. */
size_t bc_domain_norm(const char *d, char *buf);

#endif

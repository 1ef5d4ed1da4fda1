/*
 * addr.h - what the address syntax engine (addr.c) offers the rest of the
 * library beside the public bc_addr_parse (bouncecheck.h): the domain
 * rules applied to a domain name alone.
 */
#ifndef BC_ADDR_H
#define BC_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncecheck.h"

/* The A-label form of a domain name (U-labels or A-labels, one trailing
 * dot allowed) into out, judged by the address parser's domain rules as
 * the domain of postmaster@DOMAIN: false when it is not a domain a
 * mailbox can have (a domain literal, bad syntax, or it does not fit in
 * out), with the parser's diagnosis in *code (may be NULL). Pure. */
bool bc_domain_to_ascii(const char *domain, char *out, size_t outlen, bc_syntax_code *code);

#endif

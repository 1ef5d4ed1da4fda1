/*
 * spf_impl.h - private to the SPF module (spf.h): the limits and the few
 * helpers its four files share. spf_parse.c parses records, spf_macro.c
 * checks and expands macros (RFC 7208 section 7), spf_check.c is
 * check_host() (sections 4-6) and the public bc_spf_check(), spf_walk.c
 * the domain health walk (bc_health_spf, health.h).
 */
#ifndef BC_SPF_IMPL_H
#define BC_SPF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "health/spf.h"

#define SPF_MAX_LOOKUPS 10 /* DNS-querying terms (RFC 7208 4.6.4) */
#define SPF_MAX_VOID 2     /* lookups answering NXDOMAIN or no records */
#define SPF_MAX_NAMES 10   /* MX hosts / PTR names looked at */
#define SPF_MAX_DEPTH 32   /* include/redirect nesting, a safety net behind the lookup limit */
#define SPF_NAME_MAX_LEN 253
#define SPF_EXPAND_MAX 1024

/* spf_macro.c: writes ip as the i macro wants it (dotted v4, dotted
 * nibbles v6). */
void bc_spf_ip_macro_i(const struct sockaddr_storage *ip, char *buf, size_t buflen);

/* spf_macro.c: applies transformers (RFC 7208 7.3) to value into out. */
bool bc_spf_transform(const char *value, unsigned digits, bool reverse, const char *delims, char *out,
                      size_t outlen);

/* spf_check.c: copies name lower-cased without a trailing dot; false when
 * too long. */
bool bc_spf_copy_name(char *dst, size_t cap, const char *src);

/* spf_check.c: RFC 7208 4.3: a usable domain (FQDN, labels 1-63 octets,
 * ASCII, no literal). A target from a domain-spec may hold any printable
 * byte (its macros may expand to spaces), so only the lengths are checked
 * there (strict false). */
bool bc_spf_name_ok(const char *d, bool strict);

#endif

/*
 * provider.h - recognise a mailbox provider from its MX host names.
 */
#ifndef BC_PROVIDER_H
#define BC_PROVIDER_H

/* The provider ("google", "microsoft", "yahoo", ...) whose MX host names end
 * in a known suffix, or NULL. `host` is lower case without a trailing dot.
 * Static strings. Pure. */
const char *bc_provider_for_mx(const char *host);

#endif

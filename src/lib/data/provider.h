/*
 * provider.h - the provider rules (data/providers.json, and a user's file
 * read after it): which mailbox provider or gateway runs an MX host, how far
 * its RCPT answers can be trusted, how gently to probe it, and the replies
 * that mean something particular there.
 */
#ifndef BC_PROVIDER_H
#define BC_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "bouncecheck.h"
#include "smtp/smtp_reply.h"

typedef struct bc_provider {
    char *name;     /* unique entry name ("microsoft365") */
    char *provider; /* the result's `provider` ("microsoft") */
    char *label;    /* for people ("Microsoft 365") */
    char **mx;      /* host name suffixes */
    size_t nmx;
    bool accepts_all; /* an accepted RCPT proves nothing (Yahoo, AOL) */
    bool catch_all_probe;
    int mx_connections; /* 0: no cap of its own */
    int rcpts_per_connection;
    char *proxy;                   /* socks5:// URL for this provider's hosts, or NULL */
    struct bc_proxy *proxy_parsed; /* the same, parsed (socks5.h); owned */
    char *block_url;               /* where a blocked sender looks itself up, or NULL */
    bc_provider_rule *rules;
    size_t nrules;
} bc_provider;

/* A blocklist a reply may name, and where to look an address up in it. */
typedef struct bc_blocklist_ref {
    char *text; /* folded word that names it in a reply ("spamhaus") */
    char *name;
    char *url;
} bc_blocklist_ref;

typedef struct bc_providers {
    bc_provider *v;
    size_t n;
    bc_blocklist_ref *bl;
    size_t nbl;
} bc_providers;

/* Loads the built-in rules and, when user_file is not NULL, the user's file
 * after them (an entry with the same name replaces the built-in one). *out
 * is owned by the caller (bc_providers_free). Errors name the file and the
 * entry. */
bc_error bc_providers_load(bc_providers **out, const char *user_file, char *errbuf, size_t errlen);
void bc_providers_free(bc_providers *p);

/* The provider whose MX suffix matches `host` (lower case, no trailing dot)
 * best (the longest suffix), or NULL. Owned by p. */
const bc_provider *bc_providers_match(const bc_providers *p, const char *host);

/* The built-in rules, parsed once and never freed: for code that has no
 * context (tests, tools). NULL only if the embedded file is broken. */
const bc_providers *bc_providers_builtin(void);

/* The provider name ("google", "microsoft", ...) for an MX host by the
 * built-in rules, or NULL. Static. */
const char *bc_provider_for_mx(const char *host);

/* The lookup URL of the first blocklist `text` names, or NULL; its name in
 * *name when not NULL. Owned by p. */
const char *bc_providers_blocklist_url(const bc_providers *p, const char *text, const char **name);

/* Reads reply r as provider p's MX sent it (p NULL: a server of no known
 * provider): bc_smtp_read with p's reply rules. */
bc_smtp_reading bc_provider_read(const bc_provider *p, const bc_smtp_reply *r);

#endif

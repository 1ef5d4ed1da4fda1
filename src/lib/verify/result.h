/*
 * result.h - the verification result object (opaque to library users).
 */
#ifndef BC_RESULT_H
#define BC_RESULT_H

#include <netinet/in.h>

#include "bouncecheck.h"
#include "dns/dns.h"
#include "smtp/smtp_probe.h"
#include "verify/verdict.h"

/* One MX host as reported in the result. */
typedef struct bc_result_mx {
    char host[256];
    int preference;
    int naddrs;
    char addrs[BC_DNS_MAX_ADDRS][INET6_ADDRSTRLEN];
} bc_result_mx;

/* The SMTP conversation that decided the result (the last one). */
typedef struct bc_result_smtp {
    char host[256];
    char address[INET6_ADDRSTRLEN];
    int port;
    bool tls;
    int code; /* 0: no reply */
    char enhanced[16];
    char message[BC_SMTP_TEXT_MAX];
    const char *step;              /* static: where it ended */
    const char *rule;              /* the reply rule that read `code` (smtp_rules.c or the provider's
                                    * rules, which live as long as the context), or NULL */
    char source[INET6_ADDRSTRLEN]; /* our address on that connection, or "" */
    int attempts;                  /* connections that asked about this address */
    long ms;
} bc_result_smtp;

struct bc_result {
    char *email;      /* the input exactly as given (owned, NUL-terminated copy) */
    size_t email_len; /* its length in bytes (may hold NULs) */
    bc_addr addr;
    bc_facts facts;
    bc_verdict verdict;
    const char *role_category;    /* owned by the context's lists, or NULL */
    char suggestion[BC_ADDR_MAX]; /* whole corrected address, or "" */
    long duration_ms;
    /* online verification only */
    bool have_mx;
    bool mx_implicit;
    int nmx;
    bc_result_mx *mx; /* owned, nmx entries */
    bool have_smtp;
    bc_result_smtp smtp;
    const char *provider; /* static, or NULL */
    bool have_transcript;
    bc_transcript transcript;
    const char *reason_override; /* static; replaces the table's reason (e.g. "cancelled") */
    char hint[512];              /* what to do about it, one sentence (hint.c), or "" */
    char detail[256];            /* when DNS could not tell (dns_error, dns_unreliable), or an SMTP
                                  * session ended without a reply that says: what went wrong, e.g.
                                  * "MX example.com: SERVFAIL (...)", "mx.example.com: timed out
                                  * waiting for greeting"; else "" */
};

/* Creates a result for `email` with syntax and domain-data facts filled
 * (the offline stage) and no verdict yet. Caller owns it. NULL on ENOMEM. */
bc_result *bc_result_offline_new(bc_ctx *ctx, const char *email, size_t len);

/* Applies the verdict table to r->facts. */
void bc_result_decide(bc_result *r);

/* Writes r->hint for a result that the sending side can do something about
 * (our client blocked, our MAIL FROM refused): one sentence, with the lookup
 * or delisting URL the server quoted, else the one the blocklist or the
 * provider publishes (p: the provider rules; may be NULL). Clears it
 * otherwise. */
struct bc_providers;
void bc_result_set_hint(bc_result *r, const struct bc_providers *p);

#endif

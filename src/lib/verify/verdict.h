/*
 * verdict.h - facts about an address -> status, reason and score.
 *
 * Every layer of the pipeline records what it learned in a bc_facts; the
 * verdict is one table, read top to bottom, first match wins (verdict.c).
 */
#ifndef BC_VERDICT_H
#define BC_VERDICT_H

#include <stdbool.h>

#include "bouncecheck.h"
#include "smtp/smtp_reply.h"

/* How far the pipeline got. Offline stops after the domain data. */
typedef enum bc_stage {
    BC_STAGE_SYNTAX = 0, /* only syntax and the lists were consulted (offline) */
    BC_STAGE_DNS,        /* DNS gave the last word (no SMTP session was possible or needed) */
    BC_STAGE_SMTP,       /* an SMTP probe ran (or was refused for safety) */
} bc_stage;

/* What DNS said about the domain's mail servers. */
typedef enum bc_dns_fact {
    BC_DNSF_NONE = 0,   /* not asked */
    BC_DNSF_OK,         /* MX (or implicit MX) hosts found */
    BC_DNSF_NXDOMAIN,   /* permanent: the domain does not exist */
    BC_DNSF_NO_MAIL,    /* permanent: no MX and no A/AAAA */
    BC_DNSF_NULL_MX,    /* permanent: RFC 7505 null MX */
    BC_DNSF_TEMPFAIL,   /* could not tell */
    BC_DNSF_UNRELIABLE, /* NXDOMAIN, no mail or null MX from a resolver that failed
                            * its check (resolver_check.h), or before the check ended:
                            * it may say that of every domain, so we cannot tell */
} bc_dns_fact;

/* What the SMTP stage established for this address. */
typedef enum bc_smtp_fact {
    BC_SMTPF_NONE = 0,
    BC_SMTPF_ACCEPTED,         /* RCPT 250/251 */
    BC_SMTPF_REJECTED,         /* permanent: no such mailbox */
    BC_SMTPF_DISABLED,         /* permanent: mailbox disabled */
    BC_SMTPF_FULL,             /* mailbox exists but is full */
    BC_SMTPF_GREYLISTED,       /* still greylisted when the deadline ran out */
    BC_SMTPF_BLOCKED,          /* the server refused our client, not the mailbox */
    BC_SMTPF_TEMPFAIL,         /* 421, other 4xx, connection reset */
    BC_SMTPF_SERVER_REJECTED,  /* a 5xx with no evidence either way (relay denied, syntax, unclear) */
    BC_SMTPF_UNSAFE_TARGET,    /* every MX address is in a range we never contact */
    BC_SMTPF_NO_CONNECT,       /* no MX host accepted a connection */
    BC_SMTPF_TIMEOUT,          /* timeouts or the deadline */
    BC_SMTPF_PROTOCOL,         /* the server broke the protocol */
    BC_SMTPF_UTF8_UNSUPPORTED, /* UTF-8 local part, no SMTPUTF8 on the server */
    BC_SMTPF_SENDER_REJECTED,  /* the reply is about our MAIL FROM (address, domain, SPF, DMARC) */
    BC_SMTPF_RATE_LIMITED,     /* rates and volumes: too many recipients, connections, messages */
    BC_SMTPF_POLICY_REJECTED,  /* content, authentication, TLS or another policy */
    BC_SMTPF_SERVER_ERROR,     /* the server's own trouble */
} bc_smtp_fact;

typedef struct bc_facts {
    bc_stage stage;
    bool syntax_valid;
    bool special_use; /* RFC 6761/6762/7686/2606 domain: cannot receive Internet mail */
    bool disposable;
    bool role;
    bool free;
    bool suggestion; /* a typo correction was found for the domain */
    bc_dns_fact dns;
    bc_smtp_fact smtp;
    bc_tristate accept_all;     /* the domain accepted a random local part */
    bool accept_all_untested;   /* accepted, but the catch-all test gave no answer */
    bool provider_unverifiable; /* accepted by a provider whose RCPT answers prove nothing (Yahoo) */
} bc_facts;

typedef struct bc_verdict {
    bc_verdict_status status;
    const char *reason; /* static snake_case */
    int score;          /* 0..100, within the status's band */
} bc_verdict;

/* Applies the verdict table to `f`. Pure. */
bc_verdict bc_verdict_decide(const bc_facts *f);

/* The fact a reply of class c establishes for the mailbox asked about. Pure. */
bc_smtp_fact bc_verdict_smtp_fact(bc_smtp_class c);

/* The band [lo, hi] scores of a status fall in. */
void bc_verdict_band(bc_verdict_status st, int *lo, int *hi);

#endif

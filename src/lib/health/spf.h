/*
 * spf.h - Sender Policy Framework (RFC 7208): the record parser, macro
 * expansion (section 7) and check_host() (sections 4-6), pure over a
 * bc_resolver (resolver.h) so that the same code answers `bouncecheck spf`
 * over c-ares and the RFC 7208 conformance suite over an in-memory zone.
 * The domain health walk (bc_health_spf) is declared in health.h.
 *
 * The module's files: spf_parse.c (records), spf_macro.c (macros),
 * spf_check.c (check_host and bc_spf_check), spf_walk.c (the health walk);
 * what they share is spf_impl.h.
 */
#ifndef BC_SPF_H
#define BC_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include <jansson.h>

#include "dns/resolver.h"

typedef enum bc_spf_result {
    BC_SPF_NONE,
    BC_SPF_NEUTRAL,
    BC_SPF_PASS,
    BC_SPF_FAIL,
    BC_SPF_SOFTFAIL,
    BC_SPF_TEMPERROR,
    BC_SPF_PERMERROR,
} bc_spf_result;

/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror". */
const char *bc_spf_result_name(bc_spf_result r);

typedef enum bc_spf_kind {
    BC_SPF_ALL,
    BC_SPF_INCLUDE,
    BC_SPF_A,
    BC_SPF_MX,
    BC_SPF_PTR,
    BC_SPF_IP4,
    BC_SPF_IP6,
    BC_SPF_EXISTS,
    BC_SPF_REDIRECT,
    BC_SPF_EXP,
    BC_SPF_UNKNOWN_MOD,
} bc_spf_kind;

/* One term of a record. Strings point into the record's own storage. */
typedef struct bc_spf_term {
    bc_spf_kind kind;
    char qualifier;       /* mechanisms: '+', '-', '~', '?' ('+' when absent) */
    const char *text;     /* the term as written */
    const char *spec;     /* domain-spec (mechanisms, redirect, exp) or the unknown
                              * modifier's value; NULL when absent */
    const char *name;     /* unknown modifier: its name */
    int cidr4, cidr6;     /* prefix lengths: 32 / 128 when absent */
    unsigned char ip[16]; /* ip4 (first 4 bytes) / ip6 network */
} bc_spf_term;

typedef struct bc_spf_record {
    size_t n;
    bc_spf_term *terms;
    const bc_spf_term *redirect, *exp; /* the modifiers, NULL when absent */
    char *store;                       /* owned copies of the strings */
} bc_spf_record;

/* True when text[0..len) is an SPF version 1 record: "v=spf1" (any case)
 * followed by a space or the end (RFC 7208 4.5). */
bool bc_spf_is_v1(const char *text, size_t len);

/* Parses a whole record (starting with "v=spf1"). On success *out is the
 * record, owned by the caller (bc_spf_record_free), and 0 is returned. On a
 * syntax error, -1 with *out NULL and err naming the term and the problem. */
int bc_spf_parse(const char *text, size_t len, bc_spf_record **out, char *err, size_t errlen);
void bc_spf_record_free(bc_spf_record *rec); /* accepts NULL */

/* Whether term kind k costs a DNS-querying term (include a mx ptr exists redirect). */
bool bc_spf_kind_queries(bc_spf_kind k);
const char *bc_spf_kind_name(bc_spf_kind k);

/* Checks macro-string syntax (exp: the letters c r t are allowed; domain:
 * the string must also end like a domain, RFC 7208 7.1 domain-end). NULL
 * when fine, else a static problem description. */
const char *bc_spf_macro_check(const char *s, size_t len, bool exp, bool domain);

/* What macros expand to (RFC 7208 7.2). */
typedef struct bc_spf_macros {
    const char *local;          /* l: local part of the sender */
    const char *sender_domain;  /* o */
    const char *domain;         /* d: the current domain */
    const char *helo;           /* h */
    const char *receiver;       /* r (exp only): NULL: "unknown" */
    struct sockaddr_storage ip; /* i, c, v (AF_INET or AF_INET6; v4-mapped already unmapped) */
    time_t now;                 /* t (exp only) */
    /* p: the validated domain name of ip. Called at most once per expansion
     * when %{p} appears; NULL: "unknown". */
    const char *(*validated)(void *arg);
    void *arg;
} bc_spf_macros;

/* Expands macro-string s[0..len) into out (NUL-terminated). exp: the
 * explanation context (c r t allowed). Returns 0, or -1 with err (a syntax
 * error, or the result not fitting outlen). */
int bc_spf_expand(const char *s, size_t len, const bc_spf_macros *m, bool exp, char *out, size_t outlen, char *err,
                  size_t errlen);

/* The outcome of check_host(). */
typedef struct bc_spf_outcome {
    bc_spf_result result;
    char *explanation; /* from exp= on fail (malloc'd), NULL otherwise (the default) */
    json_t *trace;     /* [{"domain", "term", "depth", "match", "decided"?, "error"?}] (owned) */
    char domain[256];  /* the domain checked (sender's, or HELO's) */
    char error[256];   /* permerror/temperror: why */
    int lookups;       /* DNS-querying terms evaluated */
    int void_lookups;
} bc_spf_outcome;

/* RFC 7208 check_host() for the MAIL FROM identity `sender` (an empty
 * sender checks postmaster@helo), client address ip (v4-mapped IPv6 is
 * treated as IPv4), HELO name helo (may be NULL). receiver: the %{r}
 * value for explanations (NULL: "unknown"). Fills *out; free it with
 * bc_spf_outcome_clear. */
void bc_spf_check_host(bc_resolver *r, const struct sockaddr_storage *ip, const char *sender, const char *helo,
                       const char *receiver, bc_spf_outcome *out);
void bc_spf_outcome_clear(bc_spf_outcome *o); /* accepts NULL */

/* Parses an IPv4 or IPv6 address text into ss (v4-mapped IPv6 unmapped).
 * False when it is neither. */
bool bc_spf_parse_ip(const char *text, struct sockaddr_storage *ss);

#endif

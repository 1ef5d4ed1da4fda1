/*
 * mta_sts.h - the parsers and the policy fetch behind the MTA-STS health
 * section (mta_sts.c), open to the unit tests. Nothing here is part of the
 * public API; the section itself is declared in health.h. The TLS-RPT and
 * BIMI parsers are tls_rpt.h and bimi.h; the TXT record helpers the three
 * share, txt_record.h.
 */
#ifndef BC_MTA_STS_H
#define BC_MTA_STS_H

#include <stdbool.h>
#include <stddef.h>

#include "health/health.h"

#define BC_STS_POLICY_MAX (64 * 1024) /* the largest policy body read */
#define BC_STS_MAX_AGE_MAX 31557600L  /* RFC 8461 3.2: about one year */
#define BC_STS_MX_MAX 64              /* mx patterns kept from a policy */

/* Parses an _mta-sts TXT record (RFC 8461 3.1): "v=STSv1", then
 * ';'-separated fields of which "id" (1 to 32 letters and digits) is
 * required; other name=value extensions are allowed. On success copies
 * the id into id[33] and returns true; otherwise false with why in err. */
bool bc_mta_sts_parse_record(const char *text, char id[33], char *err, size_t errlen);

/* A parsed policy file (RFC 8461 3.2). */
typedef struct bc_sts_policy {
    char version[16]; /* "STSv1" */
    char mode[16];    /* "enforce", "testing" or "none" */
    long max_age;     /* seconds, 0 .. BC_STS_MAX_AGE_MAX */
    size_t nmx;
    char mx[BC_STS_MX_MAX][256]; /* patterns, lower case, no trailing dot */
    bool mx_truncated;           /* more patterns than BC_STS_MX_MAX */
    bool duplicate_field;        /* version, mode or max_age given twice (first kept) */
} bc_sts_policy;

/* Parses a policy body of len bytes: "key: value" lines ended by CRLF or
 * LF, keys version, mode, max_age and mx (repeated), unknown keys ignored.
 * Returns true when the policy is usable; false with the first problem in
 * err (a line without ':', a missing or wrong version, mode or max_age, an
 * mx pattern that is not a host name or "*." plus one, no mx outside mode
 * none, a NUL byte). *out holds what was read either way. */
bool bc_mta_sts_parse_policy(const char *body, size_t len, bc_sts_policy *out, char *err, size_t errlen);

/* True when MX host `host` matches policy pattern `pattern` (RFC 8461
 * 4.1): equal ignoring case and a trailing dot, or pattern "*.rest" and
 * host one label in front of rest. */
bool bc_mta_sts_mx_match(const char *pattern, const char *host);

/* What fetching a policy gave. */
typedef struct bc_sts_fetch {
    bool ok;                /* HTTP 200 with a body of at most BC_STS_POLICY_MAX bytes */
    long http_code;         /* 0 when no answer came */
    char content_type[128]; /* as sent, "" when none */
    char location[512];     /* a 3xx's Location, "" when none */
    bool too_large;         /* the body went past BC_STS_POLICY_MAX; the transfer was stopped */
    const char *refused;    /* the range name of an address not connected to (netsafe.h), else NULL */
    char error[256];
    char *body; /* malloc'd, NUL-terminated, len bytes (owned: bc_sts_fetch_clear) */
    size_t len;
} bc_sts_fetch;

/* Frees out's body and zeroes it. Accepts NULL. */
void bc_sts_fetch_clear(bc_sts_fetch *out);

/* GETs `url` (https only) the way RFC 8461 3.3 wants: the certificate
 * verified against the system's CAs (and https->ca_file when set), no
 * redirects followed, at most BC_STS_POLICY_MAX bytes read, https->
 * timeout_ms for the whole transfer, and unless https->allow_private no
 * connection to a private, loopback or otherwise special address.
 * connect_to, when not NULL, is one curl CURLOPT_CONNECT_TO entry
 * ("host:port:connect-host:connect-port"; "::127.0.0.1:8443" sends every
 * name there) so that tests can reach a local server while the URL, SNI
 * and certificate check keep the real name; production callers pass
 * NULL. Fills *out (clear it with bc_sts_fetch_clear); out->ok says
 * whether a policy body came, otherwise out->error says why in one
 * sentence. */
void bc_mta_sts_fetch_policy(const char *url, const bc_health_https *https, const char *connect_to,
                             bc_sts_fetch *out);

/* The MTA-STS section as bc_health_mta_sts builds it, with the policy
 * fetch's connect_to (see above) for the tests. Returns a new
 * reference. */
json_t *bc_health_mta_sts_with(bc_resolver *r, const char *domain, const char *const *mx_hosts, size_t nmx,
                               const bc_health_https *https, const char *connect_to);

#endif

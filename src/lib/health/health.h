/*
 * health.h - the domain health checks behind `bouncecheck dns` (and the
 * API's /v1/dns): each section is built as a JSON object
 *
 *   {"status": "pass"|"warn"|"fail"|"info"|"none",
 *    "records": [...the raw records found...],
 *    ...the section's parsed fields...,
 *    "findings": [{"severity": "fail"|"warn"|"info", "code": "...", "message": "...",
 *                  "fix": "..."|null}]}
 *
 * Every finding says what is wrong and how to fix it, in one or two plain
 * sentences; warn and fail findings also carry "fix", what to change, from
 * the table in health_fix.c (null for info findings). Codes are stable
 * snake_case names prefixed by the section
 * ("spf_too_many_lookups", "dmarc_policy_none", ...). "none" means the
 * section's record does not exist (itself a finding when it matters);
 * "info" a section that only reports. Lookups that fail temporarily are
 * findings of severity "warn" with a code ending in "_dns_error", never a
 * verdict that the record is absent.
 */
#ifndef BC_HEALTH_H
#define BC_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "dns/resolver.h"

typedef enum bc_severity { BC_SEV_INFO, BC_SEV_WARN, BC_SEV_FAIL } bc_severity;

const char *bc_severity_name(bc_severity s); /* "info", "warn", "fail" */

/* Appends {"severity", "code", "message", "fix"} to the array `findings`:
 * "fix" is bc_health_fix(code) for warn and fail, null for info. */
void bc_finding_add(json_t *findings, bc_severity sev, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One row of the fix table (health_fix.c): fix is NULL for codes that are
 * only ever info. */
typedef struct bc_health_fix_entry {
    const char *code;
    const char *fix;
} bc_health_fix_entry;

/* What to change for finding `code`, in one or two sentences naming the
 * record to publish or edit ("<your domain>" stands for the domain); NULL
 * for an unknown code or one that needs no fix. Static text. */
const char *bc_health_fix(const char *code);
/* The whole table, sorted by code (tests walk it); *n gets its length. */
const bc_health_fix_entry *bc_health_fix_table(size_t *n);

/* A JSON string of s[0..n) (record text for the DMARC and DKIM sections),
 * invalid UTF-8 replaced by U+FFFD. New reference (the caller owns it) or
 * NULL when out of memory. */
json_t *bc_json_text(const char *s, size_t n);

/* A new section object {"status": "pass", "records": [], "findings": []}. */
json_t *bc_section_new(void);
/* Sets "status" from the findings: fail if any fail, else warn if any
 * warn, else keeps what is there ("pass", "none" or "info"). */
void bc_section_settle(json_t *section);

/* ---- the sections ------------------------------------------------------------- */

/* SPF of `domain` (spf_walk.c): the record(s), syntax, the recursive walk of
 * include/redirect with the DNS-lookup count (limit 10) and void lookups
 * (limit 2) naming the term responsible, loops, ptr, +all/?all/no all,
 * sizes. Fields: "record", "terms", "lookups", "void_lookups", "all". */
json_t *bc_health_spf(bc_resolver *r, const char *domain);

/* DMARC (dmarc.c): _dmarc.DOMAIN, else the organisational domain's (PSL);
 * tags p sp np adkim aspf pct rua ruf fo ri; external report destinations'
 * _report._dmarc authorisation. Fields: "record", "found_at", "tags". */
json_t *bc_health_dmarc(bc_resolver *r, const char *domain);

/* DKIM (dkim.c): the given selectors plus common ones; each key record
 * (v k p t h), key type and size through OpenSSL, revoked keys. Fields:
 * "selectors": [{"selector", "record", "key_type", "key_bits", ...}]. */
json_t *bc_health_dkim(bc_resolver *r, const char *domain, const char *const *selectors, size_t n);

/* Options for the sections that use HTTPS. */
typedef struct bc_health_https {
    const char *ca_file; /* extra CA bundle (tests); NULL: the system's */
    bool allow_private;  /* connect to private/loopback addresses too */
    int timeout_ms;      /* 0: 10000 */
} bc_health_https;

/* MTA-STS (mta_sts.c): _mta-sts TXT (v, id) and the policy at
 * https://mta-sts.DOMAIN/.well-known/mta-sts.txt (no redirects,
 * text/plain, at most 64 KiB, certificate checked): version, mode,
 * max_age, mx patterns, each matched against mx_hosts. */
json_t *bc_health_mta_sts(bc_resolver *r, const char *domain, const char *const *mx_hosts, size_t nmx,
                          const bc_health_https *https);
/* TLS-RPT (tls_rpt.c): _smtp._tls TXT (v=TLSRPTv1; rua=mailto:/https: URIs). */
json_t *bc_health_tls_rpt(bc_resolver *r, const char *domain);
/* BIMI (bimi.c): default._bimi TXT (v=BIMI1; l= https SVG URL; a= https PEM URL)
 * and its precondition, a DMARC policy of quarantine or reject with
 * pct=100 (dmarc: the DMARC section built before, may be NULL). */
json_t *bc_health_bimi(bc_resolver *r, const char *domain, const json_t *dmarc);

#endif

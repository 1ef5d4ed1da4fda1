/*
 * dmarc.h - the DMARC record parser (RFC 7489 6.3/6.4, np= from RFC 9091)
 * behind bc_health_dmarc, over the tag-list splitter of core/taglist.h.
 * Pure: no I/O, no allocation. Fuzzed (fuzz/fuzz_dmarc.c).
 */
#ifndef BC_DMARC_H
#define BC_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/taglist.h"
#include "health/health.h"

/* ---- DMARC record -------------------------------------------------------------- */

enum {
    BC_DMARC_POLICY_UNSET = 0,
    BC_DMARC_POLICY_NONE,
    BC_DMARC_POLICY_QUARANTINE,
    BC_DMARC_POLICY_REJECT,
};

#define BC_DMARC_URI_MAX 8
#define BC_DMARC_ISSUE_MAX 24

typedef struct bc_dmarc_uri {
    char uri[256]; /* as written, without the "!size" suffix (cut to fit) */
    bool mailto;
    char domain[256];            /* mailto: the address's domain, lower case; else "" */
    unsigned long long max_size; /* the "!size" limit in bytes; 0 when none */
} bc_dmarc_uri;

typedef struct bc_dmarc_issue {
    bc_severity sev;
    char code[40]; /* "dmarc_..." */
    char message[320];
} bc_dmarc_issue;

typedef struct bc_dmarc {
    bool valid;       /* usable by a receiver: v=DMARC1 first, a well-formed
                                  * tag-list without duplicates, and a policy (p=, or
                                  * rua= standing in for p=none, RFC 7489 6.6.3) */
    int p, sp, np;    /* BC_DMARC_POLICY_*; UNSET when absent or invalid */
    char adkim, aspf; /* 'r' or 's' (default 'r') */
    int pct;          /* 0..100 (default 100) */
    unsigned long ri; /* seconds (default 86400) */
    char fo[16];      /* as written, or "0" */
    bool has_pct;
    size_t nrua, nruf;
    bc_dmarc_uri rua[BC_DMARC_URI_MAX], ruf[BC_DMARC_URI_MAX];
    bc_taglist tags; /* every tag, offsets into the parsed text */
    size_t nissues;  /* syntax errors (fail), doubtful values (warn), notes (info) */
    bc_dmarc_issue issues[BC_DMARC_ISSUE_MAX];
} bc_dmarc;

/* True when text starts like a DMARC record: optional whitespace, "v",
 * whitespace, "=", whitespace, "DMARC1" in any case. Records that do not
 * are not DMARC records at all (other TXT at the same name). */
bool bc_dmarc_is_candidate(const char *text, size_t len);

/* Parses text[0..len) into *out (fully overwritten). Never fails: problems
 * are out->issues, with stable codes: dmarc_syntax, dmarc_version,
 * dmarc_duplicate_tag, dmarc_tag_case, dmarc_bad_value, dmarc_no_policy,
 * dmarc_bad_uri, dmarc_uri_scheme, dmarc_unknown_tag, dmarc_empty_tag,
 * dmarc_too_many_uris. */
void bc_dmarc_parse(const char *text, size_t len, bc_dmarc *out);

const char *bc_dmarc_policy_name(int p); /* "none", "quarantine", "reject", or "" */

#endif

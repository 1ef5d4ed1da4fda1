/*
 * dmarc.h - the DMARC record parser (RFC 7489 6.3/6.4, np= from RFC 9091)
 * behind bc_health_dmarc, and the DKIM-style tag-list splitter (RFC 6376
 * 3.2) that the DMARC and DKIM key record parsers share. Pure: no I/O, no
 * allocation. Fuzzed (fuzz/fuzz_dmarc.c).
 */
#ifndef BC_DMARC_H
#define BC_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "health/health.h"

/* ---- tag-list ------------------------------------------------------------------ */

#define BC_TAGS_MAX 32

typedef struct bc_tag {
    size_t name_off, name_len;   /* the tag name in the text */
    size_t value_off, value_len; /* its value, surrounding whitespace trimmed (may be empty) */
} bc_tag;

typedef struct bc_taglist {
    size_t n;
    bc_tag tags[BC_TAGS_MAX];
    size_t nempty;               /* empty elements (";;") seen and skipped */
} bc_taglist;

/* Splits text[0..len) at ';' into tag=value pairs. Tag names follow RFC
 * 6376 (ALPHA *(ALPHA / DIGIT / "_")), whitespace is space and tab. Returns
 * false with a message in err for a structural error (an element without
 * '=', a bad tag name, a control or non-ASCII byte, more than BC_TAGS_MAX
 * tags); the tags before the error are kept in out. */
bool bc_taglist_split(const char *text, size_t len, bc_taglist *out, char *err, size_t errlen);

/* Copies s[0..n) into dst[0..cap) for a message: printable ASCII kept,
 * other bytes as '?', cut with "..." beyond 60 characters. Returns dst. */
char *bc_tag_quote(char *dst, size_t cap, const char *s, size_t n);

/* A JSON string of s[0..n) (record text for the DMARC and DKIM sections),
 * invalid UTF-8 replaced by U+FFFD. New reference (the caller owns it) or
 * NULL when out of memory. */
json_t *bc_json_text(const char *s, size_t n);

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
    char uri[256];               /* as written, without the "!size" suffix (cut to fit) */
    bool mailto;
    char domain[256];            /* mailto: the address's domain, lower case; else "" */
    unsigned long long max_size; /* the "!size" limit in bytes; 0 when none */
} bc_dmarc_uri;

typedef struct bc_dmarc_issue {
    bc_severity sev;
    char code[40];               /* "dmarc_..." */
    char message[320];
} bc_dmarc_issue;

typedef struct bc_dmarc {
    bool valid;                  /* usable by a receiver: v=DMARC1 first, a well-formed
                                  * tag-list without duplicates, and a policy (p=, or
                                  * rua= standing in for p=none, RFC 7489 6.6.3) */
    int p, sp, np;               /* BC_DMARC_POLICY_*; UNSET when absent or invalid */
    char adkim, aspf;            /* 'r' or 's' (default 'r') */
    int pct;                     /* 0..100 (default 100) */
    unsigned long ri;            /* seconds (default 86400) */
    char fo[16];                 /* as written, or "0" */
    bool has_pct;
    size_t nrua, nruf;
    bc_dmarc_uri rua[BC_DMARC_URI_MAX], ruf[BC_DMARC_URI_MAX];
    bc_taglist tags;             /* every tag, offsets into the parsed text */
    size_t nissues;              /* syntax errors (fail), doubtful values (warn), notes (info) */
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

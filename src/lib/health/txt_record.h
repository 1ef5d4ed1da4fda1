/*
 * txt_record.h - private to the three TXT record sections of the domain
 * health check, MTA-STS (mta_sts.c), TLS-RPT (tls_rpt.c) and BIMI
 * (bimi.c): what they share. Their records are "v=X; name=value; ..." tag
 * lists read by one splitter (not the DKIM-style one of core/taglist.h:
 * these records have their own field-name and error rules), looked up at
 * PREFIX.DOMAIN in the same way, plus a few string helpers.
 */
#ifndef BC_TXT_RECORD_H
#define BC_TXT_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "dns/resolver.h"

/* ---- string helpers ------------------------------------------------------------ */

/* Space or tab. */
bool bc_txt_is_wsp(char c);

/* Trims spaces and tabs at both ends of the NUL-terminated s, in place. */
char *bc_txt_trim(char *s);

/* Copies src into dst[0..dstlen), cut to fit. */
void bc_txt_copy(char *dst, size_t dstlen, const char *src);

/* Writes a formatted message into err (if not NULL and errlen > 0). */
void bc_txt_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A new JSON string of s, or null when s is not UTF-8. */
json_t *bc_txt_jstr(const char *s);

/* A domain name without its trailing dot, lower case, into out[256].
 * False when it does not fit. */
bool bc_txt_norm_name(const char *in, char out[256]);

/* A host name: labels of letters, digits and hyphens (not at either end),
 * 1 to 63 long, 253 in all. */
bool bc_txt_host_ok(const char *h);

/* ---- the records' tag lists ---------------------------------------------------- */

/* True when a TXT record's text claims to be of the kind `version` names
 * ("v=STSv1", "v=TLSRPTv1", "v=BIMI1"): it starts with exactly that,
 * followed by the end, white space or ';'. Such records are the only ones
 * a receiver reads; the others at the same name are ignored. */
bool bc_txt_has_version(const char *text, const char *version);

typedef struct bc_txt_kv {
    char *name;
    char *value;
} bc_txt_kv;

#define BC_TXT_KV_MAX 32

/* The start the three record parsers share: text must begin with
 * v=version; a copy of it goes into *buf (owned by the caller, free; NULL
 * when it could not be made) and is split into t / *n: at ';' into
 * name=value pairs, white space around names and values dropped, the first
 * pair v=version, an empty piece only at the end (a trailing ';'), names a
 * letter or digit then up to 31 letters, digits, '_', '-' or '.', each at
 * most once. False with err set when any of that fails. */
bool bc_txt_kv_record(const char *text, const char *version, char **buf, bc_txt_kv t[BC_TXT_KV_MAX], size_t *n,
                      char *err, size_t errlen);

/* The value of field `name` among t[0..n), NULL when absent. */
const char *bc_txt_kv_get(const bc_txt_kv *t, size_t n, const char *name);

/* RFC 8461/8460 extension values: printable ASCII without ';', '=' or
 * spaces, at least one character. */
bool bc_txt_ext_value_ok(const char *v);

/* ---- the lookup ---------------------------------------------------------------- */

/* Looks up TXT at prefix.domain into *set; the name into name[300]. On a
 * name too long returns false with the section's finding `code` added to
 * findings. */
bool bc_txt_lookup(bc_resolver *r, const char *prefix, const char *domain, char name[300], bc_rrset *set,
                   json_t *findings, const char *code);

/* What differs between the three record sections in their DNS part. */
typedef struct bc_rec_kind {
    const char *prefix;     /* the record is TXT at prefix.domain */
    const char *version;    /* what the record starts with: "v=STSv1" */
    const char *label;      /* the check's name in messages */
    const char *bad_domain; /* finding codes */
    const char *dns_error;
    const char *multiple;
    const char *multiple_why; /* what senders do with more than one record */
} bc_rec_kind;

/* One section's record as looked up by bc_rec_lookup. */
typedef struct bc_rec_found {
    char name[300];     /* prefix.domain */
    bc_rrset set;       /* the TXT answer; owned (bc_rrset_clear) */
    size_t n;           /* TXT records starting with the version */
    const char *rec;    /* the first of them (inside set), NULL when n is 0 */
    char none_note[64]; /* for the missing finding: "; the TXT records there
                         * do not start with ..." when there are others */
} bc_rec_found;

/* Looks up k's record for section sec: fills sec.records and, with one or
 * more records, sec.record; adds the findings for a bad domain, a failed
 * lookup and more than one record, and sets status "none" when there is
 * none. False when there is nothing more to check (bad domain, failed
 * lookup): sec is then settled and f holds nothing. True: f->set is owned
 * by the caller (bc_rrset_clear). */
bool bc_rec_lookup(bc_resolver *r, const char *domain, const bc_rec_kind *k, json_t *sec, bc_rec_found *f);

#endif

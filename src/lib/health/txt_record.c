/*
 * txt_record.c - what the MTA-STS, TLS-RPT and BIMI sections share (see
 * txt_record.h): string helpers, the records' tag-list splitter, and the
 * lookup of a section's record.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health/health.h"
#include "health/txt_record.h"

/* ---- string helpers ------------------------------------------------------------ */

/* See txt_record.h. */
bool bc_txt_is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* See txt_record.h. */
char *bc_txt_trim(char *s)
{
    while (bc_txt_is_wsp(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && bc_txt_is_wsp(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* See txt_record.h. */
void bc_txt_copy(char *dst, size_t dstlen, const char *src)
{
    if (dstlen == 0)
        return;
    size_t n = strlen(src);
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* See txt_record.h. */
void bc_txt_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* See txt_record.h. */
json_t *bc_txt_jstr(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_null();
}

/* See txt_record.h. */
bool bc_txt_norm_name(const char *in, char out[256])
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    return true;
}

/* See txt_record.h. */
bool bc_txt_host_ok(const char *h)
{
    size_t n = strlen(h), label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char c = h[i];
        if (c == '.' || c == '\0') {
            if (label == 0 || label > 63 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        label++;
    }
    return true;
}

/* See txt_record.h. */
bool bc_txt_has_version(const char *text, const char *version)
{
    if (!text || !version)
        return false;
    size_t n = strlen(version);
    if (strncmp(text, version, n) != 0)
        return false;
    char c = text[n];
    return c == '\0' || c == ';' || bc_txt_is_wsp(c);
}

/* ---- the records' tag lists ---------------------------------------------------- */

/* Splits buf (a copy of the record, changed in place) at ';' into name=value
 * pairs, white space around names and values dropped. The first pair must
 * be v=version. An empty piece is allowed only at the end (a trailing ';').
 * Names must be a letter or digit then up to 31 letters, digits, '_', '-'
 * or '.'; each at most once. */
static bool kv_split(char *buf, const char *version, bc_txt_kv *out, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    char *p = buf;
    bool ended = false;
    while (p) {
        char *semi = strchr(p, ';');
        if (semi)
            *semi = '\0';
        char *piece = bc_txt_trim(p);
        p = semi ? semi + 1 : NULL;
        if (*piece == '\0') {
            if (*n == 0) {
                bc_txt_seterr(err, errlen, "the record does not start with v=%s", version);
                return false;
            }
            ended = true;
            continue;
        }
        if (ended) {
            bc_txt_seterr(err, errlen, "an empty field (two ';' in a row) before '%s'", piece);
            return false;
        }
        char *eq = strchr(piece, '=');
        if (!eq) {
            bc_txt_seterr(err, errlen, "'%s' is not a name=value field", piece);
            return false;
        }
        *eq = '\0';
        char *name = bc_txt_trim(piece), *value = bc_txt_trim(eq + 1);
        size_t nl = strlen(name);
        bool name_ok = nl >= 1 && nl <= 32 && isalnum((unsigned char)name[0]);
        for (size_t i = 1; name_ok && i < nl; i++)
            name_ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-' || name[i] == '.';
        if (!name_ok) {
            bc_txt_seterr(err, errlen, "'%s' is not a valid field name", name);
            return false;
        }
        if (*n == 0 && (strcmp(name, "v") != 0 || strcmp(value, version) != 0)) {
            bc_txt_seterr(err, errlen, "the record does not start with v=%s", version);
            return false;
        }
        for (size_t i = 0; i < *n; i++)
            if (strcmp(out[i].name, name) == 0) {
                bc_txt_seterr(err, errlen, "the field '%s' appears twice", name);
                return false;
            }
        if (*n == BC_TXT_KV_MAX) {
            bc_txt_seterr(err, errlen, "more than %d fields", BC_TXT_KV_MAX);
            return false;
        }
        out[*n].name = name;
        out[*n].value = value;
        (*n)++;
    }
    if (*n == 0) {
        bc_txt_seterr(err, errlen, "the record does not start with v=%s", version);
        return false;
    }
    return true;
}

/* See txt_record.h. */
bool bc_txt_kv_record(const char *text, const char *version, char **buf, bc_txt_kv t[BC_TXT_KV_MAX], size_t *n,
                      char *err, size_t errlen)
{
    char tag[32];
    *buf = NULL;
    *n = 0;
    snprintf(tag, sizeof tag, "v=%s", version);
    if (!bc_txt_has_version(text, tag)) {
        bc_txt_seterr(err, errlen, "the record does not start with %s", tag);
        return false;
    }
    *buf = strdup(text);
    if (!*buf) {
        bc_txt_seterr(err, errlen, "out of memory");
        return false;
    }
    return kv_split(*buf, version, t, n, err, errlen);
}

/* See txt_record.h. */
const char *bc_txt_kv_get(const bc_txt_kv *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].value;
    return NULL;
}

/* See txt_record.h. */
bool bc_txt_ext_value_ok(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if ((unsigned char)*v < 0x21 || (unsigned char)*v > 0x7e || *v == ';' || *v == '=')
            return false;
    return true;
}

/* ---- the lookup ---------------------------------------------------------------- */

/* See txt_record.h. */
bool bc_txt_lookup(bc_resolver *r, const char *prefix, const char *domain, char name[300], bc_rrset *set,
                   json_t *findings, const char *code)
{
    char d[256];
    memset(set, 0, sizeof *set);
    int w = domain && bc_txt_norm_name(domain, d) ? snprintf(name, 300, "%s.%s", prefix, d) : -1;
    if (w < 0 || w > 253) {
        bc_finding_add(findings, BC_SEV_FAIL, code, "'%s' is not a domain name this check can look up.",
                       domain ? domain : "(null)");
        return false;
    }
    bc_resolver_query(r, name, BC_RR_TXT, set);
    return true;
}

/* Appends every TXT text of set to section.records and returns how many
 * start with `version`; *first gets the first such one. */
static size_t txt_records(const bc_rrset *set, json_t *section, const char *version, const char **first)
{
    json_t *records = json_object_get(section, "records");
    size_t n = 0;
    *first = NULL;
    for (size_t i = 0; set->rc == BC_DNS_OK && i < set->n; i++) {
        const char *t = set->rr[i].text ? set->rr[i].text : "";
        json_array_append_new(records, bc_txt_jstr(t));
        if (bc_txt_has_version(t, version)) {
            if (!*first)
                *first = t;
            n++;
        }
    }
    return n;
}

/* See txt_record.h. */
bool bc_rec_lookup(bc_resolver *r, const char *domain, const bc_rec_kind *k, json_t *sec, bc_rec_found *f)
{
    json_t *findings = json_object_get(sec, "findings");
    f->n = 0;
    f->rec = NULL;
    f->none_note[0] = '\0';
    if (!bc_txt_lookup(r, k->prefix, domain, f->name, &f->set, findings, k->bad_domain)) {
        bc_section_settle(sec);
        return false;
    }
    f->n = txt_records(&f->set, sec, k->version, &f->rec);
    if (f->set.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, k->dns_error,
                       "The lookup of %s TXT failed (%s), so %s could not be checked. Try again later.", f->name,
                       f->set.error[0] ? f->set.error : "temporary failure", k->label);
        bc_rrset_clear(&f->set);
        bc_section_settle(sec);
        return false;
    }
    if (f->n == 0) {
        if (f->set.rc == BC_DNS_OK)
            snprintf(f->none_note, sizeof f->none_note, "; the TXT records there do not start with %s",
                     k->version);
        json_object_set_new(sec, "status", json_string("none"));
        return true;
    }
    if (f->n > 1)
        bc_finding_add(findings, BC_SEV_FAIL, k->multiple,
                       "%s has %zu TXT records starting with %s; with more than one, %s. Keep exactly one.",
                       f->name, f->n, k->version, k->multiple_why);
    json_object_set_new(sec, "record", bc_txt_jstr(f->rec));
    return true;
}

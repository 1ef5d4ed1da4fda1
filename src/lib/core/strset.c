/*
 * strset.c - sorted-blob string sets: validation, indexing and binary search
 * over the domain and role lists (see strset.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/strset.h"

/* Longest TSV value (a role category word). */
#define VALUE_MAX 32

/* Bytewise comparison of two counted strings, shorter-is-smaller on a common
 * prefix: the order of `LC_ALL=C sort`. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Describes what is wrong with byte c inside a key, or NULL when it is fine
 * for a list of this kind. Returns a static string. */
static const char *bad_key_byte(unsigned char c, bc_strset_kind kind)
{
    if (c == 0)
        return "NUL byte";
    if (c >= 0x80)
        return kind == BC_STRSET_DOMAIN ? "non-ASCII byte (domains must be A-labels)" : "non-ASCII byte";
    if (c == '\r')
        return "carriage return (lines must end in LF only)";
    if (c >= 'A' && c <= 'Z')
        return "upper-case letter (entries must be lower case)";
    if (kind == BC_STRSET_DOMAIN) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')
            return NULL;
        return "character not allowed in a domain name";
    }
    if (c <= 0x20 || c == 0x7f)
        return "control character or space";
    if (c == '@')
        return "'@' in a local part";
    return NULL;
}

/* Checks one DOMAIN line (no '\n'). Returns NULL or a static problem text. */
static const char *check_domain(const char *p, size_t n)
{
    if (n == 0)
        return "empty line";
    if (n > 253)
        return "domain longer than 253 octets";
    for (size_t i = 0; i < n; i++) {
        const char *why = bad_key_byte((unsigned char)p[i], BC_STRSET_DOMAIN);
        if (why)
            return why;
    }
    if (p[0] == '.' || p[n - 1] == '.' || memmem(p, n, "..", 2))
        return "empty label in domain";
    return NULL;
}

/* Checks one TSV line (no '\n'); *keylen gets the key length. Returns NULL
 * or a static problem text. */
static const char *check_tsv(const char *p, size_t n, size_t *keylen)
{
    if (n == 0)
        return "empty line";
    const char *tab = memchr(p, '\t', n);
    if (!tab)
        return "no TAB between local part and category";
    size_t k = (size_t)(tab - p), v = n - k - 1;
    if (k == 0)
        return "empty local part";
    for (size_t i = 0; i < k; i++) {
        const char *why = bad_key_byte((unsigned char)p[i], BC_STRSET_TSV);
        if (why)
            return why;
    }
    if (v == 0)
        return "empty category";
    if (v > VALUE_MAX)
        return "category longer than 32 characters";
    for (size_t i = k + 1; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == 0)
            return "NUL byte";
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return "category must be a lower-case word";
    }
    *keylen = k;
    return NULL;
}

/* Length of the key of a line: all of it, or the part before TAB. */
static size_t key_len(const bc_strset *s, const char *line, size_t n)
{
    if (s->kind != BC_STRSET_TSV)
        return n;
    const char *tab = memchr(line, '\t', n);
    return tab ? (size_t)(tab - line) : n;
}

/* Indexes and validates the blob (see strset.h). The offset array is owned
 * by *s and released by bc_strset_fini(). */
bc_error bc_strset_init(bc_strset *s, const char *data, size_t len, bc_strset_kind kind, const char *name,
                        char *errbuf, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    if (!name)
        name = "list";
    if (len == 0)
        return BC_OK;
    if (!data)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "%s: no data", name);
    if (len >= UINT32_MAX)
        return bc_seterr(errbuf, errlen, BC_EDATA, "%s: file too large", name);

    size_t lines = 0;
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines++;
        if (!nl)
            return bc_seterr(errbuf, errlen, BC_EDATA, "%s:%zu: missing newline at end of file", name, lines);
        p = nl + 1;
    }

    uint32_t *off = malloc((lines + 1) * sizeof *off);
    if (!off)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "%s: out of memory", name);

    const char *prev = NULL;
    size_t prevkey = 0, pos = 0;
    for (size_t i = 0; i < lines; i++) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = (size_t)(nl - line), k = n;
        const char *why = n > BC_STRSET_LINE_MAX  ? "line too long"
                          : kind == BC_STRSET_TSV ? check_tsv(line, n, &k)
                                                  : check_domain(line, n);
        if (!why && prev) {
            int c = bytes_cmp(prev, prevkey, line, k);
            if (c == 0)
                why = "duplicate entry";
            else if (c > 0)
                why = "not sorted (lines must be in LC_ALL=C sort -u order)";
        }
        if (why) {
            free(off);
            return bc_seterr(errbuf, errlen, BC_EDATA, "%s:%zu: %s", name, i + 1, why);
        }
        off[i] = (uint32_t)pos;
        prev = line;
        prevkey = k;
        pos += n + 1;
    }
    off[lines] = (uint32_t)len;
    s->data = data;
    s->len = len;
    s->off = off;
    s->count = lines;
    return BC_OK;
}

/* Releases the offset array and empties the set. */
void bc_strset_fini(bc_strset *s)
{
    if (!s)
        return;
    free(s->off);
    s->off = NULL;
    s->data = NULL;
    s->len = 0;
    s->count = 0;
}

/* Returns line i of the set (a pointer into the blob) and its length. */
const char *bc_strset_line(const bc_strset *s, size_t i, size_t *len)
{
    *len = (size_t)(s->off[i + 1] - s->off[i]) - 1;
    return s->data + s->off[i];
}

/* Binary search for a key; returns the line index or SIZE_MAX. */
size_t bc_strset_find(const bc_strset *s, const char *key, size_t keylen)
{
    if (!s || !key || s->count == 0)
        return SIZE_MAX;
    size_t lo = 0, hi = s->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, n;
        const char *line = bc_strset_line(s, mid, &n);
        int c = bytes_cmp(key, keylen, line, key_len(s, line, n));
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return SIZE_MAX;
}

/* True when the key is in the set. */
bool bc_strset_contains(const bc_strset *s, const char *key, size_t keylen)
{
    return bc_strset_find(s, key, keylen) != SIZE_MAX;
}

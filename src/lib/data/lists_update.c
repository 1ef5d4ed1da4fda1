/*
 * lists_update.c - bc_lists_update(): fetch the domain data from an npm
 * registry, check it, normalise it and write it into a data directory.
 *
 * The steps, for each source package: GET the packument (libcurl), pick a
 * version (pinned below, or dist-tags.latest), download the tarball, compare
 * its SHA-512 (OpenSSL) with the registry's integrity value, read the data
 * member, package.json and the licence file out of the .tgz in memory
 * (libarchive), parse them (jansson; a small strict scanner for the one
 * JavaScript source), normalise the entries (libidn2 for domains) and keep
 * them in memory. Only when every package succeeded are files written: each
 * to a temporary file in the data directory, fsync'd, then renamed over the
 * old one, with sources.json (the marker of a complete set) removed first
 * and written last. Any failure before that leaves the old data untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <idn2.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "core/internal.h"

#define UPD_DEFAULT_REGISTRY "https://registry.npmjs.org"
#define UPD_MAX_PACKUMENT ((size_t)64 << 20) /* 64 MB */
#define UPD_MAX_TARBALL ((size_t)64 << 20)
#define UPD_MAX_MEMBER ((size_t)64 << 20) /* one file unpacked from a tarball */
#define UPD_MAX_LICENSE ((size_t)1 << 20)
#define UPD_MAX_URL 2048
#define UPD_MAX_PATH 4096
#define UPD_MAX_ENTRY 1024 /* one domain or local part, raw */
#define UPD_HOST_MAX 253

/* How a package's data member is laid out. */
typedef enum upd_kind {
    UPD_JSON_ARRAY, /* a JSON array of domain strings */
    UPD_FAKEFILTER, /* {"domains": {"example.com": {...}, ...}} */
    UPD_ROLE_JS,    /* JavaScript: const NAME = [ 'a', 'b', ... ]; */
} upd_kind;

/* Which list a package feeds. */
typedef enum upd_list_id { UPD_DISPOSABLE, UPD_FREE, UPD_ROLE, UPD_NLISTS } upd_list_id;

static const char *const upd_list_names[UPD_NLISTS] = { "disposable", "free", "role" };
static const char *const upd_list_files[UPD_NLISTS] = { "disposable.txt", "free.txt", "role.tsv" };

/* The source packages. `pinned` and `pinned_integrity` are the versions this
 * release's data/ was generated from (checked against the registry with
 * `npm view NAME@VERSION dist.integrity`). */
typedef struct upd_source {
    const char *package;
    const char *pinned;
    const char *pinned_integrity;
    const char *member; /* path below the tarball's top directory */
    upd_kind kind;
    upd_list_id list;
} upd_source;

static const upd_source upd_sources[] = {
    { "disposable-email-domains-js", "1.26.0",
      "sha512-pSqALZAiuw6HDC1HqhhtvShRnniUNObQ6kzwa5N280XbyxxCPBZnQQ7fO6Uk/CNTi4cAaKE1UZl3Mc30Zfj4UA==",
      "dist/dict/disposable_email_blocklist.json", UPD_JSON_ARRAY, UPD_DISPOSABLE },
    { "fakefilter", "0.1.1476",
      "sha512-WG5cQrrHKNmaOW5vzS/J//FFHpvuObGjAjkgGZHSEU8Eq52XHvG1mXTF6Yzpc1E/yj4m4A/5JV60xdlJhhYjgA==",
      "json/data.json", UPD_FAKEFILTER, UPD_DISPOSABLE },
    { "email-providers", "2.26.0",
      "sha512-ao9KMlxxQgFyXb16PCrSbB61o6GXRc4ik2zQhwuNxTnoH8r5UWXrSVkdNtBCW9G4sSYlbZ1aszvGBD9wlAiVsg==",
      "all.json", UPD_JSON_ARRAY, UPD_FREE },
    { "role-based-email-addresses", "3.1.0",
      "sha512-3WfsnBtdfOqZNm7UcNhZdWz9LiG6XCeJsg/i2Bl8cW455Gk6L0lajFgOTLnDNHx6x07wvmxrNglP57+RQFOjXQ==",
      "src/index.js", UPD_ROLE_JS, UPD_ROLE },
};
#define UPD_NSOURCES (sizeof upd_sources / sizeof upd_sources[0])

/* Categories for well-known role mailboxes (RFC 2142 and common practice);
 * they override the package's coarse grouping and are added when missing. */
static const struct {
    const char *local;
    const char *category;
} upd_role_refine[] = {
    { "abuse", "abuse" },
    { "postmaster", "postmaster" },
    { "mailer-daemon", "postmaster" },
    { "hostmaster", "technical" },
    { "webmaster", "technical" },
    { "noc", "technical" },
    { "security", "security" },
    { "admin", "admin" },
    { "administrator", "admin" },
    { "root", "admin" },
    { "sysadmin", "admin" },
    { "support", "support" },
    { "help", "support" },
    { "helpdesk", "support" },
    { "billing", "billing" },
    { "accounts", "billing" },
    { "invoices", "billing" },
    { "noreply", "noreply" },
    { "no-reply", "noreply" },
    { "donotreply", "noreply" },
    { "do-not-reply", "noreply" },
    { "info", "info" },
    { "contact", "info" },
    { "hello", "info" },
    { "enquiries", "info" },
    { "hr", "hr" },
    { "jobs", "hr" },
    { "careers", "hr" },
    { "sales", "sales" },
};
#define UPD_NREFINE (sizeof upd_role_refine / sizeof upd_role_refine[0])

/* A growable byte buffer with a hard size cap. */
typedef struct upd_buf {
    char *data;
    size_t len, cap, max;
} upd_buf;

/* A growable array of malloc'd strings. For the role list, `cat` holds each
 * entry's category (static strings), else it is NULL. */
typedef struct upd_list {
    char **v;
    const char **cat;
    size_t n, cap;
} upd_list;

/* Why normalisation dropped entries. */
typedef enum upd_drop {
    UPD_DROP_EMPTY,
    UPD_DROP_NOT_STRING,
    UPD_DROP_TOO_LONG,
    UPD_DROP_IDNA,
    UPD_DROP_SYNTAX,
    UPD_DROP_SINGLE_LABEL,
    UPD_DROP_NUMERIC_TLD,
    UPD_NDROPS
} upd_drop;

static const char *const upd_drop_names[UPD_NDROPS] = {
    "empty",
    "not a string",
    "too long",
    "rejected by IDNA2008/UTS#46",
    "not a host name",
    "single label",
    "numeric top-level label",
};

/* One fetched package: what goes into sources.json and LICENSES/. */
typedef struct upd_pkg {
    const upd_source *src;
    char version[128];
    char integrity[256];
    char license[128];
    upd_buf license_text;
} upd_pkg;

/* The state of one update run. */
typedef struct upd_run {
    const bc_update_options *opts;
    const char *registry; /* without a trailing slash (points into reg_buf) */
    char reg_buf[UPD_MAX_URL];
    const char *protocols; /* for libcurl: "https", or "http,https" for a loopback registry */
    bool default_registry;
    upd_pkg pkgs[UPD_NSOURCES];
    upd_list lists[UPD_NLISTS];
    size_t drops[UPD_NLISTS][UPD_NDROPS];
    char cats[16][32]; /* role categories from the array names */
    size_t ncats;
    char *errbuf;
    size_t errlen;
} upd_run;

/* Sends one formatted progress line to opts->log, if set. */
__attribute__((format(printf, 2, 3))) static void upd_log(const upd_run *u, const char *fmt, ...)
{
    if (!u->opts->log)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    u->opts->log(u->opts->log_arg, line);
}

/* ---------------------------------------------------------------------------
 * Buffers and string lists
 * ------------------------------------------------------------------------- */

/* Appends n bytes to b, keeping it NUL-terminated; false when that would
 * pass b->max or memory runs out. The buffer owns its data (upd_buf_free). */
static bool upd_buf_add(upd_buf *b, const void *p, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return false;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

/* Releases a buffer's memory and empties it (the cap stays). */
static void upd_buf_free(upd_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Appends a copy of the n bytes at s (with category cat, may be NULL) to l;
 * false on ENOMEM. l owns the copy. */
static bool upd_list_add(upd_list *l, const char *s, size_t n, const char *cat)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return false;
        l->v = v;
        const char **c = realloc(l->cat, cap * sizeof *c);
        if (!c)
            return false;
        l->cat = c;
        l->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy)
        return false;
    memcpy(copy, s, n);
    copy[n] = '\0';
    l->v[l->n] = copy;
    l->cat[l->n] = cat;
    l->n++;
    return true;
}

/* Frees every string of l and its arrays. */
static void upd_list_free(upd_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    free(l->cat);
    memset(l, 0, sizeof *l);
}

/* An entry with its input position, for a stable sort. */
typedef struct upd_pair {
    char *s;
    const char *cat;
    size_t pos;
} upd_pair;

/* Orders pairs bytewise (strcmp compares as unsigned char), then by input
 * position so that the first occurrence of a duplicate sorts first. */
static int upd_cmp_pair(const void *a, const void *b)
{
    const upd_pair *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    if (c)
        return c;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Sorts l bytewise and removes duplicates; the first occurrence in input
 * order wins, so its category is kept. Returns false on ENOMEM. */
static bool upd_list_sort_unique(upd_list *l)
{
    if (l->n == 0)
        return true;
    upd_pair *p = malloc(l->n * sizeof *p);
    if (!p)
        return false;
    for (size_t i = 0; i < l->n; i++) {
        p[i].s = l->v[i];
        p[i].cat = l->cat[i];
        p[i].pos = i;
    }
    qsort(p, l->n, sizeof *p, upd_cmp_pair);
    size_t out = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (out > 0 && strcmp(p[i].s, l->v[out - 1]) == 0) {
            free(p[i].s);
            continue;
        }
        l->v[out] = p[i].s;
        l->cat[out] = p[i].cat;
        out++;
    }
    l->n = out;
    free(p);
    return true;
}

/* True when s is in the sorted list l. */
static bool upd_list_has(const upd_list *l, const char *s)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->v[mid], s);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * Normalisation
 * ------------------------------------------------------------------------- */

/* True for the bytes trimmed around entries. */
static bool upd_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Checks that s (lower-case ASCII) is a host name: LDH labels of 1..63
 * octets, no hyphen at either end, at least two labels, a top-level label
 * that is not all digits (that would be an IP address), 253 octets at most.
 * Returns UPD_NDROPS when it is, else the reason. */
static upd_drop upd_check_host(const char *s)
{
    size_t len = strlen(s);
    if (len == 0)
        return UPD_DROP_EMPTY;
    if (len > UPD_HOST_MAX)
        return UPD_DROP_TOO_LONG;
    size_t labels = 0;
    const char *p = s;
    bool tld_numeric = false;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
            return UPD_DROP_SYNTAX;
        bool digits = true;
        for (size_t i = 0; i < n; i++) {
            char c = p[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            if (!ok)
                return UPD_DROP_SYNTAX;
            if (!(c >= '0' && c <= '9'))
                digits = false;
        }
        labels++;
        tld_numeric = digits;
        if (!dot)
            break;
        p = dot + 1;
    }
    if (labels < 2)
        return UPD_DROP_SINGLE_LABEL;
    if (tld_numeric)
        return UPD_DROP_NUMERIC_TLD;
    return UPD_NDROPS;
}

/* Normalises one raw domain (len bytes at in) into out (outlen bytes):
 * trims, lower-cases, drops a leading "*." or "." and a trailing dot,
 * converts to A-labels with libidn2 (non-transitional UTS #46) when it has
 * non-ASCII bytes or an "xn--" label, and checks the host-name syntax.
 * Returns UPD_NDROPS on success, else why the entry is dropped. */
static upd_drop upd_norm_domain(const char *in, size_t len, char *out, size_t outlen)
{
    while (len && upd_is_space(in[0])) {
        in++;
        len--;
    }
    while (len && upd_is_space(in[len - 1]))
        len--;
    if (len >= 2 && in[0] == '*' && in[1] == '.') {
        in += 2;
        len -= 2;
    } else if (len >= 1 && in[0] == '.') {
        in++;
        len--;
    }
    if (len && in[len - 1] == '.')
        len--;
    if (len == 0)
        return UPD_DROP_EMPTY;
    if (len >= outlen || len >= UPD_MAX_ENTRY)
        return UPD_DROP_TOO_LONG;
    bool non_ascii = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == 0)
            return UPD_DROP_SYNTAX;
        if (c >= 0x80)
            non_ascii = true;
        out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    out[len] = '\0';
    if (non_ascii || strncmp(out, "xn--", 4) == 0 || strstr(out, ".xn--")) {
        char *ascii = NULL;
        int rc = idn2_to_ascii_8z(out, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK || !ascii) {
            idn2_free(ascii);
            return UPD_DROP_IDNA;
        }
        size_t alen = strlen(ascii);
        if (alen >= outlen) {
            idn2_free(ascii);
            return UPD_DROP_TOO_LONG;
        }
        for (size_t i = 0; i < alen; i++) {
            char c = ascii[i];
            out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        out[alen] = '\0';
        idn2_free(ascii);
    }
    return upd_check_host(out);
}

/* Normalises one raw domain and appends it to list `id`, or counts it as
 * dropped. Returns false on ENOMEM only. */
static bool upd_add_domain(upd_run *u, upd_list_id id, const char *raw, size_t len)
{
    char norm[UPD_MAX_ENTRY + 64];
    upd_drop why = upd_norm_domain(raw, len, norm, sizeof norm);
    if (why != UPD_NDROPS) {
        u->drops[id][why]++;
        return true;
    }
    return upd_list_add(&u->lists[id], norm, strlen(norm), NULL);
}

/* Normalises one role local part (trim, ASCII lower case; only atext and
 * dots, no leading, trailing or double dot) and appends it with its
 * category to the role list, or counts it as dropped. False on ENOMEM. */
static bool upd_add_role(upd_run *u, const char *raw, size_t len, const char *cat)
{
    static const char atext_extra[] = "!#$%&'*+-/=?^_`{|}~.";
    while (len && upd_is_space(raw[0])) {
        raw++;
        len--;
    }
    while (len && upd_is_space(raw[len - 1]))
        len--;
    if (len == 0) {
        u->drops[UPD_ROLE][UPD_DROP_EMPTY]++;
        return true;
    }
    if (len > 64) {
        u->drops[UPD_ROLE][UPD_DROP_TOO_LONG]++;
        return true;
    }
    char out[65];
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (c != '\0' && strchr(atext_extra, c) != NULL);
        /* out[i - 1] is read only when i > 0: the last loop wrote it */
        /* cppcheck-suppress uninitvar */
        if (!ok || (c == '.' && (i == 0 || i + 1 == len || out[i - 1] == '.'))) {
            u->drops[UPD_ROLE][UPD_DROP_SYNTAX]++;
            return true;
        }
        out[i] = c;
    }
    return upd_list_add(&u->lists[UPD_ROLE], out, len, cat);
}

/* ---------------------------------------------------------------------------
 * Parsers for the package members
 * ------------------------------------------------------------------------- */

/* Parses a JSON array of domain strings into list `id`. */
static bc_error upd_parse_json_array(upd_run *u, const upd_pkg *p, const upd_buf *m)
{
    json_error_t jerr;
    json_t *root = json_loadb(m->data, m->len, 0, &jerr);
    if (!root || !json_is_array(root)) {
        json_decref(root);
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: %s is not a JSON array%s%s", p->src->package,
                         p->version, p->src->member, root ? "" : ": ", root ? "" : jerr.text);
    }
    size_t i;
    json_t *v;
    json_array_foreach(root, i, v) {
        if (!json_is_string(v)) {
            u->drops[p->src->list][UPD_DROP_NOT_STRING]++;
            continue;
        }
        if (!upd_add_domain(u, p->src->list, json_string_value(v), json_string_length(v))) {
            json_decref(root);
            return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
        }
    }
    json_decref(root);
    return BC_OK;
}

/* Parses fakefilter's {"domains": {"name": {...}}} into list `id`. */
static bc_error upd_parse_fakefilter(upd_run *u, const upd_pkg *p, const upd_buf *m)
{
    json_error_t jerr;
    json_t *root = json_loadb(m->data, m->len, 0, &jerr);
    json_t *domains = root ? json_object_get(root, "domains") : NULL;
    if (!json_is_object(domains)) {
        json_decref(root);
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: %s has no \"domains\" object%s%s",
                         p->src->package, p->version, p->src->member, root ? "" : ": ", root ? "" : jerr.text);
    }
    const char *key;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach(domains, key, klen, v) {
        (void)v;
        if (!upd_add_domain(u, p->src->list, key, klen)) {
            json_decref(root);
            return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
        }
    }
    json_decref(root);
    return BC_OK;
}

/* Interns a lower-cased copy of an array name as a category string in
 * u->cats (the role list points at it; it lives as long as u). Returns NULL
 * when the name is too long or there are too many names. */
static const char *upd_intern_category(upd_run *u, const char *name, size_t n)
{
    char lower[sizeof u->cats[0]];
    if (n == 0 || n >= sizeof lower)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        lower[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    lower[n] = '\0';
    for (size_t i = 0; i < u->ncats; i++)
        if (strcmp(u->cats[i], lower) == 0)
            return u->cats[i];
    if (u->ncats == sizeof u->cats / sizeof u->cats[0])
        return NULL;
    memcpy(u->cats[u->ncats], lower, n + 1);
    return u->cats[u->ncats++];
}

/* Skips spaces, tabs, newlines and // or block comments from *i in s[0..n).
 * Returns false on an unterminated block comment. */
static bool upd_js_skip(const char *s, size_t n, size_t *i)
{
    while (*i < n) {
        if (upd_is_space(s[*i])) {
            (*i)++;
        } else if (s[*i] == '/' && *i + 1 < n && s[*i + 1] == '/') {
            while (*i < n && s[*i] != '\n')
                (*i)++;
        } else if (s[*i] == '/' && *i + 1 < n && s[*i + 1] == '*') {
            const char *end = memmem(s + *i + 2, n - *i - 2, "*/", 2);
            if (!end)
                return false;
            *i = (size_t)(end - s) + 2;
        } else {
            return true;
        }
    }
    return true;
}

/* True when c may appear in a JavaScript identifier we accept (ASCII). */
static bool upd_js_ident_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$';
}

/* Scans role-based-email-addresses' JavaScript: every top-level statement
 * that starts with `const` must read `const NAME = [ 'str', "str", ... ];`
 * (strings without escapes or line breaks, an optional trailing comma);
 * other statements (module.exports = ...) are skipped line by line. Each
 * string goes to the role list with category NAME lower-cased. Fails with
 * BC_EDATA on any other shape, or when no array was found. */
static bc_error upd_parse_role_js(upd_run *u, const upd_pkg *p, const upd_buf *m)
{
    const char *s = m->data;
    size_t n = m->len, i = 0, arrays = 0;
    const char *pkg = p->src->package;
#define UPD_JS_FAIL(what)                                                                                   \
    bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: %s: unrecognised JavaScript (%s near byte %zu)", pkg, \
              p->version, p->src->member, what, i)
    for (;;) {
        if (!upd_js_skip(s, n, &i))
            return UPD_JS_FAIL("unterminated comment");
        if (i >= n)
            break;
        if (!(n - i > 6 && memcmp(s + i, "const", 5) == 0 && upd_is_space(s[i + 5]))) {
            /* Not an array declaration: skip the rest of the line. */
            while (i < n && s[i] != '\n')
                i++;
            continue;
        }
        i += 5;
        upd_js_skip(s, n, &i);
        size_t name_at = i;
        while (i < n && upd_js_ident_char(s[i]))
            i++;
        size_t name_len = i - name_at;
        if (name_len == 0)
            return UPD_JS_FAIL("expected a name after const");
        const char *cat = upd_intern_category(u, s + name_at, name_len);
        if (!cat)
            return UPD_JS_FAIL("too many or too long array names");
        upd_js_skip(s, n, &i);
        if (i >= n || s[i] != '=')
            return UPD_JS_FAIL("expected '='");
        i++;
        upd_js_skip(s, n, &i);
        if (i >= n || s[i] != '[')
            return UPD_JS_FAIL("expected '['");
        i++;
        size_t count = 0;
        for (;;) {
            if (!upd_js_skip(s, n, &i))
                return UPD_JS_FAIL("unterminated comment");
            if (i >= n)
                return UPD_JS_FAIL("unterminated array");
            if (s[i] == ']')
                break;
            char q = s[i];
            if (q != '\'' && q != '"')
                return UPD_JS_FAIL("expected a quoted string");
            size_t start = ++i;
            while (i < n && s[i] != q) {
                if (s[i] == '\\' || s[i] == '\n' || s[i] == '\r')
                    return UPD_JS_FAIL("escape or line break in a string");
                i++;
            }
            if (i >= n)
                return UPD_JS_FAIL("unterminated string");
            if (!upd_add_role(u, s + start, i - start, cat))
                return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
            count++;
            i++;
            upd_js_skip(s, n, &i);
            if (i < n && s[i] == ',') {
                i++;
                continue;
            }
            if (i < n && s[i] == ']')
                break;
            return UPD_JS_FAIL("expected ',' or ']'");
        }
        i++; /* the ']' */
        upd_js_skip(s, n, &i);
        if (i >= n || s[i] != ';')
            return UPD_JS_FAIL("expected ';' after the array");
        i++;
        if (count == 0)
            return UPD_JS_FAIL("empty array");
        arrays++;
    }
    if (arrays == 0)
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: %s declares no string arrays", pkg, p->version,
                         p->src->member);
#undef UPD_JS_FAIL
    return BC_OK;
}

/* ---------------------------------------------------------------------------
 * Network
 * ------------------------------------------------------------------------- */

/* libcurl write callback: appends to the upd_buf, aborting past its cap. */
static size_t upd_curl_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    upd_buf *b = arg;
    size_t n = size * nmemb;
    return upd_buf_add(b, ptr, n) ? n : 0;
}

/* GETs url into out (capped at max bytes). `pkg` names the package in
 * messages. Fails with BC_ENET on transfer errors and HTTP status >= 400,
 * BC_EDATA when the answer is larger than max. The caller owns out. */
static bc_error upd_fetch(upd_run *u, const char *pkg, const char *url, size_t max, upd_buf *out)
{
    out->max = max;
    out->len = 0;
    CURL *h = curl_easy_init();
    if (!h)
        return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "curl_easy_init failed");
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bouncecheck/" BC_VERSION_STRING);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, u->protocols);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, u->protocols);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 512L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, upd_curl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdr);
    if (rc == CURLE_WRITE_ERROR || rc == CURLE_FILESIZE_EXCEEDED)
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s: %s is larger than %zu MB", pkg, url, max >> 20);
    if (rc != CURLE_OK)
        return bc_seterr(u->errbuf, u->errlen, BC_ENET, "%s: cannot fetch %s: %s", pkg, url,
                         cerr[0] ? cerr : curl_easy_strerror(rc));
    if (code < 200 || code >= 300)
        return bc_seterr(u->errbuf, u->errlen, BC_ENET, "%s: %s answered HTTP %ld", pkg, url, code);
    return BC_OK;
}

/* ---------------------------------------------------------------------------
 * Packument, integrity, tarball
 * ------------------------------------------------------------------------- */

/* Reads the packument JSON of p->src->package from the registry and picks
 * the version (pinned or dist-tags.latest), its tarball URL (into tarball,
 * tlen bytes) and integrity. */
static bc_error upd_packument(upd_run *u, upd_pkg *p, char *tarball, size_t tlen)
{
    const char *name = p->src->package;
    char enc[256];
    size_t o = 0;
    for (const char *c = name; *c; c++) {
        if (o + 4 >= sizeof enc)
            return bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "%s: name too long", name);
        if (*c == '/') { /* scoped names: @scope%2Fname */
            memcpy(enc + o, "%2F", 3);
            o += 3;
        } else {
            enc[o++] = *c;
        }
    }
    enc[o] = '\0';
    char url[UPD_MAX_URL];
    if ((size_t)snprintf(url, sizeof url, "%s/%s", u->registry, enc) >= sizeof url)
        return bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "%s: registry URL too long", name);
    upd_log(u, "%s: fetching %s", name, url);
    upd_buf body = { 0 };
    bc_error st = upd_fetch(u, name, url, UPD_MAX_PACKUMENT, &body);
    if (st != BC_OK) {
        upd_buf_free(&body);
        return st;
    }
    json_error_t jerr;
    json_t *root = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
    upd_buf_free(&body);
    if (!json_is_object(root)) {
        json_decref(root);
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s: the registry's answer is not a packument: %s", name,
                         root ? "not an object" : jerr.text);
    }
    const char *version = p->src->pinned;
    if (!u->opts->pinned) {
        version = json_string_value(json_object_get(json_object_get(root, "dist-tags"), "latest"));
        if (!version) {
            json_decref(root);
            return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s: packument has no dist-tags.latest", name);
        }
    }
    json_t *ver = json_object_get(json_object_get(root, "versions"), version);
    json_t *dist = json_object_get(ver, "dist");
    const char *tgz = json_string_value(json_object_get(dist, "tarball"));
    const char *integ = json_string_value(json_object_get(dist, "integrity"));
    const char *lic = json_string_value(json_object_get(ver, "license"));
    if (!ver) {
        bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s: the registry has no version %s", name, version);
        json_decref(root);
        return BC_EDATA;
    }
    if (!tgz || !integ) {
        bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: packument lacks dist.tarball or dist.integrity", name,
                  version);
        json_decref(root);
        return BC_EDATA;
    }
    bool ok = strlen(version) < sizeof p->version && strlen(integ) < sizeof p->integrity && strlen(tgz) < tlen;
    if (ok) {
        memcpy(p->version, version, strlen(version) + 1);
        memcpy(p->integrity, integ, strlen(integ) + 1);
        memcpy(tarball, tgz, strlen(tgz) + 1);
        if (lic && strlen(lic) < sizeof p->license)
            memcpy(p->license, lic, strlen(lic) + 1);
    }
    json_decref(root);
    if (!ok)
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s: over-long version, integrity or tarball URL", name);
    return BC_OK;
}

/* Checks data against an SRI integrity string ("sha512-BASE64", possibly
 * several space-separated hashes). BC_EDATA when no sha512 hash is given,
 * BC_EINTEGRITY when none matches. */
static bc_error upd_check_integrity(upd_run *u, const upd_pkg *p, const upd_buf *data)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data->data ? data->data : "", data->len, md, &mdlen, EVP_sha512(), NULL) || mdlen != 64)
        return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "%s: SHA-512 computation failed", p->src->package);
    unsigned char b64[4 * ((64 + 2) / 3) + 1];
    int blen = EVP_EncodeBlock(b64, md, 64);
    if (blen != 88)
        return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "%s: base64 encoding failed", p->src->package);
    bool any = false;
    const char *s = p->integrity;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strcspn(s, " \t");
        if (n > 7 && strncmp(s, "sha512-", 7) == 0) {
            any = true;
            size_t hn = strcspn(s + 7, " \t?"); /* SRI allows "?options" */
            if (hn == 88 && memcmp(s + 7, b64, 88) == 0)
                return BC_OK;
        }
        s += n;
    }
    if (!any)
        return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: the registry publishes no sha512 integrity",
                         p->src->package, p->version);
    return bc_seterr(u->errbuf, u->errlen, BC_EINTEGRITY,
                     "%s@%s: tarball SHA-512 sha512-%s does not match the published %s", p->src->package,
                     p->version, (const char *)b64, p->integrity);
}

/* True for the file names npm packages use for their licence. */
static bool upd_is_license_name(const char *s)
{
    static const char *const names[] = {
        "license",     "license.md", "license.txt", "licence",     "licence.md",
        "licence.txt", "copying",    "copying.md",  "copying.txt", "unlicense",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i]) == 0)
            return true;
    return false;
}

/* Reads the current archive entry's data into out (capped at max). */
static bool upd_read_entry(struct archive *a, upd_buf *out, size_t max)
{
    out->max = max;
    out->len = 0;
    char chunk[65536];
    for (;;) {
        la_ssize_t n = archive_read_data(a, chunk, sizeof chunk);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        if (!upd_buf_add(out, chunk, (size_t)n))
            return false;
    }
    if (!out->data)
        return upd_buf_add(out, "", 0);
    return true;
}

/* Unpacks, from the gzip'd tar in tgz, the data member, package.json and
 * the top-level licence file (paths are taken below the top directory,
 * "package/" in npm tarballs). The caller owns member, p->license_text and
 * pkgjson. */
static bc_error upd_untar(upd_run *u, upd_pkg *p, const upd_buf *tgz, upd_buf *member, upd_buf *pkgjson)
{
    struct archive *a = archive_read_new();
    if (!a)
        return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    bc_error st = BC_OK;
    bool have_member = false, have_license = false, have_pkgjson = false;
    if (archive_read_open_memory(a, tgz->data, tgz->len) != ARCHIVE_OK) {
        st = bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: tarball: %s", p->src->package, p->version,
                       archive_error_string(a));
        goto done;
    }
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *path = archive_entry_pathname(e);
        if (!path || archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *rel = strchr(path, '/');
        if (!rel)
            continue;
        rel++;
        upd_buf *dst = NULL;
        size_t max = UPD_MAX_MEMBER;
        if (!have_member && strcmp(rel, p->src->member) == 0) {
            dst = member;
            have_member = true;
        } else if (!have_pkgjson && strcmp(rel, "package.json") == 0) {
            dst = pkgjson;
            have_pkgjson = true;
            max = UPD_MAX_LICENSE;
        } else if (!have_license && upd_is_license_name(rel)) {
            dst = &p->license_text;
            have_license = true;
            max = UPD_MAX_LICENSE;
        }
        if (!dst)
            continue;
        if (!upd_read_entry(a, dst, max)) {
            st = bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: cannot read %s from the tarball (%s)",
                           p->src->package, p->version, path,
                           archive_errno(a) ? archive_error_string(a) : "too large or out of memory");
            goto done;
        }
    }
    if (r != ARCHIVE_EOF) {
        st = bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: tarball: %s", p->src->package, p->version,
                       archive_error_string(a));
        goto done;
    }
    if (!have_member)
        st = bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: the tarball has no %s", p->src->package, p->version,
                       p->src->member);
    else if (!have_license)
        st = bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: the tarball has no licence file", p->src->package,
                       p->version);
done:
    archive_read_free(a);
    return st;
}

/* Takes the licence identifier from package.json ("license": "MIT") when
 * the packument did not give one. */
static void upd_license_from_pkgjson(upd_pkg *p, const upd_buf *pkgjson)
{
    if (!pkgjson->data)
        return;
    json_t *root = json_loadb(pkgjson->data, pkgjson->len, 0, NULL);
    const char *lic = json_string_value(json_object_get(root, "license"));
    if (lic && strlen(lic) < sizeof p->license)
        memcpy(p->license, lic, strlen(lic) + 1);
    json_decref(root);
}

/* Fetches, checks and parses one package into the run's lists. */
static bc_error upd_one(upd_run *u, upd_pkg *p)
{
    char tarball[UPD_MAX_URL];
    bc_error st = upd_packument(u, p, tarball, sizeof tarball);
    if (st != BC_OK)
        return st;
    const char *name = p->src->package;
    if (u->opts->pinned && u->default_registry && strcmp(p->integrity, p->src->pinned_integrity) != 0)
        return bc_seterr(u->errbuf, u->errlen, BC_EINTEGRITY,
                         "%s@%s: the registry publishes integrity %s, this release pinned %s", name, p->version,
                         p->integrity, p->src->pinned_integrity);
    upd_log(u, "%s@%s: downloading %s", name, p->version, tarball);
    upd_buf tgz = { 0 }, member = { 0 }, pkgjson = { 0 };
    st = upd_fetch(u, name, tarball, UPD_MAX_TARBALL, &tgz);
    if (st == BC_OK)
        st = upd_check_integrity(u, p, &tgz);
    if (st == BC_OK) {
        upd_log(u, "%s@%s: %zu bytes, SHA-512 matches the registry's integrity", name, p->version, tgz.len);
        st = upd_untar(u, p, &tgz, &member, &pkgjson);
    }
    upd_buf_free(&tgz);
    if (st == BC_OK) {
        if (!p->license[0])
            upd_license_from_pkgjson(p, &pkgjson);
        if (!p->license[0])
            memcpy(p->license, "UNKNOWN", sizeof "UNKNOWN");
        size_t before = u->lists[p->src->list].n;
        switch (p->src->kind) {
        case UPD_JSON_ARRAY: st = upd_parse_json_array(u, p, &member); break;
        case UPD_FAKEFILTER: st = upd_parse_fakefilter(u, p, &member); break;
        case UPD_ROLE_JS: st = upd_parse_role_js(u, p, &member); break;
        }
        size_t got = u->lists[p->src->list].n - before;
        if (st == BC_OK && got == 0)
            st = bc_seterr(u->errbuf, u->errlen, BC_EDATA, "%s@%s: %s yields no usable entries", name, p->version,
                           p->src->member);
        if (st == BC_OK)
            upd_log(u, "%s@%s: %zu entries for the %s list (licence %s)", name, p->version, got,
                    upd_list_names[p->src->list], p->license);
    }
    upd_buf_free(&member);
    upd_buf_free(&pkgjson);
    return st;
}

/* ---------------------------------------------------------------------------
 * Building the lists
 * ------------------------------------------------------------------------- */

/* True when d or one of its parent domains is in the (sorted) disposable
 * list. */
static bool upd_under_disposable(const upd_list *disp, const char *d)
{
    for (const char *p = d; p;) {
        if (upd_list_has(disp, p))
            return true;
        p = strchr(p, '.');
        if (p)
            p++;
    }
    return false;
}

/* Sorts and dedupes every list, applies the role refinements and removes
 * disposable domains from the free list. */
static bc_error upd_finish_lists(upd_run *u)
{
    upd_list *role = &u->lists[UPD_ROLE];
    for (size_t i = 0; i < UPD_NREFINE; i++) {
        const char *loc = upd_role_refine[i].local;
        if (!upd_list_add(role, loc, strlen(loc), upd_role_refine[i].category))
            return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
    }
    for (int id = 0; id < UPD_NLISTS; id++)
        if (!upd_list_sort_unique(&u->lists[id]))
            return bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
    /* The table wins over the package's grouping. */
    for (size_t i = 0; i < role->n; i++)
        for (size_t k = 0; k < UPD_NREFINE; k++)
            if (strcmp(role->v[i], upd_role_refine[k].local) == 0)
                role->cat[i] = upd_role_refine[k].category;

    upd_list *fr = &u->lists[UPD_FREE];
    size_t out = 0, removed = 0;
    for (size_t i = 0; i < fr->n; i++) {
        if (upd_under_disposable(&u->lists[UPD_DISPOSABLE], fr->v[i])) {
            free(fr->v[i]);
            removed++;
        } else {
            fr->v[out] = fr->v[i];
            fr->cat[out] = fr->cat[i];
            out++;
        }
    }
    fr->n = out;
    upd_log(u, "free: removed %zu domains that are disposable (or under one)", removed);

    for (int id = 0; id < UPD_NLISTS; id++) {
        char why[256] = "";
        size_t o = 0, total = 0;
        for (int d = 0; d < UPD_NDROPS; d++) {
            if (!u->drops[id][d])
                continue;
            total += u->drops[id][d];
            int w = snprintf(why + o, sizeof why - o, "%s%zu %s", o ? ", " : "", u->drops[id][d],
                             upd_drop_names[d]);
            if (w > 0 && (size_t)w < sizeof why - o)
                o += (size_t)w;
        }
        upd_log(u, "%s: %zu entries; dropped %zu invalid%s%s%s", upd_list_names[id], u->lists[id].n, total,
                total ? " (" : "", why, total ? ")" : "");
        if (u->lists[id].n == 0)
            return bc_seterr(u->errbuf, u->errlen, BC_EDATA, "the %s list is empty", upd_list_names[id]);
    }
    return BC_OK;
}

/* ---------------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------------- */

/* mkdir -p: creates path and its missing parents (mode 0755). */
static bc_error upd_mkdirs(upd_run *u, const char *path)
{
    char buf[UPD_MAX_PATH];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof buf)
        return bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "bad data directory '%s'", path);
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return bc_seterr(u->errbuf, u->errlen, BC_EIO, "cannot create %s: %s", buf, strerror(errno));
        buf[i] = saved;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return bc_seterr(u->errbuf, u->errlen, BC_EIO, "%s is not a directory", path);
    return BC_OK;
}

/* One file to be replaced: its final path and the temporary it is staged in. */
typedef struct upd_out {
    char path[UPD_MAX_PATH];
    char tmp[UPD_MAX_PATH];
    bool staged;
} upd_out;

/* Writes len bytes to a new temporary file next to o->path (mode 0644),
 * fsyncs and closes it. */
static bc_error upd_stage(upd_run *u, upd_out *o, const char *data, size_t len)
{
    const char *slash = strrchr(o->path, '/');
    size_t dlen = slash ? (size_t)(slash - o->path) : 0;
    const char *base = slash ? slash + 1 : o->path;
    int w = slash ? snprintf(o->tmp, sizeof o->tmp, "%.*s/.%s.tmpXXXXXX", (int)dlen, o->path, base)
                  : snprintf(o->tmp, sizeof o->tmp, ".%s.tmpXXXXXX", base);
    if (w < 0 || (size_t)w >= sizeof o->tmp)
        return bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "path too long: %s", o->path);
    int fd = mkstemp(o->tmp);
    if (fd < 0)
        return bc_seterr(u->errbuf, u->errlen, BC_EIO, "cannot create a file beside %s: %s", o->path,
                         strerror(errno));
    o->staged = true;
    bool ok = fchmod(fd, 0644) == 0;
    for (size_t off = 0; ok && off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            ok = false;
        else
            off += (size_t)n;
    }
    if (ok && fsync(fd) != 0)
        ok = false;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok)
        return bc_seterr(u->errbuf, u->errlen, BC_EIO, "cannot write %s: %s", o->tmp, strerror(saved));
    return BC_OK;
}

/* fsyncs a directory so that renames in it are durable. */
static void upd_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Renders a list as its file text into b: "entry\n" or
 * "local\tcategory\n" lines. */
static bool upd_render(const upd_list *l, bool with_cat, upd_buf *b)
{
    b->max = SIZE_MAX / 2;
    if (!upd_buf_add(b, "", 0))
        return false;
    for (size_t i = 0; i < l->n; i++) {
        if (!upd_buf_add(b, l->v[i], strlen(l->v[i])))
            return false;
        if (with_cat && (!upd_buf_add(b, "\t", 1) || !upd_buf_add(b, l->cat[i], strlen(l->cat[i]))))
            return false;
        if (!upd_buf_add(b, "\n", 1))
            return false;
    }
    return true;
}

/* Builds sources.json; the caller frees the returned string with free(). */
static char *upd_sources_json(const upd_run *u)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm) || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return NULL;
    json_t *root = json_object();
    json_t *lists = json_object();
    json_object_set_new(root, "generated_at", json_string(when));
    json_object_set_new(root, "lists", lists);
    for (int id = 0; id < UPD_NLISTS; id++) {
        json_t *l = json_object();
        json_t *srcs = json_array();
        json_object_set_new(l, "count", json_integer((json_int_t)u->lists[id].n));
        json_object_set_new(l, "sources", srcs);
        for (size_t i = 0; i < UPD_NSOURCES; i++) {
            const upd_pkg *p = &u->pkgs[i];
            if ((int)p->src->list != id)
                continue;
            json_t *s = json_object();
            json_object_set_new(s, "package", json_string(p->src->package));
            json_object_set_new(s, "version", json_string(p->version));
            json_object_set_new(s, "integrity", json_string(p->integrity));
            json_object_set_new(s, "license", json_string(p->license));
            json_array_append_new(srcs, s);
        }
        json_object_set_new(lists, upd_list_names[id], l);
    }
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    json_decref(root);
    return text;
}

/* Stages every output file, then removes the old sources.json, renames the
 * lists and licences into place and renames sources.json last. Before the
 * first rename, any failure removes the temporaries and leaves dir as it was. */
static bc_error upd_write_all(upd_run *u, const char *dir)
{
    enum { NOUT = UPD_NLISTS + UPD_NSOURCES + 1 };
    upd_out outs[NOUT];
    memset(outs, 0, sizeof outs);
    bc_error st = upd_mkdirs(u, dir);
    char licdir[UPD_MAX_PATH];
    if (st == BC_OK) {
        if ((size_t)snprintf(licdir, sizeof licdir, "%s/LICENSES", dir) >= sizeof licdir)
            return bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "data directory path too long");
        st = upd_mkdirs(u, licdir);
    }
    if (st != BC_OK)
        return st;

    size_t k = 0;
    for (int id = 0; id < UPD_NLISTS && st == BC_OK; id++, k++) {
        upd_out *o = &outs[k];
        if ((size_t)snprintf(o->path, sizeof o->path, "%s/%s", dir, upd_list_files[id]) >= sizeof o->path) {
            st = bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "data directory path too long");
            break;
        }
        upd_buf text = { 0 };
        if (!upd_render(&u->lists[id], id == UPD_ROLE, &text))
            st = bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
        else
            st = upd_stage(u, o, text.data, text.len);
        upd_buf_free(&text);
    }
    for (size_t i = 0; i < UPD_NSOURCES && st == BC_OK; i++, k++) {
        upd_out *o = &outs[k];
        if ((size_t)snprintf(o->path, sizeof o->path, "%s/%s.txt", licdir, upd_sources[i].package) >=
            sizeof o->path) {
            st = bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "data directory path too long");
            break;
        }
        st = upd_stage(u, o, u->pkgs[i].license_text.data, u->pkgs[i].license_text.len);
    }
    if (st == BC_OK) {
        upd_out *o = &outs[k];
        char *json = upd_sources_json(u);
        if (!json)
            st = bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "cannot build sources.json");
        else if ((size_t)snprintf(o->path, sizeof o->path, "%s/sources.json", dir) >= sizeof o->path)
            st = bc_seterr(u->errbuf, u->errlen, BC_EINVAL, "data directory path too long");
        else {
            upd_buf text = { 0 };
            text.max = SIZE_MAX / 2;
            if (!upd_buf_add(&text, json, strlen(json)) || !upd_buf_add(&text, "\n", 1))
                st = bc_seterr(u->errbuf, u->errlen, BC_ENOMEM, "out of memory");
            else
                st = upd_stage(u, o, text.data, text.len);
            upd_buf_free(&text);
        }
        free(json);
        k++;
    }
    if (st != BC_OK) {
        for (size_t i = 0; i < NOUT; i++)
            if (outs[i].staged)
                unlink(outs[i].tmp);
        return st;
    }

    /* Commit. From here on a crash leaves no sources.json until the new
     * one is in place, so a partial set never looks complete. */
    if (unlink(outs[NOUT - 1].path) != 0 && errno != ENOENT) {
        st = bc_seterr(u->errbuf, u->errlen, BC_EIO, "cannot remove %s: %s", outs[NOUT - 1].path, strerror(errno));
        for (size_t i = 0; i < NOUT; i++)
            unlink(outs[i].tmp);
        return st;
    }
    upd_sync_dir(dir);
    for (size_t i = 0; i < NOUT; i++) {
        if (i == NOUT - 1) {
            upd_sync_dir(licdir);
            upd_sync_dir(dir);
        }
        if (rename(outs[i].tmp, outs[i].path) != 0) {
            st = bc_seterr(u->errbuf, u->errlen, BC_EIO, "cannot rename %s to %s: %s", outs[i].tmp, outs[i].path,
                           strerror(errno));
            for (size_t j = i; j < NOUT; j++)
                unlink(outs[j].tmp);
            return st;
        }
        upd_log(u, "wrote %s", outs[i].path);
    }
    upd_sync_dir(dir);
    return BC_OK;
}

/* ---------------------------------------------------------------------------
 * Entry point
 * ------------------------------------------------------------------------- */

/* True when url is plain http to this machine (tests and local mirrors). */
static bool upd_is_loopback_http(const char *url)
{
    static const char *const prefixes[] = { "http://127.0.0.1", "http://localhost", "http://[::1]" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncasecmp(url, prefixes[i], n) == 0 && (url[n] == '\0' || url[n] == ':' || url[n] == '/'))
            return true;
    }
    return false;
}

bc_error bc_lists_update(const bc_update_options *opts, char *errbuf, size_t errlen)
{
    if (!opts || !opts->data_dir || !opts->data_dir[0])
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_lists_update: data_dir is required");
    upd_run *u = calloc(1, sizeof *u);
    if (!u)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    u->opts = opts;
    u->errbuf = errbuf;
    u->errlen = errlen;
    const char *reg = opts->registry && opts->registry[0] ? opts->registry : UPD_DEFAULT_REGISTRY;
    size_t rl = strlen(reg);
    while (rl > 0 && reg[rl - 1] == '/')
        rl--;
    bc_error st = BC_OK;
    if (rl == 0 || rl >= sizeof u->reg_buf) {
        st = bc_seterr(errbuf, errlen, BC_EINVAL, "bad registry URL '%s'", reg);
        goto out;
    }
    memcpy(u->reg_buf, reg, rl);
    u->reg_buf[rl] = '\0';
    u->registry = u->reg_buf;
    u->default_registry = strcmp(u->registry, UPD_DEFAULT_REGISTRY) == 0;
    if (strncasecmp(u->registry, "https://", 8) == 0) {
        u->protocols = "https";
    } else if (upd_is_loopback_http(u->registry)) {
        u->protocols = "http,https";
    } else {
        st = bc_seterr(errbuf, errlen, BC_EINVAL,
                       "registry %s: only https:// (or http:// to localhost) is allowed", u->registry);
        goto out;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        st = bc_seterr(errbuf, errlen, BC_ENET, "libcurl initialisation failed");
        goto out;
    }
    upd_log(u, "updating %s from %s (%s versions)", opts->data_dir, u->registry,
            opts->pinned ? "pinned" : "latest");
    for (size_t i = 0; i < UPD_NSOURCES && st == BC_OK; i++) {
        u->pkgs[i].src = &upd_sources[i];
        st = upd_one(u, &u->pkgs[i]);
    }
    curl_global_cleanup();
    if (st == BC_OK)
        st = upd_finish_lists(u);
    if (st == BC_OK) {
        /* "data/" and "data" name the same directory; keep paths tidy. */
        char dir[UPD_MAX_PATH];
        size_t dl = strlen(opts->data_dir);
        while (dl > 1 && opts->data_dir[dl - 1] == '/')
            dl--;
        if (dl >= sizeof dir) {
            st = bc_seterr(errbuf, errlen, BC_EINVAL, "data directory path too long");
        } else {
            memcpy(dir, opts->data_dir, dl);
            dir[dl] = '\0';
            st = upd_write_all(u, dir);
        }
    }
out:
    for (size_t i = 0; i < UPD_NSOURCES; i++)
        upd_buf_free(&u->pkgs[i].license_text);
    for (int id = 0; id < UPD_NLISTS; id++)
        upd_list_free(&u->lists[id]);
    free(u);
    return st;
}

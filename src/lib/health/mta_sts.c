/*
 * mta_sts.c - three health sections about mail transport and brand
 * (health.h):
 *   - MTA-STS (RFC 8461): the _mta-sts TXT record, the policy file fetched
 *     over HTTPS the way a sending MTA would (certificate verified, no
 *     redirects, text/plain, at most 64 KiB), and the MX hosts matched
 *     against the policy's mx patterns;
 *   - TLS-RPT (RFC 8460): the _smtp._tls TXT record and its rua URIs;
 *   - BIMI (draft-brand-indicators-for-message-identification): the
 *     default._bimi TXT record (l=, a=) and its DMARC precondition.
 * The parsers are open to the unit tests through mta_sts.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/netsafe.h"
#include "health/mta_sts.h"

_Static_assert(sizeof(((bc_sts_fetch *)0)->error) >= CURL_ERROR_SIZE, "bc_sts_fetch.error too small");

#define STS_DEFAULT_TIMEOUT_MS 10000L
#define STS_MIN_ENFORCE_AGE 86400L /* a day: shorter enforce policies protect little */

/* ---------------------------------------------------------------------------
 * Small string helpers
 * ------------------------------------------------------------------------- */

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces and tabs at both ends of the NUL-terminated s, in place. */
static char *trim(char *s)
{
    while (is_wsp(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_wsp(s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    if (dstlen == 0)
        return;
    size_t n = strlen(src);
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* A new JSON string of s, or null when s is not UTF-8. */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_null();
}

/* A domain name without its trailing dot, lower case, into out[256].
 * False when it does not fit. */
static bool norm_name(const char *in, char out[256])
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

/* A host name: labels of letters, digits and hyphens (not at either end),
 * 1 to 63 long, 253 in all. */
static bool host_ok(const char *h)
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

bool bc_txt_has_version(const char *text, const char *version)
{
    if (!text || !version)
        return false;
    size_t n = strlen(version);
    if (strncmp(text, version, n) != 0)
        return false;
    char c = text[n];
    return c == '\0' || c == ';' || is_wsp(c);
}

/* ---------------------------------------------------------------------------
 * Tag lists: "v=X; name=value; ..." as the three records write them
 * ------------------------------------------------------------------------- */

typedef struct kv {
    char *name;
    char *value;
} kv;

#define KV_MAX 32

/* Splits buf (a copy of the record, changed in place) at ';' into name=value
 * pairs, white space around names and values dropped. The first pair must
 * be v=version. An empty piece is allowed only at the end (a trailing ';').
 * Names must be a letter or digit then up to 31 letters, digits, '_', '-'
 * or '.'; each at most once. */
static bool kv_split(char *buf, const char *version, kv *out, size_t *n, char *err, size_t errlen)
{
    *n = 0;
    char *p = buf;
    bool ended = false;
    while (p) {
        char *semi = strchr(p, ';');
        if (semi)
            *semi = '\0';
        char *piece = trim(p);
        p = semi ? semi + 1 : NULL;
        if (*piece == '\0') {
            if (*n == 0) {
                seterr(err, errlen, "the record does not start with v=%s", version);
                return false;
            }
            ended = true;
            continue;
        }
        if (ended) {
            seterr(err, errlen, "an empty field (two ';' in a row) before '%s'", piece);
            return false;
        }
        char *eq = strchr(piece, '=');
        if (!eq) {
            seterr(err, errlen, "'%s' is not a name=value field", piece);
            return false;
        }
        *eq = '\0';
        char *name = trim(piece), *value = trim(eq + 1);
        size_t nl = strlen(name);
        bool name_ok = nl >= 1 && nl <= 32 && isalnum((unsigned char)name[0]);
        for (size_t i = 1; name_ok && i < nl; i++)
            name_ok = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-' || name[i] == '.';
        if (!name_ok) {
            seterr(err, errlen, "'%s' is not a valid field name", name);
            return false;
        }
        if (*n == 0 && (strcmp(name, "v") != 0 || strcmp(value, version) != 0)) {
            seterr(err, errlen, "the record does not start with v=%s", version);
            return false;
        }
        for (size_t i = 0; i < *n; i++)
            if (strcmp(out[i].name, name) == 0) {
                seterr(err, errlen, "the field '%s' appears twice", name);
                return false;
            }
        if (*n == KV_MAX) {
            seterr(err, errlen, "more than %d fields", KV_MAX);
            return false;
        }
        out[*n].name = name;
        out[*n].value = value;
        (*n)++;
    }
    if (*n == 0) {
        seterr(err, errlen, "the record does not start with v=%s", version);
        return false;
    }
    return true;
}

/* The start the three record parsers share: text must begin with
 * v=version; a copy of it goes into *buf (owned by the caller, free; NULL
 * when it could not be made) and is split into t / *n. False with err set
 * when any of that fails. */
static bool kv_record(const char *text, const char *version, char **buf, kv t[KV_MAX], size_t *n,
                      char *err, size_t errlen)
{
    char tag[32];
    *buf = NULL;
    *n = 0;
    snprintf(tag, sizeof tag, "v=%s", version);
    if (!bc_txt_has_version(text, tag)) {
        seterr(err, errlen, "the record does not start with %s", tag);
        return false;
    }
    *buf = strdup(text);
    if (!*buf) {
        seterr(err, errlen, "out of memory");
        return false;
    }
    return kv_split(*buf, version, t, n, err, errlen);
}

static const char *kv_get(const kv *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].value;
    return NULL;
}

/* RFC 8461/8460 extension values: printable ASCII without ';', '=' or
 * spaces, at least one character. */
static bool ext_value_ok(const char *v)
{
    if (!*v)
        return false;
    for (; *v; v++)
        if ((unsigned char)*v < 0x21 || (unsigned char)*v > 0x7e || *v == ';' || *v == '=')
            return false;
    return true;
}

/* ---------------------------------------------------------------------------
 * MTA-STS record and policy
 * ------------------------------------------------------------------------- */

bool bc_mta_sts_parse_record(const char *text, char id[33], char *err, size_t errlen)
{
    id[0] = '\0';
    char *buf;
    kv t[KV_MAX];
    size_t n;
    bool ok = kv_record(text, "STSv1", &buf, t, &n, err, errlen);
    for (size_t i = 1; ok && i < n; i++) {
        if (strcmp(t[i].name, "id") == 0)
            continue;
        if (!ext_value_ok(t[i].value)) {
            seterr(err, errlen, "the field '%s' has an empty or invalid value", t[i].name);
            ok = false;
        }
    }
    const char *v = ok ? kv_get(t, n, "id") : NULL;
    if (ok && !v) {
        seterr(err, errlen, "the id field is missing");
        ok = false;
    }
    if (ok) {
        size_t len = strlen(v);
        bool good = len >= 1 && len <= 32;
        for (size_t i = 0; good && i < len; i++)
            good = isalnum((unsigned char)v[i]) != 0;
        if (!good) {
            seterr(err, errlen, "id '%s' is not 1 to 32 letters and digits", v);
            ok = false;
        } else {
            memcpy(id, v, len + 1);
        }
    }
    free(buf);
    return ok;
}

/* An mx pattern: a host name, or "*." and a host name. */
static bool mx_pattern_ok(const char *p)
{
    if (strncmp(p, "*.", 2) == 0)
        p += 2;
    return host_ok(p);
}

/* Handles one "key: value" line of a policy (line is changed in place). */
static bool policy_line(char *line, bc_sts_policy *out, bool seen[3], char *err, size_t errlen)
{
    char *colon = strchr(line, ':');
    if (!colon) {
        seterr(err, errlen, "the line '%.80s' is not 'key: value'", line);
        return false;
    }
    *colon = '\0';
    char *key = trim(line), *value = trim(colon + 1);
    if (strcmp(key, "version") == 0) {
        if (seen[0]) {
            out->duplicate_field = true;
            return true;
        }
        seen[0] = true;
        copy_str(out->version, sizeof out->version, value);
        if (strcmp(value, "STSv1") != 0) {
            seterr(err, errlen, "version is '%.40s', not STSv1", value);
            return false;
        }
    } else if (strcmp(key, "mode") == 0) {
        if (seen[1]) {
            out->duplicate_field = true;
            return true;
        }
        seen[1] = true;
        copy_str(out->mode, sizeof out->mode, value);
        if (strcmp(value, "enforce") != 0 && strcmp(value, "testing") != 0 && strcmp(value, "none") != 0) {
            seterr(err, errlen, "mode is '%.40s', not enforce, testing or none", value);
            return false;
        }
    } else if (strcmp(key, "max_age") == 0) {
        if (seen[2]) {
            out->duplicate_field = true;
            return true;
        }
        seen[2] = true;
        size_t len = strlen(value);
        bool digits = len >= 1 && len <= 10;
        for (size_t i = 0; digits && i < len; i++)
            digits = isdigit((unsigned char)value[i]) != 0;
        long age = digits ? strtol(value, NULL, 10) : -1;
        if (!digits || age > BC_STS_MAX_AGE_MAX) {
            seterr(err, errlen, "max_age '%.40s' is not a number of seconds from 0 to %ld", value,
                   BC_STS_MAX_AGE_MAX);
            return false;
        }
        out->max_age = age;
    } else if (strcmp(key, "mx") == 0) {
        char host[256];
        if (!norm_name(value, host) || !mx_pattern_ok(host)) {
            seterr(err, errlen, "mx '%.80s' is not a host name or a '*.' wildcard of one", value);
            return false;
        }
        if (out->nmx == BC_STS_MX_MAX) {
            out->mx_truncated = true;
            return true;
        }
        memcpy(out->mx[out->nmx++], host, strlen(host) + 1);
    }
    /* other keys are extensions: ignored (RFC 8461 3.2) */
    return true;
}

bool bc_mta_sts_parse_policy(const char *body, size_t len, bc_sts_policy *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->max_age = -1;
    if (memchr(body, '\0', len)) {
        seterr(err, errlen, "the policy contains a NUL byte");
        return false;
    }
    char *buf = malloc(len + 1);
    if (!buf) {
        seterr(err, errlen, "out of memory");
        return false;
    }
    memcpy(buf, body, len);
    buf[len] = '\0';
    bool seen[3] = { false, false, false }, ok = true;
    char *p = buf;
    while (ok && p && *p) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t ll = strlen(p);
        if (ll > 0 && p[ll - 1] == '\r')
            p[ll - 1] = '\0';
        char *line = trim(p);
        if (*line)
            ok = policy_line(line, out, seen, err, errlen);
        p = nl ? nl + 1 : NULL;
    }
    free(buf);
    if (!ok)
        return false;
    if (!seen[0]) {
        seterr(err, errlen, "the version field (version: STSv1) is missing");
        return false;
    }
    if (!seen[1]) {
        seterr(err, errlen, "the mode field is missing");
        return false;
    }
    if (!seen[2]) {
        seterr(err, errlen, "the max_age field is missing");
        return false;
    }
    if (out->nmx == 0 && strcmp(out->mode, "none") != 0) {
        seterr(err, errlen, "no mx field: mode %s needs at least one MX pattern", out->mode);
        return false;
    }
    return true;
}

bool bc_mta_sts_mx_match(const char *pattern, const char *host)
{
    char p[256], h[256];
    if (!pattern || !host || !norm_name(pattern, p) || !norm_name(host, h))
        return false;
    if (strncmp(p, "*.", 2) != 0)
        return strcmp(p, h) == 0;
    const char *dot = strchr(h, '.');
    /* one label in front: "a.example.com" matches "*.example.com", but
     * neither "example.com" nor "b.a.example.com" does */
    return dot && dot != h && strcmp(dot + 1, p + 2) == 0;
}

/* ---------------------------------------------------------------------------
 * The policy fetch
 * ------------------------------------------------------------------------- */

typedef struct fetch_ctx {
    bc_sts_fetch *out;
    size_t cap;
    bool allow_private;
} fetch_ctx;

static size_t fetch_write(char *p, size_t size, size_t n, void *arg)
{
    fetch_ctx *f = arg;
    bc_sts_fetch *o = f->out;
    size_t add = size * n;
    if (add > BC_STS_POLICY_MAX - o->len) {
        o->too_large = true;
        return 0; /* stops the transfer with CURLE_WRITE_ERROR */
    }
    if (o->len + add + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < o->len + add + 1)
            cap *= 2;
        char *b = realloc(o->body, cap);
        if (!b)
            return 0;
        o->body = b;
        f->cap = cap;
    }
    memcpy(o->body + o->len, p, add);
    o->len += add;
    o->body[o->len] = '\0';
    return add;
}

/* Refuses sockets to addresses the verifier never contacts unless told. */
static curl_socket_t fetch_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    fetch_ctx *f = clientp;
    (void)purpose;
    const char *why = f->allow_private ? NULL : bc_netsafe_check(&a->addr);
    if (why) {
        f->out->refused = why;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

void bc_sts_fetch_clear(bc_sts_fetch *out)
{
    if (!out)
        return;
    free(out->body);
    memset(out, 0, sizeof *out);
}

void bc_mta_sts_fetch_policy(const char *url, const bc_health_https *https, const char *connect_to,
                             bc_sts_fetch *out)
{
    memset(out, 0, sizeof *out);
    bc_health_https defaults = { NULL, false, 0 };
    if (!https)
        https = &defaults;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        copy_str(out->error, sizeof out->error, "libcurl initialisation failed");
        return;
    }
    CURL *h = curl_easy_init();
    struct curl_slist *ct = connect_to ? curl_slist_append(NULL, connect_to) : NULL;
    if (!h || (connect_to && !ct)) {
        copy_str(out->error, sizeof out->error, "out of memory");
        curl_slist_free_all(ct);
        curl_easy_cleanup(h);
        curl_global_cleanup();
        return;
    }
    fetch_ctx f = { out, 0, https->allow_private };
    long timeout = https->timeout_ms > 0 ? https->timeout_ms : STS_DEFAULT_TIMEOUT_MS;
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (https->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, https->ca_file);
    if (ct)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BC_STS_POLICY_MAX);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bouncecheck-mta-sts");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, fetch_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &f);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->http_code);
    char *ctype = NULL, *loc = NULL;
    if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype)
        copy_str(out->content_type, sizeof out->content_type, ctype);
    if (curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK && loc)
        copy_str(out->location, sizeof out->location, loc);
    if (rc == CURLE_FILESIZE_EXCEEDED)
        out->too_large = true;
    if (out->too_large)
        snprintf(out->error, sizeof out->error, "the policy is larger than %d bytes; the transfer was stopped",
                 BC_STS_POLICY_MAX);
    else if (out->refused)
        snprintf(out->error, sizeof out->error,
                 "not connecting to a %s address (the private-address guard; --allow-private lifts it)",
                 out->refused);
    else if (rc != CURLE_OK)
        snprintf(out->error, sizeof out->error, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    else if (out->http_code != 200)
        snprintf(out->error, sizeof out->error, "the server answered HTTP %ld, not 200", out->http_code);
    else
        out->ok = true;
    if (!out->body) {
        out->body = calloc(1, 1);
        out->len = 0;
    }
    curl_slist_free_all(ct);
    curl_easy_cleanup(h);
    curl_global_cleanup();
}

/* True when a Content-Type header value is text/plain (parameters such as
 * charset allowed). */
static bool is_text_plain(const char *ct)
{
    static const char want[] = "text/plain";
    while (is_wsp(*ct))
        ct++;
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    ct += sizeof want - 1;
    while (is_wsp(*ct))
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* ---------------------------------------------------------------------------
 * Sections
 * ------------------------------------------------------------------------- */

/* Looks up TXT at prefix.domain into *set; the name into name[300]. On a
 * name too long returns false with the section's finding added. */
static bool txt_lookup(bc_resolver *r, const char *prefix, const char *domain, char name[300], bc_rrset *set,
                       json_t *findings, const char *code)
{
    char d[256];
    memset(set, 0, sizeof *set);
    int w = domain && norm_name(domain, d) ? snprintf(name, 300, "%s.%s", prefix, d) : -1;
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
        json_array_append_new(records, jstr(t));
        if (bc_txt_has_version(t, version)) {
            if (!*first)
                *first = t;
            n++;
        }
    }
    return n;
}

/* What differs between the three record sections in their DNS part. */
typedef struct rec_kind {
    const char *prefix;       /* the record is TXT at prefix.domain */
    const char *version;      /* what the record starts with: "v=STSv1" */
    const char *label;        /* the check's name in messages */
    const char *bad_domain;   /* finding codes */
    const char *dns_error;
    const char *multiple;
    const char *multiple_why; /* what senders do with more than one record */
} rec_kind;

/* One section's record as looked up by rec_lookup. */
typedef struct rec_found {
    char name[300];     /* prefix.domain */
    bc_rrset set;       /* the TXT answer; owned (bc_rrset_clear) */
    size_t n;           /* TXT records starting with the version */
    const char *rec;    /* the first of them (inside set), NULL when n is 0 */
    char none_note[64]; /* for the missing finding: "; the TXT records there
                         * do not start with ..." when there are others */
} rec_found;

/* Looks up k's record for section sec: fills sec.records and, with one or
 * more records, sec.record; adds the findings for a bad domain, a failed
 * lookup and more than one record, and sets status "none" when there is
 * none. False when there is nothing more to check (bad domain, failed
 * lookup): sec is then settled and f holds nothing. True: f->set is owned
 * by the caller (bc_rrset_clear). */
static bool rec_lookup(bc_resolver *r, const char *domain, const rec_kind *k, json_t *sec, rec_found *f)
{
    json_t *findings = json_object_get(sec, "findings");
    f->n = 0;
    f->rec = NULL;
    f->none_note[0] = '\0';
    if (!txt_lookup(r, k->prefix, domain, f->name, &f->set, findings, k->bad_domain)) {
        bc_section_settle(sec);
        return false;
    }
    f->n = txt_records(&f->set, sec, k->version, &f->rec);
    if (f->set.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, k->dns_error,
                       "The lookup of %s TXT failed (%s), so %s could not be checked. Try again later.",
                       f->name, f->set.error[0] ? f->set.error : "temporary failure", k->label);
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
    json_object_set_new(sec, "record", jstr(f->rec));
    return true;
}

/* The MX match table of a policy; adds the unmatched finding by mode. */
static json_t *mx_matches(const bc_sts_policy *pol, const char *const *mx_hosts, size_t nmx, json_t *findings)
{
    json_t *arr = json_array();
    char unmatched[512] = "";
    size_t nun = 0, ul = 0;
    for (size_t i = 0; i < nmx; i++) {
        if (!mx_hosts[i])
            continue;
        const char *hit = NULL;
        for (size_t k = 0; pol && k < pol->nmx && !hit; k++)
            if (bc_mta_sts_mx_match(pol->mx[k], mx_hosts[i]))
                hit = pol->mx[k];
        json_array_append_new(arr, json_pack("{s:s, s:o}", "host", mx_hosts[i], "pattern",
                                             hit ? json_string(hit) : json_null()));
        if (!hit) {
            int w = snprintf(unmatched + ul, sizeof unmatched - ul, "%s%s", nun ? ", " : "", mx_hosts[i]);
            if (w > 0 && (size_t)w < sizeof unmatched - ul)
                ul += (size_t)w;
            nun++;
        }
    }
    if (pol && nun) {
        if (strcmp(pol->mode, "enforce") == 0)
            bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_mx_unmatched",
                           "MX host%s %s match%s no mx pattern of the policy (mode enforce): senders that honour "
                           "MTA-STS will refuse to deliver to %s. Add an mx line for %s to the policy (and change "
                           "its id in the _mta-sts record).",
                           nun > 1 ? "s" : "", unmatched, nun > 1 ? "" : "es", nun > 1 ? "them" : "it",
                           nun > 1 ? "each" : "it");
        else if (strcmp(pol->mode, "testing") == 0)
            bc_finding_add(findings, BC_SEV_WARN, "mta_sts_mx_unmatched",
                           "MX host%s %s match%s no mx pattern of the policy: in mode testing this only shows in "
                           "TLS reports, but switching to enforce would stop mail to %s. Add mx lines for %s.",
                           nun > 1 ? "s" : "", unmatched, nun > 1 ? "" : "es", nun > 1 ? "them" : "it",
                           nun > 1 ? "them" : "it");
    }
    return arr;
}

/* Fetches, checks and parses the policy of domain d into the section. */
static void sts_policy(json_t *sec, const char *d, const char *const *mx_hosts, size_t nmx,
                       const bc_health_https *https, const char *connect_to)
{
    json_t *findings = json_object_get(sec, "findings");
    char url[320];
    snprintf(url, sizeof url, "https://mta-sts.%s/.well-known/mta-sts.txt", d);
    json_object_set_new(sec, "policy_url", json_string(url));
    bc_sts_fetch f;
    bc_mta_sts_fetch_policy(url, https, connect_to, &f);
    if (f.http_code >= 300 && f.http_code < 400) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_redirect",
                       "%s answered HTTP %ld with a redirect%s%s; senders must not follow redirects for the "
                       "policy (RFC 8461 3.3), so they see no policy. Serve the file directly at that URL.",
                       url, f.http_code, f.location[0] ? " to " : "", f.location);
        bc_sts_fetch_clear(&f);
        return;
    }
    if (f.too_large) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_too_large",
                       "The policy at %s is larger than %d KiB, so it was not read to the end; senders give up "
                       "on such policies too. A policy needs only a few lines: version, mode, max_age and the mx "
                       "patterns.",
                       url, BC_STS_POLICY_MAX / 1024);
        bc_sts_fetch_clear(&f);
        return;
    }
    if (!f.ok) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_fetch",
                       "The _mta-sts record announces a policy, but it could not be fetched from %s: %s. Senders "
                       "then apply no policy; serve the file over HTTPS with a certificate valid for mta-sts.%s.",
                       url, f.error, d);
        bc_sts_fetch_clear(&f);
        return;
    }
    if (!is_text_plain(f.content_type))
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_content_type",
                       "The policy is served as '%s', but RFC 8461 3.3 requires Content-Type text/plain; strict "
                       "senders ignore it. Configure the web server to send text/plain for mta-sts.txt.",
                       f.content_type[0] ? f.content_type : "(no Content-Type)");
    bc_sts_policy pol;
    char err[256] = "";
    bool ok = bc_mta_sts_parse_policy(f.body, f.len, &pol, err, sizeof err);
    bc_sts_fetch_clear(&f);
    if (!ok) {
        bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_policy_syntax",
                       "The policy at %s is not valid: %s. Senders ignore an invalid policy; it needs lines "
                       "'version: STSv1', 'mode: ...', 'max_age: ...' and 'mx: ...'.",
                       url, err);
        return;
    }
    json_t *mx = json_array();
    for (size_t i = 0; i < pol.nmx; i++)
        json_array_append_new(mx, json_string(pol.mx[i]));
    json_object_set_new(sec, "policy", json_pack("{s:s, s:s, s:I, s:o}", "version", pol.version, "mode",
                                                 pol.mode, "max_age", (json_int_t)pol.max_age, "mx", mx));
    if (pol.duplicate_field)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_policy_duplicate",
                       "The policy gives version, mode or max_age more than once; only the first is used. Keep "
                       "one line of each.");
    if (pol.mx_truncated)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_policy_many_mx",
                       "The policy lists more than %d mx patterns; only the first %d were checked.", BC_STS_MX_MAX,
                       BC_STS_MX_MAX);
    if (strcmp(pol.mode, "testing") == 0)
        bc_finding_add(findings, BC_SEV_INFO, "mta_sts_mode_testing",
                       "The policy is in mode testing: senders report TLS problems (with TLS-RPT) but still "
                       "deliver without TLS. Switch to 'mode: enforce' once the reports are clean.");
    else if (strcmp(pol.mode, "none") == 0)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_mode_none",
                       "The policy is in mode none: MTA-STS is switched off and gives no protection. Use mode "
                       "testing or enforce, or remove the record once cached policies have expired.");
    if (strcmp(pol.mode, "enforce") == 0 && pol.max_age < STS_MIN_ENFORCE_AGE)
        bc_finding_add(findings, BC_SEV_WARN, "mta_sts_max_age_short",
                       "max_age is %ld seconds: senders forget the policy after that, leaving a window for a "
                       "downgrade attack. Use at least 86400 (a day); 604800 or more is usual.",
                       pol.max_age);
    json_object_set_new(sec, "mx_matches", mx_matches(&pol, mx_hosts, nmx, findings));
}

json_t *bc_health_mta_sts_with(bc_resolver *r, const char *domain, const char *const *mx_hosts, size_t nmx,
                               const bc_health_https *https, const char *connect_to)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "id", json_null());
    json_object_set_new(sec, "policy", json_null());
    json_object_set_new(sec, "mx_matches", json_array());
    static const rec_kind kind = {"_mta-sts", "v=STSv1", "MTA-STS", "mta_sts_bad_domain",
                                  "mta_sts_dns_error", "mta_sts_multiple_records",
                                  "senders assume there is no policy (RFC 8461 3.1)"};
    rec_found f;
    if (!rec_lookup(r, domain, &kind, sec, &f))
        return sec;
    const char *name = f.name, *rec = f.rec;
    char d[256];
    norm_name(domain, d);
    if (f.n == 0) {
        bc_finding_add(findings, BC_SEV_INFO, "mta_sts_missing",
                       "No MTA-STS record (TXT 'v=STSv1; id=...' at %s)%s. MTA-STS is optional; it lets senders "
                       "insist on verified TLS to your MX hosts. To adopt it, publish a policy at "
                       "https://mta-sts.%s/.well-known/mta-sts.txt and then the record.",
                       name, f.none_note, d);
    } else {
        char id[33], err[256] = "";
        if (bc_mta_sts_parse_record(rec, id, err, sizeof err))
            json_object_set_new(sec, "id", json_string(id));
        else
            bc_finding_add(findings, BC_SEV_FAIL, "mta_sts_record_syntax",
                           "The MTA-STS record at %s is not valid: %s. Senders ignore it; write it as "
                           "'v=STSv1; id=20240101T000000' (id: 1 to 32 letters and digits, changed whenever the "
                           "policy changes).",
                           name, err);
        sts_policy(sec, d, mx_hosts, nmx, https, connect_to);
    }
    bc_rrset_clear(&f.set);
    bc_section_settle(sec);
    return sec;
}

json_t *bc_health_mta_sts(bc_resolver *r, const char *domain, const char *const *mx_hosts, size_t nmx,
                          const bc_health_https *https)
{
    return bc_health_mta_sts_with(r, domain, mx_hosts, nmx, https, NULL);
}

/* ---------------------------------------------------------------------------
 * TLS-RPT
 * ------------------------------------------------------------------------- */

bool bc_tls_rpt_parse_record(const char *text, bc_tlsrpt_record *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *buf;
    kv t[KV_MAX];
    size_t n;
    bool ok = kv_record(text, "TLSRPTv1", &buf, t, &n, err, errlen);
    for (size_t i = 1; ok && i < n; i++) {
        if (strcmp(t[i].name, "rua") != 0) {
            if (!ext_value_ok(t[i].value)) {
                seterr(err, errlen, "the field '%s' has an empty or invalid value", t[i].name);
                ok = false;
            }
            continue;
        }
        char *p = t[i].value;
        while (ok && p) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            char *uri = trim(p);
            p = comma ? comma + 1 : NULL;
            if (!*uri) {
                seterr(err, errlen, "rua has an empty URI (a stray ',')");
                ok = false;
            } else if (out->nrua == sizeof out->rua / sizeof out->rua[0]) {
                out->rua_truncated = true;
            } else {
                copy_str(out->rua[out->nrua++], sizeof out->rua[0], uri);
            }
        }
    }
    free(buf);
    return ok;
}

bool bc_tls_rpt_uri_ok(const char *uri)
{
    if (!uri)
        return false;
    for (const char *c = uri; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return false;
    if (strncasecmp(uri, "mailto:", 7) == 0) {
        const char *a = uri + 7, *at = strchr(a, '@');
        if (!at || at == a)
            return false;
        const char *end = strchr(at + 1, '?');
        size_t dl = end ? (size_t)(end - at - 1) : strlen(at + 1);
        char dom[256];
        if (dl == 0 || dl >= sizeof dom || memchr(at + 1, '@', dl))
            return false;
        memcpy(dom, at + 1, dl);
        dom[dl] = '\0';
        return host_ok(dom);
    }
    if (strncasecmp(uri, "https://", 8) != 0)
        return false;
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, uri, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

json_t *bc_health_tls_rpt(bc_resolver *r, const char *domain)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "rua", json_array());
    static const rec_kind kind = {"_smtp._tls", "v=TLSRPTv1", "TLS-RPT", "tls_rpt_bad_domain",
                                  "tls_rpt_dns_error", "tls_rpt_multiple_records",
                                  "senders send no reports (RFC 8460 3)"};
    rec_found f;
    if (!rec_lookup(r, domain, &kind, sec, &f))
        return sec;
    const char *name = f.name, *rec = f.rec;
    char d[256];
    norm_name(domain, d);
    if (f.n == 0) {
        /* Without reports nobody sees an MTA-STS policy fail: when the
         * domain has one, the missing record matters more. */
        char sts_name[300];
        bc_rrset sts;
        bool has_sts = false;
        if (txt_lookup(r, "_mta-sts", domain, sts_name, &sts, NULL, "")) {
            for (size_t i = 0; sts.rc == BC_DNS_OK && i < sts.n; i++)
                has_sts = has_sts || bc_txt_has_version(sts.rr[i].text, "v=STSv1");
            bc_rrset_clear(&sts);
        }
        bc_finding_add(findings, has_sts ? BC_SEV_WARN : BC_SEV_INFO, "tls_rpt_missing",
                       "No TLS-RPT record (TXT 'v=TLSRPTv1; rua=mailto:...' at %s)%s. %s", name, f.none_note,
                       has_sts ? "The domain publishes MTA-STS, and without TLS reports you will not learn when "
                                 "senders fail to deliver under its policy: add the record."
                               : "It is optional; it asks senders to report TLS failures to you, which is "
                                 "worth having before adopting MTA-STS.");
    } else {
        bc_tlsrpt_record tr;
        char err[256] = "";
        if (!bc_tls_rpt_parse_record(rec, &tr, err, sizeof err)) {
            bc_finding_add(findings, BC_SEV_FAIL, "tls_rpt_syntax",
                           "The TLS-RPT record at %s is not valid: %s. Write it as 'v=TLSRPTv1; "
                           "rua=mailto:tls-reports@%s'.",
                           name, err, d);
        } else {
            json_t *rua = json_object_get(sec, "rua");
            for (size_t i = 0; i < tr.nrua; i++) {
                json_array_append_new(rua, jstr(tr.rua[i]));
                if (!bc_tls_rpt_uri_ok(tr.rua[i]))
                    bc_finding_add(findings, BC_SEV_FAIL, "tls_rpt_bad_uri",
                                   "The rua URI '%s' is not a mailto: address or an https: URL, the only kinds "
                                   "TLS-RPT senders use (RFC 8460 3). Fix or remove it.",
                                   tr.rua[i]);
            }
            if (tr.nrua == 0)
                bc_finding_add(findings, BC_SEV_FAIL, "tls_rpt_no_rua",
                               "The TLS-RPT record has no rua field, so senders have nowhere to send reports. Add "
                               "'rua=mailto:tls-reports@%s' (or an https: URL).",
                               d);
        }
    }
    bc_rrset_clear(&f.set);
    bc_section_settle(sec);
    return sec;
}

/* ---------------------------------------------------------------------------
 * BIMI
 * ------------------------------------------------------------------------- */

bool bc_bimi_parse_record(const char *text, bc_bimi_record *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *buf;
    kv t[KV_MAX];
    size_t n;
    bool ok = kv_record(text, "BIMI1", &buf, t, &n, err, errlen);
    if (ok) {
        const char *l = kv_get(t, n, "l"), *a = kv_get(t, n, "a");
        if (l) {
            out->has_l = true;
            copy_str(out->l, sizeof out->l, l);
        }
        if (a) {
            out->has_a = true;
            copy_str(out->a, sizeof out->a, a);
        }
    }
    free(buf);
    return ok;
}

/* True when s is an https URL with a host; path (if not NULL) gets its
 * path (caller frees with curl_free). */
static bool https_url(const char *s, char **path)
{
    if (path)
        *path = NULL;
    if (strncasecmp(s, "https://", 8) != 0)
        return false;
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    if (ok && path && curl_url_get(u, CURLUPART_PATH, path, 0) != CURLUE_OK)
        *path = NULL;
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* A DMARC tag as text: strings as they are, integers printed. */
static const char *dmarc_tag(const json_t *tags, const char *name, char *buf, size_t len)
{
    const json_t *v = json_object_get(tags, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return NULL;
}

/* BIMI's precondition: DMARC at enforcement for all mail. */
static void bimi_dmarc(const json_t *dmarc, json_t *findings)
{
    const json_t *tags = json_is_object(dmarc) ? json_object_get(dmarc, "tags") : NULL;
    char b1[32], b2[32], b3[32];
    const char *p = json_is_object(tags) ? dmarc_tag(tags, "p", b1, sizeof b1) : NULL;
    if (!p) {
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_missing",
                       "BIMI needs a DMARC policy of quarantine or reject, and the domain has no usable DMARC "
                       "record; mailbox providers will not show the logo. Publish DMARC with p=quarantine or "
                       "p=reject first.");
        return;
    }
    if (strcasecmp(p, "quarantine") != 0 && strcasecmp(p, "reject") != 0)
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_policy",
                       "DMARC is p=%s, but BIMI needs p=quarantine or p=reject; mailbox providers will not show "
                       "the logo. Move DMARC to enforcement once its reports show your mail aligns.",
                       p);
    const char *sp = dmarc_tag(tags, "sp", b2, sizeof b2);
    if (sp && strcasecmp(sp, "none") == 0)
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_sp",
                       "DMARC has sp=none: BIMI also needs subdomains at enforcement (quarantine or reject). "
                       "Remove sp or set it to quarantine or reject.");
    const char *pct = dmarc_tag(tags, "pct", b3, sizeof b3);
    char *end = NULL;
    long pct_n = pct ? strtol(pct, &end, 10) : 100;
    if (pct && (end == pct || *end != '\0' || pct_n != 100))
        bc_finding_add(findings, BC_SEV_FAIL, "bimi_dmarc_pct",
                       "DMARC has pct=%s: BIMI needs the policy applied to all mail (pct=100, the default). "
                       "Remove pct or set it to 100.",
                       pct);
}

json_t *bc_health_bimi(bc_resolver *r, const char *domain, const json_t *dmarc)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "logo", json_null());
    json_object_set_new(sec, "authority", json_null());
    static const rec_kind kind = {"default._bimi", "v=BIMI1", "BIMI", "bimi_bad_domain", "bimi_dns_error",
                                  "bimi_multiple_records", "no logo is shown"};
    rec_found f;
    if (!rec_lookup(r, domain, &kind, sec, &f))
        return sec;
    const char *name = f.name, *rec = f.rec;
    if (f.n == 0) {
        bc_finding_add(findings, BC_SEV_INFO, "bimi_missing",
                       "No BIMI record (TXT 'v=BIMI1; l=https://.../logo.svg' at %s)%s. BIMI is optional: it "
                       "lets mailbox providers show your logo, and needs DMARC at quarantine or reject.",
                       name, f.none_note);
    } else {
        bc_bimi_record b;
        char err[256] = "";
        if (!bc_bimi_parse_record(rec, &b, err, sizeof err)) {
            bc_finding_add(findings, BC_SEV_FAIL, "bimi_syntax",
                           "The BIMI record at %s is not valid: %s. Write it as 'v=BIMI1; "
                           "l=https://example.com/logo.svg; a=https://example.com/vmc.pem'.",
                           name, err);
        } else {
            if (b.has_l && b.l[0])
                json_object_set_new(sec, "logo", jstr(b.l));
            if (b.has_a && b.a[0])
                json_object_set_new(sec, "authority", jstr(b.a));
            if (!b.has_l) {
                bc_finding_add(findings, BC_SEV_FAIL, "bimi_no_logo",
                               "The BIMI record has no l= tag, so there is no logo to show. Add "
                               "'l=https://.../logo.svg' (an SVG Tiny PS file), or 'l=' to decline BIMI.");
            } else if (!b.l[0] && !b.a[0]) {
                json_object_set_new(sec, "status", json_string("info"));
                bc_finding_add(findings, BC_SEV_INFO, "bimi_declined",
                               "The BIMI record has an empty l=: the domain declines to show a logo.");
            } else {
                char *path = NULL;
                if (!b.l[0])
                    bc_finding_add(findings, BC_SEV_FAIL, "bimi_no_logo",
                                   "The BIMI record has an empty l= but an a= tag: there is no logo to show. "
                                   "Put the SVG's https URL in l=.");
                else if (!https_url(b.l, &path))
                    bc_finding_add(findings, BC_SEV_FAIL, "bimi_logo_not_https",
                                   "The logo location '%s' is not an https URL; mailbox providers fetch the logo "
                                   "only over HTTPS. Serve the SVG over https and put that URL in l=.",
                                   b.l);
                else if (!path || strlen(path) < 4 || strcasecmp(path + strlen(path) - 4, ".svg") != 0)
                    bc_finding_add(findings, BC_SEV_WARN, "bimi_logo_not_svg",
                                   "The logo URL '%s' does not end in .svg; BIMI logos must be SVG Tiny PS "
                                   "files. Check that the URL serves one.",
                                   b.l);
                curl_free(path);
                if (b.a[0] && !https_url(b.a, NULL))
                    bc_finding_add(findings, BC_SEV_FAIL, "bimi_authority_not_https",
                                   "The authority evidence location '%s' is not an https URL. Put the https URL "
                                   "of the PEM certificate (VMC or CMC) in a=.",
                                   b.a);
                else if (!b.a[0])
                    bc_finding_add(findings, BC_SEV_INFO, "bimi_no_authority",
                                   "The BIMI record has no a= certificate (VMC or CMC); several mailbox "
                                   "providers (Gmail, Apple Mail) show logos only with one.");
                bimi_dmarc(dmarc, findings);
            }
        }
    }
    bc_rrset_clear(&f.set);
    bc_section_settle(sec);
    return sec;
}

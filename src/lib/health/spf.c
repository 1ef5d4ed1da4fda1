/*
 * spf.c - Sender Policy Framework (RFC 7208), see spf.h: the record parser
 * with precise errors, macro expansion (section 7), check_host() (sections
 * 4-6) with the lookup limits of 4.6.4, the domain health walk
 * (bc_health_spf, health.h) and the public bc_spf_check().
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "health/health.h"
#include "health/spf.h"

#define SPF_MAX_LOOKUPS 10 /* DNS-querying terms (RFC 7208 4.6.4) */
#define SPF_MAX_VOID 2     /* lookups answering NXDOMAIN or no records */
#define SPF_MAX_NAMES 10   /* MX hosts / PTR names looked at */
#define SPF_MAX_DEPTH 32   /* include/redirect nesting, a safety net behind the lookup limit */
#define NAME_MAX_LEN 253
#define EXPAND_MAX 1024

const char *bc_spf_result_name(bc_spf_result r)
{
    switch (r) {
    case BC_SPF_NONE:
        return "none";
    case BC_SPF_NEUTRAL:
        return "neutral";
    case BC_SPF_PASS:
        return "pass";
    case BC_SPF_FAIL:
        return "fail";
    case BC_SPF_SOFTFAIL:
        return "softfail";
    case BC_SPF_TEMPERROR:
        return "temperror";
    case BC_SPF_PERMERROR:
        return "permerror";
    }
    return "permerror";
}

static const char *const kind_names[] = {
    [BC_SPF_ALL] = "all",         [BC_SPF_INCLUDE] = "include", [BC_SPF_A] = "a",
    [BC_SPF_MX] = "mx",           [BC_SPF_PTR] = "ptr",         [BC_SPF_IP4] = "ip4",
    [BC_SPF_IP6] = "ip6",         [BC_SPF_EXISTS] = "exists",   [BC_SPF_REDIRECT] = "redirect",
    [BC_SPF_EXP] = "exp",         [BC_SPF_UNKNOWN_MOD] = "unknown-modifier",
};

const char *bc_spf_kind_name(bc_spf_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

bool bc_spf_kind_queries(bc_spf_kind k)
{
    return k == BC_SPF_INCLUDE || k == BC_SPF_A || k == BC_SPF_MX || k == BC_SPF_PTR ||
           k == BC_SPF_EXISTS || k == BC_SPF_REDIRECT;
}

bool bc_spf_is_v1(const char *text, size_t len)
{
    return text && len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

/* ---- macro syntax and expansion --------------------------------------------------- */

static bool is_delim(char c)
{
    return c != '\0' && strchr(".-+,/_=", c) != NULL;
}

/* A toplabel (RFC 7208 7.1): letters, digits and inner hyphens, not all digits. */
static bool is_toplabel(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    bool alpha = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalpha(c))
            alpha = true;
        else if (!isdigit(c) && c != '-')
            return false;
    }
    return alpha;
}

/* Parses "%{" letter digits [r] delims "}" at s[i] (s[i] == '%', s[i+1] ==
 * '{'). Fills the parts and returns the index after '}', or 0 on a syntax
 * error with *why set. */
static size_t parse_expand(const char *s, size_t len, size_t i, bool exp, char *letter, unsigned *digits,
                           bool *reverse, char *delims, size_t delimcap, const char **why)
{
    i += 2;
    if (i >= len) {
        *why = "unterminated macro '%{'";
        return 0;
    }
    char L = s[i];
    if (!strchr("slodiphcrtvSLODIPHCRTV", L) || L == '\0') {
        *why = "unknown macro letter";
        return 0;
    }
    if (!exp && strchr("crtCRT", L)) {
        *why = "macro letters c, r and t are only allowed in explanations";
        return 0;
    }
    *letter = L;
    i++;
    unsigned d = 0;
    bool have_digits = false;
    while (i < len && isdigit((unsigned char)s[i])) {
        if (d < 1000)
            d = d * 10 + (unsigned)(s[i] - '0');
        have_digits = true;
        i++;
    }
    if (have_digits && d == 0) {
        *why = "macro transformer digits must not be zero";
        return 0;
    }
    *digits = have_digits ? d : 0;
    *reverse = false;
    if (i < len && (s[i] == 'r' || s[i] == 'R')) {
        *reverse = true;
        i++;
    }
    size_t nd = 0;
    while (i < len && is_delim(s[i])) {
        if (nd + 1 < delimcap)
            delims[nd++] = s[i];
        i++;
    }
    delims[nd] = '\0';
    if (i >= len || s[i] != '}') {
        *why = "bad macro: expected '}'";
        return 0;
    }
    return i + 1;
}

const char *bc_spf_macro_check(const char *s, size_t len, bool exp, bool domain)
{
    size_t i = 0, last_expand_end = 0;
    if (domain && len == 0)
        return "empty domain-spec";
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 1 >= len)
                return "'%' at the end (write %% for a percent sign)";
            char n = s[i + 1];
            if (n == '%' || n == '_' || n == '-') {
                i += 2;
                last_expand_end = i;
                continue;
            }
            if (n != '{')
                return "'%' must be followed by '{', '%', '_' or '-'";
            char letter, delims[16];
            unsigned digits;
            bool rev;
            const char *why = NULL;
            size_t next = parse_expand(s, len, i, exp, &letter, &digits, &rev, delims, sizeof delims, &why);
            if (!next)
                return why;
            i = next;
            last_expand_end = i;
            continue;
        }
        if (c == ' ' && exp) {
            i++;
            continue;
        }
        if (c < 0x21 || c > 0x7e)
            return c >= 0x80 ? "non-ASCII character" : "control character or space";
        i++;
    }
    if (!domain || last_expand_end == len)
        return NULL;
    /* domain-end = "." toplabel ["."] after the last macro */
    const char *tail = s + last_expand_end;
    size_t tn = len - last_expand_end;
    if (tn > 0 && tail[tn - 1] == '.')
        tn--;
    const char *dot = NULL;
    for (size_t k = tn; k > 0; k--)
        if (tail[k - 1] == '.') {
            dot = tail + k - 1;
            break;
        }
    if (!dot)
        return "domain-spec must end in a dot and a top-level label (like .com) or a macro";
    if (!is_toplabel(dot + 1, (size_t)(tail + tn - dot - 1)))
        return "domain-spec ends in an invalid top-level label";
    return NULL;
}

/* Appends n bytes to out[*pos], keeping room for the NUL. False when full. */
static bool put(char *out, size_t outlen, size_t *pos, const char *s, size_t n)
{
    if (*pos + n + 1 > outlen)
        return false;
    memcpy(out + *pos, s, n);
    *pos += n;
    out[*pos] = '\0';
    return true;
}

/* Writes ip as the i macro wants it (dotted v4, dotted nibbles v6). */
static void ip_macro_i(const struct sockaddr_storage *ip, char *buf, size_t buflen)
{
    if (ip->ss_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)ip)->sin6_addr.s6_addr;
        size_t pos = 0;
        for (int k = 0; k < 16 && pos + 4 < buflen; k++) {
            static const char hex[] = "0123456789ABCDEF"; /* as RFC 7208 7.4 */
            buf[pos++] = hex[b[k] >> 4];
            buf[pos++] = '.';
            buf[pos++] = hex[b[k] & 15];
            if (k < 15)
                buf[pos++] = '.';
        }
        buf[pos] = '\0';
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ip)->sin_addr, buf, (socklen_t)buflen);
    }
}

/* The c macro: the readable address. */
static void ip_text(const struct sockaddr_storage *ip, char *buf, size_t buflen)
{
    if (ip->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ip)->sin6_addr, buf, (socklen_t)buflen);
    else if (ip->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ip)->sin_addr, buf, (socklen_t)buflen);
    else
        snprintf(buf, buflen, "unknown");
}

/* Applies transformers (RFC 7208 7.3) to value into out. */
static bool transform(const char *value, unsigned digits, bool reverse, const char *delims, char *out,
                      size_t outlen)
{
    const char *parts[256];
    size_t lens[256], np = 0;
    const char *d = delims[0] ? delims : ".";
    const char *p = value;
    for (;;) {
        size_t l = strcspn(p, d);
        if (np == 256)
            return false;
        parts[np] = p;
        lens[np++] = l;
        if (p[l] == '\0')
            break;
        p += l + 1;
    }
    if (reverse)
        for (size_t a = 0, b = np - 1; a < b; a++, b--) {
            const char *tp = parts[a];
            parts[a] = parts[b];
            parts[b] = tp;
            size_t tl = lens[a];
            lens[a] = lens[b];
            lens[b] = tl;
        }
    size_t first = digits && digits < np ? np - digits : 0, pos = 0;
    out[0] = '\0';
    for (size_t k = first; k < np; k++) {
        if (k > first && !put(out, outlen, &pos, ".", 1))
            return false;
        if (!put(out, outlen, &pos, parts[k], lens[k]))
            return false;
    }
    return true;
}

int bc_spf_expand(const char *s, size_t len, const bc_spf_macros *m, bool exp, char *out, size_t outlen,
                  char *err, size_t errlen)
{
    size_t pos = 0;
    const char *pval = NULL;
    if (outlen == 0)
        return -1;
    out[0] = '\0';
    const char *why = bc_spf_macro_check(s, len, exp, false);
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    for (size_t i = 0; i < len;) {
        if (s[i] != '%') {
            if (!put(out, outlen, &pos, s + i, 1))
                goto toolong;
            i++;
            continue;
        }
        char n = s[i + 1];
        if (n == '%' || n == '_' || n == '-') {
            const char *rep = n == '%' ? "%" : n == '_' ? " " : "%20";
            if (!put(out, outlen, &pos, rep, strlen(rep)))
                goto toolong;
            i += 2;
            continue;
        }
        char letter, delims[16];
        unsigned digits;
        bool rev;
        i = parse_expand(s, len, i, exp, &letter, &digits, &rev, delims, sizeof delims, &why);
        char value[EXPAND_MAX], tr[EXPAND_MAX];
        switch (tolower((unsigned char)letter)) {
        case 's':
            snprintf(value, sizeof value, "%s@%s", m->local ? m->local : "postmaster",
                     m->sender_domain ? m->sender_domain : "");
            break;
        case 'l':
            snprintf(value, sizeof value, "%s", m->local ? m->local : "postmaster");
            break;
        case 'o':
            snprintf(value, sizeof value, "%s", m->sender_domain ? m->sender_domain : "");
            break;
        case 'd':
            snprintf(value, sizeof value, "%s", m->domain ? m->domain : "");
            break;
        case 'i':
            ip_macro_i(&m->ip, value, sizeof value);
            break;
        case 'p':
            if (!pval)
                pval = m->validated ? m->validated(m->arg) : NULL;
            snprintf(value, sizeof value, "%s", pval ? pval : "unknown");
            break;
        case 'v':
            snprintf(value, sizeof value, "%s", m->ip.ss_family == AF_INET6 ? "ip6" : "in-addr");
            break;
        case 'h':
            snprintf(value, sizeof value, "%s", m->helo && *m->helo ? m->helo : "unknown");
            break;
        case 'c':
            ip_text(&m->ip, value, sizeof value);
            break;
        case 'r':
            snprintf(value, sizeof value, "%s", m->receiver ? m->receiver : "unknown");
            break;
        default: /* 't' */
            snprintf(value, sizeof value, "%lld", (long long)m->now);
            break;
        }
        if (!transform(value, digits, rev, delims, tr, sizeof tr))
            goto toolong;
        if (isupper((unsigned char)letter)) { /* URL-escape (RFC 3986 unreserved kept) */
            for (const char *q = tr; *q; q++) {
                unsigned char c = (unsigned char)*q;
                char esc[4];
                if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
                    if (!put(out, outlen, &pos, q, 1))
                        goto toolong;
                } else {
                    snprintf(esc, sizeof esc, "%%%02X", c);
                    if (!put(out, outlen, &pos, esc, 3))
                        goto toolong;
                }
            }
        } else if (!put(out, outlen, &pos, tr, strlen(tr))) {
            goto toolong;
        }
    }
    return 0;
toolong:
    snprintf(err, errlen, "macro expansion longer than %zu bytes", outlen - 1);
    return -1;
}

/* ---- the parser -------------------------------------------------------------------- */

void bc_spf_record_free(bc_spf_record *rec)
{
    if (!rec)
        return;
    free(rec->terms);
    free(rec->store);
    free(rec);
}

/* Parses a CIDR length at s[0..n) (digits only, no leading zero) up to max.
 * -1 when invalid. */
static int parse_cidr(const char *s, size_t n, int max)
{
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

/* Removes a trailing "/digits" (or "//digits" when dbl) from s[0..*n).
 * Returns 1 when removed (*val set), 0 when absent, -1 when malformed. */
static int strip_cidr(const char *s, size_t *n, bool dbl, int max, int *val)
{
    size_t k = *n;
    while (k > 0 && isdigit((unsigned char)s[k - 1]))
        k--;
    if (k == *n || k == 0 || s[k - 1] != '/')
        return 0;
    if (dbl && (k < 2 || s[k - 2] != '/'))
        return 0;
    if (!dbl && k >= 2 && s[k - 2] == '/')
        return 0;
    int v = parse_cidr(s + k, *n - k, max);
    if (v < 0)
        return -1;
    *val = v;
    *n = k - (dbl ? 2 : 1);
    return 1;
}

/* Parses one term (NUL-terminated tok, a writable copy) into t. 0, or -1
 * with err. */
static int parse_term(char *tok, bc_spf_term *t, char *err, size_t errlen)
{
    const char *why = NULL;
    t->qualifier = '+';
    t->cidr4 = 32;
    t->cidr6 = 128;
    /* modifier: name "=" value, name = ALPHA *(ALPHA / DIGIT / "-" / "_" / ".") */
    if (isalpha((unsigned char)tok[0])) {
        size_t k = 1;
        while (isalnum((unsigned char)tok[k]) || tok[k] == '-' || tok[k] == '_' || tok[k] == '.')
            k++;
        if (tok[k] == '=') {
            tok[k] = '\0';
            t->name = tok;
            t->spec = tok + k + 1;
            size_t vl = strlen(t->spec);
            if (strcasecmp(tok, "redirect") == 0 || strcasecmp(tok, "exp") == 0) {
                t->kind = tolower((unsigned char)tok[0]) == 'r' ? BC_SPF_REDIRECT : BC_SPF_EXP;
                why = bc_spf_macro_check(t->spec, vl, false, true);
            } else {
                t->kind = BC_SPF_UNKNOWN_MOD;
                why = bc_spf_macro_check(t->spec, vl, true, false);
            }
            if (why) {
                snprintf(err, errlen, "bad value: %s", why);
                return -1;
            }
            return 0;
        }
    }
    char *p = tok;
    if (strchr("+-~?", *p) && *p) {
        t->qualifier = *p;
        p++;
    }
    size_t nl = strcspn(p, ":/");
    static const struct {
        const char *name;
        bc_spf_kind kind;
    } mechs[] = {
        { "all", BC_SPF_ALL }, { "include", BC_SPF_INCLUDE }, { "a", BC_SPF_A },
        { "mx", BC_SPF_MX },   { "ptr", BC_SPF_PTR },         { "ip4", BC_SPF_IP4 },
        { "ip6", BC_SPF_IP6 }, { "exists", BC_SPF_EXISTS },
    };
    size_t m = 0;
    for (; m < sizeof mechs / sizeof mechs[0]; m++)
        if (strlen(mechs[m].name) == nl && strncasecmp(mechs[m].name, p, nl) == 0)
            break;
    if (m == sizeof mechs / sizeof mechs[0]) {
        snprintf(err, errlen, "unknown mechanism (expected all, include, a, mx, ptr, ip4, ip6, exists, "
                              "or a name=value modifier)");
        return -1;
    }
    t->kind = mechs[m].kind;
    char *rest = p + nl;
    size_t rn = strlen(rest);
    switch (t->kind) {
    case BC_SPF_ALL:
        if (rn) {
            snprintf(err, errlen, "'all' takes no argument");
            return -1;
        }
        return 0;
    case BC_SPF_INCLUDE:
    case BC_SPF_EXISTS:
    case BC_SPF_PTR:
        if (rn == 0 && t->kind == BC_SPF_PTR)
            return 0;
        if (rest[0] != ':') {
            snprintf(err, errlen, "'%s' needs ':domain'", mechs[m].name);
            return -1;
        }
        t->spec = rest + 1;
        why = bc_spf_macro_check(t->spec, rn - 1, false, true);
        break;
    case BC_SPF_A:
    case BC_SPF_MX: {
        size_t n = rn;
        int r6 = strip_cidr(rest, &n, true, 128, &t->cidr6);
        int r4 = r6 < 0 ? 0 : strip_cidr(rest, &n, false, 32, &t->cidr4);
        if (r6 < 0 || r4 < 0) {
            snprintf(err, errlen, "bad CIDR length (IPv4 0-32, IPv6 0-128, no leading zeros)");
            return -1;
        }
        rest[n] = '\0';
        if (n == 0)
            return 0;
        if (rest[0] != ':') {
            snprintf(err, errlen, "bad text after '%s' (expected ':domain' or '/prefix')", mechs[m].name);
            return -1;
        }
        t->spec = rest + 1;
        why = bc_spf_macro_check(t->spec, n - 1, false, true);
        break;
    }
    case BC_SPF_IP4:
    case BC_SPF_IP6: {
        bool v6 = t->kind == BC_SPF_IP6;
        if (rest[0] != ':') {
            snprintf(err, errlen, "'%s' needs ':address'", mechs[m].name);
            return -1;
        }
        char *addr = rest + 1;
        char *slash = strchr(addr, '/');
        if (slash) {
            int v = parse_cidr(slash + 1, strlen(slash + 1), v6 ? 128 : 32);
            if (v < 0) {
                snprintf(err, errlen, "bad CIDR length (%s)", v6 ? "0-128" : "0-32");
                return -1;
            }
            if (v6)
                t->cidr6 = v;
            else
                t->cidr4 = v;
            *slash = '\0';
        }
        if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, t->ip) != 1) {
            snprintf(err, errlen, "bad %s address", v6 ? "IPv6" : "IPv4");
            return -1;
        }
        return 0;
    }
    default:
        break;
    }
    if (why) {
        snprintf(err, errlen, "bad domain: %s", why);
        return -1;
    }
    return 0;
}

int bc_spf_parse(const char *text, size_t len, bc_spf_record **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!bc_spf_is_v1(text, len)) {
        snprintf(err, errlen, "not an SPF record (must start with \"v=spf1\" and a space)");
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c != ' ' && (c < 0x21 || c > 0x7e)) {
            size_t a = i, b = i;
            while (a > 0 && text[a - 1] != ' ')
                a--;
            while (b < len && text[b] != ' ')
                b++;
            char shown[80];
            size_t sn = 0;
            for (size_t k = a; k < b && sn + 5 < sizeof shown; k++) {
                unsigned char d = (unsigned char)text[k];
                if (d >= 0x21 && d <= 0x7e)
                    shown[sn++] = (char)d;
                else
                    sn += (size_t)snprintf(shown + sn, sizeof shown - sn, "\\x%02x", d);
            }
            shown[sn] = '\0';
            snprintf(err, errlen, "term '%s': %s byte 0x%02x (records are printable ASCII, terms separated by "
                                  "spaces only)", shown, c >= 0x80 ? "non-ASCII" : "control", c);
            return -1;
        }
    }
    bc_spf_record *rec = calloc(1, sizeof *rec);
    char *store = malloc(2 * (len + 1));
    size_t max_terms = len / 2 + 1;
    bc_spf_term *terms = calloc(max_terms, sizeof *terms);
    if (!rec || !store || !terms) {
        free(rec);
        free(store);
        free(terms);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rec->store = store;
    rec->terms = terms;
    char *texts = store, *work = store + len + 1;
    memcpy(texts, text, len);
    texts[len] = '\0';
    memcpy(work, text, len);
    work[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (texts[i] == ' ')
            texts[i] = work[i] = '\0';
    size_t i = 6;
    while (i < len) {
        if (texts[i] == '\0') {
            i++;
            continue;
        }
        bc_spf_term *t = &terms[rec->n];
        t->text = texts + i;
        size_t tl = strlen(texts + i);
        char terr[200];
        if (parse_term(work + i, t, terr, sizeof terr) < 0) {
            snprintf(err, errlen, "term '%.100s': %s", t->text, terr);
            bc_spf_record_free(rec);
            return -1;
        }
        if (t->kind == BC_SPF_REDIRECT || t->kind == BC_SPF_EXP) {
            const bc_spf_term **slot = t->kind == BC_SPF_REDIRECT ? &rec->redirect : &rec->exp;
            if (*slot) {
                snprintf(err, errlen, "term '%.100s': '%s=' may appear only once", t->text,
                         bc_spf_kind_name(t->kind));
                bc_spf_record_free(rec);
                return -1;
            }
            *slot = t;
        }
        rec->n++;
        i += tl;
    }
    *out = rec;
    return 0;
}

bool bc_spf_parse_ip(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    if (!text)
        return false;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return true;
    }
    struct in6_addr a6;
    if (inet_pton(AF_INET6, text, &a6) != 1)
        return false;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        in->sin_family = AF_INET;
        memcpy(&in->sin_addr, a6.s6_addr + 12, 4);
        return true;
    }
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = a6;
    return true;
}

/* ---- check_host() ------------------------------------------------------------------ */

typedef struct spf_ctx {
    bc_resolver *r;
    struct sockaddr_storage ip;
    const char *local, *sender_domain, *helo, *receiver;
    int lookups, voids;
    json_t *trace;
    char error[256];
    const char *cur_domain; /* for %{p} */
    char pname[256];
} spf_ctx;

typedef enum { M_NO, M_YES, M_TEMP, M_PERM } mres;

/* Copies name lower-cased without a trailing dot; false when too long. */
static bool copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n > 0 && src[n - 1] == '.')
        n--;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
    return true;
}

/* RFC 7208 4.3: a usable domain (FQDN, labels 1-63 octets, ASCII, no
 * literal). A target from a domain-spec may hold any printable byte (its
 * macros may expand to spaces), so only the lengths are checked there. */
static bool name_ok(const char *d, bool strict)
{
    size_t n = strlen(d);
    if (n == 0 || n > NAME_MAX_LEN || d[0] == '[' || !strchr(d, '.'))
        return false;
    size_t lab = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (strict && (c >= 0x80 || c <= 0x20))
            return false;
        if (c == '.') {
            if (lab == 0)
                return false;
            lab = 0;
        } else if (++lab > 63) {
            return false;
        }
    }
    return lab > 0;
}

static bool domain_ok(const char *d)
{
    return name_ok(d, false);
}

static bool ip_in(const struct sockaddr_storage *ip, int family, const unsigned char *net, int prefix)
{
    if (ip->ss_family != family)
        return false;
    const unsigned char *a = family == AF_INET
                                 ? (const unsigned char *)&((const struct sockaddr_in *)(const void *)ip)->sin_addr
                                 : ((const struct sockaddr_in6 *)(const void *)ip)->sin6_addr.s6_addr;
    int full = prefix / 8, bits = prefix % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    if (bits == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - bits));
    return (a[full] & mask) == (net[full] & mask);
}

static bool rr_matches(const bc_rr *rr, const struct sockaddr_storage *ip, int cidr4, int cidr6)
{
    if (rr->type == BC_RR_A && rr->addr.ss_family == AF_INET)
        return ip_in(ip, AF_INET, (const unsigned char *)&((const struct sockaddr_in *)(const void *)&rr->addr)->sin_addr,
                     cidr4);
    if (rr->type == BC_RR_AAAA && rr->addr.ss_family == AF_INET6)
        return ip_in(ip, AF_INET6, ((const struct sockaddr_in6 *)(const void *)&rr->addr)->sin6_addr.s6_addr, cidr6);
    return false;
}

/* Keeps the first error of an evaluation (the one that decided it). */
static void ctx_error(spf_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctx_error(spf_ctx *c, const char *fmt, ...)
{
    if (c->error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

static void trace_add(spf_ctx *c, const char *domain, int depth, const char *term, const char *what, bool yes)
{
    json_t *e = json_pack("{s:s, s:i, s:s}", "domain", domain, "depth", depth, "term", term);
    if (!e)
        return;
    if (what)
        json_object_set_new(e, what, json_boolean(yes));
    json_array_append_new(c->trace, e);
}

static void trace_note(spf_ctx *c, const char *key, const char *msg)
{
    json_t *last = json_array_get(c->trace, json_array_size(c->trace) - 1);
    if (last)
        json_object_set_new(last, key, json_string(msg));
}

/* The reverse-DNS name of ip (in-addr.arpa / ip6.arpa). */
static void reverse_name(const struct sockaddr_storage *ip, char *buf, size_t buflen)
{
    char i[128];
    if (ip->ss_family == AF_INET6) {
        ip_macro_i(ip, i, sizeof i);
        char rev[80]; /* 63 bytes of nibbles and dots */
        if (!transform(i, 0, true, ".", rev, sizeof rev))
            rev[0] = '\0';
        snprintf(buf, buflen, "%s.ip6.arpa", rev);
    } else {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)ip)->sin_addr;
        snprintf(buf, buflen, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
    }
}

static int addr_type(const spf_ctx *c)
{
    return c->ip.ss_family == AF_INET6 ? BC_RR_AAAA : BC_RR_A;
}

/* Whether name's addresses include the client's. -1 on TEMPFAIL. */
static int host_has_ip(spf_ctx *c, const char *name, int cidr4, int cidr6)
{
    bc_rrset s;
    bc_resolver_query(c->r, name, addr_type(c), &s);
    int hit = s.rc == BC_DNS_TEMPFAIL ? -1 : 0;
    for (size_t i = 0; i < s.n && hit == 0; i++)
        if (rr_matches(&s.rr[i], &c->ip, cidr4, cidr6))
            hit = 1;
    bc_rrset_clear(&s);
    return hit;
}

/* The validated names of the client (RFC 7208 5.5): the first
 * SPF_MAX_NAMES PTR names whose addresses include it. Calls fn(name) for
 * each until it returns true; returns whether one did. */
static bool validated_names(spf_ctx *c, bool (*fn)(const char *name, void *arg), void *arg)
{
    char rname[128];
    reverse_name(&c->ip, rname, sizeof rname);
    bc_rrset s;
    bc_resolver_query(c->r, rname, BC_RR_PTR, &s);
    bool done = false;
    for (size_t i = 0; i < s.n && i < SPF_MAX_NAMES && !done; i++)
        if (s.rr[i].name[0] && host_has_ip(c, s.rr[i].name, 32, 128) == 1)
            done = fn(s.rr[i].name, arg);
    bc_rrset_clear(&s);
    return done;
}

/* name equals target or is a subdomain of it */
static bool name_under(const char *name, const char *target)
{
    size_t n = strlen(name), t = strlen(target);
    if (n == t)
        return strcasecmp(name, target) == 0;
    return n > t && name[n - t - 1] == '.' && strcasecmp(name + n - t, target) == 0;
}

struct p_pick {
    const char *domain;
    char exact[256], sub[256], any[256];
};

static bool p_collect(const char *name, void *arg)
{
    struct p_pick *pp = arg;
    if (strcasecmp(name, pp->domain) == 0) {
        snprintf(pp->exact, sizeof pp->exact, "%s", name);
        return true;
    }
    if (!pp->sub[0] && name_under(name, pp->domain))
        snprintf(pp->sub, sizeof pp->sub, "%s", name);
    if (!pp->any[0])
        snprintf(pp->any, sizeof pp->any, "%s", name);
    return false;
}

/* %{p}: a validated name, preferring the current domain, then a subdomain. */
static const char *p_value(void *arg)
{
    spf_ctx *c = arg;
    struct p_pick pp;
    memset(&pp, 0, sizeof pp);
    pp.domain = c->cur_domain ? c->cur_domain : "";
    validated_names(c, p_collect, &pp);
    const char *v = pp.exact[0] ? pp.exact : pp.sub[0] ? pp.sub : pp.any[0] ? pp.any : "unknown";
    snprintf(c->pname, sizeof c->pname, "%s", v);
    return c->pname;
}

static void macros_for(spf_ctx *c, const char *domain, bc_spf_macros *m)
{
    memset(m, 0, sizeof *m);
    m->local = c->local;
    m->sender_domain = c->sender_domain;
    m->domain = domain;
    m->helo = c->helo;
    m->receiver = c->receiver;
    m->ip = c->ip;
    m->now = time(NULL);
    m->validated = p_value;
    m->arg = c;
    c->cur_domain = domain;
}

/* Expands a domain-spec into target (RFC 7208 7.3: over-long names lose
 * labels on the left). False when the result is unusable (M_PERM set in
 * *why). */
static bool target_of(spf_ctx *c, const char *spec, const char *domain, char *target, size_t cap)
{
    if (!spec) {
        snprintf(target, cap, "%s", domain);
        return true;
    }
    bc_spf_macros m;
    macros_for(c, domain, &m);
    char buf[EXPAND_MAX], err[160];
    if (bc_spf_expand(spec, strlen(spec), &m, false, buf, sizeof buf, err, sizeof err) < 0) {
        ctx_error(c, "macro expansion of '%s': %s", spec, err);
        return false;
    }
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    const char *p = buf;
    while (strlen(p) > NAME_MAX_LEN) {
        const char *dot = strchr(p, '.');
        if (!dot)
            break;
        p = dot + 1;
    }
    if (!copy_name(target, cap, p))
        target[0] = '\0';
    return true;
}

/* Counts a DNS-querying term; false (permerror) past the limit. */
static bool count_lookup(spf_ctx *c, const char *term, const char *domain)
{
    if (++c->lookups > SPF_MAX_LOOKUPS) {
        ctx_error(c, "more than 10 DNS-querying terms: '%s' in %s crosses the limit", term, domain);
        return false;
    }
    return true;
}

static bool count_void(spf_ctx *c, const char *term, const char *domain)
{
    if (++c->voids > SPF_MAX_VOID) {
        ctx_error(c, "more than 2 void lookups: '%s' in %s is the third", term, domain);
        return false;
    }
    return true;
}

static bc_spf_result check_domain(spf_ctx *c, const char *domain, int depth, char **expl);

struct ptr_match {
    const char *target;
};

static bool ptr_hit(const char *name, void *arg)
{
    return name_under(name, ((struct ptr_match *)arg)->target);
}

/* Evaluates one mechanism. */
static mres eval_mech(spf_ctx *c, const bc_spf_term *t, const char *domain, int depth)
{
    char target[256];
    bc_rrset s;
    mres res = M_NO;
    if (bc_spf_kind_queries(t->kind)) {
        if (!count_lookup(c, t->text, domain))
            return M_PERM;
        if (!target_of(c, t->spec, domain, target, sizeof target))
            return M_PERM;
    }
    switch (t->kind) {
    case BC_SPF_ALL:
        return M_YES;
    case BC_SPF_IP4:
        return ip_in(&c->ip, AF_INET, t->ip, t->cidr4) ? M_YES : M_NO;
    case BC_SPF_IP6:
        return ip_in(&c->ip, AF_INET6, t->ip, t->cidr6) ? M_YES : M_NO;
    case BC_SPF_INCLUDE: {
        if (!domain_ok(target)) {
            ctx_error(c, "include of an invalid domain name '%s' (from %s)", target, domain);
            return M_PERM;
        }
        bc_spf_result r = check_domain(c, target, depth + 1, NULL);
        switch (r) {
        case BC_SPF_PASS:
            return M_YES;
        case BC_SPF_TEMPERROR:
            return M_TEMP;
        case BC_SPF_PERMERROR:
            return M_PERM;
        case BC_SPF_NONE:
            ctx_error(c, "include:%s has no SPF record (in %s)", target, domain);
            return M_PERM;
        default:
            return M_NO;
        }
    }
    case BC_SPF_A:
    case BC_SPF_EXISTS:
        if (!domain_ok(target))
            return M_NO;
        bc_resolver_query(c->r, target, t->kind == BC_SPF_EXISTS ? BC_RR_A : addr_type(c), &s);
        if (s.rc == BC_DNS_TEMPFAIL) {
            ctx_error(c, "DNS error looking up %s: %s", target, s.error);
            res = M_TEMP;
        } else if (s.n == 0) {
            res = count_void(c, t->text, domain) ? M_NO : M_PERM;
        } else if (t->kind == BC_SPF_EXISTS) {
            res = M_YES;
        } else {
            for (size_t i = 0; i < s.n && res == M_NO; i++)
                if (rr_matches(&s.rr[i], &c->ip, t->cidr4, t->cidr6))
                    res = M_YES;
        }
        bc_rrset_clear(&s);
        return res;
    case BC_SPF_MX:
        if (!domain_ok(target))
            return M_NO;
        bc_resolver_query(c->r, target, BC_RR_MX, &s);
        if (s.rc == BC_DNS_TEMPFAIL) {
            ctx_error(c, "DNS error looking up MX %s: %s", target, s.error);
            res = M_TEMP;
        } else if (s.n == 0) {
            res = count_void(c, t->text, domain) ? M_NO : M_PERM;
        } else if (s.n > SPF_MAX_NAMES) {
            ctx_error(c, "'%s' in %s: more than 10 MX records", t->text, domain);
            res = M_PERM;
        } else {
            for (size_t i = 0; i < s.n && res == M_NO; i++) {
                if (!s.rr[i].name[0])
                    continue;
                int h = host_has_ip(c, s.rr[i].name, t->cidr4, t->cidr6);
                if (h == 1)
                    res = M_YES;
            }
        }
        bc_rrset_clear(&s);
        return res;
    case BC_SPF_PTR: {
        struct ptr_match pm = { target };
        return validated_names(c, ptr_hit, &pm) ? M_YES : M_NO;
    }
    default:
        return M_NO;
    }
}

static bc_spf_result qual_result(char q)
{
    switch (q) {
    case '-':
        return BC_SPF_FAIL;
    case '~':
        return BC_SPF_SOFTFAIL;
    case '?':
        return BC_SPF_NEUTRAL;
    default:
        return BC_SPF_PASS;
    }
}

/* The explanation of a fail (RFC 7208 6.2): malloc'd, the caller frees it;
 * NULL for the default (no exp=, or its lookup or expansion failed). */
static char *explain(spf_ctx *c, const bc_spf_record *rec, const char *domain)
{
    if (!rec->exp)
        return NULL;
    char target[256];
    if (!target_of(c, rec->exp->spec, domain, target, sizeof target) || !domain_ok(target)) {
        c->error[0] = '\0';
        return NULL;
    }
    bc_rrset s;
    bc_resolver_query(c->r, target, BC_RR_TXT, &s);
    char *out = NULL;
    if (s.rc == BC_DNS_OK && s.n == 1) {
        bc_spf_macros m;
        macros_for(c, domain, &m);
        char buf[EXPAND_MAX], err[160];
        bool ascii = true;
        for (size_t i = 0; i < s.rr[0].text_len; i++)
            if ((unsigned char)s.rr[0].text[i] >= 0x80 || s.rr[0].text[i] == '\0')
                ascii = false;
        if (ascii && bc_spf_expand(s.rr[0].text, s.rr[0].text_len, &m, true, buf, sizeof buf, err, sizeof err) == 0)
            out = strdup(buf);
    }
    bc_rrset_clear(&s);
    return out;
}

/* check_host() for one domain (sections 4.4-6). expl: where a fail's
 * explanation goes (NULL: not wanted, as in include). */
static bc_spf_result check_domain(spf_ctx *c, const char *domain, int depth, char **expl)
{
    if (depth > SPF_MAX_DEPTH) {
        ctx_error(c, "include/redirect nested more than %d deep at %s", SPF_MAX_DEPTH, domain);
        return BC_SPF_PERMERROR;
    }
    bc_rrset s;
    bc_resolver_query(c->r, domain, BC_RR_TXT, &s);
    if (s.rc == BC_DNS_TEMPFAIL) {
        ctx_error(c, "DNS error looking up TXT %s: %s", domain, s.error);
        trace_add(c, domain, depth, "(TXT lookup)", NULL, false);
        trace_note(c, "error", s.error);
        bc_rrset_clear(&s);
        return BC_SPF_TEMPERROR;
    }
    const bc_rr *found = NULL;
    size_t nfound = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.rr[i].text && bc_spf_is_v1(s.rr[i].text, s.rr[i].text_len)) {
            found = &s.rr[i];
            nfound++;
        }
    if (nfound == 0) {
        bc_rrset_clear(&s);
        trace_add(c, domain, depth, "(no SPF record)", NULL, false);
        return BC_SPF_NONE;
    }
    if (nfound > 1) {
        bc_rrset_clear(&s);
        ctx_error(c, "%s has more than one v=spf1 record", domain);
        trace_add(c, domain, depth, "(several SPF records)", NULL, false);
        return BC_SPF_PERMERROR;
    }
    bc_spf_record *rec = NULL;
    char err[256];
    int prc = bc_spf_parse(found->text, found->text_len, &rec, err, sizeof err);
    bc_rrset_clear(&s);
    if (prc < 0) {
        ctx_error(c, "syntax error in the SPF record of %s: %s", domain, err);
        trace_add(c, domain, depth, "(record)", NULL, false);
        trace_note(c, "error", err);
        return BC_SPF_PERMERROR;
    }
    bc_spf_result result = BC_SPF_NEUTRAL;
    bool decided = false;
    for (size_t i = 0; i < rec->n && !decided; i++) {
        const bc_spf_term *t = &rec->terms[i];
        if (t->kind >= BC_SPF_REDIRECT)
            continue;
        mres m = eval_mech(c, t, domain, depth);
        trace_add(c, domain, depth, t->text, "match", m == M_YES);
        if (m == M_TEMP || m == M_PERM) {
            result = m == M_TEMP ? BC_SPF_TEMPERROR : BC_SPF_PERMERROR;
            trace_note(c, "error", c->error);
            decided = true;
        } else if (m == M_YES) {
            result = qual_result(t->qualifier);
            json_object_set_new(json_array_get(c->trace, json_array_size(c->trace) - 1), "decided",
                                json_true());
            decided = true;
            if (result == BC_SPF_FAIL && expl)
                *expl = explain(c, rec, domain);
        }
    }
    if (!decided && rec->redirect) {
        char target[256];
        const bc_spf_term *t = rec->redirect;
        trace_add(c, domain, depth, t->text, NULL, false);
        size_t at = json_array_size(c->trace) - 1;
        if (!count_lookup(c, t->text, domain) || !target_of(c, t->spec, domain, target, sizeof target)) {
            result = BC_SPF_PERMERROR;
        } else if (!domain_ok(target)) {
            ctx_error(c, "redirect to an invalid domain name '%s' (from %s)", target, domain);
            result = BC_SPF_PERMERROR;
        } else {
            result = check_domain(c, target, depth + 1, expl);
            if (result == BC_SPF_NONE) {
                ctx_error(c, "redirect=%s has no SPF record (from %s)", target, domain);
                result = BC_SPF_PERMERROR;
            }
        }
        json_t *e = json_array_get(c->trace, at);
        json_object_set_new(e, "result", json_string(bc_spf_result_name(result)));
        json_object_set_new(e, "decided", json_true());
    }
    bc_spf_record_free(rec);
    return result;
}

void bc_spf_outcome_clear(bc_spf_outcome *o)
{
    if (!o)
        return;
    free(o->explanation);
    json_decref(o->trace);
    memset(o, 0, sizeof *o);
}

void bc_spf_check_host(bc_resolver *r, const struct sockaddr_storage *ip, const char *sender,
                       const char *helo, const char *receiver, bc_spf_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->trace = json_array();
    spf_ctx c;
    memset(&c, 0, sizeof c);
    c.r = r;
    c.ip = *ip;
    c.helo = helo ? helo : "";
    c.receiver = receiver;
    c.trace = out->trace;
    char local[256] = "postmaster", dom[256] = "";
    const char *at = sender ? strrchr(sender, '@') : NULL;
    const char *dsrc = helo ? helo : "";
    if (sender && *sender) {
        if (at) {
            size_t ln = (size_t)(at - sender);
            if (ln > 0 && ln < sizeof local) {
                memcpy(local, sender, ln);
                local[ln] = '\0';
            }
            dsrc = at + 1;
        } else {
            dsrc = sender;
        }
    }
    snprintf(dom, sizeof dom, "%s", dsrc);
    size_t dn = strlen(dom);
    if (dn > 0 && dom[dn - 1] == '.')
        dom[--dn] = '\0';
    c.local = local;
    c.sender_domain = dom;
    char ldom[256];
    copy_name(ldom, sizeof ldom, dom);
    snprintf(out->domain, sizeof out->domain, "%s", dom);
    if (!name_ok(dom, true) || strlen(dsrc) >= sizeof dom) {
        out->result = BC_SPF_NONE;
        snprintf(out->error, sizeof out->error, "'%s' is not a usable domain name (RFC 7208 4.3)", dsrc);
        return;
    }
    out->result = check_domain(&c, ldom, 0, &out->explanation);
    if (out->result != BC_SPF_FAIL) {
        free(out->explanation);
        out->explanation = NULL;
    }
    if (out->result == BC_SPF_TEMPERROR || out->result == BC_SPF_PERMERROR)
        snprintf(out->error, sizeof out->error, "%s", c.error);
    out->lookups = c.lookups;
    out->void_lookups = c.voids;
}

/* ---- the health walk (health.h) ---------------------------------------------------- */

#define WALK_MAX_DEPTH 10
#define WALK_MAX_RECORDS 40

typedef struct walk {
    bc_resolver *r;
    json_t *findings;
    int lookups, voids, records;
    bool over_lookups, over_voids;
    const char *chain[WALK_MAX_DEPTH + 2]; /* domains from the top to the current one */
    int depth;
} walk;

/* Writes "a -> include:b -> ..." for the current chain into buf. */
static void chain_text(const walk *w, char *buf, size_t buflen)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int i = 0; i <= w->depth && pos + 1 < buflen; i++) {
        int n = snprintf(buf + pos, buflen - pos, "%s%s", i ? " -> " : "", w->chain[i]);
        if (n < 0)
            break;
        pos += (size_t)n;
    }
}

/* The single v=spf1 record of name parsed into *out (caller frees), or a
 * finding when there is none / several / a syntax error. via: the term
 * that pointed here. */
static bool walk_fetch(walk *w, const char *name, const char *via, bc_spf_record **out)
{
    *out = NULL;
    bc_rrset s;
    bc_resolver_query(w->r, name, BC_RR_TXT, &s);
    if (s.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(w->findings, BC_SEV_WARN, "spf_dns_error",
                       "The TXT lookup of %s (reached by '%s') failed temporarily (%s); the SPF check is incomplete. "
                       "Check that the domain's name servers answer.", name, via, s.error);
        bc_rrset_clear(&s);
        return false;
    }
    const bc_rr *rec = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.rr[i].text && bc_spf_is_v1(s.rr[i].text, s.rr[i].text_len)) {
            rec = &s.rr[i];
            n++;
        }
    bool ok = false;
    if (n == 0) {
        bc_finding_add(w->findings, BC_SEV_FAIL, "spf_include_no_record",
                       "'%s' points to %s, which has no SPF record: receivers return permerror. Fix the name or "
                       "remove the term.", via, name);
    } else if (n > 1) {
        bc_finding_add(w->findings, BC_SEV_FAIL, "spf_include_multiple_records",
                       "'%s' points to %s, which has %zu SPF records: receivers return permerror. That domain "
                       "must publish exactly one.", via, name, n);
    } else {
        char err[256];
        if (bc_spf_parse(rec->text, rec->text_len, out, err, sizeof err) < 0)
            bc_finding_add(w->findings, BC_SEV_FAIL, "spf_syntax_error",
                           "The SPF record of %s (reached by '%s') has a syntax error: %s. Receivers return "
                           "permerror.", name, via, err);
        else
            ok = true;
    }
    bc_rrset_clear(&s);
    return ok;
}

/* Looks up a term's target the way check_host would and counts a void
 * answer. Targets with macros depend on the sender and are skipped. */
static void walk_void(walk *w, const bc_spf_term *t, const char *domain)
{
    if (t->kind != BC_SPF_A && t->kind != BC_SPF_MX && t->kind != BC_SPF_EXISTS)
        return;
    if (t->spec && strchr(t->spec, '%'))
        return;
    char target[256];
    if (!copy_name(target, sizeof target, t->spec ? t->spec : domain))
        return;
    bool empty = true, temp = false;
    int types[2] = { t->kind == BC_SPF_MX ? BC_RR_MX : BC_RR_A, t->kind == BC_SPF_A ? BC_RR_AAAA : 0 };
    for (int k = 0; k < 2 && types[k]; k++) {
        bc_rrset s;
        bc_resolver_query(w->r, target, types[k], &s);
        if (s.rc == BC_DNS_TEMPFAIL)
            temp = true;
        if (s.n > 0)
            empty = false;
        bc_rrset_clear(&s);
    }
    if (temp && empty) {
        bc_finding_add(w->findings, BC_SEV_WARN, "spf_dns_error",
                       "The lookup for '%s' in %s failed temporarily; receivers would return temperror.", t->text,
                       domain);
        return;
    }
    if (!empty)
        return;
    w->voids++;
    if (w->voids > SPF_MAX_VOID && !w->over_voids) {
        char chain[512];
        chain_text(w, chain, sizeof chain);
        w->over_voids = true;
        bc_finding_add(w->findings, BC_SEV_FAIL, "spf_too_many_void_lookups",
                       "'%s' in %s is the third lookup that finds nothing (%s has no records; chain %s): "
                       "receivers return permerror after 2 void lookups. Remove terms that point to names "
                       "without records.", t->text, domain, target, chain);
    }
}

static void walk_record(walk *w, const bc_spf_record *rec, const char *domain)
{
    if (++w->records > WALK_MAX_RECORDS)
        return;
    for (size_t i = 0; i < rec->n; i++) {
        const bc_spf_term *t = &rec->terms[i];
        if (t->kind == BC_SPF_PTR)
            bc_finding_add(w->findings, BC_SEV_WARN, "spf_ptr_deprecated",
                           "'%s' in %s uses the ptr mechanism, which RFC 7208 says not to use (slow, unreliable, "
                           "and many receivers skip it). List the addresses with ip4:/ip6: or a instead.",
                           t->text, domain);
        if (!bc_spf_kind_queries(t->kind))
            continue;
        w->lookups++;
        if (w->lookups > SPF_MAX_LOOKUPS && !w->over_lookups) {
            char chain[512];
            chain_text(w, chain, sizeof chain);
            w->over_lookups = true;
            bc_finding_add(w->findings, BC_SEV_FAIL, "spf_too_many_lookups",
                           "'%s' in %s (chain %s) is DNS-querying term number %d: receivers return permerror "
                           "past 10 (RFC 7208 4.6.4). Replace includes with ip4:/ip6: ranges or drop unused "
                           "ones.", t->text, domain, chain, w->lookups);
        }
        walk_void(w, t, domain);
        if (t->kind != BC_SPF_INCLUDE && t->kind != BC_SPF_REDIRECT)
            continue;
        if (strchr(t->spec, '%'))
            continue; /* depends on the sender: not followed */
        char target[256];
        if (!copy_name(target, sizeof target, t->spec))
            continue;
        bool loop = false;
        for (int k = 0; k <= w->depth; k++)
            if (strcasecmp(w->chain[k], target) == 0)
                loop = true;
        if (loop) {
            char chain[512];
            chain_text(w, chain, sizeof chain);
            bc_finding_add(w->findings, BC_SEV_FAIL, "spf_include_loop",
                           "'%s' in %s leads back to %s (chain %s): the evaluation loops until the lookup "
                           "limit and receivers return permerror. Remove the term that closes the loop.",
                           t->text, domain, target, chain);
            continue;
        }
        if (w->depth >= WALK_MAX_DEPTH)
            continue;
        bc_spf_record *sub = NULL;
        if (!walk_fetch(w, target, t->text, &sub))
            continue;
        w->chain[++w->depth] = target;
        walk_record(w, sub, target);
        w->depth--;
        bc_spf_record_free(sub);
    }
}

/* Returns a new reference (the caller json_decref's it); NULL only when
 * out of memory. */
json_t *bc_health_spf(bc_resolver *r, const char *domain)
{
    json_t *sec = bc_section_new();
    if (!sec)
        return NULL;
    json_t *findings = json_object_get(sec, "findings"), *records = json_object_get(sec, "records");
    json_object_set_new(sec, "record", json_null());
    json_object_set_new(sec, "terms", json_array());
    json_object_set_new(sec, "lookups", json_integer(0));
    json_object_set_new(sec, "void_lookups", json_integer(0));
    json_object_set_new(sec, "all", json_null());
    char dom[256];
    if (!domain || !copy_name(dom, sizeof dom, domain) || !name_ok(dom, true)) {
        bc_finding_add(findings, BC_SEV_FAIL, "spf_bad_domain", "'%s' is not a domain name.",
                       domain ? domain : "(null)");
        bc_section_settle(sec);
        return sec;
    }
    bc_rrset s;
    bc_resolver_query(r, dom, BC_RR_TXT, &s);
    if (s.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, "spf_dns_error",
                       "The TXT lookup of %s failed temporarily (%s); whether it has SPF is unknown. Check that "
                       "the domain's name servers answer.", dom, s.error);
        bc_rrset_clear(&s);
        bc_section_settle(sec);
        return sec;
    }
    const bc_rr *one = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.rr[i].text && bc_spf_is_v1(s.rr[i].text, s.rr[i].text_len)) {
            json_array_append_new(records, json_stringn(s.rr[i].text, s.rr[i].text_len));
            one = &s.rr[i];
            n++;
        }
    bc_rrset t99;
    bc_resolver_query(r, dom, BC_RR_SPF, &t99);
    if (t99.rc == BC_DNS_OK && t99.n > 0)
        bc_finding_add(findings, BC_SEV_WARN, "spf_type_spf_deprecated",
                       "%s publishes DNS records of type SPF (99), which RFC 7208 removed and receivers ignore. "
                       "Delete them and keep the TXT record.", dom);
    bc_rrset_clear(&t99);
    if (n == 0) {
        bc_finding_add(findings, BC_SEV_WARN, "spf_no_record",
                       "%s has no SPF record, so receivers cannot tell which servers may send its mail. Publish a "
                       "TXT record such as \"v=spf1 mx -all\".", dom);
        bc_rrset_clear(&s);
        bc_section_settle(sec);
        json_object_set_new(sec, "status", json_string("none"));
        return sec;
    }
    if (n > 1) {
        bc_finding_add(findings, BC_SEV_FAIL, "spf_multiple_records",
                       "%s has %zu SPF records; receivers return permerror when there is more than one. Merge "
                       "them into a single \"v=spf1 ...\" TXT record.", dom, n);
        bc_rrset_clear(&s);
        bc_section_settle(sec);
        return sec;
    }
    json_object_set_new(sec, "record", json_stringn(one->text, one->text_len));
    if (one->text_len > 450)
        bc_finding_add(findings, BC_SEV_WARN, "spf_record_too_long",
                       "The SPF record is %zu bytes; above 450 the DNS answer may not fit in 512 bytes and some "
                       "receivers fail to fetch it. Shorten it (ranges, fewer includes).", one->text_len);
    if (one->longest_string > 255)
        bc_finding_add(findings, BC_SEV_FAIL, "spf_string_too_long",
                       "A string of the SPF TXT record is %zu bytes; DNS strings hold at most 255. Split the "
                       "record into several quoted strings.", one->longest_string);
    bc_spf_record *rec = NULL;
    char err[256];
    int prc = bc_spf_parse(one->text, one->text_len, &rec, err, sizeof err);
    bc_rrset_clear(&s);
    if (prc < 0) {
        bc_finding_add(findings, BC_SEV_FAIL, "spf_syntax_error",
                       "The SPF record has a syntax error: %s. Receivers return permerror for the whole record.",
                       err);
        bc_section_settle(sec);
        return sec;
    }
    json_t *terms = json_object_get(sec, "terms");
    const bc_spf_term *all = NULL;
    for (size_t i = 0; i < rec->n; i++) {
        json_array_append_new(terms, json_string(rec->terms[i].text));
        if (rec->terms[i].kind == BC_SPF_ALL && !all)
            all = &rec->terms[i];
    }
    walk w;
    memset(&w, 0, sizeof w);
    w.r = r;
    w.findings = findings;
    w.chain[0] = dom;
    walk_record(&w, rec, dom);
    json_object_set_new(sec, "lookups", json_integer(w.lookups));
    json_object_set_new(sec, "void_lookups", json_integer(w.voids));
    if (all) {
        char q[8];
        snprintf(q, sizeof q, "%call", all->qualifier);
        json_object_set_new(sec, "all", json_string(q));
        if (all->qualifier == '+')
            bc_finding_add(findings, BC_SEV_FAIL, "spf_all_pass",
                           "The record ends in '%s', which authorises every server on the Internet to send as "
                           "%s. Use -all (or ~all while testing).", all->text, dom);
        else if (all->qualifier == '?')
            bc_finding_add(findings, BC_SEV_WARN, "spf_all_neutral",
                           "The record ends in '?all' (neutral), which tells receivers nothing about other "
                           "servers. Use -all or ~all.");
        if (rec->redirect)
            bc_finding_add(findings, BC_SEV_WARN, "spf_redirect_with_all",
                           "The record has both '%s' and '%s'; redirect is ignored when all is present. Remove "
                           "one of them.", all->text, rec->redirect->text);
    } else if (!rec->redirect) {
        bc_finding_add(findings, BC_SEV_WARN, "spf_no_all",
                       "The record has no 'all' and no redirect, so mail from unlisted servers gets neutral. End "
                       "it with -all or ~all.");
    }
    bc_spf_record_free(rec);
    bc_section_settle(sec);
    return sec;
}

/* ---- public API ----------------------------------------------------------------------- */

/* *json_out is owned by the caller (free()). */
BC_API bc_status bc_spf_check(const char *dns_servers, const char *ip, const char *sender, const char *helo,
                              char **json_out, char *errbuf, size_t errlen)
{
    if (!json_out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "json_out is NULL");
    *json_out = NULL;
    struct sockaddr_storage ss;
    if (!bc_spf_parse_ip(ip, &ss))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "'%s' is not an IPv4 or IPv6 address", ip ? ip : "(null)");
    if ((!sender || !*sender) && (!helo || !*helo))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "give a sender or a HELO name");
    bc_dns_options opts;
    memset(&opts, 0, sizeof opts);
    opts.servers = dns_servers;
    char err[256];
    bc_resolver *r = bc_resolver_new_cares(&opts, err, sizeof err);
    if (!r)
        return bc_seterr(errbuf, errlen, BC_ENET, "DNS resolver setup failed: %s", err);
    bc_spf_outcome o;
    bc_spf_check_host(r, &ss, sender ? sender : "", helo, NULL, &o);
    json_t *j = json_pack("{s:s, s:s?, s:s, s:s, s:s?, s:s, s:O, s:i, s:i}", "result",
                          bc_spf_result_name(o.result), "explanation", o.explanation, "ip", ip, "sender",
                          sender ? sender : "", "helo", helo, "domain", o.domain, "trace", o.trace, "lookups",
                          o.lookups, "void_lookups", o.void_lookups);
    if (j && o.error[0])
        json_object_set_new(j, "error", json_string(o.error));
    bc_spf_outcome_clear(&o);
    bc_resolver_free(r);
    *json_out = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!*json_out)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    return BC_OK;
}

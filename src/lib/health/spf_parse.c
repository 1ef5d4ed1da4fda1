/*
 * spf_parse.c - the SPF record parser with precise errors (RFC 7208
 * sections 4.5, 5 and 6), see spf.h: terms, their names, and client
 * addresses as text.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/spf.h"
#include "health/spf_impl.h"

static const char *const kind_names[] = {
    [BC_SPF_ALL] = "all",
    [BC_SPF_INCLUDE] = "include",
    [BC_SPF_A] = "a",
    [BC_SPF_MX] = "mx",
    [BC_SPF_PTR] = "ptr",
    [BC_SPF_IP4] = "ip4",
    [BC_SPF_IP6] = "ip6",
    [BC_SPF_EXISTS] = "exists",
    [BC_SPF_REDIRECT] = "redirect",
    [BC_SPF_EXP] = "exp",
    [BC_SPF_UNKNOWN_MOD] = "unknown-modifier",
};

const char *bc_spf_kind_name(bc_spf_kind k)
{
    return (unsigned)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "?";
}

bool bc_spf_kind_queries(bc_spf_kind k)
{
    return k == BC_SPF_INCLUDE || k == BC_SPF_A || k == BC_SPF_MX || k == BC_SPF_PTR || k == BC_SPF_EXISTS ||
           k == BC_SPF_REDIRECT;
}

bool bc_spf_is_v1(const char *text, size_t len)
{
    return text && len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 && (len == 6 || text[6] == ' ');
}

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
        { "all", BC_SPF_ALL }, { "include", BC_SPF_INCLUDE }, { "a", BC_SPF_A },     { "mx", BC_SPF_MX },
        { "ptr", BC_SPF_PTR }, { "ip4", BC_SPF_IP4 },         { "ip6", BC_SPF_IP6 }, { "exists", BC_SPF_EXISTS },
    };
    size_t m = 0;
    for (; m < sizeof mechs / sizeof mechs[0]; m++)
        if (strlen(mechs[m].name) == nl && strncasecmp(mechs[m].name, p, nl) == 0)
            break;
    if (m == sizeof mechs / sizeof mechs[0]) {
        snprintf(err, errlen,
                 "unknown mechanism (expected all, include, a, mx, ptr, ip4, ip6, exists, "
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
    default: break;
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
            snprintf(err, errlen,
                     "term '%s': %s byte 0x%02x (records are printable ASCII, terms separated by "
                     "spaces only)",
                     shown, c >= 0x80 ? "non-ASCII" : "control", c);
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

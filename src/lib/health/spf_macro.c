/*
 * spf_macro.c - SPF macros (RFC 7208 section 7), see spf.h: the syntax
 * check of macro-strings and their expansion.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "health/spf.h"
#include "health/spf_impl.h"

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

/* See spf_impl.h. */
void bc_spf_ip_macro_i(const struct sockaddr_storage *ip, char *buf, size_t buflen)
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

/* See spf_impl.h. */
bool bc_spf_transform(const char *value, unsigned digits, bool reverse, const char *delims, char *out,
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

int bc_spf_expand(const char *s, size_t len, const bc_spf_macros *m, bool exp, char *out, size_t outlen, char *err,
                  size_t errlen)
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
        char value[SPF_EXPAND_MAX], tr[SPF_EXPAND_MAX];
        switch (tolower((unsigned char)letter)) {
        case 's':
            snprintf(value, sizeof value, "%s@%s", m->local ? m->local : "postmaster",
                     m->sender_domain ? m->sender_domain : "");
            break;
        case 'l': snprintf(value, sizeof value, "%s", m->local ? m->local : "postmaster"); break;
        case 'o': snprintf(value, sizeof value, "%s", m->sender_domain ? m->sender_domain : ""); break;
        case 'd': snprintf(value, sizeof value, "%s", m->domain ? m->domain : ""); break;
        case 'i': bc_spf_ip_macro_i(&m->ip, value, sizeof value); break;
        case 'p':
            if (!pval)
                pval = m->validated ? m->validated(m->arg) : NULL;
            snprintf(value, sizeof value, "%s", pval ? pval : "unknown");
            break;
        case 'v': snprintf(value, sizeof value, "%s", m->ip.ss_family == AF_INET6 ? "ip6" : "in-addr"); break;
        case 'h': snprintf(value, sizeof value, "%s", m->helo && *m->helo ? m->helo : "unknown"); break;
        case 'c': ip_text(&m->ip, value, sizeof value); break;
        case 'r': snprintf(value, sizeof value, "%s", m->receiver ? m->receiver : "unknown"); break;
        default: /* 't' */ snprintf(value, sizeof value, "%lld", (long long)m->now); break;
        }
        if (!bc_spf_transform(value, digits, rev, delims, tr, sizeof tr))
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

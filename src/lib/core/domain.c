/*
 * domain.c - the normal form of a domain name and its registrable domain
 * (see domain.h).
 */
#include <string.h>

#include <libpsl.h>

#include "bouncecheck.h"
#include "core/domain.h"

/* See domain.h. */
size_t bc_domain_norm(const char *d, char *buf)
{
    size_t n = strnlen(d, BC_DOMAIN_LEN + 2);
    if (n > 0 && d[n - 1] == '.')
        n--;
    if (n == 0 || n > BC_DOMAIN_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        buf[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    buf[n] = '\0';
    return n;
}

/* The registrable domain (public suffix + one label) by libpsl's built-in
 * list; false for a public suffix itself or an unusable name. */
bool bc_registrable_domain(const char *ascii_domain, char *out, size_t outlen)
{
    char d[BC_DOMAIN_LEN + 1];
    size_t n = ascii_domain && out && outlen ? bc_domain_norm(ascii_domain, d) : 0;
    const psl_ctx_t *psl = n ? psl_builtin() : NULL;
    const char *reg = psl ? psl_registrable_domain(psl, d) : NULL;
    size_t rlen = reg ? strlen(reg) : 0;
    if (!reg || rlen >= outlen)
        return false;
    memcpy(out, reg, rlen + 1);
    return true;
}

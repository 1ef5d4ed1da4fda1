/*
 * hint.c - "you are blocked, and here is the way out": one sentence for a
 * result that the sending side can act on, with the URL the server quoted
 * (servers that block a sending IP usually name a lookup or delisting page),
 * else the page of the blocklist the reply names, else the provider's own
 * page from the provider rules.
 */
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "data/provider.h"
#include "verify/result.h"

/* Copies the first http(s) URL of text into out (trailing punctuation and
 * brackets cut); false when there is none. */
static bool first_url(const char *text, char *out, size_t outlen)
{
    const char *u = strstr(text, "https://");
    const char *h = strstr(text, "http://");
    if (!u || (h && h < u))
        u = h;
    if (!u)
        return false;
    size_t n = 0;
    while (u[n] && u[n] != ' ' && u[n] != '\t' && u[n] != '>' && u[n] != '"' && u[n] != '\'' && u[n] != ']' &&
           u[n] != ')')
        n++;
    while (n > 0 && strchr(".,;:", u[n - 1]))
        n--;
    if (n <= 8 || n >= outlen)
        return false;
    memcpy(out, u, n);
    out[n] = '\0';
    return true;
}

void bc_result_set_hint(bc_result *r, const bc_providers *p)
{
    r->hint[0] = '\0';
    if (!r->have_smtp)
        return;
    const char *reason = r->verdict.reason;
    bool blocked = reason && strcmp(reason, "blocked") == 0;
    bool sender = reason && strcmp(reason, "sender_rejected") == 0;
    if (!blocked && !sender)
        return;
    const bc_provider *prov = bc_providers_match(p, r->smtp.host);
    const char *who = prov && prov->label ? prov->label : (r->smtp.host[0] ? r->smtp.host : "the mail server");
    char url[300] = "";
    const char *bl_name = NULL;
    if (!first_url(r->smtp.message, url, sizeof url)) {
        const char *bl = bc_providers_blocklist_url(p, r->smtp.message, &bl_name);
        const char *u = bl ? bl : (prov ? prov->block_url : NULL);
        if (u)
            bc_strf(url, sizeof url, "%s", u);
    }
    char addr[80];
    if (r->smtp.source[0])
        bc_strf(addr, sizeof addr, "your address %s", r->smtp.source);
    else
        bc_strf(addr, sizeof addr, "your address");
    if (blocked) {
        char listed[96] = "";
        if (bl_name)
            bc_strf(listed, sizeof listed, " (listed by %s)", bl_name);
        if (url[0])
            bc_strf(r->hint, sizeof r->hint,
                    "%s refuses %s%s: see %s, and verify from another address "
                    "(--source-ip, --proxy) meanwhile.",
                    who, addr, listed, url);
        else
            bc_strf(r->hint, sizeof r->hint,
                    "%s refuses %s%s: check it with 'bouncecheck doctor' and "
                    "verify from another address (--source-ip, --proxy).",
                    who, addr, listed);
        return;
    }
    bc_strf(r->hint, sizeof r->hint,
            "%s refuses the sender address used in MAIL FROM: set --from to an "
            "address of your own domain with SPF and DMARC in order%s%s.",
            who, url[0] ? "; see " : "", url[0] ? url : "");
}

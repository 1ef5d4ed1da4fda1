/*
 * dnsbl.c - reading DNS blocklist answers (see dnsbl.h). The codes are
 * the lists' own documentation: Spamhaus ZEN/DBL return codes and its
 * error codes (127.255.255.x), URIBL's and SURBL's 127.0.0.1 for a
 * blocked resolver. The lists' lookup pages are the provider rules'
 * (data/providers.json, "blocklists"), which also name them in replies.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dns/dnsbl.h"

/* Whether zone is `list` or ends in ".list" (case and one trailing dot
 * ignored). */
static bool zone_is(const char *zone, const char *list)
{
    size_t zl = strlen(zone), ll = strlen(list);
    if (zl && zone[zl - 1] == '.')
        zl--;
    if (zl < ll || strncasecmp(zone + zl - ll, list, ll) != 0)
        return false;
    return zl == ll || zone[zl - ll - 1] == '.';
}

bool bc_dnsbl_is_spamhaus(const char *zone)
{
    return zone_is(zone, "spamhaus.org") || zone_is(zone, "spamhaus.net");
}

/* What a Spamhaus code 127.0.c2.c3 says: IP lists answer 127.0.0.x,
 * the DBL 127.0.1.x; NULL for other codes. */
static const char *spamhaus_meaning(unsigned c2, unsigned c3)
{
    if (c2 == 0)
        return c3 == 2                  ? "SBL (spam source)"
               : c3 == 3                ? "SBL CSS (snowshoe spam)"
               : (c3 >= 4 && c3 <= 7)   ? "XBL (exploited or infected host)"
               : c3 == 9                ? "DROP (hijacked network)"
               : (c3 == 10 || c3 == 11) ? "PBL (end-user address range: should not send mail directly)"
                                        : "Spamhaus listing";
    if (c2 == 1)
        return c3 == 2                    ? "DBL spam domain"
               : c3 == 4                  ? "DBL phishing domain"
               : c3 == 5                  ? "DBL malware domain"
               : c3 == 6                  ? "DBL botnet C&C domain"
               : (c3 >= 102 && c3 <= 106) ? "DBL abused legitimate domain"
                                          : "DBL listing";
    return NULL;
}

bc_dnsbl_kind bc_dnsbl_read(const char *zone, bool ip_query, const struct sockaddr_storage *answer, char *text,
                            size_t size)
{
    if (answer->ss_family != AF_INET) {
        snprintf(text, size, "an answer that is not an IPv4 address");
        return BC_DNSBL_ODD;
    }
    const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)answer)->sin_addr;
    char code[16];
    snprintf(code, sizeof code, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    if (b[0] != 127) {
        snprintf(text, size, "%s: an answer outside 127.0.0.0/8 (the resolver rewrites NXDOMAIN?)", code);
        return BC_DNSBL_ODD;
    }
    if (b[1] == 255 && b[2] == 255) {
        snprintf(text, size, "%s: %s", code,
                 b[3] == 254   ? "the list refuses queries from public or open resolvers"
                 : b[3] == 255 ? "the list refuses: too many queries"
                 : b[3] == 252 ? "the list says the zone name is mistyped"
                               : "the list refuses the query");
        return BC_DNSBL_REFUSED;
    }
    if ((zone_is(zone, "uribl.com") || zone_is(zone, "surbl.org")) && b[1] == 0 && b[2] == 0 && b[3] == 1) {
        snprintf(text, size, "%s: the list refuses the query (access blocked)", code);
        return BC_DNSBL_REFUSED;
    }
    if (ip_query && !(b[1] == 0 && b[2] == 0 && b[3] >= 2)) {
        snprintf(text, size, "%s: an answer IP lists do not give", code);
        return BC_DNSBL_ODD;
    }
    const char *what = bc_dnsbl_is_spamhaus(zone) && b[1] == 0 ? spamhaus_meaning(b[2], b[3]) : NULL;
    if (what)
        snprintf(text, size, "%s %s", code, what);
    else
        snprintf(text, size, "%s", code);
    return BC_DNSBL_LISTED;
}

const char *bc_dnsbl_url(const bc_providers *p, const char *zone, const char **name)
{
    for (size_t i = 0; p && zone && i < p->nbl; i++)
        if (strcasestr(zone, p->bl[i].text)) {
            if (name)
                *name = p->bl[i].name;
            return p->bl[i].url;
        }
    return NULL;
}

size_t bc_dnsbl_split(const char *list, char zones[][256], size_t max)
{
    size_t n = 0;
    const char *p = list ? list : "";
    while (*p && n < max) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t len = strcspn(p, ", ");
        if (len && len < 256) {
            memcpy(zones[n], p, len);
            zones[n][len] = '\0';
            n++;
        }
        p += len;
    }
    return n;
}

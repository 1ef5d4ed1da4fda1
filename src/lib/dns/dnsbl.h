/*
 * dnsbl.h - DNS blocklists (RFC 5782): the zones BounceCheck asks by
 * default, and what one answer means. A list answers a listed address
 * with an A record in 127.0.0.0/8 whose last octets say why; the same
 * range also carries refusals (Spamhaus's 127.255.255.252/254/255: typo
 * in the zone, public or open resolver, too many queries; URIBL's and
 * SURBL's 127.0.0.1: access blocked), and a resolver that rewrites
 * NXDOMAIN answers with an address of its own. Reading a refusal as a
 * listing would tell a user that a clean address is blocked, so every
 * answer is sorted into listed, refused or odd here, once, for
 * `bouncecheck dns` (dnscheck.c) and `bouncecheck doctor` (doctor.c).
 */
#ifndef BC_DNSBL_H
#define BC_DNSBL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "data/provider.h"

/* The IP lists and domain lists asked by default ("zone,zone"). */
#define BC_DNSBL_IP_ZONES "zen.spamhaus.org,bl.spamcop.net,b.barracudacentral.org,psbl.surriel.com"
#define BC_DNSBL_DOMAIN_ZONES "dbl.spamhaus.org,multi.uribl.com,multi.surbl.org"

typedef enum bc_dnsbl_kind {
    BC_DNSBL_LISTED,  /* a listing: the queried address or domain is on the list */
    BC_DNSBL_REFUSED, /* the list refused to answer this resolver (a code it documents) */
    BC_DNSBL_ODD,     /* an answer no list gives: not IPv4, outside 127.0.0.0/8 (a resolver that
                        * rewrites NXDOMAIN), or a 127.x code this kind of list does not use */
} bc_dnsbl_kind;

/* Reads the first A record `answer` that `zone` gave for a query about an
 * IP address (ip_query) or a domain. Writes into text (size > 0) the code
 * and its meaning for a listing ("127.0.0.2 SBL (spam source)") or the
 * code and why it is not one ("127.255.255.254: the list refuses queries
 * from public or open resolvers"). For an IP query only 127.0.0.2 and above in
 * 127.0.0.0/24 are listings; for a domain query any other 127.x answer
 * is. Pure. */
bc_dnsbl_kind bc_dnsbl_read(const char *zone, bool ip_query, const struct sockaddr_storage *answer, char *text,
                            size_t size);

/* Whether zone is one of Spamhaus's (its refusals get their own words). Pure. */
bool bc_dnsbl_is_spamhaus(const char *zone);

/* The page where a listing on `zone` is looked up and removal requested
 * (https://check.spamhaus.org/ for zen.spamhaus.org, ...): that of the
 * first blocklist of the provider rules p (data/providers.json,
 * "blocklists") whose word occurs in the zone name, with its name in
 * *name (may be NULL); NULL for a list they do not know. Owned by p. */
const char *bc_dnsbl_url(const bc_providers *p, const char *zone, const char **name);

/* Splits "zone,zone zone" (commas or spaces) into up to max zones of at
 * most 255 characters (longer ones are skipped); returns how many. Pure. */
size_t bc_dnsbl_split(const char *list, char zones[][256], size_t max);

#endif

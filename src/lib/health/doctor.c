/*
 * doctor.c - `bouncecheck doctor`: the sending host audits itself before
 * it probes anyone (see doctor.h and bc_doctor_check in bouncecheck.h).
 *
 * A verifier that probes from an address without reverse DNS, with a HELO
 * name that is someone else's, or from an address already on a blocklist
 * gets refused, or listed, within minutes; and where the provider blocks
 * outbound port 25 every answer is "unknown". Each of those is one DNS
 * question or one connection away, so they are asked here, in order:
 *
 *   ptr            per source address: a PTR that resolves back (FCrDNS)
 *   helo_resolves  the HELO name is a FQDN whose A/AAAA are the sources
 *   helo_domain    the HELO name is not a free-mail or big provider's
 *   from_domain    the MAIL FROM domain is not one either, and exists
 *   port25         an MX of the domain greets with 220 on the SMTP port
 *   blocklist      per source address: not listed on the IP blocklists
 *
 * All DNS goes through one blocking resolver (resolver.h) on the servers
 * the verifier would use; reverse DNS and blocklist answers are read by
 * revdns.c and dnsbl.c, which `bouncecheck dns` reads them with too. The
 * greeting is read by smtptest.c's blocking client, through the SOCKS5
 * proxy when the settings name one. Whose a domain is comes from the
 * context: the free-mail list, and the provider rules (provider.h), whose
 * MX suffixes are the big providers' own host names and whose labels and
 * blocklist pages the messages quote.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "core/identity.h"
#include "core/internal.h"
#include "core/ipaddr.h"
#include "core/netsafe.h"
#include "dns/dnsbl.h"
#include "dns/resolver.h"
#include "dns/revdns.h"
#include "health/doctor.h"
#include "health/smtptest.h"
#include "smtp/smtp_reply.h"
#include "smtp/socks5.h"
#include "syntax/addr.h"

#define DR_TIMEOUT_MS 10000        /* connect and greeting, unless the settings say otherwise */
#define DR_PORT25_TRIES 3          /* MX addresses tried before port 25 is called blocked */
#define DR_ROUTE_PROBE "192.0.2.1" /* TEST-NET-1: only asked for a route, never sent to */
#define DR_MAX_ZONES 32
#define DR_MAX_ADDRS 16
#define DR_FIX_PORT25 "Your provider blocks outbound port 25: use --proxy socks5://... or another host."

typedef enum dr_status { DR_PASS, DR_WARN, DR_FAIL } dr_status;

static const char *const dr_status_names[] = { "pass", "warn", "fail" };

/* One MX host. */
typedef struct dr_host {
    char host[256];
    int pref;
} dr_host;

/* One domain's mail hosts, lowest preference first. */
typedef struct dr_mx {
    bc_dns_rc rc; /* of the MX question */
    char error[160];
    bool null_mx;  /* "0 ." (RFC 7505) */
    bool implicit; /* no MX: the domain itself (RFC 5321 5.1) */
    size_t n;
    dr_host hosts[BC_DNS_MAX_MX];
} dr_mx;

/* One run. */
typedef struct dr {
    bc_ctx *ctx;
    bc_resolver *r;
    json_t *checks;
    char helo[256];                                   /* lower case, no trailing dot */
    const char *helo_problem;                         /* bc_doctor_helo_problem(helo) */
    struct sockaddr_storage helo_addrs[DR_MAX_ADDRS]; /* its A and AAAA records */
    size_t nhelo;
    bool helo_tempfail;
    char from[BC_ADDR_MAX]; /* as the verifier would send it */
    char from_domain[256];  /* its A-label domain, "" for the null sender or a bad address */
    bool from_bad;
    char domain[256]; /* whose MX port 25 is tested on; "" when none */
    dr_mx dmx;        /* that domain's mail hosts */
    struct sockaddr_storage src[BC_MAX_SOURCE_IPS];
    char src_str[BC_MAX_SOURCE_IPS][64];
    size_t nsrc;
    bool src_local[BC_MAX_SOURCE_IPS]; /* an address of this host (else only its DNS is judged) */
    bool src_given;                    /* from the settings, not found here */
    char src_note[320];                /* how the source was found, or why it was not */
    int port, connect_ms, greeting_ms;
    bool allow_private;
    bool have_proxy; /* SMTP goes through a SOCKS5 proxy (the setting proxy) */
    bc_proxy proxy;
} dr;

/* ---- pure helpers ------------------------------------------------------------------------- */

const char *bc_doctor_helo_problem(const char *name)
{
    if (!name || !*name)
        return "is empty";
    if (name[0] == '[')
        return "is an address literal, not a name";
    struct sockaddr_storage ss;
    if (bc_addr_parse_ip(name, &ss))
        return "is an IP address, not a name";
    char d[BC_DOMAIN_MAX];
    if (!bc_domain_to_ascii(name, d, sizeof d, NULL))
        return "is not a valid host name";
    const char *last = strrchr(d, '.');
    if (!last)
        return "has a single label: it is not a fully qualified domain name";
    static const char *const local[] = { "localhost", "localdomain", "local" };
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++)
        if (strcmp(last + 1, local[i]) == 0)
            return "is a name of the local network, which nobody outside can resolve";
    return NULL;
}

/* ---- the report ------------------------------------------------------------------------------ */

/* Appends {"name", "status", "detail", "fix"[, "subject"]} to the checks:
 * fix is null on pass whatever is given; subject only when not NULL. */
static void dr_add(dr *d, const char *name, const char *subject, dr_status st, const char *fix, const char *fmt,
                   ...) __attribute__((format(printf, 6, 7)));
static void dr_add(dr *d, const char *name, const char *subject, dr_status st, const char *fix, const char *fmt,
                   ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s?}", "name", name, "status", dr_status_names[st], "detail", detail,
                          "fix", st == DR_PASS ? NULL : fix);
    if (c && subject)
        json_object_set_new(c, "subject", json_string(subject));
    if (c)
        json_array_append_new(d->checks, c);
}

/* ---- DNS ------------------------------------------------------------------------------------ */

static int dr_pref_cmp(const void *a, const void *b)
{
    const int pa = ((const dr_host *)a)->pref, pb = ((const dr_host *)b)->pref;
    return (pa > pb) - (pa < pb);
}

/* The mail hosts of `domain` into *mx: MX records by preference, or the
 * domain itself when it has none (implicit MX). */
static void dr_mail_hosts(bc_resolver *r, const char *domain, dr_mx *mx)
{
    memset(mx, 0, sizeof *mx);
    bc_rrset set = { 0 };
    bc_resolver_query(r, domain, BC_RR_MX, &set);
    mx->rc = set.rc;
    bc_strf(mx->error, sizeof mx->error, "%s", set.error);
    for (size_t i = 0; i < set.n && mx->n < BC_DNS_MAX_MX; i++) {
        if (!set.rr[i].name[0]) {
            mx->null_mx = true;
            continue;
        }
        bc_strf(mx->hosts[mx->n].host, sizeof mx->hosts[0].host, "%s", set.rr[i].name);
        mx->hosts[mx->n++].pref = set.rr[i].preference;
    }
    bc_rrset_clear(&set);
    if (mx->rc == BC_DNS_NODATA) {
        mx->implicit = true;
        bc_strf(mx->hosts[0].host, sizeof mx->hosts[0].host, "%s", domain);
        mx->n = 1;
    }
    qsort(mx->hosts, mx->n, sizeof mx->hosts[0], dr_pref_cmp);
}

/* The A, then AAAA, records of host into out (at most max); returns how
 * many. *tempfail (when not NULL) is set when a question failed
 * temporarily. */
static size_t dr_addresses(bc_resolver *r, const char *host, struct sockaddr_storage *out, size_t max,
                           bool *tempfail)
{
    size_t n = 0;
    static const int types[] = { BC_RR_A, BC_RR_AAAA };
    for (size_t t = 0; t < 2; t++) {
        bc_rrset set = { 0 };
        bc_resolver_query(r, host, types[t], &set);
        if (tempfail && set.rc == BC_DNS_TEMPFAIL)
            *tempfail = true;
        for (size_t i = 0; i < set.n && n < max; i++)
            out[n++] = set.rr[i].addr;
        bc_rrset_clear(&set);
    }
    return n;
}

/* Joins the addresses as "a, b, c" into buf. */
static void dr_addr_list(const struct sockaddr_storage *a, size_t n, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char s[64];
        bc_addr_str(&a[i], s, sizeof s);
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", s);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
}

/* ---- the source address ------------------------------------------------------------------- */

/* The local address the OS would send from towards `to`: a UDP socket is
 * connected (which only looks up the route, no packet leaves) and asked
 * for its name. false with why in err. */
static bool dr_route_source(const struct sockaddr_storage *to, struct sockaddr_storage *src, char *err,
                            size_t errlen)
{
    struct sockaddr_storage dst = *to;
    socklen_t len = dst.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (dst.ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)&dst)->sin_port = htons(25);
    else
        ((struct sockaddr_in6 *)(void *)&dst)->sin6_port = htons(25);
    int fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        bc_strf(err, errlen, "socket: %s", strerror(errno));
        return false;
    }
    socklen_t sl = sizeof *src;
    memset(src, 0, sizeof *src);
    bool ok = connect(fd, (struct sockaddr *)&dst, len) == 0 && getsockname(fd, (struct sockaddr *)src, &sl) == 0;
    if (!ok)
        bc_strf(err, errlen, "%s", strerror(errno));
    close(fd);
    return ok;
}

/* Finds the source address when the settings give none: towards the first
 * MX address of the domain, else towards a documentation address. */
static void dr_find_source(dr *d)
{
    struct sockaddr_storage to, addrs[1];
    memset(addrs, 0, sizeof addrs);
    char towards[320];
    size_t n = 0;
    for (size_t i = 0; i < d->dmx.n && n == 0; i++) {
        n = dr_addresses(d->r, d->dmx.hosts[i].host, addrs, 1, NULL);
        if (n) {
            char a[64];
            bc_addr_str(&addrs[0], a, sizeof a);
            bc_strf(towards, sizeof towards, "MX %s [%s] of %s", d->dmx.hosts[i].host, a, d->domain);
        }
    }
    char err[160];
    if (!n || !dr_route_source(&addrs[0], &d->src[0], err, sizeof err)) {
        bc_addr_parse_ip(DR_ROUTE_PROBE, &to);
        bc_strf(towards, sizeof towards, "%s, a documentation address asked for the route only", DR_ROUTE_PROBE);
        if (!dr_route_source(&to, &d->src[0], err, sizeof err)) {
            bc_strf(d->src_note, sizeof d->src_note, "no route towards %s (%s)", towards, err);
            return;
        }
    }
    d->nsrc = 1;
    bc_addr_str(&d->src[0], d->src_str[0], sizeof d->src_str[0]);
    bc_strf(d->src_note, sizeof d->src_note,
            "found as the address the OS would send from towards %s (no packet"
            " sent)",
            towards);
}

/* The public-address caveat: NULL when `i` may be judged, else the range
 * it is in (a private address is not what receivers see). */
static const char *dr_src_private(const dr *d, size_t i)
{
    return d->allow_private ? NULL : bc_netsafe_check((const struct sockaddr *)&d->src[i]);
}

/* ---- the checks ------------------------------------------------------------------------------ */

static void check_ptr(dr *d, size_t i)
{
    const char *a = d->src_str[i], *range = dr_src_private(d, i);
    char how[340] = "";
    if (!d->src_given)
        bc_strf(how, sizeof how, "; %s", d->src_note);
    if (range) {
        dr_add(d, "ptr", a, DR_WARN,
               "Give the public address your mail leaves from with --source-ip, or run BounceCheck on a host with"
               " a public address.",
               "%s is a %s address%s: receivers see the public address it is translated to, which cannot be"
               " checked from here",
               a, range, how);
        return;
    }
    bc_fcrdns fc;
    bc_fcrdns_check(d->r, &d->src[i], &fc);
    if (fc.rc == BC_DNS_TEMPFAIL) {
        dr_add(d, "ptr", a, DR_WARN,
               "Check that the DNS servers (--dns) answer reverse lookups, then run doctor"
               " again.",
               "the reverse DNS of %s could not be read (%s)%s", a, fc.error, how);
    } else if (fc.nptr == 0) {
        char fix[400];
        bc_strf(fix, sizeof fix,
                "Ask whoever runs %s (your hosting provider or ISP) to set its reverse DNS (PTR) to your HELO"
                " name, and give that name an A/AAAA record pointing back at %s.",
                a, a);
        dr_add(d, "ptr", a, DR_FAIL, fix, "%s has no PTR record: receivers refuse or distrust mail from it%s", a,
               how);
    } else if (!fc.confirmed) {
        char fix[700];
        bc_strf(fix, sizeof fix, "Point the A/AAAA record of %s at %s, or change the PTR to a name that does.",
                fc.ptr[0], a);
        if (fc.first_tempfail)
            dr_add(d, "ptr", a, DR_WARN, fix, "%s has PTR %s, whose addresses could not be read%s", a, fc.ptr[0],
                   how);
        else if (fc.first_addrs[0])
            dr_add(d, "ptr", a, DR_FAIL, fix, "%s has PTR %s, which resolves to %s, not back to %s (no FCrDNS)%s",
                   a, fc.ptr[0], fc.first_addrs, a, how);
        else
            dr_add(d, "ptr", a, DR_FAIL, fix,
                   "%s has PTR %s, which does not resolve (no %s record), so not back to"
                   " it%s",
                   a, fc.ptr[0], d->src[i].ss_family == AF_INET ? "A" : "AAAA", how);
    } else {
        dr_add(d, "ptr", a, DR_PASS, NULL, "%s has PTR %s, which resolves back to it (FCrDNS)%s", a,
               fc.confirmed_by, how);
    }
}

static void check_helo_resolves(dr *d)
{
    char fix[600];
    if (d->helo_problem) {
        dr_add(d, "helo_resolves", NULL, DR_FAIL,
               "Set --helo (helo = in the config) to a fully qualified name such as mail.example.com whose A"
               " record is this host's address, ideally the PTR name of that address.",
               "helo '%s' %s", d->helo, d->helo_problem);
        return;
    }
    const struct sockaddr_storage *got = d->helo_addrs;
    size_t n = d->nhelo;
    if (n == 0) {
        bc_strf(fix, sizeof fix,
                "Publish an A (or AAAA) record for %s pointing at %s, or set --helo to a name"
                " that has one (the PTR name of your address is the best choice).",
                d->helo, d->nsrc ? d->src_str[0] : "your sending address");
        if (d->helo_tempfail)
            dr_add(d, "helo_resolves", NULL, DR_WARN, fix,
                   "the addresses of helo %s could not be read (DNS error)", d->helo);
        else
            dr_add(d, "helo_resolves", NULL, DR_FAIL, fix, "helo %s does not resolve (no A or AAAA record)",
                   d->helo);
        return;
    }
    char list[400];
    dr_addr_list(got, n, list, sizeof list);
    if (d->nsrc == 0) {
        dr_add(d, "helo_resolves", NULL, DR_WARN,
               d->have_proxy ? "Give the proxy's outgoing address with --source-ip."
                             : "Give the address you send from with --source-ip.",
               "helo %s resolves to %s; the sending address is unknown (%s)", d->helo, list, d->src_note);
        return;
    }
    char missing[400] = "";
    size_t used = 0, judged = 0;
    for (size_t i = 0; i < d->nsrc; i++) {
        if (dr_src_private(d, i))
            continue; /* behind NAT: the public address is not known here */
        judged++;
        bool found = false;
        for (size_t k = 0; k < n && !found; k++)
            found = bc_addr_same(&got[k], &d->src[i]);
        if (!found) {
            int w = snprintf(missing + used, sizeof missing - used, "%s%s", used ? ", " : "", d->src_str[i]);
            if (w > 0 && (size_t)w < sizeof missing - used)
                used += (size_t)w;
        }
    }
    if (judged == 0) {
        dr_add(d, "helo_resolves", NULL, DR_WARN,
               "Give the public address your mail leaves from with --source-ip.",
               "helo %s resolves to %s; the sending address %s is private, so whether that is this host's public"
               " address cannot be told from here",
               d->helo, list, d->src_str[0]);
        return;
    }
    if (used == 0) {
        dr_add(d, "helo_resolves", NULL, DR_PASS, NULL, "helo %s resolves to %s", d->helo, list);
        return;
    }
    bc_strf(fix, sizeof fix,
            "Point the A/AAAA record of %s at %s, or set --helo to the name that resolves to it"
            " (the PTR name of the address).",
            d->helo, missing);
    dr_add(d, "helo_resolves", NULL, DR_FAIL, fix, "helo %s resolves to %s, not to %s", d->helo, list, missing);
}

/* Whether `host` is one of the MX hosts of `domain`. */
static bool dr_is_mx_of(dr *d, const char *host, const char *domain)
{
    dr_mx mx;
    dr_mail_hosts(d->r, domain, &mx);
    for (size_t i = 0; i < mx.n; i++)
        if (!mx.implicit && strcmp(mx.hosts[i].host, host) == 0)
            return true;
    return false;
}

typedef enum dr_owner { DR_OURS, DR_FREEMAIL, DR_PROVIDER } dr_owner;

/* The provider rules in use: the context's (built-in plus the user's
 * file), or the built-in ones without a context. */
static const bc_providers *dr_providers(const dr *d)
{
    return d->ctx ? d->ctx->providers : bc_providers_builtin();
}

/* The name people know the provider of `domain` by, for messages: the
 * label of the provider rule matching the domain or its registrable
 * domain ("Outlook.com / Hotmail" for hotmail.com), else of the one
 * matching that domain's MX host ("Gmail": gmail.com's MX is
 * gmail-smtp-in.l.google.com), else the domain itself. */
static const char *dr_provider_label(dr *d, const char *domain, const char *reg)
{
    const bc_provider *p = bc_providers_match(dr_providers(d), domain);
    if (!p && reg)
        p = bc_providers_match(dr_providers(d), reg);
    if (!p && reg) {
        dr_mx mx;
        dr_mail_hosts(d->r, reg, &mx);
        for (size_t i = 0; i < mx.n && !p && !mx.implicit; i++)
            p = bc_providers_match(dr_providers(d), mx.hosts[i].host);
    }
    return p ? p->label : domain;
}

/* Whose `domain` is: a free-mail domain (the free list, for the domain or
 * its registrable domain), a big provider's (a provider rule's MX suffix
 * covers it: its own host names), or nobody's we know; the name to call
 * the owner by in *name. Which provider hosts the domain's mail says
 * nothing here: a company's own domain may well be at Google. */
static dr_owner dr_owner_of(dr *d, const char *domain, const char **name)
{
    char reg[256];
    bool has_reg = bc_registrable_domain(domain, reg, sizeof reg);
    dr_owner o = DR_OURS;
    if (bc_is_free_provider(d->ctx, domain) || (has_reg && bc_is_free_provider(d->ctx, reg)))
        o = DR_FREEMAIL;
    else if (bc_providers_match(dr_providers(d), domain))
        o = DR_PROVIDER;
    *name = o == DR_OURS ? domain : dr_provider_label(d, domain, has_reg ? reg : NULL);
    return o;
}

/* Whether the HELO name resolves to one of the source addresses; its
 * index in *which. */
static bool dr_helo_is_ours(const dr *d, size_t *which)
{
    for (size_t i = 0; i < d->nsrc; i++)
        for (size_t k = 0; k < d->nhelo; k++)
            if (bc_addr_same(&d->helo_addrs[k], &d->src[i])) {
                *which = i;
                return true;
            }
    return false;
}

static void check_helo_domain(dr *d)
{
    const char *name = NULL;
    if (d->helo_problem) {
        dr_add(d, "helo_domain", NULL, DR_WARN, "Set --helo to a fully qualified name in a domain you control.",
               "helo '%s' has no domain to judge (see helo_resolves)", d->helo);
        return;
    }
    dr_owner owner = dr_owner_of(d, d->helo, &name);
    if (owner == DR_OURS) {
        dr_add(d, "helo_domain", NULL, DR_PASS, NULL, "helo %s is not a free-mail or big provider's name",
               d->helo);
        return;
    }
    if (d->from_domain[0] && dr_is_mx_of(d, d->helo, d->from_domain)) {
        dr_add(d, "helo_domain", NULL, DR_PASS, NULL, "helo %s is an MX host of the MAIL FROM domain %s", d->helo,
               d->from_domain);
        return;
    }
    static const char fix[] = "Use a name in a domain you control as --helo, ideally the PTR name of your sending"
                              " address.";
    /* A hosting provider's own name for this very host (vps-1.ovh.net) is
     * honest, if anonymous: only a name that is not ours is a lie. */
    size_t which = 0;
    if (owner == DR_PROVIDER && dr_helo_is_ours(d, &which)) {
        dr_add(d, "helo_domain", NULL, DR_WARN, fix,
               "helo %s is %s's name for this host (it resolves to %s): mail from it builds %s's reputation, not"
               " yours",
               d->helo, name, d->src_str[which], name);
        return;
    }
    dr_add(d, "helo_domain", NULL, DR_FAIL, fix,
           "helo %s claims to be a host of %s: receivers reject a HELO in a provider's domain that does not come"
           " from its servers",
           d->helo, name);
}

static void check_from_domain(dr *d)
{
    static const char fix[] = "Use an address at a domain you control as --from (verify@your-domain) and publish"
                              " an SPF record for it that allows this host.";
    if (d->from_bad) {
        dr_add(d, "from_domain", NULL, DR_FAIL, fix, "MAIL FROM '%s' is not a valid address", d->from);
        return;
    }
    if (!d->from_domain[0]) {
        dr_add(d, "from_domain", NULL, DR_PASS, NULL,
               "MAIL FROM is the null sender <>: receivers judge the HELO"
               " name instead");
        return;
    }
    const char *name = NULL;
    if (dr_owner_of(d, d->from_domain, &name) != DR_OURS) {
        dr_add(d, "from_domain", NULL, DR_FAIL, fix,
               "MAIL FROM %s: %s rejects mail that claims to come from it without its servers (DMARC)", d->from,
               name);
        return;
    }
    /* a sender domain that does not exist is refused ("Sender address
     * rejected: Domain not found") */
    dr_mx mx;
    dr_mail_hosts(d->r, d->from_domain, &mx);
    struct sockaddr_storage a[1];
    bool tempfail = false, nx = mx.rc == BC_DNS_NXDOMAIN;
    if (mx.rc == BC_DNS_TEMPFAIL) {
        dr_add(d, "from_domain", NULL, DR_WARN,
               "Check that the DNS servers (--dns) answer, then run doctor again.",
               "the MX of the MAIL FROM domain %s could not be read (%s)", d->from_domain, mx.error);
    } else if (nx || (mx.null_mx && mx.n == 0) ||
               (mx.implicit && dr_addresses(d->r, d->from_domain, a, 1, &tempfail) == 0 && !tempfail)) {
        dr_add(d, "from_domain", NULL, DR_FAIL,
               "Use --from at a domain that exists and receives mail: receivers reject senders whose domain"
               " cannot take a bounce.",
               "the MAIL FROM domain %s %s", d->from_domain,
               nx           ? "does not exist (NXDOMAIN)"
               : mx.null_mx ? "publishes a null MX: it receives no mail, not even bounces"
                            : "has no MX and no address: it cannot receive bounces");
    } else {
        dr_add(d, "from_domain", NULL, DR_PASS, NULL,
               "MAIL FROM %s: %s is not a free-mail or big provider's"
               " domain, and it receives mail",
               d->from, d->from_domain);
    }
}

/* The source address to bind for a connection to `to`: the first given
 * source of the same family that is an address of this host. NULL when
 * none was given (the OS picks), or when those of this family are not
 * this host's (the public address of a NAT, given to have its DNS
 * judged: the OS picks, and *foreign names it); *skip when sources were
 * given but none of this family. */
static const struct sockaddr *dr_bind_for(const dr *d, const struct sockaddr_storage *to, size_t *which,
                                          bool *skip, const char **foreign)
{
    *skip = false;
    *foreign = NULL;
    if (!d->src_given)
        return NULL;
    for (size_t i = 0; i < d->nsrc; i++) {
        if (d->src[i].ss_family != to->ss_family)
            continue;
        if (d->src_local[i]) {
            *which = i;
            return (const struct sockaddr *)&d->src[i];
        }
        if (!*foreign)
            *foreign = d->src_str[i];
    }
    *skip = !*foreign;
    return NULL;
}

/* Whether ss is an address of this host: a socket can be bound to it. */
static bool dr_is_local(const struct sockaddr_storage *ss)
{
    socklen_t len = ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && bind(fd, (const struct sockaddr *)ss, len) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void check_port25(dr *d)
{
    static const char fix_domain[] = "Give --domain with a domain that receives mail (e.g. gmail.com) to test the"
                                     " way out.";
    if (!d->domain[0]) {
        dr_add(d, "port25", NULL, DR_WARN, fix_domain,
               "no domain to test port %d on: the HELO name has no"
               " registrable domain and --domain was not given",
               d->port);
        return;
    }
    if (d->dmx.rc == BC_DNS_TEMPFAIL) {
        dr_add(d, "port25", NULL, DR_WARN, "Check that the DNS servers (--dns) answer, then run doctor again.",
               "the MX of %s could not be read (%s)", d->domain, d->dmx.error);
        return;
    }
    if (d->dmx.rc == BC_DNS_NXDOMAIN || d->dmx.n == 0) {
        dr_add(d, "port25", NULL, DR_WARN, fix_domain, "%s %s: nothing to connect to", d->domain,
               d->dmx.rc == BC_DNS_NXDOMAIN ? "does not exist"
               : d->dmx.null_mx             ? "has a null MX"
                                            : "has no MX");
        return;
    }
    char last_err[300] = "", skipped[400] = "";
    int tries = 0;
    size_t found = 0; /* MX addresses seen */
    for (size_t h = 0; h < d->dmx.n && tries < DR_PORT25_TRIES; h++) {
        const char *host = d->dmx.hosts[h].host;
        struct sockaddr_storage addrs[BC_DNS_MAX_ADDRS];
        size_t n = dr_addresses(d->r, host, addrs, BC_DNS_MAX_ADDRS, NULL);
        found += n;
        for (size_t k = 0; k < n && tries < DR_PORT25_TRIES; k++) {
            char a[64];
            bc_addr_str(&addrs[k], a, sizeof a);
            const char *range = bc_netsafe_check((const struct sockaddr *)&addrs[k]);
            if (range && !d->allow_private) {
                bc_strf(skipped, sizeof skipped, "MX %s [%s] is a %s address", host, a, range);
                continue;
            }
            size_t which = 0;
            bool skip = false;
            const char *foreign = NULL;
            const struct sockaddr *from = d->have_proxy ? NULL
                                                        : dr_bind_for(d, &addrs[k], &which, &skip, &foreign);
            if (skip)
                continue;
            tries++;
            char from_txt[160] = "";
            if (d->have_proxy)
                bc_strf(from_txt, sizeof from_txt, " through the SOCKS5 proxy %s", d->proxy.label);
            else if (from)
                bc_strf(from_txt, sizeof from_txt, " from %s", d->src_str[which]);
            else if (foreign)
                bc_strf(from_txt, sizeof from_txt,
                        " from the address the OS chose (%s is not an address of this"
                        " host)",
                        foreign);
            bc_smtp_reply reply;
            long ms = 0;
            char err[256];
            bc_smtptest_dial how = { .src = from,
                                     .proxy = d->have_proxy ? &d->proxy : NULL,
                                     .connect_ms = d->connect_ms,
                                     .greeting_ms = d->greeting_ms };
            int grc = bc_smtptest_greeting((const struct sockaddr *)&addrs[k], d->port, &how, &reply, &ms, err,
                                           sizeof err);
            if (grc == -2) {
                dr_add(d, "port25", NULL, DR_FAIL,
                       "Check --proxy: the SOCKS5 proxy must accept this host (and its user and password), then "
                       "run"
                       " doctor again.",
                       "%s (on the way to %s [%s]:%d)", err, host, a, d->port);
                return;
            }
            if (grc != 0) {
                bc_strf(last_err, sizeof last_err, "%s [%s]:%d%s: %s", host, a, d->port, from_txt, err);
                continue;
            }
            bool self = false;
            for (size_t i = 0; i < d->nsrc && !d->have_proxy; i++)
                self = self || bc_addr_same(&addrs[k], &d->src[i]);
            if (reply.code == 220 && self)
                dr_add(d, "port25", NULL, DR_WARN, fix_domain,
                       "%s [%s]:%d greets with 220, but it is this host: the connection never left it", host, a,
                       d->port);
            else if (reply.code == 220)
                dr_add(d, "port25", NULL, DR_PASS, NULL, "%s [%s]:%d%s greets with 220 after %ld ms", host, a,
                       d->port, from_txt, ms);
            else
                dr_add(d, "port25", NULL, DR_WARN,
                       "Read the server's text: a block of your address names the page to ask for removal.",
                       "%s [%s]:%d%s answers %d %.200s at the greeting: port %d goes out, but that server refuses"
                       " this host",
                       host, a, d->port, from_txt, reply.code, reply.text, d->port);
            return;
        }
    }
    if (tries == 0 && skipped[0]) {
        dr_add(d, "port25", NULL, DR_WARN,
               "Pass --allow-private to contact it (labs), or give --domain with a"
               " public mail domain.",
               "%s: not contacted without --allow-private", skipped);
        return;
    }
    if (tries == 0) {
        dr_add(d, "port25", NULL, DR_WARN, fix_domain, "%s %s", d->domain,
               found ? "has no MX address of the family of the given source addresses to connect to"
                     : "has MX hosts without an address (A or AAAA): nothing to connect to");
        return;
    }
    dr_add(d, "port25", NULL, DR_FAIL,
           d->have_proxy ? "The proxy's network blocks outbound port 25 too: use another proxy or host."
                         : DR_FIX_PORT25,
           "no greeting on port %d of the MX of %s (%d tried; %s)", d->port, d->domain, tries, last_err);
}

/* One listing, refusal or odd answer of one zone for the blocklist check. */
typedef struct dr_bl {
    char listed[600], refused[600], fix[700];
    size_t nlisted, nrefused, nerror;
} dr_bl;

static void dr_append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void dr_append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static void check_blocklist(dr *d, size_t i, char zones[][256], size_t nz)
{
    const char *a = d->src_str[i], *range = dr_src_private(d, i);
    if (range) {
        dr_add(d, "blocklist", a, DR_WARN, "Give the public address your mail leaves from with --source-ip.",
               "%s is a %s address: lists know only public addresses", a, range);
        return;
    }
    dr_bl bl;
    memset(&bl, 0, sizeof bl);
    bool spamhaus_refused = false;
    char zlist[800] = "";
    for (size_t z = 0; z < nz; z++) {
        dr_append(zlist, sizeof zlist, "%s%s", z ? ", " : "", zones[z]);
        char q[600];
        if (!bc_reverse_name(&d->src[i], zones[z], q, sizeof q))
            continue;
        bc_rrset set = { 0 };
        bc_resolver_query(d->r, q, BC_RR_A, &set);
        if (set.rc == BC_DNS_TEMPFAIL) {
            bl.nerror++;
            dr_append(bl.refused, sizeof bl.refused, "%s%s could not be asked (%s)", bl.refused[0] ? "; " : "",
                      zones[z], set.error);
        } else if (set.rc == BC_DNS_OK && set.n > 0) {
            char text[160];
            bc_dnsbl_kind k = bc_dnsbl_read(zones[z], true, &set.rr[0].addr, text, sizeof text);
            if (k == BC_DNSBL_LISTED) {
                const char *lname = NULL, *url = bc_dnsbl_url(dr_providers(d), zones[z], &lname);
                bl.nlisted++;
                dr_append(bl.listed, sizeof bl.listed, "%s%s (%s)", bl.listed[0] ? ", " : "", zones[z], text);
                if (url)
                    dr_append(bl.fix, sizeof bl.fix, "%s%s (%s)", bl.fix[0] ? ", " : "", url, lname);
                else
                    dr_append(bl.fix, sizeof bl.fix, "%sthe site of %s's operator", bl.fix[0] ? ", " : "",
                              zones[z]);
            } else {
                bool sh = k == BC_DNSBL_REFUSED && bc_dnsbl_is_spamhaus(zones[z]);
                spamhaus_refused = spamhaus_refused || sh;
                if (k == BC_DNSBL_REFUSED)
                    bl.nrefused++;
                else
                    bl.nerror++;
                if (sh)
                    dr_append(bl.refused, sizeof bl.refused,
                              "%sSpamhaus refuses queries from your resolver (%s"
                              " answers %s)",
                              bl.refused[0] ? "; " : "", zones[z], text);
                else
                    dr_append(bl.refused, sizeof bl.refused, "%s%s answers %s", bl.refused[0] ? "; " : "",
                              zones[z], text);
            }
        }
        bc_rrset_clear(&set);
    }
    if (bl.nlisted) {
        char fix[900];
        bc_strf(fix, sizeof fix,
                "Find and stop the cause (an infected machine, an open relay, a hijacked account),"
                " then look the address up and ask for removal at %s.",
                bl.fix);
        dr_add(d, "blocklist", a, DR_FAIL, fix, "%s is listed on %s%s%s", a, bl.listed,
               bl.refused[0] ? "; not checked: " : "", bl.refused);
    } else if (bl.nrefused || bl.nerror) {
        dr_add(d, "blocklist", a, DR_WARN,
               spamhaus_refused
                   ? "Query through a resolver of your own (a local unbound, --dns 127.0.0.1) or with a Spamhaus"
                     " DQS key: Spamhaus answers no public or high-volume resolver."
                   : "Query through a resolver that answers the lists honestly (--dns), then run doctor again.",
               "%s could not be checked: %s", a, bl.refused);
    } else {
        dr_add(d, "blocklist", a, DR_PASS, NULL, "%s is not listed on %s", a, zlist);
    }
}

/* ---- the run ---------------------------------------------------------------------------------- */

/* Sets up d from the options: HELO, MAIL FROM, sources, domain. */
static bc_error dr_setup(dr *d, const bc_verify_options *vo, const char *domain, char *errbuf, size_t errlen)
{
    if (vo->helo && *vo->helo)
        bc_strf(d->helo, sizeof d->helo, "%s", vo->helo);
    else
        bc_default_helo(d->helo, sizeof d->helo);
    for (char *p = d->helo; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    size_t hl = strlen(d->helo);
    if (hl > 1 && d->helo[hl - 1] == '.')
        d->helo[hl - 1] = '\0';
    d->helo_problem = bc_doctor_helo_problem(d->helo);
    char ascii[sizeof d->helo];
    if (!d->helo_problem && bc_domain_to_ascii(d->helo, ascii, sizeof ascii, NULL))
        memcpy(d->helo, ascii, sizeof ascii); /* an IDN name is asked in A-labels */

    if (vo->mail_from)
        bc_strf(d->from, sizeof d->from, "%s", vo->mail_from);
    else
        bc_strf(d->from, sizeof d->from, "verify@%s", d->helo);
    if (d->from[0]) {
        bc_addr a;
        bc_addr_parse(d->from, strlen(d->from), &a);
        if (!a.valid || !a.ascii_domain[0] || (a.flags & BC_ADDR_DOMAIN_LITERAL))
            d->from_bad = true;
        else
            bc_strf(d->from_domain, sizeof d->from_domain, "%s", a.ascii_domain);
    }

    for (int i = 0; i < vo->n_source_ips && i < BC_MAX_SOURCE_IPS; i++) {
        if (!bc_addr_parse_ip(vo->source_ips[i], &d->src[d->nsrc]))
            return bc_seterr(errbuf, errlen, BC_EINVAL, "source address '%s' is not an IP address",
                             vo->source_ips[i]);
        bool dup = false;
        for (size_t k = 0; k < d->nsrc; k++)
            dup = dup || bc_addr_same(&d->src[k], &d->src[d->nsrc]);
        if (dup)
            continue;
        bc_addr_str(&d->src[d->nsrc], d->src_str[d->nsrc], sizeof d->src_str[0]);
        d->src_local[d->nsrc] = dr_is_local(&d->src[d->nsrc]);
        d->nsrc++;
    }
    d->src_given = d->nsrc > 0;

    if (domain && *domain) {
        if (!bc_domain_to_ascii(domain, d->domain, sizeof d->domain, NULL))
            return bc_seterr(errbuf, errlen, BC_EINVAL, "'%s' is not a valid domain name", domain);
    } else if (!d->helo_problem && !bc_registrable_domain(d->helo, d->domain, sizeof d->domain)) {
        d->domain[0] = '\0';
    }
    if (vo->proxy && *vo->proxy) {
        char why[200] = "";
        if (bc_proxy_parse(vo->proxy, &d->proxy, why, sizeof why) != BC_OK)
            return bc_seterr(errbuf, errlen, BC_EINVAL, "%s", why);
        d->have_proxy = true;
    }
    d->port = vo->smtp_port > 0 ? vo->smtp_port : 25;
    d->connect_ms = vo->connect_timeout_ms > 0 ? vo->connect_timeout_ms : DR_TIMEOUT_MS;
    d->greeting_ms = vo->greeting_timeout_ms > 0 ? vo->greeting_timeout_ms : DR_TIMEOUT_MS;
    d->allow_private = vo->allow_private;
    return BC_OK;
}

/* Frees a run: its resolver, its checks, and the proxy's password. */
static void dr_free(dr *d)
{
    bc_resolver_free(d->r);
    json_decref(d->checks);
    explicit_bzero(&d->proxy, sizeof d->proxy);
    free(d);
}

bc_error bc_doctor_check(bc_ctx *ctx, const bc_doctor_options *o, char **json_out, char *errbuf, size_t errlen)
{
    if (!json_out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "no output pointer");
    *json_out = NULL;
    static const bc_doctor_options no_options = { 0 };
    static const bc_verify_options no_verify = { 0 };
    if (!o)
        o = &no_options;
    const bc_verify_options *vo = o->verify ? o->verify : &no_verify;
    dr *d = calloc(1, sizeof *d);
    if (!d)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    d->ctx = ctx;
    bc_error st = dr_setup(d, vo, o->domain, errbuf, errlen);
    if (st != BC_OK) {
        dr_free(d);
        return st;
    }
    char zones[DR_MAX_ZONES][256];
    size_t nz = bc_dnsbl_split(o->ip_blocklists ? o->ip_blocklists : BC_DNSBL_IP_ZONES, zones, DR_MAX_ZONES);

    /* Everything below believes what the DNS says does not exist: a
     * resolver that lies about that would fail every check for nothing. */
    char msg[256] = "";
    int rc = bc_resolver_check(vo->dns_servers, 0, msg, sizeof msg);
    if (rc != 1) {
        dr_free(d);
        return bc_seterr(errbuf, errlen, rc < 0 ? BC_EINVAL : BC_ENET, "the DNS cannot be used: %s", msg);
    }
    bc_dns_options dopts = { .servers = vo->dns_servers, .timeout_ms = 3000, .tries = 2 };
    char err[256] = "";
    d->r = bc_resolver_new_cares(&dopts, err, sizeof err);
    d->checks = json_array();
    if (!d->r || !d->checks) {
        st = d->r ? bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory")
                  : bc_seterr(errbuf, errlen, BC_EINVAL, "DNS resolver setup failed: %s", err);
        dr_free(d);
        return st;
    }

    if (d->domain[0])
        dr_mail_hosts(d->r, d->domain, &d->dmx);
    if (d->have_proxy && !d->src_given)
        bc_strf(d->src_note, sizeof d->src_note,
                "SMTP goes through the SOCKS5 proxy %s, so receivers see the"
                " proxy's outgoing address, not this host's",
                d->proxy.label);
    else if (!d->src_given)
        dr_find_source(d);
    if (!d->helo_problem)
        d->nhelo = dr_addresses(d->r, d->helo, d->helo_addrs, DR_MAX_ADDRS, &d->helo_tempfail);
    const char *give_src = d->have_proxy ? "Give the proxy's outgoing address with --source-ip to check it."
                                         : "Give the address you send from with --source-ip.";
    if (d->nsrc == 0)
        dr_add(d, "ptr", NULL, DR_WARN, give_src, "the sending address is unknown: %s", d->src_note);
    for (size_t i = 0; i < d->nsrc; i++)
        check_ptr(d, i);
    check_helo_resolves(d);
    check_helo_domain(d);
    check_from_domain(d);
    check_port25(d);
    if (d->nsrc == 0)
        dr_add(d, "blocklist", NULL, DR_WARN, give_src, "the sending address is unknown: %s", d->src_note);
    for (size_t i = 0; i < d->nsrc; i++)
        check_blocklist(d, i, zones, nz);

    bool ok = true;
    size_t i;
    json_t *c;
    json_array_foreach(d->checks, i, c)
        ok = ok && strcmp(json_string_value(json_object_get(c, "status")), "fail") != 0;
    json_t *report = json_pack("{s:b, s:O}", "ok", ok, "checks", d->checks);
    *json_out = report ? json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(report);
    dr_free(d);
    if (!*json_out)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    return BC_OK;
}

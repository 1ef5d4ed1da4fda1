/*
 * dnscheck.c - `bouncecheck dns DOMAIN`: one report on a domain's mail
 * setup. The sections of health.h (SPF, DMARC, DKIM, MTA-STS, TLS-RPT,
 * BIMI) are built by their own files; this one builds MX (records, null MX,
 * addresses, CNAME and IP-literal targets, duplicates, reverse DNS and
 * forward confirmation, STARTTLS on port 25), blocklists (the MX addresses
 * and --ip against IP lists, the domain against domain lists, answer codes
 * decoded, refusals reported as errors and never as listings) and DNSSEC
 * (the AD bit of a validating resolver), then grades the whole.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpsl.h>

#include "core/internal.h"
#include "core/ipaddr.h"
#include "core/netsafe.h"
#include "dns/dnsbl.h"
#include "dns/revdns.h"
#include "health/health.h"
#include "health/mta_sts.h"
#include "syntax/addr.h"

#define MAX_ZONES 32
#define MAX_IPS 64

/* ---- MX ------------------------------------------------------------------------------ */

typedef struct mx_ctx {
    struct sockaddr_storage addrs[MAX_IPS];
    size_t naddrs;
    char hosts[BC_DNS_MAX_MX][256];
    size_t nhosts;
    bool dnssec_ad, dnssec_known;
} mx_ctx;

/* PTR names of an address and whether one of them resolves back to it. */
static json_t *reverse_dns(bc_resolver *r, const struct sockaddr_storage *ss, json_t *findings, const char *astr)
{
    bc_fcrdns fc;
    bc_fcrdns_check(r, ss, &fc);
    json_t *o = json_object();
    json_t *ptrs = json_array();
    for (size_t i = 0; i < fc.nptr; i++)
        json_array_append_new(ptrs, json_string(fc.ptr[i]));
    json_object_set_new(o, "ptr", ptrs);
    json_object_set_new(o, "fcrdns", json_boolean(fc.confirmed));
    if (fc.rc == BC_DNS_TEMPFAIL)
        bc_finding_add(findings, BC_SEV_WARN, "mx_ptr_dns_error", "The reverse DNS of %s could not be read (%s).",
                       astr, fc.error);
    else if (fc.nptr == 0)
        bc_finding_add(findings, BC_SEV_WARN, "mx_no_ptr",
                       "%s has no reverse DNS (PTR). Many receivers distrust servers without one: ask the"
                       " address's owner (your hosting provider) to set a PTR naming the mail server.",
                       astr);
    else if (!fc.confirmed)
        bc_finding_add(findings, BC_SEV_WARN, "mx_ptr_not_confirmed",
                       "The reverse DNS of %s (%s) does not resolve back to it: make the PTR name's A/AAAA"
                       " record point at this address (forward-confirmed reverse DNS).",
                       astr, fc.ptr[0]);
    return o;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", host);
    size_t n = strlen(tmp);
    if (n > 2 && tmp[0] == '[' && tmp[n - 1] == ']') {
        memmove(tmp, tmp + 1, n - 2);
        tmp[n - 2] = '\0';
    }
    return inet_pton(AF_INET, tmp, buf) == 1 || inet_pton(AF_INET6, tmp, buf) == 1;
}

/* Adds the addresses of `host` (A then AAAA) to the host object; false when
 * it has none. */
static bool host_addresses(bc_resolver *r, const char *host, json_t *ho, json_t *findings, mx_ctx *mc,
                           const bc_health_options *opts)
{
    json_t *addrs = json_array();
    bool any = false, tempfail = false;
    static const int types[] = { BC_RR_A, BC_RR_AAAA };
    for (size_t t = 0; t < 2; t++) {
        bc_rrset set = { 0 };
        bc_resolver_query(r, host, types[t], &set);
        if (set.rc == BC_DNS_TEMPFAIL)
            tempfail = true;
        for (size_t i = 0; i < set.n; i++) {
            char astr[64];
            bc_addr_str(&set.rr[i].addr, astr, sizeof astr);
            json_t *ao = reverse_dns(r, &set.rr[i].addr, findings, astr);
            json_object_set_new(ao, "address", json_string(astr));
            const char *why = bc_netsafe_check((const struct sockaddr *)&set.rr[i].addr);
            if (why) {
                json_object_set_new(ao, "range", json_string(why));
                if (!opts->allow_private)
                    bc_finding_add(findings, BC_SEV_FAIL, "mx_private_address",
                                   "%s (MX %s) is a %s address: mail from the Internet cannot reach it."
                                   " Point the MX at a public address.",
                                   astr, host, why);
            }
            json_array_append_new(addrs, ao);
            if (mc->naddrs < MAX_IPS)
                mc->addrs[mc->naddrs++] = set.rr[i].addr;
            any = true;
        }
        bc_rrset_clear(&set);
    }
    json_object_set_new(ho, "addresses", addrs);
    if (!any)
        bc_finding_add(findings, tempfail ? BC_SEV_WARN : BC_SEV_FAIL,
                       tempfail ? "mx_host_dns_error" : "mx_host_no_address",
                       tempfail ? "The addresses of MX %s could not be read (DNS error)."
                                : "MX %s has no A or AAAA record: no mail can be delivered to it. Publish its"
                                  " address or remove the MX.",
                       host);
    return any;
}

static json_t *section_mx(bc_resolver *r, const char *domain, const bc_health_options *opts, mx_ctx *mc)
{
    json_t *sec = bc_section_new();
    json_t *findings = json_object_get(sec, "findings"), *records = json_object_get(sec, "records");
    json_t *hosts = json_array();
    json_object_set_new(sec, "hosts", hosts);
    bc_rrset set = { 0 };
    bc_resolver_query(r, domain, BC_RR_MX, &set);
    mc->dnssec_known = set.rc == BC_DNS_OK || set.rc == BC_DNS_NODATA;
    mc->dnssec_ad = set.ad;
    if (set.rc == BC_DNS_NXDOMAIN) {
        bc_finding_add(findings, BC_SEV_FAIL, "mx_domain_missing", "%s does not exist in DNS (NXDOMAIN).", domain);
        json_object_set_new(sec, "status", json_string("fail"));
        bc_rrset_clear(&set);
        return sec;
    }
    if (set.rc == BC_DNS_TEMPFAIL) {
        bc_finding_add(findings, BC_SEV_WARN, "mx_dns_error", "The MX records of %s could not be read: %s.",
                       domain, set.error);
        bc_section_settle(sec);
        bc_rrset_clear(&set);
        return sec;
    }
    bool null_mx = false;
    for (size_t i = 0; i < set.n; i++) {
        char line[300];
        snprintf(line, sizeof line, "%d %s", set.rr[i].preference, set.rr[i].name[0] ? set.rr[i].name : ".");
        json_array_append_new(records, json_string(line));
        if (set.rr[i].name[0] == '\0')
            null_mx = true;
    }
    if (set.n == 0) {
        /* implicit MX: the domain's own address (RFC 5321 5.1) */
        json_t *ho = json_pack("{s:s,s:b}", "host", domain, "implicit", 1);
        if (host_addresses(r, domain, ho, json_array(), mc, opts)) {
            bc_finding_add(findings, BC_SEV_WARN, "mx_implicit",
                           "%s has no MX record: mail goes to its A/AAAA address (implicit MX). Publish an MX "
                           "record"
                           " naming your mail server (or a null MX \"0 .\" if the domain sends and receives no "
                           "mail).",
                           domain);
            json_array_append_new(hosts, ho);
        } else {
            json_decref(ho);
            bc_finding_add(findings, BC_SEV_FAIL, "mx_none",
                           "%s has no MX record and no address: it cannot receive mail. Publish an MX record.",
                           domain);
        }
        bc_section_settle(sec);
        bc_rrset_clear(&set);
        return sec;
    }
    if (null_mx) {
        json_object_set_new(sec, "null_mx", json_true());
        if (set.n > 1)
            bc_finding_add(findings, BC_SEV_FAIL, "mx_null_mixed",
                           "A null MX (\"0 .\") stands beside other MX records: RFC 7505 allows it only alone. "
                           "Remove"
                           " one or the other.");
        else
            bc_finding_add(findings, BC_SEV_INFO, "mx_null",
                           "%s publishes a null MX (RFC 7505): it declares that it accepts no mail.", domain);
        if (set.n == 1) {
            json_object_set_new(sec, "status", json_string("info"));
            bc_section_settle(sec);
            bc_rrset_clear(&set);
            return sec;
        }
    }
    for (size_t i = 0; i < set.n; i++) {
        const char *host = set.rr[i].name;
        if (!host[0])
            continue;
        bool dup = false;
        for (size_t k = 0; k < mc->nhosts; k++)
            dup = dup || strcmp(mc->hosts[k], host) == 0;
        if (dup) {
            bc_finding_add(findings, BC_SEV_WARN, "mx_duplicate",
                           "MX %s is listed more than once: remove the copies.", host);
            continue;
        }
        if (mc->nhosts < BC_DNS_MAX_MX)
            snprintf(mc->hosts[mc->nhosts++], sizeof mc->hosts[0], "%s", host);
        json_t *ho = json_pack("{s:s,s:i}", "host", host, "preference", set.rr[i].preference);
        if (is_ip_literal(host)) {
            bc_finding_add(findings, BC_SEV_FAIL, "mx_ip_literal",
                           "MX %s is an IP address: an MX must name a host (RFC 7505 2.1, RFC 5321 5.1). Give the"
                           " server a name with an A record and use that.",
                           host);
            json_array_append_new(hosts, ho);
            continue;
        }
        bc_rrset cn = { 0 };
        bc_resolver_query(r, host, BC_RR_CNAME, &cn);
        if (cn.rc == BC_DNS_OK && cn.n > 0) {
            json_object_set_new(ho, "cname", json_string(cn.rr[0].name));
            bc_finding_add(findings, BC_SEV_FAIL, "mx_cname",
                           "MX %s is an alias (CNAME to %s): an MX must name the host itself (RFC 2181 10.3)."
                           " Use %s in the MX record.",
                           host, cn.rr[0].name, cn.rr[0].name);
        }
        bc_rrset_clear(&cn);
        host_addresses(r, host, ho, findings, mc, opts);
        json_array_append_new(hosts, ho);
    }
    bc_section_settle(sec);
    bc_rrset_clear(&set);
    return sec;
}

/* STARTTLS on port 25 of each MX host (through smtp-test). */
static void mx_starttls(json_t *sec, const mx_ctx *mc, const bc_health_options *opts)
{
    json_t *findings = json_object_get(sec, "findings");
    json_t *hosts = json_object_get(sec, "hosts");
    size_t i;
    json_t *ho;
    json_array_foreach(hosts, i, ho) {
        const char *host = json_string_value(json_object_get(ho, "host"));
        if (!host || json_array_size(json_object_get(ho, "addresses")) == 0 || json_object_get(ho, "cname"))
            continue;
        bc_smtp_test_options so = { .helo = opts->helo,
                                    .port = 25,
                                    .allow_private = opts->allow_private,
                                    .connect_timeout_ms = opts->timeout_ms,
                                    .command_timeout_ms = opts->timeout_ms };
        char *text = NULL, err[256] = "";
        if (bc_smtp_test(host, &so, &text, err, sizeof err) != BC_OK) {
            bc_finding_add(findings, BC_SEV_WARN, "mx_smtp_error", "MX %s could not be tested: %s.", host, err);
            continue;
        }
        json_t *res = json_loads(text, 0, NULL);
        free(text);
        json_t *port = json_array_get(json_object_get(res, "ports"), 0);
        json_t *tls = json_object_get(port, "tls");
        json_object_set(ho, "smtp", port ? port : json_null());
        if (!port || !json_is_true(json_object_get(port, "connected"))) {
            const char *e = json_string_value(json_object_get(port, "error"));
            bc_finding_add(findings, BC_SEV_WARN, "mx_smtp_unreachable",
                           "MX %s did not answer on port 25 (%s): senders cannot deliver to it.", host,
                           e ? e : "no connection");
        } else if (!json_is_object(tls) || json_is_null(json_object_get(tls, "version"))) {
            bc_finding_add(findings, BC_SEV_WARN, "mx_no_starttls",
                           "MX %s does not offer STARTTLS: mail to it travels unencrypted. Enable TLS in the mail"
                           " server (a certificate for %s).",
                           host, host);
        } else {
            if (json_is_false(json_object_get(tls, "verified")))
                bc_finding_add(findings, BC_SEV_WARN, "mx_tls_untrusted",
                               "The certificate of MX %s does not verify against public CAs (self-signed or"
                               " incomplete chain): MTA-STS and DANE-less strict senders will refuse it.",
                               host);
            if (json_is_false(json_object_get(tls, "name_matches")))
                bc_finding_add(findings, BC_SEV_WARN, "mx_tls_name_mismatch",
                               "The certificate of MX %s does not name %s.", host, host);
            json_t *days = json_object_get(tls, "days_left");
            if (json_is_integer(days) && json_integer_value(days) < 0)
                bc_finding_add(findings, BC_SEV_FAIL, "mx_tls_expired", "The certificate of MX %s has expired.",
                               host);
            else if (json_is_integer(days) && json_integer_value(days) < 14)
                bc_finding_add(findings, BC_SEV_WARN, "mx_tls_expiring",
                               "The certificate of MX %s expires in %lld days: renew it.", host,
                               (long long)json_integer_value(days));
        }
        json_decref(res);
    }
    bc_section_settle(sec);
}

/* ---- blocklists -------------------------------------------------------------------------- */

/* One question to one list; appends to `checks`. */
static void blocklist_query(bc_resolver *r, const char *what, bool ip_query, const char *qname, const char *zone,
                            json_t *checks, json_t *findings)
{
    bc_rrset set = { 0 };
    bc_resolver_query(r, qname, BC_RR_A, &set);
    json_t *c = json_pack("{s:s,s:s}", "target", what, "zone", zone);
    if (set.rc == BC_DNS_NXDOMAIN || set.rc == BC_DNS_NODATA) {
        json_object_set_new(c, "listed", json_false());
    } else if (set.rc == BC_DNS_TEMPFAIL) {
        json_object_set_new(c, "listed", json_null());
        json_object_set_new(c, "error", json_string(set.error));
        bc_finding_add(findings, BC_SEV_WARN, "blocklist_dns_error", "%s could not be checked on %s: %s.", what,
                       zone, set.error);
    } else {
        char code[128] = "";
        if (bc_dnsbl_read(zone, ip_query, &set.rr[0].addr, code, sizeof code) != BC_DNSBL_LISTED) {
            json_object_set_new(c, "listed", json_null());
            json_object_set_new(c, "error", json_string(code));
            bc_finding_add(findings, BC_SEV_WARN, "blocklist_refused",
                           "%s could not be checked on %s: %s. Use your own resolver (--dns) to query this list.",
                           what, zone, code);
        } else {
            json_object_set_new(c, "listed", json_true());
            json_object_set_new(c, "code", json_string(code));
            bc_finding_add(findings, BC_SEV_FAIL, "blocklist_listed",
                           "%s is listed on %s (%s): mail from it is likely rejected. Find and fix the cause, then"
                           " request removal from the list's operator.",
                           what, zone, code);
        }
    }
    bc_rrset_clear(&set);
    json_array_append_new(checks, c);
}

static json_t *section_blocklists(bc_resolver *r, const char *domain, const mx_ctx *mc,
                                  const bc_health_options *opts)
{
    json_t *sec = bc_section_new();
    json_t *findings = json_object_get(sec, "findings");
    json_t *checks = json_array();
    json_object_set_new(sec, "checks", checks);
    char ipz[MAX_ZONES][256], domz[MAX_ZONES][256];
    size_t nip = bc_dnsbl_split(opts->ip_blocklists ? opts->ip_blocklists : BC_DNSBL_IP_ZONES, ipz, MAX_ZONES);
    size_t ndom = bc_dnsbl_split(opts->domain_blocklists ? opts->domain_blocklists : BC_DNSBL_DOMAIN_ZONES, domz,
                                 MAX_ZONES);
    struct sockaddr_storage ips[MAX_IPS];
    size_t n = 0;
    for (size_t i = 0; i < mc->naddrs && n < MAX_IPS; i++)
        ips[n++] = mc->addrs[i];
    for (size_t i = 0; i < opts->n_ips && n < MAX_IPS; i++) {
        struct sockaddr_storage ss;
        if (bc_addr_parse_ip(opts->ips[i], &ss))
            ips[n++] = ss;
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t k = 0; k < i; k++)
            dup = dup || bc_addr_same(&ips[k], &ips[i]);
        if (dup)
            continue;
        char astr[64];
        bc_addr_str(&ips[i], astr, sizeof astr);
        if (ips[i].ss_family != AF_INET) {
            json_array_append_new(checks, json_pack("{s:s,s:n,s:s}", "target", astr, "listed", "note",
                                                    "IPv6 addresses are not checked: most lists are IPv4 only"));
            continue;
        }
        for (size_t z = 0; z < nip; z++) {
            char q[512];
            if (bc_reverse_name(&ips[i], ipz[z], q, sizeof q))
                blocklist_query(r, astr, true, q, ipz[z], checks, findings);
        }
    }
    const char *org = psl_registrable_domain(psl_builtin(), domain);
    for (size_t z = 0; z < ndom; z++) {
        char q[BC_DOMAIN_MAX + 260];
        if (snprintf(q, sizeof q, "%s.%s", org ? org : domain, domz[z]) >= (int)sizeof q)
            continue;
        blocklist_query(r, org ? org : domain, false, q, domz[z], checks, findings);
    }
    bc_section_settle(sec);
    return sec;
}

/* ---- DNSSEC and the grade ------------------------------------------------------------------ */

static json_t *section_dnssec(const mx_ctx *mc, const char *domain)
{
    json_t *sec = bc_section_new();
    json_object_set_new(sec, "status", json_string("info"));
    json_t *findings = json_object_get(sec, "findings");
    json_object_set_new(sec, "validated", mc->dnssec_known ? json_boolean(mc->dnssec_ad) : json_null());
    if (!mc->dnssec_known)
        bc_finding_add(findings, BC_SEV_INFO, "dnssec_unknown",
                       "DNSSEC could not be judged: the MX query failed.");
    else if (mc->dnssec_ad)
        bc_finding_add(findings, BC_SEV_INFO, "dnssec_validated",
                       "The resolver validated the answers for %s with DNSSEC (AD bit).", domain);
    else
        bc_finding_add(findings, BC_SEV_INFO, "dnssec_not_validated",
                       "The answers for %s were not DNSSEC-validated: the zone is unsigned, or the resolver in use"
                       " does not validate (use a validating resolver with --dns to tell which).",
                       domain);
    return sec;
}

static void grade(json_t *report)
{
    static const char *const sections[] = { "mx",      "spf",     "dmarc", "dkim",  "blocklists",
                                            "mta_sts", "tls_rpt", "bimi",  "dnssec" };
    int score = 100;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        json_t *f = json_object_get(json_object_get(report, sections[i]), "findings");
        size_t k;
        json_t *x;
        json_array_foreach(f, k, x) {
            const char *sev = json_string_value(json_object_get(x, "severity"));
            if (sev && strcmp(sev, "fail") == 0)
                score -= 15;
            else if (sev && strcmp(sev, "warn") == 0)
                score -= 5;
        }
    }
    if (score < 0)
        score = 0;
    const char *g = score >= 90 ? "A" : score >= 80 ? "B" : score >= 70 ? "C" : score >= 60 ? "D" : "F";
    json_object_set_new(report, "score", json_integer(score));
    json_object_set_new(report, "grade", json_string(g));
}

/* The fixes of the findings name "<your domain>" (health_fix.c): here the
 * domain is known, so they name it. */
static void name_fixes(json_t *report, const char *domain)
{
    static const char ph[] = "<your domain>";
    const size_t phl = sizeof ph - 1, dl = strlen(domain);
    const char *key;
    json_t *sec;
    json_object_foreach(report, key, sec) {
        json_t *f = json_object_get(sec, "findings");
        size_t k;
        json_t *x;
        json_array_foreach(f, k, x) {
            const char *fix = json_string_value(json_object_get(x, "fix"));
            if (!fix || !strstr(fix, ph))
                continue;
            size_t n = 0;
            for (const char *p = strstr(fix, ph); p; p = strstr(p + phl, ph))
                n++;
            size_t cap = strlen(fix) + n * dl + 1;
            char *out = malloc(cap);
            if (!out)
                continue;
            size_t o = 0;
            for (const char *p = fix, *q; *p; p = q + phl) {
                q = strstr(p, ph);
                size_t seg = q ? (size_t)(q - p) : strlen(p);
                memcpy(out + o, p, seg);
                o += seg;
                if (!q)
                    break;
                memcpy(out + o, domain, dl);
                o += dl;
            }
            out[o] = '\0';
            json_object_set_new(x, "fix", json_string(out));
            free(out);
        }
    }
}

bc_error bc_health_check(const char *domain, const bc_health_options *o, char **json_out, char *errbuf,
                         size_t errlen)
{
    static const bc_health_options dflt = { 0 };
    if (!o)
        o = &dflt;
    *json_out = NULL;
    if (!domain || !*domain) {
        snprintf(errbuf, errlen, "no domain given");
        return BC_EINVAL;
    }
    char d[BC_DOMAIN_MAX];
    bc_syntax_code code;
    if (!bc_domain_to_ascii(domain, d, sizeof d, &code)) {
        snprintf(errbuf, errlen, "'%s' is not a valid domain name (%s)", domain, bc_syntax_code_name(code));
        return BC_EINVAL;
    }
    bc_dns_options dopts = { .servers = o->dns_servers, .timeout_ms = 3000, .tries = 2 };
    bc_resolver *r = bc_resolver_new_cares(&dopts, errbuf, errlen);
    if (!r)
        return BC_EINVAL;
    mx_ctx mc;
    memset(&mc, 0, sizeof mc);
    json_t *report = json_object();
    json_object_set_new(report, "domain", json_string(d));
    json_t *mx = section_mx(r, d, o, &mc);
    if (!o->no_smtp)
        mx_starttls(mx, &mc, o);
    json_object_set_new(report, "mx", mx);
    json_object_set_new(report, "spf", bc_health_spf(r, d));
    json_t *dmarc = bc_health_dmarc(r, d);
    json_object_set_new(report, "dmarc", dmarc);
    json_object_set_new(report, "dkim", bc_health_dkim(r, d, o->dkim_selectors, o->n_dkim_selectors));
    json_object_set_new(report, "blocklists", section_blocklists(r, d, &mc, o));
    const char *mxh[BC_DNS_MAX_MX];
    for (size_t i = 0; i < mc.nhosts; i++)
        mxh[i] = mc.hosts[i];
    bc_health_https https = { .ca_file = o->ca_file,
                              .allow_private = o->allow_private,
                              .timeout_ms = o->timeout_ms };
    /* The policy host is found through the same resolver as everything
     * else (--dns), not through the system's: curl is told where to connect. */
    char host[BC_DOMAIN_MAX + 16], connect_to[BC_DOMAIN_MAX + 96] = "";
    snprintf(host, sizeof host, "mta-sts.%s", d);
    for (int t = 0; t < 2 && !connect_to[0]; t++) {
        bc_rrset set = { 0 };
        bc_resolver_query(r, host, t == 0 ? BC_RR_A : BC_RR_AAAA, &set);
        if (set.n > 0) {
            char astr[64];
            bc_addr_str(&set.rr[0].addr, astr, sizeof astr);
            snprintf(connect_to, sizeof connect_to, t == 0 ? "%s:443:%s:443" : "%s:443:[%s]:443", host, astr);
        }
        bc_rrset_clear(&set);
    }
    json_object_set_new(report, "mta_sts",
                        bc_health_mta_sts_with(r, d, mxh, mc.nhosts, &https, connect_to[0] ? connect_to : NULL));
    json_object_set_new(report, "tls_rpt", bc_health_tls_rpt(r, d));
    json_object_set_new(report, "bimi", bc_health_bimi(r, d, dmarc));
    json_object_set_new(report, "dnssec", section_dnssec(&mc, d));
    grade(report);
    name_fixes(report, d);
    bc_resolver_free(r);
    *json_out = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(report);
    if (!*json_out) {
        snprintf(errbuf, errlen, "out of memory");
        return BC_ENOMEM;
    }
    return BC_OK;
}

/*
 * has_mx.c - bc_domain_has_mx (bouncecheck.h): whether a domain receives
 * mail, asked through a blocking resolver (resolver.h). `bouncecheck
 * disposable` reports it unless offline (data/disposable.c).
 */
#include <string.h>

#include "core/domain.h"
#include "core/internal.h"
#include "dns/resolver.h"

/* One question through r: 1 when the answer has records (for MX: other
 * than a null MX), 0 for NXDOMAIN or NODATA, -1 when it could not tell (the
 * reason in errbuf). The resolver's own outcome goes to *raw. */
static int has_records(bc_resolver *r, const char *domain, int type, bc_dns_rc *raw, char *errbuf, size_t errlen)
{
    bc_rrset set;
    memset(&set, 0, sizeof set);
    bc_resolver_query(r, domain, type, &set);
    *raw = set.rc;
    int rc = set.rc == BC_DNS_OK ? 1 : set.rc == BC_DNS_NXDOMAIN || set.rc == BC_DNS_NODATA ? 0 : -1;
    if (rc == 1 && type == BC_RR_MX) {
        /* RFC 7505: a lone "0 ." MX says the domain takes no mail. */
        bool only_null = true;
        for (size_t i = 0; i < set.n; i++)
            if (set.rr[i].name[0])
                only_null = false;
        rc = only_null ? 0 : 1;
    }
    if (rc < 0)
        bc_seterr(errbuf, errlen, BC_ENET, "%s: %s", domain, set.error[0] ? set.error : "DNS failure");
    bc_rrset_clear(&set);
    return rc;
}

/* Whether ascii_domain receives mail: MX records other than a null MX, or
 * without MX (NODATA) an A or AAAA record (RFC 5321 5.1 implicit MX). */
int bc_domain_has_mx(const char *ascii_domain, const char *dns_servers, char *errbuf, size_t errlen)
{
    char d[BC_DOMAIN_LEN + 1];
    if (!ascii_domain || bc_domain_norm(ascii_domain, d) == 0) {
        bc_seterr(errbuf, errlen, BC_EINVAL, "not a domain name");
        return -1;
    }
    bc_dns_options o = { .servers = dns_servers, .timeout_ms = 3000, .tries = 2 };
    char err[256] = "";
    bc_resolver *r = bc_resolver_new_cares(&o, err, sizeof err);
    if (!r) {
        bc_seterr(errbuf, errlen, BC_ENET, "DNS resolver setup failed: %s", err);
        return -1;
    }
    bc_dns_rc raw;
    int rc = has_records(r, d, BC_RR_MX, &raw, errbuf, errlen);
    if (raw == BC_DNS_NODATA) {
        rc = has_records(r, d, BC_RR_A, &raw, errbuf, errlen);
        if (rc != 1) {
            int v6 = has_records(r, d, BC_RR_AAAA, &raw, errbuf, errlen);
            rc = v6 == 1 ? 1 : rc < 0 || v6 < 0 ? -1 : 0;
        }
    }
    bc_resolver_free(r);
    return rc;
}

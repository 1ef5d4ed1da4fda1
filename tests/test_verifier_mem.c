/*
 * test_verifier_mem.c - the verifier's memory stays bounded however many
 * domains go through it (tests/test_verifier_mem.sh runs it against a real
 * NSD serving the root zone and bcmem.net, and a scripted SMTP server that
 * accepts every recipient):
 *  - the domain facts cache (verify/domain_facts.h) keeps at most its bound,
 *    least recently used out first;
 *  - thousands of distinct domains that do not exist all come back
 *    undeliverable/invalid_domain, and every domain record is dropped once
 *    its addresses are done (verify/verifier_mem.h);
 *  - a catch-all verdict outlives its domain record through the cache
 *    (bc_verifier_accept_all, and a later address of the domain is not
 *    tested again);
 *  - bc_verifier_learn_accept_all of more domains than the cache holds
 *    keeps it at its bound and makes no domain record.
 * Without BC_TEST_DNS only the cache's own checks run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "tap.h"
#include "verify/domain_facts.h"
#include "verify/verifier_mem.h"

#define NX_DOMAINS 3000
#define NX_PER_DOMAIN 2

typedef struct run {
    struct event_base *base;
    bc_verifier *v;
    int want, got;
    int undeliverable_nx; /* undeliverable/invalid_domain */
    char other[160];      /* the first other status/reason */
    bc_tristate accept_all;
    size_t peak_domains;
    int peak_resolving;
} run;

static void on_result(void *arg, bc_result *r)
{
    run *x = arg;
    bc_verifier_mem m;
    bc_verifier_mem_get(x->v, &m);
    if (m.domains > x->peak_domains)
        x->peak_domains = m.domains;
    if (m.resolving > x->peak_resolving)
        x->peak_resolving = m.resolving;
    if (bc_result_status(r) == BC_STATUS_UNDELIVERABLE && strcmp(bc_result_reason(r), "invalid_domain") == 0)
        x->undeliverable_nx++;
    else if (!x->other[0])
        snprintf(x->other, sizeof x->other, "%.80s: %s/%s", bc_result_addr(r)->normalized,
                 bc_verdict_status_name(bc_result_status(r)), bc_result_reason(r));
    x->accept_all = bc_result_accept_all(r);
    bc_result_free(r);
    if (++x->got == x->want)
        event_base_loopexit(x->base, NULL);
}

static void cache_checks(void)
{
    bc_dfacts *c = bc_dfacts_new(100);
    tap_check(c != NULL && bc_dfacts_max(c) == 100, "a cache of 100 entries");
    if (!c)
        return;
    char name[64];
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "d%d.example", i);
        bc_dfact f = { .catch_all = i % 2 ? BC_YES : BC_NO, .catch_all_at = i, .next_connect = 0 };
        bc_dfacts_put(c, name, &f);
    }
    tap_check(bc_dfacts_count(c) == 100, "1000 domains put, 100 kept (%zu)", bc_dfacts_count(c));
    bc_dfact f;
    tap_check(bc_dfacts_get(c, "d999.example", &f) == 1 && f.catch_all == BC_YES && f.catch_all_at == 999,
              "the newest entry is there with its fact");
    tap_check(bc_dfacts_get(c, "d900.example", &f) == 1 && f.catch_all == BC_NO, "the 100th newest is there");
    tap_check(bc_dfacts_get(c, "d899.example", &f) == 0, "the 101st newest was evicted");
    /* d901 is now the least recently used but for d900 and d999, which
     * were read: a new entry evicts d901, not them */
    bc_dfact g = { .catch_all = BC_YES, .catch_all_at = 1, .next_connect = 0 };
    bc_dfacts_put(c, "new.example", &g);
    tap_check(bc_dfacts_get(c, "d900.example", &f) == 1, "an entry read recently survives an eviction");
    tap_check(bc_dfacts_get(c, "d901.example", &f) == 0, "the least recently used entry goes first");
    g.catch_all = BC_NO;
    bc_dfacts_put(c, "new.example", &g);
    tap_check(bc_dfacts_count(c) == 100 && bc_dfacts_get(c, "new.example", &f) == 1 && f.catch_all == BC_NO,
              "putting a known domain replaces its entry");
    bc_dfacts_free(c);
}

static bc_verifier *make_verifier(bc_ctx *ctx, struct event_base *base, const char *dns, int smtp_port)
{
    bc_verify_options o = { 0 };
    o.dns_servers = dns;
    o.timeout_ms = 30000;
    o.allow_private = true;
    o.no_starttls = true;
    o.smtp_port = smtp_port;
    o.domain_rate_per_min = -1;
    char err[256];
    bc_verifier *v = NULL;
    if (bc_verifier_new(&v, ctx, base, &o, err, sizeof err) != BC_OK)
        tap_diag("bc_verifier_new: %s", err);
    return v;
}

/* RCPT commands the scripted server has logged so far. */
static int rcpts_logged(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return -1;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, " C RCPT TO:") || strstr(line, " C rcpt to:"))
            n++;
    fclose(f);
    return n;
}

int main(void)
{
    cache_checks();

    const char *dns = getenv("BC_TEST_DNS");
    const char *smtp = getenv("BC_TEST_SMTP_PORT");
    const char *smtp_log = getenv("BC_TEST_SMTP_LOG");
    if (!dns || !smtp) {
        tap_diag("BC_TEST_DNS or BC_TEST_SMTP_PORT unset: the verifier's checks are skipped");
        return tap_done();
    }
    bc_ctx *ctx = NULL;
    bc_options copts = { .data_dir = "/nonexistent-bc-test-data" };
    char err[256];
    if (bc_ctx_new(&ctx, &copts, err, sizeof err) != BC_OK) {
        tap_diag("context: %s", err);
        return tap_done();
    }
    struct event_base *base = event_base_new();
    bc_verifier *v = base ? make_verifier(ctx, base, dns, atoi(smtp)) : NULL;
    tap_check(v != NULL, "a verifier on the test DNS");
    if (!v) {
        bc_ctx_free(ctx);
        return tap_done();
    }

    /* ---- many distinct domains that do not exist ---- */
    run x = { .base = base, .v = v, .want = NX_DOMAINS * NX_PER_DOMAIN };
    char email[128];
    for (int i = 0; i < x.want; i++) {
        snprintf(email, sizeof email, "user%d@bcmem-nx%05d.net", i, i % NX_DOMAINS);
        if (bc_verifier_submit(v, email, strlen(email), on_result, &x) != BC_OK)
            x.want--;
    }
    event_base_dispatch(base);
    tap_check(x.got == NX_DOMAINS * NX_PER_DOMAIN, "every address of %d nonexistent domains answered (%d)",
              NX_DOMAINS, x.got);
    tap_check(x.undeliverable_nx == x.got, "all undeliverable/invalid_domain (%d; first other: %s)",
              x.undeliverable_nx, x.other[0] ? x.other : "none");
    bc_verifier_mem m;
    bc_verifier_mem_get(v, &m);
    tap_check(m.domains == 0, "no domain record is left once their addresses are done (%zu)", m.domains);
    tap_check(m.domains_dropped == NX_DOMAINS, "one record per domain was made and dropped (%llu)",
              (unsigned long long)m.domains_dropped);
    tap_check(m.facts == 0, "nothing worth keeping about nonexistent domains (%zu facts)", m.facts);
    tap_check(x.peak_resolving <= m.resolving_max && m.resolving == 0,
              "MX lookups at once stayed within %d (peak %d)", m.resolving_max, x.peak_resolving);

    /* ---- a catch-all verdict outlives its domain record ---- */
    int rcpts0 = rcpts_logged(smtp_log);
    run c = { .base = base, .v = v, .want = 1 };
    bc_verifier_submit(v, "someone@all.bcmem.net", strlen("someone@all.bcmem.net"), on_result, &c);
    event_base_dispatch(base);
    int rcpts1 = rcpts_logged(smtp_log);
    tap_check(c.got == 1 && c.accept_all == BC_YES, "a server accepting everyone is found catch-all");
    tap_check(rcpts1 - rcpts0 == 2, "the address and a random one were asked (%d RCPTs)", rcpts1 - rcpts0);
    bc_verifier_mem_get(v, &m);
    tap_check(m.domains == 0 && m.facts == 1, "its record is dropped, its verdict cached (%zu records, %zu facts)",
              m.domains, m.facts);
    int64_t age = -1;
    bc_tristate cached = bc_verifier_accept_all(v, "all.bcmem.net", &age);
    tap_check(cached == BC_YES && age >= 0 && age < 60000,
              "bc_verifier_accept_all reads it from the cache (age %lld ms)", (long long)age);
    run c2 = { .base = base, .v = v, .want = 1 };
    bc_verifier_submit(v, "other@all.bcmem.net", strlen("other@all.bcmem.net"), on_result, &c2);
    event_base_dispatch(base);
    int rcpts2 = rcpts_logged(smtp_log);
    tap_check(c2.got == 1 && c2.accept_all == BC_YES, "a later address of the domain gets the cached verdict");
    tap_check(rcpts2 - rcpts1 == 1, "without a second catch-all test (%d RCPTs)", rcpts2 - rcpts1);

    /* ---- more MX hosts than host records are kept ---- */
    int nhosts = getenv("BC_TEST_HOSTS") ? atoi(getenv("BC_TEST_HOSTS")) : 0;
    if (nhosts > 300) {
        int first = nhosts - 300;
        run h = { .base = base, .v = v, .want = first };
        for (int i = 0; i < first; i++) {
            snprintf(email, sizeof email, "someone@h%d.bcmem.net", i);
            if (bc_verifier_submit(v, email, strlen(email), on_result, &h) != BC_OK)
                h.want--;
        }
        event_base_dispatch(base);
        bc_verifier_mem_get(v, &m);
        tap_check(h.got == first, "%d domains with an MX host each answered (%d)", first, h.got);
        tap_diag("host records after them: %zu (bound %zu)", m.hosts, m.hosts_max);
        /* a failed connection may start a host's backoff (2 s): idle after */
        struct timeval pause = { 2, 500000 };
        event_base_loopexit(base, &pause);
        event_base_dispatch(base);
        run h2 = { .base = base, .v = v, .want = 300 };
        for (int i = first; i < nhosts; i++) {
            snprintf(email, sizeof email, "someone@h%d.bcmem.net", i);
            if (bc_verifier_submit(v, email, strlen(email), on_result, &h2) != BC_OK)
                h2.want--;
        }
        event_base_dispatch(base);
        bc_verifier_mem_get(v, &m);
        tap_check(h2.got == 300 && m.hosts <= m.hosts_max,
                  "%d MX hosts seen, idle host records beyond the bound evicted (%zu <= %zu)", nhosts, m.hosts,
                  m.hosts_max);
        tap_check(m.domains == 0, "and no domain record left (%zu)", m.domains);
    }

    /* ---- learning more domains than the cache holds ---- */
    size_t n = m.facts_max + m.facts_max / 5;
    char name[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "learned%zu.example", i);
        bc_verifier_learn_accept_all(v, name, i % 2 ? BC_YES : BC_NO, 1000);
    }
    bc_verifier_mem_get(v, &m);
    tap_check(m.facts == m.facts_max, "%zu domains learned, the cache holds its bound %zu (%zu)", n, m.facts_max,
              m.facts);
    tap_check(m.domains == 0, "learning makes no domain record (%zu)", m.domains);
    snprintf(name, sizeof name, "learned%zu.example", n - 1);
    tap_check(bc_verifier_accept_all(v, name, NULL) == ((n - 1) % 2 ? BC_YES : BC_NO), "the newest is known");
    tap_check(bc_verifier_accept_all(v, "learned0.example", NULL) == BC_UNKNOWN, "the oldest was evicted");

    bc_verifier_free(v);
    event_base_free(base);
    bc_ctx_free(ctx);
    return tap_done();
}

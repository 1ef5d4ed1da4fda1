/*
 * test_dns.c - src/lib/dns/dns.c against a real authoritative server. Run by
 * test_dns.sh, which starts NSD with the zones these cases expect and
 * passes BC_TEST_DNS ("127.0.0.1:PORT"), BC_TEST_DEAD_DNS (a port where
 * nothing listens) and BC_TEST_NSD_PGID (NSD's process group, to pause it:
 * a cache hit must not need the server).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "dns/dns.h"
#include "tap.h"

/* What one request's callback saw. */
typedef struct result {
    int calls;        /* how many times the callback fired */
    bool synchronous; /* it fired inside bc_dns_resolve_mx */
    bc_mx_answer ans; /* copy of the last answer */
} result;

/* Shared by the callback to spot synchronous delivery. */
typedef struct harness {
    struct event_base *base;
    bool in_call;
} harness;

typedef struct pending {
    harness *h;
    result r;
} pending;

/* The callback of every request: counts and copies the answer. */
static void on_mx(void *arg, const bc_mx_answer *ans)
{
    pending *p = arg;
    p->r.calls++;
    if (p->h->in_call)
        p->r.synchronous = true;
    p->r.ans = *ans;
}

/* Starts a request the way a caller would, noting whether the callback
 * fired before bc_dns_resolve_mx returned. */
static void start(harness *h, bc_dns *d, const char *domain, pending *p)
{
    memset(&p->r, 0, sizeof p->r);
    p->h = h;
    h->in_call = true;
    bc_dns_resolve_mx(d, domain, on_mx, p);
    h->in_call = false;
}

/* Runs the loop until every listed request has been answered, or 30 s. */
static void wait_all(harness *h, pending *ps, int n)
{
    time_t until = time(NULL) + 30;
    for (;;) {
        int done = 0;
        for (int i = 0; i < n; i++)
            done += ps[i].r.calls > 0;
        if (done == n || time(NULL) > until)
            return;
        event_base_loop(h->base, EVLOOP_ONCE);
    }
}

/* Resolves one domain and waits for it. */
static result resolve(harness *h, bc_dns *d, const char *domain)
{
    pending p;
    start(h, d, domain, &p);
    wait_all(h, &p, 1);
    return p.r;
}

/* Address of host h, index i, as text. */
static const char *addr_str(const bc_mx_host *host, int i, char *buf, size_t len)
{
    const struct sockaddr_storage *ss = &host->addrs[i].sa;
    if (ss->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, (socklen_t)len);
    else if (ss->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, (socklen_t)len);
    else
        snprintf(buf, len, "?");
    return buf;
}

static unsigned long queries(bc_dns *d)
{
    bc_dns_stats st;
    bc_dns_get_stats(d, &st);
    return st.queries;
}

static void check_delivery(const result *r, const char *what)
{
    CHECK(r->calls == 1, "%s: callback fired once (%d)", what, r->calls);
    CHECK(!r->synchronous, "%s: callback not synchronous", what);
}

/* Several MX with preferences, mixed case, a host with only AAAA. */
static void test_multi(harness *h, bc_dns *d)
{
    char buf[64];
    result r = resolve(h, d, "Multi.BC.test.");
    check_delivery(&r, "multi");
    const bc_mx_answer *a = &r.ans;
    CHECK(a->rc == BC_DNS_OK, "multi: rc %s", bc_dns_rc_name(a->rc));
    CHECK(!a->implicit && !a->from_cache, "multi: explicit, not from cache");
    CHECK(a->nhosts == 4, "multi: 4 hosts (%d)", a->nhosts);
    if (a->nhosts != 4)
        return;
    CHECK(a->hosts[0].preference == 10 && a->hosts[1].preference == 10 && a->hosts[2].preference == 20 &&
              a->hosts[3].preference == 30,
          "multi: sorted by preference (%d %d %d %d)", a->hosts[0].preference, a->hosts[1].preference,
          a->hosts[2].preference, a->hosts[3].preference);
    const bc_mx_host *mx1 = strcmp(a->hosts[0].host, "mx1.multi.bc.test") == 0 ? &a->hosts[0] : &a->hosts[1];
    const bc_mx_host *mx1b = mx1 == &a->hosts[0] ? &a->hosts[1] : &a->hosts[0];
    CHECK_STR(mx1->host, "mx1.multi.bc.test", "multi: first host");
    CHECK_STR(mx1b->host, "mx1b.multi.bc.test", "multi: tie host");
    CHECK_STR(a->hosts[2].host, "mx2.multi.bc.test", "multi: pref 20");
    CHECK_STR(a->hosts[3].host, "mx3.multi.bc.test", "multi: pref 30 lower-cased");
    CHECK(mx1->addr_rc == BC_DNS_OK && mx1->naddrs == 3, "mx1: 3 addresses (%d)", mx1->naddrs);
    if (mx1->naddrs == 3) {
        CHECK(mx1->addrs[0].sa.ss_family == AF_INET && mx1->addrs[1].sa.ss_family == AF_INET &&
                  mx1->addrs[2].sa.ss_family == AF_INET6,
              "mx1: IPv4 first, then IPv6");
        CHECK_STR(addr_str(mx1, 2, buf, sizeof buf), "2001:db8::1", "mx1: IPv6 address");
        CHECK(mx1->addrs[2].salen == sizeof(struct sockaddr_in6) &&
                  mx1->addrs[0].salen == sizeof(struct sockaddr_in),
              "mx1: salen set");
    }
    CHECK(a->hosts[2].naddrs == 1 && a->hosts[2].addr_rc == BC_DNS_OK, "mx2: one A");
    if (a->hosts[2].naddrs == 1)
        CHECK_STR(addr_str(&a->hosts[2], 0, buf, sizeof buf), "192.0.2.2", "mx2: address");
    const bc_mx_host *mx3 = &a->hosts[3];
    CHECK(mx3->addr_rc == BC_DNS_OK && mx3->naddrs == 1 && mx3->addrs[0].sa.ss_family == AF_INET6,
          "mx3: only AAAA (%s, %d)", bc_dns_rc_name(mx3->addr_rc), mx3->naddrs);
}

/* Null MX alone, and beside a real MX. */
static void test_nullmx(harness *h, bc_dns *d)
{
    result r = resolve(h, d, "nullmx.bc.test");
    check_delivery(&r, "nullmx");
    CHECK(r.ans.rc == BC_DNS_NULLMX && r.ans.nhosts == 0, "nullmx: rc %s", bc_dns_rc_name(r.ans.rc));
    r = resolve(h, d, "nullmix.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && r.ans.nhosts == 1, "nullmix: null ignored (%s, %d)", bc_dns_rc_name(r.ans.rc),
          r.ans.nhosts);
    if (r.ans.nhosts == 1)
        CHECK_STR(r.ans.hosts[0].host, "mx2.multi.bc.test", "nullmix: real host kept");
}

/* No MX: implicit MX from A+AAAA, through a CNAME too; NODATA; NXDOMAIN. */
static void test_implicit(harness *h, bc_dns *d)
{
    char buf[64];
    result r = resolve(h, d, "implicit.bc.test");
    check_delivery(&r, "implicit");
    CHECK(r.ans.rc == BC_DNS_OK && r.ans.implicit && r.ans.nhosts == 1, "implicit: rc %s implicit %d nhosts %d",
          bc_dns_rc_name(r.ans.rc), r.ans.implicit, r.ans.nhosts);
    if (r.ans.nhosts == 1) {
        const bc_mx_host *h0 = &r.ans.hosts[0];
        CHECK_STR(h0->host, "implicit.bc.test", "implicit: host is the domain");
        CHECK(h0->naddrs == 2 && h0->addr_rc == BC_DNS_OK, "implicit: 2 addresses");
        if (h0->naddrs == 2) {
            CHECK_STR(addr_str(h0, 0, buf, sizeof buf), "192.0.2.10", "implicit: IPv4 first");
            CHECK_STR(addr_str(h0, 1, buf, sizeof buf), "2001:db8::10", "implicit: then IPv6");
        }
    }
    r = resolve(h, d, "alias.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && r.ans.implicit && r.ans.nhosts == 1 && r.ans.hosts[0].naddrs == 2,
          "alias (CNAME to implicit): implicit MX through the CNAME (%s)", bc_dns_rc_name(r.ans.rc));

    r = resolve(h, d, "nodata.bc.test");
    check_delivery(&r, "nodata");
    CHECK(r.ans.rc == BC_DNS_NODATA && r.ans.nhosts == 0 && !r.ans.implicit, "nodata: no MX, no address -> %s",
          bc_dns_rc_name(r.ans.rc));
    r = resolve(h, d, "nxd.bc.test");
    check_delivery(&r, "nxdomain");
    CHECK(r.ans.rc == BC_DNS_NXDOMAIN, "nxdomain: rc %s", bc_dns_rc_name(r.ans.rc));
    r = resolve(h, d, "bad..name");
    CHECK(r.calls == 1 && !r.synchronous && r.ans.rc == BC_DNS_NXDOMAIN,
          "a name that cannot exist: NXDOMAIN, delivered later");
}

/* MX hosts without addresses. */
static void test_noaddr(harness *h, bc_dns *d)
{
    result r = resolve(h, d, "noaddr.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && r.ans.nhosts == 2, "noaddr: two hosts (%s, %d)", bc_dns_rc_name(r.ans.rc),
          r.ans.nhosts);
    if (r.ans.nhosts == 2) {
        CHECK(r.ans.hosts[0].addr_rc == BC_DNS_NXDOMAIN && r.ans.hosts[0].naddrs == 0, "ghost host: NXDOMAIN (%s)",
              bc_dns_rc_name(r.ans.hosts[0].addr_rc));
        CHECK(r.ans.hosts[1].addr_rc == BC_DNS_NODATA && r.ans.hosts[1].naddrs == 0,
              "host with only TXT: NODATA (%s)", bc_dns_rc_name(r.ans.hosts[1].addr_rc));
    }
}

/* IDN domain given in A-labels. */
static void test_idn(harness *h, bc_dns *d)
{
    result r = resolve(h, d, "xn--bcher-kva.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && r.ans.nhosts == 1, "idn: rc %s", bc_dns_rc_name(r.ans.rc));
}

/* REFUSED from a server not authoritative for the zone: TEMPFAIL. */
static void test_refused(harness *h, bc_dns *d)
{
    result r = resolve(h, d, "example.org");
    check_delivery(&r, "refused");
    CHECK(r.ans.rc == BC_DNS_TEMPFAIL, "refused: rc %s", bc_dns_rc_name(r.ans.rc));
    CHECK(strstr(r.ans.error, "REFUSED") != NULL, "refused: error says so ('%s')", r.ans.error);
    unsigned long q = queries(d);
    r = resolve(h, d, "example.org");
    CHECK(r.ans.rc == BC_DNS_TEMPFAIL && !r.ans.from_cache && queries(d) == q + 1,
          "refused: TEMPFAIL is not cached");
}

/* Repeats come from the cache; with NSD paused they still answer. */
static void test_cache(harness *h, bc_dns *d)
{
    unsigned long q = queries(d);
    result r = resolve(h, d, "multi.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && r.ans.from_cache, "repeat: from_cache (%d)", r.ans.from_cache);
    check_delivery(&r, "cache hit");
    CHECK(queries(d) == q, "repeat: no query sent (%lu -> %lu)", q, queries(d));
    CHECK(r.ans.nhosts == 4 && r.ans.hosts[0].naddrs > 0, "repeat: same answer");

    r = resolve(h, d, "nxd.bc.test");
    CHECK(r.ans.rc == BC_DNS_NXDOMAIN && r.ans.from_cache, "negative caching: NXDOMAIN cached");
    r = resolve(h, d, "nodata.bc.test");
    CHECK(r.ans.rc == BC_DNS_NODATA && r.ans.from_cache, "negative caching: NODATA cached");
    CHECK(queries(d) == q, "negative caching: no query sent");

    const char *pg_s = getenv("BC_TEST_NSD_PGID");
    pid_t pgid = pg_s ? (pid_t)atoi(pg_s) : 0;
    if (pgid > 1 && kill(-pgid, SIGSTOP) == 0) {
        r = resolve(h, d, "multi.bc.test");
        kill(-pgid, SIGCONT);
        CHECK(r.ans.rc == BC_DNS_OK && r.ans.from_cache, "NSD paused: cached answer still OK");
    } else {
        CHECK(0, "could not pause NSD (BC_TEST_NSD_PGID=%s)", pg_s ? pg_s : "unset");
    }
}

/* TTL 1 s: gone after 2 s. Negative TTL = min(SOA TTL, MINIMUM): 1 s in
 * neg.test, 60 s in bc.test. */
static void test_expiry(harness *h, bc_dns *d)
{
    result r = resolve(h, d, "short.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && !r.ans.from_cache, "short: first answer");
    r = resolve(h, d, "nx.neg.test");
    CHECK(r.ans.rc == BC_DNS_NXDOMAIN, "neg.test: NXDOMAIN");
    r = resolve(h, d, "short.bc.test");
    CHECK(r.ans.from_cache, "short: cached within its TTL");
    struct timespec ts = { 2, 100000000 };
    nanosleep(&ts, NULL);
    unsigned long q = queries(d);
    r = resolve(h, d, "short.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && !r.ans.from_cache, "short: expired after 2 s");
    CHECK(queries(d) == q + 1, "short: only the MX asked again (%lu)", queries(d) - q);
    r = resolve(h, d, "nx.neg.test");
    CHECK(r.ans.rc == BC_DNS_NXDOMAIN && !r.ans.from_cache, "negative TTL follows SOA MINIMUM (1 s)");
    r = resolve(h, d, "nxd.bc.test");
    CHECK(r.ans.from_cache, "negative TTL in bc.test (60 s) still running");
}

/* Three concurrent requests share one set of queries. */
static void test_coalesce(harness *h, bc_dns *d)
{
    pending ps[3];
    unsigned long q = queries(d);
    for (int i = 0; i < 3; i++)
        start(h, d, "coal.bc.test", &ps[i]);
    wait_all(h, ps, 3);
    bool ok = true;
    for (int i = 0; i < 3; i++)
        ok = ok && ps[i].r.calls == 1 && ps[i].r.ans.rc == BC_DNS_OK && ps[i].r.ans.nhosts == 1 &&
             ps[i].r.ans.hosts[0].naddrs == 1 && !ps[i].r.synchronous;
    CHECK(ok, "coalesce: three answers, each once");
    CHECK(queries(d) == q + 3, "coalesce: one MX + one A + one AAAA query (%lu)", queries(d) - q);
    bc_dns_stats st;
    bc_dns_get_stats(d, &st);
    CHECK(st.coalesced >= 2, "coalesce: counter %lu", st.coalesced);
}

/* Freeing with requests in flight: CANCELLED, exactly once each. */
static void test_free_inflight(harness *h, const char *servers)
{
    bc_dns_options o = { .servers = servers };
    bc_dns *d = NULL;
    char err[256];
    CHECK(bc_dns_new(&d, h->base, &o, err, sizeof err) == BC_OK, "second resolver: %s", err);
    if (!d)
        return;
    pending warm;
    start(h, d, "implicit.bc.test", &warm);
    wait_all(h, &warm, 1);
    pending ps[3];
    start(h, d, "multi.bc.test", &ps[0]);
    start(h, d, "coal.bc.test", &ps[1]);
    start(h, d, "implicit.bc.test", &ps[2]); /* cached: delivery pending on the loop */
    /* No loop turn here: on a fast machine one turn can read every answer.
     * The queries are on the wire, the cached answer awaits delivery. */
    int before = ps[0].r.calls + ps[1].r.calls;
    bc_dns_free(d);
    bool ok = true;
    for (int i = 0; i < 3; i++)
        ok = ok && ps[i].r.calls == 1;
    CHECK(ok, "free: each callback fired exactly once (%d %d %d)", ps[0].r.calls, ps[1].r.calls, ps[2].r.calls);
    CHECK(before == 0 && ps[0].r.ans.rc == BC_DNS_CANCELLED && ps[1].r.ans.rc == BC_DNS_CANCELLED,
          "free: in-flight requests CANCELLED (%s %s)", bc_dns_rc_name(ps[0].r.ans.rc),
          bc_dns_rc_name(ps[1].r.ans.rc));
    for (int i = 0; i < 5; i++)
        event_base_loop(h->base, EVLOOP_NONBLOCK);
    CHECK(ps[0].r.calls == 1 && ps[1].r.calls == 1 && ps[2].r.calls == 1, "free: nothing fires afterwards");
}

/* Nothing listens: TEMPFAIL within the configured timeout. */
static void test_dead(harness *h, const char *dead)
{
    bc_dns_options o = { .servers = dead, .timeout_ms = 300, .tries = 2 };
    bc_dns *d = NULL;
    char err[256];
    CHECK(bc_dns_new(&d, h->base, &o, err, sizeof err) == BC_OK, "dead resolver: %s", err);
    if (!d)
        return;
    time_t t0 = time(NULL);
    result r = resolve(h, d, "multi.bc.test");
    time_t took = time(NULL) - t0;
    check_delivery(&r, "dead server");
    CHECK(r.ans.rc == BC_DNS_TEMPFAIL, "dead server: TEMPFAIL (%s)", bc_dns_rc_name(r.ans.rc));
    CHECK(r.ans.error[0] != '\0', "dead server: error '%s'", r.ans.error);
    CHECK(took <= 5, "dead server: gave up in %ld s", (long)took);
    bc_dns_free(d);
}

/* A tiny cache stays tiny and still answers. */
static void test_bounded(harness *h, const char *servers)
{
    bc_dns_options o = { .servers = servers, .max_cache_entries = 2 };
    bc_dns *d = NULL;
    char err[256];
    if (bc_dns_new(&d, h->base, &o, err, sizeof err) != BC_OK)
        return;
    result r = resolve(h, d, "multi.bc.test");
    bc_dns_stats st;
    bc_dns_get_stats(d, &st);
    CHECK(r.ans.rc == BC_DNS_OK && st.cache_entries <= 2, "bounded cache: %lu entries", st.cache_entries);
    r = resolve(h, d, "multi.bc.test");
    CHECK(r.ans.rc == BC_DNS_OK && !r.ans.from_cache, "bounded cache: evicted answers asked again");
    bc_dns_free(d);
}

/* Bad options are refused with a message. */
static void test_options(harness *h)
{
    bc_dns *d = NULL;
    char err[256] = "";
    bc_dns_options o = { .servers = "not-an-ip" };
    CHECK(bc_dns_new(&d, h->base, &o, err, sizeof err) == BC_EINVAL && !d && err[0], "bad server list refused: %s",
          err);
    bc_dns_free(NULL);
    CHECK(strcmp(bc_dns_rc_name(BC_DNS_NULLMX), "nullmx") == 0, "rc names");
}

int main(void)
{
    const char *servers = getenv("BC_TEST_DNS");
    const char *dead = getenv("BC_TEST_DEAD_DNS");
    if (!servers || !*servers)
        return tap_skip_all("BC_TEST_DNS not set (run through test_dns.sh)");
    harness h = { .base = event_base_new() };
    if (!h.base)
        return tap_skip_all("no event base");
    bc_dns_options o = { .servers = servers };
    bc_dns *d = NULL;
    char err[256] = "";
    CHECK(bc_dns_new(&d, h.base, &o, err, sizeof err) == BC_OK, "bc_dns_new(%s) %s", servers, err);
    if (d) {
        test_multi(&h, d);
        test_nullmx(&h, d);
        test_implicit(&h, d);
        test_noaddr(&h, d);
        test_idn(&h, d);
        test_refused(&h, d);
        test_cache(&h, d);
        test_expiry(&h, d);
        test_coalesce(&h, d);
        bc_dns_free(d);
    }
    test_free_inflight(&h, servers);
    if (dead)
        test_dead(&h, dead);
    else
        CHECK(0, "BC_TEST_DEAD_DNS not set");
    test_bounded(&h, servers);
    test_options(&h);
    event_base_free(h.base);
    return tap_done();
}

/*
 * cmd_worker.c - `bouncecheck worker`: verifies the rows of the server's
 * jobs from a shared PostgreSQL database (src/work/worker.h), on this
 * machine's addresses, until SIGTERM or SIGINT.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <microhttpd.h>

#include "cli.h"
#include "rwatch.h"
#include "log.h"
#include "settings.h"
#include "store.h"
#include "worker.h"

const char cli_help_worker_text[] =
    "Usage: bouncecheck worker --db URL [--name NAME] [--claims N] [--claim-rows N]\n"
    "                          [--lease SECONDS] [--metrics ADDR:PORT] [--offline]\n"
    "                          [engine options]\n"
    "\n"
    "Verifies the rows of the jobs a `bouncecheck serve --db URL` has taken, from the\n"
    "same PostgreSQL database, until stopped with SIGTERM or SIGINT. Run one on each\n"
    "machine (and outgoing address) that is to verify. Rows are claimed in batches of\n"
    "one domain under a lease this worker renews; at most one batch per domain is held\n"
    "over all workers, and each SMTP connection takes one of its MX address's\n"
    "--mx-connections slots in the database, so adding workers never raises the load\n"
    "on one mail server. A worker that dies stops renewing: its rows go to the others\n"
    "after the lease.\n"
    "\n"
    "Options:\n"
    "  --db URL             the server's database, a libpq URL postgres://USER@HOST/DB\n"
    "                       (default $BOUNCECHECK_DB); the password from PGPASSWORD or\n"
    "                       ~/.pgpass rather than the command line\n"
    "  --name NAME          this worker's name in `bouncecheck status` (default: the\n"
    "                       host name)\n"
    "  --claims N           batches (domains) worked on at once (default 8)\n"
    "  --claim-rows N       rows per batch (default 200)\n"
    "  --lease SECONDS      a batch's lease, renewed every third of it (default 60):\n"
    "                       how long the rows of a killed worker wait\n"
    "  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
    "  --offline            syntax and domain data only, as 'verify --offline': no DNS,\n"
    "                       no SMTP, nothing goes over the network but the database;\n"
    "                       every row claimed is decided at once (the engine options\n"
    "                       are not used)\n"
    "\n"
    "Engine options: those of 'bouncecheck verify' (--helo, --from, --dns,\n"
    "--source-ip, --proxy, --providers, --mx-connections, --rcpts-per-connection,\n"
    "--domain-rate,\n"
    "--greylist-schedule, --timeout, --smtp-port, --no-starttls, --no-catch-all,\n"
    "--allow-private, --config FILE). Give each machine its own --source-ip and a\n"
    "--helo name matching that address's reverse DNS.\n"
    "\n"
    "The DNS resolver is checked at start and every 5 minutes (the root zone must\n"
    "resolve, a made-up name must not); a failure is logged and the worker goes on:\n"
    "what that resolver says does not exist becomes unknown/dns_unreliable.\n"
    "\n"
    "On SIGTERM or SIGINT the results at hand are written, the other rows of its\n"
    "batches are given back, and it exits 0. Exit 1: the database cannot be used; 2:\n"
    "a bad command line.\n"
    "\n"
    "Example:\n"
    "  BOUNCECHECK_DB=postgres://bc@db.example.com/bc bouncecheck worker \\\n"
    "    --source-ip 203.0.113.7 --helo mx7.example.com --from verify@example.com\n";

enum {
    OPT_DB = 1000,
    OPT_NAME,
    OPT_CLAIMS,
    OPT_CLAIM_ROWS,
    OPT_LEASE,
    OPT_METRICS,
    OPT_CONFIG,
    OPT_OFFLINE,
    OPT_SETTING_BASE = 2000
};

typedef struct wrun {
    struct event_base *base;
    bc_verifier *v;
    wk *w;
    atomic_uint_fast64_t conns; /* bc_verifier_connections, copied on the loop */
    struct event *sample;
    wk_rwatch *rwatch; /* the resolver check: logged, and in /metrics */
} wrun;

static void sample_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    wrun *r = arg;
    if (r->v)
        atomic_store(&r->conns, bc_verifier_connections(r->v));
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    wrun *r = arg;
    wk_log("%s: stopping (results at hand are written, the other rows given back)",
           sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(r->base);
}

static enum MHD_Result metrics_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)version;
    (void)data;
    (void)size;
    (void)con_cls;
    wrun *r = cls;
    char buf[8192];
    size_t len = 0;
    unsigned status = 200;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
        len = (size_t)snprintf(buf, sizeof buf, "only GET\n");
    } else if (strcmp(url, "/metrics") != 0) {
        status = 404;
        len = (size_t)snprintf(buf, sizeof buf, "not found: try /metrics\n");
    } else {
        len = wk_metrics_text(r->w, buf, sizeof buf);
        int n = snprintf(buf + len, sizeof buf - len,
                         "# HELP bouncecheck_smtp_connections_total SMTP connections opened to mail servers.\n"
                         "# TYPE bouncecheck_smtp_connections_total counter\n"
                         "bouncecheck_smtp_connections_total %llu\n",
                         (unsigned long long)atomic_load(&r->conns));
        if (n > 0 && (size_t)n < sizeof buf - len)
            len += (size_t)n;
        if (r->rwatch)
            len += wk_rwatch_metrics(r->rwatch, buf + len, sizeof buf - len);
    }
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type",
                            status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                          : "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Starts the metrics listener on ADDR:PORT ([v6]:PORT). NULL with err. */
static struct MHD_Daemon *metrics_start(const char *where, wrun *r, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(where, ':');
    long long port;
    if (!colon || colon == where || (size_t)(colon - where) >= sizeof host ||
        !cli_number(colon + 1, 1, 65535, &port)) {
        snprintf(err, errlen, "--metrics: '%s' is not ADDR:PORT", where);
        return NULL;
    }
    memcpy(host, where, (size_t)(colon - where));
    host[colon - where] = '\0';
    bool v6 = host[0] == '[';
    if (v6) {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']') {
            snprintf(err, errlen, "--metrics: '%s' is not ADDR:PORT", where);
            return NULL;
        }
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int len = (int)sizeof ss;
    if (evutil_parse_sockaddr_port(where, (struct sockaddr *)&ss, &len) != 0) {
        snprintf(err, errlen, "--metrics: '%s' is not an IP address and port", where);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                                                (v6 ? MHD_USE_IPv6 : 0),
                                            (uint16_t)port, NULL, NULL, metrics_cb, r, MHD_OPTION_SOCK_ADDR,
                                            (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "--metrics: cannot listen on %s", where);
    return d;
}

int cmd_worker(int argc, char **argv, const cli_global *g)
{
    static const struct option own[] = {
        { "db", 1, NULL, OPT_DB },         { "name", 1, NULL, OPT_NAME },
        { "claims", 1, NULL, OPT_CLAIMS }, { "claim-rows", 1, NULL, OPT_CLAIM_ROWS },
        { "lease", 1, NULL, OPT_LEASE },   { "metrics", 1, NULL, OPT_METRICS },
        { "config", 1, NULL, OPT_CONFIG }, { "offline", 0, NULL, OPT_OFFLINE },
        { "help", 0, NULL, 'h' },
    };
    struct option opts[SETTINGS_MAX + sizeof own / sizeof own[0] + 1];
    size_t nsettings = settings_options(opts, OPT_SETTING_BASE, own, sizeof own / sizeof own[0]);

    cli_settings cs;
    if (!settings_begin(&cs, argc, argv))
        return BC_EXIT_USAGE;
    char err[1024] = "";
    const char *db = getenv("BOUNCECHECK_DB"), *name = NULL, *metrics = NULL;
    long long claims = 8, claim_rows = 200, lease = 60, v;
    bool offline = false;
    int rc = BC_EXIT_OK, c;
    while (rc == BC_EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool bad_setting = false;
        if (settings_getopt(&cs, c, OPT_SETTING_BASE, nsettings, "worker", &bad_setting)) {
            rc = bad_setting ? BC_EXIT_USAGE : rc;
            continue;
        }
        const char *bad = NULL;
        switch (c) {
        case OPT_DB: db = optarg; break;
        case OPT_NAME: name = optarg; break;
        case OPT_METRICS: metrics = optarg; break;
        case OPT_CONFIG: break; /* read above */
        case OPT_OFFLINE: offline = true; break;
        case OPT_CLAIMS:
            if (cli_number(optarg, 1, 256, &v))
                claims = v;
            else
                bad = "claims";
            break;
        case OPT_CLAIM_ROWS:
            if (cli_number(optarg, 1, 100000, &v))
                claim_rows = v;
            else
                bad = "claim-rows";
            break;
        case OPT_LEASE:
            if (cli_number(optarg, 3, 86400, &v))
                lease = v;
            else
                bad = "lease";
            break;
        case 'h':
            cli_help("worker", stdout);
            settings_free(&cs);
            return BC_EXIT_OK;
        default: rc = BC_EXIT_USAGE; break;
        }
        if (bad) {
            cli_error("worker: --%s: '%s' is not a valid value (see bouncecheck help worker)", bad, optarg);
            rc = BC_EXIT_USAGE;
        }
    }
    if (rc == BC_EXIT_OK && optind < argc) {
        cli_error("worker: unexpected argument '%s'", argv[optind]);
        rc = BC_EXIT_USAGE;
    }
    if (rc == BC_EXIT_OK && (!db || !*db)) {
        cli_error("worker: --db URL is required (or $BOUNCECHECK_DB): the server's PostgreSQL database");
        rc = BC_EXIT_USAGE;
    } else if (rc == BC_EXIT_OK && !st_store_is_pg(db)) {
        cli_error("worker: --db must be a postgres:// or postgresql:// URL (workers share the server's database)");
        rc = BC_EXIT_USAGE;
    }
    if (rc != BC_EXIT_OK) {
        fputs("Try 'bouncecheck help worker'.\n", stderr);
        settings_free(&cs);
        return rc;
    }

    signal(SIGPIPE, SIG_IGN);
    wk_log_name("worker");
    bc_options o = { .data_dir = g->data_dir, .providers_file = cs.providers };
    bc_ctx *ctx = NULL;
    st_store *store = NULL;
    wrun r;
    memset(&r, 0, sizeof r);
    struct MHD_Daemon *md = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    rc = BC_EXIT_FAILURE;
    if (bc_ctx_new(&ctx, &o, err, sizeof err) != BC_OK) {
        cli_error("worker: cannot load the domain data: %s", err);
        goto out;
    }
    if (!(store = cli_store_open("worker", db, NULL)))
        goto out;
    r.base = event_base_new();
    if (!r.base) {
        cli_error("worker: cannot create the event loop");
        goto out;
    }
    cs.o.trace = false;
    if (!offline && bc_verifier_new(&r.v, ctx, r.base, &cs.o, err, sizeof err) != BC_OK) {
        cli_error("worker: %s", err);
        goto out;
    }
    wk_opts wo = { .store = store,
                   .base = r.base,
                   .v = r.v,
                   .offline = offline ? ctx : NULL,
                   .vo = &cs.o,
                   .name = name,
                   .claims = (int)claims,
                   .claim_rows = (int)claim_rows,
                   .lease_ms = lease * 1000 };
    r.w = wk_start(&wo, err, sizeof err);
    if (!r.w) {
        cli_error("worker: %s", err);
        goto out;
    }
    if (offline)
        wk_log("offline: syntax and domain data only, nothing goes over the network but the database");
    else
        wk_log("identity: EHLO %s, MAIL FROM <%s>", bc_verifier_helo(r.v), bc_verifier_mail_from(r.v));
    /* A resolver that fails its check is logged and the worker goes on:
     * the verifier keeps its negative answers from making addresses
     * undeliverable (unknown/dns_unreliable), and a worker that stopped
     * would only leave its rows to the others' same resolver. (Offline:
     * no resolver.) */
    if (!offline && !(r.rwatch = wk_rwatch_start(r.base, r.v))) {
        cli_error("worker: out of memory");
        goto out;
    }
    if (metrics && !(md = metrics_start(metrics, &r, err, sizeof err))) {
        cli_error("worker: %s", err);
        goto out;
    }
    sigint = evsignal_new(r.base, SIGINT, stop_cb, &r);
    sigterm = evsignal_new(r.base, SIGTERM, stop_cb, &r);
    r.sample = event_new(r.base, -1, EV_PERSIST, sample_cb, &r);
    struct timeval one = { 1, 0 };
    if (!sigint || !sigterm || !r.sample || event_add(sigint, NULL) != 0 || event_add(sigterm, NULL) != 0 ||
        event_add(r.sample, &one) != 0) {
        cli_error("worker: out of memory");
        goto out;
    }
    event_base_dispatch(r.base);
    rc = BC_EXIT_OK;
out:
    if (md)
        MHD_stop_daemon(md);
    wk_shutdown(r.w);
    wk_rwatch_stop(r.rwatch);
    if (r.sample)
        event_del(r.sample); /* it reads r.v, and the loop below runs it */
    bc_verifier_free(r.v);   /* cancelled callbacks land in the stopped worker */
    for (int i = 0; r.base && i < 8; i++)
        event_base_loop(r.base, EVLOOP_NONBLOCK);
    wk_free(r.w);
    wk_rwatch_free(r.rwatch);
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (r.sample)
        event_free(r.sample);
    if (r.base)
        event_base_free(r.base);
    st_store_close(store);
    bc_ctx_free(ctx);
    settings_free(&cs);
    return rc;
}

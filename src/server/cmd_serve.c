/*
 * cmd_serve.c - `bouncecheck serve`: its options, then the HTTP JSON API
 * (server.h). The command has the CLI's shape (src/cli/cli.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "server.h"
#include "settings.h"
#include "store.h"
#include "sv.h"

const char cli_help_serve_text[] =
    "Usage: bouncecheck serve [--listen ADDR:PORT] [--data DIR] [--db URL] [OPTIONS]\n"
    "\n"
    "Run the HTTP JSON API: real-time verification (GET/POST /v1/verify), bulk jobs\n"
    "(POST /v1/jobs with a CSV, TSV, text, NDJSON, JSON or multipart upload; progress\n"
    "and results under /v1/jobs/ID), /healthz, /metrics (Prometheus) and\n"
    "/openapi.json, which documents every endpoint. Jobs survive restarts: a job\n"
    "interrupted by a crash or kill goes on where it stopped at the next start.\n"
    "Online, the DNS resolver is checked at start and every 5 minutes (the root\n"
    "zone must resolve, a made-up name must not): while it fails, /healthz says\n"
    "\"degraded\" and what that resolver says does not exist is unknown/dns_unreliable.\n"
    "Online, it also audits itself as a sender at start (`bouncecheck doctor`: PTR,\n"
    "HELO, MAIL FROM, port 25, blocklists), logs each check that did not pass, and\n"
    "answers GET /v1/doctor with the report (kept 5 minutes).\n"
    "\n"
    "Server:\n"
    "  --listen ADDR:PORT       where to listen (default 127.0.0.1:8025; [::1]:8025 for\n"
    "                           IPv6). Beyond loopback an API key must exist first\n"
    "  --data DIR               keys, jobs and cache (default $BOUNCECHECK_DATA, else\n"
    "                           $XDG_DATA_HOME/bouncecheck or ~/.local/share/bouncecheck)\n"
    "  --db URL                 keep keys, usage, the job catalogue and the cache in\n"
    "                           PostgreSQL: a libpq URL, postgres://USER@HOST:PORT/DB\n"
    "                           (default $BOUNCECHECK_DB; give the password through\n"
    "                           PGPASSWORD or ~/.pgpass). Jobs' files are kept there\n"
    "                           too (--data holds copies): any number of servers on\n"
    "                           one database answer for every job; the jobs' rows are\n"
    "                           verified by these servers and by every\n"
    "                           `bouncecheck worker --db` on the same database\n"
    "  --no-work                with a postgres:// --db: verify no job rows here, leave\n"
    "                           them to `bouncecheck worker`s (an API-only node)\n"
    "  --tls-cert FILE --tls-key FILE  serve HTTPS (PEM files)\n"
    "  --offline                syntax and domain data only; nothing goes over the network\n"
    "  --cache-ttl SECONDS      keep single results this long (default 86400; 0: no\n"
    "                           cache); \"could not tell\" results at most 300 s\n"
    "  --retention DAYS         delete jobs and their data after this (default 30)\n"
    "  --max-body MB            largest request body (default 100)\n"
    "  --max-rows N             largest job (default 1000000 rows)\n"
    "  --max-running N          jobs verified at the same time (default 4)\n"
    "  --max-extract-seconds S  /v1/extract: CPU time an upload may take (default\n"
    "                           10; 0: no limit)\n"
    "  --max-extract-bytes N    /v1/extract: what an upload may decode to, with K, M\n"
    "                           or G (default 256M; 0: no limit)\n"
    "  --extract-workers N      /v1/extract: uploads decoded at once (default 2; 1 on\n"
    "                           one core)\n"
    "  --extract-queue N        /v1/extract: uploads that may wait (default 8); one\n"
    "                           more gets 429 with Retry-After\n"
    "  --webhook-secret S       key of the webhooks' HMAC-SHA256 signature (default:\n"
    "                           DATA/webhook-secret, made at the first start)\n"
    "  --insecure-no-auth       allow listening beyond loopback with no API key\n"
    "  --debug                  log every request, with its address\n";

/* The second part of the help (one string literal stays under 4095 bytes). */
const char cli_help_serve_text2[] =
    "\n"
    "Connections (whole-request deadlines, not idle timers: a byte a second does not\n"
    "keep a connection open):\n"
    "  --max-connections N      concurrent connections (default 512). Beyond it a new\n"
    "                           connection takes the place of the one waiting longest\n"
    "                           with no request in progress, else it is closed at once\n"
    "  --max-connections-per-ip N  concurrent connections from one client address\n"
    "                           (an IPv6 /64) (default 32; 0: no limit); more are\n"
    "                           closed at once\n"
    "  --trusted-proxy ADDR[/BITS]  a reverse proxy (repeatable, or comma-separated):\n"
    "                           for its connections the client address is taken from\n"
    "                           X-Forwarded-For, and a client's requests beyond\n"
    "                           --max-connections-per-ip get 429; the proxy itself is\n"
    "                           not limited per address\n"
    "  --header-timeout S       a request's line and headers must be complete within S\n"
    "                           seconds of the connection's start, however the bytes\n"
    "                           trickle in (default 10)\n"
    "  --body-min-rate BYTES    after the first --header-timeout seconds, a body must\n"
    "                           average this many bytes a second (default 1024; 0: no\n"
    "                           minimum); a slower one is cut (an upload gets 408)\n"
    "  --keepalive-timeout S    close a connection idle this long between requests\n"
    "                           (default 5); the next headers must be complete within\n"
    "                           this plus --header-timeout of the last answer\n"
    "  --request-timeout S      close a connection whose request or answer makes no\n"
    "                           progress for this long (default 30)\n"
    "\n"
    "Verification: every option of 'bouncecheck verify' that sets up the engine\n"
    "(--helo, --from, --dns, --allow-private, --timeout, --mx-connections,\n"
    "--rcpts-per-connection, --domain-rate, --greylist-schedule, --source-ip, --proxy,\n"
    "--providers,\n"
    "--smtp-port, --no-starttls, --no-catch-all, --config FILE), with the same\n"
    "config file keys and BOUNCECHECK_* environment variables.\n"
    "\n"
    "API keys: 'bouncecheck keys create' prints a new key; once any key exists every\n"
    "/v1 request needs 'Authorization: Bearer KEY', and a key sees only its own jobs.\n"
    "Addresses are never logged unless --debug is given.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck serve\n"
    "  curl 'http://127.0.0.1:8025/v1/verify?email=someone@example.com'\n"
    "  curl -H 'Content-Type: text/csv' --data-binary @contacts.csv http://127.0.0.1:8025/v1/jobs\n"
    "  curl -o checked.csv http://127.0.0.1:8025/v1/jobs/ID/results\n";

enum {
    OPT_LISTEN = 1000,
    OPT_DATA,
    OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_OFFLINE,
    OPT_CACHE_TTL,
    OPT_RETENTION,
    OPT_MAX_BODY,
    OPT_MAX_ROWS,
    OPT_MAX_CONN,
    OPT_REQ_TIMEOUT,
    OPT_MAX_RUNNING,
    OPT_EXTRACT_SECONDS,
    OPT_EXTRACT_BYTES,
    OPT_EXTRACT_WORKERS,
    OPT_EXTRACT_QUEUE,
    OPT_SECRET,
    OPT_NO_AUTH,
    OPT_DEBUG,
    OPT_CONFIG,
    OPT_DB,
    OPT_NO_WORK,
    OPT_MAX_CONN_IP,
    OPT_TRUSTED_PROXY,
    OPT_HEADER_TIMEOUT,
    OPT_BODY_MIN_RATE,
    OPT_KEEPALIVE_TIMEOUT,
    OPT_SETTING_BASE = 2000
};

int cmd_serve(int argc, char **argv, const cli_global *g)
{
    static const struct option own[] = {
        { "listen", 1, NULL, OPT_LISTEN },
        { "data", 1, NULL, OPT_DATA },
        { "tls-cert", 1, NULL, OPT_TLS_CERT },
        { "tls-key", 1, NULL, OPT_TLS_KEY },
        { "offline", 0, NULL, OPT_OFFLINE },
        { "cache-ttl", 1, NULL, OPT_CACHE_TTL },
        { "retention", 1, NULL, OPT_RETENTION },
        { "max-body", 1, NULL, OPT_MAX_BODY },
        { "max-rows", 1, NULL, OPT_MAX_ROWS },
        { "max-connections", 1, NULL, OPT_MAX_CONN },
        { "request-timeout", 1, NULL, OPT_REQ_TIMEOUT },
        { "max-connections-per-ip", 1, NULL, OPT_MAX_CONN_IP },
        { "trusted-proxy", 1, NULL, OPT_TRUSTED_PROXY },
        { "header-timeout", 1, NULL, OPT_HEADER_TIMEOUT },
        { "body-min-rate", 1, NULL, OPT_BODY_MIN_RATE },
        { "keepalive-timeout", 1, NULL, OPT_KEEPALIVE_TIMEOUT },
        { "max-running", 1, NULL, OPT_MAX_RUNNING },
        { "max-extract-seconds", 1, NULL, OPT_EXTRACT_SECONDS },
        { "max-extract-bytes", 1, NULL, OPT_EXTRACT_BYTES },
        { "extract-workers", 1, NULL, OPT_EXTRACT_WORKERS },
        { "extract-queue", 1, NULL, OPT_EXTRACT_QUEUE },
        { "webhook-secret", 1, NULL, OPT_SECRET },
        { "insecure-no-auth", 0, NULL, OPT_NO_AUTH },
        { "debug", 0, NULL, OPT_DEBUG },
        { "config", 1, NULL, OPT_CONFIG },
        { "db", 1, NULL, OPT_DB },
        { "no-work", 0, NULL, OPT_NO_WORK },
        { "help", 0, NULL, 'h' },
    };
    struct option opts[SETTINGS_MAX + sizeof own / sizeof own[0] + 1];
    size_t nsettings = settings_options(opts, OPT_SETTING_BASE, own, sizeof own / sizeof own[0]);

    cli_settings cs;
    if (!settings_begin(&cs, argc, argv))
        return BC_EXIT_USAGE;
    char err[512] = "";
    sv_opts so = {
        .listen = "127.0.0.1:8025",
        .data_dir = NULL,
        .retention_days = 30,
        .cache_ttl = 86400,
        .max_body = 100LL << 20,
        .max_rows = 1000000,
        .max_connections = 512,
        .max_connections_per_ip = 32,
        .request_timeout = 30,
        .header_timeout = 10,
        .keepalive_timeout = 5,
        .body_min_rate = 1024,
        .max_running = 4,
        .extract_workers = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1,
        .extract_queue = 8,
        .db = getenv("BOUNCECHECK_DB"),
    };
    int rc = BC_EXIT_OK, c;
    long long v;
    while (rc == BC_EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool bad_setting = false;
        if (settings_getopt(&cs, c, OPT_SETTING_BASE, nsettings, "serve", &bad_setting)) {
            rc = bad_setting ? BC_EXIT_USAGE : rc;
            continue;
        }
        const char *bad = NULL;
        switch (c) {
        case OPT_LISTEN: so.listen = optarg; break;
        case OPT_DATA: so.data_dir = optarg; break;
        case OPT_DB: so.db = optarg; break;
        case OPT_NO_WORK: so.no_work = true; break;
        case OPT_TLS_CERT: so.tls_cert = optarg; break;
        case OPT_TLS_KEY: so.tls_key = optarg; break;
        case OPT_OFFLINE: so.offline = true; break;
        case OPT_SECRET: so.webhook_secret = optarg; break;
        case OPT_NO_AUTH: so.insecure_no_auth = true; break;
        case OPT_DEBUG: so.debug = true; break;
        case OPT_CONFIG: break; /* read above */
        case OPT_CACHE_TTL:
            if (cli_number(optarg, 0, 365LL * 86400, &v))
                so.cache_ttl = v;
            else
                bad = "cache-ttl";
            break;
        case OPT_RETENTION:
            if (cli_number(optarg, 1, 3650, &v))
                so.retention_days = (int)v;
            else
                bad = "retention";
            break;
        case OPT_MAX_BODY:
            if (cli_number(optarg, 1, 1LL << 20, &v))
                so.max_body = v << 20;
            else
                bad = "max-body";
            break;
        case OPT_MAX_ROWS:
            if (cli_number(optarg, 1, 1000000000LL, &v))
                so.max_rows = v;
            else
                bad = "max-rows";
            break;
        case OPT_MAX_CONN:
            if (cli_number(optarg, 1, 100000, &v))
                so.max_connections = (int)v;
            else
                bad = "max-connections";
            break;
        case OPT_REQ_TIMEOUT:
            if (cli_number(optarg, 1, 3600, &v))
                so.request_timeout = (int)v;
            else
                bad = "request-timeout";
            break;
        case OPT_MAX_CONN_IP:
            if (cli_number(optarg, 0, 100000, &v))
                so.max_connections_per_ip = (int)v;
            else
                bad = "max-connections-per-ip";
            break;
        case OPT_HEADER_TIMEOUT:
            if (cli_number(optarg, 1, 3600, &v))
                so.header_timeout = (int)v;
            else
                bad = "header-timeout";
            break;
        case OPT_KEEPALIVE_TIMEOUT:
            if (cli_number(optarg, 1, 3600, &v))
                so.keepalive_timeout = (int)v;
            else
                bad = "keepalive-timeout";
            break;
        case OPT_BODY_MIN_RATE:
            if (cli_number(optarg, 0, 1LL << 30, &v))
                so.body_min_rate = v;
            else
                bad = "body-min-rate";
            break;
        case OPT_TRUSTED_PROXY:
            if (so.n_trusted_proxies == SV_MAX_TRUSTED_PROXIES) {
                cli_error("serve: at most %d --trusted-proxy options: list several addresses in one,"
                          " comma-separated",
                          SV_MAX_TRUSTED_PROXIES);
                rc = BC_EXIT_USAGE;
            } else if (sv_conns_check_proxies(optarg, err, sizeof err) != 0) {
                cli_error("serve: --trusted-proxy: %s", err);
                rc = BC_EXIT_USAGE;
            } else {
                so.trusted_proxies[so.n_trusted_proxies++] = optarg;
            }
            break;
        case OPT_EXTRACT_SECONDS:
        case OPT_EXTRACT_BYTES:
            if (!cli_extract_limit(&so.extract, c == OPT_EXTRACT_SECONDS ? "seconds" : "bytes", optarg))
                bad = c == OPT_EXTRACT_SECONDS ? "max-extract-seconds" : "max-extract-bytes";
            break;
        case OPT_EXTRACT_WORKERS:
            if (cli_number(optarg, 1, 64, &v))
                so.extract_workers = (int)v;
            else
                bad = "extract-workers";
            break;
        case OPT_EXTRACT_QUEUE:
            if (cli_number(optarg, 0, 100000, &v))
                so.extract_queue = (int)v;
            else
                bad = "extract-queue";
            break;
        case OPT_MAX_RUNNING:
            if (cli_number(optarg, 1, 64, &v))
                so.max_running = (int)v;
            else
                bad = "max-running";
            break;
        case 'h':
            cli_help("serve", stdout);
            settings_free(&cs);
            return BC_EXIT_OK;
        default: rc = BC_EXIT_USAGE; break;
        }
        if (bad) {
            cli_error("serve: --%s: '%s' is not a valid value (see bouncecheck help serve)", bad, optarg);
            rc = BC_EXIT_USAGE;
        }
    }
    if (rc == BC_EXIT_OK && optind < argc) {
        cli_error("serve: unexpected argument '%s'", argv[optind]);
        rc = BC_EXIT_USAGE;
    }
    if (rc == BC_EXIT_OK && so.no_work && !st_store_is_pg(so.db)) {
        cli_error("serve: --no-work needs --db postgres://...: workers elsewhere verify the jobs' rows");
        rc = BC_EXIT_USAGE;
    }
    if (rc == BC_EXIT_OK && (!so.tls_cert) != (!so.tls_key)) {
        cli_error("serve: --tls-cert and --tls-key go together");
        rc = BC_EXIT_USAGE;
    }
    if (rc != BC_EXIT_OK) {
        fputs("Try 'bouncecheck help serve'.\n", stderr);
        settings_free(&cs);
        return rc;
    }
    if (!so.data_dir)
        so.data_dir = cli_server_data_dir();
    bc_options o = { .data_dir = g->data_dir, .providers_file = cs.providers };
    bc_ctx *ctx = NULL;
    if (bc_ctx_new(&ctx, &o, err, sizeof err) != BC_OK) {
        cli_error("cannot load the domain data: %s", err);
        settings_free(&cs);
        return BC_EXIT_FAILURE;
    }
    /* transcripts are kept for GET /v1/verify?trace=1 (the web UI's
     * technical view), dropped from every other answer and the cache */
    cs.o.trace = true;
    so.vo = &cs.o;
    so.ctx = ctx;
    rc = sv_serve(&so) == 0 ? BC_EXIT_OK : BC_EXIT_FAILURE;
    bc_ctx_free(ctx);
    settings_free(&cs);
    return rc;
}

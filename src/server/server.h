/*
 * server.h - the server layer's interface: `bouncecheck serve`, the HTTP
 * JSON API over the library, the bulk engine (src/bulk/runner.h), the
 * store (src/store/store.h) and the work layer (src/work/: the worker,
 * the coordinator of shared jobs). Its internals: sv.h.
 *
 * Threads:
 *   - the engine (the caller's thread): one libevent loop holding the
 *     verifier, the bulk scheduler and the running jobs (engine.c);
 *   - libmicrohttpd's threads: parse requests, answer from memory (cache,
 *     keys, job catalogue) and hand anything slow to the engine or a
 *     task thread, suspending the connection until it is done (http.c, api.h);
 *   - task threads (sv_pool): file work (importing uploads, exporting results,
 *     deleting job data), webhooks, domain checks (/v1/dns), and a pool of
 *     --extract-workers threads with a bounded queue for /v1/extract.
 */
#ifndef BC_SERVER_H
#define BC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bouncecheck.h"
#include "cli.h"

#define SV_MAX_TRUSTED_PROXIES 32 /* --trusted-proxy options (each may list several) */

typedef struct sv_opts {
    const char *listen; /* ADDR:PORT; [v6]:PORT */
    const char *data_dir;
    const char *db;                 /* NULL: SQLite in data_dir; else a postgres:// URL
                                * (the catalogue and the job files; data_dir holds copies) */
    const char *tls_cert, *tls_key; /* both or neither */
    const char *webhook_secret;     /* NULL: DATA/webhook-secret, made once */
    int retention_days;             /* job data kept this long */
    int64_t cache_ttl;              /* seconds; 0: no cache */
    int64_t max_body;               /* bytes */
    int64_t max_rows;
    int max_connections;
    int max_connections_per_ip; /* per client address (IPv6: /64); 0: no limit */
    int request_timeout;        /* seconds a request or its answer may make no progress */
    int header_timeout;         /* seconds from a connection's start to its complete headers */
    int keepalive_timeout;      /* seconds a connection may wait idle between requests */
    int64_t body_min_rate;      /* bytes a second a body averages after header_timeout; 0: none */
    const char *trusted_proxies[SV_MAX_TRUSTED_PROXIES]; /* ADDR[/BITS][,...]: X-Forwarded-For is theirs */
    int n_trusted_proxies;
    int max_running;                  /* jobs verified at once; others wait queued */
    bc_extract_options extract;       /* /v1/extract's limits (max_seconds, max_bytes) */
    int extract_workers;              /* /v1/extract: uploads decoded at once */
    int extract_queue;                /* /v1/extract: uploads waiting, beyond which 429 */
    bool offline;                     /* syntax and domain data only */
    bool debug;                       /* addresses in the log */
    bool insecure_no_auth;            /* listen beyond loopback without any key */
    bool no_work;                     /* with a postgres:// db: verify no job rows here (API-only node) */
    int work_claims, work_claim_rows; /* the in-process worker's batches (0: defaults) */
    int64_t work_lease_ms;
    const bc_verify_options *vo;
    bc_ctx *ctx;
} sv_opts;

/* Runs the server until SIGINT or SIGTERM. Returns an exit code
 * (0 after a clean stop). Messages go to stderr. */
int sv_serve(const sv_opts *o);

/* `bouncecheck serve` (cmd_serve.c): its options into sv_opts, then
 * sv_serve. A command of the CLI's shape (src/cli/cli.h), added to the
 * CLI's table by the program (src/main.c). */
int cmd_serve(int argc, char **argv, const cli_global *g);
extern const char cli_help_serve_text[], cli_help_serve_text2[];

#endif

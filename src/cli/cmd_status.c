/*
 * cmd_status.c - `bouncecheck status`: what the nodes sharing the server's
 * database are doing (issue 9): the registered workers and whether they
 * still heartbeat, the live claims (which worker holds which domain of
 * which job, and for how long), and the queue of each job whose rows are
 * in the store. Reads only; as a table or one JSON object.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "store.h"

/* A worker last seen longer ago than this is shown as stale: it heartbeats
 * every 5 s, so three beats missed. */
#define STATUS_ALIVE_MS 15000

const char cli_help_status_text[] =
    "Usage: bouncecheck status [--db URL | --data DIR] [--json]\n"
    "\n"
    "Show what the nodes sharing the server's database are doing: the workers\n"
    "(`bouncecheck worker`, and servers that verify jobs) with the addresses they\n"
    "send from and when they were last seen; the live claims (the batches of one\n"
    "domain a worker holds, with the rows left and the time left on the lease);\n"
    "and the queue: each queued or running job with its rows pending, claimed and\n"
    "done. A worker is alive when it was last seen within 15 seconds (workers\n"
    "heartbeat every 5 seconds), else stale: stopped without a clean exit, hung,\n"
    "or cut off from the database; its claims run out with their leases.\n"
    "Nothing is changed.\n"
    "\n"
    "Options:\n"
    "  --db URL        the server's PostgreSQL database, as a libpq URL:\n"
    "                  postgres://USER@HOST:PORT/DB (default $BOUNCECHECK_DB); give\n"
    "                  the password by PGPASSWORD or ~/.pgpass, not in the URL\n"
    "  --data DIR      without a database URL: the server's data directory, whose\n"
    "                  SQLite store is read; it must exist (default\n"
    "                  $BOUNCECHECK_DATA, else $XDG_DATA_HOME/bouncecheck or\n"
    "                  ~/.local/share/bouncecheck)\n"
    "  --json          print one JSON object {\"workers\": [...], \"claims\": [...],\n"
    "                  \"queue\": [...]}; times in RFC 3339 (UTC)\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 success, 1 database error, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck status --db postgres://bc@db.example.com/bc\n"
    "  BOUNCECHECK_DB=postgres://bc@db.example.com/bc bouncecheck status --json\n";

/* What `status` read from the store. */
typedef struct status_data {
    int64_t now_ms;
    st_worker_info *workers;
    size_t n_workers;
    st_claim_info *claims;
    size_t n_claims;
    st_queue_info *queue;
    size_t n_queue;
    char **names;    /* per queue entry: the job's name, malloc'd, or NULL */
    int64_t *totals; /* per queue entry: the job's rows (st_job.total) */
} status_data;

/* Frees what d holds (not d itself). Accepts NULL. */
static void status_data_clear(status_data *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->names && i < d->n_queue; i++)
        free(d->names[i]);
    free(d->names);
    free(d->totals);
    free(d->queue);
    free(d->claims);
    free(d->workers);
    memset(d, 0, sizeof *d);
}

/* The time now in unix ms. */
static int64_t now_unix_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (int64_t)time(NULL) * 1000;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads everything `status` shows into *d (status_data_clear it, also on
 * failure). 0, or -1 with a message in err. */
static int status_read(st_store *s, status_data *d, char *err, size_t errlen)
{
    d->now_ms = now_unix_ms();
    if (st_worker_list(s, &d->workers, &d->n_workers) != 0) {
        snprintf(err, errlen, "cannot list the workers: %s", st_store_error(s));
        return -1;
    }
    if (st_claims_list(s, d->now_ms, &d->claims, &d->n_claims) != 0) {
        snprintf(err, errlen, "cannot list the claims: %s", st_store_error(s));
        return -1;
    }
    if (st_queue_list(s, &d->queue, &d->n_queue) != 0) {
        snprintf(err, errlen, "cannot list the queue: %s", st_store_error(s));
        return -1;
    }
    if (d->n_queue == 0)
        return 0;
    d->names = calloc(d->n_queue, sizeof *d->names);
    d->totals = calloc(d->n_queue, sizeof *d->totals);
    if (!d->names || !d->totals) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < d->n_queue; i++) {
        st_job j;
        memset(&j, 0, sizeof j);
        int rc = st_job_get(s, d->queue[i].job_id, &j);
        if (rc < 0) {
            snprintf(err, errlen, "cannot read job %s: %s", d->queue[i].job_id, st_store_error(s));
            return -1;
        }
        if (rc == 1) { /* else deleted meanwhile: shown without name and total */
            d->names[i] = j.name;
            j.name = NULL;
            d->totals[i] = j.total;
        }
        st_job_clear(&j);
    }
    return 0;
}

/* Unix ms as UTC text into buf: RFC 3339 ("2026-11-29T09:00:00Z") or, for
 * the table, "2026-11-29 09:00:00". */
static void format_ms(int64_t ms, bool rfc3339, char *buf, size_t size)
{
    time_t tt = (time_t)(ms / 1000);
    struct tm tm;
    size_t n = 0;
    if (gmtime_r(&tt, &tm))
        n = strftime(buf, size, rfc3339 ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M:%S", &tm);
    if (n == 0)
        snprintf(buf, size, "%lld", (long long)ms);
}

/* Whole seconds from `from` to `to` (unix ms), 0 when to is earlier
 * (clocks of different machines). */
static int64_t secs_between(int64_t from, int64_t to)
{
    return to > from ? (to - from) / 1000 : 0;
}

/* A duration for the table: "42s", "5m", "3h", "2d" (rounded down). */
static void format_duration(int64_t secs, char *buf, size_t size)
{
    if (secs < 120)
        snprintf(buf, size, "%llds", (long long)secs);
    else if (secs < 2 * 3600)
        snprintf(buf, size, "%lldm", (long long)(secs / 60));
    else if (secs < 2 * 86400)
        snprintf(buf, size, "%lldh", (long long)(secs / 3600));
    else
        snprintf(buf, size, "%lldd", (long long)(secs / 86400));
}

static bool worker_alive(const st_worker_info *w, int64_t now_ms)
{
    return now_ms - w->last_seen <= STATUS_ALIVE_MS;
}

/* The registered worker whose id is `id`, or NULL. */
static const st_worker_info *find_worker(const status_data *d, const char *id)
{
    for (size_t i = 0; id[0] && i < d->n_workers; i++)
        if (strcmp(d->workers[i].id, id) == 0)
            return &d->workers[i];
    return NULL;
}

/* Rows of a queue entry the store holds (its weights), and the share done
 * in percent (-1 when it holds none). */
static double queue_percent(const st_queue_info *q)
{
    int64_t all = q->c.pending + q->c.claimed + q->c.done;
    return all > 0 ? 100.0 * (double)q->c.done / (double)all : -1;
}

/* A JSON string of s, which the store keeps as given: invalid UTF-8 is
 * shown escaped. NULL or "" gives JSON null. A new reference, or NULL on
 * ENOMEM. */
static json_t *json_text(const char *s)
{
    if (!s || !*s)
        return json_null();
    json_t *j = json_stringn(s, strlen(s));
    if (!j) {
        char *safe = cli_sanitize(s, strlen(s));
        j = safe ? json_string(safe) : NULL;
        free(safe);
    }
    return j;
}

/* json_object_set_new that reports failure (also of a NULL value). */
static bool set(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

/* A JSON array of the comma-separated addresses in addrs. */
static json_t *json_addrs(const char *addrs)
{
    json_t *a = json_array();
    const char *p = addrs;
    while (a && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            char *one = strndup(p, len);
            json_t *v = one ? json_text(one) : NULL;
            free(one);
            if (!v || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return a;
}

/* Everything as one JSON object; a new reference, or NULL on ENOMEM. */
static json_t *status_json(const status_data *d)
{
    json_t *root = json_object(), *workers = json_array(), *claims = json_array(), *queue = json_array();
    bool ok = root && set(root, "workers", workers) && set(root, "claims", claims) && set(root, "queue", queue);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    for (size_t i = 0; ok && i < d->n_workers; i++) {
        const st_worker_info *w = &d->workers[i];
        char started[40], seen[40];
        format_ms(w->started_at, true, started, sizeof started);
        format_ms(w->last_seen, true, seen, sizeof seen);
        json_t *e = json_object();
        ok = e && json_array_append_new(workers, e) == 0 && set(e, "id", json_string(w->id)) &&
             set(e, "name", json_text(w->name)) && set(e, "host", json_text(w->host)) &&
             set(e, "addresses", json_addrs(w->addrs)) && set(e, "started_at", json_string(started)) &&
             set(e, "last_seen", json_string(seen)) &&
             set(e, "last_seen_ago", json_integer((json_int_t)secs_between(w->last_seen, d->now_ms))) &&
             set(e, "alive", json_boolean(worker_alive(w, d->now_ms)));
    }
    for (size_t i = 0; ok && i < d->n_claims; i++) {
        const st_claim_info *c = &d->claims[i];
        const st_worker_info *w = find_worker(d, c->holder);
        char until[40];
        format_ms(c->lease_until, true, until, sizeof until);
        json_t *e = json_object();
        ok = e && json_array_append_new(claims, e) == 0 && set(e, "id", json_string(c->id)) &&
             set(e, "worker", json_text(c->holder)) && set(e, "worker_name", json_text(w ? w->name : NULL)) &&
             set(e, "job", json_string(c->job_id)) && set(e, "domain", json_text(c->domain)) &&
             set(e, "rows", json_integer((json_int_t)c->rows)) && set(e, "lease_until", json_string(until)) &&
             set(e, "lease_left", json_integer((json_int_t)secs_between(d->now_ms, c->lease_until)));
    }
    for (size_t i = 0; ok && i < d->n_queue; i++) {
        const st_queue_info *q = &d->queue[i];
        char created[40];
        format_ms(q->created_at * 1000, true, created, sizeof created);
        double pct = queue_percent(q);
        json_t *e = json_object();
        ok = e && json_array_append_new(queue, e) == 0 && set(e, "job", json_string(q->job_id)) &&
             set(e, "name", json_text(d->names[i])) &&
             set(e, "status", json_string(st_job_status_name(q->status))) &&
             set(e, "created_at", json_string(created)) &&
             set(e, "pending", json_integer((json_int_t)q->c.pending)) &&
             set(e, "claimed", json_integer((json_int_t)q->c.claimed)) &&
             set(e, "done", json_integer((json_int_t)q->c.done)) &&
             set(e, "total", json_integer((json_int_t)d->totals[i])) &&
             set(e, "percent", pct < 0 ? json_null() : json_real((double)(int64_t)(pct * 10) / 10));
    }
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Adds a row to *t; on ENOMEM frees the table and sets *t to NULL. */
static void add_row(cli_table **t, const char *const *cells)
{
    if (*t && !cli_table_add(*t, cells)) {
        cli_table_free(*t);
        *t = NULL;
    }
}

/* Prints t under its title, or just the title when it has no rows, and
 * frees it. false when t is NULL (ENOMEM while filling it). */
static bool print_section(cli_table *t, size_t rows, const char *title, FILE *out)
{
    if (!t)
        return false;
    fputs(title, out);
    fputc('\n', out);
    if (rows > 0)
        cli_table_print(t, out);
    cli_table_free(t);
    return true;
}

/* The workers' section; false on ENOMEM. */
static bool print_workers(const status_data *d, FILE *out)
{
    static const char *const headers[] = {
        "ID", "NAME", "HOST", "ADDRESSES", "STARTED (UTC)", "LAST SEEN", "STATE"
    };
    cli_table *t = cli_table_new(7, headers);
    size_t alive = 0;
    for (size_t i = 0; t && i < d->n_workers; i++) {
        const st_worker_info *w = &d->workers[i];
        char started[40], ago[32], seen[48];
        format_ms(w->started_at, false, started, sizeof started);
        format_duration(secs_between(w->last_seen, d->now_ms), ago, sizeof ago);
        snprintf(seen, sizeof seen, "%s ago", ago);
        bool live = worker_alive(w, d->now_ms);
        if (live)
            alive++;
        const char *cells[7] = { w->id,
                                 w->name[0] ? w->name : NULL,
                                 w->host[0] ? w->host : NULL,
                                 w->addrs[0] ? w->addrs : "default",
                                 started,
                                 seen,
                                 live ? "alive" : "stale" };
        add_row(&t, cells);
    }
    char title[96];
    if (d->n_workers == 0)
        snprintf(title, sizeof title, "Workers: none registered");
    else
        snprintf(title, sizeof title, "Workers: %zu (%zu alive, %zu stale)", d->n_workers, alive,
                 d->n_workers - alive);
    return print_section(t, d->n_workers, title, out);
}

/* The claims' section; false on ENOMEM. */
static bool print_claims(const status_data *d, FILE *out)
{
    static const char *const headers[] = { "WORKER", "NAME", "JOB", "DOMAIN", "ROWS", "LEASE LEFT" };
    cli_table *t = cli_table_new(6, headers);
    for (size_t i = 0; t && i < d->n_claims; i++) {
        const st_claim_info *c = &d->claims[i];
        const st_worker_info *w = find_worker(d, c->holder);
        char rows[32], left[32];
        snprintf(rows, sizeof rows, "%lld", (long long)c->rows);
        format_duration(secs_between(d->now_ms, c->lease_until), left, sizeof left);
        const char *cells[6] = { c->holder[0] ? c->holder : NULL,
                                 w && w->name[0] ? w->name : NULL,
                                 c->job_id,
                                 c->domain[0] ? c->domain : NULL,
                                 rows,
                                 left };
        add_row(&t, cells);
    }
    char title[64];
    if (d->n_claims == 0)
        snprintf(title, sizeof title, "Claims: none live");
    else
        snprintf(title, sizeof title, "Claims: %zu live", d->n_claims);
    return print_section(t, d->n_claims, title, out);
}

/* The queue's section; false on ENOMEM. */
static bool print_queue(const status_data *d, FILE *out)
{
    static const char *const headers[] = {
        "JOB", "NAME", "STATUS", "PENDING", "CLAIMED", "DONE", "TOTAL", "DONE %"
    };
    cli_table *t = cli_table_new(8, headers);
    for (size_t i = 0; t && i < d->n_queue; i++) {
        const st_queue_info *q = &d->queue[i];
        char pending[32], claimed[32], done[32], total[32], pct[32];
        snprintf(pending, sizeof pending, "%lld", (long long)q->c.pending);
        snprintf(claimed, sizeof claimed, "%lld", (long long)q->c.claimed);
        snprintf(done, sizeof done, "%lld", (long long)q->c.done);
        snprintf(total, sizeof total, "%lld", (long long)d->totals[i]);
        double p = queue_percent(q);
        snprintf(pct, sizeof pct, "%.1f%%", p < 0 ? 0.0 : (double)(int64_t)(p * 10) / 10);
        const char *cells[8] = { q->job_id,
                                 d->names[i] && d->names[i][0] ? d->names[i] : NULL,
                                 st_job_status_name(q->status),
                                 pending,
                                 claimed,
                                 done,
                                 total,
                                 p < 0 ? NULL : pct };
        add_row(&t, cells);
    }
    char title[64];
    if (d->n_queue == 0)
        snprintf(title, sizeof title, "Queue: no job waiting");
    else
        snprintf(title, sizeof title, "Queue: %zu job%s", d->n_queue, d->n_queue == 1 ? "" : "s");
    return print_section(t, d->n_queue, title, out);
}

/* Prints the usage hint of `status` and returns BC_EXIT_USAGE. */
static int status_usage(void)
{
    fputs("Try 'bouncecheck help status'.\n", stderr);
    return BC_EXIT_USAGE;
}

int cmd_status(int argc, char **argv, const cli_global *g)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "data", required_argument, NULL, 'd' },
        { "db", required_argument, NULL, 'B' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    (void)g; /* the global --data-dir is the lists' directory, not the server's */
    const char *dir = cli_server_data_dir();
    const char *db = getenv("BOUNCECHECK_DB");
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'd': dir = optarg; break;
        case 'B': db = optarg; break;
        case 'h': fputs(cli_help_status_text, stdout); return BC_EXIT_OK;
        default: return status_usage();
        }
    }
    if (optind < argc) {
        char *safe = cli_sanitize(argv[optind], strlen(argv[optind]));
        cli_error("status: unexpected argument '%s'", safe ? safe : "?");
        free(safe);
        return status_usage();
    }
    if (db && !*db)
        db = NULL;
    if (!db) {
        /* Opening would create an empty store: not for a look at a
         * mistyped directory. */
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/bouncecheck.db", dir);
        if (stat(path, &st) != 0) {
            char *safe = cli_sanitize(dir, strlen(dir));
            cli_error("status: no server database in %s (%s/bouncecheck.db: %s); give the server's"
                      " --data DIR, or --db URL for PostgreSQL",
                      safe ? safe : "?", safe ? safe : "?", strerror(errno));
            free(safe);
            return BC_EXIT_FAILURE;
        }
    }

    st_store *s = cli_store_open("status", db, dir);
    if (!s)
        return BC_EXIT_FAILURE;
    char err[1024] = "";
    status_data d;
    memset(&d, 0, sizeof d);
    int rc = status_read(s, &d, err, sizeof err);
    st_store_close(s);
    if (rc != 0) {
        cli_error("status: %s", err);
        status_data_clear(&d);
        return BC_EXIT_FAILURE;
    }

    bool ok;
    if (json) {
        json_t *root = status_json(&d);
        char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) : NULL;
        json_decref(root);
        ok = text != NULL;
        if (text)
            puts(text);
        free(text);
    } else {
        char shown[512];
        if (db)
            st_store_mask_url(db, shown, sizeof shown);
        char *safe = db ? cli_sanitize(shown, strlen(shown)) : cli_sanitize(dir, strlen(dir));
        printf("Database: %s%s\n\n", db ? "" : "SQLite in ", safe ? safe : "?");
        free(safe);
        ok = print_workers(&d, stdout);
        if (ok)
            fputc('\n', stdout);
        ok = ok && print_claims(&d, stdout);
        if (ok)
            fputc('\n', stdout);
        ok = ok && print_queue(&d, stdout);
    }
    status_data_clear(&d);
    if (!ok) {
        cli_error("status: out of memory");
        return BC_EXIT_FAILURE;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("status: cannot write the output");
        return BC_EXIT_FAILURE;
    }
    return BC_EXIT_OK;
}

/*
 * cmd_keys.c - `bouncecheck keys`: create, list and revoke the API keys of
 * the HTTP server (`bouncecheck serve`), in the server's database
 * (src/store/store.h). Also the server's default data directory and
 * database.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "store.h"

const char cli_help_keys_text[] =
    "Usage: bouncecheck keys create [--name N] [--rate R] [--daily N] [--admin]\n"
    "                               [--data DIR | --db URL]\n"
    "       bouncecheck keys list [--json] [--data DIR | --db URL]\n"
    "       bouncecheck keys revoke ID [--data DIR | --db URL]\n"
    "\n"
    "Manage the API keys of the HTTP server (`bouncecheck serve`). While at least\n"
    "one key exists, even a revoked one, every /v1/ request needs\n"
    "`Authorization: Bearer KEY`. The server notices new and revoked keys without\n"
    "a restart.\n"
    "\n"
    "`keys create` prints the new key alone on the first line of stdout, then its\n"
    "id, name, rate and daily quota. The key is shown only this once: only its\n"
    "SHA-256 is stored. `keys list` shows every key (never the secrets);\n"
    "`keys revoke` makes a key unusable at once (requests with it get 403).\n"
    "\n"
    "Options:\n"
    "  --name N        (create) a label for the key, up to 127 bytes\n"
    "  --rate R        (create) requests per second allowed, as R or R/s\n"
    "                  (a positive number up to 1000000; default: no limit)\n"
    "  --daily N       (create) verifications per UTC day (a positive integer;\n"
    "                  default: no quota)\n"
    "  --admin         (create) an admin key: it may also list, create and revoke\n"
    "                  keys through the API (/v1/keys, the web UI's Keys page)\n"
    "  --json          (list) print a JSON array of {\"id\", \"name\", \"created_at\",\n"
    "                  \"rate\", \"daily\", \"admin\", \"status\"}; name, rate and daily\n"
    "                  are null when not set\n"
    "  --data DIR      the server's data directory (default $BOUNCECHECK_DATA, else\n"
    "                  $XDG_DATA_HOME/bouncecheck or ~/.local/share/bouncecheck)\n"
    "  --db URL        the server's PostgreSQL database instead, as a libpq URL:\n"
    "                  postgres://USER@HOST:PORT/DB (default $BOUNCECHECK_DB); give\n"
    "                  the password by PGPASSWORD or ~/.pgpass, not in the URL\n"
    "  -h, --help      show this help\n"
    "\n"
    "Exit status: 0 success, 1 failure (or no such key to revoke), 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck keys create --name crm --rate 5/s --daily 10000\n"
    "  bouncecheck keys create --name ops --admin\n"
    "  bouncecheck keys create --name crm --db postgres://bc@db.example.com/bc\n"
    "  bouncecheck keys list\n"
    "  bouncecheck keys revoke k_0123456789ab\n";

const char *cli_server_data_dir(void)
{
    return cli_default_dir("BOUNCECHECK_DATA");
}

/* The server's database from the environment: $BOUNCECHECK_DB, or NULL
 * (SQLite in the data directory). */
static const char *server_db(void)
{
    const char *v = getenv("BOUNCECHECK_DB");
    return v && *v ? v : NULL;
}

/* --rate: "R" or "R/s", 0 < R <= 1e6. true with *out set, else false. */
static bool parse_rate(const char *text, double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || (strcmp(end, "") != 0 && strcmp(end, "/s") != 0))
        return false;
    if (!isfinite(v) || !(v > 0) || v > 1e6)
        return false;
    *out = v;
    return true;
}

/* --daily: a positive decimal integer. */
static bool parse_daily(const char *text, int64_t *out)
{
    if (*text < '0' || *text > '9')
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Unix seconds as UTC text into buf: RFC 3339 ("2026-11-29T09:00:00Z")
 * or, for the table, "2026-11-29 09:00 UTC". */
static void format_time(int64_t t, bool rfc3339, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    size_t n = 0;
    if (gmtime_r(&tt, &tm))
        n = rfc3339 ? strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm)
                    : strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm);
    if (n == 0)
        snprintf(buf, size, "%lld", (long long)t);
}

/* Prints the usage hint of `keys` and returns BC_EXIT_USAGE. */
static int keys_usage(void)
{
    fputs("Try 'bouncecheck help keys'.\n", stderr);
    return BC_EXIT_USAGE;
}

/* Flushes stdout; BC_EXIT_OK, or BC_EXIT_FAILURE with a message. */
static int keys_flush(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("keys: cannot write the output");
        return BC_EXIT_FAILURE;
    }
    return BC_EXIT_OK;
}

static int keys_create(int argc, char **argv, const char *dir, const char *db)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },  { "rate", required_argument, NULL, 'r' },
        { "daily", required_argument, NULL, 'D' }, { "admin", no_argument, NULL, 'a' },
        { "data", required_argument, NULL, 'd' },  { "db", required_argument, NULL, 'B' },
        { "help", no_argument, NULL, 'h' },        { NULL, 0, NULL, 0 },
    };
    const char *name = "";
    bool admin = false;
    double rate = 0;
    int64_t daily = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'r':
            if (!parse_rate(optarg, &rate)) {
                cli_error("keys create: --rate must be a positive number of requests per second"
                          " up to 1000000, like 5 or 5/s (got '%s')",
                          optarg);
                return BC_EXIT_USAGE;
            }
            break;
        case 'D':
            if (!parse_daily(optarg, &daily)) {
                cli_error("keys create: --daily must be a positive integer (got '%s')", optarg);
                return BC_EXIT_USAGE;
            }
            break;
        case 'a': admin = true; break;
        case 'd': dir = optarg; break;
        case 'B': db = optarg; break;
        case 'h': fputs(cli_help_keys_text, stdout); return BC_EXIT_OK;
        default: return keys_usage();
        }
    }
    if (optind < argc) {
        cli_error("keys create: unexpected argument '%s'", argv[optind]);
        return keys_usage();
    }
    if (strlen(name) >= sizeof((st_key *)0)->name) {
        cli_error("keys create: --name is too long (at most %zu bytes)", sizeof((st_key *)0)->name - 1);
        return BC_EXIT_USAGE;
    }
    st_store *s = cli_store_open("keys", db, dir);
    if (!s)
        return BC_EXIT_FAILURE;
    char secret[ST_KEY_SECRET_LEN + 1];
    st_key k;
    char err[512] = "";
    int rc = st_key_create_ex(s, name, rate, daily, admin, secret, &k, err, sizeof err);
    st_store_close(s);
    if (rc != 0) {
        cli_error("keys create: %s", err);
        return BC_EXIT_FAILURE;
    }
    char *safe_name = cli_sanitize(k.name, strlen(k.name));
    printf("%s\n", secret);
    printf("id: %s\n", k.id);
    printf("name: %s\n", safe_name && *safe_name ? safe_name : "-");
    if (k.rate > 0)
        printf("rate: %g/s\n", k.rate);
    else
        printf("rate: unlimited\n");
    if (k.daily > 0)
        printf("daily: %lld\n", (long long)k.daily);
    else
        printf("daily: unlimited\n");
    printf("admin: %s\n", k.admin ? "yes" : "no");
    free(safe_name);
    memset(secret, 0, sizeof secret);
    rc = keys_flush();
    fputs("bouncecheck: save this key now: it is shown only once (only its hash is stored)\n", stderr);
    return rc;
}

/* The key list as a JSON array on stdout. Returns an exit code. */
static int keys_print_json(const st_key *keys, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const st_key *k = &keys[i];
        char created[32];
        format_time(k->created_at, true, created, sizeof created);
        json_t *e = json_object();
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            arr = NULL;
            break;
        }
        json_object_set_new(e, "id", json_string(k->id));
        /* Names are stored as given; invalid UTF-8 is shown escaped. */
        json_t *jn = k->name[0] ? json_stringn(k->name, strlen(k->name)) : json_null();
        if (!jn) {
            char *safe = cli_sanitize(k->name, strlen(k->name));
            jn = safe ? json_string(safe) : json_null();
            free(safe);
        }
        json_object_set_new(e, "name", jn);
        json_object_set_new(e, "created_at", json_string(created));
        json_object_set_new(e, "rate", k->rate > 0 ? json_real(k->rate) : json_null());
        json_object_set_new(e, "daily", k->daily > 0 ? json_integer((json_int_t)k->daily) : json_null());
        json_object_set_new(e, "admin", json_boolean(k->admin));
        json_object_set_new(e, "status", json_string(k->revoked_at ? "revoked" : "active"));
    }
    char *text = arr ? json_dumps(arr, JSON_INDENT(2)) : NULL;
    json_decref(arr);
    if (!text) {
        cli_error("keys list: out of memory");
        return BC_EXIT_FAILURE;
    }
    puts(text);
    free(text);
    return keys_flush();
}

/* The key list as a table on stdout. Returns an exit code. */
static int keys_print_table(const st_key *keys, size_t n)
{
    static const char *const headers[] = { "ID", "NAME", "CREATED", "RATE", "DAILY", "STATUS", "ADMIN" };
    cli_table *t = cli_table_new(7, headers);
    for (size_t i = 0; t && i < n; i++) {
        const st_key *k = &keys[i];
        char created[32], rate[48], daily[32];
        format_time(k->created_at, false, created, sizeof created);
        snprintf(rate, sizeof rate, "%g/s", k->rate);
        snprintf(daily, sizeof daily, "%lld", (long long)k->daily);
        const char *cells[7] = {
            k->id,
            k->name[0] ? k->name : NULL,
            created,
            k->rate > 0 ? rate : NULL,
            k->daily > 0 ? daily : NULL,
            k->revoked_at ? "revoked" : "active",
            k->admin ? "admin" : NULL,
        };
        if (!cli_table_add(t, cells)) {
            cli_table_free(t);
            t = NULL;
        }
    }
    if (!t) {
        cli_error("keys list: out of memory");
        return BC_EXIT_FAILURE;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    return keys_flush();
}

static int keys_list(int argc, char **argv, const char *dir, const char *db, bool json)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "data", required_argument, NULL, 'd' },
        { "db", required_argument, NULL, 'B' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'd': dir = optarg; break;
        case 'B': db = optarg; break;
        case 'h': fputs(cli_help_keys_text, stdout); return BC_EXIT_OK;
        default: return keys_usage();
        }
    }
    if (optind < argc) {
        cli_error("keys list: unexpected argument '%s'", argv[optind]);
        return keys_usage();
    }
    st_store *s = cli_store_open("keys", db, dir);
    if (!s)
        return BC_EXIT_FAILURE;
    st_key *keys = NULL;
    size_t n = 0;
    if (st_key_list(s, &keys, &n) != 0) {
        cli_error("keys list: %s", st_store_error(s));
        st_store_close(s);
        return BC_EXIT_FAILURE;
    }
    st_store_close(s);
    int rc = json ? keys_print_json(keys, n) : keys_print_table(keys, n);
    free(keys);
    return rc;
}

static int keys_revoke(int argc, char **argv, const char *dir, const char *db)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'd' },
        { "db", required_argument, NULL, 'B' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'B': db = optarg; break;
        case 'h': fputs(cli_help_keys_text, stdout); return BC_EXIT_OK;
        default: return keys_usage();
        }
    }
    if (optind >= argc) {
        cli_error("keys revoke: which key? Give its id (see 'bouncecheck keys list')");
        return keys_usage();
    }
    if (argc - optind > 1) {
        cli_error("keys revoke: unexpected argument '%s'", argv[optind + 1]);
        return keys_usage();
    }
    const char *id = argv[optind];
    st_store *s = cli_store_open("keys", db, dir);
    if (!s)
        return BC_EXIT_FAILURE;
    int rc = st_key_revoke(s, id);
    if (rc < 0)
        cli_error("keys revoke: %s", st_store_error(s));
    st_store_close(s);
    if (rc < 0)
        return BC_EXIT_FAILURE;
    char *safe = cli_sanitize(id, strlen(id));
    if (rc == 0) {
        cli_error("keys revoke: no such key: '%s'", safe ? safe : "?");
        free(safe);
        return BC_EXIT_FAILURE;
    }
    printf("revoked %s\n", safe ? safe : id);
    free(safe);
    return keys_flush();
}

int cmd_keys(int argc, char **argv, const cli_global *g)
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
    const char *db = server_db();
    bool json = false;
    int c;
    /* '+': stop at the action; its own options follow it. */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'd': dir = optarg; break;
        case 'B': db = optarg; break;
        case 'h': fputs(cli_help_keys_text, stdout); return BC_EXIT_OK;
        default: return keys_usage();
        }
    }
    if (optind >= argc) {
        cli_error("keys: which action? (create, list or revoke)");
        return keys_usage();
    }
    const char *action = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (strcmp(action, "create") == 0)
        return keys_create(sub_argc, sub_argv, dir, db);
    if (strcmp(action, "list") == 0)
        return keys_list(sub_argc, sub_argv, dir, db, json);
    if (strcmp(action, "revoke") == 0)
        return keys_revoke(sub_argc, sub_argv, dir, db);
    char *safe = cli_sanitize(action, strlen(action));
    cli_error("keys: unknown action '%s' (expected create, list or revoke)", safe ? safe : "?");
    free(safe);
    return keys_usage();
}

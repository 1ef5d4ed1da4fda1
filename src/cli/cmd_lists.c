/*
 * cmd_lists.c - `bouncecheck lists`: show where the domain data comes from,
 * and `bouncecheck lists update`: fetch newer data from the npm registry.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char cli_help_lists_text[] =
    "Usage: bouncecheck lists [--json] [--data-dir DIR]\n"
    "       bouncecheck lists update [--pinned] [--registry URL] [--data-dir DIR]\n"
    "                                [--quiet] [--json]\n"
    "\n"
    "Show the domain lists in use: disposable domains, free-mail providers, role\n"
    "local parts (admin@, support@, ...), the allow list and the popular domains\n"
    "used for typo suggestions, with their entry counts, source packages, licences\n"
    "and origin (\"builtin\" or the file they were loaded from).\n"
    "\n"
    "`lists update` downloads the source packages from the npm registry, checks\n"
    "each tarball against the SHA-512 integrity the registry publishes, normalises\n"
    "the lists (IDNA A-labels, lower case, sorted, duplicates and invalid host\n"
    "names dropped; disposable domains removed from the free-mail list) and writes\n"
    "them atomically into the data directory, with the packages' licence files in\n"
    "DIR/LICENSES/. On any failure the previous data is left as it was. Then it\n"
    "shows the new table.\n"
    "\n"
    "Options:\n"
    "  --json            print the table as JSON: {\"lists\": [{\"name\", \"count\",\n"
    "                    \"source\", \"license\", \"origin\"}, ...]}\n"
    "  --data-dir DIR    the data directory to read or update (default: the global\n"
    "                    --data-dir, $BOUNCECHECK_DATA_DIR, $XDG_DATA_HOME/bouncecheck\n"
    "                    or ~/.local/share/bouncecheck)\n"
    "  --pinned          (update) fetch the package versions this release was built\n"
    "                    from, each also checked against its pinned integrity when\n"
    "                    the default registry is used; default: the latest versions\n"
    "  --registry URL    (update) the npm registry (default $BOUNCECHECK_NPM_REGISTRY,\n"
    "                    else https://registry.npmjs.org); https only, except plain\n"
    "                    http to localhost\n"
    "  -q, --quiet       (update) no progress lines on stderr\n"
    "  -h, --help        show this help\n"
    "\n"
    "Sources: disposable-email-domains-js (CC0-1.0) and fakefilter (BSD-3-Clause)\n"
    "for disposable domains, email-providers (ISC) for free-mail providers,\n"
    "role-based-email-addresses (MIT) for role local parts.\n"
    "\n"
    "Exit status: 0 success, 1 network or data failure, 2 usage error,\n"
    "4 a download did not match its published integrity.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck lists\n"
    "  bouncecheck lists update --pinned\n"
    "  bouncecheck lists update --data-dir /var/lib/bouncecheck --quiet\n";

/* Copies dir into buf (n bytes) without trailing slashes, so that paths
 * shown to the user read "data/free.txt", not "data//free.txt". Returns buf,
 * or dir itself when it does not fit. */
static const char *lists_tidy_dir(const char *dir, char *buf, size_t n)
{
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (len >= n)
        return dir;
    memcpy(buf, dir, len);
    buf[len] = '\0';
    return buf;
}

/* Prints the lists of a context loaded from data_dir, as a table or JSON,
 * to stdout. Returns an exit code. */
static int lists_show(const char *data_dir, bool json)
{
    char dir[4096];
    bc_options o = { .data_dir = lists_tidy_dir(data_dir, dir, sizeof dir) };
    bc_ctx *ctx = NULL;
    char err[512] = "";
    bc_error st = bc_ctx_new(&ctx, &o, err, sizeof err);
    if (st != BC_OK) {
        cli_error("cannot load the lists: %s", err[0] ? err : bc_strerror(st));
        return BC_EXIT_FAILURE;
    }
    bc_list_info info[16];
    size_t n = bc_lists_info(ctx, info, sizeof info / sizeof info[0]);
    if (n > sizeof info / sizeof info[0])
        n = sizeof info / sizeof info[0];
    int rc = BC_EXIT_OK;
    if (json) {
        json_t *root = json_object();
        json_t *arr = json_array();
        json_object_set_new(root, "lists", arr);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_object();
            json_object_set_new(e, "name", json_string(info[i].name ? info[i].name : ""));
            json_object_set_new(e, "count", json_integer((json_int_t)info[i].count));
            json_object_set_new(e, "source", info[i].source ? json_string(info[i].source) : json_null());
            json_object_set_new(e, "license", info[i].license ? json_string(info[i].license) : json_null());
            json_object_set_new(e, "origin", info[i].origin ? json_string(info[i].origin) : json_null());
            json_array_append_new(arr, e);
        }
        char *text = json_dumps(root, JSON_INDENT(2));
        json_decref(root);
        if (!text) {
            cli_error("out of memory");
            rc = BC_EXIT_FAILURE;
        } else {
            puts(text);
            free(text);
        }
    } else {
        static const char *const headers[] = { "LIST", "COUNT", "SOURCE", "LICENSE", "ORIGIN" };
        cli_table *t = cli_table_new(5, headers);
        for (size_t i = 0; t && i < n; i++) {
            char count[32];
            snprintf(count, sizeof count, "%zu", info[i].count);
            const char *cells[5] = { info[i].name, count, info[i].source, info[i].license, info[i].origin };
            if (!cli_table_add(t, cells)) {
                cli_table_free(t);
                t = NULL;
            }
        }
        if (!t) {
            cli_error("out of memory");
            rc = BC_EXIT_FAILURE;
        } else {
            cli_table_print(t, stdout);
            cli_table_free(t);
        }
    }
    if (fflush(stdout) != 0) {
        cli_error("cannot write the output");
        rc = BC_EXIT_FAILURE;
    }
    bc_ctx_free(ctx);
    return rc;
}

/* The progress callback of bc_lists_update: one line to stderr. */
static void lists_log(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "bouncecheck: %s\n", line);
}

/* `lists update`: argv[0] is "update". Returns an exit code. */
static int lists_update(int argc, char **argv, const char *data_dir, bool json)
{
    static const struct option opts[] = {
        { "pinned", no_argument, NULL, 'p' },
        { "registry", required_argument, NULL, 'r' },
        { "data-dir", required_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bc_update_options uo = { .data_dir = data_dir, .log = lists_log };
    const char *env = getenv("BOUNCECHECK_NPM_REGISTRY");
    if (env && *env)
        uo.registry = env;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': uo.pinned = true; break;
        case 'r': uo.registry = optarg; break;
        case 'd': uo.data_dir = optarg; break;
        case 'j': json = true; break;
        case 'q': uo.log = NULL; break;
        case 'h': fputs(cli_help_lists_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck help lists'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("lists update: unexpected argument '%s'", argv[optind]);
        return BC_EXIT_USAGE;
    }
    if (!uo.data_dir || !*uo.data_dir) {
        cli_error("lists update: no data directory");
        return BC_EXIT_USAGE;
    }
    char err[1024] = "";
    bc_error st = bc_lists_update(&uo, err, sizeof err);
    if (st != BC_OK) {
        cli_error("lists update failed: %s", err[0] ? err : bc_strerror(st));
        if (st == BC_EINTEGRITY)
            return BC_EXIT_INTEGRITY;
        return st == BC_EINVAL ? BC_EXIT_USAGE : BC_EXIT_FAILURE;
    }
    return lists_show(uo.data_dir, json);
}

int cmd_lists(int argc, char **argv, const cli_global *g)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "data-dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *data_dir = g->data_dir;
    bool json = false;
    int c;
    /* '+': stop at the first operand, which may be "update". */
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'd': data_dir = optarg; break;
        case 'h': fputs(cli_help_lists_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck help lists'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        if (strcmp(argv[optind], "update") == 0)
            return lists_update(argc - optind, argv + optind, data_dir, json);
        cli_error("lists: unknown action '%s' (expected 'update')", argv[optind]);
        fputs("Try 'bouncecheck help lists'.\n", stderr);
        return BC_EXIT_USAGE;
    }
    return lists_show(data_dir, json);
}

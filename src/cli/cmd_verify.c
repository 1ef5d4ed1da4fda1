/*
 * cmd_verify.c - `bouncecheck verify`: verify the addresses given on the
 * command line and print one result each, in input order.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char cli_help_verify_text[] =
    "Usage: bouncecheck verify --offline [--json] EMAIL...\n"
    "\n"
    "Verify each EMAIL and print its result, in the order given.\n"
    "\n"
    "Options:\n"
    "  --offline   syntax and domain data only; nothing is sent over the network\n"
    "  --json      one JSON object per address, one per line (NDJSON)\n"
    "  -h, --help  show this help\n"
    "\n"
    "Without --json the results are a table: email, status, reason, score, flags\n"
    "(disposable, role:CATEGORY, free, idn, smtputf8) and a typo suggestion.\n"
    "\n"
    "Statuses: deliverable, undeliverable, risky, unknown. Offline reasons:\n"
    "  invalid_syntax      not a usable address (undeliverable; syntax.code says why)\n"
    "  special_use_domain  a reserved domain such as example.com or .test (undeliverable)\n"
    "  disposable          a throwaway-mailbox provider (risky)\n"
    "  unverified          well formed; the mailbox was not checked (unknown)\n"
    "\n"
    "JSON fields (null when unknown): email, normalized, local, domain, ascii_domain,\n"
    "status, reason, score, syntax {valid, code, category, smtputf8, idn, special_use},\n"
    "disposable, role, role_category, free, accept_all, suggestion, mx, smtp, provider,\n"
    "duration_ms.\n"
    "\n"
    "The SMTP probe (verification without --offline) is not in this release yet.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck verify --offline someone@gmial.com\n"
    "  bouncecheck verify --offline --json a@mailinator.com 'bad@@example.org'\n";

/* Appends `word` and a space to the flags cell when `on`. */
static void add_flag(char *buf, size_t size, bool on, const char *word)
{
    size_t used = strlen(buf);
    if (on && used < size)
        snprintf(buf + used, size - used, "%s%s", used ? " " : "", word);
}

/* One table row for a result; false on ENOMEM. */
static bool add_row(cli_table *t, const bc_result *r, const char *input)
{
    const bc_addr *a = bc_result_addr(r);
    char score[8], flags[256] = "", role[96] = "";
    snprintf(score, sizeof score, "%d", bc_result_score(r));
    const char *cat = bc_result_role_category(r);
    if (cat)
        snprintf(role, sizeof role, "role:%s", cat);
    add_flag(flags, sizeof flags, bc_result_disposable(r) == BC_YES, "disposable");
    add_flag(flags, sizeof flags, cat != NULL, role);
    add_flag(flags, sizeof flags, bc_result_free_provider(r) == BC_YES, "free");
    add_flag(flags, sizeof flags, a->valid && (a->flags & BC_ADDR_IDN), "idn");
    add_flag(flags, sizeof flags, a->valid && (a->flags & BC_ADDR_UTF8_LOCAL), "smtputf8");
    const char *reason = bc_result_reason(r);
    char why[128];
    if (!a->valid) {
        snprintf(why, sizeof why, "%s (%s)", reason, bc_syntax_code_name(a->code));
        reason = why;
    }
    const char *cells[] = { input, bc_verdict_status_name(bc_result_status(r)), reason, score,
                            flags[0] ? flags : NULL, bc_result_suggestion(r) };
    return cli_table_add(t, cells);
}

int cmd_verify(int argc, char **argv, const cli_global *g)
{
    static const struct option opts[] = {
        { "offline", no_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool offline = false, json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': offline = true; break;
        case 'j': json = true; break;
        case 'h':
            cli_help("verify", stdout);
            return BC_EXIT_OK;
        default:
            fputs("Try 'bouncecheck help verify'.\n", stderr);
            return BC_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("verify: no address given");
        fputs("Try 'bouncecheck help verify'.\n", stderr);
        return BC_EXIT_USAGE;
    }
    if (!offline) {
        cli_error("verify: the SMTP probe is not in this release yet; use --offline");
        return BC_EXIT_USAGE;
    }
    bc_options o = { .data_dir = g->data_dir };
    bc_ctx *ctx = NULL;
    char err[512] = "";
    if (bc_ctx_new(&ctx, &o, err, sizeof err) != BC_OK) {
        cli_error("cannot load the domain lists: %s", err);
        return BC_EXIT_FAILURE;
    }
    static const char *const headers[] = { "EMAIL", "STATUS", "REASON", "SCORE", "FLAGS", "SUGGESTION" };
    cli_table *t = json ? NULL : cli_table_new(6, headers);
    int rc = BC_EXIT_OK;
    if (!json && !t) {
        cli_error("out of memory");
        rc = BC_EXIT_FAILURE;
    }
    for (int i = optind; i < argc && rc == BC_EXIT_OK; i++) {
        bc_result *r = NULL;
        bc_status st = bc_verify_offline(ctx, argv[i], strlen(argv[i]), &r);
        if (st != BC_OK) {
            cli_error("verify '%s': %s", argv[i], bc_strerror(st));
            rc = BC_EXIT_FAILURE;
            break;
        }
        if (json) {
            char *line = bc_result_json(r);
            if (line) {
                puts(line);
                free(line);
            } else {
                cli_error("out of memory");
                rc = BC_EXIT_FAILURE;
            }
        } else if (!add_row(t, r, argv[i])) {
            cli_error("out of memory");
            rc = BC_EXIT_FAILURE;
        }
        bc_result_free(r);
    }
    if (t && rc == BC_EXIT_OK)
        cli_table_print(t, stdout);
    cli_table_free(t);
    bc_ctx_free(ctx);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the results");
        rc = BC_EXIT_FAILURE;
    }
    return rc;
}

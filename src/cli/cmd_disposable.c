/*
 * cmd_disposable.c - `bouncecheck disposable`: for each domain or address
 * given, whether its domain is a throwaway one, which list entry matched,
 * its registrable domain, whether the allow list vouches for it and
 * (unless --offline) whether it receives mail at all.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char cli_help_disposable_text[] =
    "Usage: bouncecheck disposable [--json] [--offline] [--dns IP[:PORT]] DOMAIN_OR_EMAIL...\n"
    "\n"
    "Tell whether each domain (or the domain of each address) is a disposable,\n"
    "throwaway email domain. A domain is disposable when it or a parent domain up\n"
    "to its registrable domain (mail.mailinator.com -> mailinator.com) is on the\n"
    "disposable list and neither is on the allow list. IDN domains may be given\n"
    "in either form; they are shown as A-labels.\n"
    "\n"
    "Options:\n"
    "  --json             one JSON object per input, one per line: input, domain\n"
    "                     (A-label), unicode_domain, disposable, matched (the\n"
    "                     disposable-list entry the domain falls under, even when\n"
    "                     the allow list overrides it, else null), list (the\n"
    "                     disposable list's sources when matched), allowlisted,\n"
    "                     allow_matched, registrable_domain, has_mx (null when\n"
    "                     --offline or DNS could not tell, with dns_error); an\n"
    "                     unusable input gets {input, error}\n"
    "  --offline          no DNS: has_mx is not looked up\n"
    "  --dns IP[:PORT]    DNS servers for has_mx (default: /etc/resolv.conf);\n"
    "                     several separated by commas\n"
    "  -h, --help         show this help\n"
    "\n"
    "has_mx is true when the domain has MX records other than a null MX (RFC 7505)\n"
    "or, without MX, an address record (the implicit MX of RFC 5321).\n"
    "\n"
    "The lists are those of `bouncecheck lists` (--data-dir).\n"
    "\n"
    "Exit status: 0 every input was a domain or an address, 1 the lists could not\n"
    "be loaded, 2 usage error, 3 some input was neither (the others are still\n"
    "answered).\n"
    "\n"
    "Examples:\n"
    "  bouncecheck disposable mailinator.com someone@example.org\n"
    "  bouncecheck disposable --json --offline mail.mailinator.com\n";

int cmd_disposable(int argc, char **argv, const cli_global *g)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "offline", no_argument, NULL, 'o' },
        { "dns", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false, offline = false;
    const char *dns = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'o': offline = true; break;
        case 'd': dns = optarg; break;
        case 'h': fputs(cli_help_disposable_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck disposable --help'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("disposable: give at least one domain or address");
        fputs("Try 'bouncecheck disposable --help'.\n", stderr);
        return BC_EXIT_USAGE;
    }
    bc_options o = { .data_dir = g->data_dir };
    bc_ctx *ctx = NULL;
    char err[512] = "";
    bc_error st = bc_ctx_new(&ctx, &o, err, sizeof err);
    if (st != BC_OK) {
        cli_error("cannot load the domain lists: %s", err[0] ? err : bc_strerror(st));
        return BC_EXIT_FAILURE;
    }
    static const char *const headers[] = { "INPUT",       "DOMAIN",      "DISPOSABLE", "MATCHED",
                                           "ALLOWLISTED", "REGISTRABLE", "HAS_MX" };
    cli_table *t = json ? NULL : cli_table_new(7, headers);
    int rc = BC_EXIT_OK;
    bool oom = !json && !t;
    for (int i = optind; i < argc && !oom; i++) {
        char *text = bc_disposable_check(ctx, argv[i], offline, dns);
        json_t *res = text ? json_loads(text, 0, NULL) : NULL;
        if (!res) {
            free(text);
            oom = true;
            break;
        }
        const char *why = json_string_value(json_object_get(res, "error"));
        if (why)
            rc = BC_EXIT_INPUT;
        if (json) {
            puts(text);
        } else if (why) {
            char *safe = cli_sanitize(argv[i], strlen(argv[i]));
            cli_error("disposable: '%s': %s", safe ? safe : "?", why);
            free(safe);
        } else {
            json_t *mx = json_object_get(res, "has_mx");
            const char *dns_error = json_string_value(json_object_get(res, "dns_error"));
            const char *cells[] = {
                argv[i],
                json_string_value(json_object_get(res, "domain")),
                json_is_true(json_object_get(res, "disposable")) ? "yes" : "no",
                json_string_value(json_object_get(res, "matched")),
                json_is_true(json_object_get(res, "allowlisted"))
                    ? json_string_value(json_object_get(res, "allow_matched"))
                    : "no",
                json_string_value(json_object_get(res, "registrable_domain")),
                json_is_true(mx)    ? "yes"
                : json_is_false(mx) ? "no"
                : dns_error         ? "unknown"
                                    : NULL,
            };
            oom = !cli_table_add(t, cells);
            if (dns_error)
                cli_error("disposable: has_mx of %s: %s", cells[1], dns_error);
        }
        json_decref(res);
        free(text);
    }
    if (t && !oom)
        cli_table_print(t, stdout);
    if (oom) {
        cli_error("out of memory");
        rc = BC_EXIT_FAILURE;
    }
    cli_table_free(t);
    bc_ctx_free(ctx);
    return rc;
}

/*
 * cmd_doctor.c - `bouncecheck doctor`: the sending host audits itself
 * before it probes anyone (src/lib/health/doctor.c builds the report as JSON;
 * this prints it). It reads the same settings as `verify` (settings.c:
 * helo, from, source-ip, dns, smtp-port, allow-private, ... from the
 * config files, the environment and the command line), so it audits the
 * identity `verify` would use.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "settings.h"

const char cli_help_doctor_text[] =
    "Usage: bouncecheck doctor [--json] [--source-ip ADDR]... [--helo NAME]\n"
    "                          [--from ADDR] [--domain DOMAIN] [--dns IP[:PORT],...]\n"
    "                          [--smtp-port N] [--allow-private]\n"
    "\n"
    "Audit this host as a sender before it probes anyone: receivers refuse, and\n"
    "blocklists list, verifiers that probe from an address without reverse DNS or\n"
    "with a HELO name that is someone else's. Each check is pass, warn or fail, with\n"
    "what was found and, when not pass, what to change:\n"
    "  ptr            each source address has a PTR that resolves back to it (FCrDNS)\n"
    "  helo_resolves  the HELO name is a FQDN whose A/AAAA records are the source\n"
    "                 addresses\n"
    "  helo_domain    the HELO name is not in a free-mail or big provider's domain\n"
    "  from_domain    neither is the MAIL FROM domain, and it exists\n"
    "  port25         an MX of DOMAIN greets with 220 on the SMTP port (outbound\n"
    "                 port 25 is not blocked)\n"
    "  blocklist      each source address is not listed on the big IP blocklists\n"
    "                 (a list refusing your resolver is a warning, not a listing)\n"
    "Without --source-ip the source is the address the OS would send from towards\n"
    "the MX of DOMAIN (found without sending a packet). With --proxy, port 25 is\n"
    "tested through the proxy, and receivers see the proxy's outgoing address: give\n"
    "it with --source-ip to have it checked.\n"
    "\n"
    "Options:\n"
    "  --json                   {\"ok\": bool, \"checks\": [{\"name\", \"status\", \"detail\",\n"
    "                           \"fix\"}]} (fix null on pass; ptr and blocklist checks\n"
    "                           also have \"subject\", the source address)\n"
    "  --domain DOMAIN          test port 25 on the MX of DOMAIN (default: the\n"
    "                           registrable domain of the HELO name)\n"
    "  --ip-blocklists Z,...    IP list zones (default as `bouncecheck dns`:\n"
    "                           zen.spamhaus.org, bl.spamcop.net,\n"
    "                           b.barracudacentral.org, psbl.surriel.com)\n"
    "  --helo NAME, --from ADDR, --source-ip ADDR (repeatable), --dns IP[:PORT],...,\n"
    "  --smtp-port N, --allow-private, --proxy URL, --providers FILE,\n"
    "  --connect-timeout S, --greeting-timeout S,\n"
    "  --config FILE            as for `bouncecheck verify` (every setting, with its\n"
    "                           config file key and BOUNCECHECK_* variable)\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit status: 0 no check failed (warnings allowed), 1 a check failed, or the DNS\n"
    "cannot be used (the resolver fails the check of `verify -i`: nothing is\n"
    "printed on standard output then), 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck doctor\n"
    "  bouncecheck doctor --helo mail.example.com --source-ip 192.0.2.7 \\\n"
    "                     --domain gmail.com\n"
    "  bouncecheck doctor --json | jq '.checks[] | select(.status != \"pass\")'\n";

enum { OPT_JSON = 1000, OPT_CONFIG, OPT_DOMAIN, OPT_IPBL, OPT_SETTING_BASE = 2000 };

/* Prints the report as a table, then what to change for each check that
 * did not pass. */
static int print_report(const json_t *report)
{
    static const char *const headers[] = { "CHECK", "STATUS", "DETAIL" };
    cli_table *t = cli_table_new(3, headers);
    if (!t)
        return -1;
    size_t i, nfail = 0, nwarn = 0;
    json_t *c;
    json_array_foreach(json_object_get(report, "checks"), i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *subject = json_string_value(json_object_get(c, "subject"));
        const char *status = json_string_value(json_object_get(c, "status"));
        char label[128];
        snprintf(label, sizeof label, "%s%s%s", name ? name : "?", subject ? " " : "", subject ? subject : "");
        const char *cells[] = { label, status, json_string_value(json_object_get(c, "detail")) };
        if (!cli_table_add(t, cells)) {
            cli_table_free(t);
            return -1;
        }
        nfail += status && strcmp(status, "fail") == 0;
        nwarn += status && strcmp(status, "warn") == 0;
    }
    cli_table_print(t, stdout);
    cli_table_free(t);
    if (nfail + nwarn)
        printf("\nWhat to change:\n");
    json_array_foreach(json_object_get(report, "checks"), i, c) {
        const char *fix = json_string_value(json_object_get(c, "fix"));
        if (!fix)
            continue;
        const char *subject = json_string_value(json_object_get(c, "subject"));
        char *safe = cli_sanitize(fix, strlen(fix));
        printf("  %s%s%s: %s\n", json_string_value(json_object_get(c, "name")), subject ? " " : "",
               subject ? subject : "", safe ? safe : "");
        free(safe);
    }
    if (nfail)
        printf("\n%zu check%s failed, %zu warning%s: fix the failures before you verify from this host.\n", nfail,
               nfail == 1 ? "" : "s", nwarn, nwarn == 1 ? "" : "s");
    else
        printf("\nNo check failed (%zu warning%s).\n", nwarn, nwarn == 1 ? "" : "s");
    return 0;
}

int cmd_doctor(int argc, char **argv, const cli_global *g)
{
    static const struct option own[] = {
        { "json", no_argument, NULL, OPT_JSON },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "domain", required_argument, NULL, OPT_DOMAIN },
        { "ip-blocklists", required_argument, NULL, OPT_IPBL },
        { "help", no_argument, NULL, 'h' },
    };
    struct option opts[SETTINGS_MAX + sizeof own / sizeof own[0] + 1];
    size_t nsettings = settings_options(opts, OPT_SETTING_BASE, own, sizeof own / sizeof own[0]);

    cli_settings cs;
    if (!settings_begin(&cs, argc, argv))
        return BC_EXIT_USAGE;
    char err[512] = "";
    bc_doctor_options o = { .verify = &cs.o };
    bool json = false;
    int rc = BC_EXIT_OK, c;
    while (rc == BC_EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        bool bad = false;
        if (settings_getopt(&cs, c, OPT_SETTING_BASE, nsettings, "doctor", &bad)) {
            rc = bad ? BC_EXIT_USAGE : rc;
            continue;
        }
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_CONFIG: break; /* read above */
        case OPT_DOMAIN: o.domain = optarg; break;
        case OPT_IPBL: o.ip_blocklists = optarg; break;
        case 'h':
            cli_help("doctor", stdout);
            settings_free(&cs);
            return BC_EXIT_OK;
        default: rc = BC_EXIT_USAGE; break;
        }
    }
    if (rc == BC_EXIT_OK && optind < argc) {
        cli_error("doctor: unexpected argument '%s'", argv[optind]);
        rc = BC_EXIT_USAGE;
    }
    if (rc != BC_EXIT_OK) {
        fputs("Try 'bouncecheck help doctor'.\n", stderr);
        settings_free(&cs);
        return rc;
    }
    bc_options co = { .data_dir = g->data_dir, .providers_file = cs.providers };
    bc_ctx *ctx = NULL;
    if (bc_ctx_new(&ctx, &co, err, sizeof err) != BC_OK) {
        cli_error("cannot load the domain lists: %s", err);
        settings_free(&cs);
        return BC_EXIT_FAILURE;
    }
    char *text = NULL;
    bc_error st = bc_doctor_check(ctx, &o, &text, err, sizeof err);
    bc_ctx_free(ctx);
    settings_free(&cs);
    if (st != BC_OK) {
        cli_error("doctor: %s", err[0] ? err : bc_strerror(st));
        return st == BC_EINVAL ? BC_EXIT_USAGE : BC_EXIT_FAILURE;
    }
    json_t *report = json_loads(text, 0, NULL);
    if (!report) {
        free(text);
        cli_error("doctor: out of memory");
        return BC_EXIT_FAILURE;
    }
    if (json)
        puts(text);
    free(text);
    rc = json ? 0 : print_report(report);
    bool ok = json_is_true(json_object_get(report, "ok"));
    json_decref(report);
    if (rc != 0 || fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("doctor: cannot write the report");
        return BC_EXIT_FAILURE;
    }
    return ok ? BC_EXIT_OK : BC_EXIT_FAILURE;
}

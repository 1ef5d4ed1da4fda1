/*
 * cmd_dns.c - `bouncecheck dns DOMAIN`: the domain's mail DNS health in one
 * report (src/lib/health/dnscheck.c builds it as JSON; this prints it).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

const char cli_help_dns_text[] =
    "Usage: bouncecheck dns [--json] [--dkim-selector SEL]... [--ip ADDR]... DOMAIN\n"
    "\n"
    "Check a domain's mail setup in one report: MX (null MX, addresses, CNAME and IP\n"
    "targets, reverse DNS, STARTTLS on port 25), SPF (syntax, the 10-lookup and\n"
    "2-void-lookup limits with the term responsible, loops, +all), DMARC, DKIM (the\n"
    "given selectors and common ones; key sizes), blocklists (MX addresses and --ip\n"
    "on IP lists, the domain on domain lists), MTA-STS, TLS-RPT, BIMI and DNSSEC,\n"
    "with a grade. Each finding says what is wrong; under each warn and fail\n"
    "finding a \"fix:\" line says what to change.\n"
    "\n"
    "Options:\n"
    "  --json                   the report as JSON: sections mx, spf, dmarc, dkim,\n"
    "                           blocklists, mta_sts, tls_rpt, bimi, dnssec, each with\n"
    "                           status, records, findings [{severity, code, message,\n"
    "                           fix}] (fix: what to change, null for info findings)\n"
    "  --dkim-selector SEL      a DKIM selector to check (repeatable)\n"
    "  --ip ADDR                also check this sending address on the IP blocklists\n"
    "  --dns IP[:PORT][,...]    DNS servers (default: /etc/resolv.conf)\n"
    "  --ip-blocklists Z,...    IP list zones (default zen.spamhaus.org, bl.spamcop.net,\n"
    "                           b.barracudacentral.org, psbl.surriel.com)\n"
    "  --domain-blocklists Z,.. domain list zones (default dbl.spamhaus.org,\n"
    "                           multi.uribl.com, multi.surbl.org)\n"
    "  --no-smtp                do not connect to the MX hosts (no STARTTLS check)\n"
    "  --allow-private          also connect to private/loopback addresses (labs)\n"
    "  --ca-file FILE           extra CA certificates for the MTA-STS policy fetch\n"
    "  --helo NAME              EHLO name for the STARTTLS check\n"
    "  --timeout SECONDS        per connection and reply (default 10)\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit status: 0 the report was made (whatever it found), 1 it could not be\n"
    "made, 2 usage.\n";

enum {
    OPT_JSON = 1000,
    OPT_SEL,
    OPT_IP,
    OPT_DNS,
    OPT_IPBL,
    OPT_DOMBL,
    OPT_NOSMTP,
    OPT_PRIVATE,
    OPT_CA,
    OPT_HELO,
    OPT_TIMEOUT
};

#define MAX_LIST 32

static void print_findings(json_t *findings)
{
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        const char *sev = json_string_value(json_object_get(f, "severity"));
        const char *msg = json_string_value(json_object_get(f, "message"));
        char *safe = cli_sanitize(msg ? msg : "", msg ? strlen(msg) : 0);
        printf("    [%s] %s: %s\n", sev ? sev : "?", json_string_value(json_object_get(f, "code")),
               safe ? safe : "");
        free(safe);
        /* what to change, under each warn and fail finding */
        const char *fix = json_string_value(json_object_get(f, "fix"));
        if (fix && *fix) {
            char *sfix = cli_sanitize(fix, strlen(fix));
            printf("        fix: %s\n", sfix ? sfix : "");
            free(sfix);
        }
    }
}

static void print_section(json_t *report, const char *key, const char *title)
{
    json_t *sec = json_object_get(report, key);
    if (!json_is_object(sec))
        return;
    const char *status = json_string_value(json_object_get(sec, "status"));
    printf("%-11s %s\n", title, status ? status : "?");
    size_t i;
    json_t *rec;
    json_array_foreach(json_object_get(sec, "records"), i, rec) {
        if (json_is_string(rec)) {
            char *safe = cli_sanitize(json_string_value(rec), json_string_length(rec));
            printf("    %s\n", safe ? safe : "");
            free(safe);
        }
    }
    print_findings(json_object_get(sec, "findings"));
}

int cmd_dns(int argc, char **argv, const cli_global *g)
{
    (void)g;
    static const struct option opts[] = {
        { "json", no_argument, NULL, OPT_JSON },
        { "dkim-selector", required_argument, NULL, OPT_SEL },
        { "ip", required_argument, NULL, OPT_IP },
        { "dns", required_argument, NULL, OPT_DNS },
        { "ip-blocklists", required_argument, NULL, OPT_IPBL },
        { "domain-blocklists", required_argument, NULL, OPT_DOMBL },
        { "no-smtp", no_argument, NULL, OPT_NOSMTP },
        { "allow-private", no_argument, NULL, OPT_PRIVATE },
        { "ca-file", required_argument, NULL, OPT_CA },
        { "helo", required_argument, NULL, OPT_HELO },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *sels[MAX_LIST], *ips[MAX_LIST];
    bc_health_options ho = { .dkim_selectors = sels, .ips = ips, .timeout_ms = 10000 };
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_SEL:
        case OPT_IP: {
            size_t *n = c == OPT_SEL ? &ho.n_dkim_selectors : &ho.n_ips;
            if (*n >= MAX_LIST) {
                cli_error("dns: at most %d --%s", MAX_LIST, c == OPT_SEL ? "dkim-selector" : "ip");
                return BC_EXIT_USAGE;
            }
            (c == OPT_SEL ? sels : ips)[(*n)++] = optarg;
            break;
        }
        case OPT_DNS: ho.dns_servers = optarg; break;
        case OPT_IPBL: ho.ip_blocklists = optarg; break;
        case OPT_DOMBL: ho.domain_blocklists = optarg; break;
        case OPT_NOSMTP: ho.no_smtp = true; break;
        case OPT_PRIVATE: ho.allow_private = true; break;
        case OPT_CA: ho.ca_file = optarg; break;
        case OPT_HELO: ho.helo = optarg; break;
        case OPT_TIMEOUT: {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s < 1 || s > 600) {
                cli_error("dns: --timeout: '%s' is not a number of seconds from 1 to 600", optarg);
                return BC_EXIT_USAGE;
            }
            ho.timeout_ms = (int)s * 1000;
            break;
        }
        case 'h': fputs(cli_help_dns_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck help dns'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        cli_error("dns: give one DOMAIN");
        fputs("Try 'bouncecheck help dns'.\n", stderr);
        return BC_EXIT_USAGE;
    }
    char *text = NULL, err[512] = "";
    bc_error st = bc_health_check(argv[optind], &ho, &text, err, sizeof err);
    if (st != BC_OK) {
        cli_error("dns: %s", err[0] ? err : bc_strerror(st));
        return st == BC_EINVAL ? BC_EXIT_USAGE : BC_EXIT_FAILURE;
    }
    if (json) {
        puts(text);
        free(text);
        return BC_EXIT_OK;
    }
    json_t *report = json_loads(text, 0, NULL);
    free(text);
    if (!report) {
        cli_error("dns: out of memory");
        return BC_EXIT_FAILURE;
    }
    printf("%s: grade %s (score %lld)\n\n", json_string_value(json_object_get(report, "domain")),
           json_string_value(json_object_get(report, "grade")),
           (long long)json_integer_value(json_object_get(report, "score")));
    static const char *const keys[][2] = {
        { "mx", "MX" },
        { "spf", "SPF" },
        { "dmarc", "DMARC" },
        { "dkim", "DKIM" },
        { "blocklists", "Blocklists" },
        { "mta_sts", "MTA-STS" },
        { "tls_rpt", "TLS-RPT" },
        { "bimi", "BIMI" },
        { "dnssec", "DNSSEC" },
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        print_section(report, keys[i][0], keys[i][1]);
    json_decref(report);
    return fflush(stdout) == 0 ? BC_EXIT_OK : BC_EXIT_FAILURE;
}

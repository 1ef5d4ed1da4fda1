/*
 * cmd_spf.c - `bouncecheck spf`: evaluate a domain's SPF policy for one
 * client address (RFC 7208 check_host() through bc_spf_check) and print
 * the result, its explanation and the terms evaluated, or the JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char cli_help_spf_text[] =
    "Usage: bouncecheck spf [--json] [--dns IP[:PORT]] [--helo NAME] IP SENDER\n"
    "\n"
    "Evaluate the SPF policy (RFC 7208 check_host) of SENDER's domain for mail\n"
    "coming from the client address IP (IPv4 or IPv6). SENDER is the MAIL FROM\n"
    "address (user@domain or just a domain); an empty SENDER (\"\") checks the HELO\n"
    "name given with --helo, as postmaster@NAME. The result is one of pass, fail,\n"
    "softfail, neutral, none, temperror or permerror, with the explanation the\n"
    "domain publishes (exp=) on fail, and the path of terms that decided it.\n"
    "\n"
    "Options:\n"
    "  --json             print {\"result\", \"explanation\", \"ip\", \"sender\", \"helo\",\n"
    "                     \"domain\", \"trace\": [{\"domain\", \"depth\", \"term\", \"match\",\n"
    "                     \"decided\", \"error\"}], \"lookups\", \"void_lookups\"}\n"
    "  --dns IP[:PORT]    ask this DNS server (default: /etc/resolv.conf); several\n"
    "                     separated by commas\n"
    "  --helo NAME        the HELO/EHLO name (the %{h} macro; the identity checked\n"
    "                     when SENDER is empty)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Exit status: 0 the check ran (whatever the result), 1 the DNS resolver could\n"
    "not be set up, 2 usage error (including an address that is not an IP).\n"
    "\n"
    "Examples:\n"
    "  bouncecheck spf 192.0.2.10 alice@example.com\n"
    "  bouncecheck spf --json --helo mail.example.org 2001:db8::25 \"\"\n";

/* Prints s made safe for a terminal. */
static void spf_put(const char *s)
{
    char *safe = s ? cli_sanitize(s, strlen(s)) : NULL;
    fputs(safe ? safe : "", stdout);
    free(safe);
}

/* The readable report: "RESULT: explanation" and one line per term. */
static void spf_print(const json_t *root)
{
    const char *result = json_string_value(json_object_get(root, "result"));
    char up[16];
    size_t i = 0;
    for (; result && result[i] && i + 1 < sizeof up; i++)
        up[i] = (char)(result[i] >= 'a' && result[i] <= 'z' ? result[i] - 'a' + 'A' : result[i]);
    up[i] = '\0';
    const char *expl = json_string_value(json_object_get(root, "explanation"));
    const char *error = json_string_value(json_object_get(root, "error"));
    printf("%s: ", up);
    if (expl)
        spf_put(expl);
    else if (error)
        spf_put(error);
    else
        printf("(no explanation)");
    printf("\n");
    printf("domain ");
    spf_put(json_string_value(json_object_get(root, "domain")));
    printf(", %lld DNS-querying term(s), %lld void lookup(s)\n",
           (long long)json_integer_value(json_object_get(root, "lookups")),
           (long long)json_integer_value(json_object_get(root, "void_lookups")));
    size_t k;
    const json_t *t;
    json_array_foreach(json_object_get(root, "trace"), k, t) {
        int depth = (int)json_integer_value(json_object_get(t, "depth"));
        printf("  %*s", depth * 2, "");
        spf_put(json_string_value(json_object_get(t, "domain")));
        printf(": ");
        spf_put(json_string_value(json_object_get(t, "term")));
        const json_t *m = json_object_get(t, "match");
        if (json_is_boolean(m))
            printf(json_is_true(m) ? "  match" : "  no match");
        const char *r = json_string_value(json_object_get(t, "result"));
        if (r)
            printf("  -> %s", r);
        if (json_is_true(json_object_get(t, "decided")))
            printf("  (decided)");
        const char *e = json_string_value(json_object_get(t, "error"));
        if (e) {
            printf("  error: ");
            spf_put(e);
        }
        printf("\n");
    }
}

int cmd_spf(int argc, char **argv, const cli_global *g)
{
    (void)g;
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "dns", required_argument, NULL, 'd' },
        { "helo", required_argument, NULL, 'H' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bool json = false;
    const char *dns = NULL, *helo = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'd': dns = optarg; break;
        case 'H': helo = optarg; break;
        case 'h': fputs(cli_help_spf_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck spf --help'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        cli_error("spf: give the client IP and the sender (bouncecheck spf IP SENDER)");
        return BC_EXIT_USAGE;
    }
    const char *ip = argv[optind], *sender = argv[optind + 1];
    if (!*sender && (!helo || !*helo)) {
        cli_error("spf: an empty SENDER needs --helo NAME");
        return BC_EXIT_USAGE;
    }
    char *text = NULL;
    char err[512] = "";
    bc_error st = bc_spf_check(dns, ip, sender, helo, &text, err, sizeof err);
    if (st == BC_EINVAL) {
        cli_error("spf: %s", err[0] ? err : bc_strerror(st));
        return BC_EXIT_USAGE;
    }
    if (st != BC_OK) {
        cli_error("spf: %s", err[0] ? err : bc_strerror(st));
        return BC_EXIT_FAILURE;
    }
    if (json) {
        printf("%s\n", text);
        free(text);
        return BC_EXIT_OK;
    }
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    free(text);
    if (!root) {
        cli_error("spf: unreadable result: %s", jerr.text);
        return BC_EXIT_FAILURE;
    }
    spf_print(root);
    json_decref(root);
    return BC_EXIT_OK;
}

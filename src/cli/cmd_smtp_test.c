/*
 * cmd_smtp_test.c - `bouncecheck smtp-test`: test one mail server's SMTP
 * ports (banner, EHLO extensions, TLS and its certificate, reverse DNS,
 * open relay) and print a readable report or the library's JSON.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

const char cli_help_smtp_test_text[] =
    "Usage: bouncecheck smtp-test [--json] [--port N] [--helo NAME] [--allow-private]\n"
    "                             [--timeout S] HOST\n"
    "\n"
    "Test the SMTP server HOST (a host name or an IP address) on ports 25, 587, 465\n"
    "and 2525 in turn, or on the port given. For each port: whether it connects and\n"
    "how fast, the banner, the EHLO extensions (SIZE, PIPELINING, STARTTLS, AUTH\n"
    "mechanisms, SMTPUTF8, 8BITMIME, CHUNKING, ENHANCEDSTATUSCODES, others), TLS via\n"
    "STARTTLS (implicit TLS on 465) with version, cipher and the certificate (subject,\n"
    "issuer, names, expiry, whether it verifies against the system's CAs and names\n"
    "HOST), whether the banner's host name is the address's reverse DNS name, and\n"
    "whether the server is an open relay: it is asked to take mail from\n"
    "<bouncecheck-relay-test@example.org> to <bouncecheck-relay-test@example.net>,\n"
    "up to RCPT TO only (then RSET and QUIT; DATA is never sent, nothing is ever\n"
    "delivered). Findings say what is wrong and how to fix it.\n"
    "\n"
    "When HOST has several addresses, the first usable one is tested. Like\n"
    "verification, smtp-test refuses loopback, private and other reserved\n"
    "addresses unless --allow-private is given.\n"
    "\n"
    "Options:\n"
    "  --json            print the JSON report: {\"host\", \"address\", \"ports\": [{\"port\",\n"
    "                    \"connected\", \"connect_ms\", \"error\", \"banner\", \"banner_host\",\n"
    "                    \"ptr\", \"ptr_matches_banner\", \"ehlo\", \"ehlo_after_tls\", \"tls\",\n"
    "                    \"open_relay\", \"relay_reply\"}], \"findings\": [{\"severity\",\n"
    "                    \"code\", \"message\", \"fix\"}]}\n"
    "  --port N          test only port N (465 means implicit TLS)\n"
    "  --helo NAME       EHLO name (default: this host's FQDN)\n"
    "  --allow-private   test loopback, private and reserved addresses too\n"
    "  --timeout S       seconds to wait for the connection and for each reply\n"
    "                    (default: 10 to connect, 30 per reply)\n"
    "  -h, --help        show this help\n"
    "\n"
    "Exit status: 0 the test ran (whatever it found), 1 no port could be connected\n"
    "or the host could not be tested, 2 usage error.\n"
    "\n"
    "Examples:\n"
    "  bouncecheck smtp-test mx.example.com\n"
    "  bouncecheck smtp-test --port 587 --json mail.example.org\n";

/* The string member `key` of o, made safe for a terminal (static buffer
 * reused per call slot), or `dflt` when absent or null. */
static const char *st_str(const json_t *o, const char *key, const char *dflt, char *buf, size_t len)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        return dflt;
    char *safe = cli_sanitize(s, strlen(s));
    if (!safe)
        return dflt;
    snprintf(buf, len, "%s", safe);
    free(safe);
    return buf;
}

/* "yes", "no" or `unknown` for a JSON boolean or null. */
static const char *st_yesno(const json_t *v, const char *unknown)
{
    return json_is_true(v) ? "yes" : json_is_false(v) ? "no" : unknown;
}

/* Prints the items of a JSON array of strings separated by spaces. */
static void st_print_list(const json_t *arr)
{
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        char *safe = s ? cli_sanitize(s, strlen(s)) : NULL;
        printf("%s%s", i ? " " : "", safe ? safe : "?");
        free(safe);
    }
}

/* Prints an "ehlo" object under the given label. */
static void st_print_ehlo(const char *label, const json_t *e)
{
    if (!json_is_object(e))
        return;
    printf("  %s", label);
    if (json_is_true(json_object_get(e, "helo_fallback"))) {
        printf("EHLO refused, HELO accepted (no extensions)\n");
        return;
    }
    st_print_list(json_object_get(e, "extensions"));
    printf("\n");
    const json_t *size = json_object_get(e, "size");
    if (json_is_integer(size)) {
        json_int_t n = json_integer_value(size);
        if (n > 0)
            printf("    size limit:  %lld bytes (%.1f MB)\n", (long long)n, (double)n / 1e6);
        else
            printf("    size limit:  none announced\n");
    }
    const json_t *auth = json_object_get(e, "auth");
    if (json_array_size(auth) > 0) {
        printf("    auth:        ");
        st_print_list(auth);
        printf("\n");
    }
}

/* Prints the readable report of one port. */
static void st_print_port(const json_t *p)
{
    char b1[1200], b2[1200];
    int port = (int)json_integer_value(json_object_get(p, "port"));
    if (!json_is_true(json_object_get(p, "connected"))) {
        printf("Port %d: not connected: %s\n", port, st_str(p, "error", "unknown error", b1, sizeof b1));
        return;
    }
    printf("Port %d: connected in %lld ms\n", port,
           (long long)json_integer_value(json_object_get(p, "connect_ms")));
    const json_t *tls = json_object_get(p, "tls");
    const json_t *banner = json_object_get(p, "banner");
    if (json_is_object(banner))
        printf("  banner:        %d %s\n", (int)json_integer_value(json_object_get(banner, "code")),
               st_str(banner, "text", "", b1, sizeof b1));
    if (json_object_get(p, "ptr") && !json_is_null(json_object_get(p, "ptr"))) {
        const json_t *m = json_object_get(p, "ptr_matches_banner");
        printf("  reverse DNS:   %s (banner name %s: %s)\n", st_str(p, "ptr", "-", b1, sizeof b1),
               st_str(p, "banner_host", "-", b2, sizeof b2),
               json_is_true(m)    ? "matches"
               : json_is_false(m) ? "differs"
                                  : "not compared");
    } else
        printf("  reverse DNS:   none\n");
    st_print_ehlo("extensions:    ", json_object_get(p, "ehlo"));
    const char *mode = json_string_value(json_object_get(tls, "mode"));
    if (!mode)
        printf("  TLS:           none\n");
    else if (json_object_get(tls, "error"))
        printf("  TLS (%s): failed: %s\n", mode, st_str(tls, "error", "", b1, sizeof b1));
    else if (json_object_get(tls, "version")) {
        printf("  TLS (%s): %s, %s\n", mode, st_str(tls, "version", "?", b1, sizeof b1),
               st_str(tls, "cipher", "?", b2, sizeof b2));
        printf("    subject:     %s\n", st_str(tls, "subject", "-", b1, sizeof b1));
        printf("    issuer:      %s\n", st_str(tls, "issuer", "-", b1, sizeof b1));
        const json_t *sans = json_object_get(tls, "sans");
        if (json_array_size(sans) > 0) {
            printf("    names:       ");
            st_print_list(sans);
            printf("\n");
        }
        if (json_object_get(tls, "not_after"))
            printf("    expires:     %s (%lld days left)\n", st_str(tls, "not_after", "-", b1, sizeof b1),
                   (long long)json_integer_value(json_object_get(tls, "days_left")));
        if (json_is_true(json_object_get(tls, "verified")))
            printf("    verified:    yes\n");
        else
            printf("    verified:    no (%s)\n", st_str(tls, "verify_error", "unknown reason", b1, sizeof b1));
        printf("    name match:  %s\n", st_yesno(json_object_get(tls, "name_matches"), "unknown"));
    }
    st_print_ehlo("after TLS:     ", json_object_get(p, "ehlo_after_tls"));
    const json_t *relay = json_object_get(p, "open_relay");
    printf("  open relay:    %s", json_is_true(relay) ? "YES" : json_is_false(relay) ? "no" : "not determined");
    if (json_is_string(json_object_get(p, "relay_reply")))
        printf(" (%s)", st_str(p, "relay_reply", "", b1, sizeof b1));
    printf("\n");
    if (json_is_string(json_object_get(p, "error")))
        printf("  stopped:       %s\n", st_str(p, "error", "", b1, sizeof b1));
}

/* Prints the whole readable report. */
static void st_print_report(const json_t *root)
{
    char b1[1200], b2[300];
    printf("SMTP test of %s (%s)\n\n", st_str(root, "host", "?", b1, sizeof b1),
           st_str(root, "address", "?", b2, sizeof b2));
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(root, "ports"), i, p) {
        st_print_port(p);
        printf("\n");
    }
    const json_t *findings = json_object_get(root, "findings");
    if (json_array_size(findings) == 0) {
        printf("Findings: none\n");
        return;
    }
    printf("Findings:\n");
    const json_t *f;
    json_array_foreach(findings, i, f) {
        printf("  [%s] %s: %s\n", st_str(f, "severity", "?", b2, sizeof b2),
               json_string_value(json_object_get(f, "code")) ? json_string_value(json_object_get(f, "code")) : "?",
               st_str(f, "message", "", b1, sizeof b1));
        if (json_is_string(json_object_get(f, "fix")))
            printf("      fix: %s\n", st_str(f, "fix", "", b1, sizeof b1));
    }
}

/* True for 1..255 printable ASCII bytes without spaces: what can go on an
 * SMTP command line as a name. */
static bool st_word_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return true;
}

int cmd_smtp_test(int argc, char **argv, const cli_global *g)
{
    (void)g;
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "port", required_argument, NULL, 'p' },
        { "helo", required_argument, NULL, 'H' },
        { "allow-private", no_argument, NULL, 'P' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    bc_smtp_test_options o = { 0 };
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'p': {
            char *end = NULL;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 65535) {
                cli_error("smtp-test: --port must be a TCP port 1..65535 (got '%s')", optarg);
                return BC_EXIT_USAGE;
            }
            o.port = (int)v;
            break;
        }
        case 'H': o.helo = optarg; break;
        case 'P': o.allow_private = true; break;
        case 't': {
            char *end = NULL;
            double s = strtod(optarg, &end);
            if (!*optarg || *end || !isfinite(s) || s <= 0 || s > 3600) {
                cli_error("smtp-test: --timeout must be a number of seconds up to 3600 (got '%s')", optarg);
                return BC_EXIT_USAGE;
            }
            int ms = (int)(s * 1000.0);
            o.connect_timeout_ms = o.command_timeout_ms = ms > 0 ? ms : 1;
            break;
        }
        case 'h': fputs(cli_help_smtp_test_text, stdout); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck smtp-test --help'.\n", stderr); return BC_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        if (optind >= argc)
            cli_error("smtp-test: which host? (bouncecheck smtp-test HOST)");
        else
            cli_error("smtp-test: one host only (got '%s' too)", argv[optind + 1]);
        return BC_EXIT_USAGE;
    }
    const char *host = argv[optind];
    if (!st_word_ok(host)) {
        cli_error("smtp-test: '%s' is not a host name or an IP address", host);
        return BC_EXIT_USAGE;
    }
    if (o.helo && !st_word_ok(o.helo)) {
        cli_error("smtp-test: --helo must be a host name without spaces or control characters");
        return BC_EXIT_USAGE;
    }
    char *text = NULL;
    char err[512] = "";
    bc_error st = bc_smtp_test(host, &o, &text, err, sizeof err);
    if (st != BC_OK) {
        cli_error("smtp-test: %s", err[0] ? err : bc_strerror(st));
        return BC_EXIT_FAILURE;
    }
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    free(text);
    if (!root) {
        cli_error("smtp-test: unreadable report: %s", jerr.text);
        return BC_EXIT_FAILURE;
    }
    bool any = false;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(root, "ports"), i, p)
        if (json_is_true(json_object_get(p, "connected")))
            any = true;
    if (json) {
        char *out = json_dumps(root, JSON_INDENT(2));
        if (!out) {
            json_decref(root);
            cli_error("out of memory");
            return BC_EXIT_FAILURE;
        }
        puts(out);
        free(out);
    } else
        st_print_report(root);
    json_decref(root);
    if (fflush(stdout) != 0) {
        cli_error("smtp-test: cannot write the report");
        return BC_EXIT_FAILURE;
    }
    return any ? BC_EXIT_OK : BC_EXIT_FAILURE;
}

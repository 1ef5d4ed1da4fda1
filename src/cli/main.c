/*
 * main.c - `bouncecheck`: global options, subcommand dispatch and help.
 *
 * The command is a thin layer over libbouncecheck: it parses arguments,
 * hands the library what it needs and prints what it gets back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char main_help[] =
    "Usage: bouncecheck [--data-dir DIR] COMMAND [OPTIONS] [ARGS]\n"
    "\n"
    "Tell whether email addresses can receive mail, without sending any.\n"
    "\n"
    "Commands:\n"
    "  verify     verify addresses (syntax, domain data; --offline)\n"
    "  lists      show or update the disposable, free-mail and role lists\n"
    "  dns        check a domain's mail DNS: MX, SPF, DMARC, DKIM, blocklists, MTA-STS...\n"
    "  serve      run the HTTP JSON API (verification, bulk jobs, keys)\n"
    "  keys       create, list or revoke the HTTP API's keys\n"
    "  worker     verify the rows of a server's jobs from a shared PostgreSQL\n"
    "  status     show the workers, live claims and job queue of a shared database\n"
    "  smtp-test  test a mail server's SMTP ports: TLS, certificate, open relay\n"
    "  spf        evaluate a domain's SPF policy for a client IP (RFC 7208)\n"
    "  extract    find the email addresses in text, HTML, mail, CSV, PDF, DOCX...\n"
    "  disposable tell whether domains or addresses are disposable (throwaway)\n"
    "  doctor     audit this host as a sender first: PTR, HELO, MAIL FROM, port 25,\n"
    "             blocklists\n"
    "  help CMD   show the help of a command\n"
    "\n"
    "Global options:\n"
    "  --data-dir DIR  where `lists update` keeps downloaded lists\n"
    "                  (default $BOUNCECHECK_DATA_DIR, else\n"
    "                  $XDG_DATA_HOME/bouncecheck or ~/.local/share/bouncecheck)\n"
    "  -h, --help      show this help\n"
    "  -V, --version   show the version\n"
    "\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error, 3 unusable input,\n"
    "4 integrity check failed.\n"
    "\n"
    "Run 'bouncecheck help verify' for the verification options and result fields.\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("bouncecheck: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

bool cli_number(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cli_help(const char *subcommand, FILE *out)
{
    if (!subcommand) {
        fputs(main_help, out);
        return true;
    }
    if (strcmp(subcommand, "verify") == 0)
        fputs(cli_help_verify_text, out), fputs(cli_help_verify_text2, out);
    else if (strcmp(subcommand, "lists") == 0)
        fputs(cli_help_lists_text, out);
    else if (strcmp(subcommand, "keys") == 0)
        fputs(cli_help_keys_text, out);
    else if (strcmp(subcommand, "status") == 0)
        fputs(cli_help_status_text, out);
    else if (strcmp(subcommand, "worker") == 0)
        fputs(cli_help_worker_text, out);
    else if (strcmp(subcommand, "serve") == 0)
        fputs(cli_help_serve_text, out);
    else if (strcmp(subcommand, "dns") == 0)
        fputs(cli_help_dns_text, out);
    else if (strcmp(subcommand, "smtp-test") == 0)
        fputs(cli_help_smtp_test_text, out);
    else if (strcmp(subcommand, "spf") == 0)
        fputs(cli_help_spf_text, out);
    else if (strcmp(subcommand, "extract") == 0)
        fputs(cli_help_extract_text, out);
    else if (strcmp(subcommand, "disposable") == 0)
        fputs(cli_help_disposable_text, out);
    else if (strcmp(subcommand, "doctor") == 0)
        fputs(cli_help_doctor_text, out);
    else if (strcmp(subcommand, "help") == 0)
        fputs("Usage: bouncecheck help [COMMAND]\n\nShow the help of COMMAND, or the overview.\n", out);
    else
        return false;
    return true;
}

const char *cli_default_dir(const char *envvar)
{
    static char buf[4096];
    const char *v = getenv(envvar);
    if (v && *v)
        return v;
    v = getenv("XDG_DATA_HOME");
    if (v && *v) {
        snprintf(buf, sizeof buf, "%s/bouncecheck", v);
        return buf;
    }
    v = getenv("HOME");
    if (v && *v) {
        snprintf(buf, sizeof buf, "%s/.local/share/bouncecheck", v);
        return buf;
    }
    return "/var/lib/bouncecheck";
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data-dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    cli_global g = { .data_dir = cli_default_dir("BOUNCECHECK_DATA_DIR"), .prog = "bouncecheck" };
    int c;
    /* '+' stops at the first non-option: the subcommand parses the rest. */
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            g.data_dir = optarg;
            break;
        case 'h':
            cli_help(NULL, stdout);
            return BC_EXIT_OK;
        case 'V':
            printf("bouncecheck %s\n", bc_version());
            return BC_EXIT_OK;
        default:
            fputs("Try 'bouncecheck --help'.\n", stderr);
            return BC_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_help(NULL, stderr);
        return BC_EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* glibc: a full reset for the subcommand's getopt_long */

    if (strcmp(cmd, "help") == 0) {
        const char *topic = sub_argc > 1 ? sub_argv[1] : NULL;
        if (!cli_help(topic, stdout)) {
            cli_error("no such command: '%s'", topic);
            return BC_EXIT_USAGE;
        }
        return BC_EXIT_OK;
    }
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "lists") == 0)
        return cmd_lists(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "keys") == 0)
        return cmd_keys(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "status") == 0)
        return cmd_status(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "worker") == 0)
        return cmd_worker(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "dns") == 0)
        return cmd_dns(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "smtp-test") == 0)
        return cmd_smtp_test(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "spf") == 0)
        return cmd_spf(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "extract") == 0)
        return cmd_extract(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "disposable") == 0)
        return cmd_disposable(sub_argc, sub_argv, &g);
    if (strcmp(cmd, "doctor") == 0)
        return cmd_doctor(sub_argc, sub_argv, &g);
    cli_error("unknown command '%s'", cmd);
    fputs("Try 'bouncecheck --help'.\n", stderr);
    return BC_EXIT_USAGE;
}

/*
 * cli.c - `bouncecheck`: global options, subcommand dispatch and help.
 *
 * The command is a thin layer over libbouncecheck: it parses arguments,
 * hands the library what it needs and prints what it gets back. Commands
 * are a table; the program (src/main.c) adds those of higher layers (the
 * server's `serve`) through cli_main.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store.h"

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

st_store *cli_store_open(const char *cmd, const char *db, const char *dir)
{
    st_store *s = NULL;
    char err[1024] = "";
    if (st_store_open_db(&s, db, dir, err, sizeof err) != 0) {
        cli_error("%s: %s", cmd, err);
        return NULL;
    }
    return s;
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

/* The CLI's own commands; cli_main adds the program's others. */
static const cli_command own_commands[] = {
    { "verify", cmd_verify, cli_help_verify_text, cli_help_verify_text2 },
    { "lists", cmd_lists, cli_help_lists_text, NULL },
    { "keys", cmd_keys, cli_help_keys_text, NULL },
    { "status", cmd_status, cli_help_status_text, NULL },
    { "worker", cmd_worker, cli_help_worker_text, NULL },
    { "dns", cmd_dns, cli_help_dns_text, NULL },
    { "smtp-test", cmd_smtp_test, cli_help_smtp_test_text, NULL },
    { "spf", cmd_spf, cli_help_spf_text, NULL },
    { "extract", cmd_extract, cli_help_extract_text, NULL },
    { "disposable", cmd_disposable, cli_help_disposable_text, NULL },
    { "doctor", cmd_doctor, cli_help_doctor_text, NULL },
};
static const cli_command *more_commands;
static size_t n_more_commands;

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof own_commands / sizeof own_commands[0]; i++)
        if (strcmp(own_commands[i].name, name) == 0)
            return &own_commands[i];
    for (size_t i = 0; i < n_more_commands; i++)
        if (strcmp(more_commands[i].name, name) == 0)
            return &more_commands[i];
    return NULL;
}

bool cli_help(const char *subcommand, FILE *out)
{
    if (!subcommand) {
        fputs(main_help, out);
        return true;
    }
    const cli_command *c = find_command(subcommand);
    if (c) {
        fputs(c->help, out);
        if (c->help2)
            fputs(c->help2, out);
    } else if (strcmp(subcommand, "help") == 0) {
        fputs("Usage: bouncecheck help [COMMAND]\n\nShow the help of COMMAND, or the overview.\n", out);
    } else {
        return false;
    }
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

int cli_main(int argc, char **argv, const cli_command *more, size_t nmore)
{
    static const struct option opts[] = {
        { "data-dir", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    more_commands = more;
    n_more_commands = nmore;
    cli_global g = { .data_dir = cli_default_dir("BOUNCECHECK_DATA_DIR"), .prog = "bouncecheck" };
    int c;
    /* '+' stops at the first non-option: the subcommand parses the rest. */
    while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
        switch (c) {
        case 'd': g.data_dir = optarg; break;
        case 'h': cli_help(NULL, stdout); return BC_EXIT_OK;
        case 'V': printf("bouncecheck %s\n", bc_version()); return BC_EXIT_OK;
        default: fputs("Try 'bouncecheck --help'.\n", stderr); return BC_EXIT_USAGE;
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
    const cli_command *run = find_command(cmd);
    if (run)
        return run->run(sub_argc, sub_argv, &g);
    cli_error("unknown command '%s'", cmd);
    fputs("Try 'bouncecheck --help'.\n", stderr);
    return BC_EXIT_USAGE;
}

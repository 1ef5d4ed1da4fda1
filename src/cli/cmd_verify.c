/*
 * cmd_verify.c - `bouncecheck verify`: verify the addresses given on the
 * command line and print one result each, in input order.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "bulk_run.h"
#include "cli.h"
#include "settings.h"
#include "store.h"

const char cli_help_verify_text[] =
    "Usage: bouncecheck verify [OPTIONS] EMAIL...\n"
    "       bouncecheck verify [OPTIONS] -i FILE|- [-o FILE|-] [--column NAME|N]\n"
    "                          [--format csv|tsv|ndjson|json]\n"
    "\n"
    "Verify each EMAIL without sending mail: syntax, domain data, DNS (MX, null MX,\n"
    "A/AAAA fallback), then an SMTP probe of the mail server (EHLO, STARTTLS,\n"
    "MAIL FROM, RCPT TO, RSET/QUIT - never DATA), with a catch-all test and\n"
    "greylisting rechecks. Many addresses are verified concurrently; results are\n"
    "printed in the order given.\n"
    "\n"
    "Lists (bulk):\n"
    "  -i, --input FILE|-       verify a list: CSV or TSV (delimiter, header and email\n"
    "                           column detected; RFC 4180 quoting), plain text with one\n"
    "                           address per line, NDJSON, or XLSX (the first sheet);\n"
    "                           - reads standard input\n"
    "  -o, --output FILE|-      where the results go (default: standard output): every\n"
    "                           input row, in order, with the result columns appended\n"
    "                           (status, reason, score, disposable, role, free,\n"
    "                           accept_all, suggestion, mx_host, smtp_code, smtp_message)\n"
    "  --column NAME|N          the email column, by header name or 1-based number\n"
    "  --format F               output format csv, tsv, ndjson or json (default: from\n"
    "                           the output file's extension, else like the input)\n"
    "  --input-format F         csv, tsv, text or ndjson instead of sniffing\n"
    "  --state FILE             the job's state (default: OUTPUT.bcstate, or INPUT.bcstate\n"
    "                           when writing to standard output); removed when the job\n"
    "                           completes unless given here\n"
    "  --resume                 go on with an interrupted job (Ctrl-C, kill, crash): rows\n"
    "                           already verified are not asked again\n"
    "  --quiet                  no progress bar and no summary\n"
    "  --db URL                 share the list out over a PostgreSQL database: every\n"
    "                           `bouncecheck worker --db URL` (and this command) verifies\n"
    "                           its rows; the output is the same as one machine's\n"
    "  --force                  verify even when the DNS resolver fails its check (it\n"
    "                           says NXDOMAIN for the root zone, or invents answers):\n"
    "                           without it the list is not started (exit 1)\n"
    "  Each distinct address is verified once, domains are worked on concurrently, and\n"
    "  CSV/TSV cells that a spreadsheet would run as a formula get a leading '.\n"
    "\n";

/* The rest of the help (ISO C caps one string literal at 4095 bytes). */
const char cli_help_verify_text2[] =
    "Output:\n"
    "  --json                   one JSON object per address, one per line (NDJSON)\n"
    "  --trace                  add the SMTP transcript (JSON field transcript)\n"
    "  --offline                syntax and domain data only; nothing goes over the network\n"
    "\n"
    "Identity (an honest MTA identity; defaults come from this host):\n"
    "  --helo NAME              EHLO name (default: this host's FQDN)\n"
    "  --from ADDR              MAIL FROM address (default: verify@<helo name>)\n"
    "  --source-ip ADDR         connect from this local address; repeat for a pool\n"
    "  --providers FILE         provider rules read over the built-in ones (see README,\n"
    "                           \"Providers\")\n"
    "\n"
    "Network:\n"
    "  --dns IP[:PORT][,...]    DNS servers (default: /etc/resolv.conf)\n"
    "  --smtp-port PORT         SMTP port of the mail servers (default 25)\n"
    "  --proxy socks5://[USER:PASS@]IP:PORT\n"
    "                           send the SMTP probes through this SOCKS5 proxy; the\n"
    "                           MX is still resolved and checked here\n"
    "  --allow-private          also contact MX addresses in loopback, private,\n"
    "                           link-local, CGNAT or reserved ranges (labs, tests)\n"
    "  --no-starttls            never use STARTTLS\n"
    "  --no-catch-all           skip the catch-all test\n"
    "\n"
    "Limits and politeness:\n"
    "  --timeout SECONDS        deadline per address, always respected (default 60)\n"
    "  --connect-timeout S      per connection attempt (default 10)\n"
    "  --greeting-timeout S     wait for the server greeting (default 30)\n"
    "  --command-timeout S      wait for each reply (default 30)\n"
    "  --mx-connections N       concurrent connections per MX host (default 2)\n"
    "  --rcpts-per-connection N at most N addresses asked per connection (default:\n"
    "                           50, fewer at servers that show a limit)\n"
    "  --domain-rate N          new connections per domain per minute (default 120,\n"
    "                           0 for no limit)\n"
    "  --greylist-schedule S,.. waits before greylisting rechecks (default 60,300)\n"
    "\n"
    "  --config FILE            read settings from FILE (after /etc/bouncecheck.conf\n"
    "                           and ~/.config/bouncecheck/config)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Every option is also a config file key (helo = mx.example.net) and an\n"
    "environment variable (BOUNCECHECK_HELO); the command line wins, then the\n"
    "environment, then --config, then the user's file, then /etc.\n"
    "\n"
    "Statuses and reasons:\n"
    "  deliverable    accepted_email\n"
    "  undeliverable  invalid_syntax, special_use_domain, invalid_domain, no_mail_server,\n"
    "                 null_mx, rejected_email, mailbox_disabled\n"
    "  risky          disposable, accept_all, mailbox_full\n"
    "  unknown        unverified (--offline), dns_error, dns_unreliable, unsafe_target,\n"
    "                 no_connect, timeout, temporary_failure, greylisted, blocked,\n"
    "                 sender_rejected, rate_limited, policy_rejected, server_error,\n"
    "                 server_rejected, protocol_error, smtputf8_unsupported\n"
    "\n"
    "JSON fields (null when unknown): email, normalized, local, domain, ascii_domain,\n"
    "status, reason, score, syntax {valid, code, category, smtputf8, idn, special_use},\n"
    "disposable, role, role_category, free, accept_all, suggestion,\n"
    "mx [{host, preference, addresses}], mx_implicit,\n"
    "smtp {host, address, port, tls, code, enhanced, message, step, rule, attempts, ms},\n"
    "provider, duration_ms, and with --trace transcript [{dir, line}].\n"
    "\n"
    "Exit status: 0 every address got a verdict (whatever it is), 1 a runtime\n"
    "failure (also a list not started because the DNS resolver failed its check:\n"
    "the root zone must resolve and a made-up name must not; see --force), 2 a\n"
    "usage error, 3 unusable input (a list that cannot be read; when it breaks off\n"
    "part way, the rows before the problem are still verified and written),\n"
    "130/143 interrupted (the work is kept for --resume).\n"
    "\n"
    "Examples:\n"
    "  bouncecheck verify someone@example.net\n"
    "  bouncecheck verify --json --timeout 30 a@example.net b@example.net\n"
    "  bouncecheck verify --offline someone@gmial.com\n"
    "  bouncecheck verify -i contacts.csv -o contacts-checked.csv\n"
    "  bouncecheck verify -i contacts.csv -o contacts-checked.csv --resume\n";

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
    add_flag(flags, sizeof flags, bc_result_accept_all(r) == BC_YES, "accept_all");
    add_flag(flags, sizeof flags, a->valid && (a->flags & BC_ADDR_IDN), "idn");
    add_flag(flags, sizeof flags, a->valid && (a->flags & BC_ADDR_UTF8_LOCAL), "smtputf8");
    const char *reason = bc_result_reason(r);
    char why[128];
    if (!a->valid) {
        snprintf(why, sizeof why, "%s (%s)", reason, bc_syntax_code_name(a->code));
        reason = why;
    }
    const char *cells[] = { input,
                            bc_verdict_status_name(bc_result_status(r)),
                            reason,
                            score,
                            flags[0] ? flags : NULL,
                            bc_result_suggestion(r) };
    return cli_table_add(t, cells);
}

/* Collected results, printed in input order as soon as a prefix is ready. */
typedef struct run {
    bc_result **results;
    int n, next_print;
    int pending;
    bool json, trace;
    cli_table *table;
    char **argv;
    int rc;
} run;

static void print_transcript(const bc_result *r, const char *input)
{
    size_t n = bc_result_transcript_len(r);
    if (!n)
        return;
    char *safe = cli_sanitize(input, strlen(input));
    printf("\n-- SMTP transcript for %s\n", safe ? safe : "?");
    free(safe);
    for (size_t i = 0; i < n; i++) {
        char dir = '*';
        const char *line = bc_result_transcript_line(r, i, &dir);
        char *l = cli_sanitize(line, strlen(line));
        printf("%s %s\n", dir == 'C' ? ">>" : dir == 'S' ? "<<" : "**", l ? l : "?");
        free(l);
    }
}

static void emit_ready(run *st)
{
    while (st->next_print < st->n && st->results[st->next_print]) {
        bc_result *r = st->results[st->next_print];
        const char *input = st->argv[st->next_print];
        if (st->json) {
            char *line = bc_result_json(r);
            if (line) {
                puts(line);
                free(line);
                fflush(stdout);
            } else {
                cli_error("out of memory");
                st->rc = BC_EXIT_FAILURE;
            }
        } else if (!add_row(st->table, r, input)) {
            cli_error("out of memory");
            st->rc = BC_EXIT_FAILURE;
        }
        if (st->json || !st->trace) {
            bc_result_free(r);
            st->results[st->next_print] = NULL;
        }
        st->next_print++;
    }
}

typedef struct slot {
    run *st;
    int index;
} slot;

static void on_result(void *arg, bc_result *r)
{
    slot *sl = arg;
    sl->st->results[sl->index] = r;
    sl->st->pending--;
    emit_ready(sl->st);
}

/* Long options: the settings (see settings.c) plus the command's own. */
enum {
    OPT_JSON = 1000,
    OPT_OFFLINE,
    OPT_TRACE,
    OPT_CONFIG,
    OPT_COLUMN,
    OPT_FORMAT,
    OPT_INPUT_FORMAT,
    OPT_STATE,
    OPT_RESUME,
    OPT_QUIET,
    OPT_DB,
    OPT_FORCE,
    OPT_SETTING_BASE = 2000
};

static int verify_offline(bc_ctx *ctx, int first, int argc, char **argv, bool json)
{
    static const char *const headers[] = { "EMAIL", "STATUS", "REASON", "SCORE", "FLAGS", "SUGGESTION" };
    cli_table *t = json ? NULL : cli_table_new(6, headers);
    int rc = BC_EXIT_OK;
    if (!json && !t) {
        cli_error("out of memory");
        return BC_EXIT_FAILURE;
    }
    for (int i = first; i < argc && rc == BC_EXIT_OK; i++) {
        bc_result *r = NULL;
        bc_error st = bc_verify_offline(ctx, argv[i], strlen(argv[i]), &r);
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
    return rc;
}

static int verify_online(bc_ctx *ctx, const bc_verify_options *o, int first, int argc, char **argv, bool json,
                         bool trace)
{
    int n = argc - first;
    run st = { .n = n, .json = json, .trace = trace, .argv = argv + first, .rc = BC_EXIT_OK };
    static const char *const headers[] = { "EMAIL", "STATUS", "REASON", "SCORE", "FLAGS", "SUGGESTION" };
    st.results = calloc((size_t)n, sizeof *st.results);
    slot *slots = calloc((size_t)n, sizeof *slots);
    if (!json)
        st.table = cli_table_new(6, headers);
    struct event_base *base = event_base_new();
    if (!st.results || !slots || (!json && !st.table) || !base) {
        cli_error("out of memory");
        free(st.results);
        free(slots);
        cli_table_free(st.table);
        if (base)
            event_base_free(base);
        return BC_EXIT_FAILURE;
    }
    bc_verifier *v = NULL;
    char err[512] = "";
    int rc = BC_EXIT_OK;
    if (bc_verifier_new(&v, ctx, base, o, err, sizeof err) != BC_OK) {
        cli_error("%s", err);
        rc = BC_EXIT_USAGE;
        goto done;
    }
    for (int i = 0; i < n; i++) {
        slots[i].st = &st;
        slots[i].index = i;
        bc_error s = bc_verifier_submit(v, argv[first + i], strlen(argv[first + i]), on_result, &slots[i]);
        if (s != BC_OK) {
            cli_error("verify '%s': %s", argv[first + i], bc_strerror(s));
            rc = BC_EXIT_FAILURE;
            break;
        }
        st.pending++;
    }
    while (st.pending > 0 && rc == BC_EXIT_OK) {
        int lr = event_base_loop(base, EVLOOP_ONCE);
        if (lr < 0 || (lr == 1 && st.pending > 0)) {
            /* -1: libevent failed; 1: nothing left to wait for, yet
             * results are missing (a bug: say so rather than hang) */
            cli_error(lr < 0 ? "event loop failure" : "internal error: verification stalled");
            rc = BC_EXIT_FAILURE;
        }
    }
    bc_verifier_free(v); /* cancels anything left (only after an error) */
    /* Sessions cut loose by the free (a server still saying goodbye, a
     * tarpit past the deadline) release their sockets on the next turns. */
    for (int i = 0; i < 4; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    if (rc == BC_EXIT_OK)
        rc = st.rc;
    if (!json && rc == BC_EXIT_OK) {
        cli_table_print(st.table, stdout);
        /* what the sender can do about a blocked client or a refused MAIL
         * FROM, once per distinct sentence */
        for (int i = 0; i < n; i++) {
            const char *hint = st.results[i] ? bc_result_hint(st.results[i]) : NULL;
            bool seen = false;
            for (int k = 0; hint && k < i && !seen; k++)
                seen = st.results[k] && bc_result_hint(st.results[k]) &&
                       strcmp(bc_result_hint(st.results[k]), hint) == 0;
            if (hint && !seen)
                printf("hint: %s\n", hint);
        }
        for (int i = 0; trace && i < n; i++)
            if (st.results[i])
                print_transcript(st.results[i], argv[first + i]);
    }
done:
    for (int i = 0; i < n; i++)
        bc_result_free(st.results[i]);
    free(st.results);
    free(slots);
    cli_table_free(st.table);
    event_base_free(base);
    return rc;
}

int cmd_verify(int argc, char **argv, const cli_global *g)
{
    static const struct option own[] = {
        { "json", no_argument, NULL, OPT_JSON },
        { "offline", no_argument, NULL, OPT_OFFLINE },
        { "trace", no_argument, NULL, OPT_TRACE },
        { "config", required_argument, NULL, OPT_CONFIG },
        { "input", required_argument, NULL, 'i' },
        { "output", required_argument, NULL, 'o' },
        { "column", required_argument, NULL, OPT_COLUMN },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "input-format", required_argument, NULL, OPT_INPUT_FORMAT },
        { "state", required_argument, NULL, OPT_STATE },
        { "resume", no_argument, NULL, OPT_RESUME },
        { "quiet", no_argument, NULL, OPT_QUIET },
        { "db", required_argument, NULL, OPT_DB },
        { "force", no_argument, NULL, OPT_FORCE },
        { "help", no_argument, NULL, 'h' },
    };
    struct option opts[SETTINGS_MAX + sizeof own / sizeof own[0] + 1];
    size_t nsettings = settings_options(opts, OPT_SETTING_BASE, own, sizeof own / sizeof own[0]);

    cli_settings cs;
    if (!settings_begin(&cs, argc, argv))
        return BC_EXIT_USAGE;
    char err[512] = "";
    int rc = BC_EXIT_OK;
    bool offline = false, json = false, trace = false;
    bulk_opts bo = { 0 };
    bool bulk_only = false; /* an option that only makes sense with -i */
    int c;
    while ((c = getopt_long(argc, argv, "hi:o:", opts, NULL)) != -1) {
        bool bad_setting = false;
        if (settings_getopt(&cs, c, OPT_SETTING_BASE, nsettings, "verify", &bad_setting)) {
            if (bad_setting) {
                rc = BC_EXIT_USAGE;
                break;
            }
            continue;
        }
        switch (c) {
        case OPT_OFFLINE: offline = true; break;
        case OPT_JSON: json = true; break;
        case OPT_TRACE: trace = true; break;
        case OPT_CONFIG: break; /* read above */
        case 'i': bo.input = optarg; break;
        case 'o':
            bo.output = optarg;
            bulk_only = true;
            break;
        case OPT_COLUMN:
            bo.column = optarg;
            bulk_only = true;
            break;
        case OPT_STATE:
            bo.state = optarg;
            bulk_only = true;
            break;
        case OPT_RESUME:
            bo.resume = true;
            bulk_only = true;
            break;
        case OPT_QUIET: bo.quiet = true; break;
        case OPT_DB:
            bo.db = optarg;
            bulk_only = true;
            break;
        case OPT_FORCE:
            bo.force = true;
            bulk_only = true;
            break;
        case OPT_FORMAT:
        case OPT_INPUT_FORMAT: {
            bk_format f;
            bool input = c == OPT_INPUT_FORMAT;
            if (!bk_format_parse(optarg, &f) || f == BK_FMT_AUTO || (input && f == BK_FMT_JSON) ||
                (!input && f == BK_FMT_TEXT)) {
                cli_error("verify: --%s must be one of %s, not '%s'", input ? "input-format" : "format",
                          input ? "csv, tsv, text, ndjson" : "csv, tsv, ndjson, json", optarg);
                rc = BC_EXIT_USAGE;
            } else if (input) {
                bo.in_format = f;
            } else {
                bo.out_format = f;
            }
            bulk_only = true;
            break;
        }
        case 'h':
            cli_help("verify", stdout);
            settings_free(&cs);
            return BC_EXIT_OK;
        default: rc = BC_EXIT_USAGE; break;
        }
        if (rc != BC_EXIT_OK)
            break;
    }
    if (rc == BC_EXIT_OK && bo.input && optind < argc) {
        cli_error("verify: give addresses on the command line or a list with -i, not both");
        rc = BC_EXIT_USAGE;
    } else if (rc == BC_EXIT_OK && !bo.input && bulk_only) {
        cli_error("verify: -o, --column, --format, --input-format, --state, --resume, --db and --force need a"
                  " list (-i FILE)");
        rc = BC_EXIT_USAGE;
    } else if (rc == BC_EXIT_OK && bo.db && offline) {
        cli_error("verify: --db shares the list with workers that verify online; --offline verifies here alone");
        rc = BC_EXIT_USAGE;
    } else if (rc == BC_EXIT_OK && bo.db && !st_store_is_pg(bo.db)) {
        cli_error("verify: --db must be a postgres:// or postgresql:// URL (the workers' database)");
        rc = BC_EXIT_USAGE;
    } else if (rc == BC_EXIT_OK && !bo.input && optind >= argc) {
        cli_error("verify: no address given");
        rc = BC_EXIT_USAGE;
    }
    if (rc != BC_EXIT_OK) {
        fputs("Try 'bouncecheck help verify'.\n", stderr);
        settings_free(&cs);
        return rc;
    }
    cs.o.trace = trace;
    bc_options o = { .data_dir = g->data_dir, .providers_file = cs.providers };
    bc_ctx *ctx = NULL;
    if (bc_ctx_new(&ctx, &o, err, sizeof err) != BC_OK) {
        cli_error("cannot load the domain data: %s", err);
        settings_free(&cs);
        return BC_EXIT_FAILURE;
    }
    if (bo.input) {
        if (json && bo.out_format == BK_FMT_AUTO)
            bo.out_format = BK_FMT_NDJSON;
        bo.offline = offline;
        bo.vo = &cs.o;
        bo.ctx = ctx;
        rc = bulk_run(&bo);
    } else if (offline)
        rc = verify_offline(ctx, optind, argc, argv, json);
    else
        rc = verify_online(ctx, &cs.o, optind, argc, argv, json, trace);
    bc_ctx_free(ctx);
    settings_free(&cs);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write the results");
        rc = BC_EXIT_FAILURE;
    }
    return rc;
}

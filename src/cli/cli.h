/*
 * cli.h - shared pieces of the `bouncecheck` command.
 */
#ifndef BC_CLI_H
#define BC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "bouncecheck.h"

/* Exit codes, documented in the man page and the README. */
enum {
    BC_EXIT_OK = 0,        /* success (verify: every address processed) */
    BC_EXIT_FAILURE = 1,   /* a runtime failure (I/O, network, data) */
    BC_EXIT_USAGE = 2,     /* bad command line */
    BC_EXIT_INPUT = 3,     /* unusable input data */
    BC_EXIT_INTEGRITY = 4, /* a download failed its integrity check */
    BC_EXIT_LIMIT = 5,     /* extract: a limit stopped a document part way */
};

/* Options every subcommand understands (parsed by main.c before dispatch). */
typedef struct cli_global {
    const char *data_dir; /* --data-dir or $BOUNCECHECK_DATA_DIR or the default; never NULL */
    const char *prog;     /* argv[0] basename, for messages */
} cli_global;

/* Each subcommand gets argv with argv[0] = its own name, so getopt_long
 * starts at argv[1]. Returns an exit code. */
int cmd_verify(int argc, char **argv, const cli_global *g);
int cmd_lists(int argc, char **argv, const cli_global *g);
int cmd_keys(int argc, char **argv, const cli_global *g);
int cmd_status(int argc, char **argv, const cli_global *g);
int cmd_worker(int argc, char **argv, const cli_global *g);
int cmd_dns(int argc, char **argv, const cli_global *g);
int cmd_smtp_test(int argc, char **argv, const cli_global *g);
int cmd_spf(int argc, char **argv, const cli_global *g);
int cmd_extract(int argc, char **argv, const cli_global *g);
int cmd_disposable(int argc, char **argv, const cli_global *g);
int cmd_doctor(int argc, char **argv, const cli_global *g);

/* Each subcommand's help text (usage, options, examples), defined beside it. */
extern const char cli_help_verify_text[], cli_help_verify_text2[];
extern const char cli_help_lists_text[];
extern const char cli_help_keys_text[];
extern const char cli_help_status_text[];
extern const char cli_help_worker_text[];
extern const char cli_help_dns_text[];
extern const char cli_help_smtp_test_text[];
extern const char cli_help_spf_text[];
extern const char cli_help_extract_text[];
extern const char cli_help_disposable_text[];
extern const char cli_help_doctor_text[];

/* A command: its name, what runs it, its help (help2 follows it, or NULL). */
typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv, const cli_global *g);
    const char *help, *help2;
} cli_command;

/* The program's main: global options, then the command named, among the
 * CLI's own and the `nmore` others at `more` (commands of higher layers,
 * such as the server's `serve`: src/main.c). Returns the exit code. */
int cli_main(int argc, char **argv, const cli_command *more, size_t nmore);

/* The HTTP server's data directory by default: $BOUNCECHECK_DATA, else
 * $XDG_DATA_HOME/bouncecheck, else ~/.local/share/bouncecheck (cmd_keys.c).
 * The string is static or the environment's. */
const char *cli_server_data_dir(void);
/* $ENVVAR if set, else $XDG_DATA_HOME/bouncecheck, else
 * ~/.local/share/bouncecheck (a static buffer or the environment). */
const char *cli_default_dir(const char *envvar);

/* Help text of a subcommand to `out` (for --help and `help SUBCOMMAND`);
 * false when there is no such subcommand. */
bool cli_help(const char *subcommand, FILE *out);

/* Opens the store for command `cmd` (db: a PostgreSQL URL, or NULL for
 * SQLite in dir), or prints "CMD: why". NULL on failure; the caller closes
 * the result (st_store_close, src/store/store.h). */
typedef struct st_store st_store;
st_store *cli_store_open(const char *cmd, const char *db, const char *dir);

/* Prints "bouncecheck: message" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A whole decimal number in [min, max] into *out; false otherwise. */
bool cli_number(const char *s, long long min, long long max, long long *out);
/* --max-extract-seconds S and --max-extract-bytes N[K|M|G] (extract and
 * serve; cmd_extract.c): value into o's limit named by opt ("seconds" or
 * "bytes"), 0 meaning no limit. False when value is not one. */
bool cli_extract_limit(bc_extract_options *o, const char *opt, const char *value);
/* The option that sets limit ("--max-extract-seconds", "--max-extract-bytes"). */
const char *cli_extract_limit_option(bc_extract_limit limit);

/* A text table for terminals (table.c). Cells are copied and made safe
 * for a terminal: control characters and invalid UTF-8 are shown as \xNN. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(size_t ncols, const char *const *headers);
/* Adds a row of ncols cells (NULL cells print as "-"); false on ENOMEM. */
bool cli_table_add(cli_table *t, const char *const *cells);
void cli_table_print(const cli_table *t, FILE *out);
void cli_table_free(cli_table *t);

/* A copy of len bytes at s that is safe to print on a terminal (see
 * above); the caller frees it. NULL on ENOMEM. */
char *cli_sanitize(const char *s, size_t len);

#endif

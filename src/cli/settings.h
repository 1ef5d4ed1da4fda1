/*
 * settings.h - verification settings from files, environment and options.
 */
#ifndef BC_CLI_SETTINGS_H
#define BC_CLI_SETTINGS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "bouncecheck.h"

typedef struct cli_settings {
    bc_verify_options o;   /* strings point into `strings` */
    const char *providers; /* a providers file read over the built-in rules, or NULL */
    char **strings;        /* owned copies */
    size_t nstrings;
} cli_settings;

void settings_init(cli_settings *cs);
void settings_free(cli_settings *cs);

/* true when `name` is a setting (and so a long option of `verify`). */
bool settings_known(const char *name);
/* The name of setting i (0, 1, ...); NULL past the last. */
const char *settings_name(size_t i);
#define SETTINGS_MAX 32 /* more than there are */

/* --config FILE must be read before the options it can be overridden by:
 * finds it first in argv (the last one wins). NULL when absent. */
const char *settings_find_config(int argc, char **argv);

/* true when the setting is a yes/no flag (a long option without argument). */
bool settings_is_flag(const char *name);

/* Sets `name` to `value` (NULL for a flag given bare). false with a message
 * in err when the name or the value is bad. */
bool settings_apply(cli_settings *cs, const char *name, const char *value, char *err, size_t errlen);

/* Loads "key = value" lines ('#' starts a comment). 0 on success (or when
 * the file is absent and !must_exist), -1 with a message in err. */
int settings_load_file(cli_settings *cs, const char *path, bool must_exist, char *err, size_t errlen);

/* /etc/bouncecheck.conf then the user's config file. */
int settings_load_defaults(cli_settings *cs, char *err, size_t errlen);

/* BOUNCECHECK_<NAME> for every setting (dashes become underscores). */
int settings_load_env(cli_settings *cs, char *err, size_t errlen);

/* Everything but the command line, in order: /etc and the user's file,
 * --config FILE (found in argv), the environment. 0, or -1 with err. */
int settings_load_all(cli_settings *cs, int argc, char **argv, char *err, size_t errlen);

/* settings_init, then settings_load_all: false after printing why (the
 * caller exits with the usage status; nothing is left to free). */
bool settings_begin(cli_settings *cs, int argc, char **argv);

/* For getopt_long's answer c in a command whose long options start with
 * the settings' at `base` (n of them, from settings_options): false when
 * c is not one of them. Otherwise sets the setting to optarg and returns
 * true, after printing "CMD: --why" and setting *bad when the value is
 * bad. */
bool settings_getopt(cli_settings *cs, int c, int base, size_t n, const char *cmd, bool *bad);

/* The long options of a command that takes the settings: one per setting
 * (with an argument unless it is a flag; val = base + its index, so that
 * settings_name(val - base) names it), then own[0..nown), then the zero
 * entry, into opts, which has room for SETTINGS_MAX + nown + 1 entries.
 * Returns how many settings there are. */
size_t settings_options(struct option *opts, int base, const struct option *own, size_t nown);

#endif

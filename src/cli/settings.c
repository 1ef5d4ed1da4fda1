/*
 * settings.c - verification settings from config files, the environment and
 * the command line, in that order of increasing precedence.
 *
 * Every setting has one name, used alike as a config file key
 * ("helo = mx1.example.net"), as an environment variable
 * (BOUNCECHECK_HELO) and as a long option (--helo). Files:
 * /etc/bouncecheck.conf, then $XDG_CONFIG_HOME/bouncecheck/config (or
 * ~/.config/bouncecheck/config), then --config FILE.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "settings.h"

enum kind { K_STR, K_PROXY, K_INT, K_SECONDS, K_BOOL, K_SCHEDULE, K_SOURCE, K_PROVIDERS };

static const struct setting {
    const char *name;
    enum kind kind;
    size_t offset; /* into bc_verify_options (unused for K_SOURCE) */
    int min, max;
} settings[] = {
    { "dns", K_STR, offsetof(bc_verify_options, dns_servers), 0, 0 },
    { "helo", K_STR, offsetof(bc_verify_options, helo), 0, 0 },
    { "from", K_STR, offsetof(bc_verify_options, mail_from), 0, 0 },
    { "timeout", K_SECONDS, offsetof(bc_verify_options, timeout_ms), 1, 3600 },
    { "connect-timeout", K_SECONDS, offsetof(bc_verify_options, connect_timeout_ms), 1, 600 },
    { "greeting-timeout", K_SECONDS, offsetof(bc_verify_options, greeting_timeout_ms), 1, 600 },
    { "command-timeout", K_SECONDS, offsetof(bc_verify_options, command_timeout_ms), 1, 600 },
    { "mx-connections", K_INT, offsetof(bc_verify_options, mx_connections), 1, 64 },
    { "rcpts-per-connection", K_INT, offsetof(bc_verify_options, rcpts_per_connection), 1, 100 },
    { "domain-rate", K_INT, offsetof(bc_verify_options, domain_rate_per_min), 0, 100000 },
    { "greylist-schedule", K_SCHEDULE, 0, 0, 0 },
    { "source-ip", K_SOURCE, 0, 0, 0 },
    { "providers", K_PROVIDERS, 0, 0, 0 },
    { "proxy", K_PROXY, offsetof(bc_verify_options, proxy), 0, 0 },
    { "smtp-port", K_INT, offsetof(bc_verify_options, smtp_port), 1, 65535 },
    { "allow-private", K_BOOL, offsetof(bc_verify_options, allow_private), 0, 0 },
    { "no-catch-all", K_BOOL, offsetof(bc_verify_options, no_catch_all), 0, 0 },
    { "no-starttls", K_BOOL, offsetof(bc_verify_options, no_starttls), 0, 0 },
};

static const struct setting *find(const char *name)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++)
        if (strcmp(settings[i].name, name) == 0)
            return &settings[i];
    return NULL;
}

bool settings_known(const char *name)
{
    return find(name) != NULL;
}

const char *settings_name(size_t i)
{
    return i < sizeof settings / sizeof settings[0] ? settings[i].name : NULL;
}

const char *settings_find_config(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
    }
    return path;
}

bool settings_is_flag(const char *name)
{
    const struct setting *s = find(name);
    return s && s->kind == K_BOOL;
}

void settings_init(cli_settings *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->o.domain_rate_per_min = 0; /* the library's default */
}

void settings_free(cli_settings *cs)
{
    for (size_t i = 0; i < cs->nstrings; i++)
        free(cs->strings[i]);
    free(cs->strings);
    memset(cs, 0, sizeof *cs);
}

/* Keeps a copy of `s` alive as long as the settings. */
static const char *keep(cli_settings *cs, const char *s)
{
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    char **grown = realloc(cs->strings, (cs->nstrings + 1) * sizeof *grown);
    if (!grown) {
        free(copy);
        return NULL;
    }
    cs->strings = grown;
    cs->strings[cs->nstrings++] = copy;
    return copy;
}

static bool parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

bool settings_apply(cli_settings *cs, const char *name, const char *value, char *err, size_t errlen)
{
    const struct setting *s = find(name);
    if (!s) {
        snprintf(err, errlen, "unknown setting '%s'", name);
        return false;
    }
    char *base = (char *)&cs->o;
    long n;
    switch (s->kind) {
    case K_STR:
    case K_PROXY: {
        if (!value || !*value) {
            snprintf(err, errlen, "%s needs a value", name);
            return false;
        }
        /* A bad proxy is a usage error here, not a failure at the first probe. */
        if (s->kind == K_PROXY && bc_proxy_check(value, err, errlen) != BC_OK)
            return false;
        const char *v = keep(cs, value);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
        memcpy(base + s->offset, &v, sizeof v);
        return true;
    }
    case K_INT:
    case K_SECONDS:
        if (!value || !parse_long(value, &n) || n < s->min || n > s->max) {
            snprintf(err, errlen, "%s: '%s' is not a whole number from %d to %d", name, value ? value : "", s->min,
                     s->max);
            return false;
        }
        {
            int iv = (int)(s->kind == K_SECONDS ? n * 1000 : n);
            if (s->kind == K_INT && strcmp(name, "domain-rate") == 0 && n == 0)
                iv = -1; /* 0 on the command line: no limit */
            memcpy(base + s->offset, &iv, sizeof iv);
        }
        return true;
    case K_BOOL: {
        bool b;
        if (!value || !strcmp(value, "1") || !strcmp(value, "yes") || !strcmp(value, "true") ||
            !strcmp(value, "on"))
            b = true;
        else if (!strcmp(value, "0") || !strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "off"))
            b = false;
        else {
            snprintf(err, errlen, "%s: '%s' is not yes or no", name, value);
            return false;
        }
        memcpy(base + s->offset, &b, sizeof b);
        return true;
    }
    case K_SCHEDULE: {
        /* "60,300": the waits before each greylisting recheck */
        int waits[BC_MAX_GREYLIST_WAITS], nw = 0;
        const char *p = value ? value : "";
        while (*p) {
            char *end;
            errno = 0;
            long w = strtol(p, &end, 10);
            if (errno || end == p || w < 0 || w > 86400 || nw == BC_MAX_GREYLIST_WAITS || (*end && *end != ',')) {
                snprintf(err, errlen,
                         "greylist-schedule: '%s' is not a list of up to %d waits in seconds (e.g. 60,300)",
                         value ? value : "", BC_MAX_GREYLIST_WAITS);
                return false;
            }
            waits[nw++] = (int)w;
            p = *end ? end + 1 : end;
        }
        if (nw == 0) {
            snprintf(err, errlen, "greylist-schedule needs at least one wait");
            return false;
        }
        memcpy(cs->o.greylist_waits_s, waits, sizeof waits[0] * (size_t)nw);
        cs->o.n_greylist_waits = nw;
        return true;
    }
    case K_PROVIDERS:
        if (!value || !*value) {
            snprintf(err, errlen, "providers: give a file");
            return false;
        }
        if (!(cs->providers = keep(cs, value))) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
        return true;
    case K_SOURCE: {
        if (!value || !*value || cs->o.n_source_ips >= BC_MAX_SOURCE_IPS) {
            snprintf(err, errlen, "source-ip: give up to %d addresses", BC_MAX_SOURCE_IPS);
            return false;
        }
        const char *v = keep(cs, value);
        if (!v) {
            snprintf(err, errlen, "out of memory");
            return false;
        }
        cs->o.source_ips[cs->o.n_source_ips++] = v;
        return true;
    }
    }
    return false;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int settings_load_file(cli_settings *cs, const char *path, bool must_exist, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (!must_exist && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            rc = -1;
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *l = trim(line);
        if (!*l)
            continue;
        char *eq = strchr(l, '=');
        char *key = l, *value = NULL;
        if (eq) {
            *eq = '\0';
            value = trim(eq + 1);
        }
        key = trim(key);
        char why[256];
        if (!settings_apply(cs, key, value, why, sizeof why)) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "cannot read %s", path);
        rc = -1;
    }
    fclose(f);
    return rc;
}

int settings_load_env(cli_settings *cs, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        char var[64] = "BOUNCECHECK_";
        size_t n = strlen(var);
        for (const char *p = settings[i].name; *p && n + 1 < sizeof var; p++)
            var[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
        var[n] = '\0';
        const char *value = getenv(var);
        if (!value)
            continue;
        char why[256];
        if (!settings_apply(cs, settings[i].name, value, why, sizeof why)) {
            snprintf(err, errlen, "environment %s: %s", var, why);
            return -1;
        }
    }
    return 0;
}

int settings_load_defaults(cli_settings *cs, char *err, size_t errlen)
{
    if (settings_load_file(cs, "/etc/bouncecheck.conf", false, err, errlen) != 0)
        return -1;
    char path[PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/bouncecheck/config", xdg);
    else if (home && *home)
        snprintf(path, sizeof path, "%s/.config/bouncecheck/config", home);
    else
        return 0;
    return settings_load_file(cs, path, false, err, errlen);
}

int settings_load_all(cli_settings *cs, int argc, char **argv, char *err, size_t errlen)
{
    const char *config = settings_find_config(argc, argv);
    if (settings_load_defaults(cs, err, errlen) != 0 ||
        (config && settings_load_file(cs, config, true, err, errlen) != 0) ||
        settings_load_env(cs, err, errlen) != 0)
        return -1;
    return 0;
}

bool settings_begin(cli_settings *cs, int argc, char **argv)
{
    char err[1024] = "";
    settings_init(cs);
    if (settings_load_all(cs, argc, argv, err, sizeof err) == 0)
        return true;
    cli_error("%s", err);
    settings_free(cs);
    return false;
}

bool settings_getopt(cli_settings *cs, int c, int base, size_t n, const char *cmd, bool *bad)
{
    if (c < base || c >= base + (int)n)
        return false;
    char err[512] = "";
    if (!settings_apply(cs, settings_name((size_t)(c - base)), optarg, err, sizeof err)) {
        cli_error("%s: --%s", cmd, err);
        *bad = true;
    }
    return true;
}

size_t settings_options(struct option *opts, int base, const struct option *own, size_t nown)
{
    size_t k = 0;
    for (size_t i = 0; settings_name(i) && i < SETTINGS_MAX; i++, k++)
        opts[k] = (struct option){ settings_name(i),
                                   settings_is_flag(settings_name(i)) ? no_argument : required_argument, NULL,
                                   base + (int)i };
    size_t nsettings = k;
    for (size_t i = 0; i < nown; i++)
        opts[k++] = own[i];
    opts[k] = (struct option){ NULL, 0, NULL, 0 };
    return nsettings;
}

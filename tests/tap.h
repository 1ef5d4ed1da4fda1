/*
 * tap.h - a minimal TAP producer for the unit tests (meson runs them with
 * protocol 'tap'). Each check prints "ok N - what" or "not ok N - what";
 * tap_done() prints the plan and returns the exit status.
 */
#ifndef BC_TAP_H
#define BC_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3))) static int tap_check(int cond, const char *fmt, ...)
{
    va_list ap;
    tap_n++;
    if (!cond)
        tap_failed++;
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    return cond;
}

/* A comment line, shown by meson on failure. */
__attribute__((format(printf, 1, 2), unused)) static void tap_diag(const char *fmt, ...)
{
    va_list ap;
    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* Skips the whole program with a visible reason. */
__attribute__((unused)) static int tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#define CHECK(cond, ...) tap_check(!!(cond), __VA_ARGS__)
#define CHECK_STR(got, want, what) \
    tap_check(strcmp((got), (want)) == 0, "%s: got '%s', want '%s'", (what), (got), (want))

#endif

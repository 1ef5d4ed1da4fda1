/*
 * log.c - log lines and their clock (log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int64_t wk_now(void)
{
    return (int64_t)time(NULL);
}

void wk_time_str(int64_t t, char *buf, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "1970-01-01T00:00:00Z");
}

static const char *log_name = "serve";

void wk_log_name(const char *name)
{
    log_name = name;
}

void wk_log(const char *fmt, ...)
{
    char ts[32];
    wk_time_str(wk_now(), ts, sizeof ts);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s bouncecheck: %s: %s\n", ts, log_name, line);
}

/*
 * log.h - the log lines of the long-running commands (`serve`, `worker`,
 * `verify --db`): "TIMESTAMP bouncecheck: COMMAND: message" on stderr, and
 * the clock and timestamp format they and the store's callers share.
 */
#ifndef BC_WORK_LOG_H
#define BC_WORK_LOG_H

#include <stddef.h>
#include <stdint.h>

/* Seconds since the epoch. */
int64_t wk_now(void);
/* RFC 3339 UTC ("2026-11-29T09:00:00Z") of t into buf (>= 21 bytes). */
void wk_time_str(int64_t t, char *buf, size_t size);
/* Prints "bouncecheck: NAME: ..." with a timestamp to stderr. */
void wk_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The command named in wk_log's lines ("serve" unless set; a string that
 * lives as long as the process). Set once, before any thread starts. */
void wk_log_name(const char *name);

#endif

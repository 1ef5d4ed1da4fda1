/*
 * clock.h - the library's millisecond clock: deadlines, timeouts and the
 * durations in results (the probe, the verifier, smtp-test) all read it.
 */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC. */
long bc_now_ms(void);

#endif

/*
 * clock.h - the library's millisecond clock: deadlines, timeouts and the
 * durations in results (the probe, the verifier, smtp-test) all read it;
 * and the thread's CPU clock.
 */
#ifndef BC_CLOCK_H
#define BC_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC. */
long bc_now_ms(void);
/* CPU seconds the calling thread has used (the extractor's time limit). */
double bc_thread_cpu_s(void);

#endif

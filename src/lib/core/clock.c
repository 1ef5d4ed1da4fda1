/*
 * clock.c - the millisecond clock and the thread's CPU clock (see clock.h).
 */
#include <time.h>

#include "core/clock.h"

/* Milliseconds since an arbitrary point, on CLOCK_MONOTONIC. */
long bc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

double bc_thread_cpu_s(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

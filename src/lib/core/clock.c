/*
 * clock.c - the millisecond clock (see clock.h).
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

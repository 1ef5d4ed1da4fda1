/*
 * recheck.h - greylisting rechecks of a list's addresses, shared by the
 * bulk engine (runner.c) and the worker (src/work/worker.c). A list has
 * more time than one address: an address still greylisted when its own
 * deadline ran out waits on the schedule (vo->greylist_waits_s, else 60 s
 * then 300 s) and is asked again, while the others go on.
 *
 * The caller embeds a bk_recheck in its record of the address, keeps one
 * bk_recheck_list per owner (a run, a worker) and gets the record back in
 * `due` when the wait is over. Everything runs on the loop's thread.
 */
#ifndef BC_BULK_RECHECK_H
#define BC_BULK_RECHECK_H

#include <stdbool.h>

#include "bouncecheck.h"

struct event;
struct event_base;

typedef struct bk_recheck {
    int round;                      /* rechecks done so far */
    struct event *ev;               /* the wait, while waiting */
    struct bk_recheck *prev, *next; /* in the list, while waiting */
    struct bk_recheck_list *list;
} bk_recheck;

typedef struct bk_recheck_list {
    struct event_base *base;
    const bc_verify_options *vo; /* the schedule; NULL: the default */
    void (*due)(bk_recheck *rc); /* the wait is over (rc is out of the list) */
    bk_recheck *head;
} bk_recheck_list;

/* The wait in seconds before recheck number `round` (0, 1, ...): -1 when
 * no recheck is left. */
int bk_recheck_wait_s(const bc_verify_options *vo, int round);

/* When res is greylisted and the schedule has a wait left for rc: rc
 * waits in l (l->due gets it back) and true. Otherwise false (also when no
 * timer can be made): the result is final. */
bool bk_recheck_wait(bk_recheck_list *l, bk_recheck *rc, const bc_result *res);

/* Takes a waiting recheck out of l, its wait cancelled (to drop it): NULL
 * when none waits. */
bk_recheck *bk_recheck_pop(bk_recheck_list *l);

#endif

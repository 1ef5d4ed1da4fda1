/*
 * recheck.c - greylisting rechecks on a libevent timer (recheck.h).
 */
#include "recheck.h"

#include <string.h>

#include <event2/event.h>

int bk_recheck_wait_s(const bc_verify_options *vo, int round)
{
    static const int dflt[] = { 60, 300 };
    if (vo && vo->n_greylist_waits > 0)
        return round >= 0 && round < vo->n_greylist_waits ? vo->greylist_waits_s[round] : -1;
    return round >= 0 && round < 2 ? dflt[round] : -1;
}

static void unlink_rc(bk_recheck *rc)
{
    bk_recheck_list *l = rc->list;
    if (rc->prev)
        rc->prev->next = rc->next;
    else
        l->head = rc->next;
    if (rc->next)
        rc->next->prev = rc->prev;
    rc->prev = rc->next = NULL;
    event_free(rc->ev);
    rc->ev = NULL;
}

static void due_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bk_recheck *rc = arg;
    bk_recheck_list *l = rc->list;
    unlink_rc(rc);
    l->due(rc);
}

bool bk_recheck_wait(bk_recheck_list *l, bk_recheck *rc, const bc_result *res)
{
    int wait = bk_recheck_wait_s(l->vo, rc->round);
    if (wait < 0 || strcmp(bc_result_reason(res), "greylisted") != 0)
        return false;
    rc->ev = evtimer_new(l->base, due_cb, rc);
    struct timeval tv = { wait, 0 };
    if (!rc->ev || evtimer_add(rc->ev, &tv) != 0) {
        if (rc->ev)
            event_free(rc->ev);
        rc->ev = NULL;
        return false;
    }
    rc->round++;
    rc->list = l;
    rc->prev = NULL;
    rc->next = l->head;
    if (l->head)
        l->head->prev = rc;
    l->head = rc;
    return true;
}

bk_recheck *bk_recheck_pop(bk_recheck_list *l)
{
    bk_recheck *rc = l->head;
    if (rc)
        unlink_rc(rc);
    return rc;
}

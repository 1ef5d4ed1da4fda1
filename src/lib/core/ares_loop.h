/*
 * ares_loop.h - private: a c-ares channel driven by a libevent base, the
 * part the verifier's resolver (dns/dns.c), the domain checks' resolver
 * (dns/resolver.c) and the resolver check (dns/resolver_check.c) share.
 * The loop watches every socket c-ares opens with one persistent event and
 * re-arms one timer for c-ares's timeouts; the owner sends its questions
 * on `channel` and calls bc_ares_loop_reschedule after each one.
 * Implemented in ares_loop.c.
 */
#ifndef BC_ARES_LOOP_H
#define BC_ARES_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include <ares.h>

#include "bouncecheck.h"

struct event;
struct event_base;
struct bc_ares_watch;

typedef struct bc_ares_loop {
    struct event_base *base; /* borrowed */
    ares_channel channel;    /* valid while have_channel */
    bool have_channel;
    struct event *timer;           /* owned; c-ares timeouts */
    struct bc_ares_watch *watches; /* owned; one per socket c-ares watches */
} bc_ares_loop;

/* Prepares l (zeroed by the caller) on `base`: creates the timer. False when
 * it cannot be allocated; l is then still safe to close. */
bool bc_ares_loop_init(bc_ares_loop *l, struct event_base *base);

/* Opens l's channel with `ao` / `mask` (the loop adds its socket callback to
 * both) and, when `servers` is not NULL, points it at those servers
 * ("IP[:PORT],..."). On failure the message goes into err and the caller
 * closes l (bc_ares_loop_close). */
bc_error bc_ares_loop_open(bc_ares_loop *l, struct ares_options *ao, int mask, const char *servers, char *err,
                           size_t errlen);

/* Re-arms the timer for c-ares's next timeout, or stops it when nothing is
 * pending (nothing without a channel). */
void bc_ares_loop_reschedule(bc_ares_loop *l);

/* Lets c-ares handle its timeouts now and re-arms the timer: what the timer
 * does, for an owner that drives the channel by hand. */
void bc_ares_loop_process(bc_ares_loop *l);

/* Describes the channel's servers for messages into buf: "IP" (or
 * "[IPv6]"), with ":PORT" when the port is not 53, comma-separated, "..."
 * when cut, "the DNS servers" when none can be read. Returns how many
 * servers the channel has (at least 1). */
int bc_ares_loop_servers(const bc_ares_loop *l, char *buf, size_t buflen);

/* Destroys the channel (c-ares ends the queries in flight with
 * ARES_EDESTRUCTION), the watches and the timer; the base stays. Accepts a
 * loop that was only partly set up. */
void bc_ares_loop_close(bc_ares_loop *l);

#endif

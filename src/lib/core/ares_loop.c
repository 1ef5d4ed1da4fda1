/*
 * ares_loop.c - a c-ares channel driven by a libevent base (see
 * ares_loop.h): the event plumbing that the verifier's resolver
 * (dns/dns.c), the checks' resolver (dns/resolver.c) and the resolver
 * check (dns/resolver_check.c) share.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <ares.h>
#include <event2/event.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ares_loop.h"
#include "core/internal.h"

/* One socket c-ares asked the loop to watch. */
typedef struct bc_ares_watch {
    struct bc_ares_watch *next;
    ares_socket_t fd;
    struct event *ev; /* owned */
} bc_ares_watch;

void bc_ares_loop_reschedule(bc_ares_loop *l)
{
    struct timeval tv;
    if (!l->have_channel)
        return;
    if (ares_timeout(l->channel, NULL, &tv))
        evtimer_add(l->timer, &tv);
    else
        evtimer_del(l->timer);
}

void bc_ares_loop_process(bc_ares_loop *l)
{
    ares_process_fd(l->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    bc_ares_loop_reschedule(l);
}

/* A watched socket is ready: let c-ares read or write it. */
static void ares_loop_on_sock(evutil_socket_t fd, short what, void *arg)
{
    bc_ares_loop *l = arg;
    ares_process_fd(l->channel, (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
                    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
    bc_ares_loop_reschedule(l);
}

/* c-ares's timer ran out: let it retry or give up on queries. */
static void ares_loop_on_timer(evutil_socket_t fd, short what, void *arg)
{
    bc_ares_loop_process(arg);
}

/* c-ares opened, changed or closed a socket: keep one persistent event per
 * socket with the interest c-ares asked for. Called from inside c-ares,
 * possibly from ares_loop_on_sock for the very event it replaces (libevent
 * lets an event be freed from its own callback). */
static void ares_loop_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    bc_ares_loop *l = data;
    bc_ares_watch **pp = &l->watches;
    while (*pp && (*pp)->fd != fd)
        pp = &(*pp)->next;
    bc_ares_watch *w = *pp;
    if (w && w->ev) {
        event_free(w->ev);
        w->ev = NULL;
    }
    if (!readable && !writable) {
        if (w) {
            *pp = w->next;
            free(w);
        }
        return;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w)
            return; /* the timer still drives c-ares, only slower */
        w->fd = fd;
        w->next = l->watches;
        l->watches = w;
    }
    short what = (short)(EV_PERSIST | (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));
    w->ev = event_new(l->base, (evutil_socket_t)fd, what, ares_loop_on_sock, l);
    if (w->ev)
        event_add(w->ev, NULL);
}

bool bc_ares_loop_init(bc_ares_loop *l, struct event_base *base)
{
    l->base = base;
    l->timer = evtimer_new(base, ares_loop_on_timer, l);
    return l->timer != NULL;
}

bc_error bc_ares_loop_open(bc_ares_loop *l, struct ares_options *ao, int mask, const char *servers, char *err,
                           size_t errlen)
{
    /* ares_library_init is only required on Windows in c-ares 1.18; not
     * calling it keeps the library free of process-wide state. */
    ao->sock_state_cb = ares_loop_on_sock_state;
    ao->sock_state_cb_data = l;
    int st = ares_init_options(&l->channel, ao, mask | ARES_OPT_SOCK_STATE_CB);
    if (st != ARES_SUCCESS)
        return bc_seterr(err, errlen, BC_ENET, "c-ares init: %s", ares_strerror(st));
    l->have_channel = true;
    if (servers) {
        st = ares_set_servers_ports_csv(l->channel, servers);
        if (st != ARES_SUCCESS)
            return bc_seterr(err, errlen, BC_EINVAL, "bad DNS server list '%s': %s", servers, ares_strerror(st));
    }
    return BC_OK;
}

void bc_ares_loop_close(bc_ares_loop *l)
{
    if (l->have_channel) {
        /* Ends every query in flight with ARES_EDESTRUCTION and closes the
         * sockets, which removes their watches through
         * ares_loop_on_sock_state. */
        ares_destroy(l->channel);
        l->have_channel = false;
    }
    while (l->watches) {
        bc_ares_watch *w = l->watches;
        l->watches = w->next;
        if (w->ev)
            event_free(w->ev);
        free(w);
    }
    if (l->timer) {
        event_free(l->timer);
        l->timer = NULL;
    }
}

int bc_ares_loop_servers(const bc_ares_loop *l, char *buf, size_t buflen)
{
    struct ares_addr_port_node *list = NULL;
    size_t at = 0;
    int n = 0;
    buf[0] = '\0';
    if (l->have_channel && ares_get_servers_ports(l->channel, &list) == ARES_SUCCESS) {
        for (struct ares_addr_port_node *s = list; s; s = s->next) {
            char ip[INET6_ADDRSTRLEN];
            n++;
            if (at >= buflen - 1 || !inet_ntop(s->family, &s->addr, ip, sizeof ip))
                continue;
            int port = s->udp_port ? s->udp_port : NS_DEFAULTPORT;
            const char *sep = at ? "," : "";
            int w = port == NS_DEFAULTPORT
                        ? snprintf(buf + at, buflen - at, "%s%s", sep, ip)
                        : snprintf(buf + at, buflen - at, s->family == AF_INET6 ? "%s[%s]:%d" : "%s%s:%d", sep, ip,
                                   port);
            if (w < 0)
                break;
            at += (size_t)w;
        }
        ares_free_data(list);
    }
    if (at >= buflen && buflen >= 4)
        memcpy(buf + buflen - 4, "...", 4);
    if (!buf[0])
        snprintf(buf, buflen, "the DNS servers");
    return n > 0 ? n : 1;
}

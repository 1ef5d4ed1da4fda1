/*
 * smtp_probe.c - one SMTP client session as an explicit state machine.
 *
 * The session is a `bc_probe_step` plus a few counters. Two functions drive
 * it, in the manner of a classic MTA client:
 *
 *   probe_enter(p, step)    sends what the step sends and arms its timer;
 *   probe_response(p, r)    reacts to one complete reply for the current step
 *                           and picks the next step (or ends the session).
 *
 * Bytes read from the socket go straight into bc_smtp_parse(), which enforces
 * the line and reply bounds; we never read lines ourselves. Every way out goes
 * through probe_finish(), which records the outcome, silences the socket and
 * schedules the user callback on a 0 s timer, so the callback runs exactly
 * once, from the loop, and everything is freed after it returns.
 *
 * Every reply answers one command, in order (RFC 5321 4.1, RFC 2920 for
 * pipelined groups): `owed` counts the replies the commands on the wire
 * still owe. A reply when none is owed, bytes already there when the next
 * command is about to go out (outside a pipelined group), or a reply whose
 * code no command of its kind gives (220 to EHLO, 221 to RCPT, 550 to
 * RSET) means the stream is out of step: a duplicated greeting, a line a
 * proxy added, a reply lost from a group. From then on no reply can be
 * matched to its command, so the session gives no recipient any reply
 * (probe_out_of_step) and ends as PROTOCOL with out_of_step set.
 *
 * After the last RCPT reply the outcome is decided (COMPLETED); QUIT is then
 * sent and its 221 awaited briefly. The reply to the command after a
 * recipient's (RSET's 250, QUIT's 221) is what shows that the recipient's
 * reply was its own; when QUIT gets any other answer the stream was out of
 * step and the decided outcome is undone. No answer or a reset during QUIT
 * changes nothing.
 *
 * With a proxy, the socket connects to the proxy and the CONNECT step runs
 * the SOCKS5 machine (socks5.h) until the tunnel is open, under the connect
 * timer; every way it can fail ends the session at CONNECT as REFUSED (or
 * TIMEOUT) with "SOCKS5 proxy IP:PORT: why", so that a proxy problem reads
 * as "could not connect" and never as an answer about a mailbox.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/clock.h"
#include "core/utf8.h"
#include "smtp/smtp_probe.h"

#define PROBE_CONNECT_TIMEOUT_MS 10000
#define PROBE_GREETING_TIMEOUT_MS 30000
#define PROBE_COMMAND_TIMEOUT_MS 30000
#define PROBE_QUIT_WAIT_MS 2000 /* how long we wait for 221 after QUIT */
#define PROBE_READ_CHUNK 4096
#define PROBE_RX_LINE_MAX 512                  /* a received line is cut here in the transcript */
#define PROBE_MAILBOX_MAX 1000                 /* longer mailboxes (and HELO names) are never sent */
#define PROBE_CMD_MAX (PROBE_MAILBOX_MAX + 64) /* one command line, so nothing is ever cut */

struct bc_probe {
    struct event_base *base;
    const bc_probe_config *cfg;
    bc_probe_request *req;
    bc_probe_cb cb;
    void *arg;

    struct bufferevent *bev; /* the socket, or the TLS filter over it */
    SSL *ssl;                /* owned by the filter bufferevent once it exists */
    struct event *timer;     /* the current step's timer */
    struct event *done_ev;   /* fires the callback */

    bc_smtp_parser parser;
    bc_probe_step step;
    bc_probe_outcome out;
    long t0;

    bool finished;  /* the outcome is final; the callback is scheduled */
    bool decided;   /* the outcome is final but we are politely quitting */
    bool tls_tried; /* STARTTLS already sent in this session */
    bool mail_sent; /* a MAIL transaction was opened: RSET before the next one */

    int batch_start, batch_end; /* current batch: rcpts[batch_start .. batch_end) */
    int next_send;              /* next rcpt index to send RCPT for (non-pipelined) */
    int await_rcpt;             /* rcpt index whose reply comes next */
    bool pipelined_batch;       /* MAIL and the batch's RCPTs went in one write */
    bool mail_group_sent;       /* the batch's MAIL (+RCPTs) went out with the RSET before it */
    bool quit_sent;             /* QUIT is on the wire (it may end the last pipelined group) */
    bool socks_started;         /* connected to the proxy: `socks` runs (cfg->proxy only) */
    int owed;                   /* replies the commands sent (or the greeting) still owe */
    bc_socks5 socks;            /* the SOCKS5 handshake, while step is CONNECT */

    char rx_line[PROBE_RX_LINE_MAX]; /* received bytes of the current line, for the transcript */
    size_t rx_len;
    bool rx_cut;
};

static void probe_enter(bc_probe *p, bc_probe_step step);
static void probe_begin_batch(bc_probe *p, int start);
static bool probe_rcpt_asked(const bc_probe *p, int i);

/* ---- transcript ------------------------------------------------------------- */

/* Appends a copy of line[0..len) to t, with control bytes and bytes that are
 * not valid UTF-8 written as \xNN. The transcript owns the copy. On ENOMEM or
 * past BC_TRANSCRIPT_MAX_BYTES the line is dropped and t->truncated set. */
void bc_transcript_add(bc_transcript *t, char dir, const char *line, size_t len)
{
    if (!t)
        return;
    const unsigned char *s = (const unsigned char *)line;
    size_t need = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] >= 0x80 ? bc_utf8_seq_len(s + i, len - i) : 0;
        if (n) {
            need += n;
            i += n;
        } else {
            need += (s[i] < 0x20 || s[i] >= 0x7F) ? 4 : 1;
            i++;
        }
    }
    if (t->bytes + need + 1 > BC_TRANSCRIPT_MAX_BYTES) {
        t->truncated = true;
        return;
    }
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        bc_transcript_line *nv = realloc(t->v, ncap * sizeof *nv);
        if (!nv) {
            t->truncated = true;
            return;
        }
        t->v = nv;
        t->cap = ncap;
    }
    char *copy = malloc(need + 1);
    if (!copy) {
        t->truncated = true;
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = s[i] >= 0x80 ? bc_utf8_seq_len(s + i, len - i) : 0;
        if (n) {
            memcpy(copy + o, s + i, n);
            o += n;
            i += n;
        } else if (s[i] < 0x20 || s[i] >= 0x7F) {
            snprintf(copy + o, 5, "\\x%02X", (unsigned)s[i]);
            o += 4;
            i++;
        } else
            copy[o++] = (char)s[i++];
    }
    copy[o] = '\0';
    t->v[t->n].dir = dir;
    t->v[t->n].line = copy;
    t->n++;
    t->bytes += need + 1;
}

/* Formats a line (at most 1 KiB) and appends it like bc_transcript_add. */
void bc_transcript_addf(bc_transcript *t, char dir, const char *fmt, ...)
{
    if (!t)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    bc_transcript_add(t, dir, buf, len);
}

/* Frees every line and the array; t itself stays with the caller, empty. */
void bc_transcript_clear(bc_transcript *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].line);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = t->bytes = 0;
    t->truncated = false;
}

/* ---- names and clock ---------------------------------------------------------- */

/* Returns a static snake_case name for a step. */
const char *bc_probe_step_name(bc_probe_step s)
{
    switch (s) {
    case BC_STEP_CONNECT: return "connect";
    case BC_STEP_GREETING: return "greeting";
    case BC_STEP_EHLO: return "ehlo";
    case BC_STEP_HELO: return "helo";
    case BC_STEP_STARTTLS: return "starttls";
    case BC_STEP_TLS: return "tls";
    case BC_STEP_MAIL: return "mail";
    case BC_STEP_RCPT: return "rcpt";
    case BC_STEP_RSET: return "rset";
    case BC_STEP_QUIT: return "quit";
    case BC_STEP_DONE: return "done";
    }
    return "unknown";
}

/* Returns a static snake_case name for an ending. */
const char *bc_probe_end_name(bc_probe_end e)
{
    switch (e) {
    case BC_PROBE_COMPLETED: return "completed";
    case BC_PROBE_REPLY: return "reply";
    case BC_PROBE_REFUSED: return "refused";
    case BC_PROBE_TIMEOUT: return "timeout";
    case BC_PROBE_RESET: return "reset";
    case BC_PROBE_PROTOCOL: return "protocol";
    case BC_PROBE_TLS_FAILED: return "tls_failed";
    case BC_PROBE_CANCELLED: return "cancelled";
    }
    return "unknown";
}

/* ---- ending -------------------------------------------------------------------- */

/* Runs from the loop once the outcome is final (probe_finish has shut the
 * connection down): frees the bufferevent, calls the user callback, then
 * frees the probe and everything else it owns (the events). The request's
 * rcpts stay with the caller. */
static void probe_done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bc_probe *p = arg;
    p->out.ms = bc_now_ms() - p->t0;
    if (p->bev)
        bufferevent_free(p->bev); /* frees the SSL and the socket under it */
    else if (p->ssl)
        SSL_free(p->ssl);
    p->bev = NULL;
    p->ssl = NULL;
    p->cb(p->arg, &p->out);
    event_free(p->timer);
    event_free(p->done_ev);
    free(p);
}

/* Writes the received line collected so far into the transcript (marking it
 * when it was cut) and starts a new one. */
static void probe_rx_flush(bc_probe *p)
{
    if (p->rx_cut)
        bc_transcript_addf(p->cfg->transcript, 'S', "%.*s [line cut]", (int)p->rx_len, p->rx_line);
    else if (p->rx_len)
        bc_transcript_add(p->cfg->transcript, 'S', p->rx_line, p->rx_len);
    p->rx_len = 0;
    p->rx_cut = false;
}

/* Makes the outcome final: `end` at the current step with a printf-style
 * detail (may be NULL), silences the connection and schedules the callback.
 * Does nothing if the session already finished. */
__attribute__((format(printf, 3, 4))) static void probe_finish(bc_probe *p, bc_probe_end end, const char *fmt, ...)
{
    if (p->finished)
        return;
    p->finished = true;
    if (!p->decided) {
        p->out.end = end;
        p->out.step = p->step;
        /* Only a REPLY ending is about a reply: the one before (MAIL's 250
         * when RCPT got garbage or the connection dropped) is not shown as
         * if it had answered this step. */
        if (end != BC_PROBE_REPLY)
            p->out.have_last = false;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->out.error, sizeof p->out.error, fmt, ap);
            va_end(ap);
        }
    }
    probe_rx_flush(p);
    if (p->out.end != BC_PROBE_COMPLETED || !p->decided) {
        if (p->out.error[0])
            bc_transcript_addf(p->cfg->transcript, '*', "%s at %s: %s", bc_probe_end_name(p->out.end),
                               bc_probe_step_name(p->out.step), p->out.error);
        else
            bc_transcript_addf(p->cfg->transcript, '*', "%s at %s", bc_probe_end_name(p->out.end),
                               bc_probe_step_name(p->out.step));
    }
    if (p->bev) {
        bufferevent_disable(p->bev, EV_READ | EV_WRITE);
        bufferevent_setcb(p->bev, NULL, NULL, NULL, NULL);
        /* The connection ends now, not when libevent closes the socket of
         * the freed bufferevent on a later turn of the loop: a caller that
         * counts open connections per server (the per-host cap, the
         * workers' host gate) gives the slot back from the callback. */
        evutil_socket_t sock = bufferevent_getfd(p->bev);
        if (sock >= 0)
            shutdown(sock, SHUT_RDWR);
    }
    if (p->timer)
        event_del(p->timer);
    struct timeval zero = { 0, 0 };
    event_add(p->done_ev, &zero);
}

/* The stream went out of step (see the top of the file): no recipient of
 * the session keeps a reply, whatever was decided, and the session ends as
 * PROTOCOL with out_of_step set and the detail "out of step: ...". */
__attribute__((format(printf, 2, 3))) static void probe_out_of_step(bc_probe *p, const char *fmt, ...)
{
    if (p->finished)
        return;
    char why[sizeof p->out.error - 16];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    for (int i = 0; i < p->req->nrcpts; i++)
        p->req->rcpts[i].replied = false;
    p->decided = false;
    p->out.out_of_step = true;
    probe_finish(p, BC_PROBE_PROTOCOL, "out of step: %s", why);
}

/* True when `code` is a reply the command of `step` can get (RFC 5321
 * 4.3.2; 421 is handled before, wherever it comes): its success code, or
 * any 4xx or 5xx (the greeting's 554, EHLO's 502, RCPT's 550...). RSET and
 * QUIT have no failure replies: a 5xx there is another command's. */
static bool probe_reply_fits(bc_probe_step step, int code)
{
    bool failure = code >= 400 && code <= 599;
    switch (step) {
    case BC_STEP_GREETING:
    case BC_STEP_STARTTLS: return code == 220 || failure;
    case BC_STEP_EHLO:
    case BC_STEP_HELO:
    case BC_STEP_MAIL: return code == 250 || failure;
    case BC_STEP_RCPT: return code == 250 || code == 251 || code == 252 || failure;
    case BC_STEP_RSET: return code == 250;
    case BC_STEP_QUIT: return code == 221;
    case BC_STEP_CONNECT:
    case BC_STEP_TLS:
    case BC_STEP_DONE: return false;
    }
    return false;
}

/* True once a recipient of the session holds a reply. */
static bool probe_any_rcpt_reply(const bc_probe *p)
{
    for (int i = 0; i < p->req->nrcpts; i++)
        if (p->req->rcpts[i].replied)
            return true;
    return false;
}

/* Decides the outcome now (COMPLETED, or REPLY at the current step), then
 * sends QUIT and waits briefly for 221; the decided outcome stands unless
 * QUIT's answer shows the stream out of step (see probe_response). */
static void probe_decide_and_quit(bc_probe *p, bc_probe_end end)
{
    p->out.end = end;
    p->out.step = p->step;
    p->decided = true;
    probe_enter(p, BC_STEP_QUIT);
}

/* Ends the session at CONNECT on the way through the proxy: `end` with
 * "SOCKS5 proxy IP:PORT: " before the reason. at_proxy: the proxy itself
 * failed (see bc_probe_outcome.proxy_failed). */
__attribute__((format(printf, 4, 5))) static void probe_proxy_finish(bc_probe *p, bc_probe_end end, bool at_proxy,
                                                                     const char *fmt, ...)
{
    if (p->finished)
        return;
    char why[sizeof p->out.error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    p->out.proxy_failed = at_proxy;
    probe_finish(p, end, "SOCKS5 proxy %s: %s", p->cfg->proxy->label, why);
}

/* A socket error as text starting in lower case ("connection refused"). */
static void probe_errno_text(int err, char *buf, size_t len)
{
    snprintf(buf, len, "%s", err ? evutil_socket_error_to_string(err) : "failed");
    buf[0] = (char)tolower((unsigned char)buf[0]);
}

/* ---- sending and timers -------------------------------------------------------- */

/* Arms the step timer for ms milliseconds, capped by the request deadline. */
static void probe_arm(bc_probe *p, int ms)
{
    long wait = ms;
    if (p->req->deadline_ms > 0) {
        long left = p->req->deadline_ms - bc_now_ms();
        if (left < wait)
            wait = left < 0 ? 0 : left;
    }
    struct timeval tv = { .tv_sec = wait / 1000, .tv_usec = (wait % 1000) * 1000 };
    event_add(p->timer, &tv);
}

/* Returns true when s holds no CR, LF or NUL (a line we can put on the wire). */
static bool probe_line_ok(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

/* Queues one command line (CRLF added) and writes it to the transcript. */
__attribute__((format(printf, 2, 3))) static void probe_send(bc_probe *p, const char *fmt, ...)
{
    char line[PROBE_CMD_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    size_t len = (size_t)n < sizeof line - 2 ? (size_t)n : sizeof line - 3;
    bc_transcript_add(p->cfg->transcript, 'C', line, len);
    line[len] = '\r';
    line[len + 1] = '\n';
    bufferevent_write(p->bev, line, len + 2);
    p->owed++;
}

/* The step timer fired: the step timed out, or the deadline passed. */
static void probe_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    bc_probe *p = arg;
    if (p->step == BC_STEP_QUIT) {
        probe_finish(p, BC_PROBE_COMPLETED, NULL);
        return;
    }
    bool deadline = p->req->deadline_ms > 0 && bc_now_ms() >= p->req->deadline_ms;
    if (p->step == BC_STEP_CONNECT && p->cfg->proxy) {
        /* Until the CONNECT request is out, the silence is the proxy's. */
        bool at_proxy = !p->socks_started || p->socks.state < BC_SOCKS5_CONNECT;
        probe_proxy_finish(p, BC_PROBE_TIMEOUT, at_proxy, "%s %s", deadline ? "deadline passed" : "timed out",
                           !p->socks_started ? "connecting"
                           : at_proxy        ? "during the handshake"
                                             : "waiting for the CONNECT reply");
        return;
    }
    /* A pipelined group answered in part, then silence: a server answers
     * the group in order without pausing, so a reply may have been lost
     * and those that came may belong to other commands. */
    bool group_answered = false;
    for (int i = p->batch_start; i < p->batch_end && p->step == BC_STEP_RCPT && p->pipelined_batch; i++)
        group_answered = group_answered || p->req->rcpts[i].replied;
    if (!deadline && group_answered) {
        probe_out_of_step(p, "no reply to the pipelined RCPT TO:<%s> after the earlier ones",
                          p->req->rcpts[p->await_rcpt].mailbox);
        return;
    }
    probe_finish(p, BC_PROBE_TIMEOUT, "%s waiting for %s", deadline ? "deadline passed" : "timed out",
                 bc_probe_step_name(p->step));
}

/* ---- connecting -------------------------------------------------------------------- */

/* The server is reachable (directly, or through the open tunnel): the
 * connect timer stops and the greeting is awaited. */
static void probe_connected(bc_probe *p)
{
    event_del(p->timer);
    bc_transcript_addf(p->cfg->transcript, '*', "connected to %s", p->req->host ? p->req->host : "-");
    p->owed = 1; /* the greeting */
    probe_enter(p, BC_STEP_GREETING);
}

/* TCP is up to the proxy: sends the SOCKS5 greeting. The connect timer
 * keeps running until the tunnel is open. */
static void probe_socks_start(bc_probe *p)
{
    unsigned char out[BC_SOCKS5_OUT_MAX];
    size_t outlen = 0;
    p->socks_started = true;
    if (!bc_socks5_begin(&p->socks, p->cfg->proxy, p->req->addr, out, &outlen)) {
        probe_proxy_finish(p, BC_PROBE_REFUSED, false, "%s", p->socks.error);
        return;
    }
    bufferevent_write(p->bev, out, outlen);
}

/* Feeds what the proxy sent to the handshake (a bounded copy: the bytes stay
 * in the input buffer until the machine consumes them) and sends its
 * answers. Once the tunnel is open the session goes on to the greeting;
 * bytes after the proxy's reply are the server's and stay for the reply
 * parser. Credentials never reach the transcript. */
static void probe_socks_read(bc_probe *p)
{
    struct evbuffer *in = bufferevent_get_input(p->bev);
    while (!p->finished && p->socks.state != BC_SOCKS5_OPEN) {
        unsigned char buf[BC_SOCKS5_IN_MAX], out[BC_SOCKS5_OUT_MAX];
        ev_ssize_t got = evbuffer_copyout(in, buf, sizeof buf);
        if (got <= 0)
            return;
        size_t used = 0, outlen = 0;
        bc_socks5_state before = p->socks.state;
        bc_socks5_rc rc = bc_socks5_feed(&p->socks, buf, (size_t)got, &used, out, &outlen);
        if (rc == BC_SOCKS5_MORE)
            return;
        if (rc == BC_SOCKS5_ERROR) {
            probe_proxy_finish(p, BC_PROBE_REFUSED, p->socks.failed_at_proxy, "%s", p->socks.error);
            return;
        }
        evbuffer_drain(in, used);
        if (p->socks.state == BC_SOCKS5_AUTH)
            bc_transcript_addf(p->cfg->transcript, '*', "SOCKS5 username/password authentication");
        else if (p->socks.state == BC_SOCKS5_CONNECT && before != BC_SOCKS5_CONNECT) {
            char target[BC_SOCKS5_LABEL_MAX];
            bc_socks5_addr_label(p->req->addr, target, sizeof target);
            bc_transcript_addf(p->cfg->transcript, '*', "SOCKS5 CONNECT %s via proxy", target);
        }
        if (outlen)
            bufferevent_write(p->bev, out, outlen);
    }
    if (!p->finished && p->socks.state == BC_SOCKS5_OPEN) {
        bc_transcript_addf(p->cfg->transcript, '*', "SOCKS5 tunnel established (bound %s)", p->socks.reply.bound);
        probe_connected(p);
    }
}

/* The connection to the proxy ended or failed before the tunnel was open.
 * A reply that came with the close is read first. */
static void probe_socks_closed(bc_probe *p, short what, int err)
{
    char why[96];
    if (!p->socks_started) {
        probe_errno_text(err, why, sizeof why);
        probe_proxy_finish(p, BC_PROBE_REFUSED, true, "%s", why);
        return;
    }
    probe_socks_read(p);
    if (p->finished || p->step != BC_STEP_CONNECT)
        return;
    /* Closing after the CONNECT request is how some proxies say they could
     * not reach the server. */
    bool at_proxy = p->socks.state < BC_SOCKS5_CONNECT;
    if (what & BEV_EVENT_EOF)
        probe_proxy_finish(p, BC_PROBE_REFUSED, at_proxy, "closed the connection %s",
                           at_proxy ? "during the handshake" : "after the CONNECT request");
    else {
        probe_errno_text(err, why, sizeof why);
        probe_proxy_finish(p, BC_PROBE_REFUSED, at_proxy, "connection error during the handshake: %s", why);
    }
}

/* ---- TLS ------------------------------------------------------------------------- */

static void probe_read_cb(struct bufferevent *bev, void *arg);
static void probe_event_cb(struct bufferevent *bev, short what, void *arg);

/* Collects the OpenSSL errors queued on the connection into buf. */
static void probe_ssl_errors(bc_probe *p, char *buf, size_t len)
{
    buf[0] = '\0';
    unsigned long e;
    size_t o = 0;
    while ((e = bufferevent_get_openssl_error(p->bev)) != 0) {
        /* libevent also queues plain errno values (library 0): not OpenSSL's. */
        if (o + 2 >= len || ERR_GET_LIB(e) == 0)
            continue;
        char one[120];
        ERR_error_string_n(e, one, sizeof one);
        int n = snprintf(buf + o, len - o, "%s%s", o ? "; " : "", one);
        if (n > 0)
            o += (size_t)n < len - o ? (size_t)n : len - o - 1;
    }
    if (!buf[0]) {
        int err = EVUTIL_SOCKET_ERROR();
        snprintf(buf, len, "%s", err ? evutil_socket_error_to_string(err) : "handshake failed");
    }
}

/* STARTTLS got 220: wraps the connection in an OpenSSL filter that starts
 * the client handshake (SNI and the hostname check set to the MX host). The
 * filter owns the SSL and the plain bufferevent from here on. */
static void probe_start_tls(bc_probe *p)
{
    /* Anything the server sent after its 220 came in plaintext and must not
     * be taken as part of the TLS session (STARTTLS command injection). */
    evbuffer_drain(bufferevent_get_input(p->bev), evbuffer_get_length(bufferevent_get_input(p->bev)));
    bc_smtp_parser_init(&p->parser);
    p->step = BC_STEP_TLS;

    SSL *ssl = SSL_new(p->cfg->ssl_ctx);
    if (!ssl) {
        probe_finish(p, BC_PROBE_TLS_FAILED, "SSL_new failed");
        return;
    }
    const char *host = p->req->host;
    if (host && host[0]) {
        SSL_set_tlsext_host_name(ssl, host);
        SSL_set1_host(ssl, host);
    }
    struct bufferevent *tls = bufferevent_openssl_filter_new(p->base, p->bev, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                             BEV_OPT_CLOSE_ON_FREE);
    if (!tls) {
        SSL_free(ssl);
        probe_finish(p, BC_PROBE_TLS_FAILED, "cannot create the TLS filter");
        return;
    }
    p->bev = tls;
    p->ssl = ssl;
    bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
    bufferevent_setcb(tls, probe_read_cb, NULL, probe_event_cb, p);
    bufferevent_enable(tls, EV_READ | EV_WRITE);
    bc_transcript_addf(p->cfg->transcript, '*', "starting TLS handshake (SNI %s)", host ? host : "-");
    probe_arm(p, p->cfg->command_timeout_ms > 0 ? p->cfg->command_timeout_ms : PROBE_COMMAND_TIMEOUT_MS);
}

/* The handshake finished: records version, cipher and what certificate
 * verification said (the context verifies nothing fatally), then EHLO again. */
static void probe_tls_established(bc_probe *p)
{
    p->out.tls = true;
    snprintf(p->out.tls_version, sizeof p->out.tls_version, "%s", SSL_get_version(p->ssl));
    const char *cipher = SSL_get_cipher_name(p->ssl);
    snprintf(p->out.tls_cipher, sizeof p->out.tls_cipher, "%s", cipher ? cipher : "");
    X509 *cert = SSL_get1_peer_certificate(p->ssl);
    long vr = SSL_get_verify_result(p->ssl);
    if (!cert) {
        p->out.tls_cert_ok = false;
        snprintf(p->out.tls_cert_error, sizeof p->out.tls_cert_error, "no peer certificate");
    } else if (vr != X509_V_OK) {
        p->out.tls_cert_ok = false;
        snprintf(p->out.tls_cert_error, sizeof p->out.tls_cert_error, "%s", X509_verify_cert_error_string(vr));
    } else {
        p->out.tls_cert_ok = true;
        p->out.tls_cert_error[0] = '\0';
    }
    X509_free(cert);
    bc_transcript_addf(p->cfg->transcript, '*', "TLS established %s %s, certificate %s%s%s", p->out.tls_version,
                       p->out.tls_cipher, p->out.tls_cert_ok ? "verified" : "not verified",
                       p->out.tls_cert_ok ? "" : ": ", p->out.tls_cert_error);
    probe_enter(p, BC_STEP_EHLO);
}

/* ---- the state machine ------------------------------------------------------------ */

/* Sends MAIL FROM for the current batch and, with PIPELINING, its RCPTs in
 * the same write, ended by QUIT after the last batch (RFC 2920 lets QUIT end
 * a group): a round trip less per connection. */
static void probe_send_mail_group(bc_probe *p)
{
    bool utf8 = false;
    for (int i = p->batch_start; i < p->batch_end; i++)
        if (p->req->rcpts[i].needs_smtputf8 && probe_rcpt_asked(p, i))
            utf8 = true;
    probe_send(p, "MAIL FROM:<%s>%s", p->cfg->mail_from, utf8 ? " SMTPUTF8" : "");
    p->mail_sent = true;
    p->pipelined_batch = (p->out.caps & BC_SMTP_CAP_PIPELINING) && !p->cfg->no_pipelining;
    if (!p->pipelined_batch)
        return;
    for (int i = p->batch_start; i < p->batch_end; i++)
        if (probe_rcpt_asked(p, i))
            probe_send(p, "RCPT TO:<%s>", p->req->rcpts[i].mailbox);
    p->out.pipelined = true;
    if (p->batch_end >= p->req->nrcpts) {
        probe_send(p, "QUIT");
        p->quit_sent = true;
    }
}

/* Enters a step: sends its command(s) and arms its timer. */
static void probe_enter(bc_probe *p, bc_probe_step step)
{
    int cmd_ms = p->cfg->command_timeout_ms > 0 ? p->cfg->command_timeout_ms : PROBE_COMMAND_TIMEOUT_MS;
    p->step = step;
    switch (step) {
    case BC_STEP_CONNECT:
    case BC_STEP_TLS:
    case BC_STEP_DONE: break; /* entered elsewhere (bc_probe_start, probe_start_tls) */
    case BC_STEP_GREETING:
        probe_arm(p, p->cfg->greeting_timeout_ms > 0 ? p->cfg->greeting_timeout_ms : PROBE_GREETING_TIMEOUT_MS);
        break;
    case BC_STEP_EHLO:
        probe_send(p, "EHLO %s", p->cfg->helo);
        probe_arm(p, cmd_ms);
        break;
    case BC_STEP_HELO:
        probe_send(p, "HELO %s", p->cfg->helo);
        probe_arm(p, cmd_ms);
        break;
    case BC_STEP_STARTTLS:
        p->tls_tried = true;
        probe_send(p, "STARTTLS");
        probe_arm(p, cmd_ms);
        break;
    case BC_STEP_RSET:
        probe_send(p, "RSET");
        /* RFC 2920: RSET, MAIL and RCPT may share a group. */
        if ((p->out.caps & BC_SMTP_CAP_PIPELINING) && !p->cfg->no_pipelining) {
            probe_send_mail_group(p);
            p->mail_group_sent = true;
        }
        probe_arm(p, cmd_ms);
        break;
    case BC_STEP_MAIL:
        if (p->mail_group_sent)
            p->mail_group_sent = false; /* went out with the RSET */
        else
            probe_send_mail_group(p);
        probe_arm(p, cmd_ms);
        break;
    case BC_STEP_RCPT:
        if (!p->pipelined_batch) {
            probe_send(p, "RCPT TO:<%s>", p->req->rcpts[p->await_rcpt].mailbox);
        }
        probe_arm(p, cmd_ms);
        break;
    case BC_STEP_QUIT: {
        if (!p->quit_sent)
            probe_send(p, "QUIT");
        p->quit_sent = true;
        int wait = cmd_ms < PROBE_QUIT_WAIT_MS ? cmd_ms : PROBE_QUIT_WAIT_MS;
        probe_arm(p, wait);
        break;
    }
    }
}

/* True when recipient i goes on the wire: not skipped for SMTPUTF8 and an
 * address we can write as one command line. */
static bool probe_rcpt_asked(const bc_probe *p, int i)
{
    const bc_probe_rcpt *r = &p->req->rcpts[i];
    return !r->skipped_smtputf8 && probe_line_ok(r->mailbox) && strlen(r->mailbox) <= PROBE_MAILBOX_MAX;
}

/* Returns the first recipient index >= i of the current batch that is to be
 * asked, or batch_end. */
static int probe_next_asked(const bc_probe *p, int i)
{
    while (i < p->batch_end && !probe_rcpt_asked(p, i))
        i++;
    return i;
}

/* Opens the batch starting at rcpts[start] (or completes the session when
 * there is none left): marks recipients the server cannot take without
 * SMTPUTF8, then RSET (if a transaction was opened before) or MAIL FROM. */
static void probe_begin_batch(bc_probe *p, int start)
{
    bc_probe_request *req = p->req;
    for (;;) {
        if (start >= req->nrcpts) {
            probe_decide_and_quit(p, BC_PROBE_COMPLETED);
            return;
        }
        int end = start + 1;
        while (end < req->nrcpts && req->rcpts[end].batch == req->rcpts[start].batch)
            end++;
        bool any = false;
        for (int i = start; i < end; i++) {
            bc_probe_rcpt *r = &req->rcpts[i];
            if (!probe_line_ok(r->mailbox) || strlen(r->mailbox) > PROBE_MAILBOX_MAX) {
                /* Never put a line break (or an absurd length) on the wire:
                 * the recipient stays unanswered. */
                bc_transcript_addf(p->cfg->transcript, '*', "recipient %d not sent: unusable address", i);
            } else if (r->needs_smtputf8 && !(p->out.caps & BC_SMTP_CAP_SMTPUTF8)) {
                r->skipped_smtputf8 = true;
                bc_transcript_addf(p->cfg->transcript, '*', "recipient <%s> skipped: server lacks SMTPUTF8",
                                   r->mailbox);
            } else
                any = true;
        }
        p->batch_start = start;
        p->batch_end = end;
        if (any)
            break;
        start = end;
    }
    p->await_rcpt = probe_next_asked(p, p->batch_start);
    probe_enter(p, p->mail_sent ? BC_STEP_RSET : BC_STEP_MAIL);
}

/* True when the reply ends the session wherever it comes: 421. */
static bool probe_is_closing(const bc_smtp_reply *r)
{
    return r->code == 421;
}

/* Reacts to one complete reply for the current step. */
static void probe_response(bc_probe *p, const bc_smtp_reply *r)
{
    /* After an early REPLY ending, `last` stays the reply that ended it, not
     * the 221 to our QUIT. */
    if (!(p->decided && p->out.end == BC_PROBE_REPLY)) {
        p->out.have_last = true;
        p->out.last = *r;
    }
    if (p->step == BC_STEP_QUIT) {
        /* QUIT's answer shows that the replies before were the commands'
         * own; anything but 221 (or a closing 421) was another command's. */
        if (r->code != 221 && r->code != 421 && probe_any_rcpt_reply(p)) {
            probe_out_of_step(p, "QUIT answered %d", r->code);
            return;
        }
        if (r->code == 221 && p->out.end == BC_PROBE_COMPLETED)
            p->out.step = BC_STEP_DONE;
        probe_finish(p, BC_PROBE_COMPLETED, NULL);
        return;
    }
    if (probe_is_closing(r)) {
        /* A RCPT reply that is a 421 is still that recipient's reply. */
        if (p->step == BC_STEP_RCPT) {
            p->req->rcpts[p->await_rcpt].replied = true;
            p->req->rcpts[p->await_rcpt].at_ms = bc_now_ms();
            p->req->rcpts[p->await_rcpt].reply = *r;
        }
        probe_finish(p, BC_PROBE_REPLY, "server closing: %d %s", r->code, r->text);
        return;
    }
    if (!probe_reply_fits(p->step, r->code)) {
        probe_out_of_step(p, "%d is no reply to %s", r->code, bc_probe_step_name(p->step));
        return;
    }
    int cls = r->code / 100;
    switch (p->step) {
    case BC_STEP_CONNECT:
    case BC_STEP_TLS:
    case BC_STEP_DONE:
    case BC_STEP_QUIT:
        probe_finish(p, BC_PROBE_PROTOCOL, "unexpected reply %d during %s", r->code, bc_probe_step_name(p->step));
        return;
    case BC_STEP_GREETING:
        if (r->code != 220) {
            probe_decide_and_quit(p, BC_PROBE_REPLY);
            return;
        }
        probe_enter(p, BC_STEP_EHLO);
        return;
    case BC_STEP_EHLO:
        if (cls == 2) {
            p->out.esmtp = true;
            p->out.caps = r->caps;
            if (!p->out.tls && !p->tls_tried && (r->caps & BC_SMTP_CAP_STARTTLS) && p->cfg->ssl_ctx &&
                !p->cfg->no_starttls)
                probe_enter(p, BC_STEP_STARTTLS);
            else
                probe_begin_batch(p, 0);
        } else if (cls == 5)
            probe_enter(p, BC_STEP_HELO);
        else
            probe_decide_and_quit(p, BC_PROBE_REPLY);
        return;
    case BC_STEP_HELO:
        if (cls == 2) {
            p->out.esmtp = false;
            p->out.caps = 0;
            probe_begin_batch(p, 0);
        } else
            probe_decide_and_quit(p, BC_PROBE_REPLY);
        return;
    case BC_STEP_STARTTLS:
        if (r->code == 220)
            probe_start_tls(p);
        else {
            bc_transcript_addf(p->cfg->transcript, '*', "STARTTLS refused (%d), continuing in plaintext", r->code);
            probe_begin_batch(p, 0);
        }
        return;
    case BC_STEP_RSET:
        if (cls == 2)
            probe_enter(p, BC_STEP_MAIL);
        else
            probe_decide_and_quit(p, BC_PROBE_REPLY);
        return;
    case BC_STEP_MAIL:
        if (cls != 2) {
            probe_decide_and_quit(p, BC_PROBE_REPLY);
            return;
        }
        probe_enter(p, BC_STEP_RCPT);
        return;
    case BC_STEP_RCPT: {
        bc_probe_rcpt *rc = &p->req->rcpts[p->await_rcpt];
        rc->replied = true;
        rc->at_ms = bc_now_ms();
        rc->reply = *r;
        p->await_rcpt = probe_next_asked(p, p->await_rcpt + 1);
        if (p->await_rcpt < p->batch_end) {
            probe_enter(p, BC_STEP_RCPT);
            return;
        }
        probe_begin_batch(p, p->batch_end);
        return;
    }
    }
}

/* Copies received bytes into the transcript, one line per LF (CR dropped),
 * lines cut at PROBE_RX_LINE_MAX. */
static void probe_rx_log(bc_probe *p, const char *data, size_t len)
{
    if (!p->cfg->transcript)
        return;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            if (p->rx_len && p->rx_line[p->rx_len - 1] == '\r')
                p->rx_len--;
            if (!p->rx_len && !p->rx_cut)
                bc_transcript_add(p->cfg->transcript, 'S', "", 0);
            else
                probe_rx_flush(p);
        } else if (p->rx_len < sizeof p->rx_line)
            p->rx_line[p->rx_len++] = c;
        else
            p->rx_cut = true;
    }
}

/* Bytes arrived: feeds them, in bounded chunks, to the reply parser and acts
 * on each complete reply. Stops as soon as the session finishes or the
 * connection is switched to TLS (the rest of the plaintext is dropped). */
static void probe_read_cb(struct bufferevent *bev, void *arg)
{
    bc_probe *p = arg;
    if (p->step == BC_STEP_CONNECT) {
        if (p->socks_started)
            probe_socks_read(p);
        if (p->step == BC_STEP_CONNECT)
            return; /* still talking to the proxy, or failed */
    }
    struct evbuffer *in = bufferevent_get_input(bev);
    char buf[PROBE_READ_CHUNK];
    while (!p->finished && p->bev == bev && evbuffer_get_length(in) > 0) {
        int got = evbuffer_remove(in, buf, sizeof buf);
        if (got <= 0)
            break;
        size_t len = (size_t)got, off = 0;
        while (off < len && !p->finished && p->bev == bev && p->step != BC_STEP_TLS) {
            size_t used = 0;
            bc_smtp_parse_rc rc = bc_smtp_parse(&p->parser, buf + off, len - off, &used);
            if (used > len - off)
                used = len - off;
            probe_rx_log(p, buf + off, rc == BC_SMTP_PARSE_ERROR ? len - off : used);
            off += used;
            if (rc == BC_SMTP_PARSE_ERROR) {
                if (p->step == BC_STEP_QUIT)
                    probe_finish(p, BC_PROBE_COMPLETED, NULL);
                else
                    probe_finish(p, BC_PROBE_PROTOCOL, "%s", p->parser.error[0] ? p->parser.error : "bad reply");
                return;
            }
            if (rc == BC_SMTP_PARSE_MORE)
                break;
            bc_smtp_reply reply = p->parser.reply;
            if (p->timer)
                event_del(p->timer);
            /* A reply no command asked for, or bytes already waiting when
             * every reply is in and the next command has not gone out. */
            if (--p->owed < 0 && p->step != BC_STEP_QUIT) {
                probe_out_of_step(p, "a reply no command asked for (%d at %s)", reply.code,
                                  bc_probe_step_name(p->step));
                return;
            }
            if (p->owed == 0 && p->step != BC_STEP_QUIT && reply.code != 421 &&
                (off < len || evbuffer_get_length(in) > 0)) {
                probe_rx_log(p, buf + off, len - off);
                if (p->step == BC_STEP_STARTTLS && reply.code == 220) {
                    /* Plaintext where the handshake should start: injected
                     * (never read as part of TLS) or a broken TLS side. A
                     * TLS failure: the verifier tries again without TLS. */
                    p->step = BC_STEP_TLS;
                    probe_finish(p, BC_PROBE_TLS_FAILED, "handshake: plaintext after the 220 to STARTTLS");
                    return;
                }
                probe_out_of_step(p, "bytes before the command after %s's reply", bc_probe_step_name(p->step));
                return;
            }
            probe_response(p, &reply);
        }
    }
}

/* Connection events: connected (TCP, or the TLS handshake), EOF, errors. */
/* Notes the local address the connection uses (what the server sees, unless
 * a proxy stands between), for the result and for "your address is
 * blocked" hints. */
static void probe_note_local(bc_probe *p, struct bufferevent *bev)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (p->cfg->proxy)
        return; /* the server sees the proxy's address, which we do not know */
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    const void *a = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)(void *)&ss)->sin6_addr
                                             : (const void *)&((struct sockaddr_in *)(void *)&ss)->sin_addr;
    if (!inet_ntop(ss.ss_family, a, p->out.local_addr, sizeof p->out.local_addr))
        p->out.local_addr[0] = '\0';
}

static void probe_event_cb(struct bufferevent *bev, short what, void *arg)
{
    bc_probe *p = arg;
    (void)bev;
    if (p->finished)
        return;
    if (what & BEV_EVENT_CONNECTED) {
        if (p->step == BC_STEP_CONNECT) {
            probe_note_local(p, bev);
            if (p->cfg->proxy)
                probe_socks_start(p);
            else
                probe_connected(p);
        } else if (p->step == BC_STEP_TLS) {
            event_del(p->timer);
            probe_tls_established(p);
        }
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    int err = EVUTIL_SOCKET_ERROR();
    if (p->step == BC_STEP_CONNECT && p->cfg->proxy) {
        probe_socks_closed(p, what, err);
        if (p->finished)
            return;
        /* the tunnel opened with the close: judged below like any server */
    }
    /* Replies that arrived together with the close (a final 221 or 421, or
     * the TLS filter handing over its last records with the EOF) are read
     * before the close is judged. */
    if (p->step != BC_STEP_CONNECT && p->step != BC_STEP_TLS &&
        evbuffer_get_length(bufferevent_get_input(p->bev)) > 0) {
        probe_read_cb(p->bev, p);
        if (p->finished)
            return;
    }
    switch (p->step) {
    case BC_STEP_CONNECT:
        probe_finish(p, BC_PROBE_REFUSED, "connect: %s", err ? evutil_socket_error_to_string(err) : "failed");
        return;
    case BC_STEP_TLS: {
        char msg[sizeof p->out.error - 20];
        if (what & BEV_EVENT_EOF)
            snprintf(msg, sizeof msg, "connection closed during the handshake");
        else
            probe_ssl_errors(p, msg, sizeof msg);
        probe_finish(p, BC_PROBE_TLS_FAILED, "handshake: %s", msg);
        return;
    }
    case BC_STEP_QUIT: probe_finish(p, BC_PROBE_COMPLETED, NULL); return;
    default: break;
    }
    if (what & BEV_EVENT_EOF)
        probe_finish(p, BC_PROBE_RESET, "connection closed by the server");
    else if (p->out.tls) {
        char msg[sizeof p->out.error - 20];
        probe_ssl_errors(p, msg, sizeof msg);
        probe_finish(p, BC_PROBE_RESET, "connection error: %s", msg);
    } else
        probe_finish(p, BC_PROBE_RESET, "connection error: %s",
                     err ? evutil_socket_error_to_string(err) : "reset");
}

/* ---- public entry points ------------------------------------------------------------ */

/* Allocates the probe and starts connecting. Anything that fails here is
 * reported through the callback from the loop, never from inside this call.
 * Returns NULL only when memory or libevent objects cannot be allocated. The
 * probe frees itself after its callback. */
bc_probe *bc_probe_start(struct event_base *base, const bc_probe_config *cfg, bc_probe_request *req,
                         bc_probe_cb cb, void *arg)
{
    bc_probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base = base;
    p->cfg = cfg;
    p->req = req;
    p->cb = cb;
    p->arg = arg;
    p->t0 = bc_now_ms();
    p->step = BC_STEP_CONNECT;
    bc_smtp_parser_init(&p->parser);
    p->timer = evtimer_new(base, probe_timer_cb, p);
    p->done_ev = evtimer_new(base, probe_done_cb, p);
    if (!p->timer || !p->done_ev) {
        if (p->timer)
            event_free(p->timer);
        if (p->done_ev)
            event_free(p->done_ev);
        free(p);
        return NULL;
    }
    for (int i = 0; i < req->nrcpts; i++) {
        req->rcpts[i].replied = false;
        req->rcpts[i].skipped_smtputf8 = false;
    }
    if (!probe_line_ok(cfg->helo) || !cfg->helo[0] || strlen(cfg->helo) > PROBE_MAILBOX_MAX ||
        !probe_line_ok(cfg->mail_from) || strlen(cfg->mail_from) > PROBE_MAILBOX_MAX) {
        probe_finish(p, BC_PROBE_PROTOCOL, "invalid HELO name or sender");
        return p;
    }

    if (req->deadline_ms > 0 && bc_now_ms() >= req->deadline_ms) {
        probe_finish(p, BC_PROBE_TIMEOUT, "deadline passed before connecting");
        return p;
    }
    /* Through a proxy, the socket (and the source address) is the proxy's. */
    const struct sockaddr *dest = cfg->proxy ? (const struct sockaddr *)&cfg->proxy->addr : req->addr;
    socklen_t dest_len = cfg->proxy ? cfg->proxy->addr_len : req->addr_len;
    int fd = socket(dest->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        probe_finish(p, BC_PROBE_REFUSED, "socket: %s", strerror(errno));
        return p;
    }
    if (cfg->source && bind(fd, cfg->source, cfg->source_len) != 0) {
        int e = errno;
        close(fd);
        probe_finish(p, BC_PROBE_REFUSED, "bind: %s", strerror(e));
        return p;
    }
    p->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!p->bev) {
        close(fd);
        event_free(p->timer);
        event_free(p->done_ev);
        free(p);
        return NULL;
    }
    bufferevent_setcb(p->bev, probe_read_cb, NULL, probe_event_cb, p);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);

    if (cfg->proxy) {
        bc_transcript_addf(cfg->transcript, '*', "connecting to proxy %s", cfg->proxy->label);
    } else {
        char hostbuf[NI_MAXHOST] = "?", portbuf[NI_MAXSERV] = "?";
        getnameinfo(req->addr, req->addr_len, hostbuf, sizeof hostbuf, portbuf, sizeof portbuf,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        bc_transcript_addf(cfg->transcript, '*', "connecting to %s [%s]:%s", req->host ? req->host : "-", hostbuf,
                           portbuf);
    }
    probe_arm(p, cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : PROBE_CONNECT_TIMEOUT_MS);
    if (bufferevent_socket_connect(p->bev, dest, (int)dest_len) != 0) {
        int e = EVUTIL_SOCKET_ERROR();
        if (cfg->proxy)
            probe_socks_closed(p, BEV_EVENT_ERROR, e);
        else
            probe_finish(p, BC_PROBE_REFUSED, "connect: %s", e ? evutil_socket_error_to_string(e) : "failed");
    }
    return p;
}

/* The step the session is at (what it sent last and waits on). */
bc_probe_step bc_probe_current_step(const bc_probe *p)
{
    return p->step;
}

/* Ends the session now. The callback fires from the loop with CANCELLED, or
 * with the outcome already decided if the session had finished its work and
 * was only saying QUIT. Must not be called after the callback has run. */
void bc_probe_cancel(bc_probe *p)
{
    if (!p || p->finished)
        return;
    probe_finish(p, BC_PROBE_CANCELLED, "cancelled");
}

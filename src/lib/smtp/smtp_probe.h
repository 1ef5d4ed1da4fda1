/*
 * smtp_probe.h - one SMTP session to one server address, as an explicit
 * state machine on a libevent bufferevent (OpenSSL bufferevent after
 * STARTTLS). It asks about a list of recipients and never sends DATA:
 *
 *   CONNECT -> GREETING -> EHLO (HELO if EHLO is refused) -> [STARTTLS -> TLS
 *   -> EHLO] -> { MAIL FROM -> RCPT TO xN -> (RSET before the next batch) } ->
 *   QUIT
 *
 * Through a SOCKS5 proxy, CONNECT is the TCP connection to the proxy plus the
 * SOCKS5 handshake (socks5.h) that opens a tunnel to the server address; all
 * that follows, TLS included, runs inside the tunnel unchanged.
 *
 * The probe decides nothing about mailboxes: it reports every reply, where
 * the session ended and why; verify.c turns that into facts (which host to try
 * next, greylist rechecks, TLS fallback, catch-all, the verdict).
 */
#ifndef BC_SMTP_PROBE_H
#define BC_SMTP_PROBE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "smtp/smtp_reply.h"
#include "smtp/socks5.h"

struct event_base;
typedef struct ssl_ctx_st SSL_CTX;

/* ---- transcript (for --trace) ------------------------------------------ */
#define BC_TRANSCRIPT_MAX_BYTES 65536 /* beyond this, lines are dropped and `truncated` set */

typedef struct bc_transcript_line {
    char dir;   /* 'C' what we sent, 'S' what the server sent, '*' an event (connect, TLS, error) */
    char *line; /* owned, without CRLF, control bytes escaped as \xNN */
} bc_transcript_line;

typedef struct bc_transcript {
    bc_transcript_line *v;
    size_t n, cap, bytes;
    bool truncated;
} bc_transcript;

/* Appends a line (copied, escaped). Never fails loudly: on ENOMEM or past the
 * byte cap the line is dropped and `truncated` set. */
void bc_transcript_add(bc_transcript *t, char dir, const char *line, size_t len);
void bc_transcript_addf(bc_transcript *t, char dir, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Frees the lines and the array (not t itself); t is then empty. Accepts NULL. */
void bc_transcript_clear(bc_transcript *t);

/* ---- probe ----------------------------------------------------------------- */
typedef enum bc_probe_step {
    BC_STEP_CONNECT = 0,
    BC_STEP_GREETING,
    BC_STEP_EHLO,
    BC_STEP_HELO,
    BC_STEP_STARTTLS,
    BC_STEP_TLS, /* the TLS handshake */
    BC_STEP_MAIL,
    BC_STEP_RCPT,
    BC_STEP_RSET,
    BC_STEP_QUIT,
    BC_STEP_DONE,
} bc_probe_step;

const char *bc_probe_step_name(bc_probe_step s); /* "connect", "greeting", "ehlo", ... "done" */

typedef enum bc_probe_end {
    BC_PROBE_COMPLETED = 0, /* every recipient got its RCPT reply (whatever it was) */
    BC_PROBE_REPLY,         /* a reply ended the session early at `step` (greeting 421/554, EHLO+HELO
                             * refused, MAIL FROM rejected, 421 anywhere): see `last` */
    BC_PROBE_REFUSED,       /* connect failed: refused, unreachable, bind failed */
    BC_PROBE_TIMEOUT,       /* a step timeout or the deadline passed at `step` */
    BC_PROBE_RESET,         /* the server closed or reset the connection at `step` */
    BC_PROBE_PROTOCOL,      /* the server broke the protocol (parser error, see `error`) */
    BC_PROBE_TLS_FAILED,    /* STARTTLS accepted but the handshake failed: retry in plaintext */
    BC_PROBE_CANCELLED,     /* bc_probe_cancel() */
} bc_probe_end;

const char *bc_probe_end_name(bc_probe_end e);

typedef struct bc_probe_rcpt {
    /* in */
    const char *mailbox; /* what goes between <> in RCPT TO: local@ascii-domain */
    bool needs_smtputf8; /* UTF-8 local part */
    int batch;           /* recipients with the same batch share one MAIL transaction; a
                              * new batch number means RSET + MAIL FROM first (used to put the
                              * catch-all probe in its own transaction). Non-decreasing. */
    /* out */
    bool replied;          /* got an RCPT reply (reply valid) */
    long at_ms;            /* when the reply was read (bc_now_ms()), for replies slowed on purpose */
    bool skipped_smtputf8; /* not asked: needs SMTPUTF8 and the server does not offer it */
    bc_smtp_reply reply;
} bc_probe_rcpt;

typedef struct bc_probe_config {
    const char *helo;              /* EHLO/HELO name */
    const char *mail_from;         /* MAIL FROM address (without <>), "" for the null sender */
    int connect_timeout_ms;        /* 0: 10000 */
    int greeting_timeout_ms;       /* 0: 30000 (some servers delay the greeting on purpose) */
    int command_timeout_ms;        /* 0: 30000, per reply */
    bool no_starttls;              /* never try STARTTLS (also set for the plaintext retry) */
    bool no_pipelining;            /* one command at a time even when PIPELINING is offered (the
                                  * retry after a session that went out of step) */
    SSL_CTX *ssl_ctx;              /* client context to use for STARTTLS (owned by the caller); NULL:
                                  * STARTTLS is not attempted */
    const struct sockaddr *source; /* bind to this local address first, or NULL */
    socklen_t source_len;
    const bc_proxy *proxy;     /* reach the server through this SOCKS5 proxy (owned by the caller),
                                  * or NULL: directly. connect_timeout_ms covers the TCP connection to
                                  * the proxy and the handshake; `source` binds the socket to the proxy */
    bc_transcript *transcript; /* append the conversation here, or NULL */
} bc_probe_config;

typedef struct bc_probe_outcome {
    bc_probe_end end;
    bc_probe_step step; /* where the session ended (DONE after a completed QUIT) */
    bool have_last;
    bc_smtp_reply last;   /* the last reply received (the one that ended it, for REPLY) */
    char error[160];      /* human detail for REFUSED/TIMEOUT/RESET/PROTOCOL/TLS_FAILED */
    unsigned caps;        /* EHLO capabilities (of the last EHLO) */
    bool esmtp;           /* EHLO was accepted (else HELO) */
    bool tls;             /* the session ran under TLS */
    char tls_version[16]; /* "TLSv1.3" */
    char tls_cipher[64];
    bool tls_cert_ok;         /* the chain verified against the system CAs and matched the host */
    char tls_cert_error[128]; /* why not, when it did not */
    bool pipelined;           /* RCPTs were pipelined */
    bool out_of_step;         /* PROTOCOL because replies and commands stopped matching (an
                                  * unsolicited reply or bytes, a reply no command of its kind
                                  * gives): no recipient of the session keeps its reply */
    bool proxy_failed;        /* REFUSED/TIMEOUT/PROTOCOL at connect because of the proxy itself
                                  * (unreachable, authentication, not speaking SOCKS5): any other
                                  * server through it would fail alike. Not set when the proxy only
                                  * reports that it could not reach this server (REP != 0) */
    long ms;                  /* connect to end */
    char local_addr[46];      /* our end of the connection ("" before it connects) */
} bc_probe_outcome;

typedef struct bc_probe bc_probe;

/* Fires exactly once, from the event loop (never inside bc_probe_start), also
 * on cancel. rcpts[] of the request hold their replies. The probe frees itself
 * after the callback returns. */
typedef void (*bc_probe_cb)(void *arg, const bc_probe_outcome *out);

typedef struct bc_probe_request {
    const struct sockaddr *addr; /* server address with port set */
    socklen_t addr_len;
    const char *host;     /* the MX host name (for SNI, certificate check, traces) */
    bc_probe_rcpt *rcpts; /* owned by the caller, must outlive the probe */
    int nrcpts;
    long deadline_ms; /* absolute, on the CLOCK_MONOTONIC millisecond clock
                                  * (bc_now_ms(), core/clock.h); 0: none. The session ends by then. */
} bc_probe_request;

/* Starts a session. Returns NULL only on allocation failure (nothing will be
 * called). The config and request must outlive the probe. */
bc_probe *bc_probe_start(struct event_base *base, const bc_probe_config *cfg, bc_probe_request *req,
                         bc_probe_cb cb, void *arg);

/* Ends the session now; the callback fires (from the loop) with CANCELLED. */
void bc_probe_cancel(bc_probe *p);

/* The step a running session is at (what it sent last and waits on);
 * before the callback only. */
bc_probe_step bc_probe_current_step(const bc_probe *p);

#endif

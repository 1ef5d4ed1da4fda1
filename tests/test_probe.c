/*
 * test_probe.c - the SMTP probe against scripted servers (tests/scripted_smtp.py)
 * started by tests/test_probe.sh on 127.0.0.1. Each server's port is in
 * BC_PORT_<NAME> and its command log in $BC_PROBE_LOGDIR/<name>.log; every
 * case truncates the log first, runs one probe to its end, and checks the
 * outcome, the recipients' replies, the transcript and what the server saw.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "core/clock.h"
#include "smtp/smtp_probe.h"
#include "tap.h"

typedef struct run {
    bc_probe_outcome out;
    int calls;
    struct event_base *base;
    bc_probe *probe; /* for the delayed cancel */
} run;

/* Records the outcome and stops the loop. */
static void on_done(void *arg, const bc_probe_outcome *o)
{
    run *r = arg;
    r->calls++;
    r->out = *o;
    event_base_loopexit(r->base, NULL);
}

/* Cancels the probe of a run (from a timer). */
static void on_cancel_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run *r = arg;
    bc_probe_cancel(r->probe);
}

/* The port of scripted server `name` (env BC_PORT_<NAME>), or 0. */
static int port_of(const char *name)
{
    char var[64];
    snprintf(var, sizeof var, "BC_PORT_%s", name);
    for (char *c = var; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            *c = (char)(*c - 'a' + 'A');
    const char *v = getenv(var);
    return v ? atoi(v) : 0;
}

/* Path of a server's log into buf. */
static void log_path(const char *name, char *buf, size_t len)
{
    const char *dir = getenv("BC_PROBE_LOGDIR");
    snprintf(buf, len, "%s/%s.log", dir ? dir : ".", name);
}

/* Empties a server's log (it appends, so truncation is safe). */
static void log_reset(const char *name)
{
    char path[512];
    log_path(name, path, sizeof path);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
    if (fd >= 0)
        close(fd);
}

/* Reads a server's log; the caller frees it. Never NULL. */
static char *log_read(const char *name)
{
    char path[512];
    log_path(name, path, sizeof path);
    FILE *f = fopen(path, "r");
    size_t cap = 1 << 16, n = 0;
    char *buf = calloc(1, cap + 1);
    if (!buf)
        abort();
    if (f) {
        n = fread(buf, 1, cap, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

/* Counts occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle))
        n++;
    return n;
}

/* True when some transcript line of direction dir contains needle. */
static bool tr_has(const bc_transcript *t, char dir, const char *needle)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].dir == dir && strstr(t->v[i].line, needle))
            return true;
    return false;
}

static void cfg_defaults(bc_probe_config *cfg, bc_transcript *tr)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->helo = "probe.bouncecheck.test";
    cfg->mail_from = "bounce@bouncecheck.test";
    cfg->connect_timeout_ms = 3000;
    cfg->greeting_timeout_ms = 5000;
    cfg->command_timeout_ms = 5000;
    cfg->transcript = tr;
}

/* Runs one probe against 127.0.0.1:port to its end. cancel_after_ms >= 0
 * cancels it that long after the start (0: right after bc_probe_start). */
static run probe_run(int port, const bc_probe_config *cfg, bc_probe_rcpt *rcpts, int n, long deadline_ms,
                     int cancel_after_ms, int *sync_calls)
{
    run r;
    memset(&r, 0, sizeof r);
    r.base = event_base_new();
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    bc_probe_request req = {
        .addr = (const struct sockaddr *)&sin,
        .addr_len = sizeof sin,
        .host = "mx.example",
        .rcpts = rcpts,
        .nrcpts = n,
        .deadline_ms = deadline_ms,
    };
    struct event *watchdog = evtimer_new(r.base, on_cancel_timer, &r);
    struct timeval wd = { 30, 0 };
    r.probe = bc_probe_start(r.base, cfg, &req, on_done, &r);
    if (sync_calls)
        *sync_calls = r.calls;
    if (!r.probe) {
        event_free(watchdog);
        event_base_free(r.base);
        return r;
    }
    if (cancel_after_ms == 0)
        bc_probe_cancel(r.probe);
    else if (cancel_after_ms > 0) {
        wd.tv_sec = cancel_after_ms / 1000;
        wd.tv_usec = (cancel_after_ms % 1000) * 1000;
    }
    if (sync_calls && cancel_after_ms == 0)
        *sync_calls = r.calls;
    evtimer_add(watchdog, &wd); /* also a safety net: a hung probe gets cancelled */
    event_base_dispatch(r.base);
    /* Give a buggy second callback its chance to show up. */
    event_base_loop(r.base, EVLOOP_NONBLOCK);
    event_free(watchdog);
    event_base_free(r.base);
    return r;
}

static void rcpt_set(bc_probe_rcpt *r, const char *mailbox, int batch, bool utf8)
{
    memset(r, 0, sizeof *r);
    r->mailbox = mailbox;
    r->batch = batch;
    r->needs_smtputf8 = utf8;
}

/* Checks that the server of `name` never saw DATA. */
static void check_no_data(const char *name, const char *what)
{
    char *log = log_read(name);
    CHECK(!strstr(log, " C DATA"), "%s: DATA never sent", what);
    free(log);
}

/* Accepted + unknown recipient (and a 421 on a third) in one session. */
static void case_two_rcpts(const char *server, bool want_pipelined)
{
    bc_transcript tr = { 0 };
    bc_probe_config cfg;
    cfg_defaults(&cfg, &tr);
    bc_probe_rcpt rc[2];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    rcpt_set(&rc[1], "nobody@example.test", 0, false);
    log_reset(server);
    run r = probe_run(port_of(server), &cfg, rc, 2, 0, -1, NULL);
    CHECK(r.calls == 1, "%s: callback once (got %d)", server, r.calls);
    CHECK(r.out.end == BC_PROBE_COMPLETED, "%s: completed (got %s: %s)", server, bc_probe_end_name(r.out.end),
          r.out.error);
    CHECK(r.out.step == BC_STEP_DONE, "%s: ended at done after 221 (got %s)", server,
          bc_probe_step_name(r.out.step));
    CHECK(r.out.esmtp, "%s: esmtp", server);
    CHECK(r.out.pipelined == want_pipelined, "%s: pipelined is %d", server, want_pipelined);
    CHECK(rc[0].replied && rc[0].reply.code == 250, "%s: alice 250 (got %d)", server, rc[0].reply.code);
    CHECK(rc[1].replied && rc[1].reply.code == 550 && strcmp(rc[1].reply.enhanced, "5.1.1") == 0,
          "%s: nobody 550 5.1.1 (got %d %s)", server, rc[1].reply.code, rc[1].reply.enhanced);
    CHECK(!r.out.tls, "%s: no TLS without a context", server);
    CHECK(r.out.ms >= 0 && r.out.ms < 5000, "%s: ms plausible (%ld)", server, r.out.ms);
    char *log = log_read(server);
    CHECK(count_of(log, " CONNECT ") == 1, "%s: one connection", server);
    CHECK(strstr(log, "C MAIL FROM:<bounce@bouncecheck.test>") != NULL, "%s: MAIL FROM sent", server);
    CHECK(strstr(log, "C QUIT") != NULL, "%s: QUIT sent", server);
    CHECK(!strstr(log, "STARTTLS"), "%s: no STARTTLS without a context", server);
    free(log);
    check_no_data(server, server);
    if (!want_pipelined) {
        /* transcript content, checked once */
        CHECK(tr_has(&tr, '*', "connected to"), "transcript: connected event");
        CHECK(tr_has(&tr, 'S', "220 mx.example"), "transcript: greeting line");
        CHECK(tr_has(&tr, 'C', "EHLO probe.bouncecheck.test"), "transcript: EHLO line");
        CHECK(tr_has(&tr, 'S', "250-PIPELINING") == false && tr_has(&tr, 'S', "250-ENHANCEDSTATUSCODES"),
              "transcript: EHLO reply lines (no PIPELINING on this server)");
        CHECK(tr_has(&tr, 'C', "RCPT TO:<nobody@example.test>"), "transcript: RCPT line");
        CHECK(tr_has(&tr, 'S', "550 5.1.1"), "transcript: RCPT reply");
        CHECK(tr_has(&tr, 'S', "221"), "transcript: 221");
        CHECK(!tr.truncated, "transcript: not truncated");
    }
    bc_transcript_clear(&tr);
}

/* Two batches: RSET then MAIL between them. */
static void case_batches(void)
{
    bc_probe_config cfg;
    cfg_defaults(&cfg, NULL);
    bc_probe_rcpt rc[3];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    rcpt_set(&rc[1], "nobody@example.test", 0, false);
    rcpt_set(&rc[2], "zz-catchall-probe@example.test", 1, false);
    log_reset("normal");
    run r = probe_run(port_of("normal"), &cfg, rc, 3, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED, "batches: completed (got %s)", bc_probe_end_name(r.out.end));
    CHECK(rc[0].replied && rc[1].replied && rc[2].replied, "batches: all three replied");
    char *log = log_read("normal");
    const char *rset = strstr(log, "C RSET");
    CHECK(rset != NULL, "batches: RSET sent");
    CHECK(rset && strstr(rset, "C MAIL FROM:") && strstr(rset, "C RCPT TO:<zz-catchall-probe"),
          "batches: MAIL then RCPT after RSET");
    CHECK(count_of(log, "C MAIL FROM:") == 2, "batches: two MAIL transactions");
    CHECK(count_of(log, "C RSET") == 1, "batches: one RSET");
    free(log);
    check_no_data("normal", "batches");
}

/* 421 to a RCPT ends the session with REPLY at RCPT. */
static void case_rcpt_421(void)
{
    bc_probe_config cfg;
    cfg_defaults(&cfg, NULL);
    bc_probe_rcpt rc[3];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    rcpt_set(&rc[1], "busy@example.test", 0, false);
    rcpt_set(&rc[2], "bob@example.test", 0, false);
    log_reset("nopipelining");
    run r = probe_run(port_of("nopipelining"), &cfg, rc, 3, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_REPLY && r.out.step == BC_STEP_RCPT, "421 at rcpt: reply at rcpt (got %s at %s)",
          bc_probe_end_name(r.out.end), bc_probe_step_name(r.out.step));
    CHECK(r.out.have_last && r.out.last.code == 421, "421 at rcpt: last is 421");
    CHECK(rc[0].replied && !rc[2].replied, "421 at rcpt: first replied, third not asked");

    /* MAIL FROM refused: REPLY at MAIL, nobody asked */
    cfg.mail_from = "blocked@bouncecheck.test";
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    log_reset("nopipelining");
    r = probe_run(port_of("nopipelining"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_REPLY && r.out.step == BC_STEP_MAIL && r.out.last.code == 550,
          "mail refused: reply at mail with 550 (got %s at %s, %d)", bc_probe_end_name(r.out.end),
          bc_probe_step_name(r.out.step), r.out.last.code);
    CHECK(!rc[0].replied, "mail refused: recipient not answered");
    char *log = log_read("nopipelining");
    CHECK(!strstr(log, "C RCPT") && strstr(log, "C QUIT"), "mail refused: no RCPT, QUIT sent");
    free(log);
}

/* SMTPUTF8: appended when offered, the recipient skipped when not. */
static void case_smtputf8(void)
{
    bc_probe_config cfg;
    cfg_defaults(&cfg, NULL);
    bc_probe_rcpt rc[2];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    rcpt_set(&rc[1], "j\xc3\xb6rg@example.test", 0, true);
    log_reset("noutf8");
    run r = probe_run(port_of("noutf8"), &cfg, rc, 2, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED, "utf8 not offered: completed (got %s)", bc_probe_end_name(r.out.end));
    CHECK(rc[0].replied && !rc[0].skipped_smtputf8, "utf8 not offered: ascii recipient asked");
    CHECK(!rc[1].replied && rc[1].skipped_smtputf8, "utf8 not offered: utf8 recipient skipped");
    char *log = log_read("noutf8");
    CHECK(!strstr(log, "SMTPUTF8\n") && !strstr(log, "j\xc3\xb6rg"),
          "utf8 not offered: no SMTPUTF8, no RCPT for it");
    free(log);

    rcpt_set(&rc[0], "alice@example.test", 0, false);
    rcpt_set(&rc[1], "j\xc3\xb6rg@example.test", 0, true);
    log_reset("normal");
    r = probe_run(port_of("normal"), &cfg, rc, 2, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED && rc[1].replied && !rc[1].skipped_smtputf8,
          "utf8 offered: utf8 recipient asked");
    log = log_read("normal");
    CHECK(strstr(log, "C MAIL FROM:<bounce@bouncecheck.test> SMTPUTF8") != NULL,
          "utf8 offered: MAIL ... SMTPUTF8");
    free(log);

    /* a batch of only utf8 recipients on a server without it: no transaction at all */
    rcpt_set(&rc[0], "j\xc3\xb6rg@example.test", 0, true);
    log_reset("noutf8");
    r = probe_run(port_of("noutf8"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED && rc[0].skipped_smtputf8, "only-utf8 batch: completed, skipped");
    log = log_read("noutf8");
    CHECK(!strstr(log, "C MAIL"), "only-utf8 batch: no MAIL sent");
    free(log);
}

/* STARTTLS with a self-signed certificate, and a broken handshake. */
static void case_tls(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_default_verify_paths(ctx);
    bc_transcript tr = { 0 };
    bc_probe_config cfg;
    cfg_defaults(&cfg, &tr);
    cfg.ssl_ctx = ctx;
    bc_probe_rcpt rc[1];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    log_reset("tls");
    run r = probe_run(port_of("tls"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED, "starttls: completed (got %s: %s)", bc_probe_end_name(r.out.end),
          r.out.error);
    CHECK(r.out.tls, "starttls: tls true");
    CHECK(strncmp(r.out.tls_version, "TLSv1", 5) == 0, "starttls: version %s", r.out.tls_version);
    CHECK(r.out.tls_cipher[0] != '\0', "starttls: cipher %s", r.out.tls_cipher);
    CHECK(!r.out.tls_cert_ok && r.out.tls_cert_error[0], "starttls: self-signed not ok (%s)",
          r.out.tls_cert_error);
    CHECK(rc[0].replied && rc[0].reply.code == 250, "starttls: rcpt answered under TLS");
    CHECK(tr_has(&tr, '*', "TLS established TLSv1"), "starttls: transcript has TLS event");
    char *log = log_read("tls");
    const char *t = strstr(log, " TLS\n");
    CHECK(t && strstr(t, "C EHLO") && strstr(t, "C RCPT TO:<alice@example.test>"),
          "starttls: EHLO again, then RCPT under TLS");
    free(log);
    check_no_data("tls", "starttls");
    bc_transcript_clear(&tr);

    rcpt_set(&rc[0], "alice@example.test", 0, false);
    log_reset("badtls");
    r = probe_run(port_of("badtls"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_TLS_FAILED && r.out.step == BC_STEP_TLS,
          "badtls: tls_failed at tls (got %s at %s: %s)", bc_probe_end_name(r.out.end),
          bc_probe_step_name(r.out.step), r.out.error);
    CHECK(r.out.error[0] != '\0', "badtls: error says why (%s)", r.out.error);
    CHECK(!rc[0].replied, "badtls: no rcpt reply");
    bc_transcript_clear(&tr);

    cfg.no_starttls = true;
    r = probe_run(port_of("badtls"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED && !r.out.tls && rc[0].replied,
          "badtls with no_starttls: completed in plaintext (got %s)", bc_probe_end_name(r.out.end));
    check_no_data("badtls", "badtls");
    bc_transcript_clear(&tr);
    SSL_CTX_free(ctx);
}

/* Timeouts: greeting timeout, and a deadline shorter than the timeout. */
static void case_timeouts(void)
{
    bc_probe_config cfg;
    cfg_defaults(&cfg, NULL);
    cfg.greeting_timeout_ms = 1000;
    bc_probe_rcpt rc[1];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    long t0 = bc_now_ms();
    run r = probe_run(port_of("tarpit"), &cfg, rc, 1, 0, -1, NULL);
    long took = bc_now_ms() - t0;
    CHECK(r.out.end == BC_PROBE_TIMEOUT && r.out.step == BC_STEP_GREETING,
          "tarpit: timeout at greeting (got %s at %s)", bc_probe_end_name(r.out.end),
          bc_probe_step_name(r.out.step));
    CHECK(took >= 950 && took < 3000, "tarpit: ended after the 1 s greeting timeout (%ld ms)", took);

    cfg.greeting_timeout_ms = 10000;
    t0 = bc_now_ms();
    r = probe_run(port_of("tarpit"), &cfg, rc, 1, t0 + 700, -1, NULL);
    took = bc_now_ms() - t0;
    CHECK(r.out.end == BC_PROBE_TIMEOUT, "deadline: timeout (got %s)", bc_probe_end_name(r.out.end));
    CHECK(took <= 700 + 200, "deadline: ended within deadline + 200 ms (%ld ms)", took);
    CHECK(strstr(r.out.error, "deadline") != NULL, "deadline: error names it (%s)", r.out.error);

    /* a deadline already gone: over at once, at connect, still from the loop */
    int sync_calls = -1;
    t0 = bc_now_ms();
    r = probe_run(port_of("normal"), &cfg, rc, 1, t0 - 1, -1, &sync_calls);
    CHECK(r.out.end == BC_PROBE_TIMEOUT && r.out.step == BC_STEP_CONNECT && sync_calls == 0 &&
              bc_now_ms() - t0 < 200,
          "past deadline: timeout at connect (got %s at %s)", bc_probe_end_name(r.out.end),
          bc_probe_step_name(r.out.step));

    cfg.greeting_timeout_ms = 5000;
    log_reset("slowgreet");
    r = probe_run(port_of("slowgreet"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED && rc[0].replied, "slowgreet 2 s, timeout 5 s: completed (got %s)",
          bc_probe_end_name(r.out.end));
    CHECK(r.out.ms >= 1900, "slowgreet: took the delay (%ld ms)", r.out.ms);
}

/* Servers that break the protocol or end early. */
static void case_broken(void)
{
    bc_probe_config cfg;
    cfg_defaults(&cfg, NULL);
    bc_probe_rcpt rc[1];
    rcpt_set(&rc[0], "alice@example.test", 0, false);

    run r = probe_run(port_of("greet421"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_REPLY && r.out.step == BC_STEP_GREETING,
          "greet421: reply at greeting (got %s at %s)", bc_probe_end_name(r.out.end),
          bc_probe_step_name(r.out.step));
    CHECK(r.out.have_last && r.out.last.code == 421, "greet421: last code 421 (got %d)", r.out.last.code);

    bc_transcript tr = { 0 };
    cfg.transcript = &tr;
    const char *proto[] = { "endless", "longline", "garbage" };
    const bc_probe_step at[] = { BC_STEP_EHLO, BC_STEP_EHLO, BC_STEP_GREETING };
    for (int i = 0; i < 3; i++) {
        bc_transcript_clear(&tr);
        long t0 = bc_now_ms();
        r = probe_run(port_of(proto[i]), &cfg, rc, 1, 0, -1, NULL);
        CHECK(r.out.end == BC_PROBE_PROTOCOL && r.out.step == at[i], "%s: protocol at %s (got %s at %s: %s)",
              proto[i], bc_probe_step_name(at[i]), bc_probe_end_name(r.out.end), bc_probe_step_name(r.out.step),
              r.out.error);
        CHECK(r.out.error[0] != '\0', "%s: parser message in error", proto[i]);
        CHECK(bc_now_ms() - t0 < 3000, "%s: ended promptly, not by a timeout", proto[i]);
        if (i == 1)
            CHECK(tr_has(&tr, 'S', "250-AAAA") && tr_has(&tr, 'S', "[line cut]"),
                  "longline: transcript keeps a cut line");
        CHECK(tr_has(&tr, '*', "protocol at"), "%s: transcript has the error event", proto[i]);
    }
    bc_transcript_clear(&tr);
    cfg.transcript = NULL;

    rcpt_set(&rc[0], "alice@example.test", 0, false);
    log_reset("resetrcpt");
    r = probe_run(port_of("resetrcpt"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_RESET && r.out.step == BC_STEP_RCPT, "resetrcpt: reset at rcpt (got %s at %s)",
          bc_probe_end_name(r.out.end), bc_probe_step_name(r.out.step));
    CHECK(!rc[0].replied, "resetrcpt: no reply recorded");

    rcpt_set(&rc[0], "alice@example.test", 0, false);
    log_reset("helo_only");
    r = probe_run(port_of("helo_only"), &cfg, rc, 1, 0, -1, NULL);
    CHECK(r.out.end == BC_PROBE_COMPLETED && !r.out.esmtp && rc[0].replied,
          "helo_only: completed with esmtp false (got %s, esmtp %d)", bc_probe_end_name(r.out.end), r.out.esmtp);
    char *log = log_read("helo_only");
    CHECK(strstr(log, "C EHLO") && strstr(log, "C HELO probe.bouncecheck.test"), "helo_only: EHLO then HELO");
    free(log);
    check_no_data("helo_only", "helo_only");

    int sync_calls = -1;
    r = probe_run(port_of("refused"), &cfg, rc, 1, 0, -1, &sync_calls);
    CHECK(r.out.end == BC_PROBE_REFUSED && r.out.step == BC_STEP_CONNECT, "refused port: refused (got %s: %s)",
          bc_probe_end_name(r.out.end), r.out.error);
    CHECK(sync_calls == 0 && r.calls == 1, "refused port: callback from the loop, once");

    /* a sender with a line break never reaches the wire: reported from the loop */
    cfg.mail_from = "evil\r\nDATA";
    r = probe_run(port_of("normal"), &cfg, rc, 1, 0, -1, &sync_calls);
    CHECK(r.out.end == BC_PROBE_PROTOCOL && sync_calls == 0 && r.calls == 1,
          "bad sender: refused before connecting, callback deferred");
    cfg.mail_from = "bounce@bouncecheck.test";
}

/* Cancel: right after start, and mid-session. */
static void case_cancel(void)
{
    bc_probe_config cfg;
    cfg_defaults(&cfg, NULL);
    bc_probe_rcpt rc[1];
    rcpt_set(&rc[0], "alice@example.test", 0, false);
    int sync_calls = -1;
    run r = probe_run(port_of("tarpit"), &cfg, rc, 1, 0, 0, &sync_calls);
    CHECK(sync_calls == 0, "cancel at once: no callback inside start/cancel");
    CHECK(r.calls == 1 && r.out.end == BC_PROBE_CANCELLED, "cancel at once: cancelled once (calls %d, %s)",
          r.calls, bc_probe_end_name(r.out.end));

    r = probe_run(port_of("tarpit"), &cfg, rc, 1, 0, 300, NULL);
    CHECK(r.calls == 1 && r.out.end == BC_PROBE_CANCELLED && r.out.step == BC_STEP_GREETING,
          "cancel mid-session: cancelled once at greeting (calls %d, %s at %s)", r.calls,
          bc_probe_end_name(r.out.end), bc_probe_step_name(r.out.step));
}

/* The transcript escapes control bytes and caps its size. */
static void case_transcript_unit(void)
{
    bc_transcript t = { 0 };
    bc_transcript_add(&t, 'S',
                      "a\x01"
                      "b\xff",
                      4);
    CHECK(t.n == 1 && strcmp(t.v[0].line, "a\\x01b\\xFF") == 0, "transcript: control/invalid bytes escaped (%s)",
          t.n ? t.v[0].line : "");
    bc_transcript_add(&t, 'C', "j\xc3\xb6rg", 5);
    CHECK(t.n == 2 && strcmp(t.v[1].line, "j\xc3\xb6rg") == 0, "transcript: valid UTF-8 kept");
    bc_transcript_addf(&t, '*', "n=%d", 42);
    CHECK(t.n == 3 && t.v[2].dir == '*' && strcmp(t.v[2].line, "n=42") == 0, "transcript: addf");
    char big[1000];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 200; i++)
        bc_transcript_add(&t, 'S', big, sizeof big);
    CHECK(t.truncated && t.bytes <= BC_TRANSCRIPT_MAX_BYTES, "transcript: capped (%zu bytes)", t.bytes);
    bc_transcript_clear(&t);
    CHECK(t.n == 0 && t.v == NULL && !t.truncated, "transcript: cleared");
    bc_transcript_clear(NULL);
    CHECK(strcmp(bc_probe_step_name(BC_STEP_RCPT), "rcpt") == 0 &&
              strcmp(bc_probe_end_name(BC_PROBE_TLS_FAILED), "tls_failed") == 0,
          "names");
}

int main(void)
{
    case_transcript_unit();
    if (!port_of("normal")) {
        tap_diag("no scripted servers: run through tests/test_probe.sh for the session cases");
        return tap_done();
    }
    case_two_rcpts("normal", true);
    case_two_rcpts("nopipelining", false);
    case_batches();
    case_rcpt_421();
    case_smtputf8();
    case_tls();
    case_timeouts();
    case_broken();
    case_cancel();
    return tap_done();
}

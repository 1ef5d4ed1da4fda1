/*
 * smtptest.c - `bouncecheck smtp-test`: a blocking SMTP client that tests one
 * mail server (see smtptest.h for what it reports and the JSON).
 *
 * Unlike the verifier's probe (smtp_probe.c), which runs many sessions on an
 * event loop, this is a diagnostic for one host: each port is a plain
 * sequence of steps on a non-blocking socket, every wait bounded by poll()
 * with the connect or command timeout. Bytes read go straight into the
 * project's reply parser (smtp_reply.c), which enforces the line and reply
 * bounds; we only keep a copy of the reply's lines to list EHLO extensions.
 *
 * The open-relay test asks MAIL FROM an outside sender and RCPT TO an
 * outside recipient, on domains reserved for documentation (RFC 2606), then
 * RSET and QUIT: DATA is never sent, so nothing is ever relayed even by an
 * open relay. A 2xx to that RCPT means the server would relay for anyone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bouncecheck.h"
#include "core/clock.h"
#include "core/identity.h"
#include "core/internal.h"
#include "core/netsafe.h"
#include "health/health.h"
#include "health/smtptest.h"
#include "smtp/smtp_reply.h"
#include "smtp/socks5.h"

#define ST_CONNECT_MS 10000
#define ST_COMMAND_MS 30000
#define ST_QUIT_MS 2000  /* how long we wait for 221 after QUIT */
#define ST_LINES_MAX 128 /* reply lines kept (EHLO extensions); the parser allows more */
#define ST_LINE_KEPT 512 /* bytes kept of each line */
#define ST_NAME_MAX 255  /* host and HELO names */
#define ST_EXPIRY_WARN_DAYS 14
#define ST_RELAY_FROM "bouncecheck-relay-test@example.org"
#define ST_RELAY_TO "bouncecheck-relay-test@example.net"

static const int st_default_ports[] = { 25, 587, 465, 2525 };

/* One connection: the socket, TLS over it once started, bytes read but not
 * yet parsed, the reply parser and the lines of the reply being read. */
typedef struct st_conn {
    int fd;
    SSL *ssl;
    int cmd_ms;
    char buf[4096];
    size_t off, len;
    bc_smtp_parser parser;
    char lines[ST_LINES_MAX][ST_LINE_KEPT];
    size_t nlines;
    char cur[ST_LINE_KEPT];
    size_t curlen;
    char error[256]; /* why the last step failed */
} st_conn;

typedef enum st_rc { ST_OK = 0, ST_EOF, ST_TIMEOUT, ST_ERROR } st_rc;

/* What one run needs everywhere. */
typedef struct st_run {
    const char *host; /* as given */
    bool host_is_ip;
    const char *helo;
    int connect_ms, cmd_ms;
    SSL_CTX *ssl_ctx;
    const struct sockaddr *addr;
    socklen_t addr_len;
    char ptr[NI_MAXHOST]; /* reverse DNS name of the address, "" when none */
    json_t *findings;
    bool port_given;
} st_run;

/* ---- small helpers ---------------------------------------------------------- */

/* Milliseconds left until the absolute deadline (bc_now_ms clock), >= 0. */
static int st_left(long deadline)
{
    long left = deadline - bc_now_ms();
    if (left < 0)
        return 0;
    return left > 0x7fffffffL ? 0x7fffffff : (int)left;
}

/* Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int st_wait(int fd, short events, long deadline)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events };
        int n = poll(&pfd, 1, st_left(deadline));
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* True for a name or text we may put on a command line: printable ASCII
 * without spaces, 1..ST_NAME_MAX bytes. */
static bool st_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ST_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return false;
    return true;
}

/* Compares two host names ignoring case and one trailing dot. */
static bool st_same_host(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && la > 0 && strncasecmp(a, b, la) == 0;
}

/* ---- the connection ---------------------------------------------------------- */

/* Connects to addr with `port` within timeout_ms, from the local address
 * `src` when not NULL (its port is ignored). Returns the non-blocking
 * socket (the caller closes it) or -1 with the reason in err. */
static int st_connect(const struct sockaddr *addr, socklen_t addr_len, int port, const struct sockaddr *src,
                      int timeout_ms, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memcpy(&ss, addr, addr_len);
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)&ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)(void *)&ss)->sin6_port = htons((uint16_t)port);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (src) {
        struct sockaddr_storage from;
        socklen_t from_len = src->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        memset(&from, 0, sizeof from);
        memcpy(&from, src, from_len);
        if (bind(fd, (struct sockaddr *)&from, from_len) != 0) {
            snprintf(err, errlen, "bind to the source address: %s", strerror(errno));
            close(fd);
            return -1;
        }
    }
    if (connect(fd, (struct sockaddr *)&ss, addr_len) == 0)
        return fd;
    if (errno != EINPROGRESS) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    int w = st_wait(fd, POLLOUT, bc_now_ms() + timeout_ms);
    if (w == 0) {
        snprintf(err, errlen, "connect: no answer within %d ms", timeout_ms);
        close(fd);
        return -1;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
        snprintf(err, errlen, "connect: %s", strerror(soerr ? soerr : errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* The OpenSSL error queue (or `fallback`) as one line into buf; clears it. */
static void st_ssl_error(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "%s", fallback);
    ERR_clear_error();
}

/* The poll event an SSL_get_error result asks to wait for: POLLIN for
 * WANT_READ, POLLOUT for WANT_WRITE, 0 for every other result. */
static short st_ssl_want(int e)
{
    if (e == SSL_ERROR_WANT_READ)
        return POLLIN;
    if (e == SSL_ERROR_WANT_WRITE)
        return POLLOUT;
    return 0;
}

/* Waits for ev on c's socket until the deadline: ST_OK when it is ready,
 * ST_TIMEOUT, or ST_ERROR with the poll failure in c->error. */
static st_rc st_wait_conn(st_conn *c, short ev, long deadline)
{
    int w = st_wait(c->fd, ev, deadline);
    if (w == 0)
        return ST_TIMEOUT;
    if (w < 0) {
        snprintf(c->error, sizeof c->error, "poll: %s", strerror(errno));
        return ST_ERROR;
    }
    return ST_OK;
}

/* Reads some bytes into c->buf (which must be drained). */
static st_rc st_read_some(st_conn *c, long deadline)
{
    c->off = c->len = 0;
    for (;;) {
        if (c->ssl) {
            ERR_clear_error();
            int n = SSL_read(c->ssl, c->buf, (int)sizeof c->buf);
            if (n > 0) {
                c->len = (size_t)n;
                return ST_OK;
            }
            int e = SSL_get_error(c->ssl, n);
            short ev = st_ssl_want(e);
            if (!ev) {
                if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0))
                    return ST_EOF;
                st_ssl_error(c->error, sizeof c->error, "TLS read failed");
                return ST_ERROR;
            }
            st_rc rc = st_wait_conn(c, ev, deadline);
            if (rc != ST_OK)
                return rc;
            continue;
        }
        ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (n > 0) {
            c->len = (size_t)n;
            return ST_OK;
        }
        if (n == 0)
            return ST_EOF;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            if (errno == ECONNRESET)
                return ST_EOF;
            snprintf(c->error, sizeof c->error, "read: %s", strerror(errno));
            return ST_ERROR;
        }
        st_rc rc = st_wait_conn(c, POLLIN, deadline);
        if (rc != ST_OK)
            return rc;
    }
}

/* Writes all of data[0..len) before the deadline. */
static st_rc st_write_all(st_conn *c, const char *data, size_t len, long deadline)
{
    size_t done = 0;
    while (done < len) {
        short ev = POLLOUT;
        if (c->ssl) {
            ERR_clear_error();
            int n = SSL_write(c->ssl, data + done, (int)(len - done));
            if (n > 0) {
                done += (size_t)n;
                continue;
            }
            int e = SSL_get_error(c->ssl, n);
            ev = st_ssl_want(e);
            if (!ev) {
                st_ssl_error(c->error, sizeof c->error, "TLS write failed");
                return e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ? ST_EOF : ST_ERROR;
            }
        } else {
            ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL);
            if (n > 0) {
                done += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                snprintf(c->error, sizeof c->error, "write: %s", strerror(errno));
                return errno == EPIPE || errno == ECONNRESET ? ST_EOF : ST_ERROR;
            }
        }
        st_rc rc = st_wait_conn(c, ev, deadline);
        if (rc != ST_OK)
            return rc;
    }
    return ST_OK;
}

/* Keeps a copy of the bytes the parser consumed, one entry per line (CR
 * dropped, control bytes as '?', cut at ST_LINE_KEPT), for the EHLO
 * extensions. */
static void st_keep_lines(st_conn *c, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\n') {
            if (c->curlen && c->cur[c->curlen - 1] == '\r')
                c->curlen--;
            if (c->nlines < ST_LINES_MAX) {
                memcpy(c->lines[c->nlines], c->cur, c->curlen);
                c->lines[c->nlines][c->curlen] = '\0';
                c->nlines++;
            }
            c->curlen = 0;
        } else if (c->curlen < sizeof c->cur - 1)
            c->cur[c->curlen++] = (ch < 0x20 && ch != '\r') || ch == 0x7F ? '?' : (char)ch;
    }
}

/* Makes the NUL-terminated text in buf[0..size) valid UTF-8 in place
 * (invalid bytes become U+FFFD), cut at a character boundary to fit, so
 * server text can go into JSON and findings as it is. */
static void st_repair_text(char *buf, size_t size)
{
    size_t outlen = 0;
    char *u = bc_utf8_repair(buf, strlen(buf), &outlen);
    if (!u) {
        for (char *p = buf; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
        return;
    }
    if (outlen >= size) {
        outlen = size - 1;
        while (outlen > 0 && ((unsigned char)u[outlen] & 0xC0) == 0x80)
            outlen--;
    }
    memcpy(buf, u, outlen);
    buf[outlen] = '\0';
    free(u);
}

/* Reads one complete reply into *r within the command timeout. Bytes that
 * follow it stay buffered for the next reply. */
static st_rc st_reply(st_conn *c, bc_smtp_reply *r)
{
    long deadline = bc_now_ms() + c->cmd_ms;
    c->nlines = 0;
    c->curlen = 0;
    for (;;) {
        if (c->off < c->len) {
            size_t used = 0;
            bc_smtp_parse_rc rc = bc_smtp_parse(&c->parser, c->buf + c->off, c->len - c->off, &used);
            if (used > c->len - c->off)
                used = c->len - c->off;
            st_keep_lines(c, c->buf + c->off, used);
            c->off += used;
            if (rc == BC_SMTP_PARSE_ERROR) {
                snprintf(c->error, sizeof c->error, "bad reply: %s",
                         c->parser.error[0] ? c->parser.error : "protocol error");
                return ST_ERROR;
            }
            if (rc == BC_SMTP_PARSE_DONE) {
                *r = c->parser.reply;
                st_repair_text(r->text, sizeof r->text);
                return ST_OK;
            }
        }
        st_rc rc = st_read_some(c, deadline);
        if (rc == ST_TIMEOUT)
            snprintf(c->error, sizeof c->error, "no reply within %d ms", c->cmd_ms);
        else if (rc == ST_EOF)
            snprintf(c->error, sizeof c->error, "connection closed by the server");
        if (rc != ST_OK)
            return rc;
    }
}

/* Sends one command line (CRLF added) and reads its reply. */
static st_rc st_cmd(st_conn *c, bc_smtp_reply *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static st_rc st_cmd(st_conn *c, bc_smtp_reply *r, const char *fmt, ...)
{
    char line[ST_NAME_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2) {
        snprintf(c->error, sizeof c->error, "command too long");
        return ST_ERROR;
    }
    memcpy(line + n, "\r\n", 3);
    st_rc rc = st_write_all(c, line, (size_t)n + 2, bc_now_ms() + c->cmd_ms);
    if (rc == ST_TIMEOUT)
        snprintf(c->error, sizeof c->error, "could not send within %d ms", c->cmd_ms);
    else if (rc == ST_EOF)
        snprintf(c->error, sizeof c->error, "connection closed by the server");
    if (rc != ST_OK)
        return rc;
    return st_reply(c, r);
}

/* Runs the client TLS handshake on c->fd (SNI when the host is a name).
 * Everything received before it is dropped (STARTTLS injection). */
static bool st_tls_handshake(st_conn *c, const st_run *run)
{
    c->off = c->len = 0;
    bc_smtp_parser_init(&c->parser);
    ERR_clear_error();
    c->ssl = SSL_new(run->ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
        st_ssl_error(c->error, sizeof c->error, "cannot set up TLS");
        return false;
    }
    if (!run->host_is_ip)
        SSL_set_tlsext_host_name(c->ssl, run->host);
    long deadline = bc_now_ms() + c->cmd_ms;
    for (;;) {
        ERR_clear_error();
        int n = SSL_connect(c->ssl);
        if (n == 1)
            return true;
        int e = SSL_get_error(c->ssl, n);
        short ev = st_ssl_want(e);
        if (!ev) {
            st_ssl_error(c->error, sizeof c->error,
                         e == SSL_ERROR_SYSCALL ? "connection closed during the handshake" : "handshake failed");
            return false;
        }
        int w = st_wait(c->fd, ev, deadline);
        if (w <= 0) {
            snprintf(c->error, sizeof c->error, "handshake not finished within %d ms", c->cmd_ms);
            return false;
        }
    }
}

/* Closes the connection (a TLS close_notify is tried once, not awaited). */
static void st_close(st_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Says QUIT and waits briefly for the 221; whatever happens is ignored. */
static void st_quit(st_conn *c)
{
    int ms = c->cmd_ms;
    c->cmd_ms = ms < ST_QUIT_MS ? ms : ST_QUIT_MS;
    bc_smtp_reply r;
    (void)st_cmd(c, &r, "QUIT");
    c->cmd_ms = ms;
}

/* ---- what the server said ------------------------------------------------------ */

static json_t *st_text_json(const char *s, size_t len);

/* A JSON string formatted like printf (at most 1 KiB, repaired to UTF-8). */
static json_t *st_jsonf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *st_jsonf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return json_null();
    return st_text_json(buf, strlen(buf));
}

/* The JSON of an X509_NAME in RFC 2253 form ("CN=mx.example,O=..."). */
static json_t *st_name_json(const X509_NAME *name)
{
    if (!name)
        return json_null();
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return json_null();
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    size_t outlen = 0;
    char *s = n > 0 ? bc_utf8_repair(data, (size_t)n, &outlen) : NULL;
    json_t *j = s ? json_stringn(s, outlen) : json_string("");
    free(s);
    BIO_free(b);
    return j ? j : json_null();
}

/* A JSON string of len bytes of server text (repaired to UTF-8). */
static json_t *st_text_json(const char *s, size_t len)
{
    size_t outlen = 0;
    char *u = bc_utf8_repair(s, len, &outlen);
    json_t *j = u ? json_stringn(u, outlen) : NULL;
    free(u);
    return j ? j : json_null();
}

/* Fills the "tls" object from an established session: version, cipher and
 * the certificate (subject, issuer, SANs, notAfter, days left, whether the
 * chain verifies against the system store and whether it names the host),
 * and adds the findings. */
static void st_tls_report(const st_run *run, st_conn *c, int port, json_t *tls)
{
    json_object_set_new(tls, "version", json_string(SSL_get_version(c->ssl)));
    const char *cipher = SSL_get_cipher_name(c->ssl);
    json_object_set_new(tls, "cipher", cipher ? json_string(cipher) : json_null());
    int ver = SSL_version(c->ssl);
    if (ver != TLS1_2_VERSION && ver != TLS1_3_VERSION)
        bc_finding_add(run->findings, BC_SEV_WARN, "smtp_tls_old_version",
                       "Port %d negotiated %s: enable TLS 1.2 and 1.3 on the server and retire older versions.",
                       port, SSL_get_version(c->ssl));
    X509 *cert = SSL_get1_peer_certificate(c->ssl);
    if (!cert) {
        json_object_set_new(tls, "verified", json_false());
        json_object_set_new(tls, "verify_error", json_string("no peer certificate"));
        json_object_set_new(tls, "name_matches", json_false());
        bc_finding_add(run->findings, BC_SEV_WARN, "smtp_cert_missing",
                       "Port %d sent no certificate: configure a certificate for the server's name.", port);
        return;
    }
    json_object_set_new(tls, "subject", st_name_json(X509_get_subject_name(cert)));
    json_object_set_new(tls, "issuer", st_name_json(X509_get_issuer_name(cert)));
    json_t *sans = json_array();
    GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; gens && sans && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS) {
            const ASN1_IA5STRING *s = g->d.dNSName;
            json_array_append_new(sans, st_text_json((const char *)ASN1_STRING_get0_data(s),
                                                     (size_t)ASN1_STRING_length(s)));
        } else if (g->type == GEN_IPADD) {
            const ASN1_OCTET_STRING *s = g->d.iPAddress;
            char ip[INET6_ADDRSTRLEN] = "";
            int len = ASN1_STRING_length(s);
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), ip, sizeof ip);
            if (ip[0])
                json_array_append_new(sans, json_string(ip));
        }
    }
    GENERAL_NAMES_free(gens);
    json_object_set_new(tls, "sans", sans ? sans : json_null());

    const ASN1_TIME *na = X509_get0_notAfter(cert);
    struct tm tm;
    int days = 0, secs = 0;
    if (na && ASN1_TIME_to_tm(na, &tm) == 1) {
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(tls, "not_after", json_string(when));
        if (ASN1_TIME_diff(&days, &secs, NULL, na) == 1) {
            if (days == 0 && secs < 0)
                days = -1;
            json_object_set_new(tls, "days_left", json_integer(days));
            if (days < 0 || (days == 0 && secs < 0))
                bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_cert_expired",
                               "The certificate on port %d expired on %s: renew it.", port, when);
            else if (days < ST_EXPIRY_WARN_DAYS)
                bc_finding_add(run->findings, BC_SEV_WARN, "smtp_cert_expiring",
                               "The certificate on port %d expires in %d day%s (%s): renew it soon.", port, days,
                               days == 1 ? "" : "s", when);
        }
    }
    long vr = SSL_get_verify_result(c->ssl);
    json_object_set_new(tls, "verified", json_boolean(vr == X509_V_OK));
    json_object_set_new(tls, "verify_error",
                        vr == X509_V_OK ? json_null() : json_string(X509_verify_cert_error_string(vr)));
    if (vr != X509_V_OK)
        bc_finding_add(run->findings, BC_SEV_WARN, "smtp_cert_unverified",
                       "The certificate on port %d does not verify against the system's trusted CAs (%s): use a "
                       "certificate from a public CA, or senders that check (MTA-STS, DANE) will not deliver.",
                       port, X509_verify_cert_error_string(vr));
    int match = run->host_is_ip ? X509_check_ip_asc(cert, run->host, 0)
                                : X509_check_host(cert, run->host, 0, 0, NULL);
    json_object_set_new(tls, "name_matches", json_boolean(match == 1));
    if (match != 1)
        bc_finding_add(run->findings, BC_SEV_WARN, "smtp_cert_name_mismatch",
                       "The certificate on port %d does not name %s: add it to the certificate's subject "
                       "alternative names.",
                       port, run->host);
    X509_free(cert);
}

/* Appends each word of s (separated by spaces) to the array. */
static void st_words(json_t *arr, const char *s)
{
    while (*s) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e && *e != ' ')
            e++;
        if (e > s)
            json_array_append_new(arr, st_text_json(s, (size_t)(e - s)));
        s = e;
    }
}

/* See smtptest.h. */
json_t *bc_smtptest_ehlo_json(const char *const *lines, size_t n)
{
    json_t *o = json_object();
    json_t *ext = json_array(), *auth = json_array(), *other = json_array();
    if (!o || !ext || !auth || !other) {
        json_decref(o);
        json_decref(ext);
        json_decref(auth);
        json_decref(other);
        return NULL;
    }
    json_object_set_new(o, "greeting", n > 0 ? st_text_json(lines[0], strlen(lines[0])) : json_null());
    json_object_set_new(o, "extensions", ext);
    json_object_set_new(o, "size", json_null());
    json_object_set_new(o, "auth", auth);
    static const char *const flags[] = { "pipelining", "starttls", "smtputf8",
                                         "8bitmime",   "chunking", "enhancedstatuscodes" };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        json_object_set_new(o, flags[i], json_false());
    bool have_auth = false;
    for (size_t i = 1; i < n; i++) {
        const char *line = lines[i];
        while (*line == ' ')
            line++;
        size_t kl = 0;
        while (line[kl] && line[kl] != ' ' && line[kl] != '=')
            kl++;
        if (kl == 0 || kl > 64)
            continue;
        char kw[65];
        for (size_t k = 0; k < kl; k++)
            kw[k] = (char)(line[k] >= 'a' && line[k] <= 'z' ? line[k] - 32 : line[k]);
        kw[kl] = '\0';
        const char *params = line + kl;
        if (*params == '=' || *params == ' ')
            params++;
        bool known = true;
        if (strcmp(kw, "SIZE") == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(params, &end, 10);
            bool num = end != params && errno == 0 && v <= (unsigned long long)INT64_MAX;
            json_object_set_new(o, "size", json_integer(num ? (json_int_t)v : 0));
        } else if (strcmp(kw, "AUTH") == 0) {
            /* "AUTH=LOGIN PLAIN" is the pre-standard form of the same; a server may send both. */
            if (!have_auth || line[kl] != '=') {
                if (have_auth)
                    json_array_clear(auth);
                st_words(auth, params);
            }
            have_auth = true;
        } else if (strcmp(kw, "PIPELINING") == 0)
            json_object_set_new(o, "pipelining", json_true());
        else if (strcmp(kw, "STARTTLS") == 0)
            json_object_set_new(o, "starttls", json_true());
        else if (strcmp(kw, "SMTPUTF8") == 0)
            json_object_set_new(o, "smtputf8", json_true());
        else if (strcmp(kw, "8BITMIME") == 0)
            json_object_set_new(o, "8bitmime", json_true());
        else if (strcmp(kw, "CHUNKING") == 0)
            json_object_set_new(o, "chunking", json_true());
        else if (strcmp(kw, "ENHANCEDSTATUSCODES") == 0)
            json_object_set_new(o, "enhancedstatuscodes", json_true());
        else
            known = false;
        bool dup = false;
        size_t j;
        json_t *v;
        json_array_foreach(ext, j, v)
            if (strcmp(json_string_value(v), kw) == 0)
                dup = true;
        if (!dup)
            json_array_append_new(ext, json_string(kw));
        if (!known)
            json_array_append_new(other, st_text_json(line, strlen(line)));
    }
    json_object_set_new(o, "other", other);
    return o;
}

/* The "ehlo" object of the reply just read on c (its kept lines, prefixes
 * "250-" removed). */
static json_t *st_ehlo_from_conn(const st_conn *c)
{
    const char *ptrs[ST_LINES_MAX];
    for (size_t i = 0; i < c->nlines; i++)
        ptrs[i] = strlen(c->lines[i]) >= 4 ? c->lines[i] + 4 : "";
    return bc_smtptest_ehlo_json(ptrs, c->nlines);
}

/* EHLO (HELO when EHLO is refused with 5xx). Sets "ehlo"-style key `key` on
 * the port object; false when the session cannot go on (error set). */
static bool st_ehlo(const st_run *run, st_conn *c, int port, json_t *pj, const char *key, json_t **ehlo_out)
{
    bc_smtp_reply r;
    *ehlo_out = NULL;
    st_rc rc = st_cmd(c, &r, "EHLO %s", run->helo);
    if (rc != ST_OK) {
        json_object_set_new(pj, "error", st_jsonf("EHLO: %s", c->error));
        return false;
    }
    if (r.code / 100 == 2) {
        json_t *e = st_ehlo_from_conn(c);
        if (e) {
            json_object_set_new(e, "helo_fallback", json_false());
            json_object_set_new(pj, key, e);
            *ehlo_out = e;
        }
        return true;
    }
    if (r.code / 100 != 5) {
        json_object_set_new(pj, "error", st_jsonf("EHLO refused: %d %s", r.code, r.text));
        return false;
    }
    bc_finding_add(run->findings, BC_SEV_WARN, "smtp_ehlo_refused",
                   "Port %d refused EHLO (%d %s) and speaks only old SMTP: enable ESMTP, or TLS and "
                   "extensions cannot be used.",
                   port, r.code, r.text);
    rc = st_cmd(c, &r, "HELO %s", run->helo);
    if (rc != ST_OK || r.code / 100 != 2) {
        json_object_set_new(pj, "error",
                            rc != ST_OK ? st_jsonf("HELO: %s", c->error)
                                        : st_jsonf("HELO refused: %d %s", r.code, r.text));
        return false;
    }
    json_t *e = bc_smtptest_ehlo_json(NULL, 0);
    if (e) {
        json_object_set_new(e, "greeting", st_text_json(r.text, strlen(r.text)));
        json_object_set_new(e, "helo_fallback", json_true());
        json_object_set_new(pj, key, e);
        *ehlo_out = e;
    }
    return true;
}

/* True when a 4xx reply to the relay test's RCPT refuses relaying as such
 * (a policy code x.7.1, or the word "relay"), rather than deferring for
 * another reason such as greylisting. */
static bool st_relay_denial(const bc_smtp_reply *r)
{
    if (r->code / 100 != 4)
        return false;
    if (strcmp(r->enhanced, "4.7.1") == 0)
        return true;
    return strcasestr(r->text, "relay") != NULL;
}

/* The open-relay test: an outside sender to an outside recipient, stopping
 * at RCPT (then RSET). Sets "open_relay" and "relay_reply". */
static void st_relay(const st_run *run, st_conn *c, int port, json_t *pj)
{
    bc_smtp_reply r;
    st_rc rc = st_cmd(c, &r, "MAIL FROM:<%s>", ST_RELAY_FROM);
    if (rc != ST_OK) {
        json_object_set_new(pj, "error", st_jsonf("MAIL FROM: %s", c->error));
        return;
    }
    if (r.code / 100 != 2) {
        json_object_set_new(pj, "relay_reply", st_jsonf("MAIL FROM: %d %s", r.code, r.text));
        bc_finding_add(run->findings, BC_SEV_INFO, "smtp_relay_untested",
                       "Port %d refused the outside sender (%d %s), so relaying could not be tested.", port,
                       r.code, r.text);
        return;
    }
    rc = st_cmd(c, &r, "RCPT TO:<%s>", ST_RELAY_TO);
    if (rc != ST_OK) {
        json_object_set_new(pj, "error", st_jsonf("RCPT TO: %s", c->error));
        return;
    }
    json_object_set_new(pj, "relay_reply",
                        st_jsonf("%d%s%s %s", r.code, r.enhanced[0] ? " " : "", r.enhanced, r.text));
    if (r.code / 100 == 2) {
        json_object_set_new(pj, "open_relay", json_true());
        bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_open_relay",
                       "Port %d accepted mail from <%s> to <%s>, neither of them its own: it is an open relay "
                       "and will be abused for spam and blocklisted. Relay only for your own domains and "
                       "authenticated users.",
                       port, ST_RELAY_FROM, ST_RELAY_TO);
    } else if (r.code / 100 == 5 || st_relay_denial(&r)) {
        /* Postfix denies relaying with 454 4.7.1 by default (defer_unauth_destination). */
        json_object_set_new(pj, "open_relay", json_false());
    } else {
        bc_finding_add(run->findings, BC_SEV_INFO, "smtp_relay_untested",
                       "Port %d answered the relay test with a temporary error (%d%s%s %s): no verdict.", port,
                       r.code, r.enhanced[0] ? " " : "", r.enhanced, r.text);
    }
    (void)st_cmd(c, &r, "RSET");
}

/* Tests one port and returns its JSON object (new reference; NULL on ENOMEM).
 * *connected tells whether the TCP connection was made. */
static json_t *st_port(const st_run *run, st_conn *c, int port, bool *connected)
{
    *connected = false;
    json_t *pj = json_pack("{s:i, s:b, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:n, s:{s:n}, s:n, s:n}", "port", port,
                           "connected", 0, "connect_ms", "error", "banner", "banner_host", "ptr",
                           "ptr_matches_banner", "ehlo", "ehlo_after_tls", "tls", "mode", "open_relay",
                           "relay_reply");
    if (!pj)
        return NULL;
    json_t *tls = json_object_get(pj, "tls");
    json_object_set_new(pj, "ptr", run->ptr[0] ? json_string(run->ptr) : json_null());

    char err[256];
    long t0 = bc_now_ms();
    c->fd = st_connect(run->addr, run->addr_len, port, NULL, run->connect_ms, err, sizeof err);
    if (c->fd < 0) {
        json_object_set_new(pj, "error", json_string(err));
        bc_severity sev = run->port_given ? BC_SEV_FAIL : port == 25 ? BC_SEV_WARN : BC_SEV_INFO;
        bc_finding_add(run->findings, sev, "smtp_port_closed", "Port %d cannot be reached (%s)%s", port, err,
                       port == 25 ? ": other servers deliver mail on port 25; open it if this host receives mail."
                                  : ".");
        return pj;
    }
    *connected = true;
    json_object_set_new(pj, "connected", json_true());
    json_object_set_new(pj, "connect_ms", json_integer(bc_now_ms() - t0));
    c->off = c->len = 0;
    bc_smtp_parser_init(&c->parser);
    c->cmd_ms = run->cmd_ms;

    bool implicit = port == 465;
    if (implicit) {
        json_object_set_new(tls, "mode", json_string("implicit"));
        if (!st_tls_handshake(c, run)) {
            json_object_set_new(tls, "error", json_string(c->error));
            json_object_set_new(pj, "error", st_jsonf("TLS: %s", c->error));
            bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_tls_failed",
                           "The TLS handshake on port %d failed (%s): port 465 expects TLS from the first byte.",
                           port, c->error);
            st_close(c);
            return pj;
        }
        st_tls_report(run, c, port, tls);
    }

    bc_smtp_reply r;
    st_rc rc = st_reply(c, &r);
    if (rc != ST_OK) {
        json_object_set_new(pj, "error", st_jsonf("banner: %s", c->error));
        bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_no_banner",
                       "Port %d accepted the connection but sent no "
                       "banner (%s).",
                       port, c->error);
        st_close(c);
        return pj;
    }
    json_object_set_new(pj, "banner",
                        json_pack("{s:i, s:o}", "code", r.code, "text", st_text_json(r.text, strlen(r.text))));
    size_t hl = strcspn(r.text, " ");
    if (hl > 0)
        json_object_set_new(pj, "banner_host", st_text_json(r.text, hl));
    if (r.code != 220) {
        json_object_set_new(pj, "error", st_jsonf("banner: %d %s", r.code, r.text));
        bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_banner_refused",
                       "Port %d greets with %d %s instead of 220: the server refuses sessions.", port, r.code,
                       r.text);
        st_quit(c);
        st_close(c);
        return pj;
    }
    if (hl > 0 && run->ptr[0]) {
        char bh[ST_NAME_MAX + 1];
        size_t n = hl < sizeof bh - 1 ? hl : sizeof bh - 1;
        memcpy(bh, r.text, n);
        bh[n] = '\0';
        bool same = st_same_host(bh, run->ptr);
        json_object_set_new(pj, "ptr_matches_banner", json_boolean(same));
        if (!same)
            bc_finding_add(run->findings, BC_SEV_WARN, "smtp_banner_ptr_mismatch",
                           "Port %d announces itself as %s but the address's reverse DNS is %s: make the banner "
                           "name and the PTR record the same host name.",
                           port, bh, run->ptr);
    }

    json_t *ehlo = NULL;
    if (!st_ehlo(run, c, port, pj, "ehlo", &ehlo)) {
        st_close(c);
        return pj;
    }
    bool offers_tls = ehlo && json_is_true(json_object_get(ehlo, "starttls"));
    size_t nauth = ehlo ? json_array_size(json_object_get(ehlo, "auth")) : 0;
    if (!implicit && nauth > 0)
        bc_finding_add(run->findings, BC_SEV_WARN, "smtp_auth_plaintext",
                       "Port %d offers AUTH before TLS: passwords can be sent in the clear. Offer AUTH only "
                       "after STARTTLS.",
                       port);
    if (!implicit && offers_tls) {
        json_object_set_new(tls, "mode", json_string("starttls"));
        rc = st_cmd(c, &r, "STARTTLS");
        if (rc != ST_OK) {
            json_object_set_new(pj, "error", st_jsonf("STARTTLS: %s", c->error));
            st_close(c);
            return pj;
        }
        if (r.code != 220) {
            json_object_set_new(tls, "error", st_jsonf("STARTTLS refused: %d %s", r.code, r.text));
            bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_starttls_refused",
                           "Port %d offers STARTTLS but refuses it (%d %s): fix the server's TLS setup.", port,
                           r.code, r.text);
        } else if (!st_tls_handshake(c, run)) {
            json_object_set_new(tls, "error", json_string(c->error));
            json_object_set_new(pj, "error", st_jsonf("TLS: %s", c->error));
            bc_finding_add(run->findings, BC_SEV_FAIL, "smtp_tls_failed",
                           "The TLS handshake after STARTTLS on port %d failed (%s): senders that try TLS will "
                           "fall back to plaintext or give up.",
                           port, c->error);
            st_close(c);
            return pj;
        } else {
            st_tls_report(run, c, port, tls);
            json_t *e2 = NULL;
            if (!st_ehlo(run, c, port, pj, "ehlo_after_tls", &e2)) {
                st_close(c);
                return pj;
            }
        }
    } else if (!implicit) {
        bc_finding_add(run->findings, port == 25 || port == 587 ? BC_SEV_WARN : BC_SEV_INFO, "smtp_no_starttls",
                       "Port %d does not offer STARTTLS: mail to it travels in the clear. Configure a "
                       "certificate and enable STARTTLS.",
                       port);
    }
    st_relay(run, c, port, pj);
    st_quit(c);
    st_close(c);
    return pj;
}

/* ---- the greeting alone (`bouncecheck doctor`) -------------------------------------- */

/* Opens a SOCKS5 tunnel on c->fd (connected to the proxy) towards
 * target:port, the handshake of socks5.h driven with blocking waits until
 * the deadline. Bytes the proxy passes on after its reply (the server's
 * first) are left in c->buf for the reply parser. false with why in err;
 * *at_proxy tells a failure of the proxy itself from one of the target
 * (REP != 0: the proxy could not reach it). */
static bool st_socks5(st_conn *c, const bc_proxy *px, const struct sockaddr *target, int port, long deadline,
                      bool *at_proxy, char *err, size_t errlen)
{
    struct sockaddr_storage to;
    memset(&to, 0, sizeof to);
    memcpy(&to, target, target->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    if (to.ss_family == AF_INET)
        ((struct sockaddr_in *)(void *)&to)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)(void *)&to)->sin6_port = htons((uint16_t)port);
    bc_socks5 s;
    unsigned char in[BC_SOCKS5_IN_MAX], out[BC_SOCKS5_OUT_MAX];
    size_t inlen = 0, outlen = 0;
    *at_proxy = true;
    bool ok = bc_socks5_begin(&s, px, (const struct sockaddr *)&to, out, &outlen);
    while (ok && s.state != BC_SOCKS5_OPEN) {
        if (outlen && st_write_all(c, (const char *)out, outlen, deadline) != ST_OK) {
            snprintf(s.error, sizeof s.error, "the proxy closed the connection");
            ok = false;
            break;
        }
        outlen = 0;
        size_t used = 0;
        bc_socks5_rc rc = inlen ? bc_socks5_feed(&s, in, inlen, &used, out, &outlen) : BC_SOCKS5_MORE;
        if (rc == BC_SOCKS5_ERROR) {
            *at_proxy = s.failed_at_proxy;
            ok = false;
        } else if (rc == BC_SOCKS5_OK) {
            memmove(in, in + used, inlen - used);
            inlen -= used;
        } else if (inlen == sizeof in || st_wait(c->fd, POLLIN, deadline) <= 0) {
            snprintf(s.error, sizeof s.error,
                     inlen == sizeof in ? "a reply longer than SOCKS5 allows" : "no answer in time");
            ok = false;
        } else {
            ssize_t n = recv(c->fd, in + inlen, sizeof in - inlen, 0);
            if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
                snprintf(s.error, sizeof s.error, "the proxy closed the connection");
                ok = false;
            } else if (n > 0) {
                inlen += (size_t)n;
            }
        }
    }
    if (!ok) {
        snprintf(err, errlen, "SOCKS5 proxy %s: %s", px->label, s.error);
        return false;
    }
    memcpy(c->buf, in, inlen);
    c->off = 0;
    c->len = inlen;
    return true;
}

/* See smtptest.h. */
int bc_smtptest_greeting(const struct sockaddr *addr, int port, const bc_smtptest_dial *how, bc_smtp_reply *reply,
                         long *connect_ms_out, char *err, size_t errlen)
{
    socklen_t len = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    st_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int connect_ms = how->connect_ms > 0 ? how->connect_ms : ST_CONNECT_MS;
    long t0 = bc_now_ms();
    const bc_proxy *px = how->proxy;
    if (px) {
        const struct sockaddr_storage *pa = &px->addr;
        int pport = ntohs(pa->ss_family == AF_INET ? ((const struct sockaddr_in *)(const void *)pa)->sin_port
                                                   : ((const struct sockaddr_in6 *)(const void *)pa)->sin6_port);
        c->fd = st_connect((const struct sockaddr *)pa, px->addr_len, pport, NULL, connect_ms, err, errlen);
        if (c->fd < 0) {
            char why[256];
            snprintf(why, sizeof why, "%s", err);
            snprintf(err, errlen, "SOCKS5 proxy %s: %s", px->label, why);
            free(c);
            return -2;
        }
        bool at_proxy = true;
        if (!st_socks5(c, px, addr, port, bc_now_ms() + connect_ms, &at_proxy, err, errlen)) {
            st_close(c);
            free(c);
            return at_proxy ? -2 : -1;
        }
    } else {
        c->fd = st_connect(addr, len, port, how->src, connect_ms, err, errlen);
        if (c->fd < 0) {
            free(c);
            return -1;
        }
    }
    if (connect_ms_out)
        *connect_ms_out = bc_now_ms() - t0;
    bc_smtp_parser_init(&c->parser);
    c->cmd_ms = how->greeting_ms > 0 ? how->greeting_ms : ST_COMMAND_MS;
    int rc = 0;
    if (st_reply(c, reply) != ST_OK) {
        snprintf(err, errlen, "connected, but %s", c->error);
        rc = -1;
    } else if (reply->code / 100 == 2) {
        st_quit(c); /* sent with MSG_NOSIGNAL: a server that hung up cannot kill us */
    }
    st_close(c);
    free(c);
    return rc;
}

/* ---- entry point ------------------------------------------------------------------ */

/* Picks the address to test: `host` itself when it is an IP literal, else
 * the first getaddrinfo() answer the private-address guard allows (any when
 * allow_private). */
static bc_error st_resolve(const char *host, bool allow_private, struct sockaddr_storage *ss, socklen_t *sl,
                           bool *is_ip, char *errbuf, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    struct in6_addr probe6;
    *is_ip = inet_pton(AF_INET, host, &probe6) == 1 || inet_pton(AF_INET6, host, &probe6) == 1;
    if (*is_ip)
        hints.ai_flags = AI_NUMERICHOST;
    int gr = getaddrinfo(host, NULL, &hints, &res);
    if (gr != 0 || !res) {
        if (res)
            freeaddrinfo(res);
        return bc_seterr(errbuf, errlen, BC_ENOTFOUND, "cannot resolve %s: %s", host,
                         gr ? gai_strerror(gr) : "no address");
    }
    const struct addrinfo *pick = NULL;
    const char *why = NULL;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
            continue;
        const char *range = bc_netsafe_check(a->ai_addr);
        if (!range || allow_private) {
            pick = a;
            break;
        }
        if (!why)
            why = range;
    }
    if (!pick) {
        freeaddrinfo(res);
        if (why)
            return bc_seterr(errbuf, errlen, BC_EINVAL,
                             "%s is a %s address: refused (pass --allow-private to test it anyway)", host, why);
        return bc_seterr(errbuf, errlen, BC_ENOTFOUND, "%s has no IPv4 or IPv6 address", host);
    }
    memcpy(ss, pick->ai_addr, pick->ai_addrlen);
    *sl = pick->ai_addrlen;
    freeaddrinfo(res);
    return BC_OK;
}

/* Tests the ports of `host` and writes the JSON report (see smtptest.h) to
 * *json_out, which the caller frees with free(). BC_OK whenever the test
 * ran, whatever it found; an error when the arguments are unusable, the host
 * does not resolve or is a private address without allow_private. SIGPIPE
 * is blocked in the calling thread while the test runs. */
bc_error bc_smtp_test(const char *host, const bc_smtp_test_options *o, char **json_out, char *errbuf,
                      size_t errlen)
{
    if (!json_out)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "no output pointer");
    *json_out = NULL;
    bc_smtp_test_options def = { 0 };
    if (!o)
        o = &def;
    if (!host || !st_name_ok(host))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "the host must be a name or an IP address");
    if (o->port < 0 || o->port > 65535)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "port %d is not a TCP port", o->port);
    char helo[ST_NAME_MAX + 1];
    if (o->helo)
        snprintf(helo, sizeof helo, "%s", o->helo);
    else
        bc_default_helo(helo, sizeof helo);
    if (!st_name_ok(helo) || (o->helo && strlen(o->helo) > ST_NAME_MAX))
        return bc_seterr(errbuf, errlen, BC_EINVAL, "unusable EHLO name '%.64s'", helo);

    st_run run = {
        .host = host,
        .helo = helo,
        .connect_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : ST_CONNECT_MS,
        .cmd_ms = o->command_timeout_ms > 0 ? o->command_timeout_ms : ST_COMMAND_MS,
        .port_given = o->port > 0,
    };
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    bc_error st = st_resolve(host, o->allow_private, &ss, &sl, &run.host_is_ip, errbuf, errlen);
    if (st != BC_OK)
        return st;
    run.addr = (const struct sockaddr *)&ss;
    run.addr_len = sl;
    char addr[NI_MAXHOST] = "";
    getnameinfo(run.addr, sl, addr, sizeof addr, NULL, 0, NI_NUMERICHOST);
    if (getnameinfo(run.addr, sl, run.ptr, sizeof run.ptr, NULL, 0, NI_NAMEREQD) != 0)
        run.ptr[0] = '\0';

    run.ssl_ctx = SSL_CTX_new(TLS_client_method());
    st_conn *c = calloc(1, sizeof *c);
    json_t *root = json_pack("{s:s, s:s, s:[], s:[]}", "host", host, "address", addr, "ports", "findings");
    if (!run.ssl_ctx || !c || !root) {
        SSL_CTX_free(run.ssl_ctx);
        free(c);
        json_decref(root);
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    }
    /* Report, never refuse: the chain and the name are checked after the
     * handshake and written into the result. */
    SSL_CTX_set_default_verify_paths(run.ssl_ctx);
    SSL_CTX_set_verify(run.ssl_ctx, SSL_VERIFY_NONE, NULL);
    c->fd = -1;
    run.findings = json_object_get(root, "findings");
    json_t *ports = json_object_get(root, "ports");

    /* A server closing while we write must not kill the caller. */
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
    sigset_t pending0;
    sigpending(&pending0);
    bool was_pending = sigismember(&pending0, SIGPIPE) == 1;

    if (!run.ptr[0])
        bc_finding_add(run.findings, BC_SEV_WARN, "smtp_ptr_missing",
                       "%s has no reverse DNS (PTR) name: many receivers reject mail from such addresses. Ask "
                       "the address's owner for a PTR record naming this server.",
                       addr);
    int nconnected = 0;
    size_t nports = o->port > 0 ? 1 : sizeof st_default_ports / sizeof st_default_ports[0];
    for (size_t i = 0; i < nports; i++) {
        int port = o->port > 0 ? o->port : st_default_ports[i];
        bool connected = false;
        json_t *pj = st_port(&run, c, port, &connected);
        if (pj)
            json_array_append_new(ports, pj);
        if (connected)
            nconnected++;
    }
    if (nconnected == 0)
        bc_finding_add(run.findings, BC_SEV_FAIL, "smtp_unreachable",
                       "No SMTP port of %s (%s) could be reached: check the firewall and that the mail server "
                       "runs.",
                       host, addr);

    if (!was_pending) {
        sigset_t pending;
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = { 0, 0 };
            sigtimedwait(&pipe_set, NULL, &zero);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);

    free(c);
    SSL_CTX_free(run.ssl_ctx);
    *json_out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!*json_out)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "out of memory");
    return BC_OK;
}

/*
 * socks5.h - SOCKS5 egress for the SMTP probe: the proxy URL and the client
 * side of the handshake (RFC 1928, with RFC 1929 username/password).
 *
 * Both halves are pure, with no I/O, so each has a unit test table and a
 * fuzz target:
 *
 *   bc_proxy_parse()         "socks5://[user:pass@]IP:PORT" -> bc_proxy
 *   bc_socks5_begin/feed()   the handshake as a state machine over bytes:
 *
 *       METHOD --(0x00)----------------------> CONNECT --(REP 0)--> OPEN
 *         \--(0x02)--> AUTH --(status 0)--/        \--(else)--> FAILED
 *
 * The SMTP probe (smtp_probe.c) drives the machine from its bufferevent: it
 * writes what begin/feed hand it and feeds what the proxy sends. Names are
 * never sent to the proxy: the verifier resolves the MX itself (and applies
 * its SSRF guard to the MX address), then asks the proxy to CONNECT to that
 * IP address (ATYP 1 or 4). That is why socks5h:// is refused.
 */
#ifndef BC_SOCKS5_H
#define BC_SOCKS5_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "bouncecheck.h"

#define BC_SOCKS5_FIELD_MAX 255 /* RFC 1929: UNAME and PASSWD are 1..255 bytes */
/* The longest message a proxy sends us: a CONNECT reply whose BND.ADDR is a
 * 255-byte name (4 + 1 + 255 + 2). We never look at more than this at once. */
#define BC_SOCKS5_IN_MAX 262
/* The longest message we send: the RFC 1929 request (1 + 1 + 255 + 1 + 255). */
#define BC_SOCKS5_OUT_MAX 513
/* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" and its NUL */
#define BC_SOCKS5_LABEL_MAX 56

/* A parsed proxy URL. Plain data: copy it freely. */
typedef struct bc_proxy {
    struct sockaddr_storage addr; /* the proxy's address, port set */
    socklen_t addr_len;
    char label[BC_SOCKS5_LABEL_MAX]; /* "10.0.0.5:1080", "[2001:db8::5]:1080": for messages;
                                           * never holds the credentials */
    bool auth;                       /* user and password given: offer method 0x02 */
    unsigned char user[BC_SOCKS5_FIELD_MAX], pass[BC_SOCKS5_FIELD_MAX]; /* percent-decoded */
    size_t user_len, pass_len;                                          /* 1..255 each when auth */
} bc_proxy;

/* Parses url ("socks5://[user:pass@]HOST:PORT", the scheme in any case, an
 * optional "/" at the end) into *out. HOST is an IPv4 address or an IPv6
 * address in brackets; user and password are percent-decoded (RFC 3986)
 * and must be 1 to 255 bytes each. BC_EINVAL with a message in errbuf
 * for anything else: socks5h:// and other schemes, a host name, a missing
 * or bad port, bad percent-encoding, a path. Pure. */
bc_error bc_proxy_parse(const char *url, bc_proxy *out, char *errbuf, size_t errlen);

/* Writes sa's address and port into buf as "1.2.3.4:25" or "[2001:db8::1]:25"
 * ("?" for other families). */
void bc_socks5_addr_label(const struct sockaddr *sa, char *buf, size_t len);

/* ---- the CONNECT reply ---------------------------------------------------------- */

typedef enum bc_socks5_rc {
    BC_SOCKS5_MORE = 0, /* the message is not complete yet: nothing consumed */
    BC_SOCKS5_OK,       /* one message consumed */
    BC_SOCKS5_ERROR,    /* the handshake failed: see the message */
} bc_socks5_rc;

typedef struct bc_socks5_reply {
    unsigned rep;                        /* REP: 0 succeeded, else the proxy's failure code (RFC 1928 section 6) */
    unsigned atyp;                       /* 1 IPv4, 3 domain name, 4 IPv6 */
    char bound[BC_SOCKS5_FIELD_MAX + 8]; /* BND.ADDR:BND.PORT, printable ("[v6]:port" for IPv6;
                                          * bytes of a name outside 0x21..0x7E as '?') */
    size_t len;                          /* bytes the reply took */
} bc_socks5_reply;

/* Reads a CONNECT reply from buf[0..len): MORE while incomplete, OK with
 * *out filled when REP is 0, ERROR with a message in err otherwise (not a
 * SOCKS5 reply, an unknown address type, or REP != 0, which is reported
 * from the first two bytes on, with out->rep set, as "refused the CONNECT:
 * host unreachable (REP 4)"). Never reads past len nor trusts a length
 * beyond what RFC 1928 allows. Pure. */
bc_socks5_rc bc_socks5_parse_reply(const unsigned char *buf, size_t len, bc_socks5_reply *out, char *err,
                                   size_t errlen);

/* A static name for a REP code ("host unreachable"); "unassigned code" past 8. */
const char *bc_socks5_rep_name(unsigned rep);

/* ---- the handshake --------------------------------------------------------------- */

typedef enum bc_socks5_state {
    BC_SOCKS5_METHOD = 0, /* greeting sent, waiting for the method the proxy picks */
    BC_SOCKS5_AUTH,       /* username/password sent, waiting for its status */
    BC_SOCKS5_CONNECT,    /* CONNECT sent, waiting for the reply */
    BC_SOCKS5_OPEN,       /* the tunnel is up: what follows is the server's */
    BC_SOCKS5_FAILED,
} bc_socks5_state;

typedef struct bc_socks5 {
    bc_socks5_state state;
    const bc_proxy *proxy;          /* the caller's, must outlive the handshake */
    struct sockaddr_storage target; /* where the tunnel goes */
    bc_socks5_reply reply;          /* the CONNECT reply (valid in OPEN; rep also on failure) */
    bool failed_at_proxy;           /* FAILED before the CONNECT reply or on a malformed one: the
                                          * proxy itself, not this target (REP != 0 is the target's) */
    char error[128];                /* why FAILED, without the "SOCKS5 proxy X: " prefix */
} bc_socks5;

/* Starts a handshake through px towards target (AF_INET or AF_INET6, port
 * set): writes the greeting into out (room for BC_SOCKS5_OUT_MAX bytes) and
 * its length into *outlen. false (state FAILED, error set) for another
 * address family. */
bool bc_socks5_begin(bc_socks5 *s, const bc_proxy *px, const struct sockaddr *target, unsigned char *out,
                     size_t *outlen);

/* Feeds in[0..len), the bytes the proxy sent that no earlier call consumed
 * (at most BC_SOCKS5_IN_MAX are looked at). Returns MORE (nothing consumed),
 * OK with *used bytes consumed and the next message to send in out (*outlen bytes)
 * (*outlen 0 once the state is OPEN: bytes after *used belong to the
 * tunnel), or ERROR (state FAILED, s->error set). */
bc_socks5_rc bc_socks5_feed(bc_socks5 *s, const unsigned char *in, size_t len, size_t *used, unsigned char *out,
                            size_t *outlen);

#endif

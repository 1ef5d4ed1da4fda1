/*
 * smtptest.h - the pieces of `bouncecheck smtp-test` (smtptest.c) that unit
 * tests reach. The public entry point is bc_smtp_test() in bouncecheck.h.
 *
 * smtp-test is a diagnostic: one host, one blocking connection per port, in
 * turn (25, 587, 465, 2525, or the port asked for). For each port it reports
 * the connect time, the banner, the EHLO extensions, TLS (STARTTLS, or
 * implicit TLS on 465) with the certificate, whether the banner's host name
 * is the address's reverse DNS name, and whether the server relays mail from
 * an outside sender to an outside recipient (asked up to RCPT, never DATA).
 * A host name with several addresses is tested on the first one the
 * private-address guard allows ("address" in the JSON).
 *
 * The JSON it returns:
 *   {"host", "address",
 *    "ports": [{"port", "connected", "connect_ms", "error",
 *               "banner": {"code", "text"} | null, "banner_host", "ptr", "ptr_matches_banner",
 *               "ehlo": {"greeting", "helo_fallback", "extensions": [...], "size", "auth": [...],
 *                        "pipelining", "starttls", "smtputf8", "8bitmime", "chunking",
 *                        "enhancedstatuscodes", "other": [...]} | null,
 *               "ehlo_after_tls": (the same) | null,
 *               "tls": {"mode": "starttls"|"implicit"|null, "error", "version", "cipher", "subject",
 *                       "issuer", "sans": [...], "not_after", "days_left", "verified",
 *                       "verify_error", "name_matches"},
 *               "open_relay": true|false|null, "relay_reply"}],
 *    "findings": [{"severity", "code", "message"}]}
 */
#ifndef BC_SMTPTEST_H
#define BC_SMTPTEST_H

#include <stddef.h>

#include <jansson.h>

/* The "ehlo" object of a reply to EHLO given as its lines without the
 * "250-"/"250 " prefixes: lines[0] is the greeting, each other line one
 * extension keyword with its parameters. Recognises SIZE n, PIPELINING,
 * STARTTLS, AUTH mechanisms (also the old "AUTH=" form), SMTPUTF8, 8BITMIME,
 * CHUNKING and ENHANCEDSTATUSCODES; other keywords are listed in "other".
 * Returns a new reference (NULL on ENOMEM). */
json_t *bc_smtptest_ehlo_json(const char *const *lines, size_t n);

struct sockaddr;
struct bc_smtp_reply;
struct bc_proxy;

/* How bc_smtptest_greeting reaches the server. */
typedef struct bc_smtptest_dial {
    const struct sockaddr *src;   /* the local address to connect from, or NULL: the OS picks */
    const struct bc_proxy *proxy; /* a SOCKS5 proxy to go through (socks5.h), or NULL (src is
                                    * not used with a proxy) */
    int connect_ms;               /* to the server or the proxy, and the proxy's handshake; 0: 10 s */
    int greeting_ms;              /* 0: 30 s */
} bc_smtptest_dial;

/* Connects to addr:port as `how` says and reads the server's greeting,
 * then says QUIT after a 2xx greeting and closes. Blocking. 0 with the
 * greeting in *reply and the time the connection took in *connect_ms_out
 * (may be NULL); -1 when the server could not be reached or did not greet
 * ("connect: Connection refused", "connected, but no reply within 30000
 * ms", the proxy's "host unreachable (REP 4)"), -2 when the proxy itself
 * failed (refused the connection, the handshake or the credentials), with
 * why in err. */
int bc_smtptest_greeting(const struct sockaddr *addr, int port, const bc_smtptest_dial *how,
                         struct bc_smtp_reply *reply, long *connect_ms_out, char *err, size_t errlen);

#endif

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

/* Writes the host's fully qualified name into buf[0..len): what an honest
 * MTA says in EHLO. The default HELO name of smtp-test and of the verifier
 * (verifier.c). */
void bc_default_helo(char *buf, size_t len);

#endif

/*
 * resolver_check.h - can the DNS resolver be believed when it says that a
 * domain does not exist?
 *
 * Behind a captive portal, a filtering proxy or a sandbox, a resolver may
 * answer NXDOMAIN to every name, SERVFAIL to every name, nothing at all,
 * or an invented address for names that do not exist (NXDOMAIN
 * redirection). Trusting such a resolver turns every address of a list
 * into "undeliverable". The check asks two questions that any honest
 * resolver on the Internet answers the same way:
 *
 *  1. NS of the root zone "." - must be a non-empty set of NS records.
 *     NXDOMAIN, NODATA, SERVFAIL, REFUSED or silence fail it.
 *  2. A of a name that cannot exist, "bouncecheck-nx-<20 random hex>.com"
 *     - must be NXDOMAIN. An address or a NOERROR without records fails
 *     it (the resolver invents names), and so does SERVFAIL / silence.
 *
 * Why a random label under "com" and not a special-use name: ".invalid",
 * ".test" and the like (RFC 6761) may be answered NXDOMAIN by the resolver
 * itself or a local stub without asking anyone, which proves nothing about
 * what it does with real names; NXDOMAIN redirectors rewrite answers for
 * names under real TLDs, which is what the verifier asks about, and "com"
 * is the TLD they all rewrite. The label is random (80 bits) so that no
 * cache, wildcard or earlier answer can stand in for the server's own, and
 * it starts with "bouncecheck-nx-" so an operator who sees it in a log
 * knows where it comes from.
 *
 * Both questions go out at once on a c-ares channel of the check's own,
 * on the caller's libevent base (ares_loop.h), with the servers and flags
 * the verifier's resolver uses (dns.c), so the check sees what the
 * verifier would see. Nothing is cached.
 */
#ifndef BC_RESOLVER_CHECK_H
#define BC_RESOLVER_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

#define BC_RCHECK_MSG_MAX 256     /* a check's message, NUL included */
#define BC_RCHECK_TIMEOUT_MS 2000 /* per try, when the caller gives 0 */
#define BC_RCHECK_TRIES 2         /* each server gets 2 tries: 2 s + 4 s */

typedef struct bc_rcheck bc_rcheck;

/* The outcome: ok, and one line for people that names the resolver
 * address(es) and says what went wrong ("resolver 10.0.0.1 answers
 * NXDOMAIN for the root zone's NS") or, when ok, what it answered. Valid
 * during the call only. */
typedef void (*bc_rcheck_cb)(void *arg, bool ok, const char *msg);

/* Starts a check on `base` asking `servers` ("IP[:PORT][,...]", NULL:
 * /etc/resolv.conf) with timeout_ms per try (0: BC_RCHECK_TIMEOUT_MS).
 * cb fires exactly once, from the loop (never inside this call), unless
 * the check is freed first. The caller owns the check and frees it with
 * bc_rcheck_free, which it may do inside cb. NULL with a message in err
 * when the check cannot be set up (a bad server list, no memory). */
bc_rcheck *bc_rcheck_start(struct event_base *base, const char *servers, int timeout_ms, bc_rcheck_cb cb,
                           void *arg, char *err, size_t errlen);

/* Cancels the check (cb does not fire any more) and frees it. Accepts
 * NULL. */
void bc_rcheck_free(bc_rcheck *c);

#endif

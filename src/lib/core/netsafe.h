/*
 * netsafe.h - which server addresses the verifier may connect to.
 *
 * A mail domain's owner controls its MX records, so an MX (or an implicit MX
 * address) can point anywhere: at 127.0.0.1:25, at a database on the user's
 * LAN, at a cloud metadata service. Unless the user passes --allow-private,
 * the verifier never connects to loopback, private, shared (CGNAT),
 * link-local, multicast, documentation, benchmarking or otherwise reserved
 * addresses (IANA special-purpose registries, RFC 6890 and successors).
 */
#ifndef BC_NETSAFE_H
#define BC_NETSAFE_H

#include <sys/socket.h>

#include "bouncecheck.h"

/* NULL when `sa` is a global unicast address we may contact; otherwise a
 * static name of the range it falls in ("loopback", "private", ...).
 * IPv4-mapped and NAT64 (64:ff9b::/96) IPv6 addresses are judged by the IPv4
 * address they carry. Unknown families are unsafe. Pure. */
BC_API const char *bc_netsafe_check(const struct sockaddr *sa);

#endif

/*
 * ipaddr.h - IP addresses in a sockaddr_storage: as text, compared, parsed.
 * Read by reverse DNS (dns/revdns.c), `bouncecheck dns` (health/dnscheck.c)
 * and `bouncecheck doctor` (health/doctor.c).
 */
#ifndef BC_IPADDR_H
#define BC_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The address of ss (IPv4 or IPv6, no port) as text into buf; "?" for
 * another family. Pure. */
void bc_addr_str(const struct sockaddr_storage *ss, char *buf, size_t size);

/* Whether a and b hold the same IP address (ports ignored). Pure. */
bool bc_addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b);

/* Parses an IPv4 or IPv6 address (no brackets, no port) into *out (port
 * 0); false when s is neither. Pure. */
bool bc_addr_parse_ip(const char *s, struct sockaddr_storage *out);

#endif

/*
 * identity.h - who this host says it is: the HELO name the verifier and
 * smtp-test (and doctor, which checks it) use when none is given.
 */
#ifndef BC_IDENTITY_H
#define BC_IDENTITY_H

#include <stddef.h>

/* Writes the host's fully qualified name into buf[0..len): what an honest
 * MTA says in EHLO. The default HELO name of smtp-test and of the verifier
 * (verifier.c). */
void bc_default_helo(char *buf, size_t len);

#endif

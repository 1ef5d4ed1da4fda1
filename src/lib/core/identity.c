/*
 * identity.c - the host's own name for HELO (see identity.h).
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/identity.h"

/* See identity.h. */
void bc_default_helo(char *buf, size_t len)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(buf, len, "%s", host);
    if (strchr(host, '.'))
        return;
    struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_family = AF_UNSPEC };
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) == 0 && res && res->ai_canonname)
        snprintf(buf, len, "%s", res->ai_canonname);
    if (res)
        freeaddrinfo(res);
}

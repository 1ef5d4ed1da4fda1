/*
 * ipaddr.c - IP addresses as text and compared (see ipaddr.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/ipaddr.h"

void bc_addr_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    const void *a = NULL;
    if (ss->ss_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
    else if (ss->ss_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
    if (!a || !inet_ntop(ss->ss_family, a, buf, (socklen_t)size))
        snprintf(buf, size, "?");
}

bool bc_addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)(const void *)a)->sin_addr,
                      &((const struct sockaddr_in *)(const void *)b)->sin_addr, 4) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)(const void *)b)->sin6_addr, 16) == 0;
    return false;
}

bool bc_addr_parse_ip(const char *s, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return false;
    if (inet_pton(AF_INET, s, &((struct sockaddr_in *)(void *)out)->sin_addr) == 1) {
        out->ss_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)(void *)out)->sin6_addr) == 1) {
        out->ss_family = AF_INET6;
        return true;
    }
    return false;
}

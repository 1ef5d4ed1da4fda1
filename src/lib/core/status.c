/*
 * status.c - the library's status messages and version.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/internal.h"

const char *bc_strerror(bc_error st)
{
    switch (st) {
    case BC_OK: return "success";
    case BC_ENOMEM: return "out of memory";
    case BC_EINVAL: return "invalid argument";
    case BC_EIO: return "input/output error";
    case BC_EDATA: return "malformed data";
    case BC_ENET: return "network transfer failed";
    case BC_EINTEGRITY: return "integrity check failed";
    case BC_ENOTFOUND: return "not found";
    case BC_ELIMIT: return "stopped at a limit";
    }
    return "unknown status";
}

const char *bc_version(void)
{
    return BC_VERSION_STRING;
}

bc_error bc_seterr(char *errbuf, size_t errlen, bc_error st, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

void bc_strf(char *buf, size_t buflen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, buflen, fmt, ap);
    va_end(ap);
}

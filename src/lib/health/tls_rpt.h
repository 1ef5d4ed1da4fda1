/*
 * tls_rpt.h - the TLS-RPT record parser behind the TLS-RPT health section
 * (tls_rpt.c), open to the unit tests. Nothing here is part of the public
 * API; the section itself is declared in health.h.
 */
#ifndef BC_TLS_RPT_H
#define BC_TLS_RPT_H

#include <stdbool.h>
#include <stddef.h>

/* A parsed _smtp._tls TXT record (RFC 8460 3). */
typedef struct bc_tlsrpt_record {
    size_t nrua;
    char rua[16][512]; /* the URIs, as written */
    bool rua_truncated;
} bc_tlsrpt_record;

/* Parses a TLS-RPT record: "v=TLSRPTv1", ';'-separated name=value fields,
 * "rua" required (a comma-separated list of URIs). Returns true when the
 * syntax holds (the URIs' schemes are judged by the caller); false with
 * why in err. */
bool bc_tls_rpt_parse_record(const char *text, bc_tlsrpt_record *out, char *err, size_t errlen);

/* True when `uri` is a reporting URI TLS-RPT allows: "mailto:" with an
 * address (local@domain) or "https://" with a host. */
bool bc_tls_rpt_uri_ok(const char *uri);

#endif

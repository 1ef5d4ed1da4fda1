/*
 * bimi.h - the BIMI record parser behind the BIMI health section (bimi.c),
 * open to the unit tests. Nothing here is part of the public API; the
 * section itself is declared in health.h.
 */
#ifndef BC_BIMI_H
#define BC_BIMI_H

#include <stdbool.h>
#include <stddef.h>

/* A parsed default._bimi TXT record. */
typedef struct bc_bimi_record {
    bool has_l, has_a; /* the tags were present (maybe empty) */
    char l[1024];      /* the logo's URL ("" = declined) */
    char a[1024];      /* the authority evidence (VMC) URL */
} bc_bimi_record;

/* Parses a BIMI record: "v=BIMI1" then ';'-separated tag=value pairs, the
 * tags l and a (unknown tags ignored). Returns true when the syntax holds
 * (schemes are judged by the caller); false with why in err. */
bool bc_bimi_parse_record(const char *text, bc_bimi_record *out, char *err, size_t errlen);

#endif

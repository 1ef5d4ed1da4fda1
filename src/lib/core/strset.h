/*
 * strset.h - a read-only set of strings kept in one sorted text blob.
 *
 * The blob is a run of '\n'-terminated lines sorted bytewise (LC_ALL=C) with
 * no duplicates: the embedded data arrays or an mmapped file. The set never
 * copies it; loading builds one array of line offsets, validating every line
 * and the order in the same pass, and lookups are binary searches.
 *
 * Two shapes of line are understood:
 *  - BC_STRSET_DOMAIN: a lower-case ASCII host name ("mailinator.com");
 *  - BC_STRSET_TSV:    "key<TAB>value", the key a lower-case ASCII local
 *    part, the value a lower-case word; lookups match the key only and keys
 *    must be unique.
 */
#ifndef BC_STRSET_H
#define BC_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bouncecheck.h"

typedef enum bc_strset_kind {
    BC_STRSET_DOMAIN = 0,
    BC_STRSET_TSV,
} bc_strset_kind;

/* Longest line the set accepts (a host name is at most 253 octets). */
#define BC_STRSET_LINE_MAX 255

typedef struct bc_strset {
    const char *data; /* the blob; not owned */
    size_t len;       /* bytes in the blob */
    uint32_t *off;    /* count + 1 line start offsets (owned); off[count] == len */
    size_t count;     /* lines */
    bc_strset_kind kind;
} bc_strset;

/* Indexes the blob data[0..len) (which must outlive the set) and checks that
 * every line is well formed and that the lines are strictly increasing.
 * `name` (e.g. the file path) is used in error messages, which name the line.
 * On failure returns BC_EDATA (or BC_ENOMEM) and leaves *s empty. Call
 * bc_strset_fini() in every case. */
bc_error bc_strset_init(bc_strset *s, const char *data, size_t len, bc_strset_kind kind, const char *name,
                        char *errbuf, size_t errlen);

/* Frees the offset array; the blob is not touched. Accepts a zeroed set. */
void bc_strset_fini(bc_strset *s);

/* The index of the line whose key equals key[0..keylen), or SIZE_MAX. For a
 * DOMAIN set the key is the whole line, for a TSV set the part before TAB. */
size_t bc_strset_find(const bc_strset *s, const char *key, size_t keylen);

/* True when the key is in the set. */
bool bc_strset_contains(const bc_strset *s, const char *key, size_t keylen);

/* Line i without its '\n' (pointer into the blob, not NUL-terminated);
 * *len gets its length. i must be < s->count. */
const char *bc_strset_line(const bc_strset *s, size_t i, size_t *len);

#endif

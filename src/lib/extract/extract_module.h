/*
 * extract_module.h - the interface between the extractor (extract_formats.c)
 * and its loadable module of heavy decoders (extract_module.c, built as
 * bouncecheck-formats.so): email messages and mbox files through GMime, PDF
 * through poppler-glib.
 *
 * Why a module: those two libraries pull in about 80 shared objects (GLib,
 * GIO, cairo, fontconfig, NSS, ...). Linked into the library, every run of
 * every command paid for mapping and relocating them (about 13 ms of a
 * 15 ms start). Loaded with dlopen() the first time a message or a PDF is
 * met, they cost nothing to everyone else.
 *
 * The module calls back into the library only through ex_host, so it works
 * the same whether the library is the shared one or a static copy linked
 * into a test.
 */
#ifndef BC_EXTRACT_MODULE_H
#define BC_EXTRACT_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bouncecheck.h"

#define EX_MODULE_ABI 2
#define EX_MODULE_FILE "bouncecheck-formats.so"
#define EX_MODULE_SYMBOL "bc_formats_module"

/* What the library gives the module. */
typedef struct ex_host {
    int abi;
    void (*kind)(bc_scanner *s, const char *kind);
    void (*feed)(bc_scanner *s, const char *buf, size_t len);
    /* Parses HTML held in memory and feeds it (see ex_html_mem). */
    bc_error (*html)(bc_scanner *s, const char *name, const char *buf, size_t len, const char *encoding, bool sync,
                     char *err, size_t errlen);
    /* The limits (extract_scanner.h): what the module must look at inside
     * its loops. charge counts bytes decoded or held outside the scanner and
     * CPU seconds spent outside this thread, then returns the limit that
     * stopped the source, or BC_EXTRACT_LIMIT_NONE (charge(s, 0, 0) only
     * looks); stop stops it at a limit seen another way; cut counts a line
     * cut at BC_EXTRACT_LINE_MAX; budget gives the seconds left and
     * max_seconds (< 0: no limit) and max_bytes (0: none). */
    bc_extract_limit (*charge)(bc_scanner *s, uint64_t bytes, double cpu_seconds);
    void (*stop)(bc_scanner *s, bc_extract_limit limit);
    void (*cut)(bc_scanner *s, unsigned long line);
    void (*budget)(const bc_scanner *s, double *seconds_left, double *max_seconds, uint64_t *max_bytes);
} ex_host;

/* What the module gives the library. Errors are written to err as
 * "NAME: what went wrong". */
typedef struct ex_module {
    int abi;
    /* An email message, or an mbox of them. fd is read from its current
     * position; head holds the headlen bytes already read from it (for a
     * pipe), which a seekable fd is rewound over instead. Lines over
     * BC_EXTRACT_LINE_MAX are cut as they are read. */
    bc_error (*mail)(const ex_host *h, bc_scanner *s, const char *name, int fd, const void *head, size_t headlen,
                     bool mbox, char *err, size_t errlen);
    /* A whole PDF in memory; the module takes buf (malloc'd) and frees it.
     * poppler runs in a child process the module kills at a limit. */
    bc_error (*pdf)(const ex_host *h, bc_scanner *s, const char *name, char *buf, size_t len, char *err,
                    size_t errlen);
} ex_module;

/* The module's one exported function. */
typedef const ex_module *(*ex_module_fn)(void);

#endif

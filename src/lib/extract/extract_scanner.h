/*
 * extract_scanner.h - the scanner's limits as its decoders see them
 * (extract.c keeps them per source; extract_formats.c and, through ex_host,
 * the module extract_module.c look at them inside their loops).
 *
 * Time is the CPU time of the thread that set the source, plus what a
 * decoder spent elsewhere (a decoding process) and handed in with
 * ex_scanner_charge. Bytes are counted per stage: the text fed to the
 * scanner, and separately what decoders inflate or hold on the way.
 */
#ifndef BC_EXTRACT_SCANNER_H
#define BC_EXTRACT_SCANNER_H

#include <stdint.h>

#include "bouncecheck.h"

/* Counts bytes decoded outside the scanner (against max_bytes) and CPU
 * seconds spent outside this thread (against max_seconds), then looks at
 * the clock: the limit that stopped the source (now or before), or
 * BC_EXTRACT_LIMIT_NONE. ex_scanner_charge(s, 0, 0) only checks. */
bc_extract_limit ex_scanner_charge(bc_scanner *s, uint64_t bytes, double cpu_seconds);
/* Stops the source at limit (a decoder that saw it reached another way,
 * such as a decoding process over its memory allowance). */
void ex_scanner_stop(bc_scanner *s, bc_extract_limit limit);
/* A line over BC_EXTRACT_LINE_MAX was cut (line: 1-based in the input). */
void ex_scanner_cut(bc_scanner *s, unsigned long line);
/* The source's limits: *seconds_left and *max_seconds (< 0: no limit) and
 * *max_bytes (0: none). */
void ex_scanner_budget(const bc_scanner *s, double *seconds_left, double *max_seconds, uint64_t *max_bytes);

#endif

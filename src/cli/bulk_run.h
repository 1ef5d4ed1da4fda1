/*
 * bulk_run.h - `bouncecheck verify -i FILE`: bulk verification of a list,
 * resumable, with a progress bar and a summary.
 */
#ifndef BC_CLI_BULK_RUN_H
#define BC_CLI_BULK_RUN_H

#include <stdbool.h>

#include "bouncecheck.h"
#include "bulk.h"

typedef struct bulk_opts {
    const char *input;    /* a path, or "-" for standard input */
    const char *output;   /* a path, "-" or NULL: standard output */
    const char *state;    /* NULL: beside the output (or the input) */
    const char *column;   /* --column, or NULL */
    bk_format in_format;  /* --input-format, or AUTO */
    bk_format out_format; /* --format, or AUTO */
    bool resume, quiet, offline;
    bool force;                  /* --force: go on when the DNS resolver fails its check */
    const char *db;              /* --db: a postgres:// URL; the rows are verified by the
                                * workers of that database and by this process */
    const bc_verify_options *vo; /* online settings (vo->trace: transcripts in JSON) */
    bc_ctx *ctx;
} bulk_opts;

/* Runs the job; returns the command's exit code (BC_EXIT_*, or 130/143
 * when interrupted by SIGINT/SIGTERM). Messages go to stderr. */
int bulk_run(const bulk_opts *o);

#endif

/*
 * bulk.h - bulk verification of address lists: the input reader, the
 * output writer and the resumable job state. Used by `bouncecheck verify
 * -i FILE` and (later) by the server's bulk jobs.
 *
 * Flow: the reader turns a file (CSV, TSV, plain text, NDJSON) into rows;
 * each row and each distinct normalised address goes into the state (a
 * SQLite file); the addresses are verified, grouped by domain; finally the
 * writer walks the rows in input order and appends the result columns.
 */
#ifndef BC_BULK_H
#define BC_BULK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bouncecheck.h"

/* ---- formats ------------------------------------------------------------ */
typedef enum bk_format {
    BK_FMT_AUTO = 0, /* input: sniff; output: from the file name or the input */
    BK_FMT_CSV,
    BK_FMT_TSV,
    BK_FMT_TEXT, /* input only: one address per line */
    BK_FMT_NDJSON,
    BK_FMT_JSON, /* output only: one JSON array */
} bk_format;

/* "csv", "tsv", "text", "ndjson", "json" ("auto" for BK_FMT_AUTO). */
const char *bk_format_name(bk_format f);
/* Parses a name as above (also "txt", "jsonl"); false when unknown. */
bool bk_format_parse(const char *name, bk_format *out);
/* The format a file name's extension implies (.csv .tsv .tab .txt .ndjson
 * .jsonl .json, case-insensitive), or BK_FMT_AUTO. */
bk_format bk_format_from_name(const char *path);

/* ---- reader -------------------------------------------------------------- */
#define BK_MAX_LINE_DEFAULT (1024u * 1024u) /* longest line (and CSV record) accepted */

typedef struct bk_reader bk_reader;

typedef struct bk_reader_opts {
    bk_format format;     /* BK_FMT_AUTO: sniff (extension, first bytes, delimiters) */
    const char *column;   /* --column: a header name (case-insensitive) or a 1-based
                         * number; NULL: find the email column by name, then by content */
    size_t max_line;      /* 0: BK_MAX_LINE_DEFAULT */
    bool column_optional; /* no email column found (and none named): open anyway,
                         * with bk_reader_email_column -1 and rows without email
                         * (a preview that lets the user pick the column) */
} bk_reader_opts;

/* One row as read. Everything points into the reader and is valid until the
 * next bk_reader_next() or bk_reader_free(). */
typedef struct bk_row {
    size_t nfields;
    const char *const *fields; /* NUL-terminated copies of the cells, exactly as in the
                                 * input (no trimming); for NDJSON one field: the line,
                                 * without its line end */
    const size_t *lens;        /* byte length of each field */
    const char *email;         /* the address found in the email cell: trimmed, with a
                                 * "mailto:" prefix and "Name <...>" wrapping removed;
                                 * NULL when the row has no such cell (short row, key
                                 * missing or not a string, a line that is not JSON) */
    size_t email_len;
    unsigned long line; /* 1-based physical line where the row starts */
    bool bad_utf8;      /* some cell is not valid UTF-8 */
} bk_row;

/* Opens a reader on `in` (read sequentially; never rewound, so a pipe
 * works). `name` is used in messages ("-" for standard input) and for the
 * extension. Reads ahead up to 64 KiB to sniff the format, the delimiter,
 * the header and the email column. Returns 0, or -1 with a message naming
 * the problem (and the line when there is one) in err: unreadable, empty,
 * binary data (NUL bytes), UTF-16/UTF-32, no email column, --column not
 * found. An .xlsx workbook (by name or zip signature) is converted first
 * (bk_xlsx_to_csv) and read as CSV; its errors come from there. On success *out is owned by the caller (bk_reader_free); the
 * caller still owns `in`. */
int bk_reader_open(bk_reader **out, FILE *in, const char *name, const bk_reader_opts *o, char *err, size_t errlen);

/* The next row: 1 with *row filled, 0 at the end of the input, -1 with a
 * message in err naming the line (a line or record longer than max_line,
 * NUL bytes, a read error, a quoted field never closed). After -1 the reader
 * is finished (further calls return -1 again). Blank lines are skipped. */
int bk_reader_next(bk_reader *r, bk_row *row, char *err, size_t errlen);

/* What was sniffed. */
bk_format bk_reader_format(const bk_reader *r); /* CSV, TSV, TEXT or NDJSON */
char bk_reader_delimiter(const bk_reader *r);   /* ',', ';', '\t', '|' (CSV/TSV); 0 otherwise */
/* The header row (NULL/0 when the input has none). For NDJSON: the keys of
 * the first object, in order. Valid until bk_reader_free. */
size_t bk_reader_header(const bk_reader *r, const char *const **fields);
/* The email column: 0-based index into the fields (CSV/TSV/TEXT), or -1 for
 * NDJSON (then bk_reader_email_key names the key). */
long bk_reader_email_column(const bk_reader *r);
const char *bk_reader_email_key(const bk_reader *r);
/* Rows returned so far. */
unsigned long bk_reader_rows(const bk_reader *r);
void bk_reader_free(bk_reader *r);

/* The address inside one cell: trims white space, drops a "mailto:"
 * prefix (and any "?query"), and takes the part inside <...> of
 * "Name <addr>". Returns a pointer into `cell` and sets *len. */
const char *bk_cell_address(const char *cell, size_t cell_len, size_t *len);

/* ---- result columns -------------------------------------------------------- */
/* What the writer needs of one result: the CSV columns, and the full JSON
 * object (bc_result_json) for JSON outputs. Strings owned by whoever filled
 * the struct. */
typedef struct bk_result_cols {
    bc_verdict_status status;
    const char *reason;
    int score;
    bc_tristate disposable, role, free_provider, accept_all;
    const char *suggestion;   /* NULL: none */
    const char *mx_host;      /* NULL: none */
    int smtp_code;            /* 0: none */
    const char *smtp_message; /* NULL: none */
    const char *json;         /* NULL unless the output is JSON or NDJSON */
} bk_result_cols;

/* The names of the appended columns, in order, and how many. */
extern const char *const bk_result_col_names[];
extern const size_t bk_result_ncols;

/* ---- writer ---------------------------------------------------------------- */
typedef struct bk_writer bk_writer;

typedef struct bk_writer_opts {
    bk_format format;          /* CSV, TSV, NDJSON or JSON */
    bk_format input_format;    /* what the rows came from */
    char input_delimiter;      /* for CSV output of CSV input: keep ',' or ';' (0: ',') */
    const char *const *header; /* input header (NULL: none) */
    size_t nheader;
    bool ndjson_extra;   /* NDJSON input whose later objects have keys the
                                * first lacks: CSV/TSV output gets an "extra" column */
    bool formula_escape; /* CSV/TSV: prefix ' to cells starting = + - @ TAB CR */
} bk_writer_opts;

/* Starts writing to `out` (the caller owns it): the header line for
 * CSV/TSV, "[" for JSON. NULL on ENOMEM or a write error. */
bk_writer *bk_writer_new(FILE *out, const bk_writer_opts *o);

/* Writes one row: its original fields (as bk_row.fields; for NDJSON input
 * the one field is the object's text), its input line, the row's own email
 * cell (patched into the JSON result's "email"; may be NULL) and its result.
 * CSV/TSV: the original cells then the result columns (true/false/empty for
 * tristates). NDJSON/JSON: {"line": N, "row": <object keyed by header, or
 * array of cells, or the NDJSON object>, "result": <result JSON>}; invalid
 * UTF-8 in cells becomes U+FFFD there. Returns 0, -1 on a write error or
 * ENOMEM. */
int bk_writer_row(bk_writer *w, const char *const *fields, const size_t *lens, size_t nfields, unsigned long line,
                  const char *email, size_t email_len, const bk_result_cols *res);

/* Finishes ("]" for JSON), flushes; 0 or -1 on a write error. Frees w. */
int bk_writer_finish(bk_writer *w);
/* Frees without finishing (after an error). Accepts NULL. */
void bk_writer_free(bk_writer *w);

/* Spreadsheet formula guard: true when a cell starting with these bytes
 * would be taken as a formula (= + - @ TAB CR first). */
bool bk_cell_is_formula(const char *cell, size_t len);

/* ---- XLSX input (xlsx.c) ------------------------------------------------------ */
/* Writes the first worksheet of the .xlsx workbook read from `in` (a pipe
 * works) to `out` as CSV: comma separated, LF line ends, quoted only where
 * needed; skipped columns become empty cells, empty rows are left out.
 * `name` is used in messages. Returns 0, or -1 with a message naming the
 * file in err: not a zip, an .xls or encrypted workbook, a damaged or
 * truncated archive, no worksheet, or past the bounds (256 MiB unpacked,
 * 64 MiB of shared strings, 16384 columns). The caller owns both streams;
 * on -1, `out` may hold part of the sheet. */
int bk_xlsx_to_csv(FILE *in, FILE *out, const char *name, char *err, size_t errlen);
/* The same, for a workbook whose first headlen bytes were already read
 * from `in` into `head` (the reader's read-ahead). */
int bk_xlsx_to_csv_head(const void *head, size_t headlen, FILE *in, FILE *out, const char *name, char *err,
                        size_t errlen);

#endif

/*
 * fuzz_bulk_reader.c - libFuzzer target for the bulk list reader
 * (src/bulk/reader.c and xlsx.c): what `bouncecheck verify -i FILE` and the
 * API's list uploads read. The first input byte picks the options (format,
 * a small max_line or the default, column_optional, a --column, the file
 * name's extension); the rest is the file, read from memory. Opening must
 * succeed or fail with a message; every row must keep bulk.h's promises
 * (NUL-terminated cells of the stated lengths, an email inside its row's
 * text, line numbers that never go back), and reading stops for good after
 * an error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk.h"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

#define MAX_ROWS 100000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 1024 * 1024)
        return 0;
    static const bk_format formats[] = { BK_FMT_AUTO,   BK_FMT_CSV,  BK_FMT_TSV,  BK_FMT_TEXT,
                                         BK_FMT_NDJSON, BK_FMT_AUTO, BK_FMT_AUTO, BK_FMT_AUTO };
    static const char *const names[] = { "list.csv", "list.txt", "-", "list.xlsx" };
    static const char *const columns[] = { NULL, "email", "2", NULL };
    unsigned mode = data[0];
    bk_reader_opts o = {
        .format = formats[mode & 7],
        .max_line = (mode & 8) ? 64 : 0,
        .column_optional = (mode & 16) != 0,
        .column = columns[(mode >> 5) & 3],
    };
    const char *name = names[(mode >> 6) & 3];

    /* a private copy with no slack, so ASan sees any read past the input */
    size_t n = size - 1;
    char *in = malloc(n ? n : 1);
    if (!in)
        return 0;
    if (n)
        memcpy(in, data + 1, n);
    FILE *f = n ? fmemopen(in, n, "rb") : fopen("/dev/null", "rb");
    if (!f) {
        free(in);
        return 0;
    }
    bk_reader *r = NULL;
    char err[512];
    err[0] = '\0';
    if (bk_reader_open(&r, f, name, &o, err, sizeof err) != 0) {
        require(r == NULL);
        require(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        fclose(f);
        free(in);
        return 0;
    }
    require(r != NULL);
    bk_format fmt = bk_reader_format(r);
    require(fmt == BK_FMT_CSV || fmt == BK_FMT_TSV || fmt == BK_FMT_TEXT || fmt == BK_FMT_NDJSON);
    char delim = bk_reader_delimiter(r);
    require(delim == 0 || delim == ',' || delim == ';' || delim == '\t' || delim == '|');
    const char *const *header = NULL;
    size_t nh = bk_reader_header(r, &header);
    for (size_t i = 0; i < nh; i++)
        require(header[i] != NULL);
    long col = bk_reader_email_column(r);
    require(col >= -1);
    require(col >= 0 || fmt == BK_FMT_NDJSON || o.column_optional);

    bk_row row;
    unsigned long last_line = 0, rows = 0;
    int rc;
    while ((rc = bk_reader_next(r, &row, err, sizeof err)) == 1 && rows < MAX_ROWS) {
        rows++;
        require(row.line >= 1 && row.line >= last_line);
        last_line = row.line;
        require(row.nfields == 0 || (row.fields && row.lens));
        for (size_t i = 0; i < row.nfields; i++) {
            require(row.fields[i] != NULL);
            require(row.fields[i][row.lens[i]] == '\0');
            size_t alen = 0;
            const char *a = bk_cell_address(row.fields[i], row.lens[i], &alen);
            require(a >= row.fields[i] && a + alen <= row.fields[i] + row.lens[i]);
        }
        if (row.email) {
            /* a copy of part of one of the row's cells (of a JSON string for NDJSON) */
            require(strlen(row.email) == row.email_len);
            bool inside = false;
            for (size_t i = 0; i < row.nfields && !inside; i++)
                inside = memmem(row.fields[i], row.lens[i], row.email, row.email_len) != NULL;
            require(inside || fmt == BK_FMT_NDJSON);
        }
        require(bk_reader_rows(r) == rows);
    }
    if (rc < 0) {
        require(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        require(bk_reader_next(r, &row, err, sizeof err) == -1);
    }
    bk_reader_free(r);
    fclose(f);
    free(in);
    return 0;
}

/*
 * table.c - aligned text tables for the terminal, safe against hostile
 * cell contents (escape sequences, invalid UTF-8, wide characters).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>
#include <uniwidth.h>

#include "cli.h"

struct cli_table {
    size_t ncols, nrows, cap;
    char **cells;  /* (nrows + 1) * ncols, row 0 is the header */
    size_t *width; /* display width of each column */
};

char *cli_sanitize(const char *s, size_t len)
{
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    const uint8_t *u = (const uint8_t *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        ucs4_t cp;
        int n = u8_mbtoucr(&cp, u + i, len - i);
        if (n > 0 && cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0)) {
            memcpy(out + o, s + i, (size_t)n);
            o += (size_t)n;
            i += (size_t)n;
        } else {
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[u[i] >> 4];
            out[o++] = hex[u[i] & 15];
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

cli_table *cli_table_new(size_t ncols, const char *const *headers)
{
    cli_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->width = calloc(ncols, sizeof *t->width);
    if (!t->width || !cli_table_add(t, headers)) {
        cli_table_free(t);
        return NULL;
    }
    t->nrows = 0; /* the header is row 0 and not counted */
    return t;
}

bool cli_table_add(cli_table *t, const char *const *cells)
{
    size_t row = t->cells ? t->nrows + 1 : 0;
    if ((row + 1) * t->ncols > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
        char **nc = realloc(t->cells, cap * sizeof *nc);
        if (!nc)
            return false;
        memset(nc + t->cap, 0, (cap - t->cap) * sizeof *nc);
        t->cells = nc;
        t->cap = cap;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        const char *v = cells[c] ? cells[c] : "-";
        char *safe = cli_sanitize(v, strlen(v));
        if (!safe) {
            for (size_t k = 0; k < c; k++) {
                free(t->cells[row * t->ncols + k]);
                t->cells[row * t->ncols + k] = NULL;
            }
            return false;
        }
        t->cells[row * t->ncols + c] = safe;
        size_t w = (size_t)u8_strwidth((const uint8_t *)safe, "UTF-8");
        if (w > t->width[c])
            t->width[c] = w;
    }
    if (row > 0)
        t->nrows++;
    return true;
}

void cli_table_print(const cli_table *t, FILE *out)
{
    for (size_t r = 0; r <= t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r * t->ncols + c];
            fputs(v, out);
            if (c + 1 < t->ncols) {
                size_t w = (size_t)u8_strwidth((const uint8_t *)v, "UTF-8");
                for (size_t pad = w; pad < t->width[c] + 2; pad++)
                    fputc(' ', out);
            }
        }
        fputc('\n', out);
    }
}

void cli_table_free(cli_table *t)
{
    if (!t)
        return;
    if (t->cells) {
        for (size_t i = 0; i < (t->nrows + 1) * t->ncols; i++)
            free(t->cells[i]);
        free(t->cells);
    }
    free(t->width);
    free(t);
}

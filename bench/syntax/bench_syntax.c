/*
 * bench_syntax.c - times bc_addr_parse() over a file of addresses.
 *
 * Usage: bench_syntax INPUT [VERDICTS]
 *
 * Reads INPUT (one address per line, '\n' line ends, as bench/syntax/gen.py
 * writes it) wholly into memory and splits it into lines first; only the loop
 * that calls bc_addr_parse() on every line is timed (CLOCK_MONOTONIC). Prints
 * one line:
 *
 *     bouncecheck <addresses> <valid> <seconds>
 *
 * When VERDICTS is given, writes there after timing one byte per address,
 * '1' when bc_addr.valid is true and '0' otherwise, so run.sh can compare the
 * classification with the peers'. Exit status 0 on success, 1 on any error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bouncecheck.h"

/* One line of the input: a view into the file buffer (not NUL-terminated). */
typedef struct line_ref {
    size_t off;
    size_t len;
} line_ref;

/* Reads the whole file at `path` into a malloc'd buffer. On success stores
 * the buffer (caller frees) and its length; returns 0. Returns -1 with a
 * message on stderr on failure. */
static int read_file(const char *path, char **buf_out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "bench_syntax: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1u << 20, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        fclose(f);
        fprintf(stderr, "bench_syntax: out of memory\n");
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if (cap > ((size_t)-1) / 2) {
                free(buf);
                fclose(f);
                fprintf(stderr, "bench_syntax: input too large\n");
                return -1;
            }
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                fprintf(stderr, "bench_syntax: out of memory\n");
                return -1;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "bench_syntax: read error on %s\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    *buf_out = buf;
    *len_out = len;
    return 0;
}

/* Splits buf[0..len) at '\n' into a malloc'd array of line views (caller
 * frees); a final line without '\n' counts, an empty tail after the last
 * '\n' does not. Returns the array and stores the count, NULL on failure. */
static line_ref *split_lines(const char *buf, size_t len, size_t *count_out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            n++;
        }
    }
    if (len > 0 && buf[len - 1] != '\n') {
        n++;
    }
    line_ref *lines = malloc((n > 0 ? n : 1) * sizeof *lines);
    if (lines == NULL) {
        fprintf(stderr, "bench_syntax: out of memory\n");
        return NULL;
    }
    size_t k = 0, start = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n') {
            lines[k].off = start;
            lines[k].len = i - start;
            k++;
            start = i + 1;
        }
    }
    if (start < len) {
        lines[k].off = start;
        lines[k].len = len - start;
        k++;
    }
    *count_out = k;
    return lines;
}

/* Seconds between two CLOCK_MONOTONIC readings. */
static double elapsed(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Writes n verdict bytes to `path`; returns 0, or -1 with a message. */
static int write_verdicts(const char *path, const char *verdicts, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "bench_syntax: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t put = fwrite(verdicts, 1, n, f);
    int bad = (put != n) | (fclose(f) != 0);
    if (bad) {
        fprintf(stderr, "bench_syntax: write error on %s\n", path);
        return -1;
    }
    return 0;
}

/* Entry point: load, time the parse loop, report. */
int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_syntax INPUT [VERDICTS]\n");
        return 1;
    }
    char *buf = NULL;
    size_t len = 0;
    if (read_file(argv[1], &buf, &len) != 0) {
        return 1;
    }
    size_t n = 0;
    line_ref *lines = split_lines(buf, len, &n);
    if (lines == NULL) {
        free(buf);
        return 1;
    }
    if (n == 0) {
        fprintf(stderr, "bench_syntax: %s has no addresses\n", argv[1]);
        free(lines);
        free(buf);
        return 1;
    }
    char *verdicts = malloc(n);
    if (verdicts == NULL) {
        fprintf(stderr, "bench_syntax: out of memory\n");
        free(lines);
        free(buf);
        return 1;
    }
    static bc_addr addr; /* ~2.6 KB: static keeps it off the stack, reused */

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        bc_addr_parse(buf + lines[i].off, lines[i].len, &addr);
        verdicts[i] = addr.valid ? '1' : '0';
        valid += addr.valid ? 1u : 0u;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    int rc = 0;
    if (argc == 3 && write_verdicts(argv[2], verdicts, n) != 0) {
        rc = 1;
    }
    if (rc == 0) {
        printf("bouncecheck %zu %zu %.6f\n", n, valid, elapsed(&t0, &t1));
        if (fflush(stdout) != 0) {
            rc = 1;
        }
    }
    free(verdicts);
    free(lines);
    free(buf);
    return rc;
}

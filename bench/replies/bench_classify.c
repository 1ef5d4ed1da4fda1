/*
 * bench_classify.c - times bc_smtp_classify() over the reply corpus.
 *
 * Usage: bench_classify CORPUS [ROUNDS]
 *
 * Reads CORPUS (tests/replies/corpus.tsv: tab-separated, '#' comment lines,
 * the fifth column holds the reply with its lines joined by the two
 * characters backslash-n) and parses every reply once with bc_smtp_parse(),
 * fed as the bytes a server sends (each line ended by CRLF). Only the loop
 * that classifies all parsed replies, ROUNDS times (default 200), is timed
 * (CLOCK_MONOTONIC), after one untimed warm-up round. Prints:
 *
 *     bench_classify: N replies, R rounds, mean X ns per reply (best round Y ns)
 *     parse: mean Z ns per reply (once, for reference)
 *     goal: < 5000 ns: met|not met
 *     classes: <class> n, ...
 *
 * Exit status 0 on success (whether or not the goal is met), 1 on any error
 * (unreadable file, a reply the parser rejects).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "smtp/smtp_reply.h"

#define GOAL_NS 5000.0

/* Nanoseconds between two CLOCK_MONOTONIC readings. */
static double elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* Turns the corpus's reply column into wire bytes: each "\n" (backslash,
 * n) becomes CRLF and a final CRLF is added. Returns a malloc'd buffer
 * (caller frees) and stores its length, NULL when out of memory. */
static char *wire_bytes(const char *col, size_t len, size_t *out_len)
{
    char *w = malloc(len * 2 + 3);
    if (w == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        if (col[i] == '\\' && i + 1 < len && col[i + 1] == 'n') {
            w[k++] = '\r';
            w[k++] = '\n';
            i++;
        } else {
            w[k++] = col[i];
        }
    }
    w[k++] = '\r';
    w[k++] = '\n';
    *out_len = k;
    return w;
}

/* Returns the start of tab-separated column `want` (0-based) of `line` and
 * stores its length; NULL when the line has fewer columns. */
static const char *column(const char *line, int want, size_t *len)
{
    const char *p = line;
    for (int c = 0; c < want; c++) {
        p = strchr(p, '\t');
        if (p == NULL)
            return NULL;
        p++;
    }
    const char *end = strchr(p, '\t');
    *len = end ? (size_t)(end - p) : strcspn(p, "\r\n");
    return p;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_classify CORPUS [ROUNDS]\n");
        return 1;
    }
    long rounds = argc == 3 ? strtol(argv[2], NULL, 10) : 200;
    if (rounds < 1) {
        fprintf(stderr, "bench_classify: ROUNDS must be a positive integer\n");
        return 1;
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL) {
        fprintf(stderr, "bench_classify: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    size_t cap = 1024, n = 0;
    bc_smtp_reply *replies = malloc(cap * sizeof *replies);
    bc_smtp_parser *parser = malloc(sizeof *parser);
    if (replies == NULL || parser == NULL) {
        fprintf(stderr, "bench_classify: out of memory\n");
        free(replies);
        free(parser);
        fclose(f);
        return 1;
    }
    char *line = NULL;
    size_t line_cap = 0;
    double parse_ns = 0;
    int rc = 0;
    while (getline(&line, &line_cap, f) != -1) {
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
            continue;
        size_t clen;
        const char *col = column(line, 4, &clen);
        if (col == NULL) {
            fprintf(stderr, "bench_classify: a line with fewer than 5 columns: %.40s\n", line);
            rc = 1;
            break;
        }
        size_t wlen;
        char *w = wire_bytes(col, clen, &wlen);
        if (w == NULL) {
            fprintf(stderr, "bench_classify: out of memory\n");
            rc = 1;
            break;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        bc_smtp_parser_init(parser);
        size_t used = 0;
        bc_smtp_parse_rc prc = bc_smtp_parse(parser, w, wlen, &used);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        parse_ns += elapsed_ns(&t0, &t1);
        free(w);
        if (prc != BC_SMTP_PARSE_DONE || used != wlen) {
            fprintf(stderr, "bench_classify: the parser does not take the reply %.60s (%s)\n", col,
                    prc == BC_SMTP_PARSE_ERROR ? parser->error : "incomplete");
            rc = 1;
            break;
        }
        if (n == cap) {
            bc_smtp_reply *nr = realloc(replies, cap * 2 * sizeof *replies);
            if (nr == NULL) {
                fprintf(stderr, "bench_classify: out of memory\n");
                rc = 1;
                break;
            }
            replies = nr;
            cap *= 2;
        }
        replies[n++] = parser->reply;
    }
    free(line);
    fclose(f);
    free(parser);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "bench_classify: %s holds no replies\n", argv[1]);
        rc = 1;
    }
    if (rc != 0) {
        free(replies);
        return rc;
    }

    unsigned hist[16] = { 0 };
    volatile unsigned sink = 0;
    for (size_t i = 0; i < n; i++) { /* warm-up, and the class histogram */
        bc_smtp_class c = bc_smtp_classify(&replies[i]);
        hist[(unsigned)c & 15u]++;
    }
    double total = 0, best = 0;
    for (long r = 0; r < rounds; r++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (size_t i = 0; i < n; i++)
            sink += (unsigned)bc_smtp_classify(&replies[i]);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ns = elapsed_ns(&t0, &t1);
        total += ns;
        if (r == 0 || ns < best)
            best = ns;
    }
    (void)sink; /* only there so that the calls are not optimised away */
    double mean = total / ((double)rounds * (double)n);
    printf("bench_classify: %zu replies, %ld rounds, mean %.1f ns per reply (best round %.1f ns)\n", n, rounds,
           mean, best / (double)n);
    printf("parse: mean %.1f ns per reply (once, for reference)\n", parse_ns / (double)n);
    printf("goal: < %.0f ns: %s\n", GOAL_NS, mean < GOAL_NS ? "met" : "not met");
    printf("classes:");
    for (unsigned c = 0; c < 16; c++)
        if (hist[c])
            printf(" %s %u", bc_smtp_class_name((bc_smtp_class)c), hist[c]);
    printf("\n");
    free(replies);
    return 0;
}

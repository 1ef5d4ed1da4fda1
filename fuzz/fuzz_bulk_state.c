/*
 * fuzz_bulk_state.c - libFuzzer target for the packed result a worker hands
 * to the coordinator (src/bulk/state.c, bk_state_store_packed): "columns
 * JSON\nresult JSON", or the older one object with the JSON in its "json".
 * The input is that text (up to its first NUL, as the store holds it),
 * stored as the result of the one address of a job state in memory
 * (":memory:", one row "a@example.com"), read back by bk_state_rows and
 * written by the CSV, NDJSON and JSON writers, as an export does; every
 * input is rolled back, so each starts from the same state.
 *
 * A refused text must leave the address without a result and say why; a
 * stored one must read back with a known status, its reason, and the
 * result JSON exactly as given, and every writer must take it (the JSON
 * outputs then parse, their "result" an object with the row's email).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bulk.h"
#include "state.h"

#define EMAIL "a@example.com"

/* Aborts (a finding for libFuzzer) when cond is false. */
static void require(int cond)
{
    if (!cond)
        abort();
}

/* The state every input starts from: one row whose address is id 1. */
static bk_state *state(void)
{
    static bk_state *st;
    if (st)
        return st;
    char err[256];
    require(bk_state_open(&st, ":memory:", err, sizeof err) == 0);
    static const char *const fields[] = { EMAIL };
    static const size_t lens[] = { sizeof EMAIL - 1 };
    bk_row row = {
        .fields = fields, .lens = lens, .nfields = 1, .line = 2, .email = EMAIL, .email_len = sizeof EMAIL - 1
    };
    require(bk_state_begin(st) == 0 && bk_state_add_row(st, 0, &row, err, sizeof err) == 0 &&
            bk_state_commit(st) == 0);
    require(bk_state_done(st, 1) == 0);
    return st;
}

typedef struct readback {
    const char *want_json; /* the result JSON as given, NULL when none */
    int rows;
} readback;

/* Writes row with a writer of format f; returns the output (caller frees). */
static char *write_row(bk_format f, const bk_out_row *row)
{
    char *out = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&out, &len);
    require(mf != NULL);
    static const char *const header[] = { "email" };
    bk_writer_opts o = {
        .format = f, .input_format = BK_FMT_CSV, .header = header, .nheader = 1, .formula_escape = true
    };
    bk_writer *w = bk_writer_new(mf, &o);
    require(w != NULL);
    require(bk_writer_row(w, row->fields, row->lens, row->nfields, row->line, row->email, row->email_len,
                          &row->res) == 0);
    require(bk_writer_finish(w) == 0);
    require(fclose(mf) == 0);
    return out;
}

static int on_row(void *arg, const bk_out_row *row)
{
    readback *rb = arg;
    rb->rows++;
    const bk_result_cols *c = &row->res;
    require(c->status <= 3);
    require(c->reason != NULL);
    require((rb->want_json == NULL) == (c->json == NULL));
    require(!c->json || strcmp(c->json, rb->want_json) == 0);
    require(row->email && row->email_len == sizeof EMAIL - 1);

    free(write_row(BK_FMT_CSV, row));
    static const bk_format jf[] = { BK_FMT_NDJSON, BK_FMT_JSON };
    for (size_t i = 0; i < sizeof jf / sizeof jf[0]; i++) {
        char *out = write_row(jf[i], row);
        json_error_t je;
        json_t *doc = json_loads(out, 0, &je);
        require(doc != NULL);
        json_t *o = jf[i] == BK_FMT_JSON ? json_array_get(doc, 0) : doc;
        json_t *res = json_object_get(o, "result");
        require(json_is_object(res));
        require(strcmp(json_string_value(json_object_get(res, "email")), EMAIL) == 0);
        json_decref(doc);
        free(out);
    }
    return 0;
}

/* The result JSON a packed text carries as store_packed reads it, NULL
 * when it is not a packed result (then it must be refused). */
static char *expected_json(const char *packed, bool *valid)
{
    json_error_t je;
    json_t *o = json_loads(packed, JSON_DISABLE_EOF_CHECK, &je);
    char *full = NULL;
    *valid = false;
    if (o && packed[je.position] == '\n') {
        const char *f = packed + je.position + 1;
        size_t fl = strlen(f);
        *valid = fl >= 2 && f[0] == '{' && f[fl - 1] == '}';
        full = *valid ? strdup(f) : NULL;
    } else if (o && packed[je.position] == '\0') {
        *valid = true;
        const char *f = json_string_value(json_object_get(o, "json"));
        full = f ? strdup(f) : NULL;
    }
    const json_t *status = json_object_get(o, "status");
    *valid = *valid && json_is_object(o) && json_is_integer(status) && json_integer_value(status) >= 0 &&
             json_integer_value(status) <= 3 && json_is_string(json_object_get(o, "reason"));
    json_decref(o);
    return full;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One fuzz input: see the file comment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024)
        return 0;
    bk_state *st = state();
    /* a private copy with no slack, so ASan sees any read past the text */
    size_t n = strnlen((const char *)data, size);
    char *packed = malloc(n + 1);
    if (!packed)
        return 0;
    memcpy(packed, data, n);
    packed[n] = '\0';

    bool valid;
    char *want = expected_json(packed, &valid);
    char err[256];
    err[0] = '\0';
    require(bk_state_begin(st) == 0);
    int rc = bk_state_store_packed(st, 1, packed, err, sizeof err);
    if (rc != 0) {
        require(rc == -1 && !valid);
        require(memchr(err, '\0', sizeof err) && strstr(err, "address 1") != NULL);
        require(bk_state_done(st, 1) == 0);
    } else {
        require(valid);
        require(bk_state_done(st, 1) == 1);
        readback rb = { .want_json = want };
        int64_t missing = -1;
        require(bk_state_rows(st, on_row, &rb, &missing) == 0);
        require(rb.rows == 1 && missing == 0);
    }
    require(bk_state_rollback(st) == 0);
    free(want);
    free(packed);
    return 0;
}

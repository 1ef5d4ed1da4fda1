/*
 * test_bulk_writer.c - the bulk output writer (src/bulk/writer.c): exact
 * CSV/TSV bytes (header, quoting, delimiters, line ends, padding, formula
 * guard, NDJSON input), NDJSON/JSON outputs read back with jansson, and
 * write errors.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bulk.h"
#include "tap.h"

#define NF(a) (sizeof(a) / sizeof((a)[0]))

/* One input row for run(). */
typedef struct trow {
    size_t n;
    const char *f[6];
    const char *email; /* NULL: none */
    const bk_result_cols *res;
} trow;

static const bk_result_cols res_ok = {
    .status = BC_STATUS_DELIVERABLE,
    .reason = "accepted_email",
    .score = 95,
    .disposable = BC_NO,
    .role = BC_YES,
    .free_provider = BC_UNKNOWN,
    .accept_all = BC_NO,
    .suggestion = NULL,
    .mx_host = "mx.example.com",
    .smtp_code = 250,
    .smtp_message = "2.1.5 OK",
    .json = NULL,
};
#define OK_CELLS "deliverable,accepted_email,95,false,true,,false,,mx.example.com,250,2.1.5 OK"

static const bk_result_cols res_bad = {
    .status = BC_STATUS_UNDELIVERABLE,
    .reason = "mailbox_not_found",
    .score = 0,
    .disposable = BC_UNKNOWN,
    .role = BC_UNKNOWN,
    .free_provider = BC_YES,
    .accept_all = BC_UNKNOWN,
    .suggestion = "b@gmail.com",
    .mx_host = NULL,
    .smtp_code = 0,
    .smtp_message = NULL,
    .json = "{\"email\":\"WRONG@x.com\",\"status\":\"undeliverable\","
            "\"reason\":\"mailbox_not_found\",\"score\":0}",
};
#define BAD_CELLS "undeliverable,mailbox_not_found,0,,,true,,b@gmail.com,,,"

#define HDR_RES                                                               \
    "status,reason,score,disposable,role,free,accept_all,suggestion,mx_host," \
    "smtp_code,smtp_message"

/* Writes rows through a writer into a memory stream. Returns the bytes
 * (caller frees; NULL on a writer failure, with *rc set to the failing
 * call's -1). */
static char *run(const bk_writer_opts *o, const trow *rows, size_t nrows, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *rc = -1;
    if (!f)
        return NULL;
    bk_writer *w = bk_writer_new(f, o);
    int r = w ? 0 : -1;
    for (size_t i = 0; r == 0 && i < nrows; i++) {
        size_t lens[6];
        for (size_t j = 0; j < rows[i].n; j++)
            lens[j] = strlen(rows[i].f[j]);
        r = bk_writer_row(w, rows[i].f, lens, rows[i].n, (unsigned long)(i + 2), rows[i].email,
                          rows[i].email ? strlen(rows[i].email) : 0, rows[i].res);
    }
    if (r == 0)
        r = bk_writer_finish(w);
    else
        bk_writer_free(w);
    fclose(f);
    *rc = r;
    if (r != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Runs and compares the exact bytes. */
static void expect(const char *what, const bk_writer_opts *o, const trow *rows, size_t nrows, const char *want)
{
    int rc;
    char *got = run(o, rows, nrows, &rc);
    CHECK(got && strcmp(got, want) == 0, "%s", what);
    if (!got || strcmp(got, want) != 0) {
        tap_diag("got:  [%s] rc=%d", got ? got : "(null)", rc);
        tap_diag("want: [%s]", want);
    }
    free(got);
}

static void test_columns(void)
{
    CHECK(bk_result_ncols == 11, "eleven result columns");
    static const char *const want[] = { "status",     "reason",     "score",   "disposable", "role",        "free",
                                        "accept_all", "suggestion", "mx_host", "smtp_code",  "smtp_message" };
    int same = bk_result_ncols == NF(want);
    for (size_t i = 0; same && i < NF(want); i++)
        same = strcmp(bk_result_col_names[i], want[i]) == 0;
    CHECK(same, "result column names in order");
    CHECK(bk_cell_is_formula("=SUM(A1)", 8) && bk_cell_is_formula("+1 555", 6) && bk_cell_is_formula("-x", 2) &&
              bk_cell_is_formula("@x", 2) && bk_cell_is_formula("\tx", 2) && bk_cell_is_formula("\rx", 2),
          "formula starts: = + - @ TAB CR");
    CHECK(!bk_cell_is_formula("a=b", 3) && !bk_cell_is_formula("", 0) && !bk_cell_is_formula(" =x", 3) &&
              !bk_cell_is_formula("=", 0),
          "not formulas: a=b, empty, leading space, zero length");
}

static void test_csv(void)
{
    static const char *const hdr[] = { "email", "name", "note" };
    bk_writer_opts o = {
        .format = BK_FMT_CSV, .input_format = BK_FMT_CSV, .input_delimiter = ',', .header = hdr, .nheader = 3
    };
    trow rows[] = {
        { 3, { "a@x.com", "Smith, John", "say \"hi\"" }, "a@x.com", &res_ok },
        { 3, { "b@x.com", " lead", "two\nlines" }, "b@x.com", &res_bad },
        { 3, { "c@x.com", "trail ", "cr\rhere" }, "c@x.com", &res_ok },
        { 3, { "d@x.com", "semi;colon", "" }, "d@x.com", &res_ok },
    };
    expect("CSV: header + result columns, quoting only where needed, CRLF", &o, rows, NF(rows),
           "email,name,note," HDR_RES "\r\n"
           "a@x.com,\"Smith, John\",\"say \"\"hi\"\"\"," OK_CELLS "\r\n"
           "b@x.com,\" lead\",\"two\nlines\"," BAD_CELLS "\r\n"
           "c@x.com,\"trail \",\"cr\rhere\"," OK_CELLS "\r\n"
           "d@x.com,semi;colon,," OK_CELLS "\r\n");

    o.input_delimiter = ';';
    trow semi[] = {
        { 2, { "a@x.com", "Smith, John" }, NULL, &res_ok },
        { 2, { "b@x.com", "x;y" }, NULL, &res_ok },
    };
    o.nheader = 2;
    expect("CSV: ';' delimiter of the input kept", &o, semi, NF(semi),
           "email;name;status;reason;score;disposable;role;free;accept_all;suggestion;"
           "mx_host;smtp_code;smtp_message\r\n"
           "a@x.com;Smith, John;deliverable;accepted_email;95;false;true;;false;;"
           "mx.example.com;250;2.1.5 OK\r\n"
           "b@x.com;\"x;y\";deliverable;accepted_email;95;false;true;;false;;"
           "mx.example.com;250;2.1.5 OK\r\n");

    bk_writer_opts text = { .format = BK_FMT_CSV, .input_format = BK_FMT_TEXT, .input_delimiter = ';' };
    trow lines[] = { { 1, { "a@x.com" }, NULL, &res_ok }, { 1, { "b@x.com" }, NULL, &res_bad } };
    expect("CSV from text input: ',' (not the ignored ';'), no header line", &text, lines, NF(lines),
           "a@x.com," OK_CELLS "\r\nb@x.com," BAD_CELLS "\r\n");

    bk_writer_opts nohdr = { .format = BK_FMT_CSV, .input_format = BK_FMT_CSV };
    trow ragged[] = {
        { 3, { "a@x.com", "1", "2" }, NULL, &res_ok },
        { 1, { "b@x.com" }, NULL, &res_ok },
        { 4, { "c@x.com", "1", "2", "3" }, NULL, NULL },
    };
    expect("CSV without header: short row padded to the first row's width, long row kept, "
           "no result gives empty cells",
           &nohdr, ragged, NF(ragged),
           "a@x.com,1,2," OK_CELLS "\r\n"
           "b@x.com,,," OK_CELLS "\r\n"
           "c@x.com,1,2,3,,,,,,,,,,,\r\n");
}

static void test_tsv(void)
{
    static const char *const hdr[] = { "email", "name" };
    bk_writer_opts o = {
        .format = BK_FMT_TSV, .input_format = BK_FMT_CSV, .input_delimiter = ';', .header = hdr, .nheader = 2
    };
    trow rows[] = {
        { 2, { "a@x.com", "Smith, John" }, NULL, &res_ok },
        { 2, { "b@x.com", "tab\there" }, NULL, &res_bad },
    };
    expect("TSV: tab delimiter, LF, comma raw, tab quoted", &o, rows, NF(rows),
           "email\tname\tstatus\treason\tscore\tdisposable\trole\tfree\taccept_all\t"
           "suggestion\tmx_host\tsmtp_code\tsmtp_message\n"
           "a@x.com\tSmith, John\tdeliverable\taccepted_email\t95\tfalse\ttrue\t\tfalse\t\t"
           "mx.example.com\t250\t2.1.5 OK\n"
           "b@x.com\t\"tab\there\"\tundeliverable\tmailbox_not_found\t0\t\t\ttrue\t\t"
           "b@gmail.com\t\t\t\n");
}

static void test_formula(void)
{
    static const char *const hdr[] = { "email", "=HDR", "c", "d", "e" };
    bk_writer_opts o = {
        .format = BK_FMT_CSV, .input_format = BK_FMT_CSV, .header = hdr, .nheader = 5, .formula_escape = true
    };
    bk_result_cols r = res_ok;
    r.smtp_message = "-ERR no";
    r.suggestion = "@evil";
    trow rows[] = {
        { 5, { "a@x.com", "=SUM(A1)", "+1 555", "-x", "@x" }, NULL, &r },
        { 5, { "b@x.com", "=1,2", "\tt", "ok", "a=b" }, NULL, &res_ok },
    };
    expect("CSV formula escape: cells, header and result cells; quoted when needed", &o, rows, NF(rows),
           "email,'=HDR,c,d,e," HDR_RES "\r\n"
           "a@x.com,'=SUM(A1),'+1 555,'-x,'@x,deliverable,accepted_email,95,false,true,,false,"
           "'@evil,mx.example.com,250,'-ERR no\r\n"
           "b@x.com,\"'=1,2\",'\tt,ok,a=b," OK_CELLS "\r\n");
    o.format = BK_FMT_TSV;
    trow one[] = { { 5, { "a@x.com", "\tt", "+1", "x", "y" }, NULL, &res_ok } };
    o.header = NULL;
    o.nheader = 0;
    expect("TSV formula escape: a leading tab is prefixed and then quoted", &o, one, NF(one),
           "a@x.com\t\"'\tt\"\t'+1\tx\ty\tdeliverable\taccepted_email\t95\tfalse\ttrue\t\t"
           "false\t\tmx.example.com\t250\t2.1.5 OK\n");
    o.format = BK_FMT_CSV;
    o.formula_escape = false;
    trow off[] = { { 2, { "a@x.com", "=SUM(A1)" }, NULL, &res_ok } };
    expect("no formula escape when not asked", &o, off, NF(off), "a@x.com,=SUM(A1)," OK_CELLS "\r\n");
}

static void test_ndjson_to_csv(void)
{
    static const char *const hdr[] = { "email", "n", "tags" };
    bk_writer_opts o = {
        .format = BK_FMT_CSV, .input_format = BK_FMT_NDJSON, .header = hdr, .nheader = 3, .ndjson_extra = true
    };
    trow rows[] = {
        { 1, { "{\"email\":\"a@x.com\",\"n\":1,\"tags\":[\"a\",\"b\"]}" }, "a@x.com", &res_ok },
        { 1, { "{\"tags\":null,\"email\":\"b@x.com\",\"city\":\"Oslo, NO\",\"vip\":true}" }, "b@x.com", &res_ok },
        { 1, { "not json, at all" }, NULL, &res_bad },
        { 1, { "{\"email\":\"c@x.com\",\"n\":\"say \\\"x\\\"\"}" }, "c@x.com", &res_ok },
    };
    expect("NDJSON -> CSV: header keys' values, compact JSON for non-strings, extra column", &o, rows, NF(rows),
           "email,n,tags,extra," HDR_RES "\r\n"
           "a@x.com,1,\"[\"\"a\"\",\"\"b\"\"]\",," OK_CELLS "\r\n"
           "b@x.com,,null,\"{\"\"city\"\":\"\"Oslo, NO\"\",\"\"vip\"\":true}\"," OK_CELLS "\r\n"
           "\"not json, at all\",,,," BAD_CELLS "\r\n"
           "c@x.com,\"say \"\"x\"\"\",,," OK_CELLS "\r\n");
    o.ndjson_extra = false;
    trow one[] = { { 1, { "{\"email\":\"a@x.com\",\"zz\":2}" }, NULL, &res_ok } };
    expect("NDJSON -> CSV without extra column", &o, one, NF(one),
           "email,n,tags," HDR_RES "\r\na@x.com,,," OK_CELLS "\r\n");
}

/* Runs, then parses the output: each NDJSON line, or the JSON array.
 * Returns an array of row objects (caller decrefs) or NULL. */
static json_t *run_json(const bk_writer_opts *o, const trow *rows, size_t nrows, char **text)
{
    int rc;
    char *got = run(o, rows, nrows, &rc);
    *text = got;
    if (!got)
        return NULL;
    if (o->format == BK_FMT_JSON)
        return json_loads(got, 0, NULL);
    json_t *a = json_array();
    for (char *p = got; *p;) {
        char *nl = strchr(p, '\n');
        if (!nl) {
            json_decref(a);
            return NULL;
        }
        json_t *v = json_loadb(p, (size_t)(nl - p), 0, NULL);
        if (!v) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, v);
        p = nl + 1;
    }
    return a;
}

/* The string at a dotted path of objects, or "" when absent. */
static const char *jstr(json_t *v, const char *k1, const char *k2)
{
    json_t *x = json_object_get(v, k1);
    if (k2)
        x = json_object_get(x, k2);
    return json_is_string(x) ? json_string_value(x) : "";
}

static void test_json_outputs(void)
{
    static const char *const hdr[] = { "email", "name", "name", "name_2" };
    trow rows[] = {
        { 4, { "a@x.com", "Ann", "Bee", "Cee" }, "a@x.com", &res_bad },
        { 5, { "b@x.com", "caf\xC3\xA9 \xFF\xC3", "x", "y", "z" }, "b@x.com\xFE", &res_ok },
        { 2, { "c@x.com", "short" }, NULL, &res_bad },
    };
    for (int pass = 0; pass < 2; pass++) {
        bk_writer_opts o = { .format = pass ? BK_FMT_JSON : BK_FMT_NDJSON,
                             .input_format = BK_FMT_CSV,
                             .header = hdr,
                             .nheader = 4,
                             .formula_escape = true };
        const char *fmt = pass ? "JSON" : "NDJSON";
        char *text;
        json_t *a = run_json(&o, rows, NF(rows), &text);
        CHECK(json_is_array(a) && json_array_size(a) == 3, "%s: parses back, 3 objects", fmt);
        if (pass == 0)
            CHECK(text && strncmp(text,
                                  "{\"line\":2,\"row\":{\"email\":\"a@x.com\",\"name\":\"Ann\","
                                  "\"name_2\":\"Bee\",\"name_2_2\":\"Cee\"},",
                                  strlen("{\"line\":2,\"row\":{\"email\":\"a@x.com\",\"name\":\"Ann\","
                                         "\"name_2\":\"Bee\",\"name_2_2\":\"Cee\"},")) == 0,
                  "NDJSON: compact, keys in header order, line first");
        else
            CHECK(text && strncmp(text, "[\n{", 3) == 0 && strstr(text, "}\n]\n") && strstr(text, "},\n{"),
                  "JSON: framed as [\\n obj ,\\n obj \\n]\\n");
        json_t *r0 = json_array_get(a, 0), *r1 = json_array_get(a, 1), *r2 = json_array_get(a, 2);
        CHECK(json_integer_value(json_object_get(r0, "line")) == 2, "%s: line number", fmt);
        CHECK(!strcmp(jstr(r0, "row", "name"), "Ann") && !strcmp(jstr(r0, "row", "name_2"), "Bee") &&
                  !strcmp(jstr(r0, "row", "name_2_2"), "Cee") && json_object_size(json_object_get(r0, "row")) == 4,
              "%s: duplicate header names suffixed _2, and again when taken", fmt);
        CHECK(!strcmp(jstr(r0, "result", "email"), "a@x.com") &&
                  !strcmp(jstr(r0, "result", "reason"), "mailbox_not_found"),
              "%s: result JSON used, its email patched to the row's own", fmt);
        CHECK(!strcmp(jstr(r1, "row", "name"), "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD") &&
                  !strcmp(jstr(r1, "result", "email"), "b@x.com\xEF\xBF\xBD"),
              "%s: invalid UTF-8 in a cell and the email replaced by U+FFFD", fmt);
        CHECK(!strcmp(jstr(r1, "row", "column_5"), "z"), "%s: a cell beyond the header keyed column_5", fmt);
        json_t *res1 = json_object_get(r1, "result");
        CHECK(!strcmp(jstr(r1, "result", "status"), "deliverable") &&
                  json_integer_value(json_object_get(res1, "score")) == 95 &&
                  json_is_false(json_object_get(res1, "disposable")) &&
                  json_is_true(json_object_get(res1, "role")) && json_is_null(json_object_get(res1, "free")) &&
                  json_is_null(json_object_get(res1, "suggestion")) &&
                  json_integer_value(json_object_get(res1, "smtp_code")) == 250 &&
                  !strcmp(jstr(r1, "result", "smtp_message"), "2.1.5 OK"),
              "%s: result built from the columns when there is no result JSON", fmt);
        CHECK(!strcmp(jstr(r2, "result", "email"), "WRONG@x.com") &&
                  json_object_size(json_object_get(r2, "row")) == 2,
              "%s: NULL email keeps the result's; short row has its own cells only", fmt);
        CHECK(text && !strstr(text, "'"), "%s: no formula escape in JSON outputs", fmt);
        json_decref(a);
        free(text);
    }

    bk_writer_opts nohdr = { .format = BK_FMT_NDJSON, .input_format = BK_FMT_TEXT };
    trow one[] = { { 1, { "a@x.com" }, NULL, &res_ok } };
    char *text;
    json_t *a = run_json(&nohdr, one, 1, &text);
    json_t *row = json_object_get(json_array_get(a, 0), "row");
    CHECK(json_is_array(row) && json_array_size(row) == 1 &&
              !strcmp(json_string_value(json_array_get(row, 0)), "a@x.com"),
          "NDJSON without header: row is an array of the cells");
    json_decref(a);
    free(text);

    bk_writer_opts nd = { .format = BK_FMT_JSON, .input_format = BK_FMT_NDJSON };
    trow ndrows[] = {
        { 1, { "{\"email\":\"a@x.com\",\"n\":{\"k\":[1,2]}}" }, "a@x.com", &res_ok },
        { 1, { "oops \xFF" }, NULL, &res_ok },
    };
    a = run_json(&nd, ndrows, NF(ndrows), &text);
    json_t *want = json_loads("{\"email\":\"a@x.com\",\"n\":{\"k\":[1,2]}}", 0, NULL);
    CHECK(json_equal(json_object_get(json_array_get(a, 0), "row"), want),
          "NDJSON input -> JSON: row is the original object");
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(a, 1), "row"))
                      ? json_string_value(json_object_get(json_array_get(a, 1), "row"))
                      : "",
                  "oops \xEF\xBF\xBD"),
          "NDJSON input -> JSON: a non-JSON line is its text as a string, U+FFFD fixed");
    json_decref(want);
    json_decref(a);
    free(text);

    int rc;
    char *empty = run(&nd, NULL, 0, &rc);
    CHECK(empty && !strcmp(empty, "[\n]\n"), "JSON with zero rows: an empty array");
    json_t *e = empty ? json_loads(empty, 0, NULL) : NULL;
    CHECK(json_is_array(e) && json_array_size(e) == 0, "the empty array parses");
    json_decref(e);
    free(empty);
    nd.format = BK_FMT_NDJSON;
    empty = run(&nd, NULL, 0, &rc);
    CHECK(empty && !strcmp(empty, ""), "NDJSON with zero rows: nothing");
    free(empty);
}

static void test_write_errors(void)
{
    static const char *const hdr[] = { "email" };
    const char *f[] = { "a@x.com" };
    size_t l[] = { 7 };

    FILE *full = fopen("/dev/full", "w");
    if (!full) {
        CHECK(1, "# SKIP /dev/full not available");
        return;
    }
    bk_writer_opts o = { .format = BK_FMT_CSV, .input_format = BK_FMT_CSV, .header = hdr, .nheader = 1 };
    bk_writer *w = bk_writer_new(full, &o);
    int rc = w ? bk_writer_row(w, f, l, 1, 2, NULL, 0, &res_ok) : -1;
    CHECK(w && rc == 0 && bk_writer_finish(w) == -1, "buffered writes to /dev/full: finish reports -1");
    fclose(full);

    full = fopen("/dev/full", "w");
    setvbuf(full, NULL, _IONBF, 0);
    CHECK(bk_writer_new(full, &o) == NULL, "unbuffered /dev/full: header write fails, NULL");
    o.header = NULL;
    o.nheader = 0;
    w = bk_writer_new(full, &o);
    CHECK(w && bk_writer_row(w, f, l, 1, 2, NULL, 0, &res_ok) == -1,
          "unbuffered /dev/full: the row write returns -1");
    CHECK(w && bk_writer_row(w, f, l, 1, 3, NULL, 0, &res_ok) == -1, "after a failure every row returns -1");
    CHECK(bk_writer_finish(w) == -1, "and finish returns -1");
    o.format = BK_FMT_NDJSON;
    w = bk_writer_new(full, &o);
    CHECK(w && bk_writer_row(w, f, l, 1, 2, NULL, 0, &res_ok) == -1,
          "unbuffered /dev/full: an NDJSON row returns -1");
    bk_writer_free(w);
    o.format = BK_FMT_JSON;
    CHECK(bk_writer_new(full, &o) == NULL, "unbuffered /dev/full: JSON's \"[\" fails, NULL");
    fclose(full);
    bk_writer_free(NULL);
}

int main(void)
{
    test_columns();
    test_csv();
    test_tsv();
    test_formula();
    test_ndjson_to_csv();
    test_json_outputs();
    test_write_errors();
    return tap_done();
}

/*
 * writer.c - the bulk output writer: every input row, in input order, with
 * the result columns appended, as CSV, TSV, NDJSON or one JSON array.
 *
 * CSV and TSV:
 * - Columns: the input's cells, then bk_result_col_names. For NDJSON input
 *   the input's cells are the values of the header keys (the first object's
 *   keys; strings as they are, anything else as compact JSON, a missing key
 *   empty), then, with ndjson_extra, an "extra" column holding a compact
 *   JSON object of the keys the header lacks (empty when none). An NDJSON
 *   line that is not a JSON object goes whole into the first column. An
 *   NDJSON input without a header (its first line was no object) has one
 *   input column: the line's text.
 * - Header line: written only when the input had one (o->header): the input
 *   header cells (plus "extra"), then the result column names. An input
 *   without a header gets an output without one, so that row N of the output
 *   is row N of the input.
 * - Short rows are padded with empty cells to the width of the header (or,
 *   without a header, of the first row) so the result columns line up; a
 *   longer row keeps all its cells (no data is dropped) and its result
 *   columns then come after them.
 * - Delimiter: TSV '\t'; CSV the input's delimiter when the input was CSV
 *   (a ';' export stays ';'), else ','.
 * - Line ends: CSV "\r\n" (RFC 4180, what spreadsheets expect); TSV "\n"
 *   (the IANA text/tab-separated-values convention and what Unix tools
 *   expect).
 * - Quoting (libcsv's csv_fwrite2): only a cell holding the delimiter, '"',
 *   CR or LF, or starting or ending with a space, is quoted; the rest are
 *   written raw. TSV uses the same quoting, so the reader reads it back.
 * - Formula guard (o->formula_escape): a cell starting with = + - @ TAB or
 *   CR gets a leading ' (OWASP "CSV injection"), header and result cells
 *   included.
 *
 * NDJSON and JSON: one object per row, built with jansson:
 *   {"line": N, "row": ROW, "result": RESULT}
 * ROW is an object keyed by the header names (a repeated name gets "_2",
 * "_3", ...; cells beyond the header get "column_N", N 1-based) or, without
 * a header, an array of the cells; for NDJSON input it is the line parsed
 * (or the line as a string when it is not JSON). RESULT is the result's
 * JSON with "email" set to the row's own email cell, or, without result
 * JSON, an object built from the columns. Invalid UTF-8 in cells becomes
 * U+FFFD. JSON output frames the objects as "[\n" obj ",\n" obj "\n]\n"
 * ("[\n]\n" when there are none); NDJSON writes one object per line.
 *
 * Every write is checked; after a failed write the writer stays failed and
 * every later call returns -1.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>
#include <unistr.h>

#include "bulk.h"

const char *const bk_result_col_names[] = {
    "status",     "reason",     "score",   "disposable", "role",         "free",
    "accept_all", "suggestion", "mx_host", "smtp_code",  "smtp_message",
};
const size_t bk_result_ncols = sizeof bk_result_col_names / sizeof bk_result_col_names[0];

#define BK_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

struct bk_writer {
    FILE *out;
    bk_format format; /* CSV, TSV, NDJSON or JSON */
    bk_format input_format;
    char delim;      /* CSV/TSV */
    const char *eol; /* CSV/TSV */
    bool formula_escape;
    bool ndjson_extra;
    char **header; /* copy of o->header (nheader entries), or NULL */
    size_t nheader;
    size_t width; /* input columns a CSV/TSV row is padded to */
    bool width_known;
    json_t *keys;       /* JSON outputs with a header: array of row keys */
    json_t *key_set;    /* the same keys as an object, to find repeats */
    unsigned long rows; /* rows written */
    bool failed;
    char *scratch; /* a cell with its ' prefix, for quoting */
    size_t scratch_cap;
};

/* True when the output is CSV or TSV (rather than NDJSON or JSON). */
static bool is_delimited(const bk_writer *w)
{
    return w->format == BK_FMT_CSV || w->format == BK_FMT_TSV;
}

bool bk_cell_is_formula(const char *cell, size_t len)
{
    if (!cell || len == 0)
        return false;
    switch (cell[0]) {
    case '=':
    case '+':
    case '-':
    case '@':
    case '\t':
    case '\r': return true;
    default: return false;
    }
}

/* Writes len bytes to the output; marks the writer failed on a short
 * write. Returns 0 or -1. */
static int put_bytes(bk_writer *w, const char *s, size_t len)
{
    if (w->failed)
        return -1;
    if (len && fwrite(s, 1, len, w->out) != len) {
        w->failed = true;
        return -1;
    }
    return 0;
}

/* put_bytes for a NUL-terminated string. */
static int put_str(bk_writer *w, const char *s)
{
    return put_bytes(w, s, strlen(s));
}

/* Makes w->scratch hold at least `need` bytes. 0, or -1 on ENOMEM (the
 * writer is then failed). The writer owns the buffer. */
static int scratch_reserve(bk_writer *w, size_t need)
{
    if (need <= w->scratch_cap)
        return 0;
    size_t cap = w->scratch_cap ? w->scratch_cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(w->scratch, cap);
    if (!p) {
        w->failed = true;
        return -1;
    }
    w->scratch = p;
    w->scratch_cap = cap;
    return 0;
}

/* Writes one CSV/TSV cell (preceded by the delimiter unless it is the
 * first of its line): the formula guard first, then libcsv quoting when the
 * cell needs it, else the bytes raw. `s` may be NULL (an empty cell); the
 * caller keeps ownership. Returns 0 or -1. */
static int put_cell(bk_writer *w, const char *s, size_t len, bool first)
{
    if (!first && put_bytes(w, &w->delim, 1) < 0)
        return -1;
    if (!s) {
        s = "";
        len = 0;
    }
    bool prefix = w->formula_escape && bk_cell_is_formula(s, len);
    /* The ' prefix is never a space, so only a cell without one can start
     * with a space. */
    bool quote = len > 0 && ((!prefix && s[0] == ' ') || s[len - 1] == ' ');
    for (size_t i = 0; i < len && !quote; i++)
        quote = s[i] == w->delim || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        if (prefix && put_bytes(w, "'", 1) < 0)
            return -1;
        return put_bytes(w, s, len);
    }
    const char *q = s;
    size_t qlen = len;
    if (prefix) {
        if (scratch_reserve(w, len + 1) < 0)
            return -1;
        w->scratch[0] = '\'';
        memcpy(w->scratch + 1, s, len);
        q = w->scratch;
        qlen = len + 1;
    }
    if (w->failed)
        return -1;
    if (csv_fwrite2(w->out, q, qlen, '"') != 0) {
        w->failed = true;
        return -1;
    }
    return 0;
}

/* put_cell for a NUL-terminated string (NULL: an empty cell). */
static int put_cell_str(bk_writer *w, const char *s, bool first)
{
    return put_cell(w, s, s ? strlen(s) : 0, first);
}

/* "true", "false" or "" (unknown). Static strings. */
static const char *tristate_text(bc_tristate t)
{
    return t == BC_YES ? "true" : t == BC_NO ? "false" : "";
}

/* Writes the result columns of one CSV/TSV row, each after a delimiter
 * (they never start a line). A NULL res gives empty cells. 0 or -1. */
static int put_result_cells(bk_writer *w, const bk_result_cols *res)
{
    if (!res) {
        for (size_t i = 0; i < bk_result_ncols; i++)
            if (put_cell(w, NULL, 0, false) < 0)
                return -1;
        return 0;
    }
    char score[24], code[24];
    snprintf(score, sizeof score, "%d", res->score);
    if (res->smtp_code)
        snprintf(code, sizeof code, "%d", res->smtp_code);
    else
        code[0] = '\0';
    const char *cells[] = {
        bc_verdict_status_name(res->status),
        res->reason,
        score,
        tristate_text(res->disposable),
        tristate_text(res->role),
        tristate_text(res->free_provider),
        tristate_text(res->accept_all),
        res->suggestion,
        res->mx_host,
        code,
        res->smtp_message,
    };
    _Static_assert(sizeof cells / sizeof cells[0] == sizeof bk_result_col_names / sizeof bk_result_col_names[0],
                   "one cell per result column");
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        if (put_cell_str(w, cells[i], false) < 0)
            return -1;
    return 0;
}

/* A jansson string of s[0..len) with every ill-formed UTF-8 sequence
 * replaced by U+FFFD (bc_utf8_repair). New
 * reference owned by the caller, or NULL on ENOMEM. */
static json_t *json_text(const char *s, size_t len)
{
    if (!s)
        return json_stringn("", 0);
    if (!u8_check((const uint8_t *)s, len))
        return json_stringn(s, len);
    size_t n;
    char *fixed = bc_utf8_repair(s, len, &n);
    if (!fixed)
        return NULL;
    json_t *j = json_stringn(fixed, n);
    free(fixed);
    return j;
}

/* A NUL-terminated copy of s[0..len) with ill-formed UTF-8 replaced, for
 * use as an object key; caller frees. NULL on ENOMEM. A key cannot hold a
 * NUL byte, so one ends it early (the reader rejects NULs anyway). */
static char *key_text(const char *s, size_t len)
{
    json_t *j = json_text(s, len);
    char *k = j ? strdup(json_string_value(j)) : NULL;
    json_decref(j);
    return k;
}

/* Appends `name` to w->keys, made unique against the keys so far by a
 * "_2", "_3", ... suffix. Takes ownership of name (frees it). 0 or -1. */
static int add_key(bk_writer *w, char *name)
{
    if (!name)
        return -1;
    char *key = name;
    for (unsigned long n = 2; json_object_get(w->key_set, key); n++) {
        size_t cap = strlen(name) + 24;
        if (key != name)
            free(key);
        key = malloc(cap);
        if (!key) {
            free(name);
            return -1;
        }
        snprintf(key, cap, "%s_%lu", name, n);
    }
    int rc = json_object_set_new(w->key_set, key, json_true()) == 0 &&
                     json_array_append_new(w->keys, json_string(key)) == 0
                 ? 0
                 : -1;
    if (key != name)
        free(key);
    free(name);
    return rc;
}

/* Makes w->keys hold at least n keys: the header's, then "column_N" for
 * cells beyond the header. 0 or -1 on ENOMEM. */
static int ensure_keys(bk_writer *w, size_t n)
{
    for (size_t i = json_array_size(w->keys); i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "column_%zu", i + 1);
        if (add_key(w, strdup(name)) < 0)
            return -1;
    }
    return 0;
}

/* Writes the CSV/TSV header line. 0 or -1. */
static int put_header(bk_writer *w)
{
    size_t ncells = 0;
    for (size_t i = 0; i < w->nheader; i++)
        if (put_cell_str(w, w->header[i], ncells++ == 0) < 0)
            return -1;
    if (w->input_format == BK_FMT_NDJSON && w->ndjson_extra && put_cell_str(w, "extra", ncells++ == 0) < 0)
        return -1;
    for (size_t i = 0; i < bk_result_ncols; i++)
        if (put_cell_str(w, bk_result_col_names[i], ncells++ == 0) < 0)
            return -1;
    return put_str(w, w->eol);
}

bk_writer *bk_writer_new(FILE *out, const bk_writer_opts *o)
{
    if (!out || !o ||
        (o->format != BK_FMT_CSV && o->format != BK_FMT_TSV && o->format != BK_FMT_NDJSON &&
         o->format != BK_FMT_JSON)) {
        errno = EINVAL;
        return NULL;
    }
    bk_writer *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->out = out;
    w->format = o->format;
    w->input_format = o->input_format;
    w->formula_escape = o->formula_escape;
    w->ndjson_extra = o->ndjson_extra;
    w->delim = ',';
    w->eol = "\r\n";
    if (o->format == BK_FMT_TSV) {
        w->delim = '\t';
        w->eol = "\n";
    } else if (o->input_format == BK_FMT_CSV && o->input_delimiter && !strchr("\"\r\n ", o->input_delimiter)) {
        w->delim = o->input_delimiter;
    }
    if (o->header && o->nheader) {
        w->header = calloc(o->nheader, sizeof *w->header);
        if (!w->header)
            goto fail;
        w->nheader = o->nheader;
        for (size_t i = 0; i < o->nheader; i++)
            if (!(w->header[i] = strdup(o->header[i] ? o->header[i] : "")))
                goto fail;
    }
    if (w->input_format == BK_FMT_NDJSON) {
        w->width = w->nheader ? w->nheader : 1;
        w->width_known = true;
    } else if (w->header) {
        w->width = w->nheader;
        w->width_known = true;
    }
    if (!is_delimited(w) && w->input_format != BK_FMT_NDJSON && w->header) {
        w->keys = json_array();
        w->key_set = json_object();
        if (!w->keys || !w->key_set)
            goto fail;
        for (size_t i = 0; i < w->nheader; i++)
            if (add_key(w, key_text(w->header[i], strlen(w->header[i]))) < 0)
                goto fail;
    }
    if (is_delimited(w) && w->header && put_header(w) < 0)
        goto fail;
    if (w->format == BK_FMT_JSON && put_str(w, "[\n") < 0)
        goto fail;
    return w;
fail:
    bk_writer_free(w);
    return NULL;
}

/* The text of one JSON value as a CSV cell: a string's bytes as they are,
 * anything else compact JSON. *tofree gets what the caller must free (NULL
 * when the text points into v). NULL text on ENOMEM. */
static const char *value_text(const json_t *v, size_t *len, char **tofree)
{
    *tofree = NULL;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    *tofree = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    *len = *tofree ? strlen(*tofree) : 0;
    return *tofree;
}

/* Writes the input cells of one NDJSON row as CSV/TSV cells: the header
 * keys' values, then "extra" when asked. 0 or -1. */
static int put_ndjson_cells(bk_writer *w, const char *text, size_t len)
{
    json_t *obj = text ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;
    int rc = 0;
    if (!json_is_object(obj) || w->nheader == 0) {
        /* Not an object (or no keys to sort it by): the line itself. */
        rc = put_cell(w, text, len, true);
        for (size_t i = 1; rc == 0 && i < w->width; i++)
            rc = put_cell(w, NULL, 0, false);
        if (rc == 0 && w->ndjson_extra)
            rc = put_cell(w, NULL, 0, false);
        json_decref(obj);
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < w->nheader; i++) {
        json_t *v = json_object_get(obj, w->header[i]);
        if (!v) {
            rc = put_cell(w, NULL, 0, i == 0);
            continue;
        }
        char *tofree;
        size_t vlen;
        const char *vt = value_text(v, &vlen, &tofree);
        if (vt)
            rc = put_cell(w, vt, vlen, i == 0);
        else
            rc = -1;
        free(tofree);
    }
    if (rc == 0 && w->ndjson_extra) {
        for (size_t i = 0; i < w->nheader; i++)
            json_object_del(obj, w->header[i]);
        char *extra = json_object_size(obj) ? json_dumps(obj, BK_JSON_FLAGS) : NULL;
        if (json_object_size(obj) && !extra)
            rc = -1;
        else
            rc = put_cell_str(w, extra, false);
        free(extra);
    }
    json_decref(obj);
    return rc;
}

/* Writes one CSV/TSV line: the input cells (padded), the result cells,
 * the line end. 0 or -1. */
static int put_delimited_row(bk_writer *w, const char *const *fields, const size_t *lens, size_t nfields,
                             const bk_result_cols *res)
{
    if (w->input_format == BK_FMT_NDJSON) {
        if (put_ndjson_cells(w, nfields ? fields[0] : NULL, nfields ? lens[0] : 0) < 0)
            return -1;
    } else {
        if (!w->width_known) {
            w->width = nfields ? nfields : 1;
            w->width_known = true;
        }
        size_t n = nfields > w->width ? nfields : w->width;
        for (size_t i = 0; i < n; i++)
            if (put_cell(w, i < nfields ? fields[i] : NULL, i < nfields ? lens[i] : 0, i == 0) < 0)
                return -1;
    }
    if (put_result_cells(w, res) < 0)
        return -1;
    return put_str(w, w->eol);
}

/* ROW of a JSON/NDJSON output object: the NDJSON line parsed (or as a
 * string), an object keyed by the header, or an array of the cells. New
 * reference owned by the caller, NULL on ENOMEM. */
static json_t *row_json(bk_writer *w, const char *const *fields, const size_t *lens, size_t nfields)
{
    if (w->input_format == BK_FMT_NDJSON) {
        if (nfields == 0)
            return json_null();
        json_t *v = json_loadb(fields[0], lens[0], JSON_DECODE_ANY, NULL);
        return v ? v : json_text(fields[0], lens[0]);
    }
    if (w->keys) {
        if (ensure_keys(w, nfields) < 0)
            return NULL;
        json_t *o = json_object();
        for (size_t i = 0; o && i < nfields; i++) {
            json_t *key = json_array_get(w->keys, i);
            if (json_object_set_new(o, json_string_value(key), json_text(fields[i], lens[i])) < 0) {
                json_decref(o);
                o = NULL;
            }
        }
        return o;
    }
    json_t *a = json_array();
    for (size_t i = 0; a && i < nfields; i++)
        if (json_array_append_new(a, json_text(fields[i], lens[i])) < 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

/* A JSON string or null for a possibly NULL C string. New reference. */
static json_t *str_or_null(const char *s)
{
    return s ? json_text(s, strlen(s)) : json_null();
}

/* A JSON tristate: true, false or null. New reference. */
static json_t *tristate_json(bc_tristate t)
{
    return t == BC_UNKNOWN ? json_null() : json_boolean(t == BC_YES);
}

/* RESULT of a JSON/NDJSON output object: res->json parsed with "email"
 * set to the row's email cell (kept when email is NULL), or, without usable
 * result JSON, an object of the result columns. null for a NULL res. New
 * reference owned by the caller, NULL on ENOMEM. */
static json_t *result_json(const bk_result_cols *res, const char *email, size_t email_len)
{
    if (!res)
        return json_null();
    json_t *o = res->json ? json_loads(res->json, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
        if (!o)
            return NULL;
        int rc = 0;
        rc |= json_object_set_new(o, "email", email ? json_text(email, email_len) : json_null());
        rc |= json_object_set_new(o, "status", json_string(bc_verdict_status_name(res->status)));
        rc |= json_object_set_new(o, "reason", str_or_null(res->reason));
        rc |= json_object_set_new(o, "score", json_integer(res->score));
        rc |= json_object_set_new(o, "disposable", tristate_json(res->disposable));
        rc |= json_object_set_new(o, "role", tristate_json(res->role));
        rc |= json_object_set_new(o, "free", tristate_json(res->free_provider));
        rc |= json_object_set_new(o, "accept_all", tristate_json(res->accept_all));
        rc |= json_object_set_new(o, "suggestion", str_or_null(res->suggestion));
        rc |= json_object_set_new(o, "mx_host", str_or_null(res->mx_host));
        rc |= json_object_set_new(o, "smtp_code", res->smtp_code ? json_integer(res->smtp_code) : json_null());
        rc |= json_object_set_new(o, "smtp_message", str_or_null(res->smtp_message));
        if (rc) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    if (email && json_object_set_new(o, "email", json_text(email, email_len)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Writes one JSON/NDJSON row object with its framing. 0 or -1. */
static int put_json_row(bk_writer *w, const char *const *fields, const size_t *lens, size_t nfields,
                        unsigned long line, const char *email, size_t email_len, const bk_result_cols *res)
{
    json_t *obj = json_object();
    json_t *row = row_json(w, fields, lens, nfields);
    json_t *result = result_json(res, email, email_len);
    int rc = -1;
    if (obj && row && result && json_object_set_new(obj, "line", json_integer((json_int_t)line)) == 0 &&
        json_object_set(obj, "row", row) == 0 && json_object_set(obj, "result", result) == 0) {
        rc = 0;
        if (w->format == BK_FMT_JSON && w->rows > 0)
            rc = put_str(w, ",\n");
        if (rc == 0 && json_dumpf(obj, w->out, BK_JSON_FLAGS) != 0)
            rc = -1;
        if (rc == 0 && w->format == BK_FMT_NDJSON)
            rc = put_str(w, "\n");
    }
    if (rc < 0)
        w->failed = true;
    json_decref(row);
    json_decref(result);
    json_decref(obj);
    return rc;
}

int bk_writer_row(bk_writer *w, const char *const *fields, const size_t *lens, size_t nfields, unsigned long line,
                  const char *email, size_t email_len, const bk_result_cols *res)
{
    if (!w || w->failed || (nfields && (!fields || !lens)))
        return -1;
    int rc = is_delimited(w) ? put_delimited_row(w, fields, lens, nfields, res)
                             : put_json_row(w, fields, lens, nfields, line, email, email_len, res);
    if (rc < 0) {
        w->failed = true;
        return -1;
    }
    w->rows++;
    return 0;
}

int bk_writer_finish(bk_writer *w)
{
    if (!w)
        return -1;
    int rc = w->failed ? -1 : 0;
    if (rc == 0 && w->format == BK_FMT_JSON)
        rc = put_str(w, w->rows ? "\n]\n" : "]\n");
    if (fflush(w->out) != 0 || ferror(w->out))
        rc = -1;
    bk_writer_free(w);
    return rc;
}

void bk_writer_free(bk_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; w->header && i < w->nheader; i++)
        free(w->header[i]);
    free(w->header);
    json_decref(w->keys);
    json_decref(w->key_set);
    free(w->scratch);
    free(w);
}

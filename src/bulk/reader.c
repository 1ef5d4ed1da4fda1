/*
 * reader.c - the bulk input reader: turns a list file (CSV, TSV, plain
 * text, NDJSON) into rows, and finds the header and the email column.
 *
 * How it reads:
 * - A bounded line reader (fread + memchr) hands out one physical line at a
 *   time, so every row knows the line it starts on. Its buffer holds at most
 *   max(read-ahead, max_line + 1) bytes: memory does not grow with the file.
 * - At open it reads ahead up to 64 KiB of whole lines and sniffs from that
 *   buffer without consuming it (standard input cannot be rewound); the rows
 *   are then parsed from the same buffer and the stream continues after it.
 * - CSV and TSV go through libcsv, fed one line at a time (a line holding a
 *   bare CR is split there, as libcsv ends rows at CR too). Cells are kept
 *   byte-exact: libcsv's white-space trimming is turned off. At the end of
 *   the input the reader feeds one "\n": a record it does not end is a
 *   quoted field that was never closed.
 * - Plain text is one address per line; NDJSON is one JSON value per line,
 *   parsed with jansson. A line that is not JSON is a row without an email.
 *
 * - An .xlsx workbook (by its extension, or a zip or OLE signature) is first
 *   converted by xlsx.c into a tmpfile() that the reader owns, then read as
 *   CSV with ',' (its line numbers are those of the converted rows).
 *
 * Errors name the line: "NAME:LINE: ...". After an error the reader is
 * finished and repeats the same message.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>

#include "bulk.h"
#include <unistr.h>

#define RD_READAHEAD (64u * 1024u) /* bytes read ahead at open for sniffing */
#define RD_SAMPLE_ROWS 200         /* rows after the first looked at for the email column */
#define RD_SNIFF_RECORDS 50        /* records looked at for the delimiter */
#define RD_MSG_MAX 512

/* ---- formats ------------------------------------------------------------ */

/* The stable name of a format; static string, never NULL. */
const char *bk_format_name(bk_format f)
{
    switch (f) {
    case BK_FMT_CSV: return "csv";
    case BK_FMT_TSV: return "tsv";
    case BK_FMT_TEXT: return "text";
    case BK_FMT_NDJSON: return "ndjson";
    case BK_FMT_JSON: return "json";
    case BK_FMT_AUTO: break;
    }
    return "auto";
}

/* Parses a format name (case-insensitive; "txt" and "jsonl" are accepted as
 * aliases) into *out. False, with *out untouched, when the name is unknown. */
bool bk_format_parse(const char *name, bk_format *out)
{
    static const struct {
        const char *name;
        bk_format f;
    } names[] = {
        { "auto", BK_FMT_AUTO }, { "csv", BK_FMT_CSV },       { "tsv", BK_FMT_TSV },      { "text", BK_FMT_TEXT },
        { "txt", BK_FMT_TEXT },  { "ndjson", BK_FMT_NDJSON }, { "jsonl", BK_FMT_NDJSON }, { "json", BK_FMT_JSON },
    };
    if (!name)
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].f;
            return true;
        }
    return false;
}

/* The format a file name's extension implies, or BK_FMT_AUTO (also for "-"
 * and names without an extension). Pure. */
bk_format bk_format_from_name(const char *path)
{
    static const struct {
        const char *ext;
        bk_format f;
    } exts[] = {
        { "csv", BK_FMT_CSV },       { "tsv", BK_FMT_TSV },      { "tab", BK_FMT_TSV },   { "txt", BK_FMT_TEXT },
        { "ndjson", BK_FMT_NDJSON }, { "jsonl", BK_FMT_NDJSON }, { "json", BK_FMT_JSON },
    };
    if (!path)
        return BK_FMT_AUTO;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return BK_FMT_AUTO;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot + 1, exts[i].ext) == 0)
            return exts[i].f;
    return BK_FMT_AUTO;
}

/* ---- cells ---------------------------------------------------------------- */

/* True for the ASCII white space bytes trimmed around addresses. */
static bool rd_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Narrows [*s, *s + *n) to drop ASCII white space on both ends. */
static void rd_trim(const char **s, size_t *n)
{
    while (*n > 0 && rd_is_space((unsigned char)(*s)[0])) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && rd_is_space((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* The address inside a cell: white space trimmed, the inside of the last
 * <...> taken ("John Doe <j@x.org>"), then a case-insensitive "mailto:"
 * prefix dropped together with its "?query". A '?' without "mailto:" is
 * kept: it is a legal local-part character. Returns a pointer into `cell`
 * (not NUL-terminated at *len); pure. */
const char *bk_cell_address(const char *cell, size_t cell_len, size_t *len)
{
    const char *s = cell ? cell : "";
    size_t n = cell ? cell_len : 0;
    rd_trim(&s, &n);
    const char *lt = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '<') {
            lt = s + i - 1;
            break;
        }
    if (lt) {
        const char *gt = memchr(lt + 1, '>', n - (size_t)(lt + 1 - s));
        if (gt) {
            s = lt + 1;
            n = (size_t)(gt - s);
            rd_trim(&s, &n);
        }
    }
    if (n >= 7 && strncasecmp(s, "mailto:", 7) == 0) {
        s += 7;
        n -= 7;
        const char *q = memchr(s, '?', n);
        if (q)
            n = (size_t)(q - s);
        rd_trim(&s, &n);
    }
    *len = n;
    return s;
}

/* True when every byte of [s, s + n) is well-formed UTF-8 (libunistring). */
static bool rd_utf8_ok(const char *s, size_t n)
{
    return u8_check((const uint8_t *)s, n) == NULL;
}

/* True when the cell holds a valid address (after bk_cell_address). Cells
 * without '@' or far too long are refused before the parser sees them. */
static bool rd_cell_is_address(const char *cell, size_t cell_len)
{
    size_t n;
    const char *a = bk_cell_address(cell, cell_len, &n);
    if (n < 3 || n > BC_ADDR_MAX || !memchr(a, '@', n))
        return false;
    bc_addr addr;
    bc_addr_parse(a, n, &addr);
    return addr.valid;
}

/* ---- header names ----------------------------------------------------------- */

enum rd_name_match { RD_NAME_NONE = 0, RD_NAME_CONTAINS, RD_NAME_EXACT };

/* Folds one header name to lower-case ASCII letters and digits: other ASCII
 * bytes are dropped, the Latin-1 letters with accents (UTF-8 C3 xx) become
 * their base letter ("Correo electrónico" -> "correoelectronico"), other
 * non-ASCII bytes are dropped. Writes at most size-1 bytes plus a NUL. */
static void rd_fold_name(const char *s, size_t n, char *out, size_t size)
{
    /* base letters for U+00C0..U+00FF, indexed by (second byte & 0x1F) */
    static const char latin1[] = "aaaaaaaceeeeiiiidnooooo/ouuuuyts";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (isalnum(c))
                out[o++] = (char)tolower(c);
        } else if (c == 0xC3 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0xBF) {
            char b = latin1[(unsigned char)s[i + 1] & 0x1F];
            if (isalpha((unsigned char)b))
                out[o++] = b;
            i++;
        }
    }
    out[o] = '\0';
}

/* How well a header name says "email address": exact known name, a name
 * containing "email", or not at all. For an exact name, *rank is its place
 * in the list (the generic names first), so "Email" beats "Work Email". */
static enum rd_name_match rd_name_match(const char *name, size_t n, size_t *rank)
{
    static const char *const known[] = {
        "email",
        "emailaddress",
        "mail",
        "mailaddress",
        "emailid",
        "email1",
        "primaryemail",
        "workemail",
        "personalemail",
        "contactemail",
        "courriel",
        "correo",
        "correoelectronico",
        "epost",
        "emailadresse",
        "adresseemail",
    };
    char f[128];
    rd_fold_name(name, n, f, sizeof f);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(f, known[i]) == 0) {
            *rank = i;
            return RD_NAME_EXACT;
        }
    return strstr(f, "email") ? RD_NAME_CONTAINS : RD_NAME_NONE;
}

/* ---- row assembly ------------------------------------------------------------- */

/* The cells of one record while libcsv hands them over: an arena of
 * NUL-terminated copies plus offsets. Owned by its reader. */
typedef struct rd_rowbuf {
    char *data;
    size_t len, cap;
    size_t *off, *lens;
    size_t n, ncap;
    bool complete; /* libcsv ended the record */
    bool oom;
} rd_rowbuf;

/* Empties the row buffer, keeping its memory. */
static void rd_rowbuf_reset(rd_rowbuf *rb)
{
    rb->len = 0;
    rb->n = 0;
    rb->complete = false;
}

/* Releases the row buffer's memory. */
static void rd_rowbuf_free(rd_rowbuf *rb)
{
    free(rb->data);
    free(rb->off);
    free(rb->lens);
    memset(rb, 0, sizeof *rb);
}

/* Appends one cell (copied, NUL added). Sets rb->oom on failure. */
static void rd_rowbuf_add(rd_rowbuf *rb, const char *s, size_t n)
{
    if (rb->oom)
        return;
    if (rb->n == rb->ncap) {
        size_t nc = rb->ncap ? rb->ncap * 2 : 16;
        size_t *o = realloc(rb->off, nc * sizeof *o);
        if (!o) {
            rb->oom = true;
            return;
        }
        rb->off = o;
        size_t *l = realloc(rb->lens, nc * sizeof *l);
        if (!l) {
            rb->oom = true;
            return;
        }
        rb->lens = l;
        rb->ncap = nc;
    }
    if (rb->cap - rb->len < n + 1) {
        size_t nc = rb->cap ? rb->cap : 256;
        while (nc - rb->len < n + 1)
            nc *= 2;
        char *d = realloc(rb->data, nc);
        if (!d) {
            rb->oom = true;
            return;
        }
        rb->data = d;
        rb->cap = nc;
    }
    if (n)
        memcpy(rb->data + rb->len, s, n);
    rb->data[rb->len + n] = '\0';
    rb->off[rb->n] = rb->len;
    rb->lens[rb->n] = n;
    rb->n++;
    rb->len += n + 1;
}

/* libcsv field callback: copies the cell into the rd_rowbuf `ud`. */
static void rd_csv_field(void *s, size_t n, void *ud)
{
    rd_rowbuf_add(ud, s ? s : "", s ? n : 0);
}

/* libcsv record callback: marks the record complete. */
static void rd_csv_row(int c, void *ud)
{
    (void)c;
    ((rd_rowbuf *)ud)->complete = true;
}

/* libcsv space test: nothing is white space, so cells stay byte-exact. */
static int rd_csv_no_space(unsigned char c)
{
    (void)c;
    return 0;
}

/* Sets up a libcsv parser with the reader's options. 0 or -1 (ENOMEM). */
static int rd_csv_init(struct csv_parser *p, char delim)
{
    if (csv_init(p, CSV_APPEND_NULL) != 0)
        return -1;
    csv_set_delim(p, (unsigned char)delim);
    csv_set_space_func(p, rd_csv_no_space);
    return 0;
}

/* Length of the next segment of [s, s + n) to feed libcsv: up to and
 * including the first CR or LF, else all of it. */
static size_t rd_segment(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\r' || s[i] == '\n')
            return i + 1;
    return n;
}

/* True when [s, s + n) holds only ASCII white space. */
static bool rd_blank(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!rd_is_space(s[i]))
            return false;
    return true;
}

/* Length of a line without its line end ("\n" or "\r\n", or a final "\r"). */
static size_t rd_chomp(const unsigned char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\n')
        n--;
    if (n > 0 && s[n - 1] == '\r')
        n--;
    return n;
}

/* ---- the reader ------------------------------------------------------------------ */

struct bk_reader {
    FILE *in;
    FILE *own_in; /* the CSV converted from an .xlsx: closed by bk_reader_free */
    char *name;
    bk_format format;
    char delim;
    size_t max_line;

    /* the line reader: bytes [start, end) of buf are read but not taken */
    unsigned char *buf;
    size_t cap, limit, start, end;
    bool eof;
    unsigned long lineno; /* the last line taken */

    /* the line being fed */
    const unsigned char *line;
    size_t line_len, line_pos;

    /* CSV/TSV parsing */
    struct csv_parser csv;
    bool csv_ready;
    bool in_record;
    unsigned long rec_line;
    size_t rec_bytes;
    rd_rowbuf rb;
    const char **fptrs;
    size_t fptr_cap;

    /* what was sniffed */
    char **header;
    size_t nheader;
    bool skip_first; /* the header row is still to be skipped */
    long email_col;
    char *email_key;

    /* the current row's email, NUL-terminated */
    char *email;
    size_t email_cap;

    unsigned long rows;
    bool failed, done;
    char msg[RD_MSG_MAX];
};

/* Copies a message into a caller's buffer (if it has room at all). */
static void rd_copy_msg(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Records the reader's failure message (printf-style); later calls repeat it. */
__attribute__((format(printf, 2, 3))) static void rd_fail(bk_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    r->failed = true;
}

/* Reads more bytes into the buffer, compacting or growing it when full (up
 * to r->limit). Returns 1 when bytes came, 0 at the end of the input or
 * when the buffer is at its limit, -1 on a read error (r->msg set). */
static int rd_fill(bk_reader *r)
{
    if (r->eof)
        return 0;
    if (r->end == r->cap && r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (r->end == r->cap) {
        if (r->cap >= r->limit)
            return 0;
        size_t nc = r->cap * 2 < r->limit ? r->cap * 2 : r->limit;
        unsigned char *nb = realloc(r->buf, nc);
        if (!nb) {
            rd_fail(r, "%s: out of memory", r->name);
            return -1;
        }
        r->buf = nb;
        r->cap = nc;
    }
    errno = 0;
    size_t got = fread(r->buf + r->end, 1, r->cap - r->end, r->in);
    if (got == 0) {
        if (ferror(r->in)) {
            int e = errno;
            rd_fail(r, "%s:%lu: cannot read: %s", r->name, r->lineno + 1, e ? strerror(e) : "read error");
            return -1;
        }
        r->eof = true;
        return 0;
    }
    r->end += got;
    return 1;
}

/* Takes the next physical line (with its "\n" when it has one) into
 * r->line / r->line_len; the bytes stay valid until the next call. Checks
 * its length against max_line and refuses NUL bytes. Returns 1, 0 at the
 * end of the input, -1 on an error (r->msg set). */
static int rd_getline(bk_reader *r)
{
    for (;;) {
        size_t avail = r->end - r->start;
        const unsigned char *nl = memchr(r->buf + r->start, '\n', avail);
        size_t len = 0;
        if (nl)
            len = (size_t)(nl - (r->buf + r->start)) + 1;
        else if (avail > r->max_line + 1) { /* + 1: a CR may still be followed by LF */
            rd_fail(r, "%s:%lu: line longer than %zu bytes", r->name, r->lineno + 1, r->max_line);
            return -1;
        } else if (r->eof)
            len = avail;
        if (nl || r->eof) {
            if (len == 0)
                return 0;
            r->line = r->buf + r->start;
            r->line_len = len;
            r->line_pos = 0;
            r->start += len;
            r->lineno++;
            if (rd_chomp(r->line, len) > r->max_line) {
                rd_fail(r, "%s:%lu: line longer than %zu bytes", r->name, r->lineno, r->max_line);
                return -1;
            }
            if (memchr(r->line, '\0', len)) {
                rd_fail(r, "%s:%lu: binary data (a NUL byte); is this a text file?", r->name, r->lineno);
                return -1;
            }
            return 1;
        }
        int f = rd_fill(r);
        if (f < 0)
            return -1;
        if (f == 0 && !r->eof) {
            /* at the buffer's limit without a line end */
            rd_fail(r, "%s:%lu: line longer than %zu bytes", r->name, r->lineno + 1, r->max_line);
            return -1;
        }
    }
}

/* Makes sure r->line_pos < r->line_len by taking lines as needed; skips
 * blank lines when no record is open. 1, 0 at the end, -1 on an error. */
static int rd_need_bytes(bk_reader *r, bool skip_blank)
{
    for (;;) {
        if (r->line && r->line_pos < r->line_len) {
            if (!skip_blank || !rd_blank(r->line + r->line_pos, r->line_len - r->line_pos))
                return 1;
            r->line_pos = r->line_len;
            continue;
        }
        int g = rd_getline(r);
        if (g <= 0)
            return g;
    }
}

/* Reads one CSV/TSV record into r->rb. 1, 0 at the end, -1 on an error. */
static int rd_csv_record(bk_reader *r)
{
    rd_rowbuf_reset(&r->rb);
    r->in_record = false;
    r->rec_bytes = 0;
    for (;;) {
        int g = rd_need_bytes(r, !r->in_record);
        if (g < 0)
            return -1;
        if (g == 0) {
            if (!r->in_record)
                return 0;
            /* end the input as if it ended with a line end: a record that
             * stays open is a quoted field that was never closed */
            csv_parse(&r->csv, "\n", 1, rd_csv_field, rd_csv_row, &r->rb);
            if (r->rb.oom) {
                rd_fail(r, "%s: out of memory", r->name);
                return -1;
            }
            if (!r->rb.complete) {
                rd_fail(r, "%s:%lu: a quoted field opened in the record on this line is never closed", r->name,
                        r->rec_line);
                return -1;
            }
            r->in_record = false;
            return 1;
        }
        const unsigned char *p = r->line + r->line_pos;
        size_t avail = r->line_len - r->line_pos;
        if (!r->in_record) {
            /* line ends left over from a CR LF do not start a record */
            while (avail > 0 && (*p == '\r' || *p == '\n')) {
                p++;
                avail--;
                r->line_pos++;
            }
            if (avail == 0)
                continue;
            r->in_record = true;
            r->rec_line = r->lineno;
        }
        size_t seg = rd_segment(p, avail);
        r->rec_bytes += seg;
        if (r->rec_bytes > r->max_line + 2) {
            rd_fail(r,
                    "%s:%lu: record longer than %zu bytes (a quoted field opened on this line and"
                    " never closed?)",
                    r->name, r->rec_line, r->max_line);
            return -1;
        }
        if (csv_parse(&r->csv, p, seg, rd_csv_field, rd_csv_row, &r->rb) != seg || r->rb.oom) {
            rd_fail(r, "%s:%lu: %s", r->name, r->lineno,
                    r->rb.oom ? "out of memory" : csv_strerror(csv_error(&r->csv)));
            return -1;
        }
        r->line_pos += seg;
        if (r->rb.complete) {
            r->in_record = false;
            return 1;
        }
    }
}

/* Reads one non-blank line (TEXT, NDJSON) into r->rb as its only cell,
 * without the line end. 1, 0 at the end, -1 on an error. */
static int rd_line_record(bk_reader *r)
{
    rd_rowbuf_reset(&r->rb);
    int g = rd_need_bytes(r, true);
    if (g <= 0)
        return g;
    const unsigned char *p = r->line + r->line_pos;
    size_t n = rd_chomp(p, r->line_len - r->line_pos);
    r->line_pos = r->line_len;
    r->rec_line = r->lineno;
    rd_rowbuf_add(&r->rb, (const char *)p, n);
    if (r->rb.oom) {
        rd_fail(r, "%s: out of memory", r->name);
        return -1;
    }
    return 1;
}

/* The next record in the reader's format. */
static int rd_record(bk_reader *r)
{
    if (r->format == BK_FMT_CSV || r->format == BK_FMT_TSV)
        return rd_csv_record(r);
    return rd_line_record(r);
}

/* Stores a NUL-terminated copy of an address in r->email. False on ENOMEM. */
static bool rd_set_email(bk_reader *r, const char *s, size_t n)
{
    if (r->email_cap < n + 1) {
        size_t nc = r->email_cap ? r->email_cap : 64;
        while (nc < n + 1)
            nc *= 2;
        char *e = realloc(r->email, nc);
        if (!e)
            return false;
        r->email = e;
        r->email_cap = nc;
    }
    if (n)
        memcpy(r->email, s, n);
    r->email[n] = '\0';
    return true;
}

/* Finds the email of an NDJSON line: the string value of the email key,
 * through bk_cell_address. Sets *found; false on ENOMEM. */
static bool rd_ndjson_email(bk_reader *r, const char *line, size_t n, bool *found)
{
    *found = false;
    if (!r->email_key)
        return true;
    json_error_t jerr;
    json_t *v = json_loadb(line, n, 0, &jerr);
    if (!v)
        return true;
    json_t *s = json_is_object(v) ? json_object_get(v, r->email_key) : NULL;
    bool ok = true;
    if (json_is_string(s)) {
        size_t an;
        const char *a = bk_cell_address(json_string_value(s), json_string_length(s), &an);
        ok = rd_set_email(r, a, an);
        *found = ok;
    }
    json_decref(v);
    return ok;
}

/* Returns the next row; see bulk.h. */
int bk_reader_next(bk_reader *r, bk_row *row, char *err, size_t errlen)
{
    if (!r) {
        rd_copy_msg(err, errlen, "no reader");
        return -1;
    }
    if (r->failed) {
        rd_copy_msg(err, errlen, r->msg);
        return -1;
    }
    if (r->done)
        return 0;
    for (;;) {
        int g = rd_record(r);
        if (g < 0) {
            rd_copy_msg(err, errlen, r->msg);
            return -1;
        }
        if (g == 0) {
            r->done = true;
            return 0;
        }
        if (!r->skip_first)
            break;
        r->skip_first = false;
    }
    rd_rowbuf *rb = &r->rb;
    if (r->fptr_cap < rb->n) {
        const char **fp = realloc(r->fptrs, rb->n * sizeof *fp);
        if (!fp) {
            rd_fail(r, "%s: out of memory", r->name);
            rd_copy_msg(err, errlen, r->msg);
            return -1;
        }
        r->fptrs = fp;
        r->fptr_cap = rb->n;
    }
    bool bad = false;
    for (size_t i = 0; i < rb->n; i++) {
        r->fptrs[i] = rb->data + rb->off[i];
        if (!bad && !rd_utf8_ok(r->fptrs[i], rb->lens[i]))
            bad = true;
    }
    bool found = false, ok = true;
    if (r->format == BK_FMT_NDJSON) {
        ok = rd_ndjson_email(r, r->fptrs[0], rb->lens[0], &found);
    } else if (r->email_col >= 0 && (size_t)r->email_col < rb->n) {
        size_t an;
        const char *a = bk_cell_address(r->fptrs[r->email_col], rb->lens[r->email_col], &an);
        ok = rd_set_email(r, a, an);
        found = ok;
    }
    if (!ok) {
        rd_fail(r, "%s: out of memory", r->name);
        rd_copy_msg(err, errlen, r->msg);
        return -1;
    }
    memset(row, 0, sizeof *row);
    row->nfields = rb->n;
    row->fields = r->fptrs;
    row->lens = rb->lens;
    row->email = found ? r->email : NULL;
    row->email_len = found ? strlen(r->email) : 0;
    row->line = r->rec_line;
    row->bad_utf8 = bad;
    r->rows++;
    return 1;
}

/* ---- sniffing -------------------------------------------------------------------- */

/* What the read-ahead showed. Owned by bk_reader_open for its duration. */
typedef struct rd_sniff {
    char **first; /* the first record's cells (CSV/TSV/TEXT) or the keys (NDJSON) */
    size_t nfirst;
    bool have_first;
    bool first_addr;   /* some cell of the first record holds an address */
    bool *first_valid; /* per cell of the first record: holds an address */
    size_t *hits;      /* per column: later sampled rows whose cell holds an address */
    size_t nhits;
    size_t nrows;   /* sampled rows after the first (NDJSON: sampled objects) */
    size_t nrecs;   /* non-blank records or lines seen */
    size_t maxcols; /* widest record seen */
    bool oom;
} rd_sniff;

/* Releases a sniff record. */
static void rd_sniff_free(rd_sniff *sn)
{
    for (size_t i = 0; i < sn->nfirst; i++)
        free(sn->first[i]);
    free(sn->first);
    free(sn->first_valid);
    free(sn->hits);
}

/* Makes room for n per-column counters. False on ENOMEM. */
static bool rd_sniff_cols(rd_sniff *sn, size_t n)
{
    if (n <= sn->nhits)
        return true;
    size_t *h = realloc(sn->hits, n * sizeof *h);
    if (!h)
        return false;
    memset(h + sn->nhits, 0, (n - sn->nhits) * sizeof *h);
    sn->hits = h;
    sn->nhits = n;
    return true;
}

/* Sets the first record (copies of its cells) and which cells hold addresses. */
static void rd_sniff_set_first(rd_sniff *sn, const char *const *cells, const size_t *lens, size_t n,
                               bool check_addr)
{
    sn->have_first = true;
    sn->first = calloc(n ? n : 1, sizeof *sn->first);
    sn->first_valid = calloc(n ? n : 1, sizeof *sn->first_valid);
    if (!sn->first || !sn->first_valid) {
        sn->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        sn->first[i] = strndup(cells[i], lens[i]);
        if (!sn->first[i]) {
            sn->oom = true;
            return;
        }
        sn->nfirst = i + 1;
        if (check_addr && rd_cell_is_address(cells[i], lens[i])) {
            sn->first_valid[i] = true;
            sn->first_addr = true;
        }
    }
    if (n > sn->maxcols)
        sn->maxcols = n;
}

/* Counts one sampled record of cells (after the first). */
static void rd_sniff_row(rd_sniff *sn, const char *const *cells, const size_t *lens, size_t n)
{
    if (!rd_sniff_cols(sn, n)) {
        sn->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (cells && rd_cell_is_address(cells[i], lens[i]))
            sn->hits[i]++;
    if (n > sn->maxcols)
        sn->maxcols = n;
    sn->nrows++;
}

/* Hands one record of a row buffer to the sniffer. */
static void rd_sniff_take(rd_sniff *sn, const rd_rowbuf *rb)
{
    const char *cells[64];
    size_t n = rb->n;
    const char **cp = n <= 64 ? cells : malloc(n * sizeof *cp);
    if (!cp) {
        sn->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++)
        cp[i] = rb->data + rb->off[i];
    sn->nrecs++;
    if (!sn->have_first)
        rd_sniff_set_first(sn, cp, rb->lens, n, true);
    else if (sn->nrows < RD_SAMPLE_ROWS)
        rd_sniff_row(sn, cp, rb->lens, n);
    if (cp != cells)
        free(cp);
}

/* Parses the read-ahead region [p, p + n) as CSV/TSV (at_eof: it is the
 * whole input) and samples its records. Parse problems are left for the
 * real pass to report. */
static void rd_sniff_csv(rd_sniff *sn, const unsigned char *p, size_t n, char delim, bool at_eof)
{
    struct csv_parser cp;
    rd_rowbuf rb = { 0 };
    if (rd_csv_init(&cp, delim) != 0) {
        sn->oom = true;
        return;
    }
    size_t pos = 0;
    bool open = false;
    while (pos < n && !sn->oom && sn->nrows < RD_SAMPLE_ROWS) {
        if (!open) {
            const unsigned char *nl = memchr(p + pos, '\n', n - pos);
            size_t ll = nl ? (size_t)(nl - (p + pos)) + 1 : n - pos;
            if (rd_blank(p + pos, ll)) {
                pos += ll;
                continue;
            }
        }
        size_t seg = rd_segment(p + pos, n - pos);
        open = true;
        csv_parse(&cp, p + pos, seg, rd_csv_field, rd_csv_row, &rb);
        pos += seg;
        if (rb.oom)
            sn->oom = true;
        if (rb.complete) {
            rd_sniff_take(sn, &rb);
            rd_rowbuf_reset(&rb);
            open = false;
        }
    }
    if (open && at_eof && pos >= n && !sn->oom) {
        csv_parse(&cp, "\n", 1, rd_csv_field, rd_csv_row, &rb);
        if (rb.complete)
            rd_sniff_take(sn, &rb);
    }
    csv_free(&cp);
    rd_rowbuf_free(&rb);
}

/* Samples the read-ahead region as plain text, one address per line. */
static void rd_sniff_text(rd_sniff *sn, const unsigned char *p, size_t n)
{
    size_t pos = 0;
    while (pos < n && !sn->oom && sn->nrows < RD_SAMPLE_ROWS) {
        const unsigned char *nl = memchr(p + pos, '\n', n - pos);
        size_t ll = nl ? (size_t)(nl - (p + pos)) + 1 : n - pos;
        const char *cell = (const char *)(p + pos);
        size_t cl = rd_chomp(p + pos, ll);
        pos += ll;
        if (rd_blank((const unsigned char *)cell, cl))
            continue;
        sn->nrecs++;
        if (!sn->have_first)
            rd_sniff_set_first(sn, &cell, &cl, 1, true);
        else
            rd_sniff_row(sn, &cell, &cl, 1);
    }
}

/* Samples the read-ahead region as NDJSON: the keys of the first object
 * become the header; every sampled object counts, per header key, whether
 * its value is a string holding an address. */
static void rd_sniff_ndjson(rd_sniff *sn, const unsigned char *p, size_t n)
{
    size_t pos = 0;
    while (pos < n && !sn->oom && sn->nrows < RD_SAMPLE_ROWS) {
        const unsigned char *nl = memchr(p + pos, '\n', n - pos);
        size_t ll = nl ? (size_t)(nl - (p + pos)) + 1 : n - pos;
        const char *line = (const char *)(p + pos);
        size_t cl = rd_chomp(p + pos, ll);
        pos += ll;
        if (rd_blank((const unsigned char *)line, cl))
            continue;
        sn->nrecs++;
        json_error_t jerr;
        json_t *v = json_loadb(line, cl, 0, &jerr);
        if (!json_is_object(v)) {
            json_decref(v);
            continue;
        }
        if (!sn->have_first) {
            size_t nk = json_object_size(v), i = 0;
            const char **keys = calloc(nk ? nk : 1, sizeof *keys);
            size_t *lens = calloc(nk ? nk : 1, sizeof *lens);
            if (!keys || !lens)
                sn->oom = true;
            else {
                for (void *it = json_object_iter(v); it && i < nk; it = json_object_iter_next(v, it), i++) {
                    keys[i] = json_object_iter_key(it);
                    lens[i] = strlen(keys[i]);
                }
                rd_sniff_set_first(sn, keys, lens, i, false);
            }
            free(keys);
            free(lens);
        }
        if (!sn->oom && rd_sniff_cols(sn, sn->nfirst)) {
            for (size_t k = 0; k < sn->nfirst; k++) {
                json_t *s = json_object_get(v, sn->first[k]);
                if (json_is_string(s) && rd_cell_is_address(json_string_value(s), json_string_length(s)))
                    sn->hits[k]++;
            }
            sn->nrows++;
        } else
            sn->oom = true;
        json_decref(v);
    }
}

/* Picks the delimiter of [p, p + n) among `cands` (NUL-terminated): counts
 * each candidate outside double quotes per record (up to RD_SNIFF_RECORDS
 * non-blank records) and prefers one whose count is the same non-zero
 * number in every record, then one that agrees in at least half of
 * them (short rows); among equals the higher count, then the order of `cands`. 0 when
 * none fits. */
static char rd_sniff_delim(const unsigned char *p, size_t n, const char *cands)
{
    enum { MAXC = 4 };
    size_t nc = strlen(cands);
    if (nc > MAXC)
        nc = MAXC;
    size_t counts[MAXC][RD_SNIFF_RECORDS];
    size_t cur[MAXC] = { 0 };
    size_t nrec = 0;
    bool inq = false, nonblank = false;
    for (size_t i = 0; i <= n && nrec < RD_SNIFF_RECORDS; i++) {
        if (i == n || (p[i] == '\n' && !inq)) {
            if (nonblank) {
                for (size_t k = 0; k < nc; k++)
                    counts[k][nrec] = cur[k];
                nrec++;
            }
            memset(cur, 0, sizeof cur);
            nonblank = false;
            inq = false;
            continue;
        }
        unsigned char c = p[i];
        if (c == '"') {
            inq = !inq;
            nonblank = true;
            continue;
        }
        if (inq)
            continue;
        for (size_t k = 0; k < nc; k++)
            if (c == (unsigned char)cands[k])
                cur[k]++;
        if (!rd_is_space(c))
            nonblank = true;
    }
    if (nrec == 0)
        return 0;
    int best = -1;
    size_t best_rank = 0, best_count = 0;
    for (size_t k = 0; k < nc; k++) {
        size_t first = counts[k][0];
        if (first == 0)
            continue;
        size_t agree = 0;
        for (size_t j = 0; j < nrec; j++)
            if (counts[k][j] == first)
                agree++;
        size_t rank = agree == nrec ? 2 : agree * 2 >= nrec ? 1 : 0;
        if (rank == 0)
            continue;
        if (best < 0 || rank > best_rank || (rank == best_rank && first > best_count)) {
            best = (int)k;
            best_rank = rank;
            best_count = first;
        }
    }
    return best < 0 ? 0 : cands[best];
}

/* Writes names as "a, b, c" into buf (bounded; "..." when cut). */
static void rd_name_list(char *const *names, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        int w = snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        if ((size_t)w >= size - o) {
            if (size > 4)
                memcpy(buf + size - 4, "...", 4);
            break;
        }
        o += (size_t)w;
    }
}

/* Address hits of column i in the sample (0 beyond the counted columns). */
static size_t rd_hits(const rd_sniff *sn, size_t i)
{
    return i < sn->nhits ? sn->hits[i] : 0;
}

/* The column whose sampled cells hold addresses most often (ties: the
 * leftmost), or -1 when none does. Counts the first row too when it is data. */
static long rd_best_content(const rd_sniff *sn, bool first_is_data)
{
    long best = -1;
    size_t best_hits = 0;
    size_t n = sn->nhits > sn->nfirst ? sn->nhits : sn->nfirst;
    for (size_t i = 0; i < n; i++) {
        size_t h = rd_hits(sn, i);
        if (first_is_data && i < sn->nfirst && sn->first_valid[i])
            h++;
        if (h > best_hits) {
            best_hits = h;
            best = (long)i;
        }
    }
    return best;
}

/* The column picked by header name among names[0..n): an exact known name
 * (the most generic, then the leftmost), else a name containing "email" (the one with most address
 * hits in the sample, leftmost on ties). *exact tells which; -1 when no
 * name matches. */
static long rd_best_name(char *const *names, size_t n, const rd_sniff *sn, bool *exact)
{
    long contains = -1, best = -1;
    size_t contains_hits = 0, best_rank = 0;
    for (size_t i = 0; i < n; i++) {
        size_t rank = 0;
        enum rd_name_match m = rd_name_match(names[i], strlen(names[i]), &rank);
        if (m == RD_NAME_EXACT && (best < 0 || rank < best_rank)) {
            best = (long)i;
            best_rank = rank;
        }
        if (m == RD_NAME_CONTAINS && (contains < 0 || rd_hits(sn, i) > contains_hits)) {
            contains = (long)i;
            contains_hits = rd_hits(sn, i);
        }
    }
    *exact = best >= 0;
    return best >= 0 ? best : contains;
}

/* True when the first sampled record is a header row (CSV, TSV, TEXT): none
 * of its cells holds an address, and a cell has an email-like name or
 * (CSV/TSV) later rows hold addresses in a column where the first row holds
 * nothing like one. A plain-text first line also needs the name. */
static bool rd_first_is_header(const bk_reader *r, const rd_sniff *sn)
{
    if (!sn->have_first || sn->first_addr)
        return false;
    bool exact;
    bool named = rd_best_name(sn->first, sn->nfirst, sn, &exact) >= 0;
    if (r->format == BK_FMT_TEXT)
        return named && !strchr(sn->first[0], '@');
    if (named)
        return true;
    long c = rd_best_content(sn, false);
    return c >= 0 && ((size_t)c >= sn->nfirst || !strchr(sn->first[(size_t)c], '@'));
}

/* Resolves --column (a 1-based number or a header name) into *col, or
 * into r->email_key for NDJSON without a header. 0 or -1 with err set. */
static int rd_named_column(bk_reader *r, const rd_sniff *sn, const char *column, long *col, const char *names,
                           char *err, size_t errlen)
{
    bool ndjson = r->format == BK_FMT_NDJSON;
    if (strspn(column, "0123456789") == strlen(column)) {
        size_t ncols = ndjson ? r->nheader : r->format == BK_FMT_TEXT ? 1 : sn->maxcols;
        if (r->nheader > ncols)
            ncols = r->nheader;
        errno = 0;
        unsigned long v = strtoul(column, NULL, 10);
        if (errno || v == 0 || v > ncols) {
            snprintf(err, errlen, "--column %s: %s has %zu column%s", column, r->name, ncols,
                     ncols == 1 ? "" : "s");
            return -1;
        }
        *col = (long)v - 1;
        return 0;
    }
    for (size_t i = 0; i < r->nheader; i++)
        if (strcasecmp(r->header[i], column) == 0) {
            *col = (long)i;
            return 0;
        }
    if (ndjson && !r->nheader) {
        /* no object seen yet: take the key as given */
        r->email_key = strdup(column);
        if (!r->email_key) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        *col = -1;
        return 0;
    }
    if (r->nheader)
        snprintf(err, errlen, "no column %s in the header (%s)", column, names);
    else
        snprintf(err, errlen, "no column %s: %s has no header row (give a column number)", column, r->name);
    return -1;
}

/* Decides the header and the email column from the sniff, honouring
 * --column. Takes the header names out of sn. 0 or -1 with err set. */
static int rd_decide(bk_reader *r, rd_sniff *sn, const char *column, bool optional, char *err, size_t errlen)
{
    bool ndjson = r->format == BK_FMT_NDJSON;
    bool has_header = ndjson ? sn->have_first : rd_first_is_header(r, sn);
    if (has_header) {
        r->header = sn->first; /* now the reader's */
        r->nheader = sn->nfirst;
        r->skip_first = !ndjson;
        sn->first = NULL;
        sn->nfirst = 0;
    }
    char names[256];
    rd_name_list(r->header, r->nheader, names, sizeof names);

    long col = -1;
    if (column && *column) {
        if (rd_named_column(r, sn, column, &col, names, err, errlen) != 0)
            return -1;
    } else if (r->format == BK_FMT_TEXT) {
        col = 0;
    } else {
        bool exact = false;
        long content = rd_best_content(sn, !has_header && !ndjson);
        col = rd_best_name(r->header, r->nheader, sn, &exact);
        if (col >= 0 && !exact && rd_hits(sn, (size_t)col) == 0 && content >= 0)
            col = content; /* a name like "email_opt_in", but the addresses are elsewhere */
        if (col < 0)
            col = content;
        bool nothing = sn->nrecs == 0 || (has_header && sn->nrows == 0 && !ndjson);
        if (col < 0 && !nothing && optional) {
            r->email_col = -1;
            return 0;
        }
        if (col < 0 && !nothing) {
            if (ndjson && !has_header)
                snprintf(err, errlen,
                         "no email column found in %s (no JSON object in its first"
                         " lines); name it with --column",
                         r->name);
            else if (r->nheader)
                snprintf(err, errlen,
                         "no email column found in %s (header: %s); name it with"
                         " --column",
                         r->name, names);
            else {
                /* no header was recognised: show the first row, likely one */
                rd_name_list(sn->first, sn->nfirst, names, sizeof names);
                snprintf(err, errlen,
                         "no email column found in %s (header: %s); name it with"
                         " --column",
                         r->name, names);
            }
            return -1;
        }
        if (col < 0 && !ndjson)
            col = 0; /* empty input, or only a header */
    }
    if (ndjson) {
        r->email_col = -1;
        if (col >= 0 && (size_t)col < r->nheader) {
            r->email_key = strdup(r->header[col]);
            if (!r->email_key) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
        }
    } else
        r->email_col = col;
    return 0;
}

/* Describes a UTF-16/UTF-32 start of input (BOM or NULs in the first bytes)
 * in buf, or returns false when the bytes do not look like either. */
static bool rd_wide_text(const unsigned char *p, size_t n, char *buf, size_t size)
{
    const char *what = NULL;
    if (n >= 4 && p[0] == 0xFF && p[1] == 0xFE && p[2] == 0 && p[3] == 0)
        what = "UTF-32 (little-endian, with a BOM)";
    else if (n >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0xFE && p[3] == 0xFF)
        what = "UTF-32 (big-endian, with a BOM)";
    else if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE)
        what = "UTF-16 (little-endian, with a BOM)";
    else if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF)
        what = "UTF-16 (big-endian, with a BOM)";
    else if (n >= 4 && p[0] != 0 && p[1] == 0 && p[2] == 0 && p[3] == 0)
        what = "UTF-32 (little-endian)";
    else if (n >= 4 && p[0] == 0 && p[1] == 0 && p[2] == 0 && p[3] != 0)
        what = "UTF-32 (big-endian)";
    else if (n >= 2 && p[0] != 0 && p[1] == 0)
        what = "UTF-16 (little-endian)";
    else if (n >= 2 && p[0] == 0 && p[1] != 0)
        what = "UTF-16 (big-endian)";
    if (!what)
        return false;
    snprintf(buf, size, "the file looks like %s text; save it as UTF-8 and try again", what);
    return true;
}

/* True when the input is to go through the XLSX converter: an .xlsx or
 * .xlsm name, or bytes that start like a zip or an OLE compound file (an
 * old .xls or an encrypted workbook, which the converter names). */
static bool rd_is_workbook(const char *name, const unsigned char *p, size_t n)
{
    static const unsigned char ole[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };
    const char *dot = strrchr(name, '.');
    if (dot && (strcasecmp(dot, ".xlsx") == 0 || strcasecmp(dot, ".xlsm") == 0))
        return true;
    return (n >= 4 && (memcmp(p, "PK\x03\x04", 4) == 0 || memcmp(p, "PK\x05\x06", 4) == 0)) ||
           (n >= sizeof ole && memcmp(p, ole, sizeof ole) == 0);
}

/* Converts the workbook (the read-ahead bytes, then the rest of r->in) into
 * a tmpfile that becomes r->in, owned by the reader, and empties the
 * buffer so that reading starts over on the CSV. 0, or -1 with err set. */
static int rd_from_workbook(bk_reader *r, char *err, size_t errlen)
{
    FILE *tmp = tmpfile();
    if (!tmp) {
        snprintf(err, errlen, "%s: cannot make a temporary file: %s", r->name, strerror(errno));
        return -1;
    }
    if (bk_xlsx_to_csv_head(r->buf, r->end, r->eof ? NULL : r->in, tmp, r->name, err, errlen) != 0 ||
        fseek(tmp, 0, SEEK_SET) != 0) {
        if (!err[0])
            snprintf(err, errlen, "%s: cannot read back the converted sheet", r->name);
        fclose(tmp);
        return -1;
    }
    r->in = r->own_in = tmp;
    r->start = r->end = 0;
    r->eof = false;
    return 0;
}

/* Opens a reader; see bulk.h. */
int bk_reader_open(bk_reader **out, FILE *in, const char *name, const bk_reader_opts *o, char *err, size_t errlen)
{
    char scratch[RD_MSG_MAX];
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    *out = NULL;
    bk_reader_opts none = { 0 };
    if (!o)
        o = &none;
    if (!in) {
        snprintf(err, errlen, "%s: no input stream", name ? name : "-");
        return -1;
    }
    bk_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name ? name : "-"))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->in = in;
    r->max_line = o->max_line ? o->max_line : BK_MAX_LINE_DEFAULT;
    /* a longest line plus its CR LF fits; so does the read-ahead */
    r->limit = r->max_line + 2 > RD_READAHEAD ? r->max_line + 2 : RD_READAHEAD;
    r->cap = RD_READAHEAD < r->limit ? RD_READAHEAD : r->limit;
    r->buf = malloc(r->cap);
    r->email_col = -1;
    rd_sniff sn = { 0 };
    if (!r->buf) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    /* the read-ahead: up to RD_READAHEAD bytes, at least one whole line */
    while (!r->eof && r->end < RD_READAHEAD)
        if (rd_fill(r) < 0)
            goto failmsg;
    bool workbook = rd_is_workbook(r->name, r->buf, r->end);
    if (workbook) {
        if (rd_from_workbook(r, err, errlen) != 0)
            goto fail;
        while (!r->eof && r->end < RD_READAHEAD)
            if (rd_fill(r) < 0)
                goto failmsg;
    }
    char wide[160];
    if (rd_wide_text(r->buf, r->end, wide, sizeof wide)) {
        snprintf(err, errlen, "%s: %s", r->name, wide);
        goto fail;
    }
    if (r->end >= 3 && r->buf[0] == 0xEF && r->buf[1] == 0xBB && r->buf[2] == 0xBF)
        r->start = 3;
    while (!r->eof && !memchr(r->buf + r->start, '\n', r->end - r->start) &&
           r->end - r->start <= r->max_line + 1) {
        int f = rd_fill(r);
        if (f < 0)
            goto failmsg;
        if (f == 0 && !r->eof)
            break;
    }
    const unsigned char *p = r->buf + r->start;
    size_t n = r->end - r->start;
    if (!r->eof) {
        /* whole lines only */
        size_t k = n;
        while (k > 0 && p[k - 1] != '\n')
            k--;
        n = k;
    }
    /* refuse what the real pass would refuse at once: NULs, long lines */
    {
        unsigned long line = 1;
        size_t ls = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '\0') {
                snprintf(err, errlen, "%s:%lu: binary data (a NUL byte); is this a text file?", r->name, line);
                goto fail;
            }
            if (p[i] == '\n') {
                if (rd_chomp(p + ls, i + 1 - ls) > r->max_line) {
                    snprintf(err, errlen, "%s:%lu: line longer than %zu bytes", r->name, line, r->max_line);
                    goto fail;
                }
                line++;
                ls = i + 1;
            }
        }
        if (n == 0 && r->end - r->start > r->max_line + 1) {
            snprintf(err, errlen, "%s:1: line longer than %zu bytes", r->name, r->max_line);
            goto fail;
        }
    }

    /* the format */
    bk_format ext = bk_format_from_name(r->name);
    size_t fb = 0;
    while (fb < n && rd_is_space(p[fb]))
        fb++;
    r->format = o->format;
    if (workbook) {
        r->format = BK_FMT_CSV; /* what the converter wrote, whatever was asked */
        r->delim = ',';
    }
    if (r->format == BK_FMT_JSON || (r->format == BK_FMT_AUTO && ext == BK_FMT_JSON && fb < n && p[fb] == '[')) {
        snprintf(err, errlen,
                 "%s: a JSON array is not read as input; give one JSON object per line"
                 " (NDJSON)",
                 r->name);
        goto fail;
    }
    if (r->format == BK_FMT_AUTO) {
        if (ext == BK_FMT_NDJSON || ext == BK_FMT_TSV)
            r->format = ext;
        else if (fb < n && p[fb] == '{')
            r->format = BK_FMT_NDJSON;
        else {
            r->delim = rd_sniff_delim(p, n, ",\t;|");
            r->format = r->delim == '\t'    ? BK_FMT_TSV
                        : r->delim          ? BK_FMT_CSV
                        : ext == BK_FMT_CSV ? BK_FMT_CSV
                                            : BK_FMT_TEXT;
        }
    }
    if (r->format == BK_FMT_TSV)
        r->delim = '\t';
    else if (r->format == BK_FMT_CSV) {
        if (r->delim == 0 || r->delim == '\t')
            r->delim = rd_sniff_delim(p, n, ",;|");
        if (r->delim == 0)
            r->delim = ',';
    } else
        r->delim = 0;

    /* the sample */
    if (r->format == BK_FMT_CSV || r->format == BK_FMT_TSV)
        rd_sniff_csv(&sn, p, n, r->delim, r->eof);
    else if (r->format == BK_FMT_NDJSON)
        rd_sniff_ndjson(&sn, p, n);
    else
        rd_sniff_text(&sn, p, n);
    if (sn.oom) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (rd_decide(r, &sn, o->column, o->column_optional, err, errlen) != 0)
        goto fail;
    if (r->format == BK_FMT_CSV || r->format == BK_FMT_TSV) {
        if (rd_csv_init(&r->csv, r->delim) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        r->csv_ready = true;
    }
    rd_sniff_free(&sn);
    *out = r;
    return 0;
failmsg:
    snprintf(err, errlen, "%s", r->msg);
fail:
    rd_sniff_free(&sn);
    bk_reader_free(r);
    return -1;
}

/* The sniffed format (CSV, TSV, TEXT or NDJSON). */
bk_format bk_reader_format(const bk_reader *r)
{
    return r->format;
}

/* The CSV/TSV delimiter, 0 for TEXT and NDJSON. */
char bk_reader_delimiter(const bk_reader *r)
{
    return r->delim;
}

/* The header row (owned by the reader), and how many names it has. */
size_t bk_reader_header(const bk_reader *r, const char *const **fields)
{
    *fields = r->nheader ? (const char *const *)r->header : NULL;
    return r->nheader;
}

/* The 0-based email column, -1 for NDJSON. */
long bk_reader_email_column(const bk_reader *r)
{
    return r->email_col;
}

/* The NDJSON email key (owned by the reader), NULL otherwise or when none. */
const char *bk_reader_email_key(const bk_reader *r)
{
    return r->email_key;
}

/* How many rows bk_reader_next returned. */
unsigned long bk_reader_rows(const bk_reader *r)
{
    return r->rows;
}

/* Frees the reader and everything it owns: not the caller's FILE, but the
 * tmpfile an .xlsx was converted into. Accepts NULL. */
void bk_reader_free(bk_reader *r)
{
    if (!r)
        return;
    if (r->csv_ready)
        csv_free(&r->csv);
    for (size_t i = 0; i < r->nheader; i++)
        free(r->header[i]);
    free(r->header);
    free(r->email_key);
    free(r->email);
    free(r->fptrs);
    rd_rowbuf_free(&r->rb);
    free(r->buf);
    free(r->name);
    if (r->own_in)
        fclose(r->own_in);
    free(r);
}

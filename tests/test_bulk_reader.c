/*
 * test_bulk_reader.c - the bulk input reader (src/bulk/reader.c): format
 * and delimiter sniffing, header and email-column detection, --column,
 * CSV quoting and line numbers, plain text, NDJSON, bk_cell_address, and
 * errors that name their line. Inputs are temporary files, a memory stream
 * and a real pipe.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bulk.h"
#include "tap.h"

/* What one read produced: open's result, the rows as text, the final error. */
typedef struct got {
    int open_rc;
    int end_rc; /* bk_reader_next's last result: 0 or -1 */
    char err[1024];
    char *dump; /* one line per row: "LINE:f1|f2 => email" ("!" when bad_utf8) */
    size_t nrows;
    bk_format format;
    char delim;
    size_t nheader;
    char header[256]; /* "a|b|c" */
    long col;
    char key[64];
} got;

/* Appends printf-style text to a growing string. */
__attribute__((format(printf, 3, 4))) static void append(char **s, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    char *t = realloc(*s, *len + (size_t)n + 1);
    if (!t)
        return;
    *s = t;
    va_start(ap, fmt);
    vsnprintf(*s + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *len += (size_t)n;
}

/* Reads everything from `in` with the given options into *g. */
static void read_stream(got *g, FILE *in, const char *name, const char *column, bk_format fmt, size_t max_line)
{
    memset(g, 0, sizeof *g);
    size_t dlen = 0;
    g->dump = calloc(1, 1);
    bk_reader_opts o = { .format = fmt, .column = column, .max_line = max_line };
    bk_reader *r = NULL;
    g->open_rc = bk_reader_open(&r, in, name, &o, g->err, sizeof g->err);
    if (g->open_rc != 0) {
        g->end_rc = -1;
        return;
    }
    g->format = bk_reader_format(r);
    g->delim = bk_reader_delimiter(r);
    const char *const *h;
    g->nheader = bk_reader_header(r, &h);
    size_t hl = 0;
    for (size_t i = 0; i < g->nheader; i++) {
        int w = snprintf(g->header + hl, sizeof g->header - hl, "%s%s", i ? "|" : "", h[i]);
        if (w > 0 && (size_t)w < sizeof g->header - hl)
            hl += (size_t)w;
    }
    g->col = bk_reader_email_column(r);
    const char *k = bk_reader_email_key(r);
    snprintf(g->key, sizeof g->key, "%s", k ? k : "");
    bk_row row;
    int rc;
    while ((rc = bk_reader_next(r, &row, g->err, sizeof g->err)) == 1) {
        append(&g->dump, &dlen, "%lu:", row.line);
        for (size_t i = 0; i < row.nfields; i++) {
            if (strlen(row.fields[i]) != row.lens[i])
                append(&g->dump, &dlen, "<len mismatch>");
            append(&g->dump, &dlen, "%s%s", i ? "|" : "", row.fields[i]);
        }
        if (row.email)
            append(&g->dump, &dlen, " => %.*s", (int)row.email_len, row.email);
        else
            append(&g->dump, &dlen, " => (null)");
        append(&g->dump, &dlen, "%s\n", row.bad_utf8 ? " !" : "");
        g->nrows++;
    }
    g->end_rc = rc;
    if (rc == -1) {
        /* the reader is finished: it says so again */
        char again[1024];
        if (bk_reader_next(r, &row, again, sizeof again) != -1 || strcmp(again, g->err) != 0)
            append(&g->dump, &dlen, "<error not repeated>");
    }
    if (bk_reader_rows(r) != g->nrows)
        append(&g->dump, &dlen, "<rows count wrong>");
    bk_reader_free(r);
}

/* Reads `len` bytes of `data` from a temporary file named like `name`. */
static void read_data(got *g, const char *data, size_t len, const char *name, const char *column, bk_format fmt,
                      size_t max_line)
{
    FILE *f = tmpfile();
    if (!f || fwrite(data, 1, len, f) != len || fseek(f, 0, SEEK_SET) != 0) {
        memset(g, 0, sizeof *g);
        g->open_rc = -2;
        snprintf(g->err, sizeof g->err, "tmpfile: %s", strerror(errno));
        if (f)
            fclose(f);
        return;
    }
    read_stream(g, f, name, column, fmt, max_line);
    fclose(f);
}

/* read_data on a NUL-terminated string, automatic format, default max_line. */
static void read_str(got *g, const char *data, const char *name, const char *column)
{
    read_data(g, data, strlen(data), name, column, BK_FMT_AUTO, 0);
}

static void got_free(got *g)
{
    free(g->dump);
    g->dump = NULL;
}

/* Checks a successful read's rows exactly. */
static void expect_rows(const char *what, got *g, const char *want)
{
    if (!CHECK(g->open_rc == 0 && g->end_rc == 0, "%s: read without error", what))
        tap_diag("open %d, end %d, err: %s", g->open_rc, g->end_rc, g->err);
    if (!CHECK(g->dump && strcmp(g->dump, want) == 0, "%s: rows", what))
        tap_diag("got:\n%s# want:\n%s", g->dump ? g->dump : "(none)", want);
}

/* Checks that an error message holds every one of the given pieces. */
static void expect_err(const char *what, const got *g, const char *p1, const char *p2)
{
    bool has = strstr(g->err, p1) && (!p2 || strstr(g->err, p2));
    if (!CHECK(g->end_rc == -1 && has, "%s: error names '%s'%s%s", what, p1, p2 ? " and " : "", p2 ? p2 : ""))
        tap_diag("open %d, end %d, err: %s", g->open_rc, g->end_rc, g->err);
}

static void test_formats(void)
{
    bk_format f = BK_FMT_AUTO;
    CHECK(bk_format_parse("TSV", &f) && f == BK_FMT_TSV, "format_parse TSV");
    CHECK(bk_format_parse("jsonl", &f) && f == BK_FMT_NDJSON, "format_parse jsonl");
    CHECK(bk_format_parse("txt", &f) && f == BK_FMT_TEXT, "format_parse txt");
    CHECK(!bk_format_parse("xlsx", &f) && f == BK_FMT_TEXT, "format_parse refuses xlsx");
    CHECK_STR(bk_format_name(BK_FMT_NDJSON), "ndjson", "format_name ndjson");
    CHECK_STR(bk_format_name(BK_FMT_AUTO), "auto", "format_name auto");
    CHECK(bk_format_from_name("/a/b/List.CSV") == BK_FMT_CSV, "from_name .CSV");
    CHECK(bk_format_from_name("x.tab") == BK_FMT_TSV, "from_name .tab");
    CHECK(bk_format_from_name("x.jsonl") == BK_FMT_NDJSON, "from_name .jsonl");
    CHECK(bk_format_from_name("out.json") == BK_FMT_JSON, "from_name .json");
    CHECK(bk_format_from_name("-") == BK_FMT_AUTO, "from_name -");
    CHECK(bk_format_from_name("dir.csv/list") == BK_FMT_AUTO, "from_name: a dot in a folder");
    CHECK(bk_format_from_name(".csv") == BK_FMT_AUTO, "from_name: a dot file");
}

static void test_cell_address(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "  <a@b.c> ", "a@b.c" },
        { "John Doe <j@x.org>", "j@x.org" },
        { "\"Doe, <John>\" <j@x.org>", "j@x.org" },
        { "mailto:a@b.c?subject=x", "a@b.c" },
        { "MAILTO:x@y.z", "x@y.z" },
        { "<mailto:m@n.io>", "m@n.io" },
        { "\t plain@x.com\r\n", "plain@x.com" },
        { "a?b@x.com", "a?b@x.com" },
        { "   ", "" },
        { "no brackets >", "no brackets >" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = 99;
        const char *a = bk_cell_address(cases[i].in, strlen(cases[i].in), &n);
        bool ok = n == strlen(cases[i].want) && memcmp(a, cases[i].want, n) == 0 && a >= cases[i].in &&
                  a + n <= cases[i].in + strlen(cases[i].in);
        if (!CHECK(ok, "cell_address case %zu -> '%s'", i + 1, cases[i].want))
            tap_diag("got '%.*s'", (int)n, a);
    }
}

static void test_csv(void)
{
    got g;
    read_str(&g, "name,email\nJohn,j@x.org\nAnn,a@y.com\n", "list.csv", NULL);
    expect_rows("plain CSV", &g, "2:John|j@x.org => j@x.org\n3:Ann|a@y.com => a@y.com\n");
    CHECK(g.format == BK_FMT_CSV && g.delim == ',', "plain CSV: csv, ','");
    CHECK_STR(g.header, "name|email", "plain CSV: header");
    CHECK(g.col == 1, "plain CSV: email column 1 (got %ld)", g.col);
    got_free(&g);

    read_str(&g, "Name;E-mail Address;Phone\nJ;j@x.org;+1 555\nK;k@x.org;\n", "-", NULL);
    expect_rows("semicolon CSV", &g, "2:J|j@x.org|+1 555 => j@x.org\n3:K|k@x.org| => k@x.org\n");
    CHECK(g.format == BK_FMT_CSV && g.delim == ';', "semicolon CSV: delimiter ';'");
    CHECK(g.col == 1, "semicolon CSV: \"E-mail Address\" is the email column");
    got_free(&g);

    read_str(&g, "id\tMail\tnote\n1\ta@b.co\thello, world\n2\tc@d.co\t\"q\"\n", "-", NULL);
    expect_rows("TSV", &g, "2:1|a@b.co|hello, world => a@b.co\n3:2|c@d.co|q => c@d.co\n");
    CHECK(g.format == BK_FMT_TSV && g.delim == '\t', "TSV: sniffed");
    got_free(&g);

    read_str(&g, "email|n\na@b.co|1\n", "-", NULL);
    CHECK(g.open_rc == 0 && g.delim == '|', "pipe-delimited: sniffed '|'");
    got_free(&g);

    read_str(&g,
             "id,email,note\n"
             "1,a@b.co,\"hello, \"\"world\"\"\nsecond line\"\n"
             "2,\"c@d.co\",x\n"
             "3,  e@f.co , \" spaced \" \n",
             "-", NULL);
    expect_rows("quoted fields", &g,
                "2:1|a@b.co|hello, \"world\"\nsecond line => a@b.co\n"
                "4:2|c@d.co|x => c@d.co\n"
                "5:3|  e@f.co | \" spaced \"  => e@f.co\n");
    got_free(&g);

    read_str(&g, "email,name\r\na@b.co,\"A\"\r\n\r\nc@d.co,C\r\n\"e@f.co\",\"multi\r\nline\"\r\ng@h.co,G", "-",
             NULL);
    expect_rows("CRLF", &g,
                "2:a@b.co|A => a@b.co\n4:c@d.co|C => c@d.co\n5:e@f.co|multi\r\nline => e@f.co\n"
                "7:g@h.co|G => g@h.co\n");
    got_free(&g);

    read_str(&g,
             "\xEF\xBB\xBF"
             "email,name\na@b.co,A\n",
             "-", NULL);
    expect_rows("BOM", &g, "2:a@b.co|A => a@b.co\n");
    CHECK_STR(g.header, "email|name", "BOM: skipped, header name clean");
    got_free(&g);

    read_str(&g, "John,j@x.org,1\nAnn,a@y.com,2\nBob,b@z.net,3\n", "-", NULL);
    expect_rows("no header", &g,
                "1:John|j@x.org|1 => j@x.org\n2:Ann|a@y.com|2 => a@y.com\n3:Bob|b@z.net|3 => b@z.net\n");
    CHECK(g.nheader == 0 && g.col == 1, "no header: column 2 found by content");
    got_free(&g);

    read_str(&g, "first,second,third\nJohn,j@x.org,1\nAnn,a@y.com,2\n", "-", NULL);
    CHECK(g.open_rc == 0 && g.nheader == 3 && g.col == 1,
          "header without an email name: found by the addresses below it");
    got_free(&g);

    read_str(&g, "email_opt_in,contact\nyes,a@b.co\nno,c@d.co\n", "-", NULL);
    CHECK(g.open_rc == 0 && g.nheader == 2 && g.col == 1,
          "a name containing \"email\" without addresses yields to content (col %ld)", g.col);
    got_free(&g);

    read_str(&g, "Name,Work Email,Email\nA,w@x.org,p@y.org\n", "-", NULL);
    CHECK(g.col == 2, "exact \"Email\" preferred over \"Work Email\"");
    got_free(&g);

    read_str(&g, "Nom,Courriel\nA,a@b.fr\n", "-", NULL);
    CHECK(g.col == 1, "\"Courriel\" is an email header");
    got_free(&g);

    read_str(&g, "name,email\nA,a@b.co\nB,a@b.co\nA,a@b.co\n", "-", NULL);
    expect_rows("duplicates", &g, "2:A|a@b.co => a@b.co\n3:B|a@b.co => a@b.co\n4:A|a@b.co => a@b.co\n");
    got_free(&g);

    read_str(&g, "name,email,x\n\nA,a@b.co,1\n  \nB\nC,\n\n", "-", NULL);
    expect_rows("blank lines and short rows", &g, "3:A|a@b.co|1 => a@b.co\n5:B => (null)\n6:C| => \n");
    got_free(&g);

    read_str(&g, "email,name\na@b.co,\xff\xfe bad\nc@d.co,caf\xc3\xa9\n", "-", NULL);
    expect_rows("invalid UTF-8", &g, "2:a@b.co|\xff\xfe bad => a@b.co !\n3:c@d.co|caf\xc3\xa9 => c@d.co\n");
    got_free(&g);

    read_str(&g, "", "-", NULL);
    expect_rows("empty input", &g, "");
    CHECK(g.nheader == 0, "empty input: no header");
    got_free(&g);

    read_str(&g, "name,email\n", "-", NULL);
    expect_rows("only a header", &g, "");
    CHECK(g.nheader == 2, "only a header: header kept");
    got_free(&g);
}

static void test_column(void)
{
    got g;
    const char *in = "Name,Contact,Other\nJ,j@x.org,o@x.org\nK,k@x.org,\n";
    read_str(&g, in, "-", "contact");
    CHECK(g.open_rc == 0 && g.col == 1, "--column contact (case-insensitive)");
    got_free(&g);
    read_str(&g, in, "-", "3");
    expect_rows("--column 3", &g, "2:J|j@x.org|o@x.org => o@x.org\n3:K|k@x.org| => \n");
    CHECK(g.col == 2, "--column 3 is index 2");
    got_free(&g);
    read_str(&g, in, "-", "4");
    expect_err("--column 4", &g, "--column 4", "3 columns");
    got_free(&g);
    read_str(&g, in, "-", "0");
    expect_err("--column 0", &g, "--column 0", NULL);
    got_free(&g);
    read_str(&g, in, "in.csv", "mail");
    expect_err("--column mail", &g, "no column mail in the header (Name, Contact, Other)", NULL);
    got_free(&g);
    read_str(&g, "j@x.org,1\nk@x.org,2\n", "-", "email");
    expect_err("--column name without a header", &g, "no column email", "no header");
    got_free(&g);
    read_str(&g, "j@x.org,1\nk@x.org,2\n", "-", "2");
    expect_rows("--column 2 without a header", &g, "1:j@x.org|1 => 1\n2:k@x.org|2 => 2\n");
    got_free(&g);
}

static void test_text(void)
{
    got g;
    read_str(&g, "a@b.co\n\nJohn <c@d.co>\n\"quoted, x\"@e.co\n", "-", NULL);
    expect_rows("text", &g,
                "1:a@b.co => a@b.co\n3:John <c@d.co> => c@d.co\n"
                "4:\"quoted, x\"@e.co => \"quoted, x\"@e.co\n");
    CHECK(g.format == BK_FMT_TEXT && g.delim == 0 && g.col == 0, "text: sniffed");
    got_free(&g);
    read_str(&g, "Email\r\na@b.co\r\nnot an address\r\n", "-", NULL);
    expect_rows("text with header", &g, "2:a@b.co => a@b.co\n3:not an address => not an address\n");
    CHECK_STR(g.header, "Email", "text: header");
    got_free(&g);
    read_str(&g, "junk\na@b.co\n", "-", NULL);
    expect_rows("text: a first line that is no header name is data", &g, "1:junk => junk\n2:a@b.co => a@b.co\n");
    got_free(&g);
}

static void test_ndjson(void)
{
    got g;
    read_str(&g,
             "{\"name\":\"A\",\"email\":\"a@b.co\",\"n\":1}\n"
             "not json\n"
             "\n"
             "{\"name\":\"B\",\"email\":5}\n"
             "[1,2]\n"
             "{\"email\":\"Bob <b@c.co>\"}\r\n"
             "{\"name\":\"no key\"}\n",
             "-", NULL);
    expect_rows("ndjson", &g,
                "1:{\"name\":\"A\",\"email\":\"a@b.co\",\"n\":1} => a@b.co\n"
                "2:not json => (null)\n"
                "4:{\"name\":\"B\",\"email\":5} => (null)\n"
                "5:[1,2] => (null)\n"
                "6:{\"email\":\"Bob <b@c.co>\"} => b@c.co\n"
                "7:{\"name\":\"no key\"} => (null)\n");
    CHECK(g.format == BK_FMT_NDJSON && g.col == -1, "ndjson: sniffed by '{'");
    CHECK_STR(g.header, "name|email|n", "ndjson: header = keys of the first object, in order");
    CHECK_STR(g.key, "email", "ndjson: email key");
    got_free(&g);

    read_str(&g, "{\"who\":\"x\",\"addr\":\"a@b.co\"}\n", "list.jsonl", "ADDR");
    expect_rows("ndjson --column", &g, "1:{\"who\":\"x\",\"addr\":\"a@b.co\"} => a@b.co\n");
    CHECK_STR(g.key, "addr", "ndjson --column: the header's spelling");
    got_free(&g);

    read_str(&g, "{\"who\":\"x\",\"E-Mail\":\"a@b.co\"}\n", "-", NULL);
    CHECK(g.open_rc == 0 && strcmp(g.key, "E-Mail") == 0, "ndjson: key found by name");
    got_free(&g);

    read_str(&g, "{\"who\":\"x\",\"n\":2}\n", "-", NULL);
    expect_err("ndjson without an email key", &g, "no email column found", "who, n");
    got_free(&g);

    read_str(&g, "[{\"email\":\"a@b.co\"}]\n", "in.json", NULL);
    expect_err("a JSON array", &g, "NDJSON", NULL);
    got_free(&g);
}

static void test_errors(void)
{
    got g;
    read_data(&g, "email\na@b.co\nc@\0d.co\n", 21, "nul.csv", NULL, BK_FMT_AUTO, 0);
    expect_err("NUL on line 3", &g, "nul.csv:3:", "binary");
    got_free(&g);

    read_data(&g,
              "\xFF\xFE"
              "e\0m\0a\0i\0l\0\n\0",
              14, "u16.csv", NULL, BK_FMT_AUTO, 0);
    expect_err("UTF-16 LE BOM", &g, "UTF-16", "UTF-8");
    got_free(&g);

    read_data(&g, "e\0m\0a\0i\0l\0\n\0", 12, "u16.txt", NULL, BK_FMT_AUTO, 0);
    expect_err("UTF-16 without a BOM", &g, "UTF-16", "UTF-8");
    got_free(&g);

    /* a NUL beyond the read-ahead: the rows before it come first */
    {
        size_t n = 0, cap = 200000;
        char *big = malloc(cap);
        n += (size_t)snprintf(big, cap, "email\n");
        unsigned long line = 1;
        while (n < 100000) {
            n += (size_t)snprintf(big + n, cap - n, "u%lu@x.org\n", line);
            line++;
        }
        memcpy(big + n, "bad\0line\n", 9);
        n += 9;
        read_data(&g, big, n, "late.txt", NULL, BK_FMT_AUTO, 0);
        char want[64];
        snprintf(want, sizeof want, "late.txt:%lu:", line + 1);
        expect_err("NUL after the read-ahead", &g, want, "binary");
        CHECK(g.nrows == line - 1, "NUL after the read-ahead: the %lu rows before it were read (got %zu)",
              line - 1, g.nrows);
        got_free(&g);
        free(big);
    }

    /* a 2 MiB line with max_line 1 MiB, and a 10 MB line with the default */
    size_t sizes[2] = { 2u * 1024 * 1024, 10u * 1000 * 1000 };
    size_t maxes[2] = { 1024u * 1024, 0 };
    for (int i = 0; i < 2; i++) {
        const char *head = "email,n\na@b.co,1\nc@d.co,";
        size_t hl = strlen(head), n = hl + sizes[i] + 1;
        char *big = malloc(n);
        memcpy(big, head, hl);
        memset(big + hl, 'x', sizes[i]);
        big[n - 1] = '\n';
        read_data(&g, big, n, "long.csv", NULL, BK_FMT_AUTO, maxes[i]);
        expect_err(i ? "10 MB line, default max_line" : "2 MiB line, max_line 1 MiB", &g,
                   "long.csv:3:", "line longer than 1048576 bytes");
        CHECK(g.nrows == 1, "long line: the row before it was read");
        got_free(&g);
        free(big);
    }

    /* a small max_line: a quoted field that runs on is stopped at its start line */
    {
        char buf[4096];
        size_t n = (size_t)snprintf(buf, sizeof buf, "email,note\na@b.co,\"open\n");
        for (int i = 0; i < 40; i++)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "more text %d\n", i);
        read_data(&g, buf, n, "run.csv", NULL, BK_FMT_AUTO, 100);
        expect_err("record longer than max_line", &g, "run.csv:2:", "record longer than 100");
        got_free(&g);
    }

    read_str(&g, "email,n\na@b.co,1\nc@d.co,2\ne@f.co,\"open\nmore\n\nlast", "q.csv", NULL);
    expect_err("unclosed quote", &g, "q.csv:4:", "never closed");
    CHECK(g.nrows == 2, "unclosed quote: the rows before it were read");
    got_free(&g);

    read_str(&g, "name,phone\nA,1\nB,2\n", "nomail.csv", NULL);
    expect_err("no email column", &g, "no email column found in nomail.csv (header: name, phone)", "--column");
    got_free(&g);

    FILE *d = fopen("/", "r");
    if (d) {
        read_stream(&g, d, "/", NULL, BK_FMT_AUTO, 0);
        expect_err("a directory", &g, "cannot read", strerror(EISDIR));
        got_free(&g);
        fclose(d);
    } else
        CHECK(0, "fopen(\"/\") for the unreadable-input case: %s", strerror(errno));
}

/* A non-seekable input: the reader must not rewind after sniffing. A
 * memory stream with a header and 5,000 rows (beyond the read-ahead), then
 * the same bytes through a real pipe. */
static void test_streams(void)
{
    size_t cap = 300000, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "id;address\n");
    for (int i = 1; i <= 5000; i++)
        n += (size_t)snprintf(big + n, cap - n, "%d;\"user%d@example.org\"\n", i, i);
    n += (size_t)snprintf(big + n, cap - n, "last;\"multi\nline\"\nend;e@x.org");

    got g;
    FILE *m = fmemopen(big, n, "r");
    read_stream(&g, m, "-", NULL, BK_FMT_AUTO, 0);
    fclose(m);
    CHECK(g.open_rc == 0 && g.end_rc == 0 && g.nrows == 5002 && g.delim == ';',
          "memory stream: 5002 rows with ';' (got %zu, err %s)", g.nrows, g.err);
    const char *tail = "5002:last|multi\nline => multi\nline\n5004:end|e@x.org => e@x.org\n";
    size_t tl = strlen(tail), dl = g.dump ? strlen(g.dump) : 0;
    CHECK(dl >= tl && strcmp(g.dump + dl - tl, tail) == 0, "memory stream: last rows and lines");
    CHECK(g.dump && strstr(g.dump, "\n3001:3000|user3000@example.org => user3000@example.org\n"),
          "memory stream: a row after the read-ahead");
    char *first_dump = g.dump;
    g.dump = NULL;
    got_free(&g);

    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "pipe: %s", strerror(errno));
        free(first_dump);
        free(big);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(fds[1], big + off, n - off > 1000 ? 1000 : n - off);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(fds[1]);
    FILE *p = fdopen(fds[0], "r");
    read_stream(&g, p, "-", NULL, BK_FMT_AUTO, 0);
    fclose(p);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(g.open_rc == 0 && g.end_rc == 0 && first_dump && g.dump && strcmp(g.dump, first_dump) == 0,
          "pipe: the same rows as the memory stream");
    got_free(&g);
    free(first_dump);
    free(big);
}

int main(void)
{
    test_formats();
    test_cell_address();
    test_csv();
    test_column();
    test_text();
    test_ndjson();
    test_errors();
    test_streams();
    return tap_done();
}

/*
 * test_bulk_xlsx.c - XLSX input (src/bulk/xlsx.c, and the reader taking an
 * .xlsx through it): workbooks are written here with libarchive's zip
 * writer, in both part orders (shared strings before and after the sheet,
 * workbook parts before and after the sheets), deflated and stored, read
 * from files and from a real pipe. Checks shared, inline and rich strings,
 * numbers, booleans, errors, gap columns, skipped rows, rows padded to the
 * widest (so appended columns line up), CSV quoting, the
 * choice of the first worksheet, and the refusals: truncated zip, zip bomb,
 * oversized shared strings, too many columns, .xls, a DTD, not a workbook.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "bulk.h"
#include "tap.h"

#define MIB ((size_t)1024 * 1024)

/* One zip entry: data, or (when fill is set) head + fill bytes of fillc + tail. */
typedef struct part {
    const char *name;
    const char *data;
    size_t fill;
    char fillc;
    const char *tail;
} part;

static const char *ct = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                        "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
                        "<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";
static const char *wb1 = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                         "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
                         " xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
                         "<sheets><sheet name=\"List\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char *rels1 =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId9\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>";
static const char *sst1 = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                          "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" count=\"5\""
                          " uniqueCount=\"5\"><si><t>Name</t></si><si><t>Email</t></si>"
                          "<si><t>Doe, Jane</t></si>"
                          "<si><r><rPr><b/></rPr><t>bob@</t></r><r><t>example.org</t></r>"
                          "<rPh sb=\"0\" eb=\"1\"><t>PHONETIC</t></rPh></si>"
                          "<si><t xml:space=\"preserve\"> sp &amp; &lt;x&gt; </t></si></sst>";
/* A1 "Name" B1 "Email" C1 inline "Score"; row 2; rows 3-4 skipped; row 5 with a
 * gap in C; row 6 the widest (E), with a formula string, an error and a cell
 * without r; row 7 only a styled empty cell; row 8 empty; row 9 with a
 * trailing empty string cell. Every row comes out 5 cells wide. */
static const char *sheet1 =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<dimension ref=\"A1:D9\"/><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
    "<c r=\"C1\" t=\"inlineStr\"><is><t>Score</t></is></c></row>\n"
    "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>2</v></c><c r=\"B2\" t=\"inlineStr\"><is><r><t>jane@</t></r>"
    "<r><t>example.com</t></r></is></c><c r=\"C2\"><v>42</v></c></row>\n"
    "<row r=\"5\"><c r=\"B5\" t=\"s\"><v>3</v></c><c r=\"D5\" t=\"b\"><v>1</v></c></row>\n"
    "<row r=\"6\"><c r=\"A6\" t=\"str\"><f>CONCAT(\"x\")</f><v>say \"hi\"</v></c>"
    "<c r=\"C6\" t=\"e\"><v>#N/A</v></c><c><v>1.5E-3</v></c><c r=\"E6\" t=\"s\"><v>4</v></c></row>\n"
    "<row r=\"7\"><c r=\"A7\" s=\"3\"/></row><row r=\"8\"/>\n"
    "<row r=\"9\"><c r=\"B9\" t=\"inlineStr\"><is><t>x@y.example</t></is></c>"
    "<c r=\"C9\" t=\"b\"><v>0</v></c><c r=\"G9\" t=\"inlineStr\"><is><t></t></is></c></row>"
    "</sheetData><mergeCells count=\"0\"/></worksheet>";
static const char *want1 = "Name,Email,Score,,\n"
                           "\"Doe, Jane\",jane@example.com,42,,\n"
                           ",bob@example.org,,TRUE,\n"
                           "\"say \"\"hi\"\"\",,#N/A,1.5E-3, sp & <x> \n"
                           ",x@y.example,FALSE,,\n";

/* Writes the parts as a zip into a new tmpfile, rewound; NULL on failure. */
static FILE *make_zip(const part *parts, size_t n, bool store)
{
    FILE *f = tmpfile();
    struct archive *a = archive_write_new();
    if (!f || !a)
        goto bad;
    archive_write_set_format_zip(a);
    if (store && archive_write_set_format_option(a, "zip", "compression", "store") != ARCHIVE_OK)
        goto bad;
    if (archive_write_open_FILE(a, f) != ARCHIVE_OK)
        goto bad;
    for (size_t i = 0; i < n; i++) {
        const part *p = &parts[i];
        size_t dl = strlen(p->data), tl = p->tail ? strlen(p->tail) : 0;
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, p->name);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)(dl + p->fill + tl));
        int rc = archive_write_header(a, e);
        archive_entry_free(e);
        if (rc != ARCHIVE_OK || archive_write_data(a, p->data, dl) < 0)
            goto bad;
        if (p->fill) {
            char *buf = malloc(MIB);
            if (!buf)
                goto bad;
            memset(buf, p->fillc, MIB);
            for (size_t left = p->fill; left > 0;) {
                size_t k = left < MIB ? left : MIB;
                if (archive_write_data(a, buf, k) < 0) {
                    free(buf);
                    goto bad;
                }
                left -= k;
            }
            free(buf);
        }
        if (tl && archive_write_data(a, p->tail, tl) < 0)
            goto bad;
    }
    if (archive_write_close(a) != ARCHIVE_OK)
        goto bad;
    archive_write_free(a);
    fflush(f);
    rewind(f);
    return f;
bad:
    if (a) {
        tap_diag("zip writer: %s", archive_error_string(a) ? archive_error_string(a) : "?");
        archive_write_free(a);
    }
    if (f)
        fclose(f);
    return NULL;
}

/* Converts `in` and returns the CSV (malloc'd, caller frees), or NULL with
 * the message in err. */
static char *convert(FILE *in, const char *name, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    err[0] = '\0';
    if (!out || !in) {
        snprintf(err, errlen, "setup failed");
        if (out)
            fclose(out);
        free(buf);
        return NULL;
    }
    int rc = bk_xlsx_to_csv(in, out, name, err, errlen);
    fclose(out);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* Builds a workbook, converts it, compares the CSV. */
static void expect_csv(const char *what, const part *parts, size_t n, bool store, const char *want)
{
    FILE *f = make_zip(parts, n, store);
    char err[512];
    char *got = convert(f, "t.xlsx", err, sizeof err);
    if (!CHECK(got && strcmp(got, want) == 0, "%s", what))
        tap_diag("err: %s\n# got:\n%s# want:\n%s", err, got ? got : "(none)", want);
    free(got);
    if (f)
        fclose(f);
}

/* Builds a workbook, converts it, checks that it fails naming p1 (and p2). */
static void expect_fail(const char *what, const part *parts, size_t n, bool store, const char *p1, const char *p2)
{
    FILE *f = make_zip(parts, n, store);
    char err[512];
    char *got = convert(f, "bad.xlsx", err, sizeof err);
    bool ok = !got && strstr(err, "bad.xlsx") && strstr(err, p1) && (!p2 || strstr(err, p2));
    if (!CHECK(ok, "%s: refused, naming '%s'", what, p1))
        tap_diag("err: %s; got: %s", err, got ? got : "(none)");
    free(got);
    if (f)
        fclose(f);
}

/* Reads `in` through the bulk reader; the rows as "LINE:f1|f2 => email\n". */
static char *reader_dump(FILE *in, const char *name, char *err, size_t errlen, long *col, bk_format *fmt,
                         char *delim)
{
    bk_reader *r = NULL;
    bk_reader_opts o = { 0 };
    if (bk_reader_open(&r, in, name, &o, err, errlen) != 0)
        return NULL;
    *col = bk_reader_email_column(r);
    *fmt = bk_reader_format(r);
    *delim = bk_reader_delimiter(r);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    bk_row row;
    int rc;
    while ((rc = bk_reader_next(r, &row, err, errlen)) == 1) {
        fprintf(m, "%lu:", row.line);
        for (size_t i = 0; i < row.nfields; i++)
            fprintf(m, "%s%s", i ? "|" : "", row.fields[i]);
        fprintf(m, " => %s\n", row.email ? row.email : "(null)");
    }
    bk_reader_free(r);
    fclose(m);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static const char *want_rows = "2:Doe, Jane|jane@example.com|42|| => jane@example.com\n"
                               "3:|bob@example.org||TRUE| => bob@example.org\n"
                               "4:say \"hi\"||#N/A|1.5E-3| sp & <x>  => \n"
                               "5:|x@y.example|FALSE|| => x@y.example\n";

static void test_convert(void)
{
    /* Excel's order: the shared strings after the sheet (the sheet is spooled) */
    const part excel[] = {
        { "[Content_Types].xml", ct, 0, 0, NULL },           { "xl/workbook.xml", wb1, 0, 0, NULL },
        { "xl/_rels/workbook.xml.rels", rels1, 0, 0, NULL }, { "xl/worksheets/sheet1.xml", sheet1, 0, 0, NULL },
        { "xl/sharedStrings.xml", sst1, 0, 0, NULL },
    };
    expect_csv("shared strings after the sheet (deflated)", excel, 5, false, want1);
    expect_csv("shared strings after the sheet (stored)", excel, 5, true, want1);
    /* the shared strings before the sheet */
    const part direct[] = {
        { "xl/sharedStrings.xml", sst1, 0, 0, NULL },
        { "xl/workbook.xml", wb1, 0, 0, NULL },
        { "xl/_rels/workbook.xml.rels", rels1, 0, 0, NULL },
        { "xl/worksheets/sheet1.xml", sheet1, 0, 0, NULL },
    };
    expect_csv("shared strings before the sheet", direct, 4, false, want1);
    /* the workbook parts last: every worksheet spooled, the first chosen at the end */
    const part late[] = {
        { "xl/worksheets/sheet2.xml",
          "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>"
          "wrong@sheet.example</t></is></c></row></sheetData>"
          "</worksheet>",
          0, 0, NULL },
        { "xl/worksheets/sheet1.xml", sheet1, 0, 0, NULL },
        { "xl/sharedStrings.xml", sst1, 0, 0, NULL },
        { "xl/_rels/workbook.xml.rels", rels1, 0, 0, NULL },
        { "xl/workbook.xml", wb1, 0, 0, NULL },
    };
    expect_csv("workbook parts after the sheets", late, 5, false, want1);
    /* no workbook parts at all: sheet1.xml */
    const part bare[] = {
        { "xl/worksheets/sheet1.xml",
          "<worksheet><sheetData><row r=\"3\"><c r=\"C3\">"
          "<v>7</v></c></row></sheetData></worksheet>",
          0, 0, NULL },
    };
    expect_csv("without workbook parts: xl/worksheets/sheet1.xml", bare, 1, false, ",,7\n");

    /* the first worksheet in tab order that is not hidden, whatever its file name */
    const char *wb3 = "<workbook xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
                      "<sheets><sheet name=\"Secret\" sheetId=\"4\" state=\"hidden\" r:id=\"rId4\"/>"
                      "<sheet name=\"Chart\" sheetId=\"3\" r:id=\"rId3\"/>"
                      "<sheet name=\"Data\" sheetId=\"2\" r:id=\"rId2\"/>"
                      "<sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
    const char *rels3 =
        "<Relationships>"
        "<Relationship Id=\"rId1\" Type=\"http://x/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
        "<Relationship Id=\"rId2\" Type=\"http://x/relationships/worksheet\" Target=\"/xl/worksheets/data.xml\"/>"
        "<Relationship Id=\"rId3\" Type=\"http://x/relationships/chartsheet\" Target=\"chartsheets/sheet1.xml\"/>"
        "<Relationship Id=\"rId4\" Type=\"http://x/relationships/worksheet\" Target=\"worksheets/secret.xml\"/>"
        "</Relationships>";
    const part order[] = {
        { "xl/workbook.xml", wb3, 0, 0, NULL },
        { "xl/_rels/workbook.xml.rels", rels3, 0, 0, NULL },
        { "xl/worksheets/secret.xml",
          "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>"
          "secret</t></is></c></row></sheetData></worksheet>",
          0, 0, NULL },
        { "xl/worksheets/sheet1.xml",
          "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>"
          "sheet1</t></is></c></row></sheetData></worksheet>",
          0, 0, NULL },
        { "xl/worksheets/data.xml",
          "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>"
          "data</t></is></c></row></sheetData></worksheet>",
          0, 0, NULL },
    };
    expect_csv("the first visible worksheet in tab order (not a chartsheet, not hidden)", order, 5, false,
               "data\n");
}

static void test_reader(void)
{
    const part excel[] = {
        { "[Content_Types].xml", ct, 0, 0, NULL },           { "xl/workbook.xml", wb1, 0, 0, NULL },
        { "xl/_rels/workbook.xml.rels", rels1, 0, 0, NULL }, { "xl/worksheets/sheet1.xml", sheet1, 0, 0, NULL },
        { "xl/sharedStrings.xml", sst1, 0, 0, NULL },
    };
    char err[512] = "";
    long col = -2;
    bk_format fmt = BK_FMT_AUTO;
    char delim = 0;
    FILE *f = make_zip(excel, 5, false);
    char *d = f ? reader_dump(f, "List.XLSX", err, sizeof err, &col, &fmt, &delim) : NULL;
    if (!CHECK(d && strcmp(d, want_rows) == 0, "reader: an .xlsx file gives the sheet's rows"))
        tap_diag("err: %s\n# got:\n%s", err, d ? d : "(none)");
    CHECK(col == 1 && fmt == BK_FMT_CSV && delim == ',',
          "reader: CSV with ',', the email column is B by its header (col %ld)", col);
    free(d);

    /* the same bytes through a real pipe, named "-": found by the zip signature */
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        CHECK(0, "pipe: setup");
        if (f)
            fclose(f);
        return;
    }
    long size = ftell(f);
    rewind(f);
    char *bytes = malloc((size_t)size);
    if (!bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size) {
        CHECK(0, "pipe: setup");
        free(bytes);
        fclose(f);
        return;
    }
    fclose(f);
    int fds[2];
    if (pipe(fds) != 0) {
        CHECK(0, "pipe: %s", strerror(errno));
        free(bytes);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        for (long off = 0; off < size;) {
            ssize_t w = write(fds[1], bytes + off, size - off > 700 ? 700 : (size_t)(size - off));
            if (w <= 0)
                _exit(1);
            off += w;
        }
        _exit(0);
    }
    close(fds[1]);
    FILE *p = fdopen(fds[0], "r");
    d = p ? reader_dump(p, "-", err, sizeof err, &col, &fmt, &delim) : NULL;
    if (p)
        fclose(p);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!CHECK(d && strcmp(d, want_rows) == 0, "reader: the same workbook from a pipe named '-'"))
        tap_diag("err: %s\n# got:\n%s", err, d ? d : "(none)");
    free(d);

    /* truncated in the middle of the sheet's data (just after its local
     * header's name): the reader refuses it, naming the file */
    FILE *t = tmpfile();
    const char *sn = "xl/worksheets/sheet1.xml";
    char *at = memmem(bytes, (size_t)size, sn, strlen(sn));
    long cut = at ? (long)(at - bytes) + (long)strlen(sn) + 60 : size / 2;
    CHECK(at && cut < size, "truncation point inside the sheet's data");
    if (t && fwrite(bytes, 1, (size_t)cut, t) == (size_t)cut && fseek(t, 0, SEEK_SET) == 0) {
        d = reader_dump(t, "cut.xlsx", err, sizeof err, &col, &fmt, &delim);
        if (!CHECK(!d && strstr(err, "cut.xlsx") && strstr(err, "truncated"),
                   "reader: a truncated workbook is refused"))
            tap_diag("err: %s", err);
        free(d);
    }
    if (t)
        fclose(t);
    free(bytes);

    /* a CSV named .xlsx, and an old .xls */
    FILE *m = tmpfile();
    fputs("email\na@b.example\n", m);
    rewind(m);
    d = reader_dump(m, "list.xlsx", err, sizeof err, &col, &fmt, &delim);
    CHECK(!d && strstr(err, "list.xlsx: not an .xlsx workbook (not a zip archive)"),
          "reader: a text file named .xlsx is refused (%s)", err);
    free(d);
    fclose(m);
    m = tmpfile();
    static const unsigned char ole[16] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };
    fwrite(ole, 1, sizeof ole, m);
    rewind(m);
    d = reader_dump(m, "old.xls", err, sizeof err, &col, &fmt, &delim);
    CHECK(!d && strstr(err, "old.xls: an Excel 97-2003 .xls or an encrypted workbook: save it as"
                            " .xlsx or CSV"),
          "reader: an .xls (OLE) file gets its own message (%s)", err);
    free(d);
    fclose(m);
    m = tmpfile();
    d = reader_dump(m, "empty.xlsx", err, sizeof err, &col, &fmt, &delim);
    CHECK(!d && strstr(err, "empty.xlsx: empty file"), "reader: an empty .xlsx (%s)", err);
    free(d);
    fclose(m);
}

static void test_refusals(void)
{
    const part ods[] = { { "mimetype", "application/vnd.oasis.opendocument.spreadsheet", 0, 0, NULL },
                         { "content.xml", "<office:document-content/>", 0, 0, NULL } };
    expect_fail("a zip that is not a workbook", ods, 2, false, "not an .xlsx workbook", NULL);

    const part cols[] = {
        { "xl/worksheets/sheet1.xml",
          "<worksheet><sheetData><row r=\"1\"><c r=\"XFD1\"><v>1</v></c>"
          "<c r=\"XFE1\"><v>2</v></c></row></sheetData></worksheet>",
          0, 0, NULL },
    };
    expect_fail("a cell past column XFD", cols, 1, false, "16384 columns", "XFE1");

    const part idx[] = {
        { "xl/worksheets/sheet1.xml",
          "<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\">"
          "<v>5</v></c></row></sheetData></worksheet>",
          0, 0, NULL },
        { "xl/sharedStrings.xml", "<sst><si><t>only</t></si></sst>", 0, 0, NULL },
    };
    expect_fail("a shared string index out of range", idx, 2, false, "shared string 5", "has 1");

    const part broken[] = {
        { "xl/worksheets/sheet1.xml", "<worksheet><sheetData><row><c><v>1</v></row>", 0, 0, NULL },
    };
    expect_fail("malformed XML", broken, 1, false, "damaged workbook: xl/worksheets/sheet1.xml", NULL);

    const part dtd[] = {
        { "xl/worksheets/sheet1.xml",
          "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
          "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
          "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>&lol2;</t></is></c></row>"
          "</sheetData></worksheet>",
          0, 0, NULL },
    };
    expect_fail("a part with a DTD (entity expansion)", dtd, 1, false, "DTD", NULL);

    /* zip bombs: a few hundred KiB that unpack past the bounds */
    const part bigsst[] = {
        { "xl/sharedStrings.xml", "<sst><si><t>", 65 * MIB, 'a', "</t></si></sst>" },
        { "xl/worksheets/sheet1.xml", sheet1, 0, 0, NULL },
    };
    expect_fail("shared strings over 64 MiB", bigsst, 2, false, "shared strings", "64 MiB");
    const part bomb[] = {
        { "xl/sharedStrings.xml", sst1, 0, 0, NULL },
        { "xl/worksheets/sheet1.xml", "<worksheet><sheetData>", 257 * MIB, ' ', "</sheetData></worksheet>" },
    };
    expect_fail("a sheet unpacking past 256 MiB", bomb, 2, false, "more than 256 MiB", NULL);
}

int main(void)
{
    test_convert();
    test_reader();
    test_refusals();
    return tap_done();
}

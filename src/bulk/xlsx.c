/*
 * xlsx.c - XLSX (Office Open XML workbook) input for bulk lists: turns the
 * first worksheet of a workbook into CSV, which the reader then reads like
 * any other CSV input.
 *
 * How it reads:
 * - The workbook is a zip archive, read once from front to back with
 *   libarchive's streaming zip reader (local headers), so a pipe works.
 * - xl/workbook.xml lists the sheets in tab order; xl/_rels/workbook.xml.rels
 *   maps each sheet's r:id to its part. The first worksheet that is not
 *   hidden is converted (else the first worksheet at all); a zip without
 *   those two parts falls back to xl/worksheets/sheet1.xml.
 * - Cells of type "s" index the shared strings table (xl/sharedStrings.xml),
 *   which Excel often stores AFTER the sheets, and the workbook parts that
 *   say which sheet is first may come after the sheets too. So worksheets
 *   are spooled uncompressed to a tmpfile() (only the first one once it is
 *   known) and converted after the last entry, in two passes: one measures
 *   the widest row, the other writes.
 * - Every XML part goes through libxml2's streaming xmlReader (no tree);
 *   a part with a DTD is refused, so no entity is ever expanded.
 * - Values are written as stored: shared and inline strings, numbers as
 *   written in <v> (dates stay Excel serial numbers), booleans as TRUE and
 *   FALSE, errors such as #N/A, and the cached results of formulas.
 * - Cell references (r="C5") place the cells: skipped columns become empty
 *   cells, and every row is padded to the width of the widest row (trailing
 *   empty cells do not count), so the result columns the writer appends
 *   line up in every row. Skipped rows, and rows without a non-empty
 *   cell, are NOT written: the CSV has no blank lines, so its line numbers
 *   count the rows written, not the spreadsheet's row numbers.
 * - CSV out: comma separated, LF line ends, a cell quoted (libcsv's
 *   csv_fwrite2) only when it holds a comma, a quote, CR or LF.
 *
 * Bounds, against zip bombs and hostile files: 256 MiB of uncompressed
 * data read from the archive in all, 64 MiB for the shared strings part,
 * 16384 columns (Excel's own limit), 16 MiB per row and 1 GiB of CSV out
 * (shared strings can repeat one long string in every cell). Old .xls
 * files and password-protected workbooks are OLE compound files, not zips:
 * they get a message saying so.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <archive_entry.h>
#include <csv.h>
#include <libxml/xmlreader.h>

#include "bulk.h"

#define XL_MAX_TOTAL ((uint64_t)256 * 1024 * 1024) /* uncompressed bytes read from the zip */
#define XL_MAX_SST ((uint64_t)64 * 1024 * 1024)    /* the shared strings part */
#define XL_MAX_COLS 16384u                         /* A .. XFD */
#define XL_MAX_ROW ((size_t)16 * 1024 * 1024)      /* bytes of one row's cells */
#define XL_MAX_OUT ((uint64_t)1024 * 1024 * 1024)  /* CSV bytes written */
#define XL_MAX_SHEETS 4096u
#define XL_MAX_RELS 4096u
#define XL_MAX_SPOOLS 64u
#define XL_CHUNK (64u * 1024u)
#define XL_MSG_MAX 512
#define XL_PATH_MAX 1024

#define XL_NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define XL_NS_REL_STRICT "http://purl.oclc.org/ooxml/officeDocument/relationships"
#define XL_SHEETS_DIR "xl/worksheets/"
#define XL_SHEET1 "xl/worksheets/sheet1.xml"
#define XL_SST "xl/sharedStrings.xml"

static const unsigned char xl_ole_magic[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };

/* A growing byte buffer. */
typedef struct xl_buf {
    char *p;
    size_t len, cap;
} xl_buf;

typedef struct xl_sheetref {
    char *rid;
    bool hidden;
} xl_sheetref;

typedef struct xl_rel {
    char *id, *type, *target;
} xl_rel;

typedef struct xl_spool {
    char *name;
    FILE *f;
} xl_spool;

/* One conversion. Owned by bk_xlsx_to_csv_head for its duration. */
typedef struct xl_conv {
    const char *name; /* the input, for messages */

    /* the zip: the caller's head bytes first, then the stream */
    const unsigned char *head;
    size_t headlen;
    bool head_done;
    FILE *in;
    struct archive *a;
    unsigned char inbuf[XL_CHUNK];
    unsigned char chunk[XL_CHUNK];
    uint64_t total; /* uncompressed bytes read from the archive */

    /* what the parts said */
    xl_sheetref *sheets;
    size_t nsheets;
    bool have_wb, have_rels, have_sst;
    xl_rel *rels;
    size_t nrels;
    char target[XL_PATH_MAX]; /* the first worksheet's part, once known */
    bool target_known;
    char sst_target[XL_PATH_MAX]; /* the shared strings part the rels name */
    xl_buf sst;                   /* the shared strings, NUL-terminated, back to back */
    uint32_t *sst_off;
    size_t nsst, sst_off_cap;
    xl_spool spools[XL_MAX_SPOOLS];
    size_t nspools;

    /* the CSV */
    FILE *out;
    bool measure; /* the first pass: only find the widest row */
    size_t width; /* cells per row: the widest row's last non-empty cell */
    uint64_t out_bytes;

    bool failed;
    char msg[XL_MSG_MAX];
} xl_conv;

/* Where one XML part's bytes come from: the archive's current entry
 * (counted against the bounds) or a spooled tmpfile. */
typedef struct xl_src {
    xl_conv *c;
    FILE *f;          /* NULL: the archive */
    const char *part; /* the part's name, for messages */
    uint64_t used;    /* bytes of this entry read */
    uint64_t max;     /* 0: only the total bound */
    char xmlmsg[256]; /* libxml2's first error */
    unsigned long xmlline;
} xl_src;

/* ---- small helpers --------------------------------------------------------- */

/* Records the first failure message (printf-style); later ones are dropped,
 * since the first names the cause. */
__attribute__((format(printf, 2, 3))) static void xl_fail(xl_conv *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    c->failed = true;
}

/* Appends n bytes to b, refusing to grow past max bytes. False on ENOMEM
 * or when the bound would be passed (the caller names which). */
static bool xl_buf_add(xl_buf *b, const char *s, size_t n, size_t max)
{
    if (n > max || b->len > max - n)
        return false;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np)
            return false;
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

/* Frees a buffer's bytes (the struct is the caller's). */
static void xl_buf_free(xl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* True when s ends with suffix. */
static bool xl_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* An attribute of the current element as a malloc'd string (the caller
 * frees it), or NULL when absent. Tries the namespace ns2 too when given. */
static char *xl_attr(xmlTextReaderPtr rd, const char *local, const char *ns, const char *ns2)
{
    xmlChar *v = ns ? xmlTextReaderGetAttributeNs(rd, BAD_CAST local, BAD_CAST ns)
                    : xmlTextReaderGetAttribute(rd, BAD_CAST local);
    if (!v && ns2)
        v = xmlTextReaderGetAttributeNs(rd, BAD_CAST local, BAD_CAST ns2);
    if (!v)
        return NULL;
    char *s = strdup((const char *)v);
    xmlFree(v);
    return s;
}

/* Counts n more bytes read from the archive for src, against the total
 * bound and the part's own bound. False (message set) past either. */
static bool xl_count(xl_src *s, size_t n)
{
    xl_conv *c = s->c;
    c->total += n;
    s->used += n;
    if (s->max && s->used > s->max) {
        xl_fail(c, "%s: the shared strings (%s) are larger than %llu MiB; refusing the workbook", c->name, s->part,
                (unsigned long long)(s->max >> 20));
        return false;
    }
    if (c->total > XL_MAX_TOTAL) {
        xl_fail(c, "%s: the workbook unpacks to more than %llu MiB; refusing it (a zip bomb?)", c->name,
                (unsigned long long)(XL_MAX_TOTAL >> 20));
        return false;
    }
    return true;
}

/* ---- the zip ------------------------------------------------------------------ */

/* libarchive's read callback: the head bytes the caller already read, then
 * the stream in XL_CHUNK blocks. Returns the block's size, 0 at the end,
 * -1 on a read error. */
static la_ssize_t xl_zip_read(struct archive *a, void *ud, const void **buf)
{
    xl_conv *c = ud;
    if (!c->head_done) {
        c->head_done = true;
        if (c->headlen) {
            *buf = c->head;
            return (la_ssize_t)c->headlen;
        }
    }
    if (!c->in)
        return 0;
    errno = 0;
    size_t got = fread(c->inbuf, 1, sizeof c->inbuf, c->in);
    if (got == 0 && ferror(c->in)) {
        int e = errno ? errno : EIO;
        archive_set_error(a, e, "read error: %s", strerror(e));
        return -1;
    }
    *buf = c->inbuf;
    return (la_ssize_t)got;
}

/* Records a libarchive failure on the current entry. */
static void xl_zip_fail(xl_conv *c, const char *part)
{
    const char *why = archive_error_string(c->a);
    xl_fail(c, "%s: damaged or truncated .xlsx (zip)%s%s: %s", c->name, part ? " in " : "", part ? part : "",
            why ? why : "read error");
}

/* ---- XML parts ------------------------------------------------------------------ */

/* libxml2's read callback: the next bytes of the part. -1 on an error (the
 * conversion's message set). */
static int xl_xml_read(void *ctx, char *buf, int len)
{
    xl_src *s = ctx;
    if (len <= 0)
        return 0;
    if (s->f) {
        size_t got = fread(buf, 1, (size_t)len, s->f);
        if (got == 0 && ferror(s->f)) {
            xl_fail(s->c, "%s: cannot read back the spooled %s: %s", s->c->name, s->part, strerror(errno));
            return -1;
        }
        return (int)got;
    }
    la_ssize_t n = archive_read_data(s->c->a, buf, (size_t)len);
    if (n < 0) {
        xl_zip_fail(s->c, s->part);
        return -1;
    }
    if (!xl_count(s, (size_t)n))
        return -1;
    return (int)n;
}

/* libxml2's error callback: keeps the first error's message and line. */
static void xl_xml_error(void *arg, xmlErrorPtr e)
{
    xl_src *s = arg;
    if (!e || e->level < XML_ERR_ERROR || s->xmlmsg[0])
        return;
    snprintf(s->xmlmsg, sizeof s->xmlmsg, "%s", e->message ? e->message : "XML error");
    size_t n = strlen(s->xmlmsg);
    while (n > 0 && (s->xmlmsg[n - 1] == '\n' || s->xmlmsg[n - 1] == ' '))
        s->xmlmsg[--n] = '\0';
    s->xmlline = e->line > 0 ? (unsigned long)e->line : 0;
}

/* A node handler: 0 to go on, 1 to stop reading the part, -1 on an error
 * (message set). */
typedef int (*xl_node_fn)(xl_conv *c, xmlTextReaderPtr rd, void *st);

/* Streams one XML part through fn. 0, or -1 with the message set. */
static int xl_walk(xl_src *s, xl_node_fn fn, void *st)
{
    xl_conv *c = s->c;
    xmlTextReaderPtr rd = xmlReaderForIO(xl_xml_read, NULL, s, s->part, NULL, XML_PARSE_NONET);
    if (!rd) {
        xl_fail(c, "%s: cannot read %s%s%s", c->name, s->part, s->xmlmsg[0] ? ": " : "",
                s->xmlmsg[0] ? s->xmlmsg : " (out of memory?)");
        return -1;
    }
    xmlTextReaderSetStructuredErrorHandler(rd, xl_xml_error, s);
    int rc;
    while ((rc = xmlTextReaderRead(rd)) == 1) {
        if (xmlTextReaderNodeType(rd) == XML_READER_TYPE_DOCUMENT_TYPE) {
            xl_fail(c, "%s: %s has a DTD, which a workbook never has; refusing it", c->name, s->part);
            rc = -1;
            break;
        }
        int k = fn(c, rd, st);
        if (k != 0) {
            rc = k < 0 ? -1 : 0;
            break;
        }
    }
    xmlFreeTextReader(rd);
    if (rc < 0) {
        if (s->xmlmsg[0] && s->xmlline)
            xl_fail(c, "%s: damaged workbook: %s line %lu: %s", c->name, s->part, s->xmlline, s->xmlmsg);
        else
            xl_fail(c, "%s: damaged workbook: %s: %s", c->name, s->part,
                    s->xmlmsg[0] ? s->xmlmsg : "cannot parse it");
        return -1;
    }
    return 0;
}

/* True when the node is an element (start tag) named `name`. */
static bool xl_is_start(xmlTextReaderPtr rd, const char *name)
{
    const xmlChar *ln = xmlTextReaderConstLocalName(rd);
    return xmlTextReaderNodeType(rd) == XML_READER_TYPE_ELEMENT && ln && strcmp((const char *)ln, name) == 0;
}

/* ---- workbook and relationships ------------------------------------------------- */

/* xl/workbook.xml: collects the <sheet> elements' r:id and visibility, in
 * order; stops at </sheets>. */
static int xl_wb_node(xl_conv *c, xmlTextReaderPtr rd, void *st)
{
    (void)st;
    const xmlChar *ln = xmlTextReaderConstLocalName(rd);
    if (xmlTextReaderNodeType(rd) == XML_READER_TYPE_END_ELEMENT && ln && strcmp((const char *)ln, "sheets") == 0)
        return 1;
    if (!xl_is_start(rd, "sheet") || c->nsheets >= XL_MAX_SHEETS)
        return 0;
    char *rid = xl_attr(rd, "id", XL_NS_REL, XL_NS_REL_STRICT);
    if (!rid)
        return 0;
    char *state = xl_attr(rd, "state", NULL, NULL);
    bool hidden = state && (strcmp(state, "hidden") == 0 || strcmp(state, "veryHidden") == 0);
    free(state);
    xl_sheetref *ns = realloc(c->sheets, (c->nsheets + 1) * sizeof *ns);
    if (!ns) {
        free(rid);
        xl_fail(c, "%s: out of memory", c->name);
        return -1;
    }
    c->sheets = ns;
    c->sheets[c->nsheets].rid = rid;
    c->sheets[c->nsheets].hidden = hidden;
    c->nsheets++;
    return 0;
}

/* xl/_rels/workbook.xml.rels: collects the internal <Relationship>s. */
static int xl_rels_node(xl_conv *c, xmlTextReaderPtr rd, void *st)
{
    (void)st;
    if (!xl_is_start(rd, "Relationship") || c->nrels >= XL_MAX_RELS)
        return 0;
    char *mode = xl_attr(rd, "TargetMode", NULL, NULL);
    bool external = mode && strcasecmp(mode, "External") == 0;
    free(mode);
    if (external)
        return 0;
    xl_rel r = { xl_attr(rd, "Id", NULL, NULL), xl_attr(rd, "Type", NULL, NULL),
                 xl_attr(rd, "Target", NULL, NULL) };
    xl_rel *nr = (r.id && r.type && r.target) ? realloc(c->rels, (c->nrels + 1) * sizeof *nr) : NULL;
    if (!nr) {
        bool oom = r.id && r.type && r.target;
        free(r.id);
        free(r.type);
        free(r.target);
        if (oom) {
            xl_fail(c, "%s: out of memory", c->name);
            return -1;
        }
        return 0; /* an incomplete relationship: not ours to judge */
    }
    c->rels = nr;
    c->rels[c->nrels++] = r;
    return 0;
}

/* Turns a relationship target (relative to xl/workbook.xml, or absolute
 * from the package root) into a zip entry name in out. */
static void xl_part_path(const char *target, char *out, size_t size)
{
    const char *base = "xl/";
    if (target[0] == '/') {
        base = "";
        target++;
    }
    while (strncmp(target, "./", 2) == 0)
        target += 2;
    if (strncmp(target, "../", 3) == 0) {
        base = "";
        target += 3;
    }
    snprintf(out, size, "%s%s", base, target);
}

/* Once the rels are known: the shared strings part they name. Once the
 * workbook is known too: the first worksheet (the first visible one, else
 * the first of all). A chartsheet is not a worksheet and is passed over. */
static void xl_resolve(xl_conv *c)
{
    for (size_t i = 0; i < c->nrels && !c->sst_target[0]; i++)
        if (xl_ends_with(c->rels[i].type, "/sharedStrings"))
            xl_part_path(c->rels[i].target, c->sst_target, sizeof c->sst_target);
    if (!c->have_wb || !c->have_rels || c->target_known)
        return;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->nsheets; i++) {
            if (pass == 0 && c->sheets[i].hidden)
                continue;
            for (size_t k = 0; k < c->nrels; k++)
                if (strcmp(c->rels[k].id, c->sheets[i].rid) == 0 && xl_ends_with(c->rels[k].type, "/worksheet")) {
                    xl_part_path(c->rels[k].target, c->target, sizeof c->target);
                    c->target_known = true;
                    return;
                }
        }
}

/* ---- shared strings ------------------------------------------------------------ */

typedef struct xl_sst_st {
    bool in_si, collect;
    int rph; /* inside <rPh> (phonetic hints): not part of the text */
    size_t start;
} xl_sst_st;

/* Ends one shared string: NUL-terminates it and records where it starts. */
static int xl_sst_push(xl_conv *c, size_t start)
{
    if (!xl_buf_add(&c->sst, "", 1, (size_t)XL_MAX_SST * 2)) {
        xl_fail(c, "%s: the shared strings are too large or out of memory", c->name);
        return -1;
    }
    if (c->nsst == c->sst_off_cap) {
        size_t nc = c->sst_off_cap ? c->sst_off_cap * 2 : 1024;
        uint32_t *no = realloc(c->sst_off, nc * sizeof *no);
        if (!no) {
            xl_fail(c, "%s: out of memory", c->name);
            return -1;
        }
        c->sst_off = no;
        c->sst_off_cap = nc;
    }
    c->sst_off[c->nsst++] = (uint32_t)start;
    return 0;
}

/* xl/sharedStrings.xml: each <si> is one string, the text of its <t>
 * elements (one, or one per rich-text run) outside <rPh>. */
static int xl_sst_node(xl_conv *c, xmlTextReaderPtr rd, void *stp)
{
    xl_sst_st *st = stp;
    int type = xmlTextReaderNodeType(rd);
    if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA || type == XML_READER_TYPE_WHITESPACE ||
        type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
        if (!st->collect)
            return 0;
        const xmlChar *v = xmlTextReaderConstValue(rd);
        size_t n = v ? strlen((const char *)v) : 0;
        /* the bytes read bound the text already (it only shrinks when parsed) */
        if (n && !xl_buf_add(&c->sst, (const char *)v, n, (size_t)XL_MAX_SST * 2)) {
            xl_fail(c, "%s: the shared strings are too large or out of memory", c->name);
            return -1;
        }
        return 0;
    }
    const xmlChar *lnx = xmlTextReaderConstLocalName(rd);
    const char *ln = lnx ? (const char *)lnx : "";
    bool empty = xmlTextReaderIsEmptyElement(rd) == 1;
    if (type == XML_READER_TYPE_ELEMENT) {
        if (strcmp(ln, "si") == 0) {
            st->start = c->sst.len;
            st->rph = 0;
            st->collect = false;
            if (empty)
                return xl_sst_push(c, st->start);
            st->in_si = true;
        } else if (st->in_si && strcmp(ln, "rPh") == 0 && !empty) {
            st->rph++;
        } else if (st->in_si && st->rph == 0 && strcmp(ln, "t") == 0 && !empty) {
            st->collect = true;
        }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
        if (strcmp(ln, "t") == 0) {
            st->collect = false;
        } else if (strcmp(ln, "rPh") == 0 && st->rph > 0) {
            st->rph--;
        } else if (strcmp(ln, "si") == 0 && st->in_si) {
            st->in_si = false;
            return xl_sst_push(c, st->start);
        }
    }
    return 0;
}

/* ---- the worksheet ------------------------------------------------------------------ */

typedef enum xl_ctype { XL_NUM, XL_SHARED, XL_INLINE, XL_BOOL, XL_OTHER } xl_ctype;

typedef struct xl_sheet_st {
    xl_buf cells; /* the row's cell bytes, back to back */
    size_t off[XL_MAX_COLS], len[XL_MAX_COLS];
    size_t ncells;
    size_t next_col;     /* where a cell without r="..." goes */
    unsigned long rowno; /* the spreadsheet's row number */
    bool in_row, in_cell, in_is;
    int rph;
    xl_buf *collect; /* where text goes, NULL: nowhere */
    xl_ctype type;
    size_t col;
    char ref[24]; /* the cell's r="..." for messages */
    xl_buf v, is;
} xl_sheet_st;

/* Parses the column letters of a cell reference ("C5" -> 2). False when
 * there are none, or past XFD (the message is the caller's). */
static bool xl_col_of(const char *ref, size_t *col)
{
    size_t n = 0, k = 0;
    for (; ref[k]; k++) {
        char ch = ref[k];
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch < 'A' || ch > 'Z')
            break;
        n = n * 26 + (size_t)(ch - 'A' + 1);
        if (n > XL_MAX_COLS)
            return false;
    }
    if (k == 0)
        return false;
    *col = n - 1;
    return true;
}

/* Writes one cell to the CSV, quoted only when it must be. */
static void xl_put_cell(FILE *out, const char *s, size_t n)
{
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        csv_fwrite2(out, s, n, '"');
    else if (n)
        fwrite(s, 1, n, out);
}

/* Ends a row: in the measuring pass, widens c->width to its last
 * non-empty cell; in the writing pass, writes it with c->width cells. Rows
 * without a non-empty cell are skipped in both. 0, or -1 past the output
 * bound. */
static int xl_emit_row(xl_conv *c, xl_sheet_st *st)
{
    size_t used = st->ncells;
    while (used > 0 && st->len[used - 1] == 0)
        used--;
    if (used == 0)
        return 0;
    if (c->measure) {
        if (used > c->width)
            c->width = used;
        return 0;
    }
    size_t n = c->width;
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(',', c->out);
        if (i < used)
            xl_put_cell(c->out, st->cells.p + st->off[i], st->len[i]);
    }
    putc('\n', c->out);
    c->out_bytes += st->cells.len + 2 * n + 1;
    if (c->out_bytes > XL_MAX_OUT) {
        xl_fail(c, "%s: the sheet expands to more than %llu MiB of text; refusing it", c->name,
                (unsigned long long)(XL_MAX_OUT >> 20));
        return -1;
    }
    return 0;
}

/* Places a finished cell's value at its column, filling skipped columns
 * with empty cells. 0 or -1 (message set). */
static int xl_place(xl_conv *c, xl_sheet_st *st, const char *s, size_t n)
{
    if (st->col < st->ncells) {
        xl_fail(c, "%s: damaged workbook: cell %s of row %lu is out of order", c->name, st->ref, st->rowno);
        return -1;
    }
    while (st->ncells <= st->col) {
        st->off[st->ncells] = st->cells.len;
        st->len[st->ncells] = 0;
        st->ncells++;
    }
    if (!xl_buf_add(&st->cells, s, n, XL_MAX_ROW)) {
        xl_fail(c, "%s: row %lu is longer than %zu MiB (or out of memory)", c->name, st->rowno, XL_MAX_ROW >> 20);
        return -1;
    }
    st->len[st->col] = n;
    st->next_col = st->col + 1;
    return 0;
}

/* Ends a cell: its text by type, then placed. 0 or -1 (message set). */
static int xl_end_cell(xl_conv *c, xl_sheet_st *st)
{
    const char *s = st->v.p ? st->v.p : "";
    size_t n = st->v.len;
    switch (st->type) {
    case XL_SHARED: {
        if (n == 0)
            break;
        char *end = NULL;
        errno = 0;
        unsigned long long idx = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-') {
            xl_fail(c, "%s: damaged workbook: cell %s: bad shared string index '%.40s'", c->name, st->ref, s);
            return -1;
        }
        if (idx >= c->nsst) {
            xl_fail(c,
                    "%s: damaged workbook: cell %s refers to shared string %llu, but the"
                    " workbook has %zu",
                    c->name, st->ref, idx, c->nsst);
            return -1;
        }
        s = c->sst.p + c->sst_off[idx];
        n = strlen(s);
        break;
    }
    case XL_INLINE:
        if (st->is.len || !n) {
            s = st->is.p ? st->is.p : "";
            n = st->is.len;
        }
        break;
    case XL_BOOL:
        if (n == 1 && (s[0] == '0' || s[0] == '1')) {
            s = s[0] == '1' ? "TRUE" : "FALSE";
            n = strlen(s);
        }
        break;
    case XL_NUM:
    case XL_OTHER: break;
    }
    return xl_place(c, st, s, n);
}

/* Starts a <c> element: its column and type. 0 or -1 (message set). */
static int xl_start_cell(xl_conv *c, xl_sheet_st *st, xmlTextReaderPtr rd)
{
    char *r = xl_attr(rd, "r", NULL, NULL);
    if (r) {
        snprintf(st->ref, sizeof st->ref, "%s", r);
        bool ok = xl_col_of(r, &st->col);
        free(r);
        if (!ok) {
            xl_fail(c, "%s: cell %s of row %lu: bad reference or more than %u columns", c->name, st->ref,
                    st->rowno, XL_MAX_COLS);
            return -1;
        }
    } else {
        st->col = st->next_col;
        snprintf(st->ref, sizeof st->ref, "#%zu", st->col + 1);
    }
    if (st->col >= XL_MAX_COLS) {
        xl_fail(c, "%s: row %lu has more than %u columns", c->name, st->rowno, XL_MAX_COLS);
        return -1;
    }
    char *t = xl_attr(rd, "t", NULL, NULL);
    st->type = !t || strcmp(t, "n") == 0     ? XL_NUM
               : strcmp(t, "s") == 0         ? XL_SHARED
               : strcmp(t, "inlineStr") == 0 ? XL_INLINE
               : strcmp(t, "b") == 0         ? XL_BOOL
                                             : XL_OTHER;
    free(t);
    st->v.len = st->is.len = 0;
    if (st->v.p)
        st->v.p[0] = '\0';
    if (st->is.p)
        st->is.p[0] = '\0';
    st->in_is = false;
    st->rph = 0;
    st->collect = NULL;
    return 0;
}

/* The worksheet: <row>s of <c>s holding <v> or <is><t>; everything else
 * (formulas, styles, merged cells, ...) is passed over. */
static int xl_sheet_node(xl_conv *c, xmlTextReaderPtr rd, void *stp)
{
    xl_sheet_st *st = stp;
    int type = xmlTextReaderNodeType(rd);
    if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA || type == XML_READER_TYPE_WHITESPACE ||
        type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
        if (!st->collect)
            return 0;
        const xmlChar *v = xmlTextReaderConstValue(rd);
        size_t n = v ? strlen((const char *)v) : 0;
        if (n && !xl_buf_add(st->collect, (const char *)v, n, XL_MAX_ROW)) {
            xl_fail(c, "%s: cell %s is longer than %zu MiB (or out of memory)", c->name, st->ref,
                    XL_MAX_ROW >> 20);
            return -1;
        }
        return 0;
    }
    const xmlChar *lnx = xmlTextReaderConstLocalName(rd);
    const char *ln = lnx ? (const char *)lnx : "";
    if (type == XML_READER_TYPE_ELEMENT) {
        bool empty = xmlTextReaderIsEmptyElement(rd) == 1;
        if (strcmp(ln, "row") == 0) {
            char *r = xl_attr(rd, "r", NULL, NULL);
            unsigned long rn = r ? strtoul(r, NULL, 10) : 0;
            free(r);
            st->rowno = rn ? rn : st->rowno + 1;
            st->ncells = 0;
            st->next_col = 0;
            st->cells.len = 0;
            st->in_row = !empty; /* <row/>: no cells, nothing to write */
            st->in_cell = false;
        } else if (!st->in_row) {
            return 0;
        } else if (strcmp(ln, "c") == 0) {
            if (xl_start_cell(c, st, rd) != 0)
                return -1;
            if (empty)
                st->next_col = st->col + 1; /* a styled empty cell: nothing to place */
            else
                st->in_cell = true;
        } else if (!st->in_cell || empty) {
            return 0;
        } else if (strcmp(ln, "v") == 0 && !st->in_is) {
            st->collect = &st->v;
        } else if (strcmp(ln, "is") == 0) {
            st->in_is = true;
        } else if (st->in_is && strcmp(ln, "rPh") == 0) {
            st->rph++;
        } else if (st->in_is && st->rph == 0 && strcmp(ln, "t") == 0) {
            st->collect = &st->is;
        }
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
        if (strcmp(ln, "v") == 0 || strcmp(ln, "t") == 0) {
            st->collect = NULL;
        } else if (strcmp(ln, "rPh") == 0 && st->rph > 0) {
            st->rph--;
        } else if (strcmp(ln, "is") == 0) {
            st->in_is = false;
        } else if (strcmp(ln, "c") == 0 && st->in_cell) {
            st->in_cell = false;
            st->collect = NULL;
            return xl_end_cell(c, st);
        } else if (strcmp(ln, "row") == 0 && st->in_row) {
            st->in_row = false;
            return xl_emit_row(c, st);
        } else if (strcmp(ln, "sheetData") == 0) {
            return 1; /* the rest is formatting */
        }
    }
    return 0;
}

/* Converts the spooled worksheet f to CSV: a pass that measures the widest
 * row, then a pass that writes. 0 or -1 (message set). */
static int xl_convert_sheet(xl_conv *c, const char *part, FILE *f)
{
    xl_sheet_st *st = calloc(1, sizeof *st);
    if (!st) {
        xl_fail(c, "%s: out of memory", c->name);
        return -1;
    }
    int rc = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        c->measure = pass == 0;
        if (fseek(f, 0, SEEK_SET) != 0) {
            xl_fail(c, "%s: cannot read back the spooled %s: %s", c->name, part, strerror(errno));
            rc = -1;
            break;
        }
        st->rowno = 0;
        st->in_row = st->in_cell = false;
        xl_src src = { .c = c, .f = f, .part = part };
        rc = xl_walk(&src, xl_sheet_node, st);
    }
    xl_buf_free(&st->cells);
    xl_buf_free(&st->v);
    xl_buf_free(&st->is);
    free(st);
    return rc;
}

/* ---- the archive, entry by entry ------------------------------------------------- */

/* Copies the archive's current entry, uncompressed, to a new tmpfile kept
 * in c->spools (closed by xl_conv_free). 0 or -1 (message set). */
static int xl_spool_entry(xl_conv *c, const char *part)
{
    if (c->nspools == XL_MAX_SPOOLS) {
        xl_fail(c, "%s: more than %u worksheets before xl/workbook.xml; refusing the workbook", c->name,
                XL_MAX_SPOOLS);
        return -1;
    }
    xl_spool *sp = &c->spools[c->nspools];
    sp->name = strdup(part);
    sp->f = tmpfile();
    if (!sp->name || !sp->f) {
        xl_fail(c, "%s: cannot make a temporary file: %s", c->name, strerror(errno));
        free(sp->name);
        if (sp->f)
            fclose(sp->f);
        sp->name = NULL;
        sp->f = NULL;
        return -1;
    }
    c->nspools++;
    xl_src src = { .c = c, .part = part };
    for (;;) {
        la_ssize_t n = archive_read_data(c->a, c->chunk, sizeof c->chunk);
        if (n < 0) {
            xl_zip_fail(c, part);
            return -1;
        }
        if (n == 0)
            break;
        if (!xl_count(&src, (size_t)n))
            return -1;
        if (fwrite(c->chunk, 1, (size_t)n, sp->f) != (size_t)n) {
            xl_fail(c, "%s: cannot write a temporary file: %s", c->name, strerror(errno));
            return -1;
        }
    }
    if (fflush(sp->f) != 0) {
        xl_fail(c, "%s: cannot write a temporary file: %s", c->name, strerror(errno));
        return -1;
    }
    return 0;
}

/* True for a part that may be a worksheet before the workbook says which
 * one is first: xl/worksheets/NAME.xml. */
static bool xl_is_sheet_part(const char *part)
{
    size_t d = strlen(XL_SHEETS_DIR);
    return strncasecmp(part, XL_SHEETS_DIR, d) == 0 && !strchr(part + d, '/') && strlen(part) > d + 4 &&
           strcasecmp(part + strlen(part) - 4, ".xml") == 0;
}

/* Handles one archive entry: parses the workbook parts and the shared
 * strings, spools worksheets. 0, or -1 on an error (message set). */
static int xl_entry(xl_conv *c, struct archive_entry *e)
{
    const char *part = archive_entry_pathname(e);
    if (!part)
        return 0;
    if (archive_entry_is_encrypted(e)) {
        xl_fail(c,
                "%s: an encrypted zip archive; save the workbook without a password, as"
                " .xlsx or CSV",
                c->name);
        return -1;
    }
    bool is_wb = strcasecmp(part, "xl/workbook.xml") == 0;
    bool is_rels = strcasecmp(part, "xl/_rels/workbook.xml.rels") == 0;
    bool is_sst = !c->have_sst &&
                  (strcasecmp(part, XL_SST) == 0 || (c->sst_target[0] && strcasecmp(part, c->sst_target) == 0));
    bool is_sheet = c->target_known ? strcasecmp(part, c->target) == 0 : xl_is_sheet_part(part);
    if (!is_wb && !is_rels && !is_sst && !is_sheet)
        return 0;
    if (archive_entry_size_is_set(e)) {
        uint64_t size = (uint64_t)archive_entry_size(e);
        if (is_sst && size > XL_MAX_SST) {
            xl_fail(c,
                    "%s: the shared strings (%s) are larger than %llu MiB; refusing the"
                    " workbook",
                    c->name, part, (unsigned long long)(XL_MAX_SST >> 20));
            return -1;
        }
        if (size > XL_MAX_TOTAL - c->total) {
            xl_fail(c,
                    "%s: the workbook unpacks to more than %llu MiB; refusing it (a zip"
                    " bomb?)",
                    c->name, (unsigned long long)(XL_MAX_TOTAL >> 20));
            return -1;
        }
    }
    xl_src src = { .c = c, .part = part, .max = is_sst ? XL_MAX_SST : 0 };
    if (is_wb || is_rels) {
        if (xl_walk(&src, is_wb ? xl_wb_node : xl_rels_node, NULL) != 0)
            return -1;
        if (is_wb)
            c->have_wb = true;
        else
            c->have_rels = true;
        xl_resolve(c);
        return 0;
    }
    if (is_sst) {
        xl_sst_st st = { 0 };
        if (xl_walk(&src, xl_sst_node, &st) != 0)
            return -1;
        c->have_sst = true;
        return 0;
    }
    return xl_spool_entry(c, part);
}

/* After the last entry: converts the first worksheet from its spool. 0 or
 * -1 (message set). */
static int xl_finish(xl_conv *c)
{
    const char *want = c->target_known ? c->target : XL_SHEET1;
    if (c->have_wb && c->have_rels && !c->target_known) {
        xl_fail(c, "%s: the workbook has no worksheet", c->name);
        return -1;
    }
    for (size_t i = 0; i < c->nspools; i++)
        if (strcasecmp(c->spools[i].name, want) == 0)
            return xl_convert_sheet(c, want, c->spools[i].f);
    if (!c->have_wb && c->nspools == 0)
        xl_fail(c,
                "%s: a zip archive but not an .xlsx workbook (no xl/workbook.xml); save it"
                " as .xlsx or CSV",
                c->name);
    else
        xl_fail(c, "%s: the first worksheet (%s) is missing from the workbook", c->name, want);
    return -1;
}

/* Frees everything a conversion holds (not the caller's streams). */
static void xl_conv_free(xl_conv *c)
{
    if (c->a)
        archive_read_free(c->a);
    for (size_t i = 0; i < c->nsheets; i++)
        free(c->sheets[i].rid);
    free(c->sheets);
    for (size_t i = 0; i < c->nrels; i++) {
        free(c->rels[i].id);
        free(c->rels[i].type);
        free(c->rels[i].target);
    }
    free(c->rels);
    xl_buf_free(&c->sst);
    free(c->sst_off);
    for (size_t i = 0; i < c->nspools; i++) {
        free(c->spools[i].name);
        fclose(c->spools[i].f);
    }
    free(c);
}

/* Checks the first bytes: a zip goes on; an OLE compound file (.xls, or
 * an encrypted workbook), an empty zip or anything else is refused. 0 or
 * -1 (message set). */
static int xl_check_magic(xl_conv *c, const unsigned char *p, size_t n)
{
    if (n == 0) {
        xl_fail(c, "%s: empty file", c->name);
        return -1;
    }
    if (n >= sizeof xl_ole_magic && memcmp(p, xl_ole_magic, sizeof xl_ole_magic) == 0) {
        xl_fail(c, "%s: an Excel 97-2003 .xls or an encrypted workbook: save it as .xlsx or CSV", c->name);
        return -1;
    }
    if (n >= 4 && memcmp(p, "PK\x05\x06", 4) == 0) {
        xl_fail(c, "%s: an empty zip archive, not an .xlsx workbook", c->name);
        return -1;
    }
    if (n < 4 || memcmp(p, "PK\x03\x04", 4) != 0) {
        xl_fail(c, "%s: not an .xlsx workbook (not a zip archive)", c->name);
        return -1;
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------------------ */

/* Converts a workbook whose first headlen bytes were already read into head
 * (the rest comes from in); see bulk.h. */
int bk_xlsx_to_csv_head(const void *head, size_t headlen, FILE *in, FILE *out, const char *name, char *err,
                        size_t errlen)
{
    char scratch[XL_MSG_MAX];
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    xl_conv *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->name = name ? name : "-";
    c->in = in;
    c->out = out;
    c->head = head;
    c->headlen = head ? headlen : 0;
    /* the magic needs 8 bytes: top a short head up from the stream */
    if (c->headlen < sizeof xl_ole_magic && in) {
        if (c->headlen)
            memcpy(c->inbuf, c->head, c->headlen);
        size_t n = c->headlen;
        while (n < sizeof xl_ole_magic) {
            size_t got = fread(c->inbuf + n, 1, sizeof c->inbuf - n, in);
            if (got == 0)
                break;
            n += got;
        }
        if (ferror(in)) {
            xl_fail(c, "%s: cannot read: %s", c->name, strerror(errno));
            goto done;
        }
        c->head = c->inbuf;
        c->headlen = n;
    }
    if (xl_check_magic(c, c->head, c->headlen) != 0)
        goto done;

    xmlInitParser();
    c->a = archive_read_new();
    if (!c->a || archive_read_support_format_zip_streamable(c->a) != ARCHIVE_OK) {
        xl_fail(c, "%s: out of memory", c->name);
        goto done;
    }
    if (archive_read_open(c->a, c, NULL, xl_zip_read, NULL) != ARCHIVE_OK) {
        xl_zip_fail(c, NULL);
        goto done;
    }
    for (;;) {
        struct archive_entry *e = NULL;
        int rc = archive_read_next_header(c->a, &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN) {
            xl_zip_fail(c, NULL);
            goto done;
        }
        if (xl_entry(c, e) != 0)
            goto done;
    }
    if (xl_finish(c) != 0)
        goto done;
    if (fflush(out) != 0 || ferror(out))
        xl_fail(c, "%s: cannot write the converted sheet: %s", c->name, strerror(errno));
done:;
    int ret = c->failed ? -1 : 0;
    if (c->failed)
        snprintf(err, errlen, "%s", c->msg);
    xl_conv_free(c);
    return ret;
}

/* Converts a workbook read from in; see bulk.h. */
int bk_xlsx_to_csv(FILE *in, FILE *out, const char *name, char *err, size_t errlen)
{
    return bk_xlsx_to_csv_head(NULL, 0, in, out, name, err, errlen);
}

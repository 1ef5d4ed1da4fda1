/*
 * extract_formats.c - bc_extract_file: reads one file (or standard input),
 * works out its format from its first bytes (the extension is only a hint),
 * decodes it to text and feeds that text to the address scanner
 * (src/lib/extract/extract.c) with the kind of source it came from.
 *
 * Formats and the libraries that decode them:
 * - plain text, CSV/TSV, JSON: streamed as is in 64 KiB chunks (kinds
 *   "text", "csv", "json"). A JSON file under 64 MiB that holds escapes is
 *   also parsed with jansson and its strings that contain '@' are fed
 *   decoded, so "john\u0040example.com" is found (kind "json").
 * - HTML: libxml2's HTML parser (recovering, no network). Text nodes are
 *   fed with entities decoded (kind "html"), padded with newlines so that
 *   line numbers are the source's; href="mailto:..." targets are fed
 *   percent-decoded without the "mailto:" and the "?subject=..." (kind
 *   "mailto"). <style> and comments are skipped.
 * - email messages and mbox files (GMime) and PDF (poppler-glib): in the
 *   module bouncecheck-formats.so (extract_module.c), loaded with dlopen()
 *   the first time one is met. It is looked for in $BOUNCECHECK_MODULE_DIR
 *   only when that is set, else beside the library (the build tree), in the
 *   library's bouncecheck/ directory, then in the install directory. Without it
 *   those files are errors that say so, and the others are still read.
 * - DOCX, XLSX, ODT: the zip is read from front to back with libarchive
 *   (so a pipe works); the members that hold text go through libxml2's
 *   streaming xmlReader (no tree, a DTD refused so no entity is expanded):
 *   word/document.xml, headers, footers, notes, comments; xl/sharedStrings
 *   and the worksheets; content.xml and styles.xml. mailto: targets in the
 *   relationship parts and ODT links are fed as kind "mailto".
 *
 * Bounds: HTML and PDF files are read whole, up to 256 MiB; a zip member may
 * unpack to 256 MiB (declared or actual) and a whole zip to 512 MiB, which
 * stops zip bombs. A file with NUL bytes in its first 8 KiB and no known
 * signature is refused as binary. Invalid UTF-8 in text is fed as is.
 *
 * Limits (the scanner's, per document: extract_scanner.h): every decoder
 * looks at them inside its loops, and stops there with what it has fed:
 * text and CSV per 64 KiB read; JSON per chunk read and every 4096 values
 * walked; HTML per 64 KiB parsed (libxml2 pulls the text through a read
 * callback) and every 4096 nodes walked, at most max_bytes of it read; zip
 * members per 64 KiB read or unpacked (their unpacked bytes count against
 * max_bytes); email and PDF in the module (extract_module.c). When a limit
 * stopped a document bc_extract_file says which, with BC_ELIMIT, whatever
 * error the cut caused in the decoder.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/uri.h>
#include <libxml/xmlreader.h>

#include "core/internal.h"
#include "core/utf8.h"
#include "extract/extract_module.h"
#include "extract/extract_scanner.h"

#define EX_CHUNK (64u * 1024u)
#define EX_HEAD (8u * 1024u)
#define EX_MAX_JSON ((size_t)64 * 1024 * 1024)      /* parsed with jansson below this */
#define EX_MAX_HTML ((size_t)256 * 1024 * 1024)     /* HTML read whole */
#define EX_MAX_PDF ((size_t)256 * 1024 * 1024)      /* PDF read whole */
#define EX_MAX_MEMBER ((uint64_t)256 * 1024 * 1024) /* one zip member, unpacked */
#define EX_MAX_ZIP ((uint64_t)512 * 1024 * 1024)    /* all members read, unpacked */
#define EX_WALK_CHECK 4096                          /* values or nodes walked between two looks at the limits */

static const unsigned char ex_ole_magic[8] = { 0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1 };

typedef enum ex_format { EX_TEXT, EX_CSV, EX_JSON, EX_HTML, EX_EML, EX_MBOX, EX_PDF, EX_ZIP } ex_format;

/* The input: a file descriptor whose first bytes (head) were read ahead
 * for detection and are served again first. */
typedef struct ex_in {
    const char *name;
    int fd;
    unsigned char head[EX_HEAD];
    size_t headlen, headpos;
} ex_in;

/* ---- reading ------------------------------------------------------------------ */

/* read(2) without EINTR. */
static ssize_t ex_sysread(int fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

/* Fills the head: up to EX_HEAD bytes (fewer only at the end of the input).
 * False on a read error (errno set). */
static bool ex_read_head(ex_in *in)
{
    while (in->headlen < sizeof in->head) {
        ssize_t n = ex_sysread(in->fd, in->head + in->headlen, sizeof in->head - in->headlen);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        in->headlen += (size_t)n;
    }
    return true;
}

/* Reads up to len bytes: the head's unread bytes first, then the file.
 * 0 at the end, -1 on an error (errno set). */
static ssize_t ex_read(ex_in *in, void *buf, size_t len)
{
    if (in->headpos < in->headlen) {
        size_t n = in->headlen - in->headpos;
        if (n > len)
            n = len;
        memcpy(buf, in->head + in->headpos, n);
        in->headpos += n;
        return (ssize_t)n;
    }
    return ex_sysread(in->fd, buf, len);
}

/* Reads the rest of the input into a malloc'd buffer (NUL-terminated, the
 * caller frees *out), up to max bytes. *more is set when the input holds
 * more than max bytes (the first max are in *out), unless more is NULL,
 * in which case that is an error. BC_OK or an error with a message. */
static bc_error ex_slurp(ex_in *in, size_t max, char **out, size_t *outlen, bool *more, const char *what,
                         char *err, size_t errlen)
{
    size_t cap = in->headlen + EX_CHUNK, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        return bc_seterr(err, errlen, BC_ENOMEM, "%s: out of memory", in->name);
    if (more)
        *more = false;
    for (;;) {
        if (len == cap) {
            if (cap >= max + 1) {
                /* one byte past the bound was read: there is more (the
                 * caller gets that byte too, then streams the rest) */
                if (more) {
                    *more = true;
                    break;
                }
                free(buf);
                return bc_seterr(err, errlen, BC_EINVAL, "%s: %s larger than %zu MiB; refusing it", in->name, what,
                                 max >> 20);
            }
            size_t nc = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                return bc_seterr(err, errlen, BC_ENOMEM, "%s: out of memory", in->name);
            }
            buf = nb;
            cap = nc;
        }
        ssize_t n = ex_read(in, buf + len, cap - len);
        if (n < 0) {
            int e = errno;
            free(buf);
            return bc_seterr(err, errlen, BC_EIO, "%s: read error: %s", in->name, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return BC_OK;
}

/* Feeds the rest of the input to the scanner in EX_CHUNK pieces. */
static bc_error ex_stream(bc_scanner *s, ex_in *in, char *err, size_t errlen)
{
    char *buf = malloc(EX_CHUNK);
    if (!buf)
        return bc_seterr(err, errlen, BC_ENOMEM, "%s: out of memory", in->name);
    bc_error st = BC_OK;
    for (;;) {
        ssize_t n = ex_read(in, buf, EX_CHUNK);
        if (n < 0) {
            st = bc_seterr(err, errlen, BC_EIO, "%s: read error: %s", in->name, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        bc_scanner_feed(s, buf, (size_t)n);
        if (ex_scanner_charge(s, 0, 0))
            break; /* a limit: the rest is not read */
    }
    free(buf);
    return st;
}

/* ---- small helpers ---------------------------------------------------------------- */

/* True when the n bytes at p are well-formed UTF-8. */
static bool ex_utf8_ok(const char *p, size_t n)
{
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = bc_utf8_seq_len(u + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* The file name's extension in lower case into buf ("" when none). */
static void ex_extension(const char *path, char *buf, size_t buflen)
{
    buf[0] = '\0';
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || strlen(dot + 1) >= buflen)
        return;
    size_t i = 0;
    for (const char *p = dot + 1; *p; p++)
        buf[i++] = (char)((*p >= 'A' && *p <= 'Z') ? *p - 'A' + 'a' : *p);
    buf[i] = '\0';
}

/* Feeds a separator, switches to kind k, feeds the decoded target of a
 * "mailto:" link (percent-decoded, without "mailto:" and the "?query"),
 * and switches back to kind back. Does nothing for other links. */
static void ex_feed_mailto(bc_scanner *s, const char *href, const char *back)
{
    while (*href == ' ' || *href == '\t' || *href == '\r' || *href == '\n')
        href++;
    if (strncasecmp(href, "mailto:", 7) != 0)
        return;
    const char *v = href + 7;
    size_t len = strcspn(v, "?#");
    if (len == 0 || len > 64 * 1024)
        return;
    char *dec = xmlURIUnescapeString(v, (int)len, NULL);
    if (!dec)
        return;
    /* a link may list several addresses; control bytes become spaces */
    for (char *p = dec; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == ',' || *p == ';')
            *p = ' ';
    bc_scanner_feed(s, " ", 1);
    bc_scanner_kind(s, "mailto");
    bc_scanner_feed(s, dec, strlen(dec));
    bc_scanner_feed(s, " ", 1);
    bc_scanner_kind(s, back);
    xmlFree(dec);
}

/* ---- detection ---------------------------------------------------------------- */

static bool ex_is_header_name_char(unsigned char c)
{
    return c > 32 && c < 127 && c != ':';
}

/* True when the head looks like an email message: its first lines are
 * header fields ("Name: value", folded lines) up to a blank line or the end
 * of the head, with at least two well-known names (one for a .eml file). */
/* An mbox "From_" line: "From SENDER DATE" with a year in the date (a text
 * that merely starts with the word "From " is not an mbox). */
static bool ex_mbox_from_line(const char *h)
{
    if (strncmp(h, "From ", 5) != 0)
        return false;
    const char *p = h + 5;
    size_t sender = strcspn(p, " \t\r\n");
    if (sender == 0 || p[sender] != ' ')
        return false;
    p += sender + 1;
    size_t end = strcspn(p, "\r\n");
    for (size_t i = 0; i + 4 <= end; i++)
        if ((p[i] == '1' || p[i] == '2') && p[i + 1] >= '0' && p[i + 1] <= '9' && p[i + 2] >= '0' &&
            p[i + 2] <= '9' && p[i + 3] >= '0' && p[i + 3] <= '9' && (i == 0 || p[i - 1] == ' ') &&
            (i + 4 == end || p[i + 4] == ' '))
            return true;
    return false;
}

static bool ex_looks_like_mail(const char *h, size_t n, const char *ext)
{
    static const char *const known[] = {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "received",
        "return-path",
        "message-id",
        "mime-version",
        "delivered-to",
        "reply-to",
        "content-type",
        "sender",
        "x-mailer",
        "user-agent",
        "dkim-signature",
        "authentication-results",
    };
    size_t i = 0, lines = 0, hits = 0;
    while (i < n) {
        const char *eol = memchr(h + i, '\n', n - i);
        size_t end = eol ? (size_t)(eol - h) : n;
        size_t l = end - i;
        if (l > 0 && h[end - 1] == '\r')
            l--;
        if (l == 0)
            break; /* the blank line ending the headers */
        if (!eol && lines > 0)
            break; /* a line cut by the end of the head */
        if (h[i] == ' ' || h[i] == '\t') {
            if (lines == 0)
                return false;
        } else {
            size_t k = 0;
            while (k < l && ex_is_header_name_char((unsigned char)h[i + k]))
                k++;
            if (k == 0 || k >= l || h[i + k] != ':')
                return false;
            for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
                if (strlen(known[j]) == k && strncasecmp(h + i, known[j], k) == 0)
                    hits++;
        }
        lines++;
        if (!eol)
            break;
        i = end + 1;
    }
    return hits >= 2 || (hits >= 1 && (strcmp(ext, "eml") == 0 || strcmp(ext, "msg") == 0));
}

/* True when each of the first lines holds the same (non-zero) number of
 * commas, or of tabs. */
static bool ex_looks_like_csv(const char *h, size_t n)
{
    for (int d = 0; d < 2; d++) {
        char delim = d ? '\t' : ',';
        size_t i = 0, want = 0;
        int lines = 0;
        bool ok = true;
        while (i < n && lines < 5) {
            const char *eol = memchr(h + i, '\n', n - i);
            if (!eol)
                break;
            size_t cnt = 0;
            for (const char *p = h + i; p < eol; p++)
                cnt += *p == delim;
            if (lines == 0)
                want = cnt;
            if (cnt == 0 || cnt != want) {
                ok = false;
                break;
            }
            lines++;
            i = (size_t)(eol - h) + 1;
        }
        if (ok && lines >= 2)
            return true;
    }
    return false;
}

/* Works out the format from the head (and the extension as a hint).
 * BC_OK with *fmt, or an error for binary and unsupported files. */
static bc_error ex_detect(const ex_in *in, const char *ext, ex_format *fmt, char *err, size_t errlen)
{
    const unsigned char *u = in->head;
    size_t n = in->headlen;
    size_t pdfscan = n < 1024 ? n : 1024;
    if (pdfscan >= 5 && memmem(u, pdfscan, "%PDF-", 5)) {
        *fmt = EX_PDF;
        return BC_OK;
    }
    if (n >= 4 && u[0] == 'P' && u[1] == 'K' && ((u[2] == 3 && u[3] == 4) || (u[2] == 5 && u[3] == 6))) {
        *fmt = EX_ZIP;
        return BC_OK;
    }
    if (n >= sizeof ex_ole_magic && memcmp(u, ex_ole_magic, sizeof ex_ole_magic) == 0)
        return bc_seterr(err, errlen, BC_EINVAL,
                         "%s: an OLE compound file (old .doc/.xls or a password-protected "
                         "Office document): not supported",
                         in->name);
    if (memchr(u, '\0', n))
        return bc_seterr(err, errlen, BC_EINVAL, "%s: binary file: not text", in->name);

    /* a NUL-terminated copy of the head, without a UTF-8 BOM */
    char h[EX_HEAD + 1];
    size_t off = (n >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) ? 3 : 0;
    memcpy(h, u + off, n - off);
    h[n - off] = '\0';
    size_t hn = n - off;
    const char *p = h;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;

    if (ex_mbox_from_line(h) || strcmp(ext, "mbox") == 0) {
        *fmt = EX_MBOX;
        return BC_OK;
    }
    if (ex_looks_like_mail(h, hn, ext)) {
        *fmt = EX_EML;
        return BC_OK;
    }
    if (strcmp(ext, "html") == 0 || strcmp(ext, "htm") == 0 || strcmp(ext, "xhtml") == 0 ||
        strncasecmp(p, "<!doctype html", 14) == 0 || strncasecmp(p, "<html", 5) == 0 ||
        (*p == '<' && (strcasestr(h, "<body") || strcasestr(h, "<html") || strcasestr(h, "<head")))) {
        *fmt = EX_HTML;
        return BC_OK;
    }
    if (strcmp(ext, "json") == 0 || strcmp(ext, "jsonl") == 0 || strcmp(ext, "ndjson") == 0) {
        *fmt = EX_JSON;
        return BC_OK;
    }
    if (*p == '{' || *p == '[') {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
            q++;
        if ((*p == '{' && (*q == '"' || *q == '}')) || (*p == '[' && *q && strchr("{[\"-0123456789tfn]", *q))) {
            *fmt = EX_JSON;
            return BC_OK;
        }
    }
    if (strcmp(ext, "csv") == 0 || strcmp(ext, "tsv") == 0 || ex_looks_like_csv(h, hn)) {
        *fmt = EX_CSV;
        return BC_OK;
    }
    *fmt = EX_TEXT;
    return BC_OK;
}

/* ---- JSON ------------------------------------------------------------------------ */

/* Feeds every string (and object key) under v that contains '@', decoded,
 * one per line, until a limit stops the source (*n counts the values). */
static void ex_json_walk(bc_scanner *s, json_t *v, unsigned long *n)
{
    if (++*n % EX_WALK_CHECK == 0 && ex_scanner_charge(s, 0, 0))
        return;
    if (json_is_string(v)) {
        const char *str = json_string_value(v);
        size_t len = json_string_length(v);
        if (memchr(str, '@', len)) {
            bc_scanner_feed(s, "\n", 1);
            bc_scanner_feed(s, str, len);
            bc_scanner_feed(s, "\n", 1);
        }
    } else if (json_is_object(v)) {
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val) {
            if (strchr(key, '@')) {
                bc_scanner_feed(s, "\n", 1);
                bc_scanner_feed(s, key, strlen(key));
                bc_scanner_feed(s, "\n", 1);
            }
            ex_json_walk(s, val, n);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val)
            ex_json_walk(s, val, n);
    }
}

/* JSON: the raw text first (line numbers), then, for a file under the
 * bound that holds escapes, the decoded strings. */
static bc_error ex_json(bc_scanner *s, ex_in *in, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    bool more = false;
    bc_error st = ex_slurp(in, EX_MAX_JSON, &buf, &len, &more, "JSON", err, errlen);
    if (st != BC_OK)
        return st;
    bc_scanner_feed(s, buf, len);
    if (more) {
        free(buf);
        return ex_stream(s, in, err, errlen); /* too big to parse: raw only */
    }
    if (memchr(buf, '\\', len) && !ex_scanner_charge(s, 0, 0)) {
        json_error_t jerr;
        json_t *root = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (root) {
            unsigned long n = 0;
            ex_json_walk(s, root, &n);
            json_decref(root);
        }
        /* JSON Lines, or not JSON at all: the raw text was fed; that is all */
    }
    free(buf);
    return BC_OK;
}

/* ---- HTML --------------------------------------------------------------------------- */

/* Elements that do not break the text flow (no separator around them). */
static bool ex_html_inline(const char *name)
{
    static const char *const names[] = {
        "a",      "abbr",   "b",   "bdi",   "bdo",  "big",  "cite", "code", "data", "dfn",   "em",
        "font",   "i",      "kbd", "label", "mark", "nobr", "q",    "s",    "samp", "small", "span",
        "strike", "strong", "sub", "sup",   "time", "tt",   "u",    "var",  "wbr",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

/* Feeds text, counting lines fed (for the catch-up below). */
typedef struct ex_html {
    bc_scanner *s;
    bool sync;          /* pad with newlines so lines are the source's */
    unsigned long line; /* the line the next byte fed is on */
} ex_html;

static void ex_html_feed(ex_html *h, const char *p, size_t n)
{
    for (const char *q = p; (q = memchr(q, '\n', n - (size_t)(q - p))) != NULL; q++)
        h->line++;
    bc_scanner_feed(h->s, p, n);
}

/* Feeds newlines until the source line of node n is reached (sync only). */
static void ex_html_sync(ex_html *h, const xmlNode *n)
{
    if (!h->sync)
        return;
    long l = xmlGetLineNo(n);
    static const char nl[64] = "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"
                               "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n";
    while (l > 0 && (unsigned long)l > h->line) {
        unsigned long gap = (unsigned long)l - h->line;
        size_t k = gap > sizeof nl ? sizeof nl : (size_t)gap;
        bc_scanner_feed(h->s, nl, k);
        h->line += k;
    }
}

/* A separator between blocks: a space when the line numbers follow the
 * source (its own newlines come through the catch-up), else a newline. */
static void ex_html_sep(ex_html *h)
{
    ex_html_feed(h, h->sync ? " " : "\n", 1);
}

/* Walks the tree without recursion, feeding text and mailto: links, until
 * a limit stops the source. */
static void ex_html_walk(ex_html *h, xmlNode *root)
{
    xmlNode *n = root;
    unsigned long seen = 0;
    while (n) {
        if (++seen % EX_WALK_CHECK == 0 && ex_scanner_charge(h->s, 0, 0))
            return;
        bool descend = false;
        if (n->type == XML_ELEMENT_NODE) {
            const char *name = (const char *)n->name;
            ex_html_sync(h, n);
            if (!ex_html_inline(name))
                ex_html_sep(h);
            xmlChar *href = xmlGetProp(n, BAD_CAST "href");
            if (href) {
                ex_feed_mailto(h->s, (const char *)href, "html");
                xmlFree(href);
            }
            descend = strcasecmp(name, "style") != 0;
        } else if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) /* its own newlines count; its line may be where it ends */
                ex_html_feed(h, (const char *)n->content, strlen((const char *)n->content));
        } else if (n->type == XML_DOCUMENT_NODE || n->type == XML_HTML_DOCUMENT_NODE) {
            descend = true;
        }
        if (descend && n->children) {
            n = n->children;
            continue;
        }
        /* up until there is a next sibling, closing blocks on the way */
        while (n) {
            if (n->type == XML_ELEMENT_NODE && !ex_html_inline((const char *)n->name))
                ex_html_sep(h);
            if (n == root) {
                n = NULL;
                break;
            }
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent;
        }
    }
}

/* HTML held in memory as libxml2 pulls it: 64 KiB at most a call, and the
 * end as soon as a limit stopped the source (looked at every 16 calls). */
typedef struct ex_html_src {
    bc_scanner *s;
    const char *buf;
    size_t len, pos;
    unsigned calls;
} ex_html_src;

static int ex_html_read(void *ctx, char *out, int len)
{
    ex_html_src *src = ctx;
    if (len <= 0 || src->pos >= src->len || (++src->calls % 16 == 0 && ex_scanner_charge(src->s, 0, 0)))
        return 0;
    size_t n = src->len - src->pos;
    if (n > (size_t)len)
        n = (size_t)len;
    if (n > EX_CHUNK)
        n = EX_CHUNK;
    memcpy(out, src->buf + src->pos, n);
    src->pos += n;
    return (int)n;
}

/* Parses HTML held in memory and feeds it (kind "html" and "mailto").
 * encoding: the bytes' charset, or NULL to let libxml2 work it out (from a
 * <meta> charset). sync: line numbers follow the source. */
static bc_error ex_html_mem(bc_scanner *s, const char *name, const char *buf, size_t len, const char *encoding,
                            bool sync, char *err, size_t errlen)
{
    if (len == 0)
        return BC_OK;
    if (len > EX_MAX_HTML)
        return bc_seterr(err, errlen, BC_EINVAL, "%s: HTML larger than %zu MiB; refusing it", name,
                         EX_MAX_HTML >> 20);
    int opts = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
               XML_PARSE_BIG_LINES;
    ex_html_src src = { .s = s, .buf = buf, .len = len };
    htmlDocPtr doc = htmlReadIO(ex_html_read, NULL, &src, NULL, encoding, opts);
    if (ex_scanner_charge(s, 0, 0)) {
        xmlFreeDoc(doc); /* stopped part way: nothing more is fed */
        return BC_OK;
    }
    if (!doc)
        return bc_seterr(err, errlen, BC_EDATA, "%s: cannot parse the HTML", name);
    bc_scanner_kind(s, "html");
    ex_html h = { .s = s, .sync = sync, .line = 1 };
    ex_html_walk(&h, (xmlNode *)doc);
    bc_scanner_feed(s, "\n", 1);
    xmlFreeDoc(doc);
    return BC_OK;
}

/* An HTML file, read whole: at most max_bytes of it (the tree libxml2 makes
 * is several times the text), cut after its last blank or tag bracket so
 * that no address is cut; the limit stops the source after that part. */
static bc_error ex_html_file(bc_scanner *s, ex_in *in, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, max = EX_MAX_HTML;
    double left, max_seconds;
    uint64_t max_bytes;
    ex_scanner_budget(s, &left, &max_seconds, &max_bytes);
    bool limited = max_bytes && max_bytes < max, more = false;
    if (limited)
        max = (size_t)max_bytes;
    bc_error st = ex_slurp(in, max, &buf, &len, limited ? &more : NULL, "HTML", err, errlen);
    if (st != BC_OK)
        return st;
    if (more) {
        len = max;
        while (len > 0 && !(buf[len - 1] == '<' || buf[len - 1] == '>' || (unsigned char)buf[len - 1] <= ' '))
            len--;
        buf[len] = '\0';
    }
    /* without a charset libxml2 assumes Latin-1: say UTF-8 when it is */
    st = ex_html_mem(s, in->name, buf, len, ex_utf8_ok(buf, len) ? "UTF-8" : NULL, true, err, errlen);
    free(buf);
    if (more)
        ex_scanner_stop(s, BC_EXTRACT_LIMIT_BYTES);
    return st;
}

/* ---- email and PDF: the loadable module ------------------------------------------------- */

static pthread_once_t ex_module_once = PTHREAD_ONCE_INIT;
static const ex_module *ex_module_ops;
static char ex_module_err[4400];

static const ex_host ex_host_ops = {
    .abi = EX_MODULE_ABI,
    .kind = bc_scanner_kind,
    .feed = bc_scanner_feed,
    .html = ex_html_mem,
    .charge = ex_scanner_charge,
    .stop = ex_scanner_stop,
    .cut = ex_scanner_cut,
    .budget = ex_scanner_budget,
};

/* Tries one directory; true when the module is loaded. The first failure
 * other than "not there" is kept for the message. */
static bool ex_module_try(const char *dir, size_t dirlen)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%.*s/%s", (int)dirlen, dir, EX_MODULE_FILE);
    if (n < 0 || (size_t)n >= sizeof path || access(path, F_OK) != 0)
        return false;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        if (!ex_module_err[0])
            snprintf(ex_module_err, sizeof ex_module_err, "%s", e ? e : path);
        return false;
    }
    ex_module_fn fn;
    void *sym = dlsym(h, EX_MODULE_SYMBOL);
    memcpy(&fn, &sym, sizeof fn); /* object to function pointer, as POSIX allows */
    const ex_module *ops = fn ? fn() : NULL;
    if (!ops || ops->abi != EX_MODULE_ABI) {
        if (!ex_module_err[0])
            snprintf(ex_module_err, sizeof ex_module_err, "%s: not a module of this version", path);
        dlclose(h);
        return false;
    }
    ex_module_ops = ops;
    /* h is not closed: the module stays loaded for the life of the process */
    /* cppcheck-suppress resourceLeak */
    return true;
}

static void ex_module_load(void)
{
    const char *env = getenv("BOUNCECHECK_MODULE_DIR");
    if (env && *env) { /* an explicit choice: only there */
        ex_module_try(env, strlen(env));
        return;
    }
    Dl_info info;
    if (dladdr(&ex_module_ops, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        if (slash) {
            size_t len = (size_t)(slash - info.dli_fname);
            if (ex_module_try(info.dli_fname, len))
                return;
            char sub[4096];
            int n = snprintf(sub, sizeof sub, "%.*s/bouncecheck", (int)len, info.dli_fname);
            if (n > 0 && (size_t)n < sizeof sub && ex_module_try(sub, (size_t)n))
                return;
        }
    }
#ifdef BC_MODULE_DIR
    if (ex_module_try(BC_MODULE_DIR, strlen(BC_MODULE_DIR)))
        return;
#endif
}

/* The module, or NULL with a message naming the format. */
static const ex_module *ex_module_get(const char *name, const char *what, char *err, size_t errlen)
{
    pthread_once(&ex_module_once, ex_module_load);
    if (!ex_module_ops)
        bc_seterr(err, errlen, BC_EIO, "%s: %s support is not installed (%s%s%s)", name, what,
                  ex_module_err[0] ? "" : EX_MODULE_FILE " not found", ex_module_err[0] ? "cannot load it: " : "",
                  ex_module_err);
    return ex_module_ops;
}

static bc_error ex_mail_file(bc_scanner *s, ex_in *in, bool mbox, char *err, size_t errlen)
{
    const ex_module *mod = ex_module_get(in->name, mbox ? "mbox" : "email message", err, errlen);
    if (!mod)
        return BC_EIO;
    return mod->mail(&ex_host_ops, s, in->name, in->fd, in->head, in->headlen, mbox, err, errlen);
}

static bc_error ex_pdf(bc_scanner *s, ex_in *in, char *err, size_t errlen)
{
    const ex_module *mod = ex_module_get(in->name, "PDF", err, errlen);
    if (!mod)
        return BC_EIO;
    char *buf = NULL;
    size_t len = 0;
    bc_error st = ex_slurp(in, EX_MAX_PDF, &buf, &len, NULL, "PDF", err, errlen);
    if (st != BC_OK)
        return st;
    return mod->pdf(&ex_host_ops, s, in->name, buf, len, err, errlen);
}

/* ---- DOCX, XLSX, ODT (libarchive + xmlReader) ------------------------------------------ */

typedef enum ex_part { EX_PART_NONE, EX_PART_TEXT, EX_PART_RELS } ex_part;

typedef struct ex_zip {
    bc_scanner *s;
    ex_in *in;
    struct archive *a;
    unsigned char buf[EX_CHUNK];
    uint64_t total;   /* unpacked bytes read, all members */
    uint64_t member;  /* unpacked bytes read, this member */
    const char *part; /* the member being read */
    bool failed;
    bool limited; /* a limit stopped it: msg is the detail of its message */
    char msg[512];
    char xmlmsg[256]; /* libxml2's first error in this member */
    unsigned long xmlline;
} ex_zip;

/* Which members hold text, and the kind they report. */
static ex_part ex_zip_part(const char *name, const char **kind)
{
    size_t n = strlen(name);
    bool xml = n > 4 && strcmp(name + n - 4, ".xml") == 0;
    bool rels = n > 5 && strcmp(name + n - 5, ".rels") == 0;
    if (strncmp(name, "word/", 5) == 0) {
        *kind = "docx";
        if (rels && strncmp(name, "word/_rels/", 11) == 0)
            return EX_PART_RELS;
        const char *b = name + 5;
        if (xml &&
            (strcmp(b, "document.xml") == 0 || strncmp(b, "header", 6) == 0 || strncmp(b, "footer", 6) == 0 ||
             strcmp(b, "footnotes.xml") == 0 || strcmp(b, "endnotes.xml") == 0 || strcmp(b, "comments.xml") == 0))
            return EX_PART_TEXT;
        return EX_PART_NONE;
    }
    if (strncmp(name, "xl/", 3) == 0) {
        *kind = "xlsx";
        if (rels && strncmp(name, "xl/worksheets/_rels/", 20) == 0)
            return EX_PART_RELS;
        if (xml && (strcmp(name, "xl/sharedStrings.xml") == 0 ||
                    (strncmp(name, "xl/worksheets/", 14) == 0 && !strchr(name + 14, '/')) ||
                    strncmp(name, "xl/comments", 11) == 0))
            return EX_PART_TEXT;
        return EX_PART_NONE;
    }
    if (strcmp(name, "content.xml") == 0 || strcmp(name, "styles.xml") == 0) {
        *kind = "odt";
        return EX_PART_TEXT;
    }
    return EX_PART_NONE;
}

/* Records the first failure message. */
__attribute__((format(printf, 2, 3))) static void ex_zip_fail(ex_zip *z, const char *fmt, ...)
{
    if (z->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->msg, sizeof z->msg, fmt, ap);
    va_end(ap);
    z->failed = true;
}

/* libarchive's read callback: the input in EX_CHUNK blocks, until a limit
 * stops the source (skipping a member may unpack it too). */
static la_ssize_t ex_zip_read(struct archive *a, void *ud, const void **buf)
{
    ex_zip *z = ud;
    if (ex_scanner_charge(z->s, 0, 0)) {
        archive_set_error(a, ECANCELED, "stopped at a limit");
        ex_zip_fail(z, "%s: stopped at a limit", z->in->name); /* replaced by the limit's message */
        return -1;
    }
    ssize_t n = ex_read(z->in, z->buf, sizeof z->buf);
    if (n < 0) {
        archive_set_error(a, errno, "read error: %s", strerror(errno));
        return -1;
    }
    *buf = z->buf;
    return (la_ssize_t)n;
}

/* libxml2's read callback: the current member's next bytes, counted
 * against the bounds. -1 on an error (message set). */
static int ex_zip_xml_read(void *ctx, char *buf, int len)
{
    ex_zip *z = ctx;
    if (len <= 0 || z->failed)
        return z->failed ? -1 : 0;
    la_ssize_t n = archive_read_data(z->a, buf, (size_t)len);
    if (n < 0) {
        const char *why = archive_error_string(z->a);
        ex_zip_fail(z, "%s: damaged or truncated zip in %s: %s", z->in->name, z->part, why ? why : "read error");
        return -1;
    }
    z->member += (uint64_t)n;
    z->total += (uint64_t)n;
    bc_extract_limit limit = ex_scanner_charge(z->s, (uint64_t)n, 0);
    if (limit) {
        ex_zip_fail(z, "%s unpacks to more than that%s", z->part,
                    limit == BC_EXTRACT_LIMIT_BYTES ? " (a zip bomb?)" : "");
        z->limited = limit == BC_EXTRACT_LIMIT_BYTES;
        return -1;
    }
    if (z->member > EX_MAX_MEMBER) {
        ex_zip_fail(z, "%s: %s unpacks to more than %llu MiB; refusing the document (a zip bomb?)", z->in->name,
                    z->part, (unsigned long long)(EX_MAX_MEMBER >> 20));
        return -1;
    }
    if (z->total > EX_MAX_ZIP) {
        ex_zip_fail(z, "%s: the document unpacks to more than %llu MiB; refusing it (a zip bomb?)", z->in->name,
                    (unsigned long long)(EX_MAX_ZIP >> 20));
        return -1;
    }
    return (int)n;
}

static void ex_zip_xml_error(void *arg, xmlErrorPtr e)
{
    ex_zip *z = arg;
    if (!e || e->level < XML_ERR_ERROR || z->xmlmsg[0])
        return;
    snprintf(z->xmlmsg, sizeof z->xmlmsg, "%s", e->message ? e->message : "XML error");
    size_t n = strlen(z->xmlmsg);
    while (n > 0 && (z->xmlmsg[n - 1] == '\n' || z->xmlmsg[n - 1] == ' '))
        z->xmlmsg[--n] = '\0';
    z->xmlline = e->line > 0 ? (unsigned long)e->line : 0;
}

/* What an element's end (or an empty element) feeds: paragraphs, cells and
 * rows end a line; tabs and ODT spaces are blanks. */
static const char *ex_zip_sep(const char *local)
{
    static const char *const lines[] = {
        "p",  "h",  "si",         "c",          "tc",        "tr",      "row",
        "br", "cr", "line-break", "table-cell", "list-item", "comment", "annotation",
    };
    if (strcmp(local, "tab") == 0)
        return "\t";
    if (strcmp(local, "s") == 0)
        return " ";
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (strcmp(local, lines[i]) == 0)
            return "\n";
    return NULL;
}

/* Reads the current member with xmlReader and feeds its text (or, for a
 * relationships part, its mailto: targets). */
static void ex_zip_member(ex_zip *z, ex_part type, const char *kind)
{
    z->member = 0;
    z->xmlmsg[0] = '\0';
    z->xmlline = 0;
    xmlTextReaderPtr rd = xmlReaderForIO(ex_zip_xml_read, NULL, z, z->part, NULL,
                                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!rd) {
        ex_zip_fail(z, "%s: out of memory", z->in->name);
        return;
    }
    xmlTextReaderSetStructuredErrorHandler(rd, ex_zip_xml_error, z);
    bc_scanner_feed(z->s, "\n", 1);
    bc_scanner_kind(z->s, kind);
    int r;
    while ((r = xmlTextReaderRead(rd)) == 1) {
        int t = xmlTextReaderNodeType(rd);
        if (t == XML_READER_TYPE_DOCUMENT_TYPE) {
            ex_zip_fail(z, "%s: %s has a DTD; refusing it", z->in->name, z->part);
            break;
        }
        if (t == XML_READER_TYPE_ELEMENT) {
            const char *local = (const char *)xmlTextReaderConstLocalName(rd);
            if (!local)
                continue;
            if (type == EX_PART_RELS) {
                if (strcmp(local, "Relationship") == 0) {
                    xmlChar *target = xmlTextReaderGetAttribute(rd, BAD_CAST "Target");
                    if (target) {
                        ex_feed_mailto(z->s, (const char *)target, kind);
                        xmlFree(target);
                    }
                }
                continue;
            }
            if (strcmp(local, "a") == 0 || strcmp(local, "hyperlink") == 0) {
                xmlChar *href = xmlTextReaderGetAttributeNs(rd, BAD_CAST "href",
                                                            BAD_CAST "http://www.w3.org/1999/xlink");
                if (href) {
                    ex_feed_mailto(z->s, (const char *)href, kind);
                    xmlFree(href);
                }
            }
            if (xmlTextReaderIsEmptyElement(rd) == 1) {
                const char *sep = ex_zip_sep(local);
                if (sep)
                    bc_scanner_feed(z->s, sep, 1);
            }
        } else if (t == XML_READER_TYPE_END_ELEMENT && type == EX_PART_TEXT) {
            const char *local = (const char *)xmlTextReaderConstLocalName(rd);
            const char *sep = local ? ex_zip_sep(local) : NULL;
            if (sep)
                bc_scanner_feed(z->s, sep, 1);
        } else if ((t == XML_READER_TYPE_TEXT || t == XML_READER_TYPE_CDATA ||
                    t == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) &&
                   type == EX_PART_TEXT) {
            const char *v = (const char *)xmlTextReaderConstValue(rd);
            if (v)
                bc_scanner_feed(z->s, v, strlen(v));
        }
    }
    if (r < 0 && !z->failed) {
        if (z->xmlline)
            ex_zip_fail(z, "%s: damaged XML in %s line %lu: %s", z->in->name, z->part, z->xmlline,
                        z->xmlmsg[0] ? z->xmlmsg : "parse error");
        else
            ex_zip_fail(z, "%s: damaged XML in %s: %s", z->in->name, z->part,
                        z->xmlmsg[0] ? z->xmlmsg : "parse error");
    }
    xmlFreeTextReader(rd);
}

static bc_error ex_zip_file(bc_scanner *s, ex_in *in, char *err, size_t errlen)
{
    ex_zip *z = calloc(1, sizeof *z);
    if (!z)
        return bc_seterr(err, errlen, BC_ENOMEM, "%s: out of memory", in->name);
    z->s = s;
    z->in = in;
    z->a = archive_read_new();
    if (!z->a) {
        free(z);
        return bc_seterr(err, errlen, BC_ENOMEM, "%s: out of memory", in->name);
    }
    archive_read_support_format_zip(z->a);
    bool any = false;
    if (archive_read_open(z->a, z, NULL, ex_zip_read, NULL) != ARCHIVE_OK) {
        const char *why = archive_error_string(z->a);
        ex_zip_fail(z, "%s: unreadable zip: %s", in->name, why ? why : "unknown error");
    }
    while (!z->failed) {
        struct archive_entry *e;
        int r = archive_read_next_header(z->a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            const char *why = archive_error_string(z->a);
            ex_zip_fail(z, "%s: damaged or truncated zip: %s", in->name, why ? why : "read error");
            break;
        }
        const char *name = archive_entry_pathname(e);
        const char *kind = NULL;
        ex_part type = name ? ex_zip_part(name, &kind) : EX_PART_NONE;
        if (type == EX_PART_NONE)
            continue; /* the next header skips the data */
        if (archive_entry_is_encrypted(e)) {
            ex_zip_fail(z, "%s: encrypted document (%s): cannot read it without the password", in->name, name);
            break;
        }
        uint64_t declared = archive_entry_size_is_set(e) && archive_entry_size(e) >= 0
                                ? (uint64_t)archive_entry_size(e)
                                : 0;
        double left, max_seconds;
        uint64_t max_bytes;
        ex_scanner_budget(s, &left, &max_seconds, &max_bytes);
        if (max_bytes && declared > max_bytes) {
            /* over the size limit: read up to it (what comes first is
             * found), and however the member ends, the limit stopped it */
            z->part = name;
            ex_zip_member(z, type, kind);
            ex_scanner_stop(s, BC_EXTRACT_LIMIT_BYTES);
            snprintf(z->msg, sizeof z->msg, "%s declares %llu MiB unpacked (a zip bomb?)", name,
                     (unsigned long long)(declared >> 20));
            z->limited = true;
            break;
        }
        if (!max_bytes && declared > EX_MAX_MEMBER) {
            ex_zip_fail(z,
                        "%s: %s declares %llu MiB unpacked, more than %llu MiB; refusing the "
                        "document (a zip bomb?)",
                        in->name, name, (unsigned long long)((uint64_t)archive_entry_size(e) >> 20),
                        (unsigned long long)(EX_MAX_MEMBER >> 20));
            break;
        }
        any = true;
        z->part = name;
        ex_zip_member(z, type, kind);
    }
    if (!z->failed && !any && !z->limited)
        ex_zip_fail(z, "%s: a zip archive but not a DOCX, XLSX or ODT document", in->name);
    bc_error st = BC_OK;
    if (z->limited) /* the detail of the limit's message */
        st = bc_seterr(err, errlen, BC_ELIMIT, "%s", z->msg);
    else if (z->failed)
        st = bc_seterr(err, errlen, BC_EDATA, "%s", z->msg);
    archive_read_free(z->a);
    free(z);
    return st;
}

/* ---- the entry point ------------------------------------------------------------------- */

/* BC_ELIMIT with the message for a source a limit stopped; detail (or
 * NULL) says where, from the decoder. */
static bc_error ex_limit_error(const bc_scanner *s, const char *name, bc_extract_limit limit, const char *detail,
                               char *err, size_t errlen)
{
    double left, max_seconds;
    uint64_t max_bytes;
    ex_scanner_budget(s, &left, &max_seconds, &max_bytes);
    const char *sep = detail && detail[0] ? ": " : "";
    if (!detail)
        detail = "";
    if (limit == BC_EXTRACT_LIMIT_BYTES) {
        if (max_bytes % (1u << 20) == 0)
            return bc_seterr(err, errlen, BC_ELIMIT, "%s: stopped at the size limit (%llu MiB decoded)%s%s", name,
                             (unsigned long long)(max_bytes >> 20), sep, detail);
        return bc_seterr(err, errlen, BC_ELIMIT, "%s: stopped at the size limit (%llu bytes decoded)%s%s", name,
                         (unsigned long long)max_bytes, sep, detail);
    }
    return bc_seterr(err, errlen, BC_ELIMIT, "%s: stopped at the time limit (%g s of CPU time)%s%s", name,
                     max_seconds, sep, detail);
}

/* The kind a source starts with, before a decoder switches it. */
static const char *ex_kind(ex_format f, const char *ext)
{
    switch (f) {
    case EX_CSV: return "csv";
    case EX_JSON: return "json";
    case EX_HTML: return "html";
    case EX_EML:
    case EX_MBOX: return "header";
    case EX_PDF: return "pdf";
    case EX_ZIP:
        if (strcmp(ext, "xlsx") == 0 || strcmp(ext, "xlsm") == 0)
            return "xlsx";
        if (strcmp(ext, "odt") == 0 || strcmp(ext, "ods") == 0 || strcmp(ext, "odp") == 0)
            return "odt";
        return "docx";
    case EX_TEXT: break;
    }
    return "text";
}

bc_error bc_extract_file(bc_scanner *s, const char *path, char *errbuf, size_t errlen)
{
    if (!s || !path)
        return bc_seterr(errbuf, errlen, BC_EINVAL, "bc_extract_file: no scanner or path");
    bool is_stdin = strcmp(path, "-") == 0;
    ex_in *in = calloc(1, sizeof *in);
    if (!in)
        return bc_seterr(errbuf, errlen, BC_ENOMEM, "%s: out of memory", path);
    in->name = path;
    in->fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (in->fd < 0) {
        int e = errno;
        free(in);
        return bc_seterr(errbuf, errlen, e == ENOENT ? BC_ENOTFOUND : BC_EIO, "%s: %s", path, strerror(e));
    }
    struct stat sb;
    bc_error st = BC_OK;
    if (fstat(in->fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        st = bc_seterr(errbuf, errlen, BC_EINVAL, "%s: a directory", path);
    } else if (!ex_read_head(in)) {
        st = bc_seterr(errbuf, errlen, BC_EIO, "%s: read error: %s", path, strerror(errno));
    } else {
        char ext[16];
        ex_extension(is_stdin ? "" : path, ext, sizeof ext);
        ex_format f = EX_TEXT;
        st = ex_detect(in, ext, &f, errbuf, errlen);
        if (st == BC_OK) {
            bc_scanner_source(s, path, ex_kind(f, ext));
            switch (f) {
            case EX_TEXT:
            case EX_CSV: st = ex_stream(s, in, errbuf, errlen); break;
            case EX_JSON: st = ex_json(s, in, errbuf, errlen); break;
            case EX_HTML: st = ex_html_file(s, in, errbuf, errlen); break;
            case EX_EML: st = ex_mail_file(s, in, false, errbuf, errlen); break;
            case EX_MBOX: st = ex_mail_file(s, in, true, errbuf, errlen); break;
            case EX_PDF: st = ex_pdf(s, in, errbuf, errlen); break;
            case EX_ZIP: st = ex_zip_file(s, in, errbuf, errlen); break;
            }
            bc_scanner_end(s);
            bc_extract_stats xs;
            bc_scanner_stats(s, &xs);
            if (xs.limit != BC_EXTRACT_LIMIT_NONE && st != BC_ENOMEM) {
                /* whatever the cut did to the decoder; a decoder that saw
                 * the limit itself (BC_ELIMIT) says where in errbuf */
                char detail[512] = "";
                if (st == BC_ELIMIT && errbuf && errlen)
                    snprintf(detail, sizeof detail, "%s", errbuf);
                st = ex_limit_error(s, path, xs.limit, detail, errbuf, errlen);
            }
        }
    }
    if (!is_stdin)
        close(in->fd);
    free(in);
    return st;
}

/*
 * extract_module.c - the extractor's heavy decoders, built as the loadable
 * module bouncecheck-formats.so (see extract_module.h for why):
 * - email messages and mbox files: GMime 3. Headers are fed decoded
 *   (RFC 2047) as kind "header", except the message identifiers
 *   (Message-ID, Content-ID, References, In-Reply-To); text parts are
 *   decoded (quoted-printable, base64, charset to UTF-8) as kind "body",
 *   HTML parts go through the library's HTML path, multiparts and attached
 *   messages are walked (32 levels at most); one message is in memory at a
 *   time.
 * - PDF: poppler-glib, the text of each page (kind "pdf"). Encrypted and
 *   damaged documents are errors.
 *
 * Limits (the scanner's, through ex_host):
 * - mail: GMime reads the input through xm_cap, a stream that cuts every
 *   line and every header with its folded lines at BC_EXTRACT_LINE_MAX (or
 *   4096 folded lines), and every header block at 4 times that or 16384
 *   fields (GMime holds a header whole, and 4 copies of a 50 MB header line
 *   were 216 MB; it keeps about 0.5 KiB for each field), counts what it
 *   reads for one message against max_bytes (GMime holds a message whole)
 *   and ends the input when a limit is reached. Text parts are decoded 16 KiB at a time, and the
 *   limits are looked at between two pieces, headers, parts and messages.
 * - PDF: poppler has no way to be interrupted, and one page of a few
 *   megabytes can keep it busy for minutes (a content stream inflating to
 *   gigabytes of blanks; millions of overlapping words). So it runs in a
 *   child process that sends the text back in pieces through a pipe;
 *   the parent feeds it, counts the child's CPU time against max_seconds
 *   and its memory against an allowance (twice max_bytes, at least
 *   512 MiB, beyond what it started with), and kills it at a limit; what
 *   came before stands.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <poppler.h>

#include "extract/extract_module.h"

#define EX_MAX_DEPTH 32 /* MIME nesting walked */
#define XM_IN_CHUNK (64 * 1024)
#define XM_LOOK 80 /* bytes looked at at the start of a line */
#define XM_PART_CHUNK (16 * 1024)
#define XM_FRAME_MAX (64 * 1024) /* text bytes in one frame from the PDF process */
#define XM_POLL_MS 50
#define XM_PDF_MEMORY_MIN ((uint64_t)512 << 20) /* the PDF process's memory allowance, at least */
/* a header block passed: bytes (a cut line leaves room for the others) and
 * fields (GMime keeps about 0.5 KiB for each) */
#define XM_BLOCK_MAX (4 * BC_EXTRACT_LINE_MAX)
#define XM_BLOCK_FIELDS 16384
#define XM_FOLDS_MAX 4096 /* folded lines of one header passed (GMime grows its buffer by pieces) */

/* The module's own copy of the library's bc_seterr. */
static bc_error xm_seterr(char *err, size_t errlen, bc_error st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bc_error xm_seterr(char *err, size_t errlen, bc_error st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ---- the mail parser's input: lines cut, limits looked at ------------------------ */

/*
 * XmCap: a read-only, unseekable GMimeStream over the input (the head read
 * for detection, then the fd). Lines pass through unchanged until one is
 * over its budget: BC_EXTRACT_LINE_MAX for a line, and in a header block
 * what is left of it for a header with its folded lines. The first budget
 * bytes pass, then "@\n" (an '@' right after a domain or a local part
 * makes the scanner refuse it, so an address cut there is not reported),
 * and the rest of the line is skipped. In a header block over XM_BLOCK_MAX
 * or XM_BLOCK_FIELDS the lines are skipped up to the blank line that ends it. A header block
 * starts the input, follows an mbox "From " line after a blank line, and
 * follows a line starting with "--" (a MIME boundary) when its lines look
 * like header fields; it ends at a blank line or a line that is not one.
 */
typedef enum xm_mode { XM_BODY, XM_HEADERS } xm_mode;

typedef struct XmCap {
    GMimeStream parent;
    const ex_host *h;
    bc_scanner *s;
    int fd;
    const unsigned char *head;
    size_t headlen, headpos;
    unsigned char *in; /* XM_IN_CHUNK bytes (an instance is at most 64 KiB) */
    size_t inlen, inpos;
    bool eof;          /* no more input (its end, an error, or a limit) */
    uint64_t held;     /* bytes read since the last message was done with */
    uint64_t max_held; /* max_bytes (0: none) */
    const char *mark;  /* bytes of the cut mark still to give */
    bool line_start;   /* the next input byte starts a line */
    size_t linelen;    /* bytes of the current line passed (without its newline) */
    size_t budget;     /* bytes the current line may pass */
    bool drop;         /* skipping the rest of the current line */
    bool cut_counted;  /* the current header (or block) was counted as cut */
    bool next_headers; /* a header block starts after the current line */
    bool field;        /* the current line starts a header field */
    bool prev_blank;   /* the previous line was blank */
    xm_mode mode;
    size_t header_len, header_folds, block_len, block_fields;
    unsigned long line; /* 1-based input line */
} XmCap;

typedef struct XmCapClass {
    GMimeStreamClass parent_class;
} XmCapClass;

static gpointer xm_cap_parent_class;

/* "Name:" (or "Name :"): a header field's first line. */
static bool xm_header_like(const unsigned char *p, size_t n)
{
    size_t k = 0;
    while (k < n && p[k] > ' ' && p[k] < 127 && p[k] != ':')
        k++;
    if (k == 0)
        return false;
    while (k < n && (p[k] == ' ' || p[k] == '\t'))
        k++;
    return k < n && p[k] == ':';
}

/* Refills the input buffer, keeping what is unread; the limits are looked
 * at here (and the bytes read counted: GMime holds a message whole). */
static void xm_cap_fill(XmCap *c)
{
    if (c->eof)
        return;
    if (c->h->charge(c->s, 0, 0)) {
        c->eof = true;
        return;
    }
    memmove(c->in, c->in + c->inpos, c->inlen - c->inpos);
    c->inlen -= c->inpos;
    c->inpos = 0;
    while (c->inlen < XM_IN_CHUNK) {
        size_t room = XM_IN_CHUNK - c->inlen;
        ssize_t n;
        if (c->headpos < c->headlen) {
            n = (ssize_t)(c->headlen - c->headpos < room ? c->headlen - c->headpos : room);
            memcpy(c->in + c->inlen, c->head + c->headpos, (size_t)n);
            c->headpos += (size_t)n;
        } else {
            n = read(c->fd, c->in + c->inlen, room);
            if (n < 0 && errno == EINTR)
                continue;
        }
        if (n <= 0) {
            c->eof = true;
            break;
        }
        c->inlen += (size_t)n;
        c->held += (uint64_t)n;
        if (c->max_held && c->held > c->max_held) {
            c->h->stop(c->s, BC_EXTRACT_LIMIT_BYTES);
            c->eof = true;
            break;
        }
        if (c->inlen - c->inpos >= XM_LOOK)
            break;
    }
}

/* A cut: counted once a header (or header block) or line. */
static void xm_cap_cut(XmCap *c)
{
    if (!c->cut_counted)
        c->h->cut(c->s, c->line);
    c->cut_counted = c->mode == XM_HEADERS;
}

/* Sets the budget of the line starting at p (n bytes looked at). */
static void xm_cap_line(XmCap *c, const unsigned char *p, size_t n)
{
    bool blank = n > 0 && (p[0] == '\n' || (p[0] == '\r' && n > 1 && p[1] == '\n'));
    c->budget = BC_EXTRACT_LINE_MAX;
    c->drop = false;
    c->field = false;
    if (c->mode == XM_HEADERS) {
        if (blank) {
            c->mode = XM_BODY;
        } else if (p[0] == ' ' || p[0] == '\t') {
            if (c->header_len >= BC_EXTRACT_LINE_MAX || c->header_folds >= XM_FOLDS_MAX ||
                c->block_len >= XM_BLOCK_MAX || c->block_fields >= XM_BLOCK_FIELDS) {
                c->drop = true;
                xm_cap_cut(c);
            } else {
                c->budget = BC_EXTRACT_LINE_MAX - c->header_len;
            }
        } else if (xm_header_like(p, n)) {
            c->header_len = c->header_folds = 0;
            c->field = true;
            if (c->block_len >= XM_BLOCK_MAX || c->block_fields >= XM_BLOCK_FIELDS) {
                c->drop = true;
                xm_cap_cut(c);
            } else {
                c->cut_counted = false;
            }
        } else {
            c->mode = XM_BODY;
        }
    }
    if (c->mode == XM_BODY)
        c->cut_counted = false;
    c->next_headers = (n >= 2 && p[0] == '-' && p[1] == '-') ||
                      (c->prev_blank && n >= 5 && memcmp(p, "From ", 5) == 0);
    c->prev_blank = blank;
    c->linelen = 0;
    c->line_start = false;
}

/* The line ended (its newline consumed). */
static void xm_cap_end_line(XmCap *c)
{
    if (c->mode == XM_HEADERS) { /* what passed (none of a line dropped whole) */
        c->header_len += c->linelen;
        c->block_len += c->linelen;
        c->block_fields += c->field && c->linelen;
        c->header_folds += !c->field && c->linelen;
    }
    if (c->next_headers) {
        c->mode = XM_HEADERS;
        c->header_len = c->header_folds = c->block_len = c->block_fields = 0;
        c->cut_counted = false;
    }
    c->line++;
    c->line_start = true;
}

static ssize_t xm_cap_read(GMimeStream *stream, char *out, size_t len)
{
    XmCap *c = (XmCap *)stream;
    size_t n = 0;
    while (n < len) {
        if (c->mark && *c->mark) {
            out[n++] = *c->mark++;
            continue;
        }
        size_t avail = c->inlen - c->inpos;
        if (avail == 0 || (c->line_start && avail < XM_LOOK && !c->eof)) {
            xm_cap_fill(c);
            avail = c->inlen - c->inpos;
            if (avail == 0)
                break;
        }
        const unsigned char *p = c->in + c->inpos;
        if (c->line_start)
            xm_cap_line(c, p, avail < XM_LOOK ? avail : XM_LOOK);
        const unsigned char *nl = memchr(p, '\n', avail);
        size_t content = nl ? (size_t)(nl - p) : avail; /* bytes before the newline */
        if (c->drop) {
            c->inpos += nl ? content + 1 : content;
            if (nl)
                xm_cap_end_line(c);
            continue;
        }
        size_t allowed = c->budget > c->linelen ? c->budget - c->linelen : 0;
        if (content > allowed) {
            size_t take = allowed < len - n ? allowed : len - n;
            memcpy(out + n, p, take);
            n += take;
            c->inpos += take;
            c->linelen += take;
            if (take == allowed) {
                c->drop = true;
                c->mark = "@\n";
                xm_cap_cut(c);
            }
            continue;
        }
        size_t take = nl ? content + 1 : content;
        if (take > len - n)
            take = len - n;
        memcpy(out + n, p, take);
        n += take;
        c->inpos += take;
        c->linelen += take > content ? content : take;
        if (nl && take == content + 1)
            xm_cap_end_line(c);
    }
    stream->position += (gint64)n;
    return (ssize_t)n;
}

static ssize_t xm_cap_write(GMimeStream *stream, const char *buf, size_t len)
{
    (void)stream;
    (void)buf;
    (void)len;
    return -1;
}

static int xm_cap_flush(GMimeStream *stream)
{
    (void)stream;
    return 0;
}

static int xm_cap_close(GMimeStream *stream)
{
    (void)stream;
    return 0;
}

static gboolean xm_cap_eos(GMimeStream *stream)
{
    XmCap *c = (XmCap *)stream;
    return c->eof && c->inpos == c->inlen && !(c->mark && *c->mark);
}

static int xm_cap_reset(GMimeStream *stream)
{
    (void)stream;
    return -1;
}

static gint64 xm_cap_seek(GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
    (void)stream;
    (void)offset;
    (void)whence;
    return -1;
}

static gint64 xm_cap_tell(GMimeStream *stream)
{
    (void)stream;
    return -1; /* not seekable: the parser copies what it keeps */
}

static gint64 xm_cap_length(GMimeStream *stream)
{
    (void)stream;
    return -1;
}

static GMimeStream *xm_cap_substream(GMimeStream *stream, gint64 start, gint64 end)
{
    (void)stream;
    (void)start;
    (void)end;
    return NULL;
}

static void xm_cap_finalize(GObject *object)
{
    XmCap *c = (XmCap *)object;
    g_free(c->in);
    G_OBJECT_CLASS(xm_cap_parent_class)->finalize(object);
}

static void xm_cap_class_init(XmCapClass *klass)
{
    G_OBJECT_CLASS(klass)->finalize = xm_cap_finalize;
    GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);
    sc->read = xm_cap_read;
    sc->write = xm_cap_write;
    sc->flush = xm_cap_flush;
    sc->close = xm_cap_close;
    sc->eos = xm_cap_eos;
    sc->reset = xm_cap_reset;
    sc->seek = xm_cap_seek;
    sc->tell = xm_cap_tell;
    sc->length = xm_cap_length;
    sc->substream = xm_cap_substream;
}

static void xm_cap_init(XmCap *c)
{
    c->in = g_malloc(XM_IN_CHUNK);
}

/* The type, registered once (by hand: what G_DEFINE_TYPE writes). */
static void xm_cap_class_intern_init(gpointer klass, gpointer data)
{
    (void)data;
    xm_cap_parent_class = g_type_class_peek_parent(klass);
    xm_cap_class_init(klass);
}

static void xm_cap_instance_init(GTypeInstance *instance, gpointer klass)
{
    (void)klass;
    xm_cap_init((XmCap *)instance);
}

static GType xm_cap_get_type(void)
{
    static gsize type;
    if (g_once_init_enter(&type)) {
        GType t = g_type_register_static_simple(GMIME_TYPE_STREAM, g_intern_static_string("BcExtractCapStream"),
                                                (guint)sizeof(XmCapClass), xm_cap_class_intern_init,
                                                (guint)sizeof(XmCap), xm_cap_instance_init, 0);
        g_once_init_leave(&type, t);
    }
    return type;
}

/* The capped input over fd (rewound when seekable, else the head first). */
static GMimeStream *xm_cap_new(const ex_host *h, bc_scanner *s, int fd, const void *head, size_t headlen,
                               bool mbox)
{
    XmCap *c = g_object_new(xm_cap_get_type(), NULL);
    g_mime_stream_construct(GMIME_STREAM(c), 0, -1);
    c->h = h;
    c->s = s;
    c->fd = fd;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        c->head = head;
        c->headlen = headlen;
    }
    c->line_start = true;
    c->prev_blank = true;
    c->mode = mbox ? XM_BODY : XM_HEADERS;
    c->line = 1;
    double left, max_seconds;
    h->budget(s, &left, &max_seconds, &c->max_held);
    return GMIME_STREAM(c);
}

/* ---- email (GMime) ----------------------------------------------------------------- */

static pthread_once_t ex_gmime_once = PTHREAD_ONCE_INIT;

static void ex_gmime_init(void)
{
    g_mime_init();
}

typedef struct ex_mail {
    const ex_host *h;
    bc_scanner *s;
    const char *name;
    bc_error st;
    char *err;
    size_t errlen;
} ex_mail;

/* True once a limit stopped the source (the clock looked at). */
static bool ex_mail_stopped(ex_mail *m)
{
    return m->h->charge(m->s, 0, 0) != BC_EXTRACT_LIMIT_NONE;
}

/* Headers whose values are identifiers, not addresses. */
static bool ex_skip_header(const char *name)
{
    static const char *const skip[] = {
        "message-id",
        "content-id",
        "references",
        "in-reply-to",
        "resent-message-id",
        "original-message-id",
        "x-original-message-id",
    };
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcasecmp(name, skip[i]) == 0)
            return true;
    return false;
}

/* Feeds an object's headers, decoded, as kind "header". */
static void ex_mail_headers(ex_mail *m, GMimeObject *obj)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(obj);
    if (!list || ex_mail_stopped(m))
        return;
    m->h->kind(m->s, "header");
    int count = g_mime_header_list_get_count(list);
    for (int i = 0; i < count; i++) {
        if (i % 64 == 63 && ex_mail_stopped(m))
            return;
        GMimeHeader *hd = g_mime_header_list_get_header_at(list, i);
        const char *name = hd ? g_mime_header_get_name(hd) : NULL;
        if (!name || ex_skip_header(name))
            continue;
        const char *value = g_mime_header_get_value(hd);
        m->h->feed(m->s, name, strlen(name));
        m->h->feed(m->s, ": ", 2);
        if (value)
            m->h->feed(m->s, value, strlen(value));
        m->h->feed(m->s, "\n", 1);
    }
    m->h->feed(m->s, "\n", 1);
}

/* An HTML part decoded into acc: at most max_bytes of it parsed (cut after
 * its last blank or tag bracket), then the limit stops the source. */
static void ex_mail_html(ex_mail *m, GByteArray *acc, bool utf8, bool over)
{
    size_t len = acc->len;
    if (over)
        while (len > 0 && !(acc->data[len - 1] == '<' || acc->data[len - 1] == '>' || acc->data[len - 1] <= ' '))
            len--;
    char msg[256];
    const char *enc = utf8 ? "UTF-8" : NULL;
    if (len && m->h->html(m->s, m->name, (const char *)acc->data, len, enc, false, msg, sizeof msg) != BC_OK &&
        m->st == BC_OK)
        m->st = xm_seterr(m->err, m->errlen, BC_EDATA, "%s", msg);
    if (over)
        m->h->stop(m->s, BC_EXTRACT_LIMIT_BYTES);
}

/* Feeds a text part, decoded a piece at a time: transfer encoding undone,
 * charset to UTF-8; HTML through the HTML path. */
static void ex_mail_text(ex_mail *m, GMimePart *part, GMimeContentType *ct)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GMimeStream *raw = content ? g_mime_data_wrapper_get_stream(content) : NULL;
    if (!raw || ex_mail_stopped(m))
        return;
    g_mime_stream_reset(raw);
    GMimeStream *filtered = g_mime_stream_filter_new(raw);
    GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *f = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
        g_object_unref(f);
    }
    const char *charset = g_mime_content_type_get_parameter(ct, "charset");
    bool utf8 = true;
    if (charset && strcasecmp(charset, "utf-8") != 0 && strcasecmp(charset, "utf8") != 0 &&
        strcasecmp(charset, "us-ascii") != 0) {
        GMimeFilter *f = g_mime_filter_charset_new(charset, "UTF-8");
        if (f) {
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
            g_object_unref(f);
        } else {
            utf8 = false; /* an unknown charset: fed as is */
        }
    }
    bool html = g_mime_content_type_is_type(ct, "text", "html");
    double left, max_seconds;
    uint64_t max_bytes;
    m->h->budget(m->s, &left, &max_seconds, &max_bytes);
    GByteArray *acc = html ? g_byte_array_new() : NULL;
    char *buf = g_malloc(XM_PART_CHUNK);
    bool any = false, over = false;
    ssize_t n;
    if (!html)
        m->h->kind(m->s, "body");
    while ((n = g_mime_stream_read(filtered, buf, XM_PART_CHUNK)) > 0) {
        any = true;
        if (html) {
            g_byte_array_append(acc, (const guint8 *)buf, (guint)n);
            if (max_bytes && acc->len > max_bytes) {
                g_byte_array_set_size(acc, (guint)max_bytes);
                over = true;
                break;
            }
        } else {
            m->h->feed(m->s, buf, (size_t)n);
        }
        if (ex_mail_stopped(m))
            break;
    }
    g_free(buf);
    if (html) {
        if (!ex_mail_stopped(m))
            ex_mail_html(m, acc, utf8, over);
        g_byte_array_unref(acc);
    }
    if (any)
        m->h->feed(m->s, "\n", 1);
    g_object_unref(filtered);
}

/* Walks a MIME tree: multiparts, attached messages (their headers too),
 * and the text parts, until a limit stops the source. */
static void ex_mail_walk(ex_mail *m, GMimeObject *obj, int depth)
{
    if (!obj || depth > EX_MAX_DEPTH || ex_mail_stopped(m))
        return;
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *sub = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (sub) {
            ex_mail_headers(m, GMIME_OBJECT(sub));
            ex_mail_walk(m, g_mime_message_get_mime_part(sub), depth + 1);
        }
    } else if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int count = g_mime_multipart_get_count(mp);
        for (int i = 0; i < count; i++)
            ex_mail_walk(m, g_mime_multipart_get_part(mp, i), depth + 1);
    } else if (GMIME_IS_PART(obj)) {
        GMimeContentType *ct = g_mime_object_get_content_type(obj);
        if (ct && g_mime_content_type_is_type(ct, "text", "*"))
            ex_mail_text(m, GMIME_PART(obj), ct);
    }
}

/* An email message, or an mbox of them (one message in memory at a time). */
static bc_error ex_mail_file(const ex_host *h, bc_scanner *s, const char *name, int fd, const void *headbuf,
                             size_t headlen, bool mbox, char *err, size_t errlen)
{
    pthread_once(&ex_gmime_once, ex_gmime_init);
    GMimeStream *stream = xm_cap_new(h, s, fd, headbuf, headlen, mbox);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
    ex_mail m = { .h = h, .s = s, .name = name, .st = BC_OK, .err = err, .errlen = errlen };
    unsigned long nmsg = 0;
    while (!g_mime_parser_eos(parser) && !ex_mail_stopped(&m)) {
        GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
        if (!msg)
            break;
        nmsg++;
        ex_mail_headers(&m, GMIME_OBJECT(msg));
        ex_mail_walk(&m, g_mime_message_get_mime_part(msg), 0);
        g_object_unref(msg);
        ((XmCap *)stream)->held = 0; /* the next message's bytes from here (and the read-ahead) */
        if (!mbox)
            break;
    }
    g_object_unref(parser);
    g_object_unref(stream);
    if (nmsg == 0 && m.st == BC_OK && !ex_mail_stopped(&m))
        m.st = xm_seterr(err, errlen, BC_EDATA, "%s: no email message could be read%s", name,
                         mbox ? " from the mbox" : "");
    return m.st;
}

/* ---- PDF (poppler, in a child process) ---------------------------------------------- */

/* A frame from the PDF process: a type, a length (native order: the same
 * machine), the bytes. Text comes in pieces of at most XM_FRAME_MAX. */
enum { XM_FRAME_TEXT = 'T', XM_FRAME_PAGE = 'P', XM_FRAME_ERROR = 'E' };
typedef struct xm_frame {
    char type;
    uint32_t len;
} xm_frame;

static bool xm_write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

static bool xm_send(int fd, char type, const char *p, size_t n)
{
    xm_frame f;
    memset(&f, 0, sizeof f);
    f.type = type;
    f.len = (uint32_t)n;
    return xm_write_all(fd, &f, sizeof f) && (n == 0 || xm_write_all(fd, p, n));
}

/* The child: poppler on buf, each page's text to fd; never returns. */
static void xm_pdf_child(int fd, const char *buf, size_t len) __attribute__((noreturn));
static void xm_pdf_child(int fd, const char *buf, size_t len)
{
    GBytes *bytes = g_bytes_new_static(buf, len);
    GError *gerr = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!doc) {
        char msg[512];
        if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
            snprintf(msg, sizeof msg, "encrypted PDF: cannot read it without the password");
        else
            snprintf(msg, sizeof msg, "damaged PDF: %s",
                     gerr && gerr->message ? gerr->message : "poppler cannot open it");
        xm_send(fd, XM_FRAME_ERROR, msg, strlen(msg));
        _exit(0);
    }
    int pages = poppler_document_get_n_pages(doc);
    for (int i = 0; i < pages; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page)
            continue;
        char *text = poppler_page_get_text(page);
        size_t n = text ? strlen(text) : 0;
        for (size_t off = 0; off < n; off += XM_FRAME_MAX)
            if (!xm_send(fd, XM_FRAME_TEXT, text + off, n - off < XM_FRAME_MAX ? n - off : XM_FRAME_MAX))
                _exit(0); /* the parent is gone or stopped reading */
        g_free(text);
        if (!xm_send(fd, XM_FRAME_PAGE, NULL, 0))
            _exit(0);
        g_object_unref(page);
    }
    _exit(0);
}

/* The resident and virtual sizes of process pid ("self" or a number) in
 * bytes, from /proc; false when unknown. */
static bool xm_memory(const char *pid, uint64_t *rss, uint64_t *vsize)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%s/statm", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, line, sizeof line - 1);
    close(fd);
    if (n <= 0)
        return false;
    line[n] = '\0';
    unsigned long long size = 0, res = 0;
    if (sscanf(line, "%llu %llu", &size, &res) != 2)
        return false;
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    *rss = (uint64_t)res * page;
    *vsize = (uint64_t)size * page;
    return true;
}

static double xm_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sets up the child after fork: only the pipe's write end stays open (as
 * fd 3, beside 0-2), signals unblocked, no core file, and the CPU and
 * address-space limits as a backstop to the parent's watch. */
static void xm_pdf_child_setup(int *wfd, double seconds_left, uint64_t vsize_max)
{
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    signal(SIGXCPU, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (*wfd != 3) {
        if (dup2(*wfd, 3) < 0)
            _exit(1);
        *wfd = 3;
    }
    if (close_range(4, ~0u, 0) != 0)
        for (int fd = 4; fd < 1024; fd++)
            close(fd);
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    if (seconds_left >= 0) {
        rl.rlim_cur = (rlim_t)seconds_left + 2;
        rl.rlim_max = rl.rlim_cur + 1;
        setrlimit(RLIMIT_CPU, &rl);
    }
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    /* (the sanitizers reserve terabytes of address space) */
    if (vsize_max) {
        rl.rlim_cur = rl.rlim_max = (rlim_t)vsize_max;
        setrlimit(RLIMIT_AS, &rl);
    }
#else
    (void)vsize_max;
#endif
}

/* The parent's side: what the child sends, fed; its CPU time charged, its
 * memory and the wall clock watched; killed at a limit. */
typedef struct xm_pdf {
    const ex_host *h;
    bc_scanner *s;
    pid_t pid;
    int fd;
    char *rbuf; /* frames not yet whole */
    size_t rlen;
    char errmsg[512];
    bool killed;
} xm_pdf;

/* Feeds the whole frames in p->rbuf. */
static void xm_pdf_frames(xm_pdf *p)
{
    size_t off = 0;
    while (p->rlen - off >= sizeof(xm_frame)) {
        xm_frame f;
        memcpy(&f, p->rbuf + off, sizeof f);
        if (p->rlen - off - sizeof f < f.len)
            break;
        const char *data = p->rbuf + off + sizeof f;
        if (f.type == XM_FRAME_TEXT)
            p->h->feed(p->s, data, f.len);
        else if (f.type == XM_FRAME_PAGE)
            p->h->feed(p->s, "\n", 1);
        else if (f.type == XM_FRAME_ERROR)
            snprintf(p->errmsg, sizeof p->errmsg, "%.*s", (int)f.len, data);
        off += sizeof f + f.len;
    }
    memmove(p->rbuf, p->rbuf + off, p->rlen - off);
    p->rlen -= off;
}

static void xm_pdf_kill(xm_pdf *p)
{
    if (!p->killed)
        kill(p->pid, SIGKILL);
    p->killed = true;
}

static bc_error ex_pdf(const ex_host *h, bc_scanner *s, const char *name, char *buf, size_t len, char *err,
                       size_t errlen)
{
    double left, max_seconds;
    uint64_t max_bytes, rss0 = 0, vsize0 = 0;
    h->budget(s, &left, &max_seconds, &max_bytes);
    uint64_t allowance = 0;
    if (max_bytes) {
        allowance = max_bytes * 2 > XM_PDF_MEMORY_MIN ? max_bytes * 2 : XM_PDF_MEMORY_MIN;
        if (!xm_memory("self", &rss0, &vsize0))
            allowance = 0;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        free(buf);
        return xm_seterr(err, errlen, BC_EIO, "%s: cannot start the PDF decoder: %s", name, strerror(errno));
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        xm_pdf_child_setup(&pfd[1], left, allowance ? vsize0 + 2 * allowance : 0);
        xm_pdf_child(pfd[1], buf, len);
    }
    int e = errno;
    close(pfd[1]);
    free(buf); /* the child has its copy */
    if (pid < 0) {
        close(pfd[0]);
        return xm_seterr(err, errlen, BC_EIO, "%s: cannot start the PDF decoder: %s", name, strerror(e));
    }
    xm_pdf p = { .h = h, .s = s, .pid = pid, .fd = pfd[0] };
    char pidstr[24];
    snprintf(pidstr, sizeof pidstr, "%d", (int)pid);
    size_t cap = 2 * XM_FRAME_MAX + 2 * sizeof(xm_frame);
    p.rbuf = malloc(cap);
    clockid_t cpu_clock;
    bool have_clock = clock_getcpuclockid(pid, &cpu_clock) == 0;
    double cpu_seen = 0, wall0 = xm_mono_s();
    /* the wall clock is a backstop only (a child stopped or starved) */
    double wall_max = left >= 0 ? 2 * left + 2 : -1;
    bc_extract_limit limit = BC_EXTRACT_LIMIT_NONE;
    bool eof = !p.rbuf;
    if (!p.rbuf)
        xm_pdf_kill(&p);
    while (!eof) {
        struct pollfd pf = { .fd = p.fd, .events = POLLIN };
        int r = poll(&pf, 1, XM_POLL_MS);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0) {
            ssize_t n = read(p.fd, p.rbuf + p.rlen, cap - p.rlen);
            if (n < 0 && errno != EINTR && errno != EAGAIN)
                break;
            if (n == 0)
                eof = true;
            if (n > 0) {
                p.rlen += (size_t)n;
                xm_pdf_frames(&p);
            }
        }
        struct timespec ts;
        double cpu_now = cpu_seen;
        if (have_clock && clock_gettime(cpu_clock, &ts) == 0)
            cpu_now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
        limit = h->charge(s, 0, cpu_now > cpu_seen ? cpu_now - cpu_seen : 0);
        if (cpu_now > cpu_seen)
            cpu_seen = cpu_now;
        if (limit)
            break;
        uint64_t rss, vsize;
        if (allowance && !eof && xm_memory(pidstr, &rss, &vsize) && rss > rss0 + allowance) {
            limit = BC_EXTRACT_LIMIT_BYTES;
            h->stop(s, limit);
            break;
        }
        if (wall_max >= 0 && xm_mono_s() - wall0 > wall_max) {
            limit = BC_EXTRACT_LIMIT_SECONDS;
            h->stop(s, limit);
            break;
        }
    }
    if (!eof)
        xm_pdf_kill(&p);
    close(p.fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    free(p.rbuf);
    if (limit)
        return BC_OK; /* the caller says which limit */
    if (WIFSIGNALED(status) && !p.killed) {
        if (WTERMSIG(status) == SIGXCPU || (WTERMSIG(status) == SIGKILL && left >= 0)) {
            h->stop(s, BC_EXTRACT_LIMIT_SECONDS);
            return BC_OK;
        }
        return xm_seterr(err, errlen, BC_EDATA, "%s: damaged PDF: the decoder failed (signal %d)%s", name,
                         WTERMSIG(status), allowance ? " or went over its memory allowance" : "");
    }
    if (p.errmsg[0])
        return xm_seterr(err, errlen, BC_EDATA, "%s: %s", name, p.errmsg);
    if (p.killed)
        return xm_seterr(err, errlen, BC_ENOMEM, "%s: out of memory", name);
    return BC_OK;
}

static const ex_module xm_module = { .abi = EX_MODULE_ABI, .mail = ex_mail_file, .pdf = ex_pdf };

const ex_module *bc_formats_module(void) __attribute__((visibility("default")));
const ex_module *bc_formats_module(void)
{
    return &xm_module;
}

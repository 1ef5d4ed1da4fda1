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
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <gmime/gmime.h>
#include <poppler.h>

#include "extract/extract_module.h"

#define EX_MAX_DEPTH 32 /* MIME nesting walked */

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
    if (!list)
        return;
    m->h->kind(m->s, "header");
    int count = g_mime_header_list_get_count(list);
    for (int i = 0; i < count; i++) {
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

/* Feeds a text part, decoded: transfer encoding undone, charset to UTF-8;
 * HTML through the HTML path. */
static void ex_mail_text(ex_mail *m, GMimePart *part, GMimeContentType *ct)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (!content)
        return;
    GMimeStream *mem = g_mime_stream_mem_new();
    GMimeStream *filtered = g_mime_stream_filter_new(mem);
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
    g_mime_data_wrapper_write_to_stream(content, filtered);
    g_mime_stream_flush(filtered);
    GByteArray *arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    if (arr && arr->len) {
        if (g_mime_content_type_is_type(ct, "text", "html")) {
            char msg[256];
            if (m->h->html(m->s, m->name, (const char *)arr->data, arr->len, utf8 ? "UTF-8" : NULL, false, msg,
                           sizeof msg) != BC_OK &&
                m->st == BC_OK)
                m->st = xm_seterr(m->err, m->errlen, BC_EDATA, "%s", msg);
        } else {
            m->h->kind(m->s, "body");
            m->h->feed(m->s, (const char *)arr->data, arr->len);
        }
        m->h->feed(m->s, "\n", 1);
    }
    g_object_unref(filtered);
    g_object_unref(mem);
}

/* Walks a MIME tree: multiparts, attached messages (their headers too),
 * and the text parts. */
static void ex_mail_walk(ex_mail *m, GMimeObject *obj, int depth)
{
    if (!obj || depth > EX_MAX_DEPTH)
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
    GMimeStream *stream;
    if (lseek(fd, 0, SEEK_SET) == 0) {
        stream = g_mime_stream_fs_new(fd);
        g_mime_stream_fs_set_owner(GMIME_STREAM_FS(stream), FALSE);
    } else {
        /* a pipe: the head already read, then the rest */
        stream = g_mime_stream_cat_new();
        GMimeStream *head = g_mime_stream_mem_new_with_buffer((const char *)headbuf, headlen);
        GMimeStream *rest = g_mime_stream_fs_new(fd);
        g_mime_stream_fs_set_owner(GMIME_STREAM_FS(rest), FALSE);
        g_mime_stream_cat_add_source(GMIME_STREAM_CAT(stream), head);
        g_mime_stream_cat_add_source(GMIME_STREAM_CAT(stream), rest);
        g_object_unref(head);
        g_object_unref(rest);
    }
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
    ex_mail m = { .h = h, .s = s, .name = name, .st = BC_OK, .err = err, .errlen = errlen };
    unsigned long nmsg = 0;
    while (!g_mime_parser_eos(parser)) {
        GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
        if (!msg)
            break;
        nmsg++;
        ex_mail_headers(&m, GMIME_OBJECT(msg));
        ex_mail_walk(&m, g_mime_message_get_mime_part(msg), 0);
        g_object_unref(msg);
        if (!mbox)
            break;
    }
    g_object_unref(parser);
    g_object_unref(stream);
    if (nmsg == 0 && m.st == BC_OK)
        m.st = xm_seterr(err, errlen, BC_EDATA, "%s: no email message could be read%s", name,
                         mbox ? " from the mbox" : "");
    return m.st;
}

/* ---- PDF (poppler) --------------------------------------------------------------------- */

static bc_error ex_pdf(const ex_host *h, bc_scanner *s, const char *name, char *buf, size_t len, char *err,
                       size_t errlen)
{
    bc_error st;
    GBytes *bytes = g_bytes_new_with_free_func(buf, len, free, buf);
    GError *gerr = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!doc) {
        if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
            st = xm_seterr(err, errlen, BC_EDATA, "%s: encrypted PDF: cannot read it without the password", name);
        else
            st = xm_seterr(err, errlen, BC_EDATA, "%s: damaged PDF: %s", name,
                           gerr && gerr->message ? gerr->message : "poppler cannot open it");
        if (gerr)
            g_error_free(gerr);
        g_bytes_unref(bytes);
        return st;
    }
    int pages = poppler_document_get_n_pages(doc);
    for (int i = 0; i < pages; i++) {
        PopplerPage *page = poppler_document_get_page(doc, i);
        if (!page)
            continue;
        char *text = poppler_page_get_text(page);
        if (text) {
            h->feed(s, text, strlen(text));
            g_free(text);
        }
        h->feed(s, "\n", 1);
        g_object_unref(page);
    }
    g_object_unref(doc);
    g_bytes_unref(bytes);
    return BC_OK;
}

static const ex_module xm_module = { .abi = EX_MODULE_ABI, .mail = ex_mail_file, .pdf = ex_pdf };

const ex_module *bc_formats_module(void) __attribute__((visibility("default")));
const ex_module *bc_formats_module(void)
{
    return &xm_module;
}

/*
 * smtp_reply.c - the SMTP reply parser (RFC 5321 4.2, RFC 3463 enhanced
 * status codes, EHLO keywords).
 *
 * The parser walks the bytes one at a time, so the outcome (reply, error and
 * the byte at which it is decided) is the same however the bytes were split
 * across calls. It never allocates: the current line lives in the parser, the
 * reply in p->reply. Reading what a reply means is smtp_classify.c's work.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp/smtp_reply.h"

/* ---- parser ---------------------------------------------------------------- */

/* Resets every field of p; the parser is then ready for a new connection. */
void bc_smtp_parser_init(bc_smtp_parser *p)
{
    memset(p, 0, sizeof *p);
}

/* Puts the parser in its error state with a message; returns ERROR. */
__attribute__((format(printf, 2, 3))) static bc_smtp_parse_rc parse_fail(bc_smtp_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    p->in_error = true;
    return BC_SMTP_PARSE_ERROR;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads 1 to 3 digits at s[*i..n) into *out; false when there is no digit.
 * A fourth digit is left in place, so the caller sees a bad terminator. */
static bool read_num3(const char *s, size_t n, size_t *i, int *out)
{
    size_t k = 0;
    int v = 0;
    while (*i < n && k < 3 && is_digit(s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k > 0;
}

/* Recognises an RFC 3463 code "c.sss.ddd" at the start of s[0..n), ended by a
 * space or the end of the text. On success stores the three numbers and
 * returns its length; returns 0 otherwise. */
static size_t parse_enhanced(const char *s, size_t n, int *cls, int *subj, int *det)
{
    if (n < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
        return 0;
    size_t i = 2;
    if (!read_num3(s, n, &i, subj) || i >= n || s[i] != '.')
        return 0;
    i++;
    if (!read_num3(s, n, &i, det))
        return 0;
    if (i < n && s[i] != ' ')
        return 0;
    *cls = s[0] - '0';
    return i;
}

/* Case-insensitive ASCII equality of s[0..n) with the NUL-terminated word. */
static bool equal_ci(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (wl != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = word[i];
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 'a' + 'A');
        if (a != b)
            return false;
    }
    return true;
}

static const struct {
    const char *keyword; /* upper case */
    unsigned bit;
} ehlo_keywords[] = {
    { "STARTTLS", BC_SMTP_CAP_STARTTLS },
    { "PIPELINING", BC_SMTP_CAP_PIPELINING },
    { "SMTPUTF8", BC_SMTP_CAP_SMTPUTF8 },
    { "8BITMIME", BC_SMTP_CAP_8BITMIME },
    { "ENHANCEDSTATUSCODES", BC_SMTP_CAP_ENHANCEDSTATUSCODES },
    { "SIZE", BC_SMTP_CAP_SIZE },
    { "CHUNKING", BC_SMTP_CAP_CHUNKING },
};

/* Sets the capability bit for the EHLO keyword that starts s[0..n), if any. */
static void note_keyword(bc_smtp_reply *r, const char *s, size_t n)
{
    size_t k = 0;
    while (k < n && s[k] != ' ')
        k++;
    for (size_t i = 0; i < sizeof ehlo_keywords / sizeof ehlo_keywords[0]; i++)
        if (equal_ci(s, k, ehlo_keywords[i].keyword))
            r->caps |= ehlo_keywords[i].bit;
}

/* Appends s[0..n) to r->text, after a space when the text is not empty,
 * replacing control bytes by '?' and truncating at the buffer's end. */
static void append_text(bc_smtp_reply *r, const char *s, size_t n)
{
    if (n == 0)
        return;
    size_t len = strlen(r->text);
    size_t room = sizeof r->text - 1 - len;
    if (len > 0 && room > 0) {
        r->text[len++] = ' ';
        room--;
    }
    if (n > room)
        n = room;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        r->text[len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    r->text[len] = '\0';
}

/* Handles one complete line s[0..n) (without its line end). Returns DONE when
 * it was the last line of the reply, MORE when more lines follow, ERROR on a
 * protocol error. */
static bc_smtp_parse_rc parse_line(bc_smtp_parser *p, const char *s, size_t n)
{
    bc_smtp_reply *r = &p->reply;
    if (n < 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2]) || s[0] < '1' || s[0] > '5')
        return parse_fail(p, "reply line %d does not start with a three-digit code 100-599", r->nlines + 1);
    int code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    bool last;
    if (n == 3 || s[3] == ' ')
        last = true;
    else if (s[3] == '-')
        last = false;
    else
        return parse_fail(p, "reply line %d: code not followed by a space or '-'", r->nlines + 1);
    if (r->nlines == 0)
        r->code = code;
    else if (code != r->code)
        return parse_fail(p, "reply line %d: code %d differs from the first line's %d", r->nlines + 1, code,
                          r->code);
    if (r->nlines >= BC_SMTP_REPLY_LINES_MAX)
        return parse_fail(p, "reply has more than %d lines", BC_SMTP_REPLY_LINES_MAX);
    r->nlines++;

    const char *t = n > 4 ? s + 4 : s + n;
    size_t tn = n > 4 ? n - 4 : 0;
    while (tn > 0 && *t == ' ') {
        t++;
        tn--;
    }
    int cls, subj, det;
    size_t el = parse_enhanced(t, tn, &cls, &subj, &det);
    if (el > 0 && cls == code / 100) {
        if (r->enh_class == 0) {
            r->enh_class = cls;
            r->enh_subject = subj;
            r->enh_detail = det;
            /* at most "5.999.999": the parts were read as 1 to 3 digits */
            char tmp[48];
            int k = snprintf(tmp, sizeof tmp, "%d.%d.%d", cls, subj, det);
            size_t kl = k > 0 ? (size_t)k : 0;
            if (kl >= sizeof r->enhanced)
                kl = sizeof r->enhanced - 1;
            memcpy(r->enhanced, tmp, kl);
            r->enhanced[kl] = '\0';
        }
        t += el;
        tn -= el;
        while (tn > 0 && *t == ' ') {
            t++;
            tn--;
        }
    }
    while (tn > 0 && (t[tn - 1] == ' ' || t[tn - 1] == '\t'))
        tn--;
    if (r->nlines >= 2)
        note_keyword(r, t, tn);
    append_text(r, t, tn);
    return last ? BC_SMTP_PARSE_DONE : BC_SMTP_PARSE_MORE;
}

/* Feeds data[0..len) one byte at a time; see smtp_reply.h for the contract.
 * Nothing is allocated; p owns the line buffer and the reply. */
bc_smtp_parse_rc bc_smtp_parse(bc_smtp_parser *p, const char *data, size_t len, size_t *used)
{
    *used = 0;
    if (p->in_error)
        return BC_SMTP_PARSE_ERROR;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        *used = i + 1;
        if (p->reply_bytes == 0 && p->line_len == 0) {
            /* first byte of a new reply: forget the previous one */
            memset(&p->reply, 0, sizeof p->reply);
        }
        if (p->reply_bytes >= BC_SMTP_REPLY_MAX)
            return parse_fail(p, "reply longer than %d bytes", BC_SMTP_REPLY_MAX);
        p->reply_bytes++;
        if (c == '\n') {
            size_t n = p->line_len;
            if (n > 0 && p->line[n - 1] == '\r')
                n--;
            if (n > BC_SMTP_LINE_MAX)
                return parse_fail(p, "reply line longer than %d bytes", BC_SMTP_LINE_MAX);
            p->line_len = 0;
            bc_smtp_parse_rc rc = parse_line(p, p->line, n);
            if (rc == BC_SMTP_PARSE_DONE)
                p->reply_bytes = 0;
            if (rc != BC_SMTP_PARSE_MORE)
                return rc;
            continue;
        }
        /* one byte over the limit is allowed for the CR of a CRLF */
        if (p->line_len >= BC_SMTP_LINE_MAX + 1)
            return parse_fail(p, "reply line longer than %d bytes", BC_SMTP_LINE_MAX);
        /* a line that cannot start with a code fails now, not at its end */
        if (p->line_len < 3 && (!is_digit(c) || (p->line_len == 0 && (c < '1' || c > '5'))))
            return parse_fail(p, "reply line %d does not start with a three-digit code 100-599",
                              p->reply.nlines + 1);
        p->line[p->line_len++] = c;
    }
    return BC_SMTP_PARSE_MORE;
}

/*
 * smtp_reply.c - the SMTP reply parser (RFC 5321 4.2, RFC 3463 enhanced
 * status codes, EHLO keywords) and the reply classifier.
 *
 * The parser walks the bytes one at a time, so the outcome (reply, error and
 * the byte at which it is decided) is the same however the bytes were split
 * across calls. It never allocates: the current line lives in the parser, the
 * reply in p->reply.
 *
 * The classifier reads, in order: the enhanced code (the most precise thing a
 * server says), then the reply text (word lists, matched case-insensitively on
 * word boundaries), then the basic code. A 4xx reply never maps to a permanent
 * class: "temporary" and "permanent" stay apart.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp_reply.h"

/* ---- parser ---------------------------------------------------------------- */

/* Resets every field of p; the parser is then ready for a new connection. */
void bc_smtp_parser_init(bc_smtp_parser *p)
{
    memset(p, 0, sizeof *p);
}

/* Puts the parser in its error state with a message; returns ERROR. */
__attribute__((format(printf, 2, 3)))
static bc_smtp_parse_rc parse_fail(bc_smtp_parser *p, const char *fmt, ...)
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
        return parse_fail(p, "reply line %d does not start with a three-digit code 100-599",
            r->nlines + 1);
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
        return parse_fail(p, "reply line %d: code %d differs from the first line's %d",
            r->nlines + 1, code, r->code);
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

/* ---- classifier ------------------------------------------------------------ */

/*
 * Word lists. A phrase matches when it starts on a word boundary and, unless
 * it ends in '*', also ends on one ("rbl" must not match "garbled"; "greylist*"
 * matches "greylisted"). Matching is ASCII case-insensitive; the lists are
 * lower case.
 */
typedef const char *const phrase_list[];

/* The mailbox does not exist, in words no policy rejection uses. */
static phrase_list unknown_strong = {
    "user unknown", "unknown user", "unknown recipient", "recipient unknown", "addressee unknown",
    "unknown address", "address unknown", "unknown mailbox", "unknown account", "unknown local part",
    "unknown or illegal", "no such user", "no such recipient", "no such mailbox", "no such address",
    "no such account", "no such person", "no such local user", "no mailbox", "does not exist",
    "doesn't exist", "dosn't exist", "not exist", "not exists", "no longer exists", "no longer valid",
    "no longer available", "no longer in use", "user not found", "recipient not found",
    "mailbox not found", "address not found", "account not found", "not found in directory",
    "invalid recipient", "invalid mailbox", "invalid user", "invalid address", "invalid account",
    "not a valid mailbox", "not a valid user", "not a valid recipient", "not a known user",
    "bad destination mailbox", "unrouteable address", "unroutable address", "user doesn't have",
    "user does not have", "recipnotfound", "recipientnotfound", "mailbox unknown",
    NULL,
};

/* Words that point at the mailbox but that servers also use for policy
 * rejections (the RFC 5321 default text of 550 among them). */
static phrase_list unknown_weak = {
    "mailbox unavailable", "mailbox is unavailable", "recipient rejected",
    "recipient address rejected", "address rejected", "rcpt rejected", "not our customer",
    "mailbox not available", "recipient not allowed",
    NULL,
};

/* A relay denial: the server does not take mail for that domain from us; it
 * says nothing about the mailbox. */
static phrase_list relay_words = {
    "relay access denied", "relaying denied", "relay denied", "relay not permitted",
    "relaying not permitted", "not permitted to relay", "unable to relay", "relay not allowed",
    "relaying not allowed", "not allowed to relay", "we do not relay", "relaying disallowed",
    "relay prohibited", "relaying prohibited", "allowed rcpthosts", "not a gateway",
    "relay access is denied",
    NULL,
};

/* The rejection is about our MAIL FROM address, not the recipient. */
static phrase_list sender_words = {
    "sender address rejected", "sender rejected", "sender verify failed", "sender verification",
    "sender domain", "domain of sender", "sender address", "sender unknown", "unknown sender",
    "invalid sender", "bad sender", "sender is not", "envelope sender", "return path",
    NULL,
};

/* Aimed at our client: its address, name, reputation or rate. */
static phrase_list blocked_words = {
    "spamhaus", "spamcop", "barracuda*", "sorbs", "dnsbl*", "rbl*", "blocklist*", "block list*",
    "blacklist*", "black list*", "blacklisted", "denylist*", "deny list*", "blocked", "reputation",
    "reverse dns", "reverse hostname", "reverse lookup", "rdns", "ptr", "client host",
    "cannot find your hostname", "not allowed to connect", "too many connections",
    "too many concurrent", "unsolicited", "spam*", "listed at", "listed in", "listed on", "banned",
    "policy", "your ip", "not accepted from", "connection refused", "access denied, banned",
    NULL,
};

/* Greylisting named as such. */
static phrase_list grey_strong = {
    "greylist*", "graylist*", "grey list*", "gray list*", "grey-list*", "gray-list*", "postgrey",
    "grey listing", "greylisting",
    NULL,
};

/* "Come back later": greylisting when nothing else explains it. */
static phrase_list grey_weak = {
    "try again later", "try later", "please try again", "retry later", "try again in", "please retry",
    "come back later", "deferred", "temporarily rejected", "temporarily deferred", "resend later",
    "not yet authorized", "retry timeout",
    NULL,
};

static phrase_list full_words = {
    "over quota", "quota*", "mailbox full", "mailbox is full", "mail box full", "mailbox has exceeded",
    "mailbox size limit", "inbox is full", "inbox full", "is full", "full mailbox", "storage full",
    "insufficient storage", "out of storage", "exceeded storage", "exceeds storage",
    NULL,
};

static phrase_list disabled_words = {
    "disabled", "inactive", "suspended", "deactivated", "discontinued", "account closed",
    "account has been closed", "account is closed", "account expired", "account has expired",
    "not active", "no longer active", "account locked", "account is locked",
    NULL,
};

static phrase_list too_many_rcpts = {
    "too many recipients", "recipient limit", "too many rcpt", "maximum recipients",
    NULL,
};

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* True when the phrase (see the word-list comment) occurs in text. */
static bool has_phrase(const char *text, const char *phrase)
{
    size_t pl = strlen(phrase);
    bool prefix = pl > 0 && phrase[pl - 1] == '*';
    if (prefix)
        pl--;
    for (size_t i = 0; text[i] != '\0'; i++) {
        if (i > 0 && is_alnum(text[i - 1]))
            continue;
        size_t k = 0;
        while (k < pl && text[i + k] != '\0' && lower(text[i + k]) == phrase[k])
            k++;
        if (k == pl && (prefix || !is_alnum(text[i + k])))
            return true;
    }
    return false;
}

/* True when any phrase of the NULL-terminated list occurs in text. */
static bool has_any(const char *text, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (has_phrase(text, list[i]))
            return true;
    return false;
}

/* Enhanced codes that greylisters (and only loosely anything else) use, or no
 * enhanced code at all: the replies for which "try later" means greylisting. */
static bool greylisty_enhanced(const bc_smtp_reply *r)
{
    if (r->enh_class == 0)
        return true;
    int s = r->enh_subject, d = r->enh_detail;
    return (s == 0 && d == 0) || (s == 2 && d == 0) || (s == 3 && d == 0) || (s == 7 && (d == 0 || d == 1));
}

/* Classifies a 4xx reply other than 421: always a temporary class. */
static bc_smtp_class classify_temp(const bc_smtp_reply *r)
{
    const char *t = r->text;
    if (has_any(t, grey_strong))
        return BC_SMTP_GREYLISTED;
    if (r->enh_class) {
        int s = r->enh_subject, d = r->enh_detail;
        if (s == 2 && d == 2)
            return BC_SMTP_MAILBOX_FULL;
        if (s == 1)
            return BC_SMTP_TEMPFAIL; /* e.g. Postfix soft_bounce "450 4.1.1 User unknown" */
        if (s == 7) {
            if (has_any(t, blocked_words))
                return BC_SMTP_BLOCKED; /* "451 4.7.1 listed at ..., try again later" */
            if (greylisty_enhanced(r) && has_any(t, grey_weak))
                return BC_SMTP_GREYLISTED;
            if (has_any(t, unknown_strong))
                return BC_SMTP_TEMPFAIL;
            return BC_SMTP_BLOCKED;
        }
        if (s == 3 && d == 1)
            return BC_SMTP_TEMPFAIL; /* the mail system, not the mailbox, is full */
        if (s == 5 && d == 3)
            return BC_SMTP_TEMPFAIL; /* too many recipients */
    }
    if (has_any(t, blocked_words))
        return BC_SMTP_BLOCKED;
    if (has_any(t, full_words))
        return BC_SMTP_MAILBOX_FULL;
    if (has_any(t, too_many_rcpts) || has_any(t, unknown_strong))
        return BC_SMTP_TEMPFAIL;
    if (greylisty_enhanced(r) && (has_any(t, grey_weak) || r->code == 450 || r->code == 451))
        return BC_SMTP_GREYLISTED;
    return BC_SMTP_TEMPFAIL;
}

/* Classifies a 5xx reply: enhanced code, then text, then basic code. */
static bc_smtp_class classify_perm(const bc_smtp_reply *r)
{
    const char *t = r->text;
    if (r->enh_class) {
        int s = r->enh_subject, d = r->enh_detail;
        if (s == 1) {
            if (d == 7 || d == 8 || has_any(t, sender_words))
                return BC_SMTP_REJECTED_OTHER;
            if (d == 0 || d == 1 || d == 2 || d == 3 || d == 6 || d == 10)
                return BC_SMTP_REJECTED_MAILBOX;
        }
        if (s == 2 && d == 2)
            return BC_SMTP_MAILBOX_FULL;
        if (s == 2 && d == 1)
            return BC_SMTP_MAILBOX_DISABLED;
        if ((s == 2 && d == 3) || (s == 3 && d == 4) || (s == 5 && d == 3))
            return BC_SMTP_REJECTED_OTHER; /* message too big, too many recipients */
        if (s == 7) {
            if (has_any(t, unknown_strong) && !has_any(t, sender_words))
                return BC_SMTP_REJECTED_MAILBOX; /* e.g. "550 5.7.1 No such user" */
            if (has_any(t, relay_words))
                return BC_SMTP_REJECTED_OTHER;
            if (d == 13)
                return BC_SMTP_MAILBOX_DISABLED; /* user account disabled */
            if (d == 17)
                return BC_SMTP_REJECTED_MAILBOX; /* mailbox owner has changed */
            return BC_SMTP_BLOCKED;
        }
    }
    if (has_any(t, relay_words) || has_any(t, sender_words))
        return BC_SMTP_REJECTED_OTHER;
    if (has_any(t, unknown_strong))
        return BC_SMTP_REJECTED_MAILBOX;
    if (has_any(t, blocked_words))
        return BC_SMTP_BLOCKED;
    if (has_any(t, full_words))
        return BC_SMTP_MAILBOX_FULL;
    if (has_any(t, disabled_words))
        return BC_SMTP_MAILBOX_DISABLED;
    if (has_any(t, too_many_rcpts))
        return BC_SMTP_REJECTED_OTHER;
    if (has_any(t, unknown_weak))
        return BC_SMTP_REJECTED_MAILBOX;
    switch (r->code) {
    case 552:
        return BC_SMTP_MAILBOX_FULL;
    case 550:
    case 551:
    case 553:
        return BC_SMTP_REJECTED_MAILBOX;
    default:
        return BC_SMTP_REJECTED_OTHER;
    }
}

/* See smtp_reply.h. 2xx is accepted; 1xx and 3xx are not answers to RCPT, so
 * they say nothing we can use (TEMPFAIL: "could not tell", never permanent).
 * 421 closes the session whatever it says, unless it names greylisting or a
 * block of our client. */
bc_smtp_class bc_smtp_classify(const bc_smtp_reply *r)
{
    int c = r->code;
    if (c >= 200 && c < 300)
        return BC_SMTP_ACCEPTED;
    if (c < 400 || c > 599)
        return BC_SMTP_TEMPFAIL;
    if (c == 421) {
        if (has_any(r->text, grey_strong))
            return BC_SMTP_GREYLISTED;
        if (has_any(r->text, blocked_words))
            return BC_SMTP_BLOCKED;
        return BC_SMTP_SERVICE_UNAVAILABLE;
    }
    return c < 500 ? classify_temp(r) : classify_perm(r);
}

/* Returns a static snake_case name; "unknown" for a value outside the enum. */
const char *bc_smtp_class_name(bc_smtp_class c)
{
    switch (c) {
    case BC_SMTP_ACCEPTED: return "accepted";
    case BC_SMTP_REJECTED_MAILBOX: return "rejected_mailbox";
    case BC_SMTP_MAILBOX_FULL: return "mailbox_full";
    case BC_SMTP_MAILBOX_DISABLED: return "mailbox_disabled";
    case BC_SMTP_GREYLISTED: return "greylisted";
    case BC_SMTP_BLOCKED: return "blocked";
    case BC_SMTP_SERVICE_UNAVAILABLE: return "service_unavailable";
    case BC_SMTP_TEMPFAIL: return "tempfail";
    case BC_SMTP_REJECTED_OTHER: return "rejected_other";
    }
    return "unknown";
}

/*
 * smtp_reply.h - SMTP reply parser and reply classifier. Pure: no I/O, no
 * allocation; bytes in, a parsed reply out. Fuzzed (fuzz/fuzz_smtp_reply.c).
 *
 * The parser takes raw bytes as they arrive from the server, in any
 * fragmentation, and reports each complete reply (RFC 5321 4.2: lines
 * "NNN-text" then "NNN text", or "NNN" alone). It enforces bounds, so a
 * hostile server cannot make us buffer without limit: a line longer than
 * BC_SMTP_LINE_MAX, a reply longer than BC_SMTP_REPLY_MAX bytes or with more
 * than BC_SMTP_REPLY_LINES_MAX lines, a line without a three-digit code, or
 * continuation lines whose code differs from the first, are protocol errors.
 * Lines end in CRLF; a bare LF is tolerated (many servers send it); NUL and
 * other control bytes in the text are replaced by '?'.
 */
#ifndef BC_SMTP_REPLY_H
#define BC_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define BC_SMTP_LINE_MAX 4096       /* RFC 5321 says 512; real servers go over */
#define BC_SMTP_REPLY_MAX 65536     /* bytes of one multi-line reply */
#define BC_SMTP_REPLY_LINES_MAX 512 /* lines of one reply */
#define BC_SMTP_TEXT_MAX 1024       /* kept text of a reply (truncated beyond) */

/* EHLO keywords we act on (bits of bc_smtp_reply.caps). */
enum {
    BC_SMTP_CAP_STARTTLS = 1u << 0,
    BC_SMTP_CAP_PIPELINING = 1u << 1,
    BC_SMTP_CAP_SMTPUTF8 = 1u << 2,
    BC_SMTP_CAP_8BITMIME = 1u << 3,
    BC_SMTP_CAP_ENHANCEDSTATUSCODES = 1u << 4,
    BC_SMTP_CAP_SIZE = 1u << 5,
    BC_SMTP_CAP_CHUNKING = 1u << 6,
};

typedef struct bc_smtp_reply {
    int code;                    /* 100..599 */
    int enh_class;               /* RFC 3463 class 2, 4 or 5; 0 when the reply has no enhanced code */
    int enh_subject;             /* 0..999 */
    int enh_detail;              /* 0..999 */
    char enhanced[16];           /* "5.1.1", or "" */
    char text[BC_SMTP_TEXT_MAX]; /* text of all lines joined by a space, without the codes
                                  * (the enhanced code is stripped from each line that has it),
                                  * control bytes replaced by '?', truncated to fit, NUL-terminated */
    int nlines;
    unsigned caps; /* EHLO keywords found on lines 2.. (BC_SMTP_CAP_*); meaningful
                                * only for a reply to EHLO */
} bc_smtp_reply;

typedef enum bc_smtp_parse_rc {
    BC_SMTP_PARSE_MORE = 0, /* every byte consumed, the reply is not complete yet */
    BC_SMTP_PARSE_DONE,     /* one reply complete in p->reply; *used bytes consumed */
    BC_SMTP_PARSE_ERROR,    /* protocol error, p->error says what; the parser stays in error */
} bc_smtp_parse_rc;

typedef struct bc_smtp_parser {
    /* private */
    char line[BC_SMTP_LINE_MAX + 1];
    size_t line_len;
    size_t reply_bytes;
    bool in_error;
    /* public, read-only */
    bc_smtp_reply reply;
    char error[128]; /* why the parse failed, for the transcript and the result */
} bc_smtp_parser;

/* Resets the parser for a new connection. */
void bc_smtp_parser_init(bc_smtp_parser *p);

/* Consumes bytes from data[0..len). Returns DONE as soon as one reply is
 * complete (bytes after *used are the start of the next reply: call again with
 * them), MORE when all bytes were consumed without completing a reply, ERROR on
 * a protocol error. After DONE, the next call starts a fresh reply. */
bc_smtp_parse_rc bc_smtp_parse(bc_smtp_parser *p, const char *data, size_t len, size_t *used);

/* What a reply to RCPT TO (or to MAIL FROM, or a greeting) says about the
 * mailbox, the session or our client. The rules that decide are one table,
 * smtp_rules.c; smtp_classify.c applies it. 4xx replies never map to a
 * permanent class: "temporary" and "permanent" stay apart. */
typedef enum bc_smtp_class {
    BC_SMTP_ACCEPTED = 0,        /* 250/251 (and 252: cannot verify but will accept) */
    BC_SMTP_REJECTED_MAILBOX,    /* permanent: no such mailbox */
    BC_SMTP_MAILBOX_FULL,        /* the mailbox exists and is full (4xx or 5xx) */
    BC_SMTP_MAILBOX_DISABLED,    /* permanent: the account is disabled, inactive, suspended */
    BC_SMTP_GREYLISTED,          /* greylisting: come back later */
    BC_SMTP_BLOCKED,             /* aimed at our client: IP, PTR, HELO, reputation, blocklists */
    BC_SMTP_SERVICE_UNAVAILABLE, /* 421: the server is closing the session */
    BC_SMTP_TEMPFAIL,            /* any other 4xx */
    BC_SMTP_REJECTED_OTHER,      /* a 5xx with no evidence either way, or relaying denied */
    BC_SMTP_SENDER_REJECTED,     /* about our MAIL FROM: address, domain, SPF, DKIM, DMARC */
    BC_SMTP_RATE_LIMITED,        /* rates and volumes, too many recipients or connections */
    BC_SMTP_POLICY_REJECTED,     /* content, authentication, TLS, another policy */
    BC_SMTP_SERVER_ERROR,        /* the server's own trouble */
} bc_smtp_class;

/* How one reply was read: its class and the name of the rule that decided
 * (static; "2xx.accepted", "5xx.mailbox.x11", ...; see smtp_rules.c). */
typedef struct bc_smtp_reading {
    bc_smtp_class cls;
    const char *rule;
} bc_smtp_reading;

/* A reply rule that applies only at one provider (data/provider.h reads
 * them from data/providers.json), read before the general table of
 * smtp_rules.c. */
typedef struct bc_provider_rule {
    char *name;      /* shown as smtp.rule */
    int code_class;  /* 4 or 5: any 4xx / 5xx; 0 when `code` is set */
    int code;        /* a basic code (550), or 0 */
    bool code_421;   /* "421" */
    int enh_subject; /* -1: any enhanced code (or none) */
    int enh_detail;
    char **text; /* folded phrases, one of which must occur; ntext 0: none needed */
    size_t ntext;
    bc_smtp_class cls;
} bc_provider_rule;

/* Reads a reply. `rules` are the reply rules of the provider of the MX
 * that answered (nrules 0: none): they are read first, then the general
 * table. Pure. */
bc_smtp_reading bc_smtp_read(const bc_smtp_reply *r, const bc_provider_rule *rules, size_t nrules);

/* The class whose bc_smtp_class_name() is `name`; false when none is. */
bool bc_smtp_class_from_name(const char *name, bc_smtp_class *out);

/* bc_smtp_read(r, NULL, 0).cls */
bc_smtp_class bc_smtp_classify(const bc_smtp_reply *r);

/* True for a class that speaks of the mailbox (accepted, no such mailbox,
 * disabled, full): the others say nothing about it. */
bool bc_smtp_class_is_mailbox(bc_smtp_class c);

/* snake_case name of a class, for traces and tests. */
const char *bc_smtp_class_name(bc_smtp_class c);

#endif

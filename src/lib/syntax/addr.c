/*
 * addr.c - the address syntax engine.
 *
 * bc_addr_parse() runs an explicit state machine over the input bytes that
 * follows the RFC 5321 / 5322 grammar with the diagnoses of Dominic Sayers'
 * isemail (categories and codes in bouncecheck.h), extended for RFC 6531/6532
 * (UTF-8 local parts and domains) and for inputs isemail never meets (empty,
 * NUL, invalid UTF-8, control characters, oversized input).
 *
 * Pure ASCII input never allocates and never calls libidn2/libunistring;
 * UTF-8 local parts are normalised to NFC with libunistring, UTF-8 domains and
 * A-labels go through libidn2 (IDNA2008 + UTS #46, non-transitional).
 *
 * Control characters: the isemail suite pins the diagnosis of NUL, BEL, LF
 * and DEL in every context (atext, qtext, ctext, quoted-pair, dtext), so those
 * follow its grammar there. Elsewhere a NUL the grammar rejects is
 * err_nul, any other C0 control the grammar rejects is err_control_char, and
 * a C1 control (U+0080..U+009F) anywhere is err_control_char.
 *
 * Unsafe characters: mail systems and people must see the address that is
 * used, so a code point that is invisible, reorders text, looks like a space
 * or has no agreed meaning is an error anywhere in the input (unsafe_code);
 * a combining mark may not start the local part, an element of it or a
 * label, where it would sit on the '@', '.' or quote before it. Only
 * non-ASCII tokens are looked at, so ASCII input pays nothing for this.
 *
 * Domain names (not literals) also follow the DNS rules isemail leaves out:
 * "--" in positions 3-4 only in an xn-- A-label, and a top-level label that
 * is all letters or an A-label (domain_rules).
 */
#include <idn2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <uninorm.h>

#include "core/internal.h"
#include "syntax/addr.h"

/* Longest input scanned at all; anything longer is err_input_toolong. */
#define BC_INPUT_MAX 4096

/* One diagnosis: its stable name and its category. */
struct code_info {
    const char *name;
    bc_syntax_category cat;
};

static const struct code_info code_table[BC_SYN__COUNT] = {
    [BC_SYN_VALID] = { "valid", BC_CAT_VALID },
    [BC_SYN_DNSWARN_NO_MX_RECORD] = { "dnswarn_no_mx_record", BC_CAT_DNSWARN },
    [BC_SYN_DNSWARN_NO_RECORD] = { "dnswarn_no_record", BC_CAT_DNSWARN },
    [BC_SYN_RFC5321_TLD] = { "rfc5321_tld", BC_CAT_RFC5321 },
    [BC_SYN_RFC5321_TLDNUMERIC] = { "rfc5321_tldnumeric", BC_CAT_RFC5321 },
    [BC_SYN_RFC5321_QUOTEDSTRING] = { "rfc5321_quotedstring", BC_CAT_RFC5321 },
    [BC_SYN_RFC5321_ADDRESSLITERAL] = { "rfc5321_addressliteral", BC_CAT_RFC5321 },
    /* isemail 3.05 moved this one to the DEPREC category */
    [BC_SYN_RFC5321_IPV6DEPRECATED] = { "rfc5321_ipv6deprecated", BC_CAT_DEPREC },
    [BC_SYN_CFWS_COMMENT] = { "cfws_comment", BC_CAT_CFWS },
    [BC_SYN_CFWS_FWS] = { "cfws_fws", BC_CAT_CFWS },
    [BC_SYN_DEPREC_LOCALPART] = { "deprec_localpart", BC_CAT_DEPREC },
    [BC_SYN_DEPREC_FWS] = { "deprec_fws", BC_CAT_DEPREC },
    [BC_SYN_DEPREC_QTEXT] = { "deprec_qtext", BC_CAT_DEPREC },
    [BC_SYN_DEPREC_QP] = { "deprec_qp", BC_CAT_DEPREC },
    [BC_SYN_DEPREC_COMMENT] = { "deprec_comment", BC_CAT_DEPREC },
    [BC_SYN_DEPREC_CTEXT] = { "deprec_ctext", BC_CAT_DEPREC },
    [BC_SYN_DEPREC_CFWS_NEAR_AT] = { "deprec_cfws_near_at", BC_CAT_DEPREC },
    [BC_SYN_RFC5322_DOMAIN] = { "rfc5322_domain", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_TOOLONG] = { "rfc5322_toolong", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_LOCAL_TOOLONG] = { "rfc5322_local_toolong", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_DOMAIN_TOOLONG] = { "rfc5322_domain_toolong", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_LABEL_TOOLONG] = { "rfc5322_label_toolong", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_DOMAINLITERAL] = { "rfc5322_domainliteral", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_DOMLIT_OBSDTEXT] = { "rfc5322_domlit_obsdtext", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_IPV6_GRPCOUNT] = { "rfc5322_ipv6_grpcount", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_IPV6_2X2XCOLON] = { "rfc5322_ipv6_2x2xcolon", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_IPV6_BADCHAR] = { "rfc5322_ipv6_badchar", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_IPV6_MAXGRPS] = { "rfc5322_ipv6_maxgrps", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_IPV6_COLONSTRT] = { "rfc5322_ipv6_colonstrt", BC_CAT_RFC5322 },
    [BC_SYN_RFC5322_IPV6_COLONEND] = { "rfc5322_ipv6_colonend", BC_CAT_RFC5322 },
    [BC_SYN_ERR_EXPECTING_DTEXT] = { "err_expecting_dtext", BC_CAT_ERR },
    [BC_SYN_ERR_NOLOCALPART] = { "err_nolocalpart", BC_CAT_ERR },
    [BC_SYN_ERR_NODOMAIN] = { "err_nodomain", BC_CAT_ERR },
    [BC_SYN_ERR_CONSECUTIVEDOTS] = { "err_consecutivedots", BC_CAT_ERR },
    [BC_SYN_ERR_ATEXT_AFTER_CFWS] = { "err_atext_after_cfws", BC_CAT_ERR },
    [BC_SYN_ERR_ATEXT_AFTER_QS] = { "err_atext_after_qs", BC_CAT_ERR },
    [BC_SYN_ERR_ATEXT_AFTER_DOMLIT] = { "err_atext_after_domlit", BC_CAT_ERR },
    [BC_SYN_ERR_EXPECTING_QPAIR] = { "err_expecting_qpair", BC_CAT_ERR },
    [BC_SYN_ERR_EXPECTING_ATEXT] = { "err_expecting_atext", BC_CAT_ERR },
    [BC_SYN_ERR_EXPECTING_QTEXT] = { "err_expecting_qtext", BC_CAT_ERR },
    [BC_SYN_ERR_EXPECTING_CTEXT] = { "err_expecting_ctext", BC_CAT_ERR },
    [BC_SYN_ERR_BACKSLASHEND] = { "err_backslashend", BC_CAT_ERR },
    [BC_SYN_ERR_DOT_START] = { "err_dot_start", BC_CAT_ERR },
    [BC_SYN_ERR_DOT_END] = { "err_dot_end", BC_CAT_ERR },
    [BC_SYN_ERR_DOMAINHYPHENSTART] = { "err_domainhyphenstart", BC_CAT_ERR },
    [BC_SYN_ERR_DOMAINHYPHENEND] = { "err_domainhyphenend", BC_CAT_ERR },
    [BC_SYN_ERR_UNCLOSEDQUOTEDSTR] = { "err_unclosedquotedstr", BC_CAT_ERR },
    [BC_SYN_ERR_UNCLOSEDCOMMENT] = { "err_unclosedcomment", BC_CAT_ERR },
    [BC_SYN_ERR_UNCLOSEDDOMLIT] = { "err_uncloseddomlit", BC_CAT_ERR },
    [BC_SYN_ERR_FWS_CRLF_X2] = { "err_fws_crlf_x2", BC_CAT_ERR },
    [BC_SYN_ERR_FWS_CRLF_END] = { "err_fws_crlf_end", BC_CAT_ERR },
    [BC_SYN_ERR_CR_NO_LF] = { "err_cr_no_lf", BC_CAT_ERR },
    [BC_SYN_ERR_EMPTY] = { "err_empty", BC_CAT_ERR },
    [BC_SYN_ERR_NUL] = { "err_nul", BC_CAT_ERR },
    [BC_SYN_ERR_INVALID_UTF8] = { "err_invalid_utf8", BC_CAT_ERR },
    [BC_SYN_ERR_CONTROL_CHAR] = { "err_control_char", BC_CAT_ERR },
    [BC_SYN_ERR_INPUT_TOOLONG] = { "err_input_toolong", BC_CAT_ERR },
    [BC_SYN_ERR_IDN] = { "err_idn", BC_CAT_ERR },
    [BC_SYN_ERR_UTF8_LOCAL] = { "err_utf8_local", BC_CAT_ERR },
    [BC_SYN_ERR_INVISIBLE_CHAR] = { "err_invisible_char", BC_CAT_ERR },
    [BC_SYN_ERR_BIDI_CONTROL] = { "err_bidi_control", BC_CAT_ERR },
    [BC_SYN_ERR_UNICODE_WHITESPACE] = { "err_unicode_whitespace", BC_CAT_ERR },
    [BC_SYN_ERR_PRIVATE_USE] = { "err_private_use", BC_CAT_ERR },
    [BC_SYN_ERR_NONCHARACTER] = { "err_noncharacter", BC_CAT_ERR },
    [BC_SYN_ERR_LEADING_COMBINING_MARK] = { "err_leading_combining_mark", BC_CAT_ERR },
    [BC_SYN_ERR_DOMAIN_HYPHEN34] = { "err_domain_hyphen34", BC_CAT_ERR },
    [BC_SYN_ERR_TLD_INVALID] = { "err_tld_invalid", BC_CAT_ERR },
};

static const char *const category_names[] = {
    [BC_CAT_VALID] = "valid",   [BC_CAT_DNSWARN] = "dnswarn", [BC_CAT_RFC5321] = "rfc5321", [BC_CAT_CFWS] = "cfws",
    [BC_CAT_DEPREC] = "deprec", [BC_CAT_RFC5322] = "rfc5322", [BC_CAT_ERR] = "err",
};

/* Returns the static snake_case name of a diagnosis; "unknown" when out of range. */
const char *bc_syntax_code_name(bc_syntax_code code)
{
    if ((unsigned)code >= (unsigned)BC_SYN__COUNT)
        return "unknown";
    return code_table[code].name;
}

/* Returns the category of a diagnosis; BC_CAT_ERR when out of range. */
bc_syntax_category bc_syntax_code_category(bc_syntax_code code)
{
    if ((unsigned)code >= (unsigned)BC_SYN__COUNT)
        return BC_CAT_ERR;
    return code_table[code].cat;
}

/* Returns the static name of a category; "unknown" when out of range. */
const char *bc_syntax_category_name(bc_syntax_category cat)
{
    if ((unsigned)cat > (unsigned)BC_CAT_ERR)
        return "unknown";
    return category_names[cat];
}

/* Severity of a code: the category first, then the order within the enum
 * (which is isemail's order within each category). */
static unsigned code_rank(bc_syntax_code code)
{
    return (unsigned)code_table[code].cat * 256u + (unsigned)code + 1u;
}

/* ---------------------------------------------------------------------------
 * Character classes
 * ------------------------------------------------------------------------- */

/* Bit 1: RFC 5322 atext; bit 2: letter or digit (RFC 5321 Let-dig);
 * bit 4: isemail/PCRE word character (for the IPv4 "\b" test). The table is
 * computed at compile time from these macros. */
enum { CL_ATEXT = 1, CL_LETDIG = 2, CL_WORD = 4 };
#define CC_SPECIAL(c)                                                                                  \
    ((c) == '(' || (c) == ')' || (c) == '<' || (c) == '>' || (c) == '[' || (c) == ']' || (c) == ':' || \
     (c) == ';' || (c) == '@' || (c) == '\\' || (c) == ',' || (c) == '.' || (c) == '"')
#define CC_LETDIG(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') || ((c) >= '0' && (c) <= '9'))
#define CC(c)                                                                                               \
    (((c) >= 33 && (c) < 127 && !CC_SPECIAL(c) ? CL_ATEXT : 0) | (CC_LETDIG(c) ? CL_LETDIG | CL_WORD : 0) | \
     ((c) == '_' ? CL_WORD : 0))
#define CC4(b) CC(b), CC((b) + 1), CC((b) + 2), CC((b) + 3)
#define CC16(b) CC4(b), CC4((b) + 4), CC4((b) + 8), CC4((b) + 12)
#define CC64(b) CC16(b), CC16((b) + 16), CC16((b) + 32), CC16((b) + 48)
static const unsigned char char_class[256] = { CC64(0), CC64(64), CC64(128), CC64(192) };

/* ASCII lower case of one byte; other bytes unchanged. */
static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) and its code point in
 * *cp; 0 when the bytes are not well-formed UTF-8 (overlong, surrogate,
 * beyond U+10FFFF, truncated, stray continuation byte). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t v;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        v = c & 0x0Fu;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        v = c & 0x07u;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    v = (v << 6) | (s[1] & 0x3Fu);
    for (size_t k = 2; k < need; k++) {
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
        v = (v << 6) | (s[k] & 0x3Fu);
    }
    *cp = v;
    return need;
}

/* The diagnosis for a non-ASCII code point that may appear nowhere in an
 * address, BC_SYN_VALID for the others. Unicode's own properties decide
 * (libunistring): bidi controls (UAX #9), White_Space, private use,
 * Default_Ignorable_Code_Point plus the format characters (Cf) that UTS #39
 * and UTS #55 count as invisible; noncharacters are a fixed arithmetic set
 * (Unicode 3.4, D14) that libunistring has no function for. Order matters
 * where the classes overlap: a bidi control is also default-ignorable. */
static bc_syntax_code unsafe_code(uint32_t cp)
{
    if (cp <= 0x9F)
        return cp >= 0x80 ? BC_SYN_ERR_CONTROL_CHAR : BC_SYN_VALID;
    /* Latin-1 letters to IPA and spacing modifiers hold none of the classes
     * below but U+00A0 and U+00AD: the common accented letters stop here */
    if (cp < 0x300 && cp != 0xA0 && cp != 0xAD)
        return BC_SYN_VALID;
    if (uc_is_property_bidi_control(cp))
        return BC_SYN_ERR_BIDI_CONTROL;
    if (uc_is_property_white_space(cp))
        return BC_SYN_ERR_UNICODE_WHITESPACE;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFEu) == 0xFFFEu)
        return BC_SYN_ERR_NONCHARACTER;
    if (uc_is_property_private_use(cp))
        return BC_SYN_ERR_PRIVATE_USE;
    if (uc_is_property_default_ignorable_code_point(cp) || uc_is_general_category(cp, UC_CATEGORY_Cf))
        return BC_SYN_ERR_INVISIBLE_CHAR;
    return BC_SYN_VALID;
}

/* True when the code point is a combining mark (general category M). */
static bool is_mark(uint32_t cp)
{
    return cp >= 0x300 && uc_is_general_category(cp, UC_CATEGORY_M);
}

/* ---------------------------------------------------------------------------
 * The state machine
 * ------------------------------------------------------------------------- */

enum pctx { PC_LOCAL, PC_DOMAIN, PC_LITERAL, PC_COMMENT, PC_FWS, PC_QSTRING, PC_QPAIR };

typedef struct parser {
    const unsigned char *s;
    size_t n, i;
    bc_syntax_code code;
    unsigned rank;
    bool fatal;
    unsigned char ctx, ctx_prior;
    size_t depth;
    size_t elem_len, elem_count;
    bool end_or_die, hyphen;
    bool prior_cr;  /* previous token inside FWS was a CRLF */
    bool last_cr;   /* the last token consumed was the CR of a CRLF */
    int crlf_count; /* folds in the current FWS; -1 when none yet */
    bool at_seen;
    bool local_utf8, dom_utf8, label_utf8;
    bool literal; /* the domain is a domain literal */
    bool saw_nul; /* a NUL byte went into the parsed data */
    size_t llen, dlen;
    size_t lwire; /* octets of the local part as given (quotes kept), in NFC */
    unsigned char stack[BC_INPUT_MAX + 2];
    char lbuf[BC_INPUT_MAX + 1]; /* local part as parsed: no CFWS, quotes kept */
    char dbuf[BC_INPUT_MAX + 1]; /* domain as parsed: no CFWS */
} parser;

/* Records a diagnosis, keeping the most severe; an ERR stops the scan after
 * the current token. */
static void diag(parser *p, bc_syntax_code code)
{
    unsigned r = code_rank(code);
    if (r > p->rank) {
        p->rank = r;
        p->code = code;
    }
    if (code_table[code].cat == BC_CAT_ERR)
        p->fatal = true;
}

/* Current category of the parse. */
static inline bc_syntax_category pcat(const parser *p)
{
    return code_table[p->code].cat;
}

/* Pushes the current context and enters `next`. */
static void push(parser *p, unsigned char next)
{
    if (p->depth < sizeof p->stack)
        p->stack[p->depth++] = p->ctx;
    else
        diag(p, BC_SYN_ERR_INPUT_TOOLONG); /* unreachable: one push per byte */
    p->ctx = next;
}

/* Leaves the current context for the one below it. */
static void pop(parser *p)
{
    p->ctx_prior = p->ctx;
    p->ctx = p->depth ? p->stack[--p->depth] : PC_LOCAL;
}

/* Appends bytes to the local part / domain buffers (bounded). */
static void put_local(parser *p, const unsigned char *b, size_t k)
{
    if (p->llen + k <= BC_INPUT_MAX) {
        memcpy(p->lbuf + p->llen, b, k);
        p->llen += k;
    }
}
static void put_domain(parser *p, const unsigned char *b, size_t k)
{
    if (p->dlen + k <= BC_INPUT_MAX) {
        memcpy(p->dbuf + p->dlen, b, k);
        p->dlen += k;
    }
}

/* Handles CR, SP or HT starting FWS: checks the CRLF pair. Returns false
 * (after a diagnosis) when a CR is not followed by LF. */
static bool fws_start(parser *p, unsigned char c)
{
    if (c == '\r') {
        if (p->i + 1 >= p->n || p->s[p->i + 1] != '\n') {
            diag(p, BC_SYN_ERR_CR_NO_LF);
            return false;
        }
        p->i++; /* the LF */
    }
    return true;
}

/* Enters folding white space that starts with c (after fws_start said it
 * may): a CR means the LF was already consumed. */
static void enter_fws(parser *p, unsigned char c)
{
    push(p, PC_FWS);
    p->prior_cr = c == '\r';
}

/* Diagnosis for a byte that cannot appear as atext (local part or domain):
 * NUL -> err_nul; BEL and DEL, whose diagnosis the isemail suite pins, and
 * LF -> err_expecting_atext; other C0 controls -> err_control_char;
 * printable specials -> err_expecting_atext. */
static bc_syntax_code bad_atext_code(unsigned char c)
{
    if (c == 0)
        return BC_SYN_ERR_NUL;
    if (c < 32 && c != 7 && c != '\n' && c != '\t' && c != '\r')
        return BC_SYN_ERR_CONTROL_CHAR;
    return BC_SYN_ERR_EXPECTING_ATEXT;
}

/* Processes one token (k bytes at s[i], k > 1 only for a UTF-8 sequence with
 * code point cp) in the current context. Returns false when the token must
 * be processed again in the parent context (end of FWS). */
static bool step(parser *p, unsigned char c, size_t k, uint32_t cp)
{
    const unsigned char *tok = p->s + p->i;
    bool wide = c >= 0x80;

    if (wide && p->ctx != PC_FWS) { /* FWS hands the token to its parent */
        bc_syntax_code bad = unsafe_code(cp);
        if (bad != BC_SYN_VALID) {
            diag(p, bad);
            return true;
        }
    }
    switch (p->ctx) {
    case PC_LOCAL:
        switch (c) {
        case '(':
            if (p->elem_len == 0) {
                diag(p, p->elem_count == 0 ? BC_SYN_CFWS_COMMENT : BC_SYN_DEPREC_COMMENT);
            } else {
                diag(p, BC_SYN_CFWS_COMMENT);
                p->end_or_die = true;
            }
            push(p, PC_COMMENT);
            break;
        case '.':
            if (p->elem_len == 0)
                diag(p, p->elem_count == 0 ? BC_SYN_ERR_DOT_START : BC_SYN_ERR_CONSECUTIVEDOTS);
            else if (p->end_or_die)
                diag(p, BC_SYN_DEPREC_LOCALPART);
            p->end_or_die = false;
            p->elem_len = 0;
            p->elem_count++;
            put_local(p, tok, 1);
            break;
        case '"':
            if (p->elem_len == 0) {
                diag(p, p->elem_count == 0 ? BC_SYN_RFC5321_QUOTEDSTRING : BC_SYN_DEPREC_LOCALPART);
                put_local(p, tok, 1);
                p->elem_len++;
                p->end_or_die = true;
                push(p, PC_QSTRING);
            } else {
                diag(p, BC_SYN_ERR_EXPECTING_ATEXT);
            }
            break;
        case '\r':
        case ' ':
        case '\t':
            if (!fws_start(p, c))
                break;
            if (p->elem_len == 0)
                diag(p, p->elem_count == 0 ? BC_SYN_CFWS_FWS : BC_SYN_DEPREC_FWS);
            else
                p->end_or_die = true;
            enter_fws(p, c);
            break;
        case '@':
            if (p->llen == 0)
                diag(p, BC_SYN_ERR_NOLOCALPART);
            else if (p->elem_len == 0)
                diag(p, BC_SYN_ERR_DOT_END);
            else if (!p->local_utf8 && p->llen > 64)
                diag(p, BC_SYN_RFC5322_LOCAL_TOOLONG); /* UTF-8: measured after NFC */
            else if (p->ctx_prior == PC_COMMENT || p->ctx_prior == PC_FWS)
                diag(p, BC_SYN_DEPREC_CFWS_NEAR_AT);
            p->at_seen = true;
            p->ctx = PC_DOMAIN;
            p->depth = 0;
            p->elem_count = 0;
            p->elem_len = 0;
            p->end_or_die = false;
            break;
        default:
            if (p->end_or_die) {
                if (p->ctx_prior == PC_QSTRING)
                    diag(p, BC_SYN_ERR_ATEXT_AFTER_QS);
                else
                    diag(p, BC_SYN_ERR_ATEXT_AFTER_CFWS);
                break;
            }
            p->ctx_prior = PC_LOCAL;
            if (wide) {
                p->local_utf8 = true; /* RFC 6531: UTF-8 extends atext */
                if (p->elem_len == 0 && is_mark(cp))
                    diag(p, BC_SYN_ERR_LEADING_COMBINING_MARK);
            } else if (!(char_class[c] & CL_ATEXT))
                diag(p, bad_atext_code(c));
            put_local(p, tok, k);
            p->elem_len += k;
            break;
        }
        break;

    case PC_DOMAIN:
        switch (c) {
        case '.':
            if (p->literal) /* isemail lets "[1.2.3.4].org" through; RFC 5322 does not */
                diag(p, BC_SYN_ERR_ATEXT_AFTER_DOMLIT);
            else if (p->elem_len == 0)
                diag(p, p->elem_count == 0 ? BC_SYN_ERR_DOT_START : BC_SYN_ERR_CONSECUTIVEDOTS);
            else if (p->hyphen)
                diag(p, BC_SYN_ERR_DOMAINHYPHENEND);
            else if (!p->label_utf8 && p->elem_len > 63)
                diag(p, BC_SYN_RFC5322_LABEL_TOOLONG); /* UTF-8: A-label checked later */
            p->end_or_die = false;
            p->elem_len = 0;
            p->elem_count++;
            p->label_utf8 = false;
            put_domain(p, tok, 1);
            break;
        case '[':
            if (p->dlen == 0) {
                p->end_or_die = true;
                p->elem_len++;
                p->literal = true;
                push(p, PC_LITERAL);
                put_domain(p, tok, 1);
            } else {
                diag(p, BC_SYN_ERR_EXPECTING_ATEXT);
            }
            break;
        case '(':
            if (p->elem_len == 0) {
                diag(p, p->elem_count == 0 ? BC_SYN_DEPREC_CFWS_NEAR_AT : BC_SYN_DEPREC_COMMENT);
            } else {
                diag(p, BC_SYN_CFWS_COMMENT);
                p->end_or_die = true;
            }
            push(p, PC_COMMENT);
            break;
        case '\r':
        case ' ':
        case '\t':
            if (!fws_start(p, c))
                break;
            if (p->elem_len == 0) {
                diag(p, p->elem_count == 0 ? BC_SYN_DEPREC_CFWS_NEAR_AT : BC_SYN_DEPREC_FWS);
            } else {
                diag(p, BC_SYN_CFWS_FWS);
                p->end_or_die = true;
            }
            enter_fws(p, c);
            break;
        default:
            if (p->end_or_die) {
                if (p->ctx_prior == PC_LITERAL)
                    diag(p, BC_SYN_ERR_ATEXT_AFTER_DOMLIT);
                else
                    diag(p, BC_SYN_ERR_ATEXT_AFTER_CFWS);
            }
            p->hyphen = false;
            if (wide) {
                p->dom_utf8 = true; /* an IDN label: libidn2 decides later */
                p->label_utf8 = true;
                if (p->elem_len == 0 && is_mark(cp))
                    diag(p, BC_SYN_ERR_LEADING_COMBINING_MARK);
            } else if (!(char_class[c] & CL_ATEXT)) {
                diag(p, bad_atext_code(c));
            } else if (c == '-') {
                if (p->elem_len == 0)
                    diag(p, BC_SYN_ERR_DOMAINHYPHENSTART);
                p->hyphen = true;
            } else if (!(char_class[c] & CL_LETDIG)) {
                diag(p, BC_SYN_RFC5322_DOMAIN);
            }
            put_domain(p, tok, k);
            p->elem_len += k;
            break;
        }
        break;

    case PC_LITERAL:
        switch (c) {
        case '\\':
            diag(p, BC_SYN_RFC5322_DOMLIT_OBSDTEXT);
            push(p, PC_QPAIR);
            break;
        case '\r':
        case ' ':
        case '\t':
            if (!fws_start(p, c))
                break;
            diag(p, BC_SYN_CFWS_FWS);
            enter_fws(p, c);
            break;
        default:
            if (wide || c == '[' || c == '\n') {
                diag(p, BC_SYN_ERR_EXPECTING_DTEXT);
                break;
            }
            if (c == 0) {
                diag(p, BC_SYN_ERR_NUL);
                break;
            }
            if (c < 33 || c == 127)
                diag(p, BC_SYN_RFC5322_DOMLIT_OBSDTEXT);
            put_domain(p, tok, 1);
            p->elem_len++;
            break;
        }
        break;

    case PC_COMMENT:
        switch (c) {
        case '(': push(p, PC_COMMENT); break;
        case ')': pop(p); break;
        case '\\': push(p, PC_QPAIR); break;
        case '\r':
        case ' ':
        case '\t':
            if (!fws_start(p, c))
                break;
            diag(p, BC_SYN_CFWS_FWS);
            enter_fws(p, c);
            break;
        default:
            if (wide)
                break; /* RFC 6532: UTF-8 extends ctext */
            if (c == 0)
                diag(p, BC_SYN_ERR_NUL);
            else if (c == '\n')
                diag(p, BC_SYN_ERR_EXPECTING_CTEXT);
            else if (c < 32 || c == 127)
                diag(p, BC_SYN_DEPREC_CTEXT);
            break;
        }
        break;

    case PC_FWS:
        if (p->prior_cr) {
            if (c == '\r') {
                diag(p, BC_SYN_ERR_FWS_CRLF_X2);
                break;
            }
            if (p->crlf_count >= 0) {
                if (++p->crlf_count > 1)
                    diag(p, BC_SYN_DEPREC_FWS);
            } else {
                p->crlf_count = 1;
            }
        }
        if (c == '\r') {
            if (!fws_start(p, c))
                break;
        } else if (c != ' ' && c != '\t') {
            if (p->prior_cr) {
                diag(p, BC_SYN_ERR_FWS_CRLF_END);
                break;
            }
            p->crlf_count = -1;
            pop(p);
            return false; /* look at this token again in the parent context */
        }
        p->prior_cr = c == '\r';
        break;

    case PC_QSTRING:
        switch (c) {
        case '\\': push(p, PC_QPAIR); break;
        case '\r':
        case '\t':
            if (!fws_start(p, c))
                break;
            /* FWS inside a quoted string is one space (RFC 5322 3.2.4) */
            put_local(p, (const unsigned char *)" ", 1);
            p->elem_len++;
            diag(p, BC_SYN_CFWS_FWS);
            enter_fws(p, c);
            break;
        case '"':
            put_local(p, tok, 1);
            p->elem_len++;
            pop(p);
            break;
        default:
            if (wide) {
                p->local_utf8 = true;                /* RFC 6532: UTF-8 extends qtext */
                if (p->elem_len == 1 && is_mark(cp)) /* just after the opening quote */
                    diag(p, BC_SYN_ERR_LEADING_COMBINING_MARK);
            } else if (c == 0 || c == '\n') {
                diag(p, BC_SYN_ERR_EXPECTING_QTEXT);
                break;
            } else if (c < 32 || c == 127) {
                diag(p, BC_SYN_DEPREC_QTEXT);
            }
            put_local(p, tok, k);
            p->elem_len += k;
            break;
        }
        break;

    case PC_QPAIR:
        if (wide) {
            diag(p, BC_SYN_ERR_EXPECTING_QPAIR);
            break;
        }
        if ((c < 32 && c != '\t') || c == 127)
            diag(p, BC_SYN_DEPREC_QP);
        pop(p);
        if (p->ctx == PC_QSTRING) {
            if (c == 0)
                p->saw_nul = true;
            put_local(p, tok - 1, 2);
            p->elem_len += 2;
        } else if (p->ctx == PC_LITERAL) {
            if (c == 0)
                p->saw_nul = true;
            put_domain(p, tok - 1, 2);
            p->elem_len += 2;
        }
        break;
    default: break;
    }
    return true;
}

/* True when s[0..n) is "a.b.c.d" with four 1-3 digit octets <= 255. */
static bool ipv4_tail(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n) {
        size_t st = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - st < 4) {
            v = v * 10 + (unsigned)(s[i] - '0');
            i++;
        }
        size_t dl = i - st;
        if (dl == 0 || dl > 3 || v > 255)
            return false;
        parts++;
        if (i == n)
            break;
        if (s[i] != '.' || parts == 4)
            return false;
        i++;
        if (i == n)
            return false;
    }
    return parts == 4;
}

/* Diagnoses a closed domain literal whose content is lit[0..n) (isemail's
 * address-literal rules: IPv4, IPv6 with the "IPv6:" tag, else RFC 5322). */
static void literal_diag(parser *p, const char *lit, size_t n)
{
    /* Leftmost start of an IPv4 address that runs to the end, at a word
     * boundary (an IPv4 text is at most 15 bytes). */
    size_t v4 = n;
    for (size_t st = n > 15 ? n - 15 : 0; st < n; st++) {
        if (lit[st] < '0' || lit[st] > '9')
            continue;
        if (st > 0 && (char_class[(unsigned char)lit[st - 1]] & CL_WORD))
            continue;
        if (ipv4_tail(lit + st, n - st)) {
            v4 = st;
            break;
        }
    }
    if (v4 == 0) {
        diag(p, BC_SYN_RFC5321_ADDRESSLITERAL);
        return;
    }
    /* the literal with its IPv4 tail turned into two IPv6 groups */
    char a[BC_INPUT_MAX + 4];
    size_t an = v4 < n ? v4 : n;
    memcpy(a, lit, an);
    if (v4 < n) {
        memcpy(a + an, "0:0", 3);
        an += 3;
    }
    static const char tag[] = "ipv6:";
    bool tagged = an >= 5;
    for (size_t k = 0; tagged && k < 5; k++)
        tagged = lower((unsigned char)a[k]) == (unsigned char)tag[k];
    if (!tagged) {
        diag(p, BC_SYN_RFC5322_DOMAINLITERAL);
        return;
    }
    const char *s = a + 5;
    size_t sn = an - 5;
    size_t groups = 1, first = SIZE_MAX, last = SIZE_MAX;
    for (size_t k = 0; k < sn; k++) {
        if (s[k] != ':')
            continue;
        groups++;
        if (k + 1 < sn && s[k + 1] == ':') {
            if (first == SIZE_MAX)
                first = k;
            last = k;
        }
    }
    if (first == SIZE_MAX) {
        if (groups != 8)
            diag(p, BC_SYN_RFC5322_IPV6_GRPCOUNT);
    } else if (first != last) {
        diag(p, BC_SYN_RFC5322_IPV6_2X2XCOLON);
    } else {
        size_t max_groups = 8;
        if (first == 0 || first == sn - 2)
            max_groups++;
        if (groups > max_groups)
            diag(p, BC_SYN_RFC5322_IPV6_MAXGRPS);
        else if (groups == max_groups)
            diag(p, BC_SYN_RFC5321_IPV6DEPRECATED);
    }
    if (sn >= 1 && s[0] == ':' && (sn < 2 || s[1] != ':')) {
        diag(p, BC_SYN_RFC5322_IPV6_COLONSTRT);
        return;
    }
    if (sn >= 2 && s[sn - 1] == ':' && s[sn - 2] != ':') {
        diag(p, BC_SYN_RFC5322_IPV6_COLONEND);
        return;
    }
    size_t glen = 0;
    for (size_t k = 0; k <= sn; k++) {
        if (k == sn || s[k] == ':') {
            if (glen > 4) {
                diag(p, BC_SYN_RFC5322_IPV6_BADCHAR);
                return;
            }
            glen = 0;
            continue;
        }
        unsigned char h = lower((unsigned char)s[k]);
        if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f'))) {
            diag(p, BC_SYN_RFC5322_IPV6_BADCHAR);
            return;
        }
        glen++;
    }
    diag(p, BC_SYN_RFC5321_ADDRESSLITERAL);
}

/* Closes a domain literal at ']' (the token at s[i]). */
static void literal_close(parser *p)
{
    /* isemail: "max < ISEMAIL_DEPREC", i.e. nothing beyond a deprecation */
    if (pcat(p) <= BC_CAT_DEPREC && p->dlen >= 1)
        literal_diag(p, p->dbuf + 1, p->dlen - 1);
    else
        diag(p, BC_SYN_RFC5322_DOMAINLITERAL);
    put_domain(p, p->s + p->i, 1);
    p->elem_len++;
    pop(p);
}

/* Runs the state machine over the whole input and the end-of-input checks. */
static void run(parser *p)
{
    while (p->i < p->n && !p->fatal) {
        unsigned char c = p->s[p->i];
        uint32_t cp = c;
        size_t k = 1;
        if (c >= 0x80)
            k = utf8_seq(p->s + p->i, p->n - p->i, &cp); /* validated before */
        if (k == 0) {
            diag(p, BC_SYN_ERR_INVALID_UTF8);
            break;
        }
        if (p->ctx == PC_LITERAL && c == ']') {
            literal_close(p);
            p->last_cr = false;
            p->i++;
            continue;
        }
        size_t before = p->i;
        if (!step(p, c, k, cp))
            continue; /* same token, parent context */
        p->last_cr = c == '\r' && p->i != before;
        p->i += k;
    }
    if (p->fatal) /* isemail: "max < ISEMAIL_RFC5322", i.e. anything but an error */
        return;
    unsigned char ctx = p->ctx;
    if (ctx == PC_FWS && p->depth > 0)
        ctx = p->stack[p->depth - 1]; /* FWS at the end of a comment etc. */
    if (ctx == PC_QSTRING)
        diag(p, BC_SYN_ERR_UNCLOSEDQUOTEDSTR);
    else if (ctx == PC_QPAIR)
        diag(p, BC_SYN_ERR_BACKSLASHEND);
    else if (ctx == PC_COMMENT)
        diag(p, BC_SYN_ERR_UNCLOSEDCOMMENT);
    else if (ctx == PC_LITERAL)
        diag(p, BC_SYN_ERR_UNCLOSEDDOMLIT);
    else if (p->last_cr)
        diag(p, BC_SYN_ERR_FWS_CRLF_END);
    else if (p->dlen == 0)
        diag(p, BC_SYN_ERR_NODOMAIN);
    else if (p->elem_len == 0)
        diag(p, BC_SYN_ERR_DOT_END);
    else if (p->hyphen)
        diag(p, BC_SYN_ERR_DOMAINHYPHENEND);
    else if (p->local_utf8 || p->dom_utf8)
        ;                   /* lengths are measured on the NFC local part and the A-labels */
    else if (p->dlen > 255) /* isemail's order; the 254 total caps a domain at 252 */
        diag(p, BC_SYN_RFC5322_DOMAIN_TOOLONG);
    else if (p->llen + 1 + p->dlen > 254)
        diag(p, BC_SYN_RFC5322_TOOLONG);
    else if (p->elem_len > 63)
        diag(p, BC_SYN_RFC5322_LABEL_TOOLONG);
}

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

/* Copies up to cap-1 bytes of src[0..n) to dst without splitting a UTF-8
 * sequence, NUL-terminates; returns the bytes copied. */
static size_t copy_trunc(char *dst, size_t cap, const char *src, size_t n)
{
    if (cap == 0)
        return 0;
    if (n > cap - 1) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

/* Same as copy_trunc, lower-casing ASCII letters. */
static size_t copy_lower(char *dst, size_t cap, const char *src, size_t n)
{
    size_t w = copy_trunc(dst, cap, src, n);
    for (size_t k = 0; k < w; k++)
        dst[k] = (char)lower((unsigned char)dst[k]);
    return w;
}

/* Writes local@domain into out->normalized (always fits BC_ADDR_MAX). */
static void make_normalized(bc_addr *out)
{
    size_t l = strlen(out->local), d = strlen(out->domain);
    if (l + 1 + d + 1 > sizeof out->normalized) { /* cannot happen with the field sizes */
        out->normalized[0] = '\0';
        return;
    }
    memcpy(out->normalized, out->local, l);
    out->normalized[l] = '@';
    memcpy(out->normalized + l + 1, out->domain, d);
    out->normalized[l + 1 + d] = '\0';
}

/* True when s[0..n) is a dot-atom-text (UTF-8 atext allowed) that parses
 * as one unquoted: no atom starts with a combining mark, which would sit on
 * the '.' before it (err_leading_combining_mark; inside quotes it sits on a
 * character of the string, and the quotes must stay). */
static bool is_dot_atom(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t k = 0; k < n; k++) {
        unsigned char c = (unsigned char)s[k];
        if (c == '.') {
            if (s[k - 1] == '.')
                return false;
        } else if (c < 0x80 && !(char_class[c] & CL_ATEXT)) {
            return false;
        } else if (c >= 0x80 && (k == 0 || s[k - 1] == '.')) {
            uint32_t cp;
            if (utf8_seq((const unsigned char *)s + k, n - k, &cp) == 0 || is_mark(cp))
                return false;
        }
    }
    return true;
}

/* Writes the local part of a single quoted string q[0..n) (quotes included)
 * into out->local in minimal form: bare when it is a dot-atom, else quoted
 * with only '"', '\' and HT escaped. */
static void quoted_local(bc_addr *out, const char *q, size_t n)
{
    char content[BC_INPUT_MAX + 1];
    size_t cn = 0;
    content[0] = '\0'; /* quiets a false maybe-uninitialized for cn == 0 */
    for (size_t k = 1; k + 1 < n && cn < sizeof content; k++) { /* between the quotes */
        if (q[k] == '\\' && k + 2 < n)
            k++;
        content[cn++] = q[k];
    }
    if (is_dot_atom(content, cn)) {
        copy_trunc(out->local, sizeof out->local, content, cn);
        return;
    }
    size_t w = 0, cap = sizeof out->local;
    out->local[w++] = '"';
    for (size_t k = 0; k < cn;) {
        unsigned char c = (unsigned char)content[k];
        bool esc = c == '"' || c == '\\' || c == '\t';
        size_t m = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; /* whole UTF-8 sequences */
        if (k + m > cn || w + m + (esc ? 1u : 0u) + 2 > cap)
            break; /* only for invalid, over-long input */
        if (esc)
            out->local[w++] = '\\';
        memcpy(out->local + w, content + k, m);
        w += m;
        k += m;
    }
    out->local[w++] = '"';
    out->local[w] = '\0';
}

/* True when s[0..n) (well-formed UTF-8) is certainly in NFC without asking
 * libunistring: every code point is in a block whose characters all have
 * NFC_Quick_Check=Yes and none of which combine with a neighbour (below
 * U+0300, basic Cyrillic, kana without the combining sound marks, CJK
 * unified ideographs, Hangul syllables). False means "maybe": normalise. */
static bool nfc_quick_yes(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t k = 0; k < n;) {
        uint32_t cp;
        size_t m = utf8_seq(u + k, n - k, &cp);
        if (m == 0)
            return false;
        k += m;
        if (cp < 0x300 || (cp >= 0x400 && cp <= 0x482) || (cp >= 0x3041 && cp <= 0x3096) ||
            (cp >= 0x30A1 && cp <= 0x30FA) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7A3))
            continue;
        return false;
    }
    return true;
}

/* Number of bytes equal to c in s[0..n). */
static size_t count_byte(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

/* Builds out->local from the parsed local part: NFC for UTF-8, minimal
 * quoting. Returns false (after a diagnosis) when NFC fails. */
static bool build_local(parser *p, bc_addr *out, bool quoted)
{
    const char *src = p->lbuf;
    size_t n = p->llen;
    uint8_t nfcbuf[1024];
    uint8_t *nfc = NULL;
    if (p->local_utf8 && !nfc_quick_yes(p->lbuf, p->llen)) {
        size_t rn = sizeof nfcbuf;
        nfc = u8_normalize(UNINORM_NFC, (const uint8_t *)p->lbuf, p->llen, nfcbuf, &rn);
        if (!nfc) {
            diag(p, BC_SYN_ERR_UTF8_LOCAL);
            copy_trunc(out->local, sizeof out->local, p->lbuf, p->llen);
            return false;
        }
        src = (const char *)nfc;
        n = rn;
        /* NFC maps a few characters to ASCII punctuation (U+037E GREEK
         * QUESTION MARK -> ';'): the normal form must keep the syntax */
        bool raw_atom = memchr(p->lbuf, '"', p->llen) == NULL;
        if ((raw_atom && !is_dot_atom(src, n)) || count_byte(p->lbuf, p->llen, '"') != count_byte(src, n, '"') ||
            count_byte(p->lbuf, p->llen, '\\') != count_byte(src, n, '\\')) {
            diag(p, BC_SYN_ERR_UTF8_LOCAL);
            copy_trunc(out->local, sizeof out->local, p->lbuf, p->llen);
            if (nfc != nfcbuf)
                free(nfc);
            return false;
        }
    }
    p->lwire = n;
    if (quoted && n >= 2 && src[0] == '"' && src[n - 1] == '"')
        quoted_local(out, src, n);
    else
        copy_trunc(out->local, sizeof out->local, src, n);
    if (nfc && nfc != nfcbuf)
        free(nfc);
    return true;
}

/* True when the lower-case domain d is or ends in one of the special-use
 * names of RFC 2606 / 6761 / 6762 / 7686. */
static bool special_use(const char *d, size_t n)
{
    size_t ls = n; /* start of the last label */
    while (ls > 0 && d[ls - 1] != '.')
        ls--;
    const char *l = d + ls;
    switch (n - ls) {
    case 4:
        if (memcmp(l, "test", 4) == 0 || memcmp(l, "arpa", 4) == 0)
            return true;
        break;
    case 5: return memcmp(l, "local", 5) == 0 || memcmp(l, "onion", 5) == 0;
    case 7: return memcmp(l, "example", 7) == 0 || memcmp(l, "invalid", 7) == 0;
    case 9: return memcmp(l, "localhost", 9) == 0;
    case 3: break;
    default: return false;
    }
    /* example.com, example.net, example.org and names under them */
    if (n - ls != 3 || !(memcmp(l, "com", 3) == 0 || memcmp(l, "net", 3) == 0 || memcmp(l, "org", 3) == 0))
        return false;
    if (ls < 8 || memcmp(d + ls - 8, "example.", 8) != 0)
        return false;
    return ls == 8 || d[ls - 9] == '.';
}

/* True when some label of the ASCII domain d starts with "xn--" (any case). */
static bool has_xn_label(const char *d, size_t n)
{
    for (size_t k = 0; k + 4 <= n; k++) {
        if ((k == 0 || d[k - 1] == '.') && lower((unsigned char)d[k]) == 'x' &&
            lower((unsigned char)d[k + 1]) == 'n' && d[k + 2] == '-' && d[k + 3] == '-')
            return true;
    }
    return false;
}

/* Longest label of the domain d[0..n). */
static size_t max_label(const char *d, size_t n)
{
    size_t best = 0, cur = 0;
    for (size_t k = 0; k < n; k++) {
        if (d[k] == '.') {
            cur = 0;
        } else if (++cur > best) {
            best = cur;
        }
    }
    return best;
}

/* Checks the shape of an A-label domain libidn2 produced (UTS #46 mapping
 * can delete characters or map them to ASCII punctuation): empty labels or
 * hyphens at a label edge -> err_idn; other non-LDH bytes -> rfc5322_domain
 * (as for ASCII input); else valid. */
static bc_syntax_code ascii_shape(const char *d)
{
    bc_syntax_code res = BC_SYN_VALID;
    size_t lab = 0;
    char prev = '.';
    for (const char *q = d;; q++) {
        char c = *q;
        if (c == '.' || c == '\0') {
            if (lab == 0 || prev == '-')
                return BC_SYN_ERR_IDN;
            if (c == '\0')
                return res;
            lab = 0;
        } else {
            if (c == '-' && lab == 0)
                return BC_SYN_ERR_IDN;
            if (c != '-' && !(char_class[(unsigned char)c] & CL_LETDIG))
                res = BC_SYN_RFC5322_DOMAIN;
            lab++;
        }
        prev = c;
    }
}

/* Converts a domain through libidn2 into out->ascii_domain and out->domain.
 * Returns false after a diagnosis when IDNA rejects it. */
static bool build_idn(parser *p, bc_addr *out)
{
    char in[BC_INPUT_MAX + 1];
    size_t n = p->dlen;
    if (p->dom_utf8)
        memcpy(in, p->dbuf, n);
    else
        for (size_t k = 0; k < n; k++)
            in[k] = (char)lower((unsigned char)p->dbuf[k]);
    in[n] = '\0';
    char *ascii = NULL, *uni = NULL;
    int rc = idn2_to_ascii_8z(in, &ascii, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
    bool ok = rc == IDN2_OK && ascii != NULL;
    if (ok && !p->dom_utf8 && strcmp(ascii, in) != 0)
        ok = false; /* an A-label must come out unchanged */
    if (ok) {
        for (char *q = ascii; *q; q++)
            *q = (char)lower((unsigned char)*q);
        rc = idn2_to_unicode_8z8z(ascii, &uni, 0);
        ok = rc == IDN2_OK && uni != NULL && strlen(uni) < sizeof out->domain &&
             strlen(ascii) < sizeof out->ascii_domain;
    }
    if (ok && has_xn_label(p->dbuf, p->dlen)) {
        /* libidn2 passes A-labels through without validating what they
         * decode to: the U-label must itself convert back to the A-label */
        char *again = NULL;
        int rc2 = idn2_to_ascii_8z(uni, &again, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        ok = rc2 == IDN2_OK && again != NULL && strcmp(again, ascii) == 0;
        idn2_free(again);
        if (!ok)
            rc = IDN2_ENCODING_ERROR;
    }
    if (ok) {
        bc_syntax_code shape = ascii_shape(ascii);
        if (shape != BC_SYN_VALID) {
            diag(p, shape);
            ok = shape != BC_SYN_ERR_IDN;
        }
    }
    if (ok) {
        copy_trunc(out->ascii_domain, sizeof out->ascii_domain, ascii, strlen(ascii));
        copy_lower(out->domain, sizeof out->domain, uni, strlen(uni));
    } else {
        if (rc == IDN2_TOO_BIG_LABEL || rc == IDN2_PUNYCODE_BIG_OUTPUT) /* A-label > 63 */
            diag(p, BC_SYN_RFC5322_LABEL_TOOLONG);
        else if (rc == IDN2_2HYPHEN) /* any label, ASCII ones too */
            diag(p, BC_SYN_ERR_DOMAIN_HYPHEN34);
        else if (rc == IDN2_TOO_BIG_DOMAIN)
            diag(p, BC_SYN_RFC5322_DOMAIN_TOOLONG);
        else
            diag(p, BC_SYN_ERR_IDN);
        copy_lower(out->domain, sizeof out->domain, p->dbuf, p->dlen);
        if (!p->dom_utf8)
            copy_lower(out->ascii_domain, sizeof out->ascii_domain, p->dbuf, p->dlen);
    }
    idn2_free(ascii);
    idn2_free(uni);
    return ok;
}

/* True when the label l[0..n) has "--" in positions 3 and 4 (RFC 5890's
 * R-LDH labels, of which only xn-- A-labels may be used). */
static bool hyphen34(const char *l, size_t n)
{
    return n >= 4 && l[2] == '-' && l[3] == '-';
}

/* The DNS rules over the labels of the lower-case A-label domain d[0..n)
 * that the grammar does not carry: a label with "--" in positions 3-4 must
 * be an xn-- A-label (RFC 5891 4.2.3.1; libidn2 has validated those), and
 * the top-level label must be all letters or an A-label (RFC 3696 section 2
 * forbids all-numeric TLDs; the root zone holds nothing else). Returns the
 * error, or BC_SYN_VALID. */
static bc_syntax_code domain_rules(const char *d, size_t n)
{
    size_t ls = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k < n && d[k] != '.')
            continue;
        if (hyphen34(d + ls, k - ls) && !(d[ls] == 'x' && d[ls + 1] == 'n'))
            return BC_SYN_ERR_DOMAIN_HYPHEN34;
        if (k < n)
            ls = k + 1;
    }
    const char *tld = d + ls;
    size_t tn = n - ls;
    if (hyphen34(tld, tn)) /* the xn-- A-label that passed above */
        return BC_SYN_VALID;
    for (size_t k = 0; k < tn; k++)
        if (tld[k] < 'a' || tld[k] > 'z')
            return BC_SYN_ERR_TLD_INVALID;
    return BC_SYN_VALID;
}

/* Best-effort split of an input that failed to parse: at the last '@', when
 * the input has no control bytes. */
static void fill_raw(const unsigned char *s, size_t n, bc_addr *out)
{
    size_t at = n;
    for (size_t k = 0; k < n; k++) {
        if (s[k] < 32 || s[k] == 127)
            return;
        if (s[k] == '@')
            at = k;
    }
    if (at == n)
        return;
    const char *cs = (const char *)s;
    copy_trunc(out->local, sizeof out->local, cs, at);
    copy_lower(out->domain, sizeof out->domain, cs + at + 1, n - at - 1);
    bool ascii = true;
    for (size_t k = at + 1; k < n; k++)
        ascii = ascii && s[k] < 0x80;
    if (ascii)
        copy_trunc(out->ascii_domain, sizeof out->ascii_domain, out->domain, strlen(out->domain));
    make_normalized(out);
}

/* Sets the final code, category, validity into out. */
static bc_syntax_code finish(bc_addr *out, bc_syntax_code code)
{
    out->code = code;
    out->category = code_table[code].cat;
    out->valid = out->category <= BC_CAT_RFC5321;
    return code;
}

/* Fast path for the common shape: ASCII dot-atom local part of at most 64
 * octets, one '@', a domain of LDH labels (1..63 octets, no hyphen at either
 * end, no "--" in positions 3-4, so no "xn--" label) whose last label is all
 * letters, at most 254 octets in all. For such input the state machine can
 * only say VALID / RFC5321_TLD, so this decides it directly; anything else
 * returns false untouched and goes to the state machine. Writes the result
 * into out. */
static bool parse_plain(const unsigned char *s, size_t n, bc_addr *out, bc_syntax_code *code)
{
    if (n > 254)
        return false;
    size_t i = 0, elem = 0;
    for (; i < n; i++) {
        unsigned char c = s[i];
        if (c == '@')
            break;
        if (c == '.') {
            if (elem == 0)
                return false;
            elem = 0;
        } else if (char_class[c] & CL_ATEXT) {
            elem++;
        } else {
            return false;
        }
    }
    if (i == n || elem == 0 || i > 64)
        return false;
    size_t at = i, lab = 0, ls = at + 1;
    bool hy = false, dot = false, alpha = true; /* alpha: the label so far is letters only */
    for (i = at + 1; i <= n; i++) {
        unsigned char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (lab == 0 || hy || lab > 63 || hyphen34((const char *)s + ls, lab))
                return false;
            if (i < n) {
                dot = true;
                lab = 0;
                ls = i + 1;
                alpha = true;
            } else if (!alpha) {
                return false; /* the top-level label */
            }
        } else if (char_class[c] & CL_LETDIG) {
            hy = false;
            alpha = alpha && (c > '9');
            lab++;
        } else if (c == '-') {
            if (lab == 0)
                return false;
            hy = true;
            alpha = false;
            lab++;
        } else {
            return false;
        }
    }
    size_t dn = n - at - 1;
    memcpy(out->local, s, at);
    out->local[at] = '\0';
    for (size_t k = 0; k < dn; k++)
        out->ascii_domain[k] = (char)lower(s[at + 1 + k]);
    out->ascii_domain[dn] = '\0';
    memcpy(out->domain, out->ascii_domain, dn + 1);
    memcpy(out->normalized, out->local, at);
    out->normalized[at] = '@';
    memcpy(out->normalized + at + 1, out->ascii_domain, dn + 1);
    if (special_use(out->ascii_domain, dn))
        out->flags |= BC_ADDR_SPECIAL_USE;
    *code = dot ? BC_SYN_VALID : BC_SYN_RFC5321_TLD;
    return true;
}

/* Parses one address: see bouncecheck.h. out is caller-owned; nothing is
 * allocated that outlives the call. */
bc_syntax_code bc_addr_parse(const char *in, size_t len, bc_addr *out)
{
    bc_addr scratch;
    if (!out)
        out = &scratch;
    out->flags = 0;
    out->local[0] = out->domain[0] = out->ascii_domain[0] = out->normalized[0] = '\0';
    if (!in || len == 0)
        return finish(out, BC_SYN_ERR_EMPTY);
    if (len > BC_INPUT_MAX)
        return finish(out, BC_SYN_ERR_INPUT_TOOLONG);

    const unsigned char *s = (const unsigned char *)in;
#ifndef BC_ADDR_NO_FASTPATH
    bc_syntax_code fast;
    if (parse_plain(s, len, out, &fast))
        return finish(out, fast);
#endif
    for (size_t k = 0; k < len; k++) { /* well-formed UTF-8 before any syntax */
        if (s[k] < 0x80)
            continue;
        uint32_t cp;
        size_t m = utf8_seq(s + k, len - k, &cp);
        if (m == 0)
            return finish(out, BC_SYN_ERR_INVALID_UTF8);
        k += m - 1;
    }

    parser p;
    p.s = s;
    p.n = len;
    p.i = 0;
    p.code = BC_SYN_VALID;
    p.rank = code_rank(BC_SYN_VALID);
    p.fatal = false;
    p.ctx = PC_LOCAL;
    p.ctx_prior = PC_LOCAL;
    p.depth = 0;
    p.elem_len = p.elem_count = 0;
    p.end_or_die = p.hyphen = p.prior_cr = p.last_cr = false;
    p.crlf_count = -1;
    p.at_seen = p.local_utf8 = p.dom_utf8 = p.label_utf8 = p.literal = p.saw_nul = false;
    p.llen = p.dlen = p.lwire = 0;
    run(&p);

    if (p.local_utf8)
        out->flags |= BC_ADDR_UTF8_LOCAL;
    if (p.llen > 0 && p.lbuf[0] == '"')
        out->flags |= BC_ADDR_QUOTED;
    if (p.literal)
        out->flags |= BC_ADDR_DOMAIN_LITERAL;
    if (pcat(&p) == BC_CAT_ERR) {
        if (p.code != BC_SYN_ERR_NUL && p.code != BC_SYN_ERR_CONTROL_CHAR)
            fill_raw(s, len, out);
        return finish(out, p.code);
    }
    if (p.saw_nul) /* a NUL in a quoted pair cannot travel in a C string */
        return finish(out, p.code);

    /* the local part: one quoted string with nothing else around it */
    bool single_qs = false;
    if ((out->flags & BC_ADDR_QUOTED) && p.llen >= 2) {
        size_t k = 1;
        while (k < p.llen && p.lbuf[k] != '"')
            k += p.lbuf[k] == '\\' ? 2 : 1;
        single_qs = k == p.llen - 1;
    }
    if (build_local(&p, out, single_qs) && p.local_utf8) {
        /* NFC can leave plain ASCII (U+212A KELVIN SIGN -> 'K'): then no
         * SMTPUTF8 is needed */
        bool wide = false;
        for (const char *q = out->local; *q && !wide; q++)
            wide = (unsigned char)*q >= 0x80;
        if (!wide)
            out->flags &= ~(unsigned)BC_ADDR_UTF8_LOCAL;
    }

    /* the domain */
    if (p.literal) {
        copy_trunc(out->domain, sizeof out->domain, p.dbuf, p.dlen);
        copy_trunc(out->ascii_domain, sizeof out->ascii_domain, p.dbuf, p.dlen);
    } else if (p.dom_utf8 || has_xn_label(p.dbuf, p.dlen)) {
        /* IDN unless UTS #46 mapped it all to plain ASCII (fullwidth letters,
         * ignorable characters): then it is an ordinary domain */
        if (!build_idn(&p, out) || has_xn_label(out->ascii_domain, strlen(out->ascii_domain)))
            out->flags |= BC_ADDR_IDN;
    } else {
        copy_lower(out->ascii_domain, sizeof out->ascii_domain, p.dbuf, p.dlen);
        copy_trunc(out->domain, sizeof out->domain, out->ascii_domain, strlen(out->ascii_domain));
    }
    size_t an = strlen(out->ascii_domain);
    if (!p.literal && special_use(out->ascii_domain, an))
        out->flags |= BC_ADDR_SPECIAL_USE;
    make_normalized(out);

    /* lengths of what goes on the wire: the local part as given (quotes and
     * escapes kept, as for ASCII) in NFC, the domain as A-labels; octets */
    if ((p.local_utf8 || p.dom_utf8) && pcat(&p) <= BC_CAT_RFC5322) {
        size_t ln = p.lwire;
        if (ln > 64)
            diag(&p, BC_SYN_RFC5322_LOCAL_TOOLONG);
        else if (an > 255)
            diag(&p, BC_SYN_RFC5322_DOMAIN_TOOLONG);
        else if (ln + 1 + an > 254)
            diag(&p, BC_SYN_RFC5322_TOOLONG);
        else if (!p.literal && max_label(out->ascii_domain, an) > 63)
            diag(&p, BC_SYN_RFC5322_LABEL_TOOLONG);
    }
    if (!p.literal && an > 0 && pcat(&p) < BC_CAT_ERR) {
        bc_syntax_code rule = domain_rules(out->ascii_domain, an);
        if (rule != BC_SYN_VALID)
            diag(&p, rule);
        /* a bare top-level domain (RFC 5321 2.3.5), only when nothing else
         * was found */
        else if (pcat(&p) == BC_CAT_VALID && !memchr(out->ascii_domain, '.', an))
            diag(&p, BC_SYN_RFC5321_TLD);
    }
    return finish(out, p.code);
}

/* See addr.h. */
bool bc_domain_to_ascii(const char *domain, char *out, size_t outlen, bc_syntax_code *code)
{
    char probe[BC_DOMAIN_MAX + 16];
    size_t dl = domain ? strlen(domain) : 0;
    if (dl && domain[dl - 1] == '.')
        dl--;
    bc_addr *a = malloc(sizeof *a);
    if (code)
        *code = BC_SYN_ERR_NODOMAIN;
    if (!a || dl == 0 || dl >= BC_DOMAIN_MAX) {
        free(a);
        return false;
    }
    memcpy(probe, "postmaster@", 11);
    memcpy(probe + 11, domain, dl);
    bc_addr_parse(probe, 11 + dl, a);
    bool ok = a->valid && a->ascii_domain[0] && !(a->flags & BC_ADDR_DOMAIN_LITERAL) &&
              strlen(a->ascii_domain) < outlen;
    if (code)
        *code = a->code;
    if (ok)
        memcpy(out, a->ascii_domain, strlen(a->ascii_domain) + 1);
    free(a);
    return ok;
}

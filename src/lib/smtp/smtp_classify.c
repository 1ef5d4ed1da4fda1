/*
 * smtp_classify.c - reads an SMTP reply with the tables of smtp_rules.c.
 *
 * Three steps, all pure:
 *  1. fold the text: ASCII and Cyrillic to lower case, Latin accents
 *     removed (é -> e, ß -> ss), the typographic apostrophe to "'", runs of
 *     white space to one space; so that one phrase covers the spellings
 *     servers use;
 *  2. find the kinds of evidence in it: one pass over the folded text; at
 *     each word start (and, for phrases of scripts without spaces, at each
 *     non-ASCII character) only the phrases whose first two bytes match are
 *     tried, through an index built once;
 *  3. walk the rule table top to bottom; the first rule whose codes,
 *     enhanced code and evidence hold gives the class and its name; the
 *     reply rules of the MX's provider (data/providers.json) first.
 *
 * 2xx is accepted; 1xx and 3xx are no answer to RCPT, so they say nothing
 * (tempfail: "could not tell", never permanent).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "smtp/smtp_rules.h"

/* ---- folding ------------------------------------------------------------- */

/* U+0100..U+017F without their accents, one ASCII letter each. */
static const char latin_ext_a[] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkkllllllllllnnnnnnnnnooo"
                                  "ooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* U+00C0..U+00FF (Latin-1 letters) without their accents; "" for the two
 * signs among them (× and ÷), which become a space. */
static const char *const latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",
};

#define FOLD_MAX BC_REPLY_FOLD_MAX

static void put(char *out, size_t *n, const char *s, size_t len)
{
    if (*n + len >= FOLD_MAX)
        return;
    memcpy(out + *n, s, len);
    *n += len;
}

static void put_space(char *out, size_t *n)
{
    if (*n > 0 && out[*n - 1] != ' ')
        put(out, n, " ", 1);
}

/* True for a word that only holds brackets or quotes. */
static bool only_brackets(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("()[]<>{}\"'", w[i]))
            return false;
    return true;
}

/* Drops the words (space-separated) that hold an address ("user@host",
 * "<user@host>:") or only brackets, so that "User (user@example.com)
 * unknown" reads as "user unknown": the address is not part of the
 * wording. Works in place; returns the new length. */
static size_t drop_addresses(char *t, size_t n)
{
    size_t out = 0, i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && t[j] != ' ')
            j++;
        bool drop = memchr(t + i, '@', j - i) != NULL || only_brackets(t + i, j - i);
        if (!drop) {
            if (out > 0)
                t[out++] = ' ';
            memmove(t + out, t + i, j - i);
            out += j - i;
        }
        i = j + 1;
    }
    t[out] = '\0';
    return out;
}

/* Folds text (NUL-terminated) into out[FOLD_MAX]; returns the length. */
static size_t fold(const char *text, char *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = 0;
    while (*s) {
        unsigned char c = s[0];
        if (c < 0x80) {
            if (c == ' ' || c == '\t') {
                put_space(out, &n);
            } else {
                char l = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
                put(out, &n, &l, 1);
            }
            s++;
            continue;
        }
        if (c == 0xc2 && s[1] == 0xa0) { /* no-break space */
            put_space(out, &n);
            s += 2;
            continue;
        }
        if (c == 0xc3 && s[1] >= 0x80 && s[1] <= 0xbf) {
            const char *f = latin1[s[1] - 0x80];
            if (*f)
                put(out, &n, f, strlen(f));
            else
                put_space(out, &n);
            s += 2;
            continue;
        }
        if ((c == 0xc4 || c == 0xc5) && s[1] >= 0x80 && s[1] <= 0xbf) {
            unsigned cp = ((unsigned)(c & 0x1f) << 6) | (s[1] & 0x3fu);
            put(out, &n, &latin_ext_a[cp - 0x100], 1);
            s += 2;
            continue;
        }
        if ((c == 0xd0 || c == 0xd1) && s[1] >= 0x80 && s[1] <= 0xbf) {
            unsigned cp = ((unsigned)(c & 0x1f) << 6) | (s[1] & 0x3fu);
            if (cp >= 0x410 && cp <= 0x42f)
                cp += 0x20; /* А..Я -> а..я */
            else if (cp >= 0x400 && cp <= 0x40f)
                cp += 0x50; /* Ѐ..Џ -> ѐ..џ */
            if (cp == 0x451)
                cp = 0x435; /* ё -> е */
            char u[2] = { (char)(0xc0 | (cp >> 6)), (char)(0x80 | (cp & 0x3f)) };
            put(out, &n, u, 2);
            s += 2;
            continue;
        }
        if (c == 0xe2 && s[1] == 0x80 && (s[2] == 0x98 || s[2] == 0x99)) { /* ‘ ’ */
            put(out, &n, "'", 1);
            s += 3;
            continue;
        }
        /* anything else is copied whole (a lead byte and its continuations) */
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        size_t k = 1;
        while (k < len && s[k] >= 0x80 && s[k] < 0xc0)
            k++;
        put(out, &n, (const char *)s, k);
        s += k;
    }
    out[n] = '\0';
    return drop_addresses(out, n);
}

/* ---- the phrase index ---------------------------------------------------- */

#define NBUCKETS 1024
#define MAX_PHRASES 2048

/* Phrases by the hash of their first two bytes: word phrases and anywhere
 * phrases apart. Each bucket is a run of entries in `order`. */
typedef struct phrase_index {
    uint16_t start[NBUCKETS + 1];
    uint16_t order[MAX_PHRASES];
} phrase_index;
static phrase_index words, anywhere;

static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static unsigned bucket_of(const unsigned char *p)
{
    return ((unsigned)p[0] * 31u + p[1]) & (NBUCKETS - 1);
}

static const char *phrase_body(const bc_reply_phrase *ph)
{
    return ph->text[0] == '~' ? ph->text + 1 : ph->text;
}

static void index_fill(bool want_anywhere, phrase_index *ix)
{
    uint16_t count[NBUCKETS] = { 0 };
    for (size_t i = 0; i < MAX_PHRASES && bc_reply_phrases[i].text; i++) {
        const bc_reply_phrase *ph = &bc_reply_phrases[i];
        if ((ph->text[0] == '~') == want_anywhere)
            count[bucket_of((const unsigned char *)phrase_body(ph))]++;
    }
    uint16_t pos = 0;
    for (unsigned b = 0; b < NBUCKETS; b++) {
        ix->start[b] = pos;
        pos = (uint16_t)(pos + count[b]);
    }
    ix->start[NBUCKETS] = pos;
    uint16_t fill[NBUCKETS];
    memcpy(fill, ix->start, sizeof fill);
    for (size_t i = 0; i < MAX_PHRASES && bc_reply_phrases[i].text; i++) {
        const bc_reply_phrase *ph = &bc_reply_phrases[i];
        if ((ph->text[0] == '~') == want_anywhere)
            ix->order[fill[bucket_of((const unsigned char *)phrase_body(ph))]++] = (uint16_t)i;
    }
}

static void index_build(void)
{
    index_fill(false, &words);
    index_fill(true, &anywhere);
}

/* A byte that belongs to a word: ASCII letters and digits, and every byte
 * of a non-ASCII character (letters of other scripts). */
static bool word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* The length of the match of the phrase body at t (the folded text,
 * NUL-terminated), 0 for none; `bounded`: the match must end on a word
 * boundary unless the body ends in '*'. */
static size_t match_at(const unsigned char *t, const char *body, bool bounded)
{
    size_t k = 0;
    while (body[k] && body[k] != '*') {
        if (t[k] != (unsigned char)body[k])
            return 0;
        k++;
    }
    if (body[k] == '*' || !bounded)
        return k;
    return word_byte(t[k]) ? 0 : k;
}

/* The family of the longest phrase of the bucket that matches at t, 0 for
 * none: "too many messages on the server" (a full mailbox) wins over "too
 * many messages" (a rate) where both start. */
static unsigned try_bucket(const phrase_index *ix, const unsigned char *t, bool bounded)
{
    unsigned b = bucket_of(t), family = 0;
    size_t best = 0;
    for (unsigned k = ix->start[b]; k < ix->start[b + 1]; k++) {
        const bc_reply_phrase *ph = &bc_reply_phrases[ix->order[k]];
        size_t len = match_at(t, phrase_body(ph), bounded);
        if (len > best) {
            best = len;
            family = ph->family;
        }
    }
    return family;
}

/* The kinds of evidence in an already folded text of n bytes. */
static unsigned evidence_folded(const char *folded, size_t n)
{
    pthread_once(&index_once, index_build);
    const unsigned char *t = (const unsigned char *)folded;
    unsigned have = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (i == 0 || !word_byte(t[i - 1]))
            have |= try_bucket(&words, t + i, true);
        if (t[i] >= 0xc0)
            have |= try_bucket(&anywhere, t + i, false);
    }
    return have;
}

unsigned bc_reply_evidence(const char *text)
{
    char folded[FOLD_MAX];
    size_t n = fold(text, folded);
    return evidence_folded(folded, n);
}

/* ---- the rules ----------------------------------------------------------- */

/* The enhanced code a rule is matched against: the reply's own, else one
 * written in the text the qmail way ("(#5.1.1)", Cisco's "#5.1.0"). */
typedef struct enh {
    int cls, subject, detail;
} enh;

static bool read_num(const char **p, int *v)
{
    int n = 0, k = 0;
    while (**p >= '0' && **p <= '9' && k < 4) {
        n = n * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    *v = n;
    return k > 0 && k < 4;
}

static enh enh_of(const bc_smtp_reply *r)
{
    enh e = { r->enh_class, r->enh_subject, r->enh_detail };
    if (e.cls)
        return e;
    for (const char *h = strchr(r->text, '#'); h; h = strchr(h + 1, '#')) {
        const char *p = h + 1;
        int c, s, d;
        if (!read_num(&p, &c) || *p++ != '.' || !read_num(&p, &s) || *p++ != '.' || !read_num(&p, &d))
            continue;
        if (c == r->code / 100 && (c == 4 || c == 5)) {
            e.cls = c;
            e.subject = s;
            e.detail = d;
            break;
        }
    }
    return e;
}

static bool rule_holds(const bc_reply_rule *rule, const bc_smtp_reply *r, const enh *e, unsigned codes,
                       unsigned have)
{
    if (!(rule->codes & codes))
        return false;
    if ((rule->codes & BC_RC_450_451_ONLY) && r->code != 450 && r->code != 451)
        return false;
    if (rule->subject == BC_ENH_NONE) {
        if (e->cls != 0)
            return false;
    } else if (rule->subject >= 0) {
        if (e->cls == 0 || e->subject != rule->subject)
            return false;
        if (rule->detail >= 0 && e->detail != rule->detail)
            return false;
    }
    if (rule->need_any && !(have & rule->need_any))
        return false;
    return !(have & rule->forbid);
}

size_t bc_reply_fold(const char *text, char out[BC_REPLY_FOLD_MAX])
{
    return fold(text, out);
}

bool bc_reply_folded_has(const char *folded, const char *phrase)
{
    bool any_pos = phrase[0] == '~';
    const char *body = any_pos ? phrase + 1 : phrase;
    const unsigned char *t = (const unsigned char *)folded;
    for (size_t i = 0; t[i]; i++) {
        if (!any_pos && i > 0 && word_byte(t[i - 1]))
            continue;
        if (match_at(t + i, body, !any_pos))
            return true;
    }
    return false;
}

/* Whether a provider's reply rule holds for r (its text folded). */
static bool provider_rule_holds(const bc_provider_rule *pr, const bc_smtp_reply *r, const enh *e,
                                const char *folded)
{
    if (pr->code       ? r->code != pr->code
        : pr->code_421 ? r->code != 421
                       : r->code / 100 != pr->code_class || r->code == 421)
        return false;
    if (pr->enh_subject >= 0 && (e->cls == 0 || e->subject != pr->enh_subject || e->detail != pr->enh_detail))
        return false;
    if (pr->ntext == 0)
        return true;
    for (size_t k = 0; k < pr->ntext; k++)
        if (bc_reply_folded_has(folded, pr->text[k]))
            return true;
    return false;
}

bc_smtp_reading bc_smtp_read(const bc_smtp_reply *r, const bc_provider_rule *rules, size_t nrules)
{
    bc_smtp_reading out = { BC_SMTP_TEMPFAIL, "no_answer" };
    int c = r->code;
    if (c >= 200 && c < 300) {
        out.cls = BC_SMTP_ACCEPTED;
        out.rule = "2xx.accepted";
        return out;
    }
    if (c < 400 || c > 599) {
        out.rule = "1xx_3xx.not_an_answer";
        return out;
    }
    unsigned codes = c == 421 ? BC_RC_421 : c < 500 ? BC_RC_4XX : BC_RC_5XX;
    char folded[FOLD_MAX];
    unsigned have = evidence_folded(folded, fold(r->text, folded)); /* folded once, read twice */
    enh e = enh_of(r);
    if (nrules > 0) {
        /* A provider's rule never overrides what the text says of the sender,
         * our client, rates or relaying: those are read first everywhere. */
        if (!(have & (BC_RF_SENDER | BC_RF_CLIENT | BC_RF_RATE | BC_RF_RELAY))) {
            for (size_t i = 0; i < nrules; i++) {
                if (provider_rule_holds(&rules[i], r, &e, folded)) {
                    out.cls = rules[i].cls;
                    out.rule = rules[i].name;
                    return out;
                }
            }
        }
    }
    for (size_t i = 0; bc_reply_rules[i].name; i++) {
        const bc_reply_rule *rule = &bc_reply_rules[i];
        if (rule_holds(rule, r, &e, codes, have)) {
            out.cls = rule->cls;
            out.rule = rule->name;
            return out;
        }
    }
    /* The table ends with catch-alls for 4xx, 421 and 5xx; this is a safe
     * default should it ever not. */
    out.cls = c < 500 ? BC_SMTP_TEMPFAIL : BC_SMTP_REJECTED_OTHER;
    out.rule = "default";
    return out;
}

bc_smtp_class bc_smtp_classify(const bc_smtp_reply *r)
{
    return bc_smtp_read(r, NULL, 0).cls;
}

bool bc_smtp_class_from_name(const char *name, bc_smtp_class *out)
{
    for (int c = BC_SMTP_ACCEPTED; c <= BC_SMTP_SERVER_ERROR; c++) {
        if (strcmp(bc_smtp_class_name((bc_smtp_class)c), name) == 0) {
            *out = (bc_smtp_class)c;
            return true;
        }
    }
    return false;
}

bool bc_smtp_class_is_mailbox(bc_smtp_class c)
{
    return c == BC_SMTP_ACCEPTED || c == BC_SMTP_REJECTED_MAILBOX || c == BC_SMTP_MAILBOX_DISABLED ||
           c == BC_SMTP_MAILBOX_FULL;
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
    case BC_SMTP_SENDER_REJECTED: return "sender_rejected";
    case BC_SMTP_RATE_LIMITED: return "rate_limited";
    case BC_SMTP_POLICY_REJECTED: return "policy_rejected";
    case BC_SMTP_SERVER_ERROR: return "server_error";
    }
    return "unknown";
}

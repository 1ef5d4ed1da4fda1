/*
 * extract.c - the streaming address scanner behind `bouncecheck extract`
 * (bc_scanner_*, see bouncecheck.h).
 *
 * The hot path jumps from '@' to '@' with memchr, expands left over the
 * local part and right over the domain, and hands the candidate to
 * bc_addr_parse() for validation and normalisation. No regex engine.
 *
 * Precision rules applied to every candidate:
 *  - the last label must be a public suffix known to libpsl (ICANN section,
 *    no "*" default rule) and made of letters (or an xn-- A-label), so
 *    version strings (pkg@1.2.3) and file names (image.png) fall out;
 *  - file extensions that are also TLDs (zip, mov, ...) are refused as the
 *    last label, and a first domain label like "2x" (image@2x.png) too;
 *  - candidates in Message-ID, Content-ID, References and In-Reply-To
 *    header lines (including folded continuation lines), and after "cid:",
 *    are message identifiers, not addresses;
 *  - wrapped addresses: a domain ending in '-' at a line break, or a local
 *    part starting right after a quoted-printable soft break ("=\n");
 *  - URL credentials ("https://user:pass@host") are not addresses;
 *  - brackets, quotes, "mailto:" and trailing dots/hyphens are never part of
 *    what is reported.
 * Only the common subset of atext (letters, digits, . _ + - and an inner
 * apostrophe) is taken into a local part: the rare atext characters
 * (= ? / & # ...) are separators in URLs and key=value text far more often.
 *
 * Streaming: input is copied into a window; an anchor ('@' or an obfuscated
 * "at") is examined only when RIGHT_MAX bytes after it are present (or at
 * the end of the source), and LEFT_MAX bytes before the scan point are kept
 * across refills. Every anchor is examined exactly once with the same
 * context whatever the chunking, so an address split between two feeds is
 * found exactly once. Memory is one fixed window per scanner.
 *
 * Limits (extract_scanner.h): per source, the CPU time of the thread (read
 * every CLOCK_BYTES or CLOCK_CALLS feeds, and whenever a decoder asks) and
 * the bytes fed. Once one is reached the source is stopped: what is fed is
 * dropped, and so is the unexamined tail from its last separator on, so an
 * address cut by the stop ("ann@example.co" of "ann@example.com") is not
 * reported.
 */
#include <libpsl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unictype.h>
#include <unistr.h>

#include "core/clock.h"
#include "core/internal.h"
#include "core/utf8.h"
#include "extract/extract_scanner.h"

#define LOCAL_BYTES 256    /* longest local part scanned (bytes) */
#define DOMAIN_BYTES 1024  /* longest domain scanned (bytes) */
#define URL_BACK 200       /* how far back "://" is looked for before a local part */
#define LEFT_MAX 600       /* context kept before the scan point */
#define RIGHT_MAX 1536     /* context needed after an anchor */
#define OBF_SCAN 1400      /* longest obfuscated domain text scanned */
#define HEAD_LOOK 40       /* bytes looked at after a line break */
#define WINDOW (64 * 1024) /* fresh bytes per refill */
#define KIND_MAX 24
#define TLD_MAX 63
#define TLD_MEMO 64 /* cached verdicts on last labels */
#define BLANK_MAX 8 /* spaces skipped around obfuscated tokens */

#define CLOCK_BYTES (256 * 1024) /* bytes fed between two looks at the clock */
#define CLOCK_CALLS 1024         /* feeds between two looks at the clock */
#define CLOCK_MS 5               /* the CPU clock (a system call) is read at most this often */

struct tld_memo {
    char tld[TLD_MAX + 1];
    size_t len; /* 0: empty slot */
    bool ok;
};

struct bc_scanner {
    bc_extract_options opt;
    bc_extract_cb cb;
    void *arg;
    char *file; /* owned */
    char kind[KIND_MAX];
    char *buf; /* owned, cap bytes */
    size_t len, cap;
    size_t scan;        /* next index to look for anchors from */
    size_t line_idx;    /* newlines before this index are counted */
    size_t last_end;    /* index just past the last address reported */
    size_t next_at;     /* cached next '@' (or SIZE_MAX: unknown) */
    size_t next_obf;    /* cached next obfuscated anchor (or SIZE_MAX) */
    unsigned long line; /* 1-based line of line_idx */
    bool pending_start; /* a line starts at line_idx, not yet classified */
    bool id_header;     /* the current logical line is a Message-ID-like header */
    struct tld_memo tlds[TLD_MEMO];
    bc_addr a;              /* scratch for bc_addr_parse */
    char cand[BC_ADDR_MAX]; /* an obfuscated candidate, rebuilt */
    char ascii[BC_ADDR_MAX];
    /* the limits (0: none) and what the current source has used */
    double max_seconds;
    uint64_t max_bytes;
    double cpu0;          /* this thread's CPU clock when the source started */
    double cpu_other;     /* CPU seconds spent elsewhere (ex_scanner_charge) */
    double seconds;       /* CPU seconds used, at the last look at the clock */
    uint64_t fed;         /* text bytes fed */
    uint64_t decoded;     /* bytes decoders inflated or held (ex_scanner_charge) */
    uint64_t fed_clock;   /* fed at the last look at the clock */
    unsigned calls_clock; /* feeds since the last look at the clock */
    long clock_ms;        /* the monotonic clock (cheap) when the CPU clock was last read */
    bc_extract_limit limit;
    unsigned long lines_cut, first_cut;
};

/* ASCII characters a local part is expanded over. */
static bool local_ascii(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '+' || c == '-' || c == '\'';
}

/* ASCII characters a domain is expanded over (labels and dots). */
static bool domain_ascii(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* True when code point cp is a letter, mark or digit (what IDN labels and
 * internationalised local parts are made of). */
static bool uc_word(ucs4_t cp)
{
    return uc_is_general_category(cp, UC_CATEGORY_L) || uc_is_general_category(cp, UC_CATEGORY_M) ||
           uc_is_general_category(cp, UC_CATEGORY_N);
}

/* Length of the non-ASCII word character starting at s[0..n), or 0. */
static size_t word_fwd(const unsigned char *s, size_t n)
{
    size_t k = bc_utf8_seq_len(s, n);
    if (k < 2)
        return 0;
    ucs4_t cp;
    u8_mbtouc(&cp, s, k);
    return uc_word(cp) ? k : 0;
}

/* Length of the non-ASCII word character ending at b[end) (not before
 * b[lo]), or 0. */
static size_t word_back(const unsigned char *b, size_t lo, size_t end)
{
    size_t j = end - 1;
    while (j > lo && (b[j] & 0xC0) == 0x80 && end - j < 4)
        j--;
    if (end - j < 2 || bc_utf8_seq_len(b + j, end - j) != end - j)
        return 0;
    return word_fwd(b + j, end - j) ? end - j : 0;
}

static unsigned char lc(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Case-insensitive: does b[at..at+n) (within len) equal w (n bytes)? */
static bool has_word_n(const char *b, size_t len, size_t at, const char *w, size_t n)
{
    if (at > len || len - at < n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (lc((unsigned char)b[at + k]) != (unsigned char)w[k])
            return false;
    return true;
}

/* has_word_n on a string literal (anything else does not compile). */
#define has_word(b, len, at, lit) has_word_n((b), (len), (at), "" lit, sizeof("" lit) - 1)

/* Classifies the line starting at index j: folded continuation lines keep
 * the state, other lines start a Message-ID-like header or end one. Quote
 * markers ("> ") of forwarded messages are skipped. */
static void line_start(bc_scanner *s, size_t j)
{
    const char *b = s->buf;
    size_t end = j + HEAD_LOOK < s->len ? j + HEAD_LOOK : s->len;
    bool quoted = false;
    while (j < end && b[j] == '>') {
        j++;
        quoted = true;
    }
    if (quoted && j < end && b[j] == ' ')
        j++;
    if (j < end && (b[j] == ' ' || b[j] == '\t'))
        return; /* continuation */
    static const struct {
        const char *w;
        size_t n;
    } names[] = { { "message-id:", 11 },
                  { "content-id:", 11 },
                  { "references:", 11 },
                  { "in-reply-to:", 12 },
                  { "resent-message-id:", 18 } };
    s->id_header = false;
    unsigned char c0 = j < end ? lc((unsigned char)b[j]) : 0;
    if (c0 != 'm' && c0 != 'c' && c0 != 'r' && c0 != 'i')
        return;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
        if (has_word_n(b, end, j, names[k].w, names[k].n)) {
            s->id_header = true;
            return;
        }
}

/* Counts the line breaks before index upto, classifying every line start
 * whose first bytes are in the window. */
static void count_to(bc_scanner *s, size_t upto)
{
    if (upto <= s->line_idx)
        return;
    if (s->pending_start) {
        s->pending_start = false;
        line_start(s, s->line_idx);
    }
    const char *p = s->buf + s->line_idx, *end = s->buf + upto;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        s->line++;
        size_t j = (size_t)(nl - s->buf) + 1;
        if (j < s->len)
            line_start(s, j);
        else
            s->pending_start = true;
        p = nl + 1;
    }
    s->line_idx = upto;
}

/* Index where the local part ending at end starts (end when it is empty);
 * *ok is false when it runs past LOCAL_BYTES. Leading dots and apostrophes
 * are not part of it. */
static size_t local_start(const bc_scanner *s, size_t end, bool *ok)
{
    const unsigned char *b = (const unsigned char *)s->buf;
    size_t floor = s->last_end, k = end;
    *ok = true;
    while (k > floor) {
        size_t w = 0;
        if (b[k - 1] < 0x80)
            w = local_ascii(b[k - 1]) ? 1 : 0;
        else
            w = word_back(b, floor, k);
        if (!w)
            break;
        if (end - k + w > LOCAL_BYTES) {
            *ok = false;
            return end;
        }
        k -= w;
    }
    while (k < end && (b[k] == '.' || b[k] == '\''))
        k++;
    return k;
}

/* Index just past the domain text starting at from (labels and dots), at
 * most DOMAIN_BYTES long; *capped is true when the limit stopped it. */
static size_t domain_end(const bc_scanner *s, size_t from, bool *capped)
{
    const unsigned char *b = (const unsigned char *)s->buf;
    size_t k = from, max = from + DOMAIN_BYTES < s->len ? from + DOMAIN_BYTES : s->len;
    *capped = false;
    while (k < max) {
        size_t w = b[k] < 0x80 ? (domain_ascii(b[k]) ? 1 : 0) : word_fwd(b + k, s->len - k);
        if (!w)
            return k;
        if (k + w > max)
            break;
        k += w;
    }
    *capped = k >= from + DOMAIN_BYTES;
    return k;
}

/* Last labels that are file extensions rather than mail domains, although
 * some are delegated TLDs. */
static bool file_extension(const char *t, size_t n)
{
    /* by length: 2, 3, 4 and 5 letters, each list a run of fixed-width names */
    static const char ext2[] = "jsgzxz7z";
    static const char ext3[] =
        "pngjpggifsvgcssmjsmapicobmptifpdfziptgzbz2rartarmovmp3mp4avimkvwavhtmphpaspjsptxtlog"
        "docxlspptodtxmlymlcsvinicfgexedllbinisodmgttfeototfpsdeps";
    static const char ext4[] = "jpegwebpaviftiffwebmhtmlaspxdocxxlsxpptxjsonyamlwoffheic";
    static const char ext5[] = "woff2";
    const char *list;
    size_t len;
    switch (n) {
    case 2:
        list = ext2;
        len = sizeof ext2 - 1;
        break;
    case 3:
        list = ext3;
        len = sizeof ext3 - 1;
        break;
    case 4:
        list = ext4;
        len = sizeof ext4 - 1;
        break;
    case 5:
        list = ext5;
        len = sizeof ext5 - 1;
        break;
    default: return false;
    }
    for (size_t k = 0; k + n <= len; k += n)
        if (memcmp(list + k, t, n) == 0)
            return true;
    return false;
}

/* The rules on the last label (A-label, lower case) of the file comment. */
static bool plausible_tld(const char *tld, size_t n)
{
    if (n > 4 && memcmp(tld, "xn--", 4) == 0) {
        for (size_t k = 4; k < n; k++)
            if (!((tld[k] >= 'a' && tld[k] <= 'z') || (tld[k] >= '0' && tld[k] <= '9') || tld[k] == '-'))
                return false;
    } else {
        for (size_t k = 0; k < n; k++)
            if (tld[k] < 'a' || tld[k] > 'z')
                return false;
    }
    if (file_extension(tld, n))
        return false;
    const psl_ctx_t *psl = psl_builtin();
    return psl && psl_is_public_suffix2(psl, tld, PSL_TYPE_ICANN | PSL_TYPE_NO_STAR_RULE);
}

/* The domain rules of the file comment, on an A-label, lower-case domain.
 * Verdicts on last labels are cached in s->tlds (few distinct ones recur). */
static bool plausible_domain(bc_scanner *s, const char *d, size_t len)
{
    const char *dot = memrchr(d, '.', len);
    if (!dot || dot == d)
        return false;
    const char *tld = dot + 1;
    size_t n = len - (size_t)(tld - d);
    if (n < 2 || n > TLD_MAX)
        return false;
    unsigned h = 0;
    for (size_t k = 0; k < n; k++)
        h = h * 31u + (unsigned char)tld[k];
    struct tld_memo *m = &s->tlds[h % TLD_MEMO];
    if (!(m->len == n && memcmp(m->tld, tld, n) == 0)) {
        memcpy(m->tld, tld, n + 1);
        m->len = n;
        m->ok = plausible_tld(tld, n);
    }
    if (!m->ok)
        return false;
    /* a scale suffix as the first label: image@2x.png, icon@3x.webp */
    size_t first = strcspn(d, ".");
    return !(first >= 2 && first <= 3 && d[first - 1] == 'x' && strspn(d, "0123456789") == first - 1);
}

/* Validates text[0..n) as an address and reports it. True when reported. */
static bool report(bc_scanner *s, const char *text, size_t n, const char *kind)
{
    bc_addr *a = &s->a;
    bc_addr_parse(text, n, a);
    if (!a->valid || (a->flags & (BC_ADDR_QUOTED | BC_ADDR_DOMAIN_LITERAL)))
        return false;
    size_t ln = strlen(a->local), dn = strlen(a->ascii_domain);
    if (!plausible_domain(s, a->ascii_domain, dn) || ln + 1 + dn >= sizeof s->ascii)
        return false;
    memcpy(s->ascii, a->local, ln);
    s->ascii[ln] = '@';
    memcpy(s->ascii + ln + 1, a->ascii_domain, dn + 1);
    bc_extract_hit hit = {
        .address = a->normalized,
        .ascii = s->ascii,
        .file = s->file ? s->file : "-",
        .line = s->line,
        .kind = kind,
    };
    s->cb(s->arg, &hit);
    return true;
}

/* Examines the '@' at index i. Returns the index to continue scanning at. */
static size_t at_sign(bc_scanner *s, size_t i)
{
    const char *b = s->buf;
    count_to(s, i);
    if (s->id_header)
        return i + 1;
    bool ok;
    size_t k = local_start(s, i, &ok);
    if (!ok || k == i)
        return i + 1;
    if (k > 0 && b[k - 1] == '@')
        return i + 1;
    bool capped;
    size_t e = domain_end(s, i + 1, &capped);
    if (capped)
        return i + 1;
    size_t raw_end = e;
    while (e > i + 1 && (b[e - 1] == '.' || b[e - 1] == '-')) {
        if (b[e - 1] == '-' && e == raw_end &&
            ((e < s->len && b[e] == '\n') || (e + 1 < s->len && b[e] == '\r' && b[e + 1] == '\n')))
            return i + 1; /* "user@exam-" + line break: wrapped */
        e--;
    }
    if (e == i + 1 || (raw_end < s->len && b[raw_end] == '@'))
        return i + 1;
    /* quoted-printable soft line break right before the local part */
    if (k >= 2 && b[k - 1] == '\n' && (b[k - 2] == '=' || (k >= 3 && b[k - 2] == '\r' && b[k - 3] == '=')))
        return i + 1;
    const char *kind = s->kind;
    if (k >= 4 && has_word(b, s->len, k - 4, "cid:"))
        return i + 1;
    if (k >= 7 && has_word(b, s->len, k - 7, "mailto:")) {
        kind = "mailto";
    } else if (k >= 1 && b[k - 1] == ':') {
        /* "scheme://user:password@host" */
        size_t j = k - 1, lo = k - 1 > URL_BACK ? k - 1 - URL_BACK : 0;
        while (j > lo && b[j - 1] != ' ' && b[j - 1] != '\n' && b[j - 1] != '\t' && b[j - 1] != '"' &&
               b[j - 1] != '<') {
            if (j >= 3 && b[j - 1] == '/' && b[j - 2] == '/' && b[j - 3] == ':')
                return i + 1;
            j--;
        }
    }
    if (!report(s, b + k, e - k, kind))
        return i + 1;
    s->last_end = e;
    return e;
}

/* Index past at most BLANK_MAX spaces or tabs from k (bounded, so that
 * what is decided never depends on how far the window reaches). */
static size_t skip_blank(const char *b, size_t len, size_t k)
{
    size_t max = k + BLANK_MAX < len ? k + BLANK_MAX : len;
    while (k < max && (b[k] == ' ' || b[k] == '\t'))
        k++;
    return k;
}

/* Obfuscated "at"/"dot" tokens. An opening bracket, spaces, the word, spaces,
 * the matching closing bracket: "[at]", "( dot )". Returns the index past
 * the token, or 0 when there is none at i (i points at the bracket). */
static size_t bracket_word(const char *b, size_t len, size_t i, const char *word)
{
    static const char open[] = "[({<", close[] = "])}>";
    const char *o = i < len && b[i] ? strchr(open, b[i]) : NULL;
    if (!o)
        return 0;
    size_t k = skip_blank(b, len, i + 1);
    if (!has_word_n(b, len, k, word, strlen(word)))
        return 0;
    k = skip_blank(b, len, k + strlen(word));
    if (k >= len || b[k] != close[o - open])
        return 0;
    return k + 1;
}

/* Where the obfuscated "at" whose letters start at t begins and ends:
 * *from is the end of the local part, *to the start of the domain, *word
 * whether it is the bare lower-case " at " form. False when t is not one. */
static bool obf_at(const bc_scanner *s, size_t t, size_t *from, size_t *to, bool *word)
{
    const char *b = s->buf;
    if (t == 0 || t + 2 >= s->len)
        return false;
    if (b[t - 1] == ' ' && b[t] == 'a' && b[t + 1] == 't' && b[t + 2] == ' ') {
        *from = t - 1;
        *to = t + 3;
        *word = true;
        return true;
    }
    size_t o = t;
    while (o > 0 && t - o < BLANK_MAX && (b[o - 1] == ' ' || b[o - 1] == '\t'))
        o--;
    if (o == 0)
        return false;
    size_t e = bracket_word(b, s->len, o - 1, "at");
    if (!e)
        return false;
    size_t f = o - 1;
    while (f > 0 && o - 1 - f < BLANK_MAX && (b[f - 1] == ' ' || b[f - 1] == '\t'))
        f--;
    *from = f;
    *to = skip_blank(b, s->len, e);
    *word = false;
    return true;
}

/* Next obfuscated anchor (the 'a' of "at") in [from, limit), or limit. */
static size_t find_obf(const bc_scanner *s, size_t from, size_t limit)
{
    const char *b = s->buf;
    for (size_t t = from; t + 1 < limit; t++) {
        if ((b[t] != 'a' && b[t] != 'A') || (b[t + 1] != 't' && b[t + 1] != 'T'))
            continue;
        size_t f, to;
        bool word;
        if (obf_at(s, t, &f, &to, &word))
            return t;
    }
    return limit;
}

/* Examines the obfuscated anchor at t. Returns the index to go on from. */
static size_t obfuscated(bc_scanner *s, size_t t)
{
    const char *b = s->buf;
    count_to(s, t);
    size_t from, to;
    bool word, ok;
    if (s->id_header || !obf_at(s, t, &from, &to, &word))
        return t + 1;
    size_t k = local_start(s, from, &ok);
    if (!ok || k == from || (k > 0 && b[k - 1] == '@'))
        return t + 1;
    size_t n = from - k;
    memcpy(s->cand, b + k, n);
    s->cand[n++] = '@';
    size_t p = to, max = to + OBF_SCAN < s->len ? to + OBF_SCAN : s->len, end = to;
    unsigned dots = 0, word_dots = 0;
    for (;;) {
        /* one label */
        size_t q = p;
        while (q < max) {
            const unsigned char *u = (const unsigned char *)b + q;
            size_t w = *u < 0x80 ? ((domain_ascii(*u) && *u != '.') ? 1 : 0) : word_fwd(u, max - q);
            if (!w)
                break;
            q += w;
        }
        if (q == p || n + (q - p) + 2 >= sizeof s->cand)
            break;
        memcpy(s->cand + n, b + p, q - p);
        n += q - p;
        end = q;
        /* a separator followed by a label */
        size_t r;
        if (q < max && b[q] == '.') {
            r = q + 1;
        } else if (q + 5 <= max && memcmp(b + q, " dot ", 5) == 0) {
            r = q + 5;
            word_dots++;
        } else {
            size_t o = skip_blank(b, max, q);
            size_t c = bracket_word(b, max, o, "dot");
            if (!c)
                break;
            r = skip_blank(b, max, c);
        }
        if (r >= max || !(domain_ascii((unsigned char)b[r]) || (unsigned char)b[r] >= 0x80) || b[r] == '.')
            break;
        s->cand[n++] = '.';
        dots++;
        p = r;
    }
    if (!dots || (word && !word_dots))
        return t + 1;
    while (n > 0 && s->cand[n - 1] == '-')
        n--;
    if (!report(s, s->cand, n, "obfuscated"))
        return t + 1;
    s->last_end = end;
    return end;
}

/* Examines every anchor before limit (all of them when final) and counts
 * the lines up to there. */
static void process(bc_scanner *s, size_t limit)
{
    for (;;) {
        if (s->next_at == SIZE_MAX || s->next_at < s->scan) {
            const char *at = s->scan < limit ? memchr(s->buf + s->scan, '@', limit - s->scan) : NULL;
            s->next_at = at ? (size_t)(at - s->buf) : SIZE_MAX;
        }
        if (s->opt.obfuscated && (s->next_obf == SIZE_MAX || s->next_obf < s->scan)) {
            size_t o = s->scan < limit ? find_obf(s, s->scan, limit) : limit;
            s->next_obf = o < limit ? o : SIZE_MAX;
        }
        size_t at = s->next_at, ob = s->opt.obfuscated ? s->next_obf : SIZE_MAX;
        if (at == SIZE_MAX && ob == SIZE_MAX)
            break;
        if (at <= ob)
            s->scan = at_sign(s, at);
        else
            s->scan = obfuscated(s, ob);
    }
    if (s->scan < limit)
        s->scan = limit;
    count_to(s, limit);
    s->next_at = s->next_obf = SIZE_MAX;
}

/* Drops all but LEFT_MAX bytes before index keep_from. */
static void compact(bc_scanner *s, size_t keep_from)
{
    size_t drop = keep_from > LEFT_MAX ? keep_from - LEFT_MAX : 0;
    if (!drop)
        return;
    memmove(s->buf, s->buf + drop, s->len - drop);
    s->len -= drop;
    s->scan -= drop;
    s->line_idx -= drop;
    s->last_end = s->last_end > drop ? s->last_end - drop : 0;
}

/* Ownership: the scanner is the caller's (bc_scanner_free). */
bc_scanner *bc_scanner_new(const bc_extract_options *o, bc_extract_cb cb, void *arg)
{
    if (!cb)
        return NULL;
    bc_scanner *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cap = WINDOW + LEFT_MAX + RIGHT_MAX;
    s->buf = malloc(s->cap);
    if (!s->buf) {
        free(s);
        return NULL;
    }
    if (o)
        s->opt = *o;
    s->max_seconds = s->opt.max_seconds == 0 ? BC_EXTRACT_MAX_SECONDS
                                             : (s->opt.max_seconds > 0 ? s->opt.max_seconds : 0);
    s->max_bytes = s->opt.max_bytes == 0 ? (uint64_t)BC_EXTRACT_MAX_BYTES
                                         : (s->opt.max_bytes > 0 ? (uint64_t)s->opt.max_bytes : 0);
    s->cpu0 = bc_thread_cpu_s();
    s->cb = cb;
    s->arg = arg;
    memcpy(s->kind, "text", 5);
    s->line = 1;
    s->pending_start = true;
    s->next_at = s->next_obf = SIZE_MAX;
    return s;
}

/* Processes everything held, keeping the line count and header state. */
static void flush(bc_scanner *s)
{
    process(s, s->len);
    s->len = s->scan = s->line_idx = s->last_end = 0;
}

void bc_scanner_end(bc_scanner *s)
{
    if (!s)
        return;
    flush(s);
    if (!s->limit)
        s->seconds = bc_thread_cpu_s() - s->cpu0 + s->cpu_other;
}

void bc_scanner_source(bc_scanner *s, const char *file, const char *kind)
{
    if (!s)
        return;
    flush(s);
    free(s->file);
    s->file = file ? strdup(file) : NULL;
    snprintf(s->kind, sizeof s->kind, "%s", kind ? kind : "text");
    s->line = 1;
    s->pending_start = true;
    s->id_header = false;
    s->cpu0 = bc_thread_cpu_s();
    s->clock_ms = bc_now_ms();
    s->cpu_other = s->seconds = 0;
    s->fed = s->decoded = s->fed_clock = 0;
    s->calls_clock = 0;
    s->limit = BC_EXTRACT_LIMIT_NONE;
    s->lines_cut = s->first_cut = 0;
}

void bc_scanner_kind(bc_scanner *s, const char *kind)
{
    if (!s)
        return;
    const char *k = kind ? kind : "text";
    if (strncmp(k, s->kind, sizeof s->kind - 1) == 0)
        return;
    /* what is held back was fed under the old kind */
    flush(s);
    snprintf(s->kind, sizeof s->kind, "%s", k);
}

/* A byte no address runs across: where the tail is cut after a stop. */
static bool separator(unsigned char c)
{
    return c <= ' ' || c == '<' || c == '>' || c == '"' || c == '(' || c == ')' || c == ',' || c == ';' ||
           c == '[' || c == ']' || c == 0x7F;
}

/* Stops the source at limit: later feeds are dropped, and so is the
 * unexamined tail from its last separator on (anchors before s->scan were
 * examined with their whole context, so only the tail can hold a cut
 * address). */
static void stop(bc_scanner *s, bc_extract_limit limit)
{
    if (s->limit)
        return;
    s->limit = limit;
    s->seconds = bc_thread_cpu_s() - s->cpu0 + s->cpu_other;
    size_t k = s->len;
    while (k > s->scan && !separator((unsigned char)s->buf[k - 1]))
        k--;
    s->len = k;
    s->next_at = s->next_obf = SIZE_MAX;
}

/* Looks at the byte counts and the clock; the limit reached, if any. The
 * thread's CPU clock is a system call, so it is read only when CLOCK_MS
 * went by on the monotonic one (which the CPU time cannot outrun), unless
 * force. */
static bc_extract_limit check(bc_scanner *s, bool force)
{
    if (s->limit)
        return s->limit;
    s->fed_clock = s->fed;
    s->calls_clock = 0;
    if (s->max_bytes && (s->fed > s->max_bytes || s->decoded > s->max_bytes)) {
        stop(s, BC_EXTRACT_LIMIT_BYTES);
        return s->limit;
    }
    long now = bc_now_ms();
    if (!force && now - s->clock_ms < CLOCK_MS)
        return s->limit;
    s->clock_ms = now;
    s->seconds = bc_thread_cpu_s() - s->cpu0 + s->cpu_other;
    if (s->max_seconds > 0 && s->seconds >= s->max_seconds)
        stop(s, BC_EXTRACT_LIMIT_SECONDS);
    return s->limit;
}

bc_extract_limit ex_scanner_charge(bc_scanner *s, uint64_t bytes, double cpu_seconds)
{
    if (!s)
        return BC_EXTRACT_LIMIT_NONE;
    s->decoded += bytes;
    if (cpu_seconds > 0)
        s->cpu_other += cpu_seconds;
    return check(s, cpu_seconds > 0);
}

void ex_scanner_stop(bc_scanner *s, bc_extract_limit limit)
{
    if (s && limit != BC_EXTRACT_LIMIT_NONE)
        stop(s, limit);
}

void ex_scanner_cut(bc_scanner *s, unsigned long line)
{
    if (!s)
        return;
    if (!s->lines_cut++)
        s->first_cut = line;
}

void ex_scanner_budget(const bc_scanner *s, double *seconds_left, double *max_seconds, uint64_t *max_bytes)
{
    *seconds_left = *max_seconds = -1;
    *max_bytes = s ? s->max_bytes : 0;
    if (s && s->max_seconds > 0) {
        *max_seconds = s->max_seconds;
        double left = s->max_seconds - (bc_thread_cpu_s() - s->cpu0 + s->cpu_other);
        *seconds_left = left > 0 ? left : 0;
    }
}

void bc_scanner_stats(const bc_scanner *s, bc_extract_stats *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    out->limit = s->limit;
    out->seconds = s->seconds;
    out->bytes = s->fed;
    out->lines_cut = s->lines_cut;
    out->first_cut = s->first_cut;
}

void bc_scanner_feed(bc_scanner *s, const char *data, size_t n)
{
    if (!s || !data || s->limit)
        return;
    bool over = false;
    if (s->max_bytes && n > s->max_bytes - s->fed) {
        n = (size_t)(s->max_bytes - s->fed);
        over = true;
    }
    while (n > 0) {
        size_t room = s->cap - s->len, take = n < room ? n : room;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        s->fed += take;
        data += take;
        n -= take;
        if (s->len == s->cap) {
            size_t limit = s->len - RIGHT_MAX;
            process(s, limit);
            compact(s, limit);
            if (s->fed - s->fed_clock >= CLOCK_BYTES && check(s, false))
                return; /* a large feed looks at the clock as it goes */
        }
    }
    if (over)
        stop(s, BC_EXTRACT_LIMIT_BYTES);
    else if (++s->calls_clock >= CLOCK_CALLS || s->fed - s->fed_clock >= CLOCK_BYTES)
        check(s, false);
}

void bc_scanner_free(bc_scanner *s)
{
    if (!s)
        return;
    free(s->file);
    free(s->buf);
    free(s);
}
